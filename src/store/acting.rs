//! The token a request acts with, checked again inside every write it makes (issue 23 item 8):
//! a request authenticated before its token was revoked (a slow body, a long Bulk) writes
//! nothing once the revocation has committed. The server sets it around each authenticated
//! request ([`ACTING`]); both engines check it when they open a write transaction, on the
//! write connection itself: on SQLite the one writer orders the check after any revocation
//! committed before it, on PostgreSQL `FOR SHARE` keeps the token row from being revoked
//! until the write has committed.

use crate::scim::ScimError;
use crate::store::StoreError;

/// Which token table holds the acting token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Scim,
    Admin,
}

/// The token a request acts with.
#[derive(Debug, Clone)]
pub struct Acting {
    pub kind: TokenKind,
    pub id: String,
}

tokio::task_local! {
    /// The acting token of the request this task serves.
    pub static ACTING: Acting;
}

/// The acting token of the current request, if any (none for the CLI and background work).
pub fn current() -> Option<Acting> {
    ACTING.try_with(Clone::clone).ok()
}

impl Acting {
    /// The live-token check of this token, with `?` (SQLite) or `$1` (PostgreSQL, locking the
    /// row) for its id: one indexed lookup that returns a row while the token is not revoked.
    pub fn check_sql(&self, postgres: bool) -> &'static str {
        match (self.kind, postgres) {
            (TokenKind::Scim, false) => {
                "SELECT 1 FROM scim_tokens WHERE id = ? AND revoked_at IS NULL"
            }
            (TokenKind::Admin, false) => {
                "SELECT 1 FROM admin_tokens WHERE id = ? AND revoked_at IS NULL"
            }
            (TokenKind::Scim, true) => {
                "SELECT 1 FROM scim_tokens WHERE id = $1 AND revoked_at IS NULL FOR SHARE"
            }
            (TokenKind::Admin, true) => {
                "SELECT 1 FROM admin_tokens WHERE id = $1 AND revoked_at IS NULL FOR SHARE"
            }
        }
    }
}

/// The refusal of a write whose token was revoked while the request was in flight.
pub fn revoked() -> StoreError {
    StoreError::Rejected(ScimError::unauthorized(
        "the token was revoked while this request was in flight; nothing was written",
    ))
}
