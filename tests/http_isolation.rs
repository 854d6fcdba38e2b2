//! Isolation between organizations on the SCIM API, table-driven over every SCIM route
//! (discovery, Users and Groups GET/list/POST/PUT/PATCH/DELETE, `/.search`, `/Bulk`):
//! - another org's SCIM token with this org's uid in the URL is 401 on every route, the
//!   refusal tells nothing about this org, and no row of the database changes;
//! - another org's token in its own URL, naming this org's ids, userNames, groups and
//!   members (paths, filters, member values), reads none of them and writes none of them:
//!   this org's users, groups, members and audit log are exactly as before.
//!
//! The admin API's counterpart is `tests/http_authz.rs`.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

const SEARCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// One request: method, path under the org's SCIM root, body.
struct Route {
    method: Method,
    path: String,
    body: Option<Value>,
}

fn route(method: Method, path: impl Into<String>, body: Option<Value>) -> Route {
    Route {
        method,
        path: path.into(),
        body,
    }
}

/// What an org holds: one user in one group.
#[derive(Debug, Clone)]
struct Side {
    creds: OrgCreds,
    user_id: String,
    user_name: String,
    group_id: String,
    group_name: String,
}

async fn populate(env: &Env, creds: OrgCreds, user_name: &str, group_name: &str) -> Side {
    let r = send(
        env.http
            .post(scim_url(&env.server, &creds.uid, "/Users"))
            .bearer_auth(&creds.scim_token)
            .json(&json!({
                "schemas": [USER_SCHEMA],
                "userName": user_name,
                "externalId": format!("ext-{user_name}"),
                "emails": [{"value": user_name, "primary": true}],
                "active": true,
            })),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let user_id = r.body["id"].as_str().unwrap().to_string();
    let r = send(
        env.http
            .post(scim_url(&env.server, &creds.uid, "/Groups"))
            .bearer_auth(&creds.scim_token)
            .json(&json!({
                "schemas": [GROUP_SCHEMA],
                "displayName": group_name,
                "externalId": format!("ext-{group_name}"),
                "members": [{"value": user_id}],
            })),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    Side {
        creds,
        user_id,
        user_name: user_name.to_string(),
        group_id: r.body["id"].as_str().unwrap().to_string(),
        group_name: group_name.to_string(),
    }
}

struct Fixture {
    env: Env,
    acme: Side,
    globex: Side,
}

impl Fixture {
    async fn new() -> Fixture {
        let env = Env::new().await;
        let globex = new_org(&env.server, &env.http, "Globex", "boss@globex.example").await;
        let acme_creds = env.org.clone();
        let acme = populate(&env, acme_creds, "alice@acme.example", "Acme Engineering").await;
        let globex = populate(&env, globex, "gus@globex.example", "Globex Sales").await;
        Fixture { env, acme, globex }
    }

    async fn call(&self, token: &str, org_uid: &str, r: &Route) -> Resp {
        let mut rb = self
            .env
            .http
            .request(
                r.method.clone(),
                scim_url(&self.env.server, org_uid, &r.path),
            )
            .bearer_auth(token);
        if let Some(b) = &r.body {
            rb = rb.json(b);
        }
        send(rb).await
    }
}

/// Every SCIM route, aimed at `side`'s resources.
fn every_route(side: &Side) -> Vec<Route> {
    let u = format!("/Users/{}", side.user_id);
    let g = format!("/Groups/{}", side.group_id);
    let replace = json!({"op": "replace", "path": "displayName", "value": "Taken"});
    vec![
        route(Method::GET, "/ServiceProviderConfig", None),
        route(Method::GET, "/ResourceTypes", None),
        route(Method::GET, "/ResourceTypes/User", None),
        route(Method::GET, "/ResourceTypes/Group", None),
        route(Method::GET, "/Schemas", None),
        route(
            Method::GET,
            "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
            None,
        ),
        route(Method::GET, "/Users", None),
        route(
            Method::GET,
            format!("/Users?filter=userName%20eq%20%22{}%22", side.user_name),
            None,
        ),
        route(Method::POST, "/Users", Some(user("mallory@evil.example"))),
        route(Method::GET, &u, None),
        route(Method::PUT, &u, Some(user(&side.user_name))),
        route(Method::PATCH, &u, Some(patch_op(json!([replace])))),
        route(Method::DELETE, &u, None),
        route(Method::GET, "/Groups", None),
        route(
            Method::POST,
            "/Groups",
            Some(json!({"schemas": [GROUP_SCHEMA], "displayName": "Evil",
                        "members": [{"value": side.user_id}]})),
        ),
        route(Method::GET, &g, None),
        route(
            Method::PUT,
            &g,
            Some(json!({"schemas": [GROUP_SCHEMA], "displayName": "Evil"})),
        ),
        route(
            Method::PATCH,
            &g,
            Some(patch_op(
                json!([{"op": "remove", "path": "members"}, replace]),
            )),
        ),
        route(Method::DELETE, &g, None),
        route(
            Method::POST,
            "/Users/.search",
            Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]})),
        ),
        route(
            Method::POST,
            "/Groups/.search",
            Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]})),
        ),
        route(
            Method::POST,
            "/.search",
            Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]})),
        ),
        route(
            Method::POST,
            "/Bulk",
            Some(
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                        "Operations": [{"method": "DELETE", "path": u}]}),
            ),
        ),
    ]
}

