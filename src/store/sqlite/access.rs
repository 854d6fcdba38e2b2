//! Granted access and approvals of SCIM-provisioned members in SQLite, for the SCIM write
//! path (the admin API's reads and decisions are `access_admin.rs`'). The rules
//! live in `domain`; this file loads the state they need, runs them and writes the result.
//!
//! Every helper takes a `&mut SqliteConnection`, so the SCIM write path calls them inside its
//! own transaction, whichever way that transaction was begun.

use super::db_err;
use super::raw::{self, Stmt};
use crate::domain::access::{GroupMapping, StackRole};
use crate::domain::approval::{self, ApprovalPolicy, Transition};
use crate::scim::datetime;
use crate::store::StoreResult;
use crate::store::access_rules::writes::{self, MemberWrite, RequestWrite};
use crate::store::access_rules::{self as rules, Cause, MemberRow, StoredRequest, Who};
use serde_json::{Value, json};
use sqlx::{Row, SqliteConnection};
use std::collections::{BTreeSet, HashMap};

pub(super) fn ids_json(ids: &[String]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())
}

pub(super) fn request_from_row(r: &sqlx::sqlite::SqliteRow) -> StoreResult<StoredRequest> {
    let kind: String = r.try_get("kind").map_err(db_err)?;
    let state: String = r.try_get("state").map_err(db_err)?;
    let diff: String = r.try_get("diff").map_err(db_err)?;
    let version: i64 = r.try_get("version").map_err(db_err)?;
    rules::request_from_raw((
        r.try_get("id").map_err(db_err)?,
        kind,
        state,
        version,
        rules::parse_diff(&diff)?,
        r.try_get("created_at").map_err(db_err)?,
        r.try_get("updated_at").map_err(db_err)?,
        r.try_get("decided_by").map_err(db_err)?,
        r.try_get("decided_at").map_err(db_err)?,
        r.try_get("reason").map_err(db_err)?,
    ))
}

pub(super) const REQUEST_COLUMNS: &str = "r.id, r.member_id, r.kind, r.state, r.version, r.diff, \
    r.created_at, r.updated_at, r.decided_by, r.decided_at, r.reason";

/// Loads memberships of `org_id`, sorted by id, in ONE statement whatever their count: SQLite
/// builds each member with its granted roles, groups, open request and last rejected diff as
/// one JSON document. sqlx hands rows over one at a time through its connection thread, and
/// each statement is a round trip to that thread; one statement and one row replace five
/// statements and a row per member, per granted role and per group membership (a preview of
/// a 10,000-member group read ~70,000 rows that way).
pub(super) async fn load_members(
    conn: &mut SqliteConnection,
    org_id: i64,
    who: Who<'_>,
) -> StoreResult<Vec<MemberRow>> {
    const NAMED_GROUPS: &str = "SELECT json_group_array(json_array(g.id, g.display_name)
                 ORDER BY g.display_name, g.id)
          FROM group_members gm JOIN scim_groups g ON g.id = gm.group_id
          WHERE gm.user_id = m.id";
    const GROUP_IDS: &str = "SELECT json_group_array(json_array(gm.group_id, ''))
          FROM group_members gm WHERE gm.user_id = m.id";
    let (which, arg, groups) = match who {
        Who::Ids([]) => return Ok(Vec::new()),
        Who::Ids(ids) => (
            "SELECT value FROM json_each(?1)",
            ids_json(ids),
            NAMED_GROUPS,
        ),
        Who::GroupForRules(g) => (
            "SELECT user_id FROM group_members WHERE group_id = ?1",
            g.to_string(),
            GROUP_IDS,
        ),
    };
    // `+m.org_id`: without statistics SQLite would walk the org's whole (org, account) index
    // and test each id, a scan of every member on each SCIM create; the id key is the way in.
    // Stored diffs are JSON text; json() embeds them as JSON (and refuses a corrupt one).
    let sql = format!(
        "SELECT json_group_array(json_array(
             m.id, coalesce(u.user_name, a.email), u.display_name, m.state, m.role, m.source, u.active,
             m.created_at, m.updated_at,
             json((SELECT json_group_array(json_array(s.stack_uid, s.role_uid))
                   FROM granted_stack_roles s WHERE s.membership_id = m.id)),
             json(({groups})),
             json((SELECT json_array(r.id, r.kind, r.state, r.version, json(r.diff),
                                     r.created_at, r.updated_at, r.decided_by, r.decided_at,
                                     r.reason)
                   FROM approval_requests r WHERE r.member_id = m.id AND r.state = 'pending')),
             json((SELECT x.diff FROM member_last_rejected x WHERE x.membership_id = m.id))))
         FROM memberships m JOIN accounts a ON a.id = m.account_id
         LEFT JOIN scim_users u ON u.id = m.id
         WHERE m.id IN ({which}) AND +m.org_id = ?2"
    );
    let text: String = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(&arg)
        .bind(org_id)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?;
    rules::members_from_json(&text)
}

