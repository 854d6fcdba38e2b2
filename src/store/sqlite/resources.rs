//! SCIM Users and Groups in SQLite. A resource row keeps the canonical JSON plus promoted
//! columns (userName, externalId, displayName, active) for uniqueness, filters and sorting;
//! group members are rows of `group_members`.

use super::raw::{self, Arg, Col, Raw};
use super::{SqliteStore, Tx, access, account_for, audit, audit_stmt, db_err};
use crate::domain::approval::ApprovalPolicy;
use crate::scim::cursor::KeyValue;
use crate::scim::datetime;
use crate::scim::filter::{Dialect, Filter, SqlParam, SqlWhere};
use crate::scim::path::AttrPath;
use crate::scim::text::fold_address;
use crate::scim::{ScimError, ScimResult};
use crate::store::access_rules::{self, Cause};
use crate::store::scim_rows::{
    FILTER_TIME_LIMIT, ListOrder, MemberDelta, Promoted, SortKey, Updated, count_kind, created,
    filter_too_costly, group_created_json, promoted, rt, skipped_json, table, taken,
};
use crate::store::secret;
use crate::store::*;
use serde_json::Value;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row, TypeInfo, ValueRef};
use std::collections::{BTreeSet, HashSet};

const COLUMNS: &str = "r.id, r.resource, r.version, r.created_at, r.last_modified";

fn record_from_row(r: &SqliteRow) -> StoreResult<ResourceRecord> {
    let text: String = r.try_get("resource").map_err(db_err)?;
    let resource = serde_json::from_str(&text)
        .map_err(|e| StoreError::Db(format!("stored resource is not JSON: {e}")))?;
    Ok(ResourceRecord {
        id: r.try_get("id").map_err(db_err)?,
        resource,
        version: r.try_get("version").map_err(db_err)?,
        created: r.try_get("created_at").map_err(db_err)?,
        last_modified: r.try_get("last_modified").map_err(db_err)?,
        members: None,
    })
}

async fn load_members<'e, E>(exec: E, group_id: &str) -> StoreResult<Vec<MemberRef>>
where
    E: sqlx::Executor<'e, Database = sqlx::Sqlite>,
{
    // Ids only: members render as value, $ref and type, so no join is needed even for a
    // group of 100,000.
    let ids: Vec<String> =
        sqlx::query_scalar("SELECT user_id FROM group_members WHERE group_id = ? ORDER BY user_id")
            .bind(group_id)
            .fetch_all(exec)
            .await
            .map_err(db_err)?;
    Ok(ids
        .into_iter()
        .map(|id| MemberRef { id, display: None })
        .collect())
}

/// One SCIM resource by org ?1 and id ?2, in [`COLUMNS`] order.
const GET_USER_SQL: &str = "SELECT r.id, r.resource, r.version, r.created_at, r.last_modified
    FROM scim_users r WHERE r.org_id = ?1 AND r.id = ?2";
const GET_GROUP_SQL: &str = "SELECT r.id, r.resource, r.version, r.created_at, r.last_modified
    FROM scim_groups r WHERE r.org_id = ?1 AND r.id = ?2";

fn record_from_cols(c: &[Col]) -> StoreResult<ResourceRecord> {
    let [id, resource, version, created, modified] = c else {
        return Err(StoreError::Db(format!(
            "a resource row of {} columns",
            c.len()
        )));
    };
    Ok(ResourceRecord {
        id: id.text()?.to_string(),
        resource: serde_json::from_str(resource.text()?)
            .map_err(|e| StoreError::Db(format!("stored resource is not JSON: {e}")))?,
        version: version.int()?,
        created: created.text()?.to_string(),
        last_modified: modified.text()?.to_string(),
        members: None,
    })
}

