//! Replays the IdP request corpus (`tests/idp/*.json`, format in `tests/idp/README.md`) at the
//! protocol-core level: normalize_resource for POST/PUT, parse_patch_request + apply_patch for
//! PATCH, parse_list_query + matches for list queries, projection for reads by id.

use scimdesk::scim::filter::matches;
use scimdesk::scim::list::{list_response, parse_list_query, sort_resources};
use scimdesk::scim::patch::{apply_patch, parse_patch_request};
use scimdesk::scim::projection::Projection;
use scimdesk::scim::resource::{check_user_email_rule, normalize_resource};
use scimdesk::scim::schema::{GROUP, ResourceTypeDef, USER};
use scimdesk::scim::{ScimError, ScimResult};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

const MAX_RESULTS: u64 = 200;
const DEFAULT_COUNT: u64 = 100;

fn corpus_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/idp");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/idp exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

fn load(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn resource_type(name: &str) -> &'static ResourceTypeDef {
    match name {
        "User" => &USER,
        "Group" => &GROUP,
        other => panic!("unknown resource_type {other}"),
    }
}

fn initial_list(case: &Value) -> Vec<Value> {
    match case.get("initial") {
        None => vec![],
        Some(Value::Array(items)) => items.clone(),
        Some(one) => vec![one.clone()],
    }
}

fn query_params(request: &Value) -> Vec<(String, String)> {
    request
        .get("query")
        .and_then(Value::as_object)
        .map(|q| {
            q.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().expect("query values are strings").into(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The id after `/Users/` or `/Groups/`, if any.
fn path_id(path: &str) -> Option<&str> {
    let rest = path.trim_start_matches('/');
    rest.split_once('/').map(|(_, id)| id)
}

fn find_initial(initial: &[Value], id: &str) -> ScimResult<Value> {
    initial
        .iter()
        .find(|r| r["id"] == id)
        .cloned()
        .ok_or_else(|| ScimError::not_found(format!("{id} not found")))
}

/// What the server's core does with the request: the status and the body on success.
fn replay(case: &Value) -> ScimResult<(u16, Value)> {
    let rt = resource_type(case["resource_type"].as_str().unwrap());
    let request = &case["request"];
    let method = request["method"].as_str().unwrap();
    let path = request["path"].as_str().unwrap();
    let initial = initial_list(case);
    let params = query_params(request);
    let is_user = std::ptr::eq(rt, &USER);
    match (method, path_id(path)) {
        ("POST", None) => {
            let normalized = normalize_resource(rt, request["body"].clone())?;
            let mut resource = normalized.resource;
            if is_user {
                check_user_email_rule(&resource)?;
                let name = resource["userName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let taken = initial.iter().any(|r| {
                    r["userName"]
                        .as_str()
                        .is_some_and(|u| u.eq_ignore_ascii_case(&name))
                });
                if taken {
                    return Err(ScimError::uniqueness(format!("{name} exists")));
                }
            }
            resource["id"] = json!("new-id");
            Ok((201, resource))
        }
        ("PUT", Some(id)) => {
            find_initial(&initial, id)?;
            let mut resource = normalize_resource(rt, request["body"].clone())?.resource;
            if is_user {
                check_user_email_rule(&resource)?;
            }
            resource["id"] = json!(id);
            Ok((200, resource))
        }
        ("PATCH", Some(id)) => {
            let current = find_initial(&initial, id)?;
            let ops = parse_patch_request(&request["body"])?;
            let outcome = apply_patch(rt, &current, &ops)?;
            if is_user {
                check_user_email_rule(&outcome.resource)?;
            }
            Ok((200, outcome.resource))
        }
        ("GET", Some(id)) => {
            let current = find_initial(&initial, id)?;
            let get = |name: &str| {
                params
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.as_str())
            };
            let projection = Projection::parse(get("attributes"), get("excludedAttributes"))?;
            Ok((200, projection.apply(rt, &current)))
        }
        ("GET", None) => {
            let query = parse_list_query(&params, rt, MAX_RESULTS, DEFAULT_COUNT)?;
            let mut found: Vec<Value> = initial
                .into_iter()
                .filter(|r| query.filter.as_ref().is_none_or(|f| matches(f, r, rt)))
                .collect();
            if let Some(by) = &query.sort_by {
                sort_resources(rt, &mut found, by, query.sort_order);
            }
            let total = found.len() as u64;
            let page = found
                .iter()
                .skip((query.start_index - 1) as usize)
                .take(query.count as usize)
                .map(|r| query.projection.apply(rt, r))
                .collect();
            Ok((200, list_response(page, total, query.start_index)))
        }
        other => panic!("the core replayer does not handle {other:?}"),
    }
}

/// `expected` is a subset of `actual`, per the rules in tests/idp/README.md.
fn subset(expected: &Value, actual: &Value, at: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                let av = a
                    .get(k)
                    .ok_or_else(|| format!("{at}.{k}: missing in {actual}"))?;
                subset(ev, av, &format!("{at}.{k}"))?;
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                return Err(format!(
                    "{at}: expected {} elements, got {}: {actual}",
                    e.len(),
                    a.len()
                ));
            }
            let mut used = vec![false; a.len()];
            for (i, ev) in e.iter().enumerate() {
                let slot = (0..a.len())
                    .find(|&j| !used[j] && subset(ev, &a[j], "").is_ok())
                    .ok_or_else(|| format!("{at}[{i}]: no element matches {ev} in {actual}"))?;
                used[slot] = true;
            }
            Ok(())
        }
        _ if expected == actual => Ok(()),
        _ => Err(format!("{at}: expected {expected}, got {actual}")),
    }
}

