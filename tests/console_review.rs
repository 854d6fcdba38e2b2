//! `scimdesk review` end to end: the live console's screens are exported through `:export`
//! and reviewed read-only, and the same facts appear (issue 6's round trip); `review NEW
//! --against OLD` marks what changed, with the overlay snapshotted at 80×24; bad files on
//! the command line are named with their position.
//!
//! Facts are compared, not whole screens: the header differs between live and review (the
//! READ-ONLY badge, the file name), and the Users and Group Mapping panes draw themselves as
//! they like. Their state is read in `members_shown` and `groups_shown` only.

use ratatui::crossterm::event::KeyCode;
use scimdesk::cli::embedded::Embedded;
use scimdesk::client::{AdminClient, ApprovalPatch, ScimSettingsPatch};
use scimdesk::console::app::{Mode, State};
use scimdesk::console::backend::Backend;
use scimdesk::console::panes::PaneId;
use scimdesk::console::snapshot_backend::SnapshotBackend;
use scimdesk::domain::access::OrgRole;
use scimdesk::domain::approval::MemberState;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

const EXE: &str = env!("CARGO_BIN_EXE_scimdesk");
const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/snapshot-v1.json"
);

mod console_support;
use console_support::*;

type Rig = Loop;

fn rig(backend: Arc<dyn Backend>, w: u16, h: u16) -> Rig {
    on(backend, w, h)
}

fn admin(server: &Embedded) -> AdminClient {
    client(server)
}

impl Loop {
    fn screen(&self) -> String {
        text(&self.term)
    }

    /// `:export PATH`, the console's own export, until it says it wrote the file.
    async fn export(&mut self, path: &Path) {
        assert!(!path.exists());
        self.keys(&format!(":export {}", path.display()));
        self.key(KeyCode::Enter);
        let said = format!("snapshot written to {}", path.display());
        self.until("the export is written", move |s| {
            s.toasts.iter().any(|(t, _)| t.text == said)
        })
        .await;
        assert!(path.exists());
    }

    /// Visits the three panes as a user would and writes down what they show.
    async fn record(&mut self) -> Facts {
        self.keys("2");
        self.until("the Users pane lists members", |s| {
            s.pane == PaneId::Users
                && members_shown(s).is_some()
                && s.org_name.is_some()
                && s.pending.is_some()
        })
        .await;
        let members = members_shown(self.state()).unwrap();
        self.keys("3");
        self.until("the Group Mapping pane lists groups", |s| {
            s.pane == PaneId::Mapping && groups_shown(s).is_some()
        })
        .await;
        let groups = groups_shown(self.state()).unwrap();
        self.keys("4");
        self.until("the Audit pane lists events", |s| {
            s.pane == PaneId::Audit && s.audit.events.loaded && s.audit.events.fetching.is_none()
        })
        .await;
        // Tokens are not in a snapshot by id, so their names are not compared.
        let audit = self
            .state()
            .audit
            .events
            .rows
            .iter()
            .map(|e| {
                let name = e.target_name.clone().filter(|n| !n.contains("token "));
                (
                    e.id.clone(),
                    e.actor.clone(),
                    e.action.clone(),
                    e.target.clone(),
                    name,
                )
            })
            .collect();
        self.keys("1");
        self.until("the SCIM pane loads", |s| {
            s.pane == PaneId::Scim
                && s.scim.settings.is_some()
                && s.scim.tokens.loaded
                && s.scim.spc.is_some()
        })
        .await;
        let s = self.state();
        let scim = s.scim.settings.as_ref().unwrap();
        Facts {
            org_name: s.org_name.clone().unwrap(),
            pending: s.pending.unwrap(),
            members,
            groups,
            scim_enabled: scim.enabled,
            sso_role_mapping: scim.sso_role_mapping,
            approval: (
                scim.approval.provision,
                scim.approval.access_increase,
                scim.approval.deprovision,
            ),
            warnings: scim.warnings.iter().map(|w| w.code.clone()).collect(),
            tokens: s.scim.tokens.rows.iter().map(|t| t.label.clone()).collect(),
            audit,
        }
    }
}

