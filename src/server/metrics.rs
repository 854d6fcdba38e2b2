//! What `GET /metrics` exposes, in Prometheus' text format: requests by method, route and
//! status, a latency histogram per method and route, the store's connections and queued
//! writes, the rate limit's syncs across replicas, build info and the process start time.
//!
//! The route is axum's matched template (`/scim/v2.0/organizations/{org}/Users/{id}`), never
//! the path a client sent, and the method one of a fixed few: so no label carries a token, an
//! email, an org's name or uid, and the number of series is bounded by the routes the server
//! has. Recording a request is a map lookup under a read lock and three atomic additions.

use super::limits::RateLimiter;
use crate::store::{Store, StoreStats};
use axum::http::Method;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

/// The route label of requests that matched no route (404s from the fallback).
pub const UNMATCHED: &str = "unmatched";

/// The latency buckets' upper bounds in microseconds, and as Prometheus writes them (`le`):
/// from 0.5 ms (a point read) to 10 s (a large export).
const BUCKETS: [(u64, &str); 14] = [
    (500, "0.0005"),
    (1_000, "0.001"),
    (2_500, "0.0025"),
    (5_000, "0.005"),
    (10_000, "0.01"),
    (25_000, "0.025"),
    (50_000, "0.05"),
    (100_000, "0.1"),
    (250_000, "0.25"),
    (500_000, "0.5"),
    (1_000_000, "1"),
    (2_500_000, "2.5"),
    (5_000_000, "5"),
    (10_000_000, "10"),
];

/// The method labels; anything else (a client may send any token as a method) is `other`.
const METHODS: [&str; 8] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other",
];

fn method_index(m: &Method) -> usize {
    match *m {
        Method::GET => 0,
        Method::HEAD => 1,
        Method::POST => 2,
        Method::PUT => 3,
        Method::PATCH => 4,
        Method::DELETE => 5,
        Method::OPTIONS => 6,
        _ => 7,
    }
}

/// Status codes 100 to 599, one counter each: a few KiB per method and route that saw
/// traffic, and no lock to find the counter.
const STATUSES: usize = 500;

/// The counters of one method on one route.
struct Series {
    by_status: Box<[AtomicU64; STATUSES]>,
    /// Observations per bucket (not cumulative; the last is above every bound).
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

impl Series {
    fn new() -> Series {
        Series {
            by_status: Box::new(std::array::from_fn(|_| AtomicU64::new(0))),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_micros: AtomicU64::new(0),
        }
    }

    fn observe(&self, status: u16, elapsed: Duration) {
        let i = usize::from(status.clamp(100, 599) - 100);
        self.by_status[i].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let b = BUCKETS
            .iter()
            .position(|(bound, _)| micros <= *bound)
            .unwrap_or(BUCKETS.len());
        self.buckets[b].fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }
}

/// One route's series, one per method, made when the method is first seen there.
type Route = [OnceLock<Series>; METHODS.len()];

pub struct Metrics {
    /// Seconds since the epoch when the server started.
    started: f64,
    routes: RwLock<HashMap<Box<str>, Arc<Route>>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        Metrics {
            started,
            routes: RwLock::new(HashMap::new()),
        }
    }

    /// Records one answered request; `route` is the matched template, `None` when no route
    /// matched.
    pub fn observe(&self, method: &Method, route: Option<&str>, status: u16, elapsed: Duration) {
        let route = route.unwrap_or(UNMATCHED);
        let found = self
            .routes
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(route)
            .cloned();
        let series = match found {
            Some(s) => s,
            // The first request of a route: the only write to the map.
            None => self
                .routes
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .entry(route.into())
                .or_insert_with(|| Arc::new(std::array::from_fn(|_| OnceLock::new())))
                .clone(),
        };
        series[method_index(method)]
            .get_or_init(Series::new)
            .observe(status, elapsed);
    }

    /// The exposition: every series of this process, the store's and the limiter's gauges.
    /// `sharing`: whether this replica shares the rate limit's counts with others.
    pub fn render<S: Store>(&self, store: &S, limiter: &RateLimiter, sharing: bool) -> String {
        let mut out = String::with_capacity(16 * 1024);
        self.write_requests(&mut out);
        write_store(&mut out, store.stats());
        if sharing {
            write_syncs(&mut out, limiter.sync_counts());
        }
        self.write_process(&mut out);
        out
    }

