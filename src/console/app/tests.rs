use super::*;
use crate::client::{Page, ScimSettings, UserQuery};
use crate::console::panes;
use ratatui::crossterm::event::KeyModifiers;
use std::collections::BTreeMap;

/// The app's question, when one is open: what a yes does.
pub fn asking(s: &State) -> Option<Leave> {
    match &s.mode {
        Mode::Confirm(ask) => Some(ask.then.clone()),
        _ => None,
    }
}

pub fn state() -> State {
    let km = Keymap::build(&panes::bindings(), &BTreeMap::new(), false).unwrap();
    State::new(km, "http://srv".into(), "acme".into(), false)
}

pub fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

pub fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

pub fn runs(cmds: &[Cmd]) -> Vec<Call> {
    cmds.iter()
        .filter_map(|c| match c {
            Cmd::Run { call, .. } => Some(call.clone()),
            _ => None,
        })
        .collect()
}

fn run_id(cmds: &[Cmd], pred: impl Fn(&Call) -> bool) -> ReqId {
    cmds.iter()
        .find_map(|c| match c {
            Cmd::Run { id, call } if pred(call) => Some(*id),
            _ => None,
        })
        .expect("a matching call")
}

fn type_str(s: &mut State, text: &str) -> Vec<Cmd> {
    text.chars().flat_map(|c| update(s, key(c))).collect()
}

#[test]
fn start_loads_the_header_and_the_first_pane() {
    let mut s = state();
    let calls = runs(&update(&mut s, Msg::Start));
    assert!(calls.contains(&Call::Org));
    assert!(calls.iter().any(|c| matches!(
        c,
        Call::Approvals {
            state: Some(RequestState::Pending),
            ..
        }
    )));
    assert!(calls.iter().any(|c| matches!(c, Call::Users(_))));
    assert!(s.busy());
}

#[test]
fn pane_switching_with_numbers_tab_and_backtab() {
    let mut s = state();
    update(&mut s, Msg::Start);
    let cmds = update(&mut s, key('1'));
    assert_eq!(s.pane, PaneId::Scim);
    assert!(runs(&cmds).contains(&Call::ScimSettings));
    update(&mut s, code(KeyCode::Tab));
    assert_eq!(s.pane, PaneId::Users);
    update(&mut s, code(KeyCode::Tab));
    assert_eq!(s.pane, PaneId::Mapping);
    update(&mut s, code(KeyCode::BackTab));
    assert_eq!(s.pane, PaneId::Users);
    update(&mut s, key('3'));
    assert_eq!(s.pane, PaneId::Mapping);
    update(&mut s, key('2'));
    assert_eq!(s.pane, PaneId::Users);
}

#[test]
fn quit_with_q_and_ctrl_c() {
    let mut s = state();
    assert_eq!(update(&mut s, key('q')), vec![Cmd::Quit]);
    let mut s = state();
    let ctrl_c = Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    s.mode = Mode::Filter(LineEdit::default());
    assert_eq!(update(&mut s, ctrl_c), vec![Cmd::Quit]);
}

#[test]
fn leaving_or_quitting_with_unsaved_edits_asks_first() {
    let mut s = state();
    s.pane = PaneId::Scim;
    s.scim.dialog = None;
    // The SCIM pane never has unsaved edits; stand in a dirty pane through its flag.
    s.scim.test_dirty = true;
    assert!(update(&mut s, key('2')).is_empty());
    assert_eq!(asking(&s), Some(Leave::To(PaneId::Users)));
    update(&mut s, key('n'));
    assert_eq!(s.pane, PaneId::Scim);
    // A dialog like the panes': Enter on Cancel stays, a stray key does nothing, the
    // action button leaves.
    update(&mut s, key('2'));
    update(&mut s, code(KeyCode::Enter));
    assert_eq!((s.pane, asking(&s)), (PaneId::Scim, None));
    update(&mut s, key('2'));
    update(&mut s, key('y'));
    assert_eq!(asking(&s), Some(Leave::To(PaneId::Users)));
    update(&mut s, code(KeyCode::Tab));
    update(&mut s, code(KeyCode::Enter));
    assert_eq!(s.pane, PaneId::Users);
    assert!(update(&mut s, key('q')).is_empty());
    assert_eq!(asking(&s), Some(Leave::Quit));
    assert!(update(&mut s, code(KeyCode::Esc)).is_empty());
    assert_eq!(s.mode, Mode::Normal);
    update(&mut s, key('q'));
    update(&mut s, code(KeyCode::Tab));
    assert_eq!(update(&mut s, code(KeyCode::Enter)), vec![Cmd::Quit]);
}

