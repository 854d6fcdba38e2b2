//! Stack and role uids turned into what a client shows, and the member and request views.

use super::{MemberRow, StoredRequest};
use crate::domain::access::{Access, GroupMapping, OrgRole, StackRole};
use crate::domain::approval::RequestDiff;
use crate::store::access_types::*;
use std::collections::{BTreeSet, HashMap};

/// The names of an org's stacks and roles, by (stack uid, role uid).
#[derive(Default)]
pub(crate) struct Names {
    roles: HashMap<(String, String), (String, String)>,
}

impl Names {
    /// From (stack uid, stack name, role uid, role name) rows.
    pub fn from_rows(rows: impl IntoIterator<Item = (String, String, String, String)>) -> Names {
        Names {
            roles: rows
                .into_iter()
                .map(|(stack_uid, stack_name, role_uid, role_name)| {
                    ((stack_uid, role_uid), (stack_name, role_name))
                })
                .collect(),
        }
    }

    pub fn has_stack(&self, stack_uid: &str) -> bool {
        self.roles.keys().any(|(s, _)| s == stack_uid)
    }

    pub fn has_role(&self, sr: &StackRole) -> bool {
        self.roles
            .contains_key(&(sr.stack_uid.clone(), sr.role_uid.clone()))
    }

    /// A group's mapping as the admin API shows it.
    pub fn mapping(
        &self,
        m: &GroupMapping,
        group_name: &str,
        updated_at: String,
        updated_by: String,
    ) -> Mapping {
        Mapping {
            group_id: m.group_id.clone(),
            group_name: group_name.to_string(),
            org_role: m.org_role,
            stack_roles: self.refs(&m.stack_roles),
            updated_at,
            updated_by,
        }
    }

    pub fn stack_ref(&self, sr: &StackRole) -> StackRoleRef {
        let (stack_name, role_name) = self
            .roles
            .get(&(sr.stack_uid.clone(), sr.role_uid.clone()))
            .cloned()
            .unwrap_or_else(|| (sr.stack_uid.clone(), sr.role_uid.clone()));
        StackRoleRef {
            stack_uid: sr.stack_uid.clone(),
            stack_name,
            role_uid: sr.role_uid.clone(),
            role_name,
        }
    }

