//! Fuzz target `set_grid`: see `spillway::fuzzing::set_grid`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| spillway::fuzzing::set_grid(data));
