//! The store that `--db` names: SQLite or PostgreSQL behind one type, so that the server,
//! the command line and the tests are built once and choose at run time.

use super::*;
use crate::store::access_types;

#[derive(Clone, Debug)]
pub enum AnyStore {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// Runs `$e` with `$s` bound to the store inside, whichever engine it is.
macro_rules! on {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            AnyStore::Sqlite($s) => $e,
            AnyStore::Postgres($s) => $e,
        }
    };
}

impl AnyStore {
    /// Opens (creating a SQLite file if missing) and migrates the database `target` names.
    pub async fn open(target: &DbTarget) -> StoreResult<AnyStore> {
        Ok(match target {
            DbTarget::Sqlite(path) => AnyStore::Sqlite(SqliteStore::open(path).await?),
            DbTarget::Postgres(url) => AnyStore::Postgres(PgStore::open(url).await?),
        })
    }

    /// `sqlite` or `postgres`.
    pub fn engine(&self) -> &'static str {
        match self {
            AnyStore::Sqlite(_) => "sqlite",
            AnyStore::Postgres(_) => "postgres",
        }
    }

    /// The access the org's group mappings imply for every SCIM User in a mapped group.
    pub async fn org_effective_access(
        &self,
        org_id: i64,
    ) -> StoreResult<std::collections::HashMap<String, crate::domain::access::Access>> {
        on!(self, s => s.org_effective_access(org_id).await)
    }

    /// Closes every connection (SQLite's writer last, which checkpoints the WAL).
    pub async fn close(&self) {
        on!(self, s => s.close().await)
    }
}

impl OrgStore for AnyStore {
    async fn ready(&self) -> StoreResult<()> {
        on!(self, s => s.ready().await)
    }

    fn stats(&self) -> StoreStats {
        on!(self, s => s.stats())
    }

    fn is_shared(&self) -> bool {
        on!(self, s => s.is_shared())
    }

    async fn add_request_counts(&self, counts: &[RequestCount]) -> StoreResult<Vec<RequestCount>> {
        on!(self, s => s.add_request_counts(counts).await)
    }

    async fn create_org(&self, name: &str, owner_email: &str) -> StoreResult<(Org, IssuedToken)> {
        on!(self, s => s.create_org(name, owner_email).await)
    }

    async fn org_by_uid(&self, uid: &str) -> StoreResult<Option<Org>> {
        on!(self, s => s.org_by_uid(uid).await)
    }

    async fn org_by_name(&self, name: &str) -> StoreResult<Option<Org>> {
        on!(self, s => s.org_by_name(name).await)
    }

    async fn org_counts(&self, org_id: i64) -> StoreResult<OrgCounts> {
        on!(self, s => s.org_counts(org_id).await)
    }

    async fn update_scim_settings(
        &self,
        org_id: i64,
        patch: &ScimSettingsPatch,
        actor: &str,
    ) -> StoreResult<ScimSettings> {
        on!(self, s => s.update_scim_settings(org_id, patch, actor).await)
    }

    async fn create_scim_token(
        &self,
        org_id: i64,
        label: &str,
        actor: &str,
    ) -> StoreResult<IssuedToken> {
        on!(self, s => s.create_scim_token(org_id, label, actor).await)
    }

    async fn create_admin_token(
        &self,
        org_id: i64,
        email: &str,
        label: &str,
        actor: &str,
    ) -> StoreResult<IssuedToken> {
        on!(self, s => s.create_admin_token(org_id, email, label, actor).await)
    }

    async fn list_scim_tokens(
        &self,
        org_id: i64,
        limit: u64,
        cursor: Option<&str>,
    ) -> StoreResult<CursorPage<TokenInfo>> {
        on!(self, s => s.list_scim_tokens(org_id, limit, cursor).await)
    }

