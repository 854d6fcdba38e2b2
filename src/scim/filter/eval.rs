//! Schema resolution, validation and in-memory evaluation of filters.
//!
//! Semantics (RFC 7644 §3.4.2.2, and where the RFC leaves room, the choices made here; the
//! SQL translation in `sql.rs` implements exactly the same):
//! - Strings compare by the attribute's `caseExact`; case-insensitive comparison folds ASCII
//!   letters only, as SQLite's NOCASE collation and LIKE do, so that both evaluators agree.
//! - dateTime attributes compare as instants, never as text.
//! - A multi-valued attribute matches if any of its values matches. A multi-valued complex
//!   attribute named without a sub-attribute (`emails co "x"`) compares its `value`.
//! - `pr`: the value is not null, not "", not [] and not {}.
//! - `ne` is "not identical": an unassigned attribute is not identical to any value, so
//!   `title ne "x"` matches users without a title. For a multi-valued attribute it matches if
//!   it has no values, or if any value is not identical (the "any value" rule above).
//! - `eq null` means "not present" and `ne null` means "present", since RFC 7643 §2.5 treats
//!   null and unassigned alike.
//! - Unknown attributes: RFC 7644 table 9 makes invalidFilter the error for "the specified
//!   attribute and filter comparison combination is not supported", and a typo that silently
//!   matches nothing is worse than a 400, so `validate` rejects them. `matches` on an
//!   unvalidated filter treats an unknown attribute as unassigned.
//! - Attributes that are never returned (`password`) cannot be filtered on: a filter on them
//!   would reveal what `returned: never` hides.

use super::{CompValue, CompareOp, Filter};
use crate::scim::datetime;
use crate::scim::error::{ScimError, ScimResult};
use crate::scim::path::AttrPath;
use crate::scim::schema::{AttrType, AttributeDef, ResourceTypeDef, Returned, SchemaDef};
use serde_json::Value;
use std::cmp::Ordering;

/// An attribute path resolved against the schema.
#[derive(Debug, Clone, Copy)]
pub struct Resolved {
    /// The extension schema that defines the attribute; None for core and common attributes.
    pub extension: Option<&'static SchemaDef>,
    /// The top-level attribute.
    pub attr: &'static AttributeDef,
    /// The sub-attribute named by the path, if any.
    pub sub: Option<&'static AttributeDef>,
}

impl Resolved {
    /// The definition whose values a comparison reads: the named sub-attribute, else the
    /// `value` sub-attribute of a multi-valued complex attribute, else the attribute.
    pub fn compared(&self) -> &'static AttributeDef {
        match self.sub {
            Some(s) => s,
            None => self.implicit_value().unwrap_or(self.attr),
        }
    }
    /// `value` of a multi-valued complex attribute named without a sub-attribute.
    pub fn implicit_value(&self) -> Option<&'static AttributeDef> {
        if self.sub.is_none() && self.attr.multi_valued && self.attr.ty == AttrType::Complex {
            self.attr.sub("value")
        } else {
            None
        }
    }
}

/// `schemas` is not in the schema tables (resources carry it structurally), yet RFC 7644
/// §3.4.2.2 lets clients filter on it: `schemas eq "urn:...:enterprise:2.0:User"`.
static SCHEMAS_ATTR: AttributeDef = AttributeDef::string("schemas", "The resource's schema URIs.")
    .of_type(AttrType::Reference)
    .multi();

/// Resolve a path of a filter on a resource of type `rt`.
pub fn resolve(path: &AttrPath, rt: &ResourceTypeDef) -> Option<Resolved> {
    if path.is_schema() {
        return None;
    }
    if path.urn.is_none() && path.sub_attr.is_none() && path.name.eq_ignore_ascii_case("schemas") {
        return Some(Resolved {
            extension: None,
            attr: &SCHEMAS_ATTR,
            sub: None,
        });
    }
    let (attr, extension) = rt.resolve(path.urn.as_deref(), &path.name)?;
    let sub = match &path.sub_attr {
        None => None,
        Some(s) => Some(attr.sub(s)?),
    };
    Some(Resolved {
        extension,
        attr,
        sub,
    })
}

/// Resolve a path inside a value filter: a sub-attribute of `attr`.
fn resolve_in(path: &AttrPath, attr: &AttributeDef) -> Option<&'static AttributeDef> {
    if path.urn.is_some() || path.sub_attr.is_some() {
        return None;
    }
    attr.sub(&path.name)
}

