//! `POST /Bulk` (RFC 7644 §3.7). Parsing and ordering are `crate::scim::bulk`'s; here each
//! operation runs through the same write functions as a single request (so the same rules,
//! approval gating and audit apply), in the planned order. Consecutive creations run as one
//! batch of the store ([`Store::create_resources`]): one commit, or a few, for many users.

use super::{
    AppState, ScimCtx, core, delete_resource, patch_resource, prepare_resource, replace_resource,
};
use crate::scim::ScimError;
use crate::scim::bulk::{self, BulkOp, Endpoint, Method};
use crate::server::http::{BodyError, ScimErr, read_json, scim_json};
use crate::store::{Kind, NewResource, Store, WriteOutcome};
use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

fn kind_of(e: Endpoint) -> Kind {
    match e {
        Endpoint::Users => Kind::User,
        Endpoint::Groups => Kind::Group,
    }
}

/// What one operation came to, for its entry in the BulkResponse.
struct Outcome {
    status: u16,
    location: Option<String>,
    version: Option<i64>,
    error: Option<ScimError>,
}

impl Outcome {
    fn failed(error: ScimError, location: Option<String>) -> Outcome {
        Outcome {
            status: error.status,
            location,
            version: None,
            error: Some(error),
        }
    }
}

fn location(ctx: &ScimCtx, kind: Kind, id: &str) -> String {
    format!(
        "{}/{}/{id}",
        ctx.base,
        core::rt(kind).endpoint.trim_start_matches('/')
    )
}

pub async fn bulk<S: Store>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<ScimCtx>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ScimErr> {
    let max_ops = st.cfg.bulk_max_operations;
    let json = read_json(&headers, body).await.map_err(|e| match e {
        BodyError::TooLarge => ScimErr(too_large(max_ops)),
        other => ScimErr(other.to_scim()),
    })?;
    let request = bulk::parse_request(&json, max_ops)?;
    // Each operation counts against the rate limit as a request of its own (the request
    // itself was counted once already); a bulk over what remains is refused before anything
    // runs.
    let verdict = (st.limiter.enabled() && request.ops.len() > 1).then(|| {
        let org = crate::server::limits::RateLimiter::org_key(ctx.org_id);
        st.limiter.take_for(
            &ctx.token_id,
            Some(&org),
            request.ops.len() as u64 - 1,
            st.limiter_now_ms(),
        )
    });
    if let Some(v) = verdict.filter(|v| !v.allowed) {
        let mut resp = ScimErr(ScimError::too_many_requests(format!(
            "this bulk request has {} operations, each counted as a request, and this token \
             may send {} more now; retry after {} s or send fewer operations",
            request.ops.len(),
            v.remaining + 1,
            v.retry_after
        )))
        .into_response();
        v.write_headers(resp.headers_mut());
        return Ok(resp);
    }
    let outcomes = run(&st, &ctx, &request).await;
    let operations: Vec<Value> = outcomes
        .into_iter()
        .enumerate()
        .filter_map(|(i, o)| Some(entry(&request, i, o?)))
        .collect();
    let mut resp = scim_json(
        StatusCode::OK,
        &json!({"schemas": [bulk::BULK_RESPONSE_SCHEMA], "Operations": operations}),
    );
    if let Some(v) = verdict {
        v.write_headers(resp.headers_mut());
    }
    Ok(resp)
}

pub fn too_large(max_ops: usize) -> ScimError {
    ScimError::payload_too_large(format!(
        "the bulk request exceeds maxPayloadSize ({} bytes); maxOperations is {max_ops}",
        crate::server::http::MAX_BODY_BYTES
    ))
}

fn entry(request: &bulk::BulkRequest, i: usize, o: Outcome) -> Value {
    let mut e = Map::new();
    e.insert("method".into(), json!(request.methods[i]));
    if let Some(b) = &request.bulk_ids[i] {
        e.insert("bulkId".into(), json!(b));
    }
    if let Some(l) = o.location {
        e.insert("location".into(), json!(l));
    }
    if let Some(v) = o.version {
        e.insert("version".into(), json!(core::etag(v)));
    }
    e.insert("status".into(), json!(o.status.to_string()));
    if let Some(err) = o.error {
        e.insert("response".into(), err.to_json());
    }
    Value::Object(e)
}

