//! Translation of a validated filter to an SQL `WHERE` condition with bound parameters.
//!
//! The store describes where attributes live through [`SqlMapping`]: a scalar expression over
//! the resource's row (a promoted column or a JSON extract), or, for a multi-valued
//! attribute, a row source (`json_each` over the document, or a table such as group members)
//! with an expression per sub-attribute. [`JsonMapping`](super::JsonMapping) (`mapping.rs`)
//! is such a mapping for a row that holds the canonical document as JSON, plus promoted
//! columns and child tables.
//!
//! The semantics are those of `eval.rs`, clause by clause; `tests/filter_sql.rs` checks that
//! on random resources. Every condition generated here is two-valued (never SQL NULL), so that
//! `NOT` agrees with the in-memory evaluator on unassigned attributes.
//!
//! Expectations on the data: dateTime values are stored as `datetime::format` text (fixed
//! width UTC, so text order is time order), booleans as JSON true/false or 0/1, and JSON
//! documents in canonical form (schema spelling of names, multi-valued attributes as arrays).
//!
//! Two dialects ([`Dialect`]). SQLite: `?` placeholders, NOCASE/BINARY collations, LIKE
//! (which ignores ASCII case) for the case-insensitive substring operators, instr/substr for
//! the case-exact ones. PostgreSQL: `$n` placeholders; case-insensitive text is compared as
//! `lower((x) COLLATE "C")` against an operand lowered here, so that both fold ASCII letters
//! only, as the evaluator does, and so that `lower()` expression indexes serve `eq`; the
//! substring operators are LIKE (case-sensitive in PostgreSQL, and served by pg_trgm GIN
//! indexes) on that same text; ordering is bytewise (`COLLATE "C"`, the evaluator's order
//! whatever the database's locale). PostgreSQL text cannot hold NUL, so an operand with one is
//! decided here (nothing stored equals it; order against its prefix).

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

