//! IdP activity per SCIM token (issue 15 item 2), through the admin API
//! `GET /admin/v1/organizations/{org}/scim/tokens/activity`: refusals with status, scimType,
//! detail, method and path (no query string, no body), the last hour's counts, the bound, and
//! one org never seeing another's.

mod common;

use common::*;
use reqwest::Method;
use scimdesk::server::ServerConfig;
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

async fn activity(env: &Env) -> Value {
    let r = send(env.admin(Method::GET, "/scim/tokens/activity")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

async fn token_id(env: &Env) -> String {
    let r = send(env.admin(Method::GET, "/scim/tokens")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["items"][0]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_refused_request_shows_with_its_error_and_no_body() {
    let env = Env::new().await;
    let id = token_id(&env).await;
    env.create_user("ann@example.com").await;
    // A duplicate userName: 409 uniqueness, with a body that must not be kept.
    let r = send(
        env.scim(Method::POST, "/Users?secretish=bob@example.com")
            .json(&user("ann@example.com")),
    )
    .await;
    r.assert_scim_error(409, Some("uniqueness"));
    let r = send(env.scim(Method::GET, "/Users?filter=bogus%20%3D%3D")).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let a = activity(&env).await;
    let t = &a["tokens"][&id];
    assert!(t["last_request_at"].is_string(), "{a}");
    assert_eq!(t["last_hour"]["2xx"], 1, "{a}");
    assert_eq!(t["last_hour"]["4xx"], 2, "{a}");
    assert_eq!(t["last_hour"]["5xx"], 0, "{a}");
    let refusals = t["refusals"].as_array().unwrap();
    assert_eq!(refusals.len(), 2, "{a}");
    // Newest first.
    assert_eq!(refusals[0]["status"], 400);
    assert_eq!(refusals[0]["method"], "GET");
    let dup = &refusals[1];
    assert_eq!(dup["status"], 409);
    assert_eq!(dup["scimType"], "uniqueness");
    assert_eq!(dup["method"], "POST");
    assert_eq!(
        dup["path"],
        format!("/scim/v2.0/organizations/{}/Users", env.org.uid)
    );
    assert!(!dup["detail"].as_str().unwrap().is_empty());
    let text = a.to_string();
    assert!(!text.contains("bob@example.com"), "no query string: {text}");
    assert!(!text.contains("\"schemas\""), "no body: {text}");
    assert!(!text.contains(&env.org.scim_token), "no token: {text}");
}

#[tokio::test]
async fn refusals_are_bounded_newest_kept() {
    let env = Env::new().await;
    let id = token_id(&env).await;
    let n = 55;
    for i in 0..n {
        let r = send(env.scim(Method::GET, &format!("/Users/no-such-{i}"))).await;
        assert_eq!(r.status, 404);
    }
    let a = activity(&env).await;
    let refusals = a["tokens"][&id]["refusals"].as_array().unwrap().clone();
    assert_eq!(refusals.len(), 50, "{a}");
    assert_eq!(a["max_refusals"], 50);
    assert!(
        refusals[0]["path"]
            .as_str()
            .unwrap()
            .ends_with("/no-such-54")
    );
    assert!(
        refusals[49]["path"]
            .as_str()
            .unwrap()
            .ends_with("/no-such-5")
    );
    assert_eq!(a["tokens"][&id]["last_hour"]["4xx"], n);
}

#[tokio::test]
async fn an_org_sees_only_its_own_tokens_activity() {
    let env = Env::new().await;
    let id = token_id(&env).await;
    let other = new_org(&env.server, &env.http, "Other", "o@other.example").await;
    let r = send(
        env.http
            .get(scim_url(&env.server, &other.uid, "/Users/nope"))
            .bearer_auth(&other.scim_token),
    )
    .await;
    assert_eq!(r.status, 404);
    let r = send(env.scim(Method::GET, "/Users")).await;
    assert_eq!(r.status, 200);
    let mine = activity(&env).await;
    let tokens = mine["tokens"].as_object().unwrap();
    assert_eq!(tokens.keys().collect::<Vec<_>>(), vec![&id], "{mine}");
    assert!(tokens[&id]["refusals"].as_array().unwrap().is_empty());
    let r = send(
        env.http
            .get(admin_url(&env.server, &other.uid, "/scim/tokens/activity"))
            .bearer_auth(&other.admin_token),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let theirs = r.body["tokens"].as_object().unwrap();
    assert_eq!(theirs.len(), 1, "{}", r.body);
    assert!(!theirs.contains_key(&id));
    // Another org's admin token on this org's route is refused.
    let r = send(
        env.http
            .get(admin_url(
                &env.server,
                &env.org.uid,
                "/scim/tokens/activity",
            ))
            .bearer_auth(&other.admin_token),
    )
    .await;
    assert!(
        r.status == 401 || r.status == 403 || r.status == 404,
        "{}",
        r.status
    );
}

#[tokio::test]
async fn a_rate_limit_refusal_is_recorded_and_counts_cover_the_last_hour() {
    let clock = Arc::new(AtomicU64::new(3_000_000_000_000));
    let env = Env::new()
        .await
        .with_config(ServerConfig {
            rate_limit_per_minute: 60,
            rate_limit_burst: 2,
            rate_limit_clock: Some(clock.clone()),
            ..ServerConfig::default()
        })
        .await;
    let id = token_id(&env).await;
    for want in [200, 200, 429] {
        assert_eq!(send(env.scim(Method::GET, "/Users")).await.status, want);
    }
    let a = activity(&env).await;
    let t = &a["tokens"][&id];
    assert_eq!(t["last_hour"]["2xx"], 2, "{a}");
    assert_eq!(t["last_hour"]["4xx"], 1, "{a}");
    assert_eq!(t["refusals"][0]["status"], 429, "{a}");
    assert_eq!(t["refusals"][0]["method"], "GET");
    // An hour later the counts are gone; the refusals stay (the last 50, not the last hour).
    clock.fetch_add(61 * 60_000, Ordering::Relaxed);
    let a = activity(&env).await;
    let t = &a["tokens"][&id];
    assert_eq!(t["last_hour"]["2xx"], 0, "{a}");
    assert_eq!(t["last_hour"]["4xx"], 0, "{a}");
    assert_eq!(t["refusals"].as_array().unwrap().len(), 1, "{a}");
}
