//! The admin API's JSON shapes, as the console reads and writes them. Role, state and kind
//! enums are the domain's own, whose serde names are the wire names.

use crate::domain::access::OrgRole;
use crate::domain::approval::{MemberState, RequestKind, RequestState};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Every admin list: one page and the cursor of the next.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    #[serde(default)]
    pub next: Option<String>,
}

/// `?limit=&cursor=`; `None` leaves the server's default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageReq {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl PageReq {
    pub fn first(limit: u32) -> PageReq {
        PageReq {
            limit: Some(limit),
            cursor: None,
        }
    }
    pub(crate) fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if let Some(l) = self.limit {
            q.push(("limit", l.to_string()));
        }
        if let Some(c) = &self.cursor {
            q.push(("cursor", c.clone()));
        }
        q
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Warning {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub struct ApprovalSettings {
    pub provision: bool,
    pub access_increase: bool,
    pub deprovision: bool,
}

/// `GET /scim`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ScimSettings {
    pub enabled: bool,
    pub sso_role_mapping: bool,
    pub approval: ApprovalSettings,
    #[serde(default)]
    pub user_name_is_email: Option<bool>,
    #[serde(default)]
    pub warnings: Vec<Warning>,
    #[serde(default)]
    pub scim_url: Option<String>,
}

/// `PATCH /scim`: only the fields that are `Some` change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScimSettingsPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sso_role_mapping: Option<bool>,
    #[serde(skip_serializing_if = "ApprovalPatch::is_empty")]
    pub approval: ApprovalPatch,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApprovalPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provision: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_increase: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deprovision: Option<bool>,
}

impl ApprovalPatch {
    fn is_empty(&self) -> bool {
        self.provision.is_none() && self.access_increase.is_none() && self.deprovision.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrgCounts {
    pub members: u64,
    pub scim_users: u64,
    pub scim_groups: u64,
    pub scim_tokens: u64,
}

/// `GET ` (the org itself).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrgInfo {
    pub uid: String,
    pub name: String,
    #[serde(default)]
    pub created_at: Option<String>,
    pub scim: ScimSettings,
    pub counts: OrgCounts,
}

/// A SCIM token as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ScimToken {
    pub id: String,
    pub label: String,
    pub created_at: String,
    #[serde(default)]
    pub last_used_at: Option<String>,
}

/// IdP activity of the org's SCIM tokens (`GET .../scim/tokens/activity`), by token id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ScimActivity {
    #[serde(default)]
    pub tokens: std::collections::BTreeMap<String, TokenActivity>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct TokenActivity {
    #[serde(default)]
    pub last_request_at: Option<String>,
    #[serde(default)]
    pub last_hour: LastHour,
    /// Newest first.
    #[serde(default)]
    pub refusals: Vec<Refusal>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct LastHour {
    #[serde(rename = "2xx", default)]
    pub ok: u64,
    #[serde(rename = "4xx", default)]
    pub client: u64,
    #[serde(rename = "5xx", default)]
    pub server: u64,
}

/// A refused SCIM request: never its body.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Refusal {
    pub at: String,
    pub status: u16,
    #[serde(rename = "scimType", default)]
    pub scim_type: Option<String>,
    #[serde(default)]
    pub detail: String,
    pub method: String,
    pub path: String,
}

/// A token as issued: the only time its secret is seen. Debug redacts it so that a log line
/// or a panic message never carries it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct IssuedToken {
    pub id: String,
    pub label: String,
    pub token: String,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub scim_url: Option<String>,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("id", &self.id)
            .field("label", &self.label)
            .field("token", &"<redacted>")
            .field("scim_url", &self.scim_url)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AdminToken {
    pub id: String,
    pub label: String,
    pub email: String,
    pub created_at: String,
    #[serde(default)]
    pub last_used_at: Option<String>,
}

/// A stack role with the names, so that a client needs no joins.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
pub struct StackRoleRef {
    pub stack_uid: String,
    pub stack_name: String,
    pub role_uid: String,
    pub role_name: String,
}

