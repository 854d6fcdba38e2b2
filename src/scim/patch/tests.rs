use super::*;
use crate::scim::error::ScimResult;
use crate::scim::filter::{CompValue, CompareOp, Filter, PatchPath};
use crate::scim::schema::{GROUP, PATCH_OP_SCHEMA, ResourceTypeDef};
use serde_json::Value;

use crate::scim::ScimType;
use crate::scim::path::AttrPath;
use crate::scim::schema::{ENTERPRISE_USER_SCHEMA_ID, USER};
use proptest::prelude::*;
use serde_json::json;

const ENT: &str = ENTERPRISE_USER_SCHEMA_ID;

fn body(ops: Value) -> Value {
    json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ops})
}

fn patch(rt: &ResourceTypeDef, res: &Value, ops: Value) -> ScimResult<PatchOutcome> {
    apply_patch(rt, res, &parse_patch_request(&body(ops))?)
}

fn patched(rt: &ResourceTypeDef, res: &Value, ops: Value) -> Value {
    patch(rt, res, ops).unwrap().resource
}

fn err(rt: &ResourceTypeDef, res: &Value, ops: Value) -> ScimType {
    patch(rt, res, ops).unwrap_err().scim_type.unwrap()
}

fn user() -> Value {
    json!({
        "userName": "ann@x.io",
        "active": true,
        "name": {"givenName": "Ann", "familyName": "Lee"},
        "emails": [{"value": "ann@x.io", "type": "work", "primary": true}],
        "externalId": "e1",
    })
}

fn group(ids: &[&str]) -> Value {
    let members: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
    let mut g = json!({"displayName": "Eng"});
    if !members.is_empty() {
        g["members"] = Value::Array(members);
    }
    g
}

