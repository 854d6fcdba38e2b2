//! The read connections: a few SQLite connections that WAL lets read beside the writer.
//!
//! sqlx's own pool pings every connection when it is given back (a round trip to the
//! connection's thread, two thread wake-ups), which doubled the hand-offs of a one-query
//! read such as the token lookup that every SCIM request makes. This pool only hands out
//! connections and takes them back.
//!
//! A read that is cancelled half-way leaves nothing behind: sqlx's connection thread works
//! through its commands in order, so an abandoned query or transaction is finished (rolled
//! back) before the next user's first command runs.

use super::db_err;
use crate::store::{StoreError, StoreResult};
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Semaphore, SemaphorePermit};

pub(crate) struct Readers {
    options: SqliteConnectOptions,
    size: usize,
    idle: Mutex<Vec<(SqliteConnection, Deadline)>>,
    /// One permit per connection that may exist; closing the pool closes this too.
    permits: Semaphore,
}

/// When the statement running on a connection must stop (ms since the epoch; 0 = never): its
/// progress handler interrupts the statement past it.
type Deadline = Arc<AtomicU64>;

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Virtual machine steps between two looks at the clock: about a millisecond of work.
const STEPS_PER_CHECK: i32 = 20_000;

/// A read connection, given back to the pool when dropped.
pub(crate) struct Reader<'a> {
    conn: Option<(SqliteConnection, Deadline)>,
    pool: &'a Readers,
    _permit: SemaphorePermit<'a>,
}

impl Readers {
    /// At most `size` connections, opened when first needed.
    pub(crate) fn new(options: SqliteConnectOptions, size: usize) -> Readers {
        Readers {
            options,
            size,
            idle: Mutex::new(Vec::with_capacity(size)),
            permits: Semaphore::new(size),
        }
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<(SqliteConnection, Deadline)>> {
        // A panic while the lock was held cannot leave the list half-changed (push and pop).
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a connection.
    pub(crate) async fn acquire(&self) -> StoreResult<Reader<'_>> {
        let permit = self.permits.acquire().await.map_err(|_| {
            StoreError::Db("the store is closed (its read connections are closed)".into())
        })?;
        let idle = self.idle().pop();
        let conn = match idle {
            Some(c) => c,
            None => {
                let mut conn = SqliteConnection::connect_with(&self.options)
                    .await
                    .map_err(db_err)?;
                let deadline = Deadline::default();
                let seen = deadline.clone();
                conn.lock_handle()
                    .await
                    .map_err(db_err)?
                    .set_progress_handler(STEPS_PER_CHECK, move || {
                        let d = seen.load(Ordering::Relaxed);
                        d == 0 || now_ms() <= d
                    });
                (conn, deadline)
            }
        };
        Ok(Reader {
            conn: Some(conn),
            pool: self,
            _permit: permit,
        })
    }

    /// (connections lent out, connections idle, the most there may be), for `/metrics`.
    pub(crate) fn counts(&self) -> (usize, usize, usize) {
        let lent = if self.is_closed() {
            0
        } else {
            self.size - self.permits.available_permits()
        };
        (lent, self.idle().len(), self.size)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.permits.is_closed()
    }

    /// Refuses new reads and closes the idle connections; those in use close when given back.
    pub(crate) async fn close(&self) {
        self.permits.close();
        let idle: Vec<_> = self.idle().drain(..).collect();
        for (c, _) in idle {
            let _ = c.close().await;
        }
    }
}

impl Reader<'_> {
    /// Interrupts this reader's statements once `limit` has passed (the cost bound of a
    /// request: see [`Reader::timed_out`]); lifted when the connection goes back.
    pub(crate) fn limit_time(self, limit: Duration) -> Self {
        if let Some((_, d)) = &self.conn {
            d.store(now_ms() + limit.as_millis() as u64, Ordering::Relaxed);
        }
        self
    }

    /// Whether this reader's time limit has passed (a statement that failed then was
    /// interrupted by it).
    pub(crate) fn timed_out(&self) -> bool {
        self.conn.as_ref().is_some_and(|(_, d)| {
            let d = d.load(Ordering::Relaxed);
            d != 0 && now_ms() > d
        })
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        if let Some((conn, deadline)) = self.conn.take()
            && !self.pool.is_closed()
        {
            deadline.store(0, Ordering::Relaxed);
            self.pool.idle().push((conn, deadline));
        }
    }
}

impl Deref for Reader<'_> {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        &self.conn.as_ref().expect("a Reader holds its connection").0
    }
}

impl DerefMut for Reader<'_> {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.conn.as_mut().expect("a Reader holds its connection").0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_statement_past_the_time_limit_is_interrupted_and_the_limit_goes_with_the_reader() {
        let dir = tempfile::tempdir().unwrap();
        let opts = SqliteConnectOptions::new()
            .filename(dir.path().join("r.db"))
            .create_if_missing(true);
        let pool = Readers::new(opts, 1);
        const ENDLESS: &str = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n \
                               WHERE i < 2000000000) SELECT count(*) FROM n";
        let mut r = pool
            .acquire()
            .await
            .unwrap()
            .limit_time(Duration::from_millis(50));
        let e = sqlx::query_scalar::<_, i64>(ENDLESS)
            .fetch_one(&mut *r)
            .await;
        assert!(e.is_err(), "interrupted");
        assert!(r.timed_out());
        drop(r);
        // The same connection, given out again, has no limit.
        let mut r = pool.acquire().await.unwrap();
        assert!(!r.timed_out());
        let n: i64 = sqlx::query_scalar(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 \
                                         FROM n WHERE i < 300000) SELECT count(*) FROM n",
        )
        .fetch_one(&mut *r)
        .await
        .unwrap();
        assert_eq!(n, 300_000);
    }

    #[tokio::test]
    async fn connections_are_reused_bounded_and_closed() {
        let dir = tempfile::tempdir().unwrap();
        let opts = SqliteConnectOptions::new()
            .filename(dir.path().join("r.db"))
            .create_if_missing(true);
        let pool = Readers::new(opts, 2);
        let mut a = pool.acquire().await.unwrap();
        sqlx::query("CREATE TEMP TABLE mine (x)")
            .execute(&mut *a)
            .await
            .unwrap();
        let b = pool.acquire().await.unwrap();
        assert_eq!(pool.counts(), (2, 0, 2));
        // Both connections are out: a third waits.
        let third = tokio::time::timeout(std::time::Duration::from_millis(50), pool.acquire());
        assert!(third.await.is_err(), "a third connection was opened");
        drop(b);
        drop(a);
        assert_eq!(pool.counts(), (0, 2, 2));
        // The connection given back last is the one handed out next (its temp table shows it).
        let mut again = pool.acquire().await.unwrap();
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM temp.mine")
            .fetch_one(&mut *again)
            .await
            .unwrap();
        assert_eq!(n, 0);
        drop(again);
        pool.close().await;
        assert!(pool.acquire().await.is_err(), "closed");
    }
}
