//! List queries (RFC 7644 §3.4.2): filter, sorting, paging and projection, from the query
//! string of a GET or from the body of a POST `/.search` (§3.4.3), and the ListResponse.

use super::datetime;
use super::error::{ScimError, ScimResult};
use super::filter::{Filter, Scoped};
use super::path::AttrPath;
use super::projection::Projection;
use super::schema::{AttrType, AttributeDef, LIST_RESPONSE_SCHEMA, ResourceTypeDef};
use serde_json::{Value, json};
use std::cmp::{Ordering, Reverse};

pub const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    #[default]
    Ascending,
    Descending,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    /// Already validated against the resource type.
    pub filter: Option<Filter>,
    /// Already checked to name a sortable attribute of the resource type.
    pub sort_by: Option<AttrPath>,
    pub sort_order: SortOrder,
    /// 1-based, at least 1.
    pub start_index: u64,
    /// At most `max_results`.
    pub count: u64,
    /// Cursor paging (RFC 9865) when given: the `cursor` text, empty for the first page.
    pub cursor: Option<String>,
    pub projection: Projection,
}

/// From query parameters (names match in any case; when one is repeated, the last wins).
/// startIndex is 1-based and below 1 counts as 1; a negative count counts as 0; a count above
/// `max_results` is capped to it, as RFC 7644 §3.4.2.4 lets the server do instead of failing;
/// absent count means `default_count` (also capped). Non-numeric values and a sortOrder other
/// than ascending/descending (any case) are 400 `invalidValue`. The filter is parsed and
/// validated against `rt` (400 `invalidFilter`). Unknown parameters are ignored.
pub fn parse_list_query(
    params: &[(String, String)],
    rt: &ResourceTypeDef,
    max_results: u64,
    default_count: u64,
) -> ScimResult<ListQuery> {
    let get = |name: &str| param(params, name);
    let paging = parse_paging(params, max_results, default_count)?;
    let filter = match get("filter").map(str::trim) {
        Some(f) if !f.is_empty() => Some(parse_valid_filter(f, rt)?),
        _ => None,
    };
    let sort_by = match get("sortBy").map(str::trim) {
        Some(s) if !s.is_empty() => Some(parse_sort_by(s, rt)?),
        _ => None,
    };
    Ok(ListQuery {
        filter,
        sort_by,
        sort_order: paging.sort_order,
        start_index: paging.start_index,
        count: paging.count,
        cursor: paging.cursor,
        projection: paging.projection,
    })
}

/// A parameter by name in any case; when one is repeated, the last wins.
pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// What every list query has, whatever the resource types: paging, order and projection.
#[derive(Debug, Clone, PartialEq)]
pub struct Paging {
    pub start_index: u64,
    pub count: u64,
    /// See [`ListQuery::cursor`].
    pub cursor: Option<String>,
    pub sort_order: SortOrder,
    pub projection: Projection,
}

fn parse_paging(
    params: &[(String, String)],
    max_results: u64,
    default_count: u64,
) -> ScimResult<Paging> {
    let get = |name: &str| param(params, name);
    let start_index = match get("startIndex") {
        Some(v) => parse_int("startIndex", v)?.max(1) as u64,
        None => 1,
    };
    let count = match get("count") {
        Some(v) => parse_int("count", v)?.max(0) as u64,
        None => default_count,
    }
    .min(max_results);
    let sort_order = match get("sortOrder").map(str::trim) {
        None | Some("") => SortOrder::Ascending,
        Some(s) if s.eq_ignore_ascii_case("ascending") => SortOrder::Ascending,
        Some(s) if s.eq_ignore_ascii_case("descending") => SortOrder::Descending,
        Some(s) => {
            return Err(ScimError::invalid_value(format!(
                "sortOrder: expected \"ascending\" or \"descending\", got {:?}",
                clip(s)
            )));
        }
    };
    let projection = Projection::parse(get("attributes"), get("excludedAttributes"))?;
    let cursor = get("cursor").map(|c| c.trim().to_string());
    if cursor.is_some() && get("startIndex").is_some() {
        // RFC 9865 lets a client pick a method by the parameter it sends; both is no choice.
        return Err(ScimError::invalid_value(
            "startIndex and cursor: send startIndex for index paging or cursor for cursor \
             paging, not both",
        ));
    }
    Ok(Paging {
        start_index,
        count,
        cursor,
        sort_order,
        projection,
    })
}

