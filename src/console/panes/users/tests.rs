use super::super::common::paged::{MAX_PAGES, PAGE};
use super::*;
use crate::client::Decision;
use crate::console::changes::Changes;
use crate::console::theme::Theme;
use crate::console::widgets::test_util::screen;
use ratatui::crossterm::event::{KeyEvent, KeyModifiers};
use serde_json::json;

fn member(i: usize) -> Member {
    serde_json::from_value(json!({
        "id": format!("u{i}"),
        "email": format!("user{i:05}@acme.example"),
        "display_name": format!("User {i}"),
        "state": "active",
        "source": "scim",
        "groups": [{"id": "g1", "display_name": "Engineering"}],
        "granted": {"org_role": "member", "stack_roles": []},
        "requested": {"org_role": "member", "stack_roles": []},
        "created_at": "2026-11-23T10:00:00Z"
    }))
    .unwrap()
}

fn request(id: &str, member_id: &str, version: i64) -> ApprovalRequest {
    serde_json::from_value(json!({
        "id": id,
        "member_id": member_id,
        "member": {"email": format!("{member_id}@acme.example")},
        "kind": "access_increase",
        "state": "pending",
        "version": version,
        "diff": {
            "org_role_from": "member", "org_role_to": "member",
            "stack_gains": [{"stack_uid": "mobile", "stack_name": "Mobile App",
                             "role_uid": "developer", "role_name": "Developer"}],
            "stack_losses": []
        },
        "created_at": "2026-11-23T10:00:00Z"
    }))
    .unwrap()
}

fn cx() -> Ctx {
    Ctx::default()
}

/// `c` as the default key table hands it to the pane.
fn k(p: &UsersPane, c: KeyCode) -> PaneMsg {
    crate::console::panes::test_key(p, KeyEvent::new(c, KeyModifiers::NONE))
}

fn act(p: &mut UsersPane, a: Action) -> Vec<Cmd> {
    p.update(PaneMsg::Action(a), &cx())
}

fn calls(cmds: &[Cmd]) -> Vec<(&'static str, Call)> {
    cmds.iter()
        .filter_map(|c| match c {
            Cmd::Call { slot, call, .. } => Some((*slot, call.clone())),
            _ => None,
        })
        .collect()
}

fn toasts(cmds: &[Cmd]) -> Vec<String> {
    cmds.iter()
        .filter_map(|c| match c {
            Cmd::Toast(t) => Some(t.text.clone()),
            _ => None,
        })
        .collect()
}

fn users_call(cursor: Option<&str>) -> Call {
    Call::Users(UserQuery {
        filter: None,
        state: None,
        sort: None,
        desc: false,
        page: PageReq {
            limit: Some(PAGE as u32),
            cursor: cursor.map(str::to_string),
        },
    })
}

/// The pane's answer to `result` arriving for `call` in `slot`.
fn reply(
    p: &mut UsersPane,
    slot: &'static str,
    call: Call,
    result: Result<Reply, ApiError>,
) -> Vec<Cmd> {
    p.update(PaneMsg::Reply { slot, call, result }, &cx())
}

/// The answer to a members page of the 1,000-member org below.
fn members_reply(p: &mut UsersPane, call: Call, total: usize) -> Vec<Cmd> {
    let Call::Users(q) = &call else { panic!() };
    let start = match q.page.cursor.as_deref() {
        None => 0,
        Some(c) => c.trim_start_matches('c').parse::<usize>().unwrap(),
    };
    let end = (start + PAGE).min(total);
    let page = Page {
        items: (start..end).map(member).collect(),
        total: total as u64,
        next: (end < total).then(|| format!("c{end}")),
    };
    reply(p, "list", call, Ok(Reply::Users(page)))
}

fn queue_call() -> Call {
    Call::Approvals {
        state: Some(RequestState::Pending),
        page: PageReq::first(PAGE as u32),
    }
}

fn queue_reply(p: &mut UsersPane, items: Vec<ApprovalRequest>) -> Vec<Cmd> {
    let total = items.len() as u64;
    reply(
        p,
        "queue",
        queue_call(),
        Ok(Reply::Approvals(Page {
            items,
            total,
            next: None,
        })),
    )
}

/// A pane with a 3-member page and a 2-request queue, on the queue.
fn with_queue() -> UsersPane {
    let mut p = UsersPane::default();
    p.update(PaneMsg::Activated, &cx());
    members_reply(&mut p, users_call(None), 3);
    queue_reply(&mut p, vec![request("q1", "u1", 1), request("q2", "u2", 4)]);
    act(&mut p, Action::SwitchList);
    p
}

