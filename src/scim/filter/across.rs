//! Filters over several resource types at once (a POST `/.search` at the root).
//!
//! RFC 7644 §3.4.2.1: "For filtered attributes that are not part of a particular resource
//! type, the service provider SHALL treat the attribute as if there is no attribute value."
//! So each comparison on an attribute that a type lacks is decided once, as the in-memory
//! evaluator decides it for an unassigned attribute (`pr` and `eq "x"` are false, `ne "x"` and
//! `eq null` true), and the filter is simplified around it: what remains names only the type's
//! own attributes and goes to the store like any other filter. An attribute that no type has
//! is still a typo, and still a 400.

use super::{Filter, matches, resolve};
use crate::scim::error::{ScimError, ScimResult};
use crate::scim::path::AttrPath;
use crate::scim::schema::ResourceTypeDef;
use serde_json::Value;

/// What a filter asks of one resource type.
#[derive(Debug, Clone, PartialEq)]
pub enum Scoped {
    /// No resource of the type can match.
    Nothing,
    /// Every resource of the type matches.
    Everything,
    /// The resources that match this filter, which names only the type's attributes.
    Matching(Filter),
}

/// The attribute a leaf of the filter reads; `None` for `and`, `or` and `not`.
fn leaf_path(filter: &Filter) -> Option<&AttrPath> {
    match filter {
        Filter::Present(p) | Filter::Compare(p, ..) | Filter::ValuePath(p, _) => Some(p),
        Filter::And(..) | Filter::Or(..) | Filter::Not(_) => None,
    }
}

/// The filter as it applies to resources of type `rt`.
pub fn scope(filter: &Filter, rt: &ResourceTypeDef) -> Scoped {
    use Scoped::{Everything, Matching, Nothing};
    match filter {
        Filter::And(a, b) => match (scope(a, rt), scope(b, rt)) {
            (Nothing, _) | (_, Nothing) => Nothing,
            (Everything, x) | (x, Everything) => x,
            (Matching(a), Matching(b)) => Matching(Filter::And(Box::new(a), Box::new(b))),
        },
        Filter::Or(a, b) => match (scope(a, rt), scope(b, rt)) {
            (Everything, _) | (_, Everything) => Everything,
            (Nothing, x) | (x, Nothing) => x,
            (Matching(a), Matching(b)) => Matching(Filter::Or(Box::new(a), Box::new(b))),
        },
        Filter::Not(x) => match scope(x, rt) {
            Nothing => Everything,
            Everything => Nothing,
            Matching(f) => Matching(Filter::Not(Box::new(f))),
        },
        leaf => {
            let path = leaf_path(leaf).expect("a leaf");
            if resolve(path, rt).is_some() {
                Matching(leaf.clone())
            } else if matches(leaf, &Value::Null, rt) {
                Everything
            } else {
                Nothing
            }
        }
    }
}

/// Every attribute the filter names belongs to at least one of `types`: 400 `invalidFilter`
/// naming the first that belongs to none.
pub fn check_known_to_some(filter: &Filter, types: &[&ResourceTypeDef]) -> ScimResult<()> {
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => {
            check_known_to_some(a, types)?;
            check_known_to_some(b, types)
        }
        Filter::Not(x) => check_known_to_some(x, types),
        leaf => {
            let path = leaf_path(leaf).expect("a leaf");
            if types.iter().any(|rt| resolve(path, rt).is_some()) {
                Ok(())
            } else {
                let names: Vec<&str> = types.iter().map(|rt| rt.name).collect();
                Err(ScimError::invalid_filter(format!(
                    "unknown attribute '{path}': no resource type searched ({}) has it",
                    names.join(", ")
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::ScimType;
    use crate::scim::filter::parse_filter;
    use crate::scim::schema::{GROUP, USER};

    fn on(text: &str, rt: &ResourceTypeDef) -> Scoped {
        scope(&parse_filter(text).unwrap(), rt)
    }
    fn kept(text: &str) -> Scoped {
        Scoped::Matching(parse_filter(text).unwrap())
    }

    #[test]
    fn an_attribute_the_type_lacks_has_no_value() {
        assert_eq!(on(r#"userName eq "a""#, &GROUP), Scoped::Nothing);
        assert_eq!(on("userName pr", &GROUP), Scoped::Nothing);
        assert_eq!(on(r#"userName ne "a""#, &GROUP), Scoped::Everything);
        assert_eq!(on("userName eq null", &GROUP), Scoped::Everything);
        assert_eq!(on("userName ne null", &GROUP), Scoped::Nothing);
        assert_eq!(on(r#"emails[type eq "work"]"#, &GROUP), Scoped::Nothing);
        assert_eq!(on(r#"members eq "u1""#, &USER), Scoped::Nothing);
        assert_eq!(on("not (userName pr)", &GROUP), Scoped::Everything);
    }

    #[test]
    fn the_rest_of_the_filter_is_kept_and_simplified_around_it() {
        let f = r#"userName eq "a" or displayName sw "Eng""#;
        assert_eq!(on(f, &USER), kept(f));
        assert_eq!(on(f, &GROUP), kept(r#"displayName sw "Eng""#));
        let f = r#"displayName sw "Eng" and not (userName pr)"#;
        assert_eq!(on(f, &GROUP), kept(r#"displayName sw "Eng""#));
        assert_eq!(on(f, &USER), kept(f));
        let f = r#"userName eq "a" and displayName sw "Eng""#;
        assert_eq!(on(f, &GROUP), Scoped::Nothing);
        let f = r#"userName ne "a" or displayName sw "Eng""#;
        assert_eq!(on(f, &GROUP), Scoped::Everything);
        let f = r#"not (members pr and displayName eq "x")"#;
        assert_eq!(on(f, &USER), Scoped::Everything);
        assert_eq!(on(f, &GROUP), kept(f));
    }

    #[test]
    fn an_attribute_that_no_type_has_is_an_invalid_filter() {
        let both = [&USER, &GROUP];
        for ok in [
            r#"userName eq "a" or members eq "b""#,
            "meta.created pr",
            r#"not (emails[type eq "work"].value pr)"#,
        ] {
            check_known_to_some(&parse_filter(ok).unwrap(), &both).unwrap();
        }
        let f = parse_filter(r#"displayName eq "a" or shoeSize gt 40"#).unwrap();
        let e = check_known_to_some(&f, &both).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidFilter));
        assert!(e.detail.contains("'shoeSize'"), "{}", e.detail);
        assert!(e.detail.contains("User, Group"), "{}", e.detail);
        let f = parse_filter(r#"name.nope eq "a""#).unwrap();
        assert!(check_known_to_some(&f, &both).is_err());
        // Known to Users only: fine across both, an error on Groups alone.
        let f = parse_filter(r#"userName eq "a""#).unwrap();
        assert!(check_known_to_some(&f, &[&GROUP]).is_err());
    }
}
