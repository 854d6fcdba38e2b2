//! The SQLite store: one writer connection, owned by a writer task that commits the writes
//! waiting for it together (group commit, see `writer`), and a small pool of readers, which
//! WAL lets run beside the writer.

pub(crate) mod access;
mod access_admin;
mod admin;
mod export;
mod orgs;

use orgs::{ORG_COLUMNS, org_from_row};
pub(crate) mod raw;
mod readers;
mod resources;
mod stacks;
mod writer;

use super::*;
use crate::scim::datetime;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use sqlx::{AssertSqlSafe, Connection};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Versioned migrations, applied in order inside one transaction; `PRAGMA user_version`
/// records the last one applied.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/0001_init.sql")),
    (2, include_str!("migrations/0002_resource_counts.sql")),
    (3, include_str!("migrations/0003_access.sql")),
    (4, include_str!("migrations/0004_membership_counts.sql")),
    (5, include_str!("migrations/0005_member_search.sql")),
    (
        6,
        include_str!("migrations/0006_member_search_at_commit.sql"),
    ),
    (7, include_str!("migrations/0007_audit_history.sql")),
    (8, include_str!("migrations/0008_unique_names.sql")),
    (
        9,
        include_str!("migrations/0009_audit_ids_and_address_keys.sql"),
    ),
];

/// The schema version this binary migrates to; PostgreSQL's migrations end at the same one.
pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// Run by the writer before every COMMIT: brings the member search index (migrations 5 and
/// 6) up to date for the memberships that the transaction's writes marked stale, in one FTS5
/// write. CROSS JOIN keeps the stale keys as the outer loop (else the planner, without
/// statistics, walks every key); the DELETE looks each stale rowid up.
const BEFORE_COMMIT: &str = "
    DELETE FROM member_search WHERE rowid IN (SELECT k FROM member_search_stale);
    INSERT INTO member_search (rowid, text)
        SELECT s.k, a.email || char(31) || coalesce(u.display_name, '')
        FROM member_search_stale s
        CROSS JOIN member_search_keys k ON k.k = s.k
        CROSS JOIN memberships m ON m.id = k.member_id
        CROSS JOIN accounts a ON a.id = m.account_id
        LEFT JOIN scim_users u ON u.id = m.id;
    DELETE FROM member_search_stale";

const READERS: usize = 4;

#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    writer: writer::Writer,
    reader: readers::Readers,
    /// Point lookups on every request (token checks), on the asking thread.
    points: raw::PointReader,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SqliteStore")
    }
}

/// A write in progress: derefs to the write connection, inside the writer's transaction.
/// `commit` returns once the write is durable; dropping it rolls the write back.
pub(crate) type Tx = writer::WriteTx;

pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(d) = &e
        && d.is_unique_violation()
    {
        return StoreError::Conflict("a resource with the same unique value already exists".into());
    }
    // The writer's limits (see `writer::Limits`) end a write with a timeout.
    if let sqlx::Error::Io(io) = &e
        && io.kind() == std::io::ErrorKind::TimedOut
    {
        return StoreError::Unavailable(e.to_string());
    }
    StoreError::Db(e.to_string())
}

fn connect_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        // NORMAL in WAL mode survives a process crash (the crash test); only power loss can
        // drop the last commits. Power-loss durability would need FULL.
        .synchronous(SqliteSynchronous::Normal)
        // Savepoints (one per write in a group commit) and multi-row statements keep undo
        // pages in a sub-journal: in a temporary file by default, which cost an open, writes
        // and a close per transaction (an eighth of the server's CPU on creates).
        .pragma("temp_store", "memory")
        // Checkpoints run beside the writer (see `spawn_checkpointer`), not inside a commit
        // where they would hold up every write of the batch; this is only the fallback.
        .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)
        // A page cache of 16 MiB per connection (SQLite's default is 2 MiB): a mapping
        // preview of a 10,000-member group or a run of /users pages touches more than 2 MiB
        // of pages, and every page missed is a read system call and a copy.
        .pragma("cache_size", PAGE_CACHE_KIB)
}

