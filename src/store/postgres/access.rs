//! Granted access and the approval queue on PostgreSQL: the core that the SCIM write path
//! calls inside its own transaction ([`reconcile`], [`reconcile_new`], [`group_deleting`],
//! [`is_mapped`]), and the reads and writes that the admin API's functions
//! (`access_admin.rs`) share with it. The rules and what they write are
//! `store::access_rules`'; this file holds the SQL.
//!
//! Replicas: every transaction that decides a member's transition first locks the member's
//! row (`SELECT ... FOR UPDATE`, in id order, so that two writers locking several members
//! never wait for each other in a cycle), then reads the member in a later statement, which
//! (under READ COMMITTED) sees whatever the previous holder of the lock committed. Requests
//! are only written under that lock, so a decision reads the version it checks under it too.

use super::db_err;
use crate::domain::access::{GroupMapping, OrgRole, StackRole};
use crate::domain::approval::{self, ApprovalPolicy, MemberState};
use crate::scim::datetime;
use crate::store::access_rules::views::Names;
use crate::store::access_rules::writes::{self, MemberWrite, RequestWrite};
use crate::store::access_rules::{self as rules, Cause, MemberRow, RawMapping, Who};
use crate::store::access_types::GroupRef;
use crate::store::{StoreError, StoreResult};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use std::collections::HashMap;

pub(crate) use super::access_admin::{
    create_stack, create_stack_role, get_mapping, list_groups, list_stacks, org_effective_access,
    preview_mapping, rename_stack, rename_stack_role, set_mapping, stack_roles,
};
pub(crate) use super::access_members::{
    decide, list_approvals, list_members, member_access, provisioning_states, remove_member,
};

/// Locks the rows of the memberships `who` names (in the org), in id order, until the
/// transaction ends; returns their ids. Read them afterwards, in another statement.
pub(super) async fn lock_members(
    conn: &mut PgConnection,
    org_id: i64,
    who: Who<'_>,
) -> StoreResult<Vec<String>> {
    match who {
        Who::Ids([]) => Ok(Vec::new()),
        Who::Ids(ids) => sqlx::query_scalar(
            "SELECT id FROM memberships WHERE id = ANY($1) AND org_id = $2
             ORDER BY id FOR UPDATE",
        )
        .bind(ids)
        .bind(org_id)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err),
        Who::GroupForRules(group_id) => sqlx::query_scalar(
            "SELECT id FROM memberships
             WHERE id IN (SELECT user_id FROM group_members WHERE group_id = $1)
               AND org_id = $2
             ORDER BY id FOR UPDATE",
        )
        .bind(group_id)
        .bind(org_id)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err),
    }
}

/// Memberships with what the rules need about them.
pub(super) struct Loaded {
    /// Sorted by id.
    pub rows: Vec<MemberRow>,
    /// The mappings of every group of theirs (unmapped groups are absent).
    pub mappings: HashMap<String, GroupMapping>,
    pub policy: ApprovalPolicy,
}

/// One member per row: the columns, the granted stack roles as two arrays (stack uids and
/// role uids, in one order), the groups (`{groups}`: ids and names), the open request
/// (`r_*`, null without one) and the last rejected diff. Plain rows: PostgreSQL building a
/// JSON document per member cost it three times as much as sending the columns.
const MEMBER_SQL: &str = "SELECT m.id, coalesce(u.user_name, a.email) AS email, u.display_name, m.state, m.role, m.source,
      u.active, m.created_at, m.updated_at,
      array(SELECT s.stack_uid FROM granted_stack_roles s WHERE s.membership_id = m.id
            ORDER BY s.stack_uid, s.role_uid) AS granted_stacks,
      array(SELECT s.role_uid FROM granted_stack_roles s WHERE s.membership_id = m.id
            ORDER BY s.stack_uid, s.role_uid) AS granted_roles,
      {groups},
      r.id AS r_id, r.kind AS r_kind, r.state AS r_state, r.version AS r_version,
      r.diff::text AS r_diff, r.created_at AS r_created_at, r.updated_at AS r_updated_at,
      r.decided_by AS r_decided_by, r.decided_at AS r_decided_at, r.reason AS r_reason,
      x.diff::text AS rejected
    FROM memberships m JOIN accounts a ON a.id = m.account_id
    LEFT JOIN scim_users u ON u.id = m.id
    LEFT JOIN approval_requests r ON r.member_id = m.id AND r.state = 'pending'
    LEFT JOIN member_last_rejected x ON x.membership_id = m.id
    WHERE {which} AND m.org_id = $2";

