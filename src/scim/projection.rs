//! Partial representations (RFC 7644 §3.4.2.5, §3.9) under the `returned` rules of
//! RFC 7643 §7: `always` attributes are returned whatever the client asks, `never` ones
//! (password) are never returned, `request` ones only when named in `attributes`, and
//! `default` ones unless `attributes` leaves them out or `excludedAttributes` names them.
//!
//! Names match in any case. An unqualified name means the core schema (or a common attribute:
//! id, externalId, meta); `urn:...:enterprise:2.0:User:department` names an extension
//! attribute; the bare extension URN names the whole extension. Names the schema does not know
//! are ignored rather than refused: RFC 7644 gives no error for them and IdPs send attribute
//! lists meant for other servers.

use super::error::{ScimError, ScimResult};
use super::path::AttrPath;
use super::schema::{AttributeDef, ResourceTypeDef, Returned, SCHEMAS};
use serde_json::{Map, Value};

/// One entry of `attributes` or `excludedAttributes`, as the client wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    /// A whole schema, named by its URN (canonical spelling).
    Schema(&'static str),
    Attr(AttrPath),
}

/// What `attributes` / `excludedAttributes` asked for. The default value asks for nothing,
/// which returns the `always` and `default` attributes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    attributes: Vec<Item>,
    excluded: Vec<Item>,
}

/// An item resolved against a resource type. Schema ids are canonical, so plain `==` works.
#[derive(Debug, Clone, Copy)]
enum Resolved {
    Schema(&'static str),
    Attr {
        schema: &'static str,
        attr: &'static AttributeDef,
        sub: Option<&'static AttributeDef>,
    },
}

/// What the client asked about one top-level attribute.
#[derive(Debug, Default)]
struct Asked {
    whole: bool,
    subs: Vec<&'static str>,
}

impl Asked {
    fn of(list: &[Resolved], schema: &str, attr: &AttributeDef) -> Asked {
        let mut asked = Asked::default();
        for r in list {
            match *r {
                Resolved::Schema(s) if s == schema => asked.whole = true,
                Resolved::Attr {
                    schema: s,
                    attr: a,
                    sub,
                } if s == schema && a.name == attr.name => match sub {
                    None => asked.whole = true,
                    Some(sub) => asked.subs.push(sub.name),
                },
                _ => {}
            }
        }
        asked
    }
    fn names_sub(&self, sub: &AttributeDef) -> bool {
        self.subs.contains(&sub.name)
    }
    fn anything(&self) -> bool {
        self.whole || !self.subs.is_empty()
    }
}

impl Projection {
    /// From the raw `attributes` / `excludedAttributes` query values (comma-separated paths,
    /// URN-qualified allowed; blank entries are skipped).
    ///
    /// RFC 7644 §3.9 calls the two parameters mutually exclusive, so naming both is refused
    /// with 400 `invalidSyntax` rather than guessing which one the client meant. A parameter
    /// that is present but empty counts as absent. A malformed path is 400 `invalidValue`.
    pub fn parse(attributes: Option<&str>, excluded: Option<&str>) -> ScimResult<Projection> {
        let attributes = parse_items("attributes", attributes)?;
        let excluded = parse_items("excludedAttributes", excluded)?;
        if !attributes.is_empty() && !excluded.is_empty() {
            return Err(ScimError::invalid_syntax(
                "attributes and excludedAttributes are mutually exclusive (RFC 7644 §3.9)",
            ));
        }
        Ok(Projection {
            attributes,
            excluded,
        })
    }

    /// From already parsed paths; the same rules as [`Projection::parse`].
    pub fn from_paths(attributes: Vec<AttrPath>, excluded: Vec<AttrPath>) -> ScimResult<Self> {
        if !attributes.is_empty() && !excluded.is_empty() {
            return Err(ScimError::invalid_syntax(
                "attributes and excludedAttributes are mutually exclusive (RFC 7644 §3.9)",
            ));
        }
        Ok(Projection {
            attributes: attributes.into_iter().map(item_of_path).collect(),
            excluded: excluded.into_iter().map(item_of_path).collect(),
        })
    }

    /// True when neither parameter was given.
    pub fn is_default(&self) -> bool {
        self.attributes.is_empty() && self.excluded.is_empty()
    }

