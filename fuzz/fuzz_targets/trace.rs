//! Fuzz target `trace`: see `spillway::fuzzing::trace`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| spillway::fuzzing::trace(data));
