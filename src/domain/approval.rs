//! The approval queue's rules (DESIGN.md, "The approval queue"): how an IdP change moves a
//! member's granted access and their one approval request. Pure: the store persists what these
//! functions decide, inside one transaction.

use super::access::{Access, OrgRole, StackRole};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Which IdP changes wait for an admin. Defaults: provision on, access_increase on,
/// deprovision off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalPolicy {
    pub provision: bool,
    pub access_increase: bool,
    pub deprovision: bool,
}

impl Default for ApprovalPolicy {
    fn default() -> Self {
        ApprovalPolicy {
            provision: true,
            access_increase: true,
            deprovision: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberState {
    /// Awaiting approval to join; no access.
    Pending,
    Active,
    /// Joining was rejected; no access.
    Rejected,
    /// Deprovisioned by the IdP; the account stays.
    Deprovisioned,
    /// Removed by an admin.
    Removed,
}

impl MemberState {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberState::Pending => "pending",
            MemberState::Active => "active",
            MemberState::Rejected => "rejected",
            MemberState::Deprovisioned => "deprovisioned",
            MemberState::Removed => "removed",
        }
    }
    pub fn parse(s: &str) -> Option<MemberState> {
        [
            MemberState::Pending,
            MemberState::Active,
            MemberState::Rejected,
            MemberState::Deprovisioned,
            MemberState::Removed,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
    }
    pub fn has_access(self) -> bool {
        self == MemberState::Active
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    Provision,
    AccessIncrease,
    Deprovision,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    Pending,
    Approved,
    Rejected,
    Superseded,
}

impl RequestKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Provision => "provision",
            RequestKind::AccessIncrease => "access_increase",
            RequestKind::Deprovision => "deprovision",
        }
    }
    pub fn parse(s: &str) -> Option<RequestKind> {
        [
            RequestKind::Provision,
            RequestKind::AccessIncrease,
            RequestKind::Deprovision,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

impl RequestState {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Pending => "pending",
            RequestState::Approved => "approved",
            RequestState::Rejected => "rejected",
            RequestState::Superseded => "superseded",
        }
    }
    pub fn parse(s: &str) -> Option<RequestState> {
        [
            RequestState::Pending,
            RequestState::Approved,
            RequestState::Rejected,
            RequestState::Superseded,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// What a request would change: the org role move (from `None` = no membership) and the stack
/// roles gained or lost.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RequestDiff {
    pub org_role_from: Option<OrgRole>,
    pub org_role_to: Option<OrgRole>,
    pub stack_gains: BTreeSet<StackRole>,
    pub stack_losses: BTreeSet<StackRole>,
}

impl RequestDiff {
    pub fn between(granted: Option<&Access>, requested: Option<&Access>) -> RequestDiff {
        let empty = BTreeSet::new();
        let g = granted.map_or(&empty, |a| &a.stack_roles);
        let r = requested.map_or(&empty, |a| &a.stack_roles);
        RequestDiff {
            org_role_from: granted.map(|a| a.org_role),
            org_role_to: requested.map(|a| a.org_role),
            stack_gains: r.difference(g).cloned().collect(),
            stack_losses: g.difference(r).cloned().collect(),
        }
    }
    /// Apply exactly this diff to `granted`.
    pub fn apply(&self, granted: Option<&Access>) -> Option<Access> {
        let role = self.org_role_to?;
        let mut stack_roles = granted.map(|a| a.stack_roles.clone()).unwrap_or_default();
        stack_roles.extend(self.stack_gains.iter().cloned());
        for l in &self.stack_losses {
            stack_roles.remove(l);
        }
        Some(Access {
            org_role: role,
            stack_roles,
        })
    }
}

/// The one open request of a member, as far as the rules are concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenRequest {
    pub kind: RequestKind,
    pub diff: RequestDiff,
    pub version: u64,
}

/// A member as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub state: MemberState,
    /// Access in force; `None` unless the member is active.
    pub granted: Option<Access>,
    pub request: Option<OpenRequest>,
    /// The diff of the member's last rejected request: the same raise is not asked again until
    /// the IdP asks for something else.
    pub last_rejected: Option<RequestDiff>,
}

/// What the IdP and the mappings now say about a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    /// The SCIM user is active; these are the access its groups' mappings imply.
    Active(Access),
    /// The SCIM user was deleted or set `active: false`.
    Inactive,
}

