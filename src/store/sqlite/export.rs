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

    // Groups, then every (group, member) row of the org in one pass.
    let mut groups: Vec<Group> = Vec::new();
    let mut group_index: HashMap<String, usize> = HashMap::new();
    for r in sqlx::query(
        "SELECT id, display_name FROM scim_groups WHERE org_id = ?
         ORDER BY display_name, id",
    )
    .bind(org_id)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?
    {
        let id: String = r.try_get("id").map_err(db_err)?;
        group_index.insert(id.clone(), groups.len());
        groups.push(Group {
            id,
            display_name: r.try_get("display_name").map_err(db_err)?,
            members: Vec::new(),
        });
    }
    let mut groups_of: HashMap<String, Vec<usize>> = HashMap::new();
    for r in sqlx::query(
        "SELECT gm.group_id, gm.user_id FROM group_members gm
         JOIN scim_groups g ON g.id = gm.group_id
         WHERE g.org_id = ? ORDER BY gm.group_id, gm.user_id",
    )
    .bind(org_id)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?
    {
        let gid: String = r.try_get(0).map_err(db_err)?;
        let uid: String = r.try_get(1).map_err(db_err)?;
        if let Some(&i) = group_index.get(&gid) {
            groups[i].members.push(uid.clone());
            groups_of.entry(uid).or_default().push(i);
        }
    }

    for r in sqlx::query(
        "SELECT m.id, a.email, u.display_name, m.role, m.state, m.source, m.created_at,
                m.updated_at
         FROM memberships m
         JOIN accounts a ON a.id = m.account_id
         LEFT JOIN scim_users u ON u.id = m.id
         WHERE m.org_id = ? ORDER BY a.email",
    )
    .bind(org_id)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?
    {
        let id: String = r.try_get("id").map_err(db_err)?;
        let role: String = r.try_get("role").map_err(db_err)?;
        let state: String = r.try_get("state").map_err(db_err)?;
        let state = MemberState::parse(&state).unwrap_or(MemberState::Removed);
        let member_groups = groups_of
            .get(&id)
            .map(|ix| {
                ix.iter()
                    .map(|&i| GroupRef {
                        id: groups[i].id.clone(),
                        display_name: groups[i].display_name.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let granted = state.has_access().then(|| Access {
            org_role: OrgRole::parse(&role).unwrap_or(OrgRole::Member),
            stack_roles: Vec::new(),
        });
        snap.members.push(Member {
            id,
            email: r.try_get("email").map_err(db_err)?,
            display_name: r.try_get("display_name").map_err(db_err)?,
            state,
            source: r.try_get("source").map_err(db_err)?,
            groups: member_groups,
            granted,
            requested: None,
            created_at: r.try_get("created_at").map_err(db_err)?,
            updated_at: r.try_get("updated_at").map_err(db_err)?,
        });
    }
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
