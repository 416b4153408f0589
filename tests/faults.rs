//! Each fault kind shows its signature on the metric a responder would look at, within a
//! bounded time, because it acts through the simulation's mechanisms.

mod common;

use common::seconds;
use firedrill::session::Simulation;
use firedrill::sim::metrics::{ServiceRow, SourceRow};

fn sim(services: &str, traffic: &str, faults: &str) -> Simulation {
    let text = format!(
        "(name: \"fault\", seed: 11, duration: \"10m\", services: [{services}], traffic: [{traffic}], faults: [{faults}])"
    );
    common::simulation("fault.ron", &text)
}

/// Sum of `f` over the rows starting in [from, to).
fn sum(rows: &[ServiceRow], from: f64, to: f64, f: impl Fn(&ServiceRow) -> u64) -> u64 {
    rows.iter().filter(|r| r.t >= from && r.t < to).map(f).sum()
}

fn mean(rows: &[ServiceRow], from: f64, to: f64, f: impl Fn(&ServiceRow) -> f64) -> f64 {
    let picked: Vec<f64> = rows
        .iter()
        .filter(|r| r.t >= from && r.t < to)
        .map(f)
        .collect();
    picked.iter().sum::<f64>() / picked.len() as f64
}

fn error_ratio(rows: &[ServiceRow], from: f64, to: f64) -> f64 {
    let errors = sum(rows, from, to, |r| {
        r.server_errors + r.rejected + r.timeouts
    });
    errors as f64 / sum(rows, from, to, |r| r.requests) as f64
}

const TWO_TIER: &str = r#"
    (name: "a", instances: 2, workers: 32, service_time: Constant(value: "5ms"),
     calls: [(to: "b", timeout: "1s")]),
    (name: "b", instances: 2, workers: 32, service_time: Constant(value: "10ms"))"#;
const LOAD: &str = r#"(to: "a", rate: 50.0, timeout: "5s")"#;

#[test]
fn crash_takes_instances_down_until_their_restart() {
    let mut sim = sim(
        r#"(name: "a", instances: 3, restart_time: "20s", health_check: (interval: "1s"))"#,
        r#"(to: "a", rate: 30.0)"#,
        r#"(kind: Crash(instances: 2), target: "a", start: At("30s"))"#,
    );
    sim.run_until(31.0);
    assert_eq!((0..3).filter(|&g| !sim.instance(g).up).count(), 2);
    sim.run_until(45.0);
    assert_eq!(
        seconds(&sim, 0).last().unwrap().healthy,
        1,
        "health checks see it"
    );
    sim.run_until(60.0);
    assert!(
        (0..3).all(|g| sim.instance(g).up),
        "back after the restart time"
    );
    assert_eq!(sim.faults().faults[0].started_at, Some(30.0));
}

#[test]
fn a_crash_loop_keeps_killing_instances_while_it_lasts() {
    let mut sim = sim(
        r#"(name: "a", restart_time: "2s")"#,
        r#"(to: "a", rate: 10.0)"#,
        r#"(kind: CrashLoop(uptime: "5s"), target: "a", start: At("10s"), duration: "60s")"#,
    );
    sim.run_until(70.0);
    let restarts = sim.instance(0).restarts;
    assert!(restarts >= 8, "restarts {restarts}");
    sim.run_until(200.0);
    assert_eq!(
        sim.instance(0).restarts,
        restarts,
        "stable once the loop ends"
    );
    assert!(sim.instance(0).up);
}

