//! Helpers shared by the integration tests.
// Each test binary compiles this module and uses a subset of it.
#![allow(dead_code)]

use firedrill::incident::{Command, Entry};
use firedrill::report::Run;
use firedrill::scenario::{Scenario, Seconds};
use firedrill::session::{Session, Simulation, load_str};
use firedrill::sim::metrics::ServiceRow;

/// A simulation of the scenario `text`, failing the test with the loader's message if it
/// does not load.
pub fn simulation(file: &str, text: &str) -> Simulation {
    let loaded = load_str(file, text).unwrap_or_else(|e| panic!("{e}"));
    Simulation::new(&loaded.scenario)
}

/// The per-second rows the simulation still holds for `service`, oldest first.
pub fn seconds(sim: &Simulation, service: usize) -> Vec<ServiceRow> {
    sim.service_metrics(service)
        .seconds
        .rows()
        .iter()
        .cloned()
        .collect()
}

/// A command issued at `at` simulated seconds by `by`.
pub fn entry(at: f64, by: &str, command: Command) -> Entry {
    Entry {
        at: Seconds(at),
        by: by.into(),
        command,
    }
}

/// A headless session of `scenario` playing `script` to its end, as `firedrill run` does.
pub fn run(scenario: &Scenario, script: &[Entry]) -> Run {
    firedrill::report::run(
        Session::of(scenario.clone()),
        script,
        (0, 0),
        (60.0, |_| {}),
    )
}
