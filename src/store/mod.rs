//! Persistence behind one trait. The server speaks only to [`Store`]; `sqlite` is the embedded
//! implementation, `postgres` the one that several `serve` replicas share, and [`AnyStore`]
//! the one of the two that `--db` names ([`DbTarget`]).
//!
//! Every write method runs as one transaction that also records its audit event, so a
//! resource, its member rows and its audit entry are committed together or not at all.
//! Read-modify-write methods take a closure that runs inside that transaction on the current
//! row, which is how concurrent PATCHes to one resource never lose an update.

pub(crate) mod access_rules;
pub mod access_types;
pub mod acting;
pub mod address_keys;
pub mod admin_types;
pub mod any;
pub mod copy;
pub mod export;
pub mod postgres;
pub(crate) mod scim_rows;
pub mod secret;
pub mod sqlite;
pub mod target;
#[doc(hidden)]
pub mod testing;

use crate::scim::ScimError;
use crate::scim::cursor::{KeyValue, Position};
use crate::scim::filter::Filter;
use crate::scim::path::AttrPath;
use serde_json::Value;
use std::fmt;
use std::future::Future;

pub use admin_types::{AdminTokenInfo, AuditEvent, AuditQuery};
pub use any::AnyStore;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use target::DbTarget;

#[derive(Debug)]
pub enum StoreError {
    NotFound(String),
    /// A uniqueness rule was broken (userName in an org, an account already a member...).
    Conflict(String),
    /// A rule checked inside a write (If-Match, a PATCH that does not apply) refused it.
    Rejected(ScimError),
    /// The database failed; the message is for logs, not for clients.
    Db(String),
    /// The database cannot be reached right now (restarting, connections exhausted, a
    /// deadlock it broke): the request may succeed if sent again. HTTP answers 503 with
    /// `Retry-After`; the message is for logs.
    Unavailable(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::NotFound(m) => write!(f, "not found: {m}"),
            StoreError::Conflict(m) => write!(f, "conflict: {m}"),
            StoreError::Rejected(e) => write!(f, "rejected: {e}"),
            StoreError::Db(m) => write!(f, "database error: {m}"),
            StoreError::Unavailable(m) => write!(f, "database unavailable: {m}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// How [`StoreError::schema_mismatch`]'s message starts.
const SCHEMA_MISMATCH: &str = "schema version mismatch: ";

impl StoreError {
    /// A schema version other than the binary's: another release migrated the database.
    pub fn schema_mismatch(found: i64, expected: i64) -> StoreError {
        StoreError::Unavailable(format!(
            "{SCHEMA_MISMATCH}the database is at schema version {found}; this binary expects \
             {expected}"
        ))
    }

    /// What `GET /readyz` tells an unauthenticated caller about a store that is not ready: a
    /// schema version other than the binary's is named (an operator must act: another
    /// release migrated the database); any other failure only by its kind, its details going
    /// to the log.
    pub fn readiness_reason(&self) -> String {
        match self {
            StoreError::Unavailable(m) if m.starts_with(SCHEMA_MISMATCH) => m.clone(),
            StoreError::Unavailable(_) => "database unreachable".into(),
            _ => "database error".into(),
        }
    }

    /// A list cursor that the list never returned (a 400, never a silent restart).
    pub fn bad_cursor() -> StoreError {
        StoreError::Rejected(ScimError::invalid_value(
            "cursor: not a cursor this list returned; start again without one",
        ))
    }
}

impl From<ScimError> for StoreError {
    fn from(e: ScimError) -> Self {
        StoreError::Rejected(e)
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

// Roles, member states and the approval policy are the domain's own types.
pub use crate::domain::access::OrgRole;
pub use crate::domain::approval::{ApprovalPolicy, MemberState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScimSettings {
    pub enabled: bool,
    pub sso_role_mapping: bool,
    pub approval: ApprovalPolicy,
    /// userName must be an email equal to the primary email (the product rule). Turning it
    /// off accepts any userName, for clients whose userName is not an email; the account is
    /// then keyed by the userName as sent.
    pub user_name_is_email: bool,
}

impl Default for ScimSettings {
    fn default() -> Self {
        ScimSettings {
            enabled: false,
            sso_role_mapping: false,
            approval: ApprovalPolicy::default(),
            user_name_is_email: true,
        }
    }
}

impl ScimSettings {
    /// These settings with `patch` merged in (nested approval flags included).
    pub fn patched(&self, patch: &ScimSettingsPatch) -> ScimSettings {
        let mut s = *self;
        let set = |v: &mut bool, p: Option<bool>| *v = p.unwrap_or(*v);
        set(&mut s.enabled, patch.enabled);
        set(&mut s.sso_role_mapping, patch.sso_role_mapping);
        set(&mut s.approval.provision, patch.approval_provision);
        set(
            &mut s.approval.access_increase,
            patch.approval_access_increase,
        );
        set(&mut s.approval.deprovision, patch.approval_deprovision);
        set(&mut s.user_name_is_email, patch.user_name_is_email);
        s
    }

    /// The settings as the audit log records them.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "enabled": self.enabled,
            "sso_role_mapping": self.sso_role_mapping,
            "approval": {
                "provision": self.approval.provision,
                "access_increase": self.approval.access_increase,
                "deprovision": self.approval.deprovision,
            },
            "user_name_is_email": self.user_name_is_email,
        })
    }
}

/// last_used_at is refreshed at most this often, so that authenticating is not a write on
/// every request.
const LAST_USED_GRANULARITY_MS: i128 = 60_000;

/// Whether a token's last_used_at is older than the refresh granularity.
pub(crate) fn last_use_is_stale(
    last_used: Option<&str>,
    now: crate::scim::datetime::Instant,
) -> bool {
    match last_used.and_then(crate::scim::datetime::parse) {
        Some(t) => now.0 - t.0 >= LAST_USED_GRANULARITY_MS * 1_000_000,
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_used_refreshes_at_most_once_a_minute() {
        let now = crate::scim::datetime::parse("2026-01-01T00:10:00Z").unwrap();
        assert!(last_use_is_stale(None, now));
        assert!(last_use_is_stale(Some("2026-01-01T00:09:00.000Z"), now));
        assert!(!last_use_is_stale(Some("2026-01-01T00:09:30.000Z"), now));
        assert!(last_use_is_stale(Some("garbage"), now));
    }

    #[test]
    fn readiness_names_a_schema_mismatch_and_hides_other_details() {
        let e = StoreError::schema_mismatch(7, 6);
        assert_eq!(
            e.readiness_reason(),
            "schema version mismatch: the database is at schema version 7; this binary expects 6"
        );
        let e = StoreError::Unavailable("connection refused to 10.0.0.5:5432".into());
        assert_eq!(e.readiness_reason(), "database unreachable");
        assert_eq!(
            StoreError::Db("relation x".into()).readiness_reason(),
            "database error"
        );
    }

    #[test]
    fn both_engines_share_one_schema_version_line() {
        assert_eq!(sqlite::SCHEMA_VERSION, postgres::SCHEMA_VERSION);
    }
}

/// What a store reports for `/metrics`: read from counters it keeps anyway, no I/O.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Connections lent to requests now (SQLite: its read connections; PostgreSQL: the pool's).
    pub connections_in_use: u32,
    /// Connections open and waiting for a request.
    pub connections_idle: u32,
    /// The most connections the pool opens.
    pub connections_max: u32,
    /// Writes waiting for SQLite's one write connection (jobs and lent writes that the
    /// group-commit writer has not taken up yet). `None` on PostgreSQL: sqlx's pool does not
    /// say how many requests wait for a connection.
    pub writes_waiting: Option<u64>,
}

/// Requests of one token in one rate-limit window, as replicas add them up (see
/// [`Store::add_request_counts`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestCount {
    pub token_id: String,
    /// The window's number: its start in seconds since the epoch, divided by its length.
    pub window: u64,
    pub n: u64,
}

/// A partial update of [`ScimSettings`]: `None` keeps the current value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScimSettingsPatch {
    pub enabled: Option<bool>,
    pub sso_role_mapping: Option<bool>,
    pub approval_provision: Option<bool>,
    pub approval_access_increase: Option<bool>,
    pub approval_deprovision: Option<bool>,
    pub user_name_is_email: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    pub id: i64,
    pub uid: String,
    pub name: String,
    pub scim: ScimSettings,
    pub created_at: String,
    /// The key of the org's audit event ids (see `domain::audit_ids`); never shown.
    pub audit_key: AuditKey,
}

/// An org's audit id key: 32 hex digits, kept out of `Debug` output.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AuditKey(pub String);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(..)")
    }
}

