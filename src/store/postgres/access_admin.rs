//! Stacks, roles, group mappings, members and the approval queue on PostgreSQL: the admin
//! API's access functions. The rules, views and impact are `store::access_rules`'; reads and
//! writes of members go through `access.rs`, which locks what a decision reads.

use super::access::{Loaded, load, load_names, lock_members, write_all};
use super::{PgStore, audit, db_err};
use crate::domain::access::{Access, GroupMapping, OrgRole, StackRole};
use crate::scim::datetime;
use crate::store::access_rules::views::Names;
use crate::store::access_rules::{self as rules, Who, impact, writes};
use crate::store::access_types::*;
use crate::store::secret;
use crate::store::{CursorPage, StoreError, StoreResult};
use serde_json::json;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use std::collections::HashMap;

// ---------------------------------------------------------------------------------------
// Stacks and roles.

/// A stack's roles (`r`) in the order SQLite lists them: built-ins first (Admin, Developer,
/// then the rest), then custom roles by creation.
const ROLE_ORDER: &str = "r.builtin DESC,
    CASE r.uid WHEN 'admin' THEN 0 WHEN 'developer' THEN 1 ELSE 2 END, r.created_at, r.uid";

fn role_info(r: &PgRow) -> StoreResult<RoleInfo> {
    Ok(RoleInfo {
        uid: r.try_get("uid").map_err(db_err)?,
        name: r.try_get("name").map_err(db_err)?,
        builtin: r.try_get("builtin").map_err(db_err)?,
    })
}

async fn stack_roles_of(conn: &mut PgConnection, stack_id: i64) -> StoreResult<Vec<RoleInfo>> {
    let sql = format!(
        "SELECT r.uid, r.name, r.builtin FROM stack_roles r WHERE r.stack_id = $1
         ORDER BY {ROLE_ORDER}"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(stack_id)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    rows.iter().map(role_info).collect()
}

pub(crate) async fn list_stacks(store: &PgStore, org_id: i64) -> StoreResult<Vec<Stack>> {
    // The org's stacks and all their roles in one statement, stacks by name.
    let sql = format!(
        "SELECT s.uid AS stack_uid, s.name AS stack_name, r.uid, r.name, r.builtin
         FROM stacks s JOIN stack_roles r ON r.stack_id = s.id
         WHERE s.org_id = $1
         ORDER BY s.name, s.uid, {ROLE_ORDER}"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org_id)
        .fetch_all(store.pool())
        .await
        .map_err(db_err)?;
    let mut out: Vec<Stack> = Vec::new();
    for r in &rows {
        let uid: String = r.try_get("stack_uid").map_err(db_err)?;
        if out.last().is_none_or(|s| s.uid != uid) {
            out.push(Stack {
                uid,
                name: r.try_get("stack_name").map_err(db_err)?,
                roles: Vec::new(),
            });
        }
        if let Some(s) = out.last_mut() {
            s.roles.push(role_info(r)?);
        }
    }
    Ok(out)
}

pub(crate) async fn create_stack(
    store: &PgStore,
    org_id: i64,
    name: &str,
    actor: &str,
) -> StoreResult<Stack> {
    let name = rules::clean_name(name, "stack")?;
    let now = datetime::now_rfc3339();
    let uid = format!("st_{}", secret::new_hex_id(8));
    let mut tx = store.begin().await?;
    let (uids, names): (Vec<&str>, Vec<&str>) = crate::domain::access::BUILTIN_STACK_ROLES
        .into_iter()
        .unzip();
    let stack_id: i64 = sqlx::query_scalar(
        "WITH s AS (INSERT INTO stacks (org_id, uid, name, created_at) VALUES ($1, $2, $3, $4)
                    RETURNING id),
              r AS (INSERT INTO stack_roles (stack_id, uid, name, builtin, created_at)
                    SELECT s.id, b.uid, b.name, true, $4
                    FROM s, unnest($5::text[], $6::text[]) AS b(uid, name))
         SELECT id FROM s",
    )
    .bind(org_id)
    .bind(&uid)
    .bind(&name)
    .bind(&now)
    .bind(uids)
    .bind(names)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| rules::name_taken(db_err(e), "a stack", &name))?;
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
        Some(&uid),
        None,
        Some(&json!(stack)),
    )
    .await?;
    tx.commit().await.map_err(db_err)?;
    Ok(stack)
}

