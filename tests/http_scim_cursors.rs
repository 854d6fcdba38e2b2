//! Cursor paging (RFC 9865) over HTTP: walks forward and back with filters and sorting,
//! concurrent writes during a walk, refused cursors, count=0, `/.search` and the
//! ServiceProviderConfig `pagination` block.

mod common;

use common::*;
use reqwest::Method;
use scimdesk::server::ServerConfig;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};

const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Users whose sort keys tie in case, miss values and hold numbers-as-text, so that the walk
/// has ties to break and NULLs to place. Returns their ids.
async fn seed(env: &Env, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let mut u = user(&format!("user{i:03}@acme.example"));
        match i % 4 {
            0 => u["displayName"] = json!("Ann"),
            1 => u["displayName"] = json!("ann"),
            2 => u["displayName"] = json!(format!("Name {}", (n - i) % 7)),
            _ => {}
        }
        if i % 3 != 0 {
            u["externalId"] = json!(format!("ext-{}", i % 5));
        }
        u[ENTERPRISE] = json!({"department": format!("D{}", i % 3)});
        if i % 5 != 0 {
            u["nickName"] = json!(format!("n{:02}", (i * 7) % 11));
        }
        let r = send(env.scim(Method::POST, "/Users").json(&u)).await;
        assert_eq!(r.status, 201, "{}", r.body);
        ids.push(r.body["id"].as_str().unwrap().to_string());
    }
    ids
}

