//! SCIM tokens (`/scim/tokens`) and admin tokens (`/admin-tokens`, Owner only). A secret
//! leaves the server once, in the response that mints it; listings carry labels only.

use super::{AdminCtx, list_doc, list_params, route_path, scim_url};
use crate::server::AppState;
use crate::server::http::{AdminErr, admin_json, read_json};
use crate::store::{OrgRole, Store};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Extension, Router};
use serde_json::{Value, json};

const MAX_LABEL_CHARS: usize = 200;

pub(super) fn routes<S: Store>() -> Router<AppState<S>> {
    let p = route_path;
    Router::new()
        .route(
            &p("/scim/tokens"),
            get(list_tokens::<S>).post(create_token::<S>),
        )
        .route(&p("/scim/tokens/{id}"), delete(revoke_token::<S>))
        .route(&p("/scim/tokens/activity"), get(token_activity::<S>))
        .route(
            &p("/admin-tokens"),
            get(list_admin_tokens::<S>).post(create_admin_token::<S>),
        )
        .route(&p("/admin-tokens/{id}"), delete(revoke_admin_token::<S>))
}

async fn create_token<S: Store>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<AdminCtx>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AdminErr> {
    let json = read_json(&headers, body).await?;
    let label = label_of(&json)?;
    let issued = st
        .store
        .create_scim_token(ctx.org.id, &label, &ctx.actor)
        .await?;
    Ok(admin_json(
        StatusCode::CREATED,
        &json!({
            "id": issued.id,
            "label": issued.label,
            "token": issued.token,
            "created_at": issued.created_at,
            "scim_url": scim_url(&ctx),
        }),
    ))
}

fn label_of(json: &Value) -> Result<String, AdminErr> {
    let label = match json.get("label") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        _ => {
            return Err(AdminErr::bad_request(
                "label: a non-empty string is required",
            ));
        }
    };
    if label.chars().count() > MAX_LABEL_CHARS {
        return Err(AdminErr::bad_request(format!(
            "label: at most {MAX_LABEL_CHARS} characters"
        )));
    }
    Ok(label)
}

/// Owner only: an admin token for any member of the org (its power follows that member's
/// role, so a Member's token is refused everywhere until the member becomes an Admin).
async fn create_admin_token<S: Store>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<AdminCtx>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AdminErr> {
    owner_only(&ctx, "issue admin tokens")?;
    let json = read_json(&headers, body).await?;
    let label = label_of(&json)?;
    let email = match json.get("email") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        _ => {
            return Err(AdminErr::bad_request(
                "email: a non-empty string is required",
            ));
        }
    };
    let issued = st
        .store
        .create_admin_token(ctx.org.id, &email, &label, &ctx.actor)
        .await?;
    Ok(admin_json(
        StatusCode::CREATED,
        &json!({"id": issued.id, "label": issued.label, "token": issued.token,
                "created_at": issued.created_at}),
    ))
}

/// IdP activity of the org's SCIM tokens, this process's view (see `server::activity`):
/// `{"tokens": {id: {"last_request_at", "last_hour": {"2xx","4xx","5xx"}, "refusals": [...]}}}`.
async fn token_activity<S: Store>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<AdminCtx>,
) -> Result<Response, AdminErr> {
    Ok(admin_json(
        StatusCode::OK,
        &json!({
            "tokens": st.activity.of_org(ctx.org.id, st.limiter_now_ms()),
            "max_refusals": crate::server::activity::MAX_REFUSALS,
            "scope": "this server process",
        }),
    ))
}

async fn list_tokens<S: Store>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<AdminCtx>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, AdminErr> {
    let (limit, cursor) = list_params(&params)?;
    let page = st.store.list_scim_tokens(ctx.org.id, limit, cursor).await?;
    Ok(list_doc(&page, |t| {
        json!({
            "id": t.id,
            "label": t.label,
            "created_at": t.created_at,
            "last_used_at": t.last_used_at,
        })
    }))
}

async fn revoke_token<S: Store>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<AdminCtx>,
    Path((_org, id)): Path<(String, String)>,
) -> Result<Response, AdminErr> {
    if st
        .store
        .revoke_scim_token(ctx.org.id, &id, &ctx.actor)
        .await?
    {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(AdminErr::not_found(format!("no SCIM token '{id}'")))
    }
}

fn owner_only(ctx: &AdminCtx, what: &str) -> Result<(), AdminErr> {
    if ctx.role == OrgRole::Owner {
        Ok(())
    } else {
        Err(AdminErr::forbidden(format!(
            "only the Owner may {what}: ask the organization's Owner"
        )))
    }
}

/// Owner only, like minting: the list names who holds admin power.
async fn list_admin_tokens<S: Store>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<AdminCtx>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, AdminErr> {
    owner_only(&ctx, "list admin tokens")?;
    let (limit, cursor) = list_params(&params)?;
    let page = st
        .store
        .list_admin_tokens(ctx.org.id, limit, cursor)
        .await?;
    Ok(list_doc(&page, |t| {
        json!({
            "id": t.id,
            "label": t.label,
            "email": t.email,
            "created_at": t.created_at,
            "last_used_at": t.last_used_at,
        })
    }))
}

/// Owner only. Authentication reads the token row on every request, so the revocation holds
/// from the next request on, the Owner's own token included.
async fn revoke_admin_token<S: Store>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<AdminCtx>,
    Path((_org, id)): Path<(String, String)>,
) -> Result<Response, AdminErr> {
    owner_only(&ctx, "revoke admin tokens")?;
    if st
        .store
        .revoke_admin_token(ctx.org.id, &id, &ctx.actor)
        .await?
    {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(AdminErr::not_found(format!(
            "no live admin token '{id}' in this organization: GET /admin-tokens lists them"
        )))
    }
}