async fn stack_id(conn: &mut PgConnection, org_id: i64, uid: &str) -> StoreResult<i64> {
    sqlx::query_scalar("SELECT id FROM stacks WHERE org_id = $1 AND uid = $2")
        .bind(org_id)
        .bind(uid)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?
        .ok_or_else(|| StoreError::NotFound(format!("no stack '{uid}' in this organization")))
}

pub(crate) async fn stack_roles(
    store: &PgStore,
    org_id: i64,
    stack_uid: &str,
) -> StoreResult<Vec<RoleInfo>> {
    let mut conn = store.pool().acquire().await.map_err(db_err)?;
    let id = stack_id(&mut conn, org_id, stack_uid).await?;
    stack_roles_of(&mut conn, id).await
}

pub(crate) async fn create_stack_role(
    store: &PgStore,
    org_id: i64,
    stack_uid: &str,
    name: &str,
    actor: &str,
) -> StoreResult<RoleInfo> {
    let name = rules::clean_name(name, "role")?;
    let now = datetime::now_rfc3339();
    let mut tx = store.begin().await?;
    let id = stack_id(&mut tx, org_id, stack_uid).await?;
    let role = RoleInfo {
        uid: format!("role_{}", secret::new_hex_id(8)),
        name,
        builtin: false,
    };
    sqlx::query(
        "INSERT INTO stack_roles (stack_id, uid, name, builtin, created_at)
         VALUES ($1, $2, $3, false, $4)",
    )
    .bind(id)
    .bind(&role.uid)
    .bind(&role.name)
    .bind(&now)
    .execute(&mut *tx)
    .await
    .map_err(|e| rules::name_taken(db_err(e), "a role on this stack", &role.name))?;
    audit(
        &mut tx,
        org_id,
        actor,
        "stack.role.create",
        Some(stack_uid),
        None,
        Some(&json!(role)),
    )
    .await?;
    tx.commit().await.map_err(db_err)?;
    Ok(role)
}

/// Renames a stack; its roles and the mappings that name them follow (mappings keep uids).
pub(crate) async fn rename_stack(
    store: &PgStore,
    org_id: i64,
    stack_uid: &str,
    name: &str,
    actor: &str,
) -> StoreResult<Stack> {
    let name = rules::clean_name(name, "stack")?;
    let mut tx = store.begin().await?;
    let row: Option<(i64, String)> =
        sqlx::query_as("SELECT id, name FROM stacks WHERE org_id = $1 AND uid = $2 FOR UPDATE")
            .bind(org_id)
            .bind(stack_uid)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
    let (id, before) = row.ok_or_else(|| {
        StoreError::NotFound(format!("no stack '{stack_uid}' in this organization"))
    })?;
    sqlx::query("UPDATE stacks SET name = $1 WHERE id = $2")
        .bind(&name)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| rules::name_taken(db_err(e), "a stack", &name))?;
    audit(
        &mut tx,
        org_id,
        actor,
        "stack.update",
        Some(stack_uid),
        Some(&json!({"name": before})),
        Some(&json!({"name": name})),
    )
    .await?;
    let stack = Stack {
        uid: stack_uid.to_string(),
        name,
        roles: stack_roles_of(&mut tx, id).await?,
    };
    tx.commit().await.map_err(db_err)?;
    Ok(stack)
}

