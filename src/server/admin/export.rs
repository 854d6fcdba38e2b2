//! `GET /export`: the org as a snapshot document (see `crate::snapshot`), for offline
//! review and diffs. Labels only, never a secret.

use super::{AdminCtx, route_path};
use crate::server::AppState;
use crate::server::http::AdminErr;
use crate::snapshot;
use crate::store::Store;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};

pub(super) fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new().route(&route_path("/export"), get(export::<S>))
}

async fn export<S: Store>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<AdminCtx>,
) -> Result<Response, AdminErr> {
    let snap = snapshot::export(&st.store, ctx.org.id).await?;
    let day: String = snap.exported_at.chars().take(10).collect();
    let mut resp = (StatusCode::OK, snapshot::to_bytes(&snap)).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // A browser or `curl -OJ` saves it under a name that says what and when.
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"scimdesk-{}-{day}.json\"",
        ctx.org.uid
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}
