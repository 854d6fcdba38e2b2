//! The per-token rate limit: a fixed window of one minute per token, as Okta's and GitHub's
//! APIs count, so that the `X-RateLimit-*` headers mean what IdP clients expect. A client over
//! the limit gets 429 with `Retry-After` until the window turns.

use axum::http::{HeaderMap, HeaderValue};
use std::collections::HashMap;
use std::sync::Mutex;

pub const WINDOW_SECS: u64 = 60;
/// Past this many tracked tokens, windows that have ended are dropped: memory stays bounded
/// by the tokens active in the current minute.
const PRUNE_AT: usize = 4096;

/// What the limiter says about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    /// Requests allowed per window.
    pub limit: u32,
    pub remaining: u32,
    /// When the window turns, in seconds since the Unix epoch.
    pub reset: u64,
    /// Seconds until then (at least 1).
    pub retry_after: u64,
}

impl Verdict {
    /// What a refusal says, for a token of `what` ("SCIM", "admin").
    pub fn refusal(&self, what: &str) -> String {
        format!(
            "this {what} token sent more than {} requests this minute; retry after {} s",
            self.limit, self.retry_after
        )
    }

    /// `X-RateLimit-Limit`, `-Remaining`, `-Reset`, and `Retry-After` when refused.
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        let mut put = |name: &'static str, v: u64| {
            headers.insert(name, HeaderValue::from(v));
        };
        put("x-ratelimit-limit", self.limit.into());
        put("x-ratelimit-remaining", self.remaining.into());
        put("x-ratelimit-reset", self.reset);
        if !self.allowed {
            put("retry-after", self.retry_after);
        }
    }
}

#[derive(Debug)]
pub struct RateLimiter {
    per_window: u32,
    /// token id → (window number, requests counted in it)
    windows: Mutex<HashMap<String, (u64, u32)>>,
}

impl RateLimiter {
    /// `per_minute` requests per token and minute; 0 turns the limit off.
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter {
            per_window: per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    pub fn enabled(&self) -> bool {
        self.per_window > 0
    }

    /// Counts one request of `key` at `now` (seconds since the epoch). Refused requests count
    /// too, so a client hammering through a 429 does not get a fresh allowance sooner.
    pub fn check(&self, key: &str, now: u64) -> Verdict {
        let window = now / WINDOW_SECS;
        let reset = (window + 1) * WINDOW_SECS;
        let mut map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= PRUNE_AT && !map.contains_key(key) {
            map.retain(|_, (w, _)| *w == window);
        }
        let entry = map.entry(key.to_string()).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        let used = entry.1;
        Verdict {
            allowed: used <= self.per_window,
            limit: self.per_window,
            remaining: self.per_window.saturating_sub(used),
            reset,
            retry_after: (reset - now).max(1),
        }
    }

    /// The number of tokens tracked (for tests of the pruning).
    pub fn tracked(&self) -> usize {
        self.windows.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

pub fn now_epoch_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_limit_then_refuses_until_the_window_turns() {
        let l = RateLimiter::new(3);
        let t = 1_000 * WINDOW_SECS + 10;
        let v: Vec<Verdict> = (0..4).map(|_| l.check("tok", t)).collect();
        assert_eq!(
            v.iter().map(|v| v.allowed).collect::<Vec<_>>(),
            [true, true, true, false]
        );
        assert_eq!(
            v.iter().map(|v| v.remaining).collect::<Vec<_>>(),
            [2, 1, 0, 0]
        );
        assert_eq!(v[3].reset, 1_001 * WINDOW_SECS);
        assert_eq!(v[3].retry_after, WINDOW_SECS - 10);
        // The next window starts afresh.
        let next = l.check("tok", 1_001 * WINDOW_SECS);
        assert!(next.allowed);
        assert_eq!(next.remaining, 2);
    }

    #[test]
    fn tokens_are_counted_apart() {
        let l = RateLimiter::new(1);
        assert!(l.check("a", 5).allowed);
        assert!(!l.check("a", 5).allowed);
        assert!(l.check("b", 5).allowed);
    }

    #[test]
    fn retry_after_is_never_zero() {
        let l = RateLimiter::new(1);
        let t = 7 * WINDOW_SECS - 1;
        l.check("a", t);
        let v = l.check("a", t);
        assert_eq!(v.retry_after, 1);
    }

    #[test]
    fn ended_windows_are_pruned_when_many_tokens_are_tracked() {
        let l = RateLimiter::new(10);
        for i in 0..PRUNE_AT {
            l.check(&format!("old{i}"), 0);
        }
        assert_eq!(l.tracked(), PRUNE_AT);
        l.check("new", WINDOW_SECS);
        assert_eq!(l.tracked(), 1);
    }

    #[test]
    fn headers_name_the_limit_and_retry_after_only_when_refused() {
        let l = RateLimiter::new(1);
        let mut h = HeaderMap::new();
        l.check("a", 30).write_headers(&mut h);
        assert_eq!(h["x-ratelimit-limit"], "1");
        assert_eq!(h["x-ratelimit-remaining"], "0");
        assert_eq!(h["x-ratelimit-reset"], "60");
        assert!(h.get("retry-after").is_none());
        let mut h = HeaderMap::new();
        l.check("a", 30).write_headers(&mut h);
        assert_eq!(h["retry-after"], "30");
    }
}
