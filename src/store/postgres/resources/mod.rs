//! SCIM Users and Groups on PostgreSQL: the same rows and meanings as SQLite's
//! (`store/scim_rows.rs` holds what both share), for several replicas on one database.
//!
//! What must hold across replicas is the database's to hold: the unique index on
//! (org, lower(userName)) decides duplicate userNames, racing creates included; an update or
//! delete locks its resource row (`FOR UPDATE`) before it reads it, so that read-modify-write
//! never loses a concurrent change and a version moves once per change; member rows are
//! inserted with `ON CONFLICT DO NOTHING` in id order. A member change touches member rows
//! only: a group of 100,000 is never loaded unless the caller asks for its members.

mod members;
mod read;

use members::{add_members, apply_member_ops, audit_skipped, storable};
pub(crate) use read::{get, list};
use read::{record_from_row, select_one};

use super::{PgStore, access, account_for, audit, db_err};
use crate::domain::approval::ApprovalPolicy;
use crate::scim::ScimError;
use crate::scim::datetime;
use crate::scim::text::fold_address;
use crate::store::access_rules::{self, Cause};
use crate::store::scim_rows::{
    MemberDelta, Promoted, Updated, created, group_created_json, promoted, rt, skipped_json, taken,
};
use crate::store::secret;
use crate::store::*;
use serde_json::Value;
use sqlx::{AssertSqlSafe, PgConnection, Row};
/// Conflicts of a write that sets a userName: the unique index named it.
fn user_name_conflict(e: StoreError, user_name: &str) -> StoreError {
    match e {
        StoreError::Conflict(_) => taken(user_name),
        other => other,
    }
}

/// Creates a SCIM User: the account of its userName (created if missing, emails match in any
/// case), the membership (the same one when the email was provisioned before, so the SCIM
/// User keeps its id; a membership made outside SCIM keeps its state) and the SCIM User, in
/// one statement. Parameters: $1 userName, $2 now, $3 a new membership id, $4 org,
/// $5 externalId, $6 displayName, $7 active, $8 the resource, $9 the userName folded (the
/// account's key, see `scim::text::fold_address`). Returns the SCIM User id,
/// whether the membership is the one just inserted, and the org's approval policy. A userName
/// taken in any case fails on the unique index, whoever inserted it.
const CREATE_USER_SQL: &str = "
    WITH account AS (
        INSERT INTO accounts (email, email_key, created_at) VALUES ($1, $9, $2)
        ON CONFLICT (email_key) DO UPDATE SET email = accounts.email
        RETURNING id
    ), member AS (
        INSERT INTO memberships (id, org_id, account_id, role, state, source, created_at, updated_at)
        SELECT $3, $4, account.id, 'member', 'pending', 'scim', $2, $2 FROM account
        ON CONFLICT (org_id, account_id) DO UPDATE SET updated_at = excluded.updated_at
        RETURNING id
    ), scim_user AS (
        INSERT INTO scim_users (id, org_id, user_name, external_id, display_name, active,
            resource, version, created_at, last_modified)
        SELECT member.id, $4, $1, $5, $6, $7, $8::jsonb, 1, $2, $2 FROM member
        RETURNING id
    )
    SELECT scim_user.id, scim_user.id = $3 AS fresh, o.approval_provision,
        o.approval_access_increase, o.approval_deprovision
    FROM scim_user, organizations o WHERE o.id = $4";

pub(crate) async fn create(
    store: &PgStore,
    kind: Kind,
    org_id: i64,
    resource: Value,
    members: Vec<String>,
    actor: &str,
) -> StoreResult<WriteOutcome> {
    let now = datetime::now_rfc3339();
    let mut tx = store.begin().await?;
    let out = create_in(&mut tx, kind, org_id, resource, &members, actor, &now).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(out)
}

/// Connections one Bulk request's creations use at once at most.
const BULK_CONNECTIONS: usize = 8;
/// Below this many creations a batch runs in one transaction.
const BULK_SPLIT_AT: usize = 64;

