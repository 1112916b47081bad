//! Fuzz target `report`: see `spillway::fuzzing::report`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| spillway::fuzzing::report(data));
