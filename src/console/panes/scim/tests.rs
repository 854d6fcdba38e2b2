use super::*;
use crate::client::{ApprovalSettings, Page, PageReq};
use ratatui::crossterm::event::{KeyEvent, KeyModifiers};

fn settings(enabled: bool, sso: bool) -> ScimSettings {
    ScimSettings {
        enabled,
        sso_role_mapping: sso,
        approval: ApprovalSettings {
            provision: true,
            access_increase: true,
            deprovision: false,
        },
        user_name_is_email: None,
        warnings: vec![],
        scim_url: Some("http://srv/scim/v2.0/organizations/acme".into()),
    }
}

fn pane() -> ScimPane {
    ScimPane {
        settings: Some(settings(true, false)),
        tokens: Paged::of(vec![ScimToken {
            id: "t1".into(),
            label: "okta".into(),
            created_at: "2026-11-23T10:00:00Z".into(),
            last_used_at: None,
        }]),
        ..Default::default()
    }
}

/// `c` as the default key table hands it to the pane.
fn k(p: &ScimPane, c: KeyCode) -> PaneMsg {
    crate::console::panes::test_key(p, KeyEvent::new(c, KeyModifiers::NONE))
}

fn act(p: &mut ScimPane, a: Action) -> Vec<Cmd> {
    p.update(PaneMsg::Action(a), &Ctx::default())
}

