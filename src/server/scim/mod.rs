//! The SCIM 2.0 API under `/scim/v2.0/organizations/{org_uid}/`: authentication, discovery,
//! Users and Groups. A request goes parse → validate → rule → store; errors become SCIM
//! errors in one place ([`ScimErr`]).

mod bulk;
pub mod core;
mod paging;
mod provisioning;
mod search;

use super::AppState;
use super::http::{ScimErr, bearer, origin, read_json, scim_json};
use crate::scim::ScimError;
use crate::scim::cursor::{self, CursorKey};
use crate::scim::list::{ListQuery, SortOrder};
use crate::scim::projection::Projection;
use crate::server::activity::Refused;
use crate::store::{Change, Kind, ListSpec, ResourceRecord, Store, WriteOutcome};
use axum::body::Body;
use axum::extract::{FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde_json::Value;

pub use crate::scim::SCIM_PREFIX;

/// Who is calling and where: set by the authentication layer for every SCIM handler.
#[derive(Debug, Clone)]
pub struct ScimCtx {
    pub org_id: i64,
    /// The token's label, recorded as the actor of writes.
    pub actor: String,
    /// The token's id, which the rate limit counts by.
    pub token_id: String,
    /// `http://host/scim/v2.0/organizations/{uid}`.
    pub base: String,
    /// The org's userName-is-email rule (see `ScimSettings`).
    pub user_name_is_email: bool,
    /// Signs and checks the list cursors of this token.
    pub cursor_key: CursorKey,
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
        .route(&p("/Bulk"), post(bulk::bulk::<S>))
        .route_layer(middleware::from_fn_with_state(state, authenticate::<S>))
}

/// Bearer authentication. 401 (no or bad token, or a token of another org) comes before 403
/// (SCIM disabled), and an unknown org looks like a bad token, so probing reveals nothing.
async fn authenticate<S: Store>(
    State(st): State<AppState<S>>,
    req: Request,
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
    let cursor_key = CursorKey::for_token(token);
    let principal = match st.store.authenticate_scim(token).await {
        Ok(Some(p)) => p,
        Ok(None) => return unauthorized(),
        Err(e) => return ScimErr::from(e).into_response(),
    };
    if principal.org.uid != uid {
        return unauthorized();
    }
    let (org_id, token_id) = (principal.org.id, principal.token_id.clone());
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let resp = answer(&st, principal, uid, cursor_key, req, next).await;
    // Recorded for the admin's IdP activity view: status, scimType, detail, method and path
    // (no query string); never a body, a header or the token.
    let status = resp.status().as_u16();
    let err = resp.extensions().get::<ScimError>();
    let refused = err.filter(|_| status >= 400).map(|e| Refused {
        status,
        scim_type: e.scim_type.map(|t| t.as_str()),
        detail: &e.detail,
        method: &method,
        path: &path,
    });
    st.activity
        .record(org_id, &token_id, st.limiter_now_ms(), status, refused);
    resp
}

/// An authenticated token's request: the rate limit, the SCIM switch, then the handler.
async fn answer<S: Store>(
    st: &AppState<S>,
    principal: crate::store::ScimPrincipal,
    uid: String,
    cursor_key: CursorKey,
    mut req: Request,
    next: Next,
) -> Response {
    let verdict = rate_limit(st, principal.org.id, &principal.token_id);
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
    let base = format!("{}{SCIM_PREFIX}/{uid}", origin(&st.cfg, req.extensions()));
    let acting = crate::store::acting::Acting {
        kind: crate::store::acting::TokenKind::Scim,
        id: principal.token_id.clone(),
    };
    req.extensions_mut().insert(ScimCtx {
        org_id: org.id,
        actor: principal.label,
        token_id: principal.token_id,
        base,
        user_name_is_email: org.scim.user_name_is_email,
        cursor_key,
    });
    let mut resp = crate::store::acting::ACTING
        .scope(acting, next.run(req))
        .await;
    // A Bulk request counts its operations and writes the headers of that count.
    if let Some(v) = verdict.filter(|_| !resp.headers().contains_key("x-ratelimit-limit")) {
        v.write_headers(resp.headers_mut());
    }
    resp
}

/// Counts a request against its token's limit and its org's (the org's tokens share one
/// allowance); `None` when the limit is off.
pub(crate) fn rate_limit<S>(
    st: &AppState<S>,
    org_id: i64,
    token_id: &str,
) -> Option<crate::server::limits::Verdict> {
    st.limiter.enabled().then(|| {
        let org = crate::server::limits::RateLimiter::org_key(org_id);
        st.limiter
            .take_for(token_id, Some(&org), 1, st.limiter_now_ms())
    })
}

async fn sp_config<S: Store>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<ScimCtx>,
) -> Response {
    scim_json(StatusCode::OK, &served_sp_config(&st.cfg, &ctx.base))
}

/// The ServiceProviderConfig this server serves under `base`, from its limits: the SCIM route
/// and the admin API's discovery route (for the console, which holds no SCIM token) alike.
pub(crate) fn served_sp_config(cfg: &crate::server::ServerConfig, base: &str) -> Value {
    let mut doc = core::service_provider_config(base, cfg.max_results, cfg.bulk_max_operations);
    doc["pagination"] = cursor::pagination_config(
        cfg.default_count.min(cfg.max_results),
        cfg.max_results,
        cfg.cursor_timeout_secs,
    );
    doc
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

fn if_match(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok())
}

