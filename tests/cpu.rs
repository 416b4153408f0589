//! Cores as a shared resource: requests in their CPU phase share an instance's cores
//! (limited processor sharing), checked against processor-sharing queueing theory and
//! against how a CPU-bound server behaves in production.

use firedrill::remediation::Remediation;
use firedrill::session::Simulation;
mod common;

/// One instance of `cores` cores whose requests are pure CPU (`cpu_share` 1), behind
/// `workers` threads, offered `rate` requests a second by clients that wait `timeout`.
fn cpu_bound(
    cores: f64,
    workers: u32,
    service: &str,
    rate: f64,
    timeout: &str,
    tail: &str,
) -> Simulation {
    let text = format!(
        r#"(
            name: "cpu", seed: 11, duration: "12h",
            services: [(
                name: "server",
                workers: {workers},
                service_time: {service},
                cpu: (cores: {cores}, cpu_share: 1.0),
                health_check: (timeout: "1h"),
                {tail}
            )],
            traffic: [(to: "server", rate: {rate}, timeout: "{timeout}")],
        )"#
    );
    common::simulation("cpu.ron", &text)
}

/// Mean response time over the whole run (long enough that the empty start does not count).
fn mean_latency(sim: &Simulation) -> f64 {
    sim.service_metrics(0)
        .totals
        .counts
        .latency
        .mean()
        .expect("answers")
}

/// Requests the server finished (answered or abandoned by their caller) per second over
/// `[from, to)`.
fn served_rate(sim: &Simulation, from: f64, to: f64) -> f64 {
    let rows = common::seconds(sim, 0);
    let served: u64 = rows
        .iter()
        .filter(|r| r.t >= from && r.t < to)
        .map(|r| r.ok + r.server_errors)
        .sum();
    served as f64 / (to - from)
}

#[test]
fn one_core_shared_by_every_request_is_m_m_1_ps() {
    // M/M/1-PS: the mean response is S / (1 - rho), whatever the service distribution.
    let mean_service = 0.05;
    for rho in [0.5, 0.9] {
        let mut sim = cpu_bound(
            1.0,
            100_000,
            &format!("Exponential(mean: {mean_service})"),
            rho / mean_service,
            "1h",
            "",
        );
        let seconds = 6.0 * 3600.0;
        sim.run_until(seconds);
        sim.flush_metrics();
        let measured = mean_latency(&sim);
        let theory = mean_service / (1.0 - rho);
        assert!(
            (measured / theory - 1.0).abs() < 0.05,
            "rho {rho}: mean response {measured:.4} s, processor sharing says {theory:.4} s"
        );
    }
}

#[test]
fn throughput_stops_at_the_cores_and_cpu_never_reads_above_all_of_them() {
    // Two cores, 50 ms of CPU a request: 40 requests a second at most, however many
    // threads wait and however much is offered.
    for overload in [1.2, 2.0] {
        let mut sim = cpu_bound(
            2.0,
            64,
            "Constant(value: \"50ms\")",
            40.0 * overload,
            "2s",
            "",
        );
        sim.run_until(240.0);
        sim.flush_metrics();
        let served = served_rate(&sim, 60.0, 240.0);
        assert!(
            (served / 40.0 - 1.0).abs() < 0.02,
            "{overload}x capacity: served {served:.2}/s, the cores allow 40/s"
        );
        let rows = common::seconds(&sim, 0);
        let busiest = rows.iter().map(|r| r.cpu).fold(0.0, f64::max);
        assert!(busiest <= 1.0 + 1e-9, "CPU read {busiest}");
        assert!(busiest > 0.99, "saturated cores read {busiest}");
    }
}

#[test]
fn cpu_is_charged_as_it_is_used_and_never_above_the_cores_at_any_tick() {
    // One-second ticks make each tick a row. Long requests that start together span ticks:
    // their CPU lands in the seconds it is used, not the one they started in.
    let mut sim = cpu_bound(2.0, 64, "Constant(value: \"3s\")", 3.0, "1h", "");
    sim.run_until(600.0);
    sim.flush_metrics();
    let rows = common::seconds(&sim, 0);
    assert!(rows.iter().all(|r| r.cpu <= 1.0 + 1e-9));
    // Offered 3 x 3 s = 9 core-seconds a second on 2 cores: saturated once busy.
    let late = &rows[rows.len() - 60..];
    assert!(
        late.iter().all(|r| (r.cpu - 1.0).abs() < 1e-6),
        "{:?}",
        late.iter().map(|r| r.cpu).collect::<Vec<_>>()
    );
}

#[test]
fn below_saturation_cpu_queueing_slows_requests_as_processor_sharing_says() {
    // Two cores at 95% CPU: requests wait for a core share, far from the unloaded 50 ms.
    let mut sim = cpu_bound(2.0, 100_000, "Exponential(mean: 0.05)", 38.0, "1h", "");
    sim.run_until(4.0 * 3600.0);
    sim.flush_metrics();
    let measured = mean_latency(&sim);
    assert!(
        measured > 5.0 * 0.05,
        "at 95% CPU the mean response is {measured:.3} s, barely above the unloaded 50 ms"
    );
}

