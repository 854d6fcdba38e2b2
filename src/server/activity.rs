//! IdP activity per SCIM token (issue 15 item 2): what an admin debugging "why did the IdP's
//! push fail" needs. Per token, the last request time, the 2xx/4xx/5xx counts of the last hour
//! (minute buckets) and the last [`MAX_REFUSALS`] refused requests (status, `scimType`,
//! detail, method and path without its query string; never a body, a header or the token).
//!
//! Kept in memory, per process: bounded by [`MAX_REFUSALS`] refusals and 60 minute buckets per
//! token that made a request since the process started. With several `serve` replicas each
//! answers with what it served itself; a restart forgets it.

use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Refusals kept per token, oldest dropped first.
pub const MAX_REFUSALS: usize = 50;
/// Characters of a refusal's detail kept (a 1 MB filter echoed in a detail is cut here).
pub const MAX_DETAIL_CHARS: usize = 300;
/// Characters of a refused request's path kept.
pub const MAX_PATH_CHARS: usize = 200;
/// Tokens of one org whose activity is kept: Admins mint tokens freely, so the least recently
/// active token's record goes when a further one arrives. With the caps above, what an org can
/// make the server keep is bounded (about 64 × 50 × 0.5 KB = 1.6 MB at most).
pub const MAX_TOKENS_PER_ORG: usize = 64;
/// Minutes the counts cover.
pub const WINDOW_MINUTES: u64 = 60;

#[derive(Debug, Clone)]
struct Refusal {
    at: String,
    status: u16,
    scim_type: Option<String>,
    detail: String,
    method: String,
    path: String,
}

#[derive(Debug, Default)]
struct TokenActivity {
    org_id: i64,
    last_request_at: Option<String>,
    refusals: VecDeque<Refusal>,
    /// (minute since the epoch, [2xx, 4xx, 5xx]), oldest first.
    minutes: VecDeque<(u64, [u64; 3])>,
}

/// `text` cut to `max` characters, ending in `…` when cut.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// Makes room for one more token of `org_id`: at [`MAX_TOKENS_PER_ORG`] the org's least
/// recently active token's record is dropped.
fn forget_least_recent(tokens: &mut HashMap<String, TokenActivity>, org_id: i64) {
    let mine = tokens.values().filter(|t| t.org_id == org_id).count();
    if mine < MAX_TOKENS_PER_ORG {
        return;
    }
    let oldest = tokens
        .iter()
        .filter(|(_, t)| t.org_id == org_id)
        .min_by(|a, b| a.1.last_request_at.cmp(&b.1.last_request_at))
        .map(|(id, _)| id.clone());
    if let Some(id) = oldest {
        tokens.remove(&id);
    }
}

/// One refused request, as recorded.
pub struct Refused<'a> {
    pub status: u16,
    pub scim_type: Option<&'a str>,
    pub detail: &'a str,
    pub method: &'a str,
    /// The request path; a query string is dropped here.
    pub path: &'a str,
}

#[derive(Debug, Default)]
pub struct Activity {
    tokens: Mutex<HashMap<String, TokenActivity>>,
}

impl Activity {
    /// Counts one answered request of `token_id` (org `org_id`) at `now_ms`, and keeps it
    /// among the refusals when `refused` says so.
    pub fn record(
        &self,
        org_id: i64,
        token_id: &str,
        now_ms: u64,
        status: u16,
        refused: Option<Refused<'_>>,
    ) {
        let now = crate::scim::datetime::now_rfc3339();
        let minute = now_ms / 60_000;
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        if !tokens.contains_key(token_id) {
            forget_least_recent(&mut tokens, org_id);
        }
        let t = tokens.entry(token_id.to_string()).or_default();
        t.org_id = org_id;
        t.last_request_at = Some(now.clone());
        while t
            .minutes
            .front()
            .is_some_and(|(m, _)| m + WINDOW_MINUTES <= minute)
        {
            t.minutes.pop_front();
        }
        if t.minutes.back().is_none_or(|(m, _)| *m != minute) {
            t.minutes.push_back((minute, [0; 3]));
        }
        let class = match status {
            200..=399 => Some(0),
            400..=499 => Some(1),
            500.. => Some(2),
            _ => None,
        };
        if let (Some(c), Some((_, counts))) = (class, t.minutes.back_mut()) {
            counts[c] += 1;
        }
        if let Some(r) = refused {
            if t.refusals.len() == MAX_REFUSALS {
                t.refusals.pop_front();
            }
            t.refusals.push_back(Refusal {
                at: now,
                status: r.status,
                scim_type: r.scim_type.map(str::to_string),
                detail: cut(r.detail, MAX_DETAIL_CHARS),
                method: cut(r.method, 16),
                path: cut(r.path.split('?').next().unwrap_or(""), MAX_PATH_CHARS),
            });
        }
    }

