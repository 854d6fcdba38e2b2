//! Group commit on the one write connection.
//!
//! A write on SQLite costs a fixed price per commit (the WAL append and its bookkeeping, and
//! with sqlx two thread wake-ups for each of BEGIN and COMMIT) on top of its statements. One
//! writer task owns the write connection; every write asks it for the connection. The task
//! opens one transaction, lends the connection to each waiting write in turn (up to
//! [`MAX_BATCH`]), each inside its own SAVEPOINT so that a write that fails or is dropped rolls
//! back alone, then COMMITs once and only then tells each write that it is durable.
//!
//! The connection is *lent*, not driven by closures: a write runs in its own task as
//! `async` code over `&mut SqliteConnection` (through [`WriteTx`]'s `DerefMut`), so it can
//! borrow from its caller and call any helper written as
//! `async fn f(conn: &mut SqliteConnection, ...)`. Dropping a [`WriteTx`] (an early `?`, a
//! cancelled request, a panic) hands the connection back and rolls that write back.

use super::db_err;
use super::raw::{self, Raw};
use crate::store::{StoreError, StoreResult};
use sqlx::sqlite::SqliteConnection;
use sqlx::{Connection, Executor};
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{mpsc, oneshot};

/// The most writes committed together. Bounds how long the first write of a batch waits for
/// its acknowledgement behind the others.
pub(crate) const MAX_BATCH: usize = 64;

enum Request {
    Write(oneshot::Sender<StoreResult<WriteTx>>),
    Run(Job),
    Close(oneshot::Sender<()>),
}

/// A piece of work of a batch: a write to lend the connection to, or a job to run.
enum Work {
    Lend(oneshot::Sender<StoreResult<WriteTx>>),
    Run(Job),
}

/// A write run by the writer itself on the connection's handle (see [`Writer::run`]).
/// Called with the handle, it runs the write and returns how to answer once its batch is
/// committed, or answers its error at once and returns `None`. Called without a handle (the
/// batch could not start) it answers the error it is given.
type Job = Box<dyn FnOnce(Option<&mut Raw>, StoreError) -> Option<Ack> + Send>;

/// Answers one write with its batch's commit result.
type Ack = Box<dyn FnOnce(StoreResult<()>) + Send>;

/// How a lent connection comes back to the writer.
enum Outcome {
    /// The write is done: commit it, then answer here.
    Commit(oneshot::Sender<StoreResult<()>>),
    /// The write was abandoned: roll it back.
    Abort,
}

struct Returned {
    conn: SqliteConnection,
    outcome: Outcome,
}

/// A handle on the writer task. Cloning shares the same task.
#[derive(Clone)]
pub(crate) struct Writer {
    requests: mpsc::UnboundedSender<Request>,
    commits: Arc<AtomicU64>,
}

/// One write's use of the write connection, inside the writer's transaction.
pub struct WriteTx {
    conn: Option<SqliteConnection>,
    back: Option<oneshot::Sender<Returned>>,
}

/// A write that has been queued and waits for the connection.
pub(crate) struct PendingWrite(oneshot::Receiver<StoreResult<WriteTx>>);

fn closed() -> StoreError {
    StoreError::Db("the store is closed (the writer task has stopped)".into())
}

impl Writer {
    /// Starts the writer task on `conn`, which it owns from now on.
    pub(crate) fn spawn(conn: SqliteConnection) -> Writer {
        let (requests, rx) = mpsc::unbounded_channel();
        let commits = Arc::new(AtomicU64::new(0));
        tokio::spawn(run(conn, rx, commits.clone()));
        Writer { requests, commits }
    }

    /// How many transactions the writer has committed so far.
    pub(crate) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Queues a write now; awaiting the result waits for the connection.
    pub(crate) fn queue(&self) -> PendingWrite {
        let (tx, rx) = oneshot::channel();
        // If the task has stopped, `tx` is dropped here and the receiver reports it.
        let _ = self.requests.send(Request::Write(tx));
        PendingWrite(rx)
    }

    /// Waits for the connection: the write then runs inside the writer's transaction.
    pub(crate) async fn begin(&self) -> StoreResult<WriteTx> {
        self.queue().wait().await
    }