/// The SQL dialect (see the module's header for how they differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Dialect {
    #[default]
    Sqlite,
    /// Expressions of a mapping are text (JSON values through `->>`): booleans compare as
    /// their text, numbers through a guarded cast.
    Postgres,
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
    /// For a multi-valued attribute: an expression over the resource's row whose text
    /// contains every value of `sub` with ASCII letters lowered (typically indexed, e.g. by
    /// a trigram index). `eq`, `co`, `sw` and `ew` then add `prefilter LIKE '%operand%'` as
    /// a necessary condition that an index can answer before the exact test runs.
    fn prefilter(&self, _attr: &AttrRef, _sub: Option<&'static AttributeDef>) -> Option<String> {
        None
    }
    /// For a multi-valued attribute: an expression over the resource's row of an array (text[])
    /// holding every value of `sub` with ASCII letters lowered (typically GIN-indexed). `eq`
    /// then adds `value_set @> ARRAY[operand]`, an exact necessary condition, in place of the
    /// [`Self::prefilter`] (a long operand shares common trigrams with every row).
    fn value_set(&self, _attr: &AttrRef, _sub: Option<&'static AttributeDef>) -> Option<String> {
        None
    }
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
    fn param(&mut self, p: SqlParam) -> String {
        self.out.params.push(p);
        match self.map.dialect() {
            Dialect::Sqlite => "?".to_string(),
            Dialect::Postgres => format!("${}", self.out.params.len()),
        }
    }
    fn postgres(&self) -> bool {
        self.map.dialect() == Dialect::Postgres
    }

    /// `{x} LIKE {pattern}` with `\` escaping (PostgreSQL's default escape character).
    fn like(&mut self, x: &str, pattern: String) {
        let p = self.param(SqlParam::Text(pattern));
        let _ = match self.map.dialect() {
            Dialect::Sqlite => write!(self.out.sql, "{x} LIKE {p} ESCAPE '\\'"),
            Dialect::Postgres => write!(self.out.sql, "{x} LIKE {p}"),
        };
    }

    /// Opens `(value_set @> ARRAY[operand] AND ` (eq) or `(prefilter LIKE '%operand%' AND `
    /// for each text test that the mapping can prefilter; returns how many it opened (each
    /// needs a closing parenthesis).
    fn open_prefilters(&mut self, a: &AttrRef, tests: &[TextTest<'_>]) -> usize {
        let mut opened = 0;
        for (sub, op, operand) in tests {
            if operand.contains('\0') {
                continue;
            }
            let lowered = operand.to_ascii_lowercase();
            if *op == CompareOp::Eq
                && let Some(set) = self.map.value_set(a, Some(sub))
            {
                let p = self.param(SqlParam::Text(lowered));
                let _ = write!(self.out.sql, "({set} @> ARRAY[{p}]::text[] AND ");
                opened += 1;
            } else if let Some(pre) = self.map.prefilter(a, Some(sub)) {
                self.push("(");
                self.like(&pre, format!("%{}%", like_escape(&lowered)));
                self.push(" AND ");
                opened += 1;
            }
        }
        opened
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
                        let mut tests = Vec::new();
                        required_text_tests(inner, a.attr, &mut tests);
                        let opened = self.open_prefilters(&a, &tests);
                        self.exists_open(&from, correlate.as_deref());
                        self.element(inner, &a)?;
                        self.push(")");
                        self.push(&")".repeat(opened));
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
                    self.push(if self.postgres() {
                        "true) OR "
                    } else {
                        "1) OR "
                    });
                    self.exists_open(&from, correlate.as_deref());
                    self.compare_leaf(&x, def, op, v);
                    self.push("))");
                } else {
                    let tests: Vec<TextTest<'_>> = match (leaf, v) {
                        (Some(sub), CompValue::Str(s)) if is_text_match(op) && is_string(sub) => {
                            vec![(sub, op, s)]
                        }
                        _ => Vec::new(),
                    };
                    let opened = self.open_prefilters(&a, &tests);
                    self.exists_open(&from, correlate.as_deref());
                    self.compare_leaf(&x, def, op, v);
                    self.push(")");
                    self.push(&")".repeat(opened));
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
                if self.postgres() {
                    let p = self.param(SqlParam::Text(b.to_string()));
                    let _ = write!(self.out.sql, "({x})::text = {p}");
                } else {
                    let p = self.param(SqlParam::Bool(*b));
                    let _ = write!(self.out.sql, "{x} = {p}");
                }
            }
            (_, CompValue::Number(n)) => {
                let param = match n.as_i64() {
                    Some(i) => SqlParam::Int(i),
                    None => SqlParam::Real(n.as_f64().unwrap_or(f64::NAN)),
                };
                let p = self.param(param);
                if self.postgres() {
                    // A cast of text that is not a number would fail the whole query: only
                    // JSON numbers are compared, anything else does not match.
                    let _ = write!(
                        self.out.sql,
                        "coalesce(CASE WHEN ({x})::text ~ '{JSON_NUMBER}' \
                         THEN ({x})::text::numeric END {sym} {p}, false)"
                    );
                } else {
                    let _ = write!(self.out.sql, "{x} {sym} {p}");
                }
            }
            (_, CompValue::Str(s)) if self.postgres() => {
                self.compare_text_pg(x, def.case_exact, op, sym, s)
            }
            (_, CompValue::Str(s)) => self.compare_text(x, def.case_exact, op, sym, s),
            // validate() rules the other combinations out.
            _ => self.push(self.never()),
        }
        self.push(")");
    }

    /// A condition that is always false.
    fn never(&self) -> &'static str {
        if self.postgres() { "false" } else { "0" }
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
                self.like(x, pattern);
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

    fn compare_text_pg(&mut self, x: &str, case_exact: bool, op: CompareOp, sym: &str, s: &str) {
        let (subject, operand) = if case_exact {
            (format!("({x}) COLLATE \"C\""), s.to_string())
        } else {
            (
                format!("lower(({x}) COLLATE \"C\")"),
                s.to_ascii_lowercase(),
            )
        };
        if let Some(nul) = operand.find('\0') {
            // Stored text has no NUL: nothing equals or contains the operand, and in byte
            // order it sits just above its prefix before the NUL.
            let sym = match op {
                CompareOp::Gt | CompareOp::Ge => ">",
                CompareOp::Lt | CompareOp::Le => "<=",
                _ => {
                    self.push("false");
                    return;
                }
            };
            let p = self.param(SqlParam::Text(operand[..nul].to_string()));
            let _ = write!(self.out.sql, "{subject} {sym} {p}");
            return;
        }
        match op {
            CompareOp::Co | CompareOp::Sw | CompareOp::Ew => {
                let body = like_escape(&operand);
                let pattern = match op {
                    CompareOp::Co => format!("%{body}%"),
                    CompareOp::Sw => format!("{body}%"),
                    _ => format!("%{body}"),
                };
                self.like(&subject, pattern);
            }
            _ => {
                let p = self.param(SqlParam::Text(operand));
                let _ = write!(self.out.sql, "{subject} {sym} {p}");
            }
        }
    }

    /// Stored dates are `datetime::format` text with millisecond precision. An operand with a
    /// finer fraction lies strictly between two stored values, so compare with the
    /// millisecond below it.
    fn compare_date(&mut self, x: &str, op: CompareOp, sym: &str, s: &str) {
        let Some(t) = datetime::parse(s) else {
            self.push(self.never());
            return;
        };
        let floor = datetime::format(t);
        let sym = if t.0.rem_euclid(1_000_000) == 0 {
            sym
        } else {
            match op {
                CompareOp::Gt | CompareOp::Ge => ">",
                CompareOp::Lt | CompareOp::Le => "<=",
                _ => {
                    self.push(self.never());
                    return;
                }
            }
        };
        let p = self.param(SqlParam::Text(floor));
        let _ = if self.postgres() {
            write!(self.out.sql, "({x}) COLLATE \"C\" {sym} {p}")
        } else {
            write!(self.out.sql, "{x} {sym} {p} COLLATE BINARY")
        };
    }
}

