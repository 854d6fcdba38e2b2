//! Discovery endpoints over HTTP: GET only, generated from the schema tables.

mod common;

use common::*;
use reqwest::Method;

#[tokio::test]
async fn service_provider_config_tells_the_truth_about_this_server() {
    let env = Env::new().await;
    let r = send(env.scim(Method::GET, "/ServiceProviderConfig")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/scim+json"));
    let b = &r.body;
    assert_eq!(b["bulk"]["supported"], true);
    assert_eq!(b["bulk"]["maxOperations"], 1000);
    assert_eq!(b["bulk"]["maxPayloadSize"], 1024 * 1024);
    assert_eq!(b["filter"]["supported"], true);
    assert_eq!(b["filter"]["maxResults"], 200);
    assert_eq!(b["patch"]["supported"], true);
    assert_eq!(b["etag"]["supported"], true);
    assert_eq!(b["sort"]["supported"], true);
    assert_eq!(b["changePassword"]["supported"], false);
    assert_eq!(b["authenticationSchemes"][0]["type"], "oauthbearertoken");
    assert_eq!(
        b["meta"]["location"],
        env.scim_url("/ServiceProviderConfig").as_str()
    );
}

#[tokio::test]
async fn resource_types_and_schemas_list_and_fetch_by_id() {
    let env = Env::new().await;
    let r = send(env.scim(Method::GET, "/ResourceTypes")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["totalResults"], 2);
    let r = send(env.scim(Method::GET, "/ResourceTypes/User")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["endpoint"], "/Users");
    let r = send(env.scim(Method::GET, "/ResourceTypes/Nope")).await;
    r.assert_scim_error(404, None);

    let r = send(env.scim(Method::GET, "/Schemas")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["totalResults"], 4);
    let r = send(env.scim(Method::GET, &format!("/Schemas/{USER_SCHEMA}"))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["id"], USER_SCHEMA);
    let r = send(env.scim(Method::GET, "/Schemas/urn:nope")).await;
    r.assert_scim_error(404, None);
}
