//! The accept loop. axum's own `serve` sets no timer, so hyper's header-read timeout never
//! fires and a client that sends its headers a byte at a time holds a connection forever; this
//! loop serves each connection with hyper's HTTP/1 builder, a timer and that timeout, and
//! terminates TLS itself when the server has a certificate. Shutdown stops accepting, asks
//! every connection to finish its request in flight, and waits for them.

use super::{AppState, ServerConfig, app, limits};
use crate::store::Store;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Serves the APIs on `listener`, and `/metrics` with copies of the probes on `ops` when
/// given (an address that monitoring reaches and clients do not) instead of on `listener`;
/// shares the rate limit's counts with the other replicas when the store is shared; until
/// `shutdown` completes.
pub async fn serve<S, F>(
    listener: TcpListener,
    ops: Option<TcpListener>,
    store: S,
    cfg: ServerConfig,
    shutdown: F,
) -> std::io::Result<()>
where
    S: Store,
    F: Future<Output = ()> + Send + 'static,
{
    let header_timeout = cfg.header_read_timeout;
    let max_connections = cfg.max_connections;
    let tls = cfg.tls.clone().map(TlsAcceptor::from);
    let state = AppState::new(store, cfg);
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    };
    // /metrics goes where monitoring scrapes: the ops listener when there is one.
    let api = app(state.clone(), ops.is_none());
    let mut helpers = tokio::task::JoinSet::new();
    if state.shares_rate_limit() {
        helpers.spawn(limits::keep_sharing(
            state.limiter.clone(),
            state.store.clone(),
            state.cfg.rate_limit_sync_every,
            stopped(),
        ));
    }
    if let Some(ops) = ops {
        let ops_app = super::ops::routes(state.clone(), true);
        helpers.spawn(accept_loop(
            ops,
            ops_app,
            header_timeout,
            None,
            max_connections,
            stopped(),
        ));
    }
    accept_loop(
        listener,
        api,
        header_timeout,
        tls,
        max_connections,
        shutdown,
    )
    .await;
    let _ = stop_tx.send(true);
    while helpers.join_next().await.is_some() {}
    Ok(())
}

/// The connections of one listener: at `max` the oldest idle one is closed for a new one, so
/// that idle sockets (a slow or hostile client opening hundreds) never starve the server of
/// descriptors or keep a load balancer's probe out.
struct Conns {
    max: usize,
    next_id: u64,
    live: std::collections::HashMap<u64, Arc<ConnInfo>>,
}

/// One connection as the bound sees it.
struct ConnInfo {
    /// Requests in flight on it.
    busy: AtomicUsize,
    /// When it last started or finished a request (ms since the loop started), or opened.
    last_active: AtomicU64,
    /// Asks the connection to close once its request in flight (if any) is answered.
    close: watch::Sender<bool>,
}

type SharedConns = Arc<std::sync::Mutex<Conns>>;

impl Conns {
    /// Makes room for one more connection: at the bound, asks the idle connection that has
    /// been idle longest to close. Returns false when every connection is busy.
    fn make_room(&mut self) -> bool {
        if self.live.len() < self.max {
            return true;
        }
        let idle = self
            .live
            .iter()
            .filter(|(_, c)| c.busy.load(Ordering::Acquire) == 0 && !*c.close.borrow())
            .min_by_key(|(_, c)| c.last_active.load(Ordering::Acquire))
            .map(|(id, c)| (*id, c.clone()));
        match idle {
            Some((id, c)) => {
                c.close.send_replace(true);
                self.live.remove(&id);
                true
            }
            None => false,
        }
    }
}

/// Logs a failed accept at most once a second, with how many were not logged since.
struct AcceptErrors {
    last: Option<std::time::Instant>,
    unlogged: u64,
}

impl AcceptErrors {
    /// Records a failed accept at `now`; logs it (and returns true) when the last log was a
    /// second ago or more.
    fn failed(&mut self, e: &std::io::Error, now: std::time::Instant) -> bool {
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < Duration::from_secs(1))
        {
            self.unlogged += 1;
            return false;
        }
        tracing::warn!(error = %e, more_since_last_log = self.unlogged, "accept failed");
        self.last = Some(now);
        self.unlogged = 0;
        true
    }
}