fn decision(r: &ApprovalRequest, state: &str, m: Member) -> Decision {
    let mut r = r.clone();
    r.state = RequestState::parse(state).unwrap();
    Decision {
        request: r,
        member: m,
    }
}

#[test]
fn activation_loads_the_first_page_of_members_and_of_the_queue_once() {
    let mut p = UsersPane::default();
    let c = calls(&p.update(PaneMsg::Activated, &cx()));
    assert_eq!(c, vec![("list", users_call(None)), ("queue", queue_call())]);
    assert!(
        p.update(PaneMsg::Activated, &cx()).is_empty(),
        "the same pages are already on their way"
    );
}

#[test]
fn moving_loads_the_detail_of_the_selected_member_through_the_detail_slot() {
    let mut p = UsersPane::default();
    p.update(PaneMsg::Activated, &cx());
    let c = calls(&members_reply(&mut p, users_call(None), 3));
    assert_eq!(
        c,
        vec![(
            "detail",
            Call::MemberAccess {
                member_id: "u0".into()
            }
        )]
    );
    let c = calls(&act(&mut p, Action::Down));
    assert_eq!(
        c,
        vec![(
            "detail",
            Call::MemberAccess {
                member_id: "u1".into()
            }
        )]
    );
    // At the last row, Down changes nothing and asks for nothing.
    act(&mut p, Action::Bottom);
    assert_eq!(p.members.selected(), 2);
    assert!(act(&mut p, Action::Down).is_empty());
}

#[test]
fn scrolling_pages_from_the_server_and_holds_at_most_three_pages() {
    let total = 1000;
    let mut p = UsersPane::default();
    p.update(PaneMsg::Activated, &cx());
    members_reply(&mut p, users_call(None), total);
    assert_eq!(p.members.rows.len(), PAGE);
    // Walk down row by row: each next page is asked for, with its cursor, before the
    // selection reaches the end of what is loaded.
    let mut fetched = Vec::new();
    for _ in 0..(total - 1) {
        for (slot, c) in calls(&act(&mut p, Action::Down)) {
            if slot == "list" {
                fetched.push(c.clone());
                members_reply(&mut p, c, total);
            }
        }
        assert!(p.members.rows.len() <= MAX_PAGES * PAGE);
        let sel = p.members.selected();
        assert_eq!(p.members.current().unwrap().id, format!("u{sel}"));
    }
    assert_eq!(p.members.selected(), total - 1);
    assert_eq!(
        fetched,
        vec![
            users_call(Some("c200")),
            users_call(Some("c400")),
            users_call(Some("c600")),
            users_call(Some("c800")),
        ]
    );
    assert_eq!(p.members.base, 400, "the first two pages were dropped");
    // g goes back to the top: page 0 is fetched again (no cursor), then the selection
    // lands on the first row once it arrives.
    let c = calls(&act(&mut p, Action::Top));
    assert_eq!(
        p.members.selected(),
        400,
        "stops at the loaded edge meanwhile"
    );
    let list: Vec<_> = c.into_iter().filter(|(s, _)| *s == "list").collect();
    assert_eq!(list, vec![("list", users_call(Some("c200")))]);
    let c = calls(&members_reply(&mut p, list[0].1.clone(), total));
    assert_eq!(c[0], ("list", users_call(None)));
    members_reply(&mut p, c[0].1.clone(), total);
    assert_eq!(p.members.selected(), 0);
    assert_eq!(p.members.current().unwrap().id, "u0");
    assert!(p.members.rows.len() <= MAX_PAGES * PAGE);
}

#[test]
fn bottom_walks_to_the_last_row_page_by_page() {
    let total = 650;
    let mut p = UsersPane::default();
    p.update(PaneMsg::Activated, &cx());
    members_reply(&mut p, users_call(None), total);
    let mut cmds = act(&mut p, Action::Bottom);
    let mut pages = 0;
    while let Some((_, c)) = calls(&cmds).into_iter().find(|(s, _)| *s == "list") {
        pages += 1;
        cmds = members_reply(&mut p, c, total);
    }
    assert_eq!(pages, 3);
    assert_eq!(p.members.selected(), total - 1);
    assert_eq!(p.members.current().unwrap().id, "u649");
}

