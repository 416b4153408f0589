//! The network protocol: bytes from the wire, bounded and never trusted.
#![no_main]

// Each target uses one of the shared checks.
#[allow(dead_code)]
#[path = "../bodies.rs"]
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::protocol(data));
