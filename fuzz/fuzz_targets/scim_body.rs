#![no_main]

// A whole SCIM request body (first byte: user/group, POST-PUT/PATCH), through the functions
// the handlers call (see `scimdesk::fuzzing::scim_body`).

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| scimdesk::fuzzing::scim_body(data));