#[test]
fn help_opens_with_question_mark_and_q_closes_it() {
    let mut s = state();
    update(&mut s, key('?'));
    assert!(matches!(s.mode, Mode::Help { scroll: 0, .. }));
    // q closes help instead of quitting.
    assert!(update(&mut s, key('q')).is_empty());
    assert_eq!(s.mode, Mode::Normal);
}

fn help_scroll(s: &State) -> usize {
    match &s.mode {
        Mode::Help { scroll, .. } => *scroll,
        other => panic!("help is closed: {other:?}"),
    }
}

/// The frame of `s` at `w`×`h`, one string.
fn screen(s: &mut State, w: u16, h: u16) -> String {
    s.size = (w, h);
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).unwrap();
    term.draw(|f| crate::console::views::draw(f, s, &crate::console::theme::Theme::mono()))
        .unwrap();
    let buf = term.backend().buffer();
    (0..h)
        .map(|y| {
            (0..w)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The help lists every key of the table (every pane's, everywhere's and each input's: in
/// `review` the same table less the keys that change the server), scrolls with j/k and the
/// page keys without closing, and `/` narrows it to the keys that match.
#[test]
fn help_lists_every_key_scrolls_and_searches() {
    let mut s = state();
    s.size = (80, 24);
    let keys = s
        .keymap
        .help_lines(PaneId::Users, "")
        .iter()
        .filter(|l| matches!(l, crate::console::keymap::HelpLine::Key(..)))
        .count();
    // The README's table has one row per binding, under two header lines.
    assert_eq!(keys, s.keymap.markdown().lines().count() - 2);
    assert!(keys > 22, "the help should not fit on 24 rows: {keys}");
    update(&mut s, key('?'));
    update(&mut s, key('j'));
    update(&mut s, key('j'));
    assert_eq!(help_scroll(&s), 2);
    update(&mut s, key('k'));
    assert_eq!(help_scroll(&s), 1);
    for _ in 0..100 {
        update(&mut s, code(KeyCode::PageDown));
    }
    let end = help_scroll(&s);
    let total = s.keymap.help_lines(PaneId::Users, "").len();
    assert_eq!(end, total - 22, "the last page ends on the last key");
    let last = screen(&mut s, 80, 24);
    assert!(last.contains(&format!("of {total}")), "{last}");
    assert!(last.contains("In the new token window"), "{last}");
    // Search: only matching keys, under their headings; Esc clears it, then closes.
    update(&mut s, key('/'));
    type_str(&mut s, "approve");
    update(&mut s, code(KeyCode::Enter));
    let found = screen(&mut s, 80, 24);
    assert!(found.contains("/approve"), "{found}");
    assert!(found.contains("Users pane"), "{found}");
    assert!(!found.contains("Everywhere"), "{found}");
    assert_eq!(help_scroll(&s), 0);
    update(&mut s, code(KeyCode::Esc));
    assert!(matches!(&s.mode, Mode::Help { search, .. } if search.is_empty()));
    update(&mut s, code(KeyCode::Esc));
    assert_eq!(s.mode, Mode::Normal);
}

/// The help at the three sizes the console must serve: whole at 80×24 and 160×50, scrolled
/// (never cut sideways into nonsense) at 60×20.
#[test]
fn help_snapshots_at_three_sizes() {
    for (w, h) in [(60, 20), (80, 24), (160, 50)] {
        let mut s = state();
        update(&mut s, key('?'));
        let shot = screen(&mut s, w, h);
        insta::assert_snapshot!(format!("help_{w}x{h}"), shot);
    }
}

#[test]
fn command_line_switches_panes_keeps_history_and_rejects_unknowns() {
    let mut s = state();
    update(&mut s, key(':'));
    type_str(&mut s, "scim");
    update(&mut s, code(KeyCode::Enter));
    assert_eq!(s.pane, PaneId::Scim);
    assert_eq!(s.mode, Mode::Normal);
    update(&mut s, key(':'));
    type_str(&mut s, "bogus");
    update(&mut s, code(KeyCode::Enter));
    assert!(s.toasts.iter().any(|(t, _)| t.level == Level::Error
        && t.text.contains(":bogus")
        && t.text.contains(":export")));
    assert_eq!(s.history, vec!["scim".to_string(), "bogus".to_string()]);
    update(&mut s, key(':'));
    update(&mut s, code(KeyCode::Up));
    update(&mut s, code(KeyCode::Up));
    match &s.mode {
        Mode::Command { line, .. } => assert_eq!(line.text(), "scim"),
        m => panic!("{m:?}"),
    }
    update(&mut s, code(KeyCode::Esc));
    assert_eq!(s.mode, Mode::Normal);
    assert_eq!(s.pane, PaneId::Scim);
}

#[test]
fn command_line_export_and_quit() {
    let mut s = state();
    update(&mut s, key(':'));
    type_str(&mut s, "export out.json");
    let cmds = update(&mut s, code(KeyCode::Enter));
    let id = match &cmds[..] {
        [
            Cmd::Export {
                id,
                path,
                overwrite: false,
            },
        ] => {
            assert_eq!(path, &PathBuf::from("out.json"));
            *id
        }
        other => panic!("{other:?}"),
    };
    assert!(s.busy());
    update(
        &mut s,
        Msg::Exported {
            id,
            result: Ok("out.json".into()),
        },
    );
    assert!(!s.busy());
    assert!(s.toasts.iter().any(|(t, _)| t.text.contains("out.json")));
    update(&mut s, key(':'));
    type_str(&mut s, "q");
    assert_eq!(update(&mut s, code(KeyCode::Enter)), vec![Cmd::Quit]);
}

#[test]
fn filter_goes_to_the_server_and_esc_clears_it() {
    let mut s = state();
    update(&mut s, Msg::Start);
    update(&mut s, key('/'));
    let cmds = type_str(&mut s, "ann");
    let last = runs(&cmds).pop().unwrap();
    assert_eq!(
        last,
        Call::Users(UserQuery {
            filter: Some("ann".into()),
            state: None,
            sort: None,
            desc: false,
            page: PageReq::first(200),
        })
    );
    // Each keystroke supersedes the previous fetch.
    assert!(cmds.iter().filter(|c| matches!(c, Cmd::Cancel(_))).count() >= 2);
    update(&mut s, code(KeyCode::Enter));
    assert_eq!(s.filter(PaneId::Users), "ann");
    assert_eq!(s.mode, Mode::Normal);
    let cmds = update(&mut s, code(KeyCode::Esc));
    assert_eq!(s.filter(PaneId::Users), "");
    assert!(matches!(runs(&cmds).pop(), Some(Call::Users(q)) if q.filter.is_none()));
}

#[test]
fn a_superseded_reply_is_dropped() {
    let mut s = state();
    let first = update(&mut s, Msg::Start);
    let old = run_id(&first, |c| matches!(c, Call::Users(_)));
    let second = update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL)),
    );
    assert!(second.contains(&Cmd::Cancel(old)));
    let page = Page {
        items: vec![],
        total: 7,
        next: None,
    };
    update(
        &mut s,
        Msg::Reply {
            id: old,
            result: Ok(Reply::Users(page.clone())),
        },
    );
    assert!(!s.users.members.loaded, "the stale page must not land");
    let new = run_id(&second, |c| matches!(c, Call::Users(_)));
    update(
        &mut s,
        Msg::Reply {
            id: new,
            result: Ok(Reply::Users(page)),
        },
    );
    assert_eq!(s.users.members.total, 7);
}

