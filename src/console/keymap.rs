//! The one key-binding table. Dispatch, the hint bar, the `?` help and the README key table
//! are all read from it, so none of them can drift from what a key really does.

use super::panes::PaneId;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::BTreeMap;
use std::fmt;

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
    ToggleScim,
    CopyScimUrl,
    NewToken,
    RevokeToken,
    ToggleSsoRoleMapping,
    ToggleApprovalProvision,
    ToggleApprovalAccessIncrease,
    ToggleApprovalDeprovision,
    // Users pane
    SwitchList,
    Approve,
    Reject,
    Mark,
    ApproveMarked,
    RemoveMember,
    // Group Mapping pane
    NewMapping,
    EditMapping,
    DeleteMapping,
    Save,
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
            ToggleScim => "toggle_scim",
            CopyScimUrl => "copy_scim_url",
            NewToken => "new_token",
            RevokeToken => "revoke_token",
            ToggleSsoRoleMapping => "toggle_sso_role_mapping",
            ToggleApprovalProvision => "toggle_approval_provision",
            ToggleApprovalAccessIncrease => "toggle_approval_access_increase",
            ToggleApprovalDeprovision => "toggle_approval_deprovision",
            SwitchList => "switch_list",
            Approve => "approve",
            Reject => "reject",
            Mark => "mark",
            ApproveMarked => "approve_marked",
            RemoveMember => "remove_member",
            NewMapping => "new_mapping",
            EditMapping => "edit_mapping",
            DeleteMapping => "delete_mapping",
            Save => "save",
        }
    }
}

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    Global,
    Pane(PaneId),
}

/// A key with its modifiers, as written in the config file: `j`, `G`, `ctrl-r`, `pgdn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

impl Key {
    pub const fn ch(c: char) -> Key {
        Key {
            code: KeyCode::Char(c),
            ctrl: false,
            alt: false,
        }
    }
    pub const fn code(code: KeyCode) -> Key {
        Key {
            code,
            ctrl: false,
            alt: false,
        }
    }
    pub const fn ctrl(c: char) -> Key {
        Key {
            code: KeyCode::Char(c),
            ctrl: true,
            alt: false,
        }
    }

    pub fn from_event(ev: &KeyEvent) -> Key {
        // Shift is carried by the character itself ('G'), except for BackTab.
        Key {
            code: ev.code,
            ctrl: ev.modifiers.contains(KeyModifiers::CONTROL),
            alt: ev.modifiers.contains(KeyModifiers::ALT),
        }
    }

    pub fn parse(s: &str) -> Result<Key, String> {
        let mut ctrl = false;
        let mut alt = false;
        let mut rest = s.trim();
        loop {
            let lower = rest.to_ascii_lowercase();
            if let Some(r) = lower.strip_prefix("ctrl-").or(lower.strip_prefix("c-")) {
                ctrl = true;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("alt-").or(lower.strip_prefix("m-")) {
                alt = true;
                rest = &rest[rest.len() - r.len()..];
            } else {
                break;
            }
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backtab" | "shift-tab" => KeyCode::BackTab,
            "space" => KeyCode::Char(' '),
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdn" | "pagedown" => KeyCode::PageDown,
            "delete" | "del" => KeyCode::Delete,
            "backspace" => KeyCode::Backspace,
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => KeyCode::Char(if ctrl { c.to_ascii_lowercase() } else { c }),
                    _ => {
                        return Err(format!(
                            "unknown key '{s}': use one character, or enter, esc, tab, backtab, \
                             space, up, down, left, right, home, end, pgup, pgdn, delete, \
                             backspace, with an optional ctrl- or alt- prefix"
                        ));
                    }
                }
            }
        };
        Ok(Key { code, ctrl, alt })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("Ctrl-")?;
        }
        if self.alt {
            f.write_str("Alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::BackTab => f.write_str("Shift-Tab"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::Delete => f.write_str("Del"),
            KeyCode::Backspace => f.write_str("Backspace"),
            other => write!(f, "{other:?}"),
        }
    }
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

