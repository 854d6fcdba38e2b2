//! PATCH (RFC 7644 §3.5.2).
//!
//! Decisions, where the RFC leaves room or IdPs deviate from it:
//! - Op names and the `Operations`/`op`/`path`/`value` keys match in any case (Entra sends
//!   `"op": "Replace"`). A path that is `null` or empty counts as absent.
//! - `add` on a multi-valued attribute appends and never replaces the list. Adding a value that
//!   is already there is a no-op; for attributes whose `value` sub-attribute is immutable
//!   (Group `members`) two elements are the same when their `value`s are.
//! - `remove` of a multi-valued attribute with a `value` (Entra:
//!   `{"op":"Remove","path":"members","value":[{"value":"ID"}]}`) removes only the listed
//!   elements, never the whole list. A value filter that matches nothing removes nothing
//!   (removals are idempotent). `remove` without a path is 400 `noTarget`.
//! - `replace` (or `add`) on a value path that matches nothing creates the element when the
//!   filter is a conjunction of `sub eq literal` (for example `emails[type eq "work"].value`
//!   creates `{"type": "work", "value": ...}`); any other filter is 400 `noTarget`.
//! - `replace` of a single-valued complex attribute merges the given sub-attributes, as
//!   RFC 7644 §3.5.2.3 says; sub-attributes not given are left as they are.
//! - In a value without a path, readOnly attributes (`id`, `meta`, `schemas`, as Okta sends
//!   them) and unknown attributes are ignored; a path naming a readOnly attribute is 400
//!   `mutability`, an unknown one 400 `invalidPath`. Changing an immutable value that is set is
//!   400 `mutability`.
//! - A password (writeOnly) is never written into the resource: it comes back in
//!   [`PatchOutcome::password`] for the store to hash.
//! - When a change marks one element `primary`, the others lose their `primary` flag
//!   (RFC 7643 §2.4: at most one primary value).

use super::error::{ScimError, ScimResult};
use super::filter::{CompValue, CompareOp, Filter, PatchPath};
use super::resource::{is_urn, normalize_attr_value, normalize_single, take_password};
use super::schema::{
    AttrType, AttributeDef, GROUP, Mutability, PATCH_OP_SCHEMA, ResourceTypeDef, SchemaDef,
};
use serde_json::{Map, Value};

use filter_stub::{matches_element, parse_patch_path};

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

/// Where an operation lands: an attribute (in the core or in an extension object), optionally
/// narrowed by a value filter and/or to one sub-attribute.
#[derive(Clone, Copy)]
struct Target<'p> {
    attr: &'static AttributeDef,
    ext: Option<&'static SchemaDef>,
    filter: Option<&'p Filter>,
    sub: Option<&'static AttributeDef>,
}

impl Target<'_> {
    fn name(&self) -> String {
        match self.sub {
            Some(sub) => format!("{}.{}", self.attr.name, sub.name),
            None => self.attr.name.to_string(),
        }
    }
}

enum Resolved<'p> {
    Attr(Target<'p>),
    /// The whole object of an extension schema.
    Extension(&'static SchemaDef),
}

fn resolve_path<'p>(rt: &ResourceTypeDef, path: &'p PatchPath) -> ScimResult<Resolved<'p>> {
    let ap = &path.attr;
    let unknown = || ScimError::invalid_path(format!("{ap}: no such attribute"));
    let whole = match &ap.urn {
        Some(urn) => format!("{urn}:{}", ap.name),
        None => ap.name.clone(),
    };
    if let Some(ext) = rt.extension(&whole) {
        if path.filter.is_some() || path.sub_attr.is_some() || ap.sub_attr.is_some() {
            return Err(unknown());
        }
        return Ok(Resolved::Extension(ext));
    }
    let (attr, ext) = rt
        .resolve(ap.urn.as_deref(), &ap.name)
        .ok_or_else(unknown)?;
    let sub_name = match (&ap.sub_attr, &path.sub_attr) {
        (Some(_), Some(_)) => return Err(unknown()),
        (a, b) => a.as_ref().or(b.as_ref()),
    };
    let sub = match sub_name {
        Some(s) => Some(attr.sub(s).ok_or_else(unknown)?),
        None => None,
    };
    if path.filter.is_some() && !(attr.multi_valued && attr.ty == AttrType::Complex) {
        return Err(ScimError::invalid_path(format!(
            "{}: a value filter needs a multi-valued complex attribute",
            attr.name
        )));
    }
    Ok(Resolved::Attr(Target {
        attr,
        ext,
        filter: path.filter.as_ref(),
        sub,
    }))
}