#[test]
fn a_memory_leak_trends_up_then_ends_in_oom_kills() {
    let mut sim = sim(
        r#"(name: "a", memory: (base_mb: 200.0, per_request_mb: 0.0, limit_mb: 1000.0), restart_time: "5s")"#,
        r#"(to: "a", rate: 20.0)"#,
        r#"(kind: MemoryLeak(per_request_mb: 0.5), target: "a", start: At("10s"))"#,
    );
    // 20 req/s x 0.5 MB = 10 MB/s: 800 MB of headroom lasts about 80 s.
    sim.run_until(60.0);
    let rows = seconds(&sim, 0);
    let at = |t: f64| rows.iter().find(|r| r.t == t).unwrap().memory_max_mb;
    assert!(
        at(20.0) < at(40.0) && at(40.0) < at(59.0),
        "a trend to extrapolate"
    );
    let slope = (at(59.0) - at(20.0)) / 39.0;
    assert!((slope - 10.0).abs() < 1.5, "slope {slope} MB/s");
    assert_eq!(sim.instance(0).restarts, 0);
    sim.run_until(100.0);
    assert_eq!(
        sim.instance(0).restarts,
        1,
        "OOM-killed once the limit is reached"
    );
    assert!(
        sim.instance(0).leaked_mb < 300.0,
        "a restart frees the leak"
    );
}

#[test]
fn a_cpu_hog_slows_requests_down() {
    let mut sim = sim(
        r#"(name: "a", workers: 16, service_time: Constant(value: "20ms"), cpu: (cores: 1.0, cpu_share: 1.0))"#,
        r#"(to: "a", rate: 30.0)"#,
        r#"(kind: CpuHog(cores: 1.5), target: "a", start: At("30s"))"#,
    );
    sim.run_until(60.0);
    let rows = seconds(&sim, 0);
    let before = mean(&rows, 10.0, 30.0, |r| r.p50.unwrap());
    let during = mean(&rows, 40.0, 60.0, |r| r.p50.unwrap());
    assert!(during > 1.8 * before, "p50 {before} -> {during}");
    // The hog's threads and the requests share the core: saturated, never above it.
    let cpu = mean(&rows, 40.0, 60.0, |r| r.cpu);
    assert!((cpu - 1.0).abs() < 1e-6, "CPU {cpu}");
}

#[test]
fn latency_and_network_latency_add_where_they_should() {
    let mut slow_service = sim(
        TWO_TIER,
        LOAD,
        r#"(kind: Latency(extra: "200ms"), target: "b", start: At("30s"))"#,
    );
    let mut slow_network = sim(
        TWO_TIER,
        LOAD,
        r#"(kind: NetworkLatency(extra: "200ms"), target: "a->b", start: At("30s"))"#,
    );
    for sim in [&mut slow_service, &mut slow_network] {
        sim.run_until(60.0);
    }
    let (a, b) = (seconds(&slow_service, 0), seconds(&slow_service, 1));
    assert!(
        (mean(&b, 40.0, 60.0, |r| r.p50.unwrap()) - 0.210).abs() < 0.02,
        "b itself is slow"
    );
    assert!(
        (mean(&a, 40.0, 60.0, |r| r.p50.unwrap()) - 0.215).abs() < 0.02,
        "and its caller"
    );
    let (a, b) = (seconds(&slow_network, 0), seconds(&slow_network, 1));
    assert!(
        (mean(&b, 40.0, 60.0, |r| r.p50.unwrap()) - 0.010).abs() < 0.002,
        "b is fine"
    );
    assert!(
        (mean(&a, 40.0, 60.0, |r| r.p50.unwrap()) - 0.215).abs() < 0.02,
        "a waits on the wire"
    );
}

#[test]
fn errors_last_as_long_as_the_fault() {
    let mut sim = sim(
        TWO_TIER,
        LOAD,
        r#"(kind: Errors(ratio: 0.3), target: "b", start: At("30s"), duration: "60s")"#,
    );
    sim.run_until(150.0);
    let b = seconds(&sim, 1);
    assert!(error_ratio(&b, 0.0, 30.0) < 0.001);
    assert!((error_ratio(&b, 35.0, 90.0) - 0.3).abs() < 0.05);
    assert!(error_ratio(&b, 95.0, 150.0) < 0.001);
    let a = seconds(&sim, 0);
    assert!(
        (error_ratio(&a, 35.0, 90.0) - 0.3).abs() < 0.05,
        "errors propagate to the caller"
    );
}

