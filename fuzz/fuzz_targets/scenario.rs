//! The scenario loader: every refusal located.
#![no_main]

// Each target uses one of the shared checks.
#[allow(dead_code)]
#[path = "../bodies.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::scenario(data));
