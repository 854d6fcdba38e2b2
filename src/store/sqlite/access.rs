//! Stacks, roles, group mappings, granted access and the approval queue in SQLite. The rules
//! live in `domain`; this file loads the state they need, runs them and writes the result.
//!
//! Every helper takes a `&mut SqliteConnection`, so the SCIM write path calls them inside its
//! own transaction, whichever way that transaction was begun.

use super::raw::{self, Stmt};
use super::{SqliteStore, db_err};
use crate::domain::access::{
    Access, GroupMapping, OrgRole, StackRole, apply_admin_edit, effective_access,
};
use crate::domain::approval::{
    self, ApprovalPolicy, Intent, Member, MemberState, OpenRequest, RequestChange, RequestDiff,
    RequestKind, RequestState, Transition,
};
use crate::scim::{ScimError, datetime};
use crate::store::access_types::*;
use crate::store::secret;
use crate::store::{CursorPage, StoreError, StoreResult};
use serde_json::{Value, json};
use sqlx::{Row, SqliteConnection};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Preview lists stop here; counts stay complete.
const PREVIEW_LIST_CAP: usize = 500;

fn ids_json(ids: &[String]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())
}

/// An approval request as stored.
#[derive(Debug, Clone)]
struct StoredRequest {
    id: String,
    kind: RequestKind,
    state: RequestState,
    version: u64,
    diff: RequestDiff,
    created_at: String,
    updated_at: String,
    decided_by: Option<String>,
    decided_at: Option<String>,
    reason: Option<String>,
}

/// Everything the rules need about one membership.
#[derive(Debug, Clone)]
struct MemberRow {
    id: String,
    email: String,
    display_name: Option<String>,
    state: MemberState,
    role: OrgRole,
    scim_source: bool,
    /// The SCIM User's `active`, or `None` when the IdP deleted the user.
    scim_active: Option<bool>,
    granted_stack: BTreeSet<StackRole>,
    groups: Vec<GroupRef>,
    request: Option<StoredRequest>,
    last_rejected: Option<RequestDiff>,
    created_at: String,
    updated_at: String,
}

impl MemberRow {
    fn granted(&self) -> Option<Access> {
        self.state.has_access().then(|| Access {
            org_role: self.role,
            stack_roles: self.granted_stack.clone(),
        })
    }

    fn domain(&self) -> Member {
        Member {
            state: self.state,
            granted: self.granted(),
            request: self.request.as_ref().map(|r| OpenRequest {
                kind: r.kind,
                diff: r.diff.clone(),
                version: r.version,
            }),
            last_rejected: self.last_rejected.clone(),
        }
    }

    /// What the SCIM state and the mappings imply; the owner's own role for manual members.
    fn requested(&self, mappings: &HashMap<String, GroupMapping>) -> Option<Access> {
        if !self.scim_source {
            return self.granted();
        }
        (self.scim_active == Some(true))
            .then(|| effective_access(self.groups.iter().filter_map(|g| mappings.get(&g.id))))
    }

    fn intent(&self, mappings: &HashMap<String, GroupMapping>) -> Intent {
        match self.requested(mappings) {
            Some(a) => Intent::Active(a),
            None => Intent::Inactive,
        }
    }
}

fn parse_diff(text: &str) -> StoreResult<RequestDiff> {
    serde_json::from_str(text).map_err(|e| StoreError::Db(format!("stored diff is not JSON: {e}")))
}

fn request_from_row(r: &sqlx::sqlite::SqliteRow) -> StoreResult<StoredRequest> {
    let kind: String = r.try_get("kind").map_err(db_err)?;
    let state: String = r.try_get("state").map_err(db_err)?;
    let diff: String = r.try_get("diff").map_err(db_err)?;
    let version: i64 = r.try_get("version").map_err(db_err)?;
    Ok(StoredRequest {
        id: r.try_get("id").map_err(db_err)?,
        kind: RequestKind::parse(&kind).ok_or_else(|| StoreError::Db(format!("kind {kind}")))?,
        state: RequestState::parse(&state)
            .ok_or_else(|| StoreError::Db(format!("state {state}")))?,
        version: version as u64,
        diff: parse_diff(&diff)?,
        created_at: r.try_get("created_at").map_err(db_err)?,
        updated_at: r.try_get("updated_at").map_err(db_err)?,
        decided_by: r.try_get("decided_by").map_err(db_err)?,
        decided_at: r.try_get("decided_at").map_err(db_err)?,
        reason: r.try_get("reason").map_err(db_err)?,
    })
}

const REQUEST_COLUMNS: &str = "r.id, r.member_id, r.kind, r.state, r.version, r.diff, \
    r.created_at, r.updated_at, r.decided_by, r.decided_at, r.reason";

/// Which memberships `load_members` reads.
#[derive(Clone, Copy)]
enum Who<'a> {
    /// These ids (those not in the org are absent).
    Ids(&'a [String]),
    /// The members of this SCIM group, for the approval rules only: their groups come as ids
    /// (display names empty, unordered), which spares a join and a sort per membership.
    GroupForRules(&'a str),
}

/// One membership as the member query returns it: the columns, then the granted stack
/// roles, the groups (by name), the open request and the last rejected diff.
type RawMember = (
    String,
    String,
    Option<String>,
    String,
    String,
    String,
    Option<i64>,
    String,
    String,
    Vec<(String, String)>,
    Vec<(String, String)>,
    Option<RawRequest>,
    Option<RequestDiff>,
);

/// id, kind, state, version, diff, created_at, updated_at, decided_by, decided_at, reason.
type RawRequest = (
    String,
    String,
    String,
    i64,
    RequestDiff,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn request_from_raw(r: RawRequest) -> StoreResult<StoredRequest> {
    let (id, kind, state, version, diff, created_at, updated_at, decided_by, decided_at, reason) =
        r;
    Ok(StoredRequest {
        id,
        kind: RequestKind::parse(&kind).ok_or_else(|| StoreError::Db(format!("kind {kind}")))?,
        state: RequestState::parse(&state)
            .ok_or_else(|| StoreError::Db(format!("state {state}")))?,
        version: version as u64,
        diff,
        created_at,
        updated_at,
        decided_by,
        decided_at,
        reason,
    })
}

/// Loads memberships of `org_id`, sorted by id, in ONE statement whatever their count: SQLite
/// builds each member with its granted roles, groups, open request and last rejected diff as
/// one JSON document. sqlx hands rows over one at a time through its connection thread, and
/// each statement is a round trip to that thread; one statement and one row replace five
/// statements and a row per member, per granted role and per group membership (a preview of
/// a 10,000-member group read ~70,000 rows that way).
async fn load_members(
    conn: &mut SqliteConnection,
    org_id: i64,
    who: Who<'_>,
) -> StoreResult<Vec<MemberRow>> {
    const NAMED_GROUPS: &str = "SELECT json_group_array(json_array(g.id, g.display_name)
                 ORDER BY g.display_name, g.id)
          FROM group_members gm JOIN scim_groups g ON g.id = gm.group_id
          WHERE gm.user_id = m.id";
    const GROUP_IDS: &str = "SELECT json_group_array(json_array(gm.group_id, ''))
          FROM group_members gm WHERE gm.user_id = m.id";
    let (which, arg, groups) = match who {
        Who::Ids([]) => return Ok(Vec::new()),
        Who::Ids(ids) => (
            "SELECT value FROM json_each(?1)",
            ids_json(ids),
            NAMED_GROUPS,
        ),
        Who::GroupForRules(g) => (
            "SELECT user_id FROM group_members WHERE group_id = ?1",
            g.to_string(),
            GROUP_IDS,
        ),
    };
    // `+m.org_id`: without statistics SQLite would walk the org's whole (org, account) index
    // and test each id, a scan of every member on each SCIM create; the id key is the way in.
    // Stored diffs are JSON text; json() embeds them as JSON (and refuses a corrupt one).
    let sql = format!(
        "SELECT json_group_array(json_array(
             m.id, a.email, u.display_name, m.state, m.role, m.source, u.active,
             m.created_at, m.updated_at,
             json((SELECT json_group_array(json_array(s.stack_uid, s.role_uid))
                   FROM granted_stack_roles s WHERE s.membership_id = m.id)),
             json(({groups})),
             json((SELECT json_array(r.id, r.kind, r.state, r.version, json(r.diff),
                                     r.created_at, r.updated_at, r.decided_by, r.decided_at,
                                     r.reason)
                   FROM approval_requests r WHERE r.member_id = m.id AND r.state = 'pending')),
             json((SELECT x.diff FROM member_last_rejected x WHERE x.membership_id = m.id))))
         FROM memberships m JOIN accounts a ON a.id = m.account_id
         LEFT JOIN scim_users u ON u.id = m.id
         WHERE m.id IN ({which}) AND +m.org_id = ?2"
    );
    let text: String = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(&arg)
        .bind(org_id)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?;
    let raw: Vec<RawMember> = serde_json::from_str(&text)
        .map_err(|e| StoreError::Db(format!("the member query gave unexpected JSON: {e}")))?;
    let mut out = Vec::with_capacity(raw.len());
    for r in raw {
        let (id, email, display_name, state, role, source, active, created_at, updated_at) =
            (r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8);
        out.push(MemberRow {
            id,
            email,
            display_name,
            state: MemberState::parse(&state).unwrap_or(MemberState::Removed),
            role: OrgRole::parse(&role).unwrap_or(OrgRole::Member),
            scim_source: source == "scim",
            scim_active: active.map(|a| a != 0),
            granted_stack: r
                .9
                .into_iter()
                .map(|(s, ro)| StackRole::new(s, ro))
                .collect(),
            groups: r
                .10
                .into_iter()
                .map(|(id, display_name)| GroupRef { id, display_name })
                .collect(),
            request: r.11.map(request_from_raw).transpose()?,
            last_rejected: r.12,
            created_at,
            updated_at,
        });
    }
    out.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// group id, org role, stack roles.
