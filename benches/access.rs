//! Access benchmarks (issue 4 §12), in process on a temp SQLite database, or with
//! `--db postgres://USER@HOST:PORT/DB` on a fresh database of that PostgreSQL server (dropped
//! at the end):
//! - effective access for a whole org (100,000 members, 1,000 mapped groups): load the
//!   memberships of mapped groups and compute every member's access with the domain;
//! - `/users` pages of 100 with granted and requested access (the store call the route makes);
//! - a mapping preview on a 10,000-member group.
//!
//! Run it with:
//!
//!     cargo bench --bench access
//!     cargo bench --bench access -- --members 20000     # a quicker run
//!     cargo bench --bench access -- --db postgres://postgres@127.0.0.1:5433/postgres
//!
//! The org is written with bulk SQL (the SCIM path is the load bench's business), then read
//! through the store as the server does.

use scimdesk::domain::access::{GroupMapping, OrgRole, StackRole, effective_access};
use scimdesk::store::access_types::{MappingInput, MemberQuery, MemberSort};
use scimdesk::store::prelude::*;
use scimdesk::store::testing::fresh_postgres_database;
use scimdesk::store::{AnyStore, DbTarget};
use sqlx::{Connection, Row};
use std::collections::HashMap;
use std::time::Instant;

const GROUPS: usize = 1_000;
const GROUPS_PER_MEMBER: usize = 3;
const BIG_GROUP: usize = 10_000;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn members_arg() -> usize {
    arg("--members")
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let n = members_arg();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = arg("--db");
    let target = match &server {
        Some(url) => DbTarget::Postgres(fresh_postgres_database(url).await.expect("database")),
        None => DbTarget::Sqlite(dir.path().join("access.db")),
    };
    let store = AnyStore::open(&target).await.expect("store");
    println!("engine: {}", store.engine());
    let (org, _) = store
        .create_org("Bench", "owner@bench.example")
        .await
        .expect("org");
    let mut stacks = Vec::new();
    for i in 0..5 {
        stacks.push(
            store
                .create_stack(org.id, &format!("Stack {i}"), "bench")
                .await
                .expect("stack")
                .uid,
        );
    }

    let t = Instant::now();
    let pool = match &target {
        DbTarget::Sqlite(path) => Some(fill_sqlite(path, org.id, &stacks, n).await),
        DbTarget::Postgres(url) => {
            fill_postgres(url, org.id, &stacks, n).await;
            None
        }
    };
    println!(
        "setup: {n} members, {GROUPS} mapped groups, 1 group of {BIG_GROUP}: {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // 1. Effective access for the whole org.
    if let Some(pool) = &pool {
        former_effective_access(pool, org.id, n).await;
    }
    // The store's call: the mapped groups with their members as one JSON document.
    let mut runs = Vec::new();
    let mut admins_store = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let all = store
            .org_effective_access(org.id)
            .await
            .expect("org effective access");
        admins_store = all
            .values()
            .filter(|a| a.org_role == OrgRole::Admin)
            .count();
        std::hint::black_box(&all);
        runs.push(t.elapsed().as_secs_f64());
    }
    runs.sort_by(f64::total_cmp);
    println!(
        "effective access, whole org ({} members), store (org_effective_access): median {:.0} ms, best {:.0} ms ({admins_store} admins)",
        n,
        pct(&runs, 0.5) * 1e3,
        runs[0] * 1e3
    );

    // 2. /users pages of 100 with access, walking the list from several starting points.
    let mut lat = Vec::new();
    let mut cursor: Option<String> = None;
    for i in 0..300 {
        if i % 60 == 0 {
            cursor = Some(format!("user{:06}", (i / 60) * n / 5));
        }
        let q = MemberQuery {
            filter: None,
            state: None,
            limit: 100,
            cursor: cursor.clone(),
            ..Default::default()
        };
        let t = Instant::now();
        let page = store.list_members(org.id, &q).await.expect("page");
        lat.push(t.elapsed().as_secs_f64());
        cursor = page.next;
    }
    lat.sort_by(f64::total_cmp);
    println!(
        "/users pages of 100 with access ({} pages): p50 {:.1} ms, p99 {:.1} ms",
        lat.len(),
        pct(&lat, 0.5) * 1e3,
        pct(&lat, 0.99) * 1e3
    );

    // 2b. The same list sorted by another column (`/users?sort=name`, and `state` backwards):
    // 30 pages each, following the cursor from the start.
    for (sort, desc, label) in [
        (MemberSort::Name, false, "sort=name"),
        (MemberSort::State, true, "sort=state&order=desc"),
    ] {
        let mut lat = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..30 {
            let q = MemberQuery {
                limit: 100,
                cursor: cursor.clone(),
                sort,
                desc,
                ..Default::default()
            };
            let t = Instant::now();
            let page = store.list_members(org.id, &q).await.expect("sorted page");
            lat.push(t.elapsed().as_secs_f64());
            cursor = page.next;
        }
        lat.sort_by(f64::total_cmp);
        println!(
            "/users?{label} pages of 100 with access ({} pages): p50 {:.1} ms, p99 {:.1} ms",
            lat.len(),
            pct(&lat, 0.5) * 1e3,
            pct(&lat, 0.99) * 1e3
        );
    }

    // 3. A mapping preview on the 10,000-member group.
    let input = MappingInput {
        org_role: OrgRole::Admin,
        stack_roles: vec![StackRole::new(stacks[0].clone(), "developer")],
    };
    let big = format!("g{GROUPS:05}");
    let mut runs = Vec::new();
    let mut changes = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let impact = store
            .preview_mapping(org.id, &big, Some(&input))
            .await
            .expect("preview");
        runs.push(t.elapsed().as_secs_f64());
        changes = impact.counts.granted_changes;
    }
    runs.sort_by(f64::total_cmp);
    println!(
        "mapping preview on a {BIG_GROUP}-member group ({changes} granted changes): median {:.0} ms, best {:.0} ms",
        pct(&runs, 0.5) * 1e3,
        runs[0] * 1e3
    );
    if let Some(pool) = pool {
        pool.close().await;
    }
    store.close().await;
    if let (Some(server), DbTarget::Postgres(url)) = (&server, &target) {
        let db = url.rsplit('/').next().unwrap_or_default();
        let mut conn = sqlx::PgConnection::connect(server).await.expect("server");
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {db}")))
            .execute(&mut conn)
            .await
            .expect("drop the bench database");
    }
}