impl Org {
    /// The audit event ids this org sees.
    pub fn audit_ids(&self) -> crate::domain::audit_ids::AuditIds {
        crate::domain::audit_ids::AuditIds::new(&self.audit_key.0)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgCounts {
    pub members: u64,
    pub scim_users: u64,
    pub scim_groups: u64,
    pub scim_tokens: u64,
}

/// A freshly minted token: the only moment its secret exists outside the client.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub id: String,
    pub label: String,
    pub token: String,
    pub created_at: String,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("id", &self.id)
            .field("label", &self.label)
            .field("token", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: String,
    pub label: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

/// The caller behind a valid SCIM token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimPrincipal {
    /// The token's org, read in the same query as the token.
    pub org: Org,
    pub token_id: String,
    pub label: String,
}

/// The caller behind a valid admin token: one membership, whose current role decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminPrincipal {
    /// The membership's org, read in the same query as the token.
    pub org: Org,
    pub membership_id: String,
    pub email: String,
    pub role: OrgRole,
    pub state: MemberState,
    pub token_id: String,
}

/// A page of results plus the full match count.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
}

/// A page of SCIM resources, with the sort key of each as the store compares it (what a
/// cursor records of the row it stops at).
#[derive(Debug, Clone)]
pub struct ResourcePage {
    pub items: Vec<ResourceRecord>,
    /// The full match count (whatever the seek).
    pub total: u64,
    /// One per item; [`KeyValue::Null`] for each when the list is in id order.
    pub keys: Vec<KeyValue>,
}