type RawMapping = (String, String, Vec<(String, String)>);

/// The mappings of the given groups (unmapped groups are simply absent), in one statement.
async fn load_mappings(
    conn: &mut SqliteConnection,
    group_ids: &BTreeSet<&str>,
) -> StoreResult<HashMap<String, GroupMapping>> {
    if group_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let arr = serde_json::to_string(group_ids).unwrap_or_else(|_| "[]".into());
    let text: String = sqlx::query_scalar(
        "SELECT json_group_array(json_array(mp.group_id, mp.org_role,
                  json((SELECT json_group_array(json_array(r.stack_uid, r.role_uid))
                        FROM group_mapping_roles r WHERE r.group_id = mp.group_id))))
         FROM group_mappings mp WHERE mp.group_id IN (SELECT value FROM json_each(?))",
    )
    .bind(&arr)
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    let raw: Vec<RawMapping> = serde_json::from_str(&text)
        .map_err(|e| StoreError::Db(format!("the mapping query gave unexpected JSON: {e}")))?;
    Ok(raw
        .into_iter()
        .map(|(group_id, role, roles)| {
            let m = GroupMapping {
                group_id: group_id.clone(),
                org_role: OrgRole::parse(&role).unwrap_or(OrgRole::Member),
                stack_roles: roles
                    .into_iter()
                    .map(|(s, r)| StackRole::new(s, r))
                    .collect(),
            };
            (group_id, m)
        })
        .collect())
}

async fn mappings_for(
    conn: &mut SqliteConnection,
    rows: &[MemberRow],
) -> StoreResult<HashMap<String, GroupMapping>> {
    let groups: BTreeSet<&str> = rows
        .iter()
        .flat_map(|r| r.groups.iter().map(|g| g.id.as_str()))
        .collect();
    load_mappings(conn, &groups).await
}

async fn policy_of(conn: &mut SqliteConnection, org_id: i64) -> StoreResult<ApprovalPolicy> {
    let r = sqlx::query(
        "SELECT approval_provision, approval_access_increase, approval_deprovision
         FROM organizations WHERE id = ?",
    )
    .bind(org_id)
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(ApprovalPolicy {
        provision: r.try_get(0).map_err(db_err)?,
        access_increase: r.try_get(1).map_err(db_err)?,
        deprovision: r.try_get(2).map_err(db_err)?,
    })
}

async fn audit(
    conn: &mut SqliteConnection,
    org_id: i64,
    actor: &str,
    action: &str,
    target: &str,
    before: Option<&Value>,
    after: Option<&Value>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO audit_log (org_id, at, actor, action, target, before, after)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(org_id)
    .bind(datetime::now_rfc3339())
    .bind(actor)
    .bind(action)
    .bind(target)
    .bind(before.map(|v| v.to_string()))
    .bind(after.map(|v| v.to_string()))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

fn access_json(state: MemberState, granted: Option<&Access>) -> Value {
    json!({"state": state.as_str(), "granted": granted})
}

/// Writes a transition of one member: state, granted access, and the open request. Audits
/// what changed. Returns whether anything did.
async fn persist(
    conn: &mut SqliteConnection,
    org_id: i64,
    row: &MemberRow,
    t: &Transition,
    actor: &str,
    now: &str,
) -> StoreResult<bool> {
    let (changed, stmts) = persist_plan(org_id, row, t, actor, now)?;
    raw::run_sqlx(conn, &stmts).await?;
    Ok(changed)
}

/// The statements that write a transition of one member (see [`persist`]), and whether
/// anything changes. Each is one round trip through sqlx.
fn persist_plan(
    org_id: i64,
    row: &MemberRow,
    t: &Transition,
    actor: &str,
    now: &str,
) -> StoreResult<(bool, Vec<Stmt>)> {
    let before = row.granted();
    let mut changed = false;
    let mut stmts = Vec::new();
    if t.state != row.state || t.granted != before {
        changed = true;
        let role = t.granted.as_ref().map_or(OrgRole::Member, |a| a.org_role);
        let empty = BTreeSet::new();
        let new = t.granted.as_ref().map_or(&empty, |a| &a.stack_roles);
        fn pairs<'a>(roles: impl Iterator<Item = &'a StackRole>) -> Vec<(&'a str, &'a str)> {
            roles
                .map(|r| (r.stack_uid.as_str(), r.role_uid.as_str()))
                .collect()
        }
        let roles = json!({
            "gone": pairs(row.granted_stack.difference(new)),
            "added": pairs(new.difference(&row.granted_stack)),
        });
        // One statement text for the state, the granted roles lost and gained ([stack, role]
        // pairs) and the audit event.
        //
        // Parameters are numbered so that few go unused in any one statement: sqlx binds a
        // statement's unused numbers to its arguments in turn, and once that count passes the
        // number of arguments it stops binding the statement's remaining ones (here at most
        // 3 + 3 + 3 unused for 9 arguments).
        stmts.push(Stmt::new(
            "UPDATE memberships SET state = ?3, role = ?4, updated_at = ?2 WHERE id = ?1;
             DELETE FROM granted_stack_roles WHERE membership_id = ?1 AND (stack_uid, role_uid)
               IN (SELECT value ->> 0, value ->> 1 FROM json_each(?5, '$.gone'));
             INSERT OR IGNORE INTO granted_stack_roles (membership_id, stack_uid, role_uid)
               SELECT ?1, value ->> 0, value ->> 1 FROM json_each(?5, '$.added');
             INSERT INTO audit_log (org_id, at, actor, action, target, before, after)
               VALUES (?6, ?2, ?7, 'access.changed', ?1, ?8, ?9)",
            vec![
                row.id.as_str().into(),
                now.into(),
                t.state.as_str().into(),
                role.as_str().into(),
                roles.to_string().into(),
                org_id.into(),
                actor.into(),
                access_json(row.state, before.as_ref()).to_string().into(),
                access_json(t.state, t.granted.as_ref()).to_string().into(),
            ],
        ));
    }
    match &t.request {
        RequestChange::Keep => {}
        RequestChange::Open { kind, diff } => {
            changed = true;
            if let Some(old) = &row.request {
                stmts.push(supersede(org_id, old, actor, now));
            }
            let id = secret::new_uuid();
            let text = serde_json::to_string(diff).map_err(|e| StoreError::Db(e.to_string()))?;
            let after = json!({"member_id": row.id, "kind": kind, "version": 1, "diff": diff});
            stmts.push(Stmt::new(
                "INSERT INTO approval_requests
                   (id, org_id, member_id, kind, state, version, diff, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, 'pending', 1, ?5, ?6, ?6);
                 INSERT INTO audit_log (org_id, at, actor, action, target, before, after)
                   VALUES (?2, ?6, ?7, 'approval.opened', ?1, NULL, ?8)",
                vec![
                    id.into(),
                    org_id.into(),
                    row.id.as_str().into(),
                    kind.as_str().into(),
                    text.into(),
                    now.into(),
                    actor.into(),
                    after.to_string().into(),
                ],
            ));
        }
        RequestChange::Update { diff } => {
            if let Some(old) = &row.request {
                changed = true;
                let text =
                    serde_json::to_string(diff).map_err(|e| StoreError::Db(e.to_string()))?;
                let before = json!({"version": old.version, "diff": old.diff});
                let after = json!({"version": old.version + 1, "diff": diff});
                stmts.push(Stmt::new(
                    "UPDATE approval_requests SET diff = ?1, version = version + 1, updated_at = ?2
                     WHERE id = ?3;
                     INSERT INTO audit_log (org_id, at, actor, action, target, before, after)
                       VALUES (?4, ?2, ?5, 'approval.updated', ?3, ?6, ?7)",
                    vec![
                        text.into(),
                        now.into(),
                        old.id.as_str().into(),
                        org_id.into(),
                        actor.into(),
                        before.to_string().into(),
                        after.to_string().into(),
                    ],
                ));
            }
        }
        RequestChange::Supersede => {
            if let Some(old) = &row.request {
                changed = true;
                stmts.push(supersede(org_id, old, actor, now));
            }
        }
    }
    Ok((changed, stmts))
}

