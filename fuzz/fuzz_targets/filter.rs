#![no_main]

use libfuzzer_sys::fuzz_target;
use scimdesk::scim::filter::{matches, parse_filter, parse_patch_path, validate};
use scimdesk::scim::path::AttrPath;
use scimdesk::scim::schema::USER;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(filter) = parse_filter(text) {
        let printed = filter.to_string();
        let again = parse_filter(&printed)
            .unwrap_or_else(|e| panic!("printed filter {printed:?} does not parse: {e}"));
        assert_eq!(again, filter, "{printed}");
        if validate(&filter, &USER).is_ok() {
            let user = serde_json::json!({"userName": "a@b.c", "emails": [{"value": "x"}]});
            let _ = matches(&filter, &user, &USER);
        }
    }
    if let Ok(path) = parse_patch_path(text)
        && let Some(filter) = path.filter
    {
        assert_eq!(parse_filter(&filter.to_string()).ok(), Some(filter));
    }
    let _ = AttrPath::parse(text);
});
