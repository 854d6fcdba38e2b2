//! The console benchmark (issue 5 §11), on an org of 100,000 members:
//! - first paint: from connecting to the first frame that shows the org's members;
//! - key press to frame while scrolling the Users pane (j, PgDn, PgUp, k at key-repeat pace);
//! - filtering: each keystroke of a `/` filter to its frame;
//! - the console's resident memory.
//!
//!     cargo bench --bench console
//!
//! The org is the shared bulk-SQL one (`benches/support/org.rs`), served in this process by
//! the real server on 127.0.0.1. The console runs in a child process (this same binary,
//! re-executed) so that its memory is its own: the real loop (`Console`), the live backend
//! over HTTP and ratatui drawing into an in-memory 120×40 `TestBackend` (no terminal I/O, so
//! the figures are the console's own work: update, view and the frame diff).

#[path = "support/org.rs"]
mod org;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use scimdesk::client::AdminClient;
use scimdesk::console::Console;
use scimdesk::console::app::{Msg, State};
use scimdesk::console::backend::LiveBackend;
use scimdesk::console::effects::Clipboard;
use scimdesk::console::theme::Theme;
use scimdesk::server::{ServerConfig, run_server};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The child's environment: where to connect.
const CHILD: &str = "SCIMDESK_BENCH_CONSOLE";
/// Key repeat on a typical terminal: about 30 keys a second.
const KEY_GAP: Duration = Duration::from_millis(33);
const WIDTH: u16 = 120;
const HEIGHT: u16 = 40;

fn main() {
    if let Ok(target) = std::env::var(CHILD) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(console(&target));
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(parent());
}

async fn parent() {
    let org = org::fill().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listen");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let cfg = ServerConfig {
        // One token drives the whole run.
        rate_limit_per_minute: 0,
        ..ServerConfig::default()
    };
    let server = tokio::spawn(run_server(listener, org.store.clone(), cfg, async move {
        let _ = stop_rx.await;
    }));
    let exe = std::env::current_exe().expect("current exe");
    let target = format!("{base} {} {}", org.uid, org.admin_token);
    // The server keeps answering on this runtime while a blocking thread waits for the child.
    let status = tokio::task::spawn_blocking(move || {
        std::process::Command::new(exe)
            .env(CHILD, target)
            .status()
            .expect("run the console child")
    })
    .await
    .expect("wait for the console child");
    let _ = stop_tx.send(());
    let _ = server.await;
    assert!(status.success(), "the console child failed: {status}");
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// The text on the screen, to check what a frame shows.
fn screen(term: &Terminal<TestBackend>) -> String {
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

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn summary(name: &str, mut ms: Vec<f64>, target: &str) {
    ms.sort_by(f64::total_cmp);
    println!(
        "{name:<46} n={:<4} p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>6.2} ms   {target}",
        ms.len(),
        pct(&ms, 0.5),
        pct(&ms, 0.99),
        ms[ms.len() - 1]
    );
}

/// Kilobytes from /proc/self/status (`VmRSS`, `VmHWM`).
fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Sends one key, then times handling it and drawing its frame. Between keys, the answers
/// the key asked for (detail panels, next pages) arrive and are drawn too; those frames are
/// timed separately.
async fn press(
    console: &mut Console,
    term: &mut Terminal<TestBackend>,
    msg: Msg,
    keys: &mut Vec<f64>,
    replies: &mut Vec<f64>,
) {
    console.sender().send(msg).expect("send");
    let t = Instant::now();
    console.drain(term).expect("draw");
    keys.push(t.elapsed().as_secs_f64() * 1000.0);
    tokio::time::sleep(KEY_GAP).await;
    let t = Instant::now();
    console.drain(term).expect("draw");
    replies.push(t.elapsed().as_secs_f64() * 1000.0);
}

async fn console(target: &str) {
    let mut parts = target.split(' ');
    let (base, org, token) = (
        parts.next().expect("base"),
        parts.next().expect("org"),
        parts.next().expect("token"),
    );
    let rss_before = status_kb("VmRSS:");
    let t0 = Instant::now();
    let client = AdminClient::new(base, org, token.to_string(), "bench").expect("client");
    let backend = Arc::new(LiveBackend::new(client));
    let mut console = Console::new(
        backend,
        &BTreeMap::new(),
        Theme::mono(),
        Clipboard::Memory(Vec::new()),
    )
    .expect("console");
    let mut term = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("terminal");
    // The console opens on the Users pane: the first paint is the first frame that shows
    // members, with every start-up request answered.
    let loaded = |s: &State| s.pending.is_some() && s.org_name.is_some();
    let mut seen_member = false;
    while !seen_member {
        console
            .run_until(&mut term, Duration::from_secs(30), loaded)
            .await
            .expect("first paint");
        seen_member = screen(&term).contains("@bench.example");
        if !seen_member {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let first_paint = t0.elapsed().as_secs_f64() * 1000.0;
    println!(
        "first paint (connect → members on screen, 120x40)   {first_paint:.0} ms   target < 1,000 ms"
    );

    let (mut keys, mut replies) = (Vec::new(), Vec::new());
    let plan = [
        (KeyCode::Char('j'), 300),
        (KeyCode::PageDown, 150),
        (KeyCode::PageUp, 50),
        (KeyCode::Char('k'), 100),
    ];
    for (code, n) in plan {
        for _ in 0..n {
            press(&mut console, &mut term, key(code), &mut keys, &mut replies).await;
        }
    }
    summary(
        "scrolling the Users pane: key → frame",
        keys,
        "target p99 < 16 ms",
    );
    summary("  answers arriving meanwhile → frame", replies, "");

    let (mut keys, mut replies) = (Vec::new(), Vec::new());
    for round in 0..10 {
        press(
            &mut console,
            &mut term,
            key(KeyCode::Char('/')),
            &mut Vec::new(),
            &mut Vec::new(),
        )
        .await;
        for c in format!("user0{round}12").chars() {
            press(
                &mut console,
                &mut term,
                key(KeyCode::Char(c)),
                &mut keys,
                &mut replies,
            )
            .await;
        }
        press(
            &mut console,
            &mut term,
            key(KeyCode::Esc),
            &mut Vec::new(),
            &mut Vec::new(),
        )
        .await;
    }
    summary(
        "filter: keystroke → frame",
        keys,
        "target < 16 ms per keystroke",
    );
    summary("  filtered answers arriving → frame", replies, "");

    println!(
        "console RSS: {:.1} MB now, {:.1} MB peak (process start: {:.1} MB)   target < 150 MB",
        status_kb("VmRSS:") as f64 / 1024.0,
        status_kb("VmHWM:") as f64 / 1024.0,
        rss_before as f64 / 1024.0
    );
}
