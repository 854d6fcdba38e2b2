//! `GET /audit`: the org's audit log, newest first, paged by cursor and narrowed by actor,
//! action, target and time.

use super::{AdminCtx, list_doc, list_params, route_path};
use crate::domain::audit_ids::AuditIds;
use crate::scim::datetime;
use crate::server::AppState;
use crate::server::http::AdminErr;
use crate::store::{AuditEvent, AuditQuery, CursorPage, Store};
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::{Value, json};

pub(super) fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new().route(&route_path("/audit"), get(list_audit::<S>))
}

/// An event as the org sees it: its `id` is the org's own (see `domain::audit_ids`).
pub(crate) fn event_json(e: &AuditEvent, ids: &AuditIds) -> Value {
    json!({
        "id": ids.show(e.id),
        "at": e.at,
        "actor": e.actor,
        "action": e.action,
        "target": e.target,
        "target_name": e.target_name,
        "before": e.before,
        "after": e.after,
    })
}

async fn list_audit<S: Store>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<AdminCtx>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, AdminErr> {
    let (limit, cursor) = list_params(&params)?;
    let ids = ctx.org.audit_ids();
    let before_id = cursor
        .map(|c| {
            ids.read(c).ok_or_else(|| {
                AdminErr::bad_request(
                    "cursor: not a cursor this list returned; start again without one",
                )
            })
        })
        .transpose()?;
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let since = get("since").map(|v| instant("since", v)).transpose()?;
    let until = get("until").map(|v| instant("until", v)).transpose()?;
    let page = st
        .store
        .list_audit(
            ctx.org.id,
            AuditQuery {
                actor: get("actor"),
                action: get("action"),
                target: get("target"),
                since: since.as_deref(),
                until: until.as_deref(),
                limit,
                before_id,
            },
        )
        .await?;
    // The store's cursor is the last row's number: the org sees its own id for it.
    let page = CursorPage {
        next: page.next.and_then(|n| n.parse().ok()).map(|n| ids.show(n)),
        ..page
    };
    Ok(list_doc(&page, |e| event_json(e, &ids)))
}

/// A `since`/`until` bound, in the form the log writes times.
fn instant(name: &str, v: &str) -> Result<String, AdminErr> {
    datetime::named_bound(name, v).map_err(AdminErr::bad_request)
}
