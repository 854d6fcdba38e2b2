//! Translation of a validated filter to an SQL `WHERE` condition with bound parameters.
//!
//! The store describes where attributes live through [`SqlMapping`]: a scalar expression over
//! the resource's row (a promoted column or a JSON extract), or, for a multi-valued
//! attribute, a row source (`json_each` over the document, or a table such as group members)
//! with an expression per sub-attribute. [`JsonMapping`] is such a mapping for a row that
//! holds the canonical document as JSON text, plus promoted columns and child tables.
//!
//! The semantics are those of `eval.rs`, clause by clause; `tests/filter_sql.rs` checks that
//! on random resources. Every condition generated here is two-valued (never SQL NULL), so that
//! `NOT` agrees with the in-memory evaluator on unassigned attributes.
//!
//! Expectations on the data: dateTime values are stored as `datetime::format` text (fixed
//! width UTC, so text order is time order), booleans as JSON true/false or 0/1, and JSON
//! documents in canonical form (schema spelling of names, multi-valued attributes as arrays).

use super::eval::{Resolved, resolve, validate};
use super::{CompValue, CompareOp, Filter};
use crate::scim::datetime;
use crate::scim::error::{ScimError, ScimResult};
use crate::scim::schema::{AttrType, AttributeDef, ResourceTypeDef, SchemaDef};
use std::fmt::Write;

/// A bound parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlParam {
    Null,
    Bool(bool),
    Int(i64),
    Real(f64),
    Text(String),
}

/// A `WHERE` condition: `sql` has one `?` per parameter, in order. Parameters are never
/// spliced into the text.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SqlWhere {
    pub sql: String,
    pub params: Vec<SqlParam>,
}

/// The SQL dialect. Only SQLite exists today; PostgreSQL would change placeholders
/// (`$n`), case-insensitive comparison (no NOCASE) and the substring functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Dialect {
    #[default]
    Sqlite,
}

/// A top-level attribute, resolved against the schema.
#[derive(Debug, Clone, Copy)]
pub struct AttrRef {
    /// The extension schema that defines it; None for core and common attributes.
    pub extension: Option<&'static SchemaDef>,
    pub attr: &'static AttributeDef,
}

impl AttrRef {
    /// The canonical path text of the attribute or one of its sub-attributes, e.g.
    /// `meta.created` or `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`.
    pub fn path(&self, sub: Option<&AttributeDef>) -> String {
        let mut s = String::new();
        if let Some(ext) = self.extension {
            s.push_str(ext.id);
            s.push(':');
        }
        s.push_str(self.attr.name);
        if let Some(sub) = sub {
            s.push('.');
            s.push_str(sub.name);
        }
        s
    }
}

/// How a top-level attribute's values are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlAttr {
    /// One value per resource: [`SqlMapping::expr`] is an expression over the resource's row.
    Scalar,
    /// One row per value: the condition becomes
    /// `EXISTS (SELECT 1 FROM {from} WHERE {correlate} AND ...)`, and [`SqlMapping::expr`]
    /// is an expression over one such row.
    Rows {
        from: String,
        correlate: Option<String>,
    },
}

/// Where attributes live in the store. Returning None makes a filter on that attribute a
/// 400 invalidFilter.
pub trait SqlMapping {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }
    /// How the values of `attr` are stored.
    fn attr(&self, attr: &AttrRef) -> Option<SqlAttr>;
    /// The expression of the attribute's value (`sub: None`; for a multi-valued attribute,
    /// one whole value) or of one of its sub-attributes.
    fn expr(&self, attr: &AttrRef, sub: Option<&'static AttributeDef>) -> Option<String>;
}

/// Translate a filter to SQL. The filter is validated against `rt` first.
pub fn to_sql(filter: &Filter, rt: &ResourceTypeDef, map: &dyn SqlMapping) -> ScimResult<SqlWhere> {
    validate(filter, rt)?;
    let mut t = Translator {
        map,
        out: SqlWhere::default(),
    };
    t.filter(filter, rt)?;
    Ok(t.out)
}

