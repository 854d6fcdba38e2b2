//! The filter grammar of RFC 7644 §3.4.2.2 (Figure 1) and the PATCH path grammar of §3.5.2,
//! by recursive descent over a tokenizer that borrows from the input.
//!
//! Leniencies beyond the ABNF, because clients send them: keywords and operators in any case,
//! any run of whitespace where one SP is required, `not(` without the space, no space
//! between an operator and a quoted value, and a value path followed by a sub-attribute and a
//! comparison (`emails[type eq "work"].value eq "x"`, Microsoft Entra's lookup by work email),
//! read as the one value filter that holds both conditions.

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
                match self.sub_attr_after_bracket()? {
                    None => Filter::ValuePath(path, Box::new(inner)),
                    // `emails[type eq "work"].value eq "x"` (Entra's lookup by work email):
                    // one element must satisfy both, which is the value filter that holds
                    // both conditions, so the rest of the system sees a shape it knows.
                    Some((sub, sub_at)) => {
                        let named = format!("{}.{sub}", &self.src[at..sub_at - 1]);
                        let condition = self.condition(AttrPath::new(sub), &named)?;
                        self.node(sub_at)?;
                        self.node(sub_at)?;
                        let both = Filter::And(Box::new(inner), Box::new(condition));
                        Filter::ValuePath(path, Box::new(both))
                    }
                }
            }
            other => {
                self.peeked = Some((other, op_at));
                self.condition(path, text)?
            }
        };
        self.node(at)?;
        Ok(filter)
    }

    /// `SP "pr"` or `SP compareOp SP compValue` after the path `text`.
    fn condition(&mut self, path: AttrPath, text: &str) -> PResult<Filter> {
        let (tok, op_at) = self.next()?;
        match tok {
            Tok::Word(op) if op.eq_ignore_ascii_case("pr") => Ok(Filter::Present(path)),
            Tok::Word(op) if CompareOp::parse(op).is_some() => {
                let op = CompareOp::parse(op).expect("checked");
                let value = self.comp_value()?;
                Ok(Filter::Compare(path, op, value))
            }
            other => {
                let found = if other == Tok::End {
                    String::new()
                } else {
                    format!(" but found {}", describe(&other))
                };
                Err((
                    op_at,
                    format!("expected a comparison operator after '{text}'{found}"),
                ))
            }
        }
    }

    /// The `.subAttr` directly after the `]` of a value filter (no space before or after the
    /// dot), with its offset; `None` when the next character is not a dot.
    fn sub_attr_after_bracket(&mut self) -> PResult<Option<(&'a str, usize)>> {
        if self.peeked.is_some() || self.src.as_bytes().get(self.pos) != Some(&b'.') {
            return Ok(None);
        }
        let (tok, at) = self.next()?;
        let Tok::Word(w) = tok else {
            return Err((
                at,
                format!("expected a sub-attribute but found {}", describe(&tok)),
            ));
        };
        let sub = &w[1..];
        if parse_attr_path_text(sub).is_ok_and(|s| s.urn.is_none() && s.sub_attr.is_none()) {
            Ok(Some((sub, at + 1)))
        } else {
            Err((at, format!("invalid sub-attribute '{w}' after ']'")))
        }
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
    if let Some((sub, _)) = p.sub_attr_after_bracket().map_err(path_err)? {
        out.sub_attr = Some(sub.to_string());
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
#[path = "parse_tests.rs"]
mod tests;
