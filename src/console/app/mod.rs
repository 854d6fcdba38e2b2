//! The console's state and its pure update function. `update` never performs I/O: it returns
//! [`Cmd`]s that the effects task runs, whose results come back as [`Msg`]s.

pub mod commands;
mod update;

#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
mod tests_esc;

pub use commands::COMMANDS;
use update::*;
pub use update::{act, update};

use super::backend::{Call, Reply};
use super::changes::Changes;
use super::keymap::{Action, Context, Keymap, Press};
use super::panes::audit::AuditPane;
use super::panes::common::dialog::{Answer, Ask};
use super::panes::mapping::MappingPane;
use super::panes::scim::ScimPane;
use super::panes::users::UsersPane;
use super::panes::{Ctx, Pane, PaneId, PaneMsg};
use super::widgets::confirm::Confirm;
use super::widgets::line::LineEdit;
use crate::client::{ApiError, PageReq};
use crate::domain::approval::RequestState;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// A request id: the effects task tags each answer with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReqId(pub u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Success,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toast {
    pub level: Level,
    pub text: String,
}

/// A toast's level without colour.
pub fn level_symbol(l: Level) -> &'static str {
    match l {
        Level::Info => "ℹ",
        Level::Success => "✓",
        Level::Error => "✗",
    }
}

impl Toast {
    pub fn info(text: impl Into<String>) -> Cmd {
        Cmd::Toast(Toast {
            level: Level::Info,
            text: text.into(),
        })
    }
    pub fn success(text: impl Into<String>) -> Cmd {
        Cmd::Toast(Toast {
            level: Level::Success,
            text: text.into(),
        })
    }
    pub fn error(text: impl Into<String>) -> Cmd {
        Cmd::Toast(Toast {
            level: Level::Error,
            text: text.into(),
        })
    }
}

/// What update asks for. Panes return `Call` and `Toast`; the app turns those into `Run`,
/// `Cancel` and visible toasts, so the effects task only ever sees `Run`, `Cancel`, `Copy`,
/// `Export` and `Quit`.
#[derive(Debug, Clone, PartialEq)]
pub enum Cmd {
    Call {
        pane: PaneId,
        slot: &'static str,
        call: Call,
    },
    Toast(Toast),
    Run {
        id: ReqId,
        call: Call,
    },
    Cancel(ReqId),
    /// Put text on the clipboard of the terminal the user sits at (OSC 52).
    Copy(String),
    /// Fetch the snapshot and write it to `path`; unless `overwrite`, a file already there
    /// is left alone and answered with `Msg::ExportExists`.
    Export {
        id: ReqId,
        path: PathBuf,
        overwrite: bool,
    },
    Quit,
}

