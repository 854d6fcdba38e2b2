//! Entry points of the fuzz targets (`fuzz/`), shared with `tests/fuzz_corpus.rs`, which
//! replays the committed corpus in every `cargo test`. Each one takes arbitrary bytes, runs
//! them through the same functions the server uses, and must return without panicking; the
//! assertions inside check properties that hold for every input (a printed filter reparses
//! to the same AST, the SQL of a filter, in both dialects, binds one parameter per placeholder, a PATCH result
//! is canonical, the group-member fast path agrees with the full engine, normalizing twice
//! changes nothing), so a panic is always a bug.
//!
//! Not part of the public API.

use crate::scim::ScimResult;
use crate::scim::filter::{self, Dialect, Filter};
use crate::scim::patch::{self, PatchOp};
use crate::scim::path::AttrPath;
use crate::scim::schema::{ENTERPRISE_USER_SCHEMA_ID, GROUP, USER};
use crate::server::http::parse_json_body;
use crate::server::scim::core;
use crate::store::{Kind, MemberOp, MemberRef, ResourceRecord};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// The user that PATCH inputs apply to (canonical form, as stored).
pub fn sample_user() -> Value {
    json!({
        "userName": "ann@x.io",
        "active": true,
        "name": {"givenName": "Ann", "familyName": "Lee"},
        "emails": [{"value": "ann@x.io", "type": "work", "primary": true}],
        ENTERPRISE_USER_SCHEMA_ID: {"department": "R&D", "manager": {"value": "m1"}},
    })
}

/// The group that PATCH inputs apply to, without its members (they are rows).
pub fn sample_group() -> Value {
    json!({
        "displayName": "Eng",
        "externalId": "g-1",
    })
}

/// The sample group's members.
pub const SAMPLE_MEMBERS: [&str; 2] = ["a", "b"];

fn record(kind: Kind) -> ResourceRecord {
    let (resource, members) = match kind {
        Kind::User => (sample_user(), None),
        Kind::Group => (
            sample_group(),
            Some(
                SAMPLE_MEMBERS
                    .iter()
                    .map(|id| MemberRef {
                        id: (*id).to_string(),
                        display: None,
                    })
                    .collect(),
            ),
        ),
    };
    ResourceRecord {
        id: "r1".into(),
        resource,
        version: 1,
        created: "2026-01-01T00:00:00Z".into(),
        last_modified: "2026-01-01T00:00:00Z".into(),
        members,
    }
}

/// The sample group as the PATCH engine sees it: with its members inline.
fn group_with_members() -> Value {
    let mut g = sample_group();
    g["members"] = Value::Array(
        SAMPLE_MEMBERS
            .iter()
            .map(|id| json!({"value": id}))
            .collect(),
    );
    g
}

/// `filter`: a filter query parameter (and a PATCH path) as UTF-8 text.
pub fn filter(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(f) = filter::parse_filter(text) {
        let printed = f.to_string();
        let again = filter::parse_filter(&printed)
            .unwrap_or_else(|e| panic!("printed filter {printed:?} does not parse: {e}"));
        assert_eq!(again, f, "printing changed the filter: {printed}");
        for kind in [Kind::User, Kind::Group] {
            check_filter_on(kind, &f);
        }
    }
    if let Ok(path) = filter::parse_patch_path(text)
        && let Some(f) = path.filter
    {
        let printed = f.to_string();
        assert_eq!(
            filter::parse_filter(&printed).ok().as_ref(),
            Some(&f),
            "a PATCH path filter does not survive printing: {printed}"
        );
    }
    let _ = AttrPath::parse(text);
}

/// Validation, in-memory evaluation and the SQLite translation of one parsed filter.
fn check_filter_on(kind: Kind, f: &Filter) {
    let rt = core::rt(kind);
    let valid = filter::validate(f, rt).is_ok();
    if valid {
        let sample = match kind {
            Kind::User => sample_user(),
            Kind::Group => group_with_members(),
        };
        let _ = filter::matches(f, &sample, rt);
    }
    for dialect in [Dialect::Sqlite, Dialect::Postgres] {
        let Ok(w) = crate::store::scim_rows::translate(kind, f, dialect) else {
            continue;
        };
        assert!(
            valid,
            "the SQL translation accepted a filter that validation refuses"
        );
        let (placeholders, balanced) = scan_sql(&w.sql, dialect);
        let expected: Vec<usize> = match dialect {
            Dialect::Sqlite => vec![0; w.params.len()],
            _ => (1..=w.params.len()).collect(),
        };
        assert_eq!(
            placeholders, expected,
            "placeholders and bound parameters differ in {}",
            w.sql
        );
        assert!(balanced, "unbalanced parentheses or quotes in {}", w.sql);
    }
}

