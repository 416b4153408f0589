//! What the debrief costs: scoring a 20-minute shop incident with ten changes, which replays
//! the session without each change (ten what-if runs) and runs doing nothing and the
//! reference, spread over the machine's cores. The session itself is played in the setup,
//! outside the measurement.

use std::path::Path;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use firedrill::incident::{Command, Entry};
use firedrill::scenario::Seconds;
use firedrill::session::{Session, load_file};

/// Ten changes a busy responder might make: some help, some do nothing, some hurt.
const CHANGES: &[(&str, &str)] = &[
    ("9m30s", r#"RollingRestart(service: "recommendations")"#),
    ("9m40s", r#"ScaleIn(service: "recommendations", count: 1)"#),
    ("9m50s", r#"TuneCalls(from: "web", to: "recommendations")"#),
    ("10m", r#"Rollback(service: "checkout")"#),
    (
        "10m30s",
        r#"RestartInstance(service: "checkout", instance: 1)"#,
    ),
    (
        "11m",
        r#"RestartInstance(service: "inventory", instance: 0)"#,
    ),
    ("12m", r#"RollingRestart(service: "catalog")"#),
    ("13m", r#"RollingRestart(service: "cart")"#),
    ("14m", r#"SetPool(service: "orders-db", size: 40)"#),
    ("15m", r#"ScaleIn(service: "checkout", count: 1)"#),
];

fn debrief(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/shop-incident.ron");
    let scenario = load_file(&path)
        .expect("shop-incident.ron is valid")
        .scenario;
    let script: Vec<Entry> = CHANGES
        .iter()
        .map(|(at, change)| Entry {
            at: ron::from_str::<Seconds>(&format!("\"{at}\"")).expect("a time"),
            by: "on-call".to_string(),
            command: Command::Apply(ron::from_str(change).expect("a remediation")),
        })
        .collect();
    let played = || {
        let mut session = Session::of(scenario.clone()).with_scenario_path(&path);
        session.play_script(&script);
        session.run_until(scenario.duration.get());
        session
    };
    let mut group = c.benchmark_group("debrief");
    group.sample_size(10);
    group.bench_function("shop-incident, 10 changes", |b| {
        b.iter_batched(
            played,
            |mut session| {
                let finished = session.finish();
                assert_eq!(finished.score.expect("scored").effects.len(), CHANGES.len());
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, debrief);
criterion_main!(benches);