fn member_ids_of(g: &Value) -> Vec<String> {
    g.get("members")
        .and_then(Value::as_array)
        .map(|m| {
            m.iter()
                .map(|e| e["value"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn op_names_and_keys_match_in_any_case() {
    for name in ["add", "ADD", "Add", "rEpLaCe", "Remove"] {
        let b = json!({"SCHEMAS": [PATCH_OP_SCHEMA.to_uppercase()],
            "operations": [{"OP": name, "Path": "title", "VALUE": "x"}]});
        let ops = parse_patch_request(&b).unwrap();
        assert_eq!(ops[0].op.as_str(), name.to_ascii_lowercase());
        assert_eq!(ops[0].path.as_ref().unwrap().attr.name, "title");
        assert_eq!(ops[0].value, Some(json!("x")));
    }
}

#[test]
fn request_errors() {
    let cases = [
        (
            json!({"Operations": [{"op": "add", "value": {}}]}),
            ScimType::InvalidSyntax,
        ),
        (json!([]), ScimType::InvalidSyntax),
        (body(json!([])), ScimType::InvalidSyntax),
        (body(json!({"op": "add"})), ScimType::InvalidSyntax),
        (
            body(json!([{"op": "merge", "path": "title", "value": "x"}])),
            ScimType::InvalidSyntax,
        ),
        (
            body(json!([{"path": "title", "value": "x"}])),
            ScimType::InvalidSyntax,
        ),
        (
            body(json!([{"op": "add", "path": "title"}])),
            ScimType::InvalidSyntax,
        ),
        (body(json!([{"op": "remove"}])), ScimType::NoTarget),
        (
            body(json!([{"op": "remove", "path": ""}])),
            ScimType::NoTarget,
        ),
        (
            body(json!([{"op": "replace", "path": "emails[type eq \"work\"", "value": "x"}])),
            ScimType::InvalidPath,
        ),
        (
            body(json!([{"op": "replace", "path": 5, "value": "x"}])),
            ScimType::InvalidPath,
        ),
        (body(json!(["add"])), ScimType::InvalidSyntax),
    ];
    for (b, t) in cases {
        let e = parse_patch_request(&b).unwrap_err();
        assert_eq!(e.scim_type, Some(t), "{b}");
    }
}

#[test]
fn add_members_appends_and_never_replaces() {
    let g = group(&["a", "b"]);
    let out = patched(
        &GROUP,
        &g,
        json!([{"op": "add", "path": "members", "value": [{"value": "c"}]}]),
    );
    assert_eq!(member_ids_of(&out), ["a", "b", "c"]);
    // Path-less add of members also appends.
    let out = patched(
        &GROUP,
        &g,
        json!([{"op": "Add", "value": {"members": [{"value": "c", "display": "C"}]}}]),
    );
    assert_eq!(member_ids_of(&out), ["a", "b", "c"]);
    // Into an empty group, and a lone object for the array.
    let out = patched(
        &GROUP,
        &group(&[]),
        json!([{"op": "add", "path": "members", "value": {"value": "z"}}]),
    );
    assert_eq!(member_ids_of(&out), ["z"]);
}

#[test]
fn add_existing_member_is_a_no_op() {
    let g = group(&["a", "b"]);
    let out = patch(
        &GROUP,
        &g,
        json!([{"op": "add", "path": "members",
        "value": [{"value": "a", "type": "User"}, {"value": "b"}]}]),
    )
    .unwrap();
    assert_eq!(member_ids_of(&out.resource), ["a", "b"]);
    assert!(!out.changed);
}

#[test]
fn entra_remove_with_value_removes_only_the_listed_members() {
    let g = group(&["a", "b", "c"]);
    let out = patched(
        &GROUP,
        &g,
        json!([{"op": "Remove", "path": "members",
        "value": [{"value": "b"}, {"value": "not-a-member"}]}]),
    );
    assert_eq!(member_ids_of(&out), ["a", "c"]);
    // The last member goes: the attribute becomes unassigned, not an empty list.
    let out = patched(
        &GROUP,
        &group(&["a"]),
        json!([{"op": "remove", "path": "members", "value": [{"value": "a"}]}]),
    );
    assert!(out.get("members").is_none());
    // An empty list names nobody.
    let out = patch(
        &GROUP,
        &g,
        json!([{"op": "remove", "path": "members", "value": []}]),
    )
    .unwrap();
    assert!(!out.changed);
}

#[test]
fn remove_with_value_filter_and_without() {
    let g = group(&["a", "b"]);
    let out = patched(
        &GROUP,
        &g,
        json!([{"op": "remove", "path": "members[value eq \"a\"]"}]),
    );
    assert_eq!(member_ids_of(&out), ["b"]);
    // Member ids are caseExact.
    let out = patch(
        &GROUP,
        &g,
        json!([{"op": "remove", "path": "members[value eq \"A\"]"}]),
    )
    .unwrap();
    assert!(!out.changed);
    let out = patched(&GROUP, &g, json!([{"op": "remove", "path": "members"}]));
    assert_eq!(out, json!({"displayName": "Eng"}));
}

#[test]
fn replace_members_replaces_the_list() {
    let g = group(&["a", "b"]);
    let out = patched(
        &GROUP,
        &g,
        json!([{"op": "replace", "path": "members", "value": [{"value": "c"}]}]),
    );
    assert_eq!(member_ids_of(&out), ["c"]);
    let out = patched(
        &GROUP,
        &g,
        json!([{"op": "replace", "value": {"members": [], "displayName": "Ops"}}]),
    );
    assert_eq!(out, json!({"displayName": "Ops"}));
}

#[test]
fn entra_boolean_strings_and_types() {
    let out = patch(
        &USER,
        &user(),
        json!([{"op": "Replace", "path": "active", "value": "False"}]),
    )
    .unwrap();
    assert_eq!(out.resource["active"], false);
    assert!(out.changed);
    let e = patch(
        &USER,
        &user(),
        json!([
        {"op": "Replace", "path": "displayName", "value": "Changed"},
        {"op": "Replace", "path": "active", "value": "Nope"}]),
    )
    .unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
    assert_eq!(e.detail, "active: expected a boolean");
}

#[test]
fn replace_work_email_value_updates_or_creates() {
    let out = patched(
        &USER,
        &user(),
        json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@x.io"}]),
    );
    assert_eq!(
        out["emails"],
        json!([{"value": "new@x.io", "type": "work", "primary": true}])
    );
    let mut u = user();
    u.as_object_mut().unwrap().remove("emails");
    let out = patched(
        &USER,
        &u,
        json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "w@x.io"}]),
    );
    assert_eq!(out["emails"], json!([{"type": "work", "value": "w@x.io"}]));
    let out = patched(
        &USER,
        &user(),
        json!([{"op": "add", "path": "emails[type eq \"home\"]", "value": {"value": "h@x.io"}}]),
    );
    assert_eq!(out["emails"][1], json!({"type": "home", "value": "h@x.io"}));
}

#[test]
fn value_filter_that_cannot_describe_an_element_is_no_target() {
    let ops = [PatchOp {
        op: PatchOpKind::Replace,
        path: Some(PatchPath {
            attr: AttrPath::new("emails"),
            filter: Some(Filter::Present(AttrPath::new("display"))),
            sub_attr: Some("value".into()),
        }),
        value: Some(json!("x@x.io")),
    }];
    let e = apply_patch(&USER, &user(), &ops).unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::NoTarget));
}