    /// Runs `write` on the write connection's handle, in the writer's transaction and on its
    /// thread, and returns its result once the transaction is committed. An `Err` from
    /// `write` (or a panic) undoes it alone; its neighbours in the batch commit.
    ///
    /// For short writes on the hot path (a SCIM create): the whole write costs two thread
    /// hand-offs (to the writer and back) instead of two per statement as through sqlx. The
    /// job blocks the writer's thread while it runs, so it must not wait on anything.
    pub(crate) async fn run<T, E, F>(&self, write: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut Raw) -> Result<T, E> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<T, E>>();
        let job: Job = Box::new(move |raw, refused| {
            let Some(raw) = raw else {
                let _ = tx.send(Err(refused.into()));
                return None;
            };
            match write(raw) {
                Ok(v) => Some(Box::new(move |committed: StoreResult<()>| {
                    let _ = tx.send(committed.map(|()| v).map_err(E::from));
                })),
                Err(e) => {
                    let _ = tx.send(Err(e));
                    None
                }
            }
        });
        // If the task has stopped, the job (and `tx`) is dropped and the receiver says so.
        let _ = self.requests.send(Request::Run(job));
        rx.await.map_err(|_| E::from(closed()))?
    }

    /// Finishes the writes queued before it, then closes the connection (checkpointing the
    /// WAL). Writes queued later fail.
    pub(crate) async fn close(&self) {
        let (tx, rx) = oneshot::channel();
        if self.requests.send(Request::Close(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

impl PendingWrite {
    pub(crate) async fn wait(self) -> StoreResult<WriteTx> {
        self.0.await.map_err(|_| closed())?
    }
}

impl WriteTx {
    /// Ends this write and waits until the transaction that holds it is committed: only then
    /// is the write durable, and only then does this return `Ok`. On `Err` nothing of it was
    /// committed.
    ///
    /// The error type is sqlx's so that call sites read like sqlx transactions.
    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        let (tx, rx) = oneshot::channel();
        self.give_back(Outcome::Commit(tx));
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(sqlx::Error::Protocol(format!("commit failed: {e}"))),
            Err(_) => Err(sqlx::Error::Protocol(
                "commit failed: the writer task stopped".into(),
            )),
        }
    }

    /// Ends this write without keeping anything of it (as dropping it does). The writer
    /// rolls it back to its savepoint; its neighbours in the batch are not affected.
    pub async fn rollback(mut self) -> Result<(), sqlx::Error> {
        self.give_back(Outcome::Abort);
        Ok(())
    }

    fn give_back(&mut self, outcome: Outcome) {
        if let (Some(conn), Some(back)) = (self.conn.take(), self.back.take()) {
            // The writer waits for this; if it is gone, the connection closes with it.
            let _ = back.send(Returned { conn, outcome });
        }
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        self.give_back(Outcome::Abort);
    }
}

impl Deref for WriteTx {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        self.conn
            .as_ref()
            .expect("a WriteTx holds its connection until it ends")
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.conn
            .as_mut()
            .expect("a WriteTx holds its connection until it ends")
    }
}

async fn exec(conn: &mut SqliteConnection, sql: &'static str) -> StoreResult<()> {
    conn.execute(sql).await.map(|_| ()).map_err(db_err)
}

/// Lends `conn` to the write waiting on `reply` and waits for it to come back. `None` when
/// the connection was lost (the write leaked its `WriteTx`).
async fn lend(
    conn: SqliteConnection,
    reply: oneshot::Sender<StoreResult<WriteTx>>,
) -> Option<Returned> {
    let (back, returned) = oneshot::channel();
    let tx = WriteTx {
        conn: Some(conn),
        back: Some(back),
    };
    match reply.send(Ok(tx)) {
        Ok(()) => returned.await.ok(),
        // The caller gave up while queued: the WriteTx comes back unused.
        Err(Ok(mut tx)) => {
            tx.back = None;
            tx.conn.take().map(|conn| Returned {
                conn,
                outcome: Outcome::Abort,
            })
        }
        Err(Err(_)) => unreachable!("only Ok is sent"),
    }
}

