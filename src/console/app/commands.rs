//! The `:` command line: its keys, and the commands it runs.

use super::*;

pub(super) fn command_key(
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
pub(super) fn complete(text: &str) -> Option<String> {
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

pub(super) fn run_command(s: &mut State, text: &str) -> Vec<Cmd> {
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
