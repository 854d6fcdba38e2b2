//! Discovery documents (RFC 7644 §4; RFC 7643 §5, §6, §7): ServiceProviderConfig,
//! ResourceTypes and Schemas. Generated from the tables in `schema.rs`, so what the server
//! advertises is what it enforces. Shapes follow the RFC 7643 §8.5-8.7 examples.

use super::schema::{
    AttributeDef, LIST_RESPONSE_SCHEMA, RESOURCE_TYPE_SCHEMA, RESOURCE_TYPES, ResourceTypeDef,
    SCHEMA_SCHEMA, SCHEMAS, SP_CONFIG_SCHEMA, SchemaDef,
};
use serde_json::{Map, Value, json};

/// What this service provider supports, as advertised in `/ServiceProviderConfig`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpConfig {
    pub documentation_uri: Option<String>,
    pub patch: bool,
    pub bulk: bool,
    pub bulk_max_operations: u64,
    pub bulk_max_payload_size: u64,
    pub filter: bool,
    pub filter_max_results: u64,
    pub change_password: bool,
    pub sort: bool,
    pub etag: bool,
}

/// The largest request body the server accepts, and so the largest bulk payload.
pub const MAX_PAYLOAD_SIZE: u64 = 1024 * 1024;
/// The most resources one list response holds.
pub const MAX_RESULTS: u64 = 200;

impl Default for SpConfig {
    /// This server's truth: no Bulk endpoint and no password changes (passwords sent by IdPs
    /// are accepted but never used), everything else on.
    fn default() -> Self {
        SpConfig {
            documentation_uri: None,
            patch: true,
            bulk: false,
            bulk_max_operations: 0,
            bulk_max_payload_size: MAX_PAYLOAD_SIZE,
            filter: true,
            filter_max_results: MAX_RESULTS,
            change_password: false,
            sort: true,
            etag: true,
        }
    }
}

/// `base_url` is the SCIM root of the organization, e.g.
/// `https://host/scim/v2.0/organizations/ORG`; a trailing slash is ignored.
fn root(base_url: &str) -> &str {
    base_url.trim_end_matches('/')
}

/// The `/ServiceProviderConfig` document (RFC 7643 §5), every key present.
pub fn service_provider_config(cfg: &SpConfig, base_url: &str) -> Value {
    let mut scheme = json!({
        "type": "oauthbearertoken",
        "name": "OAuth Bearer Token",
        "description": "Authentication with a SCIM token of the organization, sent as an \
                        OAuth 2.0 bearer token (Authorization: Bearer <token>).",
        "specUri": "https://www.rfc-editor.org/info/rfc6750",
        "primary": true,
    });
    let mut doc = json!({
        "schemas": [SP_CONFIG_SCHEMA],
        "patch": {"supported": cfg.patch},
        "bulk": {
            "supported": cfg.bulk,
            "maxOperations": cfg.bulk_max_operations,
            "maxPayloadSize": cfg.bulk_max_payload_size,
        },
        "filter": {"supported": cfg.filter, "maxResults": cfg.filter_max_results},
        "changePassword": {"supported": cfg.change_password},
        "sort": {"supported": cfg.sort},
        "etag": {"supported": cfg.etag},
        "authenticationSchemes": [],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{}/ServiceProviderConfig", root(base_url)),
        },
    });
    if let Some(uri) = &cfg.documentation_uri {
        doc["documentationUri"] = json!(uri);
        scheme["documentationUri"] = json!(uri);
    }
    doc["authenticationSchemes"] = json!([scheme]);
    doc
}

fn resource_type_doc(rt: &ResourceTypeDef, base_url: &str) -> Value {
    let mut doc = json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": rt.id,
        "name": rt.name,
        "endpoint": rt.endpoint,
        "description": rt.description,
        "schema": rt.schema.id,
        "meta": {
            "resourceType": "ResourceType",
            "location": format!("{}/ResourceTypes/{}", root(base_url), rt.id),
        },
    });
    // RFC 7643 §8.6 leaves the key out for a type without extensions (Group).
    if !rt.extensions.is_empty() {
        doc["schemaExtensions"] = rt
            .extensions
            .iter()
            .map(|(s, required)| json!({"schema": s.id, "required": required}))
            .collect();
    }
    doc
}

/// The `/ResourceTypes` ListResponse.
pub fn resource_types(base_url: &str) -> Value {
    list(
        RESOURCE_TYPES
            .iter()
            .map(|rt| resource_type_doc(rt, base_url))
            .collect(),
    )
}

