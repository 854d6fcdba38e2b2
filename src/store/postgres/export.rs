//! Reads a whole organization for a snapshot on PostgreSQL: a few large queries inside one
//! REPEATABLE READ, read-only transaction (so every part sees the same moment, whatever other
//! replicas commit meanwhile), never one query per member. The snapshot is put together from
//! these rows by the engine-independent `store::export`, as on SQLite.
//!
//! Text is ordered with `COLLATE "C"` (bytewise, as SQLite's BINARY) whatever the database's
//! collation, and group names by `lower()` under "C", which folds ASCII letters only, as
//! SQLite's NOCASE does: both engines list the same data in the same order.

use super::{ORG_COLUMNS, PgStore, db_err, org_from_row};
use crate::store::export::{self as shared, ExportRows, GroupRow, decode, org_rows};
use crate::store::{StoreError, StoreResult};
use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, Row};

pub(super) async fn read(
    store: &PgStore,
    org_id: i64,
    audit_limit: u64,
) -> StoreResult<ExportRows> {
    let mut tx = store
        .pool()
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .map_err(db_err)?;
    let sql = format!("SELECT {ORG_COLUMNS} FROM organizations o WHERE o.id = $1");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(org_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?
        .ok_or_else(|| StoreError::NotFound("organization".into()))?;
    let org = org_from_row(&row).map_err(db_err)?;

    let tokens = org_rows!(
        tx,
        db_err,
        org_id,
        shared::token_label,
        "SELECT id, label, created_at, last_used_at FROM scim_tokens
         WHERE org_id = $1 AND revoked_at IS NULL ORDER BY seq"
    );
    let admin_tokens = org_rows!(
        tx,
        db_err,
        org_id,
        shared::admin_token_label,
        "SELECT t.id, t.label, a.email, t.created_at, t.last_used_at
         FROM admin_tokens t
         JOIN memberships m ON m.id = t.membership_id
         JOIN accounts a ON a.id = m.account_id
         WHERE m.org_id = $1 AND t.revoked_at IS NULL ORDER BY t.seq"
    );
    let stack_roles = org_rows!(
        tx,
        db_err,
        org_id,
        shared::stack_role,
        r#"SELECT s.uid, s.name, r.uid, r.name, r.builtin FROM stacks s
           JOIN stack_roles r ON r.stack_id = s.id
           WHERE s.org_id = $1
           ORDER BY s.name COLLATE "C", s.uid COLLATE "C", r.builtin DESC,
             CASE r.uid WHEN 'admin' THEN 0 WHEN 'developer' THEN 1 ELSE 2 END,
             r.created_at COLLATE "C", r.uid COLLATE "C""#
    );
    let mappings = org_rows!(
        tx,
        db_err,
        org_id,
        shared::mapping,
        "SELECT group_id, org_role, updated_at, updated_by FROM group_mappings WHERE org_id = $1"
    );
    let mapping_roles = org_rows!(
        tx,
        db_err,
        org_id,
        shared::triple,
        "SELECT r.group_id, r.stack_uid, r.role_uid FROM group_mapping_roles r
         JOIN group_mappings m ON m.group_id = r.group_id WHERE m.org_id = $1"
    );
    let granted = org_rows!(
        tx,
        db_err,
        org_id,
        shared::triple,
        "SELECT g.membership_id, g.stack_uid, g.role_uid
         FROM granted_stack_roles g JOIN memberships m ON m.id = g.membership_id
         WHERE m.org_id = $1"
    );
    // One row per group with its members as an array: a thousand rows, not one per
    // membership of a group.
    let groups = org_rows!(
        tx,
        db_err,
        org_id,
        group,
        r#"SELECT g.id, g.display_name,
                  coalesce((SELECT array_agg(gm.user_id ORDER BY gm.user_id COLLATE "C")
                            FROM group_members gm WHERE gm.group_id = g.id), '{}')
           FROM scim_groups g WHERE g.org_id = $1
           ORDER BY lower(g.display_name COLLATE "C"), g.id COLLATE "C""#
    );
    // Unordered: the assembly sorts by email.
    let members = org_rows!(
        tx,
        db_err,
        org_id,
        shared::member,
        "SELECT m.id, coalesce(u.user_name, a.email) AS email, u.display_name, m.state, m.role, m.source, u.active,
                m.created_at, m.updated_at
         FROM memberships m
         JOIN accounts a ON a.id = m.account_id
         LEFT JOIN scim_users u ON u.id = m.id
         WHERE m.org_id = $1"
    );
    let requests = org_rows!(
        tx,
        db_err,
        org_id,
        shared::request,
        r#"SELECT r.id, r.member_id, coalesce(u.user_name, a.email) AS email, u.display_name, r.kind, r.state, r.version,
                  r.diff::text, r.created_at, r.updated_at, r.decided_by, r.decided_at, r.reason
           FROM approval_requests r
           JOIN memberships m ON m.id = r.member_id
           JOIN accounts a ON a.id = m.account_id
           LEFT JOIN scim_users u ON u.id = m.id
           WHERE r.org_id = $1 AND r.state = 'pending'
           ORDER BY r.created_at COLLATE "C", r.id COLLATE "C""#
    );
    let audit = sqlx::query(
        "SELECT id, at, actor, action, target, before::text, after::text
         FROM audit_log WHERE org_id = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(org_id)
    .bind(audit_limit as i64)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;

    Ok(ExportRows {
        org,
        tokens,
        admin_tokens,
        stack_roles,
        mappings,
        mapping_roles,
        granted,
        groups,
        members,
        requests,
        audit: decode(&audit, shared::audit_event)?,
    })
}

/// `id, display_name, members (text[])`: SQLite has no arrays (its groups come as JSON).
fn group(r: &PgRow) -> Result<GroupRow, sqlx::Error> {
    Ok(GroupRow {
        id: r.try_get(0)?,
        display_name: r.try_get(1)?,
        members: r.try_get(2)?,
    })
}