/// Where the next piece of work of a batch comes from: the queue, without waiting. A close
/// ends the batch and is kept for after its commit.
fn next_work(
    rx: &mut mpsc::UnboundedReceiver<Request>,
    next: &mut Option<Request>,
) -> Option<Work> {
    match rx.try_recv() {
        Ok(Request::Write(r)) => Some(Work::Lend(r)),
        Ok(Request::Run(job)) => Some(Work::Run(job)),
        Ok(close @ Request::Close(_)) => {
            *next = Some(close);
            None
        }
        Err(_) => None,
    }
}

/// One transaction's worth of writes, as it is being put together.
#[derive(Default)]
struct Batch {
    /// Writes that ran (lent or jobs), committed or not.
    done: usize,
    /// Whether BEGIN has run.
    began: bool,
    /// The transaction was rolled back whole (its first write failed): nothing to commit.
    ended: bool,
    failed: Option<String>,
    acks: Vec<Ack>,
}

impl Batch {
    fn full(&self) -> bool {
        self.ended || self.failed.is_some() || self.done >= MAX_BATCH
    }

    /// Whether the batch ends with a COMMIT.
    fn to_commit(&self) -> bool {
        self.began && !self.ended && self.failed.is_none()
    }

    /// Answers every write of the batch with how its end went (`committed` is the COMMIT's
    /// result when there was one), and counts the commit.
    fn answer(self, committed: Result<(), String>, commits: &AtomicU64) {
        let result = match self.failed {
            Some(why) => Err(why),
            None => committed,
        };
        if let Err(why) = &result {
            tracing::error!(error = %why, "a group commit failed; its writes are rolled back");
        } else if self.began && !self.ended {
            commits.fetch_add(1, Ordering::Relaxed);
        }
        for ack in self.acks {
            ack(result.clone().map_err(StoreError::Db));
        }
    }
}

/// Runs `job`, and the jobs queued behind it, on the handle: no hand-off per statement.
/// Returns the work that ends the run (a lend) if there is one.
fn run_jobs(
    raw: &mut Raw,
    job: Job,
    batch: &mut Batch,
    rx: &mut mpsc::UnboundedReceiver<Request>,
    next: &mut Option<Request>,
) -> Option<Work> {
    let mut job = job;
    loop {
        if !batch.began {
            if let Err(e) = raw.exec("BEGIN IMMEDIATE") {
                // The job's answer is its own failure; the batch has nothing to commit.
                job(None, e);
                batch.ended = true;
                return None;
            }
            batch.began = true;
        }
        // As with lent writes, the first needs no savepoint: if it fails, the transaction
        // is rolled back whole and the batch ends.
        let savepoint = batch.done > 0;
        batch.done += 1;
        if savepoint && let Err(e) = raw.exec("SAVEPOINT write") {
            job(None, e);
            batch.failed = Some("could not open a savepoint".into());
            return None;
        }
        let ran =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(Some(raw), closed())));
        match ran {
            Ok(Some(ack)) => batch.acks.push(ack),
            // The job failed (and has answered) or panicked: undo it alone.
            Ok(None) | Err(_) => {
                let undo = if savepoint {
                    "ROLLBACK TO write"
                } else {
                    "ROLLBACK"
                };
                if let Err(e) = raw.exec(undo) {
                    batch.failed = Some(e.to_string());
                    return None;
                }
                if !savepoint {
                    batch.ended = true;
                    return None;
                }
            }
        }
        if batch.full() {
            return None;
        }
        match next_work(rx, next) {
            Some(Work::Run(j)) => job = j,
            other => return other,
        }
    }
}

/// Ends a batch on the handle: COMMIT, or ROLLBACK what is left of a failed one.
fn finish_raw(raw: &mut Raw, batch: &Batch) -> Result<(), String> {
    if batch.to_commit() {
        let committed = raw.exec("COMMIT").map_err(|e| e.to_string());
        if committed.is_err() {
            // The transaction may already be gone (SQLite rolls back by itself on some
            // errors): then this fails, harmlessly.
            let _ = raw.exec("ROLLBACK");
        }
        committed
    } else {
        if batch.failed.is_some() {
            let _ = raw.exec("ROLLBACK");
        }
        Ok(())
    }
}