/// Renames a custom role; a built-in one keeps its name (Conflict).
pub(crate) async fn rename_stack_role(
    store: &PgStore,
    org_id: i64,
    stack_uid: &str,
    role_uid: &str,
    name: &str,
    actor: &str,
) -> StoreResult<RoleInfo> {
    let name = rules::clean_name(name, "role")?;
    let mut tx = store.begin().await?;
    let id = stack_id(&mut tx, org_id, stack_uid).await?;
    let row: Option<(String, bool)> = sqlx::query_as(
        "SELECT name, builtin FROM stack_roles WHERE stack_id = $1 AND uid = $2 FOR UPDATE",
    )
    .bind(id)
    .bind(role_uid)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?;
    let (before, builtin) = row.ok_or_else(|| {
        StoreError::NotFound(format!("no role '{role_uid}' on stack '{stack_uid}'"))
    })?;
    if builtin {
        return Err(StoreError::Conflict(format!(
            "'{before}' is a built-in role and keeps its name; add a custom role instead"
        )));
    }
    sqlx::query("UPDATE stack_roles SET name = $1 WHERE stack_id = $2 AND uid = $3")
        .bind(&name)
        .bind(id)
        .bind(role_uid)
        .execute(&mut *tx)
        .await
        .map_err(|e| rules::name_taken(db_err(e), "a role on this stack", &name))?;
    let role = RoleInfo {
        uid: role_uid.to_string(),
        name,
        builtin: false,
    };
    audit(
        &mut tx,
        org_id,
        actor,
        "stack.role.update",
        Some(stack_uid),
        Some(&json!({"uid": role_uid, "name": before})),
        Some(&json!(role)),
    )
    .await?;
    tx.commit().await.map_err(db_err)?;
    Ok(role)
}

// ---------------------------------------------------------------------------------------
// Groups and mappings.

/// A group's display name; `lock` also locks the group's row until the transaction ends,
/// which holds its member list still: adding a member checks the group's row (its foreign
/// key) and a SCIM change to the group updates it, and both wait for this lock.
async fn group_name(
    conn: &mut PgConnection,
    org_id: i64,
    group_id: &str,
    lock: bool,
) -> StoreResult<String> {
    let sql = if lock {
        "SELECT display_name FROM scim_groups WHERE org_id = $1 AND id = $2 FOR UPDATE"
    } else {
        "SELECT display_name FROM scim_groups WHERE org_id = $1 AND id = $2"
    };
    sqlx::query_scalar(sql)
        .bind(org_id)
        .bind(group_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?
        .ok_or_else(|| {
            StoreError::NotFound(format!("no SCIM group '{group_id}' in this organization"))
        })
}

/// The columns of a group's mapping that [`mapping_from_row`] reads (`g` the group).
const MAPPING_COLUMNS: &str = "mp.org_role, mp.updated_at, mp.updated_by,
    (SELECT json_agg(json_build_array(r.stack_uid, r.role_uid))
     FROM group_mapping_roles r WHERE r.group_id = g.id)::text AS mapped_roles";

fn mapping_from_row(
    r: &PgRow,
    names: &Names,
    group_id: &str,
    group_name: &str,
) -> StoreResult<Option<Mapping>> {
    let Some(role) = r.try_get::<Option<String>, _>("org_role").map_err(db_err)? else {
        return Ok(None);
    };
    let roles: Option<String> = r.try_get("mapped_roles").map_err(db_err)?;
    let roles: Vec<(String, String)> = match roles {
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| StoreError::Db(format!("mapping roles: unexpected JSON: {e}")))?,
        None => Vec::new(),
    };
    let m = GroupMapping {
        group_id: group_id.to_string(),
        org_role: OrgRole::parse(&role).unwrap_or(OrgRole::Member),
        stack_roles: roles
            .into_iter()
            .map(|(s, r)| StackRole::new(s, r))
            .collect(),
    };
    Ok(Some(names.mapping(
        &m,
        group_name,
        r.try_get("updated_at").map_err(db_err)?,
        r.try_get("updated_by").map_err(db_err)?,
    )))
}

async fn mapping_view(
    conn: &mut PgConnection,
    names: &Names,
    group_id: &str,
    group_name: &str,
) -> StoreResult<Option<Mapping>> {
    let sql = format!(
        "SELECT {MAPPING_COLUMNS} FROM scim_groups g
         JOIN group_mappings mp ON mp.group_id = g.id WHERE g.id = $1"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(group_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    match row {
        Some(r) => mapping_from_row(&r, names, group_id, group_name),
        None => Ok(None),
    }
}

