//! List queries over HTTP: filters run in SQL, sorting, paging and bad queries.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

async fn list(env: &Env, path: &str, query: &[(&str, &str)]) -> Resp {
    send(env.scim(Method::GET, path).query(query)).await
}

fn user_names(r: &Resp) -> Vec<String> {
    r.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_string())
        .collect()
}

async fn seed(env: &Env) -> Vec<Value> {
    let mut out = Vec::new();
    for (name, ext, active) in [
        ("carol@acme.example", "x-3", true),
        ("alice@acme.example", "x-1", true),
        ("bob@acme.example", "x-2", false),
        ("dave@other.example", "x-4", true),
    ] {
        let mut u = user(name);
        u["externalId"] = json!(ext);
        u["active"] = json!(active);
        u["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] =
            json!({"department": if active { "Eng" } else { "Ops" }});
        let r = send(env.scim(Method::POST, "/Users").json(&u)).await;
        assert_eq!(r.status, 201, "{}", r.body);
        out.push(r.body);
    }
    out
}

#[tokio::test]
async fn user_name_eq_matches_in_any_case() {
    let env = Env::new().await;
    seed(&env).await;
    let r = list(
        &env,
        "/Users",
        &[("filter", "userName eq \"ALICE@acme.example\"")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["totalResults"], 1);
    assert_eq!(user_names(&r), ["alice@acme.example"]);
    let r = list(
        &env,
        "/Users",
        &[("filter", "USERNAME EQ \"nobody@acme.example\"")],
    )
    .await;
    assert_eq!(r.body["totalResults"], 0);
    assert_eq!(r.body["Resources"], json!([]));
}

#[tokio::test]
async fn operators_precedence_extensions_and_value_paths() {
    let env = Env::new().await;
    seed(&env).await;
    let cases: &[(&str, &[&str])] = &[
        ("userName sw \"b\"", &["bob@acme.example"]),
        ("userName ew \"other.example\"", &["dave@other.example"]),
        (
            "userName co \"@acme\" and active eq true",
            &["alice@acme.example", "carol@acme.example"],
        ),
        (
            "externalId eq \"x-2\" or externalId eq \"x-4\"",
            &["bob@acme.example", "dave@other.example"],
        ),
        ("not (active eq true)", &["bob@acme.example"]),
        (
            "active eq false or userName sw \"a\" and externalId eq \"x-9\"",
            &["bob@acme.example"],
        ),
        (
            "(active eq false or userName sw \"a\") and externalId eq \"x-1\"",
            &["alice@acme.example"],
        ),
        (
            "emails[type eq \"work\" and value co \"carol\"]",
            &["carol@acme.example"],
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq \"Ops\"",
            &["bob@acme.example"],
        ),
        (
            "meta.created gt \"2000-01-01T00:00:00Z\" and userName sw \"d\"",
            &["dave@other.example"],
        ),
        ("title pr", &[]),
    ];
    for (filter, want) in cases {
        let r = list(
            &env,
            "/Users",
            &[("filter", filter), ("sortBy", "userName")],
        )
        .await;
        assert_eq!(r.status, 200, "{filter}: {}", r.body);
        assert_eq!(user_names(&r), *want, "{filter}");
        assert_eq!(r.body["totalResults"], want.len(), "{filter}");
    }
}

#[tokio::test]
async fn sort_by_and_paging_over_a_filter() {
    let env = Env::new().await;
    seed(&env).await;
    let r = list(
        &env,
        "/Users",
        &[("sortBy", "userName"), ("sortOrder", "descending")],
    )
    .await;
    assert_eq!(
        user_names(&r),
        [
            "dave@other.example",
            "carol@acme.example",
            "bob@acme.example",
            "alice@acme.example"
        ]
    );
    let r = list(
        &env,
        "/Users",
        &[
            ("filter", "active eq true"),
            ("sortBy", "externalId"),
            ("startIndex", "2"),
            ("count", "1"),
        ],
    )
    .await;
    assert_eq!(r.body["totalResults"], 3);
    assert_eq!(r.body["startIndex"], 2);
    assert_eq!(r.body["itemsPerPage"], 1);
    assert_eq!(user_names(&r), ["carol@acme.example"]);
    // startIndex below 1 counts as 1; past the end is an empty page with the full total.
    let r = list(&env, "/Users", &[("startIndex", "-5"), ("count", "1")]).await;
    assert_eq!(r.body["startIndex"], 1);
    let r = list(&env, "/Users", &[("startIndex", "50")]).await;
    assert_eq!(r.body["totalResults"], 4);
    assert_eq!(r.body["Resources"], json!([]));
}

#[tokio::test]
async fn groups_filter_by_display_name_and_member() {
    let env = Env::new().await;
    let users = seed(&env).await;
    let a = users[0]["id"].as_str().unwrap();
    let b = users[1]["id"].as_str().unwrap();
    let g1 = env.create_group("Engineering", &[a]).await;
    env.create_group("Operations", &[b]).await;
    let r = list(
        &env,
        "/Groups",
        &[("filter", "displayName eq \"engineering\"")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["totalResults"], 1);
    assert_eq!(r.body["Resources"][0]["id"], g1["id"]);
    let f = format!("members[value eq \"{a}\"]");
    let r = list(
        &env,
        "/Groups",
        &[("filter", f.as_str()), ("excludedAttributes", "members")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["totalResults"], 1);
    assert!(r.body["Resources"][0].get("members").is_none());
}

#[tokio::test]
async fn bad_queries_are_400s_with_the_right_scim_type() {
    let env = Env::new().await;
    seed(&env).await;
    for (q, status, scim_type) in [
        (("filter", "userName eq"), 400, "invalidFilter"),
        (("filter", "(userName eq \"a\""), 400, "invalidFilter"),
        (("filter", "userName zz \"a\""), 400, "invalidFilter"),
        (("filter", "nosuchattr eq \"a\""), 400, "invalidFilter"),
        (("sortOrder", "sideways"), 400, "invalidValue"),
        (("startIndex", "one"), 400, "invalidValue"),
        (("sortBy", "nosuchattr"), 400, "invalidValue"),
    ] {
        let r = list(&env, "/Users", &[q]).await;
        r.assert_scim_error(status, Some(scim_type));
    }
    let r = list(
        &env,
        "/Users",
        &[("attributes", "userName"), ("excludedAttributes", "name")],
    )
    .await;
    r.assert_scim_error(400, None);
    let r = list(&env, "/Users", &[("filter", "userName eq \"x")]).await;
    let detail = r.body["detail"].as_str().unwrap();
    assert!(detail.contains("position"), "{detail}");
}

#[tokio::test]
async fn a_filter_over_the_size_bound_is_400_not_a_crash() {
    let env = Env::new().await;
    let clause = "userName eq \"a@b.c\"";
    let big = vec![clause; 1500].join(" or ");
    let r = send(
        env.scim(Method::GET, "/Users")
            .query(&[("filter", big.as_str())]),
    )
    .await;
    r.assert_scim_error(400, Some("invalidFilter"));
    let deep = format!("{}{clause}{}", "(".repeat(500), ")".repeat(500));
    let r = send(
        env.scim(Method::GET, "/Users")
            .query(&[("filter", deep.as_str())]),
    )
    .await;
    r.assert_scim_error(400, Some("invalidFilter"));
}

#[tokio::test]
async fn attributes_and_excluded_attributes_shape_list_responses() {
    let env = Env::new().await;
    seed(&env).await;
    let r = list(
        &env,
        "/Users",
        &[("attributes", "userName,name.givenName"), ("count", "1")],
    )
    .await;
    let u = &r.body["Resources"][0];
    assert!(u.get("userName").is_some());
    assert!(u["name"].get("givenName").is_some());
    assert!(u["name"].get("familyName").is_none());
    assert!(u.get("emails").is_none());
    assert!(u.get("id").is_some());
    let r = list(
        &env,
        "/Users",
        &[("excludedAttributes", "emails,name"), ("count", "1")],
    )
    .await;
    let u = &r.body["Resources"][0];
    assert!(u.get("emails").is_none() && u.get("name").is_none());
    assert!(u.get("userName").is_some());
}