/// Accepts connections on `listener` and serves `app` on each until `shutdown` completes,
/// then asks every connection to finish its request in flight and waits for them.
async fn accept_loop<F>(
    listener: TcpListener,
    app: Router,
    header_timeout: Duration,
    tls: Option<TlsAcceptor>,
    max_connections: usize,
    shutdown: F,
) where
    F: Future<Output = ()> + Send + 'static,
{
    let (close_tx, close_rx) = watch::channel(());
    let mut conns = tokio::task::JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let bound: SharedConns = Arc::new(std::sync::Mutex::new(Conns {
        max: max_connections.max(1),
        next_id: 0,
        live: Default::default(),
    }));
    let started = std::time::Instant::now();
    let mut errors = AcceptErrors {
        last: None,
        unlogged: 0,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = &mut shutdown => break,
        };
        let tcp = match accepted {
            Ok((tcp, _)) => tcp,
            Err(e) => {
                // Out of file descriptors and the like: free an idle one, and wait instead of
                // spinning.
                errors.failed(&e, std::time::Instant::now());
                lock(&bound).make_room_now();
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let Some((id, info)) = register(&bound, started) else {
            // Every connection is busy: this one is closed at once rather than queued.
            drop(tcp);
            continue;
        };
        let origin = match tcp.local_addr() {
            Ok(a) => super::http::ConnOrigin(format!("{scheme}://{a}").into()),
            Err(_) => super::http::ConnOrigin(format!("{scheme}://localhost").into()),
        };
        let served = Served {
            app: app.clone(),
            origin,
            info: info.clone(),
            started,
        };
        let close = close_rx.clone();
        let guard = Registered {
            bound: bound.clone(),
            id,
        };
        match tls.clone() {
            None => conns.spawn(async move {
                connection(tcp, served, header_timeout, close).await;
                drop(guard);
            }),
            Some(acceptor) => conns.spawn(async move {
                // The handshake is bounded like the headers: a silent client gets nothing.
                match tokio::time::timeout(header_timeout, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => connection(stream, served, header_timeout, close).await,
                    Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                    Err(_) => tracing::debug!("TLS handshake timed out"),
                }
                drop(guard);
            }),
        };
        while conns.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = close_tx.send(());
    while conns.join_next().await.is_some() {}
}

fn lock(bound: &SharedConns) -> std::sync::MutexGuard<'_, Conns> {
    bound.lock().unwrap_or_else(|e| e.into_inner())
}

impl Conns {
    /// Closes the longest idle connection whatever the bound (the process ran out of
    /// descriptors).
    fn make_room_now(&mut self) {
        let max = self.max;
        self.max = self.live.len().min(max);
        self.make_room();
        self.max = max;
    }
}

/// Registers a new connection, making room for it; `None` when every connection is busy.
fn register(bound: &SharedConns, started: std::time::Instant) -> Option<(u64, Arc<ConnInfo>)> {
    let mut c = lock(bound);
    if !c.make_room() {
        return None;
    }
    let (close, _) = watch::channel(false);
    let info = Arc::new(ConnInfo {
        busy: AtomicUsize::new(0),
        last_active: AtomicU64::new(started.elapsed().as_millis() as u64),
        close,
    });
    c.next_id += 1;
    let id = c.next_id;
    c.live.insert(id, info.clone());
    Some((id, info))
}

/// Removes its connection from the bound when the connection's task ends.
struct Registered {
    bound: SharedConns,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        lock(&self.bound).live.remove(&self.id);
    }
}

/// What a connection serves: the app, with the connection's origin on each request and its
/// requests in flight counted for the bound.
#[derive(Clone)]
struct Served {
    app: Router,
    origin: super::http::ConnOrigin,
    info: Arc<ConnInfo>,
    started: std::time::Instant,
}

impl Served {
    fn touch(&self) {
        let now = self.started.elapsed().as_millis() as u64;
        self.info.last_active.store(now, Ordering::Release);
    }
}

impl tower::Service<axum::http::Request<hyper::body::Incoming>> for Served {
    type Response = axum::response::Response;
    type Error = std::convert::Infallible;
    type Future = std::pin::Pin<
        Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send + 'static>,
    >;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: axum::http::Request<hyper::body::Incoming>) -> Self::Future {
        use tower::ServiceExt;
        req.extensions_mut().insert(self.origin.clone());
        self.info.busy.fetch_add(1, Ordering::AcqRel);
        self.touch();
        let (info, started) = (self.info.clone(), self.started);
        let app = self.app.clone();
        Box::pin(async move {
            let resp = app.oneshot(req.map(axum::body::Body::new)).await;
            let now = started.elapsed().as_millis() as u64;
            info.last_active.store(now, Ordering::Release);
            info.busy.fetch_sub(1, Ordering::AcqRel);
            resp
        })
    }
}

async fn connection<I>(
    io: I,
    served: Served,
    header_timeout: Duration,
    mut close: watch::Receiver<()>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut shed = served.info.close.subscribe();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let conn = builder.serve_connection(TokioIo::new(io), TowerToHyperService::new(served));
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            return;
        }
        _ = close.changed() => {}
        _ = shed.wait_for(|c| *c) => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}

/// The TLS configuration of `serve --tls-cert --tls-key`: a PEM certificate chain and its PEM
/// private key. Errors name the file and what to do.
pub fn tls_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("cannot read the certificate {}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("the certificate {} is not valid PEM: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "{} holds no certificate: give a PEM file with -----BEGIN CERTIFICATE-----",
            cert.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        format!(
            "cannot read a private key from {}: {e} (give a PEM file with a PKCS#8, PKCS#1 or SEC1 key)",
            key.display()
        )
    })?;
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("the certificate and key do not go together: {e}"))?;
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_errors_are_logged_at_most_once_a_second() {
        let mut errors = AcceptErrors {
            last: None,
            unlogged: 0,
        };
        let e = std::io::Error::other("Too many open files");
        let t0 = std::time::Instant::now();
        let logged = (0..585)
            .filter(|i| errors.failed(&e, t0 + Duration::from_millis(*i as u64 * 5)))
            .count();
        // 585 failures over 2.9 s: logged at 0, 1 and 2 s.
        assert_eq!(logged, 3);
    }

    #[test]
    fn at_the_bound_the_longest_idle_connection_goes_and_busy_ones_stay() {
        let bound: SharedConns = Arc::new(std::sync::Mutex::new(Conns {
            max: 2,
            next_id: 0,
            live: Default::default(),
        }));
        let started = std::time::Instant::now();
        let (_, a) = register(&bound, started).unwrap();
        let (_, b) = register(&bound, started).unwrap();
        a.last_active.store(10, Ordering::Release);
        b.last_active.store(5, Ordering::Release);
        let (_, c) = register(&bound, started).unwrap();
        assert!(*b.close.borrow(), "the longest idle is asked to close");
        assert!(!*a.close.borrow());
        a.busy.store(1, Ordering::Release);
        c.busy.store(1, Ordering::Release);
        assert!(
            register(&bound, started).is_none(),
            "every connection is busy"
        );
    }
}
