//! The endpoints of load balancers and monitoring: `GET /healthz` (the process answers),
//! `GET /readyz` (the database answers at this binary's schema version) and `GET /metrics`.
//! No authentication, no rate limit, no request log, and not counted in the request metrics:
//! a probe every second must neither fill the log nor drown the API's series. None of them
//! says anything about a person, a token or an org.

use super::AppState;
use crate::store::Store;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

/// How long `/readyz` waits for the database: under Kubernetes' default probe timeout (1 s),
/// so that the probe gets a reason rather than a timeout.
pub const READY_TIMEOUT: Duration = Duration::from_millis(800);

/// The probes, and `/metrics` when `with_metrics`.
pub fn routes<S: Store>(state: AppState<S>, with_metrics: bool) -> Router {
    let mut r = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz::<S>));
    if with_metrics {
        r = r.route("/metrics", get(metrics::<S>));
    }
    r.with_state(state)
}

fn text(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

async fn healthz() -> Response {
    text(StatusCode::OK, "ok\n".into())
}

/// The last readiness seen, so that a change is logged once, not at every probe.
#[derive(Debug, Default)]
pub struct Readiness(AtomicU8);

// 0, the default, is "not probed yet", so that the first answer is logged.
const READY: u8 = 1;
const NOT_READY: u8 = 2;

impl Readiness {
    /// Records `now`; true when it differs from the last one recorded.
    fn changed(&self, now: u8) -> bool {
        self.0.swap(now, Ordering::Relaxed) != now
    }
}

async fn readyz<S: Store>(State(st): State<AppState<S>>) -> Response {
    let outcome = tokio::time::timeout(READY_TIMEOUT, st.store.ready()).await;
    let reason = match outcome {
        Ok(Ok(())) => {
            if st.readiness.changed(READY) {
                tracing::info!("ready: the database answers at this binary's schema version");
            }
            return text(StatusCode::OK, "ready\n".into());
        }
        Ok(Err(e)) => {
            let reason = e.readiness_reason();
            if st.readiness.changed(NOT_READY) {
                tracing::warn!(error = %e, reason, "not ready");
            }
            reason
        }
        Err(_) => {
            let reason = format!(
                "the database did not answer within {} ms",
                READY_TIMEOUT.as_millis()
            );
            if st.readiness.changed(NOT_READY) {
                tracing::warn!(reason, "not ready");
            }
            reason
        }
    };
    text(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("not ready: {reason}\n"),
    )
}

async fn metrics<S: Store>(State(st): State<AppState<S>>) -> Response {
    let body = st
        .metrics
        .render(&st.store, &st.limiter, st.shares_rate_limit());
    let mut resp = text(StatusCode::OK, body);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_of_readiness_is_reported_once() {
        let r = Readiness::default();
        assert!(r.changed(READY), "the first answer");
        assert!(!r.changed(READY));
        assert!(r.changed(NOT_READY));
        assert!(!r.changed(NOT_READY));
        assert!(r.changed(READY));
    }
}