    /// The activity of `org_id`'s tokens at `now_ms`: `{token_id: {...}}`, refusals newest
    /// first. Only tokens of that org.
    pub fn of_org(&self, org_id: i64, now_ms: u64) -> Value {
        let minute = now_ms / 60_000;
        let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = serde_json::Map::new();
        for (id, t) in tokens.iter().filter(|(_, t)| t.org_id == org_id) {
            let mut sum = [0u64; 3];
            for (m, c) in &t.minutes {
                if m + WINDOW_MINUTES > minute {
                    for i in 0..3 {
                        sum[i] += c[i];
                    }
                }
            }
            let refusals: Vec<Value> = t
                .refusals
                .iter()
                .rev()
                .map(|r| {
                    json!({
                        "at": r.at, "status": r.status, "scimType": r.scim_type,
                        "detail": r.detail, "method": r.method, "path": r.path,
                    })
                })
                .collect();
            out.insert(
                id.clone(),
                json!({
                    "last_request_at": t.last_request_at,
                    "last_hour": {"2xx": sum[0], "4xx": sum[1], "5xx": sum[2]},
                    "refusals": refusals,
                }),
            );
        }
        Value::Object(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_an_org_can_make_the_server_keep_is_bounded() {
        let a = Activity::default();
        let huge = "x".repeat(1 << 20);
        let path = format!("/scim/v2.0/organizations/o/Users/{huge}?filter={huge}");
        for token in 0..200 {
            for _ in 0..MAX_REFUSALS + 5 {
                let refused = Refused {
                    status: 400,
                    scim_type: Some("invalidFilter"),
                    detail: &huge,
                    method: "GET",
                    path: &path,
                };
                a.record(1, &format!("t{token}"), 1_000, 400, Some(refused));
            }
        }
        // Another org's token is not crowded out by this one's.
        a.record(2, "other", 1_000, 200, None);
        let doc = a.of_org(1, 1_000);
        let map = doc.as_object().unwrap();
        assert_eq!(map.len(), MAX_TOKENS_PER_ORG);
        let text = doc.to_string();
        assert!(text.len() < 2_000_000, "{} bytes", text.len());
        let refusal = &map.values().next().unwrap()["refusals"][0];
        let detail = refusal["detail"].as_str().unwrap();
        assert_eq!(detail.chars().count(), MAX_DETAIL_CHARS + 1);
        assert!(detail.ends_with('…'));
        assert!(refusal["path"].as_str().unwrap().chars().count() <= MAX_PATH_CHARS + 1);
        assert_eq!(a.of_org(2, 1_000).as_object().unwrap().len(), 1);
    }

    #[test]
    fn the_newest_token_is_kept_and_the_least_recent_goes() {
        let a = Activity::default();
        for token in 0..MAX_TOKENS_PER_ORG {
            a.record(1, &format!("t{token}"), 1_000, 200, None);
        }
        a.record(1, "fresh", 1_000, 200, None);
        let doc = a.of_org(1, 1_000);
        assert!(doc.get("fresh").is_some());
        assert_eq!(doc.as_object().unwrap().len(), MAX_TOKENS_PER_ORG);
    }
}
