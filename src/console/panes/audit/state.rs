//! What the Audit pane holds, and the words an event's before/after make.

use super::*;

#[derive(Debug)]
pub struct AuditPane {
    pub events: Paged<AuditEvent>,
    /// The `/` filter as typed, and what it asks the server for (or why it cannot yet).
    pub filter: String,
    pub query: Result<AuditFilter, String>,
    /// Enter: the selected event's detail takes the whole pane, scrolled by `scroll` lines.
    pub zoomed: bool,
    pub scroll: u16,
    /// Why the list could not load.
    pub error: Option<String>,
    /// Names of targets the console knows (the member or group `H` came from).
    pub labels: HashMap<String, String>,
    /// The stacks' and roles' names, for the detail's words (asked once, and on Ctrl-r).
    pub names: Names,
    pub names_asked: bool,
    /// `u`: the detail shows the raw fields, uids and all.
    pub raw: bool,
}

impl Default for AuditPane {
    fn default() -> Self {
        AuditPane {
            events: Paged::default(),
            filter: String::new(),
            query: Ok(AuditFilter::default()),
            zoomed: false,
            scroll: 0,
            error: None,
            labels: HashMap::new(),
            names: Names::default(),
            names_asked: false,
            raw: false,
        }
    }
}

impl AuditPane {
    pub fn selected(&self) -> Option<&AuditEvent> {
        self.events.current()
    }

    /// What a target is called: the server's name for it, one the console learned, or
    /// the id itself.
    pub fn target_words(&self, e: &AuditEvent) -> String {
        let Some(t) = e.target.as_deref() else {
            return "—".into();
        };
        e.target_name
            .clone()
            .or_else(|| self.labels.get(t).cloned())
            .unwrap_or_else(|| t.to_string())
    }

    /// The history `H` opens from the selected event: its target's.
    pub fn subject(&self) -> Option<Subject> {
        let e = self.selected()?;
        let target = e.target.clone()?;
        Some(Subject {
            label: self.target_words(e),
            target,
        })
    }

    /// Shows `subject`'s history next: its label stands for its id in the title.
    pub fn learn(&mut self, subject: &Subject) {
        self.labels
            .insert(subject.target.clone(), subject.label.clone());
    }
}

/// A JSON value as dotted paths to its scalars (`emails[0].value`), compact JSON each.
fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, String>) {
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                flatten(&join(k), x, out);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for (i, x) in a.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), x, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

/// What an event changed, a line per path: `path: old → new`, `+ path: new` for what it
/// added, `- path: old` for what it took away. Unchanged paths are left out.
pub fn change_words(before: Option<&Value>, after: Option<&Value>) -> Vec<String> {
    let mut b = BTreeMap::new();
    let mut a = BTreeMap::new();
    if let Some(v) = before.filter(|v| !v.is_null()) {
        flatten("", v, &mut b);
    }
    if let Some(v) = after.filter(|v| !v.is_null()) {
        flatten("", v, &mut a);
    }
    let keys: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
    let label = |k: &str| if k.is_empty() { "value" } else { k }.to_string();
    keys.into_iter()
        .filter_map(|k| match (b.get(k), a.get(k)) {
            (Some(x), Some(y)) if x == y => None,
            (Some(x), Some(y)) => Some(format!("{}: {x} → {y}", label(k))),
            (None, Some(y)) => Some(format!("+ {}: {y}", label(k))),
            (Some(x), None) => Some(format!("- {}: {x}", label(k))),
            (None, None) => None,
        })
        .collect()
}
