//! `scimdesk db copy`: moves a whole SQLite installation into an empty PostgreSQL database,
//! keeping every id (SCIM ids, token ids and hashes, audit ids), so that the IdP, the
//! tokens in use and the audit trail carry on unchanged on the new database.
//!
//! The source is read in one read transaction on a connection of its own, on a blocking
//! thread, row by row (constant memory whatever its size); rows are encoded in PostgreSQL's
//! COPY text format into chunks that a bounded channel hands to the target, which loads them
//! with `COPY ... FROM STDIN` inside one transaction: a copy that fails leaves the target
//! empty. Reading, encoding and loading overlap.

use super::sqlite::raw::{Col, PointReader, Raw};
use super::{DbTarget, PgStore, SqliteStore, StoreError, StoreResult};
use sqlx::PgConnection;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// One table: its PostgreSQL name and columns, and the query that reads the same columns,
/// in the same order, from SQLite, as COPY's text format wants them (booleans as `t`/`f`;
/// blobs become bytea and JSON text becomes jsonb on the way).
struct Table {
    name: &'static str,
    copy: &'static str,
    count: &'static str,
    select: &'static str,
}

macro_rules! table {
    ($name:literal, $columns:literal) => {
        table!($name, $columns, $columns)
    };
    ($name:literal, $columns:literal, $select:literal) => {
        Table {
            name: $name,
            copy: concat!("COPY ", $name, " (", $columns, ") FROM STDIN"),
            count: concat!("SELECT count(*) FROM ", $name),
            select: concat!("SELECT ", $select, " FROM ", $name),
        }
    };
}

/// Every table of the installation, parents before children (the foreign keys hold at each
/// step). Not copied: the counts that PostgreSQL's triggers keep (made once from the copied
/// rows), SQLite's member search index (PostgreSQL searches with trigram
/// indexes), the schema version (each engine keeps its own) and the rate limit's counters
/// (PostgreSQL's alone, and a minute long).
const TABLES: &[Table] = &[
    table!(
        "organizations",
        "id, uid, name, scim_enabled, sso_role_mapping, approval_provision, \
         approval_access_increase, approval_deprovision, user_name_is_email, created_at, \
         audit_key",
        "id, uid, name, iif(scim_enabled, 't', 'f'), iif(sso_role_mapping, 't', 'f'), \
         iif(approval_provision, 't', 'f'), iif(approval_access_increase, 't', 'f'), \
         iif(approval_deprovision, 't', 'f'), iif(user_name_is_email, 't', 'f'), created_at, \
         audit_key"
    ),
    table!("accounts", "id, email, email_key, created_at"),
    table!(
        "memberships",
        "id, org_id, account_id, role, state, source, created_at, updated_at"
    ),
    table!(
        "scim_users",
        "id, org_id, user_name, external_id, display_name, active, resource, version, \
         created_at, last_modified",
        "id, org_id, user_name, external_id, display_name, iif(active, 't', 'f'), resource, \
         version, created_at, last_modified"
    ),
    table!(
        "scim_groups",
        "id, org_id, display_name, external_id, resource, version, created_at, last_modified"
    ),
    table!("group_members", "group_id, user_id"),
    // SQLite's rowid orders the token lists; it becomes PostgreSQL's `seq`, value and all.
    table!(
        "scim_tokens",
        "seq, id, org_id, label, secret_hash, created_at, created_by, last_used_at, revoked_at",
        "rowid, id, org_id, label, secret_hash, created_at, created_by, last_used_at, revoked_at"
    ),
    table!(
        "admin_tokens",
        "seq, id, membership_id, label, secret_hash, created_at, created_by, last_used_at, \
         revoked_at",
        "rowid, id, membership_id, label, secret_hash, created_at, created_by, last_used_at, \
         revoked_at"
    ),
    table!("stacks", "id, org_id, uid, name, created_at"),
    table!(
        "stack_roles",
        "stack_id, uid, name, builtin, created_at",
        "stack_id, uid, name, iif(builtin, 't', 'f'), created_at"
    ),
    table!(
        "group_mappings",
        "group_id, org_id, org_role, updated_at, updated_by"
    ),
    table!("group_mapping_roles", "group_id, stack_uid, role_uid"),
    table!("granted_stack_roles", "membership_id, stack_uid, role_uid"),
    table!(
        "approval_requests",
        "id, org_id, member_id, kind, state, version, diff, created_at, updated_at, \
         decided_by, decided_at, reason"
    ),
    table!("member_last_rejected", "membership_id, diff"),
    table!(
        "audit_log",
        "id, org_id, at, actor, action, target, before, after"
    ),
];

