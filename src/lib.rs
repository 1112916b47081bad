//! Spillway placeholder; crate docs are written with the engine.
pub mod cli;
pub mod deployment;
pub mod dist;
pub mod engine;
pub mod error;
pub mod metrics;
pub mod output;
pub mod rng;
pub mod runner;
pub mod scenario;
pub mod time;
