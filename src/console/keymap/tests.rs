use super::*;
use crate::console::panes;
use ratatui::crossterm::event::{KeyCode, KeyModifiers};

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

/// A context's keys are rebound by their context's name; a printable key cannot be bound
/// where it would have typed.
#[test]
fn context_keys_rebind_by_their_context_name() {
    let ev = |c: char, m| KeyEvent::new(KeyCode::Char(c), m);
    let mut o = BTreeMap::new();
    o.insert("dropdown.down".to_string(), vec!["ctrl-j".to_string()]);
    let km = Keymap::build(&panes::bindings(), &o, false).unwrap();
    assert_eq!(
        km.press(Context::Dropdown, &ev('j', KeyModifiers::CONTROL)),
        Press::Act(Action::Down)
    );
    // The global `down` is another binding: j still moves a list.
    assert_eq!(
        km.lookup(PaneId::Users, &ev('j', KeyModifiers::NONE)),
        Some(Action::Down)
    );
    o.insert("dropdown.down".to_string(), vec!["j".to_string()]);
    let e = Keymap::build(&panes::bindings(), &o, false).unwrap_err();
    assert!(e.contains("types text in a dropdown"), "{e}");
    // A dialog takes no text: a letter is fine there.
    let mut o = BTreeMap::new();
    o.insert("dialog.back".to_string(), vec!["c".to_string()]);
    let km = Keymap::build(&panes::bindings(), &o, false).unwrap();
    assert_eq!(
        km.press(Context::Dialog, &ev('c', KeyModifiers::NONE)),
        Press::Act(Action::Back)
    );
    assert_eq!(
        km.press(Context::Dialog, &ev('q', KeyModifiers::NONE)),
        Press::Nothing
    );
}

#[test]
fn no_key_is_bound_twice_in_a_context() {
    let km = Keymap::build(&panes::bindings(), &BTreeMap::new(), false).unwrap();
    for c in Context::ALL {
        let mut seen = std::collections::HashSet::new();
        for b in km.in_context(c) {
            for k in &b.keys {
                assert!(seen.insert(*k), "{k} bound twice {}", c.title());
            }
        }
    }
}

/// The SCIM pane's old one-key switches are gone; a config naming one says what replaced them.
#[test]
fn a_retired_switch_in_the_config_says_what_replaced_it() {
    let mut o = BTreeMap::new();
    o.insert(
        "toggle_approval_provision".to_string(),
        vec!["p".to_string()],
    );
    let e = Keymap::build(&crate::console::panes::bindings(), &o, false).unwrap_err();
    assert!(e.contains("one dialog") && e.contains("settings"), "{e}");
}
