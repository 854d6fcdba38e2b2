//! HTTP plumbing shared by the SCIM and admin APIs: reading JSON bodies within the size
//! limit, draining the bodies of requests refused unread, and rendering SCIM and admin
//! responses and errors.

use crate::scim::ScimError;
use crate::store::StoreError;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::body::{Frame, SizeHint};
use serde_json::{Value, json};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";

/// The largest request body accepted (ServiceProviderConfig's bulk.maxPayloadSize agrees).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// A body (at most [`MAX_BODY_BYTES`]) must arrive within this time: a client that trickles
/// it must not hold a request, and the write it carries, open.
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// How much of a request body that is refused unread (too large, wrong token, wrong media
/// type) is read and dropped before the answer, and for how long. Clients that write the
/// whole body before they read (Python's urllib, many Java clients) would otherwise see the
/// connection reset under their write instead of the answer. A body that is larger, or slower,
/// is left unread and the connection closed after the answer.
pub const MAX_DRAIN_BYTES: u64 = 8 * 1024 * 1024;
pub const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A SCIM error as an HTTP response: the RFC 7644 §3.12 document, `application/scim+json`,
/// and `WWW-Authenticate: Bearer` on a 401.
#[derive(Debug)]
pub struct ScimErr(pub ScimError);

impl From<ScimError> for ScimErr {
    fn from(e: ScimError) -> Self {
        ScimErr(e)
    }
}

impl From<StoreError> for ScimErr {
    fn from(e: StoreError) -> Self {
        ScimErr(store_error(e))
    }
}

/// Maps a store failure to what a SCIM client sees. Database failures are logged here and
/// reach the client without their details.
pub fn store_error(e: StoreError) -> ScimError {
    match e {
        StoreError::NotFound(m) => ScimError::not_found(m),
        StoreError::Conflict(m) => ScimError::uniqueness(m),
        StoreError::Rejected(e) => e,
        StoreError::Db(m) => {
            tracing::error!(error = %m, "database error");
            ScimError::internal("the server could not complete the request")
        }
        StoreError::Unavailable(m) => {
            tracing::warn!(error = %m, "database unavailable");
            ScimError::new(
                503,
                None,
                format!(
                    "the database is unavailable for a moment; retry after {RETRY_AFTER_SECS} s"
                ),
            )
        }
    }
}

/// What a 503 (the database unavailable for a moment) asks clients to wait.
pub const RETRY_AFTER_SECS: u64 = 2;

/// Adds the headers a status needs: `WWW-Authenticate: Bearer` on a 401, `Retry-After` on a
/// 503.
fn status_headers(resp: &mut Response) {
    match resp.status() {
        StatusCode::UNAUTHORIZED => {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        StatusCode::SERVICE_UNAVAILABLE => {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        }
        _ => {}
    }
}

impl IntoResponse for ScimErr {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::BAD_REQUEST);
        let mut resp = scim_json(status, &self.0.to_json());
        status_headers(&mut resp);
        // For the IdP activity record (see `server::activity`).
        resp.extensions_mut().insert(self.0);
        resp
    }
}

/// A JSON document with the SCIM media type.
pub fn scim_json(status: StatusCode, body: &Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(SCIM_CONTENT_TYPE),
    );
    resp
}

/// A plain JSON document (admin API).
pub fn admin_json(status: StatusCode, body: &Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// Why a body could not be read, before it is rendered for one API or the other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    UnsupportedMediaType(String),
    TooLarge,
    Unreadable,
    Malformed(String),
    NotAnObject,
    /// The client took longer than [`BODY_READ_TIMEOUT`] to send the body.
    TimedOut,
}

impl BodyError {
    pub fn to_scim(&self) -> ScimError {
        match self {
            BodyError::UnsupportedMediaType(ct) => ScimError::new(
                415,
                None,
                format!(
                    "unsupported Content-Type '{ct}': send application/scim+json or application/json"
                ),
            ),
            BodyError::TooLarge => ScimError::payload_too_large(format!(
                "the request body exceeds the limit of {MAX_BODY_BYTES} bytes"
            )),
            BodyError::Unreadable => {
                ScimError::invalid_syntax("the request body could not be read")
            }
            BodyError::Malformed(m) => ScimError::invalid_syntax(format!("malformed JSON: {m}")),
            BodyError::NotAnObject => {
                ScimError::invalid_syntax("the request body must be a JSON object")
            }
            BodyError::TimedOut => ScimError::new(
                408,
                None,
                format!(
                    "the request body did not arrive within {} s",
                    BODY_READ_TIMEOUT.as_secs()
                ),
            ),
        }
    }
}