pub(crate) async fn get_mapping(
    store: &PgStore,
    org_id: i64,
    group_id: &str,
) -> StoreResult<Option<Mapping>> {
    let mut conn = store.pool().acquire().await.map_err(db_err)?;
    let name = group_name(&mut conn, org_id, group_id, false).await?;
    let names = load_names(&mut conn, org_id).await?;
    mapping_view(&mut conn, &names, group_id, &name).await
}

/// A LIKE pattern for a text filter in any case (compared with `lower(column)`), or `None`
/// without a filter.
fn lowered_pattern(filter: Option<&str>) -> Option<String> {
    filter.map(|f| rules::like_pattern(&f.to_lowercase()))
}

pub(crate) async fn list_groups(
    store: &PgStore,
    org_id: i64,
    filter: Option<&str>,
    limit: u64,
    cursor: Option<&str>,
) -> StoreResult<CursorPage<GroupInfo>> {
    let mut conn = store.pool().acquire().await.map_err(db_err)?;
    let pattern = lowered_pattern(filter);
    const MATCH: &str = "g.org_id = $1 AND ($2::text IS NULL OR lower(g.display_name) LIKE $2)";
    let total: i64 = match &pattern {
        None => {
            sqlx::query_scalar(
                "SELECT coalesce(sum(n), 0)::bigint FROM resource_counts
             WHERE org_id = $1 AND kind = 'group'",
            )
            .bind(org_id)
            .fetch_one(&mut *conn)
            .await
        }
        Some(p) => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT count(*) FROM scim_groups g WHERE {MATCH}"
            )))
            .bind(org_id)
            .bind(p)
            .fetch_one(&mut *conn)
            .await
        }
    }
    .map_err(db_err)?;
    // Names compare in any case, as SQLite's NOCASE column does.
    let (after_name, after_id) = rules::group_cursor(cursor);
    let sql = format!(
        "SELECT g.id, g.display_name,
                (SELECT count(*) FROM group_members gm WHERE gm.group_id = g.id) AS members,
                {MAPPING_COLUMNS}
         FROM scim_groups g LEFT JOIN group_mappings mp ON mp.group_id = g.id
         WHERE {MATCH} AND (lower(g.display_name), g.id) > (lower($3), $4)
         ORDER BY lower(g.display_name), g.id LIMIT $5"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org_id)
        .bind(&pattern)
        .bind(&after_name)
        .bind(&after_id)
        .bind(limit as i64 + 1)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    let names = load_names(&mut conn, org_id).await?;
    let mut items = Vec::new();
    for r in rows.iter().take(limit as usize) {
        let id: String = r.try_get("id").map_err(db_err)?;
        let display_name: String = r.try_get("display_name").map_err(db_err)?;
        let count: i64 = r.try_get("members").map_err(db_err)?;
        let mapping = mapping_from_row(r, &names, &id, &display_name)?;
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
        total: total.max(0) as u64,
        next,
    })
}

pub(crate) async fn preview_mapping(
    store: &PgStore,
    org_id: i64,
    group_id: &str,
    input: Option<&MappingInput>,
) -> StoreResult<MappingImpact> {
    let mut conn = store.pool().acquire().await.map_err(db_err)?;
    group_name(&mut conn, org_id, group_id, false).await?;
    let names = load_names(&mut conn, org_id).await?;
    if let Some(i) = input {
        rules::validate_mapping(i, &names)?;
    }
    let new = input.map(|i| rules::to_domain_mapping(group_id, i));
    let Loaded {
        rows,
        mappings,
        policy,
    } = load(&mut conn, org_id, Who::GroupForRules(group_id)).await?;
    Ok(impact::plan_mapping(rows, &mappings, group_id, new.as_ref(), &policy, &names).impact)
}

