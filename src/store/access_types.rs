//! What the store returns about stacks, mappings, members and approval requests. These
//! serialize to the admin API's JSON shapes, so the routes stay thin and the console and the
//! server agree on one definition.

use crate::domain::access::{OrgRole, StackRole};
use crate::domain::approval::{MemberState, RequestKind, RequestState};
use serde::Serialize;

/// A stack role with the names a client shows, so that no client needs a join.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct StackRoleRef {
    pub stack_uid: String,
    pub stack_name: String,
    pub role_uid: String,
    pub role_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessView {
    pub org_role: OrgRole,
    pub stack_roles: Vec<StackRoleRef>,
}

/// `null` org roles mean "no membership" (before a provision, after a deprovision).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffView {
    pub org_role_from: Option<OrgRole>,
    pub org_role_to: Option<OrgRole>,
    pub stack_gains: Vec<StackRoleRef>,
    pub stack_losses: Vec<StackRoleRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberSummary {
    pub email: String,
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApprovalRequest {
    pub id: String,
    pub member_id: String,
    pub member: MemberSummary,
    pub kind: RequestKind,
    pub state: RequestState,
    pub version: u64,
    pub diff: DiffView,
    pub created_at: String,
    pub updated_at: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub reason: Option<String>,
    /// What an approver should look at twice: an address that mixes scripts (see
    /// `scim::text::mixed_scripts`). Left out of the JSON when there is none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleInfo {
    pub uid: String,
    pub name: String,
    pub builtin: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stack {
    pub uid: String,
    pub name: String,
    pub roles: Vec<RoleInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupRef {
    pub id: String,
    pub display_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mapping {
    pub group_id: String,
    pub group_name: String,
    pub org_role: OrgRole,
    pub stack_roles: Vec<StackRoleRef>,
    pub updated_at: String,
    pub updated_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupInfo {
    pub id: String,
    pub display_name: String,
    pub member_count: u64,
    pub mapping: Option<Mapping>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberSource {
    Scim,
    Manual,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberInfo {
    pub id: String,
    pub email: String,
    pub display_name: Option<String>,
    pub state: MemberState,
    pub source: MemberSource,
    pub groups: Vec<GroupRef>,
    pub granted: Option<AccessView>,
    pub requested: Option<AccessView>,
    /// The open request, if any.
    pub request: Option<ApprovalRequest>,
    /// For a rejected member: the decision that rejected it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejection: Option<Rejection>,
    pub created_at: String,
    pub updated_at: String,
}

/// Who rejected a member's request, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    pub request_id: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub reason: Option<String>,
}

/// What a mapping PUT asks for; validated against the org's stacks by the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingInput {
    pub org_role: OrgRole,
    pub stack_roles: Vec<StackRole>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GrantedChange {
    pub member_id: String,
    pub email: String,
    pub diff: DiffView,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingChange {
    pub member_id: String,
    pub email: String,
    pub request_id: String,
    pub before: DiffView,
    /// `null` when the edit leaves nothing to approve (the request is superseded).
    pub after: Option<DiffView>,
}

/// An org role or a stack role, as the admin API names roles in counts and explanations.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(untagged)]
pub enum RoleView {
    Org { org_role: OrgRole },
    Stack(StackRoleRef),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleCount {
    pub role: RoleView,
    pub gain: u64,
    pub lose: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ImpactCounts {
    pub members: u64,
    pub granted_changes: u64,
    pub pending_changes: u64,
    pub roles: Vec<RoleCount>,
}

/// The effect of a mapping edit: what a save changes at once, and which open requests it
/// rewrites. The lists are capped; the counts are complete.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct MappingImpact {
    pub granted_changes: Vec<GrantedChange>,
    pub pending_changes: Vec<PendingChange>,
    pub counts: ImpactCounts,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Via {
    Group {
        group_id: String,
        group_name: String,
    },
    Manual,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleExplained {
    pub role: RoleView,
    pub granted: bool,
    pub requested: bool,
    pub via: Vec<Via>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberAccess {
    pub member: MemberInfo,
    pub roles: Vec<RoleExplained>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject { reason: Option<String> },
}

/// The result of an approve or reject: applied (or a harmless repeat), or refused because the
/// request changed or was decided otherwise; the current request comes back either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecisionOutcome {
    Done {
        request: ApprovalRequest,
        member: Box<MemberInfo>,
    },
    Conflict {
        request: ApprovalRequest,
        message: String,
    },
}

/// What the SCIM User's readOnly provisioning extension shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProvisioningState {
    pub state: MemberState,
    pub pending_request: bool,
}

/// `?filter=`, `?state=` and paging of `/users`.
#[derive(Debug, Clone, Default)]
pub struct MemberQuery {
    pub filter: Option<String>,
    pub state: Option<MemberState>,
    pub limit: u64,
    pub cursor: Option<String>,
    /// The column `/users` is ordered by (then by email), and whether backwards.
    pub sort: MemberSort,
    pub desc: bool,
}

/// What `/users?sort=` orders by; email breaks ties, so every order is total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MemberSort {
    #[default]
    Email,
    Name,
    State,
    Created,
}

impl MemberSort {
    pub fn parse(s: &str) -> Option<MemberSort> {
        Some(match s {
            "email" => MemberSort::Email,
            "name" => MemberSort::Name,
            "state" => MemberSort::State,
            "created" => MemberSort::Created,
            _ => return None,
        })
    }

    /// Whether a query in this order pages by the plain email cursor (the email index walk).
    pub fn by_email_cursor(self, desc: bool) -> bool {
        self == MemberSort::Email && !desc
    }
}

/// The separator of a sorted `/users` cursor: `key` and `email` of the last row.
pub const SORT_CURSOR_SEP: char = '\u{1f}';
