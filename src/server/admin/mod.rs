//! The admin API under `/admin/v1/organizations/{org_uid}`: the organization and its SCIM
//! settings here, each other resource in its own file. Owner and Admin tokens only; a token
//! of another org gets 404, so it learns nothing about this one.

mod access;
mod audit;
mod discovery;
mod export;
mod tokens;

use super::AppState;
use super::http::{AdminErr, admin_json, bearer, origin, read_json};
use super::scim::SCIM_PREFIX;
use crate::store::{MemberState, Org, OrgRole, ScimSettings, ScimSettingsPatch, Store};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::{Map, Value, json};

pub const ADMIN_PREFIX: &str = "/admin/v1/organizations";

const DEFAULT_LIMIT: u64 = 50;
const MAX_LIMIT: u64 = 200;

#[derive(Debug, Clone)]
pub struct AdminCtx {
    pub org: Org,
    /// The admin's email, recorded as the actor of writes.
    pub actor: String,
    pub role: OrgRole,
    /// The origin of the URLs handed out (see `http::origin`).
    pub origin: String,
}

/// The route pattern of an admin resource: `suffix` is "" (the org) or starts with '/'.
fn route_path(suffix: &str) -> String {
    format!("{ADMIN_PREFIX}/{{org}}{suffix}")
}

pub fn routes<S: Store>(state: AppState<S>) -> Router<AppState<S>> {
    let p = route_path;
    Router::new()
        .route(&p(""), get(get_org::<S>))
        .route(&p("/scim"), get(get_scim).patch(patch_scim::<S>))
        .merge(tokens::routes::<S>())
        .merge(audit::routes::<S>())
        .merge(access::routes::<S>())
        .merge(export::routes::<S>())
        .merge(discovery::routes::<S>())
        .route_layer(middleware::from_fn_with_state(state, authenticate::<S>))
}

/// The first value of query parameter `key`.
fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == key)
        .map(|(_, v)| v.as_str())
}

/// `?limit=` (default 50, at most 200) and `?cursor=` of an admin list; an empty cursor is
/// the first page.
fn list_params(params: &[(String, String)]) -> Result<(u64, Option<&str>), AdminErr> {
    let get = |k: &str| param(params, k);
    let limit = match get("limit") {
        None => DEFAULT_LIMIT,
        Some(v) => v
            .parse::<u64>()
            .map_err(|_| AdminErr::bad_request("limit: expected a positive integer"))?
            .clamp(1, MAX_LIMIT),
    };
    Ok((limit, get("cursor").filter(|c| !c.is_empty())))
}

/// The `{"items", "total", "next"}` document of every admin list.
fn list_doc<T>(
    page: &crate::store::CursorPage<T>,
    item: impl Fn(&T) -> serde_json::Value,
) -> Response {
    admin_json(
        StatusCode::OK,
        &json!({
            "items": page.items.iter().map(item).collect::<Vec<_>>(),
            "total": page.total,
            "next": page.next,
        }),
    )
}

async fn authenticate<S: Store>(
    State(st): State<AppState<S>>,
    mut req: Request,
    next: Next,
) -> Response {
    let uid = req
        .uri()
        .path()
        .strip_prefix(ADMIN_PREFIX)
        .and_then(|rest| rest.strip_prefix('/'))
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("")
        .to_string();
    let Some(token) = bearer(req.headers()) else {
        return AdminErr::unauthorized().into_response();
    };
    let principal = match st.store.authenticate_admin(token).await {
        Ok(Some(p)) => p,
        Ok(None) => return AdminErr::unauthorized().into_response(),
        Err(e) => return AdminErr::from(e).into_response(),
    };
    if principal.org.uid != uid {
        return AdminErr::not_found("no such organization").into_response();
    }
    let verdict = super::scim::rate_limit(&st, principal.org.id, &principal.token_id);
    if let Some(v) = verdict.filter(|v| !v.allowed) {
        let mut resp = AdminErr::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            v.refusal("admin"),
        )
        .into_response();
        v.write_headers(resp.headers_mut());
        return resp;
    }
    if principal.state != MemberState::Active {
        return AdminErr::forbidden("this admin token's membership is not active").into_response();
    }
    if principal.role == OrgRole::Member {
        return AdminErr::forbidden(
            "only an Owner or Admin of the organization may use the admin API",
        )
        .into_response();
    }
    let origin = origin(&st.cfg, req.extensions());
    let acting = crate::store::acting::Acting {
        kind: crate::store::acting::TokenKind::Admin,
        id: principal.token_id.clone(),
    };
    req.extensions_mut().insert(AdminCtx {
        org: principal.org,
        actor: principal.email,
        role: principal.role,
        origin,
    });
    let mut resp = crate::store::acting::ACTING
        .scope(acting, next.run(req))
        .await;
    if let Some(v) = verdict {
        v.write_headers(resp.headers_mut());
    }
    resp
}

