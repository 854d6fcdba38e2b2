//! The Users pane on the console's real loop, against the embedded service provider (the demo
//! org Acme: 50 people, 4 pending approvals): keys in, screens and server state out.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use scimdesk::client::{MappingBody, PageReq, StackRoleKey, UserQuery};
use scimdesk::console::Console;
use scimdesk::console::app::{Msg, State};
use scimdesk::console::effects::Clipboard;
use scimdesk::console::panes::PaneId;
use scimdesk::console::panes::users::{Dialog, List};
use scimdesk::console::theme::Theme;
use scimdesk::domain::approval::{MemberState, RequestState};
use std::collections::BTreeMap;
use std::sync::Arc;

mod console_support;
use console_support::*;

type Rig = LiveRig;

async fn rig(w: u16, h: u16) -> Rig {
    live_rig(w, h).await
}

impl Rig {
    fn screen(&self) -> String {
        redact(&text(&self.term), &self.server.base_url)
    }
}

/// The port and the clock differ from run to run.
fn redact(screen: &str, base: &str) -> String {
    redact_short_times(&redact_port(screen, base))
}

/// Members, queue and the selected row's explanation are all in.
fn loaded(s: &State) -> bool {
    let u = &s.users;
    u.members.loaded
        && u.queue.loaded
        && u.detail.is_some()
        && s.org_name.is_some()
        && s.pending.is_some()
}

#[tokio::test]
async fn users_pane_snapshots_at_80x24_and_120x40() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut r = rig(w, h).await;
        r.until("Users pane loads", |s| s.pane == PaneId::Users && loaded(s))
            .await;
        let all = client(&r.server)
            .users(&UserQuery::default())
            .await
            .unwrap()
            .total;
        assert_eq!(r.console.state.users.members.total, all);
        insta::assert_snapshot!(format!("users_members_{w}x{h}"), r.screen());
        r.keys("p");
        r.until("queue and its member's detail", |s| {
            s.users.list == List::Pending
                && loaded(s)
                && s.users.detail.as_ref().map(|d| &d.member.id)
                    == s.users.queue.current().map(|q| &q.member_id)
        })
        .await;
        insta::assert_snapshot!(format!("users_pending_{w}x{h}"), r.screen());
        r.server.stop().await;
    }
}

#[tokio::test]
async fn approving_a_pending_request_changes_the_members_access() {
    let mut r = rig(120, 40).await;
    r.until("loaded", loaded).await;
    r.keys("p");
    r.until("queue", |s| {
        s.users.list == List::Pending && s.users.queue.current().is_some()
    })
    .await;
    let req = r.console.state.users.queue.current().unwrap().clone();
    let api = client(&r.server);
    let before = api.member_access(&req.member_id).await.unwrap().member;
    assert_ne!(
        before.granted, before.requested,
        "the request is not applied yet"
    );
    let words = scimdesk::console::widgets::diff::diff_lines(&req.diff);
    let screen = r.screen();
    for w in &words {
        assert!(
            screen.contains(w.as_str()),
            "diff '{w}' shown in words:\n{screen}"
        );
    }
    r.keys("a");
    r.until("approved, queue and header refreshed", |s| {
        s.users.queue.total == 3
            && s.pending == Some(3)
            && s.users.queue.rows.iter().all(|q| q.id != req.id)
    })
    .await;
    assert!(r.screen().contains("approved: "), "{}", r.screen());
    // The server agrees: granted access is now what was requested.
    let after = api.member_access(&req.member_id).await.unwrap().member;
    assert_eq!(after.granted, before.requested);
    assert_eq!(after.state, MemberState::Active);
    let approved = api
        .approvals(Some(RequestState::Approved), &PageReq::first(10))
        .await
        .unwrap();
    assert!(approved.items.iter().any(|q| q.id == req.id));
    // The members list shows the decision's member without a reload.
    let row = r
        .console
        .state
        .users
        .members
        .rows
        .iter()
        .find(|m| m.id == req.member_id)
        .unwrap();
    assert_eq!(
        row.granted.as_ref().map(|a| a.org_role),
        after.granted.as_ref().map(|a| a.org_role)
    );
    assert_eq!(row.state, MemberState::Active);
    r.server.stop().await;
}

