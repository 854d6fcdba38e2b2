//! POST `/.search` (RFC 7644 §3.4.3): the query of a GET list, sent as a SearchRequest body,
//! under `/Users` and `/Groups`, and at the root across both types.
//!
//! At the root the types form one sequence with one `totalResults`, paged as a whole. Without
//! `sortBy` (or with a `sortBy` that only one type has) the types follow one another, each in
//! its own order, so the store's totals tell which slice of each type a page holds and a page
//! reads only its own resources. With a `sortBy` both types have, they interleave by it: the
//! page is the merge of each type's first `startIndex + count - 1` resources, so that window is
//! bounded ([`MAX_INTERLEAVED_WINDOW`]).

use super::{ScimCtx, core, paging, provisioning};
use crate::scim::ScimError;
use crate::scim::cursor;
use crate::scim::list::{self, RootSearch, SortOrder, TypeSearch};
use crate::server::AppState;
use crate::server::http::{ScimErr, read_json, scim_json};
use crate::store::{Kind, ListSpec, ResourceRecord, Store};
use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value;

/// The deepest position a root search sorted across types may reach (`startIndex + count -
/// 1`): each type's resources up to it are read to merge them. Deeper is 400 `tooMany`.
pub const MAX_INTERLEAVED_WINDOW: u64 = 10_000;

/// The body of a POST `/.search`.
async fn search_body(headers: &HeaderMap, body: Body) -> Result<Value, ScimErr> {
    read_json(headers, body)
        .await
        .map_err(|e| ScimErr(e.to_scim()))
}

/// POST `/Users/.search`, `/Groups/.search`: exactly what the GET list with the same
/// parameters answers.
pub async fn search_type<S: Store, const G: bool>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<ScimCtx>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ScimErr> {
    let kind = super::kind::<G>();
    let params = list::search_params(&search_body(&headers, body).await?)?;
    let q = core::parse_list(kind, &params, st.cfg.max_results, st.cfg.default_count)?;
    super::list_page(&st, &ctx, kind, &q, &params).await
}