fn check_if_match(if_match: Option<&str>, rec: &ResourceRecord) -> Result<(), ScimError> {
    match if_match {
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
    provisioning::attach(
        &st.store,
        ctx.org_id,
        kind,
        &params,
        std::slice::from_mut(&mut body),
    )
    .await?;
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

/// The ListResponse of a list query on one resource type (a GET list or a POST `.search`),
/// paged by index or, when the query has a `cursor`, by cursor.
async fn list_page<S: Store>(
    st: &AppState<S>,
    ctx: &ScimCtx,
    kind: Kind,
    q: &ListQuery,
    params: &[(String, String)],
) -> Result<Response, ScimErr> {
    // Costly filters take one of the org's places; lookups and plain pages do not.
    let _place = match &q.filter {
        Some(f) if !crate::scim::list::is_lookup(f) => Some(st.org_reads.enter(ctx.org_id).await),
        _ => None,
    };
    let proj = &q.projection;
    let descending = q.sort_order == SortOrder::Descending;
    let with_members = kind == Kind::Group && core::wants_members(proj);
    let render =
        |rec: &ResourceRecord| proj.apply(core::rt(kind), &core::render(kind, rec, &ctx.base));
    if let Some(given) = &q.cursor {
        let binding = paging::binding(
            ctx,
            core::rt(kind).name,
            q.filter.as_ref().map(ToString::to_string),
            q.sort_by.as_ref(),
            descending,
        );
        let part = paging::Part {
            kind,
            filter: q.filter.as_ref(),
            sort_by: q.sort_by.as_ref(),
            with_members,
        };
        let page = paging::page(
            &st.store,
            ctx,
            (st.cursor_now_secs(), st.cfg.cursor_timeout_secs),
            &binding,
            std::slice::from_ref(&part),
            descending,
            given,
            q.count,
        )
        .await?;
        let mut resources: Vec<Value> = page.items.iter().map(|(_, rec)| render(rec)).collect();
        provisioning::attach(&st.store, ctx.org_id, kind, params, &mut resources).await?;
        return Ok(scim_json(
            StatusCode::OK,
            &cursor::list_response(resources, page.total, page.next, page.previous),
        ));
    }
    let page = st
        .store
        .list_resources(
            kind,
            ctx.org_id,
            ListSpec {
                filter: q.filter.as_ref(),
                sort_by: q.sort_by.as_ref(),
                descending,
                offset: q.start_index - 1,
                limit: q.count,
                with_members,
                seek: None,
            },
        )
        .await?;
    let mut resources = page.items.iter().map(render).collect::<Vec<_>>();
    provisioning::attach(&st.store, ctx.org_id, kind, params, &mut resources).await?;
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
    Ok(prepare_resource(ctx, kind, json)?)
}

/// A POST/PUT resource, canonical and checked by the product rules, and a group's members.
fn prepare_resource(
    ctx: &ScimCtx,
    kind: Kind,
    json: Value,
) -> Result<(Value, Vec<String>), ScimError> {
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
    crate::scim::text::check_resource(&resource)?;
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
    let prepared = resource_body(&ctx, kind, &headers, body).await?;
    let out = replace_resource(&st, &ctx, kind, &id, prepared, if_match(&headers)).await?;
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
    let out = patch_resource(&st, &ctx, kind, &id, &json, if_match(&headers)).await?;
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
    delete_resource(&st, &ctx, kind::<G>(), &id, if_match(&headers)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// The writes below are what a single request and a Bulk operation both run once their body
// is read: one code path for the rules, the approval gating (in the store) and the audit.

/// PUT: replaces a resource with a prepared body ([`prepare_resource`]).
async fn replace_resource<S: Store>(
    st: &AppState<S>,
    ctx: &ScimCtx,
    kind: Kind,
    id: &str,
    (resource, members): (Value, Vec<String>),
    if_match: Option<&str>,
) -> Result<WriteOutcome, ScimErr> {
    Ok(st
        .store
        .update_resource(kind, ctx.org_id, id, false, &ctx.actor, |rec| {
            check_if_match(if_match, rec)?;
            crate::scim::text::check_changes(&resource, &rec.resource)?;
            Ok(Change {
                resource: Some(resource),
                members: match kind {
                    Kind::Group => vec![core::member_op_from_ids(members)],
                    Kind::User => Vec::new(),
                },
            })
        })
        .await?)
}

/// PATCH: applies a PatchOp body inside the store's transaction.
async fn patch_resource<S: Store>(
    st: &AppState<S>,
    ctx: &ScimCtx,
    kind: Kind,
    id: &str,
    json: &Value,
    if_match: Option<&str>,
) -> Result<WriteOutcome, ScimErr> {
    let request = core::PatchRequest::parse(kind, json)?;
    let load = request.needs_members(kind);
    Ok(st
        .store
        .update_resource(kind, ctx.org_id, id, load, &ctx.actor, |rec| {
            check_if_match(if_match, rec)?;
            let (resource, members) = request.apply(kind, rec)?;
            crate::scim::text::check_changes(&resource, &rec.resource)?;
            match kind {
                Kind::User => core::check_user(&resource, ctx.user_name_is_email)?,
                Kind::Group => core::check_group(&resource)?,
            }
            Ok(Change {
                resource: Some(resource),
                members,
            })
        })
        .await?)
}

async fn delete_resource<S: Store>(
    st: &AppState<S>,
    ctx: &ScimCtx,
    kind: Kind,
    id: &str,
    if_match: Option<&str>,
) -> Result<(), ScimErr> {
    Ok(st
        .store
        .delete_resource(kind, ctx.org_id, id, &ctx.actor, |rec| {
            check_if_match(if_match, rec)
        })
        .await?)
}