#[tokio::test]
async fn a_request_that_changed_is_refused_with_its_refreshed_diff() {
    let mut r = rig(120, 40).await;
    r.until("loaded", loaded).await;
    r.keys("p");
    r.until("queue", |s| s.users.queue.rows.len() == 4).await;
    let req = r.console.state.users.queue.current().unwrap().clone();
    // An admin edits the mapping of the member's group meanwhile: the diff grows, and the
    // request's version with it.
    let api = client(&r.server);
    let member = api.member_access(&req.member_id).await.unwrap().member;
    let group = &member.groups[0];
    let mapping = api.mapping(&group.id).await.unwrap().unwrap();
    let stacks = api.stacks(&PageReq::first(50)).await.unwrap();
    let mut keys: Vec<StackRoleKey> = mapping
        .stack_roles
        .iter()
        .map(|s| StackRoleKey {
            stack_uid: s.stack_uid.clone(),
            role_uid: s.role_uid.clone(),
        })
        .collect();
    let (stack, role) = stacks
        .items
        .iter()
        .flat_map(|s| s.roles.iter().map(move |r| (s, r)))
        .find(|(s, r)| {
            !keys
                .iter()
                .any(|k| k.stack_uid == s.uid && k.role_uid == r.uid)
        })
        .unwrap();
    keys.push(StackRoleKey {
        stack_uid: stack.uid.clone(),
        role_uid: role.uid.clone(),
    });
    api.put_mapping(
        &group.id,
        &MappingBody {
            org_role: mapping.org_role,
            stack_roles: keys,
        },
    )
    .await
    .unwrap();
    r.keys("a");
    r.until("refused with 409", |s| s.users.changed.contains(&req.id))
        .await;
    let screen = r.screen();
    assert!(
        screen.contains("this request changed; review it again"),
        "{screen}"
    );
    let gained = format!("+ {} on {}", role.name, stack.name);
    assert!(
        screen.contains(&gained),
        "the refreshed diff shows '{gained}':
{screen}"
    );
    assert_eq!(r.console.state.pending, Some(4), "nothing was approved");
    // Reviewed: approving again applies the new version.
    r.keys("a");
    r.until("approved", |s| {
        s.users.queue.total == 3 && s.pending == Some(3)
    })
    .await;
    let after = api.member_access(&req.member_id).await.unwrap().member;
    assert!(
        after
            .granted
            .unwrap()
            .stack_roles
            .iter()
            .any(|x| x.stack_uid == stack.uid && x.role_uid == role.uid)
    );
    r.server.stop().await;
}

#[tokio::test]
async fn rejecting_with_a_typed_reason() {
    let mut r = rig(80, 24).await;
    r.until("loaded", loaded).await;
    r.keys("p");
    r.until("queue", |s| s.users.queue.current().is_some())
        .await;
    let req = r.console.state.users.queue.current().unwrap().clone();
    r.keys("r");
    r.until("reason prompt", |s| {
        matches!(s.users.dialog, Some(Dialog::Reason { .. }))
    })
    .await;
    assert!(r.screen().contains("Reject "), "{}", r.screen());
    r.keys("contractor, ends Friday");
    r.key(KeyCode::Enter);
    r.until("rejected", |s| {
        s.users.queue.total == 3 && s.pending == Some(3)
    })
    .await;
    let rejected = client(&r.server)
        .approvals(Some(RequestState::Rejected), &PageReq::first(10))
        .await
        .unwrap();
    let got = rejected.items.iter().find(|q| q.id == req.id).unwrap();
    assert_eq!(got.reason.as_deref(), Some("contractor, ends Friday"));
    r.server.stop().await;
}

#[tokio::test]
async fn bulk_approve_marked_requests_after_a_confirm() {
    let mut r = rig(80, 24).await;
    r.until("loaded", loaded).await;
    r.keys("p");
    r.until("queue", |s| s.users.queue.rows.len() == 4).await;
    r.keys("  A");
    r.until("confirm", |s| s.users.dialog.is_some()).await;
    let screen = r.screen();
    // Issue 24, item 4: the question names whose requests they are.
    assert!(screen.contains("Approve 2 pending requests ("), "{screen}");
    let names: Vec<String> = r.console.state.users.queue.rows[..2]
        .iter()
        .filter_map(|q| q.member.as_ref().map(|m| m.email.clone()))
        .collect();
    let message = match &r.console.state.users.dialog {
        Some(scimdesk::console::panes::users::Dialog::Confirm(a)) => a.confirm.message.clone(),
        d => panic!("{d:?}"),
    };
    for n in &names {
        assert!(message.contains(n.as_str()), "{n} in {message}");
    }
    assert!(
        screen.contains("▸[ Cancel ]"),
        "Cancel has the focus:\n{screen}"
    );
    r.key(KeyCode::Tab);
    r.key(KeyCode::Enter);
    r.until("two approved", |s| {
        s.users.queue.total == 2 && s.pending == Some(2) && s.users.bulk.is_none()
    })
    .await;
    assert!(r.screen().contains("approved 2"), "{}", r.screen());
    r.server.stop().await;
}