#[test]
fn unreachable_server_shows_offline_and_recovers() {
    let mut s = state();
    let cmds = update(&mut s, Msg::Start);
    let id = run_id(&cmds, |c| *c == Call::Org);
    update(
        &mut s,
        Msg::Reply {
            id,
            result: Err(ApiError::Unreachable {
                url: "http://srv".into(),
                detail: "connection refused".into(),
            }),
        },
    );
    assert!(matches!(&s.conn, Conn::Offline(m) if m.contains("connection refused")));
    let cmds = update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL)),
    );
    let id = run_id(&cmds, |c| *c == Call::ScimSettings || *c == Call::Org);
    let _ = id;
    let pid = run_id(&cmds, |c| matches!(c, Call::Approvals { .. }));
    update(
        &mut s,
        Msg::Reply {
            id: pid,
            result: Ok(Reply::Approvals(Page {
                items: vec![],
                total: 3,
                next: None,
            })),
        },
    );
    assert_eq!(s.conn, Conn::Online);
    assert_eq!(s.pending, Some(3));
}

#[test]
fn auth_errors_reach_the_user_as_toasts() {
    let mut s = state();
    let cmds = update(&mut s, Msg::Start);
    let id = run_id(&cmds, |c| *c == Call::Org);
    update(
        &mut s,
        Msg::Reply {
            id,
            result: Err(ApiError::Forbidden {
                token: "SCIMDESK_TOKEN".into(),
                needs: crate::client::Needs::OwnerOrAdmin,
                message: "forbidden".into(),
            }),
        },
    );
    let t = &s.toasts.last().unwrap().0;
    assert_eq!(t.level, Level::Error);
    assert!(t.text.contains("SCIMDESK_TOKEN"), "{}", t.text);
}

