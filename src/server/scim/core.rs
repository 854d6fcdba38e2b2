//! The seam between the HTTP handlers and the protocol core in `crate::scim`: every call
//! into normalization, PATCH, projection, list queries and discovery goes through here.

use crate::scim::discovery;
use crate::scim::schema::{self, ResourceTypeDef};
use crate::scim::{ScimError, ScimResult};
use crate::store::{Kind, MemberOp, MemberRef, ResourceRecord};
use serde_json::{Map, Value, json};

pub fn rt(kind: Kind) -> &'static ResourceTypeDef {
    match kind {
        Kind::User => &schema::USER,
        Kind::Group => &schema::GROUP,
    }
}

/// Validates and canonicalizes a POST/PUT body. Returns the resource without members and,
/// for a group, the member ids it names. A password is dropped here: users sign in through
/// the IdP, so nothing is ever stored for it.
pub fn normalize(kind: Kind, body: Value) -> ScimResult<(Value, Vec<String>)> {
    let mut obj = match body {
        Value::Object(o) => o,
        _ => return Err(ScimError::invalid_syntax("the body must be a JSON object")),
    };
    for k in ["id", "meta", "schemas", "password", "groups"] {
        let key = obj.keys().find(|x| x.eq_ignore_ascii_case(k)).cloned();
        if let Some(key) = key {
            obj.remove(&key);
        }
    }
    let mut resource = Value::Object(obj);
    let members = match kind {
        Kind::Group => take_members(&mut resource)?,
        Kind::User => Vec::new(),
    };
    Ok((resource, members))
}

/// Removes `members` from a canonical group and returns their ids.
pub fn take_members(resource: &mut Value) -> ScimResult<Vec<String>> {
    let Some(obj) = resource.as_object_mut() else {
        return Ok(Vec::new());
    };
    let Some(members) = obj.remove("members") else {
        return Ok(Vec::new());
    };
    let list = match members {
        Value::Array(a) => a,
        Value::Null => Vec::new(),
        other => vec![other],
    };
    let mut ids = Vec::with_capacity(list.len());
    for m in list {
        match m.get("value") {
            Some(Value::String(s)) => ids.push(s.clone()),
            _ => {
                return Err(ScimError::invalid_value(
                    "members: each member needs a string 'value'",
                ));
            }
        }
    }
    Ok(ids)
}

/// The resource as a client sees it: id, schemas, meta and, for a group, members.
pub fn render(kind: Kind, rec: &ResourceRecord, base: &str) -> Value {
    let rt = rt(kind);
    let location = format!("{base}/{}/{}", rt.endpoint.trim_start_matches('/'), rec.id);
    let mut out = Map::new();
    let mut schemas = vec![Value::String(rt.schema.id.to_string())];
    if let Value::Object(obj) = &rec.resource {
        for (ext, _) in rt.extensions {
            if obj.contains_key(ext.id) {
                schemas.push(Value::String(ext.id.to_string()));
            }
        }
        out.insert("schemas".into(), Value::Array(schemas));
        out.insert("id".into(), Value::String(rec.id.clone()));
        for (k, v) in obj {
            out.insert(k.clone(), v.clone());
        }
    }
    if let Some(members) = &rec.members {
        out.insert("members".into(), members_json(members, base));
    }
    out.insert(
        "meta".into(),
        json!({
            "resourceType": rt.name,
            "created": rec.created,
            "lastModified": rec.last_modified,
            "location": location,
            "version": etag(rec.version),
        }),
    );
    Value::Object(out)
}

pub fn members_json(members: &[MemberRef], base: &str) -> Value {
    Value::Array(
        members
            .iter()
            .map(|m| {
                let mut v = json!({
                    "value": m.id,
                    "$ref": format!("{base}/Users/{}", m.id),
                    "type": "User",
                });
                if let Some(d) = &m.display {
                    v["display"] = Value::String(d.clone());
                }
                v
            })
            .collect(),
    )
}

pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

pub fn member_op_from_ids(ids: Vec<String>) -> MemberOp {
    MemberOp::ReplaceAll(ids)
}

/// Looks a query parameter up by name in any case (SCIM parameter names are
/// case-insensitive).
pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `attributes` / `excludedAttributes` of a request.
#[derive(Debug, Clone, Default)]
pub struct Proj {
    attributes: Vec<String>,
    excluded: Vec<String>,
}

impl Proj {
    pub fn from_params(params: &[(String, String)]) -> ScimResult<Proj> {
        let split = |v: Option<&str>| -> Vec<String> {
            v.map(|s| {
                s.split(',')
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty())
                    .collect()
            })
            .unwrap_or_default()
        };
        Ok(Proj {
            attributes: split(param(params, "attributes")),
            excluded: split(param(params, "excludedAttributes")),
        })
    }

    /// Whether a group's members need loading at all.
    pub fn wants_members(&self) -> bool {
        let names = |v: &[String]| v.iter().any(|a| a.eq_ignore_ascii_case("members"));
        if !self.attributes.is_empty() {
            return names(&self.attributes);
        }
        !names(&self.excluded)
    }

    pub fn apply(&self, _kind: Kind, resource: Value) -> Value {
        let Value::Object(mut obj) = resource else {
            return resource;
        };
        let always = ["id", "schemas", "meta"];
        if !self.attributes.is_empty() {
            obj.retain(|k, _| {
                always.iter().any(|a| a.eq_ignore_ascii_case(k))
                    || self.attributes.iter().any(|a| a.eq_ignore_ascii_case(k))
            });
        }
        obj.retain(|k, _| {
            always.iter().any(|a| a.eq_ignore_ascii_case(k))
                || !self.excluded.iter().any(|a| a.eq_ignore_ascii_case(k))
        });
        Value::Object(obj)
    }
}

