//! Several `serve` replicas on one PostgreSQL database behave as one server (issue 13): what
//! must hold across them is held by the database, never by one process's memory.
//!
//! In process: two servers (two stores, two connection pools) on one fresh database race
//! member adds, duplicate creates and approvals against IdP changes, and a token revoked
//! through one is refused by the other. As processes: one replica is killed with SIGKILL
//! under a load spread over two, and PostgreSQL itself is restarted under load.
//!
//! They need PostgreSQL: they are ignored (reported skipped) unless asked for, and run on the
//! server `SCIMDESK_TEST_POSTGRES` names (the restart test also needs PostgreSQL's server
//! binaries, to run a private cluster it may restart). Asked for without either, they fail.
//! They wait for the load to reach a point (acknowledged writes, answers after a kill or a
//! restart) by polling with a deadline, never for a fixed time.

mod access_support;
mod common;

use access_support::*;
use common::*;
use reqwest::{Client, Method, RequestBuilder};
use scimdesk::store::DbTarget;
use scimdesk::store::testing::TestDb;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Two replicas on one database, and one org with SCIM on.
struct Replicas {
    /// The first replica, in the harness's `Env` (which the access helpers take).
    env: Env,
    /// The second replica, on the same database.
    b: Server,
}

impl Replicas {
    async fn start() -> Replicas {
        scimdesk::store::testing::required_test_postgres();
        let env = Env::new().await;
        let b = Server::start(&env.db).await;
        Replicas { env, b }
    }

    /// Replica `i % 2`'s base URL: even through the first, odd through the second.
    fn base(&self, i: usize) -> &str {
        if i.is_multiple_of(2) {
            &self.env.server.base
        } else {
            &self.b.base
        }
    }

    fn scim(&self, i: usize, method: Method, path: &str) -> RequestBuilder {
        let url = format!(
            "{}/scim/v2.0/organizations/{}{path}",
            self.base(i),
            self.env.org.uid
        );
        self.env
            .http
            .request(method, url)
            .bearer_auth(&self.env.org.scim_token)
    }

    fn admin(&self, i: usize, method: Method, path: &str) -> RequestBuilder {
        let url = format!(
            "{}/admin/v1/organizations/{}{path}",
            self.base(i),
            self.env.org.uid
        );
        self.env
            .http
            .request(method, url)
            .bearer_auth(&self.env.org.admin_token)
    }

    async fn stop(self) {
        self.b.stop().await;
        self.env.server.stop().await;
    }
}

fn add_members(ids: &[String]) -> Value {
    let value: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
    patch_op(json!([{"op": "add", "path": "members", "value": value}]))
}

