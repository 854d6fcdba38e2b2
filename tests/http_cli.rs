//! The binary: `org create --json`, `serve --demo` on port 0, SIGTERM shutdown, and a demo
//! that is created once.

mod common;

use common::*;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

const EXE: &str = env!("CARGO_BIN_EXE_scimdesk");

struct Proc {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_serve(db: &std::path::Path, demo: bool) -> Proc {
    let mut cmd = Command::new(EXE);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if demo {
        cmd.arg("--demo");
    }
    let mut child = cmd.spawn().expect("spawn scimdesk serve");
    let stdout: ChildStdout = child.stdout.take().unwrap();
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Proc { child, lines }
}

/// Reads stdout lines until the listening line; returns (base URL, lines before it).
fn wait_listening(p: &Proc) -> (String, Vec<String>) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if let Ok(line) = p.lines.recv_timeout(Duration::from_millis(200)) {
            if let Some(rest) = line.strip_prefix("scimdesk listening on ") {
                let base = rest.split_whitespace().next().unwrap().to_string();
                return (base, seen);
            }
            seen.push(line);
        }
    }
    panic!("server did not report its address; output so far: {seen:?}");
}

fn field<'a>(lines: &'a [String], label: &str) -> Option<&'a str> {
    lines
        .iter()
        .find_map(|l| l.trim().strip_prefix(label).map(str::trim))
}

fn terminate(p: &mut Proc) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .args(["-TERM", &p.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(s) = p.child.try_wait().unwrap() {
            return s;
        }
        assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn org_create_prints_json_once_and_rejects_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.db");
    let out = Command::new(EXE)
        .args(["org", "create", "--db"])
        .arg(&db)
        .args(["--name", "Acme", "--owner", "owner@acme.example", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert!(v["org_uid"].as_str().unwrap().len() >= 16);
    assert!(
        v["admin_token"]
            .as_str()
            .unwrap()
            .starts_with("scimdesk_admin_")
    );
    assert_eq!(v.as_object().unwrap().len(), 2);

    let out = Command::new(EXE)
        .args(["org", "create", "--db"])
        .arg(&db)
        .args(["--name", "Acme", "--owner", "not-an-email"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("email"));
}

#[tokio::test]
async fn serve_demo_works_from_the_printed_credentials_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let mut p = spawn_serve(&db, true);
    let (base, lines) = wait_listening(&p);
    let scim_url = field(&lines, "SCIM URL:")
        .expect("SCIM URL printed")
        .to_string();
    let scim_token = field(&lines, "SCIM token:")
        .expect("SCIM token printed")
        .to_string();
    let admin_token = field(&lines, "Admin token:")
        .expect("admin token printed")
        .to_string();
    assert!(
        lines.iter().any(|l| l.contains("curl")),
        "a curl line: {lines:?}"
    );
    assert!(scim_url.starts_with(&base));

    let http = client();
    let r = send(
        http.post(format!("{scim_url}/Users"))
            .bearer_auth(&scim_token)
            .json(&user("demo@acme.example")),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let admin_url = scim_url.replace("/scim/v2.0/", "/admin/v1/");
    let r = send(http.get(&admin_url).bearer_auth(&admin_token)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["name"], "Acme");
    assert_eq!(r.body["scim"]["enabled"], true);

    let status = terminate(&mut p);
    assert!(status.success(), "graceful exit: {status:?}");

    // Restarted on the same database: the same org, no new secrets printed, data in place.
    let mut p = spawn_serve(&db, true);
    let (base2, lines) = wait_listening(&p);
    assert!(field(&lines, "SCIM token:").is_none(), "{lines:?}");
    let scim_url2 = field(&lines, "SCIM URL:").unwrap().replace(&base2, &base);
    assert_eq!(scim_url2, scim_url, "same org uid");
    let r = send(
        http.get(format!("{}/Users", field(&lines, "SCIM URL:").unwrap()))
            .bearer_auth(&scim_token)
            .query(&[("count", "10")]),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The demo's 50 people and the one created above.
    assert_eq!(r.body["totalResults"], json!(51));
    terminate(&mut p);
}
