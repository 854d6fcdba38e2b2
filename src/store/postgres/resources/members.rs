//! A group's member rows on PostgreSQL: added and removed in one statement each, in id
//! order, skipping ids of no user of the org.

use super::super::{audit, db_err};
use crate::store::scim_rows::{MemberDelta, skipped_json};
use crate::store::*;
use sqlx::{PgConnection, Row};
use std::collections::{HashMap, HashSet};

/// Whether an id could be stored: PostgreSQL's text holds no NUL, so an id with one names
/// nothing (and is not sent, where it would fail the query).
pub(super) fn storable(id: &str) -> bool {
    !id.contains('\0')
}

/// Each id once, in the order first given.
pub(super) fn distinct(ids: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    ids.iter()
        .filter(|id| seen.insert(id.as_str()))
        .cloned()
        .collect()
}

/// Adds the users of the org among `ids` to the group, in one statement: those already
/// members are left as they are, ids of no user of the org are skipped. The delta lists them
/// in the order given, as SQLite's does.
pub(super) async fn add_members(
    conn: &mut PgConnection,
    org_id: i64,
    group_id: &str,
    ids: &[String],
    delta: &mut MemberDelta,
) -> StoreResult<()> {
    let ids = distinct(ids);
    let sent: Vec<&String> = ids.iter().filter(|id| storable(id)).collect();
    if sent.is_empty() {
        delta.skipped.extend(ids);
        return Ok(());
    }
    let rows = sqlx::query(
        "WITH found AS (
             SELECT w.id, u.id IS NOT NULL AS known
             FROM unnest($3::text[]) AS w(id)
             LEFT JOIN scim_users u ON u.id = w.id AND u.org_id = $2
         ), added AS (
             INSERT INTO group_members (group_id, user_id)
             SELECT $1, id FROM found WHERE known ORDER BY id
             ON CONFLICT DO NOTHING
             RETURNING user_id
         )
         SELECT f.id, f.known, a.user_id IS NOT NULL AS added
         FROM found f LEFT JOIN added a ON a.user_id = f.id",
    )
    .bind(group_id)
    .bind(org_id)
    .bind(&sent)
    .fetch_all(&mut *conn)
    .await
    .map_err(member_gone)?;
    let mut outcome = HashMap::with_capacity(rows.len());
    for r in &rows {
        let id: String = r.try_get("id").map_err(db_err)?;
        let known: bool = r.try_get("known").map_err(db_err)?;
        let added: bool = r.try_get("added").map_err(db_err)?;
        outcome.insert(id, (known, added));
    }
    for id in ids {
        match outcome.get(&id) {
            Some((_, true)) => delta.added.push(id),
            Some((true, false)) => {}
            _ => delta.skipped.push(id),
        }
    }
    Ok(())
}

/// A user deleted (on any replica) between this write's read and its member insert: the
/// foreign key refuses the row. The request may be sent again, and then skips that user.
pub(super) fn member_gone(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_foreign_key_violation() => {
            StoreError::Unavailable(format!("a member was deleted while the group changed: {e}"))
        }
        _ => db_err(e),
    }
}

/// Removes `ids` from the group; the delta lists those that were members, in the order
/// given.
pub(super) async fn remove_members(
    conn: &mut PgConnection,
    group_id: &str,
    ids: &[String],
    delta: &mut MemberDelta,
) -> StoreResult<()> {
    let ids: Vec<String> = distinct(ids)
        .into_iter()
        .filter(|id| storable(id))
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let gone: HashSet<String> = sqlx::query_scalar(
        "DELETE FROM group_members WHERE group_id = $1 AND user_id = ANY($2::text[])
         RETURNING user_id",
    )
    .bind(group_id)
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?
    .into_iter()
    .collect();
    for id in ids {
        if gone.contains(&id) {
            delta.removed.push(id);
            delta.removed_count += 1;
        }
    }
    Ok(())
}

pub(super) async fn apply_member_ops(
    conn: &mut PgConnection,
    org_id: i64,
    group_id: &str,
    ops: &[MemberOp],
) -> StoreResult<MemberDelta> {
    let mut delta = MemberDelta::default();
    for op in ops {
        match op {
            MemberOp::Add(ids) => add_members(conn, org_id, group_id, ids, &mut delta).await?,
            MemberOp::Remove(ids) => remove_members(conn, group_id, ids, &mut delta).await?,
            MemberOp::RemoveAll => {
                let gone: Vec<String> = sqlx::query_scalar(
                    "DELETE FROM group_members WHERE group_id = $1 RETURNING user_id",
                )
                .bind(group_id)
                .fetch_all(&mut *conn)
                .await
                .map_err(db_err)?;
                delta.removed_count += gone.len() as u64;
                delta.cleared.extend(gone);
            }
            MemberOp::ReplaceAll(ids) => {
                // Touch only the difference, so a PUT that repeats the member list rewrites
                // nothing; the members that go are listed in id order, as SQLite lists them.
                let ids = distinct(ids);
                let kept: Vec<&String> = ids.iter().filter(|id| storable(id)).collect();
                let mut gone: Vec<String> = sqlx::query_scalar(
                    "DELETE FROM group_members gm WHERE gm.group_id = $1
                       AND NOT EXISTS (SELECT 1 FROM unnest($2::text[]) AS w(id)
                                       WHERE w.id = gm.user_id)
                     RETURNING gm.user_id",
                )
                .bind(group_id)
                .bind(&kept)
                .fetch_all(&mut *conn)
                .await
                .map_err(db_err)?;
                gone.sort();
                delta.removed_count += gone.len() as u64;
                delta.removed.extend(gone);
                add_members(conn, org_id, group_id, &ids, &mut delta).await?;
            }
        }
    }
    Ok(delta)
}

pub(super) async fn audit_skipped(
    conn: &mut PgConnection,
    org_id: i64,
    actor: &str,
    group_id: &str,
    skipped: &[String],
) -> StoreResult<()> {
    if skipped.is_empty() {
        return Ok(());
    }
    // jsonb holds no NUL either: such an id is recorded with U+FFFD in its place.
    let recorded: Vec<String> = skipped
        .iter()
        .map(|id| id.replace('\0', "\u{fffd}"))
        .collect();
    audit(
        conn,
        org_id,
        actor,
        "scim.group.members_skipped",
        Some(group_id),
        None,
        Some(&skipped_json(&recorded)),
    )
    .await
}