/// A JSON number's text, as PostgreSQL prints a jsonb number.
const JSON_NUMBER: &str = r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$";

/// Whether values of `d` are compared as text (dateTimes are not: they compare as instants).
fn is_string(d: &AttributeDef) -> bool {
    matches!(
        d.ty,
        AttrType::String | AttrType::Reference | AttrType::Binary
    )
}

/// The operators that, on a string, hold only if the value contains the operand's text.
fn is_text_match(op: CompareOp) -> bool {
    matches!(
        op,
        CompareOp::Eq | CompareOp::Co | CompareOp::Sw | CompareOp::Ew
    )
}

/// A text comparison of a sub-attribute: eq, co, sw or ew with its operand.
type TextTest<'f> = (&'static AttributeDef, CompareOp, &'f str);

/// The text tests on sub-attributes of `attr` that an element must pass for the value filter
/// `f` to hold: those joined by `and` at its top, not under `or` or `not`.
fn required_text_tests<'f>(
    f: &'f Filter,
    attr: &'static AttributeDef,
    out: &mut Vec<TextTest<'f>>,
) {
    match f {
        Filter::And(a, b) => {
            required_text_tests(a, attr, out);
            required_text_tests(b, attr, out);
        }
        Filter::Compare(p, op, CompValue::Str(s)) if is_text_match(*op) && p.sub_attr.is_none() => {
            if let Some(sub) = attr.sub(&p.name).filter(|d| is_string(d)) {
                out.push((sub, *op, s));
            }
        }
        _ => {}
    }
}

fn resolved(p: &crate::scim::path::AttrPath, rt: &ResourceTypeDef) -> ScimResult<Resolved> {
    resolve(p, rt).ok_or_else(|| ScimError::invalid_filter(format!("unknown attribute '{p}'")))
}

#[cfg(test)]
mod tests {
    use super::super::mapping::{JsonMapping, TableAttr};
    use super::*;
    use crate::scim::ScimType;
    use crate::scim::filter::parse_filter;
    use crate::scim::schema::{GROUP, USER};

