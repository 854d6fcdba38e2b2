//! The Group Mapping pane: the org's SCIM groups with their member counts and a summary of
//! what each group's mapping grants, and an editor for one mapping.
//!
//! The editor has a row per choice: the group (a type-to-filter dropdown, for a new mapping),
//! the org role (Admin or Member: Owner is never mapped) and one row per stack whose dropdown
//! ticks zero or more stack roles. After every change the pane asks the server for the impact
//! of saving (`/preview`, one "preview" slot, so a newer question supersedes an older one)
//! and shows it as sentences with counts. Save applies the mapping at once; delete asks first
//! and defaults to Cancel; leaving with unsaved edits (Esc, another pane, quit) asks first.
//!
//! Read-only (a snapshot): the groups and their mappings can be browsed; the editing keys are
//! not bound, and Enter does not open the editor.

use super::common::call::call;
use super::common::dialog::{Answer, Ask};
use super::common::fmt::{TimeWidth, members, plural, short_time};
use super::{Ctx, Pane, PaneId, PaneMsg};
use crate::client::{
    ApiError, Group, Mapping, MappingBody, OrgRoleInfo, PageReq, Preview, PreviewOf, RoleRef,
    Stack, StackRoleKey, StackRoleRef,
};
use crate::console::app::{Cmd, Toast};
use crate::console::backend::{Call, Reply};
use crate::console::changes::Changes;
use crate::console::keymap::{Action, BindingSpec, Key, mutating};
use crate::console::theme::Theme;
use crate::console::widgets::confirm::Confirm;
use crate::console::widgets::dropdown::Dropdown;
use crate::console::widgets::{Outcome, truncate};
use crate::domain::access::OrgRole;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Keys as a k9s or lazygit user expects them: `n` new, Enter (or `e`) edit, `x`/Del delete
/// (k9s' Ctrl-d would clash with half-page down), and Ctrl-s to save as in most editors, with
/// `w` (vim's write) for terminals where Ctrl-s is taken by flow control.
pub const BINDINGS: &[BindingSpec] = &[
    mutating(
        &[Key::ch('n')],
        Action::NewMapping,
        Some("new"),
        "New mapping: pick the group, then its org and stack roles",
    ),
    mutating(
        &[Key::ch('e')],
        Action::EditMapping,
        Some("edit"),
        "Edit the selected group's mapping (Enter too)",
    ),
    mutating(
        &[Key::ch('x'), Key::code(KeyCode::Delete)],
        Action::DeleteMapping,
        Some("delete"),
        "Delete the selected group's mapping (asks first)",
    ),
    mutating(
        &[Key::ctrl('s'), Key::ch('w')],
        Action::Save,
        Some("save"),
        "Save the mapping being edited (its impact preview shows first)",
    ),
];

/// The hint bar while the editor is open (the list's new, edit and delete do not apply).
/// Most needed first: at 80 columns the last ones may not fit.
const EDITOR_HINTS: &[(Action, &str)] = &[
    (Action::Down, "next field"),
    (Action::Open, "choose"),
    (Action::Save, "save"),
    (Action::Back, "close"),
    (Action::DeleteMapping, "delete mapping"),
    (Action::Up, "previous field"),
];

