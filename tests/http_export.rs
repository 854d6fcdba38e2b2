//! GET /export: the snapshot document, with no secret, read back by `snapshot::read`.

mod common;

use common::*;
use reqwest::Method;
use scimdesk::snapshot::{self, FORMAT, FORMAT_VERSION};
use serde_json::json;

async fn export_bytes(env: &Env) -> (Resp, Vec<u8>) {
    let resp = env
        .admin(Method::GET, "/export")
        .send()
        .await
        .expect("export");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.unwrap().to_vec();
    let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (
        Resp {
            status,
            headers,
            body,
        },
        bytes,
    )
}

#[tokio::test]
async fn export_is_a_readable_snapshot_of_the_org_without_secrets() {
    let env = Env::new().await;
    let ann = env.create_user("ann@acme.example").await;
    let bob = env.create_user("bob@acme.example").await;
    let ann_id = ann["id"].as_str().unwrap();
    let bob_id = bob["id"].as_str().unwrap();
    let devs = env.create_group("Developers", &[ann_id, bob_id]).await;
    env.create_group("Contractors", &[bob_id]).await;
    let r = send(
        env.admin(Method::POST, "/admin-tokens")
            .json(&json!({"email": "ann@acme.example", "label": "ann laptop"})),
    )
    .await;
    let ann_token = r.body["token"].as_str().unwrap().to_string();
    // Another org's data must not leak into this export.
    let other = new_org(&env.server, &env.http, "Globex", "boss@globex.example").await;
    let r = send(
        env.http
            .post(scim_url(&env.server, &other.uid, "/Users"))
            .bearer_auth(&other.scim_token)
            .json(&user("gina@globex.example")),
    )
    .await;
    assert_eq!(r.status, 201);

    let (r, bytes) = export_bytes(&env).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let disposition = r.header("content-disposition").unwrap();
    assert!(
        disposition.contains(&format!("scimdesk-{}-", env.org.uid)),
        "{disposition}"
    );

    let snap = snapshot::read(&bytes).expect("the export reads back as a snapshot");
    assert_eq!(snap.format, FORMAT);
    assert_eq!(snap.format_version, FORMAT_VERSION);
    assert_eq!(snap.org.uid, env.org.uid);
    assert_eq!(snap.org.name, "Acme");
    assert!(snap.scim.enabled);
    assert_eq!(
        snap.scim
            .tokens
            .iter()
            .map(|t| t.label.as_str())
            .collect::<Vec<_>>(),
        ["test-idp"]
    );
    let mut holders: Vec<&str> = snap.admin_tokens.iter().map(|t| t.email.as_str()).collect();
    holders.sort();
    assert_eq!(holders, ["ann@acme.example", "owner@acme.example"]);

    let names: Vec<&str> = snap
        .groups
        .iter()
        .map(|g| g.display_name.as_str())
        .collect();
    assert_eq!(names, ["Contractors", "Developers"]);
    let d = snap.groups.iter().find(|g| g.id == devs["id"]).unwrap();
    let mut expected = vec![ann_id.to_string(), bob_id.to_string()];
    expected.sort();
    assert_eq!(d.members, expected);

    let emails: Vec<&str> = snap.members.iter().map(|m| m.email.as_str()).collect();
    assert_eq!(
        emails,
        ["ann@acme.example", "bob@acme.example", "owner@acme.example"],
        "every membership, ordered by email"
    );
    let bob_m = snap.members.iter().find(|m| m.id == bob_id).unwrap();
    let mut bob_groups: Vec<&str> = bob_m
        .groups
        .iter()
        .map(|g| g.display_name.as_str())
        .collect();
    bob_groups.sort();
    assert_eq!(bob_groups, ["Contractors", "Developers"]);
    assert_eq!(bob_m.source, "scim");
    let owner = snap
        .members
        .iter()
        .find(|m| m.email == "owner@acme.example")
        .unwrap();
    assert_eq!(owner.source, "manual");
    assert_eq!(
        owner.granted.as_ref().map(|a| a.org_role),
        Some(scimdesk::domain::access::OrgRole::Owner)
    );

    assert!(!snap.audit.is_empty());
    let at: Vec<&str> = snap.audit.iter().map(|e| e.at.as_str()).collect();
    assert!(at.windows(2).all(|w| w[0] >= w[1]), "newest first");
    // The org's own event ids, as the admin API gives them (issue 23, item 7).
    let listed = send(env.admin(Method::GET, "/audit?limit=500")).await;
    let listed: Vec<&str> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    let exported: Vec<&str> = snap.audit.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(exported, listed[..exported.len()]);

    let text = String::from_utf8(bytes).unwrap();
    for secret in [&env.org.admin_token, &env.org.scim_token, &ann_token] {
        assert!(
            !text.contains(secret.rsplit('_').next().unwrap()),
            "a secret in the export"
        );
    }
    assert!(!text.contains("globex"), "another org's data in the export");
}

