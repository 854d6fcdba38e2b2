//! Properties of the filter module: printing round-trips, the parser never panics, and the
//! evaluator agrees with a naive reference evaluator on random resources.

use super::*;
use crate::scim::datetime;
use crate::scim::schema::{ENTERPRISE_USER_SCHEMA_ID, USER};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn arb_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z$][a-zA-Z0-9_-]{0,6}",
        Just("not".to_string()),
        Just("and".to_string()),
        Just("or".to_string()),
        Just("pr".to_string()),
    ]
}

fn arb_urn() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(ENTERPRISE_USER_SCHEMA_ID.to_string()),
        "urn:[a-z0-9]{1,4}(:[a-zA-Z0-9.-]{1,5}){0,3}",
    ]
}

fn arb_path() -> impl Strategy<Value = AttrPath> {
    (
        proptest::option::weighted(0.2, arb_urn()),
        arb_name(),
        proptest::option::weighted(0.3, arb_name()),
    )
        .prop_map(|(urn, name, sub_attr)| AttrPath {
            urn,
            name,
            sub_attr,
        })
}

fn arb_simple_path() -> impl Strategy<Value = AttrPath> {
    arb_name().prop_map(AttrPath::new)
}

fn arb_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        Just(CompValue::Null),
        any::<bool>().prop_map(CompValue::Bool),
        any::<i64>().prop_map(|i| CompValue::Number(i.into())),
        any::<u64>().prop_map(|u| CompValue::Number(u.into())),
        any::<f64>()
            .prop_filter_map("finite", serde_json::Number::from_f64)
            .prop_map(CompValue::Number),
        any::<String>().prop_map(CompValue::Str),
    ]
}

fn arb_op() -> impl Strategy<Value = CompareOp> {
    prop_oneof![
        Just(CompareOp::Eq),
        Just(CompareOp::Ne),
        Just(CompareOp::Co),
        Just(CompareOp::Sw),
        Just(CompareOp::Ew),
        Just(CompareOp::Gt),
        Just(CompareOp::Ge),
        Just(CompareOp::Lt),
        Just(CompareOp::Le),
    ]
}

fn arb_logic(leaf: BoxedStrategy<Filter>) -> impl Strategy<Value = Filter> {
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|a| Filter::Not(Box::new(a))),
        ]
    })
}

fn arb_leaf(path: BoxedStrategy<AttrPath>) -> BoxedStrategy<Filter> {
    prop_oneof![
        path.clone().prop_map(Filter::Present),
        (path, arb_op(), arb_value()).prop_map(|(p, o, v)| Filter::Compare(p, o, v)),
    ]
    .boxed()
}

fn arb_filter() -> impl Strategy<Value = Filter> {
    let value_path = (
        arb_simple_path(),
        arb_logic(arb_leaf(arb_simple_path().boxed())),
    )
        .prop_map(|(p, f)| Filter::ValuePath(p, Box::new(f)));
    let leaf = prop_oneof![4 => arb_leaf(arb_path().boxed()), 1 => value_path].boxed();
    arb_logic(leaf)
}