/// What the live console showed, to be found again in the review.
#[derive(Debug, PartialEq)]
struct Facts {
    org_name: String,
    pending: u64,
    /// Email and state, in the order listed.
    members: Vec<(String, MemberState)>,
    groups: Vec<GroupFact>,
    scim_enabled: bool,
    sso_role_mapping: bool,
    approval: (bool, bool, bool),
    warnings: Vec<String>,
    tokens: Vec<String>,
    /// The Audit pane's rows: id, actor, action, target and what the target is called.
    audit: Vec<AuditRow>,
}

type AuditRow = (String, String, String, Option<String>, Option<String>);

/// A group's name, size and mapping summary: the org role and the stack roles it grants.
#[derive(Debug, PartialEq)]
struct GroupFact {
    name: String,
    members: u64,
    mapping: Option<(OrgRole, Vec<String>)>,
}

// The Users and Group Mapping panes are being rebuilt: their state is read here only.

fn members_shown(s: &State) -> Option<Vec<(String, MemberState)>> {
    let ms = &s.users.members;
    if !ms.loaded {
        return None;
    }
    Some(ms.rows.iter().map(|m| (m.email.clone(), m.state)).collect())
}

fn groups_shown(s: &State) -> Option<Vec<GroupFact>> {
    if !s.mapping.groups.loaded {
        return None;
    }
    Some(
        s.mapping
            .groups
            .rows
            .iter()
            .map(|g| GroupFact {
                name: g.display_name.clone(),
                members: g.member_count,
                mapping: g.mapping.as_ref().map(|m| {
                    (
                        m.org_role,
                        m.stack_roles
                            .iter()
                            .map(|r| format!("{} / {}", r.stack_name, r.role_name))
                            .collect(),
                    )
                }),
            })
            .collect(),
    )
}

#[tokio::test]
async fn round_trip_export_then_review_shows_what_live_showed() {
    let (server, data) = demo_server().await;
    let dir = &data.dir;
    let mut r = rig(live(&server), 80, 24);
    let seen = r.record().await;
    // The demo org is not empty, or this test would prove little.
    assert!(seen.members.len() >= 3, "{seen:#?}");
    assert!(seen.groups.iter().any(|g| g.mapping.is_some()), "{seen:#?}");
    assert!(seen.pending > 0, "{seen:#?}");
    assert!(!seen.tokens.is_empty());
    assert!(seen.audit.len() > 100, "{seen:#?}");
    assert!(
        seen.audit
            .iter()
            .any(|a| a.4.as_deref().is_some_and(|n| n.starts_with("request of ")))
    );
    assert!(!r.state().read_only);

    let file = dir.path().join("acme.json");
    r.export(&file).await;
    server.stop().await;

    let mut review = rig(Arc::new(SnapshotBackend::open(&file).unwrap()), 80, 24);
    let reviewed = review.record().await;
    assert_eq!(reviewed, seen);
    let s = review.state();
    assert!(s.read_only);
    assert!(s.server.contains("acme.json"), "{}", s.server);
    assert!(s.changes.is_none());
    let header = review.screen();
    assert!(header.contains("READ-ONLY"), "{header}");
    // A file, not a connection: its name and when it was exported, never "online".
    let first = header.lines().next().unwrap();
    assert!(first.starts_with("snapshot acme.json · "), "{first}");
    assert!(first.contains("· exported 20"), "{first}");
    assert!(!first.contains("online"), "{first}");
    assert!(!header.contains('Δ'), "no comparison, no badge:\n{header}");
}