#[test]
fn slow_queries_exhaust_the_pool_and_time_out_upstream() {
    let mut sim = sim(
        r#"(name: "api", instances: 2, workers: 64, service_time: Constant(value: "2ms"),
            calls: [(to: "db", timeout: "1s")]),
           (name: "db", kind: Database(pool: 4), service_time: Exponential(mean: "20ms"))"#,
        r#"(to: "api", rate: 100.0)"#,
        r#"(kind: SlowQueries(factor: 5.0), target: "db", start: At("30s"))"#,
    );
    // 100 q/s x 20 ms = 2 of 4 connections; x5 needs 10 of 4: the pool is exhausted.
    sim.run_until(90.0);
    let (api, db) = (seconds(&sim, 0), seconds(&sim, 1));
    assert!(mean(&db, 0.0, 30.0, |r| r.queue) < 2.0);
    assert!(
        mean(&db, 60.0, 90.0, |r| r.queue) > 50.0,
        "queries wait for a connection"
    );
    assert!(error_ratio(&api, 60.0, 90.0) > 0.5, "api calls time out");
    assert!(
        sum(&db, 60.0, 90.0, |r| r.timeouts) > 1000,
        "against the database"
    );
}

#[test]
fn packet_loss_partition_and_dns_failure_fail_calls_their_own_way() {
    let mut lossy = sim(
        TWO_TIER,
        LOAD,
        r#"(kind: PacketLoss(ratio: 0.2), target: "a->b", start: At("0s"))"#,
    );
    let mut split = sim(
        TWO_TIER,
        LOAD,
        r#"(kind: Partition, target: "a->b", start: At("0s"))"#,
    );
    let mut dns = sim(
        TWO_TIER,
        LOAD,
        r#"(kind: DnsFailure, target: "a->b", start: At("0s"))"#,
    );
    for sim in [&mut lossy, &mut split, &mut dns] {
        sim.run_until(120.0);
        sim.flush_metrics();
    }
    let totals = |sim: &Simulation, s| sim.service_metrics(s).totals.counts.clone();
    let (a, b) = (totals(&lossy, 0), totals(&lossy, 1));
    assert!(
        (b.arrivals as f64 / a.arrivals as f64 - 0.8).abs() < 0.03,
        "b sees 80%"
    );
    assert!(
        (b.timeouts as f64 / a.arrivals as f64 - 0.2).abs() < 0.03,
        "a times out on 20%"
    );
    let (a, b) = (totals(&split, 0), totals(&split, 1));
    assert_eq!(b.arrivals, 0);
    assert!(a.server_errors > 5000);
    assert_eq!(a.ok, 0);
    // Each call waits out its 1 s timeout, holding a's worker: 50 of a's 64 workers are
    // tied up, so some requests queue on top of that.
    let mean_latency = a.latency.mean().unwrap();
    assert!((1.005..1.05).contains(&mean_latency), "{mean_latency}");
    assert_eq!(
        b.timeouts, a.server_errors,
        "every failure is a timeout against b"
    );
    let (a, b) = (totals(&dns, 0), totals(&dns, 1));
    assert_eq!(b.arrivals, 0);
    assert_eq!(a.ok, 0);
    assert!(
        (a.latency.mean().unwrap() - 0.005).abs() < 1e-6,
        "fails at once, no timeout"
    );
}

