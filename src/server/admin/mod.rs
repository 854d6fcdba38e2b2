//! The admin API under `/admin/v1/organizations/{org_uid}`: the organization, SCIM settings
//! and SCIM tokens. Owner and Admin tokens only; a token of another org gets 404, so it
//! learns nothing about this one.

mod access;

use super::AppState;
use super::http::{AdminErr, admin_json, bearer, origin, read_json};
use super::scim::SCIM_PREFIX;
use crate::store::{MemberState, Org, OrgRole, ScimSettings, ScimSettingsPatch, Store};
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Router};
use serde_json::{Map, Value, json};

pub const ADMIN_PREFIX: &str = "/admin/v1/organizations";

const DEFAULT_LIMIT: u64 = 50;
const MAX_LIMIT: u64 = 200;
const MAX_LABEL_CHARS: usize = 200;

#[derive(Debug, Clone)]
pub struct AdminCtx {
    pub org: Org,
    /// The admin's email, recorded as the actor of writes.
    pub actor: String,
    pub role: OrgRole,
}

pub fn routes<S: Store>(state: AppState<S>) -> Router<AppState<S>> {
    let p = |suffix: &str| format!("{ADMIN_PREFIX}/{{org}}{suffix}");
    Router::new()
        .route(&p(""), get(get_org::<S>))
        .route(&p("/scim"), get(get_scim).patch(patch_scim::<S>))
        .route(
            &p("/scim/tokens"),
            get(list_tokens::<S>).post(create_token::<S>),
        )
        .route(&p("/scim/tokens/{id}"), delete(revoke_token::<S>))
        .route(&p("/admin-tokens"), post(create_admin_token::<S>))
        .merge(access::routes::<S>())
        .route_layer(middleware::from_fn_with_state(state, authenticate::<S>))
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
    if principal.state != MemberState::Active {
        return AdminErr::forbidden("this admin token's membership is not active").into_response();
    }
    if principal.role == OrgRole::Member {
        return AdminErr::forbidden(
            "only an Owner or Admin of the organization may use the admin API",
        )
        .into_response();
    }
    req.extensions_mut().insert(AdminCtx {
        org: principal.org,
        actor: principal.email,
        role: principal.role,
    });
    next.run(req).await
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
    let mut w = Vec::new();
    if s.enabled && s.sso_role_mapping {
        w.push(json!({
            "code": "sso_role_mapping_with_scim",
            "message": "SSO role mapping is on while SCIM is on: both assign roles. Turn SSO \
                        role mapping off and let SCIM group mappings assign roles.",
        }));
    }
    Value::Array(w)
}

fn scim_url(headers: &HeaderMap, org: &Org) -> String {
    format!("{}{SCIM_PREFIX}/{}", origin(headers), org.uid)
}

fn scim_doc(headers: &HeaderMap, org: &Org, s: &ScimSettings) -> Value {
    let mut doc = settings_json(s);
    doc["warnings"] = warnings(s);
    doc["scim_url"] = Value::String(scim_url(headers, org));
    doc
}

async fn get_org<S: Store>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<AdminCtx>,
    headers: HeaderMap,
) -> Result<Response, AdminErr> {
    let counts = st.store.org_counts(ctx.org.id).await?;
    Ok(admin_json(
        StatusCode::OK,
        &json!({
            "uid": ctx.org.uid,
            "name": ctx.org.name,
            "created_at": ctx.org.created_at,
            "scim": scim_doc(&headers, &ctx.org, &ctx.org.scim),
            "counts": {
                "members": counts.members,
                "scim_users": counts.scim_users,
                "scim_groups": counts.scim_groups,
                "scim_tokens": counts.scim_tokens,
            },
        }),
    ))
}

async fn get_scim(Extension(ctx): Extension<AdminCtx>, headers: HeaderMap) -> Response {
    admin_json(StatusCode::OK, &scim_doc(&headers, &ctx.org, &ctx.org.scim))
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
    Ok(admin_json(
        StatusCode::OK,
        &scim_doc(&headers, &ctx.org, &settings),
    ))
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
            "scim_url": scim_url(&headers, &ctx.org),
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
    if ctx.role != OrgRole::Owner {
        return Err(AdminErr::forbidden("only the Owner may issue admin tokens"));
    }
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

async fn list_tokens<S: Store>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<AdminCtx>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, AdminErr> {
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let limit = match get("limit") {
        None => DEFAULT_LIMIT,
        Some(v) => v
            .parse::<u64>()
            .map_err(|_| AdminErr::bad_request("limit: expected a positive integer"))?
            .clamp(1, MAX_LIMIT),
    };
    let page = st
        .store
        .list_scim_tokens(ctx.org.id, limit, get("cursor"))
        .await?;
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|t| {
            json!({
                "id": t.id,
                "label": t.label,
                "created_at": t.created_at,
                "last_used_at": t.last_used_at,
            })
        })
        .collect();
    Ok(admin_json(
        StatusCode::OK,
        &json!({"items": items, "total": page.total, "next": page.next}),
    ))
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
