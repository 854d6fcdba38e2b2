//! Unit tests of the filter and PATCH path parsers.

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
fn a_value_path_followed_by_a_sub_attribute_is_one_value_filter() {
    let vp = |f: Filter| Filter::ValuePath(AttrPath::new("emails"), Box::new(f));
    let work = || cmp(AttrPath::new("type"), CompareOp::Eq, s("work"));
    // Entra's lookup: the same element must be the work email and have that value.
    assert_eq!(
        p(r#"emails[type eq "work"].value eq "ann@example.com""#),
        vp(and(
            work(),
            cmp(AttrPath::new("value"), CompareOp::Eq, s("ann@example.com"))
        ))
    );
    assert_eq!(
        p(r#"emails[type eq "work" or primary eq true].Value Co "@x""#),
        vp(and(
            or(
                work(),
                cmp(
                    AttrPath::new("primary"),
                    CompareOp::Eq,
                    CompValue::Bool(true)
                )
            ),
            cmp(AttrPath::new("Value"), CompareOp::Co, s("@x"))
        ))
    );
    assert_eq!(
        p(r#"emails[type eq "work"].value pr and userName sw "a""#),
        and(
            vp(and(work(), Filter::Present(AttrPath::new("value")))),
            cmp(AttrPath::new("userName"), CompareOp::Sw, s("a"))
        )
    );
    // The canonical text is the RFC's form, and it reads back to the same filter.
    let f = p(r#"emails[type eq "work"].value eq "x""#);
    assert_eq!(f.to_string(), r#"emails[type eq "work" and value eq "x"]"#);
    assert_eq!(p(&f.to_string()), f);
}

#[test]
fn a_malformed_sub_attribute_after_a_value_path_says_where() {
    let e = err(r#"emails[type eq "work"].value"#);
    assert_eq!(
        e.detail,
        r#"expected a comparison operator after 'emails[type eq "work"].value' at position 29"#
    );
    let e = err(r#"emails[type eq "work"].value xx "a""#);
    assert!(
        e.detail.ends_with("but found 'xx' at position 30"),
        "{}",
        e.detail
    );
    let e = err(r#"emails[type eq "work"]. eq "a""#);
    assert!(
        e.detail.contains("invalid sub-attribute '.'"),
        "{}",
        e.detail
    );
    assert!(e.detail.ends_with("at position 23"), "{}", e.detail);
    let e = err(r#"emails[type eq "work"].value.x eq "a""#);
    assert!(e.detail.ends_with("at position 23"), "{}", e.detail);
    // The dot belongs to the bracket: with a space it is not a sub-attribute.
    let e = err(r#"emails[type eq "work"] .value eq "a""#);
    assert!(e.detail.contains("'.value'"), "{}", e.detail);
    assert!(e.detail.ends_with("at position 24"), "{}", e.detail);
    err(r#"emails[type eq "work"].value eq"#);
    err(r#"emails[type eq "work"].urn:x:y eq "a""#);
    err(r#"emails[type eq "work"]value eq "a""#);
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