/// What to do with the member's request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestChange {
    Keep,
    /// Open a new request (version 1), superseding any other.
    Open {
        kind: RequestKind,
        diff: RequestDiff,
    },
    /// The open request's diff changed: store it and bump the version.
    Update {
        diff: RequestDiff,
    },
    /// The open request no longer applies.
    Supersede,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub state: MemberState,
    pub granted: Option<Access>,
    pub request: RequestChange,
}

fn request_for(member: &Member, kind: RequestKind, diff: RequestDiff) -> RequestChange {
    match &member.request {
        Some(r) if r.kind == kind && r.diff == diff => RequestChange::Keep,
        Some(r) if r.kind == kind => RequestChange::Update { diff },
        _ => RequestChange::Open { kind, diff },
    }
}

fn close(member: &Member) -> RequestChange {
    if member.request.is_some() {
        RequestChange::Supersede
    } else {
        RequestChange::Keep
    }
}

/// Decide how an IdP change (or a mapping edit, which changes the implied access) moves a
/// member. Lowering applies at once; raising waits when the policy says so.
pub fn on_change(member: &Member, intent: &Intent, policy: &ApprovalPolicy) -> Transition {
    match (member.state, intent) {
        // Joining (again): a new member, or one that was deprovisioned, removed or rejected.
        (
            MemberState::Pending | MemberState::Deprovisioned | MemberState::Removed,
            Intent::Active(req),
        )
        | (MemberState::Rejected, Intent::Active(req)) => {
            let diff = RequestDiff::between(None, Some(req));
            // A member whose address the IdP moved waits under the access_increase policy (see
            // [`on_rename`]); every other join under the provision policy.
            let (kind, waits) = match &member.request {
                Some(r)
                    if member.state == MemberState::Pending
                        && r.kind == RequestKind::AccessIncrease =>
                {
                    (RequestKind::AccessIncrease, policy.access_increase)
                }
                _ => (RequestKind::Provision, policy.provision),
            };
            if member.state == MemberState::Rejected && member.last_rejected.as_ref() == Some(&diff)
            {
                // The same join was rejected: it is not asked again until the IdP asks for more.
                return Transition {
                    state: MemberState::Rejected,
                    granted: None,
                    request: RequestChange::Keep,
                };
            }
            if waits {
                Transition {
                    state: MemberState::Pending,
                    granted: None,
                    request: request_for(member, kind, diff),
                }
            } else {
                Transition {
                    state: MemberState::Active,
                    granted: Some(req.clone()),
                    request: close(member),
                }
            }
        }
        (MemberState::Active, Intent::Active(req)) => {
            let granted = member.granted.clone().unwrap_or_default();
            let (now, gains) = super::access::apply_losses(&granted, req);
            if gains.is_empty() {
                return Transition {
                    state: MemberState::Active,
                    granted: Some(now),
                    request: close(member),
                };
            }
            let diff = RequestDiff::between(Some(&now), Some(req));
            if member.request.is_none() && member.last_rejected.as_ref() == Some(&diff) {
                // This raise was rejected: not asked again until the IdP asks for more.
                return Transition {
                    state: MemberState::Active,
                    granted: Some(now),
                    request: RequestChange::Keep,
                };
            }
            if policy.access_increase {
                Transition {
                    state: MemberState::Active,
                    granted: Some(now),
                    request: request_for(member, RequestKind::AccessIncrease, diff),
                }
            } else {
                Transition {
                    state: MemberState::Active,
                    granted: Some(req.clone()),
                    request: close(member),
                }
            }
        }
        (MemberState::Active, Intent::Inactive) => {
            if policy.deprovision {
                let diff = RequestDiff::between(member.granted.as_ref(), None);
                Transition {
                    state: MemberState::Active,
                    granted: member.granted.clone(),
                    request: request_for(member, RequestKind::Deprovision, diff),
                }
            } else {
                Transition {
                    state: MemberState::Deprovisioned,
                    granted: None,
                    request: close(member),
                }
            }
        }
        // A pending member the IdP deactivates never gets in; others stay where they are.
        (MemberState::Pending, Intent::Inactive) => Transition {
            state: MemberState::Deprovisioned,
            granted: None,
            request: close(member),
        },
        (
            state @ (MemberState::Rejected | MemberState::Deprovisioned | MemberState::Removed),
            Intent::Inactive,
        ) => Transition {
            state,
            granted: None,
            request: close(member),
        },
    }
}

