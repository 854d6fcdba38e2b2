//! Reads a whole organization for a snapshot: a few large queries inside one read transaction
//! (so the parts agree with each other), never one query per member. `crate::snapshot::assemble`
//! puts the snapshot together from these rows.

use super::{ORG_COLUMNS, SqliteStore, db_err, org_from_row};
use crate::store::export::{self as shared, ExportRows, decode, org_rows, parse_json};
use crate::store::{StoreError, StoreResult};
use sqlx::AssertSqlSafe;

pub(super) async fn read(
    store: &SqliteStore,
    org_id: i64,
    audit_limit: u64,
) -> StoreResult<ExportRows> {
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

    macro_rules! json {
        ($sql:expr) => {{
            let json: String = sqlx::query_scalar($sql)
                .bind(org_id)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
            json
        }};
    }

    let tokens = org_rows!(
        tx,
        db_err,
        org_id,
        shared::token_label,
        "SELECT id, label, created_at, last_used_at FROM scim_tokens
         WHERE org_id = ? AND revoked_at IS NULL ORDER BY rowid"
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
         WHERE m.org_id = ? AND t.revoked_at IS NULL ORDER BY t.rowid"
    );
    let stack_roles = org_rows!(
        tx,
        db_err,
        org_id,
        shared::stack_role,
        "SELECT s.uid, s.name, r.uid, r.name, r.builtin FROM stacks s
         JOIN stack_roles r ON r.stack_id = s.id
         WHERE s.org_id = ?
         ORDER BY s.name, s.uid, r.builtin DESC,
           CASE r.uid WHEN 'admin' THEN 0 WHEN 'developer' THEN 1 ELSE 2 END, r.created_at, r.uid"
    );
    let mappings = org_rows!(
        tx,
        db_err,
        org_id,
        shared::mapping,
        "SELECT group_id, org_role, updated_at, updated_by FROM group_mappings WHERE org_id = ?"
    );
    let mapping_roles = org_rows!(
        tx,
        db_err,
        org_id,
        shared::triple,
        "SELECT r.group_id, r.stack_uid, r.role_uid FROM group_mapping_roles r
         JOIN group_mappings m ON m.group_id = r.group_id WHERE m.org_id = ?"
    );

    // The three large parts come out of SQLite as one JSON document each: its JSON functions
    // build them in C, and one row crosses to Rust instead of one per member (sqlx hands
    // rows over one at a time through a worker thread, which dominated the export).
    let granted_json = json!(
        "SELECT json_group_array(json_array(g.membership_id, g.stack_uid, g.role_uid))
         FROM granted_stack_roles g JOIN memberships m ON m.id = g.membership_id
         WHERE m.org_id = ?"
    );
    let granted = parse_json(&granted_json, "granted roles")?;
    drop(granted_json);
    let groups_json = json!(
        "SELECT coalesce(json_group_array(json_object(
                   'id', g.id, 'display_name', g.display_name,
                   'members', (SELECT json_group_array(gm.user_id ORDER BY gm.user_id)
                               FROM group_members gm WHERE gm.group_id = g.id))
                 ORDER BY g.display_name, g.id), '[]')
         FROM scim_groups g WHERE g.org_id = ?"
    );
    let groups = parse_json(&groups_json, "groups")?;
    drop(groups_json);
    // Unordered: the assembly sorts by email (cheaper than SQLite's sorter), and each
    // member's groups come from the group lists above rather than one subquery per member.
    let members_json = json!(
        "SELECT json_group_array(json_object(
                   'id', m.id, 'email', coalesce(u.user_name, a.email), 'display_name', u.display_name,
                   'state', m.state, 'role', m.role, 'source', m.source, 'active', u.active,
                   'created_at', m.created_at, 'updated_at', m.updated_at))
         FROM memberships m
         JOIN accounts a ON a.id = m.account_id
         LEFT JOIN scim_users u ON u.id = m.id
         WHERE m.org_id = ?"
    );
    let members = parse_json(&members_json, "members")?;
    drop(members_json);

    let requests = org_rows!(
        tx,
        db_err,
        org_id,
        shared::request,
        "SELECT r.id, r.member_id, coalesce(u.user_name, a.email), u.display_name, r.kind, r.state, r.version, r.diff,
                r.created_at, r.updated_at, r.decided_by, r.decided_at, r.reason
         FROM approval_requests r
         JOIN memberships m ON m.id = r.member_id
         JOIN accounts a ON a.id = m.account_id
         LEFT JOIN scim_users u ON u.id = m.id
         WHERE r.org_id = ? AND r.state = 'pending'
         ORDER BY r.created_at, r.id"
    );
    let audit = sqlx::query(
        "SELECT id, at, actor, action, target, before, after FROM audit_log
         WHERE org_id = ? ORDER BY id DESC LIMIT ?",
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
