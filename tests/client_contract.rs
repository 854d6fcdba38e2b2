//! The admin client against a stand-in server that answers in the agreed shapes, for the
//! routes the real server does not have yet: it checks the method, path, query and body the
//! client sends, and that each answer decodes.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use scimdesk::client::*;
use scimdesk::domain::access::OrgRole;
use scimdesk::domain::approval::{MemberState, RequestKind, RequestState};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, PartialEq)]
struct Seen {
    method: String,
    path: String,
    query: String,
    body: Value,
}

#[derive(Clone, Default)]
struct Fake {
    seen: Arc<Mutex<Vec<Seen>>>,
}

fn srr(stack: &str, role: &str) -> Value {
    json!({"stack_uid": stack, "stack_name": format!("Stack {stack}"),
           "role_uid": role, "role_name": format!("Role {role}")})
}

fn request_doc(version: i64) -> Value {
    json!({"id": "r1", "member_id": "u1", "member": {"email": "ann@acme.example",
           "display_name": "Ann"}, "kind": "access_increase", "state": "pending",
           "version": version, "diff": {"org_role_from": "member", "org_role_to": "admin",
           "stack_gains": [srr("mobile", "developer")], "stack_losses": []},
           "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-02T00:00:00Z",
           "decided_by": null, "decided_at": null, "reason": null})
}

fn member_doc() -> Value {
    json!({"id": "u1", "email": "ann@acme.example", "display_name": "Ann", "state": "active",
           "source": "scim", "groups": [{"id": "g1", "display_name": "Engineering"}],
           "granted": {"org_role": "member", "stack_roles": []},
           "requested": {"org_role": "admin", "stack_roles": [srr("mobile", "developer")]},
           "request": request_doc(3), "created_at": "2026-01-01T00:00:00Z",
           "updated_at": "2026-01-01T00:00:00Z"})
}

fn mapping_doc() -> Value {
    json!({"group_id": "g1", "group_name": "Engineering", "org_role": "admin",
           "stack_roles": [srr("mobile", "developer")], "updated_at": "2026-01-01T00:00:00Z",
           "updated_by": "owner@acme.example"})
}

fn list(items: Vec<Value>) -> Value {
    let n = items.len();
    json!({"items": items, "total": n, "next": null})
}

fn answer(method: &str, rest: &str, body: &Value) -> (StatusCode, Value) {
    let ok = StatusCode::OK;
    match (method, rest) {
        ("GET", "/roles") => (
            ok,
            list(vec![
                json!({"uid": "owner", "name": "Owner", "mappable": false}),
                json!({"uid": "admin", "name": "Admin", "mappable": true}),
            ]),
        ),
        ("GET", "/stacks") => (
            ok,
            list(vec![
                json!({"uid": "mobile", "name": "Mobile App", "roles": [
                {"uid": "admin", "name": "Admin", "builtin": true},
                {"uid": "r-9", "name": "Reviewer", "builtin": false}]}),
            ]),
        ),
        ("POST", "/stacks") => (
            StatusCode::CREATED,
            json!({"uid": "web", "name": body["name"], "roles": []}),
        ),
        ("POST", "/stacks/web/roles") => (
            StatusCode::CREATED,
            json!({"uid": "r-1", "name": body["name"], "builtin": false}),
        ),
        ("GET", "/groups") => (
            ok,
            list(vec![
                json!({"id": "g1", "display_name": "Engineering", "member_count": 34,
                       "mapping": mapping_doc()}),
                json!({"id": "g2", "display_name": "Sales", "member_count": 5, "mapping": null}),
            ]),
        ),
        ("GET", "/group-mappings/g1") => (ok, mapping_doc()),
        ("GET", "/group-mappings/g2") => (
            StatusCode::NOT_FOUND,
            json!({"status": 404, "error": "not_found", "message": "no mapping"}),
        ),
        ("PUT", "/group-mappings/g1") => {
            let mut m = mapping_doc();
            m["applied"] = json!({"granted_changes": 34, "pending_changes": 2});
            (ok, m)
        }
        ("DELETE", "/group-mappings/g1") => (StatusCode::NO_CONTENT, Value::Null),
        ("POST", "/group-mappings/g1/preview") => (
            ok,
            json!({"granted_changes": [{"member_id": "u1", "email": "ann@acme.example",
                    "diff": {"org_role_from": "member", "org_role_to": "admin",
                             "stack_gains": [srr("mobile", "developer")], "stack_losses": []}}],
                   "pending_changes": [{"member_id": "u2", "email": "bob@acme.example",
                    "request_id": "r2", "before": {"org_role_from": null, "org_role_to": "member",
                    "stack_gains": [], "stack_losses": []}, "after": {"org_role_from": null,
                    "org_role_to": "admin", "stack_gains": [], "stack_losses": []}}],
                   "counts": {"members": 34, "granted_changes": 1, "pending_changes": 1,
                    "roles": [{"role": {"org_role": "admin"}, "gain": 34, "lose": 0},
                              {"role": srr("mobile", "developer"), "gain": 34, "lose": 0}]}}),
        ),
        ("GET", "/users") => (ok, list(vec![member_doc()])),
        ("GET", "/users/u1/access") => (
            ok,
            json!({"member": member_doc(), "roles": [
                {"role": {"org_role": "member"}, "granted": true, "requested": false,
                 "via": [{"kind": "manual"}]},
                {"role": srr("mobile", "developer"), "granted": false, "requested": true,
                 "via": [{"kind": "group", "group_id": "g1", "group_name": "Engineering"}]}]}),
        ),
        ("DELETE", "/users/u1") => (
            ok,
            json!({"member": member_doc(), "warnings": [{"code": "idp_managed",
                   "message": "the IdP may provision this person again"}]}),
        ),
        ("GET", "/approvals") => (ok, list(vec![request_doc(3)])),
        ("POST", "/approvals/r1/approve") if body["version"] == 3 => {
            let mut r = request_doc(3);
            r["state"] = json!("approved");
            (ok, json!({"request": r, "member": member_doc()}))
        }
        ("POST", "/approvals/r1/approve") => (
            StatusCode::CONFLICT,
            json!({"status": 409, "error": "conflict", "message": "the request changed",
                   "request": request_doc(4)}),
        ),
        ("POST", "/approvals/r1/reject") => {
            let mut r = request_doc(3);
            r["state"] = json!("rejected");
            r["reason"] = body["reason"].clone();
            (ok, json!({"request": r, "member": member_doc()}))
        }
        ("GET", "/audit") => (
            ok,
            list(vec![
                json!({"id": "7", "at": "2026-01-01T00:00:00Z", "actor": "owner",
                              "action": "mapping.update", "target": "g1", "before": null,
                              "after": {"org_role": "admin"}}),
            ]),
        ),
        ("GET", "/export") => (
            ok,
            json!({"format": "scimdesk-snapshot", "format_version": 1}),
        ),
        ("GET", "/boom") => (StatusCode::BAD_GATEWAY, Value::String("<html>".into())),
        _ => (
            StatusCode::NOT_FOUND,
            json!({"status": 404, "error": "not_found", "message": "no such endpoint"}),
        ),
    }
}

