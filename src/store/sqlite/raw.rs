//! Statements run on the write connection's SQLite handle directly, on the calling thread.
//!
//! sqlx runs every statement on the connection's own thread: each one is a message to that
//! thread and an answer back, two thread wake-ups. On a SCIM create those hand-offs cost more
//! than SQLite's own work. The writer therefore runs small synchronous jobs (see
//! [`super::writer::Writer::run`]) on the handle that sqlx lends out with `lock_handle`, one
//! lock for a whole run of jobs, through this module: the only place with `unsafe` code.
//!
//! A statement text may hold several statements (run in order, their rows concatenated);
//! several statements share arguments through numbered parameters (`?1`, `?2`), as with sqlx.
//! All statements of a text are prepared before the first runs, so a text cannot use a table
//! that an earlier statement of it creates. Prepared statements are kept in a [`Statements`]
//! that the writer owns beside the connection; it finalizes them before the connection leaves
//! its hands or closes (sqlx's close panics on a statement left open).

use crate::store::{StoreError, StoreResult};
use libsqlite3_sys as ffi;
use std::collections::HashMap;
use std::ffi::{CStr, c_char, c_int};
use std::ptr::{self, NonNull};

/// A value bound to a parameter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    Null,
    Int(i64),
    Text(String),
}

impl From<&str> for Arg {
    fn from(s: &str) -> Arg {
        Arg::Text(s.to_string())
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Arg {
        Arg::Text(s)
    }
}

impl From<i64> for Arg {
    fn from(i: i64) -> Arg {
        Arg::Int(i)
    }
}

impl From<bool> for Arg {
    fn from(b: bool) -> Arg {
        Arg::Int(i64::from(b))
    }
}

impl<T: Into<Arg>> From<Option<T>> for Arg {
    fn from(v: Option<T>) -> Arg {
        v.map_or(Arg::Null, Into::into)
    }
}

/// A value read from a column.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Col {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Col {
    pub(crate) fn text(&self) -> StoreResult<&str> {
        match self {
            Col::Text(s) => Ok(s),
            other => Err(StoreError::Db(format!("expected text, read {other:?}"))),
        }
    }

    pub(crate) fn int(&self) -> StoreResult<i64> {
        match self {
            Col::Int(i) => Ok(*i),
            other => Err(StoreError::Db(format!(
                "expected an integer, read {other:?}"
            ))),
        }
    }

    pub(crate) fn bool(&self) -> StoreResult<bool> {
        self.int().map(|i| i != 0)
    }

    /// Text, or `None` for NULL.
    pub(crate) fn opt_text(&self) -> StoreResult<Option<&str>> {
        match self {
            Col::Null => Ok(None),
            other => other.text().map(Some),
        }
    }

    pub(crate) fn blob(&self) -> StoreResult<&[u8]> {
        match self {
            Col::Blob(b) => Ok(b),
            other => Err(StoreError::Db(format!("expected a blob, read {other:?}"))),
        }
    }
}

/// One statement text and its arguments: the unit that both the sqlx path
/// ([`run_sqlx`]) and the direct path ([`Raw::run`]) execute, so that the SQL of a write is
/// written once.
#[derive(Debug, Clone)]
pub(crate) struct Stmt {
    pub sql: &'static str,
    pub args: Vec<Arg>,
}

impl Stmt {
    pub(crate) fn new(sql: &'static str, args: Vec<Arg>) -> Stmt {
        Stmt { sql, args }
    }
}

/// Runs `stmts` in order through sqlx (one round trip to the connection's thread each).
pub(crate) async fn run_sqlx(conn: &mut sqlx::SqliteConnection, stmts: &[Stmt]) -> StoreResult<()> {
    for s in stmts {
        let mut q = sqlx::query(s.sql);
        for a in &s.args {
            q = match a {
                Arg::Null => q.bind(None::<i64>),
                Arg::Int(i) => q.bind(*i),
                Arg::Text(t) => q.bind(t.as_str()),
            };
        }
        q.execute(&mut *conn).await.map_err(super::db_err)?;
    }
    Ok(())
}

/// The write connection's handle while the writer holds its lock.
pub(crate) struct Raw<'a> {
    db: NonNull<ffi::sqlite3>,
    prepared: &'a mut Statements,
}

