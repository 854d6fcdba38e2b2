//! The writer's batches, savepoints, jobs and limits, on a real SQLite file.

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
    conn.execute("CREATE TABLE commits (n INTEGER)")
        .await
        .unwrap();
    // Every transaction records itself, as the store's index refresh does.
    let before_commit = "INSERT INTO commits VALUES (1)";
    (Writer::spawn(conn, before_commit), reader)
}

/// Runs `work` (which waits on SQLite's own thread) with tokio's paused clock held still.
///
/// A paused clock jumps to the next timer whenever the runtime has nothing to do, and
/// waiting for sqlx's SQLite thread looks like nothing to do: the writer's `wait` and `hold`
/// timers would fire in the middle of real work. Tokio does not move the clock while a
/// blocking task runs, so one runs until `work` is done.
async fn still<T>(work: impl std::future::Future<Output = T>) -> T {
    let (done, waiting) = std::sync::mpsc::channel::<()>();
    let blocker = tokio::task::spawn_blocking(move || {
        let _ = waiting.recv();
    });
    let out = work.await;
    drop(done);
    blocker.await.unwrap();
    out
}

/// A write that holds the connection too long: the writes behind it give up with
/// `Unavailable` instead of waiting for ever, it is rolled back rather than committed,
/// and the writer goes on.
///
/// On tokio's paused clock: the time a write waits and holds is the clock's, moved only by
/// the test's sleep and the writer's own timers, never by how long SQLite took.
#[tokio::test(start_paused = true)]
async fn a_write_that_holds_the_connection_too_long_is_rolled_back_and_the_queue_gives_up() {
    let dir = tempfile::tempdir().unwrap();
    let (_, mut reader) = still(setup(&dir)).await;
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.path().join("w.db"))
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
    let conn = still(SqliteConnection::connect_with(&opts)).await.unwrap();
    let limits = Limits {
        wait: Duration::from_millis(100),
        hold: Duration::from_millis(300),
    };
    let writer = Writer::spawn_with(conn, "INSERT INTO commits VALUES (1)", limits);
    let mut slow = still(writer.begin()).await.unwrap();
    still(insert(&mut slow, 1)).await.unwrap();
    // Queued behind it: gives up after `wait`, with nothing written.
    match writer.begin().await {
        Err(StoreError::Unavailable(m)) => assert!(m.contains("waited 100 ms"), "{m}"),
        other => panic!("expected Unavailable, got {:?}", other.map(|_| ())),
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    let err = still(slow.commit()).await.expect_err("held past its limit");
    match super::super::db_err(err) {
        StoreError::Unavailable(m) => assert!(m.contains("rolled back"), "{m}"),
        other => panic!("expected Unavailable, got {other}"),
    }
    assert_eq!(still(rows(&mut reader)).await, Vec::<i64>::new());
    // The writer goes on; a write within the limit commits.
    let mut tx = still(writer.begin()).await.unwrap();
    still(insert(&mut tx, 2)).await.unwrap();
    still(tx.commit()).await.unwrap();
    assert_eq!(still(rows(&mut reader)).await, vec![2]);
    still(writer.close()).await;
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

/// A check that reads `t` inside the writer's transaction: passes while row `x` is absent.
fn absent(x: i64) -> Option<Check> {
    Some(Box::new(move |raw: &mut Raw| {
        let found = raw.query("SELECT x FROM t WHERE x = ?1", &[x.into()])?;
        if found.is_empty() {
            Ok(())
        } else {
            Err(StoreError::Conflict(format!("{x} is there")))
        }
    }))
}

/// A write whose check fails is answered with the check's error and never lent, whether it
/// would have opened the batch or come in its middle; its neighbours commit, and a check sees
/// what the writes before it in the same transaction wrote.
#[tokio::test]
async fn a_write_whose_check_fails_is_refused_alone_and_sees_the_batch_so_far() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, mut reader) = setup(&dir).await;
    // Alone (it would open the batch): refused; the writer goes on.
    sqlx::query("INSERT INTO t (x) VALUES (9)")
        .execute(&mut reader)
        .await
        .unwrap();
    match writer.begin_checked(absent(9)).await {
        Err(StoreError::Conflict(m)) => assert_eq!(m, "9 is there"),
        other => panic!("expected the check's error, got {:?}", other.map(|_| ())),
    }
    // In the middle of a batch: the check of `second` sees `first`'s uncommitted row 1.
    let mut first = writer.begin().await.unwrap();
    let second = writer.queue_checked(absent(1));
    let third = writer.queue_checked(absent(7));
    insert(&mut first, 1).await.unwrap();
    let first = tokio::spawn(first.commit());
    match second.wait().await {
        Err(StoreError::Conflict(m)) => assert_eq!(m, "1 is there"),
        other => panic!("expected the check's error, got {:?}", other.map(|_| ())),
    }
    let mut tx = third.wait().await.unwrap();
    insert(&mut tx, 3).await.unwrap();
    tx.commit().await.unwrap();
    first.await.unwrap().unwrap();
    assert_eq!(rows(&mut reader).await, vec![1, 3, 9]);
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

