//! Reads a whole organization into a [`Snapshot`]: a few large queries inside one read
//! transaction (so the parts agree with each other), never one query per member.

use super::{ORG_COLUMNS, SqliteStore, admin, db_err, org_from_row};
use crate::domain::access::OrgRole;
use crate::domain::approval::MemberState;
use crate::scim::datetime;
use crate::snapshot::{
    self, Access, AdminTokenLabel, Approval, AuditEvent, Group, GroupRef, Member, OrgInfo,
    ScimSettings, Snapshot, TokenLabel,
};
use crate::store::{StoreError, StoreResult};
use serde::Deserialize;
use sqlx::{AssertSqlSafe, Row};
use std::collections::HashMap;

pub(super) async fn snapshot(store: &SqliteStore, org_id: i64) -> StoreResult<Snapshot> {
    let mut tx = store.reader().begin().await.map_err(db_err)?;
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
        let granted = state.has_access().then(|| Access {
            org_role: OrgRole::parse(&r.role).unwrap_or(OrgRole::Member),
            stack_roles: Vec::new(),
        });
        members.push(Member {
            id: r.id,
            email: r.email,
            display_name: r.display_name,
            state,
            source: r.source,
            groups: member_groups,
            granted,
            requested: None,
            created_at: r.created_at,
            updated_at: r.updated_at,
        });
    }
    drop(groups_of);
    snap.members = members;
    snap.groups = groups;

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
    #[allow(dead_code)]
    active: Option<i64>,
    created_at: String,
    updated_at: String,
}

fn parse<T: serde::de::DeserializeOwned>(json: &str, what: &str) -> StoreResult<T> {
    serde_json::from_str(json)
        .map_err(|e| StoreError::Db(format!("export: the {what} query gave unexpected JSON: {e}")))
}
