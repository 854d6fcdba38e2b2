//! The typed admin client against a real server, for the routes that exist: the org, SCIM
//! settings, SCIM tokens and admin tokens; and its errors (401, 403, unreachable, 404).

mod common;

use common::Env;
use scimdesk::client::{AdminClient, ApiError, ApprovalPatch, Needs, PageReq, ScimSettingsPatch};

fn owner(env: &Env) -> AdminClient {
    AdminClient::new(
        &env.server.base,
        &env.org.uid,
        env.org.admin_token.clone(),
        "SCIMDESK_TOKEN",
    )
    .expect("client")
}

#[tokio::test]
async fn reads_the_org_and_patches_scim_settings() {
    let env = Env::new().await;
    let c = owner(&env);
    let org = c.org().await.expect("org");
    assert_eq!(org.uid, env.org.uid);
    assert_eq!(org.name, "Acme");
    assert!(org.scim.enabled);
    assert_eq!(org.counts.scim_tokens, 1);

    let s = c.scim_settings().await.expect("settings");
    assert!(s.enabled);
    assert!(s.warnings.is_empty());
    let url = s.scim_url.expect("scim_url");
    assert!(url.ends_with(&format!("/scim/v2.0/organizations/{}", env.org.uid)));

    let s = c
        .patch_scim(&ScimSettingsPatch {
            sso_role_mapping: Some(true),
            approval: ApprovalPatch {
                deprovision: Some(true),
                ..Default::default()
            },
            ..Default::default()
        })
        .await
        .expect("patch");
    assert!(s.sso_role_mapping);
    assert!(s.approval.deprovision);
    // Merged: the other approval switches keep their defaults.
    assert!(s.approval.provision && s.approval.access_increase);
    assert_eq!(s.warnings.len(), 1);
    assert_eq!(s.warnings[0].code, "sso_role_mapping_with_scim");
    assert_eq!(c.scim_settings().await.unwrap(), s);
    env.server.stop().await;
}

#[tokio::test]
async fn scim_tokens_are_created_listed_and_revoked() {
    let env = Env::new().await;
    let c = owner(&env);
    let issued = c.create_scim_token("okta prod").await.expect("create");
    assert_eq!(issued.label, "okta prod");
    assert!(!issued.token.is_empty());
    assert!(issued.scim_url.is_some());
    assert!(
        !format!("{issued:?}").contains(&issued.token),
        "Debug must not show the secret"
    );

    let page = c.scim_tokens(&PageReq::first(1)).await.expect("list");
    assert_eq!(page.total, 2);
    assert_eq!(page.items.len(), 1);
    let cursor = page.next.clone().expect("a second page");
    let rest = c
        .scim_tokens(&PageReq {
            limit: Some(1),
            cursor: Some(cursor),
        })
        .await
        .expect("page 2");
    let mut labels: Vec<String> = page
        .items
        .iter()
        .chain(&rest.items)
        .map(|t| t.label.clone())
        .collect();
    labels.sort();
    assert_eq!(labels, ["okta prod", "test-idp"]);

    c.revoke_scim_token(&issued.id).await.expect("revoke");
    let all = c.scim_tokens(&PageReq::default()).await.unwrap();
    assert_eq!(all.total, 1);
    match c.revoke_scim_token(&issued.id).await {
        Err(ApiError::NotFound { .. }) => {}
        other => panic!("revoking twice: {other:?}"),
    }
    env.server.stop().await;
}