    async fn revoke_scim_token(
        &self,
        org_id: i64,
        token_id: &str,
        actor: &str,
    ) -> StoreResult<bool> {
        on!(self, s => s.revoke_scim_token(org_id, token_id, actor).await)
    }

    async fn authenticate_scim(&self, token: &str) -> StoreResult<Option<ScimPrincipal>> {
        on!(self, s => s.authenticate_scim(token).await)
    }

    async fn authenticate_admin(&self, token: &str) -> StoreResult<Option<AdminPrincipal>> {
        on!(self, s => s.authenticate_admin(token).await)
    }

    async fn list_admin_tokens(
        &self,
        org_id: i64,
        limit: u64,
        cursor: Option<&str>,
    ) -> StoreResult<CursorPage<AdminTokenInfo>> {
        on!(self, s => s.list_admin_tokens(org_id, limit, cursor).await)
    }

    async fn revoke_admin_token(
        &self,
        org_id: i64,
        token_id: &str,
        actor: &str,
    ) -> StoreResult<bool> {
        on!(self, s => s.revoke_admin_token(org_id, token_id, actor).await)
    }
}

impl ScimStore for AnyStore {
    async fn get_resource(
        &self,
        kind: Kind,
        org_id: i64,
        id: &str,
        with_members: bool,
    ) -> StoreResult<Option<ResourceRecord>> {
        on!(self, s => s.get_resource(kind, org_id, id, with_members).await)
    }

    async fn list_resources(
        &self,
        kind: Kind,
        org_id: i64,
        spec: ListSpec<'_>,
    ) -> Result<ResourcePage, StoreError> {
        on!(self, s => s.list_resources(kind, org_id, spec).await)
    }

    async fn create_resources(
        &self,
        org_id: i64,
        items: Vec<NewResource>,
        actor: &str,
    ) -> Vec<StoreResult<WriteOutcome>> {
        on!(self, s => s.create_resources(org_id, items, actor).await)
    }

    async fn create_resource(
        &self,
        kind: Kind,
        org_id: i64,
        resource: Value,
        members: Vec<String>,
        actor: &str,
    ) -> StoreResult<WriteOutcome> {
        on!(self, s => s.create_resource(kind, org_id, resource, members, actor).await)
    }

    async fn update_resource<F>(
        &self,
        kind: Kind,
        org_id: i64,
        id: &str,
        load_members: bool,
        actor: &str,
        decide: F,
    ) -> StoreResult<WriteOutcome>
    where
        F: FnOnce(&ResourceRecord) -> Result<Change, ScimError> + Send,
    {
        on!(self, s => s.update_resource(kind, org_id, id, load_members, actor, decide).await)
    }

    async fn delete_resource<F>(
        &self,
        kind: Kind,
        org_id: i64,
        id: &str,
        actor: &str,
        check: F,
    ) -> StoreResult<()>
    where
        F: FnOnce(&ResourceRecord) -> Result<(), ScimError> + Send,
    {
        on!(self, s => s.delete_resource(kind, org_id, id, actor, check).await)
    }

    async fn provisioning_states(
        &self,
        org_id: i64,
        ids: &[String],
    ) -> StoreResult<std::collections::HashMap<String, access_types::ProvisioningState>> {
        on!(self, s => s.provisioning_states(org_id, ids).await)
    }
}

impl AccessStore for AnyStore {
    async fn list_stacks(&self, org_id: i64) -> StoreResult<Vec<access_types::Stack>> {
        on!(self, s => s.list_stacks(org_id).await)
    }

    async fn create_stack(
        &self,
        org_id: i64,
        name: &str,
        actor: &str,
    ) -> StoreResult<access_types::Stack> {
        on!(self, s => s.create_stack(org_id, name, actor).await)
    }

    async fn stack_roles(
        &self,
        org_id: i64,
        stack_uid: &str,
    ) -> StoreResult<Vec<access_types::RoleInfo>> {
        on!(self, s => s.stack_roles(org_id, stack_uid).await)
    }

