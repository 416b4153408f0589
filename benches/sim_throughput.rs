//! Simulated seconds per wall second, for the shop scenario, the shop incident and a
//! 10,000-instance fleet, through the ECS and through the plain loop that runs the same model
//! on vectors; and the cost of one event through the ECS.
//!
//! Criterion reports throughput in "elements": in `simulated_seconds` one element is one
//! simulated second; in `events` it is one event (as many as the warm-up's same stretch of
//! simulated time handled: the runs are in steady state), so its time per element is the
//! cost per event.

use std::path::Path;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use firedrill::scenario::Scenario;
use firedrill::session::Simulation;
use firedrill::session::{load_file, load_str};
use firedrill::sim::plain::PlainFleet;
use firedrill::sim::topology::Topology;

/// Simulated seconds per measured iteration.
const SECONDS: u64 = 30;

fn shipped(file: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(file);
    load_file(&path)
        .expect("shipped scenarios are valid")
        .scenario
}

/// 200 services x 50 instances: 50 independent call chains, each an entry service and three
/// dependencies, every instance with 4 workers; 100 requests/s enter each chain.
fn big_fleet() -> Scenario {
    let mut services = String::new();
    let mut traffic = String::new();
    for chain in 0..50 {
        for depth in 0..4 {
            let calls = if depth < 3 {
                format!(
                    r#"calls: [(to: "s{chain}-{}", timeout: "2s", retries: 1)]"#,
                    depth + 1
                )
            } else {
                String::new()
            };
            services.push_str(&format!(
                r#"(name: "s{chain}-{depth}", instances: 50, workers: 4,
                    service_time: LogNormal(median: "5ms", p99: "40ms"), {calls}),"#
            ));
        }
        traffic.push_str(&format!(r#"(to: "s{chain}-0", rate: 100.0, noise: 0.05),"#));
    }
    let text = format!(
        r#"(name: "big-fleet", seed: 1, duration: "1h", services: [{services}], traffic: [{traffic}])"#
    );
    load_str("big-fleet.ron", &text).expect("valid").scenario
}

fn throughput(c: &mut Criterion) {
    let scenarios = [
        ("shop", shipped("shop.ron")),
        ("shop_incident", shipped("shop-incident.ron")),
        ("fleet_10k", big_fleet()),
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
