//! Helpers shared by the integration tests.
// Each test binary compiles this module and uses a subset of it.
#![allow(dead_code)]

use firedrill::scenario::load_str;
use firedrill::sim::Simulation;
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
