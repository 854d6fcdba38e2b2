//! Group commit on the one write connection.
//!
//! A write on SQLite costs a fixed price per commit (the WAL append and its bookkeeping, and
//! with sqlx two thread wake-ups for each of BEGIN and COMMIT) on top of its statements. One
//! writer task owns the write connection; every write asks it for it. The task opens one
//! transaction, runs the writes waiting for it in turn (up to [`MAX_BATCH`]), then COMMITs once
//! and only then tells each write that it is durable. A write that fails is undone alone.
//!
//! Writes come in two kinds:
//!
//! - **Lent** ([`Writer::begin`]): the connection is lent to the write, which runs in its own
//!   task as `async` code over `&mut SqliteConnection` (through [`WriteTx`]'s `DerefMut`), so
//!   it can borrow from its caller and call any helper written as
//!   `async fn f(conn: &mut SqliteConnection, ...)`. Each runs inside its own SAVEPOINT;
//!   dropping a [`WriteTx`] (an early `?`, a cancelled request, a panic) hands the connection
//!   back and rolls that write back to it.
//! - **Jobs** ([`Writer::run`]): a short synchronous closure that the writer runs itself on the
//!   connection's SQLite handle (see `raw`), with no thread hand-off per statement. While only
//!   jobs come, the writer keeps the handle from batch to batch, so sqlx's connection thread is
//!   not involved at all. Jobs run without savepoints (a savepoint makes SQLite copy pages to a
//!   sub-journal, and makes FTS5 flush its pending index entries, at every write): a job that
//!   fails without having changed a row costs nothing, and one that fails after changing rows
//!   rolls the transaction back, after which the jobs of the batch that succeeded run again.
//!   A job must therefore give the same result when it runs again on the same state, and it
//!   should check what can fail before it writes.
//!
//! A batch holds one kind: when the other kind comes next, the batch commits first.

use super::db_err;
use super::raw::{self, Raw};
use crate::store::{StoreError, StoreResult};
use sqlx::sqlite::SqliteConnection;
use sqlx::{Connection, Executor};
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// The most writes committed together. Bounds how long the first write of a batch waits for
/// its acknowledgement behind the others.
pub(crate) const MAX_BATCH: usize = 64;

/// How long a write waits for the write connection, and how long a lent write may hold it.
///
/// A lent write holds the one write connection from its first statement to its commit, and
/// every other write waits behind it. A write of the store takes milliseconds; one that holds
/// the connection for seconds is a bug (or a request stuck on something it should not wait
/// for). Then the writes queued behind it give up after `wait` with
/// [`StoreError::Unavailable`] (HTTP 503 with `Retry-After`, nothing written), and the write
/// that held the connection past `hold` is rolled back when it comes back, its commit
/// answering `Unavailable` too, so that nothing acknowledged depends on it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) wait: Duration,
    pub(crate) hold: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            wait: Duration::from_secs(10),
            // Generous: a mapping saved on a group of 100,000 members reconciles each of them
            // in one lent write; the limit is a guard against a stuck write, not a latency goal.
            hold: Duration::from_secs(60),
        }
    }
}

/// A check that a lent write must pass before it is lent the connection, run by the writer on
/// the connection's handle inside the transaction (see [`Writer::begin_checked`]). It must only
/// read.
pub(crate) type Check = Box<dyn FnOnce(&mut Raw) -> StoreResult<()> + Send>;

/// A lent write waiting for the connection: where to send it, and its check if it has one.
struct Lend {
    reply: oneshot::Sender<StoreResult<WriteTx>>,
    check: Option<Check>,
}

enum Request {
    Write(Lend),
    Run(Box<dyn Job>),
    Close(oneshot::Sender<()>),
}

/// A write that the writer runs itself on the connection's handle (see [`Writer::run`]).
trait Job: Send {
    /// Runs the write, keeping its result for the answer. `false` when it failed.
    fn run(&mut self, raw: &mut Raw) -> bool;
    /// Answers the caller: the write's error if it failed, else its value once `committed`
    /// is `Ok`. A job that never ran answers `committed`'s error, or "closed".
    fn answer(self: Box<Self>, committed: StoreResult<()>);
}

struct Call<F, T, E> {
    write: F,
    out: Option<Result<T, E>>,
    reply: oneshot::Sender<Result<T, E>>,
}