#[test]
fn replace_whole_filtered_element() {
    let u = patched(
        &USER,
        &user(),
        json!([{"op": "add", "path": "emails", "value": [{"value": "h@x.io", "type": "home"}]}]),
    );
    let out = patched(
        &USER,
        &u,
        json!([{"op": "replace", "path": "emails[type eq \"home\"]", "value": {"value": "h2@x.io", "type": "home", "display": "Home"}}]),
    );
    assert_eq!(
        out["emails"][1],
        json!({"value": "h2@x.io", "type": "home", "display": "Home"})
    );
    assert_eq!(out["emails"][0], u["emails"][0]);
    let out = patched(
        &USER,
        &u,
        json!([{"op": "remove", "path": "emails[type eq \"home\"].value"}]),
    );
    assert_eq!(out["emails"][1], json!({"type": "home"}));
}

#[test]
fn primary_moves_to_the_new_value() {
    let out = patched(
        &USER,
        &user(),
        json!([{"op": "add", "path": "emails",
        "value": [{"value": "b@x.io", "type": "home", "primary": "True"}]}]),
    );
    assert_eq!(
        out["emails"],
        json!([
        {"value": "ann@x.io", "type": "work"},
        {"value": "b@x.io", "type": "home", "primary": true}])
    );
}

#[test]
fn sub_attribute_paths() {
    let out = patched(
        &USER,
        &user(),
        json!([{"op": "replace", "path": "name.givenName", "value": "Anna"}]),
    );
    assert_eq!(
        out["name"],
        json!({"givenName": "Anna", "familyName": "Lee"})
    );
    let out = patched(
        &USER,
        &user(),
        json!([{"op": "replace", "path": "NAME", "value": {"formatted": "Ann Lee"}}]),
    );
    assert_eq!(
        out["name"],
        json!({"givenName": "Ann", "familyName": "Lee", "formatted": "Ann Lee"})
    );
    let out = patched(
        &USER,
        &user(),
        json!([{"op": "remove", "path": "name.givenName"}, {"op": "remove", "path": "name.familyName"}]),
    );
    assert!(out.get("name").is_none());
    assert_eq!(
        err(
            &USER,
            &user(),
            json!([{"op": "add", "path": "emails.value", "value": "x"}])
        ),
        ScimType::InvalidPath
    );
    assert_eq!(
        err(
            &USER,
            &user(),
            json!([{"op": "add", "path": "name.nope", "value": "x"}])
        ),
        ScimType::InvalidPath
    );
    assert_eq!(
        err(
            &USER,
            &user(),
            json!([{"op": "add", "path": "favouriteColour", "value": "x"}])
        ),
        ScimType::InvalidPath
    );
    assert_eq!(
        err(
            &USER,
            &user(),
            json!([{"op": "add", "path": "name[givenName eq \"Ann\"]", "value": "x"}])
        ),
        ScimType::InvalidPath
    );
}