#[test]
fn the_filter_goes_to_the_server_and_restarts_the_members_list() {
    let mut p = with_queue();
    let c = calls(&p.update(PaneMsg::Filter("ann".into()), &cx()));
    assert_eq!(
        c,
        vec![(
            "list",
            Call::Users(UserQuery {
                filter: Some("ann".into()),
                state: None,
                sort: None,
                desc: false,
                page: PageReq::first(PAGE as u32),
            })
        )]
    );
    assert_eq!(p.list, List::Members);
    assert!(!p.members.loaded);
}

#[test]
fn approve_sends_the_version_seen_and_the_decision_updates_queue_and_member() {
    let mut p = with_queue();
    let c = calls(&act(&mut p, Action::Approve));
    assert_eq!(
        c,
        vec![(
            "decide",
            Call::Approve {
                request_id: "q1".into(),
                version: 1
            }
        )]
    );
    let mut m = member(1);
    m.granted = m.requested.clone();
    m.display_name = Some("Now Granted".into());
    let d = decision(&p.queue.rows[0], "approved", m);
    let cmds = reply(&mut p, "decide", c[0].1.clone(), Ok(Reply::Decision(d)));
    assert_eq!(
        toasts(&cmds),
        ["approved: u1@acme.example (+1 stack)".to_string()]
    );
    assert!(calls(&cmds).contains(&("queue", queue_call())));
    assert_eq!(p.queue.total, 1);
    assert_eq!(p.queue.current().unwrap().id, "q2");
    assert_eq!(
        p.members.rows[1].display_name.as_deref(),
        Some("Now Granted")
    );
}

#[test]
fn approve_from_the_members_list_acts_on_the_members_own_request() {
    let mut p = UsersPane::default();
    p.update(PaneMsg::Activated, &cx());
    members_reply(&mut p, users_call(None), 2);
    let cmds = act(&mut p, Action::Approve);
    assert!(toasts(&cmds)[0].contains("no pending request"));
    p.members.rows[0].request = Some(request("q9", "u0", 7));
    let c = calls(&act(&mut p, Action::Approve));
    assert_eq!(
        c[0].1,
        Call::Approve {
            request_id: "q9".into(),
            version: 7
        }
    );
}

#[test]
fn reject_takes_a_typed_reason() {
    let mut p = with_queue();
    act(&mut p, Action::Down);
    assert!(act(&mut p, Action::Reject).is_empty());
    assert!(p.input().is_some());
    // An empty reason is refused; the prompt stays.
    assert!(p.update(k(&p, KeyCode::Enter), &cx()).is_empty());
    assert!(p.input().is_some());
    for ch in "not on the team".chars() {
        p.update(k(&p, KeyCode::Char(ch)), &cx());
    }
    let c = calls(&p.update(k(&p, KeyCode::Enter), &cx()));
    assert_eq!(
        c,
        vec![(
            "decide",
            Call::Reject {
                request_id: "q2".into(),
                version: 4,
                reason: "not on the team".into()
            }
        )]
    );
    assert!(p.input().is_none());
    // Esc backs out without a call.
    act(&mut p, Action::Reject);
    assert!(p.update(k(&p, KeyCode::Esc), &cx()).is_empty());
    assert!(p.dialog.is_none());
}

#[test]
fn bulk_approve_confirms_with_the_count_and_defaults_to_cancel() {
    let mut p = with_queue();
    act(&mut p, Action::Mark);
    act(&mut p, Action::Mark);
    assert_eq!(p.marked.len(), 2);
    act(&mut p, Action::ApproveMarked);
    match &p.dialog {
        Some(Dialog::Confirm(Ask { confirm, .. })) => {
            assert_eq!(confirm.action, "Approve 2");
            // Issue 24, item 4: the question names the people.
            assert!(
                confirm.message.contains("Approve 2 pending requests (")
                    && confirm.message.contains("@acme.example and "),
                "{}",
                confirm.message
            );
            assert!(!confirm.on_action(), "starts on Cancel");
        }
        d => panic!("{d:?}"),
    }
    assert!(p.update(k(&p, KeyCode::Enter), &cx()).is_empty());
    assert!(p.dialog.is_none());
    assert_eq!(p.marked.len(), 2, "cancel keeps the marks");
    act(&mut p, Action::ApproveMarked);
    p.update(k(&p, KeyCode::Tab), &cx());
    let c = calls(&p.update(k(&p, KeyCode::Enter), &cx()));
    assert_eq!(
        c,
        vec![
            (
                "decide",
                Call::Approve {
                    request_id: "q1".into(),
                    version: 1
                }
            ),
            (
                "decide",
                Call::Approve {
                    request_id: "q2".into(),
                    version: 4
                }
            ),
        ]
    );
    // One answer approved, the other changed meanwhile: one summary toast.
    let first = decision(&p.queue.rows[0], "approved", member(1));
    let cmds = reply(&mut p, "decide", c[0].1.clone(), Ok(Reply::Decision(first)));
    assert!(toasts(&cmds).is_empty());
    let cmds = reply(
        &mut p,
        "decide",
        c[1].1.clone(),
        Err(ApiError::Conflict {
            message: "version".into(),
            request: Some(Box::new(request("q2", "u2", 5))),
        }),
    );
    assert_eq!(
        toasts(&cmds),
        ["approved 1; 1 changed since marked: review them again".to_string()]
    );
    assert!(p.marked.is_empty());
    assert!(p.bulk.is_none());
}