/// `/ResourceTypes/{id}`; ids match in any case.
pub fn resource_type(id: &str, base_url: &str) -> Option<Value> {
    RESOURCE_TYPES
        .iter()
        .find(|rt| rt.id.eq_ignore_ascii_case(id))
        .map(|rt| resource_type_doc(rt, base_url))
}

fn attribute_doc(a: &AttributeDef) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(a.name));
    m.insert("type".into(), json!(a.ty.as_str()));
    m.insert("multiValued".into(), json!(a.multi_valued));
    m.insert("description".into(), json!(a.description));
    m.insert("required".into(), json!(a.required));
    m.insert("caseExact".into(), json!(a.case_exact));
    m.insert("mutability".into(), json!(a.mutability.as_str()));
    m.insert("returned".into(), json!(a.returned.as_str()));
    m.insert("uniqueness".into(), json!(a.uniqueness.as_str()));
    if !a.canonical_values.is_empty() {
        m.insert("canonicalValues".into(), json!(a.canonical_values));
    }
    if !a.reference_types.is_empty() {
        m.insert("referenceTypes".into(), json!(a.reference_types));
    }
    if !a.sub_attributes.is_empty() {
        m.insert(
            "subAttributes".into(),
            a.sub_attributes.iter().map(attribute_doc).collect(),
        );
    }
    Value::Object(m)
}

fn schema_doc(s: &SchemaDef, base_url: &str) -> Value {
    // The common attributes (id, externalId, meta) are not listed: RFC 7643 §3.1 defines them
    // for every resource, outside any schema.
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": s.id,
        "name": s.name,
        "description": s.description,
        "attributes": s.attributes.iter().map(attribute_doc).collect::<Vec<_>>(),
        "meta": {
            "resourceType": "Schema",
            "location": format!("{}/Schemas/{}", root(base_url), s.id),
        },
    })
}

/// The `/Schemas` ListResponse.
pub fn schemas(base_url: &str) -> Value {
    list(SCHEMAS.iter().map(|s| schema_doc(s, base_url)).collect())
}

/// `/Schemas/{id}`; URNs match in any case.
pub fn schema(id: &str, base_url: &str) -> Option<Value> {
    SCHEMAS
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(id))
        .map(|s| schema_doc(s, base_url))
}