#[test]
fn ticks_turn_the_spinner_and_expire_toasts() {
    let mut s = state();
    update(&mut s, Msg::Start);
    s.push_toast(Toast {
        level: Level::Info,
        text: "hi".into(),
    });
    let spin = s.spinner;
    update(&mut s, Msg::Tick);
    assert_eq!(s.spinner, spin + 1);
    for _ in 0..TOAST_TICKS {
        update(&mut s, Msg::Tick);
    }
    assert!(s.toasts.is_empty());
    assert!(s.wants_tick(), "requests are still in flight");
}

#[test]
fn read_only_drops_mutating_bindings_and_refuses_mutations() {
    let km = Keymap::build(&panes::bindings(), &BTreeMap::new(), true).unwrap();
    assert!(km.bindings.iter().all(|b| !b.mutating));
    assert_eq!(
        km.lookup(
            PaneId::Scim,
            &KeyEvent::new(KeyCode::Char('e'), KeyModifiers::NONE)
        ),
        None
    );
    let mut s = State::new(km, "snap.json".into(), "acme".into(), true);
    s.pane = PaneId::Scim;
    let cmds = s.absorb(vec![Cmd::Call {
        pane: PaneId::Scim,
        slot: "x",
        call: Call::RevokeScimToken { id: "t".into() },
    }]);
    assert!(runs(&cmds).is_empty());
    assert!(s.toasts.iter().any(|(t, _)| t.text.contains("read-only")));
}

#[test]
fn config_overrides_rebind_an_action() {
    let mut o = BTreeMap::new();
    o.insert("quit".to_string(), vec!["ctrl-q".to_string()]);
    let km = Keymap::build(&panes::bindings(), &o, false).unwrap();
    let mut s = State::new(km, "s".into(), "o".into(), false);
    assert!(update(&mut s, key('q')).is_empty());
    let ctrl_q = Msg::Key(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::CONTROL));
    assert_eq!(update(&mut s, ctrl_q), vec![Cmd::Quit]);
    o.insert("frobnicate".to_string(), vec!["f".to_string()]);
    let e = Keymap::build(&panes::bindings(), &o, false).unwrap_err();
    assert!(e.contains("frobnicate"), "{e}");
}

#[test]
fn scim_settings_reply_lands_in_the_scim_pane() {
    let mut s = state();
    let cmds = update(&mut s, key('1'));
    let id = run_id(&cmds, |c| *c == Call::ScimSettings);
    let settings: ScimSettings = serde_json::from_value(serde_json::json!({
        "enabled": true, "sso_role_mapping": false,
        "approval": {"provision": true, "access_increase": true, "deprovision": false},
        "warnings": []
    }))
    .unwrap();
    update(
        &mut s,
        Msg::Reply {
            id,
            result: Ok(Reply::ScimSettings(settings.clone())),
        },
    );
    assert_eq!(s.scim.settings, Some(settings));
}

fn comparing_state() -> State {
    let caps = crate::console::keymap::Caps {
        read_only: true,
        comparing: true,
    };
    let km = Keymap::build_for(&panes::bindings(), &BTreeMap::new(), caps).unwrap();
    let mut s = State::new(km, "snapshot new.json".into(), "acme0001".into(), true);
    let (old, new) = crate::console::changes::tests::pair();
    s.changes = Some(Arc::new(Changes::new(&old, &new, "q1.json")));
    s
}

fn scroll(s: &State) -> Option<usize> {
    match s.mode {
        Mode::Changes { scroll } => Some(scroll),
        _ => None,
    }
}

#[test]
fn the_changes_overlay_opens_with_d_scrolls_within_bounds_and_esc_closes_it() {
    let mut s = comparing_state();
    // 12 rows: 6 lines of the list fit; it has 11 below its column header.
    s.size = (80, 12);
    assert_eq!(s.changes_rows(), 6);
    assert!(update(&mut s, key('D')).is_empty());
    assert_eq!(scroll(&s), Some(0));
    update(&mut s, key('j'));
    assert_eq!(scroll(&s), Some(1));
    update(&mut s, key('G'));
    assert_eq!(scroll(&s), Some(5));
    update(&mut s, key('j'));
    assert_eq!(scroll(&s), Some(5), "no scrolling past the end");
    update(&mut s, code(KeyCode::Up));
    assert_eq!(scroll(&s), Some(4));
    update(&mut s, key('g'));
    update(&mut s, code(KeyCode::PageDown));
    assert_eq!(scroll(&s), Some(5));
    update(&mut s, code(KeyCode::PageUp));
    assert_eq!(scroll(&s), Some(0));
    // Keys that would act behind the overlay do nothing while it is open.
    assert!(update(&mut s, key('2')).is_empty());
    assert_eq!(s.pane, PaneId::Users);
    assert_eq!(scroll(&s), Some(0));
    update(&mut s, code(KeyCode::Esc));
    assert_eq!(s.mode, Mode::Normal);
    // q closes it rather than quitting; so does D again.
    update(&mut s, key('D'));
    assert!(update(&mut s, key('q')).is_empty());
    assert_eq!(s.mode, Mode::Normal);
    update(&mut s, key('D'));
    update(&mut s, key('D'));
    assert_eq!(s.mode, Mode::Normal);
    // And the command line opens it too.
    update(&mut s, key(':'));
    type_str(&mut s, "changes");
    update(&mut s, code(KeyCode::Enter));
    assert_eq!(scroll(&s), Some(0));
}

