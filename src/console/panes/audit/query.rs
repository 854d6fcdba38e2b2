//! The Audit pane's `/` filter: words that narrow the log, as the admin API takes them.
//!
//! `actor:okta action:scim.user target:ID since:2026-12-01 until:2026-12-04T09:00:00Z`, in
//! any order; a value with spaces goes in double quotes (`actor:"Okta prod"`). A bare word is
//! an action family when it starts with one (`approval`, `scim.user.create`), else an actor
//! (`okta`, `owner@acme.example`), so the two questions asked most need no key at all.

use crate::console::panes::common::fmt::words;
use crate::scim::datetime;

/// The families of audit actions: the first segment of every action the server writes.
pub const FAMILIES: &[&str] = &[
    "access",
    "admin_token",
    "approval",
    "mapping",
    "member",
    "org",
    "scim",
    "stack",
];

const KEYS: &str = "actor:, action:, target:, since:, until:";

/// What the filter asks for. Times are in the log's own form (see [`datetime::bound`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
}

impl AuditFilter {
    pub fn is_empty(&self) -> bool {
        *self == AuditFilter::default()
    }
}

fn is_action(word: &str) -> bool {
    let first = word.split('.').next().unwrap_or("");
    FAMILIES.contains(&first)
}

/// Parses the filter; the error says what to type, for the pane's title while it is typed.
pub fn parse(text: &str) -> Result<AuditFilter, String> {
    let mut f = AuditFilter::default();
    // Whether the actor so far came from bare words, which more bare words extend.
    let mut joined = false;
    for word in words(text) {
        let keyed = word.starts_with("actor:");
        let (key, value) = match word.split_once(':') {
            Some((k, v)) if ["actor", "action", "target", "since", "until"].contains(&k) => {
                (k.to_string(), v.to_string())
            }
            Some((k, _)) if !k.contains('@') => {
                return Err(format!("'{k}:' is not a filter key; use {KEYS}"));
            }
            _ if is_action(&word) => ("action".to_string(), word),
            _ => ("actor".to_string(), word),
        };
        let bare_actor = key == "actor" && !keyed;
        if value.is_empty() {
            return Err(format!("{key}: needs a value"));
        }
        let value = match key.as_str() {
            "since" | "until" => datetime::bound(&value).ok_or_else(|| {
                format!("{key}: type a date (2026-12-04) or a time (2026-12-04T09:00:00Z)")
            })?,
            _ => value,
        };
        // Bare words that are not actions are one actor, spaces and all: `🙂 ünïcödé` or
        // `Okta prod` need no quotes (an actor is matched by part, case-insensitively).
        if bare_actor {
            if let Some(a) = &mut f.actor
                && joined
            {
                a.push(' ');
                a.push_str(&value);
                continue;
            }
            joined = f.actor.is_none();
        }
        let slot = match key.as_str() {
            "actor" => &mut f.actor,
            "action" => &mut f.action,
            "target" => &mut f.target,
            "since" => &mut f.since,
            _ => &mut f.until,
        };
        if slot.is_some() {
            return Err(format!("{key}: given twice; keep one"));
        }
        *slot = Some(value);
    }
    Ok(f)
}

/// The filter text that asks for one thing's history.
pub fn history(target: &str) -> String {
    if target.contains(char::is_whitespace) {
        format!("target:\"{target}\"")
    } else {
        format!("target:{target}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_bare_words_and_quotes() {
        let f = parse("okta approval since:2026-12-01 target:abc").unwrap();
        assert_eq!(f.actor.as_deref(), Some("okta"));
        assert_eq!(f.action.as_deref(), Some("approval"));
        assert_eq!(f.target.as_deref(), Some("abc"));
        assert_eq!(f.since.as_deref(), Some("2026-12-01T00:00:00.000Z"));
        assert_eq!(f.until, None);
        let f = parse("actor:\"Okta prod\" scim.user.create").unwrap();
        assert_eq!(f.actor.as_deref(), Some("Okta prod"));
        assert_eq!(f.action.as_deref(), Some("scim.user.create"));
        let f = parse("owner@acme.example").unwrap();
        assert_eq!(f.actor.as_deref(), Some("owner@acme.example"));
        // A word that only starts like a family is an actor.
        let f = parse("scimbot").unwrap();
        assert_eq!(f.actor.as_deref(), Some("scimbot"));
        assert!(parse("").unwrap().is_empty());
        // Issue 24, item 6: bare words are one actor, whatever their script.
        let f = parse("🙂 ünïcödé").unwrap();
        assert_eq!(f.actor.as_deref(), Some("🙂 ünïcödé"));
        let f = parse("Okta prod approval").unwrap();
        assert_eq!(f.actor.as_deref(), Some("Okta prod"));
        assert_eq!(f.action.as_deref(), Some("approval"));
        assert_eq!(
            parse(&history("a b")).unwrap().target.as_deref(),
            Some("a b")
        );
    }

    #[test]
    fn what_cannot_be_asked_says_what_to_type() {
        let e = parse("since:2026-12").unwrap_err();
        assert!(e.contains("2026-12-04"), "{e}");
        let e = parse("who:ann").unwrap_err();
        assert!(e.contains("actor:"), "{e}");
        assert!(parse("okta actor:ann").unwrap_err().contains("twice"));
        assert!(parse("actor:ann okta").unwrap_err().contains("twice"));
        assert!(parse("target:").unwrap_err().contains("needs a value"));
    }
}
