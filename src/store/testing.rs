//! Databases for tests and benchmarks: a SQLite file by default, or, when
//! `SCIMDESK_TEST_POSTGRES` names a PostgreSQL server, a fresh database there for each caller,
//! so that the black-box suite runs unchanged on both engines. A [`TestDb`] drops its
//! PostgreSQL database when it goes, so that a full run leaves none of its databases behind
//! (`scripts/pg-test-cleanup.sh` drops what a killed run left).

use super::DbTarget;
use sqlx::{Connection, PgConnection};
use std::ffi::OsString;
use std::path::Path;

/// Names a PostgreSQL server (`postgres://USER@HOST:PORT/DB`, a database that user may run
/// `CREATE DATABASE` from) to run the tests on.
pub const TEST_POSTGRES_ENV: &str = "SCIMDESK_TEST_POSTGRES";

/// Every test database's name starts so (the cleanup script looks for it).
pub const TEST_DATABASE_PREFIX: &str = "scimdesk_test_";

/// The server of `SCIMDESK_TEST_POSTGRES`, when it is set.
pub fn test_postgres() -> Option<String> {
    std::env::var(TEST_POSTGRES_ENV)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Why a PostgreSQL-only test is `#[ignore]`d: the attribute takes only a literal, so each
/// such test repeats this text, `#[ignore = "needs PostgreSQL: set SCIMDESK_TEST_POSTGRES and
/// run the ignored tests"]`.
///
/// Without a server such a test is reported skipped, never passed. A run that has one asks
/// for them: `cargo nextest run --run-ignored all` or `cargo test -- --include-ignored`.
pub const NEEDS_POSTGRES: &str =
    "needs PostgreSQL: set SCIMDESK_TEST_POSTGRES and run the ignored tests";

/// The server of `SCIMDESK_TEST_POSTGRES`, for a PostgreSQL-only test (one marked
/// `#[ignore = "needs PostgreSQL: ..."]`, see [`NEEDS_POSTGRES`]). Panics without one: a
/// PostgreSQL-only test that was asked to run fails rather than pass having checked nothing.
pub fn required_test_postgres() -> String {
    test_postgres().unwrap_or_else(|| {
        panic!(
            "{TEST_POSTGRES_ENV} is not set, and this test checks PostgreSQL only: set it to \
             postgres://USER@HOST:PORT/DB (or run under scripts/pg-throwaway.sh run ...), or \
             leave the ignored tests out"
        )
    })
}

/// `url` with its database name replaced by `db` (query parameters kept).
pub fn with_database(url: &str, db: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let after_scheme = head.find("://").map_or(0, |i| i + 3);
    let base = match head[after_scheme..].find('/') {
        Some(i) => &head[..after_scheme + i],
        None => head,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

/// Creates an empty database named `scimdesk_test_<random>` on the server of `server_url`
/// and returns its URL. Nothing drops it: [`TestDb::postgres`] does.
pub async fn fresh_postgres_database(server_url: &str) -> Result<String, String> {
    Ok(create_test_database(server_url).await?.0)
}

/// (URL, name) of a new, empty test database.
async fn create_test_database(server_url: &str) -> Result<(String, String), String> {
    let name = format!("{TEST_DATABASE_PREFIX}{}", super::secret::new_hex_id(8));
    run_on_server(server_url, &format!("CREATE DATABASE {name}")).await?;
    Ok((with_database(server_url, &name), name))
}

/// Drops the database `name` of the server of `server_url`, closing whatever connections it
/// still has (a server a test left running, a child process killed a moment ago).
pub async fn drop_postgres_database(server_url: &str, name: &str) -> Result<(), String> {
    run_on_server(
        server_url,
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    )
    .await
}

async fn run_on_server(server_url: &str, sql: &str) -> Result<(), String> {
    let mut conn = PgConnection::connect(server_url)
        .await
        .map_err(|e| format!("{TEST_POSTGRES_ENV}: cannot connect: {e}"))?;
    let done = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut conn)
        .await
        .map(drop)
        .map_err(|e| format!("{TEST_POSTGRES_ENV}: {sql}: {e}"));
    let _ = conn.close().await;
    done
}

/// `target` as `--db` takes it: the file's path or the URL (unredacted).
pub fn db_arg(target: &DbTarget) -> OsString {
    match target {
        DbTarget::Sqlite(p) => p.clone().into_os_string(),
        DbTarget::Postgres(url) => url.into(),
    }
}

/// A test's database: the SQLite file of a test's temporary directory, or a database of its
/// own on the PostgreSQL server, dropped when this goes (also when the test panics). It
/// derefs to the [`DbTarget`] that servers open; keep it alive as long as they run.
#[derive(Debug)]
pub struct TestDb {
    target: DbTarget,
    /// On PostgreSQL: the server it was created on and its name, to drop it.
    created_on: Option<(String, String)>,
}

impl TestDb {
    /// The SQLite file `path` (its temporary directory removes it).
    pub fn sqlite(path: impl Into<std::path::PathBuf>) -> TestDb {
        TestDb {
            target: DbTarget::Sqlite(path.into()),
            created_on: None,
        }
    }

    /// A fresh database on the server of `server_url`.
    pub async fn postgres(server_url: &str) -> Result<TestDb, String> {
        let (url, name) = create_test_database(server_url).await?;
        Ok(TestDb {
            target: DbTarget::Postgres(url),
            created_on: Some((server_url.to_string(), name)),
        })
    }

    pub fn target(&self) -> &DbTarget {
        &self.target
    }

    /// The same database for a second user (a replica's harness) that does not drop it: the
    /// original still does.
    pub fn borrowed(&self) -> TestDb {
        TestDb {
            target: self.target.clone(),
            created_on: None,
        }
    }

    /// As `--db` takes it: the file's path or the URL.
    pub fn arg(&self) -> OsString {
        db_arg(&self.target)
    }

    /// The URL, or `None` on SQLite (for tests that open their own connections).
    pub fn postgres_url(&self) -> Option<&str> {
        match &self.target {
            DbTarget::Sqlite(_) => None,
            DbTarget::Postgres(url) => Some(url),
        }
    }

    /// The SQLite file, or `None` on PostgreSQL (for what only SQLite has: its files).
    pub fn sqlite_path(&self) -> Option<&Path> {
        match &self.target {
            DbTarget::Sqlite(p) => Some(p),
            DbTarget::Postgres(_) => None,
        }
    }
}

impl std::ops::Deref for TestDb {
    type Target = DbTarget;
    fn deref(&self) -> &DbTarget {
        &self.target
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((server, name)) = self.created_on.take() else {
            return;
        };
        // Drop runs inside the test's runtime, which cannot block on itself: a thread of its
        // own with a runtime of its own does it, and this waits for it. Never a panic here
        // (it may run while a failed test unwinds): a database left behind is only reported.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(drop_postgres_database(&server, &name))
                .map_err(|e| format!("{e} (scripts/pg-test-cleanup.sh drops it later)"))
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("test database left behind: {e}"),
            Err(_) => eprintln!("test database left behind: the dropping thread panicked"),
        }
    }
}

/// Where a test's store lives: a fresh PostgreSQL database when `SCIMDESK_TEST_POSTGRES` is
/// set, else the SQLite file `file` in `dir`. Panics when the PostgreSQL server refuses, so
/// that a misconfigured run fails instead of testing SQLite twice.
pub async fn fresh_target(dir: &Path, file: &str) -> TestDb {
    match test_postgres() {
        Some(server) => TestDb::postgres(&server)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        None => TestDb::sqlite(dir.join(file)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_is_replaced_and_the_rest_kept() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres", "t1"),
            "postgres://u@h:5432/t1"
        );
        assert_eq!(
            with_database("postgres://u:p@h/postgres?sslmode=disable", "t1"),
            "postgres://u:p@h/t1?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "t1"), "postgres://h/t1");
    }

    async fn exists(server: &str, name: &str) -> bool {
        let mut conn = PgConnection::connect(server).await.unwrap();
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE datname = $1")
            .bind(name)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        n == 1
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs PostgreSQL: set SCIMDESK_TEST_POSTGRES and run the ignored tests"]
    async fn a_test_database_is_dropped_with_its_guard_even_while_connected() {
        let server = required_test_postgres();
        let db = TestDb::postgres(&server).await.unwrap();
        let (_, name) = db.created_on.clone().unwrap();
        assert!(name.starts_with(TEST_DATABASE_PREFIX), "{name}");
        assert!(exists(&server, &name).await);
        // A connection still open (as a server a test never stopped holds one) does not
        // keep it.
        let mut open = PgConnection::connect(db.postgres_url().unwrap())
            .await
            .unwrap();
        sqlx::raw_sql("CREATE TABLE t (x int)")
            .execute(&mut open)
            .await
            .unwrap();
        drop(db);
        assert!(!exists(&server, &name).await, "{name} is still there");
        assert!(sqlx::raw_sql("SELECT 1").execute(&mut open).await.is_err());
    }
}
