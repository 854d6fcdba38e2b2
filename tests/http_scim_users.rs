//! SCIM Users over HTTP: create, read, list, replace, patch, delete, ETags and bad input.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn create_returns_201_with_location_etag_and_meta() {
    let env = Env::new().await;
    let r = send(
        env.scim(Method::POST, "/Users")
            .json(&user("ann@acme.example")),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/scim+json"));
    let id = r.body["id"].as_str().unwrap();
    assert_eq!(id.len(), 36);
    let location = r.body["meta"]["location"].as_str().unwrap();
    assert_eq!(r.header("location"), Some(location));
    assert_eq!(location, env.scim_url(&format!("/Users/{id}")));
    assert_eq!(r.body["meta"]["resourceType"], "User");
    assert_eq!(r.header("etag"), r.body["meta"]["version"].as_str());
    assert_eq!(r.header("etag"), Some("W/\"1\""));
    assert_eq!(r.body["schemas"][0], USER_SCHEMA);
    assert_eq!(r.body["userName"], "ann@acme.example");
    assert_eq!(r.body["name"]["givenName"], "Given");

    let g = send(env.scim(Method::GET, &format!("/Users/{id}"))).await;
    assert_eq!(g.status, 200);
    assert_eq!(g.body, r.body);
    assert_eq!(g.header("etag"), Some("W/\"1\""));
}

