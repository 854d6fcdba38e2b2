use super::*;
use crate::client::Page;
use crate::console::theme::Theme;
use crate::console::widgets::test_util::screen;
use serde_json::json;

fn event(id: u32, action: &str, actor: &str, target: &str) -> AuditEvent {
    AuditEvent {
        id: id.to_string(),
        at: format!("2026-12-04T09:{:02}:{:02}.000Z", id / 60 % 60, id % 60),
        actor: actor.into(),
        action: action.into(),
        target: Some(target.into()),
        target_name: None,
        before: None,
        after: None,
    }
}

/// `n` events, newest (highest id) first, as the server pages them.
fn events(n: u32) -> Vec<AuditEvent> {
    (1..=n)
        .rev()
        .map(|i| event(i, "scim.user.update", "okta", &format!("u{i}")))
        .collect()
}

/// The log's calls (the stacks, asked once for their names, left out).
fn calls(cmds: &[Cmd]) -> Vec<Call> {
    cmds.iter()
        .filter_map(|c| match c {
            Cmd::Call { call, .. } if !matches!(call, Call::Stacks(_)) => Some(call.clone()),
            _ => None,
        })
        .collect()
}

fn answer(
    p: &mut AuditPane,
    c: &Call,
    items: Vec<AuditEvent>,
    total: u64,
    next: Option<&str>,
) -> Vec<Cmd> {
    p.update(
        PaneMsg::Reply {
            slot: "list",
            call: c.clone(),
            result: Ok(Reply::Audit(Page {
                items,
                total,
                next: next.map(Into::into),
            })),
        },
        &Ctx::default(),
    )
}

fn loaded(items: Vec<AuditEvent>) -> AuditPane {
    let mut p = AuditPane::default();
    let c = calls(&p.update(PaneMsg::Activated, &Ctx::default()));
    let n = items.len() as u64;
    answer(&mut p, &c[0], items, n, None);
    p
}

fn query(c: &Call) -> &AuditQuery {
    match c {
        Call::Audit(q) => q,
        other => panic!("not an audit call: {other:?}"),
    }
}

fn view(p: &AuditPane, w: u16, h: u16) -> String {
    screen(w, h, |f| p.view(f, f.area(), &ViewCtx::new(Theme::mono())))
}

#[test]
fn activation_asks_for_the_newest_page_once() {
    let mut p = AuditPane::default();
    let c = calls(&p.update(PaneMsg::Activated, &Ctx::default()));
    assert_eq!(c.len(), 1);
    assert_eq!(query(&c[0]).page.cursor, None);
    assert_eq!(query(&c[0]).actor, None);
    answer(&mut p, &c[0], events(3), 3, None);
    assert_eq!(p.selected().unwrap().id, "3", "newest first, selected");
    assert!(p.update(PaneMsg::Activated, &Ctx::default()).is_empty());
}

#[test]
fn the_filter_asks_the_server_and_a_half_typed_date_waits() {
    let mut p = loaded(events(3));
    let c = calls(&p.update(
        PaneMsg::Filter("okta approval since:2026-12-01".into()),
        &Ctx::default(),
    ));
    let q = query(&c[0]);
    assert_eq!(q.actor.as_deref(), Some("okta"));
    assert_eq!(q.action.as_deref(), Some("approval"));
    assert_eq!(q.since.as_deref(), Some("2026-12-01T00:00:00.000Z"));
    answer(&mut p, &c[0], events(2), 2, None);
    // Typing on into a date: nothing is asked until it is one, and the title says why.
    let c = p.update(
        PaneMsg::Filter("okta since:2026-12".into()),
        &Ctx::default(),
    );
    assert!(c.is_empty());
    assert_eq!(
        p.events.rows.len(),
        2,
        "the rows stay while the filter is unfinished"
    );
    let s = view(&p, 80, 20);
    assert!(s.contains("type a date (2026-12-04)"), "{s}");
    let c = calls(&p.update(PaneMsg::Filter(String::new()), &Ctx::default()));
    assert_eq!(
        query(&c[0]),
        &AuditQuery {
            page: PageReq::first(200),
            ..Default::default()
        }
    );
}