fn settings_json(s: &ScimSettings) -> Value {
    json!({
        "enabled": s.enabled,
        "sso_role_mapping": s.sso_role_mapping,
        "approval": {
            "provision": s.approval.provision,
            "access_increase": s.approval.access_increase,
            "deprovision": s.approval.deprovision,
        },
        "user_name_is_email": s.user_name_is_email,
    })
}

fn warnings(s: &ScimSettings) -> Value {
    crate::domain::settings::scim_warnings(s.enabled, s.sso_role_mapping)
        .into_iter()
        .map(|w| json!({"code": w.code, "message": w.message}))
        .collect()
}

/// The SCIM URL that an IdP is given for the org.
fn scim_url(ctx: &AdminCtx) -> String {
    format!("{}{SCIM_PREFIX}/{}", ctx.origin, ctx.org.uid)
}

fn scim_doc(ctx: &AdminCtx, s: &ScimSettings) -> Value {
    let mut doc = settings_json(s);
    doc["warnings"] = warnings(s);
    doc["scim_url"] = Value::String(scim_url(ctx));
    doc
}

async fn get_org<S: Store>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<AdminCtx>,
) -> Result<Response, AdminErr> {
    let counts = st.store.org_counts(ctx.org.id).await?;
    Ok(admin_json(
        StatusCode::OK,
        &json!({
            "uid": ctx.org.uid,
            "name": ctx.org.name,
            "created_at": ctx.org.created_at,
            "scim": scim_doc(&ctx, &ctx.org.scim),
            "counts": {
                "members": counts.members,
                "scim_users": counts.scim_users,
                "scim_groups": counts.scim_groups,
                "scim_tokens": counts.scim_tokens,
            },
        }),
    ))
}

async fn get_scim(Extension(ctx): Extension<AdminCtx>) -> Response {
    admin_json(StatusCode::OK, &scim_doc(&ctx, &ctx.org.scim))
}

fn flag(obj: &Map<String, Value>, key: &str, path: &str) -> Result<Option<bool>, AdminErr> {
    match obj.get(key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(AdminErr::bad_request(format!(
            "{path}: expected true or false"
        ))),
    }
}

/// Parses a settings PATCH: known keys only, so a typo is an error rather than a no-op.
fn parse_settings_patch(body: &Value) -> Result<ScimSettingsPatch, AdminErr> {
    let obj = body
        .as_object()
        .ok_or_else(|| AdminErr::bad_request("expected a JSON object"))?;
    for key in obj.keys() {
        // GET's read-only fields may come back in a PATCH built from a GET.
        if !matches!(
            key.as_str(),
            "enabled"
                | "sso_role_mapping"
                | "approval"
                | "user_name_is_email"
                | "warnings"
                | "scim_url"
        ) {
            return Err(AdminErr::bad_request(format!("unknown setting '{key}'")));
        }
    }
    let mut patch = ScimSettingsPatch {
        enabled: flag(obj, "enabled", "enabled")?,
        sso_role_mapping: flag(obj, "sso_role_mapping", "sso_role_mapping")?,
        user_name_is_email: flag(obj, "user_name_is_email", "user_name_is_email")?,
        ..Default::default()
    };
    match obj.get("approval") {
        None => {}
        Some(Value::Object(a)) => {
            for key in a.keys() {
                if !matches!(
                    key.as_str(),
                    "provision" | "access_increase" | "deprovision"
                ) {
                    return Err(AdminErr::bad_request(format!(
                        "unknown setting 'approval.{key}'"
                    )));
                }
            }
            patch.approval_provision = flag(a, "provision", "approval.provision")?;
            patch.approval_access_increase =
                flag(a, "access_increase", "approval.access_increase")?;
            patch.approval_deprovision = flag(a, "deprovision", "approval.deprovision")?;
        }
        Some(_) => return Err(AdminErr::bad_request("approval: expected an object")),
    }
    Ok(patch)
}

async fn patch_scim<S: Store>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<AdminCtx>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AdminErr> {
    let json = read_json(&headers, body).await?;
    let patch = parse_settings_patch(&json)?;
    let settings = st
        .store
        .update_scim_settings(ctx.org.id, &patch, &ctx.actor)
        .await?;
    Ok(admin_json(StatusCode::OK, &scim_doc(&ctx, &settings)))
}
