//! Attribute paths (RFC 7644 §3.10): `[URN ":"] attrName ["." subAttr]`.

use super::error::{ScimError, ScimResult};
use super::schema::SCHEMAS;
use std::fmt;

/// A reference to an attribute, possibly URN-qualified and possibly naming a sub-attribute.
/// Names are kept as written; comparisons against the schema ignore case.
///
/// A path that is a whole schema URN (a PATCH `path` of
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`, or the same in `attributes`)
/// is represented as `AttrPath { urn: Some(urn), name: "", sub_attr: None }`: see
/// [`AttrPath::is_schema`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// The schema URN when the path was qualified, e.g.
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`.
    pub urn: Option<String>,
    /// Empty only when the path names a whole schema.
    pub name: String,
    pub sub_attr: Option<String>,
}

/// Why a path's text is not a path, and where (byte offset into that text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PathSyntaxError {
    pub offset: usize,
    pub message: String,
}

impl AttrPath {
    pub fn new(name: impl Into<String>) -> Self {
        AttrPath {
            urn: None,
            name: name.into(),
            sub_attr: None,
        }
    }
    pub fn with_sub(name: impl Into<String>, sub: impl Into<String>) -> Self {
        AttrPath {
            urn: None,
            name: name.into(),
            sub_attr: Some(sub.into()),
        }
    }
    pub fn with_urn(mut self, urn: impl Into<String>) -> Self {
        self.urn = Some(urn.into());
        self
    }
    /// The path of a whole schema (an extension, usually).
    pub fn schema(urn: impl Into<String>) -> Self {
        AttrPath {
            urn: Some(urn.into()),
            name: String::new(),
            sub_attr: None,
        }
    }
    /// True when the path names a whole schema rather than an attribute.
    pub fn is_schema(&self) -> bool {
        self.urn.is_some() && self.name.is_empty()
    }

    /// Parse a standalone attribute path, as used in `attributes`, `excludedAttributes` and
    /// `sortBy`. The text of a known schema URN parses as a whole-schema path.
    /// Errors are 400 `invalidPath`.
    pub fn parse(input: &str) -> ScimResult<AttrPath> {
        let text = input.trim();
        if let Some(p) = whole_schema_path(text) {
            return Ok(p);
        }
        parse_attr_path_text(text).map_err(|e| {
            let lead = input.len() - input.trim_start().len();
            ScimError::invalid_path(format!(
                "{} at position {}",
                e.message,
                char_position(input, lead + e.offset)
            ))
        })
    }
}

/// `Some` when `text` is, in any case, the URN of a schema this service provider knows.
pub(crate) fn whole_schema_path(text: &str) -> Option<AttrPath> {
    SCHEMAS
        .iter()
        .any(|s| s.id.eq_ignore_ascii_case(text))
        .then(|| AttrPath::schema(text))
}

/// 1-based character position of a byte offset, for error messages that people read.
pub(crate) fn char_position(input: &str, byte_offset: usize) -> usize {
    let end = byte_offset.min(input.len());
    // Offsets always come from token boundaries, but never trust that enough to panic.
    let end = (0..=end)
        .rev()
        .find(|&i| input.is_char_boundary(i))
        .unwrap_or(0);
    input[..end].chars().count() + 1
}