pub(crate) async fn get(
    store: &SqliteStore,
    kind: Kind,
    org_id: i64,
    id: &str,
    with_members: bool,
) -> StoreResult<Option<ResourceRecord>> {
    // A point lookup, on this thread (see `raw::PointReader`); a group's members, which
    // may be 100,000 rows, go through a pooled connection.
    let sql = match kind {
        Kind::User => GET_USER_SQL,
        Kind::Group => GET_GROUP_SQL,
    };
    let rows = store.point_read(sql, &[org_id.into(), id.into()])?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let mut rec = record_from_cols(row)?;
    if kind == Kind::Group && with_members {
        rec.members = Some(load_members(&mut *store.read().await?, id).await?);
    }
    Ok(Some(rec))
}

/// How a list with this sortBy orders its rows (see [`ListOrder`]).
fn list_order(kind: Kind, sort_by: Option<&AttrPath>, descending: bool) -> ScimResult<ListOrder> {
    let Some(path) = sort_by else {
        return Ok(ListOrder {
            expr: None,
            nullable: false,
            descending,
        });
    };
    let key = SortKey::resolve(kind, path)?;
    let nocase = |col: &str| {
        if key.case_exact() {
            col.to_string()
        } else {
            format!("{col} COLLATE NOCASE")
        }
    };
    let (expr, nullable) = match &key {
        // user_name's column is NOCASE already, and so its index.
        SortKey::Column { col, nullable, .. } if *col == "r.user_name" => {
            (col.to_string(), *nullable)
        }
        SortKey::Column { col, nullable, .. } => (nocase(col), *nullable),
        SortKey::Json {
            keys,
            first_value,
            sub,
            ..
        } => {
            // The path's steps are names from the schema, never client text.
            let mut json_path = String::from("$");
            for k in keys {
                json_path.push_str(&format!(".\"{k}\""));
            }
            if *first_value {
                json_path.push_str("[0]");
            }
            if let Some(sub) = sub {
                json_path.push_str(&format!(".\"{sub}\""));
            }
            let literal = format!("'{}'", json_path.replace('\'', "''"));
            (
                nocase(&format!("json_extract(r.resource, {literal})")),
                true,
            )
        }
    };
    Ok(ListOrder {
        expr: Some(expr),
        nullable,
        descending,
    })
}

/// A sort key as SQLite returned it.
fn key_value(row: &SqliteRow, index: usize) -> StoreResult<KeyValue> {
    let raw = row.try_get_raw(index).map_err(db_err)?;
    if raw.is_null() {
        return Ok(KeyValue::Null);
    }
    let type_name = raw.type_info().name().to_string();
    Ok(match type_name.as_str() {
        "INTEGER" => KeyValue::Int(row.try_get(index).map_err(db_err)?),
        "REAL" => KeyValue::Real(row.try_get(index).map_err(db_err)?),
        _ => KeyValue::Text(row.try_get(index).map_err(db_err)?),
    })
}

/// Translates a filter into a WHERE fragment over the row alias `r` (see
/// [`crate::store::scim_rows::translate`]).
pub(crate) fn translate(kind: Kind, filter: &Filter) -> ScimResult<SqlWhere> {
    crate::store::scim_rows::translate(kind, filter, Dialect::Sqlite)
}

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
    params: &[SqlParam],
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
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

/// A failed read on a reader with a time limit: the cost bound's refusal when the limit had
/// passed, the database's error otherwise.
fn limited(e: sqlx::Error, reader: &super::readers::Reader<'_>) -> StoreError {
    if reader.timed_out() {
        filter_too_costly()
    } else {
        db_err(e)
    }
}