/// Prepared statements of one connection by statement text, each the statements of that text
/// in order. They are finalized by [`Statements::finalize`] or on drop, which must happen
/// while nothing else uses the connection and before it closes.
#[derive(Default)]
pub(crate) struct Statements(HashMap<&'static str, Vec<NonNull<ffi::sqlite3_stmt>>>);

// SAFETY: the statements are only used through a `Raw`, which has sole use of their
// connection; moving the pointers between threads is what SQLite's multi-thread mode allows.
unsafe impl Send for Statements {}

impl Statements {
    /// Finalizes every statement. Call it while nothing else uses the connection.
    pub(crate) fn finalize(&mut self) {
        for (_, stmts) in self.0.drain() {
            drop(Prepared(stmts));
        }
    }
}

impl Drop for Statements {
    fn drop(&mut self) {
        self.finalize();
    }
}

/// Finalizes its statements, so a failure half-way through preparing leaks none.
struct Prepared(Vec<NonNull<ffi::sqlite3_stmt>>);

impl Drop for Prepared {
    fn drop(&mut self) {
        for s in self.0.drain(..) {
            // SAFETY: each pointer came from a successful prepare and is finalized only here.
            unsafe { ffi::sqlite3_finalize(s.as_ptr()) };
        }
    }
}

/// Resets a statement however its run ends, so it holds no read and keeps no bound text.
struct Running(NonNull<ffi::sqlite3_stmt>);

impl Drop for Running {
    fn drop(&mut self) {
        // SAFETY: the statement is alive (finalized only when its `Raw` drops, after this).
        unsafe {
            ffi::sqlite3_reset(self.0.as_ptr());
            ffi::sqlite3_clear_bindings(self.0.as_ptr());
        }
    }
}

impl<'a> Raw<'a> {
    /// # Safety
    /// `db` must be an open connection that nothing else uses until this `Raw` is dropped,
    /// and `prepared` must hold only statements of `db`.
    pub(crate) unsafe fn new(db: NonNull<ffi::sqlite3>, prepared: &'a mut Statements) -> Raw<'a> {
        Raw { db, prepared }
    }

    fn error(&self, code: c_int) -> StoreError {
        // SAFETY: the handle is open; errmsg returns a NUL-terminated string owned by SQLite,
        // copied before any other call on the handle.
        let (extended, msg) = unsafe {
            let msg = ffi::sqlite3_errmsg(self.db.as_ptr());
            let msg = if msg.is_null() {
                String::new()
            } else {
                CStr::from_ptr(msg).to_string_lossy().into_owned()
            };
            (ffi::sqlite3_extended_errcode(self.db.as_ptr()), msg)
        };
        if matches!(
            extended,
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        ) {
            return StoreError::Conflict(
                "a resource with the same unique value already exists".into(),
            );
        }
        StoreError::Db(format!("error returned from database: ({code}) {msg}"))
    }

    fn prepare(&mut self, sql: &'static str) -> StoreResult<Vec<NonNull<ffi::sqlite3_stmt>>> {
        if let Some(p) = self.prepared.0.get(sql) {
            return Ok(p.clone());
        }
        let mut out = Prepared(Vec::new());
        let mut rest = sql.as_bytes();
        while !rest.is_empty() {
            let len = c_int::try_from(rest.len())
                .map_err(|_| StoreError::Db("a statement text over 2 GiB".into()))?;
            let mut stmt = ptr::null_mut();
            let mut tail: *const c_char = ptr::null();
            // SAFETY: `rest` is valid for `len` bytes (no NUL needed when a length is given);
            // SQLite writes a statement (or null, for only whitespace or comments) and a tail
            // pointer inside `rest`.
            let rc = unsafe {
                ffi::sqlite3_prepare_v3(
                    self.db.as_ptr(),
                    rest.as_ptr().cast(),
                    len,
                    ffi::SQLITE_PREPARE_PERSISTENT,
                    &mut stmt,
                    &mut tail,
                )
            };
            if rc != ffi::SQLITE_OK {
                return Err(self.error(rc));
            }
            if let Some(s) = NonNull::new(stmt) {
                out.0.push(s);
            }
            let used = if tail.is_null() {
                rest.len()
            } else {
                // SAFETY: SQLite sets the tail within the buffer it was given.
                (unsafe { tail.offset_from(rest.as_ptr().cast::<c_char>()) }) as usize
            };
            if used == 0 {
                break;
            }
            rest = &rest[used.min(rest.len())..];
        }
        let stmts = std::mem::take(&mut out.0);
        self.prepared.0.insert(sql, stmts.clone());
        Ok(stmts)
    }

    /// Runs every statement of `s.sql` with its arguments; returns the rows all of them
    /// produced, in order.
    pub(crate) fn run(&mut self, s: &Stmt) -> StoreResult<Vec<Vec<Col>>> {
        self.query(s.sql, &s.args)
    }

    /// Rows inserted, updated or deleted on this connection so far (triggers included); a
    /// statement that failed and was undone counts none.
    pub(crate) fn total_changes(&self) -> i64 {
        // SAFETY: the handle is open.
        unsafe { ffi::sqlite3_total_changes64(self.db.as_ptr()) }
    }

    /// Runs a statement text without arguments, dropping any rows.
    pub(crate) fn exec(&mut self, sql: &'static str) -> StoreResult<()> {
        self.query(sql, &[]).map(|_| ())
    }

    pub(crate) fn query(&mut self, sql: &'static str, args: &[Arg]) -> StoreResult<Vec<Vec<Col>>> {
        let mut rows = Vec::new();
        self.each_row(sql, args, |row| {
            rows.push(row);
            Ok(())
        })?;
        Ok(rows)
    }

    /// Runs a statement text as [`Raw::query`] does, handing each row to `each` as it is
    /// stepped instead of collecting them: a table of any size reads in constant memory. An
    /// error from `each` stops the run and is returned.
    pub(crate) fn each_row(
        &mut self,
        sql: &'static str,
        args: &[Arg],
        mut each: impl FnMut(Vec<Col>) -> StoreResult<()>,
    ) -> StoreResult<()> {
        for stmt in self.prepare(sql)? {
            let running = Running(stmt);
            let st = running.0.as_ptr();
            // SAFETY: `st` is a live statement of this connection, reset (by `Running`) after
            // its last use; texts are bound with SQLITE_TRANSIENT, so SQLite copies them.
            unsafe {
                let wanted = ffi::sqlite3_bind_parameter_count(st);
                for i in 1..=wanted {
                    let Some(arg) = args.get(i as usize - 1) else {
                        // A gap in numbered parameters (`?1` and `?3` only) has no name.
                        if ffi::sqlite3_bind_parameter_name(st, i).is_null() {
                            continue;
                        }
                        return Err(StoreError::Db(format!(
                            "statement wants parameter {i}, given {}",
                            args.len()
                        )));
                    };
                    let rc = match arg {
                        Arg::Null => ffi::sqlite3_bind_null(st, i),
                        Arg::Int(v) => ffi::sqlite3_bind_int64(st, i, *v),
                        Arg::Text(t) => ffi::sqlite3_bind_text(
                            st,
                            i,
                            t.as_ptr().cast(),
                            c_int::try_from(t.len())
                                .map_err(|_| StoreError::Db("a text argument over 2 GiB".into()))?,
                            ffi::SQLITE_TRANSIENT(),
                        ),
                    };
                    if rc != ffi::SQLITE_OK {
                        return Err(self.error(rc));
                    }
                }
                loop {
                    match ffi::sqlite3_step(st) {
                        ffi::SQLITE_ROW => each(read_row(st)?)?,
                        ffi::SQLITE_DONE => break,
                        rc => return Err(self.error(rc)),
                    }
                }
            }
        }
        Ok(())
    }
}

/// # Safety
/// `st` must be a statement whose last step returned SQLITE_ROW.
unsafe fn read_row(st: *mut ffi::sqlite3_stmt) -> StoreResult<Vec<Col>> {
    // SAFETY: per the contract; column pointers are read before the next step.
    unsafe {
        let n = ffi::sqlite3_column_count(st);
        let mut row = Vec::with_capacity(n as usize);
        for c in 0..n {
            row.push(match ffi::sqlite3_column_type(st, c) {
                ffi::SQLITE_INTEGER => Col::Int(ffi::sqlite3_column_int64(st, c)),
                ffi::SQLITE_FLOAT => Col::Real(ffi::sqlite3_column_double(st, c)),
                ffi::SQLITE_TEXT => {
                    let p = ffi::sqlite3_column_text(st, c);
                    let len = ffi::sqlite3_column_bytes(st, c) as usize;
                    let bytes = if p.is_null() {
                        &[][..]
                    } else {
                        std::slice::from_raw_parts(p, len)
                    };
                    Col::Text(String::from_utf8(bytes.to_vec()).map_err(|_| {
                        StoreError::Db(format!("column {c} holds text that is not UTF-8"))
                    })?)
                }
                ffi::SQLITE_BLOB => {
                    let p = ffi::sqlite3_column_blob(st, c).cast::<u8>();
                    let len = ffi::sqlite3_column_bytes(st, c) as usize;
                    Col::Blob(if p.is_null() {
                        Vec::new()
                    } else {
                        std::slice::from_raw_parts(p, len).to_vec()
                    })
                }
                _ => Col::Null,
            });
        }
        Ok(row)
    }
}

/// A read connection of our own (not sqlx's), used on the calling thread under a mutex: for
/// point lookups on every request (the SCIM token), which take microseconds in SQLite but
/// would cost two thread wake-ups through sqlx. Each query is its own read transaction (ended
/// when its statements are reset), so it always sees the last commit and never holds up a
/// checkpoint.
pub(crate) struct PointReader(std::sync::Mutex<Option<ReaderConn>>);

struct ReaderConn {
    db: NonNull<ffi::sqlite3>,
    prepared: Statements,
}

// SAFETY: the connection is opened in multi-thread mode and only used under the mutex.
unsafe impl Send for ReaderConn {}

impl Drop for ReaderConn {
    fn drop(&mut self) {
        self.prepared.finalize();
        // SAFETY: every statement of the connection is finalized; it is closed once, here.
        unsafe { ffi::sqlite3_close(self.db.as_ptr()) };
    }
}

/// How long a point read waits for a lock (only WAL recovery takes one from readers) before
/// it fails: it blocks the thread that asks.
const POINT_READ_BUSY_MS: c_int = 200;

impl PointReader {
    /// Opens `path` (which must exist) for reading.
    pub(crate) fn open(path: &std::path::Path) -> StoreResult<PointReader> {
        use std::os::unix::ffi::OsStrExt;
        let name = std::ffi::CString::new(path.as_os_str().as_bytes())
            .map_err(|_| StoreError::Db("a database path with a NUL byte".into()))?;
        let mut db = ptr::null_mut();
        // SAFETY: `name` is NUL-terminated; SQLite writes a handle (possibly with an error)
        // or null.
        let rc = unsafe {
            ffi::sqlite3_open_v2(
                name.as_ptr(),
                &mut db,
                ffi::SQLITE_OPEN_READWRITE | ffi::SQLITE_OPEN_NOMUTEX,
                ptr::null(),
            )
        };
        let Some(db) = NonNull::new(db) else {
            return Err(StoreError::Db(format!(
                "could not open {} for reading (code {rc})",
                path.display()
            )));
        };
        let mut conn = ReaderConn {
            db,
            prepared: Statements::default(),
        };
        if rc != ffi::SQLITE_OK {
            // SAFETY: the handle (open or failed) is ours alone; it closes when `conn` drops.
            let err = unsafe { Raw::new(conn.db, &mut conn.prepared) }.error(rc);
            return Err(err);
        }
        // SAFETY: the handle is open and ours alone.
        unsafe { ffi::sqlite3_busy_timeout(db.as_ptr(), POINT_READ_BUSY_MS) };
        let reader = PointReader(std::sync::Mutex::new(Some(conn)));
        reader.with(|raw| raw.exec("PRAGMA query_only = ON"))??;
        Ok(reader)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<ReaderConn>> {
        // A panic under the lock leaves no statement running (each is reset on its way out).
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the connection, holding it throughout: a point read, or a long read of
    /// several statements in one transaction (`db copy` reads a whole database so).
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Raw) -> R) -> StoreResult<R> {
        let mut conn = self.lock();
        let Some(conn) = conn.as_mut() else {
            return Err(StoreError::Db(
                "the store is closed (its point reader is closed)".into(),
            ));
        };
        // SAFETY: the mutex gives sole use of the handle; `prepared` holds its statements.
        let mut raw = unsafe { Raw::new(conn.db, &mut conn.prepared) };
        Ok(f(&mut raw))
    }

    /// Runs a read-only statement text; see [`Raw::query`].
    pub(crate) fn query(&self, sql: &'static str, args: &[Arg]) -> StoreResult<Vec<Vec<Col>>> {
        self.with(|raw| raw.query(sql, args))?
    }

    /// Closes the connection; later queries fail. (So that the writer's connection, closed
    /// after it, is the last and checkpoints the WAL away.)
    pub(crate) fn close(&self) {
        self.lock().take();
    }
}

/// Runs `f` on `conn`'s handle on this thread: one hand-off to take the handle from sqlx's
/// thread, none per statement. `prepared` must hold only statements of `conn`, and be
/// finalized (or dropped) before anyone else uses `conn`.
pub(crate) async fn with_raw<R>(
    conn: &mut sqlx::SqliteConnection,
    prepared: &mut Statements,
    f: impl FnOnce(&mut Raw) -> R,
) -> StoreResult<R> {
    let mut guard = conn.lock_handle().await.map_err(super::db_err)?;
    // SAFETY: the guard gives this task sole use of the handle until it drops, after `raw`;
    // the caller keeps `prepared` with this connection.
    let mut raw = unsafe { Raw::new(guard.as_raw_handle(), prepared) };
    let out = f(&mut raw);
    drop(guard);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Connection;

    async fn conn(dir: &tempfile::TempDir) -> sqlx::SqliteConnection {
        let opts = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(dir.path().join("raw.db"))
            .create_if_missing(true);
        sqlx::SqliteConnection::connect_with(&opts).await.unwrap()
    }

    #[tokio::test]
    async fn runs_several_statements_with_numbered_shared_arguments() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = conn(&dir).await;
        let mut prepared = Statements::default();
        let rows = with_raw(&mut c, &mut prepared, |raw| {
            raw.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE, n REAL, b BLOB)")?;
            raw.query(
                "INSERT INTO t (id, name, n, b) VALUES (?1, ?2, 1.5, x'00ff');
                 -- a comment between statements
                 INSERT INTO t (id, name) VALUES (?1 + 1, ?2 || '!') RETURNING id, name;
                 SELECT count(*), ?3 IS NULL, b FROM t WHERE id = ?1",
                &[Arg::Int(7), "é x".into(), Arg::Null],
            )
        })
        .await
        .unwrap()
        .unwrap();
        assert_eq!(
            rows,
            vec![
                vec![Col::Int(8), Col::Text("é x!".into())],
                vec![Col::Int(1), Col::Int(1), Col::Blob(vec![0, 255])],
            ]
        );
        // sqlx sees the same rows once the handle is back: nothing was left open.
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM t")
            .fetch_one(&mut c)
            .await
            .unwrap();
        assert_eq!(n, 2);
        // Kept statements run again on the next locks, with new arguments.
        for (id, name) in [(8, "é x!"), (7, "é x")] {
            let again = with_raw(&mut c, &mut prepared, |raw| {
                raw.query("SELECT name FROM t WHERE id = ?1", &[Arg::Int(id)])
            })
            .await
            .unwrap()
            .unwrap();
            assert_eq!(again, vec![vec![Col::Text(name.into())]]);
        }
        drop(prepared);
        c.close().await.unwrap();
    }

    #[tokio::test]
    async fn errors_say_what_failed_and_unique_violations_are_conflicts() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = conn(&dir).await;
        let mut prepared = Statements::default();
        with_raw(&mut c, &mut prepared, |raw| {
            raw.exec("CREATE TABLE t (name TEXT UNIQUE)")?;
            raw.query("INSERT INTO t VALUES (?1)", &["a".into()])?;
            let dup = raw.query("INSERT INTO t VALUES (?1)", &["a".into()]);
            assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
            let bad = raw.exec("SELEKT 1");
            assert!(
                matches!(&bad, Err(StoreError::Db(m)) if m.contains("syntax error")),
                "{bad:?}"
            );
            let missing = raw.query("SELECT ?1, ?2", &["only one".into()]);
            assert!(matches!(missing, Err(StoreError::Db(_))), "{missing:?}");
            // The statement that failed half-way was reset: the next use works.
            raw.query("INSERT INTO t VALUES (?1)", &["b".into()])?;
            StoreResult::Ok(())
        })
        .await
        .unwrap()
        .unwrap();
        // Once its statements are finalized, sqlx can close the connection.
        prepared.finalize();
        c.close().await.unwrap();
    }

    #[tokio::test]
    async fn a_point_reader_sees_each_commit_and_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = conn(&dir).await;
        sqlx::raw_sql("PRAGMA journal_mode = WAL; CREATE TABLE t (x INTEGER)")
            .execute(&mut c)
            .await
            .unwrap();
        let points = PointReader::open(&dir.path().join("raw.db")).unwrap();
        let count = || points.query("SELECT count(*) FROM t", &[]).unwrap();
        assert_eq!(count(), vec![vec![Col::Int(0)]]);
        sqlx::query("INSERT INTO t VALUES (1)")
            .execute(&mut c)
            .await
            .unwrap();
        assert_eq!(
            count(),
            vec![vec![Col::Int(1)]],
            "the next read sees the commit"
        );
        let write = points.query("INSERT INTO t VALUES (2)", &[]);
        assert!(
            matches!(&write, Err(StoreError::Db(m)) if m.contains("readonly")),
            "{write:?}"
        );
        assert!(PointReader::open(&dir.path().join("missing/none.db")).is_err());
        points.close();
        assert!(points.query("SELECT 1", &[]).is_err(), "closed");
        c.close().await.unwrap();
    }
}