/// Marks a pending request superseded, and audits it.
fn supersede(org_id: i64, old: &StoredRequest, actor: &str, now: &str) -> Stmt {
    Stmt::new(
        "UPDATE approval_requests SET state = 'superseded', updated_at = ?1 WHERE id = ?2;
         INSERT INTO audit_log (org_id, at, actor, action, target, before, after)
           VALUES (?3, ?1, ?4, 'approval.superseded', ?2, ?5, ?6)",
        vec![
            now.into(),
            old.id.as_str().into(),
            org_id.into(),
            actor.into(),
            json!({"state": "pending", "version": old.version})
                .to_string()
                .into(),
            json!({"state": "superseded", "version": old.version})
                .to_string()
                .into(),
        ],
    )
}

/// Brings SCIM-provisioned memberships in line with what the IdP and the mappings now imply:
/// lowering applies at once, raising waits per the org's policy. Members made outside SCIM are
/// never touched. Called by the SCIM write path, in its transaction, with the memberships the
/// write affected.
pub(crate) async fn reconcile(
    conn: &mut SqliteConnection,
    org_id: i64,
    member_ids: &[String],
    actor: &str,
) -> StoreResult<()> {
    if member_ids.is_empty() {
        return Ok(());
    }
    let rows = load_members(conn, org_id, Who::Ids(member_ids)).await?;
    if rows.iter().all(|r| !r.scim_source) {
        return Ok(());
    }
    let mappings = mappings_for(conn, &rows).await?;
    let policy = policy_of(conn, org_id).await?;
    let now = datetime::now_rfc3339();
    for row in rows.iter().filter(|r| r.scim_source) {
        let t = approval::on_change(&row.domain(), &row.intent(&mappings), &policy);
        persist(conn, org_id, row, &t, actor, &now).await?;
    }
    Ok(())
}

/// `reconcile` for a membership that the SCIM create has just inserted (state pending, role
/// member, source scim): it cannot have groups (its SCIM User is new), granted roles, a
/// request or a rejected diff yet, so nothing is read back; `policy` is the org's, read by
/// the create in the same statement text. The rules and the writes are `reconcile`'s; these
/// are its statements.
pub(crate) fn reconcile_new(
    org_id: i64,
    id: &str,
    active: bool,
    policy: &ApprovalPolicy,
    actor: &str,
    now: &str,
) -> StoreResult<Vec<Stmt>> {
    let row = MemberRow {
        id: id.to_string(),
        email: String::new(),
        display_name: None,
        state: MemberState::Pending,
        role: OrgRole::Member,
        scim_source: true,
        scim_active: Some(active),
        granted_stack: BTreeSet::new(),
        groups: Vec::new(),
        request: None,
        last_rejected: None,
        created_at: now.to_string(),
        updated_at: now.to_string(),
    };
    let t = approval::on_change(&row.domain(), &row.intent(&HashMap::new()), policy);
    Ok(persist_plan(org_id, &row, &t, actor, now)?.1)
}

/// Before a SCIM group is deleted: its mapping goes first, so that its members lose what it
/// gave them in the same transaction.
pub(crate) async fn group_deleting(
    conn: &mut SqliteConnection,
    org_id: i64,
    group_id: &str,
    actor: &str,
) -> StoreResult<()> {
    let deleted = sqlx::query("DELETE FROM group_mappings WHERE group_id = ?")
        .bind(group_id)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    if deleted.rows_affected() == 0 {
        return Ok(());
    }
    let members = group_member_ids(conn, group_id).await?;
    reconcile(conn, org_id, &members, actor).await
}

async fn group_member_ids(conn: &mut SqliteConnection, group_id: &str) -> StoreResult<Vec<String>> {
    sqlx::query_scalar("SELECT user_id FROM group_members WHERE group_id = ?")
        .bind(group_id)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)
}

/// Whether a group has a mapping: member changes of unmapped groups change no access.
pub(crate) async fn is_mapped(conn: &mut SqliteConnection, group_id: &str) -> StoreResult<bool> {
    let hit: Option<i64> = sqlx::query_scalar("SELECT 1 FROM group_mappings WHERE group_id = ?")
        .bind(group_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(hit.is_some())
}

// ---------------------------------------------------------------------------------------
// Names: stack and role uids to what a client shows.

#[derive(Default)]
struct Names {
    roles: HashMap<(String, String), (String, String)>,
}

impl Names {
    async fn load(conn: &mut SqliteConnection, org_id: i64) -> StoreResult<Names> {
        let rows = sqlx::query(
            "SELECT s.uid, s.name, r.uid, r.name FROM stacks s
             JOIN stack_roles r ON r.stack_id = s.id WHERE s.org_id = ?",
        )
        .bind(org_id)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
        let mut roles = HashMap::new();
        for r in &rows {
            roles.insert(
                (
                    r.try_get::<String, _>(0).map_err(db_err)?,
                    r.try_get::<String, _>(2).map_err(db_err)?,
                ),
                (
                    r.try_get::<String, _>(1).map_err(db_err)?,
                    r.try_get::<String, _>(3).map_err(db_err)?,
                ),
            );
        }
        Ok(Names { roles })
    }

    fn stack_ref(&self, sr: &StackRole) -> StackRoleRef {
        let (stack_name, role_name) = self
            .roles
            .get(&(sr.stack_uid.clone(), sr.role_uid.clone()))
            .cloned()
            .unwrap_or_else(|| (sr.stack_uid.clone(), sr.role_uid.clone()));
        StackRoleRef {
            stack_uid: sr.stack_uid.clone(),
            stack_name,
            role_uid: sr.role_uid.clone(),
            role_name,
        }
    }

    fn refs<'a>(&self, srs: impl IntoIterator<Item = &'a StackRole>) -> Vec<StackRoleRef> {
        srs.into_iter().map(|s| self.stack_ref(s)).collect()
    }

    fn access(&self, a: &Access) -> AccessView {
        AccessView {
            org_role: a.org_role,
            stack_roles: self.refs(&a.stack_roles),
        }
    }

    fn diff(&self, d: &RequestDiff) -> DiffView {
        DiffView {
            org_role_from: d.org_role_from,
            org_role_to: d.org_role_to,
            stack_gains: self.refs(&d.stack_gains),
            stack_losses: self.refs(&d.stack_losses),
        }
    }

    fn request(
        &self,
        r: &StoredRequest,
        member_id: &str,
        summary: MemberSummary,
    ) -> ApprovalRequest {
        ApprovalRequest {
            id: r.id.clone(),
            member_id: member_id.to_string(),
            member: summary,
            kind: r.kind,
            state: r.state,
            version: r.version,
            diff: self.diff(&r.diff),
            created_at: r.created_at.clone(),
            updated_at: r.updated_at.clone(),
            decided_by: r.decided_by.clone(),
            decided_at: r.decided_at.clone(),
            reason: r.reason.clone(),
        }
    }

    fn member(&self, row: &MemberRow, mappings: &HashMap<String, GroupMapping>) -> MemberInfo {
        MemberInfo {
            id: row.id.clone(),
            email: row.email.clone(),
            display_name: row.display_name.clone(),
            state: row.state,
            source: if row.scim_source {
                MemberSource::Scim
            } else {
                MemberSource::Manual
            },
            groups: row.groups.clone(),
            granted: row.granted().map(|a| self.access(&a)),
            requested: row.requested(mappings).map(|a| self.access(&a)),
            request: row
                .request
                .as_ref()
                .map(|r| self.request(r, &row.id, summary(row))),
            created_at: row.created_at.clone(),
            updated_at: row.updated_at.clone(),
        }
    }
}

