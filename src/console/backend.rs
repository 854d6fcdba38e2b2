//! Where the console's data comes from. The effects task is the only caller: update never
//! touches a backend. Every request is one `Call` and every answer one `Reply`, so that tests
//! can stand in a fake backend and update tests can compare the calls a key press asks for.

use super::changes::Changes;
use crate::client::{
    AdminClient, ApiError, ApprovalRequest, AuditEvent, AuditQuery, Decision, Group, IssuedToken,
    Mapping, MappingBody, Member, MemberAccess, OrgInfo, OrgRoleInfo, Page, PageReq, Preview,
    PreviewOf, Removal, SavedMapping, ScimSettings, ScimSettingsPatch, ScimToken, Stack,
    StackRoleInfo, UserQuery,
};
use crate::domain::approval::RequestState;
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// One admin API request, as data.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    Org,
    ScimSettings,
    PatchScim(ScimSettingsPatch),
    ScimTokens(PageReq),
    /// IdP activity of the org's SCIM tokens.
    ScimActivity,
    CreateScimToken {
        label: String,
    },
    RevokeScimToken {
        id: String,
    },
    /// The SCIM ServiceProviderConfig of the org, for the SCIM pane's summary.
    ServiceProviderConfig,
    Roles,
    Stacks(PageReq),
    CreateStack {
        name: String,
    },
    CreateRole {
        stack_uid: String,
        name: String,
    },
    RenameStack {
        stack_uid: String,
        name: String,
    },
    RenameRole {
        stack_uid: String,
        role_uid: String,
        name: String,
    },
    Groups {
        filter: Option<String>,
        page: PageReq,
    },
    Mapping {
        group_id: String,
    },
    PutMapping {
        group_id: String,
        body: MappingBody,
    },
    DeleteMapping {
        group_id: String,
    },
    Preview {
        group_id: String,
        of: PreviewOf,
    },
    Users(UserQuery),
    MemberAccess {
        member_id: String,
    },
    RemoveMember {
        member_id: String,
    },
    Approvals {
        state: Option<RequestState>,
        page: PageReq,
    },
    Approve {
        request_id: String,
        version: i64,
    },
    Reject {
        request_id: String,
        version: i64,
        reason: String,
    },
    /// The audit log, newest first, narrowed by the query.
    Audit(AuditQuery),
    Export,
}

impl Call {
    /// Whether the call changes something on the server. A read-only backend refuses these,
    /// and the keymap drops the bindings that would send them.
    pub fn mutates(&self) -> bool {
        matches!(
            self,
            Call::PatchScim(_)
                | Call::CreateScimToken { .. }
                | Call::RevokeScimToken { .. }
                | Call::PutMapping { .. }
                | Call::DeleteMapping { .. }
                | Call::RemoveMember { .. }
                | Call::Approve { .. }
                | Call::Reject { .. }
                | Call::CreateStack { .. }
                | Call::CreateRole { .. }
                | Call::RenameStack { .. }
                | Call::RenameRole { .. }
        )
    }
}

/// The answer to a `Call`, variant for variant.
#[derive(Debug, Clone, PartialEq)]
// Messages are moved once from the effects task to a pane, never stored in bulk, so a
// boxed variant would cost an allocation per reply for nothing.
#[allow(clippy::large_enum_variant)]
pub enum Reply {
    Org(OrgInfo),
    ScimSettings(ScimSettings),
    ScimTokens(Page<ScimToken>),
    ScimActivity(crate::client::ScimActivity),
    CreatedScimToken(IssuedToken),
    Done,
    /// The org's discovery document as the server serves it (`doc`), or `Null` with a
    /// `note` that says why there is none (a snapshot that did not record it); a `note` beside
    /// a document says where it comes from (recorded at export).
    ServiceProviderConfig {
        doc: Value,
        note: Option<String>,
    },
    Roles(Page<OrgRoleInfo>),
    Stacks(Page<Stack>),
    Stack(Stack),
    Role(StackRoleInfo),
    Groups(Page<Group>),
    Mapping(Option<Mapping>),
    SavedMapping(SavedMapping),
    Preview(Preview),
    Users(Page<Member>),
    MemberAccess(MemberAccess),
    Removed(Removal),
    Approvals(Page<ApprovalRequest>),
    Decision(Decision),
    Audit(Page<AuditEvent>),
    Export(Value),
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A source of console data: the live admin API, or a snapshot file.
pub trait Backend: Send + Sync + 'static {
    /// The server, for the header (an origin, or a file name for a snapshot).
    fn server(&self) -> String;
    fn org(&self) -> String;
    /// A read-only backend refuses every call whose `mutates()` is true.
    fn read_only(&self) -> bool;
    fn call(&self, call: Call) -> BoxFuture<'_, Result<Reply, ApiError>>;
    /// What changed since an older snapshot, when the backend is a snapshot reviewed
    /// `--against` one; computed once, shared by the header, the overlay and the panes.
    fn changes(&self) -> Option<Arc<Changes>> {
        None
    }
    /// When a snapshot backend's file was exported (the header says so instead of "online").
    fn exported_at(&self) -> Option<String> {
        None
    }
}