#[tokio::test]
async fn review_against_an_earlier_export_marks_what_changed_since() {
    let (server, data) = demo_server().await;
    let dir = &data.dir;
    let mut r = rig(live(&server), 80, 24);
    r.record().await;
    let old = dir.path().join("old.json");
    r.export(&old).await;

    // Between the two exports: an admin removes an active member and makes deprovisioning
    // wait for approval.
    let c = admin(&server);
    let gone = r
        .state()
        .users
        .members
        .rows
        .iter()
        .find(|m| m.state == MemberState::Active && m.granted.is_some())
        .cloned()
        .expect("an active member with access");
    c.remove_member(&gone.id).await.unwrap();
    c.patch_scim(&ScimSettingsPatch {
        approval: ApprovalPatch {
            deprovision: Some(true),
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .unwrap();
    let new = dir.path().join("new.json");
    r.export(&new).await;
    server.stop().await;

    let b = SnapshotBackend::open_against(&new, &old).unwrap();
    let mut review = rig(Arc::new(b), 80, 24);
    review.keys("1");
    review
        .until("the SCIM pane loads", |s| {
            s.scim.settings.is_some() && s.pending.is_some()
        })
        .await;
    let changes = review.state().changes.clone().expect("a comparison");
    // The removed member keeps their row (state removed), marked with what they lost.
    let m = changes
        .member(&gone.id)
        .expect("the removed member is marked");
    assert_eq!(m.mark(), "~");
    assert!(
        m.describe().starts_with("state active → removed"),
        "{}",
        m.describe()
    );
    assert!(changes.setting("approval.deprovision").is_some());
    let screen = review.screen();
    assert!(
        screen.contains(&format!("Δ {} changes vs old.json", changes.count())),
        "{screen}"
    );
    let dep = screen
        .lines()
        .find(|l| l.contains("deprovisioning"))
        .unwrap();
    assert!(dep.contains('~') && dep.contains("(was off)"), "{dep}");

    review.keys("D");
    review
        .until("the overlay opens", |s| {
            matches!(s.mode, Mode::Changes { .. })
        })
        .await;
    let screen = review.screen();
    for want in [
        format!("~ {}", gone.email.to_lowercase()),
        "active → removed".to_string(),
        "approval.deprovision  false → true".to_string(),
    ] {
        assert!(screen.contains(&want), "{want}:\n{screen}");
    }
    review.key(KeyCode::Esc);
    review
        .until("the overlay closes", |s| s.mode == Mode::Normal)
        .await;

    // On the Users pane, the removed member's row carries `~` and the detail says why.
    review.keys("2/");
    review.keys(&gone.email);
    review.key(KeyCode::Enter);
    let id = gone.id.clone();
    review
        .until("the filter finds the removed member", move |s| {
            let ms = &s.users.members;
            ms.loaded
                && ms.rows.len() == 1
                && ms.rows[0].id == id
                && s.users.detail.as_ref().is_some_and(|d| d.member.id == id)
        })
        .await;
    let screen = review.screen();
    assert!(screen.contains("│› ~ "), "{screen}");
    assert!(screen.contains("Δ since old.json:"), "{screen}");
    assert!(screen.contains("state active → removed"), "{screen}");
}

fn fixture() -> Value {
    serde_json::from_slice(&std::fs::read(FIXTURE).unwrap()).unwrap()
}

fn write(dir: &Path, name: &str, v: &Value) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    p
}

/// The fixture a quarter later: Bob's pending Content Manager was approved, Ann left, Eve
/// joined, the Editors mapping grants Admin, deprovisioning waits for approval, and the
/// IdP's token was replaced.
fn a_quarter_later() -> Value {
    let mut new = fixture();
    let cm = new["members"][1]["requested"]["stack_roles"][0].clone();
    new["members"][1]["granted"]["stack_roles"]
        .as_array_mut()
        .unwrap()
        .push(cm);
    let mut eve = new["members"][0].clone();
    eve["id"] = json!("u-eve");
    eve["email"] = json!("eve@acme.example");
    eve["display_name"] = json!("Eve Evans");
    let members = new["members"].as_array_mut().unwrap();
    members.remove(0);
    members.push(eve);
    for m in new["mappings"].as_array_mut().unwrap() {
        if m["group_id"] == "g-editors" {
            m["org_role"] = json!("admin");
        }
    }
    new["scim"]["approval"]["deprovision"] = json!(true);
    new["scim"]["tokens"][0]["id"] = json!("tok-entra");
    new["scim"]["tokens"][0]["label"] = json!("entra");
    new
}

#[tokio::test]
async fn changes_overlay_at_80x24() {
    let dir = tempfile::tempdir().unwrap();
    let old = write(dir.path(), "old.json", &fixture());
    let new = write(dir.path(), "new.json", &a_quarter_later());
    let b = SnapshotBackend::open_against(&new, &old).unwrap();
    let mut r = rig(Arc::new(b), 80, 24);
    r.until("loaded", |s| s.org_name.is_some() && s.pending.is_some())
        .await;
    r.keys("D");
    r.until("the overlay opens", |s| {
        matches!(s.mode, Mode::Changes { .. })
    })
    .await;
    insta::assert_snapshot!("changes_overlay_80x24", r.screen());
    // Every line of `scimdesk diff`'s table is on screen, word for word.
    let out = Command::new(EXE)
        .arg("diff")
        .args([&old, &new])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let screen = r.screen();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        assert!(screen.contains(line), "{line}:\n{screen}");
    }
}

/// The row of the screen that holds `what`.
fn line_with<'a>(screen: &'a str, what: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(what))
        .unwrap_or_else(|| panic!("no line with {what}:\n{screen}"))
}

