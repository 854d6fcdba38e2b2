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
        helpers.spawn(accept_loop(ops, ops_app, header_timeout, None, stopped()));
    }
    accept_loop(listener, api, header_timeout, tls, shutdown).await;
    let _ = stop_tx.send(true);
    while helpers.join_next().await.is_some() {}
    Ok(())
}

/// Accepts connections on `listener` and serves `app` on each until `shutdown` completes,
/// then asks every connection to finish its request in flight and waits for them.
async fn accept_loop<F>(
    listener: TcpListener,
    app: Router,
    header_timeout: Duration,
    tls: Option<TlsAcceptor>,
    shutdown: F,
) where
    F: Future<Output = ()> + Send + 'static,
{
    let (close_tx, close_rx) = watch::channel(());
    let mut conns = tokio::task::JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = &mut shutdown => break,
        };
        let tcp = match accepted {
            Ok((tcp, _)) => tcp,
            Err(e) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let app = app.clone();
        let close = close_rx.clone();
        match tls.clone() {
            None => conns.spawn(connection(tcp, app, header_timeout, close)),
            Some(acceptor) => conns.spawn(async move {
                // The handshake is bounded like the headers: a silent client gets nothing.
                match tokio::time::timeout(header_timeout, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => connection(stream, app, header_timeout, close).await,
                    Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                    Err(_) => tracing::debug!("TLS handshake timed out"),
                }
            }),
        };
        while conns.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = close_tx.send(());
    while conns.join_next().await.is_some() {}
}

async fn connection<I>(io: I, app: Router, header_timeout: Duration, mut close: watch::Receiver<()>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let conn = builder.serve_connection(TokioIo::new(io), TowerToHyperService::new(app));
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            return;
        }
        _ = close.changed() => {}
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
