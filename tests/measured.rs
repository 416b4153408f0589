//! Scoring by measured effect, on the shipped retry storm: the engine replays the session
//! without each change, so a change that does nothing earns nothing, and an effective one
//! the author never listed earns the credit.

mod common;

use std::path::Path;

use common::entry;
use firedrill::incident::{Command, Entry};
use firedrill::remediation::Remediation;
use firedrill::scoring::Verdict;
use firedrill::scoring::measured::Effect;
use firedrill::session::{Session, load_file};

const RETRY_STORM: &str = "scenarios/retry-storm.ron";

/// Plays `changes` (at 8m10s, the reference's time) on the retry storm to its end, with its
/// reference found next to it, and returns the score and each SLO's bad requests.
fn play(changes: &[Remediation]) -> (firedrill::scoring::Score, Vec<u64>) {
    let path = Path::new(RETRY_STORM);
    let scenario = load_file(path).unwrap().scenario;
    let script: Vec<Entry> = changes
        .iter()
        .map(|r| entry(490.0, "on-call", Command::Apply(r.clone())))
        .collect();
    let run = firedrill::report::run(
        Session::of(scenario).with_scenario_path(path),
        &script,
        (0, 0),
        (60.0, |_| {}),
    );
    let bad = run.report.slos.iter().map(|s| s.bad_events).collect();
    (run.report.score.expect("retry-storm is scored"), bad)
}

fn no_op_tune() -> Remediation {
    ron::from_str(r#"TuneCalls(from: "web", to: "api")"#).unwrap()
}

fn bigger_pool() -> Remediation {
    ron::from_str(r#"SetPool(service: "api", size: 80)"#).unwrap()
}

#[test]
fn a_change_that_changes_nothing_earns_no_mitigation_credit() {
    let (score, _) = play(&[no_op_tune()]);
    assert_eq!(score.effects.len(), 1);
    let effect = &score.effects[0];
    assert_eq!(effect.effect, Effect::Neutral, "{effect:?}");
    // Nothing changed, so the run without it is the same run, request for request.
    assert!(effect.saved_requests.iter().all(|s| *s == 0), "{effect:?}");
    let mitigate = score.criterion("mitigate_first").unwrap();
    assert_eq!(mitigate.verdict, Verdict::Failed, "{}", mitigate.why);
    assert!(
        mitigate.why.contains("no measurable effect"),
        "{}",
        mitigate.why
    );
}

#[test]
fn an_effective_change_nobody_listed_earns_the_credit() {
    let scenario = load_file(Path::new(RETRY_STORM)).unwrap().scenario;
    let listed = &scenario.incident.as_ref().unwrap().mitigations;
    assert!(
        !listed.iter().any(|p| bigger_pool().fits(p)),
        "the test needs a change the author did not list"
    );
    let (score, _) = play(&[bigger_pool()]);
    assert_eq!(
        score.effects[0].effect,
        Effect::Helpful,
        "{:?}",
        score.effects
    );
    let mitigate = score.criterion("mitigate_first").unwrap();
    assert_eq!(mitigate.verdict, Verdict::Met, "{}", mitigate.why);
    assert!(
        mitigate.why.contains("SetPool(api) at 8m10s: saved"),
        "{}",
        mitigate.why
    );
}

#[test]
fn a_lone_change_saves_what_doing_nothing_would_have_lost() {
    // Without its only change, a session is doing nothing: the effect must be exactly the
    // difference from a separate run of doing nothing.
    let (score, with) = play(&[bigger_pool()]);
    let (_, nothing) = play(&[]);
    let saved: Vec<i64> = nothing
        .iter()
        .zip(&with)
        .map(|(n, w)| *n as i64 - *w as i64)
        .collect();
    assert_eq!(score.effects[0].saved_requests, saved);
    let outcomes = score.outcomes.as_ref().unwrap();
    assert_eq!(outcomes.nothing.requests, nothing);
    assert_eq!(outcomes.yours.requests, with);
}

#[test]
fn measuring_is_deterministic() {
    let twice = || {
        let (score, _) = play(&[no_op_tune(), bigger_pool()]);
        serde_json::to_string(&score).unwrap()
    };
    assert_eq!(twice(), twice());
}