/// Writes the bench org into SQLite with bulk SQL; returns a pool on the file.
async fn fill_sqlite(
    path: &std::path::Path,
    org_id: i64,
    stacks: &[String],
    n: usize,
) -> sqlx::SqlitePool {
    let pool = sqlx::SqlitePool::connect_with(
        sqlx::sqlite::SqliteConnectOptions::new()
            .filename(path)
            .foreign_keys(true),
    )
    .await
    .expect("pool");
    let mut tx = pool.begin().await.expect("tx");
    let now = "2026-01-01T00:00:00.000Z";
    for g in 0..=GROUPS {
        sqlx::query(
            "INSERT INTO scim_groups (id, org_id, display_name, resource, created_at, last_modified)
             VALUES (?, ?, ?, '{}', ?, ?)",
        )
        .bind(format!("g{g:05}"))
        .bind(org_id)
        .bind(format!("Group {g:05}"))
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await
        .expect("group");
    }
    for i in 0..n {
        let email = format!("user{i:06}@bench.example");
        let account =
            sqlx::query("INSERT INTO accounts (email, email_key, created_at) VALUES (?1, ?1, ?2)")
                .bind(&email)
                .bind(now)
                .execute(&mut *tx)
                .await
                .expect("account")
                .last_insert_rowid();
        let id = format!("m{i:06}");
        sqlx::query(
            "INSERT INTO memberships (id, org_id, account_id, role, state, source, created_at, updated_at)
             VALUES (?, ?, ?, 'member', 'active', 'scim', ?, ?)",
        )
        .bind(&id)
        .bind(org_id)
        .bind(account)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await
        .expect("membership");
        sqlx::query(
            "INSERT INTO scim_users (id, org_id, user_name, display_name, active, resource, created_at, last_modified)
             VALUES (?, ?, ?, ?, 1, '{}', ?, ?)",
        )
        .bind(&id)
        .bind(org_id)
        .bind(&email)
        .bind(format!("User {i}"))
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await
        .expect("user");
        for k in 0..GROUPS_PER_MEMBER {
            let g = (i * 7 + k * 331) % GROUPS;
            sqlx::query("INSERT OR IGNORE INTO group_members (group_id, user_id) VALUES (?, ?)")
                .bind(format!("g{g:05}"))
                .bind(&id)
                .execute(&mut *tx)
                .await
                .expect("member");
        }
        if i < BIG_GROUP {
            sqlx::query("INSERT INTO group_members (group_id, user_id) VALUES (?, ?)")
                .bind(format!("g{GROUPS:05}"))
                .bind(&id)
                .execute(&mut *tx)
                .await
                .expect("big member");
        }
    }
    tx.commit().await.expect("commit");
    // Mappings go in empty-effect (granted access is not reconciled here), through SQL too.
    let mut tx = pool.begin().await.expect("tx");
    for g in 0..GROUPS {
        let gid = format!("g{g:05}");
        let role = if g % 50 == 0 { "admin" } else { "member" };
        sqlx::query(
            "INSERT INTO group_mappings (group_id, org_id, org_role, updated_at, updated_by)
             VALUES (?, ?, ?, ?, 'bench')",
        )
        .bind(&gid)
        .bind(org_id)
        .bind(role)
        .bind(now)
        .execute(&mut *tx)
        .await
        .expect("mapping");
        let roles = ["admin", "developer", "content_manager"];
        sqlx::query(
            "INSERT INTO group_mapping_roles (group_id, stack_uid, role_uid) VALUES (?, ?, ?)",
        )
        .bind(&gid)
        .bind(&stacks[g % stacks.len()])
        .bind(roles[g % roles.len()])
        .execute(&mut *tx)
        .await
        .expect("mapping role");
    }
    tx.commit().await.expect("commit");
    sqlx::query("ANALYZE")
        .execute(&pool)
        .await
        .expect("analyze");
    pool
}