/// A cursor-paged admin list.
#[derive(Debug, Clone)]
pub struct CursorPage<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub next: Option<String>,
}

/// A stored SCIM resource without `id`/`meta` in its JSON (those are rendered from columns).
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceRecord {
    pub id: String,
    pub resource: Value,
    pub version: i64,
    pub created: String,
    pub last_modified: String,
    /// Group members (value = SCIM User id, display), when they were asked for.
    pub members: Option<Vec<MemberRef>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRef {
    pub id: String,
    pub display: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    User,
    Group,
}

/// What a list query asks of the store. The filter is translated to SQL by the store (it
/// knows its columns); a filter it cannot translate is a 400 `invalidFilter`.
#[derive(Debug, Clone, Copy)]
pub struct ListSpec<'a> {
    pub filter: Option<&'a Filter>,
    pub sort_by: Option<&'a AttrPath>,
    pub descending: bool,
    /// 0-based.
    pub offset: u64,
    pub limit: u64,
    pub with_members: bool,
    /// Keyset paging instead of (or with) an offset.
    pub seek: Option<Seek<'a>>,
}

/// Keyset paging (the cursors of RFC 9865): the rows strictly after `at` in the list's order,
/// or strictly before it when `backward`, then returned nearest first (so in reverse order).
/// Without `at`, from the start (or, backward, from the end). Rows order by the sort key, with
/// missing values last in either direction, then by id ascending.
#[derive(Debug, Clone, Copy)]
pub struct Seek<'a> {
    pub at: Option<&'a Position>,
    pub backward: bool,
}

/// A change to a group's member set, applied as row inserts and deletes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberOp {
    Add(Vec<String>),
    Remove(Vec<String>),
    RemoveAll,
    ReplaceAll(Vec<String>),
}

/// One resource to create (see [`Store::create_resources`]).
#[derive(Debug, Clone, PartialEq)]
pub struct NewResource {
    pub kind: Kind,
    /// Canonical, without members.
    pub resource: Value,
    /// A group's member ids.
    pub members: Vec<String>,
}

/// What an update closure decides, given the current record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Change {
    /// The new canonical resource (without members, id and meta); `None` keeps it.
    pub resource: Option<Value>,
    /// Member-set changes for a group, in order.
    pub members: Vec<MemberOp>,
}

/// The result of a write: the record after it (members not loaded), and any member ids that
/// were skipped because no such user exists in the org.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteOutcome {
    pub record: ResourceRecord,
    pub skipped_members: Vec<String>,
    pub changed: bool,
}