/// The identity columns of the target, and the last value each has used on SQLite: the
/// target's sequences continue after it, so that a new row never takes a copied id. The
/// audit log's ids were never reused on SQLite (AUTOINCREMENT), even after a delete; its
/// sequence continues after the highest ever handed out.
const SEQUENCES: &[(&str, &str, &str)] = &[
    (
        "organizations",
        "id",
        "SELECT coalesce(max(id), 0) FROM organizations",
    ),
    (
        "accounts",
        "id",
        "SELECT coalesce(max(id), 0) FROM accounts",
    ),
    ("stacks", "id", "SELECT coalesce(max(id), 0) FROM stacks"),
    (
        "scim_tokens",
        "seq",
        "SELECT coalesce(max(rowid), 0) FROM scim_tokens",
    ),
    (
        "admin_tokens",
        "seq",
        "SELECT coalesce(max(rowid), 0) FROM admin_tokens",
    ),
    (
        "audit_log",
        "id",
        "SELECT max(coalesce((SELECT max(id) FROM audit_log), 0),
                    coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'), 0))",
    ),
];

/// The triggers that keep the per-org counts on insert (`0006_schema.sql`), by table.
const COUNT_TRIGGERS: &[(&str, &str)] = &[
    ("memberships", "memberships_counted"),
    ("scim_users", "scim_users_counted"),
    ("scim_groups", "scim_groups_counted"),
];

/// How much COPY text a chunk holds before it is handed to the target.
const CHUNK_BYTES: usize = 1 << 20;

/// Chunks in flight between the reader and the target: memory stays bounded at a few MiB.
const CHUNKS_IN_FLIGHT: usize = 4;

/// What the copy is doing, for a progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyEvent {
    /// The source was read: each table and its rows, in copy order.
    Planned(Vec<(&'static str, u64)>),
    /// Rows of `table` loaded so far.
    Rows {
        table: &'static str,
        done: u64,
        total: u64,
    },
    /// Every row of `table` is loaded.
    TableDone { table: &'static str, rows: u64 },
    /// Loading is over; checking and committing.
    Finishing,
}

/// What a finished copy moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    /// Each table and its rows, in copy order.
    pub tables: Vec<(&'static str, u64)>,
    pub elapsed: Duration,
}

impl CopyReport {
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.1).sum()
    }
}

/// Why a copy did not happen, in words for the person who ran it.
#[derive(Debug)]
pub struct CopyError(pub String);

impl std::fmt::Display for CopyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CopyError {}

impl From<StoreError> for CopyError {
    fn from(e: StoreError) -> Self {
        CopyError(e.to_string())
    }
}

/// Copies the installation at `from` (SQLite) into the empty database at `to` (PostgreSQL),
/// both migrated to this binary's schema first. `progress` hears what happens.
pub async fn copy(
    from: &DbTarget,
    to: &DbTarget,
    progress: &mut (dyn FnMut(CopyEvent) + Send),
) -> Result<CopyReport, CopyError> {
    let started = Instant::now();
    let path = match from {
        DbTarget::Sqlite(path) => path.clone(),
        DbTarget::Postgres(_) => {
            return Err(CopyError(format!(
                "--from {from} is a PostgreSQL database: db copy reads a SQLite installation \
                 (--from sqlite:PATH) and writes it to PostgreSQL"
            )));
        }
    };
    let url = match to {
        DbTarget::Postgres(url) => url.clone(),
        DbTarget::Sqlite(_) => {
            return Err(CopyError(format!(
                "--to {to} is a SQLite file: db copy writes to PostgreSQL \
                 (--to postgres://USER@HOST:PORT/DB)"
            )));
        }
    };
    if !path.is_file() {
        return Err(CopyError(format!(
            "no SQLite database at {}: --from names the file that `scimdesk serve --db` uses",
            path.display()
        )));
    }
    // Opening migrates the source to this binary's schema; closing checkpoints its WAL.
    let source = SqliteStore::open(&path)
        .await
        .map_err(|e| CopyError(format!("cannot open the source {from}: {e}")))?;
    source.close().await;
    let target = PgStore::open(&url)
        .await
        .map_err(|e| CopyError(format!("cannot open the target {to}: {e}")))?;
    let result = load(&path, &target, to, progress).await;
    target.close().await;
    let tables = result?;
    Ok(CopyReport {
        tables,
        elapsed: started.elapsed(),
    })
}

