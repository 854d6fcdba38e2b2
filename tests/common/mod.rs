//! Black-box harness: a real server on 127.0.0.1 port 0, driven with reqwest, over a temp
//! SQLite database, or a fresh PostgreSQL database when `SCIMDESK_TEST_POSTGRES` names a
//! server (see `scimdesk::store::testing`).
#![allow(dead_code)]

use reqwest::header::HeaderMap;
use reqwest::{Client, Method, RequestBuilder};
use scimdesk::server::{ServerConfig, run_server};
use scimdesk::store::prelude::*;
use scimdesk::store::testing::TestDb;
use scimdesk::store::{AnyStore, DbTarget};
use serde_json::{Value, json};
use std::path::Path;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A running server. Stop it with [`Server::stop`] to shut down gracefully.
pub struct Server {
    pub base: String,
    pub store: AnyStore,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Server {
    pub async fn start(db: &DbTarget) -> Server {
        Server::start_with(db, ServerConfig::default()).await
    }

    pub async fn start_with(db: &DbTarget, cfg: ServerConfig) -> Server {
        let store = AnyStore::open(db).await.expect("open store");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(run_server(listener, store.clone(), cfg, async move {
            let _ = rx.await;
        }));
        Server {
            base,
            store,
            stop: Some(tx),
            task: Some(task),
        }
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server result");
        }
        self.store.close().await;
    }
}

/// An organization with SCIM enabled and a SCIM token.
#[derive(Debug, Clone)]
pub struct OrgCreds {
    pub uid: String,
    pub admin_token: String,
    pub scim_token: String,
}

/// A fresh database, a running server and one org ready for SCIM. The database goes with it
/// (on PostgreSQL it is dropped).
pub struct Env {
    pub dir: TempDir,
    pub db: TestDb,
    pub server: Server,
    pub org: OrgCreds,
    pub http: Client,
}

pub fn client() -> Client {
    Client::builder().no_proxy().build().expect("client")
}

impl Env {
    pub async fn new() -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = test_target(&dir, "scimdesk.db").await;
        let server = Server::start(&db).await;
        let http = client();
        let org = new_org(&server, &http, "Acme", "owner@acme.example").await;
        Env {
            dir,
            db,
            server,
            org,
            http,
        }
    }

    /// This environment with its server restarted on `cfg` (same database, org and tokens).
    pub async fn with_config(self, cfg: ServerConfig) -> Env {
        let Env {
            dir,
            db,
            server,
            org,
            http,
        } = self;
        server.stop().await;
        let server = Server::start_with(&db, cfg).await;
        Env {
            dir,
            db,
            server,
            org,
            http,
        }
    }

    pub fn scim_url(&self, path: &str) -> String {
        scim_url(&self.server, &self.org.uid, path)
    }

    pub fn admin_url(&self, path: &str) -> String {
        admin_url(&self.server, &self.org.uid, path)
    }

    /// A SCIM request with this org's token.
    pub fn scim(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, self.scim_url(path))
            .bearer_auth(&self.org.scim_token)
    }

    /// An admin request with the owner's token.
    pub fn admin(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, self.admin_url(path))
            .bearer_auth(&self.org.admin_token)
    }

    pub async fn create_user(&self, user_name: &str) -> Value {
        let r = send(self.scim(Method::POST, "/Users").json(&user(user_name))).await;
        assert_eq!(r.status, 201, "create {user_name}: {}", r.body);
        r.body
    }

    pub async fn create_group(&self, name: &str, members: &[&str]) -> Value {
        let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
        let r = send(self.scim(Method::POST, "/Groups").json(&json!({
            "schemas": [GROUP_SCHEMA],
            "displayName": name,
            "members": members,
        })))
        .await;
        assert_eq!(r.status, 201, "create group {name}: {}", r.body);
        r.body
    }

    /// Rows of the audit log, oldest first: (actor, action, target, after).
    pub async fn audit(&self) -> Vec<(String, String, Option<String>, Option<Value>)> {
        const SQL: &str = "SELECT actor, action, target, after FROM audit_log ORDER BY id";
        let rows: Vec<(String, String, Option<String>, Option<String>)> = match self.db.target() {
            DbTarget::Sqlite(path) => {
                let pool = sqlx::SqlitePool::connect_with(
                    sqlx::sqlite::SqliteConnectOptions::new().filename(path),
                )
                .await
                .expect("open db");
                let rows = sqlx::query_as(SQL).fetch_all(&pool).await.expect("audit");
                pool.close().await;
                rows
            }
            DbTarget::Postgres(url) => {
                let pool = sqlx::PgPool::connect(url).await.expect("open db");
                let rows = sqlx::query_as(
                    "SELECT actor, action, target, after::text FROM audit_log ORDER BY id",
                )
                .fetch_all(&pool)
                .await
                .expect("audit");
                pool.close().await;
                rows
            }
        };
        rows.into_iter()
            .map(|(actor, action, target, after)| {
                (
                    actor,
                    action,
                    target,
                    after.map(|a| serde_json::from_str(&a).unwrap()),
                )
            })
            .collect()
    }

    /// The SQLite file of this test's database, or `None` on PostgreSQL (for the tests that
    /// read SQLite's files themselves).
    pub fn sqlite_path(&self) -> Option<&Path> {
        self.db.sqlite_path()
    }
}