/// Runs the operations in the planned order; `None` for those not run because
/// `failOnErrors` was reached first.
async fn run<S: Store>(
    st: &AppState<S>,
    ctx: &ScimCtx,
    request: &bulk::BulkRequest,
) -> Vec<Option<Outcome>> {
    let n = request.ops.len();
    let mut out: Vec<Option<Outcome>> = (0..n).map(|_| None).collect();
    let mut plan = bulk::plan(&request.ops);
    // Operations refused before anything runs fail in the first round, at their place in
    // the request, so that failOnErrors counts them where the client put them.
    let mut early: HashMap<usize, ScimError> = request
        .ops
        .iter()
        .enumerate()
        .filter_map(|(i, op)| op.as_ref().err().map(|e| (i, e.clone())))
        .chain(plan.refused)
        .collect();
    if plan.rounds.is_empty() {
        plan.rounds.push(Vec::new());
    }
    plan.rounds[0].extend(early.keys().copied());
    plan.rounds[0].sort_unstable();
    let budget = request.fail_on_errors.unwrap_or(u64::MAX);
    let mut errors = 0u64;
    let mut created: HashMap<String, String> = HashMap::new();
    for round in plan.rounds {
        let mut k = 0;
        while k < round.len() {
            if errors >= budget {
                return out;
            }
            // A run of creations goes to the store as one batch, no larger than the errors
            // still allowed, so that failOnErrors stops exactly where it would one by one.
            let mut end = k;
            while end < round.len()
                && ((end - k) as u64) < budget - errors
                && is_post(request, round[end])
                && !early.contains_key(&round[end])
            {
                end += 1;
            }
            if end > k {
                let batch = &round[k..end];
                for (i, o) in create_batch(st, ctx, request, batch, &mut created).await {
                    errors += u64::from(o.error.is_some());
                    out[i] = Some(o);
                }
                k = end;
                continue;
            }
            let i = round[k];
            let o = match (early.remove(&i), request.ops[i].clone()) {
                (Some(e), _) | (None, Err(e)) => Outcome::failed(e, None),
                (None, Ok(op)) => run_one(st, ctx, op, &created).await,
            };
            errors += u64::from(o.error.is_some());
            out[i] = Some(o);
            k += 1;
        }
    }
    out
}

fn is_post(request: &bulk::BulkRequest, i: usize) -> bool {
    matches!(&request.ops[i], Ok(op) if op.method == Method::Post)
}

/// Creates the POSTs at `batch` (indexes into the request) in one store batch, and records
/// the ids created for their bulkIds.
async fn create_batch<S: Store>(
    st: &AppState<S>,
    ctx: &ScimCtx,
    request: &bulk::BulkRequest,
    batch: &[usize],
    created: &mut HashMap<String, String>,
) -> Vec<(usize, Outcome)> {
    let mut results = Vec::with_capacity(batch.len());
    let mut items = Vec::new();
    let mut sent = Vec::new();
    for &i in batch {
        let Ok(op) = &request.ops[i] else { continue };
        let mut op = op.clone();
        let kind = kind_of(op.endpoint);
        let prepared = op
            .resolve(created)
            .and_then(|()| prepare_resource(ctx, kind, op.data.take().unwrap_or_default()))
            .and_then(|(resource, members)| {
                crate::scim::text::check_resource(&resource)?;
                Ok((resource, members))
            });
        match prepared {
            Ok((resource, members)) => {
                items.push(NewResource {
                    kind,
                    resource,
                    members,
                });
                sent.push((i, kind, op.bulk_id));
            }
            Err(e) => results.push((i, Outcome::failed(e, None))),
        }
    }
    let written = st
        .store
        .create_resources(ctx.org_id, items, &ctx.actor)
        .await;
    for ((i, kind, bulk_id), w) in sent.into_iter().zip(written) {
        let o = match w {
            Ok(w) => {
                if let Some(b) = bulk_id {
                    created.insert(b, w.record.id.clone());
                }
                written_outcome(ctx, kind, &w, 201)
            }
            Err(e) => Outcome::failed(ScimErr::from(e).0, None),
        };
        results.push((i, o));
    }
    results
}

fn written_outcome(ctx: &ScimCtx, kind: Kind, w: &WriteOutcome, status: u16) -> Outcome {
    Outcome {
        status,
        location: Some(location(ctx, kind, &w.record.id)),
        version: Some(w.record.version),
        error: None,
    }
}

/// A PUT, PATCH or DELETE, through the single-request write functions.
async fn run_one<S: Store>(
    st: &AppState<S>,
    ctx: &ScimCtx,
    mut op: BulkOp,
    created: &HashMap<String, String>,
) -> Outcome {
    let kind = kind_of(op.endpoint);
    if let Err(e) = op.resolve(created) {
        return Outcome::failed(e, None);
    }
    let id = op.id.clone().unwrap_or_default();
    let loc = location(ctx, kind, &id);
    let if_match = op.version.as_deref();
    let data = op.data.take().unwrap_or_default();
    let result = match op.method {
        Method::Put => match prepare_resource(ctx, kind, data) {
            Ok(prepared) => replace_resource(st, ctx, kind, &id, prepared, if_match)
                .await
                .map(Some),
            Err(e) => Err(ScimErr(e)),
        },
        Method::Patch => patch_resource(st, ctx, kind, &id, &data, if_match)
            .await
            .map(Some),
        Method::Delete => delete_resource(st, ctx, kind, &id, if_match)
            .await
            .map(|()| None),
        Method::Post => Err(ScimErr(ScimError::internal("a POST is created in a batch"))),
    };
    match result {
        Ok(Some(w)) => written_outcome(ctx, kind, &w, 200),
        Ok(None) => Outcome {
            status: 204,
            location: Some(loc),
            version: None,
            error: None,
        },
        Err(ScimErr(e)) => Outcome::failed(e, Some(loc)),
    }
}
