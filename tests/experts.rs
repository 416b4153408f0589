//! A paged expert on the root cause's service names the root cause, in every scored
//! scenario: also when the fault fired once and what it left behind persists (the bad release
//! still running, the cache still cold), never "nothing is wrong" on the service at fault.

mod common;

use common::entry;
use firedrill::faults::Target;
use firedrill::incident::{Command, SOLO_PLAYER};
use firedrill::remediation::EXPERT_DELAY;
use firedrill::session::{Simulation, load_file};

#[test]
fn an_expert_on_the_root_cause_names_it_in_every_scored_scenario() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut checked = 0;
    let mut paths: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.to_string_lossy().ends_with(".ron") && !p.to_string_lossy().contains(".actions.")
        })
        .collect();
    paths.sort();
    for path in paths {
        let scenario = load_file(&path).unwrap().scenario;
        let Some(incident) = &scenario.incident else {
            continue;
        };
        for cause in &incident.root_cause {
            let mut sim = Simulation::new(&scenario);
            let end = scenario.duration.get();
            // Until the root cause has started (its start may be a condition).
            let fault = loop {
                let now = sim.clock().now();
                let fault = sim
                    .faults()
                    .faults
                    .iter()
                    .find(|f| &f.name == cause)
                    .unwrap();
                if fault.started_at.is_some() || now >= end {
                    break fault.clone();
                }
                sim.run_until(now + 10.0);
            };
            let started = fault
                .started_at
                .expect("the root cause starts during the shift");
            let topology = sim.topology();
            let service = match fault.target {
                Target::Service(s) => s,
                Target::Edge(from, _) => from,
                Target::Zone(_) => 0,
                Target::Source(i) => topology.sources[i].to,
            };
            let name = topology.services[service].name.clone();
            // A minute after it started, as a responder would escalate.
            let at = (started + 60.0)
                .min(end - EXPERT_DELAY - 1.0)
                .max(sim.clock().now());
            sim.issue(entry(
                at,
                SOLO_PLAYER,
                Command::Escalate {
                    service: name.clone(),
                },
            ));
            sim.run_until(at + EXPERT_DELAY + 1.0);
            let hints = &sim.remediations().hints;
            let finding = hints.last().map_or("", |h| h.text.as_str());
            assert!(
                finding.contains(cause.as_str()),
                "{}: the {name} expert paged at {at}s said \"{finding}\" about root cause \"{cause}\"",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 15, "only {checked} root causes checked");
}