impl<F, T, E> Job for Call<F, T, E>
where
    F: FnMut(&mut Raw) -> Result<T, E> + Send,
    T: Send,
    E: From<StoreError> + Send,
{
    fn run(&mut self, raw: &mut Raw) -> bool {
        // A run that panics must not leave an earlier run's value to be answered.
        self.out = None;
        let out = (self.write)(raw);
        let ok = out.is_ok();
        self.out = Some(out);
        ok
    }

    fn answer(self: Box<Self>, committed: StoreResult<()>) {
        let this = *self;
        let reply = match (this.out, committed) {
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(v)), Ok(())) => Ok(v),
            (_, Err(e)) => Err(E::from(e)),
            // It panicked (a bug): its writes were undone with its batch's.
            (None, Ok(())) => Err(E::from(StoreError::Db(
                "the write stopped unexpectedly; nothing of it was kept".into(),
            ))),
        };
        let _ = this.reply.send(reply);
    }
}

/// How a lent connection comes back to the writer.
enum Outcome {
    /// The write is done: commit it, then answer here.
    Commit(oneshot::Sender<StoreResult<()>>),
    /// The write was abandoned: roll it back.
    Abort,
}

struct Returned {
    /// Before `conn`, so that if this is dropped the statements are finalized first.
    prepared: raw::Statements,
    conn: SqliteConnection,
    outcome: Outcome,
}

/// What every batch needs besides the connection.
struct Ctx {
    before_commit: &'static str,
    /// `before_commit` then COMMIT, as one statement text: one round trip through sqlx.
    commit_sql: String,
    commits: Arc<AtomicU64>,
    limits: Limits,
}

/// A handle on the writer task. Cloning shares the same task.
#[derive(Clone)]
pub(crate) struct Writer {
    requests: mpsc::UnboundedSender<Request>,
    commits: Arc<AtomicU64>,
    /// Writes sent and not yet taken up by the task (see [`Inbox`]).
    waiting: Arc<AtomicU64>,
    limits: Limits,
}

/// The task's end of the request channel. It counts what waits in it, which tokio's
/// unbounded channel only tells its receiver, so that `/metrics` can read the queue's depth
/// from any thread.
struct Inbox {
    rx: mpsc::UnboundedReceiver<Request>,
    waiting: Arc<AtomicU64>,
}

impl Inbox {
    fn took(&self, r: Option<Request>) -> Option<Request> {
        if matches!(r, Some(Request::Write(_) | Request::Run(_))) {
            self.waiting.fetch_sub(1, Ordering::Relaxed);
        }
        r
    }

    async fn recv(&mut self) -> Option<Request> {
        let r = self.rx.recv().await;
        self.took(r)
    }

    fn try_recv(&mut self) -> Option<Request> {
        let r = self.rx.try_recv().ok();
        self.took(r)
    }

    fn close(&mut self) {
        self.rx.close();
    }
}

/// One write's use of the write connection, inside the writer's transaction.
pub struct WriteTx {
    /// The writer's prepared statements, lent with the connection so that a lent write's
    /// direct statements ([`WriteTx::with_raw`]) are prepared once, not once per write.
    /// Before `conn`, so that they are finalized before it if this is dropped unreturned.
    prepared: raw::Statements,
    conn: Option<SqliteConnection>,
    back: Option<oneshot::Sender<Returned>>,
}

/// A write that has been queued and waits for the connection.
pub(crate) struct PendingWrite(oneshot::Receiver<StoreResult<WriteTx>>);

fn closed() -> StoreError {
    StoreError::Db("the store is closed (the writer task has stopped)".into())
}

impl Writer {
    /// Starts the writer task on `conn`, which it owns from now on. `before_commit` runs in
    /// every transaction just before its COMMIT (statements without arguments).
    pub(crate) fn spawn(conn: SqliteConnection, before_commit: &'static str) -> Writer {
        Writer::spawn_with(conn, before_commit, Limits::default())
    }