fn calls(cmds: &[Cmd]) -> Vec<Call> {
    cmds.iter()
        .filter_map(|c| match c {
            Cmd::Call { call, .. } => Some(call.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn activation_loads_settings_tokens_and_discovery() {
    let mut p = ScimPane::default();
    let c = calls(&p.update(PaneMsg::Activated, &Ctx::default()));
    assert!(c.contains(&Call::ScimSettings));
    assert!(c.contains(&Call::ScimTokens(PageReq::first(200))));
    assert!(c.contains(&Call::ServiceProviderConfig));
    assert!(c.contains(&Call::ScimActivity));
}

/// Presses `keys` in turn, as the default key table hands them over; the commands of all.
fn keys(p: &mut ScimPane, keys: &str) -> Vec<Cmd> {
    let mut out = Vec::new();
    for c in keys.chars() {
        let code = match c {
            '\n' => KeyCode::Enter,
            '\t' => KeyCode::Tab,
            '\x1b' => KeyCode::Esc,
            c => KeyCode::Char(c),
        };
        out.extend(p.update(k(p, code), &Ctx::default()));
    }
    out
}

fn patch_of(setting: Setting, on: bool) -> Vec<Call> {
    vec![Call::PatchScim(setting.patch(on))]
}

#[test]
fn disabling_scim_asks_and_defaults_to_cancel() {
    let mut p = pane();
    // `e` opens the settings on their first row, SCIM; Enter asks.
    assert!(keys(&mut p, "e\n").is_empty());
    assert!(matches!(&p.dialog, Some(Dialog::Confirm(a)) if !a.confirm.on_action()));
    // Enter on the default button cancels, back to the settings.
    assert!(keys(&mut p, "\n").is_empty());
    assert_eq!(p.dialog, Some(Dialog::Settings { selected: 0 }));
    let c = calls(&keys(&mut p, "\n\t\n"));
    assert_eq!(c, patch_of(Setting::Enabled, false));
    // Esc cancels too, and Esc again closes the settings.
    assert!(keys(&mut p, "\n\x1b").is_empty());
    assert_eq!(p.dialog, Some(Dialog::Settings { selected: 0 }));
    keys(&mut p, "\x1b");
    assert!(p.dialog.is_none());
}

/// Issue 24, item 1: in the Users pane `p` opens Pending and `s` cycles the state filter; here
/// they (and `i`, `d`) must not flip a policy with no question.
#[test]
fn the_keys_of_other_panes_switch_no_setting_here() {
    let mut p = pane();
    for c in ['p', 's', 'i', 'd'] {
        let cmds = keys(&mut p, &c.to_string());
        assert!(calls(&cmds).is_empty(), "{c}: {cmds:?}");
        assert!(p.dialog.is_none(), "{c}");
    }
    let km = crate::console::keymap::Keymap::build(
        &crate::console::panes::bindings(),
        &Default::default(),
        false,
    )
    .unwrap();
    // A key both panes bind means the same kind of thing: `x` deletes, `n` creates.
    for b in km.active(PaneId::Scim) {
        if let crate::console::keymap::Scope::Pane(_) = b.scope {
            for key in &b.keys {
                let users = km.bindings.iter().find(|u| {
                    u.scope == crate::console::keymap::Scope::Pane(PaneId::Users)
                        && u.keys.contains(key)
                });
                if let Some(u) = users {
                    assert!(
                        matches!(
                            (b.action, u.action),
                            (Action::RevokeToken, Action::RemoveMember)
                        ),
                        "{key} is {:?} in SCIM and {:?} in Users",
                        b.action,
                        u.action
                    );
                }
            }
        }
    }
}

#[test]
fn stopping_an_approval_asks_first_on_cancel_and_says_what_happens_from_now_on() {
    for (row, setting) in [
        ("jj", Setting::ApproveProvision),
        ("jjj", Setting::ApproveAccessIncrease),
    ] {
        let mut p = pane();
        assert!(keys(&mut p, &format!("e{row}\n")).is_empty(), "{setting:?}");
        match &p.dialog {
            Some(Dialog::Confirm(Ask { confirm, then })) => {
                assert!(!confirm.on_action(), "starts on Cancel");
                assert!(
                    confirm.message.starts_with("From now on"),
                    "{}",
                    confirm.message
                );
                assert!(confirm.message.contains("at once"), "{}", confirm.message);
                assert_eq!(then, &Pending::Set(setting, false));
            }
            d => panic!("{d:?}"),
        }
        // Cancel leaves it on.
        assert!(calls(&keys(&mut p, "\n")).is_empty());
        let c = calls(&keys(&mut p, "\n\t\n"));
        assert_eq!(c, patch_of(setting, false));
        assert!(matches!(p.dialog, Some(Dialog::Settings { .. })));
    }
    // Deprovisioning approval on → off asks too (it stops a review).
    let mut p = pane();
    p.settings.as_mut().unwrap().approval.deprovision = true;
    keys(&mut p, "ejjjj\n");
    assert!(
        matches!(&p.dialog, Some(Dialog::Confirm(a)) if a.then == Pending::Set(Setting::ApproveDeprovision, false))
    );
}

#[test]
fn back_to_the_safe_side_applies_at_once() {
    let mut p = pane();
    // Deprovisioning approval off → on: at once, and the dialog stays on its row.
    let c = calls(&keys(&mut p, "ejjjj\n"));
    assert_eq!(c, patch_of(Setting::ApproveDeprovision, true));
    assert_eq!(p.dialog, Some(Dialog::Settings { selected: 4 }));
    let mut p = pane();
    p.settings = Some(settings(true, true));
    let c = calls(&keys(&mut p, "ej\n"));
    assert_eq!(c, patch_of(Setting::SsoRoleMapping, false));
}

#[test]
fn enabling_scim_asks_first() {
    let mut p = pane();
    p.settings = Some(settings(false, false));
    assert!(keys(&mut p, "e\n").is_empty());
    match &p.dialog {
        Some(Dialog::Confirm(Ask { confirm, then })) => {
            assert!(!confirm.on_action());
            assert!(
                confirm
                    .message
                    .starts_with("From now on the IdP may create")
            );
            assert_eq!(then, &Pending::Set(Setting::Enabled, true));
        }
        d => panic!("{d:?}"),
    }
}

#[test]
fn the_settings_dialog_draws_every_switch_with_the_selection() {
    let mut p = pane();
    keys(&mut p, "ej");
    let s = screen_at(&p, 80, 24);
    assert!(s.contains("▸ SSO role mapping"), "{s}");
    assert!(s.contains("Approve deprovisioning"), "{s}");
    assert!(s.contains("asks first"), "{s}");
}

#[test]
fn patch_reply_says_what_changed() {
    let mut p = pane();
    let cmds = p.update(
        PaneMsg::Reply {
            slot: "patch",
            call: Call::ScimSettings,
            result: Ok(Reply::ScimSettings(settings(false, false))),
        },
        &Ctx::default(),
    );
    assert!(cmds.contains(&Toast::success("SCIM disabled")));
    assert!(!p.settings.unwrap().enabled);
}

#[test]
fn y_copies_the_scim_url() {
    let mut p = pane();
    let cmds = act(&mut p, Action::CopyScimUrl);
    assert!(cmds.contains(&Cmd::Copy("http://srv/scim/v2.0/organizations/acme".into())));
}

#[test]
fn new_token_shows_the_secret_once_and_copies_it() {
    let mut p = pane();
    act(&mut p, Action::NewToken);
    // An empty label is refused with advice.
    let cmds = p.update(k(&p, KeyCode::Enter), &Ctx::default());
    assert!(matches!(&cmds[..], [Cmd::Toast(t)] if t.text.contains("label")));
    for c in "entra".chars() {
        p.update(k(&p, KeyCode::Char(c)), &Ctx::default());
    }
    let c = calls(&p.update(k(&p, KeyCode::Enter), &Ctx::default()));
    assert_eq!(
        c,
        vec![Call::CreateScimToken {
            label: "entra".into()
        }]
    );
    let issued: IssuedToken = serde_json::from_value(serde_json::json!({
        "id": "t2", "label": "entra", "token": "s3cret"
    }))
    .unwrap();
    let cmds = p.update(
        PaneMsg::Reply {
            slot: "create",
            call: c[0].clone(),
            result: Ok(Reply::CreatedScimToken(issued)),
        },
        &Ctx::default(),
    );
    assert!(calls(&cmds).contains(&Call::ScimTokens(PageReq::first(200))));
    assert!(matches!(&p.dialog, Some(Dialog::Secret(t)) if t.token == "s3cret"));
    let cmds = p.update(k(&p, KeyCode::Char('y')), &Ctx::default());
    assert!(cmds.contains(&Cmd::Copy("s3cret".into())));
    p.update(k(&p, KeyCode::Esc), &Ctx::default());
    assert!(p.dialog.is_none(), "the secret is dropped once closed");
}

#[test]
fn revoke_asks_then_revokes_the_selected_token() {
    let mut p = pane();
    act(&mut p, Action::RevokeToken);
    match &p.dialog {
        Some(Dialog::Confirm(Ask { confirm, .. })) => {
            assert!(!confirm.on_action());
            assert!(confirm.danger);
            assert!(confirm.message.contains("okta"));
        }
        d => panic!("{d:?}"),
    }
    p.update(k(&p, KeyCode::Tab), &Ctx::default());
    let c = calls(&p.update(k(&p, KeyCode::Enter), &Ctx::default()));
    assert_eq!(c, vec![Call::RevokeScimToken { id: "t1".into() }]);
    let cmds = p.update(
        PaneMsg::Reply {
            slot: "revoke",
            call: c[0].clone(),
            result: Ok(Reply::Done),
        },
        &Ctx::default(),
    );
    assert!(cmds.contains(&Toast::success("token revoked")));
}

#[test]
fn sso_role_mapping_warns_when_scim_is_on() {
    let mut p = pane();
    keys(&mut p, "ej\n");
    match &p.dialog {
        Some(Dialog::Confirm(Ask { confirm, then })) => {
            assert!(confirm.message.contains("⚠"));
            assert!(confirm.message.starts_with("From now on"));
            assert_eq!(then, &Pending::Set(Setting::SsoRoleMapping, true));
        }
        d => panic!("{d:?}"),
    }
}

#[test]
fn token_list_moves_within_bounds() {
    let mut p = pane();
    let mut ts = p.tokens.rows.clone();
    ts.push(ts[0].clone());
    p.update(
        PaneMsg::Reply {
            slot: "tokens",
            call: Call::ScimTokens(PageReq::first(200)),
            result: Ok(Reply::ScimTokens(Page {
                items: ts,
                total: 2,
                next: None,
            })),
        },
        &Ctx::default(),
    );
    act(&mut p, Action::Down);
    act(&mut p, Action::Down);
    assert_eq!(p.tokens.selected(), 1);
    act(&mut p, Action::Top);
    assert_eq!(p.tokens.selected(), 0);
    act(&mut p, Action::Bottom);
    assert_eq!(p.tokens.selected(), 1);
}

fn screen(p: &ScimPane) -> Vec<String> {
    screen_with(p, &ViewCtx::new(Theme::mono()))
}

fn screen_with(p: &ScimPane, vx: &ViewCtx) -> Vec<String> {
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 20)).unwrap();
    term.draw(|f| p.view(f, f.area(), vx)).unwrap();
    let buf = term.backend().buffer();
    (0..buf.area.height)
        .map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect())
        .collect()
}

fn line<'a>(lines: &'a [String], what: &str) -> &'a str {
    lines
        .iter()
        .find(|l| l.contains(what))
        .unwrap_or_else(|| panic!("no line with {what}: {lines:#?}"))
}

