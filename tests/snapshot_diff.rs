//! `scimdesk diff OLD NEW [--json]` as a user runs it: the table, the JSON, and diff(1)'s
//! exit codes (0 same, 1 different, 2 trouble), on the committed format-1 fixture and
//! variations of it.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const EXE: &str = env!("CARGO_BIN_EXE_scimdesk");
const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/snapshot-v1.json"
);

fn fixture() -> Value {
    serde_json::from_slice(&std::fs::read(FIXTURE).unwrap()).unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn diff(args: &[&Path], json: bool) -> Output {
    let mut cmd = Command::new(EXE);
    cmd.arg("diff").args(args);
    if json {
        cmd.arg("--json");
    }
    cmd.output().expect("run scimdesk diff")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn the_format_1_fixture_still_opens() {
    // Every later scimdesk must read this file: it is what auditors keep from last quarter.
    let s = scimdesk::snapshot::read(&std::fs::read(FIXTURE).unwrap()).expect("fixture opens");
    assert_eq!(s.format_version, 1);
    assert_eq!(s.org.uid, "acme0001");
    assert_eq!(s.members.len(), 5);
    assert_eq!(s.mappings.len(), 3);
    assert_eq!(s.requests.len(), 2);
    assert_eq!(s.scim.tokens[0].label, "okta");
    let ann = s
        .members
        .iter()
        .find(|m| m.email == "ann@acme.example")
        .unwrap();
    assert_eq!(ann.granted.as_ref().unwrap().stack_roles.len(), 2);
}

#[test]
fn the_same_snapshot_twice_is_no_difference_and_exit_0() {
    let out = diff(&[Path::new(FIXTURE), Path::new(FIXTURE)], false);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "no differences\n");
    let out = diff(&[Path::new(FIXTURE), Path::new(FIXTURE)], true);
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v, json!({"members": [], "mappings": [], "settings": []}));
}

#[test]
fn changes_print_a_table_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let mut new = fixture();
    // Bob's pending request was approved: he gains Content Manager on Website.
    let cm = new["members"][1]["requested"]["stack_roles"][0].clone();
    new["members"][1]["granted"]["stack_roles"]
        .as_array_mut()
        .unwrap()
        .push(cm);
    // Ann leaves; Eve joins.
    let mut eve = new["members"][0].clone();
    eve["id"] = json!("u-eve");
    eve["email"] = json!("eve@acme.example");
    new["members"].as_array_mut().unwrap().remove(0);
    new["members"].as_array_mut().unwrap().push(eve);
    // Platform admins now map to Member; SCIM approval of deprovisioning turned on.
    new["mappings"][2]["org_role"] = json!("member");
    new["scim"]["approval"]["deprovision"] = json!(true);
    let new = write(dir.path(), "new.json", &serde_json::to_vec(&new).unwrap());

    let out = diff(&[Path::new(FIXTURE), &new], false);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    for line in [
        "- ann@acme.example",
        "left",
        "+ bob@acme.example",
        "stack role",
        "Website / Content Manager",
        "+ eve@acme.example",
        "joined",
        "group Platform admins",
        "Admin → Member",
        "approval.deprovision",
        "false → true",
        "3 members changed (1 joined, 1 left, 1 access changed), 1 mapping, 1 setting",
    ] {
        assert!(table.contains(line), "missing {line:?} in\n{table}");
    }

    let out = diff(&[Path::new(FIXTURE), &new], true);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).expect("--json prints JSON");
    let emails: Vec<&str> = v["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails,
        ["ann@acme.example", "bob@acme.example", "eve@acme.example"]
    );
    assert_eq!(
        v["members"][1]["stack_roles_gained"][0]["role_uid"],
        "content_manager"
    );
    assert_eq!(v["mappings"][0]["change"], "changed");
    assert_eq!(v["settings"][0]["setting"], "approval.deprovision");
}

#[test]
fn bad_files_exit_2_naming_the_file_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(FIXTURE).unwrap();
    let cut = write(dir.path(), "cut.json", &bytes[..bytes.len() / 2]);
    let mut newer = fixture();
    newer["format_version"] = json!(7);
    let newer = write(
        dir.path(),
        "newer.json",
        &serde_json::to_vec(&newer).unwrap(),
    );
    let other = write(dir.path(), "package.json", br#"{"name": "left-pad"}"#);
    let corrupt = write(
        dir.path(),
        "corrupt.json",
        b"{\n  \"format\": \"scimdesk-snapshot\",\n  x\n}",
    );
    let missing = dir.path().join("missing.json");

    let cases: [(&Path, &[&str]); 5] = [
        (&cut, &["cut.json", "truncated", "line"]),
        (
            &newer,
            &["newer.json", "format_version 7", "format_version 1"],
        ),
        (&other, &["package.json", "not a scimdesk snapshot"]),
        (&corrupt, &["corrupt.json", "line 3, column 3"]),
        (&missing, &["missing.json", "cannot read"]),
    ];
    for (file, words) in cases {
        // Bad on either side.
        for args in [[Path::new(FIXTURE), file], [file, Path::new(FIXTURE)]] {
            let out = diff(&args, false);
            assert_eq!(out.status.code(), Some(2), "{}", file.display());
            assert!(out.stdout.is_empty());
            let err = text(&out.stderr);
            for w in words {
                assert!(err.contains(w), "missing {w:?} in {err}");
            }
            assert!(!err.contains("panicked"), "{err}");
        }
    }
}

#[test]
fn what_a_snapshot_holds_never_panics_diff_nor_reaches_the_terminal() {
    // A 500,000-character userName and one carrying OSC 52 (a clipboard write) and OSC 0 (the
    // window title), as an old or hand-made snapshot may hold.
    let dir = tempfile::tempdir().unwrap();
    let old = fixture();
    let mut new = fixture();
    let mut long = new["members"][0].clone();
    long["id"] = json!("u-long");
    long["email"] = json!(format!("{}@acme.example", "l".repeat(500_000)));
    let mut sneaky = new["members"][0].clone();
    sneaky["id"] = json!("u-sneaky");
    sneaky["email"] = json!("a\u{1b}]52;c;ZXZpbA==\u{7}\u{1b}]0;owned\u{7}@acme.example");
    new["members"].as_array_mut().unwrap().push(long);
    new["members"].as_array_mut().unwrap().push(sneaky);
    let a = write(dir.path(), "old.json", &serde_json::to_vec(&old).unwrap());
    let b = write(dir.path(), "new.json", &serde_json::to_vec(&new).unwrap());
    for as_json in [false, true] {
        let out = diff(&[&a, &b], as_json);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        assert!(
            !out.stdout.contains(&0x1b) && !out.stdout.contains(&0x07),
            "no raw escape reaches the terminal"
        );
        let shown = text(&out.stdout);
        assert!(shown.contains("owned"), "the text stays readable");
    }
    // review --against reads the same snapshots without panicking (it answers before the
    // console starts when stdout is no terminal).
    let out = Command::new(EXE)
        .arg("review")
        .arg(&b)
        .arg("--against")
        .arg(&a)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(101), "{}", text(&out.stderr));
}
