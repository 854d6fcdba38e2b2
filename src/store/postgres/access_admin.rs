//! Stacks, roles, group mappings, members and the approval queue on PostgreSQL: the admin API.
//! (Being written: every function answers "not yet".)

use super::PgStore;
use crate::domain::approval::RequestState;
use crate::store::access_types::*;
use crate::store::{CursorPage, StoreError, StoreResult};
use std::collections::HashMap;

fn not_yet<T>(what: &str) -> StoreResult<T> {
    Err(StoreError::Db(format!("{what}: not yet on PostgreSQL")))
}

pub(crate) async fn list_stacks(_store: &PgStore, _org_id: i64) -> StoreResult<Vec<Stack>> {
    not_yet("list_stacks")
}

pub(crate) async fn create_stack(
    _store: &PgStore,
    _org_id: i64,
    _name: &str,
    _actor: &str,
) -> StoreResult<Stack> {
    not_yet("create_stack")
}

pub(crate) async fn stack_roles(
    _store: &PgStore,
    _org_id: i64,
    _stack_uid: &str,
) -> StoreResult<Vec<RoleInfo>> {
    not_yet("stack_roles")
}

pub(crate) async fn create_stack_role(
    _store: &PgStore,
    _org_id: i64,
    _stack_uid: &str,
    _name: &str,
    _actor: &str,
) -> StoreResult<RoleInfo> {
    not_yet("create_stack_role")
}

pub(crate) async fn list_groups(
    _store: &PgStore,
    _org_id: i64,
    _filter: Option<&str>,
    _limit: u64,
    _cursor: Option<&str>,
) -> StoreResult<CursorPage<GroupInfo>> {
    not_yet("list_groups")
}

pub(crate) async fn get_mapping(
    _store: &PgStore,
    _org_id: i64,
    _group_id: &str,
) -> StoreResult<Option<Mapping>> {
    not_yet("get_mapping")
}

pub(crate) async fn set_mapping(
    _store: &PgStore,
    _org_id: i64,
    _group_id: &str,
    _input: Option<&MappingInput>,
    _actor: &str,
) -> StoreResult<(Option<Mapping>, MappingImpact)> {
    not_yet("set_mapping")
}

pub(crate) async fn preview_mapping(
    _store: &PgStore,
    _org_id: i64,
    _group_id: &str,
    _input: Option<&MappingInput>,
) -> StoreResult<MappingImpact> {
    not_yet("preview_mapping")
}

pub(crate) async fn list_members(
    _store: &PgStore,
    _org_id: i64,
    _query: &MemberQuery,
) -> StoreResult<CursorPage<MemberInfo>> {
    not_yet("list_members")
}

pub(crate) async fn member_access(
    _store: &PgStore,
    _org_id: i64,
    _id: &str,
) -> StoreResult<Option<MemberAccess>> {
    not_yet("member_access")
}

pub(crate) async fn remove_member(
    _store: &PgStore,
    _org_id: i64,
    _id: &str,
    _actor: &str,
) -> StoreResult<MemberInfo> {
    not_yet("remove_member")
}

pub(crate) async fn list_approvals(
    _store: &PgStore,
    _org_id: i64,
    _state: Option<RequestState>,
    _limit: u64,
    _cursor: Option<&str>,
) -> StoreResult<CursorPage<ApprovalRequest>> {
    not_yet("list_approvals")
}

pub(crate) async fn decide(
    _store: &PgStore,
    _org_id: i64,
    _request_id: &str,
    _decision: &Decision,
    _seen_version: u64,
    _actor: &str,
) -> StoreResult<DecisionOutcome> {
    not_yet("decide")
}

pub(crate) async fn provisioning_states(
    _store: &PgStore,
    _ids: &[String],
) -> StoreResult<HashMap<String, ProvisioningState>> {
    not_yet("provisioning_states")
}

pub(crate) async fn org_effective_access(
    _store: &PgStore,
    _org_id: i64,
) -> StoreResult<HashMap<String, crate::domain::access::Access>> {
    not_yet("org_effective_access")
}
