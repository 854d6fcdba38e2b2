//! Stacks and custom roles from the console: the `:stack`, `:role`, `:rename-stack` and
//! `:rename-role` commands. Stacks and roles are named as shown (any case) or by uid; a name
//! with spaces goes in double quotes. After each change the stacks are read again, so the
//! mapping editor offers the new stack or role at once.

use super::*;
use crate::client::Stack;
use crate::console::panes::common::fmt::words;

/// What a stack command asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackCommand {
    /// `:stack NAME`
    New,
    /// `:role STACK NAME`
    Role,
    /// `:rename-stack STACK NEW`
    RenameStack,
    /// `:rename-role STACK ROLE NEW`
    RenameRole,
}

impl StackCommand {
    /// The words the command takes, as its usage writes them.
    fn arity(self) -> (usize, &'static str) {
        match self {
            StackCommand::New => (1, ":stack NAME"),
            StackCommand::Role => (2, ":role STACK NAME"),
            StackCommand::RenameStack => (2, ":rename-stack STACK NEW-NAME"),
            StackCommand::RenameRole => (3, ":rename-role STACK ROLE NEW-NAME"),
        }
    }
}

/// A name as the `:` line takes it back: in double quotes (with `\"` and `\\`) when it has
/// spaces or quotes, as it is otherwise.
pub fn quoted(name: &str) -> String {
    if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == '"' || c == '\\') {
        format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        name.to_string()
    }
}

fn matches(uid: &str, name: &str, key: &str) -> bool {
    uid == key || name.eq_ignore_ascii_case(key)
}

impl MappingPane {
    fn find_stack(&self, key: &str) -> Result<&Stack, String> {
        let stacks = self.stacks.as_ref().ok_or_else(|| {
            "the stacks are still loading: try again in a moment (Ctrl-r reloads them)".to_string()
        })?;
        stacks
            .iter()
            .find(|s| matches(&s.uid, &s.name, key))
            .ok_or_else(|| {
                let names: Vec<String> = stacks.iter().map(|s| format!("\"{}\"", s.name)).collect();
                format!(
                    "no stack '{key}'; the stacks are {}",
                    if names.is_empty() {
                        "none yet (:stack NAME creates one)".to_string()
                    } else {
                        names.join(", ")
                    }
                )
            })
    }

    /// Runs a stack command with its argument text; the calls it needs, or a toast that says
    /// what to type.
    pub fn stack_command(&mut self, cmd: StackCommand, arg: &str) -> Vec<Cmd> {
        match self.stack_call(cmd, arg) {
            Ok(c) => vec![call(ID, "stack_edit", c)],
            Err(e) => vec![Toast::error(e)],
        }
    }

    fn stack_call(&self, cmd: StackCommand, arg: &str) -> Result<Call, String> {
        let (n, usage) = cmd.arity();
        let w = words(arg);
        if w.len() != n {
            return Err(format!(
                "{usage} takes {n} name{}; a name with spaces goes in double quotes",
                if n == 1 { "" } else { "s" }
            ));
        }
        if w.iter().any(|x| x.trim().is_empty()) {
            return Err(format!(
                "{usage}: a name is needed, and \"\" is none; a name with spaces goes in \
                 double quotes"
            ));
        }
        Ok(match cmd {
            StackCommand::New => Call::CreateStack { name: w[0].clone() },
            StackCommand::Role => Call::CreateRole {
                stack_uid: self.find_stack(&w[0])?.uid.clone(),
                name: w[1].clone(),
            },
            StackCommand::RenameStack => Call::RenameStack {
                stack_uid: self.find_stack(&w[0])?.uid.clone(),
                name: w[1].clone(),
            },
            StackCommand::RenameRole => {
                let stack = self.find_stack(&w[0])?;
                let role = stack
                    .roles
                    .iter()
                    .find(|r| matches(&r.uid, &r.name, &w[1]))
                    .ok_or_else(|| format!("no role '{}' on stack {}", w[1], stack.name))?;
                if role.builtin {
                    return Err(format!(
                        "{} is a built-in role and keeps its name; :role {} NAME adds a \
                         custom one",
                        role.name,
                        quoted(&stack.name)
                    ));
                }
                Call::RenameRole {
                    stack_uid: stack.uid.clone(),
                    role_uid: role.uid.clone(),
                    name: w[2].clone(),
                }
            }
        })
    }

    /// A stack command's answer: say what changed, and read the stacks again so that every
    /// list and the editor show it.
    pub(super) fn stack_done(&mut self, call_: &Call, reply: Reply) -> Vec<Cmd> {
        let said = match (call_, &reply) {
            (Call::CreateStack { .. }, Reply::Stack(s)) => format!(
                "stack {} created with the roles {}",
                s.name,
                s.roles
                    .iter()
                    .map(|r| r.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            (Call::RenameStack { .. }, Reply::Stack(s)) => format!("stack renamed to {}", s.name),
            (Call::CreateRole { stack_uid, .. }, Reply::Role(r)) => format!(
                "role {} added to {}: the mapping editor offers it now",
                r.name,
                self.stack_name(stack_uid)
            ),
            (Call::RenameRole { stack_uid, .. }, Reply::Role(r)) => {
                format!(
                    "role renamed to {} on {}",
                    r.name,
                    self.stack_name(stack_uid)
                )
            }
            _ => return Vec::new(),
        };
        vec![
            Toast::success(said),
            call(ID, "stacks", Call::Stacks(PageReq::first(PAGE as u32))),
        ]
    }

    fn stack_name(&self, uid: &str) -> String {
        self.stack_list()
            .iter()
            .find(|s| s.uid == uid)
            .map_or_else(|| uid.to_string(), |s| s.name.clone())
    }
}