/// Accepts `application/scim+json`, `application/json` (parameters such as charset allowed)
/// and no Content-Type at all, since Okta's tests send none.
fn check_content_type(headers: &HeaderMap) -> Result<(), BodyError> {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let text = ct.to_str().unwrap_or("").trim();
    let essence = text
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/scim+json" || essence == "application/json" {
        Ok(())
    } else {
        Err(BodyError::UnsupportedMediaType(
            text.chars().take(100).collect(),
        ))
    }
}

/// Reads a JSON object body within [`MAX_BODY_BYTES`].
pub async fn read_json(headers: &HeaderMap, body: Body) -> Result<Value, BodyError> {
    check_content_type(headers)?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(BodyError::TooLarge);
    }
    let read = tokio::time::timeout(
        BODY_READ_TIMEOUT,
        axum::body::to_bytes(body, MAX_BODY_BYTES),
    );
    let bytes: Bytes = match read.await {
        Err(_) => return Err(BodyError::TimedOut),
        Ok(Ok(b)) => b,
        Ok(Err(e)) => {
            // axum hides the limit error's type; its message names it.
            let mut too_large = false;
            let mut source: Option<&dyn std::error::Error> = Some(&e);
            while let Some(err) = source {
                too_large |= err.to_string().contains("length limit");
                source = err.source();
            }
            return Err(if too_large {
                BodyError::TooLarge
            } else {
                BodyError::Unreadable
            });
        }
    };
    parse_json_body(&bytes)
}

/// The bytes of a request body, read within the limits, as a JSON object: the step of
/// [`read_json`] that needs no I/O (the fuzz targets call it directly).
pub fn parse_json_body(bytes: &[u8]) -> Result<Value, BodyError> {
    if bytes.len() > MAX_BODY_BYTES {
        return Err(BodyError::TooLarge);
    }
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| BodyError::Malformed(e.to_string()))?;
    if !value.is_object() {
        return Err(BodyError::NotAnObject);
    }
    Ok(value)
}

