//! Group PATCH planning: member-set changes run against the member table.

use crate::scim::error::{ScimError, ScimResult};
use crate::scim::filter::{CompValue, CompareOp, Filter};
use crate::scim::resource::normalize_attr_value;
use crate::scim::schema::{AttributeDef, GROUP};
use serde_json::{Map, Value};

use super::parse::{PatchOp, PatchOpKind};
use super::path::resolve_key;

/// A change to a Group's member set, by member id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberChange {
    Add(Vec<String>),
    Remove(Vec<String>),
    RemoveAll,
    ReplaceAll(Vec<String>),
}

/// A Group PATCH split into member-set changes (to run against the member table, in order)
/// and the operations on everything else (to run with [`apply_patch`](super::apply_patch) on
/// the group without its members).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupPatchPlan {
    pub member_changes: Vec<MemberChange>,
    pub other_ops: Vec<PatchOp>,
}

/// Plan a Group PATCH so that members are changed without loading them. Returns `None` when
/// some member operation needs the full list: a filter other than `value eq "id"` (alone or
/// or-ed), a sub-attribute path (`members.display`), an add/replace with a filter, or a member
/// without a `value`. The caller then loads the group and uses [`apply_patch`](super::apply_patch).
///
/// Member rows hold ids only: `display`, `$ref` and `type` of members are not kept by the plan.
pub fn plan_group_patch(ops: &[PatchOp]) -> ScimResult<Option<GroupPatchPlan>> {
    let members = GROUP
        .core_attr("members")
        .expect("the Group schema has members");
    let mut plan = GroupPatchPlan {
        member_changes: Vec::new(),
        other_ops: Vec::new(),
    };
    for op in ops {
        let value = op.value.clone().filter(|v| !v.is_null());
        let Some(path) = &op.path else {
            if op.op == PatchOpKind::Remove {
                return Err(ScimError::no_target("remove needs a path"));
            }
            let Some(Value::Object(obj)) = value else {
                return Err(ScimError::invalid_value(format!(
                    "{} without a path needs an object value",
                    op.op.as_str()
                )));
            };
            let mut rest = Map::new();
            for (key, v) in obj {
                match resolve_key(&GROUP, &key) {
                    Some((attr, _, None)) if std::ptr::eq(attr, members) => {
                        let ids = member_ids(members, v)?;
                        let Some(ids) = ids else { return Ok(None) };
                        plan.member_changes.push(match op.op {
                            PatchOpKind::Add => MemberChange::Add(ids),
                            _ => MemberChange::ReplaceAll(ids),
                        });
                    }
                    Some((attr, _, Some(_))) if std::ptr::eq(attr, members) => return Ok(None),
                    _ => {
                        rest.insert(key, v);
                    }
                }
            }
            if !rest.is_empty() {
                plan.other_ops.push(PatchOp {
                    op: op.op,
                    path: None,
                    value: Some(Value::Object(rest)),
                });
            }
            continue;
        };
        let targets_members = match GROUP.resolve(path.attr.urn.as_deref(), &path.attr.name) {
            Some((attr, _)) => std::ptr::eq(attr, members),
            None => false,
        };
        if !targets_members {
            plan.other_ops.push(op.clone());
            continue;
        }
        if path.attr.sub_attr.is_some() || path.sub_attr.is_some() {
            return Ok(None);
        }
        let change = match (op.op, &path.filter, value) {
            (PatchOpKind::Remove, Some(f), _) => match ids_of_value_filter(f) {
                Some(ids) => MemberChange::Remove(ids),
                None => return Ok(None),
            },
            (_, Some(_), _) => return Ok(None),
            (PatchOpKind::Remove, None, None) => MemberChange::RemoveAll,
            (PatchOpKind::Remove, None, Some(v)) => match member_ids(members, v)? {
                Some(ids) => MemberChange::Remove(ids),
                None => return Ok(None),
            },
            (kind, None, v) => {
                let ids = match v {
                    Some(v) => member_ids(members, v)?,
                    None => Some(Vec::new()),
                };
                let Some(ids) = ids else { return Ok(None) };
                if kind == PatchOpKind::Add {
                    MemberChange::Add(ids)
                } else {
                    MemberChange::ReplaceAll(ids)
                }
            }
        };
        plan.member_changes.push(change);
    }
    Ok(Some(plan))
}

/// The ids of a members value; `None` when some element has no `value`.
fn member_ids(members: &'static AttributeDef, v: Value) -> ScimResult<Option<Vec<String>>> {
    let Some(Value::Array(items)) = normalize_attr_value(members, v, "members")? else {
        return Ok(Some(Vec::new()));
    };
    let mut ids: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        match item.get("value").and_then(Value::as_str) {
            Some(id) => {
                if !ids.iter().any(|x| x == id) {
                    ids.push(id.to_string());
                }
            }
            None => return Ok(None),
        }
    }
    Ok(Some(ids))
}

/// `value eq "a"`, or `value eq "a" or value eq "b"...`: the ids named.
fn ids_of_value_filter(f: &Filter) -> Option<Vec<String>> {
    match f {
        Filter::Or(a, b) => {
            let mut ids = ids_of_value_filter(a)?;
            ids.extend(ids_of_value_filter(b)?);
            Some(ids)
        }
        Filter::Compare(p, CompareOp::Eq, CompValue::Str(id))
            if p.urn.is_none() && p.sub_attr.is_none() && p.name.eq_ignore_ascii_case("value") =>
        {
            Some(vec![id.clone()])
        }
        _ => None,
    }
}

/// Apply member changes to an in-memory id list, as the store does to its member rows: the
/// reference semantics of [`MemberChange`]. Order is kept and ids never repeat.
pub fn apply_member_changes(members: &mut Vec<String>, changes: &[MemberChange]) {
    for change in changes {
        match change {
            MemberChange::Add(ids) => {
                for id in ids {
                    if !members.contains(id) {
                        members.push(id.clone());
                    }
                }
            }
            MemberChange::Remove(ids) => members.retain(|m| !ids.contains(m)),
            MemberChange::RemoveAll => members.clear(),
            MemberChange::ReplaceAll(ids) => {
                members.clear();
                apply_member_changes(members, &[MemberChange::Add(ids.clone())]);
            }
        }
    }
}
