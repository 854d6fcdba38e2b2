//! Stacks, roles, group mappings, members and the approval queue in SQLite: the admin API's
//! access functions. The rules, views and impact are `store::access_rules`'; loading members,
//! running the rules and writing their result are `access.rs`'.

use super::access::{
    REQUEST_COLUMNS, audit, ids_json, load_mappings, load_members, mappings_for, persist,
    policy_of, request_from_row,
};
use super::{SqliteStore, db_err};
use crate::domain::access::{Access, GroupMapping, OrgRole};
use crate::domain::approval::{MemberState, RequestState};
use crate::scim::datetime;
use crate::store::access_rules::impact::{self, Plan};
use crate::store::access_rules::views::Names;
use crate::store::access_rules::writes;
use crate::store::access_rules::{self as rules, Who};
use crate::store::access_types::*;
use crate::store::{CursorPage, StoreError, StoreResult};
use serde_json::{Value, json};
use sqlx::{Row, SqliteConnection};
use std::collections::{BTreeSet, HashMap};

// ---------------------------------------------------------------------------------------
// Names: stack and role uids to what a client shows.

async fn load_names(conn: &mut SqliteConnection, org_id: i64) -> StoreResult<Names> {
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT s.uid, s.name, r.uid, r.name FROM stacks s
         JOIN stack_roles r ON r.stack_id = s.id WHERE s.org_id = ?",
    )
    .bind(org_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(Names::from_rows(rows))
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
    let mut m = load_mappings(conn, &one).await?;
    let role: String = row.try_get(0).map_err(db_err)?;
    let mapping = m.remove(group_id).unwrap_or_else(|| GroupMapping {
        group_id: group_id.to_string(),
        org_role: OrgRole::parse(&role).unwrap_or(OrgRole::Member),
        stack_roles: BTreeSet::new(),
    });
    Ok(Some(names.mapping(
        &mapping,
        group_name,
        row.try_get(1).map_err(db_err)?,
        row.try_get(2).map_err(db_err)?,
    )))
}

pub(crate) async fn get_mapping(
    store: &SqliteStore,
    org_id: i64,
    group_id: &str,
) -> StoreResult<Option<Mapping>> {
    let mut conn = store.read().await?;
    let name = group_name(&mut conn, org_id, group_id).await?;
    let names = load_names(&mut conn, org_id).await?;
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

pub(crate) async fn list_groups(
    store: &SqliteStore,
    org_id: i64,
    filter: Option<&str>,
    limit: u64,
    cursor: Option<&str>,
) -> StoreResult<CursorPage<GroupInfo>> {
    let mut conn = store.read().await?;
    let pattern = rules::like_pattern(filter.unwrap_or(""));
    let total: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM scim_groups WHERE org_id = ? AND display_name LIKE ? ESCAPE '\\'",
    )
    .bind(org_id)
    .bind(&pattern)
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    let (after_name, after_id) = rules::group_cursor(cursor);
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
    let names = load_names(&mut conn, org_id).await?;
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
                .map(|g| rules::next_group_cursor(&g.display_name, &g.id))
        })
        .flatten();
    Ok(CursorPage {
        items,
        total: total as u64,
        next,
    })
}

/// What setting (or, with `None`, deleting) a group's mapping does to its members. The same
/// plan serves the preview and the save, so the two cannot disagree.
async fn plan_mapping(
    conn: &mut SqliteConnection,
    org_id: i64,
    group_id: &str,
    new: Option<&GroupMapping>,
    names: &Names,
) -> StoreResult<Plan> {
    let rows = load_members(conn, org_id, Who::GroupForRules(group_id)).await?;
    let old = mappings_for(conn, &rows).await?;
    let policy = policy_of(conn, org_id).await?;
    Ok(impact::plan_mapping(
        rows, &old, group_id, new, &policy, names,
    ))
}

pub(crate) async fn preview_mapping(
    store: &SqliteStore,
    org_id: i64,
    group_id: &str,
    input: Option<&MappingInput>,
) -> StoreResult<MappingImpact> {
    let mut conn = store.read().await?;
    group_name(&mut conn, org_id, group_id).await?;
    let names = load_names(&mut conn, org_id).await?;
    if let Some(i) = input {
        rules::validate_mapping(i, &names)?;
    }
    let new = input.map(|i| rules::to_domain_mapping(group_id, i));
    Ok(
        plan_mapping(&mut conn, org_id, group_id, new.as_ref(), &names)
            .await?
            .impact,
    )
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
    let names = load_names(&mut tx, org_id).await?;
    if let Some(i) = input {
        rules::validate_mapping(i, &names)?;
    }
    let before = mapping_view(&mut tx, &names, group_id, &name).await?;
    if input.is_none() && before.is_none() {
        return Err(StoreError::NotFound(format!(
            "the group '{name}' has no mapping"
        )));
    }
    let new = input.map(|i| rules::to_domain_mapping(group_id, i));
    let plan = plan_mapping(&mut tx, org_id, group_id, new.as_ref(), &names).await?;
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
    let (action, after_audit) = writes::mapping_audit(
        after.as_ref().map(|a| json!(a)),
        plan.impact.counts.granted_changes,
        plan.impact.counts.pending_changes,
    );
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
    rules::effective_by_member(text)
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
    let names = load_names(conn, org_id).await?;
    let mut infos = names.members_in_order(&rows, &mappings, ids);
    add_rejections(conn, org_id, &mut infos).await?;
    Ok(infos)
}

