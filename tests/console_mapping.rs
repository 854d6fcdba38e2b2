//! The Group Mapping pane on the console's real loop, against the embedded service provider
//! (the demo org Acme from a real in-process server) on a `TestBackend`: keys in, screens and
//! server state out.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use scimdesk::console::app::{Msg, State};
use scimdesk::console::panes::mapping::{Impact, Popup};
use scimdesk::console::panes::{Pane, PaneId};
use scimdesk::console::snapshot_backend::SnapshotBackend;
use std::sync::Arc;

mod console_support;
use console_support::*;

type Rig = LiveRig;

async fn rig(w: u16, h: u16) -> Rig {
    live_rig(w, h).await
}

impl Rig {
    fn screen(&self) -> String {
        screen_of(&self.term, &self.server.base_url)
    }
}

fn screen_of(term: &ratatui::Terminal<ratatui::backend::TestBackend>, base: &str) -> String {
    redact_datetimes(&redact_port(&text(term), base))
}

fn loaded(s: &State) -> bool {
    s.pane == PaneId::Mapping
        && s.mapping.groups.loaded
        && s.mapping.stacks.is_some()
        && s.mapping.org_roles.is_some()
        && s.org_name.is_some()
        && s.pending.is_some()
}

fn impact_ready(s: &State) -> bool {
    s.mapping
        .editor
        .as_ref()
        .is_some_and(|e| matches!(e.impact, Impact::Ready(_)))
}

fn group_index(s: &State, name: &str) -> usize {
    s.mapping
        .groups
        .rows
        .iter()
        .position(|g| g.display_name == name)
        .unwrap()
}

#[tokio::test]
async fn mapping_pane_snapshots_at_80x24_and_120x40() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut r = rig(w, h).await;
        r.keys("3");
        r.until("Group Mapping loads", loaded).await;
        insta::assert_snapshot!(format!("mapping_{w}x{h}"), r.screen());
        // The editor on Developers, with Admin picked and its preview shown.
        let dev = group_index(&r.console.state, "Developers");
        r.keys("g");
        for _ in 0..dev {
            r.keys("j");
        }
        r.key(KeyCode::Enter);
        r.until("editor open", |s| s.mapping.editor.is_some()).await;
        r.key(KeyCode::Enter);
        r.keys("adm");
        r.key(KeyCode::Enter);
        r.until("preview shown", |s| impact_ready(s) && s.mapping.dirty())
            .await;
        insta::assert_snapshot!(format!("mapping_editor_{w}x{h}"), r.screen());
        // Mobile App's role dropdown over the editor: filter line, ticks, footer.
        r.key(KeyCode::End);
        r.key(KeyCode::Enter);
        r.until("stack role dropdown", |s| {
            matches!(s.mapping.popup, Some(Popup::StackRoles { .. }))
        })
        .await;
        insta::assert_snapshot!(format!("mapping_dropdown_{w}x{h}"), r.screen());
        r.server.stop().await;
    }
}