    const USERS: JsonMapping<'static> = JsonMapping {
        dialect: Dialect::Sqlite,
        doc: "u.doc",
        columns: &[
            ("userName", "u.user_name"),
            ("externalId", "u.external_id"),
            ("meta.created", "u.created_at"),
        ],
        tables: &[],
        prefilters: &[],
        value_sets: &[],
        row_alias: "v",
    };
    const GROUPS: JsonMapping<'static> = JsonMapping {
        dialect: Dialect::Sqlite,
        doc: "g.doc",
        columns: &[("displayName", "g.display_name")],
        tables: &[TableAttr {
            attr: "members",
            from: "group_members m",
            correlate: "m.group_id = g.id",
            element: "m.member_id",
            subs: &[("value", "m.member_id")],
        }],
        prefilters: &[],
        value_sets: &[],
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

    const PG_USERS: JsonMapping<'static> = JsonMapping {
        dialect: Dialect::Postgres,
        prefilters: &[("emails.value", "scimdesk_email_values(u.doc)")],
        value_sets: &[("emails.value", "scimdesk_email_set(u.doc)")],
        ..USERS
    };

    fn pg(f: &str) -> SqlWhere {
        to_sql(&parse_filter(f).unwrap(), &USER, &PG_USERS).unwrap_or_else(|e| panic!("{f}: {e}"))
    }

    #[test]
    fn postgres_compares_lowered_c_text_against_a_lowered_operand() {
        let w = pg(r#"userName eq "BJensen""#);
        assert_eq!(
            w.sql,
            r#"(u.user_name IS NOT NULL AND lower((u.user_name) COLLATE "C") = $1)"#
        );
        assert_eq!(w.params, vec![text("bjensen")]);
        // Only ASCII letters fold, as in the evaluator.
        assert_eq!(pg(r#"title gt "ÉA""#).params, vec![text("Éa")]);
        let w = pg(r#"externalId lt "E" and title co "50%_off\\""#);
        assert!(
            w.sql.contains(r#"(u.external_id) COLLATE "C" < $1"#),
            "{}",
            w.sql
        );
        assert!(
            w.sql
                .contains(r#"lower(((u.doc->>'title')) COLLATE "C") LIKE $2"#),
            "{}",
            w.sql
        );
        assert_eq!(w.params[1], text(r"%50\%\_off\\%"));
        // caseExact substring tests are LIKE too: PostgreSQL's LIKE is case-sensitive.
        assert!(pg(r#"id sw "A""#).sql.contains(r#"COLLATE "C" LIKE $1"#));
    }

    #[test]
    fn postgres_reads_jsonb_as_text_and_numbers_through_a_guard() {
        let w = pg(r#"emails[type eq "work"] and active eq true"#);
        assert!(
            w.sql
                .contains("jsonb_array_elements(CASE WHEN jsonb_typeof(u.doc->'emails') = 'array'"),
            "{}",
            w.sql
        );
        assert!(w.sql.contains("(v.value->>'type')"), "{}", w.sql);
        assert!(
            w.sql.contains("((u.doc->>'active'))::text = $2"),
            "{}",
            w.sql
        );
        assert_eq!(w.params[1], text("true"));
        let w = pg(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "it's""#,
        );
        assert!(
            w.sql.contains(
                "(u.doc->'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'->'manager'->>'value')"
            ),
            "{}",
            w.sql
        );
        assert_eq!(w.params, vec![text("it's")]);
    }

    #[test]
    fn postgres_prefilters_emails_where_every_match_needs_the_text() {
        // eq through the value set, the others through the text.
        let w = pg(r#"emails.value eq "A@X.io""#);
        assert!(
            w.sql
                .starts_with("(scimdesk_email_set(u.doc) @> ARRAY[$1]::text[] AND EXISTS ("),
            "{}",
            w.sql
        );
        assert_eq!(w.params[0], text("a@x.io"));
        let w = pg(r#"emails co "X.io""#);
        assert!(
            w.sql
                .starts_with("(scimdesk_email_values(u.doc) LIKE $1 AND EXISTS ("),
            "{}",
            w.sql
        );
        assert_eq!(w.params[0], text("%x.io%"));
        let w = pg(r#"emails[type eq "work" and value sw "b_"]"#);
        assert!(
            w.sql
                .starts_with("(scimdesk_email_values(u.doc) LIKE $1 AND EXISTS (")
        );
        assert_eq!(w.params[0], text(r"%b\_%"));
        // Not where a match needs no such text.
        for f in [
            r#"emails.value ne "a""#,
            r#"emails[value eq "a" or type eq "work"]"#,
            r#"emails[not (value eq "a")]"#,
            r#"emails.type eq "work""#,
        ] {
            assert!(!pg(f).sql.contains("scimdesk_email_values"), "{f}");
        }
        assert!(
            !sql(r#"emails.value eq "a""#)
                .sql
                .contains("scimdesk_email_values")
        );
    }

    #[test]
    fn postgres_decides_operands_with_nul() {
        assert_eq!(
            pg("title eq \"a\u{0}b\"").sql,
            "((u.doc->>'title') IS NOT NULL AND false)"
        );
        let w = pg("userName ge \"Ab\u{0}c\"");
        assert!(w.sql.ends_with(r#"COLLATE "C") > $1)"#), "{}", w.sql);
        assert_eq!(w.params, vec![text("ab")]);
    }
}
