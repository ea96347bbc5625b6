//! `PATCH /admin/profile`'s merge: input is `target JSON \0 patch JSON`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (target, patch) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    mockdet::fuzzing::merge_patch(target, patch);
});
