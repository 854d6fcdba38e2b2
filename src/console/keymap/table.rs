//! The console's own bindings: those that work everywhere, those of a comparison, and those
//! of each kind of input (dialogs, text fields, the command line, dropdowns, help). Each pane
//! declares its own in its module.

use super::{Action, BindingSpec, Context, Key, spec};
use ratatui::crossterm::event::KeyCode;

/// Bindings that work in every pane.
pub const GLOBAL: &[BindingSpec] = &[
    spec(
        &[Key::ctrl('c')],
        Action::Interrupt,
        None,
        "Quit at once, whatever is open (unsaved edits are lost)",
    ),
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
    spec(&[Key::ch('4')], Action::GotoAudit, None, "Audit pane"),
    spec(
        &[Key::ch('H')],
        Action::History,
        Some("history"),
        "History of the selected member, group, SCIM token or event's target (Audit pane)",
    ),
    spec(
        &[Key::ch(':')],
        Action::CommandLine,
        Some("cmd"),
        "Command line: `:` and a command (Tab completes; the commands are in the help)",
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

const ENTER: Key = Key::code(KeyCode::Enter);
const ESC: Key = Key::code(KeyCode::Esc);

/// A dialog: Cancel has the focus first, so that a stray Enter never does the dangerous
/// thing.
const DIALOG: &[BindingSpec] = &[
    spec(
        &[
            Key::code(KeyCode::Tab),
            Key::code(KeyCode::BackTab),
            Key::code(KeyCode::Left),
            Key::code(KeyCode::Right),
            Key::ch('h'),
            Key::ch('l'),
        ],
        Action::SwitchButton,
        Some("other button"),
        "Move to the other button",
    ),
    spec(
        &[ENTER],
        Action::Open,
        Some("press"),
        "Press the focused button",
    ),
    spec(
        &[ESC, Key::ch('n'), Key::ch('q')],
        Action::Back,
        Some("cancel"),
        "Cancel",
    ),
];

/// Editing keys of every field that takes text.
const TEXT: &[BindingSpec] = &[
    spec(
        &[Key::code(KeyCode::Left)],
        Action::Left,
        None,
        "Cursor one character left",
    ),
    spec(
        &[Key::code(KeyCode::Right)],
        Action::Right,
        None,
        "Cursor one character right",
    ),
    spec(
        &[Key::code(KeyCode::Home), Key::ctrl('a')],
        Action::LineStart,
        None,
        "Cursor to the start of the line",
    ),
    spec(
        &[Key::code(KeyCode::End), Key::ctrl('e')],
        Action::LineEnd,
        None,
        "Cursor to the end of the line",
    ),
    spec(
        &[Key::code(KeyCode::Backspace)],
        Action::DeleteChar,
        None,
        "Delete the character before the cursor",
    ),
    spec(
        &[Key::ctrl('w')],
        Action::DeleteWord,
        None,
        "Delete the word before the cursor",
    ),
    spec(
        &[Key::ctrl('u')],
        Action::ClearLine,
        Some("clear"),
        "Delete everything before the cursor",
    ),
];

/// A one-line field: the `/` filter, a token's label.
const FIELD: &[BindingSpec] = &[
    spec(&[ENTER], Action::Open, Some("done"), "Keep what is typed"),
    spec(
        &[ESC],
        Action::Back,
        Some("cancel"),
        "Cancel (the `/` filter: clear it)",
    ),
];

const REASON: &[BindingSpec] = &[
    spec(
        &[ENTER],
        Action::Open,
        Some("reject"),
        "Reject with this reason",
    ),
    spec(
        &[Key::ctrl('j'), Key::alt(KeyCode::Enter)],
        Action::NewLine,
        Some("new line"),
        "Start a new line",
    ),
    spec(&[ESC], Action::Back, Some("cancel"), "Cancel"),
];

const COMMAND: &[BindingSpec] = &[
    spec(&[ENTER], Action::Open, Some("run"), "Run the command"),
    spec(
        &[Key::code(KeyCode::Tab)],
        Action::Complete,
        Some("complete"),
        "Complete the command's name",
    ),
    spec(
        &[Key::code(KeyCode::Up)],
        Action::Up,
        Some("history"),
        "The previous command of the history",
    ),
    spec(
        &[Key::code(KeyCode::Down)],
        Action::Down,
        None,
        "The next command of the history",
    ),
    spec(
        &[ESC],
        Action::Back,
        Some("close"),
        "Close the command line",
    ),
];

/// A dropdown takes letters as its filter, so it moves with arrows and Ctrl keys only.
const DROPDOWN: &[BindingSpec] = &[
    spec(
        &[Key::code(KeyCode::Down), Key::ctrl('n')],
        Action::Down,
        Some("next"),
        "Next choice",
    ),
    spec(
        &[Key::code(KeyCode::Up), Key::ctrl('p')],
        Action::Up,
        None,
        "Previous choice",
    ),
    spec(
        &[Key::code(KeyCode::PageDown)],
        Action::PageDown,
        None,
        "A page of choices down",
    ),
    spec(
        &[Key::code(KeyCode::PageUp)],
        Action::PageUp,
        None,
        "A page of choices up",
    ),
    spec(
        &[Key::code(KeyCode::Home)],
        Action::Top,
        None,
        "First choice",
    ),
    spec(
        &[Key::code(KeyCode::End)],
        Action::Bottom,
        None,
        "Last choice",
    ),
    spec(
        &[Key::ch(' ')],
        Action::Mark,
        Some("tick"),
        "Tick or untick the choice (where several may be chosen)",
    ),
    spec(&[ENTER], Action::Open, Some("choose"), "Choose"),
    spec(
        &[ESC],
        Action::Back,
        Some("close"),
        "Clear the filter, or close when it is empty",
    ),
];

const HELP: &[BindingSpec] = &[
    spec(
        &[Key::ch('j'), Key::code(KeyCode::Down)],
        Action::Down,
        Some("scroll"),
        "Scroll down a line",
    ),
    spec(
        &[Key::ch('k'), Key::code(KeyCode::Up)],
        Action::Up,
        None,
        "Scroll up a line",
    ),
    spec(
        &[Key::code(KeyCode::PageDown), Key::ch(' ')],
        Action::PageDown,
        None,
        "Scroll down a page",
    ),
    spec(
        &[Key::code(KeyCode::PageUp)],
        Action::PageUp,
        None,
        "Scroll up a page",
    ),
    spec(
        &[Key::ch('/')],
        Action::Filter,
        Some("search"),
        "Search the keys",
    ),
    spec(
        &[ESC, Key::ch('q'), Key::ch('?')],
        Action::Back,
        Some("close"),
        "Close the help (Esc first clears a search)",
    ),
];

const SECRET: &[BindingSpec] = &[
    spec(
        &[Key::ch('y')],
        Action::Copy,
        Some("copy"),
        "Copy the secret (OSC 52)",
    ),
    spec(
        &[ESC, ENTER],
        Action::Back,
        Some("close"),
        "Close; the secret is not shown again",
    ),
];

/// The SCIM settings dialog: a list of switches. A switch that widens access or stops a
/// review asks first; one that goes back to the safe side applies at once.
const SETTINGS: &[BindingSpec] = &[
    spec(
        &[Key::ch('j'), Key::code(KeyCode::Down)],
        Action::Down,
        Some("next"),
        "Next setting",
    ),
    spec(
        &[Key::ch('k'), Key::code(KeyCode::Up)],
        Action::Up,
        None,
        "Previous setting",
    ),
    spec(
        &[ENTER, Key::ch(' ')],
        Action::Open,
        Some("switch"),
        "Switch the setting (asks first when it widens access or stops a review)",
    ),
    spec(&[ESC, Key::ch('q')], Action::Back, Some("close"), "Close"),
];

/// The keys of each kind of input.
pub const CONTEXTS: &[(Context, &[BindingSpec])] = &[
    (Context::Dialog, DIALOG),
    (Context::Text, TEXT),
    (Context::Field, FIELD),
    (Context::Reason, REASON),
    (Context::Command, COMMAND),
    (Context::Dropdown, DROPDOWN),
    (Context::Help, HELP),
    (Context::Secret, SECRET),
    (Context::Settings, SETTINGS),
];