/// Ends a batch through sqlx (see [`finish_raw`]).
async fn finish_sqlx(
    conn: &mut SqliteConnection,
    to_commit: bool,
    failed: bool,
) -> Result<(), String> {
    if to_commit {
        let committed = exec(conn, "COMMIT").await.map_err(|e| e.to_string());
        if committed.is_err() {
            let _ = exec(conn, "ROLLBACK").await;
        }
        committed
    } else {
        if failed {
            let _ = exec(conn, "ROLLBACK").await;
        }
        Ok(())
    }
}

/// Runs batches of jobs holding the connection's handle, from BEGIN to COMMIT, and keeps
/// holding it while it waits for more: as long as only jobs come, sqlx's connection thread
/// is not involved at all. Returns the first request that is not a job (a lend or a close),
/// or `None` once every sender is gone.
async fn run_phase(
    conn: &mut SqliteConnection,
    prepared: &mut raw::Statements,
    rx: &mut mpsc::UnboundedReceiver<Request>,
    job: Job,
    commits: &AtomicU64,
) -> Option<Request> {
    let mut guard = match conn.lock_handle().await {
        Ok(g) => g,
        Err(e) => {
            job(None, db_err(e));
            return rx.recv().await;
        }
    };
    let mut job = job;
    loop {
        let mut batch = Batch::default();
        let mut next = None;
        let (after, committed) = {
            // SAFETY: the guard gives this task sole use of the handle while it lives;
            // `prepared` holds only statements of this connection.
            let mut raw = unsafe { Raw::new(guard.as_raw_handle(), prepared) };
            let after = run_jobs(&mut raw, job, &mut batch, rx, &mut next);
            (after, finish_raw(&mut raw, &batch))
        };
        batch.answer(committed, commits);
        match after {
            Some(Work::Lend(reply)) => return Some(Request::Write(reply)),
            Some(Work::Run(_)) => unreachable!("run_jobs runs every job it takes"),
            None => {}
        }
        if next.is_some() {
            return next;
        }
        match rx.recv().await {
            Some(Request::Run(j)) => job = j,
            other => return other,
        }
    }
}

