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

#[tokio::test]
async fn shutdown_finishes_the_request_in_flight() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let db = test_target(&dir, "s.db").await;
    let server = Server::start(&db).await;
    let http = client();
    let org = new_org(&server, &http, "Acme", "owner@acme.example").await;
    let addr = server.base.trim_start_matches("http://").to_string();
    let body = user("inflight@acme.example").to_string();
    let (first, rest) = body.split_at(body.len() / 2);
    let mut sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /scim/v2.0/organizations/{}/Users HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: Bearer {}\r\nContent-Type: application/scim+json\r\n\
         Content-Length: {}\r\n\r\n",
        org.uid,
        org.scim_token,
        body.len()
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    sock.write_all(first.as_bytes()).await.unwrap();
    sock.flush().await.unwrap();
    // Shut down while the body is half sent: the request must still complete.
    let stopping = tokio::spawn(server.stop());
    // Wait until the listener is closed, so that shutdown has surely begun.
    let mut closed = false;
    for _ in 0..500 {
        if tokio::net::TcpStream::connect(&addr).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(closed, "the server stopped accepting connections");
    sock.write_all(rest.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 8192];
    let n = sock.read(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 201"), "{text}");
    drop(sock);
    stopping.await.unwrap();

    // The write is durable.
    let server = Server::start(&db).await;
    let r = send(
        http.get(scim_url(&server, &org.uid, "/Users"))
            .bearer_auth(&org.scim_token),
    )
    .await;
    assert_eq!(r.body["totalResults"], 1);
    server.stop().await;
}
