//! The Users pane's state filter, its counts, and a rejected member's detail.

use super::view::rejection_lines;
use super::*;
use crate::console::theme::Theme;
use crate::console::widgets::test_util::screen;
use ratatui::crossterm::event::{KeyEvent, KeyModifiers};
use serde_json::json;

fn member(id: &str, state: &str) -> Member {
    serde_json::from_value(json!({
        "id": id, "email": format!("{id}@acme.example"), "state": state, "source": "scim",
        "groups": [], "created_at": "2026-11-23T10:00:00Z",
        "requested": {"org_role": "member", "stack_roles": []}
    }))
    .unwrap()
}

fn users_calls(cmds: &[Cmd]) -> Vec<UserQuery> {
    cmds.iter()
        .filter_map(|c| match c {
            Cmd::Call {
                call: Call::Users(q),
                ..
            } => Some(q.clone()),
            _ => None,
        })
        .collect()
}

fn land(p: &mut UsersPane, q: UserQuery, items: Vec<Member>) {
    let total = items.len() as u64;
    p.update(
        PaneMsg::Reply {
            slot: "list",
            call: Call::Users(q),
            result: Ok(Reply::Users(Page {
                items,
                total,
                next: None,
            })),
        },
        &Ctx::default(),
    );
}

fn view(p: &UsersPane, w: u16, h: u16) -> String {
    screen(w, h, |f| p.view(f, f.area(), &ViewCtx::new(Theme::mono())))
}

#[test]
fn s_walks_the_states_on_the_server_and_the_title_says_what_is_counted() {
    let mut p = UsersPane::default();
    let q = users_calls(&p.update(PaneMsg::Activated, &Ctx::default()));
    assert_eq!(q[0].state, None);
    land(
        &mut p,
        q[0].clone(),
        vec![
            member("a", "active"),
            member("r", "rejected"),
            member("x", "removed"),
        ],
    );
    assert!(view(&p, 80, 24).contains("Members (3, all states)"));
    let key = |p: &UsersPane| {
        crate::console::panes::test_key(p, KeyEvent::new(KeyCode::Char('s'), KeyModifiers::NONE))
    };
    let mut seen = Vec::new();
    for _ in 0..6 {
        let msg = key(&p);
        let q = users_calls(&p.update(msg, &Ctx::default()));
        assert_eq!(q.len(), 1, "each step asks the server again");
        assert_eq!(q[0].page.cursor, None, "from the first page");
        seen.push(q[0].state);
        if q[0].state == Some(MemberState::Active) {
            land(&mut p, q[0].clone(), vec![member("a", "active")]);
            let s = view(&p, 80, 24);
            assert!(s.contains("Members (1 active)"), "{s}");
        }
    }
    assert_eq!(
        seen,
        vec![
            Some(MemberState::Active),
            Some(MemberState::Pending),
            Some(MemberState::Rejected),
            Some(MemberState::Deprovisioned),
            Some(MemberState::Removed),
            None
        ]
    );
    // An empty state says how to leave it.
    let q = users_calls(&p.update(key(&p), &Ctx::default()));
    land(&mut p, q[0].clone(), vec![]);
    assert!(view(&p, 80, 24).contains("No active member (s shows another state)"));
}

#[test]
fn the_state_filter_holds_with_a_text_filter() {
    let mut p = UsersPane {
        state_filter: Some(MemberState::Pending),
        ..Default::default()
    };
    let q = users_calls(&p.update(PaneMsg::Filter("ann".into()), &Ctx::default()));
    assert_eq!(q[0].state, Some(MemberState::Pending));
    assert_eq!(q[0].filter.as_deref(), Some("ann"));
}

fn rejected_access(reason: Option<&str>) -> MemberAccess {
    serde_json::from_value(json!({
        "member": {
            "id": "r1", "email": "dee@acme.example", "state": "rejected", "source": "scim",
            "created_at": "2026-11-23T10:00:00Z", "granted": null,
            "requested": {"org_role": "member", "stack_roles": []},
            "rejection": {"request_id": "q1", "decided_by": "owner@acme.example",
                          "decided_at": "2026-12-04T03:41:27.428Z", "reason": reason}
        },
        "roles": [{"role": {"org_role": "member"}, "granted": false, "requested": true,
                   "via": []}]
    }))
    .unwrap()
}

#[test]
fn a_rejected_member_says_who_rejected_it_when_and_why() {
    let mut p = UsersPane::default();
    let q = users_calls(&p.update(PaneMsg::Activated, &Ctx::default()));
    let a = rejected_access(Some("not an employee"));
    land(&mut p, q[0].clone(), vec![a.member.clone()]);
    p.update(
        PaneMsg::Reply {
            slot: "detail",
            call: Call::MemberAccess {
                member_id: "r1".into(),
            },
            result: Ok(Reply::MemberAccess(a)),
        },
        &Ctx::default(),
    );
    let s = view(&p, 80, 24);
    assert!(
        s.contains("✗ Rejected by owner@acme.example on 2026-12-04 03:41 UTC"),
        "{s}"
    );
    assert!(s.contains("Reason: not an employee"), "{s}");
    assert!(s.contains("Asked for (rejected): "), "{s}");
    assert!(
        !s.contains("(pending)"),
        "nothing of a rejected member is pending: {s}"
    );
    insta::assert_snapshot!("users_rejected_member_120x30", view(&p, 120, 30));
    // Without a reason, it says so.
    let mut m = rejected_access(None).member;
    m.id = "r2".into();
    let lines = rejection_lines(&m, &Theme::mono());
    assert_eq!(lines[1].to_string(), "  No reason was given");
}

#[test]
fn o_orders_by_the_next_column_and_capital_o_reverses_on_the_server() {
    let mut p = UsersPane::default();
    let q = users_calls(&p.update(PaneMsg::Activated, &Ctx::default()));
    assert_eq!(
        (q[0].sort, q[0].desc),
        (None, false),
        "email order by default"
    );
    land(&mut p, q[0].clone(), vec![member("a", "active")]);
    let press = |p: &mut UsersPane, c: char| {
        let msg =
            crate::console::panes::test_key(p, KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        users_calls(&p.update(msg, &Ctx::default()))
    };
    let mut seen = Vec::new();
    for _ in 0..4 {
        let q = press(&mut p, 'o');
        assert_eq!(q[0].page.cursor, None, "from the first page");
        seen.push(q[0].sort);
    }
    assert_eq!(
        seen,
        vec![
            Some(crate::client::UserSort::Name),
            Some(crate::client::UserSort::State),
            Some(crate::client::UserSort::Created),
            None
        ]
    );
    press(&mut p, 'o');
    let q = press(&mut p, 'O');
    assert_eq!(
        (q[0].sort, q[0].desc),
        (Some(crate::client::UserSort::Name), true)
    );
    land(&mut p, q[0].clone(), vec![member("a", "active")]);
    let s = view(&p, 100, 24);
    assert!(s.contains("by name ↓"), "{s}");
}

/// Issue 24, item 11: a state too long for its column ends with `…`, never `deprovisio`.
#[test]
fn a_cut_state_cell_ends_with_an_ellipsis() {
    let mut p = UsersPane {
        members: Paged::of(vec![member("u1", "deprovisioned")]),
        ..Default::default()
    };
    p.members.loaded = true;
    let s = view(&p, 80, 20);
    let row = s.lines().find(|l| l.contains("u1@acme")).unwrap();
    assert!(row.contains("deprovisi…"), "{row}");
}
