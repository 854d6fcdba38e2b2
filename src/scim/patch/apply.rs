//! Applying operations to a canonical resource.

use crate::scim::error::{ScimError, ScimResult};
use crate::scim::filter::{CompValue, CompareOp, Filter};
use crate::scim::resource::{normalize_attr_value, normalize_single, take_password};
use crate::scim::schema::{AttrType, AttributeDef, Mutability, ResourceTypeDef, SchemaDef};
use serde_json::{Map, Value};

use super::parse::{PatchOp, PatchOpKind};
use super::path::{Resolved, Target, resolve_key, resolve_path};
use crate::scim::filter::matches_element;

/// The result of [`apply_patch`].
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOutcome {
    pub resource: Value,
    /// False when the result equals the input, so that the version is not bumped.
    pub changed: bool,
    /// A password set by the PATCH, for the store to hash; never part of `resource`.
    pub password: Option<String>,
}

/// Apply `ops` in order to a canonical resource. All or nothing: the input is never touched,
/// and an error means no change at all.
pub fn apply_patch(
    rt: &ResourceTypeDef,
    resource: &Value,
    ops: &[PatchOp],
) -> ScimResult<PatchOutcome> {
    let Some(original) = resource.as_object() else {
        return Err(ScimError::internal("a stored resource is not an object"));
    };
    let mut work = original.clone();
    let mut password = None;
    for op in ops {
        apply_op(rt, &mut work, op, &mut password)?;
    }
    for attr in rt.schema.attributes.iter().filter(|a| a.required) {
        if original.contains_key(attr.name) && !work.contains_key(attr.name) {
            return Err(ScimError::invalid_value(format!(
                "{}: required attribute cannot be removed",
                attr.name
            )));
        }
    }
    let changed = &work != original;
    Ok(PatchOutcome {
        resource: Value::Object(work),
        changed,
        password,
    })
}

fn apply_op(
    rt: &ResourceTypeDef,
    res: &mut Map<String, Value>,
    op: &PatchOp,
    password: &mut Option<String>,
) -> ScimResult<()> {
    let value = op.value.clone().filter(|v| !v.is_null());
    let Some(path) = &op.path else {
        if op.op == PatchOpKind::Remove {
            return Err(ScimError::no_target("remove needs a path"));
        }
        return match value {
            Some(Value::Object(obj)) => apply_pathless(rt, res, op.op, obj, password),
            _ => Err(ScimError::invalid_value(format!(
                "{} without a path needs an object value",
                op.op.as_str()
            ))),
        };
    };
    match resolve_path(rt, path)? {
        Resolved::Extension(ext) => match (op.op, value) {
            (PatchOpKind::Remove, _) => {
                res.remove(ext.id);
                Ok(())
            }
            (_, None) => Ok(()),
            (kind, Some(Value::Object(obj))) => {
                for (key, v) in obj {
                    let Some(attr) = ext.attr(&key) else { continue };
                    if attr.mutability == Mutability::ReadOnly {
                        continue;
                    }
                    let t = Target {
                        attr,
                        ext: Some(ext),
                        filter: None,
                        sub: None,
                    };
                    apply_target(res, kind, t, Some(v), false)?;
                }
                Ok(())
            }
            (_, Some(_)) => Err(ScimError::invalid_value(format!(
                "{}: expected an object",
                ext.id
            ))),
        },
        Resolved::Attr(t) => {
            let leaf = t.sub.unwrap_or(t.attr);
            if t.attr.mutability == Mutability::ReadOnly || leaf.mutability == Mutability::ReadOnly
            {
                return Err(ScimError::mutability(format!("{}: readOnly", t.name())));
            }
            if t.attr.mutability == Mutability::WriteOnly {
                if op.op != PatchOpKind::Remove {
                    *password = take_password(t.attr, value.unwrap_or(Value::Null))?;
                }
                return Ok(());
            }
            apply_target(res, op.op, t, value, true)
        }
    }
}