    pub fn refs<'a>(&self, srs: impl IntoIterator<Item = &'a StackRole>) -> Vec<StackRoleRef> {
        srs.into_iter().map(|s| self.stack_ref(s)).collect()
    }

    pub fn access(&self, a: &Access) -> AccessView {
        AccessView {
            org_role: a.org_role,
            stack_roles: self.refs(&a.stack_roles),
        }
    }

    pub fn diff(&self, d: &RequestDiff) -> DiffView {
        DiffView {
            org_role_from: d.org_role_from,
            org_role_to: d.org_role_to,
            stack_gains: self.refs(&d.stack_gains),
            stack_losses: self.refs(&d.stack_losses),
        }
    }

    pub fn request(
        &self,
        r: &StoredRequest,
        member_id: &str,
        summary: MemberSummary,
    ) -> ApprovalRequest {
        let warnings = crate::scim::text::mixed_scripts(&summary.email)
            .into_iter()
            .collect();
        ApprovalRequest {
            id: r.id.clone(),
            member_id: member_id.to_string(),
            member: summary,
            kind: r.kind,
            state: r.state,
            version: r.version,
            diff: self.diff(&r.diff),
            created_at: r.created_at.clone(),
            updated_at: r.updated_at.clone(),
            decided_by: r.decided_by.clone(),
            decided_at: r.decided_at.clone(),
            reason: r.reason.clone(),
            warnings,
        }
    }

    /// Requests with the email and name of their members (`who`, by member id); a member
    /// that is gone shows an empty email.
    pub fn requests(
        &self,
        requests: &[(StoredRequest, String)],
        who: &HashMap<String, MemberSummary>,
    ) -> Vec<ApprovalRequest> {
        requests
            .iter()
            .map(|(req, member_id)| {
                let s = who.get(member_id).cloned().unwrap_or(MemberSummary {
                    email: String::new(),
                    display_name: None,
                });
                self.request(req, member_id, s)
            })
            .collect()
    }

    pub fn member(&self, row: &MemberRow, mappings: &HashMap<String, GroupMapping>) -> MemberInfo {
        MemberInfo {
            id: row.id.clone(),
            email: row.email.clone(),
            display_name: row.display_name.clone(),
            state: row.state,
            source: if row.scim_source {
                MemberSource::Scim
            } else {
                MemberSource::Manual
            },
            groups: row.groups.clone(),
            granted: row.granted().map(|a| self.access(&a)),
            requested: row.requested(mappings).map(|a| self.access(&a)),
            request: row
                .request
                .as_ref()
                .map(|r| self.request(r, &row.id, summary(row))),
            rejection: None,
            created_at: row.created_at.clone(),
            updated_at: row.updated_at.clone(),
        }
    }

    /// The views of `rows` in the order of `ids` (ids without a row are left out).
    pub fn members_in_order(
        &self,
        rows: &[MemberRow],
        mappings: &HashMap<String, GroupMapping>,
        ids: &[String],
    ) -> Vec<MemberInfo> {
        let mut by_id: HashMap<String, MemberInfo> = rows
            .iter()
            .map(|r| (r.id.clone(), self.member(r, mappings)))
            .collect();
        ids.iter().filter_map(|id| by_id.remove(id)).collect()
    }

    /// Each of a member's roles, granted or requested, with the groups (and mappings) that
    /// grant it; a member made outside SCIM holds its roles manually.
    pub fn member_access(
        &self,
        row: &MemberRow,
        mappings: &HashMap<String, GroupMapping>,
    ) -> MemberAccess {
        let granted = row.granted();
        let requested = row.requested(mappings);
        let group_name = |gid: &str| {
            row.groups
                .iter()
                .find(|g| g.id == gid)
                .map(|g| g.display_name.clone())
                .unwrap_or_default()
        };
        let via_groups = |pred: &dyn Fn(&GroupMapping) -> bool| -> Vec<Via> {
            if !row.scim_source {
                return vec![Via::Manual];
            }
            row.groups
                .iter()
                .filter_map(|g| mappings.get(&g.id))
                .filter(|m| pred(m))
                .map(|m| Via::Group {
                    group_id: m.group_id.clone(),
                    group_name: group_name(&m.group_id),
                })
                .collect()
        };
        let mut roles = Vec::new();
        let org_roles: BTreeSet<OrgRole> = granted
            .iter()
            .chain(requested.iter())
            .map(|a| a.org_role)
            .collect();
        for r in org_roles.into_iter().rev() {
            roles.push(RoleExplained {
                role: RoleView::Org { org_role: r },
                granted: granted.as_ref().is_some_and(|a| a.org_role == r),
                requested: requested.as_ref().is_some_and(|a| a.org_role == r),
                via: via_groups(&|m| m.org_role == r),
            });
        }
        let stack: BTreeSet<&StackRole> = granted
            .iter()
            .chain(requested.iter())
            .flat_map(|a| a.stack_roles.iter())
            .collect();
        for sr in stack {
            roles.push(RoleExplained {
                role: RoleView::Stack(self.stack_ref(sr)),
                granted: granted.as_ref().is_some_and(|a| a.stack_roles.contains(sr)),
                requested: requested
                    .as_ref()
                    .is_some_and(|a| a.stack_roles.contains(sr)),
                via: via_groups(&|m| m.stack_roles.contains(sr)),
            });
        }
        MemberAccess {
            member: self.member(row, mappings),
            roles,
        }
    }
}

pub(crate) fn summary(row: &MemberRow) -> MemberSummary {
    MemberSummary {
        email: row.email.clone(),
        display_name: row.display_name.clone(),
    }
}
