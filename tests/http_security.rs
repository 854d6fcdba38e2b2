//! Security findings of issue 23, each as an attacker or an IdP would meet it, on the engine
//! the suite runs on (SQLite, or PostgreSQL when `SCIMDESK_TEST_POSTGRES` names a server).

mod access_support;
mod common;

use access_support::*;
use common::*;
use reqwest::Method;
use scimdesk::server::ServerConfig;
use serde_json::{Value, json};

const OWNER: &str = "owner@acme.example";

/// A PATCH that moves a SCIM User to another address, as Okta and Entra send it: userName and
/// the primary email together.
fn rename_ops(to: &str) -> Value {
    patch_op(json!([
        {"op": "replace", "path": "userName", "value": to},
        {"op": "replace", "path": "emails[type eq \"work\"].value", "value": to},
    ]))
}

/// The member row of `/users` whose email is `email` (any case), if any.
async fn member_by_email(env: &Env, email: &str) -> Option<Value> {
    let r = send(env.admin(Method::GET, "/users?limit=500")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"].as_str().unwrap().eq_ignore_ascii_case(email))
        .cloned()
}

/// An admin write with the Owner's own token, and the actor the audit log names for it.
async fn owner_write_actor(env: &Env) -> String {
    new_stack(env, "Audit probe").await;
    let events = env.audit().await;
    let (actor, action, ..) = events.last().unwrap();
    assert_eq!(action, "stack.create");
    actor.clone()
}

#[tokio::test]
async fn the_idp_cannot_move_the_owner_to_another_address() {
    let env = Env::new().await;
    // The exact sequence of the finding: a create on the Owner's email in another case links
    // to the Owner's membership...
    let linked = env.create_user("OWNER@Acme.Example").await;
    let id = linked["id"].as_str().unwrap();
    // ...but the rename that followed is refused, and says why.
    let r = send(
        env.scim(Method::PATCH, &format!("/Users/{id}"))
            .json(&rename_ops("mallory@evil.example")),
    )
    .await;
    r.assert_scim_error(400, Some("mutability"));
    let detail = r.body["detail"].as_str().unwrap();
    assert!(detail.contains("outside SCIM"), "{detail}");
    // PUT with another userName is refused the same way.
    let r = send(
        env.scim(Method::PUT, &format!("/Users/{id}"))
            .json(&user("mallory@evil.example")),
    )
    .await;
    r.assert_scim_error(400, Some("mutability"));

    let owner = member_by_email(&env, OWNER)
        .await
        .expect("the Owner is still a member");
    assert_eq!(owner["state"], "active");
    assert_eq!(owner["granted"]["org_role"], "owner");
    assert!(
        member_by_email(&env, "mallory@evil.example")
            .await
            .is_none()
    );
    assert_eq!(
        owner_write_actor(&env).await,
        OWNER,
        "the Owner's token still names the Owner"
    );
    // The SCIM view itself keeps its userName.
    let r = send(env.scim(Method::GET, &format!("/Users/{id}"))).await;
    assert_eq!(r.body["userName"], "OWNER@Acme.Example");
}

#[tokio::test]
async fn the_owner_assigned_in_the_idp_provisions_and_deprovisions_without_losing_the_role() {
    let env = Env::new().await;
    let web = new_stack(&env, "Web").await;
    let admins = mapped_group(&env, "Admins", "admin", &[(&web, "developer")]).await;
    // Okta and Entra look the user up first, find nobody, then create.
    let filter = format!("/Users?filter=userName%20eq%20%22{OWNER}%22");
    let r = send(env.scim(Method::GET, &filter)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["totalResults"], 0);
    let created = env.create_user(OWNER).await;
    let id = created["id"].as_str().unwrap().to_string();
    let r = send(env.scim(Method::GET, &filter)).await;
    assert_eq!(
        r.body["totalResults"], 1,
        "the lookup finds the linked view now"
    );

    // Okta's profile PATCH (replace with paths), Entra's (no path, a case-only userName).
    let r = send(
        env.scim(Method::PATCH, &format!("/Users/{id}"))
            .json(&patch_op(json!([
                {"op": "replace", "path": "name.givenName", "value": "Olivia"},
                {"op": "replace", "path": "displayName", "value": "Olivia Owner"},
            ]))),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = send(
        env.scim(Method::PATCH, &format!("/Users/{id}"))
            .json(&patch_op(json!([
                {"op": "Replace", "value": {"userName": "Owner@Acme.Example", "active": true}},
            ]))),
    )
    .await;
    assert_eq!(
        r.status, 200,
        "a case-only userName change is no move: {}",
        r.body
    );

    // Group pushes and mappings never lower or raise the Owner's role.
    add_member(&env, &admins, &id).await;
    let owner = member_by_email(&env, OWNER).await.unwrap();
    assert_eq!(owner["granted"]["org_role"], "owner");
    assert!(
        pending(&env).await.is_empty(),
        "nothing to approve for the Owner"
    );

    // Deprovisioning (Okta's PATCH active false, then Entra's DELETE) leaves the membership.
    set_active(&env, &id, false).await;
    let owner = member_by_email(&env, OWNER).await.unwrap();
    assert_eq!(owner["state"], "active");
    assert_eq!(owner["granted"]["org_role"], "owner");
    let r = send(env.scim(Method::GET, &format!("/Users/{id}"))).await;
    assert_eq!(r.body["active"], false, "the SCIM view turns inactive");
    let events = env.audit().await;
    assert!(
        events
            .iter()
            .any(|e| e.1 == "scim.user.update" && e.2.as_deref() == Some(id.as_str())),
        "the deprovision is audited"
    );
    let r = send(env.scim(Method::DELETE, &format!("/Users/{id}"))).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let owner = member_by_email(&env, OWNER).await.unwrap();
    assert_eq!(owner["state"], "active");
    assert_eq!(owner["granted"]["org_role"], "owner");
    assert_eq!(owner_write_actor(&env).await, OWNER);
}

#[tokio::test]
async fn moving_a_provisioned_admin_to_another_address_waits_for_approval() {
    let env = Env::new().await;
    set_policy(&env, json!({"provision": false})).await;
    let web = new_stack(&env, "Web").await;
    let admins = mapped_group(&env, "Admins", "admin", &[(&web, "admin")]).await;
    let ann = new_user(&env, "ann@acme.example").await;
    add_member(&env, &admins, &ann).await;
    let req = pending(&env).await;
    assert_eq!(req.len(), 1, "{req:?}");
    let r = approve(
        &env,
        req[0]["id"].as_str().unwrap(),
        req[0]["version"].as_u64().unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(member(&env, &ann).await["granted"]["org_role"], "admin");
    // Ann has an admin token of her own.
    let r = send(
        env.admin(Method::POST, "/admin-tokens")
            .json(&json!({"email": "ann@acme.example", "label": "ann's laptop"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let ann_token = r.body["token"].as_str().unwrap().to_string();

    // The IdP moves her membership to another address.
    let r = send(
        env.scim(Method::PATCH, &format!("/Users/{ann}"))
            .json(&rename_ops("eve@elsewhere.example")),
    )
    .await;
    assert_eq!(r.status, 200, "the IdP's view follows: {}", r.body);
    assert_eq!(r.body["userName"], "eve@elsewhere.example");

    let m = member(&env, &ann).await;
    assert_eq!(m["email"], "eve@elsewhere.example");
    assert_eq!(m["state"], "pending");
    assert_eq!(
        m["granted"],
        Value::Null,
        "nothing is granted to the new address yet"
    );
    let req = pending(&env).await;
    assert_eq!(req.len(), 1, "{req:?}");
    assert_eq!(req[0]["kind"], "access_increase");
    assert_eq!(req[0]["diff"]["org_role_from"], Value::Null);
    assert_eq!(req[0]["diff"]["org_role_to"], "admin");
    // The token issued to ann@ no longer acts, for anyone.
    let r = send(
        env.http
            .get(env.admin_url("/users"))
            .bearer_auth(&ann_token),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.body);
    let events = env.audit().await;
    let revoked = events
        .iter()
        .find(|e| e.1 == "admin_token.revoke")
        .expect("audited");
    assert_eq!(revoked.0, "test-idp", "the actor is the token that acted");

    // Approved: the new address has what the old one had.
    let r = approve(&env, req[0]["id"].as_str().unwrap(), 1).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let m = member(&env, &ann).await;
    assert_eq!(m["state"], "active");
    assert_eq!(m["granted"]["org_role"], "admin");
}

#[tokio::test]
async fn moving_a_provisioned_member_applies_at_once_without_access_review() {
    let env = Env::new().await;
    set_policy(&env, json!({"provision": false, "access_increase": false})).await;
    let ann = new_user(&env, "ann@acme.example").await;
    assert_eq!(member(&env, &ann).await["state"], "active");
    let r = send(
        env.scim(Method::PATCH, &format!("/Users/{ann}"))
            .json(&rename_ops("ann.smith@acme.example")),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let m = member(&env, &ann).await;
    assert_eq!(m["email"], "ann.smith@acme.example");
    assert_eq!(m["state"], "active");
    assert!(pending(&env).await.is_empty());
}

#[tokio::test]
async fn the_scim_url_never_comes_from_the_host_header() {
    let env = Env::new().await;
    let ours = format!(
        "{}/scim/v2.0/organizations/{}",
        env.server.base, env.org.uid
    );
    let r = send(
        env.admin(Method::GET, "/scim")
            .header("Host", "scim.evil.example"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["scim_url"], ours.as_str());
    let r = send(
        env.admin(Method::POST, "/scim/tokens")
            .header("Host", "scim.evil.example")
            .json(&json!({"label": "okta"})),
    )
    .await;
    assert_eq!(r.body["scim_url"], ours.as_str());
    let r = send(
        env.scim(Method::POST, "/Users")
            .header("Host", "scim.evil.example")
            .json(&user("ann@acme.example")),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let location = r.header("location").unwrap().to_string();
    assert!(location.starts_with(&ours), "{location}");
    assert!(
        r.body["meta"]["location"]
            .as_str()
            .unwrap()
            .starts_with(&ours)
    );

    // Behind a load balancer the operator names the URL users give their IdP.
    let env = env
        .with_config(ServerConfig {
            public_url: Some("https://scim.example.com".into()),
            ..ServerConfig::default()
        })
        .await;
    let r = send(env.admin(Method::GET, "/scim")).await;
    assert_eq!(
        r.body["scim_url"],
        format!(
            "https://scim.example.com/scim/v2.0/organizations/{}",
            env.org.uid
        )
        .as_str()
    );
    let r = send(env.scim(Method::GET, "/ServiceProviderConfig")).await;
    let loc = r.body["meta"]["location"].as_str().unwrap();
    assert!(
        loc.starts_with("https://scim.example.com/scim/v2.0/"),
        "{loc}"
    );
}

#[test]
fn a_public_url_is_checked() {
    use scimdesk::server::http::public_url;
    assert_eq!(
        public_url("https://scim.example.com/").unwrap(),
        "https://scim.example.com"
    );
    assert_eq!(
        public_url("https://lb.example.com:8443/idp").unwrap(),
        "https://lb.example.com:8443/idp"
    );
    for bad in [
        "scim.example.com",
        "ftp://x.example",
        "https://x.example/?a=b",
        "https://u@x.example",
    ] {
        let e = public_url(bad).unwrap_err();
        assert!(e.contains("--public-url"), "{e}");
    }
}

#[tokio::test]
async fn idle_connections_beyond_the_bound_are_shed_oldest_first() {
    use tokio::io::AsyncReadExt;
    let env = Env::new()
        .await
        .with_config(ServerConfig {
            max_connections: 16,
            ..ServerConfig::default()
        })
        .await;
    let addr = env.server.base.trim_start_matches("http://").to_string();
    let mut idle = Vec::new();
    for _ in 0..100 {
        idle.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    // A probe still gets in and is answered.
    let probe = reqwest::Client::builder()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .unwrap();
    let r = probe
        .get(format!("{}/healthz", env.server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The first sockets opened were closed by the server (end of stream), the last ones not.
    let mut buf = [0u8; 1];
    let first = tokio::time::timeout(std::time::Duration::from_secs(5), idle[0].read(&mut buf))
        .await
        .expect("the oldest idle socket is closed")
        .unwrap_or(0);
    assert_eq!(first, 0);
    let last = tokio::time::timeout(
        std::time::Duration::from_millis(200),
        idle[99].read(&mut buf),
    )
    .await;
    assert!(last.is_err(), "the newest idle socket stays open");
}

/// `n` users in one Bulk request per 1,000.
async fn seed_users(env: &Env, n: usize) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let ops: Vec<Value> = chunk
            .iter()
            .map(|i| {
                json!({"method": "POST", "path": "/Users", "bulkId": format!("u{i}"),
                       "data": user(&format!("user{i:05}@acme.example"))})
            })
            .collect();
        let r = send(env.scim(Method::POST, "/Bulk").json(&json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": ops,
        })))
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
}

/// A filter of `n` `co` clauses on emails (each a pass over every row's emails).
fn costly_filter(n: usize) -> String {
    (0..n)
        .map(|i| format!("emails.value co \"zz{i}q\""))
        .collect::<Vec<_>>()
        .join(" or ")
}

#[tokio::test]
async fn a_filter_past_the_comparison_bound_is_refused_too_many() {
    let env = Env::new().await;
    let r = send(env.scim(Method::POST, "/Users/.search").json(
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                          "filter": costly_filter(51)}),
    ))
    .await;
    r.assert_scim_error(400, Some("tooMany"));
    let r = send(
        env.scim(Method::GET, "/Users")
            .query(&[("filter", costly_filter(51))]),
    )
    .await;
    r.assert_scim_error(400, Some("tooMany"));
    let r = send(env.scim(Method::POST, "/.search").json(
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                          "filter": costly_filter(51)}),
    ))
    .await;
    r.assert_scim_error(400, Some("tooMany"));
    // At the bound it is answered.
    let r = send(
        env.scim(Method::GET, "/Users")
            .query(&[("filter", costly_filter(50))]),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_orgs_costly_searches_never_hold_another_orgs_list() {
    let env = Env::new().await;
    seed_users(&env, if on_postgres() { 3000 } else { 10000 }).await;
    let b = new_org(&env.server, &env.http, "Beta", "owner@beta.example").await;
    let b_list = scim_url(&env.server, &b.uid, "/Users?count=5");
    // Org A sends four costly searches at once...
    let mut a = Vec::new();
    for _ in 0..4 {
        let rb = env.scim(Method::POST, "/Users/.search").json(
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                    "filter": costly_filter(50)}),
        );
        a.push(tokio::spawn(async move {
            let r = send(rb).await;
            (r.status, std::time::Instant::now())
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    // ...and org B's IdP lists its users meanwhile: it is answered before A's last search.
    let started = std::time::Instant::now();
    let r = send(env.http.get(&b_list).bearer_auth(&b.scim_token)).await;
    let b_done = std::time::Instant::now();
    assert_eq!(r.status, 200, "{}", r.body);
    eprintln!(
        "org B's list took {:?} beside A's searches",
        b_done - started
    );
    let mut a_last = started;
    for h in a {
        let (status, done) = h.await.unwrap();
        assert!(status == 200 || status == 400, "{status}");
        a_last = a_last.max(done);
    }
    assert!(b_done < a_last, "org B waited for all of org A's searches");
}

#[tokio::test]
async fn the_scim_edge_refuses_control_characters_invisible_names_and_overlong_text() {
    let env = Env::new().await;
    let osc = "a\u{1b}]52;c;ZXZpbA==\u{7}@acme.example";
    let r = send(env.scim(Method::POST, "/Users").json(&user(osc))).await;
    r.assert_scim_error(400, Some("invalidValue"));
    assert!(
        r.body["detail"].as_str().unwrap().contains("U+001B"),
        "{}",
        r.body
    );
    let long = format!("{}@acme.example", "l".repeat(500_000));
    let r = send(env.scim(Method::POST, "/Users").json(&user(&long))).await;
    r.assert_scim_error(400, Some("invalidValue"));
    assert!(
        r.body["detail"].as_str().unwrap().contains("at most 256"),
        "{}",
        r.body
    );
    for imitation in [
        "\u{212A}ate@acme.example",
        "\u{FF41}nn@acme.example",
        "jose\u{301}@acme.example",
    ] {
        let r = send(env.scim(Method::POST, "/Users").json(&user(imitation))).await;
        r.assert_scim_error(400, Some("invalidValue"));
        assert!(
            r.body["detail"].as_str().unwrap().contains("plain form"),
            "{}",
            r.body
        );
    }
    let zwsp = "ann\u{200B}@acme.example";
    let r = send(env.scim(Method::POST, "/Users").json(&user(zwsp))).await;
    r.assert_scim_error(400, Some("invalidValue"));
    // Changes are checked too: a PATCH and a group's name.
    let ann = new_user(&env, "ann@acme.example").await;
    let r = send(
        env.scim(Method::PATCH, &format!("/Users/{ann}"))
            .json(&patch_op(json!([
                {"op": "replace", "path": "displayName", "value": "Ann\u{1b}[2J"},
            ]))),
    )
    .await;
    r.assert_scim_error(400, Some("invalidValue"));
    let r = send(env.scim(Method::POST, "/Groups").json(&json!({
        "schemas": [GROUP_SCHEMA], "displayName": "Admins\u{202E}nimda",
    })))
    .await;
    r.assert_scim_error(400, Some("invalidValue"));
    // Nothing was stored.
    let r = send(env.scim(Method::GET, "/Users")).await;
    assert_eq!(r.body["totalResults"], 1);
}

#[cfg(unix)]
#[tokio::test]
async fn the_database_and_its_journal_files_are_the_owners_alone() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new().await;
    let Some(db) = env.sqlite_path() else {
        return; // PostgreSQL keeps its files itself.
    };
    new_user(&env, "ann@acme.example").await;
    let mode = |p: std::path::PathBuf| std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(db.to_path_buf()), 0o600);
    for suffix in ["-wal", "-shm"] {
        let p = std::path::PathBuf::from(format!("{}{suffix}", db.display()));
        assert_eq!(mode(p), 0o600, "{suffix}");
    }
}

/// Sends a request's head now and its body when `release` is called: what a slow client (or
/// one with a long Bulk) does while its token is revoked.
struct HeldRequest {
    stream: tokio::net::TcpStream,
    body: Vec<u8>,
}

impl HeldRequest {
    async fn start(env: &Env, method: &str, url: &str, token: &str, body: &Value) -> HeldRequest {
        use tokio::io::AsyncWriteExt;
        let addr = env.server.base.trim_start_matches("http://");
        let path = url.strip_prefix(&env.server.base).unwrap();
        let body = serde_json::to_vec(body).unwrap();
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        // The first half of the body: the server has authenticated and waits for the rest.
        stream.write_all(&body[..body.len() / 2]).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        HeldRequest { stream, body }
    }

    /// Sends the rest of the body; the response's status.
    async fn release(mut self) -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let half = self.body.len() / 2;
        self.stream.write_all(&self.body[half..]).await.unwrap();
        let mut out = Vec::new();
        self.stream.read_to_end(&mut out).await.unwrap();
        let text = String::from_utf8_lossy(&out);
        text.split_whitespace().nth(1).unwrap().parse().unwrap()
    }
}

#[tokio::test]
async fn a_request_in_flight_writes_nothing_once_its_token_is_revoked() {
    let env = Env::new().await;
    // A second SCIM token, and a second admin token of the Owner's.
    let r = send(
        env.admin(Method::POST, "/scim/tokens")
            .json(&json!({"label": "okta"})),
    )
    .await;
    let (scim_id, scim_token) = (
        r.body["id"].as_str().unwrap().to_string(),
        r.body["token"].as_str().unwrap().to_string(),
    );
    let r = send(
        env.admin(Method::POST, "/admin-tokens")
            .json(&json!({"email": OWNER, "label": "script"})),
    )
    .await;
    let (admin_id, admin_token) = (
        r.body["id"].as_str().unwrap().to_string(),
        r.body["token"].as_str().unwrap().to_string(),
    );

    let create = HeldRequest::start(
        &env,
        "POST",
        &env.scim_url("/Users"),
        &scim_token,
        &user("late@acme.example"),
    )
    .await;
    let bulk_ops: Vec<Value> = (0..5)
        .map(|i| {
            json!({"method": "POST", "path": "/Users", "bulkId": format!("b{i}"),
                        "data": user(&format!("bulk{i}@acme.example"))})
        })
        .collect();
    let bulk = HeldRequest::start(
        &env,
        "POST",
        &env.scim_url("/Bulk"),
        &scim_token,
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "Operations": bulk_ops}),
    )
    .await;
    let stack = HeldRequest::start(
        &env,
        "POST",
        &env.admin_url("/stacks"),
        &admin_token,
        &json!({"name": "Late stack"}),
    )
    .await;
    let r = send(env.admin(Method::DELETE, &format!("/scim/tokens/{scim_id}"))).await;
    assert!(r.status == 200 || r.status == 204, "{}", r.body);
    let r = send(env.admin(Method::DELETE, &format!("/admin-tokens/{admin_id}"))).await;
    assert!(r.status == 200 || r.status == 204, "{}", r.body);

    assert_eq!(create.release().await, 401);
    let bulk_status = bulk.release().await;
    assert!(bulk_status == 401 || bulk_status == 200, "{bulk_status}");
    assert_eq!(stack.release().await, 401);
    // Nothing was written: no user, no stack.
    let r = send(env.scim(Method::GET, "/Users")).await;
    assert_eq!(r.body["totalResults"], 0, "{}", r.body);
    let r = send(env.admin(Method::GET, "/stacks")).await;
    assert_eq!(r.body["total"], 0, "{}", r.body);
}

#[tokio::test]
async fn nobody_approves_a_request_for_their_own_access() {
    let env = Env::new().await;
    let web = new_stack(&env, "Web").await;
    let admins = mapped_group(&env, "Admins", "admin", &[]).await;
    let web_admins = mapped_group(&env, "Web admins", "admin", &[(&web, "admin")]).await;
    let ann = new_user(&env, "ann@acme.example").await;
    add_member(&env, &admins, &ann).await;
    let req = pending(&env).await;
    assert_eq!(
        approve(
            &env,
            req[0]["id"].as_str().unwrap(),
            req[0]["version"].as_u64().unwrap()
        )
        .await
        .status,
        200
    );
    let r = send(
        env.admin(Method::POST, "/admin-tokens")
            .json(&json!({"email": "ann@acme.example", "label": "ann"})),
    )
    .await;
    let ann_token = r.body["token"].as_str().unwrap().to_string();
    // The IdP asks for more for Ann; Ann tries to approve it herself.
    add_member(&env, &web_admins, &ann).await;
    let req = pending(&env).await;
    assert_eq!(req.len(), 1);
    let id = req[0]["id"].as_str().unwrap();
    let own = |path: String| {
        env.http
            .post(env.admin_url(&path))
            .bearer_auth(&ann_token)
            .json(&json!({"version": 1, "reason": "not needed"}))
    };
    let r = send(own(format!("/approvals/{id}/approve"))).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(
        r.body["message"].to_string().contains("your own access")
            || r.body.to_string().contains("your own access"),
        "{}",
        r.body
    );
    assert!(
        member(&env, &ann).await["granted"]["stack_roles"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // The Owner may.
    assert_eq!(approve(&env, id, 1).await.status, 200);
    assert_eq!(
        member(&env, &ann).await["granted"]["stack_roles"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn each_org_sees_the_casing_its_own_idp_sent() {
    let env = Env::new().await;
    set_policy(&env, json!({"provision": false})).await;
    env.create_user("MEM1@A.TEST").await;
    let b = new_org(&env.server, &env.http, "Beta", "owner@beta.example").await;
    let r = send(
        env.http
            .post(scim_url(&env.server, &b.uid, "/Users"))
            .bearer_auth(&b.scim_token)
            .json(&user("mem1@a.test")),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = send(
        env.http
            .get(admin_url(&env.server, &b.uid, "/users"))
            .bearer_auth(&b.admin_token),
    )
    .await;
    let emails: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap())
        .collect();
    assert!(emails.contains(&"mem1@a.test"), "{emails:?}");
    assert!(!emails.contains(&"MEM1@A.TEST"), "{emails:?}");
    let r = send(env.admin(Method::GET, "/users")).await;
    assert!(r.body.to_string().contains("MEM1@A.TEST"), "{}", r.body);
}

/// Issue 23, item 7: audit event ids are each org's own. Org A's ids are opaque, stay the same
/// from page to page, and A's cursor means nothing in org B; B's writes leave no trace in them.
#[tokio::test]
async fn audit_event_ids_are_each_orgs_own_and_say_nothing_of_another_org() {
    let env = Env::new().await;
    let newest = |org: Option<&OrgCreds>| {
        let rb = match org {
            None => env.admin(Method::GET, "/audit?limit=1"),
            Some(o) => env
                .http
                .get(admin_url(&env.server, &o.uid, "/audit?limit=1"))
                .bearer_auth(&o.admin_token),
        };
        async move {
            let r = send(rb).await;
            assert_eq!(r.status, 200, "{}", r.body);
            (
                r.body["items"][0]["id"].as_str().unwrap().to_string(),
                r.body["next"].as_str().map(str::to_string),
            )
        }
    };
    let (before, cursor) = newest(None).await;
    let b = new_org(&env.server, &env.http, "Beta", "owner@beta.example").await;
    for i in 0..5 {
        let r = send(
            env.http
                .post(scim_url(&env.server, &b.uid, "/Users"))
                .bearer_auth(&b.scim_token)
                .json(&user(&format!("b{i}@beta.example"))),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    env.create_user("a1@acme.example").await;
    let (after, _) = newest(None).await;
    for id in [&before, &after] {
        assert!(
            id.len() == 16 && id.bytes().all(|c| c.is_ascii_hexdigit()),
            "an opaque id, not a row number: {id}"
        );
    }
    assert_ne!(before, after);
    // The id an event has stays its id: the older event is found again under it.
    let r = send(env.admin(Method::GET, "/audit?limit=500")).await;
    assert!(r.body.to_string().contains(&before), "{}", r.body);
    // Org A's cursor is no cursor of org B's.
    let cursor = cursor.expect("more than one event");
    let r = send(
        env.http
            .get(admin_url(
                &env.server,
                &b.uid,
                &format!("/audit?cursor={cursor}"),
            ))
            .bearer_auth(&b.admin_token),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let (b_newest, _) = newest(Some(&b)).await;
    assert_ne!(b_newest, after);
}

/// Issue 23, item 10: addresses that differ only by case beyond ASCII are one account, so one
/// member per org; a case-only change is no move; the Owner written in another case is linked.
#[tokio::test]
async fn addresses_that_differ_only_by_unicode_case_are_one_person() {
    let env = Env::new().await;
    set_policy(&env, json!({"provision": false})).await;
    let jose = env.create_user("José@acme.example").await;
    let r = send(
        env.scim(Method::POST, "/Users")
            .json(&user("josé@ACME.example")),
    )
    .await;
    r.assert_scim_error(409, Some("uniqueness"));
    let r = send(
        env.scim(Method::POST, "/Users")
            .json(&user("ΟΔΟΣ@acme.example")),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = send(
        env.scim(Method::POST, "/Users")
            .json(&user("οδος@acme.example")),
    )
    .await;
    r.assert_scim_error(409, Some("uniqueness"));
    // A case-only change of userName moves nothing: no request, still active, same member.
    let id = jose["id"].as_str().unwrap();
    let r = send(
        env.scim(Method::PATCH, &format!("/Users/{id}"))
            .json(&rename_ops("JOSÉ@acme.example")),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let m = member_by_email(&env, "JOSÉ@acme.example")
        .await
        .expect("the member under its new casing");
    assert_eq!(m["id"], id);
    assert_eq!(m["state"], "active", "{m}");
    let pending = send(env.admin(Method::GET, "/approvals?state=pending")).await;
    assert_eq!(pending.body["total"], 0, "{}", pending.body);
    // An admin token for the member found in any case.
    let r = send(env.admin(Method::POST, "/admin-tokens").json(&json!({
        "email": "josé@acme.EXAMPLE", "label": "ci"
    })))
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // The Owner, made outside SCIM as Zoë, assigned in the IdP as ZOË: linked, not a new member.
    let c = new_org(&env.server, &env.http, "Gamma", "Zoë@gamma.example").await;
    let r = send(
        env.http
            .post(scim_url(&env.server, &c.uid, "/Users"))
            .bearer_auth(&c.scim_token)
            .json(&user("ZOË@gamma.example")),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = send(
        env.http
            .get(admin_url(&env.server, &c.uid, "/users"))
            .bearer_auth(&c.admin_token),
    )
    .await;
    assert_eq!(r.body["total"], 1, "one member, the Owner: {}", r.body);
    assert_eq!(
        r.body["items"][0]["granted"]["org_role"], "owner",
        "{}",
        r.body
    );
}

#[tokio::test]
async fn the_approval_queue_flags_an_address_that_mixes_scripts() {
    let env = Env::new().await;
    new_user(&env, "ann@acme.example").await;
    new_user(&env, "p\u{430}ypal@acme.example").await;
    let reqs = pending(&env).await;
    assert_eq!(reqs.len(), 2);
    for r in &reqs {
        let warnings = r["warnings"].as_array().cloned().unwrap_or_default();
        if r["member"]["email"] == "ann@acme.example" {
            assert!(warnings.is_empty(), "{r}");
        } else {
            assert_eq!(warnings.len(), 1, "{r}");
            assert!(warnings[0].as_str().unwrap().contains("Cyrillic"), "{r}");
        }
    }
}

#[tokio::test]
async fn a_value_stored_before_the_text_rules_never_blocks_a_deprovision() {
    let env = Env::new().await;
    set_policy(&env, json!({"provision": false})).await;
    let ann = new_user(&env, "ann@acme.example").await;
    // A displayName with an escape, as a database from before the rules may hold.
    match env.db.target() {
        scimdesk::store::DbTarget::Sqlite(path) => {
            let pool = sqlx::SqlitePool::connect_with(
                sqlx::sqlite::SqliteConnectOptions::new().filename(path),
            )
            .await
            .unwrap();
            sqlx::query(
                "UPDATE scim_users SET resource = json_set(resource, '$.displayName', 'Ann' || char(27) || '[2J')",
            )
            .execute(&pool)
            .await
            .unwrap();
            pool.close().await;
        }
        scimdesk::store::DbTarget::Postgres(url) => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            sqlx::query(
                "UPDATE scim_users SET resource = jsonb_set(resource, '{displayName}', to_jsonb('Ann' || chr(27) || '[2J'))",
            )
            .execute(&pool)
            .await
            .unwrap();
            pool.close().await;
        }
    }
    // The IdP deprovisions: allowed, the old value untouched.
    set_active(&env, &ann, false).await;
    assert_eq!(member(&env, &ann).await["state"], "deprovisioned");
    // A change that brings a control character is still refused.
    let r = send(
        env.scim(Method::PATCH, &format!("/Users/{ann}"))
            .json(&patch_op(json!([
                {"op": "replace", "path": "title", "value": "x\u{1b}]0;t\u{7}"},
            ]))),
    )
    .await;
    r.assert_scim_error(400, Some("invalidValue"));
}