/// A member's groups by name, ordered as SQLite orders them (names in any case, then id).
const NAMED_GROUPS: &str = "array(SELECT g.id FROM group_members gm
            JOIN scim_groups g ON g.id = gm.group_id WHERE gm.user_id = m.id
            ORDER BY lower(g.display_name), g.id) AS group_ids,
      array(SELECT g.display_name FROM group_members gm
            JOIN scim_groups g ON g.id = gm.group_id WHERE gm.user_id = m.id
            ORDER BY lower(g.display_name), g.id) AS group_names";

/// A member's groups as ids only, for the rules.
const GROUP_IDS: &str = "array(SELECT gm.group_id FROM group_members gm
            WHERE gm.user_id = m.id) AS group_ids,
      NULL::text[] AS group_names";

fn member_from_row(r: &PgRow) -> StoreResult<MemberRow> {
    let get = |e: sqlx::Error| db_err(e);
    let state: String = r.try_get("state").map_err(get)?;
    let role: String = r.try_get("role").map_err(get)?;
    let source: String = r.try_get("source").map_err(get)?;
    let stacks: Vec<String> = r.try_get("granted_stacks").map_err(get)?;
    let roles: Vec<String> = r.try_get("granted_roles").map_err(get)?;
    let group_ids: Vec<String> = r.try_get("group_ids").map_err(get)?;
    let group_names: Option<Vec<String>> = r.try_get("group_names").map_err(get)?;
    let request = match r.try_get::<Option<String>, _>("r_id").map_err(get)? {
        None => None,
        Some(id) => {
            let diff: String = r.try_get("r_diff").map_err(get)?;
            Some(rules::request_from_raw((
                id,
                r.try_get("r_kind").map_err(get)?,
                r.try_get("r_state").map_err(get)?,
                r.try_get("r_version").map_err(get)?,
                rules::parse_diff(&diff)?,
                r.try_get("r_created_at").map_err(get)?,
                r.try_get("r_updated_at").map_err(get)?,
                r.try_get("r_decided_by").map_err(get)?,
                r.try_get("r_decided_at").map_err(get)?,
                r.try_get("r_reason").map_err(get)?,
            ))?)
        }
    };
    let rejected: Option<String> = r.try_get("rejected").map_err(get)?;
    let mut names = group_names.unwrap_or_default().into_iter();
    Ok(MemberRow {
        id: r.try_get("id").map_err(get)?,
        email: r.try_get("email").map_err(get)?,
        display_name: r.try_get("display_name").map_err(get)?,
        state: MemberState::parse(&state).unwrap_or(MemberState::Removed),
        role: OrgRole::parse(&role).unwrap_or(OrgRole::Member),
        scim_source: source == "scim",
        scim_active: r.try_get("active").map_err(get)?,
        granted_stack: stacks
            .into_iter()
            .zip(roles)
            .map(|(s, ro)| StackRole::new(s, ro))
            .collect(),
        groups: group_ids
            .into_iter()
            .map(|id| GroupRef {
                id,
                display_name: names.next().unwrap_or_default(),
            })
            .collect(),
        request,
        last_rejected: rejected.as_deref().map(rules::parse_diff).transpose()?,
        created_at: r.try_get("created_at").map_err(get)?,
        updated_at: r.try_get("updated_at").map_err(get)?,
    })
}

