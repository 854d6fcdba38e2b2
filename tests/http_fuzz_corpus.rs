//! The `scim_body` fuzz corpus (`fuzz/corpus/scim_body/`, crash reproducers included) sent to
//! a real server over HTTP: whatever the body, the answer is never a 500 (`send` checks that on
//! every response) and always a JSON SCIM document. The first byte of each input says which
//! request it is (see `scimdesk::fuzzing::scim_body`).

mod common;

use common::*;
use reqwest::Method;
use std::path::Path;

#[tokio::test]
async fn every_scim_body_in_the_corpus_gets_an_answer_that_is_not_a_500() {
    let env = Env::new().await;
    let user = env.create_user("fuzz@acme.example").await;
    let uid = user["id"].as_str().unwrap().to_string();
    let group = env.create_group("Fuzz", &[uid.as_str()]).await;
    let gid = group["id"].as_str().unwrap().to_string();

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/scim_body");
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .expect("the scim_body corpus")
        .map(|e| e.unwrap().path())
        .collect();
    inputs.sort();
    let mut sent = 0;
    for path in &inputs {
        let data = std::fs::read(path).unwrap();
        let Some((&mode, body)) = data.split_first() else {
            continue;
        };
        // Creates use fresh resources; PATCHes aim at the fixtures (which they may change:
        // only the status matters here).
        let (method, target) = match mode % 4 {
            0 => (Method::POST, "/Users".to_string()),
            1 => (Method::POST, "/Groups".to_string()),
            2 => (Method::PATCH, format!("/Users/{uid}")),
            _ => (Method::PATCH, format!("/Groups/{gid}")),
        };
        let r = send(
            env.scim(method.clone(), &target)
                .header("content-type", "application/scim+json")
                .body(body.to_vec()),
        )
        .await;
        assert!(
            r.status < 500,
            "{method} {target} with {}: {} {}",
            path.display(),
            r.status,
            r.body
        );
        assert!(r.body.is_object() || r.body.is_null(), "{}", path.display());
        sent += 1;
    }
    eprintln!("{sent} corpus bodies sent over HTTP");
    assert!(sent >= 40, "only {sent} inputs replayed");
}