/// The creations of one Bulk request: in a few transactions run side by side (each creation
/// costs several round trips, which one connection would wait for in turn), each with a
/// savepoint per creation so that one that fails is undone alone and the others commit
/// together. Results in the order given.
pub(crate) async fn create_many(
    store: &PgStore,
    org_id: i64,
    items: Vec<NewResource>,
    actor: &str,
) -> Vec<StoreResult<WriteOutcome>> {
    if items.len() < BULK_SPLIT_AT {
        return create_chunk(store, org_id, items, actor).await;
    }
    let n = items.len();
    let per_chunk = n.div_ceil(BULK_CONNECTIONS);
    let mut set = tokio::task::JoinSet::new();
    let mut items = items.into_iter();
    let mut k = 0;
    loop {
        let chunk: Vec<NewResource> = items.by_ref().take(per_chunk).collect();
        if chunk.is_empty() {
            break;
        }
        let (store, actor) = (store.clone(), actor.to_string());
        set.spawn(async move { (k, create_chunk(&store, org_id, chunk, &actor).await) });
        k += 1;
    }
    let mut chunks: Vec<(usize, Vec<StoreResult<WriteOutcome>>)> = Vec::with_capacity(k);
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(c) => chunks.push(c),
            Err(e) => {
                let e = StoreError::Db(format!("a bulk write stopped unexpectedly: {e}"));
                return (0..n).map(|_| Err(same_error(&e))).collect();
            }
        }
    }
    chunks.sort_by_key(|(k, _)| *k);
    chunks.into_iter().flat_map(|(_, r)| r).collect()
}

/// Creations in one transaction, a savepoint each.
async fn create_chunk(
    store: &PgStore,
    org_id: i64,
    items: Vec<NewResource>,
    actor: &str,
) -> Vec<StoreResult<WriteOutcome>> {
    let n = items.len();
    let all_failed = |e: &StoreError| (0..n).map(|_| Err(same_error(e))).collect();
    let now = datetime::now_rfc3339();
    let mut tx = match store.begin().await {
        Ok(tx) => tx,
        Err(e) => return all_failed(&e),
    };
    let mut out = Vec::with_capacity(n);
    for item in items {
        let step = async {
            sqlx::query("SAVEPOINT bulk_item")
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            let r = create_in(
                &mut tx,
                item.kind,
                org_id,
                item.resource,
                &item.members,
                actor,
                &now,
            )
            .await;
            let end = if r.is_ok() {
                "RELEASE SAVEPOINT bulk_item"
            } else {
                "ROLLBACK TO SAVEPOINT bulk_item"
            };
            sqlx::query(end).execute(&mut *tx).await.map_err(db_err)?;
            Ok::<_, StoreError>(r)
        };
        match step.await {
            Ok(r) => out.push(r),
            // The transaction itself broke: nothing of it will commit.
            Err(e) => return all_failed(&e),
        }
    }
    if let Err(e) = tx.commit().await.map_err(db_err) {
        return all_failed(&e);
    }
    out
}

/// A copy of a store error, for each write of a batch that failed as a whole.
fn same_error(e: &StoreError) -> StoreError {
    match e {
        StoreError::NotFound(m) => StoreError::NotFound(m.clone()),
        StoreError::Conflict(m) => StoreError::Conflict(m.clone()),
        StoreError::Rejected(s) => StoreError::Rejected(s.clone()),
        StoreError::Db(m) => StoreError::Db(m.clone()),
        StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
    }
}

/// One creation inside the caller's transaction, with its audit events.
async fn create_in(
    tx: &mut PgConnection,
    kind: Kind,
    org_id: i64,
    resource: Value,
    members: &[String],
    actor: &str,
    now: &str,
) -> StoreResult<WriteOutcome> {
    let p = promoted(kind, &resource)?;
    let text = resource.to_string();
    let mut skipped = Vec::new();
    let id = match kind {
        Kind::User => create_user(tx, org_id, &p, &resource, &text, now, actor).await?,
        Kind::Group => {
            let id = secret::new_uuid();
            sqlx::query(
                "INSERT INTO scim_groups (id, org_id, display_name, external_id, resource,
                   version, created_at, last_modified)
                 VALUES ($1, $2, $3, $4, $5::jsonb, 1, $6, $6)",
            )
            .bind(&id)
            .bind(org_id)
            .bind(&p.name)
            .bind(&p.external_id)
            .bind(&text)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            let mut delta = MemberDelta::default();
            add_members(tx, org_id, &id, members, &mut delta).await?;
            let after = group_created_json(&resource, &delta);
            audit(
                tx,
                org_id,
                actor,
                "scim.group.create",
                Some(&id),
                None,
                Some(&after),
            )
            .await?;
            audit_skipped(tx, org_id, actor, &id, &delta.skipped).await?;
            skipped = delta.skipped;
            id
        }
    };
    Ok(created(id, resource, now, skipped))
}