#[test]
fn the_poll_follows_the_page_on_screen_and_keeps_the_selection() {
    let mut p = loaded(events(3));
    p.update(PaneMsg::Action(Action::Down), &Ctx::default());
    assert_eq!(p.selected().unwrap().id, "2");
    let c = calls(&p.update(PaneMsg::Poll, &Ctx::default()));
    assert_eq!(c.len(), 1, "live: the page is asked again");
    // Two new events arrived on top: the selection stays on event 2.
    answer(&mut p, &c[0], events(5), 5, None);
    assert_eq!(p.selected().unwrap().id, "2");
    assert_eq!(p.events.total, 5);
    // While a page is on its way, a poll asks nothing more.
    let _ = p.update(PaneMsg::Poll, &Ctx::default());
    assert!(p.update(PaneMsg::Poll, &Ctx::default()).is_empty());
}

#[test]
fn scrolling_down_fetches_the_next_page_by_cursor() {
    let mut p = AuditPane::default();
    let c = calls(&p.update(PaneMsg::Activated, &Ctx::default()));
    let first: Vec<AuditEvent> = events(400).into_iter().take(200).collect();
    answer(&mut p, &c[0], first, 400, Some("201"));
    let c = calls(&p.update(PaneMsg::Action(Action::Bottom), &Ctx::default()));
    assert_eq!(query(&c[0]).page.cursor.as_deref(), Some("201"));
}

#[test]
fn enter_shows_the_event_whole_and_scrolls_it() {
    let mut e = event(7, "scim.user.update", "okta", "u1");
    e.target_name = Some("ann@acme.example".into());
    e.before = Some(json!({"title": "Engineer", "active": true, "emails": [{"value": "a@x"}]}));
    e.after = Some(json!({"title": "Staff Engineer", "active": true, "department": "R&D"}));
    let mut p = loaded(vec![e]);
    p.update(PaneMsg::Action(Action::Open), &Ctx::default());
    assert!(p.zoomed);
    let s = view(&p, 80, 20);
    assert!(
        s.contains("title: \"Engineer\" → \"Staff Engineer\""),
        "{s}"
    );
    assert!(s.contains("+ department: \"R&D\""), "{s}");
    assert!(s.contains("- emails[0].value: \"a@x\""), "{s}");
    assert!(!s.contains("active"), "unchanged paths are left out: {s}");
    assert!(s.contains("target ann@acme.example (u1)"), "{s}");
    insta::assert_snapshot!("audit_event_80x20", s);
    p.update(PaneMsg::Action(Action::Down), &Ctx::default());
    assert_eq!(p.scroll, 1);
    p.update(PaneMsg::Action(Action::Back), &Ctx::default());
    assert!(!p.zoomed);
    assert_eq!(p.scroll, 0);
}

#[test]
fn the_list_at_three_sizes() {
    let mut rows = events(30);
    rows[0].target_name = Some("a.very.long.name.that.does.not.fit@subsidiary.acme.example".into());
    rows[1].action = "approval.approved".into();
    rows[1].actor = "owner@acme.example".into();
    rows[1].before = Some(json!({"state": "pending"}));
    rows[1].after = Some(json!({"state": "approved", "reason": null}));
    let mut p = loaded(rows);
    p.update(PaneMsg::Action(Action::Down), &Ctx::default());
    for (w, h) in [(60, 20), (80, 24), (160, 50)] {
        let s = view(&p, w, h);
        assert!(s.contains("approval.approved"), "{w}x{h}: {s}");
        assert!(s.contains("Audit (30 events)"), "{w}x{h}: {s}");
        insta::assert_snapshot!(format!("audit_list_{w}x{h}"), s);
    }
    let s = view(&p, 80, 24);
    assert!(s.contains('…'), "a long target is cut with …: {s}");
}

#[test]
fn h_on_an_event_opens_its_targets_history() {
    let mut e = event(9, "access.changed", "owner@acme.example", "m1");
    e.target_name = Some("ann@acme.example".into());
    let p = loaded(vec![e]);
    let s = p.subject().unwrap();
    assert_eq!(s.target, "m1");
    assert_eq!(s.label, "ann@acme.example");
    assert_eq!(
        query::parse(&history(&s.target)).unwrap().target.as_deref(),
        Some("m1")
    );
}