/// The comparison reaches the panes through the view context: the same members are
/// marked under a review against OLD, and not without one.
#[test]
fn panes_see_the_changes_in_their_view_context() {
    let bob: crate::client::Member = serde_json::from_value(serde_json::json!({
        "id": "u-bob", "email": "bob@acme.example", "state": "active",
        "source": "scim", "created_at": "2026-11-23T10:00:00Z"
    }))
    .unwrap();
    let draw = |s: &State| {
        crate::console::widgets::test_util::screen(80, 24, |f| {
            crate::console::views::draw(f, s, &crate::console::theme::Theme::mono())
        })
    };
    let mut s = comparing_state();
    s.users.members = crate::console::panes::common::paged::Paged::of(vec![bob.clone()]);
    let screen = draw(&s);
    let row = screen.lines().find(|l| l.contains("bob@")).unwrap();
    assert!(row.contains("› + "), "{screen}");
    let mut s = state();
    s.users.members = crate::console::panes::common::paged::Paged::of(vec![bob]);
    let screen = draw(&s);
    let row = screen.lines().find(|l| l.contains("bob@")).unwrap();
    assert!(!row.contains(" + "), "{screen}");
}

#[test]
fn without_a_comparison_d_is_unbound_and_changes_says_how_to_get_one() {
    let mut s = state();
    update(&mut s, key('D'));
    assert_eq!(s.mode, Mode::Normal);
    update(&mut s, key(':'));
    type_str(&mut s, "changes");
    update(&mut s, code(KeyCode::Enter));
    assert_eq!(s.mode, Mode::Normal);
    let t = &s.toasts.last().unwrap().0;
    assert_eq!(t.level, Level::Error);
    assert!(t.text.contains("--against"), "{}", t.text);
}

/// A second `:export` while the first is being written waits for it: no second write races
/// the first, the first's answer still lands, and the second starts once it has.
#[test]
fn a_second_export_waits_for_the_first() {
    let mut s = state();
    update(&mut s, key(':'));
    type_str(&mut s, "export a.json");
    let first = update(&mut s, code(KeyCode::Enter));
    let [Cmd::Export { id, .. }] = &first[..] else {
        panic!("{first:?}")
    };
    update(&mut s, key(':'));
    type_str(&mut s, "export b.json");
    assert!(update(&mut s, code(KeyCode::Enter)).is_empty());
    assert!(
        s.toasts
            .iter()
            .any(|(t, _)| t.text.contains("b.json: waits")),
        "{:?}",
        s.toasts
    );
    let then = update(
        &mut s,
        Msg::Exported {
            id: *id,
            result: Ok("a.json".into()),
        },
    );
    assert!(s.toasts.iter().any(|(t, _)| t.text.contains("a.json")));
    let [
        Cmd::Export {
            id: second, path, ..
        },
    ] = &then[..]
    else {
        panic!("{then:?}")
    };
    assert_eq!(path, &PathBuf::from("b.json"));
    assert!(s.busy());
    // A late answer for the first export is not taken for the second's.
    update(
        &mut s,
        Msg::Exported {
            id: *id,
            result: Ok("a.json".into()),
        },
    );
    assert!(s.busy());
    assert!(
        update(
            &mut s,
            Msg::Exported {
                id: *second,
                result: Err("disk full".into()),
            },
        )
        .is_empty()
    );
    assert!(!s.busy());
    assert!(s.toasts.iter().any(|(t, _)| t.text.contains("disk full")));
}

fn mouse(kind: ratatui::crossterm::event::MouseEventKind, column: u16, row: u16) -> Msg {
    Msg::Mouse(ratatui::crossterm::event::MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    })
}

