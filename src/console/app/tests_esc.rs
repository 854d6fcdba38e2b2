//! Issue 24, item 5: Esc goes back one level a press, innermost first (a zoomed detail, an
//! event on the whole pane, the mapping editor, a dialog before the filter), the same in
//! every pane. Each test drives the real keys through the app's update.

use super::tests::{code, key, state};
use super::*;
use crate::console::panes::common::paged::Paged;
use serde_json::json;

/// The `/` filter `text`, typed and kept with Enter.
fn filter(s: &mut State, text: &str) {
    update(s, key('/'));
    for c in text.chars() {
        update(s, key(c));
    }
    update(s, code(KeyCode::Enter));
    assert_eq!(s.filter(s.pane), text);
}

fn esc(s: &mut State) {
    update(s, code(KeyCode::Esc));
}

#[test]
fn esc_in_users_closes_the_zoom_then_clears_the_filter() {
    let mut s = state();
    s.pane = PaneId::Users;
    // The filter first: it restarts the list, which then lands.
    filter(&mut s, "ann");
    s.users.members = Paged::of(vec![
        serde_json::from_value(json!({
            "id": "u1", "email": "ann@acme.example", "display_name": "Ann",
            "state": "active", "source": "scim", "groups": [],
            "granted": {"org_role": "member", "stack_roles": []},
            "requested": {"org_role": "member", "stack_roles": []},
            "created_at": "2026-11-23T10:00:00Z"
        }))
        .unwrap(),
    ]);
    update(&mut s, code(KeyCode::Enter));
    assert!(s.users.zoomed);
    esc(&mut s);
    assert!(!s.users.zoomed);
    assert_eq!(s.filter(PaneId::Users), "ann", "the zoom goes first");
    esc(&mut s);
    assert_eq!(s.filter(PaneId::Users), "");
}

#[test]
fn esc_in_audit_closes_the_event_then_clears_the_filter() {
    let mut s = state();
    s.pane = PaneId::Audit;
    filter(&mut s, "okta");
    s.audit.events = Paged::of(vec![crate::client::AuditEvent {
        id: "1".into(),
        at: "2026-12-04T09:00:00.000Z".into(),
        actor: "okta".into(),
        action: "scim.user.update".into(),
        target: Some("u1".into()),
        target_name: None,
        before: None,
        after: None,
    }]);
    update(&mut s, code(KeyCode::Enter));
    assert!(s.audit.zoomed);
    esc(&mut s);
    assert!(!s.audit.zoomed);
    assert_eq!(s.filter(PaneId::Audit), "okta", "the event goes first");
    esc(&mut s);
    assert_eq!(s.filter(PaneId::Audit), "");
}

#[test]
fn esc_in_group_mapping_closes_the_editor_then_clears_the_filter() {
    let mut s = state();
    s.pane = PaneId::Mapping;
    filter(&mut s, "dev");
    s.mapping = crate::console::panes::mapping::tests::pane();
    update(&mut s, code(KeyCode::Enter));
    assert!(s.mapping.editor.is_some());
    esc(&mut s);
    assert!(s.mapping.editor.is_none());
    assert_eq!(s.filter(PaneId::Mapping), "dev", "the editor goes first");
    esc(&mut s);
    assert_eq!(s.filter(PaneId::Mapping), "");
}

#[test]
fn esc_in_scim_closes_the_dialog_then_clears_the_filter() {
    let mut s = state();
    s.pane = PaneId::Scim;
    s.scim.settings = Some(
        serde_json::from_value(json!({
            "enabled": true, "sso_role_mapping": false,
            "approval": {"provision": true, "access_increase": true, "deprovision": false},
            "warnings": []
        }))
        .unwrap(),
    );
    filter(&mut s, "okta");
    // The settings, then one of their questions: each Esc closes one.
    update(&mut s, key('e'));
    update(&mut s, key('j'));
    update(&mut s, code(KeyCode::Enter));
    assert!(matches!(
        s.scim.dialog,
        Some(crate::console::panes::scim::Dialog::Confirm(_))
    ));
    esc(&mut s);
    assert!(matches!(
        s.scim.dialog,
        Some(crate::console::panes::scim::Dialog::Settings { .. })
    ));
    esc(&mut s);
    assert!(s.scim.dialog.is_none());
    assert_eq!(s.filter(PaneId::Scim), "okta");
    esc(&mut s);
    assert_eq!(s.filter(PaneId::Scim), "");
}