/// A parsed list request.
#[derive(Debug, Clone)]
pub struct ListParams {
    pub filter: Option<crate::scim::filter::Filter>,
    pub sort_by: Option<crate::scim::path::AttrPath>,
    pub descending: bool,
    /// 1-based.
    pub start_index: u64,
    pub count: u64,
    pub proj: Proj,
}

pub fn parse_list(
    _kind: Kind,
    params: &[(String, String)],
    max_results: u64,
    default_count: u64,
) -> ScimResult<ListParams> {
    let num = |name: &str| -> ScimResult<Option<i64>> {
        match param(params, name) {
            None => Ok(None),
            Some(v) => v.trim().parse::<i64>().map(Some).map_err(|_| {
                ScimError::invalid_value(format!("{name}: expected an integer, got '{v}'"))
            }),
        }
    };
    let start_index = num("startIndex")?.unwrap_or(1).max(1) as u64;
    let count = match num("count")? {
        None => default_count,
        Some(c) => c.max(0) as u64,
    }
    .min(max_results);
    if param(params, "filter").is_some() {
        return Err(ScimError::invalid_filter(
            "filtering is not available on this server yet",
        ));
    }
    Ok(ListParams {
        filter: None,
        sort_by: None,
        descending: false,
        start_index,
        count,
        proj: Proj::from_params(params)?,
    })
}

pub fn list_response(resources: Vec<Value>, total: u64, start_index: u64) -> Value {
    crate::scim::list::list_response(resources, total, start_index)
}

/// A parsed PATCH request (RFC 7644 §3.5.2), ready to apply inside the store's transaction.
#[derive(Debug, Clone)]
pub struct PatchRequest {
    ops: Vec<Value>,
}

impl PatchRequest {
    pub fn parse(_kind: Kind, body: &Value) -> ScimResult<PatchRequest> {
        let _ = body;
        Err(ScimError::not_implemented(
            "PATCH is not available on this server yet",
        ))
    }

    /// Whether applying needs a group's full member list loaded.
    pub fn needs_members(&self) -> bool {
        !self.ops.is_empty()
    }

    /// Applies to a stored record (members loaded when [`Self::needs_members`]): the new
    /// resource without members, and member-set changes.
    pub fn apply(&self, _kind: Kind, _rec: &ResourceRecord) -> ScimResult<(Value, Vec<MemberOp>)> {
        Err(ScimError::not_implemented(
            "PATCH is not available on this server yet",
        ))
    }
}

/// Product rule for users: userName is the email; the primary email must equal it.
/// With `user_name_is_email` off, any non-empty userName is accepted.
pub fn check_user(resource: &Value, user_name_is_email: bool) -> ScimResult<()> {
    let name = match resource.get("userName") {
        Some(Value::String(s)) if !s.trim().is_empty() => s,
        Some(_) => return Err(ScimError::invalid_value("userName: expected a string")),
        None => return Err(ScimError::invalid_value("userName is required")),
    };
    if !user_name_is_email {
        return Ok(());
    }
    if !looks_like_email(name) {
        return Err(ScimError::invalid_value(format!(
            "userName must be the user's email address, got '{}'",
            name.chars().take(100).collect::<String>()
        )));
    }
    check_primary_email(resource)
}

fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && !domain.is_empty() && !s.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

fn check_primary_email(resource: &Value) -> ScimResult<()> {
    let name = resource["userName"].as_str().unwrap_or_default();
    let emails = resource.get("emails").and_then(Value::as_array);
    let Some(emails) = emails.filter(|e| !e.is_empty()) else {
        return Ok(());
    };
    let primary = emails
        .iter()
        .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true))
        .or(if emails.len() == 1 {
            emails.first()
        } else {
            None
        });
    match primary.and_then(|p| p.get("value")).and_then(Value::as_str) {
        Some(v) if v.eq_ignore_ascii_case(name) => Ok(()),
        Some(v) => Err(ScimError::invalid_value(format!(
            "emails: the primary email '{v}' must equal userName '{name}'"
        ))),
        None => Ok(()),
    }
}

pub fn check_group(resource: &Value) -> ScimResult<()> {
    match resource.get("displayName") {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(()),
        Some(_) => Err(ScimError::invalid_value("displayName: expected a string")),
        None => Err(ScimError::invalid_value("displayName is required")),
    }
}

pub fn service_provider_config(base: &str, max_results: u64) -> Value {
    let cfg = discovery::SpConfig {
        filter_max_results: max_results,
        bulk_max_payload_size: crate::server::http::MAX_BODY_BYTES as u64,
        ..discovery::SpConfig::default()
    };
    discovery::service_provider_config(&cfg, base)
}

pub fn resource_types(base: &str) -> Value {
    discovery::resource_types(base)
}

pub fn resource_type(id: &str, base: &str) -> Option<Value> {
    discovery::resource_type(id, base)
}

pub fn schemas(base: &str) -> Value {
    discovery::schemas(base)
}

pub fn schema_doc(id: &str, base: &str) -> Option<Value> {
    discovery::schema(id, base)
}
