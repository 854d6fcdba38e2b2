//! Types of the audit log and admin-token listings.

use serde_json::Value;

/// One row of the audit log. `before`/`after` are the JSON the write recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    /// What the target is called now (`ann@acme.example`, `group Admins`, `stack Web`,
    /// `request of ann@acme.example`, `token okta`, `admin token ci`, `org Acme`); `None` once it is gone.
    /// Filled by listings, not kept in the log.
    pub target_name: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// What narrows an audit listing. `action` matches the action itself or, as a dotted prefix,
/// its family (`scim.user` matches `scim.user.create`). `target` matches the event's target
/// or, for a member, the approval requests about it too. `since` (inclusive) and `until`
/// (exclusive) are instants formatted as the log writes them (`2026-12-04T03:14:00.000Z`).
#[derive(Debug, Clone, Copy, Default)]
pub struct AuditQuery<'a> {
    pub actor: Option<&'a str>,
    pub action: Option<&'a str>,
    pub target: Option<&'a str>,
    pub since: Option<&'a str>,
    pub until: Option<&'a str>,
    pub limit: u64,
    /// Events older than this id (the cursor of the previous page).
    pub before_id: Option<i64>,
}

/// A live admin token, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminTokenInfo {
    pub id: String,
    pub label: String,
    /// The member the token acts as.
    pub email: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

/// The distinct targets of a page of events, to be named in one query.
pub(crate) fn audit_targets(items: &[AuditEvent]) -> Vec<String> {
    items
        .iter()
        .filter_map(|e| e.target.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Gives each event the name its target's row (target, name) has; none when it has none.
pub(crate) fn name_audit_targets(items: &mut [AuditEvent], rows: Vec<(String, String)>) {
    let names: std::collections::HashMap<String, String> = rows.into_iter().collect();
    for e in items {
        e.target_name = e.target.as_ref().and_then(|t| names.get(t).cloned());
    }
}
