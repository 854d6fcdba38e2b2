//! The seam between the HTTP handlers and the protocol core in `crate::scim`: every call
//! into normalization, PATCH, projection, list queries and discovery goes through here.

use crate::scim::discovery;
use crate::scim::list::{self, ListQuery};
use crate::scim::patch::{self, GroupPatchPlan, MemberChange, PatchOp};
use crate::scim::projection::Projection;
use crate::scim::resource;
use crate::scim::schema::{self, ResourceTypeDef};
use crate::scim::{ScimError, ScimResult};
use crate::store::{Kind, MemberOp, MemberRef, ResourceRecord};
use serde_json::{Value, json};

pub fn rt(kind: Kind) -> &'static ResourceTypeDef {
    match kind {
        Kind::User => &schema::USER,
        Kind::Group => &schema::GROUP,
    }
}

/// Validates and canonicalizes a POST/PUT body. Returns the resource without members and,
/// for a group, the member ids it names. A password is dropped here: users sign in through
/// the IdP, so nothing is kept of it, not even a hash.
pub fn normalize(kind: Kind, body: Value) -> ScimResult<(Value, Vec<String>)> {
    let mut resource = resource::normalize_resource(rt(kind), body)?.resource;
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
    let mut resource = rec.resource.clone();
    if let (Some(members), Value::Object(obj)) = (&rec.members, &mut resource)
        && !members.is_empty()
    {
        obj.insert("members".into(), members_json(members, base));
    }
    let meta = resource::Meta {
        created: rec.created.clone(),
        last_modified: rec.last_modified.clone(),
        location: format!("{base}/{}/{}", rt.endpoint.trim_start_matches('/'), rec.id),
        version: etag(rec.version),
    };
    resource::with_meta(rt, resource, &rec.id, &meta)
}

/// Members as value, `$ref` and type. No `display`: member rows keep ids only, and a computed
/// display would differ from what the client wrote (scim2-tester compares them).
pub fn members_json(members: &[MemberRef], base: &str) -> Value {
    Value::Array(
        members
            .iter()
            .map(|m| {
                json!({
                    "value": m.id,
                    "$ref": format!("{base}/Users/{}", m.id),
                    "type": "User",
                })
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
pub fn projection(params: &[(String, String)]) -> ScimResult<Projection> {
    Projection::parse(
        param(params, "attributes"),
        param(params, "excludedAttributes"),
    )
}

/// Whether a group's members need loading at all for this projection.
pub fn wants_members(proj: &Projection) -> bool {
    !proj.excludes(&schema::GROUP, "members")
}

pub fn parse_list(
    kind: Kind,
    params: &[(String, String)],
    max_results: u64,
    default_count: u64,
) -> ScimResult<ListQuery> {
    list::parse_list_query(params, rt(kind), max_results, default_count)
}

pub fn list_response(resources: Vec<Value>, total: u64, start_index: u64) -> Value {
    list::list_response(resources, total, start_index)
}

/// A parsed PATCH request (RFC 7644 §3.5.2), ready to apply inside the store's transaction.
#[derive(Debug, Clone)]
pub struct PatchRequest {
    ops: Vec<PatchOp>,
    /// For a group whose member operations can run on member rows alone.
    plan: Option<GroupPatchPlan>,
}

impl PatchRequest {
    pub fn parse(kind: Kind, body: &Value) -> ScimResult<PatchRequest> {
        let ops = patch::parse_patch_request(body)?;
        let plan = match kind {
            Kind::Group => patch::plan_group_patch(&ops)?,
            Kind::User => None,
        };
        Ok(PatchRequest { ops, plan })
    }

    /// Whether applying needs the group's full member list loaded.
    pub fn needs_members(&self, kind: Kind) -> bool {
        kind == Kind::Group && self.plan.is_none()
    }

    /// Applies to a stored record (members loaded when [`Self::needs_members`]): the new
    /// resource without members, and member-set changes for the member rows.
    pub fn apply(&self, kind: Kind, rec: &ResourceRecord) -> ScimResult<(Value, Vec<MemberOp>)> {
        let rt = rt(kind);
        if let Some(plan) = &self.plan {
            let resource = if plan.other_ops.is_empty() {
                rec.resource.clone()
            } else {
                patch::apply_patch(rt, &rec.resource, &plan.other_ops)?.resource
            };
            let members = plan.member_changes.iter().map(member_op).collect();
            return Ok((resource, members));
        }
        let mut full = rec.resource.clone();
        if let (Some(members), Value::Object(obj)) = (&rec.members, &mut full)
            && !members.is_empty()
        {
            let list = members
                .iter()
                .map(|m| json!({"value": m.id}))
                .collect::<Vec<_>>();
            obj.insert("members".into(), Value::Array(list));
        }
        let mut resource = patch::apply_patch(rt, &full, &self.ops)?.resource;
        match kind {
            Kind::Group => {
                let ids = take_members(&mut resource)?;
                Ok((resource, vec![MemberOp::ReplaceAll(ids)]))
            }
            Kind::User => Ok((resource, Vec::new())),
        }
    }
}

fn member_op(c: &MemberChange) -> MemberOp {
    match c {
        MemberChange::Add(ids) => MemberOp::Add(ids.clone()),
        MemberChange::Remove(ids) => MemberOp::Remove(ids.clone()),
        MemberChange::RemoveAll => MemberOp::RemoveAll,
        MemberChange::ReplaceAll(ids) => MemberOp::ReplaceAll(ids.clone()),
    }
}

/// The product rule for users: userName is an email and equals the primary email. With the
/// org's `user_name_is_email` off, any non-empty userName is accepted.
pub fn check_user(resource: &Value, user_name_is_email: bool) -> ScimResult<()> {
    let name = match resource.get("userName") {
        Some(Value::String(s)) if !s.trim().is_empty() => s,
        Some(_) => return Err(ScimError::invalid_value("userName: expected a string")),
        None => return Err(ScimError::invalid_value("userName is required")),
    };
    if !user_name_is_email {
        return Ok(());
    }
    if !crate::domain::settings::is_email_address(name) {
        return Err(ScimError::invalid_value(format!(
            "userName must be the user's email address, got '{}'",
            name.chars().take(100).collect::<String>()
        )));
    }
    resource::check_user_email_rule(resource)
}

pub fn check_group(resource: &Value) -> ScimResult<()> {
    match resource.get("displayName") {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(()),
        Some(_) => Err(ScimError::invalid_value("displayName: expected a string")),
        None => Err(ScimError::invalid_value("displayName is required")),
    }
}

pub fn service_provider_config(base: &str, max_results: u64, bulk_max_operations: usize) -> Value {
    let cfg = discovery::SpConfig {
        filter_max_results: max_results,
        bulk: true,
        bulk_max_operations: bulk_max_operations as u64,
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
