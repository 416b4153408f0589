//! What-if runs: what a remediation would cost each SLO's budget, with and without it.
//! An author's estimate (`firedrill estimate`) knows the whole scenario; a responder's
//! (`Command::Estimate`) knows only what has happened by the time it is asked.

use super::{Simulation, parallel};
use crate::faults::FaultRecord;
use crate::incident::{Command, CostEstimate, Entry};
use crate::remediation::Remediation;
use crate::scenario::{FaultStart, Scenario, Seconds};

/// Estimates what `action` at `at` costs each SLO over the following `horizon` seconds, by
/// running the deterministic simulation twice from the start with the actions taken so far,
/// once with the action and once without. Same seed, same commands: the estimate is what the
/// run would do, up to the horizon. For authors: it knows every fault of the scenario.
pub fn estimate(
    scenario: &Scenario,
    taken: &[Entry],
    action: &Remediation,
    (at, horizon): (f64, f64),
) -> Vec<CostEstimate> {
    let spend = |&with: &bool| {
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
    let mut spends = parallel::map(&[true, false], spend);
    let (without, with) = (
        spends.pop().expect("two runs"),
        spends.pop().expect("two runs"),
    );
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

/// A responder's estimate, asked at `at`: modelled from what is known then. Faults that had
/// not started by `at` are left out, those that had are pinned to when they started, and
/// the model draws its own random numbers (a seed of its own, from the scenario's and the
/// time), so it is a forecast, not a replay of the future. `faults` are the session's fault
/// records, in the scenario's order; `issued` every command issued so far.
pub fn estimate_from_now(
    scenario: &Scenario,
    faults: &[FaultRecord],
    issued: &[Entry],
    action: &Remediation,
    (at, horizon): (f64, f64),
) -> Vec<CostEstimate> {
    let mut model = scenario.clone();
    model.faults = scenario
        .faults
        .iter()
        .zip(faults)
        .filter_map(|(spec, record)| {
            let started = record.started_s.filter(|s| *s <= at + 1e-9)?;
            let mut known = spec.clone();
            known.start = FaultStart::At(Seconds(started));
            Some(known)
        })
        .collect();
    model.seed = own_stream(scenario.seed, at);
    let taken: Vec<Entry> = issued
        .iter()
        .filter(|e| e.is_due(at) && !matches!(e.command, Command::Estimate(_)))
        .cloned()
        .collect();
    estimate(&model, &taken, action, (at, horizon))
}

/// A seed of the estimate's own, from the scenario's and the time it is asked (SplitMix64's
/// finaliser, so nearby times give unrelated streams).
fn own_stream(seed: u64, at: f64) -> u64 {
    let mut z = seed ^ at.to_bits() ^ 0x9E37_79B9_7F4A_7C15;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