/// Text that looks like filters often enough to reach deep parser states.
fn arb_filterish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("userName".to_string()),
        Just("emails".to_string()),
        Just("name.givenName".to_string()),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value".into()),
        Just("eq".to_string()),
        Just("PR".to_string()),
        Just("Or".to_string()),
        Just("and".to_string()),
        Just("not".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("\"x\\u00e9\"".to_string()),
        Just("\"\\ud83d\"".to_string()),
        Just("-1.5e3".to_string()),
        Just("true".to_string()),
        Just("null".to_string()),
        Just(".value".to_string()),
        "[ -~]{0,3}",
    ];
    proptest::collection::vec((token, prop_oneof![Just(""), Just(" ")]), 0..16)
        .prop_map(|ts| ts.into_iter().map(|(t, s)| t + s).collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn printing_then_parsing_gives_the_same_ast(f in arb_filter()) {
        let text = f.to_string();
        let back = parse_filter(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(back, f, "{}", text);
    }

    #[test]
    fn the_parsers_never_panic_on_arbitrary_strings(s in any::<String>()) {
        let _ = parse_filter(&s);
        let _ = parse_patch_path(&s);
        let _ = AttrPath::parse(&s);
    }

    #[test]
    fn whatever_parses_prints_to_text_that_parses_to_the_same(s in arb_filterish()) {
        if let Ok(f) = parse_filter(&s) {
            prop_assert_eq!(parse_filter(&f.to_string()).ok(), Some(f));
        }
        if let Ok(p) = parse_patch_path(&s)
            && let Some(f) = p.filter
        {
            prop_assert_eq!(parse_filter(&f.to_string()).ok(), Some(f));
        }
    }

    #[test]
    fn validation_and_evaluation_never_panic(f in arb_filter(), u in arb_user()) {
        let _ = validate(&f, &USER);
        let _ = matches(&f, &u, &USER);
    }

    #[test]
    fn the_evaluator_agrees_with_a_naive_reference(f in arb_user_filter(), u in arb_user()) {
        validate(&f, &USER).map_err(|e| TestCaseError::fail(format!("{f}: {e}")))?;
        prop_assert_eq!(matches(&f, &u, &USER), reference(&f, &u), "{}\n{}", f, u);
    }

    /// What the SQL selects is checked against the evaluator on both engines by
    /// `tests/filter_sql.rs`; here, that every valid filter translates in both dialects with
    /// one bound parameter per placeholder.
    #[test]
    fn valid_filters_translate_in_both_dialects(f in arb_user_filter()) {
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            let map = JsonMapping {
                dialect,
                doc: "u.doc",
                columns: &[("userName", "u.user_name")],
                tables: &[],
                prefilters: &[("emails.value", "email_values(u.doc)")],
                value_sets: &[("emails.value", "email_set(u.doc)")],
                row_alias: "v",
            };
            let w = to_sql(&f, &USER, &map).map_err(|e| TestCaseError::fail(format!("{f}: {e}")))?;
            let marks = match dialect {
                Dialect::Sqlite => w.sql.matches('?').count(),
                _ => (1..=w.params.len()).filter(|n| w.sql.contains(&format!("${n}"))).count(),
            };
            prop_assert_eq!(marks, w.params.len(), "{}", w.sql);
            prop_assert!(!w.sql.contains(&format!("${}", w.params.len() + 1)), "{}", w.sql);
        }
    }
}

// ---- random users and filters over their real attributes ----

const WORDS: &[&str] = &["ab", "AB", "aB_", "", "é", "É", "a%", "z", "b", "[", "`"];
const DATES: &[&str] = &[
    "2020-01-01T00:00:00Z",
    "2020-01-01T01:00:00+01:00",
    "2020-01-01T00:00:00.001Z",
    "2019-12-31T23:59:59.999-00:30",
];

fn arb_word() -> impl Strategy<Value = String> {
    (
        proptest::sample::select(WORDS),
        proptest::sample::select(WORDS),
    )
        .prop_map(|(a, b)| format!("{a}{b}"))
}

fn arb_user() -> impl Strategy<Value = Value> {
    let maybe_word = || proptest::option::of(arb_word());
    let email = (
        proptest::option::of(arb_word()),
        proptest::option::of(proptest::sample::select(&["work", "Work", "home"][..])),
        proptest::option::of(any::<bool>()),
    )
        .prop_map(|(v, t, p)| {
            let mut e = Map::new();
            v.map(|v| e.insert("value".into(), json!(v)));
            t.map(|t| e.insert("type".into(), json!(t)));
            p.map(|p| e.insert("primary".into(), json!(p)));
            Value::Object(e)
        });
    (
        maybe_word(),
        maybe_word(),
        maybe_word(),
        proptest::option::of(any::<bool>()),
        proptest::option::of((maybe_word(), maybe_word())),
        proptest::option::of(proptest::collection::vec(email, 0..3)),
        proptest::option::of(proptest::sample::select(DATES)),
        maybe_word(),
    )
        .prop_map(
            |(user_name, title, external_id, active, name, emails, created, emp)| {
                let mut u = Map::new();
                let mut put = |k: &str, v: Option<Value>| {
                    if let Some(v) = v {
                        u.insert(k.to_string(), v);
                    }
                };
                put("userName", user_name.map(Value::from));
                put("title", title.map(Value::from));
                put("externalId", external_id.map(Value::from));
                put("active", active.map(Value::from));
                put(
                    "name",
                    name.map(|(g, f)| {
                        let mut n = Map::new();
                        g.map(|g| n.insert("givenName".into(), json!(g)));
                        f.map(|f| n.insert("familyName".into(), json!(f)));
                        Value::Object(n)
                    }),
                );
                put("emails", emails.map(Value::from));
                put("meta", created.map(|c| json!({"created": c})));
                put(
                    ENTERPRISE_USER_SCHEMA_ID,
                    emp.map(|e| json!({"employeeNumber": e})),
                );
                Value::Object(u)
            },
        )
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Text,
    Bool,
    Date,
    Whole,
}