pub(crate) async fn list(
    store: &SqliteStore,
    kind: Kind,
    org_id: i64,
    spec: ListSpec<'_>,
) -> StoreResult<ResourcePage> {
    let mut where_sql = String::from("r.org_id = ?");
    let mut params = vec![SqlParam::Int(org_id)];
    if let Some(f) = spec.filter {
        let w = translate(kind, f)?;
        where_sql.push_str(" AND (");
        where_sql.push_str(&w.sql);
        where_sql.push(')');
        params.extend(w.params);
    }
    // Unfiltered, the trigger-kept count answers; filtered, the query counts.
    let total: i64 = if spec.filter.is_none() {
        sqlx::query_scalar(
            "SELECT coalesce(max(n), 0) FROM resource_counts WHERE org_id = ? AND kind = ?",
        )
        .bind(org_id)
        .bind(count_kind(kind))
        .fetch_one(&mut *store.read().await?)
        .await
        .map_err(db_err)?
    } else {
        let count_sql = format!("SELECT count(*) FROM {} r WHERE {where_sql}", table(kind));
        let mut r = store.read().await?.limit_time(FILTER_TIME_LIMIT);
        bind_all(sqlx::query(AssertSqlSafe(count_sql)), &params)
            .fetch_one(&mut *r)
            .await
            .map_err(|e| limited(e, &r))?
            .try_get(0)
            .map_err(db_err)?
    };
    let empty = |total: i64| ResourcePage {
        items: Vec::new(),
        total: total as u64,
        keys: Vec::new(),
    };
    if spec.limit == 0 || spec.offset >= total as u64 {
        return Ok(empty(total));
    }
    let order = list_order(kind, spec.sort_by, spec.descending)?;
    let backward = spec.seek.is_some_and(|s| s.backward);
    if let Some(at) = spec.seek.and_then(|s| s.at) {
        let mut bind = |p: SqlParam, _key: bool| {
            params.push(p);
            "?".to_string()
        };
        let branches = order.seek(at, backward, &mut bind);
        where_sql.push_str(&format!(" AND (({}))", branches.join(") OR (")));
    }
    params.push(SqlParam::Int(spec.limit.min(i64::MAX as u64) as i64));
    params.push(SqlParam::Int(spec.offset.min(i64::MAX as u64) as i64));
    // The page's rowids (and sort keys) first, from the index alone where the order allows
    // (skipping `offset` entries is then cheap), then those rows, put back in page order.
    let key_col = order.expr.as_deref().unwrap_or("NULL");
    let ids_sql = format!(
        "SELECT r.rowid, {key_col} FROM {} r WHERE {where_sql} ORDER BY {} LIMIT ? OFFSET ?",
        table(kind),
        order.order_by(Dialect::Sqlite, backward)
    );
    let mut r = store.read().await?;
    if spec.filter.is_some() {
        r = r.limit_time(FILTER_TIME_LIMIT);
    }
    let page_rows = bind_all(sqlx::query(AssertSqlSafe(ids_sql)), &params)
        .fetch_all(&mut *r)
        .await
        .map_err(|e| limited(e, &r))?;
    drop(r);
    let mut rowids = Vec::with_capacity(page_rows.len());
    let mut keys = Vec::with_capacity(page_rows.len());
    for row in &page_rows {
        rowids.push(row.try_get::<i64, _>(0).map_err(db_err)?);
        keys.push(key_value(row, 1)?);
    }
    if rowids.is_empty() {
        return Ok(empty(total));
    }
    let marks = vec!["?"; rowids.len()].join(", ");
    let rows_sql = format!(
        "SELECT r.rowid AS page_rowid, {COLUMNS} FROM {} r WHERE r.rowid IN ({marks})",
        table(kind)
    );
    let mut q = sqlx::query(AssertSqlSafe(rows_sql));
    for id in &rowids {
        q = q.bind(*id);
    }
    let mut rows = q
        .fetch_all(&mut *store.read().await?)
        .await
        .map_err(db_err)?;
    let position: std::collections::HashMap<i64, usize> =
        rowids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    rows.sort_by_key(|r| {
        r.try_get::<i64, _>("page_rowid")
            .ok()
            .and_then(|id| position.get(&id).copied())
            .unwrap_or(usize::MAX)
    });
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut rec = record_from_row(row)?;
        if kind == Kind::Group && spec.with_members {
            rec.members = Some(load_members(&mut *store.read().await?, &rec.id).await?);
        }
        items.push(rec);
    }
    // A row deleted between the two reads is left out, and its key with it.
    if items.len() != keys.len() {
        let found: HashSet<i64> = rows
            .iter()
            .filter_map(|r| r.try_get::<i64, _>("page_rowid").ok())
            .collect();
        keys = rowids
            .iter()
            .zip(keys)
            .filter(|(id, _)| found.contains(id))
            .map(|(_, k)| k)
            .collect();
    }
    Ok(ResourcePage {
        items,
        total: total as u64,
        keys,
    })
}