#[test]
fn a_cache_flush_sends_the_load_to_the_database_until_fills_warm_it() {
    let mut sim = sim(
        r#"(name: "cache", kind: Cache(hit_ratio: 0.9, keys: 3000), calls: [(to: "db", timeout: "1s")]),
           (name: "db", kind: Database(pool: 32), service_time: Exponential(mean: "5ms"))"#,
        r#"(to: "cache", rate: 200.0)"#,
        r#"(kind: CacheFlush, target: "cache", start: At("60s"))"#,
    );
    sim.run_until(240.0);
    let db = seconds(&sim, 1);
    let db_rps = |from: f64, to: f64| sum(&db, from, to, |r| r.requests) as f64 / (to - from);
    assert!(
        (db_rps(20.0, 60.0) - 20.0).abs() < 4.0,
        "lambda (1 - h) = 20/s when warm"
    );
    assert!(
        db_rps(60.0, 65.0) > 150.0,
        "nearly every request misses right after the flush"
    );
    assert!(
        db_rps(200.0, 240.0) < 40.0,
        "successful fills warm the cache again"
    );
}

#[test]
fn a_traffic_surge_multiplies_first_tries() {
    let mut sim = sim(
        r#"(name: "a", workers: 64, service_time: Constant(value: "1ms"))"#,
        r#"(name: "shoppers", to: "a", rate: 20.0)"#,
        r#"(kind: TrafficSurge(multiplier: 3.0), target: "shoppers", start: At("60s"), duration: "60s")"#,
    );
    sim.run_until(180.0);
    let rows: Vec<SourceRow> = sim
        .source_metrics(0)
        .seconds
        .rows()
        .iter()
        .cloned()
        .collect();
    let rate = |from: f64, to: f64| {
        rows.iter()
            .filter(|r| r.t >= from && r.t < to)
            .map(|r| r.first_tries)
            .sum::<u64>() as f64
            / (to - from)
    };
    assert!((rate(0.0, 60.0) - 20.0).abs() < 2.5);
    assert!((rate(60.0, 120.0) - 60.0).abs() < 5.0);
    assert!((rate(120.0, 180.0) - 20.0).abs() < 2.5);
}

#[test]
fn conditional_and_random_starts() {
    let mut sim = sim(
        TWO_TIER,
        LOAD,
        r#"(kind: Latency(extra: "1s"), target: "b", start: Between("20s", "40s")),
           (kind: Errors(ratio: 1.0), target: "a", start: When(P99Above(service: "a", seconds: "500ms")))"#,
    );
    sim.run_until(120.0);
    let faults = &sim.faults().faults;
    let first = faults[0].started_at.unwrap();
    assert!(
        (20.0..=40.1).contains(&first),
        "drawn in the range: {first}"
    );
    let second = faults[1].started_at.unwrap();
    assert!(
        second > first && second <= first + 2.5,
        "starts once a's p99 passes 500 ms: {second}"
    );
    // The draw is the seed's: the same scenario starts the fault at the same time.
    let mut again = sim_again();
    again.run_until(60.0);
    assert_eq!(again.faults().faults[0].started_at, Some(first));
}

fn sim_again() -> Simulation {
    sim(
        TWO_TIER,
        LOAD,
        r#"(kind: Latency(extra: "1s"), target: "b", start: Between("20s", "40s")),
           (kind: Errors(ratio: 1.0), target: "a", start: When(P99Above(service: "a", seconds: "500ms")))"#,
    )
}

fn zoned(body: &str) -> Simulation {
    let text = format!(
        "(name: \"zoned\", seed: 4, duration: \"30m\", zones: [\"a\", \"b\", \"c\"], {body})"
    );
    common::simulation("zoned.ron", &text)
}

const ZONED_API: &str = r#"services: [(name: "api", instances: 6, workers: 4, service_time: Exponential(mean: "40ms"),
        queue_limit: 400, restart_time: "20s", health_check: (interval: "2s", timeout: "500ms"))],
    traffic: [(name: "users", to: "api", rate: 420.0, timeout: "2s")],
    faults: [(kind: ZoneLoss, target: "a", start: At("60s"))]"#;

