//! Members and the approval queue on PostgreSQL: `/users`, a member's access, an admin's
//! removal, the queue and decisions. A removal and a decision lock the member's row before
//! reading it (see `access.rs`), so that a decision racing an IdP change on another replica
//! either sees the change (and answers 409 when the request moved) or is seen by it.

use super::access::{Loaded, load, load_names, lock_members, write_all};
use super::{PgStore, audit, db_err};
use crate::domain::approval::{MemberState, RequestState};
use crate::scim::datetime;
use crate::store::access_rules::views::{Names, summary};
use crate::store::access_rules::{self as rules, MemberRow, StoredRequest, Who, writes};
use crate::store::access_types::*;
use crate::store::{CursorPage, StoreError, StoreResult};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use std::collections::HashMap;

/// Members, in the order of `ids`, as `/users` shows them.
async fn member_infos(
    conn: &mut PgConnection,
    org_id: i64,
    ids: &[String],
) -> StoreResult<Vec<MemberInfo>> {
    let Loaded { rows, mappings, .. } = load(conn, org_id, Who::Ids(ids)).await?;
    let names = load_names(conn, org_id).await?;
    let mut infos = names.members_in_order(&rows, &mappings, ids);
    add_rejections(conn, org_id, &mut infos).await?;
    Ok(infos)
}

/// Each rejected member's rejection: its latest rejected request (by the member index of
/// migration 7), read only when the page holds a rejected member.
async fn add_rejections(
    conn: &mut PgConnection,
    org_id: i64,
    infos: &mut [MemberInfo],
) -> StoreResult<()> {
    let ids: Vec<String> = infos
        .iter()
        .filter(|m| m.state == MemberState::Rejected)
        .map(|m| m.id.clone())
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let rows: Vec<rules::RejectionRow> = sqlx::query_as(
        "SELECT r.member_id, r.id, r.decided_by, r.decided_at, r.reason
             FROM approval_requests r
             WHERE r.member_id = ANY($2) AND r.org_id = $1 AND r.state = 'rejected'
             ORDER BY r.decided_at, r.id",
    )
    .bind(org_id)
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    rules::attach_rejections(infos, rows);
    Ok(())
}

/// Above this many matches a filtered `/users` page walks the email index from the cursor
/// instead of sorting every match (as on SQLite).
const SEARCH_SORT_LIMIT: i64 = 2_000;

/// The memberships whose email or SCIM display name contains `$2` (a lowered LIKE pattern),
/// found through the trigram indexes of both.
const MATCHES: &str = "SELECT m.id FROM accounts a JOIN memberships m ON m.account_id = a.id
      WHERE m.org_id = $1 AND lower(a.email) LIKE $2
    UNION
    SELECT u.id FROM scim_users u WHERE u.org_id = $1 AND lower(u.display_name) LIKE $2";

