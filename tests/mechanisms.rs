//! Failure mechanisms from simulation-reference.md, each checked against the rule it follows.

use firedrill::session::Simulation;
use firedrill::session::load_str;
use firedrill::sim::metrics::ServiceTally;

fn run(services: &str, traffic: &str, seconds: f64) -> Simulation {
    let text = format!(
        "(name: \"mechanism\", seed: 5, duration: {seconds}, services: [{services}], traffic: [{traffic}])"
    );
    let loaded = load_str("mechanism.ron", &text).unwrap_or_else(|e| panic!("{e}"));
    let mut sim = Simulation::new(&loaded.scenario);
    sim.run_until(seconds);
    sim.flush_metrics();
    sim
}

fn totals(sim: &Simulation, service: usize) -> &ServiceTally {
    &sim.service_metrics(service).totals.counts
}

#[test]
fn downstream_latency_adds_to_the_caller() {
    // Light load, constant times: A takes 10 ms of its own plus two sequential 20 ms calls.
    let sim = run(
        r#"(name: "a", workers: 64, service_time: Constant(value: "10ms"), calls: [(to: "b", per_request: 2.0)]),
           (name: "b", workers: 64, service_time: Constant(value: "20ms"))"#,
        r#"(to: "a", rate: 5.0)"#,
        120.0,
    );
    let a = totals(&sim, 0);
    assert!(a.ok > 400);
    assert!(
        (a.latency.mean().unwrap() - 0.050).abs() < 1e-9,
        "{:?}",
        a.latency.mean()
    );
    assert_eq!(totals(&sim, 1).arrivals, 2 * a.arrivals);
}

#[test]
fn timeouts_fail_callers_while_the_callee_finishes_abandoned_work() {
    let sim = run(
        // Cores enough that two requests never share one, so every request takes exactly 1 ms.
        r#"(name: "a", workers: 64, service_time: Constant(value: "1ms"), cpu: (cores: 4.0), calls: [(to: "b", timeout: "100ms")]),
           (name: "b", workers: 64, service_time: Constant(value: "300ms"))"#,
        r#"(to: "a", rate: 5.0)"#,
        60.0,
    );
    let (a, b) = (totals(&sim, 0), totals(&sim, 1));
    assert_eq!(a.ok, 0, "every call times out");
    assert!(a.server_errors > 250);
    // The callee saw no error of its own, and still served what its caller abandoned.
    assert_eq!(b.server_errors, 0);
    assert!(
        b.ok >= b.arrivals - 2,
        "b finished {} of {}",
        b.ok,
        b.arrivals
    );
    assert_eq!(
        b.timeouts, a.server_errors,
        "each failed call of a is a timeout against b"
    );
    // A's requests fail at the deadline: 1 ms of work + 100 ms.
    assert!(
        (a.latency.mean().unwrap() - 0.101).abs() < 1e-9,
        "{:?}",
        a.latency.mean()
    );
}

#[test]
fn an_optional_dependency_degrades_gracefully() {
    let sim = run(
        r#"(name: "a", workers: 64, service_time: Constant(value: "1ms"), calls: [(to: "b", timeout: "100ms", optional: true)]),
           (name: "b", workers: 64, service_time: Constant(value: "300ms"))"#,
        r#"(to: "a", rate: 5.0)"#,
        60.0,
    );
    let a = totals(&sim, 0);
    assert_eq!(a.server_errors, 0);
    assert!(a.ok > 250);
}

#[test]
fn retries_multiply_the_load_on_a_failing_dependency() {
    // With N retries and total failure the offered load is (1 + N)x.
    let sim = run(
        r#"(name: "a", workers: 64, service_time: Constant(value: "1ms"), calls: [(to: "b", retries: 3, backoff: Immediate)]),
           (name: "b", workers: 64, service_time: Constant(value: "1ms"), error_ratio: 1.0)"#,
        r#"(to: "a", rate: 20.0)"#,
        60.0,
    );
    let (a, b) = (totals(&sim, 0), totals(&sim, 1));
    assert_eq!(b.arrivals, 4 * a.arrivals);
    assert_eq!(b.retries, 3 * a.arrivals);
}

#[test]
fn a_warm_cache_sends_the_misses_to_its_backing_store() {
    // Database load = lambda (1 - h).
    let sim = run(
        r#"(name: "cache", kind: Cache(hit_ratio: 0.8, keys: 100), calls: [(to: "db")]),
           (name: "db", kind: Database(pool: 16), service_time: Exponential(mean: "5ms"))"#,
        r#"(to: "cache", rate: 200.0)"#,
        300.0,
    );
    let (cache, db) = (totals(&sim, 0), totals(&sim, 1));
    let miss = db.arrivals as f64 / cache.arrivals as f64;
    assert!((miss - 0.2).abs() < 0.01, "miss ratio {miss}");
}

#[test]
fn an_instance_over_its_memory_limit_is_killed_and_restarts_cold() {
    // One slow worker cannot keep up: the queue grows until memory passes the limit.
    let sim = run(
        r#"(name: "a", workers: 1, service_time: Constant(value: "100ms"), restart_time: "5s",
            memory: (base_mb: 100.0, per_request_mb: 10.0, limit_mb: 300.0))"#,
        r#"(to: "a", rate: 20.0, timeout: "1h")"#,
        60.0,
    );
    let a = totals(&sim, 0);
    assert!(
        sim.instance(0).restarts >= 2,
        "restarts {}",
        sim.instance(0).restarts
    );
    assert!(a.server_errors > 0, "requests held at the kill fail");
    assert!(a.rejected > 0, "requests sent while it is down are refused");
}

#[test]
fn health_checks_take_a_dead_instance_out_of_rotation() {
    // Two instances; one is OOM-killed by a surge and stays out until probes pass again.
    let sim = run(
        r#"(name: "a", instances: 2, workers: 1, service_time: Constant(value: "100ms"),
            restart_time: "30s", memory: (base_mb: 100.0, per_request_mb: 10.0, limit_mb: 300.0),
            health_check: (interval: "1s", unhealthy_threshold: 2, healthy_threshold: 2))"#,
        r#"(to: "a", rate: 10.0, timeout: "1h", spikes: [(at: "10s", duration: "3s", multiplier: 4.0)])"#,
        25.0,
    );
    let out_of_rotation = (0..2).filter(|&g| !sim.instance(g).in_rotation).count();
    let down = (0..2).filter(|&g| !sim.instance(g).up).count();
    assert!(down >= 1, "the surge killed an instance");
    assert_eq!(
        out_of_rotation, down,
        "dead instances are out of rotation, live ones in"
    );
}
