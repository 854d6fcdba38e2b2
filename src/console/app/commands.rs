//! The `:` command line: its keys, and the commands it runs.

use super::*;
use crate::console::panes::mapping::StackCommand;

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
            } else {
                // Several commands start so: say which, rather than nothing.
                let c = candidates(line.text());
                if c.len() > 1 {
                    s.push_toast(Toast {
                        level: Level::Info,
                        text: format!(
                            ":{} could be {}",
                            line.text(),
                            c.iter()
                                .map(|w| format!(":{w}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    });
                }
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

/// What a `:` command does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Go(PaneId),
    Export,
    Changes,
    Messages,
    Stacks(crate::console::panes::mapping::StackCommand),
    Quit,
    QuitNow,
}

/// One row of the command table: what `:` parses, Tab completes, `?` lists and the README
/// shows, all from here.
#[derive(Debug, Clone, Copy)]
pub struct CommandSpec {
    pub name: &'static str,
    /// Other words for it, listed with it everywhere.
    pub aliases: &'static [&'static str],
    /// The argument it needs, as the help writes it.
    pub arg: Option<&'static str>,
    pub help: &'static str,
    pub command: Command,
}

/// The `:` commands.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "scim",
        aliases: &["1"],
        arg: None,
        help: "the SCIM pane",
        command: Command::Go(PaneId::Scim),
    },
    CommandSpec {
        name: "users",
        aliases: &["2"],
        arg: None,
        help: "the Users pane",
        command: Command::Go(PaneId::Users),
    },
    CommandSpec {
        name: "mapping",
        aliases: &["mappings", "3"],
        arg: None,
        help: "the Group Mapping pane",
        command: Command::Go(PaneId::Mapping),
    },
    CommandSpec {
        name: "audit",
        aliases: &["4"],
        arg: None,
        help: "the Audit pane: every write, newest first (`/` filters by actor, action, \
               target and time)",
        command: Command::Go(PaneId::Audit),
    },
    CommandSpec {
        name: "stack",
        aliases: &[],
        arg: Some("NAME"),
        help: "create a stack (with the built-in roles Admin, Developer, Content Manager); \
               the mapping editor offers it at once",
        command: Command::Stacks(StackCommand::New),
    },
    CommandSpec {
        name: "role",
        aliases: &[],
        arg: Some("STACK NAME"),
        help: "add a custom role to a stack (by name or uid; a name with spaces in double \
               quotes)",
        command: Command::Stacks(StackCommand::Role),
    },
    CommandSpec {
        name: "rename-stack",
        aliases: &[],
        arg: Some("STACK NEW-NAME"),
        help: "rename a stack; mappings follow",
        command: Command::Stacks(StackCommand::RenameStack),
    },
    CommandSpec {
        name: "rename-role",
        aliases: &[],
        arg: Some("STACK ROLE NEW-NAME"),
        help: "rename a custom role (built-in roles keep their names); mappings follow",
        command: Command::Stacks(StackCommand::RenameRole),
    },
    CommandSpec {
        name: "export",
        aliases: &[],
        arg: Some("FILE"),
        help: "write a snapshot of the org to FILE (mode 0600)",
        command: Command::Export,
    },
    CommandSpec {
        name: "changes",
        aliases: &["diff"],
        arg: None,
        help: "what changed since the older snapshot (`review --against`)",
        command: Command::Changes,
    },
    CommandSpec {
        name: "messages",
        aliases: &["msg"],
        arg: None,
        help: "every notice of this session, whole and newest first (toasts go after a few \
               seconds); j/k scroll, Esc closes",
        command: Command::Messages,
    },
    CommandSpec {
        name: "q",
        aliases: &["quit"],
        arg: None,
        help: "quit (asks first when there are unsaved edits)",
        command: Command::Quit,
    },
    CommandSpec {
        name: "q!",
        aliases: &["quit!"],
        arg: None,
        help: "quit at once, unsaved edits lost",
        command: Command::QuitNow,
    },
];

impl CommandSpec {
    /// `:export FILE`, as the help and the errors write it.
    pub fn usage(&self) -> String {
        match self.arg {
            Some(a) => format!(":{} {a}", self.name),
            None => format!(":{}", self.name),
        }
    }

    fn words(&self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.name).chain(self.aliases.iter().copied())
    }
}

/// The command a word names, by its name or an alias.
pub fn find(word: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.words().any(|w| w == word))
}

/// The command a typed prefix names, if only one does: `exp` → `export `.
pub fn complete(text: &str) -> Option<String> {
    if text.contains(char::is_whitespace) {
        return None;
    }
    let hits: Vec<(&str, &CommandSpec)> = COMMANDS
        .iter()
        .flat_map(|c| c.words().map(move |w| (w, c)))
        .filter(|(w, _)| w.starts_with(text))
        .collect();
    let (word, spec) = match &hits[..] {
        [one] => *one,
        // Several words of one command (`q`, `quit`): its name.
        [(_, c), rest @ ..] if rest.iter().all(|(_, r)| r.name == c.name) => (c.name, *c),
        _ => return None,
    };
    Some(match spec.arg {
        Some(_) => format!("{word} "),
        None => word.to_string(),
    })
}