/// Effective access for the whole org with a row per (group, member) through sqlx, the way
/// before the store read it as one document (SQLite only, for the history).
async fn former_effective_access(pool: &sqlx::SqlitePool, org_id: i64, n: usize) {
    let mut runs = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let mut mappings: HashMap<String, GroupMapping> = HashMap::new();
        for r in sqlx::query(
            "SELECT mp.group_id, mp.org_role, r.stack_uid, r.role_uid FROM group_mappings mp
             LEFT JOIN group_mapping_roles r ON r.group_id = mp.group_id WHERE mp.org_id = ?",
        )
        .bind(org_id)
        .fetch_all(pool)
        .await
        .expect("mappings")
        {
            let gid: String = r.get(0);
            let role: String = r.get(1);
            let m = mappings.entry(gid.clone()).or_insert_with(|| GroupMapping {
                group_id: gid,
                org_role: OrgRole::parse(&role).unwrap_or(OrgRole::Member),
                stack_roles: Default::default(),
            });
            if let (Some(s), Some(ro)) =
                (r.get::<Option<String>, _>(2), r.get::<Option<String>, _>(3))
            {
                m.stack_roles.insert(StackRole::new(s, ro));
            }
        }
        let mut groups_of: HashMap<String, Vec<String>> = HashMap::new();
        for r in sqlx::query(
            "SELECT gm.user_id, gm.group_id FROM group_mappings mp
             JOIN group_members gm ON gm.group_id = mp.group_id WHERE mp.org_id = ?",
        )
        .bind(org_id)
        .fetch_all(pool)
        .await
        .expect("members")
        {
            groups_of.entry(r.get(0)).or_default().push(r.get(1));
        }
        let mut admins = 0usize;
        for groups in groups_of.values() {
            let a = effective_access(groups.iter().filter_map(|g| mappings.get(g)));
            admins += usize::from(a.org_role == OrgRole::Admin);
        }
        std::hint::black_box(admins);
        runs.push(t.elapsed().as_secs_f64());
    }
    runs.sort_by(f64::total_cmp);
    println!(
        "effective access, whole org ({} members), a row per (group, member) through sqlx (the former way): median {:.0} ms, best {:.0} ms",
        n,
        pct(&runs, 0.5) * 1e3,
        runs[0] * 1e3
    );
}