/// What the reader hands the target.
enum Chunk {
    /// Each table's rows and each sequence's last value, read first in the same transaction.
    Plan(Vec<u64>, Vec<i64>),
    /// COPY text of `rows` rows of the current table.
    Rows(Vec<u8>, u64),
    /// The current table is complete.
    End,
}

async fn load(
    path: &Path,
    target: &PgStore,
    to: &DbTarget,
    progress: &mut (dyn FnMut(CopyEvent) + Send),
) -> Result<Vec<(&'static str, u64)>, CopyError> {
    let pg =
        |e: sqlx::Error| CopyError(format!("the target failed: {}", super::postgres::db_err(e)));
    let mut tx = target.begin().await?;
    // Taken for the whole copy, so that a server started on the target meanwhile waits
    // instead of writing beside it.
    sqlx::query("LOCK TABLE organizations, accounts, audit_log IN EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await
        .map_err(pg)?;
    let (orgs, accounts, events): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM organizations), (SELECT count(*) FROM accounts),
                (SELECT count(*) FROM audit_log)",
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(pg)?;
    if orgs + accounts + events > 0 {
        return Err(CopyError(format!(
            "the target {to} is not empty ({orgs} organizations, {accounts} accounts, \
             {events} audit events): db copy only fills an empty database, so that nothing \
             there is mixed with or overwritten by the copy. Copy into a new database \
             (CREATE DATABASE ...), or drop and recreate this one if nothing in it is needed"
        )));
    }

    // The count triggers would update one row per (org, kind) for every row copied, all in
    // this transaction: each update adds a version of that row that the next must walk past
    // (100,000 members took 105 s). They are off while the rows go in (the switch is part of
    // the transaction, so a failed copy leaves them on), and the counts are made once after.
    for (table, trigger) in COUNT_TRIGGERS {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "ALTER TABLE {table} DISABLE TRIGGER {trigger}"
        )))
        .execute(&mut *tx)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.code().as_deref() == Some("42501") => CopyError(format!(
                "the target's tables belong to another PostgreSQL role than the one db copy \
                 connects as, and only their owner may switch their count triggers off for the \
                 load: run db copy as that role, or copy into a new database, whose tables \
                 db copy creates ({e})"
            )),
            _ => pg(e),
        })?;
    }

    let reader = PointReader::open(path)?;
    let (send, mut receive) = mpsc::channel(CHUNKS_IN_FLIGHT);
    let scan = tokio::task::spawn_blocking(move || {
        reader
            .with(|raw| read_source(raw, &send))
            .and_then(|read| read)
    });
    let loaded = load_chunks(&mut tx, &mut receive, progress).await;
    // Whichever side stopped first, the other stops too: a closed channel ends the reader.
    drop(receive);
    let scanned = scan
        .await
        .map_err(|e| CopyError(format!("the source reader stopped: {e}")))?;
    let (tables, last_ids) = match (loaded, scanned) {
        (Ok(loaded), Ok(())) => loaded,
        (Err(Stop::Target(e)), _) => return Err(e),
        (_, Err(e)) => return Err(CopyError(format!("cannot read the source: {e}"))),
        (Err(Stop::Source), Ok(())) => {
            return Err(CopyError(
                "the source stopped before the copy was complete".into(),
            ));
        }
    };
    progress(CopyEvent::Finishing);
    for ((table, column, _), last) in SEQUENCES.iter().zip(last_ids) {
        if last > 0 {
            sqlx::query("SELECT setval(pg_get_serial_sequence($1, $2), $3)")
                .bind(table)
                .bind(column)
                .bind(last)
                .execute(&mut *tx)
                .await
                .map_err(pg)?;
        }
    }
    sqlx::raw_sql(
        "INSERT INTO resource_counts (org_id, kind, slot, n)
             SELECT org_id, 'user', 0, count(*) FROM scim_users GROUP BY org_id;
         INSERT INTO resource_counts (org_id, kind, slot, n)
             SELECT org_id, 'group', 0, count(*) FROM scim_groups GROUP BY org_id;
         INSERT INTO membership_counts (org_id, state, slot, n)
             SELECT org_id, state, 0, count(*) FROM memberships GROUP BY org_id, state",
    )
    .execute(&mut *tx)
    .await
    .map_err(pg)?;
    for (table, trigger) in COUNT_TRIGGERS {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "ALTER TABLE {table} ENABLE TRIGGER {trigger}"
        )))
        .execute(&mut *tx)
        .await
        .map_err(pg)?;
    }
    check_counts(&mut tx).await?;
    // Fresh statistics, so that the first queries on the new database are planned for its
    // real size.
    sqlx::raw_sql("ANALYZE")
        .execute(&mut *tx)
        .await
        .map_err(pg)?;
    tx.commit().await.map_err(pg)?;
    Ok(tables)
}

