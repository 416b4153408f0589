//! The metastable retry storm (simulation-reference.md, after Bronson et al. and Huang et al.):
//! a short spike tips a server whose latency grows with concurrency into a state that
//! retries sustain after the spike is gone; backoff with jitter and a retry budget let it
//! recover.

use firedrill::scenario::load_str;
use firedrill::sim::Simulation;
use firedrill::sim::metrics::SourceRow;

const SPIKE_START: f64 = 60.0;
const SPIKE_END: f64 = 65.0;

fn run(client_retry_policy: &str, seconds: f64) -> Vec<SourceRow> {
    let text = format!(
        r#"(
            name: "retry-storm",
            seed: 3,
            duration: {seconds},
            services: [(
                name: "server",
                // Concurrency is unbounded; latency = 1.0 s + 0.01 s x requests in service.
                workers: 100000,
                service_time: Constant(value: "1s"),
                slowdown_per_request: "10ms",
                cpu: (cores: 1000.0),
            )],
            traffic: [(
                to: "server",
                rate: 40.0,
                spikes: [(at: "{SPIKE_START}s", duration: "5s", multiplier: 2.0)],
                timeout: "3s",
                retries: 3,
                {client_retry_policy}
            )],
        )"#
    );
    let loaded = load_str("retry-storm.ron", &text).expect("valid scenario");
    let mut sim = Simulation::new(&loaded.scenario);
    sim.run_until(seconds);
    sim.source_metrics(0)
        .seconds
        .rows()
        .iter()
        .cloned()
        .collect()
}

/// Successful responses per first try offered, over rows starting in [from, to).
fn goodput(rows: &[SourceRow], from: f64, to: f64) -> f64 {
    let window = rows.iter().filter(|r| r.t >= from && r.t < to);
    let (ok, offered) = window.fold((0, 0), |(ok, off), r| (ok + r.ok, off + r.first_tries));
    ok as f64 / offered as f64
}

#[test]
fn stable_before_the_spike() {
    let rows = run("backoff: Immediate,", 60.0);
    let g = goodput(&rows, 20.0, 60.0);
    assert!(g > 0.95, "goodput before the spike {g:.2}");
}

#[test]
fn without_backoff_the_storm_outlives_its_trigger() {
    let rows = run("backoff: Immediate,", 200.0);
    let before = goodput(&rows, 20.0, SPIKE_START);
    eprintln!("goodput before the spike: {before:.2}");
    assert!(before > 0.95);
    // Every 5-second window of the minute after the spike ends stays below 25% of offered load.
    let mut from = SPIKE_END;
    while from < SPIKE_END + 60.0 {
        let g = goodput(&rows, from, from + 5.0);
        eprintln!("goodput {from:>5}s..{:>5}s: {g:.2}", from + 5.0);
        assert!(
            g < 0.25,
            "goodput {g:.2} at {from}s: the system recovered on its own"
        );
        from += 5.0;
    }
    // And it is still down at the end: retries outnumber first tries at the server.
    let late: Vec<&SourceRow> = rows.iter().filter(|r| r.t >= 180.0).collect();
    let retries: u64 = late.iter().map(|r| r.retries).sum();
    let first: u64 = late.iter().map(|r| r.first_tries).sum();
    assert!(retries > first, "retries {retries} vs first tries {first}");
}

#[test]
fn backoff_with_jitter_and_a_retry_budget_recovers() {
    let rows = run(
        r#"backoff: Exponential(base: "1s", cap: "30s", jitter: Full),
           retry_budget: (ratio: 0.1, max_tokens: 10.0),"#,
        300.0,
    );
    let after = goodput(&rows, 240.0, 300.0);
    eprintln!("goodput in the last minute: {after:.2}");
    assert!(after > 0.90, "goodput {after:.2}: no recovery");
}