fn ids(r: &Resp) -> Vec<String> {
    r.body["Resources"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", r.body))
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect()
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

async fn get(env: &Env, path: &str, query: &[(&str, &str)]) -> Resp {
    send(env.scim(Method::GET, path).query(query)).await
}

/// Every page of a walk, from the first forward to the end, then back from the last to the
/// first with previousCursor; each page's ids. Checks each page's links on the way.
async fn walk(env: &Env, path: &str, query: &[(&str, &str)], count: usize) -> Vec<Vec<String>> {
    let count_text = count.to_string();
    let page = |cursor: String| {
        let mut q: Vec<(&str, String)> = query.iter().map(|(k, v)| (*k, v.to_string())).collect();
        q.push(("count", count_text.clone()));
        q.push(("cursor", cursor));
        async move { send(env.scim(Method::GET, path).query(&q)).await }
    };
    let mut forward = Vec::new();
    let mut r = page(String::new()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.get("previousCursor").is_none(),
        "first page: {}",
        r.body
    );
    assert!(r.body.get("startIndex").is_none());
    let total = r.body["totalResults"].clone();
    loop {
        assert_eq!(r.body["totalResults"], total);
        let got = ids(&r);
        assert!(got.len() <= count);
        assert_eq!(r.body["itemsPerPage"], got.len());
        forward.push(got);
        match text(&r.body["nextCursor"]) {
            Some(next) => {
                assert_eq!(
                    forward.last().unwrap().len(),
                    count,
                    "only the last page is short"
                );
                r = page(next).await;
                assert_eq!(r.status, 200, "{}", r.body);
            }
            None => break,
        }
    }
    // Back from the last page.
    let mut backward = vec![forward.last().unwrap().clone()];
    while let Some(previous) = text(&r.body["previousCursor"]) {
        r = page(previous).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(
            r.body.get("nextCursor").is_some(),
            "a page reached backward has a next"
        );
        backward.push(ids(&r));
    }
    backward.reverse();
    assert_eq!(
        backward, forward,
        "{path} {query:?}: back gives the same pages"
    );
    forward
}

/// The whole list in one index page: the order cursors must follow.
async fn all_by_index(env: &Env, path: &str, query: &[(&str, &str)]) -> Vec<String> {
    let mut q = query.to_vec();
    q.push(("count", "200"));
    let r = get(env, path, &q).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.get("nextCursor").is_none(),
        "index paging has no cursors"
    );
    ids(&r)
}

#[tokio::test]
async fn walks_forward_and_back_in_the_order_of_index_paging() {
    let env = Env::new().await;
    let created = seed(&env, 23).await;
    let queries: &[&[(&str, &str)]] = &[
        &[],
        &[("sortBy", "userName"), ("sortOrder", "descending")],
        &[("sortBy", "displayName")],
        &[("sortBy", "displayName"), ("sortOrder", "descending")],
        &[("sortBy", "externalId"), ("sortOrder", "descending")],
        &[("sortBy", "emails.value")],
        &[("sortBy", "nickName"), ("sortOrder", "descending")],
        &[("sortBy", "meta.created"), ("sortOrder", "descending")],
        &[("sortBy", &format!("{ENTERPRISE}:department"))],
        &[
            ("filter", "displayName eq \"ann\" or externalId pr"),
            ("sortBy", "displayName"),
        ],
        &[
            ("filter", "userName sw \"user01\""),
            ("sortBy", "externalId"),
        ],
    ];
    for query in queries {
        let expected = all_by_index(&env, "/Users", query).await;
        for count in [1, 4, 7] {
            let pages = walk(&env, "/Users", query, count).await;
            let walked: Vec<String> = pages.concat();
            assert_eq!(walked, expected, "{query:?} count={count}");
        }
    }
    let everyone: HashSet<_> = walk(&env, "/Users", &[], 5)
        .await
        .concat()
        .into_iter()
        .collect();
    assert_eq!(everyone, created.into_iter().collect());
}

#[tokio::test]
async fn groups_walk_too() {
    let env = Env::new().await;
    let u = env.create_user("m@acme.example").await;
    let member = u["id"].as_str().unwrap();
    for i in 0..9 {
        env.create_group(&format!("G{}", i % 4), &[member]).await;
    }
    let query: &[(&str, &str)] = &[("sortBy", "displayName"), ("sortOrder", "descending")];
    let expected = all_by_index(&env, "/Groups", query).await;
    assert_eq!(walk(&env, "/Groups", query, 2).await.concat(), expected);
}

#[tokio::test]
async fn rows_that_exist_throughout_a_walk_are_seen_once_whatever_changes_meanwhile() {
    let env = Env::new().await;
    let created = seed(&env, 30).await;
    let query = [("sortBy", "displayName"), ("count", "4")];
    let mut seen: Vec<String> = Vec::new();
    let mut deleted = HashSet::new();
    let mut cursor = String::new();
    let mut round = 0;
    loop {
        let mut q = query.to_vec();
        q.push(("cursor", &cursor));
        let r = get(&env, "/Users", &q).await;
        assert_eq!(r.status, 200, "{}", r.body);
        seen.extend(ids(&r));
        // Between pages: new users in every part of the order, and deletions of rows already
        // seen and not yet seen.
        for j in 0..2 {
            let mut u = user(&format!("new{round}-{j}@acme.example"));
            u["displayName"] = json!(["Ann", "Zed", "Aaron", "ann"][(round + j) % 4]);
            assert_eq!(
                send(env.scim(Method::POST, "/Users").json(&u)).await.status,
                201
            );
        }
        for victim in [created.get(round * 7 % 30), seen.first()]
            .into_iter()
            .flatten()
        {
            if deleted.insert(victim.clone()) {
                let path = format!("/Users/{victim}");
                assert_eq!(send(env.scim(Method::DELETE, &path)).await.status, 204);
            }
        }
        round += 1;
        match text(&r.body["nextCursor"]) {
            Some(next) => cursor = next,
            None => break,
        }
    }
    let mut counts: HashMap<&String, usize> = HashMap::new();
    for id in &seen {
        *counts.entry(id).or_default() += 1;
    }
    assert!(counts.values().all(|&n| n == 1), "no row twice: {counts:?}");
    for id in created.iter().filter(|id| !deleted.contains(*id)) {
        assert!(
            counts.contains_key(id),
            "{id} existed throughout and was skipped"
        );
    }
}

#[tokio::test]
async fn search_endpoints_page_by_cursor_from_the_body() {
    let env = Env::new().await;
    seed(&env, 9).await;
    let member = env.create_user("zz@acme.example").await;
    for name in ["g1", "g2", "g3"] {
        env.create_group(name, &[member["id"].as_str().unwrap()])
            .await;
    }
    let expected = all_by_index(&env, "/Users", &[("sortBy", "displayName")]).await;
    let mut walked = Vec::new();
    let mut body = json!({"schemas": [SEARCH], "sortBy": "displayName", "count": 3, "cursor": ""});
    loop {
        let r = send(env.scim(Method::POST, "/Users/.search").json(&body)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        walked.extend(ids(&r));
        match text(&r.body["nextCursor"]) {
            Some(next) => body["cursor"] = json!(next),
            None => break,
        }
    }
    assert_eq!(walked, expected);

    // At the root, Users then Groups, forward and back, one total across both.
    let users = all_by_index(&env, "/Users", &[]).await;
    let groups = all_by_index(&env, "/Groups", &[]).await;
    let mut body = json!({"schemas": [SEARCH], "count": 4, "cursor": "", "attributes": ["id"]});
    let mut pages = Vec::new();
    let mut r = loop {
        let r = send(env.scim(Method::POST, "/.search").json(&body)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["totalResults"], users.len() + groups.len());
        pages.push(ids(&r));
        match text(&r.body["nextCursor"]) {
            Some(next) => body["cursor"] = json!(next),
            None => break r,
        }
    };
    assert_eq!(pages.concat(), [users.clone(), groups.clone()].concat());
    let mut back = vec![pages.last().unwrap().clone()];
    while let Some(previous) = text(&r.body["previousCursor"]) {
        body["cursor"] = json!(previous);
        r = send(env.scim(Method::POST, "/.search").json(&body)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        back.push(ids(&r));
    }
    back.reverse();
    assert_eq!(back, pages);

    // Types interleaved by a common sortBy page by index only.
    let sorted = json!({"schemas": [SEARCH], "sortBy": "displayName", "cursor": ""});
    send(env.scim(Method::POST, "/.search").json(&sorted))
        .await
        .assert_scim_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn bad_cursors_are_refused_with_the_rfc_errors() {
    let env = Env::new().await;
    seed(&env, 6).await;
    let first = get(
        &env,
        "/Users",
        &[("count", "2"), ("cursor", ""), ("sortBy", "userName")],
    )
    .await;
    let next = text(&first.body["nextCursor"]).unwrap();
    let ok = get(
        &env,
        "/Users",
        &[("count", "2"), ("cursor", &next), ("sortBy", "userName")],
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);

    let invalid = |query: Vec<(&'static str, String)>| {
        let env = &env;
        async move {
            let r = send(env.scim(Method::GET, "/Users").query(&query)).await;
            r.assert_scim_error(400, Some("invalidCursor"));
        }
    };
    invalid(vec![("cursor", "garbage".into())]).await;
    invalid(vec![
        ("cursor", "%%%".into()),
        ("sortBy", "userName".into()),
    ])
    .await;
    // Edited: any changed character.
    let mut edited = next.clone().into_bytes();
    let middle = edited.len() / 2;
    edited[middle] = if edited[middle] == b'A' { b'B' } else { b'A' };
    invalid(vec![
        ("cursor", String::from_utf8(edited).unwrap()),
        ("sortBy", "userName".into()),
    ])
    .await;
    // Another query: another order, another filter, the other resource type.
    invalid(vec![
        ("cursor", next.clone()),
        ("sortBy", "displayName".into()),
    ])
    .await;
    invalid(vec![
        ("cursor", next.clone()),
        ("sortBy", "userName".into()),
        ("sortOrder", "descending".into()),
    ])
    .await;
    invalid(vec![
        ("cursor", next.clone()),
        ("sortBy", "userName".into()),
        ("filter", "userName pr".into()),
    ])
    .await;
    let groups = send(
        env.scim(Method::GET, "/Groups")
            .query(&[("cursor", next.as_str()), ("sortBy", "displayName")]),
    )
    .await;
    groups.assert_scim_error(400, Some("invalidCursor"));
    // Another token of the same org.
    let r = send(
        env.admin(Method::POST, "/scim/tokens")
            .json(&json!({"label": "second"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let other = r.body["token"].as_str().unwrap();
    let r = send(
        env.http
            .get(env.scim_url("/Users"))
            .bearer_auth(other)
            .query(&[("cursor", next.as_str()), ("sortBy", "userName")]),
    )
    .await;
    r.assert_scim_error(400, Some("invalidCursor"));
    // Both paging methods at once.
    let both = get(&env, "/Users", &[("cursor", ""), ("startIndex", "1")]).await;
    both.assert_scim_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn a_cursor_older_than_the_timeout_is_expired() {
    let env = Env::new().await;
    seed(&env, 3).await;
    // The server's cursor clock is the test's: no waiting on the wall clock.
    let clock = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(1_800_000_000));
    let cfg = ServerConfig {
        cursor_timeout_secs: 0,
        cursor_clock: Some(clock.clone()),
        ..ServerConfig::default()
    };
    let server = Server::start_with(&env.db, cfg).await;
    let url = scim_url(&server, &env.org.uid, "/Users");
    let get = |cursor: String| {
        send(
            env.http
                .get(&url)
                .bearer_auth(&env.org.scim_token)
                .query(&[("count", "1".to_string()), ("cursor", cursor)]),
        )
    };
    let first = get(String::new()).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let spc = send(
        env.http
            .get(url.replace("/Users", "/ServiceProviderConfig"))
            .bearer_auth(&env.org.scim_token),
    )
    .await;
    assert_eq!(spc.body["pagination"]["cursorTimeout"], 0);
    // Whole seconds: a second later the cursor is older than a timeout of 0.
    clock.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let r = get(text(&first.body["nextCursor"]).unwrap()).await;
    r.assert_scim_error(400, Some("expiredCursor"));
    server.stop().await;
}

#[tokio::test]
async fn count_zero_gives_the_total_alone_and_the_last_page_has_no_next() {
    let env = Env::new().await;
    seed(&env, 5).await;
    let r = get(&env, "/Users", &[("cursor", ""), ("count", "0")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["totalResults"], 5);
    assert_eq!(r.body["itemsPerPage"], 0);
    assert_eq!(r.body["Resources"], json!([]));
    assert!(r.body.get("nextCursor").is_none() && r.body.get("previousCursor").is_none());
    let r = get(&env, "/Users", &[("cursor", ""), ("count", "5")]).await;
    assert_eq!(ids(&r).len(), 5);
    assert!(
        r.body.get("nextCursor").is_none(),
        "exactly one page: {}",
        r.body
    );
    let r = get(
        &env,
        "/Users",
        &[("cursor", ""), ("filter", "userName eq \"nobody\"")],
    )
    .await;
    assert_eq!((r.status, r.body["totalResults"].clone()), (200, json!(0)));
    assert!(r.body.get("nextCursor").is_none());
    // Without a cursor parameter, index paging as before.
    let r = get(&env, "/Users", &[("count", "2")]).await;
    assert_eq!(r.body["startIndex"], 1);
    assert!(r.body.get("nextCursor").is_none());
}

#[tokio::test]
async fn service_provider_config_advertises_both_paging_methods() {
    let env = Env::new().await;
    let r = get(&env, "/ServiceProviderConfig", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body["pagination"],
        json!({
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": 100,
            "maxPageSize": 200,
            "cursorTimeout": 3600
        })
    );
}
