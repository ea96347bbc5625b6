//! The `X-Mock-*` override headers. Input: `name: value` lines.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut head = data.to_vec();
    head.extend_from_slice(b"\n\n");
    let (headers, _) = mockdet::fuzzing::split_headers(&head);
    mockdet::fuzzing::override_headers(&headers);
});
