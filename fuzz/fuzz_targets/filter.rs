#![no_main]

use libfuzzer_sys::fuzz_target;
use scimdesk::scim::filter::{parse_filter, parse_patch_path, validate};
use scimdesk::scim::path::AttrPath;
use scimdesk::scim::schema::USER;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_patch_path(text);
    let _ = AttrPath::parse(text);
    if let Ok(f) = parse_filter(text) {
        // The canonical text must parse back to the same AST.
        let printed = f.to_string();
        let again = parse_filter(&printed)
            .unwrap_or_else(|e| panic!("printed filter {printed:?} does not parse: {e}"));
        assert_eq!(again, f, "{printed:?}");
        let _ = validate(&f, &USER);
    }
});