fn invalid(detail: String) -> ScimError {
    ScimError::invalid_filter(detail)
}

/// Check a filter against the schema before evaluation or SQL translation: every attribute
/// exists, and every operator and value suits the attribute's type.
pub fn validate(filter: &Filter, rt: &ResourceTypeDef) -> ScimResult<()> {
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => {
            validate(a, rt)?;
            validate(b, rt)
        }
        Filter::Not(x) => validate(x, rt),
        Filter::Present(p) => resolve_checked(p, rt).map(|_| ()),
        Filter::Compare(p, op, v) => {
            let r = resolve_checked(p, rt)?;
            // `eq null` / `ne null` test presence, which any attribute has.
            let null_test =
                matches!(v, CompValue::Null) && matches!(op, CompareOp::Eq | CompareOp::Ne);
            if !null_test
                && r.attr.ty == AttrType::Complex
                && r.sub.is_none()
                && r.implicit_value().is_none()
            {
                return Err(invalid(format!(
                    "'{p}' is a complex attribute: compare one of its sub-attributes"
                )));
            }
            check_comparison(p, r.compared(), *op, v)
        }
        Filter::ValuePath(p, inner) => {
            let r = resolve_checked(p, rt)?;
            if r.sub.is_some() || r.attr.ty != AttrType::Complex {
                return Err(invalid(format!(
                    "'{p}' is not a complex attribute and cannot take a value filter"
                )));
            }
            validate_in(inner, r.attr, p)
        }
    }
}

/// Validate the filter of a value path or PATCH path: its paths name sub-attributes of `attr`.
pub fn validate_element(filter: &Filter, attr: &AttributeDef) -> ScimResult<()> {
    validate_in(filter, attr, &AttrPath::new(attr.name))
}

fn validate_in(filter: &Filter, attr: &AttributeDef, outer: &AttrPath) -> ScimResult<()> {
    let sub = |p: &AttrPath| {
        resolve_in(p, attr).ok_or_else(|| {
            invalid(format!(
                "'{p}' is not a sub-attribute of '{outer}' in its value filter"
            ))
        })
    };
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => {
            validate_in(a, attr, outer)?;
            validate_in(b, attr, outer)
        }
        Filter::Not(x) => validate_in(x, attr, outer),
        Filter::Present(p) => sub(p).map(|_| ()),
        Filter::Compare(p, op, v) => check_comparison(p, sub(p)?, *op, v),
        Filter::ValuePath(p, _) => Err(invalid(format!(
            "value filters cannot be nested ('{p}' inside '{outer}')"
        ))),
    }
}

fn resolve_checked(p: &AttrPath, rt: &ResourceTypeDef) -> ScimResult<Resolved> {
    let r = resolve(p, rt)
        .ok_or_else(|| invalid(format!("unknown attribute '{p}' for a {}", rt.name)))?;
    if r.attr.returned == Returned::Never || r.sub.is_some_and(|s| s.returned == Returned::Never) {
        return Err(invalid(format!(
            "attribute '{p}' cannot be used in a filter"
        )));
    }
    Ok(r)
}

fn check_comparison(
    p: &AttrPath,
    def: &AttributeDef,
    op: CompareOp,
    v: &CompValue,
) -> ScimResult<()> {
    use CompareOp::*;
    let ty = def.ty;
    let ordering = matches!(op, Gt | Ge | Lt | Le);
    let substring = matches!(op, Co | Sw | Ew);
    if let CompValue::Null = v {
        return if matches!(op, Eq | Ne) {
            Ok(())
        } else {
            Err(invalid(format!("'{op}' cannot compare '{p}' with null")))
        };
    }
    if ordering && matches!(ty, AttrType::Boolean | AttrType::Binary) {
        return Err(invalid(format!(
            "'{op}' is not defined for the {} attribute '{p}'",
            ty.as_str()
        )));
    }
    if substring
        && !matches!(
            ty,
            AttrType::String | AttrType::Reference | AttrType::Binary
        )
    {
        return Err(invalid(format!(
            "'{op}' is not defined for the {} attribute '{p}'",
            ty.as_str()
        )));
    }
    let fits = match (ty, v) {
        (AttrType::Boolean, CompValue::Bool(_)) => true,
        (AttrType::Integer, CompValue::Number(n)) => n.is_i64() || n.is_u64(),
        (AttrType::Decimal, CompValue::Number(_)) => true,
        (AttrType::DateTime, CompValue::Str(s)) => datetime::parse(s).is_some(),
        (AttrType::String | AttrType::Reference | AttrType::Binary, CompValue::Str(_)) => true,
        _ => false,
    };
    if fits {
        Ok(())
    } else {
        Err(invalid(format!(
            "{v} is not a valid value for the {} attribute '{p}'",
            ty.as_str()
        )))
    }
}

