//! SCIM Users and Groups on PostgreSQL. (Being written: every function answers "not yet".)

use super::PgStore;
use crate::scim::ScimError;
use crate::store::*;

fn not_yet<T>(what: &str) -> StoreResult<T> {
    Err(StoreError::Db(format!("{what}: not yet on PostgreSQL")))
}

pub(crate) async fn get(
    _store: &PgStore,
    _kind: Kind,
    _org_id: i64,
    _id: &str,
    _with_members: bool,
) -> StoreResult<Option<ResourceRecord>> {
    not_yet("get_resource")
}

pub(crate) async fn list(
    _store: &PgStore,
    _kind: Kind,
    _org_id: i64,
    _spec: ListSpec<'_>,
) -> StoreResult<Page<ResourceRecord>> {
    not_yet("list_resources")
}

pub(crate) async fn create(
    _store: &PgStore,
    _kind: Kind,
    _org_id: i64,
    _resource: Value,
    _members: Vec<String>,
    _actor: &str,
) -> StoreResult<WriteOutcome> {
    not_yet("create_resource")
}

pub(crate) async fn update<F>(
    _store: &PgStore,
    _kind: Kind,
    _org_id: i64,
    _id: &str,
    _load: bool,
    _actor: &str,
    _decide: F,
) -> StoreResult<WriteOutcome>
where
    F: FnOnce(&ResourceRecord) -> Result<Change, ScimError> + Send,
{
    not_yet("update_resource")
}

pub(crate) async fn delete<F>(
    _store: &PgStore,
    _kind: Kind,
    _org_id: i64,
    _id: &str,
    _actor: &str,
    _check: F,
) -> StoreResult<()>
where
    F: FnOnce(&ResourceRecord) -> Result<(), ScimError> + Send,
{
    not_yet("delete_resource")
}