#[tokio::test]
async fn export_carries_the_last_thousand_audit_events() {
    let env = Env::new().await;
    // Each settings change is one audit event.
    for i in 0..1_005 {
        let r = send(
            env.admin(Method::PATCH, "/scim")
                .json(&json!({"sso_role_mapping": i % 2 == 0})),
        )
        .await;
        assert_eq!(r.status, 200);
    }
    let (r, bytes) = export_bytes(&env).await;
    assert_eq!(r.status, 200);
    let snap = snapshot::read(&bytes).unwrap();
    assert_eq!(snap.audit.len(), 1_000);
    let newest = send(env.admin(Method::GET, "/audit?limit=1")).await;
    assert_eq!(
        snap.audit[0].id,
        newest.body["items"][0]["id"].as_str().unwrap()
    );
    assert!(
        snap.audit
            .iter()
            .all(|e| e.action == "scim.settings.update")
    );
}

/// Every item of an admin list, following `next`.
async fn all_items(env: &Env, path: &str) -> Vec<serde_json::Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let r = send(env.admin(
            Method::GET,
            &format!("{path}{sep}limit=200&cursor={cursor}"),
        ))
        .await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        out.extend(r.body["items"].as_array().unwrap().iter().cloned());
        match r.body["next"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => return out,
        }
    }
}

/// The export says what the live admin API says: stacks, mappings, each member's granted and
/// requested access, and the pending requests.
#[tokio::test]
async fn export_agrees_with_the_live_admin_api() {
    let env = Env::new().await;
    let policy = |on: bool| json!({"approval": {"provision": on, "access_increase": on}});
    let r = send(env.admin(Method::PATCH, "/scim").json(&policy(false))).await;
    assert_eq!(r.status, 200);
    let r = send(
        env.admin(Method::POST, "/stacks")
            .json(&json!({"name": "Web"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let web = r.body["uid"].as_str().unwrap().to_string();
    let r = send(
        env.admin(Method::POST, &format!("/stacks/{web}/roles"))
            .json(&json!({"name": "Translator"})),
    )
    .await;
    let translator = r.body["uid"].as_str().unwrap().to_string();
    let ann = env.create_user("ann@acme.example").await;
    let bob = env.create_user("bob@acme.example").await;
    let ann_id = ann["id"].as_str().unwrap().to_string();
    let bob_id = bob["id"].as_str().unwrap().to_string();
    let devs = env.create_group("Developers", &[&ann_id, &bob_id]).await;
    let admins = env.create_group("Admins", &[]).await;
    for (g, body) in [
        (
            &devs,
            json!({"org_role": "member", "stack_roles": [
                {"stack_uid": web, "role_uid": "developer"},
                {"stack_uid": web, "role_uid": translator}]}),
        ),
        (
            &admins,
            json!({"org_role": "admin", "stack_roles": [{"stack_uid": web, "role_uid": "admin"}]}),
        ),
    ] {
        let r = send(
            env.admin(
                Method::PUT,
                &format!("/group-mappings/{}", g["id"].as_str().unwrap()),
            )
            .json(&body),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    // With the queue on: Ann's move to Admins waits, Cleo's arrival waits, Bob is deprovisioned.
    let r = send(env.admin(Method::PATCH, "/scim").json(&policy(true))).await;
    assert_eq!(r.status, 200);
    let r = send(
        env.scim(
            Method::PATCH,
            &format!("/Groups/{}", admins["id"].as_str().unwrap()),
        )
        .json(&patch_op(
            json!([{"op": "add", "path": "members", "value": [{"value": ann_id}]}]),
        )),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    env.create_user("cleo@acme.example").await;
    let r = send(env.scim(Method::DELETE, &format!("/Users/{bob_id}"))).await;
    assert_eq!(r.status, 204);

    let (r, bytes) = export_bytes(&env).await;
    assert_eq!(r.status, 200);
    let snap = snapshot::read(&bytes).unwrap();
    let exported: serde_json::Value = serde_json::from_slice(&bytes).unwrap();

    let stacks = all_items(&env, "/stacks").await;
    assert_eq!(exported["stacks"], json!(stacks));

    let users = all_items(&env, "/users").await;
    assert_eq!(snap.members.len(), users.len());
    for (e, live) in exported["members"].as_array().unwrap().iter().zip(&users) {
        for key in [
            "id",
            "email",
            "display_name",
            "state",
            "source",
            "groups",
            "granted",
            "requested",
        ] {
            assert_eq!(e[key], live[key], "{key} of {}", live["email"]);
        }
    }
    let ann_e = snap.members.iter().find(|m| m.id == ann_id).unwrap();
    let ann_req = ann_e.requested.as_ref().unwrap();
    assert_eq!(ann_req.org_role, scimdesk::domain::access::OrgRole::Admin);
    assert_eq!(
        ann_e.granted.as_ref().unwrap().stack_roles.len(),
        2,
        "developer, translator"
    );
    assert!(
        ann_e
            .granted
            .as_ref()
            .unwrap()
            .stack_roles
            .iter()
            .any(|r| r.role_name == "Translator")
    );

    let pending = all_items(&env, "/approvals?state=pending").await;
    assert_eq!(
        pending.len(),
        2,
        "Ann's increase and Cleo's provision: {pending:?}"
    );
    assert_eq!(exported["requests"], json!(pending));

    let groups = all_items(&env, "/groups").await;
    let live_mappings: Vec<&serde_json::Value> = groups
        .iter()
        .map(|g| &g["mapping"])
        .filter(|m| !m.is_null())
        .collect();
    assert_eq!(exported["mappings"], json!(live_mappings));
}