    fn write_requests(&self, out: &mut String) {
        let routes: Vec<(Box<str>, Arc<Route>)> = {
            let map = self.routes.read().unwrap_or_else(|p| p.into_inner());
            let mut v: Vec<_> = map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        };
        let each = || {
            routes.iter().flat_map(|(route, methods)| {
                methods
                    .iter()
                    .zip(METHODS)
                    .filter_map(move |(s, m)| s.get().map(|s| (escape(route), m, s)))
            })
        };

        let name = "scimdesk_http_requests_total";
        header(
            out,
            name,
            "counter",
            "HTTP requests answered, by method, route template and status.",
        );
        for (route, method, s) in each() {
            for (i, n) in s.by_status.iter().enumerate() {
                let n = n.load(Ordering::Relaxed);
                if n > 0 {
                    let status = i + 100;
                    let _ = writeln!(
                        out,
                        "{name}{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}"
                    );
                }
            }
        }

        let name = "scimdesk_http_request_duration_seconds";
        header(
            out,
            name,
            "histogram",
            "Time from a request's arrival to its response's headers, by method and route \
             template.",
        );
        for (route, method, s) in each() {
            let labels = format!("method=\"{method}\",route=\"{route}\"");
            let mut cumulative = 0;
            for (i, (_, le)) in BUCKETS.iter().enumerate() {
                cumulative += s.buckets[i].load(Ordering::Relaxed);
                let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{le}\"}} {cumulative}");
            }
            cumulative += s.buckets[BUCKETS.len()].load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {cumulative}");
            let sum = s.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
            let _ = writeln!(out, "{name}_count{{{labels}}} {cumulative}");
        }
    }

    fn write_process(&self, out: &mut String) {
        header(
            out,
            "scimdesk_build_info",
            "gauge",
            "The running build, in its labels; the value is always 1.",
        );
        let _ = writeln!(
            out,
            "scimdesk_build_info{{version=\"{}\"}} 1",
            escape(env!("CARGO_PKG_VERSION"))
        );
        gauge(
            out,
            "process_start_time_seconds",
            "Start time of the process since the Unix epoch, in seconds.",
            self.started,
        );
    }
}

fn write_store(out: &mut String, stats: StoreStats) {
    let name = "scimdesk_store_connections";
    header(
        out,
        name,
        "gauge",
        "Database connections open: lent to a request (in_use) or waiting for one (idle).",
    );
    let _ = writeln!(
        out,
        "{name}{{state=\"in_use\"}} {}",
        stats.connections_in_use
    );
    let _ = writeln!(out, "{name}{{state=\"idle\"}} {}", stats.connections_idle);
    gauge(
        out,
        "scimdesk_store_connections_max",
        "The most database connections the pool opens.",
        stats.connections_max,
    );
    if let Some(waiting) = stats.writes_waiting {
        gauge(
            out,
            "scimdesk_store_writes_waiting",
            "Writes queued for SQLite's group-commit writer and not taken up yet.",
            waiting,
        );
    }
}

