//! Stacks, roles, SCIM groups and their mappings, members, and the approval queue. The store
//! runs the domain's rules; these handlers parse, call it once, and render its types.

use super::super::AppState;
use super::super::http::{AdminErr, admin_json, read_json};
use super::{AdminCtx, list_params, param};
use crate::domain::access::{OrgRole, StackRole};
use crate::domain::approval::{MemberState, RequestState};
use crate::store::access_types::{
    Decision, DecisionOutcome, MappingInput, MemberQuery, MemberSort, SORT_CURSOR_SEP,
};
use crate::store::{CursorPage, Store};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Serialize;
use serde_json::{Value, json};

type Params = Query<Vec<(String, String)>>;

pub fn routes<S: Store>() -> Router<AppState<S>> {
    let p = |suffix: &str| format!("{}/{{org}}{suffix}", super::ADMIN_PREFIX);
    Router::new()
        .route(&p("/roles"), get(list_roles))
        .route(&p("/stacks"), get(list_stacks::<S>).post(create_stack::<S>))
        .route(&p("/stacks/{uid}"), axum::routing::patch(rename_stack::<S>))
        .route(
            &p("/stacks/{uid}/roles"),
            get(list_stack_roles::<S>).post(create_stack_role::<S>),
        )
        .route(
            &p("/stacks/{uid}/roles/{role}"),
            axum::routing::patch(rename_stack_role::<S>),
        )
        .route(&p("/groups"), get(list_groups::<S>))
        .route(
            &p("/group-mappings/{group_id}"),
            get(get_mapping::<S>)
                .put(put_mapping::<S>)
                .delete(delete_mapping::<S>),
        )
        .route(
            &p("/group-mappings/{group_id}/preview"),
            post(preview_mapping::<S>),
        )
        .route(&p("/users"), get(list_users::<S>))
        .route(&p("/users/{id}"), axum::routing::delete(remove_user::<S>))
        .route(&p("/users/{id}/access"), get(user_access::<S>))
        .route(&p("/approvals"), get(list_approvals::<S>))
        .route(&p("/approvals/{id}/approve"), post(approve::<S>))
        .route(&p("/approvals/{id}/reject"), post(reject::<S>))
}

fn ok<T: Serialize>(status: StatusCode, v: &T) -> Response {
    admin_json(status, &json!(v))
}

fn list<T: Serialize>(page: CursorPage<T>) -> Response {
    admin_json(
        StatusCode::OK,
        &json!({"items": page.items, "total": page.total, "next": page.next}),
    )
}

fn whole_list<T: Serialize>(items: Vec<T>) -> Response {
    let total = items.len();
    admin_json(
        StatusCode::OK,
        &json!({"items": items, "total": total, "next": null}),
    )
}

fn name_of(body: &Value) -> Result<String, AdminErr> {
    match body.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        _ => Err(AdminErr::bad_request(
            "name: a non-empty string is required",
        )),
    }
}

async fn list_roles() -> Response {
    let items: Vec<Value> = [OrgRole::Owner, OrgRole::Admin, OrgRole::Member]
        .into_iter()
        .map(|r| json!({"uid": r.as_str(), "name": r.to_string(), "mappable": r.mappable()}))
        .collect();
    whole_list(items)
}

async fn list_stacks<S: Store>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<AdminCtx>,
) -> Result<Response, AdminErr> {
    Ok(whole_list(st.store.list_stacks(ctx.org.id).await?))
}

async fn create_stack<S: Store>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<AdminCtx>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AdminErr> {
    let body = read_json(&headers, body).await?;
    let stack = st
        .store
        .create_stack(ctx.org.id, &name_of(&body)?, &ctx.actor)
        .await?;
    Ok(ok(StatusCode::CREATED, &stack))
}

async fn list_stack_roles<S: Store>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<AdminCtx>,
    Path((_org, uid)): Path<(String, String)>,
) -> Result<Response, AdminErr> {
    Ok(whole_list(st.store.stack_roles(ctx.org.id, &uid).await?))
}