#[test]
fn losing_one_zone_of_three_cascades_through_the_survivors() {
    // 420 req/s on 6 x 100/s is 70%; on the 4 survivors it is 105%: they fall behind, their
    // probes time out behind the queue, and the balancer ejects them in turn.
    let mut sim = zoned(ZONED_API);
    sim.run_until(60.0);
    assert_eq!(seconds(&sim, 0).last().unwrap().healthy, 6);
    sim.run_until(240.0);
    let rows = seconds(&sim, 0);
    let lowest = rows
        .iter()
        .filter(|r| r.t >= 90.0)
        .map(|r| r.healthy)
        .min()
        .unwrap();
    assert!(lowest < 4, "survivors are ejected too: as low as {lowest}");
    assert!(error_ratio(&rows, 120.0, 240.0) > 0.1);
    assert!(
        (0..6).filter(|&g| !sim.instance(g).up).count() == 2,
        "zone a stays down"
    );
}

#[test]
fn shedding_stops_the_zone_loss_cascade() {
    let mut sim = zoned(ZONED_API);
    sim.schedule(
        61.0,
        firedrill::remediation::Remediation::ShedLoad {
            service: "api".into(),
            max_rps: 320.0,
        },
    );
    sim.run_until(240.0);
    let rows = seconds(&sim, 0);
    let lowest = rows
        .iter()
        .filter(|r| r.t >= 90.0)
        .map(|r| r.healthy)
        .min()
        .unwrap();
    assert_eq!(lowest, 4, "the survivors hold");
}

#[test]
fn readiness_failures_push_traffic_onto_the_other_instances() {
    let mut sim = sim(
        r#"(name: "a", instances: 4, health_check: (interval: "1s"))"#,
        r#"(to: "a", rate: 40.0)"#,
        r#"(kind: ReadinessFailure(instances: 2), target: "a", start: At("10s"))"#,
    );
    sim.run_until(60.0);
    let rows = seconds(&sim, 0);
    assert_eq!(rows.last().unwrap().healthy, 2);
    assert!(
        (0..4).all(|g| sim.instance(g).up),
        "they work; only their probes fail"
    );
}

#[test]
fn flapping_health_checks_move_working_instances_in_and_out() {
    let mut sim = sim(
        r#"(name: "a", instances: 4, health_check: (interval: "1s", unhealthy_threshold: 1, healthy_threshold: 1))"#,
        r#"(to: "a", rate: 40.0)"#,
        r#"(kind: FlappingHealthChecks(ratio: 0.5), target: "a", start: At("10s"))"#,
    );
    sim.run_until(70.0);
    let healthy: Vec<u32> = seconds(&sim, 0)
        .iter()
        .filter(|r| r.t >= 15.0)
        .map(|r| r.healthy)
        .collect();
    assert!(
        healthy.iter().any(|&h| h <= 2) && healthy.iter().any(|&h| h >= 3),
        "{healthy:?}"
    );
    assert!((0..4).all(|g| sim.instance(g).up));
}

#[test]
fn gc_pauses_stretch_the_tail_not_the_median() {
    let mut sim = sim(
        r#"(name: "a", workers: 64, service_time: Constant(value: "20ms"))"#,
        r#"(to: "a", rate: 50.0)"#,
        r#"(kind: GcPauses(interval: "5s", pause: "500ms"), target: "a", start: At("60s"))"#,
    );
    sim.run_until(180.0);
    sim.flush_metrics();
    let minutes: Vec<ServiceRow> = sim
        .service_metrics(0)
        .minutes
        .rows()
        .iter()
        .cloned()
        .collect();
    let p50 = minutes[2].p50.unwrap();
    assert!((p50 - 0.020).abs() < 0.003, "median {p50}");
    assert!(minutes[0].p99.unwrap() < 0.03);
    assert!(
        minutes[2].p99.unwrap() > 0.3,
        "10% of requests wait out a pause: p99 {:?}",
        minutes[2].p99
    );
}

