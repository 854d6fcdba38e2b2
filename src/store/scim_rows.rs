//! How SCIM Users and Groups map to rows, whichever the engine: the promoted columns of a
//! resource, where a filter finds each attribute, what sortBy sorts on, the member delta of a
//! group write and its audit JSON. Both engines' `resources.rs` use these, so that they store,
//! filter, sort and audit alike; each renders the SQL of its own dialect.

use super::{Kind, ResourceRecord, StoreError, StoreResult, WriteOutcome};
use crate::scim::cursor::{KeyValue, Position};
use crate::scim::filter::{Dialect, Filter, JsonMapping, SqlParam, SqlWhere, TableAttr, to_sql};
use crate::scim::path::AttrPath;
use crate::scim::schema::{self, AttrType, ResourceTypeDef};
use crate::scim::{ScimError, ScimResult};
use serde_json::{Value, json};

/// The `kind` of `resource_counts` rows.
pub(crate) fn count_kind(kind: Kind) -> &'static str {
    match kind {
        Kind::User => "user",
        Kind::Group => "group",
    }
}

pub(crate) fn table(kind: Kind) -> &'static str {
    match kind {
        Kind::User => "scim_users",
        Kind::Group => "scim_groups",
    }
}

pub(crate) fn rt(kind: Kind) -> &'static ResourceTypeDef {
    match kind {
        Kind::User => &schema::USER,
        Kind::Group => &schema::GROUP,
    }
}

/// The promoted columns of a canonical resource.
pub(crate) struct Promoted {
    /// userName of a User, displayName of a Group.
    pub name: String,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    pub active: bool,
}

pub(crate) fn promoted(kind: Kind, resource: &Value) -> StoreResult<Promoted> {
    let text = |k: &str| resource.get(k).and_then(Value::as_str).map(str::to_string);
    let name = match kind {
        Kind::User => text("userName"),
        Kind::Group => text("displayName"),
    };
    let Some(name) = name.filter(|n| !n.trim().is_empty()) else {
        let attr = match kind {
            Kind::User => "userName",
            Kind::Group => "displayName",
        };
        return Err(StoreError::Rejected(ScimError::invalid_value(format!(
            "{attr} is required"
        ))));
    };
    Ok(Promoted {
        name,
        external_id: text("externalId"),
        display_name: text("displayName"),
        active: resource
            .get("active")
            .and_then(Value::as_bool)
            .unwrap_or(true),
    })
}

/// The 409 of a userName that another SCIM User of the org has, in any case.
pub(crate) fn taken(user_name: &str) -> StoreError {
    StoreError::Conflict(format!(
        "userName '{user_name}' is already in use in this organization"
    ))
}

/// What a group write did to its member rows.
#[derive(Default)]
pub(crate) struct MemberDelta {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub removed_count: u64,
    /// Who a remove-all took out: for access, not for the audit (it can be a whole org).
    pub cleared: Vec<String>,
    pub skipped: Vec<String>,
}

impl MemberDelta {
    pub fn changed(&self) -> bool {
        !self.added.is_empty() || self.removed_count > 0
    }
    /// `members_changed` of the group's update audit event.
    pub fn to_json(&self) -> Value {
        json!({
            "added": self.added,
            "removed": self.removed,
            "removed_count": self.removed_count,
        })
    }
    /// Every member whose access the change may move.
    pub fn affected(&self) -> Vec<String> {
        let mut all = self.added.clone();
        all.extend(self.removed.iter().chain(&self.cleared).cloned());
        all
    }
}

/// The `after` of a `scim.group.members_skipped` audit event.
pub(crate) fn skipped_json(skipped: &[String]) -> Value {
    json!({"reason": "no such user in this organization", "skipped": skipped})
}

/// The `after` of a `scim.group.create` audit event.
pub(crate) fn group_created_json(resource: &Value, delta: &MemberDelta) -> Value {
    let mut after = resource.clone();
    after["members_added"] = json!(delta.added);
    after
}

/// The outcome of a create: version 1, created and modified now.
pub(crate) fn created(
    id: String,
    resource: Value,
    now: &str,
    skipped_members: Vec<String>,
) -> WriteOutcome {
    WriteOutcome {
        record: ResourceRecord {
            id,
            resource,
            version: 1,
            created: now.to_string(),
            last_modified: now.to_string(),
            members: None,
        },
        skipped_members,
        changed: true,
    }
}

/// What an update did, for its audit event and its outcome.
pub(crate) struct Updated {
    pub kind: Kind,
    /// The record as the update read it.
    pub before: ResourceRecord,
    /// The new resource, when it differs.
    pub resource: Option<Value>,
    pub delta: MemberDelta,
    pub now: String,
}

