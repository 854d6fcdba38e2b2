//! SCIM resources (User with the enterprise extension, Group) as canonical JSON: validation
//! and normalization of what clients send, leniency for known IdP quirks, and `meta`.
//!
//! The canonical form is a JSON object whose attribute names are spelled as in the schema,
//! whose extension attributes sit under their schema URN key, and that never holds nulls,
//! empty objects or empty arrays. It holds no readOnly attribute (`id`, `meta`, `groups`) and no
//! password: [`with_meta`] adds `schemas`, `id` and `meta` for output.
//!
//! Decisions, where the RFC leaves room:
//! - Unknown attributes are ignored, as are extension objects whose URN this server does not
//!   know (an IdP configured with extra attributes must not be locked out). A URN listed in
//!   `schemas` but unknown is ignored too; the core schema must be listed.
//! - An extension object is accepted even when its URN is missing from `schemas` (Entra and
//!   some Okta apps omit it).
//! - Keys holding a dot or a URN-qualified attribute (`name.givenName`,
//!   `urn:...:User:department`) are PATCH no-path syntax only: in a POST/PUT body they are a
//!   400 `invalidSyntax`, rather than being silently dropped or stored literally.
//! - Two keys naming the same attribute in different case are a 400 `invalidSyntax`.

use super::datetime;
use super::error::{ScimError, ScimResult};
use super::schema::{AttrType, AttributeDef, Mutability, ResourceTypeDef, SchemaDef};
use serde_json::{Map, Value, json};

/// Coerce and check one attribute's value against its definition: canonical sub-attribute
/// names, "True"/"False" strings for booleans, a lone object for a multi-valued attribute,
/// nulls and `"$ref": null` dropped, readOnly sub-attributes dropped (the server computes them).
/// `path` names the attribute in error messages.
/// Returns `None` when the value amounts to absent (null, an empty object or array).
pub fn normalize_attr_value(
    attr: &'static AttributeDef,
    value: Value,
    path: &str,
) -> ScimResult<Option<Value>> {
    if attr.multi_valued {
        let items = match value {
            Value::Null => return Ok(None),
            Value::Array(items) => items,
            // A lone value where an array is due: Okta and others send `emails` as one object.
            other => vec![other],
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            if let Some(v) = normalize_single(attr, item, path)?
                && !out.contains(&v)
            {
                out.push(v);
            }
        }
        Ok(if out.is_empty() {
            None
        } else {
            Some(Value::Array(out))
        })
    } else {
        normalize_single(attr, value, path)
    }
}

/// One value of `attr`, ignoring `multi_valued`.
pub(crate) fn normalize_single(
    attr: &'static AttributeDef,
    value: Value,
    path: &str,
) -> ScimResult<Option<Value>> {
    if value.is_null() {
        return Ok(None);
    }
    let expected = |what: &str| ScimError::invalid_value(format!("{path}: expected {what}"));
    match attr.ty {
        AttrType::Complex => {
            let Value::Object(obj) = value else {
                return Err(expected("an object"));
            };
            let mut out = Map::new();
            for (k, v) in obj {
                let Some(sub) = attr.sub(&k) else { continue };
                if sub.mutability == Mutability::ReadOnly {
                    continue;
                }
                let sub_path = format!("{path}.{}", sub.name);
                if let Some(v) = normalize_attr_value(sub, v, &sub_path)?
                    && out.insert(sub.name.to_string(), v).is_some()
                {
                    return Err(ScimError::invalid_syntax(format!(
                        "{sub_path}: given twice"
                    )));
                }
            }
            Ok(if out.is_empty() {
                None
            } else {
                Some(Value::Object(out))
            })
        }
        AttrType::Boolean => match value {
            Value::Bool(_) => Ok(Some(value)),
            // Entra sends "True"/"False".
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(Value::Bool(true))),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(Value::Bool(false))),
            _ => Err(expected("a boolean")),
        },
        AttrType::Integer => match &value {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(Some(value)),
            _ => Err(expected("an integer")),
        },
        AttrType::Decimal => match value {
            Value::Number(_) => Ok(Some(value)),
            _ => Err(expected("a number")),
        },
        AttrType::DateTime => match &value {
            Value::String(s) if datetime::parse(s).is_some() => Ok(Some(value)),
            _ => Err(expected("an RFC 3339 date-time")),
        },
        AttrType::String | AttrType::Reference | AttrType::Binary => match value {
            Value::String(_) => Ok(Some(value)),
            _ => Err(expected("a string")),
        },
    }
}

