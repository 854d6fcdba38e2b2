//! The approval queue over HTTP: provision, access increases, lowering at once, stale
//! versions, repeats, rejections and deprovisioning.

mod access_support;
mod common;

use access_support::*;
use common::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn a_new_member_waits_then_approval_grants_exactly_the_mapped_access() {
    let env = Env::new().await;
    let web = new_stack(&env, "Web").await;
    let devs = mapped_group(&env, "Developers", "member", &[(&web, "developer")]).await;
    let ann = new_user(&env, "ann@acme.example").await;

    let m = member(&env, &ann).await;
    assert_eq!(m["state"], "pending");
    assert_eq!(
        m["granted"],
        serde_json::Value::Null,
        "no access before approval"
    );
    let open = pending(&env).await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["kind"], "provision");
    assert_eq!(open[0]["version"], 1);
    assert_eq!(open[0]["member"]["email"], "ann@acme.example");
    assert_eq!(open[0]["diff"]["org_role_from"], serde_json::Value::Null);
    assert_eq!(open[0]["diff"]["org_role_to"], "member");

    // The IdP adds her to a mapped group: the same request now asks for more.
    add_member(&env, &devs, &ann).await;
    let open = pending(&env).await;
    assert_eq!(open.len(), 1, "one request per member");
    let req = &open[0];
    assert_eq!(req["version"], 2);
    assert_eq!(req["diff"]["stack_gains"][0]["stack_name"], "Web");
    assert_eq!(req["diff"]["stack_gains"][0]["role_name"], "Developer");
    let id = req["id"].as_str().unwrap();

    // Approving what was seen before the change is refused, with the current request.
    let r = approve(&env, id, 1).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.body["error"], "conflict");
    assert_eq!(r.body["request"]["version"], 2);
    assert_eq!(member(&env, &ann).await["state"], "pending");

    let r = approve(&env, id, 2).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["request"]["state"], "approved");
    assert_eq!(r.body["request"]["decided_by"], "owner@acme.example");
    assert_eq!(r.body["member"]["state"], "active");
    assert_eq!(r.body["member"]["granted"]["org_role"], "member");
    assert_eq!(
        stack_roles(&r.body["member"]["granted"]),
        vec![pair(&web, "developer")]
    );
    assert_eq!(r.body["member"]["request"], serde_json::Value::Null);

    // Approving twice is a harmless no-op; rejecting an approved request is a conflict.
    let again = approve(&env, id, 2).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(
        again.body["request"]["version"], 2,
        "approving does not bump"
    );
    assert_eq!(reject(&env, id, 2, "no").await.status, 409);
    assert!(pending(&env).await.is_empty());

    let actions: Vec<String> = env.audit().await.into_iter().map(|a| a.1).collect();
    for a in [
        "approval.opened",
        "approval.updated",
        "approval.approved",
        "access.changed",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} audited: {actions:?}");
    }
}

#[tokio::test]
async fn raising_access_waits_and_lowering_applies_at_once() {
    let env = Env::new().await;
    set_policy(&env, json!({"provision": false})).await;
    let web = new_stack(&env, "Web").await;
    let devs = mapped_group(&env, "Developers", "member", &[(&web, "developer")]).await;
    let admins = mapped_group(&env, "Admins", "admin", &[(&web, "admin")]).await;
    let bob = new_user(&env, "bob@acme.example").await;
    let m = member(&env, &bob).await;
    assert_eq!(m["state"], "active", "provision approval is off");
    assert_eq!(m["granted"]["org_role"], "member");

    add_member(&env, &devs, &bob).await;
    let m = member(&env, &bob).await;
    assert!(stack_roles(&m["granted"]).is_empty(), "the raise waits");
    assert_eq!(stack_roles(&m["requested"]), vec![pair(&web, "developer")]);
    assert_eq!(m["request"]["kind"], "access_increase");
    let r = approve(&env, m["request"]["id"].as_str().unwrap(), 1).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Joining Admins and leaving Developers at once: the loss applies now, the request holds
    // only the gains.
    add_member(&env, &admins, &bob).await;
    remove_member(&env, &devs, &bob).await;
    let m = member(&env, &bob).await;
    assert!(
        stack_roles(&m["granted"]).is_empty(),
        "developer revoked at once"
    );
    assert_eq!(m["granted"]["org_role"], "member");
    let diff = &m["request"]["diff"];
    assert_eq!(diff["org_role_to"], "admin");
    assert_eq!(diff["stack_losses"], json!([]));
    assert_eq!(diff["stack_gains"][0]["role_uid"], "admin");

    // Leaving the only group that asked for more supersedes the request.
    remove_member(&env, &admins, &bob).await;
    let m = member(&env, &bob).await;
    assert_eq!(m["request"], serde_json::Value::Null);
    assert!(pending(&env).await.is_empty());
    let r = send(env.admin(Method::GET, "/approvals?state=superseded")).await;
    assert_eq!(r.body["total"], 1);
}

