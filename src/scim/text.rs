//! What text a SCIM resource may hold (issue 23, items 5, 6 and 10): lengths, and no
//! characters that act on a terminal or hide what an approver reads. Pure; the SCIM write path
//! checks every created or changed resource with [`check_resource`], and the CLI escapes what
//! it prints with [`escape_controls`].

use super::{ScimError, ScimResult};
use serde_json::Value;
use std::borrow::Cow;
use unicode_normalization::{UnicodeNormalization, is_nfkc};

/// Characters of a userName (and of an email address): RFC 5321 allows 254 for an address.
pub const MAX_USER_NAME_CHARS: usize = 256;
/// Characters of a name: displayName, the parts of `name`, nickName, a group's displayName,
/// externalId.
pub const MAX_NAME_CHARS: usize = 1024;
/// Characters of any other string value.
pub const MAX_STRING_CHARS: usize = 8192;

/// The attributes that name a person or group to an approver: invisible and bidi-control
/// characters are refused in them as well as control characters.
const NAMING: &[&str] = &[
    "userName",
    "displayName",
    "nickName",
    "externalId",
    "name",
    "emails",
];

/// Control characters (C0 but tab, line feed and carriage return; DEL; C1), which a terminal
/// acts on: an escape sequence in a userName would reach the admin's terminal.
pub fn is_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// Characters that change how text reads without being seen: zero-width characters, the
/// bidirectional controls (RFC 8264's PRECIS classes disallow them in identifiers), soft
/// hyphen, word joiners, the byte-order mark.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{FFF0}'..='\u{FFF8}' | '\u{E0000}'..='\u{E0FFF}')
}

/// Refuses a resource whose strings are too long or hold control characters, or whose naming
/// attributes hold invisible or bidi-control characters: 400 `invalidValue` naming the
/// attribute and the character.
pub fn check_resource(resource: &Value) -> ScimResult<()> {
    let Value::Object(map) = resource else {
        return Ok(());
    };
    map.iter().try_for_each(|(k, v)| check_attribute(k, v))
}

/// [`check_resource`] for one top-level attribute.
fn check_attribute(key: &str, value: &Value) -> ScimResult<()> {
    let naming = NAMING.iter().any(|n| n.eq_ignore_ascii_case(key));
    let address = key.eq_ignore_ascii_case("userName") || key.eq_ignore_ascii_case("emails");
    let rules = Rules {
        naming,
        address,
        max: if address {
            MAX_USER_NAME_CHARS
        } else if naming {
            MAX_NAME_CHARS
        } else {
            MAX_STRING_CHARS
        },
    };
    check_value(&Path::Top(key), value, rules)
}

/// What the strings under one top-level attribute are held to.
#[derive(Clone, Copy)]
struct Rules {
    /// A name an approver reads: no invisible or bidi-control characters.
    naming: bool,
    /// An address (userName, emails): in its plain NFKC form.
    address: bool,
    /// Characters at most.
    max: usize,
}

/// [`check_resource`] for a changed resource: only the top-level attributes that differ from
/// `before` are checked, so that a value stored before these rules (or by another path) never
/// stops a later change, a deprovision above all.
pub fn check_changes(new: &Value, before: &Value) -> ScimResult<()> {
    let (Value::Object(map), Value::Object(old)) = (new, before) else {
        return check_resource(new);
    };
    map.iter()
        .filter(|(k, v)| old.get(*k) != Some(*v))
        .try_for_each(|(k, v)| check_attribute(k, v))
}

/// Where a string sits (`name.givenName`), written out only for a refusal: a check that
/// passes allocates nothing.
enum Path<'a> {
    Top(&'a str),
    Under(&'a Path<'a>, &'a str),
}

impl std::fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Path::Top(k) => f.write_str(k),
            Path::Under(parent, k) => write!(f, "{parent}.{k}"),
        }
    }
}

fn check_value(path: &Path<'_>, value: &Value, rules: Rules) -> ScimResult<()> {
    match value {
        Value::String(s) => check_string(path, s, rules),
        Value::Array(items) => items.iter().try_for_each(|v| check_value(path, v, rules)),
        Value::Object(map) => map
            .iter()
            .try_for_each(|(k, v)| check_value(&Path::Under(path, k), v, rules)),
        _ => Ok(()),
    }
}

