//! The PatchOp request body: operations with their kinds, paths and values.

use crate::scim::error::{ScimError, ScimResult};
use crate::scim::filter::PatchPath;
use crate::scim::schema::PATCH_OP_SCHEMA;
use serde_json::{Map, Value};

use crate::scim::filter::parse_patch_path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOpKind {
    Add,
    Remove,
    Replace,
}

impl PatchOpKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PatchOpKind::Add => "add",
            PatchOpKind::Remove => "remove",
            PatchOpKind::Replace => "replace",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PatchOp {
    pub op: PatchOpKind,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

/// The entry of `obj` whose key equals `key` in any case.
fn get_ci<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// Parse and check a PatchOp request body.
pub fn parse_patch_request(body: &Value) -> ScimResult<Vec<PatchOp>> {
    let Some(obj) = body.as_object() else {
        return Err(ScimError::invalid_syntax("the body must be a JSON object"));
    };
    let has_schema = match get_ci(obj, "schemas") {
        Some(Value::Array(list)) => list.iter().any(|s| {
            s.as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case(PATCH_OP_SCHEMA))
        }),
        _ => false,
    };
    if !has_schema {
        return Err(ScimError::invalid_syntax(format!(
            "schemas: must include {PATCH_OP_SCHEMA}"
        )));
    }
    let ops = match get_ci(obj, "Operations") {
        Some(Value::Array(ops)) if !ops.is_empty() => ops,
        _ => {
            return Err(ScimError::invalid_syntax(
                "Operations: expected an array of one or more operations",
            ));
        }
    };
    ops.iter()
        .enumerate()
        .map(|(i, op)| parse_op(i, op))
        .collect()
}

fn parse_op(i: usize, op: &Value) -> ScimResult<PatchOp> {
    let Some(obj) = op.as_object() else {
        return Err(ScimError::invalid_syntax(format!(
            "Operations[{i}]: expected an object"
        )));
    };
    let name = get_ci(obj, "op").and_then(Value::as_str).unwrap_or("");
    let kind = [PatchOpKind::Add, PatchOpKind::Remove, PatchOpKind::Replace]
        .into_iter()
        .find(|k| k.as_str().eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            ScimError::invalid_syntax(format!(
                "Operations[{i}].op: expected add, remove or replace, got {name:?}"
            ))
        })?;
    let path =
        match get_ci(obj, "path") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(parse_patch_path(s.trim()).map_err(|e| {
                ScimError::invalid_path(format!("Operations[{i}].path: {}", e.detail))
            })?),
            Some(_) => {
                return Err(ScimError::invalid_path(format!(
                    "Operations[{i}].path: expected a string"
                )));
            }
        };
    let value = get_ci(obj, "value").cloned();
    match kind {
        PatchOpKind::Remove if path.is_none() => Err(ScimError::no_target(format!(
            "Operations[{i}]: remove needs a path"
        ))),
        PatchOpKind::Add | PatchOpKind::Replace if value.is_none() => Err(
            ScimError::invalid_syntax(format!("Operations[{i}]: {} needs a value", kind.as_str())),
        ),
        _ => Ok(PatchOp {
            op: kind,
            path,
            value,
        }),
    }
}
