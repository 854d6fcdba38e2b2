//! The snapshot format: one JSON document that holds an organization's access picture at one
//! moment, for offline review and diffs. Versioned; never holds a secret (tokens appear as
//! labels only). The shapes of members, mappings and requests are those of the admin API, so
//! a reader of one reads the other.
//!
//! Within a format version, fields may be added (readers ignore what they do not know);
//! removing or changing the meaning of a field needs a new `format_version`.

use crate::domain::access::OrgRole;
use crate::domain::approval::{MemberState, RequestKind, RequestState};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

pub mod assemble;
pub mod diff;
pub mod file;

pub use assemble::{assemble, export};
pub use diff::{SnapshotDiff, diff};

pub const FORMAT: &str = "scimdesk-snapshot";
/// The newest format this binary writes and reads.
pub const FORMAT_VERSION: u64 = 1;
/// How many audit events, newest first, a snapshot carries.
pub const AUDIT_EVENTS: u64 = 1_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub format: String,
    pub format_version: u64,
    pub exported_at: String,
    pub server: ServerInfo,
    pub org: OrgInfo,
    pub scim: ScimSettings,
    #[serde(default)]
    pub admin_tokens: Vec<AdminTokenLabel>,
    #[serde(default)]
    pub stacks: Vec<Stack>,
    #[serde(default)]
    pub groups: Vec<Group>,
    #[serde(default)]
    pub mappings: Vec<Mapping>,
    #[serde(default)]
    pub members: Vec<Member>,
    /// The requests still pending at export time, oldest first.
    #[serde(default)]
    pub requests: Vec<ApprovalRequest>,
    /// The most recent audit events (at most [`AUDIT_EVENTS`]), newest first.
    #[serde(default)]
    pub audit: Vec<AuditEvent>,
    /// What the server told the exporting client about its SCIM endpoint; absent in files
    /// written before it was recorded (they open as before: `review` says it is not there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery: Option<Discovery>,
}