#[test]
fn a_409_shows_the_refreshed_diff_and_says_review_it_again() {
    let mut p = with_queue();
    let c = calls(&act(&mut p, Action::Approve));
    let mut fresh = request("q1", "u1", 2);
    fresh.diff.org_role_to = Some(crate::domain::access::OrgRole::Admin);
    let cmds = reply(
        &mut p,
        "decide",
        c[0].1.clone(),
        Err(ApiError::Conflict {
            message: "version".into(),
            request: Some(Box::new(fresh)),
        }),
    );
    assert_eq!(
        toasts(&cmds),
        ["this request changed; review it again".to_string()]
    );
    assert_eq!(p.queue.current().unwrap().version, 2);
    assert!(p.changed.contains("q1"));
    let s = screen(120, 20, |f| {
        p.view(f, f.area(), &ViewCtx::new(Theme::mono()))
    });
    assert!(s.contains("⚠ this request changed; review it again"), "{s}");
    assert!(s.contains("+ org role: Member → Admin"), "{s}");
    assert!(s.contains("+ Developer on Mobile App"), "{s}");
    assert!(s.contains("changed"), "the row is tagged:\n{s}");
    // Approving again sends the new version.
    let c = calls(&act(&mut p, Action::Approve));
    assert_eq!(
        c[0].1,
        Call::Approve {
            request_id: "q1".into(),
            version: 2
        }
    );
}

#[test]
fn auth_errors_say_which_token_and_which_role() {
    let mut p = with_queue();
    let c = calls(&act(&mut p, Action::Approve));
    let cmds = reply(
        &mut p,
        "decide",
        c[0].1.clone(),
        Err(ApiError::Forbidden {
            token: "SCIMDESK_TOKEN".into(),
            needs: crate::client::Needs::OwnerOrAdmin,
            message: "member".into(),
        }),
    );
    let t = &toasts(&cmds)[0];
    assert!(t.starts_with("cannot approve"), "{t}");
    assert!(
        t.contains("SCIMDESK_TOKEN") && t.contains("Owner or Admin"),
        "{t}"
    );
    // A refused list load stays on screen, not only in a toast.
    let mut p = UsersPane::default();
    p.update(PaneMsg::Activated, &cx());
    reply(
        &mut p,
        "list",
        users_call(None),
        Err(ApiError::Unauthorized {
            token: "profile acme".into(),
            message: "revoked".into(),
        }),
    );
    let s = screen(80, 24, |f| {
        p.view(f, f.area(), &ViewCtx::new(Theme::mono()))
    });
    assert!(s.contains("profile acme"), "{s}");
}

#[test]
fn a_poll_refreshes_the_queue_and_tags_what_is_new_until_seen() {
    let mut p = with_queue();
    assert!(p.new.is_empty(), "nothing is new on the first load");
    let c = calls(&p.update(PaneMsg::Poll, &cx()));
    assert_eq!(
        c[..2],
        [("queue", queue_call()), ("list", users_call(None))]
    );
    queue_reply(
        &mut p,
        vec![
            request("q1", "u1", 1),
            request("q2", "u2", 4),
            request("q3", "u0", 1),
        ],
    );
    assert_eq!(p.new, HashSet::from(["q3".to_string()]));
    let s = screen(120, 20, |f| {
        p.view(f, f.area(), &ViewCtx::new(Theme::mono()))
    });
    let row = s.lines().find(|l| l.contains("u0@acme")).unwrap();
    assert!(row.contains("new"), "{row}");
    act(&mut p, Action::Bottom);
    assert!(p.new.is_empty(), "selecting it is seeing it");
}