/// Reads the memberships `who` names (sorted by id), then, in a second statement, the
/// mappings of their groups and the org's approval policy.
pub(super) async fn load(
    conn: &mut PgConnection,
    org_id: i64,
    who: Who<'_>,
) -> StoreResult<Loaded> {
    let rows = match who {
        Who::Ids([]) => Ok(Vec::new()),
        Who::Ids(ids) => {
            let sql = MEMBER_SQL
                .replace("{groups}", NAMED_GROUPS)
                .replace("{which}", "m.id = ANY($1)");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(ids)
                .bind(org_id)
                .fetch_all(&mut *conn)
                .await
        }
        Who::GroupForRules(group_id) => {
            let sql = MEMBER_SQL.replace("{groups}", GROUP_IDS).replace(
                "{which}",
                "m.id IN (SELECT user_id FROM group_members WHERE group_id = $1)",
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(group_id)
                .bind(org_id)
                .fetch_all(&mut *conn)
                .await
        }
    }
    .map_err(db_err)?;
    let mut members = rows
        .iter()
        .map(member_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    members.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    let groups: Vec<&str> = rules::groups_of(&members).into_iter().collect();
    let text: String = sqlx::query_scalar(
        "SELECT json_build_array(
           coalesce((SELECT json_agg(json_build_array(mp.group_id, mp.org_role,
                       coalesce((SELECT json_agg(json_build_array(r.stack_uid, r.role_uid))
                                 FROM group_mapping_roles r WHERE r.group_id = mp.group_id),
                                '[]')))
                     FROM group_mappings mp WHERE mp.group_id = ANY($1)), '[]'),
           (SELECT json_build_array(o.approval_provision, o.approval_access_increase,
                                    o.approval_deprovision)
            FROM organizations o WHERE o.id = $2))::text",
    )
    .bind(groups)
    .bind(org_id)
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    type Raw = (Vec<RawMapping>, Option<(bool, bool, bool)>);
    let (mappings, policy): Raw = serde_json::from_str(&text)
        .map_err(|e| StoreError::Db(format!("the mapping query gave unexpected JSON: {e}")))?;
    let policy = policy.map_or_else(ApprovalPolicy::default, |(p, a, d)| ApprovalPolicy {
        provision: p,
        access_increase: a,
        deprovision: d,
    });
    Ok(Loaded {
        rows: members,
        mappings: rules::mappings_from_raw(mappings),
        policy,
    })
}

/// The names of the org's stacks and roles.
pub(super) async fn load_names(conn: &mut PgConnection, org_id: i64) -> StoreResult<Names> {
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT s.uid, s.name, r.uid, r.name FROM stacks s
         JOIN stack_roles r ON r.stack_id = s.id WHERE s.org_id = $1",
    )
    .bind(org_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(Names::from_rows(rows))
}

/// Writes the transitions of many members in ONE statement, whatever their number: state and
/// granted roles, requests opened, updated and superseded, and every audit event in the order
/// SQLite writes them (each member's access, then its requests).
const WRITE_SQL: &str = "
WITH
  moved AS (
    UPDATE memberships m SET state = w.state, role = w.role, updated_at = $1
    FROM unnest($2::text[], $3::text[], $4::text[]) AS w(id, state, role)
    WHERE m.id = w.id),
  gone AS (
    DELETE FROM granted_stack_roles g
    USING unnest($5::text[], $6::text[], $7::text[]) AS d(id, stack_uid, role_uid)
    WHERE g.membership_id = d.id AND g.stack_uid = d.stack_uid AND g.role_uid = d.role_uid),
  added AS (
    INSERT INTO granted_stack_roles (membership_id, stack_uid, role_uid)
    SELECT * FROM unnest($8::text[], $9::text[], $10::text[])
    ON CONFLICT DO NOTHING),
  closed AS (
    UPDATE approval_requests SET state = 'superseded', updated_at = $1
    WHERE id = ANY($11::text[]) RETURNING id),
  bumped AS (
    UPDATE approval_requests r SET diff = u.diff::jsonb, version = r.version + 1,
      updated_at = $1
    FROM unnest($12::text[], $13::text[]) AS u(id, diff)
    WHERE r.id = u.id),
  opened AS (
    INSERT INTO approval_requests
      (id, org_id, member_id, kind, state, version, diff, created_at, updated_at)
    SELECT o.id, $14, o.member_id, o.kind, 'pending', 1, o.diff::jsonb, $1, $1
    FROM unnest($15::text[], $16::text[], $17::text[], $18::text[])
      AS o(id, member_id, kind, diff)
    -- Statements in WITH run in no set order; this subquery runs `closed` to its end first,
    -- so that a member's old request has left the one-open-request index when its new one
    -- enters it.
    WHERE (SELECT count(*) FROM closed) >= 0)
INSERT INTO audit_log (org_id, at, actor, action, target, before, after)
SELECT $14, $1, $19, e.action, e.target, e.before::jsonb, e.after::jsonb
FROM unnest($20::text[], $21::text[], $22::text[], $23::text[])
  WITH ORDINALITY AS e(action, target, before, after, n)
ORDER BY e.n";

/// The columns of [`WRITE_SQL`]'s arrays.
#[derive(Default)]
struct WriteBatch<'a> {
    moved: [Vec<&'a str>; 3],
    gone: [Vec<&'a str>; 3],
    added: [Vec<&'a str>; 3],
    closed: Vec<&'a str>,
    bumped: [Vec<&'a str>; 2],
    opened: [Vec<&'a str>; 4],
    audit_action: Vec<&'static str>,
    audit_target: Vec<&'a str>,
    audit_before: Vec<Option<String>>,
    audit_after: Vec<String>,
}

impl<'a> WriteBatch<'a> {
    fn event(
        &mut self,
        action: &'static str,
        target: &'a str,
        before: Option<String>,
        after: String,
    ) {
        self.audit_action.push(action);
        self.audit_target.push(target);
        self.audit_before.push(before);
        self.audit_after.push(after);
    }

    fn push(&mut self, w: &'a MemberWrite) {
        let id = w.member_id.as_str();
        if let Some(a) = &w.access {
            self.moved[0].push(id);
            self.moved[1].push(a.state.as_str());
            self.moved[2].push(a.role.as_str());
            for (cols, roles) in [(&mut self.gone, &a.gone), (&mut self.added, &a.added)] {
                for r in roles {
                    cols[0].push(id);
                    cols[1].push(&r.stack_uid);
                    cols[2].push(&r.role_uid);
                }
            }
            self.event(
                "access.changed",
                id,
                Some(a.audit_before.to_string()),
                a.audit_after.to_string(),
            );
        }
        for r in &w.requests {
            match r {
                RequestWrite::Open {
                    id: rid,
                    kind,
                    diff,
                    audit_after,
                } => {
                    self.opened[0].push(rid);
                    self.opened[1].push(id);
                    self.opened[2].push(kind.as_str());
                    self.opened[3].push(diff);
                    self.event("approval.opened", rid, None, audit_after.to_string());
                }
                RequestWrite::Update {
                    id: rid,
                    diff,
                    audit_before,
                    audit_after,
                } => {
                    self.bumped[0].push(rid);
                    self.bumped[1].push(diff);
                    self.event(
                        "approval.updated",
                        rid,
                        Some(audit_before.to_string()),
                        audit_after.to_string(),
                    );
                }
                RequestWrite::Supersede {
                    id: rid,
                    audit_before,
                    audit_after,
                } => {
                    self.closed.push(rid);
                    self.event(
                        "approval.superseded",
                        rid,
                        Some(audit_before.to_string()),
                        audit_after.to_string(),
                    );
                }
            }
        }
    }
}

/// Writes what `writes` plan (see [`WRITE_SQL`]); nothing when none of them changes anything.
/// The members' rows must be locked by this transaction.
pub(super) async fn write_all(
    conn: &mut PgConnection,
    org_id: i64,
    writes: &[MemberWrite],
    actor: &str,
    now: &str,
) -> StoreResult<()> {
    write_with(conn, org_id, writes, None, actor, now).await
}

/// The audit event of the write that caused these member writes, recorded after theirs (as
/// SQLite records it) in the same statement: (action, target, after).
pub(super) type CauseEvent<'a> = (&'static str, &'a str, String);

/// [`write_all`], with the event of the write that caused it last: one statement less.
async fn write_with(
    conn: &mut PgConnection,
    org_id: i64,
    writes: &[MemberWrite],
    cause: Option<CauseEvent<'_>>,
    actor: &str,
    now: &str,
) -> StoreResult<()> {
    let mut b = WriteBatch::default();
    for w in writes.iter().filter(|w| w.changes()) {
        b.push(w);
    }
    if let Some((action, target, after)) = cause {
        b.event(action, target, None, after);
    }
    if b.audit_action.is_empty() {
        return Ok(());
    }
    let [moved_id, moved_state, moved_role] = b.moved;
    let [gone_id, gone_stack, gone_role] = b.gone;
    let [added_id, added_stack, added_role] = b.added;
    let [bumped_id, bumped_diff] = b.bumped;
    let [opened_id, opened_member, opened_kind, opened_diff] = b.opened;
    sqlx::query(WRITE_SQL)
        .bind(now)
        .bind(moved_id)
        .bind(moved_state)
        .bind(moved_role)
        .bind(gone_id)
        .bind(gone_stack)
        .bind(gone_role)
        .bind(added_id)
        .bind(added_stack)
        .bind(added_role)
        .bind(b.closed)
        .bind(bumped_id)
        .bind(bumped_diff)
        .bind(org_id)
        .bind(opened_id)
        .bind(opened_member)
        .bind(opened_kind)
        .bind(opened_diff)
        .bind(actor)
        .bind(b.audit_action)
        .bind(b.audit_target)
        .bind(b.audit_before)
        .bind(b.audit_after)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Brings SCIM-provisioned memberships in line with what the IdP and the mappings now imply:
/// lowering applies at once, raising waits per the org's policy. Members made outside SCIM are
/// never touched. Called by the SCIM write path, in its transaction, with the memberships the
/// write affected; locks their rows until that transaction ends.
// The SCIM write path (resources.rs) calls it.
#[allow(dead_code)]
pub(crate) async fn reconcile(
    conn: &mut PgConnection,
    org_id: i64,
    member_ids: &[String],
    actor: &str,
) -> StoreResult<()> {
    reconcile_as(conn, org_id, member_ids, actor, Cause::Change).await
}

/// [`reconcile`], with the rule of `cause` (a userName change moves access: [`Cause::Rename`]).
pub(crate) async fn reconcile_as(
    conn: &mut PgConnection,
    org_id: i64,
    member_ids: &[String],
    actor: &str,
    cause: Cause,
) -> StoreResult<()> {
    let locked = lock_members(conn, org_id, Who::Ids(member_ids)).await?;
    if locked.is_empty() {
        return Ok(());
    }
    let loaded = load(conn, org_id, Who::Ids(&locked)).await?;
    let mut planned = Vec::new();
    for row in loaded.rows.iter().filter(|r| r.scim_source) {
        let t = cause.transition(row, &loaded.mappings, &loaded.policy);
        planned.push(writes::plan_write(row, &t)?);
    }
    write_all(conn, org_id, &planned, actor, &datetime::now_rfc3339()).await
}

/// `reconcile` for a membership that the SCIM create has just inserted in this transaction
/// (state pending, role member, source scim): it cannot have groups (its SCIM User is new),
/// granted roles, a request or a rejected diff yet, so nothing is read back (and its row is
/// this transaction's already); `policy` is the org's. One statement.
// The SCIM write path (resources.rs) calls it.
#[allow(dead_code)]
/// `created` is the creating write's own audit event, recorded last in the same statement.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn reconcile_new(
    conn: &mut PgConnection,
    org_id: i64,
    id: &str,
    active: bool,
    policy: &ApprovalPolicy,
    created: CauseEvent<'_>,
    actor: &str,
    now: &str,
) -> StoreResult<()> {
    let row = MemberRow::new_scim(id, active, now);
    let t = approval::on_change(&row.domain(), &row.intent(&HashMap::new()), policy);
    let planned = [writes::plan_write(&row, &t)?];
    write_with(conn, org_id, &planned, Some(created), actor, now).await
}

/// Before a SCIM group is deleted: its mapping goes first, so that its members lose what it
/// gave them in the same transaction.
// The SCIM write path (resources.rs) calls it.
#[allow(dead_code)]
pub(crate) async fn group_deleting(
    conn: &mut PgConnection,
    org_id: i64,
    group_id: &str,
    actor: &str,
) -> StoreResult<()> {
    let members: Option<Vec<String>> = sqlx::query_scalar(
        "WITH gone AS (DELETE FROM group_mappings WHERE group_id = $1 RETURNING group_id)
         SELECT CASE WHEN EXISTS (SELECT 1 FROM gone)
                THEN array(SELECT user_id FROM group_members WHERE group_id = $1) END",
    )
    .bind(group_id)
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    match members {
        Some(members) => reconcile(conn, org_id, &members, actor).await,
        None => Ok(()),
    }
}

/// Whether a group has a mapping: member changes of unmapped groups change no access.
// The SCIM write path (resources.rs) calls it.
#[allow(dead_code)]
pub(crate) async fn is_mapped(conn: &mut PgConnection, group_id: &str) -> StoreResult<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM group_mappings WHERE group_id = $1)")
        .bind(group_id)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)
}
