//! The PostgreSQL store: the same [`Store`] as SQLite's, for several `serve` replicas on one
//! database. Nothing here keeps state between requests that another replica could change:
//! what must hold across replicas (unique userNames, group members, approval versions, token
//! revocation, counts) is held by the database, through constraints, row locks
//! (`SELECT ... FOR UPDATE`) and conditional updates, inside one transaction per write.
//!
//! Connections come from one sqlx pool per process. A connection that PostgreSQL dropped (a
//! restart) fails the request it was lent to with [`StoreError::Unavailable`] (HTTP 503 with
//! `Retry-After`), and the pool opens fresh ones for the next requests.

mod access;
mod access_admin;
mod access_members;
mod admin;
mod export;
mod orgs;
mod resources;
mod statistics;

use orgs::{ORG_COLUMNS, org_from_row};

use super::*;
use crate::scim::datetime;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool, Postgres};
use std::time::Duration;

/// Migrations in version order; the schema starts at 6, the version SQLite's migrations
/// reach, so that both engines share one version line (see `0006_schema.sql`).
const MIGRATIONS: &[(i64, &str)] = &[
    (6, include_str!("migrations/0006_schema.sql")),
    (7, include_str!("migrations/0007_audit_history.sql")),
    (8, include_str!("migrations/0008_unique_names.sql")),
    (
        9,
        include_str!("migrations/0009_audit_ids_and_address_keys.sql"),
    ),
];

/// The schema version this binary migrates to; SQLite's migrations end at the same one (a
/// test checks it).
pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// Connections per process. A replica on a 2-core machine gains nothing from more; several
/// replicas share PostgreSQL's `max_connections` (100 by default).
const POOL_SIZE: u32 = 16;

/// How long a request waits for a pooled connection (or for a new one to open) before it is
/// answered 503: while PostgreSQL restarts, requests fail fast instead of hanging.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// Serializes migrations when several replicas start at once.
const MIGRATION_LOCK: i64 = 0x5c1d_de5c;

#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PgStore")
    }
}

/// A write in progress. Dropping it rolls back.
pub(crate) type PgTx = sqlx::Transaction<'static, Postgres>;

/// Maps a PostgreSQL failure to what the server answers: a unique violation is a conflict;
/// text with a NUL character is refused as bad input; a
/// connection that is gone, a pool that is exhausted, a server shutting down and a deadlock
/// or serialization failure that PostgreSQL broke are [`StoreError::Unavailable`] (the
/// client may retry); anything else is a database error.
pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) => {
            if d.is_unique_violation() {
                return StoreError::Conflict(
                    "a resource with the same unique value already exists".into(),
                );
            }
            let code = d.code().unwrap_or_default();
            // 22021 (a text parameter), 22P05 (a JSON string): PostgreSQL's text cannot hold
            // the NUL character, which SQLite stores; refused as bad input, never a 500.
            if matches!(&*code, "22021" | "22P05") {
                return StoreError::Rejected(crate::scim::ScimError::invalid_value(
                    "text with a NUL character (\\u0000) cannot be stored",
                ));
            }
            // 08: connection exception; 57P01-03: admin or crash shutdown, cannot connect
            // now; 53300: too many connections; 40001/40P01: serialization failure, deadlock.
            if code.starts_with("08")
                || matches!(
                    &*code,
                    "57P01" | "57P02" | "57P03" | "53300" | "40001" | "40P01"
                )
            {
                return StoreError::Unavailable(e.to_string());
            }
            StoreError::Db(e.to_string())
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => StoreError::Unavailable(e.to_string()),
        _ => StoreError::Db(e.to_string()),
    }
}

/// What `serve` says when PostgreSQL cannot be reached at start.
fn unreachable(url: &str, e: &sqlx::Error) -> StoreError {
    StoreError::Unavailable(format!(
        "cannot reach PostgreSQL at {}: {e}. Check that the server runs and accepts \
         connections from this host, and the URL's user, host, port and database \
         (--db postgres://USER@HOST:PORT/DB or SCIMDESK_DATABASE_URL)",
        DbTarget::Postgres(url.to_string()).redacted()
    ))
}

