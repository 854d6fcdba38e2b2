//! The filter grammar of RFC 7644 §3.4.2.2 (Figure 1) and the PATCH path grammar of §3.5.2,
//! by recursive descent over a tokenizer that borrows from the input.
//!
//! Leniencies beyond the ABNF, because clients send them: keywords and operators in any case,
//! any run of whitespace where one SP is required, `not(` without the space, and no space
//! between an operator and a quoted value.

use super::{CompValue, CompareOp, Filter, MAX_FILTER_DEPTH, MAX_FILTER_NODES, PatchPath};
use crate::scim::error::{ScimError, ScimResult};
use crate::scim::path::{AttrPath, char_position, parse_attr_path_text, whole_schema_path};

#[derive(Debug, Clone, PartialEq)]
enum Tok<'a> {
    /// A run of path/keyword/number characters: `userName`, `eq`, `-1.5e3`, `urn:...:User`.
    Word(&'a str),
    /// A quoted string, unescaped.
    Str(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    End,
}

fn describe(tok: &Tok<'_>) -> String {
    match tok {
        Tok::Word(w) => format!("'{w}'"),
        Tok::Str(_) => "a string".to_string(),
        Tok::LParen => "'('".to_string(),
        Tok::RParen => "')'".to_string(),
        Tok::LBracket => "'['".to_string(),
        Tok::RBracket => "']'".to_string(),
        Tok::End => "the end of the filter".to_string(),
    }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'$' | b'.' | b':' | b'+')
}

/// Whether an error is about the PATCH path itself (invalidPath) or about its value filter
/// (invalidFilter: RFC 7644 table 9 names invalidFilter for PATCH path filters).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    Filter,
    PatchPath,
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    peeked: Option<(Tok<'a>, usize)>,
    nodes: usize,
    depth: usize,
    in_value_filter: bool,
}

