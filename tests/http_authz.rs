//! Who may use the admin API: every admin route × {owner, admin, member, another org's
//! admin, no token, bad token}, token kinds kept apart, another org's token changing nothing,
//! and admin tokens listed and revoked by the Owner only.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

/// The ids a route table needs, made through the API so every route finds a real target.
struct Fixture {
    env: Env,
    admin_token: String,
    member_token: String,
    other: OrgCreds,
    /// Throwaway targets for the routes that revoke or remove.
    scim_token_id: String,
    admin_token_id: String,
    user_id: String,
}

async fn mint_admin_token(env: &Env, email: &str, label: &str) -> (String, String) {
    let r = send(
        env.admin(Method::POST, "/admin-tokens")
            .json(&json!({"email": email, "label": label})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    (
        r.body["id"].as_str().unwrap().to_string(),
        r.body["token"].as_str().unwrap().to_string(),
    )
}

async fn set_policy(env: &Env, on: bool) {
    let r = send(env.admin(Method::PATCH, "/scim").json(&json!({
        "approval": {"provision": on, "access_increase": on},
    })))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

impl Fixture {
    async fn new() -> Fixture {
        let env = Env::new().await;
        // Active members at once; Adele becomes an Admin through an "Admins" group mapping.
        set_policy(&env, false).await;
        let adele = env.create_user("adele.admin@acme.example").await;
        env.create_user("max.member@acme.example").await;
        let victim = env.create_user("vic.removed@acme.example").await;
        let admins = env
            .create_group("Admins", &[adele["id"].as_str().unwrap()])
            .await;
        let r = send(
            env.admin(
                Method::PUT,
                &format!("/group-mappings/{}", admins["id"].as_str().unwrap()),
            )
            .json(&json!({"org_role": "admin", "stack_roles": []})),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        set_policy(&env, true).await;
        let (_, admin_token) = mint_admin_token(&env, "adele.admin@acme.example", "adele").await;
        let (_, member_token) = mint_admin_token(&env, "max.member@acme.example", "max").await;
        let (admin_token_id, _) = mint_admin_token(&env, "max.member@acme.example", "spare").await;
        let r = send(
            env.admin(Method::POST, "/scim/tokens")
                .json(&json!({"label": "spare"})),
        )
        .await;
        assert_eq!(r.status, 201);
        let scim_token_id = r.body["id"].as_str().unwrap().to_string();
        let other = new_org(&env.server, &env.http, "Globex", "boss@globex.example").await;
        Fixture {
            admin_token,
            member_token,
            other,
            scim_token_id,
            admin_token_id,
            user_id: victim["id"].as_str().unwrap().to_string(),
            env,
        }
    }
}

/// One admin route: method, path under the org, a valid body, and whether only the Owner
/// may use it.
struct Route {
    method: Method,
    path: String,
    body: Option<Value>,
    owner_only: bool,
}

fn route(method: Method, path: impl Into<String>, body: Option<Value>) -> Route {
    Route {
        method,
        path: path.into(),
        body,
        owner_only: false,
    }
}

/// The routes that exist since the service provider (issue 3) and issue 4's tokens and audit.
fn core_routes(f: &Fixture) -> Vec<Route> {
    vec![
        route(Method::GET, "", None),
        route(Method::GET, "/scim", None),
        route(Method::PATCH, "/scim", Some(json!({"enabled": true}))),
        route(Method::GET, "/scim/tokens", None),
        route(
            Method::POST,
            "/scim/tokens",
            Some(json!({"label": "matrix"})),
        ),
        route(
            Method::DELETE,
            format!("/scim/tokens/{}", f.scim_token_id),
            None,
        ),
        Route {
            owner_only: true,
            ..route(Method::GET, "/admin-tokens", None)
        },
        Route {
            owner_only: true,
            ..route(
                Method::POST,
                "/admin-tokens",
                Some(json!({"email": "max.member@acme.example", "label": "matrix"})),
            )
        },
        Route {
            owner_only: true,
            ..route(
                Method::DELETE,
                format!("/admin-tokens/{}", f.admin_token_id),
                None,
            )
        },
        route(Method::GET, "/audit", None),
        route(Method::GET, "/audit?actor=x&action=scim", None),
        route(Method::GET, "/export", None),
    ]
}

/// Targets of the access routes (issue 4's stacks, mappings, members and approvals).
struct AccessIds {
    stack_uid: String,
    group_id: String,
    request_id: String,
    version: Value,
}

/// A stack, a SCIM group and an open approval request, all made through the API.
async fn access_ids(f: &Fixture) -> AccessIds {
    let env = &f.env;
    let r = send(
        env.admin(Method::POST, "/stacks")
            .json(&json!({"name": "Matrix"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let stack_uid = r.body["uid"].as_str().unwrap().to_string();
    let g = env.create_group("Matrix group", &[&f.user_id]).await;
    let r = send(
        env.scim(Method::POST, "/Users")
            .json(&user("pat.pending@acme.example")),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = send(env.admin(Method::GET, "/approvals?state=pending")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let req = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["member"]["email"] == "pat.pending@acme.example")
        .unwrap_or_else(|| panic!("a provision request: {}", r.body))
        .clone();
    AccessIds {
        stack_uid,
        group_id: g["id"].as_str().unwrap().to_string(),
        request_id: req["id"].as_str().unwrap().to_string(),
        version: req["version"].clone(),
    }
}

/// The routes of the access work, from the contract in DESIGN.md.
fn access_routes(f: &Fixture, a: &AccessIds) -> Vec<Route> {
    let mapping = json!({
        "org_role": "member",
        "stack_roles": [{"stack_uid": a.stack_uid, "role_uid": "developer"}],
    });
    let g = &a.group_id;
    vec![
        route(Method::GET, "/roles", None),
        route(Method::GET, "/stacks", None),
        route(Method::POST, "/stacks", Some(json!({"name": "Matrix 2"}))),
        route(Method::GET, format!("/stacks/{}/roles", a.stack_uid), None),
        route(
            Method::POST,
            format!("/stacks/{}/roles", a.stack_uid),
            Some(json!({"name": "Reviewer"})),
        ),
        route(Method::GET, "/groups", None),
        route(Method::GET, "/groups?filter=matrix", None),
        route(
            Method::PUT,
            format!("/group-mappings/{g}"),
            Some(mapping.clone()),
        ),
        route(Method::GET, format!("/group-mappings/{g}"), None),
        route(
            Method::POST,
            format!("/group-mappings/{g}/preview"),
            Some(mapping),
        ),
        route(Method::DELETE, format!("/group-mappings/{g}"), None),
        route(Method::GET, "/users", None),
        route(Method::GET, "/users?filter=acme&state=active", None),
        route(Method::GET, format!("/users/{}/access", f.user_id), None),
        route(Method::DELETE, format!("/users/{}", f.user_id), None),
        route(Method::GET, "/approvals?state=pending", None),
        route(
            Method::POST,
            format!("/approvals/{}/approve", a.request_id),
            Some(json!({"version": a.version})),
        ),
        route(
            Method::POST,
            format!("/approvals/{}/reject", a.request_id),
            Some(json!({"version": a.version, "reason": "matrix"})),
        ),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    NoToken,
    BadToken,
    ScimToken,
    Member,
    OtherOrgAdmin,
    Admin,
    Owner,
}

const EVERYONE: [Who; 7] = [
    Who::NoToken,
    Who::BadToken,
    Who::ScimToken,
    Who::Member,
    Who::OtherOrgAdmin,
    Who::Admin,
    Who::Owner,
];

async fn call(f: &Fixture, who: Who, r: &Route) -> Resp {
    let mut rb = f
        .env
        .http
        .request(r.method.clone(), f.env.admin_url(&r.path));
    rb = match who {
        Who::NoToken => rb,
        Who::BadToken => rb.bearer_auth("scimdesk_admin_0123456789abcdef_00ff"),
        Who::ScimToken => rb.bearer_auth(&f.env.org.scim_token),
        Who::Member => rb.bearer_auth(&f.member_token),
        Who::OtherOrgAdmin => rb.bearer_auth(&f.other.admin_token),
        Who::Admin => rb.bearer_auth(&f.admin_token),
        Who::Owner => rb.bearer_auth(&f.env.org.admin_token),
    };
    if let Some(b) = &r.body {
        rb = rb.json(b);
    }
    send(rb).await
}

/// Runs the whole matrix over `routes`, the Owner last so that the routes that revoke or
/// remove reach the Owner with the target still there when no one else could touch it.
async fn check_matrix(f: &Fixture, routes: &[Route]) {
    let mut failures = Vec::new();
    for r in routes {
        for who in EVERYONE {
            let resp = call(f, who, r).await;
            let s = resp.status;
            let message = resp.body["message"].as_str().unwrap_or("").to_string();
            let ok = match who {
                Who::NoToken | Who::BadToken | Who::ScimToken => {
                    s == 401 && resp.header("www-authenticate") == Some("Bearer")
                }
                Who::Member => s == 403,
                Who::OtherOrgAdmin => s == 404 && message == "no such organization",
                Who::Admin if r.owner_only => s == 403,
                Who::Admin | Who::Owner => {
                    // Through: not refused, and the route exists (the router's own 404 says
                    // "no such endpoint"; a missing target names the resource instead).
                    let router_404 = s == 404
                        && matches!(
                            message.as_str(),
                            "no such endpoint" | "no such organization"
                        );
                    !matches!(s, 401 | 403 | 405) && !router_404
                }
            };
            if !ok {
                failures.push(format!(
                    "{who:?} {} {}: {s} {}",
                    r.method, r.path, resp.body
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn every_core_admin_route_admits_owner_and_admin_only() {
    let f = Fixture::new().await;
    let routes = core_routes(&f);
    check_matrix(&f, &routes).await;
}

#[tokio::test]
async fn every_access_admin_route_admits_owner_and_admin_only() {
    let f = Fixture::new().await;
    let a = access_ids(&f).await;
    let routes = access_routes(&f, &a);
    check_matrix(&f, &routes).await;
}

#[tokio::test]
async fn another_orgs_admin_never_reads_or_writes_this_orgs_access() {
    let f = Fixture::new().await;
    let a = access_ids(&f).await;
    let routes = access_routes(&f, &a);
    another_org_changes_nothing(&f, &routes).await;
}

#[tokio::test]
async fn an_admin_token_is_refused_on_the_scim_api() {
    let f = Fixture::new().await;
    for token in [&f.env.org.admin_token, &f.admin_token, &f.member_token] {
        for (method, path) in [(Method::GET, "/Users"), (Method::POST, "/Groups")] {
            let r = send(
                f.env
                    .http
                    .request(method.clone(), f.env.scim_url(path))
                    .bearer_auth(token)
                    .json(&json!({"schemas": [GROUP_SCHEMA], "displayName": "x"})),
            )
            .await;
            r.assert_scim_error(401, None);
        }
    }
}

async fn another_org_changes_nothing(f: &Fixture, routes: &[Route]) {
    let before = database_state(&f.env).await;
    assert!(before.len() > 10, "the state is read: {before:?}");
    for r in routes {
        let resp = call(f, Who::OtherOrgAdmin, r).await;
        assert_eq!(resp.status, 404, "{} {}: {}", r.method, r.path, resp.body);
        let text = resp.body.to_string();
        assert!(
            !text.contains("acme") && !text.contains(&f.env.org.uid),
            "a refusal that tells about the org: {text}"
        );
    }
    assert_eq!(database_state(&f.env).await, before);
}

#[tokio::test]
async fn another_orgs_admin_never_reads_or_writes_this_org() {
    let f = Fixture::new().await;
    let routes = core_routes(&f);
    another_org_changes_nothing(&f, &routes).await;
}

#[tokio::test]
async fn admin_tokens_are_listed_without_secrets_by_the_owner_only() {
    let f = Fixture::new().await;
    let r = send(f.env.admin(Method::GET, "/admin-tokens")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The owner's (org create), adele, max and the spare.
    assert_eq!(r.body["total"], 4, "{}", r.body);
    let items = r.body["items"].as_array().unwrap();
    let emails: Vec<&str> = items.iter().map(|t| t["email"].as_str().unwrap()).collect();
    assert_eq!(
        emails,
        [
            "owner@acme.example",
            "adele.admin@acme.example",
            "max.member@acme.example",
            "max.member@acme.example"
        ],
        "oldest first"
    );
    for t in items {
        let keys: Vec<&String> = t.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["created_at", "email", "id", "label", "last_used_at"],
            "{t}"
        );
    }
    let text = r.body.to_string();
    for secret in [&f.admin_token, &f.member_token, &f.env.org.admin_token] {
        assert!(!text.contains(secret.rsplit('_').next().unwrap()));
    }
    let owner = items
        .iter()
        .find(|t| t["email"] == "owner@acme.example")
        .unwrap();
    assert!(
        owner["last_used_at"].is_string(),
        "the owner's token was used: {owner}"
    );

    // Paging follows the cursor to the end without repeats.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let r = send(f.env.admin(
            Method::GET,
            &format!("/admin-tokens?limit=3&cursor={cursor}"),
        ))
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        seen.extend(
            r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].clone()),
        );
        match r.body["next"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    assert_eq!(
        seen,
        items.iter().map(|t| t["id"].clone()).collect::<Vec<_>>()
    );

    let r = send(
        f.env
            .http
            .get(f.env.admin_url("/admin-tokens"))
            .bearer_auth(&f.admin_token),
    )
    .await;
    assert_eq!(r.status, 403, "an Admin is not the Owner: {}", r.body);
    assert!(r.body["message"].as_str().unwrap().contains("Owner"));
}

#[tokio::test]
async fn a_revoked_admin_token_is_refused_from_the_next_request() {
    let f = Fixture::new().await;
    let (id, token) = mint_admin_token(&f.env, "adele.admin@acme.example", "to revoke").await;
    let as_it = |path: &str| f.env.http.get(f.env.admin_url(path)).bearer_auth(&token);
    assert_eq!(send(as_it("/scim")).await.status, 200);

    let r = send(
        f.env
            .http
            .delete(f.env.admin_url(&format!("/admin-tokens/{id}")))
            .bearer_auth(&f.admin_token),
    )
    .await;
    assert_eq!(r.status, 403, "only the Owner revokes");
    assert_eq!(send(as_it("/scim")).await.status, 200);

    let r = send(f.env.admin(Method::DELETE, &format!("/admin-tokens/{id}"))).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = send(as_it("/scim")).await;
    assert_eq!(r.status, 401, "{}", r.body);
    // Adele's other token still works: revocation is per token, not per member.
    let r = send(
        f.env
            .http
            .get(f.env.admin_url("/scim"))
            .bearer_auth(&f.admin_token),
    )
    .await;
    assert_eq!(r.status, 200);

    let r = send(f.env.admin(Method::DELETE, &format!("/admin-tokens/{id}"))).await;
    assert_eq!(r.status, 404, "revoking twice: {}", r.body);
    let r = send(f.env.admin(Method::GET, "/admin-tokens")).await;
    assert!(
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["id"] != id.as_str()),
        "a revoked token is not listed"
    );
    // Another org's token id is not found here, and stays alive.
    let r = send(
        f.env
            .http
            .get(admin_url(&f.env.server, &f.other.uid, "/admin-tokens"))
            .bearer_auth(&f.other.admin_token),
    )
    .await;
    let other_id = r.body["items"][0]["id"].as_str().unwrap().to_string();
    let r = send(
        f.env
            .admin(Method::DELETE, &format!("/admin-tokens/{other_id}")),
    )
    .await;
    assert_eq!(r.status, 404);
    let r = send(
        f.env
            .http
            .get(admin_url(&f.env.server, &f.other.uid, "/scim"))
            .bearer_auth(&f.other.admin_token),
    )
    .await;
    assert_eq!(r.status, 200);

    // The Owner may revoke its own token; it stops working at once.
    let r = send(f.env.admin(Method::GET, "/admin-tokens")).await;
    let own = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["email"] == "owner@acme.example")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = send(f.env.admin(Method::DELETE, &format!("/admin-tokens/{own}"))).await;
    assert_eq!(r.status, 204);
    assert_eq!(send(f.env.admin(Method::GET, "/scim")).await.status, 401);
}