#[tokio::test]
async fn map_a_group_with_the_dropdowns_see_the_preview_save_and_see_it_saved() {
    let mut r = rig(80, 24).await;
    r.keys("3");
    r.until("Group Mapping loads", loaded).await;
    assert!(r.screen().contains("— not mapped"), "{}", r.screen());
    // A new mapping: the group dropdown comes first; type to filter.
    r.keys("n");
    r.until("group dropdown", |s| {
        matches!(s.mapping.popup, Some(Popup::Group(_)))
    })
    .await;
    assert!(r.screen().contains("Group to map"), "{}", r.screen());
    r.keys("contr");
    r.key(KeyCode::Enter);
    r.until("group chosen", |s| {
        s.mapping
            .editor
            .as_ref()
            .is_some_and(|e| e.group.is_some() && s.mapping.popup.is_none())
    })
    .await;
    // Untouched, an unmapped group has no unsaved edits (issue 15), yet may be saved.
    assert!(!r.console.state.mapping.dirty());
    assert!(
        r.console.state.mapping.editor.as_ref().unwrap().savable(),
        "{}",
        r.screen()
    );
    // The org role dropdown: Admin and Member only.
    r.key(KeyCode::Enter);
    r.until("org role dropdown", |s| {
        matches!(s.mapping.popup, Some(Popup::OrgRole(_)))
    })
    .await;
    let screen = r.screen();
    assert!(
        screen.contains("Admin") && screen.contains("Member"),
        "{screen}"
    );
    assert!(
        !screen.contains("› Owner") && !screen.contains("  Owner"),
        "{screen}"
    );
    // Issue 15: in a dropdown `j` types into its filter, and the hint bar shows the
    // dropdown's keys (no `j` among them), not the editor's `j next field`.
    let hints = screen.lines().last().unwrap_or_default().to_string();
    assert!(hints.contains("next") && !hints.contains("j "), "{hints}");
    r.keys("j");
    r.until(
        "j typed into the filter",
        |s| matches!(&s.mapping.popup, Some(Popup::OrgRole(d)) if d.query() == "j"),
    )
    .await;
    assert!(
        r.screen()
            .lines()
            .last()
            .unwrap_or_default()
            .contains("next")
    );
    r.key(KeyCode::Backspace);
    r.keys("member");
    r.key(KeyCode::Enter);
    // Mobile App's roles: Developer and Release Manager, ticked with Space.
    let app = r
        .console
        .state
        .mapping
        .stacks
        .as_ref()
        .unwrap()
        .iter()
        .position(|s| s.name == "Mobile App")
        .unwrap();
    for _ in 0..=app {
        r.key(KeyCode::Down);
    }
    r.key(KeyCode::Enter);
    r.until("stack role dropdown", |s| {
        matches!(s.mapping.popup, Some(Popup::StackRoles { .. }))
    })
    .await;
    assert!(r.screen().contains("Roles on Mobile App"), "{}", r.screen());
    r.keys("developer");
    r.key(KeyCode::Char(' '));
    r.key(KeyCode::Esc); // clears the filter, keeps the tick
    r.keys("release");
    r.key(KeyCode::Char(' '));
    r.key(KeyCode::Enter);
    let app_uid = r.console.state.mapping.stacks.as_ref().unwrap()[app]
        .uid
        .clone();
    r.until("both roles ticked and previewed", |s| {
        impact_ready(s)
            && s.mapping
                .editor
                .as_ref()
                .is_some_and(|e| e.draft.roles_on(&app_uid).len() == 2)
    })
    .await;
    let screen = r.screen();
    assert!(
        screen.contains("+ grants Developer on Mobile App to"),
        "{screen}"
    );
    assert!(
        screen.contains("+ grants Release Manager on Mobile App to"),
        "{screen}"
    );
    // Save with Ctrl-s.
    r.send(KeyCode::Char('s'), KeyModifiers::CONTROL);
    r.until("saved and listed", |s| {
        s.mapping.editor.is_none() && s.mapping.groups.loaded && {
            s.mapping
                .groups
                .rows
                .iter()
                .any(|g| g.display_name == "Contractors" && g.mapping.is_some())
        }
    })
    .await;
    let screen = r.screen();
    assert!(
        screen.contains("Member · Developer on Mobile App +1"),
        "{screen}"
    );
    assert!(screen.contains("Contractors saved · "), "{screen}");
    assert!(!screen.contains("— not mapped"), "{screen}");
    // The server agrees, not just the screen.
    let gs = client(&r.server)
        .groups(Some("Contractors"), &Default::default())
        .await
        .unwrap();
    let m = gs.items[0].mapping.as_ref().unwrap();
    let mut roles: Vec<&str> = m.stack_roles.iter().map(|x| x.role_name.as_str()).collect();
    roles.sort();
    assert_eq!(roles, ["Developer", "Release Manager"]);
    assert_eq!(m.org_role.as_str(), "member");
    r.server.stop().await;
}

#[tokio::test]
async fn delete_a_mapping_after_confirming() {
    let mut r = rig(80, 24).await;
    r.keys("3");
    r.until("Group Mapping loads", loaded).await;
    let i = group_index(&r.console.state, "Content Managers");
    for _ in 0..i {
        r.keys("j");
    }
    r.keys("x");
    r.until("confirm with its impact", |s| match &s.mapping.popup {
        Some(Popup::Delete(ask)) => ask.confirm.message.contains("Impact:"),
        _ => false,
    })
    .await;
    let screen = r.screen();
    assert!(screen.contains("Delete mapping?"), "{screen}");
    assert!(screen.contains("Content Managers"), "{screen}");
    // Enter on the default button cancels.
    r.key(KeyCode::Enter);
    r.until("closed", |s| s.mapping.popup.is_none()).await;
    let c = client(&r.server);
    let id = r.console.state.mapping.groups.rows[i].id.clone();
    assert!(c.mapping(&id).await.unwrap().is_some());
    r.keys("x");
    r.key(KeyCode::Tab);
    r.key(KeyCode::Enter);
    r.until("deleted", |s| {
        s.mapping.groups.loaded && {
            s.mapping
                .groups
                .rows
                .iter()
                .any(|g| g.display_name == "Content Managers" && g.mapping.is_none())
        }
    })
    .await;
    assert!(
        r.screen().contains("mapping of Content Managers deleted"),
        "{}",
        r.screen()
    );
    assert!(c.mapping(&id).await.unwrap().is_none());
    r.server.stop().await;
}

#[tokio::test]
async fn unsaved_edits_ask_before_switching_pane_or_quitting() {
    let mut r = rig(80, 24).await;
    r.keys("3");
    r.until("Group Mapping loads", loaded).await;
    r.key(KeyCode::Enter);
    r.until("editor open", |s| s.mapping.editor.is_some()).await;
    r.key(KeyCode::Enter);
    r.keys("member");
    r.key(KeyCode::Enter);
    // The first group (Admins) is Admin: choosing Member is an edit.
    r.until("edited", |s| s.mapping.dirty()).await;
    r.keys("1");
    r.until("asked", |s| s.mode != scimdesk::console::app::Mode::Normal)
        .await;
    assert!(r.screen().contains("unsaved edits"), "{}", r.screen());
    r.keys("n");
    r.keys("q");
    r.until("asked to quit", |s| {
        matches!(&s.mode, scimdesk::console::app::Mode::Confirm(ask)
            if ask.then == scimdesk::console::app::Leave::Quit)
    })
    .await;
    assert!(r.screen().contains("Quit anyway?"), "{}", r.screen());
    r.keys("n");
    r.until("stayed", |s| {
        s.mode == scimdesk::console::app::Mode::Normal && s.pane == PaneId::Mapping
    })
    .await;
    assert!(r.console.state.mapping.dirty());
    assert!(!r.console.quitting());
    r.server.stop().await;
}