fn apply_pathless(
    rt: &ResourceTypeDef,
    res: &mut Map<String, Value>,
    kind: PatchOpKind,
    obj: Map<String, Value>,
    password: &mut Option<String>,
) -> ScimResult<()> {
    for (key, v) in obj {
        if let Some(ext) = rt.extension(&key) {
            let Value::Object(inner) = v else {
                if v.is_null() {
                    continue;
                }
                return Err(ScimError::invalid_value(format!(
                    "{}: expected an object",
                    ext.id
                )));
            };
            for (k, v) in inner {
                let Some((attr, sub)) = split_dotted(&k).and_then(|(n, s)| {
                    let attr = ext.attr(n)?;
                    let sub = match s {
                        Some(s) => Some(attr.sub(s)?),
                        None => None,
                    };
                    Some((attr, sub))
                }) else {
                    continue;
                };
                apply_key(res, kind, attr, Some(ext), sub, v)?;
            }
            continue;
        }
        let Some((attr, ext, sub)) = resolve_key(rt, &key) else {
            continue;
        };
        if attr.mutability == Mutability::WriteOnly {
            *password = take_password(attr, v)?.or(password.take());
            continue;
        }
        apply_key(res, kind, attr, ext, sub, v)?;
    }
    Ok(())
}

fn split_dotted(key: &str) -> Option<(&str, Option<&str>)> {
    Some(match key.split_once('.') {
        Some((n, s)) => (n, Some(s)),
        None => (key, None),
    })
}

fn apply_key(
    res: &mut Map<String, Value>,
    kind: PatchOpKind,
    attr: &'static AttributeDef,
    ext: Option<&'static SchemaDef>,
    sub: Option<&'static AttributeDef>,
    value: Value,
) -> ScimResult<()> {
    let leaf = sub.unwrap_or(attr);
    if attr.mutability == Mutability::ReadOnly || leaf.mutability == Mutability::ReadOnly {
        return Ok(());
    }
    let t = Target {
        attr,
        ext,
        filter: None,
        sub,
    };
    apply_target(res, kind, t, Some(value).filter(|v| !v.is_null()), false)
}

/// The object holding `t.attr`: the resource, or its extension object.
fn container<'a>(
    res: &'a mut Map<String, Value>,
    ext: Option<&SchemaDef>,
) -> &'a mut Map<String, Value> {
    match ext {
        None => res,
        Some(ext) => {
            let slot = res
                .entry(ext.id.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            slot.as_object_mut().expect("just made an object")
        }
    }
}