#[test]
fn changed_settings_are_marked_with_their_old_value_when_comparing() {
    let (old, mut new) = crate::console::changes::tests::pair();
    new.scim.tokens[0].id = "t2".into();
    new.scim.tokens[0].label = "entra".into();
    let changes = crate::console::changes::Changes::new(&old, &new, "q1.json");
    let mut p = pane();
    let mut s = settings(true, false);
    s.approval.deprovision = true;
    p.settings = Some(s);
    let vx = ViewCtx {
        read_only: true,
        changes: Some(&changes),
        ..ViewCtx::new(Theme::mono())
    };
    let lines = screen_with(&p, &vx);
    let dep = line(&lines, "deprovisioning");
    assert!(dep.contains("│~ Approve deprovisioning"), "{dep}");
    assert!(dep.contains("[x] on  (was off)"), "{dep}");
    for unchanged in ["SCIM provisioning", "SSO role mapping", "new members"] {
        let l = line(&lines, unchanged);
        assert!(!l.contains('~') && !l.contains("was"), "{l}");
    }
    assert!(
        line(&lines, "SCIM tokens").contains("~ changed: was okta"),
        "{lines:#?}"
    );
    // Read-only: the key that would change a setting is not offered.
    assert!(
        !line(&lines, "SCIM settings").contains("e edits"),
        "{lines:#?}"
    );
}