/// The placeholders outside string literals (`?` as 0, `$n` as n), in order, and whether
/// parentheses and quotes balance: a value spliced into the text instead of bound would break
/// one or the other.
fn scan_sql(sql: &str, dialect: Dialect) -> (Vec<usize>, bool) {
    let mut placeholders = Vec::new();
    let mut depth: i64 = 0;
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' => quote = Some(c),
                '?' if dialect == Dialect::Sqlite => placeholders.push(0),
                '$' if dialect == Dialect::Postgres => {
                    let mut n = 0;
                    while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                        n = n * 10 + d as usize;
                        chars.next();
                    }
                    placeholders.push(n);
                }
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth < 0 {
                        return (placeholders, false);
                    }
                }
                _ => {}
            },
        }
    }
    (placeholders, depth == 0 && quote.is_none())
}

/// No nulls, no empty objects or arrays, no dotted or URN-qualified keys below the top
/// level (except the enterprise extension's container): the canonical form the store keeps.
fn canonical(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Array(a) => !a.is_empty() && a.iter().all(canonical),
        Value::Object(o) => {
            !o.is_empty()
                && o.iter().all(|(k, v)| {
                    (k == ENTERPRISE_USER_SCHEMA_ID || !(k.contains('.') || k.contains(':')))
                        && canonical(v)
                })
        }
        _ => true,
    }
}

/// `patch`: a PATCH request body (JSON) applied by the engine to a user and a group, and by
/// the server's path (the group-member fast path included) to stored records.
pub fn patch(data: &[u8]) {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    if let Ok(ops) = patch::parse_patch_request(&body) {
        engine(&ops);
    }
    for kind in [Kind::User, Kind::Group] {
        let _ = server_patch(kind, &body);
    }
}

fn engine(ops: &[PatchOp]) {
    for (rt, res) in [(&USER, sample_user()), (&GROUP, group_with_members())] {
        if let Ok(out) = patch::apply_patch(rt, &res, ops) {
            assert!(
                canonical(&out.resource),
                "a PATCH result is not canonical: {}",
                out.resource
            );
            assert_eq!(
                out.changed,
                out.resource != res,
                "`changed` disagrees with the result"
            );
        }
    }
    let _ = patch::plan_group_patch(ops);
}

/// What the server does with a PATCH body, up to the store: parse, apply inside the update,
/// check the product rule. For a group, the member rows it would write must equal the members
/// of the full engine's result.
fn server_patch(kind: Kind, body: &Value) -> ScimResult<()> {
    let request = core::PatchRequest::parse(kind, body)?;
    let rec = record(kind);
    let outcome = request.apply(kind, &rec);
    if kind == Kind::Group {
        let full = patch::parse_patch_request(body)
            .and_then(|ops| patch::apply_patch(&GROUP, &group_with_members(), &ops));
        if let (Ok((resource, ops)), Ok(full)) = (&outcome, &full) {
            let mut members: BTreeSet<String> =
                SAMPLE_MEMBERS.iter().map(|s| s.to_string()).collect();
            for op in ops {
                apply_member_op(&mut members, op);
            }
            let mut expected = full.resource.clone();
            let expected_members: BTreeSet<String> = core::take_members(&mut expected)
                .expect("the engine's members have values")
                .into_iter()
                .collect();
            assert_eq!(
                members, expected_members,
                "the member rows differ from the engine's members for {body}"
            );
            assert_eq!(
                resource, &expected,
                "the stored group differs from the engine's for {body}"
            );
        }
    }
    let (resource, _) = outcome?;
    crate::scim::text::check_resource(&resource)?;
    match kind {
        Kind::User => {
            core::check_user(&resource, true)?;
        }
        Kind::Group => core::check_group(&resource)?,
    }
    let _ = core::render(
        kind,
        &ResourceRecord { resource, ..rec },
        "http://h/scim/v2.0/organizations/o",
    );
    Ok(())
}

fn apply_member_op(members: &mut BTreeSet<String>, op: &MemberOp) {
    match op {
        MemberOp::Add(ids) => members.extend(ids.iter().cloned()),
        MemberOp::Remove(ids) => {
            for id in ids {
                members.remove(id);
            }
        }
        MemberOp::RemoveAll => members.clear(),
        MemberOp::ReplaceAll(ids) => *members = ids.iter().cloned().collect(),
    }
}

