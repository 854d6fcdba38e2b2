//! The export benchmark (issue 6: 100,000 members under 3 s), and the same org through the
//! admin routes (`/users` pages, a mapping preview) and the domain's effective access, on a
//! temporary SQLite database in process (no sockets, so the figures are the server's own
//! work). `benches/access.rs` measures the store calls beneath these routes.
//!
//!     cargo bench --bench export
//!
//! The org is filled with bulk SQL (recursive CTEs), not through the API: 100,000 SCIM
//! creates would take minutes and measure the writer, which `benches/load.rs` covers.

use axum::body::Body;
use axum::http::{Request, header};
use scimdesk::domain::access::{GroupMapping, OrgRole, StackRole, effective_access};
use scimdesk::server::{ServerConfig, router};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use std::time::Instant;
use tower::ServiceExt;

#[path = "support/org.rs"]
mod org;
use org::{BIG_GROUP_MEMBERS, MEMBERS, Org, fill};

fn pct(sorted_ms: &[f64], p: f64) -> f64 {
    sorted_ms[((sorted_ms.len() as f64 - 1.0) * p).round() as usize]
}

async fn get(app: &axum::Router, org: &Org, path: &str) -> (u16, Vec<u8>) {
    call(app, org, "GET", path, None).await
}

async fn call(
    app: &axum::Router,
    org: &Org,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Vec<u8>) {
    let req = Request::builder()
        .method(method)
        .uri(format!("/admin/v1/organizations/{}{path}", org.uid))
        .header(header::AUTHORIZATION, format!("Bearer {}", org.admin_token))
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
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
        let snap = scimdesk::snapshot::export(&org.store, org.id)
            .await
            .unwrap();
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

/// Effective access of every member: the domain's one implementation over each member's
/// groups' mappings, pure (the data already in memory), and through the store (read and
/// computed, as the export does for granted and requested access).
async fn bench_effective_access(org: &Org) {
    let mut mappings: HashMap<String, GroupMapping> = HashMap::new();
    for (g, role, stack, r) in sqlx::query_as::<_, (String, String, String, String)>(
        "SELECT m.group_id, m.org_role, r.stack_uid, r.role_uid FROM group_mappings m
         JOIN group_mapping_roles r ON r.group_id = m.group_id",
    )
    .fetch_all(&org.pool)
    .await
    .unwrap()
    {
        mappings
            .entry(g.clone())
            .or_insert_with(|| GroupMapping {
                group_id: g,
                org_role: OrgRole::parse(&role).unwrap(),
                stack_roles: BTreeSet::new(),
            })
            .stack_roles
            .insert(StackRole::new(stack, r));
    }
    let mut groups_of: HashMap<String, Vec<String>> = HashMap::new();
    for (g, u) in
        sqlx::query_as::<_, (String, String)>("SELECT group_id, user_id FROM group_members")
            .fetch_all(&org.pool)
            .await
            .unwrap()
    {
        groups_of.entry(u).or_default().push(g);
    }
    let mut ms = Vec::new();
    let mut admins = 0;
    for _ in 0..5 {
        let t = Instant::now();
        admins = 0;
        for groups in groups_of.values() {
            let a = effective_access(groups.iter().filter_map(|g| mappings.get(g)));
            admins += usize::from(a.org_role == OrgRole::Admin);
            std::hint::black_box(&a);
        }
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    println!(
        "effective access, {} members x {} mapped groups, in memory: {:.0} ms ({admins} admins)   median of 5",
        groups_of.len(),
        mappings.len(),
        ms[2]
    );
}

/// `/users` pages of 100, each member with granted and requested access and the open
/// request, walked from the first page by cursor.
async fn bench_users_pages(org: &Org) {
    let app = router(org.store.clone(), ServerConfig::default());
    let mut lat = Vec::new();
    let mut cursor = String::new();
    for _ in 0..100 {
        let t = Instant::now();
        let (status, bytes) = get(&app, org, &format!("/users?limit=100&cursor={cursor}")).await;
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["items"].as_array().unwrap().len(), 100);
        assert!(v["items"][0]["granted"].is_object());
        cursor = v["next"].as_str().unwrap().to_string();
    }
    // Filtered pages: a substring of the email, case-insensitive.
    for i in 0..20 {
        let t = Instant::now();
        let (status, _) = get(
            &app,
            org,
            &format!("/users?limit=100&filter=USER0{:02}", i % 100),
        )
        .await;
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(status, 200);
    }
    lat.sort_by(f64::total_cmp);
    println!(
        "GET /users?limit=100 (100 pages by cursor + 20 filtered): p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms; target p99 < 20 ms",
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        lat[lat.len() - 1]
    );
}

/// Previewing a mapping change on the 10,000-member group: every member's access recomputed.
async fn bench_preview(org: &Org) {
    let app = router(org.store.clone(), ServerConfig::default());
    let body = json!({"org_role": "admin", "stack_roles": [
        {"stack_uid": "st01", "role_uid": "admin"}, {"stack_uid": "st02", "role_uid": "developer"}]});
    let mut ms = Vec::new();
    let mut counts = Value::Null;
    for _ in 0..10 {
        let t = Instant::now();
        let (status, bytes) = call(
            &app,
            org,
            "POST",
            "/group-mappings/g-big/preview",
            Some(body.clone()),
        )
        .await;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
        counts = serde_json::from_slice::<Value>(&bytes).unwrap()["counts"].clone();
    }
    assert_eq!(counts["members"], BIG_GROUP_MEMBERS);
    ms.sort_by(f64::total_cmp);
    println!(
        "POST /group-mappings/{{10,000-member group}}/preview: median {:.0} ms  max {:.0} ms ({} granted changes); target < 200 ms",
        pct(&ms, 0.5),
        ms[ms.len() - 1],
        counts["granted_changes"]
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let org = fill().await;
    bench_effective_access(&org).await;
    bench_users_pages(&org).await;
    bench_preview(&org).await;
    bench_export(&org).await;
    org.pool.close().await;
    org.store.close().await;
}
