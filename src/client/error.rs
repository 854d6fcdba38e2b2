//! What can go wrong talking to the admin API, in terms a console user can act on.

use super::types::ApprovalRequest;
use serde::Deserialize;
use std::fmt;

/// The role a route needs, so that a 403 can say what to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    OwnerOrAdmin,
    Owner,
}

impl fmt::Display for Needs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Needs::OwnerOrAdmin => "Owner or Admin",
            Needs::Owner => "Owner",
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// No HTTP answer at all: refused, timed out, DNS, TLS.
    Unreachable {
        url: String,
        detail: String,
    },
    /// 401: the token is unknown, revoked or not an admin token. `token` names where the
    /// token came from (never the token itself).
    Unauthorized {
        token: String,
        message: String,
    },
    /// 403: the token is valid but its member lacks the role, or is not active.
    Forbidden {
        token: String,
        needs: Needs,
        message: String,
    },
    NotFound {
        message: String,
    },
    /// A 409 conflict. On approve or reject, `request` is the request as it now is, so that the
    /// console can show the diff that would really be approved.
    Conflict {
        message: String,
        request: Option<Box<ApprovalRequest>>,
    },
    /// 429: this token sent too many requests; `retry_after` is the server's advice, in
    /// seconds.
    RateLimited {
        retry_after: Option<u64>,
    },
    /// Any other 4xx: the request was wrong (a bad value, a limit).
    Rejected {
        status: u16,
        code: String,
        message: String,
    },
    /// 5xx.
    Server {
        status: u16,
        message: String,
    },
    /// A 2xx whose body is not the agreed shape: client and server disagree on the contract.
    Decode {
        what: String,
        detail: String,
    },
    /// The client could not be built (a malformed URL, for instance).
    Config(String),
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Unauthorized { .. } => Some(401),
            ApiError::Forbidden { .. } => Some(403),
            ApiError::NotFound { .. } => Some(404),
            ApiError::Conflict { .. } => Some(409),
            ApiError::RateLimited { .. } => Some(429),
            ApiError::Rejected { status, .. } | ApiError::Server { status, .. } => Some(*status),
            ApiError::Unreachable { .. } | ApiError::Decode { .. } | ApiError::Config(_) => None,
        }
    }

    /// Worth retrying as is: the server was not reached or failed on its side.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ApiError::Unreachable { .. } | ApiError::Server { .. } | ApiError::RateLimited { .. }
        )
    }

    /// The refreshed request a 409 carried, if any.
    pub fn refreshed_request(&self) -> Option<&ApprovalRequest> {
        match self {
            ApiError::Conflict {
                request: Some(r), ..
            } => Some(r),
            _ => None,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Unreachable { url, detail } if detail.contains("ca_file") => {
                write!(f, "cannot talk to the server at {url}: {detail}")
            }
            ApiError::Unreachable { url, detail } => write!(
                f,
                "cannot reach the server at {url} ({detail}); check that it is running and \
                 the profile's url, then retry"
            ),
            ApiError::Unauthorized { token, message } => write!(
                f,
                "the admin token from {token} was refused (401: {message}); it may be revoked \
                 or mistyped: issue a new one with `scimdesk org create` or POST /admin-tokens"
            ),
            ApiError::Forbidden {
                token,
                needs,
                message,
            } => write!(
                f,
                "the admin token from {token} may not do this (403: {message}); it needs the \
                 {needs} role in this organization"
            ),
            ApiError::NotFound { message } => {
                write!(f, "not found: {message}; refresh to see the current data")
            }
            ApiError::Conflict {
                request: Some(_), ..
            } => f.write_str("this request changed; review it again"),
            ApiError::Conflict { message, .. } => {
                write!(f, "conflict: {message}; refresh and try again")
            }
            ApiError::RateLimited {
                retry_after: Some(s),
            } => write!(f, "too many requests with this token; retry in {s} s"),
            ApiError::RateLimited { retry_after: None } => {
                f.write_str("too many requests with this token; retry in a moment")
            }
            ApiError::Rejected {
                status, message, ..
            } => write!(f, "the server refused the request ({status}): {message}"),
            ApiError::Server { status, message } => write!(
                f,
                "the server failed ({status}: {message}); retry, and check its log if it persists"
            ),
            ApiError::Decode { what, detail } => write!(
                f,
                "unexpected answer for {what} ({detail}); the server may be of another version"
            ),
            ApiError::Config(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ApiError {}

/// The admin API's error document.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub request: Option<ApprovalRequest>,
}

/// Maps a non-2xx answer to an [`ApiError`]. A body that is not the error document (a proxy's
/// HTML page, say) still yields the status, with the first line of the text as the message.
pub(crate) fn from_status(
    status: u16,
    retry_after: Option<u64>,
    body: &[u8],
    token: &str,
    needs: Needs,
) -> ApiError {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_else(|_| ErrorBody {
        message: String::from_utf8_lossy(body)
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(200)
            .collect(),
        ..Default::default()
    });
    let message = if parsed.message.is_empty() {
        format!("HTTP {status}")
    } else {
        parsed.message
    };
    match status {
        401 => ApiError::Unauthorized {
            token: token.to_string(),
            message,
        },
        403 => ApiError::Forbidden {
            token: token.to_string(),
            needs,
            message,
        },
        404 => ApiError::NotFound { message },
        429 => ApiError::RateLimited { retry_after },
        409 => ApiError::Conflict {
            message,
            request: parsed.request.map(Box::new),
        },
        s if s >= 500 => ApiError::Server { status, message },
        _ => ApiError::Rejected {
            status,
            code: parsed.error,
            message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_what_the_user_can_do() {
        let e = from_status(
            400,
            None,
            br#"{"status":400,"error":"invalid_request","message":"label: required"}"#,
            "t",
            Needs::OwnerOrAdmin,
        );
        assert_eq!(
            e,
            ApiError::Rejected {
                status: 400,
                code: "invalid_request".into(),
                message: "label: required".into()
            }
        );
        let e = from_status(
            502,
            None,
            b"<html>bad gateway</html>\nmore",
            "t",
            Needs::Owner,
        );
        assert_eq!(
            e,
            ApiError::Server {
                status: 502,
                message: "<html>bad gateway</html>".into()
            }
        );
        assert!(e.is_transient());
        let e = from_status(409, None, br#"{"message":"taken"}"#, "t", Needs::Owner);
        assert!(e.refreshed_request().is_none());
        assert!(e.to_string().contains("refresh"), "{e}");
        let e = from_status(403, None, b"", "file ~/.t", Needs::Owner);
        assert_eq!(e.status(), Some(403));
        assert!(e.to_string().contains("needs the Owner role"), "{e}");
        assert!(!from_status(404, None, b"", "t", Needs::Owner).is_transient());
        let e = from_status(429, Some(7), b"{}", "t", Needs::Owner);
        assert_eq!(
            e,
            ApiError::RateLimited {
                retry_after: Some(7)
            }
        );
        assert!(e.is_transient() && e.to_string().contains("retry in 7 s"));
    }
}
