//! The access core on PostgreSQL, called as the SCIM write path calls it (inside its own
//! transaction), on a fresh database of the server that `SCIMDESK_TEST_POSTGRES` names. They
//! are ignored (reported skipped) without one: the black-box suite covers SQLite.

use super::access::{self, group_deleting, is_mapped, reconcile, reconcile_new};
use super::{PgStore, account_for};
use crate::store::Org;
use crate::store::prelude::*;
use crate::store::testing::{fresh_postgres_database, required_test_postgres};
use serde_json::json;

const NOW: &str = "2026-01-01T00:00:00.000Z";

pub(super) async fn store() -> PgStore {
    let server = required_test_postgres();
    let url = fresh_postgres_database(&server).await.expect("database");
    PgStore::open(&url).await.expect("store")
}

/// A SCIM User created as the write path creates one: membership pending, then
/// `reconcile_new` in the same transaction.
pub(super) async fn scim_user(store: &PgStore, org: &Org, email: &str, active: bool) -> String {
    let mut tx = store.begin().await.unwrap();
    let account = account_for(&mut tx, email, NOW).await.unwrap();
    let id = crate::store::secret::new_uuid();
    sqlx::query(
        "INSERT INTO memberships (id, org_id, account_id, role, state, source, created_at, updated_at)
         VALUES ($1, $2, $3, 'member', 'pending', 'scim', $4, $4)",
    )
    .bind(&id)
    .bind(org.id)
    .bind(account)
    .bind(NOW)
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO scim_users (id, org_id, user_name, display_name, active, resource,
           created_at, last_modified)
         VALUES ($1, $2, $3, $3, $4, $5::jsonb, $6, $6)",
    )
    .bind(&id)
    .bind(org.id)
    .bind(email)
    .bind(active)
    .bind(json!({"userName": email, "active": active}).to_string())
    .bind(NOW)
    .execute(&mut *tx)
    .await
    .unwrap();
    let policy = org.scim.approval;
    let created = ("scim.user.create", id.as_str(), "{}".to_string());
    reconcile_new(&mut tx, org.id, &id, active, &policy, created, "idp", NOW)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

pub(super) async fn group(store: &PgStore, org: &Org, name: &str) -> String {
    let id = crate::store::secret::new_uuid();
    sqlx::query(
        "INSERT INTO scim_groups (id, org_id, display_name, resource, created_at, last_modified)
         VALUES ($1, $2, $3, '{}', $4, $4)",
    )
    .bind(&id)
    .bind(org.id)
    .bind(name)
    .bind(NOW)
    .execute(store.pool())
    .await
    .unwrap();
    id
}

