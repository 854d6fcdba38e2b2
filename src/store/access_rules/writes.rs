//! What a member's [`Transition`] writes, decided once for both engines: each engine renders
//! a [`MemberWrite`] as its own statements.

use super::{MemberRow, StoredRequest};
use crate::domain::access::{Access, OrgRole, StackRole};
use crate::domain::approval::{MemberState, RequestChange, RequestKind, Transition};
use crate::store::secret;
use crate::store::{StoreError, StoreResult};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// A member's state, org role and granted stack roles after a transition, with the audit
/// event (`access.changed`) that records the move.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AccessWrite {
    pub state: MemberState,
    pub role: OrgRole,
    /// Granted stack roles lost, then gained.
    pub gone: Vec<StackRole>,
    pub added: Vec<StackRole>,
    pub audit_before: Value,
    pub audit_after: Value,
}

/// A change to approval requests, each with its audit event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RequestWrite {
    /// A new pending request, version 1 (`approval.opened`).
    Open {
        id: String,
        kind: RequestKind,
        /// The diff as JSON text.
        diff: String,
        audit_after: Value,
    },
    /// The open request's diff changed: the version goes up by one (`approval.updated`).
    Update {
        id: String,
        diff: String,
        audit_before: Value,
        audit_after: Value,
    },
    /// The open request no longer applies (`approval.superseded`).
    Supersede {
        id: String,
        audit_before: Value,
        audit_after: Value,
    },
}

/// Everything a transition of one member writes, in order: its access, then its requests (a
/// request superseded before the one that replaces it opens).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MemberWrite {
    pub member_id: String,
    pub access: Option<AccessWrite>,
    pub requests: Vec<RequestWrite>,
}

impl MemberWrite {
    /// Whether the transition changes anything.
    pub fn changes(&self) -> bool {
        self.access.is_some() || !self.requests.is_empty()
    }
}

fn access_json(state: MemberState, granted: Option<&Access>) -> Value {
    json!({"state": state.as_str(), "granted": granted})
}

fn diff_text(diff: &impl serde::Serialize) -> StoreResult<String> {
    serde_json::to_string(diff).map_err(|e| StoreError::Db(e.to_string()))
}

fn supersede(old: &StoredRequest) -> RequestWrite {
    RequestWrite::Supersede {
        id: old.id.clone(),
        audit_before: json!({"state": "pending", "version": old.version}),
        audit_after: json!({"state": "superseded", "version": old.version}),
    }
}

/// What transition `t` of `row` writes: state and granted access when they move, and the
/// open request (opened, updated or superseded).
pub(crate) fn plan_write(row: &MemberRow, t: &Transition) -> StoreResult<MemberWrite> {
    let before = row.granted();
    let access = (t.state != row.state || t.granted != before).then(|| {
        let empty = BTreeSet::new();
        let new = t.granted.as_ref().map_or(&empty, |a| &a.stack_roles);
        AccessWrite {
            state: t.state,
            role: t.granted.as_ref().map_or(OrgRole::Member, |a| a.org_role),
            gone: row.granted_stack.difference(new).cloned().collect(),
            added: new.difference(&row.granted_stack).cloned().collect(),
            audit_before: access_json(row.state, before.as_ref()),
            audit_after: access_json(t.state, t.granted.as_ref()),
        }
    });
    let mut requests = Vec::new();
    match (&t.request, &row.request) {
        (RequestChange::Keep, _) => {}
        (RequestChange::Open { kind, diff }, old) => {
            if let Some(old) = old {
                requests.push(supersede(old));
            }
            requests.push(RequestWrite::Open {
                id: secret::new_uuid(),
                kind: *kind,
                diff: diff_text(diff)?,
                audit_after: json!({"member_id": row.id, "kind": kind, "version": 1, "diff": diff}),
            });
        }
        (RequestChange::Update { diff }, Some(old)) => requests.push(RequestWrite::Update {
            id: old.id.clone(),
            diff: diff_text(diff)?,
            audit_before: json!({"version": old.version, "diff": old.diff}),
            audit_after: json!({"version": old.version + 1, "diff": diff}),
        }),
        (RequestChange::Supersede, Some(old)) => requests.push(supersede(old)),
        (RequestChange::Update { .. } | RequestChange::Supersede, None) => {}
    }
    Ok(MemberWrite {
        member_id: row.id.clone(),
        access,
        requests,
    })
}

/// The audit event of a decision: (action, before, after).
pub(crate) fn decision_audit(
    stored: &StoredRequest,
    state: crate::domain::approval::RequestState,
    reason: Option<&str>,
) -> (&'static str, Value, Value) {
    let action = match state {
        crate::domain::approval::RequestState::Approved => "approval.approved",
        _ => "approval.rejected",
    };
    (
        action,
        json!({"state": "pending", "version": stored.version, "diff": stored.diff}),
        json!({"state": state.as_str(), "version": stored.version, "reason": reason}),
    )
}

/// The audit event of an admin's removal: (before, after).
pub(crate) fn removal_audit(row: &MemberRow) -> (Value, Value) {
    (
        json!({"email": row.email, "state": row.state.as_str(), "granted": row.granted()}),
        json!({"email": row.email, "state": "removed", "granted": null}),
    )
}

/// The audit event of a mapping save or delete: (action, after). `after` is the mapping after
/// the save (null when deleted).
pub(crate) fn mapping_audit(
    after: Option<Value>,
    granted_changes: u64,
    pending_changes: u64,
) -> (&'static str, Value) {
    let applied = json!({
        "granted_changes": granted_changes,
        "pending_changes": pending_changes,
    });
    match after {
        Some(mut after) => {
            if let Some(o) = after.as_object_mut() {
                o.insert("applied".into(), applied);
            }
            ("mapping.update", after)
        }
        None => ("mapping.delete", json!({"applied": applied})),
    }
}