/// Persistence for organizations, tokens, SCIM resources, access and the audit log: the four
/// traits below, one per concern, which each engine implements (`sqlite/`, `postgres/`, and
/// `any.rs`, the choice made at run time). Code that needs all of them asks for [`Store`];
/// code that uses one concern can ask for that trait alone.
///
/// `actor` names who did a write, for the audit log: a SCIM token's label or an admin's email.
pub trait Store: OrgStore + ScimStore + AccessStore + AuditStore + Clone + 'static {}

impl<T: OrgStore + ScimStore + AccessStore + AuditStore + Clone + 'static> Store for T {}

/// The store's traits, for code that calls a store's methods on a concrete type:
/// `use scimdesk::store::prelude::*;`.
pub mod prelude {
    pub use super::{AccessStore, AuditStore, OrgStore, ScimStore, Store};
}

/// Organizations, their SCIM settings and tokens, and what the server asks of the database
/// itself (readiness, pool figures, the shared rate-limit tally).
pub trait OrgStore: Send + Sync {
    /// Whether the database answers and holds the schema version this binary migrates to
    /// (`GET /readyz`): one cheap query, no write.
    fn ready(&self) -> impl Future<Output = StoreResult<()>> + Send;

    /// Connections and queued writes, for `/metrics`: cheap, no I/O.
    fn stats(&self) -> StoreStats;

    /// Whether other processes may serve this database at the same time (PostgreSQL), so
    /// that what one process counts for the per-token rate limit must be added up with theirs.
    fn is_shared(&self) -> bool;

    /// Adds this process's request counts to the tally that every process serving the
    /// database shares, and returns the tallies after the addition, one per count given (in
    /// any order). Called about once a second, never per request, and only when
    /// [`OrgStore::is_shared`]; counts of windows that have ended may be forgotten. A store that
    /// is not shared returns nothing: its own counts are the whole tally.
    fn add_request_counts(
        &self,
        counts: &[RequestCount],
    ) -> impl Future<Output = StoreResult<Vec<RequestCount>>> + Send;

    fn create_org(
        &self,
        name: &str,
        owner_email: &str,
    ) -> impl Future<Output = StoreResult<(Org, IssuedToken)>> + Send;

    fn org_by_uid(&self, uid: &str) -> impl Future<Output = StoreResult<Option<Org>>> + Send;

    fn org_by_name(&self, name: &str) -> impl Future<Output = StoreResult<Option<Org>>> + Send;

    fn org_counts(&self, org_id: i64) -> impl Future<Output = StoreResult<OrgCounts>> + Send;

    fn update_scim_settings(
        &self,
        org_id: i64,
        patch: &ScimSettingsPatch,
        actor: &str,
    ) -> impl Future<Output = StoreResult<ScimSettings>> + Send;

    fn create_scim_token(
        &self,
        org_id: i64,
        label: &str,
        actor: &str,
    ) -> impl Future<Output = StoreResult<IssuedToken>> + Send;

    /// Mints an admin token for the member of `org_id` with this email; NotFound when the
    /// email has no membership there. The token's power follows that member's current role.
    fn create_admin_token(
        &self,
        org_id: i64,
        email: &str,
        label: &str,
        actor: &str,
    ) -> impl Future<Output = StoreResult<IssuedToken>> + Send;

    fn list_scim_tokens(
        &self,
        org_id: i64,
        limit: u64,
        cursor: Option<&str>,
    ) -> impl Future<Output = StoreResult<CursorPage<TokenInfo>>> + Send;