/// `ATTRNAME = ALPHA *(nameChar)`, `nameChar = "-" / "_" / DIGIT / ALPHA`. A leading `$` is
/// accepted too, because RFC 7643 itself names sub-attributes `$ref`.
fn is_attr_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'$' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Split `[URN ":"] name ["." sub]`. The URN itself contains dots (`...:2.0:User`), so the
/// attribute is split off at the LAST colon and the sub-attribute at the first dot after it.
pub(crate) fn parse_attr_path_text(text: &str) -> Result<AttrPath, PathSyntaxError> {
    let err = |offset: usize, message: String| Err(PathSyntaxError { offset, message });
    if text.is_empty() {
        return err(0, "expected an attribute path".to_string());
    }
    let (urn, rest, rest_at) = match text.rfind(':') {
        Some(i) => {
            let urn = &text[..i];
            let prefixed = urn.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"));
            if urn.len() < 5 || !prefixed {
                return err(0, format!("invalid schema URN in attribute path '{text}'"));
            }
            (Some(urn), &text[i + 1..], i + 1)
        }
        None => (None, text, 0),
    };
    let (name, sub) = match rest.find('.') {
        Some(i) => (&rest[..i], Some((&rest[i + 1..], rest_at + i + 1))),
        None => (rest, None),
    };
    if !is_attr_name(name) {
        return err(
            rest_at,
            format!("invalid attribute name '{name}' in '{text}'"),
        );
    }
    if let Some((sub, at)) = sub
        && !is_attr_name(sub)
    {
        return err(
            at,
            format!("invalid sub-attribute name '{sub}' in '{text}'"),
        );
    }
    Ok(AttrPath {
        urn: urn.map(str::to_string),
        name: name.to_string(),
        sub_attr: sub.map(|(s, _)| s.to_string()),
    })
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            f.write_str(urn)?;
            if self.name.is_empty() {
                return Ok(());
            }
            f.write_str(":")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::ScimType;
    use crate::scim::schema::ENTERPRISE_USER_SCHEMA_ID;

    #[test]
    fn parses_simple_and_sub_attribute_paths() {
        assert_eq!(
            AttrPath::parse("userName").unwrap(),
            AttrPath::new("userName")
        );
        assert_eq!(
            AttrPath::parse("name.familyName").unwrap(),
            AttrPath::with_sub("name", "familyName")
        );
        assert_eq!(
            AttrPath::parse("members.$ref").unwrap(),
            AttrPath::with_sub("members", "$ref")
        );
    }

    #[test]
    fn splits_urn_at_the_last_colon_although_the_urn_has_dots() {
        let p = AttrPath::parse(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        )
        .unwrap();
        assert_eq!(p.urn.as_deref(), Some(ENTERPRISE_USER_SCHEMA_ID));
        assert_eq!(p.name, "manager");
        assert_eq!(p.sub_attr.as_deref(), Some("value"));
        let p = AttrPath::parse(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        )
        .unwrap();
        assert_eq!(p.name, "employeeNumber");
        assert_eq!(p.sub_attr, None);
    }

    #[test]
    fn a_whole_schema_urn_is_a_schema_path() {
        let p =
            AttrPath::parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:user").unwrap();
        assert!(p.is_schema());
        assert_eq!(p.name, "");
        assert_eq!(
            p.to_string(),
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user"
        );
        assert!(!AttrPath::parse("userName").unwrap().is_schema());
    }

    #[test]
    fn rejects_malformed_paths_with_invalid_path_and_a_position() {
        for (bad, pos) in [
            ("", 1),
            ("1abc", 1),
            ("name.", 6),
            ("name.given.family", 6),
            ("a b", 1),
            ("foo:bar", 1),
            ("urn:x:", 7),
            ("  name..x", 8),
            ("{\u{10ea4}.", 1),
            ("\u{10ea4}:x", 1),
        ] {
            let e = AttrPath::parse(bad).unwrap_err();
            assert_eq!(e.scim_type, Some(ScimType::InvalidPath), "{bad}");
            assert!(
                e.detail.ends_with(&format!("at position {pos}")),
                "{bad}: {}",
                e.detail
            );
        }
    }

    #[test]
    fn displays_as_parsed() {
        for s in [
            "userName",
            "name.givenName",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        ] {
            assert_eq!(AttrPath::parse(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        assert_eq!(char_position("é a", 3), 3);
        assert_eq!(char_position("abc", 99), 4);
        assert_eq!(char_position("é", 1), 1);
    }
}
