//! The terminal console: a pure `app::update`, views that only draw, and an effects task
//! that runs the update's commands against a `backend::Backend`.

pub mod app;
pub mod backend;
pub mod changes;
pub mod config;
pub mod effects;

pub mod keymap;
pub mod panes;
pub mod snapshot_backend;
pub mod terminal;
pub mod theme;
pub mod views;
pub mod widgets;

use app::{Cmd, Msg, State, update};
use backend::Backend;
use effects::{Clipboard, Effects};
use keymap::Keymap;
use ratatui::Terminal;
use ratatui::crossterm::event::{self, Event, KeyEventKind};
use std::sync::Arc;
use std::time::Duration;
use theme::Theme;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

/// How often the spinner turns and toasts age, while either is on screen.
const TICK: Duration = Duration::from_millis(150);
/// How often the pending count and the visible pane refresh themselves.
const POLL: Duration = Duration::from_secs(5);

/// The console's event loop around the pure update: messages in (keys, replies, timers),
/// commands out (to the effects), a frame drawn only when the queue is empty and something
/// changed. Tests drive it with injected messages on a `TestBackend` terminal.
pub struct Console {
    pub state: State,
    pub theme: Theme,
    pub effects: Effects,
    tx: UnboundedSender<Msg>,
    rx: UnboundedReceiver<Msg>,
    quit: bool,
    /// OSC 52 copies to write through the terminal after the next frame.
    copies: Vec<String>,
}

/// A terminal backend the console also writes raw sequences through (OSC 52 copies), so that
/// they go out on the terminal's own writer, between frames, never racing a frame on stdout.
pub trait RawWrite {
    fn write_raw(&mut self, bytes: &[u8]) -> std::io::Result<()>;
}

impl<W: std::io::Write> RawWrite for ratatui::backend::CrosstermBackend<W> {
    fn write_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        std::io::Write::write_all(self, bytes)?;
        std::io::Write::flush(self)
    }
}

/// Tests copy into memory (`Clipboard::Memory`): nothing reaches a test terminal.
impl RawWrite for ratatui::backend::TestBackend {
    fn write_raw(&mut self, _: &[u8]) -> std::io::Result<()> {
        Ok(())
    }
}

impl Console {
    pub fn new(
        backend: Arc<dyn Backend>,
        key_overrides: &std::collections::BTreeMap<String, Vec<String>>,
        theme: Theme,
        clipboard: Clipboard,
    ) -> Result<Console, String> {
        let read_only = backend.read_only();
        let changes = backend.changes();
        let caps = keymap::Caps {
            read_only,
            comparing: changes.is_some(),
        };
        let keymap = Keymap::build_for(&panes::bindings(), key_overrides, caps)?;
        let mut state = State::new(keymap, backend.server(), backend.org(), read_only);
        state.changes = changes;
        state.exported_at = backend.exported_at();
        let (tx, rx) = unbounded_channel();
        let effects = Effects::new(backend, tx.clone(), clipboard);
        let _ = tx.send(Msg::Start);
        Ok(Console {
            state,
            theme,
            effects,
            tx,
            rx,
            quit: false,
            copies: Vec::new(),
        })
    }

    /// Where input (keys, resizes) is sent from.
    pub fn sender(&self) -> UnboundedSender<Msg> {
        self.tx.clone()
    }

    pub fn quitting(&self) -> bool {
        self.quit
    }

    fn handle(&mut self, msg: Msg) {
        if let Msg::Reply { id, .. } | Msg::Exported { id, .. } | Msg::ExportExists { id, .. } =
            &msg
        {
            self.effects.finished(*id);
        }
        for cmd in update(&mut self.state, msg) {
            match cmd {
                Cmd::Quit => self.quit = true,
                Cmd::Copy(text) => match &mut self.effects.clipboard {
                    Clipboard::Osc52 => self.copies.push(text),
                    Clipboard::Memory(v) => v.push(text),
                },
                cmd => self.effects.run(cmd),
            }
        }
    }

    pub fn draw<B: ratatui::backend::Backend + RawWrite>(
        &mut self,
        term: &mut Terminal<B>,
    ) -> Result<(), String> {
        let size = term.size().map_err(|e| format!("terminal: {e:?}"))?;
        if (size.width, size.height) != self.state.size {
            self.handle(Msg::Resize(size.width, size.height));
        }
        if self.state.redraw {
            self.state.redraw = false;
            let (state, theme) = (&self.state, &self.theme);
            term.draw(|f| views::draw(f, state, theme))
                .map_err(|e| format!("cannot draw: {e:?}"))?;
        }
        for text in self.copies.drain(..) {
            term.backend_mut()
                .write_raw(effects::osc52(&text).as_bytes())
                .map_err(|e| format!("cannot copy to the clipboard: {e}"))?;
        }
        Ok(())
    }

    /// Handles every queued message without waiting, then draws if something changed. The
    /// console benchmark times this from a key press to its frame.
    pub fn drain<B: ratatui::backend::Backend + RawWrite>(
        &mut self,
        term: &mut Terminal<B>,
    ) -> Result<(), String> {
        while let Ok(msg) = self.rx.try_recv() {
            self.handle(msg);
            if self.quit {
                return Ok(());
            }
        }
        self.draw(term)
    }

    /// Handles every queued message, then draws once. Returns after the first message that
    /// arrives when the queue is empty, or after a timer.
    pub async fn step<B: ratatui::backend::Backend + RawWrite>(
        &mut self,
        term: &mut Terminal<B>,
        poll: &mut tokio::time::Interval,
    ) -> Result<(), String> {
        self.drain(term)?;
        if !self.quit {
            self.wait_one(poll).await;
        }
        Ok(())
    }

