//! `db copy` at scale: the 100,000-member org of `benches/support/org.rs` plus 300,000 audit
//! events, copied from SQLite into a fresh PostgreSQL database on the server that
//! `SCIMDESK_TEST_POSTGRES` names (skipped with a note without it). Prints each table's rows
//! and time, the total, rows per second and (on Linux) the peak resident size. The database
//! is dropped afterwards.
//!
//!     SCIMDESK_TEST_POSTGRES=postgres://postgres@127.0.0.1:5433/postgres cargo bench --bench copy

use scimdesk::store::DbTarget;
use scimdesk::store::copy::{CopyEvent, copy};
use scimdesk::store::testing::{TestDb, test_postgres};
use std::time::Instant;

#[path = "support/org.rs"]
mod org;

const AUDIT_EVENTS: i64 = 300_000;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let Some(server) = test_postgres() else {
        println!("copy: skipped, set SCIMDESK_TEST_POSTGRES=postgres://USER@HOST:PORT/DB");
        return;
    };
    let o = org::fill().await;
    org::exec(
        &o.pool,
        &format!(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {AUDIT_EVENTS})
             INSERT INTO audit_log (org_id, at, actor, action, target, before, after)
               SELECT {}, '2026-01-01T00:00:00.000Z', 'okta', 'scim.user.update', printf('u%06d', i % 100000),
                      json_object('active', json('true'), 'displayName', 'User ' || i),
                      json_object('active', json('false'), 'displayName', 'User ' || i)
               FROM n",
            o.id
        ),
    )
    .await;
    o.pool.close().await;
    o.store.close().await;

    // Linux: the peak resident size counts from here (the fill's caches are gone).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let target = TestDb::postgres(&server).await.unwrap();
    let url = target.postgres_url().unwrap().to_string();
    let from = DbTarget::Sqlite(o.path.clone());
    let to = DbTarget::Postgres(url.clone());
    let mut table_started = Instant::now();
    let mut finishing = None;
    let mut lines = Vec::new();
    let report = copy(&from, &to, &mut |e| match e {
        CopyEvent::Planned(_) => table_started = Instant::now(),
        CopyEvent::TableDone { table, rows } => {
            lines.push(format!(
                "  {table:<22} {rows:>9} rows  {:>7.2} s",
                table_started.elapsed().as_secs_f64()
            ));
            table_started = Instant::now();
        }
        CopyEvent::Finishing => finishing = Some(Instant::now()),
        CopyEvent::Rows { .. } => {}
    })
    .await
    .unwrap();
    let finish = finishing.map_or(0.0, |f| f.elapsed().as_secs_f64());
    println!(
        "db copy, {} members + {AUDIT_EVENTS} audit events:",
        org::MEMBERS
    );
    for l in lines {
        println!("{l}");
    }
    let secs = report.elapsed.as_secs_f64();
    println!(
        "  total {} rows in {secs:.1} s ({:.0} rows/s), of which counts, sequences, ANALYZE and COMMIT {finish:.1} s",
        report.rows(),
        report.rows() as f64 / secs
    );

    if let Ok(status) = std::fs::read_to_string("/proc/self/status")
        && let Some(peak) = status.lines().find(|l| l.starts_with("VmHWM:"))
    {
        println!("  peak resident size during the copy: {}", peak[6..].trim());
    }

    drop(target);
}