/// Decide how the IdP changing a member's userName (the address that access belongs to) moves
/// the member. Granted access moving to another address is an access change: under the
/// `access_increase` policy the old address loses it at once and the new one waits for approval
/// (state pending, an `access_increase` request from no access). An open request is opened
/// again (the old one superseded), so that nobody approves it under the address they saw.
/// Otherwise the rename changes nothing but the address.
pub fn on_rename(member: &Member, intent: &Intent, policy: &ApprovalPolicy) -> Transition {
    match (member.state, intent) {
        (MemberState::Active, Intent::Active(req)) if policy.access_increase => Transition {
            state: MemberState::Pending,
            granted: None,
            request: RequestChange::Open {
                kind: RequestKind::AccessIncrease,
                diff: RequestDiff::between(None, Some(req)),
            },
        },
        _ => {
            let mut t = on_change(member, intent, policy);
            if let (RequestChange::Keep | RequestChange::Update { .. }, Some(open)) =
                (&t.request, &member.request)
            {
                let diff = match &t.request {
                    RequestChange::Update { diff } => diff.clone(),
                    _ => open.diff.clone(),
                };
                t.request = RequestChange::Open {
                    kind: open.kind,
                    diff,
                };
            }
            t
        }
    }
}

/// Why a decision was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecisionError {
    /// The request changed since the approver saw it (409).
    Stale { current_version: u64 },
    /// The request was already decided the other way, or superseded (409).
    AlreadyDecided(RequestState),
}

/// Whether a decision (`to`) may apply to a request in `state`: `Ok(false)` for a harmless
/// repeat of the same decision on the same version, a 409-worthy error for a stale version or
/// a request decided otherwise (or superseded).
fn may_decide(
    to: RequestState,
    state: RequestState,
    request: &OpenRequest,
    seen_version: u64,
) -> Result<bool, DecisionError> {
    if state == to && seen_version == request.version {
        return Ok(false);
    }
    if state != RequestState::Pending {
        return Err(DecisionError::AlreadyDecided(state));
    }
    if seen_version != request.version {
        return Err(DecisionError::Stale {
            current_version: request.version,
        });
    }
    Ok(true)
}

/// Outcome of approving: the member after the decision, or `None` for a harmless repeat.
pub fn approve(
    member: &Member,
    request_state: RequestState,
    request: &OpenRequest,
    seen_version: u64,
) -> Result<Option<Transition>, DecisionError> {
    if !may_decide(RequestState::Approved, request_state, request, seen_version)? {
        return Ok(None);
    }
    let granted = request.diff.apply(member.granted.as_ref());
    let state = match request.kind {
        RequestKind::Deprovision => MemberState::Deprovisioned,
        RequestKind::Provision | RequestKind::AccessIncrease => MemberState::Active,
    };
    Ok(Some(Transition {
        state,
        granted,
        request: RequestChange::Keep,
    }))
}

