//! Path resolution: where an operation lands in a resource.

use crate::scim::error::{ScimError, ScimResult};
use crate::scim::filter::{Filter, PatchPath};
use crate::scim::resource::is_urn;
use crate::scim::schema::{AttrType, AttributeDef, ResourceTypeDef, SchemaDef};

/// Where an operation lands: an attribute (in the core or in an extension object), optionally
/// narrowed by a value filter and/or to one sub-attribute.
#[derive(Clone, Copy)]
pub(super) struct Target<'p> {
    pub(super) attr: &'static AttributeDef,
    pub(super) ext: Option<&'static SchemaDef>,
    pub(super) filter: Option<&'p Filter>,
    pub(super) sub: Option<&'static AttributeDef>,
}

impl Target<'_> {
    pub(super) fn name(&self) -> String {
        match self.sub {
            Some(sub) => format!("{}.{}", self.attr.name, sub.name),
            None => self.attr.name.to_string(),
        }
    }
}

pub(super) enum Resolved<'p> {
    Attr(Target<'p>),
    /// The whole object of an extension schema.
    Extension(&'static SchemaDef),
}

pub(super) fn resolve_path<'p>(
    rt: &ResourceTypeDef,
    path: &'p PatchPath,
) -> ScimResult<Resolved<'p>> {
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
pub(super) fn resolve_key(
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
