//! Load generator for the service provider (issue 3 §9): starts the release `scimdesk serve`
//! on loopback with a fresh database, then drives it over HTTP at concurrency 8 and reports
//! req/s, p50 and p99 per workload, plus the server's resident memory.
//!
//!     cargo bench --bench load                 # the full run (100,000 users)
//!     cargo bench --bench load -- --users 20000 --big-group 20000   # a quicker run
//!     cargo bench --bench load -- --server /path/to/other/scimdesk    # compare a build
//!
//! Every loop is bounded in count, and traffic only goes to 127.0.0.1.

use serde_json::{Value, json};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const CONCURRENCY: usize = 8;

struct Args {
    users: usize,
    creates: usize,
    big_group: usize,
    /// The scimdesk binary to measure: this build's by default, another to compare.
    server: String,
}

fn parse_args() -> Args {
    let mut a = Args {
        users: 100_000,
        creates: 10_000,
        big_group: 100_000,
        server: env!("CARGO_BIN_EXE_scimdesk").to_string(),
    };
    let argv: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < argv.len() {
        let next = || argv.get(i + 1).and_then(|v| v.parse().ok());
        match argv[i].as_str() {
            "--users" => a.users = next().expect("--users N"),
            "--creates" => a.creates = next().expect("--creates N"),
            "--big-group" => a.big_group = next().expect("--big-group N"),
            "--server" => a.server = argv.get(i + 1).cloned().expect("--server PATH"),
            _ => {} // cargo bench passes --bench
        }
        i += 1;
    }
    a.creates = a.creates.min(a.users);
    a.big_group = a.big_group.min(a.users);
    a
}

struct Server {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// CPU time (user + system) that process `pid` has used so far, in microseconds.
fn cpu_us(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    ticks * 1_000_000 / clock_ticks()
}

fn clock_ticks() -> u64 {
    // USER_HZ is 100 on every Linux this runs on; getconf confirms it where available.
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

static SERVER_PID: std::sync::OnceLock<String> = std::sync::OnceLock::new();

struct Stats {
    name: String,
    n: usize,
    secs: f64,
    lat_us: Vec<u64>,
    /// CPU per request, in microseconds, of the server and of this load generator: less
    /// sensitive than wall time to other work on the machine.
    server_cpu: f64,
    client_cpu: f64,
}

impl Stats {
    fn pct(&self, p: f64) -> f64 {
        if self.lat_us.is_empty() {
            return 0.0;
        }
        let idx = ((self.lat_us.len() as f64 - 1.0) * p).round() as usize;
        self.lat_us[idx] as f64 / 1000.0
    }
    fn print(&self) {
        println!(
            "{:<48} {:>8} {:>10.0} {:>9.3} {:>9.3} {:>9.0} {:>9.0}",
            self.name,
            self.n,
            self.n as f64 / self.secs,
            self.pct(0.50),
            self.pct(0.99),
            self.server_cpu,
            self.client_cpu,
        );
    }
}

/// Run `n` requests at concurrency 8; `make(i)` issues request number i and checks it.
async fn drive<F, Fut>(name: &str, n: usize, make: F) -> Stats
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let make = Arc::new(make);
    let next = Arc::new(AtomicUsize::new(0));
    let server = SERVER_PID.get().map(String::as_str).unwrap_or("0");
    let cpu0 = (cpu_us(server), cpu_us("self"));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let make = make.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let t = Instant::now();
                make(i).await;
                lat.push(t.elapsed().as_micros() as u64);
            }
            lat
        }));
    }
    let mut lat_us = Vec::with_capacity(n);
    for t in tasks {
        lat_us.extend(t.await.unwrap());
    }
    let secs = start.elapsed().as_secs_f64();
    let per = |a: u64, b: u64| a.saturating_sub(b) as f64 / n.max(1) as f64;
    let server_cpu = per(cpu_us(server), cpu0.0);
    let client_cpu = per(cpu_us("self"), cpu0.1);
    lat_us.sort_unstable();
    let s = Stats {
        name: name.to_string(),
        n,
        secs,
        lat_us,
        server_cpu,
        client_cpu,
    };
    s.print();
    s
}

fn email(i: usize) -> String {
    format!("user{i:06}@bench.example.com")
}