#[tokio::test]
async fn review_against_marks_the_changed_members_and_groups_rows() {
    let dir = tempfile::tempdir().unwrap();
    let old = write(dir.path(), "old.json", &fixture());
    let new = write(dir.path(), "new.json", &a_quarter_later());
    let b = SnapshotBackend::open_against(&new, &old).unwrap();
    let mut r = rig(Arc::new(b), 80, 24);
    r.keys("2");
    r.until("the Users pane lists members and explains the first", |s| {
        s.pane == PaneId::Users
            && s.users.members.loaded
            && s.users.detail.is_some()
            && s.pending.is_some()
    })
    .await;
    let screen = r.screen();
    // Bob gained Content Manager and Eve joined: `+` in the mark column before their names;
    // Cat and Dan did not change.
    assert!(
        line_with(&screen, "Bob Baker").contains("+ Bob Baker"),
        "{screen}"
    );
    assert!(
        line_with(&screen, "Eve Evans").contains("+ Eve Evans"),
        "{screen}"
    );
    assert!(
        line_with(&screen, "Cat Cole").contains("  Cat Cole"),
        "{screen}"
    );
    assert!(!line_with(&screen, "Cat Cole").contains('+'), "{screen}");
    // Ann left: no row, counted in the title.
    assert!(!screen.contains("Ann Archer"), "{screen}");
    assert!(
        screen.contains("1 left since old.json — D lists them"),
        "{screen}"
    );
    // What changed, in words, in the detail panel of the selected row (Bob).
    assert!(
        screen.contains("Δ since old.json: + stack role Website / Content Manager"),
        "{screen}"
    );
    insta::assert_snapshot!("users_marked_80x24", screen);

    r.keys("3");
    r.until("the Group Mapping pane lists groups", |s| {
        s.pane == PaneId::Mapping && s.mapping.groups.loaded
    })
    .await;
    let screen = r.screen();
    assert!(
        line_with(&screen, "Editors").contains("~ Editors"),
        "{screen}"
    );
    for same in ["Engineering", "Platform admins", "Contractors"] {
        let l = line_with(&screen, same);
        assert!(!l.contains('~') && !l.contains(" + "), "{l}");
    }
    let editors = r
        .state()
        .mapping
        .groups
        .rows
        .iter()
        .position(|g| g.id == "g-editors")
        .expect("the Editors group is listed");
    for _ in 0..editors {
        r.keys("j");
    }
    r.until("Editors is selected", move |s| {
        s.mapping.groups.selected() == editors
    })
    .await;
    let screen = r.screen();
    assert!(
        screen.contains("Δ since old.json: mapping org role Member → Admin"),
        "{screen}"
    );
}