/// The mappings of the given groups (unmapped groups are simply absent), in one statement.
pub(super) async fn load_mappings(
    conn: &mut SqliteConnection,
    group_ids: &BTreeSet<&str>,
) -> StoreResult<HashMap<String, GroupMapping>> {
    if group_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let arr = serde_json::to_string(group_ids).unwrap_or_else(|_| "[]".into());
    let text: String = sqlx::query_scalar(
        "SELECT json_group_array(json_array(mp.group_id, mp.org_role,
                  json((SELECT json_group_array(json_array(r.stack_uid, r.role_uid))
                        FROM group_mapping_roles r WHERE r.group_id = mp.group_id))))
         FROM group_mappings mp WHERE mp.group_id IN (SELECT value FROM json_each(?))",
    )
    .bind(&arr)
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    rules::mappings_from_json(&text)
}

pub(super) async fn mappings_for(
    conn: &mut SqliteConnection,
    rows: &[MemberRow],
) -> StoreResult<HashMap<String, GroupMapping>> {
    load_mappings(conn, &rules::groups_of(rows)).await
}

pub(super) async fn policy_of(
    conn: &mut SqliteConnection,
    org_id: i64,
) -> StoreResult<ApprovalPolicy> {
    let r = sqlx::query(
        "SELECT approval_provision, approval_access_increase, approval_deprovision
         FROM organizations WHERE id = ?",
    )
    .bind(org_id)
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(ApprovalPolicy {
        provision: r.try_get(0).map_err(db_err)?,
        access_increase: r.try_get(1).map_err(db_err)?,
        deprovision: r.try_get(2).map_err(db_err)?,
    })
}