fn member_ids(group: &Value) -> BTreeSet<String> {
    group["members"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| m["value"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set SCIMDESK_TEST_POSTGRES and run the ignored tests"]
async fn eight_clients_split_over_two_replicas_add_members_to_one_group_and_none_is_lost() {
    let r = Replicas::start().await;
    let r = Arc::new(r);
    let group = r.env.create_group("Everyone", &[]).await;
    let gid = group["id"].as_str().unwrap().to_string();
    // Each of 8 clients creates 5 users and adds them one PATCH at a time, all through the
    // replica of its parity, while the others do the same through the other one.
    let mut tasks = Vec::new();
    for c in 0..8 {
        let (r, gid) = (r.clone(), gid.clone());
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            for i in 0..5 {
                let name = format!("c{c}-{i}@acme.example");
                let created = send(r.scim(c, Method::POST, "/Users").json(&user(&name))).await;
                assert_eq!(created.status, 201, "{}", created.body);
                let id = created.body["id"].as_str().unwrap().to_string();
                let patched = send(
                    r.scim(c + i, Method::PATCH, &format!("/Groups/{gid}"))
                        .json(&add_members(std::slice::from_ref(&id))),
                )
                .await;
                assert!(
                    patched.status == 200 || patched.status == 204,
                    "{}",
                    patched.body
                );
                mine.push(id);
            }
            mine
        }));
    }
    let mut wanted = BTreeSet::new();
    for t in tasks {
        wanted.extend(t.await.unwrap());
    }
    for i in 0..2 {
        let g = send(r.scim(i, Method::GET, &format!("/Groups/{gid}"))).await;
        assert_eq!(g.status, 200, "{}", g.body);
        assert_eq!(member_ids(&g.body), wanted, "replica {i} sees every member");
    }
    let r = Arc::into_inner(r).unwrap();
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set SCIMDESK_TEST_POSTGRES and run the ignored tests"]
async fn duplicate_creates_split_over_two_replicas_give_exactly_one_201() {
    let r = Replicas::start().await;
    let r = Arc::new(r);
    for round in 0..5 {
        let name = format!("Twin{round}@Acme.example");
        let mut tasks = Vec::new();
        for i in 0..8 {
            let (r, name) = (r.clone(), name.clone());
            // Different cases of one userName: the uniqueness holds whatever the case.
            let name = if i % 3 == 0 {
                name.to_lowercase()
            } else {
                name
            };
            tasks.push(tokio::spawn(async move {
                send(r.scim(i, Method::POST, "/Users").json(&user(&name))).await
            }));
        }
        let mut created = 0;
        for t in tasks {
            let resp = t.await.unwrap();
            match resp.status {
                201 => created += 1,
                409 => resp.assert_scim_error(409, Some("uniqueness")),
                other => panic!("a duplicate create answered {other}: {}", resp.body),
            }
        }
        assert_eq!(created, 1, "round {round}: exactly one create wins");
    }
    let list = send(r.scim(1, Method::GET, "/Users?count=100")).await;
    assert_eq!(list.body["totalResults"], 5, "{}", list.body);
    let r = Arc::into_inner(r).unwrap();
    r.stop().await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set SCIMDESK_TEST_POSTGRES and run the ignored tests"]
async fn a_token_revoked_through_one_replica_is_refused_by_the_other_on_its_next_request() {
    let r = Replicas::start().await;
    let minted = send(
        r.admin(0, Method::POST, "/scim/tokens")
            .json(&json!({"label": "okta"})),
    )
    .await;
    assert_eq!(minted.status, 201, "{}", minted.body);
    let (id, token) = (
        minted.body["id"].as_str().unwrap(),
        minted.body["token"].as_str().unwrap(),
    );
    let users = |i: usize| {
        r.env
            .http
            .get(format!(
                "{}/scim/v2.0/organizations/{}/Users",
                r.base(i),
                r.env.org.uid
            ))
            .bearer_auth(token)
    };
    assert_eq!(
        send(users(1)).await.status,
        200,
        "the other replica knows it"
    );
    let revoked = send(r.admin(0, Method::DELETE, &format!("/scim/tokens/{id}"))).await;
    assert_eq!(revoked.status, 204, "{}", revoked.body);
    send(users(1)).await.assert_scim_error(401, None);
    send(users(0)).await.assert_scim_error(401, None);
    r.stop().await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set SCIMDESK_TEST_POSTGRES and run the ignored tests"]
async fn what_one_replica_writes_the_other_lists_at_once() {
    let r = Replicas::start().await;
    // The console polls /users and /approvals every 5 s, through whichever replica the
    // balancer picks: a member created through one is listed by the other straight away.
    for i in 0..4 {
        let created = send(
            r.scim(i, Method::POST, "/Users")
                .json(&user(&format!("p{i}@acme.example"))),
        )
        .await;
        assert_eq!(created.status, 201, "{}", created.body);
        let id = created.body["id"].as_str().unwrap();
        let listed = send(r.admin(i + 1, Method::GET, "/users?limit=200")).await;
        assert_eq!(listed.status, 200, "{}", listed.body);
        assert!(
            listed.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["id"] == id),
            "{}",
            listed.body
        );
        let queue = send(r.admin(i + 1, Method::GET, "/approvals?state=pending")).await;
        assert_eq!(queue.body["total"], i + 1, "{}", queue.body);
    }
    r.stop().await;
}

/// The approver approves the version it saw through one replica while the IdP raises the
/// member's access through the other: a 409 with the new version, or the approval of
/// exactly what was seen, and the request left over holds the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set SCIMDESK_TEST_POSTGRES and run the ignored tests"]
async fn approvals_racing_idp_changes_across_replicas_end_in_a_409_or_a_consistent_state() {
    let r = Replicas::start().await;
    let env = &r.env;
    set_policy(env, json!({"provision": false})).await;
    let web = new_stack(env, "Web").await;
    let devs = mapped_group(env, "Developers", "member", &[(&web, "developer")]).await;
    let editors = mapped_group(env, "Editors", "member", &[(&web, "content_manager")]).await;
    let mut requests = Vec::new();
    for i in 0..8 {
        let id = new_user(env, &format!("racer{i}@acme.example")).await;
        add_member(env, &devs, &id).await;
        let m = member(env, &id).await;
        assert_eq!(m["request"]["version"], 1, "{m}");
        requests.push((id, m["request"]["id"].as_str().unwrap().to_string()));
    }
    let r = Arc::new(r);
    let mut tasks = Vec::new();
    for (i, (id, req)) in requests.iter().enumerate() {
        let (r1, req) = (r.clone(), req.clone());
        let approving = tokio::spawn(async move {
            send(
                r1.admin(i, Method::POST, &format!("/approvals/{req}/approve"))
                    .json(&json!({"version": 1})),
            )
            .await
        });
        let (r2, editors, id2) = (r.clone(), editors.clone(), id.clone());
        let raising = tokio::spawn(async move {
            send(
                r2.scim(i + 1, Method::PATCH, &format!("/Groups/{editors}"))
                    .json(&add_members(&[id2])),
            )
            .await
        });
        tasks.push((id.clone(), approving, raising));
    }
    let developer = json!({"stack_uid": web, "role_uid": "developer"});
    for (id, approving, raising) in tasks {
        let approved = approving.await.unwrap();
        let raised = raising.await.unwrap();
        assert!(
            raised.status == 200 || raised.status == 204,
            "{}",
            raised.body
        );
        let m = member(&r.env, &id).await;
        let granted: Vec<&Value> = m["granted"]["stack_roles"]
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        match approved.status {
            200 => {
                assert_eq!(granted.len(), 1, "exactly what was seen: {m}");
                assert_eq!(granted[0]["role_uid"], developer["role_uid"], "{m}");
                assert_eq!(m["request"]["kind"], "access_increase", "{m}");
            }
            409 => {
                assert!(granted.is_empty(), "granted without approval: {m}");
                assert_eq!(approved.body["request"]["version"], 2, "{}", approved.body);
            }
            other => panic!("approve answered {other}: {}", approved.body),
        }
    }
    let r = Arc::into_inner(r).unwrap();
    r.stop().await;
}

// ---------------------------------------------------------------------------------------
// Replicas as processes.

/// `scimdesk serve` on `db` without a rate limit (the load is far above it), killed and
/// reaped on drop.
fn spawn_replica(db: &DbTarget) -> ServeProcess {
    serve_process(db, &["--rate-limit".as_ref(), "0".as_ref()])
}

/// `org create` on `db`, SCIM on, a SCIM token and one group: (uid, scim token, group id).
async fn org_on(db: &DbTarget, base: &str) -> (String, String, String) {
    let (uid, admin) = org_create(db, "Acme", "o@acme.example");
    let http = client();
    let admin_url = format!("{base}/admin/v1/organizations/{uid}");
    let r = send(
        http.patch(format!("{admin_url}/scim"))
            .bearer_auth(&admin)
            .json(&json!({"enabled": true, "approval": {"provision": false}})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = send(
        http.post(format!("{admin_url}/scim/tokens"))
            .bearer_auth(&admin)
            .json(&json!({"label": "load"})),
    )
    .await;
    let token = r.body["token"].as_str().unwrap().to_string();
    let r = send(
        http.post(format!("{base}/scim/v2.0/organizations/{uid}/Groups"))
            .bearer_auth(&token)
            .json(&json!({"schemas": [GROUP_SCHEMA], "displayName": "Everyone"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    (uid, token, r.body["id"].as_str().unwrap().to_string())
}

/// What the load acknowledged (2xx) and what it saw otherwise.
#[derive(Default)]
struct Tally {
    users: BTreeSet<String>,
    members: BTreeSet<String>,
    /// Statuses other than 2xx, by code.
    refused: std::collections::BTreeMap<u16, usize>,
    /// Requests the server never answered (connection refused or reset, timeouts).
    unanswered: usize,
}

struct Load {
    http: Client,
    scim: Vec<String>,
    token: String,
    group: String,
    tally: Mutex<Tally>,
    stop: AtomicBool,
    /// Requests answered 2xx after `mark` was set (the other replica keeps answering).
    after_mark: AtomicUsize,
    mark: AtomicBool,
}

impl Load {
    /// One client: create a user then add it to the group, through replica `c % n` (and the
    /// next one when its replica stops answering, as a load balancer would), until stopped.
    async fn client(self: Arc<Self>, c: usize) {
        let mut i = 0usize;
        while !self.stop.load(Ordering::Relaxed) {
            i += 1;
            let name = format!("l{c}-{i}@acme.example");
            let Some(created) = self
                .send(c + i, Method::POST, "/Users".into(), user(&name))
                .await
            else {
                continue;
            };
            let id = created["id"].as_str().unwrap().to_string();
            self.tally.lock().unwrap().users.insert(id.clone());
            let path = format!("/Groups/{}", self.group);
            if self
                .send(
                    c + i + 1,
                    Method::PATCH,
                    path,
                    add_members(std::slice::from_ref(&id)),
                )
                .await
                .is_some()
            {
                self.tally.lock().unwrap().members.insert(id);
            }
        }
    }

    /// Sends through replica `r % n`, then the others, until one answers; `Some(body)` on a
    /// 2xx. Records every other outcome.
    async fn send(&self, r: usize, method: Method, path: String, body: Value) -> Option<Value> {
        let n = self.scim.len();
        for k in 0..n {
            let url = format!("{}{path}", self.scim[(r + k) % n]);
            let sent = self
                .http
                .request(method.clone(), url)
                .bearer_auth(&self.token)
                .json(&body)
                .send()
                .await;
            let resp = match sent {
                Ok(resp) => resp,
                Err(e) if e.is_connect() => continue,
                Err(_) => {
                    self.tally.lock().unwrap().unanswered += 1;
                    return None;
                }
            };
            let status = resp.status();
            if status.is_success() {
                if self.mark.load(Ordering::Relaxed) {
                    self.after_mark.fetch_add(1, Ordering::Relaxed);
                }
                return resp.json().await.ok();
            }
            if status.as_u16() == 503 {
                assert!(
                    resp.headers().contains_key("retry-after"),
                    "a 503 without Retry-After"
                );
            }
            *self
                .tally
                .lock()
                .unwrap()
                .refused
                .entry(status.as_u16())
                .or_default() += 1;
            return None;
        }
        self.tally.lock().unwrap().unanswered += 1;
        None
    }

    /// Every acknowledged user and member is there, read through `base`.
    async fn verify(&self, base_scim: &str) {
        let (users, acked_members) = {
            let tally = self.tally.lock().unwrap();
            (tally.users.clone(), tally.members.clone())
        };
        let group = send(
            self.http
                .get(format!("{base_scim}/Groups/{}", self.group))
                .bearer_auth(&self.token),
        )
        .await;
        assert_eq!(group.status, 200, "{}", group.body);
        let members = member_ids(&group.body);
        let lost: Vec<&String> = acked_members.difference(&members).collect();
        assert!(lost.is_empty(), "acknowledged members lost: {lost:?}");
        for id in &users {
            let r = send(
                self.http
                    .get(format!("{base_scim}/Users/{id}"))
                    .bearer_auth(&self.token),
            )
            .await;
            assert_eq!(r.status, 200, "acknowledged user {id} lost: {}", r.body);
        }
    }
}

fn load(scim: Vec<String>, token: String, group: String) -> Arc<Load> {
    Arc::new(Load {
        http: Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(15))
            .build()
            .unwrap(),
        scim,
        token,
        group,
        tally: Mutex::default(),
        stop: AtomicBool::new(false),
        after_mark: AtomicUsize::new(0),
        mark: AtomicBool::new(false),
    })
}

/// How many acknowledged writes (or answers) make "under load": a few per client.
const UNDER_LOAD: usize = 24;

/// Waits until `reached` holds, looking every 20 ms; fails naming `what` after 30 s.
async fn until(what: &str, reached: impl Fn() -> bool) {
    let limit = Duration::from_secs(30);
    let deadline = Instant::now() + limit;
    while !reached() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set SCIMDESK_TEST_POSTGRES and run the ignored tests"]
async fn killing_one_replica_under_load_loses_no_acknowledged_write_and_the_other_answers() {
    let server = scimdesk::store::testing::required_test_postgres();
    let db = TestDb::postgres(&server).await.unwrap();
    let mut a = spawn_replica(&db);
    let b = spawn_replica(&db);
    let (uid, token, group) = org_on(&db, &a.base).await;
    let scim = |base: &str| format!("{base}/scim/v2.0/organizations/{uid}");
    let l = load(vec![scim(&a.base), scim(&b.base)], token, group);
    let clients: Vec<_> = (0..8).map(|c| tokio::spawn(l.clone().client(c))).collect();
    until("the load acknowledged writes before the kill", || {
        l.tally.lock().unwrap().members.len() >= UNDER_LOAD
    })
    .await;
    let before = l.tally.lock().unwrap().members.len();
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    l.mark.store(true, Ordering::Relaxed);
    until("the survivor answered after the kill", || {
        l.after_mark.load(Ordering::Relaxed) >= UNDER_LOAD
    })
    .await;
    l.stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }
    let after = l.after_mark.load(Ordering::Relaxed);
    {
        let tally = l.tally.lock().unwrap();
        eprintln!(
            "kill -9: {before} members acknowledged before the kill, {} in all; {after} \
             answers from the survivor after it; refused {:?}; unanswered {}",
            tally.members.len(),
            tally.refused,
            tally.unanswered
        );
        assert!(before > 0, "the load ran before the kill");
        assert!(after > 0, "the surviving replica kept answering");
        assert!(
            tally.refused.keys().all(|s| *s < 500),
            "the survivor refused: {:?}",
            tally.refused
        );
    }
    l.verify(&scim(&b.base)).await;
}

/// A PostgreSQL cluster of this test's own (it restarts it), in a temporary directory, on
/// 127.0.0.1 and a free port, run by the `postgres` user when the test runs as root (initdb
/// refuses root); stopped and removed on drop.
struct PrivateCluster {
    bin: std::path::PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    as_postgres: bool,
}

impl PrivateCluster {
    fn start() -> Option<PrivateCluster> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .find(|p| p.join("initdb").exists())?;
        let as_postgres = running_as_root();
        let dir = tempfile::tempdir().ok()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let c = PrivateCluster {
            bin,
            dir,
            port,
            as_postgres,
        };
        if as_postgres {
            let ok = std::process::Command::new("chown")
                .args(["-R", "postgres"])
                .arg(c.dir.path())
                .status()
                .ok()?
                .success();
            assert!(ok, "chown the private cluster's directory");
        }
        let data = c.dir.path().join("data");
        let data = data.to_str().unwrap().to_string();
        c.run("initdb", &["-D", &data, "-U", "postgres", "--auth=trust"]);
        c.pg_ctl("start");
        Some(c)
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let exe = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            std::process::Command::new(&exe)
        };
        let out = cmd
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .expect("run a PostgreSQL tool");
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn pg_ctl(&self, action: &str) {
        let data = self.dir.path().join("data");
        let log = self.dir.path().join("log");
        let opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {}",
            self.port,
            self.dir.path().display()
        );
        self.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-l",
                log.to_str().unwrap(),
                "-o",
                &opts,
                "-m",
                "fast",
                "-w",
                action,
            ],
        );
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let exe = self.bin.join("pg_ctl");
        let mut cmd = if self.as_postgres {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            std::process::Command::new(&exe)
        };
        let _ = cmd
            .args(["-D", data.to_str().unwrap(), "-m", "immediate", "stop"])
            .output();
    }
}

/// Whether this process runs as root (initdb refuses to).
fn running_as_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set SCIMDESK_TEST_POSTGRES and run the ignored tests"]
async fn restarting_postgres_under_load_answers_503_never_500_and_the_replicas_recover() {
    scimdesk::store::testing::required_test_postgres();
    let cluster = PrivateCluster::start().expect(
        "this test restarts a private PostgreSQL cluster: it needs PostgreSQL's server \
         binaries (/usr/lib/postgresql/*/bin/initdb; apt-get install postgresql)",
    );
    let db = DbTarget::Postgres(cluster.url());
    let a = spawn_replica(&db);
    let b = spawn_replica(&db);
    let (uid, token, group) = org_on(&db, &a.base).await;
    let scim = |base: &str| format!("{base}/scim/v2.0/organizations/{uid}");
    // Each client sticks to its replica: a 503 must come from the replica, not be hidden by
    // a retry on the other.
    let la = load(vec![scim(&a.base)], token.clone(), group.clone());
    let lb = load(vec![scim(&b.base)], token, group);
    let mut clients = Vec::new();
    for c in 0..4 {
        clients.push(tokio::spawn(la.clone().client(c)));
        clients.push(tokio::spawn(lb.clone().client(c)));
    }
    until(
        "both replicas acknowledged writes before the restart",
        || {
            la.tally.lock().unwrap().members.len() >= UNDER_LOAD / 2
                && lb.tally.lock().unwrap().members.len() >= UNDER_LOAD / 2
        },
    )
    .await;
    let restart = Instant::now();
    cluster.pg_ctl("restart");
    eprintln!("PostgreSQL restarted in {:?}", restart.elapsed());
    for l in [&la, &lb] {
        l.mark.store(true, Ordering::Relaxed);
    }
    // The replicas recover by themselves: each answers 2xx again within seconds.
    let deadline = Instant::now() + Duration::from_secs(20);
    while la.after_mark.load(Ordering::Relaxed) == 0 || lb.after_mark.load(Ordering::Relaxed) == 0 {
        assert!(
            Instant::now() < deadline,
            "a replica did not recover within 20 s of the restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "both replicas answered 2xx again {:?} after the restart began",
        restart.elapsed()
    );
    // Then a little more load on both, recovered.
    let (ra, rb) = (
        la.after_mark.load(Ordering::Relaxed),
        lb.after_mark.load(Ordering::Relaxed),
    );
    until("both replicas kept answering after they recovered", || {
        la.after_mark.load(Ordering::Relaxed) >= ra + UNDER_LOAD / 2
            && lb.after_mark.load(Ordering::Relaxed) >= rb + UNDER_LOAD / 2
    })
    .await;
    for l in [&la, &lb] {
        l.stop.store(true, Ordering::Relaxed);
    }
    for c in clients {
        c.await.unwrap();
    }
    for l in [&la, &lb] {
        let tally = l.tally.lock().unwrap();
        eprintln!(
            "refused {:?}, unanswered {}, acknowledged {} members",
            tally.refused,
            tally.unanswered,
            tally.members.len()
        );
        assert!(
            tally.refused.keys().all(|s| *s == 503 || *s < 500),
            "only 503 may come from the restart: {:?}",
            tally.refused
        );
        assert_eq!(tally.unanswered, 0, "a request hung or lost its connection");
    }
    la.verify(&scim(&b.base)).await;
    lb.verify(&scim(&a.base)).await;
    drop((a, b));
}
