//! `scimdesk export` against a running server (mode 0600, atomic replacement, a failed export
//! leaves the old file), and the console's snapshot backend answering every call from the
//! committed format-1 fixture.

mod common;

use common::*;
use scimdesk::client::{MemberSource, PageReq, RoleRef, UserQuery, Via};
use scimdesk::console::backend::{Backend, Call, Reply};
use scimdesk::console::snapshot_backend::SnapshotBackend;
use scimdesk::domain::access::OrgRole;
use scimdesk::domain::approval::{MemberState, RequestState};
use std::path::Path;
use std::process::{Command, Output};

const EXE: &str = env!("CARGO_BIN_EXE_scimdesk");
const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/snapshot-v1.json"
);

fn export(env: &Env, out: &Path, token: &str) -> Output {
    let cfg = env.dir.path().join("config");
    Command::new(EXE)
        .args(["export", "--out"])
        .arg(out)
        .args(["--url", &env.server.base, "--org", &env.org.uid])
        .env("SCIMDESK_TOKEN", token)
        .env("SCIMDESK_CONFIG_DIR", &cfg)
        .env("SCIMDESK_DATA_DIR", &cfg)
        .output()
        .expect("run scimdesk export")
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread")]
async fn export_writes_a_0600_snapshot_and_replaces_the_old_one_whole() {
    let env = Env::new().await;
    env.create_user("ann@acme.example").await;
    let out = env.dir.path().join("acme.json");
    std::fs::write(&out, vec![b'#'; 100_000]).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o644)).unwrap();
    }

    let run = tokio::task::block_in_place(|| export(&env, &out, &env.org.admin_token));
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    #[cfg(unix)]
    assert_eq!(mode(&out), 0o600);
    let bytes = std::fs::read(&out).unwrap();
    let snap = scimdesk::snapshot::read(&bytes).expect("the file is a whole snapshot");
    assert_eq!(snap.org.uid, env.org.uid);
    assert!(snap.members.iter().any(|m| m.email == "ann@acme.example"));
    // No secret reaches the file.
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains(&env.org.admin_token));
    assert!(!text.contains(&env.org.scim_token));
    let leftovers: Vec<_> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_export_leaves_the_old_file_untouched() {
    let env = Env::new().await;
    let out = env.dir.path().join("acme.json");
    std::fs::write(&out, b"last quarter").unwrap();
    let run = tokio::task::block_in_place(|| export(&env, &out, "not-a-token"));
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("SCIMDESK_TOKEN"), "{err}");
    assert!(
        !err.contains("not-a-token"),
        "the token must not be echoed: {err}"
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"last quarter");
}

fn backend() -> SnapshotBackend {
    SnapshotBackend::open(Path::new(FIXTURE)).expect("fixture opens")
}

async fn call(b: &SnapshotBackend, c: Call) -> Reply {
    b.call(c.clone())
        .await
        .unwrap_or_else(|e| panic!("{c:?}: {e}"))
}

#[tokio::test]
async fn the_backend_is_read_only_and_names_the_file() {
    let b = backend();
    assert!(b.read_only());
    assert_eq!(b.org(), "acme0001");
    assert!(b.server().contains("snapshot-v1.json"), "{}", b.server());
}

#[tokio::test]
async fn org_and_scim_settings_come_from_the_file_with_warnings() {
    let b = backend();
    let Reply::Org(org) = call(&b, Call::Org).await else {
        panic!()
    };
    assert_eq!(org.name, "Acme");
    assert_eq!(org.counts.members, 5);
    assert_eq!(org.counts.scim_users, 4);
    assert_eq!(org.counts.scim_groups, 4);
    assert_eq!(org.counts.scim_tokens, 1);
    let Reply::ScimSettings(s) = call(&b, Call::ScimSettings).await else {
        panic!()
    };
    assert!(s.enabled && s.sso_role_mapping);
    assert!(s.approval.provision && !s.approval.deprovision);
    assert_eq!(s.warnings[0].code, "sso_role_mapping_with_scim");
    // Issue 24, item 8: a file that recorded no discovery says so, and makes up no URL.
    assert_eq!(s.scim_url, None);
    match call(&b, Call::ServiceProviderConfig).await {
        Reply::ServiceProviderConfig { doc, note } => {
            assert!(doc.is_null(), "{doc}");
            assert!(note.unwrap().starts_with("not in the snapshot"));
        }
        _ => panic!(),
    }
}