async fn handle(State(fake): State<Fake>, req: Request) -> Response {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let bytes: Bytes = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let rest = path
        .strip_prefix("/admin/v1/organizations/acme")
        .unwrap_or("?")
        .to_string();
    fake.seen.lock().unwrap().push(Seen {
        method: method.clone(),
        path: path.clone(),
        query,
        body: body.clone(),
    });
    let (status, doc) = answer(&method, &rest, &body);
    match doc {
        Value::Null => status.into_response(),
        Value::String(s) => (status, s).into_response(),
        doc => (status, axum::Json(doc)).into_response(),
    }
}

async fn start() -> (AdminClient, Fake) {
    let fake = Fake::default();
    let app = Router::new().fallback(handle).with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let c = AdminClient::new(&base, "acme", "tok", "SCIMDESK_TOKEN").unwrap();
    (c, fake)
}

fn last(fake: &Fake) -> Seen {
    fake.seen
        .lock()
        .unwrap()
        .last()
        .cloned()
        .expect("a request")
}

#[tokio::test]
async fn roles_stacks_and_groups() {
    let (c, fake) = start().await;
    let roles = c.roles().await.unwrap();
    assert_eq!(
        roles.items.iter().map(|r| r.mappable).collect::<Vec<_>>(),
        [false, true]
    );
    let stacks = c.stacks(&PageReq::first(10)).await.unwrap();
    assert_eq!(last(&fake).query, "limit=10");
    assert_eq!(stacks.items[0].roles[1].name, "Reviewer");
    assert!(!stacks.items[0].roles[1].builtin);

    let s = c.create_stack("Web").await.unwrap();
    assert_eq!((s.uid.as_str(), s.name.as_str()), ("web", "Web"));
    assert_eq!(last(&fake).body, json!({"name": "Web"}));
    let r = c.create_stack_role("web", "Editor").await.unwrap();
    assert_eq!(r.uid, "r-1");
    assert_eq!(
        last(&fake).path,
        "/admin/v1/organizations/acme/stacks/web/roles"
    );

    let groups = c
        .groups(Some("eng ops"), &PageReq::default())
        .await
        .unwrap();
    assert_eq!(last(&fake).query, "filter=eng+ops");
    assert_eq!(groups.total, 2);
    assert_eq!(groups.items[0].member_count, 34);
    let m = groups.items[0].mapping.as_ref().unwrap();
    assert_eq!(m.org_role, OrgRole::Admin);
    assert_eq!(m.stack_roles[0].stack_name, "Stack mobile");
    assert!(groups.items[1].mapping.is_none());
}