fn check_string(path: &Path<'_>, s: &str, rules: Rules) -> ScimResult<()> {
    let Rules {
        naming,
        address,
        max,
    } = rules;
    // The common case, plain ASCII: one byte a character, and neither invisible characters
    // nor other forms than NFKC exist in it.
    if s.is_ascii() && s.len() <= max && !s.bytes().any(|b| is_control(b as char)) {
        return Ok(());
    }
    let n = s.chars().count();
    if n > max {
        return Err(ScimError::invalid_value(format!(
            "{path}: at most {max} characters (got {n})"
        )));
    }
    if let Some(c) = s.chars().find(|c| is_control(*c)) {
        return Err(ScimError::invalid_value(format!(
            "{path}: control character U+{:04X} is not allowed",
            c as u32
        )));
    }
    if address && !s.is_ascii() && !is_nfkc(s) {
        let plain: String = s.nfkc().collect();
        return Err(ScimError::invalid_value(format!(
            "{path}: '{}' is not in its plain form (Unicode NFKC): fullwidth letters, \
             letter-like symbols and decomposed accents can imitate another address; send \
             '{}'",
            escape_controls(s),
            escape_controls(&plain)
        )));
    }
    if naming && let Some(c) = s.chars().find(|c| is_invisible(*c)) {
        return Err(ScimError::invalid_value(format!(
            "{path}: invisible or bidirectional-control character U+{:04X} is not allowed in a \
             name an approver must read",
            c as u32
        )));
    }
    Ok(())
}

/// The form in which two addresses (userNames, emails) are the same account: NFKC, then
/// Unicode lowercase, final sigma as sigma, NFKC again. `José@X` and `josé@x` fold alike, as do
/// `K@x` with a Kelvin sign and `k@x`. Lowercasing stands in for full case folding: the two
/// differ only for a few letters (`ß` stays `ß`, not `ss`).
pub fn fold_address(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    let lower: String = s
        .nfkc()
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'ς' { 'σ' } else { c })
        .collect();
    lower.nfkc().collect()
}