#[test]
fn a_cpu_bound_overload_collapses_goodput_and_shedding_brings_it_back() {
    // Twice the cores' capacity, clients that give up after 2 s, a bounded queue.
    let mut sim = cpu_bound(
        2.0,
        64,
        "Constant(value: \"50ms\")",
        80.0,
        "2s",
        "queue_limit: 64,",
    );
    sim.schedule(
        600.0,
        Remediation::ShedLoad {
            service: "server".into(),
            max_rps: 30.0,
        },
    );
    sim.run_until(900.0);
    sim.flush_metrics();
    let users = sim.source_metrics(0).minutes.rows();
    let goodput = |from: f64, to: f64| {
        let (ok, tries) = users
            .iter()
            .filter(|r| r.t >= from && r.t < to)
            .fold((0, 0), |(ok, tries), r| (ok + r.ok, tries + r.first_tries));
        ok as f64 / tries as f64
    };
    let overloaded = goodput(120.0, 600.0);
    assert!(overloaded < 0.10, "goodput at 2x capacity: {overloaded:.3}");
    // Shedding admits 30 of the 80 a second: below the cores' 40, so what is admitted
    // is answered in time again.
    let shed = goodput(660.0, 900.0);
    assert!(
        (0.30..=0.40).contains(&shed),
        "after shedding to 30/s of 80/s offered, goodput {shed:.3}"
    );
}

#[test]
fn cores_default_to_what_the_workers_need_and_written_cores_too_few_get_a_located_warning() {
    // A leaf with 16 workers at the default 0.25 CPU share needs 4 cores; one that spends
    // most of its time waiting on a slower callee needs fewer (at least the default 2).
    let text = r#"(name: "cores", services: [
        (name: "leaf", workers: 16),
        (name: "caller", workers: 16, service_time: Constant(value: "10ms"), calls: [(to: "slow")]),
        (name: "slow", workers: 64, service_time: Constant(value: "90ms"), cpu: (cores: 16.0)),
    ], traffic: [(to: "leaf", rate: 1.0), (to: "caller", rate: 1.0)])"#;
    let loaded = firedrill::session::load_str("cores.ron", text).unwrap();
    assert_eq!(loaded.scenario.cores(), vec![4.0, 2.0, 16.0]);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);

    let crowded = r#"(name: "crowded", services: [
        (name: "api", workers: 16,
         cpu: (cores: 2.0)),
    ], traffic: [(to: "api", rate: 1.0)])"#;
    let warnings: Vec<String> = firedrill::session::load_str("crowded.ron", crowded)
        .unwrap()
        .warnings
        .iter()
        .map(|w| w.to_string())
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let warning = &warnings[0];
    for part in [
        "crowded.ron:3:23",
        "services[0].cpu.cores",
        "16 busy workers need about 4.0 cores",
        "past 8 busy workers requests share the cores",
        "cpu: (cores: 4)",
    ] {
        assert!(warning.contains(part), "{part} missing from {warning}");
    }
}

#[test]
fn a_caller_whose_cores_saturate_sends_each_call_once_and_on_time() {
    // One core at 80% busy: requests often overlap, so calls sent ahead while the core was
    // free are taken back and sent again once the shared core is done with the request.
    // The callee sees exactly one call per request, and the caller's answers take the
    // processor-sharing time plus the callee's.
    let text = r#"(name: "recall", seed: 9, duration: "30m",
        services: [
            (name: "caller", workers: 256, service_time: Exponential(mean: "10ms"),
             cpu: (cores: 1.0, cpu_share: 1.0), calls: [(to: "callee", timeout: "10s")]),
            (name: "callee", workers: 256, service_time: Constant(value: "5ms"),
             cpu: (cores: 64.0)),
        ],
        traffic: [(to: "caller", rate: 80.0, timeout: "1h")])"#;
    let mut sim = common::simulation("recall.ron", text);
    sim.run_until(1800.0);
    sim.flush_metrics();
    let caller = &sim.service_metrics(0).totals.counts;
    let callee = &sim.service_metrics(1).totals.counts;
    // Requests still in the caller at the end have not called yet; none called twice.
    let in_flight = caller.arrivals as i64 - callee.arrivals as i64;
    assert!(
        (0..50).contains(&in_flight),
        "caller {} requests, callee {} calls",
        caller.arrivals,
        callee.arrivals
    );
    assert_eq!(callee.server_errors + callee.rejected + callee.timeouts, 0);
    // M/M/1-PS on the caller's core: 10 ms / (1 - 0.8) = 50 ms, then the callee's 5 ms.
    let mean = caller.latency.mean().unwrap();
    assert!((mean / 0.055 - 1.0).abs() < 0.05, "mean {mean}");
}

#[test]
fn requests_below_saturation_run_at_full_speed_beside_a_traced_one_without_wake_ups() {
    // About 51 of 64 threads busy on 1,000 cores (the M/M/64 of benches/ciw_compare.py):
    // every request runs at full speed. One in a hundred is traced and shares the cores (its
    // span is written as it starts); the ones after it still run free, so a request costs
    // its arrival, its completion and its answer, and no wake-up of the shared cores.
    let mut sim = common::simulation(
        "mm64.ron",
        r#"(
            name: "mm64", seed: 3, duration: 60,
            services: [(
                name: "server",
                workers: 64,
                service_time: Exponential(mean: 0.01),
                cpu: (cores: 1000.0),
                health_check: (timeout: "1h"),
            )],
            traffic: [(to: "server", rate: 5120.0, timeout: "1h")],
        )"#,
    );
    sim.run_until(20.0);
    sim.flush_metrics();
    let served: u64 = common::seconds(&sim, 0)
        .iter()
        .map(|r| r.ok + r.server_errors)
        .sum();
    let per_request = sim.events_handled() as f64 / served as f64;
    assert!(
        (3.0..3.05).contains(&per_request),
        "{per_request:.3} events a request over {served} requests"
    );
    // Full speed: the mean response is the mean service time.
    let mean = mean_latency(&sim);
    assert!(
        (mean / 0.01 - 1.0).abs() < 0.03,
        "mean response {mean:.5} s"
    );
}