    /// Waits for the next message or timer and handles it, without drawing.
    async fn wait_one(&mut self, poll: &mut tokio::time::Interval) {
        let tick = self.state.wants_tick();
        tokio::select! {
            msg = self.rx.recv() => match msg {
                Some(m) => self.handle(m),
                None => self.quit = true,
            },
            _ = tokio::time::sleep(TICK), if tick => self.handle(Msg::Tick),
            _ = poll.tick() => self.handle(Msg::Poll),
        }
    }

    /// Runs until `q`/`:q`/Ctrl-C.
    pub async fn run<B: ratatui::backend::Backend + RawWrite>(
        &mut self,
        term: &mut Terminal<B>,
    ) -> Result<(), String> {
        let mut poll = poll_interval();
        while !self.quit {
            self.step(term, &mut poll).await?;
        }
        Ok(())
    }

    /// For tests: runs the loop until `done` holds, or fails after `limit` with the screen.
    pub async fn run_until<B: ratatui::backend::Backend + RawWrite>(
        &mut self,
        term: &mut Terminal<B>,
        limit: Duration,
        done: impl Fn(&State) -> bool,
    ) -> Result<(), String> {
        let mut poll = poll_interval();
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            // The condition is checked after every queued message is handled and drawn, so
            // an answer that arrives together with others is not skipped over.
            self.drain(term)?;
            if self.quit {
                return Err("the console quit".into());
            }
            if done(&self.state) && self.effects.in_flight() == 0 {
                return Ok(());
            }
            if tokio::time::timeout_at(deadline, self.wait_one(&mut poll))
                .await
                .is_err()
            {
                return Err("condition not reached in time".into());
            }
        }
    }
}

fn poll_interval() -> tokio::time::Interval {
    let mut i = tokio::time::interval_at(tokio::time::Instant::now() + POLL, POLL);
    i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    i
}

/// Runs the console on the real terminal over a backend that is already open (the admin API
/// of a server, the embedded one included, or a snapshot for `scimdesk review`), with the
/// config file's key overrides. Where to connect, and the embedded server's life, are the
/// command line's business (`crate::cli`).
pub async fn run(
    backend: Arc<dyn Backend>,
    keys: &std::collections::BTreeMap<String, Vec<String>>,
    mouse: bool,
) -> Result<(), String> {
    let theme = Theme::from_env(std::env::var("NO_COLOR").ok().as_deref());
    let mut console = Console::new(backend, keys, theme, Clipboard::Osc52)?;
    let (mut term, _guard) = terminal::TermGuard::enter(mouse)
        .map_err(|e| format!("cannot set up the terminal: {e}"))?;
    spawn_input(console.sender());
    console.run(&mut term).await
}

/// Terminal input is blocking, so it has its own thread; it ends with the process.
fn spawn_input(tx: UnboundedSender<Msg>) {
    std::thread::spawn(move || {
        loop {
            let msg = match event::read() {
                Ok(Event::Key(k)) if k.kind != KeyEventKind::Release => Msg::Key(k),
                Ok(Event::Resize(w, h)) => Msg::Resize(w, h),
                Ok(Event::Mouse(m)) => Msg::Mouse(m),
                Ok(_) => continue,
                Err(e) => {
                    tracing::error!("terminal input failed: {e}");
                    break;
                }
            };
            if tx.send(msg).is_err() {
                break;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::backend::CrosstermBackend;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    /// A copy (here the SCIM URL, `y`) goes out as OSC 52 through the terminal's own writer,
    /// after the frame, not on stdout beside it.
    #[tokio::test]
    async fn copies_go_through_the_terminal_writer() {
        let mut snap =
            crate::snapshot::read(include_str!("../../tests/fixtures/snapshot-v1.json").as_bytes())
                .unwrap();
        // The URL the export recorded (issue 24, item 8: never one made of the file name).
        let recorded = "https://scim.example.com/scim/v2.0/organizations/acme";
        snap.discovery = Some(crate::snapshot::Discovery {
            scim_url: Some(recorded.into()),
            service_provider_config: None,
        });
        let backend = Arc::new(snapshot_backend::SnapshotBackend::new(snap, "snap.json"));
        let mut console = Console::new(
            backend,
            &Default::default(),
            Theme::mono(),
            Clipboard::Osc52,
        )
        .unwrap();
        let out = Shared::default();
        let mut term = Terminal::new(CrosstermBackend::new(out.clone())).unwrap();
        term.resize(ratatui::layout::Rect::new(0, 0, 80, 24))
            .unwrap();
        let key = |c| Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        console.sender().send(key('1')).unwrap();
        // The settings land first: the URL is theirs.
        let mut poll = tokio::time::interval(std::time::Duration::from_secs(3600));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while console.state.scim.settings.is_none() {
            assert!(
                std::time::Instant::now() < deadline,
                "the settings never landed"
            );
            console.step(&mut term, &mut poll).await.unwrap();
        }
        console.sender().send(key('y')).unwrap();
        console.drain(&mut term).unwrap();
        let written = String::from_utf8_lossy(&out.0.lock().unwrap()).to_string();
        let at = written.find("\x1b]52;c;").expect("an OSC 52 sequence");
        let encoded = effects::osc52(recorded);
        let prefix = &encoded[..encoded.len() - 8];
        assert!(written[at..].starts_with(prefix), "{:?}", &written[at..]);
    }

    /// A terminal writer the test can read back.
    #[derive(Clone, Default)]
    struct Shared(Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}
