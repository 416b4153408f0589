//! The logs name the real cause of what goes wrong, the way real logs do, and an error storm
//! does not flood them.

use firedrill::remediation::Remediation;
mod common;

use firedrill::session::Simulation;

fn sim(body: &str) -> Simulation {
    let text = format!("(name: \"logs\", seed: 9, duration: \"30m\", {body})");
    common::simulation("logs.ron", &text)
}

fn contains(lines: &[String], needle: &str) -> bool {
    lines.iter().any(|l| l.contains(needle))
}

#[test]
fn failed_calls_name_the_request_the_dependency_and_how_it_failed() {
    let mut sim = sim(
        r#"services: [(name: "checkout", calls: [(to: "payment", timeout: "3s", retries: 1)]), (name: "payment", kind: External)],
           traffic: [(to: "checkout", rate: 5.0)],
           faults: [(kind: Partition, target: "checkout->payment", start: At("10s"))]"#,
    );
    sim.run_until(40.0);
    let lines = sim.log_lines(0, 50);
    assert!(
        contains(
            &lines,
            "retry 1 of call to payment: timed out waiting for payment"
        ),
        "{lines:#?}"
    );
    assert!(contains(
        &lines,
        "call to payment failed after 2 attempt(s), request failed: timed out waiting for payment"
    ));
    // Each line carries its request's id, so a request's story can be followed.
    let ids: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.split("req=").nth(1))
        .map(|rest| &rest[..8])
        .collect();
    assert!(ids.len() > 10 && ids.iter().all(|id| u32::from_str_radix(id, 16).is_ok()));
    let retried = lines.iter().find(|l| l.contains("retry 1")).unwrap();
    let id = &retried.split("req=").nth(1).unwrap()[..8];
    assert!(
        lines
            .iter()
            .any(|l| l.contains(id) && l.contains("failed after 2 attempt(s)")),
        "the retried request's failure carries the same id"
    );
}

#[test]
fn own_failures_name_their_cause() {
    let mut sim = sim(
        r#"services: [(name: "api", instances: 2, memory: (base_mb: 200.0, limit_mb: 300.0, per_request_mb: 0.0),
                       disk: (size_mb: 5000.0, used_mb: 4990.0))],
           traffic: [(to: "api", rate: 20.0)],
           faults: [
               (kind: Deploy(version: "v7", error_ratio: 0.5), target: "api", start: At("5s")),
               (kind: MemoryLeak(per_minute_mb: 300.0), target: "api", start: At("0s")),
               (kind: DiskFill(per_request_mb: 1.0), target: "api", start: At("100s")),
           ]"#,
    );
    sim.schedule(
        1.0,
        Remediation::RestartInstance {
            service: "api".into(),
            instance: 1,
        },
    );
    sim.run_until(140.0);
    let lines = sim.log_lines(0, 2_000);
    for needle in [
        "INFO  api-1 shutting down for a restart",
        "api-0 started, version v7",
        "request failed: unhandled exception in api (version v7)",
        "killed: out of memory (",
        "request failed: write /var/log/app.log: no space left on device",
    ] {
        assert!(
            contains(&lines, needle),
            "no line with {needle:?} in {lines:#?}"
        );
    }
}

#[test]
fn a_healthy_service_logs_routine_lines() {
    let mut sim =
        sim(r#"services: [(name: "api", instances: 2)], traffic: [(to: "api", rate: 5.0)]"#);
    sim.run_until(60.0);
    let lines = sim.log_lines(0, 100);
    // One line every 15 s per instance.
    assert_eq!(
        lines.iter().filter(|l| l.contains(" INFO  ")).count(),
        8,
        "{lines:#?}"
    );
}

#[test]
fn an_error_storm_is_rate_limited_and_the_drop_is_counted() {
    let mut sim = sim(
        r#"services: [(name: "api", workers: 64)], traffic: [(to: "api", rate: 200.0)],
           faults: [(kind: Errors(ratio: 1.0), target: "api", start: At("0s"))]"#,
    );
    sim.run_until(10.5);
    let lines = sim.log_lines(0, 2_000);
    let errors = lines
        .iter()
        .filter(|l| l.contains("internal error"))
        .count();
    assert_eq!(errors, 20 * 10 + 20, "20 lines a second are kept");
    // About 200 errors a second against a budget of 20: about 180 dropped, and said so.
    let dropped: Vec<u32> = lines
        .iter()
        .filter_map(|l| l.split("WARN  api-0 ").nth(1))
        .filter_map(|rest| {
            rest.strip_suffix(" more log lines this second were dropped (rate limit)")
        })
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(dropped.len(), 10, "one note per full second");
    assert!(
        dropped.iter().all(|&n| (130..230).contains(&n)),
        "{dropped:?}"
    );
}

#[test]
fn refusals_say_why() {
    let mut sim = sim(r#"services: [
            (name: "web", workers: 64, calls: [(to: "search", timeout: "1s"), (to: "ads", optional: true)]),
            (name: "search"),
            (name: "ads", workers: 1, queue_limit: 0, service_time: Constant(value: "200ms")),
        ],
        traffic: [(to: "web", rate: 10.0)],
        faults: [(kind: DnsFailure, target: "web->search", start: At("10s"), duration: "10s")]"#);
    sim.schedule(
        30.0,
        Remediation::OpenCircuit {
            from: "web".into(),
            to: "search".into(),
        },
    );
    sim.run_until(40.0);
    let lines = sim.log_lines(0, 2_000);
    for needle in [
        "answered 503 Service Unavailable (queue full)",
        "cannot resolve search: no such host",
        "circuit breaker to search is open",
    ] {
        assert!(contains(&lines, needle), "no line with {needle:?}");
    }
}