    /// [`Writer::spawn`] with other [`Limits`] than the default ones.
    pub(crate) fn spawn_with(
        conn: SqliteConnection,
        before_commit: &'static str,
        limits: Limits,
    ) -> Writer {
        let (requests, rx) = mpsc::unbounded_channel();
        let commits = Arc::new(AtomicU64::new(0));
        let waiting = Arc::new(AtomicU64::new(0));
        let rx = Inbox {
            rx,
            waiting: waiting.clone(),
        };
        let ctx = Ctx {
            before_commit,
            commit_sql: format!("{before_commit};\nCOMMIT"),
            commits: commits.clone(),
            limits,
        };
        // On the server's runtime, not a thread of its own: lent writes hand the connection
        // back and forth with request tasks, and across runtimes each hand-off wakes another
        // thread (measured: member PATCH went from 145 to 340 µs of CPU). Jobs do block the
        // worker they run on, for at most one batch.
        tokio::spawn(run(conn, rx, ctx));
        Writer {
            requests,
            commits,
            waiting,
            limits,
        }
    }

    /// How many transactions the writer has committed so far.
    pub(crate) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Writes (jobs and lent writes) queued and not yet taken up by the writer.
    pub(crate) fn waiting(&self) -> u64 {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Sends a write to the task, counting it until the task takes it up.
    fn send(&self, r: Request) {
        self.waiting.fetch_add(1, Ordering::Relaxed);
        if self.requests.send(r).is_err() {
            // The task has stopped: nothing will take it up.
            self.waiting.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Queues a write now; awaiting the result waits for the connection.
    #[cfg(test)]
    pub(crate) fn queue(&self) -> PendingWrite {
        self.queue_checked(None)
    }

    /// [`Writer::queue`] with a check the write must pass first (see [`Writer::begin_checked`]).
    fn queue_checked(&self, check: Option<Check>) -> PendingWrite {
        let (reply, rx) = oneshot::channel();
        // If the task has stopped, `reply` is dropped here and the receiver reports it.
        self.send(Request::Write(Lend { reply, check }));
        PendingWrite(rx)
    }

    /// Waits for the connection: the write then runs inside the writer's transaction. Gives
    /// up after [`Limits::wait`] with [`StoreError::Unavailable`]; the write is then never
    /// lent the connection (a connection sent just as it gave up comes back unused).
    #[cfg(test)]
    pub(crate) async fn begin(&self) -> StoreResult<WriteTx> {
        self.begin_checked(None).await
    }

    /// [`Writer::begin`], the write being lent the connection only if `check` passes first; if
    /// it fails, its error is the answer and nothing was written. The writer runs the check on
    /// the connection's handle in the same hand-off that opens the write's transaction or
    /// savepoint, so a check costs a statement, not a trip to sqlx's connection thread
    /// (measured: a separate trip added ~40 µs of CPU to each member PATCH).
    pub(crate) async fn begin_checked(&self, check: Option<Check>) -> StoreResult<WriteTx> {
        let wait = self.limits.wait;
        match tokio::time::timeout(wait, self.queue_checked(check).wait()).await {
            Ok(tx) => tx,
            Err(_) => Err(StoreError::Unavailable(format!(
                "waited {} ms for the write connection",
                wait.as_millis()
            ))),
        }
    }

    /// Runs `write` on the write connection's handle, in the writer's transaction and on its
    /// thread, and returns its result once the transaction is committed. An `Err` from
    /// `write` (or a panic) undoes it alone; its neighbours in the batch commit.
    ///
    /// `write` may run more than once (see the module's notes): it must give the same result
    /// on the same state, and should fail, where it can, before it changes anything. It blocks
    /// the writer's thread while it runs, so it must not wait on anything.
    ///
    /// For short writes on the hot path (a SCIM create): the whole write costs two thread
    /// hand-offs (to the writer and back) instead of two per statement as through sqlx.
    pub(crate) async fn run<T, E, F>(&self, write: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnMut(&mut Raw) -> Result<T, E> + Send + 'static,
    {
        let (reply, rx) = oneshot::channel::<Result<T, E>>();
        let job = Box::new(Call {
            write,
            out: None,
            reply,
        });
        // If the task has stopped, the job (and its reply) is dropped and `rx` says so.
        self.send(Request::Run(job));
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
            // A timeout, as an error that `db_err` turns back into `Unavailable`.
            Ok(Err(StoreError::Unavailable(m))) => Err(sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                m,
            ))),
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

    /// Runs `f` on the connection's handle with the writer's cached prepared statements;
    /// see [`raw::with_raw`].
    pub(crate) async fn with_raw<R>(&mut self, f: impl FnOnce(&mut Raw) -> R) -> StoreResult<R> {
        let conn = self
            .conn
            .as_mut()
            .expect("a WriteTx holds its connection until it ends");
        raw::with_raw(conn, &mut self.prepared, f).await
    }

    fn give_back(&mut self, outcome: Outcome) {
        if let (Some(conn), Some(back)) = (self.conn.take(), self.back.take()) {
            let prepared = std::mem::take(&mut self.prepared);
            // The writer waits for this; if it is gone, the connection closes with it.
            let _ = back.send(Returned {
                prepared,
                conn,
                outcome,
            });
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
///
/// A write that holds the connection past `hold` is let finish (nothing can take the
/// connection from it) but not committed: it comes back as an abort, and its commit answers
/// [`StoreError::Unavailable`].
async fn lend(
    conn: SqliteConnection,
    prepared: raw::Statements,
    reply: oneshot::Sender<StoreResult<WriteTx>>,
    hold: Duration,
) -> Option<Returned> {
    let (back, mut returned) = oneshot::channel();
    let expired = Arc::new(AtomicBool::new(false));
    let tx = WriteTx {
        prepared,
        conn: Some(conn),
        back: Some(back),
    };
    match reply.send(Ok(tx)) {
        Ok(()) => {
            let mut back = match tokio::time::timeout(hold, &mut returned).await {
                Ok(back) => back.ok()?,
                Err(_) => {
                    expired.store(true, Ordering::Relaxed);
                    tracing::warn!(
                        hold_ms = hold.as_millis() as u64,
                        "a write held the write connection past its limit; it will be rolled back"
                    );
                    returned.await.ok()?
                }
            };
            if expired.load(Ordering::Relaxed)
                && let Outcome::Commit(ack) = std::mem::replace(&mut back.outcome, Outcome::Abort)
            {
                let _ = ack.send(Err(StoreError::Unavailable(format!(
                    "the write held the write connection past {} ms and was rolled back",
                    hold.as_millis()
                ))));
            }
            Some(back)
        }
        // The caller gave up while queued: the WriteTx comes back unused.
        Err(Ok(mut tx)) => {
            tx.back = None;
            let prepared = std::mem::take(&mut tx.prepared);
            tx.conn.take().map(|conn| Returned {
                prepared,
                conn,
                outcome: Outcome::Abort,
            })
        }
        Err(Err(_)) => unreachable!("only Ok is sent"),
    }
}

/// Runs a job, a panic counting as a failure (its answer then says the store is closed).
fn run_caught(job: &mut Box<dyn Job>, raw: &mut Raw) -> bool {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.run(raw))).unwrap_or(false)
}

/// Runs `job` in the open transaction. Returns whether the transaction is still good: `false`
/// when the job failed after changing rows (its answer is sent; the caller must undo).
fn run_job(raw: &mut Raw, mut job: Box<dyn Job>, done: &mut Vec<Box<dyn Job>>) -> bool {
    let before = raw.total_changes();
    if run_caught(&mut job, raw) {
        done.push(job);
        return true;
    }
    let clean = raw.total_changes() == before;
    job.answer(Ok(()));
    clean
}

/// After a job failed having changed rows: rolls the transaction back and runs the jobs that
/// had succeeded again, in order, until all that remain succeed.
fn redo(raw: &mut Raw, done: &mut Vec<Box<dyn Job>>) -> StoreResult<()> {
    loop {
        raw.exec("ROLLBACK")?;
        raw.exec("BEGIN IMMEDIATE")?;
        let mut jobs = std::mem::take(done).into_iter();
        let mut clean = true;
        for job in jobs.by_ref() {
            if !run_job(raw, job, done) {
                clean = false;
                break;
            }
        }
        if clean {
            return Ok(());
        }
        done.extend(jobs);
    }
}

/// Runs batches of jobs holding the connection's handle, from BEGIN to COMMIT, and keeps
/// holding it while it waits for more: as long as only jobs come, sqlx's connection thread
/// is not involved at all. Returns the first request that is not a job (a lend or a close),
/// or `None` once every sender is gone.
async fn run_jobs(
    conn: &mut SqliteConnection,
    prepared: &mut raw::Statements,
    rx: &mut Inbox,
    first: Box<dyn Job>,
    ctx: &Ctx,
) -> Option<Request> {
    let mut guard = match conn.lock_handle().await {
        Ok(g) => g,
        Err(e) => {
            first.answer(Err(db_err(e)));
            return rx.recv().await;
        }
    };
    let mut job = first;
    loop {
        let mut done: Vec<Box<dyn Job>> = Vec::new();
        let mut after = None;
        let committed = {
            // SAFETY: the guard gives this task sole use of the handle while it lives;
            // `prepared` holds only statements of this connection.
            let mut raw = unsafe { Raw::new(guard.as_raw_handle(), prepared) };
            let batch = || -> StoreResult<()> {
                if let Err(e) = raw.exec("BEGIN IMMEDIATE") {
                    job.answer(Err(StoreError::Db(e.to_string())));
                    return Err(e);
                }
                let mut next = Some(job);
                let mut ran = 0;
                while let Some(j) = next.take() {
                    if !run_job(&mut raw, j, &mut done) {
                        redo(&mut raw, &mut done)?;
                    }
                    // Failed jobs count too: the bound is on how long the first one waits.
                    ran += 1;
                    if ran >= MAX_BATCH {
                        break;
                    }
                    match rx.try_recv() {
                        Some(Request::Run(j)) => next = Some(j),
                        Some(other) => after = Some(other),
                        None => {}
                    }
                }
                raw.exec(ctx.before_commit)?;
                raw.exec("COMMIT")
            };
            let committed = batch().map_err(|e| e.to_string());
            if committed.is_err() {
                // The transaction may already be gone (SQLite rolls back by itself on some
                // errors): then this fails, harmlessly.
                let _ = raw.exec("ROLLBACK");
            }
            committed
        };
        match &committed {
            Ok(()) => {
                ctx.commits.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                tracing::error!(error = %e, "a group commit failed; its writes are rolled back");
            }
        }
        for j in done {
            j.answer(committed.clone().map_err(StoreError::Db));
        }
        if after.is_some() {
            return after;
        }
        match rx.recv().await {
            Some(Request::Run(j)) => job = j,
            other => return other,
        }
    }
}

/// What became of a lent write's preparation (see [`prepare`]).
enum Prepared {
    /// Ready to be lent.
    Ready,
    /// Its check failed: it is answered with this and not lent; nothing was written.
    Refused(StoreError),
    /// The transaction could not be opened, or the savepoint made.
    Broken(StoreError),
}

/// Readies the connection for one lent write, in one hand-off to sqlx's connection thread:
/// opens the transaction (`begin`), runs the write's check, then opens its savepoint.
async fn prepare(
    conn: &mut SqliteConnection,
    prepared: &mut raw::Statements,
    begin: bool,
    savepoint: bool,
    check: Option<Check>,
) -> Prepared {
    let ready = raw::with_raw(conn, prepared, |raw| {
        if begin && let Err(e) = raw.exec("BEGIN IMMEDIATE") {
            return Prepared::Broken(e);
        }
        if let Some(check) = check
            && let Err(e) = check(raw)
        {
            return Prepared::Refused(e);
        }
        if savepoint && let Err(e) = raw.exec("SAVEPOINT write") {
            return Prepared::Broken(e);
        }
        Prepared::Ready
    });
    ready.await.unwrap_or_else(Prepared::Broken)
}

/// One batch of lent writes: lends the connection to `first` and to each write queued behind
/// it, then commits. Returns the request that ended the batch early (a job or a close), if any.
async fn lend_batch(
    conn: &mut Option<SqliteConnection>,
    prepared: &mut raw::Statements,
    rx: &mut Inbox,
    first: Lend,
    ctx: &Ctx,
) -> Option<Request> {
    if conn.is_none() {
        let _ = first.reply.send(Err(closed()));
        return None;
    }
    let mut acks: Vec<oneshot::Sender<StoreResult<()>>> = Vec::new();
    let mut failed: Option<String> = None;
    let mut open = true;
    let mut after = None;
    let mut next = first;
    let mut begun = false;
    // Writes lent in this transaction, and writes taken up (lent or refused by their check).
    let mut lent = 0;
    let mut taken = 0;
    loop {
        let Lend { reply, check } = next;
        taken += 1;
        // The first write needs no savepoint: if it aborts, the whole transaction is rolled
        // back and the batch ends.
        let savepoint = lent > 0;
        let c = conn.as_mut().expect("the connection is home between lends");
        let ready = match prepare(c, prepared, !begun, savepoint, check).await {
            Prepared::Ready => Some(reply),
            Prepared::Refused(e) => {
                let _ = reply.send(Err(e));
                None
            }
            Prepared::Broken(e) if !begun => {
                // BEGIN failed: nothing is open.
                let _ = reply.send(Err(e));
                return None;
            }
            Prepared::Broken(e) => {
                let _ = reply.send(Err(e));
                failed = Some("could not open a savepoint".into());
                break;
            }
        };
        begun = true;
        if let Some(reply) = ready {
            lent += 1;
            let lent_prepared = std::mem::take(prepared);
            let Some(back) = lend(
                conn.take().expect("home"),
                lent_prepared,
                reply,
                ctx.limits.hold,
            )
            .await
            else {
                // Only a leaked WriteTx loses the connection, and it may still hold the write
                // lock: nothing can be written any more, so stop and say why.
                tracing::error!("a write kept the write connection; the store stops writing");
                for ack in acks {
                    let _ = ack.send(Err(closed()));
                }
                return None;
            };
            *prepared = back.prepared;
            let c = conn.insert(back.conn);
            match back.outcome {
                Outcome::Commit(ack) => acks.push(ack),
                Outcome::Abort if savepoint => {
                    if let Err(e) = exec(c, "ROLLBACK TO write").await {
                        failed = Some(e.to_string());
                        break;
                    }
                }
                Outcome::Abort => {
                    if let Err(e) = exec(c, "ROLLBACK").await {
                        failed = Some(e.to_string());
                    }
                    open = false;
                    break;
                }
            }
        }
        if taken >= MAX_BATCH {
            break;
        }
        match rx.try_recv() {
            Some(Request::Write(l)) => next = l,
            Some(other) => {
                after = Some(other);
                break;
            }
            None => break,
        }
    }
    let c = conn
        .as_mut()
        .expect("the connection is home after the batch");
    let result = match failed {
        None if open => c
            .execute(sqlx::AssertSqlSafe(ctx.commit_sql.as_str()))
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        None => Ok(()),
        Some(why) => Err(why),
    };
    if result.is_ok() && open {
        ctx.commits.fetch_add(1, Ordering::Relaxed);
    }
    if let Err(why) = &result {
        tracing::error!(error = %why, "a group commit failed; its writes are rolled back");
        // The transaction may already be gone (SQLite rolls back by itself on some errors):
        // then this fails, harmlessly.
        let _ = exec(c, "ROLLBACK").await;
    }
    for ack in acks {
        let _ = ack.send(result.clone().map_err(StoreError::Db));
    }
    after
}

async fn run(conn: SqliteConnection, mut rx: Inbox, ctx: Ctx) {
    // `None` only after a leaked WriteTx took it: then every write fails.
    let mut conn = Some(conn);
    // The statements prepared on the handle (by jobs, and by lent writes through
    // `WriteTx::with_raw`), kept from batch to batch and lent with the connection. They are
    // finalized before the connection closes (sqlx's close fails on a statement left open);
    // between runs each is reset, so it holds no read and keeps no bound text.
    let mut prepared = raw::Statements::default();
    let mut next = rx.recv().await;
    loop {
        next = match next.take() {
            None => break,
            Some(Request::Close(done)) => {
                rx.close();
                prepared.finalize();
                if let Some(c) = conn.take() {
                    let _ = c.close().await;
                }
                let _ = done.send(());
                return;
            }
            Some(Request::Run(job)) => match conn.as_mut() {
                Some(c) => run_jobs(c, &mut prepared, &mut rx, job, &ctx).await,
                None => {
                    job.answer(Err(closed()));
                    None
                }
            },
            Some(Request::Write(lend)) => {
                lend_batch(&mut conn, &mut prepared, &mut rx, lend, &ctx).await
            }
        };
        if next.is_none() {
            next = rx.recv().await;
        }
    }
    prepared.finalize();
    if let Some(c) = conn.take() {
        let _ = c.close().await;
    }
}

#[cfg(test)]
mod tests;
