//! Bulk requests (RFC 7644 §3.7), the part without I/O: parsing a BulkRequest, finding the
//! `bulkId:` references of each operation, ordering the operations so that each runs after
//! the creations it references, and substituting the created ids.
//!
//! Ordering keeps the request's order wherever references allow: operations run in rounds,
//! each round taking, in request order, every operation whose references are settled (the
//! POST that defines each of them has run, whether it succeeded or not). An operation that
//! never becomes ready is part of, or depends on, a cycle of references.

use super::ScimError;
use super::error::ScimType;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

pub const BULK_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const BULK_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
const BULK_ID_PREFIX: &str = "bulkId:";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// The resource type an operation's path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Users,
    Groups,
}

/// One operation as the client sent it, checked for shape.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkOp {
    pub method: Method,
    pub bulk_id: Option<String>,
    pub endpoint: Endpoint,
    /// The resource id of PUT, PATCH and DELETE (possibly a `bulkId:` reference).
    pub id: Option<String>,
    /// `version`: an entity tag the resource must match (as If-Match).
    pub version: Option<String>,
    pub data: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BulkRequest {
    /// Stop after this many errors; `None` runs every operation.
    pub fail_on_errors: Option<u64>,
    /// Each operation, or why it cannot run (reported as its own result, the others run).
    pub ops: Vec<Result<BulkOp, ScimError>>,
    /// The `method` of each operation as sent, for its result.
    pub methods: Vec<String>,
    /// The `bulkId` of each operation as sent, for its result.
    pub bulk_ids: Vec<Option<String>>,
}

/// Parses a BulkRequest body. A body that is not a BulkRequest at all, or one with more than
/// `max_operations` operations (413), is refused whole; a malformed operation fails alone.
pub fn parse_request(body: &Value, max_operations: usize) -> Result<BulkRequest, ScimError> {
    let obj = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("a BulkRequest must be a JSON object"))?;
    let schemas = get_ci(obj, "schemas").and_then(Value::as_array);
    if !schemas.is_some_and(|s| s.iter().any(|v| v.as_str() == Some(BULK_REQUEST_SCHEMA))) {
        return Err(ScimError::invalid_syntax(format!(
            "schemas must contain \"{BULK_REQUEST_SCHEMA}\""
        )));
    }
    let fail_on_errors = match get_ci(obj, "failOnErrors") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 => Some(n),
            _ => {
                return Err(ScimError::invalid_value(
                    "failOnErrors must be an integer of at least 1",
                ));
            }
        },
    };
    let list = match get_ci(obj, "Operations") {
        Some(Value::Array(a)) => a,
        _ => {
            return Err(ScimError::invalid_syntax(
                "a BulkRequest needs an \"Operations\" array",
            ));
        }
    };
    if list.len() > max_operations {
        return Err(ScimError::payload_too_large(format!(
            "the bulk request has {} operations; the limit (maxOperations) is {max_operations}",
            list.len()
        )));
    }
    let mut seen = HashSet::new();
    let mut ops = Vec::with_capacity(list.len());
    let mut methods = Vec::with_capacity(list.len());
    let mut bulk_ids = Vec::with_capacity(list.len());
    for raw in list {
        let method = raw
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let bulk_id = raw
            .get("bulkId")
            .and_then(Value::as_str)
            .map(str::to_string);
        let op = parse_op(raw).and_then(|op| match &op.bulk_id {
            Some(b) if !seen.insert(b.clone()) => Err(ScimError::invalid_value(format!(
                "bulkId '{b}' is used by an earlier operation: each must be unique"
            ))),
            _ => Ok(op),
        });
        methods.push(method);
        bulk_ids.push(bulk_id);
        ops.push(op);
    }
    Ok(BulkRequest {
        fail_on_errors,
        ops,
        methods,
        bulk_ids,
    })
}

fn get_ci<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

