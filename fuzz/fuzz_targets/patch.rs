#![no_main]

// A PATCH body: the engine on a user and a group, and the server's path with the group-member
// fast path checked against the engine (see `scimdesk::fuzzing::patch`).

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| scimdesk::fuzzing::patch(data));
