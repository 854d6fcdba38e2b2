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

use super::filter::{matches_element, parse_patch_path};

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
    // A whole-schema path is `urn` with an empty name (see `AttrPath::schema`); the
    // `urn:name` spelling is accepted too.
    let whole = match &ap.urn {
        Some(urn) if ap.is_schema() => urn.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::ScimType;
    use crate::scim::path::AttrPath;
    use crate::scim::schema::{ENTERPRISE_USER_SCHEMA_ID, USER};
    use proptest::prelude::*;
    use serde_json::json;

    const ENT: &str = ENTERPRISE_USER_SCHEMA_ID;

    fn body(ops: Value) -> Value {
        json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ops})
    }

    fn patch(rt: &ResourceTypeDef, res: &Value, ops: Value) -> ScimResult<PatchOutcome> {
        apply_patch(rt, res, &parse_patch_request(&body(ops))?)
    }

    fn patched(rt: &ResourceTypeDef, res: &Value, ops: Value) -> Value {
        patch(rt, res, ops).unwrap().resource
    }

    fn err(rt: &ResourceTypeDef, res: &Value, ops: Value) -> ScimType {
        patch(rt, res, ops).unwrap_err().scim_type.unwrap()
    }

    fn user() -> Value {
        json!({
            "userName": "ann@x.io",
            "active": true,
            "name": {"givenName": "Ann", "familyName": "Lee"},
            "emails": [{"value": "ann@x.io", "type": "work", "primary": true}],
            "externalId": "e1",
        })
    }

    fn group(ids: &[&str]) -> Value {
        let members: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
        let mut g = json!({"displayName": "Eng"});
        if !members.is_empty() {
            g["members"] = Value::Array(members);
        }
        g
    }

    fn member_ids_of(g: &Value) -> Vec<String> {
        g.get("members")
            .and_then(Value::as_array)
            .map(|m| {
                m.iter()
                    .map(|e| e["value"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn op_names_and_keys_match_in_any_case() {
        for name in ["add", "ADD", "Add", "rEpLaCe", "Remove"] {
            let b = json!({"SCHEMAS": [PATCH_OP_SCHEMA.to_uppercase()],
                "operations": [{"OP": name, "Path": "title", "VALUE": "x"}]});
            let ops = parse_patch_request(&b).unwrap();
            assert_eq!(ops[0].op.as_str(), name.to_ascii_lowercase());
            assert_eq!(ops[0].path.as_ref().unwrap().attr.name, "title");
            assert_eq!(ops[0].value, Some(json!("x")));
        }
    }

    #[test]
    fn request_errors() {
        let cases = [
            (
                json!({"Operations": [{"op": "add", "value": {}}]}),
                ScimType::InvalidSyntax,
            ),
            (json!([]), ScimType::InvalidSyntax),
            (body(json!([])), ScimType::InvalidSyntax),
            (body(json!({"op": "add"})), ScimType::InvalidSyntax),
            (
                body(json!([{"op": "merge", "path": "title", "value": "x"}])),
                ScimType::InvalidSyntax,
            ),
            (
                body(json!([{"path": "title", "value": "x"}])),
                ScimType::InvalidSyntax,
            ),
            (
                body(json!([{"op": "add", "path": "title"}])),
                ScimType::InvalidSyntax,
            ),
            (body(json!([{"op": "remove"}])), ScimType::NoTarget),
            (
                body(json!([{"op": "remove", "path": ""}])),
                ScimType::NoTarget,
            ),
            (
                body(json!([{"op": "replace", "path": "emails[type eq \"work\"", "value": "x"}])),
                ScimType::InvalidPath,
            ),
            (
                body(json!([{"op": "replace", "path": 5, "value": "x"}])),
                ScimType::InvalidPath,
            ),
            (body(json!(["add"])), ScimType::InvalidSyntax),
        ];
        for (b, t) in cases {
            let e = parse_patch_request(&b).unwrap_err();
            assert_eq!(e.scim_type, Some(t), "{b}");
        }
    }

    #[test]
    fn add_members_appends_and_never_replaces() {
        let g = group(&["a", "b"]);
        let out = patched(
            &GROUP,
            &g,
            json!([{"op": "add", "path": "members", "value": [{"value": "c"}]}]),
        );
        assert_eq!(member_ids_of(&out), ["a", "b", "c"]);
        // Path-less add of members also appends.
        let out = patched(
            &GROUP,
            &g,
            json!([{"op": "Add", "value": {"members": [{"value": "c", "display": "C"}]}}]),
        );
        assert_eq!(member_ids_of(&out), ["a", "b", "c"]);
        // Into an empty group, and a lone object for the array.
        let out = patched(
            &GROUP,
            &group(&[]),
            json!([{"op": "add", "path": "members", "value": {"value": "z"}}]),
        );
        assert_eq!(member_ids_of(&out), ["z"]);
    }

    #[test]
    fn add_existing_member_is_a_no_op() {
        let g = group(&["a", "b"]);
        let out = patch(
            &GROUP,
            &g,
            json!([{"op": "add", "path": "members",
            "value": [{"value": "a", "type": "User"}, {"value": "b"}]}]),
        )
        .unwrap();
        assert_eq!(member_ids_of(&out.resource), ["a", "b"]);
        assert!(!out.changed);
    }

    #[test]
    fn entra_remove_with_value_removes_only_the_listed_members() {
        let g = group(&["a", "b", "c"]);
        let out = patched(
            &GROUP,
            &g,
            json!([{"op": "Remove", "path": "members",
            "value": [{"value": "b"}, {"value": "not-a-member"}]}]),
        );
        assert_eq!(member_ids_of(&out), ["a", "c"]);
        // The last member goes: the attribute becomes unassigned, not an empty list.
        let out = patched(
            &GROUP,
            &group(&["a"]),
            json!([{"op": "remove", "path": "members", "value": [{"value": "a"}]}]),
        );
        assert!(out.get("members").is_none());
        // An empty list names nobody.
        let out = patch(
            &GROUP,
            &g,
            json!([{"op": "remove", "path": "members", "value": []}]),
        )
        .unwrap();
        assert!(!out.changed);
    }

    #[test]
    fn remove_with_value_filter_and_without() {
        let g = group(&["a", "b"]);
        let out = patched(
            &GROUP,
            &g,
            json!([{"op": "remove", "path": "members[value eq \"a\"]"}]),
        );
        assert_eq!(member_ids_of(&out), ["b"]);
        // Member ids are caseExact.
        let out = patch(
            &GROUP,
            &g,
            json!([{"op": "remove", "path": "members[value eq \"A\"]"}]),
        )
        .unwrap();
        assert!(!out.changed);
        let out = patched(&GROUP, &g, json!([{"op": "remove", "path": "members"}]));
        assert_eq!(out, json!({"displayName": "Eng"}));
    }

    #[test]
    fn replace_members_replaces_the_list() {
        let g = group(&["a", "b"]);
        let out = patched(
            &GROUP,
            &g,
            json!([{"op": "replace", "path": "members", "value": [{"value": "c"}]}]),
        );
        assert_eq!(member_ids_of(&out), ["c"]);
        let out = patched(
            &GROUP,
            &g,
            json!([{"op": "replace", "value": {"members": [], "displayName": "Ops"}}]),
        );
        assert_eq!(out, json!({"displayName": "Ops"}));
    }

    #[test]
    fn entra_boolean_strings_and_types() {
        let out = patch(
            &USER,
            &user(),
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )
        .unwrap();
        assert_eq!(out.resource["active"], false);
        assert!(out.changed);
        let e = patch(
            &USER,
            &user(),
            json!([
            {"op": "Replace", "path": "displayName", "value": "Changed"},
            {"op": "Replace", "path": "active", "value": "Nope"}]),
        )
        .unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
        assert_eq!(e.detail, "active: expected a boolean");
    }

    #[test]
    fn replace_work_email_value_updates_or_creates() {
        let out = patched(
            &USER,
            &user(),
            json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@x.io"}]),
        );
        assert_eq!(
            out["emails"],
            json!([{"value": "new@x.io", "type": "work", "primary": true}])
        );
        let mut u = user();
        u.as_object_mut().unwrap().remove("emails");
        let out = patched(
            &USER,
            &u,
            json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "w@x.io"}]),
        );
        assert_eq!(out["emails"], json!([{"type": "work", "value": "w@x.io"}]));
        let out = patched(
            &USER,
            &user(),
            json!([{"op": "add", "path": "emails[type eq \"home\"]", "value": {"value": "h@x.io"}}]),
        );
        assert_eq!(out["emails"][1], json!({"type": "home", "value": "h@x.io"}));
    }

    #[test]
    fn value_filter_that_cannot_describe_an_element_is_no_target() {
        let ops = [PatchOp {
            op: PatchOpKind::Replace,
            path: Some(PatchPath {
                attr: AttrPath::new("emails"),
                filter: Some(Filter::Present(AttrPath::new("display"))),
                sub_attr: Some("value".into()),
            }),
            value: Some(json!("x@x.io")),
        }];
        let e = apply_patch(&USER, &user(), &ops).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::NoTarget));
    }

    #[test]
    fn replace_whole_filtered_element() {
        let u = patched(
            &USER,
            &user(),
            json!([{"op": "add", "path": "emails", "value": [{"value": "h@x.io", "type": "home"}]}]),
        );
        let out = patched(
            &USER,
            &u,
            json!([{"op": "replace", "path": "emails[type eq \"home\"]", "value": {"value": "h2@x.io", "type": "home", "display": "Home"}}]),
        );
        assert_eq!(
            out["emails"][1],
            json!({"value": "h2@x.io", "type": "home", "display": "Home"})
        );
        assert_eq!(out["emails"][0], u["emails"][0]);
        let out = patched(
            &USER,
            &u,
            json!([{"op": "remove", "path": "emails[type eq \"home\"].value"}]),
        );
        assert_eq!(out["emails"][1], json!({"type": "home"}));
    }

    #[test]
    fn primary_moves_to_the_new_value() {
        let out = patched(
            &USER,
            &user(),
            json!([{"op": "add", "path": "emails",
            "value": [{"value": "b@x.io", "type": "home", "primary": "True"}]}]),
        );
        assert_eq!(
            out["emails"],
            json!([
            {"value": "ann@x.io", "type": "work"},
            {"value": "b@x.io", "type": "home", "primary": true}])
        );
    }

    #[test]
    fn sub_attribute_paths() {
        let out = patched(
            &USER,
            &user(),
            json!([{"op": "replace", "path": "name.givenName", "value": "Anna"}]),
        );
        assert_eq!(
            out["name"],
            json!({"givenName": "Anna", "familyName": "Lee"})
        );
        let out = patched(
            &USER,
            &user(),
            json!([{"op": "replace", "path": "NAME", "value": {"formatted": "Ann Lee"}}]),
        );
        assert_eq!(
            out["name"],
            json!({"givenName": "Ann", "familyName": "Lee", "formatted": "Ann Lee"})
        );
        let out = patched(
            &USER,
            &user(),
            json!([{"op": "remove", "path": "name.givenName"}, {"op": "remove", "path": "name.familyName"}]),
        );
        assert!(out.get("name").is_none());
        assert_eq!(
            err(
                &USER,
                &user(),
                json!([{"op": "add", "path": "emails.value", "value": "x"}])
            ),
            ScimType::InvalidPath
        );
        assert_eq!(
            err(
                &USER,
                &user(),
                json!([{"op": "add", "path": "name.nope", "value": "x"}])
            ),
            ScimType::InvalidPath
        );
        assert_eq!(
            err(
                &USER,
                &user(),
                json!([{"op": "add", "path": "favouriteColour", "value": "x"}])
            ),
            ScimType::InvalidPath
        );
        assert_eq!(
            err(
                &USER,
                &user(),
                json!([{"op": "add", "path": "name[givenName eq \"Ann\"]", "value": "x"}])
            ),
            ScimType::InvalidPath
        );
    }

    #[test]
    fn urn_qualified_paths() {
        let out = patched(
            &USER,
            &user(),
            json!([
            {"op": "add", "path": format!("{ENT}:department"), "value": "R&D"},
            {"op": "replace", "path": format!("{ENT}:manager.value"), "value": "m1"},
            {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:title", "value": "CTO"}]),
        );
        assert_eq!(
            out[ENT],
            json!({"department": "R&D", "manager": {"value": "m1"}})
        );
        assert_eq!(out["title"], "CTO");
        let out2 = patched(
            &USER,
            &out,
            json!([{"op": "remove", "path": format!("{ENT}:department")}, {"op": "remove", "path": format!("{ENT}:manager")}]),
        );
        assert!(
            out2.get(ENT).is_none(),
            "an empty extension object is dropped"
        );
        let out3 = patched(
            &USER,
            &user(),
            json!([{"op": "add", "path": ENT, "value": {"costCenter": "42", "bogus": 1}}]),
        );
        assert_eq!(out3[ENT], json!({"costCenter": "42"}));
        let out4 = patched(&USER, &out, json!([{"op": "remove", "path": ENT}]));
        assert!(out4.get(ENT).is_none());
    }

    #[test]
    fn path_less_values_expand_dotted_and_urn_keys() {
        let out = patched(
            &USER,
            &user(),
            json!([{"op": "Replace", "value": {
            format!("{ENT}:department"): "Engineering",
            format!("{ENT}:employeeNumber"): "701984",
            "name.givenName": "Barbara",
            "title": "Tour Guide",
            "unknownThing": 3}}]),
        );
        assert_eq!(
            out[ENT],
            json!({"department": "Engineering", "employeeNumber": "701984"})
        );
        assert_eq!(
            out["name"],
            json!({"givenName": "Barbara", "familyName": "Lee"})
        );
        assert_eq!(out["title"], "Tour Guide");
        let keys: Vec<&String> = out.as_object().unwrap().keys().collect();
        assert!(
            keys.iter().all(|k| !k.contains('.') || k.as_str() == ENT),
            "{keys:?}"
        );
        let out = patched(
            &USER,
            &user(),
            json!([{"op": "add", "value": {ENT: {"division": "Cloud", "manager.value": "m9"}}}]),
        );
        assert_eq!(
            out[ENT],
            json!({"division": "Cloud", "manager": {"value": "m9"}})
        );
    }

    #[test]
    fn okta_read_only_attributes_in_path_less_replace_are_ignored() {
        let out = patch(&USER, &user(), json!([{"op": "replace", "value": {
            "id": "other", "meta": {"version": "x"}, "schemas": ["urn:x"], "groups": [{"value": "g"}],
            "active": true}}])).unwrap();
        assert!(!out.changed);
        assert_eq!(out.resource, user());
    }

    #[test]
    fn read_only_and_immutable_paths_are_mutability_errors() {
        assert_eq!(
            err(
                &USER,
                &user(),
                json!([{"op": "replace", "path": "id", "value": "x"}])
            ),
            ScimType::Mutability
        );
        assert_eq!(
            err(
                &USER,
                &user(),
                json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}])
            ),
            ScimType::Mutability
        );
        assert_eq!(
            err(
                &USER,
                &user(),
                json!([{"op": "replace", "path": format!("{ENT}:manager.displayName"), "value": "B"}])
            ),
            ScimType::Mutability
        );
        let g = group(&["a"]);
        assert_eq!(
            err(
                &GROUP,
                &g,
                json!([{"op": "replace", "path": "members[value eq \"a\"].value", "value": "b"}])
            ),
            ScimType::Mutability
        );
        assert_eq!(
            err(
                &GROUP,
                &g,
                json!([{"op": "replace", "path": "members[value eq \"a\"]", "value": {"value": "b"}}])
            ),
            ScimType::Mutability
        );
        // Writing the value it already has is not a change.
        let out = patch(
            &GROUP,
            &g,
            json!([{"op": "replace", "path": "members[value eq \"a\"].value", "value": "a"}]),
        )
        .unwrap();
        assert!(!out.changed);
    }

    #[test]
    fn password_is_returned_not_stored() {
        let out = patch(
            &USER,
            &user(),
            json!([{"op": "replace", "value": {"password": "newpassword1"}}]),
        )
        .unwrap();
        assert_eq!(out.password.as_deref(), Some("newpassword1"));
        assert_eq!(out.resource, user());
        let out = patch(
            &USER,
            &user(),
            json!([{"op": "replace", "path": "password", "value": "p2"}]),
        )
        .unwrap();
        assert_eq!(out.password.as_deref(), Some("p2"));
        assert!(out.resource.get("password").is_none());
    }

    #[test]
    fn required_attributes_cannot_be_removed() {
        assert_eq!(
            err(
                &USER,
                &user(),
                json!([{"op": "remove", "path": "userName"}])
            ),
            ScimType::InvalidValue
        );
        assert_eq!(
            err(
                &GROUP,
                &group(&[]),
                json!([{"op": "replace", "path": "displayName", "value": null}])
            ),
            ScimType::InvalidValue
        );
    }

    #[test]
    fn unchanged_results_report_no_change() {
        let out = patch(&USER, &user(), json!([
            {"op": "replace", "path": "userName", "value": "ann@x.io"},
            {"op": "remove", "path": "title"},
            {"op": "add", "path": "emails", "value": {"value": "ann@x.io", "type": "work", "primary": true}}])).unwrap();
        assert!(!out.changed);
        let out = patch(
            &USER,
            &user(),
            json!([{"op": "replace", "path": "userName", "value": "bob@x.io"}]),
        )
        .unwrap();
        assert!(out.changed);
    }

    #[test]
    fn path_less_value_must_be_an_object() {
        assert_eq!(
            err(&USER, &user(), json!([{"op": "replace", "value": "x"}])),
            ScimType::InvalidValue
        );
        assert_eq!(
            err(
                &USER,
                &user(),
                json!([{"op": "replace", "value": {"active": "maybe"}}])
            ),
            ScimType::InvalidValue
        );
    }

    #[test]
    fn planner_splits_member_changes_from_the_rest() {
        let ops = parse_patch_request(&body(json!([
            {"op": "Add", "path": "members", "value": [{"value": "a"}, {"value": "b"}]},
            {"op": "Remove", "path": "members", "value": [{"value": "a"}]},
            {"op": "remove", "path": "members[value eq \"b\"]"},
            {"op": "replace", "value": {"displayName": "Ops", "members": [{"value": "c"}]}},
            {"op": "remove", "path": "members"},
        ])))
        .unwrap();
        let plan = plan_group_patch(&ops).unwrap().unwrap();
        assert_eq!(
            plan.member_changes,
            vec![
                MemberChange::Add(vec!["a".into(), "b".into()]),
                MemberChange::Remove(vec!["a".into()]),
                MemberChange::Remove(vec!["b".into()]),
                MemberChange::ReplaceAll(vec!["c".into()]),
                MemberChange::RemoveAll,
            ]
        );
        assert_eq!(plan.other_ops.len(), 1);
        assert_eq!(plan.other_ops[0].value, Some(json!({"displayName": "Ops"})));
        let ops = parse_patch_request(&body(json!([
            {"op": "remove", "path": "members[value eq \"a\" or VALUE eq \"b\"]"},
            {"op": "remove", "path": "urn:ietf:params:scim:schemas:core:2.0:Group:members[value eq \"c\"]"},
        ])))
        .unwrap();
        let plan = plan_group_patch(&ops).unwrap().unwrap();
        assert_eq!(
            plan.member_changes,
            vec![
                MemberChange::Remove(vec!["a".into(), "b".into()]),
                MemberChange::Remove(vec!["c".into()]),
            ]
        );
        assert!(plan.other_ops.is_empty());
    }

    #[test]
    fn planner_falls_back_when_it_needs_the_members() {
        for ops in [
            json!([{"op": "replace", "path": "members[value eq \"a\"].display", "value": "x"}]),
            json!([{"op": "add", "path": "members[value eq \"a\"]", "value": {"value": "a"}}]),
            json!([{"op": "add", "path": "members", "value": [{"type": "User"}]}]),
        ] {
            let ops = parse_patch_request(&body(ops)).unwrap();
            assert_eq!(plan_group_patch(&ops).unwrap(), None);
        }
        let ops = [PatchOp {
            op: PatchOpKind::Remove,
            path: Some(PatchPath {
                attr: AttrPath::new("members"),
                filter: Some(Filter::Compare(
                    AttrPath::new("value"),
                    CompareOp::Co,
                    CompValue::Str("a".into()),
                )),
                sub_attr: None,
            }),
            value: None,
        }];
        assert_eq!(plan_group_patch(&ops).unwrap(), None);
        let bad = parse_patch_request(&body(
            json!([{"op": "add", "path": "members", "value": [{"value": 5}]}]),
        ))
        .unwrap();
        assert!(plan_group_patch(&bad).is_err());
    }

    fn id() -> impl Strategy<Value = String> {
        prop::sample::select(vec!["a", "b", "c", "d", "e"]).prop_map(String::from)
    }

    fn ids() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec(id(), 0..4)
    }

    fn members_value(ids: &[String]) -> Value {
        Value::Array(ids.iter().map(|i| json!({"value": i})).collect())
    }

    /// A member operation in one of the shapes IdPs send.
    fn member_op() -> impl Strategy<Value = Value> {
        prop_oneof![
            ids().prop_map(|i| json!({"op": "add", "path": "members", "value": members_value(&i)})),
            ids().prop_map(|i| json!({"op": "Add", "value": {"members": members_value(&i)}})),
            ids().prop_map(|i| json!({"op": "remove", "path": "members", "value": members_value(&i)})),
            id().prop_map(|i| json!({"op": "remove", "path": format!("members[value eq \"{i}\"]")})),
            Just(json!({"op": "remove", "path": "members"})),
            ids().prop_map(|i| json!({"op": "replace", "path": "members", "value": members_value(&i)})),
            ids().prop_map(|i| json!({"op": "replace", "value": {"members": members_value(&i), "displayName": "G"}})),
            "[a-z]{1,4}".prop_map(|n| json!({"op": "replace", "path": "displayName", "value": n})),
        ]
    }

    fn random_user() -> impl Strategy<Value = Value> {
        (
            "[a-z]{1,6}",
            prop::option::of("[A-Z][a-z]{0,5}"),
            prop::option::of(any::<bool>()),
            prop::collection::vec("[a-z]{1,4}@x\\.io", 0..3),
        )
            .prop_map(|(un, given, active, emails)| {
                let mut u = json!({"userName": format!("{un}@x.io")});
                if let Some(g) = given {
                    u["name"] = json!({"givenName": g});
                }
                if let Some(a) = active {
                    u["active"] = json!(a);
                }
                let mut seen = Vec::new();
                for e in emails {
                    if !seen.contains(&e) {
                        seen.push(e);
                    }
                }
                if !seen.is_empty() {
                    u["emails"] = Value::Array(
                        seen.iter()
                            .map(|e| json!({"value": e, "type": "home"}))
                            .collect(),
                    );
                }
                u
            })
    }

    /// The README's matching rule of `tests/idp`: objects by subset, arrays paired in any order.
    fn corpus_matches(expected: &Value, actual: &Value) -> bool {
        match (expected, actual) {
            (Value::Object(e), Value::Object(a)) => e
                .iter()
                .all(|(k, v)| a.get(k).is_some_and(|av| corpus_matches(v, av))),
            (Value::Array(e), Value::Array(a)) => {
                let mut used = vec![false; a.len()];
                e.len() == a.len()
                    && e.iter().all(|ev| {
                        let hit = (0..a.len()).find(|&i| !used[i] && corpus_matches(ev, &a[i]));
                        hit.map(|i| used[i] = true).is_some()
                    })
            }
            _ => expected == actual,
        }
    }

    /// Replays the PATCH cases of the IdP corpus at this level (no HTTP, no store).
    #[test]
    fn idp_corpus_patch_cases() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/idp");
        let mut replayed = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let case: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            if case["request"]["method"] != "PATCH" {
                continue;
            }
            let rt = if case["resource_type"] == "Group" {
                &GROUP
            } else {
                &USER
            };
            let result = parse_patch_request(&case["request"]["body"])
                .and_then(|ops| apply_patch(rt, &case["initial"], &ops));
            let expect = &case["expect"];
            let name = path.display();
            match result {
                Ok(out) => {
                    assert_eq!(expect["status"], 200, "{name}: {out:?}");
                    if let Some(r) = expect.get("resource") {
                        assert!(corpus_matches(r, &out.resource), "{name}: {}", out.resource);
                    }
                    for key in expect["absent"].as_array().into_iter().flatten() {
                        assert!(
                            out.resource.get(key.as_str().unwrap()).is_none(),
                            "{name}: {key}"
                        );
                    }
                }
                Err(e) => {
                    assert_eq!(expect["status"], e.status, "{name}: {e}");
                    assert_eq!(expect["scimType"], e.scim_type.unwrap().as_str(), "{name}");
                }
            }
            replayed += 1;
        }
        assert!(replayed >= 20, "only {replayed} PATCH cases found");
    }

    /// No nulls, no empty objects or arrays, no dotted or URN-qualified keys below the top.
    fn canonical(v: &Value) -> bool {
        match v {
            Value::Null => false,
            Value::Array(a) => !a.is_empty() && a.iter().all(canonical),
            Value::Object(o) => {
                !o.is_empty()
                    && o.iter().all(|(k, v)| {
                        (k == ENT || !(k.contains('.') || k.contains(':'))) && canonical(v)
                    })
            }
            _ => true,
        }
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i32>().prop_map(Value::from),
            prop::sample::select(vec![
                "value",
                "members",
                "True",
                "a",
                "work",
                "",
                "urn:x",
                "name.givenName",
            ])
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((key(), inner), 0..4)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    fn key() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "value",
            "members",
            "emails",
            "name",
            "name.givenName",
            "active",
            "type",
            "primary",
            "displayName",
            "id",
            "meta",
            "password",
            "userName",
            "$ref",
            "display",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            "urn:ietf:params:scim:schemas:core:2.0:Group:members",
        ])
        .prop_map(String::from)
    }

    fn any_path() -> impl Strategy<Value = Value> {
        prop::sample::select(vec![
            "members",
            "members[value eq \"a\"]",
            "members[value eq \"a\"].display",
            "members.value",
            "emails[type eq \"work\"].value",
            "emails[type eq \"work\"]",
            "emails",
            "name",
            "name.givenName",
            "active",
            "userName",
            "displayName",
            "id",
            "groups",
            "password",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            "urn:ietf:params:scim:schemas:core:2.0:Group:members",
            "nope",
            "emails[",
        ])
        .prop_map(Value::from)
    }

    proptest! {
        #[test]
        fn arbitrary_operations_never_panic(
            ops in prop::collection::vec(
                (prop::sample::select(vec!["add", "Remove", "REPLACE"]),
                 prop::option::of(any_path()),
                 prop::option::of(any_json())),
                1..5),
        ) {
            let ops: Vec<Value> = ops
                .into_iter()
                .map(|(op, path, value)| {
                    let mut o = json!({"op": op});
                    if let Some(p) = path { o["path"] = p; }
                    if let Some(v) = value { o["value"] = v; }
                    o
                })
                .collect();
            if let Ok(ops) = parse_patch_request(&body(Value::Array(ops))) {
                for (rt, res) in [(&USER, user()), (&GROUP, group(&["a", "b"]))] {
                    if let Ok(out) = apply_patch(rt, &res, &ops) {
                        prop_assert!(canonical(&out.resource), "{}", out.resource);
                        prop_assert_eq!(out.changed, out.resource != res);
                    }
                }
                let _ = plan_group_patch(&ops);
            }
        }

        #[test]
        fn plan_agrees_with_apply_patch(initial in ids(), ops in prop::collection::vec(member_op(), 1..6)) {
            let mut start: Vec<String> = Vec::new();
            apply_member_changes(&mut start, &[MemberChange::Add(initial)]);
            let refs: Vec<&str> = start.iter().map(String::as_str).collect();
            let g = group(&refs);
            let ops = parse_patch_request(&body(Value::Array(ops))).unwrap();
            let full = apply_patch(&GROUP, &g, &ops).unwrap().resource;
            let plan = plan_group_patch(&ops).unwrap().expect("these shapes never need the list");
            let mut members = start.clone();
            apply_member_changes(&mut members, &plan.member_changes);
            prop_assert_eq!(&members, &member_ids_of(&full));
            let rest = apply_patch(&GROUP, &json!({"displayName": "Eng"}), &plan.other_ops).unwrap().resource;
            prop_assert_eq!(&rest["displayName"], &full["displayName"]);
        }

        #[test]
        fn add_then_remove_member_restores(initial in ids(), new in "[f-z][0-9a-f]{0,8}") {
            let mut start: Vec<String> = Vec::new();
            apply_member_changes(&mut start, &[MemberChange::Add(initial)]);
            let refs: Vec<&str> = start.iter().map(String::as_str).collect();
            let g = group(&refs);
            for remove in [
                json!({"op": "remove", "path": format!("members[value eq \"{new}\"]")}),
                json!({"op": "Remove", "path": "members", "value": [{"value": new}]}),
            ] {
                let out = patch(&GROUP, &g, json!([{"op": "add", "path": "members", "value": [{"value": new}]}, remove])).unwrap();
                prop_assert_eq!(&out.resource, &g);
                prop_assert!(!out.changed);
            }
        }

        #[test]
        fn add_then_remove_restores_a_user(u in random_user(), email in "[a-z]{5,8}@y\\.io", title in "[a-z]{1,8}") {
            let had_title = u.get("title").is_some();
            prop_assume!(!had_title);
            let out = patch(&USER, &u, json!([
                {"op": "add", "path": "emails", "value": [{"value": email, "type": "other"}]},
                {"op": "add", "path": "title", "value": title},
                {"op": "remove", "path": format!("emails[value eq \"{email}\"]")},
                {"op": "remove", "path": "title"}])).unwrap();
            prop_assert_eq!(&out.resource, &u);
            prop_assert!(!out.changed);
        }

        #[test]
        fn a_failing_op_leaves_the_resource_untouched(u in random_user(), good in prop::collection::vec("[a-z]{1,5}", 0..5), at in 0usize..6) {
            let snapshot = u.clone();
            let mut ops: Vec<Value> = good.iter().map(|t| json!({"op": "replace", "path": "title", "value": t})).collect();
            let at = at.min(ops.len());
            ops.insert(at, json!({"op": "replace", "path": "active", "value": "Nope"}));
            let e = patch(&USER, &u, Value::Array(ops)).unwrap_err();
            prop_assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
            prop_assert_eq!(&u, &snapshot);
        }
    }
}