#[test]
fn remove_with_a_value_list_follows_case_exactness() {
    let u = json!({"userName": "ada@example.com",
        "emails": [{"value": "ada@example.com", "type": "work"}, {"value": "ada@home.example", "type": "home"}]});
    let out = patched(
        &USER,
        &u,
        json!([{"op": "Remove", "path": "emails", "value": [{"value": "ADA@EXAMPLE.COM"}]}]),
    );
    assert_eq!(
        out["emails"],
        json!([{"value": "ada@home.example", "type": "home"}])
    );
    // members.value is caseExact: another case names another member.
    let g = json!({"displayName": "G", "members": [{"value": "abc"}]});
    let out = patched(
        &GROUP,
        &g,
        json!([{"op": "remove", "path": "members", "value": [{"value": "ABC"}]}]),
    );
    assert_eq!(out["members"], json!([{"value": "abc"}]));
}

#[test]
fn urn_qualified_paths() {
    let out = patched(
        &USER,
        &user(),
        json!([
        {"op": "add", "path": format!("{ENT}:department"), "value": "R&D"},
        {"op": "replace", "path": format!("{ENT}:manager.value"), "value": "m1"},
        {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:title", "value": "CTO"}]),
    );
    assert_eq!(
        out[ENT],
        json!({"department": "R&D", "manager": {"value": "m1"}})
    );
    assert_eq!(out["title"], "CTO");
    let out2 = patched(
        &USER,
        &out,
        json!([{"op": "remove", "path": format!("{ENT}:department")}, {"op": "remove", "path": format!("{ENT}:manager")}]),
    );
    assert!(
        out2.get(ENT).is_none(),
        "an empty extension object is dropped"
    );
    let out3 = patched(
        &USER,
        &user(),
        json!([{"op": "add", "path": ENT, "value": {"costCenter": "42", "bogus": 1}}]),
    );
    assert_eq!(out3[ENT], json!({"costCenter": "42"}));
    let out4 = patched(&USER, &out, json!([{"op": "remove", "path": ENT}]));
    assert!(out4.get(ENT).is_none());
}

#[test]
fn path_less_values_expand_dotted_and_urn_keys() {
    let out = patched(
        &USER,
        &user(),
        json!([{"op": "Replace", "value": {
        format!("{ENT}:department"): "Engineering",
        format!("{ENT}:employeeNumber"): "701984",
        "name.givenName": "Barbara",
        "title": "Tour Guide",
        "unknownThing": 3}}]),
    );
    assert_eq!(
        out[ENT],
        json!({"department": "Engineering", "employeeNumber": "701984"})
    );
    assert_eq!(
        out["name"],
        json!({"givenName": "Barbara", "familyName": "Lee"})
    );
    assert_eq!(out["title"], "Tour Guide");
    let keys: Vec<&String> = out.as_object().unwrap().keys().collect();
    assert!(
        keys.iter().all(|k| !k.contains('.') || k.as_str() == ENT),
        "{keys:?}"
    );
    let out = patched(
        &USER,
        &user(),
        json!([{"op": "add", "value": {ENT: {"division": "Cloud", "manager.value": "m9"}}}]),
    );
    assert_eq!(
        out[ENT],
        json!({"division": "Cloud", "manager": {"value": "m9"}})
    );
}

#[test]
fn okta_read_only_attributes_in_path_less_replace_are_ignored() {
    let out = patch(
        &USER,
        &user(),
        json!([{"op": "replace", "value": {
        "id": "other", "meta": {"version": "x"}, "schemas": ["urn:x"], "groups": [{"value": "g"}],
        "active": true}}]),
    )
    .unwrap();
    assert!(!out.changed);
    assert_eq!(out.resource, user());
}

#[test]
fn read_only_and_immutable_paths_are_mutability_errors() {
    assert_eq!(
        err(
            &USER,
            &user(),
            json!([{"op": "replace", "path": "id", "value": "x"}])
        ),
        ScimType::Mutability
    );
    assert_eq!(
        err(
            &USER,
            &user(),
            json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}])
        ),
        ScimType::Mutability
    );
    assert_eq!(
        err(
            &USER,
            &user(),
            json!([{"op": "replace", "path": format!("{ENT}:manager.displayName"), "value": "B"}])
        ),
        ScimType::Mutability
    );
    let g = group(&["a"]);
    assert_eq!(
        err(
            &GROUP,
            &g,
            json!([{"op": "replace", "path": "members[value eq \"a\"].value", "value": "b"}])
        ),
        ScimType::Mutability
    );
    assert_eq!(
        err(
            &GROUP,
            &g,
            json!([{"op": "replace", "path": "members[value eq \"a\"]", "value": {"value": "b"}}])
        ),
        ScimType::Mutability
    );
    // Writing the value it already has is not a change.
    let out = patch(
        &GROUP,
        &g,
        json!([{"op": "replace", "path": "members[value eq \"a\"].value", "value": "a"}]),
    )
    .unwrap();
    assert!(!out.changed);
}

