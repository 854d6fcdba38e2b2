//! Every pane at the three sizes the console promises (issue 15): whole at 80×24, degraded
//! without losing rows at 60×20, using the width at 160×50. The demo org on the embedded
//! server, with SSO role mapping on so that the SCIM pane's warning box shows; insta
//! snapshots of each screen, and assertions on what must be there at each size.

use scimdesk::client::ScimSettingsPatch;
use scimdesk::console::app::State;
use scimdesk::console::panes::PaneId;

mod console_support;
use console_support::*;

const SIZES: [(u16, u16); 3] = [(60, 20), (80, 24), (160, 50)];

fn screen(r: &LiveRig) -> String {
    // Ports, times and the org's uid differ from run to run.
    let s = redact_datetimes(&redact_port(&text(&r.term), &r.server.base_url));
    let uid = &r.state().org_uid;
    // The whole uid (audit targets) and the start of it where the SCIM URL is cut.
    let s = s.replace(uid.as_str(), &"U".repeat(uid.len()));
    redact_event_ids(&redact_short_times(&redact_org_uid(&s)))
}

/// An audit event's id (`#` and 16 hex digits) differs from org to org (issue 23, item 7).
fn redact_event_ids(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('#') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let hex = rest.bytes().take_while(u8::is_ascii_hexdigit).count();
        if hex == 16 {
            out.push_str(&"E".repeat(16));
            rest = &rest[16..];
        }
    }
    out.push_str(rest);
    out
}

fn ready(s: &State, pane: PaneId) -> bool {
    s.pane == pane
        && s.org_name.is_some()
        && s.pending.is_some()
        && match pane {
            PaneId::Scim => {
                s.scim.settings.is_some() && s.scim.tokens.loaded && s.scim.spc.is_some()
            }
            PaneId::Users => s.users.members.loaded && s.users.detail.is_some(),
            PaneId::Mapping => s.mapping.groups.loaded && s.mapping.stacks.is_some(),
            PaneId::Audit => s.audit.events.loaded,
        }
}

/// Lines of `screen` that hold `what`.
fn has(screen: &str, what: &str) -> bool {
    screen.lines().any(|l| l.contains(what))
}

#[tokio::test]
async fn every_pane_at_60x20_80x24_and_160x50() {
    for (w, h) in SIZES {
        let mut r = live_rig(w, h).await;
        // SSO role mapping on: the SCIM pane shows its warning box.
        client(&r.server)
            .patch_scim(&ScimSettingsPatch {
                sso_role_mapping: Some(true),
                ..Default::default()
            })
            .await
            .unwrap();
        for (key, pane) in [
            ("1", PaneId::Scim),
            ("2", PaneId::Users),
            ("3", PaneId::Mapping),
            ("4", PaneId::Audit),
        ] {
            r.keys(key);
            r.until(&format!("{pane:?} at {w}x{h}"), move |s| ready(s, pane))
                .await;
            let s = screen(&r);
            // Never a row lost: every pane keeps its tabs and its hint bar.
            assert!(has(&s, "Audit"), "{w}x{h} {pane:?}: tabs\n{s}");
            assert!(
                !s.lines().nth(h as usize - 1).unwrap().trim().is_empty(),
                "{w}x{h} {pane:?}: hint bar\n{s}"
            );
            if pane == PaneId::Scim {
                // All three approval rules and the warning, at every size.
                for row in [
                    "Approve new members",
                    "Approve access increases",
                    "Approve deprovisioning",
                ] {
                    assert!(s.contains(row), "{w}x{h}: approval row '{row}'\n{s}");
                }
                assert!(s.contains("SSO role mapping"), "{w}x{h}\n{s}");
                // The warning whole (wrapped), and key letters on their rows.
                assert!(s.contains("assign roles."), "{w}x{h}\n{s}");
                assert!(
                    !s.lines()
                        .any(|l| l.trim_matches(|c| c == '│' || c == ' ').len() == 1),
                    "{w}x{h}: a key letter alone on a line\n{s}"
                );
            }
            insta::assert_snapshot!(format!("{pane:?}_{w}x{h}").to_lowercase(), s);
            if pane == PaneId::Users {
                // Issue 24, item 4: the Pending queue says whose request each row is, at
                // every size.
                r.keys("p");
                r.until("the pending queue", |s| {
                    s.users.queue.loaded && !s.users.queue.rows.is_empty()
                })
                .await;
                let s = screen(&r);
                let rows: Vec<&str> = s.lines().filter(|l| l.contains("[ ]")).collect();
                assert!(!rows.is_empty(), "{w}x{h}\n{s}");
                for q in &r.console.state.users.queue.rows {
                    let email = &q.member.as_ref().expect("a member").email;
                    let head: String = email.chars().take(10).collect();
                    assert!(
                        rows.iter().any(|l| l.contains(&head)),
                        "{w}x{h}: no row says {email}\n{s}"
                    );
                }
                insta::assert_snapshot!(format!("pending_{w}x{h}"), s);
                r.keys("p");
            }
            if pane == PaneId::Mapping {
                // The mapping editor, whole at each size: the group, the org role and a row
                // per stack.
                r.key(ratatui::crossterm::event::KeyCode::Enter);
                r.until("the mapping editor", |s| {
                    s.mapping.editor.as_ref().is_some_and(|e| e.group.is_some())
                })
                .await;
                let s = screen(&r);
                for row in [
                    "Org role",
                    "Developer stack",
                    "Marketing Site",
                    "Mobile App",
                ] {
                    assert!(s.contains(row), "{w}x{h}: editor row {row}\n{s}");
                }
                insta::assert_snapshot!(format!("mapping_editor_{w}x{h}"), s);
                r.key(ratatui::crossterm::event::KeyCode::Esc);
                r.until("the editor closed", |s| s.mapping.editor.is_none())
                    .await;
            }
        }
        r.server.stop().await;
    }
}