#[test]
fn change_words_cover_create_update_and_delete() {
    assert_eq!(
        change_words(None, Some(&json!({"name": "Web", "roles": ["a"]}))),
        vec!["+ name: \"Web\"", "+ roles[0]: \"a\""]
    );
    assert_eq!(
        change_words(Some(&json!({"label": "okta"})), None),
        vec!["- label: \"okta\""]
    );
    assert_eq!(
        change_words(Some(&json!(1)), Some(&json!(2))),
        vec!["value: 1 → 2"]
    );
    assert!(change_words(Some(&json!({"a": 1})), Some(&json!({"a": 1}))).is_empty());
}

#[test]
fn a_failed_load_says_why_in_the_list() {
    let mut p = AuditPane::default();
    let c = calls(&p.update(PaneMsg::Activated, &Ctx::default()));
    let cmds = p.update(
        PaneMsg::Reply {
            slot: "list",
            call: c[0].clone(),
            result: Err(ApiError::Rejected {
                status: 403,
                code: "forbidden".into(),
                message: "only an Owner or Admin may read the audit log".into(),
            }),
        },
        &Ctx::default(),
    );
    assert_eq!(cmds.len(), 1, "one toast");
    let s = view(&p, 80, 24);
    assert!(s.contains("only an Owner or Admin"), "{s}");
}

mod in_the_app {
    use super::*;
    use crate::client::{Group, Member};
    use crate::console::app::tests::{code, key, runs, state};
    use crate::console::app::{Msg, State, update};
    use ratatui::crossterm::event::KeyCode;

    fn member(id: &str, email: &str) -> Member {
        serde_json::from_value(json!({
            "id": id, "email": email, "state": "active", "source": "scim", "groups": [],
            "created_at": "2026-11-23T10:00:00Z"
        }))
        .unwrap()
    }

    fn audit_calls(cmds: &[Cmd]) -> Vec<AuditQuery> {
        runs(cmds)
            .into_iter()
            .filter_map(|c| match c {
                Call::Audit(q) => Some(q),
                _ => None,
            })
            .collect()
    }

    fn started() -> State {
        let mut s = state();
        update(&mut s, Msg::Start);
        s
    }

    #[test]
    fn four_and_colon_audit_open_the_pane_and_load_it() {
        let mut s = started();
        let cmds = update(&mut s, key('4'));
        assert_eq!(s.pane, PaneId::Audit);
        assert_eq!(audit_calls(&cmds).len(), 1);
        update(&mut s, key('1'));
        update(&mut s, key(':'));
        for c in "audit".chars() {
            update(&mut s, key(c));
        }
        update(&mut s, code(KeyCode::Enter));
        assert_eq!(s.pane, PaneId::Audit);
        update(&mut s, code(KeyCode::Tab));
        assert_eq!(s.pane, PaneId::Scim, "Tab goes round the four panes");
        update(&mut s, code(KeyCode::BackTab));
        assert_eq!(s.pane, PaneId::Audit);
    }

    #[test]
    fn h_on_a_member_opens_its_history_by_name() {
        let mut s = started();
        s.users.members = Paged::of(vec![member("m1", "ann@acme.example")]);
        let cmds = update(&mut s, key('H'));
        assert_eq!(s.pane, PaneId::Audit);
        assert_eq!(s.filter(PaneId::Audit), "target:m1");
        let q = audit_calls(&cmds);
        assert_eq!(q.len(), 1, "one fetch, for the history: {cmds:?}");
        assert_eq!(q[0].target.as_deref(), Some("m1"));
        let shot = crate::console::widgets::test_util::screen(80, 24, |f| {
            crate::console::views::draw(f, &s, &Theme::mono())
        });
        assert!(shot.contains("history of ann@acme.example"), "{shot}");
        // Esc drops the history: the whole log again.
        let cmds = update(&mut s, code(KeyCode::Esc));
        assert_eq!(audit_calls(&cmds)[0].target, None);
    }

