//! The command line: parse, then hand over to library code. It also resolves where the
//! console connects and owns the embedded server's life (`embedded`), so that the console
//! itself only draws and talks to a backend.

pub mod embedded;

use crate::scim::SCIM_PREFIX;
use crate::server::demo::{self, DemoOrg};
use crate::server::{ServerConfig, run_server, shutdown_signal};
use crate::store::prelude::*;
use crate::store::{AnyStore, DbTarget, StoreError};
use clap::{Parser, Subcommand};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "scimdesk",
    version,
    about = "SCIM 2.0 provisioning with group mapping and an approval queue",
    long_about = "SCIM 2.0 provisioning with group mapping and an approval queue.\n\n\
                  Without a subcommand, opens the console: on --url/--org/SCIMDESK_TOKEN, on a \
                  profile of the config file, or on the embedded default (an in-process \
                  service provider with the demo org, data in the user data directory)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Console: the service provider's URL, e.g. https://scim.example.com (overrides the profile).
    #[arg(long)]
    pub url: Option<String>,
    /// Console: the organization uid (overrides the profile).
    #[arg(long)]
    pub org: Option<String>,
    /// Console: the profile of the config file to use.
    #[arg(long)]
    pub profile: Option<String>,
    /// Console: capture the mouse (off by default, since it stops text selection).
    #[arg(long)]
    pub mouse: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the SCIM service provider.
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// The database: a SQLite file (created if missing; also `sqlite:PATH`) or
        /// `postgres://USER@HOST:PORT/DB`, which any number of replicas may share.
        #[arg(long, env = "SCIMDESK_DATABASE_URL", hide_env_values = true)]
        db: DbArg,
        /// Create the demo organization "Acme" on first start.
        #[arg(long)]
        demo: bool,
        /// PEM certificate chain: serve HTTPS (with --tls-key), so tokens never cross a
        /// network in clear.
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// PEM private key of --tls-cert.
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// The sustained rate: requests per token and minute on the SCIM and admin APIs, each
        /// Bulk operation counting as one (0 = no limit). Replicas on one PostgreSQL database
        /// share it.
        #[arg(long, default_value_t = crate::server::DEFAULT_RATE_LIMIT_PER_MINUTE)]
        rate_limit: u32,
        /// The burst: requests a token may send at once before the sustained rate applies
        /// (at most a minute's worth of --rate-limit).
        #[arg(long, value_name = "N", default_value_t = crate::server::DEFAULT_RATE_LIMIT_BURST)]
        rate_limit_burst: u32,
        /// On PostgreSQL, how often (ms) each replica adds its counts for --rate-limit to the
        /// cluster's; 0 = each replica limits alone (a client then gets up to N × the limit).
        #[arg(long, value_name = "MS", default_value_t = 1000)]
        rate_limit_sync_ms: u64,
        /// Serve /metrics (and /healthz, /readyz) on this address instead of --listen, e.g.
        /// 0.0.0.0:9090: a port that Prometheus reaches and the load balancer does not expose.
        #[arg(long, value_name = "ADDR")]
        metrics_listen: Option<String>,
        /// The URL users give their IdP, e.g. https://scim.example.com behind a load balancer
        /// or TLS proxy: the SCIM URLs the server hands out (meta.location, scim_url) start
        /// with it. Without it they use the scheme this server serves and the address a
        /// request arrived at; never the client's Host header.
        #[arg(long, value_name = "URL")]
        public_url: Option<String>,
        /// Connections held open at once per listener; at the bound the longest idle one is
        /// closed for a new one.
        #[arg(long, value_name = "N", default_value_t = crate::server::DEFAULT_MAX_CONNECTIONS)]
        max_connections: usize,
    },
    /// Manage organizations.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Write a snapshot of the profile's org (mode 0600: it holds personal data).
    Export {
        /// The snapshot file; replaced atomically if it exists.
        #[arg(long)]
        out: PathBuf,
        /// The service provider's URL (overrides the profile).
        #[arg(long)]
        url: Option<String>,
        /// The organization uid (overrides the profile).
        #[arg(long)]
        org: Option<String>,
        /// The profile of the config file to use.
        #[arg(long)]
        profile: Option<String>,
    },
    /// The console, read-only, on a snapshot file; with --against, marks what changed since
    /// an older snapshot.
    Review {
        /// The snapshot file (from `scimdesk export`).
        file: PathBuf,
        /// An older snapshot to compare with: the header counts the differences, `D` lists
        /// them, the SCIM pane marks changed settings.
        #[arg(long, value_name = "OLD")]
        against: Option<PathBuf>,
    },
    /// Who gained or lost which access between two snapshots. Exit code: 0 no differences,
    /// 1 differences, 2 error.
    Diff {
        /// The older snapshot.
        old: PathBuf,
        /// The newer snapshot.
        new: PathBuf,
        /// Print the differences as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Database maintenance.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Move an installation to PostgreSQL, whole: every organization, account, token (by
    /// hash), stack, SCIM user and group, mapping, approval and audit event, with its id.
    /// The target must be empty; stop the server first, then start it (or several replicas)
    /// with --db on the target.
    Copy {
        /// The SQLite installation: the file `serve --db` uses (also `sqlite:PATH`).
        #[arg(long)]
        from: DbArg,
        /// The empty PostgreSQL database: postgres://USER@HOST:PORT/DB.
        #[arg(long, env = "SCIMDESK_DATABASE_URL", hide_env_values = true)]
        to: DbArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organization and its owner; prints the owner's admin token once.
    Create {
        /// The database, as `serve --db` takes it.
        #[arg(long, env = "SCIMDESK_DATABASE_URL", hide_env_values = true)]
        db: DbArg,
        /// The organization's name.
        #[arg(long)]
        name: String,
        /// The owner's email.
        #[arg(long)]
        owner: String,
        /// Print {"org_uid", "admin_token"} as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `--db` (and `db copy`'s `--from`/`--to`) as typed: read into a [`DbTarget`] by the command,
/// not by clap, whose error would echo the value, password included.
#[derive(Clone)]
pub struct DbArg(String);

impl std::str::FromStr for DbArg {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(DbArg(s.to_string()))
    }
}

impl std::fmt::Debug for DbArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match DbTarget::parse(&self.0) {
            Ok(t) => write!(f, "{t:?}"),
            Err(_) => f.write_str("<invalid --db>"),
        }
    }
}