/// The admin API of a running service provider.
pub struct LiveBackend {
    client: AdminClient,
}

impl LiveBackend {
    pub fn new(client: AdminClient) -> LiveBackend {
        LiveBackend { client }
    }
}

impl Backend for LiveBackend {
    fn server(&self) -> String {
        self.client.server()
    }
    fn org(&self) -> String {
        self.client.org_uid().to_string()
    }
    fn read_only(&self) -> bool {
        false
    }
    fn call(&self, call: Call) -> BoxFuture<'_, Result<Reply, ApiError>> {
        Box::pin(async move {
            let c = &self.client;
            Ok(match call {
                Call::Org => Reply::Org(c.org().await?),
                Call::ScimSettings => Reply::ScimSettings(c.scim_settings().await?),
                Call::PatchScim(p) => Reply::ScimSettings(c.patch_scim(&p).await?),
                Call::ScimTokens(p) => Reply::ScimTokens(c.scim_tokens(&p).await?),
                Call::ScimActivity => Reply::ScimActivity(c.scim_activity().await?),
                Call::CreateScimToken { label } => {
                    Reply::CreatedScimToken(c.create_scim_token(&label).await?)
                }
                Call::RevokeScimToken { id } => {
                    c.revoke_scim_token(&id).await?;
                    Reply::Done
                }
                // What the server serves, never a default of this build's: an older server
                // without the route says so (the card shows the error).
                Call::ServiceProviderConfig => Reply::ServiceProviderConfig {
                    doc: c.scim_discovery().await?,
                    note: None,
                },
                Call::Roles => Reply::Roles(c.roles().await?),
                Call::Stacks(p) => Reply::Stacks(c.stacks(&p).await?),
                Call::Groups { filter, page } => {
                    Reply::Groups(c.groups(filter.as_deref(), &page).await?)
                }
                Call::Mapping { group_id } => Reply::Mapping(c.mapping(&group_id).await?),
                Call::PutMapping { group_id, body } => {
                    Reply::SavedMapping(c.put_mapping(&group_id, &body).await?)
                }
                Call::DeleteMapping { group_id } => {
                    c.delete_mapping(&group_id).await?;
                    Reply::Done
                }
                Call::Preview { group_id, of } => Reply::Preview(c.preview(&group_id, &of).await?),
                Call::Users(q) => Reply::Users(c.users(&q).await?),
                Call::MemberAccess { member_id } => {
                    Reply::MemberAccess(c.member_access(&member_id).await?)
                }
                Call::RemoveMember { member_id } => {
                    Reply::Removed(c.remove_member(&member_id).await?)
                }
                Call::Approvals { state, page } => {
                    Reply::Approvals(c.approvals(state, &page).await?)
                }
                Call::Approve {
                    request_id,
                    version,
                } => Reply::Decision(c.approve(&request_id, version).await?),
                Call::Reject {
                    request_id,
                    version,
                    reason,
                } => Reply::Decision(c.reject(&request_id, version, &reason).await?),
                Call::Audit(q) => Reply::Audit(c.audit(&q).await?),
                Call::CreateStack { name } => Reply::Stack(c.create_stack(&name).await?),
                Call::CreateRole { stack_uid, name } => {
                    Reply::Role(c.create_stack_role(&stack_uid, &name).await?)
                }
                Call::RenameStack { stack_uid, name } => {
                    Reply::Stack(c.rename_stack(&stack_uid, &name).await?)
                }
                Call::RenameRole {
                    stack_uid,
                    role_uid,
                    name,
                } => Reply::Role(c.rename_stack_role(&stack_uid, &role_uid, &name).await?),
                Call::Export => Reply::Export(c.export().await?),
            })
        })
    }
}