#[test]
fn password_is_returned_not_stored() {
    let out = patch(
        &USER,
        &user(),
        json!([{"op": "replace", "value": {"password": "newpassword1"}}]),
    )
    .unwrap();
    assert_eq!(out.password.as_deref(), Some("newpassword1"));
    assert_eq!(out.resource, user());
    let out = patch(
        &USER,
        &user(),
        json!([{"op": "replace", "path": "password", "value": "p2"}]),
    )
    .unwrap();
    assert_eq!(out.password.as_deref(), Some("p2"));
    assert!(out.resource.get("password").is_none());
}

#[test]
fn required_attributes_cannot_be_removed() {
    assert_eq!(
        err(
            &USER,
            &user(),
            json!([{"op": "remove", "path": "userName"}])
        ),
        ScimType::InvalidValue
    );
    assert_eq!(
        err(
            &GROUP,
            &group(&[]),
            json!([{"op": "replace", "path": "displayName", "value": null}])
        ),
        ScimType::InvalidValue
    );
}

#[test]
fn unchanged_results_report_no_change() {
    let out = patch(&USER, &user(), json!([
        {"op": "replace", "path": "userName", "value": "ann@x.io"},
        {"op": "remove", "path": "title"},
        {"op": "add", "path": "emails", "value": {"value": "ann@x.io", "type": "work", "primary": true}}])).unwrap();
    assert!(!out.changed);
    let out = patch(
        &USER,
        &user(),
        json!([{"op": "replace", "path": "userName", "value": "bob@x.io"}]),
    )
    .unwrap();
    assert!(out.changed);
}

#[test]
fn path_less_value_must_be_an_object() {
    assert_eq!(
        err(&USER, &user(), json!([{"op": "replace", "value": "x"}])),
        ScimType::InvalidValue
    );
    assert_eq!(
        err(
            &USER,
            &user(),
            json!([{"op": "replace", "value": {"active": "maybe"}}])
        ),
        ScimType::InvalidValue
    );
}

