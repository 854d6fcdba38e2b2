//! The console's state and its pure update function. `update` never performs I/O: it returns
//! [`Cmd`]s that the effects task runs, whose results come back as [`Msg`]s.

use super::backend::{Call, Reply};
use super::changes::Changes;
use super::keymap::{Action, Context, Keymap, Press};
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

/// What the app's own question does when confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leave {
    /// `q` with unsaved edits.
    Quit,
    /// Another pane with unsaved edits (they stay in the pane left).
    To(PaneId),
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
    /// Quitting or leaving a pane with unsaved edits: a dialog like every other, starting on
    /// Cancel.
    Confirm(Ask<Leave>),
    /// The list of what changed since the older snapshot, scrolled by `scroll` lines.
    Changes {
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
    /// What changed since an older snapshot (`review NEW --against OLD`): the header's badge,
    /// the `D` overlay, and `Ctx::changes` for the panes' marks.
    pub changes: Option<Arc<Changes>>,
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
            changes: None,
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

    fn go(&mut self, to: PaneId) -> Vec<Cmd> {
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
            out.extend(s.go(s.pane));
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
    if s.keymap.lookup(s.pane, &key) == Some(Action::Interrupt) {
        return vec![Cmd::Quit];
    }
    match std::mem::take(&mut s.mode) {
        Mode::Normal => {}
        Mode::Help => {
            if s.keymap.lookup_in(Context::Help, &key) != Some(Action::Back) {
                s.mode = Mode::Help;
            }
            return Vec::new();
        }
        Mode::Confirm(ask) => {
            return match ask.key(s.keymap.press(Context::Dialog, &key)) {
                Answer::Yes(Leave::Quit) => vec![Cmd::Quit],
                Answer::Yes(Leave::To(to)) => s.go(to),
                Answer::No => Vec::new(),
                Answer::Open(ask) => {
                    s.mode = Mode::Confirm(ask);
                    Vec::new()
                }
            };
        }
        Mode::Command { line, browse } => {
            let press = s.keymap.press(Context::Command, &key);
            return command_key(s, line, browse, press);
        }
        Mode::Changes { scroll } => return changes_key(s, scroll, key),
        Mode::Filter(mut line) => {
            return match s.keymap.press(Context::Field, &key) {
                Press::Act(Action::Open) => Vec::new(),
                Press::Act(Action::Back) => clear_filter(s),
                press => {
                    let changed = line.edit(press);
                    let text = line.text().to_string();
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
    if let Some(context) = s.pane_ref(s.pane).input() {
        let press = s.keymap.press(context, &key);
        return s.send_pane(s.pane, PaneMsg::Press(press));
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
                s.mode = Mode::Confirm(Ask::new(
                    Confirm::new(
                        "Quit",
                        "There are unsaved edits. Quit anyway? They are lost.",
                        "Quit",
                    )
                    .dangerous(),
                    Leave::Quit,
                ));
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
            s.mode = Mode::Filter(LineEdit::new(s.filter(s.pane)));
            Vec::new()
        }
        Action::Refresh => {
            let mut out = s.app_fetches();
            out.extend(s.send_pane(s.pane, PaneMsg::Refresh));
            out
        }
        Action::ShowChanges => show_changes(s),
        Action::Back if !s.filter(s.pane).is_empty() => clear_filter(s),
        other => s.send_pane(s.pane, PaneMsg::Action(other)),
    }
}

fn show_changes(s: &mut State) -> Vec<Cmd> {
    if s.changes.is_some() {
        s.mode = Mode::Changes { scroll: 0 };
    } else {
        s.push_toast(Toast {
            level: Level::Error,
            text:
                "no comparison loaded: open the snapshot with `scimdesk review NEW --against OLD`"
                    .into(),
        });
    }
    Vec::new()
}

/// Keys while the changes overlay is open: movement scrolls it, Esc (or `q`, or the key that
/// opened it) closes it, anything else is ignored so that nothing acts behind it.
fn changes_key(s: &mut State, scroll: usize, key: KeyEvent) -> Vec<Cmd> {
    let max = s.changes_max_scroll();
    let page = s.changes_rows();
    let action = s.keymap.lookup(s.pane, &key);
    let scroll = match (action, key.code) {
        (Some(Action::Back | Action::Quit | Action::ShowChanges), _) | (_, KeyCode::Esc) => {
            return Vec::new();
        }
        (Some(Action::Up), _) => scroll.saturating_sub(1),
        (Some(Action::Down), _) => scroll + 1,
        (Some(Action::PageUp), _) => scroll.saturating_sub(page),
        (Some(Action::PageDown), _) => scroll + page,
        (Some(Action::Top), _) => 0,
        (Some(Action::Bottom), _) => max,
        _ => scroll,
    };
    s.mode = Mode::Changes {
        scroll: scroll.min(max),
    };
    Vec::new()
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
    press: Press,
) -> Vec<Cmd> {
    match press {
        Press::Act(Action::Back) => Vec::new(),
        Press::Act(Action::Open) => {
            let text = line.text().trim().to_string();
            if text.is_empty() {
                return Vec::new();
            }
            if s.history.last() != Some(&text) {
                s.history.push(text.clone());
            }
            run_command(s, &text)
        }
        Press::Act(a @ (Action::Up | Action::Down)) if !s.history.is_empty() => {
            let last = s.history.len() - 1;
            browse = match (a, browse) {
                (Action::Up, None) => Some(last),
                (Action::Up, Some(i)) => Some(i.saturating_sub(1)),
                (Action::Down, Some(i)) if i < last => Some(i + 1),
                _ => None,
            };
            line.set(browse.map(|i| s.history[i].clone()).unwrap_or_default());
            s.mode = Mode::Command { line, browse };
            Vec::new()
        }
        Press::Act(Action::Complete) => {
            if let Some(done) = complete(line.text()) {
                line.set(done);
            }
            s.mode = Mode::Command { line, browse };
            Vec::new()
        }
        press => {
            line.edit(press);
            s.mode = Mode::Command { line, browse };
            Vec::new()
        }
    }
}

/// The command a typed prefix names, if only one does: `exp` → `export `.
fn complete(text: &str) -> Option<String> {
    if text.contains(char::is_whitespace) {
        return None;
    }
    let mut hits = COMMANDS
        .iter()
        .map(|(c, _)| c.split(' ').next().unwrap_or(c))
        .filter(|c| c.starts_with(text));
    let one = hits.next()?;
    if hits.next().is_some() {
        return None;
    }
    let takes_arg = COMMANDS
        .iter()
        .any(|(c, _)| c.starts_with(&format!("{one} ")));
    Some(if takes_arg {
        format!("{one} ")
    } else {
        one.to_string()
    })
}

/// The `:` commands.
pub const COMMANDS: &[(&str, &str)] = &[
    ("scim", "SCIM pane"),
    ("users", "Users pane"),
    ("mapping", "Group Mapping pane"),
    ("export FILE", "write a snapshot of the org to FILE"),
    (
        "changes",
        "what changed since the older snapshot (review --against)",
    ),
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
        "changes" | "diff" => show_changes(s),
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::client::{Page, ScimSettings, UserQuery};
    use crate::console::panes;
    use ratatui::crossterm::event::KeyModifiers;
    use std::collections::BTreeMap;

    /// The app's question, when one is open: what a yes does.
    pub fn asking(s: &State) -> Option<Leave> {
        match &s.mode {
            Mode::Confirm(ask) => Some(ask.then),
            _ => None,
        }
    }

    pub fn state() -> State {
        let km = Keymap::build(&panes::bindings(), &BTreeMap::new(), false).unwrap();
        State::new(km, "http://srv".into(), "acme".into(), false)
    }

    pub fn key(c: char) -> Msg {
        Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }

    pub fn code(c: KeyCode) -> Msg {
        Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
    }

    pub fn runs(cmds: &[Cmd]) -> Vec<Call> {
        cmds.iter()
            .filter_map(|c| match c {
                Cmd::Run { call, .. } => Some(call.clone()),
                _ => None,
            })
            .collect()
    }

    fn run_id(cmds: &[Cmd], pred: impl Fn(&Call) -> bool) -> ReqId {
        cmds.iter()
            .find_map(|c| match c {
                Cmd::Run { id, call } if pred(call) => Some(*id),
                _ => None,
            })
            .expect("a matching call")
    }

    fn type_str(s: &mut State, text: &str) -> Vec<Cmd> {
        text.chars().flat_map(|c| update(s, key(c))).collect()
    }

    #[test]
    fn start_loads_the_header_and_the_first_pane() {
        let mut s = state();
        let calls = runs(&update(&mut s, Msg::Start));
        assert!(calls.contains(&Call::Org));
        assert!(calls.iter().any(|c| matches!(
            c,
            Call::Approvals {
                state: Some(RequestState::Pending),
                ..
            }
        )));
        assert!(calls.iter().any(|c| matches!(c, Call::Users(_))));
        assert!(s.busy());
    }

    #[test]
    fn pane_switching_with_numbers_tab_and_backtab() {
        let mut s = state();
        update(&mut s, Msg::Start);
        let cmds = update(&mut s, key('1'));
        assert_eq!(s.pane, PaneId::Scim);
        assert!(runs(&cmds).contains(&Call::ScimSettings));
        update(&mut s, code(KeyCode::Tab));
        assert_eq!(s.pane, PaneId::Users);
        update(&mut s, code(KeyCode::Tab));
        assert_eq!(s.pane, PaneId::Mapping);
        update(&mut s, code(KeyCode::BackTab));
        assert_eq!(s.pane, PaneId::Users);
        update(&mut s, key('3'));
        assert_eq!(s.pane, PaneId::Mapping);
        update(&mut s, key('2'));
        assert_eq!(s.pane, PaneId::Users);
    }

    #[test]
    fn quit_with_q_and_ctrl_c() {
        let mut s = state();
        assert_eq!(update(&mut s, key('q')), vec![Cmd::Quit]);
        let mut s = state();
        let ctrl_c = Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
        s.mode = Mode::Filter(LineEdit::default());
        assert_eq!(update(&mut s, ctrl_c), vec![Cmd::Quit]);
    }

    #[test]
    fn leaving_or_quitting_with_unsaved_edits_asks_first() {
        let mut s = state();
        s.pane = PaneId::Scim;
        s.scim.dialog = None;
        // The SCIM pane never has unsaved edits; stand in a dirty pane through its flag.
        s.scim.test_dirty = true;
        assert!(update(&mut s, key('2')).is_empty());
        assert_eq!(asking(&s), Some(Leave::To(PaneId::Users)));
        update(&mut s, key('n'));
        assert_eq!(s.pane, PaneId::Scim);
        // A dialog like the panes': Enter on Cancel stays, a stray key does nothing, the
        // action button leaves.
        update(&mut s, key('2'));
        update(&mut s, code(KeyCode::Enter));
        assert_eq!((s.pane, asking(&s)), (PaneId::Scim, None));
        update(&mut s, key('2'));
        update(&mut s, key('y'));
        assert_eq!(asking(&s), Some(Leave::To(PaneId::Users)));
        update(&mut s, code(KeyCode::Tab));
        update(&mut s, code(KeyCode::Enter));
        assert_eq!(s.pane, PaneId::Users);
        assert!(update(&mut s, key('q')).is_empty());
        assert_eq!(asking(&s), Some(Leave::Quit));
        assert!(update(&mut s, code(KeyCode::Esc)).is_empty());
        assert_eq!(s.mode, Mode::Normal);
        update(&mut s, key('q'));
        update(&mut s, code(KeyCode::Tab));
        assert_eq!(update(&mut s, code(KeyCode::Enter)), vec![Cmd::Quit]);
    }

    #[test]
    fn help_opens_with_question_mark_and_any_key_closes_it() {
        let mut s = state();
        update(&mut s, key('?'));
        assert_eq!(s.mode, Mode::Help);
        // q closes help instead of quitting.
        assert!(update(&mut s, key('q')).is_empty());
        assert_eq!(s.mode, Mode::Normal);
    }

    #[test]
    fn command_line_switches_panes_keeps_history_and_rejects_unknowns() {
        let mut s = state();
        update(&mut s, key(':'));
        type_str(&mut s, "scim");
        update(&mut s, code(KeyCode::Enter));
        assert_eq!(s.pane, PaneId::Scim);
        assert_eq!(s.mode, Mode::Normal);
        update(&mut s, key(':'));
        type_str(&mut s, "bogus");
        update(&mut s, code(KeyCode::Enter));
        assert!(s.toasts.iter().any(|(t, _)| t.level == Level::Error
            && t.text.contains(":bogus")
            && t.text.contains(":export")));
        assert_eq!(s.history, vec!["scim".to_string(), "bogus".to_string()]);
        update(&mut s, key(':'));
        update(&mut s, code(KeyCode::Up));
        update(&mut s, code(KeyCode::Up));
        match &s.mode {
            Mode::Command { line, .. } => assert_eq!(line.text(), "scim"),
            m => panic!("{m:?}"),
        }
        update(&mut s, code(KeyCode::Esc));
        assert_eq!(s.mode, Mode::Normal);
        assert_eq!(s.pane, PaneId::Scim);
    }

    #[test]
    fn command_line_export_and_quit() {
        let mut s = state();
        update(&mut s, key(':'));
        type_str(&mut s, "export out.json");
        let cmds = update(&mut s, code(KeyCode::Enter));
        let id = match &cmds[..] {
            [Cmd::Export { id, path }] => {
                assert_eq!(path, &PathBuf::from("out.json"));
                *id
            }
            other => panic!("{other:?}"),
        };
        assert!(s.busy());
        update(
            &mut s,
            Msg::Exported {
                id,
                result: Ok("out.json".into()),
            },
        );
        assert!(!s.busy());
        assert!(s.toasts.iter().any(|(t, _)| t.text.contains("out.json")));
        update(&mut s, key(':'));
        type_str(&mut s, "q");
        assert_eq!(update(&mut s, code(KeyCode::Enter)), vec![Cmd::Quit]);
    }

    #[test]
    fn filter_goes_to_the_server_and_esc_clears_it() {
        let mut s = state();
        update(&mut s, Msg::Start);
        update(&mut s, key('/'));
        let cmds = type_str(&mut s, "ann");
        let last = runs(&cmds).pop().unwrap();
        assert_eq!(
            last,
            Call::Users(UserQuery {
                filter: Some("ann".into()),
                state: None,
                page: PageReq::first(200),
            })
        );
        // Each keystroke supersedes the previous fetch.
        assert!(cmds.iter().filter(|c| matches!(c, Cmd::Cancel(_))).count() >= 2);
        update(&mut s, code(KeyCode::Enter));
        assert_eq!(s.filter(PaneId::Users), "ann");
        assert_eq!(s.mode, Mode::Normal);
        let cmds = update(&mut s, code(KeyCode::Esc));
        assert_eq!(s.filter(PaneId::Users), "");
        assert!(matches!(runs(&cmds).pop(), Some(Call::Users(q)) if q.filter.is_none()));
    }

    #[test]
    fn a_superseded_reply_is_dropped() {
        let mut s = state();
        let first = update(&mut s, Msg::Start);
        let old = run_id(&first, |c| matches!(c, Call::Users(_)));
        let second = update(
            &mut s,
            Msg::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL)),
        );
        assert!(second.contains(&Cmd::Cancel(old)));
        let page = Page {
            items: vec![],
            total: 7,
            next: None,
        };
        update(
            &mut s,
            Msg::Reply {
                id: old,
                result: Ok(Reply::Users(page.clone())),
            },
        );
        assert!(!s.users.members.loaded, "the stale page must not land");
        let new = run_id(&second, |c| matches!(c, Call::Users(_)));
        update(
            &mut s,
            Msg::Reply {
                id: new,
                result: Ok(Reply::Users(page)),
            },
        );
        assert_eq!(s.users.members.total, 7);
    }

    #[test]
    fn unreachable_server_shows_offline_and_recovers() {
        let mut s = state();
        let cmds = update(&mut s, Msg::Start);
        let id = run_id(&cmds, |c| *c == Call::Org);
        update(
            &mut s,
            Msg::Reply {
                id,
                result: Err(ApiError::Unreachable {
                    url: "http://srv".into(),
                    detail: "connection refused".into(),
                }),
            },
        );
        assert!(matches!(&s.conn, Conn::Offline(m) if m.contains("connection refused")));
        let cmds = update(
            &mut s,
            Msg::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL)),
        );
        let id = run_id(&cmds, |c| *c == Call::ScimSettings || *c == Call::Org);
        let _ = id;
        let pid = run_id(&cmds, |c| matches!(c, Call::Approvals { .. }));
        update(
            &mut s,
            Msg::Reply {
                id: pid,
                result: Ok(Reply::Approvals(Page {
                    items: vec![],
                    total: 3,
                    next: None,
                })),
            },
        );
        assert_eq!(s.conn, Conn::Online);
        assert_eq!(s.pending, Some(3));
    }

    #[test]
    fn auth_errors_reach_the_user_as_toasts() {
        let mut s = state();
        let cmds = update(&mut s, Msg::Start);
        let id = run_id(&cmds, |c| *c == Call::Org);
        update(
            &mut s,
            Msg::Reply {
                id,
                result: Err(ApiError::Forbidden {
                    token: "SCIMDESK_TOKEN".into(),
                    needs: crate::client::Needs::OwnerOrAdmin,
                    message: "forbidden".into(),
                }),
            },
        );
        let t = &s.toasts.last().unwrap().0;
        assert_eq!(t.level, Level::Error);
        assert!(t.text.contains("SCIMDESK_TOKEN"), "{}", t.text);
    }

    #[test]
    fn ticks_turn_the_spinner_and_expire_toasts() {
        let mut s = state();
        update(&mut s, Msg::Start);
        s.push_toast(Toast {
            level: Level::Info,
            text: "hi".into(),
        });
        let spin = s.spinner;
        update(&mut s, Msg::Tick);
        assert_eq!(s.spinner, spin + 1);
        for _ in 0..TOAST_TICKS {
            update(&mut s, Msg::Tick);
        }
        assert!(s.toasts.is_empty());
        assert!(s.wants_tick(), "requests are still in flight");
    }

    #[test]
    fn read_only_drops_mutating_bindings_and_refuses_mutations() {
        let km = Keymap::build(&panes::bindings(), &BTreeMap::new(), true).unwrap();
        assert!(km.bindings.iter().all(|b| !b.mutating));
        assert_eq!(
            km.lookup(
                PaneId::Scim,
                &KeyEvent::new(KeyCode::Char('e'), KeyModifiers::NONE)
            ),
            None
        );
        let mut s = State::new(km, "snap.json".into(), "acme".into(), true);
        s.pane = PaneId::Scim;
        let cmds = s.absorb(vec![Cmd::Call {
            pane: PaneId::Scim,
            slot: "x",
            call: Call::RevokeScimToken { id: "t".into() },
        }]);
        assert!(runs(&cmds).is_empty());
        assert!(s.toasts.iter().any(|(t, _)| t.text.contains("read-only")));
    }

    #[test]
    fn config_overrides_rebind_an_action() {
        let mut o = BTreeMap::new();
        o.insert("quit".to_string(), vec!["ctrl-q".to_string()]);
        let km = Keymap::build(&panes::bindings(), &o, false).unwrap();
        let mut s = State::new(km, "s".into(), "o".into(), false);
        assert!(update(&mut s, key('q')).is_empty());
        let ctrl_q = Msg::Key(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::CONTROL));
        assert_eq!(update(&mut s, ctrl_q), vec![Cmd::Quit]);
        o.insert("frobnicate".to_string(), vec!["f".to_string()]);
        let e = Keymap::build(&panes::bindings(), &o, false).unwrap_err();
        assert!(e.contains("frobnicate"), "{e}");
    }

    #[test]
    fn scim_settings_reply_lands_in_the_scim_pane() {
        let mut s = state();
        let cmds = update(&mut s, key('1'));
        let id = run_id(&cmds, |c| *c == Call::ScimSettings);
        let settings: ScimSettings = serde_json::from_value(serde_json::json!({
            "enabled": true, "sso_role_mapping": false,
            "approval": {"provision": true, "access_increase": true, "deprovision": false},
            "warnings": []
        }))
        .unwrap();
        update(
            &mut s,
            Msg::Reply {
                id,
                result: Ok(Reply::ScimSettings(settings.clone())),
            },
        );
        assert_eq!(s.scim.settings, Some(settings));
    }

    fn comparing_state() -> State {
        let caps = crate::console::keymap::Caps {
            read_only: true,
            comparing: true,
        };
        let km = Keymap::build_for(&panes::bindings(), &BTreeMap::new(), caps).unwrap();
        let mut s = State::new(km, "snapshot new.json".into(), "acme0001".into(), true);
        let (old, new) = crate::console::changes::tests::pair();
        s.changes = Some(Arc::new(Changes::new(&old, &new, "q1.json")));
        s
    }

    fn scroll(s: &State) -> Option<usize> {
        match s.mode {
            Mode::Changes { scroll } => Some(scroll),
            _ => None,
        }
    }

    #[test]
    fn the_changes_overlay_opens_with_d_scrolls_within_bounds_and_esc_closes_it() {
        let mut s = comparing_state();
        // 12 rows: 6 lines of the list fit; it has 11 below its column header.
        s.size = (80, 12);
        assert_eq!(s.changes_rows(), 6);
        assert!(update(&mut s, key('D')).is_empty());
        assert_eq!(scroll(&s), Some(0));
        update(&mut s, key('j'));
        assert_eq!(scroll(&s), Some(1));
        update(&mut s, key('G'));
        assert_eq!(scroll(&s), Some(5));
        update(&mut s, key('j'));
        assert_eq!(scroll(&s), Some(5), "no scrolling past the end");
        update(&mut s, code(KeyCode::Up));
        assert_eq!(scroll(&s), Some(4));
        update(&mut s, key('g'));
        update(&mut s, code(KeyCode::PageDown));
        assert_eq!(scroll(&s), Some(5));
        update(&mut s, code(KeyCode::PageUp));
        assert_eq!(scroll(&s), Some(0));
        // Keys that would act behind the overlay do nothing while it is open.
        assert!(update(&mut s, key('2')).is_empty());
        assert_eq!(s.pane, PaneId::Users);
        assert_eq!(scroll(&s), Some(0));
        update(&mut s, code(KeyCode::Esc));
        assert_eq!(s.mode, Mode::Normal);
        // q closes it rather than quitting; so does D again.
        update(&mut s, key('D'));
        assert!(update(&mut s, key('q')).is_empty());
        assert_eq!(s.mode, Mode::Normal);
        update(&mut s, key('D'));
        update(&mut s, key('D'));
        assert_eq!(s.mode, Mode::Normal);
        // And the command line opens it too.
        update(&mut s, key(':'));
        type_str(&mut s, "changes");
        update(&mut s, code(KeyCode::Enter));
        assert_eq!(scroll(&s), Some(0));
    }

    /// The comparison reaches the panes through the view context: the same members are
    /// marked under a review against OLD, and not without one.
    #[test]
    fn panes_see_the_changes_in_their_view_context() {
        let bob: crate::client::Member = serde_json::from_value(serde_json::json!({
            "id": "u-bob", "email": "bob@acme.example", "state": "active",
            "source": "scim", "created_at": "2026-11-23T10:00:00Z"
        }))
        .unwrap();
        let draw = |s: &State| {
            crate::console::widgets::test_util::screen(80, 24, |f| {
                crate::console::views::draw(f, s, &crate::console::theme::Theme::mono())
            })
        };
        let mut s = comparing_state();
        s.users.members = crate::console::panes::common::paged::Paged::of(vec![bob.clone()]);
        let screen = draw(&s);
        let row = screen.lines().find(|l| l.contains("bob@")).unwrap();
        assert!(row.contains("› + "), "{screen}");
        let mut s = state();
        s.users.members = crate::console::panes::common::paged::Paged::of(vec![bob]);
        let screen = draw(&s);
        let row = screen.lines().find(|l| l.contains("bob@")).unwrap();
        assert!(!row.contains(" + "), "{screen}");
    }

    #[test]
    fn without_a_comparison_d_is_unbound_and_changes_says_how_to_get_one() {
        let mut s = state();
        update(&mut s, key('D'));
        assert_eq!(s.mode, Mode::Normal);
        update(&mut s, key(':'));
        type_str(&mut s, "changes");
        update(&mut s, code(KeyCode::Enter));
        assert_eq!(s.mode, Mode::Normal);
        let t = &s.toasts.last().unwrap().0;
        assert_eq!(t.level, Level::Error);
        assert!(t.text.contains("--against"), "{}", t.text);
    }
}
