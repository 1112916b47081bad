//! Fuzz target `telemetry`: see `spillway::fuzzing::telemetry`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| spillway::fuzzing::telemetry(data));