struct Translator<'m> {
    map: &'m dyn SqlMapping,
    out: SqlWhere,
}

fn unmapped(path: &str) -> ScimError {
    ScimError::invalid_filter(format!(
        "attribute '{path}' cannot be used in a filter here"
    ))
}

/// `LIKE` pattern text for a literal, with `\` as the escape character.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Translator<'_> {
    fn push(&mut self, s: &str) {
        self.out.sql.push_str(s);
    }
    fn param(&mut self, p: SqlParam) -> &'static str {
        self.out.params.push(p);
        match self.map.dialect() {
            Dialect::Sqlite => "?",
        }
    }

    fn filter(&mut self, f: &Filter, rt: &ResourceTypeDef) -> ScimResult<()> {
        match f {
            Filter::And(a, b) | Filter::Or(a, b) => {
                let op = if matches!(f, Filter::And(..)) {
                    " AND "
                } else {
                    " OR "
                };
                self.push("(");
                self.filter(a, rt)?;
                self.push(op);
                self.filter(b, rt)?;
                self.push(")");
            }
            Filter::Not(x) => {
                self.push("NOT (");
                self.filter(x, rt)?;
                self.push(")");
            }
            Filter::Present(p) => {
                let r = resolved(p, rt)?;
                self.present(&r)?;
            }
            Filter::Compare(p, op, v) => {
                let r = resolved(p, rt)?;
                match (op, v) {
                    (CompareOp::Eq, CompValue::Null) => {
                        self.push("NOT (");
                        self.present(&r)?;
                        self.push(")");
                    }
                    (CompareOp::Ne, CompValue::Null) => self.present(&r)?,
                    _ => self.compare(&r, *op, v)?,
                }
            }
            Filter::ValuePath(p, inner) => {
                let r = resolved(p, rt)?;
                let a = AttrRef {
                    extension: r.extension,
                    attr: r.attr,
                };
                match self.map.attr(&a).ok_or_else(|| unmapped(&a.path(None)))? {
                    SqlAttr::Rows { from, correlate } => {
                        self.exists_open(&from, correlate.as_deref());
                        self.element(inner, &a)?;
                        self.push(")");
                    }
                    SqlAttr::Scalar => {
                        // A single complex value: it must exist, like the one element the
                        // evaluator iterates over.
                        let whole = self.expr(&a, None)?;
                        let _ = write!(self.out.sql, "({whole} IS NOT NULL AND ");
                        self.element(inner, &a)?;
                        self.push(")");
                    }
                }
            }
        }
        Ok(())
    }

    fn expr(&self, a: &AttrRef, sub: Option<&'static AttributeDef>) -> ScimResult<String> {
        self.map.expr(a, sub).ok_or_else(|| unmapped(&a.path(sub)))
    }

    fn exists_open(&mut self, from: &str, correlate: Option<&str>) {
        let _ = write!(self.out.sql, "EXISTS (SELECT 1 FROM {from} WHERE ");
        if let Some(c) = correlate {
            let _ = write!(self.out.sql, "{c} AND ");
        }
    }

    /// The filter of a value path, over one element's sub-attributes.
    fn element(&mut self, f: &Filter, a: &AttrRef) -> ScimResult<()> {
        let sub = |p: &crate::scim::path::AttrPath| {
            a.attr
                .sub(&p.name)
                .ok_or_else(|| ScimError::invalid_filter(format!("unknown sub-attribute '{p}'")))
        };
        match f {
            Filter::And(x, y) | Filter::Or(x, y) => {
                let op = if matches!(f, Filter::And(..)) {
                    " AND "
                } else {
                    " OR "
                };
                self.push("(");
                self.element(x, a)?;
                self.push(op);
                self.element(y, a)?;
                self.push(")");
            }
            Filter::Not(x) => {
                self.push("NOT (");
                self.element(x, a)?;
                self.push(")");
            }
            Filter::Present(p) => {
                let d = sub(p)?;
                let x = self.expr(a, Some(d))?;
                self.present_leaf(&x, d);
            }
            Filter::Compare(p, op, v) => {
                let d = sub(p)?;
                let x = self.expr(a, Some(d))?;
                match (op, v) {
                    (CompareOp::Eq, CompValue::Null) => {
                        self.push("NOT ");
                        self.present_leaf(&x, d);
                    }
                    (CompareOp::Ne, CompValue::Null) => self.present_leaf(&x, d),
                    _ => self.compare_leaf(&x, d, *op, v),
                }
            }
            Filter::ValuePath(p, _) => {
                return Err(ScimError::invalid_filter(format!(
                    "value filters cannot be nested ('{p}')"
                )));
            }
        }
        Ok(())
    }

    fn present(&mut self, r: &Resolved) -> ScimResult<()> {
        let a = AttrRef {
            extension: r.extension,
            attr: r.attr,
        };
        let def = r.sub.unwrap_or(r.attr);
        match self.map.attr(&a).ok_or_else(|| unmapped(&a.path(None)))? {
            SqlAttr::Rows { from, correlate } => {
                let x = self.expr(&a, r.sub)?;
                self.exists_open(&from, correlate.as_deref());
                self.present_leaf(&x, def);
                self.push(")");
            }
            SqlAttr::Scalar => {
                let x = self.expr(&a, r.sub)?;
                self.present_leaf(&x, def);
            }
        }
        Ok(())
    }

    fn compare(&mut self, r: &Resolved, op: CompareOp, v: &CompValue) -> ScimResult<()> {
        let a = AttrRef {
            extension: r.extension,
            attr: r.attr,
        };
        let def = r.compared();
        let leaf = r.sub.or(r.implicit_value());
        match self.map.attr(&a).ok_or_else(|| unmapped(&a.path(None)))? {
            SqlAttr::Rows { from, correlate } => {
                let x = self.expr(&a, leaf)?;
                if op == CompareOp::Ne {
                    // No values at all, or some value that is not identical.
                    self.push("(NOT ");
                    self.exists_open(&from, correlate.as_deref());
                    self.push("1) OR ");
                    self.exists_open(&from, correlate.as_deref());
                    self.compare_leaf(&x, def, op, v);
                    self.push("))");
                } else {
                    self.exists_open(&from, correlate.as_deref());
                    self.compare_leaf(&x, def, op, v);
                    self.push(")");
                }
            }
            SqlAttr::Scalar => {
                let x = self.expr(&a, leaf)?;
                self.compare_leaf(&x, def, op, v);
            }
        }
        Ok(())
    }

    fn present_leaf(&mut self, x: &str, def: &AttributeDef) {
        let _ = match def.ty {
            AttrType::Complex => write!(
                self.out.sql,
                "({x} IS NOT NULL AND {x} NOT IN ('{{}}', '[]'))"
            ),
            t if t.is_textual() => write!(self.out.sql, "({x} IS NOT NULL AND {x} <> '')"),
            _ => write!(self.out.sql, "({x} IS NOT NULL)"),
        };
    }

    /// One value against the operand; null operands are handled by the callers.
    fn compare_leaf(&mut self, x: &str, def: &AttributeDef, op: CompareOp, v: &CompValue) {
        if op == CompareOp::Ne {
            self.push("NOT ");
            self.compare_leaf(x, def, CompareOp::Eq, v);
            return;
        }
        let sym = match op {
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            _ => "=",
        };
        let _ = write!(self.out.sql, "({x} IS NOT NULL AND ");
        match (def.ty, v) {
            (AttrType::DateTime, CompValue::Str(s)) => self.compare_date(x, op, sym, s),
            (AttrType::Boolean, CompValue::Bool(b)) => {
                let p = self.param(SqlParam::Bool(*b));
                let _ = write!(self.out.sql, "{x} = {p}");
            }
            (_, CompValue::Number(n)) => {
                let param = match n.as_i64() {
                    Some(i) => SqlParam::Int(i),
                    None => SqlParam::Real(n.as_f64().unwrap_or(f64::NAN)),
                };
                let p = self.param(param);
                let _ = write!(self.out.sql, "{x} {sym} {p}");
            }
            (_, CompValue::Str(s)) => self.compare_text(x, def.case_exact, op, sym, s),
            // validate() rules the other combinations out.
            _ => self.push("0"),
        }
        self.push(")");
    }

    fn compare_text(&mut self, x: &str, case_exact: bool, op: CompareOp, sym: &str, s: &str) {
        let text = |s: &str| SqlParam::Text(s.to_string());
        match (op, case_exact) {
            (CompareOp::Co | CompareOp::Sw | CompareOp::Ew, false) => {
                let body = like_escape(s);
                let pattern = match op {
                    CompareOp::Co => format!("%{body}%"),
                    CompareOp::Sw => format!("{body}%"),
                    _ => format!("%{body}"),
                };
                let p = self.param(SqlParam::Text(pattern));
                let _ = write!(self.out.sql, "{x} LIKE {p} ESCAPE '\\'");
            }
            (CompareOp::Co, true) => {
                let p = self.param(text(s));
                let _ = write!(self.out.sql, "instr({x}, {p}) > 0");
            }
            (CompareOp::Sw, true) => {
                let p1 = self.param(text(s));
                let p2 = self.param(text(s));
                let _ = write!(
                    self.out.sql,
                    "substr({x}, 1, length({p1})) = {p2} COLLATE BINARY"
                );
            }
            (CompareOp::Ew, true) => {
                let p1 = self.param(text(s));
                let p2 = self.param(text(s));
                let p3 = self.param(text(s));
                let _ = write!(
                    self.out.sql,
                    "length({x}) >= length({p1}) AND substr({x}, length({x}) - length({p2}) + 1) = {p3} COLLATE BINARY"
                );
            }
            (_, exact) => {
                let p = self.param(text(s));
                let coll = if exact { "BINARY" } else { "NOCASE" };
                let _ = write!(self.out.sql, "{x} {sym} {p} COLLATE {coll}");
            }
        }
    }

    /// Stored dates are `datetime::format` text with millisecond precision. An operand with a
    /// finer fraction lies strictly between two stored values, so compare with the
    /// millisecond below it.
    fn compare_date(&mut self, x: &str, op: CompareOp, sym: &str, s: &str) {
        let Some(t) = datetime::parse(s) else {
            self.push("0");
            return;
        };
        let floor = datetime::format(t);
        if t.0.rem_euclid(1_000_000) == 0 {
            let p = self.param(SqlParam::Text(floor));
            let _ = write!(self.out.sql, "{x} {sym} {p} COLLATE BINARY");
            return;
        }
        let sym = match op {
            CompareOp::Gt | CompareOp::Ge => ">",
            CompareOp::Lt | CompareOp::Le => "<=",
            _ => {
                self.push("0");
                return;
            }
        };
        let p = self.param(SqlParam::Text(floor));
        let _ = write!(self.out.sql, "{x} {sym} {p} COLLATE BINARY");
    }
}

