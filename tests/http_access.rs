//! Members over HTTP: the `/users` list, explanations of access, admin removal, and the
//! readOnly provisioning extension on SCIM Users.

mod access_support;
mod common;

use access_support::*;
use common::*;
use reqwest::Method;
use serde_json::{Value, json};

const PROVISIONING: &str = "urn:scimdesk:params:scim:schemas:extension:provisioning:2.0:User";

fn emails(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn users_are_listed_by_email_with_filter_state_and_paging() {
    let env = Env::new().await;
    for name in ["dan", "amy", "cat", "bob"] {
        new_user(&env, &format!("{name}@acme.example")).await;
    }
    let r = send(env.admin(Method::GET, "/users?limit=2")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["total"], 5, "the owner is a member too");
    assert_eq!(
        emails(&r.body),
        vec!["amy@acme.example", "bob@acme.example"]
    );
    let next = r.body["next"].as_str().unwrap().to_string();
    let r = send(
        env.admin(Method::GET, "/users")
            .query(&[("limit", "2"), ("cursor", next.as_str())]),
    )
    .await;
    assert_eq!(
        emails(&r.body),
        vec!["cat@acme.example", "dan@acme.example"]
    );
    let next = r.body["next"].as_str().unwrap().to_string();
    let r = send(
        env.admin(Method::GET, "/users")
            .query(&[("limit", "2"), ("cursor", next.as_str())]),
    )
    .await;
    assert_eq!(emails(&r.body), vec!["owner@acme.example"]);
    assert_eq!(r.body["next"], Value::Null);

    let r = send(env.admin(Method::GET, "/users?filter=CA")).await;
    assert_eq!(emails(&r.body), vec!["cat@acme.example"]);
    assert_eq!(r.body["total"], 1);
    let r = send(env.admin(Method::GET, "/users?state=pending")).await;
    assert_eq!(r.body["total"], 4);
    let first = &r.body["items"][0];
    assert_eq!(first["source"], "scim");
    assert_eq!(first["request"]["kind"], "provision");
    assert_eq!(first["requested"]["org_role"], "member");
    let r = send(env.admin(Method::GET, "/users?state=active")).await;
    assert_eq!(emails(&r.body), vec!["owner@acme.example"]);
    assert_eq!(r.body["items"][0]["source"], "manual");
    assert_eq!(r.body["items"][0]["granted"]["org_role"], "owner");
    // The filter matches the email or the SCIM displayName, in any case; the total counts
    // the same members the pages list, with the state too.
    let r = send(env.scim(Method::POST, "/Users").json(&json!({
        "schemas": [USER_SCHEMA],
        "userName": "eve@acme.example",
        "displayName": "Eve Catterall",
        "active": true,
    })))
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = send(env.admin(Method::GET, "/users?filter=cAt")).await;
    assert_eq!(
        emails(&r.body),
        vec!["cat@acme.example", "eve@acme.example"]
    );
    assert_eq!(r.body["total"], 2);
    let r = send(env.admin(Method::GET, "/users?filter=cat&state=pending&limit=1")).await;
    assert_eq!(emails(&r.body), vec!["cat@acme.example"]);
    assert_eq!(r.body["total"], 2);
    let r = send(env.admin(Method::GET, "/users?filter=cat&state=active")).await;
    assert_eq!(r.body["total"], 0);
    let r = send(env.admin(Method::GET, "/users?filter=%25")).await;
    assert_eq!(r.body["total"], 0, "LIKE wildcards are matched literally");
    assert_eq!(
        send(env.admin(Method::GET, "/users?state=asleep"))
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn access_explains_every_role_by_the_groups_that_grant_it() {
    let env = Env::new().await;
    set_policy(&env, json!({"provision": false, "access_increase": false})).await;
    let web = new_stack(&env, "Web").await;
    let devs = mapped_group(&env, "Developers", "member", &[(&web, "developer")]).await;
    let leads = mapped_group(
        &env,
        "Leads",
        "admin",
        &[(&web, "developer"), (&web, "admin")],
    )
    .await;
    let ann = new_user(&env, "ann@acme.example").await;
    add_member(&env, &devs, &ann).await;
    add_member(&env, &leads, &ann).await;

    let r = send(env.admin(Method::GET, &format!("/users/{ann}/access"))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["member"]["email"], "ann@acme.example");
    let roles = r.body["roles"].as_array().unwrap();
    let find = |role: Value| {
        roles
            .iter()
            .find(|x| x["role"] == role)
            .unwrap_or_else(|| panic!("{role} in {roles:?}"))
            .clone()
    };
    let admin = find(json!({"org_role": "admin"}));
    assert_eq!(admin["granted"], true);
    assert_eq!(admin["requested"], true);
    assert_eq!(
        admin["via"],
        json!([{"kind": "group", "group_id": leads, "group_name": "Leads"}])
    );
    let dev = roles
        .iter()
        .find(|x| x["role"]["role_uid"] == "developer")
        .unwrap();
    assert_eq!(dev["role"]["stack_name"], "Web");
    let via: Vec<&str> = dev["via"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["group_name"].as_str().unwrap())
        .collect();
    assert_eq!(via, vec!["Developers", "Leads"]);

    // The owner's role is manual.
    let owner = send(env.admin(Method::GET, "/users?state=active&filter=owner")).await;
    let oid = owner.body["items"][0]["id"].as_str().unwrap().to_string();
    let r = send(env.admin(Method::GET, &format!("/users/{oid}/access"))).await;
    assert_eq!(r.body["roles"][0]["role"], json!({"org_role": "owner"}));
    assert_eq!(r.body["roles"][0]["via"], json!([{"kind": "manual"}]));
    assert_eq!(
        send(env.admin(Method::GET, "/users/nobody/access"))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn admin_removal_warns_hides_the_user_from_the_idp_and_needs_approval_to_return() {
    let env = Env::new().await;
    set_policy(&env, json!({"provision": false})).await;
    let kim = new_user(&env, "kim@acme.example").await;
    let r = send(env.admin(Method::DELETE, &format!("/users/{kim}"))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["member"]["state"], "removed");
    assert_eq!(r.body["member"]["granted"], Value::Null);
    assert_eq!(r.body["warnings"][0]["code"], "idp_managed");

    let u = send(env.scim(Method::GET, &format!("/Users/{kim}"))).await;
    assert_eq!(u.status, 200, "the SCIM User stays visible");
    assert_eq!(u.body["active"], false);
    let u = send(
        env.scim(Method::GET, &format!("/Users/{kim}"))
            .query(&[("attributes", PROVISIONING)]),
    )
    .await;
    assert_eq!(u.body[PROVISIONING]["state"], "removed");

    // The IdP turns her on again: she asks to join again, whatever the provision policy.
    set_policy(&env, json!({"provision": true})).await;
    set_active(&env, &kim, true).await;
    let m = member(&env, &kim).await;
    assert_eq!(m["state"], "pending");
    assert_eq!(m["request"]["kind"], "provision");

    let audit = env.audit().await;
    let removal = audit.iter().find(|a| a.1 == "member.remove").unwrap();
    assert_eq!(removal.0, "owner@acme.example");
    assert_eq!(removal.3.as_ref().unwrap()["state"], "removed");

    let owner = send(env.admin(Method::GET, "/users?state=active&filter=owner")).await;
    let oid = owner.body["items"][0]["id"].as_str().unwrap().to_string();
    let r = send(env.admin(Method::DELETE, &format!("/users/{oid}"))).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        send(env.admin(Method::DELETE, "/users/nobody"))
            .await
            .status,
        404
    );
}

fn with_ext(rb: reqwest::RequestBuilder, attrs: &str) -> reqwest::RequestBuilder {
    rb.query(&[("attributes", attrs)])
}

#[tokio::test]
async fn scim_users_show_a_read_only_provisioning_extension_on_request() {
    let env = Env::new().await;
    let lu = new_user(&env, "lu@acme.example").await;
    let path = format!("/Users/{lu}");
    let r = send(with_ext(
        env.scim(Method::GET, &path),
        &format!("userName,{PROVISIONING}"),
    ))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body[PROVISIONING],
        json!({"state": "pending", "pendingRequest": true})
    );
    assert_eq!(r.body["userName"], "lu@acme.example");
    assert!(
        r.body["schemas"]
            .as_array()
            .unwrap()
            .contains(&json!(PROVISIONING))
    );
    let r = send(with_ext(
        env.scim(Method::GET, &path),
        &format!("{PROVISIONING}:state"),
    ))
    .await;
    assert_eq!(r.body[PROVISIONING]["state"], "pending");

    // Not asked for, not shown: the resource stays as the IdP wrote it.
    let r = send(env.scim(Method::GET, &path)).await;
    assert!(r.body.get(PROVISIONING).is_none());
    assert_eq!(r.body["schemas"], json!([USER_SCHEMA]));

    // Ignored on input: a PUT that sends it stores nothing of it.
    let mut body = user("lu@acme.example");
    body[PROVISIONING] = json!({"state": "active", "pendingRequest": false});
    let r = send(env.scim(Method::PUT, &path).json(&body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.get(PROVISIONING).is_none());
    let r = send(with_ext(env.scim(Method::GET, &path), PROVISIONING)).await;
    assert_eq!(r.body[PROVISIONING]["state"], "pending");

    // Lists carry it on request; a filter naming it is answered, not a server error.
    let r = send(with_ext(env.scim(Method::GET, "/Users"), PROVISIONING)).await;
    assert_eq!(r.body["Resources"][0][PROVISIONING]["pendingRequest"], true);
    let r = send(
        env.scim(Method::GET, "/Users")
            .query(&[("filter", format!("{PROVISIONING}:state eq \"active\""))]),
    )
    .await;
    assert!(r.status == 200 || r.status == 400, "{}", r.body);
    let r = send(
        env.scim(Method::GET, "/Users")
            .query(&[("filter", "userName sw \"lu\"")]),
    )
    .await;
    assert_eq!(r.body["totalResults"], 1);

    let s = send(env.scim(Method::GET, &format!("/Schemas/{PROVISIONING}"))).await;
    assert_eq!(s.status, 200);
    assert_eq!(s.body["attributes"][0]["mutability"], "readOnly");
    assert_eq!(s.body["attributes"][0]["returned"], "request");

    // Approval shows through.
    let req = pending(&env).await[0].clone();
    approve(
        &env,
        req["id"].as_str().unwrap(),
        req["version"].as_u64().unwrap(),
    )
    .await;
    let r = send(with_ext(env.scim(Method::GET, &path), PROVISIONING)).await;
    assert_eq!(
        r.body[PROVISIONING],
        json!({"state": "active", "pendingRequest": false})
    );
}

/// The `/users` filter of three characters or more is answered from a trigram index that
/// triggers keep: it follows displayName changes, userName changes (a new account), SCIM
/// deletes and admin removals, matches quotes and wildcards literally, and never counts
/// another org's members. Shorter filters take the scanning path; both agree.
#[tokio::test]
async fn the_users_filter_follows_every_change_to_names_and_emails() {
    let env = Env::new().await;
    let total = |body: &Value| body["total"].as_u64().unwrap();
    let find = |q: &'static str| {
        let rb = env.admin(Method::GET, "/users").query(&[("filter", q)]);
        async move { send(rb).await }
    };
    let r = send(env.scim(Method::POST, "/Users").json(&json!({
        "schemas": [USER_SCHEMA],
        "userName": "ann@acme.example",
        "displayName": "Ann \"Ace\" O'Hara 100%",
        "active": true,
    })))
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let ann = r.body["id"].as_str().unwrap().to_string();
    new_user(&env, "bob@acme.example").await;

    let r = find("o'hara").await;
    assert_eq!(emails(&r.body), vec!["ann@acme.example"]);
    let r = find("\"ace\"").await;
    assert_eq!(
        emails(&r.body),
        vec!["ann@acme.example"],
        "quotes are literal"
    );
    let r = find("100%").await;
    assert_eq!(total(&r.body), 1, "% is literal");
    let r = find("0%x").await;
    assert_eq!(total(&r.body), 0);
    // No match spans the email and the name.
    let r = find("pleAnn").await;
    assert_eq!(total(&r.body), 0);
    let r = find("acme.example").await;
    assert_eq!(total(&r.body), 3, "ann, bob and the owner");

    // A new displayName replaces the old one in the index.
    let r = send(
        env.scim(Method::PATCH, &format!("/Users/{ann}"))
            .json(&patch_op(
                json!([{"op": "replace", "path": "displayName", "value": "Annika Berg"}]),
            )),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(total(&find("o'hara").await.body), 0);
    assert_eq!(emails(&find("nika b").await.body), vec!["ann@acme.example"]);
    // A new userName (the membership moves to another account): the new email is found,
    // the old one is not.
    let r = send(
        env.scim(Method::PUT, &format!("/Users/{ann}"))
            .json(&json!({
                "schemas": [USER_SCHEMA],
                "userName": "annika@acme.example",
                "displayName": "Annika Berg",
                "active": true,
            })),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        emails(&find("annika@").await.body),
        vec!["annika@acme.example"]
    );
    assert_eq!(total(&find("ann@acme").await.body), 0);
    // Two characters take the scanning path and agree.
    assert_eq!(emails(&find("ik").await.body), vec!["annika@acme.example"]);

    // The Owner (a manual membership, indexed at once) provisioned by the IdP later: the
    // SCIM User's name joins the same entry.
    let r = send(env.scim(Method::POST, "/Users").json(&json!({
        "schemas": [USER_SCHEMA],
        "userName": "owner@acme.example",
        "displayName": "Olga Owner",
        "active": true,
    })))
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(emails(&find("olga").await.body), vec!["owner@acme.example"]);
    assert_eq!(total(&find("acme.example").await.body), 3);

    // Another org's members with the same names are never counted here.
    let other = new_org(&env.server, &env.http, "Other", "owner@other.example").await;
    let r = send(
        env.http
            .post(scim_url(&env.server, &other.uid, "/Users"))
            .bearer_auth(&other.scim_token)
            .json(&json!({
                "schemas": [USER_SCHEMA],
                "userName": "annika@other.example",
                "displayName": "Annika Berg",
                "active": true,
            })),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(total(&find("annika").await.body), 1);

    // Deleting the SCIM User ends the membership; the index keeps matching its email only
    // while the membership is listed, and the row's name is gone.
    let r = send(env.scim(Method::DELETE, &format!("/Users/{ann}"))).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let listed = find("annika@").await;
    let by_name = find("nika b").await;
    assert_eq!(total(&listed.body), emails(&listed.body).len() as u64);
    assert_eq!(total(&by_name.body), emails(&by_name.body).len() as u64);
}

/// `sort` and `order` page the whole list in that order (email breaking ties), following
/// the cursor to the end; bad values are 400s that say what to use.
#[tokio::test]
async fn users_sort_by_name_state_and_created_both_ways_across_pages() {
    let env = Env::new().await;
    let people = [
        ("dan@acme.example", "Zoe Dan"),
        ("amy@acme.example", "Bea Amy"),
        ("cat@acme.example", "Ann Cat"),
        ("bob@acme.example", "Ann Bob"),
        ("eve@acme.example", "Cy Eve"),
    ];
    let mut ids = Vec::new();
    for (email, name) in people {
        let mut u = user(email);
        u["displayName"] = json!(name);
        let r = send(env.scim(Method::POST, "/Users").json(&u)).await;
        assert_eq!(r.status, 201, "{}", r.body);
        ids.push(r.body["id"].as_str().unwrap().to_string());
    }
    // One approved, so states differ (provisioning waits for approval by default).
    let pending = pending(&env).await;
    let r = pending
        .iter()
        .find(|r| r["member"]["email"] == "eve@acme.example")
        .unwrap();
    let r = approve(
        &env,
        r["id"].as_str().unwrap(),
        r["version"].as_u64().unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let walk = |query: &'static str| {
        let env = &env;
        async move {
            let mut out = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let mut url = format!("/users?limit=2&{query}");
                if let Some(c) = &cursor {
                    url.push_str("&cursor=");
                    url.push_str(&urlencode(c));
                }
                let r = send(env.admin(Method::GET, &url)).await;
                assert_eq!(r.status, 200, "{url}: {}", r.body);
                assert_eq!(r.body["total"], 6, "the owner and five: {}", r.body);
                out.extend(emails(&r.body));
                match r.body["next"].as_str() {
                    Some(c) => cursor = Some(c.to_string()),
                    None => break,
                }
            }
            out
        }
    };
    let names = walk("sort=name").await;
    // The owner has no SCIM display name: '' sorts first.
    assert_eq!(
        names,
        [
            "owner@acme.example",
            "bob@acme.example",
            "cat@acme.example",
            "amy@acme.example",
            "eve@acme.example",
            "dan@acme.example"
        ]
    );
    let mut back = walk("sort=name&order=desc").await;
    back.reverse();
    assert_eq!(back, names, "desc is asc backwards");
    let by_state = walk("sort=state").await;
    assert_eq!(
        &by_state[..2],
        ["eve@acme.example", "owner@acme.example"],
        "active first (then pending), by email within a state"
    );
    let created = walk("sort=created").await;
    assert_eq!(created[0], "owner@acme.example");
    let mut emails_desc = walk("order=desc").await;
    emails_desc.reverse();
    assert_eq!(
        emails_desc,
        walk("").await,
        "email desc is email asc backwards"
    );
    for (q, word) in [
        ("sort=age", "sort"),
        ("order=up", "order"),
        ("sort=name&cursor=bob@acme.example", "cursor"),
    ] {
        let r = send(env.admin(Method::GET, &format!("/users?{q}"))).await;
        assert_eq!(r.status, 400, "{q}: {}", r.body);
        assert!(
            r.body["message"].as_str().unwrap().starts_with(word),
            "{}",
            r.body
        );
    }
    let _ = ids;
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