/// Resolve a key of a path-less value: `attr`, `attr.sub`, `urn:...:attr[.sub]`.
/// `None` for what is ignored there: unknown names, and `schemas`.
fn resolve_key(
    rt: &ResourceTypeDef,
    key: &str,
) -> Option<(
    &'static AttributeDef,
    Option<&'static SchemaDef>,
    Option<&'static AttributeDef>,
)> {
    let (schema, rest) = if is_urn(key) {
        let id = rt.schema_ids().find(|id| {
            key.len() > id.len() + 1
                && key.is_char_boundary(id.len())
                && key[..id.len()].eq_ignore_ascii_case(id)
                && key.as_bytes()[id.len()] == b':'
        })?;
        (Some(id), &key[id.len() + 1..])
    } else {
        (None, key)
    };
    let (name, sub) = match rest.split_once('.') {
        Some((n, s)) => (n, Some(s)),
        None => (rest, None),
    };
    let (attr, ext) = rt.resolve(schema, name)?;
    let sub = match sub {
        Some(s) => Some(attr.sub(s)?),
        None => None,
    };
    Some((attr, ext, sub))
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
    if let Some(ext) = t.ext {
        if res.get(ext.id).is_some_and(is_empty) {
            res.remove(ext.id);
        }
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
        (Value::Object(i), Value::Object(e)) => i.iter().all(|(k, v)| e.get(k) == Some(v)),
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
        if i != keep {
            if let Some(o) = item.as_object_mut() {
                o.remove("primary");
            }
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
    let listed = match value {
        Some(v) if attr.multi_valued => normalize_attr_value(attr, v, attr.name)?,
        _ => None,
    };
    let c = container(res, t.ext);
    if attr.multi_valued && listed.is_some() {
        let Some(Value::Array(listed)) = listed else {
            return Ok(());
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

/// A change to a Group's member set, by member id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberChange {
    Add(Vec<String>),
    Remove(Vec<String>),
    RemoveAll,
    ReplaceAll(Vec<String>),
}

/// A Group PATCH split into member-set changes (to run against the member table, in order)
/// and the operations on everything else (to run with [`apply_patch`] on the group without its
/// members).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupPatchPlan {
    pub member_changes: Vec<MemberChange>,
    pub other_ops: Vec<PatchOp>,
}

/// Plan a Group PATCH so that members are changed without loading them. Returns `None` when
/// some member operation needs the full list: a filter other than `value eq "id"` (alone or
/// or-ed), a sub-attribute path (`members.display`), an add/replace with a filter, or a member
/// without a `value`. The caller then loads the group and uses [`apply_patch`].
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

/// Stand-ins for the filter parser and evaluator until they land from the `filter2` branch:
/// just enough grammar (`attr[.sub]`, `urn:...:attr`, `attr[a eq "x" and b eq true].sub`) for
/// this module's tests.
mod filter_stub {
    use super::super::error::{ScimError, ScimResult};
    use super::super::filter::{CompValue, CompareOp, Filter, PatchPath};
    use super::super::path::AttrPath;
    use super::super::schema::AttributeDef;
    use serde_json::Value;

    fn attr_path(s: &str) -> ScimResult<AttrPath> {
        let bad = || ScimError::invalid_path(format!("bad path {s:?}"));
        let (urn, rest) = if super::is_urn(s) {
            let i = s.rfind(':').ok_or_else(bad)?;
            (Some(s[..i].to_string()), &s[i + 1..])
        } else {
            (None, s)
        };
        let (name, sub) = match rest.split_once('.') {
            Some((n, s)) => (n, Some(s.to_string())),
            None => (rest, None),
        };
        let ok = |n: &str| {
            !n.is_empty()
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '$' || c == '_')
        };
        if !ok(name) || sub.as_deref().is_some_and(|s| !ok(s)) {
            return Err(bad());
        }
        Ok(AttrPath {
            urn,
            name: name.to_string(),
            sub_attr: sub,
        })
    }

    fn compare(s: &str) -> ScimResult<Filter> {
        let bad = || ScimError::invalid_filter(format!("bad filter {s:?}"));
        let mut parts = s.trim().splitn(3, ' ');
        let (p, op, v) = (
            parts.next().ok_or_else(bad)?,
            parts.next().ok_or_else(bad)?,
            parts.next().ok_or_else(bad)?,
        );
        if !op.eq_ignore_ascii_case("eq") {
            return Err(bad());
        }
        let v = match serde_json::from_str::<Value>(v).map_err(|_| bad())? {
            Value::String(s) => CompValue::Str(s),
            Value::Bool(b) => CompValue::Bool(b),
            Value::Number(n) => CompValue::Number(n),
            _ => CompValue::Null,
        };
        Ok(Filter::Compare(attr_path(p)?, CompareOp::Eq, v))
    }

    pub fn parse_patch_path(s: &str) -> ScimResult<PatchPath> {
        let Some((head, rest)) = s.split_once('[') else {
            return Ok(PatchPath {
                attr: attr_path(s)?,
                filter: None,
                sub_attr: None,
            });
        };
        let (inner, tail) = rest
            .split_once(']')
            .ok_or_else(|| ScimError::invalid_path("unclosed ["))?;
        let mut filter: Option<Filter> = None;
        for clause in inner.split(" and ") {
            let c = compare(clause)?;
            filter = Some(match filter {
                None => c,
                Some(f) => Filter::And(Box::new(f), Box::new(c)),
            });
        }
        let sub_attr = match tail.strip_prefix('.') {
            Some(sub) => Some(sub.to_string()),
            None if tail.is_empty() => None,
            None => return Err(ScimError::invalid_path("junk after ]")),
        };
        Ok(PatchPath {
            attr: attr_path(head)?,
            filter,
            sub_attr,
        })
    }

    pub fn matches_element(f: &Filter, element: &Value, attr: &AttributeDef) -> bool {
        match f {
            Filter::And(a, b) => {
                matches_element(a, element, attr) && matches_element(b, element, attr)
            }
            Filter::Compare(p, CompareOp::Eq, v) => {
                let Some(sub) = attr.sub(&p.name) else {
                    return false;
                };
                match (element.get(sub.name), v) {
                    (Some(Value::String(a)), CompValue::Str(b)) => {
                        if sub.case_exact {
                            a == b
                        } else {
                            a.eq_ignore_ascii_case(b)
                        }
                    }
                    (Some(Value::Bool(a)), CompValue::Bool(b)) => a == b,
                    _ => false,
                }
            }
            _ => false,
        }
    }
}
