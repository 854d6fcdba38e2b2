//! Approvals racing IdP changes: an approver approves the version it saw while the IdP, at
//! the same moment, raises or lowers the same member's access. Whatever the interleaving,
//! nobody is granted what the approver did not see, revocation never waits, and the request
//! left over holds exactly what is still to be decided.
//!
//! (The other two races of issue 7 live beside the features they race: eight clients
//! PATCHing one group in `http_scim_patch.rs`, duplicate creates in `http_durability.rs`.)

mod access_support;
mod common;

use access_support::*;
use common::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;

const MEMBERS: usize = 8;

type Roles = BTreeSet<(String, String)>;

fn roles(access: &Value) -> Roles {
    stack_roles(access).into_iter().collect()
}

fn gains(request: &Value) -> Roles {
    request["diff"]["stack_gains"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|g| {
                    (
                        g["stack_uid"].as_str().unwrap().to_string(),
                        g["role_uid"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

struct Setup {
    env: Arc<Env>,
    web: String,
    devs: String,
    content: String,
    members: Vec<String>,
    /// Each member's open access_increase request (id), at version 1, asking for developer.
    requests: Vec<String>,
}

async fn setup() -> Setup {
    let env = Env::new().await;
    set_policy(&env, json!({"provision": false})).await;
    let web = new_stack(&env, "Web").await;
    let devs = mapped_group(&env, "Developers", "member", &[(&web, "developer")]).await;
    let content = mapped_group(&env, "Editors", "member", &[(&web, "content_manager")]).await;
    let mut members = Vec::new();
    let mut requests = Vec::new();
    for i in 0..MEMBERS {
        let id = new_user(&env, &format!("racer{i}@acme.example")).await;
        add_member(&env, &devs, &id).await;
        let m = member(&env, &id).await;
        assert_eq!(m["request"]["kind"], "access_increase");
        assert_eq!(m["request"]["version"], 1);
        assert!(roles(&m["granted"]).is_empty());
        requests.push(m["request"]["id"].as_str().unwrap().to_string());
        members.push(id);
    }
    Setup {
        env: Arc::new(env),
        web,
        devs,
        content,
        members,
        requests,
    }
}

/// For every member at once: approve version 1 (developer) while the IdP adds the member to
/// Editors (content_manager), which bumps the request to version 2.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn approving_while_the_idp_raises_access_grants_only_what_was_seen() {
    let s = setup().await;
    let mut tasks = Vec::new();
    for (id, req) in s.members.iter().zip(&s.requests) {
        let (env, req) = (s.env.clone(), req.clone());
        let approving = tokio::spawn(async move { approve(&env, &req, 1).await });
        let (env, content, id2) = (s.env.clone(), s.content.clone(), id.clone());
        let raising = tokio::spawn(async move { add_member(&env, &content, &id2).await });
        tasks.push((id.clone(), approving, raising));
    }
    let dev = pair(&s.web, "developer");
    let cm = pair(&s.web, "content_manager");
    let mut outcomes = (0, 0);
    for (id, approving, raising) in tasks {
        let r = approving.await.unwrap();
        raising.await.unwrap();
        let m = member(&s.env, &id).await;
        let granted = roles(&m["granted"]);
        assert_eq!(
            roles(&m["requested"]),
            Roles::from([dev.clone(), cm.clone()]),
            "{m}"
        );
        match r.status {
            // Approved before the change: exactly developer, and the new gain waits.
            200 => {
                outcomes.0 += 1;
                assert_eq!(granted, Roles::from([dev.clone()]), "{m}");
            }
            // The change came first: nothing granted, and the 409 shows the new version.
            409 => {
                outcomes.1 += 1;
                assert!(granted.is_empty(), "granted without approval: {m}");
                assert_eq!(r.body["request"]["version"], 2, "{}", r.body);
            }
            other => panic!("approve answered {other}: {}", r.body),
        }
        // The open request holds exactly what is still to be decided.
        let rest: Roles = roles(&m["requested"])
            .difference(&granted)
            .cloned()
            .collect();
        assert_eq!(gains(&m["request"]), rest, "{m}");
        assert!(
            !granted.contains(&cm),
            "content_manager granted unseen: {m}"
        );

        // Approving the request as it now is grants the rest.
        let version = m["request"]["version"].as_u64().unwrap();
        let r = approve(&s.env, m["request"]["id"].as_str().unwrap(), version).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let m = member(&s.env, &id).await;
        assert_eq!(roles(&m["granted"]), roles(&m["requested"]), "{m}");
        assert_eq!(m["request"], Value::Null);
    }
    assert_eq!(outcomes.0 + outcomes.1, MEMBERS);
    eprintln!(
        "{} approvals won the race, {} lost it to the IdP",
        outcomes.0, outcomes.1
    );
    assert!(pending(&s.env).await.is_empty());
}

/// For every member at once: approve version 1 (developer) while the IdP removes the member
/// from Developers. Whichever wins, the member ends with nothing and no open request.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn approving_while_the_idp_lowers_access_never_outlives_the_removal() {
    let s = setup().await;
    let mut tasks = Vec::new();
    for (id, req) in s.members.iter().zip(&s.requests) {
        let (env, req) = (s.env.clone(), req.clone());
        let approving = tokio::spawn(async move { approve(&env, &req, 1).await });
        let (env, devs, id2) = (s.env.clone(), s.devs.clone(), id.clone());
        let lowering = tokio::spawn(async move { remove_member(&env, &devs, &id2).await });
        tasks.push((id.clone(), approving, lowering));
    }
    for (id, approving, lowering) in tasks {
        let r = approving.await.unwrap();
        lowering.await.unwrap();
        assert!(
            r.status == 200 || r.status == 409,
            "approve answered {}: {}",
            r.status,
            r.body
        );
        let m = member(&s.env, &id).await;
        assert!(
            roles(&m["granted"]).is_empty(),
            "access outlived the removal: {m}"
        );
        assert!(roles(&m["requested"]).is_empty(), "{m}");
        assert_eq!(m["request"], Value::Null, "{m}");
    }
    assert!(pending(&s.env).await.is_empty());
}