    #[test]
    fn h_on_a_group_opens_the_group_and_mapping_history() {
        let mut s = started();
        update(&mut s, key('3'));
        let g: Group = serde_json::from_value(json!({
            "id": "g1", "display_name": "Developers", "member_count": 3
        }))
        .unwrap();
        s.mapping.groups = Paged::of(vec![g]);
        let cmds = update(&mut s, key('H'));
        assert_eq!(s.pane, PaneId::Audit);
        assert_eq!(audit_calls(&cmds)[0].target.as_deref(), Some("g1"));
        assert_eq!(s.audit.labels.get("g1").unwrap(), "group Developers");
    }

    #[test]
    fn h_with_nothing_selected_says_what_to_select() {
        let mut s = started();
        update(&mut s, key('4'));
        let cmds = update(&mut s, key('H'));
        assert!(audit_calls(&cmds).is_empty());
        assert_eq!(s.pane, PaneId::Audit);
        assert_eq!(s.filter(PaneId::Audit), "", "the filter is left alone");
        assert!(
            s.toasts
                .iter()
                .any(|(t, _)| t.text.contains("a member (2 Users)")),
            "{:?}",
            s.toasts
        );
    }
}

/// Issue 24, item 6: an event reads by name (the stacks the pane asked for), role sets as
/// sets; `u` shows the raw fields with their uids, and `u` again the names.
#[test]
fn the_detail_names_roles_and_u_shows_the_uids() {
    let mut e = event(1, "mapping.update", "owner@acme.example", "g1");
    e.before = Some(json!({"org_role": "member", "stack_roles": [
        {"stack_uid": "st_1821", "role_uid": "developer"},
        {"stack_uid": "st_1821", "role_uid": "role_e975"}]}));
    e.after = Some(json!({"org_role": "member", "stack_roles": [
        {"stack_uid": "st_1821", "role_uid": "admin"},
        {"stack_uid": "st_1821", "role_uid": "developer"},
        {"stack_uid": "st_1821", "role_uid": "role_e975"}]}));
    // Activation asks for the stacks once, beside the first page.
    let mut p = AuditPane::default();
    let c = p.update(PaneMsg::Activated, &Ctx::default());
    let stacks = c
        .iter()
        .find_map(|c| match c {
            Cmd::Call { call, .. } if matches!(call, Call::Stacks(_)) => Some(call.clone()),
            _ => None,
        })
        .expect("the stacks, for their names");
    answer(&mut p, &calls(&c)[0], vec![e], 1, None);
    p.update(
        PaneMsg::Reply {
            slot: "stacks",
            call: stacks,
            result: Ok(Reply::Stacks(Page {
                items: vec![
                    serde_json::from_value(json!({
                        "uid": "st_1821", "name": "Mobile App",
                        "roles": [{"uid": "admin", "name": "Admin", "builtin": true},
                                  {"uid": "role_e975", "name": "Release Manager"}]
                    }))
                    .unwrap(),
                ],
                total: 1,
                next: None,
            })),
        },
        &Ctx::default(),
    );
    let s = view(&p, 120, 30);
    assert!(s.contains("+ Admin on Mobile App"), "{s}");
    assert!(!s.contains("st_1821"), "{s}");
    assert!(!s.contains("role_e975"), "{s}");
    let km = crate::console::keymap::Keymap::build(
        &crate::console::panes::bindings(),
        &Default::default(),
        false,
    )
    .unwrap();
    let u = ratatui::crossterm::event::KeyEvent::new(
        ratatui::crossterm::event::KeyCode::Char('u'),
        ratatui::crossterm::event::KeyModifiers::NONE,
    );
    let a = km.lookup(PaneId::Audit, &u).expect("u is bound");
    p.update(PaneMsg::Action(a), &Ctx::default());
    let s = view(&p, 120, 30);
    assert!(s.contains("st_1821"), "{s}");
    p.update(PaneMsg::Action(a), &Ctx::default());
    assert!(!view(&p, 120, 30).contains("st_1821"));
}
