//! The runs the engine makes because it is deterministic: the session without each of its
//! changes (what each change did), doing nothing, and the scenario's reference response,
//! all from the same seed to the same end. Scoring reads their numbers
//! (`scoring::measured`); the runs are spread over the machine's cores.

use super::{Simulation, parallel};
use crate::incident::debrief::Timeline;
use crate::incident::{Entry, clock};
use crate::scenario::Scenario;
use crate::scoring::measured::{ChangeEffect, Measured, Outcomes, Spend};

/// What the shift costs without the responders and with the reference response. They do
/// not depend on the session, only on the game master's commands and where the shift
/// ended, so self-tests of one scenario share them.
#[derive(Clone, Debug, PartialEq)]
pub struct Baselines {
    /// The game master's commands the runs kept, and the end they ran to: what they hold for.
    drill: Vec<Entry>,
    end_s: f64,
    nothing: Spend,
    reference: Spend,
    reference_is: String,
}

impl Baselines {
    /// Doing nothing and the reference response (`reference`: its commands, or why there is
    /// none), with the game master's `drill` commands, to `end_s`.
    pub fn run(
        scenario: &Scenario,
        reference: Result<&[Entry], String>,
        drill: &[Entry],
        end_s: f64,
    ) -> Self {
        let with_drill = |entries: &[Entry]| -> Vec<Entry> {
            let mut all: Vec<Entry> = drill.iter().chain(entries).cloned().collect();
            all.sort_by(|a, b| a.at.get().total_cmp(&b.at.get()));
            all
        };
        match reference {
            Ok(entries) => {
                let mut spends =
                    replay_all(scenario, vec![with_drill(&[]), with_drill(entries)], end_s);
                let reference = spends.pop().expect("two runs").0;
                let nothing = spends.pop().expect("two runs").0;
                Self {
                    drill: drill.to_vec(),
                    end_s,
                    nothing,
                    reference,
                    reference_is: "the reference response".to_string(),
                }
            }
            Err(why) => {
                let (nothing, timeline) = replay_all(scenario, vec![with_drill(&[])], end_s)
                    .pop()
                    .expect("one run");
                let (reference, at) = par_response(scenario, &nothing, &timeline);
                Self {
                    drill: drill.to_vec(),
                    end_s,
                    nothing,
                    reference,
                    reference_is: format!(
                        "a response at par (users hurt until {}, then none; {why})",
                        clock(at)
                    ),
                }
            }
        }
    }

    fn holds_for(&self, drill: &[Entry], end_s: f64) -> bool {
        self.drill == drill && (self.end_s - end_s).abs() < 1e-9
    }
}

/// What a response at par would at best have cost, from the run without one: the bad
/// requests until the alarm (the first page, else the first impact) plus the par time to
/// mitigate, and none after.
fn par_response(scenario: &Scenario, nothing: &Spend, timeline: &Timeline) -> (Spend, f64) {
    let par = scenario
        .incident
        .as_ref()
        .map_or(0.0, |truth| truth.par_mitigate.get());
    let alarm = timeline
        .first_page()
        .map(|p| p.opened_s)
        .or(timeline.lifecycle.impact_s);
    let Some(alarm) = alarm else {
        return (nothing.clone(), timeline.end_s);
    };
    let until = (alarm + par).min(timeline.end_s);
    let (first, at, last) = (
        timeline.vitals.first(),
        timeline.vitals_at(until),
        timeline.vitals.last(),
    );
    let requests = match (first, at, last) {
        (Some(first), Some(at), Some(last)) => nothing
            .requests
            .iter()
            .enumerate()
            .map(|(i, bad)| {
                let whole = first.budget_left[i] - last.budget_left[i];
                let part = first.budget_left[i] - at.budget_left[i];
                if whole > 0.0 {
                    (*bad as f64 * (part / whole).clamp(0.0, 1.0)).round() as u64
                } else {
                    0
                }
            })
            .collect(),
        _ => nothing.requests.clone(),
    };
    (Spend { requests }, until)
}

