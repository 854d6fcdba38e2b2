//! What is PostgreSQL's own. Replicas on one database: two `PgStore`s (two pools, as two
//! `serve` processes have) write the same resources at once, and the database keeps what must
//! hold: no member add is lost, a userName is created once, a version moves once per change.
//! And text PostgreSQL cannot hold (NUL) is bad input, never a 500. Ignored (reported
//! skipped) unless asked for; asked for without `SCIMDESK_TEST_POSTGRES`, they fail.

use scimdesk::store::prelude::*;
use scimdesk::store::testing::{fresh_postgres_database, required_test_postgres};
use scimdesk::store::{
    AuditQuery, Change, Kind, ListSpec, MemberOp, PgStore, ResourceRecord, StoreError,
};
use serde_json::{Value, json};

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// Two stores on one fresh database (panics without a server).
async fn replicas() -> [PgStore; 2] {
    let server = required_test_postgres();
    let url = fresh_postgres_database(&server).await.unwrap();
    let a = PgStore::open(&url).await.unwrap();
    let b = PgStore::open(&url).await.unwrap();
    [a, b]
}

fn user(user_name: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "emails": [{"value": user_name, "primary": true}],
        "active": true,
    })
}

async fn new_org(store: &PgStore) -> i64 {
    let (org, _) = store
        .create_org("Acme", "owner@acme.example")
        .await
        .unwrap();
    org.id
}

async fn get(store: &PgStore, kind: Kind, org: i64, id: &str) -> ResourceRecord {
    store
        .get_resource(kind, org, id, true)
        .await
        .unwrap()
        .expect("the resource exists")
}