/// A validated POST/PUT body.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalized {
    pub resource: Value,
    /// The password the client sent, for the store to hash; never part of `resource`.
    pub password: Option<String>,
}

/// Validate and canonicalize a POST/PUT body (see the module documentation for the rules).
pub fn normalize_resource(rt: &ResourceTypeDef, input: Value) -> ScimResult<Normalized> {
    let Value::Object(obj) = input else {
        return Err(ScimError::invalid_syntax("the body must be a JSON object"));
    };
    check_schemas(rt, &obj)?;
    let mut out = Map::new();
    let mut password = None;
    for (key, value) in obj {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if let Some(ext) = rt.extension(&key) {
            if let Some(v) = normalize_extension(ext, value)? {
                insert_once(&mut out, ext.id, v)?;
            }
            continue;
        }
        let urn = is_urn(&key);
        if urn || key.contains('.') {
            // URNs hold dots of their own ("2.0").
            if !urn || is_qualified_attr(rt, &key) {
                return Err(ScimError::invalid_syntax(format!(
                    "{key}: dotted and URN-qualified attribute names are only allowed in PATCH"
                )));
            }
            continue; // an unknown extension
        }
        let Some(attr) = rt.core_attr(&key) else {
            continue;
        };
        match attr.mutability {
            Mutability::ReadOnly => continue,
            Mutability::WriteOnly => {
                password = take_password(attr, value)?.or(password);
                continue;
            }
            _ => {}
        }
        if let Some(v) = normalize_attr_value(attr, value, attr.name)? {
            insert_once(&mut out, attr.name, v)?;
        }
    }
    for attr in rt.schema.attributes.iter().filter(|a| a.required) {
        if !out.contains_key(attr.name) {
            return Err(ScimError::invalid_value(format!(
                "{}: required attribute is missing",
                attr.name
            )));
        }
    }
    Ok(Normalized {
        resource: Value::Object(out),
        password,
    })
}

fn check_schemas(rt: &ResourceTypeDef, obj: &Map<String, Value>) -> ScimResult<()> {
    let schemas = obj
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("schemas"))
        .map(|(_, v)| v);
    let Some(Value::Array(list)) = schemas else {
        return Err(ScimError::invalid_syntax(format!(
            "schemas: expected an array that includes {}",
            rt.schema.id
        )));
    };
    let has_core = list.iter().any(|s| {
        s.as_str()
            .is_some_and(|s| s.eq_ignore_ascii_case(rt.schema.id))
    });
    if !has_core {
        return Err(ScimError::invalid_syntax(format!(
            "schemas: must include {}",
            rt.schema.id
        )));
    }
    Ok(())
}

pub(crate) fn is_urn(key: &str) -> bool {
    // `get`, not `[..4]`: the fourth byte may fall inside a character ("urnƐ...", found by
    // the scim_body fuzz target), and slicing there panics.
    key.len() > 4 && key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
}

/// `urn:...:attr` where the URN is a schema of `rt`.
fn is_qualified_attr(rt: &ResourceTypeDef, key: &str) -> bool {
    rt.schema_ids().any(|id| {
        key.len() > id.len() + 1
            && key.is_char_boundary(id.len())
            && key[..id.len()].eq_ignore_ascii_case(id)
            && key.as_bytes()[id.len()] == b':'
    })
}