/// Where a test's store lives: `file` in `dir` on SQLite, or a fresh database on the server
/// `SCIMDESK_TEST_POSTGRES` names, dropped when the returned guard goes: keep it in a
/// variable for as long as a server uses it.
pub async fn test_target(dir: &TempDir, file: &str) -> TestDb {
    scimdesk::store::testing::fresh_target(dir.path(), file).await
}

/// Whether the tests run on PostgreSQL (`SCIMDESK_TEST_POSTGRES`).
pub fn on_postgres() -> bool {
    scimdesk::store::testing::test_postgres().is_some()
}

pub fn scim_url(server: &Server, org_uid: &str, path: &str) -> String {
    format!("{}/scim/v2.0/organizations/{org_uid}{path}", server.base)
}

pub fn admin_url(server: &Server, org_uid: &str, path: &str) -> String {
    format!("{}/admin/v1/organizations/{org_uid}{path}", server.base)
}

/// Creates an org through the store (as `org create` does), then enables SCIM and mints a
/// SCIM token through the admin API.
pub async fn new_org(server: &Server, http: &Client, name: &str, owner: &str) -> OrgCreds {
    let (org, admin) = server.store.create_org(name, owner).await.expect("org");
    let r = send(
        http.patch(admin_url(server, &org.uid, "/scim"))
            .bearer_auth(&admin.token)
            .json(&json!({"enabled": true})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = send(
        http.post(admin_url(server, &org.uid, "/scim/tokens"))
            .bearer_auth(&admin.token)
            .json(&json!({"label": "test-idp"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    OrgCreds {
        uid: org.uid,
        admin_token: admin.token,
        scim_token: r.body["token"].as_str().unwrap().to_string(),
    }
}

pub fn user(user_name: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": {"givenName": "Given", "familyName": "Family"},
        "emails": [{"value": user_name, "type": "work", "primary": true}],
        "active": true,
    })
}

pub fn patch_op(ops: Value) -> Value {
    json!({"schemas": [PATCH_SCHEMA], "Operations": ops})
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a SCIM error document with this status (and scimType when given).
    pub fn assert_scim_error(&self, status: u16, scim_type: Option<&str>) {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/scim+json"),
            "error content type"
        );
        assert_eq!(
            self.body["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
        assert_eq!(self.body["status"], status.to_string());
        if let Some(t) = scim_type {
            assert_eq!(self.body["scimType"], t, "body: {}", self.body);
        }
    }
}

pub async fn send(rb: RequestBuilder) -> Resp {
    let resp = rb.send().await.expect("request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    // Nothing a client sends may cause a 500: every test checks it on every response.
    assert_ne!(status, 500, "a 500 from the server");
    let bytes = resp.bytes().await.expect("body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Resp {
        status,
        headers,
        body,
    }
}

/// Every row of every table as text, leaving out the last-used times that authenticating
/// refreshes (the other org's own token).
pub async fn database_state(env: &Env) -> Vec<String> {
    let path = match env.db.target() {
        DbTarget::Sqlite(p) => p,
        DbTarget::Postgres(url) => return postgres_state(url).await,
    };
    let pool =
        sqlx::SqlitePool::connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(path))
            .await
            .unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut out = Vec::new();
    for t in tables {
        let cols: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT name FROM pragma_table_info('{t}')"
        )))
        .fetch_all(&pool)
        .await
        .unwrap()
        .iter()
        .map(|r| sqlx::Row::get::<String, _>(r, 0))
        .filter(|c| c != "last_used_at")
        .collect();
        let expr = cols
            .iter()
            .map(|c| format!("quote(\"{c}\")"))
            .collect::<Vec<_>>()
            .join(" || ',' || ");
        let rows: Vec<String> =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT {expr} FROM \"{t}\"")))
                .fetch_all(&pool)
                .await
                .unwrap();
        out.extend(rows.into_iter().map(|r| format!("{t}: {r}")));
    }
    pool.close().await;
    out.sort();
    out
}