/// The members list follows the server on each poll, and the selection stays on its
/// member when rows before it come or go; a poll does not ask again for a page on its way.
#[test]
fn a_poll_refreshes_the_members_and_the_selection_follows_its_member() {
    let mut p = UsersPane::default();
    p.update(PaneMsg::Activated, &cx());
    members_reply(&mut p, users_call(None), 3);
    act(&mut p, Action::Down);
    act(&mut p, Action::Down);
    assert_eq!(p.members.current().unwrap().id, "u2");
    let c = calls(&p.update(PaneMsg::Poll, &cx()));
    let list: Vec<_> = c.iter().filter(|(slot, _)| *slot == "list").collect();
    assert_eq!(list, [&("list", users_call(None))]);
    assert!(
        calls(&p.update(PaneMsg::Poll, &cx()))
            .iter()
            .all(|(slot, _)| *slot != "list"),
        "the page is already on its way"
    );
    // u0 left and u9 came: u2 is now the second row, and stays selected.
    let page = Page {
        items: vec![member(1), member(2), member(9)],
        total: 3,
        next: None,
    };
    reply(&mut p, "list", users_call(None), Ok(Reply::Users(page)));
    assert_eq!(p.members.current().unwrap().id, "u2");
    assert_eq!(p.members.selected(), 1);
    // When the selected member is gone, the selection keeps its place.
    let page = Page {
        items: vec![member(1), member(9)],
        total: 2,
        next: None,
    };
    p.update(PaneMsg::Poll, &cx());
    reply(&mut p, "list", users_call(None), Ok(Reply::Users(page)));
    assert_eq!(p.members.current().unwrap().id, "u9");
}

/// With the server down, a poll's failures are the banner's to tell: no toast every 5 s,
/// and the list says it could not load.
#[test]
fn a_poll_against_an_unreachable_server_adds_no_toasts() {
    let mut p = UsersPane::default();
    p.update(PaneMsg::Activated, &cx());
    members_reply(&mut p, users_call(None), 3);
    p.update(PaneMsg::Poll, &cx());
    let out = reply(
        &mut p,
        "list",
        users_call(None),
        Err(ApiError::Unreachable {
            url: "http://127.0.0.1:1".into(),
            detail: "connection refused".into(),
        }),
    );
    assert!(toasts(&out).is_empty(), "{:?}", toasts(&out));
    assert!(p.error.is_some(), "the list says it could not load");
}

/// A request decided elsewhere leaves the queue on a poll: the selection stays on the
/// request the admin was reading, so `a` never approves the one that slid under it.
#[test]
fn the_queue_selection_stays_on_its_request_when_one_before_it_leaves() {
    let mut p = with_queue();
    act(&mut p, Action::Down);
    assert_eq!(p.queue.current().unwrap().id, "q2");
    p.update(PaneMsg::Poll, &cx());
    queue_reply(&mut p, vec![request("q2", "u2", 4), request("q3", "u0", 1)]);
    assert_eq!(p.queue.current().unwrap().id, "q2");
}

#[test]
fn a_marked_request_that_changed_on_refresh_is_unmarked() {
    let mut p = with_queue();
    act(&mut p, Action::Mark);
    queue_reply(&mut p, vec![request("q1", "u1", 3), request("q2", "u2", 4)]);
    assert!(p.marked.is_empty());
    assert!(p.changed.contains("q1"));
}

#[test]
fn marks_of_requests_that_left_the_queue_are_dropped_on_refresh() {
    let mut p = with_queue();
    act(&mut p, Action::Mark);
    act(&mut p, Action::Mark);
    queue_reply(&mut p, vec![request("q2", "u2", 4)]);
    assert_eq!(p.marked.keys().collect::<Vec<_>>(), ["q2"]);
    act(&mut p, Action::ApproveMarked);
    match &p.dialog {
        Some(Dialog::Confirm(Ask { confirm, .. })) => assert_eq!(confirm.action, "Approve 1"),
        d => panic!("{d:?}"),
    }
}

#[test]
fn a_second_bulk_approval_waits_for_the_first() {
    let mut p = with_queue();
    act(&mut p, Action::Mark);
    act(&mut p, Action::ApproveMarked);
    p.update(k(&p, KeyCode::Tab), &cx());
    assert_eq!(calls(&p.update(k(&p, KeyCode::Enter), &cx())).len(), 1);
    let cmds = act(&mut p, Action::ApproveMarked);
    assert!(toasts(&cmds)[0].contains("still waits for 1"));
    assert!(p.dialog.is_none());
}