/// Whether `resource` (canonical JSON) matches `filter`. Validate the filter first: on an
/// unvalidated filter, unknown attributes count as unassigned and ill-typed comparisons as
/// false.
pub fn matches(filter: &Filter, resource: &Value, rt: &ResourceTypeDef) -> bool {
    match filter {
        Filter::And(a, b) => matches(a, resource, rt) && matches(b, resource, rt),
        Filter::Or(a, b) => matches(a, resource, rt) || matches(b, resource, rt),
        Filter::Not(x) => !matches(x, resource, rt),
        Filter::Present(p) => resolve(p, rt).is_some_and(|r| present(resource, &r)),
        Filter::Compare(p, op, v) => match resolve(p, rt) {
            Some(r) => compare_resolved(resource, &r, *op, v),
            None => unassigned_compare(*op, v),
        },
        Filter::ValuePath(p, inner) => resolve(p, rt).is_some_and(|r| {
            r.sub.is_none()
                && elements(top_value(resource, &r))
                    .iter()
                    .any(|e| matches_element(inner, e, r.attr))
        }),
    }
}

/// For PATCH value paths and complex filters: `filter` paths are relative to the sub-attributes
/// of `attr` (a multi-valued complex attribute); `element` is one of its values.
pub fn matches_element(filter: &Filter, element: &Value, attr: &AttributeDef) -> bool {
    match filter {
        Filter::And(a, b) => matches_element(a, element, attr) && matches_element(b, element, attr),
        Filter::Or(a, b) => matches_element(a, element, attr) || matches_element(b, element, attr),
        Filter::Not(x) => !matches_element(x, element, attr),
        Filter::Present(p) => {
            resolve_in(p, attr).is_some_and(|d| get(element, d.name).is_some_and(is_present))
        }
        Filter::Compare(p, op, v) => match resolve_in(p, attr) {
            Some(d) => compare_single(get(element, d.name), d, *op, v),
            None => unassigned_compare(*op, v),
        },
        Filter::ValuePath(..) => false,
    }
}

/// A comparison on an attribute that has no value.
fn unassigned_compare(op: CompareOp, v: &CompValue) -> bool {
    match (op, v) {
        (CompareOp::Eq, CompValue::Null) => true,
        (CompareOp::Ne, CompValue::Null) => false,
        (CompareOp::Ne, _) => true,
        _ => false,
    }
}

/// A member of a JSON object by attribute name: exact spelling first, then in any case
/// (attribute names are case-insensitive, RFC 7643 §2.1). Null counts as absent.
fn get<'v>(obj: &'v Value, name: &str) -> Option<&'v Value> {
    let map = obj.as_object()?;
    let v = match map.get(name) {
        Some(v) => Some(v),
        None => map
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v),
    };
    v.filter(|v| !v.is_null())
}

fn top_value<'v>(resource: &'v Value, r: &Resolved) -> Option<&'v Value> {
    match r.extension {
        Some(ext) => get(get(resource, ext.id)?, r.attr.name),
        None => get(resource, r.attr.name),
    }
}

/// The values of an attribute: the items of a multi-valued one (a lone value counts as one),
/// or the value itself.
fn elements(top: Option<&Value>) -> &[Value] {
    match top {
        None => &[],
        Some(Value::Array(items)) => items,
        Some(v) => std::slice::from_ref(v),
    }
}

/// The value a comparison or `pr` reads from one element.
fn leaf<'v>(element: &'v Value, def: Option<&AttributeDef>) -> Option<&'v Value> {
    match def {
        Some(d) => get(element, d.name),
        None => Some(element).filter(|v| !v.is_null()),
    }
}

pub(super) fn is_present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

fn present(resource: &Value, r: &Resolved) -> bool {
    let top = top_value(resource, r);
    if r.attr.multi_valued {
        elements(top)
            .iter()
            .any(|e| leaf(e, r.sub).is_some_and(is_present))
    } else {
        match r.sub {
            Some(s) => top.and_then(|t| get(t, s.name)).is_some_and(is_present),
            None => top.is_some_and(is_present),
        }
    }
}

