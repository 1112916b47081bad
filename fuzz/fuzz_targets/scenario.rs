//! Fuzz target `scenario`: see `spillway::fuzzing::scenario`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| spillway::fuzzing::scenario(data));
