#![no_main]

use libfuzzer_sys::fuzz_target;
use scimdesk::scim::patch::{apply_patch, parse_patch_request, plan_group_patch};
use scimdesk::scim::schema::{GROUP, USER};
use serde_json::{Value, json};

// Arbitrary bytes → JSON → parse_patch_request → apply_patch on a fixed user and group, and
// the group planner: none of it may panic, whatever the input.
fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Ok(ops) = parse_patch_request(&body) else {
        return;
    };
    let user = json!({
        "userName": "ann@x.io",
        "active": true,
        "name": {"givenName": "Ann", "familyName": "Lee"},
        "emails": [{"value": "ann@x.io", "type": "work", "primary": true}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D"},
    });
    let group = json!({"displayName": "Eng", "members": [{"value": "a"}, {"value": "b"}]});
    let _ = apply_patch(&USER, &user, &ops);
    let _ = apply_patch(&GROUP, &group, &ops);
    let _ = plan_group_patch(&ops);
});
