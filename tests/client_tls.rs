//! The console's side of TLS and of its files' permissions, against the real `scimdesk serve`
//! on HTTPS with the test certificate of `tests/fixtures/tls/` (signed by a throwaway CA that
//! no system trusts):
//! - the admin client trusts the server when given the CA (a profile's `ca_file`), and
//!   without it refuses with a message that names the certificate problem and `ca_file`;
//! - `scimdesk export` honours `ca_file` from the profile, and refuses a config file that
//!   others may read, naming the file and `chmod 600`.
#![cfg(unix)]

mod common;

use common::{ServeProcess, org_create, serve_process, test_target};
use scimdesk::client::{AdminClient, ApiError};
use scimdesk::store::DbTarget;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const EXE: &str = env!("CARGO_BIN_EXE_scimdesk");

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

/// `scimdesk serve` on HTTPS with the fixture certificate.
fn serve_tls(db: &DbTarget) -> ServeProcess {
    let (cert, key) = (fixture("localhost.crt"), fixture("localhost.key"));
    let s = serve_process(
        db,
        &[
            "--tls-cert".as_ref(),
            cert.as_os_str(),
            "--tls-key".as_ref(),
            key.as_os_str(),
        ],
    );
    assert!(s.base.starts_with("https://"), "{}", s.base);
    s
}

fn write_private(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn export(config_dir: &Path, out: &Path) -> Output {
    Command::new(EXE)
        .args(["export", "--out"])
        .arg(out)
        .env("SCIMDESK_CONFIG_DIR", config_dir)
        .env("SCIMDESK_DATA_DIR", config_dir.join("data"))
        .env_remove("SCIMDESK_TOKEN")
        .output()
        .expect("run scimdesk export")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_verifies_the_server_certificate_and_trusts_the_profiles_ca() {
    let dir = tempfile::tempdir().unwrap();
    let db = test_target(&dir, "tls.db").await;
    let (org, token) = org_create(&db, "Acme", "owner@acme.example");
    let server = serve_tls(&db);

    // With the CA: the admin API answers over HTTPS.
    let trusting = AdminClient::with_ca(
        &server.base,
        &org,
        token.clone(),
        "the test",
        Some(&fixture("ca.crt")),
    )
    .expect("a client with the fixture CA");
    let info = trusting.org().await.expect("the org over HTTPS");
    assert_eq!(info.name, "Acme");
    // The SCIM URL handed out says https, as the server serves.
    let url = trusting.scim_settings().await.unwrap().scim_url.unwrap();
    assert!(
        url.starts_with(&format!("{}/scim/v2.0/", server.base)),
        "{url}"
    );
    assert!(url.starts_with("https://"), "{url}");

    // Without it: refused, and the message says why and what to do.
    let plain = AdminClient::new(&server.base, &org, token.clone(), "the test").unwrap();
    let err = plain
        .org()
        .await
        .expect_err("an unknown CA must be refused");
    assert!(matches!(err, ApiError::Unreachable { .. }), "{err:?}");
    let text = err.to_string();
    eprintln!("without the CA: {text}");
    assert!(text.contains("certificate"), "{text}");
    assert!(text.contains("ca_file"), "{text}");

    // Another CA (here: the server's own leaf certificate, which is no CA) does not help.
    let wrong = AdminClient::with_ca(
        &server.base,
        &org,
        token.clone(),
        "the test",
        Some(&fixture("localhost.crt")),
    )
    .unwrap();
    let err = wrong.org().await.expect_err("a leaf is not a trust anchor");
    assert!(err.to_string().contains("certificate"), "{err}");

    // A ca_file that is missing or holds no certificate is a clear configuration error.
    let missing = dir.path().join("missing.pem");
    let e = AdminClient::with_ca(&server.base, &org, "t", "s", Some(&missing)).unwrap_err();
    assert!(
        matches!(&e, ApiError::Config(m) if m.contains("missing.pem") && m.contains("ca_file")),
        "{e:?}"
    );
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate\n").unwrap();
    let e = AdminClient::with_ca(&server.base, &org, "t", "s", Some(&junk)).unwrap_err();
    assert!(
        matches!(&e, ApiError::Config(m) if m.contains("junk.pem")),
        "{e:?}"
    );

    // `scimdesk export` reads the profile's ca_file.
    let cfg = dir.path().join("config");
    std::fs::create_dir_all(&cfg).unwrap();
    let token_file = cfg.join("tls.token");
    write_private(&token_file, &format!("{token}\n"));
    let profile = |ca: Option<&Path>| {
        let mut text = format!(
            "default_profile = \"tls\"\n[profiles.tls]\nurl = \"{}\"\norg = \"{org}\"\n\
             token_file = \"{}\"\n",
            server.base,
            token_file.display()
        );
        if let Some(ca) = ca {
            text.push_str(&format!("ca_file = \"{}\"\n", ca.display()));
        }
        text
    };
    let config = cfg.join("config.toml");
    let out_file = dir.path().join("acme.json");

    write_private(&config, &profile(Some(&fixture("ca.crt"))));
    let out = export(&cfg, &out_file);
    assert!(
        out.status.success(),
        "export with ca_file: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let snap: Value = serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap();
    assert_eq!(snap["org"]["name"], "Acme");

    write_private(&config, &profile(None));
    let out = export(&cfg, dir.path().join("other.json").as_path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "export without the CA must fail");
    assert!(
        stderr.contains("certificate") && stderr.contains("ca_file"),
        "{stderr}"
    );
    assert!(!dir.path().join("other.json").exists());

    // A config file that others may read is refused before anything else happens.
    write_private(&config, &profile(Some(&fixture("ca.crt"))));
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = export(&cfg, dir.path().join("third.json").as_path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a world-readable config must be refused"
    );
    assert!(
        stderr.contains(&format!("chmod 600 {}", config.display())),
        "{stderr}"
    );
    assert!(!dir.path().join("third.json").exists());

    // And so is a token file that others may read, even with a private config.
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = export(&cfg, dir.path().join("fourth.json").as_path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!("chmod 600 {}", token_file.display())),
        "{stderr}"
    );
    drop(server);
}