#[tokio::test]
async fn a_new_request_is_tagged_after_a_poll() {
    let mut r = rig(120, 40).await;
    r.until("loaded", loaded).await;
    r.keys("p");
    r.until("queue", |s| s.users.queue.rows.len() == 4).await;
    // The IdP provisions someone new while the console is open.
    let api = client(&r.server);
    let token = api.create_scim_token("test idp").await.unwrap();
    let url = format!(
        "{}/scim/v2.0/organizations/{}/Users",
        r.server.base_url, r.server.org_uid
    );
    let resp = reqwest::Client::new()
        .post(&url)
        .bearer_auth(&token.token)
        .header("content-type", "application/scim+json")
        .body(
            serde_json::json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "zed.new@acme.example",
                "emails": [{"value": "zed.new@acme.example", "primary": true}],
                "active": true
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    r.console.sender().send(Msg::Poll).unwrap();
    r.until("the new request arrives tagged", |s| {
        s.users.queue.total == 5 && s.users.new.len() == 1 && s.pending == Some(5)
    })
    .await;
    let screen = r.screen();
    let row = screen
        .lines()
        .find(|l| l.contains("zed.new@"))
        .unwrap_or_else(|| panic!("{screen}"));
    assert!(row.contains("new"), "{row}");
    r.server.stop().await;
}

#[tokio::test]
async fn removing_a_member_is_confirmed_and_warns_about_the_idp() {
    let mut r = rig(120, 40).await;
    r.until("loaded", loaded).await;
    // The first member by email is a SCIM one in the demo org.
    let m = r.console.state.users.members.current().unwrap().clone();
    r.keys("x");
    r.until("confirm", |s| s.users.dialog.is_some()).await;
    let screen = r.screen();
    assert!(screen.contains("Remove member"), "{screen}");
    r.key(KeyCode::Enter);
    r.until("cancelled", |s| s.users.dialog.is_none()).await;
    r.keys("x");
    r.key(KeyCode::Tab);
    r.key(KeyCode::Enter);
    r.until("removed", |s| {
        s.users.members.current().map(|x| x.state) == Some(MemberState::Removed)
    })
    .await;
    let screen = r.screen();
    assert!(screen.contains("removed from the org"), "{screen}");
    let api = client(&r.server);
    let page = api
        .users(&UserQuery {
            filter: Some(m.email.clone()),
            state: None,
            page: PageReq::first(5),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.items[0].state, MemberState::Removed);
    r.server.stop().await;
}

#[tokio::test]
async fn on_a_snapshot_the_queue_is_visible_but_not_approvable() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/snapshot-v1.json"
    );
    let backend =
        scimdesk::console::snapshot_backend::SnapshotBackend::open(std::path::Path::new(path))
            .unwrap();
    let mut console = Console::new(
        Arc::new(backend),
        &BTreeMap::new(),
        Theme::mono(),
        Clipboard::Memory(Vec::new()),
    )
    .unwrap();
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let tx = console.sender();
    let send = |c: char| {
        tx.send(Msg::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )))
        .unwrap()
    };
    send('p');
    console
        .run_until(&mut term, LIMIT, |s| {
            s.users.list == List::Pending && s.users.queue.loaded && s.users.detail.is_some()
        })
        .await
        .unwrap();
    let pending = console.state.users.queue.total;
    assert!(pending > 0, "the fixture has pending requests");
    // a, Space, A and x are not bound: nothing opens, nothing is sent, and each says why.
    for c in ['a', ' ', 'A', 'x', 'r'] {
        send(c);
    }
    send('j');
    console
        .run_until(&mut term, LIMIT, |s| {
            s.users.queue.selected() == 1 || pending == 1
        })
        .await
        .unwrap();
    let s = &console.state;
    assert!(s.users.dialog.is_none());
    assert!(s.users.marked.is_empty());
    assert_eq!(s.users.queue.total, pending);
    // Issue 24, item 8: as `:` commands do, the keys answer "read-only", never silence.
    // (Every notice is kept in `:messages`; the toasts on screen are the newest few.)
    for key in ["a (", "Space (", "A (", "x/Del (", "r ("] {
        assert!(
            s.messages
                .iter()
                .any(|t| t.text.starts_with(&format!("read-only: {key}"))),
            "{key}: {:?}",
            s.messages
        );
    }
    let buf = term.backend().buffer();
    let last: String = (0..buf.area.width)
        .map(|x| buf[(x, buf.area.height - 1)].symbol().to_string())
        .collect();
    assert!(last.contains("p pending"), "{last}");
    assert!(!last.contains("approve"), "{last}");
}

/// Issue 15: Ctrl-r gave no sign that it refreshed. It says it is refreshing at once, and
/// that it refreshed once every fetch it started has answered.
#[tokio::test]
async fn ctrl_r_says_it_is_refreshing_then_that_it_refreshed() {
    let mut r = rig(80, 24).await;
    r.until("loaded", loaded).await;
    r.send(KeyCode::Char('r'), KeyModifiers::CONTROL);
    r.until("refreshed", |s| {
        s.toasts.iter().any(|(t, _)| t.text == "Users refreshed")
    })
    .await;
    assert!(
        r.console
            .state
            .toasts
            .iter()
            .any(|(t, _)| t.text == "refreshing Users…"),
        "{:?}",
        r.console.state.toasts
    );
    assert!(r.screen().contains("Users refreshed"), "{}", r.screen());
}