/// With `--mouse`: the wheel moves the selection, a click on a row selects it, a click on a
/// tab opens its pane.
#[test]
fn the_mouse_scrolls_selects_and_switches_panes() {
    use ratatui::crossterm::event::{MouseButton, MouseEventKind};
    let mut s = state();
    s.size = (80, 24);
    let people: Vec<crate::client::Member> = (0..30)
        .map(|i| {
            serde_json::from_value(serde_json::json!({
                "id": format!("u{i}"), "email": format!("u{i:02}@acme.example"),
                "state": "active", "source": "scim", "created_at": "2026-11-23T10:00:00Z"
            }))
            .unwrap()
        })
        .collect();
    s.users.members = crate::console::panes::common::paged::Paged::of(people);
    update(&mut s, mouse(MouseEventKind::ScrollDown, 10, 8));
    assert_eq!(s.users.members.selected(), 3);
    update(&mut s, mouse(MouseEventKind::ScrollUp, 10, 8));
    assert_eq!(s.users.members.selected(), 0);
    // The list's border is row 2 and its header row 3: row 7 shows the fourth member.
    let cmds = update(
        &mut s,
        mouse(MouseEventKind::Down(MouseButton::Left), 10, 7),
    );
    assert_eq!(s.users.members.current().unwrap().id, "u3");
    assert!(runs(&cmds).contains(&Call::MemberAccess {
        member_id: "u3".into()
    }));
    // The tabs row: ` 1 SCIM  [2 Users]  3 Group Mapping `.
    update(&mut s, mouse(MouseEventKind::Down(MouseButton::Left), 3, 1));
    assert_eq!(s.pane, PaneId::Scim);
    update(
        &mut s,
        mouse(MouseEventKind::Down(MouseButton::Left), 20, 1),
    );
    assert_eq!(s.pane, PaneId::Mapping);
}

/// Ctrl-r offline says it is refreshing, and never that it refreshed: the banner says why.
#[test]
fn ctrl_r_offline_never_claims_it_refreshed() {
    let mut s = state();
    update(&mut s, Msg::Start);
    let cmds = update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL)),
    );
    assert!(s.toasts.iter().any(|(t, _)| t.text == "refreshing Users…"));
    for c in &cmds {
        if let Cmd::Run { id, .. } = c {
            update(
                &mut s,
                Msg::Reply {
                    id: *id,
                    result: Err(ApiError::Unreachable {
                        url: "http://srv".into(),
                        detail: "connection refused".into(),
                    }),
                },
            );
        }
    }
    assert!(matches!(s.conn, Conn::Offline(_)));
    assert!(!s.toasts.iter().any(|(t, _)| t.text.contains("refreshed")));
}

/// `:export FILE` onto a file that exists asks first, starting on Cancel; yes writes over it,
/// no leaves it and says so.
#[test]
fn export_onto_an_existing_file_asks_before_overwriting() {
    let mut s = state();
    update(&mut s, key(':'));
    type_str(&mut s, "export old.json");
    let cmds = update(&mut s, code(KeyCode::Enter));
    let [Cmd::Export { id, .. }] = &cmds[..] else {
        panic!("{cmds:?}")
    };
    // The effects found the file there and wrote nothing.
    let cmds = update(
        &mut s,
        Msg::ExportExists {
            id: *id,
            path: "old.json".into(),
        },
    );
    assert!(cmds.is_empty());
    assert_eq!(asking(&s), Some(Leave::Overwrite("old.json".into())));
    assert!(!s.busy());
    let shot = screen(&mut s, 80, 24);
    assert!(shot.contains("old.json exists"), "{shot}");
    // Enter on the default button (Cancel) keeps the file.
    assert!(update(&mut s, code(KeyCode::Enter)).is_empty());
    assert_eq!(s.mode, Mode::Normal);
    assert!(
        s.toasts
            .iter()
            .any(|(t, _)| t.text.contains("left as it was"))
    );
    // Again, and this time Overwrite.
    update(&mut s, key(':'));
    type_str(&mut s, "export old.json");
    let cmds = update(&mut s, code(KeyCode::Enter));
    let [Cmd::Export { id, .. }] = &cmds[..] else {
        panic!("{cmds:?}")
    };
    update(
        &mut s,
        Msg::ExportExists {
            id: *id,
            path: "old.json".into(),
        },
    );
    update(&mut s, code(KeyCode::Tab));
    let cmds = update(&mut s, code(KeyCode::Enter));
    assert!(
        matches!(&cmds[..], [Cmd::Export { path, overwrite: true, .. }] if path == &PathBuf::from("old.json")),
        "{cmds:?}"
    );
    assert!(s.busy());
}

