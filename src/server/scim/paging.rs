//! Cursor paging (RFC 9865) of a list: GET `/Users` and `/Groups`, their `/.search`, and the
//! root `/.search` when its types follow one another. See `scim::cursor` for what a cursor
//! holds and why.
//!
//! A list is a sequence of parts, one per resource type (one part for `/Users`), each in the
//! store's order; a cursor names the part its row belongs to. A page asks the store for one row
//! more than `count` in the walk's direction: whether that row exists says whether there is a
//! page beyond.

use super::ScimCtx;
use crate::scim::ScimError;
use crate::scim::cursor::{self, Cursor, KeyValue, Position};
use crate::scim::filter::Filter;
use crate::scim::path::AttrPath;
use crate::server::http::ScimErr;
use crate::store::{Kind, ListSpec, ResourceRecord, Seek, Store};

/// One resource type of a list, and what selects and orders its rows.
pub struct Part<'a> {
    pub kind: Kind,
    pub filter: Option<&'a Filter>,
    pub sort_by: Option<&'a AttrPath>,
    pub with_members: bool,
}

impl<'a> Part<'a> {
    fn spec(&self, descending: bool, limit: u64, seek: Option<Seek<'a>>) -> ListSpec<'a> {
        ListSpec {
            filter: self.filter,
            sort_by: self.sort_by,
            descending,
            offset: 0,
            limit,
            with_members: self.with_members && limit > 0,
            seek,
        }
    }
}

/// A page of a cursor walk.
pub struct CursorPage {
    /// In list order, each with the index of its part.
    pub items: Vec<(usize, ResourceRecord)>,
    pub total: u64,
    pub next: Option<String>,
    pub previous: Option<String>,
}

/// What a cursor is bound to: the org, the endpoint's resource types, and what selects and
/// orders the rows.
pub fn binding(
    ctx: &ScimCtx,
    endpoint: &str,
    filter: Option<String>,
    sort_by: Option<&AttrPath>,
    descending: bool,
) -> String {
    cursor::binding(
        ctx.org_id,
        endpoint,
        &[
            ("filter", filter),
            (
                "sortBy",
                sort_by.map(|p| p.to_string().to_ascii_lowercase()),
            ),
            ("sortOrder", descending.then(|| "descending".to_string())),
        ],
    )
}

/// The page that the cursor text `given` asks for (empty: the first page), `count` rows at
/// most; `now` (seconds since the epoch) stamps the cursors it issues and ages `given`.
#[allow(clippy::too_many_arguments)]
pub async fn page<S: Store>(
    store: &S,
    ctx: &ScimCtx,
    (now, timeout_secs): (u64, u64),
    binding: &str,
    parts: &[Part<'_>],
    descending: bool,
    given: &str,
    count: u64,
) -> Result<CursorPage, ScimErr> {
    let cursor = if given.is_empty() {
        None
    } else {
        let c = Cursor::decode(given, &ctx.cursor_key, binding, now, timeout_secs)?;
        if c.part as usize >= parts.len() {
            return Err(ScimErr(ScimError::invalid_cursor(
                "cursor: not a cursor of this query",
            )));
        }
        Some(c)
    };
    let backward = cursor.as_ref().is_some_and(|c| c.backward);
    let start_part = match &cursor {
        Some(c) => c.part as usize,
        None => 0,
    };
    // Parts in the walk's order, from the cursor's.
    let order: Vec<usize> = if backward {
        (0..=start_part).rev().collect()
    } else {
        (start_part..parts.len()).collect()
    };
    let want = count + 1;
    let mut rows: Vec<(usize, ResourceRecord, KeyValue)> = Vec::new();
    let mut totals = vec![None; parts.len()];
    for &i in &order {
        if count == 0 || rows.len() as u64 >= want {
            break;
        }
        let part = &parts[i];
        let at = match &cursor {
            Some(c) if i == start_part => c.at.as_ref(),
            _ => None,
        };
        let seek = Some(Seek { at, backward });
        let got = store
            .list_resources(
                part.kind,
                ctx.org_id,
                part.spec(descending, want - rows.len() as u64, seek),
            )
            .await?;
        totals[i] = Some(got.total);
        rows.extend(
            got.items
                .into_iter()
                .zip(got.keys)
                .map(|(rec, key)| (i, rec, key)),
        );
    }
    let mut total = 0;
    for (i, part) in parts.iter().enumerate() {
        total += match totals[i] {
            Some(t) => t,
            None => {
                let spec = part.spec(descending, 0, None);
                store
                    .list_resources(part.kind, ctx.org_id, spec)
                    .await?
                    .total
            }
        };
    }
    let more = rows.len() as u64 > count;
    rows.truncate(count as usize);
    if backward {
        rows.reverse();
    }
    let issue = |backward: bool, part: usize, at: Option<Position>| {
        Cursor {
            backward,
            part: part as u32,
            at,
            issued_at: now,
        }
        .encode(&ctx.cursor_key, binding)
    };
    let position = |row: &(usize, ResourceRecord, KeyValue)| Position {
        key: row.2.clone(),
        id: row.1.id.clone(),
    };
    // A cursor without a row walks from an end of the list: forward from its start (as an
    // empty cursor does), backward from its end.
    let from_an_end = cursor.as_ref().is_none_or(|c| c.at.is_none());
    let (next, previous) = match (rows.first(), rows.last()) {
        // count=0 asks for totalResults alone: no page, so nothing to walk from.
        _ if count == 0 => (None, None),
        (Some(first), Some(last)) => {
            let beyond_last = if backward { !from_an_end } else { more };
            let before_first = if backward { more } else { !from_an_end };
            let next = beyond_last.then(|| issue(false, last.0, Some(position(last))));
            let previous = before_first.then(|| issue(true, first.0, Some(position(first))));
            (next, previous)
        }
        // Nothing past the cursor (rows went away meanwhile): the way back is the end of the
        // list, or, walking back, the way on is its start.
        _ => match &cursor {
            None => (None, None),
            Some(_) if backward => (Some(issue(false, 0, None)), None),
            Some(_) => (None, Some(issue(true, parts.len() - 1, None))),
        },
    };
    Ok(CursorPage {
        items: rows.into_iter().map(|(i, rec, _)| (i, rec)).collect(),
        total,
        next,
        previous,
    })
}