fn parse_op(raw: &Value) -> Result<BulkOp, ScimError> {
    let obj = raw
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("each operation must be a JSON object"))?;
    let method = match get_ci(obj, "method").and_then(Value::as_str) {
        Some(m) if m.eq_ignore_ascii_case("POST") => Method::Post,
        Some(m) if m.eq_ignore_ascii_case("PUT") => Method::Put,
        Some(m) if m.eq_ignore_ascii_case("PATCH") => Method::Patch,
        Some(m) if m.eq_ignore_ascii_case("DELETE") => Method::Delete,
        Some(m) => {
            return Err(ScimError::invalid_value(format!(
                "method '{}': expected POST, PUT, PATCH or DELETE",
                m.chars().take(20).collect::<String>()
            )));
        }
        None => return Err(ScimError::invalid_syntax("an operation needs a \"method\"")),
    };
    let bulk_id = match get_ci(obj, "bulkId") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(_) => {
            return Err(ScimError::invalid_value(
                "bulkId must be a non-empty string",
            ));
        }
    };
    if method == Method::Post && bulk_id.is_none() {
        return Err(ScimError::invalid_syntax("a POST operation needs a bulkId"));
    }
    let path = get_ci(obj, "path")
        .and_then(Value::as_str)
        .ok_or_else(|| ScimError::invalid_syntax("an operation needs a \"path\""))?;
    let (endpoint, id) = parse_path(path)?;
    match (method, &id) {
        (Method::Post, Some(_)) => {
            return Err(ScimError::invalid_path(format!(
                "POST goes to /Users or /Groups, not to '{path}'"
            )));
        }
        (Method::Put | Method::Patch | Method::Delete, None) => {
            return Err(ScimError::invalid_path(format!(
                "{} needs the path of one resource, such as /Users/{{id}}",
                method.as_str()
            )));
        }
        _ => {}
    }
    let data = match get_ci(obj, "data") {
        None | Some(Value::Null) => None,
        Some(d @ Value::Object(_)) => Some(d.clone()),
        Some(_) => return Err(ScimError::invalid_syntax("data must be a JSON object")),
    };
    if data.is_none() && method != Method::Delete {
        return Err(ScimError::invalid_syntax(format!(
            "a {} operation needs \"data\"",
            method.as_str()
        )));
    }
    let version = get_ci(obj, "version")
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(BulkOp {
        method,
        bulk_id,
        endpoint,
        id,
        version,
        data,
    })
}

/// `/Users`, `/Groups/{id}` and the like (the leading slash optional).
fn parse_path(path: &str) -> Result<(Endpoint, Option<String>), ScimError> {
    let trimmed = path.trim_start_matches('/');
    let (head, id) = match trimmed.split_once('/') {
        Some((h, i)) => (h, Some(i)),
        None => (trimmed, None),
    };
    let endpoint = if head.eq_ignore_ascii_case("Users") {
        Endpoint::Users
    } else if head.eq_ignore_ascii_case("Groups") {
        Endpoint::Groups
    } else {
        return Err(ScimError::invalid_path(format!(
            "path '{}': Bulk handles /Users and /Groups",
            path.chars().take(100).collect::<String>()
        )));
    };
    match id {
        Some(i) if i.is_empty() || i.contains('/') => Err(ScimError::invalid_path(format!(
            "path '{}' names no resource",
            path.chars().take(100).collect::<String>()
        ))),
        other => Ok((endpoint, other.map(str::to_string))),
    }
}

impl BulkOp {
    /// The bulkIds this operation references, in its path or anywhere in its data.
    pub fn references(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(b) = self
            .id
            .as_deref()
            .and_then(|i| i.strip_prefix(BULK_ID_PREFIX))
        {
            out.push(b.to_string());
        }
        if let Some(d) = &self.data {
            collect_refs(d, &mut out);
        }
        out.sort();
        out.dedup();
        out
    }