/// A long toast wraps instead of being cut; every toast stays whole in `:messages`, which
/// scrolls and closes with Esc.
#[test]
fn long_toasts_wrap_and_messages_keeps_them_all() {
    let mut s = state();
    let long = "approved: a.very.long.address@subsidiary.acme.example (Member → Admin, \
                +2 stacks), which may provision her on Mobile App and Marketing Site at once";
    s.push_toast(Toast {
        level: Level::Success,
        text: long.into(),
    });
    let shot = screen(&mut s, 80, 24);
    assert!(shot.contains("which may provision"), "{shot}");
    assert!(
        shot.contains("Marketing Site at once"),
        "wrapped, not cut:\n{shot}"
    );
    insta::assert_snapshot!("long_toast_80x24", shot);
    for i in 0..30 {
        s.push_toast(Toast {
            level: if i % 2 == 0 {
                Level::Info
            } else {
                Level::Error
            },
            text: format!("notice {i}"),
        });
    }
    update(&mut s, key(':'));
    type_str(&mut s, "messages");
    update(&mut s, code(KeyCode::Enter));
    assert_eq!(s.mode, Mode::Messages { scroll: 0 });
    let shot = screen(&mut s, 80, 24);
    assert!(shot.contains("Messages (31, newest first)"), "{shot}");
    assert!(shot.contains("✗ notice 29"), "newest first:\n{shot}");
    // Scrolling reaches the oldest, the long one, whole.
    update(&mut s, key('G'));
    let shot = screen(&mut s, 80, 24);
    assert!(shot.contains("Marketing Site at once"), "{shot}");
    assert!(shot.contains("approved: a.very.long.address"), "{shot}");
    update(&mut s, code(KeyCode::Esc));
    assert_eq!(s.mode, Mode::Normal);
}

/// Every question the console asks is one kind of dialog: the same frame with a Cancel
/// button that has the focus, `y` meaning nothing, Esc cancelling, whichever pane asks.
#[test]
fn every_question_is_one_kind_of_dialog_starting_on_cancel() {
    use crate::console::panes::common::paged::Paged;
    let member: crate::client::Member = serde_json::from_value(serde_json::json!({
        "id": "m1", "email": "ann@acme.example", "state": "active", "source": "scim",
        "created_at": "2026-11-23T10:00:00Z"
    }))
    .unwrap();
    let group: crate::client::Group = serde_json::from_value(serde_json::json!({
        "id": "g1", "display_name": "Admins", "member_count": 2,
        "mapping": {"group_id": "g1", "group_name": "Admins", "org_role": "admin",
                    "stack_roles": []}
    }))
    .unwrap();
    let settings: ScimSettings = serde_json::from_value(serde_json::json!({
        "enabled": true, "sso_role_mapping": false,
        "approval": {"provision": true, "access_increase": true, "deprovision": false},
        "warnings": []
    }))
    .unwrap();
    // (pane key, the key that asks, what the question is about)
    let cases = [
        ('2', 'x', "Remove ann@acme.example"),
        ('1', 'e', "Disable SCIM"),
        ('3', 'x', "Delete mapping"),
    ];
    for (pane, ask, about) in cases {
        let mut s = state();
        s.users.members = Paged::of(vec![member.clone()]);
        s.mapping.groups = Paged::of(vec![group.clone()]);
        s.scim.settings = Some(settings.clone());
        update(&mut s, key(pane));
        update(&mut s, key(ask));
        if pane == '1' {
            // `e` opens the settings; Enter on their first row, SCIM, asks.
            update(&mut s, code(KeyCode::Enter));
        }
        let shot = screen(&mut s, 80, 24);
        assert!(
            shot.contains("▸[ Cancel ]"),
            "{about}: Cancel has the focus\n{shot}"
        );
        assert!(
            shot.to_lowercase().contains(&about.to_lowercase()),
            "{about}\n{shot}"
        );
        // `y` is not a dialog key; the question stays.
        update(&mut s, key('y'));
        assert!(
            screen(&mut s, 80, 24).contains("▸[ Cancel ]"),
            "{about}: y did something"
        );
        let cmds = update(&mut s, code(KeyCode::Esc));
        assert!(
            runs(&cmds).iter().all(|c| !c.mutates()),
            "{about}: Esc cancels"
        );
        assert!(
            !screen(&mut s, 80, 24).contains("[ Cancel ]"),
            "{about}: closed"
        );
    }
}

