//! The per-token rate limit: a token bucket per token, with a burst (the bucket's size) and a
//! sustained rate (how fast it refills). A client may send a burst at once, then keeps the
//! sustained rate for as long as it likes; over it, it gets 429 with `Retry-After` (the
//! seconds until its request fits) and `X-RateLimit-Limit` (the burst), `-Remaining` (what
//! it may send at once now) and `-Reset` (when the bucket is full again, epoch seconds).
//!
//! Why a bucket and these defaults: an IdP's first import sends everything at once (100,000
//! users is 100,000 requests, or 100 Bulk requests of 1,000 operations, each operation
//! counting as a request). With a limit of 6,000 a minute that import took 17 minutes of
//! 429s. The defaults ([`crate::server::DEFAULT_RATE_LIMIT_PER_MINUTE`] sustained and
//! [`crate::server::DEFAULT_RATE_LIMIT_BURST`]) admit 100,000 creations in about 90 s,
//! about as long as the server needs to write them, so an import runs at the server's speed,
//! while a runaway client is still held to the sustained rate.
//!
//! Several replicas on one PostgreSQL database share the limit: each counts here, on the
//! request's path, and about once a second [`share_counts`] adds what it counted since to a
//! tally per token and minute in the database ([`Store::add_request_counts`]) and learns the
//! cluster's total; what the other replicas admitted since the last sync is then poured into
//! this replica's bucket. Nothing waits on the database per request; the price is that the
//! other replicas' requests of the last second are not known yet: the cluster admits at most
//! the burst plus the sustained rate plus what the other replicas admit for the token in one
//! sync interval (see `over_admission_is_bounded_by_one_sync_interval_of_the_others`), and
//! each replica alone never more than the limit. On SQLite one process is the whole service
//! and nothing is shared.

use crate::store::{RequestCount, Store, StoreResult};
use axum::http::{HeaderMap, HeaderValue};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The length of the windows in which replicas add up their counts.
pub const WINDOW_SECS: u64 = 60;
/// Past this many tracked tokens, tokens whose bucket is full again are dropped: memory stays
/// bounded by the tokens active lately.
const PRUNE_AT: usize = 4096;

/// What the limiter says about one request (or one Bulk request's operations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    /// The burst: requests allowed at once with a full bucket.
    pub limit: u32,
    /// Requests allowed at once now.
    pub remaining: u32,
    /// When the bucket is full again, in seconds since the Unix epoch.
    pub reset: u64,
    /// Seconds until the refused request fits (at least 1).
    pub retry_after: u64,
}