/// POST `/.search` at the root: Users and Groups in one result.
pub async fn search_root<S: Store>(
    State(st): State<AppState<S>>,
    Extension(ctx): Extension<ScimCtx>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ScimErr> {
    let json = search_body(&headers, body).await?;
    let types = [Kind::User, Kind::Group].map(|k| (k, core::rt(k)));
    let search = list::parse_root_search(&json, &types, st.cfg.max_results, st.cfg.default_count)?;
    let costly = search
        .types
        .iter()
        .any(|t| t.filter.as_ref().is_some_and(|f| !list::is_lookup(f)));
    let _place = match costly {
        true => Some(st.org_reads.enter(ctx.org_id).await),
        false => None,
    };
    if let Some(given) = &search.paging.cursor {
        return root_cursor_page(&st, &ctx, &search, given).await;
    }
    let (page, total) = root_page(&st.store, &ctx, &search).await?;
    let resources = rendered(&st.store, &ctx, &search, &page).await?;
    Ok(scim_json(
        StatusCode::OK,
        &core::list_response(resources, total, search.paging.start_index),
    ))
}

/// A root search paged by cursor: the types follow one another, so the walk goes through each
/// type's rows in turn. Types interleaved by a common sortBy are refused with cursors: their
/// merge is made in memory over a bounded window, which a keyset cursor cannot seek into.
async fn root_cursor_page<S: Store>(
    st: &AppState<S>,
    ctx: &ScimCtx,
    search: &RootSearch<Kind>,
    given: &str,
) -> Result<Response, ScimErr> {
    let descending = search.paging.sort_order == SortOrder::Descending;
    if search.interleave {
        return Err(ScimErr(ScimError::invalid_value(
            "cursor: a search across resource types sorted by an attribute that several of \
             them have pages by startIndex only; leave out sortBy, or page /Users/.search \
             and /Groups/.search with cursors",
        )));
    }
    let members = core::wants_members(&search.paging.projection);
    let parts: Vec<paging::Part> = search
        .types
        .iter()
        .map(|t| paging::Part {
            kind: t.tag,
            filter: t.filter.as_ref(),
            sort_by: t.sort_by.as_ref(),
            with_members: t.tag == Kind::Group && members,
        })
        .collect();
    let filter = list::param(&search.params, "filter").map(|f| f.trim().to_string());
    let sort_by = search.types.iter().find_map(|t| t.sort_by.as_ref());
    let types: Vec<&str> = search.types.iter().map(|t| core::rt(t.tag).name).collect();
    let binding = paging::binding(ctx, &types.join(","), filter, sort_by, descending);
    if parts.is_empty() {
        return Ok(scim_json(
            StatusCode::OK,
            &cursor::list_response(Vec::new(), 0, None, None),
        ));
    }
    let page = paging::page(
        &st.store,
        ctx,
        (st.cursor_now_secs(), st.cfg.cursor_timeout_secs),
        &binding,
        &parts,
        descending,
        given,
        search.paging.count,
    )
    .await?;
    let items: Vec<(Kind, ResourceRecord)> = page
        .items
        .into_iter()
        .map(|(i, rec)| (parts[i].kind, rec))
        .collect();
    let resources = rendered(&st.store, ctx, search, &items).await?;
    Ok(scim_json(
        StatusCode::OK,
        &cursor::list_response(resources, page.total, page.next, page.previous),
    ))
}

/// The documents of a mixed page, each projected by its own schema, with the provisioning
/// extension for its users when asked for.
async fn rendered<S: Store>(
    store: &S,
    ctx: &ScimCtx,
    search: &RootSearch<Kind>,
    page: &[(Kind, ResourceRecord)],
) -> Result<Vec<Value>, ScimErr> {
    let proj = &search.paging.projection;
    let mut resources: Vec<Value> = page
        .iter()
        .map(|(kind, rec)| proj.apply(core::rt(*kind), &core::render(*kind, rec, &ctx.base)))
        .collect();
    let users: Vec<usize> = (0..page.len())
        .filter(|&i| page[i].0 == Kind::User)
        .collect();
    let mut docs: Vec<Value> = users.iter().map(|&i| resources[i].take()).collect();
    let attached =
        provisioning::attach(store, ctx.org_id, Kind::User, &search.params, &mut docs).await;
    for (&i, doc) in users.iter().zip(docs) {
        resources[i] = doc;
    }
    attached?;
    Ok(resources)
}

/// The resources of the page, in order, and the total across types.
async fn root_page<S: Store>(
    store: &S,
    ctx: &ScimCtx,
    search: &RootSearch<Kind>,
) -> Result<(Vec<(Kind, ResourceRecord)>, u64), ScimErr> {
    let offset = search.paging.start_index - 1;
    let count = search.paging.count;
    let descending = search.paging.sort_order == SortOrder::Descending;
    let members = core::wants_members(&search.paging.projection);
    let mut page = Vec::new();
    // Results of the types before the current one.
    let mut before = 0;
    let mut rest = search.types.as_slice();
    if search.interleave {
        let sorted = rest.iter().take_while(|t| t.sort_by.is_some()).count();
        let (merged, after) = rest.split_at(sorted);
        rest = after;
        let (items, total) = interleaved(store, ctx, merged, search, members).await?;
        page = items;
        before = total;
    }
    for t in rest {
        // Earlier types filled the page from `offset` up to `before`, or none of it.
        let spec = ListSpec {
            filter: t.filter.as_ref(),
            sort_by: t.sort_by.as_ref(),
            descending,
            offset: offset.saturating_sub(before),
            limit: count - page.len() as u64,
            with_members: t.tag == Kind::Group && members,
            seek: None,
        };
        let got = store.list_resources(t.tag, ctx.org_id, spec).await?;
        page.extend(got.items.into_iter().map(|r| (t.tag, r)));
        before += got.total;
    }
    Ok((page, before))
}

/// The page of types interleaved by their common `sortBy`, and their total.
async fn interleaved<S: Store>(
    store: &S,
    ctx: &ScimCtx,
    types: &[TypeSearch<Kind>],
    search: &RootSearch<Kind>,
    members: bool,
) -> Result<(Vec<(Kind, ResourceRecord)>, u64), ScimErr> {
    let offset = search.paging.start_index - 1;
    let count = search.paging.count;
    let window = if count == 0 { 0 } else { offset + count };
    let sort_by = types[0].sort_by.as_ref().expect("interleaved types sort");
    if window > MAX_INTERLEAVED_WINDOW {
        return Err(ScimErr(ScimError::too_many(format!(
            "a search across resource types sorted by {sort_by} reaches at most result \
             {MAX_INTERLEAVED_WINDOW}; narrow the filter, or page /Users/.search and \
             /Groups/.search separately"
        ))));
    }
    let mut runs = Vec::with_capacity(types.len());
    let mut total = 0;
    for t in types {
        let spec = ListSpec {
            filter: t.filter.as_ref(),
            sort_by: t.sort_by.as_ref(),
            descending: search.paging.sort_order == SortOrder::Descending,
            offset: 0,
            limit: window,
            with_members: false,
            seek: None,
        };
        let got = store.list_resources(t.tag, ctx.org_id, spec).await?;
        total += got.total;
        let rendered: Vec<Value> = got
            .items
            .iter()
            .map(|r| core::render(t.tag, r, &ctx.base))
            .collect();
        runs.push((t.tag, got.items, rendered));
    }
    // Each run is in the store's order; merging takes the least head, the earlier type on a
    // tie, so the sequence is the same on every page whatever the keys.
    let mut heads = vec![0; runs.len()];
    let mut page = Vec::new();
    for position in 0..window {
        let mut best: Option<usize> = None;
        for (i, (kind, _, rendered)) in runs.iter().enumerate() {
            let Some(doc) = rendered.get(heads[i]) else {
                continue;
            };
            let better = match best {
                None => true,
                Some(b) => {
                    let (bk, _, br) = &runs[b];
                    list::merge_order(
                        (core::rt(*kind), doc),
                        (core::rt(*bk), &br[heads[b]]),
                        sort_by,
                        search.paging.sort_order,
                    )
                    .is_lt()
                }
            };
            if better {
                best = Some(i);
            }
        }
        let Some(b) = best else { break };
        if position >= offset {
            page.push((runs[b].0, runs[b].1[heads[b]].clone()));
        }
        heads[b] += 1;
    }
    if members {
        for (kind, rec) in page.iter_mut().filter(|(k, _)| *k == Kind::Group) {
            if let Some(full) = store.get_resource(*kind, ctx.org_id, &rec.id, true).await? {
                rec.members = full.members;
            }
        }
    }
    Ok((page, total))
}
