//! The engine-independent half of the snapshot export. Each engine reads an org's rows in one
//! consistent read (its own SQL, in `sqlite/export.rs` and `postgres/export.rs`) into
//! [`SnapshotRows`]; [`assemble`] turns them into the [`Snapshot`]: each member's granted and
//! requested access (the latter by the domain's `effective_access`), the display names of
//! every stack role, and the order of every list. So both engines give the same document for
//! the same data.

use super::{Org, StoreError, StoreResult};
use crate::domain::access::{
    Access as DomainAccess, GroupMapping, OrgRole, StackRole, effective_access,
};
use crate::domain::approval::{MemberState, RequestDiff, RequestKind, RequestState};
use crate::scim::datetime;
use crate::snapshot::{
    Access, AdminTokenLabel, Approval, ApprovalRequest, AuditEvent, Diff, Group, GroupRef, Mapping,
    Member, MemberBrief, OrgInfo, ScimSettings, Snapshot, Stack, StackRoleDef, StackRoleRef,
    TokenLabel,
};
use serde::{Deserialize, Deserializer};
use std::collections::{BTreeSet, HashMap};

/// An org's rows as an engine reads them, each list in the order its comment gives.
pub(crate) struct SnapshotRows {
    pub org: Org,
    /// Live SCIM tokens, oldest first (SQLite's rowid, PostgreSQL's `seq`).
    pub tokens: Vec<TokenLabel>,
    /// Live admin tokens of the org's members, oldest first.
    pub admin_tokens: Vec<AdminTokenLabel>,
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
    pub groups: Vec<Group>,
    /// Every membership, in any order.
    pub members: Vec<MemberRow>,
    /// The pending requests, by creation time then id.
    pub requests: Vec<RequestRow>,
    /// The newest audit events (at most [`crate::snapshot::AUDIT_EVENTS`]), newest first.
    pub audit: Vec<AuditEvent>,
}

pub(crate) struct StackRoleRow {
    pub stack_uid: String,
    pub stack_name: String,
    pub role: StackRoleDef,
}

pub(crate) struct MappingRow {
    pub group_id: String,
    pub org_role: String,
    pub updated_at: String,
    pub updated_by: String,
}