fn resolved(p: &crate::scim::path::AttrPath, rt: &ResourceTypeDef) -> ScimResult<Resolved> {
    resolve(p, rt).ok_or_else(|| ScimError::invalid_filter(format!("unknown attribute '{p}'")))
}

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

/// A mapping for resources stored as a JSON text column holding the canonical document:
/// attributes come from `json_extract`/`json_each` over it, except promoted columns and
/// attributes kept in child tables.
#[derive(Debug, Clone, Copy)]
pub struct JsonMapping<'a> {
    /// The document column of the resource's row, e.g. `u.doc`.
    pub doc: &'a str,
    /// Promoted columns for single-valued attributes or sub-attributes, keyed by canonical
    /// path ([`AttrRef::path`]), e.g. `("userName", "u.user_name")`,
    /// `("meta.created", "u.created_at")`. Matched ignoring case.
    pub columns: &'a [(&'a str, &'a str)],
    pub tables: &'a [TableAttr<'a>],
    /// The alias of `json_each` rows; must differ from the outer query's aliases.
    pub row_alias: &'a str,
}

impl JsonMapping<'_> {
    /// `'$."a"."b"'`: quoted keys, since URNs hold dots and colons.
    fn json_path(&self, keys: &[&str]) -> String {
        let mut s = String::from("'$");
        for k in keys {
            let _ = write!(s, ".\"{}\"", k.replace('\'', "''").replace('"', "\\\""));
        }
        s.push('\'');
        s
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
        let path = self.json_path(&Self::top_keys(a));
        Some(SqlAttr::Rows {
            from: format!("json_each({}, {path}) AS {}", self.doc, self.row_alias),
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
            return Some(match sub {
                None => row,
                Some(s) => format!("json_extract({row}, {})", self.json_path(&[s.name])),
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
        Some(format!(
            "json_extract({}, {})",
            self.doc,
            self.json_path(&keys)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::ScimType;
    use crate::scim::filter::parse_filter;
    use crate::scim::schema::{GROUP, USER};

    const USERS: JsonMapping<'static> = JsonMapping {
        doc: "u.doc",
        columns: &[
            ("userName", "u.user_name"),
            ("externalId", "u.external_id"),
            ("meta.created", "u.created_at"),
        ],
        tables: &[],
        row_alias: "v",
    };
    const GROUPS: JsonMapping<'static> = JsonMapping {
        doc: "g.doc",
        columns: &[("displayName", "g.display_name")],
        tables: &[TableAttr {
            attr: "members",
            from: "group_members m",
            correlate: "m.group_id = g.id",
            element: "m.member_id",
            subs: &[("value", "m.member_id")],
        }],
        row_alias: "v",
    };

    fn sql(f: &str) -> SqlWhere {
        to_sql(&parse_filter(f).unwrap(), &USER, &USERS).unwrap_or_else(|e| panic!("{f}: {e}"))
    }
    fn text(s: &str) -> SqlParam {
        SqlParam::Text(s.to_string())
    }

    #[test]
    fn case_insensitive_equality_can_use_a_nocase_index() {
        let w = sql(r#"userName eq "Bjensen""#);
        assert_eq!(
            w.sql,
            "(u.user_name IS NOT NULL AND u.user_name = ? COLLATE NOCASE)"
        );
        assert_eq!(w.params, vec![text("Bjensen")]);
        let w = sql(r#"externalId eq "E""#);
        assert!(
            w.sql.contains("u.external_id = ? COLLATE BINARY"),
            "{}",
            w.sql
        );
    }

    #[test]
    fn values_are_bound_never_spliced() {
        let evil = r#"x' OR 1=1 --"#;
        let w = sql(&format!(r#"userName eq "{evil}" or title co "{evil}""#));
        assert!(!w.sql.contains("1=1"), "{}", w.sql);
        assert_eq!(w.params[0], text(evil));
        assert_eq!(w.params[1], text(&format!("%{evil}%")));
        assert_eq!(w.sql.matches('?').count(), w.params.len());
    }

    #[test]
    fn substring_operators_escape_like_wildcards() {
        let w = sql(r#"title co "50%_off\\""#);
        assert!(w.sql.contains(r"LIKE ? ESCAPE '\'"), "{}", w.sql);
        assert_eq!(w.params, vec![text(r"%50\%\_off\\%")]);
        assert_eq!(sql(r#"title sw "a""#).params, vec![text("a%")]);
        assert_eq!(sql(r#"title ew "a""#).params, vec![text("%a")]);
        // caseExact attributes do not use LIKE, which ignores ASCII case.
        assert!(
            sql(r#"id co "a""#)
                .sql
                .contains("instr(json_extract(u.doc, '$.\"id\"'), ?) > 0")
        );
        assert!(sql(r#"id sw "a""#).sql.contains("substr("));
    }

    #[test]
    fn multi_valued_attributes_become_exists_over_json_each() {
        let w = sql(r#"emails[type eq "work" and value co "@x"]"#);
        assert_eq!(
            w.sql,
            "EXISTS (SELECT 1 FROM json_each(u.doc, '$.\"emails\"') AS v WHERE \
             ((json_extract(v.value, '$.\"type\"') IS NOT NULL AND json_extract(v.value, '$.\"type\"') = ? COLLATE NOCASE) \
             AND (json_extract(v.value, '$.\"value\"') IS NOT NULL AND json_extract(v.value, '$.\"value\"') LIKE ? ESCAPE '\\')))"
        );
        let w = sql(r#"emails ne "a""#);
        assert!(
            w.sql.starts_with("(NOT EXISTS (SELECT 1 FROM json_each"),
            "{}",
            w.sql
        );
    }

    #[test]
    fn extension_attributes_use_quoted_json_paths() {
        let w = sql(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m""#,
        );
        assert!(w.sql.contains(
            "json_extract(u.doc, '$.\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\".\"manager\".\"value\"')"
        ), "{}", w.sql);
    }

    #[test]
    fn dates_compare_as_normalized_text() {
        let w = sql(r#"meta.created gt "2011-08-01T20:29:49+02:00""#);
        assert_eq!(
            w.sql,
            "(u.created_at IS NOT NULL AND u.created_at > ? COLLATE BINARY)"
        );
        assert_eq!(w.params, vec![text("2011-08-01T18:29:49.000Z")]);
        // Finer than a millisecond: nothing stored equals it.
        let w = sql(r#"meta.created le "2011-08-01T18:29:49.0005Z""#);
        assert!(w.sql.contains("u.created_at <= ?"), "{}", w.sql);
        assert_eq!(w.params, vec![text("2011-08-01T18:29:49.000Z")]);
        assert!(
            sql(r#"meta.created eq "2011-08-01T18:29:49.0005Z""#)
                .params
                .is_empty()
        );
    }

    #[test]
    fn members_in_their_own_table() {
        let w = to_sql(
            &parse_filter(r#"members.value eq "u1""#).unwrap(),
            &GROUP,
            &GROUPS,
        )
        .unwrap();
        assert_eq!(
            w.sql,
            "EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = g.id AND \
             (m.member_id IS NOT NULL AND m.member_id = ? COLLATE BINARY))"
        );
        let e = to_sql(
            &parse_filter(r#"members.display eq "x""#).unwrap(),
            &GROUP,
            &GROUPS,
        )
        .unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidFilter));
        assert!(e.detail.contains("members.display"), "{}", e.detail);
    }

    #[test]
    fn invalid_filters_are_refused_before_translation() {
        let e = to_sql(&parse_filter("active gt true").unwrap(), &USER, &USERS).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidFilter));
        let e = to_sql(&parse_filter("nosuch pr").unwrap(), &USER, &USERS).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidFilter));
    }

    #[test]
    fn null_operands_become_presence_tests() {
        assert_eq!(
            sql("title eq null").sql,
            "NOT ((json_extract(u.doc, '$.\"title\"') IS NOT NULL AND json_extract(u.doc, '$.\"title\"') <> ''))"
        );
        assert_eq!(
            sql("active ne null").sql,
            "(json_extract(u.doc, '$.\"active\"') IS NOT NULL)"
        );
    }
}