fn insert_once(out: &mut Map<String, Value>, key: &str, v: Value) -> ScimResult<()> {
    if out.insert(key.to_string(), v).is_some() {
        return Err(ScimError::invalid_syntax(format!("{key}: given twice")));
    }
    Ok(())
}

pub(crate) fn take_password(attr: &AttributeDef, value: Value) -> ScimResult<Option<String>> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        _ => Err(ScimError::invalid_value(format!(
            "{}: expected a string",
            attr.name
        ))),
    }
}

/// The object of one extension schema, canonicalized like a complex attribute.
fn normalize_extension(ext: &'static SchemaDef, value: Value) -> ScimResult<Option<Value>> {
    let obj = match value {
        Value::Null => return Ok(None),
        Value::Object(obj) => obj,
        _ => {
            return Err(ScimError::invalid_value(format!(
                "{}: expected an object",
                ext.id
            )));
        }
    };
    let mut out = Map::new();
    for (k, v) in obj {
        let Some(attr) = ext.attr(&k) else { continue };
        if attr.mutability == Mutability::ReadOnly {
            continue;
        }
        if let Some(v) = normalize_attr_value(attr, v, &format!("{}:{}", ext.id, attr.name))? {
            insert_once(&mut out, attr.name, v)?;
        }
    }
    Ok(if out.is_empty() {
        None
    } else {
        Some(Value::Object(out))
    })
}

/// `meta` of a stored resource, as the store knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    pub created: String,
    pub last_modified: String,
    pub location: String,
    pub version: String,
}

/// Fill `schemas` (the core schema, then each extension the resource holds), `id` and `meta`
/// for output. Anything already under those keys is replaced.
pub fn with_meta(rt: &ResourceTypeDef, resource: Value, id: &str, meta: &Meta) -> Value {
    let mut obj = match resource {
        Value::Object(obj) => obj,
        _ => Map::new(),
    };
    let schemas: Vec<Value> = rt
        .schema_ids()
        .enumerate()
        .filter(|(i, urn)| *i == 0 || obj.contains_key(*urn))
        .map(|(_, urn)| Value::String(urn.to_string()))
        .collect();
    obj.insert("schemas".into(), Value::Array(schemas));
    obj.insert("id".into(), Value::String(id.to_string()));
    obj.insert(
        "meta".into(),
        json!({
            "resourceType": rt.name,
            "created": meta.created,
            "lastModified": meta.last_modified,
            "location": meta.location,
            "version": meta.version,
        }),
    );
    Value::Object(obj)
}