#[test]
fn without_a_comparison_the_settings_look_as_they_always_did() {
    let mut p = pane();
    p.update(PaneMsg::Poll, &Ctx::default());
    let lines = screen(&p);
    let l = line(&lines, "SSO role mapping");
    assert!(l.starts_with("│SSO role mapping          [ ] off "), "{l}");
    assert!(!lines.iter().any(|l| l.contains('~')));
}

fn screen_at(p: &ScimPane, w: u16, h: u16) -> String {
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).unwrap();
    term.draw(|f| p.view(f, f.area(), &ViewCtx::new(Theme::mono())))
        .unwrap();
    let buf = term.backend().buffer();
    (0..buf.area.height)
        .map(|y| {
            let l: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
            l.trim_end().to_string() + "\n"
        })
        .collect()
}

/// A secret as long as the server mints them (95 characters).
fn with_secret() -> ScimPane {
    let mut p = pane();
    let token = format!("scimdesk_scim_{}_{}", "a1".repeat(8), "f0".repeat(32));
    assert_eq!(token.len(), 95);
    p.dialog = Some(Dialog::Secret(
        serde_json::from_value(serde_json::json!({
            "id": "t2", "label": "entra", "token": token
        }))
        .unwrap(),
    ));
    p
}

#[test]
fn the_scim_url_is_on_screen() {
    let p = pane();
    let s = screen_at(&p, 80, 24);
    let l = s.lines().find(|l| l.contains("SCIM URL")).unwrap();
    assert!(
        l.contains("http://srv/scim/v2.0/organizations/acme") && l.contains("y copies"),
        "{s}"
    );
    insta::assert_snapshot!("scim_pane_80x24", s);
}