/// Everything the database holds, as bytes to search for a secret: on SQLite the files
/// themselves (main and WAL, so any encoding SQLite keeps as text is found), on PostgreSQL
/// every row of every table as JSON text.
pub async fn database_bytes(env: &Env) -> Vec<u8> {
    match env.db.target() {
        DbTarget::Sqlite(path) => {
            let mut bytes = Vec::new();
            for suffix in ["", "-wal"] {
                if let Ok(b) = std::fs::read(format!("{}{suffix}", path.display())) {
                    bytes.extend(b);
                }
            }
            bytes
        }
        DbTarget::Postgres(url) => postgres_state(url).await.join("\n").into_bytes(),
    }
}

/// [`database_state`] on PostgreSQL: every row of every table of the public schema as JSON,
/// but the rate limit's counters, which every replica adds to each second (they are not data).
async fn postgres_state(url: &str) -> Vec<String> {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
           AND table_name <> 'rate_limit_counts'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut out = Vec::new();
    for t in tables {
        let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT (to_jsonb(t) - 'last_used_at')::text FROM \"{t}\" t"
        )))
        .fetch_all(&pool)
        .await
        .unwrap();
        out.extend(rows.into_iter().map(|r| format!("{t}: {r}")));
    }
    pool.close().await;
    out.sort();
    out
}

/// `scimdesk serve` as a child process on 127.0.0.1 (a free port), for tests that need the
/// real binary (killed with SIGKILL or SIGTERM, serving HTTPS, one of several replicas);
/// killed and reaped on drop.
pub struct ServeProcess {
    pub child: std::process::Child,
    /// As the server reports it: `http://127.0.0.1:PORT` or `https://...`.
    pub base: String,
    /// What it printed before the address (the demo's credentials).
    pub printed: Vec<String>,
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `scimdesk serve --listen 127.0.0.1:0 --db DB EXTRA...` and waits (up to 60 s) for
/// the address it prints.
pub fn serve_process(db: &DbTarget, extra: &[&std::ffi::OsStr]) -> ServeProcess {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let child = Command::new(env!("CARGO_BIN_EXE_scimdesk"))
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(scimdesk::store::testing::db_arg(db))
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn scimdesk serve");
    // Owned from here on, so that every way out kills and reaps it.
    let mut p = ServeProcess {
        child,
        base: String::new(),
        printed: Vec::new(),
    };
    let stdout = p.child.stdout.take().unwrap();
    // Its last words, for the message when it fails to start; read to the end so that it
    // never blocks on a full pipe.
    let stderr = p.child.stderr.take().unwrap();
    let said = std::sync::Arc::new(std::sync::Mutex::new(std::collections::VecDeque::new()));
    let tail = said.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let mut tail = tail.lock().unwrap();
            if tail.len() == 20 {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    });
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            if let Some(rest) = line.strip_prefix("scimdesk listening on ") {
                p.base = rest.split_whitespace().next().unwrap().to_string();
                return p;
            }
            p.printed.push(line);
        }
        if let Some(status) = p.child.try_wait().unwrap() {
            std::thread::sleep(Duration::from_millis(100));
            panic!(
                "the server exited during start-up ({status}) on {}; it printed {:?} and said {:?}",
                db.redacted(),
                p.printed,
                said.lock().unwrap()
            );
        }
    }
    panic!(
        "the server did not report its address within 60 s; it printed {:?}",
        p.printed
    );
}

/// `scimdesk org create --db DB --name NAME --owner OWNER --json`: (org uid, admin token).
pub fn org_create(db: &DbTarget, name: &str, owner: &str) -> (String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scimdesk"))
        .args(["org", "create", "--db"])
        .arg(scimdesk::store::testing::db_arg(db))
        .args(["--name", name, "--owner", owner, "--json"])
        .output()
        .expect("run scimdesk org create");
    assert!(
        out.status.success(),
        "org create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("org create --json");
    (
        v["org_uid"].as_str().unwrap().to_string(),
        v["admin_token"].as_str().unwrap().to_string(),
    )
}
