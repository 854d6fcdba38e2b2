//! Attribute paths (RFC 7644 §3.10): `[URN ":"] attrName ["." subAttr]`.

use super::error::{ScimError, ScimResult};
use std::fmt;

/// A reference to an attribute, possibly URN-qualified and possibly naming a sub-attribute.
/// Names are kept as written; comparisons against the schema ignore case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// The schema URN when the path was qualified, e.g.
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`.
    pub urn: Option<String>,
    pub name: String,
    pub sub_attr: Option<String>,
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

    /// Parse a standalone attribute path, as used in `attributes`, `excludedAttributes` and
    /// `sortBy`.
    pub fn parse(input: &str) -> ScimResult<AttrPath> {
        let _ = input;
        Err(ScimError::invalid_path(
            "attribute paths are not parsed yet",
        ))
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}