/// Adds `users` to `group` as a SCIM group PATCH does: the rows, then `reconcile` of the
/// affected members when the group is mapped.
pub(super) async fn add_members(store: &PgStore, org: &Org, group: &str, users: &[&str]) {
    let mut tx = store.begin().await.unwrap();
    for u in users {
        sqlx::query("INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)")
            .bind(group)
            .bind(u)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    if is_mapped(&mut tx, group).await.unwrap() {
        let ids: Vec<String> = users.iter().map(|u| u.to_string()).collect();
        reconcile(&mut tx, org.id, &ids, "idp").await.unwrap();
    }
    tx.commit().await.unwrap();
}

/// (state, role, granted stack roles, open request (kind, version)) of a membership.
pub(super) async fn member(
    store: &PgStore,
    id: &str,
) -> (String, String, Vec<String>, Option<(String, i64)>) {
    let (state, role): (String, String) =
        sqlx::query_as("SELECT state, role FROM memberships WHERE id = $1")
            .bind(id)
            .fetch_one(store.pool())
            .await
            .unwrap();
    let granted: Vec<String> = sqlx::query_scalar(
        "SELECT stack_uid || ':' || role_uid FROM granted_stack_roles
         WHERE membership_id = $1 ORDER BY 1",
    )
    .bind(id)
    .fetch_all(store.pool())
    .await
    .unwrap();
    let request: Option<(String, i64)> = sqlx::query_as(
        "SELECT kind, version FROM approval_requests WHERE member_id = $1 AND state = 'pending'",
    )
    .bind(id)
    .fetch_optional(store.pool())
    .await
    .unwrap();
    (state, role, granted, request)
}

async fn org_with_policy(store: &PgStore, provision: bool) -> Org {
    let (mut org, _) = store
        .create_org("Acme", "owner@acme.example")
        .await
        .unwrap();
    let patch = crate::store::ScimSettingsPatch {
        approval_provision: Some(provision),
        ..Default::default()
    };
    org.scim = store
        .update_scim_settings(org.id, &patch, "test")
        .await
        .unwrap();
    org
}

async fn audit_actions(store: &PgStore, org: &Org) -> Vec<String> {
    sqlx::query_scalar("SELECT action FROM audit_log WHERE org_id = $1 ORDER BY id")
        .bind(org.id)
        .fetch_all(store.pool())
        .await
        .unwrap()
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set SCIMDESK_TEST_POSTGRES and run the ignored tests"]
async fn a_new_scim_user_waits_for_approval_or_joins_at_once_per_policy() {
    let store = store().await;
    let org = org_with_policy(&store, true).await;
    let waiting = scim_user(&store, &org, "a@acme.example", true).await;
    assert_eq!(
        member(&store, &waiting).await,
        (
            "pending".into(),
            "member".into(),
            vec![],
            Some(("provision".into(), 1))
        )
    );
    let inactive = scim_user(&store, &org, "b@acme.example", false).await;
    assert_eq!(member(&store, &inactive).await.0, "deprovisioned");

    let open = org_with_policy(&store, false).await;
    let joined = scim_user(&store, &open, "c@acme.example", true).await;
    assert_eq!(
        member(&store, &joined).await,
        ("active".into(), "member".into(), vec![], None)
    );
    assert_eq!(
        audit_actions(&store, &org).await,
        [
            "org.create",
            "approval.opened",
            "scim.user.create",
            "access.changed",
            "scim.user.create"
        ],
        "the waiting user's request is audited, and the inactive one's deprovision, each \
         before the create that caused it"
    );
    store.close().await;
}

/// Maps `group` to Admin plus `web:developer` directly in SQL (the admin API's save is
/// tested through HTTP).
async fn map_group(store: &PgStore, org: &Org, group: &str) {
    sqlx::query(
        "INSERT INTO group_mappings (group_id, org_id, org_role, updated_at, updated_by)
         VALUES ($1, $2, 'admin', $3, 'test')",
    )
    .bind(group)
    .bind(org.id)
    .bind(NOW)
    .execute(store.pool())
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO group_mapping_roles (group_id, stack_uid, role_uid)
         VALUES ($1, 'web', 'developer')",
    )
    .bind(group)
    .execute(store.pool())
    .await
    .unwrap();
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set SCIMDESK_TEST_POSTGRES and run the ignored tests"]
async fn raises_wait_lowering_applies_at_once_and_a_deleted_groups_mapping_goes_first() {
    let store = store().await;
    let org = org_with_policy(&store, false).await;
    let a = scim_user(&store, &org, "a@acme.example", true).await;
    let b = scim_user(&store, &org, "b@acme.example", true).await;
    let admins = group(&store, &org, "Admins").await;
    map_group(&store, &org, &admins).await;
    add_members(&store, &org, &admins, &[&a, &b]).await;
    for id in [&a, &b] {
        assert_eq!(
            member(&store, id).await,
            (
                "active".into(),
                "member".into(),
                vec![],
                Some(("access_increase".into(), 1))
            ),
            "the raise waits for approval"
        );
    }
    // A second mapped group widens the raise: the same request, one version up.
    let devs = group(&store, &org, "Devs").await;
    map_group(&store, &org, &devs).await;
    sqlx::query("UPDATE group_mapping_roles SET role_uid = 'admin' WHERE group_id = $1")
        .bind(&devs)
        .execute(store.pool())
        .await
        .unwrap();
    add_members(&store, &org, &devs, &[&a]).await;
    assert_eq!(
        member(&store, &a).await.3,
        Some(("access_increase".into(), 2))
    );
    // Deleting both groups' mappings leaves nothing to ask: the requests are superseded.
    for g in [&admins, &devs] {
        let mut tx = store.begin().await.unwrap();
        group_deleting(&mut tx, org.id, g, "idp").await.unwrap();
        tx.commit().await.unwrap();
    }
    for id in [&a, &b] {
        assert_eq!(
            member(&store, id).await,
            ("active".into(), "member".into(), vec![], None)
        );
    }
    let states: Vec<(String, i64)> = sqlx::query_as(
        "SELECT state, count(*) FROM approval_requests WHERE org_id = $1 GROUP BY 1",
    )
    .bind(org.id)
    .fetch_all(store.pool())
    .await
    .unwrap();
    assert_eq!(states, [("superseded".to_string(), 2)]);
    let mut tx = store.begin().await.unwrap();
    assert!(!is_mapped(&mut tx, &admins).await.unwrap());
    // A group without a mapping: deleting it changes nobody.
    group_deleting(&mut tx, org.id, &admins, "idp")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // Granted roles leave at once when the IdP lowers access.
    sqlx::query("UPDATE memberships SET role = 'admin' WHERE id = $1")
        .bind(&b)
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO granted_stack_roles (membership_id, stack_uid, role_uid)
         VALUES ($1, 'web', 'developer')",
    )
    .bind(&b)
    .execute(store.pool())
    .await
    .unwrap();
    let mut tx = store.begin().await.unwrap();
    access::reconcile(&mut tx, org.id, std::slice::from_ref(&b), "idp")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        member(&store, &b).await,
        ("active".into(), "member".into(), vec![], None)
    );
    store.close().await;
}