#[test]
fn a_filling_disk_trends_to_full_then_fails_writes_until_logs_are_rotated() {
    let mut sim = sim(
        r#"(name: "a", disk: (size_mb: 10000.0, used_mb: 4000.0))"#,
        r#"(to: "a", rate: 10.0)"#,
        r#"(kind: DiskFill(per_request_mb: 5.0), target: "a", start: At("0s"))"#,
    );
    // 10 req/s x 5 MB = 50 MB/s: 6000 MB of headroom lasts 120 s.
    sim.run_until(100.0);
    let rows = seconds(&sim, 0);
    let at = |t: f64| rows.iter().find(|r| r.t == t).unwrap().disk_used_ratio;
    let slope = (at(90.0) - at(30.0)) / 60.0;
    assert!(
        (slope - 0.005).abs() < 0.0008,
        "0.5%/s, to extrapolate: {slope}"
    );
    assert!(error_ratio(&rows, 0.0, 100.0) < 0.001);
    sim.run_until(180.0);
    assert!(
        error_ratio(&seconds(&sim, 0), 140.0, 180.0) > 0.99,
        "full: writes fail"
    );
    sim.schedule(
        180.0,
        firedrill::remediation::Remediation::FreeDisk {
            service: "a".into(),
        },
    );
    sim.run_until(240.0);
    assert!(
        error_ratio(&seconds(&sim, 0), 185.0, 240.0) < 0.001,
        "logs rotated"
    );
}

#[test]
fn logs_already_on_the_disk_count_until_rotated_and_rotation_keeps_the_rest() {
    let mut sim = sim(
        r#"(name: "a", disk: (size_mb: 10000.0, used_mb: 4000.0, logs_mb: 5500.0))"#,
        r#"(to: "a", rate: 10.0)"#,
        r#"(kind: DiskFill(per_request_mb: 1.0), target: "a", start: At("0s"))"#,
    );
    // 9500 MB used at the start; 10 MB/s fills the last 500 MB in 50 s.
    sim.run_until(10.0);
    let start = seconds(&sim, 0)[0].disk_used_ratio;
    assert!((start - 0.95).abs() < 0.002, "{start}");
    sim.run_until(90.0);
    assert!(error_ratio(&seconds(&sim, 0), 60.0, 90.0) > 0.99, "full");
    sim.schedule(
        90.0,
        firedrill::remediation::Remediation::FreeDisk {
            service: "a".into(),
        },
    );
    sim.run_until(92.0);
    let after = seconds(&sim, 0).last().unwrap().disk_used_ratio;
    assert!(
        (0.40..0.405).contains(&after),
        "back to the 4000 MB that are not logs: {after}"
    );
}

#[test]
fn a_certificate_expires_on_time_for_its_callers_only_and_can_be_rotated_before() {
    let body = (
        r#"(name: "web", workers: 32, calls: [(to: "api", timeout: "1s")]), (name: "api"), (name: "batch", calls: [(to: "other")]), (name: "other")"#,
        r#"(to: "web", rate: 20.0), (to: "batch", rate: 5.0)"#,
        r#"(kind: CertExpiry, target: "api", start: At("5m"))"#,
    );
    let mut expiring = sim(body.0, body.1, body.2);
    expiring.run_until(120.0);
    let countdown = seconds(&expiring, 1)
        .last()
        .unwrap()
        .cert_expires_in_s
        .unwrap();
    assert!(
        (countdown - 180.0).abs() < 0.2,
        "the countdown is visible: {countdown}"
    );
    expiring.run_until(360.0);
    assert!(
        error_ratio(&seconds(&expiring, 0), 300.5, 360.0) > 0.99,
        "web's calls fail at expiry"
    );
    assert_eq!(
        sum(&seconds(&expiring, 1), 301.0, 360.0, |r| r.requests),
        0,
        "api sees no request"
    );
    assert!(
        error_ratio(&seconds(&expiring, 2), 300.0, 360.0) < 0.001,
        "batch is not affected"
    );

    let mut rotated = sim(body.0, body.1, body.2);
    rotated.schedule(
        240.0,
        firedrill::remediation::Remediation::RotateCertificate {
            service: "api".into(),
        },
    );
    rotated.run_until(360.0);
    assert!(
        error_ratio(&seconds(&rotated, 0), 240.0, 360.0) < 0.001,
        "defused"
    );
    assert_eq!(rotated.faults().faults[0].started_at, None);
}