#[tokio::test]
async fn a_snapshot_is_browsed_read_only() {
    let (server, _dir) = demo_server().await;
    let doc = client(&server).export().await.unwrap();
    let snap = scimdesk::snapshot::read(&serde_json::to_vec(&doc).unwrap()).unwrap();
    server.stop().await;
    let backend = Arc::new(SnapshotBackend::new(snap, "snapshot acme.json"));
    let mut console = on(backend, 80, 24).console;
    let mut term = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let tx = console.sender();
    let key = |c: KeyCode| {
        tx.send(Msg::Key(KeyEvent::new(c, KeyModifiers::NONE)))
            .unwrap()
    };
    key(KeyCode::Char('3'));
    console
        .run_until(&mut term, LIMIT, |s| {
            s.pane == PaneId::Mapping && s.mapping.groups.loaded && s.mapping.stacks.is_some()
        })
        .await
        .unwrap();
    for c in [
        KeyCode::Enter,
        KeyCode::Char('n'),
        KeyCode::Char('x'),
        KeyCode::Char('e'),
    ] {
        key(c);
    }
    key(KeyCode::Char('j'));
    console
        .run_until(&mut term, LIMIT, |s| s.mapping.groups.selected() == 1)
        .await
        .unwrap();
    let s = &console.state;
    assert!(s.mapping.editor.is_none() && s.mapping.popup.is_none());
    assert!(s.mapping.input().is_none());
    let screen = screen_of(&term, "http://unused:1");
    assert!(screen.contains("READ-ONLY"), "{screen}");
    assert!(
        screen.contains("Admin · Admin on"),
        "mappings are browsable: {screen}"
    );
    assert!(!screen.contains("new  "), "no editing hints: {screen}");
}

/// Issue 15: a stack and a custom role made from the `:` line reach the server, and the
/// mapping editor offers them at once; a rename shows everywhere; a built-in role keeps its
/// name and the console says what to do instead.
#[tokio::test]
async fn stacks_and_custom_roles_from_the_command_line() {
    let mut r = rig(120, 40).await;
    r.keys("3");
    r.until("Group Mapping loads", loaded).await;
    let has_role = |stack: &'static str, role: &'static str| {
        move |s: &State| {
            s.mapping.stacks.as_ref().is_some_and(|st| {
                st.iter()
                    .any(|x| x.name == stack && x.roles.iter().any(|r| r.name == role))
            })
        }
    };
    r.keys(":stack \"Data Platform\"");
    r.key(KeyCode::Enter);
    r.until(
        "the new stack with its built-in roles",
        has_role("Data Platform", "Developer"),
    )
    .await;
    r.keys(":role \"data platform\" Analyst");
    r.key(KeyCode::Enter);
    r.until("the custom role", has_role("Data Platform", "Analyst"))
        .await;
    // The editor offers the new stack and its role at once.
    r.key(KeyCode::Enter);
    r.until("editor open", |s| s.mapping.editor.is_some()).await;
    let screen = r.screen();
    assert!(screen.contains("Data Platform"), "{screen}");
    r.key(KeyCode::Esc);
    r.until("editor closed", |s| s.mapping.editor.is_none())
        .await;
    r.keys(":rename-role \"Data Platform\" Analyst \"Data Analyst\"");
    r.key(KeyCode::Enter);
    r.until("renamed role", has_role("Data Platform", "Data Analyst"))
        .await;
    r.keys(":rename-stack \"Data Platform\" Data");
    r.key(KeyCode::Enter);
    r.until("renamed stack", has_role("Data", "Data Analyst"))
        .await;
    r.keys(":rename-role Data Developer Coder");
    r.key(KeyCode::Enter);
    r.until("the built-in refusal", |s| {
        s.toasts
            .iter()
            .any(|(t, _)| t.text.contains("built-in role and keeps its name"))
    })
    .await;
    // Issue 24, item 11: a name too long says the limit.
    r.keys(&format!(":stack {}", "x".repeat(300)));
    r.key(KeyCode::Enter);
    r.until("the length refusal", |s| {
        s.messages
            .iter()
            .any(|t| t.text.contains("at most 200 characters"))
    })
    .await;
    // What the server holds, through the admin API.
    let stacks = client(&r.server).stacks(&Default::default()).await.unwrap();
    let data = stacks.items.iter().find(|s| s.name == "Data").unwrap();
    assert!(
        data.roles
            .iter()
            .any(|r| r.name == "Data Analyst" && !r.builtin)
    );
    assert!(
        data.roles
            .iter()
            .any(|r| r.name == "Developer" && r.builtin)
    );
}