async fn user_name_taken(
    tx: &mut Tx,
    org_id: i64,
    user_name: &str,
    except: Option<&str>,
) -> StoreResult<bool> {
    let other: Option<String> =
        sqlx::query_scalar("SELECT id FROM scim_users WHERE org_id = ? AND user_name = ?")
            .bind(org_id)
            .bind(user_name)
            .fetch_optional(&mut **tx)
            .await
            .map_err(db_err)?;
    Ok(other.is_some_and(|id| Some(id.as_str()) != except))
}

async fn add_members(
    tx: &mut Tx,
    org_id: i64,
    group_id: &str,
    ids: &[String],
    delta: &mut MemberDelta,
) -> StoreResult<()> {
    let mut seen = HashSet::new();
    for id in ids {
        if !seen.insert(id.as_str()) {
            continue;
        }
        let r = sqlx::query(
            "INSERT OR IGNORE INTO group_members (group_id, user_id)
             SELECT ?, id FROM scim_users WHERE org_id = ? AND id = ?",
        )
        .bind(group_id)
        .bind(org_id)
        .bind(id)
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
        if r.rows_affected() > 0 {
            delta.added.push(id.clone());
            continue;
        }
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM scim_users WHERE org_id = ? AND id = ?")
                .bind(org_id)
                .bind(id)
                .fetch_optional(&mut **tx)
                .await
                .map_err(db_err)?;
        if exists.is_none() {
            delta.skipped.push(id.clone());
        }
    }
    Ok(())
}

async fn remove_members(
    tx: &mut Tx,
    group_id: &str,
    ids: &[String],
    delta: &mut MemberDelta,
) -> StoreResult<()> {
    for id in ids {
        let r = sqlx::query("DELETE FROM group_members WHERE group_id = ? AND user_id = ?")
            .bind(group_id)
            .bind(id)
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
        if r.rows_affected() > 0 {
            delta.removed.push(id.clone());
            delta.removed_count += 1;
        }
    }
    Ok(())
}

async fn apply_member_ops(
    tx: &mut Tx,
    org_id: i64,
    group_id: &str,
    ops: &[MemberOp],
) -> StoreResult<MemberDelta> {
    let mut delta = MemberDelta::default();
    for op in ops {
        match op {
            MemberOp::Add(ids) => add_members(tx, org_id, group_id, ids, &mut delta).await?,
            MemberOp::Remove(ids) => remove_members(tx, group_id, ids, &mut delta).await?,
            MemberOp::RemoveAll => {
                let gone: Vec<String> = sqlx::query_scalar(
                    "DELETE FROM group_members WHERE group_id = ? RETURNING user_id",
                )
                .bind(group_id)
                .fetch_all(&mut **tx)
                .await
                .map_err(db_err)?;
                delta.removed_count += gone.len() as u64;
                delta.cleared.extend(gone);
            }
            MemberOp::ReplaceAll(ids) => {
                // Touch only the difference, so a PUT that repeats the member list rewrites
                // nothing.
                let current: Vec<String> =
                    sqlx::query_scalar("SELECT user_id FROM group_members WHERE group_id = ?")
                        .bind(group_id)
                        .fetch_all(&mut **tx)
                        .await
                        .map_err(db_err)?;
                let wanted: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
                let gone: Vec<String> = current
                    .iter()
                    .filter(|c| !wanted.contains(c.as_str()))
                    .cloned()
                    .collect();
                remove_members(tx, group_id, &gone, &mut delta).await?;
                let have: HashSet<&str> = current.iter().map(String::as_str).collect();
                let new: Vec<String> = ids
                    .iter()
                    .filter(|i| !have.contains(i.as_str()))
                    .cloned()
                    .collect();
                add_members(tx, org_id, group_id, &new, &mut delta).await?;
            }
        }
    }
    Ok(delta)
}

async fn audit_skipped(
    tx: &mut Tx,
    org_id: i64,
    actor: &str,
    group_id: &str,
    skipped: &[String],
) -> StoreResult<()> {
    if skipped.is_empty() {
        return Ok(());
    }
    audit(
        tx,
        org_id,
        actor,
        "scim.group.members_skipped",
        Some(group_id),
        None,
        Some(&skipped_json(skipped)),
    )
    .await
}