pub(crate) async fn list_members(
    store: &PgStore,
    org_id: i64,
    q: &MemberQuery,
) -> StoreResult<CursorPage<MemberInfo>> {
    let mut conn = store.pool().acquire().await.map_err(db_err)?;
    let pattern = q
        .filter
        .as_deref()
        .map(|f| rules::like_pattern(&f.to_lowercase()));
    let state = q.state.map(MemberState::as_str);
    let total: i64 = match &pattern {
        // The per-state counts that triggers keep, summed over their slots.
        None => {
            sqlx::query_scalar(
                "SELECT coalesce(sum(n), 0)::bigint FROM membership_counts
             WHERE org_id = $1 AND ($2::text IS NULL OR state = $2)",
            )
            .bind(org_id)
            .bind(state)
            .fetch_one(&mut *conn)
            .await
        }
        Some(p) => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT count(*) FROM ({MATCHES}) h JOIN memberships m ON m.id = h.id
             WHERE $3::text IS NULL OR m.state = $3"
            )))
            .bind(org_id)
            .bind(p)
            .bind(state)
            .fetch_one(&mut *conn)
            .await
        }
    }
    .map_err(db_err)?;
    if !q.sort.by_email_cursor(q.desc) {
        // Another order (or backwards): every match sorted by the column, then by email;
        // the cursor is the last row's key and lowered email.
        let key = match q.sort {
            MemberSort::Email => "lower(a.email)",
            MemberSort::Name => "coalesce(u.display_name, '')",
            MemberSort::State => "m.state",
            MemberSort::Created => "m.created_at",
        };
        let (cmp, dir) = if q.desc { ("<", "DESC") } else { (">", "ASC") };
        let (ck, ce) = match q
            .cursor
            .as_deref()
            .and_then(|c| c.split_once(SORT_CURSOR_SEP))
        {
            Some((k, e)) => (Some(k.to_string()), Some(e.to_string())),
            None => (None, None),
        };
        let found: Vec<(String, String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT m.id, {key}, lower(a.email) FROM memberships m
             JOIN accounts a ON a.id = m.account_id
             LEFT JOIN scim_users u ON u.id = m.id
             WHERE m.org_id = $1
               AND ($2::text IS NULL OR lower(a.email) LIKE $2 OR lower(u.display_name) LIKE $2)
               AND ($3::text IS NULL OR m.state = $3)
               AND ($4::text IS NULL OR ({key}, lower(a.email)) {cmp} ($4, $5::text))
             ORDER BY {key} {dir}, lower(a.email) {dir} LIMIT $6"
        )))
        .bind(org_id)
        .bind(&pattern)
        .bind(state)
        .bind(&ck)
        .bind(&ce)
        .bind(q.limit as i64 + 1)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
        let (ids, next) = rules::sorted_page(found, q.limit);
        let items = member_infos(&mut conn, org_id, &ids).await?;
        return Ok(CursorPage {
            items,
            total: total.max(0) as u64,
            next,
        });
    }
    // Ordered by email in any case; the cursor is the last lowered email seen (emails are
    // unique in any case).
    let after = q.cursor.clone().unwrap_or_default();
    let sql = match &pattern {
        // Few matches: find them through the indexes and sort them.
        Some(_) if total <= SEARCH_SORT_LIMIT => format!(
            "SELECT m.id, lower(a.email) FROM ({MATCHES}) h
             JOIN memberships m ON m.id = h.id JOIN accounts a ON a.id = m.account_id
             WHERE ($3::text IS NULL OR m.state = $3) AND lower(a.email) > $4
             ORDER BY lower(a.email) LIMIT $5"
        ),
        // Many matches, or no filter: walk the email index from the cursor and stop at the
        // limit.
        _ => "SELECT m.id, lower(a.email) FROM accounts a
             JOIN memberships m ON m.account_id = a.id
             LEFT JOIN scim_users u ON u.id = m.id
             WHERE m.org_id = $1
               AND ($2::text IS NULL OR lower(a.email) LIKE $2 OR lower(u.display_name) LIKE $2)
               AND ($3::text IS NULL OR m.state = $3) AND lower(a.email) > $4
             ORDER BY lower(a.email) LIMIT $5"
            .to_string(),
    };
    let found: Vec<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org_id)
        .bind(&pattern)
        .bind(state)
        .bind(&after)
        .bind(q.limit as i64 + 1)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    let more = found.len() as u64 > q.limit;
    let (page, keys): (Vec<String>, Vec<String>) = found.into_iter().take(q.limit as usize).unzip();
    let items = member_infos(&mut conn, org_id, &page).await?;
    Ok(CursorPage {
        items,
        total: total.max(0) as u64,
        next: if more { keys.last().cloned() } else { None },
    })
}

pub(crate) async fn member_access(
    store: &PgStore,
    org_id: i64,
    id: &str,
) -> StoreResult<Option<MemberAccess>> {
    let mut conn = store.pool().acquire().await.map_err(db_err)?;
    let Loaded { rows, mappings, .. } =
        load(&mut conn, org_id, Who::Ids(&[id.to_string()])).await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let names = load_names(&mut conn, org_id).await?;
    let mut access = names.member_access(row, &mappings);
    add_rejections(&mut conn, org_id, std::slice::from_mut(&mut access.member)).await?;
    Ok(Some(access))
}