#[tokio::test]
async fn mappings_save_delete_and_preview() {
    let (c, fake) = start().await;
    assert_eq!(
        c.mapping("g1").await.unwrap().unwrap().group_name,
        "Engineering"
    );
    assert_eq!(c.mapping("g2").await.unwrap(), None, "404 means no mapping");

    let body = MappingBody {
        org_role: OrgRole::Admin,
        stack_roles: vec![StackRoleKey {
            stack_uid: "mobile".into(),
            role_uid: "developer".into(),
        }],
    };
    let saved = c.put_mapping("g1", &body).await.unwrap();
    let seen = last(&fake);
    assert_eq!(seen.method, "PUT");
    assert_eq!(
        seen.body,
        json!({"org_role": "admin", "stack_roles": [{"stack_uid": "mobile", "role_uid": "developer"}]})
    );
    assert_eq!(saved.mapping.group_id, "g1");
    assert_eq!(
        saved.applied,
        Applied {
            granted_changes: 34,
            pending_changes: 2
        }
    );

    let p = c
        .preview("g1", &PreviewOf::Save(body.clone()))
        .await
        .unwrap();
    assert_eq!(last(&fake).body["org_role"], "admin");
    assert_eq!(p.counts.members, 34);
    assert_eq!(
        p.counts.roles[0].role,
        RoleRef::Org {
            org_role: OrgRole::Admin
        }
    );
    assert!(matches!(&p.counts.roles[1].role, RoleRef::Stack(s) if s.role_uid == "developer"));
    assert_eq!(p.pending_changes[0].before.org_role_from, None);
    assert_eq!(p.granted_changes[0].diff.stack_gains.len(), 1);

    c.preview("g1", &PreviewOf::Delete).await.unwrap();
    assert_eq!(last(&fake).body, json!({"delete": true}));
    c.delete_mapping("g1").await.unwrap();
    assert_eq!(last(&fake).method, "DELETE");
}

#[tokio::test]
async fn members_access_and_removal() {
    let (c, fake) = start().await;
    let page = c
        .users(&UserQuery {
            filter: Some("ann".into()),
            state: Some(MemberState::Deprovisioned),
            sort: Some(scimdesk::client::UserSort::Name),
            desc: true,
            page: PageReq::first(20),
        })
        .await
        .unwrap();
    assert_eq!(
        last(&fake).query,
        "limit=20&filter=ann&state=deprovisioned&sort=name&order=desc"
    );
    let m = &page.items[0];
    assert_eq!(m.state, MemberState::Active);
    assert_eq!(m.source, MemberSource::Scim);
    assert_eq!(m.requested.as_ref().unwrap().org_role, OrgRole::Admin);
    assert_eq!(
        m.request.as_ref().unwrap().kind,
        RequestKind::AccessIncrease
    );

    let a = c.member_access("u1").await.unwrap();
    assert_eq!(a.roles[0].via, [Via::Manual]);
    assert_eq!(
        a.roles[1].via,
        [Via::Group {
            group_id: "g1".into(),
            group_name: "Engineering".into()
        }]
    );
    assert!(!a.roles[1].granted && a.roles[1].requested);

    let r = c.remove_member("u1").await.unwrap();
    assert_eq!(r.warnings[0].code, "idp_managed");
}

#[tokio::test]
async fn approvals_and_the_409_that_carries_the_refreshed_request() {
    let (c, fake) = start().await;
    let q = c
        .approvals(Some(RequestState::Pending), &PageReq::default())
        .await
        .unwrap();
    assert_eq!(last(&fake).query, "state=pending");
    assert_eq!(q.items[0].version, 3);

    let d = c.approve("r1", 3).await.unwrap();
    assert_eq!(last(&fake).body, json!({"version": 3}));
    assert_eq!(d.request.state, RequestState::Approved);

    let err = c.approve("r1", 2).await.expect_err("stale");
    let fresh = err.refreshed_request().expect("the current request");
    assert_eq!(fresh.version, 4);
    assert_eq!(err.to_string(), "this request changed; review it again");

    let d = c.reject("r1", 3, "not in this team").await.unwrap();
    assert_eq!(
        last(&fake).body,
        json!({"version": 3, "reason": "not in this team"})
    );
    assert_eq!(d.request.reason.as_deref(), Some("not in this team"));
}

#[tokio::test]
async fn audit_export_and_odd_answers() {
    let (c, fake) = start().await;
    let a = c
        .audit(&AuditQuery {
            actor: Some("owner".into()),
            action: Some("mapping".into()),
            target: Some("g1".into()),
            since: Some("2026-12-01".into()),
            until: None,
            page: PageReq::default(),
        })
        .await
        .unwrap();
    assert_eq!(
        last(&fake).query,
        "actor=owner&action=mapping&target=g1&since=2026-12-01"
    );
    assert_eq!(a.items[0].after.as_ref().unwrap()["org_role"], "admin");
    assert_eq!(c.export().await.unwrap()["format_version"], 1);

    // Ids are path segments, never path syntax.
    let _ = c.member_access("a/b c").await;
    assert_eq!(
        last(&fake).path,
        "/admin/v1/organizations/acme/users/a%2Fb%20c/access"
    );
    // A 404 on an unknown route decodes its message.
    match c.revoke_admin_token("zzz").await {
        Err(ApiError::NotFound { message }) => assert_eq!(message, "no such endpoint"),
        other => panic!("{other:?}"),
    }
}
