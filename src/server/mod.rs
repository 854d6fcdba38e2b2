//! The HTTP service provider (axum): the SCIM API, the admin API, limits and the layers
//! around them.

pub mod activity;
pub mod admin;
pub mod demo;
pub mod http;
pub mod limits;
pub mod listen;
pub mod metrics;
pub mod ops;
pub mod scim;

use crate::scim::ScimError;
use crate::store::Store;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use http::{AdminErr, ScimErr, scim_json};
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpListener;

/// Limits that ServiceProviderConfig advertises and list queries honour.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// filter.maxResults: a larger `count` is capped to it.
    pub max_results: u64,
    /// The page size when a list request gives no `count`.
    pub default_count: u64,
    /// How long a list cursor stays good after it was issued (`cursorTimeout`).
    pub cursor_timeout_secs: u64,
    /// The sustained rate: requests per token and minute, on both APIs (a Bulk operation
    /// counts as a request); 0 turns the limit off.
    pub rate_limit_per_minute: u32,
    /// Requests a token may send at once (the bucket's size), at most a minute's worth.
    pub rate_limit_burst: u32,
    /// The limiter's clock, in ms since the epoch, when a test drives it; the system clock
    /// otherwise.
    pub rate_limit_clock: Option<Arc<std::sync::atomic::AtomicU64>>,
    /// The clock of cursors (their issue time and expiry), in seconds since the epoch, when a
    /// test drives it; the system clock otherwise.
    pub cursor_clock: Option<Arc<std::sync::atomic::AtomicU64>>,
    /// How often replicas on one PostgreSQL database add up their counts for the limit; zero
    /// leaves each replica to limit alone.
    pub rate_limit_sync_every: std::time::Duration,
    /// How long a client may take to send a request's headers before the connection is
    /// closed: slow clients must not hold connections open.
    pub header_read_timeout: std::time::Duration,
    /// Bulk's maxOperations: a bulk request with more operations is refused with 413.
    pub bulk_max_operations: usize,
    /// TLS, when the server terminates it itself (`serve --tls-cert --tls-key`).
    pub tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    /// The origin of the URLs handed out (`serve --public-url`, checked by
    /// `http::public_url`); the scheme served and the connection's address otherwise.
    pub public_url: Option<String>,
    /// Connections held open at once per listener; at the bound the oldest idle one is closed
    /// for a new one (`serve --max-connections`).
    pub max_connections: usize,
    /// SCIM lists and searches one org may run at once (see `limits::OrgGates`).
    pub reads_per_org: usize,
}

/// Half of SQLite's four read connections: one org never holds them all.
pub const DEFAULT_READS_PER_ORG: usize = 2;

/// Connections per listener: far above what IdPs and consoles open, and below the usual
/// 1,024-descriptor limit, so that the server sheds idle sockets before it runs out.
pub const DEFAULT_MAX_CONNECTIONS: usize = 768;

/// The default sustained rate per token: 1,000 requests a second. Okta and Entra send far
/// less during a sync; a first import of 100,000 users (single POSTs or Bulk operations) then
/// takes about 90 s of limit, about what the server needs to write them, instead of the
/// 17 minutes that 6,000 a minute imposed. A runaway client is still held to it.
pub const DEFAULT_RATE_LIMIT_PER_MINUTE: u32 = 60_000;
/// The default burst per token: ten Bulk requests of 1,000 operations at once.
pub const DEFAULT_RATE_LIMIT_BURST: u32 = 10_000;

/// Bulk's maxOperations: 1,000 users of a typical IdP's size fit in the 1 MiB payload limit,
/// and one bulk then takes well under a second to write.
pub const DEFAULT_BULK_MAX_OPERATIONS: usize = 1000;

/// An hour between two pages: far longer than any IdP pauses within a sync.
pub const DEFAULT_CURSOR_TIMEOUT_SECS: u64 = 3600;

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_results: 200,
            default_count: 100,
            cursor_timeout_secs: DEFAULT_CURSOR_TIMEOUT_SECS,
            rate_limit_per_minute: DEFAULT_RATE_LIMIT_PER_MINUTE,
            rate_limit_burst: DEFAULT_RATE_LIMIT_BURST,
            rate_limit_clock: None,
            cursor_clock: None,
            rate_limit_sync_every: limits::DEFAULT_SYNC_EVERY,
            header_read_timeout: std::time::Duration::from_secs(10),
            bulk_max_operations: DEFAULT_BULK_MAX_OPERATIONS,
            tls: None,
            public_url: None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            reads_per_org: DEFAULT_READS_PER_ORG,
        }
    }
}

/// What every handler shares, behind one `Arc`: axum clones the state for each extractor of
/// each request, and one reference count is cheaper than one per part (measured: the seven
/// clones and drops of the parts were 0.2–0.4 % of a member PATCH's CPU).
pub struct AppState<S>(Arc<Shared<S>>);

impl<S> std::ops::Deref for AppState<S> {
    type Target = Shared<S>;
    fn deref(&self) -> &Shared<S> {
        &self.0
    }
}

impl<S> Clone for AppState<S> {
    fn clone(&self) -> Self {
        AppState(self.0.clone())
    }
}

