//! SCIM filters (RFC 7644 §3.4.2.2): parsed once into an AST that is evaluated in memory
//! (PATCH value paths, tests) and translated to SQL (list queries).

use super::path::AttrPath;

mod across;
mod eval;
mod mapping;
mod parse;
mod print;
#[cfg(test)]
mod proptests;
mod sql;

pub use across::{Scoped, check_known_to_some, scope};
pub use eval::{Resolved, matches, matches_element, resolve, validate, validate_element};
pub use mapping::{JsonMapping, TableAttr};
pub use parse::{parse_filter, parse_patch_path};
pub use sql::{AttrRef, Dialect, SqlAttr, SqlMapping, SqlParam, SqlWhere, to_sql};

/// Upper bound on AST nodes, so that a hostile filter cannot exhaust memory or stack.
pub const MAX_FILTER_NODES: usize = 1000;
/// Upper bound on nesting (parentheses, `not`, `[...]`), so that recursion over the AST
/// cannot overflow the stack.
pub const MAX_FILTER_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `attrPath pr`
    Present(AttrPath),
    /// `attrPath compareOp compValue`
    Compare(AttrPath, CompareOp, CompValue),
    /// `attrPath "[" valFilter "]"`: the inner filter's paths are relative to the
    /// sub-attributes of the (multi-valued, complex) attribute.
    ValuePath(AttrPath, Box<Filter>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// `compValue = false / null / true / number / string`
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    Str(String),
}

/// A PATCH path (RFC 7644 §3.5.2): `attrPath / valuePath [subAttr]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute; its `sub_attr` is set only when there is no value filter
    /// (`name.givenName`).
    pub attr: AttrPath,
    /// The value filter of `emails[type eq "work"]`.
    pub filter: Option<Filter>,
    /// The sub-attribute after a value filter: `emails[type eq "work"].value`.
    pub sub_attr: Option<String>,
}