/// The body of a POST `/.search` (RFC 7644 §3.4.3), giving the same [`ListQuery`] as the
/// equivalent query string. `schemas` must hold the SearchRequest URN (400 `invalidSyntax`).
/// Member names match in any case; `attributes` and `excludedAttributes` are arrays of paths
/// (a comma-separated string is accepted too); `startIndex` and `count` are integers (numeric
/// strings are accepted too).
pub fn parse_search_request(
    body: &Value,
    rt: &ResourceTypeDef,
    max_results: u64,
    default_count: u64,
) -> ScimResult<ListQuery> {
    parse_list_query(&search_params(body)?, rt, max_results, default_count)
}

/// The members of a SearchRequest as the query parameters they stand for (checked as
/// [`parse_search_request`] says).
pub fn search_params(body: &Value) -> ScimResult<Vec<(String, String)>> {
    let Value::Object(map) = body else {
        return Err(ScimError::invalid_syntax(
            "a SearchRequest body must be a JSON object",
        ));
    };
    let has_schema = map
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("schemas"))
        .and_then(|(_, v)| v.as_array())
        .is_some_and(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .any(|s| s.eq_ignore_ascii_case(SEARCH_REQUEST_SCHEMA))
        });
    if !has_schema {
        return Err(ScimError::invalid_syntax(format!(
            "schemas must contain {SEARCH_REQUEST_SCHEMA}"
        )));
    }
    let mut params = Vec::new();
    for (key, value) in map {
        if key.eq_ignore_ascii_case("schemas") || value.is_null() {
            continue;
        }
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Array(items) => {
                let parts: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
                parts
                    .ok_or_else(|| {
                        ScimError::invalid_value(format!("{key}: expected an array of strings"))
                    })?
                    .join(",")
            }
            _ => {
                return Err(ScimError::invalid_value(format!(
                    "{key}: unexpected {}",
                    json_kind(value)
                )));
            }
        };
        params.push((key.clone(), text));
    }
    Ok(params)
}

/// A SearchRequest over several resource types (POST `/.search` at the root), with `T` the
/// caller's name for each type.
#[derive(Debug, Clone, PartialEq)]
pub struct RootSearch<T> {
    pub paging: Paging,
    /// The types whose resources can match, each with its share of the filter (already
    /// validated against it) and `sortBy` where the type has that attribute, in result order:
    /// the types that have the sortBy attribute first (the others, lacking the value, sort
    /// last), then in the order given.
    pub types: Vec<TypeSearch<T>>,
    /// Whether the results of the first types interleave by `sortBy` (more than one type has
    /// it); otherwise each type's results follow the previous type's.
    pub interleave: bool,
    /// The query parameters the body stands for (the provisioning extension reads them).
    pub params: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TypeSearch<T> {
    pub tag: T,
    pub filter: Option<Filter>,
    pub sort_by: Option<AttrPath>,
}

/// The body of a POST `/.search` at the root (RFC 7644 §3.4.3), over `types`. A filter
/// attribute that one type lacks counts there as having no value (§3.4.2.1; see
/// `filter::scope`), and one that every type lacks is 400 `invalidFilter`. `sortBy` must name
/// an attribute of at least one type (400 `invalidValue`).
pub fn parse_root_search<T: Copy>(
    body: &Value,
    types: &[(T, &ResourceTypeDef)],
    max_results: u64,
    default_count: u64,
) -> ScimResult<RootSearch<T>> {
    let params = search_params(body)?;
    let paging = parse_paging(&params, max_results, default_count)?;
    let filter = match param(&params, "filter").map(str::trim) {
        Some(f) if !f.is_empty() => {
            let filter = super::filter::parse_filter(f)?;
            check_cost(&filter)?;
            let rts: Vec<&ResourceTypeDef> = types.iter().map(|(_, rt)| *rt).collect();
            super::filter::check_known_to_some(&filter, &rts)?;
            Some(filter)
        }
        _ => None,
    };
    let sort_text = param(&params, "sortBy")
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let mut sortable = Vec::new();
    let mut unsortable = Vec::new();
    let mut sort_error = None;
    for &(tag, rt) in types {
        let scoped = match &filter {
            None => None,
            Some(f) => match super::filter::scope(f, rt) {
                Scoped::Nothing => continue,
                Scoped::Everything => None,
                Scoped::Matching(f) => {
                    super::filter::validate(&f, rt)?;
                    Some(f)
                }
            },
        };
        let sort_by = match sort_text.map(|s| parse_sort_by(s, rt)) {
            Some(Ok(path)) => Some(path),
            Some(Err(e)) => {
                sort_error.get_or_insert(e);
                None
            }
            None => None,
        };
        let search = TypeSearch {
            tag,
            filter: scoped,
            sort_by,
        };
        if search.sort_by.is_some() {
            sortable.push(search);
        } else {
            unsortable.push(search);
        }
    }
    if let (Some(text), true) = (sort_text, sortable.is_empty()) {
        // No type has it: a typo, unless no type can match at all (then nothing is sorted).
        let known = types.iter().any(|(_, rt)| parse_sort_by(text, rt).is_ok());
        if !known {
            return Err(sort_error.unwrap_or_else(|| {
                ScimError::invalid_value(format!("sortBy: unknown attribute {:?}", clip(text)))
            }));
        }
    }
    let interleave = sortable.len() > 1;
    sortable.extend(unsortable);
    Ok(RootSearch {
        paging,
        types: sortable,
        interleave,
        params,
    })
}

/// The key that orders resources of different types by `sort_by` when they interleave: the
/// comparison [`sort_resources`] makes, with resources that have no value last in either
/// order, as the store sorts them.
pub fn merge_order(
    a: (&ResourceTypeDef, &Value),
    b: (&ResourceTypeDef, &Value),
    sort_by: &AttrPath,
    order: SortOrder,
) -> Ordering {
    match (sort_key(a.0, a.1, sort_by), sort_key(b.0, b.1, sort_by)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => match order {
            SortOrder::Ascending => x.cmp(&y),
            SortOrder::Descending => y.cmp(&x),
        },
    }
}

/// The ListResponse document (RFC 7644 §3.4.2). `totalResults` is the full match count,
/// `itemsPerPage` the number of resources on this page.
pub fn list_response(resources: Vec<Value>, total_results: u64, start_index: u64) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": total_results,
        "itemsPerPage": resources.len(),
        "startIndex": start_index,
        "Resources": resources,
    })
}

