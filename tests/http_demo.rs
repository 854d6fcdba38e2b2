//! The demo organization: made through the real API from assets/demo/acme.json, found again
//! on restart, and an owner token minted fresh for an in-process caller.

mod common;

use common::*;
use scimdesk::server::demo::{self, EMBEDDED_TOKEN_LABEL};
use scimdesk::store::prelude::*;
use serde_json::Value;

async fn get(server: &Server, token: &str, uid: &str, path: &str) -> Resp {
    send(
        client()
            .get(admin_url(server, uid, path))
            .bearer_auth(token),
    )
    .await
}

async fn items(server: &Server, token: &str, uid: &str, path: &str) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let r = get(server, token, uid, &format!("{path}{sep}limit=200")).await;
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    assert!(r.body["next"].is_null(), "one page holds the demo's {path}");
    r.body["items"].as_array().unwrap().clone()
}

fn names(items: &[Value], key: &str) -> Vec<String> {
    items
        .iter()
        .map(|i| i[key].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_demo_org_is_built_through_the_api_and_found_again_on_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = test_target(&dir, "demo.db").await;
    let server = Server::start(&db).await;
    let d = demo::ensure_demo(&server.store).await.expect("demo");
    let secrets = d
        .fresh
        .clone()
        .expect("the first run hands out the secrets");
    assert_eq!(d.org.name, "Acme");
    assert!(d.org.scim.enabled);
    assert!(d.org.scim.approval.provision && d.org.scim.approval.access_increase);
    let (t, uid) = (secrets.admin_token.as_str(), d.org.uid.as_str());

    let stacks = items(&server, t, uid, "/stacks").await;
    let mut stack_names = names(&stacks, "name");
    stack_names.sort();
    assert_eq!(
        stack_names,
        ["Developer stack", "Marketing Site", "Mobile App"]
    );
    let custom: usize = stacks
        .iter()
        .map(|s| {
            s["roles"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["builtin"] == false)
                .count()
        })
        .sum();
    assert_eq!(custom, 2);

    let groups = items(&server, t, uid, "/groups").await;
    let mut group_names = names(&groups, "display_name");
    group_names.sort();
    assert_eq!(
        group_names,
        ["Admins", "Content Managers", "Contractors", "Developers"]
    );
    let unmapped: Vec<&str> = groups
        .iter()
        .filter(|g| g["mapping"].is_null())
        .map(|g| g["display_name"].as_str().unwrap())
        .collect();
    assert_eq!(unmapped, ["Contractors"]);
    let admins = groups
        .iter()
        .find(|g| g["display_name"] == "Admins")
        .unwrap();
    assert_eq!(admins["mapping"]["org_role"], "admin");

    let users = items(&server, t, uid, "/users").await;
    assert_eq!(users.len(), 51, "50 people and the owner");
    assert!(
        users
            .iter()
            .all(|u| u["email"].as_str().unwrap().ends_with("@acme.example"))
    );
    let active = users.iter().filter(|u| u["state"] == "active").count();
    let pending_members = users.iter().filter(|u| u["state"] == "pending").count();
    assert_eq!(
        (active, pending_members),
        (48, 3),
        "mostly active, three waiting to join"
    );
    let priya = users
        .iter()
        .find(|u| u["email"] == "priya.raman@acme.example")
        .unwrap();
    assert_eq!(priya["granted"]["org_role"], "member");
    assert_eq!(
        priya["requested"]["org_role"], "admin",
        "her move to Admins waits"
    );
    let rachel = users
        .iter()
        .find(|u| u["email"] == "rachel.cohen@acme.example")
        .unwrap();
    assert_eq!(rachel["granted"]["org_role"], "admin");
    assert_eq!(
        rachel["granted"]["stack_roles"].as_array().unwrap().len(),
        3
    );
    assert!(
        users
            .iter()
            .filter(|u| u["source"] == "scim")
            .all(|u| u["display_name"].as_str().is_some_and(|n| n.contains(' '))),
        "realistic names"
    );

    let pending = items(&server, t, uid, "/approvals?state=pending").await;
    let mut kinds = names(&pending, "kind");
    kinds.sort();
    assert_eq!(
        kinds,
        ["access_increase", "provision", "provision", "provision"]
    );

    // It ran the real SCIM path: the IdP's writes carry the demo SCIM token's label.
    let audit = items(&server, t, uid, "/audit?action=scim.user.create").await;
    assert_eq!(audit.len(), 50);
    assert!(audit.iter().all(|e| e["actor"] == "demo"));
    let r = send(
        client()
            .get(scim_url(&server, uid, "/Users?count=1"))
            .bearer_auth(&secrets.scim_token),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["totalResults"], 50);

    let before = get(&server, t, uid, "/audit?limit=1").await.body;
    server.stop().await;

    let server = Server::start(&db).await;
    let again = demo::ensure_demo(&server.store).await.unwrap();
    assert!(again.fresh.is_none(), "no secrets on a restart");
    assert_eq!(again.org.uid, d.org.uid);
    let after = get(&server, t, uid, "/audit?limit=1").await.body;
    assert_eq!(after["total"], before["total"], "a restart writes nothing");
    assert_eq!(after["items"][0]["id"], before["items"][0]["id"]);
    server.stop().await;
}

#[tokio::test]
async fn an_in_process_caller_gets_a_fresh_owner_token_each_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = test_target(&dir, "demo.db").await;
    let server = Server::start(&db).await;
    let d = demo::ensure_demo(&server.store).await.unwrap();
    let uid = d.org.uid.as_str();
    let first = demo::owner_token(&server.store, &d.org).await.unwrap();
    assert_eq!(get(&server, &first, uid, "/scim").await.status, 200);
    let second = demo::owner_token(&server.store, &d.org).await.unwrap();
    assert_ne!(first, second);
    assert_eq!(
        get(&server, &first, uid, "/scim").await.status,
        401,
        "the previous one is revoked"
    );
    assert_eq!(get(&server, &second, uid, "/scim").await.status, 200);
    // The owner may list admin tokens: exactly one embedded token remains.
    let tokens = items(&server, &second, uid, "/admin-tokens").await;
    let embedded = tokens
        .iter()
        .filter(|t| t["label"] == EMBEDDED_TOKEN_LABEL)
        .count();
    assert_eq!(embedded, 1);
    // The first run's owner token is untouched.
    let first_run = d.fresh.unwrap().admin_token;
    assert_eq!(get(&server, &first_run, uid, "/scim").await.status, 200);
    let org = server.store.org_by_uid(uid).await.unwrap().unwrap();
    assert_eq!(org.name, "Acme");
    server.stop().await;
}
