//! What an export reads: every row of one org, in one consistent read (each engine's own SQL,
//! in `sqlite/export.rs` and `postgres/export.rs`), as [`ExportRows`]. The store knows no
//! snapshot: `crate::snapshot::assemble` turns these rows into one (each member's granted and
//! requested access, the names of every stack role, the order of every list), the same
//! document for the same data on either engine.

use super::{AdminTokenInfo, AuditEvent, Org, StoreError, StoreResult, TokenInfo};
use serde::{Deserialize, Deserializer};

/// An org's rows as an engine reads them, each list in the order its comment gives.
pub struct ExportRows {
    pub org: Org,
    /// Live SCIM tokens, oldest first (SQLite's rowid, PostgreSQL's `seq`).
    pub tokens: Vec<TokenInfo>,
    /// Live admin tokens of the org's members, oldest first.
    pub admin_tokens: Vec<AdminTokenInfo>,
    /// Every role of every stack, in the admin API's order: by stack name then uid, built-in
    /// roles first (admin, developer, content_manager), then by creation time and uid.
    pub stack_roles: Vec<StackRoleRow>,
    /// Mappings in any order.
    pub mappings: Vec<MappingRow>,
    /// (group id, stack uid, role uid) of every mapping, in any order.
    pub mapping_roles: Vec<(String, String, String)>,
    /// (membership id, stack uid, role uid) of every granted stack role, in any order.
    pub granted: Vec<(String, String, String)>,
    /// Groups by display name compared in ASCII case-insensitively (SQLite's NOCASE), then
    /// id; each group's members by id (bytewise).
    pub groups: Vec<GroupRow>,
    /// Every membership, in any order.
    pub members: Vec<MemberRow>,
    /// The pending requests, by creation time then id.
    pub requests: Vec<RequestRow>,
    /// The newest audit events (at most the limit the caller gave), newest first.
    pub audit: Vec<AuditEvent>,
}

pub struct StackRoleRow {
    pub stack_uid: String,
    pub stack_name: String,
    pub role_uid: String,
    pub role_name: String,
    pub builtin: bool,
}

/// A SCIM group and its members' ids (bytewise order).
#[derive(Deserialize)]
pub struct GroupRow {
    pub id: String,
    pub display_name: String,
    pub members: Vec<String>,
}

pub struct MappingRow {
    pub group_id: String,
    pub org_role: String,
    pub updated_at: String,
    pub updated_by: String,
}

/// A membership with its account's email and its SCIM User's name and `active`.
#[derive(Deserialize)]
pub struct MemberRow {
    pub id: String,
    pub email: String,
    pub display_name: Option<String>,
    pub state: String,
    pub role: String,
    pub source: String,
    /// The SCIM User's `active`, or `None` when it has none (made outside SCIM, or deleted
    /// by the IdP). SQLite's JSON says 0 or 1.
    #[serde(deserialize_with = "flag")]
    pub active: Option<bool>,
    pub created_at: String,
    pub updated_at: String,
}

/// An approval request with its member's email and display name; `diff` is JSON text.
pub struct RequestRow {
    pub id: String,
    pub member_id: String,
    pub email: String,
    pub display_name: Option<String>,
    pub kind: String,
    pub state: String,
    pub version: i64,
    pub diff: String,
    pub created_at: String,
    pub updated_at: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub reason: Option<String>,
}

/// The columns of a row as the export reads them, by position: the same decoders serve
/// both engines' rows.
pub(crate) trait ExportRow {
    fn text(&self, i: usize) -> Result<String, sqlx::Error>;
    fn opt_text(&self, i: usize) -> Result<Option<String>, sqlx::Error>;
    fn int(&self, i: usize) -> Result<i64, sqlx::Error>;
    /// A boolean (SQLite's integer ones too).
    fn flag(&self, i: usize) -> Result<bool, sqlx::Error>;
    fn opt_flag(&self, i: usize) -> Result<Option<bool>, sqlx::Error>;
}

macro_rules! export_row {
    ($($row:ty),*) => {$(
        impl ExportRow for $row {
            fn text(&self, i: usize) -> Result<String, sqlx::Error> {
                sqlx::Row::try_get(self, i)
            }
            fn opt_text(&self, i: usize) -> Result<Option<String>, sqlx::Error> {
                sqlx::Row::try_get(self, i)
            }
            fn int(&self, i: usize) -> Result<i64, sqlx::Error> {
                sqlx::Row::try_get(self, i)
            }
            fn flag(&self, i: usize) -> Result<bool, sqlx::Error> {
                sqlx::Row::try_get(self, i)
            }
            fn opt_flag(&self, i: usize) -> Result<Option<bool>, sqlx::Error> {
                sqlx::Row::try_get(self, i)
            }
        }
    )*};
}
export_row!(sqlx::sqlite::SqliteRow, sqlx::postgres::PgRow);

/// Runs `$sql`, a query whose one argument is the org, on `$conn` (`$db_err` maps the
/// engine's errors), and decodes its rows with `$decode`: most of an engine's reads.
macro_rules! org_rows {
    ($conn:expr, $db_err:path, $org_id:expr, $decode:expr, $sql:expr) => {
        $crate::store::export::decode(
            &sqlx::query($sql)
                .bind($org_id)
                .fetch_all(&mut *$conn)
                .await
                .map_err($db_err)?,
            $decode,
        )?
    };
}
pub(crate) use org_rows;

