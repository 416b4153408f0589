//! A responder's budget estimate is a command: journaled, answered from what is known when it
//! is asked (no fault that has not started, its own random stream), in the debrief and the
//! report, replayed byte for byte, and limited or charged as the scenario says.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use common::entry;
use firedrill::incident::{Command, Entry};
use firedrill::remediation::Remediation;
use firedrill::session::{Overrides, Session};

const TUTORIAL: &str = "scenarios/tutorial.ron";

fn rollback() -> Remediation {
    Remediation::Rollback {
        service: "api".into(),
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("estimate");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// The tutorial (its bad release starts at 2m) with `policy` in its ground truth, played
/// with `script` to its end.
fn play(policy: &str, script: &[Entry]) -> firedrill::report::Run {
    let text = std::fs::read_to_string(TUTORIAL).unwrap().replace(
        "par_mitigate: \"8m\",",
        &format!("par_mitigate: \"8m\", {policy}"),
    );
    let (session, _) = Session::start(TUTORIAL, &text, Overrides::default()).unwrap();
    firedrill::report::run(session, script, (0, 0), (60.0, |_| {}))
}

#[test]
fn an_estimate_knows_only_the_faults_that_have_started() {
    // At 1m the bad release is a minute away: the responder cannot know it.
    let run = play("", &[entry(60.0, "on-call", Command::Estimate(rollback()))]);
    let asked = &run.timeline.estimates;
    assert_eq!(asked.len(), 1);
    let costs = asked[0].costs.as_ref().expect("answered");
    // The author's estimate, which knows the whole scenario, sees the release fail users.
    let scenario = firedrill::session::load_file(Path::new(TUTORIAL))
        .unwrap()
        .scenario;
    let exact = firedrill::session::estimate(&scenario, &[], &rollback(), (60.0, 300.0));
    assert!(exact[0].without_action > 0.01, "{exact:?}");
    assert!(
        costs[0].without_action < exact[0].without_action / 10.0,
        "the estimate saw the future: {costs:?} vs {exact:?}"
    );
    // Asked after the release started, it sees it.
    let later = play(
        "",
        &[entry(200.0, "on-call", Command::Estimate(rollback()))],
    );
    let costs = later.timeline.estimates[0].costs.as_ref().unwrap();
    assert!(costs[0].without_action > costs[0].with_action, "{costs:?}");
    // The debrief's timeline tells it.
    assert!(
        later
            .timeline
            .events()
            .iter()
            .any(|(_, line)| line.starts_with("estimate: on-call asked at 3m20s what Rollback(service:\"api\") would cost over the next 5m: web-availability")),
        "{:?}",
        later.timeline.events()
    );
}

#[test]
fn a_scenario_limits_and_charges_estimates() {
    let asks = [
        entry(150.0, "on-call", Command::Estimate(rollback())),
        entry(160.0, "on-call", Command::Estimate(rollback())),
    ];
    let run = play("estimates: (limit: 1, cost: 0.02),", &asks);
    assert_eq!(run.timeline.estimates.len(), 1);
    let refused: Vec<&str> = run
        .timeline
        .records
        .iter()
        .filter_map(|r| r.refused.as_deref())
        .collect();
    assert_eq!(refused, ["no estimates left: this scenario allows 1"]);
    let score = run.report.score.unwrap();
    let penalty = score.criterion("estimates").expect("charged");
    assert!((penalty.points + (0.02 * score.max * 10.0).round() / 10.0).abs() < 1e-9);
    let off = play("estimates: (limit: 0),", &asks[..1]);
    assert!(off.timeline.estimates.is_empty());
    assert_eq!(
        off.timeline.records[0].refused.as_deref(),
        Some("this scenario allows no estimates: decide from the evidence")
    );
}

#[test]
fn an_estimate_is_journaled_reported_and_replayed_byte_for_byte() {
    let script = scratch("estimate.actions.ron");
    std::fs::write(
        &script,
        r#"[
    (at: "3m", do: Estimate(Rollback(service: "api"))),
    (at: "3m30s", do: Apply(Rollback(service: "api"))),
]"#,
    )
    .unwrap();
    let (journal, original, replayed) = (
        scratch("estimate.jsonl"),
        scratch("estimate-original.json"),
        scratch("estimate-replayed.json"),
    );
    let firedrill = |args: &[&str]| {
        Process::new(env!("CARGO_BIN_EXE_firedrill"))
            .args(args)
            .env("FIREDRILL_DATA_DIR", scratch("data"))
            .output()
            .unwrap()
    };
    let out = firedrill(&[
        "run",
        TUTORIAL,
        "--script",
        script.to_str().unwrap(),
        "--journal",
        journal.to_str().unwrap(),
        "--report",
        original.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        std::fs::read_to_string(&journal)
            .unwrap()
            .contains(r#""do":{"Estimate":{"Rollback":{"service":"api"}}}"#)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&original).unwrap()).unwrap();
    let estimates = report["incident"]["estimates"].as_array().unwrap();
    assert_eq!(estimates.len(), 1);
    assert!(estimates[0]["costs"][0]["without_action"].as_f64().unwrap() > 0.0);
    let out = firedrill(&[
        "replay",
        journal.to_str().unwrap(),
        "--report",
        replayed.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        std::fs::read(&original).unwrap(),
        std::fs::read(&replayed).unwrap(),
        "the replay's report differs from the session's"
    );
}