/// Issue 24, item 10: what the hint bar says a key does is what it does. In the mapping
/// editor `j` moves to the next field, as the bar says; once a dropdown is open the bar offers
/// the dropdown's own keys (arrows), and `j` types into its filter.
#[test]
fn the_hint_bar_says_what_j_does_in_the_editor_and_in_its_dropdowns() {
    let mut s = state();
    s.pane = PaneId::Mapping;
    s.mapping = crate::console::panes::mapping::tests::pane();
    update(&mut s, code(KeyCode::Enter));
    let e = s.mapping.editor.as_ref().expect("the editor");
    let focus = e.focus;
    let bar = screen(&mut s, 80, 24).lines().last().unwrap().to_string();
    assert!(bar.contains("j next field"), "{bar}");
    update(&mut s, key('j'));
    assert_eq!(s.mapping.editor.as_ref().unwrap().focus, focus + 1);
    update(&mut s, key('k'));
    // Enter opens the focused row's dropdown: its keys, not the editor's, are offered.
    update(&mut s, code(KeyCode::Enter));
    assert!(s.mapping.popup.is_some());
    let bar = screen(&mut s, 80, 24).lines().last().unwrap().to_string();
    assert!(!bar.contains("j next"), "{bar}");
    assert!(bar.contains("↓ next"), "{bar}");
}

/// Issue 24, item 11: the offline banner cuts its reason with `…` and keeps "Ctrl-r retries";
/// a long filter badge is cut with `…` on the tabs line.
#[test]
fn the_offline_banner_and_the_filter_badge_cut_with_an_ellipsis() {
    let mut s = state();
    s.conn = Conn::Offline(format!(
        "cannot reach http://scim.internal.example.com:8443: {}",
        "connection refused by the remote host after three attempts ".repeat(2)
    ));
    let shot = screen(&mut s, 60, 20);
    let banner = shot.lines().find(|l| l.contains("OFFLINE")).unwrap();
    assert!(banner.ends_with("… — Ctrl-r retries"), "{banner}");
    let mut s = state();
    s.filters.insert(
        PaneId::Users,
        "a.very.long.filter.that.cannot.fit.beside.the.tabs@acme.example".into(),
    );
    let shot = screen(&mut s, 60, 20);
    let tabs = shot.lines().nth(1).unwrap();
    assert!(tabs.contains(" /a.very") && tabs.contains('…'), "{tabs}");
}

fn messages(s: &State) -> Vec<String> {
    s.messages.iter().map(|t| t.text.clone()).collect()
}

/// Issue 24, item 11: the `:` line's words as typed: `\"` inside quotes is a quote, `""` is
/// an empty name (and says a name is needed), a built-in role's hint quotes the stack, and
/// Tab on a prefix of several commands lists them.
#[test]
fn stack_commands_take_quotes_as_typed_and_say_what_is_missing() {
    let mut s = state();
    s.mapping = crate::console::panes::mapping::tests::pane();
    update(&mut s, key(':'));
    let cmds = type_str(&mut s, "stack \"a\\\"b\"");
    assert!(runs(&cmds).is_empty());
    let cmds = update(&mut s, code(KeyCode::Enter));
    assert!(
        runs(&cmds).contains(&Call::CreateStack {
            name: "a\"b".into()
        }),
        "{cmds:?}"
    );
    update(&mut s, key(':'));
    type_str(&mut s, "stack \"\"");
    let cmds = update(&mut s, code(KeyCode::Enter));
    assert!(runs(&cmds).iter().all(|c| !c.mutates()));
    assert!(
        messages(&s).iter().any(|m| m.contains("a name is needed")),
        "{:?}",
        messages(&s)
    );
    let web = s.mapping.stacks.as_ref().unwrap()[0].name.clone();
    assert!(web.contains(' '), "a stack name with a space: {web}");
    update(&mut s, key(':'));
    type_str(&mut s, &format!("rename-role \"{web}\" admin Boss"));
    update(&mut s, code(KeyCode::Enter));
    let want = format!(":role \"{web}\" NAME");
    assert!(
        messages(&s).iter().any(|m| m.contains(&want)),
        "{want} in {:?}",
        messages(&s)
    );
    update(&mut s, key(':'));
    type_str(&mut s, "ren");
    update(&mut s, code(KeyCode::Tab));
    assert!(
        messages(&s)
            .iter()
            .any(|m| m.contains(":rename-stack") && m.contains(":rename-role")),
        "{:?}",
        messages(&s)
    );
}

#[test]
fn export_expands_a_tilde_through_the_command_line() {
    let mut s = state();
    s.home = Some(PathBuf::from("/home/ann"));
    update(&mut s, key(':'));
    type_str(&mut s, "export ~/acme.json");
    let cmds = update(&mut s, code(KeyCode::Enter));
    assert!(
        matches!(&cmds[..], [Cmd::Export { path, .. }] if path == &PathBuf::from("/home/ann/acme.json")),
        "{cmds:?}"
    );
}