const CREATED: &str = "scim.user.create";

async fn create_user(
    conn: &mut PgConnection,
    org_id: i64,
    p: &Promoted,
    resource: &Value,
    text: &str,
    now: &str,
    actor: &str,
) -> StoreResult<String> {
    let row = sqlx::query(CREATE_USER_SQL)
        .bind(&p.name)
        .bind(now)
        .bind(secret::new_uuid())
        .bind(org_id)
        .bind(&p.external_id)
        .bind(&p.display_name)
        .bind(p.active)
        .bind(text)
        .bind(crate::scim::text::fold_address(&p.name))
        .fetch_optional(&mut *conn)
        .await
        .map_err(|e| user_name_conflict(db_err(e), &p.name))?;
    let Some(row) = row else {
        return Err(StoreError::NotFound("organization".into()));
    };
    let id: String = row.try_get("id").map_err(db_err)?;
    let fresh: bool = row.try_get("fresh").map_err(db_err)?;
    // The membership's state and access follow from the approval rules. A membership just
    // inserted has nothing to read back; one provisioned again (same email) does.
    // The create's audit event goes with the membership's writes when there are some to
    // make (one statement less for every new user).
    let event = (CREATED, id.as_str(), text.to_string());
    if fresh {
        let policy = ApprovalPolicy {
            provision: row.try_get("approval_provision").map_err(db_err)?,
            access_increase: row.try_get("approval_access_increase").map_err(db_err)?,
            deprovision: row.try_get("approval_deprovision").map_err(db_err)?,
        };
        access::reconcile_new(conn, org_id, &id, p.active, &policy, event, actor, now).await?;
    } else {
        access::reconcile(conn, org_id, std::slice::from_ref(&id), actor).await?;
        audit(
            conn,
            org_id,
            actor,
            CREATED,
            Some(&id),
            None,
            Some(resource),
        )
        .await?;
    }
    Ok(id)
}

/// The current record, its row locked until the write commits: a concurrent update or
/// delete of the same resource, on any replica, waits for this one and then reads its result.
/// For a group, also whether it is mapped (a user: false).
async fn current(
    conn: &mut PgConnection,
    kind: Kind,
    org_id: i64,
    id: &str,
    with_members: bool,
) -> StoreResult<(ResourceRecord, bool)> {
    let with_members = with_members && kind == Kind::Group;
    let row = match storable(id) {
        true => sqlx::query(AssertSqlSafe(select_one(kind, with_members, true)))
            .bind(org_id)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_err)?,
        false => None,
    };
    match row {
        Some(r) => {
            let mapped = match kind {
                Kind::Group => r.try_get("mapped").map_err(db_err)?,
                Kind::User => false,
            };
            Ok((record_from_row(&r, with_members)?, mapped))
        }
        None => Err(StoreError::NotFound(format!(
            "{} {id} not found",
            rt(kind).name
        ))),
    }
}