/// The page cache of each connection, in KiB (SQLite takes a negative cache_size as KiB).
const PAGE_CACHE_KIB: &str = "-16384";

/// WAL pages (4 KiB each) past which a commit checkpoints by itself.
const WAL_AUTOCHECKPOINT_PAGES: &str = "20000";

/// How often the background checkpointer looks for new commits.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

impl SqliteStore {
    /// Opens (creating it if missing) and migrates the database at `path`.
    pub async fn open(path: impl AsRef<Path>) -> StoreResult<SqliteStore> {
        // Personal data and the audit: the file (and so its -wal and -shm) is the owner's.
        crate::private_files::create_file(path.as_ref()).map_err(|e| {
            StoreError::Unavailable(format!(
                "cannot create the database {}: {e}",
                path.as_ref().display()
            ))
        })?;
        if let Some(warning) = crate::private_files::exposed(path.as_ref()) {
            tracing::warn!("{warning}");
        }
        let opts = connect_options(path.as_ref());
        let mut conn = SqliteConnection::connect_with(&opts)
            .await
            .map_err(db_err)?;
        migrate(&mut conn).await?;
        let writer = writer::Writer::spawn(conn, BEFORE_COMMIT);
        let reader = readers::Readers::new(opts, READERS);
        let points = raw::PointReader::open(path.as_ref())?;
        let store = SqliteStore {
            inner: Arc::new(Inner {
                writer,
                reader,
                points,
            }),
        };
        store.spawn_checkpointer();
        Ok(store)
    }

    /// Copies committed pages from the WAL into the database on a reader connection (whose
    /// thread does the I/O and the fsync), while writes go on. PASSIVE never waits for a lock,
    /// so it cannot stall a reader or the writer.
    fn spawn_checkpointer(&self) {
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut seen = 0;
            loop {
                tokio::time::sleep(CHECKPOINT_EVERY).await;
                let Some(inner) = weak.upgrade() else { return };
                if inner.reader.is_closed() {
                    return;
                }
                let commits = inner.writer.commits();
                if commits == seen {
                    continue;
                }
                seen = commits;
                let checkpoint = async {
                    let mut conn = inner.reader.acquire().await?;
                    sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                        .execute(&mut *conn)
                        .await
                        .map_err(db_err)
                };
                if let Err(e) = checkpoint.await {
                    tracing::warn!(error = %e, "a background WAL checkpoint failed");
                }
            }
        });
    }

    /// Closes every connection, the writer's last, which checkpoints the WAL.
    pub async fn close(&self) {
        self.inner.points.close();
        self.inner.reader.close().await;
        self.inner.writer.close().await;
    }

    /// The access the org's group mappings imply for every SCIM User in at least one mapped
    /// group, by SCIM User id (members of no mapped group are absent: Member, no stack role).
    /// Requested access before the SCIM `active` flag and the approval queue apply.
    pub async fn org_effective_access(
        &self,
        org_id: i64,
    ) -> StoreResult<std::collections::HashMap<String, crate::domain::access::Access>> {
        access_admin::org_effective_access(self, org_id).await
    }

    /// A point lookup (a row or a few by key) on the asking thread; see `raw::PointReader`.
    pub(crate) fn point_read(
        &self,
        sql: &'static str,
        args: &[raw::Arg],
    ) -> StoreResult<Vec<Vec<raw::Col>>> {
        self.inner.points.query(sql, args)
    }

    /// Waits for a read connection (one of [`READERS`]).
    pub(crate) async fn read(&self) -> StoreResult<readers::Reader<'_>> {
        self.inner.reader.acquire().await
    }

    /// Waits for the write connection. Everything done through the returned [`Tx`] commits
    /// together, or not at all.
    pub(crate) async fn begin(&self) -> StoreResult<Tx> {
        // The in-flight check runs on the writer, in the hand-off that opens the write.
        let check = crate::store::acting::current().map(|acting| -> writer::Check {
            Box::new(move |raw: &mut raw::Raw| token_live(raw, &acting))
        });
        self.inner.writer.begin_checked(check).await
    }

    /// Runs a short synchronous write on the write connection's handle, in the writer's
    /// transaction; returns once it is committed. It may run more than once and must give the
    /// same result each time (see [`writer::Writer::run`]).
    pub(crate) async fn run<T, E, F>(&self, write: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnMut(&mut raw::Raw) -> Result<T, E> + Send + 'static,
    {
        let acting = crate::store::acting::current();
        let mut write = write;
        self.inner
            .writer
            .run(move |raw: &mut raw::Raw| {
                if let Some(a) = &acting {
                    token_live(raw, a)?;
                }
                write(raw)
            })
            .await
    }
}