/// Decodes every row with `decode` (one of the functions below).
pub(crate) fn decode<R: ExportRow, T>(
    rows: &[R],
    decode: fn(&R) -> Result<T, sqlx::Error>,
) -> StoreResult<Vec<T>> {
    rows.iter()
        .map(decode)
        .collect::<Result<_, _>>()
        .map_err(|e| StoreError::Db(format!("export: {e}")))
}

/// `id, label, created_at, last_used_at`
pub(crate) fn token_label(r: &impl ExportRow) -> Result<TokenInfo, sqlx::Error> {
    Ok(TokenInfo {
        id: r.text(0)?,
        label: r.text(1)?,
        created_at: r.text(2)?,
        last_used_at: r.opt_text(3)?,
    })
}

/// `id, label, email, created_at, last_used_at`
pub(crate) fn admin_token_label(r: &impl ExportRow) -> Result<AdminTokenInfo, sqlx::Error> {
    Ok(AdminTokenInfo {
        id: r.text(0)?,
        label: r.text(1)?,
        email: r.text(2)?,
        created_at: r.text(3)?,
        last_used_at: r.opt_text(4)?,
    })
}

/// `stack uid, stack name, role uid, role name, builtin`
pub(crate) fn stack_role(r: &impl ExportRow) -> Result<StackRoleRow, sqlx::Error> {
    Ok(StackRoleRow {
        stack_uid: r.text(0)?,
        stack_name: r.text(1)?,
        role_uid: r.text(2)?,
        role_name: r.text(3)?,
        builtin: r.flag(4)?,
    })
}

/// `group_id, org_role, updated_at, updated_by`
pub(crate) fn mapping(r: &impl ExportRow) -> Result<MappingRow, sqlx::Error> {
    Ok(MappingRow {
        group_id: r.text(0)?,
        org_role: r.text(1)?,
        updated_at: r.text(2)?,
        updated_by: r.text(3)?,
    })
}

/// Three text columns (a mapping's or a member's stack role).
pub(crate) fn triple(r: &impl ExportRow) -> Result<(String, String, String), sqlx::Error> {
    Ok((r.text(0)?, r.text(1)?, r.text(2)?))
}

/// `id, email, display_name, state, role, source, active, created_at, updated_at`
pub(crate) fn member(r: &impl ExportRow) -> Result<MemberRow, sqlx::Error> {
    Ok(MemberRow {
        id: r.text(0)?,
        email: r.text(1)?,
        display_name: r.opt_text(2)?,
        state: r.text(3)?,
        role: r.text(4)?,
        source: r.text(5)?,
        active: r.opt_flag(6)?,
        created_at: r.text(7)?,
        updated_at: r.text(8)?,
    })
}

/// `id, member_id, email, display_name, kind, state, version, diff (JSON text), created_at,
/// updated_at, decided_by, decided_at, reason`
pub(crate) fn request(r: &impl ExportRow) -> Result<RequestRow, sqlx::Error> {
    Ok(RequestRow {
        id: r.text(0)?,
        member_id: r.text(1)?,
        email: r.text(2)?,
        display_name: r.opt_text(3)?,
        kind: r.text(4)?,
        state: r.text(5)?,
        version: r.int(6)?,
        diff: r.text(7)?,
        created_at: r.text(8)?,
        updated_at: r.text(9)?,
        decided_by: r.opt_text(10)?,
        decided_at: r.opt_text(11)?,
        reason: r.opt_text(12)?,
    })
}

/// `id, at, actor, action, target, before, after` (before and after as JSON text)
pub(crate) fn audit_event(r: &impl ExportRow) -> Result<AuditEvent, sqlx::Error> {
    Ok(AuditEvent {
        id: r.int(0)?,
        at: r.text(1)?,
        actor: r.text(2)?,
        action: r.text(3)?,
        target: r.opt_text(4)?,
        target_name: None,
        before: r.opt_text(5)?.map(json_value),
        after: r.opt_text(6)?.map(json_value),
    })
}

/// JSON text that the store wrote from a serde_json Value; text that does not parse is kept
/// as a string rather than hidden.
pub(crate) fn json_value(text: String) -> serde_json::Value {
    serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
}

/// A JSON boolean, or SQLite's integer one (1 is true), or null.
fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    struct Flag;
    impl<'de> serde::de::Visitor<'de> for Flag {
        type Value = Option<bool>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a boolean, 0 or 1, or null")
        }
        fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v == 1))
        }
        fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v == 1))
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(Flag)
        }
    }
    d.deserialize_option(Flag)
}

/// JSON text that an engine's query built, as `T`.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(json: &str, what: &str) -> StoreResult<T> {
    serde_json::from_str(json).map_err(|e| {
        StoreError::Db(format!(
            "export: the {what} query gave unexpected JSON: {e}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_reads_as_sqlite_integers_json_booleans_and_null() {
        let row = |active: &str| {
            let json = format!(
                r#"{{"id": "m", "email": "a@b", "display_name": null, "state": "active",
                    "role": "member", "source": "scim", "active": {active},
                    "created_at": "t", "updated_at": "t"}}"#
            );
            serde_json::from_str::<MemberRow>(&json).unwrap().active
        };
        assert_eq!(row("1"), Some(true));
        assert_eq!(row("0"), Some(false));
        assert_eq!(row("true"), Some(true));
        assert_eq!(row("false"), Some(false));
        assert_eq!(row("null"), None);
        assert!(serde_json::from_str::<MemberRow>(r#"{"active": "yes"}"#).is_err());
    }
}
