//! Deep pages (issue 14 §3): page 1 and page 900 of 100,000 users, 100 a page, by `startIndex`
//! and by RFC 9865 `cursor`, over HTTP to an in-process server, on SQLite and (when
//! `SCIMDESK_TEST_POSTGRES` names a server) on a fresh PostgreSQL database that `db copy`
//! fills from the same SQLite org. Each figure is the median of 15 requests after 3 warm-up
//! ones; then the time to read the whole list, page after page, each way.
//!
//!     cargo bench --bench paging
//!     SCIMDESK_TEST_POSTGRES=postgres://postgres@127.0.0.1:5433/postgres cargo bench --bench paging

use scimdesk::client::{AdminClient, ScimSettingsPatch};
use scimdesk::server::{ServerConfig, run_server};
use scimdesk::store::copy::copy;
use scimdesk::store::testing::{TestDb, test_postgres};
use scimdesk::store::{AnyStore, DbTarget};
use serde_json::Value;
use std::time::{Duration, Instant};

#[path = "support/org.rs"]
mod org;

const COUNT: u64 = 100;
const DEEP_PAGE: u64 = 900;
const RUNS: usize = 15;

struct Target {
    http: reqwest::Client,
    users: String,
    token: String,
}

impl Target {
    async fn get(&self, query: &[(&str, String)]) -> Value {
        let r = self
            .http
            .get(&self.users)
            .bearer_auth(&self.token)
            .query(query)
            .send()
            .await
            .expect("request");
        assert!(r.status().is_success(), "{}", r.status());
        r.json().await.expect("JSON")
    }

    /// The median time of a request, after warming up.
    async fn median(&self, query: &[(&str, String)]) -> Duration {
        for _ in 0..3 {
            self.get(query).await;
        }
        let mut times = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            let t = Instant::now();
            let page = self.get(query).await;
            times.push(t.elapsed());
            assert_eq!(page["Resources"].as_array().unwrap().len(), COUNT as usize);
        }
        times.sort();
        times[RUNS / 2]
    }
}

fn ms(d: Duration) -> String {
    format!("{:8.2} ms", d.as_secs_f64() * 1000.0)
}

/// Starts a server on `db` and gives its org a SCIM token.
async fn start(db: &DbTarget, o: &org::Org) -> Target {
    let store = AnyStore::open(db).await.expect("open");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let cfg = ServerConfig {
        rate_limit_per_minute: 0,
        ..ServerConfig::default()
    };
    tokio::spawn(run_server(listener, store, cfg, std::future::pending()));
    let admin = AdminClient::new(&base, &o.uid, o.admin_token.clone(), "bench").unwrap();
    let patch = ScimSettingsPatch {
        enabled: Some(true),
        ..ScimSettingsPatch::default()
    };
    admin.patch_scim(&patch).await.expect("enable SCIM");
    let token = admin.create_scim_token("bench").await.expect("SCIM token");
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    Target {
        http,
        users: format!("{base}/scim/v2.0/organizations/{}/Users", o.uid),
        token: token.token,
    }
}

async fn measure(engine: &str, t: &Target) {
    for sort in [None, Some("userName")] {
        let mut base: Vec<(&str, String)> = vec![("count", COUNT.to_string())];
        if let Some(s) = sort {
            base.push(("sortBy", s.to_string()));
        }
        let with = |extra: (&'static str, String)| {
            let mut q = base.clone();
            q.push(extra);
            q
        };
        let index_1 = t.median(&with(("startIndex", "1".into()))).await;
        let deep_index = ((DEEP_PAGE - 1) * COUNT + 1).to_string();
        let index_900 = t.median(&with(("startIndex", deep_index))).await;
        let cursor_1 = t.median(&with(("cursor", String::new()))).await;
        // The cursor of page 900, by walking there.
        let walk = Instant::now();
        let mut cursor = String::new();
        for _ in 1..DEEP_PAGE {
            let page = t.get(&with(("cursor", cursor))).await;
            cursor = page["nextCursor"]
                .as_str()
                .expect("a next page")
                .to_string();
        }
        let walked_899 = walk.elapsed();
        let cursor_900 = t.median(&with(("cursor", cursor))).await;
        let order = sort.map_or("id order".to_string(), |s| format!("sortBy={s}"));
        println!("{engine}, {order}, count={COUNT}:");
        println!(
            "  startIndex  page 1 {}   page {DEEP_PAGE} {}",
            ms(index_1),
            ms(index_900)
        );
        println!(
            "  cursor      page 1 {}   page {DEEP_PAGE} {}",
            ms(cursor_1),
            ms(cursor_900)
        );
        // The whole list each way, as an IdP's first import reads it.
        let t0 = Instant::now();
        let mut start = 1;
        loop {
            let page = t.get(&with(("startIndex", start.to_string()))).await;
            let n = page["Resources"].as_array().unwrap().len() as u64;
            if n < COUNT {
                break;
            }
            start += COUNT;
        }
        let by_index = t0.elapsed();
        let t0 = Instant::now();
        let mut cursor = String::new();
        loop {
            let page = t.get(&with(("cursor", cursor))).await;
            match page["nextCursor"].as_str() {
                Some(c) => cursor = c.to_string(),
                None => break,
            }
        }
        let by_cursor = t0.elapsed();
        println!(
            "  whole list: by startIndex {:.1} s, by cursor {:.1} s (first 899 cursor pages {:.1} s)",
            by_index.as_secs_f64(),
            by_cursor.as_secs_f64(),
            walked_899.as_secs_f64()
        );
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let o = org::fill().await;
    let sqlite = DbTarget::Sqlite(o.path.clone());
    let t = start(&sqlite, &o).await;
    measure("SQLite", &t).await;
    let Some(server) = test_postgres() else {
        println!("PostgreSQL: skipped, set SCIMDESK_TEST_POSTGRES=postgres://USER@HOST:PORT/DB");
        return;
    };
    let target = TestDb::postgres(&server).await.unwrap();
    let to = DbTarget::Postgres(target.postgres_url().unwrap().to_string());
    copy(&sqlite, &to, &mut |_| {}).await.expect("db copy");
    let t = start(&to, &o).await;
    measure("PostgreSQL", &t).await;
}