/// The command words a typed prefix could complete to (names and aliases), in table order.
pub fn candidates(text: &str) -> Vec<&'static str> {
    if text.is_empty() || text.contains(char::is_whitespace) {
        return Vec::new();
    }
    COMMANDS
        .iter()
        .flat_map(|c| c.words())
        .filter(|w| w.starts_with(text))
        .collect()
}

/// The README's command table, as Markdown.
pub fn markdown() -> String {
    let mut out = String::from("| command | also | what |\n| --- | --- | --- |\n");
    for c in COMMANDS {
        let also = c
            .aliases
            .iter()
            .map(|a| format!("`:{a}`"))
            .collect::<Vec<_>>()
            .join(", ");
        out.push_str(&format!("| `{}` | {also} | {} |\n", c.usage(), c.help));
    }
    out
}

pub(super) fn run_command(s: &mut State, text: &str) -> Vec<Cmd> {
    let (word, arg) = match text.split_once(char::is_whitespace) {
        Some((w, a)) => (w, a.trim()),
        None => (text, ""),
    };
    let Some(spec) = find(word) else {
        s.push_toast(Toast {
            level: Level::Error,
            text: format!(
                "unknown command ':{word}'; try {}",
                COMMANDS
                    .iter()
                    .map(|c| format!(":{}", c.name))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        });
        return Vec::new();
    };
    if let Some(a) = spec.arg
        && arg.is_empty()
    {
        s.push_toast(Toast {
            level: Level::Error,
            text: format!("give a {}: {}", a.to_lowercase(), spec.usage()),
        });
        return Vec::new();
    }
    match spec.command {
        Command::Go(p) => s.switch(p),
        Command::Quit => act(s, Action::Quit),
        Command::QuitNow => vec![Cmd::Quit],
        Command::Changes => show_changes(s),
        // Stacks are the Group Mapping pane's: the result shows there.
        Command::Stacks(c) => {
            let mut out = s.switch(PaneId::Mapping);
            let cmds = s.mapping.stack_command(c, arg);
            out.extend(s.absorb(cmds));
            out
        }
        Command::Messages => {
            s.mode = Mode::Messages { scroll: 0 };
            Vec::new()
        }
        // One export at a time: a second one waits for the first to be written, so two
        // writes never race (to the same file, or for the server's attention).
        Command::Export if s.exporting.is_some() => {
            s.push_toast(Toast {
                level: Level::Info,
                text: format!("{arg}: waits for the export being written"),
            });
            let path = expand_home(arg, s.home.as_deref());
            s.export_queue.push_back(path);
            Vec::new()
        }
        Command::Export => {
            let path = expand_home(arg, s.home.as_deref());
            s.start_export(path)
        }
    }
}

/// `~` and `~/…` as the shell reads them: under the user's home directory.
pub fn expand_home(arg: &str, home: Option<&std::path::Path>) -> PathBuf {
    match (arg.strip_prefix('~'), home) {
        (Some(""), Some(h)) => h.to_path_buf(),
        (Some(rest), Some(h)) if rest.starts_with('/') => h.join(&rest[1..]),
        _ => PathBuf::from(arg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tilde_is_the_home_directory() {
        let home = std::path::Path::new("/home/ann");
        assert_eq!(expand_home("~/x.json", Some(home)), home.join("x.json"));
        assert_eq!(expand_home("~", Some(home)), home.to_path_buf());
        assert_eq!(expand_home("~bob/x", Some(home)), PathBuf::from("~bob/x"));
        assert_eq!(expand_home("x.json", Some(home)), PathBuf::from("x.json"));
    }

    const START: &str = "<!-- commands:start (generated from src/console/app/commands.rs) -->\n";
    const END: &str = "<!-- commands:end -->";

    /// The README's command table is this table. `UPDATE_KEYS=1 cargo test --lib commands`
    /// rewrites it after a command changes.
    #[test]
    fn readme_command_table_matches_the_command_table() {
        let want = markdown();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
        let readme = std::fs::read_to_string(path).unwrap();
        let start = readme
            .find(START)
            .expect("README has the commands:start marker")
            + START.len();
        let end = readme
            .find(END)
            .expect("README has the commands:end marker");
        if readme[start..end] != want {
            if std::env::var_os("UPDATE_KEYS").is_some() {
                let new = format!("{}{want}{}", &readme[..start], &readme[end..]);
                std::fs::write(path, new).unwrap();
            } else {
                panic!(
                    "the README's command table is stale: run `UPDATE_KEYS=1 cargo test --lib \
                     commands` and commit README.md. Expected:\n{want}"
                );
            }
        }
    }

    #[test]
    fn every_word_is_one_commands_and_completes_to_it() {
        let mut seen = std::collections::HashSet::new();
        for c in COMMANDS {
            for w in c.words() {
                assert!(seen.insert(w), "{w} names two commands");
                assert_eq!(find(w).map(|x| x.name), Some(c.name));
            }
        }
        assert_eq!(complete("exp").as_deref(), Some("export "));
        assert_eq!(complete("us").as_deref(), Some("users"));
        assert_eq!(complete("mappings").as_deref(), Some("mappings"));
        assert_eq!(complete("qu").as_deref(), None, "quit or quit!");
        assert_eq!(complete("zz"), None);
        assert_eq!(complete("export a"), None);
    }
}