/// Why loading stopped.
enum Stop {
    /// The rows stopped coming: the reader says why.
    Source,
    Target(CopyError),
}

/// Loads each table's chunks with one COPY; returns each table's rows and the sequences'
/// last values.
async fn load_chunks(
    conn: &mut PgConnection,
    receive: &mut mpsc::Receiver<Chunk>,
    progress: &mut (dyn FnMut(CopyEvent) + Send),
) -> Result<(Vec<(&'static str, u64)>, Vec<i64>), Stop> {
    let pg = |table: &str, e: sqlx::Error| {
        Stop::Target(CopyError(format!(
            "the target refused the rows of {table}: {}",
            super::postgres::db_err(e)
        )))
    };
    let Some(Chunk::Plan(totals, last_ids)) = receive.recv().await else {
        return Err(Stop::Source);
    };
    progress(CopyEvent::Planned(
        TABLES
            .iter()
            .map(|t| t.name)
            .zip(totals.iter().copied())
            .collect(),
    ));
    let mut tables = Vec::with_capacity(TABLES.len());
    for (table, &total) in TABLES.iter().zip(&totals) {
        let mut copy = conn
            .copy_in_raw(table.copy)
            .await
            .map_err(|e| pg(table.name, e))?;
        let mut done = 0;
        loop {
            match receive.recv().await {
                Some(Chunk::Rows(text, rows)) => {
                    copy.send(text).await.map_err(|e| pg(table.name, e))?;
                    done += rows;
                    progress(CopyEvent::Rows {
                        table: table.name,
                        done,
                        total,
                    });
                }
                Some(Chunk::End) => break,
                Some(Chunk::Plan(..)) | None => {
                    let _ = copy.abort("the source stopped").await;
                    return Err(Stop::Source);
                }
            }
        }
        let loaded = copy.finish().await.map_err(|e| pg(table.name, e))?;
        if loaded != total {
            return Err(Stop::Target(CopyError(format!(
                "{}: the source has {total} rows, the target took {loaded}",
                table.name
            ))));
        }
        progress(CopyEvent::TableDone {
            table: table.name,
            rows: loaded,
        });
        tables.push((table.name, loaded));
    }
    Ok((tables, last_ids))
}

/// The counts kept beside the rows must be those of the rows themselves: unfiltered lists
/// and the org's counts read them, and the triggers keep them from here on.
async fn check_counts(conn: &mut PgConnection) -> Result<(), CopyError> {
    let wrong: i64 = sqlx::query_scalar(
        "WITH actual AS (
             SELECT org_id, 'user' AS kind, count(*) AS n FROM scim_users GROUP BY org_id
             UNION ALL
             SELECT org_id, 'group', count(*) FROM scim_groups GROUP BY org_id),
         kept AS (SELECT org_id, kind, sum(n) AS n FROM resource_counts GROUP BY org_id, kind),
         members AS (SELECT org_id, state, count(*) AS n FROM memberships GROUP BY org_id, state),
         members_kept AS (
             SELECT org_id, state, sum(n) AS n FROM membership_counts GROUP BY org_id, state)
         SELECT (SELECT count(*) FROM actual a FULL JOIN kept k USING (org_id, kind)
                 WHERE coalesce(a.n, 0) <> coalesce(k.n, 0))
              + (SELECT count(*) FROM members a FULL JOIN members_kept k USING (org_id, state)
                 WHERE coalesce(a.n, 0) <> coalesce(k.n, 0))",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| CopyError(format!("the target failed: {}", super::postgres::db_err(e))))?;
    if wrong > 0 {
        return Err(CopyError(format!(
            "after loading, {wrong} of the target's kept counts disagree with its rows; \
             nothing was committed"
        )));
    }
    Ok(())
}

/// Reads every table in one read transaction, sending the plan first, then each table's
/// rows as COPY text, in [`TABLES`] order. Runs on a blocking thread.
fn read_source(raw: &mut Raw, send: &mpsc::Sender<Chunk>) -> StoreResult<()> {
    let closed = || StoreError::Db("the target stopped taking rows".into());
    raw.exec("BEGIN")?;
    let result = (|| {
        let mut totals = Vec::with_capacity(TABLES.len());
        for t in TABLES {
            totals.push(single_int(raw, t.count)?.max(0) as u64);
        }
        let mut last_ids = Vec::with_capacity(SEQUENCES.len());
        for (_, _, sql) in SEQUENCES {
            last_ids.push(single_int(raw, sql)?);
        }
        send.blocking_send(Chunk::Plan(totals, last_ids))
            .map_err(|_| closed())?;
        for t in TABLES {
            let mut text = Vec::with_capacity(CHUNK_BYTES + CHUNK_BYTES / 8);
            let mut rows = 0;
            raw.each_row(t.select, &[], |row| {
                encode_row(&row, &mut text);
                rows += 1;
                if text.len() >= CHUNK_BYTES {
                    let full = std::mem::replace(
                        &mut text,
                        Vec::with_capacity(CHUNK_BYTES + CHUNK_BYTES / 8),
                    );
                    send.blocking_send(Chunk::Rows(full, std::mem::take(&mut rows)))
                        .map_err(|_| closed())?;
                }
                Ok(())
            })?;
            if rows > 0 {
                send.blocking_send(Chunk::Rows(text, rows))
                    .map_err(|_| closed())?;
            }
            send.blocking_send(Chunk::End).map_err(|_| closed())?;
        }
        Ok(())
    })();
    // A read transaction has nothing to keep; ending it lets checkpoints past it.
    let _ = raw.exec("ROLLBACK");
    result
}

fn single_int(raw: &mut Raw, sql: &'static str) -> StoreResult<i64> {
    match raw.query(sql, &[])?.first().map(|r| r.as_slice()) {
        Some([Col::Int(n)]) => Ok(*n),
        other => Err(StoreError::Db(format!("{sql}: read {other:?}"))),
    }
}

/// Appends `row` as one line of COPY's text format: tab-separated, `\N` for NULL,
/// backslash, tab, newline and carriage return escaped, blobs as bytea's hex form.
fn encode_row(row: &[Col], out: &mut Vec<u8>) {
    use std::io::Write;
    for (i, col) in row.iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        match col {
            Col::Null => out.extend_from_slice(b"\\N"),
            // Writing to a Vec cannot fail.
            Col::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Col::Real(x) => {
                let _ = write!(out, "{x}");
            }
            Col::Text(s) => escape(s.as_bytes(), out),
            Col::Blob(b) => {
                // `\x` then hex: bytea's input; the backslash itself escaped for COPY.
                out.extend_from_slice(b"\\\\x");
                for byte in b {
                    out.push(HEX[usize::from(byte >> 4)]);
                    out.push(HEX[usize::from(byte & 0xf)]);
                }
            }
        }
    }
    out.push(b'\n');
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn escape(text: &[u8], out: &mut Vec<u8>) {
    let mut start = 0;
    for (i, &b) in text.iter().enumerate() {
        let escaped: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            _ => continue,
        };
        out.extend_from_slice(&text[start..i]);
        out.extend_from_slice(escaped);
        start = i + 1;
    }
    out.extend_from_slice(&text[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_encode_as_copy_text() {
        let mut out = Vec::new();
        encode_row(
            &[
                Col::Int(-7),
                Col::Null,
                Col::Text("a\tb\nc\rd\\e \\N é".into()),
                Col::Blob(vec![0, 0xab, 0xff]),
                Col::Text(String::new()),
            ],
            &mut out,
        );
        encode_row(&[Col::Text("\\.".into())], &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "-7\t\\N\ta\\tb\\nc\\rd\\\\e \\\\N é\t\\\\x00abff\t\n\\\\.\n"
        );
    }

    #[test]
    fn every_table_reads_the_columns_it_copies() {
        for t in TABLES {
            let copied = t.copy.split(['(', ')']).nth(1).unwrap().split(',').count();
            let select = t.select.strip_prefix("SELECT ").unwrap();
            let read = select.rsplit_once(" FROM ").unwrap().0;
            // Each iif() holds two commas of its own.
            let read = read.split(',').count() - 2 * read.matches("iif(").count();
            assert_eq!(copied, read, "{}", t.name);
        }
    }
}