async fn create_stack_role<S: Store>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<AdminCtx>,
    Path((_org, uid)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AdminErr> {
    let body = read_json(&headers, body).await?;
    let role = st
        .store
        .create_stack_role(ctx.org.id, &uid, &name_of(&body)?, &ctx.actor)
        .await?;
    Ok(ok(StatusCode::CREATED, &role))
}

async fn rename_stack<S: Store>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<AdminCtx>,
    Path((_org, uid)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AdminErr> {
    let body = read_json(&headers, body).await?;
    let stack = st
        .store
        .rename_stack(ctx.org.id, &uid, &name_of(&body)?, &ctx.actor)
        .await?;
    Ok(ok(StatusCode::OK, &stack))
}

async fn rename_stack_role<S: Store>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<AdminCtx>,
    Path((_org, uid, role)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AdminErr> {
    let body = read_json(&headers, body).await?;
    let role = st
        .store
        .rename_stack_role(ctx.org.id, &uid, &role, &name_of(&body)?, &ctx.actor)
        .await?;
    Ok(ok(StatusCode::OK, &role))
}

async fn list_groups<S: Store>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<AdminCtx>,
    Query(params): Params,
) -> Result<Response, AdminErr> {
    let (limit, cursor) = list_params(&params)?;
    let page = st
        .store
        .list_groups(ctx.org.id, param(&params, "filter"), limit, cursor)
        .await?;
    Ok(list(page))
}

async fn get_mapping<S: Store>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<AdminCtx>,
    Path((_org, group_id)): Path<(String, String)>,
) -> Result<Response, AdminErr> {
    match st.store.get_mapping(ctx.org.id, &group_id).await? {
        Some(m) => Ok(ok(StatusCode::OK, &m)),
        None => Err(AdminErr::not_found(format!(
            "the group '{group_id}' has no mapping: PUT one to map it"
        ))),
    }
}

/// Parses `{"org_role", "stack_roles": [{"stack_uid", "role_uid"}]}`.
fn mapping_input(body: &Value) -> Result<MappingInput, AdminErr> {
    let role = body
        .get("org_role")
        .and_then(Value::as_str)
        .ok_or_else(|| AdminErr::bad_request("org_role: \"admin\" or \"member\" is required"))?;
    let org_role = OrgRole::parse(role).ok_or_else(|| {
        AdminErr::bad_request(format!(
            "org_role: unknown role '{role}'; use \"admin\" or \"member\""
        ))
    })?;
    if !org_role.mappable() {
        return Err(AdminErr::bad_request(
            "org_role: Owner cannot be mapped from a group; use \"admin\" or \"member\"",
        ));
    }
    let mut stack_roles = Vec::new();
    match body.get("stack_roles") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for item in items {
                let field = |k: &str| item.get(k).and_then(Value::as_str);
                match (field("stack_uid"), field("role_uid")) {
                    (Some(s), Some(r)) => stack_roles.push(StackRole::new(s, r)),
                    _ => {
                        return Err(AdminErr::bad_request(
                            "stack_roles: each item needs \"stack_uid\" and \"role_uid\" strings",
                        ));
                    }
                }
            }
        }
        Some(_) => {
            return Err(AdminErr::bad_request(
                "stack_roles: expected a list of {\"stack_uid\", \"role_uid\"}",
            ));
        }
    }
    Ok(MappingInput {
        org_role,
        stack_roles,
    })
}

