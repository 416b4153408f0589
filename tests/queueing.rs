//! Queueing fidelity: a single service under Poisson arrivals and exponential service must
//! behave as M/M/c theory (Erlang C) says, measured from the simulation's own metrics.

use firedrill::session::Simulation;
use firedrill::session::load_str;

/// Erlang C: the probability that an arrival waits, for `c` servers and offered load `a`.
fn erlang_c(c: u32, a: f64) -> f64 {
    let mut term = 1.0; // a^k / k!
    let mut sum = 0.0;
    for k in 0..c {
        if k > 0 {
            term *= a / f64::from(k);
        }
        sum += term;
    }
    let top = term * a / f64::from(c) * f64::from(c) / (f64::from(c) - a);
    top / (sum + top)
}

/// P(T > t) for the M/M/c response time.
fn tail(c: u32, lambda: f64, mu: f64, t: f64) -> f64 {
    let cw = erlang_c(c, lambda / mu);
    let theta = f64::from(c) * mu - lambda;
    let waiting = if (theta - mu).abs() < 1e-9 {
        cw * (1.0 + mu * t) * (-mu * t).exp()
    } else {
        cw * (theta * (-mu * t).exp() - mu * (-theta * t).exp()) / (theta - mu)
    };
    (1.0 - cw) * (-mu * t).exp() + waiting
}

fn percentile(c: u32, lambda: f64, mu: f64, p: f64) -> f64 {
    let (mut lo, mut hi) = (0.0, 1000.0 / mu);
    for _ in 0..200 {
        let mid = (lo + hi) / 2.0;
        if tail(c, lambda, mu, mid) > 1.0 - p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo + hi) / 2.0
}

#[test]
fn oracle_matches_published_reference_values() {
    // simulation-reference.md: M/M/5 at rho 0.8, C = 0.554 and p99 = 6.08 service times.
    assert!((erlang_c(5, 4.0) - 0.554).abs() < 0.001);
    assert!((percentile(5, 4.0, 1.0, 0.99) - 6.08).abs() < 0.01);
    assert!((percentile(10, 8.0, 1.0, 0.99) - 4.95).abs() < 0.01);
    // M/M/1: p99 = ln(100) / (mu - lambda).
    assert!((percentile(1, 0.5, 1.0, 0.99) - 100f64.ln() / 0.5).abs() < 1e-6);
}

struct Measured {
    mean: f64,
    p99: f64,
    arrivals: f64,
    in_system: f64,
    seconds: f64,
}

fn simulate(c: u32, rho: f64, mean_service: f64, seconds: f64, seed: u64) -> Measured {
    let lambda = rho * f64::from(c) / mean_service;
    let text = format!(
        r#"(
            name: "mmc",
            seed: {seed},
            duration: {seconds},
            services: [(
                name: "server",
                workers: {c},
                service_time: Exponential(mean: {mean_service}),
                cpu: (cores: 1000.0),
                health_check: (timeout: "1h"),
            )],
            traffic: [(to: "server", rate: {lambda}, timeout: "1h")],
        )"#
    );
    let loaded = load_str("mmc.ron", &text).expect("valid scenario");
    let mut sim = Simulation::new(&loaded.scenario);
    sim.run_until(seconds);
    sim.flush_metrics();
    let totals = &sim.service_metrics(0).totals;
    let ticks = totals.ticks as f64;
    Measured {
        mean: totals.counts.latency.mean().unwrap(),
        p99: totals.counts.latency.quantile(0.99).unwrap(),
        arrivals: totals.counts.arrivals as f64,
        in_system: (totals.in_flight_sum + totals.queue_sum) / ticks,
        seconds,
    }
}

fn check(c: u32, rho: f64) {
    let mean_service = 0.01;
    let mu = 1.0 / mean_service;
    let lambda = rho * f64::from(c) * mu;
    // Long enough for about 600k requests (more near saturation, where runs converge slowly).
    let seconds = (600_000.0 / lambda)
        .max(if rho > 0.85 { 3000.0 } else { 600.0 })
        .round();
    let m = simulate(c, rho, mean_service, seconds, 7 + u64::from(c));
    let cw = erlang_c(c, lambda / mu);
    let w = cw / (f64::from(c) * mu - lambda) + 1.0 / mu;
    let p99 = percentile(c, lambda, mu, 0.99);
    let mean_err = m.mean / w - 1.0;
    let p99_err = m.p99 / p99 - 1.0;
    // Little's law on the run itself: time-average number in system = arrival rate x mean time.
    let little_err = m.in_system / (m.arrivals / m.seconds * m.mean) - 1.0;
    eprintln!(
        "M/M/{c} rho {rho}: W {:.5} vs {w:.5} ({:+.2}%), p99 {:.5} vs {p99:.5} ({:+.2}%), Little {:+.2}%",
        m.mean,
        mean_err * 100.0,
        m.p99,
        p99_err * 100.0,
        little_err * 100.0
    );
    assert!(
        mean_err.abs() < 0.05,
        "M/M/{c} rho {rho}: mean off by {:.1}%",
        mean_err * 100.0
    );
    assert!(
        p99_err.abs() < 0.10,
        "M/M/{c} rho {rho}: p99 off by {:.1}%",
        p99_err * 100.0
    );
    assert!(
        little_err.abs() < 0.02,
        "M/M/{c} rho {rho}: Little's law off by {:.1}%",
        little_err * 100.0
    );
}

#[test]
fn mm1() {
    for rho in [0.5, 0.8, 0.9] {
        check(1, rho);
    }
}

#[test]
fn mm4() {
    for rho in [0.5, 0.8, 0.9] {
        check(4, rho);
    }
}

#[test]
fn mm16() {
    for rho in [0.5, 0.8, 0.9] {
        check(16, rho);
    }
}
