//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/*`, seeds generated from the IdP
//! corpus by `scripts/fuzz-seeds.py` plus what fuzzing found) and any crash reproducers in
//! `fuzz/artifacts/<target>/` through the same entry points as the cargo-fuzz targets, so
//! that a plain `cargo test` catches a regression on any input fuzzing ever kept.

use std::path::{Path, PathBuf};

type Entry = fn(&[u8]);

const TARGETS: [(&str, Entry); 3] = [
    ("filter", scimdesk::fuzzing::filter),
    ("patch", scimdesk::fuzzing::patch),
    ("scim_body", scimdesk::fuzzing::scim_body),
];

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .map(|e| e.expect("a readable corpus entry").path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

fn replay(target: &str, entry: Entry) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut inputs = files(&root.join("corpus").join(target));
    let seeds = inputs.len();
    inputs.extend(files(&root.join("artifacts").join(target)));
    for path in &inputs {
        let data = std::fs::read(path).expect("a readable corpus file");
        let outcome = std::panic::catch_unwind(|| entry(&data));
        assert!(
            outcome.is_ok(),
            "fuzz target {target} panics on {} (replay it with `cargo fuzz run {target} {}`)",
            path.display(),
            path.display()
        );
    }
    seeds
}

#[test]
fn filter_corpus_replays_cleanly() {
    let (name, entry) = TARGETS[0];
    assert!(replay(name, entry) >= 10, "the {name} corpus is missing");
}

#[test]
fn patch_corpus_replays_cleanly() {
    let (name, entry) = TARGETS[1];
    assert!(replay(name, entry) >= 10, "the {name} corpus is missing");
}

#[test]
fn scim_body_corpus_replays_cleanly() {
    let (name, entry) = TARGETS[2];
    assert!(replay(name, entry) >= 10, "the {name} corpus is missing");
}

/// Every IdP case that carries a filter, a PATCH or a body has its seed in the corpus: the
/// seed script was run after the IdP corpus last grew.
#[test]
fn every_idp_body_is_seeded() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus: Vec<Vec<u8>> = files(&root.join("fuzz/corpus/patch"))
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    let mut patches = 0;
    for case in files(&root.join("tests/idp")) {
        if case.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&case).unwrap()).unwrap();
        if v["request"]["method"] == "PATCH" {
            let body = serde_json::to_value(&v["request"]["body"]).unwrap();
            patches += 1;
            assert!(
                corpus.iter().any(
                    |c| serde_json::from_slice::<serde_json::Value>(c).is_ok_and(|c| c == body)
                ),
                "{} has no seed in fuzz/corpus/patch: run scripts/fuzz-seeds.py",
                case.display()
            );
        }
    }
    assert!(patches >= 10, "only {patches} PATCH cases in tests/idp");
}