impl Verdict {
    /// What a refusal says, for a token of `what` ("SCIM", "admin").
    pub fn refusal(&self, what: &str) -> String {
        format!(
            "this {what} token sent more requests than its rate limit allows (a burst of {}); \
             retry after {} s",
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

/// How many tokens' allowance one org's tokens share (see [`RateLimiter::take_for`]).
pub const ORG_SHARE: f64 = 4.0;

/// How often a replica adds its counts to the cluster's tally.
pub const DEFAULT_SYNC_EVERY: Duration = Duration::from_secs(1);

/// One token's bucket, and its counts in the current sharing window.
#[derive(Debug, Default, Clone, Copy)]
struct Bucket {
    /// Requests in the bucket (it leaks at the sustained rate); a request fits while the
    /// level stays within the burst.
    level: f64,
    /// When `level` was last leaked, in ms since the epoch.
    at_ms: u64,
    window: u64,
    /// The cluster's total for the window as of the last sync (this replica's requests that
    /// it sent included).
    cluster: u64,
    /// Counted here and being added to the tally now.
    sending: u64,
    /// Counted here since the last sync began.
    unsent: u64,
}

#[derive(Debug)]
pub struct RateLimiter {
    /// Requests per second refilled; 0 turns the limit off.
    per_sec: f64,
    burst: u32,
    /// token id → its bucket
    buckets: Mutex<HashMap<String, Bucket>>,
    syncs: AtomicU64,
    sync_errors: AtomicU64,
}

impl RateLimiter {
    /// `per_minute` requests per token and minute sustained, `burst` at once (never more
    /// than a minute's worth); a `per_minute` of 0 turns the limit off.
    pub fn new(per_minute: u32, burst: u32) -> RateLimiter {
        RateLimiter {
            per_sec: f64::from(per_minute) / 60.0,
            burst: burst.min(per_minute).max(u32::from(per_minute > 0)),
            buckets: Mutex::new(HashMap::new()),
            syncs: AtomicU64::new(0),
            sync_errors: AtomicU64::new(0),
        }
    }

    pub fn enabled(&self) -> bool {
        self.per_sec > 0.0
    }

    fn buckets(&self) -> std::sync::MutexGuard<'_, HashMap<String, Bucket>> {
        // Every change under the lock is a few stores: a panic leaves nothing torn.
        self.buckets.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts one request of `key` at `now_ms` (milliseconds since the epoch).
    pub fn check(&self, key: &str, now_ms: u64) -> Verdict {
        self.take(key, 1, now_ms)
    }

    /// Takes `n` requests of `key` at once (a Bulk request's operations), or none of them: a
    /// refusal takes nothing, so a client that waits `Retry-After` gets through, and a bulk
    /// too large for what remains can be sent again smaller at once.
    pub fn take(&self, key: &str, n: u64, now_ms: u64) -> Verdict {
        self.take_for(key, None, n, now_ms)
    }

    /// Takes `n` requests from `token`'s bucket and, when given, from its org's, or from
    /// neither; the verdict is the tighter bucket's. An org's bucket fills [`ORG_SHARE`] times
    /// slower: the org's tokens together get that many tokens' allowance, so minting tokens
    /// does not multiply the limit, and an admin's console still gets through while the IdP's
    /// import uses its whole allowance. The org's bucket is this replica's own (not shared).
    pub fn take_for(&self, token: &str, org: Option<&str>, n: u64, now_ms: u64) -> Verdict {
        let window = now_ms / 1000 / WINDOW_SECS;
        let mut map = self.buckets();
        let keys: Vec<(&str, f64)> = std::iter::once((token, 1.0))
            .chain(org.map(|o| (o, 1.0 / ORG_SHARE)))
            .collect();
        if map.len() >= PRUNE_AT && keys.iter().any(|(k, _)| !map.contains_key(*k)) {
            let per_sec = self.per_sec;
            map.retain(|_, b| leaked(b, per_sec, now_ms) > 0.0);
        }
        let burst = f64::from(self.burst);
        // The level of the tightest bucket, in the token's requests.
        let mut fullest = 0.0f64;
        for (key, weight) in &keys {
            let b = map.entry(key.to_string()).or_insert(Bucket {
                at_ms: now_ms,
                window,
                ..Bucket::default()
            });
            b.level = leaked(b, self.per_sec, now_ms);
            b.at_ms = b.at_ms.max(now_ms);
            if b.window != window {
                *b = Bucket {
                    window,
                    cluster: 0,
                    sending: 0,
                    unsent: 0,
                    ..*b
                };
            }
            fullest = fullest.max(burst - (burst - b.level) / weight);
        }
        let allowed = fullest + n as f64 <= burst + 1e-9;
        if allowed {
            for (key, weight) in &keys {
                if let Some(b) = map.get_mut(*key) {
                    b.level += n as f64 * weight;
                    if *weight == 1.0 {
                        b.unsent += n;
                    }
                }
            }
            fullest += n as f64;
        }
        let level = fullest;
        drop(map);
        let secs_until = |amount: f64| (amount.max(0.0) / self.per_sec).ceil() as u64;
        Verdict {
            allowed,
            limit: self.burst,
            remaining: (burst - level).max(0.0).floor() as u32,
            reset: now_ms.div_ceil(1000) + secs_until(level),
            retry_after: secs_until(level + n as f64 - burst).max(1),
        }
    }

    /// The bucket key of an org (see [`RateLimiter::take_for`]).
    pub fn org_key(org_id: i64) -> String {
        format!("org:{org_id}")
    }

    /// The first half of a sync: what was counted here since the last one, one count per
    /// token, now marked as being sent.
    fn take_unsent(&self) -> Vec<RequestCount> {
        let mut map = self.buckets();
        let mut out = Vec::new();
        for (token, b) in map.iter_mut().filter(|(_, b)| b.unsent > 0) {
            b.sending += b.unsent;
            out.push(RequestCount {
                token_id: token.clone(),
                window: b.window,
                n: b.unsent,
            });
            b.unsent = 0;
        }
        out
    }

    /// The second half: `totals` are the cluster's tallies after `sent` was added, or `None`
    /// when the sync failed, in which case what was sent is sent again next time. What the
    /// other replicas admitted since the last sync goes into the bucket. A window that turned
    /// meanwhile is left alone.
    fn merge(&self, sent: &[RequestCount], totals: Option<&[RequestCount]>) {
        let totals: HashMap<(&str, u64), u64> = totals
            .unwrap_or_default()
            .iter()
            .map(|t| ((t.token_id.as_str(), t.window), t.n))
            .collect();
        let mut map = self.buckets();
        for s in sent {
            let Some(b) = map.get_mut(&s.token_id).filter(|b| b.window == s.window) else {
                continue;
            };
            b.sending = b.sending.saturating_sub(s.n);
            match totals.get(&(s.token_id.as_str(), s.window)) {
                Some(&n) => {
                    // The total includes what was sent; the rest is the others'.
                    let others = n.saturating_sub(b.cluster + s.n);
                    b.level += others as f64;
                    b.cluster = b.cluster.max(n);
                }
                None => b.unsent += s.n,
            }
        }
    }

    /// The number of tokens tracked (for tests of the pruning).
    pub fn tracked(&self) -> usize {
        self.buckets().len()
    }

    /// Syncs that reached the database, and those that failed (`/metrics`).
    pub fn sync_counts(&self) -> (u64, u64) {
        (
            self.syncs.load(Ordering::Relaxed),
            self.sync_errors.load(Ordering::Relaxed),
        )
    }
}

/// A bucket's level at `now_ms`, after leaking at `per_sec` since it was last updated.
fn leaked(b: &Bucket, per_sec: f64, now_ms: u64) -> f64 {
    let elapsed = now_ms.saturating_sub(b.at_ms) as f64 / 1000.0;
    (b.level - elapsed * per_sec).max(0.0)
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

pub fn now_epoch_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

pub fn now_epoch_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Filtered lists and searches one org may run at once (`ServerConfig::reads_per_org`): the
/// rest of its requests wait their turn, so that one org's costly filters never hold every read
/// connection while another org's IdP waits behind them.
pub struct OrgGates {
    per_org: usize,
    gates: std::sync::Mutex<std::collections::HashMap<i64, std::sync::Arc<tokio::sync::Semaphore>>>,
}

impl OrgGates {
    pub fn new(per_org: usize) -> OrgGates {
        OrgGates {
            per_org: per_org.max(1),
            gates: Default::default(),
        }
    }

    /// Waits for one of `org_id`'s places; the place is free again when the permit drops.
    pub async fn enter(&self, org_id: i64) -> tokio::sync::OwnedSemaphorePermit {
        let gate = {
            let mut gates = self.gates.lock().unwrap_or_else(|e| e.into_inner());
            // Orgs with nobody inside are forgotten, so the map holds only busy orgs.
            if gates.len() > 1024 {
                gates.retain(|_, g| std::sync::Arc::strong_count(g) > 1);
            }
            gates
                .entry(org_id)
                .or_insert_with(|| std::sync::Arc::new(tokio::sync::Semaphore::new(self.per_org)))
                .clone()
        };
        gate.acquire_owned()
            .await
            .expect("an org's gate is never closed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_000 * WINDOW_SECS * 1000;

    #[test]
    fn a_burst_then_the_sustained_rate() {
        // 60 a minute is one a second; a burst of 3.
        let l = RateLimiter::new(60, 3);
        let v: Vec<Verdict> = (0..4).map(|_| l.check("tok", T)).collect();
        assert_eq!(
            v.iter().map(|v| v.allowed).collect::<Vec<_>>(),
            [true, true, true, false]
        );
        assert_eq!(
            v.iter().map(|v| v.remaining).collect::<Vec<_>>(),
            [2, 1, 0, 0]
        );
        assert_eq!(v[3].limit, 3);
        assert_eq!(v[3].retry_after, 1, "one request leaks out each second");
        assert_eq!(v[3].reset, T / 1000 + 3, "full again in 3 s");
        // Half a second later nothing fits yet; a second later exactly one does.
        assert!(!l.check("tok", T + 500).allowed);
        assert!(l.check("tok", T + 1000).allowed);
        assert!(!l.check("tok", T + 1000).allowed);
        // Sustained: one a second goes through for ever.
        for s in 2..100 {
            assert!(l.check("tok", T + s * 1000).allowed, "at {s} s");
        }
        // After a pause the whole burst is back.
        let later = T + 200_000;
        assert!((0..3).all(|_| l.check("tok", later).allowed));
        assert!(!l.check("tok", later).allowed);
    }

    #[test]
    fn a_refusal_takes_nothing() {
        let l = RateLimiter::new(60, 2);
        assert!(l.check("tok", T).allowed);
        assert!(l.check("tok", T).allowed);
        for _ in 0..10 {
            assert!(!l.check("tok", T + 999).allowed);
        }
        assert!(
            l.check("tok", T + 1000).allowed,
            "hammering did not push the next one back"
        );
    }

    #[test]
    fn a_batch_is_taken_whole_or_not_at_all() {
        let l = RateLimiter::new(600, 10);
        assert!(l.check("tok", T).allowed);
        let v = l.take("tok", 9, T);
        assert!(v.allowed);
        assert_eq!(v.remaining, 0);
        let v = l.take("tok", 5, T);
        assert!(!v.allowed);
        assert_eq!(v.retry_after, 1, "5 leak out in 0.5 s");
        assert!(l.take("tok", 5, T + 500).allowed);
        assert!(
            !l.take("other", 11, T).allowed,
            "more than the burst never fits"
        );
        assert!(l.take("other", 10, T).allowed);
    }

    #[test]
    fn the_burst_is_never_more_than_a_minute_of_the_rate() {
        let l = RateLimiter::new(5, 10_000);
        assert_eq!(l.check("a", T).limit, 5);
        assert!(!RateLimiter::new(0, 10).enabled());
    }

    #[test]
    fn tokens_are_counted_apart() {
        let l = RateLimiter::new(1, 1);
        assert!(l.check("a", 5).allowed);
        assert!(!l.check("a", 5).allowed);
        assert!(l.check("b", 5).allowed);
    }

    #[test]
    fn full_buckets_are_pruned_when_many_tokens_are_tracked() {
        let l = RateLimiter::new(60, 10);
        for i in 0..PRUNE_AT {
            l.check(&format!("old{i}"), T);
        }
        assert_eq!(l.tracked(), PRUNE_AT);
        l.check("new", T + 2_000);
        assert_eq!(l.tracked(), 1);
    }

    #[test]
    fn headers_name_the_burst_and_retry_after_only_when_refused() {
        let l = RateLimiter::new(60, 1);
        let mut h = HeaderMap::new();
        l.check("a", 30_000).write_headers(&mut h);
        assert_eq!(h["x-ratelimit-limit"], "1");
        assert_eq!(h["x-ratelimit-remaining"], "0");
        assert_eq!(h["x-ratelimit-reset"], "31");
        assert!(h.get("retry-after").is_none());
        let mut h = HeaderMap::new();
        l.check("a", 30_000).write_headers(&mut h);
        assert_eq!(h["retry-after"], "1");
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
        let (a, b) = (RateLimiter::new(10, 10), RateLimiter::new(10, 10));
        let mut tally = HashMap::new();
        let t = 60_000;
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
        assert!(RateLimiter::new(10, 10).take_unsent().is_empty());
    }

    #[test]
    fn counts_being_sent_still_count_and_a_failed_sync_sends_them_again() {
        let l = RateLimiter::new(5, 5);
        let mut tally = HashMap::new();
        for _ in 0..3 {
            l.check("tok", 60_000);
        }
        let sent = l.take_unsent();
        assert_eq!(sent[0].n, 3);
        // While the sync is in flight, the 3 still count.
        assert_eq!(l.check("tok", 60_000).remaining, 1);
        l.merge(&sent, None);
        let again = l.take_unsent();
        assert_eq!(again[0].n, 4, "the failed 3 and the one counted meanwhile");
        let totals = add(&mut tally, &again);
        l.merge(&again, Some(&totals));
        assert_eq!(l.check("tok", 60_000).remaining, 0);
        assert_eq!(tally[&("tok".to_string(), 1)], 4, "nothing was added twice");
    }

    #[test]
    fn a_window_that_turns_during_a_sync_starts_afresh() {
        let l = RateLimiter::new(600, 5);
        let mut tally = HashMap::new();
        for _ in 0..5 {
            l.check("tok", 119_000);
        }
        let sent = l.take_unsent();
        assert!(l.check("tok", 120_000).allowed, "a new window");
        let totals = add(&mut tally, &sent);
        l.merge(&sent, Some(&totals));
        assert_eq!(
            l.check("tok", 120_000).remaining,
            3,
            "the old window's total is not merged in"
        );
    }

    proptest::proptest! {
        /// Across N replicas, one token in one window: the cluster admits at most the limit
        /// plus what the other replicas admitted in one of their sync intervals, never refuses
        /// before the limit is reached cluster-wide, and loses or doubles no count (with no time
        /// passing, a bucket of the limit's size).
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
            let ls: Vec<RateLimiter> = (0..replicas).map(|_| RateLimiter::new(limit, limit)).collect();
            let mut tally = HashMap::new();
            let mut admitted = 0u64;
            // Admitted per replica since its last successful sync, and the most in any interval.
            let mut interval = vec![0u64; replicas];
            let mut most = vec![0u64; replicas];
            let t = 600_000;
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
                if v.allowed {
                    admitted += 1;
                    interval[r] += 1;
                    most[r] = most[r].max(interval[r]);
                } else {
                    proptest::prop_assert!(admitted >= u64::from(limit), "refused at {admitted} admitted");
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
            proptest::prop_assert_eq!(tally.get(&("tok".to_string(), 10)).copied().unwrap_or(0), admitted);
        }
    }
}
