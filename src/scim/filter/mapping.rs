//! [`JsonMapping`]: where a filter finds the attributes of a resource stored as one JSON
//! document per row (plus promoted columns and child tables), in either dialect.

use super::sql::{AttrRef, Dialect, SqlAttr, SqlMapping};
use crate::scim::schema::AttributeDef;
use std::fmt::Write;

/// A multi-valued attribute kept in its own table, e.g. group members.
#[derive(Debug, Clone, Copy)]
pub struct TableAttr<'a> {
    /// The attribute's canonical name, e.g. `members`.
    pub attr: &'a str,
    /// The FROM item, e.g. `group_members m`.
    pub from: &'a str,
    /// Ties the rows to the resource's row, e.g. `m.group_id = g.id`.
    pub correlate: &'a str,
    /// An expression that is not null for every row (one whole value), e.g. `m.member_id`.
    pub element: &'a str,
    /// Sub-attribute name → column, e.g. `("value", "m.member_id")`.
    pub subs: &'a [(&'a str, &'a str)],
}

/// A mapping for resources stored as a JSON column holding the canonical document:
/// attributes come from `json_extract`/`json_each` over it (SQLite, JSON text) or from
/// `->`/`->>`/`jsonb_array_elements` (PostgreSQL, jsonb), except promoted columns and
/// attributes kept in child tables.
#[derive(Debug, Clone, Copy)]
pub struct JsonMapping<'a> {
    pub dialect: Dialect,
    /// The document column of the resource's row, e.g. `u.doc`.
    pub doc: &'a str,
    /// Promoted columns for single-valued attributes or sub-attributes, keyed by canonical
    /// path ([`AttrRef::path`]), e.g. `("userName", "u.user_name")`,
    /// `("meta.created", "u.created_at")`. Matched ignoring case.
    pub columns: &'a [(&'a str, &'a str)],
    pub tables: &'a [TableAttr<'a>],
    /// Prefilter expressions of sub-attributes of multi-valued attributes, keyed by
    /// canonical path (see [`SqlMapping::prefilter`]), e.g.
    /// `("emails.value", "scimdesk_email_values(u.doc)")`.
    pub prefilters: &'a [(&'a str, &'a str)],
    /// Value-set expressions of the same (see [`SqlMapping::value_set`]), e.g.
    /// `("emails.value", "scimdesk_email_set(u.doc)")`.
    pub value_sets: &'a [(&'a str, &'a str)],
    /// The alias of `json_each` rows; must differ from the outer query's aliases.
    pub row_alias: &'a str,
}

impl JsonMapping<'_> {
    /// SQLite: `'$."a"."b"'`: quoted keys, since URNs hold dots and colons.
    fn json_path(&self, keys: &[&str]) -> String {
        let mut s = String::from("'$");
        for k in keys {
            let _ = write!(s, ".\"{}\"", k.replace('\'', "''").replace('"', "\\\""));
        }
        s.push('\'');
        s
    }
    /// PostgreSQL: `(x->'a'->>'b')` (text: `->>` last) or `x->'a'->'b'` (jsonb).
    fn pg_path(base: &str, keys: &[&str], text: bool) -> String {
        let mut s = String::from(base);
        for (i, k) in keys.iter().enumerate() {
            let op = if text && i + 1 == keys.len() {
                "->>"
            } else {
                "->"
            };
            let _ = write!(s, "{op}'{}'", k.replace('\'', "''"));
        }
        if text { format!("({s})") } else { s }
    }
    fn table(&self, a: &AttrRef) -> Option<&TableAttr<'_>> {
        if a.extension.is_some() {
            return None;
        }
        self.tables
            .iter()
            .find(|t| t.attr.eq_ignore_ascii_case(a.attr.name))
    }
    fn top_keys(a: &AttrRef) -> Vec<&'static str> {
        match a.extension {
            Some(ext) => vec![ext.id, a.attr.name],
            None => vec![a.attr.name],
        }
    }
}

impl SqlMapping for JsonMapping<'_> {
    fn dialect(&self) -> Dialect {
        self.dialect
    }

    fn attr(&self, a: &AttrRef) -> Option<SqlAttr> {
        if let Some(t) = self.table(a) {
            return Some(SqlAttr::Rows {
                from: t.from.to_string(),
                correlate: Some(t.correlate.to_string()),
            });
        }
        if !a.attr.multi_valued {
            return Some(SqlAttr::Scalar);
        }
        let from = match self.dialect {
            Dialect::Sqlite => {
                let path = self.json_path(&Self::top_keys(a));
                format!("json_each({}, {path}) AS {}", self.doc, self.row_alias)
            }
            Dialect::Postgres => {
                // One element per value, as the evaluator sees them: the items of an array, a
                // lone value as one, null or absent as none.
                let v = Self::pg_path(self.doc, &Self::top_keys(a), false);
                format!(
                    "jsonb_array_elements(CASE WHEN jsonb_typeof({v}) = 'array' THEN {v} \
                     WHEN {v} IS NULL OR {v} = 'null' THEN '[]' ELSE jsonb_build_array({v}) END) \
                     AS {}(value)",
                    self.row_alias
                )
            }
        };
        Some(SqlAttr::Rows {
            from,
            correlate: None,
        })
    }

    fn expr(&self, a: &AttrRef, sub: Option<&'static AttributeDef>) -> Option<String> {
        if let Some(t) = self.table(a) {
            return match sub {
                None => Some(t.element.to_string()),
                Some(s) => t
                    .subs
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(s.name))
                    .map(|(_, c)| c.to_string()),
            };
        }
        if a.attr.multi_valued {
            let row = format!("{}.value", self.row_alias);
            return Some(match (self.dialect, sub) {
                (Dialect::Sqlite, None) => row,
                (Dialect::Sqlite, Some(s)) => {
                    format!("json_extract({row}, {})", self.json_path(&[s.name]))
                }
                // A scalar's text, or an object's JSON text, as json_each's value is.
                (Dialect::Postgres, None) => format!("({row} #>> '{{}}')"),
                (Dialect::Postgres, Some(s)) => Self::pg_path(&row, &[s.name], true),
            });
        }
        let path = a.path(sub);
        if let Some((_, col)) = self
            .columns
            .iter()
            .find(|(p, _)| p.eq_ignore_ascii_case(&path))
        {
            return Some(col.to_string());
        }
        let mut keys = Self::top_keys(a);
        keys.extend(sub.map(|s| s.name));
        Some(match self.dialect {
            Dialect::Sqlite => format!("json_extract({}, {})", self.doc, self.json_path(&keys)),
            Dialect::Postgres => Self::pg_path(self.doc, &keys, true),
        })
    }

    fn prefilter(&self, a: &AttrRef, sub: Option<&'static AttributeDef>) -> Option<String> {
        by_path(self.prefilters, &a.path(sub))
    }

    fn value_set(&self, a: &AttrRef, sub: Option<&'static AttributeDef>) -> Option<String> {
        by_path(self.value_sets, &a.path(sub))
    }
}

/// The expression listed for a canonical path, matched ignoring case.
fn by_path(list: &[(&str, &str)], path: &str) -> Option<String> {
    list.iter()
        .find(|(p, _)| p.eq_ignore_ascii_case(path))
        .map(|(_, x)| x.to_string())
}