fn user_body(i: usize) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": email(i),
        "externalId": format!("ext-{i}"),
        "name": {"givenName": format!("Given{i}"), "familyName": format!("Family{i}")},
        "displayName": format!("Given{i} Family{i}"),
        "emails": [{"value": email(i), "type": "work", "primary": true}],
        "active": true
    })
}

fn start_server(exe: &str) -> (Server, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    let out = Command::new(exe)
        .args(["org", "create", "--db"])
        .arg(&db)
        .args([
            "--name",
            "Bench",
            "--owner",
            "owner@bench.example.com",
            "--json",
        ])
        .output()
        .expect("run scimdesk org create");
    assert!(
        out.status.success(),
        "org create failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Value = serde_json::from_slice(&out.stdout).expect("org create --json output");
    let org = created["org_uid"].as_str().unwrap().to_string();
    let admin = created["admin_token"].as_str().unwrap().to_string();
    let port = free_port();
    // The load is one token's: the per-token rate limit is off (older builds have none).
    let help = Command::new(exe).args(["serve", "--help"]).output();
    let unlimited: &[&str] = match help {
        Ok(h) if String::from_utf8_lossy(&h.stdout).contains("--rate-limit") => {
            &["--rate-limit", "0"]
        }
        _ => &[],
    };
    let child = Command::new(exe)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--db"])
        .arg(&db)
        .args(unlimited)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start scimdesk serve");
    let base = format!("http://127.0.0.1:{port}");
    (
        Server {
            child,
            base,
            _dir: dir,
        },
        org,
        admin,
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = parse_args();
    let (server, org, admin) = start_server(&args.server);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()
        .unwrap();
    let admin_base = format!("{}/admin/v1/organizations/{org}", server.base);
    // Wait for the server to listen (bounded).
    let mut ready = false;
    for _ in 0..200 {
        if http
            .get(format!("{admin_base}/scim"))
            .bearer_auth(&admin)
            .send()
            .await
            .is_ok()
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "server did not start");
    let r = http
        .patch(format!("{admin_base}/scim"))
        .bearer_auth(&admin)
        .json(&json!({"enabled": true}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "enable SCIM: {}", r.status());
    let tok: Value = http
        .post(format!("{admin_base}/scim/tokens"))
        .bearer_auth(&admin)
        .json(&json!({"label": "bench"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = Arc::new(tok["token"].as_str().expect("scim token").to_string());
    let scim = Arc::new(format!("{}/scim/v2.0/organizations/{org}", server.base));
    let pid = server.child.id();
    let _ = SERVER_PID.set(pid.to_string());

    println!(
        "scimdesk load: {} users, groups of 1 / 1,000 / {} members, concurrency {CONCURRENCY}",
        args.users, args.big_group
    );
    println!(
        "{:<48} {:>8} {:>10} {:>9} {:>9} {:>9} {:>9}",
        "workload", "requests", "req/s", "p50 ms", "p99 ms", "srv µs", "gen µs"
    );

    let ids = Arc::new(std::sync::Mutex::new(vec![String::new(); args.users]));
    let post_user = {
        let (http, scim, token, ids) = (http.clone(), scim.clone(), token.clone(), ids.clone());
        move |i: usize| {
            let (http, scim, token, ids) = (http.clone(), scim.clone(), token.clone(), ids.clone());
            async move {
                let r = http
                    .post(format!("{scim}/Users"))
                    .bearer_auth(token.as_str())
                    .header("content-type", "application/scim+json")
                    .json(&user_body(i))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status().as_u16(), 201, "create user {i}");
                let v: Value = r.json().await.unwrap();
                ids.lock().unwrap()[i] = v["id"].as_str().unwrap().to_string();
            }
        }
    };
    drive("POST /Users (create)", args.creates, post_user.clone()).await;
    if args.users > args.creates {
        let offset = args.creates;
        let rest = args.users - offset;
        let post = post_user.clone();
        drive(
            &format!("POST /Users (fill to {})", args.users),
            rest,
            move |i| post(i + offset),
        )
        .await;
    }
    let (rss, _) = rss_kib(pid);
    println!(
        "server RSS after {} users: {:.1} MB",
        args.users,
        rss as f64 / 1024.0
    );

    let users = args.users;
    {
        let (http, scim, token) = (http.clone(), scim.clone(), token.clone());
        drive(
            "GET /Users?filter=userName eq (one of all)",
            5_000,
            move |i| {
                let (http, scim, token) = (http.clone(), scim.clone(), token.clone());
                async move {
                    let target = (i * 7919) % users;
                    let r = http
                        .get(format!("{scim}/Users"))
                        .query(&[("filter", format!("userName eq \"{}\"", email(target)))])
                        .bearer_auth(token.as_str())
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status().as_u16(), 200);
                    let v: Value = r.json().await.unwrap();
                    assert_eq!(v["totalResults"], 1, "filter for {}", email(target));
                }
            },
        )
        .await;
    }
    {
        let (http, scim, token) = (http.clone(), scim.clone(), token.clone());
        let pages = users.div_ceil(100);
        drive(
            "GET /Users pages of 100",
            1_000.min(pages.max(1)) * 2,
            move |i| {
                let (http, scim, token) = (http.clone(), scim.clone(), token.clone());
                async move {
                    let start = (i % pages) * 100 + 1;
                    let r = http
                        .get(format!("{scim}/Users"))
                        .query(&[
                            ("startIndex", start.to_string()),
                            ("count", "100".to_string()),
                        ])
                        .bearer_auth(token.as_str())
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status().as_u16(), 200);
                    let v: Value = r.json().await.unwrap();
                    assert!(v["Resources"].as_array().is_some_and(|a| !a.is_empty()));
                }
            },
        )
        .await;
    }

    let ids: Arc<Vec<String>> = Arc::new(std::mem::take(&mut *ids.lock().unwrap()));
    for size in [1usize, 1_000, args.big_group] {
        // Create the group, then fill it 1,000 members per PATCH.
        let r = http
            .post(format!("{scim}/Groups"))
            .bearer_auth(token.as_str())
            .json(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": format!("group-{size}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
        let gid: String = r.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        for chunk in ids[..size].chunks(1_000) {
            let members: Vec<Value> = chunk.iter().map(|id| json!({"value": id})).collect();
            let r = http
                .patch(format!("{scim}/Groups/{gid}"))
                .query(&[("excludedAttributes", "members")])
                .bearer_auth(token.as_str())
                .json(
                    &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "add", "path": "members", "value": members}]}),
                )
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "fill group: {}", r.status());
        }
        // Alternately remove one member and add it back: the group keeps its size, and any size
        // up to every user works.
        {
            let (http, scim, token, ids, gid2) = (
                http.clone(),
                scim.clone(),
                token.clone(),
                ids.clone(),
                gid.clone(),
            );
            drive(&format!("PATCH /Groups remove/add 1 member ({size} members)"), 2_000, move |i| {
                let (http, scim, token, ids, gid) = (http.clone(), scim.clone(), token.clone(), ids.clone(), gid2.clone());
                async move {
                    let who = &ids[(i / 2 * 7919) % size];
                    let op = if i % 2 == 0 {
                        json!({"op": "remove", "path": format!("members[value eq \"{who}\"]")})
                    } else {
                        json!({"op": "add", "path": "members", "value": [{"value": who}]})
                    };
                    let r = http
                        .patch(format!("{scim}/Groups/{gid}"))
                        .query(&[("excludedAttributes", "members")])
                        .bearer_auth(token.as_str())
                        .json(&json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [op]}))
                        .send()
                        .await
                        .unwrap();
                    assert!(r.status().is_success(), "member patch: {}", r.status());
                }
            })
            .await;
        }
        if size == args.big_group {
            let (http, scim, token, gid) = (http.clone(), scim.clone(), token.clone(), gid.clone());
            drive(
                &format!("GET /Groups/id?excludedAttributes=members ({size})"),
                2_000,
                move |_| {
                    let (http, scim, token, gid) =
                        (http.clone(), scim.clone(), token.clone(), gid.clone());
                    async move {
                        let r = http
                            .get(format!("{scim}/Groups/{gid}"))
                            .query(&[("excludedAttributes", "members")])
                            .bearer_auth(token.as_str())
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(r.status().as_u16(), 200);
                    }
                },
            )
            .await;
        }
    }
    let (rss, hwm) = rss_kib(pid);
    println!(
        "server RSS at the end: {:.1} MB (peak {:.1} MB)",
        rss as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
}