/// Outcome of rejecting: granted access stays as it is; a rejected provision leaves the
/// member `rejected`, without access.
pub fn reject(
    member: &Member,
    request_state: RequestState,
    request: &OpenRequest,
    seen_version: u64,
) -> Result<Option<Transition>, DecisionError> {
    if !may_decide(RequestState::Rejected, request_state, request, seen_version)? {
        return Ok(None);
    }
    // A join is rejected, and so is a moved address (a pending member whose access_increase
    // request started from no access): neither has access to keep.
    let state = match request.kind {
        RequestKind::Provision => MemberState::Rejected,
        RequestKind::AccessIncrease if member.state == MemberState::Pending => {
            MemberState::Rejected
        }
        RequestKind::AccessIncrease | RequestKind::Deprovision => member.state,
    };
    Ok(Some(Transition {
        state,
        granted: member.granted.clone(),
        request: RequestChange::Keep,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(role: OrgRole, srs: &[(&str, &str)]) -> Access {
        Access {
            org_role: role,
            stack_roles: srs.iter().map(|(s, r)| StackRole::new(*s, *r)).collect(),
        }
    }

    fn member(state: MemberState, granted: Option<Access>) -> Member {
        Member {
            state,
            granted,
            request: None,
            last_rejected: None,
        }
    }

    fn after(m: &Member, t: &Transition, version: u64) -> Member {
        let request = match &t.request {
            RequestChange::Keep => m.request.clone(),
            RequestChange::Open { kind, diff } => Some(OpenRequest {
                kind: *kind,
                diff: diff.clone(),
                version: 1,
            }),
            RequestChange::Update { diff } => Some(OpenRequest {
                kind: m.request.as_ref().unwrap().kind,
                diff: diff.clone(),
                version: version + 1,
            }),
            RequestChange::Supersede => None,
        };
        Member {
            state: t.state,
            granted: t.granted.clone(),
            request,
            last_rejected: m.last_rejected.clone(),
        }
    }

    #[test]
    fn a_new_member_waits_for_approval_by_default() {
        let m = member(MemberState::Pending, None);
        let req = access(OrgRole::Member, &[("web", "developer")]);
        let t = on_change(&m, &Intent::Active(req.clone()), &ApprovalPolicy::default());
        assert_eq!(t.state, MemberState::Pending);
        assert_eq!(t.granted, None);
        let RequestChange::Open { kind, diff } = &t.request else {
            panic!("{t:?}")
        };
        assert_eq!(*kind, RequestKind::Provision);
        assert_eq!(diff.org_role_from, None);
        assert_eq!(diff.org_role_to, Some(OrgRole::Member));
        assert_eq!(diff.stack_gains.len(), 1);

        let m = after(&m, &t, 0);
        let done = approve(&m, RequestState::Pending, m.request.as_ref().unwrap(), 1)
            .unwrap()
            .unwrap();
        assert_eq!(done.state, MemberState::Active);
        assert_eq!(done.granted, Some(req));
    }

    #[test]
    fn without_provision_approval_a_member_joins_at_once() {
        let policy = ApprovalPolicy {
            provision: false,
            ..ApprovalPolicy::default()
        };
        let req = access(OrgRole::Admin, &[]);
        let t = on_change(
            &member(MemberState::Pending, None),
            &Intent::Active(req.clone()),
            &policy,
        );
        assert_eq!(
            (t.state, t.granted, t.request),
            (MemberState::Active, Some(req), RequestChange::Keep)
        );
    }

    #[test]
    fn a_raise_and_a_lowering_at_once_apply_the_lowering_now() {
        let m = member(
            MemberState::Active,
            Some(access(OrgRole::Admin, &[("web", "admin")])),
        );
        let req = access(OrgRole::Member, &[("mobile", "developer")]);
        let t = on_change(&m, &Intent::Active(req), &ApprovalPolicy::default());
        assert_eq!(
            t.granted,
            Some(access(OrgRole::Member, &[])),
            "losses apply at once"
        );
        let RequestChange::Open { kind, diff } = &t.request else {
            panic!("{t:?}")
        };
        assert_eq!(*kind, RequestKind::AccessIncrease);
        assert!(
            diff.stack_losses.is_empty(),
            "the request holds only the gains"
        );
        assert_eq!(
            diff.stack_gains,
            [StackRole::new("mobile", "developer")].into()
        );
    }

    #[test]
    fn a_further_idp_change_updates_the_request_and_a_stale_approval_is_refused() {
        let policy = ApprovalPolicy::default();
        let m = member(MemberState::Active, Some(access(OrgRole::Member, &[])));
        let t1 = on_change(
            &m,
            &Intent::Active(access(OrgRole::Member, &[("web", "developer")])),
            &policy,
        );
        let m1 = after(&m, &t1, 0);
        assert_eq!(m1.request.as_ref().unwrap().version, 1);
        let t2 = on_change(
            &m1,
            &Intent::Active(access(OrgRole::Admin, &[("web", "developer")])),
            &policy,
        );
        assert!(matches!(t2.request, RequestChange::Update { .. }));
        let m2 = after(&m1, &t2, 1);
        let r = m2.request.as_ref().unwrap();
        assert_eq!(r.version, 2);
        assert_eq!(
            approve(&m2, RequestState::Pending, r, 1),
            Err(DecisionError::Stale { current_version: 2 })
        );
        let ok = approve(&m2, RequestState::Pending, r, 2).unwrap().unwrap();
        assert_eq!(
            ok.granted,
            Some(access(OrgRole::Admin, &[("web", "developer")]))
        );
        // Approving twice is a no-op; approving a rejected request is refused.
        assert_eq!(approve(&m2, RequestState::Approved, r, 2), Ok(None));
        assert_eq!(
            approve(&m2, RequestState::Rejected, r, 2),
            Err(DecisionError::AlreadyDecided(RequestState::Rejected))
        );
        // The same IdP state again changes nothing.
        let t3 = on_change(
            &m2,
            &Intent::Active(access(OrgRole::Admin, &[("web", "developer")])),
            &policy,
        );
        assert_eq!(t3.request, RequestChange::Keep);
    }

    #[test]
    fn revocation_never_waits_unless_deprovision_approval_is_on() {
        let m = member(
            MemberState::Active,
            Some(access(OrgRole::Admin, &[("web", "admin")])),
        );
        let t = on_change(&m, &Intent::Inactive, &ApprovalPolicy::default());
        assert_eq!((t.state, t.granted), (MemberState::Deprovisioned, None));
        let policy = ApprovalPolicy {
            deprovision: true,
            ..ApprovalPolicy::default()
        };
        let t = on_change(&m, &Intent::Inactive, &policy);
        assert_eq!(t.state, MemberState::Active, "waits for approval");
        let RequestChange::Open { kind, diff } = &t.request else {
            panic!("{t:?}")
        };
        assert_eq!(*kind, RequestKind::Deprovision);
        assert_eq!(diff.org_role_to, None);
        assert_eq!(diff.stack_losses.len(), 1);
        let m = after(&m, &t, 0);
        let done = approve(&m, RequestState::Pending, m.request.as_ref().unwrap(), 1)
            .unwrap()
            .unwrap();
        assert_eq!(
            (done.state, done.granted),
            (MemberState::Deprovisioned, None)
        );
    }

    #[test]
    fn losing_the_gains_supersedes_the_request() {
        let policy = ApprovalPolicy::default();
        let m = member(MemberState::Active, Some(access(OrgRole::Member, &[])));
        let t = on_change(&m, &Intent::Active(access(OrgRole::Admin, &[])), &policy);
        let m = after(&m, &t, 0);
        let t = on_change(&m, &Intent::Active(access(OrgRole::Member, &[])), &policy);
        assert_eq!(t.request, RequestChange::Supersede);
    }

    #[test]
    fn a_rejected_raise_is_not_asked_again_until_the_idp_asks_for_more() {
        let policy = ApprovalPolicy::default();
        let m = member(MemberState::Active, Some(access(OrgRole::Member, &[])));
        let t = on_change(&m, &Intent::Active(access(OrgRole::Admin, &[])), &policy);
        let m = after(&m, &t, 0);
        let r = m.request.clone().unwrap();
        let rej = reject(&m, RequestState::Pending, &r, 1).unwrap().unwrap();
        assert_eq!(
            rej.granted,
            Some(access(OrgRole::Member, &[])),
            "granted access stays"
        );
        let m = Member {
            state: rej.state,
            granted: rej.granted,
            request: None,
            last_rejected: Some(r.diff),
        };
        let same = on_change(&m, &Intent::Active(access(OrgRole::Admin, &[])), &policy);
        assert_eq!(same.request, RequestChange::Keep);
        let more = on_change(
            &m,
            &Intent::Active(access(OrgRole::Admin, &[("web", "admin")])),
            &policy,
        );
        assert!(matches!(more.request, RequestChange::Open { .. }));
    }

    #[test]
    fn a_rejected_join_stays_rejected_until_the_idp_asks_for_more() {
        let req = access(OrgRole::Member, &[]);
        let m = Member {
            state: MemberState::Rejected,
            granted: None,
            request: None,
            last_rejected: Some(RequestDiff::between(None, Some(&req))),
        };
        let t = on_change(&m, &Intent::Active(req), &ApprovalPolicy::default());
        assert_eq!(
            (t.state, t.request),
            (MemberState::Rejected, RequestChange::Keep)
        );
        let t = on_change(
            &m,
            &Intent::Active(access(OrgRole::Admin, &[])),
            &ApprovalPolicy::default(),
        );
        assert_eq!(t.state, MemberState::Pending);
        assert!(matches!(
            t.request,
            RequestChange::Open {
                kind: RequestKind::Provision,
                ..
            }
        ));
    }

    #[test]
    fn a_moved_address_loses_access_at_once_and_waits_under_access_increase() {
        let granted = access(OrgRole::Admin, &[("web", "admin")]);
        let m = member(MemberState::Active, Some(granted.clone()));
        let intent = Intent::Active(granted.clone());
        let t = on_rename(&m, &intent, &ApprovalPolicy::default());
        assert_eq!(t.state, MemberState::Pending);
        assert_eq!(t.granted, None, "nothing is granted to the new address");
        let RequestChange::Open { kind, diff } = &t.request else {
            panic!("{t:?}")
        };
        assert_eq!(*kind, RequestKind::AccessIncrease);
        assert_eq!(diff.org_role_from, None);
        assert_eq!(diff.org_role_to, Some(OrgRole::Admin));
        // A later IdP change keeps it under access_increase, even with joins not reviewed.
        let waiting = after(&m, &t, 1);
        let no_join_review = ApprovalPolicy {
            provision: false,
            ..ApprovalPolicy::default()
        };
        let t2 = on_change(&waiting, &intent, &no_join_review);
        assert_eq!(t2.state, MemberState::Pending);
        assert_eq!(t2.request, RequestChange::Keep);
        // Approved: the new address has what the old one had.
        let ok = approve(
            &waiting,
            RequestState::Pending,
            waiting.request.as_ref().unwrap(),
            1,
        )
        .unwrap()
        .unwrap();
        assert_eq!(ok.state, MemberState::Active);
        assert_eq!(ok.granted, Some(granted.clone()));
        // Rejected: the new address has nothing.
        let no = reject(
            &waiting,
            RequestState::Pending,
            waiting.request.as_ref().unwrap(),
            1,
        )
        .unwrap()
        .unwrap();
        assert_eq!(no.state, MemberState::Rejected);
        assert_eq!(no.granted, None);
        // Without access_increase review the rename moves access at once.
        let open = ApprovalPolicy {
            access_increase: false,
            ..ApprovalPolicy::default()
        };
        let t3 = on_rename(&m, &intent, &open);
        assert_eq!(t3.state, MemberState::Active);
        assert_eq!(t3.granted, Some(granted));
    }

    #[test]
    fn a_rename_opens_a_waiting_request_again() {
        let m = member(MemberState::Pending, None);
        let req = access(OrgRole::Member, &[]);
        let t = on_change(&m, &Intent::Active(req.clone()), &ApprovalPolicy::default());
        let waiting = after(&m, &t, 1);
        let t2 = on_rename(&waiting, &Intent::Active(req), &ApprovalPolicy::default());
        assert!(
            matches!(
                t2.request,
                RequestChange::Open {
                    kind: RequestKind::Provision,
                    ..
                }
            ),
            "{t2:?}"
        );
        assert_eq!(t2.state, MemberState::Pending);
    }

    #[test]
    fn a_removed_member_reactivated_by_the_idp_needs_approval_again() {
        let m = member(MemberState::Removed, None);
        let t = on_change(
            &m,
            &Intent::Active(access(OrgRole::Member, &[])),
            &ApprovalPolicy::default(),
        );
        assert_eq!(t.state, MemberState::Pending);
        assert!(matches!(
            t.request,
            RequestChange::Open {
                kind: RequestKind::Provision,
                ..
            }
        ));
    }
}