/// A stack role as a mapping stores it: uids only.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
pub struct StackRoleKey {
    pub stack_uid: String,
    pub role_uid: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Access {
    pub org_role: OrgRole,
    #[serde(default)]
    pub stack_roles: Vec<StackRoleRef>,
}

/// granted → requested; a `None` org role means no membership.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Diff {
    pub org_role_from: Option<OrgRole>,
    pub org_role_to: Option<OrgRole>,
    #[serde(default)]
    pub stack_gains: Vec<StackRoleRef>,
    #[serde(default)]
    pub stack_losses: Vec<StackRoleRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PersonRef {
    pub email: String,
    #[serde(default)]
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ApprovalRequest {
    pub id: String,
    pub member_id: String,
    #[serde(default)]
    pub member: Option<PersonRef>,
    pub kind: RequestKind,
    pub state: RequestState,
    pub version: i64,
    pub diff: Diff,
    pub created_at: String,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub decided_by: Option<String>,
    #[serde(default)]
    pub decided_at: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GroupRef {
    pub id: String,
    pub display_name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberSource {
    Scim,
    Manual,
}

/// A `/users` item: one membership.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Member {
    pub id: String,
    pub email: String,
    #[serde(default)]
    pub display_name: Option<String>,
    pub state: MemberState,
    pub source: MemberSource,
    #[serde(default)]
    pub groups: Vec<GroupRef>,
    #[serde(default)]
    pub granted: Option<Access>,
    #[serde(default)]
    pub requested: Option<Access>,
    #[serde(default)]
    pub request: Option<ApprovalRequest>,
    /// For a rejected member: who rejected it, when and why.
    #[serde(default)]
    pub rejection: Option<Rejection>,
    pub created_at: String,
    #[serde(default)]
    pub updated_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Rejection {
    pub request_id: String,
    #[serde(default)]
    pub decided_by: Option<String>,
    #[serde(default)]
    pub decided_at: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// `GET /users` narrowed by text and state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserQuery {
    pub filter: Option<String>,
    pub state: Option<MemberState>,
    /// The column the list is in order of (email when `None`), and whether backwards.
    pub sort: Option<UserSort>,
    pub desc: bool,
    pub page: PageReq,
}

/// A column `/users` sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserSort {
    Email,
    Name,
    State,
    Created,
}

impl UserSort {
    pub fn as_str(self) -> &'static str {
        match self {
            UserSort::Email => "email",
            UserSort::Name => "name",
            UserSort::State => "state",
            UserSort::Created => "created",
        }
    }
}

/// A role in an explanation: the org role or one stack role.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum RoleRef {
    Stack(StackRoleRef),
    Org { org_role: OrgRole },
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Via {
    Group {
        group_id: String,
        group_name: String,
    },
    Manual,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RoleExplanation {
    pub role: RoleRef,
    pub granted: bool,
    pub requested: bool,
    #[serde(default)]
    pub via: Vec<Via>,
}

/// `GET /users/{id}/access`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MemberAccess {
    pub member: Member,
    pub roles: Vec<RoleExplanation>,
}

/// `DELETE /users/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Removal {
    pub member: Member,
    #[serde(default)]
    pub warnings: Vec<Warning>,
}

/// Approve and reject answer with the decided request and the member as it now is.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Decision {
    pub request: ApprovalRequest,
    pub member: Member,
}

/// `GET /roles`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrgRoleInfo {
    pub uid: String,
    pub name: String,
    pub mappable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StackRoleInfo {
    pub uid: String,
    pub name: String,
    #[serde(default)]
    pub builtin: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Stack {
    pub uid: String,
    pub name: String,
    #[serde(default)]
    pub roles: Vec<StackRoleInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Mapping {
    pub group_id: String,
    pub group_name: String,
    pub org_role: OrgRole,
    #[serde(default)]
    pub stack_roles: Vec<StackRoleRef>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub updated_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Group {
    pub id: String,
    pub display_name: String,
    pub member_count: u64,
    #[serde(default)]
    pub mapping: Option<Mapping>,
}

/// The body of `PUT /group-mappings/{id}` and of a save preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MappingBody {
    pub org_role: OrgRole,
    pub stack_roles: Vec<StackRoleKey>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub struct Applied {
    pub granted_changes: u64,
    pub pending_changes: u64,
}

/// `PUT /group-mappings/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SavedMapping {
    #[serde(flatten)]
    pub mapping: Mapping,
    #[serde(default)]
    pub applied: Applied,
}

/// What a preview is asked about: a save with this body, or a deletion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreviewOf {
    Save(MappingBody),
    Delete,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GrantedChange {
    pub member_id: String,
    pub email: String,
    pub diff: Diff,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PendingChange {
    pub member_id: String,
    pub email: String,
    pub request_id: String,
    pub before: Diff,
    /// `None` when the edit leaves nothing to approve (the request is superseded).
    #[serde(default)]
    pub after: Option<Diff>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RoleCount {
    pub role: RoleRef,
    pub gain: u64,
    pub lose: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PreviewCounts {
    pub members: u64,
    pub granted_changes: u64,
    pub pending_changes: u64,
    #[serde(default)]
    pub roles: Vec<RoleCount>,
}

/// `POST /group-mappings/{id}/preview`: the lists are capped, the counts are complete.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Preview {
    #[serde(default)]
    pub granted_changes: Vec<GrantedChange>,
    #[serde(default)]
    pub pending_changes: Vec<PendingChange>,
    pub counts: PreviewCounts,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AuditEvent {
    pub id: String,
    pub at: String,
    pub actor: String,
    pub action: String,
    #[serde(default)]
    pub target: Option<String>,
    /// What the target is called now (a member's email, a group's or stack's name, a
    /// token's label); absent when it is gone or has no name.
    #[serde(default)]
    pub target_name: Option<String>,
    #[serde(default)]
    pub before: Option<Value>,
    #[serde(default)]
    pub after: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub action: Option<String>,
    /// A member, group, stack or request id; a member's includes its approval requests.
    pub target: Option<String>,
    /// RFC 3339 time or date, inclusive.
    pub since: Option<String>,
    /// RFC 3339 time or date, exclusive.
    pub until: Option<String>,
    pub page: PageReq,
}