/// An admin API error: `{"status", "error", "message"}` as plain JSON.
#[derive(Debug, Clone)]
pub struct AdminErr {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl AdminErr {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        AdminErr {
            status,
            code,
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid admin token is required: Authorization: Bearer sdadm_...",
        )
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
}

impl From<StoreError> for AdminErr {
    fn from(e: StoreError) -> Self {
        let s = store_error(e);
        let status = StatusCode::from_u16(s.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let code = match s.status {
            404 => "not_found",
            409 => "conflict",
            400 => "invalid_request",
            503 => "unavailable",
            _ => "internal",
        };
        AdminErr::new(status, code, s.detail)
    }
}

impl From<BodyError> for AdminErr {
    fn from(e: BodyError) -> Self {
        let s = e.to_scim();
        let status = StatusCode::from_u16(s.status).unwrap_or(StatusCode::BAD_REQUEST);
        let code = match s.status {
            413 => "payload_too_large",
            415 => "unsupported_media_type",
            408 => "request_timeout",
            _ => "invalid_request",
        };
        AdminErr::new(status, code, s.detail)
    }
}

impl IntoResponse for AdminErr {
    fn into_response(self) -> Response {
        let mut resp = admin_json(
            self.status,
            &json!({"status": self.status.as_u16(), "error": self.code, "message": self.message}),
        );
        status_headers(&mut resp);
        resp
    }
}

/// The bearer token of a request, if it has one.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The scheme and address a connection arrived at (`https://10.0.0.5:8443`), put on each of
/// its requests by the accept loop: what the server serves, never what a client's Host header
/// claims.
#[derive(Debug, Clone)]
pub struct ConnOrigin(pub std::sync::Arc<str>);

/// The origin of the URLs the server hands out (`meta.location`, `scim_url`): `serve
/// --public-url` when set (the address the IdP is given, e.g. a load balancer's), otherwise
/// the scheme the server serves and the address the connection arrived at. The Host header is
/// never used: a client must not choose the URL that an admin copies into an IdP.
pub fn origin(cfg: &super::ServerConfig, extensions: &axum::http::Extensions) -> String {
    if let Some(u) = &cfg.public_url {
        return u.clone();
    }
    match extensions.get::<ConnOrigin>() {
        Some(o) => o.0.to_string(),
        None => "http://localhost".to_string(),
    }
}

/// `url` as the origin of the URLs the server hands out (`serve --public-url`): `http://` or
/// `https://`, a host, an optional port and path prefix, no query or fragment; the trailing
/// `/` is dropped. The error says what was wrong.
pub fn public_url(url: &str) -> Result<String, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| {
        format!("--public-url {url}: not a URL ({e}); e.g. https://scim.example.com")
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(format!(
            "--public-url {url}: give an http:// or https:// URL with a host, e.g. https://scim.example.com"
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() || !parsed.username().is_empty() {
        return Err(format!(
            "--public-url {url}: a query, a fragment or a user name has no place here"
        ));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_string())
}

/// The rest of a request body that its handler dropped before the end.
struct Leftover {
    body: Body,
    /// Whether the handler read from it at all: only then has hyper told a client that asked
    /// for `Expect: 100-continue` to send it.
    polled: bool,
}

/// A request body that, dropped before its end, hands the rest to [`drain_unread_body`].
struct ReturnsUnread {
    inner: Option<Body>,
    polled: bool,
    slot: Arc<Mutex<Option<Leftover>>>,
}

impl HttpBody for ReturnsUnread {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        this.polled = true;
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let frame = Pin::new(inner).poll_frame(cx);
        if matches!(frame, Poll::Ready(None | Some(Err(_)))) {
            this.inner = None;
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(HttpBody::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), HttpBody::size_hint)
    }
}

impl Drop for ReturnsUnread {
    fn drop(&mut self) {
        if let Some(body) = self.inner.take().filter(|b| !b.is_end_stream())
            && let Ok(mut slot) = self.slot.lock()
        {
            *slot = Some(Leftover {
                body,
                polled: self.polled,
            });
        }
    }
}

/// Middleware: when a handler answers without reading the whole request body, reads and
/// drops the rest (at most [`MAX_DRAIN_BYTES`] within [`DRAIN_TIMEOUT`]) before the answer
/// goes out, so that the connection closes, or stays open, cleanly. When that is not possible
/// (a larger or slower body, or a client still waiting for `100 Continue`), the answer says
/// `Connection: close`.
pub async fn drain_unread_body(req: Request, next: Next) -> Response {
    if req.body().is_end_stream() {
        return next.run(req).await;
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let awaits_continue = req
        .headers()
        .get(header::EXPECT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("100-continue"));
    let slot = Arc::new(Mutex::new(None));
    let (parts, body) = req.into_parts();
    let body = Body::new(ReturnsUnread {
        inner: Some(body),
        polled: false,
        slot: slot.clone(),
    });
    let mut resp = next.run(Request::from_parts(parts, body)).await;
    let leftover = slot.lock().ok().and_then(|mut s| s.take());
    if let Some(Leftover { body, polled }) = leftover {
        // A client still waiting for `100 Continue` has not sent the body, and will not.
        let body_on_its_way = polled || !awaits_continue;
        let drained =
            body_on_its_way && declared.is_none_or(|n| n <= MAX_DRAIN_BYTES) && drain(body).await;
        if !drained {
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
    }
    resp
}

/// Reads `body` to its end within the drain limits; whether it got there.
async fn drain(mut body: Body) -> bool {
    let read = async {
        let mut seen: u64 = 0;
        loop {
            match std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
                None => return true,
                Some(Err(_)) => return false,
                Some(Ok(frame)) => {
                    seen += frame.data_ref().map_or(0, |d| d.len() as u64);
                    if seen > MAX_DRAIN_BYTES {
                        return false;
                    }
                }
            }
        }
    };
    tokio::time::timeout(DRAIN_TIMEOUT, read)
        .await
        .unwrap_or(false)
}