#[tokio::test]
async fn a_rejected_member_keeps_granted_access_until_the_idp_asks_for_more() {
    let env = Env::new().await;
    set_policy(&env, json!({"provision": false})).await;
    let web = new_stack(&env, "Web").await;
    let admins = mapped_group(&env, "Admins", "admin", &[]).await;
    let devs = mapped_group(&env, "Developers", "member", &[(&web, "developer")]).await;
    let cy = new_user(&env, "cy@acme.example").await;
    add_member(&env, &admins, &cy).await;
    let req = member(&env, &cy).await["request"].clone();
    let id = req["id"].as_str().unwrap().to_string();

    let r = reject(&env, &id, 1, "not an admin").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["request"]["state"], "rejected");
    assert_eq!(r.body["request"]["reason"], "not an admin");
    assert_eq!(r.body["member"]["state"], "active");
    assert_eq!(
        r.body["member"]["granted"]["org_role"], "member",
        "stays as granted"
    );
    // Approving a rejected request is a conflict; rejecting it again is a no-op.
    assert_eq!(approve(&env, &id, 1).await.status, 409);
    assert_eq!(reject(&env, &id, 1, "still no").await.status, 200);

    // The IdP asks for more: a new request opens.
    add_member(&env, &devs, &cy).await;
    let open = pending(&env).await;
    assert_eq!(open.len(), 1);
    assert_ne!(open[0]["id"], id.as_str());
    assert_eq!(open[0]["kind"], "access_increase");
}

#[tokio::test]
async fn a_rejected_join_leaves_the_member_rejected_without_access() {
    let env = Env::new().await;
    let dee = new_user(&env, "dee@acme.example").await;
    let req = pending(&env).await[0].clone();
    let r = reject(&env, req["id"].as_str().unwrap(), 1, "unknown person").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let m = member(&env, &dee).await;
    assert_eq!(m["state"], "rejected");
    assert_eq!(m["granted"], serde_json::Value::Null);
    // Who rejected, when and why, on the member itself (its list row and its access).
    assert_eq!(m["rejection"]["reason"], "unknown person", "{m}");
    assert_eq!(m["rejection"]["decided_by"], "owner@acme.example");
    assert_eq!(m["rejection"]["request_id"], req["id"]);
    assert!(
        m["rejection"]["decided_at"]
            .as_str()
            .unwrap()
            .starts_with("20")
    );
    let r = send(env.admin(Method::GET, &format!("/users/{dee}/access"))).await;
    assert_eq!(r.body["member"]["rejection"]["reason"], "unknown person");
    let r = send(env.admin(Method::GET, "/users?state=rejected")).await;
    assert_eq!(r.body["items"][0]["rejection"]["reason"], "unknown person");
    let r = send(env.admin(Method::GET, "/users?state=active")).await;
    assert!(
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m.get("rejection").is_none()),
        "only a rejected member carries a rejection: {}",
        r.body
    );
}

#[tokio::test]
async fn deprovisioning_applies_at_once_unless_the_policy_asks_for_approval() {
    let env = Env::new().await;
    set_policy(&env, json!({"provision": false})).await;
    let eve = new_user(&env, "eve@acme.example").await;
    set_active(&env, &eve, false).await;
    let m = member(&env, &eve).await;
    assert_eq!(m["state"], "deprovisioned");
    assert_eq!(m["granted"], serde_json::Value::Null);

    set_policy(&env, json!({"deprovision": true})).await;
    let fay = new_user(&env, "fay@acme.example").await;
    set_active(&env, &fay, false).await;
    let m = member(&env, &fay).await;
    assert_eq!(m["state"], "active", "removal waits for approval");
    assert_eq!(m["request"]["kind"], "deprovision");
    assert_eq!(m["request"]["diff"]["org_role_to"], serde_json::Value::Null);
    let r = approve(&env, m["request"]["id"].as_str().unwrap(), 1).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["member"]["state"], "deprovisioned");
    assert_eq!(r.body["member"]["granted"], serde_json::Value::Null);

    // A SCIM DELETE is a deprovision too.
    let gus = new_user(&env, "gus@acme.example").await;
    let r = send(env.scim(Method::DELETE, &format!("/Users/{gus}"))).await;
    assert_eq!(r.status, 204);
    assert_eq!(member(&env, &gus).await["request"]["kind"], "deprovision");
}

