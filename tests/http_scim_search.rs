//! POST `/.search` (RFC 7644 §3.4.3) over HTTP: under `/Users` and `/Groups` it answers what
//! the GET list with the same parameters answers; at the root it searches Users and Groups as
//! one sequence (one total, one order, paged as a whole), an attribute one type lacks having
//! no value there; and bad SearchRequests get the errors a bad GET gets.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
const PROVISIONING: &str = "urn:scimdesk:params:scim:schemas:extension:provisioning:2.0:User";

/// A SearchRequest with these members.
fn request(members: Value) -> Value {
    let mut body = json!({"schemas": [SEARCH]});
    for (k, v) in members.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

async fn search(env: &Env, path: &str, members: Value) -> Resp {
    send(env.scim(Method::POST, path).json(&request(members))).await
}

fn ids(r: &Resp) -> Vec<String> {
    r.body["Resources"]
        .as_array()
        .unwrap_or_else(|| panic!("no Resources: {}", r.body))
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect()
}

/// Users and groups whose displayNames interleave: users a, C, e, (none); groups B, d, F.
struct Seeded {
    users: Vec<Value>,
    groups: Vec<Value>,
}

async fn seed(env: &Env) -> Seeded {
    let mut users = Vec::new();
    for (name, display) in [
        ("ann@acme.example", Some("a-ann")),
        ("cid@acme.example", Some("C-cid")),
        ("eve@acme.example", Some("e-eve")),
        ("nod@acme.example", None),
    ] {
        let mut u = user(name);
        if let Some(d) = display {
            u["displayName"] = json!(d);
        }
        u["externalId"] = json!(format!("ext-{name}"));
        let r = send(env.scim(Method::POST, "/Users").json(&u)).await;
        assert_eq!(r.status, 201, "{}", r.body);
        users.push(r.body);
    }
    let ann = users[0]["id"].as_str().unwrap().to_string();
    let cid = users[1]["id"].as_str().unwrap().to_string();
    let groups = vec![
        env.create_group("B-builders", &[&ann]).await,
        env.create_group("d-designers", &[&ann, &cid]).await,
        env.create_group("F-finance", &[]).await,
    ];
    Seeded { users, groups }
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// GET list ids in the server's default order.
async fn listed(env: &Env, path: &str) -> Vec<String> {
    let r = send(env.scim(Method::GET, path).query(&[("count", "200")])).await;
    assert_eq!(r.status, 200, "{}", r.body);
    ids(&r)
}

#[tokio::test]
async fn a_search_under_a_type_answers_what_the_get_list_answers() {
    let env = Env::new().await;
    let s = seed(&env).await;
    let ann = id_of(&s.users[0]);
    let user_queries: Vec<Vec<(&str, &str)>> = vec![
        vec![],
        vec![("filter", r#"userName sw "a" or displayName pr"#)],
        vec![(
            "filter",
            r#"emails[type eq "work"].value eq "cid@acme.example""#,
        )],
        vec![("sortBy", "displayName"), ("sortOrder", "descending")],
        vec![("sortBy", "userName"), ("startIndex", "2"), ("count", "2")],
        vec![("count", "0")],
        vec![("startIndex", "9")],
        vec![("attributes", "userName,name.givenName")],
        vec![("excludedAttributes", "emails,name")],
        vec![("attributes", PROVISIONING)],
    ];
    for q in &user_queries {
        let get = send(env.scim(Method::GET, "/Users").query(q)).await;
        assert_eq!(get.status, 200, "{q:?}: {}", get.body);
        let mut members = json!({});
        for (k, v) in q {
            members[*k] = match *k {
                // Numbers as numbers and lists as arrays, as RFC 7644's SearchRequest has them.
                "startIndex" | "count" => json!(v.parse::<u64>().unwrap()),
                "attributes" | "excludedAttributes" => json!(v.split(',').collect::<Vec<_>>()),
                _ => json!(v),
            };
        }
        let post = search(&env, "/Users/.search", members).await;
        assert_eq!(post.status, 200, "{q:?}: {}", post.body);
        assert_eq!(post.body, get.body, "{q:?}");
        assert_eq!(post.header("content-type"), Some("application/scim+json"));
    }
    let by_member = format!("members eq \"{ann}\"");
    let group_queries: Vec<Vec<(&str, &str)>> = vec![
        vec![],
        vec![("filter", &by_member)],
        vec![("excludedAttributes", "members"), ("sortBy", "displayName")],
        vec![
            ("attributes", "displayName"),
            ("count", "1"),
            ("startIndex", "3"),
        ],
    ];
    for q in &group_queries {
        let get = send(env.scim(Method::GET, "/Groups").query(q)).await;
        assert_eq!(get.status, 200, "{q:?}: {}", get.body);
        let members: serde_json::Map<String, Value> =
            q.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
        let post = search(&env, "/Groups/.search", Value::Object(members)).await;
        assert_eq!(post.status, 200, "{q:?}: {}", post.body);
        assert_eq!(post.body, get.body, "{q:?}");
    }
    // The filter found Ann's two groups, and only those.
    let r = search(
        &env,
        "/Groups/.search",
        json!({"filter": format!("members eq \"{ann}\"")}),
    )
    .await;
    let mut want = vec![id_of(&s.groups[0]), id_of(&s.groups[1])];
    let mut got = ids(&r);
    want.sort();
    got.sort();
    assert_eq!(got, want);
}

#[tokio::test]
async fn bad_search_requests_get_the_errors_a_bad_get_gets() {
    let env = Env::new().await;
    seed(&env).await;
    for path in ["/Users/.search", "/Groups/.search", "/.search"] {
        let post = |body: Value| send(env.scim(Method::POST, path).json(&body));
        // The SearchRequest schema is required.
        post(json!({"filter": "id pr"}))
            .await
            .assert_scim_error(400, Some("invalidSyntax"));
        post(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]}))
            .await
            .assert_scim_error(400, Some("invalidSyntax"));
        post(json!({"schemas": SEARCH}))
            .await
            .assert_scim_error(400, Some("invalidSyntax"));
        post(json!([SEARCH]))
            .await
            .assert_scim_error(400, Some("invalidSyntax"));
        let r = send(
            env.scim(Method::POST, path)
                .header("content-type", "application/scim+json")
                .body("{\"schemas\": ["),
        )
        .await;
        r.assert_scim_error(400, Some("invalidSyntax"));
        // A malformed filter says where.
        let r = post(request(json!({"filter": r#"displayName eq "a" and"#}))).await;
        r.assert_scim_error(400, Some("invalidFilter"));
        let detail = r.body["detail"].as_str().unwrap();
        assert!(detail.ends_with("at position 23"), "{path}: {detail}");
        post(request(json!({"filter": "shoeSize gt 40"})))
            .await
            .assert_scim_error(400, Some("invalidFilter"));
        for bad in [
            json!({"sortOrder": "up"}),
            json!({"count": true}),
            json!({"startIndex": "first"}),
            json!({"attributes": [1]}),
            json!({"sortBy": "shoeSize"}),
        ] {
            post(request(bad.clone()))
                .await
                .assert_scim_error(400, Some("invalidValue"));
        }
        post(request(
            json!({"attributes": ["displayName"], "excludedAttributes": ["id"]}),
        ))
        .await
        .assert_scim_error(400, Some("invalidSyntax"));
        // Members a SearchRequest does not define are ignored, as unknown query parameters
        // are, and null means absent.
        let r = post(request(json!({"cursor": "x", "filter": null, "count": 1}))).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert_eq!(r.body["itemsPerPage"], 1);
    }
    // A filter on a type's own attribute must suit its type on that type.
    send(
        env.scim(Method::POST, "/.search")
            .json(&request(json!({"filter": "userName gt true"}))),
    )
    .await
    .assert_scim_error(400, Some("invalidFilter"));
    // Other methods on the search paths are 405.
    for path in ["/.search", "/Users/.search", "/Groups/.search"] {
        for m in [Method::GET, Method::PUT, Method::PATCH, Method::DELETE] {
            send(env.scim(m, path)).await.assert_scim_error(405, None);
        }
    }
}

#[tokio::test]
async fn the_root_search_pages_users_then_groups_as_one_sequence() {
    let env = Env::new().await;
    seed(&env).await;
    // Without sortBy: the users in their list order, then the groups in theirs.
    let mut everything = listed(&env, "/Users").await;
    everything.extend(listed(&env, "/Groups").await);
    assert_eq!(everything.len(), 7);
    let r = search(&env, "/.search", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["totalResults"], 7);
    assert_eq!(r.body["startIndex"], 1);
    assert_eq!(r.body["itemsPerPage"], 7);
    assert_eq!(
        r.body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );
    assert_eq!(ids(&r), everything);
    assert_eq!(
        types(&r),
        ["User", "User", "User", "User", "Group", "Group", "Group"]
    );
    assert!(
        r.body["Resources"][4]["members"].is_array(),
        "groups carry members"
    );

    // Every page size and start gives the slice of the same sequence, across the boundary.
    for count in 1..=4u64 {
        for start in 1..=8u64 {
            let r = search(
                &env,
                "/.search",
                json!({"startIndex": start, "count": count}),
            )
            .await;
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(r.body["totalResults"], 7);
            let from = (start - 1) as usize;
            let want: Vec<String> = everything
                .iter()
                .skip(from)
                .take(count as usize)
                .cloned()
                .collect();
            assert_eq!(ids(&r), want, "startIndex {start} count {count}");
            assert_eq!(r.body["itemsPerPage"], want.len());
            assert_eq!(r.body["startIndex"], start);
        }
    }
    // count 0 gives the total alone; a start past the end, an empty page.
    let r = search(&env, "/.search", json!({"count": 0})).await;
    assert_eq!(
        (r.body["totalResults"].clone(), ids(&r).len()),
        (json!(7), 0)
    );
    let r = search(&env, "/.search", json!({"startIndex": 50})).await;
    assert_eq!(
        (r.body["totalResults"].clone(), ids(&r).len()),
        (json!(7), 0)
    );
    // Projection applies to each resource by its own type.
    let r = search(
        &env,
        "/.search",
        json!({"attributes": ["displayName", "userName"]}),
    )
    .await;
    for x in r.body["Resources"].as_array().unwrap() {
        let keys: Vec<&String> = x.as_object().unwrap().keys().collect();
        for k in &keys {
            assert!(
                ["id", "schemas", "meta", "displayName", "userName"].contains(&k.as_str()),
                "{k} in {x}"
            );
        }
    }
    let r = search(
        &env,
        "/.search",
        json!({"excludedAttributes": ["members", "emails"]}),
    )
    .await;
    for x in r.body["Resources"].as_array().unwrap() {
        assert!(
            x.get("members").is_none() && x.get("emails").is_none(),
            "{x}"
        );
    }
    // The provisioning extension, when asked for, on the users only.
    let r = search(&env, "/.search", json!({"attributes": [PROVISIONING]})).await;
    let with: Vec<bool> = r.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.get(PROVISIONING).is_some())
        .collect();
    assert_eq!(
        with,
        [true, true, true, true, false, false, false],
        "{}",
        r.body
    );
}

#[tokio::test]
async fn a_root_filter_applies_to_each_type_where_its_attributes_exist() {
    let env = Env::new().await;
    let s = seed(&env).await;
    let ann = id_of(&s.users[0]);
    let user = |i: usize| id_of(&s.users[i]);
    let group = |i: usize| id_of(&s.groups[i]);
    let cases: Vec<(String, Vec<String>)> = vec![
        // Both types have displayName.
        (
            r#"displayName sw "c" or displayName sw "d""#.into(),
            vec![user(1), group(1)],
        ),
        // userName is the users' alone: groups have no value for it.
        (r#"userName sw "e""#.into(), vec![user(2)]),
        ("userName pr".into(), (0..4).map(user).collect()),
        ("not (userName pr)".into(), (0..3).map(group).collect()),
        // "not identical": a group has no userName, so it is not identical to one.
        (
            r#"userName ne "ann@acme.example""#.into(),
            vec![user(1), user(2), user(3), group(0), group(1), group(2)],
        ),
        // members is the groups' alone.
        (format!("members eq \"{ann}\""), vec![group(0), group(1)]),
        (
            format!(r#"members eq "{ann}" or emails[type eq "work"].value sw "eve""#),
            vec![user(2), group(0), group(1)],
        ),
        (
            r#"externalId eq "ext-cid@acme.example" or displayName eq "f-FINANCE""#.into(),
            vec![user(1), group(2)],
        ),
        (r#"userName eq "x" and members pr"#.into(), vec![]),
    ];
    for (filter, want) in cases {
        let r = search(&env, "/.search", json!({"filter": filter})).await;
        assert_eq!(r.status, 200, "{filter}: {}", r.body);
        let mut got = ids(&r);
        let mut want_sorted = want.clone();
        got.sort();
        want_sorted.sort();
        assert_eq!(got, want_sorted, "{filter}");
        assert_eq!(r.body["totalResults"], want.len(), "{filter}");
    }
    // A filter on one type's attribute pages over that type's matches only.
    let r = search(
        &env,
        "/.search",
        json!({"filter": "not (userName pr)", "startIndex": 2, "count": 1}),
    )
    .await;
    assert_eq!(r.body["totalResults"], 3);
    assert_eq!(ids(&r), [listed(&env, "/Groups").await[1].clone()]);
}

/// One member of every resource on the page, by JSON pointer.
fn column(r: &Resp, pointer: &str) -> Vec<Option<String>> {
    r.body["Resources"]
        .as_array()
        .unwrap_or_else(|| panic!("no Resources: {}", r.body))
        .iter()
        .map(|x| {
            x.pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect()
}

fn types(r: &Resp) -> Vec<String> {
    column(r, "/meta/resourceType")
        .into_iter()
        .flatten()
        .collect()
}

#[tokio::test]
async fn a_sort_both_types_have_interleaves_them_and_pages_stay_consistent() {
    let env = Env::new().await;
    seed(&env).await;
    let some = |v: &[&str]| v.iter().map(|s| Some(s.to_string())).collect::<Vec<_>>();
    let r = search(&env, "/.search", json!({"sortBy": "displayName"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["totalResults"], 7);
    let mut want = some(&[
        "a-ann",
        "B-builders",
        "C-cid",
        "d-designers",
        "e-eve",
        "F-finance",
    ]);
    want.push(None);
    assert_eq!(
        column(&r, "/displayName"),
        want,
        "case-insensitive, the user without one last"
    );
    let r = search(
        &env,
        "/.search",
        json!({"sortBy": "displayName", "sortOrder": "descending"}),
    )
    .await;
    let mut want = some(&[
        "F-finance",
        "e-eve",
        "d-designers",
        "C-cid",
        "B-builders",
        "a-ann",
    ]);
    want.push(None);
    assert_eq!(
        column(&r, "/displayName"),
        want,
        "descending, still last without a value"
    );

    // Pages of every size put together give the whole sequence, in both orders.
    for order in ["ascending", "descending"] {
        let whole = search(
            &env,
            "/.search",
            json!({"sortBy": "displayName", "sortOrder": order}),
        )
        .await;
        for count in 1..=3u64 {
            let mut paged = Vec::new();
            let mut start = 1;
            while start <= 7 {
                let r = search(
                    &env,
                    "/.search",
                    json!({"sortBy": "displayName", "sortOrder": order,
                           "startIndex": start, "count": count}),
                )
                .await;
                assert_eq!(r.body["totalResults"], 7);
                paged.extend(ids(&r));
                start += count;
            }
            assert_eq!(paged, ids(&whole), "{order}, pages of {count}");
        }
    }
    // Groups on an interleaved page carry their members unless excluded.
    let r = search(
        &env,
        "/.search",
        json!({"sortBy": "displayName", "count": 2}),
    )
    .await;
    assert_eq!(r.body["Resources"][1]["displayName"], "B-builders");
    assert_eq!(
        r.body["Resources"][1]["members"].as_array().unwrap().len(),
        1
    );
    let r = search(
        &env,
        "/.search",
        json!({"sortBy": "displayName", "count": 2, "excludedAttributes": ["members"]}),
    )
    .await;
    assert!(r.body["Resources"][1].get("members").is_none());
    // meta.created, which both types have, orders by creation: users were created first.
    let r = search(&env, "/.search", json!({"sortBy": "meta.created"})).await;
    assert_eq!(
        types(&r),
        ["User", "User", "User", "User", "Group", "Group", "Group"]
    );
    // Merging reads each type up to the page's end, so that is bounded; other searches are not.
    let r = search(
        &env,
        "/.search",
        json!({"sortBy": "displayName", "startIndex": 9_990, "count": 20}),
    )
    .await;
    r.assert_scim_error(400, Some("tooMany"));
    let r = search(&env, "/.search", json!({"startIndex": 9_990, "count": 20})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = search(
        &env,
        "/.search",
        json!({"sortBy": "displayName", "startIndex": 9_990, "count": 0}),
    )
    .await;
    assert_eq!(r.body["totalResults"], 7, "count 0 reads no resource");
}

#[tokio::test]
async fn a_sort_one_type_has_puts_that_type_first() {
    let env = Env::new().await;
    let s = seed(&env).await;
    let by_name = |order: &str| json!({"sortBy": "userName", "sortOrder": order});
    let groups = listed(&env, "/Groups").await;
    for (order, users) in [
        ("ascending", ["ann", "cid", "eve", "nod"]),
        ("descending", ["nod", "eve", "cid", "ann"]),
    ] {
        let r = search(&env, "/.search", by_name(order)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let want: Vec<Option<String>> = users
            .iter()
            .map(|u| Some(format!("{u}@acme.example")))
            .chain([None, None, None])
            .collect();
        assert_eq!(
            column(&r, "/userName"),
            want,
            "{order}: groups, without a userName, come last"
        );
        assert_eq!(
            ids(&r)[4..],
            groups[..],
            "{order}: groups in their own order"
        );
    }
    // members is the groups' alone: they come first, the users after.
    let r = search(&env, "/.search", json!({"sortBy": "members"})).await;
    assert_eq!(
        types(&r),
        ["Group", "Group", "Group", "User", "User", "User", "User"]
    );
    // Paging across the boundary of a one-type sort.
    let r = search(
        &env,
        "/.search",
        json!({"sortBy": "userName", "startIndex": 4, "count": 2}),
    )
    .await;
    assert_eq!(ids(&r), [id_of(&s.users[3]), groups[0].clone()]);
}