/// `s` with every control character written as `\u{1b}`, so that printing it never acts on a
/// terminal (a snapshot may hold anything).
pub fn escape_controls(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c.is_control() || is_invisible(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() || is_invisible(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The script of a letter, roughly, for telling look-alikes apart: `None` for what is no
/// letter (digits, punctuation, marks).
fn script(c: char) -> Option<&'static str> {
    if !c.is_alphabetic() {
        return None;
    }
    Some(match c as u32 {
        0x41..=0x5A | 0x61..=0x7A | 0xC0..=0x24F | 0x1E00..=0x1EFF => "Latin",
        0x370..=0x3FF | 0x1F00..=0x1FFF => "Greek",
        0x400..=0x52F | 0x1C80..=0x1C8F | 0x2DE0..=0x2DFF | 0xA640..=0xA69F => "Cyrillic",
        0x530..=0x58F => "Armenian",
        0x590..=0x5FF => "Hebrew",
        0x600..=0x6FF | 0x750..=0x77F => "Arabic",
        0xFF21..=0xFF3A | 0xFF41..=0xFF5A => "fullwidth Latin",
        0x2100..=0x214F => "letter-like symbols",
        0x3040..=0x30FF | 0x3400..=0x9FFF | 0xAC00..=0xD7AF => "CJK",
        _ => "other",
    })
}

/// Why an address may not be what it looks like: a part of it (the local part, or a label of
/// the domain) mixes letters of several scripts, or has fullwidth or letter-like symbol letters (`pаypal` with a Cyrillic `а`, a Kelvin sign
/// for `K`). `None` for an address whose parts each keep to one script.
pub fn mixed_scripts(address: &str) -> Option<String> {
    for part in address.split(['@', '.']) {
        let mut seen: Vec<&str> = Vec::new();
        for s in part.chars().filter_map(script) {
            if !seen.contains(&s) {
                seen.push(s);
            }
        }
        let imitates = seen
            .iter()
            .any(|s| matches!(*s, "fullwidth Latin" | "letter-like symbols"));
        if seen.len() > 1 || imitates {
            return Some(format!(
                "'{}' has {} letters: it may imitate another address",
                escape_controls(part),
                seen.join(" and ")
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn addresses_that_differ_by_case_or_form_fold_alike() {
        let same = [
            ("José@Example.com", "josé@example.com"),
            ("JOSÉ@EXAMPLE.COM", "jose\u{301}@example.com"),
            ("\u{212A}elvin@x.example", "kelvin@x.example"),
            ("ＡＮＮ@x.example", "ann@x.example"),
            ("ΟΔΟΣ@x.example", "οδος@x.example"),
            ("Ann@X.Example", "ann@x.example"),
        ];
        for (a, b) in same {
            assert_eq!(fold_address(a), fold_address(b), "{a} vs {b}");
        }
        assert_ne!(
            fold_address("josé@x.example"),
            fold_address("jose@x.example")
        );
        assert_eq!(fold_address("Ann@X.Example"), "ann@x.example");
    }

    #[test]
    fn control_characters_are_refused_anywhere_and_invisible_ones_in_names() {
        let osc52 = "a\u{1b}]52;c;ZXZpbA==\u{7}@x.example";
        let e = check_resource(&json!({"userName": osc52})).unwrap_err();
        assert_eq!(e.scim_type.map(|t| t.as_str()), Some("invalidValue"));
        assert!(e.detail.contains("U+001B"), "{}", e.detail);
        let e = check_resource(&json!({"title": "x\u{9b}31m"})).unwrap_err();
        assert!(e.detail.contains("title"), "{}", e.detail);
        let e = check_resource(&json!({"name": {"givenName": "An\u{200B}n"}})).unwrap_err();
        assert!(e.detail.contains("name.givenName"), "{}", e.detail);
        assert!(check_resource(&json!({"userName": "a\u{202E}b@x.example"})).is_err());
        // Multi-line addresses keep their line breaks; a zero-width joiner in a title is fine.
        assert!(check_resource(&json!({"addresses": [{"formatted": "1 Main St\nTown"}]})).is_ok());
        assert!(
            check_resource(&json!({"userName": "josé@x.example", "title": "a\u{200D}b"})).is_ok()
        );
    }

    #[test]
    fn addresses_must_be_in_their_plain_form() {
        for imitation in [
            "\u{212A}ate@acme.example", // Kelvin sign for K
            "\u{FF41}nn@acme.example",  // fullwidth a
            "jose\u{301}@acme.example", // e + combining acute
        ] {
            let e = check_resource(&json!({"userName": imitation})).unwrap_err();
            assert!(e.detail.contains("plain form"), "{}", e.detail);
            let e = check_resource(&json!({"emails": [{"value": imitation}]})).unwrap_err();
            assert!(e.detail.contains("emails.value"), "{}", e.detail);
        }
        assert!(check_resource(&json!({"userName": "jos\u{e9}@acme.example"})).is_ok());
        // Names other than addresses may hold any form.
        assert!(check_resource(&json!({"displayName": "\u{FF21}nn"})).is_ok());
    }

    #[test]
    fn lengths_are_bounded_with_a_message_that_says_the_limit() {
        let long = format!("{}@x.example", "a".repeat(500_000));
        let e = check_resource(&json!({"userName": long})).unwrap_err();
        assert!(e.detail.contains("at most 256"), "{}", e.detail);
        let e = check_resource(&json!({"displayName": "d".repeat(1025)})).unwrap_err();
        assert!(e.detail.contains("at most 1024"), "{}", e.detail);
        assert!(check_resource(&json!({"displayName": "d".repeat(1024)})).is_ok());
    }

    #[test]
    fn look_alike_addresses_are_flagged_and_plain_ones_are_not() {
        assert!(
            mixed_scripts("p\u{430}ypal@acme.example")
                .unwrap()
                .contains("Cyrillic")
        );
        assert!(
            mixed_scripts("\u{212A}evin@acme.example").is_some(),
            "Kelvin sign"
        );
        assert!(
            mixed_scripts("ann@\u{FF41}\u{FF43}\u{FF4D}\u{FF45}.example").is_some(),
            "fullwidth"
        );
        assert!(mixed_scripts("ann@a\u{FF43}me.example").is_some());
        assert!(
            mixed_scripts("\u{430}\u{43D}\u{43D}@acme.example").is_none(),
            "one script per part"
        );
        for plain in [
            "ann@acme.example",
            "josé.garcía@acme.example",
            "用户@例子.公司",
            "ann+1@x.io",
        ] {
            assert_eq!(mixed_scripts(plain), None, "{plain}");
        }
    }

    #[test]
    fn escaping_leaves_text_readable_and_terminals_untouched() {
        assert_eq!(escape_controls("ann@x.example"), "ann@x.example");
        let out = escape_controls("a\u{1b}]0;pwned\u{7}b");
        assert_eq!(out, "a\\u{1b}]0;pwned\\u{7}b");
        assert!(!out.chars().any(char::is_control));
    }
}
