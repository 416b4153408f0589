//! What each fuzz target checks of one input, shared by the `cargo fuzz` targets and by
//! `cargo test` (tests/validation.rs), which runs every file of the corpus through them. Each
//! panics only when firedrill breaks a promise: a located error for bad input, bounded work
//! for what validation accepts, and no trust in bytes from disk or the network.

use firedrill::incident::journal;
use firedrill::net::protocol::{MAX_TO_HOST_BYTES, decode_to_host, decode_to_players, encode};
use firedrill::scenario::{MAX_DURATION_S, Seconds};

/// How much of an accepted scenario the simulation target runs, simulated seconds.
const SIMULATED_S: f64 = 2.0;

/// The scenario loader: a scenario loads, or every diagnostic names the file and a place in
/// it.
pub fn scenario(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(error) = firedrill::session::load_str("fuzz.ron", text) {
        assert!(!error.diagnostics.is_empty(), "refused without a reason");
        for diagnostic in &error.diagnostics {
            let shown = diagnostic.to_string();
            assert!(shown.starts_with("fuzz.ron:"), "unlocated: {shown}");
        }
    }
}

/// Validation, then the engine: whatever validation accepts runs its first seconds without
/// panicking, and its clock ends where it was asked to.
pub fn simulate(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(loaded) = firedrill::session::load_str("fuzz.ron", text) else {
        return;
    };
    let mut scenario = loaded.scenario;
    let until = SIMULATED_S.max(scenario.tick.get());
    scenario.duration = Seconds(until);
    let mut sim = firedrill::session::Simulation::new(&scenario);
    sim.run_until(until);
    let now = sim.clock().now();
    assert!(
        now >= until - scenario.tick.get() && now <= until + scenario.tick.get(),
        "asked to run to {until} s, the clock reads {now} s"
    );
}

/// The journal reader: what it reads is a session that can be replayed: a header within a
/// run's bounds, entries numbered in order, in time order, inside the run.
pub fn journal(data: &[u8]) {
    let Ok(recorded) = journal::parse("fuzz.jsonl", data) else {
        return;
    };
    let duration = recorded.header.duration_s;
    assert!(duration.is_finite() && duration > 0.0 && duration <= MAX_DURATION_S);
    assert_eq!(
        recorded.header.scenario_hash,
        journal::scenario_hash(&recorded.header.scenario)
    );
    let mut last = 0.0;
    for (i, line) in recorded.lines.iter().enumerate() {
        assert_eq!(line.seq, i as u64 + 1);
        assert!(line.at_s.is_finite() && line.at_s >= last && line.at_s <= duration);
        last = line.at_s;
    }
}

/// The network protocol: a player's message is bounded; one the host accepts, sent again,
/// is accepted again; nothing from the host panics a player.
pub fn protocol(data: &[u8]) {
    let _ = decode_to_players(data);
    let Ok(message) = decode_to_host(data) else {
        return;
    };
    assert!(data.len() <= MAX_TO_HOST_BYTES);
    let again = encode(&message);
    // Numbers may come back longer ("1e5" as "100000.0"): only a message within the limit
    // must be accepted again.
    if again.len() <= MAX_TO_HOST_BYTES {
        decode_to_host(&again).expect("a message the host accepted, sent again");
    }
}