#[test]
fn a_long_scim_url_is_cut_on_screen_but_copied_whole() {
    let mut p = pane();
    let long = format!(
        "https://scim.example.com/scim/v2.0/organizations/{}",
        "x".repeat(60)
    );
    p.settings.as_mut().unwrap().scim_url = Some(long.clone());
    let s = screen_at(&p, 80, 24);
    let l = s.lines().find(|l| l.contains("SCIM URL")).unwrap();
    assert!(l.contains('…') && l.chars().count() <= 80, "{l}");
    assert!(act(&mut p, Action::CopyScimUrl).contains(&Cmd::Copy(long)));
}

#[test]
fn the_secret_is_on_one_line_when_it_fits() {
    let p = with_secret();
    let token = match &p.dialog {
        Some(Dialog::Secret(t)) => t.token.clone(),
        _ => unreachable!(),
    };
    let s = screen_at(&p, 120, 40);
    assert!(s.lines().any(|l| l.contains(&token)), "{s}");
    insta::assert_snapshot!("scim_secret_120x40", s);
}

#[test]
fn a_secret_too_wide_for_one_line_is_shown_whole_on_several() {
    // A token of the first format (95 characters) at 80x24, and one of today's (69) at 60x20.
    let p = with_secret();
    let s = screen_at(&p, 80, 24);
    let token = format!("scimdesk_scim_{}_{}", "a1".repeat(8), "f0".repeat(32));
    let shown: String = s
        .lines()
        .map(|l| l.trim_matches(|c: char| c == '│' || c == ' '))
        .filter(|l| {
            l.starts_with("scimdesk_scim_")
                || l.chars().all(|c| c.is_ascii_hexdigit()) && !l.is_empty()
        })
        .collect();
    assert_eq!(shown, token, "the secret, joined from its lines: {s}");
    assert!(s.contains("join them"), "{s}");
    insta::assert_snapshot!("scim_secret_80x24", s);

    let mut p = pane();
    let token = format!(
        "sdscim_0a1b2c3d4e5f_{}7Qx9Zk",
        "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg"
    );
    assert_eq!(token.len(), 69);
    p.dialog = Some(Dialog::Secret(
        serde_json::from_value(serde_json::json!({"id": "t3", "label": "okta", "token": token}))
            .unwrap(),
    ));
    let s = screen_at(&p, 60, 20);
    let joined: String = s
        .lines()
        .map(|l| l.trim_matches(|c: char| c == '│' || c == ' '))
        .filter(|l| {
            l.starts_with("sdscim_")
                || (!l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric()))
        })
        .collect();
    assert_eq!(joined, token, "{s}");
    // At 80 columns it is one line.
    let s = screen_at(&p, 80, 24);
    assert!(s.lines().any(|l| l.contains(&token)), "{s}");
}

#[test]
fn y_says_the_clipboard_may_not_receive_the_secret() {
    let mut p = with_secret();
    let cmds = p.update(k(&p, KeyCode::Char('y')), &Ctx::default());
    let toast = cmds
        .iter()
        .find_map(|c| match c {
            Cmd::Toast(t) => Some(t.text.clone()),
            _ => None,
        })
        .expect("a toast");
    assert!(toast.contains("receives nothing"), "{toast}");
    assert!(!toast.contains("copied"), "{toast}");
}

