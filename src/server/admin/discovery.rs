//! `GET /scim/discovery`: the org's ServiceProviderConfig exactly as its SCIM endpoint serves
//! it, for the console's discovery card. The SCIM route wants a SCIM token, which an admin
//! (and the console) does not hold; this one takes the admin token, so the card shows what
//! the server serves instead of a guess.

use super::{AdminCtx, route_path, scim_url};
use crate::scim::cursor;
use crate::server::AppState;
use crate::server::http::admin_json;
use crate::server::scim::core;
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
    let base = scim_url(&ctx);
    let mut doc =
        core::service_provider_config(&base, st.cfg.max_results, st.cfg.bulk_max_operations);
    doc["pagination"] = cursor::pagination_config(
        st.cfg.default_count.min(st.cfg.max_results),
        st.cfg.max_results,
        st.cfg.cursor_timeout_secs,
    );
    admin_json(StatusCode::OK, &doc)
}