/// Measures a finished session: each of its responders' changes against the same session
/// without it, and its spend against doing nothing and the reference. `sim` is the
/// session's simulation at its end; `issued` every command it was given; `baselines` the
/// runs already made for this scenario, if any hold.
pub fn measure(
    scenario: &Scenario,
    sim: &Simulation,
    issued: &[Entry],
    timeline: &Timeline,
    reference: Result<&[Entry], String>,
    baselines: Option<&Baselines>,
) -> (Measured, Baselines) {
    let end_s = sim.clock().now();
    let game_masters = timeline.game_masters();
    // The order commands are applied in: by time, ties in the order issued.
    let mut ordered: Vec<&Entry> = issued.iter().collect();
    ordered.sort_by(|a, b| a.at.get().total_cmp(&b.at.get()));
    let drill: Vec<Entry> = ordered
        .iter()
        .filter(|e| game_masters.contains(&e.by.as_str()))
        .map(|e| (*e).clone())
        .collect();
    // Each accepted change of a responder, paired with the command that made it.
    let mut changes = Vec::new();
    let mut cursor = 0;
    for record in &timeline.records {
        let Some(at) = ordered[cursor..]
            .iter()
            .position(|e| e.by == record.by && e.command == record.command)
        else {
            continue;
        };
        let index = cursor + at;
        cursor = index + 1;
        if let Some(remediation) = record.remediation()
            && !game_masters.contains(&record.by.as_str())
        {
            changes.push((index, record.at_s, crate::scoring::short(remediation)));
        }
    }
    let ordered: Vec<Entry> = ordered.into_iter().cloned().collect();
    let skips: Vec<usize> = changes.iter().map(|(skip, _, _)| *skip).collect();
    let baselines = match baselines.filter(|b| b.holds_for(&drill, end_s)) {
        Some(b) => b.clone(),
        None => Baselines::run(scenario, reference, &drill, end_s),
    };
    let yours = spend_of(sim);
    let budget_events: Vec<f64> = sim.slos().iter().map(|s| s.budget_events()).collect();
    let effects = without_each(scenario, &ordered, &skips, end_s)
        .into_iter()
        .zip(changes)
        .map(|(without, (_, at_s, change))| {
            ChangeEffect::measure(at_s, change, &yours, &without, &budget_events)
        })
        .collect();
    let outcomes = Outcomes {
        yours,
        nothing: baselines.nothing.clone(),
        reference: baselines.reference.clone(),
        reference_is: baselines.reference_is.clone(),
        budget_events,
    };
    (
        Measured {
            effects,
            outcomes: Some(outcomes),
        },
        baselines,
    )
}

fn spend_of(sim: &Simulation) -> Spend {
    Spend {
        requests: sim.slos().iter().map(|s| s.bad).collect(),
    }
}

/// What the session (`ordered`: its commands in the order they apply) spends to `end_s`
/// without each of the commands at `skips` (in that order), on every core: resumed from
/// snapshots of its past when that is faster on the wall, else replayed from the start.
/// Either way the same spends.
fn without_each(scenario: &Scenario, ordered: &[Entry], skips: &[usize], end_s: f64) -> Vec<Spend> {
    let changes_at: Vec<f64> = skips.iter().map(|&skip| ordered[skip].at.get()).collect();
    if snapshots_pay(&changes_at, end_s, parallel::jobs()) {
        return resumed_without(scenario, ordered, skips, end_s);
    }
    let runs = skips.iter().map(|&skip| without(ordered, skip)).collect();
    let replays = replay_all(scenario, runs, end_s);
    replays.into_iter().map(|(spend, _)| spend).collect()
}

/// The commands less the one at `skip`.
fn without(ordered: &[Entry], skip: usize) -> Vec<Entry> {
    let kept = ordered.iter().enumerate().filter(|&(i, _)| i != skip);
    kept.map(|(_, entry)| entry.clone()).collect()
}

/// Whether resuming from snapshots beats replaying from the start, in simulated seconds on
/// the wall with `cores` cores. The run that takes the snapshots goes alone until the last
/// change, then the resumed runs share the cores; the replays share them from the start. So
/// late changes pay, and a change near the end with another near the start does not.
fn snapshots_pay(changes_at: &[f64], end_s: f64, cores: usize) -> bool {
    let cores = cores.max(1);
    let replays = changes_at.len().div_ceil(cores) as f64 * end_s;
    let left = |at: &f64| (end_s - at).max(0.0);
    let last = changes_at.iter().copied().fold(0.0, f64::max).min(end_s);
    let longest = changes_at.iter().map(left).fold(0.0, f64::max);
    let resumed = last + (changes_at.iter().map(left).sum::<f64>() / cores as f64).max(longest);
    resumed < replays
}

