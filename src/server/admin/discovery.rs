//! `GET /scim/discovery`: the org's ServiceProviderConfig exactly as its SCIM endpoint serves
//! it, for the console's discovery card. The SCIM route wants a SCIM token, which an admin
//! (and the console) does not hold; this one takes the admin token, so the card shows what
//! the server serves instead of a guess.

use super::{AdminCtx, route_path, scim_url};
use crate::server::AppState;
use crate::server::http::admin_json;
use crate::server::scim::served_sp_config;
use crate::store::Store;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};

pub(super) fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new().route(&route_path("/scim/discovery"), get(discovery::<S>))
}

/// The same document as `GET {scim_url}/ServiceProviderConfig`, built from the same limits.
async fn discovery<S: Store>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<AdminCtx>,
) -> Response {
    admin_json(StatusCode::OK, &served_sp_config(&st.cfg, &scim_url(&ctx)))
}
