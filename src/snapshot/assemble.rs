//! The snapshot of an org, assembled from the rows its store reads ([`ExportRows`]): each
//! member's granted and requested access (the latter by the domain's `effective_access`), the
//! display names of every stack role, and the order of every list. The arrow runs snapshot →
//! store: the store returns rows and knows no snapshot.

use super::{
    Access, AdminTokenLabel, Approval, ApprovalRequest, AuditEvent, Diff, Group, GroupRef, Mapping,
    Member, MemberBrief, OrgInfo, ScimSettings, Snapshot, Stack, StackRoleDef, StackRoleRef,
    TokenLabel,
};
use crate::domain::access::{
    Access as DomainAccess, GroupMapping, OrgRole, StackRole, effective_access,
};
use crate::domain::approval::{MemberState, RequestDiff, RequestKind, RequestState};
use crate::scim::datetime;
use crate::store::export::{ExportRows, parse_json};
use crate::store::{Store, StoreError, StoreResult};
use std::collections::{BTreeSet, HashMap};

/// The org's snapshot as its store has it now: one consistent read, then the assembly.
pub async fn export<S: Store>(store: &S, org_id: i64) -> StoreResult<Snapshot> {
    assemble(store.export_rows(org_id, super::AUDIT_EVENTS).await?)
}

/// The snapshot of `rows`, stamped now.
pub fn assemble(rows: ExportRows) -> StoreResult<Snapshot> {
    let ExportRows {
        org,
        tokens,
        admin_tokens,
        stack_roles,
        mappings: mapping_rows,
        mapping_roles,
        granted,
        groups,
        members: mut raw,
        requests,
        audit,
    } = rows;
    let ids = org.audit_ids();
    let mut snap = Snapshot::new(
        OrgInfo {
            uid: org.uid,
            name: org.name,
            created_at: org.created_at,
        },
        ScimSettings {
            enabled: org.scim.enabled,
            sso_role_mapping: org.scim.sso_role_mapping,
            approval: Approval {
                provision: org.scim.approval.provision,
                access_increase: org.scim.approval.access_increase,
                deprovision: org.scim.approval.deprovision,
            },
            user_name_is_email: org.scim.user_name_is_email,
            tokens: tokens
                .into_iter()
                .map(|t| TokenLabel {
                    id: t.id,
                    label: t.label,
                    created_at: t.created_at,
                    last_used_at: t.last_used_at,
                })
                .collect(),
        },
        datetime::now_rfc3339(),
    );
    snap.admin_tokens = admin_tokens
        .into_iter()
        .map(|t| AdminTokenLabel {
            id: t.id,
            label: t.label,
            email: t.email,
            created_at: t.created_at,
            last_used_at: t.last_used_at,
        })
        .collect();

    // The stacks, and the names that every stack role reference below shows.
    let mut names: HashMap<(String, String), (String, String)> = HashMap::new();
    for r in stack_roles {
        names.insert(
            (r.stack_uid.clone(), r.role_uid.clone()),
            (r.stack_name.clone(), r.role_name.clone()),
        );
        let role = StackRoleDef {
            uid: r.role_uid,
            name: r.role_name,
            builtin: r.builtin,
        };
        match snap.stacks.last_mut() {
            Some(s) if s.uid == r.stack_uid => s.roles.push(role),
            _ => snap.stacks.push(Stack {
                uid: r.stack_uid,
                name: r.stack_name,
                roles: vec![role],
            }),
        }
    }
    let names = Names(names);

    let mut mappings: HashMap<String, GroupMapping> = HashMap::new();
    let mut mapping_meta: Vec<(String, String, String)> = Vec::new();
    for m in mapping_rows {
        mappings.insert(
            m.group_id.clone(),
            GroupMapping {
                group_id: m.group_id.clone(),
                org_role: OrgRole::parse(&m.org_role).unwrap_or(OrgRole::Member),
                stack_roles: BTreeSet::new(),
            },
        );
        mapping_meta.push((m.group_id, m.updated_at, m.updated_by));
    }
    for (group_id, stack_uid, role_uid) in mapping_roles {
        if let Some(m) = mappings.get_mut(&group_id) {
            m.stack_roles.insert(StackRole::new(stack_uid, role_uid));
        }
    }

    let mut granted_stack: HashMap<String, BTreeSet<StackRole>> = HashMap::new();
    for (member, stack_uid, role_uid) in granted {
        granted_stack
            .entry(member)
            .or_default()
            .insert(StackRole::new(stack_uid, role_uid));
    }

    // Emails compare in any case in the database (SQLite's COLLATE NOCASE, PostgreSQL's
    // lower() index); so here. Sorting 100,000 emails here is cheaper than SQLite's sorter.
    raw.sort_by_cached_key(|m| m.email.to_ascii_lowercase());
    // Groups are in display-name order already, so each member's list comes out in it too.
    let mut groups_of: HashMap<&str, Vec<GroupRef>> = HashMap::new();
    for g in &groups {
        for m in &g.members {
            groups_of.entry(m.as_str()).or_default().push(GroupRef {
                id: g.id.clone(),
                display_name: g.display_name.clone(),
            });
        }
    }
    let mut members = Vec::with_capacity(raw.len());
    for r in raw {
        let member_groups = groups_of.remove(r.id.as_str()).unwrap_or_default();
        let state = MemberState::parse(&r.state).unwrap_or(MemberState::Removed);
        let role = OrgRole::parse(&r.role).unwrap_or(OrgRole::Member);
        let stack = granted_stack.remove(&r.id).unwrap_or_default();
        let (granted, requested) = member_access(
            state,
            role,
            stack,
            r.source == "scim",
            r.active,
            member_groups.iter().filter_map(|g| mappings.get(&g.id)),
        );
        let granted = granted.map(|a| names.access(&a));
        let requested = requested.map(|a| names.access(&a));
        members.push(Member {
            id: r.id,
            email: r.email,
            display_name: r.display_name,
            state,
            source: r.source,
            groups: member_groups,
            granted,
            requested,
            created_at: r.created_at,
            updated_at: r.updated_at,
        });
    }
    drop(groups_of);
    snap.members = members;

    let group_names: HashMap<&str, &str> = groups
        .iter()
        .map(|g| (g.id.as_str(), g.display_name.as_str()))
        .collect();
    mapping_meta.sort_by(|a, b| {
        let name = |id: &str| group_names.get(id).copied().unwrap_or("");
        (name(&a.0), &a.0).cmp(&(name(&b.0), &b.0))
    });
    for (group_id, updated_at, updated_by) in mapping_meta {
        let Some(m) = mappings.get(&group_id) else {
            continue;
        };
        snap.mappings.push(Mapping {
            group_name: group_names
                .get(group_id.as_str())
                .map(|n| n.to_string())
                .unwrap_or_default(),
            org_role: m.org_role,
            stack_roles: names.refs(&m.stack_roles),
            updated_at: Some(updated_at),
            updated_by: Some(updated_by),
            group_id,
        });
    }
    drop(group_names);
    snap.groups = groups
        .into_iter()
        .map(|g| Group {
            id: g.id,
            display_name: g.display_name,
            members: g.members,
        })
        .collect();

    for r in requests {
        let diff: RequestDiff = parse_json(&r.diff, "diff")?;
        snap.requests.push(ApprovalRequest {
            kind: RequestKind::parse(&r.kind)
                .ok_or_else(|| StoreError::Db(format!("export: request kind '{}'", r.kind)))?,
            state: RequestState::parse(&r.state)
                .ok_or_else(|| StoreError::Db(format!("export: request state '{}'", r.state)))?,
            id: r.id,
            member_id: r.member_id,
            member: MemberBrief {
                email: r.email,
                display_name: r.display_name,
            },
            version: r.version,
            diff: Diff {
                org_role_from: diff.org_role_from,
                org_role_to: diff.org_role_to,
                stack_gains: names.refs(&diff.stack_gains),
                stack_losses: names.refs(&diff.stack_losses),
            },
            created_at: r.created_at,
            updated_at: r.updated_at,
            decided_by: r.decided_by,
            decided_at: r.decided_at,
            reason: r.reason,
        });
    }
    snap.audit = audit
        .into_iter()
        .map(|e| AuditEvent {
            id: ids.show(e.id),
            at: e.at,
            actor: e.actor,
            action: e.action,
            target: e.target,
            before: e.before,
            after: e.after,
        })
        .collect();
    Ok(snap)
}

