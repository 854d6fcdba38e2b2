//! The SCIM 2.0 API under `/scim/v2.0/organizations/{org_uid}/`: authentication, discovery,
//! Users and Groups. A request goes parse → validate → rule → store; errors become SCIM
//! errors in one place ([`ScimErr`]).

pub mod core;
mod provisioning;
mod search;

use super::AppState;
use super::http::{ScimErr, bearer, origin, read_json, scim_json};
use crate::scim::ScimError;
use crate::scim::list::{ListQuery, SortOrder};
use crate::scim::projection::Projection;
use crate::store::{Change, Kind, ListSpec, ResourceRecord, Store};
use axum::body::Body;
use axum::extract::{FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde_json::Value;

pub const SCIM_PREFIX: &str = "/scim/v2.0/organizations";

/// Who is calling and where: set by the authentication layer for every SCIM handler.
#[derive(Debug, Clone)]
pub struct ScimCtx {
    pub org_id: i64,
    /// The token's label, recorded as the actor of writes.
    pub actor: String,
    /// `http://host/scim/v2.0/organizations/{uid}`.
    pub base: String,
    /// The org's userName-is-email rule (see `ScimSettings`).
    pub user_name_is_email: bool,
}

/// The query parameters, in order; malformed encoding is a SCIM 400, not a plain-text one.
struct Params(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ScimErr;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ScimErr> {
        Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map(|q| Params(q.0))
            .map_err(|_| ScimErr(ScimError::invalid_syntax("malformed query string")))
    }
}

/// The resource id of `/{org}/Resource/{id}` paths.
struct Id(String);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ScimErr;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ScimErr> {
        Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map(|Path((_org, id))| Id(id))
            .map_err(|_| ScimErr(ScimError::not_found("no such resource")))
    }
}

const fn kind<const G: bool>() -> Kind {
    if G { Kind::Group } else { Kind::User }
}

pub fn routes<S: Store>(state: AppState<S>) -> Router<AppState<S>> {
    let p = |suffix: &str| format!("{SCIM_PREFIX}/{{org}}{suffix}");
    Router::new()
        .route(&p("/ServiceProviderConfig"), get(sp_config::<S>))
        .route(&p("/ResourceTypes"), get(resource_types))
        .route(&p("/ResourceTypes/{id}"), get(resource_type))
        .route(&p("/Schemas"), get(schemas))
        .route(&p("/Schemas/{id}"), get(schema_doc))
        .route(&p("/Users"), get(list::<S, false>).post(create::<S, false>))
        .route(
            &p("/Users/{id}"),
            get(get_one::<S, false>)
                .put(replace::<S, false>)
                .patch(patch::<S, false>)
                .delete(delete::<S, false>),
        )
        .route(&p("/Groups"), get(list::<S, true>).post(create::<S, true>))
        .route(
            &p("/Groups/{id}"),
            get(get_one::<S, true>)
                .put(replace::<S, true>)
                .patch(patch::<S, true>)
                .delete(delete::<S, true>),
        )
        .route(&p("/Users/.search"), post(search::search_type::<S, false>))
        .route(&p("/Groups/.search"), post(search::search_type::<S, true>))
        .route(&p("/.search"), post(search::search_root::<S>))
        .route(&p("/Bulk"), post(not_implemented))
        .route_layer(middleware::from_fn_with_state(state, authenticate::<S>))
}

/// Bearer authentication. 401 (no or bad token, or a token of another org) comes before 403
/// (SCIM disabled), and an unknown org looks like a bad token, so probing reveals nothing.
async fn authenticate<S: Store>(
    State(st): State<AppState<S>>,
    mut req: Request,
    next: Next,
) -> Response {
    let uid = req
        .uri()
        .path()
        .strip_prefix(SCIM_PREFIX)
        .and_then(|rest| rest.strip_prefix('/'))
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("")
        .to_string();
    let unauthorized = || {
        ScimErr(ScimError::unauthorized(
            "a valid SCIM token for this organization is required: Authorization: Bearer <token>",
        ))
        .into_response()
    };
    let Some(token) = bearer(req.headers()) else {
        return unauthorized();
    };
    let principal = match st.store.authenticate_scim(token).await {
        Ok(Some(p)) => p,
        Ok(None) => return unauthorized(),
        Err(e) => return ScimErr::from(e).into_response(),
    };
    if principal.org.uid != uid {
        return unauthorized();
    }
    let verdict = rate_limit(&st, &principal.token_id);
    if let Some(v) = verdict.filter(|v| !v.allowed) {
        let mut resp = ScimErr(ScimError::too_many_requests(v.refusal("SCIM"))).into_response();
        v.write_headers(resp.headers_mut());
        return resp;
    }
    let org = principal.org;
    if !org.scim.enabled {
        return ScimErr(ScimError::forbidden(format!(
            "SCIM is disabled for this organization. An Owner or Admin can enable it: \
             PATCH /admin/v1/organizations/{uid}/scim with {{\"enabled\": true}}"
        )))
        .into_response();
    }
    let base = format!("{}{SCIM_PREFIX}/{uid}", origin(req.headers()));
    req.extensions_mut().insert(ScimCtx {
        org_id: org.id,
        actor: principal.label,
        base,
        user_name_is_email: org.scim.user_name_is_email,
    });
    let mut resp = next.run(req).await;
    if let Some(v) = verdict {
        v.write_headers(resp.headers_mut());
    }
    resp
}

