//! Simulated seconds per wall second, for the shop scenario, the shop incident, a
//! 10,000-instance fleet and the M/M/1 of `benches/ciw_compare.py`, through the ECS and
//! through the plain loop that runs the same model on vectors; and the cost of one event
//! through the ECS. The M/M/1 handles eight requests a tick, so what a tick costs whatever
//! happens in it (the ECS schedule, conditions, SLOs, metric rows) shows beside its events.
//!
//! Criterion reports throughput in "elements": in `simulated_seconds` one element is one
//! simulated second; in `events` it is one event (as many as the warm-up's same stretch of
//! simulated time handled: the runs are in steady state), so its time per element is the
//! cost per event.

use std::path::Path;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use firedrill::scenario::Scenario;
use firedrill::session::{Simulation, load_file, load_str};
use firedrill::sim::plain::PlainFleet;
use firedrill::sim::topology::Topology;

/// Simulated seconds per measured iteration.
const SECONDS: u64 = 30;

/// A scenario file of this repository, by its path from the top.
fn load(path: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    load_file(&path)
        .expect("the benchmarks' scenarios are valid")
        .scenario
}

/// The M/M/1 `benches/ciw_compare.py` compares with Ciw: 10 ms exponential service at 80%
/// load, cores and deadlines that never bind.
const MM1: &str = r#"(
    name: "mm1",
    seed: 1,
    duration: "1h",
    services: [(
        name: "server",
        workers: 1,
        service_time: Exponential(mean: 0.01),
        cpu: (cores: 1000.0),
        health_check: (timeout: "1h"),
    )],
    traffic: [(to: "server", rate: 80.0, timeout: "1h")],
)"#;

fn throughput(c: &mut Criterion) {
    let scenarios = [
        ("shop", load("scenarios/shop.ron")),
        ("shop_incident", load("scenarios/shop-incident.ron")),
        // 200 services x 50 instances: 50 call chains of four services.
        ("fleet_10k", load("benches/big-fleet.ron")),
        (
            "mm1",
            load_str("mm1.ron", MM1)
                .expect("the M/M/1 is valid")
                .scenario,
        ),
    ];
    let mut group = c.benchmark_group("simulated_seconds");
    group.throughput(Throughput::Elements(SECONDS));
    group.sample_size(10);
    for (name, scenario) in &scenarios {
        let ticks = (SECONDS as f64 / scenario.tick.get()).round() as u64;
        let mut ecs = Simulation::new(scenario);
        ecs.run_ticks(ticks); // warm: caches filled, queues at steady state
        group.bench_function(BenchmarkId::new("ecs", name), |b| {
            b.iter(|| ecs.run_ticks(ticks))
        });
        // The plain loop runs a fleet without faults: a baseline for the fault-free ones.
        if scenario.faults.is_empty() {
            let mut plain = PlainFleet::new(Topology::compile(scenario));
            plain.run_ticks(ticks);
            group.bench_function(BenchmarkId::new("plain_loop", name), |b| {
                b.iter(|| plain.run_ticks(ticks))
            });
        }
    }
    group.finish();
    let mut group = c.benchmark_group("events");
    group.sample_size(10);
    for (name, scenario) in &scenarios {
        let ticks = (SECONDS as f64 / scenario.tick.get()).round() as u64;
        let mut ecs = Simulation::new(scenario);
        ecs.run_ticks(ticks);
        let before = ecs.events_handled();
        ecs.run_ticks(ticks);
        group.throughput(Throughput::Elements(ecs.events_handled() - before));
        group.bench_function(BenchmarkId::new("ecs", name), |b| {
            b.iter(|| ecs.run_ticks(ticks))
        });
    }
    group.finish();
}

criterion_group!(benches, throughput);
criterion_main!(benches);