/// Re-links a membership to the account of a new userName. A membership made outside SCIM is
/// never moved (400 `mutability`); the admin tokens of one that moves are revoked, so that a
/// token issued to one address never acts for another.
async fn relink_account(
    conn: &mut PgConnection,
    org_id: i64,
    membership_id: &str,
    user_name: &str,
    now: &str,
    actor: &str,
) -> StoreResult<()> {
    let source: Option<String> =
        sqlx::query_scalar("SELECT source FROM memberships WHERE id = $1 FOR UPDATE")
            .bind(membership_id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_err)?;
    if source.as_deref() != Some("scim") {
        return Err(access_rules::manual_rename_refused(user_name));
    }
    let revoked: Vec<(String, String)> = sqlx::query_as(
        "UPDATE admin_tokens SET revoked_at = $1 WHERE membership_id = $2 AND revoked_at IS NULL
         RETURNING id, label",
    )
    .bind(now)
    .bind(membership_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    for (token_id, label) in revoked {
        let before = access_rules::renamed_token_json(&token_id, &label, user_name);
        audit(
            conn,
            org_id,
            actor,
            "admin_token.revoke",
            Some(&token_id),
            Some(&before),
            None,
        )
        .await?;
    }
    let account = account_for(conn, user_name, now).await?;
    let other: Option<String> =
        sqlx::query_scalar("SELECT id FROM memberships WHERE org_id = $1 AND account_id = $2")
            .bind(org_id)
            .bind(account)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_err)?;
    match other {
        Some(o) if o != membership_id => Err(taken(user_name)),
        Some(_) => Ok(()),
        None => {
            sqlx::query("UPDATE memberships SET account_id = $1, updated_at = $2 WHERE id = $3")
                .bind(account)
                .bind(now)
                .bind(membership_id)
                .execute(&mut *conn)
                .await
                .map_err(|e| user_name_conflict(db_err(e), user_name))?;
            Ok(())
        }
    }
}

pub(crate) async fn update<F>(
    store: &PgStore,
    kind: Kind,
    org_id: i64,
    id: &str,
    load: bool,
    actor: &str,
    decide: F,
) -> StoreResult<WriteOutcome>
where
    F: FnOnce(&ResourceRecord) -> Result<Change, ScimError> + Send,
{
    let mut tx = store.begin().await?;
    let (rec, mapped) = current(&mut tx, kind, org_id, id, load).await?;
    let change = decide(&rec)?;
    let now = datetime::now_rfc3339();
    let new_resource = change.resource.filter(|r| *r != rec.resource);
    let mut delta = MemberDelta::default();
    if kind == Kind::Group && !change.members.is_empty() {
        delta = apply_member_ops(&mut tx, org_id, id, &change.members).await?;
        if delta.changed() && mapped {
            let mut affected = delta.affected();
            // Memberships are locked in id order, whichever group write gets there first.
            affected.sort();
            affected.dedup();
            access::reconcile(&mut tx, org_id, &affected, actor).await?;
        }
    }
    let updated = Updated {
        kind,
        before: rec,
        resource: new_resource,
        delta,
        now,
    };
    match kind {
        Kind::User => {
            if let Some(new) = &updated.resource {
                update_user(
                    &mut tx,
                    org_id,
                    id,
                    &updated.before.resource,
                    new,
                    &updated.now,
                    actor,
                )
                .await?;
            }
            if let Some((action, after)) = updated.audit() {
                let before = Some(&updated.before.resource);
                audit(
                    &mut tx,
                    org_id,
                    actor,
                    action,
                    Some(id),
                    before,
                    Some(&after),
                )
                .await?;
            }
        }
        Kind::Group => write_group(&mut tx, org_id, id, &updated, actor).await?,
    }
    tx.commit().await.map_err(db_err)?;
    Ok(updated.outcome())
}

/// A user's new resource: its columns, its account when the userName changed, and its
/// access when `active` did.
async fn update_user(
    conn: &mut PgConnection,
    org_id: i64,
    id: &str,
    old: &Value,
    new: &Value,
    now: &str,
    actor: &str,
) -> StoreResult<()> {
    let p = promoted(Kind::User, new)?;
    let old = promoted(Kind::User, old)?;
    let renamed = fold_address(&old.name) != fold_address(&p.name);
    if renamed {
        relink_account(conn, org_id, id, &p.name, now, actor).await?;
    }
    sqlx::query(
        "UPDATE scim_users SET user_name = $1, external_id = $2, display_name = $3,
           active = $4, resource = $5::jsonb, version = version + 1, last_modified = $6
         WHERE id = $7",
    )
    .bind(&p.name)
    .bind(&p.external_id)
    .bind(&p.display_name)
    .bind(p.active)
    .bind(new.to_string())
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await
    .map_err(|e| user_name_conflict(db_err(e), &p.name))?;
    if renamed {
        access::reconcile_as(conn, org_id, &[id.to_string()], actor, Cause::Rename).await?;
    } else if old.active != p.active {
        access::reconcile(conn, org_id, &[id.to_string()], actor).await?;
    }
    Ok(())
}