#[test]
fn the_secret_window_closes_only_on_esc_or_enter() {
    for close in [KeyCode::Esc, KeyCode::Enter] {
        let mut p = with_secret();
        for stray in [
            KeyCode::Char('q'),
            KeyCode::Char('x'),
            KeyCode::Char('n'),
            KeyCode::Char(' '),
            KeyCode::Tab,
            KeyCode::Backspace,
            KeyCode::Down,
        ] {
            let cmds = p.update(k(&p, stray), &Ctx::default());
            assert!(cmds.is_empty(), "{stray:?} did something: {cmds:?}");
            assert!(
                matches!(p.dialog, Some(Dialog::Secret(_))),
                "{stray:?} closed the secret window"
            );
        }
        p.update(k(&p, close), &Ctx::default());
        assert!(p.dialog.is_none(), "{close:?} closes it");
    }
}

fn activity_reply() -> Reply {
    Reply::ScimActivity(
        serde_json::from_value(serde_json::json!({"tokens": {"t1": {
            "last_request_at": "2026-11-23T11:00:00Z",
            "last_hour": {"2xx": 7, "4xx": 2, "5xx": 1},
            "refusals": [{
                "at": "2026-11-23T10:59:00Z", "status": 409, "scimType": "uniqueness",
                "detail": "userName 'ann' is taken", "method": "POST",
                "path": "/scim/v2.0/organizations/acme/Users"
            }]
        }}}))
        .unwrap(),
    )
}

#[test]
fn activity_lands_and_shows_counts_and_refusals_of_the_selected_token() {
    let mut p = pane();
    let before = screen_at(&p, 80, 24);
    assert!(before.contains("none · no request seen"), "{before}");
    let cmds = p.update(
        PaneMsg::Reply {
            slot: "activity",
            call: Call::ScimActivity,
            result: Ok(activity_reply()),
        },
        &Ctx::default(),
    );
    assert!(cmds.is_empty());
    assert_eq!(p.activity.tokens["t1"].last_hour.ok, 7);
    let s = screen_at(&p, 80, 24);
    assert!(
        s.lines().any(|l| l.contains("okta") && l.contains("7/2/1")),
        "{s}"
    );
    assert!(s.contains("Refused requests of 'okta' (1)"), "{s}");
    let l = s.lines().find(|l| l.contains("uniqueness")).unwrap();
    assert!(
        l.contains("409 uniqueness POST /Users: userName 'ann' is taken"),
        "{l}"
    );
    insta::assert_snapshot!("scim_activity_80x24", s);
}

#[test]
fn a_server_without_the_activity_route_leaves_the_pane_quiet() {
    let mut p = pane();
    let cmds = p.update(
        PaneMsg::Reply {
            slot: "activity",
            call: Call::ScimActivity,
            result: Err(crate::client::ApiError::Unreachable {
                url: "http://srv".into(),
                detail: "gone".into(),
            }),
        },
        &Ctx::default(),
    );
    assert!(cmds.is_empty(), "{cmds:?}");
}

/// Issue 24, item 7: the pane follows the 5 s poll (token use, counts, refusals) as the other
/// panes do, without a Ctrl-r.
#[test]
fn the_poll_asks_for_token_activity_again() {
    let mut p = pane();
    let c = calls(&p.update(PaneMsg::Poll, &Ctx::default()));
    assert!(c.contains(&Call::ScimActivity), "{c:?}");
    assert!(c.contains(&Call::ScimTokens(PageReq::first(200))), "{c:?}");
    // Before the first load there is nothing to follow yet.
    let mut p = ScimPane::default();
    assert!(calls(&p.update(PaneMsg::Poll, &Ctx::default())).is_empty());
}

fn long_refusal() -> Reply {
    Reply::ScimActivity(
        serde_json::from_value(serde_json::json!({"tokens": {"t1": {
            "last_request_at": "2026-11-23T11:00:00Z",
            "last_hour": {"2xx": 0, "4xx": 1, "5xx": 0},
            "refusals": [{
                "at": "2026-11-23T10:59:00Z", "status": 400, "scimType": "invalidValue",
                "detail": "userName 'ann@acme.example' must equal the primary email \
                           'ann.smith@acme.example' (RFC 7643 §4.1.1)",
                "method": "POST",
                "path": "/scim/v2.0/organizations/acme/Users"
            }]
        }}}))
        .unwrap(),
    )
}