fn write_syncs(out: &mut String, (syncs, errors): (u64, u64)) {
    let name = "scimdesk_rate_limit_syncs_total";
    header(
        out,
        name,
        "counter",
        "Times this replica added its rate-limit counts to the cluster's tally.",
    );
    let _ = writeln!(out, "{name} {syncs}");
    let name = "scimdesk_rate_limit_sync_errors_total";
    header(
        out,
        name,
        "counter",
        "Syncs of the rate-limit counts that failed (the limit is then per replica).",
    );
    let _ = writeln!(out, "{name} {errors}");
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn gauge(out: &mut String, name: &str, help: &str, value: impl std::fmt::Display) {
    header(out, name, "gauge", help);
    let _ = writeln!(out, "{name} {value}");
}

/// A label value as the text format writes it.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
        text.lines().filter(|l| l.starts_with(prefix)).collect()
    }

    #[test]
    fn requests_are_counted_by_method_route_and_status_with_a_cumulative_histogram() {
        let m = Metrics::new();
        let users = "/scim/v2.0/organizations/{org}/Users";
        m.observe(&Method::GET, Some(users), 200, Duration::from_micros(300));
        m.observe(&Method::GET, Some(users), 200, Duration::from_millis(3));
        m.observe(&Method::GET, Some(users), 429, Duration::from_secs(20));
        m.observe(&Method::POST, Some(users), 201, Duration::from_millis(1));
        m.observe(
            &Method::from_bytes(b"BREW").unwrap(),
            None,
            404,
            Duration::ZERO,
        );
        let mut text = String::new();
        m.write_requests(&mut text);
        assert_eq!(
            series(&text, "scimdesk_http_requests_total{"),
            [
                "scimdesk_http_requests_total{method=\"GET\",route=\"/scim/v2.0/organizations/{org}/Users\",status=\"200\"} 2",
                "scimdesk_http_requests_total{method=\"GET\",route=\"/scim/v2.0/organizations/{org}/Users\",status=\"429\"} 1",
                "scimdesk_http_requests_total{method=\"POST\",route=\"/scim/v2.0/organizations/{org}/Users\",status=\"201\"} 1",
                "scimdesk_http_requests_total{method=\"other\",route=\"unmatched\",status=\"404\"} 1",
            ]
        );
        let get = "scimdesk_http_request_duration_seconds_bucket{method=\"GET\",route=\"/scim/v2.0/organizations/{org}/Users\"";
        let buckets = series(&text, get);
        assert_eq!(buckets.len(), BUCKETS.len() + 1);
        assert!(buckets.contains(&format!("{get},le=\"0.0005\"}} 1").as_str()));
        assert!(buckets.contains(&format!("{get},le=\"0.0025\"}} 1").as_str()));
        assert!(buckets.contains(&format!("{get},le=\"0.005\"}} 2").as_str()));
        assert!(buckets.contains(&format!("{get},le=\"10\"}} 2").as_str()));
        assert!(buckets.contains(&format!("{get},le=\"+Inf\"}} 3").as_str()));
        assert!(text.contains(
            "scimdesk_http_request_duration_seconds_count{method=\"GET\",route=\"/scim/v2.0/organizations/{org}/Users\"} 3"
        ));
        assert!(text.contains(
            "scimdesk_http_request_duration_seconds_sum{method=\"GET\",route=\"/scim/v2.0/organizations/{org}/Users\"} 20.0033"
        ));
    }

    #[test]
    fn every_series_is_declared_once_and_the_store_and_process_are_described() {
        let m = Metrics::new();
        m.observe(&Method::GET, Some("/a"), 200, Duration::ZERO);
        let mut text = String::new();
        m.write_requests(&mut text);
        let stats = StoreStats {
            connections_in_use: 2,
            connections_idle: 1,
            connections_max: 4,
            writes_waiting: Some(7),
        };
        write_store(&mut text, stats);
        write_syncs(&mut text, (5, 1));
        m.write_process(&mut text);
        for line in [
            "scimdesk_store_connections{state=\"in_use\"} 2",
            "scimdesk_store_connections{state=\"idle\"} 1",
            "scimdesk_store_connections_max 4",
            "scimdesk_store_writes_waiting 7",
            "scimdesk_rate_limit_syncs_total 5",
            "scimdesk_rate_limit_sync_errors_total 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
        let mut pg = String::new();
        write_store(
            &mut pg,
            StoreStats {
                writes_waiting: None,
                ..stats
            },
        );
        assert!(!pg.contains("writes_waiting"), "PostgreSQL does not say");
        let mut declared = std::collections::HashSet::new();
        for l in text.lines().filter(|l| l.starts_with("# TYPE ")) {
            assert!(declared.insert(l.to_string()), "declared twice: {l}");
        }
        assert!(text.contains(&format!(
            "\nscimdesk_build_info{{version=\"{}\"}} 1\n",
            env!("CARGO_PKG_VERSION")
        )));
        assert!(text.contains("\nprocess_start_time_seconds "));
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