async fn put_mapping<S: Store>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<AdminCtx>,
    Path((_org, group_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AdminErr> {
    let body = read_json(&headers, body).await?;
    let input = mapping_input(&body)?;
    let (mapping, impact) = st
        .store
        .set_mapping(ctx.org.id, &group_id, Some(&input), &ctx.actor)
        .await?;
    let mut doc = json!(mapping);
    doc["applied"] = json!({
        "granted_changes": impact.counts.granted_changes,
        "pending_changes": impact.counts.pending_changes,
    });
    Ok(admin_json(StatusCode::OK, &doc))
}

async fn delete_mapping<S: Store>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<AdminCtx>,
    Path((_org, group_id)): Path<(String, String)>,
) -> Result<Response, AdminErr> {
    st.store
        .set_mapping(ctx.org.id, &group_id, None, &ctx.actor)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn preview_mapping<S: Store>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<AdminCtx>,
    Path((_org, group_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AdminErr> {
    let body = read_json(&headers, body).await?;
    let input = if body.get("delete") == Some(&Value::Bool(true)) {
        None
    } else {
        Some(mapping_input(&body)?)
    };
    let impact = st
        .store
        .preview_mapping(ctx.org.id, &group_id, input.as_ref())
        .await?;
    Ok(ok(StatusCode::OK, &impact))
}

async fn list_users<S: Store>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<AdminCtx>,
    Query(params): Params,
) -> Result<Response, AdminErr> {
    let state = match param(&params, "state") {
        None | Some("") => None,
        Some(s) => Some(MemberState::parse(s).ok_or_else(|| {
            AdminErr::bad_request(format!(
                "state: unknown state '{s}'; use pending, active, rejected, deprovisioned or removed"
            ))
        })?),
    };
    let (limit, cursor) = list_params(&params)?;
    let sort = match param(&params, "sort") {
        None | Some("") => MemberSort::Email,
        Some(s) => MemberSort::parse(s).ok_or_else(|| {
            AdminErr::bad_request(format!(
                "sort: unknown column '{s}'; use email, name, state or created"
            ))
        })?,
    };
    let desc = match param(&params, "order") {
        None | Some("") | Some("asc") => false,
        Some("desc") => true,
        Some(o) => {
            return Err(AdminErr::bad_request(format!(
                "order: '{o}' is neither asc nor desc"
            )));
        }
    };
    // A sorted page's cursor is its last row's key and email; anything else was not given
    // out by this list.
    if !sort.by_email_cursor(desc) && cursor.is_some_and(|c| !c.contains(SORT_CURSOR_SEP)) {
        return Err(AdminErr::bad_request(
            "cursor: not a cursor this list returned in this order; start again without one",
        ));
    }
    let q = MemberQuery {
        filter: param(&params, "filter")
            .filter(|f| !f.is_empty())
            .map(str::to_string),
        state,
        limit,
        cursor: cursor.map(str::to_string),
        sort,
        desc,
    };
    Ok(list(st.store.list_members(ctx.org.id, &q).await?))
}

async fn user_access<S: Store>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<AdminCtx>,
    Path((_org, id)): Path<(String, String)>,
) -> Result<Response, AdminErr> {
    match st.store.member_access(ctx.org.id, &id).await? {
        Some(a) => Ok(ok(StatusCode::OK, &a)),
        None => Err(AdminErr::not_found(format!(
            "no member '{id}' in this organization"
        ))),
    }
}

async fn remove_user<S: Store>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<AdminCtx>,
    Path((_org, id)): Path<(String, String)>,
) -> Result<Response, AdminErr> {
    let member = st.store.remove_member(ctx.org.id, &id, &ctx.actor).await?;
    let mut warnings = Vec::new();
    if member.source == crate::store::access_types::MemberSource::Scim {
        warnings.push(json!({
            "code": "idp_managed",
            "message": "This member is provisioned by the identity provider, which may \
                        provision them again: unassign them from the app in the IdP as well.",
        }));
    }
    Ok(admin_json(
        StatusCode::OK,
        &json!({"member": member, "warnings": warnings}),
    ))
}

async fn list_approvals<S: Store>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<AdminCtx>,
    Query(params): Params,
) -> Result<Response, AdminErr> {
    let state = match param(&params, "state") {
        None | Some("") => None,
        Some(s) => Some(RequestState::parse(s).ok_or_else(|| {
            AdminErr::bad_request(format!(
                "state: unknown state '{s}'; use pending, approved, rejected or superseded"
            ))
        })?),
    };
    let (limit, cursor) = list_params(&params)?;
    let page = st
        .store
        .list_approvals(ctx.org.id, state, limit, cursor)
        .await?;
    Ok(list(page))
}

fn version_of(body: &Value) -> Result<u64, AdminErr> {
    body.get("version").and_then(Value::as_u64).ok_or_else(|| {
        AdminErr::bad_request(
            "version: the request's version is required, so that you approve what you saw",
        )
    })
}

async fn decide<S: Store>(
    st: AppState<S>,
    ctx: AdminCtx,
    id: String,
    decision: Decision,
    version: u64,
) -> Result<Response, AdminErr> {
    match st
        .store
        .decide_approval(ctx.org.id, &id, &decision, version, &ctx.actor)
        .await?
    {
        DecisionOutcome::Done { request, member } => Ok(admin_json(
            StatusCode::OK,
            &json!({"request": request, "member": member}),
        )),
        DecisionOutcome::Conflict { request, message } => Ok(admin_json(
            StatusCode::CONFLICT,
            &json!({"status": 409, "error": "conflict", "message": message, "request": request}),
        )),
    }
}

async fn approve<S: Store>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<AdminCtx>,
    Path((_org, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AdminErr> {
    let body = read_json(&headers, body).await?;
    let version = version_of(&body)?;
    decide(st, ctx, id, Decision::Approve, version).await
}

async fn reject<S: Store>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<AdminCtx>,
    Path((_org, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AdminErr> {
    let body = read_json(&headers, body).await?;
    let version = version_of(&body)?;
    let reason = match body.get("reason") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.chars().take(1000).collect()),
        Some(_) => return Err(AdminErr::bad_request("reason: expected a string")),
    };
    decide(st, ctx, id, Decision::Reject { reason }, version).await
}
