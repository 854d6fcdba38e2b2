//! Limits and transport (issue 7): the per-token rate limit with its headers, slow clients,
//! TLS, and no server banner.

mod common;

use common::*;
use reqwest::Method;
use scimdesk::server::listen::tls_config;
use scimdesk::server::{ServerConfig, run_server};
use scimdesk::store::prelude::*;
use scimdesk::store::{AnyStore, DbTarget};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

/// A server with its own configuration on `db`; dropping the sender stops it.
async fn start_with(db: &DbTarget, cfg: ServerConfig) -> (String, oneshot::Sender<()>) {
    let store = AnyStore::open(db).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(run_server(listener, store, cfg, async move {
        let _ = rx.await;
    }));
    (addr.to_string(), tx)
}

/// Sends `send` until a 429 comes back (at most 2 × limit + 1 times, so that a window turning
/// during the test cannot hide the limit); returns the responses in order.
async fn until_refused(limit: u32, send: impl Fn() -> reqwest::RequestBuilder) -> Vec<Resp> {
    let mut seen = Vec::new();
    for _ in 0..(2 * limit + 1) {
        let r = common::send(send()).await;
        let refused = r.status == 429;
        seen.push(r);
        if refused {
            break;
        }
    }
    seen
}

#[tokio::test]
async fn each_token_is_limited_per_minute_with_ratelimit_headers_and_retry_after() {
    let env = Env::new().await;
    env.server.stop().await;
    // The limiter's clock stands still: the bucket does not refill during the test.
    let clock = Arc::new(AtomicU64::new(1_000_000_000_000));
    let cfg = ServerConfig {
        rate_limit_per_minute: 5,
        rate_limit_clock: Some(clock.clone()),
        ..ServerConfig::default()
    };
    let (addr, _stop) = start_with(&env.db, cfg).await;
    let http = client();
    let scim = format!(
        "http://{addr}/scim/v2.0/organizations/{}/Users",
        env.org.uid
    );
    let seen = until_refused(5, || http.get(&scim).bearer_auth(&env.org.scim_token)).await;
    let last = seen.last().unwrap();
    assert_eq!(last.status, 429, "the sixth request in a minute is refused");
    last.assert_scim_error(429, None);
    assert_eq!(last.header("x-ratelimit-limit"), Some("5"));
    assert_eq!(last.header("x-ratelimit-remaining"), Some("0"));
    // 5 a minute refill one every 12 s; the bucket is full again in a minute.
    assert_eq!(last.header("retry-after"), Some("12"));
    assert_eq!(last.header("x-ratelimit-reset"), Some("1000000060"));
    // Allowed responses count down and carry no Retry-After.
    let first = &seen[seen.len() - 2];
    assert_eq!(first.status, 200);
    assert!(first.header("retry-after").is_none());
    assert_eq!(first.header("x-ratelimit-remaining"), Some("0"));

    // Another token of the same org has its own allowance, and the admin API its own too.
    let admin = format!("http://{addr}/admin/v1/organizations/{}", env.org.uid);
    let r = common::send(
        http.post(format!("{admin}/scim/tokens"))
            .bearer_auth(&env.org.admin_token)
            .json(&json!({"label": "second"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let second = r.body["token"].as_str().unwrap().to_string();
    let r = common::send(http.get(&scim).bearer_auth(&second)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-ratelimit-remaining"), Some("4"));

    let seen = until_refused(5, || http.get(&admin).bearer_auth(&env.org.admin_token)).await;
    let last = seen.last().unwrap();
    assert_eq!(last.status, 429);
    assert_eq!(last.body["error"], "rate_limited");
    assert!(last.header("retry-after").is_some());
}

#[tokio::test]
async fn a_burst_at_once_then_the_sustained_rate() {
    let env = Env::new().await;
    let start = 2_000_000_000_000u64;
    let clock = Arc::new(AtomicU64::new(start));
    let env = env
        .with_config(ServerConfig {
            rate_limit_per_minute: 60,
            rate_limit_burst: 3,
            rate_limit_clock: Some(clock.clone()),
            ..ServerConfig::default()
        })
        .await;
    let get = || send(env.scim(Method::GET, "/Users"));
    for left in ["2", "1", "0"] {
        let r = get().await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-ratelimit-limit"), Some("3"));
        assert_eq!(r.header("x-ratelimit-remaining"), Some(left));
    }
    let r = get().await;
    r.assert_scim_error(429, None);
    assert_eq!(r.header("retry-after"), Some("1"));
    // One a second is sustained: after a second, exactly one more.
    clock.store(start + 1_000, Ordering::Relaxed);
    assert_eq!(get().await.status, 200);
    assert_eq!(get().await.status, 429);
    for s in 2..10 {
        clock.store(start + s * 1_000, Ordering::Relaxed);
        assert_eq!(get().await.status, 200, "at {s} s");
    }
    // After a pause the whole burst is back.
    clock.store(start + 60_000, Ordering::Relaxed);
    for _ in 0..3 {
        assert_eq!(get().await.status, 200);
    }
    assert_eq!(get().await.status, 429);
}

#[tokio::test]
async fn unauthenticated_requests_are_not_counted_against_a_token() {
    let env = Env::new().await;
    env.server.stop().await;
    let cfg = ServerConfig {
        rate_limit_per_minute: 2,
        ..ServerConfig::default()
    };
    let (addr, _stop) = start_with(&env.db, cfg).await;
    let http = client();
    let scim = format!(
        "http://{addr}/scim/v2.0/organizations/{}/Users",
        env.org.uid
    );
    for _ in 0..5 {
        let r = common::send(http.get(&scim).bearer_auth("scimdesk_scim_nope_nope")).await;
        assert_eq!(r.status, 401);
        assert!(r.header("x-ratelimit-limit").is_none());
    }
    let r = common::send(http.get(&scim).bearer_auth(&env.org.scim_token)).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ServerConfig {
        header_read_timeout: Duration::from_millis(300),
        ..ServerConfig::default()
    };
    let db = test_target(&dir, "t.db").await;
    let (addr, _stop) = start_with(&db, cfg).await;
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    tcp.write_all(b"GET /scim/v2.0/organizations/x/Users HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // The server closes the connection; the cap only keeps a broken server from hanging
    // the test run.
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), tcp.read_to_end(&mut buf)).await;
    assert!(
        read.is_ok(),
        "the connection was still open 30 s after a header timeout of 300 ms"
    );
}

#[tokio::test]
async fn tls_serves_https_with_the_given_certificate_and_plain_http_is_refused() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls");
    let tls = tls_config(
        &fixtures.join("localhost.crt"),
        &fixtures.join("localhost.key"),
    )
    .expect("fixture certificate");
    let dir = tempfile::tempdir().unwrap();
    let db = test_target(&dir, "t.db").await;
    let cfg = ServerConfig {
        tls: Some(tls),
        ..ServerConfig::default()
    };
    let (addr, _stop) = start_with(&db, cfg).await;
    let port = addr.rsplit(':').next().unwrap();
    let ca = std::fs::read(fixtures.join("ca.crt")).unwrap();
    let https = reqwest::Client::builder()
        .no_proxy()
        .tls_certs_only([reqwest::Certificate::from_pem(&ca).unwrap()])
        .build()
        .unwrap();
    let r = https
        .get(format!(
            "https://localhost:{port}/scim/v2.0/organizations/x/Users"
        ))
        .send()
        .await
        .expect("an HTTPS request to the TLS server");
    assert_eq!(r.status(), 401, "the SCIM API answers over TLS");
    assert!(r.headers().get("server").is_none(), "no server banner");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "401");

    // A client that does not trust the certificate refuses to talk.
    let untrusting = reqwest::Client::builder().no_proxy().build().unwrap();
    let err = untrusting
        .get(format!(
            "https://localhost:{port}/scim/v2.0/organizations/x/Users"
        ))
        .send()
        .await;
    assert!(err.is_err(), "an unknown certificate must be refused");
    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain = client()
        .get(format!("http://{addr}/scim/v2.0/organizations/x/Users"))
        .timeout(Duration::from_secs(20))
        .send()
        .await;
    assert!(
        plain.is_err(),
        "plain HTTP must not be served on the TLS port"
    );
}

#[test]
fn tls_config_errors_name_the_file_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let err = tls_config(&missing, &missing).unwrap_err();
    assert!(err.contains("missing.pem"), "{err}");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate").unwrap();
    let err = tls_config(&garbage, &garbage).unwrap_err();
    assert!(err.contains("no certificate"), "{err}");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls");
    let err = tls_config(&fixtures.join("localhost.crt"), &garbage).unwrap_err();
    assert!(err.contains("private key"), "{err}");
}

#[tokio::test]
async fn responses_carry_no_server_banner_and_are_never_cached() {
    let env = Env::new().await;
    let r = common::send(env.scim(Method::GET, "/Users")).await;
    assert_eq!(r.status, 200);
    assert!(r.header("server").is_none());
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let r = common::send(env.admin(Method::GET, "/scim")).await;
    assert!(r.header("server").is_none());
    assert_eq!(r.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn minting_tokens_does_not_multiply_an_orgs_allowance() {
    let env = Env::new().await;
    env.server.stop().await;
    let clock = Arc::new(AtomicU64::new(1_000_000_000_000));
    let cfg = ServerConfig {
        rate_limit_per_minute: 5,
        rate_limit_clock: Some(clock.clone()),
        ..ServerConfig::default()
    };
    let (addr, _stop) = start_with(&env.db, cfg).await;
    let http = client();
    let scim = format!(
        "http://{addr}/scim/v2.0/organizations/{}/Users",
        env.org.uid
    );
    // A store-made token each (the admin API's own calls would take from the org too).
    let mut tokens = vec![env.org.scim_token.clone()];
    let store = AnyStore::open(env.db.target()).await.unwrap();
    let org = store.org_by_uid(&env.org.uid).await.unwrap().unwrap();
    for i in 0..5 {
        let issued = store
            .create_scim_token(org.id, &format!("minted {i}"), "test")
            .await
            .unwrap();
        tokens.push(issued.token);
    }
    // The org's tokens together get four tokens' worth: 20 requests; a fifth token's first
    // request then waits, though that token has sent nothing.
    let mut allowed = 0;
    for t in &tokens[..4] {
        allowed += until_refused(5, || http.get(&scim).bearer_auth(t))
            .await
            .iter()
            .filter(|r| r.status == 200)
            .count();
    }
    assert_eq!(allowed, 20);
    let r = common::send(http.get(&scim).bearer_auth(&tokens[4])).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.header("retry-after").is_some());
    store.close().await;
}
