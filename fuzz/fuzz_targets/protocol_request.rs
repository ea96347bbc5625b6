//! A detection request through a detector's router, no socket. Input: one
//! byte choosing the path (see `mockdet::fuzzing::protocol_request`), then
//! `name: value` header lines, a blank line, and the body.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let (headers, body) = mockdet::fuzzing::split_headers(rest);
    mockdet::fuzzing::protocol_request(selector, &headers, body);
});
