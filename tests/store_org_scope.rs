//! Store reads that name rows by id stay inside the org they are asked for: ids of another
//! org's rows are absent from the answer, as if they did not exist. Runs on PostgreSQL when
//! `SCIMDESK_TEST_POSTGRES` names a server, else on SQLite.

use scimdesk::store::prelude::*;
use scimdesk::store::testing::fresh_target;
use scimdesk::store::{AnyStore, Kind};
use serde_json::json;

async fn new_user(store: &AnyStore, org: i64, user_name: &str) -> String {
    let resource = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "emails": [{"value": user_name, "primary": true}],
        "active": true,
    });
    store
        .create_resource(Kind::User, org, resource, vec![], "idp")
        .await
        .unwrap()
        .record
        .id
}

#[tokio::test]
async fn provisioning_states_never_answer_for_another_orgs_members() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_target(dir.path(), "scope.db").await;
    let store = AnyStore::open(db.target()).await.unwrap();
    let (acme, _) = store
        .create_org("Acme", "owner@acme.example")
        .await
        .unwrap();
    let (globex, _) = store
        .create_org("Globex", "owner@globex.example")
        .await
        .unwrap();
    let acme_user = new_user(&store, acme.id, "ann@acme.example").await;
    let globex_user = new_user(&store, globex.id, "gus@globex.example").await;
    let both = vec![acme_user.clone(), globex_user.clone()];

    let seen_by_acme = store.provisioning_states(acme.id, &both).await.unwrap();
    assert_eq!(
        seen_by_acme.keys().collect::<Vec<_>>(),
        vec![&acme_user],
        "Acme's call answers for Acme's member only"
    );
    let seen_by_globex = store.provisioning_states(globex.id, &both).await.unwrap();
    assert_eq!(
        seen_by_globex.keys().collect::<Vec<_>>(),
        vec![&globex_user],
        "Globex's call answers for Globex's member only"
    );
}
