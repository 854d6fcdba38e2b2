//! The one key-binding table. Dispatch, the hint bar, the `?` help and the README key table
//! are all read from it, so none of them can drift from what a key really does. Every key
//! the console answers is in it: the panes' keys, list movement, and the keys of each kind of
//! input (a dialog's buttons, text editing, the `:` line, dropdowns, help), each kind in a
//! [`Context`] of its own. A key that no binding takes types its character where text is
//! typed, and does nothing anywhere else.

use super::panes::PaneId;
use ratatui::crossterm::event::KeyEvent;
use std::collections::BTreeMap;
mod key;
mod table;

pub use key::Key;
pub use table::{COMPARISON, CONTEXTS, GLOBAL};

/// Everything a key can ask for. Global actions are handled by the app; the others are
/// handed to the pane in focus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    // global
    Quit,
    Help,
    NextPane,
    PrevPane,
    GotoScim,
    GotoUsers,
    GotoMapping,
    GotoAudit,
    /// The audit history of the selected member, group or event.
    History,
    CommandLine,
    Filter,
    Refresh,
    /// Only with `review NEW --against OLD`.
    ShowChanges,
    // movement, handed to the pane
    Up,
    Down,
    Top,
    Bottom,
    PageUp,
    PageDown,
    HalfPageUp,
    HalfPageDown,
    Open,
    Back,
    // SCIM pane
    /// The settings dialog: SCIM on or off, SSO role mapping, the approval policy.
    Settings,
    CopyScimUrl,
    NewToken,
    RevokeToken,
    // Users pane
    SwitchList,
    Approve,
    Reject,
    Mark,
    ApproveMarked,
    RemoveMember,
    /// Members in one state: all, active, pending, rejected, deprovisioned, removed.
    CycleState,
    /// Members in order of the next column: email, name, state, created.
    CycleSort,
    /// The Members list backwards.
    FlipSort,
    // Audit pane
    /// The event's raw fields with their uids, or back to names.
    ShowIds,
    // Group Mapping pane
    NewMapping,
    EditMapping,
    DeleteMapping,
    Save,
    /// The mapping editor's impact of saving, whole.
    Impact,
    // input: dialogs, text, dropdowns
    /// Ctrl-C: leave at once, whatever is open.
    Interrupt,
    /// A dialog's other button.
    SwitchButton,
    /// Text: the cursor one character left or right, to the start or the end.
    Left,
    Right,
    LineStart,
    LineEnd,
    ClearLine,
    DeleteChar,
    DeleteWord,
    /// The reason editor: a line break.
    NewLine,
    /// The `:` line: complete the command.
    Complete,
    /// The new-token window: copy the secret.
    Copy,
}

impl Action {
    /// The name used in the config file's `[keys]` table.
    pub fn name(self) -> &'static str {
        use Action::*;
        match self {
            Quit => "quit",
            Help => "help",
            NextPane => "next_pane",
            PrevPane => "prev_pane",
            GotoScim => "goto_scim",
            GotoUsers => "goto_users",
            GotoMapping => "goto_mapping",
            GotoAudit => "goto_audit",
            History => "history",
            CommandLine => "command_line",
            Filter => "filter",
            Refresh => "refresh",
            ShowChanges => "show_changes",
            Up => "up",
            Down => "down",
            Top => "top",
            Bottom => "bottom",
            PageUp => "page_up",
            PageDown => "page_down",
            HalfPageUp => "half_page_up",
            HalfPageDown => "half_page_down",
            Open => "open",
            Back => "back",
            Settings => "settings",
            CopyScimUrl => "copy_scim_url",
            NewToken => "new_token",
            RevokeToken => "revoke_token",
            SwitchList => "switch_list",
            Approve => "approve",
            Reject => "reject",
            Mark => "mark",
            ApproveMarked => "approve_marked",
            RemoveMember => "remove_member",
            CycleState => "state_filter",
            CycleSort => "sort",
            FlipSort => "sort_direction",
            ShowIds => "show_ids",
            NewMapping => "new_mapping",
            EditMapping => "edit_mapping",
            DeleteMapping => "delete_mapping",
            Save => "save",
            Impact => "impact",
            Interrupt => "interrupt",
            SwitchButton => "switch_button",
            Left => "left",
            Right => "right",
            LineStart => "line_start",
            LineEnd => "line_end",
            ClearLine => "clear_line",
            DeleteChar => "delete_char",
            DeleteWord => "delete_word",
            NewLine => "new_line",
            Complete => "complete",
            Copy => "copy",
        }
    }
}

