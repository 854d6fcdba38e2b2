//! The admin API: org, SCIM settings, SCIM tokens, and who may use it.

mod common;

use common::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn org_document_has_name_settings_and_counts() {
    let env = Env::new().await;
    env.create_user("ann@acme.example").await;
    let r = send(env.admin(Method::GET, "")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert!(r.header("server").is_none(), "no Server banner");
    assert_eq!(r.body["uid"], env.org.uid.as_str());
    assert_eq!(r.body["name"], "Acme");
    assert_eq!(r.body["scim"]["enabled"], true);
    assert_eq!(r.body["counts"]["scim_users"], 1);
    assert_eq!(r.body["counts"]["scim_tokens"], 1);
    // The owner plus the provisioned user.
    assert_eq!(r.body["counts"]["members"], 2);
}

#[tokio::test]
async fn scim_settings_default_and_patch_merges_nested_approval() {
    let env = Env::new().await;
    let r = send(env.admin(Method::GET, "/scim")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["sso_role_mapping"], false);
    assert_eq!(
        r.body["approval"],
        json!({"provision": true, "access_increase": true, "deprovision": false})
    );
    assert_eq!(r.body["warnings"], json!([]));
    assert!(r.body["scim_url"].as_str().unwrap().ends_with(&env.org.uid));

    let r = send(
        env.admin(Method::PATCH, "/scim")
            .json(&json!({"approval": {"deprovision": true}})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["approval"],
        json!({"provision": true, "access_increase": true, "deprovision": true})
    );
    assert_eq!(r.body["enabled"], true, "untouched keys keep their value");

    let r = send(
        env.admin(Method::PATCH, "/scim")
            .json(&json!({"sso_role_mapping": true})),
    )
    .await;
    assert_eq!(r.body["warnings"][0]["code"], "sso_role_mapping_with_scim");
    let r = send(env.admin(Method::GET, "/scim")).await;
    assert_eq!(r.body["warnings"][0]["code"], "sso_role_mapping_with_scim");
    assert!(r.body["warnings"][0]["message"].as_str().unwrap().len() > 10);

    let audit = env.audit().await;
    let updates: Vec<_> = audit
        .iter()
        .filter(|a| a.1 == "scim.settings.update")
        .collect();
    assert_eq!(updates.len(), 3, "enable, approval, sso: {audit:?}");
    assert!(updates.iter().all(|a| a.0 == "owner@acme.example"));
}

#[tokio::test]
async fn scim_settings_patch_rejects_unknown_keys_and_wrong_types() {
    let env = Env::new().await;
    for body in [
        json!({"enabeld": true}),
        json!({"enabled": "yes"}),
        json!({"approval": {"provision": 1}}),
        json!({"approval": {"nope": true}}),
        json!({"approval": true}),
    ] {
        let r = send(env.admin(Method::PATCH, "/scim").json(&body)).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_eq!(r.body["error"], "invalid_request");
    }
    let r = send(
        env.admin(Method::PATCH, "/scim")
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn scim_tokens_are_shown_once_listed_without_secret_and_revoked_at_once() {
    let env = Env::new().await;
    let r = send(
        env.admin(Method::POST, "/scim/tokens")
            .json(&json!({"label": "okta"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let token = r.body["token"].as_str().unwrap().to_string();
    let id = r.body["id"].as_str().unwrap().to_string();
    assert!(token.starts_with("sdscim_") && token.len() == 69, "{token}");
    assert_eq!(r.body["label"], "okta");
    assert_eq!(
        r.body["scim_url"],
        scim_url(&env.server, &env.org.uid, "").as_str()
    );

    // The new token works.
    let r = send(env.http.get(env.scim_url("/Users")).bearer_auth(&token)).await;
    assert_eq!(r.status, 200);

    let r = send(env.admin(Method::GET, "/scim/tokens")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["total"], 2);
    assert!(r.body["next"].is_null());
    let items = r.body["items"].as_array().unwrap();
    let listed = items.iter().find(|t| t["id"] == id.as_str()).unwrap();
    assert_eq!(listed["label"], "okta");
    assert!(listed["last_used_at"].is_string(), "last use recorded");
    assert!(
        !r.body.to_string().contains(&token[14..]),
        "no secret listed"
    );

    let r = send(env.admin(Method::DELETE, &format!("/scim/tokens/{id}"))).await;
    assert_eq!(r.status, 204);
    let r = send(env.http.get(env.scim_url("/Users")).bearer_auth(&token)).await;
    r.assert_scim_error(401, None);
    let r = send(env.admin(Method::DELETE, &format!("/scim/tokens/{id}"))).await;
    assert_eq!(r.status, 404);

    let audit = env.audit().await;
    assert!(audit.iter().any(|a| a.1 == "scim.token.create"));
    assert!(audit.iter().any(|a| a.1 == "scim.token.revoke"));
    let all = format!("{audit:?}");
    assert!(!all.contains(&token[14..]), "no secret in the audit log");
}

#[tokio::test]
async fn token_list_pages_with_a_cursor() {
    let env = Env::new().await;
    for i in 0..4 {
        let r = send(
            env.admin(Method::POST, "/scim/tokens")
                .json(&json!({"label": format!("t{i}")})),
        )
        .await;
        assert_eq!(r.status, 201);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut rb = env
            .admin(Method::GET, "/scim/tokens")
            .query(&[("limit", "2")]);
        if let Some(c) = &cursor {
            rb = rb.query(&[("cursor", c)]);
        }
        let r = send(rb).await;
        assert_eq!(r.body["total"], 5);
        for t in r.body["items"].as_array().unwrap() {
            seen.push(t["label"].as_str().unwrap().to_string());
        }
        match r.body["next"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
        assert!(seen.len() <= 5, "pager must end");
    }
    assert_eq!(seen, ["test-idp", "t0", "t1", "t2", "t3"]);
    // A cursor this list never returned is refused, as on every other list.
    let r = send(
        env.admin(Method::GET, "/scim/tokens")
            .query(&[("cursor", "not-a-cursor")]),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
}

#[tokio::test]
async fn token_label_is_required() {
    let env = Env::new().await;
    for body in [json!({}), json!({"label": ""}), json!({"label": 5})] {
        let r = send(env.admin(Method::POST, "/scim/tokens").json(&body)).await;
        assert_eq!(r.status, 400, "{body}");
    }
}

#[tokio::test]
async fn admin_api_refuses_missing_bad_and_scim_tokens_with_401() {
    let env = Env::new().await;
    let r = send(env.http.get(env.admin_url("/scim"))).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    let r = send(
        env.http
            .get(env.admin_url("/scim"))
            .bearer_auth("scimdesk_admin_0000000000000000_00"),
    )
    .await;
    assert_eq!(r.status, 401);
    let mut forged = env.org.admin_token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == '0' { '1' } else { '0' });
    let r = send(env.http.get(env.admin_url("/scim")).bearer_auth(&forged)).await;
    assert_eq!(r.status, 401, "a wrong secret with a right id");
    let r = send(
        env.http
            .get(env.admin_url("/scim"))
            .bearer_auth(&env.org.scim_token),
    )
    .await;
    assert_eq!(r.status, 401, "a SCIM token is not an admin token");
    // And the reverse: an admin token is not a SCIM token.
    let r = send(
        env.http
            .get(env.scim_url("/Users"))
            .bearer_auth(&env.org.admin_token),
    )
    .await;
    r.assert_scim_error(401, None);
}

#[tokio::test]
async fn another_orgs_admin_token_gets_404_and_changes_nothing() {
    let env = Env::new().await;
    let other = new_org(&env.server, &env.http, "Globex", "boss@globex.example").await;
    let r = send(
        env.http
            .get(env.admin_url(""))
            .bearer_auth(&other.admin_token),
    )
    .await;
    assert_eq!(r.status, 404);
    let r = send(
        env.http
            .patch(env.admin_url("/scim"))
            .bearer_auth(&other.admin_token)
            .json(&json!({"enabled": false})),
    )
    .await;
    assert_eq!(r.status, 404);
    let r = send(env.admin(Method::GET, "/scim")).await;
    assert_eq!(r.body["enabled"], true);
    // An org that does not exist looks the same.
    let r = send(
        env.http
            .get(admin_url(&env.server, "nope", ""))
            .bearer_auth(&env.org.admin_token),
    )
    .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn a_members_admin_token_is_refused_with_403_and_only_the_owner_mints_them() {
    let env = Env::new().await;
    env.create_user("mem@acme.example").await;
    let r = send(
        env.admin(Method::POST, "/admin-tokens")
            .json(&json!({"email": "mem@acme.example", "label": "laptop"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let member_token = r.body["token"].as_str().unwrap().to_string();
    assert!(member_token.starts_with("sdadm_"));
    for (method, path) in [
        (Method::GET, ""),
        (Method::GET, "/scim"),
        (Method::PATCH, "/scim"),
        (Method::GET, "/scim/tokens"),
        (Method::POST, "/scim/tokens"),
        (Method::POST, "/admin-tokens"),
    ] {
        let r = send(
            env.http
                .request(method.clone(), env.admin_url(path))
                .bearer_auth(&member_token)
                .json(&json!({"label": "x", "enabled": false})),
        )
        .await;
        assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
    }
    let r = send(
        env.admin(Method::POST, "/admin-tokens")
            .json(&json!({"email": "stranger@acme.example", "label": "x"})),
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.body);
}

#[tokio::test]
async fn unknown_admin_routes_and_methods() {
    let env = Env::new().await;
    let r = send(env.admin(Method::GET, "/nope")).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["error"], "not_found");
    let r = send(env.admin(Method::DELETE, "/scim")).await;
    assert_eq!(r.status, 405);
}

/// Issue 24, item 9: the console's discovery card asks the admin API for what the SCIM
/// endpoint serves (it holds no SCIM token): the same document, Bulk and cursors included.
#[tokio::test]
async fn scim_discovery_is_the_served_service_provider_config() {
    let env = Env::new().await;
    let admin = send(env.admin(Method::GET, "/scim/discovery")).await;
    assert_eq!(admin.status, 200, "{}", admin.body);
    let scim = send(env.scim(Method::GET, "/ServiceProviderConfig")).await;
    assert_eq!(scim.status, 200, "{}", scim.body);
    assert_eq!(admin.body, scim.body);
    assert_eq!(admin.body["bulk"]["supported"], true);
    assert_eq!(admin.body["pagination"]["cursor"], true);
    // A SCIM token is not an admin token.
    let r = send(
        env.http
            .get(format!(
                "{}/admin/v1/organizations/{}/scim/discovery",
                env.server.base, env.org.uid
            ))
            .bearer_auth(&env.org.scim_token),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.body);
}
