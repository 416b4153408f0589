//! Determinism by construction: the same scenario and seed give the same series, tick for
//! tick; another seed gives another run.

use firedrill::incident::load_script_file;
use firedrill::session::Simulation;
use firedrill::session::load_file;
use firedrill::sim::metrics::ServiceRow;

fn series(seed: u64) -> Vec<Vec<ServiceRow>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/small.ron");
    let mut scenario = load_file(&path).unwrap().scenario;
    scenario.seed = seed;
    let mut sim = Simulation::new(&scenario);
    sim.run_until(120.0);
    (0..sim.topology().services.len())
        .map(|s| {
            sim.service_metrics(s)
                .seconds
                .rows()
                .iter()
                .cloned()
                .collect()
        })
        .collect()
}

#[test]
fn same_seed_identical_series() {
    assert_eq!(series(42), series(42));
}

#[test]
fn another_seed_another_series() {
    assert_ne!(series(42), series(43));
}

#[test]
fn run_in_one_go_or_in_pieces_is_the_same_run() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/small.ron");
    let scenario = load_file(&path).unwrap().scenario;
    let mut whole = Simulation::new(&scenario);
    whole.run_until(90.0);
    let mut pieces = Simulation::new(&scenario);
    for t in [0.05, 1.0, 33.3, 60.0, 90.0] {
        pieces.run_until(t);
    }
    assert_eq!(whole.clock().tick, pieces.clock().tick);
    for s in 0..scenario.services.len() {
        assert_eq!(
            whole.service_metrics(s).seconds.rows(),
            pieces.service_metrics(s).seconds.rows()
        );
    }
}

#[test]
fn the_ecs_and_the_plain_loop_run_the_same_model() {
    use firedrill::sim::plain::PlainFleet;
    use firedrill::sim::topology::Topology;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/shop.ron");
    let scenario = load_file(&path).unwrap().scenario;
    let mut ecs = Simulation::new(&scenario);
    ecs.run_ticks(1200);
    let mut plain = PlainFleet::new(Topology::compile(&scenario));
    plain.run_ticks(1200);
    for s in 0..scenario.services.len() {
        assert_eq!(
            ecs.service_metrics(s).seconds.rows(),
            plain.service_metrics[s].seconds.rows(),
            "service {s}"
        );
    }
}

/// A snapshot resumed in a simulation of its own carries on exactly as the run it was taken
/// of, to the last bit of every resource and component (the whole state is compared), from
/// the start, before the fault, in the incident and after the responders' commands.
#[test]
fn a_resumed_snapshot_ends_as_the_run_it_was_taken_of() {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let scenario = load_file(&folder.join("cache-stampede.ron"))
        .unwrap()
        .scenario;
    let script = load_script_file(&folder.join("cache-stampede.actions.ron"), &scenario).unwrap();
    let mut original = Simulation::new(&scenario);
    for entry in &script {
        original.issue(entry.clone());
    }
    let mut resumed = Vec::new();
    for stop in [0.0, 150.0, 365.0, 600.0] {
        original.run_until(stop);
        resumed.push(Simulation::resume(&original.snapshot()));
    }
    let finish = |sim: &mut Simulation| {
        sim.run_until(900.0);
        sim.apply_due_commands();
        sim.flush_metrics();
        format!("{:?}", sim.snapshot())
    };
    let expected = finish(&mut original);
    for (k, mut sim) in resumed.into_iter().enumerate() {
        assert!(
            finish(&mut sim) == expected,
            "resumed at stop {k} ran differently"
        );
    }
}
