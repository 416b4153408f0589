//! A responder's budget estimate is a command: journaled, answered from what is known when it
//! is asked (no fault that has not started, its own random stream), in the debrief and the
//! report, and limited or charged as the scenario says. Its journal and byte-identical replay
//! are tested with the binary, in `tests/cli.rs`.

mod common;

use std::path::Path;

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