#[test]
fn planner_splits_member_changes_from_the_rest() {
    let ops = parse_patch_request(&body(json!([
        {"op": "Add", "path": "members", "value": [{"value": "a"}, {"value": "b"}]},
        {"op": "Remove", "path": "members", "value": [{"value": "a"}]},
        {"op": "remove", "path": "members[value eq \"b\"]"},
        {"op": "replace", "value": {"displayName": "Ops", "members": [{"value": "c"}]}},
        {"op": "remove", "path": "members"},
    ])))
    .unwrap();
    let plan = plan_group_patch(&ops).unwrap().unwrap();
    assert_eq!(
        plan.member_changes,
        vec![
            MemberChange::Add(vec!["a".into(), "b".into()]),
            MemberChange::Remove(vec!["a".into()]),
            MemberChange::Remove(vec!["b".into()]),
            MemberChange::ReplaceAll(vec!["c".into()]),
            MemberChange::RemoveAll,
        ]
    );
    assert_eq!(plan.other_ops.len(), 1);
    assert_eq!(plan.other_ops[0].value, Some(json!({"displayName": "Ops"})));
    let ops = parse_patch_request(&body(json!([
        {"op": "remove", "path": "members[value eq \"a\" or VALUE eq \"b\"]"},
        {"op": "remove", "path": "urn:ietf:params:scim:schemas:core:2.0:Group:members[value eq \"c\"]"},
    ])))
    .unwrap();
    let plan = plan_group_patch(&ops).unwrap().unwrap();
    assert_eq!(
        plan.member_changes,
        vec![
            MemberChange::Remove(vec!["a".into(), "b".into()]),
            MemberChange::Remove(vec!["c".into()]),
        ]
    );
    assert!(plan.other_ops.is_empty());
}

#[test]
fn planner_falls_back_when_it_needs_the_members() {
    for ops in [
        json!([{"op": "replace", "path": "members[value eq \"a\"].display", "value": "x"}]),
        json!([{"op": "add", "path": "members[value eq \"a\"]", "value": {"value": "a"}}]),
        json!([{"op": "add", "path": "members", "value": [{"type": "User"}]}]),
    ] {
        let ops = parse_patch_request(&body(ops)).unwrap();
        assert_eq!(plan_group_patch(&ops).unwrap(), None);
    }
    let ops = [PatchOp {
        op: PatchOpKind::Remove,
        path: Some(PatchPath {
            attr: AttrPath::new("members"),
            filter: Some(Filter::Compare(
                AttrPath::new("value"),
                CompareOp::Co,
                CompValue::Str("a".into()),
            )),
            sub_attr: None,
        }),
        value: None,
    }];
    assert_eq!(plan_group_patch(&ops).unwrap(), None);
    let bad = parse_patch_request(&body(
        json!([{"op": "add", "path": "members", "value": [{"value": 5}]}]),
    ))
    .unwrap();
    assert!(plan_group_patch(&bad).is_err());
}

fn id() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["a", "b", "c", "d", "e"]).prop_map(String::from)
}

fn ids() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(id(), 0..4)
}

fn members_value(ids: &[String]) -> Value {
    Value::Array(ids.iter().map(|i| json!({"value": i})).collect())
}

/// A member operation in one of the shapes IdPs send.
fn member_op() -> impl Strategy<Value = Value> {
    prop_oneof![
        ids().prop_map(|i| json!({"op": "add", "path": "members", "value": members_value(&i)})),
        ids().prop_map(|i| json!({"op": "Add", "value": {"members": members_value(&i)}})),
        ids().prop_map(|i| json!({"op": "remove", "path": "members", "value": members_value(&i)})),
        id().prop_map(|i| json!({"op": "remove", "path": format!("members[value eq \"{i}\"]")})),
        Just(json!({"op": "remove", "path": "members"})),
        ids().prop_map(|i| json!({"op": "replace", "path": "members", "value": members_value(&i)})),
        ids().prop_map(|i| json!({"op": "replace", "value": {"members": members_value(&i), "displayName": "G"}})),
        "[a-z]{1,4}".prop_map(|n| json!({"op": "replace", "path": "displayName", "value": n})),
    ]
}

fn random_user() -> impl Strategy<Value = Value> {
    (
        "[a-z]{1,6}",
        prop::option::of("[A-Z][a-z]{0,5}"),
        prop::option::of(any::<bool>()),
        prop::collection::vec("[a-z]{1,4}@x\\.io", 0..3),
    )
        .prop_map(|(un, given, active, emails)| {
            let mut u = json!({"userName": format!("{un}@x.io")});
            if let Some(g) = given {
                u["name"] = json!({"givenName": g});
            }
            if let Some(a) = active {
                u["active"] = json!(a);
            }
            let mut seen = Vec::new();
            for e in emails {
                if !seen.contains(&e) {
                    seen.push(e);
                }
            }
            if !seen.is_empty() {
                u["emails"] = Value::Array(
                    seen.iter()
                        .map(|e| json!({"value": e, "type": "home"}))
                        .collect(),
                );
            }
            u
        })
}

