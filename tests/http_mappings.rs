//! Roles, stacks, groups and group mappings over HTTP: validation, the preview and what a
//! save applies at once.

mod access_support;
mod common;

use access_support::*;
use common::*;
use reqwest::Method;
use scimdesk::store::prelude::*;
use serde_json::{Value, json};

#[tokio::test]
async fn roles_and_stacks_with_builtin_and_custom_roles() {
    let env = Env::new().await;
    let r = send(env.admin(Method::GET, "/roles")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["total"], 3);
    let owner = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["uid"] == "owner")
        .unwrap()
        .clone();
    assert_eq!(owner["mappable"], false);

    let r = send(
        env.admin(Method::POST, "/stacks")
            .json(&json!({"name": "Mobile App"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let uid = r.body["uid"].as_str().unwrap().to_string();
    let builtins: Vec<&str> = r.body["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["uid"].as_str().unwrap())
        .collect();
    assert_eq!(builtins, vec!["admin", "developer", "content_manager"]);
    assert_eq!(r.body["roles"][2]["name"], "Content Manager");

    let r = send(
        env.admin(Method::POST, &format!("/stacks/{uid}/roles"))
            .json(&json!({"name": "Translator"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["builtin"], false);
    assert_eq!(r.body["name"], "Translator");
    let r = send(env.admin(Method::GET, &format!("/stacks/{uid}/roles"))).await;
    assert_eq!(r.body["total"], 4);
    let r = send(env.admin(Method::GET, "/stacks")).await;
    assert_eq!(r.body["items"][0]["name"], "Mobile App");
    assert_eq!(r.body["items"][0]["roles"].as_array().unwrap().len(), 4);

    assert_eq!(
        send(env.admin(Method::GET, "/stacks/nope/roles"))
            .await
            .status,
        404
    );
    let r = send(
        env.admin(Method::POST, "/stacks")
            .json(&json!({"name": " "})),
    )
    .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn a_mapping_names_what_is_wrong_with_it() {
    let env = Env::new().await;
    let web = new_stack(&env, "Web").await;
    let g = env.create_group("Developers", &[]).await;
    let gid = g["id"].as_str().unwrap();

    let r = put_mapping(&env, gid, "member", &[("ghost", "developer")]).await;
    assert_eq!(r.status, 400);
    assert!(
        r.body["message"].as_str().unwrap().contains("ghost"),
        "{}",
        r.body
    );
    let r = put_mapping(&env, gid, "member", &[(&web, "wizard")]).await;
    assert_eq!(r.status, 400);
    assert!(
        r.body["message"].as_str().unwrap().contains("wizard"),
        "{}",
        r.body
    );
    let r = put_mapping(&env, gid, "owner", &[]).await;
    assert_eq!(r.status, 400);
    assert!(
        r.body["message"].as_str().unwrap().contains("Owner"),
        "{}",
        r.body
    );
    let r = put_mapping(&env, gid, "superuser", &[]).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        put_mapping(&env, "no-such-group", "member", &[])
            .await
            .status,
        404
    );
    let r = send(env.admin(Method::GET, &format!("/group-mappings/{gid}"))).await;
    assert_eq!(r.status, 404, "no mapping yet");

    let r = put_mapping(&env, gid, "admin", &[(&web, "developer")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["group_name"], "Developers");
    assert_eq!(r.body["org_role"], "admin");
    assert_eq!(r.body["stack_roles"][0]["stack_name"], "Web");
    assert_eq!(r.body["updated_by"], "owner@acme.example");
    assert_eq!(
        r.body["applied"],
        json!({"granted_changes": 0, "pending_changes": 0})
    );
    let got = send(env.admin(Method::GET, &format!("/group-mappings/{gid}"))).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["stack_roles"], r.body["stack_roles"]);

    let groups = send(env.admin(Method::GET, "/groups?filter=velop")).await;
    assert_eq!(groups.body["total"], 1);
    assert_eq!(groups.body["items"][0]["mapping"]["org_role"], "admin");
    let none = send(env.admin(Method::GET, "/groups?filter=zzz")).await;
    assert_eq!(none.body["total"], 0);

    let r = send(env.admin(Method::DELETE, &format!("/group-mappings/{gid}"))).await;
    assert_eq!(r.status, 204);
    let r = send(env.admin(Method::GET, &format!("/group-mappings/{gid}"))).await;
    assert_eq!(r.status, 404);
    let r = send(env.admin(Method::DELETE, &format!("/group-mappings/{gid}"))).await;
    assert_eq!(r.status, 404);

    let audit = env.audit().await;
    let update = audit.iter().find(|a| a.1 == "mapping.update").unwrap();
    assert_eq!(update.0, "owner@acme.example");
    assert!(audit.iter().any(|a| a.1 == "mapping.delete"));
}

fn emails(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|i| i["email"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn preview_shows_what_a_save_applies_and_the_save_applies_exactly_that() {
    let env = Env::new().await;
    let web = new_stack(&env, "Web").await;
    let g = env.create_group("Developers", &[]).await;
    let gid = g["id"].as_str().unwrap().to_string();
    // Ann is active (joined while provision approval was off); Ben waits for approval.
    set_policy(&env, json!({"provision": false})).await;
    let ann = new_user(&env, "ann@acme.example").await;
    set_policy(&env, json!({"provision": true})).await;
    let ben = new_user(&env, "ben@acme.example").await;
    add_member(&env, &gid, &ann).await;
    add_member(&env, &gid, &ben).await;
    let ben_req = member(&env, &ben).await["request"].clone();
    assert_eq!(ben_req["version"], 1, "an unmapped group changes nothing");

    let body = mapping_body("admin", &[(&web, "developer")]);
    let r = send(
        env.admin(Method::POST, &format!("/group-mappings/{gid}/preview"))
            .json(&body),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(emails(&r.body["granted_changes"]), vec!["ann@acme.example"]);
    assert_eq!(
        r.body["granted_changes"][0]["diff"]["stack_gains"][0]["role_uid"],
        "developer"
    );
    assert_eq!(emails(&r.body["pending_changes"]), vec!["ben@acme.example"]);
    let pc = &r.body["pending_changes"][0];
    assert_eq!(pc["request_id"], ben_req["id"]);
    assert_eq!(pc["before"]["org_role_to"], "member");
    assert_eq!(pc["after"]["org_role_to"], "admin");
    let counts = &r.body["counts"];
    assert_eq!(counts["members"], 2);
    assert_eq!(counts["granted_changes"], 1);
    assert_eq!(counts["pending_changes"], 1);
    let admin_count = counts["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["role"] == json!({"org_role": "admin"}))
        .unwrap();
    assert_eq!(
        (admin_count["gain"].clone(), admin_count["lose"].clone()),
        (json!(2), json!(0))
    );

    // The preview wrote nothing.
    assert_eq!(member(&env, &ann).await["granted"]["org_role"], "member");
    assert_eq!(member(&env, &ben).await["request"]["version"], 1);

    // The save is an admin decision: Ann gets it at once, Ben's request shows it.
    let r = send(
        env.admin(Method::PUT, &format!("/group-mappings/{gid}"))
            .json(&body),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["applied"],
        json!({"granted_changes": 1, "pending_changes": 1})
    );
    let a = member(&env, &ann).await;
    assert_eq!(a["granted"]["org_role"], "admin");
    assert_eq!(stack_roles(&a["granted"]), vec![pair(&web, "developer")]);
    assert_eq!(a["request"], Value::Null, "an admin edit opens no request");
    let b = member(&env, &ben).await;
    assert_eq!(b["state"], "pending");
    assert_eq!(b["request"]["version"], 2);
    assert_eq!(b["request"]["diff"]["org_role_to"], "admin");

    // Deleting the mapping lowers at once too; its preview says so first.
    let r = send(
        env.admin(Method::POST, &format!("/group-mappings/{gid}/preview"))
            .json(&json!({"delete": true})),
    )
    .await;
    assert_eq!(r.body["counts"]["granted_changes"], 1);
    assert_eq!(r.body["counts"]["pending_changes"], 1);
    let r = send(env.admin(Method::DELETE, &format!("/group-mappings/{gid}"))).await;
    assert_eq!(r.status, 204);
    let a = member(&env, &ann).await;
    assert_eq!(a["granted"]["org_role"], "member");
    assert!(stack_roles(&a["granted"]).is_empty());
    assert_eq!(member(&env, &ben).await["request"]["version"], 3);
}

#[tokio::test]
async fn unknown_stacks_in_a_preview_are_refused_like_a_save() {
    let env = Env::new().await;
    let g = env.create_group("Ops", &[]).await;
    let gid = g["id"].as_str().unwrap();
    let r = send(
        env.admin(Method::POST, &format!("/group-mappings/{gid}/preview"))
            .json(&mapping_body("member", &[("ghost", "admin")])),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.body["message"].as_str().unwrap().contains("ghost"));
    let r = send(
        env.admin(Method::POST, "/group-mappings/missing/preview")
            .json(&mapping_body("member", &[])),
    )
    .await;
    assert_eq!(r.status, 404);
}

/// The whole org's effective access (the access benchmark's store call) agrees with what
/// `/users` shows as requested, member by member; members of no mapped group are absent.
#[tokio::test]
async fn org_effective_access_matches_each_members_requested_access() {
    let env = Env::new().await;
    let web = new_stack(&env, "Web").await;
    let api = new_stack(&env, "Api").await;
    let devs = mapped_group(&env, "Developers", "member", &[(&web, "developer")]).await;
    let admins = mapped_group(
        &env,
        "Admins",
        "admin",
        &[(&web, "admin"), (&api, "content_manager")],
    )
    .await;
    let plain = env.create_group("Unmapped", &[]).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let ann = new_user(&env, "ann@acme.example").await;
    let bob = new_user(&env, "bob@acme.example").await;
    let cy = new_user(&env, "cy@acme.example").await;
    let dee = new_user(&env, "dee@acme.example").await;
    add_member(&env, &devs, &ann).await;
    add_member(&env, &devs, &bob).await;
    add_member(&env, &admins, &bob).await;
    add_member(&env, &plain, &cy).await;
    add_member(&env, &admins, &dee).await;
    add_member(&env, &plain, &dee).await;

    let org = env
        .server
        .store
        .org_by_uid(&env.org.uid)
        .await
        .unwrap()
        .unwrap();
    let all = env.server.store.org_effective_access(org.id).await.unwrap();
    let mut ids: Vec<&String> = all.keys().collect();
    ids.sort();
    let mut want = vec![&ann, &bob, &dee];
    want.sort();
    assert_eq!(ids, want, "only members of mapped groups");
    assert_eq!(all[&bob].org_role.as_str(), "admin");
    assert_eq!(all[&ann].org_role.as_str(), "member");
    for id in [&ann, &bob, &dee] {
        let requested = &member(&env, id).await["requested"];
        assert_eq!(requested["org_role"], all[id].org_role.as_str(), "{id}");
        let mut got: Vec<(String, String)> = all[id]
            .stack_roles
            .iter()
            .map(|s| (s.stack_uid.clone(), s.role_uid.clone()))
            .collect();
        got.sort();
        let mut shown = stack_roles(requested);
        shown.sort();
        assert_eq!(got, shown, "{id}");
    }
    assert_eq!(all[&bob].stack_roles.len(), 3);
}

/// PATCH renames a stack or a custom role: mappings name them by uid, so the new names show
/// at once; a built-in role keeps its name (409); each rename is audited with before/after.
#[tokio::test]
async fn stacks_and_custom_roles_are_renamed_and_built_in_roles_are_not() {
    let env = Env::new().await;
    let web = new_stack(&env, "Web").await;
    let r = send(
        env.admin(Method::POST, &format!("/stacks/{web}/roles"))
            .json(&json!({"name": "Reviewer"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let reviewer = r.body["uid"].as_str().unwrap().to_string();
    let g = mapped_group(&env, "Editors", "member", &[(&web, &reviewer)]).await;

    let r = send(
        env.admin(Method::PATCH, &format!("/stacks/{web}"))
            .json(&json!({"name": " Web Platform "})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["name"], "Web Platform");
    assert_eq!(r.body["uid"], web.as_str());
    assert_eq!(r.body["roles"].as_array().unwrap().len(), 4);
    let r = send(
        env.admin(Method::PATCH, &format!("/stacks/{web}/roles/{reviewer}"))
            .json(&json!({"name": "Content Reviewer"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["name"], "Content Reviewer");
    assert_eq!(r.body["builtin"], false);

    let r = send(env.admin(Method::GET, &format!("/group-mappings/{g}"))).await;
    assert_eq!(
        r.body["stack_roles"][0]["stack_name"], "Web Platform",
        "{}",
        r.body
    );
    assert_eq!(r.body["stack_roles"][0]["role_name"], "Content Reviewer");

    let r = send(
        env.admin(Method::PATCH, &format!("/stacks/{web}/roles/developer"))
            .json(&json!({"name": "Coder"})),
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(
        r.body["message"].as_str().unwrap().contains("built-in"),
        "{}",
        r.body
    );
    for (path, body) in [
        ("/stacks/st_nope".to_string(), json!({"name": "X"})),
        (
            format!("/stacks/{web}/roles/role_nope"),
            json!({"name": "X"}),
        ),
    ] {
        let r = send(env.admin(Method::PATCH, &path).json(&body)).await;
        assert_eq!(r.status, 404, "{path}: {}", r.body);
    }
    let r = send(
        env.admin(Method::PATCH, &format!("/stacks/{web}"))
            .json(&json!({"name": "  "})),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);

    let r = send(env.admin(Method::GET, "/audit?action=stack")).await;
    let events = r.body["items"].as_array().unwrap();
    let renamed = events
        .iter()
        .find(|e| e["action"] == "stack.update")
        .expect("stack.update audited");
    assert_eq!(renamed["before"]["name"], "Web");
    assert_eq!(renamed["after"]["name"], "Web Platform");
    assert_eq!(renamed["actor"], "owner@acme.example");
    let role = events
        .iter()
        .find(|e| e["action"] == "stack.role.update")
        .expect("stack.role.update audited");
    assert_eq!(role["before"]["name"], "Reviewer");
    assert_eq!(role["after"]["name"], "Content Reviewer");
}