const ATTRS: &[(&str, Kind)] = &[
    ("userName", Kind::Text),
    ("USERNAME", Kind::Text),
    ("title", Kind::Text),
    ("externalId", Kind::Text),
    ("active", Kind::Bool),
    ("name", Kind::Whole),
    ("name.givenName", Kind::Text),
    ("name.familyName", Kind::Text),
    ("emails", Kind::Text),
    ("emails.value", Kind::Text),
    ("emails.type", Kind::Text),
    ("emails.primary", Kind::Bool),
    ("meta.created", Kind::Date),
    (
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        Kind::Text,
    ),
];
const EMAIL_SUBS: &[(&str, Kind)] = &[
    ("value", Kind::Text),
    ("type", Kind::Text),
    ("primary", Kind::Bool),
];

fn arb_typed_leaf(attrs: &'static [(&'static str, Kind)]) -> BoxedStrategy<Filter> {
    (
        proptest::sample::select(attrs),
        arb_op(),
        arb_word(),
        any::<bool>(),
        0..10u8,
    )
        .prop_map(|((name, kind), op, word, b, pick)| {
            let p = AttrPath::parse(name).expect("test paths parse");
            let eqne = if matches!(op, CompareOp::Ne | CompareOp::Co) {
                CompareOp::Ne
            } else {
                CompareOp::Eq
            };
            match (pick, kind) {
                (0, _) | (_, Kind::Whole) => Filter::Present(p),
                (1, _) => Filter::Compare(p, eqne, CompValue::Null),
                (_, Kind::Text) => Filter::Compare(p, op, CompValue::Str(word)),
                (_, Kind::Bool) => Filter::Compare(p, eqne, CompValue::Bool(b)),
                (_, Kind::Date) => {
                    let op = match op {
                        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => CompareOp::Eq,
                        o => o,
                    };
                    let d = DATES[pick as usize % DATES.len()];
                    Filter::Compare(p, op, CompValue::Str(d.to_string()))
                }
            }
        })
        .boxed()
}

fn arb_user_filter() -> impl Strategy<Value = Filter> {
    let value_path = arb_logic(arb_typed_leaf(EMAIL_SUBS))
        .prop_map(|f| Filter::ValuePath(AttrPath::new("emails"), Box::new(f)));
    arb_logic(prop_oneof![4 => arb_typed_leaf(ATTRS), 1 => value_path].boxed())
}

// ---- the naive reference: one list of "slots" per path, then one rule per operator ----

/// The values a path reads: one slot per element of a multi-valued attribute, one slot for
/// a single-valued one. `None` is an unassigned slot.
fn slots(u: &Value, path: &AttrPath, implicit_value: bool) -> Vec<Option<Value>> {
    let lower = path.name.to_ascii_lowercase();
    let top = match &path.urn {
        Some(urn) => u.get(urn.as_str()).and_then(|e| e.get(path.name.as_str())),
        None => u
            .as_object()
            .and_then(|o| o.iter().find(|(k, _)| k.to_ascii_lowercase() == lower))
            .map(|(_, v)| v),
    };
    let sub = path
        .sub_attr
        .clone()
        .or_else(|| (implicit_value && lower == "emails").then(|| "value".to_string()));
    let pick = |v: &Value| match &sub {
        Some(s) => v.get(s.as_str()).cloned(),
        None => Some(v.clone()),
    };
    if lower == "emails" {
        match top {
            Some(Value::Array(items)) => items.iter().map(pick).collect(),
            _ => vec![],
        }
    } else {
        vec![top.and_then(pick)]
    }
}