const ID: PaneId = PaneId::Mapping;
const PAGE: u32 = 200;
/// The list follows the server's cursors up to this many groups.
const MAX_GROUPS: usize = 10_000;

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

    fn set_roles_on(&mut self, stack_uid: &str, roles: Vec<String>) {
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
    fn new_for(target: Option<Target>, baseline: Option<Draft>, is_new: bool) -> Editor {
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

    /// A group is chosen and the draft differs from what is saved (a group without a mapping
    /// always has something to save).
    pub fn dirty(&self) -> bool {
        self.group.is_some() && self.baseline.as_ref() != Some(&self.draft)
    }

    fn first_row(&self) -> usize {
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
    pub groups: Option<Vec<Group>>,
    pub total: u64,
    pub selected: usize,
    pub stacks: Option<Vec<Stack>>,
    pub org_roles: Option<Vec<OrgRoleInfo>>,
    pub editor: Option<Editor>,
    pub popup: Option<Popup>,
    filter: String,
    /// After a save or a refresh, the group to select once the list is back.
    select_after: Option<String>,
    /// The last list load has finished (every page in, or failed): a poll may start another.
    groups_settled: bool,
    /// The load under way was started by a poll: its failure is not worth a toast every 5 s.
    polling: bool,
    /// With `review NEW --against OLD`: what changed, for the row marks and the detail.
    changes: Option<Arc<Changes>>,
}

impl MappingPane {
    fn groups_call(&self) -> Cmd {
        call(
            ID,
            "groups",
            Call::Groups {
                filter: (!self.filter.is_empty()).then(|| self.filter.clone()),
                page: PageReq::first(PAGE),
            },
        )
    }

    fn load(&self) -> Vec<Cmd> {
        vec![
            self.groups_call(),
            call(ID, "stacks", Call::Stacks(PageReq::first(PAGE))),
            call(ID, "roles", Call::Roles),
        ]
    }

    pub fn selected_group(&self) -> Option<&Group> {
        self.groups.as_ref()?.get(self.selected)
    }

    fn stack_list(&self) -> &[Stack] {
        self.stacks.as_deref().unwrap_or(&[])
    }

    /// The org roles a mapping may grant, as the server lists them (Admin, Member).
    fn mappable_roles(&self) -> Vec<OrgRole> {
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

    fn rows(&self) -> usize {
        2 + self.stack_list().len()
    }

    // ---- the list ------------------------------------------------------------------------

    fn list_action(&mut self, action: Action, cx: &Ctx) -> Vec<Cmd> {
        let n = self.groups.as_ref().map_or(0, Vec::len);
        let last = n.saturating_sub(1);
        match action {
            Action::Up => self.selected = self.selected.saturating_sub(1),
            Action::Down => self.selected = (self.selected + 1).min(last),
            Action::Top => self.selected = 0,
            Action::Bottom => self.selected = last,
            Action::PageUp => self.selected = self.selected.saturating_sub(cx.page_rows as usize),
            Action::PageDown => self.selected = (self.selected + cx.page_rows as usize).min(last),
            Action::Open | Action::EditMapping if cx.read_only => {}
            Action::Open | Action::EditMapping => {
                let Some(g) = self.selected_group() else {
                    return Vec::new();
                };
                let target = Target {
                    id: g.id.clone(),
                    name: g.display_name.clone(),
                    members: g.member_count,
                };
                let baseline = g.mapping.as_ref().map(Draft::of);
                return self.open_editor(target, baseline, false, None);
            }
            Action::NewMapping if !cx.read_only => {
                let mut e = Editor::new_for(None, None, true);
                e.focus = 0;
                self.editor = Some(e);
                self.popup = Some(self.group_dropdown(None));
            }
            Action::DeleteMapping if !cx.read_only => {
                let Some(g) = self.selected_group() else {
                    return Vec::new();
                };
                if g.mapping.is_none() {
                    return vec![Toast::info(format!(
                        "{} has no mapping to delete",
                        g.display_name
                    ))];
                }
                let (id, name, members) = (g.id.clone(), g.display_name.clone(), g.member_count);
                return self.ask_delete(id, name, members);
            }
            _ => {}
        }
        Vec::new()
    }

    /// `draft`: roles already chosen (for another group of a new mapping) to keep.
    fn open_editor(
        &mut self,
        target: Target,
        baseline: Option<Draft>,
        is_new: bool,
        draft: Option<Draft>,
    ) -> Vec<Cmd> {
        let group_id = target.id.clone();
        let mut e = Editor::new_for(Some(target), baseline, is_new);
        if let Some(d) = draft {
            e.draft = d;
        }
        self.editor = Some(e);
        let mut out = vec![call(ID, "mapping", Call::Mapping { group_id })];
        out.extend(self.refresh_impact());
        out
    }

    fn group_dropdown(&self, current: Option<&String>) -> Popup {
        let items = self
            .groups
            .iter()
            .flatten()
            .map(|g| {
                let state = if g.mapping.is_some() {
                    "mapped"
                } else {
                    "not mapped"
                };
                (
                    format!("{} · {} · {state}", g.display_name, members(g.member_count)),
                    g.id.clone(),
                )
            })
            .collect();
        Popup::Group(Dropdown::single("Group to map", items, current))
    }

    fn ask_delete(&mut self, group_id: String, group_name: String, n: u64) -> Vec<Cmd> {
        let message = format!(
            "Delete the mapping of {group_name} ({})? What it grants is taken away at once \
             from members no other group grants it to.",
            members(n)
        );
        self.popup = Some(Popup::Delete(Ask::new(
            Confirm::new("Delete mapping?", message, "Delete").dangerous(),
            group_id.clone(),
        )));
        vec![call(
            ID,
            "delete_preview",
            Call::Preview {
                group_id,
                of: PreviewOf::Delete,
            },
        )]
    }

    // ---- the editor ----------------------------------------------------------------------

    fn editor_action(&mut self, action: Action) -> Vec<Cmd> {
        let rows = self.rows();
        let Some(e) = self.editor.as_mut() else {
            return Vec::new();
        };
        let first = e.first_row();
        match action {
            Action::Up => e.focus = e.focus.saturating_sub(1).max(first),
            Action::Down => e.focus = (e.focus + 1).min(rows - 1),
            Action::Top | Action::PageUp => e.focus = first,
            Action::Bottom | Action::PageDown => e.focus = rows - 1,
            Action::Open | Action::EditMapping => return self.open_row(),
            Action::Save => return self.save(),
            Action::Back => {
                if e.dirty() {
                    self.popup = Some(Popup::Discard(Ask::new(
                        Confirm::new(
                            "Discard unsaved edits?",
                            "The mapping on the server stays as it is.",
                            "Discard",
                        )
                        .dangerous(),
                        (),
                    )));
                } else {
                    self.editor = None;
                }
            }
            Action::DeleteMapping => {
                if let (Some(t), Some(_)) = (e.group.clone(), e.baseline.as_ref()) {
                    return self.ask_delete(t.id, t.name, t.members);
                }
                return vec![Toast::info("this group has no saved mapping to delete")];
            }
            _ => {}
        }
        Vec::new()
    }

    /// Enter on a row opens its dropdown.
    fn open_row(&mut self) -> Vec<Cmd> {
        let Some(e) = &self.editor else {
            return Vec::new();
        };
        match e.focus {
            0 => {
                let cur = e.group.as_ref().map(|t| t.id.clone());
                self.popup = Some(self.group_dropdown(cur.as_ref()));
            }
            _ if e.group.is_none() => {
                self.popup = Some(self.group_dropdown(None));
            }
            1 => {
                let items = self
                    .mappable_roles()
                    .into_iter()
                    .map(|r| (r.to_string(), r))
                    .collect();
                let title = format!(
                    "Org role for {} (Owner is never mapped)",
                    e.group.as_ref().map_or("", |t| t.name.as_str())
                );
                self.popup = Some(Popup::OrgRole(Dropdown::single(
                    title,
                    items,
                    Some(&e.draft.org_role),
                )));
            }
            i => {
                let Some(stack) = self.stack_list().get(i - 2) else {
                    return Vec::new();
                };
                let items = stack
                    .roles
                    .iter()
                    .map(|r| {
                        let label = if r.builtin {
                            r.name.clone()
                        } else {
                            format!("{} (custom)", r.name)
                        };
                        (label, r.uid.clone())
                    })
                    .collect();
                let ticked = e.draft.roles_on(&stack.uid);
                self.popup = Some(Popup::StackRoles {
                    stack_uid: stack.uid.clone(),
                    list: Dropdown::multi(format!("Roles on {}", stack.name), items, &ticked),
                });
            }
        }
        Vec::new()
    }

    /// Asks for the impact of the current draft, or clears it when there is nothing to save.
    fn refresh_impact(&mut self) -> Vec<Cmd> {
        let Some(e) = self.editor.as_mut() else {
            return Vec::new();
        };
        let Some(t) = &e.group else {
            return Vec::new();
        };
        if !e.dirty() {
            e.impact = Impact::Unchanged;
            return Vec::new();
        }
        e.impact = Impact::Loading;
        vec![call(
            ID,
            "preview",
            Call::Preview {
                group_id: t.id.clone(),
                of: PreviewOf::Save(e.draft.body()),
            },
        )]
    }

    fn save(&mut self) -> Vec<Cmd> {
        let Some(e) = self.editor.as_mut() else {
            return Vec::new();
        };
        let Some(t) = &e.group else {
            return vec![Toast::error(
                "choose a group first (Enter on the Group row)",
            )];
        };
        if !e.dirty() {
            return vec![Toast::info(
                "nothing to save: the mapping is as on the server",
            )];
        }
        if e.saving {
            return Vec::new();
        }
        e.saving = true;
        vec![call(
            ID,
            "save",
            Call::PutMapping {
                group_id: t.id.clone(),
                body: e.draft.body(),
            },
        )]
    }

    fn choose_group(&mut self, id: &str) -> Vec<Cmd> {
        let Some(g) = self.groups.iter().flatten().find(|g| g.id == id) else {
            return Vec::new();
        };
        let target = Target {
            id: g.id.clone(),
            name: g.display_name.clone(),
            members: g.member_count,
        };
        let baseline = g.mapping.as_ref().map(Draft::of);
        // Switching a new mapping to an unmapped group keeps the roles chosen so far; a
        // mapped group starts from its own mapping, so that none is overwritten unseen.
        let carried = self
            .editor
            .as_ref()
            .filter(|e| baseline.is_none() && e.group.is_some() && e.dirty())
            .map(|e| e.draft.clone());
        let mut out = Vec::new();
        if baseline.is_some() && carried.is_none() {
            out.push(Toast::info(format!(
                "{} is mapped already: you are editing its mapping",
                target.name
            )));
        }
        out.extend(self.open_editor(target, baseline, true, carried));
        out
    }

    fn on_popup_key(&mut self, key: KeyEvent) -> Vec<Cmd> {
        let Some(popup) = self.popup.take() else {
            return Vec::new();
        };
        match popup {
            Popup::Group(mut d) => match d.handle_key(key) {
                Outcome::Submitted(v) => match v.first() {
                    Some(id) => self.choose_group(id),
                    None => Vec::new(),
                },
                Outcome::Cancelled => {
                    // A new mapping that never got its group is abandoned.
                    if self.editor.as_ref().is_some_and(|e| e.group.is_none()) {
                        self.editor = None;
                    }
                    Vec::new()
                }
                _ => {
                    self.popup = Some(Popup::Group(d));
                    Vec::new()
                }
            },
            Popup::OrgRole(mut d) => match d.handle_key(key) {
                Outcome::Submitted(v) => {
                    if let (Some(e), Some(r)) = (self.editor.as_mut(), v.first()) {
                        e.draft.org_role = *r;
                    }
                    self.refresh_impact()
                }
                Outcome::Cancelled => Vec::new(),
                _ => {
                    self.popup = Some(Popup::OrgRole(d));
                    Vec::new()
                }
            },
            Popup::StackRoles {
                stack_uid,
                mut list,
            } => match list.handle_key(key) {
                Outcome::Submitted(roles) => {
                    if let Some(e) = self.editor.as_mut() {
                        e.draft.set_roles_on(&stack_uid, roles);
                    }
                    self.refresh_impact()
                }
                Outcome::Cancelled => Vec::new(),
                _ => {
                    self.popup = Some(Popup::StackRoles { stack_uid, list });
                    Vec::new()
                }
            },
            Popup::Delete(ask) => match ask.key(key) {
                Answer::Yes(group_id) => vec![call(ID, "delete", Call::DeleteMapping { group_id })],
                Answer::No => Vec::new(),
                Answer::Open(ask) => {
                    self.popup = Some(Popup::Delete(ask));
                    Vec::new()
                }
            },
            Popup::Discard(ask) => match ask.key(key) {
                Answer::Yes(()) => {
                    self.editor = None;
                    Vec::new()
                }
                Answer::No => Vec::new(),
                Answer::Open(ask) => {
                    self.popup = Some(Popup::Discard(ask));
                    Vec::new()
                }
            },
        }
    }

    // ---- answers -------------------------------------------------------------------------

    fn on_reply(&mut self, slot: &str, call_: Call, result: Result<Reply, ApiError>) -> Vec<Cmd> {
        match result {
            Ok(Reply::Groups(p)) => {
                let Call::Groups { filter, page } = call_ else {
                    return Vec::new();
                };
                // A first page replaces the list; the next ones, asked in the same slot so
                // that a new filter cancels them, are appended.
                let mut items = if page.cursor.is_none() {
                    Vec::new()
                } else {
                    self.groups.take().unwrap_or_default()
                };
                items.extend(p.items);
                self.total = p.total;
                let more = p.next.filter(|_| items.len() < MAX_GROUPS);
                if let Some(id) = &self.select_after
                    && let Some(i) = items.iter().position(|g| &g.id == id)
                {
                    self.selected = i;
                    self.select_after = None;
                }
                if more.is_none() {
                    self.select_after = None;
                    self.groups_settled = true;
                    self.polling = false;
                }
                self.selected = self.selected.min(items.len().saturating_sub(1));
                self.groups = Some(items);
                match more {
                    Some(cursor) => vec![call(
                        ID,
                        "groups",
                        Call::Groups {
                            filter,
                            page: PageReq {
                                limit: Some(PAGE),
                                cursor: Some(cursor),
                            },
                        },
                    )],
                    None => Vec::new(),
                }
            }
            Ok(Reply::Stacks(p)) => {
                self.stacks = Some(p.items);
                if let Some(e) = self.editor.as_mut() {
                    e.focus = e.focus.min(1 + self.stacks.as_ref().map_or(0, Vec::len));
                }
                Vec::new()
            }
            Ok(Reply::Roles(p)) => {
                self.org_roles = Some(p.items);
                Vec::new()
            }
            Ok(Reply::Mapping(m)) => {
                let Call::Mapping { group_id } = call_ else {
                    return Vec::new();
                };
                let Some(e) = self.editor.as_mut() else {
                    return Vec::new();
                };
                if e.group.as_ref().is_none_or(|t| t.id != group_id) {
                    return Vec::new();
                }
                // The server's copy is the baseline; untouched drafts follow it.
                let fresh = m.as_ref().map(Draft::of);
                if !e.dirty() {
                    e.draft = fresh.clone().unwrap_or_default();
                }
                e.baseline = fresh;
                self.refresh_impact()
            }
            Ok(Reply::Preview(p)) => self.on_preview(slot, call_, p),
            Ok(Reply::SavedMapping(s)) => {
                let m = s.mapping;
                if self
                    .editor
                    .as_ref()
                    .and_then(|e| e.group.as_ref())
                    .is_some_and(|t| t.id == m.group_id)
                {
                    self.editor = None;
                }
                self.select_after = Some(m.group_id.clone());
                // Short enough for an 80-column toast; the list shows the mapping itself.
                let mut text = format!(
                    "{} saved · {} changed",
                    m.group_name,
                    members(s.applied.granted_changes)
                );
                if s.applied.pending_changes > 0 {
                    text.push_str(&format!(
                        " · {} rewritten",
                        plural(s.applied.pending_changes, "request", "requests")
                    ));
                }
                vec![Toast::success(text), self.groups_call()]
            }
            Ok(Reply::Done) => {
                let Call::DeleteMapping { group_id } = call_ else {
                    return Vec::new();
                };
                let name = self
                    .groups
                    .iter()
                    .flatten()
                    .find(|g| g.id == group_id)
                    .map_or(group_id.clone(), |g| g.display_name.clone());
                if self
                    .editor
                    .as_ref()
                    .and_then(|e| e.group.as_ref())
                    .is_some_and(|t| t.id == group_id)
                {
                    self.editor = None;
                }
                vec![
                    Toast::success(format!("mapping of {name} deleted")),
                    self.groups_call(),
                ]
            }
            Ok(_) => Vec::new(),
            Err(e) => match slot {
                "groups" => {
                    self.groups_settled = true;
                    self.select_after = None;
                    // A poll tries again later (and the banner tells an unreachable server).
                    if std::mem::take(&mut self.polling) {
                        Vec::new()
                    } else {
                        vec![Toast::error(e.to_string())]
                    }
                }
                "preview" => {
                    if let Some(ed) = self.editor.as_mut()
                        && preview_is_current(ed, &call_)
                    {
                        ed.impact = Impact::Failed(e.to_string());
                    }
                    Vec::new()
                }
                // The confirm keeps its plain words.
                "delete_preview" => Vec::new(),
                "save" => {
                    if let Some(ed) = self.editor.as_mut() {
                        ed.saving = false;
                    }
                    vec![Toast::error(format!("not saved: {e}"))]
                }
                _ => vec![Toast::error(e.to_string())],
            },
        }
    }

    fn on_preview(&mut self, slot: &str, call_: Call, p: Preview) -> Vec<Cmd> {
        if slot == "delete_preview" {
            if let Some(Popup::Delete(Ask {
                confirm,
                then: group_id,
            })) = self.popup.as_mut()
                && matches!(&call_, Call::Preview { group_id: g, .. } if g == group_id)
            {
                let said = impact_sentences(&p);
                confirm.message = format!(
                    "{} Impact: {}.",
                    confirm.message.split(" Impact:").next().unwrap_or(""),
                    said.join("; ")
                );
            }
            return Vec::new();
        }
        if let Some(e) = self.editor.as_mut()
            && preview_is_current(e, &call_)
        {
            e.impact = Impact::Ready(p);
        }
        Vec::new()
    }
}

/// Whether a preview answer is about the draft as it is now (an older one may arrive after
/// the draft changed again, when the request could not be cancelled in time).
fn preview_is_current(e: &Editor, c: &Call) -> bool {
    match (c, &e.group) {
        (
            Call::Preview {
                group_id,
                of: PreviewOf::Save(body),
            },
            Some(t),
        ) => *group_id == t.id && *body == e.draft.body(),
        _ => false,
    }
}

/// "Admin · Developer on Mobile App +1": the org role, the first stack role and how many
/// more.
pub fn summary(m: &Mapping) -> String {
    let mut s = m.org_role.to_string();
    match by_name(m).first() {
        None => s.push_str(" · no stack roles"),
        Some(r) => {
            s.push_str(&format!(" · {} on {}", r.role_name, r.stack_name));
            if m.stack_roles.len() > 1 {
                s.push_str(&format!(" +{}", m.stack_roles.len() - 1));
            }
        }
    }
    s
}

/// A mapping's stack roles by stack name, then role name: the server's order follows uids,
/// which mean nothing to a reader.
fn by_name(m: &Mapping) -> Vec<&StackRoleRef> {
    let mut v: Vec<&StackRoleRef> = m.stack_roles.iter().collect();
    v.sort_by(|a, b| (&a.stack_name, &a.role_name).cmp(&(&b.stack_name, &b.role_name)));
    v
}

/// The preview as sentences with counts, each led by a symbol so that colour is not needed:
/// `+` grants, `−` removals, `↑`/`↓` org role changes.
pub fn impact_sentences(p: &Preview) -> Vec<String> {
    // Org role first, then stacks by name: the server orders by uid.
    let mut roles: Vec<&crate::client::RoleCount> = p.counts.roles.iter().collect();
    roles.sort_by_key(|rc| match &rc.role {
        RoleRef::Org { .. } => (0, String::new(), String::new()),
        RoleRef::Stack(r) => (1, r.stack_name.clone(), r.role_name.clone()),
    });
    let mut out = Vec::new();
    for rc in roles {
        match &rc.role {
            RoleRef::Stack(r) => {
                if rc.gain > 0 {
                    out.push(format!(
                        "+ grants {} on {} to {}",
                        r.role_name,
                        r.stack_name,
                        members(rc.gain)
                    ));
                }
                if rc.lose > 0 {
                    out.push(format!(
                        "− removes {} on {} from {}",
                        r.role_name,
                        r.stack_name,
                        members(rc.lose)
                    ));
                }
            }
            RoleRef::Org { org_role } => {
                if rc.gain > 0 {
                    out.push(format!(
                        "↑ raises org role to {org_role} for {}",
                        members(rc.gain)
                    ));
                }
                if rc.lose > 0 {
                    // A SCIM member's org role comes from mappings, which never give Owner,
                    // so losing Admin always means Member.
                    if *org_role == OrgRole::Admin {
                        out.push(format!(
                            "↓ lowers org role to Member for {}",
                            members(rc.lose)
                        ));
                    } else {
                        out.push(format!(
                            "↓ lowers org role from {org_role} for {}",
                            members(rc.lose)
                        ));
                    }
                }
            }
        }
    }
    if out.is_empty() {
        out.push(format!(
            "no member's access changes ({} in the group)",
            members(p.counts.members)
        ));
    }
    out
}

/// The totals under the sentences.
fn impact_totals(p: &Preview) -> String {
    let c = &p.counts;
    let mut s = format!(
        "{} of {} change at once",
        c.granted_changes,
        members(c.members)
    );
    if c.pending_changes > 0 {
        s.push_str(&format!(
            "; {} rewritten",
            plural(c.pending_changes, "pending request", "pending requests")
        ));
    }
    s
}

impl Pane for MappingPane {
    fn id(&self) -> PaneId {
        ID
    }

    fn captures_input(&self) -> bool {
        self.popup.is_some()
    }

    fn dirty(&self) -> bool {
        self.editor.as_ref().is_some_and(Editor::dirty)
    }

    fn hints(&self) -> Option<&'static [(Action, &'static str)]> {
        (self.editor.is_some() && self.popup.is_none()).then_some(EDITOR_HINTS)
    }

    fn update(&mut self, msg: PaneMsg, cx: &Ctx) -> Vec<Cmd> {
        self.changes = cx.changes.clone();
        match msg {
            PaneMsg::Activated if self.groups.is_none() => self.load(),
            PaneMsg::Activated => Vec::new(),
            // The list follows the server (new groups, member counts) while nothing is being
            // edited and no load is under way; the selection stays on its group.
            PaneMsg::Poll => {
                if self.editor.is_some() || self.popup.is_some() || !self.groups_settled {
                    return Vec::new();
                }
                self.groups_settled = false;
                self.polling = true;
                if self.select_after.is_none() {
                    self.select_after = self.selected_group().map(|g| g.id.clone());
                }
                vec![self.groups_call()]
            }
            PaneMsg::Refresh => {
                self.polling = false;
                let mut out = self.load();
                // The saved copy may have moved on; its answer asks a new preview.
                if let Some(t) = self.editor.as_ref().and_then(|e| e.group.as_ref()) {
                    out.push(call(
                        ID,
                        "mapping",
                        Call::Mapping {
                            group_id: t.id.clone(),
                        },
                    ));
                }
                out
            }
            PaneMsg::Filter(f) => {
                self.filter = f;
                self.polling = false;
                vec![self.groups_call()]
            }
            PaneMsg::Key(k) => self.on_popup_key(k),
            PaneMsg::Action(a) if self.editor.is_some() => self.editor_action(a),
            PaneMsg::Action(a) => self.list_action(a, cx),
            PaneMsg::Reply { slot, call, result } => self.on_reply(slot, call, result),
        }
    }

    fn view(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        if let Some(e) = &self.editor {
            self.view_editor(f, area, e, theme);
        } else if area.width >= 110 {
            let [list, detail] =
                Layout::horizontal([Constraint::Percentage(65), Constraint::Percentage(35)])
                    .areas(area);
            self.view_list(f, list, theme);
            self.view_detail(f, detail, theme);
        } else {
            let [list, detail] =
                Layout::vertical([Constraint::Min(5), Constraint::Length(9)]).areas(area);
            self.view_list(f, list, theme);
            self.view_detail(f, detail, theme);
        }
        let style = theme.widget_style();
        match &self.popup {
            None => {}
            Some(Popup::Group(d)) => d.render(f, area, &style),
            Some(Popup::OrgRole(d)) => d.render(f, area, &style),
            Some(Popup::StackRoles { list, .. }) => list.render(f, area, &style),
            Some(Popup::Delete(ask)) => ask.confirm.render(f, area, &style),
            Some(Popup::Discard(ask)) => ask.confirm.render(f, area, &style),
        }
    }
}

impl MappingPane {
    fn view_list(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.focus_border)
            .title(match self.groups.as_ref().map_or(0, Vec::len) as u64 {
                n if n < self.total => format!(" SCIM groups ({n} of {}) ", self.total),
                _ => format!(" SCIM groups ({}) ", self.total),
            });
        let inner = block.inner(area);
        f.render_widget(block, area);
        let width = inner.width as usize;
        let name_w = self
            .groups
            .iter()
            .flatten()
            .map(|g| g.display_name.chars().count())
            .max()
            .unwrap_or(0)
            .clamp(10, (width / 3).max(10));
        // With a comparison, a narrow column after the cursor marks the groups whose
        // mapping changed since OLD (`+`, `-`, `~`); the detail panel says what in words.
        let changes = self.changes.as_deref();
        let mark_w = if changes.is_some() { 2 } else { 0 };
        let map_w = width.saturating_sub(name_w + 13 + mark_w);
        let mut lines = Vec::new();
        match &self.groups {
            None => lines.push(Line::from("loading…")),
            Some(gs) if gs.is_empty() && self.filter.is_empty() => lines.push(Line::from(
                "No SCIM groups yet: the IdP pushes them once SCIM is enabled (SCIM pane).",
            )),
            Some(gs) if gs.is_empty() => lines.push(Line::from("No group matches the filter.")),
            Some(gs) => {
                let head = if changes.is_some() { "  Δ " } else { "  " };
                lines.push(Line::styled(
                    format!("{head}{:<name_w$} {:>8}  {}", "GROUP", "MEMBERS", "MAPPING"),
                    theme.title,
                ));
                let rows = inner.height.saturating_sub(1) as usize;
                let start = (self.selected + 1).saturating_sub(rows);
                for (i, g) in gs.iter().enumerate().skip(start).take(rows) {
                    let sel = i == self.selected;
                    let mapping = match &g.mapping {
                        Some(m) => Span::raw(truncate(&summary(m), map_w)),
                        None => Span::styled("— not mapped", theme.dim),
                    };
                    let mut spans = vec![Span::raw(if sel { "› " } else { "  " })];
                    if let Some(c) = changes {
                        spans.push(match c.group(&g.id) {
                            Some(gc) => Span::styled(format!("{} ", gc.mark()), theme.warn),
                            None => Span::raw("  "),
                        });
                    }
                    spans.push(Span::raw(format!(
                        "{:<name_w$} {:>8}  ",
                        truncate(&g.display_name, name_w),
                        g.member_count
                    )));
                    spans.push(mapping);
                    let line = Line::from(spans);
                    lines.push(if sel {
                        line.style(theme.selected)
                    } else {
                        line
                    });
                }
            }
        }
        f.render_widget(Paragraph::new(lines), inner);
    }

    /// What changed about this group since OLD, in words (see [`super::change_lines`]).
    fn change_lines(&self, group_id: &str, theme: &Theme) -> Vec<Line<'static>> {
        match &self.changes {
            Some(c) => super::change_lines(
                c.against(),
                c.group(group_id).map(|x| x.parts()).unwrap_or_default(),
                theme,
            ),
            None => Vec::new(),
        }
    }

    fn view_detail(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let g = self.selected_group();
        let title = match g {
            Some(g) => format!(" {} ", g.display_name),
            None => " Mapping ".to_string(),
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border)
            .title(title);
        let mut lines = Vec::new();
        match g {
            None => {}
            Some(g) => match &g.mapping {
                None => {
                    lines.push(Line::from(format!(
                        "{}; not mapped: its members are Members with no stack role.",
                        members(g.member_count)
                    )));
                }
                Some(m) => {
                    lines.push(Line::from(vec![
                        Span::raw(format!("{} · org role ", members(g.member_count))),
                        Span::styled(m.org_role.to_string(), theme.title),
                    ]));
                    if m.stack_roles.is_empty() {
                        lines.push(Line::styled("no stack roles", theme.dim));
                    }
                    // Grouped per stack, in the order the server lists the roles.
                    let mut stacks: Vec<(&str, Vec<&str>)> = Vec::new();
                    for r in by_name(m) {
                        match stacks.iter_mut().find(|(s, _)| *s == r.stack_name) {
                            Some((_, v)) => v.push(&r.role_name),
                            None => stacks.push((&r.stack_name, vec![&r.role_name])),
                        }
                    }
                    for (s, roles) in stacks {
                        lines.push(Line::from(format!("  {s}: {}", roles.join(", "))));
                    }
                    if let (Some(at), Some(by)) = (&m.updated_at, &m.updated_by) {
                        lines.push(Line::styled(
                            format!("updated {} by {by}", short_time(at, TimeWidth::Seconds)),
                            theme.dim,
                        ));
                    }
                }
            },
        }
        // What changed since OLD goes right under the first line, where a short panel
        // still shows it.
        if let Some(g) = g
            && !lines.is_empty()
        {
            let changed = self.change_lines(&g.id, theme);
            lines.splice(1..1, changed);
        }
        f.render_widget(
            Paragraph::new(lines)
                .block(block)
                .wrap(Wrap { trim: false }),
            area,
        );
    }

    fn view_editor(&self, f: &mut Frame, area: Rect, e: &Editor, theme: &Theme) {
        let (form, impact) = if area.width >= 110 {
            let [a, b] =
                Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)])
                    .areas(area);
            (a, b)
        } else {
            let want = self.rows() as u16 + 6;
            let [a, b] =
                Layout::vertical([Constraint::Length(want), Constraint::Min(4)]).areas(area);
            (a, b)
        };
        self.view_form(f, form, e, theme);
        view_impact(f, impact, e, theme);
    }

    fn view_form(&self, f: &mut Frame, area: Rect, e: &Editor, theme: &Theme) {
        let title = match (&e.group, e.is_new) {
            (Some(t), false) => format!(" Edit mapping · {} ", t.name),
            (Some(t), true) => format!(" New mapping · {} ", t.name),
            (None, _) => " New mapping ".to_string(),
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.focus_border)
            .title(title);
        let inner = block.inner(area);
        f.render_widget(block, area);
        let width = inner.width as usize;
        let label_w = self
            .stack_list()
            .iter()
            .map(|s| s.name.chars().count())
            .max()
            .unwrap_or(0)
            .clamp(10, 24);
        let value_w = width.saturating_sub(label_w + 6);
        let base = e.baseline.clone().unwrap_or_default();
        let row = |i: usize, label: &str, value: String, changed: bool, choosable: bool| {
            let here = i == e.focus;
            let mark = if here { "› " } else { "  " };
            let star = if changed { "*" } else { " " };
            let arrow = if choosable { " ▾" } else { "" };
            let text = format!(
                "{mark}{star}{:<label_w$} {}{arrow}",
                truncate(label, label_w),
                truncate(&value, value_w)
            );
            if here {
                Line::styled(text, theme.selected)
            } else {
                Line::from(text)
            }
        };
        let group = match &e.group {
            Some(t) => format!("{} · {}", t.name, members(t.members)),
            None => "(choose a group)".to_string(),
        };
        let mut lines = vec![
            row(0, "Group", group, false, e.is_new),
            row(
                1,
                "Org role",
                e.draft.org_role.to_string(),
                e.group.is_some() && e.draft.org_role != base.org_role,
                true,
            ),
            Line::styled("  Stack roles", theme.title),
        ];
        for (i, s) in self.stack_list().iter().enumerate() {
            let ticked = e.draft.roles_on(&s.uid);
            let names: Vec<&str> = s
                .roles
                .iter()
                .filter(|r| ticked.contains(&r.uid))
                .map(|r| r.name.as_str())
                .collect();
            let value = if names.is_empty() {
                "— none".to_string()
            } else {
                names.join(", ")
            };
            let changed = e.group.is_some() && ticked != base.roles_on(&s.uid);
            lines.push(row(2 + i, &s.name, value, changed, true));
        }
        match &self.stacks {
            None => lines.push(Line::styled("  loading stacks…", theme.dim)),
            Some(s) if s.is_empty() => lines.push(Line::styled(
                "  no stacks yet: create one with POST …/stacks",
                theme.dim,
            )),
            Some(_) => {}
        }
        lines.push(Line::from(""));
        let state = if e.saving {
            Span::styled("saving…", theme.dim)
        } else if e.dirty() {
            Span::styled("* unsaved edits", theme.warn)
        } else {
            Span::styled("no unsaved edits", theme.dim)
        };
        lines.push(Line::from(state));
        lines.push(Line::styled(
            "Enter choose · Ctrl-s save · Esc back",
            theme.dim,
        ));
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    }
}

