//! Reading SCIM Users and Groups on PostgreSQL: one resource, and list pages (filter, sort,
//! index or keyset paging) with their totals.

use super::super::{PgStore, db_err};
use super::members::storable;
use crate::scim::ScimResult;
use crate::scim::cursor::KeyValue;
use crate::scim::filter::{Dialect, SqlParam};
use crate::scim::schema::AttrType;
use crate::store::scim_rows::{
    self, FILTER_TIME_LIMIT, ListOrder, SortKey, count_kind, filter_too_costly, table,
};
use crate::store::*;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::{AssertSqlSafe, PgConnection, Postgres, Row};

/// The columns of a record, over the row alias `r`; a group's member ids follow as an array
/// when asked for.
pub(super) const COLUMNS: &str =
    "r.id, r.resource::text AS resource, r.version, r.created_at, r.last_modified";
pub(super) const MEMBER_IDS: &str = "ARRAY(SELECT gm.user_id FROM group_members gm
    WHERE gm.group_id = r.id ORDER BY gm.user_id) AS member_ids";

pub(super) fn record_from_row(r: &PgRow, with_members: bool) -> StoreResult<ResourceRecord> {
    let text: String = r.try_get("resource").map_err(db_err)?;
    let resource = serde_json::from_str(&text)
        .map_err(|e| StoreError::Db(format!("stored resource is not JSON: {e}")))?;
    let members = if with_members {
        let ids: Vec<String> = r.try_get("member_ids").map_err(db_err)?;
        Some(
            ids.into_iter()
                .map(|id| MemberRef { id, display: None })
                .collect(),
        )
    } else {
        None
    };
    Ok(ResourceRecord {
        id: r.try_get("id").map_err(db_err)?,
        resource,
        version: r.try_get("version").map_err(db_err)?,
        created: r.try_get("created_at").map_err(db_err)?,
        last_modified: r.try_get("last_modified").map_err(db_err)?,
        members,
    })
}

/// `SELECT` of one resource by org $1 and id $2, with its member ids when `with_members`.
pub(super) fn select_one(kind: Kind, with_members: bool, lock: bool) -> String {
    let members = if with_members && kind == Kind::Group {
        format!(", {MEMBER_IDS}")
    } else {
        String::new()
    };
    // A locked group says whether it is mapped: mapping saves lock the group row too, so
    // the answer holds until this write commits.
    let mapped = if lock && kind == Kind::Group {
        ", EXISTS (SELECT 1 FROM group_mappings m WHERE m.group_id = r.id) AS mapped"
    } else {
        ""
    };
    let lock = if lock { " FOR UPDATE" } else { "" };
    format!(
        "SELECT {COLUMNS}{members}{mapped} FROM {} r WHERE r.org_id = $1 AND r.id = $2{lock}",
        table(kind)
    )
}

pub(crate) async fn get(
    store: &PgStore,
    kind: Kind,
    org_id: i64,
    id: &str,
    with_members: bool,
) -> StoreResult<Option<ResourceRecord>> {
    let with_members = with_members && kind == Kind::Group;
    if !storable(id) {
        return Ok(None);
    }
    let row = sqlx::query(AssertSqlSafe(select_one(kind, with_members, false)))
        .bind(org_id)
        .bind(id)
        .fetch_optional(store.pool())
        .await
        .map_err(db_err)?;
    row.map(|r| record_from_row(&r, with_members)).transpose()
}