pub(super) async fn audit(
    conn: &mut SqliteConnection,
    org_id: i64,
    actor: &str,
    action: &str,
    target: &str,
    before: Option<&Value>,
    after: Option<&Value>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO audit_log (org_id, at, actor, action, target, before, after)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(org_id)
    .bind(datetime::now_rfc3339())
    .bind(actor)
    .bind(action)
    .bind(target)
    .bind(before.map(|v| v.to_string()))
    .bind(after.map(|v| v.to_string()))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Writes a transition of one member: state, granted access, and the open request. Audits
/// what changed. Returns whether anything did.
pub(super) async fn persist(
    conn: &mut SqliteConnection,
    org_id: i64,
    row: &MemberRow,
    t: &Transition,
    actor: &str,
    now: &str,
) -> StoreResult<bool> {
    let w = writes::plan_write(row, t)?;
    raw::run_sqlx(conn, &statements(org_id, &w, actor, now)).await?;
    Ok(w.changes())
}

fn pairs(roles: &[StackRole]) -> Vec<(&str, &str)> {
    roles
        .iter()
        .map(|r| (r.stack_uid.as_str(), r.role_uid.as_str()))
        .collect()
}

/// The statements that write `w` (see [`persist`]). Each is one round trip through sqlx.
fn statements(org_id: i64, w: &MemberWrite, actor: &str, now: &str) -> Vec<Stmt> {
    let mut stmts = Vec::new();
    if let Some(a) = &w.access {
        let roles = json!({"gone": pairs(&a.gone), "added": pairs(&a.added)});
        // One statement text for the state, the granted roles lost and gained ([stack, role]
        // pairs) and the audit event.
        //
        // Parameters are numbered so that few go unused in any one statement: sqlx binds a
        // statement's unused numbers to its arguments in turn, and once that count passes the
        // number of arguments it stops binding the statement's remaining ones (here at most
        // 3 + 3 + 3 unused for 9 arguments).
        stmts.push(Stmt::new(
            "UPDATE memberships SET state = ?3, role = ?4, updated_at = ?2 WHERE id = ?1;
             DELETE FROM granted_stack_roles WHERE membership_id = ?1 AND (stack_uid, role_uid)
               IN (SELECT value ->> 0, value ->> 1 FROM json_each(?5, '$.gone'));
             INSERT OR IGNORE INTO granted_stack_roles (membership_id, stack_uid, role_uid)
               SELECT ?1, value ->> 0, value ->> 1 FROM json_each(?5, '$.added');
             INSERT INTO audit_log (org_id, at, actor, action, target, before, after)
               VALUES (?6, ?2, ?7, 'access.changed', ?1, ?8, ?9)",
            vec![
                w.member_id.as_str().into(),
                now.into(),
                a.state.as_str().into(),
                a.role.as_str().into(),
                roles.to_string().into(),
                org_id.into(),
                actor.into(),
                a.audit_before.to_string().into(),
                a.audit_after.to_string().into(),
            ],
        ));
    }
    for r in &w.requests {
        stmts.push(match r {
            RequestWrite::Open {
                id,
                kind,
                diff,
                audit_after,
            } => Stmt::new(
                "INSERT INTO approval_requests
                   (id, org_id, member_id, kind, state, version, diff, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, 'pending', 1, ?5, ?6, ?6);
                 INSERT INTO audit_log (org_id, at, actor, action, target, before, after)
                   VALUES (?2, ?6, ?7, 'approval.opened', ?1, NULL, ?8)",
                vec![
                    id.as_str().into(),
                    org_id.into(),
                    w.member_id.as_str().into(),
                    kind.as_str().into(),
                    diff.as_str().into(),
                    now.into(),
                    actor.into(),
                    audit_after.to_string().into(),
                ],
            ),
            RequestWrite::Update {
                id,
                diff,
                audit_before,
                audit_after,
            } => Stmt::new(
                "UPDATE approval_requests SET diff = ?1, version = version + 1, updated_at = ?2
                 WHERE id = ?3;
                 INSERT INTO audit_log (org_id, at, actor, action, target, before, after)
                   VALUES (?4, ?2, ?5, 'approval.updated', ?3, ?6, ?7)",
                vec![
                    diff.as_str().into(),
                    now.into(),
                    id.as_str().into(),
                    org_id.into(),
                    actor.into(),
                    audit_before.to_string().into(),
                    audit_after.to_string().into(),
                ],
            ),
            RequestWrite::Supersede {
                id,
                audit_before,
                audit_after,
            } => Stmt::new(
                "UPDATE approval_requests SET state = 'superseded', updated_at = ?1 WHERE id = ?2;
                 INSERT INTO audit_log (org_id, at, actor, action, target, before, after)
                   VALUES (?3, ?1, ?4, 'approval.superseded', ?2, ?5, ?6)",
                vec![
                    now.into(),
                    id.as_str().into(),
                    org_id.into(),
                    actor.into(),
                    audit_before.to_string().into(),
                    audit_after.to_string().into(),
                ],
            ),
        });
    }
    stmts
}

/// Brings SCIM-provisioned memberships in line with what the IdP and the mappings now imply:
/// lowering applies at once, raising waits per the org's policy. Members made outside SCIM are
/// never touched. Called by the SCIM write path, in its transaction, with the memberships the
/// write affected.
pub(crate) async fn reconcile(
    conn: &mut SqliteConnection,
    org_id: i64,
    member_ids: &[String],
    actor: &str,
) -> StoreResult<()> {
    reconcile_as(conn, org_id, member_ids, actor, Cause::Change).await
}

/// [`reconcile`], with the rule of `cause` (a userName change moves access: [`Cause::Rename`]).
pub(crate) async fn reconcile_as(
    conn: &mut SqliteConnection,
    org_id: i64,
    member_ids: &[String],
    actor: &str,
    cause: Cause,
) -> StoreResult<()> {
    if member_ids.is_empty() {
        return Ok(());
    }
    let rows = load_members(conn, org_id, Who::Ids(member_ids)).await?;
    if rows.iter().all(|r| !r.scim_source) {
        return Ok(());
    }
    let mappings = mappings_for(conn, &rows).await?;
    let policy = policy_of(conn, org_id).await?;
    let now = datetime::now_rfc3339();
    for row in rows.iter().filter(|r| r.scim_source) {
        let t = cause.transition(row, &mappings, &policy);
        persist(conn, org_id, row, &t, actor, &now).await?;
    }
    Ok(())
}

/// `reconcile` for a membership that the SCIM create has just inserted (state pending, role
/// member, source scim): it cannot have groups (its SCIM User is new), granted roles, a
/// request or a rejected diff yet, so nothing is read back; `policy` is the org's, read by
/// the create in the same statement text. The rules and the writes are `reconcile`'s; these
/// are its statements.
pub(crate) fn reconcile_new(
    org_id: i64,
    id: &str,
    active: bool,
    policy: &ApprovalPolicy,
    actor: &str,
    now: &str,
) -> StoreResult<Vec<Stmt>> {
    let row = MemberRow::new_scim(id, active, now);
    let t = approval::on_change(&row.domain(), &row.intent(&HashMap::new()), policy);
    Ok(statements(
        org_id,
        &writes::plan_write(&row, &t)?,
        actor,
        now,
    ))
}

/// Before a SCIM group is deleted: its mapping goes first, so that its members lose what it
/// gave them in the same transaction.
pub(crate) async fn group_deleting(
    conn: &mut SqliteConnection,
    org_id: i64,
    group_id: &str,
    actor: &str,
) -> StoreResult<()> {
    let deleted = sqlx::query("DELETE FROM group_mappings WHERE group_id = ?")
        .bind(group_id)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    if deleted.rows_affected() == 0 {
        return Ok(());
    }
    let members = group_member_ids(conn, group_id).await?;
    reconcile(conn, org_id, &members, actor).await
}

async fn group_member_ids(conn: &mut SqliteConnection, group_id: &str) -> StoreResult<Vec<String>> {
    sqlx::query_scalar("SELECT user_id FROM group_members WHERE group_id = ?")
        .bind(group_id)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)
}

/// Whether a group has a mapping: member changes of unmapped groups change no access.
pub(crate) async fn is_mapped(conn: &mut SqliteConnection, group_id: &str) -> StoreResult<bool> {
    let hit: Option<i64> = sqlx::query_scalar("SELECT 1 FROM group_mappings WHERE group_id = ?")
        .bind(group_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(hit.is_some())
}
