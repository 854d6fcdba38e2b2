//! Restart on the same database, and concurrent writers: nothing lost, never a 500.

mod common;

use common::*;
use reqwest::Method;
use serde_json::json;
use std::collections::BTreeSet;

#[tokio::test]
async fn a_restart_on_the_same_database_finds_everything_in_place() {
    let env = Env::new().await;
    let a = env.create_user("keep@acme.example").await;
    let ia = a["id"].as_str().unwrap().to_string();
    let g = env.create_group("Keepers", &[&ia]).await;
    let ig = g["id"].as_str().unwrap().to_string();
    let Env {
        dir,
        db,
        server,
        org,
        http,
    } = env;
    server.stop().await;

    let server = Server::start(&db).await;
    let r = send(
        http.get(scim_url(&server, &org.uid, &format!("/Users/{ia}")))
            .bearer_auth(&org.scim_token),
    )
    .await;
    assert_eq!(r.status, 200, "SCIM token and user survive: {}", r.body);
    // Everything but the location (the new server listens on another port) is identical.
    let strip = |mut v: serde_json::Value| {
        v["meta"].as_object_mut().unwrap().remove("location");
        v
    };
    assert_eq!(strip(r.body), strip(a.clone()));
    let r = send(
        http.get(scim_url(&server, &org.uid, &format!("/Groups/{ig}")))
            .bearer_auth(&org.scim_token),
    )
    .await;
    assert_eq!(r.body["members"][0]["value"], ia.as_str());
    let r = send(
        http.get(admin_url(&server, &org.uid, "/scim"))
            .bearer_auth(&org.admin_token),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["enabled"], true);
    // Writes continue where they left off.
    let r = send(
        http.post(scim_url(&server, &org.uid, "/Users"))
            .bearer_auth(&org.scim_token)
            .json(&user("keep@acme.example")),
    )
    .await;
    r.assert_scim_error(409, Some("uniqueness"));
    server.stop().await;
    drop(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_duplicate_creates_give_one_201_and_409s() {
    let env = Env::new().await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        // Same email, different case: one wins, the others are 409 uniqueness.
        let rb = env.scim(Method::POST, "/Users").json(&user(if i % 2 == 0 {
            "race@acme.example"
        } else {
            "RACE@acme.example"
        }));
        tasks.push(tokio::spawn(send(rb)));
    }
    let mut created = 0;
    let mut conflicts = 0;
    for t in tasks {
        let r = t.await.unwrap();
        match r.status {
            201 => created += 1,
            409 => {
                r.assert_scim_error(409, Some("uniqueness"));
                conflicts += 1;
            }
            other => panic!("unexpected {other}: {}", r.body),
        }
    }
    assert_eq!((created, conflicts), (1, 7));
    let r = send(env.scim(Method::GET, "/Users")).await;
    assert_eq!(r.body["totalResults"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_member_puts_to_different_groups_and_creates_do_not_interfere() {
    let env = Env::new().await;
    let mut ids = Vec::new();
    for i in 0..16 {
        let u = env.create_user(&format!("m{i}@acme.example")).await;
        ids.push(u["id"].as_str().unwrap().to_string());
    }
    let mut groups = Vec::new();
    for i in 0..4 {
        let g = env.create_group(&format!("g{i}"), &[]).await;
        groups.push(g["id"].as_str().unwrap().to_string());
    }
    let mut tasks = Vec::new();
    for (gi, gid) in groups.iter().enumerate() {
        let members: Vec<_> = ids[gi * 4..gi * 4 + 4]
            .iter()
            .map(|m| json!({"value": m}))
            .collect();
        let rb = env
            .scim(Method::PUT, &format!("/Groups/{gid}"))
            .json(&json!({"schemas": [GROUP_SCHEMA], "displayName": format!("g{gi}"), "members": members}));
        tasks.push(tokio::spawn(send(rb)));
    }
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
    }
    for (gi, gid) in groups.iter().enumerate() {
        let r = send(env.scim(Method::GET, &format!("/Groups/{gid}"))).await;
        let got: BTreeSet<String> = r.body["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["value"].as_str().unwrap().to_string())
            .collect();
        let want: BTreeSet<String> = ids[gi * 4..gi * 4 + 4].iter().cloned().collect();
        assert_eq!(got, want);
    }
}