pub struct Shared<S> {
    pub store: S,
    pub cfg: Arc<ServerConfig>,
    pub limiter: Arc<limits::RateLimiter>,
    pub metrics: Arc<metrics::Metrics>,
    pub readiness: Arc<ops::Readiness>,
    /// IdP activity per SCIM token, in memory (see `activity`).
    pub activity: Arc<activity::Activity>,
    /// Each org's places for lists and searches (see `limits::OrgGates`).
    pub org_reads: Arc<limits::OrgGates>,
}

impl<S: Store> AppState<S> {
    /// Whether this replica adds its rate-limit counts to the other replicas' (PostgreSQL,
    /// the limit on, and a sync interval).
    pub fn shares_rate_limit(&self) -> bool {
        self.store.is_shared()
            && self.limiter.enabled()
            && !self.cfg.rate_limit_sync_every.is_zero()
    }
}

impl<S> AppState<S> {
    /// Now, for the rate limit, in ms since the epoch.
    pub fn limiter_now_ms(&self) -> u64 {
        match &self.cfg.rate_limit_clock {
            Some(c) => c.load(std::sync::atomic::Ordering::Relaxed),
            None => limits::now_epoch_millis(),
        }
    }

    /// Now, for cursors, in seconds since the epoch.
    pub fn cursor_now_secs(&self) -> u64 {
        match &self.cfg.cursor_clock {
            Some(c) => c.load(std::sync::atomic::Ordering::Relaxed),
            None => limits::now_epoch_millis() / 1000,
        }
    }

    pub fn new(store: S, cfg: ServerConfig) -> AppState<S> {
        AppState(Arc::new(Shared {
            store,
            limiter: Arc::new(limits::RateLimiter::new(
                cfg.rate_limit_per_minute,
                cfg.rate_limit_burst,
            )),
            org_reads: Arc::new(limits::OrgGates::new(cfg.reads_per_org)),
            cfg: Arc::new(cfg),
            metrics: Arc::new(metrics::Metrics::new()),
            readiness: Arc::new(ops::Readiness::default()),
            activity: Arc::new(activity::Activity::default()),
        }))
    }
}

/// The whole HTTP application on `store`, `/metrics` included.
pub fn router<S: Store>(store: S, cfg: ServerConfig) -> Router {
    app(AppState::new(store, cfg), true)
}

/// The SCIM and admin APIs with the probes, and `/metrics` when `with_metrics`. The APIs'
/// requests are logged and measured; the probes' are not (see `ops`).
pub fn app<S: Store>(state: AppState<S>, with_metrics: bool) -> Router {
    let api = Router::new()
        .merge(scim::routes(state.clone()))
        .merge(admin::routes(state.clone()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state.clone())
        .layer(middleware::from_fn(http::drain_unread_body))
        // Inside the measuring layer, so that a handler's panic is logged and counted as the
        // 500 it becomes.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(on_panic))
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            common_headers,
        ));
    ops::routes(state, with_metrics).merge(api)
}

/// Serves `store` on `listener` until `shutdown` completes, then finishes the requests in
/// flight before returning. [`listen::serve`] can also put `/metrics` on a listener of its
/// own (`serve --metrics-listen`).
pub async fn run_server<S, F>(
    listener: TcpListener,
    store: S,
    cfg: ServerConfig,
    shutdown: F,
) -> std::io::Result<()>
where
    S: Store,
    F: Future<Output = ()> + Send + 'static,
{
    listen::serve(listener, None, store, cfg, shutdown).await
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

fn is_admin_path(path: &str) -> bool {
    path.starts_with("/admin/")
}

async fn not_found(req: Request) -> Response {
    let path = req.uri().path();
    if is_admin_path(path) {
        axum::response::IntoResponse::into_response(AdminErr::not_found("no such endpoint"))
    } else {
        axum::response::IntoResponse::into_response(ScimErr(ScimError::not_found(format!(
            "no such endpoint: {}",
            path.chars().take(200).collect::<String>()
        ))))
    }
}

async fn method_not_allowed(req: Request) -> Response {
    let msg = format!("{} is not allowed on this endpoint", req.method());
    if is_admin_path(req.uri().path()) {
        axum::response::IntoResponse::into_response(AdminErr::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            msg,
        ))
    } else {
        axum::response::IntoResponse::into_response(ScimErr(ScimError::method_not_allowed(msg)))
    }
}

/// Every response carries personal data or secrets, so none is cached. Requests are logged
/// by method, path and status only: never headers (tokens) or query strings (filters name
/// people); they are measured by method, route template and status.
async fn common_headers(
    State(metrics): State<Arc<metrics::Metrics>>,
    req: Request,
    next: Next,
) -> Response {
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let path: String = req.uri().path().chars().take(200).collect();
    let started = Instant::now();
    let mut resp = next.run(req).await;
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let elapsed = started.elapsed();
    let status = resp.status().as_u16();
    metrics.observe(
        &method,
        route.as_ref().map(MatchedPath::as_str),
        status,
        elapsed,
    );
    tracing::info!(
        %method,
        path,
        status,
        micros = elapsed.as_micros() as u64,
        "request"
    );
    resp
}

fn on_panic(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = err
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| err.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    tracing::error!(panic = what, "a request handler panicked");
    scim_json(
        StatusCode::INTERNAL_SERVER_ERROR,
        &ScimError::internal("the server failed while handling the request").to_json(),
    )
}