/// `scim_body`: a whole request body as the server receives it. The first byte chooses the
/// request (0: user POST/PUT, 1: group POST/PUT, 2: user PATCH, 3: group PATCH, modulo 4);
/// the rest is the body's bytes.
pub fn scim_body(data: &[u8]) {
    let Some((&mode, bytes)) = data.split_first() else {
        return;
    };
    let Ok(json) = parse_json_body(bytes) else {
        return;
    };
    match mode % 4 {
        0 => {
            let _ = create_or_replace(Kind::User, json);
        }
        1 => {
            let _ = create_or_replace(Kind::Group, json);
        }
        2 => {
            let _ = server_patch(Kind::User, &json);
        }
        _ => {
            let _ = server_patch(Kind::Group, &json);
        }
    }
}

/// A POST/PUT body through `normalize` and the product rule, as the handlers do. What comes
/// out is canonical and holds no password, and the resource a GET would render from it,
/// sent back as a PUT body (what Okta does), normalizes to the same resource and members.
fn create_or_replace(kind: Kind, json: Value) -> ScimResult<()> {
    let (resource, members) = core::normalize(kind, json)?;
    assert!(
        resource.get("password").is_none(),
        "a password survived normalization"
    );
    assert!(
        resource.as_object().is_some_and(|o| o.is_empty()) || canonical(&resource),
        "a normalized resource is not canonical: {resource}"
    );
    let checked = match kind {
        Kind::User => {
            let lenient = core::check_user(&resource, false);
            let strict = core::check_user(&resource, true);
            assert!(
                strict.is_err() || lenient.is_ok(),
                "the userName-is-email rule accepted what the lenient rule refuses"
            );
            strict
        }
        Kind::Group => core::check_group(&resource),
    };
    checked?;
    let mut rec = record(kind);
    rec.resource = resource.clone();
    rec.members = Some(
        members
            .iter()
            .map(|id| MemberRef {
                id: id.clone(),
                display: None,
            })
            .collect(),
    );
    let rendered = core::render(kind, &rec, "http://h/scim/v2.0/organizations/o");
    let (again, again_members) = core::normalize(kind, rendered.clone()).unwrap_or_else(|e| {
        panic!("a rendered resource is refused as a PUT body: {e:?}\n{rendered}")
    });
    assert_eq!(again, resource, "GET then PUT changed the resource");
    let set = |m: &[String]| m.iter().cloned().collect::<BTreeSet<_>>();
    assert_eq!(
        set(&again_members),
        set(&members),
        "GET then PUT changed the members"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_scan_counts_placeholders_outside_literals() {
        let sqlite = |sql| scan_sql(sql, Dialect::Sqlite);
        assert_eq!(sqlite("(a = ? AND b LIKE '?%')"), (vec![0], true));
        assert_eq!(
            sqlite("json_extract(r.resource, '$.\"a\"') = ?"),
            (vec![0], true)
        );
        assert!(!sqlite("(a = ?").1);
        assert!(!sqlite("a = 'x").1);
        assert!(!sqlite(") (").1);
        assert_eq!(
            scan_sql("(a->>'$1' = $1 AND b LIKE $12)", Dialect::Postgres),
            (vec![1, 12], true)
        );
    }

    #[test]
    fn the_samples_are_canonical_and_valid() {
        assert!(canonical(&sample_user()));
        assert!(canonical(&group_with_members()));
        core::check_user(&sample_user(), true).unwrap();
        core::check_group(&sample_group()).unwrap();
    }

    #[test]
    fn entry_points_accept_ordinary_inputs() {
        filter(br#"userName eq "ann@x.io" and emails[type eq "work"]"#);
        filter(b"members[value eq \"a\"]");
        patch(br#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"c"}]}]}"#);
        scim_body(b"\x00{\"userName\":\"z@x.io\",\"password\":\"p\"}");
        scim_body(b"\x01{\"displayName\":\"G\",\"members\":[{\"value\":\"a\"}]}");
        scim_body(b"\x03{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":[{\"op\":\"remove\",\"path\":\"members[value eq \\\"a\\\"]\"}]}");
        // Garbage of every kind returns quietly.
        filter(&[0xff, 0xfe]);
        patch(b"[");
        scim_body(b"");
        scim_body(b"\x02[]");
    }
}