/// Counts a request against its token's limit; `None` when the limit is off.
pub(crate) fn rate_limit<S>(
    st: &AppState<S>,
    token_id: &str,
) -> Option<crate::server::limits::Verdict> {
    st.limiter.enabled().then(|| {
        st.limiter
            .check(token_id, crate::server::limits::now_epoch_secs())
    })
}

async fn not_implemented() -> ScimErr {
    ScimErr(ScimError::not_implemented(
        "this server does not support /Bulk: see ServiceProviderConfig",
    ))
}

async fn sp_config<S: Store>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<ScimCtx>,
) -> Response {
    scim_json(
        StatusCode::OK,
        &core::service_provider_config(&ctx.base, st.cfg.max_results),
    )
}

async fn resource_types(Extension(ctx): Extension<ScimCtx>) -> Response {
    scim_json(StatusCode::OK, &core::resource_types(&ctx.base))
}

async fn resource_type(
    Extension(ctx): Extension<ScimCtx>,
    Id(id): Id,
) -> Result<Response, ScimErr> {
    core::resource_type(&id, &ctx.base)
        .map(|v| scim_json(StatusCode::OK, &v))
        .ok_or_else(|| ScimErr(ScimError::not_found(format!("no resource type '{id}'"))))
}

async fn schemas(Extension(ctx): Extension<ScimCtx>) -> Response {
    scim_json(StatusCode::OK, &core::schemas(&ctx.base))
}

async fn schema_doc(Extension(ctx): Extension<ScimCtx>, Id(id): Id) -> Result<Response, ScimErr> {
    core::schema_doc(&id, &ctx.base)
        .map(|v| scim_json(StatusCode::OK, &v))
        .ok_or_else(|| ScimErr(ScimError::not_found(format!("no schema '{id}'"))))
}

fn not_found(kind: Kind, id: &str) -> ScimErr {
    ScimErr(ScimError::not_found(format!(
        "{} {id} not found",
        core::rt(kind).name
    )))
}

/// The quoted version inside an entity tag, weak or strong.
fn tag_version(tag: &str) -> &str {
    let t = tag.trim();
    let t = t.strip_prefix("W/").unwrap_or(t);
    t.trim_matches('"')
}

/// Whether an If-Match / If-None-Match header value names this version (or is `*`).
fn tag_matches(header_value: &str, version: i64) -> bool {
    let v = version.to_string();
    header_value
        .split(',')
        .any(|t| t.trim() == "*" || tag_version(t) == v)
}

fn check_if_match(headers: &HeaderMap, rec: &ResourceRecord) -> Result<(), ScimError> {
    match headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()) {
        Some(h) if !tag_matches(h, rec.version) => Err(ScimError::precondition_failed(format!(
            "If-Match does not match the current version {}",
            core::etag(rec.version)
        ))),
        _ => Ok(()),
    }
}

/// A resource response with `ETag` (and `Location` on create).
fn resource_response(status: StatusCode, body: &Value, version: i64, location: bool) -> Response {
    let mut resp = scim_json(status, body);
    if let Ok(v) = HeaderValue::from_str(&core::etag(version)) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    if location
        && let Some(loc) = body
            .pointer("/meta/location")
            .and_then(Value::as_str)
            .and_then(|l| HeaderValue::from_str(l).ok())
    {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    resp
}

async fn get_one<S: Store, const G: bool>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<ScimCtx>,
    Id(id): Id,
    Params(params): Params,
    headers: HeaderMap,
) -> Result<Response, ScimErr> {
    let kind = kind::<G>();
    let proj = core::projection(&params)?;
    let rec = st
        .store
        .get_resource(kind, ctx.org_id, &id, G && core::wants_members(&proj))
        .await?
        .ok_or_else(|| not_found(kind, &id))?;
    if let Some(h) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        && tag_matches(h, rec.version)
    {
        let mut resp = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(v) = HeaderValue::from_str(&core::etag(rec.version)) {
            resp.headers_mut().insert(header::ETAG, v);
        }
        return Ok(resp);
    }
    let mut body = proj.apply(core::rt(kind), &core::render(kind, &rec, &ctx.base));
    provisioning::attach(&st.store, kind, &params, std::slice::from_mut(&mut body)).await?;
    Ok(resource_response(StatusCode::OK, &body, rec.version, false))
}

async fn list<S: Store, const G: bool>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<ScimCtx>,
    Params(params): Params,
) -> Result<Response, ScimErr> {
    let kind = kind::<G>();
    let q = core::parse_list(kind, &params, st.cfg.max_results, st.cfg.default_count)?;
    list_page(&st, &ctx, kind, &q, &params).await
}