    /// Replaces every `bulkId:` reference with the id created for it. Every reference must
    /// be in `created` (the ordering guarantees its POST ran; a failed one is not there).
    pub fn resolve(&mut self, created: &HashMap<String, String>) -> Result<(), ScimError> {
        if let Some(id) = &mut self.id {
            substitute(id, created)?;
        }
        if let Some(d) = &mut self.data {
            resolve_value(d, created)?;
        }
        Ok(())
    }
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => {
            if let Some(b) = s.strip_prefix(BULK_ID_PREFIX) {
                out.push(b.to_string());
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        Value::Object(o) => o.values().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

fn substitute(s: &mut String, created: &HashMap<String, String>) -> Result<(), ScimError> {
    if let Some(b) = s.strip_prefix(BULK_ID_PREFIX) {
        match created.get(b) {
            Some(id) => *s = id.clone(),
            None => return Err(unresolved(b)),
        }
    }
    Ok(())
}

fn resolve_value(v: &mut Value, created: &HashMap<String, String>) -> Result<(), ScimError> {
    match v {
        Value::String(s) => substitute(s, created),
        Value::Array(a) => a.iter_mut().try_for_each(|x| resolve_value(x, created)),
        Value::Object(o) => o.values_mut().try_for_each(|x| resolve_value(x, created)),
        _ => Ok(()),
    }
}

/// A reference to a bulkId whose POST failed or that no operation defines (RFC 7644 §3.7.3:
/// 409 with `invalidValue`).
pub fn unresolved(bulk_id: &str) -> ScimError {
    ScimError::new(
        409,
        Some(ScimType::InvalidValue),
        format!(
            "bulkId '{}' could not be resolved: no operation of this request created it",
            bulk_id.chars().take(100).collect::<String>()
        ),
    )
}

/// Operations that reference each other in a cycle (RFC 7644 §3.7.1: 409).
pub fn circular(bulk_id: &str) -> ScimError {
    ScimError::new(
        409,
        Some(ScimType::InvalidValue),
        format!(
            "circular bulkId reference: this operation depends, through '{}', on itself",
            bulk_id.chars().take(100).collect::<String>()
        ),
    )
}

/// The order in which to run operations: rounds of indexes into the request, each in
/// request order, and the operations that cannot run with their error (references to a
/// bulkId that no operation defines, and cycles).
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub rounds: Vec<Vec<usize>>,
    pub refused: Vec<(usize, ScimError)>,
}

pub fn plan(ops: &[Result<BulkOp, ScimError>]) -> Plan {
    let defined: HashMap<&str, usize> = ops
        .iter()
        .enumerate()
        .filter_map(|(i, op)| {
            let op = op.as_ref().ok()?;
            (op.method == Method::Post)
                .then_some(())
                .and(op.bulk_id.as_deref().map(|b| (b, i)))
        })
        .collect();
    let mut refused = Vec::new();
    let mut waiting: Vec<(usize, Vec<usize>)> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let Ok(op) = op else { continue };
        let refs = op.references();
        if let Some(missing) = refs.iter().find(|b| !defined.contains_key(b.as_str())) {
            refused.push((i, unresolved(missing)));
            continue;
        }
        let deps = refs.iter().map(|b| defined[b.as_str()]).collect();
        waiting.push((i, deps));
    }
    // An operation refused up front settles nothing it defines: its dependents are refused
    // when they run (their reference does not resolve).
    let mut done: HashSet<usize> = refused.iter().map(|(i, _)| *i).collect();
    let mut rounds = Vec::new();
    loop {
        let (ready, rest): (Vec<_>, Vec<_>) = waiting
            .into_iter()
            .partition(|(_, deps)| deps.iter().all(|d| done.contains(d)));
        waiting = rest;
        if ready.is_empty() {
            break;
        }
        let round: Vec<usize> = ready.into_iter().map(|(i, _)| i).collect();
        done.extend(round.iter().copied());
        rounds.push(round);
    }
    for (i, deps) in waiting {
        let through = deps
            .iter()
            .find(|d| !done.contains(d))
            .and_then(|d| ops[*d].as_ref().ok())
            .and_then(|op| op.bulk_id.clone())
            .unwrap_or_default();
        refused.push((i, circular(&through)));
    }
    refused.sort_by_key(|(i, _)| *i);
    Plan { rounds, refused }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(ops: Value) -> BulkRequest {
        parse_request(
            &json!({"schemas": [BULK_REQUEST_SCHEMA], "Operations": ops}),
            100,
        )
        .unwrap()
    }

    fn user(bulk_id: &str) -> Value {
        json!({"method": "POST", "path": "/Users", "bulkId": bulk_id,
               "data": {"userName": format!("{bulk_id}@example.com")}})
    }

    fn group(bulk_id: &str, members: &[&str]) -> Value {
        let members: Vec<Value> = members
            .iter()
            .map(|m| json!({"value": format!("bulkId:{m}")}))
            .collect();
        json!({"method": "POST", "path": "/Groups", "bulkId": bulk_id,
               "data": {"displayName": bulk_id, "members": members}})
    }

    #[test]
    fn parses_every_method_and_refuses_bad_operations_alone() {
        let r = req(json!([
            user("u1"),
            {"method": "PUT", "path": "/Users/abc", "data": {"userName": "a@x.io"}},
            {"method": "patch", "path": "Groups/g1", "version": "W/\"3\"", "data": {"Operations": []}},
            {"method": "DELETE", "path": "/Users/abc"},
            {"method": "GET", "path": "/Users/abc"},
            {"method": "POST", "path": "/Users", "data": {}},
            {"method": "POST", "path": "/Users/x", "bulkId": "b", "data": {}},
            {"method": "DELETE", "path": "/Users"},
            {"method": "PUT", "path": "/Users/abc"},
            {"method": "POST", "path": "/Widgets", "bulkId": "w", "data": {}},
        ]));
        assert_eq!(r.ops.len(), 10);
        assert!(r.ops[..4].iter().all(Result::is_ok));
        let patch = r.ops[2].as_ref().unwrap();
        assert_eq!(patch.method, Method::Patch);
        assert_eq!(patch.endpoint, Endpoint::Groups);
        assert_eq!(patch.id.as_deref(), Some("g1"));
        assert_eq!(patch.version.as_deref(), Some("W/\"3\""));
        for e in &r.ops[4..] {
            let e = e.as_ref().unwrap_err();
            assert_eq!(e.status, 400, "{e:?}");
        }
        assert_eq!(r.methods[4], "GET");
    }

    #[test]
    fn refuses_a_request_that_is_no_bulk_request_or_too_large() {
        let e = parse_request(&json!({"Operations": []}), 10).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
        let e = parse_request(&json!({"schemas": [BULK_REQUEST_SCHEMA]}), 10).unwrap_err();
        assert_eq!(e.status, 400);
        let e = parse_request(
            &json!({"schemas": [BULK_REQUEST_SCHEMA], "Operations": [user("a"), user("b")]}),
            1,
        )
        .unwrap_err();
        assert_eq!(e.status, 413);
        assert!(e.detail.contains("maxOperations") && e.detail.contains('1'));
        let e = parse_request(
            &json!({"schemas": [BULK_REQUEST_SCHEMA], "failOnErrors": 0, "Operations": []}),
            1,
        )
        .unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
    }

    #[test]
    fn a_duplicate_bulk_id_fails_the_later_operation() {
        let r = req(json!([user("a"), user("a")]));
        assert!(r.ops[0].is_ok());
        assert!(r.ops[1].as_ref().unwrap_err().detail.contains("unique"));
    }

    #[test]
    fn references_are_found_in_the_path_and_anywhere_in_the_data() {
        let r = req(json!([
            {"method": "PATCH", "path": "/Groups/bulkId:g", "data": {"Operations": [
                {"op": "add", "path": "members", "value": [{"value": "bulkId:u2"}, {"value": "bulkId:u1"}]}
            ]}},
        ]));
        assert_eq!(r.ops[0].as_ref().unwrap().references(), ["g", "u1", "u2"]);
    }

    #[test]
    fn operations_run_after_the_creations_they_reference_in_either_order() {
        let r = req(json!([
            group("g", &["u1", "u2"]),
            user("u1"),
            {"method": "DELETE", "path": "/Users/zzz"},
            user("u2"),
        ]));
        let p = plan(&r.ops);
        assert_eq!(p.rounds, vec![vec![1, 2, 3], vec![0]]);
        assert!(p.refused.is_empty());
        // A reference backwards needs no reordering beyond a second round.
        let r = req(json!([user("u1"), group("g", &["u1"])]));
        assert_eq!(plan(&r.ops).rounds, vec![vec![0], vec![1]]);
    }

    #[test]
    fn cycles_and_unknown_references_are_refused_with_409() {
        let r = req(json!([
            group("a", &["b"]),
            group("b", &["a"]),
            group("self", &["self"]),
            group("later", &["a"]),
            group("lost", &["nobody"]),
            user("fine"),
        ]));
        let p = plan(&r.ops);
        assert_eq!(p.rounds, vec![vec![5]]);
        let refused: Vec<usize> = p.refused.iter().map(|(i, _)| *i).collect();
        assert_eq!(refused, [0, 1, 2, 3, 4]);
        assert!(
            p.refused
                .iter()
                .all(|(_, e)| e.status == 409 && e.scim_type == Some(ScimType::InvalidValue))
        );
        assert!(p.refused[0].1.detail.contains("circular"));
        assert!(p.refused[4].1.detail.contains("nobody"));
    }

    #[test]
    fn resolving_substitutes_created_ids_and_names_a_missing_one() {
        let r = req(json!([group("g", &["u1", "u2"])]));
        let mut op = r.ops[0].clone().unwrap();
        let created = HashMap::from([("u1".to_string(), "id-1".to_string())]);
        let e = op.clone().resolve(&created).unwrap_err();
        assert_eq!(e.status, 409);
        assert!(e.detail.contains("u2"));
        let created = HashMap::from([
            ("u1".to_string(), "id-1".to_string()),
            ("u2".to_string(), "id-2".to_string()),
        ]);
        op.resolve(&created).unwrap();
        assert_eq!(
            op.data.unwrap()["members"],
            json!([{"value": "id-1"}, {"value": "id-2"}])
        );
    }
}
