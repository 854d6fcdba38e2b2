//! The snapshot of an org on PostgreSQL. (Being written: answers "not yet".)

use super::PgStore;
use crate::snapshot::Snapshot;
use crate::store::{StoreError, StoreResult};

pub(super) async fn snapshot(_store: &PgStore, _org_id: i64) -> StoreResult<Snapshot> {
    Err(StoreError::Db("snapshot: not yet on PostgreSQL".into()))
}