impl Updated {
    pub fn changed(&self) -> bool {
        self.resource.is_some() || self.delta.changed()
    }

    /// The action and `after` of the update's audit event (a group's carries what its member
    /// rows did); None when nothing changed.
    pub fn audit(&self) -> Option<(&'static str, Value)> {
        if !self.changed() {
            return None;
        }
        let mut after = self
            .resource
            .clone()
            .unwrap_or_else(|| self.before.resource.clone());
        let action = match self.kind {
            Kind::User => "scim.user.update",
            Kind::Group => {
                if let Some(obj) = after.as_object_mut() {
                    obj.insert("members_changed".into(), self.delta.to_json());
                }
                "scim.group.update"
            }
        };
        Some((action, after))
    }

    /// The record after the update: its version moved once if anything changed.
    pub fn outcome(self) -> WriteOutcome {
        let changed = self.changed();
        let rec = self.before;
        WriteOutcome {
            record: ResourceRecord {
                id: rec.id,
                resource: self.resource.unwrap_or(rec.resource),
                version: if changed {
                    rec.version + 1
                } else {
                    rec.version
                },
                created: rec.created,
                last_modified: if changed { self.now } else { rec.last_modified },
                members: None,
            },
            skipped_members: self.delta.skipped,
            changed,
        }
    }
}

// ---- filters ----

const USER_COLUMNS: &[(&str, &str)] = &[
    ("id", "r.id"),
    ("userName", "r.user_name"),
    ("externalId", "r.external_id"),
    ("displayName", "r.display_name"),
    ("meta.created", "r.created_at"),
    ("meta.lastModified", "r.last_modified"),
];

const GROUP_COLUMNS: &[(&str, &str)] = &[
    ("id", "r.id"),
    ("displayName", "r.display_name"),
    ("externalId", "r.external_id"),
    ("meta.created", "r.created_at"),
    ("meta.lastModified", "r.last_modified"),
];

const GROUP_TABLES: &[TableAttr<'static>] = &[TableAttr {
    attr: "members",
    from: "group_members gm",
    correlate: "gm.group_id = r.id",
    element: "gm.user_id",
    subs: &[("value", "gm.user_id")],
}];

/// On PostgreSQL, the emails' values lowered into one text, which a trigram index serves, and
/// into an array, which a GIN index serves for eq (functions of the schema).
const PG_USER_PREFILTERS: &[(&str, &str)] =
    &[("emails.value", "scimdesk_email_values(r.resource)")];
const PG_USER_VALUE_SETS: &[(&str, &str)] = &[("emails.value", "scimdesk_email_set(r.resource)")];

/// Translates a filter into a WHERE fragment over the row alias `r`: promoted columns where
/// they exist (indexed; userName in any case), the JSON document otherwise, member rows for
/// `members`.
pub(crate) fn translate(kind: Kind, filter: &Filter, dialect: Dialect) -> ScimResult<SqlWhere> {
    let (columns, tables) = match kind {
        Kind::User => (USER_COLUMNS, &[][..]),
        Kind::Group => (GROUP_COLUMNS, GROUP_TABLES),
    };
    let (prefilters, value_sets) = match (kind, dialect) {
        (Kind::User, Dialect::Postgres) => (PG_USER_PREFILTERS, PG_USER_VALUE_SETS),
        _ => (&[][..], &[][..]),
    };
    let mapping = JsonMapping {
        dialect,
        doc: "r.resource",
        columns,
        tables,
        prefilters,
        value_sets,
        row_alias: "je",
    };
    to_sql(filter, rt(kind), &mapping)
}

// ---- sorting ----

/// What a sortBy path sorts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SortKey {
    /// A promoted column of the row alias `r`.
    Column {
        col: &'static str,
        case_exact: bool,
        /// Whether the column can be NULL (missing values sort last).
        nullable: bool,
    },
    /// A value in the document: `keys` from the top (an extension's URN first), the first
    /// value of a multi-valued attribute (primary values come first in canonical form where
    /// the client sent them so), then `sub`.
    Json {
        keys: Vec<&'static str>,
        first_value: bool,
        sub: Option<&'static str>,
        /// The type and caseExact of the value sorted on.
        ty: AttrType,
        case_exact: bool,
    },
}