/// The ListResponse of a list query on one resource type (a GET list or a POST `.search`).
async fn list_page<S: Store>(
    st: &AppState<S>,
    ctx: &ScimCtx,
    kind: Kind,
    q: &ListQuery,
    params: &[(String, String)],
) -> Result<Response, ScimErr> {
    let proj = &q.projection;
    let page = st
        .store
        .list_resources(
            kind,
            ctx.org_id,
            ListSpec {
                filter: q.filter.as_ref(),
                sort_by: q.sort_by.as_ref(),
                descending: q.sort_order == SortOrder::Descending,
                offset: q.start_index - 1,
                limit: q.count,
                with_members: kind == Kind::Group && core::wants_members(proj),
            },
        )
        .await?;
    let mut resources = page
        .items
        .iter()
        .map(|rec| proj.apply(core::rt(kind), &core::render(kind, rec, &ctx.base)))
        .collect::<Vec<_>>();
    provisioning::attach(&st.store, kind, params, &mut resources).await?;
    Ok(scim_json(
        StatusCode::OK,
        &core::list_response(resources, page.total, q.start_index),
    ))
}

/// Reads and canonicalizes a POST/PUT body.
async fn resource_body(
    ctx: &ScimCtx,
    kind: Kind,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Value, Vec<String>), ScimErr> {
    let json = read_json(headers, body)
        .await
        .map_err(|e| ScimErr(e.to_scim()))?;
    let (resource, members) = core::normalize(kind, json)?;
    match kind {
        Kind::User => core::check_user(&resource, ctx.user_name_is_email)?,
        Kind::Group => core::check_group(&resource)?,
    }
    Ok((resource, members))
}

/// Renders a written resource, loading a group's members when the response shows them.
async fn written<S: Store>(
    st: &AppState<S>,
    ctx: &ScimCtx,
    kind: Kind,
    proj: &Projection,
    mut rec: ResourceRecord,
) -> Result<Value, ScimErr> {
    if kind == Kind::Group && core::wants_members(proj) {
        // Read after the commit: members are rows, not part of the written record.
        if let Some(fresh) = st
            .store
            .get_resource(kind, ctx.org_id, &rec.id, true)
            .await?
        {
            rec = fresh;
        }
    }
    Ok(proj.apply(core::rt(kind), &core::render(kind, &rec, &ctx.base)))
}

async fn create<S: Store, const G: bool>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<ScimCtx>,
    Params(params): Params,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ScimErr> {
    let kind = kind::<G>();
    let proj = core::projection(&params)?;
    let (resource, members) = resource_body(&ctx, kind, &headers, body).await?;
    let out = st
        .store
        .create_resource(kind, ctx.org_id, resource, members, &ctx.actor)
        .await?;
    let version = out.record.version;
    let body = written(&st, &ctx, kind, &proj, out.record).await?;
    Ok(resource_response(StatusCode::CREATED, &body, version, true))
}

async fn replace<S: Store, const G: bool>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<ScimCtx>,
    Id(id): Id,
    Params(params): Params,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ScimErr> {
    let kind = kind::<G>();
    let proj = core::projection(&params)?;
    let (resource, members) = resource_body(&ctx, kind, &headers, body).await?;
    let out = st
        .store
        .update_resource(kind, ctx.org_id, &id, false, &ctx.actor, |rec| {
            check_if_match(&headers, rec)?;
            Ok(Change {
                resource: Some(resource),
                members: if G {
                    vec![core::member_op_from_ids(members)]
                } else {
                    Vec::new()
                },
            })
        })
        .await?;
    let version = out.record.version;
    let body = written(&st, &ctx, kind, &proj, out.record).await?;
    Ok(resource_response(StatusCode::OK, &body, version, false))
}

async fn patch<S: Store, const G: bool>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<ScimCtx>,
    Id(id): Id,
    Params(params): Params,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ScimErr> {
    let kind = kind::<G>();
    let proj = core::projection(&params)?;
    let json = read_json(&headers, body)
        .await
        .map_err(|e| ScimErr(e.to_scim()))?;
    let request = core::PatchRequest::parse(kind, &json)?;
    let load = request.needs_members(kind);
    let out = st
        .store
        .update_resource(kind, ctx.org_id, &id, load, &ctx.actor, |rec| {
            check_if_match(&headers, rec)?;
            let (resource, members) = request.apply(kind, rec)?;
            match kind {
                Kind::User => core::check_user(&resource, ctx.user_name_is_email)?,
                Kind::Group => core::check_group(&resource)?,
            }
            Ok(Change {
                resource: Some(resource),
                members,
            })
        })
        .await?;
    let version = out.record.version;
    let body = written(&st, &ctx, kind, &proj, out.record).await?;
    Ok(resource_response(StatusCode::OK, &body, version, false))
}

async fn delete<S: Store, const G: bool>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<ScimCtx>,
    Id(id): Id,
    headers: HeaderMap,
) -> Result<Response, ScimErr> {
    let kind = kind::<G>();
    st.store
        .delete_resource(kind, ctx.org_id, &id, &ctx.actor, |rec| {
            check_if_match(&headers, rec)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
