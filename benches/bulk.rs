//! Bulk against single requests (issue 14): the wall time of creating N users with one
//! `POST /Bulk` of N operations, against N single `POST /Users` (one after another, as an IdP
//! sending in order does, and 8 at a time), on a fresh database each, in process.
//!
//!     cargo bench --bench bulk                          # SQLite, N = 1,000
//!     cargo bench --bench bulk -- --db postgres://USER@HOST:PORT/DB --n 1000
//!
//! Every loop is bounded in count, and traffic only goes to 127.0.0.1.

use scimdesk::server::{ServerConfig, run_server};
use scimdesk::store::prelude::*;
use scimdesk::store::{AnyStore, DbTarget, ScimSettingsPatch};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn user_body(run: &str, i: usize) -> Value {
    let email = format!("{run}{i:06}@bench.example.com");
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": email,
        "externalId": format!("ext-{run}-{i}"),
        "name": {"givenName": format!("Given{i}"), "familyName": format!("Family{i}")},
        "displayName": format!("Given{i} Family{i}"),
        "emails": [{"value": email, "type": "work", "primary": true}],
        "active": true
    })
}

/// A server on a fresh database: (SCIM base URL, token, what keeps it alive).
async fn start(postgres: Option<&str>) -> (String, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let target = match postgres {
        Some(server) => DbTarget::Postgres(
            scimdesk::store::testing::fresh_postgres_database(server)
                .await
                .expect("a fresh PostgreSQL database"),
        ),
        None => DbTarget::Sqlite(dir.path().join("bench.db")),
    };
    let store = AnyStore::open(&target).await.expect("open");
    let (org, _) = store
        .create_org("Bench", "owner@bench.example.com")
        .await
        .unwrap();
    let patch = ScimSettingsPatch {
        enabled: Some(true),
        ..ScimSettingsPatch::default()
    };
    store
        .update_scim_settings(org.id, &patch, "bench")
        .await
        .unwrap();
    let token = store
        .create_scim_token(org.id, "bench", "bench")
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let cfg = ServerConfig {
        rate_limit_per_minute: 0,
        ..ServerConfig::default()
    };
    tokio::spawn(run_server(listener, store, cfg, std::future::pending()));
    let base = format!("http://{addr}/scim/v2.0/organizations/{}", org.uid);
    (base, token.token, dir)
}

async fn singles(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    n: usize,
    conc: usize,
) -> Duration {
    let t = Instant::now();
    let mut next = 0;
    while next < n {
        let mut set = tokio::task::JoinSet::new();
        for i in next..(next + conc).min(n) {
            let (http, url, token) = (http.clone(), format!("{base}/Users"), token.to_string());
            set.spawn(async move {
                let r = http
                    .post(url)
                    .bearer_auth(token)
                    .json(&user_body("s", i))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201);
            });
        }
        while set.join_next().await.is_some() {}
        next += conc;
    }
    t.elapsed()
}

async fn bulk(http: &reqwest::Client, base: &str, token: &str, n: usize) -> Duration {
    let ops: Vec<Value> = (0..n)
        .map(|i| json!({"method": "POST", "path": "/Users", "bulkId": format!("b{i}"), "data": user_body("b", i)}))
        .collect();
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops});
    let t = Instant::now();
    let r = http
        .post(format!("{base}/Bulk"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let out: Value = r.json().await.unwrap();
    let elapsed = t.elapsed();
    let ok = out["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["status"] == "201")
        .count();
    assert_eq!(ok, n, "every creation succeeded");
    elapsed
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        argv.iter()
            .position(|a| a == name)
            .and_then(|i| argv.get(i + 1))
            .cloned()
    };
    let n: usize = arg("--n")
        .map(|v| v.parse().expect("--n N"))
        .unwrap_or(1000);
    let postgres = arg("--db");
    let engine = if postgres.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    // A fresh database for each measure, so that none pays for the others' rows.
    let (base, token, _a) = start(postgres.as_deref()).await;
    let seq = singles(&http, &base, &token, n, 1).await;
    let (base, token, _b) = start(postgres.as_deref()).await;
    let conc = singles(&http, &base, &token, n, 8).await;
    let (base, token, _c) = start(postgres.as_deref()).await;
    let b = bulk(&http, &base, &token, n).await;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("{engine}: {n} user creations");
    println!("  single POSTs, one at a time : {:>8.0} ms", ms(seq));
    println!("  single POSTs, 8 at a time   : {:>8.0} ms", ms(conc));
    println!(
        "  one Bulk of {n:<5}            : {:>8.0} ms  ({:.1}x / {:.1}x faster)",
        ms(b),
        ms(seq) / ms(b),
        ms(conc) / ms(b)
    );
}
