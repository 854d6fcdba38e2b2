//! Databases for tests and benchmarks: a SQLite file by default, or, when
//! `SCIMDESK_TEST_POSTGRES` names a PostgreSQL server, a fresh database there for each caller,
//! so that the black-box suite runs unchanged on both engines.

use super::DbTarget;
use sqlx::{Connection, PgConnection};
use std::path::Path;

/// Names a PostgreSQL server (`postgres://USER@HOST:PORT/DB`, a database that user may run
/// `CREATE DATABASE` from) to run the tests on.
pub const TEST_POSTGRES_ENV: &str = "SCIMDESK_TEST_POSTGRES";

/// The server of `SCIMDESK_TEST_POSTGRES`, when it is set.
pub fn test_postgres() -> Option<String> {
    std::env::var(TEST_POSTGRES_ENV)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
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
/// and returns its URL.
pub async fn fresh_postgres_database(server_url: &str) -> Result<String, String> {
    let name = format!("scimdesk_test_{}", super::secret::new_hex_id(8));
    let mut conn = PgConnection::connect(server_url)
        .await
        .map_err(|e| format!("{TEST_POSTGRES_ENV}: cannot connect: {e}"))?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .map_err(|e| format!("{TEST_POSTGRES_ENV}: CREATE DATABASE {name}: {e}"))?;
    let _ = conn.close().await;
    Ok(with_database(server_url, &name))
}

/// Where a test's store lives: a fresh PostgreSQL database when `SCIMDESK_TEST_POSTGRES` is
/// set, else the SQLite file `file` in `dir`. Panics when the PostgreSQL server refuses, so
/// that a misconfigured run fails instead of testing SQLite twice.
pub async fn fresh_target(dir: &Path, file: &str) -> DbTarget {
    match test_postgres() {
        Some(server) => DbTarget::Postgres(
            fresh_postgres_database(&server)
                .await
                .unwrap_or_else(|e| panic!("{e}")),
        ),
        None => DbTarget::Sqlite(dir.join(file)),
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
}