/// `without_each` by snapshots: one run with every command carries the session's past, a
/// snapshot of it is taken just before each skipped command would apply, and each snapshot,
/// the command withdrawn, runs on to the end.
fn resumed_without(
    scenario: &Scenario,
    ordered: &[Entry],
    skips: &[usize],
    end_s: f64,
) -> Vec<Spend> {
    let mut trunk = Simulation::new(scenario);
    for entry in ordered {
        trunk.issue(entry.clone());
    }
    let mut snapshots = Vec::with_capacity(skips.len());
    for &skip in skips {
        let entry = &ordered[skip];
        while !entry.is_due(trunk.clock().now()) && !trunk.ended_early() {
            trunk.run_ticks(1);
        }
        let mut snapshot = trunk.snapshot();
        let withdrawn = snapshot.withdraw(entry);
        debug_assert!(
            withdrawn,
            "a change is pending until the tick it applies in"
        );
        snapshots.push(snapshot);
    }
    drop(trunk);
    parallel::map(&snapshots, |snapshot| {
        let mut sim = Simulation::resume(snapshot);
        sim.run_until(end_s);
        sim.apply_due_commands();
        sim.flush_metrics();
        spend_of(&sim)
    })
}

/// Runs the scenario with each list of commands to `end_s`, on every core; the results
/// come back in the lists' order whatever the threads did.
fn replay_all(scenario: &Scenario, runs: Vec<Vec<Entry>>, end_s: f64) -> Vec<(Spend, Timeline)> {
    parallel::map(&runs, |entries| {
        let mut sim = Simulation::new(scenario);
        for entry in entries {
            sim.issue(entry.clone());
        }
        sim.run_until(end_s);
        sim.apply_due_commands();
        sim.flush_metrics();
        (spend_of(&sim), sim.timeline())
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::incident::load_script_file;
    use crate::session::load_file;

    /// Each run without a command, resumed from a snapshot of the run with every command,
    /// spends exactly what a run from the start without it does: changes at one instant and
    /// changes spread out, process commands and remediations alike.
    #[test]
    fn skipping_from_a_snapshot_spends_what_a_run_from_the_start_does() {
        let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let scenario = load_file(&folder.join("cache-stampede.ron"))
            .expect("shipped")
            .scenario;
        let mut ordered = Vec::new();
        for script in [
            "cache-stampede.actions.ron",
            "cache-stampede.shotgun.actions.ron",
        ] {
            ordered.extend(load_script_file(&folder.join(script), &scenario).expect("shipped"));
        }
        ordered.sort_by(|a, b| a.at.get().total_cmp(&b.at.get()));
        let end_s = 15.0 * 60.0;
        let skips: Vec<usize> = (0..ordered.len()).collect();
        let from_the_start: Vec<Spend> = replay_all(
            &scenario,
            skips.iter().map(|&skip| without(&ordered, skip)).collect(),
            end_s,
        )
        .into_iter()
        .map(|(spend, _)| spend)
        .collect();
        assert!(
            from_the_start.windows(2).any(|pair| pair[0] != pair[1]),
            "some commands change what users get"
        );
        assert_eq!(
            resumed_without(&scenario, &ordered, &skips, end_s),
            from_the_start
        );
    }

    /// Snapshots are taken only when they shorten the wall time: late changes, many changes;
    /// not one change alone (the same work), nor a late change beside an early one (the
    /// early one's run would wait for the late one's snapshot).
    #[test]
    fn snapshots_are_taken_when_they_shorten_the_wall_time() {
        let debrief: Vec<f64> = (0..10).map(|k| 570.0 + 33.0 * f64::from(k)).collect();
        assert!(snapshots_pay(&debrief, 1200.0, 2));
        assert!(snapshots_pay(&[900.0, 920.0, 940.0, 960.0], 1000.0, 2));
        assert!(!snapshots_pay(&[500.0], 1000.0, 2));
        assert!(!snapshots_pay(&[0.0, 900.0], 1000.0, 2));
        // Two cores run two replays at once; one core would run them one after the other.
        assert!(!snapshots_pay(&[600.0, 900.0], 1000.0, 2));
        assert!(snapshots_pay(&[600.0, 900.0], 1000.0, 1));
        assert!(!snapshots_pay(&[], 1000.0, 2));
    }
}