/// Parameters: ?1 userName (the email), ?2 now, ?3 a new membership id, ?4 org,
/// ?5 externalId, ?6 displayName, ?7 active, ?8 the resource, ?9 the userName folded (the
/// account's key, see `scim::text::fold_address`). Returns two rows: the SCIM User
/// id (the membership's) with whether the membership is the one just inserted (its id is ?3),
/// then the org's approval policy. A new membership starts pending: `access::reconcile`
/// decides its state.
const CREATE_USER_SQL: &str = "
    INSERT INTO accounts (email, email_key, created_at) VALUES (?1, ?9, ?2)
      ON CONFLICT (email_key) DO NOTHING;
    INSERT INTO memberships (id, org_id, account_id, role, state, source, created_at, updated_at)
      SELECT ?3, ?4, a.id, 'member', 'pending', 'scim', ?2, ?2 FROM accounts a
      WHERE a.email_key = ?9
      ON CONFLICT (org_id, account_id) DO UPDATE SET updated_at = excluded.updated_at;
    INSERT INTO scim_users (id, org_id, user_name, external_id, display_name, active,
        resource, version, created_at, last_modified)
      SELECT m.id, ?4, ?1, ?5, ?6, ?7, ?8, 1, ?2, ?2
      FROM memberships m JOIN accounts a ON a.id = m.account_id
      WHERE m.org_id = ?4 AND a.email_key = ?9
      RETURNING id, id = ?3;
    SELECT approval_provision, approval_access_increase, approval_deprovision
      FROM organizations WHERE id = ?4";

/// Why the direct create of a SCIM User (see [`create_user_direct`]) did not finish.
enum Direct {
    Failed(StoreError),
    /// The email already had a membership in this org: provisioning it again reads it back,
    /// which the general path does.
    Relink,
}

impl From<StoreError> for Direct {
    fn from(e: StoreError) -> Direct {
        Direct::Failed(e)
    }
}

/// The arguments of [`CREATE_USER_SQL`] for a new SCIM User, with a new membership id.
fn create_user_args(org_id: i64, p: &Promoted, text: &str, now: &str) -> Vec<Arg> {
    vec![
        p.name.as_str().into(),
        now.into(),
        secret::new_uuid().into(),
        org_id.into(),
        p.external_id.clone().into(),
        p.display_name.clone().into(),
        p.active.into(),
        text.into(),
        crate::scim::text::fold_address(&p.name).into(),
    ]
}

/// Runs [`CREATE_USER_SQL`]: the SCIM User's id, whether its membership was just inserted,
/// and the org's approval policy. A taken userName is a 409 naming it.
fn insert_user(
    raw: &mut Raw,
    args: &[Arg],
    name: &str,
) -> StoreResult<(String, bool, ApprovalPolicy)> {
    let rows = raw.query(CREATE_USER_SQL, args).map_err(|e| match e {
        StoreError::Conflict(_) => taken(name),
        other => other,
    })?;
    let [user, org] = rows.as_slice() else {
        return Err(StoreError::Db(format!(
            "a user create returned {} rows, not 2",
            rows.len()
        )));
    };
    let policy = ApprovalPolicy {
        provision: org[0].bool()?,
        access_increase: org[1].bool()?,
        deprovision: org[2].bool()?,
    };
    Ok((user[0].text()?.to_string(), user[1].bool()?, policy))
}