/// The README's matching rule of `tests/idp`: objects by subset, arrays paired in any order.
fn corpus_matches(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => e
            .iter()
            .all(|(k, v)| a.get(k).is_some_and(|av| corpus_matches(v, av))),
        (Value::Array(e), Value::Array(a)) => {
            let mut used = vec![false; a.len()];
            e.len() == a.len()
                && e.iter().all(|ev| {
                    let hit = (0..a.len()).find(|&i| !used[i] && corpus_matches(ev, &a[i]));
                    hit.map(|i| used[i] = true).is_some()
                })
        }
        _ => expected == actual,
    }
}

/// Replays the PATCH cases of the IdP corpus at this level (no HTTP, no store).
#[test]
fn idp_corpus_patch_cases() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/idp");
    let mut replayed = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let case: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        if case["request"]["method"] != "PATCH" {
            continue;
        }
        let rt = if case["resource_type"] == "Group" {
            &GROUP
        } else {
            &USER
        };
        let result = parse_patch_request(&case["request"]["body"])
            .and_then(|ops| apply_patch(rt, &case["initial"], &ops));
        let expect = &case["expect"];
        let name = path.display();
        match result {
            Ok(out) => {
                assert_eq!(expect["status"], 200, "{name}: {out:?}");
                if let Some(r) = expect.get("resource") {
                    assert!(corpus_matches(r, &out.resource), "{name}: {}", out.resource);
                }
                for key in expect["absent"].as_array().into_iter().flatten() {
                    assert!(
                        out.resource.get(key.as_str().unwrap()).is_none(),
                        "{name}: {key}"
                    );
                }
            }
            Err(e) => {
                assert_eq!(expect["status"], e.status, "{name}: {e}");
                assert_eq!(expect["scimType"], e.scim_type.unwrap().as_str(), "{name}");
            }
        }
        replayed += 1;
    }
    assert!(replayed >= 20, "only {replayed} PATCH cases found");
}

/// No nulls, no empty objects or arrays, no dotted or URN-qualified keys below the top.
fn canonical(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Array(a) => !a.is_empty() && a.iter().all(canonical),
        Value::Object(o) => {
            !o.is_empty()
                && o.iter().all(|(k, v)| {
                    (k == ENT || !(k.contains('.') || k.contains(':'))) && canonical(v)
                })
        }
        _ => true,
    }
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        prop::sample::select(vec![
            "value",
            "members",
            "True",
            "a",
            "work",
            "",
            "urn:x",
            "name.givenName",
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn key() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "value",
        "members",
        "emails",
        "name",
        "name.givenName",
        "active",
        "type",
        "primary",
        "displayName",
        "id",
        "meta",
        "password",
        "userName",
        "$ref",
        "display",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        "urn:ietf:params:scim:schemas:core:2.0:Group:members",
    ])
    .prop_map(String::from)
}

fn any_path() -> impl Strategy<Value = Value> {
    prop::sample::select(vec![
        "members",
        "members[value eq \"a\"]",
        "members[value eq \"a\"].display",
        "members.value",
        "emails[type eq \"work\"].value",
        "emails[type eq \"work\"]",
        "emails",
        "name",
        "name.givenName",
        "active",
        "userName",
        "displayName",
        "id",
        "groups",
        "password",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        "urn:ietf:params:scim:schemas:core:2.0:Group:members",
        "nope",
        "emails[",
    ])
    .prop_map(Value::from)
}