impl SortKey {
    /// Resolves a sortBy path of a resource of `kind`; an unknown attribute is a 400.
    pub fn resolve(kind: Kind, path: &AttrPath) -> ScimResult<SortKey> {
        let unknown = || ScimError::invalid_value(format!("sortBy: unknown attribute '{path}'"));
        let (attr, ext) = rt(kind)
            .resolve(path.urn.as_deref(), &path.name)
            .ok_or_else(unknown)?;
        let sub = match &path.sub_attr {
            Some(s) => Some(attr.sub(s).ok_or_else(unknown)?),
            None => None,
        };
        let column = |col, case_exact, nullable| SortKey::Column {
            col,
            case_exact,
            nullable,
        };
        if ext.is_none() {
            match (attr.name, sub.map(|s| s.name)) {
                ("id", None) => return Ok(column("r.id", true, false)),
                ("userName", None) if kind == Kind::User => {
                    return Ok(column("r.user_name", false, false));
                }
                ("displayName", None) => return Ok(column("r.display_name", false, true)),
                ("externalId", None) => return Ok(column("r.external_id", true, true)),
                ("meta", Some("created")) => return Ok(column("r.created_at", true, false)),
                ("meta", Some("lastModified")) => {
                    return Ok(column("r.last_modified", true, false));
                }
                ("meta", _) => return Ok(column("r.id", true, false)),
                _ => {}
            }
        }
        let mut keys = Vec::with_capacity(2);
        keys.extend(ext.map(|e| e.id));
        keys.push(attr.name);
        let (sub, leaf) = match sub {
            Some(s) => (Some(s.name), s),
            None if attr.ty == AttrType::Complex => match attr.sub("value") {
                Some(v) => (Some("value"), v),
                None => (None, attr),
            },
            None => (None, attr),
        };
        Ok(SortKey::Json {
            keys,
            first_value: attr.multi_valued,
            sub,
            ty: leaf.ty,
            case_exact: leaf.case_exact,
        })
    }

    /// Whether the key's text sorts as it is (else ignoring case): non-text values and
    /// caseExact attributes.
    pub fn case_exact(&self) -> bool {
        match self {
            SortKey::Column { case_exact, .. } => *case_exact,
            SortKey::Json { ty, case_exact, .. } => !ty.is_textual() || *case_exact,
        }
    }
}

// ---- order and keyset paging ----

/// What a list orders by, in one engine's SQL: the sort expression over the row alias `r`
/// (`None`: by id alone) and whether it can be NULL. Rows order by it (missing values last in
/// either direction), then by `r.id` ascending.
pub(crate) struct ListOrder {
    pub expr: Option<String>,
    pub nullable: bool,
    pub descending: bool,
}

impl ListOrder {
    /// The ORDER BY terms; `backward` reverses the whole order (a walk back from a cursor).
    pub fn order_by(&self, dialect: Dialect, backward: bool) -> String {
        let id = if backward { "r.id DESC" } else { "r.id" };
        let Some(expr) = &self.expr else {
            return id.to_string();
        };
        let dir = if self.descending != backward {
            " DESC"
        } else {
            ""
        };
        if !self.nullable {
            return format!("{expr}{dir}, {id}");
        }
        match (dialect, backward) {
            (Dialect::Sqlite, false) => format!("{expr} IS NULL, {expr}{dir}, {id}"),
            (Dialect::Sqlite, true) => format!("{expr} IS NULL DESC, {expr}{dir}, {id}"),
            (Dialect::Postgres, false) => format!("{expr}{dir} NULLS LAST, {id}"),
            (Dialect::Postgres, true) => format!("{expr}{dir} NULLS FIRST, {id}"),
        }
    }

    /// The condition that keeps the rows strictly after `at` in this order (strictly before
    /// it when `backward`), as disjoint branches whose union it is. `bind` renders a
    /// parameter's placeholder, told whether it is the key (which an engine may need to cast)
    /// or the id. Each branch is an index range: the key is bounded on one side by a plain
    /// comparison (`expr >= key`), the rest breaks ties on id, and the rows without a value
    /// (which come last) are a branch of their own, since `expr IS NULL OR ...` would make
    /// PostgreSQL filter every row before the position.
    pub fn seek(
        &self,
        at: &Position,
        backward: bool,
        bind: &mut dyn FnMut(SqlParam, bool) -> String,
    ) -> Vec<String> {
        let id_from = if backward { "r.id <" } else { "r.id >" };
        let Some(expr) = &self.expr else {
            let id = bind(SqlParam::Text(at.id.clone()), false);
            return vec![format!("{id_from} {id}")];
        };
        let value = match &at.key {
            KeyValue::Null => None,
            KeyValue::Int(i) => Some(SqlParam::Int(*i)),
            KeyValue::Real(f) => Some(SqlParam::Real(*f)),
            KeyValue::Text(t) => Some(SqlParam::Text(t.clone())),
        };
        let Some(value) = value else {
            // `at` is among the rows without a value.
            let id = bind(SqlParam::Text(at.id.clone()), false);
            let among_missing = format!("{expr} IS NULL AND {id_from} {id}");
            return if backward {
                vec![among_missing, format!("{expr} IS NOT NULL")]
            } else {
                vec![among_missing]
            };
        };
        let towards_larger = self.descending == backward;
        let (strict, loose) = if towards_larger {
            (">", ">=")
        } else {
            ("<", "<=")
        };
        let v1 = bind(value.clone(), true);
        let v2 = bind(value, true);
        let id = bind(SqlParam::Text(at.id.clone()), false);
        let past = format!("{expr} {loose} {v1} AND ({expr} {strict} {v2} OR {id_from} {id})");
        if self.nullable && !backward {
            vec![past, format!("{expr} IS NULL")]
        } else {
            vec![past]
        }
    }
}

