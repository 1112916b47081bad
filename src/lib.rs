//! Spillway placeholder; crate docs are written with the engine.
pub mod cli;
pub mod dist;
pub mod error;
pub mod rng;
pub mod scenario;
pub mod time;
pub mod deployment;
pub mod engine;
pub mod metrics;
pub mod output;
pub mod runner;