/// A membership with its account's email and its SCIM User's name and `active`.
#[derive(Deserialize)]
pub(crate) struct MemberRow {
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
pub(crate) struct RequestRow {
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
pub(crate) fn token_label(r: &impl ExportRow) -> Result<TokenLabel, sqlx::Error> {
    Ok(TokenLabel {
        id: r.text(0)?,
        label: r.text(1)?,
        created_at: r.text(2)?,
        last_used_at: r.opt_text(3)?,
    })
}

/// `id, label, email, created_at, last_used_at`
pub(crate) fn admin_token_label(r: &impl ExportRow) -> Result<AdminTokenLabel, sqlx::Error> {
    Ok(AdminTokenLabel {
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
        role: StackRoleDef {
            uid: r.text(2)?,
            name: r.text(3)?,
            builtin: r.flag(4)?,
        },
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
        id: r.int(0)?.to_string(),
        at: r.text(1)?,
        actor: r.text(2)?,
        action: r.text(3)?,
        target: r.opt_text(4)?,
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

/// The snapshot of `rows`, stamped now.
pub(crate) fn assemble(rows: SnapshotRows) -> StoreResult<Snapshot> {
    let SnapshotRows {
        org,
        tokens,
        admin_tokens,
        stack_roles,
        mappings: mapping_rows,
        mapping_roles,
        granted,
        groups,
        members: mut raw,
        requests,
        audit,
    } = rows;
    let mut snap = Snapshot::new(
        OrgInfo {
            uid: org.uid,
            name: org.name,
            created_at: org.created_at,
        },
        ScimSettings {
            enabled: org.scim.enabled,
            sso_role_mapping: org.scim.sso_role_mapping,
            approval: Approval {
                provision: org.scim.approval.provision,
                access_increase: org.scim.approval.access_increase,
                deprovision: org.scim.approval.deprovision,
            },
            user_name_is_email: org.scim.user_name_is_email,
            tokens,
        },
        datetime::now_rfc3339(),
    );
    snap.admin_tokens = admin_tokens;

    // The stacks, and the names that every stack role reference below shows.
    let mut names: HashMap<(String, String), (String, String)> = HashMap::new();
    for r in stack_roles {
        names.insert(
            (r.stack_uid.clone(), r.role.uid.clone()),
            (r.stack_name.clone(), r.role.name.clone()),
        );
        match snap.stacks.last_mut() {
            Some(s) if s.uid == r.stack_uid => s.roles.push(r.role),
            _ => snap.stacks.push(Stack {
                uid: r.stack_uid,
                name: r.stack_name,
                roles: vec![r.role],
            }),
        }
    }
    let names = Names(names);

    let mut mappings: HashMap<String, GroupMapping> = HashMap::new();
    let mut mapping_meta: Vec<(String, String, String)> = Vec::new();
    for m in mapping_rows {
        mappings.insert(
            m.group_id.clone(),
            GroupMapping {
                group_id: m.group_id.clone(),
                org_role: OrgRole::parse(&m.org_role).unwrap_or(OrgRole::Member),
                stack_roles: BTreeSet::new(),
            },
        );
        mapping_meta.push((m.group_id, m.updated_at, m.updated_by));
    }
    for (group_id, stack_uid, role_uid) in mapping_roles {
        if let Some(m) = mappings.get_mut(&group_id) {
            m.stack_roles.insert(StackRole::new(stack_uid, role_uid));
        }
    }

    let mut granted_stack: HashMap<String, BTreeSet<StackRole>> = HashMap::new();
    for (member, stack_uid, role_uid) in granted {
        granted_stack
            .entry(member)
            .or_default()
            .insert(StackRole::new(stack_uid, role_uid));
    }

    // Emails compare in any case in the database (SQLite's COLLATE NOCASE, PostgreSQL's
    // lower() index); so here. Sorting 100,000 emails here is cheaper than SQLite's sorter.
    raw.sort_by_cached_key(|m| m.email.to_ascii_lowercase());
    // Groups are in display-name order already, so each member's list comes out in it too.
    let mut groups_of: HashMap<&str, Vec<GroupRef>> = HashMap::new();
    for g in &groups {
        for m in &g.members {
            groups_of.entry(m.as_str()).or_default().push(GroupRef {
                id: g.id.clone(),
                display_name: g.display_name.clone(),
            });
        }
    }
    let mut members = Vec::with_capacity(raw.len());
    for r in raw {
        let member_groups = groups_of.remove(r.id.as_str()).unwrap_or_default();
        let state = MemberState::parse(&r.state).unwrap_or(MemberState::Removed);
        let role = OrgRole::parse(&r.role).unwrap_or(OrgRole::Member);
        let stack = granted_stack.remove(&r.id).unwrap_or_default();
        let (granted, requested) = member_access(
            state,
            role,
            stack,
            r.source == "scim",
            r.active,
            member_groups.iter().filter_map(|g| mappings.get(&g.id)),
        );
        let granted = granted.map(|a| names.access(&a));
        let requested = requested.map(|a| names.access(&a));
        members.push(Member {
            id: r.id,
            email: r.email,
            display_name: r.display_name,
            state,
            source: r.source,
            groups: member_groups,
            granted,
            requested,
            created_at: r.created_at,
            updated_at: r.updated_at,
        });
    }
    drop(groups_of);
    snap.members = members;

    let group_names: HashMap<&str, &str> = groups
        .iter()
        .map(|g| (g.id.as_str(), g.display_name.as_str()))
        .collect();
    mapping_meta.sort_by(|a, b| {
        let name = |id: &str| group_names.get(id).copied().unwrap_or("");
        (name(&a.0), &a.0).cmp(&(name(&b.0), &b.0))
    });
    for (group_id, updated_at, updated_by) in mapping_meta {
        let Some(m) = mappings.get(&group_id) else {
            continue;
        };
        snap.mappings.push(Mapping {
            group_name: group_names
                .get(group_id.as_str())
                .map(|n| n.to_string())
                .unwrap_or_default(),
            org_role: m.org_role,
            stack_roles: names.refs(&m.stack_roles),
            updated_at: Some(updated_at),
            updated_by: Some(updated_by),
            group_id,
        });
    }
    drop(group_names);
    snap.groups = groups;

    for r in requests {
        let diff: RequestDiff = parse_json(&r.diff, "diff")?;
        snap.requests.push(ApprovalRequest {
            kind: RequestKind::parse(&r.kind)
                .ok_or_else(|| StoreError::Db(format!("export: request kind '{}'", r.kind)))?,
            state: RequestState::parse(&r.state)
                .ok_or_else(|| StoreError::Db(format!("export: request state '{}'", r.state)))?,
            id: r.id,
            member_id: r.member_id,
            member: MemberBrief {
                email: r.email,
                display_name: r.display_name,
            },
            version: r.version,
            diff: Diff {
                org_role_from: diff.org_role_from,
                org_role_to: diff.org_role_to,
                stack_gains: names.refs(&diff.stack_gains),
                stack_losses: names.refs(&diff.stack_losses),
            },
            created_at: r.created_at,
            updated_at: r.updated_at,
            decided_by: r.decided_by,
            decided_at: r.decided_at,
            reason: r.reason,
        });
    }
    snap.audit = audit;
    Ok(snap)
}

/// Granted and requested access of one member, by the same rules as the `/users` listing:
/// granted is in force only while active; requested is what the IdP's groups and their
/// mappings imply (the domain's `effective_access`) while the SCIM User is active, and the
/// member's own access for memberships made outside SCIM.
fn member_access<'a>(
    state: MemberState,
    role: OrgRole,
    stack: BTreeSet<StackRole>,
    scim_source: bool,
    scim_active: Option<bool>,
    mappings: impl Iterator<Item = &'a GroupMapping>,
) -> (Option<DomainAccess>, Option<DomainAccess>) {
    let granted = state.has_access().then_some(DomainAccess {
        org_role: role,
        stack_roles: stack,
    });
    if !scim_source {
        return (granted.clone(), granted);
    }
    let requested = (scim_active == Some(true)).then(|| effective_access(mappings));
    (granted, requested)
}

/// Stack and role uids to the names a reader shows.
struct Names(HashMap<(String, String), (String, String)>);

impl Names {
    fn refs<'a>(&self, roles: impl IntoIterator<Item = &'a StackRole>) -> Vec<StackRoleRef> {
        roles
            .into_iter()
            .map(|sr| {
                let (stack_name, role_name) = self
                    .0
                    .get(&(sr.stack_uid.clone(), sr.role_uid.clone()))
                    .cloned()
                    .unwrap_or_else(|| (sr.stack_uid.clone(), sr.role_uid.clone()));
                StackRoleRef {
                    stack_uid: sr.stack_uid.clone(),
                    stack_name,
                    role_uid: sr.role_uid.clone(),
                    role_name,
                }
            })
            .collect()
    }

    fn access(&self, a: &DomainAccess) -> Access {
        Access {
            org_role: a.org_role,
            stack_roles: self.refs(&a.stack_roles),
        }
    }
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