/// Saves (or with `None` deletes) a group's mapping and applies its effect at once: an admin
/// edit is a decision. Returns the mapping after the save, and the impact.
pub(crate) async fn set_mapping(
    store: &PgStore,
    org_id: i64,
    group_id: &str,
    input: Option<&MappingInput>,
    actor: &str,
) -> StoreResult<(Option<Mapping>, MappingImpact)> {
    let mut tx = store.begin().await?;
    // The group first, then its members (in id order), as the SCIM write path locks them.
    let name = group_name(&mut tx, org_id, group_id, true).await?;
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
    lock_members(&mut tx, org_id, Who::GroupForRules(group_id)).await?;
    let Loaded {
        rows,
        mappings,
        policy,
    } = load(&mut tx, org_id, Who::GroupForRules(group_id)).await?;
    let plan = impact::plan_mapping(rows, &mappings, group_id, new.as_ref(), &policy, &names);
    let now = datetime::now_rfc3339();
    let planned = plan
        .writes
        .iter()
        .map(|w| writes::plan_write(&w.row, &w.transition))
        .collect::<StoreResult<Vec<_>>>()?;
    write_all(&mut tx, org_id, &planned, actor, &now).await?;
    match &new {
        None => {
            sqlx::query("DELETE FROM group_mappings WHERE group_id = $1")
                .bind(group_id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        Some(m) => {
            let (stacks, roles): (Vec<&str>, Vec<&str>) = m
                .stack_roles
                .iter()
                .map(|r| (r.stack_uid.as_str(), r.role_uid.as_str()))
                .unzip();
            sqlx::query(
                "INSERT INTO group_mappings (group_id, org_id, org_role, updated_at, updated_by)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (group_id) DO UPDATE SET org_role = excluded.org_role,
                   updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            )
            .bind(group_id)
            .bind(org_id)
            .bind(m.org_role.as_str())
            .bind(&now)
            .bind(actor)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            // Roles the mapping keeps are neither deleted nor inserted: no row is touched
            // twice by the one statement.
            sqlx::query(
                "WITH wanted AS (SELECT * FROM unnest($2::text[], $3::text[]) AS w(s, r)),
                      dropped AS (
                        DELETE FROM group_mapping_roles x WHERE x.group_id = $1
                          AND (x.stack_uid, x.role_uid) NOT IN (SELECT s, r FROM wanted))
                 INSERT INTO group_mapping_roles (group_id, stack_uid, role_uid)
                 SELECT $1, s, r FROM wanted ON CONFLICT DO NOTHING",
            )
            .bind(group_id)
            .bind(stacks)
            .bind(roles)
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
        Some(group_id),
        before.as_ref().map(|b| json!(b)).as_ref(),
        Some(&after_audit),
    )
    .await?;
    tx.commit().await.map_err(db_err)?;
    Ok((after, plan.impact))
}

/// The access that the org's mappings imply for every SCIM User in at least one mapped
/// group, by SCIM User id (see `access_rules::effective_of`): a row per mapped group, with its
/// stack roles and member ids as arrays.
pub(crate) async fn org_effective_access(
    store: &PgStore,
    org_id: i64,
) -> StoreResult<HashMap<String, Access>> {
    type Raw = (String, String, Vec<String>, Vec<String>, Vec<String>);
    let rows: Vec<Raw> = sqlx::query_as(
        "SELECT mp.group_id, mp.org_role,
                array(SELECT r.stack_uid FROM group_mapping_roles r
                      WHERE r.group_id = mp.group_id ORDER BY r.stack_uid, r.role_uid),
                array(SELECT r.role_uid FROM group_mapping_roles r
                      WHERE r.group_id = mp.group_id ORDER BY r.stack_uid, r.role_uid),
                array(SELECT gm.user_id FROM group_members gm WHERE gm.group_id = mp.group_id)
         FROM group_mappings mp WHERE mp.org_id = $1",
    )
    .bind(org_id)
    .fetch_all(store.pool())
    .await
    .map_err(db_err)?;
    Ok(rules::effective_of(
        rows.into_iter()
            .map(|(group_id, role, stacks, roles, members)| {
                let mapping = GroupMapping {
                    group_id,
                    org_role: OrgRole::parse(&role).unwrap_or(OrgRole::Member),
                    stack_roles: stacks
                        .into_iter()
                        .zip(roles)
                        .map(|(s, r)| StackRole::new(s, r))
                        .collect(),
                };
                (mapping, members)
            })
            .collect(),
    ))
}
