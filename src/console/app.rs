//! The console's state and its pure update function. `update` never performs I/O: it returns
//! [`Cmd`]s that the effects task runs, whose results come back as [`Msg`]s.

use super::backend::{Call, Reply};
use super::keymap::{Action, Keymap};
use super::panes::mapping::MappingPane;
use super::panes::scim::ScimPane;
use super::panes::users::UsersPane;
use super::panes::{Ctx, Pane, PaneId, PaneMsg};
use crate::client::{ApiError, PageReq};
use crate::domain::approval::RequestState;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::HashMap;
use std::path::PathBuf;

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
    /// Fetch the snapshot and write it to `path`.
    Export {
        id: ReqId,
        path: PathBuf,
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
    Resize(u16, u16),
    Reply {
        id: ReqId,
        result: Result<Reply, ApiError>,
    },
    Exported {
        id: ReqId,
        result: Result<String, String>,
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

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LineEdit {
    pub text: String,
}

impl LineEdit {
    /// Applies an editing key; true when the text changed.
    fn edit(&mut self, key: &KeyEvent) -> bool {
        match key.code {
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.text.push(c);
                true
            }
            KeyCode::Char('u') => {
                let changed = !self.text.is_empty();
                self.text.clear();
                changed
            }
            KeyCode::Backspace => self.text.pop().is_some(),
            _ => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Normal,
    Help,
    /// The `:` line; `browse` is the history index while Up/Down walk it.
    Command {
        line: LineEdit,
        browse: Option<usize>,
    },
    Filter(LineEdit),
    /// `q` with unsaved edits: y quits, anything else stays.
    ConfirmQuit,
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

pub struct State {
    pub pane: PaneId,
    pub scim: ScimPane,
    pub users: UsersPane,
    pub mapping: MappingPane,
    pub keymap: Keymap,
    pub read_only: bool,
    pub server: String,
    pub org_uid: String,
    pub org_name: Option<String>,
    pub scim_url: String,
    pub conn: Conn,
    pub pending: Option<u64>,
    pub mode: Mode,
    /// The `/` filter of each pane, shown as a badge while non-empty.
    pub filters: HashMap<PaneId, String>,
    pub history: Vec<String>,
    pub toasts: Vec<(Toast, u8)>,
    pub size: (u16, u16),
    pub spinner: usize,
    /// Something visible changed since the last frame.
    pub redraw: bool,
    next_id: u64,
    inflight: HashMap<ReqId, (Owner, Call)>,
    latest: HashMap<Owner, ReqId>,
    exporting: Option<ReqId>,
}

impl State {
    pub fn new(keymap: Keymap, server: String, org_uid: String, read_only: bool) -> State {
        let scim_url = format!("{server}{}/{org_uid}", crate::server::scim::SCIM_PREFIX);
        State {
            pane: PaneId::Users,
            scim: ScimPane::default(),
            users: UsersPane::default(),
            mapping: MappingPane::default(),
            keymap,
            read_only,
            server,
            org_uid,
            org_name: None,
            scim_url,
            conn: Conn::Connecting,
            pending: None,
            mode: Mode::Normal,
            filters: HashMap::new(),
            history: Vec::new(),
            toasts: Vec::new(),
            size: (80, 24),
            spinner: 0,
            redraw: true,
            next_id: 1,
            inflight: HashMap::new(),
            latest: HashMap::new(),
            exporting: None,
        }
    }

    pub fn pane_ref(&self, id: PaneId) -> &dyn Pane {
        match id {
            PaneId::Scim => &self.scim,
            PaneId::Users => &self.users,
            PaneId::Mapping => &self.mapping,
        }
    }

    fn pane_mut(&mut self, id: PaneId) -> &mut dyn Pane {
        match id {
            PaneId::Scim => &mut self.scim,
            PaneId::Users => &mut self.users,
            PaneId::Mapping => &mut self.mapping,
        }
    }

    pub fn ctx(&self) -> Ctx {
        Ctx {
            read_only: self.read_only,
            // Header, tabs, hint bar and borders take about seven rows.
            page_rows: self.size.1.saturating_sub(7).max(1),
            scim_url: self.scim_url.clone(),
        }
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
        if self.toasts.len() >= MAX_TOASTS {
            self.toasts.remove(0);
        }
        self.toasts.push((t, TOAST_TICKS));
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
        self.pane = to;
        self.send_pane(to, PaneMsg::Activated)
    }

    fn any_dirty(&self) -> bool {
        PaneId::ALL.iter().any(|p| self.pane_ref(*p).dirty())
    }
}

/// The whole console's behaviour.
pub fn update(s: &mut State, msg: Msg) -> Vec<Cmd> {
    match msg {
        Msg::Start => {
            s.redraw = true;
            let mut out = s.app_fetches();
            out.extend(s.switch(s.pane));
            out
        }
        Msg::Resize(w, h) => {
            s.size = (w, h);
            s.redraw = true;
            Vec::new()
        }
        Msg::Tick => {
            if s.busy() {
                s.spinner = s.spinner.wrapping_add(1);
                s.redraw = true;
            }
            let before = s.toasts.len();
            for t in &mut s.toasts {
                t.1 = t.1.saturating_sub(1);
            }
            s.toasts.retain(|t| t.1 > 0);
            s.redraw |= before != s.toasts.len();
            Vec::new()
        }
        Msg::Poll => {
            let mut out = Vec::new();
            s.start(
                Owner::App("pending"),
                Call::Approvals {
                    state: Some(RequestState::Pending),
                    page: PageReq::first(1),
                },
                &mut out,
            );
            out.extend(s.send_pane(s.pane, PaneMsg::Poll));
            out
        }
        Msg::Reply { id, result } => on_reply(s, id, result),
        Msg::Exported { id, result } => {
            if s.exporting != Some(id) {
                return Vec::new();
            }
            s.exporting = None;
            s.redraw = true;
            s.push_toast(match result {
                Ok(path) => Toast {
                    level: Level::Success,
                    text: format!("snapshot written to {path}"),
                },
                Err(e) => Toast {
                    level: Level::Error,
                    text: format!("export failed: {e}"),
                },
            });
            Vec::new()
        }
        Msg::Key(key) => {
            s.redraw = true;
            on_key(s, key)
        }
    }
}

fn on_reply(s: &mut State, id: ReqId, result: Result<Reply, ApiError>) -> Vec<Cmd> {
    let Some((owner, call)) = s.inflight.remove(&id) else {
        // Cancelled or superseded: its answer is stale.
        return Vec::new();
    };
    s.redraw = true;
    match &result {
        Err(ApiError::Unreachable { url, detail }) => {
            s.conn = Conn::Offline(format!("cannot reach {url}: {detail}"));
        }
        _ => s.conn = Conn::Online,
    }
    match owner {
        Owner::App(slot) => {
            if s.latest.get(&owner) == Some(&id) {
                s.latest.remove(&owner);
            }
            match (slot, result) {
                (_, Ok(Reply::Org(o))) => s.org_name = Some(o.name),
                (_, Ok(Reply::Approvals(p))) => s.pending = Some(p.total),
                (_, Err(ApiError::Unreachable { .. })) => {}
                (_, Err(e)) => s.push_toast(Toast {
                    level: Level::Error,
                    text: e.to_string(),
                }),
                _ => {}
            }
            Vec::new()
        }
        Owner::Pane(pane, slot) => {
            if s.latest.get(&owner) == Some(&id) {
                s.latest.remove(&owner);
            }
            // A decision changes the queue: the header's count follows at once.
            let mut out = Vec::new();
            if call.mutates() && result.is_ok() {
                s.start(
                    Owner::App("pending"),
                    Call::Approvals {
                        state: Some(RequestState::Pending),
                        page: PageReq::first(1),
                    },
                    &mut out,
                );
            }
            out.extend(s.send_pane(pane, PaneMsg::Reply { slot, call, result }));
            out
        }
    }
}

fn on_key(s: &mut State, key: KeyEvent) -> Vec<Cmd> {
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return vec![Cmd::Quit];
    }
    match std::mem::take(&mut s.mode) {
        Mode::Normal => {}
        Mode::Help => {
            // Any key closes help; the ones that would act do nothing else.
            return Vec::new();
        }
        Mode::ConfirmQuit => {
            return if matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                vec![Cmd::Quit]
            } else {
                Vec::new()
            };
        }
        Mode::Command { line, browse } => return command_key(s, line, browse, key),
        Mode::Filter(mut line) => {
            return match key.code {
                KeyCode::Enter => Vec::new(),
                KeyCode::Esc => clear_filter(s),
                _ => {
                    let changed = line.edit(&key);
                    let text = line.text.clone();
                    s.mode = Mode::Filter(line);
                    if changed {
                        s.filters.insert(s.pane, text.clone());
                        s.send_pane(s.pane, PaneMsg::Filter(text))
                    } else {
                        Vec::new()
                    }
                }
            };
        }
    }
    if s.pane_ref(s.pane).captures_input() {
        return s.send_pane(s.pane, PaneMsg::Key(key));
    }
    let Some(action) = s.keymap.lookup(s.pane, &key) else {
        return Vec::new();
    };
    act(s, action)
}

/// Runs a bound action: global ones here, the rest in the pane.
pub fn act(s: &mut State, action: Action) -> Vec<Cmd> {
    match action {
        Action::Quit => {
            if s.any_dirty() {
                s.mode = Mode::ConfirmQuit;
                Vec::new()
            } else {
                vec![Cmd::Quit]
            }
        }
        Action::Help => {
            s.mode = Mode::Help;
            Vec::new()
        }
        Action::NextPane => s.switch(s.pane.next()),
        Action::PrevPane => s.switch(s.pane.prev()),
        Action::GotoScim => s.switch(PaneId::Scim),
        Action::GotoUsers => s.switch(PaneId::Users),
        Action::GotoMapping => s.switch(PaneId::Mapping),
        Action::CommandLine => {
            s.mode = Mode::Command {
                line: LineEdit::default(),
                browse: None,
            };
            Vec::new()
        }
        Action::Filter => {
            s.mode = Mode::Filter(LineEdit {
                text: s.filter(s.pane).to_string(),
            });
            Vec::new()
        }
        Action::Refresh => {
            let mut out = s.app_fetches();
            out.extend(s.send_pane(s.pane, PaneMsg::Refresh));
            out
        }
        Action::Back if !s.filter(s.pane).is_empty() => clear_filter(s),
        other => s.send_pane(s.pane, PaneMsg::Action(other)),
    }
}

fn clear_filter(s: &mut State) -> Vec<Cmd> {
    if s.filters.remove(&s.pane).is_some_and(|f| !f.is_empty()) {
        s.send_pane(s.pane, PaneMsg::Filter(String::new()))
    } else {
        Vec::new()
    }
}

fn command_key(
    s: &mut State,
    mut line: LineEdit,
    mut browse: Option<usize>,
    key: KeyEvent,
) -> Vec<Cmd> {
    match key.code {
        KeyCode::Esc => Vec::new(),
        KeyCode::Enter => {
            let text = line.text.trim().to_string();
            if text.is_empty() {
                return Vec::new();
            }
            if s.history.last() != Some(&text) {
                s.history.push(text.clone());
            }
            run_command(s, &text)
        }
        KeyCode::Up | KeyCode::Down if !s.history.is_empty() => {
            let last = s.history.len() - 1;
            browse = match (key.code, browse) {
                (KeyCode::Up, None) => Some(last),
                (KeyCode::Up, Some(i)) => Some(i.saturating_sub(1)),
                (KeyCode::Down, Some(i)) if i < last => Some(i + 1),
                _ => None,
            };
            line.text = browse.map(|i| s.history[i].clone()).unwrap_or_default();
            s.mode = Mode::Command { line, browse };
            Vec::new()
        }
        _ => {
            line.edit(&key);
            s.mode = Mode::Command { line, browse };
            Vec::new()
        }
    }
}

/// The `:` commands.
pub const COMMANDS: &[(&str, &str)] = &[
    ("scim", "SCIM pane"),
    ("users", "Users pane"),
    ("mapping", "Group Mapping pane"),
    ("export FILE", "write a snapshot of the org to FILE"),
    ("q", "quit (asks first when there are unsaved edits)"),
];

fn run_command(s: &mut State, text: &str) -> Vec<Cmd> {
    let (word, arg) = match text.split_once(char::is_whitespace) {
        Some((w, a)) => (w, a.trim()),
        None => (text, ""),
    };
    match word {
        "scim" | "1" => s.switch(PaneId::Scim),
        "users" | "2" => s.switch(PaneId::Users),
        "mapping" | "mappings" | "3" => s.switch(PaneId::Mapping),
        "q" | "quit" => act(s, Action::Quit),
        "q!" | "quit!" => vec![Cmd::Quit],
        "export" if arg.is_empty() => {
            s.push_toast(Toast {
                level: Level::Error,
                text: "give a file: :export acme.json".into(),
            });
            Vec::new()
        }
        "export" => {
            let id = s.id();
            s.exporting = Some(id);
            vec![Cmd::Export {
                id,
                path: PathBuf::from(arg),
            }]
        }
        _ => {
            s.push_toast(Toast {
                level: Level::Error,
                text: format!(
                    "unknown command ':{word}'; try {}",
                    COMMANDS
                        .iter()
                        .map(|(c, _)| format!(":{}", c.split(' ').next().unwrap_or(c)))
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
            });
            Vec::new()
        }
    }
}
