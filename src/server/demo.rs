//! The demo organization "Acme" behind `serve --demo` and the console's embedded default.
//!
//! Its data lives in `assets/demo/acme.json` and is sent through the real API, in process:
//! SCIM requests with the SCIM token for users and groups, admin API requests with the owner's
//! token for settings, stacks, mappings and the policy. The demo therefore runs the same code
//! as production, audit log included. Created once; a restart finds it and does nothing.

use super::{ServerConfig, router};
use crate::store::{Org, Store, StoreError, StoreResult};
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, header};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use tower::ServiceExt;

const ACME: &str = include_str!("../../assets/demo/acme.json");

pub const DEMO_ORG_NAME: &str = "Acme";
pub const DEMO_OWNER: &str = "owner@acme.example";
/// The label of the owner token that an in-process caller mints on each start.
pub const EMBEDDED_TOKEN_LABEL: &str = "console (embedded)";

/// What a newcomer needs; the tokens exist only on the run that created the org.
#[derive(Debug, Clone)]
pub struct DemoOrg {
    pub org: Org,
    pub fresh: Option<DemoSecrets>,
}

#[derive(Clone)]
pub struct DemoSecrets {
    pub admin_token: String,
    pub scim_token: String,
}

impl std::fmt::Debug for DemoSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DemoSecrets(<redacted>)")
    }
}

#[derive(Debug, Deserialize)]
struct DemoData {
    name: String,
    owner: String,
    scim_token_label: String,
    stacks: Vec<DemoStack>,
    users: Vec<DemoUser>,
    groups: Vec<DemoGroup>,
    mappings: Vec<DemoMapping>,
    pending: DemoPending,
}

#[derive(Debug, Deserialize)]
struct DemoStack {
    name: String,
    custom_roles: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct DemoUser {
    given: String,
    family: String,
    email: String,
    title: String,
    department: String,
    #[serde(default)]
    groups: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct DemoGroup {
    name: String,
    members: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct DemoMapping {
    group: String,
    org_role: String,
    /// (stack name, role name) pairs.
    stack_roles: Vec<(String, String)>,
}

/// What happens after the approval policy is switched on, so that the queue has a few
/// requests in it: people who join, and a member who gains a group.
#[derive(Debug, Deserialize)]
struct DemoPending {
    new_users: Vec<DemoUser>,
    group_additions: Vec<DemoAddition>,
}

#[derive(Debug, Deserialize)]
struct DemoAddition {
    group: String,
    member: String,
}

fn data() -> StoreResult<DemoData> {
    serde_json::from_str(ACME)
        .map_err(|e| StoreError::Db(format!("assets/demo/acme.json does not parse: {e}")))
}

/// Finds the demo org, or creates and fills it. Only the creating run gets the secrets.
pub async fn ensure_demo<S: Store>(store: &S) -> StoreResult<DemoOrg> {
    let data = data()?;
    if let Some(org) = store.org_by_name(&data.name).await? {
        return Ok(DemoOrg { org, fresh: None });
    }
    let (org, owner) = store.create_org(&data.name, &data.owner).await?;
    let api = Api {
        router: router(store.clone(), ServerConfig::default()),
        admin_base: format!("{}/{}", super::admin::ADMIN_PREFIX, org.uid),
        scim_base: format!("{}/{}", super::scim::SCIM_PREFIX, org.uid),
        admin_token: owner.token.clone(),
        scim_token: String::new(),
    };
    let scim_token = seed(api, &data).await?;
    // Settings changed through the API since `create_org` returned; read them back.
    let org = store
        .org_by_uid(&org.uid)
        .await?
        .ok_or_else(|| StoreError::NotFound("the demo organization vanished".into()))?;
    Ok(DemoOrg {
        org,
        fresh: Some(DemoSecrets {
            admin_token: owner.token,
            scim_token,
        }),
    })
}

/// A fresh admin token for the demo org's owner, for an in-process caller (the console's
/// embedded default) that owns the store: the tokens printed on the first run are gone, and
/// tokens are stored hashed. The previous token with the same label is revoked, so that one
/// start's token is never left behind.
pub async fn owner_token<S: Store>(store: &S, org: &Org) -> StoreResult<String> {
    let owner = data()?.owner;
    let mut cursor: Option<String> = None;
    let mut stale = Vec::new();
    loop {
        let page = store
            .list_admin_tokens(org.id, 200, cursor.as_deref())
            .await?;
        stale.extend(
            page.items
                .into_iter()
                .filter(|t| t.label == EMBEDDED_TOKEN_LABEL && t.email.eq_ignore_ascii_case(&owner))
                .map(|t| t.id),
        );
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    for id in stale {
        store
            .revoke_admin_token(org.id, &id, EMBEDDED_TOKEN_LABEL)
            .await?;
    }
    let issued = store
        .create_admin_token(org.id, &owner, EMBEDDED_TOKEN_LABEL, EMBEDDED_TOKEN_LABEL)
        .await?;
    Ok(issued.token)
}

/// The HTTP application driven in process, one request at a time.
struct Api {
    router: Router,
    admin_base: String,
    scim_base: String,
    admin_token: String,
    scim_token: String,
}

impl Api {
    async fn call(
        &self,
        method: Method,
        uri: String,
        token: &str,
        body: Value,
    ) -> StoreResult<Value> {
        let req = Request::builder()
            .method(method.clone())
            .uri(&uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(if body.is_null() {
                Body::empty()
            } else {
                Body::from(body.to_string())
            })
            .map_err(|e| StoreError::Db(format!("demo request {method} {uri}: {e}")))?;
        let resp = self
            .router
            .clone()
            .oneshot(req)
            .await
            .map_err(|e| StoreError::Db(format!("demo request {method} {uri}: {e}")))?;
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .map_err(|e| StoreError::Db(format!("demo request {method} {uri}: {e}")))?;
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if !status.is_success() {
            // The token is in a header, never in the path or body, so the message is safe.
            return Err(StoreError::Db(format!(
                "demo request {method} {uri} answered {status}: {value}"
            )));
        }
        Ok(value)
    }

    async fn admin(&self, method: Method, path: &str, body: Value) -> StoreResult<Value> {
        let uri = format!("{}{path}", self.admin_base);
        self.call(method, uri, &self.admin_token, body).await
    }

    async fn scim(&self, method: Method, path: &str, body: Value) -> StoreResult<Value> {
        let uri = format!("{}{path}", self.scim_base);
        self.call(method, uri, &self.scim_token, body).await
    }
}

fn id_of(v: &Value, what: &str) -> StoreResult<String> {
    v.get("id")
        .or_else(|| v.get("uid"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| StoreError::Db(format!("demo: {what} came back without an id: {v}")))
}

fn scim_user(u: &DemoUser) -> Value {
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        ],
        "userName": u.email,
        "externalId": format!("okta-{}", u.email.split('@').next().unwrap_or_default()),
        "name": {
            "givenName": u.given,
            "familyName": u.family,
            "formatted": format!("{} {}", u.given, u.family),
        },
        "displayName": format!("{} {}", u.given, u.family),
        "title": u.title,
        "emails": [{"value": u.email, "type": "work", "primary": true}],
        "active": true,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "organization": "Acme",
            "department": u.department,
        },
    })
}

fn add_member(user_id: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": user_id}]}],
    })
}

