//! What-if runs: what a remediation would cost each SLO's budget, from the same seed and
//! the same commands, with and without it.

use serde::Serialize;

use super::Simulation;
use crate::incident::Entry;
use crate::remediation::Remediation;
use crate::scenario::Scenario;

/// What one SLO's budget would lose over a horizon, with and without an action.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CostEstimate {
    pub slo: String,
    /// Share of the period's budget spent over the horizon if the action is taken.
    pub with_action: f64,
    pub without_action: f64,
}

/// Estimates what `action` at `at` costs each SLO over the following `horizon` seconds, by
/// running the deterministic simulation twice from the start with the actions taken so far,
/// once with the action and once without. Same seed, same commands: the estimate is what the
/// run would do, up to the horizon.
pub fn estimate(
    scenario: &Scenario,
    taken: &[Entry],
    action: &Remediation,
    (at, horizon): (f64, f64),
) -> Vec<CostEstimate> {
    let spend = |with: bool| {
        let mut sim = Simulation::new(scenario);
        for entry in taken {
            sim.issue(entry.clone());
        }
        if with {
            sim.schedule(at, action.clone());
        }
        sim.run_until(at);
        let before: Vec<u64> = sim.slos().iter().map(|s| s.bad).collect();
        sim.run_until(at + horizon);
        sim.slos()
            .iter()
            .zip(before)
            .map(|(slo, bad)| (slo.bad - bad) as f64 / slo.budget_events().max(f64::MIN_POSITIVE))
            .collect::<Vec<f64>>()
    };
    let (with, without) = (spend(true), spend(false));
    scenario
        .slos
        .iter()
        .zip(with.into_iter().zip(without))
        .map(|(spec, (with_action, without_action))| CostEstimate {
            slo: spec.name.clone(),
            with_action,
            without_action,
        })
        .collect()
}