#[tokio::test]
async fn passwords_are_never_returned_or_stored() {
    let env = Env::new().await;
    let mut body = user("pw@acme.example");
    body["password"] = json!("Sup3rSecret!placeholder");
    let r = send(env.scim(Method::POST, "/Users").json(&body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body.get("password").is_none());
    let id = r.body["id"].as_str().unwrap().to_string();
    let g = send(env.scim(Method::GET, &format!("/Users/{id}"))).await;
    assert!(g.body.get("password").is_none());
    let l = send(env.scim(Method::GET, "/Users")).await;
    assert!(!l.body.to_string().contains("Sup3rSecret"));
    let raw = database_bytes(&env).await;
    let needle = b"Sup3rSecret";
    assert!(!raw.windows(needle.len()).any(|w| w == needle));
}

#[tokio::test]
async fn user_name_is_unique_per_org_regardless_of_case() {
    let env = Env::new().await;
    env.create_user("dup@acme.example").await;
    let r = send(
        env.scim(Method::POST, "/Users")
            .json(&user("DUP@Acme.Example")),
    )
    .await;
    r.assert_scim_error(409, Some("uniqueness"));

    // Another org may have the same userName.
    let other = new_org(&env.server, &env.http, "Globex", "boss@globex.example").await;
    let r = send(
        env.http
            .post(scim_url(&env.server, &other.uid, "/Users"))
            .bearer_auth(&other.scim_token)
            .json(&user("dup@acme.example")),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
}

#[tokio::test]
async fn get_unknown_user_is_404_and_other_orgs_users_are_invisible() {
    let env = Env::new().await;
    let r = send(env.scim(Method::GET, "/Users/not-a-user")).await;
    r.assert_scim_error(404, None);
    let other = new_org(&env.server, &env.http, "Globex", "boss@globex.example").await;
    let r = send(
        env.http
            .post(scim_url(&env.server, &other.uid, "/Users"))
            .bearer_auth(&other.scim_token)
            .json(&user("g@globex.example")),
    )
    .await;
    let theirs = r.body["id"].as_str().unwrap();
    let r = send(env.scim(Method::GET, &format!("/Users/{theirs}"))).await;
    r.assert_scim_error(404, None);
    let r = send(env.scim(Method::DELETE, &format!("/Users/{theirs}"))).await;
    r.assert_scim_error(404, None);
}

#[tokio::test]
async fn list_pages_are_stable_and_count_is_capped() {
    let env = Env::new().await;
    for i in 0..7 {
        env.create_user(&format!("u{i}@acme.example")).await;
    }
    let mut ids = Vec::new();
    for start in [1, 4, 7] {
        let r = send(
            env.scim(Method::GET, "/Users")
                .query(&[("startIndex", start.to_string()), ("count", "3".into())]),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            r.body["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:ListResponse"
        );
        assert_eq!(r.body["totalResults"], 7);
        assert_eq!(r.body["startIndex"], start);
        for u in r.body["Resources"].as_array().unwrap() {
            ids.push(u["id"].as_str().unwrap().to_string());
        }
    }
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 7, "every user exactly once across pages");

    let r = send(
        env.scim(Method::GET, "/Users")
            .query(&[("count", "100000")]),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["itemsPerPage"], 7);
    let r = send(env.scim(Method::GET, "/Users").query(&[("count", "0")])).await;
    assert_eq!(r.body["totalResults"], 7);
    assert_eq!(r.body["Resources"], json!([]));
    let r = send(env.scim(Method::GET, "/Users").query(&[("count", "x")])).await;
    r.assert_scim_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn put_replaces_and_ignores_read_only_attributes() {
    let env = Env::new().await;
    let created = env.create_user("put@acme.example").await;
    let id = created["id"].as_str().unwrap();
    let mut body = json!({
        "schemas": [USER_SCHEMA],
        "id": "something-else",
        "userName": "put@acme.example",
        "displayName": "Put Person",
        "meta": {"version": "W/\"99\"", "created": "2000-01-01T00:00:00Z"},
    });
    let r = send(env.scim(Method::PUT, &format!("/Users/{id}")).json(&body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["id"], id);
    assert_eq!(r.body["displayName"], "Put Person");
    assert!(r.body.get("name").is_none(), "PUT replaces: name is gone");
    assert_eq!(r.body["meta"]["created"], created["meta"]["created"]);
    assert_eq!(r.header("etag"), Some("W/\"2\""));
    assert_eq!(r.body["meta"]["version"], "W/\"2\"");

    body["displayName"] = json!("Again");
    let r = send(
        env.scim(Method::PUT, &format!("/Users/{id}"))
            .header("if-match", "W/\"1\"")
            .json(&body),
    )
    .await;
    r.assert_scim_error(412, None);
    let r = send(
        env.scim(Method::PUT, &format!("/Users/{id}"))
            .header("if-match", "W/\"2\"")
            .json(&body),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("etag"), Some("W/\"3\""));

    let r = send(env.scim(Method::PUT, "/Users/nope").json(&body)).await;
    r.assert_scim_error(404, None);
}

#[tokio::test]
async fn if_none_match_gives_304_and_a_stale_one_gives_the_resource() {
    let env = Env::new().await;
    let created = env.create_user("etag@acme.example").await;
    let id = created["id"].as_str().unwrap();
    let r = send(
        env.scim(Method::GET, &format!("/Users/{id}"))
            .header("if-none-match", "W/\"1\""),
    )
    .await;
    assert_eq!(r.status, 304);
    assert_eq!(r.header("etag"), Some("W/\"1\""));
    let r = send(
        env.scim(Method::GET, &format!("/Users/{id}"))
            .header("if-none-match", "W/\"0\""),
    )
    .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn delete_is_204_then_404_and_honours_if_match() {
    let env = Env::new().await;
    let created = env.create_user("del@acme.example").await;
    let id = created["id"].as_str().unwrap();
    let r = send(
        env.scim(Method::DELETE, &format!("/Users/{id}"))
            .header("if-match", "W/\"7\""),
    )
    .await;
    r.assert_scim_error(412, None);
    let r = send(env.scim(Method::DELETE, &format!("/Users/{id}"))).await;
    assert_eq!(r.status, 204);
    assert_eq!(r.body, Value::Null);
    let r = send(env.scim(Method::GET, &format!("/Users/{id}"))).await;
    r.assert_scim_error(404, None);
    let r = send(env.scim(Method::DELETE, &format!("/Users/{id}"))).await;
    r.assert_scim_error(404, None);
    let audit = env.audit().await;
    assert!(audit.iter().any(|a| a.1 == "scim.user.delete"));
}

#[tokio::test]
async fn deprovisioned_email_provisioned_again_relinks_the_same_account_and_id() {
    let env = Env::new().await;
    let created = env.create_user("back@acme.example").await;
    let id = created["id"].as_str().unwrap().to_string();
    let r = send(env.scim(Method::DELETE, &format!("/Users/{id}"))).await;
    assert_eq!(r.status, 204);
    let again = env.create_user("Back@acme.example").await;
    assert_eq!(again["id"], id.as_str(), "same membership, same SCIM id");
    assert_eq!(again["meta"]["version"], "W/\"1\"");
}

#[tokio::test]
async fn content_types_json_scim_json_and_none_are_accepted_others_415() {
    let env = Env::new().await;
    for (i, ct) in [
        Some("application/scim+json"),
        Some("application/json"),
        Some("application/json; charset=utf-8"),
        None,
    ]
    .into_iter()
    .enumerate()
    {
        let mut rb = env
            .scim(Method::POST, "/Users")
            .body(user(&format!("ct{i}@acme.example")).to_string());
        if let Some(ct) = ct {
            rb = rb.header("content-type", ct);
        }
        let r = send(rb).await;
        assert_eq!(r.status, 201, "{ct:?}: {}", r.body);
    }
    let r = send(
        env.scim(Method::POST, "/Users")
            .header("content-type", "text/plain")
            .body(user("tp@acme.example").to_string()),
    )
    .await;
    r.assert_scim_error(415, None);
}

#[tokio::test]
async fn malformed_json_is_400_invalid_syntax() {
    let env = Env::new().await;
    for body in ["{", "[1,2]", "\"str\"", ""] {
        let r = send(
            env.scim(Method::POST, "/Users")
                .header("content-type", "application/scim+json")
                .body(body),
        )
        .await;
        r.assert_scim_error(400, Some("invalidSyntax"));
    }
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_413() {
    let env = Env::new().await;
    let mut body = user("big@acme.example");
    body["displayName"] = json!("x".repeat(1024 * 1024 + 10));
    let r = send(env.scim(Method::POST, "/Users").json(&body)).await;
    r.assert_scim_error(413, None);

    // Without a Content-Length (chunked), the limit still holds.
    let (status, text) = raw_chunked_post(&env, 1100 * 1024).await;
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("urn:ietf:params:scim:api:messages:2.0:Error"));
}

/// POSTs `size` bytes of JSON whitespace as a chunked body over a raw socket, and returns the
/// status and the response text.
async fn raw_chunked_post(env: &Env, size: usize) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = env.server.base.trim_start_matches("http://").to_string();
    let mut sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let path = format!("/scim/v2.0/organizations/{}/Users", env.org.uid);
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/scim+json\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n",
        env.org.scim_token
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b' '; 64 * 1024];
    let mut sent = 0;
    while sent < size {
        let frame = format!("{:x}\r\n", chunk.len());
        // The server may answer and close before the whole body is sent.
        if sock.write_all(frame.as_bytes()).await.is_err()
            || sock.write_all(&chunk).await.is_err()
            || sock.write_all(b"\r\n").await.is_err()
        {
            break;
        }
        sent += chunk.len();
    }
    let _ = sock.write_all(b"0\r\n\r\n").await;
    let mut out = Vec::new();
    let _ = sock.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[tokio::test]
async fn missing_user_name_is_400() {
    let env = Env::new().await;
    let r = send(
        env.scim(Method::POST, "/Users")
            .json(&json!({"schemas": [USER_SCHEMA], "displayName": "No Name"})),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
}

#[tokio::test]
async fn unknown_routes_405s_and_501s_are_scim_errors() {
    let env = Env::new().await;
    let r = send(env.scim(Method::GET, "/Nope")).await;
    r.assert_scim_error(404, None);
    let r = send(env.http.get(format!("{}/elsewhere", env.server.base))).await;
    r.assert_scim_error(404, None);
    for path in [
        "/ServiceProviderConfig",
        "/ResourceTypes",
        "/Schemas",
        "/ResourceTypes/User",
        "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
    ] {
        for m in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            let r = send(env.scim(m.clone(), path).json(&json!({}))).await;
            r.assert_scim_error(405, None);
        }
    }
    let r = send(env.scim(Method::POST, "/Bulk").json(&json!({}))).await;
    r.assert_scim_error(400, Some("invalidSyntax"));
    for path in ["/.search", "/Users/.search", "/Groups/.search"] {
        for m in [Method::GET, Method::PUT, Method::PATCH, Method::DELETE] {
            let r = send(env.scim(m, path)).await;
            r.assert_scim_error(405, None);
        }
    }
    let r = send(env.scim(Method::DELETE, "/Users")).await;
    r.assert_scim_error(405, None);
}

#[tokio::test]
async fn user_name_must_be_the_primary_email_unless_the_org_turns_the_rule_off() {
    let env = Env::new().await;
    let mut body = user("rule@acme.example");
    body["emails"] = json!([
        {"value": "other@acme.example", "primary": true},
        {"value": "rule@acme.example"}
    ]);
    let r = send(env.scim(Method::POST, "/Users").json(&body)).await;
    r.assert_scim_error(400, Some("invalidValue"));
    assert!(r.body["detail"].as_str().unwrap().contains("userName"));

    // A single email counts as the primary one.
    body["emails"] = json!([{"value": "other@acme.example"}]);
    let r = send(env.scim(Method::POST, "/Users").json(&body)).await;
    r.assert_scim_error(400, Some("invalidValue"));

    // Held to the same address rule as `org create --owner` (issue 25: one rule, in domain/).
    for not_an_email in ["not-an-email", "a@b@acme.example"] {
        let r = send(
            env.scim(Method::POST, "/Users")
                .json(&json!({"schemas": [USER_SCHEMA], "userName": not_an_email})),
        )
        .await;
        r.assert_scim_error(400, Some("invalidValue"));
    }

    // Case differences do not matter.
    body["emails"] = json!([{"value": "RULE@acme.example", "primary": true}]);
    let r = send(env.scim(Method::POST, "/Users").json(&body)).await;
    assert_eq!(r.status, 201, "{}", r.body);

    let r = send(
        env.admin(Method::PATCH, "/scim")
            .json(&json!({"user_name_is_email": false})),
    )
    .await;
    assert_eq!(r.body["user_name_is_email"], false);
    let r = send(env.scim(Method::POST, "/Users").json(&json!({
        "schemas": [USER_SCHEMA],
        "userName": "Test_User_ab6490ee",
        "emails": [{"value": "Test_User_fd0ea19b@testuser.com", "primary": true}]
    })))
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
}

#[tokio::test]
async fn the_idp_cannot_lock_the_owner_out() {
    let env = Env::new().await;
    let owner = env.create_user("owner@acme.example").await;
    let id = owner["id"].as_str().unwrap();
    let r = send(env.scim(Method::DELETE, &format!("/Users/{id}"))).await;
    assert_eq!(r.status, 204);
    let r = send(env.admin(Method::GET, "/scim")).await;
    assert_eq!(
        r.status, 200,
        "the owner's admin token still works: {}",
        r.body
    );
}

#[tokio::test]
async fn a_malformed_query_string_is_a_scim_400() {
    let env = Env::new().await;
    let r = send(
        env.http
            .get(format!("{}?count=%FF%FE", env.scim_url("/Users")))
            .bearer_auth(&env.org.scim_token),
    )
    .await;
    r.assert_scim_error(400, None);
}

#[tokio::test]
async fn a_wrong_type_is_400_invalid_value_naming_the_attribute() {
    let env = Env::new().await;
    for (attr, value) in [
        ("active", json!("maybe")),
        ("displayName", json!(42)),
        ("emails", json!([{"value": 7}])),
    ] {
        let mut body = user("typed@acme.example");
        body[attr] = value;
        let r = send(env.scim(Method::POST, "/Users").json(&body)).await;
        r.assert_scim_error(400, Some("invalidValue"));
        let detail = r.body["detail"].as_str().unwrap();
        assert!(detail.contains(attr), "{attr}: {detail}");
    }
    // Entra's "True"/"False" strings are booleans.
    let mut body = user("typed@acme.example");
    body["active"] = json!("True");
    let r = send(env.scim(Method::POST, "/Users").json(&body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["active"], true);
}