async fn run(
    mut conn: SqliteConnection,
    mut rx: mpsc::UnboundedReceiver<Request>,
    commits: Arc<AtomicU64>,
) {
    // The statements that jobs prepared on the handle, kept from batch to batch. They are
    // finalized whenever the connection leaves this task (lent, closed), so that no other
    // user of it sees them; dropped here, they are finalized before `conn`.
    let mut prepared = raw::Statements::default();
    let mut next = rx.recv().await;
    loop {
        let first = match next.take() {
            None => break,
            Some(Request::Close(done)) => {
                rx.close();
                prepared.finalize();
                let _ = conn.close().await;
                let _ = done.send(());
                return;
            }
            Some(Request::Run(job)) => {
                next = run_phase(&mut conn, &mut prepared, &mut rx, job, &commits).await;
                continue;
            }
            Some(Request::Write(reply)) => reply,
        };
        // A batch that starts with a lent write: lend the connection to each write in turn,
        // and run any jobs that come between them on the handle.
        let mut batch = Batch::default();
        let mut work = Some(Work::Lend(first));
        while let Some(w) = work.take() {
            match w {
                Work::Run(job) => {
                    let ran = raw::with_raw(&mut conn, &mut prepared, |raw| {
                        run_jobs(raw, job, &mut batch, &mut rx, &mut next)
                    })
                    .await;
                    match ran {
                        Ok(w) => work = w,
                        Err(e) => {
                            // The handle could not be taken: the job was not run, and is
                            // dropped with the closure, which answers its caller.
                            batch.failed = Some(e.to_string());
                        }
                    }
                }
                Work::Lend(reply) => {
                    if !batch.began {
                        if let Err(e) = exec(&mut conn, "BEGIN IMMEDIATE").await {
                            let _ = reply.send(Err(e));
                            batch.ended = true;
                            break;
                        }
                        batch.began = true;
                    }
                    // The first write needs no savepoint: if it aborts, the whole transaction
                    // is rolled back and the batch starts afresh.
                    let savepoint = batch.done > 0;
                    batch.done += 1;
                    if savepoint && let Err(e) = exec(&mut conn, "SAVEPOINT write").await {
                        let _ = reply.send(Err(e));
                        batch.failed = Some("could not open a savepoint".into());
                        break;
                    }
                    prepared.finalize();
                    let Some(back) = lend(conn, reply).await else {
                        // Only a leaked WriteTx loses the connection, and it may still hold the
                        // write lock: nothing can be written any more, so stop and say why.
                        tracing::error!(
                            "a write kept the write connection; the store stops writing"
                        );
                        for ack in batch.acks {
                            ack(Err(closed()));
                        }
                        return;
                    };
                    conn = back.conn;
                    match back.outcome {
                        Outcome::Commit(ack) => batch.acks.push(Box::new(move |r| {
                            let _ = ack.send(r);
                        })),
                        Outcome::Abort if savepoint => {
                            if let Err(e) = exec(&mut conn, "ROLLBACK TO write").await {
                                batch.failed = Some(e.to_string());
                            }
                        }
                        Outcome::Abort => {
                            if let Err(e) = exec(&mut conn, "ROLLBACK").await {
                                batch.failed = Some(e.to_string());
                            }
                            batch.ended = true;
                        }
                    }
                    if !batch.full() {
                        work = next_work(&mut rx, &mut next);
                    }
                }
            }
        }
        let committed = finish_sqlx(&mut conn, batch.to_commit(), batch.failed.is_some()).await;
        batch.answer(committed, &commits);
        if next.is_none() {
            next = rx.recv().await;
        }
    }
    prepared.finalize();
    let _ = conn.close().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::SqliteConnectOptions;

    async fn setup(dir: &tempfile::TempDir) -> (Writer, SqliteConnection) {
        let opts = SqliteConnectOptions::new()
            .filename(dir.path().join("w.db"))
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
        let mut conn = SqliteConnection::connect_with(&opts).await.unwrap();
        conn.execute("CREATE TABLE t (x INTEGER PRIMARY KEY)")
            .await
            .unwrap();
        let reader = SqliteConnection::connect_with(&opts).await.unwrap();
        (Writer::spawn(conn), reader)
    }

    async fn insert(tx: &mut WriteTx, x: i64) -> sqlx::Result<()> {
        sqlx::query("INSERT INTO t (x) VALUES (?)")
            .bind(x)
            .execute(&mut **tx)
            .await
            .map(|_| ())
    }

    async fn rows(reader: &mut SqliteConnection) -> Vec<i64> {
        sqlx::query_scalar("SELECT x FROM t ORDER BY x")
            .fetch_all(reader)
            .await
            .unwrap()
    }

    /// Holds the connection with write `first` while the writes in `queued` wait, so that
    /// they all land in one batch.
    #[tokio::test]
    async fn a_failing_write_rolls_back_alone_and_its_neighbours_commit() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, mut reader) = setup(&dir).await;
        let mut first = writer.begin().await.unwrap();
        let second = writer.queue();
        let third = writer.queue();
        let fourth = writer.queue();
        insert(&mut first, 1).await.unwrap();
        let first = tokio::spawn(first.commit());
        // A write that fails on a constraint and gives up, as a `?` would.
        let mut tx = second.wait().await.unwrap();
        insert(&mut tx, 2).await.unwrap();
        assert!(insert(&mut tx, 1).await.is_err(), "duplicate key");
        drop(tx);
        let mut tx = third.wait().await.unwrap();
        insert(&mut tx, 3).await.unwrap();
        let third = tokio::spawn(tx.commit());
        // A write that panics half-way.
        let panicked = tokio::spawn(async move {
            let mut tx = fourth.wait().await.unwrap();
            insert(&mut tx, 4).await.unwrap();
            panic!("a write that panics");
        })
        .await;
        assert!(panicked.is_err());
        first.await.unwrap().unwrap();
        third.await.unwrap().unwrap();
        assert_eq!(rows(&mut reader).await, vec![1, 3]);
        // The writer goes on after all of it.
        let mut tx = writer.begin().await.unwrap();
        insert(&mut tx, 5).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(rows(&mut reader).await, vec![1, 3, 5]);
        writer.close().await;
    }

    #[tokio::test]
    async fn a_write_is_acknowledged_only_after_its_batch_commits() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, mut reader) = setup(&dir).await;
        let mut first = writer.begin().await.unwrap();
        let second = writer.queue();
        insert(&mut first, 1).await.unwrap();
        let acked = tokio::spawn(first.commit());
        // The writer lends the connection to the second write only once the first has
        // returned it, and has not committed yet: the first is not answered, nor visible.
        let mut tx = second.wait().await.unwrap();
        assert!(!acked.is_finished());
        assert_eq!(rows(&mut reader).await, Vec::<i64>::new());
        insert(&mut tx, 2).await.unwrap();
        tx.commit().await.unwrap();
        acked.await.unwrap().unwrap();
        assert_eq!(rows(&mut reader).await, vec![1, 2]);
        writer.close().await;
    }

    #[tokio::test]
    async fn the_first_write_of_a_batch_can_fail_without_losing_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, mut reader) = setup(&dir).await;
        let mut first = writer.begin().await.unwrap();
        let second = writer.queue();
        let abandoned = writer.queue();
        insert(&mut first, 1).await.unwrap();
        first.rollback().await.unwrap();
        // A caller that stops waiting before its turn costs nothing.
        drop(abandoned);
        let mut tx = second.wait().await.unwrap();
        insert(&mut tx, 2).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(rows(&mut reader).await, vec![2]);
        writer.close().await;
        assert!(writer.begin().await.is_err(), "closed");
    }

    fn insert_job(x: i64) -> impl FnOnce(&mut Raw) -> StoreResult<()> + Send + 'static {
        move |raw| {
            raw.query("INSERT INTO t (x) VALUES (?1)", &[x.into()])
                .map(|_| ())
        }
    }

    /// Jobs run on the handle and lent writes share one batch; a job that fails or panics is
    /// undone alone, and every answer waits for the commit.
    #[tokio::test]
    async fn jobs_and_lent_writes_share_a_batch_and_fail_alone() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, mut reader) = setup(&dir).await;
        let mut first = writer.begin().await.unwrap();
        let w = writer.clone();
        let ok = tokio::spawn(async move { w.run(insert_job(2)).await });
        let w = writer.clone();
        let failed = tokio::spawn(async move {
            w.run(|raw| {
                insert_job(3)(raw)?;
                // A duplicate key: the job's own error, after a write that must not stay.
                insert_job(2)(raw)
            })
            .await
        });
        let w = writer.clone();
        let panicked = tokio::spawn(async move {
            w.run(|raw| -> StoreResult<()> {
                insert_job(4)(raw)?;
                panic!("a job that panics")
            })
            .await
        });
        let lent = writer.queue();
        // Let the jobs reach the queue (behind the lent write) before the connection comes
        // back, so that all of them join the first write's batch.
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        insert(&mut first, 1).await.unwrap();
        let first = tokio::spawn(first.commit());
        let mut tx = lent.wait().await.unwrap();
        assert!(!ok.is_finished(), "answered before the commit");
        insert(&mut tx, 5).await.unwrap();
        tx.commit().await.unwrap();
        first.await.unwrap().unwrap();
        ok.await.unwrap().unwrap();
        assert!(matches!(
            failed.await.unwrap(),
            Err(StoreError::Conflict(_))
        ));
        assert!(panicked.await.unwrap().is_err(), "a panicking job fails");
        assert_eq!(rows(&mut reader).await, vec![1, 2, 5]);
        assert_eq!(writer.commits(), 1, "one transaction for all of them");
        writer.close().await;
    }

    #[tokio::test]
    async fn a_failing_first_job_ends_its_batch_and_the_next_one_commits() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, mut reader) = setup(&dir).await;
        let failed = writer
            .run(|raw| {
                insert_job(1)(raw)?;
                Err::<(), _>(StoreError::Db("no".into()))
            })
            .await;
        assert!(failed.is_err());
        writer.run(insert_job(2)).await.unwrap();
        assert_eq!(rows(&mut reader).await, vec![2]);
        writer.close().await;
        assert!(writer.run(insert_job(3)).await.is_err(), "closed");
    }

    #[tokio::test]
    async fn many_concurrent_writes_all_commit() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, mut reader) = setup(&dir).await;
        let tasks: Vec<_> = (0..200)
            .map(|x| {
                let writer = writer.clone();
                tokio::spawn(async move {
                    let mut tx = writer.begin().await.unwrap();
                    insert(&mut tx, x).await.unwrap();
                    tx.commit().await.unwrap();
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(rows(&mut reader).await, (0..200).collect::<Vec<i64>>());
        writer.close().await;
    }
}