/// The SCIM endpoint as the server served it at export: the URL to give the IdP and its
/// ServiceProviderConfig, each as the server said it (absent when it did not say).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Discovery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scim_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_provider_config: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgInfo {
    pub uid: String,
    pub name: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimSettings {
    pub enabled: bool,
    pub sso_role_mapping: bool,
    pub approval: Approval,
    pub user_name_is_email: bool,
    /// SCIM tokens by label: who may provision, never how.
    #[serde(default)]
    pub tokens: Vec<TokenLabel>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub provision: bool,
    pub access_increase: bool,
    pub deprovision: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenLabel {
    pub id: String,
    pub label: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminTokenLabel {
    pub id: String,
    pub label: String,
    pub email: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stack {
    pub uid: String,
    pub name: String,
    pub roles: Vec<StackRoleDef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackRoleDef {
    pub uid: String,
    pub name: String,
    pub builtin: bool,
}

/// A SCIM group and its members (SCIM User ids = member ids).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub id: String,
    pub display_name: String,
    pub members: Vec<String>,
}

/// A stack role with the names a reader shows, as in the admin API.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StackRoleRef {
    pub stack_uid: String,
    pub stack_name: String,
    pub role_uid: String,
    pub role_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    pub group_id: String,
    pub group_name: String,
    pub org_role: OrgRole,
    pub stack_roles: Vec<StackRoleRef>,
    pub updated_at: Option<String>,
    pub updated_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    pub org_role: OrgRole,
    pub stack_roles: Vec<StackRoleRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRef {
    pub id: String,
    pub display_name: String,
}

/// A membership, as `/users` lists it (the open request is in [`Snapshot::requests`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub id: String,
    pub email: String,
    pub display_name: Option<String>,
    pub state: MemberState,
    pub source: String,
    pub groups: Vec<GroupRef>,
    /// In force; `None` when the member has no access (pending, removed...).
    pub granted: Option<Access>,
    /// What the IdP's groups and the mappings imply; `None` when not SCIM-managed or gone.
    pub requested: Option<Access>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diff {
    pub org_role_from: Option<OrgRole>,
    pub org_role_to: Option<OrgRole>,
    pub stack_gains: Vec<StackRoleRef>,
    pub stack_losses: Vec<StackRoleRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberBrief {
    pub email: String,
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    pub id: String,
    pub member_id: String,
    pub member: MemberBrief,
    pub kind: RequestKind,
    pub state: RequestState,
    pub version: i64,
    pub diff: Diff,
    pub created_at: String,
    pub updated_at: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: String,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Why bytes are not a snapshot this binary can open. Positions are 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotError {
    /// Not JSON: damaged at this position.
    Corrupt {
        line: usize,
        column: usize,
        message: String,
    },
    /// The JSON stops before the document ends (an interrupted copy or download).
    Truncated { line: usize, column: usize },
    /// JSON, but not a scimdesk snapshot.
    NotASnapshot,
    /// A snapshot from a newer scimdesk.
    TooNew { found: u64, supported: u64 },
    /// A snapshot whose content does not fit the format (a hand edit, a bug).
    Invalid {
        line: usize,
        column: usize,
        message: String,
    },
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::Corrupt {
                line,
                column,
                message,
            } => write!(
                f,
                "the snapshot is corrupt at line {line}, column {column} ({message}): export it again"
            ),
            SnapshotError::Truncated { line, column } => write!(
                f,
                "the snapshot is truncated: it ends at line {line}, column {column} before the \
                 document is complete; copy or export it again"
            ),
            SnapshotError::NotASnapshot => write!(
                f,
                "not a scimdesk snapshot: the file is JSON but has no \"format\": \"{FORMAT}\"; \
                 export one with `scimdesk export --out FILE`"
            ),
            SnapshotError::TooNew { found, supported } => write!(
                f,
                "the snapshot has format_version {found}, newer than this scimdesk reads \
                 (format_version {supported}): upgrade scimdesk to open it"
            ),
            SnapshotError::Invalid {
                line,
                column,
                message,
            } => write!(
                f,
                "the snapshot does not fit format_version {FORMAT_VERSION} at line {line}, \
                 column {column}: {message}"
            ),
        }
    }
}

impl std::error::Error for SnapshotError {}

/// What identifies a snapshot; read first so that a file from a newer scimdesk is refused
/// for its version, not for a field it does not know.
#[derive(Deserialize)]
struct Header {
    format: Option<Value>,
    format_version: Option<Value>,
}

fn position_error(e: &serde_json::Error) -> SnapshotError {
    use serde_json::error::Category;
    // serde_json says column 0 for an empty input; positions here are 1-based.
    let (line, column) = (e.line().max(1), e.column().max(1));
    match e.classify() {
        Category::Eof => SnapshotError::Truncated { line, column },
        Category::Data => SnapshotError::Invalid {
            line,
            column,
            message: without_position(e),
        },
        Category::Syntax | Category::Io => SnapshotError::Corrupt {
            line,
            column,
            message: without_position(e),
        },
    }
}

/// serde_json appends " at line L column C", which the error already says its own way.
fn without_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Reads and validates a snapshot.
pub fn read(bytes: &[u8]) -> Result<Snapshot, SnapshotError> {
    // serde reads a struct from an array too (by position), so anything but an object is
    // checked for being JSON at all and then refused as another document.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            Ok(_) => Err(SnapshotError::NotASnapshot),
            Err(e) => Err(position_error(&e)),
        };
    }
    let header: Header = match serde_json::from_slice(bytes) {
        Ok(h) => h,
        // An object whose "format" is not even a string or number: some other document.
        Err(e) if e.classify() == serde_json::error::Category::Data => {
            return Err(SnapshotError::NotASnapshot);
        }
        Err(e) => return Err(position_error(&e)),
    };
    if header.format.as_ref().and_then(Value::as_str) != Some(FORMAT) {
        return Err(SnapshotError::NotASnapshot);
    }
    match header.format_version.as_ref().and_then(Value::as_u64) {
        Some(v) if v > FORMAT_VERSION => {
            return Err(SnapshotError::TooNew {
                found: v,
                supported: FORMAT_VERSION,
            });
        }
        Some(v) if v >= 1 => {}
        _ => {
            return Err(SnapshotError::Invalid {
                line: 1,
                column: 1,
                message: format!(
                    "format_version must be a whole number from 1 to {FORMAT_VERSION}, found {}",
                    header
                        .format_version
                        .map_or("nothing".to_string(), |v| v.to_string())
                ),
            });
        }
    }
    serde_json::from_slice(bytes).map_err(|e| position_error(&e))
}

/// The snapshot as compact JSON.
pub fn to_bytes(s: &Snapshot) -> Vec<u8> {
    // Serializing these types cannot fail: every map key is a string.
    serde_json::to_vec(s).expect("a snapshot serializes")
}

impl Snapshot {
    /// An empty snapshot of `org`, stamped with this binary and `exported_at`.
    pub fn new(org: OrgInfo, scim: ScimSettings, exported_at: String) -> Snapshot {
        Snapshot {
            format: FORMAT.to_string(),
            format_version: FORMAT_VERSION,
            exported_at,
            server: ServerInfo {
                name: "scimdesk".to_string(),
                version: env!("CARGO_PKG_VERSION").to_string(),
            },
            org,
            scim,
            admin_tokens: Vec::new(),
            stacks: Vec::new(),
            groups: Vec::new(),
            mappings: Vec::new(),
            members: Vec::new(),
            requests: Vec::new(),
            audit: Vec::new(),
            discovery: None,
        }
    }
}

#[cfg(test)]
mod tests;