fn compare_resolved(resource: &Value, r: &Resolved, op: CompareOp, v: &CompValue) -> bool {
    match (op, v) {
        (CompareOp::Eq, CompValue::Null) => return !present(resource, r),
        (CompareOp::Ne, CompValue::Null) => return present(resource, r),
        _ => {}
    }
    let def = r.compared();
    let leaf_def = r.sub.or(r.implicit_value());
    let top = top_value(resource, r);
    if r.attr.multi_valued {
        let items = elements(top);
        if op == CompareOp::Ne && items.is_empty() {
            return true;
        }
        items
            .iter()
            .any(|e| compare_single(leaf(e, leaf_def), def, op, v))
    } else {
        let value = match r.sub {
            Some(s) => top.and_then(|t| get(t, s.name)),
            None => top,
        };
        compare_single(value, def, op, v)
    }
}

/// One value (None: unassigned) against the operand, by the attribute's type.
fn compare_single(value: Option<&Value>, def: &AttributeDef, op: CompareOp, v: &CompValue) -> bool {
    let Some(value) = value else {
        return unassigned_compare(op, v);
    };
    match (op, v) {
        (CompareOp::Eq, CompValue::Null) => return !is_present(value),
        (CompareOp::Ne, CompValue::Null) => return is_present(value),
        (CompareOp::Ne, _) => return !compare_value(value, def, CompareOp::Eq, v),
        _ => {}
    }
    compare_value(value, def, op, v)
}