    /// The representation of `resource` (canonical form) to return to the client.
    pub fn apply(&self, rt: &ResourceTypeDef, resource: &Value) -> Value {
        let Value::Object(map) = resource else {
            return resource.clone();
        };
        let attrs = resolve_all(rt, &self.attributes);
        let excl = resolve_all(rt, &self.excluded);
        let mut out = Map::new();
        for (key, value) in map {
            if key.eq_ignore_ascii_case("schemas") {
                out.insert(key.clone(), value.clone());
                continue;
            }
            if let Some(ext) = rt.extension(key) {
                let Value::Object(inner) = value else {
                    continue;
                };
                let mut projected = Map::new();
                for (k, v) in inner {
                    if let Some(pv) = self.project_top(&attrs, &excl, ext.id, ext.attr(k), v) {
                        projected.insert(k.clone(), pv);
                    }
                }
                if !projected.is_empty() {
                    out.insert(key.clone(), Value::Object(projected));
                }
                continue;
            }
            if let Some(pv) =
                self.project_top(&attrs, &excl, rt.schema.id, rt.core_attr(key), value)
            {
                out.insert(key.clone(), pv);
            }
        }
        Value::Object(out)
    }

    /// True when the projection means the top-level attribute `attr` (a name, a URN-qualified
    /// name, or a whole extension URN) is not returned at all, so the store can skip loading
    /// it. Unknown names answer false: when in doubt, load.
    pub fn excludes(&self, rt: &ResourceTypeDef, attr: &str) -> bool {
        let attrs = resolve_all(rt, &self.attributes);
        let excl = resolve_all(rt, &self.excluded);
        if let Some(ext) = rt.extension(attr) {
            return ext
                .attributes
                .iter()
                .all(|a| !self.returns_any(&attrs, &excl, ext.id, a));
        }
        let (urn, name) = split_urn(attr);
        match rt.resolve(urn, name) {
            Some((a, ext)) => {
                let schema = ext.map_or(rt.schema.id, |e| e.id);
                !self.returns_any(&attrs, &excl, schema, a)
            }
            None => false,
        }
    }

    /// Whether any part of the top-level attribute `attr` can be returned.
    fn returns_any(
        &self,
        attrs: &[Resolved],
        excl: &[Resolved],
        schema: &str,
        attr: &AttributeDef,
    ) -> bool {
        match attr.returned {
            Returned::Never => false,
            Returned::Always => true,
            _ if !self.attributes.is_empty() => Asked::of(attrs, schema, attr).anything(),
            Returned::Request => false,
            _ => !Asked::of(excl, schema, attr).whole,
        }
    }

    fn project_top(
        &self,
        attrs: &[Resolved],
        excl: &[Resolved],
        schema: &str,
        def: Option<&'static AttributeDef>,
        value: &Value,
    ) -> Option<Value> {
        let Some(def) = def else {
            // Not in the schema (canonical resources hold none): only a full representation
            // carries it, since nothing could have asked for it by name.
            return (self.attributes.is_empty() && self.excluded.is_empty()).then(|| value.clone());
        };
        if !self.returns_any(attrs, excl, schema, def) {
            return None;
        }
        if !self.attributes.is_empty() {
            let asked = Asked::of(attrs, schema, def);
            if def.returned == Returned::Always || asked.whole {
                return filter_subs(value, def, true, |sub| match sub.returned {
                    Returned::Never => false,
                    Returned::Request => asked.names_sub(sub),
                    _ => true,
                });
            }
            return filter_subs(value, def, false, |sub| {
                sub.returned == Returned::Always
                    || (sub.returned != Returned::Never && asked.names_sub(sub))
            });
        }
        let excluded = Asked::of(excl, schema, def);
        filter_subs(value, def, true, |sub| match sub.returned {
            Returned::Always => true,
            Returned::Default => !excluded.names_sub(sub),
            _ => false,
        })
    }
}

/// Keep the sub-attributes of a complex value (or of each element of a multi-valued one) that
/// `keep` accepts; keys the schema does not know survive only when `keep_unknown`. A complex
/// value left empty is dropped, and so is a list left empty.
fn filter_subs(
    value: &Value,
    def: &AttributeDef,
    keep_unknown: bool,
    keep: impl Fn(&AttributeDef) -> bool,
) -> Option<Value> {
    if def.sub_attributes.is_empty() {
        return Some(value.clone());
    }
    let filter_obj = |v: &Value| -> Option<Value> {
        let Value::Object(m) = v else {
            return keep_unknown.then(|| v.clone());
        };
        let kept: Map<String, Value> = m
            .iter()
            .filter(|(k, _)| def.sub(k).map_or(keep_unknown, &keep))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        (!kept.is_empty()).then_some(Value::Object(kept))
    };
    match value {
        Value::Array(items) => {
            let kept: Vec<Value> = items.iter().filter_map(filter_obj).collect();
            (!kept.is_empty()).then_some(Value::Array(kept))
        }
        other => filter_obj(other),
    }
}

fn parse_items(param: &str, raw: Option<&str>) -> ScimResult<Vec<Item>> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            if let Some(id) = schema_urn(s) {
                return Ok(Item::Schema(id));
            }
            AttrPath::parse(s)
                .map(item_of_path)
                .map_err(|e| ScimError::invalid_value(format!("{param}: {}", e.detail)))
        })
        .collect()
}