    async fn create_stack_role(
        &self,
        org_id: i64,
        stack_uid: &str,
        name: &str,
        actor: &str,
    ) -> StoreResult<access_types::RoleInfo> {
        on!(self, s => s.create_stack_role(org_id, stack_uid, name, actor).await)
    }

    async fn rename_stack(
        &self,
        org_id: i64,
        stack_uid: &str,
        name: &str,
        actor: &str,
    ) -> StoreResult<access_types::Stack> {
        on!(self, s => s.rename_stack(org_id, stack_uid, name, actor).await)
    }

    async fn rename_stack_role(
        &self,
        org_id: i64,
        stack_uid: &str,
        role_uid: &str,
        name: &str,
        actor: &str,
    ) -> StoreResult<access_types::RoleInfo> {
        on!(self, s => s.rename_stack_role(org_id, stack_uid, role_uid, name, actor).await)
    }

    async fn list_groups(
        &self,
        org_id: i64,
        filter: Option<&str>,
        limit: u64,
        cursor: Option<&str>,
    ) -> StoreResult<CursorPage<access_types::GroupInfo>> {
        on!(self, s => s.list_groups(org_id, filter, limit, cursor).await)
    }

    async fn get_mapping(
        &self,
        org_id: i64,
        group_id: &str,
    ) -> StoreResult<Option<access_types::Mapping>> {
        on!(self, s => s.get_mapping(org_id, group_id).await)
    }

    async fn set_mapping(
        &self,
        org_id: i64,
        group_id: &str,
        input: Option<&access_types::MappingInput>,
        actor: &str,
    ) -> StoreResult<(Option<access_types::Mapping>, access_types::MappingImpact)> {
        on!(self, s => s.set_mapping(org_id, group_id, input, actor).await)
    }

    async fn preview_mapping(
        &self,
        org_id: i64,
        group_id: &str,
        input: Option<&access_types::MappingInput>,
    ) -> StoreResult<access_types::MappingImpact> {
        on!(self, s => s.preview_mapping(org_id, group_id, input).await)
    }

    async fn list_members(
        &self,
        org_id: i64,
        query: &access_types::MemberQuery,
    ) -> StoreResult<CursorPage<access_types::MemberInfo>> {
        on!(self, s => s.list_members(org_id, query).await)
    }

    async fn member_access(
        &self,
        org_id: i64,
        id: &str,
    ) -> StoreResult<Option<access_types::MemberAccess>> {
        on!(self, s => s.member_access(org_id, id).await)
    }

    async fn remove_member(
        &self,
        org_id: i64,
        id: &str,
        actor: &str,
    ) -> StoreResult<access_types::MemberInfo> {
        on!(self, s => s.remove_member(org_id, id, actor).await)
    }

    async fn list_approvals(
        &self,
        org_id: i64,
        state: Option<crate::domain::approval::RequestState>,
        limit: u64,
        cursor: Option<&str>,
    ) -> StoreResult<CursorPage<access_types::ApprovalRequest>> {
        on!(self, s => s.list_approvals(org_id, state, limit, cursor).await)
    }

    async fn decide_approval(
        &self,
        org_id: i64,
        request_id: &str,
        decision: &access_types::Decision,
        seen_version: u64,
        actor: &str,
    ) -> StoreResult<access_types::DecisionOutcome> {
        on!(self, s => s.decide_approval(org_id, request_id, decision, seen_version, actor).await)
    }
}

impl AuditStore for AnyStore {
    async fn list_audit(
        &self,
        org_id: i64,
        q: AuditQuery<'_>,
    ) -> StoreResult<CursorPage<AuditEvent>> {
        on!(self, s => s.list_audit(org_id, q).await)
    }

    async fn export_rows(&self, org_id: i64, audit_limit: u64) -> StoreResult<export::ExportRows> {
        on!(self, s => s.export_rows(org_id, audit_limit).await)
    }
}
