//! The export benchmark (issue 6: 100,000 members under 3 s), on a temporary
//! SQLite database, against the store and the HTTP router in process (no sockets, so the
//! figures are the server's own work).
//!
//!     cargo bench --bench export
//!
//! The org is filled with bulk SQL (recursive CTEs), not through the API: 100,000 SCIM
//! creates would take minutes and measure the writer, which `benches/load.rs` covers.

use axum::body::Body;
use axum::http::{Request, header};
use scimdesk::server::{ServerConfig, router};
use scimdesk::store::{SqliteStore, Store};
use serde_json::Value;
use std::time::Instant;
use tower::ServiceExt;

const MEMBERS: i64 = 100_000;
const GROUPS: i64 = 1_000;
/// Each member's groups besides the big one: ids derived from the member number.
const GROUPS_PER_MEMBER: i64 = 3;
const BIG_GROUP_MEMBERS: i64 = 10_000;

struct Org {
    _dir: tempfile::TempDir,
    store: SqliteStore,
    uid: String,
    id: i64,
    admin_token: String,
    pool: sqlx::SqlitePool,
}

async fn exec(pool: &sqlx::SqlitePool, sql: &str) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{sql}"));
}

async fn fill() -> Org {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let (org, token) = store
        .create_org("Bench", "owner@bench.example")
        .await
        .unwrap();
    let pool = sqlx::SqlitePool::connect_with(
        sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .busy_timeout(std::time::Duration::from_secs(30)),
    )
    .await
    .unwrap();
    let t = Instant::now();
    let o = org.id;
    let now = "2026-01-01T00:00:00.000Z";
    exec(
        &pool,
        &format!(
            "BEGIN;
             WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {MEMBERS})
             INSERT INTO accounts (email, created_at)
               SELECT printf('user%06d@bench.example', i), '{now}' FROM n;
             INSERT INTO memberships (id, org_id, account_id, role, state, source, created_at, updated_at)
               SELECT printf('u%06d', CAST(substr(email, 5, 6) AS INTEGER)), {o}, id, 'member', 'active',
                      'scim', '{now}', '{now}'
               FROM accounts WHERE email LIKE '%@bench.example' AND email != 'owner@bench.example';
             INSERT INTO scim_users (id, org_id, user_name, display_name, active, resource, created_at,
                                     last_modified)
               SELECT m.id, {o}, a.email, 'User ' || m.id, 1,
                      json_object('userName', a.email, 'displayName', 'User ' || m.id, 'active', json('true')),
                      '{now}', '{now}'
               FROM memberships m JOIN accounts a ON a.id = m.account_id WHERE m.id LIKE 'u%';
             WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {GROUPS})
             INSERT INTO scim_groups (id, org_id, display_name, resource, created_at, last_modified)
               SELECT printf('g%04d', i), {o}, printf('Group %04d', i),
                      json_object('displayName', printf('Group %04d', i)), '{now}', '{now}'
               FROM n;
             INSERT INTO scim_groups (id, org_id, display_name, resource, created_at, last_modified)
               VALUES ('g-big', {o}, 'Big group', json_object('displayName', 'Big group'), '{now}', '{now}');
             WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {MEMBERS}),
                  k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j + 1 < {GROUPS_PER_MEMBER})
             INSERT OR IGNORE INTO group_members (group_id, user_id)
               SELECT printf('g%04d', (i * (2 * j + 7) + j * 131) % {GROUPS}), printf('u%06d', i)
               FROM n, k;
             WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {BIG_GROUP_MEMBERS})
             INSERT INTO group_members (group_id, user_id) SELECT 'g-big', printf('u%06d', i) FROM n;
             COMMIT;"
        ),
    )
    .await;
    exec(&pool, "ANALYZE").await;
    println!(
        "filled {MEMBERS} members, {GROUPS} groups (+ one of {BIG_GROUP_MEMBERS}) in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    Org {
        _dir: dir,
        store,
        uid: org.uid,
        id: org.id,
        admin_token: token.token,
        pool,
    }
}

#[allow(dead_code)]
fn pct(sorted_ms: &[f64], p: f64) -> f64 {
    sorted_ms[((sorted_ms.len() as f64 - 1.0) * p).round() as usize]
}

async fn get(app: &axum::Router, org: &Org, path: &str) -> (u16, Vec<u8>) {
    let req = Request::builder()
        .uri(format!("/admin/v1/organizations/{}{path}", org.uid))
        .header(header::AUTHORIZATION, format!("Bearer {}", org.admin_token))
        .body(Body::empty())
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    (status, bytes)
}

async fn bench_export(org: &Org) {
    let app = router(org.store.clone(), ServerConfig::default());
    let mut store_ms = Vec::new();
    let mut http_ms = Vec::new();
    let mut ser_ms = Vec::new();
    let mut size = 0;
    for _ in 0..3 {
        let t = Instant::now();
        let snap = org.store.snapshot(org.id).await.unwrap();
        store_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(snap.members.len() as i64, MEMBERS + 1);
        let t = Instant::now();
        let bytes = scimdesk::snapshot::to_bytes(&snap);
        ser_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        drop((snap, bytes));
        let t = Instant::now();
        let (status, bytes) = get(&app, org, "/export").await;
        http_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(status, 200);
        size = bytes.len();
    }
    store_ms.sort_by(f64::total_cmp);
    http_ms.sort_by(f64::total_cmp);
    ser_ms.sort_by(f64::total_cmp);
    println!(
        "export, {MEMBERS} members: store {:.0} ms + serialize {:.0} ms; GET /export {:.0} ms ({:.1} MB)   median of 3; target < 3,000 ms",
        store_ms[1],
        ser_ms[1],
        http_ms[1],
        size as f64 / 1e6
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let org = fill().await;
    let _: Option<Value> = None;
    bench_export(&org).await;
    org.pool.close().await;
    org.store.close().await;
}