impl PgStore {
    /// Connects to `url` and migrates the database. An unreachable server, a schema newer
    /// than this binary, or a database the user may not create tables in is refused with a
    /// message that says what to do.
    pub async fn open(url: &str) -> StoreResult<PgStore> {
        let opts: PgConnectOptions = url.parse().map_err(|e| {
            StoreError::Db(format!(
                "'{}' is not a PostgreSQL URL ({e}): write postgres://USER@HOST:PORT/DB",
                DbTarget::Postgres(url.to_string()).redacted()
            ))
        })?;
        let opts = opts.application_name("scimdesk");
        // A connection of its own first, so that a refused connection, a wrong password or a
        // missing database is named as such (the pool would only say it timed out).
        let mut conn = tokio::time::timeout(ACQUIRE_TIMEOUT, PgConnection::connect_with(&opts))
            .await
            .map_err(|_| unreachable(url, &sqlx::Error::Io(std::io::ErrorKind::TimedOut.into())))?
            .map_err(|e| unreachable(url, &e))?;
        migrate(&mut conn).await?;
        let _ = conn.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .min_connections(0)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // A ping per request would cost a round trip on every request; a connection that
            // PostgreSQL dropped fails its next query instead, and is replaced.
            .test_before_acquire(false)
            .idle_timeout(Some(Duration::from_secs(300)))
            .connect_lazy_with(opts);
        statistics::spawn(pool.clone());
        let store = PgStore { pool };
        Ok(store)
    }

    /// Closes every connection of the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Begins a write: everything done through the returned transaction commits together, or
    /// not at all.
    pub(crate) async fn begin(&self) -> StoreResult<PgTx> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        if let Some(acting) = crate::store::acting::current() {
            let live: Option<i32> = sqlx::query_scalar(sqlx::AssertSqlSafe(acting.check_sql(true)))
                .bind(&acting.id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
            if live.is_none() {
                return Err(crate::store::acting::revoked());
            }
        }
        Ok(tx)
    }

    /// The access the org's group mappings imply for every SCIM User in at least one mapped
    /// group (see `SqliteStore::org_effective_access`).
    pub async fn org_effective_access(
        &self,
        org_id: i64,
    ) -> StoreResult<std::collections::HashMap<String, crate::domain::access::Access>> {
        access::org_effective_access(self, org_id).await
    }

    /// The pool, for reads that need no transaction.
    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// The schema version recorded in the database, `None` for a database scimdesk never
/// migrated.
async fn schema_version(conn: &mut sqlx::PgConnection) -> StoreResult<Option<i64>> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('scimdesk_schema') IS NOT NULL")
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?;
    if !exists {
        return Ok(None);
    }
    sqlx::query_scalar("SELECT max(version)::bigint FROM scimdesk_schema")
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)
}

async fn migrate(conn: &mut PgConnection) -> StoreResult<()> {
    let mut tx = conn.begin().await.map_err(db_err)?;
    // Replicas starting together wait here for the first to finish migrating.
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    let current = schema_version(&mut tx).await?.unwrap_or(0);
    let latest = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > latest {
        return Err(StoreError::Db(format!(
            "the database is at schema version {current}, newer than this binary knows \
             ({latest}): run the scimdesk release that migrated it, or a newer one"
        )));
    }
    if current == 0 {
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS scimdesk_schema (
                 version     integer PRIMARY KEY,
                 applied_at  timestamptz NOT NULL DEFAULT now())",
        )
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    }
    for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(*sql))
            .execute(&mut *tx)
            .await
            .map_err(|e| match db_err(e) {
                StoreError::Db(m) => StoreError::Db(format!(
                    "migration {version} failed: {m}. The database user needs to create \
                     tables and the pg_trgm extension (PostgreSQL's contrib package) in this \
                     database"
                )),
                other => other,
            })?;
        if *version == 9 {
            fold_address_keys(&mut tx).await?;
        }
        sqlx::query("INSERT INTO scimdesk_schema (version) VALUES ($1)")
            .bind(*version as i32)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    tx.commit().await.map_err(db_err)
}

