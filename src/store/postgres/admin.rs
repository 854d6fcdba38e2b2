//! The audit log listing, and listing and revoking admin tokens, on PostgreSQL.

use super::{PgStore, audit, db_err};
use crate::scim::datetime;
use crate::store::{AdminTokenInfo, AuditEvent, AuditQuery, CursorPage, StoreError, StoreResult};
use serde_json::{Value, json};
use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, Row};

/// The WHERE clause of an audit query and its binds (after the org, `$1`), shared by the
/// count and the page.
fn audit_filter(q: &AuditQuery<'_>) -> (String, Vec<String>) {
    let mut sql = String::from("org_id = $1");
    let mut binds = Vec::new();
    if let Some(actor) = q.actor {
        // By part, case-insensitively: `owner` finds `owner@acme.example`.
        binds.push(actor.to_string());
        sql.push_str(&format!(
            " AND strpos(lower(actor), lower(${})) > 0",
            binds.len() + 1
        ));
    }
    if let Some(action) = q.action {
        // A dotted prefix selects a family: 'scim.user' matches 'scim.user.create'.
        binds.push(action.to_string());
        let n = binds.len() + 1;
        sql.push_str(&format!(
            " AND (action = ${n} OR starts_with(action, ${n} || '.'))"
        ));
    }
    if let Some(target) = q.target {
        // A member's history holds the approval requests about it, which are their own
        // targets.
        binds.push(target.to_string());
        let n = binds.len() + 1;
        sql.push_str(&format!(
            " AND (target = ${n} OR target IN \
             (SELECT id FROM approval_requests WHERE org_id = $1 AND member_id = ${n}))"
        ));
    }
    if let Some(since) = q.since {
        binds.push(since.to_string());
        sql.push_str(&format!(" AND at >= ${}", binds.len() + 1));
    }
    if let Some(until) = q.until {
        binds.push(until.to_string());
        sql.push_str(&format!(" AND at < ${}", binds.len() + 1));
    }
    (sql, binds)
}

/// What each target of a page is called now, in one statement: members by email, groups,
/// stacks, requests (by their member's email), SCIM and admin tokens and the org itself.
const TARGET_NAMES: &str = "
    SELECT m.id, a.email FROM memberships m JOIN accounts a ON a.id = m.account_id
     WHERE m.org_id = $1 AND m.id IN (SELECT unnest($2::text[]))
    UNION ALL SELECT g.id, 'group ' || g.display_name FROM scim_groups g
     WHERE g.org_id = $1 AND g.id IN (SELECT unnest($2::text[]))
    UNION ALL SELECT s.uid, 'stack ' || s.name FROM stacks s
     WHERE s.org_id = $1 AND s.uid IN (SELECT unnest($2::text[]))
    UNION ALL SELECT r.id, 'request of ' || a.email FROM approval_requests r
      JOIN memberships m ON m.id = r.member_id JOIN accounts a ON a.id = m.account_id
     WHERE r.org_id = $1 AND r.id IN (SELECT unnest($2::text[]))
    UNION ALL SELECT t.id, 'token ' || t.label FROM scim_tokens t
     WHERE t.org_id = $1 AND t.id IN (SELECT unnest($2::text[]))
    UNION ALL SELECT t.id, 'admin token ' || t.label FROM admin_tokens t
      JOIN memberships m ON m.id = t.membership_id
     WHERE m.org_id = $1 AND t.id IN (SELECT unnest($2::text[]))
    UNION ALL SELECT o.uid, 'org ' || o.name FROM organizations o
     WHERE o.id = $1 AND o.uid IN (SELECT unnest($2::text[]))";

/// Fills each event's `target_name` from [`TARGET_NAMES`].
async fn name_targets(
    conn: &mut sqlx::PgConnection,
    org_id: i64,
    items: &mut [AuditEvent],
) -> StoreResult<()> {
    let ids = crate::store::admin_types::audit_targets(items);
    if ids.is_empty() {
        return Ok(());
    }
    let rows: Vec<(String, String)> = sqlx::query_as(TARGET_NAMES)
        .bind(org_id)
        .bind(ids)
        .fetch_all(conn)
        .await
        .map_err(db_err)?;
    crate::store::admin_types::name_audit_targets(items, rows);
    Ok(())
}

/// A jsonb column read as text (`col::text`), as a JSON value.
pub(super) fn json_col(row: &PgRow, col: &str) -> StoreResult<Option<Value>> {
    let text: Option<String> = row.try_get(col).map_err(db_err)?;
    Ok(text.map(|t| serde_json::from_str(&t).unwrap_or(Value::String(t))))
}