/// How long the statements of one filtered list or search may run: the other half of a
/// request's cost bound, with the comparison limit (`scim::list::MAX_FILTER_COMPARISONS`).
/// An IdP's lookups take milliseconds; a filter that scans for longer is refused, so that one
/// org's request cannot hold a read connection for seconds.
pub(crate) const FILTER_TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The refusal of a filtered read stopped at [`FILTER_TIME_LIMIT`]: 400 `tooMany`.
pub(crate) fn filter_too_costly() -> crate::store::StoreError {
    crate::store::StoreError::Rejected(crate::scim::ScimError::too_many(format!(
        "the filter took longer than {} s to evaluate and was stopped; narrow it (eq or sw on \
         userName or externalId are answered from an index)",
        FILTER_TIME_LIMIT.as_secs()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_keys_prefer_promoted_columns() {
        let key = |kind, p: &str| SortKey::resolve(kind, &AttrPath::parse(p).unwrap());
        assert_eq!(
            key(Kind::User, "USERNAME").unwrap(),
            SortKey::Column {
                col: "r.user_name",
                case_exact: false,
                nullable: false
            }
        );
        let SortKey::Json {
            keys,
            first_value,
            sub,
            ..
        } = key(Kind::User, "emails").unwrap()
        else {
            panic!("emails sort on the document");
        };
        assert_eq!(
            (keys, first_value, sub),
            (vec!["emails"], true, Some("value"))
        );
        assert!(!key(Kind::User, "name.familyName").unwrap().case_exact());
        assert!(key(Kind::User, "active").unwrap().case_exact());
        assert!(key(Kind::Group, "userName").is_err());
        assert!(key(Kind::User, "name.nosuch").is_err());
    }

    #[test]
    fn seeks_are_index_ranges_with_missing_values_a_branch_of_their_own() {
        let order = ListOrder {
            expr: Some("lower(r.display_name)".into()),
            nullable: true,
            descending: false,
        };
        let at = |key| Position {
            key,
            id: "u9".into(),
        };
        let mut n = 0;
        let mut bind = |_: SqlParam, key: bool| {
            n += 1;
            format!("${n}{}", if key { "k" } else { "" })
        };
        let e = "lower(r.display_name)";
        assert_eq!(
            order.seek(&at(KeyValue::Text("ann".into())), false, &mut bind),
            [
                format!("{e} >= $1k AND ({e} > $2k OR r.id > $3)"),
                format!("{e} IS NULL")
            ]
        );
        assert_eq!(
            order.seek(&at(KeyValue::Text("ann".into())), true, &mut bind),
            [format!("{e} <= $4k AND ({e} < $5k OR r.id < $6)")]
        );
        assert_eq!(
            order.seek(&at(KeyValue::Null), true, &mut bind),
            [
                format!("{e} IS NULL AND r.id < $7"),
                format!("{e} IS NOT NULL")
            ]
        );
        let descending = ListOrder {
            descending: true,
            nullable: false,
            ..order
        };
        assert_eq!(
            descending.seek(&at(KeyValue::Int(3)), false, &mut bind),
            [format!("{e} <= $8k AND ({e} < $9k OR r.id > $10)")]
        );
        assert_eq!(
            descending.order_by(Dialect::Postgres, true),
            format!("{e}, r.id DESC")
        );
        let by_id = ListOrder {
            expr: None,
            nullable: false,
            descending: true,
        };
        assert_eq!(by_id.order_by(Dialect::Sqlite, false), "r.id");
        assert_eq!(
            by_id.seek(&at(KeyValue::Null), true, &mut bind),
            ["r.id < $11"]
        );
    }
}