/// The canonical id of the schema whose URN is exactly `s`, in any case.
fn schema_urn(s: &str) -> Option<&'static str> {
    SCHEMAS
        .iter()
        .map(|sch| sch.id)
        .find(|id| id.eq_ignore_ascii_case(s))
}

fn item_of_path(p: AttrPath) -> Item {
    // A path that is a whole schema URN may come back from the path parser either as the URN
    // with an empty name or as a URN-qualified "attribute" whose name is the URN's last part.
    if p.sub_attr.is_none()
        && let Some(urn) = &p.urn
    {
        let whole = if p.name.is_empty() {
            urn.clone()
        } else {
            format!("{urn}:{}", p.name)
        };
        if let Some(id) = schema_urn(&whole) {
            return Item::Schema(id);
        }
    }
    Item::Attr(p)
}

fn resolve_all(rt: &ResourceTypeDef, items: &[Item]) -> Vec<Resolved> {
    items
        .iter()
        .filter_map(|item| match item {
            Item::Schema(id) => rt.schema_ids().find(|s| s == id).map(Resolved::Schema),
            Item::Attr(p) => {
                let (attr, ext) = rt.resolve(p.urn.as_deref(), &p.name)?;
                let sub = match &p.sub_attr {
                    Some(s) => Some(attr.sub(s)?),
                    None => None,
                };
                Some(Resolved::Attr {
                    schema: ext.map_or(rt.schema.id, |e| e.id),
                    attr,
                    sub,
                })
            }
        })
        .collect()
}