fn check_absent(keys: &[Value], body: &Value) -> Result<(), String> {
    let resources: Vec<&Value> = match body.get("Resources").and_then(Value::as_array) {
        Some(list) => list.iter().collect(),
        None => vec![body],
    };
    for key in keys.iter().filter_map(Value::as_str) {
        for r in &resources {
            if r.get(key).is_some() {
                return Err(format!("{key} must be absent from {r}"));
            }
        }
    }
    Ok(())
}

fn check_case(case: &Value) -> Result<(), String> {
    let expect = &case["expect"];
    let status = expect["status"].as_u64().unwrap() as u16;
    match replay(case) {
        Ok((got, body)) => {
            if got != status {
                return Err(format!("expected status {status}, got {got}: {body}"));
            }
            if let Some(want) = expect.get("resource") {
                subset(want, &body, "$")?;
            }
            if let Some(Value::Array(keys)) = expect.get("absent") {
                check_absent(keys, &body)?;
            }
            Ok(())
        }
        Err(e) => {
            let want_type = expect.get("scimType").and_then(Value::as_str);
            let got_type = e.scim_type.map(|t| t.as_str());
            if e.status != status || want_type != got_type {
                return Err(format!(
                    "expected {status} {want_type:?}, got {} {got_type:?}: {}",
                    e.status, e.detail
                ));
            }
            if let Some(want) = expect.get("detail").and_then(Value::as_str)
                && !e.detail.contains(want)
            {
                return Err(format!("the error detail lacks {want:?}: {}", e.detail));
            }
            // Whatever the error, it must render as a SCIM Error document, status as a string.
            let doc = e.to_json();
            if doc["status"].as_str().and_then(|s| s.parse::<u16>().ok()) != Some(status) {
                return Err(format!("error document has the wrong status: {doc}"));
            }
            Ok(())
        }
    }
}

#[test]
fn every_corpus_case_gives_its_expected_outcome() {
    let files = corpus_files();
    let failures: Vec<String> = files
        .iter()
        .filter_map(|f| {
            check_case(&load(f))
                .err()
                .map(|e| format!("{}: {e}", f.file_name().unwrap().to_string_lossy()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} corpus cases failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn corpus_is_large_well_formed_and_covers_each_idp() {
    let files = corpus_files();
    assert!(files.len() >= 30, "only {} cases", files.len());
    let mut idps = std::collections::BTreeSet::new();
    let mut errors = 0;
    for f in &files {
        let case = load(f);
        for key in [
            "idp",
            "source",
            "description",
            "resource_type",
            "request",
            "expect",
        ] {
            assert!(case.get(key).is_some(), "{}: no {key}", f.display());
        }
        let method = case["request"]["method"].as_str().unwrap();
        assert!(
            ["GET", "POST", "PUT", "PATCH"].contains(&method),
            "{}: method {method}",
            f.display()
        );
        let status = case["expect"]["status"].as_u64().unwrap();
        if status >= 400 {
            errors += 1;
        }
        idps.insert(case["idp"].as_str().unwrap().to_string());
    }
    for idp in ["okta", "entra", "onelogin"] {
        assert!(idps.contains(idp), "no {idp} case");
    }
    assert!(errors >= 10, "only {errors} bad-input cases");
}

#[test]
fn subset_matching_is_strict_where_it_must_be() {
    let actual = json!({"a": 1, "m": [{"value": "x", "d": 1}, {"value": "y"}]});
    assert!(
        subset(
            &json!({"m": [{"value": "y"}, {"value": "x"}]}),
            &actual,
            "$"
        )
        .is_ok()
    );
    assert!(subset(&json!({"m": [{"value": "x"}]}), &actual, "$").is_err());
    assert!(
        subset(
            &json!({"m": [{"value": "x"}, {"value": "x"}]}),
            &actual,
            "$"
        )
        .is_err()
    );
    assert!(subset(&json!({"b": 1}), &actual, "$").is_err());
    assert!(subset(&json!({"a": "1"}), &actual, "$").is_err());
    assert!(check_absent(&[json!("a")], &actual).is_err());
    assert!(check_absent(&[json!("z")], &json!({"Resources": [{"z": 1}]})).is_err());
    assert!(check_absent(&[json!("z")], &json!({"Resources": [{"y": 1}]})).is_ok());
}