/// Drop what became empty, so that the canonical form never holds `{}` or `[]`.
fn tidy(res: &mut Map<String, Value>, t: Target<'_>) {
    let c = container(res, t.ext);
    if let Some(Value::Array(items)) = c.get_mut(t.attr.name) {
        items.retain(|v| !is_empty(v));
    }
    if c.get(t.attr.name).is_some_and(is_empty) {
        c.remove(t.attr.name);
    }
    if let Some(ext) = t.ext
        && res.get(ext.id).is_some_and(is_empty)
    {
        res.remove(ext.id);
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(o) => o.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn check_immutable(
    def: &AttributeDef,
    old: Option<&Value>,
    new: Option<&Value>,
    name: &str,
) -> ScimResult<()> {
    if def.mutability == Mutability::Immutable && old.is_some() && old != new {
        return Err(ScimError::mutability(format!(
            "{name}: immutable and already set"
        )));
    }
    Ok(())
}

/// Elements of a multi-valued attribute are the same element when their `value`s are, for
/// attributes whose `value` is immutable (an identity, like a member id); otherwise when equal.
fn same_element(attr: &AttributeDef, a: &Value, b: &Value) -> bool {
    let by_value = attr
        .sub("value")
        .is_some_and(|v| v.mutability == Mutability::Immutable);
    match (by_value, a.get("value"), b.get("value")) {
        (true, Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Does `item` (what a client listed for removal) designate `element`?
fn designates(attr: &AttributeDef, item: &Value, element: &Value) -> bool {
    if same_element(attr, item, element) {
        return true;
    }
    match (item, element) {
        (Value::Object(i), Value::Object(e)) => i.iter().all(|(k, v)| match (e.get(k), v) {
            // Strings compare as the schema says: `emails.value` is not caseExact. ASCII
            // folding, as filters and SQLite's NOCASE do.
            (Some(Value::String(ev)), Value::String(iv))
                if attr.sub(k).is_some_and(|s| !s.case_exact) =>
            {
                ev.eq_ignore_ascii_case(iv)
            }
            (ev, _) => ev == Some(v),
        }),
        _ => false,
    }
}

/// After `fresh` elements were written, keep at most one primary: the last fresh one that is.
fn settle_primary(items: &mut [Value], fresh: &[usize]) {
    let Some(&keep) = fresh
        .iter()
        .rev()
        .find(|&&i| items[i].get("primary") == Some(&Value::Bool(true)))
    else {
        return;
    };
    for (i, item) in items.iter_mut().enumerate() {
        if i != keep
            && let Some(o) = item.as_object_mut()
        {
            o.remove("primary");
        }
    }
}

fn apply_target(
    res: &mut Map<String, Value>,
    kind: PatchOpKind,
    t: Target<'_>,
    value: Option<Value>,
    explicit: bool,
) -> ScimResult<()> {
    let r = match (kind, t.filter, t.sub) {
        (PatchOpKind::Remove, None, None) => remove_whole(res, t, value),
        (PatchOpKind::Remove, None, Some(sub)) => remove_sub(res, t, sub),
        (PatchOpKind::Remove, Some(f), sub) => remove_filtered(res, t, f, sub),
        (_, None, None) => set_whole(res, kind, t, value),
        (_, None, Some(sub)) => set_sub(res, kind, t, sub, value, explicit),
        (_, Some(f), sub) => set_filtered(res, kind, t, f, sub, value),
    };
    tidy(res, t);
    r
}

fn set_whole(
    res: &mut Map<String, Value>,
    kind: PatchOpKind,
    t: Target<'_>,
    value: Option<Value>,
) -> ScimResult<()> {
    let attr = t.attr;
    let new = match value {
        Some(v) => normalize_attr_value(attr, v, attr.name)?,
        None => None,
    };
    let c = container(res, t.ext);
    if attr.multi_valued {
        let Some(Value::Array(new_items)) = new else {
            if kind == PatchOpKind::Replace {
                check_immutable(attr, c.get(attr.name), None, attr.name)?;
                c.remove(attr.name);
            }
            return Ok(());
        };
        if kind == PatchOpKind::Replace {
            check_immutable(attr, c.get(attr.name), Some(&Value::Null), attr.name)?;
            let mut items = new_items;
            let fresh: Vec<usize> = (0..items.len()).collect();
            settle_primary(&mut items, &fresh);
            c.insert(attr.name.to_string(), Value::Array(items));
            return Ok(());
        }
        let slot = c
            .entry(attr.name.to_string())
            .or_insert_with(|| Value::Array(Vec::new()));
        if !slot.is_array() {
            *slot = Value::Array(Vec::new());
        }
        let items = slot.as_array_mut().expect("just made an array");
        let mut fresh = Vec::new();
        for item in new_items {
            if !items.iter().any(|e| same_element(attr, e, &item)) {
                fresh.push(items.len());
                items.push(item);
            }
        }
        settle_primary(items, &fresh);
        return Ok(());
    }
    if attr.ty == AttrType::Complex {
        // RFC 7644 §3.5.2.1 and .3: the given sub-attributes are set, the others kept.
        let Some(Value::Object(new_subs)) = new else {
            if kind == PatchOpKind::Replace {
                c.remove(attr.name);
            }
            return Ok(());
        };
        let slot = c
            .entry(attr.name.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        let obj = slot.as_object_mut().expect("just made an object");
        for (k, v) in new_subs {
            if let Some(sub) = attr.sub(&k) {
                check_immutable(sub, obj.get(&k), Some(&v), &format!("{}.{k}", attr.name))?;
            }
            obj.insert(k, v);
        }
        return Ok(());
    }
    match new {
        Some(v) => {
            check_immutable(attr, c.get(attr.name), Some(&v), attr.name)?;
            c.insert(attr.name.to_string(), v);
        }
        None if kind == PatchOpKind::Replace => {
            check_immutable(attr, c.get(attr.name), None, attr.name)?;
            c.remove(attr.name);
        }
        None => {}
    }
    Ok(())
}

fn set_sub(
    res: &mut Map<String, Value>,
    kind: PatchOpKind,
    t: Target<'_>,
    sub: &'static AttributeDef,
    value: Option<Value>,
    explicit: bool,
) -> ScimResult<()> {
    let name = t.name();
    let new = match value {
        Some(v) => normalize_attr_value(sub, v, &name)?,
        None => None,
    };
    let c = container(res, t.ext);
    if t.attr.multi_valued {
        // `emails.value` without a filter: every element, and only existing ones.
        if kind == PatchOpKind::Add && explicit {
            return Err(ScimError::invalid_path(format!(
                "{name}: add to a sub-attribute of a multi-valued attribute needs a value filter"
            )));
        }
        let Some(Value::Array(items)) = c.get_mut(t.attr.name) else {
            return Err(ScimError::no_target(format!("{name}: no values to change")));
        };
        for item in items.iter_mut() {
            write_sub(item, sub, new.clone(), &name)?;
        }
        return Ok(());
    }
    let slot = c
        .entry(t.attr.name.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    if new.is_none() && kind == PatchOpKind::Add {
        return Ok(());
    }
    write_sub(slot, sub, new, &name)
}

/// Set (or, for `None`, clear) one sub-attribute of a complex value.
fn write_sub(
    item: &mut Value,
    sub: &'static AttributeDef,
    new: Option<Value>,
    name: &str,
) -> ScimResult<()> {
    let Some(obj) = item.as_object_mut() else {
        return Ok(());
    };
    check_immutable(sub, obj.get(sub.name), new.as_ref(), name)?;
    match new {
        Some(v) => obj.insert(sub.name.to_string(), v),
        None => obj.remove(sub.name),
    };
    Ok(())
}

/// The element a value filter describes, when it is a conjunction of `sub eq literal`:
/// what `replace` creates when nothing matches.
fn element_from_filter(attr: &AttributeDef, f: &Filter, out: &mut Map<String, Value>) -> bool {
    match f {
        Filter::And(a, b) => element_from_filter(attr, a, out) && element_from_filter(attr, b, out),
        Filter::Compare(p, CompareOp::Eq, lit) if p.urn.is_none() && p.sub_attr.is_none() => {
            let Some(sub) = attr.sub(&p.name) else {
                return false;
            };
            let v = match lit {
                CompValue::Str(s) => Value::String(s.clone()),
                CompValue::Bool(b) => Value::Bool(*b),
                CompValue::Number(n) => Value::Number(n.clone()),
                CompValue::Null => return false,
            };
            out.insert(sub.name.to_string(), v).is_none()
        }
        _ => false,
    }
}

fn set_filtered(
    res: &mut Map<String, Value>,
    kind: PatchOpKind,
    t: Target<'_>,
    f: &Filter,
    sub: Option<&'static AttributeDef>,
    value: Option<Value>,
) -> ScimResult<()> {
    let attr = t.attr;
    let name = t.name();
    let Some(value) = value else {
        return Ok(());
    };
    let new = match sub {
        Some(sub) => normalize_attr_value(sub, value, &name)?,
        None => normalize_single(attr, value, &name)?,
    };
    let c = container(res, t.ext);
    let slot = c
        .entry(attr.name.to_string())
        .or_insert_with(|| Value::Array(Vec::new()));
    if !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    let items = slot.as_array_mut().expect("just made an array");
    let matched: Vec<usize> = (0..items.len())
        .filter(|&i| matches_element(f, &items[i], attr))
        .collect();
    if matched.is_empty() {
        let mut element = Map::new();
        if !element_from_filter(attr, f, &mut element) {
            return Err(ScimError::no_target(format!(
                "{}: no value matches the filter",
                attr.name
            )));
        }
        match (sub, new) {
            (_, None) => return Ok(()),
            (Some(sub), Some(v)) => {
                element.insert(sub.name.to_string(), v);
            }
            (None, Some(Value::Object(o))) => element.extend(o),
            (None, Some(_)) => unreachable!("a complex value normalizes to an object"),
        }
        items.push(Value::Object(element));
        let last = items.len() - 1;
        settle_primary(items, &[last]);
        return Ok(());
    }
    for &i in &matched {
        match sub {
            Some(sub) => write_sub(&mut items[i], sub, new.clone(), &name)?,
            None => {
                let fresh = new.clone().unwrap_or_else(|| Value::Object(Map::new()));
                let Value::Object(fresh) = fresh else {
                    unreachable!("a complex value normalizes to an object")
                };
                let Some(old) = items[i].as_object_mut() else {
                    continue;
                };
                for s in attr.sub_attributes {
                    let keeps = kind == PatchOpKind::Add && !fresh.contains_key(s.name);
                    if !keeps {
                        check_immutable(
                            s,
                            old.get(s.name),
                            fresh.get(s.name),
                            &format!("{}.{}", attr.name, s.name),
                        )?;
                    }
                }
                if kind == PatchOpKind::Replace {
                    old.clear();
                }
                old.extend(fresh);
            }
        }
    }
    settle_primary(items, &matched);
    Ok(())
}

fn remove_whole(
    res: &mut Map<String, Value>,
    t: Target<'_>,
    value: Option<Value>,
) -> ScimResult<()> {
    let attr = t.attr;
    let c = container(res, t.ext);
    // With a value, only the listed elements go (Entra); an empty list names nobody. Never
    // fall through to removing the whole attribute.
    if let (true, Some(v)) = (attr.multi_valued, value) {
        let listed = match normalize_attr_value(attr, v, attr.name)? {
            Some(Value::Array(listed)) => listed,
            _ => return Ok(()),
        };
        if let Some(Value::Array(items)) = c.get_mut(attr.name) {
            items.retain(|e| !listed.iter().any(|item| designates(attr, item, e)));
        }
        return Ok(());
    }
    check_immutable(attr, c.get(attr.name), None, attr.name)?;
    c.remove(attr.name);
    Ok(())
}

fn remove_sub(
    res: &mut Map<String, Value>,
    t: Target<'_>,
    sub: &'static AttributeDef,
) -> ScimResult<()> {
    let name = t.name();
    let c = container(res, t.ext);
    match c.get_mut(t.attr.name) {
        Some(Value::Array(items)) => {
            for item in items.iter_mut() {
                write_sub(item, sub, None, &name)?;
            }
        }
        Some(item @ Value::Object(_)) => write_sub(item, sub, None, &name)?,
        _ => {}
    }
    Ok(())
}

fn remove_filtered(
    res: &mut Map<String, Value>,
    t: Target<'_>,
    f: &Filter,
    sub: Option<&'static AttributeDef>,
) -> ScimResult<()> {
    let name = t.name();
    let c = container(res, t.ext);
    let Some(Value::Array(items)) = c.get_mut(t.attr.name) else {
        return Ok(());
    };
    match sub {
        None => items.retain(|e| !matches_element(f, e, t.attr)),
        Some(sub) => {
            for item in items.iter_mut() {
                if matches_element(f, item, t.attr) {
                    write_sub(item, sub, None, &name)?;
                }
            }
        }
    }
    Ok(())
}