fn access_of(m: Member) -> MemberAccess {
    serde_json::from_value(json!({
        "member": serde_json::to_value(json!({
            "id": m.id, "email": m.email, "display_name": m.display_name,
            "state": "active", "source": "scim", "created_at": m.created_at,
            "granted": {"org_role": "member", "stack_roles": []},
            "requested": {"org_role": "admin", "stack_roles": [
                {"stack_uid": "mobile", "stack_name": "Mobile App",
                 "role_uid": "developer", "role_name": "Developer"}]}
        })).unwrap(),
        "roles": [
            {"role": {"stack_uid": "mobile", "stack_name": "Mobile App",
                      "role_uid": "developer", "role_name": "Developer"},
             "granted": false, "requested": true,
             "via": [{"kind": "group", "group_id": "g2", "group_name": "Mobile"}]},
            {"role": {"org_role": "member"}, "granted": true, "requested": false,
             "via": []},
            {"role": {"org_role": "admin"}, "granted": false, "requested": true,
             "via": [{"kind": "group", "group_id": "g3", "group_name": "Admins"},
                     {"kind": "manual"}]}
        ]
    }))
    .unwrap()
}

#[test]
fn the_detail_explains_each_role_and_ignores_another_members_answer() {
    let mut p = UsersPane::default();
    p.update(PaneMsg::Activated, &cx());
    members_reply(&mut p, users_call(None), 3);
    let answer = |p: &mut UsersPane, a: MemberAccess| {
        let member_id = a.member.id.clone();
        reply(
            p,
            "detail",
            Call::MemberAccess { member_id },
            Ok(Reply::MemberAccess(a)),
        )
    };
    // An answer for a row the cursor already left does not land.
    answer(&mut p, access_of(member(2)));
    assert!(p.detail.is_none());
    answer(&mut p, access_of(member(0)));
    let s = screen(80, 24, |f| {
        p.view(f, f.area(), &ViewCtx::new(Theme::mono()))
    });
    for want in [
        "User 0 <user00000@acme.example>",
        "active · provisioned by the IdP (SCIM)",
        "Granted: Member",
        "Requested: Admin · Developer on Mobile App",
        "✓ Member (org) ← the default role",
    ] {
        assert!(s.contains(want), "'{want}' in:\n{s}");
    }
    act(&mut p, Action::Open);
    let s = screen(80, 24, |f| {
        p.view(f, f.area(), &ViewCtx::new(Theme::mono()))
    });
    assert!(
        s.contains("⧗ Admin (org) (pending) ← group Admins, set by an admin"),
        "{s}"
    );
    assert!(
        s.contains("⧗ Developer on Mobile App (pending) ← group Mobile"),
        "{s}"
    );
    // The org role comes first, whatever the server's order.
    let org = s.find("Member (org)").unwrap();
    let stack = s.find("Developer on Mobile App (pending)").unwrap();
    assert!(org < stack);
}

#[test]
fn marks_are_for_the_queue() {
    let mut p = UsersPane::default();
    p.update(PaneMsg::Activated, &cx());
    members_reply(&mut p, users_call(None), 2);
    assert!(toasts(&act(&mut p, Action::Mark))[0].contains("press p"));
    assert!(toasts(&act(&mut p, Action::ApproveMarked))[0].contains("nothing is marked"));
}

#[test]
fn remove_asks_as_a_dangerous_action_and_shows_the_servers_warning() {
    let mut p = UsersPane::default();
    p.update(PaneMsg::Activated, &cx());
    members_reply(&mut p, users_call(None), 2);
    act(&mut p, Action::RemoveMember);
    match &p.dialog {
        Some(Dialog::Confirm(Ask { confirm, .. })) => {
            assert!(confirm.danger);
            assert!(!confirm.on_action());
            assert!(confirm.message.contains("user00000@acme.example"));
            assert!(confirm.message.contains("⚠ The IdP manages this member"));
        }
        d => panic!("{d:?}"),
    }
    assert!(
        p.update(k(&p, KeyCode::Enter), &cx()).is_empty(),
        "Cancel first"
    );
    act(&mut p, Action::RemoveMember);
    p.update(k(&p, KeyCode::Tab), &cx());
    let c = calls(&p.update(k(&p, KeyCode::Enter), &cx()));
    assert_eq!(
        c,
        vec![(
            "remove",
            Call::RemoveMember {
                member_id: "u0".into()
            }
        )]
    );
    let mut gone = member(0);
    gone.state = MemberState::Removed;
    let removal: crate::client::Removal = crate::client::Removal {
        member: gone,
        warnings: vec![crate::client::Warning {
            code: "idp_managed".into(),
            message: "The IdP may provision this member again".into(),
        }],
    };
    let cmds = reply(
        &mut p,
        "remove",
        c[0].1.clone(),
        Ok(Reply::Removed(removal)),
    );
    assert_eq!(
        toasts(&cmds),
        [
            "user00000@acme.example removed from the org".to_string(),
            "⚠ The IdP may provision this member again".to_string()
        ]
    );
    assert_eq!(p.members.rows[0].state, MemberState::Removed);
    assert!(toasts(&act(&mut p, Action::RemoveMember))[0].contains("already removed"));
}