/// Nothing of `side` (uid, ids, names) appears in `body`.
fn assert_tells_nothing_of(side: &Side, body: &Value, what: &str) {
    let text = body.to_string();
    for secret in [
        &side.creds.uid,
        &side.user_id,
        &side.user_name,
        &side.group_id,
        &side.group_name,
    ] {
        assert!(
            !text.contains(secret.as_str()),
            "{what}: the answer tells about the other org ({secret}): {text}"
        );
    }
}

/// `intruder`'s SCIM token on `victim`'s URL, on every route aimed at the victim's resources.
async fn foreign_token_on_every_route(f: &Fixture, intruder: &Side, victim: &Side) {
    let routes = every_route(victim);
    assert!(routes.len() >= 23);
    let before = database_state(&f.env).await;
    assert!(before.len() > 10, "the state is read: {before:?}");
    for r in &routes {
        let what = format!("{} {}", r.method, r.path);
        let resp = f
            .call(&intruder.creds.scim_token, &victim.creds.uid, r)
            .await;
        resp.assert_scim_error(401, None);
        assert_tells_nothing_of(victim, &resp.body, &what);
        // The same route with the victim's own token reaches the route (no 401), so the
        // table really exercises each handler's authentication, not a missing route. Only
        // reads here: the writes must not change the victim's state before the comparison.
        if r.method == Method::GET {
            let own = f.call(&victim.creds.scim_token, &victim.creds.uid, r).await;
            assert_eq!(
                own.status, 200,
                "{what} with the org's own token: {}",
                own.body
            );
        }
    }
    assert_eq!(
        database_state(&f.env).await,
        before,
        "a foreign token changed the database"
    );
}

#[tokio::test]
async fn another_orgs_scim_token_is_refused_on_every_route_and_changes_nothing() {
    let f = Fixture::new().await;
    foreign_token_on_every_route(&f, &f.globex, &f.acme).await;
    foreign_token_on_every_route(&f, &f.acme, &f.globex).await;
}