/// How a list with this sortBy orders its rows (see [`ListOrder`]), as on SQLite; and whether
/// the key is numeric (a cursor's key is then bound back as a number).
pub(super) fn list_order(
    kind: Kind,
    sort_by: Option<&crate::scim::path::AttrPath>,
    descending: bool,
) -> ScimResult<(ListOrder, bool)> {
    let Some(path) = sort_by else {
        let order = ListOrder {
            expr: None,
            nullable: false,
            descending,
        };
        return Ok((order, false));
    };
    let key = SortKey::resolve(kind, path)?;
    let (expr, nullable, numeric) = match &key {
        SortKey::Column {
            col,
            case_exact,
            nullable,
        } => {
            // The promoted text columns are COLLATE "C": lower() folds ASCII letters only,
            // as SQLite's NOCASE does.
            let expr = if *case_exact {
                col.to_string()
            } else {
                format!("lower({col})")
            };
            (expr, *nullable, false)
        }
        SortKey::Json {
            keys,
            first_value,
            sub,
            ty,
            ..
        } => {
            let mut path = String::from("r.resource");
            let mut steps: Vec<String> = keys.iter().map(|k| quoted(k)).collect();
            if *first_value {
                steps.push("0".into());
            }
            steps.extend(sub.map(quoted));
            for (i, step) in steps.iter().enumerate() {
                let op = if i + 1 == steps.len() { "->>" } else { "->" };
                path.push_str(&format!("{op}{step}"));
            }
            let value = format!("({path})");
            match ty {
                // SQLite orders JSON numbers as numbers.
                AttrType::Integer | AttrType::Decimal => (
                    format!(
                        "(CASE WHEN {value} ~ '^-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?$' \
                         THEN {value}::numeric END)"
                    ),
                    true,
                    true,
                ),
                _ if key.case_exact() => (format!("({value} COLLATE \"C\")"), true, false),
                _ => (format!("lower({value} COLLATE \"C\")"), true, false),
            }
        }
    };
    let order = ListOrder {
        expr: Some(expr),
        nullable,
        descending,
    };
    Ok((order, numeric))
}

/// A JSON key as an SQL string literal.
pub(super) fn quoted(key: &str) -> String {
    format!("'{}'", key.replace('\'', "''"))
}

type PgQuery<'q> = sqlx::query::Query<'q, Postgres, PgArguments>;

pub(super) fn bind_all<'q>(mut q: PgQuery<'q>, params: &[SqlParam]) -> PgQuery<'q> {
    for p in params {
        q = match p {
            SqlParam::Null => q.bind(None::<String>),
            SqlParam::Bool(b) => q.bind(*b),
            SqlParam::Int(i) => q.bind(*i),
            SqlParam::Real(f) => q.bind(*f),
            SqlParam::Text(s) => q.bind(s.clone()),
        };
    }
    q
}