#[tokio::test]
async fn admin_tokens_round_trip_and_a_revoked_token_names_its_source() {
    let env = Env::new().await;
    let c = owner(&env);
    let issued = c
        .create_admin_token("owner@acme.example", "laptop")
        .await
        .expect("issue");
    let tokens = c.admin_tokens(&PageReq::default()).await.expect("list");
    assert!(
        tokens
            .items
            .iter()
            .any(|t| t.id == issued.id && t.label == "laptop" && t.email == "owner@acme.example")
    );

    let second = AdminClient::new(
        &env.server.base,
        &env.org.uid,
        issued.token.clone(),
        "profile 'laptop'",
    )
    .unwrap();
    assert!(second.org().await.is_ok());
    c.revoke_admin_token(&issued.id).await.expect("revoke");
    let err = second.org().await.expect_err("revoked");
    assert!(
        matches!(&err, ApiError::Unauthorized { token, .. } if token == "profile 'laptop'"),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("profile 'laptop'") && text.contains("401"),
        "{text}"
    );
    assert!(
        !text.contains(&issued.token),
        "the secret must not be shown"
    );
    env.server.stop().await;
}

#[tokio::test]
async fn a_wrong_token_is_401_and_names_where_it_came_from() {
    let env = Env::new().await;
    let c = AdminClient::new(
        &env.server.base,
        &env.org.uid,
        "scimdesk_admin_wrong",
        "SCIMDESK_TOKEN",
    )
    .unwrap();
    let err = c.scim_settings().await.expect_err("401");
    assert_eq!(err.status(), Some(401));
    assert!(err.to_string().contains("SCIMDESK_TOKEN"), "{err}");
    // A SCIM token is not an admin token.
    let c = AdminClient::new(
        &env.server.base,
        &env.org.uid,
        env.org.scim_token.clone(),
        "the SCIM token",
    )
    .unwrap();
    assert_eq!(c.org().await.unwrap_err().status(), Some(401));
    env.server.stop().await;
}

#[tokio::test]
async fn a_member_token_is_403_and_says_which_role_is_needed() {
    let env = Env::new().await;
    env.create_user("ann@acme.example").await;
    let issued = owner(&env)
        .create_admin_token("ann@acme.example", "ann")
        .await
        .expect("issue for a member");
    let ann = AdminClient::new(
        &env.server.base,
        &env.org.uid,
        issued.token,
        "ann's token file",
    )
    .unwrap();
    let err = ann.scim_settings().await.expect_err("403");
    assert!(
        matches!(&err, ApiError::Forbidden { needs: Needs::OwnerOrAdmin, token, .. } if token == "ann's token file"),
        "{err:?}"
    );
    assert!(err.to_string().contains("Owner or Admin"), "{err}");
    let err = ann
        .admin_tokens(&PageReq::default())
        .await
        .expect_err("403");
    assert!(
        matches!(
            &err,
            ApiError::Forbidden {
                needs: Needs::Owner,
                ..
            }
        ),
        "{err:?}"
    );
    env.server.stop().await;
}

#[tokio::test]
async fn another_orgs_uid_is_not_found() {
    let env = Env::new().await;
    let c = AdminClient::new(
        &env.server.base,
        "no-such-org",
        env.org.admin_token.clone(),
        "SCIMDESK_TOKEN",
    )
    .unwrap();
    assert!(matches!(c.org().await, Err(ApiError::NotFound { .. })));
    env.server.stop().await;
}

#[tokio::test]
async fn a_server_that_is_down_is_unreachable_and_transient() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let c = AdminClient::new(&base, "org", "t", "SCIMDESK_TOKEN").unwrap();
    let err = c.org().await.expect_err("nothing listens");
    assert!(matches!(err, ApiError::Unreachable { .. }), "{err:?}");
    assert!(err.is_transient());
    assert!(err.to_string().contains(&base), "{err}");
}

#[test]
fn bad_urls_and_missing_orgs_are_explained() {
    for (url, org) in [("not a url", "o"), ("ftp://x", "o"), ("http://x", " ")] {
        let err = AdminClient::new(url, org, "t", "x").expect_err(url);
        assert!(matches!(err, ApiError::Config(_)), "{url}: {err:?}");
    }
    let c = AdminClient::new("http://example.test:8080/", "o1", "secret-value", "x").unwrap();
    assert_eq!(c.server(), "http://example.test:8080");
    assert!(!format!("{c:?}").contains("secret-value"));
}