#[tokio::test]
async fn a_short_screen_scrolls_the_overlay_to_its_last_line() {
    let dir = tempfile::tempdir().unwrap();
    let old = write(dir.path(), "old.json", &fixture());
    let new = write(dir.path(), "new.json", &a_quarter_later());
    let b = SnapshotBackend::open_against(&new, &old).unwrap();
    let mut r = rig(Arc::new(b), 80, 14);
    r.until("loaded", |s| s.org_name.is_some()).await;
    r.keys("D");
    r.until("open", |s| matches!(s.mode, Mode::Changes { .. }))
        .await;
    let top = r.screen();
    assert!(!top.contains("members changed"), "{top}");
    assert!(top.contains("WHO"), "{top}");
    r.keys("G");
    r.until(
        "scrolled",
        |s| matches!(s.mode, Mode::Changes { scroll } if scroll > 0),
    )
    .await;
    let bottom = r.screen();
    assert!(
        bottom.contains(
            "3 members changed (1 joined, 1 left, 1 access changed), 1 mapping, 2 settings"
        ),
        "{bottom}"
    );
    // The column header stays while the rows move.
    assert!(bottom.contains("WHO"), "{bottom}");
}

fn review(args: &[&Path]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(EXE)
        .arg("review")
        .args(args)
        .env("SCIMDESK_CONFIG_DIR", dir.path())
        .env("SCIMDESK_DATA_DIR", dir.path())
        .output()
        .expect("run scimdesk review")
}

#[test]
fn review_against_a_bad_old_file_names_it_and_the_position() {
    let dir = tempfile::tempdir().unwrap();
    let new = write(dir.path(), "new.json", &fixture());
    let bytes = serde_json::to_vec_pretty(&fixture()).unwrap();
    let old = dir.path().join("last-quarter.json");
    std::fs::write(&old, &bytes[..bytes.len() / 2]).unwrap();
    let out = review(&[&new, Path::new("--against"), &old]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--against"), "{err}");
    assert!(err.contains("last-quarter.json"), "{err}");
    assert!(err.contains("truncated"), "{err}");
    assert!(err.contains("line ") && err.contains("column "), "{err}");
    assert!(!err.contains("new.json"), "NEW is fine: {err}");

    // A bad NEW is named as before, whatever OLD is.
    let mut newer = fixture();
    newer["format_version"] = json!(2);
    let newer = write(dir.path(), "newer.json", &newer);
    let out = review(&[&newer, Path::new("--against"), &new]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("newer.json") && err.contains("format_version 2"),
        "{err}"
    );
    // A missing OLD.
    let out = review(&[&new, Path::new("--against"), &dir.path().join("nope.json")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--against") && err.contains("nope.json"),
        "{err}"
    );
}

#[tokio::test]
async fn the_overlay_warns_when_old_is_another_organization() {
    let dir = tempfile::tempdir().unwrap();
    let mut other = fixture();
    other["org"]["uid"] = json!("globex01");
    let old = write(dir.path(), "globex.json", &other);
    let new = write(dir.path(), "new.json", &fixture());
    let b = SnapshotBackend::open_against(&new, &old).unwrap();
    let mut r = rig(Arc::new(b), 80, 24);
    r.until("loaded", |s| s.org_name.is_some()).await;
    assert!(
        r.screen().contains("Δ no changes vs globex.json"),
        "{}",
        r.screen()
    );
    r.keys("D");
    r.until("open", |s| matches!(s.mode, Mode::Changes { .. }))
        .await;
    let screen = r.screen();
    assert!(
        screen.contains("note: globex.json is of another organization (globex01)"),
        "{screen}"
    );
    assert!(screen.contains("no differences"), "{screen}");
}

/// `:export FILE` on a file that exists: the real console asks, Cancel leaves the file as
/// it was, Overwrite writes the snapshot over it.
#[tokio::test]
async fn export_onto_an_existing_file_asks_and_keeps_it_unless_told() {
    let (server, data) = demo_server().await;
    let mut r = rig(live(&server), 80, 24);
    let path = data.dir.path().join("taken.json");
    std::fs::write(&path, "keep me\n").unwrap();
    let asking = |s: &State| matches!(s.mode, scimdesk::console::app::Mode::Confirm(_));
    r.keys(&format!(":export {}", path.display()));
    r.key(KeyCode::Enter);
    r.until("the console asks before overwriting", asking).await;
    assert!(r.screen().contains("taken.json exists"), "{}", r.screen());
    r.key(KeyCode::Enter);
    r.until("Cancel keeps the file", |s| {
        s.toasts
            .iter()
            .any(|(t, _)| t.text.contains("left as it was"))
    })
    .await;
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me\n");
    r.keys(&format!(":export {}", path.display()));
    r.key(KeyCode::Enter);
    r.until("asked again", asking).await;
    r.key(KeyCode::Tab);
    r.key(KeyCode::Enter);
    let said = format!("snapshot written to {}", path.display());
    r.until("Overwrite writes it", move |s| {
        s.toasts.iter().any(|(t, _)| t.text == said)
    })
    .await;
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"format_version\""), "{text}");
    server.stop().await;
}