fn ordered(op: CompareOp, ord: Ordering) -> bool {
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

fn compare_value(value: &Value, def: &AttributeDef, op: CompareOp, v: &CompValue) -> bool {
    match (def.ty, value, v) {
        (AttrType::DateTime, Value::String(a), CompValue::Str(b)) => {
            match (datetime::parse(a), datetime::parse(b)) {
                (Some(a), Some(b)) => ordered(op, a.cmp(&b)),
                _ => false,
            }
        }
        (AttrType::Boolean, Value::Bool(a), CompValue::Bool(b)) => {
            matches!(op, CompareOp::Eq | CompareOp::Ne) && ordered(op, a.cmp(b))
        }
        (AttrType::Integer | AttrType::Decimal, Value::Number(a), CompValue::Number(b)) => {
            let ord = match (a.as_i64(), b.as_i64()) {
                (Some(a), Some(b)) => a.cmp(&b),
                _ => match (a.as_f64(), b.as_f64()) {
                    (Some(a), Some(b)) => match a.partial_cmp(&b) {
                        Some(o) => o,
                        None => return false,
                    },
                    _ => return false,
                },
            };
            ordered(op, ord)
        }
        (
            AttrType::String | AttrType::Reference | AttrType::Binary,
            Value::String(a),
            CompValue::Str(b),
        ) => {
            if def.case_exact {
                compare_text(a, b, op)
            } else {
                compare_text(&a.to_ascii_lowercase(), &b.to_ascii_lowercase(), op)
            }
        }
        _ => false,
    }
}

fn compare_text(a: &str, b: &str, op: CompareOp) -> bool {
    match op {
        CompareOp::Co => a.contains(b),
        CompareOp::Sw => a.starts_with(b),
        CompareOp::Ew => a.ends_with(b),
        _ => ordered(op, a.as_bytes().cmp(b.as_bytes())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::ScimType;
    use crate::scim::filter::parse_filter;
    use crate::scim::schema::{GROUP, USER};
    use serde_json::json;

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "externalId": "Ext-1",
            "userName": "Bjensen@Example.com",
            "name": {"familyName": "Jensen", "givenName": "Barbara"},
            "title": "",
            "active": true,
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "phoneNumbers": [],
            "meta": {
                "resourceType": "User",
                "created": "2011-08-01T18:29:49.793Z",
                "lastModified": "2011-08-01T20:31:02.000Z"
            },
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "employeeNumber": "701984",
                "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
            }
        })
    }

    fn m(f: &str) -> bool {
        let f = parse_filter(f).unwrap();
        validate(&f, &USER).unwrap_or_else(|e| panic!("{f}: {e}"));
        matches(&f, &user(), &USER)
    }

    fn invalid(f: &str) -> String {
        let parsed = parse_filter(f).unwrap();
        let e = validate(&parsed, &USER).expect_err(f);
        assert_eq!(e.scim_type, Some(ScimType::InvalidFilter), "{f}");
        e.detail
    }

    #[test]
    fn string_comparison_follows_case_exact() {
        assert!(m(r#"userName eq "bjensen@example.com""#));
        assert!(m(r#"USERNAME Eq "BJENSEN@EXAMPLE.COM""#));
        assert!(m(r#"externalId eq "Ext-1""#));
        assert!(!m(r#"externalId eq "ext-1""#));
        assert!(!m(r#"id sw "2819C223""#));
        assert!(m(r#"name.familyName co "ENS""#));
        assert!(m(r#"userName ew "COM""#));
        assert!(m(r#"userName gt "a""#));
        assert!(m(r#"userName lt "C""#));
        assert!(m(r#"userName ge "bjensen@example.com""#));
        assert!(m(r#"userName le "BJENSEN@EXAMPLE.COM""#));
    }

    #[test]
    fn multi_valued_attributes_match_if_any_value_does() {
        assert!(m(r#"emails.type eq "home""#));
        assert!(m(r#"emails co "jensen.org""#));
        assert!(m(r#"emails eq "BABS@jensen.org""#));
        assert!(m(r#"emails[type eq "work" and value co "@example"]"#));
        assert!(!m(r#"emails[type eq "home" and value co "@example"]"#));
        assert!(m(r#"emails[type eq "home"] and emails[primary eq true]"#));
        assert!(m(r#"emails[not (type eq "work")]"#));
        assert!(m(r#"emails.primary eq true"#));
        assert!(!m(r#"phoneNumbers co "1""#));
    }

    #[test]
    fn dates_compare_as_instants() {
        assert!(m(r#"meta.created eq "2011-08-01T20:29:49.793+02:00""#));
        assert!(m(r#"meta.lastModified gt "2011-08-01T18:29:49Z""#));
        assert!(m(r#"meta.lastModified lt "2011-08-01T16:31:02.001-04:00""#));
        assert!(!m(r#"meta.lastModified gt "2011-08-01T20:31:02Z""#));
        assert!(m(r#"meta.lastModified ge "2011-08-01T20:31:02Z""#));
        assert!(m(r#"meta.created gt "2011-08-01T18:29:49.7925Z""#));
    }

    #[test]
    fn present_means_not_null_empty_string_or_empty_array() {
        assert!(m("userName pr"));
        assert!(m("name pr"));
        assert!(m("emails pr"));
        assert!(m("emails.primary pr"));
        assert!(!m("title pr"));
        assert!(!m("phoneNumbers pr"));
        assert!(!m("nickName pr"));
        assert!(!m("addresses.region pr"));
        assert!(m("nickName eq null"));
        assert!(m("title eq null"));
        assert!(!m("userName eq null"));
        assert!(m("userName ne null"));
    }

    #[test]
    fn ne_matches_unassigned_attributes() {
        assert!(m(r#"nickName ne "x""#));
        assert!(m(r#"phoneNumbers ne "x""#));
        assert!(m(r#"name.middleName ne "x""#));
        assert!(!m(r#"userName ne "BJENSEN@example.com""#));
        // Any value that is not identical is enough.
        assert!(m(r#"emails.type ne "work""#));
        assert!(m(r#"not (nickName eq "x")"#));
    }

    #[test]
    fn booleans_and_extension_attributes() {
        assert!(m("active eq true"));
        assert!(m("active eq TRUE"));
        assert!(!m("active ne true"));
        assert!(m(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#
        ));
        assert!(m(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:MANAGER.value sw "2611""#
        ));
        assert!(m(
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName pr"#
        ));
    }

    #[test]
    fn logic_follows_precedence_and_parentheses() {
        assert!(m(r#"userName eq "x" or title pr or active eq true"#));
        assert!(!m(r#"(userName eq "x" or active eq true) and title pr"#));
        assert!(m(r#"userName eq "x" and title pr or active eq true"#));
        assert!(!m(r#"userName eq "x" and (title pr or active eq true)"#));
    }

    #[test]
    fn filters_on_schemas_match_any_uri_in_any_case() {
        let mut u = user();
        u["schemas"] = json!([
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ]);
        let run = |f: &str| {
            let f = parse_filter(f).unwrap();
            validate(&f, &USER).unwrap();
            matches(&f, &u, &USER)
        };
        assert!(run(
            r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user""#
        ));
        assert!(run(r#"SCHEMAS co "enterprise""#));
        assert!(!run(r#"schemas eq "urn:x""#));
        assert!(!m(r#"schemas co "enterprise""#));
    }

    #[test]
    fn group_member_values_are_case_exact() {
        let g = json!({"displayName": "Admins", "members": [{"value": "abc-DEF"}]});
        let run = |f: &str| {
            let f = parse_filter(f).unwrap();
            validate(&f, &GROUP).unwrap();
            matches(&f, &g, &GROUP)
        };
        assert!(run(r#"members.value eq "abc-DEF""#));
        assert!(!run(r#"members.value eq "ABC-def""#));
        assert!(run(r#"members eq "abc-DEF""#));
        assert!(run(r#"displayName eq "admins""#));
    }

    #[test]
    fn validate_rejects_type_mismatches_and_unknown_attributes() {
        assert!(invalid("active gt true").contains("not defined for the boolean"));
        assert!(invalid("x509Certificates.value lt \"a\"").contains("binary"));
        assert!(invalid("active co \"t\"").contains("not defined"));
        assert!(invalid("meta.created co \"2011\"").contains("not defined"));
        assert!(invalid("active eq \"true\"").contains("not a valid value"));
        assert!(invalid("userName eq 1").contains("not a valid value"));
        assert!(invalid("meta.created gt \"yesterday\"").contains("not a valid value"));
        assert!(invalid("userName gt null").contains("null"));
        assert!(invalid("name eq \"x\"").contains("complex"));
        assert!(invalid("nosuch eq \"x\"").contains("unknown attribute 'nosuch'"));
        assert!(invalid("name.nosuch pr").contains("unknown attribute"));
        assert!(invalid("userName.x pr").contains("unknown attribute"));
        assert!(invalid("urn:x:y:userName pr").contains("unknown attribute"));
        assert!(invalid("password eq \"secret\"").contains("cannot be used"));
        assert!(invalid("password pr").contains("cannot be used"));
        assert!(invalid("userName[value eq \"x\"]").contains("not a complex"));
        assert!(invalid("emails[nosuch eq \"x\"]").contains("not a sub-attribute"));
        assert!(invalid("emails[emails.value eq \"x\"]").contains("not a sub-attribute"));
        // Still fine: pr on anything, and eq/ne null on anything.
        for ok in [
            "name pr",
            "active ne null",
            "meta.created eq null",
            "emails[primary eq false]",
        ] {
            validate(&parse_filter(ok).unwrap(), &USER).unwrap();
        }
    }

    #[test]
    fn unknown_attributes_count_as_unassigned_in_unvalidated_evaluation() {
        let run = |f: &str| matches(&parse_filter(f).unwrap(), &user(), &USER);
        assert!(!run(r#"nosuch eq "x""#));
        assert!(run(r#"nosuch ne "x""#));
        assert!(!run("nosuch pr"));
        assert!(run("nosuch eq null"));
        assert!(!run(r#"emails[nosuch eq "x"]"#));
    }

    #[test]
    fn matches_element_evaluates_value_filters_of_patch_paths() {
        let emails = USER.core_attr("emails").unwrap();
        let f = parse_filter(r#"type eq "WORK" and primary eq true"#).unwrap();
        validate_element(&f, emails).unwrap();
        assert!(matches_element(&f, &user()["emails"][0], emails));
        assert!(!matches_element(&f, &user()["emails"][1], emails));
        let members = GROUP.core_attr("members").unwrap();
        let f = parse_filter(r#"value eq "ABC""#).unwrap();
        assert!(!matches_element(&f, &json!({"value": "abc"}), members));
        assert!(matches_element(&f, &json!({"value": "ABC"}), members));
        let nested = parse_filter(r#"value eq "x""#).unwrap();
        let nested = Filter::ValuePath(AttrPath::new("value"), Box::new(nested));
        assert!(validate_element(&nested, members).is_err());
        assert!(!matches_element(&nested, &json!({"value": "x"}), members));
    }

    #[test]
    fn tolerates_non_canonical_documents() {
        let doc = json!({"USERNAME": "a@b.c", "emails": {"value": "x@y.z"}, "title": null});
        let run = |f: &str| matches(&parse_filter(f).unwrap(), &doc, &USER);
        assert!(run(r#"userName eq "A@B.C""#));
        assert!(run(r#"emails.value eq "x@y.z""#));
        assert!(!run("title pr"));
        assert!(run(r#"title ne "x""#));
        assert!(!matches(
            &parse_filter("userName pr").unwrap(),
            &json!("not an object"),
            &USER
        ));
    }
}