fn nonempty(v: &Option<Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(_) => true,
    }
}

fn reference_leaf(slot: &Value, name: &str, op: CompareOp, v: &CompValue) -> bool {
    use std::cmp::Ordering::*;
    let name = name.to_ascii_lowercase();
    let ord = match (slot, v) {
        (Value::Bool(a), CompValue::Bool(b)) => a.cmp(b),
        (Value::String(a), CompValue::Str(b)) if name == "created" => {
            match (datetime::parse(a), datetime::parse(b)) {
                (Some(a), Some(b)) => a.cmp(&b),
                _ => return false,
            }
        }
        (Value::String(a), CompValue::Str(b)) => {
            let case_exact = name == "externalid";
            let (a, b) = if case_exact {
                (a.clone(), b.clone())
            } else {
                (a.to_ascii_lowercase(), b.to_ascii_lowercase())
            };
            match op {
                CompareOp::Co => return a.contains(&b),
                CompareOp::Sw => return a.starts_with(&b),
                CompareOp::Ew => return a.ends_with(&b),
                _ => a.cmp(&b),
            }
        }
        _ => return false,
    };
    match op {
        CompareOp::Eq => ord == Equal,
        CompareOp::Gt => ord == Greater,
        CompareOp::Ge => ord != Less,
        CompareOp::Lt => ord == Less,
        CompareOp::Le => ord != Greater,
        _ => false,
    }
}

fn reference(f: &Filter, u: &Value) -> bool {
    match f {
        Filter::And(a, b) => reference(a, u) && reference(b, u),
        Filter::Or(a, b) => reference(a, u) || reference(b, u),
        Filter::Not(a) => !reference(a, u),
        Filter::Present(p) => slots(u, p, false).iter().any(nonempty),
        Filter::Compare(p, CompareOp::Eq, CompValue::Null) => {
            !slots(u, p, false).iter().any(nonempty)
        }
        Filter::Compare(p, CompareOp::Ne, CompValue::Null) => {
            slots(u, p, false).iter().any(nonempty)
        }
        Filter::Compare(p, op, v) => {
            let leaf_name = p.sub_attr.as_deref().unwrap_or(&p.name).to_string();
            let s = slots(u, p, true);
            if *op == CompareOp::Ne {
                s.is_empty()
                    || s.iter().any(|x| match x {
                        None | Some(Value::Null) => true,
                        Some(x) => !reference_leaf(x, &leaf_name, CompareOp::Eq, v),
                    })
            } else {
                s.iter().any(|x| {
                    x.as_ref()
                        .is_some_and(|x| reference_leaf(x, &leaf_name, *op, v))
                })
            }
        }
        Filter::ValuePath(p, inner) => match u.get(p.name.as_str()) {
            Some(Value::Array(items)) => items.iter().any(|e| reference(inner, e)),
            _ => false,
        },
    }
}

// ---- filters scoped to one resource type of a search across types ----

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Scoping a filter to a resource type (a search across types) decides the attributes the
    /// type lacks and keeps the rest: it selects what the whole filter selects.
    #[test]
    fn scoping_to_a_type_selects_what_the_filter_selects(f in arb_user_filter(), u in arb_user()) {
        for rt in [&USER, &crate::scim::schema::GROUP] {
            let scoped = match scope(&f, rt) {
                Scoped::Nothing => false,
                Scoped::Everything => true,
                Scoped::Matching(g) => matches(&g, &u, rt),
            };
            prop_assert_eq!(scoped, matches(&f, &u, rt), "{} on {}\n{}", f, rt.name, u);
        }
    }
}