/// Issue 24, item 8: a snapshot that recorded nothing about the SCIM endpoint says so (no
/// URL made of the file name, no "✗ not found"), `y` copies nothing; one the console exported
/// shows the URL and discovery the server served; action keys answer "read-only".
#[tokio::test]
async fn review_shows_what_the_export_recorded_or_says_it_is_not_there() {
    let mut r = rig(
        Arc::new(SnapshotBackend::open(Path::new(FIXTURE)).unwrap()),
        80,
        24,
    );
    r.keys("1");
    r.until("the SCIM pane", |s| {
        s.scim.settings.is_some() && s.scim.spc.is_some()
    })
    .await;
    let screen = r.screen();
    assert!(screen.contains("SCIM URL not in the snapshot"), "{screen}");
    assert!(!screen.contains("snapshot-v1.json/scim"), "{screen}");
    assert!(!screen.contains('✗'), "{screen}");
    assert!(screen.contains("not in the snapshot: this"), "{screen}");
    r.keys("ye");
    r.until("y and e answer", |s| {
        s.messages
            .iter()
            .any(|t| t.text.contains("SCIM URL is not in the snapshot"))
            && s.messages
                .iter()
                .any(|t| t.text.starts_with("read-only: e ("))
    })
    .await;

    let (server, data) = demo_server().await;
    let mut live = rig(live(&server), 80, 24);
    live.keys("1");
    live.until("the SCIM pane", |s| s.scim.settings.is_some())
        .await;
    let url = live
        .state()
        .scim
        .settings
        .as_ref()
        .unwrap()
        .scim_url
        .clone()
        .unwrap();
    let file = data.dir.path().join("acme.json");
    live.export(&file).await;
    server.stop().await;
    let mut review = rig(Arc::new(SnapshotBackend::open(&file).unwrap()), 80, 24);
    review.keys("1");
    review
        .until("the SCIM pane", |s| {
            s.scim.settings.is_some() && s.scim.spc.is_some()
        })
        .await;
    let screen = review.screen();
    assert!(screen.contains(&format!("SCIM URL {url}")), "{screen}");
    assert!(screen.contains("Bulk yes"), "{screen}");
    assert!(screen.contains("as served at export"), "{screen}");
}