/// What `side`'s IdP can see of its org, plus its audit log: the state that must not move
/// when another org acts.
async fn view(f: &Fixture, side: &Side) -> Vec<Value> {
    let mut out = Vec::new();
    for path in [
        "/Users?count=1000".to_string(),
        "/Groups?count=1000".to_string(),
        format!("/Users/{}", side.user_id),
        format!("/Groups/{}", side.group_id),
    ] {
        let r = f
            .call(
                &side.creds.scim_token,
                &side.creds.uid,
                &route(Method::GET, path.clone(), None),
            )
            .await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        out.push(r.body);
    }
    let r = send(
        f.env
            .http
            .get(admin_url(
                &f.env.server,
                &side.creds.uid,
                "/audit?limit=1000",
            ))
            .bearer_auth(&side.creds.admin_token),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    out.push(r.body);
    out
}

fn member_ids(group: &Value) -> Vec<String> {
    group["members"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| m["value"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn an_org_naming_another_orgs_ids_in_its_own_urls_reaches_none_of_them() {
    let f = Fixture::new().await;
    let (acme, globex) = (&f.acme, &f.globex);
    let before = view(&f, acme).await;
    let fx = &f;
    let as_globex = move |r: Route| async move {
        fx.call(&fx.globex.creds.scim_token, &fx.globex.creds.uid, &r)
            .await
    };

    // Acme's resources by id, under Globex's root: 404 for every method.
    let u = format!("/Users/{}", acme.user_id);
    let g = format!("/Groups/{}", acme.group_id);
    let by_id = [
        route(Method::GET, &u, None),
        route(Method::PUT, &u, Some(user(&acme.user_name))),
        route(
            Method::PATCH,
            &u,
            Some(patch_op(
                json!([{"op": "replace", "path": "active", "value": false}]),
            )),
        ),
        route(Method::DELETE, &u, None),
        route(Method::GET, &g, None),
        route(
            Method::PUT,
            &g,
            Some(json!({"schemas": [GROUP_SCHEMA], "displayName": "Taken"})),
        ),
        route(
            Method::PATCH,
            &g,
            Some(patch_op(json!([{"op": "remove", "path": "members"}]))),
        ),
        route(Method::DELETE, &g, None),
    ];
    // The refusal is the one an id that exists nowhere gets: nothing tells that it exists.
    const NOWHERE: &str = "00000000-0000-4000-8000-000000000000";
    for r in by_id {
        let what = format!("{} {}", r.method, r.path);
        let ghost = route(
            r.method.clone(),
            r.path
                .replace(&acme.user_id, NOWHERE)
                .replace(&acme.group_id, NOWHERE),
            r.body.clone(),
        );
        let resp = as_globex(r).await;
        resp.assert_scim_error(404, None);
        let ghost = as_globex(ghost).await;
        let seen = resp
            .body
            .to_string()
            .replace(&acme.user_id, NOWHERE)
            .replace(&acme.group_id, NOWHERE);
        assert_eq!(seen, ghost.body.to_string(), "{what}");
        assert_tells_nothing_of(acme, &ghost.body, &what);
    }

    // Filters that name Acme's data find nothing in Globex.
    let enc = |s: &str| s.replace(' ', "%20").replace('"', "%22");
    let filters = [
        ("/Users", format!("id eq \"{}\"", acme.user_id)),
        ("/Users", format!("userName eq \"{}\"", acme.user_name)),
        (
            "/Users",
            format!("externalId eq \"ext-{}\"", acme.user_name),
        ),
        ("/Users", "userName sw \"alice\"".to_string()),
        ("/Users", format!("emails[value eq \"{}\"]", acme.user_name)),
        ("/Groups", format!("id eq \"{}\"", acme.group_id)),
        ("/Groups", format!("displayName eq \"{}\"", acme.group_name)),
        ("/Groups", "displayName co \"Acme\"".to_string()),
        ("/Groups", format!("members[value eq \"{}\"]", acme.user_id)),
        ("/Groups", format!("members.value eq \"{}\"", acme.user_id)),
    ];
    for (path, filter) in &filters {
        let r = as_globex(route(
            Method::GET,
            format!("{path}?filter={}", enc(filter)),
            None,
        ))
        .await;
        assert_eq!(r.status, 200, "{path} {filter}: {}", r.body);
        assert_eq!(r.body["totalResults"], 0, "{path} {filter}: {}", r.body);
        assert_tells_nothing_of(acme, &r.body, filter);
        // The same filters in a SearchRequest, on the type and across types.
        for search in [format!("{path}/.search"), "/.search".to_string()] {
            let r = as_globex(route(
                Method::POST,
                &search,
                Some(json!({"schemas": [SEARCH_SCHEMA], "filter": filter})),
            ))
            .await;
            assert_eq!(r.status, 200, "{search} {filter}: {}", r.body);
            assert_eq!(r.body["totalResults"], 0, "{search} {filter}: {}", r.body);
            assert_tells_nothing_of(acme, &r.body, filter);
        }
    }
    // Unfiltered lists hold Globex's own resources only.
    for path in ["/Users", "/Groups"] {
        let r = as_globex(route(Method::GET, path, None)).await;
        assert_eq!(r.body["totalResults"], 1, "{path}: {}", r.body);
        assert_tells_nothing_of(acme, &r.body, path);
    }
    let everything = Some(json!({"schemas": [SEARCH_SCHEMA]}));
    for (path, total) in [
        ("/Users/.search", 1),
        ("/Groups/.search", 1),
        ("/.search", 2),
    ] {
        let r = as_globex(route(Method::POST, path, everything.clone())).await;
        assert_eq!(r.body["totalResults"], total, "{path}: {}", r.body);
        assert_tells_nothing_of(acme, &r.body, path);
    }

    // Acme's user id as a member of Globex's groups is never linked: not on create, replace
    // or PATCH add.
    let r = as_globex(route(
        Method::POST,
        "/Groups",
        Some(json!({"schemas": [GROUP_SCHEMA], "displayName": "Poach",
                    "members": [{"value": acme.user_id}, {"value": globex.user_id}]})),
    ))
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let poach = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(member_ids(&r.body), vec![globex.user_id.clone()]);
    let r = as_globex(route(
        Method::PATCH,
        format!("/Groups/{}", globex.group_id),
        Some(patch_op(
            json!([{"op": "add", "path": "members", "value": [{"value": acme.user_id}]}]),
        )),
    ))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = as_globex(route(
        Method::PUT,
        format!("/Groups/{poach}"),
        Some(json!({"schemas": [GROUP_SCHEMA], "displayName": "Poach",
                    "members": [{"value": acme.user_id}]})),
    ))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    for id in [&globex.group_id, &poach] {
        let r = as_globex(route(Method::GET, format!("/Groups/{id}"), None)).await;
        assert!(
            !member_ids(&r.body).contains(&acme.user_id),
            "a Globex group holds an Acme user: {}",
            r.body
        );
    }
    // A group filter on Acme's user id still finds nothing in Globex.
    let r = as_globex(route(
        Method::GET,
        format!(
            "/Groups?filter={}",
            enc(&format!("members[value eq \"{}\"]", acme.user_id))
        ),
        None,
    ))
    .await;
    assert_eq!(r.body["totalResults"], 0, "{}", r.body);

    // The same userName and group name in Globex are Globex's own resources (uniqueness is
    // per org), and creating them touches nothing of Acme's.
    let r = as_globex(route(Method::POST, "/Users", Some(user(&acme.user_name)))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_ne!(r.body["id"], acme.user_id.as_str());
    let twin = r.body["id"].as_str().unwrap().to_string();
    let r = as_globex(route(
        Method::POST,
        "/Groups",
        Some(json!({"schemas": [GROUP_SCHEMA], "displayName": acme.group_name})),
    ))
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_ne!(r.body["id"], acme.group_id.as_str());
    // Deleting the twin removes Globex's, not Acme's.
    let r = as_globex(route(Method::DELETE, format!("/Users/{twin}"), None)).await;
    assert_eq!(r.status, 204, "{}", r.body);

    // A Bulk operation reaches no further than a single request: Acme's user is not
    // Globex's to delete, and the operation says so (404) without touching it.
    let r = as_globex(route(
        Method::POST,
        "/Bulk",
        Some(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                    "Operations": [{"method": "DELETE", "path": u}]}),
        ),
    ))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["Operations"][0]["status"], "404", "{}", r.body);

    assert_eq!(
        view(&f, acme).await,
        before,
        "Acme's users, groups, members or audit log changed"
    );
}