/// Bindings that work in every pane.
pub const GLOBAL: &[BindingSpec] = &[
    spec(
        &[Key::ch('q')],
        Action::Quit,
        Some("quit"),
        "Quit (asks first when there are unsaved edits)",
    ),
    spec(
        &[Key::ch('?')],
        Action::Help,
        Some("help"),
        "Show or hide this help",
    ),
    spec(
        &[Key::code(KeyCode::Tab)],
        Action::NextPane,
        None,
        "Next pane",
    ),
    spec(
        &[Key::code(KeyCode::BackTab)],
        Action::PrevPane,
        None,
        "Previous pane",
    ),
    spec(&[Key::ch('1')], Action::GotoScim, None, "SCIM pane"),
    spec(&[Key::ch('2')], Action::GotoUsers, None, "Users pane"),
    spec(
        &[Key::ch('3')],
        Action::GotoMapping,
        None,
        "Group Mapping pane",
    ),
    spec(
        &[Key::ch(':')],
        Action::CommandLine,
        Some("cmd"),
        "Command line (:scim :users :mapping :export FILE :q)",
    ),
    spec(
        &[Key::ch('/')],
        Action::Filter,
        Some("filter"),
        "Filter the list (Esc clears)",
    ),
    spec(
        &[Key::ctrl('r')],
        Action::Refresh,
        None,
        "Refresh from the server",
    ),
    spec(
        &[Key::ch('k'), Key::code(KeyCode::Up)],
        Action::Up,
        None,
        "Move up",
    ),
    spec(
        &[Key::ch('j'), Key::code(KeyCode::Down)],
        Action::Down,
        None,
        "Move down",
    ),
    spec(
        &[Key::ch('g'), Key::code(KeyCode::Home)],
        Action::Top,
        None,
        "First row",
    ),
    spec(
        &[Key::ch('G'), Key::code(KeyCode::End)],
        Action::Bottom,
        None,
        "Last row",
    ),
    spec(
        &[Key::code(KeyCode::PageUp)],
        Action::PageUp,
        None,
        "Page up",
    ),
    spec(
        &[Key::code(KeyCode::PageDown)],
        Action::PageDown,
        None,
        "Page down",
    ),
    spec(
        &[Key::ctrl('u')],
        Action::HalfPageUp,
        None,
        "Half a page up",
    ),
    spec(
        &[Key::ctrl('d')],
        Action::HalfPageDown,
        None,
        "Half a page down",
    ),
    spec(
        &[Key::code(KeyCode::Enter)],
        Action::Open,
        None,
        "Open / choose",
    ),
    spec(
        &[Key::code(KeyCode::Esc)],
        Action::Back,
        None,
        "Back, close, clear the filter",
    ),
];

/// Global bindings that exist only while a snapshot is reviewed against an older one
/// (`scimdesk review NEW --against OLD`).
pub const COMPARISON: &[BindingSpec] = &[spec(
    &[Key::ch('D')],
    Action::ShowChanges,
    Some("changes"),
    "List what changed since the older snapshot (:changes)",
)];

/// What the backend can do, which decides which bindings exist.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Caps {
    /// Mutating bindings are removed.
    pub read_only: bool,
    /// A comparison with an older snapshot is loaded: its bindings are added.
    pub comparing: bool,
}

/// The resolved table: defaults, the panes' bindings, the config's overrides, minus the
/// mutating bindings when read-only and the comparison bindings when not comparing.
#[derive(Debug, Clone)]
pub struct Keymap {
    pub bindings: Vec<Binding>,
}