/// `/metrics` reads the queue's depth: writes and jobs wait while a lent write holds the
/// connection, and none once the writer has taken them up.
#[tokio::test]
async fn waiting_counts_the_writes_not_taken_up_yet() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, _reader) = setup(&dir).await;
    let mut first = writer.begin().await.unwrap();
    assert_eq!(writer.waiting(), 0);
    let second = writer.queue();
    let abandoned = writer.queue();
    let w = writer.clone();
    let job = tokio::spawn(async move { w.run(insert_job(3)).await });
    while writer.waiting() < 3 {
        tokio::task::yield_now().await;
    }
    assert_eq!(writer.waiting(), 3);
    drop(abandoned);
    insert(&mut first, 1).await.unwrap();
    // Acknowledged once its batch, which the second write joins, commits.
    let first = tokio::spawn(first.commit());
    let mut tx = second.wait().await.unwrap();
    insert(&mut tx, 2).await.unwrap();
    tx.commit().await.unwrap();
    first.await.unwrap().unwrap();
    job.await.unwrap().unwrap();
    assert_eq!(writer.waiting(), 0, "an abandoned write is taken up too");
    writer.close().await;
}

fn insert_job(x: i64) -> impl FnMut(&mut Raw) -> StoreResult<()> + Send + 'static {
    move |raw| {
        raw.query("INSERT INTO t (x) VALUES (?1)", &[x.into()])
            .map(|_| ())
    }
}

/// Jobs queued together run as one batch. One that fails before writing costs nothing;
/// one that fails or panics after writing is undone by a rollback, and the jobs before it
/// run again; every answer waits for the commit.
#[tokio::test]
async fn jobs_batch_together_and_a_failed_job_is_undone_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, mut reader) = setup(&dir).await;
    // A lent write holds the connection while the jobs queue behind it.
    let mut first = writer.begin().await.unwrap();
    insert(&mut first, 1).await.unwrap();
    let runs_of_2 = Arc::new(AtomicU64::new(0));
    let counted = runs_of_2.clone();
    let mut jobs = Vec::new();
    let w = writer.clone();
    jobs.push(tokio::spawn(async move {
        let mut insert_2 = insert_job(2);
        w.run(move |raw| {
            counted.fetch_add(1, Ordering::Relaxed);
            insert_2(raw)
        })
        .await
    }));
    let w = writer.clone();
    jobs.push(tokio::spawn(async move {
        // Writes 3, then fails on a duplicate key: dirty.
        w.run(|raw| {
            insert_job(3)(raw)?;
            insert_job(2)(raw)
        })
        .await
    }));
    let w = writer.clone();
    jobs.push(tokio::spawn(async move {
        w.run(|raw| -> StoreResult<()> {
            insert_job(4)(raw)?;
            panic!("a job that panics")
        })
        .await
    }));
    let w = writer.clone();
    jobs.push(tokio::spawn(async move { w.run(insert_job(5)).await }));
    let w = writer.clone();
    jobs.push(tokio::spawn(async move {
        // Fails before writing anything: clean.
        w.run(|_raw| Err::<(), _>(StoreError::Conflict("taken".into())))
            .await
    }));
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    let commits_before = writer.commits();
    first.commit().await.unwrap();
    let mut results = Vec::new();
    for j in jobs {
        results.push(j.await.unwrap());
    }
    assert!(results[0].is_ok() && results[3].is_ok(), "{results:?}");
    assert!(matches!(results[1], Err(StoreError::Conflict(_))));
    assert!(
        matches!(results[2], Err(StoreError::Db(_))),
        "a panic fails"
    );
    assert!(matches!(results[4], Err(StoreError::Conflict(_))));
    assert_eq!(rows(&mut reader).await, vec![1, 2, 5]);
    // The lent write's batch, then one batch for all the jobs.
    assert_eq!(writer.commits() - commits_before, 2);
    // Job 2 ran again after each of the two dirty failures behind it.
    assert_eq!(runs_of_2.load(Ordering::Relaxed), 3);
    writer.close().await;
}

/// A job that succeeded, then panics when its batch makes it run again, is answered
/// with an error, not with its first run's value: its writes are gone.
#[tokio::test]
async fn a_job_that_panics_when_run_again_is_not_answered_with_its_first_value() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, mut reader) = setup(&dir).await;
    let first = writer.begin().await.unwrap();
    let w = writer.clone();
    let flaky = tokio::spawn(async move {
        let mut runs = 0;
        w.run(move |raw| {
            runs += 1;
            assert!(runs == 1, "a job that panics when run again");
            insert_job(10)(raw).map(|()| "written")
        })
        .await
    });
    let w = writer.clone();
    let dirty = tokio::spawn(async move {
        w.run(|raw| {
            insert_job(11)(raw)?;
            insert_job(10)(raw)
        })
        .await
    });
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    first.commit().await.unwrap();
    assert!(flaky.await.unwrap().is_err(), "not Ok(\"written\")");
    assert!(matches!(dirty.await.unwrap(), Err(StoreError::Conflict(_))));
    assert_eq!(rows(&mut reader).await, Vec::<i64>::new());
    writer.close().await;
}

#[tokio::test]
async fn a_job_that_fails_after_writing_leaves_nothing_and_the_next_commits() {
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
    // Lent writes and jobs, interleaved.
    let tasks: Vec<_> = (0..200)
        .map(|x| {
            let writer = writer.clone();
            tokio::spawn(async move {
                if x % 3 == 0 {
                    writer.run(insert_job(x)).await.unwrap();
                } else {
                    let mut tx = writer.begin().await.unwrap();
                    insert(&mut tx, x).await.unwrap();
                    tx.commit().await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let recorded: i64 = sqlx::query_scalar("SELECT count(*) FROM commits")
        .fetch_one(&mut reader)
        .await
        .unwrap();
    assert_eq!(
        recorded as u64,
        writer.commits(),
        "before_commit ran in each commit"
    );
    assert_eq!(rows(&mut reader).await, (0..200).collect::<Vec<i64>>());
    writer.close().await;
}
