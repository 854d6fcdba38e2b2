//! Micro-benchmarks of the protocol core (issue 2 §5), with a small harness of our own (no
//! criterion: it would more than double the dev-dependency build).
//!
//!     cargo bench --bench core
//!
//! Each case runs in batches for about a second after a warm-up; the report gives the median
//! and the best batch mean per operation.

use scimdesk::scim::filter::{matches, parse_filter};
use scimdesk::scim::patch::{apply_patch, parse_patch_request};
use scimdesk::scim::schema::USER;
use scimdesk::server::limits::RateLimiter;
use scimdesk::server::metrics::Metrics;
use serde_json::{Value, json};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn bench(name: &str, mut f: impl FnMut()) {
    // Calibrate a batch size that takes about 1 ms.
    let mut batch = 1u64;
    loop {
        let t = Instant::now();
        for _ in 0..batch {
            f();
        }
        if t.elapsed() >= Duration::from_millis(1) || batch >= 1 << 24 {
            break;
        }
        batch *= 2;
    }
    let mut means = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(1);
    while Instant::now() < deadline || means.len() < 10 {
        let t = Instant::now();
        for _ in 0..batch {
            f();
        }
        means.push(t.elapsed().as_nanos() as f64 / batch as f64);
    }
    means.sort_by(|a, b| a.total_cmp(b));
    let median = means[means.len() / 2];
    println!(
        "{name:<58} median {:>9.3} µs   best {:>9.3} µs   ({} batches of {batch})",
        median / 1000.0,
        means[0] / 1000.0,
        means.len()
    );
}

/// A user with 50 leaf attribute values.
fn fifty_attribute_user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "00u1abcd",
        "userName": "barbara.jensen@example.com",
        "name": {"formatted": "Ms. Barbara J Jensen III", "familyName": "Jensen", "givenName": "Barbara",
                 "middleName": "Jane", "honorificPrefix": "Ms.", "honorificSuffix": "III"},
        "displayName": "Babs Jensen",
        "nickName": "Babs",
        "profileUrl": "https://login.example.com/bjensen",
        "title": "Tour Guide",
        "userType": "Employee",
        "preferredLanguage": "en-US",
        "locale": "en-US",
        "timezone": "America/Los_Angeles",
        "active": true,
        "emails": [
            {"value": "barbara.jensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"},
            {"value": "bj@other.example", "type": "other"}
        ],
        "phoneNumbers": [
            {"value": "555-555-5555", "type": "work"},
            {"value": "555-555-4444", "type": "mobile"},
            {"value": "555-555-3333", "type": "fax"}
        ],
        "addresses": [
            {"streetAddress": "100 Universal City Plaza", "locality": "Hollywood", "region": "CA",
             "postalCode": "91608", "country": "USA", "type": "work", "primary": true},
            {"streetAddress": "456 Hollywood Blvd", "locality": "Hollywood", "region": "CA",
             "postalCode": "91608", "country": "USA", "type": "home"}
        ],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984", "costCenter": "4130", "organization": "Universal Studios",
            "division": "Theme Park", "department": "Tour Operations",
            "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
        }
    })
}

fn main() {
    let five_clauses = r#"userName sw "barbara" and (emails[type eq "work" and value co "@example.com"] or title pr) and not (active eq false) and meta.lastModified gt "2011-01-01T00:00:00+02:00""#;
    bench("filter: parse a five-clause filter", || {
        black_box(parse_filter(black_box(five_clauses)).unwrap());
    });
    let mut user = fifty_attribute_user();
    user["meta"] = json!({"resourceType": "User", "created": "2010-01-23T04:56:22Z",
                          "lastModified": "2011-05-13T04:42:34Z", "version": "W/\"3\""});
    let filter = parse_filter(five_clauses).unwrap();
    assert!(
        matches(&filter, &user, &USER),
        "the benchmark filter must match"
    );
    bench("filter: evaluate it against a 50-attribute user", || {
        black_box(matches(black_box(&filter), black_box(&user), &USER));
    });
    bench("filter: parse + evaluate", || {
        let f = parse_filter(black_box(five_clauses)).unwrap();
        black_box(matches(&f, &user, &USER));
    });

    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "replace", "path": "displayName", "value": "Barbara Jensen"},
            {"op": "replace", "path": "name.givenName", "value": "Barb"},
            {"op": "add", "path": "emails", "value": [{"value": "barb@new.example", "type": "other"}]},
            {"op": "replace", "path": "emails[type eq \"home\"].value", "value": "barb@jensen.org"},
            {"op": "remove", "path": "phoneNumbers[type eq \"fax\"]"},
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "add", "value": {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Tours"}},
            {"op": "replace", "path": "title", "value": "Head Guide"},
            {"op": "add", "path": "nickName", "value": "B"},
            {"op": "remove", "path": "addresses[type eq \"home\"]"}
        ]
    });
    let ops = parse_patch_request(&body).unwrap();
    let user = fifty_attribute_user();
    assert!(apply_patch(&USER, &user, &ops).unwrap().changed);
    bench("patch: apply ten operations to a 50-attribute user", || {
        black_box(apply_patch(&USER, black_box(&user), black_box(&ops)).unwrap());
    });
    bench("patch: parse + apply ten operations", || {
        let ops = parse_patch_request(black_box(&body)).unwrap();
        black_box(apply_patch(&USER, &user, &ops).unwrap());
    });

    // What every API request pays for /metrics and for the rate limit (issue 13).
    let metrics = Metrics::new();
    let route = "/scim/v2.0/organizations/{org}/Users/{id}";
    let method = axum::http::Method::GET;
    bench("server: record a request in the metrics", || {
        metrics.observe(
            black_box(&method),
            black_box(Some(route)),
            200,
            Duration::from_micros(700),
        );
    });
    let limiter = RateLimiter::new(u32::MAX, u32::MAX);
    bench("server: count a request against its token's limit", || {
        black_box(limiter.check(black_box("1aa0ced8fe9c9372"), 1_000_000_000));
    });
    // What a member PATCH of a 1,000-member group pays for the text rules (issue 23): the
    // members attribute changed, the rest did not.
    let members = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| {
                json!({"value": format!("2819c223-7f76-453a-919d-{i:012}"),
                             "display": format!("Member Number {i}"),
                             "$ref": format!("https://example.com/v2/Users/{i}")})
            })
            .collect()
    };
    let before = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                        "id": "e9e30dba", "displayName": "Engineering", "members": members(1000)});
    let mut after = before.clone();
    after["members"]
        .as_array_mut()
        .unwrap()
        .push(members(1001)[1000].clone());
    bench("text: check a member added to a 1,000-member group", || {
        scimdesk::scim::text::check_changes(black_box(&after), black_box(&before)).unwrap();
    });
}