#[tokio::test]
async fn tokens_are_labels_and_lists_page() {
    let b = backend();
    let Reply::ScimTokens(t) = call(&b, Call::ScimTokens(PageReq::default())).await else {
        panic!()
    };
    assert_eq!(t.items.len(), 1);
    assert_eq!(t.items[0].label, "okta");
    let Reply::Roles(r) = call(&b, Call::Roles).await else {
        panic!()
    };
    let roles: Vec<(&str, bool)> = r
        .items
        .iter()
        .map(|r| (r.uid.as_str(), r.mappable))
        .collect();
    assert_eq!(roles, [("owner", false), ("admin", true), ("member", true)]);
    let Reply::Stacks(s) = call(&b, Call::Stacks(PageReq::first(1))).await else {
        panic!()
    };
    assert_eq!((s.items.len(), s.total), (1, 2));
    assert_eq!(s.items[0].name, "Mobile app");
    let next = PageReq {
        limit: Some(1),
        cursor: s.next.clone(),
    };
    let Reply::Stacks(s2) = call(&b, Call::Stacks(next)).await else {
        panic!()
    };
    assert_eq!(s2.items[0].name, "Website");
    assert_eq!(s2.items[0].roles.len(), 4);
    assert!(s2.next.is_none());
}

#[tokio::test]
async fn groups_filter_and_carry_their_mappings() {
    let b = backend();
    let Reply::Groups(g) = call(
        &b,
        Call::Groups {
            filter: None,
            page: PageReq::default(),
        },
    )
    .await
    else {
        panic!()
    };
    let names: Vec<&str> = g.items.iter().map(|g| g.display_name.as_str()).collect();
    assert_eq!(
        names,
        ["Contractors", "Editors", "Engineering", "Platform admins"]
    );
    assert!(g.items[0].mapping.is_none());
    assert_eq!(g.items[1].member_count, 2);
    let Reply::Groups(g) = call(
        &b,
        Call::Groups {
            filter: Some("PLATFORM".into()),
            page: PageReq::default(),
        },
    )
    .await
    else {
        panic!()
    };
    assert_eq!(g.total, 1);
    assert_eq!(
        g.items[0].mapping.as_ref().unwrap().org_role,
        OrgRole::Admin
    );
    let Reply::Mapping(m) = call(
        &b,
        Call::Mapping {
            group_id: "g-engineering".into(),
        },
    )
    .await
    else {
        panic!()
    };
    assert_eq!(m.unwrap().stack_roles[0].role_uid, "developer");
    let Reply::Mapping(m) = call(
        &b,
        Call::Mapping {
            group_id: "g-contractors".into(),
        },
    )
    .await
    else {
        panic!()
    };
    assert!(m.is_none());
}

#[tokio::test]
async fn users_filter_by_text_and_state_and_page_by_email() {
    let b = backend();
    let q = |filter: Option<&str>, state: Option<MemberState>, page: PageReq| {
        Call::Users(UserQuery {
            filter: filter.map(str::to_string),
            state,
            page,
            ..Default::default()
        })
    };
    let Reply::Users(p) = call(&b, q(None, None, PageReq::first(2))).await else {
        panic!()
    };
    assert_eq!(p.total, 5);
    let emails: Vec<&str> = p.items.iter().map(|m| m.email.as_str()).collect();
    assert_eq!(emails, ["ann@acme.example", "bob@acme.example"]);
    assert_eq!(p.next.as_deref(), Some("bob@acme.example"));
    let Reply::Users(p2) = call(
        &b,
        q(
            None,
            None,
            PageReq {
                limit: Some(2),
                cursor: p.next.clone(),
            },
        ),
    )
    .await
    else {
        panic!()
    };
    let emails: Vec<&str> = p2.items.iter().map(|m| m.email.as_str()).collect();
    assert_eq!(emails, ["cat@acme.example", "dan@acme.example"]);
    // Display names match too, in any case.
    let Reply::Users(p) = call(&b, q(Some("baker"), None, PageReq::default())).await else {
        panic!()
    };
    assert_eq!(p.items.len(), 1);
    let bob = &p.items[0];
    assert_eq!(bob.source, MemberSource::Scim);
    assert_eq!(bob.request.as_ref().unwrap().id, "req-bob");
    assert_eq!(bob.requested.as_ref().unwrap().stack_roles.len(), 2);
    let Reply::Users(p) = call(&b, q(None, Some(MemberState::Pending), PageReq::default())).await
    else {
        panic!()
    };
    assert_eq!(p.total, 1);
    assert_eq!(p.items[0].email, "cat@acme.example");
}

