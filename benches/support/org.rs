//! A 100,000-member org written with bulk SQL (recursive CTEs), not through the API: 100,000
//! SCIM creates would take minutes and measure the writer, which `benches/load.rs` covers.
//! Shared by the benchmarks that need an org at scale (`export`, `console`), through
//! `#[path = "support/org.rs"] mod org;`.
#![allow(dead_code)]

use scimdesk::store::SqliteStore;
use scimdesk::store::prelude::*;
use std::time::Instant;

pub const MEMBERS: i64 = 100_000;
pub const GROUPS: i64 = 1_000;
/// Each member's groups besides the big one: ids derived from the member number.
pub const GROUPS_PER_MEMBER: i64 = 3;
pub const BIG_GROUP_MEMBERS: i64 = 10_000;
pub const STACKS: i64 = 10;

pub struct Org {
    pub _dir: tempfile::TempDir,
    /// The database file, for a benchmark that starts `scimdesk serve` on it.
    pub path: std::path::PathBuf,
    pub store: SqliteStore,
    pub uid: String,
    pub id: i64,
    pub admin_token: String,
    pub pool: sqlx::SqlitePool,
}

pub async fn exec(pool: &sqlx::SqlitePool, sql: &str) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{sql}"));
}

pub async fn fill() -> Org {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let (org, token) = store
        .create_org("Bench", "owner@bench.example")
        .await
        .unwrap();
    let pool = sqlx::SqlitePool::connect_with(
        sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .busy_timeout(std::time::Duration::from_secs(30)),
    )
    .await
    .unwrap();
    let t = Instant::now();
    let o = org.id;
    let now = "2026-01-01T00:00:00.000Z";
    exec(
        &pool,
        &format!(
            "BEGIN;
             WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {MEMBERS})
             INSERT INTO accounts (email, email_key, created_at)
               SELECT printf('user%06d@bench.example', i), printf('user%06d@bench.example', i),
                      '{now}' FROM n;
             INSERT INTO memberships (id, org_id, account_id, role, state, source, created_at, updated_at)
               SELECT printf('u%06d', CAST(substr(email, 5, 6) AS INTEGER)), {o}, id, 'member', 'active',
                      'scim', '{now}', '{now}'
               FROM accounts WHERE email LIKE '%@bench.example' AND email != 'owner@bench.example';
             INSERT INTO scim_users (id, org_id, user_name, display_name, active, resource, created_at,
                                     last_modified)
               SELECT m.id, {o}, a.email, 'User ' || m.id, 1,
                      json_object('userName', a.email, 'displayName', 'User ' || m.id, 'active', json('true')),
                      '{now}', '{now}'
               FROM memberships m JOIN accounts a ON a.id = m.account_id WHERE m.id LIKE 'u%';
             WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {GROUPS})
             INSERT INTO scim_groups (id, org_id, display_name, resource, created_at, last_modified)
               SELECT printf('g%04d', i), {o}, printf('Group %04d', i),
                      json_object('displayName', printf('Group %04d', i)), '{now}', '{now}'
               FROM n;
             INSERT INTO scim_groups (id, org_id, display_name, resource, created_at, last_modified)
               VALUES ('g-big', {o}, 'Big group', json_object('displayName', 'Big group'), '{now}', '{now}');
             WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {MEMBERS}),
                  k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j + 1 < {GROUPS_PER_MEMBER})
             INSERT OR IGNORE INTO group_members (group_id, user_id)
               SELECT printf('g%04d', (i * (2 * j + 7) + j * 131) % {GROUPS}), printf('u%06d', i)
               FROM n, k;
             WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {BIG_GROUP_MEMBERS})
             INSERT INTO group_members (group_id, user_id) SELECT 'g-big', printf('u%06d', i) FROM n;
             WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {STACKS})
             INSERT INTO stacks (org_id, uid, name, created_at)
               SELECT {o}, printf('st%02d', i), printf('Stack %02d', i), '{now}' FROM n;
             INSERT INTO stack_roles (stack_id, uid, name, builtin, created_at)
               SELECT s.id, r.uid, r.name, 1, '{now}' FROM stacks s,
                 (SELECT 'admin' AS uid, 'Admin' AS name UNION ALL SELECT 'developer', 'Developer'
                  UNION ALL SELECT 'content_manager', 'Content Manager') r
               WHERE s.org_id = {o};
             -- Every other group is mapped: one in fifty to Admin, each to one or two stack roles.
             WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 2 FROM n WHERE i + 2 < {GROUPS})
             INSERT INTO group_mappings (group_id, org_id, org_role, updated_at, updated_by)
               SELECT printf('g%04d', i), {o}, CASE WHEN i % 100 = 0 THEN 'admin' ELSE 'member' END,
                      '{now}', 'bench' FROM n;
             INSERT INTO group_mapping_roles (group_id, stack_uid, role_uid)
               SELECT group_id, printf('st%02d', CAST(substr(group_id, 2) AS INTEGER) % {STACKS}),
                      'developer' FROM group_mappings WHERE org_id = {o};
             INSERT INTO group_mapping_roles (group_id, stack_uid, role_uid)
               SELECT group_id, printf('st%02d', (CAST(substr(group_id, 2) AS INTEGER) / 10) % {STACKS}),
                      'content_manager' FROM group_mappings
               WHERE org_id = {o} AND CAST(substr(group_id, 2) AS INTEGER) % 4 = 0;
             -- Granted access as the mappings imply, as if every member had been approved.
             INSERT OR IGNORE INTO granted_stack_roles (membership_id, stack_uid, role_uid)
               SELECT gm.user_id, r.stack_uid, r.role_uid
               FROM group_members gm JOIN group_mapping_roles r ON r.group_id = gm.group_id;
             UPDATE memberships SET role = 'admin' WHERE org_id = {o} AND source = 'scim' AND id IN
               (SELECT gm.user_id FROM group_members gm JOIN group_mappings m ON m.group_id = gm.group_id
                WHERE m.org_role = 'admin');
             COMMIT;"
        ),
    )
    .await;
    exec(&pool, "ANALYZE").await;
    println!(
        "filled {MEMBERS} members, {GROUPS} groups (+ one of {BIG_GROUP_MEMBERS}) in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    Org {
        path: path.clone(),
        _dir: dir,
        store,
        uid: org.uid,
        id: org.id,
        admin_token: token.token,
        pool,
    }
}