impl DbArg {
    fn target(&self) -> Result<DbTarget, String> {
        DbTarget::parse(&self.0)
    }
}

/// Entry point of the `scimdesk` binary.
pub fn main() -> ExitCode {
    let mut cli = Cli::parse();
    let Some(command) = cli.command.take() else {
        return console_main(cli);
    };
    if let Command::Diff { old, new, json } = &command {
        return diff_main(old, new, *json);
    }
    if let Command::Review { file, against } = &command {
        return review_main(file, against.as_deref(), cli.mouse);
    }
    init_tracing();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("scimdesk: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        match command {
            Command::Serve {
                listen,
                db,
                demo,
                tls_cert,
                tls_key,
                rate_limit,
                rate_limit_burst,
                rate_limit_sync_ms,
                metrics_listen,
                public_url,
                max_connections,
            } => {
                let tls = match (tls_cert, tls_key) {
                    (Some(cert), Some(key)) => Some((cert, key)),
                    _ => None,
                };
                let limit = ServeOpts {
                    per_minute: rate_limit,
                    burst: rate_limit_burst,
                    sync_ms: rate_limit_sync_ms,
                    public_url: public_url
                        .map(|u| crate::server::http::public_url(&u))
                        .transpose()?,
                    max_connections,
                };
                serve(listen, metrics_listen, db.target()?, demo, tls, limit).await
            }
            Command::Org {
                command:
                    OrgCommand::Create {
                        db,
                        name,
                        owner,
                        json,
                    },
            } => org_create(db.target()?, name, owner, json).await,
            Command::Export {
                out,
                url,
                org,
                profile,
            } => {
                let overrides = crate::console::config::Overrides {
                    url: url.or(cli.url),
                    org: org.or(cli.org),
                    profile: profile.or(cli.profile),
                    token: std::env::var("SCIMDESK_TOKEN")
                        .ok()
                        .filter(|t| !t.trim().is_empty()),
                };
                export(out, overrides).await
            }
            Command::Db {
                command: DbCommand::Copy { from, to },
            } => db_copy(from.target()?, to.target()?).await,
            Command::Diff { .. } | Command::Review { .. } => {
                unreachable!("diff and review are handled above")
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("scimdesk: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// The console owns the screen, so its logs go to a file in the data dir.
fn console_main(cli: Cli) -> ExitCode {
    let overrides = crate::console::config::Overrides {
        url: cli.url,
        org: cli.org,
        profile: cli.profile,
        token: std::env::var("SCIMDESK_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty()),
    };
    let mouse = cli.mouse;
    let log = crate::console::config::Dirs::from_env().map(|d| d.data.join("console.log"));
    if let Ok(path) = &log
        && let Some(dir) = path.parent()
        && crate::private_files::create_dir(dir).is_ok()
        && let Ok(file) = crate::private_files::append(path)
    {
        let level = std::env::var("SCIMDESK_LOG")
            .ok()
            .and_then(|l| l.parse::<tracing::Level>().ok())
            .unwrap_or(tracing::Level::INFO);
        let _ = tracing_subscriber::fmt()
            .with_max_level(level)
            .with_writer(std::sync::Mutex::new(file))
            .with_ansi(false)
            .try_init();
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("scimdesk: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(console(overrides, mouse)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("scimdesk: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves where the console and `export` connect (the flags, the profile or the embedded
/// default) and runs `work` with a client for it and the server's URL; an embedded server is
/// stopped (its run's token revoked) however `work` ends.
async fn with_target<T, F, Fut>(
    overrides: &crate::console::config::Overrides,
    work: F,
) -> Result<T, String>
where
    F: FnOnce(crate::client::AdminClient, String, crate::console::config::ConfigFile) -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    use crate::console::config;
    let dirs = config::Dirs::from_env()?;
    let cfg = config::ConfigFile::load(&dirs.config_file())?;
    let target = cfg.resolve(
        overrides,
        &|v| std::env::var(v).ok(),
        &config::read_token_file,
    )?;
    match target {
        config::Target::Remote {
            url,
            org,
            token,
            token_source,
            ca_file,
        } => {
            let client = crate::client::AdminClient::with_ca(
                &url,
                &org,
                token,
                token_source,
                ca_file.as_deref(),
            )
            .map_err(|e| e.to_string())?;
            work(client, url, cfg).await
        }
        config::Target::Embedded => {
            embedded::with_embedded(&dirs.data, |e| {
                let client = crate::client::AdminClient::new(
                    &e.base_url,
                    &e.org_uid,
                    e.token.clone(),
                    "the embedded server's owner token",
                );
                let base = e.base_url.clone();
                async move { work(client.map_err(|e| e.to_string())?, base, cfg).await }
            })
            .await
        }
    }
}

/// The console on where the flags, the profile or the default say, the embedded server
/// included, which is stopped (and its run's token revoked) however the console ends.
async fn console(overrides: crate::console::config::Overrides, mouse: bool) -> Result<(), String> {
    with_target(&overrides, |client, _url, cfg| async move {
        let backend = std::sync::Arc::new(crate::console::backend::LiveBackend::new(client));
        until_terminated(crate::console::run(backend, &cfg.keys, mouse)).await
    })
    .await
}

/// Runs the console until it quits, or until the process is told to stop (SIGTERM, or
/// SIGHUP when the SSH session that holds the terminal goes away): the console is dropped,
/// which restores the terminal, and the caller cleans up after it.
async fn until_terminated(
    console: impl std::future::Future<Output = Result<(), String>>,
) -> Result<(), String> {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        return console.await;
    };
    tokio::select! {
        r = console => r,
        _ = term.recv() => Err("stopped by SIGTERM".into()),
        _ = hup.recv() => Err("the terminal went away (SIGHUP)".into()),
    }
}

/// `scimdesk review FILE [--against OLD]`: the files are read and checked (and diffed)
/// before the terminal is taken, so a bad file is an error message on a normal screen.
fn review_main(file: &std::path::Path, against: Option<&std::path::Path>, mouse: bool) -> ExitCode {
    use crate::console::snapshot_backend::SnapshotBackend;
    let opened = match against {
        None => SnapshotBackend::open(file),
        Some(old) => SnapshotBackend::open_against(file, old),
    };
    let backend = match opened {
        Ok(b) => std::sync::Arc::new(b),
        Err(e) => {
            eprintln!("scimdesk review: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("scimdesk: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let run = async {
        let dirs = crate::console::config::Dirs::from_env()?;
        let cfg = crate::console::config::ConfigFile::load(&dirs.config_file())?;
        until_terminated(crate::console::run(backend, &cfg.keys, mouse)).await
    };
    match rt.block_on(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("scimdesk review: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// `scimdesk diff`: exit codes as diff(1), so that scripts can branch on them.
fn diff_main(old: &std::path::Path, new: &std::path::Path, json: bool) -> ExitCode {
    let open = |p: &std::path::Path| crate::snapshot::file::open(p);
    let (a, b) = match (open(old), open(new)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("scimdesk diff: {e}");
            return ExitCode::from(2);
        }
    };
    if a.org.uid != b.org.uid {
        eprintln!(
            "scimdesk diff: note: the snapshots are of different organizations ({} and {})",
            crate::scim::text::escape_controls(&a.org.uid),
            crate::scim::text::escape_controls(&b.org.uid)
        );
    }
    let d = crate::snapshot::diff(&a, &b);
    let out = if json {
        // The diff types serialize with string keys only.
        let mut s = serde_json::to_string_pretty(&d).unwrap_or_default();
        s.push('\n');
        s
    } else {
        crate::snapshot::diff::render_table(&d)
    };
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(out.as_bytes())
        .and_then(|_| stdout.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("scimdesk diff: cannot write the output: {e}");
        return ExitCode::from(2);
    }
    if d.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `scimdesk export`: the same target resolution as the console, the embedded default
/// included. The document is validated before it replaces anything on disk.
async fn export(out: PathBuf, overrides: crate::console::config::Overrides) -> Result<(), String> {
    let doc = with_target(&overrides, |client, _, _| async move {
        Ok(client.export().await)
    })
    .await?;
    let doc = doc.map_err(|e| format!("cannot export: {e}"))?;
    let bytes = serde_json::to_vec(&doc).map_err(|e| format!("cannot encode the snapshot: {e}"))?;
    let snap = crate::snapshot::read(&bytes)
        .map_err(|e| format!("the server sent a snapshot this scimdesk cannot read: {e}"))?;
    crate::snapshot::file::write_atomic(&out, &bytes)
        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    eprintln!(
        "wrote {} ({} members of {}, mode 0600: it holds personal data)",
        out.display(),
        snap.members.len(),
        snap.org.name
    );
    Ok(())
}

/// Logs go to stderr; `SCIMDESK_LOG` (error, warn, info, debug, trace) sets the level.
fn init_tracing() {
    let level = std::env::var("SCIMDESK_LOG")
        .ok()
        .and_then(|l| l.parse::<tracing::Level>().ok())
        .unwrap_or(tracing::Level::WARN);
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

async fn open_store(db: &DbTarget) -> Result<AnyStore, String> {
    AnyStore::open(db).await.map_err(|e| match e {
        // Already says which database and what to check.
        StoreError::Unavailable(m) => m,
        e => format!("cannot open the database {db}: {e}"),
    })
}

/// `serve --rate-limit`, `--rate-limit-burst`, `--rate-limit-sync-ms`, `--public-url` and
/// `--max-connections`.
struct ServeOpts {
    per_minute: u32,
    burst: u32,
    sync_ms: u64,
    public_url: Option<String>,
    max_connections: usize,
}

async fn serve(
    listen: String,
    metrics_listen: Option<String>,
    db: DbTarget,
    demo: bool,
    tls: Option<(PathBuf, PathBuf)>,
    limit: ServeOpts,
) -> Result<(), String> {
    let tls = match tls {
        Some((cert, key)) => Some(crate::server::listen::tls_config(&cert, &key)?),
        None => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let cfg = ServerConfig {
        tls,
        rate_limit_per_minute: limit.per_minute,
        rate_limit_burst: limit.burst,
        rate_limit_sync_every: std::time::Duration::from_millis(limit.sync_ms),
        public_url: limit.public_url.clone(),
        max_connections: limit.max_connections,
        ..ServerConfig::default()
    };
    let store = open_store(&db).await?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    let listening = format!("{scheme}://{addr}");
    let base = limit
        .public_url
        .clone()
        .unwrap_or_else(|| listening.clone());
    let ops = match &metrics_listen {
        Some(a) => Some(
            tokio::net::TcpListener::bind(a)
                .await
                .map_err(|e| format!("cannot listen on {a} (--metrics-listen): {e}"))?,
        ),
        None => None,
    };
    if demo {
        let d = demo::ensure_demo(&store)
            .await
            .map_err(|e| format!("cannot create the demo organization: {e}"))?;
        print_demo(&base, &d);
    }
    println!("scimdesk listening on {listening} (database {db})");
    let result = match ops {
        Some(ops) => {
            let at = ops
                .local_addr()
                .map_err(|e| format!("cannot read the metrics address: {e}"))?;
            println!("metrics and probes on http://{at}/metrics, /healthz, /readyz");
            let (store, shutdown) = (store.clone(), shutdown_signal());
            crate::server::listen::serve(listener, Some(ops), store, cfg, shutdown).await
        }
        None => run_server(listener, store.clone(), cfg, shutdown_signal()).await,
    };
    store.close().await;
    result.map_err(|e| format!("server error: {e}"))
}

fn print_demo(base: &str, d: &DemoOrg) {
    let scim_url = format!("{base}{SCIM_PREFIX}/{}", d.org.uid);
    println!("Demo organization \"{}\" (uid {})", d.org.name, d.org.uid);
    println!("  SCIM URL:    {scim_url}");
    println!(
        "  Admin API:   {base}{}/{}",
        crate::server::admin::ADMIN_PREFIX,
        d.org.uid
    );
    match &d.fresh {
        Some(s) => {
            println!("  Admin token: {}", s.admin_token);
            println!("  SCIM token:  {}", s.scim_token);
            println!("  These tokens are shown only now: keep them.");
            println!(
                "  Try: curl -H 'Authorization: Bearer {}' {scim_url}/Users",
                s.scim_token
            );
        }
        None => println!(
            "  Its tokens were printed when it was created; mint a new SCIM token with \
             POST /scim/tokens on the admin API."
        ),
    }
}

/// `scimdesk db copy`: progress on stderr, the summary on stdout.
async fn db_copy(from: DbTarget, to: DbTarget) -> Result<(), String> {
    use std::io::IsTerminal;
    let stderr = std::io::stderr();
    let terminal = stderr.is_terminal();
    let mut progress = crate::progress::CopyProgress::new(stderr, terminal);
    let report = crate::store::copy::copy(&from, &to, &mut |e| progress.event(e))
        .await
        .map_err(|e| format!("db copy: {e}"))?;
    print!(
        "{}",
        crate::progress::summary(&report, &from.redacted(), &to.redacted())
    );
    println!("Start the server (or several replicas) with --db {to}.");
    Ok(())
}

async fn org_create(db: DbTarget, name: String, owner: String, json: bool) -> Result<(), String> {
    let name = name.trim().to_string();
    if name.is_empty() {
        return Err("--name must not be empty".into());
    }
    let owner = owner.trim().to_string();
    if !crate::domain::settings::is_email_address(&owner) {
        return Err(format!("--owner must be an email address, got '{owner}'"));
    }
    let store = open_store(&db).await?;
    let created = store.create_org(&name, &owner).await;
    store.close().await;
    let (org, token) = created.map_err(|e| format!("cannot create the organization: {e}"))?;
    if json {
        println!(
            "{}",
            json!({"org_uid": org.uid, "admin_token": token.token})
        );
    } else {
        println!(
            "Created organization \"{}\" (uid {}) owned by {owner}.\nOwner admin token (shown once, keep it): {}",
            org.name, org.uid, token.token
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_invocation_has_no_subcommand() {
        let cli = Cli::try_parse_from(["scimdesk"]).unwrap();
        assert!(cli.command.is_none());
        let cli = Cli::try_parse_from(["scimdesk", "serve", "--db", "x.db", "--demo"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Serve { demo: true, .. })
        ));
    }

    #[test]
    fn db_copy_takes_a_source_and_a_target() {
        let cli = Cli::try_parse_from([
            "scimdesk",
            "db",
            "copy",
            "--from",
            "sqlite:/var/lib/scimdesk.db",
            "--to",
            "postgres://app@db/scim",
        ])
        .unwrap();
        let Some(Command::Db {
            command: DbCommand::Copy { from, to },
        }) = cli.command
        else {
            panic!("{:?}", cli.command);
        };
        assert_eq!(
            from.target().unwrap(),
            DbTarget::Sqlite(PathBuf::from("/var/lib/scimdesk.db"))
        );
        assert_eq!(
            to.target().unwrap(),
            DbTarget::Postgres("postgres://app@db/scim".into())
        );
    }

    #[test]
    fn review_takes_an_optional_older_snapshot() {
        let cli = Cli::try_parse_from(["scimdesk", "review", "new.json"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Review { ref file, against: None }) if file == &PathBuf::from("new.json")
        ));
        let cli = Cli::try_parse_from(["scimdesk", "review", "new.json", "--against", "old.json"])
            .unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Review { against: Some(ref old), .. }) if old == &PathBuf::from("old.json")
        ));
    }
}
