//! What the Group Mapping pane holds: the groups, the stacks and roles to choose from, and
//! the editor with its draft, its baseline and the impact of saving it.

use super::*;

/// A mapping as the editor holds it: the org role and the set of (stack, role) uids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub org_role: OrgRole,
    pub stack_roles: BTreeSet<StackRoleKey>,
}

impl Default for Draft {
    /// What an unmapped group's members get: Member, no stack role.
    fn default() -> Self {
        Draft {
            org_role: OrgRole::Member,
            stack_roles: BTreeSet::new(),
        }
    }
}

impl Draft {
    pub fn of(m: &Mapping) -> Draft {
        Draft {
            org_role: m.org_role,
            stack_roles: m
                .stack_roles
                .iter()
                .map(|r| StackRoleKey {
                    stack_uid: r.stack_uid.clone(),
                    role_uid: r.role_uid.clone(),
                })
                .collect(),
        }
    }

    pub fn body(&self) -> MappingBody {
        MappingBody {
            org_role: self.org_role,
            stack_roles: self.stack_roles.iter().cloned().collect(),
        }
    }

    /// The role uids ticked on one stack.
    pub fn roles_on(&self, stack_uid: &str) -> Vec<String> {
        self.stack_roles
            .iter()
            .filter(|k| k.stack_uid == stack_uid)
            .map(|k| k.role_uid.clone())
            .collect()
    }

    pub(super) fn set_roles_on(&mut self, stack_uid: &str, roles: Vec<String>) {
        self.stack_roles.retain(|k| k.stack_uid != stack_uid);
        self.stack_roles
            .extend(roles.into_iter().map(|role_uid| StackRoleKey {
                stack_uid: stack_uid.to_string(),
                role_uid,
            }));
    }
}

/// The group a mapping is edited for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub id: String,
    pub name: String,
    pub members: u64,
}

/// What saving the draft would do, as far as the server has said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Impact {
    /// The draft equals the saved mapping: nothing to preview.
    Unchanged,
    Loading,
    Ready(Preview),
    Failed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Editor {
    /// `None` until the group dropdown of a new mapping is answered.
    pub group: Option<Target>,
    /// Started with `n`: the group row has a dropdown. An edit keeps its group.
    pub is_new: bool,
    /// The mapping as saved on the server; `None` when the group has none.
    pub baseline: Option<Draft>,
    pub draft: Draft,
    /// 0 the group, 1 the org role, 2 + i the i-th stack.
    pub focus: usize,
    pub impact: Impact,
    pub saving: bool,
}

impl Editor {
    /// The cursor starts on the org role, the first thing to decide once the group is known.
    pub(super) fn new_for(target: Option<Target>, baseline: Option<Draft>, is_new: bool) -> Editor {
        Editor {
            group: target,
            is_new,
            draft: baseline.clone().unwrap_or_default(),
            baseline,
            focus: 1,
            impact: Impact::Unchanged,
            saving: false,
        }
    }

    /// A group is chosen and the draft differs from what its members get now: the saved
    /// mapping, or for a group without one what an unmapped group gives (so opening an
    /// unmapped group and leaving it untouched asks nothing).
    pub fn dirty(&self) -> bool {
        self.group.is_some()
            && match &self.baseline {
                Some(saved) => saved != &self.draft,
                None => self.draft != Draft::default(),
            }
    }

    /// Saving has something to write: edits, or a first mapping for an unmapped group (which
    /// may be saved as it stands, to map the group explicitly).
    pub fn savable(&self) -> bool {
        self.group.is_some() && (self.dirty() || self.baseline.is_none())
    }

    pub(super) fn first_row(&self) -> usize {
        if self.is_new { 0 } else { 1 }
    }
}

/// What has the keyboard on top of the pane.
#[derive(Debug, Clone)]
pub enum Popup {
    Group(Dropdown<String>),
    OrgRole(Dropdown<OrgRole>),
    StackRoles {
        stack_uid: String,
        list: Dropdown<String>,
    },
    /// Starts on Cancel; a yes deletes the mapping of this group id. Its message gains the
    /// deletion's impact when the preview answers.
    Delete(Ask<String>),
    /// Esc in the editor with unsaved edits.
    Discard(Ask<()>),
}

#[derive(Debug, Default)]
pub struct MappingPane {
    /// The org's groups, paged from the server like every list.
    pub groups: Paged<Group>,
    pub stacks: Option<Vec<Stack>>,
    pub org_roles: Option<Vec<OrgRoleInfo>>,
    pub editor: Option<Editor>,
    pub popup: Option<Popup>,
    pub(super) filter: String,
    /// What the group dropdown of a new mapping offers: the server's first page of groups
    /// matching what is typed in it, so that any group of a large org can be found.
    pub(super) choices: Vec<Group>,
    /// What the dropdown's filter held when `choices` was last asked for.
    pub(super) choices_for: String,
    /// The load under way was started by a poll: its failure is not worth a toast every 5 s.
    pub(super) polling: bool,
    /// `i` in the editor: the impact of saving on the whole pane, scrolled this far.
    pub impact_whole: Option<u16>,
}

impl MappingPane {
    pub(super) fn groups_call(&self, page: PageReq) -> Cmd {
        call(
            ID,
            "groups",
            Call::Groups {
                filter: (!self.filter.is_empty()).then(|| self.filter.clone()),
                page,
            },
        )
    }

    /// The page of groups holding the selection, the stacks and the org roles.
    pub(super) fn load(&mut self) -> Vec<Cmd> {
        let mut out: Vec<Cmd> = self
            .groups
            .reload()
            .map(|p| self.groups_call(p))
            .into_iter()
            .collect();
        out.push(call(
            ID,
            "stacks",
            Call::Stacks(PageReq::first(PAGE as u32)),
        ));
        out.push(call(ID, "roles", Call::Roles));
        out
    }

    pub fn selected_group(&self) -> Option<&Group> {
        self.groups.current()
    }

    pub(super) fn stack_list(&self) -> &[Stack] {
        self.stacks.as_deref().unwrap_or(&[])
    }

    /// The org roles a mapping may grant, as the server lists them (Admin, Member).
    pub(super) fn mappable_roles(&self) -> Vec<OrgRole> {
        let from_server: Vec<OrgRole> = self
            .org_roles
            .iter()
            .flatten()
            .filter(|r| r.mappable)
            .filter_map(|r| OrgRole::parse(&r.uid))
            .collect();
        if from_server.is_empty() {
            vec![OrgRole::Admin, OrgRole::Member]
        } else {
            from_server
        }
    }

    pub(super) fn rows(&self) -> usize {
        2 + self.stack_list().len()
    }
}
