//! SCIM Groups over HTTP: members as rows, skipped unknown members, projections, PUT.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

fn member_ids(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> = group["members"]
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

fn sorted(ids: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn create_group_with_members_renders_values_refs_and_types() {
    let env = Env::new().await;
    let a = env.create_user("a@acme.example").await;
    let b = env.create_user("b@acme.example").await;
    let (ia, ib) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let g = env.create_group("Developers", &[ia, ib]).await;
    assert_eq!(g["displayName"], "Developers");
    assert_eq!(g["schemas"][0], GROUP_SCHEMA);
    assert_eq!(g["meta"]["resourceType"], "Group");
    assert_eq!(member_ids(&g), sorted(&[ia, ib]));
    let m = g["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["value"] == ia)
        .unwrap();
    assert_eq!(m["type"], "User");
    assert_eq!(m["$ref"], env.scim_url(&format!("/Users/{ia}")).as_str());

    let id = g["id"].as_str().unwrap();
    let r = send(env.scim(Method::GET, &format!("/Groups/{id}"))).await;
    assert_eq!(r.status, 200);
    assert_eq!(member_ids(&r.body), sorted(&[ia, ib]));
}

#[tokio::test]
async fn unknown_member_ids_are_skipped_applied_rest_and_audited() {
    let env = Env::new().await;
    let a = env.create_user("a@acme.example").await;
    let ia = a["id"].as_str().unwrap();
    let g = env
        .create_group("Mixed", &[ia, "00000000-0000-4000-8000-000000000000"])
        .await;
    assert_eq!(member_ids(&g), sorted(&[ia]));
    let audit = env.audit().await;
    let skip = audit
        .iter()
        .find(|a| a.1 == "scim.group.members_skipped")
        .expect("skip audited");
    assert_eq!(skip.2.as_deref(), g["id"].as_str());
    assert_eq!(
        skip.3.as_ref().unwrap()["skipped"],
        json!(["00000000-0000-4000-8000-000000000000"])
    );
}

#[tokio::test]
async fn excluded_members_are_not_returned_and_attributes_select() {
    let env = Env::new().await;
    let a = env.create_user("a@acme.example").await;
    let g = env
        .create_group("Quiet", &[a["id"].as_str().unwrap()])
        .await;
    let id = g["id"].as_str().unwrap();
    let r = send(
        env.scim(Method::GET, &format!("/Groups/{id}"))
            .query(&[("excludedAttributes", "members")]),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.body.get("members").is_none());
    assert_eq!(r.body["displayName"], "Quiet");
    assert_eq!(r.body["id"], id);

    let r = send(
        env.scim(Method::GET, "/Groups")
            .query(&[("excludedAttributes", "members")]),
    )
    .await;
    assert_eq!(r.body["totalResults"], 1);
    assert!(r.body["Resources"][0].get("members").is_none());

    let r = send(
        env.scim(Method::GET, "/Groups")
            .query(&[("attributes", "displayName")]),
    )
    .await;
    let res = &r.body["Resources"][0];
    assert_eq!(res["displayName"], "Quiet");
    assert!(res.get("members").is_none());
    assert_eq!(res["id"], id, "id is always returned");
}

#[tokio::test]
async fn put_replaces_the_member_set() {
    let env = Env::new().await;
    let a = env.create_user("a@acme.example").await;
    let b = env.create_user("b@acme.example").await;
    let c = env.create_user("c@acme.example").await;
    let (ia, ib, ic) = (
        a["id"].as_str().unwrap(),
        b["id"].as_str().unwrap(),
        c["id"].as_str().unwrap(),
    );
    let g = env.create_group("Team", &[ia, ib]).await;
    let id = g["id"].as_str().unwrap();
    let r = send(
        env.scim(Method::PUT, &format!("/Groups/{id}"))
            .json(&json!({
                "schemas": [GROUP_SCHEMA],
                "displayName": "Team 2",
                "members": [{"value": ib}, {"value": ic}],
            })),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["displayName"], "Team 2");
    assert_eq!(member_ids(&r.body), sorted(&[ib, ic]));
    assert_eq!(r.header("etag"), Some("W/\"2\""));

    // The same PUT again changes nothing, so the version stays.
    let r = send(
        env.scim(Method::PUT, &format!("/Groups/{id}"))
            .json(&json!({
                "schemas": [GROUP_SCHEMA],
                "displayName": "Team 2",
                "members": [{"value": ic}, {"value": ib}],
            })),
    )
    .await;
    assert_eq!(r.header("etag"), Some("W/\"2\""));
}

#[tokio::test]
async fn deleting_a_user_removes_it_from_groups_and_moves_their_version() {
    let env = Env::new().await;
    let a = env.create_user("a@acme.example").await;
    let b = env.create_user("b@acme.example").await;
    let (ia, ib) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let g = env.create_group("Team", &[ia, ib]).await;
    let id = g["id"].as_str().unwrap();
    let r = send(env.scim(Method::DELETE, &format!("/Users/{ia}"))).await;
    assert_eq!(r.status, 204);
    let r = send(env.scim(Method::GET, &format!("/Groups/{id}"))).await;
    assert_eq!(member_ids(&r.body), sorted(&[ib]));
    assert_eq!(r.header("etag"), Some("W/\"2\""));
}

#[tokio::test]
async fn delete_group_is_204_and_leaves_users() {
    let env = Env::new().await;
    let a = env.create_user("a@acme.example").await;
    let ia = a["id"].as_str().unwrap();
    let g = env.create_group("Gone", &[ia]).await;
    let id = g["id"].as_str().unwrap();
    let r = send(env.scim(Method::DELETE, &format!("/Groups/{id}"))).await;
    assert_eq!(r.status, 204);
    let r = send(env.scim(Method::GET, &format!("/Groups/{id}"))).await;
    r.assert_scim_error(404, None);
    let r = send(env.scim(Method::GET, &format!("/Users/{ia}"))).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn group_needs_a_display_name_and_well_formed_members() {
    let env = Env::new().await;
    let r = send(
        env.scim(Method::POST, "/Groups")
            .json(&json!({"schemas": [GROUP_SCHEMA]})),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = send(env.scim(Method::POST, "/Groups").json(&json!({
        "schemas": [GROUP_SCHEMA], "displayName": "X", "members": [{"value": 5}]
    })))
    .await;
    r.assert_scim_error(400, Some("invalidValue"));
}