/// Creates a SCIM User for an email that has no membership in the org yet, the common case,
/// as one job on the write connection's handle: no thread hand-off per statement. Returns
/// its id; [`Direct::Relink`] (with nothing written) when the membership existed.
async fn create_user_direct(
    store: &SqliteStore,
    org_id: i64,
    p: &Promoted,
    text: &str,
    now: &str,
    actor: &str,
) -> Result<String, Direct> {
    let args = create_user_args(org_id, p, text, now);
    let (name, active, text, now, actor) = (
        p.name.clone(),
        p.active,
        text.to_string(),
        now.to_string(),
        actor.to_string(),
    );
    store
        .run(move |raw| {
            // What can stop the create is read first, so that it fails before writing
            // anything (a job that fails after writing makes the writer redo its batch).
            let found = raw.query(CREATE_USER_PROBE_SQL, &args)?;
            let taken_now = found.first().and_then(|r| r.first()).map(Col::bool);
            let member = found.first().and_then(|r| r.get(1)).map(Col::bool);
            if taken_now.transpose()?.unwrap_or(false) {
                return Err(taken(&name).into());
            }
            if member.transpose()?.unwrap_or(false) {
                return Err(Direct::Relink);
            }
            let (id, fresh, policy) = insert_user(raw, &args, &name)?;
            if !fresh {
                return Err(Direct::Relink);
            }
            for s in access::reconcile_new(org_id, &id, active, &policy, &actor, &now)? {
                raw.run(&s)?;
            }
            raw.run(&audit_stmt(
                org_id,
                &actor,
                "scim.user.create",
                Some(&id),
                None,
                Some(text.clone()),
            ))?;
            Ok(id)
        })
        .await
}

/// Whether userName ?1 is taken in org ?4, and whether its account (key ?9, the userName
/// folded) has a membership there: [`CREATE_USER_SQL`]'s arguments, so the key is folded once.
const CREATE_USER_PROBE_SQL: &str = "
    SELECT EXISTS (SELECT 1 FROM scim_users WHERE org_id = ?4 AND user_name = ?1),
           EXISTS (SELECT 1 FROM memberships m JOIN accounts a ON a.id = m.account_id
                   WHERE m.org_id = ?4 AND a.email_key = ?9)";

pub(crate) async fn create(
    store: &SqliteStore,
    kind: Kind,
    org_id: i64,
    resource: Value,
    members: Vec<String>,
    actor: &str,
) -> StoreResult<WriteOutcome> {
    let p = promoted(kind, &resource)?;
    let now = datetime::now_rfc3339();
    let text = resource.to_string();
    let outcome = |id: String, skipped: Vec<String>| created(id, resource.clone(), &now, skipped);
    if kind == Kind::User {
        match create_user_direct(store, org_id, &p, &text, &now, actor).await {
            Ok(id) => return Ok(outcome(id, Vec::new())),
            Err(Direct::Failed(e)) => return Err(e),
            Err(Direct::Relink) => {}
        }
    }
    let mut tx = store.begin().await?;
    let mut skipped = Vec::new();
    let id = match kind {
        Kind::User => {
            // The general path, for an email that may have a membership in the org already
            // (the direct create found one; by now it may be gone again).
            //
            // One statement text, run on the connection's handle (one thread hand-off), for
            // three statements: the account of the email (created if missing, emails match in
            // any case), the membership, the SCIM User.
            //
            // Provisioning the same email again links the same account and the same
            // membership, so the SCIM User keeps its id across a deprovision. Memberships made
            // outside SCIM (the owner) keep their state: the IdP cannot lock the owner out.
            // The UNIQUE (org, userName) constraint decides duplicates, racing creates
            // included; the write rolls back with the membership change.
            let args = create_user_args(org_id, &p, &text, &now);
            let (id, fresh, policy) = tx
                .with_raw(|raw| insert_user(raw, &args, &p.name))
                .await??;
            // The membership's state and access follow from the approval rules. A membership
            // just inserted has nothing to read back; one provisioned again (same email) does.
            if fresh {
                let stmts = access::reconcile_new(org_id, &id, p.active, &policy, actor, &now)?;
                raw::run_sqlx(&mut tx, &stmts).await?;
            } else {
                access::reconcile(&mut tx, org_id, std::slice::from_ref(&id), actor).await?;
            }
            audit(
                &mut tx,
                org_id,
                actor,
                "scim.user.create",
                Some(&id),
                None,
                Some(&resource),
            )
            .await?;
            id
        }
        Kind::Group => {
            let id = secret::new_uuid();
            sqlx::query(
                "INSERT INTO scim_groups (id, org_id, display_name, external_id, resource,
                   version, created_at, last_modified)
                 VALUES (?, ?, ?, ?, ?, 1, ?, ?)",
            )
            .bind(&id)
            .bind(org_id)
            .bind(&p.name)
            .bind(&p.external_id)
            .bind(&text)
            .bind(&now)
            .bind(&now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            let mut delta = MemberDelta::default();
            add_members(&mut tx, org_id, &id, &members, &mut delta).await?;
            let after = group_created_json(&resource, &delta);
            audit(
                &mut tx,
                org_id,
                actor,
                "scim.group.create",
                Some(&id),
                None,
                Some(&after),
            )
            .await?;
            audit_skipped(&mut tx, org_id, actor, &id, &delta.skipped).await?;
            skipped = delta.skipped;
            id
        }
    };
    tx.commit().await.map_err(db_err)?;
    Ok(outcome(id, skipped))
}