fn summary(row: &MemberRow) -> MemberSummary {
    MemberSummary {
        email: row.email.clone(),
        display_name: row.display_name.clone(),
    }
}

fn bad(message: impl Into<String>) -> StoreError {
    StoreError::Rejected(ScimError::invalid_value(message))
}

// ---------------------------------------------------------------------------------------
// Stacks and roles.

async fn stack_roles_of(conn: &mut SqliteConnection, stack_id: i64) -> StoreResult<Vec<RoleInfo>> {
    let rows = sqlx::query(
        "SELECT uid, name, builtin FROM stack_roles WHERE stack_id = ?
         ORDER BY builtin DESC,
           CASE uid WHEN 'admin' THEN 0 WHEN 'developer' THEN 1 ELSE 2 END, created_at, uid",
    )
    .bind(stack_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    rows.iter()
        .map(|r| {
            Ok(RoleInfo {
                uid: r.try_get(0).map_err(db_err)?,
                name: r.try_get(1).map_err(db_err)?,
                builtin: r.try_get(2).map_err(db_err)?,
            })
        })
        .collect()
}

pub(crate) async fn list_stacks(store: &SqliteStore, org_id: i64) -> StoreResult<Vec<Stack>> {
    let mut conn = store.read().await?;
    let rows = sqlx::query("SELECT id, uid, name FROM stacks WHERE org_id = ? ORDER BY name, uid")
        .bind(org_id)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let id: i64 = r.try_get(0).map_err(db_err)?;
        out.push(Stack {
            uid: r.try_get(1).map_err(db_err)?,
            name: r.try_get(2).map_err(db_err)?,
            roles: stack_roles_of(&mut conn, id).await?,
        });
    }
    Ok(out)
}

fn clean_name(name: &str, what: &str) -> StoreResult<String> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 200 {
        return Err(bad(format!(
            "name: a {what} needs a non-empty name of at most 200 characters"
        )));
    }
    Ok(n.to_string())
}

