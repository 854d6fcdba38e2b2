#![no_main]

// A filter query parameter or PATCH path: parse, print and reparse, validate, evaluate, and
// translate to SQLite (see `scimdesk::fuzzing::filter`).

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| scimdesk::fuzzing::filter(data));