    /// Revokes at once; `false` when no live token of that org has this id.
    fn revoke_scim_token(
        &self,
        org_id: i64,
        token_id: &str,
        actor: &str,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    fn authenticate_scim(
        &self,
        token: &str,
    ) -> impl Future<Output = StoreResult<Option<ScimPrincipal>>> + Send;

    fn authenticate_admin(
        &self,
        token: &str,
    ) -> impl Future<Output = StoreResult<Option<AdminPrincipal>>> + Send;

    /// The live admin tokens of every member of the org, oldest first.
    fn list_admin_tokens(
        &self,
        org_id: i64,
        limit: u64,
        cursor: Option<&str>,
    ) -> impl Future<Output = StoreResult<CursorPage<AdminTokenInfo>>> + Send;

    /// Revokes at once; `false` when no live admin token of that org has this id.
    fn revoke_admin_token(
        &self,
        org_id: i64,
        token_id: &str,
        actor: &str,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
}

/// SCIM Users and Groups: reads, lists and the writes of the SCIM API, each applying the
/// approval rules to the memberships it touches.
pub trait ScimStore: Send + Sync {
    fn get_resource(
        &self,
        kind: Kind,
        org_id: i64,
        id: &str,
        with_members: bool,
    ) -> impl Future<Output = StoreResult<Option<ResourceRecord>>> + Send;

    fn list_resources(
        &self,
        kind: Kind,
        org_id: i64,
        spec: ListSpec<'_>,
    ) -> impl Future<Output = Result<ResourcePage, StoreError>> + Send;

    /// Creates a user (linking the account of its userName, re-linking a deprovisioned
    /// membership) or a group with `members`.
    fn create_resource(
        &self,
        kind: Kind,
        org_id: i64,
        resource: Value,
        members: Vec<String>,
        actor: &str,
    ) -> impl Future<Output = StoreResult<WriteOutcome>> + Send;
    /// Creates several resources for one Bulk request, each as [`Store::create_resource`]
    /// would (same rules, same audit), each succeeding or failing alone; results in the order
    /// given. Engines batch them: SQLite's writer commits concurrent writes together, and
    /// PostgreSQL runs them in one transaction, a savepoint each.
    fn create_resources(
        &self,
        org_id: i64,
        items: Vec<NewResource>,
        actor: &str,
    ) -> impl Future<Output = Vec<StoreResult<WriteOutcome>>> + Send
    where
        Self: Clone + 'static,
    {
        let actor = actor.to_string();
        let store = self.clone();
        async move {
            // Concurrent, so that a writer that batches what waits for it commits them together.
            let mut set = tokio::task::JoinSet::new();
            let n = items.len();
            // Each write checks the request's token again (see `acting`), in its own task too.
            let acting = acting::current();
            for (i, item) in items.into_iter().enumerate() {
                let (store, actor, acting) = (store.clone(), actor.clone(), acting.clone());
                set.spawn(async move {
                    let write = store.create_resource(
                        item.kind,
                        org_id,
                        item.resource,
                        item.members,
                        &actor,
                    );
                    let out = match acting {
                        Some(a) => acting::ACTING.scope(a, write).await,
                        None => write.await,
                    };
                    (i, out)
                });
            }
            let mut out: Vec<Option<StoreResult<WriteOutcome>>> = (0..n).map(|_| None).collect();
            while let Some(joined) = set.join_next().await {
                if let Ok((i, r)) = joined {
                    out[i] = Some(r);
                }
            }
            out.into_iter()
                .map(|r| {
                    r.unwrap_or_else(|| {
                        Err(StoreError::Db("the write stopped unexpectedly".into()))
                    })
                })
                .collect()
        }
    }

    /// Read-modify-write in one transaction. `load_members` loads a group's members into the
    /// record that `decide` sees (only a PATCH that needs the whole list asks for it).
    fn update_resource<F>(
        &self,
        kind: Kind,
        org_id: i64,
        id: &str,
        load_members: bool,
        actor: &str,
        decide: F,
    ) -> impl Future<Output = StoreResult<WriteOutcome>> + Send
    where
        F: FnOnce(&ResourceRecord) -> Result<Change, ScimError> + Send;

    /// Deletes after `check` accepts the current record (If-Match). A user's membership ends
    /// (state deprovisioned); the account stays.
    fn delete_resource<F>(
        &self,
        kind: Kind,
        org_id: i64,
        id: &str,
        actor: &str,
        check: F,
    ) -> impl Future<Output = StoreResult<()>> + Send
    where
        F: FnOnce(&ResourceRecord) -> Result<(), ScimError> + Send;

    /// The provisioning state of the org's SCIM Users (ids not found in the org are absent).
    fn provisioning_states(
        &self,
        org_id: i64,
        ids: &[String],
    ) -> impl Future<
        Output = StoreResult<std::collections::HashMap<String, access_types::ProvisioningState>>,
    > + Send;
}

/// Stacks and their roles, group mappings, members' access and the approval queue (the
/// admin API's access routes).
pub trait AccessStore: Send + Sync {
    fn list_stacks(
        &self,
        org_id: i64,
    ) -> impl Future<Output = StoreResult<Vec<access_types::Stack>>> + Send;

    /// A stack with the three built-in roles.
    fn create_stack(
        &self,
        org_id: i64,
        name: &str,
        actor: &str,
    ) -> impl Future<Output = StoreResult<access_types::Stack>> + Send;

    /// NotFound for an unknown stack.
    fn stack_roles(
        &self,
        org_id: i64,
        stack_uid: &str,
    ) -> impl Future<Output = StoreResult<Vec<access_types::RoleInfo>>> + Send;

    fn create_stack_role(
        &self,
        org_id: i64,
        stack_uid: &str,
        name: &str,
        actor: &str,
    ) -> impl Future<Output = StoreResult<access_types::RoleInfo>> + Send;

    /// NotFound for an unknown stack.
    fn rename_stack(
        &self,
        org_id: i64,
        stack_uid: &str,
        name: &str,
        actor: &str,
    ) -> impl Future<Output = StoreResult<access_types::Stack>> + Send;

    /// NotFound for an unknown stack or role; Conflict for a built-in role.
    fn rename_stack_role(
        &self,
        org_id: i64,
        stack_uid: &str,
        role_uid: &str,
        name: &str,
        actor: &str,
    ) -> impl Future<Output = StoreResult<access_types::RoleInfo>> + Send;

    /// SCIM groups whose display name contains `filter` (any case), by name.
    fn list_groups(
        &self,
        org_id: i64,
        filter: Option<&str>,
        limit: u64,
        cursor: Option<&str>,
    ) -> impl Future<Output = StoreResult<CursorPage<access_types::GroupInfo>>> + Send;

    /// NotFound for an unknown group; `None` for a group without a mapping.
    fn get_mapping(
        &self,
        org_id: i64,
        group_id: &str,
    ) -> impl Future<Output = StoreResult<Option<access_types::Mapping>>> + Send;

    /// Sets (`Some`) or deletes (`None`) a group's mapping and applies its effect at once;
    /// an unknown stack or role, or Owner, is `Rejected`.
    fn set_mapping(
        &self,
        org_id: i64,
        group_id: &str,
        input: Option<&access_types::MappingInput>,
        actor: &str,
    ) -> impl Future<
        Output = StoreResult<(Option<access_types::Mapping>, access_types::MappingImpact)>,
    > + Send;

    /// What `set_mapping` would do, without writing.
    fn preview_mapping(
        &self,
        org_id: i64,
        group_id: &str,
        input: Option<&access_types::MappingInput>,
    ) -> impl Future<Output = StoreResult<access_types::MappingImpact>> + Send;

    fn list_members(
        &self,
        org_id: i64,
        query: &access_types::MemberQuery,
    ) -> impl Future<Output = StoreResult<CursorPage<access_types::MemberInfo>>> + Send;

    fn member_access(
        &self,
        org_id: i64,
        id: &str,
    ) -> impl Future<Output = StoreResult<Option<access_types::MemberAccess>>> + Send;

    /// An admin's removal: state removed, no access, the SCIM User inactive.
    fn remove_member(
        &self,
        org_id: i64,
        id: &str,
        actor: &str,
    ) -> impl Future<Output = StoreResult<access_types::MemberInfo>> + Send;

    /// Requests in `state` (all when `None`), oldest first.
    fn list_approvals(
        &self,
        org_id: i64,
        state: Option<crate::domain::approval::RequestState>,
        limit: u64,
        cursor: Option<&str>,
    ) -> impl Future<Output = StoreResult<CursorPage<access_types::ApprovalRequest>>> + Send;

    fn decide_approval(
        &self,
        org_id: i64,
        request_id: &str,
        decision: &access_types::Decision,
        seen_version: u64,
        actor: &str,
    ) -> impl Future<Output = StoreResult<access_types::DecisionOutcome>> + Send;
}

/// The audit log, and the consistent read of a whole org that an export assembles.
pub trait AuditStore: Send + Sync {
    /// Newest first, narrowed by `q`; `next` is the cursor of the following page.
    fn list_audit(
        &self,
        org_id: i64,
        q: AuditQuery<'_>,
    ) -> impl Future<Output = StoreResult<CursorPage<AuditEvent>>> + Send;

    /// Every row of the org an export needs (no secrets), read consistently at one moment,
    /// with the newest `audit_limit` audit events; `crate::snapshot::export` assembles them.
    fn export_rows(
        &self,
        org_id: i64,
        audit_limit: u64,
    ) -> impl Future<Output = StoreResult<export::ExportRows>> + Send;
}