#[test]
fn clock_skew_fails_requests_on_the_skewed_instances_only() {
    let mut sim = sim(
        r#"(name: "a", instances: 4)"#,
        r#"(to: "a", rate: 40.0)"#,
        r#"(kind: ClockSkew(instances: 1, error_ratio: 1.0), target: "a", start: At("10s"))"#,
    );
    sim.run_until(130.0);
    assert!(
        (error_ratio(&seconds(&sim, 0), 20.0, 130.0) - 0.25).abs() < 0.04,
        "one instance in four"
    );
}

#[test]
fn io_latency_slows_requests_while_the_cpu_stays_flat() {
    let mut sim = sim(
        r#"(name: "db", workers: 64, service_time: Constant(value: "10ms"), cpu: (cores: 1.0, cpu_share: 1.0))"#,
        r#"(to: "db", rate: 20.0)"#,
        r#"(kind: IoLatency(extra: "200ms"), target: "db", start: At("30s"))"#,
    );
    sim.run_until(60.0);
    let rows = seconds(&sim, 0);
    assert!((mean(&rows, 35.0, 60.0, |r| r.p50.unwrap()) - 0.210).abs() < 0.02);
    let (before, during) = (
        mean(&rows, 5.0, 30.0, |r| r.cpu),
        mean(&rows, 35.0, 60.0, |r| r.cpu),
    );
    assert!((during - before).abs() < 0.05, "CPU {before} -> {during}");
}

#[test]
fn a_hot_key_fails_the_same_requests_every_time_so_retries_do_not_help() {
    let mut sim = sim(
        r#"(name: "api", workers: 64)"#,
        r#"(to: "api", rate: 50.0, retries: 3, backoff: Immediate)"#,
        r#"(kind: HotKey(ratio: 0.1), target: "api", start: At("0s"))"#,
    );
    sim.run_until(120.0);
    sim.flush_metrics();
    let users = &sim.source_metrics(0).totals;
    let failed = users.failed() as f64 / users.first_tries as f64;
    assert!(
        (failed - 0.1).abs() < 0.02,
        "a tenth of users fail despite 3 retries: {failed}"
    );
    assert!(
        users.retries as f64 > 2.5 * users.failed() as f64,
        "each retried 3 times, in vain"
    );
}

#[test]
fn missing_metrics_leave_a_gap_while_the_service_works() {
    let mut sim = sim(
        r#"(name: "api")"#,
        r#"(to: "api", rate: 10.0)"#,
        r#"(kind: MissingMetrics, target: "api", start: At("20s"), duration: "20s")"#,
    );
    sim.run_until(60.0);
    let rows = seconds(&sim, 0);
    let reported = |from: f64, to: f64| {
        rows.iter()
            .filter(|r| r.t >= from && r.t < to)
            .all(|r| r.reported)
    };
    let gap = |from: f64, to: f64| {
        rows.iter()
            .filter(|r| r.t >= from && r.t < to)
            .all(|r| !r.reported)
    };
    assert!(reported(0.0, 20.0) && gap(20.0, 40.0) && reported(40.0, 60.0));
    assert!(
        sum(&rows, 20.0, 40.0, |r| r.ok) > 150,
        "the truth is kept for the debrief"
    );
}

const QUEUED: &str = r#"
    (name: "orders", workers: 32, service_time: Constant(value: "2ms"), calls: [(to: "emails")]),
    (name: "emails", kind: Queue, workers: 4, service_time: Constant(value: "1ms"),
     calls: [(to: "mailer", timeout: "30s")]),
    (name: "mailer", workers: 64, service_time: Constant(value: "20ms"))"#;

