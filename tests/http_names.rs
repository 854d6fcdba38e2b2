//! Names that point one way (issue 24 item 2): stack names unique per org, role names per
//! stack and live SCIM token labels per org, compared trimmed and without regard to case, held
//! by the database on both engines; duplicates made before schema version 8 are renamed with
//! their uid, audited.

mod access_support;
mod common;

use access_support::*;
use common::*;
use reqwest::Method;
use scimdesk::store::DbTarget;
use serde_json::json;

async fn post(env: &Env, path: &str, name_key: &str, name: &str) -> Resp {
    send(env.admin(Method::POST, path).json(&json!({name_key: name}))).await
}

fn assert_taken(r: &Resp) {
    assert_eq!(r.status, 409, "{}", r.body);
    let text = r.body.to_string();
    assert!(text.contains("already exists"), "{text}");
}

#[tokio::test]
async fn names_are_unique_ignoring_case_and_spaces_and_another_org_is_free() {
    let env = Env::new().await;
    let app = new_stack(&env, "Mobile App").await;
    assert_taken(&post(&env, "/stacks", "name", "  mobile app ").await);
    let web = new_stack(&env, "Web").await;
    let r = send(
        env.admin(Method::PATCH, &format!("/stacks/{web}"))
            .json(&json!({"name": "MOBILE APP"})),
    )
    .await;
    assert_taken(&r);
    // Roles: unique per stack, built-in names included; another stack may repeat them.
    let roles = format!("/stacks/{app}/roles");
    assert_eq!(
        post(&env, &roles, "name", "Release Manager").await.status,
        201
    );
    assert_taken(&post(&env, &roles, "name", "release manager").await);
    assert_taken(&post(&env, &roles, "name", "developer").await);
    assert_eq!(
        post(
            &env,
            &format!("/stacks/{web}/roles"),
            "name",
            "Release Manager"
        )
        .await
        .status,
        201
    );
    let r = post(&env, &roles, "name", "QA").await;
    let qa = r.body["uid"].as_str().unwrap().to_string();
    let r = send(
        env.admin(Method::PATCH, &format!("/stacks/{app}/roles/{qa}"))
            .json(&json!({"name": "Release manager"})),
    )
    .await;
    assert_taken(&r);
    // Live SCIM token labels: unique per org; a revoked token's label is free again.
    let r = post(&env, "/scim/tokens", "label", "okta").await;
    assert_eq!(r.status, 201, "{}", r.body);
    let first = r.body["id"].as_str().unwrap().to_string();
    assert_taken(&post(&env, "/scim/tokens", "label", "OKTA").await);
    let r = send(env.admin(Method::DELETE, &format!("/scim/tokens/{first}"))).await;
    assert!(r.status == 200 || r.status == 204, "{}", r.body);
    assert_eq!(
        post(&env, "/scim/tokens", "label", "okta").await.status,
        201
    );
    // Another org is not bound by this one's names.
    let other = new_org(&env.server, &env.http, "Beta", "owner@beta.example").await;
    let r = send(
        env.http
            .post(admin_url(&env.server, &other.uid, "/stacks"))
            .bearer_auth(&other.admin_token)
            .json(&json!({"name": "Mobile App"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
}

/// Runs `sql` on the test's database directly (the migration test's way back in time).
async fn exec(env: &Env, sqlite: &str, postgres: &str) {
    match env.db.target() {
        DbTarget::Sqlite(path) => {
            let pool = sqlx::SqlitePool::connect_with(
                sqlx::sqlite::SqliteConnectOptions::new().filename(path),
            )
            .await
            .unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sqlite.to_string()))
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
        DbTarget::Postgres(url) => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(postgres.to_string()))
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
    }
}

#[tokio::test]
async fn duplicates_made_before_are_renamed_with_their_uid_and_audited() {
    let env = Env::new().await;
    let app = new_stack(&env, "Mobile App").await;
    post(
        &env,
        &format!("/stacks/{app}/roles"),
        "name",
        "Release Manager",
    )
    .await;
    // Back to schema version 7, where nothing stopped duplicates, and make some.
    exec(
        &env,
        "DROP INDEX accounts_email_key; ALTER TABLE accounts DROP COLUMN email_key;
         ALTER TABLE organizations DROP COLUMN audit_key;
         DROP INDEX stacks_org_name_unique; DROP INDEX stack_roles_name_unique;
         DROP INDEX scim_tokens_label_unique; PRAGMA user_version = 7;
         INSERT INTO stacks (org_id, uid, name, created_at)
           SELECT org_id, 'st_dup', 'mobile app', created_at FROM stacks;
         INSERT INTO stack_roles (stack_id, uid, name, builtin, created_at)
           SELECT id, 'admin', 'Admin', 1, created_at FROM stacks WHERE uid = 'st_dup';
         INSERT INTO stack_roles (stack_id, uid, name, builtin, created_at)
           SELECT stack_id, 'role_dup', 'RELEASE MANAGER', 0, '2999-01-01T00:00:00.000Z'
           FROM stack_roles WHERE name = 'Release Manager';
         UPDATE scim_tokens SET label = 'okta';
         INSERT INTO scim_tokens (id, org_id, label, secret_hash, created_at, created_by)
           SELECT 'dup0000000000000', org_id, 'Okta', secret_hash, created_at, created_by
           FROM scim_tokens;",
        "ALTER TABLE accounts DROP COLUMN email_key;
         ALTER TABLE organizations DROP COLUMN audit_key;
         DELETE FROM scimdesk_schema WHERE version = 9;
         DROP INDEX stacks_org_name_unique; DROP INDEX stack_roles_name_unique;
         DROP INDEX scim_tokens_label_unique; DELETE FROM scimdesk_schema WHERE version = 8;
         INSERT INTO stacks (org_id, uid, name, created_at)
           SELECT org_id, 'st_dup', 'mobile app', created_at FROM stacks;
         INSERT INTO stack_roles (stack_id, uid, name, builtin, created_at)
           SELECT id, 'admin', 'Admin', true, created_at FROM stacks WHERE uid = 'st_dup';
         INSERT INTO stack_roles (stack_id, uid, name, builtin, created_at)
           SELECT stack_id, 'role_dup', 'RELEASE MANAGER', false, '2999-01-01T00:00:00.000Z'
           FROM stack_roles WHERE name = 'Release Manager';
         UPDATE scim_tokens SET label = 'okta';
         INSERT INTO scim_tokens (id, org_id, label, secret_hash, created_at, created_by)
           SELECT 'dup0000000000000', org_id, 'Okta', secret_hash, created_at, created_by
           FROM scim_tokens;",
    )
    .await;
    // The restart migrates.
    let env = env.with_config(Default::default()).await;
    let r = send(env.admin(Method::GET, "/stacks")).await;
    let names: Vec<String> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    assert!(names.contains(&"Mobile App".to_string()), "{names:?}");
    assert!(
        names.contains(&"mobile app (st_dup)".to_string()),
        "{names:?}"
    );
    let r = send(env.admin(Method::GET, &format!("/stacks/{app}/roles"))).await;
    let roles = r.body.to_string();
    assert!(roles.contains("RELEASE MANAGER (role_dup)"), "{roles}");
    let r = send(env.admin(Method::GET, "/scim/tokens")).await;
    let labels = r.body.to_string();
    assert!(labels.contains("Okta (dup0000000000000)"), "{labels}");
    let events = env.audit().await;
    let migrated: Vec<&String> = events
        .iter()
        .filter(|e| e.0 == "scimdesk (schema version 8)")
        .map(|e| &e.1)
        .collect();
    assert_eq!(
        migrated,
        ["stack.update", "stack.role.update", "scim.token.relabel"],
        "each rename audited"
    );
}
