//! Spillway placeholder; crate docs are written with the engine.
pub mod dist;
pub mod error;
pub mod rng;
pub mod scenario;
pub mod time;