/// Migration 9's second half: the accounts whose address is not plain ASCII get their folded
/// key (see `store::address_keys`), the oldest first.
async fn fold_address_keys(conn: &mut PgConnection) -> StoreResult<()> {
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, email FROM accounts WHERE email ~ '[^ -~]' ORDER BY id")
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err)?;
    for (id, key) in crate::store::address_keys::placeholders(&rows) {
        sqlx::query("UPDATE accounts SET email_key = $1 WHERE id = $2")
            .bind(key)
            .bind(id)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    for (id, email) in &rows {
        let key = crate::scim::text::fold_address(email);
        sqlx::query(
            "UPDATE accounts SET email_key = $1 WHERE id = $2
               AND NOT EXISTS (SELECT 1 FROM accounts WHERE email_key = $1)",
        )
        .bind(key)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

/// Records an audit event in the write's transaction.
pub(crate) async fn audit(
    conn: &mut sqlx::PgConnection,
    org_id: i64,
    actor: &str,
    action: &str,
    target: Option<&str>,
    before: Option<&Value>,
    after: Option<&Value>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO audit_log (org_id, at, actor, action, target, before, after)
         VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb)",
    )
    .bind(org_id)
    .bind(datetime::now_rfc3339())
    .bind(actor)
    .bind(action)
    .bind(target)
    .bind(before.map(Value::to_string))
    .bind(after.map(Value::to_string))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// The account of an email, created if missing (emails match in any case).
pub(crate) async fn account_for(
    conn: &mut sqlx::PgConnection,
    email: &str,
    now: &str,
) -> StoreResult<i64> {
    // ON CONFLICT DO NOTHING returns no row for an existing account: read it then. Two
    // replicas creating the same account at once both end up with the one that won.
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO accounts (email, email_key, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (email_key) DO NOTHING RETURNING id",
    )
    .bind(email)
    .bind(crate::scim::text::fold_address(email))
    .bind(now)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    match id {
        Some(id) => Ok(id),
        None => sqlx::query_scalar("SELECT id FROM accounts WHERE email_key = $1")
            .bind(crate::scim::text::fold_address(email))
            .fetch_one(&mut *conn)
            .await
            .map_err(db_err),
    }
}

impl ScimStore for PgStore {
    async fn get_resource(
        &self,
        kind: Kind,
        org_id: i64,
        id: &str,
        with_members: bool,
    ) -> StoreResult<Option<ResourceRecord>> {
        resources::get(self, kind, org_id, id, with_members).await
    }

    async fn list_resources(
        &self,
        kind: Kind,
        org_id: i64,
        spec: ListSpec<'_>,
    ) -> StoreResult<ResourcePage> {
        resources::list(self, kind, org_id, spec).await
    }

    async fn create_resources(
        &self,
        org_id: i64,
        items: Vec<NewResource>,
        actor: &str,
    ) -> Vec<StoreResult<WriteOutcome>> {
        resources::create_many(self, org_id, items, actor).await
    }

    async fn create_resource(
        &self,
        kind: Kind,
        org_id: i64,
        resource: Value,
        members: Vec<String>,
        actor: &str,
    ) -> StoreResult<WriteOutcome> {
        resources::create(self, kind, org_id, resource, members, actor).await
    }

    async fn update_resource<F>(
        &self,
        kind: Kind,
        org_id: i64,
        id: &str,
        load_members: bool,
        actor: &str,
        decide: F,
    ) -> StoreResult<WriteOutcome>
    where
        F: FnOnce(&ResourceRecord) -> Result<Change, ScimError> + Send,
    {
        resources::update(self, kind, org_id, id, load_members, actor, decide).await
    }

    async fn delete_resource<F>(
        &self,
        kind: Kind,
        org_id: i64,
        id: &str,
        actor: &str,
        check: F,
    ) -> StoreResult<()>
    where
        F: FnOnce(&ResourceRecord) -> Result<(), ScimError> + Send,
    {
        resources::delete(self, kind, org_id, id, actor, check).await
    }

    async fn provisioning_states(
        &self,
        org_id: i64,
        ids: &[String],
    ) -> StoreResult<std::collections::HashMap<String, access_types::ProvisioningState>> {
        access::provisioning_states(self, org_id, ids).await
    }
}

impl AccessStore for PgStore {
    async fn list_stacks(&self, org_id: i64) -> StoreResult<Vec<access_types::Stack>> {
        access::list_stacks(self, org_id).await
    }

    async fn create_stack(
        &self,
        org_id: i64,
        name: &str,
        actor: &str,
    ) -> StoreResult<access_types::Stack> {
        access::create_stack(self, org_id, name, actor).await
    }

    async fn stack_roles(
        &self,
        org_id: i64,
        stack_uid: &str,
    ) -> StoreResult<Vec<access_types::RoleInfo>> {
        access::stack_roles(self, org_id, stack_uid).await
    }

    async fn create_stack_role(
        &self,
        org_id: i64,
        stack_uid: &str,
        name: &str,
        actor: &str,
    ) -> StoreResult<access_types::RoleInfo> {
        access::create_stack_role(self, org_id, stack_uid, name, actor).await
    }

    async fn rename_stack(
        &self,
        org_id: i64,
        stack_uid: &str,
        name: &str,
        actor: &str,
    ) -> StoreResult<access_types::Stack> {
        access::rename_stack(self, org_id, stack_uid, name, actor).await
    }

    async fn rename_stack_role(
        &self,
        org_id: i64,
        stack_uid: &str,
        role_uid: &str,
        name: &str,
        actor: &str,
    ) -> StoreResult<access_types::RoleInfo> {
        access::rename_stack_role(self, org_id, stack_uid, role_uid, name, actor).await
    }

    async fn list_groups(
        &self,
        org_id: i64,
        filter: Option<&str>,
        limit: u64,
        cursor: Option<&str>,
    ) -> StoreResult<CursorPage<access_types::GroupInfo>> {
        access::list_groups(self, org_id, filter, limit, cursor).await
    }

    async fn get_mapping(
        &self,
        org_id: i64,
        group_id: &str,
    ) -> StoreResult<Option<access_types::Mapping>> {
        access::get_mapping(self, org_id, group_id).await
    }

    async fn set_mapping(
        &self,
        org_id: i64,
        group_id: &str,
        input: Option<&access_types::MappingInput>,
        actor: &str,
    ) -> StoreResult<(Option<access_types::Mapping>, access_types::MappingImpact)> {
        access::set_mapping(self, org_id, group_id, input, actor).await
    }

    async fn preview_mapping(
        &self,
        org_id: i64,
        group_id: &str,
        input: Option<&access_types::MappingInput>,
    ) -> StoreResult<access_types::MappingImpact> {
        access::preview_mapping(self, org_id, group_id, input).await
    }

    async fn list_members(
        &self,
        org_id: i64,
        query: &access_types::MemberQuery,
    ) -> StoreResult<CursorPage<access_types::MemberInfo>> {
        access::list_members(self, org_id, query).await
    }

    async fn member_access(
        &self,
        org_id: i64,
        id: &str,
    ) -> StoreResult<Option<access_types::MemberAccess>> {
        access::member_access(self, org_id, id).await
    }

    async fn remove_member(
        &self,
        org_id: i64,
        id: &str,
        actor: &str,
    ) -> StoreResult<access_types::MemberInfo> {
        access::remove_member(self, org_id, id, actor).await
    }

    async fn list_approvals(
        &self,
        org_id: i64,
        state: Option<crate::domain::approval::RequestState>,
        limit: u64,
        cursor: Option<&str>,
    ) -> StoreResult<CursorPage<access_types::ApprovalRequest>> {
        access::list_approvals(self, org_id, state, limit, cursor).await
    }

    async fn decide_approval(
        &self,
        org_id: i64,
        request_id: &str,
        decision: &access_types::Decision,
        seen_version: u64,
        actor: &str,
    ) -> StoreResult<access_types::DecisionOutcome> {
        access::decide(self, org_id, request_id, decision, seen_version, actor).await
    }
}

impl AuditStore for PgStore {
    async fn list_audit(
        &self,
        org_id: i64,
        q: AuditQuery<'_>,
    ) -> StoreResult<CursorPage<AuditEvent>> {
        admin::list_audit(self, org_id, q).await
    }

    async fn export_rows(
        &self,
        org_id: i64,
        audit_limit: u64,
    ) -> StoreResult<crate::store::export::ExportRows> {
        export::read(self, org_id, audit_limit).await
    }
}

#[cfg(test)]
mod access_tests;