#[test]
fn read_only_refuses_the_dangerous_actions_even_if_they_arrive() {
    let mut p = with_queue();
    let ro = Ctx {
        read_only: true,
        ..Default::default()
    };
    for a in [
        Action::Approve,
        Action::Reject,
        Action::Mark,
        Action::ApproveMarked,
        Action::RemoveMember,
    ] {
        assert!(p.update(PaneMsg::Action(a), &ro).is_empty(), "{a:?}");
    }
    assert!(p.dialog.is_none() && p.marked.is_empty());
    let km =
        crate::console::keymap::Keymap::build(&super::super::bindings(), &Default::default(), true)
            .unwrap();
    let key = |c: char| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    assert_eq!(km.lookup(PaneId::Users, &key('a')), None);
    assert_eq!(km.lookup(PaneId::Users, &key('x')), None);
    assert_eq!(
        km.lookup(PaneId::Users, &key('p')),
        Some(Action::SwitchList)
    );
}

#[test]
fn layouts_put_the_detail_below_at_80_columns_and_beside_at_120() {
    let mut p = UsersPane::default();
    p.update(PaneMsg::Activated, &cx());
    members_reply(&mut p, users_call(None), 3);
    let narrow = screen(80, 20, |f| {
        p.view(f, f.area(), &ViewCtx::new(Theme::mono()))
    });
    let lines: Vec<&str> = narrow.lines().collect();
    let member_box = lines.iter().position(|l| l.contains("Member ─")).unwrap();
    assert!(member_box > 5, "detail under the list:\n{narrow}");
    let wide = screen(120, 20, |f| {
        p.view(f, f.area(), &ViewCtx::new(Theme::mono()))
    });
    assert!(
        wide.lines().next().unwrap().contains("Member"),
        "detail beside the list:\n{wide}"
    );
    // Enter zooms the detail at any size; Esc comes back.
    act(&mut p, Action::Open);
    let zoomed = screen(80, 20, |f| {
        p.view(f, f.area(), &ViewCtx::new(Theme::mono()))
    });
    assert!(!zoomed.contains("EMAIL"), "{zoomed}");
    act(&mut p, Action::Back);
    assert!(!p.zoomed);
}

/// `changes::tests::pair()` as a review would show it: Bob gained a role, Eve joined, Cat
/// is unchanged, Ann left.
fn comparing() -> (Ctx, Changes) {
    let (old, new) = crate::console::changes::tests::pair();
    let cx = Ctx {
        read_only: true,
        ..Default::default()
    };
    (cx, Changes::new(&old, &new, "q1.json"))
}

/// The view of a review against OLD: read-only, rows marked with what changed.
fn compared_view(c: &Changes) -> ViewCtx<'_> {
    ViewCtx {
        read_only: true,
        changes: Some(c),
        ..ViewCtx::new(Theme::mono())
    }
}

fn compared_members(p: &mut UsersPane, cx: &Ctx) {
    p.update(PaneMsg::Activated, cx);
    let items: Vec<Member> = ["u-bob", "u-cat", "u-eve"]
        .iter()
        .enumerate()
        .map(|(i, id)| Member {
            id: id.to_string(),
            ..member(i)
        })
        .collect();
    p.update(
        PaneMsg::Reply {
            slot: "list",
            call: users_call(None),
            result: Ok(Reply::Users(Page {
                items,
                total: 3,
                next: None,
            })),
        },
        cx,
    );
}

fn detail_reply(p: &mut UsersPane, a: MemberAccess, cx: &Ctx) {
    let member_id = a.member.id.clone();
    p.update(
        PaneMsg::Reply {
            slot: "detail",
            call: Call::MemberAccess { member_id },
            result: Ok(Reply::MemberAccess(a)),
        },
        cx,
    );
}