async fn seed(mut api: Api, d: &DemoData) -> StoreResult<String> {
    // Seeding with the queue off makes most people active members at once; it is switched on
    // afterwards so that the last few changes wait for approval, as they would in real life.
    api.admin(
        Method::PATCH,
        "/scim",
        json!({"enabled": true, "approval": {"provision": false, "access_increase": false}}),
    )
    .await?;
    let issued = api
        .admin(
            Method::POST,
            "/scim/tokens",
            json!({"label": d.scim_token_label}),
        )
        .await?;
    let scim_token = issued["token"]
        .as_str()
        .ok_or_else(|| StoreError::Db("demo: the SCIM token came back without a secret".into()))?
        .to_string();
    api.scim_token = scim_token.clone();

    // (stack name, role name) → (stack uid, role uid).
    let mut roles: HashMap<(String, String), (String, String)> = HashMap::new();
    for s in &d.stacks {
        let stack = api
            .admin(Method::POST, "/stacks", json!({"name": s.name}))
            .await?;
        let uid = id_of(&stack, "a stack")?;
        let mut defs: Vec<Value> = stack["roles"].as_array().cloned().unwrap_or_default();
        for r in &s.custom_roles {
            let role = api
                .admin(
                    Method::POST,
                    &format!("/stacks/{uid}/roles"),
                    json!({"name": r}),
                )
                .await?;
            defs.push(role);
        }
        for def in defs {
            let name = def["name"].as_str().unwrap_or_default().to_string();
            let role_uid = id_of(&def, "a stack role")?;
            roles.insert((s.name.clone(), name), (uid.clone(), role_uid));
        }
    }

    let mut users: HashMap<&str, String> = HashMap::new();
    for u in &d.users {
        let created = api.scim(Method::POST, "/Users", scim_user(u)).await?;
        users.insert(u.email.as_str(), id_of(&created, "a user")?);
    }
    let user = |email: &str| {
        users
            .get(email)
            .cloned()
            .ok_or_else(|| StoreError::Db(format!("demo: no user {email} in acme.json")))
    };
    let mut groups: HashMap<&str, String> = HashMap::new();
    for g in &d.groups {
        let members = g
            .members
            .iter()
            .map(|m| Ok(json!({"value": user(m)?})))
            .collect::<StoreResult<Vec<_>>>()?;
        let created = api
            .scim(
                Method::POST,
                "/Groups",
                json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": g.name,
                    "members": members,
                }),
            )
            .await?;
        groups.insert(g.name.as_str(), id_of(&created, "a group")?);
    }
    let group = |name: &str| {
        groups
            .get(name)
            .cloned()
            .ok_or_else(|| StoreError::Db(format!("demo: no group {name} in acme.json")))
    };
    for m in &d.mappings {
        let stack_roles = m
            .stack_roles
            .iter()
            .map(|(stack, role)| {
                let (stack_uid, role_uid) =
                    roles.get(&(stack.clone(), role.clone())).ok_or_else(|| {
                        StoreError::Db(format!("demo: no role {role} on stack {stack}"))
                    })?;
                Ok(json!({"stack_uid": stack_uid, "role_uid": role_uid}))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        api.admin(
            Method::PUT,
            &format!("/group-mappings/{}", group(&m.group)?),
            json!({"org_role": m.org_role, "stack_roles": stack_roles}),
        )
        .await?;
    }

    api.admin(
        Method::PATCH,
        "/scim",
        json!({"approval": {"provision": true, "access_increase": true}}),
    )
    .await?;
    for u in &d.pending.new_users {
        let created = api.scim(Method::POST, "/Users", scim_user(u)).await?;
        let id = id_of(&created, "a user")?;
        for g in &u.groups {
            api.scim(
                Method::PATCH,
                &format!("/Groups/{}", group(g)?),
                add_member(&id),
            )
            .await?;
        }
    }
    for a in &d.pending.group_additions {
        api.scim(
            Method::PATCH,
            &format!("/Groups/{}", group(&a.group)?),
            add_member(&user(&a.member)?),
        )
        .await?;
    }
    Ok(scim_token)
}
