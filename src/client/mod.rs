//! A typed client for the admin API (`/admin/v1/organizations/{org}/...`), used by the
//! console's live backend. Every call returns the agreed shape or an [`ApiError`] that says
//! what to do about it.

pub mod error;
pub mod types;

pub use error::{ApiError, Needs};
pub use types::*;

use crate::domain::approval::RequestState;
use reqwest::{Method, RequestBuilder, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// One admin token on one org of one server. Cheap to clone (the connection pool is shared).
#[derive(Clone)]
pub struct AdminClient {
    http: reqwest::Client,
    /// `{base}/admin/v1/organizations/{org}`, already encoded.
    root: Url,
    org: String,
    token: String,
    token_source: String,
}

impl std::fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminClient")
            .field("root", &self.root.as_str())
            .field("token_source", &self.token_source)
            .finish_non_exhaustive()
    }
}

impl AdminClient {
    /// `base_url` is the server (`http://127.0.0.1:8080`); `token_source` says where the token
    /// came from ("SCIMDESK_TOKEN", "profile 'prod' (token file ~/.config/...)") so that a
    /// 401 or 403 can name it without showing the secret.
    pub fn new(
        base_url: &str,
        org_uid: &str,
        token: impl Into<String>,
        token_source: impl Into<String>,
    ) -> Result<AdminClient, ApiError> {
        AdminClient::with_ca(base_url, org_uid, token, token_source, None)
    }

