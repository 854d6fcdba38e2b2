//! The console's real loop on an in-memory terminal, shared by the `console_*` tests: a
//! console on a backend (the embedded server's live admin API, or a snapshot), keys in, the
//! loop run until a condition holds, and the screen's text out. The embedded server runs on
//! the engine the harness picks: a SQLite file in a temporary directory, or a fresh database
//! on the PostgreSQL server `SCIMDESK_TEST_POSTGRES` names.
#![allow(dead_code)]

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use scimdesk::cli::embedded::Embedded;
use scimdesk::client::AdminClient;
use scimdesk::console::Console;
use scimdesk::console::app::{Msg, State};
use scimdesk::console::backend::{Backend, LiveBackend};
use scimdesk::console::effects::Clipboard;
use scimdesk::console::theme::Theme;
use scimdesk::store::testing::{TestDb, fresh_target};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// How long a test waits for the console to reach a state before it fails with the screen.
pub const LIMIT: Duration = Duration::from_secs(20);

/// The console on a `w`×`h` test terminal, monochrome, copying into memory.
pub struct Loop {
    pub console: Console,
    pub term: Terminal<TestBackend>,
}

pub fn on(backend: Arc<dyn Backend>, w: u16, h: u16) -> Loop {
    let console = Console::new(
        backend,
        &BTreeMap::new(),
        Theme::mono(),
        Clipboard::Memory(Vec::new()),
    )
    .unwrap();
    Loop {
        console,
        term: Terminal::new(TestBackend::new(w, h)).unwrap(),
    }
}

/// The console on the live admin API of the embedded server with the demo org; it derefs to
/// its `Loop`.
pub struct LiveRig {
    pub l: Loop,
    pub server: Embedded,
    _data: DemoData,
}

pub async fn live_rig(w: u16, h: u16) -> LiveRig {
    let (server, data) = demo_server().await;
    LiveRig {
        l: on(live(&server), w, h),
        server,
        _data: data,
    }
}

impl std::ops::Deref for LiveRig {
    type Target = Loop;
    fn deref(&self) -> &Loop {
        &self.l
    }
}

impl std::ops::DerefMut for LiveRig {
    fn deref_mut(&mut self) -> &mut Loop {
        &mut self.l
    }
}

/// An admin client with the embedded server's owner token.
pub fn client(server: &Embedded) -> AdminClient {
    AdminClient::new(
        &server.base_url,
        &server.org_uid,
        server.token.clone(),
        "test token",
    )
    .unwrap()
}

/// The live backend on the embedded server, as the console's default uses it.
pub fn live(server: &Embedded) -> Arc<dyn Backend> {
    Arc::new(LiveBackend::new(client(server)))
}

/// Where a demo server's data lives: a temporary directory (for the tests' files too) and
/// the database, which goes with it.
pub struct DemoData {
    pub dir: tempfile::TempDir,
    pub db: TestDb,
}

/// The embedded server with the demo org, on a fresh database of the harness's engine.
pub async fn demo_server() -> (Embedded, DemoData) {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_target(dir.path(), "embedded.db").await;
    let server = Embedded::start_on(&db).await.unwrap();
    (server, DemoData { dir, db })
}

/// The terminal's text, a line per row.
pub fn text(term: &Terminal<TestBackend>) -> String {
    let buf = term.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

/// The server's port differs from run to run: it shows as `P`s of the same width.
pub fn redact_port(screen: &str, base: &str) -> String {
    let port_len = base.rsplit(':').next().unwrap().len();
    screen.replace(base, &format!("http://127.0.0.1:{}", "P".repeat(port_len)))
}

/// The demo org's uid is new each run: the SCIM URL line shows it.
pub fn redact_org_uid(screen: &str) -> String {
    let mut out = String::new();
    let mut rest = screen;
    while let Some(i) = rest.find("/organizations/") {
        let (head, tail) = rest.split_at(i + "/organizations/".len());
        out.push_str(head);
        let n = tail.chars().take_while(|c| c.is_ascii_hexdigit()).count();
        out.push_str(&"U".repeat(n));
        rest = &tail[n..];
    }
    out.push_str(rest);
    out
}

/// Times to the minute differ from run to run: `2026-11-23 10:00` shows as
/// `YYYY-MM-DD hh:mm`, and `11-23 10:00` (narrow columns) as `MM-DD hh:mm`.
pub fn redact_short_times(screen: &str) -> String {
    let chars: Vec<char> = screen.chars().collect();
    let is = |at: usize, pat: &str| {
        at + pat.len() <= chars.len()
            && pat.chars().enumerate().all(|(k, p)| match p {
                'd' => chars[at + k].is_ascii_digit(),
                c => chars[at + k] == c,
            })
    };
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if is(i, "dddd-dd-dd dd:dd") {
            out.push_str("YYYY-MM-DD hh:mm");
            i += 16;
        } else if is(i, "dd-dd dd:dd") {
            out.push_str("MM-DD hh:mm");
            i += 11;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// Times (`2026-12-02 07:55:26`) differ from run to run: they show as `YYYY-MM-DD hh:mm:ss`.
pub fn redact_datetimes(screen: &str) -> String {
    let chars: Vec<char> = screen.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let is_time = i + 19 <= chars.len()
            && chars[i..i + 19].iter().enumerate().all(|(k, c)| match k {
                4 | 7 => *c == '-',
                10 => *c == ' ',
                13 | 16 => *c == ':',
                _ => c.is_ascii_digit(),
            });
        if is_time {
            out.push_str("YYYY-MM-DD hh:mm:ss");
            i += 19;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

impl Loop {
    pub fn send(&self, code: KeyCode, mods: KeyModifiers) {
        self.console
            .sender()
            .send(Msg::Key(KeyEvent::new(code, mods)))
            .unwrap();
    }
    pub fn key(&self, code: KeyCode) {
        self.send(code, KeyModifiers::NONE);
    }
    pub fn keys(&self, s: &str) {
        for c in s.chars() {
            self.key(KeyCode::Char(c));
        }
    }
    /// Runs the loop until `f` holds with nothing in flight, or fails with the screen.
    pub async fn until(&mut self, what: &str, f: impl Fn(&State) -> bool) {
        if let Err(e) = self.console.run_until(&mut self.term, LIMIT, f).await {
            panic!("{what}: {e}\n{}", text(&self.term));
        }
    }
    pub fn state(&self) -> &State {
        &self.console.state
    }
}