/// Each rejected member's rejection: its latest rejected request (by the member index of
/// migration 7), read only when the page holds a rejected member.
async fn add_rejections(
    conn: &mut SqliteConnection,
    org_id: i64,
    infos: &mut [MemberInfo],
) -> StoreResult<()> {
    let ids: Vec<&str> = infos
        .iter()
        .filter(|m| m.state == MemberState::Rejected)
        .map(|m| m.id.as_str())
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let rows: Vec<rules::RejectionRow> = sqlx::query_as(
        "SELECT r.member_id, r.id, r.decided_by, r.decided_at, r.reason
             FROM approval_requests r
             WHERE r.member_id IN (SELECT value FROM json_each(?2)) AND r.org_id = ?1
               AND r.state = 'rejected'
             ORDER BY r.decided_at, r.id",
    )
    .bind(org_id)
    .bind(ids_json(
        &ids.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
    ))
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    rules::attach_rejections(infos, rows);
    Ok(())
}

pub(crate) async fn list_members(
    store: &SqliteStore,
    org_id: i64,
    q: &MemberQuery,
) -> StoreResult<CursorPage<MemberInfo>> {
    let mut conn = store.read().await?;
    let pattern = rules::like_pattern(q.filter.as_deref().unwrap_or(""));
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
    if !q.sort.by_email_cursor(q.desc) {
        // Another order (or backwards): every match sorted by the column, then by email;
        // the cursor is the last row's key and email.
        let key = match q.sort {
            MemberSort::Email => "a.email",
            MemberSort::Name => "coalesce(u.display_name, '')",
            MemberSort::State => "m.state",
            MemberSort::Created => "m.created_at",
        };
        let (cmp, dir) = if q.desc { ("<", "DESC") } else { (">", "ASC") };
        let (ck, ce) = match q
            .cursor
            .as_deref()
            .and_then(|c| c.split_once(SORT_CURSOR_SEP))
        {
            Some((k, e)) => (Some(k.to_string()), Some(e.to_string())),
            None => (None, None),
        };
        let found: Vec<(String, String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT m.id, {key}, a.email FROM accounts a JOIN memberships m ON m.account_id = a.id
             LEFT JOIN scim_users u ON u.id = m.id
             WHERE {WHERE} AND (?4 IS NULL OR ({key}, a.email) {cmp} (?4, ?5))
             ORDER BY {key} {dir}, a.email {dir} LIMIT ?6"
        )))
        .bind(org_id)
        .bind(&pattern)
        .bind(state)
        .bind(&ck)
        .bind(&ce)
        .bind(q.limit as i64 + 1)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
        let (ids, next) = rules::sorted_page(found, q.limit);
        let items = member_infos(&mut conn, org_id, &ids).await?;
        return Ok(CursorPage {
            items,
            total: total as u64,
            next,
        });
    }
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
    let names = load_names(&mut conn, org_id).await?;
    let mut access = names.member_access(row, &mappings);
    add_rejections(&mut conn, org_id, std::slice::from_mut(&mut access.member)).await?;
    Ok(Some(access))
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
    let t = rules::removal(row)?;
    let now = datetime::now_rfc3339();
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
    let (before, after) = writes::removal_audit(row);
    audit(
        &mut tx,
        org_id,
        actor,
        "member.remove",
        id,
        Some(&before),
        Some(&after),
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
    let names = load_names(conn, org_id).await?;
    let member_ids: Vec<String> = rows
        .iter()
        .map(|r| r.try_get("member_id").map_err(db_err))
        .collect::<Result<_, _>>()?;
    let arr = ids_json(&member_ids);
    let people = sqlx::query(
        "SELECT m.id, coalesce(u.user_name, a.email), u.display_name FROM memberships m
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
    let requests = rows
        .iter()
        .zip(member_ids)
        .map(|(r, mid)| Ok((request_from_row(r)?, mid)))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(names.requests(&requests, &who))
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
    let (after_at, after_id) = rules::request_cursor(cursor);
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
        items
            .last()
            .map(|r| rules::next_request_cursor(&r.created_at, &r.id))
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
    match rules::decision(member_row, &stored, decision, seen_version, actor) {
        Err(message) => {
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
            let (state, reason) = rules::decided_state(decision);
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
            let (action, before, after) = writes::decision_audit(&stored, state, reason.as_deref());
            audit(
                &mut tx,
                org_id,
                actor,
                action,
                request_id,
                Some(&before),
                Some(&after),
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
    org_id: i64,
    ids: &[String],
) -> StoreResult<HashMap<String, ProvisioningState>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = sqlx::query(
        "SELECT m.id, m.state,
                EXISTS (SELECT 1 FROM approval_requests r
                        WHERE r.member_id = m.id AND r.state = 'pending')
         FROM memberships m
         WHERE m.org_id = ? AND m.id IN (SELECT value FROM json_each(?))",
    )
    .bind(org_id)
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
