//! PATCH over HTTP: 200 with the full resource, members touched as rows, deprovisioning by
//! `active=false`, ETags, and concurrent member PATCHes that lose nothing.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;

fn member_set(group: &Value) -> BTreeSet<String> {
    group["members"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| m["value"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn patch_user_returns_200_with_the_full_resource_and_bumps_the_version() {
    let env = Env::new().await;
    let u = env.create_user("p@acme.example").await;
    let id = u["id"].as_str().unwrap();
    let r = send(
        env.scim(Method::PATCH, &format!("/Users/{id}"))
            .json(&patch_op(json!([
                {"op": "Replace", "path": "displayName", "value": "Pat"},
                {"op": "add", "path": "name.middleName", "value": "Q"}
            ]))),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["displayName"], "Pat");
    assert_eq!(r.body["name"]["middleName"], "Q");
    assert_eq!(
        r.body["name"]["givenName"], "Given",
        "untouched attributes stay"
    );
    assert_eq!(r.body["userName"], "p@acme.example");
    assert_eq!(r.header("etag"), Some("W/\"2\""));
    assert_eq!(r.body["meta"]["version"], "W/\"2\"");

    let r = send(
        env.scim(Method::PATCH, &format!("/Users/{id}"))
            .header("if-match", "W/\"1\"")
            .json(&patch_op(
                json!([{"op": "replace", "path": "displayName", "value": "X"}]),
            )),
    )
    .await;
    r.assert_scim_error(412, None);
}

#[tokio::test]
async fn entra_active_false_as_a_string_deprovisions_and_true_reactivates() {
    let env = Env::new().await;
    let u = env.create_user("e@acme.example").await;
    let id = u["id"].as_str().unwrap();
    let r = send(
        env.scim(Method::PATCH, &format!("/Users/{id}"))
            .json(&patch_op(json!([
                {"op": "Replace", "path": "active", "value": "False"}
            ]))),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["active"], false);
    let org = send(env.admin(Method::GET, "")).await;
    assert_eq!(
        org.body["counts"]["members"], 1,
        "only the owner is still a member"
    );
    let r = send(
        env.scim(Method::PATCH, &format!("/Users/{id}"))
            .json(&patch_op(json!([
                {"op": "replace", "value": {"active": true}}
            ]))),
    )
    .await;
    assert_eq!(r.body["active"], true);
    let org = send(env.admin(Method::GET, "")).await;
    assert_eq!(org.body["counts"]["members"], 2);
}

#[tokio::test]
async fn patch_that_breaks_the_email_rule_is_400_and_changes_nothing() {
    let env = Env::new().await;
    let u = env.create_user("rule@acme.example").await;
    let id = u["id"].as_str().unwrap();
    let r = send(
        env.scim(Method::PATCH, &format!("/Users/{id}")).json(&patch_op(json!([
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "other@acme.example"}
        ]))),
    )
    .await;
    r.assert_scim_error(400, Some("invalidValue"));
    let g = send(env.scim(Method::GET, &format!("/Users/{id}"))).await;
    assert_eq!(g.body, u);
}

#[tokio::test]
async fn bad_patch_requests_are_400s() {
    let env = Env::new().await;
    let u = env.create_user("bad@acme.example").await;
    let id = u["id"].as_str().unwrap();
    for body in [
        json!({"Operations": [{"op": "add", "path": "displayName", "value": "x"}]}),
        patch_op(json!([{"op": "frobnicate", "path": "displayName", "value": "x"}])),
        patch_op(json!([{"op": "remove"}])),
        patch_op(json!([{"op": "replace", "path": "active", "value": "maybe"}])),
        patch_op(json!([{"op": "add", "path": "emails[type eq", "value": "x"}])),
    ] {
        let r = send(env.scim(Method::PATCH, &format!("/Users/{id}")).json(&body)).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        r.assert_scim_error(400, None);
    }
    let r = send(env.scim(Method::PATCH, "/Users/nope").json(&patch_op(
        json!([{"op": "replace", "path": "displayName", "value": "x"}]),
    )))
    .await;
    r.assert_scim_error(404, None);
}

#[tokio::test]
async fn member_add_remove_and_entra_remove_with_value_touch_only_those_members() {
    let env = Env::new().await;
    let mut ids = Vec::new();
    for i in 0..4 {
        let u = env.create_user(&format!("m{i}@acme.example")).await;
        ids.push(u["id"].as_str().unwrap().to_string());
    }
    let g = env.create_group("G", &[&ids[0], &ids[1]]).await;
    let gid = g["id"].as_str().unwrap();
    let path = format!("/Groups/{gid}");

    let r = send(env.scim(Method::PATCH, &path).json(&patch_op(json!([
        {"op": "add", "path": "members", "value": [{"value": ids[2]}, {"value": ids[0]}]}
    ]))))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(member_set(&r.body), ids[0..3].iter().cloned().collect());

    let r = send(env.scim(Method::PATCH, &path).json(&patch_op(json!([
        {"op": "Remove", "path": "members", "value": [{"value": ids[1]}]}
    ]))))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let want: BTreeSet<String> = [ids[0].clone(), ids[2].clone()].into();
    assert_eq!(
        member_set(&r.body),
        want,
        "Entra's remove-with-value removes only that one"
    );

    let r = send(env.scim(Method::PATCH, &path).json(&patch_op(json!([
        {"op": "remove", "path": format!("members[value eq \"{}\"]", ids[0])}
    ]))))
    .await;
    assert_eq!(member_set(&r.body), [ids[2].clone()].into());

    let r = send(
        env.scim(Method::PATCH, &path)
            .query(&[("excludedAttributes", "members")])
            .json(&patch_op(json!([
                {"op": "replace", "path": "members", "value": [{"value": ids[3]}]},
                {"op": "replace", "path": "displayName", "value": "G2"}
            ]))),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.get("members").is_none());
    assert_eq!(r.body["displayName"], "G2");
    let r = send(env.scim(Method::GET, &path)).await;
    assert_eq!(member_set(&r.body), [ids[3].clone()].into());
}

#[tokio::test]
async fn unknown_member_in_a_patch_is_skipped_and_audited() {
    let env = Env::new().await;
    let u = env.create_user("k@acme.example").await;
    let uid = u["id"].as_str().unwrap();
    let g = env.create_group("G", &[]).await;
    let gid = g["id"].as_str().unwrap();
    let ghost = "11111111-1111-4111-8111-111111111111";
    let r = send(
        env.scim(Method::PATCH, &format!("/Groups/{gid}"))
            .json(&patch_op(json!([
                {"op": "add", "path": "members", "value": [{"value": ghost}, {"value": uid}]}
            ]))),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(member_set(&r.body), [uid.to_string()].into());
    let audit = env.audit().await;
    assert!(audit.iter().any(
        |a| a.1 == "scim.group.members_skipped" && a.3.as_ref().unwrap()["skipped"][0] == ghost
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_member_patches_to_one_group_lose_nothing() {
    let env = Env::new().await;
    let mut ids = Vec::new();
    for i in 0..24 {
        let u = env.create_user(&format!("c{i}@acme.example")).await;
        ids.push(u["id"].as_str().unwrap().to_string());
    }
    let g = env.create_group("Busy", &[]).await;
    let gid = g["id"].as_str().unwrap().to_string();
    let mut tasks = Vec::new();
    for chunk in ids.chunks(3) {
        let value: Vec<Value> = chunk.iter().map(|m| json!({"value": m})).collect();
        let rb = env
            .scim(Method::PATCH, &format!("/Groups/{gid}"))
            .query(&[("excludedAttributes", "members")])
            .json(&patch_op(
                json!([{"op": "add", "path": "members", "value": value}]),
            ));
        tasks.push(tokio::spawn(send(rb)));
    }
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = send(env.scim(Method::GET, &format!("/Groups/{gid}"))).await;
    assert_eq!(member_set(&r.body), ids.iter().cloned().collect());
    assert_eq!(r.header("etag"), Some("W/\"9\""), "one version per PATCH");
}