#[derive(Debug, Clone, PartialEq)]
// Messages are moved once from the effects task to a pane, never stored in bulk, so a
// boxed variant would cost an allocation per reply for nothing.
#[allow(clippy::large_enum_variant)]
pub enum Msg {
    Start,
    Key(KeyEvent),
    /// A click or a wheel turn, with `--mouse`.
    Mouse(ratatui::crossterm::event::MouseEvent),
    Resize(u16, u16),
    Reply {
        id: ReqId,
        result: Result<Reply, ApiError>,
    },
    Exported {
        id: ReqId,
        result: Result<String, String>,
    },
    /// The export's file exists and it was not asked to overwrite it: nothing was written.
    ExportExists {
        id: ReqId,
        path: PathBuf,
    },
    /// A fast timer, sent only while `wants_tick()`: spinner and toast expiry.
    Tick,
    /// A slow timer (seconds): auto-refresh.
    Poll,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conn {
    Connecting,
    Online,
    /// The last request found no server; the text says what failed.
    Offline(String),
}

/// What the app's own question does when confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leave {
    /// `q` with unsaved edits.
    Quit,
    /// Another pane with unsaved edits (they stay in the pane left).
    To(PaneId),
    /// `:export FILE` onto a file that exists: write over it.
    Overwrite(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Normal,
    /// The `?` help, scrolled by `scroll` lines, listing the keys that match `search`
    /// (typed into while `typing`).
    Help {
        scroll: usize,
        search: LineEdit,
        typing: bool,
    },
    /// The `:` line; `browse` is the history index while Up/Down walk it.
    Command {
        line: LineEdit,
        browse: Option<usize>,
    },
    Filter(LineEdit),
    /// Quitting or leaving a pane with unsaved edits: a dialog like every other, starting on
    /// Cancel.
    Confirm(Ask<Leave>),
    /// The list of what changed since the older snapshot, scrolled by `scroll` lines.
    Changes {
        scroll: usize,
    },
    /// `:messages`: every notice of the session, newest first, scrolled by `scroll` lines.
    Messages {
        scroll: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Owner {
    App(&'static str),
    Pane(PaneId, &'static str),
}

/// How many fast ticks a toast stays.
const TOAST_TICKS: u8 = 16;
/// Up to this many toasts are kept; older ones go first.
const MAX_TOASTS: usize = 3;
/// `:messages` keeps this many notices; older ones go first.
const MAX_MESSAGES: usize = 500;

pub struct State {
    pub pane: PaneId,
    pub scim: ScimPane,
    pub users: UsersPane,
    pub mapping: MappingPane,
    pub audit: AuditPane,
    pub keymap: Keymap,
    pub read_only: bool,
    pub server: String,
    pub org_uid: String,
    pub org_name: Option<String>,
    pub scim_url: String,
    pub conn: Conn,
    pub pending: Option<u64>,
    /// What changed since an older snapshot (`review NEW --against OLD`): the header's badge,
    /// the `D` overlay, and `Ctx::changes` for the panes' marks.
    pub changes: Option<Arc<Changes>>,
    /// On a snapshot: when it was exported (the header shows the file and this time, not a
    /// connection).
    pub exported_at: Option<String>,
    pub mode: Mode,
    /// The `/` filter of each pane, shown as a badge while non-empty.
    pub filters: HashMap<PaneId, String>,
    pub history: Vec<String>,
    pub toasts: Vec<(Toast, u8)>,
    /// Every toast of the session (the newest [`MAX_MESSAGES`]), whole, for `:messages`.
    pub messages: std::collections::VecDeque<Toast>,
    pub size: (u16, u16),
    pub spinner: usize,
    /// Something visible changed since the last frame.
    pub redraw: bool,
    next_id: u64,
    inflight: HashMap<ReqId, (Owner, Call)>,
    latest: HashMap<Owner, ReqId>,
    exporting: Option<ReqId>,
    /// Ctrl-r was pressed: say so once its fetches have all answered.
    refreshing: bool,
    /// `:export` files asked for while one is being written, written in turn after it.
    export_queue: std::collections::VecDeque<PathBuf>,
    /// The user's home directory, for `~` in `:export ~/x.json` (read once, at start).
    pub home: Option<PathBuf>,
}

impl State {
    pub fn new(keymap: Keymap, server: String, org_uid: String, read_only: bool) -> State {
        // On a snapshot the "server" is a file: its URL is what the export recorded, or none.
        let scim_url = if read_only {
            String::new()
        } else {
            format!("{server}{}/{org_uid}", crate::scim::SCIM_PREFIX)
        };
        State {
            pane: PaneId::Users,
            scim: ScimPane::default(),
            users: UsersPane::default(),
            mapping: MappingPane::default(),
            audit: AuditPane::default(),
            keymap,
            read_only,
            server,
            org_uid,
            org_name: None,
            scim_url,
            conn: Conn::Connecting,
            pending: None,
            changes: None,
            exported_at: None,
            mode: Mode::Normal,
            filters: HashMap::new(),
            history: Vec::new(),
            toasts: Vec::new(),
            messages: Default::default(),
            size: (80, 24),
            spinner: 0,
            redraw: true,
            next_id: 1,
            inflight: HashMap::new(),
            latest: HashMap::new(),
            exporting: None,
            refreshing: false,
            export_queue: Default::default(),
            home: directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf()),
        }
    }

    pub fn pane_ref(&self, id: PaneId) -> &dyn Pane {
        match id {
            PaneId::Scim => &self.scim,
            PaneId::Users => &self.users,
            PaneId::Mapping => &self.mapping,
            PaneId::Audit => &self.audit,
        }
    }

    fn pane_mut(&mut self, id: PaneId) -> &mut dyn Pane {
        match id {
            PaneId::Scim => &mut self.scim,
            PaneId::Users => &mut self.users,
            PaneId::Mapping => &mut self.mapping,
            PaneId::Audit => &mut self.audit,
        }
    }

    /// Where the pane is drawn at the current size, as the views lay the screen out.
    pub fn body(&self) -> ratatui::layout::Rect {
        let screen = ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1);
        super::views::chrome(screen, matches!(self.conn, Conn::Offline(_)))[3]
    }

    pub fn ctx(&self) -> Ctx {
        Ctx {
            read_only: self.read_only,
            body: self.body(),
            scim_url: self.scim_url.clone(),
        }
    }

    /// How many lines of the changes overlay fit below its column header, with the screen
    /// at its current size (the views lay it over the body, inside a border).
    pub fn changes_rows(&self) -> usize {
        let note = u16::from(
            self.changes
                .as_ref()
                .is_some_and(|c| c.other_org().is_some()),
        );
        // The body less its border, the column header and the other-organization note.
        self.body().height.saturating_sub(2 + 1 + note).max(1) as usize
    }

    /// The largest useful scroll of the changes overlay.
    fn changes_max_scroll(&self) -> usize {
        let lines = self.changes.as_ref().map_or(0, |c| c.lines().len());
        // The column header stays put; the rest scrolls.
        lines.saturating_sub(1).saturating_sub(self.changes_rows())
    }

    /// Requests in flight: the spinner turns.
    pub fn busy(&self) -> bool {
        !self.inflight.is_empty() || self.exporting.is_some()
    }

    /// The fast timer is wanted only while something animates or expires.
    pub fn wants_tick(&self) -> bool {
        self.busy() || !self.toasts.is_empty()
    }

    pub fn filter(&self, pane: PaneId) -> &str {
        self.filters.get(&pane).map(String::as_str).unwrap_or("")
    }

    /// Starts writing the snapshot to `path` (the one export under way).
    fn start_export(&mut self, path: PathBuf) -> Vec<Cmd> {
        self.export_to(path, false)
    }

    fn export_to(&mut self, path: PathBuf, overwrite: bool) -> Vec<Cmd> {
        let id = self.id();
        self.exporting = Some(id);
        vec![Cmd::Export {
            id,
            path,
            overwrite,
        }]
    }

    /// The next `:export` waiting for its turn, if any.
    fn next_export(&mut self) -> Vec<Cmd> {
        match self.export_queue.pop_front() {
            Some(next) => self.start_export(next),
            None => Vec::new(),
        }
    }

    fn id(&mut self) -> ReqId {
        let id = ReqId(self.next_id);
        self.next_id += 1;
        id
    }

    /// Turns pane and app commands into effects: ids for calls, superseded fetches
    /// cancelled, toasts kept in state.
    fn absorb(&mut self, cmds: Vec<Cmd>) -> Vec<Cmd> {
        let mut out = Vec::new();
        for c in cmds {
            match c {
                Cmd::Call { pane, slot, call } => {
                    self.start(Owner::Pane(pane, slot), call, &mut out)
                }
                Cmd::Toast(t) => self.push_toast(t),
                other => out.push(other),
            }
        }
        out
    }

    fn start(&mut self, owner: Owner, call: Call, out: &mut Vec<Cmd>) {
        if self.read_only && call.mutates() {
            self.push_toast(Toast {
                level: Level::Error,
                text: "read-only: nothing can be changed here".into(),
            });
            return;
        }
        let id = self.id();
        if !call.mutates()
            && let Some(old) = self.latest.insert(owner, id)
            && self.inflight.remove(&old).is_some()
        {
            out.push(Cmd::Cancel(old));
        }
        self.inflight.insert(id, (owner, call.clone()));
        out.push(Cmd::Run { id, call });
    }

    fn push_toast(&mut self, t: Toast) {
        if self.messages.len() >= MAX_MESSAGES {
            self.messages.pop_front();
        }
        self.messages.push_back(t.clone());
        if self.toasts.len() >= MAX_TOASTS {
            self.toasts.remove(0);
        }
        self.toasts.push((t, TOAST_TICKS));
    }

    /// The `:messages` overlay's lines at `width` columns: newest first, each wrapped, its
    /// level as a symbol.
    pub fn message_lines(&self, width: usize) -> Vec<(Level, String)> {
        let mut out = Vec::new();
        for t in self.messages.iter().rev() {
            for (i, l) in super::panes::common::fmt::wrap(&t.text, width.saturating_sub(2))
                .into_iter()
                .enumerate()
            {
                let lead = if i == 0 { level_symbol(t.level) } else { " " };
                out.push((t.level, format!("{lead} {l}")));
            }
        }
        out
    }

    /// Rows of the `:messages` overlay (the body less its border), and its largest scroll.
    pub fn messages_rows(&self) -> (usize, usize) {
        let body = self.body();
        let rows = body.height.saturating_sub(2).max(1) as usize;
        let lines = self
            .message_lines(body.width.saturating_sub(2) as usize)
            .len();
        (rows, lines.saturating_sub(rows))
    }

    fn send_pane(&mut self, id: PaneId, msg: PaneMsg) -> Vec<Cmd> {
        let cx = self.ctx();
        let cmds = self.pane_mut(id).update(msg, &cx);
        self.absorb(cmds)
    }

    fn app_fetches(&mut self) -> Vec<Cmd> {
        let mut out = Vec::new();
        self.start(Owner::App("org"), Call::Org, &mut out);
        self.start(
            Owner::App("pending"),
            Call::Approvals {
                state: Some(RequestState::Pending),
                page: PageReq::first(1),
            },
            &mut out,
        );
        out
    }

    fn switch(&mut self, to: PaneId) -> Vec<Cmd> {
        if to != self.pane && self.pane_ref(self.pane).dirty() {
            self.mode = Mode::Confirm(Ask::new(
                Confirm::new(
                    "Unsaved edits",
                    format!(
                        "{} has unsaved edits. Go to {} anyway? They stay in the pane.",
                        self.pane.title(),
                        to.title()
                    ),
                    "Go",
                ),
                Leave::To(to),
            ));
            return Vec::new();
        }
        self.go(to)
    }

    /// `H`: the Audit pane, filtered to the history of what the pane in focus has selected.
    fn history(&mut self) -> Vec<Cmd> {
        let Some(subject) = self.pane_ref(self.pane).subject() else {
            self.push_toast(Toast {
                level: Level::Info,
                text: "H shows a history: select a token (1 SCIM), a member (2 Users), a \
                       group (3 Group Mapping) or an event (4 Audit) first"
                    .into(),
            });
            return Vec::new();
        };
        self.audit.learn(&subject);
        let filter = super::panes::audit::history(&subject.target);
        self.filters.insert(PaneId::Audit, filter.clone());
        let mut out = self.send_pane(PaneId::Audit, PaneMsg::Filter(filter));
        out.extend(self.switch(PaneId::Audit));
        out
    }

    fn go(&mut self, to: PaneId) -> Vec<Cmd> {
        self.pane = to;
        self.send_pane(to, PaneMsg::Activated)
    }

    fn any_dirty(&self) -> bool {
        PaneId::ALL.iter().any(|p| self.pane_ref(*p).dirty())
    }
}