type PResult<T> = Result<T, (usize, String)>;

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        Parser {
            src,
            pos: 0,
            peeked: None,
            nodes: 0,
            depth: 0,
            in_value_filter: false,
        }
    }

    fn lex(&mut self) -> PResult<(Tok<'a>, usize)> {
        let bytes = self.src.as_bytes();
        while self.pos < bytes.len() && bytes[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
        let start = self.pos;
        let Some(&b) = bytes.get(start) else {
            return Ok((Tok::End, start));
        };
        let single = match b {
            b'(' => Some(Tok::LParen),
            b')' => Some(Tok::RParen),
            b'[' => Some(Tok::LBracket),
            b']' => Some(Tok::RBracket),
            _ => None,
        };
        if let Some(t) = single {
            self.pos += 1;
            return Ok((t, start));
        }
        if b == b'"' {
            return self.lex_string(start).map(|s| (Tok::Str(s), start));
        }
        if is_word_byte(b) {
            while self.pos < bytes.len() && is_word_byte(bytes[self.pos]) {
                self.pos += 1;
            }
            return Ok((Tok::Word(&self.src[start..self.pos]), start));
        }
        let c = self.src[start..].chars().next().unwrap_or('?');
        Err((start, format!("unexpected character '{c}'")))
    }

    /// A JSON string (RFC 8259 §7): the escapes of JSON, `\uXXXX` surrogate pairs included.
    fn lex_string(&mut self, start: usize) -> PResult<String> {
        let bytes = self.src.as_bytes();
        let mut i = start + 1;
        let mut out = String::new();
        let mut run = i;
        loop {
            let Some(&b) = bytes.get(i) else {
                return Err((start, "unterminated string".to_string()));
            };
            match b {
                b'"' => {
                    out.push_str(&self.src[run..i]);
                    self.pos = i + 1;
                    return Ok(out);
                }
                b'\\' => {
                    out.push_str(&self.src[run..i]);
                    let esc = bytes.get(i + 1).copied();
                    let simple = match esc {
                        Some(b'"') => Some('"'),
                        Some(b'\\') => Some('\\'),
                        Some(b'/') => Some('/'),
                        Some(b'b') => Some('\u{8}'),
                        Some(b'f') => Some('\u{c}'),
                        Some(b'n') => Some('\n'),
                        Some(b'r') => Some('\r'),
                        Some(b't') => Some('\t'),
                        _ => None,
                    };
                    if let Some(c) = simple {
                        out.push(c);
                        i += 2;
                    } else if esc == Some(b'u') {
                        let (c, next) = self.unicode_escape(i)?;
                        out.push(c);
                        i = next;
                    } else {
                        return Err((i, "invalid escape in string".to_string()));
                    }
                    run = i;
                }
                _ => i += 1,
            }
        }
    }

    /// `\uXXXX` at `at` (the backslash); a high surrogate must be followed by a low one.
    fn unicode_escape(&self, at: usize) -> PResult<(char, usize)> {
        let hex4 = |i: usize| -> Option<u32> {
            let h = self.src.get(i..i + 4)?;
            if h.bytes().all(|b| b.is_ascii_hexdigit()) {
                u32::from_str_radix(h, 16).ok()
            } else {
                None
            }
        };
        let bad = || (at, "invalid \\u escape in string".to_string());
        let hi = hex4(at + 2).ok_or_else(bad)?;
        match hi {
            0xD800..=0xDBFF => {
                if self.src.get(at + 6..at + 8) != Some("\\u") {
                    return Err(bad());
                }
                let lo = hex4(at + 8).ok_or_else(bad)?;
                if !(0xDC00..=0xDFFF).contains(&lo) {
                    return Err(bad());
                }
                let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                Ok((char::from_u32(c).ok_or_else(bad)?, at + 12))
            }
            0xDC00..=0xDFFF => Err(bad()),
            _ => Ok((char::from_u32(hi).ok_or_else(bad)?, at + 6)),
        }
    }

    fn next(&mut self) -> PResult<(Tok<'a>, usize)> {
        match self.peeked.take() {
            Some(t) => Ok(t),
            None => self.lex(),
        }
    }

    fn peek(&mut self) -> PResult<&(Tok<'a>, usize)> {
        if self.peeked.is_none() {
            let t = self.lex()?;
            self.peeked = Some(t);
        }
        Ok(self.peeked.as_ref().expect("just filled"))
    }

    fn peek_keyword(&mut self, kw: &str) -> PResult<bool> {
        Ok(matches!(self.peek()?.0, Tok::Word(w) if w.eq_ignore_ascii_case(kw)))
    }

    fn node(&mut self, at: usize) -> PResult<()> {
        self.nodes += 1;
        if self.nodes > MAX_FILTER_NODES {
            return Err((
                at,
                format!("filter is too large (more than {MAX_FILTER_NODES} nodes)"),
            ));
        }
        Ok(())
    }

    fn enter(&mut self, at: usize) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_FILTER_DEPTH {
            return Err((
                at,
                format!("filter nests too deeply (more than {MAX_FILTER_DEPTH} levels)"),
            ));
        }
        Ok(())
    }

    fn expect(&mut self, want: Tok<'static>, what: &str) -> PResult<()> {
        let (t, at) = self.next()?;
        if t == want {
            Ok(())
        } else {
            Err((at, format!("expected {what} but found {}", describe(&t))))
        }
    }

    /// `FILTER` with `or` binding loosest.
    fn or_expr(&mut self) -> PResult<Filter> {
        let mut left = self.and_expr()?;
        while self.peek_keyword("or")? {
            let (_, at) = self.next()?;
            let right = self.and_expr()?;
            self.node(at)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> PResult<Filter> {
        let mut left = self.unary()?;
        while self.peek_keyword("and")? {
            let (_, at) = self.next()?;
            let right = self.unary()?;
            self.node(at)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn parenthesized(&mut self, open_at: usize) -> PResult<Filter> {
        self.enter(open_at)?;
        let inner = self.or_expr()?;
        self.expect(Tok::RParen, "')'")?;
        self.depth -= 1;
        Ok(inner)
    }

    fn unary(&mut self) -> PResult<Filter> {
        let (tok, at) = self.next()?;
        match tok {
            Tok::LParen => self.parenthesized(at),
            // `not` is a keyword only before `(`, so an attribute called "not" still works.
            Tok::Word(w) if w.eq_ignore_ascii_case("not") && self.peek()?.0 == Tok::LParen => {
                let (_, open_at) = self.next()?;
                let inner = self.parenthesized(open_at)?;
                self.node(at)?;
                Ok(Filter::Not(Box::new(inner)))
            }
            Tok::Word(w) => self.attr_expr(w, at),
            Tok::End => Err((
                at,
                "unexpected end of filter; expected an attribute path, '(' or 'not ('".to_string(),
            )),
            other => Err((
                at,
                format!(
                    "expected an attribute path, '(' or 'not (' but found {}",
                    describe(&other)
                ),
            )),
        }
    }

    fn path(&self, text: &str, at: usize) -> PResult<AttrPath> {
        parse_attr_path_text(text).map_err(|e| (at + e.offset, e.message))
    }

    /// `attrPath SP "pr"`, `attrPath SP compareOp SP compValue`, or `attrPath "[" valFilter "]"`.
    fn attr_expr(&mut self, text: &'a str, at: usize) -> PResult<Filter> {
        let path = self.path(text, at)?;
        let (tok, op_at) = self.next()?;
        let filter = match tok {
            Tok::LBracket => {
                if self.in_value_filter {
                    return Err((op_at, "value filters cannot be nested".to_string()));
                }
                if path.sub_attr.is_some() {
                    return Err((
                        op_at,
                        format!("a value filter needs a multi-valued attribute, not '{path}'"),
                    ));
                }
                let inner = self.value_filter(op_at)?;
                Filter::ValuePath(path, Box::new(inner))
            }
            Tok::Word(op) if op.eq_ignore_ascii_case("pr") => Filter::Present(path),
            Tok::Word(op) if CompareOp::parse(op).is_some() => {
                let op = CompareOp::parse(op).expect("checked");
                let value = self.comp_value()?;
                Filter::Compare(path, op, value)
            }
            other => {
                let found = if other == Tok::End {
                    String::new()
                } else {
                    format!(" but found {}", describe(&other))
                };
                return Err((
                    op_at,
                    format!("expected a comparison operator after '{text}'{found}"),
                ));
            }
        };
        self.node(at)?;
        Ok(filter)
    }

    /// The inside of `[...]`, up to and including the `]`.
    fn value_filter(&mut self, open_at: usize) -> PResult<Filter> {
        self.enter(open_at)?;
        self.in_value_filter = true;
        let inner = self.or_expr()?;
        self.expect(Tok::RBracket, "']'")?;
        self.in_value_filter = false;
        self.depth -= 1;
        Ok(inner)
    }

    /// `compValue = false / null / true / number / string`, keywords in any case.
    fn comp_value(&mut self) -> PResult<CompValue> {
        let (tok, at) = self.next()?;
        match tok {
            Tok::Str(s) => Ok(CompValue::Str(s)),
            Tok::Word(w) if w.eq_ignore_ascii_case("true") => Ok(CompValue::Bool(true)),
            Tok::Word(w) if w.eq_ignore_ascii_case("false") => Ok(CompValue::Bool(false)),
            Tok::Word(w) if w.eq_ignore_ascii_case("null") => Ok(CompValue::Null),
            Tok::Word(w) if is_json_number(w) => json_number(w)
                .map(CompValue::Number)
                .ok_or_else(|| (at, format!("number {w} is out of range"))),
            other => Err((
                at,
                format!(
                    "expected a value (a string in double quotes, a number, true, false or null) but found {}",
                    describe(&other)
                ),
            )),
        }
    }
}

/// `number` of RFC 8259 §6: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn is_json_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.first() == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// The value of a JSON number: an integer when it is written as one and fits, else the
/// nearest f64. Rust's float parsing rounds correctly, so printed floats read back exactly
/// (serde_json's default parser may be one unit in the last place off).
fn json_number(w: &str) -> Option<serde_json::Number> {
    if !w.contains(['.', 'e', 'E']) {
        if let Ok(u) = w.parse::<u64>() {
            return Some(u.into());
        }
        if let Ok(i) = w.parse::<i64>() {
            return Some(i.into());
        }
    }
    serde_json::Number::from_f64(w.parse::<f64>().ok()?)
}

impl CompareOp {
    /// An operator name in any case.
    pub fn parse(s: &str) -> Option<CompareOp> {
        if s.len() != 2 {
            return None;
        }
        Some(match s.to_ascii_lowercase().as_str() {
            "eq" => CompareOp::Eq,
            "ne" => CompareOp::Ne,
            "co" => CompareOp::Co,
            "sw" => CompareOp::Sw,
            "ew" => CompareOp::Ew,
            "gt" => CompareOp::Gt,
            "ge" => CompareOp::Ge,
            "lt" => CompareOp::Lt,
            "le" => CompareOp::Le,
            _ => return None,
        })
    }
}

fn to_error(input: &str, ctx: Context, (at, message): (usize, String)) -> ScimError {
    let detail = format!("{message} at position {}", char_position(input, at));
    match ctx {
        Context::Filter => ScimError::invalid_filter(detail),
        Context::PatchPath => ScimError::invalid_path(detail),
    }
}

/// Parse a filter (the `filter` query parameter). Errors are 400 `invalidFilter` whose
/// detail names the 1-based character position of the problem.
pub fn parse_filter(input: &str) -> ScimResult<Filter> {
    let mut p = Parser::new(input);
    let run = |p: &mut Parser<'_>| -> PResult<Filter> {
        let f = p.or_expr()?;
        match p.next()? {
            (Tok::End, _) => Ok(f),
            (t, at) => Err((
                at,
                format!("unexpected {} after a complete filter", describe(&t)),
            )),
        }
    };
    run(&mut p).map_err(|e| to_error(input, Context::Filter, e))
}

/// Parse a PATCH `path` (RFC 7644 §3.5.2): `attrPath / valuePath [subAttr]`, or a whole schema
/// URN (then `attr.is_schema()`). Errors are 400 `invalidPath`, except a malformed value filter
/// inside `[...]`, which is `invalidFilter` as RFC 7644 table 9 says.
pub fn parse_patch_path(input: &str) -> ScimResult<PatchPath> {
    let text = input.trim();
    if let Some(attr) = whole_schema_path(text) {
        return Ok(PatchPath {
            attr,
            filter: None,
            sub_attr: None,
        });
    }
    let mut p = Parser::new(input);
    let path_err = |e| to_error(input, Context::PatchPath, e);
    let (tok, at) = p.next().map_err(path_err)?;
    let Tok::Word(w) = tok else {
        return Err(path_err((
            at,
            format!("expected an attribute path but found {}", describe(&tok)),
        )));
    };
    let attr = p.path(w, at).map_err(path_err)?;
    let (tok, at) = p.next().map_err(path_err)?;
    let mut out = PatchPath {
        attr,
        filter: None,
        sub_attr: None,
    };
    match tok {
        Tok::End => return Ok(out),
        Tok::LBracket if out.attr.sub_attr.is_none() => {
            let f = p
                .value_filter(at)
                .map_err(|e| to_error(input, Context::Filter, e))?;
            out.filter = Some(f);
        }
        other => {
            return Err(path_err((
                at,
                format!("unexpected {} in a PATCH path", describe(&other)),
            )));
        }
    }
    // Directly after `]`: an optional `.subAttr`, then nothing.
    let bytes = input.as_bytes();
    if bytes.get(p.pos) == Some(&b'.') {
        let (tok, at) = p.next().map_err(path_err)?;
        if let Tok::Word(w) = tok {
            let sub = &w[1..];
            if parse_attr_path_text(sub).is_ok_and(|s| s.urn.is_none() && s.sub_attr.is_none()) {
                out.sub_attr = Some(sub.to_string());
            } else {
                return Err(path_err((at, format!("invalid sub-attribute '{w}'"))));
            }
        }
    }
    match p.next().map_err(path_err)? {
        (Tok::End, _) => Ok(out),
        (t, at) => Err(path_err((
            at,
            format!("unexpected {} after a PATCH path", describe(&t)),
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::ScimType;

    fn p(s: &str) -> Filter {
        parse_filter(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }
    fn cmp(path: AttrPath, op: CompareOp, v: CompValue) -> Filter {
        Filter::Compare(path, op, v)
    }
    fn s(v: &str) -> CompValue {
        CompValue::Str(v.to_string())
    }
    fn and(a: Filter, b: Filter) -> Filter {
        Filter::And(Box::new(a), Box::new(b))
    }
    fn or(a: Filter, b: Filter) -> Filter {
        Filter::Or(Box::new(a), Box::new(b))
    }
    fn err(s: &str) -> ScimError {
        let e = parse_filter(s).expect_err(s);
        assert_eq!(e.status, 400, "{s}");
        assert_eq!(e.scim_type, Some(ScimType::InvalidFilter), "{s}");
        e
    }

    #[test]
    fn parses_every_comparison_operator_and_pr() {
        for (op, want) in [
            ("eq", CompareOp::Eq),
            ("ne", CompareOp::Ne),
            ("co", CompareOp::Co),
            ("sw", CompareOp::Sw),
            ("ew", CompareOp::Ew),
            ("gt", CompareOp::Gt),
            ("ge", CompareOp::Ge),
            ("lt", CompareOp::Lt),
            ("le", CompareOp::Le),
        ] {
            assert_eq!(
                p(&format!("title {op} \"x\"")),
                cmp(AttrPath::new("title"), want, s("x"))
            );
        }
        assert_eq!(p("title pr"), Filter::Present(AttrPath::new("title")));
    }

    #[test]
    fn keywords_and_operators_match_in_any_case() {
        assert_eq!(
            p("userName EQ \"x\""),
            cmp(AttrPath::new("userName"), CompareOp::Eq, s("x"))
        );
        assert_eq!(
            p("a Eq TRUE AND b pR Or NOT (c eq False)"),
            or(
                and(
                    cmp(AttrPath::new("a"), CompareOp::Eq, CompValue::Bool(true)),
                    Filter::Present(AttrPath::new("b"))
                ),
                Filter::Not(Box::new(cmp(
                    AttrPath::new("c"),
                    CompareOp::Eq,
                    CompValue::Bool(false)
                )))
            )
        );
        assert_eq!(
            p("a eq NULL"),
            cmp(AttrPath::new("a"), CompareOp::Eq, CompValue::Null)
        );
    }

    #[test]
    fn and_binds_tighter_than_or_and_parentheses_are_honoured() {
        let a = || cmp(AttrPath::new("a"), CompareOp::Eq, s("1"));
        let b = || cmp(AttrPath::new("b"), CompareOp::Eq, s("2"));
        let c = || cmp(AttrPath::new("c"), CompareOp::Eq, s("3"));
        assert_eq!(
            p(r#"a eq "1" or b eq "2" and c eq "3""#),
            or(a(), and(b(), c()))
        );
        assert_eq!(
            p(r#"(a eq "1" or b eq "2") and c eq "3""#),
            and(or(a(), b()), c())
        );
        assert_eq!(
            p(r#"a eq "1" and (b eq "2" or c eq "3")"#),
            and(a(), or(b(), c()))
        );
        assert_eq!(
            p(r#"a eq "1" and b eq "2" and c eq "3""#),
            and(and(a(), b()), c())
        );
        assert_eq!(p(r#"((a eq "1"))"#), a());
    }

    #[test]
    fn not_takes_parentheses_with_or_without_a_space_and_binds_tightest() {
        let a = || cmp(AttrPath::new("a"), CompareOp::Eq, s("1"));
        let b = || cmp(AttrPath::new("b"), CompareOp::Eq, s("2"));
        let not = |x| Filter::Not(Box::new(x));
        assert_eq!(p(r#"not (a eq "1")"#), not(a()));
        assert_eq!(p(r#"not(a eq "1")"#), not(a()));
        assert_eq!(p(r#"not (a eq "1") and b eq "2""#), and(not(a()), b()));
        // Without parentheses `not` is not the operator: the ABNF requires them.
        let e = err(r#"not a eq "1""#);
        assert!(
            e.detail.contains("comparison operator after 'not'"),
            "{}",
            e.detail
        );
    }

    #[test]
    fn parses_value_paths_sub_attributes_and_urns() {
        assert_eq!(
            p(r#"emails[type eq "work" and value co "@x"]"#),
            Filter::ValuePath(
                AttrPath::new("emails"),
                Box::new(and(
                    cmp(AttrPath::new("type"), CompareOp::Eq, s("work")),
                    cmp(AttrPath::new("value"), CompareOp::Co, s("@x"))
                ))
            )
        );
        assert_eq!(
            p(r#"name.familyName sw "O""#),
            cmp(
                AttrPath::with_sub("name", "familyName"),
                CompareOp::Sw,
                s("O")
            )
        );
        let urn = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        assert_eq!(
            p(&format!("{urn}:employeeNumber eq \"7\"")),
            cmp(
                AttrPath::new("employeeNumber").with_urn(urn),
                CompareOp::Eq,
                s("7")
            )
        );
        assert_eq!(
            p(&format!("{urn}:manager.value eq \"m\"")),
            cmp(
                AttrPath::with_sub("manager", "value").with_urn(urn),
                CompareOp::Eq,
                s("m")
            )
        );
        assert_eq!(
            p(r#"emails[type eq "work"] and userName pr"#),
            and(
                Filter::ValuePath(
                    AttrPath::new("emails"),
                    Box::new(cmp(AttrPath::new("type"), CompareOp::Eq, s("work")))
                ),
                Filter::Present(AttrPath::new("userName"))
            )
        );
    }

    #[test]
    fn decodes_json_string_escapes_including_surrogate_pairs() {
        let v = |f: &str| match p(f) {
            Filter::Compare(_, _, CompValue::Str(s)) => s,
            other => panic!("{other:?}"),
        };
        assert_eq!(v(r#"a eq "q\"b\\s\/f""#), "q\"b\\s/f");
        assert_eq!(v(r#"a eq "\b\f\n\r\t""#), "\u{8}\u{c}\n\r\t");
        assert_eq!(v(r#"a eq "\u00e9\u20AC""#), "é€");
        assert_eq!(v(r#"a eq "\ud83d\ude00!""#), "😀!");
        assert_eq!(v(r#"a eq "héllo wörld""#), "héllo wörld");
        assert_eq!(v(r#"a eq """#), "");
        for bad in [
            r#"a eq "\x""#,
            r#"a eq "\ud83d""#,
            r#"a eq "\ude00""#,
            r#"a eq "\u12""#,
            r#"a eq "\ud83d\u0041""#,
            r#"a eq "open"#,
        ] {
            err(bad);
        }
    }

    #[test]
    fn parses_json_numbers_and_rejects_others() {
        let n = |f: &str| match p(f) {
            Filter::Compare(_, _, CompValue::Number(n)) => n,
            other => panic!("{other:?}"),
        };
        assert_eq!(n("a eq 0").as_u64(), Some(0));
        assert_eq!(n("a eq -12").as_i64(), Some(-12));
        assert_eq!(n("a eq 1.5").as_f64(), Some(1.5));
        assert_eq!(n("a eq 2E+2").as_f64(), Some(200.0));
        assert_eq!(n("a eq 25e-1").as_f64(), Some(2.5));
        assert_eq!(n("a eq 18446744073709551615").as_u64(), Some(u64::MAX));
        assert_eq!(
            n("a eq -9223372036854775809").as_f64(),
            Some(-9223372036854775809.0)
        );
        // Found by the round-trip property: serde_json's default float parsing is inexact.
        assert_eq!(
            n("a eq 3.1286017302311517e227").as_f64(),
            Some(3.1286017302311517e227)
        );
        for bad in [
            "a eq 01",
            "a eq 1.",
            "a eq .5",
            "a eq +1",
            "a eq 1e",
            "a eq -",
            "a eq 1e999",
            "a eq abc",
        ] {
            err(bad);
        }
    }

    #[test]
    fn errors_point_at_the_position() {
        let e = err(r#"userName xx "bjensen""#);
        assert_eq!(
            e.detail,
            "expected a comparison operator after 'userName' but found 'xx' at position 10"
        );
        assert_eq!(
            err("userName").detail,
            "expected a comparison operator after 'userName' at position 9"
        );
        assert!(err(r#"(a eq "1""#).detail.ends_with("at position 10"));
        assert!(err(r#"a eq "1")"#).detail.ends_with("at position 9"));
        assert!(err(r#"a eq "1" or"#).detail.ends_with("at position 12"));
        assert!(err(r#"é eq "1""#).detail.ends_with("at position 1"));
        assert!(err(r#"a eq "é" # "#).detail.ends_with("at position 10"));
        assert!(err("a eq").detail.contains("expected a value"));
        assert!(err("").detail.contains("unexpected end of filter"));
        assert!(
            err("a eq \"x\" b eq \"y\"")
                .detail
                .contains("after a complete filter")
        );
    }

    #[test]
    fn rejects_malformed_filters_without_panicking() {
        for bad in [
            "(",
            ")",
            "[",
            "]",
            "a[",
            "a[b eq 1",
            "a[b eq 1]]",
            "a[b[c eq 1]]",
            "a.b[c eq 1]",
            "not",
            "not (",
            "not ()",
            "a eq 1 and",
            "and a eq 1",
            "a pr pr",
            "a eq \"x\" or or b pr",
            "eq eq eq",
            "\"x\" eq a",
            "a ~ 1",
            "a eq 1.2.3",
            "urn:x: eq 1",
            "a..b eq 1",
            "\u{0}",
            "a eq \"\u{0}",
            "\\",
            "a eq [",
            "a eq (1)",
        ] {
            err(bad);
        }
    }

    #[test]
    fn tolerates_extra_whitespace() {
        assert_eq!(
            p("  userName\teq   \"x\"\n"),
            cmp(AttrPath::new("userName"), CompareOp::Eq, s("x"))
        );
        assert_eq!(
            p(r#"title eq"x""#),
            cmp(AttrPath::new("title"), CompareOp::Eq, s("x"))
        );
    }

    #[test]
    fn bounds_size_and_depth() {
        let clause = r#"a eq "1""#;
        let ok = vec![clause; 500].join(" or ");
        assert!(parse_filter(&ok).is_ok());
        let too_many = vec![clause; 501].join(" or ");
        assert!(err(&too_many).detail.contains("too large"));
        let deep_ok = format!("{}{clause}{}", "(".repeat(64), ")".repeat(64));
        assert!(parse_filter(&deep_ok).is_ok());
        let deep = format!("{}{clause}{}", "(".repeat(65), ")".repeat(65));
        assert!(err(&deep).detail.contains("nests too deeply"));
        let nots = format!("{}{clause}{}", "not (".repeat(100_000), ")".repeat(100_000));
        assert!(err(&nots).detail.contains("nests too deeply"));
        let opens = "(".repeat(1_000_000);
        assert!(err(&opens).detail.contains("nests too deeply"));
    }

    #[test]
    fn an_attribute_may_be_called_like_a_keyword() {
        assert_eq!(
            p(r#"not eq "x""#),
            cmp(AttrPath::new("not"), CompareOp::Eq, s("x"))
        );
        assert_eq!(
            p(r#"or eq "x" or and pr"#),
            or(
                cmp(AttrPath::new("or"), CompareOp::Eq, s("x")),
                Filter::Present(AttrPath::new("and"))
            )
        );
    }

    #[test]
    fn parses_patch_paths() {
        let pp = parse_patch_path("name.givenName").unwrap();
        assert_eq!(pp.attr, AttrPath::with_sub("name", "givenName"));
        assert!(pp.filter.is_none() && pp.sub_attr.is_none());

        let pp = parse_patch_path(r#"members[value eq "2819c223"]"#).unwrap();
        assert_eq!(pp.attr, AttrPath::new("members"));
        assert_eq!(
            pp.filter,
            Some(cmp(AttrPath::new("value"), CompareOp::Eq, s("2819c223")))
        );
        assert_eq!(pp.sub_attr, None);

        let pp = parse_patch_path(r#"emails[type eq "work"].value"#).unwrap();
        assert_eq!(pp.attr, AttrPath::new("emails"));
        assert_eq!(pp.sub_attr.as_deref(), Some("value"));

        let urn = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let pp = parse_patch_path(urn).unwrap();
        assert!(pp.attr.is_schema());
        assert_eq!(pp.attr.urn.as_deref(), Some(urn));
        let pp = parse_patch_path(&format!("{urn}:manager.value")).unwrap();
        assert_eq!(pp.attr.name, "manager");
        assert_eq!(pp.attr.sub_attr.as_deref(), Some("value"));
        let pp = parse_patch_path("urn:ietf:params:scim:schemas:core:2.0:Group").unwrap();
        assert!(pp.attr.is_schema());
    }

    #[test]
    fn bad_patch_paths_are_invalid_path_and_bad_value_filters_invalid_filter() {
        for bad in [
            "",
            "1a",
            "emails[type eq \"work\"]value",
            "emails[type eq \"work\"].",
            "emails[type eq \"work\"].a.b",
            "name.givenName[x eq 1]",
            "emails[type eq \"w\"] x",
            "emails x",
            "(a)",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:",
        ] {
            let e = parse_patch_path(bad).expect_err(bad);
            assert_eq!(e.scim_type, Some(ScimType::InvalidPath), "{bad}: {e}");
        }
        for bad in [
            "emails[type eq]",
            "emails[type eq \"w\"",
            "emails[]",
            "emails[a[b pr]]",
        ] {
            let e = parse_patch_path(bad).expect_err(bad);
            assert_eq!(e.scim_type, Some(ScimType::InvalidFilter), "{bad}: {e}");
        }
    }
}
