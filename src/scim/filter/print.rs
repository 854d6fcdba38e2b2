//! The canonical text of a filter: lower-case operators, one space between tokens, and
//! parentheses exactly where the AST's shape needs them, so that it parses back to the same AST.

use super::{CompValue, CompareOp, Filter};
use std::fmt::{self, Display, Formatter, Write};

impl CompareOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }
}

impl Display for CompareOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A JSON string literal.
fn write_json_string(f: &mut Formatter<'_>, s: &str) -> fmt::Result {
    f.write_char('"')?;
    let mut run = 0;
    for (i, c) in s.char_indices() {
        let esc = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            c if (c as u32) < 0x20 => None,
            _ => continue,
        };
        f.write_str(&s[run..i])?;
        match esc {
            Some(e) => f.write_str(e)?,
            None => write!(f, "\\u{:04x}", c as u32)?,
        }
        run = i + c.len_utf8();
    }
    f.write_str(&s[run..])?;
    f.write_char('"')
}

impl Display for CompValue {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Null => f.write_str("null"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Number(n) => write!(f, "{n}"),
            CompValue::Str(s) => write_json_string(f, s),
        }
    }
}

impl Display for Filter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let grouped = |f: &mut Formatter<'_>, x: &Filter, parens: bool| {
            if parens {
                write!(f, "({x})")
            } else {
                write!(f, "{x}")
            }
        };
        match self {
            // Left-associative: only a looser operator needs parentheses on the left, while
            // on the right an equally loose one does too.
            Filter::Or(l, r) => {
                grouped(f, l, false)?;
                f.write_str(" or ")?;
                grouped(f, r, matches!(**r, Filter::Or(..)))
            }
            Filter::And(l, r) => {
                grouped(f, l, matches!(**l, Filter::Or(..)))?;
                f.write_str(" and ")?;
                grouped(f, r, matches!(**r, Filter::Or(..) | Filter::And(..)))
            }
            Filter::Not(x) => write!(f, "not ({x})"),
            Filter::Present(p) => write!(f, "{p} pr"),
            Filter::Compare(p, op, v) => write!(f, "{p} {op} {v}"),
            Filter::ValuePath(p, x) => write!(f, "{p}[{x}]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::scim::filter::parse_filter;

    fn canon(s: &str) -> String {
        parse_filter(s).unwrap().to_string()
    }

    #[test]
    fn prints_lower_case_operators_and_only_needed_parentheses() {
        assert_eq!(
            canon(r#"userName EQ "x" AND (title PR OR Active Eq TRUE)"#),
            r#"userName eq "x" and (title pr or Active eq true)"#
        );
        assert_eq!(
            canon(r#"((a eq 1) or (b eq 2)) or c eq 3"#),
            "a eq 1 or b eq 2 or c eq 3"
        );
        assert_eq!(
            canon(r#"a eq 1 or (b eq 2 or c eq 3)"#),
            "a eq 1 or (b eq 2 or c eq 3)"
        );
        assert_eq!(canon(r#"not(a pr)"#), "not (a pr)");
        assert_eq!(
            canon(r#"emails[type eq "work" or primary eq true] and x eq null"#),
            r#"emails[type eq "work" or primary eq true] and x eq null"#
        );
    }

    #[test]
    fn prints_strings_as_json() {
        assert_eq!(
            canon(r#"a eq "q\"\\\/\u0001\n\té""#),
            "a eq \"q\\\"\\\\/\\u0001\\n\\té\""
        );
        assert_eq!(canon("a eq 1.50"), "a eq 1.5");
        assert_eq!(canon("a eq -0"), "a eq 0");
    }
}