/// Granted and requested access of one member, by the same rules as the `/users` listing:
/// granted is in force only while active; requested is what the IdP's groups and their
/// mappings imply (the domain's `effective_access`) while the SCIM User is active, and the
/// member's own access for memberships made outside SCIM.
fn member_access<'a>(
    state: MemberState,
    role: OrgRole,
    stack: BTreeSet<StackRole>,
    scim_source: bool,
    scim_active: Option<bool>,
    mappings: impl Iterator<Item = &'a GroupMapping>,
) -> (Option<DomainAccess>, Option<DomainAccess>) {
    let granted = state.has_access().then_some(DomainAccess {
        org_role: role,
        stack_roles: stack,
    });
    if !scim_source {
        return (granted.clone(), granted);
    }
    let requested = (scim_active == Some(true)).then(|| effective_access(mappings));
    (granted, requested)
}

/// Stack and role uids to the names a reader shows.
struct Names(HashMap<(String, String), (String, String)>);

impl Names {
    fn refs<'a>(&self, roles: impl IntoIterator<Item = &'a StackRole>) -> Vec<StackRoleRef> {
        roles
            .into_iter()
            .map(|sr| {
                let (stack_name, role_name) = self
                    .0
                    .get(&(sr.stack_uid.clone(), sr.role_uid.clone()))
                    .cloned()
                    .unwrap_or_else(|| (sr.stack_uid.clone(), sr.role_uid.clone()));
                StackRoleRef {
                    stack_uid: sr.stack_uid.clone(),
                    stack_name,
                    role_uid: sr.role_uid.clone(),
                    role_name,
                }
            })
            .collect()
    }

    fn access(&self, a: &DomainAccess) -> Access {
        Access {
            org_role: a.org_role,
            stack_roles: self.refs(&a.stack_roles),
        }
    }
}