impl Keymap {
    /// `overrides` maps an action name to its keys (config `[keys]`); an override replaces
    /// the default keys of that action in every scope.
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
        for (name, keys) in overrides {
            let mut found = false;
            let parsed = keys
                .iter()
                .map(|k| Key::parse(k))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("[keys] {name}: {e}"))?;
            for b in bindings.iter_mut().filter(|b| b.action.name() == name) {
                b.keys = parsed.clone();
                found = true;
            }
            if !found {
                return Err(format!(
                    "[keys] {name}: no such action; the actions are listed by `?` in the console \
                     and in the README's key table"
                ));
            }
        }
        if caps.read_only {
            bindings.retain(|b| !b.mutating);
        }
        if !caps.comparing {
            bindings.retain(|b| !b.comparison);
        }
        Ok(Keymap { bindings })
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

    /// The bindings active in `pane`, pane first: what the hint bar and `?` show.
    pub fn active(&self, pane: PaneId) -> impl Iterator<Item = &Binding> {
        self.bindings
            .iter()
            .filter(move |b| b.scope == Scope::Pane(pane))
            .chain(self.bindings.iter().filter(|b| b.scope == Scope::Global))
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
            };
            let keys = Self::keys_text(b).replace('|', "\\|");
            out.push_str(&format!(
                "| {scope} | `{keys}` | {} | `{}` |\n",
                b.help,
                b.action.name()
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::panes;

    const START: &str = "<!-- keys:start (generated from src/console/keymap.rs) -->\n";
    const END: &str = "<!-- keys:end -->";

    /// The README's key table is the binding table. `UPDATE_KEYS=1 cargo test --lib keymap`
    /// rewrites it after a binding changes.
    #[test]
    fn readme_key_table_matches_the_binding_table() {
        // Every binding: the comparison ones included, marked as such.
        let caps = Caps {
            read_only: false,
            comparing: true,
        };
        let km = Keymap::build_for(&panes::bindings(), &BTreeMap::new(), caps).unwrap();
        let want = km.markdown();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
        let readme = std::fs::read_to_string(path).unwrap();
        let start = readme
            .find(START)
            .expect("README has the keys:start marker")
            + START.len();
        let end = readme.find(END).expect("README has the keys:end marker");
        if readme[start..end] != want {
            if std::env::var_os("UPDATE_KEYS").is_some() {
                let new = format!("{}{want}{}", &readme[..start], &readme[end..]);
                std::fs::write(path, new).unwrap();
            } else {
                panic!(
                    "the README's key table is stale: run `UPDATE_KEYS=1 cargo test --lib \
                     keymap` and commit README.md. Expected:\n{want}"
                );
            }
        }
    }

    #[test]
    fn comparison_bindings_exist_only_when_comparing_and_no_pane_hides_them() {
        let d = KeyEvent::new(KeyCode::Char('D'), KeyModifiers::NONE);
        let plain = Keymap::build(&panes::bindings(), &BTreeMap::new(), true).unwrap();
        for pane in PaneId::ALL {
            assert_eq!(plain.lookup(pane, &d), None);
        }
        assert!(plain.bindings.iter().all(|b| !b.comparison));
        let caps = Caps {
            read_only: true,
            comparing: true,
        };
        let km = Keymap::build_for(&panes::bindings(), &BTreeMap::new(), caps).unwrap();
        // A comparison is always read-only: a pane's read-only binding on the same key
        // would hide it there.
        for pane in PaneId::ALL {
            for spec in COMPARISON {
                for k in spec.keys {
                    let ev = KeyEvent::new(k.code, KeyModifiers::NONE);
                    assert_eq!(
                        km.lookup(pane, &ev),
                        Some(spec.action),
                        "{k} in {}",
                        pane.title()
                    );
                }
            }
        }
        assert!(
            km.active(PaneId::Users)
                .any(|b| b.action == Action::ShowChanges)
        );
        // Rebindable like any other.
        let mut o = BTreeMap::new();
        o.insert("show_changes".to_string(), vec!["ctrl-d".to_string()]);
        let km = Keymap::build_for(&panes::bindings(), &o, caps).unwrap();
        assert_eq!(km.lookup(PaneId::Scim, &d), None);
    }

    #[test]
    fn keys_parse_and_print() {
        assert_eq!(Key::parse("ctrl-r").unwrap(), Key::ctrl('r'));
        assert_eq!(Key::parse("G").unwrap(), Key::ch('G'));
        assert_eq!(Key::parse("pgdn").unwrap(), Key::code(KeyCode::PageDown));
        assert_eq!(Key::parse("space").unwrap(), Key::ch(' '));
        assert!(Key::parse("hyper-x").unwrap_err().contains("ctrl-"));
        assert_eq!(Key::ctrl('r').to_string(), "Ctrl-r");
        assert_eq!(Key::code(KeyCode::BackTab).to_string(), "Shift-Tab");
    }

    #[test]
    fn pane_bindings_win_over_global_ones_and_no_key_is_bound_twice() {
        let km = Keymap::build(&panes::bindings(), &BTreeMap::new(), false).unwrap();
        for pane in PaneId::ALL {
            let mut seen = std::collections::HashSet::new();
            for b in km.bindings.iter().filter(|b| b.scope == Scope::Pane(pane)) {
                for k in &b.keys {
                    assert!(seen.insert(*k), "{k} bound twice in {}", pane.title());
                }
            }
        }
        let global: Vec<_> = km
            .bindings
            .iter()
            .filter(|b| b.scope == Scope::Global)
            .flat_map(|b| b.keys.clone())
            .collect();
        let mut seen = std::collections::HashSet::new();
        for k in global {
            assert!(seen.insert(k), "{k} bound twice globally");
        }
    }
}
