//! The per-token rate limit: a fixed window of one minute per token, as Okta's and GitHub's
//! APIs count, so that the `X-RateLimit-*` headers mean what IdP clients expect. A client over
//! the limit gets 429 with `Retry-After` until the window turns.
//!
//! Several replicas on one PostgreSQL database share the limit: each counts here, on the
//! request's path, and about once a second [`share_counts`] adds what it counted since to a
//! tally in the database ([`Store::add_request_counts`]) and learns the cluster's total. A
//! request is refused when the total known plus what this replica counted since reaches the
//! limit. Nothing waits on the database per request; the price is that the other replicas'
//! requests of the last second are not known yet: over a window, the cluster admits at most
//! the limit plus what the other replicas admit for the token in one sync interval (see
//! `over_admission_is_bounded_by_one_sync_interval_of_the_others`), and each replica alone
//! never more than the limit. On SQLite one process is the whole service and nothing is
//! shared.
//!
//! What is kept per token is a count per window, which is also what the replicas exchange; a
//! token bucket (a burst and a sustained rate) would exchange the same per-token counts.

use crate::store::{RequestCount, Store, StoreResult};
use axum::http::{HeaderMap, HeaderValue};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

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

/// How often a replica adds its counts to the cluster's tally.
pub const DEFAULT_SYNC_EVERY: Duration = Duration::from_secs(1);

/// One token's requests in its current window.
#[derive(Debug, Default, Clone, Copy)]
struct Count {
    window: u64,
    /// The cluster's total for the window as of the last sync (this replica's requests that
    /// it sent included).
    cluster: u64,
    /// Counted here and being added to the tally now.
    sending: u64,
    /// Counted here since the last sync began.
    unsent: u64,
}

impl Count {
    fn used(&self) -> u64 {
        self.cluster + self.sending + self.unsent
    }
}

#[derive(Debug)]
pub struct RateLimiter {
    per_window: u32,
    /// token id → its count in the current window
    windows: Mutex<HashMap<String, Count>>,
    syncs: AtomicU64,
    sync_errors: AtomicU64,
}

impl RateLimiter {
    /// `per_minute` requests per token and minute; 0 turns the limit off.
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter {
            per_window: per_minute,
            windows: Mutex::new(HashMap::new()),
            syncs: AtomicU64::new(0),
            sync_errors: AtomicU64::new(0),
        }
    }

    pub fn enabled(&self) -> bool {
        self.per_window > 0
    }

    fn windows(&self) -> std::sync::MutexGuard<'_, HashMap<String, Count>> {
        // Every change under the lock is a few integer stores: a panic leaves nothing torn.
        self.windows.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts one request of `key` at `now` (seconds since the epoch). Refused requests count
    /// too, so a client hammering through a 429 does not get a fresh allowance sooner.
    pub fn check(&self, key: &str, now: u64) -> Verdict {
        let window = now / WINDOW_SECS;
        let reset = (window + 1) * WINDOW_SECS;
        let mut map = self.windows();
        if map.len() >= PRUNE_AT && !map.contains_key(key) {
            map.retain(|_, c| c.window == window);
        }
        let used = match map.get_mut(key) {
            Some(c) => {
                if c.window != window {
                    *c = Count {
                        window,
                        ..Count::default()
                    };
                }
                c.unsent += 1;
                c.used()
            }
            None => {
                map.insert(
                    key.to_string(),
                    Count {
                        window,
                        unsent: 1,
                        ..Count::default()
                    },
                );
                1
            }
        };
        drop(map);
        let limit = u64::from(self.per_window);
        Verdict {
            allowed: used <= limit,
            limit: self.per_window,
            remaining: limit.saturating_sub(used) as u32,
            reset,
            retry_after: (reset - now).max(1),
        }
    }

    /// The first half of a sync: what was counted here since the last one, one count per
    /// token, now marked as being sent.
    fn take_unsent(&self) -> Vec<RequestCount> {
        let mut map = self.windows();
        let mut out = Vec::new();
        for (token, c) in map.iter_mut().filter(|(_, c)| c.unsent > 0) {
            c.sending += c.unsent;
            out.push(RequestCount {
                token_id: token.clone(),
                window: c.window,
                n: c.unsent,
            });
            c.unsent = 0;
        }
        out
    }

    /// The second half: `totals` are the cluster's tallies after `sent` was added, or `None`
    /// when the sync failed, in which case what was sent is sent again next time. A window
    /// that turned meanwhile is left alone.
    fn merge(&self, sent: &[RequestCount], totals: Option<&[RequestCount]>) {
        let totals: HashMap<(&str, u64), u64> = totals
            .unwrap_or_default()
            .iter()
            .map(|t| ((t.token_id.as_str(), t.window), t.n))
            .collect();
        let mut map = self.windows();
        for s in sent {
            let Some(c) = map.get_mut(&s.token_id).filter(|c| c.window == s.window) else {
                continue;
            };
            c.sending = c.sending.saturating_sub(s.n);
            match totals.get(&(s.token_id.as_str(), s.window)) {
                // The total includes what was sent; max() keeps a later sync's larger total.
                Some(&n) => c.cluster = c.cluster.max(n),
                None => c.unsent += s.n,
            }
        }
    }

    /// The number of tokens tracked (for tests of the pruning).
    pub fn tracked(&self) -> usize {
        self.windows().len()
    }

    /// Syncs that reached the database, and those that failed (`/metrics`).
    pub fn sync_counts(&self) -> (u64, u64) {
        (
            self.syncs.load(Ordering::Relaxed),
            self.sync_errors.load(Ordering::Relaxed),
        )
    }
}

