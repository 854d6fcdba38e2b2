//! `POST /Bulk` (RFC 7644 §3.7) over HTTP: mixed operations, bulkId references in either
//! order, cycles, failOnErrors, the limits, and each operation gated, audited and rate
//! limited as if sent alone.

mod access_support;
mod common;

use access_support::*;
use common::*;
use reqwest::Method;
use scimdesk::server::ServerConfig;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

fn bulk_body(ops: Value) -> Value {
    json!({"schemas": [BULK_REQUEST], "Operations": ops})
}

async fn bulk(env: &Env, body: Value) -> Resp {
    send(env.scim(Method::POST, "/Bulk").json(&body)).await
}

fn post_user(bulk_id: &str, user_name: &str) -> Value {
    json!({"method": "POST", "path": "/Users", "bulkId": bulk_id, "data": user(user_name)})
}

fn post_group(bulk_id: &str, name: &str, member_values: &[&str]) -> Value {
    let members: Vec<Value> = member_values.iter().map(|v| json!({"value": v})).collect();
    json!({"method": "POST", "path": "/Groups", "bulkId": bulk_id,
           "data": {"schemas": [GROUP_SCHEMA], "displayName": name, "members": members}})
}

/// The id at the end of an operation's `location`.
fn id_of(op: &Value) -> String {
    let loc = op["location"].as_str().expect("location");
    loc.rsplit('/').next().unwrap().to_string()
}