fn view_impact(f: &mut Frame, area: Rect, e: &Editor, theme: &Theme) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border)
        .title(" Impact of saving ");
    let inner = block.inner(area);
    f.render_widget(block, area);
    let width = inner.width as usize;
    let height = inner.height as usize;
    let text = |s: &str, style| -> Vec<Line<'static>> {
        wrap_words(s, width)
            .into_iter()
            .map(|l| Line::styled(l, style))
            .collect()
    };
    let mut lines: Vec<Line> = match (&e.group, &e.impact) {
        (None, _) => text("Choose a group first.", theme.dim),
        (Some(_), Impact::Unchanged) => text(
            "Nothing to save yet: change a role to see what saving would do.",
            theme.dim,
        ),
        (Some(_), Impact::Loading) => text("asking the server…", theme.dim),
        (Some(_), Impact::Failed(why)) => text(&format!("✗ preview failed: {why}"), theme.error),
        (Some(_), Impact::Ready(p)) => {
            let mut l = Vec::new();
            for s in impact_sentences(p) {
                let style = if s.starts_with('+') || s.starts_with('↑') {
                    theme.ok
                } else if s.starts_with('−') || s.starts_with('↓') {
                    theme.warn
                } else {
                    theme.base
                };
                l.extend(text(&s, style));
            }
            l.extend(text(&impact_totals(p), theme.dim));
            l
        }
    };
    if let (Some(_), Impact::Ready(p)) = (&e.group, &e.impact) {
        let sections = [
            (
                "At once:",
                who_changes(p),
                p.counts.granted_changes as usize,
            ),
            (
                "Pending requests:",
                whose_requests_change(p),
                p.counts.pending_changes as usize,
            ),
        ];
        for (title, rows, total) in sections {
            // A blank line, the title and at least one row, or nothing.
            let room = height.saturating_sub(lines.len());
            if rows.is_empty() || room < 3 {
                continue;
            }
            lines.push(Line::from(""));
            lines.push(Line::styled(title, theme.title));
            let room = room - 2;
            let fits = if rows.len().max(total) <= room {
                rows.len()
            } else {
                room - 1
            };
            for r in rows.iter().take(fits) {
                lines.push(Line::from(truncate(&format!("  {r}"), width)));
            }
            if fits < total {
                lines.push(Line::styled(
                    format!("  … and {} more", total - fits),
                    theme.dim,
                ));
            }
        }
    }
    f.render_widget(Paragraph::new(lines), inner);
}

