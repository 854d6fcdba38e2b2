//! Helpers for the access, mapping and approval tests: the admin calls an operator makes.

#![allow(dead_code)]

use crate::common::*;
use reqwest::Method;
use serde_json::{Value, json};

pub async fn set_policy(env: &Env, approval: Value) {
    let r = send(
        env.admin(Method::PATCH, "/scim")
            .json(&json!({"approval": approval})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

pub async fn new_stack(env: &Env, name: &str) -> String {
    let r = send(
        env.admin(Method::POST, "/stacks")
            .json(&json!({"name": name})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["uid"].as_str().unwrap().to_string()
}

pub async fn put_mapping(env: &Env, group: &str, role: &str, stack_roles: &[(&str, &str)]) -> Resp {
    send(
        env.admin(Method::PUT, &format!("/group-mappings/{group}"))
            .json(&mapping_body(role, stack_roles)),
    )
    .await
}

pub fn mapping_body(role: &str, stack_roles: &[(&str, &str)]) -> Value {
    let srs: Vec<Value> = stack_roles
        .iter()
        .map(|(s, r)| json!({"stack_uid": s, "role_uid": r}))
        .collect();
    json!({"org_role": role, "stack_roles": srs})
}

/// Creates a group and maps it, asserting both succeed; returns the group id.
pub async fn mapped_group(
    env: &Env,
    name: &str,
    role: &str,
    stack_roles: &[(&str, &str)],
) -> String {
    let g = env.create_group(name, &[]).await;
    let id = g["id"].as_str().unwrap().to_string();
    let r = put_mapping(env, &id, role, stack_roles).await;
    assert_eq!(r.status, 200, "{}", r.body);
    id
}

pub async fn new_user(env: &Env, email: &str) -> String {
    env.create_user(email).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

pub async fn add_member(env: &Env, group: &str, user: &str) {
    let r = send(
        env.scim(Method::PATCH, &format!("/Groups/{group}"))
            .json(&patch_op(
                json!([{"op": "add", "path": "members", "value": [{"value": user}]}]),
            )),
    )
    .await;
    assert!(r.status == 200 || r.status == 204, "{}", r.body);
}

pub async fn remove_member(env: &Env, group: &str, user: &str) {
    let r = send(
        env.scim(Method::PATCH, &format!("/Groups/{group}"))
            .json(&patch_op(
                json!([{"op": "remove", "path": format!("members[value eq \"{user}\"]")}]),
            )),
    )
    .await;
    assert!(r.status == 200 || r.status == 204, "{}", r.body);
}

pub async fn set_active(env: &Env, user: &str, active: bool) {
    let r = send(
        env.scim(Method::PATCH, &format!("/Users/{user}"))
            .json(&patch_op(
                json!([{"op": "replace", "path": "active", "value": active}]),
            )),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// The member as `/users/{id}/access` shows it.
pub async fn member(env: &Env, id: &str) -> Value {
    let r = send(env.admin(Method::GET, &format!("/users/{id}/access"))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["member"].clone()
}

pub async fn pending(env: &Env) -> Vec<Value> {
    let r = send(env.admin(Method::GET, "/approvals?state=pending")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["items"].as_array().unwrap().clone()
}

pub async fn approve(env: &Env, id: &str, version: u64) -> Resp {
    send(
        env.admin(Method::POST, &format!("/approvals/{id}/approve"))
            .json(&json!({"version": version})),
    )
    .await
}

pub async fn reject(env: &Env, id: &str, version: u64, reason: &str) -> Resp {
    send(
        env.admin(Method::POST, &format!("/approvals/{id}/reject"))
            .json(&json!({"version": version, "reason": reason})),
    )
    .await
}

/// `(stack_uid, role_uid)` pairs of an Access document (null = none).
pub fn stack_roles(access: &Value) -> Vec<(String, String)> {
    access["stack_roles"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    (
                        r["stack_uid"].as_str().unwrap().to_string(),
                        r["role_uid"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn pair(s: &str, r: &str) -> (String, String) {
    (s.to_string(), r.to_string())
}