#[tokio::test]
async fn access_is_explained_by_group_and_mapping() {
    let b = backend();
    let Reply::MemberAccess(a) = call(
        &b,
        Call::MemberAccess {
            member_id: "u-ann".into(),
        },
    )
    .await
    else {
        panic!()
    };
    assert_eq!(a.member.email, "ann@acme.example");
    let org = &a.roles[0];
    assert_eq!(
        org.role,
        RoleRef::Org {
            org_role: OrgRole::Admin
        }
    );
    assert!(org.granted && org.requested);
    assert_eq!(
        org.via,
        [Via::Group {
            group_id: "g-platform".into(),
            group_name: "Platform admins".into()
        }]
    );
    assert_eq!(a.roles.len(), 3);
    // Bob's Content Manager is requested, not granted: the pending request.
    let Reply::MemberAccess(a) = call(
        &b,
        Call::MemberAccess {
            member_id: "u-bob".into(),
        },
    )
    .await
    else {
        panic!()
    };
    let cm = a
        .roles
        .iter()
        .find(|r| matches!(&r.role, RoleRef::Stack(s) if s.role_uid == "content_manager"))
        .unwrap();
    assert!(!cm.granted && cm.requested);
    // The owner was made outside SCIM.
    let Reply::MemberAccess(a) = call(
        &b,
        Call::MemberAccess {
            member_id: "u-owner".into(),
        },
    )
    .await
    else {
        panic!()
    };
    assert_eq!(a.roles[0].via, [Via::Manual]);
    let e = b
        .call(Call::MemberAccess {
            member_id: "nobody".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(404));
}

#[tokio::test]
async fn pending_requests_are_listed() {
    let b = backend();
    let Reply::Approvals(p) = call(
        &b,
        Call::Approvals {
            state: Some(RequestState::Pending),
            page: PageReq::default(),
        },
    )
    .await
    else {
        panic!()
    };
    let ids: Vec<&str> = p.items.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["req-bob", "req-cat"]);
    assert_eq!(p.items[1].diff.org_role_to, Some(OrgRole::Member));
    let Reply::Approvals(p) = call(
        &b,
        Call::Approvals {
            state: Some(RequestState::Approved),
            page: PageReq::default(),
        },
    )
    .await
    else {
        panic!()
    };
    assert_eq!(p.total, 0);
    let Reply::Export(v) = call(&b, Call::Export).await else {
        panic!()
    };
    assert_eq!(v["org"]["uid"], "acme0001");
}

#[tokio::test]
async fn every_mutating_call_is_refused_with_a_clear_error() {
    use scimdesk::client::{MappingBody, PreviewOf, ScimSettingsPatch};
    let b = backend();
    let body = MappingBody {
        org_role: OrgRole::Member,
        stack_roles: vec![],
    };
    let calls = [
        Call::PatchScim(ScimSettingsPatch::default()),
        Call::CreateScimToken { label: "x".into() },
        Call::RevokeScimToken {
            id: "tok-okta".into(),
        },
        Call::PutMapping {
            group_id: "g-editors".into(),
            body: body.clone(),
        },
        Call::DeleteMapping {
            group_id: "g-editors".into(),
        },
        Call::Preview {
            group_id: "g-editors".into(),
            of: PreviewOf::Save(body),
        },
        Call::RemoveMember {
            member_id: "u-ann".into(),
        },
        Call::Approve {
            request_id: "req-bob".into(),
            version: 2,
        },
        Call::Reject {
            request_id: "req-bob".into(),
            version: 2,
            reason: "no".into(),
        },
    ];
    for c in calls {
        let e = b.call(c.clone()).await.expect_err("refused");
        let msg = e.to_string();
        assert!(msg.contains("read-only"), "{c:?}: {msg}");
        assert!(msg.contains("snapshot-v1.json"), "{c:?}: {msg}");
    }
    // Nothing changed.
    let Reply::Approvals(p) = call(
        &b,
        Call::Approvals {
            state: Some(RequestState::Pending),
            page: PageReq::default(),
        },
    )
    .await
    else {
        panic!()
    };
    assert_eq!(p.total, 2);
}

#[test]
fn review_refuses_a_bad_file_before_taking_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("newer.json");
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(FIXTURE).unwrap()).unwrap();
    v["format_version"] = serde_json::json!(2);
    std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
    let out = Command::new(EXE).arg("review").arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("newer.json") && err.contains("format_version 2"),
        "{err}"
    );
}

/// Issue 24, item 6: on a snapshot the actor filter matches as the server's does: by part,
/// in any case.
#[tokio::test]
async fn the_audit_actor_filter_matches_by_part_in_any_case() {
    let b = backend();
    let q = |actor: &str| {
        Call::Audit(scimdesk::client::AuditQuery {
            actor: Some(actor.into()),
            action: None,
            target: None,
            since: None,
            until: None,
            page: PageReq::default(),
        })
    };
    for actor in ["okta", "OKTA", "kt"] {
        let Reply::Audit(p) = call(&b, q(actor)).await else {
            panic!()
        };
        assert_eq!(p.total, 2, "{actor}");
    }
    let Reply::Audit(p) = call(&b, q("🙂 ünïcödé")).await else {
        panic!()
    };
    assert_eq!(p.total, 0);
}