pub(super) async fn list_audit(
    store: &PgStore,
    org_id: i64,
    q: AuditQuery<'_>,
) -> StoreResult<CursorPage<AuditEvent>> {
    let (filter, binds) = audit_filter(&q);
    let count_sql = format!("SELECT count(*) FROM audit_log WHERE {filter}");
    let mut count = sqlx::query_scalar::<_, i64>(AssertSqlSafe(count_sql)).bind(org_id);
    for b in &binds {
        count = count.bind(b);
    }
    let total = count.fetch_one(store.pool()).await.map_err(db_err)?;
    let n = binds.len() + 2;
    let page_sql = format!(
        "SELECT id, at, actor, action, target, before::text AS before, after::text AS after
         FROM audit_log WHERE {filter} AND id < ${n} ORDER BY id DESC LIMIT ${}",
        n + 1
    );
    let mut page = sqlx::query(AssertSqlSafe(page_sql)).bind(org_id);
    for b in &binds {
        page = page.bind(b);
    }
    let rows = page
        .bind(q.before_id.unwrap_or(i64::MAX))
        .bind(q.limit as i64 + 1)
        .fetch_all(store.pool())
        .await
        .map_err(db_err)?;
    let mut items = Vec::with_capacity(rows.len());
    for r in rows.iter().take(q.limit as usize) {
        items.push(AuditEvent {
            id: r.try_get("id").map_err(db_err)?,
            at: r.try_get("at").map_err(db_err)?,
            actor: r.try_get("actor").map_err(db_err)?,
            action: r.try_get("action").map_err(db_err)?,
            target: r.try_get("target").map_err(db_err)?,
            target_name: None,
            before: json_col(r, "before")?,
            after: json_col(r, "after")?,
        });
    }
    name_targets(
        &mut *store.pool().acquire().await.map_err(db_err)?,
        org_id,
        &mut items,
    )
    .await?;
    let next = (rows.len() as u64 > q.limit)
        .then(|| items.last().map(|e| e.id.to_string()))
        .flatten();
    Ok(CursorPage {
        items,
        total: total as u64,
        next,
    })
}

pub(super) async fn list_admin_tokens(
    store: &PgStore,
    org_id: i64,
    limit: u64,
    cursor: Option<&str>,
) -> StoreResult<CursorPage<AdminTokenInfo>> {
    seq_page(
        store,
        "SELECT count(*) FROM admin_tokens t JOIN memberships m ON m.id = t.membership_id
         WHERE m.org_id = $1 AND t.revoked_at IS NULL",
        "SELECT t.seq, t.id, t.label, t.created_at, t.last_used_at, a.email
         FROM admin_tokens t
         JOIN memberships m ON m.id = t.membership_id
         JOIN accounts a ON a.id = m.account_id
         WHERE m.org_id = $1 AND t.revoked_at IS NULL AND t.seq > $2
         ORDER BY t.seq LIMIT $3",
        (org_id, limit, cursor),
        |r| {
            Ok(AdminTokenInfo {
                id: r.try_get("id")?,
                label: r.try_get("label")?,
                email: r.try_get("email")?,
                created_at: r.try_get("created_at")?,
                last_used_at: r.try_get("last_used_at")?,
            })
        },
    )
    .await
}

/// A page of an org's rows in `seq` order (the token lists), the cursor being the `seq` of
/// the last row seen. `count_sql` counts the org's rows (`$1`); `page_sql` reads its rows
/// after seq `$2`, at most `$3`, with the sequence in a column `seq`.
pub(super) async fn seq_page<T>(
    store: &PgStore,
    count_sql: &'static str,
    page_sql: &'static str,
    (org_id, limit, cursor): (i64, u64, Option<&str>),
    item: impl Fn(&PgRow) -> Result<T, sqlx::Error>,
) -> StoreResult<CursorPage<T>> {
    let after = match cursor {
        None => 0,
        Some(c) => c.parse::<i64>().map_err(|_| StoreError::bad_cursor())?,
    };
    let total: i64 = sqlx::query_scalar(count_sql)
        .bind(org_id)
        .fetch_one(store.pool())
        .await
        .map_err(db_err)?;
    let rows = sqlx::query(page_sql)
        .bind(org_id)
        .bind(after)
        .bind(limit as i64 + 1)
        .fetch_all(store.pool())
        .await
        .map_err(db_err)?;
    let mut items = Vec::new();
    let mut last = 0i64;
    for r in rows.iter().take(limit as usize) {
        last = r.try_get("seq").map_err(db_err)?;
        items.push(item(r).map_err(db_err)?);
    }
    let next = (rows.len() as u64 > limit).then(|| last.to_string());
    Ok(CursorPage {
        items,
        total: total as u64,
        next,
    })
}

pub(super) async fn revoke_admin_token(
    store: &PgStore,
    org_id: i64,
    token_id: &str,
    actor: &str,
) -> StoreResult<bool> {
    let mut tx = store.begin().await?;
    // A conditional update: of two replicas revoking at once, one revokes and audits.
    let row = sqlx::query(
        "UPDATE admin_tokens t SET revoked_at = $1
         FROM memberships m JOIN accounts a ON a.id = m.account_id
         WHERE t.id = $2 AND m.id = t.membership_id AND m.org_id = $3 AND t.revoked_at IS NULL
         RETURNING t.label, a.email",
    )
    .bind(datetime::now_rfc3339())
    .bind(token_id)
    .bind(org_id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?;
    let Some(row) = row else {
        return Ok(false);
    };
    let label: String = row.try_get("label").map_err(db_err)?;
    let email: String = row.try_get("email").map_err(db_err)?;
    audit(
        &mut tx,
        org_id,
        actor,
        "admin_token.revoke",
        Some(token_id),
        Some(&json!({"id": token_id, "label": label, "email": email})),
        None,
    )
    .await?;
    tx.commit().await.map_err(db_err)?;
    Ok(true)
}