#[tokio::test]
async fn deleting_a_mapped_group_drops_its_access_at_once() {
    let env = Env::new().await;
    set_policy(&env, json!({"provision": false, "access_increase": false})).await;
    let web = new_stack(&env, "Web").await;
    let devs = mapped_group(&env, "Developers", "admin", &[(&web, "developer")]).await;
    let hal = new_user(&env, "hal@acme.example").await;
    add_member(&env, &devs, &hal).await;
    let m = member(&env, &hal).await;
    assert_eq!(
        m["granted"]["org_role"], "admin",
        "no approval needed by policy"
    );
    assert_eq!(stack_roles(&m["granted"]), vec![pair(&web, "developer")]);

    let r = send(env.scim(Method::DELETE, &format!("/Groups/{devs}"))).await;
    assert_eq!(r.status, 204);
    let m = member(&env, &hal).await;
    assert_eq!(m["granted"]["org_role"], "member");
    assert!(stack_roles(&m["granted"]).is_empty());
    assert_eq!(m["groups"], json!([]));
}

#[tokio::test]
async fn unknown_requests_and_missing_versions_are_refused() {
    let env = Env::new().await;
    assert_eq!(approve(&env, "nope", 1).await.status, 404);
    new_user(&env, "ivy@acme.example").await;
    let id = pending(&env).await[0]["id"].as_str().unwrap().to_string();
    let r = send(
        env.admin(Method::POST, &format!("/approvals/{id}/approve"))
            .json(&json!({})),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.body["message"].as_str().unwrap().contains("version"));
    let r = send(env.admin(Method::GET, "/approvals?state=bogus")).await;
    assert_eq!(r.status, 400);
}

/// A create whose membership is new skips reading it back (it has nothing yet); one that
/// links an existing membership (the same email provisioned again) reads it. Both must end
/// where the approval rules say, under either policy.
#[tokio::test]
async fn a_new_and_a_returning_member_are_decided_by_the_same_rules() {
    let env = Env::new().await;
    // Provision approval on (the default): a new member waits with a provision request.
    let hal = new_user(&env, "hal@acme.example").await;
    let m = member(&env, &hal).await;
    assert_eq!(m["state"], "pending");
    assert_eq!(m["request"]["kind"], "provision");
    assert_eq!(m["request"]["version"], 1);

    // Provision approval off: active at once with member access, nothing pending for him.
    set_policy(&env, json!({"provision": false})).await;
    let ivy = new_user(&env, "ivy@acme.example").await;
    let m = member(&env, &ivy).await;
    assert_eq!(m["state"], "active");
    assert_eq!(m["granted"]["org_role"], "member");
    assert_eq!(m["request"], serde_json::Value::Null);

    // Deprovisioned, then provisioned again by the same email: the same membership comes
    // back through the full reconcile and is active again under this policy.
    let r = send(env.scim(Method::DELETE, &format!("/Users/{ivy}"))).await;
    assert_eq!(r.status, 204);
    assert_eq!(member(&env, &ivy).await["state"], "deprovisioned");
    let again = new_user(&env, "Ivy@acme.example").await;
    assert_eq!(again, ivy, "same membership");
    let m = member(&env, &ivy).await;
    assert_eq!(m["state"], "active");
    assert_eq!(m["granted"]["org_role"], "member");

    // With approval on again, a returning member waits like a new one.
    set_policy(&env, json!({"provision": true})).await;
    let r = send(env.scim(Method::DELETE, &format!("/Users/{ivy}"))).await;
    assert_eq!(r.status, 204);
    new_user(&env, "ivy@acme.example").await;
    let m = member(&env, &ivy).await;
    assert_eq!(m["state"], "pending");
    assert_eq!(m["granted"], serde_json::Value::Null);
    assert_eq!(m["request"]["kind"], "provision");
    // hal's request is untouched by the others.
    assert_eq!(member(&env, &hal).await["request"]["version"], 1);
}