fn list(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": resources.len(),
        "itemsPerPage": resources.len(),
        "startIndex": 1,
        "Resources": resources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::{
        AttrType, ENTERPRISE_USER_SCHEMA_ID, GROUP_SCHEMA_ID, USER_SCHEMA_ID,
    };

    const BASE: &str = "https://sp.example/scim/v2.0/organizations/o1/";

    #[test]
    fn service_provider_config_has_every_key_with_this_servers_truth() {
        let doc = service_provider_config(&SpConfig::default(), BASE);
        assert_eq!(doc["schemas"], json!([SP_CONFIG_SCHEMA]));
        assert_eq!(doc["patch"], json!({"supported": true}));
        assert_eq!(
            doc["bulk"],
            json!({"supported": false, "maxOperations": 0, "maxPayloadSize": 1_048_576})
        );
        assert_eq!(doc["filter"], json!({"supported": true, "maxResults": 200}));
        assert_eq!(doc["changePassword"], json!({"supported": false}));
        assert_eq!(doc["sort"], json!({"supported": true}));
        assert_eq!(doc["etag"], json!({"supported": true}));
        let schemes = doc["authenticationSchemes"].as_array().unwrap();
        assert_eq!(schemes.len(), 1);
        for key in ["type", "name", "description", "specUri", "primary"] {
            assert!(schemes[0].get(key).is_some(), "{key}");
        }
        assert_eq!(schemes[0]["type"], "oauthbearertoken");
        assert_eq!(doc["meta"]["resourceType"], "ServiceProviderConfig");
        assert_eq!(
            doc["meta"]["location"],
            "https://sp.example/scim/v2.0/organizations/o1/ServiceProviderConfig"
        );
        assert!(doc.get("documentationUri").is_none(), "no nulls");
        assert!(schemes[0].get("documentationUri").is_none());
    }

    #[test]
    fn documentation_uri_is_advertised_when_configured() {
        let cfg = SpConfig {
            documentation_uri: Some("https://docs.example/scim".into()),
            ..SpConfig::default()
        };
        let doc = service_provider_config(&cfg, BASE);
        assert_eq!(doc["documentationUri"], "https://docs.example/scim");
        assert_eq!(
            doc["authenticationSchemes"][0]["documentationUri"],
            "https://docs.example/scim"
        );
    }

    #[test]
    fn resource_types_follow_rfc_7643_8_6() {
        let list = resource_types(BASE);
        assert_eq!(list["schemas"], json!([LIST_RESPONSE_SCHEMA]));
        assert_eq!(list["totalResults"], 2);
        let user = resource_type("user", BASE).unwrap();
        assert_eq!(
            user,
            json!({
                "schemas": [RESOURCE_TYPE_SCHEMA],
                "id": "User",
                "name": "User",
                "endpoint": "/Users",
                "description": "User Account",
                "schema": USER_SCHEMA_ID,
                "schemaExtensions": [{"schema": ENTERPRISE_USER_SCHEMA_ID, "required": false}],
                "meta": {
                    "resourceType": "ResourceType",
                    "location": "https://sp.example/scim/v2.0/organizations/o1/ResourceTypes/User"
                }
            })
        );
        let group = resource_type("Group", BASE).unwrap();
        assert_eq!(group["schema"], GROUP_SCHEMA_ID);
        assert!(group.get("schemaExtensions").is_none());
        assert_eq!(list["Resources"][1], group);
        assert!(resource_type("Bogus", BASE).is_none());
    }

    #[test]
    fn schemas_list_every_schema_with_full_attribute_characteristics() {
        let list = schemas(BASE);
        assert_eq!(list["totalResults"], 4);
        let user = schema(&USER_SCHEMA_ID.to_uppercase(), BASE).unwrap();
        assert_eq!(user["id"], USER_SCHEMA_ID);
        assert_eq!(user["schemas"], json!([SCHEMA_SCHEMA]));
        assert_eq!(user["meta"]["resourceType"], "Schema");
        assert_eq!(
            user["meta"]["location"],
            format!("https://sp.example/scim/v2.0/organizations/o1/Schemas/{USER_SCHEMA_ID}")
        );
        let attrs = user["attributes"].as_array().unwrap();
        let user_name = attrs.iter().find(|a| a["name"] == "userName").unwrap();
        assert_eq!(
            user_name,
            &json!({
                "name": "userName",
                "type": "string",
                "multiValued": false,
                "description": "Unique identifier for the User; here, the user's email address.",
                "required": true,
                "caseExact": false,
                "mutability": "readWrite",
                "returned": "default",
                "uniqueness": "server"
            })
        );
        assert!(
            attrs.iter().all(|a| a["name"] != "id"),
            "common attributes stay out"
        );
        let password = attrs.iter().find(|a| a["name"] == "password").unwrap();
        assert_eq!(password["returned"], "never");
        assert_eq!(password["mutability"], "writeOnly");
        let emails = attrs.iter().find(|a| a["name"] == "emails").unwrap();
        assert_eq!(emails["multiValued"], true);
        let subs = emails["subAttributes"].as_array().unwrap();
        let ty = subs.iter().find(|a| a["name"] == "type").unwrap();
        assert_eq!(ty["canonicalValues"], json!(["work", "home", "other"]));
        let profile = attrs.iter().find(|a| a["name"] == "profileUrl").unwrap();
        assert_eq!(profile["referenceTypes"], json!(["external"]));
        assert!(schema("urn:nope", BASE).is_none());
    }

    #[test]
    fn schema_documents_mirror_the_schema_tables() {
        // Every attribute and sub-attribute of the tables appears, with its type.
        fn check(defs: &[AttributeDef], docs: &Value) {
            let docs = docs.as_array().unwrap();
            assert_eq!(defs.len(), docs.len());
            for (d, doc) in defs.iter().zip(docs) {
                assert_eq!(doc["name"], d.name);
                assert_eq!(doc["type"], d.ty.as_str());
                if d.ty == AttrType::Complex {
                    check(d.sub_attributes, &doc["subAttributes"]);
                } else {
                    assert!(doc.get("subAttributes").is_none());
                }
            }
        }
        for s in SCHEMAS {
            check(s.attributes, &schema(s.id, BASE).unwrap()["attributes"]);
        }
        let group = schema(GROUP_SCHEMA_ID, BASE).unwrap();
        let members = &group["attributes"][1];
        assert_eq!(members["name"], "members");
        assert_eq!(members["subAttributes"][0]["mutability"], "immutable");
    }
}