async fn current(tx: &mut Tx, kind: Kind, org_id: i64, id: &str) -> StoreResult<ResourceRecord> {
    let sql = format!(
        "SELECT {COLUMNS} FROM {} r WHERE r.org_id = ? AND r.id = ?",
        table(kind)
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(org_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
        .map_err(db_err)?;
    match row {
        Some(r) => record_from_row(&r),
        None => Err(StoreError::NotFound(format!(
            "{} {id} not found",
            rt(kind).name
        ))),
    }
}

/// Re-links a membership to the account of a new userName. A membership made outside SCIM is
/// never moved (400 `mutability`); the admin tokens of one that moves are revoked, so that a
/// token issued to one address never acts for another.
async fn relink_account(
    tx: &mut Tx,
    org_id: i64,
    membership_id: &str,
    user_name: &str,
    now: &str,
    actor: &str,
) -> StoreResult<()> {
    let source: Option<String> = sqlx::query_scalar("SELECT source FROM memberships WHERE id = ?")
        .bind(membership_id)
        .fetch_optional(&mut **tx)
        .await
        .map_err(db_err)?;
    if source.as_deref() != Some("scim") {
        return Err(access_rules::manual_rename_refused(user_name));
    }
    let revoked: Vec<(String, String)> = sqlx::query_as(
        "UPDATE admin_tokens SET revoked_at = ? WHERE membership_id = ? AND revoked_at IS NULL
         RETURNING id, label",
    )
    .bind(now)
    .bind(membership_id)
    .fetch_all(&mut **tx)
    .await
    .map_err(db_err)?;
    for (token_id, label) in revoked {
        let before = access_rules::renamed_token_json(&token_id, &label, user_name);
        audit(
            tx,
            org_id,
            actor,
            "admin_token.revoke",
            Some(&token_id),
            Some(&before),
            None,
        )
        .await?;
    }
    let account = account_for(tx, user_name, now).await?;
    let other: Option<String> =
        sqlx::query_scalar("SELECT id FROM memberships WHERE org_id = ? AND account_id = ?")
            .bind(org_id)
            .bind(account)
            .fetch_optional(&mut **tx)
            .await
            .map_err(db_err)?;
    match other {
        Some(o) if o != membership_id => Err(taken(user_name)),
        Some(_) => Ok(()),
        None => {
            sqlx::query("UPDATE memberships SET account_id = ?, updated_at = ? WHERE id = ?")
                .bind(account)
                .bind(now)
                .bind(membership_id)
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
            Ok(())
        }
    }
}

pub(crate) async fn update<F>(
    store: &SqliteStore,
    kind: Kind,
    org_id: i64,
    id: &str,
    load: bool,
    actor: &str,
    decide: F,
) -> StoreResult<WriteOutcome>
where
    F: FnOnce(&ResourceRecord) -> Result<Change, ScimError> + Send,
{
    let mut tx = store.begin().await?;
    let mut rec = current(&mut tx, kind, org_id, id).await?;
    if kind == Kind::Group && load {
        rec.members = Some(load_members(&mut *tx, id).await?);
    }
    let change = decide(&rec)?;
    let now = datetime::now_rfc3339();
    let new_resource = change.resource.filter(|r| *r != rec.resource);
    let mut delta = MemberDelta::default();
    if kind == Kind::Group && !change.members.is_empty() {
        delta = apply_member_ops(&mut tx, org_id, id, &change.members).await?;
        if delta.changed() && access::is_mapped(&mut tx, id).await? {
            access::reconcile(&mut tx, org_id, &delta.affected(), actor).await?;
        }
    }
    let changed = new_resource.is_some() || delta.changed();
    if let Some(new) = &new_resource {
        let p = promoted(kind, new)?;
        match kind {
            Kind::User => {
                let old = promoted(kind, &rec.resource)?;
                let renamed = fold_address(&old.name) != fold_address(&p.name);
                if renamed {
                    if user_name_taken(&mut tx, org_id, &p.name, Some(id)).await? {
                        return Err(taken(&p.name));
                    }
                    relink_account(&mut tx, org_id, id, &p.name, &now, actor).await?;
                }
                sqlx::query(
                    "UPDATE scim_users SET user_name = ?, external_id = ?, display_name = ?,
                       active = ?, resource = ?, version = version + 1, last_modified = ?
                     WHERE id = ?",
                )
                .bind(&p.name)
                .bind(&p.external_id)
                .bind(&p.display_name)
                .bind(p.active)
                .bind(new.to_string())
                .bind(&now)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                if renamed {
                    let ids = [id.to_string()];
                    access::reconcile_as(&mut tx, org_id, &ids, actor, Cause::Rename).await?;
                } else if old.active != p.active {
                    access::reconcile(&mut tx, org_id, &[id.to_string()], actor).await?;
                }
            }
            Kind::Group => {
                sqlx::query(
                    "UPDATE scim_groups SET display_name = ?, external_id = ?, resource = ?,
                       version = version + 1, last_modified = ?
                     WHERE id = ?",
                )
                .bind(&p.name)
                .bind(&p.external_id)
                .bind(new.to_string())
                .bind(&now)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            }
        }
    } else if changed {
        sqlx::query("UPDATE scim_groups SET version = version + 1, last_modified = ? WHERE id = ?")
            .bind(&now)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    let updated = Updated {
        kind,
        before: rec,
        resource: new_resource,
        delta,
        now,
    };
    if let Some((action, after)) = updated.audit() {
        audit(
            &mut tx,
            org_id,
            actor,
            action,
            Some(id),
            Some(&updated.before.resource),
            Some(&after),
        )
        .await?;
    }
    audit_skipped(&mut tx, org_id, actor, id, &updated.delta.skipped).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(updated.outcome())
}

pub(crate) async fn delete<F>(
    store: &SqliteStore,
    kind: Kind,
    org_id: i64,
    id: &str,
    actor: &str,
    check: F,
) -> StoreResult<()>
where
    F: FnOnce(&ResourceRecord) -> Result<(), ScimError> + Send,
{
    let mut tx = store.begin().await?;
    let rec = current(&mut tx, kind, org_id, id).await?;
    check(&rec)?;
    let now = datetime::now_rfc3339();
    match kind {
        Kind::User => {
            // The groups that lose this member change too: their versions move.
            sqlx::query(
                "UPDATE scim_groups SET version = version + 1, last_modified = ?
                 WHERE id IN (SELECT group_id FROM group_members WHERE user_id = ?)",
            )
            .bind(&now)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            sqlx::query("DELETE FROM scim_users WHERE id = ?")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            access::reconcile(&mut tx, org_id, &[id.to_string()], actor).await?;
            audit(
                &mut tx,
                org_id,
                actor,
                "scim.user.delete",
                Some(id),
                Some(&rec.resource),
                None,
            )
            .await?;
        }
        Kind::Group => {
            access::group_deleting(&mut tx, org_id, id, actor).await?;
            sqlx::query("DELETE FROM scim_groups WHERE id = ?")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            audit(
                &mut tx,
                org_id,
                actor,
                "scim.group.delete",
                Some(id),
                Some(&rec.resource),
                None,
            )
            .await?;
        }
    }
    tx.commit().await.map_err(db_err)?;
    Ok(())
}
