//! Reads a whole organization into a [`Snapshot`]: a few large queries inside one read
//! transaction (so the parts agree with each other), never one query per member.

use super::{ORG_COLUMNS, SqliteStore, admin, db_err, org_from_row};
use crate::domain::access::{
    Access as DomainAccess, GroupMapping, OrgRole, StackRole, effective_access,
};
use crate::domain::approval::{MemberState, RequestDiff, RequestKind, RequestState};
use crate::scim::datetime;
use crate::snapshot::{
    self, Access, AdminTokenLabel, Approval, ApprovalRequest, AuditEvent, Diff, Group, GroupRef,
    Mapping, Member, MemberBrief, OrgInfo, ScimSettings, Snapshot, Stack, StackRoleDef,
    StackRoleRef, TokenLabel,
};
use crate::store::{StoreError, StoreResult};
use serde::Deserialize;
use sqlx::{AssertSqlSafe, Row};
use std::collections::{BTreeSet, HashMap};

pub(super) async fn snapshot(store: &SqliteStore, org_id: i64) -> StoreResult<Snapshot> {
    let mut conn = store.read().await?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(db_err)?;
    let sql = format!("SELECT {ORG_COLUMNS} FROM organizations WHERE id = ?");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(org_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?
        .ok_or_else(|| StoreError::NotFound("organization".into()))?;
    let org = org_from_row(&row).map_err(db_err)?;

    let tokens = sqlx::query(
        "SELECT id, label, created_at, last_used_at FROM scim_tokens
         WHERE org_id = ? AND revoked_at IS NULL ORDER BY rowid",
    )
    .bind(org_id)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?
    .iter()
    .map(|r| {
        Ok(TokenLabel {
            id: r.try_get("id")?,
            label: r.try_get("label")?,
            created_at: r.try_get("created_at")?,
            last_used_at: r.try_get("last_used_at")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()
    .map_err(db_err)?;

    let mut snap = Snapshot::new(
        OrgInfo {
            uid: org.uid.clone(),
            name: org.name.clone(),
            created_at: org.created_at.clone(),
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
            tokens,
        },
        datetime::now_rfc3339(),
    );

    snap.admin_tokens = sqlx::query(
        "SELECT t.id, t.label, a.email, t.created_at, t.last_used_at
         FROM admin_tokens t
         JOIN memberships m ON m.id = t.membership_id
         JOIN accounts a ON a.id = m.account_id
         WHERE m.org_id = ? AND t.revoked_at IS NULL ORDER BY t.rowid",
    )
    .bind(org_id)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?
    .iter()
    .map(|r| {
        Ok(AdminTokenLabel {
            id: r.try_get("id")?,
            label: r.try_get("label")?,
            email: r.try_get("email")?,
            created_at: r.try_get("created_at")?,
            last_used_at: r.try_get("last_used_at")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()
    .map_err(db_err)?;

    // Stacks and their roles, in the order the admin API lists them; the names give every
    // stack role reference below its display names.
    let mut names: HashMap<(String, String), (String, String)> = HashMap::new();
    for r in sqlx::query(
        "SELECT s.uid, s.name, r.uid, r.name, r.builtin FROM stacks s
         JOIN stack_roles r ON r.stack_id = s.id
         WHERE s.org_id = ?
         ORDER BY s.name, s.uid, r.builtin DESC,
           CASE r.uid WHEN 'admin' THEN 0 WHEN 'developer' THEN 1 ELSE 2 END, r.created_at, r.uid",
    )
    .bind(org_id)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?
    {
        let stack_uid: String = r.try_get(0).map_err(db_err)?;
        let stack_name: String = r.try_get(1).map_err(db_err)?;
        let role = StackRoleDef {
            uid: r.try_get(2).map_err(db_err)?,
            name: r.try_get(3).map_err(db_err)?,
            builtin: r.try_get(4).map_err(db_err)?,
        };
        names.insert(
            (stack_uid.clone(), role.uid.clone()),
            (stack_name.clone(), role.name.clone()),
        );
        match snap.stacks.last_mut() {
            Some(s) if s.uid == stack_uid => s.roles.push(role),
            _ => snap.stacks.push(Stack {
                uid: stack_uid,
                name: stack_name,
                roles: vec![role],
            }),
        }
    }
    let names = Names(names);

    let mut mappings: HashMap<String, GroupMapping> = HashMap::new();
    let mut mapping_meta: Vec<(String, String, String)> = Vec::new();
    for r in sqlx::query(
        "SELECT group_id, org_role, updated_at, updated_by FROM group_mappings WHERE org_id = ?",
    )
    .bind(org_id)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?
    {
        let group_id: String = r.try_get(0).map_err(db_err)?;
        let role: String = r.try_get(1).map_err(db_err)?;
        mapping_meta.push((
            group_id.clone(),
            r.try_get(2).map_err(db_err)?,
            r.try_get(3).map_err(db_err)?,
        ));
        mappings.insert(
            group_id.clone(),
            GroupMapping {
                group_id,
                org_role: OrgRole::parse(&role).unwrap_or(OrgRole::Member),
                stack_roles: BTreeSet::new(),
            },
        );
    }
    for r in sqlx::query(
        "SELECT r.group_id, r.stack_uid, r.role_uid FROM group_mapping_roles r
         JOIN group_mappings m ON m.group_id = r.group_id WHERE m.org_id = ?",
    )
    .bind(org_id)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?
    {
        let group_id: String = r.try_get(0).map_err(db_err)?;
        if let Some(m) = mappings.get_mut(&group_id) {
            m.stack_roles.insert(StackRole::new(
                r.try_get::<String, _>(1).map_err(db_err)?,
                r.try_get::<String, _>(2).map_err(db_err)?,
            ));
        }
    }

    // Granted stack roles of every member, one row each (few per member).
    let granted_json: String = sqlx::query_scalar(
        "SELECT json_group_array(json_array(g.membership_id, g.stack_uid, g.role_uid))
         FROM granted_stack_roles g JOIN memberships m ON m.id = g.membership_id
         WHERE m.org_id = ?",
    )
    .bind(org_id)
    .fetch_one(&mut *tx)
    .await
    .map_err(db_err)?;
    let mut granted_stack: HashMap<String, BTreeSet<StackRole>> = HashMap::new();
    for (member, stack_uid, role_uid) in
        parse::<Vec<(String, String, String)>>(&granted_json, "granted roles")?
    {
        granted_stack
            .entry(member)
            .or_default()
            .insert(StackRole::new(stack_uid, role_uid));
    }
    drop(granted_json);

    // The two large parts come out of SQLite as one JSON document each: its JSON functions
    // build them in C, and one row crosses to Rust instead of one per member (sqlx hands
    // rows over one at a time through a worker thread, which dominated the export).
    let groups_json: String = sqlx::query_scalar(
        "SELECT coalesce(json_group_array(json_object(
                   'id', g.id, 'display_name', g.display_name,
                   'members', (SELECT json_group_array(gm.user_id ORDER BY gm.user_id)
                               FROM group_members gm WHERE gm.group_id = g.id))
                 ORDER BY g.display_name, g.id), '[]')
         FROM scim_groups g WHERE g.org_id = ?",
    )
    .bind(org_id)
    .fetch_one(&mut *tx)
    .await
    .map_err(db_err)?;
    let groups: Vec<Group> = parse(&groups_json, "groups")?;

    // Unordered: sorting 100,000 emails in Rust is cheaper than SQLite's sorter, and each
    // member's groups come from the group lists above rather than one subquery per member.
    let members_json: String = sqlx::query_scalar(
        "SELECT json_group_array(json_object(
                   'id', m.id, 'email', a.email, 'display_name', u.display_name,
                   'state', m.state, 'role', m.role, 'source', m.source, 'active', u.active,
                   'created_at', m.created_at, 'updated_at', m.updated_at))
         FROM memberships m
         JOIN accounts a ON a.id = m.account_id
         LEFT JOIN scim_users u ON u.id = m.id
         WHERE m.org_id = ?",
    )
    .bind(org_id)
    .fetch_one(&mut *tx)
    .await
    .map_err(db_err)?;
    let mut raw: Vec<RawMember> = parse(&members_json, "members")?;
    drop(members_json);
    // Emails compare in any case in the database (COLLATE NOCASE); so here.
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
    snap.groups = groups;

    for r in sqlx::query(
        "SELECT r.id, r.member_id, r.kind, r.state, r.version, r.diff, r.created_at,
                r.updated_at, r.decided_by, r.decided_at, r.reason, a.email, u.display_name
         FROM approval_requests r
         JOIN memberships m ON m.id = r.member_id
         JOIN accounts a ON a.id = m.account_id
         LEFT JOIN scim_users u ON u.id = m.id
         WHERE r.org_id = ? AND r.state = 'pending'
         ORDER BY r.created_at, r.id",
    )
    .bind(org_id)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?
    {
        let kind: String = r.try_get("kind").map_err(db_err)?;
        let state: String = r.try_get("state").map_err(db_err)?;
        let diff: RequestDiff = parse(&r.try_get::<String, _>("diff").map_err(db_err)?, "diff")?;
        snap.requests.push(ApprovalRequest {
            id: r.try_get("id").map_err(db_err)?,
            member_id: r.try_get("member_id").map_err(db_err)?,
            member: MemberBrief {
                email: r.try_get("email").map_err(db_err)?,
                display_name: r.try_get("display_name").map_err(db_err)?,
            },
            kind: RequestKind::parse(&kind)
                .ok_or_else(|| StoreError::Db(format!("export: request kind '{kind}'")))?,
            state: RequestState::parse(&state)
                .ok_or_else(|| StoreError::Db(format!("export: request state '{state}'")))?,
            version: r.try_get("version").map_err(db_err)?,
            diff: Diff {
                org_role_from: diff.org_role_from,
                org_role_to: diff.org_role_to,
                stack_gains: names.refs(&diff.stack_gains),
                stack_losses: names.refs(&diff.stack_losses),
            },
            created_at: r.try_get("created_at").map_err(db_err)?,
            updated_at: r.try_get("updated_at").map_err(db_err)?,
            decided_by: r.try_get("decided_by").map_err(db_err)?,
            decided_at: r.try_get("decided_at").map_err(db_err)?,
            reason: r.try_get("reason").map_err(db_err)?,
        });
    }

    for r in sqlx::query(
        "SELECT id, at, actor, action, target, before, after FROM audit_log
         WHERE org_id = ? ORDER BY id DESC LIMIT ?",
    )
    .bind(org_id)
    .bind(snapshot::AUDIT_EVENTS as i64)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?
    {
        snap.audit.push(AuditEvent {
            id: r.try_get::<i64, _>("id").map_err(db_err)?.to_string(),
            at: r.try_get("at").map_err(db_err)?,
            actor: r.try_get("actor").map_err(db_err)?,
            action: r.try_get("action").map_err(db_err)?,
            target: r.try_get("target").map_err(db_err)?,
            before: admin::json_col(&r, "before")?,
            after: admin::json_col(&r, "after")?,
        });
    }
    tx.commit().await.map_err(db_err)?;
    Ok(snap)
}

/// A membership as the members query renders it.
#[derive(Deserialize)]
struct RawMember {
    id: String,
    email: String,
    display_name: Option<String>,
    state: String,
    role: String,
    source: String,
    /// The SCIM User's `active` (0 or 1), or null when the IdP deleted the user.
    active: Option<i64>,
    created_at: String,
    updated_at: String,
}

fn parse<T: serde::de::DeserializeOwned>(json: &str, what: &str) -> StoreResult<T> {
    serde_json::from_str(json).map_err(|e| {
        StoreError::Db(format!(
            "export: the {what} query gave unexpected JSON: {e}"
        ))
    })
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
    scim_active: Option<i64>,
    mappings: impl Iterator<Item = &'a GroupMapping>,
) -> (Option<DomainAccess>, Option<DomainAccess>) {
    let granted = state.has_access().then_some(DomainAccess {
        org_role: role,
        stack_roles: stack,
    });
    if !scim_source {
        return (granted.clone(), granted);
    }
    let requested = (scim_active == Some(1)).then(|| effective_access(mappings));
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