proptest! {
    #[test]
    fn arbitrary_operations_never_panic(
        ops in prop::collection::vec(
            (prop::sample::select(vec!["add", "Remove", "REPLACE"]),
             prop::option::of(any_path()),
             prop::option::of(any_json())),
            1..5),
    ) {
        let ops: Vec<Value> = ops
            .into_iter()
            .map(|(op, path, value)| {
                let mut o = json!({"op": op});
                if let Some(p) = path { o["path"] = p; }
                if let Some(v) = value { o["value"] = v; }
                o
            })
            .collect();
        if let Ok(ops) = parse_patch_request(&body(Value::Array(ops))) {
            for (rt, res) in [(&USER, user()), (&GROUP, group(&["a", "b"]))] {
                if let Ok(out) = apply_patch(rt, &res, &ops) {
                    prop_assert!(canonical(&out.resource), "{}", out.resource);
                    prop_assert_eq!(out.changed, out.resource != res);
                }
            }
            let _ = plan_group_patch(&ops);
        }
    }

    #[test]
    fn plan_agrees_with_apply_patch(initial in ids(), ops in prop::collection::vec(member_op(), 1..6)) {
        let mut start: Vec<String> = Vec::new();
        apply_member_changes(&mut start, &[MemberChange::Add(initial)]);
        let refs: Vec<&str> = start.iter().map(String::as_str).collect();
        let g = group(&refs);
        let ops = parse_patch_request(&body(Value::Array(ops))).unwrap();
        let full = apply_patch(&GROUP, &g, &ops).unwrap().resource;
        let plan = plan_group_patch(&ops).unwrap().expect("these shapes never need the list");
        let mut members = start.clone();
        apply_member_changes(&mut members, &plan.member_changes);
        prop_assert_eq!(&members, &member_ids_of(&full));
        let rest = apply_patch(&GROUP, &json!({"displayName": "Eng"}), &plan.other_ops).unwrap().resource;
        prop_assert_eq!(&rest["displayName"], &full["displayName"]);
    }

    #[test]
    fn add_then_remove_member_restores(initial in ids(), new in "[f-z][0-9a-f]{0,8}") {
        let mut start: Vec<String> = Vec::new();
        apply_member_changes(&mut start, &[MemberChange::Add(initial)]);
        let refs: Vec<&str> = start.iter().map(String::as_str).collect();
        let g = group(&refs);
        for remove in [
            json!({"op": "remove", "path": format!("members[value eq \"{new}\"]")}),
            json!({"op": "Remove", "path": "members", "value": [{"value": new}]}),
        ] {
            let out = patch(&GROUP, &g, json!([{"op": "add", "path": "members", "value": [{"value": new}]}, remove])).unwrap();
            prop_assert_eq!(&out.resource, &g);
            prop_assert!(!out.changed);
        }
    }

    #[test]
    fn add_then_remove_restores_a_user(u in random_user(), email in "[a-z]{5,8}@y\\.io", title in "[a-z]{1,8}") {
        let had_title = u.get("title").is_some();
        prop_assume!(!had_title);
        let out = patch(&USER, &u, json!([
            {"op": "add", "path": "emails", "value": [{"value": email, "type": "other"}]},
            {"op": "add", "path": "title", "value": title},
            {"op": "remove", "path": format!("emails[value eq \"{email}\"]")},
            {"op": "remove", "path": "title"}])).unwrap();
        prop_assert_eq!(&out.resource, &u);
        prop_assert!(!out.changed);
    }

    #[test]
    fn a_failing_op_leaves_the_resource_untouched(u in random_user(), good in prop::collection::vec("[a-z]{1,5}", 0..5), at in 0usize..6) {
        let snapshot = u.clone();
        let mut ops: Vec<Value> = good.iter().map(|t| json!({"op": "replace", "path": "title", "value": t})).collect();
        let at = at.min(ops.len());
        ops.insert(at, json!({"op": "replace", "path": "active", "value": "Nope"}));
        let e = patch(&USER, &u, Value::Array(ops)).unwrap_err();
        prop_assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
        prop_assert_eq!(&u, &snapshot);
    }
}