/// A kind of input that has the keyboard for a while, with keys of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    /// A question with buttons: Cancel and the action.
    Dialog,
    /// Editing text, in any field that takes it (with one of the next contexts).
    Text,
    /// A one-line field: the `/` filter, a token label, a name.
    Field,
    /// The reason of a rejection: several lines.
    Reason,
    /// The `:` command line.
    Command,
    /// A list to choose from, typed into to filter it.
    Dropdown,
    /// The `?` help.
    Help,
    /// A new token's secret, shown once.
    Secret,
    /// The SCIM settings: a list of switches.
    Settings,
}

impl Context {
    pub const ALL: [Context; 9] = [
        Context::Dialog,
        Context::Text,
        Context::Field,
        Context::Reason,
        Context::Command,
        Context::Dropdown,
        Context::Help,
        Context::Secret,
        Context::Settings,
    ];

    /// The prefix of its actions in the config file's `[keys]` table (`dropdown.down`).
    pub fn name(self) -> &'static str {
        match self {
            Context::Dialog => "dialog",
            Context::Text => "text",
            Context::Field => "field",
            Context::Reason => "reason",
            Context::Command => "command",
            Context::Dropdown => "dropdown",
            Context::Help => "help",
            Context::Secret => "secret",
            Context::Settings => "settings",
        }
    }

    /// Where the help and the README say these keys work.
    pub fn title(self) -> &'static str {
        match self {
            Context::Dialog => "in a dialog",
            Context::Text => "editing text",
            Context::Field => "in a text field",
            Context::Reason => "in the reason editor",
            Context::Command => "on the `:` line",
            Context::Dropdown => "in a dropdown",
            Context::Help => "in the help",
            Context::Secret => "in the new token window",
            Context::Settings => "in the settings dialog",
        }
    }

    /// Whether a key no binding takes types its character here (and `Text` keys edit it).
    pub fn takes_text(self) -> bool {
        matches!(
            self,
            Context::Field | Context::Reason | Context::Command | Context::Dropdown
        )
    }
}

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    Global,
    Pane(PaneId),
    In(Context),
}

/// A key press as an input sees it: the action its context's bindings give the key, or the
/// character it types, or nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Press {
    Act(Action),
    Char(char),
    Nothing,
}

/// A line of the `?` help: a heading (empty for a gap) or a key with what it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelpLine {
    Heading(String),
    Key(String, &'static str),
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// One row of the table.
#[derive(Debug, Clone)]
pub struct Binding {
    pub keys: Vec<Key>,
    pub action: Action,
    pub scope: Scope,
    /// Short label for the hint bar; `None` keeps it out of the bar (still in `?` help).
    pub hint: Option<&'static str>,
    pub help: &'static str,
    /// Changes something on the server: removed when the backend is read-only.
    pub mutating: bool,
    /// Acts on a comparison with an older snapshot: removed when there is none.
    pub comparison: bool,
}

impl Binding {
    /// Its name in the config file's `[keys]` table: the action's name, led by its
    /// context's (`dropdown.down`) when it belongs to a kind of input.
    pub fn config_name(&self) -> String {
        match self.scope {
            Scope::In(c) => format!("{}.{}", c.name(), self.action.name()),
            _ => self.action.name().to_string(),
        }
    }
}

/// A binding as a pane declares it (a const table in each pane's module).
#[derive(Debug, Clone, Copy)]
pub struct BindingSpec {
    pub keys: &'static [Key],
    pub action: Action,
    pub hint: Option<&'static str>,
    pub help: &'static str,
    pub mutating: bool,
}

pub const fn spec(
    keys: &'static [Key],
    action: Action,
    hint: Option<&'static str>,
    help: &'static str,
) -> BindingSpec {
    BindingSpec {
        keys,
        action,
        hint,
        help,
        mutating: false,
    }
}

/// A binding that changes something on the server (dropped when read-only).
pub const fn mutating(
    keys: &'static [Key],
    action: Action,
    hint: Option<&'static str>,
    help: &'static str,
) -> BindingSpec {
    BindingSpec {
        keys,
        action,
        hint,
        help,
        mutating: true,
    }
}

/// What the backend can do, which decides which bindings exist.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Caps {
    /// Mutating bindings are removed.
    pub read_only: bool,
    /// A comparison with an older snapshot is loaded: its bindings are added.
    pub comparing: bool,
}

