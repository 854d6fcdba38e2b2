//! Stacks and their roles in SQLite: listing, creating, and renaming a stack or a custom
//! role (built-in roles keep their names). Mappings name roles by uid, so a rename shows
//! everywhere at once.

use super::access::audit;
use super::{SqliteStore, db_err};
use crate::scim::datetime;
use crate::store::access_rules as rules;
use crate::store::access_types::*;
use crate::store::secret;
use crate::store::{StoreError, StoreResult};
use serde_json::json;
use sqlx::{Row, SqliteConnection};

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

pub(crate) async fn create_stack(
    store: &SqliteStore,
    org_id: i64,
    name: &str,
    actor: &str,
) -> StoreResult<Stack> {
    let name = rules::clean_name(name, "stack")?;
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
            .map_err(|e| rules::name_taken(db_err(e), "a stack", &name))?
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
        "INSERT INTO stack_roles (stack_id, uid, name, builtin, created_at) VALUES (?, ?, ?, 0, ?)",
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
        stack_uid,
        None,
        Some(&json!(role)),
    )
    .await?;
    tx.commit().await.map_err(db_err)?;
    Ok(role)
}

pub(crate) async fn rename_stack(
    store: &SqliteStore,
    org_id: i64,
    stack_uid: &str,
    name: &str,
    actor: &str,
) -> StoreResult<Stack> {
    let name = rules::clean_name(name, "stack")?;
    let mut tx = store.begin().await?;
    let id = stack_id(&mut tx, org_id, stack_uid).await?;
    let before: String = sqlx::query_scalar("SELECT name FROM stacks WHERE id = ?")
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
    sqlx::query("UPDATE stacks SET name = ? WHERE id = ?")
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
        stack_uid,
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

pub(crate) async fn rename_stack_role(
    store: &SqliteStore,
    org_id: i64,
    stack_uid: &str,
    role_uid: &str,
    name: &str,
    actor: &str,
) -> StoreResult<RoleInfo> {
    let name = rules::clean_name(name, "role")?;
    let mut tx = store.begin().await?;
    let id = stack_id(&mut tx, org_id, stack_uid).await?;
    let row: Option<(String, bool)> =
        sqlx::query_as("SELECT name, builtin FROM stack_roles WHERE stack_id = ? AND uid = ?")
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
    sqlx::query("UPDATE stack_roles SET name = ? WHERE stack_id = ? AND uid = ?")
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
        stack_uid,
        Some(&json!({"uid": role_uid, "name": before})),
        Some(&json!(role)),
    )
    .await?;
    tx.commit().await.map_err(db_err)?;
    Ok(role)
}