/// In-memory sort per RFC 7644 §3.4.2.3, for tests and small result sets: strings compare per
/// caseExact, dateTimes as instants, numbers as numbers; a multi-valued attribute sorts by its
/// primary value, or else its first; a multi-valued complex attribute named without a
/// sub-attribute sorts by `value`. Resources without a value sort last when ascending and
/// first when descending. The sort is stable.
pub fn sort_resources(
    rt: &ResourceTypeDef,
    resources: &mut [Value],
    sort_by: &AttrPath,
    order: SortOrder,
) {
    // `(missing, key)`: a missing key orders after every present one.
    let key = |r: &Value| {
        let k = sort_key(rt, r, sort_by);
        (k.is_none(), k)
    };
    match order {
        SortOrder::Ascending => resources.sort_by_cached_key(key),
        SortOrder::Descending => resources.sort_by_cached_key(|r| Reverse(key(r))),
    }
}

/// A sort key; keys of different kinds (only possible with malformed data) order by kind.
#[derive(Debug, Clone, PartialEq)]
enum SortKey {
    Bool(bool),
    Num(f64),
    Instant(datetime::Instant),
    Text(String),
}

impl Eq for SortKey {}

impl PartialOrd for SortKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SortKey {
    fn cmp(&self, other: &Self) -> Ordering {
        use SortKey::*;
        match (self, other) {
            (Bool(a), Bool(b)) => a.cmp(b),
            (Num(a), Num(b)) => a.total_cmp(b),
            (Instant(a), Instant(b)) => a.cmp(b),
            (Text(a), Text(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl SortKey {
    fn rank(&self) -> u8 {
        match self {
            SortKey::Bool(_) => 0,
            SortKey::Num(_) => 1,
            SortKey::Instant(_) => 2,
            SortKey::Text(_) => 3,
        }
    }
}

fn sort_key(rt: &ResourceTypeDef, resource: &Value, path: &AttrPath) -> Option<SortKey> {
    let (attr, ext) = rt.resolve(path.urn.as_deref(), &path.name)?;
    let container = match ext {
        Some(ext) => get_ci(resource, ext.id)?,
        None => resource,
    };
    let mut value = get_ci(container, attr.name)?;
    if attr.multi_valued {
        value = match value {
            Value::Array(items) => items
                .iter()
                .find(|v| get_ci(v, "primary").is_some_and(is_true))
                .or_else(|| items.first())?,
            single => single,
        };
    }
    let mut def: &AttributeDef = attr;
    if let Some(sub) = &path.sub_attr {
        def = attr.sub(sub)?;
        value = get_ci(value, def.name)?;
    } else if attr.ty == AttrType::Complex {
        def = attr.sub("value")?;
        value = get_ci(value, "value")?;
    }
    key_of(def, value)
}

fn key_of(def: &AttributeDef, value: &Value) -> Option<SortKey> {
    match value {
        Value::Null | Value::Array(_) | Value::Object(_) => None,
        Value::Bool(b) => Some(SortKey::Bool(*b)),
        Value::Number(n) => n.as_f64().map(SortKey::Num),
        Value::String(s) => Some(match def.ty {
            AttrType::DateTime => match datetime::parse(s) {
                Some(t) => SortKey::Instant(t),
                None => SortKey::Text(s.clone()),
            },
            _ if def.case_exact => SortKey::Text(s.clone()),
            _ => SortKey::Text(s.to_lowercase()),
        }),
    }
}

fn is_true(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// A member of an object by name, in any case.
fn get_ci<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    let map = v.as_object()?;
    map.get(name).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

fn parse_sort_by(s: &str, rt: &ResourceTypeDef) -> ScimResult<AttrPath> {
    let path = AttrPath::parse(s)
        .map_err(|e| ScimError::invalid_value(format!("sortBy: {}", e.detail)))?;
    let unknown = || ScimError::invalid_value(format!("sortBy: unknown attribute {:?}", clip(s)));
    let (attr, _) = rt
        .resolve(path.urn.as_deref(), &path.name)
        .ok_or_else(unknown)?;
    match &path.sub_attr {
        Some(sub) => {
            attr.sub(sub).ok_or_else(unknown)?;
        }
        None if attr.ty == AttrType::Complex && !attr.multi_valued => {
            return Err(ScimError::invalid_value(format!(
                "sortBy: {} is complex; name one of its sub-attributes, e.g. {}.{}",
                attr.name,
                attr.name,
                attr.sub_attributes.first().map_or("value", |a| a.name)
            )));
        }
        None => {}
    }
    Ok(path)
}

fn parse_valid_filter(text: &str, rt: &ResourceTypeDef) -> ScimResult<Filter> {
    let filter = super::filter::parse_filter(text)?;
    check_cost(&filter)?;
    super::filter::validate(&filter, rt)?;
    Ok(filter)
}

/// Comparisons (`eq`, `co`, `pr`...) a list or search filter may hold. IdPs send one or two
/// (`userName eq "..."`, `members[value eq "..."]`); each further comparison adds a pass over
/// the candidate rows, so one org's filter of hundreds of `co` clauses would hold a read
/// connection for seconds. Beyond it: 400 `tooMany`.
pub const MAX_FILTER_COMPARISONS: usize = 50;

/// Whether a filter is what IdPs send to look someone up: only `eq` comparisons, at most four
/// (`userName eq "…"`, `externalId eq "…"`, `members[value eq "…"]`). Such lists are not held
/// to the per-org places of costly ones: they are answered from indexes in milliseconds, and
/// an IdP sends many at once.
pub fn is_lookup(filter: &Filter) -> bool {
    fn walk(f: &Filter, n: &mut usize) -> bool {
        match f {
            Filter::And(a, b) | Filter::Or(a, b) => walk(a, n) && walk(b, n),
            Filter::ValuePath(_, a) => walk(a, n),
            Filter::Not(_) | Filter::Present(_) => false,
            Filter::Compare(_, op, _) => {
                *n += 1;
                *op == super::filter::CompareOp::Eq
            }
        }
    }
    let mut n = 0;
    walk(filter, &mut n) && n <= 4
}

/// A list filter's cost bound ([`MAX_FILTER_COMPARISONS`]).
pub fn check_cost(filter: &Filter) -> ScimResult<()> {
    fn comparisons(f: &Filter) -> usize {
        match f {
            Filter::And(a, b) | Filter::Or(a, b) => comparisons(a) + comparisons(b),
            Filter::Not(a) | Filter::ValuePath(_, a) => comparisons(a),
            Filter::Present(_) | Filter::Compare(..) => 1,
        }
    }
    let n = comparisons(filter);
    if n > MAX_FILTER_COMPARISONS {
        return Err(ScimError::too_many(format!(
            "the filter has {n} comparisons; at most {MAX_FILTER_COMPARISONS} are evaluated \
             per request: split it into several requests"
        )));
    }
    Ok(())
}

/// An integer parameter. Digit strings too long for i64 saturate rather than fail, so that
/// `count=99999999999999999999` is simply capped like any other large count.
fn parse_int(name: &str, raw: &str) -> ScimResult<i64> {
    let s = raw.trim();
    if let Ok(n) = s.parse::<i64>() {
        return Ok(n);
    }
    let (negative, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(if negative { i64::MIN } else { i64::MAX });
    }
    Err(ScimError::invalid_value(format!(
        "{name}: expected an integer, got {:?}",
        clip(raw)
    )))
}

/// Client input echoed in an error message, kept short.
fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idp_lookups_are_not_held_to_the_org_places_and_scans_are() {
        let f = |t: &str| crate::scim::filter::parse_filter(t).unwrap();
        assert!(is_lookup(&f(r#"userName eq "a@b.c""#)));
        assert!(is_lookup(&f(
            r#"members[value eq "x"] and displayName eq "G""#
        )));
        assert!(!is_lookup(&f(r#"userName co "a""#)));
        assert!(!is_lookup(&f(r#"not (userName eq "a")"#)));
        assert!(!is_lookup(&f(
            r#"id eq "1" or id eq "2" or id eq "3" or id eq "4" or id eq "5""#
        )));
    }
    use crate::scim::ScimType;
    use crate::scim::schema::{ENTERPRISE_USER_SCHEMA_ID, GROUP, USER};

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
    fn q(pairs: &[(&str, &str)]) -> ScimResult<ListQuery> {
        parse_list_query(&params(pairs), &USER, 200, 100)
    }
    fn invalid_value(r: ScimResult<ListQuery>) -> bool {
        matches!(r, Err(e) if e.status == 400 && e.scim_type == Some(ScimType::InvalidValue))
    }

    #[test]
    fn defaults_when_nothing_is_given() {
        let l = q(&[]).unwrap();
        assert_eq!((l.start_index, l.count), (1, 100));
        assert_eq!(l.sort_order, SortOrder::Ascending);
        assert!(l.filter.is_none() && l.sort_by.is_none() && l.projection.is_default());
    }

    #[test]
    fn start_index_is_one_based_and_below_one_counts_as_one() {
        assert_eq!(q(&[("startIndex", "0")]).unwrap().start_index, 1);
        assert_eq!(q(&[("startIndex", "-5")]).unwrap().start_index, 1);
        assert_eq!(q(&[("startIndex", "7")]).unwrap().start_index, 7);
    }

    #[test]
    fn negative_count_is_zero_and_large_count_is_capped() {
        assert_eq!(q(&[("count", "-1")]).unwrap().count, 0);
        assert_eq!(q(&[("count", "0")]).unwrap().count, 0);
        assert_eq!(q(&[("count", "5000")]).unwrap().count, 200);
        assert_eq!(
            q(&[("count", "99999999999999999999999")]).unwrap().count,
            200
        );
        assert_eq!(
            q(&[("startIndex", "-99999999999999999999999")])
                .unwrap()
                .start_index,
            1
        );
        let small_max = parse_list_query(&[], &USER, 10, 100).unwrap();
        assert_eq!(small_max.count, 10, "the default is capped too");
    }

    #[test]
    fn parameter_names_match_in_any_case_and_the_last_wins() {
        let l = q(&[("STARTINDEX", "3"), ("Count", "4"), ("count", "5")]).unwrap();
        assert_eq!((l.start_index, l.count), (3, 5));
        let l = q(&[("SORTORDER", "DESCENDING")]).unwrap();
        assert_eq!(l.sort_order, SortOrder::Descending);
    }

    #[test]
    fn non_numeric_values_are_invalid_value() {
        for (k, v) in [
            ("count", "ten"),
            ("count", "1.5"),
            ("startIndex", ""),
            ("startIndex", "1e3"),
            ("count", "--1"),
        ] {
            assert!(invalid_value(q(&[(k, v)])), "{k}={v}");
        }
    }

    #[test]
    fn bad_sort_order_is_invalid_value() {
        assert!(invalid_value(q(&[("sortOrder", "up")])));
        assert_eq!(
            q(&[("sortOrder", "Ascending")]).unwrap().sort_order,
            SortOrder::Ascending
        );
    }

    #[test]
    fn projection_parameters_are_parsed() {
        let l = q(&[("excludedAttributes", ENTERPRISE_USER_SCHEMA_ID)]).unwrap();
        assert!(l.projection.excludes(&USER, ENTERPRISE_USER_SCHEMA_ID));
        let both = q(&[
            ("attributes", ENTERPRISE_USER_SCHEMA_ID),
            ("excludedAttributes", ENTERPRISE_USER_SCHEMA_ID),
        ]);
        assert!(matches!(both, Err(e) if e.scim_type == Some(ScimType::InvalidSyntax)));
    }

    #[test]
    fn blank_filter_and_sort_by_count_as_absent() {
        let l = q(&[("filter", "  "), ("sortBy", "")]).unwrap();
        assert!(l.filter.is_none() && l.sort_by.is_none());
    }

    #[test]
    fn filter_is_parsed_and_validated() {
        let l = q(&[("FILTER", "userName eq \"a@b\" and active eq true")]).unwrap();
        assert!(l.filter.is_some());
        let bad = q(&[("filter", "userName eq")]);
        assert!(matches!(bad, Err(e) if e.scim_type == Some(ScimType::InvalidFilter)));
        let bad_type = q(&[("filter", "active gt true")]);
        assert!(matches!(bad_type, Err(e) if e.scim_type == Some(ScimType::InvalidFilter)));
    }

    #[test]
    fn sort_by_must_name_a_sortable_attribute() {
        let l = q(&[("sortBy", "name.familyName")]).unwrap();
        assert_eq!(l.sort_by, Some(AttrPath::with_sub("name", "familyName")));
        let ent = format!("{ENTERPRISE_USER_SCHEMA_ID}:department");
        assert!(q(&[("sortBy", ent.as_str())]).unwrap().sort_by.is_some());
        assert!(
            q(&[("sortBy", "emails")]).is_ok(),
            "multi-valued sorts by value"
        );
        for bad in [
            "shoeSize",
            "name",
            "name.nope",
            "userName[",
            ENTERPRISE_USER_SCHEMA_ID,
        ] {
            assert!(invalid_value(q(&[("sortBy", bad)])), "{bad}");
        }
    }

    #[test]
    fn projection_paths_are_parsed_from_text() {
        let l = q(&[(
            "attributes",
            " userName , NAME.givenName,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        )])
        .unwrap();
        let user = json!({
            "schemas": [USER.schema.id], "id": "1", "userName": "a@b", "active": true,
            "name": {"givenName": "A", "familyName": "B"},
            ENTERPRISE_USER_SCHEMA_ID: {"department": "D", "costCenter": "C"}
        });
        assert_eq!(
            l.projection.apply(&USER, &user),
            json!({
                "schemas": [USER.schema.id], "id": "1", "userName": "a@b",
                "name": {"givenName": "A"},
                ENTERPRISE_USER_SCHEMA_ID: {"department": "D"}
            })
        );
        assert!(invalid_value(q(&[("attributes", "name..x")])));
    }

    #[test]
    fn list_response_has_the_rfc_shape() {
        let r = list_response(vec![json!({"id": "a"}), json!({"id": "b"})], 10, 3);
        assert_eq!(
            r,
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                "totalResults": 10,
                "itemsPerPage": 2,
                "startIndex": 3,
                "Resources": [{"id": "a"}, {"id": "b"}]
            })
        );
        assert_eq!(list_response(vec![], 0, 1)["Resources"], json!([]));
    }

    fn ids(rs: &[Value]) -> Vec<&str> {
        rs.iter().map(|r| r["id"].as_str().unwrap()).collect()
    }

    #[test]
    fn sorts_strings_case_insensitively_unless_case_exact() {
        let mut rs = vec![
            json!({"id": "b", "userName": "bob", "externalId": "b"}),
            json!({"id": "A", "userName": "Alice", "externalId": "A"}),
            json!({"id": "c", "userName": "carol", "externalId": "c"}),
        ];
        sort_resources(
            &USER,
            &mut rs,
            &AttrPath::new("USERNAME"),
            SortOrder::Ascending,
        );
        assert_eq!(ids(&rs), vec!["A", "b", "c"]);
        // externalId is caseExact: uppercase sorts before lowercase in code-point order.
        sort_resources(
            &USER,
            &mut rs,
            &AttrPath::new("externalId"),
            SortOrder::Descending,
        );
        assert_eq!(ids(&rs), vec!["c", "b", "A"]);
        rs.swap(0, 2);
        sort_resources(
            &USER,
            &mut rs,
            &AttrPath::new("externalId"),
            SortOrder::Ascending,
        );
        assert_eq!(ids(&rs), vec!["A", "b", "c"]);
    }

    #[test]
    fn missing_values_sort_last_ascending_and_first_descending() {
        let mut rs = vec![
            json!({"id": "none"}),
            json!({"id": "z", "displayName": "Zed"}),
            json!({"id": "null", "displayName": null}),
            json!({"id": "a", "displayName": "amy"}),
        ];
        let by = AttrPath::new("displayName");
        sort_resources(&USER, &mut rs, &by, SortOrder::Ascending);
        assert_eq!(ids(&rs), vec!["a", "z", "none", "null"]);
        sort_resources(&USER, &mut rs, &by, SortOrder::Descending);
        assert_eq!(ids(&rs), vec!["none", "null", "z", "a"]);
    }

    #[test]
    fn multi_valued_sorts_by_primary_or_first() {
        let mut rs = vec![
            json!({"id": "1", "emails": [{"value": "a@x"}, {"value": "z@x", "primary": true}]}),
            json!({"id": "2", "emails": [{"value": "m@x"}, {"value": "b@x"}]}),
            json!({"id": "3", "emails": {"value": "c@x"}}),
        ];
        sort_resources(
            &USER,
            &mut rs,
            &AttrPath::new("emails"),
            SortOrder::Ascending,
        );
        assert_eq!(ids(&rs), vec!["3", "2", "1"]);
        let by = AttrPath::with_sub("emails", "value");
        sort_resources(&USER, &mut rs, &by, SortOrder::Descending);
        assert_eq!(ids(&rs), vec!["1", "2", "3"]);
    }

    #[test]
    fn dates_sort_as_instants_not_text() {
        let mut rs = vec![
            json!({"id": "later", "meta": {"created": "2024-01-01T10:00:00+02:00"}}),
            json!({"id": "earlier", "meta": {"created": "2024-01-01T09:00:00Z"}}),
        ];
        // As text "…10:00:00+02:00" > "…09:00:00Z", but 08:00Z is before 09:00Z.
        let by = AttrPath::with_sub("meta", "created");
        sort_resources(&USER, &mut rs, &by, SortOrder::Ascending);
        assert_eq!(ids(&rs), vec!["later", "earlier"]);
    }

    #[test]
    fn sorts_extension_attributes_and_booleans_stably() {
        let ent = ENTERPRISE_USER_SCHEMA_ID;
        let mut rs = vec![
            json!({"id": "1", "active": true, ent: {"department": "b"}}),
            json!({"id": "2", "active": false, ent: {"department": "a"}}),
            json!({"id": "3", "active": true}),
        ];
        let by = AttrPath::new("department").with_urn(ent);
        sort_resources(&USER, &mut rs, &by, SortOrder::Ascending);
        assert_eq!(ids(&rs), vec!["2", "1", "3"]);
        sort_resources(
            &USER,
            &mut rs,
            &AttrPath::new("active"),
            SortOrder::Descending,
        );
        assert_eq!(ids(&rs), vec!["1", "3", "2"], "ties keep their order");
    }

    #[test]
    fn group_members_sort_by_their_first_value() {
        let mut rs = vec![
            json!({"id": "g1", "members": [{"value": "b"}]}),
            json!({"id": "g2", "members": [{"value": "a"}]}),
        ];
        sort_resources(
            &GROUP,
            &mut rs,
            &AttrPath::new("members"),
            SortOrder::Ascending,
        );
        assert_eq!(ids(&rs), vec!["g2", "g1"]);
    }

    #[test]
    fn search_request_body_gives_the_same_query() {
        let body = json!({
            "schemas": [SEARCH_REQUEST_SCHEMA],
            "excludedAttributes": [ENTERPRISE_USER_SCHEMA_ID],
            "startIndex": 2,
            "COUNT": "3",
            "sortOrder": "descending"
        });
        let from_body = parse_search_request(&body, &USER, 200, 100).unwrap();
        let from_query = q(&[
            ("excludedAttributes", ENTERPRISE_USER_SCHEMA_ID),
            ("startIndex", "2"),
            ("count", "3"),
            ("sortOrder", "descending"),
        ])
        .unwrap();
        assert_eq!(from_body, from_query);
    }

    fn root(members: Value) -> ScimResult<RootSearch<&'static str>> {
        let mut body = json!({"schemas": [SEARCH_REQUEST_SCHEMA]});
        for (k, v) in members.as_object().unwrap() {
            body[k] = v.clone();
        }
        parse_root_search(&body, &[("User", &USER), ("Group", &GROUP)], 200, 100)
    }
    fn order(r: &RootSearch<&'static str>) -> Vec<&'static str> {
        r.types.iter().map(|t| t.tag).collect()
    }

    #[test]
    fn a_root_search_scopes_the_filter_to_each_type() {
        let r = root(json!({})).unwrap();
        assert_eq!(order(&r), ["User", "Group"]);
        assert!(!r.interleave && r.types.iter().all(|t| t.filter.is_none()));
        let r = root(json!({"filter": "userName pr", "count": 5, "startIndex": 3})).unwrap();
        assert_eq!(order(&r), ["User"], "no group can match");
        assert_eq!((r.paging.start_index, r.paging.count), (3, 5));
        let r = root(json!({"filter": "not (userName pr)"})).unwrap();
        assert_eq!(order(&r), ["User", "Group"]);
        assert!(r.types[0].filter.is_some() && r.types[1].filter.is_none());
        let unknown = root(json!({"filter": "shoeSize eq 1"}));
        assert!(matches!(unknown, Err(e) if e.scim_type == Some(ScimType::InvalidFilter)));
        let ill_typed = root(json!({"filter": "userName gt true"}));
        assert!(matches!(ill_typed, Err(e) if e.scim_type == Some(ScimType::InvalidFilter)));
    }

    #[test]
    fn a_root_sort_interleaves_types_that_have_it_and_puts_them_first() {
        let r = root(json!({"sortBy": "displayName"})).unwrap();
        assert!(r.interleave);
        assert_eq!(order(&r), ["User", "Group"]);
        let r = root(json!({"sortBy": "members.value"})).unwrap();
        assert!(!r.interleave);
        assert_eq!(order(&r), ["Group", "User"]);
        assert!(r.types[1].sort_by.is_none());
        let r = root(json!({"sortBy": "userName", "filter": "members pr"})).unwrap();
        assert_eq!(
            order(&r),
            ["Group"],
            "sorting by what no matching type has is no error"
        );
        let unknown = root(json!({"sortBy": "shoeSize"}));
        assert!(matches!(unknown, Err(e) if e.scim_type == Some(ScimType::InvalidValue)));
        let complex = root(json!({"sortBy": "name"}));
        assert!(
            matches!(&complex, Err(e) if e.detail.contains("complex")),
            "{complex:?}"
        );
    }

    #[test]
    fn merging_orders_by_the_key_with_missing_values_last_either_way() {
        let a = json!({"displayName": "b"});
        let b = json!({"displayName": "A"});
        let none = json!({});
        let by = AttrPath::new("displayName");
        let cmp = |x: &Value, y: &Value, o| merge_order((&USER, x), (&GROUP, y), &by, o);
        assert_eq!(cmp(&a, &b, SortOrder::Ascending), Ordering::Greater);
        assert_eq!(cmp(&a, &b, SortOrder::Descending), Ordering::Less);
        for o in [SortOrder::Ascending, SortOrder::Descending] {
            assert_eq!(cmp(&none, &a, o), Ordering::Greater);
            assert_eq!(cmp(&a, &none, o), Ordering::Less);
            assert_eq!(cmp(&none, &none, o), Ordering::Equal);
        }
    }

    #[test]
    fn search_request_needs_its_schema_and_well_typed_members() {
        let no_schema = parse_search_request(&json!({"count": 1}), &USER, 200, 100);
        assert!(matches!(no_schema, Err(e) if e.scim_type == Some(ScimType::InvalidSyntax)));
        let not_object = parse_search_request(&json!([1]), &USER, 200, 100);
        assert!(matches!(not_object, Err(e) if e.scim_type == Some(ScimType::InvalidSyntax)));
        let bad = json!({"schemas": [SEARCH_REQUEST_SCHEMA], "count": true});
        assert!(invalid_value(parse_search_request(&bad, &USER, 200, 100)));
        let bad = json!({"schemas": [SEARCH_REQUEST_SCHEMA], "attributes": [1]});
        assert!(invalid_value(parse_search_request(&bad, &USER, 200, 100)));
        let bad = json!({"schemas": [SEARCH_REQUEST_SCHEMA], "count": 1.5});
        assert!(invalid_value(parse_search_request(&bad, &USER, 200, 100)));
    }
}