pub(crate) async fn create_stack(
    store: &SqliteStore,
    org_id: i64,
    name: &str,
    actor: &str,
) -> StoreResult<Stack> {
    let name = clean_name(name, "stack")?;
    let now = datetime::now_rfc3339();
    let uid = format!("st_{}", secret::new_hex_id(8));
    let mut tx = store.begin().await?;
    let stack_id =
        sqlx::query("INSERT INTO stacks (org_id, uid, name, created_at) VALUES (?, ?, ?, ?)")
            .bind(org_id)
            .bind(&uid)
            .bind(&name)
            .bind(&now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .last_insert_rowid();
    for (role_uid, role_name) in crate::domain::access::BUILTIN_STACK_ROLES {
        sqlx::query(
            "INSERT INTO stack_roles (stack_id, uid, name, builtin, created_at) VALUES (?, ?, ?, 1, ?)",
        )
        .bind(stack_id)
        .bind(role_uid)
        .bind(role_name)
        .bind(&now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    }
    let stack = Stack {
        uid: uid.clone(),
        name,
        roles: stack_roles_of(&mut tx, stack_id).await?,
    };
    audit(
        &mut tx,
        org_id,
        actor,
        "stack.create",
        &uid,
        None,
        Some(&json!(stack)),
    )
    .await?;
    tx.commit().await.map_err(db_err)?;
    Ok(stack)
}

async fn stack_id(conn: &mut SqliteConnection, org_id: i64, uid: &str) -> StoreResult<i64> {
    sqlx::query_scalar("SELECT id FROM stacks WHERE org_id = ? AND uid = ?")
        .bind(org_id)
        .bind(uid)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?
        .ok_or_else(|| StoreError::NotFound(format!("no stack '{uid}' in this organization")))
}

pub(crate) async fn stack_roles(
    store: &SqliteStore,
    org_id: i64,
    stack_uid: &str,
) -> StoreResult<Vec<RoleInfo>> {
    let mut conn = store.read().await?;
    let id = stack_id(&mut conn, org_id, stack_uid).await?;
    stack_roles_of(&mut conn, id).await
}

pub(crate) async fn create_stack_role(
    store: &SqliteStore,
    org_id: i64,
    stack_uid: &str,
    name: &str,
    actor: &str,
) -> StoreResult<RoleInfo> {
    let name = clean_name(name, "role")?;
    let now = datetime::now_rfc3339();
    let mut tx = store.begin().await?;
    let id = stack_id(&mut tx, org_id, stack_uid).await?;
    let role = RoleInfo {
        uid: format!("role_{}", secret::new_hex_id(8)),
        name,
        builtin: false,
    };
    sqlx::query(
        "INSERT INTO stack_roles (stack_id, uid, name, builtin, created_at) VALUES (?, ?, ?, 0, ?)",
    )
    .bind(id)
    .bind(&role.uid)
    .bind(&role.name)
    .bind(&now)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    audit(
        &mut tx,
        org_id,
        actor,
        "stack.role.create",
        stack_uid,
        None,
        Some(&json!(role)),
    )
    .await?;
    tx.commit().await.map_err(db_err)?;
    Ok(role)
}

// ---------------------------------------------------------------------------------------
// Groups and mappings.

async fn group_name(
    conn: &mut SqliteConnection,
    org_id: i64,
    group_id: &str,
) -> StoreResult<String> {
    sqlx::query_scalar("SELECT display_name FROM scim_groups WHERE org_id = ? AND id = ?")
        .bind(org_id)
        .bind(group_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?
        .ok_or_else(|| {
            StoreError::NotFound(format!("no SCIM group '{group_id}' in this organization"))
        })
}

async fn mapping_view(
    conn: &mut SqliteConnection,
    names: &Names,
    group_id: &str,
    group_name: &str,
) -> StoreResult<Option<Mapping>> {
    let row = sqlx::query(
        "SELECT org_role, updated_at, updated_by FROM group_mappings WHERE group_id = ?",
    )
    .bind(group_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    let Some(row) = row else { return Ok(None) };
    let one: BTreeSet<&str> = [group_id].into();
    let m = load_mappings(conn, &one).await?;
    let stack_roles = m
        .get(group_id)
        .map(|m| names.refs(&m.stack_roles))
        .unwrap_or_default();
    let role: String = row.try_get(0).map_err(db_err)?;
    Ok(Some(Mapping {
        group_id: group_id.to_string(),
        group_name: group_name.to_string(),
        org_role: OrgRole::parse(&role).unwrap_or(OrgRole::Member),
        stack_roles,
        updated_at: row.try_get(1).map_err(db_err)?,
        updated_by: row.try_get(2).map_err(db_err)?,
    }))
}

pub(crate) async fn get_mapping(
    store: &SqliteStore,
    org_id: i64,
    group_id: &str,
) -> StoreResult<Option<Mapping>> {
    let mut conn = store.read().await?;
    let name = group_name(&mut conn, org_id, group_id).await?;
    let names = Names::load(&mut conn, org_id).await?;
    mapping_view(&mut conn, &names, group_id, &name).await
}

/// Above this many matches a filtered `/users` page walks the email index instead of sorting
/// the matches it read from the trigram index.
const SEARCH_SORT_LIMIT: i64 = 2_000;

/// A filter as an FTS5 phrase for the trigram index: a substring match, case-insensitive.
/// None below three characters, which a trigram index cannot look up.
fn search_phrase(text: &str) -> Option<String> {
    (text.chars().count() >= 3).then(|| format!("\"{}\"", text.replace('"', "\"\"")))
}

fn like_pattern(text: &str) -> String {
    let mut p = String::from("%");
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

pub(crate) async fn list_groups(
    store: &SqliteStore,
    org_id: i64,
    filter: Option<&str>,
    limit: u64,
    cursor: Option<&str>,
) -> StoreResult<CursorPage<GroupInfo>> {
    let mut conn = store.read().await?;
    let pattern = like_pattern(filter.unwrap_or(""));
    let total: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM scim_groups WHERE org_id = ? AND display_name LIKE ? ESCAPE '\\'",
    )
    .bind(org_id)
    .bind(&pattern)
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    // The cursor is the (name, id) of the last group seen, so pages stay stable while groups
    // come and go.
    let (after_name, after_id) = match cursor.and_then(|c| c.split_once('\u{1f}')) {
        Some((n, i)) => (n.to_string(), i.to_string()),
        None => (String::new(), String::new()),
    };
    let rows = sqlx::query(
        "SELECT g.id, g.display_name,
                (SELECT count(*) FROM group_members gm WHERE gm.group_id = g.id)
         FROM scim_groups g
         WHERE g.org_id = ? AND g.display_name LIKE ? ESCAPE '\\'
           AND (g.display_name > ? OR (g.display_name = ? AND g.id > ?))
         ORDER BY g.display_name, g.id LIMIT ?",
    )
    .bind(org_id)
    .bind(&pattern)
    .bind(&after_name)
    .bind(&after_name)
    .bind(&after_id)
    .bind(limit as i64 + 1)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    let names = Names::load(&mut conn, org_id).await?;
    let mut items = Vec::new();
    for r in rows.iter().take(limit as usize) {
        let id: String = r.try_get(0).map_err(db_err)?;
        let display_name: String = r.try_get(1).map_err(db_err)?;
        let count: i64 = r.try_get(2).map_err(db_err)?;
        let mapping = mapping_view(&mut conn, &names, &id, &display_name).await?;
        items.push(GroupInfo {
            id,
            display_name,
            member_count: count as u64,
            mapping,
        });
    }
    let next = (rows.len() as u64 > limit)
        .then(|| {
            items
                .last()
                .map(|g| format!("{}\u{1f}{}", g.display_name, g.id))
        })
        .flatten();
    Ok(CursorPage {
        items,
        total: total as u64,
        next,
    })
}

async fn validate_mapping(
    conn: &mut SqliteConnection,
    org_id: i64,
    input: &MappingInput,
) -> StoreResult<()> {
    if !input.org_role.mappable() {
        return Err(bad(
            "org_role: Owner cannot be mapped from a group; use \"admin\" or \"member\"",
        ));
    }
    for sr in &input.stack_roles {
        let id = stack_id(conn, org_id, &sr.stack_uid).await.map_err(|_| {
            bad(format!(
                "stack_roles: unknown stack '{}' (GET /stacks lists the stacks)",
                sr.stack_uid
            ))
        })?;
        let known: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM stack_roles WHERE stack_id = ? AND uid = ?")
                .bind(id)
                .bind(&sr.role_uid)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_err)?;
        if known.is_none() {
            return Err(bad(format!(
                "stack_roles: unknown role '{}' in stack '{}' (GET /stacks/{}/roles lists them)",
                sr.role_uid, sr.stack_uid, sr.stack_uid
            )));
        }
    }
    Ok(())
}

/// One member's planned change from a mapping edit.
struct Planned {
    row: MemberRow,
    transition: Transition,
}

struct Plan {
    impact: MappingImpact,
    writes: Vec<Planned>,
}

fn role_counts(
    counts: &mut BTreeMap<RoleView, (u64, u64)>,
    names: &Names,
    before: &Access,
    after: &Access,
) {
    if before.org_role != after.org_role {
        let up = after.org_role > before.org_role;
        let role = if up { after.org_role } else { before.org_role };
        let e = counts.entry(RoleView::Org { org_role: role }).or_default();
        if up {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
    }
    for g in after.stack_roles.difference(&before.stack_roles) {
        counts
            .entry(RoleView::Stack(names.stack_ref(g)))
            .or_default()
            .0 += 1;
    }
    for l in before.stack_roles.difference(&after.stack_roles) {
        counts
            .entry(RoleView::Stack(names.stack_ref(l)))
            .or_default()
            .1 += 1;
    }
}

/// What setting (or, with `None`, deleting) a group's mapping does to its members. The same
/// plan serves the preview and the save, so the two cannot disagree.
async fn plan_mapping(
    conn: &mut SqliteConnection,
    org_id: i64,
    group_id: &str,
    new: Option<&GroupMapping>,
) -> StoreResult<Plan> {
    let names = Names::load(conn, org_id).await?;
    let rows = load_members(conn, org_id, Who::GroupForRules(group_id)).await?;
    let old = mappings_for(conn, &rows).await?;
    let mut edited = old.clone();
    match new {
        Some(m) => {
            edited.insert(group_id.to_string(), m.clone());
        }
        None => {
            edited.remove(group_id);
        }
    }
    let policy = policy_of(conn, org_id).await?;
    let mut impact = MappingImpact::default();
    let mut roles: BTreeMap<RoleView, (u64, u64)> = BTreeMap::new();
    let mut writes = Vec::new();
    for row in rows.into_iter().filter(|r| r.scim_source) {
        impact.counts.members += 1;
        let (Some(r0), Some(r1)) = (row.requested(&old), row.requested(&edited)) else {
            continue;
        };
        if r0 == r1 {
            continue;
        }
        role_counts(&mut roles, &names, &r0, &r1);
        let mut member = row.domain();
        let mut t = if row.state == MemberState::Active {
            let g = member.granted.clone().unwrap_or_default();
            member.granted = Some(apply_admin_edit(&g, &r0, &r1));
            approval::on_change(&member, &Intent::Active(r1.clone()), &policy)
        } else {
            let mut t = approval::on_change(&member, &Intent::Active(r1.clone()), &policy);
            t.state = row.state;
            t.granted = row.granted();
            t
        };
        // An admin's edit rewrites requests that are open; it opens none of its own.
        if matches!(t.request, RequestChange::Open { .. }) {
            t.request = RequestChange::Keep;
        }
        let before = row.granted();
        if t.granted != before {
            impact.counts.granted_changes += 1;
            if impact.granted_changes.len() < PREVIEW_LIST_CAP {
                impact.granted_changes.push(GrantedChange {
                    member_id: row.id.clone(),
                    email: row.email.clone(),
                    diff: names.diff(&RequestDiff::between(before.as_ref(), t.granted.as_ref())),
                });
            }
        }
        let after_diff = match &t.request {
            RequestChange::Update { diff } => Some(Some(diff)),
            RequestChange::Supersede => Some(None),
            _ => None,
        };
        if let (Some(after), Some(req)) = (after_diff, &row.request) {
            impact.counts.pending_changes += 1;
            if impact.pending_changes.len() < PREVIEW_LIST_CAP {
                impact.pending_changes.push(PendingChange {
                    member_id: row.id.clone(),
                    email: row.email.clone(),
                    request_id: req.id.clone(),
                    before: names.diff(&req.diff),
                    after: after.map(|d| names.diff(d)),
                });
            }
        }
        writes.push(Planned { row, transition: t });
    }
    impact.counts.roles = roles
        .into_iter()
        .map(|(role, (gain, lose))| RoleCount { role, gain, lose })
        .collect();
    Ok(Plan { impact, writes })
}

fn to_domain_mapping(group_id: &str, input: &MappingInput) -> GroupMapping {
    GroupMapping {
        group_id: group_id.to_string(),
        org_role: input.org_role,
        stack_roles: input.stack_roles.iter().cloned().collect(),
    }
}

pub(crate) async fn preview_mapping(
    store: &SqliteStore,
    org_id: i64,
    group_id: &str,
    input: Option<&MappingInput>,
) -> StoreResult<MappingImpact> {
    let mut conn = store.read().await?;
    group_name(&mut conn, org_id, group_id).await?;
    if let Some(i) = input {
        validate_mapping(&mut conn, org_id, i).await?;
    }
    let new = input.map(|i| to_domain_mapping(group_id, i));
    Ok(plan_mapping(&mut conn, org_id, group_id, new.as_ref())
        .await?
        .impact)
}

/// Saves (or with `None` deletes) a group's mapping and applies its effect at once: an admin
/// edit is a decision. Returns the mapping after the save, and the impact.
pub(crate) async fn set_mapping(
    store: &SqliteStore,
    org_id: i64,
    group_id: &str,
    input: Option<&MappingInput>,
    actor: &str,
) -> StoreResult<(Option<Mapping>, MappingImpact)> {
    let mut tx = store.begin().await?;
    let name = group_name(&mut tx, org_id, group_id).await?;
    if let Some(i) = input {
        validate_mapping(&mut tx, org_id, i).await?;
    }
    let names = Names::load(&mut tx, org_id).await?;
    let before = mapping_view(&mut tx, &names, group_id, &name).await?;
    if input.is_none() && before.is_none() {
        return Err(StoreError::NotFound(format!(
            "the group '{name}' has no mapping"
        )));
    }
    let new = input.map(|i| to_domain_mapping(group_id, i));
    let plan = plan_mapping(&mut tx, org_id, group_id, new.as_ref()).await?;
    let now = datetime::now_rfc3339();
    for w in &plan.writes {
        persist(&mut tx, org_id, &w.row, &w.transition, actor, &now).await?;
    }
    sqlx::query("DELETE FROM group_mappings WHERE group_id = ?")
        .bind(group_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    if let Some(m) = &new {
        sqlx::query(
            "INSERT INTO group_mappings (group_id, org_id, org_role, updated_at, updated_by)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(group_id)
        .bind(org_id)
        .bind(m.org_role.as_str())
        .bind(&now)
        .bind(actor)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        for sr in &m.stack_roles {
            sqlx::query(
                "INSERT INTO group_mapping_roles (group_id, stack_uid, role_uid) VALUES (?, ?, ?)",
            )
            .bind(group_id)
            .bind(&sr.stack_uid)
            .bind(&sr.role_uid)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
    }
    let after = mapping_view(&mut tx, &names, group_id, &name).await?;
    let applied = json!({
        "granted_changes": plan.impact.counts.granted_changes,
        "pending_changes": plan.impact.counts.pending_changes,
    });
    let mut after_json = json!(after);
    if let Some(o) = after_json.as_object_mut() {
        o.insert("applied".into(), applied.clone());
    }
    let (action, after_audit) = match &after {
        Some(_) => ("mapping.update", after_json),
        None => ("mapping.delete", json!({"applied": applied})),
    };
    audit(
        &mut tx,
        org_id,
        actor,
        action,
        group_id,
        before.as_ref().map(|b| json!(b)).as_ref(),
        Some(&after_audit),
    )
    .await?;
    tx.commit().await.map_err(db_err)?;
    Ok((after, plan.impact))
}

/// group id, org role, stack roles, member ids.
type RawMappedGroup = (String, String, Vec<(String, String)>, Vec<String>);

/// The access that the org's mappings imply for every SCIM User in at least one mapped
/// group (the domain's `effective_access` over its mapped groups), by SCIM User id. Members in
/// no mapped group are absent: they have the default Member access.
///
/// The mapped groups come out of SQLite with their stack roles and member ids as one JSON
/// document: one row instead of one per (group, member) pair, which sqlx hands over one at a
/// time through its connection thread (300,000 rows for the bench org).
pub(crate) async fn org_effective_access(
    store: &SqliteStore,
    org_id: i64,
) -> StoreResult<HashMap<String, Access>> {
    let text: String = sqlx::query_scalar(
        "SELECT json_group_array(json_array(mp.group_id, mp.org_role,
                  json((SELECT json_group_array(json_array(r.stack_uid, r.role_uid))
                        FROM group_mapping_roles r WHERE r.group_id = mp.group_id)),
                  json((SELECT json_group_array(gm.user_id)
                        FROM group_members gm WHERE gm.group_id = mp.group_id))))
         FROM group_mappings mp WHERE mp.org_id = ?",
    )
    .bind(org_id)
    .fetch_one(&mut *store.read().await?)
    .await
    .map_err(db_err)?;
    let raw: Vec<RawMappedGroup> = serde_json::from_str(&text).map_err(|e| {
        StoreError::Db(format!("the mapped groups query gave unexpected JSON: {e}"))
    })?;
    drop(text);
    let mut mappings = Vec::with_capacity(raw.len());
    let mut members = Vec::with_capacity(raw.len());
    for (group_id, role, roles, ids) in raw {
        mappings.push(GroupMapping {
            group_id,
            org_role: OrgRole::parse(&role).unwrap_or(OrgRole::Member),
            stack_roles: roles
                .into_iter()
                .map(|(s, r)| StackRole::new(s, r))
                .collect(),
        });
        members.push(ids);
    }
    let mut groups_of: HashMap<&str, Vec<&GroupMapping>> = HashMap::new();
    for (m, ids) in mappings.iter().zip(&members) {
        for id in ids {
            groups_of.entry(id.as_str()).or_default().push(m);
        }
    }
    Ok(groups_of
        .into_iter()
        .map(|(id, ms)| (id.to_string(), effective_access(ms)))
        .collect())
}

// ---------------------------------------------------------------------------------------
// Members.

async fn member_infos(
    conn: &mut SqliteConnection,
    org_id: i64,
    ids: &[String],
) -> StoreResult<Vec<MemberInfo>> {
    let rows = load_members(conn, org_id, Who::Ids(ids)).await?;
    let mappings = mappings_for(conn, &rows).await?;
    let names = Names::load(conn, org_id).await?;
    let mut by_id: HashMap<String, MemberInfo> = rows
        .iter()
        .map(|r| (r.id.clone(), names.member(r, &mappings)))
        .collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

pub(crate) async fn list_members(
    store: &SqliteStore,
    org_id: i64,
    q: &MemberQuery,
) -> StoreResult<CursorPage<MemberInfo>> {
    let mut conn = store.read().await?;
    let pattern = like_pattern(q.filter.as_deref().unwrap_or(""));
    let state = q.state.map(|s| s.as_str());
    const WHERE: &str = "m.org_id = ?1
        AND (?2 = '%%' OR a.email LIKE ?2 ESCAPE '\\' OR u.display_name LIKE ?2 ESCAPE '\\')
        AND (?3 IS NULL OR m.state = ?3)";
    // A filter of three characters or more is looked up in the trigram index (migration 5):
    // the matching members are found without reading every email and name of the org.
    let phrase = q.filter.as_deref().and_then(search_phrase);
    // Without a text filter the count is read from the per-state counts that triggers keep
    // (migration 4), instead of counting the org's 100,000 index entries on every page.
    let count_sql = if q.filter.is_none() {
        "SELECT coalesce(sum(c.n), 0) FROM membership_counts c
         WHERE c.org_id = ?1 AND ?2 = ?2 AND (?3 IS NULL OR c.state = ?3)"
    } else if phrase.is_some() {
        "SELECT count(*) FROM member_search s
         CROSS JOIN member_search_keys k ON k.k = s.rowid
         CROSS JOIN memberships m ON m.id = k.member_id
         WHERE member_search MATCH ?2 AND m.org_id = ?1 AND (?3 IS NULL OR m.state = ?3)"
    } else {
        // Shorter filters: the matching accounts and SCIM Users are found once each (a scan
        // of the email index and of the org's users), then each membership is two lookups in
        // those lists, instead of joining every membership to its account and its SCIM User.
        // A SCIM User's id is its membership's id, so its org is the membership's.
        "SELECT count(*) FROM memberships m
         WHERE m.org_id = ?1 AND (?3 IS NULL OR m.state = ?3)
           AND (m.account_id IN (SELECT id FROM accounts WHERE email LIKE ?2 ESCAPE '\\')
                OR m.id IN (SELECT id FROM scim_users
                            WHERE org_id = ?1 AND display_name LIKE ?2 ESCAPE '\\'))"
    };
    let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql))
        .bind(org_id)
        .bind(phrase.as_deref().unwrap_or(&pattern))
        .bind(state)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?;
    // Ordered by email; the cursor is the last email seen (emails are unique per org).
    let after = q.cursor.clone().unwrap_or_default();
    let ids: Vec<String> = match &phrase {
        // Few matches: read them from the index and sort them.
        Some(phrase) if total <= SEARCH_SORT_LIMIT => sqlx::query_scalar(
            "SELECT m.id FROM member_search s
             CROSS JOIN member_search_keys k ON k.k = s.rowid
             CROSS JOIN memberships m ON m.id = k.member_id
             JOIN accounts a ON a.id = m.account_id
             WHERE member_search MATCH ?2 AND m.org_id = ?1 AND (?3 IS NULL OR m.state = ?3)
               AND a.email > ?4
             ORDER BY a.email LIMIT ?5",
        )
        .bind(org_id)
        .bind(phrase)
        .bind(state)
        .bind(&after)
        .bind(q.limit as i64 + 1)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?,
        // Many matches (or no filter): walk the email index from the cursor and stop at the
        // limit, which finds a page quickly when matches are dense. CROSS JOIN keeps accounts
        // outermost, instead of sorting every member of the org.
        _ => sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT m.id FROM accounts a CROSS JOIN memberships m ON m.account_id = a.id
             LEFT JOIN scim_users u ON u.id = m.id
             WHERE {WHERE} AND a.email > ?4 ORDER BY a.email LIMIT ?5"
        )))
        .bind(org_id)
        .bind(&pattern)
        .bind(state)
        .bind(&after)
        .bind(q.limit as i64 + 1)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?,
    };
    let more = ids.len() as u64 > q.limit;
    let page: Vec<String> = ids.into_iter().take(q.limit as usize).collect();
    let items = member_infos(&mut conn, org_id, &page).await?;
    let next = if more {
        items.last().map(|m| m.email.to_lowercase())
    } else {
        None
    };
    Ok(CursorPage {
        items,
        total: total as u64,
        next,
    })
}

pub(crate) async fn member_access(
    store: &SqliteStore,
    org_id: i64,
    id: &str,
) -> StoreResult<Option<MemberAccess>> {
    let mut conn = store.read().await?;
    let rows = load_members(&mut conn, org_id, Who::Ids(&[id.to_string()])).await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let mappings = mappings_for(&mut conn, &rows).await?;
    let names = Names::load(&mut conn, org_id).await?;
    let granted = row.granted();
    let requested = row.requested(&mappings);
    let group_name = |gid: &str| {
        row.groups
            .iter()
            .find(|g| g.id == gid)
            .map(|g| g.display_name.clone())
            .unwrap_or_default()
    };
    let via_groups = |pred: &dyn Fn(&GroupMapping) -> bool| -> Vec<Via> {
        if !row.scim_source {
            return vec![Via::Manual];
        }
        row.groups
            .iter()
            .filter_map(|g| mappings.get(&g.id))
            .filter(|m| pred(m))
            .map(|m| Via::Group {
                group_id: m.group_id.clone(),
                group_name: group_name(&m.group_id),
            })
            .collect()
    };
    let mut roles = Vec::new();
    let org_roles: BTreeSet<OrgRole> = granted
        .iter()
        .chain(requested.iter())
        .map(|a| a.org_role)
        .collect();
    for r in org_roles.into_iter().rev() {
        roles.push(RoleExplained {
            role: RoleView::Org { org_role: r },
            granted: granted.as_ref().is_some_and(|a| a.org_role == r),
            requested: requested.as_ref().is_some_and(|a| a.org_role == r),
            via: via_groups(&|m| m.org_role == r),
        });
    }
    let stack: BTreeSet<&StackRole> = granted
        .iter()
        .chain(requested.iter())
        .flat_map(|a| a.stack_roles.iter())
        .collect();
    for sr in stack {
        roles.push(RoleExplained {
            role: RoleView::Stack(names.stack_ref(sr)),
            granted: granted.as_ref().is_some_and(|a| a.stack_roles.contains(sr)),
            requested: requested
                .as_ref()
                .is_some_and(|a| a.stack_roles.contains(sr)),
            via: via_groups(&|m| m.stack_roles.contains(sr)),
        });
    }
    Ok(Some(MemberAccess {
        member: names.member(row, &mappings),
        roles,
    }))
}

/// An admin removes a member: no access at once, the open request superseded, and the SCIM
/// User shown to the IdP as inactive, so that its setting `active` again asks for approval.
pub(crate) async fn remove_member(
    store: &SqliteStore,
    org_id: i64,
    id: &str,
    actor: &str,
) -> StoreResult<MemberInfo> {
    let mut tx = store.begin().await?;
    let rows = load_members(&mut tx, org_id, Who::Ids(&[id.to_string()])).await?;
    let Some(row) = rows.first() else {
        return Err(StoreError::NotFound(format!(
            "no member '{id}' in this organization"
        )));
    };
    if row.role == OrgRole::Owner {
        return Err(bad("the Owner cannot be removed from the organization"));
    }
    let now = datetime::now_rfc3339();
    let t = Transition {
        state: MemberState::Removed,
        granted: None,
        request: if row.request.is_some() {
            RequestChange::Supersede
        } else {
            RequestChange::Keep
        },
    };
    persist(&mut tx, org_id, row, &t, actor, &now).await?;
    if row.scim_active == Some(true) {
        let resource: String = sqlx::query_scalar("SELECT resource FROM scim_users WHERE id = ?")
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        let mut doc: Value = serde_json::from_str(&resource)
            .map_err(|e| StoreError::Db(format!("stored resource is not JSON: {e}")))?;
        doc["active"] = Value::Bool(false);
        sqlx::query(
            "UPDATE scim_users SET active = 0, resource = ?, version = version + 1,
               last_modified = ? WHERE id = ?",
        )
        .bind(doc.to_string())
        .bind(&now)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    }
    audit(
        &mut tx,
        org_id,
        actor,
        "member.remove",
        id,
        Some(&json!({"email": row.email, "state": row.state.as_str(), "granted": row.granted()})),
        Some(&json!({"email": row.email, "state": "removed", "granted": null})),
    )
    .await?;
    let info = member_infos(&mut tx, org_id, &[id.to_string()])
        .await?
        .pop();
    tx.commit().await.map_err(db_err)?;
    info.ok_or_else(|| StoreError::NotFound(format!("no member '{id}'")))
}

// ---------------------------------------------------------------------------------------
// The approval queue.

async fn request_views(
    conn: &mut SqliteConnection,
    org_id: i64,
    rows: &[sqlx::sqlite::SqliteRow],
) -> StoreResult<Vec<ApprovalRequest>> {
    let names = Names::load(conn, org_id).await?;
    let member_ids: Vec<String> = rows
        .iter()
        .map(|r| r.try_get("member_id").map_err(db_err))
        .collect::<Result<_, _>>()?;
    let arr = ids_json(&member_ids);
    let people = sqlx::query(
        "SELECT m.id, a.email, u.display_name FROM memberships m
         JOIN accounts a ON a.id = m.account_id LEFT JOIN scim_users u ON u.id = m.id
         WHERE m.id IN (SELECT value FROM json_each(?))",
    )
    .bind(&arr)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    let mut who = HashMap::new();
    for p in &people {
        who.insert(
            p.try_get::<String, _>(0).map_err(db_err)?,
            MemberSummary {
                email: p.try_get(1).map_err(db_err)?,
                display_name: p.try_get(2).map_err(db_err)?,
            },
        );
    }
    rows.iter()
        .zip(&member_ids)
        .map(|(r, mid)| {
            let req = request_from_row(r)?;
            let s = who.get(mid).cloned().unwrap_or(MemberSummary {
                email: String::new(),
                display_name: None,
            });
            Ok(names.request(&req, mid, s))
        })
        .collect()
}

pub(crate) async fn list_approvals(
    store: &SqliteStore,
    org_id: i64,
    state: Option<RequestState>,
    limit: u64,
    cursor: Option<&str>,
) -> StoreResult<CursorPage<ApprovalRequest>> {
    let mut conn = store.read().await?;
    let state = state.map(|s| s.as_str());
    let total: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM approval_requests WHERE org_id = ?1 AND (?2 IS NULL OR state = ?2)",
    )
    .bind(org_id)
    .bind(state)
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    // Oldest first; the cursor is the (created_at, id) of the last request seen.
    let (after_at, after_id) = match cursor.and_then(|c| c.split_once('|')) {
        Some((a, i)) => (a.to_string(), i.to_string()),
        None => (String::new(), String::new()),
    };
    // With a state, the (org, state, created_at, id) index yields the page in order.
    let state_clause = if state.is_some() {
        "r.state = ?2"
    } else {
        "?2 IS NULL"
    };
    let sql = format!(
        "SELECT {REQUEST_COLUMNS} FROM approval_requests r
         WHERE r.org_id = ?1 AND {state_clause}
           AND (r.created_at > ?3 OR (r.created_at = ?3 AND r.id > ?4))
         ORDER BY r.created_at, r.id LIMIT ?5"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org_id)
        .bind(state)
        .bind(&after_at)
        .bind(&after_id)
        .bind(limit as i64 + 1)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    let more = rows.len() as u64 > limit;
    let rows: Vec<_> = rows.into_iter().take(limit as usize).collect();
    let items = request_views(&mut conn, org_id, &rows).await?;
    let next = if more {
        items.last().map(|r| format!("{}|{}", r.created_at, r.id))
    } else {
        None
    };
    Ok(CursorPage {
        items,
        total: total as u64,
        next,
    })
}

async fn one_view(
    conn: &mut SqliteConnection,
    org_id: i64,
    row: sqlx::sqlite::SqliteRow,
) -> StoreResult<ApprovalRequest> {
    let mut v = request_views(conn, org_id, &[row]).await?;
    v.pop()
        .ok_or_else(|| StoreError::Db("the request vanished".into()))
}

pub(crate) async fn decide(
    store: &SqliteStore,
    org_id: i64,
    request_id: &str,
    decision: &Decision,
    seen_version: u64,
    actor: &str,
) -> StoreResult<DecisionOutcome> {
    let mut tx = store.begin().await?;
    let sql = format!(
        "SELECT {REQUEST_COLUMNS} FROM approval_requests r WHERE r.id = ? AND r.org_id = ?"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(request_id)
        .bind(org_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?
        .ok_or_else(|| StoreError::NotFound(format!("no approval request '{request_id}'")))?;
    let stored = request_from_row(&row)?;
    let member_id: String = row.try_get("member_id").map_err(db_err)?;
    let members = load_members(&mut tx, org_id, Who::Ids(std::slice::from_ref(&member_id))).await?;
    let Some(member_row) = members.first() else {
        return Err(StoreError::NotFound(format!("no member '{member_id}'")));
    };
    let open = OpenRequest {
        kind: stored.kind,
        diff: stored.diff.clone(),
        version: stored.version,
    };
    let domain_member = member_row.domain();
    let result = match decision {
        Decision::Approve => approval::approve(&domain_member, stored.state, &open, seen_version),
        Decision::Reject { .. } => {
            approval::reject(&domain_member, stored.state, &open, seen_version)
        }
    };
    match result {
        Err(e) => {
            let message = match e {
                approval::DecisionError::Stale { current_version } => format!(
                    "the request changed since you saw it (now version {current_version}): \
                     review the current diff and decide again"
                ),
                approval::DecisionError::AlreadyDecided(s) => {
                    format!("the request is already {}: nothing to decide", s.as_str())
                }
            };
            let request = one_view(&mut tx, org_id, row).await?;
            tx.rollback().await.map_err(db_err)?;
            Ok(DecisionOutcome::Conflict { request, message })
        }
        Ok(None) => {
            let request = one_view(&mut tx, org_id, row).await?;
            let member = member_infos(&mut tx, org_id, &[member_id]).await?.pop();
            tx.rollback().await.map_err(db_err)?;
            let member = member.ok_or_else(|| StoreError::Db("member vanished".into()))?;
            Ok(DecisionOutcome::Done {
                request,
                member: Box::new(member),
            })
        }
        Ok(Some(t)) => {
            let now = datetime::now_rfc3339();
            // The request is decided here, not superseded, so persist must not touch it.
            let mut without_request = member_row.clone();
            without_request.request = None;
            persist(&mut tx, org_id, &without_request, &t, actor, &now).await?;
            let (state, reason) = match decision {
                Decision::Approve => (RequestState::Approved, None),
                Decision::Reject { reason } => (RequestState::Rejected, reason.clone()),
            };
            sqlx::query(
                "UPDATE approval_requests SET state = ?, decided_by = ?, decided_at = ?,
                   reason = ?, updated_at = ? WHERE id = ?",
            )
            .bind(state.as_str())
            .bind(actor)
            .bind(&now)
            .bind(&reason)
            .bind(&now)
            .bind(request_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            if state == RequestState::Rejected {
                let text = serde_json::to_string(&stored.diff)
                    .map_err(|e| StoreError::Db(e.to_string()))?;
                sqlx::query(
                    "INSERT INTO member_last_rejected (membership_id, diff) VALUES (?, ?)
                     ON CONFLICT (membership_id) DO UPDATE SET diff = excluded.diff",
                )
                .bind(&member_id)
                .bind(&text)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            }
            audit(
                &mut tx,
                org_id,
                actor,
                if state == RequestState::Approved {
                    "approval.approved"
                } else {
                    "approval.rejected"
                },
                request_id,
                Some(&json!({"state": "pending", "version": stored.version, "diff": stored.diff})),
                Some(
                    &json!({"state": state.as_str(), "version": stored.version, "reason": reason}),
                ),
            )
            .await?;
            let sql = format!("SELECT {REQUEST_COLUMNS} FROM approval_requests r WHERE r.id = ?");
            let fresh = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(request_id)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
            let request = one_view(&mut tx, org_id, fresh).await?;
            let member = member_infos(&mut tx, org_id, &[member_id]).await?.pop();
            tx.commit().await.map_err(db_err)?;
            let member = member.ok_or_else(|| StoreError::Db("member vanished".into()))?;
            Ok(DecisionOutcome::Done {
                request,
                member: Box::new(member),
            })
        }
    }
}

/// The provisioning state of SCIM Users, for their readOnly extension attribute.
pub(crate) async fn provisioning_states(
    store: &SqliteStore,
    ids: &[String],
) -> StoreResult<HashMap<String, ProvisioningState>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = sqlx::query(
        "SELECT m.id, m.state,
                EXISTS (SELECT 1 FROM approval_requests r
                        WHERE r.member_id = m.id AND r.state = 'pending')
         FROM memberships m WHERE m.id IN (SELECT value FROM json_each(?))",
    )
    .bind(ids_json(ids))
    .fetch_all(&mut *store.read().await?)
    .await
    .map_err(db_err)?;
    let mut out = HashMap::new();
    for r in &rows {
        let state: String = r.try_get(1).map_err(db_err)?;
        out.insert(
            r.try_get::<String, _>(0).map_err(db_err)?,
            ProvisioningState {
                state: MemberState::parse(&state).unwrap_or(MemberState::Removed),
                pending_request: r.try_get(2).map_err(db_err)?,
            },
        );
    }
    Ok(out)
}