async fn audit_actions(store: &PgStore, org: i64, action: &str) -> usize {
    let page = store
        .list_audit(
            org,
            AuditQuery {
                action: Some(action),
                limit: 1000,
                ..AuditQuery::default()
            },
        )
        .await
        .unwrap();
    page.items.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set SCIMDESK_TEST_POSTGRES and run the ignored tests"]
async fn concurrent_member_adds_on_two_replicas_lose_none() {
    let [a, b] = replicas().await;
    let org = new_org(&a).await;
    let mut users = Vec::new();
    for i in 0..8 {
        let store = if i % 2 == 0 { &a } else { &b };
        let out = store
            .create_resource(
                Kind::User,
                org,
                user(&format!("u{i}@acme.example")),
                vec![],
                "idp",
            )
            .await
            .unwrap();
        users.push(out.record.id);
    }
    let group = a
        .create_resource(
            Kind::Group,
            org,
            json!({"schemas": [GROUP_SCHEMA], "displayName": "Everyone"}),
            vec![],
            "idp",
        )
        .await
        .unwrap()
        .record
        .id;
    // Each add on its own task, half on each replica, all at once.
    let tasks: Vec<_> = users
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            let (group, u) = (group.clone(), u.clone());
            tokio::spawn(async move {
                store
                    .update_resource(Kind::Group, org, &group, false, "idp", move |_| {
                        Ok(Change {
                            resource: None,
                            members: vec![MemberOp::Add(vec![u])],
                        })
                    })
                    .await
            })
        })
        .collect();
    for t in tasks {
        let out = t.await.unwrap().expect("every add succeeds");
        assert!(out.changed);
    }
    let g = get(&b, Kind::Group, org, &group).await;
    let mut members: Vec<String> = g.members.unwrap().into_iter().map(|m| m.id).collect();
    members.sort();
    let mut want = users.clone();
    want.sort();
    assert_eq!(members, want, "no add is lost");
    assert_eq!(g.version, 1 + 8, "the version moved once per add");
    assert_eq!(audit_actions(&a, org, "scim.group.update").await, 8);

    // Adding them all again, on both replicas at once, changes nothing.
    let again = [a.clone(), b.clone()].map(|store| {
        let (group, users) = (group.clone(), users.clone());
        tokio::spawn(async move {
            store
                .update_resource(Kind::Group, org, &group, false, "idp", move |_| {
                    Ok(Change {
                        resource: None,
                        members: vec![MemberOp::Add(users)],
                    })
                })
                .await
        })
    });
    for t in again {
        assert!(!t.await.unwrap().unwrap().changed);
    }
    assert_eq!(get(&a, Kind::Group, org, &group).await.version, 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set SCIMDESK_TEST_POSTGRES and run the ignored tests"]
async fn duplicate_creates_on_two_replicas_give_exactly_one_user() {
    let [a, b] = replicas().await;
    let org = new_org(&a).await;
    let names = [
        "dup@acme.example",
        "DUP@acme.example",
        "Dup@Acme.Example",
        "dup@ACME.EXAMPLE",
    ];
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            let resource = user(names[i % names.len()]);
            tokio::spawn(async move {
                store
                    .create_resource(Kind::User, org, resource, vec![], "idp")
                    .await
            })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => created += 1,
            Err(StoreError::Conflict(m)) => assert!(m.contains("userName"), "{m}"),
            Err(e) => panic!("a duplicate create failed otherwise: {e}"),
        }
    }
    assert_eq!(created, 1, "exactly one create wins");
    let page = b
        .list_resources(
            Kind::User,
            org,
            ListSpec {
                filter: None,
                sort_by: None,
                descending: false,
                offset: 0,
                limit: 100,
                with_members: false,
                seek: None,
            },
        )
        .await
        .unwrap();
    assert_eq!((page.total, page.items.len()), (1, 1));
    assert_eq!(audit_actions(&a, org, "scim.user.create").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set SCIMDESK_TEST_POSTGRES and run the ignored tests"]
async fn concurrent_updates_of_one_user_each_move_the_version_once() {
    let [a, b] = replicas().await;
    let org = new_org(&a).await;
    let id = a
        .create_resource(Kind::User, org, user("v@acme.example"), vec![], "idp")
        .await
        .unwrap()
        .record
        .id;
    // Each PATCH appends to the title what it read: a lost update would drop a letter.
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            let id = id.clone();
            tokio::spawn(async move {
                store
                    .update_resource(Kind::User, org, &id, false, "idp", move |rec| {
                        let mut r = rec.resource.clone();
                        let title = r["title"].as_str().unwrap_or("").to_string();
                        r["title"] = json!(format!("{title}{i}"));
                        Ok(Change {
                            resource: Some(r),
                            members: vec![],
                        })
                    })
                    .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let rec = get(&b, Kind::User, org, &id).await;
    assert_eq!(rec.version, 9);
    let mut letters: Vec<char> = rec.resource["title"].as_str().unwrap().chars().collect();
    letters.sort();
    assert_eq!(letters, "01234567".chars().collect::<Vec<_>>());
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set SCIMDESK_TEST_POSTGRES and run the ignored tests"]
async fn text_with_nul_is_refused_or_names_nothing() {
    let [a, _] = replicas().await;
    let org = new_org(&a).await;
    let mut bad = user("nul@acme.example");
    bad["title"] = json!("a\u{0}b");
    match a.create_resource(Kind::User, org, bad, vec![], "idp").await {
        Err(StoreError::Rejected(e)) => assert!(e.detail.contains("NUL"), "{}", e.detail),
        other => panic!("a NUL in a value: {other:?}"),
    }
    assert!(
        a.get_resource(Kind::User, org, "x\u{0}y", false)
            .await
            .unwrap()
            .is_none()
    );
    let out = a
        .create_resource(
            Kind::Group,
            org,
            json!({"schemas": [GROUP_SCHEMA], "displayName": "G"}),
            vec!["x\u{0}y".to_string()],
            "idp",
        )
        .await
        .unwrap();
    assert_eq!(out.skipped_members, vec!["x\u{0}y".to_string()]);
}