/// `urn:...:User:department` → (Some(urn), "department"); a plain name → (None, name).
fn split_urn(s: &str) -> (Option<&str>, &str) {
    if s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
        && let Some(i) = s.rfind(':')
    {
        return (Some(&s[..i]), &s[i + 1..]);
    }
    (None, s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::{ENTERPRISE_USER_SCHEMA_ID, GROUP, USER};
    use serde_json::json;

    const ENT: &str = ENTERPRISE_USER_SCHEMA_ID;

    fn user() -> Value {
        json!({
            "schemas": [USER.schema.id, ENT],
            "id": "u1",
            "externalId": "ext-1",
            "userName": "ada@example.com",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "active": true,
            "password": "never-shown",
            "emails": [
                {"value": "ada@example.com", "type": "work", "primary": true},
                {"value": "ada@home.example", "type": "home"}
            ],
            ENT: {"department": "Engines", "employeeNumber": "42"},
            "meta": {"resourceType": "User", "created": "2024-01-01T00:00:00Z", "version": "W/\"1\""}
        })
    }

    fn group() -> Value {
        json!({
            "schemas": [GROUP.schema.id],
            "id": "g1",
            "displayName": "Engineering",
            "members": [{"value": "u1"}, {"value": "u2"}],
            "meta": {"resourceType": "Group"}
        })
    }

    fn attrs(paths: Vec<AttrPath>) -> Projection {
        Projection::from_paths(paths, vec![]).unwrap()
    }
    fn excl(paths: Vec<AttrPath>) -> Projection {
        Projection::from_paths(vec![], paths).unwrap()
    }
    fn keys(v: &Value) -> Vec<&str> {
        let mut k: Vec<&str> = v.as_object().unwrap().keys().map(|s| s.as_str()).collect();
        k.sort();
        k
    }

    #[test]
    fn default_projection_drops_never_and_keeps_the_rest() {
        let out = Projection::default().apply(&USER, &user());
        assert!(out.get("password").is_none());
        let mut expected = user();
        expected.as_object_mut().unwrap().remove("password");
        assert_eq!(out, expected);
    }

    #[test]
    fn attributes_keep_named_plus_always_and_schemas() {
        let out = attrs(vec![AttrPath::new("userName")]).apply(&USER, &user());
        assert_eq!(keys(&out), vec!["id", "schemas", "userName"]);
    }

    #[test]
    fn attributes_never_return_password_even_when_asked() {
        let out = attrs(vec![AttrPath::new("password")]).apply(&USER, &user());
        assert_eq!(keys(&out), vec!["id", "schemas"]);
    }

    #[test]
    fn attribute_names_match_in_any_case() {
        let out = attrs(vec![
            AttrPath::new("USERNAME"),
            AttrPath::with_sub("NAME", "GIVENNAME"),
        ])
        .apply(&USER, &user());
        assert_eq!(out["userName"], "ada@example.com");
        assert_eq!(out["name"], json!({"givenName": "Ada"}));
    }

    #[test]
    fn sub_attribute_of_multi_valued_keeps_that_sub_attribute_of_each_value() {
        let out = attrs(vec![AttrPath::with_sub("emails", "value")]).apply(&USER, &user());
        assert_eq!(
            out["emails"],
            json!([{"value": "ada@example.com"}, {"value": "ada@home.example"}])
        );
    }

    #[test]
    fn urn_qualified_extension_attribute_keeps_only_it() {
        let p = AttrPath::new("department").with_urn(ENT.to_lowercase());
        let out = attrs(vec![p]).apply(&USER, &user());
        assert_eq!(out[ENT], json!({"department": "Engines"}));
        assert!(out.get("userName").is_none());
    }

    #[test]
    fn urn_qualified_core_attribute_works() {
        let p = AttrPath::new("userName").with_urn(USER.schema.id);
        let out = attrs(vec![p]).apply(&USER, &user());
        assert_eq!(keys(&out), vec!["id", "schemas", "userName"]);
    }

    #[test]
    fn bare_extension_urn_names_the_whole_extension() {
        let p = Projection::parse(Some(&ENT.to_uppercase()), None).unwrap();
        let out = p.apply(&USER, &user());
        assert_eq!(
            out[ENT],
            json!({"department": "Engines", "employeeNumber": "42"})
        );
        assert!(out.get("emails").is_none());
        let p = Projection::parse(None, Some(ENT)).unwrap();
        let out = p.apply(&USER, &user());
        assert!(out.get(ENT).is_none());
        assert_eq!(out["userName"], "ada@example.com");
    }

    #[test]
    fn bare_urn_from_the_path_parser_is_the_whole_schema_whatever_its_shape() {
        let as_empty_name = AttrPath {
            urn: Some(ENT.into()),
            name: String::new(),
            sub_attr: None,
        };
        let (urn, last) = ENT.rsplit_once(':').unwrap();
        let as_last_part = AttrPath::new(last).with_urn(urn);
        for p in [as_empty_name, as_last_part] {
            let out = attrs(vec![p]).apply(&USER, &user());
            assert_eq!(out[ENT]["employeeNumber"], "42");
        }
    }

    #[test]
    fn excluded_attributes_drop_default_ones_only() {
        let out = excl(vec![
            AttrPath::new("emails"),
            AttrPath::new("id"),
            AttrPath::with_sub("name", "familyName"),
        ])
        .apply(&USER, &user());
        assert!(out.get("emails").is_none());
        assert_eq!(out["id"], "u1", "id is returned always");
        assert_eq!(out["name"], json!({"givenName": "Ada"}));
        assert_eq!(out["userName"], "ada@example.com");
        assert!(out.get("password").is_none());
    }

    #[test]
    fn excluding_every_sub_attribute_drops_the_attribute() {
        let out = excl(vec![
            AttrPath::with_sub("name", "familyName"),
            AttrPath::with_sub("name", "givenName"),
        ])
        .apply(&USER, &user());
        assert!(out.get("name").is_none());
    }

    #[test]
    fn excluded_members_is_reported_so_the_store_skips_loading_them() {
        let p = excl(vec![AttrPath::new("MEMBERS")]);
        assert!(p.excludes(&GROUP, "members"));
        assert!(!p.excludes(&GROUP, "displayName"));
        assert!(p.apply(&GROUP, &group()).get("members").is_none());
        assert!(!Projection::default().excludes(&GROUP, "members"));
    }

    #[test]
    fn excludes_follows_the_attributes_list() {
        let p = attrs(vec![AttrPath::new("displayName")]);
        assert!(p.excludes(&GROUP, "members"));
        assert!(!p.excludes(&GROUP, "id"), "always returned");
        let p = attrs(vec![AttrPath::with_sub("members", "value")]);
        assert!(!p.excludes(&GROUP, "members"));
        assert!(Projection::default().excludes(&USER, "password"));
        assert!(!Projection::default().excludes(&USER, "nonsense"));
    }

    #[test]
    fn excludes_understands_urns() {
        let p = attrs(vec![AttrPath::new("userName")]);
        assert!(p.excludes(&USER, ENT));
        assert!(p.excludes(&USER, &format!("{ENT}:department")));
        let p = attrs(vec![AttrPath::new("department").with_urn(ENT)]);
        assert!(!p.excludes(&USER, ENT));
        assert!(!p.excludes(&USER, &format!("{ENT}:Department")));
        assert!(p.excludes(&USER, &format!("{ENT}:employeeNumber")));
    }

    #[test]
    fn unknown_names_are_ignored() {
        let out = attrs(vec![
            AttrPath::new("shoeSize"),
            AttrPath::with_sub("name", "nope"),
        ])
        .apply(&USER, &user());
        assert_eq!(keys(&out), vec!["id", "schemas"]);
        let out = excl(vec![AttrPath::new("shoeSize")]).apply(&USER, &user());
        assert_eq!(out["userName"], "ada@example.com");
    }

    #[test]
    fn both_parameters_are_mutually_exclusive() {
        let e =
            Projection::from_paths(vec![AttrPath::new("a")], vec![AttrPath::new("b")]).unwrap_err();
        assert_eq!(
            (e.status, e.scim_type),
            (400, Some(super::super::ScimType::InvalidSyntax))
        );
        let e = Projection::parse(Some(ENT), Some(ENT)).unwrap_err();
        assert_eq!(e.status, 400);
    }

    #[test]
    fn empty_parameters_count_as_absent() {
        let p = Projection::parse(Some(" , "), Some("")).unwrap();
        assert!(p.is_default());
    }

    #[test]
    fn request_attributes_need_to_be_named() {
        // No schema attribute of ours is `returned: request`, so check the rule on a local one.
        static DEF: AttributeDef =
            AttributeDef::string("secretish", "x").returned(Returned::Request);
        let p = Projection::default();
        assert!(!p.returns_any(&[], &[], "s", &DEF));
        let named = [Resolved::Attr {
            schema: "s",
            attr: &DEF,
            sub: None,
        }];
        let p = attrs(vec![AttrPath::new("x")]);
        assert!(p.returns_any(&named, &[], "s", &DEF));
        assert!(!p.returns_any(&[], &[], "s", &DEF));
    }

    #[test]
    fn meta_sub_attributes_can_be_selected() {
        let out = attrs(vec![AttrPath::with_sub("meta", "version")]).apply(&USER, &user());
        assert_eq!(out["meta"], json!({"version": "W/\"1\""}));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn pool() -> Vec<AttrPath> {
            vec![
                AttrPath::new("userName"),
                AttrPath::new("id"),
                AttrPath::new("emails"),
                AttrPath::with_sub("emails", "value"),
                AttrPath::with_sub("name", "givenName"),
                AttrPath::new("password"),
                AttrPath::new("meta"),
                AttrPath::new("members"),
                AttrPath::with_sub("members", "value"),
                AttrPath::new("displayName"),
                AttrPath::new("department").with_urn(ENT),
                AttrPath {
                    urn: Some(ENT.into()),
                    name: String::new(),
                    sub_attr: None,
                },
            ]
        }

        fn projection() -> impl Strategy<Value = Projection> {
            let n = pool().len();
            (proptest::collection::vec(0..n, 0..5), any::<bool>()).prop_map(|(picks, as_attrs)| {
                let paths: Vec<AttrPath> = picks.into_iter().map(|i| pool()[i].clone()).collect();
                if as_attrs {
                    Projection::from_paths(paths, vec![]).unwrap()
                } else {
                    Projection::from_paths(vec![], paths).unwrap()
                }
            })
        }

        proptest! {
            #[test]
            fn what_excludes_reports_is_never_in_the_output(p in projection()) {
                for (rt, resource) in [(&USER, user()), (&GROUP, group())] {
                    let out = p.apply(rt, &resource);
                    prop_assert!(out.get("password").is_none());
                    prop_assert_eq!(&out["id"], &resource["id"]);
                    prop_assert_eq!(&out["schemas"], &resource["schemas"]);
                    for key in resource.as_object().unwrap().keys() {
                        if p.excludes(rt, key) {
                            prop_assert!(out.get(key).is_none(), "{} leaked", key);
                        }
                    }
                }
            }

            #[test]
            fn projecting_twice_changes_nothing_more(p in projection()) {
                let once = p.apply(&USER, &user());
                prop_assert_eq!(p.apply(&USER, &once), once);
            }
        }
    }
}