/// `[keys]` names of the SCIM pane's one-key switches, which the settings dialog replaced
/// (issue 24): a config that still names one is told so.
const RETIRED: &[&str] = &[
    "toggle_scim",
    "toggle_sso_role_mapping",
    "toggle_approval_provision",
    "toggle_approval_access_increase",
    "toggle_approval_deprovision",
];

/// The resolved table: defaults, the panes' bindings, the config's overrides, minus the
/// mutating bindings when read-only and the comparison bindings when not comparing.
#[derive(Debug, Clone)]
pub struct Keymap {
    pub bindings: Vec<Binding>,
    /// The mutating bindings a read-only backend removed: their keys answer "read-only"
    /// instead of nothing.
    pub removed: Vec<Binding>,
}

impl Keymap {
    /// `overrides` maps a `[keys]` name to its keys: `approve`, `down` (the panes' and the
    /// global bindings of that action) or `dropdown.down` (a context's). A printable key
    /// without Ctrl or Alt cannot be bound where text is typed: it types there.
    pub fn build(
        panes: &[(PaneId, &'static [BindingSpec])],
        overrides: &BTreeMap<String, Vec<String>>,
        read_only: bool,
    ) -> Result<Keymap, String> {
        Keymap::build_for(
            panes,
            overrides,
            Caps {
                read_only,
                comparing: false,
            },
        )
    }

    /// `build`, for a backend whose capabilities go beyond read-only (a comparison).
    pub fn build_for(
        panes: &[(PaneId, &'static [BindingSpec])],
        overrides: &BTreeMap<String, Vec<String>>,
        caps: Caps,
    ) -> Result<Keymap, String> {
        let mut bindings = Vec::new();
        let mut push = |scope: Scope, s: &BindingSpec, comparison: bool| {
            bindings.push(Binding {
                keys: s.keys.to_vec(),
                action: s.action,
                scope,
                hint: s.hint,
                help: s.help,
                mutating: s.mutating,
                comparison,
            })
        };
        for s in GLOBAL {
            push(Scope::Global, s, false);
        }
        for s in COMPARISON {
            push(Scope::Global, s, true);
        }
        for (id, specs) in panes {
            for s in specs.iter() {
                push(Scope::Pane(*id), s, false);
            }
        }
        for (context, specs) in CONTEXTS {
            for s in specs.iter() {
                push(Scope::In(*context), s, false);
            }
        }
        for (name, keys) in overrides {
            let mut found = false;
            let parsed = keys
                .iter()
                .map(|k| Key::parse(k))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("[keys] {name}: {e}"))?;
            for b in bindings.iter_mut().filter(|b| b.config_name() == *name) {
                if let Scope::In(c) = b.scope
                    && (c.takes_text() || c == Context::Text)
                    && let Some(k) = parsed.iter().find(|k| k.types())
                {
                    return Err(format!(
                        "[keys] {name}: '{k}' types text {}; give a key with ctrl- or alt-, \
                         or a named key",
                        c.title()
                    ));
                }
                b.keys = parsed.clone();
                found = true;
            }
            if !found && RETIRED.contains(&name.as_str()) {
                return Err(format!(
                    "[keys] {name}: the SCIM settings change in one dialog now (`settings`, \
                     e in the SCIM pane), which asks before widening access; remove this line"
                ));
            }
            if !found {
                return Err(format!(
                    "[keys] {name}: no such action; the actions are listed by `?` in the console \
                     and in the README's key table"
                ));
            }
        }
        let mut removed = Vec::new();
        if caps.read_only {
            let (gone, kept) = bindings.into_iter().partition(|b| b.mutating);
            removed = gone;
            bindings = kept;
        }
        if !caps.comparing {
            bindings.retain(|b| !b.comparison);
        }
        Ok(Keymap { bindings, removed })
    }

    /// The action `key` triggers in `pane`: a pane binding wins over a global one, so that a
    /// pane may reuse a key for something local.
    pub fn lookup(&self, pane: PaneId, key: &KeyEvent) -> Option<Action> {
        let k = Key::from_event(key);
        let hit = |scope: Scope| {
            self.bindings
                .iter()
                .find(|b| b.scope == scope && b.keys.contains(&k))
                .map(|b| b.action)
        };
        hit(Scope::Pane(pane)).or_else(|| hit(Scope::Global))
    }

    /// The binding read-only mode removed that `key` would have triggered in `pane`.
    pub fn removed_for(&self, pane: PaneId, key: &KeyEvent) -> Option<&Binding> {
        let k = Key::from_event(key);
        self.removed
            .iter()
            .find(|b| b.scope == Scope::Pane(pane) && b.keys.contains(&k))
    }

    /// The action `key` triggers in `context`, if one of its bindings takes the key.
    pub fn lookup_in(&self, context: Context, key: &KeyEvent) -> Option<Action> {
        let k = Key::from_event(key);
        self.bindings
            .iter()
            .find(|b| b.scope == Scope::In(context) && b.keys.contains(&k))
            .map(|b| b.action)
    }

    /// A key as an input of kind `context` sees it: its context's binding, else (where text
    /// is typed) a text-editing binding or the character it types.
    pub fn press(&self, context: Context, key: &KeyEvent) -> Press {
        if let Some(a) = self.lookup_in(context, key) {
            return Press::Act(a);
        }
        if !context.takes_text() {
            return Press::Nothing;
        }
        if let Some(a) = self.lookup_in(Context::Text, key) {
            return Press::Act(a);
        }
        match Key::from_event(key) {
            k if k.types() => match k.code {
                ratatui::crossterm::event::KeyCode::Char(c) => Press::Char(c),
                _ => Press::Nothing,
            },
            _ => Press::Nothing,
        }
    }

    /// The bindings of a context, what the hint bar shows while it has the keyboard.
    pub fn in_context(&self, context: Context) -> impl Iterator<Item = &Binding> {
        self.bindings
            .iter()
            .filter(move |b| b.scope == Scope::In(context))
    }

    /// The bindings active in `pane`, pane first: what the hint bar and `?` show.
    pub fn active(&self, pane: PaneId) -> impl Iterator<Item = &Binding> {
        self.bindings
            .iter()
            .filter(move |b| b.scope == Scope::Pane(pane))
            .chain(self.bindings.iter().filter(|b| b.scope == Scope::Global))
    }

    /// What the `?` help lists: every key, of `pane` first, then everywhere, the other panes
    /// and each kind of input, under headings; with a `query`, only the keys whose keys or
    /// words contain it (case-insensitive), under the headings that still have some.
    pub fn help_lines(&self, pane: PaneId, query: &str) -> Vec<HelpLine> {
        let query = query.to_lowercase();
        let mut groups: Vec<(String, Scope)> = vec![
            (format!("{} pane", pane.title()), Scope::Pane(pane)),
            ("Everywhere".into(), Scope::Global),
        ];
        groups.extend(
            PaneId::ALL
                .into_iter()
                .filter(|p| *p != pane)
                .map(|p| (format!("{} pane", p.title()), Scope::Pane(p))),
        );
        groups.extend(
            Context::ALL
                .into_iter()
                .map(|c| (upper_first(c.title()), Scope::In(c))),
        );
        let mut out = Vec::new();
        for (title, scope) in groups {
            let keys: Vec<HelpLine> = self
                .bindings
                .iter()
                .filter(|b| b.scope == scope)
                .map(|b| HelpLine::Key(Self::keys_text(b), b.help))
                .filter(|l| match l {
                    HelpLine::Key(k, h) => {
                        query.is_empty()
                            || k.to_lowercase().contains(&query)
                            || h.to_lowercase().contains(&query)
                    }
                    HelpLine::Heading(_) => true,
                })
                .collect();
            if !keys.is_empty() {
                if !out.is_empty() {
                    out.push(HelpLine::Heading(String::new()));
                }
                out.push(HelpLine::Heading(title));
                out.extend(keys);
            }
        }
        out
    }

    pub fn keys_text(b: &Binding) -> String {
        b.keys
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The README's key table, as Markdown.
    pub fn markdown(&self) -> String {
        let mut out =
            String::from("| where | keys | what | `[keys]` name |\n| --- | --- | --- | --- |\n");
        for b in &self.bindings {
            let scope = match b.scope {
                Scope::Global if b.comparison => "with `review --against`".to_string(),
                Scope::Global => "everywhere".to_string(),
                Scope::Pane(p) => p.title().to_string(),
                Scope::In(c) => c.title().to_string(),
            };
            let keys = Self::keys_text(b).replace('|', "\\|");
            out.push_str(&format!(
                "| {scope} | `{keys}` | {} | `{}` |\n",
                b.help,
                b.config_name()
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests;
