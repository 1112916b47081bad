//! Fuzz target `merge`: see `spillway::fuzzing::merge`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| spillway::fuzzing::merge(data));