/// This product's User rule: `userName` is the email. When emails are given, the primary one
/// (or the only one) must equal `userName`, ignoring case; two primaries are refused too.
/// Call it on canonical users (after normalization or a PATCH).
pub fn check_user_email_rule(user: &Value) -> ScimResult<()> {
    let Some(Value::Array(emails)) = user.get("emails") else {
        return Ok(());
    };
    let user_name = user.get("userName").and_then(Value::as_str).unwrap_or("");
    let primaries: Vec<&Value> = emails
        .iter()
        .filter(|e| e.get("primary") == Some(&Value::Bool(true)))
        .collect();
    let chosen = match (primaries.len(), emails.len()) {
        (1, _) => primaries[0],
        (0, 1) => &emails[0],
        (0, _) => return Ok(()),
        _ => {
            return Err(ScimError::invalid_value(
                "emails: at most one email may be primary",
            ));
        }
    };
    let email = chosen.get("value").and_then(Value::as_str).unwrap_or("");
    if email.eq_ignore_ascii_case(user_name) {
        Ok(())
    } else {
        Err(ScimError::invalid_value(format!(
            "emails: the primary email ({email}) must equal userName ({user_name})"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::ScimType;
    use crate::scim::schema::{ENTERPRISE_USER_SCHEMA_ID, GROUP, USER, USER_SCHEMA_ID};
    use proptest::prelude::*;

    fn user(body: Value) -> ScimResult<Normalized> {
        normalize_resource(&USER, body)
    }

    fn attr(name: &str) -> &'static AttributeDef {
        USER.core_attr(name).unwrap()
    }

    #[test]
    fn a_key_with_a_multibyte_character_at_the_urn_prefix_does_not_panic() {
        // Found by fuzzing (fuzz/corpus/scim_body/crash-3b70...): byte 4 falls inside 'Ɛ'.
        assert!(!is_urn(
            "urnƐetf:params:scim:schemas:extension:enterprise:2.0:User"
        ));
        assert!(!is_urn("urnƐ"));
        assert!(is_urn("URN:x"));
        // Not a URN, and dotted: a 400 like any dotted key in a POST body.
        let e = user(json!({
            "schemas": [USER_SCHEMA_ID],
            "userName": "a@b.c",
            "urnƐetf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "x"},
        }))
        .unwrap_err();
        assert_eq!(
            (e.status, e.scim_type),
            (400, Some(ScimType::InvalidSyntax))
        );
        let n =
            user(json!({"schemas": [USER_SCHEMA_ID], "userName": "a@b.c", "urnƐx": 1})).unwrap();
        assert_eq!(
            n.resource,
            json!({"userName": "a@b.c"}),
            "an unknown key is ignored"
        );
    }

    #[test]
    fn canonicalizes_names_and_drops_read_only_and_nulls() {
        let n = user(json!({
            "SCHEMAS": [USER_SCHEMA_ID],
            "id": "client-chosen",
            "meta": {"version": "W/\"1\""},
            "groups": [{"value": "g1"}],
            "USERNAME": "ann@example.com",
            "Name": {"GivenName": "Ann", "familyName": null},
            "nickName": null,
            "emails": [{"value": "ann@example.com", "primary": "True", "display": null}],
            "externalId": "e-1",
        }))
        .unwrap();
        assert_eq!(
            n.resource,
            json!({
                "userName": "ann@example.com",
                "name": {"givenName": "Ann"},
                "emails": [{"value": "ann@example.com", "primary": true}],
                "externalId": "e-1",
            })
        );
        assert_eq!(n.password, None);
    }

    #[test]
    fn extracts_the_password_and_never_keeps_it() {
        let n = user(json!({
            "schemas": [USER_SCHEMA_ID],
            "userName": "a@x.io",
            "password": "t1meMa$heen",
        }))
        .unwrap();
        assert_eq!(n.password.as_deref(), Some("t1meMa$heen"));
        assert!(n.resource.get("password").is_none());
        let e = user(json!({"schemas": [USER_SCHEMA_ID], "userName": "a@x.io", "password": 7}))
            .unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
    }

    #[test]
    fn schemas_must_list_the_core_schema() {
        for body in [
            json!({"userName": "a@x.io"}),
            json!({"schemas": USER_SCHEMA_ID, "userName": "a@x.io"}),
            json!({"schemas": [ENTERPRISE_USER_SCHEMA_ID], "userName": "a@x.io"}),
        ] {
            let e = user(body).unwrap_err();
            assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
        }
        let e = normalize_resource(&USER, json!([1])).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
    }

    #[test]
    fn unknown_attributes_and_unknown_extensions_are_ignored() {
        let n = user(json!({
            "schemas": [USER_SCHEMA_ID, "urn:example:custom:1.0:User"],
            "userName": "a@x.io",
            "favouriteColour": "teal",
            "urn:example:custom:1.0:User": {"badge": 7},
        }))
        .unwrap();
        assert_eq!(n.resource, json!({"userName": "a@x.io"}));
    }

    #[test]
    fn extension_attributes_live_under_their_urn() {
        let n = user(json!({
            "schemas": [USER_SCHEMA_ID],
            "userName": "a@x.io",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {
                "Department": "R&D",
                "manager": {"value": "m1", "$ref": null, "displayName": "Boss"},
                "costCenter": null,
            },
        }))
        .unwrap();
        assert_eq!(
            n.resource[ENTERPRISE_USER_SCHEMA_ID],
            json!({"department": "R&D", "manager": {"value": "m1"}})
        );
    }

    #[test]
    fn dotted_and_qualified_keys_are_patch_only() {
        for key in [
            "name.givenName",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            "urn:ietf:params:scim:schemas:core:2.0:User:displayName",
        ] {
            let mut body = json!({"schemas": [USER_SCHEMA_ID], "userName": "a@x.io"});
            body[key] = json!("x");
            let e = user(body).unwrap_err();
            assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax), "{key}");
            assert!(e.detail.contains(key));
        }
    }

    #[test]
    fn required_attributes_are_enforced() {
        let e = user(json!({"schemas": [USER_SCHEMA_ID], "userName": null})).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
        assert!(e.detail.contains("userName"));
        let e = normalize_resource(
            &GROUP,
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "members": []}),
        )
        .unwrap_err();
        assert!(e.detail.contains("displayName"));
    }

    #[test]
    fn wrong_types_name_the_attribute() {
        let cases = [
            (json!({"active": "yes"}), "active: expected a boolean"),
            (json!({"displayName": 5}), "displayName: expected a string"),
            (json!({"name": "Ann"}), "name: expected an object"),
            (
                json!({"emails": [{"value": "a@x.io", "primary": 1}]}),
                "emails.primary: expected a boolean",
            ),
        ];
        for (extra, detail) in cases {
            let mut body = json!({"schemas": [USER_SCHEMA_ID], "userName": "a@x.io"});
            for (k, v) in extra.as_object().unwrap() {
                body[k] = v.clone();
            }
            let e = user(body).unwrap_err();
            assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
            assert_eq!(e.detail, detail);
        }
    }

    #[test]
    fn case_variants_of_one_attribute_are_refused() {
        let e =
            user(json!({"schemas": [USER_SCHEMA_ID], "userName": "a@x.io", "USERNAME": "b@x.io"}))
                .unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
    }

    #[test]
    fn lenient_values() {
        let active = attr("active");
        for (input, expected) in [
            (json!("True"), Some(json!(true))),
            (json!("false"), Some(json!(false))),
            (json!("FALSE"), Some(json!(false))),
            (json!(true), Some(json!(true))),
            (Value::Null, None),
        ] {
            assert_eq!(
                normalize_attr_value(active, input, "active").unwrap(),
                expected
            );
        }
        let emails = attr("emails");
        assert_eq!(
            normalize_attr_value(emails, json!({"value": "a@x.io", "TYPE": "work"}), "emails")
                .unwrap(),
            Some(json!([{"value": "a@x.io", "type": "work"}]))
        );
        assert_eq!(
            normalize_attr_value(emails, json!([null, {"value": null}]), "emails").unwrap(),
            None
        );
        let members = GROUP.core_attr("members").unwrap();
        assert_eq!(
            normalize_attr_value(
                members,
                json!([{"value": "u1", "$ref": null, "display": "Ann"}, {"value": "u1"}]),
                "members"
            )
            .unwrap(),
            Some(json!([{"value": "u1"}]))
        );
    }

    #[test]
    fn dates_are_checked() {
        use crate::scim::schema::{COMMON_ATTRIBUTES, find_attr};
        let created = find_attr(COMMON_ATTRIBUTES, "meta")
            .unwrap()
            .sub("created")
            .unwrap();
        assert!(normalize_attr_value(created, json!("2020-01-01T00:00:00Z"), "c").is_ok());
        assert!(normalize_attr_value(created, json!("yesterday"), "c").is_err());
    }

    #[test]
    fn with_meta_fills_output_fields() {
        let meta = Meta {
            created: "2024-01-01T00:00:00.000Z".into(),
            last_modified: "2024-01-02T00:00:00.000Z".into(),
            location: "https://h/scim/v2.0/organizations/o/Users/u1".into(),
            version: "W/\"3\"".into(),
        };
        let r = json!({"userName": "a@x.io", ENTERPRISE_USER_SCHEMA_ID: {"department": "R&D"}});
        let out = with_meta(&USER, r, "u1", &meta);
        assert_eq!(
            out["schemas"],
            json!([USER_SCHEMA_ID, ENTERPRISE_USER_SCHEMA_ID])
        );
        assert_eq!(out["id"], "u1");
        assert_eq!(out["meta"]["resourceType"], "User");
        assert_eq!(out["meta"]["version"], "W/\"3\"");
        assert_eq!(out["meta"]["lastModified"], "2024-01-02T00:00:00.000Z");
        let plain = with_meta(&USER, json!({"userName": "a@x.io"}), "u1", &meta);
        assert_eq!(plain["schemas"], json!([USER_SCHEMA_ID]));
    }

    #[test]
    fn email_rule() {
        let ok = [
            json!({"userName": "a@x.io"}),
            json!({"userName": "A@X.io", "emails": [{"value": "a@x.io"}]}),
            json!({"userName": "a@x.io", "emails": [{"value": "b@x.io"}, {"value": "a@x.io", "primary": true}]}),
            // Several emails, none primary: nothing to compare against.
            json!({"userName": "a@x.io", "emails": [{"value": "b@x.io"}, {"value": "c@x.io"}]}),
        ];
        for u in ok {
            assert!(check_user_email_rule(&u).is_ok(), "{u}");
        }
        let bad = [
            json!({"userName": "a@x.io", "emails": [{"value": "b@x.io"}]}),
            json!({"userName": "a@x.io", "emails": [{"value": "a@x.io"}, {"value": "b@x.io", "primary": true}]}),
            json!({"userName": "a@x.io", "emails": [{"value": "a@x.io", "primary": true}, {"value": "a@x.io", "primary": true}]}),
        ];
        for u in bad {
            let e = check_user_email_rule(&u).unwrap_err();
            assert_eq!(e.scim_type, Some(ScimType::InvalidValue), "{u}");
        }
    }

    fn messy_user() -> impl Strategy<Value = Value> {
        let boolish = prop_oneof![
            Just(json!(true)),
            Just(json!("False")),
            Just(json!("TRUE")),
            Just(Value::Null)
        ];
        let text = prop_oneof![Just(Value::Null), "[a-z]{0,6}".prop_map(Value::from)];
        (
            boolish.clone(),
            text.clone(),
            text.clone(),
            proptest::collection::vec((text.clone(), boolish), 0..3),
            any::<bool>(),
            text,
        )
            .prop_map(|(active, given, title, emails, lone, dept)| {
                let emails: Vec<Value> = emails
                    .into_iter()
                    .map(|(v, p)| json!({"VALUE": v, "primary": p, "type": "work"}))
                    .collect();
                let emails = if lone && emails.len() == 1 {
                    emails[0].clone()
                } else {
                    Value::Array(emails)
                };
                json!({
                    "schemas": [USER_SCHEMA_ID],
                    "username": "a@x.io",
                    "Active": active,
                    "name": {"givenname": given},
                    "TITLE": title,
                    "emails": emails,
                    ENTERPRISE_USER_SCHEMA_ID: {"DEPARTMENT": dept},
                })
            })
    }

    proptest! {
        #[test]
        fn normalize_is_idempotent(body in messy_user()) {
            let meta = Meta {
                created: "c".into(),
                last_modified: "m".into(),
                location: "l".into(),
                version: "v".into(),
            };
            let once = user(body).unwrap().resource;
            let again = user(with_meta(&USER, once.clone(), "u1", &meta)).unwrap().resource;
            prop_assert_eq!(&again, &once);
        }
    }
}