#[test]
fn a_lagging_consumer_grows_the_queue_but_not_the_producers_latency() {
    // 40 messages/s; 4 deliveries of 21 ms each carry 190/s. With 100 ms more each, 38/s.
    let mut sim = sim(
        QUEUED,
        r#"(to: "orders", rate: 40.0)"#,
        r#"(kind: ConsumerLag(extra: "100ms"), target: "emails", start: At("30s"))"#,
    );
    sim.run_until(150.0);
    let queue = seconds(&sim, 1);
    let age = |t: f64| queue.iter().find(|r| r.t == t).unwrap().queue_age_s;
    assert!(age(25.0) < 0.05, "no lag before: {}", age(25.0));
    assert!(
        age(100.0) > 1.0 && age(149.0) > age(100.0),
        "lag grows: {} then {}",
        age(100.0),
        age(149.0)
    );
    let producer = seconds(&sim, 0);
    assert!(
        mean(&producer, 100.0, 150.0, |r| r.p50.unwrap()) < 0.01,
        "enqueueing stays fast"
    );
}

#[test]
fn replication_lag_trends_up_then_stale_reads_fail_on_the_replicas_only() {
    let mut sim = sim(
        r#"(name: "api", workers: 64, calls: [(to: "db")]),
           (name: "db", kind: Database(pool: 16), instances: 3, service_time: Constant(value: "5ms"))"#,
        r#"(to: "api", rate: 60.0)"#,
        r#"(kind: ReplicationLag(per_second: 0.5, tolerance: "20s", fresh_reads: 0.3), target: "db", start: At("10s"))"#,
    );
    sim.run_until(100.0);
    let db = seconds(&sim, 1);
    let lag = |t: f64| db.iter().find(|r| r.t == t).unwrap().replication_lag_s;
    // Each row holds the most lag of its second: at its end, (t + 1 - 10) x 0.5.
    assert!(
        (lag(30.0) - 10.5).abs() < 0.01 && (lag(50.0) - 20.5).abs() < 0.01,
        "a line to extrapolate: {} {}",
        lag(30.0),
        lag(50.0)
    );
    assert!(error_ratio(&db, 12.0, 48.0) < 0.001, "within tolerance");
    // Two replicas of three, 30% of their requests: 20% of all.
    assert!(
        (error_ratio(&db, 60.0, 100.0) - 0.2).abs() < 0.04,
        "{}",
        error_ratio(&db, 60.0, 100.0)
    );
    // api-0 is instance 0; the database's primary is instance 1, its replicas 2 and 3.
    assert_eq!(
        sim.instance(1).replica_lag_s,
        0.0,
        "the primary does not lag"
    );
    assert!(sim.instance(3).replica_lag_s > 40.0);
    sim.schedule(
        100.0,
        firedrill::remediation::Remediation::ResyncReplicas {
            service: "db".into(),
        },
    );
    sim.run_until(130.0);
    assert!(
        error_ratio(&seconds(&sim, 1), 101.0, 130.0) < 0.001,
        "rebuilt replicas"
    );
}

#[test]
fn an_alert_storm_buries_the_real_errors_in_noise() {
    let mut sim = sim(
        r#"(name: "api", workers: 64)"#,
        r#"(to: "api", rate: 20.0)"#,
        r#"(kind: AlertStorm, target: "api", start: At("0s")), (kind: Errors(ratio: 0.2), target: "api", start: At("0s"))"#,
    );
    sim.run_until(30.0);
    let lines = sim.log_lines(0, 2_000);
    let noise = lines
        .iter()
        .filter(|l| {
            l.contains("GC overhead")
                || l.contains("deprecated")
                || l.contains("pool at 80%")
                || l.contains("health check latency")
        })
        .count();
    let real = lines
        .iter()
        .filter(|l| l.contains("internal error"))
        .count();
    assert!(noise > 3 * real, "noise {noise}, real {real}");
    assert!(real > 0, "the real errors are still there, somewhere");
}
