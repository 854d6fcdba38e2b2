//! How a pane plugs into the console.
//!
//! A pane is a state struct implementing [`Pane`]. The app hands it [`PaneMsg`]s (a bound key
//! action, a raw key while it captures input, a filter change, a backend reply, a timer) and
//! it answers with [`Cmd`]s: backend calls, toasts, clipboard copies. It never performs I/O.
//!
//! Backend calls: a pane returns `Cmd::Call { pane, slot, call }`. `slot` names what the
//! answer is for ("list", "detail", …). The app gives the call a request id; a newer
//! *fetch* in the same slot cancels the older one, and a stale answer is dropped before it
//! reaches the pane, so a pane only ever sees the newest answer per slot. Mutating calls are
//! never superseded. The answer comes back as `PaneMsg::Reply { slot, call, result }`.
//!
//! Key bindings: each pane module declares `pub const BINDINGS: &[BindingSpec]` and adds it
//! to [`bindings`] below; the app merges them into the one keymap table (hint bar, `?` help,
//! README). Bound keys arrive as `PaneMsg::Action`. While `input()` names a context (a
//! dialog, dropdown or text field is open) the pane gets every key as that context of the
//! key table sees it, a `PaneMsg::Press`: an action, or a character typed.

pub mod audit;
pub mod common;
pub mod mapping;
pub mod scim;
pub mod users;

use super::app::Cmd;
use super::backend::{Call, Reply};
use super::keymap::{Action, BindingSpec, Context, Press};
use super::theme::Theme;
use crate::client::ApiError;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PaneId {
    Scim,
    Users,
    Mapping,
    Audit,
}

impl PaneId {
    pub const ALL: [PaneId; 4] = [PaneId::Scim, PaneId::Users, PaneId::Mapping, PaneId::Audit];

    pub fn title(self) -> &'static str {
        match self {
            PaneId::Scim => "SCIM",
            PaneId::Users => "Users",
            PaneId::Mapping => "Group Mapping",
            PaneId::Audit => "Audit",
        }
    }

    pub fn index(self) -> usize {
        match self {
            PaneId::Scim => 0,
            PaneId::Users => 1,
            PaneId::Mapping => 2,
            PaneId::Audit => 3,
        }
    }

    pub fn next(self) -> PaneId {
        let n = PaneId::ALL.len();
        PaneId::ALL[(self.index() + 1) % n]
    }

    pub fn prev(self) -> PaneId {
        let n = PaneId::ALL.len();
        PaneId::ALL[(self.index() + n - 1) % n]
    }
}

/// Every pane's own bindings, for the keymap.
pub fn bindings() -> [(PaneId, &'static [BindingSpec]); 4] {
    [
        (PaneId::Scim, scim::BINDINGS),
        (PaneId::Users, users::BINDINGS),
        (PaneId::Mapping, mapping::BINDINGS),
        (PaneId::Audit, audit::BINDINGS),
    ]
}

/// Something with a history in the audit log: what `H` opens in the Audit pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// The audit target: a member's id, a group's id, a stack uid, a request id.
    pub target: String,
    /// What the Audit pane calls it: an email, a group name.
    pub label: String,
}

/// What the app tells a pane.
#[derive(Debug, Clone, PartialEq)]
// Messages are moved once from the effects task to a pane, never stored in bulk, so a
// boxed variant would cost an allocation per reply for nothing.
#[allow(clippy::large_enum_variant)]
pub enum PaneMsg {
    /// The pane became visible (also at start for the first pane): load what is missing.
    Activated,
    /// Ctrl-r: reload everything shown.
    Refresh,
    /// A key bound to `Action` in this pane's scope or globally (movement, Open, Back).
    Action(Action),
    /// A key while `input()` names a context, as that context sees it.
    Press(Press),
    /// The `/` filter changed; "" when cleared.
    Filter(String),
    /// The newest answer for `slot`.
    Reply {
        slot: &'static str,
        call: Call,
        result: Result<Reply, ApiError>,
    },
    /// Every few seconds while the pane is visible, for auto-refresh.
    Poll,
    /// A left click at this screen cell, inside the pane's body (with `--mouse`): a list row
    /// there is selected.
    Click { column: u16, row: u16 },
}

/// What a pane's update may read about its surroundings.
#[derive(Debug, Clone, PartialEq)]
pub struct Ctx {
    pub read_only: bool,
    /// Where the pane is drawn, as the screen is laid out now: a pane pages its lists by
    /// the rows its own layout shows there.
    pub body: Rect,
    /// The SCIM base URL of the org, to give to the IdP.
    pub scim_url: String,
}