pub(crate) async fn list(
    store: &PgStore,
    kind: Kind,
    org_id: i64,
    spec: ListSpec<'_>,
) -> StoreResult<ResourcePage> {
    // The filter's parameters come first ($1...), then the org, the seek, limit and offset.
    let (filter_sql, mut params) = match spec.filter {
        Some(f) => {
            let w = scim_rows::translate(kind, f, Dialect::Postgres)?;
            (format!(" AND ({})", w.sql), w.params)
        }
        None => (String::new(), Vec::new()),
    };
    let org = params.len() + 1;
    params.push(SqlParam::Int(org_id));
    let from = format!("{} r WHERE r.org_id = ${org}{filter_sql}", table(kind));
    // Unfiltered, the trigger-kept counts answer; filtered, the query counts.
    let total_sql = if spec.filter.is_none() {
        params.push(SqlParam::Text(count_kind(kind).into()));
        format!(
            "SELECT coalesce(sum(n), 0)::bigint FROM resource_counts
             WHERE org_id = ${org} AND kind = ${}",
            params.len()
        )
    } else {
        format!("SELECT count(*) FROM {from}")
    };
    // A filtered read runs in a read-only transaction whose statements stop at the cost
    // bound (SET LOCAL ends with it, whichever way it ends).
    let mut pooled = store.pool().acquire().await.map_err(db_err)?;
    let mut limited;
    let conn: &mut PgConnection = if spec.filter.is_some() {
        limited = sqlx::Connection::begin(&mut *pooled)
            .await
            .map_err(db_err)?;
        sqlx::query(AssertSqlSafe(format!(
            "SET LOCAL statement_timeout = {}",
            FILTER_TIME_LIMIT.as_millis()
        )))
        .execute(&mut *limited)
        .await
        .map_err(db_err)?;
        &mut limited
    } else {
        &mut pooled
    };
    if spec.limit == 0 {
        return Ok(ResourcePage {
            items: Vec::new(),
            total: count_matches(conn, &total_sql, &params).await?,
            keys: Vec::new(),
        });
    }
    let (order, numeric) = list_order(kind, spec.sort_by, spec.descending)?;
    let backward = spec.seek.is_some_and(|s| s.backward);
    let order_by = order.order_by(Dialect::Postgres, backward);
    let mut page_params = params.clone();
    let mut branches = vec![String::new()];
    if let Some(at) = spec.seek.and_then(|s| s.at) {
        let mut bind = |p: SqlParam, key: bool| {
            page_params.push(p);
            let cast = if key && numeric { "::numeric" } else { "" };
            format!("${}{cast}", page_params.len())
        };
        branches = order
            .seek(at, backward, &mut bind)
            .into_iter()
            .map(|b| format!(" AND ({b})"))
            .collect();
    }
    let with_members = kind == Kind::Group && spec.with_members;
    let members = if with_members {
        format!(", {MEMBER_IDS}")
    } else {
        String::new()
    };
    let key_col = order.expr.as_deref().unwrap_or("NULL");
    page_params.push(SqlParam::Int(spec.limit.min(i64::MAX as u64) as i64));
    page_params.push(SqlParam::Int(spec.offset.min(i64::MAX as u64) as i64));
    let n = page_params.len();
    // One round trip for the page and its total: the count runs once, as an init plan. The
    // page's ids come first, from the index alone where the order allows (PostgreSQL would
    // compute every column of each row that OFFSET skips), then those rows, in page order.
    // A seek in several branches (see `ListOrder::seek`) reads each through its index and
    // keeps the first `limit` of their union; a seek never comes with an offset.
    let limit = format!("${}", n - 1);
    let ids = match branches.as_slice() {
        [one] => {
            format!("SELECT r.id FROM {from}{one} ORDER BY {order_by} LIMIT {limit} OFFSET ${n}")
        }
        several => {
            debug_assert_eq!(spec.offset, 0);
            let union: Vec<String> = several
                .iter()
                .map(|b| {
                    format!(
                        "(SELECT r.id, {key_col} AS k FROM {from}{b} ORDER BY {order_by} LIMIT {limit})"
                    )
                })
                .collect();
            let outer_order = order_by.replace(key_col, "s.k").replace("r.id", "s.id");
            format!(
                "SELECT s.id FROM ({}) s ORDER BY {outer_order} LIMIT {limit}",
                union.join(" UNION ALL ")
            )
        }
    };
    let sql = format!(
        "SELECT ({total_sql}) AS page_total, {COLUMNS}{members}, ({key_col})::text AS sort_key
         FROM {} r WHERE r.id IN ({ids})
         ORDER BY {order_by}",
        table(kind),
    );
    let rows = bind_all(sqlx::query(AssertSqlSafe(sql)), &page_params)
        .fetch_all(&mut *conn)
        .await
        .map_err(limited_err)?;
    let total = match rows.first() {
        Some(r) => r.try_get::<i64, _>("page_total").map_err(db_err)?.max(0) as u64,
        // Past the end, or nothing matches: only then is the count asked for alone.
        None if spec.offset == 0 && spec.filter.is_some() && spec.seek.is_none() => 0,
        None => count_matches(conn, &total_sql, &params).await?,
    };
    let items = rows
        .iter()
        .map(|r| record_from_row(r, with_members))
        .collect::<StoreResult<Vec<_>>>()?;
    let keys = rows
        .iter()
        .map(|r| {
            let key: Option<String> = r.try_get("sort_key").map_err(db_err)?;
            Ok(key.map_or(KeyValue::Null, KeyValue::Text))
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(ResourcePage { items, total, keys })
}

/// A failed read: the cost bound's refusal when PostgreSQL cancelled the statement at its
/// time limit (SQLSTATE 57014), the database's error otherwise.
fn limited_err(e: sqlx::Error) -> StoreError {
    let cancelled = e
        .as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|c| c == "57014");
    if cancelled {
        filter_too_costly()
    } else {
        db_err(e)
    }
}

pub(super) async fn count_matches(
    conn: &mut PgConnection,
    sql: &str,
    params: &[SqlParam],
) -> StoreResult<u64> {
    let total: i64 = bind_all(sqlx::query(AssertSqlSafe(sql.to_string())), params)
        .fetch_one(conn)
        .await
        .map_err(limited_err)?
        .try_get(0)
        .map_err(db_err)?;
    Ok(total.max(0) as u64)
}
