//! SCIM authentication and the SCIM switch: 401 before 403, tokens scoped to one org.

mod common;

use common::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn missing_or_wrong_token_is_401_with_www_authenticate() {
    let env = Env::new().await;
    let r = send(env.http.get(env.scim_url("/Users"))).await;
    r.assert_scim_error(401, None);
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));

    for bad in [
        "nonsense",
        "scimdesk_scim_",
        "scimdesk_scim_0123456789abcdef_0000000000000000000000000000000000000000000000000000000000000000",
    ] {
        let r = send(env.http.get(env.scim_url("/Users")).bearer_auth(bad)).await;
        r.assert_scim_error(401, None);
    }
    let r = send(
        env.http
            .get(env.scim_url("/Users"))
            .header("authorization", format!("Basic {}", env.org.scim_token)),
    )
    .await;
    r.assert_scim_error(401, None);
}

#[tokio::test]
async fn a_token_of_another_org_is_401() {
    let env = Env::new().await;
    let other = new_org(&env.server, &env.http, "Globex", "boss@globex.example").await;
    let r = send(
        env.http
            .get(env.scim_url("/Users"))
            .bearer_auth(&other.scim_token),
    )
    .await;
    r.assert_scim_error(401, None);
    let r = send(
        env.http
            .post(env.scim_url("/Users"))
            .bearer_auth(&other.scim_token)
            .json(&user("x@acme.example")),
    )
    .await;
    r.assert_scim_error(401, None);
    // An org that does not exist answers like a bad token.
    let r = send(
        env.http
            .get(scim_url(&env.server, "nope", "/Users"))
            .bearer_auth(&env.org.scim_token),
    )
    .await;
    r.assert_scim_error(401, None);
}

#[tokio::test]
async fn scim_disabled_is_403_saying_how_to_enable_and_401_comes_first() {
    let env = Env::new().await;
    let r = send(
        env.admin(Method::PATCH, "/scim")
            .json(&json!({"enabled": false})),
    )
    .await;
    assert_eq!(r.status, 200);
    let r = send(env.scim(Method::GET, "/Users")).await;
    r.assert_scim_error(403, None);
    let detail = r.body["detail"].as_str().unwrap();
    assert!(detail.contains("SCIM is disabled"), "{detail}");
    assert!(detail.contains("\"enabled\": true"), "{detail}");
    let r = send(env.scim(Method::GET, "/ServiceProviderConfig")).await;
    r.assert_scim_error(403, None);

    let r = send(env.http.get(env.scim_url("/Users")).bearer_auth("bad")).await;
    r.assert_scim_error(401, None);

    send(
        env.admin(Method::PATCH, "/scim")
            .json(&json!({"enabled": true})),
    )
    .await;
    let r = send(env.scim(Method::GET, "/Users")).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn writes_are_audited_with_the_token_label_as_actor() {
    let env = Env::new().await;
    let u = env.create_user("audited@acme.example").await;
    let audit = env.audit().await;
    let create = audit
        .iter()
        .find(|a| a.1 == "scim.user.create")
        .expect("create audited");
    assert_eq!(create.0, "test-idp");
    assert_eq!(create.2.as_deref(), u["id"].as_str());
}