fn row<'a>(screen: &'a str, email: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(email))
        .unwrap_or_else(|| panic!("no row for {email}:\n{screen}"))
}

#[test]
fn with_a_comparison_changed_members_are_marked_and_the_detail_says_what_changed() {
    let (cmp, changes) = comparing();
    let vx = compared_view(&changes);
    let mut p = UsersPane::default();
    compared_members(&mut p, &cmp);
    let s = screen(80, 24, |f| p.view(f, f.area(), &vx));
    // A mark column before the name: `+` for Bob (gained) and Eve (joined), blank for
    // Cat; the mark is a symbol, not a colour.
    assert!(row(&s, "user00000").contains("│› + User 0"), "{s}");
    assert!(row(&s, "user00001").contains("│    User 1"), "{s}");
    assert!(row(&s, "user00002").contains("│  + User 2"), "{s}");
    assert!(s.contains("│  Δ NAME"), "{s}");
    // Ann left: no row, but the title counts her and says where she is listed.
    assert!(s.contains("1 left since q1.json — D lists them"), "{s}");

    // Bob's detail: his one change on one line.
    detail_reply(&mut p, access_of(member(0)).with_id("u-bob"), &cmp);
    let s = screen(80, 24, |f| p.view(f, f.area(), &vx));
    assert!(
        s.contains("Δ since q1.json: + stack role Website / Content Manager"),
        "{s}"
    );
    // Eve's: a heading, then a line per change.
    p.update(PaneMsg::Action(Action::Bottom), &cmp);
    detail_reply(&mut p, access_of(member(2)).with_id("u-eve"), &cmp);
    let s = screen(80, 30, |f| p.view(f, f.area(), &vx));
    let lines: Vec<&str> = s.lines().collect();
    let head = lines
        .iter()
        .position(|l| l.contains("Δ since q1.json:"))
        .unwrap_or_else(|| panic!("{s}"));
    for (i, want) in [
        "  + joined as active, org role Admin",
        "  + stack role Mobile app / Admin",
        "  + stack role Website / Developer",
    ]
    .iter()
    .enumerate()
    {
        assert!(lines[head + 1 + i].contains(want), "{want}:\n{s}");
    }
    // Cat did not change: her detail says nothing about OLD.
    p.update(PaneMsg::Action(Action::Up), &cmp);
    detail_reply(&mut p, access_of(member(1)).with_id("u-cat"), &cmp);
    let s = screen(80, 24, |f| p.view(f, f.area(), &vx));
    assert!(s.contains("User 1 <user00001@acme.example>"), "{s}");
    assert!(!s.contains("since q1.json:"), "{s}");

    // In the queue, a request of a member who changed says so after the request.
    p.update(
        PaneMsg::Reply {
            slot: "queue",
            call: queue_call(),
            result: Ok(Reply::Approvals(Page {
                items: vec![request("q1", "u-bob", 1)],
                total: 1,
                next: None,
            })),
        },
        &cmp,
    );
    p.update(PaneMsg::Action(Action::SwitchList), &cmp);
    detail_reply(&mut p, access_of(member(0)).with_id("u-bob"), &cmp);
    let s = screen(120, 30, |f| p.view(f, f.area(), &vx));
    assert!(s.contains("u-bob@acme.example · more access"), "{s}");
    assert!(
        s.contains("││Δ since q1.json: + stack role Website /"),
        "{s}"
    );
    // The left count belongs to the Members list.
    assert!(!s.contains(" left since"), "{s}");
}

#[test]
fn without_a_comparison_there_is_no_mark_column_and_no_left_count() {
    let mut p = UsersPane::default();
    compared_members(&mut p, &cx());
    let s = screen(80, 24, |f| {
        p.view(f, f.area(), &ViewCtx::new(Theme::mono()))
    });
    assert!(row(&s, "user00000").contains("│› User 0"), "{s}");
    assert!(!s.contains('Δ') && !s.contains(" left since"), "{s}");
    // The comparison is the view's: the same pane drawn with one is marked.
    let (_, changes) = comparing();
    let s = screen(80, 24, |f| p.view(f, f.area(), &compared_view(&changes)));
    assert!(row(&s, "user00000").contains("│› + User 0"), "{s}");
}

impl MemberAccess {
    fn with_id(mut self, id: &str) -> MemberAccess {
        self.member.id = id.to_string();
        self
    }
}
