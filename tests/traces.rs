//! Sampled traces: span trees whose structure and timing are the request's real path, so a
//! slow dependency is found the way it is found with tracing.

mod common;

use firedrill::session::Simulation;
use firedrill::sim::traces::{Handler, Span};

fn sim(body: &str) -> Simulation {
    let text = format!("(name: \"traces\", seed: 2, duration: \"30m\", {body})");
    common::simulation("traces.ron", &text)
}

const CHAIN: &str = r#"services: [
        (name: "web", workers: 64, service_time: Constant(value: "2ms"),
         calls: [(to: "catalog"), (to: "payment", timeout: "5s")]),
        (name: "catalog", workers: 64, service_time: Constant(value: "3ms")),
        (name: "payment", workers: 64, service_time: Constant(value: "10ms")),
    ],
    traffic: [(name: "users", to: "web", rate: 100.0)],
    faults: [(kind: Latency(extra: "400ms"), target: "payment", start: At("30s"))]"#;

#[test]
fn about_one_request_in_a_hundred_is_traced_along_its_whole_path() {
    let mut sim = sim(CHAIN);
    sim.run_until(120.0);
    let traces = sim.traces();
    let roots: Vec<&Span> = traces.roots().collect();
    // 100 req/s for 120 s, 1% sampled: about 120 traces.
    assert!((90..=150).contains(&roots.len()), "{}", roots.len());
    for root in roots {
        let spans = traces.trace(root.trace);
        assert_eq!(spans.len(), 4, "user, web, catalog, payment");
        // Nothing times out here, so every call ends within its caller's span.
        for span in &spans {
            if span.parent != 0 {
                let parent = spans
                    .iter()
                    .find(|p| p.id == span.parent)
                    .expect("parent kept");
                assert!(
                    span.start >= parent.start - 1e-12 && span.end <= parent.end + 1e-12,
                    "nested in time"
                );
            }
        }
    }
}

#[test]
fn the_slowest_trace_points_at_the_slow_dependency() {
    let mut sim = sim(CHAIN);
    sim.run_until(60.0);
    let slowest = &sim.slowest_traces(1)[0];
    let lines: Vec<&str> = slowest.lines().collect();
    assert!(lines[0].starts_with("user (users)"), "{slowest}");
    let payment = lines
        .iter()
        .find(|l| l.trim_start().starts_with("payment-0"))
        .unwrap();
    assert!(
        payment.contains("410.0ms"),
        "payment took its 10 ms plus the 400 ms fault: {slowest}"
    );
    let catalog = lines
        .iter()
        .find(|l| l.trim_start().starts_with("catalog-0"))
        .unwrap();
    assert!(catalog.contains("  3.0ms"), "catalog is fine: {slowest}");
    let web = sim.traces().roots().map(|r| r.handler).next();
    assert_eq!(web, Some(Handler::Client(0)));
}