/// The in-flight check of a write (see `store::acting`), on the write connection's handle with
/// a prepared statement: Ok while the request's token is not revoked.
fn token_live(raw: &mut raw::Raw, acting: &crate::store::acting::Acting) -> StoreResult<()> {
    let live = raw.query(acting.check_sql(false), &[acting.id.as_str().into()])?;
    if live.is_empty() {
        return Err(crate::store::acting::revoked());
    }
    Ok(())
}

async fn migrate(conn: &mut SqliteConnection) -> StoreResult<()> {
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.map_err(db_err)?;
    let current: i64 = sqlx::query_scalar("PRAGMA user_version")
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
    let latest = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
    if current > latest {
        return Err(StoreError::Db(format!(
            "the database is at schema version {current}, newer than this binary knows ({latest})"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        sqlx::raw_sql(*sql)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if *version == 9 {
            fold_address_keys(&mut tx).await?;
        }
        sqlx::query(AssertSqlSafe(format!("PRAGMA user_version = {version}")))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    tx.commit().await.map_err(db_err)
}

/// Migration 9's second half: the accounts whose address is not plain ASCII get their folded
/// key (see `store::address_keys`), the oldest first.
async fn fold_address_keys(conn: &mut SqliteConnection) -> StoreResult<()> {
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, email FROM accounts WHERE email GLOB '*[^ -~]*' ORDER BY id")
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err)?;
    for (id, key) in crate::store::address_keys::placeholders(&rows) {
        sqlx::query("UPDATE accounts SET email_key = ? WHERE id = ?")
            .bind(key)
            .bind(id)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    for (id, email) in &rows {
        sqlx::query(
            "UPDATE accounts SET email_key = ?1 WHERE id = ?2
               AND NOT EXISTS (SELECT 1 FROM accounts WHERE email_key = ?1)",
        )
        .bind(crate::scim::text::fold_address(email))
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

pub(crate) async fn audit(
    tx: &mut Tx,
    org_id: i64,
    actor: &str,
    action: &str,
    target: Option<&str>,
    before: Option<&Value>,
    after: Option<&Value>,
) -> StoreResult<()> {
    let stmt = audit_stmt(
        org_id,
        actor,
        action,
        target,
        before.map(Value::to_string),
        after.map(Value::to_string),
    );
    raw::run_sqlx(tx, std::slice::from_ref(&stmt)).await
}

/// The audit event of a write, as a statement (`before` and `after` as JSON text).
pub(crate) fn audit_stmt(
    org_id: i64,
    actor: &str,
    action: &str,
    target: Option<&str>,
    before: Option<String>,
    after: Option<String>,
) -> raw::Stmt {
    raw::Stmt::new(
        "INSERT INTO audit_log (org_id, at, actor, action, target, before, after)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        vec![
            org_id.into(),
            datetime::now_rfc3339().into(),
            actor.into(),
            action.into(),
            target.into(),
            before.into(),
            after.into(),
        ],
    )
}

/// The account of an email, created if missing (emails match in any case).
pub(crate) async fn account_for(tx: &mut Tx, email: &str, now: &str) -> StoreResult<i64> {
    // An upsert that returns the id either way: one statement on the hot create path.
    sqlx::query_scalar(
        "INSERT INTO accounts (email, email_key, created_at) VALUES (?, ?, ?)
         ON CONFLICT (email_key) DO UPDATE SET email = accounts.email
         RETURNING id",
    )
    .bind(email)
    .bind(crate::scim::text::fold_address(email))
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .map_err(db_err)
}

impl ScimStore for SqliteStore {
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
        access_admin::provisioning_states(self, org_id, ids).await
    }
}

impl AccessStore for SqliteStore {
    async fn list_stacks(&self, org_id: i64) -> StoreResult<Vec<access_types::Stack>> {
        stacks::list_stacks(self, org_id).await
    }

    async fn create_stack(
        &self,
        org_id: i64,
        name: &str,
        actor: &str,
    ) -> StoreResult<access_types::Stack> {
        stacks::create_stack(self, org_id, name, actor).await
    }

    async fn stack_roles(
        &self,
        org_id: i64,
        stack_uid: &str,
    ) -> StoreResult<Vec<access_types::RoleInfo>> {
        stacks::stack_roles(self, org_id, stack_uid).await
    }

    async fn create_stack_role(
        &self,
        org_id: i64,
        stack_uid: &str,
        name: &str,
        actor: &str,
    ) -> StoreResult<access_types::RoleInfo> {
        stacks::create_stack_role(self, org_id, stack_uid, name, actor).await
    }

    async fn rename_stack(
        &self,
        org_id: i64,
        stack_uid: &str,
        name: &str,
        actor: &str,
    ) -> StoreResult<access_types::Stack> {
        stacks::rename_stack(self, org_id, stack_uid, name, actor).await
    }

    async fn rename_stack_role(
        &self,
        org_id: i64,
        stack_uid: &str,
        role_uid: &str,
        name: &str,
        actor: &str,
    ) -> StoreResult<access_types::RoleInfo> {
        stacks::rename_stack_role(self, org_id, stack_uid, role_uid, name, actor).await
    }

    async fn list_groups(
        &self,
        org_id: i64,
        filter: Option<&str>,
        limit: u64,
        cursor: Option<&str>,
    ) -> StoreResult<CursorPage<access_types::GroupInfo>> {
        access_admin::list_groups(self, org_id, filter, limit, cursor).await
    }

    async fn get_mapping(
        &self,
        org_id: i64,
        group_id: &str,
    ) -> StoreResult<Option<access_types::Mapping>> {
        access_admin::get_mapping(self, org_id, group_id).await
    }

    async fn set_mapping(
        &self,
        org_id: i64,
        group_id: &str,
        input: Option<&access_types::MappingInput>,
        actor: &str,
    ) -> StoreResult<(Option<access_types::Mapping>, access_types::MappingImpact)> {
        access_admin::set_mapping(self, org_id, group_id, input, actor).await
    }

    async fn preview_mapping(
        &self,
        org_id: i64,
        group_id: &str,
        input: Option<&access_types::MappingInput>,
    ) -> StoreResult<access_types::MappingImpact> {
        access_admin::preview_mapping(self, org_id, group_id, input).await
    }

    async fn list_members(
        &self,
        org_id: i64,
        query: &access_types::MemberQuery,
    ) -> StoreResult<CursorPage<access_types::MemberInfo>> {
        access_admin::list_members(self, org_id, query).await
    }

    async fn member_access(
        &self,
        org_id: i64,
        id: &str,
    ) -> StoreResult<Option<access_types::MemberAccess>> {
        access_admin::member_access(self, org_id, id).await
    }

    async fn remove_member(
        &self,
        org_id: i64,
        id: &str,
        actor: &str,
    ) -> StoreResult<access_types::MemberInfo> {
        access_admin::remove_member(self, org_id, id, actor).await
    }

    async fn list_approvals(
        &self,
        org_id: i64,
        state: Option<crate::domain::approval::RequestState>,
        limit: u64,
        cursor: Option<&str>,
    ) -> StoreResult<CursorPage<access_types::ApprovalRequest>> {
        access_admin::list_approvals(self, org_id, state, limit, cursor).await
    }

    async fn decide_approval(
        &self,
        org_id: i64,
        request_id: &str,
        decision: &access_types::Decision,
        seen_version: u64,
        actor: &str,
    ) -> StoreResult<access_types::DecisionOutcome> {
        access_admin::decide(self, org_id, request_id, decision, seen_version, actor).await
    }
}

impl AuditStore for SqliteStore {
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
mod tests {
    use super::*;
    use serde_json::json;

    /// Undoes migration 9, for tests that take a database back to an older version.
    const BEFORE_9: &str =
        "DROP INDEX accounts_email_key; ALTER TABLE accounts DROP COLUMN email_key;
        ALTER TABLE organizations DROP COLUMN audit_key;";

    /// Migration 9 on a database of version 8: each org gets its own audit key, and accounts
    /// their folded keys, the oldest of two that fold alike keeping the key.
    #[tokio::test]
    async fn migration_9_keys_orgs_and_folds_existing_addresses_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m9.db");
        let store = SqliteStore::open(&path).await.unwrap();
        let (a, _) = store.create_org("Acme", "o@acme.example").await.unwrap();
        let (b, _) = store.create_org("Beta", "o@beta.example").await.unwrap();
        store.close().await;
        let mut conn = SqliteConnection::connect_with(&connect_options(&path))
            .await
            .unwrap();
        sqlx::raw_sql(AssertSqlSafe(format!(
            "{BEFORE_9} PRAGMA user_version = 8;
             INSERT INTO accounts (email, created_at) VALUES ('JOSÉ@x.example', 'then');
             INSERT INTO accounts (email, created_at) VALUES ('josé@x.example', 'then');
             INSERT INTO accounts (email, created_at) VALUES ('Ann@X.example', 'then');"
        )))
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
        let store = SqliteStore::open(&path).await.unwrap();
        let keys: Vec<(String, String)> =
            sqlx::query_as("SELECT email, email_key FROM accounts ORDER BY id")
                .fetch_all(&mut *store.read().await.unwrap())
                .await
                .unwrap();
        let key = |email: &str| keys.iter().find(|(e, _)| e == email).unwrap().1.clone();
        assert_eq!(
            key("JOSÉ@x.example"),
            "josé@x.example",
            "the older keeps the key"
        );
        assert!(key("josé@x.example").starts_with('\u{1}'), "{keys:?}");
        assert_eq!(key("Ann@X.example"), "ann@x.example");
        assert_eq!(key("o@acme.example"), "o@acme.example");
        let a = store.org_by_uid(&a.uid).await.unwrap().unwrap();
        let b = store.org_by_uid(&b.uid).await.unwrap().unwrap();
        assert_eq!(a.audit_key.0.len(), 32);
        assert_ne!(a.audit_key, b.audit_key);
        // Provisioning either address now reaches the older account.
        let account = |email: &'static str| {
            let store = store.clone();
            async move {
                let mut tx = store.begin().await.unwrap();
                let id = account_for(&mut tx, email, "now").await.unwrap();
                tx.commit().await.unwrap();
                id
            }
        };
        let older = account("JOSÉ@x.example").await;
        assert_eq!(account("José@X.example").await, older);
        assert_eq!(account("josé@x.example").await, older);
        store.close().await;
    }

    /// The member search index is up to date after every commit (migration 6 refreshes it
    /// before COMMIT), and running migration 6 again on a database that has data keeps it so.
    #[tokio::test]
    async fn the_member_index_is_fresh_at_each_commit_and_migration_6_runs_again_safely() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m6.db");
        let store = SqliteStore::open(&path).await.unwrap();
        let matches = |store: &SqliteStore, phrase: &'static str| {
            let store = store.clone();
            async move {
                let n: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM member_search WHERE member_search MATCH ?",
                )
                .bind(phrase)
                .fetch_one(&mut *store.read().await.unwrap())
                .await
                .unwrap();
                let stale: i64 = sqlx::query_scalar("SELECT count(*) FROM member_search_stale")
                    .fetch_one(&mut *store.read().await.unwrap())
                    .await
                    .unwrap();
                assert_eq!(stale, 0, "nothing is left stale after a commit");
                n
            }
        };
        store.create_org("Acme", "o@acme.example").await.unwrap();
        assert_eq!(matches(&store, "\"acme.example\"").await, 1);
        store.close().await;
        // Every connection closed, the writer's last: the WAL was checkpointed away.
        assert!(
            !dir.path().join("m6.db-wal").exists(),
            "the WAL is gone after close"
        );
        let mut conn = SqliteConnection::connect_with(&connect_options(&path))
            .await
            .unwrap();
        sqlx::raw_sql(AssertSqlSafe(format!(
            "{BEFORE_9} PRAGMA user_version = 5;"
        )))
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
        let store = SqliteStore::open(&path).await.unwrap();
        assert_eq!(matches(&store, "\"acme.example\"").await, 1);
        store.create_org("Other", "p@other.example").await.unwrap();
        assert_eq!(matches(&store, "\"other.example\"").await, 1);
        assert_eq!(matches(&store, "\"example\"").await, 2);
        store.close().await;
    }

    #[tokio::test]
    async fn migrations_run_once_and_a_reopen_keeps_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested-new.db");
        let store = SqliteStore::open(&path).await.unwrap();
        let (org, _) = store.create_org("Acme", "o@acme.example").await.unwrap();
        let v: i64 = sqlx::query_scalar("PRAGMA user_version")
            .fetch_one(&mut *store.read().await.unwrap())
            .await
            .unwrap();
        assert_eq!(v, MIGRATIONS.last().unwrap().0);
        store.close().await;
        let store = SqliteStore::open(&path).await.unwrap();
        let again = store.org_by_uid(&org.uid).await.unwrap().unwrap();
        assert_eq!(again, org);
        store.close().await;
    }

    #[tokio::test]
    async fn a_database_newer_than_the_binary_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("future.db");
        let store = SqliteStore::open(&path).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        sqlx::query("PRAGMA user_version = 999")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        store.close().await;
        let err = SqliteStore::open(&path).await.unwrap_err();
        assert!(err.to_string().contains("newer"), "{err}");
    }

    #[tokio::test]
    async fn journal_is_wal_and_foreign_keys_are_on() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("p.db")).await.unwrap();
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut *store.read().await.unwrap())
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&mut *store.read().await.unwrap())
            .await
            .unwrap();
        assert_eq!(fk, 1);
        store.close().await;
    }

    #[tokio::test]
    async fn unfiltered_totals_come_from_counts_kept_by_triggers_and_backfilled() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let store = SqliteStore::open(&path).await.unwrap();
        let (org, _) = store.create_org("Acme", "o@acme.example").await.unwrap();
        let mut ids = Vec::new();
        for i in 0..5 {
            let user = json!({"userName": format!("u{i}@acme.example")});
            let out = store
                .create_resource(Kind::User, org.id, user, Vec::new(), "test")
                .await
                .unwrap();
            ids.push(out.record.id);
        }
        for id in &ids[..2] {
            store
                .delete_resource(Kind::User, org.id, id, "test", |_| Ok(()))
                .await
                .unwrap();
        }
        let spec = |offset| ListSpec {
            filter: None,
            sort_by: None,
            descending: false,
            offset,
            limit: 2,
            with_members: false,
            seek: None,
        };
        let page = store
            .list_resources(Kind::User, org.id, spec(1))
            .await
            .unwrap();
        assert_eq!(page.total, 3);
        let mut rest = ids[2..].to_vec();
        rest.sort();
        let got: Vec<&str> = page.items.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            got,
            vec![rest[1].as_str(), rest[2].as_str()],
            "page order is id order"
        );
        // A database made before the counts existed gets them backfilled.
        let mut tx = store.begin().await.unwrap();
        sqlx::raw_sql(AssertSqlSafe(format!(
            "{BEFORE_9} DROP TABLE resource_counts; DROP TRIGGER scim_users_counted;
             DROP TRIGGER scim_users_uncounted; DROP TRIGGER scim_groups_counted;
             DROP TRIGGER scim_groups_uncounted; PRAGMA user_version = 1;"
        )))
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
        store.close().await;
        let store = SqliteStore::open(&path).await.unwrap();
        assert_eq!(
            store
                .list_resources(Kind::User, org.id, spec(0))
                .await
                .unwrap()
                .total,
            3
        );
        assert_eq!(
            store
                .list_resources(Kind::Group, org.id, spec(0))
                .await
                .unwrap()
                .total,
            0
        );
        store.close().await;
    }

    /// `/users` totals without a filter come from membership_counts: they must equal a real
    /// count after creates, state changes (approval, deprovision) and on a database from
    /// before the counts (backfilled by migration 4).
    #[tokio::test]
    async fn member_totals_come_from_counts_kept_by_triggers_and_backfilled() {
        use crate::domain::approval::MemberState;
        use crate::store::access_types::MemberQuery;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        let store = SqliteStore::open(&path).await.unwrap();
        let (org, _) = store.create_org("Acme", "o@acme.example").await.unwrap();
        let mut ids = Vec::new();
        for i in 0..4 {
            let user = json!({"userName": format!("u{i}@acme.example"), "active": true});
            let out = store
                .create_resource(Kind::User, org.id, user, Vec::new(), "test")
                .await
                .unwrap();
            ids.push(out.record.id);
        }
        // Two of them approved (pending -> active), one deprovisioned by the IdP.
        for id in &ids[..2] {
            let open = store
                .list_approvals(org.id, None, 100, None)
                .await
                .unwrap()
                .items
                .into_iter()
                .find(|r| &r.member_id == id)
                .unwrap();
            store
                .decide_approval(
                    org.id,
                    &open.id,
                    &crate::store::access_types::Decision::Approve,
                    open.version,
                    "test",
                )
                .await
                .unwrap();
        }
        store
            .delete_resource(Kind::User, org.id, &ids[3], "test", |_| Ok(()))
            .await
            .unwrap();
        let totals = |store: SqliteStore| async move {
            let mut out = Vec::new();
            for state in [
                None,
                Some(MemberState::Active),
                Some(MemberState::Pending),
                Some(MemberState::Deprovisioned),
                Some(MemberState::Rejected),
            ] {
                let q = MemberQuery {
                    filter: None,
                    state,
                    limit: 1,
                    cursor: None,
                    ..Default::default()
                };
                let total = store.list_members(org.id, &q).await.unwrap().total;
                let real: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM memberships WHERE org_id = ? AND (? IS NULL OR state = ?)",
                )
                .bind(org.id)
                .bind(state.map(|s| s.as_str()))
                .bind(state.map(|s| s.as_str()))
                .fetch_one(&mut *store.read().await.unwrap())
                .await
                .unwrap();
                assert_eq!(total, real as u64, "{state:?}");
                out.push(total);
            }
            out
        };
        let before = totals(store.clone()).await;
        // The owner and two approved are active; one waits; one was deprovisioned.
        assert_eq!(before, vec![5, 3, 1, 1, 0]);
        let mut tx = store.begin().await.unwrap();
        sqlx::raw_sql(AssertSqlSafe(format!(
            "{BEFORE_9} DROP TABLE membership_counts; DROP TRIGGER memberships_counted;
             DROP TRIGGER memberships_uncounted; DROP TRIGGER memberships_recounted;
             PRAGMA user_version = 3;"
        )))
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
        store.close().await;
        let store = SqliteStore::open(&path).await.unwrap();
        assert_eq!(totals(store.clone()).await, before);
        store.close().await;
    }

    #[tokio::test]
    async fn scim_tokens_authenticate_until_revoked_and_only_with_the_right_secret() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("t.db")).await.unwrap();
        let (org, admin) = store.create_org("Acme", "o@acme.example").await.unwrap();
        let t = store
            .create_scim_token(org.id, "okta", "o@acme.example")
            .await
            .unwrap();
        let p = store.authenticate_scim(&t.token).await.unwrap().unwrap();
        assert_eq!((p.org.id, p.label.as_str()), (org.id, "okta"));
        assert!(
            store
                .authenticate_scim(&admin.token)
                .await
                .unwrap()
                .is_none()
        );
        let a = store
            .authenticate_admin(&admin.token)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(a.role, OrgRole::Owner);
        assert_eq!(a.email, "o@acme.example");
        assert!(store.revoke_scim_token(org.id, &t.id, "o").await.unwrap());
        assert!(store.authenticate_scim(&t.token).await.unwrap().is_none());
        assert!(!store.revoke_scim_token(org.id, &t.id, "o").await.unwrap());
        store.close().await;
    }
}