async fn member_ids(env: &Env, group: &str) -> Vec<String> {
    let r = send(env.scim(Method::GET, &format!("/Groups/{group}"))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut ids: Vec<String> = r.body["members"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| m["value"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

#[tokio::test]
async fn mixed_operations_with_references_forward_and_backward() {
    let env = Env::new().await;
    let old = env.create_user("old@acme.example").await;
    let old_id = old["id"].as_str().unwrap();
    let gone = env.create_user("gone@acme.example").await;
    let gone_id = gone["id"].as_str().unwrap();
    let team = env.create_group("Team", &[]).await;
    let team_id = team["id"].as_str().unwrap();

    let r = bulk(
        &env,
        bulk_body(json!([
            // Forward: the group names users created further down.
            post_group("g", "Everyone", &["bulkId:u1", "bulkId:u2"]),
            post_user("u1", "ann@acme.example"),
            {"method": "PATCH", "path": format!("/Users/{old_id}"),
             "data": patch_op(json!([{"op": "replace", "path": "active", "value": false}]))},
            post_user("u2", "bob@acme.example"),
            {"method": "PUT", "path": format!("/Groups/{team_id}"),
             "data": {"schemas": [GROUP_SCHEMA], "displayName": "Team",
                      "members": [{"value": "bulkId:u1"}]}},
            {"method": "DELETE", "path": format!("/Users/{gone_id}")},
            // Backward, and in a path.
            {"method": "PATCH", "path": "/Groups/bulkId:g",
             "data": patch_op(json!([{"op": "replace", "path": "displayName", "value": "All"}]))},
        ])),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
    );
    let ops = r.body["Operations"].as_array().unwrap();
    let statuses: Vec<&str> = ops.iter().map(|o| o["status"].as_str().unwrap()).collect();
    assert_eq!(
        statuses,
        ["201", "201", "200", "201", "200", "204", "200"],
        "{}",
        r.body
    );
    assert_eq!(ops[1]["bulkId"], "u1");
    assert_eq!(ops[1]["method"], "POST");
    assert!(ops[1]["version"].as_str().unwrap().starts_with("W/"));
    let (g, u1, u2) = (id_of(&ops[0]), id_of(&ops[1]), id_of(&ops[3]));
    assert_eq!(
        ops[0]["location"],
        env.scim_url(&format!("/Groups/{g}")).as_str()
    );
    assert_eq!(
        ops[5]["location"],
        env.scim_url(&format!("/Users/{gone_id}")).as_str()
    );

    let mut both = vec![u1.clone(), u2.clone()];
    both.sort();
    assert_eq!(member_ids(&env, &g).await, both);
    assert_eq!(member_ids(&env, team_id).await, vec![u1.clone()]);
    let r = send(env.scim(Method::GET, &format!("/Groups/{g}"))).await;
    assert_eq!(r.body["displayName"], "All");
    let r = send(env.scim(Method::GET, &format!("/Users/{old_id}"))).await;
    assert_eq!(r.body["active"], false);
    let r = send(env.scim(Method::GET, &format!("/Users/{u2}"))).await;
    assert_eq!(r.body["userName"], "bob@acme.example");
    let r = send(env.scim(Method::GET, &format!("/Users/{gone_id}"))).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn circular_and_unresolvable_references_fail_alone_with_409() {
    let env = Env::new().await;
    let r = bulk(
        &env,
        bulk_body(json!([
            post_group("a", "A", &["bulkId:b"]),
            post_group("b", "B", &["bulkId:a"]),
            post_group("nobody", "N", &["bulkId:missing"]),
            post_user("dup", "x@acme.example"),
            post_user("dup2", "x@acme.example"),
            // Depends on a creation that fails: its reference cannot be resolved.
            post_group("late", "Late", &["bulkId:dup2"]),
            post_user("fine", "fine@acme.example"),
        ])),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ops = r.body["Operations"].as_array().unwrap();
    assert_eq!(ops.len(), 7);
    for i in [0, 1, 2, 5] {
        assert_eq!(ops[i]["status"], "409", "{i}: {}", r.body);
        assert_eq!(ops[i]["response"]["scimType"], "invalidValue");
        assert_eq!(ops[i]["response"]["status"], "409");
    }
    assert!(
        ops[0]["response"]["detail"]
            .as_str()
            .unwrap()
            .contains("circular")
    );
    assert_eq!(ops[3]["status"], "201");
    assert_eq!(ops[4]["status"], "409", "the second x@ is a duplicate");
    assert_eq!(ops[4]["response"]["scimType"], "uniqueness");
    assert_eq!(ops[6]["status"], "201");
    let r = send(env.scim(Method::GET, "/Groups")).await;
    assert_eq!(r.body["totalResults"], 0, "no group was created");
}

#[tokio::test]
async fn fail_on_errors_stops_after_that_many_errors() {
    let env = Env::new().await;
    env.create_user("taken@acme.example").await;
    let mut body = bulk_body(json!([
        post_user("e1", "taken@acme.example"),
        post_user("ok1", "one@acme.example"),
        {"method": "DELETE", "path": "/Users/no-such-user"},
        post_user("ok2", "two@acme.example"),
        post_user("ok3", "three@acme.example"),
    ]));
    body["failOnErrors"] = json!(2);
    let r = bulk(&env, body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ops = r.body["Operations"].as_array().unwrap();
    let statuses: Vec<&str> = ops.iter().map(|o| o["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["409", "201", "404"], "{}", r.body);
    let r = send(env.scim(
        Method::GET,
        "/Users?filter=userName eq \"two@acme.example\"",
    ))
    .await;
    assert_eq!(
        r.body["totalResults"], 0,
        "nothing ran after the second error"
    );

    // A malformed operation counts where it stands in the request.
    let mut body = bulk_body(json!([
        post_user("m1", "m1@acme.example"),
        {"method": "GET", "path": "/Users"},
        post_user("m2", "m2@acme.example"),
    ]));
    body["failOnErrors"] = json!(1);
    let r = bulk(&env, body).await;
    let ops = r.body["Operations"].as_array().unwrap();
    let statuses: Vec<&str> = ops.iter().map(|o| o["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["201", "400"], "{}", r.body);

    // Without failOnErrors every operation runs.
    let r = bulk(
        &env,
        bulk_body(json!([
            post_user("e1", "taken@acme.example"),
            post_user("e2", "taken@acme.example"),
            post_user("ok", "two@acme.example"),
        ])),
    )
    .await;
    let ops = r.body["Operations"].as_array().unwrap();
    assert_eq!(ops.len(), 3);
    assert_eq!(ops[2]["status"], "201");
}

#[tokio::test]
async fn limits_are_advertised_and_enforced_with_413() {
    let env = Env::new()
        .await
        .with_config(ServerConfig {
            bulk_max_operations: 2,
            ..ServerConfig::default()
        })
        .await;
    let r = send(env.scim(Method::GET, "/ServiceProviderConfig")).await;
    assert_eq!(r.body["bulk"]["supported"], true);
    assert_eq!(r.body["bulk"]["maxOperations"], 2);
    assert_eq!(r.body["bulk"]["maxPayloadSize"], 1024 * 1024);

    let r = bulk(
        &env,
        bulk_body(json!([
            post_user("a", "a@acme.example"),
            post_user("b", "b@acme.example"),
            post_user("c", "c@acme.example"),
        ])),
    )
    .await;
    r.assert_scim_error(413, None);
    let detail = r.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("maxOperations") && detail.contains('2'),
        "{detail}"
    );
    let r = send(env.scim(Method::GET, "/Users")).await;
    assert_eq!(r.body["totalResults"], 0, "nothing ran");

    // A payload over maxPayloadSize, whatever its operations.
    let mut big = user("big@acme.example");
    big["displayName"] = json!("x".repeat(1024 * 1024));
    let r = bulk(
        &env,
        bulk_body(json!([{"method": "POST", "path": "/Users", "bulkId": "b", "data": big}])),
    )
    .await;
    r.assert_scim_error(413, None);
    let detail = r.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("maxPayloadSize") && detail.contains("1048576"),
        "{detail}"
    );
}

#[tokio::test]
async fn each_operation_is_gated_by_the_approval_rules_as_if_sent_alone() {
    let env = Env::new().await;
    let web = new_stack(&env, "Web").await;
    let devs = mapped_group(&env, "Developers", "member", &[(&web, "developer")]).await;
    set_policy(&env, json!({"provision": false})).await;
    let active = new_user(&env, "active@acme.example").await;
    // Joined with provision approval off: active at once, nothing pending.
    assert_eq!(member(&env, &active).await["state"], "active");
    set_policy(&env, json!({"provision": true})).await;

    let r = bulk(
        &env,
        bulk_body(json!([
            post_user("n", "new@acme.example"),
            {"method": "PATCH", "path": format!("/Groups/{devs}"),
             "data": patch_op(json!([{"op": "add", "path": "members",
                                      "value": [{"value": active}]}]))},
        ])),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ops = r.body["Operations"].as_array().unwrap();
    assert_eq!(ops[0]["status"], "201");
    assert_eq!(ops[1]["status"], "200");
    let new_id = id_of(&ops[0]);
    // The new member waits for approval like one POSTed alone.
    assert_eq!(member(&env, &new_id).await["state"], "pending");
    // The group change raised the active member's access: it waits, granted does not grow.
    let open = pending(&env).await;
    let kinds: Vec<(&str, &str)> = open
        .iter()
        .map(|p| {
            (
                p["member"]["email"].as_str().unwrap(),
                p["kind"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        kinds.contains(&("new@acme.example", "provision")),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("active@acme.example", "access_increase")),
        "{kinds:?}"
    );
    let m = member(&env, &active).await;
    assert!(stack_roles(&m["granted"]).is_empty(), "{m}");
}

#[tokio::test]
async fn each_operation_is_audited_as_if_sent_alone() {
    let env = Env::new().await;
    let r = bulk(
        &env,
        bulk_body(json!([
            post_user("a", "a@acme.example"),
            post_user("b", "b@acme.example"),
            post_group("g", "G", &["bulkId:a"]),
            {"method": "DELETE", "path": "/Users/bulkId:b"},
        ])),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ops = r.body["Operations"].as_array().unwrap();
    let (a, b, g) = (id_of(&ops[0]), id_of(&ops[1]), id_of(&ops[2]));
    assert_eq!(ops[3]["status"], "204", "{}", r.body);
    let audit = env.audit().await;
    let has = |action: &str, target: &str| {
        audit.iter().any(|(actor, act, t, _)| {
            act == action && t.as_deref() == Some(target) && actor == "test-idp"
        })
    };
    assert!(has("scim.user.create", &a), "{audit:?}");
    assert!(has("scim.user.create", &b), "{audit:?}");
    assert!(has("scim.group.create", &g), "{audit:?}");
    assert!(
        audit
            .iter()
            .any(|(_, act, t, _)| act.starts_with("scim.user.d") && t.as_deref() == Some(&b)),
        "{audit:?}"
    );
}

#[tokio::test]
async fn each_operation_counts_against_the_rate_limit() {
    let env = Env::new()
        .await
        .with_config(ServerConfig {
            rate_limit_per_minute: 6,
            // The bucket does not refill during the test.
            rate_limit_clock: Some(Arc::new(AtomicU64::new(1_000_000_000_000))),
            ..ServerConfig::default()
        })
        .await;
    // More operations than the token may send: refused before anything runs.
    let seven: Vec<Value> = (0..7)
        .map(|i| post_user(&format!("u{i}"), &format!("u{i}@acme.example")))
        .collect();
    let r = bulk(&env, bulk_body(Value::Array(seven))).await;
    r.assert_scim_error(429, None);
    assert!(r.header("retry-after").is_some());
    assert_eq!(r.header("x-ratelimit-limit"), Some("6"));
    // The refused bulk took only its own request.
    assert_eq!(r.header("x-ratelimit-remaining"), Some("5"));
    let r = send(env.scim(Method::GET, "/Users")).await;
    assert_eq!(r.body["totalResults"], 0, "nothing ran");
    assert_eq!(r.header("x-ratelimit-remaining"), Some("4"));

    // Three operations take three requests of the allowance.
    let three: Vec<Value> = (0..3)
        .map(|i| post_user(&format!("u{i}"), &format!("u{i}@acme.example")))
        .collect();
    let r = bulk(&env, bulk_body(Value::Array(three))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("x-ratelimit-remaining"), Some("1"));
    let r = send(env.scim(Method::GET, "/Users")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["totalResults"], 3);
    assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
    let r = send(env.scim(Method::GET, "/Users")).await;
    assert_eq!(r.status, 429);
}

#[tokio::test]
async fn malformed_requests_and_operations_are_refused_clearly() {
    let env = Env::new().await;
    let r = bulk(&env, json!({"Operations": []})).await;
    r.assert_scim_error(400, Some("invalidSyntax"));
    let r = bulk(
        &env,
        bulk_body(json!([
            {"method": "GET", "path": "/Users"},
            {"method": "POST", "path": "/Users", "data": user("nobulkid@acme.example")},
            {"method": "POST", "path": "/Widgets", "bulkId": "w", "data": {}},
            {"method": "POST", "path": "/Users", "bulkId": "bad", "data": {"userName": "not-an-email"}},
            post_user("ok", "ok@acme.example"),
        ])),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ops = r.body["Operations"].as_array().unwrap();
    let statuses: Vec<&str> = ops.iter().map(|o| o["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["400", "400", "400", "400", "201"], "{}", r.body);
    assert_eq!(ops[0]["method"], "GET");
    assert_eq!(ops[3]["response"]["status"], "400");
    assert!(
        ops[3]["response"]["detail"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );
}

#[tokio::test]
async fn a_large_batch_of_creations_all_land_with_a_group_of_them() {
    let env = Env::new().await;
    let mut ops: Vec<Value> = (0..150)
        .map(|i| post_user(&format!("u{i}"), &format!("u{i:03}@acme.example")))
        .collect();
    // A duplicate in the middle of the batch fails alone.
    ops.insert(70, post_user("dup", "u001@acme.example"));
    let refs: Vec<String> = (0..150).map(|i| format!("bulkId:u{i}")).collect();
    let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
    ops.push(post_group("all", "All", &refs));
    let r = bulk(&env, bulk_body(Value::Array(ops))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ops = r.body["Operations"].as_array().unwrap();
    assert_eq!(ops.len(), 152);
    let created = ops.iter().filter(|o| o["status"] == "201").count();
    assert_eq!(created, 151, "150 users and the group");
    assert_eq!(ops[70]["status"], "409");
    assert_eq!(ops[70]["response"]["scimType"], "uniqueness");
    let group = id_of(&ops[151]);
    assert_eq!(member_ids(&env, &group).await.len(), 150);
    let r = send(env.scim(Method::GET, "/Users?count=1")).await;
    assert_eq!(r.body["totalResults"], 150);
}