/// Writes the same org as [`fill_sqlite`] into PostgreSQL, a statement per table. The
/// values are the bench's own numbers and generated stack uids, written into the script.
/// Triggers are off while it runs (100,000 updates of one count row in one transaction
/// take minutes), and the counts are written once at the end.
async fn fill_postgres(url: &str, org_id: i64, stacks: &[String], n: usize) {
    assert_eq!(
        GROUPS_PER_MEMBER, 3,
        "the group_members statement adds 3 per member"
    );
    let mut conn = sqlx::PgConnection::connect(url).await.expect("connection");
    let stacks = stacks
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let now = "'2026-01-01T00:00:00.000Z'";
    let script = format!(
        "SET session_replication_role = replica;
         INSERT INTO scim_groups (id, org_id, display_name, resource, created_at, last_modified)
         SELECT 'g' || lpad(g::text, 5, '0'), {org_id}, 'Group ' || lpad(g::text, 5, '0'),
                '{{}}', {now}, {now}
         FROM generate_series(0, {GROUPS}) g;
         INSERT INTO accounts (email, email_key, created_at)
         SELECT 'user' || lpad(i::text, 6, '0') || '@bench.example',
                'user' || lpad(i::text, 6, '0') || '@bench.example', {now}
         FROM generate_series(0, {n} - 1) i;
         INSERT INTO memberships (id, org_id, account_id, role, state, source, created_at,
           updated_at)
         SELECT 'm' || substr(a.email, 5, 6), {org_id}, a.id, 'member', 'active', 'scim',
                {now}, {now}
         FROM accounts a WHERE a.email LIKE 'user%@bench.example';
         INSERT INTO scim_users (id, org_id, user_name, display_name, active, resource,
           created_at, last_modified)
         SELECT 'm' || lpad(i::text, 6, '0'), {org_id},
                'user' || lpad(i::text, 6, '0') || '@bench.example', 'User ' || i, true, '{{}}',
                {now}, {now}
         FROM generate_series(0, {n} - 1) i;
         INSERT INTO group_members (group_id, user_id)
         SELECT 'g' || lpad(((i * 7 + k * 331) % {GROUPS})::text, 5, '0'),
                'm' || lpad(i::text, 6, '0')
         FROM generate_series(0, {n} - 1) i, generate_series(0, 2) k
         ON CONFLICT DO NOTHING;
         INSERT INTO group_members (group_id, user_id)
         SELECT 'g' || lpad('{GROUPS}', 5, '0'), 'm' || lpad(i::text, 6, '0')
         FROM generate_series(0, least({n}, {BIG_GROUP}) - 1) i;
         -- Mappings go in empty-effect (granted access is not reconciled here).
         INSERT INTO group_mappings (group_id, org_id, org_role, updated_at, updated_by)
         SELECT 'g' || lpad(g::text, 5, '0'), {org_id},
                CASE WHEN g % 50 = 0 THEN 'admin' ELSE 'member' END, {now}, 'bench'
         FROM generate_series(0, {GROUPS} - 1) g;
         INSERT INTO group_mapping_roles (group_id, stack_uid, role_uid)
         SELECT 'g' || lpad(g::text, 5, '0'), (ARRAY[{stacks}])[g % cardinality(ARRAY[{stacks}]) + 1],
                (ARRAY['admin', 'developer', 'content_manager'])[g % 3 + 1]
         FROM generate_series(0, {GROUPS} - 1) g;
         SET session_replication_role = DEFAULT;
         INSERT INTO membership_counts (org_id, state, slot, n)
         VALUES ({org_id}, 'active', 0, {n})
         ON CONFLICT (org_id, state, slot) DO UPDATE SET n = membership_counts.n + {n};
         INSERT INTO resource_counts (org_id, kind, slot, n)
         VALUES ({org_id}, 'user', 0, {n}), ({org_id}, 'group', 0, {GROUPS} + 1)
         ON CONFLICT (org_id, kind, slot) DO UPDATE SET n = resource_counts.n + excluded.n;
         ANALYZE;"
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(script))
        .execute(&mut conn)
        .await
        .expect("bench org");
}