/// An admin removes a member: no access at once, the open request superseded, and the SCIM
/// User shown to the IdP as inactive, so that its setting `active` again asks for approval.
pub(crate) async fn remove_member(
    store: &PgStore,
    org_id: i64,
    id: &str,
    actor: &str,
) -> StoreResult<MemberInfo> {
    let mut tx = store.begin().await?;
    // The SCIM User's row first, then the membership's, in the SCIM write path's order.
    sqlx::query("SELECT 1 FROM scim_users WHERE id = $1 AND org_id = $2 FOR UPDATE")
        .bind(id)
        .bind(org_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    let ids = [id.to_string()];
    lock_members(&mut tx, org_id, Who::Ids(&ids)).await?;
    let loaded = load(&mut tx, org_id, Who::Ids(&ids)).await?;
    let Some(row) = loaded.rows.first() else {
        return Err(StoreError::NotFound(format!(
            "no member '{id}' in this organization"
        )));
    };
    let t = rules::removal(row)?;
    let now = datetime::now_rfc3339();
    write_all(
        &mut tx,
        org_id,
        &[writes::plan_write(row, &t)?],
        actor,
        &now,
    )
    .await?;
    if row.scim_active == Some(true) {
        sqlx::query(
            "UPDATE scim_users SET active = false,
               resource = jsonb_set(resource, '{active}', 'false'), version = version + 1,
               last_modified = $2
             WHERE id = $1",
        )
        .bind(id)
        .bind(&now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    }
    let (before, after) = writes::removal_audit(row);
    audit(
        &mut tx,
        org_id,
        actor,
        "member.remove",
        Some(id),
        Some(&before),
        Some(&after),
    )
    .await?;
    let info = member_infos(&mut tx, org_id, &ids).await?.pop();
    tx.commit().await.map_err(db_err)?;
    info.ok_or_else(|| StoreError::NotFound(format!("no member '{id}'")))
}

// ---------------------------------------------------------------------------------------
// The approval queue.

const REQUEST_COLUMNS: &str = "r.id, r.member_id, r.kind, r.state, r.version, \
    r.diff::text AS diff, r.created_at, r.updated_at, r.decided_by, r.decided_at, r.reason";

/// A request row (see [`REQUEST_COLUMNS`]) and its member's id.
fn request_from_row(r: &PgRow) -> StoreResult<(StoredRequest, String)> {
    let diff: String = r.try_get("diff").map_err(db_err)?;
    let request = rules::request_from_raw((
        r.try_get("id").map_err(db_err)?,
        r.try_get("kind").map_err(db_err)?,
        r.try_get("state").map_err(db_err)?,
        r.try_get("version").map_err(db_err)?,
        rules::parse_diff(&diff)?,
        r.try_get("created_at").map_err(db_err)?,
        r.try_get("updated_at").map_err(db_err)?,
        r.try_get("decided_by").map_err(db_err)?,
        r.try_get("decided_at").map_err(db_err)?,
        r.try_get("reason").map_err(db_err)?,
    ))?;
    Ok((request, r.try_get("member_id").map_err(db_err)?))
}

/// Requests as the admin API shows them, with their members' emails and names.
async fn request_views(
    conn: &mut PgConnection,
    org_id: i64,
    requests: &[(StoredRequest, String)],
) -> StoreResult<Vec<ApprovalRequest>> {
    let names = load_names(conn, org_id).await?;
    let member_ids: Vec<&str> = requests.iter().map(|(_, m)| m.as_str()).collect();
    let people: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT m.id, coalesce(u.user_name, a.email), u.display_name FROM memberships m
         JOIN accounts a ON a.id = m.account_id LEFT JOIN scim_users u ON u.id = m.id
         WHERE m.id = ANY($1)",
    )
    .bind(member_ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    let who = people
        .into_iter()
        .map(|(id, email, display_name)| {
            (
                id,
                MemberSummary {
                    email,
                    display_name,
                },
            )
        })
        .collect();
    Ok(names.requests(requests, &who))
}

pub(crate) async fn list_approvals(
    store: &PgStore,
    org_id: i64,
    state: Option<RequestState>,
    limit: u64,
    cursor: Option<&str>,
) -> StoreResult<CursorPage<ApprovalRequest>> {
    let mut conn = store.pool().acquire().await.map_err(db_err)?;
    let state = state.map(RequestState::as_str);
    let total: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM approval_requests
         WHERE org_id = $1 AND ($2::text IS NULL OR state = $2)",
    )
    .bind(org_id)
    .bind(state)
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    // Oldest first; the cursor is the (created_at, id) of the last request seen.
    let (after_at, after_id) = rules::request_cursor(cursor);
    let sql = format!(
        "SELECT {REQUEST_COLUMNS} FROM approval_requests r
         WHERE r.org_id = $1 AND ($2::text IS NULL OR r.state = $2)
           AND (r.created_at, r.id) > ($3, $4)
         ORDER BY r.created_at, r.id LIMIT $5"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org_id)
        .bind(state)
        .bind(&after_at)
        .bind(&after_id)
        .bind(limit as i64 + 1)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    let more = rows.len() as u64 > limit;
    let requests = rows
        .iter()
        .take(limit as usize)
        .map(request_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    let items = request_views(&mut conn, org_id, &requests).await?;
    let next = if more {
        items
            .last()
            .map(|r| rules::next_request_cursor(&r.created_at, &r.id))
    } else {
        None
    };
    Ok(CursorPage {
        items,
        total: total as u64,
        next,
    })
}

/// A request with its member as the rules see it.
async fn request_and_member(
    conn: &mut PgConnection,
    org_id: i64,
    request_id: &str,
) -> StoreResult<(StoredRequest, Option<MemberRow>, Loaded)> {
    let sql = format!(
        "SELECT {REQUEST_COLUMNS} FROM approval_requests r WHERE r.id = $1 AND r.org_id = $2"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(request_id)
        .bind(org_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?
        .ok_or_else(|| StoreError::NotFound(format!("no approval request '{request_id}'")))?;
    let (stored, member_id) = request_from_row(&row)?;
    let mut loaded = load(conn, org_id, Who::Ids(&[member_id])).await?;
    let member = loaded.rows.pop();
    Ok((stored, member, loaded))
}

fn view(names: &Names, stored: &StoredRequest, member: &MemberRow) -> ApprovalRequest {
    names.request(stored, &member.id, summary(member))
}

pub(crate) async fn decide(
    store: &PgStore,
    org_id: i64,
    request_id: &str,
    decision: &Decision,
    seen_version: u64,
    actor: &str,
) -> StoreResult<DecisionOutcome> {
    let mut tx = store.begin().await?;
    // The member's row first: the request is read (and its version checked) under that lock,
    // which every writer of requests holds too.
    let locked: Option<String> = sqlx::query_scalar(
        "SELECT m.id FROM memberships m
         WHERE m.id = (SELECT member_id FROM approval_requests WHERE id = $1 AND org_id = $2)
           AND m.org_id = $2
         FOR UPDATE",
    )
    .bind(request_id)
    .bind(org_id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?;
    if locked.is_none() {
        return Err(StoreError::NotFound(format!(
            "no approval request '{request_id}'"
        )));
    }
    let (stored, member, loaded) = request_and_member(&mut tx, org_id, request_id).await?;
    let Some(member) = member else {
        return Err(StoreError::NotFound("the request's member is gone".into()));
    };
    let names = load_names(&mut tx, org_id).await?;
    let t = match rules::decision(&member, &stored, decision, seen_version, actor) {
        Err(message) => {
            let request = view(&names, &stored, &member);
            tx.rollback().await.map_err(db_err)?;
            return Ok(DecisionOutcome::Conflict { request, message });
        }
        Ok(None) => {
            let request = view(&names, &stored, &member);
            let info = names.member(&member, &loaded.mappings);
            tx.rollback().await.map_err(db_err)?;
            return Ok(DecisionOutcome::Done {
                request,
                member: Box::new(info),
            });
        }
        Ok(Some(t)) => t,
    };
    let now = datetime::now_rfc3339();
    // The request is decided here, not superseded, so the member's write must not touch it.
    let mut without_request = member.clone();
    without_request.request = None;
    write_all(
        &mut tx,
        org_id,
        &[writes::plan_write(&without_request, &t)?],
        actor,
        &now,
    )
    .await?;
    let (state, reason) = rules::decided_state(decision);
    let (action, before, after) = writes::decision_audit(&stored, state, reason.as_deref());
    // The decision, the rejected diff (which the same raise must not ask again) and the audit
    // event in one statement.
    sqlx::query(
        "WITH decided AS (
           UPDATE approval_requests SET state = $2, decided_by = $3, decided_at = $4,
             reason = $5, updated_at = $4
           WHERE id = $1 RETURNING member_id, diff),
         remembered AS (
           INSERT INTO member_last_rejected (membership_id, diff)
           SELECT member_id, diff FROM decided WHERE $2 = 'rejected'
           ON CONFLICT (membership_id) DO UPDATE SET diff = excluded.diff)
         INSERT INTO audit_log (org_id, at, actor, action, target, before, after)
         VALUES ($6, $4, $3, $7, $1, $8::jsonb, $9::jsonb)",
    )
    .bind(request_id)
    .bind(state.as_str())
    .bind(actor)
    .bind(&now)
    .bind(&reason)
    .bind(org_id)
    .bind(action)
    .bind(before.to_string())
    .bind(after.to_string())
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    let (fresh, member, loaded) = request_and_member(&mut tx, org_id, request_id).await?;
    tx.commit().await.map_err(db_err)?;
    let member = member.ok_or_else(|| StoreError::Db("member vanished".into()))?;
    Ok(DecisionOutcome::Done {
        request: view(&names, &fresh, &member),
        member: Box::new(names.member(&member, &loaded.mappings)),
    })
}

/// The provisioning state of SCIM Users, for their readOnly extension attribute.
pub(crate) async fn provisioning_states(
    store: &PgStore,
    org_id: i64,
    ids: &[String],
) -> StoreResult<HashMap<String, ProvisioningState>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, String, bool)> = sqlx::query_as(
        "SELECT m.id, m.state,
                EXISTS (SELECT 1 FROM approval_requests r
                        WHERE r.member_id = m.id AND r.state = 'pending')
         FROM memberships m WHERE m.org_id = $1 AND m.id = ANY($2)",
    )
    .bind(org_id)
    .bind(ids)
    .fetch_all(store.pool())
    .await
    .map_err(db_err)?;
    Ok(rows
        .into_iter()
        .map(|(id, state, pending_request)| {
            (
                id,
                ProvisioningState {
                    state: MemberState::parse(&state).unwrap_or(MemberState::Removed),
                    pending_request,
                },
            )
        })
        .collect())
}