/// Greedy word wrap to `width` columns; a word longer than the line is cut.
fn wrap_words(s: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    let mut line = String::new();
    for word in s.split(' ') {
        let (l, w) = (line.chars().count(), word.chars().count());
        if l > 0 && l + 1 + w > width {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
        while line.chars().count() > width {
            let head: String = line.chars().take(width).collect();
            line = line.chars().skip(width).collect();
            out.push(head);
        }
    }
    if !line.is_empty() || out.is_empty() {
        out.push(line);
    }
    out
}

/// One member's change in words: `Member → Admin, +Developer on Mobile App`.
fn diff_words(d: &crate::client::Diff) -> String {
    let mut parts = Vec::new();
    match (d.org_role_from, d.org_role_to) {
        (a, b) if a == b => {}
        (Some(a), Some(b)) => parts.push(format!("{a} → {b}")),
        (None, Some(b)) => parts.push(format!("joins as {b}")),
        (Some(a), None) => parts.push(format!("leaves (was {a})")),
        (None, None) => {}
    }
    let mut gains: Vec<&StackRoleRef> = d.stack_gains.iter().collect();
    let mut losses: Vec<&StackRoleRef> = d.stack_losses.iter().collect();
    for v in [&mut gains, &mut losses] {
        v.sort_by(|a, b| (&a.stack_name, &a.role_name).cmp(&(&b.stack_name, &b.role_name)));
    }
    parts.extend(
        gains
            .iter()
            .map(|r| format!("+{} on {}", r.role_name, r.stack_name)),
    );
    parts.extend(
        losses
            .iter()
            .map(|r| format!("−{} on {}", r.role_name, r.stack_name)),
    );
    if parts.is_empty() {
        "no change".into()
    } else {
        parts.join(", ")
    }
}

/// The members whose granted access a save changes, by email (the server's order follows ids).
fn who_changes(p: &Preview) -> Vec<String> {
    let mut v: Vec<&crate::client::GrantedChange> = p.granted_changes.iter().collect();
    v.sort_by(|a, b| a.email.cmp(&b.email));
    v.iter()
        .map(|c| format!("{}  {}", c.email, diff_words(&c.diff)))
        .collect()
}

/// The open requests a save rewrites, with what each would then ask for.
fn whose_requests_change(p: &Preview) -> Vec<String> {
    let mut v: Vec<&crate::client::PendingChange> = p.pending_changes.iter().collect();
    v.sort_by(|a, b| a.email.cmp(&b.email));
    v.iter()
        .map(|c| match &c.after {
            Some(d) => format!("{}  would ask: {}", c.email, diff_words(d)),
            None => format!("{}  nothing left to approve", c.email),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{Applied, Page, PreviewCounts, RoleCount, SavedMapping, StackRoleInfo};
    use crate::console::keymap::Keymap;
    use crate::console::widgets::test_util::{ch, key, screen};
    use ratatui::crossterm::event::KeyModifiers;

    fn sref(stack: &str, role: &str) -> StackRoleRef {
        let (stack_name, role_name) = (stack_name(stack), role_name(role));
        StackRoleRef {
            stack_uid: stack.into(),
            stack_name,
            role_uid: role.into(),
            role_name,
        }
    }

    fn stack_name(uid: &str) -> String {
        match uid {
            "web" => "Marketing Site",
            "dev" => "Developer stack",
            _ => "Mobile App",
        }
        .into()
    }

    fn role_name(uid: &str) -> String {
        match uid {
            "admin" => "Admin",
            "developer" => "Developer",
            "content_manager" => "Content Manager",
            _ => "Release Manager",
        }
        .into()
    }

    fn mapping(id: &str, name: &str, role: OrgRole, roles: &[(&str, &str)]) -> Mapping {
        Mapping {
            group_id: id.into(),
            group_name: name.into(),
            org_role: role,
            stack_roles: roles.iter().map(|(s, r)| sref(s, r)).collect(),
            updated_at: Some("2026-11-23T10:00:00Z".into()),
            updated_by: Some("owner@acme.example".into()),
        }
    }

    fn groups() -> Vec<Group> {
        vec![
            Group {
                id: "g-adm".into(),
                display_name: "Admins".into(),
                member_count: 4,
                mapping: Some(mapping(
                    "g-adm",
                    "Admins",
                    OrgRole::Admin,
                    &[("web", "admin"), ("dev", "admin"), ("app", "admin")],
                )),
            },
            Group {
                id: "g-con".into(),
                display_name: "Contractors".into(),
                member_count: 6,
                mapping: None,
            },
            Group {
                id: "g-dev".into(),
                display_name: "Developers".into(),
                member_count: 24,
                mapping: Some(mapping(
                    "g-dev",
                    "Developers",
                    OrgRole::Member,
                    &[("dev", "developer"), ("app", "developer")],
                )),
            },
        ]
    }

    fn stacks() -> Vec<Stack> {
        let role = |uid: &str, builtin: bool| StackRoleInfo {
            uid: uid.into(),
            name: role_name(uid),
            builtin,
        };
        ["web", "dev", "app"]
            .iter()
            .map(|s| Stack {
                uid: s.to_string(),
                name: stack_name(s),
                roles: vec![
                    role("admin", true),
                    role("developer", true),
                    role("content_manager", true),
                    role("rm", false),
                ],
            })
            .collect()
    }

    fn page<T>(items: Vec<T>) -> Page<T> {
        Page {
            total: items.len() as u64,
            items,
            next: None,
        }
    }

    fn pane() -> MappingPane {
        MappingPane {
            total: 3,
            groups: Some(groups()),
            stacks: Some(stacks()),
            org_roles: Some(
                [OrgRole::Owner, OrgRole::Admin, OrgRole::Member]
                    .into_iter()
                    .map(|r| OrgRoleInfo {
                        uid: r.as_str().into(),
                        name: r.to_string(),
                        mappable: r.mappable(),
                    })
                    .collect(),
            ),
            ..Default::default()
        }
    }

    fn cx() -> Ctx {
        Ctx {
            page_rows: 10,
            ..Default::default()
        }
    }

    fn act(p: &mut MappingPane, a: Action) -> Vec<Cmd> {
        p.update(PaneMsg::Action(a), &cx())
    }

    fn press(p: &mut MappingPane, k: KeyEvent) -> Vec<Cmd> {
        p.update(PaneMsg::Key(k), &cx())
    }

    fn typed(p: &mut MappingPane, s: &str) {
        for c in s.chars() {
            press(p, ch(c));
        }
    }

    fn calls(cmds: &[Cmd]) -> Vec<(&'static str, Call)> {
        cmds.iter()
            .filter_map(|c| match c {
                Cmd::Call { slot, call, .. } => Some((*slot, call.clone())),
                _ => None,
            })
            .collect()
    }

    fn toasts(cmds: &[Cmd]) -> Vec<String> {
        cmds.iter()
            .filter_map(|c| match c {
                Cmd::Toast(t) => Some(t.text.clone()),
                _ => None,
            })
            .collect()
    }

    fn reply(p: &mut MappingPane, slot: &'static str, call: Call, r: Reply) -> Vec<Cmd> {
        p.update(
            PaneMsg::Reply {
                slot,
                call,
                result: Ok(r),
            },
            &cx(),
        )
    }

    fn key_of(k: &'static str, r: &'static str) -> StackRoleKey {
        StackRoleKey {
            stack_uid: k.into(),
            role_uid: r.into(),
        }
    }

    fn preview(roles: Vec<RoleCount>, members: u64, granted: u64, pending: u64) -> Preview {
        Preview {
            granted_changes: vec![],
            pending_changes: vec![],
            counts: PreviewCounts {
                members,
                granted_changes: granted,
                pending_changes: pending,
                roles,
            },
        }
    }

    /// Opens the editor on Developers (third row).
    fn editing_developers() -> MappingPane {
        let mut p = pane();
        act(&mut p, Action::Bottom);
        act(&mut p, Action::Open);
        p
    }

    #[test]
    fn activation_loads_groups_stacks_and_roles_and_the_filter_goes_to_the_server() {
        let mut p = MappingPane::default();
        let c = calls(&p.update(PaneMsg::Activated, &cx()));
        assert_eq!(
            c,
            vec![
                (
                    "groups",
                    Call::Groups {
                        filter: None,
                        page: PageReq::first(200)
                    }
                ),
                ("stacks", Call::Stacks(PageReq::first(200))),
                ("roles", Call::Roles),
            ]
        );
        let c = calls(&p.update(PaneMsg::Filter("dev".into()), &cx()));
        assert_eq!(
            c,
            vec![(
                "groups",
                Call::Groups {
                    filter: Some("dev".into()),
                    page: PageReq::first(200)
                }
            )]
        );
        reply(
            &mut p,
            "groups",
            c[0].1.clone(),
            Reply::Groups(page(groups())),
        );
        assert_eq!(p.total, 3);
        // Loaded: coming back to the pane asks for nothing.
        assert!(p.update(PaneMsg::Activated, &cx()).is_empty());
        assert_eq!(calls(&p.update(PaneMsg::Refresh, &cx())).len(), 3);
    }

    /// The list follows the server on each poll while nothing is edited: one load at a
    /// time, the selection staying on its group, and a failed poll costs no toast.
    #[test]
    fn a_poll_reloads_the_list_and_keeps_the_selected_group() {
        let mut p = pane();
        let first = Call::Groups {
            filter: None,
            page: PageReq::first(PAGE),
        };
        reply(
            &mut p,
            "groups",
            first.clone(),
            Reply::Groups(page(groups())),
        );
        act(&mut p, Action::Down);
        assert_eq!(p.selected_group().unwrap().id, "g-con");
        let c = calls(&p.update(PaneMsg::Poll, &cx()));
        assert_eq!(c, [("groups", first.clone())]);
        assert!(
            p.update(PaneMsg::Poll, &cx()).is_empty(),
            "one load at a time"
        );
        // A group the IdP pushed lands before the selected one: the selection follows.
        let mut pushed = groups();
        pushed.insert(
            0,
            Group {
                id: "g-aaa".into(),
                display_name: "Aardvarks".into(),
                member_count: 1,
                mapping: None,
            },
        );
        reply(&mut p, "groups", first.clone(), Reply::Groups(page(pushed)));
        assert_eq!(p.selected_group().unwrap().id, "g-con");
        assert_eq!(p.selected, 2);
        // A poll that fails says nothing; the next poll tries again.
        p.update(PaneMsg::Poll, &cx());
        let failed = p.update(
            PaneMsg::Reply {
                slot: "groups",
                call: first.clone(),
                result: Err(ApiError::Unreachable {
                    url: "http://127.0.0.1:1".into(),
                    detail: "connection refused".into(),
                }),
            },
            &cx(),
        );
        assert!(toasts(&failed).is_empty(), "{:?}", toasts(&failed));
        assert_eq!(calls(&p.update(PaneMsg::Poll, &cx())).len(), 1);
        // Nothing is reloaded under an open editor.
        reply(&mut p, "groups", first, Reply::Groups(page(groups())));
        act(&mut p, Action::NewMapping);
        assert!(calls(&p.update(PaneMsg::Poll, &cx())).is_empty());
    }

    #[test]
    fn the_list_moves_within_bounds() {
        let mut p = pane();
        act(&mut p, Action::Up);
        assert_eq!(p.selected, 0);
        act(&mut p, Action::Down);
        act(&mut p, Action::Down);
        act(&mut p, Action::Down);
        assert_eq!(p.selected, 2);
        act(&mut p, Action::Top);
        assert_eq!(p.selected, 0);
        act(&mut p, Action::PageDown);
        assert_eq!(p.selected, 2);
        act(&mut p, Action::PageUp);
        assert_eq!(p.selected, 0);
    }

    #[test]
    fn summaries_name_the_org_role_the_first_stack_role_and_how_many_more() {
        let gs = groups();
        assert_eq!(
            summary(gs[0].mapping.as_ref().unwrap()),
            "Admin · Admin on Developer stack +2"
        );
        assert_eq!(
            summary(gs[2].mapping.as_ref().unwrap()),
            "Member · Developer on Developer stack +1"
        );
        assert_eq!(
            summary(&mapping("g", "G", OrgRole::Member, &[])),
            "Member · no stack roles"
        );
    }

    #[test]
    fn enter_edits_the_selected_group_starting_from_its_saved_mapping() {
        let mut p = pane();
        act(&mut p, Action::Bottom);
        let c = calls(&act(&mut p, Action::Open));
        // The freshest copy is fetched; nothing is previewed before an edit.
        assert_eq!(
            c,
            vec![(
                "mapping",
                Call::Mapping {
                    group_id: "g-dev".into()
                }
            )]
        );
        let e = p.editor.as_ref().unwrap();
        assert_eq!(e.group.as_ref().unwrap().name, "Developers");
        assert!(!e.is_new);
        assert_eq!(e.draft.org_role, OrgRole::Member);
        assert_eq!(
            e.draft.stack_roles,
            [key_of("app", "developer"), key_of("dev", "developer")]
                .into_iter()
                .collect()
        );
        assert!(!p.dirty());
        assert_eq!(e.impact, Impact::Unchanged);
        assert!(
            !p.captures_input(),
            "the editor leaves q, Tab and the keymap alone"
        );
        // The group of an edit is fixed: the cursor cannot go up to it.
        act(&mut p, Action::Up);
        assert_eq!(p.editor.as_ref().unwrap().focus, 1);
        // `e` does the same as Enter.
        let mut p = pane();
        act(&mut p, Action::EditMapping);
        assert_eq!(
            p.editor.as_ref().unwrap().group.as_ref().unwrap().id,
            "g-adm"
        );
    }

    #[test]
    fn the_org_role_dropdown_offers_admin_and_member_and_a_choice_is_previewed() {
        let mut p = editing_developers();
        assert!(act(&mut p, Action::Open).is_empty());
        match &p.popup {
            Some(Popup::OrgRole(d)) => {
                assert_eq!(
                    d.shown_labels(),
                    ["Admin", "Member"],
                    "Owner is never mapped"
                );
                assert_eq!(d.highlighted(), Some(&OrgRole::Member));
            }
            other => panic!("{other:?}"),
        }
        assert!(p.captures_input());
        typed(&mut p, "adm");
        let c = calls(&press(&mut p, key(KeyCode::Enter)));
        assert!(p.popup.is_none());
        let e = p.editor.as_ref().unwrap();
        assert_eq!(e.draft.org_role, OrgRole::Admin);
        assert!(p.dirty());
        assert_eq!(e.impact, Impact::Loading);
        assert_eq!(
            c,
            vec![(
                "preview",
                Call::Preview {
                    group_id: "g-dev".into(),
                    of: PreviewOf::Save(MappingBody {
                        org_role: OrgRole::Admin,
                        stack_roles: vec![key_of("app", "developer"), key_of("dev", "developer")],
                    }),
                }
            )]
        );
        // Esc closes a dropdown without changing anything.
        act(&mut p, Action::Open);
        press(&mut p, key(KeyCode::Esc));
        assert!(p.popup.is_none());
        assert_eq!(p.editor.as_ref().unwrap().draft.org_role, OrgRole::Admin);
    }

    #[test]
    fn a_stack_dropdown_ticks_several_roles_and_each_change_asks_a_new_preview() {
        let mut p = editing_developers();
        // Org role, Marketing Site, Developer stack, Mobile App.
        act(&mut p, Action::Bottom);
        assert_eq!(p.editor.as_ref().unwrap().focus, 4);
        act(&mut p, Action::Open);
        match &p.popup {
            Some(Popup::StackRoles { stack_uid, list }) => {
                assert_eq!(stack_uid, "app");
                assert!(list.is_multi());
                assert_eq!(list.ticked(), vec!["developer".to_string()]);
                assert!(list.shown_labels().contains(&"Release Manager (custom)"));
            }
            other => panic!("{other:?}"),
        }
        typed(&mut p, "release");
        press(&mut p, ch(' '));
        let c = calls(&press(&mut p, key(KeyCode::Enter)));
        let want = MappingBody {
            org_role: OrgRole::Member,
            stack_roles: vec![
                key_of("app", "developer"),
                key_of("app", "rm"),
                key_of("dev", "developer"),
            ],
        };
        assert_eq!(
            c,
            vec![(
                "preview",
                Call::Preview {
                    group_id: "g-dev".into(),
                    of: PreviewOf::Save(want.clone()),
                }
            )]
        );
        // Untick Developer on Mobile App, keep Release Manager: a second preview, same slot,
        // so the app cancels the first.
        act(&mut p, Action::Open);
        press(&mut p, key(KeyCode::Down));
        press(&mut p, ch(' '));
        let c2 = calls(&press(&mut p, key(KeyCode::Enter)));
        assert_eq!(c2[0].0, "preview");
        assert_eq!(
            p.editor.as_ref().unwrap().draft.roles_on("app"),
            vec!["rm".to_string()]
        );
        // The first answer arrives late: it is about an older draft and is dropped.
        let old = preview(vec![], 24, 24, 0);
        reply(&mut p, "preview", c[0].1.clone(), Reply::Preview(old));
        assert_eq!(p.editor.as_ref().unwrap().impact, Impact::Loading);
        let new = preview(vec![], 24, 24, 0);
        reply(
            &mut p,
            "preview",
            c2[0].1.clone(),
            Reply::Preview(new.clone()),
        );
        assert_eq!(p.editor.as_ref().unwrap().impact, Impact::Ready(new));
    }

    #[test]
    fn going_back_to_the_saved_roles_clears_the_preview_and_the_dirt() {
        let mut p = editing_developers();
        act(&mut p, Action::Open);
        typed(&mut p, "admin");
        press(&mut p, key(KeyCode::Enter));
        assert!(p.dirty());
        act(&mut p, Action::Open);
        typed(&mut p, "member");
        let c = press(&mut p, key(KeyCode::Enter));
        assert!(calls(&c).is_empty());
        assert!(!p.dirty());
        assert_eq!(p.editor.as_ref().unwrap().impact, Impact::Unchanged);
        // Nothing to save then.
        let c = act(&mut p, Action::Save);
        assert!(calls(&c).is_empty());
        assert!(toasts(&c)[0].contains("nothing to save"));
    }

    #[test]
    fn the_preview_reads_as_sentences_with_counts() {
        let p = preview(
            vec![
                RoleCount {
                    role: RoleRef::Org {
                        org_role: OrgRole::Admin,
                    },
                    gain: 0,
                    lose: 3,
                },
                RoleCount {
                    role: RoleRef::Stack(sref("app", "developer")),
                    gain: 34,
                    lose: 0,
                },
                RoleCount {
                    role: RoleRef::Stack(sref("web", "admin")),
                    gain: 0,
                    lose: 1,
                },
                RoleCount {
                    role: RoleRef::Org {
                        org_role: OrgRole::Admin,
                    },
                    gain: 2,
                    lose: 0,
                },
            ],
            40,
            37,
            1,
        );
        assert_eq!(
            impact_sentences(&p),
            [
                "↓ lowers org role to Member for 3 members",
                "↑ raises org role to Admin for 2 members",
                "− removes Admin on Marketing Site from 1 member",
                "+ grants Developer on Mobile App to 34 members",
            ]
        );
        assert_eq!(
            impact_totals(&p),
            "37 of 40 members change at once; 1 pending request rewritten"
        );
        assert_eq!(
            impact_sentences(&preview(vec![], 6, 0, 0)),
            ["no member's access changes (6 members in the group)"]
        );
    }

    #[test]
    fn a_superseded_request_decodes_in_a_preview() {
        // The server writes `after: null` when an edit leaves a request nothing to approve.
        let p: Preview = serde_json::from_value(serde_json::json!({
            "granted_changes": [],
            "pending_changes": [{
                "member_id": "m1", "email": "priya@acme.example", "request_id": "r1",
                "before": {"org_role_from": "member", "org_role_to": "admin",
                           "stack_gains": [], "stack_losses": []},
                "after": null
            }],
            "counts": {"members": 4, "granted_changes": 0, "pending_changes": 1, "roles": []}
        }))
        .unwrap();
        assert_eq!(p.pending_changes[0].after, None);
    }

    #[test]
    fn save_puts_the_draft_then_closes_the_editor_and_reloads_the_list() {
        let mut p = editing_developers();
        act(&mut p, Action::Open);
        typed(&mut p, "admin");
        press(&mut p, key(KeyCode::Enter));
        let c = calls(&act(&mut p, Action::Save));
        let body = MappingBody {
            org_role: OrgRole::Admin,
            stack_roles: vec![key_of("app", "developer"), key_of("dev", "developer")],
        };
        assert_eq!(
            c,
            vec![(
                "save",
                Call::PutMapping {
                    group_id: "g-dev".into(),
                    body: body.clone()
                }
            )]
        );
        assert!(p.editor.as_ref().unwrap().saving);
        // A second press while saving sends nothing.
        assert!(calls(&act(&mut p, Action::Save)).is_empty());
        let saved = SavedMapping {
            mapping: mapping(
                "g-dev",
                "Developers",
                OrgRole::Admin,
                &[("dev", "developer"), ("app", "developer")],
            ),
            applied: Applied {
                granted_changes: 24,
                pending_changes: 1,
            },
        };
        let cmds = reply(&mut p, "save", c[0].1.clone(), Reply::SavedMapping(saved));
        assert!(p.editor.is_none());
        assert!(!p.dirty());
        let t = toasts(&cmds);
        assert_eq!(
            t,
            ["Developers saved · 24 members changed · 1 request rewritten"]
        );
        let c = calls(&cmds);
        assert!(matches!(&c[..], [("groups", Call::Groups { .. })]));
        // The list comes back in another order: the saved group stays selected.
        let mut gs = groups();
        gs.rotate_left(2);
        reply(&mut p, "groups", c[0].1.clone(), Reply::Groups(page(gs)));
        assert_eq!(p.selected_group().unwrap().id, "g-dev");
    }

    #[test]
    fn a_refused_save_keeps_the_editor_and_says_why() {
        let mut p = editing_developers();
        act(&mut p, Action::Open);
        typed(&mut p, "admin");
        press(&mut p, key(KeyCode::Enter));
        let c = calls(&act(&mut p, Action::Save));
        let cmds = p.update(
            PaneMsg::Reply {
                slot: "save",
                call: c[0].1.clone(),
                result: Err(ApiError::Rejected {
                    status: 400,
                    code: "bad_request".into(),
                    message: "stack_roles: unknown stack".into(),
                }),
            },
            &cx(),
        );
        assert!(toasts(&cmds)[0].contains("unknown stack"));
        let e = p.editor.as_ref().unwrap();
        assert!(!e.saving);
        assert!(p.dirty());
    }

    #[test]
    fn delete_asks_first_defaults_to_cancel_and_shows_its_impact() {
        let mut p = pane();
        let c = calls(&act(&mut p, Action::DeleteMapping));
        assert_eq!(
            c,
            vec![(
                "delete_preview",
                Call::Preview {
                    group_id: "g-adm".into(),
                    of: PreviewOf::Delete
                }
            )]
        );
        match &p.popup {
            Some(Popup::Delete(Ask { confirm, .. })) => {
                assert!(!confirm.on_action());
                assert!(confirm.danger);
                assert!(confirm.message.contains("Admins (4 members)"));
            }
            other => panic!("{other:?}"),
        }
        // The impact lands in the question.
        let lose = preview(
            vec![RoleCount {
                role: RoleRef::Org {
                    org_role: OrgRole::Admin,
                },
                gain: 0,
                lose: 4,
            }],
            4,
            4,
            0,
        );
        reply(
            &mut p,
            "delete_preview",
            c[0].1.clone(),
            Reply::Preview(lose),
        );
        match &p.popup {
            Some(Popup::Delete(Ask { confirm, .. })) => assert!(
                confirm
                    .message
                    .ends_with("Impact: ↓ lowers org role to Member for 4 members."),
                "{}",
                confirm.message
            ),
            other => panic!("{other:?}"),
        }
        // Enter on the default button cancels.
        assert!(press(&mut p, key(KeyCode::Enter)).is_empty());
        assert!(p.popup.is_none());
        act(&mut p, Action::DeleteMapping);
        press(&mut p, key(KeyCode::Tab));
        let c = calls(&press(&mut p, key(KeyCode::Enter)));
        assert_eq!(
            c,
            vec![(
                "delete",
                Call::DeleteMapping {
                    group_id: "g-adm".into()
                }
            )]
        );
        let cmds = reply(&mut p, "delete", c[0].1.clone(), Reply::Done);
        assert_eq!(toasts(&cmds), ["mapping of Admins deleted"]);
        assert!(matches!(&calls(&cmds)[..], [("groups", _)]));
    }

    #[test]
    fn deleting_an_unmapped_group_says_there_is_nothing() {
        let mut p = pane();
        act(&mut p, Action::Down);
        let c = act(&mut p, Action::DeleteMapping);
        assert!(calls(&c).is_empty());
        assert_eq!(toasts(&c), ["Contractors has no mapping to delete"]);
        assert!(p.popup.is_none());
    }

    #[test]
    fn delete_from_the_editor_targets_the_group_being_edited() {
        let mut p = editing_developers();
        let c = calls(&act(&mut p, Action::DeleteMapping));
        assert!(
            matches!(&c[..], [("delete_preview", Call::Preview { group_id, .. })] if group_id == "g-dev")
        );
        press(&mut p, key(KeyCode::Right));
        let c = calls(&press(&mut p, key(KeyCode::Enter)));
        reply(&mut p, "delete", c[0].1.clone(), Reply::Done);
        assert!(p.editor.is_none(), "the deleted mapping's editor closes");
    }

    #[test]
    fn esc_with_unsaved_edits_asks_before_discarding() {
        let mut p = editing_developers();
        // Clean: Esc closes at once.
        act(&mut p, Action::Back);
        assert!(p.editor.is_none());
        let mut p = editing_developers();
        act(&mut p, Action::Open);
        typed(&mut p, "admin");
        press(&mut p, key(KeyCode::Enter));
        act(&mut p, Action::Back);
        assert!(matches!(&p.popup, Some(Popup::Discard(a)) if !a.confirm.on_action()));
        // Enter on Cancel: still editing, edits kept.
        press(&mut p, key(KeyCode::Enter));
        assert!(p.dirty());
        act(&mut p, Action::Back);
        press(&mut p, key(KeyCode::Tab));
        press(&mut p, key(KeyCode::Enter));
        assert!(p.editor.is_none());
        assert!(!p.dirty());
    }

    #[test]
    fn n_starts_with_the_group_dropdown_and_esc_there_abandons() {
        let mut p = pane();
        act(&mut p, Action::NewMapping);
        match &p.popup {
            Some(Popup::Group(d)) => assert_eq!(
                d.shown_labels(),
                [
                    "Admins · 4 members · mapped",
                    "Contractors · 6 members · not mapped",
                    "Developers · 24 members · mapped"
                ]
            ),
            other => panic!("{other:?}"),
        }
        assert!(!p.dirty(), "no group yet, nothing to lose");
        press(&mut p, key(KeyCode::Esc));
        assert!(p.editor.is_none());
        assert!(p.popup.is_none());
    }

    #[test]
    fn a_new_mapping_for_an_unmapped_group_is_previewed_and_saved() {
        let mut p = pane();
        act(&mut p, Action::NewMapping);
        typed(&mut p, "contr");
        let c = calls(&press(&mut p, key(KeyCode::Enter)));
        let e = p.editor.as_ref().unwrap();
        assert!(e.is_new);
        assert_eq!(e.group.as_ref().unwrap().id, "g-con");
        assert_eq!(e.baseline, None);
        assert_eq!(e.focus, 1, "the cursor moves on to the org role");
        assert!(p.dirty(), "an unmapped group always has something to save");
        assert_eq!(
            c[0],
            (
                "mapping",
                Call::Mapping {
                    group_id: "g-con".into()
                }
            )
        );
        assert!(
            matches!(&c[1], ("preview", Call::Preview { group_id, .. }) if group_id == "g-con")
        );
        // The group row of a new mapping stays choosable.
        act(&mut p, Action::Up);
        act(&mut p, Action::Open);
        assert!(
            matches!(&p.popup, Some(Popup::Group(d)) if d.highlighted() == Some(&"g-con".to_string()))
        );
        press(&mut p, key(KeyCode::Esc));
        assert!(
            p.editor.is_some(),
            "Esc in the group list keeps a chosen group"
        );
        // Developer on Marketing Site.
        act(&mut p, Action::Down);
        act(&mut p, Action::Down);
        act(&mut p, Action::Open);
        typed(&mut p, "dev");
        press(&mut p, ch(' '));
        press(&mut p, key(KeyCode::Enter));
        let c = calls(&act(&mut p, Action::Save));
        assert_eq!(
            c,
            vec![(
                "save",
                Call::PutMapping {
                    group_id: "g-con".into(),
                    body: MappingBody {
                        org_role: OrgRole::Member,
                        stack_roles: vec![key_of("web", "developer")],
                    }
                }
            )]
        );
    }

    #[test]
    fn picking_a_mapped_group_for_a_new_mapping_edits_its_mapping() {
        let mut p = pane();
        act(&mut p, Action::NewMapping);
        typed(&mut p, "admins");
        let cmds = press(&mut p, key(KeyCode::Enter));
        assert!(toasts(&cmds)[0].contains("mapped already"));
        let e = p.editor.as_ref().unwrap();
        assert_eq!(e.draft.org_role, OrgRole::Admin);
        assert!(!p.dirty());
    }

    #[test]
    fn the_servers_copy_of_the_mapping_becomes_the_baseline() {
        let mut p = editing_developers();
        let fresh = mapping("g-dev", "Developers", OrgRole::Member, &[("web", "admin")]);
        let c = reply(
            &mut p,
            "mapping",
            Call::Mapping {
                group_id: "g-dev".into(),
            },
            Reply::Mapping(Some(fresh)),
        );
        assert!(c.is_empty());
        let e = p.editor.as_ref().unwrap();
        assert_eq!(e.draft.roles_on("web"), vec!["admin".to_string()]);
        assert!(!p.dirty());
        // Ctrl-r while editing fetches it again, with the list.
        let c = calls(&p.update(PaneMsg::Refresh, &cx()));
        assert!(c.contains(&(
            "mapping",
            Call::Mapping {
                group_id: "g-dev".into()
            }
        )));
        // An edit survives a fresh copy that did not change; the preview is asked again.
        act(&mut p, Action::Open);
        typed(&mut p, "admin");
        press(&mut p, key(KeyCode::Enter));
        let fresh = mapping("g-dev", "Developers", OrgRole::Member, &[("web", "admin")]);
        let c = reply(
            &mut p,
            "mapping",
            Call::Mapping {
                group_id: "g-dev".into(),
            },
            Reply::Mapping(Some(fresh)),
        );
        assert_eq!(p.editor.as_ref().unwrap().draft.org_role, OrgRole::Admin);
        assert!(matches!(&calls(&c)[..], [("preview", _)]));
        // An answer about another group is ignored.
        reply(
            &mut p,
            "mapping",
            Call::Mapping {
                group_id: "g-adm".into(),
            },
            Reply::Mapping(None),
        );
        assert!(p.editor.as_ref().unwrap().baseline.is_some());
    }

    #[test]
    fn a_failed_preview_is_shown_in_place() {
        let mut p = editing_developers();
        act(&mut p, Action::Open);
        typed(&mut p, "admin");
        let c = calls(&press(&mut p, key(KeyCode::Enter)));
        p.update(
            PaneMsg::Reply {
                slot: "preview",
                call: c[0].1.clone(),
                result: Err(ApiError::NotFound {
                    message: "no group".into(),
                }),
            },
            &cx(),
        );
        assert!(
            matches!(&p.editor.as_ref().unwrap().impact, Impact::Failed(m) if m.contains("no group"))
        );
    }

    #[test]
    fn read_only_browses_and_never_edits() {
        let ro = Ctx {
            read_only: true,
            ..Default::default()
        };
        let mut p = pane();
        for a in [
            Action::Open,
            Action::EditMapping,
            Action::NewMapping,
            Action::DeleteMapping,
        ] {
            assert!(p.update(PaneMsg::Action(a), &ro).is_empty());
            assert!(p.editor.is_none() && p.popup.is_none(), "{a:?}");
        }
        p.update(PaneMsg::Action(Action::Down), &ro);
        assert_eq!(p.selected, 1);
        let km = Keymap::build(
            &crate::console::panes::bindings(),
            &Default::default(),
            true,
        )
        .unwrap();
        for c in ['n', 'e', 'x', 'w'] {
            assert_eq!(km.lookup(ID, &ch(c)), None, "{c} is bound read-only");
        }
        let ctrl_s = KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL);
        assert_eq!(km.lookup(ID, &ctrl_s), None);
        let km = Keymap::build(
            &crate::console::panes::bindings(),
            &Default::default(),
            false,
        )
        .unwrap();
        assert_eq!(km.lookup(ID, &ctrl_s), Some(Action::Save));
        assert_eq!(km.lookup(ID, &ch('n')), Some(Action::NewMapping));
        assert_eq!(
            km.lookup(ID, &key(KeyCode::Delete)),
            Some(Action::DeleteMapping)
        );
    }

    #[test]
    fn leaving_the_pane_or_quitting_with_unsaved_edits_asks_first() {
        use crate::console::app::tests::{code, key as app_key, state};
        use crate::console::app::{Mode, update};
        let mut s = state();
        s.pane = ID;
        s.mapping = editing_developers();
        // Clean editor: q quits at once.
        assert_eq!(update(&mut s, app_key('q')), vec![Cmd::Quit]);
        let mut s = state();
        s.pane = ID;
        s.mapping = editing_developers();
        update(&mut s, code(KeyCode::Enter));
        for c in "admin".chars() {
            update(&mut s, app_key(c));
        }
        update(&mut s, code(KeyCode::Enter));
        assert!(s.mapping.dirty());
        assert!(update(&mut s, code(KeyCode::Tab)).is_empty());
        assert_eq!(s.mode, Mode::ConfirmLeave(PaneId::Scim));
        update(&mut s, app_key('n'));
        assert_eq!(s.pane, ID);
        assert!(update(&mut s, app_key('q')).is_empty());
        assert_eq!(s.mode, Mode::ConfirmQuit);
        update(&mut s, app_key('x'));
        assert_eq!(s.pane, ID);
        assert!(s.mapping.dirty(), "staying keeps the edits");
        // Esc reaches the editor and asks about the edits too.
        update(&mut s, code(KeyCode::Esc));
        assert!(matches!(s.mapping.popup, Some(Popup::Discard(_))));
    }

    #[test]
    fn the_editor_draws_marks_and_the_preview_without_colour() {
        let mut p = editing_developers();
        act(&mut p, Action::Open);
        typed(&mut p, "admin");
        let c = calls(&press(&mut p, key(KeyCode::Enter)));
        let pv = preview(
            vec![RoleCount {
                role: RoleRef::Org {
                    org_role: OrgRole::Admin,
                },
                gain: 24,
                lose: 0,
            }],
            24,
            24,
            0,
        );
        reply(&mut p, "preview", c[0].1.clone(), Reply::Preview(pv));
        let s = screen(80, 21, |f| p.view(f, f.area(), &Theme::mono()));
        assert!(s.contains("Edit mapping · Developers"), "{s}");
        assert!(s.contains("› *Org role"), "{s}");
        assert!(s.contains("Mobile App") && s.contains("Developer ▾"), "{s}");
        assert!(
            s.contains("↑ raises org role to Admin for 24 members"),
            "{s}"
        );
        assert!(s.contains("* unsaved edits"), "{s}");
    }

    #[test]
    fn words_wrap_at_the_width_and_long_words_are_cut() {
        assert_eq!(
            wrap_words("grants Developer on Mobile App", 12),
            ["grants", "Developer on", "Mobile App"]
        );
        assert_eq!(wrap_words("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap_words("", 5), [""]);
    }

    #[test]
    fn a_members_change_reads_in_words() {
        let d = crate::client::Diff {
            org_role_from: Some(OrgRole::Member),
            org_role_to: Some(OrgRole::Admin),
            stack_gains: vec![sref("app", "developer"), sref("app", "admin")],
            stack_losses: vec![sref("web", "admin")],
        };
        assert_eq!(
            diff_words(&d),
            "Member → Admin, +Admin on Mobile App, +Developer on Mobile App, −Admin on Marketing \
             Site"
        );
        assert_eq!(diff_words(&crate::client::Diff::default()), "no change");
    }

    fn preview_with_people(n: usize, total: u64) -> Preview {
        let mut p = preview(
            vec![RoleCount {
                role: RoleRef::Org {
                    org_role: OrgRole::Admin,
                },
                gain: total,
                lose: 0,
            }],
            total,
            total,
            1,
        );
        // The server's order follows ids, not emails.
        p.granted_changes = (0..n)
            .rev()
            .map(|i| crate::client::GrantedChange {
                member_id: format!("m{i}"),
                email: format!("dev{i}@acme.example"),
                diff: crate::client::Diff {
                    org_role_from: Some(OrgRole::Member),
                    org_role_to: Some(OrgRole::Admin),
                    ..Default::default()
                },
            })
            .collect();
        p.pending_changes = vec![crate::client::PendingChange {
            member_id: "m9".into(),
            email: "priya@acme.example".into(),
            request_id: "r1".into(),
            before: Default::default(),
            after: None,
        }];
        p
    }

    fn editor_showing(pv: Preview) -> MappingPane {
        let mut p = editing_developers();
        act(&mut p, Action::Open);
        typed(&mut p, "admin");
        let c = calls(&press(&mut p, key(KeyCode::Enter)));
        reply(&mut p, "preview", c[0].1.clone(), Reply::Preview(pv));
        p
    }

    #[test]
    fn the_impact_lists_who_changes_by_email_and_how_many_more() {
        let p = editor_showing(preview_with_people(5, 30));
        let s = screen(80, 21, |f| p.view(f, f.area(), &Theme::mono()));
        assert!(s.contains("At once:"), "{s}");
        assert!(s.contains("  dev0@acme.example  Member → Admin"), "{s}");
        assert!(s.contains("… and 27 more"), "{s}");
        let first = s.find("dev0@").unwrap();
        assert!(first < s.find("dev1@").unwrap(), "sorted by email: {s}");
        // With room, every listed member and the pending request show.
        let p = editor_showing(preview_with_people(5, 5));
        let s = screen(120, 37, |f| p.view(f, f.area(), &Theme::mono()));
        for i in 0..5 {
            assert!(s.contains(&format!("dev{i}@acme.example")), "{s}");
        }
        assert!(!s.contains("more"), "{s}");
        assert!(
            s.contains("Pending requests:")
                && s.contains("priya@acme.example  nothing left to approve"),
            "{s}"
        );
    }

    #[test]
    fn the_list_follows_the_servers_cursors_and_a_new_filter_starts_over() {
        let mut p = MappingPane::default();
        let c = calls(&p.update(PaneMsg::Activated, &cx()));
        let gs = groups();
        let first = Page {
            items: gs[..2].to_vec(),
            total: 3,
            next: Some("c1".into()),
        };
        let c = calls(&reply(
            &mut p,
            "groups",
            c[0].1.clone(),
            Reply::Groups(first),
        ));
        assert_eq!(
            c,
            vec![(
                "groups",
                Call::Groups {
                    filter: None,
                    page: PageReq {
                        limit: Some(200),
                        cursor: Some("c1".into())
                    }
                }
            )]
        );
        assert_eq!(p.groups.as_ref().unwrap().len(), 2);
        let s = screen(80, 21, |f| p.view(f, f.area(), &Theme::mono()));
        assert!(s.contains("SCIM groups (2 of 3)"), "{s}");
        let last = Page {
            items: gs[2..].to_vec(),
            total: 3,
            next: None,
        };
        assert!(reply(&mut p, "groups", c[0].1.clone(), Reply::Groups(last)).is_empty());
        let names: Vec<&str> = p
            .groups
            .iter()
            .flatten()
            .map(|g| g.display_name.as_str())
            .collect();
        assert_eq!(names, ["Admins", "Contractors", "Developers"]);
        // A filter asks for a first page again, in the same slot: the app cancels the rest.
        let c = calls(&p.update(PaneMsg::Filter("dev".into()), &cx()));
        assert!(matches!(&c[..], [("groups", Call::Groups { page, .. })] if page.cursor.is_none()));
        reply(
            &mut p,
            "groups",
            c[0].1.clone(),
            Reply::Groups(page(gs[2..].to_vec())),
        );
        assert_eq!(p.groups.as_ref().unwrap().len(), 1);
    }

    #[test]
    fn switching_a_new_mapping_to_an_unmapped_group_keeps_the_chosen_roles() {
        let mut p = pane();
        act(&mut p, Action::NewMapping);
        typed(&mut p, "admins");
        press(&mut p, key(KeyCode::Enter));
        act(&mut p, Action::Open);
        typed(&mut p, "member");
        press(&mut p, key(KeyCode::Enter));
        // To Contractors, unmapped: Member and Admins' three stack roles come along.
        act(&mut p, Action::Top);
        act(&mut p, Action::Open);
        typed(&mut p, "contr");
        let c = calls(&press(&mut p, key(KeyCode::Enter)));
        let e = p.editor.as_ref().unwrap();
        assert_eq!(e.group.as_ref().unwrap().id, "g-con");
        assert_eq!(e.baseline, None);
        assert_eq!(e.draft.org_role, OrgRole::Member);
        assert_eq!(e.draft.stack_roles.len(), 3);
        assert!(
            matches!(&c[1], ("preview", Call::Preview { group_id, .. }) if group_id == "g-con")
        );
        // To Developers, mapped: its own mapping, and a toast says so.
        act(&mut p, Action::Top);
        act(&mut p, Action::Open);
        typed(&mut p, "develop");
        let cmds = press(&mut p, key(KeyCode::Enter));
        assert!(toasts(&cmds)[0].contains("mapped already"));
        let e = p.editor.as_ref().unwrap();
        assert_eq!(e.draft, *e.baseline.as_ref().unwrap());
        assert!(!p.dirty());
    }

    /// The fixture's groups in a review against an older snapshot: the Editors mapping was
    /// raised to Admin (`~`), Engineering's lost its stack role and became Admin (two
    /// changes), Platform admins' mapping was removed (`-`), Contractors never had one.
    fn compared() -> (MappingPane, Ctx) {
        let (old, mut new) = crate::console::changes::tests::pair();
        let eng = new
            .mappings
            .iter_mut()
            .find(|m| m.group_id == "g-engineering")
            .unwrap();
        eng.stack_roles.clear();
        eng.org_role = OrgRole::Admin;
        new.mappings.retain(|m| m.group_id != "g-platform");
        let cx = Ctx {
            page_rows: 10,
            read_only: true,
            changes: Some(Arc::new(Changes::new(&old, &new, "q1.json"))),
            ..Default::default()
        };
        let group = |id: &str, name: &str, n: u64, m: Option<Mapping>| Group {
            id: id.into(),
            display_name: name.into(),
            member_count: n,
            mapping: m,
        };
        let mut p = pane();
        p.groups = Some(vec![
            group("g-con", "Contractors", 1, None),
            group(
                "g-editors",
                "Editors",
                2,
                Some(mapping(
                    "g-editors",
                    "Editors",
                    OrgRole::Admin,
                    &[("web", "content_manager")],
                )),
            ),
            group(
                "g-engineering",
                "Engineering",
                3,
                Some(mapping("g-engineering", "Engineering", OrgRole::Admin, &[])),
            ),
            group("g-platform", "Platform admins", 1, None),
        ]);
        p.total = 4;
        p.update(PaneMsg::Poll, &cx);
        (p, cx)
    }

    fn line_of<'a>(s: &'a str, what: &str) -> &'a str {
        s.lines()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no line with {what}:\n{s}"))
    }

    #[test]
    fn with_a_comparison_changed_mappings_are_marked_and_the_detail_says_what_changed() {
        let (mut p, cx) = compared();
        let s = screen(80, 24, |f| p.view(f, f.area(), &Theme::mono()));
        assert!(line_of(&s, "GROUP").contains("│  Δ GROUP"), "{s}");
        assert!(
            line_of(&s, "Contractors").contains("│›   Contractors"),
            "{s}"
        );
        assert!(line_of(&s, "Editors").contains("│  ~ Editors"), "{s}");
        assert!(
            line_of(&s, "Engineering").contains("│  ~ Engineering"),
            "{s}"
        );
        assert!(
            line_of(&s, "Platform").contains("│  - Platform admins"),
            "{s}"
        );
        // Unchanged: the detail says nothing about OLD.
        assert!(!s.contains("since q1.json"), "{s}");

        p.update(PaneMsg::Action(Action::Down), &cx);
        let s = screen(80, 24, |f| p.view(f, f.area(), &Theme::mono()));
        let lines: Vec<&str> = s.lines().collect();
        let top = lines.iter().position(|l| l.contains("┌ Editors")).unwrap();
        assert!(lines[top + 1].contains("2 members · org role Admin"), "{s}");
        assert!(
            lines[top + 2].contains("Δ since q1.json: mapping org role member → admin"),
            "{s}"
        );

        p.update(PaneMsg::Action(Action::Down), &cx);
        let s = screen(80, 24, |f| p.view(f, f.area(), &Theme::mono()));
        let lines: Vec<&str> = s.lines().collect();
        let head = lines
            .iter()
            .position(|l| l.contains("Δ since q1.json:"))
            .unwrap_or_else(|| panic!("{s}"));
        assert!(
            lines[head + 1].contains("  mapping org role member → admin"),
            "{s}"
        );
        assert!(
            lines[head + 2].contains("  - mapping stack role Website / Developer"),
            "{s}"
        );

        p.update(PaneMsg::Action(Action::Bottom), &cx);
        let s = screen(80, 24, |f| p.view(f, f.area(), &Theme::mono()));
        assert!(s.contains("not mapped"), "{s}");
        // A removed mapping: what it granted, one line each.
        let lines: Vec<&str> = s.lines().collect();
        let head = lines
            .iter()
            .position(|l| l.contains("│Δ since q1.json:"))
            .unwrap_or_else(|| panic!("{s}"));
        assert!(
            lines[head + 1].contains("  - mapping removed was org role admin"),
            "{s}"
        );
        assert!(
            lines[head + 2].contains("  - mapping stack role Mobile app / Admin"),
            "{s}"
        );
    }

    #[test]
    fn without_a_comparison_the_group_list_has_no_mark_column() {
        let (mut p, _) = compared();
        p.update(PaneMsg::Poll, &cx());
        let s = screen(80, 24, |f| p.view(f, f.area(), &Theme::mono()));
        assert!(line_of(&s, "GROUP").contains("│  GROUP"), "{s}");
        assert!(line_of(&s, "Editors").contains("│  Editors"), "{s}");
        assert!(!s.contains('Δ') && !s.contains("since"), "{s}");
    }
}