/// One sync: adds what this replica counted since the last one to the cluster's tally and
/// learns the totals. A failure keeps the counts for the next sync (the limit is then
/// enforced per replica until the database answers again).
pub async fn share_counts<S: Store>(limiter: &RateLimiter, store: &S) -> StoreResult<()> {
    let sent = limiter.take_unsent();
    if sent.is_empty() {
        return Ok(());
    }
    match store.add_request_counts(&sent).await {
        Ok(totals) => {
            limiter.merge(&sent, Some(&totals));
            limiter.syncs.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
        Err(e) => {
            limiter.merge(&sent, None);
            limiter.sync_errors.fetch_add(1, Ordering::Relaxed);
            Err(e)
        }
    }
}

/// Shares the counts every `every` until `stop` completes. A failing database is logged when
/// it starts failing and when it recovers, not every second.
pub async fn keep_sharing<S: Store>(
    limiter: std::sync::Arc<RateLimiter>,
    store: S,
    every: Duration,
    stop: impl std::future::Future<Output = ()>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stop = std::pin::pin!(stop);
    let mut failing = false;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = &mut stop => return,
        }
        match share_counts(&limiter, &store).await {
            Ok(()) if failing => {
                failing = false;
                tracing::info!("the rate limit is shared across replicas again");
            }
            Ok(()) => {}
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(
                    error = %e,
                    "cannot share the rate limit's counts; each replica limits on its own until \
                     the database answers"
                );
            }
            Err(_) => {}
        }
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

    /// The database's side of a sync: adds `sent` to `tally` and returns the totals.
    fn add(tally: &mut HashMap<(String, u64), u64>, sent: &[RequestCount]) -> Vec<RequestCount> {
        sent.iter()
            .map(|c| {
                let n = tally.entry((c.token_id.clone(), c.window)).or_default();
                *n += c.n;
                RequestCount { n: *n, ..c.clone() }
            })
            .collect()
    }

    fn sync(l: &RateLimiter, tally: &mut HashMap<(String, u64), u64>) {
        let sent = l.take_unsent();
        let totals = add(tally, &sent);
        l.merge(&sent, Some(&totals));
    }

    #[test]
    fn a_sync_adds_up_the_replicas_and_each_learns_the_total() {
        let (a, b) = (RateLimiter::new(10), RateLimiter::new(10));
        let mut tally = HashMap::new();
        let t = 60;
        for _ in 0..3 {
            a.check("tok", t);
        }
        for _ in 0..4 {
            b.check("tok", t);
        }
        sync(&a, &mut tally);
        sync(&b, &mut tally);
        assert_eq!(tally[&("tok".to_string(), 1)], 7);
        // b learned a's 3; a learns b's 4 at its next sync that sends something.
        assert_eq!(b.check("tok", t).remaining, 2);
        assert_eq!(a.check("tok", t).remaining, 6, "a knows only its own 4");
        sync(&a, &mut tally);
        // The tally's 8 (3 + 4 + a's 1; b's last one is not sent yet), and this one.
        assert_eq!(a.check("tok", t).remaining, 1);
        assert_eq!(a.check("tok", t).remaining, 0);
        assert!(!a.check("tok", t).allowed);
        // A sync with nothing to send costs no round trip.
        assert!(RateLimiter::new(10).take_unsent().is_empty());
    }

    #[test]
    fn counts_being_sent_still_count_and_a_failed_sync_sends_them_again() {
        let l = RateLimiter::new(5);
        let mut tally = HashMap::new();
        for _ in 0..3 {
            l.check("tok", 60);
        }
        let sent = l.take_unsent();
        assert_eq!(sent[0].n, 3);
        // While the sync is in flight, the 3 still count.
        assert_eq!(l.check("tok", 60).remaining, 1);
        l.merge(&sent, None);
        let again = l.take_unsent();
        assert_eq!(again[0].n, 4, "the failed 3 and the one counted meanwhile");
        let totals = add(&mut tally, &again);
        l.merge(&again, Some(&totals));
        assert_eq!(l.check("tok", 60).remaining, 0);
        assert_eq!(tally[&("tok".to_string(), 1)], 4, "nothing was added twice");
    }

    #[test]
    fn a_window_that_turns_during_a_sync_starts_afresh() {
        let l = RateLimiter::new(5);
        let mut tally = HashMap::new();
        for _ in 0..5 {
            l.check("tok", 119);
        }
        let sent = l.take_unsent();
        assert!(l.check("tok", 120).allowed, "a new window");
        let totals = add(&mut tally, &sent);
        l.merge(&sent, Some(&totals));
        assert_eq!(
            l.check("tok", 120).remaining,
            3,
            "the old window's total is not merged in"
        );
    }

    proptest::proptest! {
        /// Across N replicas, one token in one window: the cluster admits at most the limit
        /// plus what the other replicas admitted in one of their sync intervals, never refuses
        /// before the limit is reached cluster-wide, and loses or doubles no count.
        #[test]
        fn over_admission_is_bounded_by_one_sync_interval_of_the_others(
            replicas in 2usize..5,
            limit in 1u32..60,
            // (replica, a sync rather than a request, the sync fails)
            events in proptest::collection::vec(
                (0usize..4, proptest::bool::weighted(0.2), proptest::bool::weighted(0.1)),
                0..600,
            ),
        ) {
            let ls: Vec<RateLimiter> = (0..replicas).map(|_| RateLimiter::new(limit)).collect();
            let mut tally = HashMap::new();
            let mut admitted = 0u64;
            let mut counted = 0u64;
            // Admitted per replica since its last successful sync, and the most in any interval.
            let mut interval = vec![0u64; replicas];
            let mut most = vec![0u64; replicas];
            let t = 600;
            for (r, is_sync, fails) in events {
                let r = r % replicas;
                if is_sync {
                    let sent = ls[r].take_unsent();
                    if fails {
                        ls[r].merge(&sent, None);
                    } else {
                        let totals = add(&mut tally, &sent);
                        ls[r].merge(&sent, Some(&totals));
                        if !sent.is_empty() {
                            interval[r] = 0;
                        }
                    }
                    continue;
                }
                let v = ls[r].check("tok", t);
                counted += 1;
                if v.allowed {
                    admitted += 1;
                    interval[r] += 1;
                    most[r] = most[r].max(interval[r]);
                } else {
                    proptest::prop_assert!(counted > u64::from(limit), "refused at {counted}");
                }
            }
            let others = most.iter().sum::<u64>() - most.iter().min().copied().unwrap_or(0);
            proptest::prop_assert!(
                admitted <= u64::from(limit) + others,
                "admitted {admitted}, limit {limit}, others' intervals {others}"
            );
            // Once every replica has synced, the tally holds every request exactly once.
            for l in &ls {
                sync(l, &mut tally);
            }
            proptest::prop_assert_eq!(tally.get(&("tok".to_string(), 10)).copied().unwrap_or(0), counted);
        }
    }
}