/// Issue 24, item 7: a refusal too long for its line ends with `…`, and Enter shows them whole
/// (wrapped); Esc comes back.
#[test]
fn refusal_lines_are_cut_with_an_ellipsis_and_enter_opens_them_whole() {
    let mut p = pane();
    p.update(
        PaneMsg::Reply {
            slot: "activity",
            call: Call::ScimActivity,
            result: Ok(long_refusal()),
        },
        &Ctx::default(),
    );
    let s = screen_at(&p, 80, 24);
    let l = s.lines().find(|l| l.contains("invalidValue")).unwrap();
    assert!(l.trim_end().ends_with("…│"), "{l}");
    keys(&mut p, "\n");
    assert!(p.inner_level());
    // The bar offers the overlay's keys, not the pane's.
    assert!(
        p.hints()
            .is_some_and(|h| h.iter().any(|(a, _)| *a == Action::Back))
    );
    let s = screen_at(&p, 80, 24);
    assert!(s.contains("(RFC 7643 §4.1.1)"), "{s}");
    keys(&mut p, "\x1b");
    assert!(!p.refusals_open);
}

/// Issue 24, item 11: a label the server refuses keeps the dialog open with what was typed.
#[test]
fn a_refused_token_label_keeps_the_dialog_and_its_text() {
    let mut p = pane();
    let c = calls(&keys(&mut p, "nokta-prod\n"));
    assert_eq!(
        c,
        vec![Call::CreateScimToken {
            label: "okta-prod".into()
        }]
    );
    assert!(p.dialog.is_none());
    let cmds = p.update(
        PaneMsg::Reply {
            slot: "create",
            call: c[0].clone(),
            result: Err(crate::client::ApiError::Rejected {
                status: 409,
                code: "uniqueness".into(),
                message: "a token labelled 'okta-prod' exists".into(),
            }),
        },
        &Ctx::default(),
    );
    assert!(matches!(&cmds[..], [Cmd::Toast(t)] if t.text.contains("exists")));
    match &p.dialog {
        Some(Dialog::NewToken { label }) => assert_eq!(label.text(), "okta-prod"),
        d => panic!("{d:?}"),
    }
}

/// Following the poll must not toast every 5 s while the server is down: the banner says it.
#[test]
fn an_unreachable_server_on_the_poll_is_the_banners_to_tell() {
    let mut p = pane();
    let c = calls(&p.update(PaneMsg::Poll, &Ctx::default()));
    let tokens = c
        .into_iter()
        .find(|c| matches!(c, Call::ScimTokens(_)))
        .unwrap();
    let cmds = p.update(
        PaneMsg::Reply {
            slot: "tokens",
            call: tokens,
            result: Err(crate::client::ApiError::Unreachable {
                url: "http://srv".into(),
                detail: "gone".into(),
            }),
        },
        &Ctx::default(),
    );
    assert!(cmds.is_empty(), "{cmds:?}");
}

/// A title that names a key names the one in force: a user's `[keys]` rebinding of the
/// settings dialog shows in the settings box (the built-in `e` otherwise).
#[test]
fn the_settings_title_names_the_key_in_force() {
    let mut p = pane();
    p.settings = Some(settings(true, false));
    let built_in = screen_with(&p, &ViewCtx::new(Theme::mono())).join("\n");
    assert!(built_in.contains("SCIM settings · e edits"), "{built_in}");
    let overrides = [("settings".to_string(), vec!["S".to_string()])].into();
    let km = crate::console::keymap::Keymap::build(
        &crate::console::panes::bindings(),
        &overrides,
        false,
    )
    .unwrap();
    let vx = ViewCtx {
        keymap: &km,
        ..ViewCtx::new(Theme::mono())
    };
    let rebound = screen_with(&p, &vx).join("\n");
    assert!(rebound.contains("SCIM settings · S edits"), "{rebound}");
}