impl Default for Ctx {
    /// An 80×24 screen's body (header, tabs and hint bar taken).
    fn default() -> Ctx {
        Ctx {
            read_only: false,
            body: Rect::new(0, 2, 80, 21),
            scim_url: String::new(),
        }
    }
}

/// What a pane's view reads besides its own state: the colours, whether the backend is
/// read-only, and, with `review NEW --against OLD`, what changed since OLD. Mark a row with
/// `changes.member(&member.id)` / `changes.group(&group.id)` / `changes.setting(name)` (see
/// `console::changes`); `None` when there is no comparison.
#[derive(Debug, Clone, Copy)]
pub struct ViewCtx<'a> {
    pub theme: Theme,
    pub read_only: bool,
    pub changes: Option<&'a super::changes::Changes>,
    /// The key table in force, for the keys a title names (a user's `[keys]` included).
    pub keymap: &'a super::keymap::Keymap,
}

impl ViewCtx<'_> {
    pub fn new(theme: Theme) -> ViewCtx<'static> {
        ViewCtx {
            theme,
            read_only: false,
            changes: None,
            keymap: default_keymap(),
        }
    }

    /// The keys of `action` in `pane` (`e`, `Ctrl-s/w`), as the hint bar writes them; `None`
    /// when nothing is bound to it (a read-only backend drops what writes).
    pub fn key(&self, pane: PaneId, action: Action) -> Option<String> {
        self.keymap
            .active(pane)
            .find(|b| b.action == action)
            .map(super::keymap::Keymap::keys_text)
    }
}

/// The built-in key table, for views drawn without a user's (tests).
fn default_keymap() -> &'static super::keymap::Keymap {
    static DEFAULT: std::sync::LazyLock<super::keymap::Keymap> = std::sync::LazyLock::new(|| {
        super::keymap::Keymap::build(&bindings(), &Default::default(), false)
            .expect("the built-in key table is valid")
    });
    &DEFAULT
}

/// The body rows of a bordered table with a header drawn in `area`: what a page moves.
pub fn table_rows(area: Rect) -> usize {
    area.height.saturating_sub(3).max(1) as usize
}

pub trait Pane {
    fn id(&self) -> PaneId;
    fn update(&mut self, msg: PaneMsg, cx: &Ctx) -> Vec<Cmd>;
    fn view(&self, f: &mut Frame, area: Rect, vx: &ViewCtx);
    /// The kind of input that has the keyboard (a dialog, a dropdown, a text field), if
    /// one is open: keys go to the pane as that context of the key table sees them.
    fn input(&self) -> Option<Context> {
        None
    }
    /// Unsaved edits: quitting or leaving asks first.
    fn dirty(&self) -> bool {
        false
    }
    /// What the hint bar shows instead of the pane's bindings while the pane is in a mode
    /// of its own (the mapping editor): actions with their labels, shown with the keys the
    /// keymap binds to them.
    fn hints(&self) -> Option<&'static [(Action, &'static str)]> {
        None
    }
    /// What `H` shows the history of: the selected member, group or event.
    fn subject(&self) -> Option<Subject> {
        None
    }
    /// A level of the pane's own is open over its list (a zoomed detail, an event on the
    /// whole pane, the mapping editor): Esc closes it before it clears the filter, so that
    /// Esc goes back one level a press, innermost first, in every pane.
    fn inner_level(&self) -> bool {
        false
    }
}

/// A detail panel's words for a row's change since OLD (`review NEW --against OLD`): one line
/// when it is one thing (`Δ since old.json: + joined as active, org role Member`), else a
/// heading and a line each; nothing when the row did not change.
pub fn change_lines(against: &str, parts: Vec<String>, theme: &Theme) -> Vec<Line<'static>> {
    let head = format!("Δ since {against}:");
    match &parts[..] {
        [] => Vec::new(),
        [one] => vec![Line::styled(format!("{head} {one}"), theme.warn)],
        many => std::iter::once(Line::styled(head, theme.warn))
            .chain(many.iter().map(|p| Line::from(format!("  {p}"))))
            .collect(),
    }
}

/// For pane tests: `key` as the default key table hands it to `pane`, a bound action, or a
/// `Press` of the pane's open input.
#[cfg(test)]
pub fn test_key(pane: &dyn Pane, key: ratatui::crossterm::event::KeyEvent) -> PaneMsg {
    let km = super::keymap::Keymap::build(&bindings(), &Default::default(), false)
        .expect("the default key table");
    match pane.input() {
        Some(c) => PaneMsg::Press(km.press(c, &key)),
        None => match km.lookup(pane.id(), &key) {
            Some(a) => PaneMsg::Action(a),
            None => PaneMsg::Press(Press::Nothing),
        },
    }
}
