//! The console's real loop on a `TestBackend`, against the embedded service provider (the
//! demo org from a real in-process server): keys in, screens and server state out.

use ratatui::crossterm::event::KeyCode;
use scimdesk::console::effects::Clipboard;
use scimdesk::console::panes::PaneId;
use scimdesk::console::panes::scim::Dialog;

mod console_support;
use console_support::*;

type Rig = LiveRig;

async fn rig(w: u16, h: u16) -> Rig {
    live_rig(w, h).await
}

impl Rig {
    fn screen(&self) -> String {
        redact_org_uid(&redact_datetimes(&redact_port(
            &text(&self.term),
            &self.server.base_url,
        )))
    }
}

fn scim_loaded(s: &scimdesk::console::app::State) -> bool {
    s.scim.settings.is_some() && s.scim.tokens.loaded && s.scim.spc.is_some()
}

#[tokio::test]
async fn scim_pane_snapshots_at_80x24_and_120x40() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut r = rig(w, h).await;
        r.keys("1");
        r.until("SCIM pane loads", |s| {
            s.pane == PaneId::Scim && scim_loaded(s) && s.org_name.is_some() && s.pending.is_some()
        })
        .await;
        insta::assert_snapshot!(format!("scim_{w}x{h}"), r.screen());
        r.server.stop().await;
    }
}

#[tokio::test]
async fn disable_scim_through_the_confirm_dialog() {
    let mut r = rig(80, 24).await;
    r.keys("1");
    r.until("SCIM pane loads", scim_loaded).await;
    assert!(r.console.state.scim.settings.as_ref().unwrap().enabled);
    // `e` opens the settings, Enter on SCIM asks; Enter on the default button cancels:
    // nothing changes, and Esc closes the settings.
    r.keys("e");
    r.key(KeyCode::Enter);
    r.key(KeyCode::Enter);
    r.key(KeyCode::Esc);
    r.until("dialog closed", |s| s.scim.dialog.is_none()).await;
    assert!(r.console.state.scim.settings.as_ref().unwrap().enabled);
    r.keys("e");
    r.key(KeyCode::Enter);
    r.until("confirm shown", |s| {
        matches!(
            s.scim.dialog,
            Some(scimdesk::console::panes::scim::Dialog::Confirm(_))
        )
    })
    .await;
    assert!(r.screen().contains("Disable SCIM?"), "{}", r.screen());
    r.key(KeyCode::Tab);
    r.key(KeyCode::Enter);
    r.until("SCIM disabled", |s| {
        s.scim.settings.as_ref().is_some_and(|x| !x.enabled)
    })
    .await;
    assert!(r.screen().contains("SCIM disabled"), "{}", r.screen());
    // The server agrees, not just the screen.
    r.key(KeyCode::Char('r'));
    let c = scimdesk::client::AdminClient::new(
        &r.server.base_url,
        &r.server.org_uid,
        r.server.token.clone(),
        "t",
    )
    .unwrap();
    assert!(!c.scim_settings().await.unwrap().enabled);
    r.server.stop().await;
}

#[tokio::test]
async fn create_copy_and_revoke_a_scim_token() {
    let mut r = rig(80, 24).await;
    r.keys("1");
    r.until("SCIM pane loads", scim_loaded).await;
    let before = r.console.state.scim.tokens.total;
    r.keys("n");
    r.keys("okta-prod");
    r.key(KeyCode::Enter);
    r.until("secret shown", |s| {
        matches!(s.scim.dialog, Some(Dialog::Secret(_))) && s.scim.tokens.total == before + 1
    })
    .await;
    let secret = match &r.console.state.scim.dialog {
        Some(Dialog::Secret(t)) => t.token.clone(),
        _ => unreachable!(),
    };
    assert!(r.screen().contains("Shown only now"));
    r.keys("y");
    r.key(KeyCode::Esc);
    r.until("dialog closed", |s| s.scim.dialog.is_none()).await;
    match &r.console.effects.clipboard {
        Clipboard::Memory(v) => assert_eq!(v.last(), Some(&secret)),
        Clipboard::Osc52 => unreachable!(),
    }
    assert!(
        !r.screen().contains(&secret),
        "the secret is never shown again"
    );
    // The new token is last (oldest first); revoke it.
    r.keys("G");
    r.keys("x");
    r.until("confirm", |s| s.scim.dialog.is_some()).await;
    assert!(r.screen().contains("okta-prod"), "{}", r.screen());
    r.key(KeyCode::Tab);
    r.key(KeyCode::Enter);
    r.until("revoked", |s| s.scim.tokens.total == before).await;
    r.server.stop().await;
}

#[tokio::test]
async fn terminal_too_small_shows_a_notice() {
    let mut r = rig(40, 10).await;
    r.until("loaded", |s| s.org_name.is_some()).await;
    assert!(r.screen().contains("Terminal too small"), "{}", r.screen());
    r.server.stop().await;
}