    /// [`AdminClient::new`], also trusting the CA certificates of the PEM file `ca_file` (a
    /// profile's `ca_file`) beside the system's roots. Certificates are always verified:
    /// there is no way to turn that off.
    pub fn with_ca(
        base_url: &str,
        org_uid: &str,
        token: impl Into<String>,
        token_source: impl Into<String>,
        ca_file: Option<&std::path::Path>,
    ) -> Result<AdminClient, ApiError> {
        let mut root = Url::parse(base_url.trim()).map_err(|e| {
            ApiError::Config(format!(
                "the server url '{base_url}' is not valid ({e}); write it as http://HOST:PORT"
            ))
        })?;
        if !matches!(root.scheme(), "http" | "https") {
            return Err(ApiError::Config(format!(
                "the server url '{base_url}' must start with http:// or https://"
            )));
        }
        if org_uid.trim().is_empty() {
            return Err(ApiError::Config(
                "no organization uid: pass --org or set `org` in the profile".into(),
            ));
        }
        {
            let mut segs = root.path_segments_mut().map_err(|_| {
                ApiError::Config(format!("the server url '{base_url}' cannot have a path"))
            })?;
            segs.pop_if_empty()
                .extend(["admin", "v1", "organizations", org_uid]);
        }
        let loopback = root.host_str().is_some_and(|h| {
            h.eq_ignore_ascii_case("localhost")
                || h.trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|a| a.is_loopback())
        });
        let mut builder = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("scimdesk-console/", env!("CARGO_PKG_VERSION")));
        // A proxy from the environment must not capture the embedded server on loopback.
        if loopback {
            builder = builder.no_proxy();
        }
        if let Some(path) = ca_file {
            builder = builder.tls_certs_merge(load_ca_file(path)?);
        }
        let http = builder
            .build()
            .map_err(|e| ApiError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(AdminClient {
            http,
            root,
            org: org_uid.to_string(),
            token: token.into(),
            token_source: token_source.into(),
        })
    }

    /// The HTTP client (its roots include the profile's CA), for the other requests a backend
    /// sends to the same server.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn org_uid(&self) -> &str {
        &self.org
    }

    /// The server's origin, for the console's header.
    pub fn server(&self) -> String {
        self.root.origin().ascii_serialization()
    }

    /// The URL of `segments` under the org; each segment is percent-encoded, so ids with
    /// slashes or spaces cannot escape their place in the path.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.root.clone();
        if let Ok(mut s) = url.path_segments_mut() {
            s.extend(segments);
        }
        url
    }

    fn request(&self, method: Method, segments: &[&str]) -> RequestBuilder {
        self.http
            .request(method, self.url(segments))
            .bearer_auth(&self.token)
    }

    async fn exchange(&self, req: RequestBuilder, needs: Needs) -> Result<Vec<u8>, ApiError> {
        let req = req.build().map_err(|e| ApiError::Config(e.to_string()))?;
        let what = format!("{} {}", req.method(), req.url().path());
        let resp = self
            .http
            .execute(req)
            .await
            .map_err(|e| ApiError::Unreachable {
                url: self.server(),
                detail: describe(&e),
            })?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let body = resp.bytes().await.map_err(|e| ApiError::Unreachable {
            url: self.server(),
            detail: format!("the answer to {what} broke off: {}", describe(&e)),
        })?;
        if (200..300).contains(&status) {
            Ok(body.to_vec())
        } else {
            Err(error::from_status(
                status,
                retry_after,
                &body,
                &self.token_source,
                needs,
            ))
        }
    }

    async fn call<T: DeserializeOwned>(
        &self,
        req: RequestBuilder,
        needs: Needs,
    ) -> Result<T, ApiError> {
        let what = req
            .try_clone()
            .and_then(|r| r.build().ok())
            .map(|r| format!("{} {}", r.method(), r.url().path()))
            .unwrap_or_else(|| "a request".into());
        let body = self.exchange(req, needs).await?;
        serde_json::from_slice(&body).map_err(|e| ApiError::Decode {
            what,
            detail: e.to_string(),
        })
    }

    async fn call_empty(&self, req: RequestBuilder, needs: Needs) -> Result<(), ApiError> {
        self.exchange(req, needs).await.map(|_| ())
    }

    async fn get<T: DeserializeOwned>(&self, segments: &[&str]) -> Result<T, ApiError> {
        self.call(self.request(Method::GET, segments), Needs::OwnerOrAdmin)
            .await
    }

    async fn send_json<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        segments: &[&str],
        body: &B,
        needs: Needs,
    ) -> Result<T, ApiError> {
        self.call(self.request(method, segments).json(body), needs)
            .await
    }

    // --- the org and its SCIM settings

    pub async fn org(&self) -> Result<OrgInfo, ApiError> {
        self.get(&[]).await
    }

    pub async fn scim_settings(&self) -> Result<ScimSettings, ApiError> {
        self.get(&["scim"]).await
    }

    /// The org's ServiceProviderConfig as its SCIM endpoint serves it (that route wants a
    /// SCIM token; this one the admin token).
    pub async fn scim_discovery(&self) -> Result<serde_json::Value, ApiError> {
        self.get(&["scim", "discovery"]).await
    }

    pub async fn patch_scim(&self, patch: &ScimSettingsPatch) -> Result<ScimSettings, ApiError> {
        self.send_json(Method::PATCH, &["scim"], patch, Needs::OwnerOrAdmin)
            .await
    }

    // --- tokens

    pub async fn scim_tokens(&self, page: &PageReq) -> Result<Page<ScimToken>, ApiError> {
        let req = self
            .request(Method::GET, &["scim", "tokens"])
            .query(&page.query());
        self.call(req, Needs::OwnerOrAdmin).await
    }

    pub async fn scim_activity(&self) -> Result<ScimActivity, ApiError> {
        let req = self.request(Method::GET, &["scim", "tokens", "activity"]);
        self.call(req, Needs::OwnerOrAdmin).await
    }

    pub async fn create_scim_token(&self, label: &str) -> Result<IssuedToken, ApiError> {
        self.send_json(
            Method::POST,
            &["scim", "tokens"],
            &json!({ "label": label }),
            Needs::OwnerOrAdmin,
        )
        .await
    }

    pub async fn revoke_scim_token(&self, id: &str) -> Result<(), ApiError> {
        self.call_empty(
            self.request(Method::DELETE, &["scim", "tokens", id]),
            Needs::OwnerOrAdmin,
        )
        .await
    }

    pub async fn admin_tokens(&self, page: &PageReq) -> Result<Page<AdminToken>, ApiError> {
        let req = self
            .request(Method::GET, &["admin-tokens"])
            .query(&page.query());
        self.call(req, Needs::Owner).await
    }

    pub async fn create_admin_token(
        &self,
        email: &str,
        label: &str,
    ) -> Result<IssuedToken, ApiError> {
        self.send_json(
            Method::POST,
            &["admin-tokens"],
            &json!({ "email": email, "label": label }),
            Needs::Owner,
        )
        .await
    }

    pub async fn revoke_admin_token(&self, id: &str) -> Result<(), ApiError> {
        self.call_empty(
            self.request(Method::DELETE, &["admin-tokens", id]),
            Needs::Owner,
        )
        .await
    }

    // --- roles and stacks

    pub async fn roles(&self) -> Result<Page<OrgRoleInfo>, ApiError> {
        self.get(&["roles"]).await
    }

    pub async fn stacks(&self, page: &PageReq) -> Result<Page<Stack>, ApiError> {
        let req = self.request(Method::GET, &["stacks"]).query(&page.query());
        self.call(req, Needs::OwnerOrAdmin).await
    }

    pub async fn create_stack(&self, name: &str) -> Result<Stack, ApiError> {
        self.send_json(
            Method::POST,
            &["stacks"],
            &json!({ "name": name }),
            Needs::OwnerOrAdmin,
        )
        .await
    }

    pub async fn stack_roles(&self, stack_uid: &str) -> Result<Page<StackRoleInfo>, ApiError> {
        self.get(&["stacks", stack_uid, "roles"]).await
    }

    pub async fn create_stack_role(
        &self,
        stack_uid: &str,
        name: &str,
    ) -> Result<StackRoleInfo, ApiError> {
        self.send_json(
            Method::POST,
            &["stacks", stack_uid, "roles"],
            &json!({ "name": name }),
            Needs::OwnerOrAdmin,
        )
        .await
    }

    pub async fn rename_stack(&self, stack_uid: &str, name: &str) -> Result<Stack, ApiError> {
        self.send_json(
            Method::PATCH,
            &["stacks", stack_uid],
            &json!({ "name": name }),
            Needs::OwnerOrAdmin,
        )
        .await
    }

    pub async fn rename_stack_role(
        &self,
        stack_uid: &str,
        role_uid: &str,
        name: &str,
    ) -> Result<StackRoleInfo, ApiError> {
        self.send_json(
            Method::PATCH,
            &["stacks", stack_uid, "roles", role_uid],
            &json!({ "name": name }),
            Needs::OwnerOrAdmin,
        )
        .await
    }

    // --- groups and mappings

    pub async fn groups(
        &self,
        filter: Option<&str>,
        page: &PageReq,
    ) -> Result<Page<Group>, ApiError> {
        let mut q = page.query();
        if let Some(f) = filter.filter(|f| !f.is_empty()) {
            q.push(("filter", f.to_string()));
        }
        let req = self.request(Method::GET, &["groups"]).query(&q);
        self.call(req, Needs::OwnerOrAdmin).await
    }

    /// The group's mapping, or `None` when it has none.
    pub async fn mapping(&self, group_id: &str) -> Result<Option<Mapping>, ApiError> {
        match self.get(&["group-mappings", group_id]).await {
            Ok(m) => Ok(Some(m)),
            Err(ApiError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn put_mapping(
        &self,
        group_id: &str,
        body: &MappingBody,
    ) -> Result<SavedMapping, ApiError> {
        self.send_json(
            Method::PUT,
            &["group-mappings", group_id],
            body,
            Needs::OwnerOrAdmin,
        )
        .await
    }

    pub async fn delete_mapping(&self, group_id: &str) -> Result<(), ApiError> {
        self.call_empty(
            self.request(Method::DELETE, &["group-mappings", group_id]),
            Needs::OwnerOrAdmin,
        )
        .await
    }

    pub async fn preview(&self, group_id: &str, of: &PreviewOf) -> Result<Preview, ApiError> {
        let body = match of {
            PreviewOf::Save(b) => serde_json::to_value(b).unwrap_or(Value::Null),
            PreviewOf::Delete => json!({ "delete": true }),
        };
        self.send_json(
            Method::POST,
            &["group-mappings", group_id, "preview"],
            &body,
            Needs::OwnerOrAdmin,
        )
        .await
    }

    // --- members and approvals

    pub async fn users(&self, query: &UserQuery) -> Result<Page<Member>, ApiError> {
        let mut q = query.page.query();
        if let Some(f) = query.filter.as_deref().filter(|f| !f.is_empty()) {
            q.push(("filter", f.to_string()));
        }
        if let Some(s) = query.state {
            q.push(("state", wire_name(&s)));
        }
        if let Some(s) = query.sort {
            q.push(("sort", s.as_str().to_string()));
        }
        if query.desc {
            q.push(("order", "desc".to_string()));
        }
        let req = self.request(Method::GET, &["users"]).query(&q);
        self.call(req, Needs::OwnerOrAdmin).await
    }

    pub async fn member_access(&self, member_id: &str) -> Result<MemberAccess, ApiError> {
        self.get(&["users", member_id, "access"]).await
    }

    pub async fn remove_member(&self, member_id: &str) -> Result<Removal, ApiError> {
        self.call(
            self.request(Method::DELETE, &["users", member_id]),
            Needs::OwnerOrAdmin,
        )
        .await
    }

    pub async fn approvals(
        &self,
        state: Option<RequestState>,
        page: &PageReq,
    ) -> Result<Page<ApprovalRequest>, ApiError> {
        let mut q = page.query();
        if let Some(s) = state {
            q.push(("state", wire_name(&s)));
        }
        let req = self.request(Method::GET, &["approvals"]).query(&q);
        self.call(req, Needs::OwnerOrAdmin).await
    }

    /// Approves exactly `version` of the request; a 409 carries the request as it now is.
    pub async fn approve(&self, request_id: &str, version: i64) -> Result<Decision, ApiError> {
        self.send_json(
            Method::POST,
            &["approvals", request_id, "approve"],
            &json!({ "version": version }),
            Needs::OwnerOrAdmin,
        )
        .await
    }

    pub async fn reject(
        &self,
        request_id: &str,
        version: i64,
        reason: &str,
    ) -> Result<Decision, ApiError> {
        self.send_json(
            Method::POST,
            &["approvals", request_id, "reject"],
            &json!({ "version": version, "reason": reason }),
            Needs::OwnerOrAdmin,
        )
        .await
    }

    // --- audit and export

    pub async fn audit(&self, query: &AuditQuery) -> Result<Page<AuditEvent>, ApiError> {
        let mut q = query.page.query();
        let fields = [
            ("actor", &query.actor),
            ("action", &query.action),
            ("target", &query.target),
            ("since", &query.since),
            ("until", &query.until),
        ];
        for (name, value) in fields {
            if let Some(v) = value {
                q.push((name, v.clone()));
            }
        }
        let req = self.request(Method::GET, &["audit"]).query(&q);
        self.call(req, Needs::OwnerOrAdmin).await
    }

    /// The snapshot document, unparsed: the snapshot module owns its format. The SCIM URL
    /// and the discovery document the server serves are recorded beside it (`discovery`),
    /// each where the server answered, so that `review` shows what was served, not a guess.
    pub async fn export(&self) -> Result<Value, ApiError> {
        let mut doc: Value = self.get(&["export"]).await?;
        let url = self.scim_settings().await.ok().and_then(|s| s.scim_url);
        let spc = self.scim_discovery().await.ok();
        if (url.is_some() || spc.is_some())
            && let Some(o) = doc.as_object_mut()
            && !o.contains_key("discovery")
        {
            let mut d = serde_json::Map::new();
            if let Some(u) = url {
                d.insert("scim_url".into(), Value::String(u));
            }
            if let Some(v) = spc {
                d.insert("service_provider_config".into(), v);
            }
            o.insert("discovery".into(), Value::Object(d));
        }
        Ok(doc)
    }
}

/// The serde name of a unit enum variant (`MemberState::Active` → "active").
fn wire_name<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// reqwest's Display hides the cause ("error sending request"); the innermost source says
/// what actually happened (connection refused, timed out).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".into();
    }
    let mut inner: &dyn std::error::Error = e;
    let mut certificate = false;
    loop {
        certificate |= inner
            .downcast_ref::<tokio_rustls::rustls::Error>()
            .is_some_and(|r| {
                matches!(
                    r,
                    tokio_rustls::rustls::Error::InvalidCertificate(_)
                        | tokio_rustls::rustls::Error::NoCertificatesPresented
                )
            });
        match inner.source() {
            Some(s) => inner = s,
            None => break,
        }
    }
    let text = inner.to_string();
    if certificate || text.contains("certificate") {
        format!(
            "the server's TLS certificate was refused: {text}. If a private CA signed it, name \
             that CA's PEM file in the profile: ca_file = \"/path/to/ca.pem\""
        )
    } else {
        text
    }
}

/// The certificates of a PEM file, for [`AdminClient::with_ca`].
pub fn load_ca_file(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, ApiError> {
    let pem = std::fs::read(path).map_err(|e| {
        ApiError::Config(format!(
            "cannot read the CA file {} (the profile's ca_file): {e}",
            path.display()
        ))
    })?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
        ApiError::Config(format!(
            "the CA file {} (the profile's ca_file) is not PEM: {e}",
            path.display()
        ))
    })?;
    if certs.is_empty() {
        return Err(ApiError::Config(format!(
            "the CA file {} (the profile's ca_file) holds no certificate; it should contain \
             -----BEGIN CERTIFICATE----- blocks",
            path.display()
        )));
    }
    Ok(certs)
}
