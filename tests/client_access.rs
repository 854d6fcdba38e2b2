//! The typed admin client on the real access routes: stacks, groups, mappings with preview,
//! members, the approval queue (approve, reject, the 409 with the refreshed request) and
//! removal.

mod common;

use common::Env;
use scimdesk::client::*;
use scimdesk::domain::access::OrgRole;
use scimdesk::domain::approval::{MemberState, RequestKind, RequestState};

fn owner(env: &Env) -> AdminClient {
    AdminClient::new(
        &env.server.base,
        &env.org.uid,
        env.org.admin_token.clone(),
        "SCIMDESK_TOKEN",
    )
    .expect("client")
}

fn user_id(v: &serde_json::Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_mapping_is_previewed_saved_and_its_requests_approved_or_rejected() {
    let env = Env::new().await;
    let c = owner(&env);
    let roles = c.roles().await.expect("roles");
    assert!(roles.items.iter().any(|r| r.uid == "owner" && !r.mappable));

    let stack = c.create_stack("Mobile App").await.expect("stack");
    let builtin: Vec<&str> = stack.roles.iter().map(|r| r.uid.as_str()).collect();
    assert_eq!(builtin, ["admin", "developer", "content_manager"]);
    let custom = c
        .create_stack_role(&stack.uid, "Reviewer")
        .await
        .expect("role");
    assert!(!custom.builtin);
    assert_eq!(c.stack_roles(&stack.uid).await.unwrap().total, 4);
    assert_eq!(
        c.stacks(&PageReq::default()).await.unwrap().items[0].name,
        "Mobile App"
    );

    let ann = user_id(&env.create_user("ann@acme.example").await);
    let bob = user_id(&env.create_user("bob@acme.example").await);
    let group = env.create_group("Engineering", &[&ann, &bob]).await;
    let gid = group["id"].as_str().unwrap().to_string();

    let groups = c.groups(Some("engin"), &PageReq::default()).await.unwrap();
    assert_eq!(groups.items.len(), 1);
    assert_eq!(groups.items[0].member_count, 2);
    assert_eq!(groups.items[0].mapping, None);
    assert_eq!(c.mapping(&gid).await.unwrap(), None);

    // Provisioning opened a request per member.
    let queue = c
        .approvals(Some(RequestState::Pending), &PageReq::default())
        .await
        .unwrap();
    assert_eq!(queue.total, 2);
    assert!(queue.items.iter().all(|r| r.kind == RequestKind::Provision));

    let body = MappingBody {
        org_role: OrgRole::Admin,
        stack_roles: vec![StackRoleKey {
            stack_uid: stack.uid.clone(),
            role_uid: "developer".into(),
        }],
    };
    let preview = c
        .preview(&gid, &PreviewOf::Save(body.clone()))
        .await
        .expect("preview");
    assert_eq!(preview.counts.members, 2);
    assert!(preview.counts.roles.iter().any(|r| matches!(
        &r.role, RoleRef::Stack(s) if s.role_name == "Developer" && s.stack_name == "Mobile App"
    )));
    let saved = c.put_mapping(&gid, &body).await.expect("save");
    assert_eq!(saved.mapping.org_role, OrgRole::Admin);
    assert_eq!(saved.mapping.stack_roles[0].role_name, "Developer");
    assert_eq!(
        c.mapping(&gid).await.unwrap().unwrap().stack_roles,
        saved.mapping.stack_roles
    );

    // The mapping edit bumped the pending requests; an approval with an old version is a 409
    // that carries the current request.
    let stale = queue.items.iter().find(|r| r.member_id == ann).unwrap();
    let err = c
        .approve(&stale.id, stale.version)
        .await
        .expect_err("stale");
    let fresh = err.refreshed_request().expect("refreshed request").clone();
    assert!(fresh.version > stale.version);
    assert!(
        fresh
            .diff
            .stack_gains
            .iter()
            .any(|s| s.role_uid == "developer")
    );
    assert_eq!(err.to_string(), "this request changed; review it again");

    let decided = c.approve(&fresh.id, fresh.version).await.expect("approve");
    assert_eq!(decided.request.state, RequestState::Approved);
    assert_eq!(decided.member.state, MemberState::Active);
    let granted = decided.member.granted.expect("granted");
    assert_eq!(granted.org_role, OrgRole::Admin);

    let access = c.member_access(&ann).await.expect("access");
    assert!(access.roles.iter().any(|r| {
        r.granted
            && r.via
                .iter()
                .any(|v| matches!(v, Via::Group { group_name, .. } if group_name == "Engineering"))
    }));

    let bobs = c
        .approvals(Some(RequestState::Pending), &PageReq::default())
        .await
        .unwrap();
    let bobs = bobs.items.iter().find(|r| r.member_id == bob).unwrap();
    let rejected = c
        .reject(&bobs.id, bobs.version, "not on the team")
        .await
        .expect("reject");
    assert_eq!(rejected.request.state, RequestState::Rejected);
    assert_eq!(rejected.request.reason.as_deref(), Some("not on the team"));

    let members = c
        .users(&UserQuery {
            filter: Some("ANN@".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(members.items.len(), 1);
    assert_eq!(members.items[0].source, MemberSource::Scim);
    let active = c
        .users(&UserQuery {
            state: Some(MemberState::Active),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(active.items.iter().any(|m| m.id == ann));
    assert!(!active.items.iter().any(|m| m.id == bob));

    let removal = c.remove_member(&ann).await.expect("remove");
    assert_eq!(removal.member.state, MemberState::Removed);
    assert!(removal.warnings.iter().any(|w| w.code == "idp_managed"));

    let p = c
        .preview(&gid, &PreviewOf::Delete)
        .await
        .expect("preview delete");
    assert_eq!(p.counts.members, 2);
    c.delete_mapping(&gid).await.expect("delete");
    assert_eq!(c.mapping(&gid).await.unwrap(), None);
    assert!(c.audit(&AuditQuery::default()).await.unwrap().total > 0);
    env.server.stop().await;
}