/// A group's row after its member rows changed: its new resource (if any) and version, and
/// the update's audit events, in one statement. The group row is locked, so every statement
/// saved here is time another writer of the group does not wait.
async fn write_group(
    conn: &mut PgConnection,
    org_id: i64,
    id: &str,
    updated: &Updated,
    actor: &str,
) -> StoreResult<()> {
    let mut actions = Vec::new();
    let mut befores = Vec::new();
    let mut afters = Vec::new();
    if let Some((action, after)) = updated.audit() {
        actions.push(action);
        befores.push(Some(updated.before.resource.to_string()));
        afters.push(after.to_string());
    }
    let skipped = &updated.delta.skipped;
    if !skipped.is_empty() {
        // jsonb holds no NUL either: such an id is recorded with U+FFFD in its place.
        let recorded: Vec<String> = skipped
            .iter()
            .map(|id| id.replace('\0', "\u{fffd}"))
            .collect();
        actions.push("scim.group.members_skipped");
        befores.push(None);
        afters.push(skipped_json(&recorded).to_string());
    }
    let changed = updated.changed();
    if !changed && actions.is_empty() {
        return Ok(());
    }
    let new = match &updated.resource {
        Some(r) => Some((promoted(Kind::Group, r)?, r.to_string())),
        None => None,
    };
    sqlx::query(
        "WITH bumped AS (
             UPDATE scim_groups SET
               display_name = CASE WHEN $1 THEN $2 ELSE display_name END,
               external_id = CASE WHEN $1 THEN $3 ELSE external_id END,
               resource = CASE WHEN $1 THEN $4::jsonb ELSE resource END,
               version = version + 1, last_modified = $5
             WHERE id = $6 AND $7)
         INSERT INTO audit_log (org_id, at, actor, action, target, before, after)
         SELECT $8, $5, $9, e.action, $6, e.before::jsonb, e.after::jsonb
         FROM unnest($10::text[], $11::text[], $12::text[])
           WITH ORDINALITY AS e(action, before, after, n)
         ORDER BY e.n",
    )
    .bind(new.is_some())
    .bind(new.as_ref().map(|(p, _)| p.name.clone()))
    .bind(new.as_ref().and_then(|(p, _)| p.external_id.clone()))
    .bind(new.as_ref().map(|(_, text)| text.as_str()))
    .bind(&updated.now)
    .bind(id)
    .bind(changed)
    .bind(org_id)
    .bind(actor)
    .bind(&actions)
    .bind(&befores)
    .bind(&afters)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn delete<F>(
    store: &PgStore,
    kind: Kind,
    org_id: i64,
    id: &str,
    actor: &str,
    check: F,
) -> StoreResult<()>
where
    F: FnOnce(&ResourceRecord) -> Result<(), ScimError> + Send,
{
    let mut tx = store.begin().await?;
    let (rec, _) = current(&mut tx, kind, org_id, id, false).await?;
    check(&rec)?;
    let now = datetime::now_rfc3339();
    match kind {
        Kind::User => {
            // The groups that lose this member change too: their versions move. They are
            // locked in id order, so that two deletes never wait for each other in a cycle.
            sqlx::query(
                "WITH losing AS (
                     SELECT g.id FROM scim_groups g
                     WHERE g.id IN (SELECT group_id FROM group_members WHERE user_id = $2)
                     ORDER BY g.id FOR UPDATE
                 )
                 UPDATE scim_groups g SET version = g.version + 1, last_modified = $1
                 FROM losing WHERE g.id = losing.id",
            )
            .bind(&now)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            sqlx::query("DELETE FROM scim_users WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            access::reconcile(&mut tx, org_id, &[id.to_string()], actor).await?;
            audit(
                &mut tx,
                org_id,
                actor,
                "scim.user.delete",
                Some(id),
                Some(&rec.resource),
                None,
            )
            .await?;
        }
        Kind::Group => {
            access::group_deleting(&mut tx, org_id, id, actor).await?;
            sqlx::query("DELETE FROM scim_groups WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            audit(
                &mut tx,
                org_id,
                actor,
                "scim.group.delete",
                Some(id),
                Some(&rec.resource),
                None,
            )
            .await?;
        }
    }
    tx.commit().await.map_err(db_err)?;
    Ok(())
}
