//! Tools for scenario authors: self-tests that run a scenario's responses headless and check
//! their outcomes (`firedrill test`), and the commented starter scenario (`firedrill new`).

use std::path::{Path, PathBuf};

use crate::incident::load_script_file;
use crate::report;
use crate::scenario::{Expectations, Scenario};
use crate::scoring::Verdict;
use crate::session::{Baselines, Session, load_file};

/// The outcome of one self-test.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub scenario: String,
    pub test: String,
    /// Score in percent (None: the scenario has no ground truth).
    pub percent: Option<f64>,
    pub resolved: bool,
    /// The lowest share of budget left among the SLOs.
    pub budget_left: Option<f64>,
    /// What did not hold; empty when the test passed.
    pub failures: Vec<String>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Runs every self-test of the scenario at `path`. A scenario or script that does not load
/// is an `Err` with its located errors.
pub fn run_tests(path: &Path) -> Result<Vec<Outcome>, String> {
    let scenario = load_file(path).map_err(|e| e.to_string())?.scenario;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut outcomes = Vec::new();
    // A reference named but missing is the author's error, said once, before any test runs.
    if let Some(reference) = scenario
        .incident
        .as_ref()
        .and_then(|i| i.reference.as_ref())
    {
        Session::of(scenario.clone())
            .with_scenario_path(path)
            .reference()
            .map_err(|e| format!("{}: {reference}: {e}", path.display()))?;
    }
    // Doing nothing and the reference are the same runs for every test: made once.
    let mut baselines: Option<Baselines> = None;
    for test in &scenario.tests {
        let script = match &test.script {
            None => Vec::new(),
            Some(file) => {
                load_script_file(&dir.join(file), &scenario).map_err(|e| e.to_string())?
            }
        };
        let mut session = Session::of(scenario.clone()).with_scenario_path(path);
        if let Some(baselines) = baselines.take() {
            session = session.with_baselines(baselines);
        }
        let run = report::run(session, &script, (0, 0), (60.0, |_| {}));
        baselines = run.session.baselines().cloned();
        outcomes.push(judge(&scenario, &test.name, &test.expect, &run.report));
    }
    rank(&scenario, &mut outcomes);
    Ok(outcomes)
}

/// Runs the self-tests of every scenario in `files`, on every core; the outcomes in the
/// files' order.
pub fn run_all(files: &[PathBuf]) -> Vec<Result<Vec<Outcome>, String>> {
    crate::session::parallel::map(files, |file| run_tests(file))
}

/// Checks each test's ranking against the others' scores (`above`, `below`).
fn rank(scenario: &Scenario, outcomes: &mut [Outcome]) {
    let percent = |name: &str| {
        outcomes
            .iter()
            .find(|o| o.test == name)
            .and_then(|o| o.percent)
    };
    let failures: Vec<Vec<String>> = scenario
        .tests
        .iter()
        .zip(outcomes.iter())
        .map(|(test, outcome)| {
            let mut failures = Vec::new();
            let Some(mine) = outcome.percent else {
                return failures;
            };
            for (others, above) in [(&test.expect.above, true), (&test.expect.below, false)] {
                for other in others {
                    match percent(other) {
                        Some(theirs) if above && mine <= theirs => failures.push(format!(
                            "score {mine:.1}% not above \"{other}\" ({theirs:.1}%)"
                        )),
                        Some(theirs) if !above && mine >= theirs => failures.push(format!(
                            "score {mine:.1}% not below \"{other}\" ({theirs:.1}%)"
                        )),
                        Some(_) => {}
                        None => failures.push(format!("\"{other}\" has no score to rank against")),
                    }
                }
            }
            failures
        })
        .collect();
    for (outcome, more) in outcomes.iter_mut().zip(failures) {
        outcome.failures.extend(more);
    }
}

fn judge(
    scenario: &Scenario,
    test: &str,
    expect: &Expectations,
    report: &report::Report,
) -> Outcome {
    let percent = report.score.as_ref().map(|s| s.percent);
    let resolved = report.incident.lifecycle.resolved_s.is_some();
    let budget_left = report
        .slos
        .iter()
        .map(|s| s.budget_end)
        .min_by(f64::total_cmp);
    let mut failures = Vec::new();
    let prevented = report.score.as_ref().is_some_and(|s| s.prevented);
    if let Some(want) = expect.prevented
        && want != prevented
    {
        failures.push(if want {
            "expected the incident prevented; users were hurt or a page went out".to_string()
        } else {
            "expected the incident not prevented; it was".to_string()
        });
    }
    if let Some(want) = expect.resolved
        && want != resolved
    {
        failures.push(if want {
            "expected the incident resolved; it was not".to_string()
        } else {
            "expected the incident unresolved; it was resolved".to_string()
        });
    }
    match (percent, expect.min_score, expect.max_score) {
        (None, Some(_), _) | (None, _, Some(_)) => {
            failures.push("score bounds given, but the scenario has no ground truth".to_string())
        }
        (Some(p), Some(min), _) if p < min => {
            failures.push(format!("score {p:.0}% below {min:.0}%"))
        }
        (Some(p), _, Some(max)) if p > max => {
            failures.push(format!("score {p:.0}% above {max:.0}%"))
        }
        _ => {}
    }
    if let (Some(min), Some(left)) = (expect.min_budget_left, budget_left)
        && left < min
    {
        failures.push(format!(
            "budget left {:.1}% below {:.1}%",
            left * 100.0,
            min * 100.0
        ));
    }
    for (ids, want) in [
        (&expect.met, Verdict::Met),
        (&expect.failed, Verdict::Failed),
    ] {
        for id in ids {
            let got = report
                .score
                .as_ref()
                .and_then(|s| s.criterion(id))
                .map(|c| (c.verdict, c.why.clone()));
            match got {
                Some((verdict, _)) if verdict == want => {}
                Some((verdict, why)) => {
                    failures.push(format!("{id}: expected {want:?}, got {verdict:?} ({why})"))
                }
                None => failures.push(format!("{id}: no such criterion in the score")),
            }
        }
    }
    Outcome {
        scenario: scenario.name.clone(),
        test: test.to_string(),
        percent,
        resolved,
        budget_left,
        failures,
    }
}

/// The scenario files under `paths` (folders are searched; action scripts left out).
pub fn scenario_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            found.sort();
            files.extend(found.into_iter().filter(|p| {
                p.extension().is_some_and(|e| e == "ron")
                    && !p.to_string_lossy().ends_with(".actions.ron")
            }));
        } else {
            files.push(path.clone());
        }
    }
    files
}

/// A commented starter scenario named `name`: a small fleet, one bad deploy, an SLO, the
/// ground truth, a stakeholder message and the three self-tests every scenario should have.
pub fn starter(name: &str) -> String {
    STARTER.replace("{name}", name)
}

const STARTER: &str = r#"// {name}: a firedrill scenario. Format: docs/scenario-format.md; authoring: docs/authoring.md.
//   firedrill validate {name}.ron       check it (errors and warnings, located)
//   firedrill play {name}.ron           play it (the window reloads it when you save)
//   firedrill test {name}.ron           run its self-tests
(
    name: "{name}",
    description: "A web service and its API; the API gets a bad release.",
    seed: 1,
    duration: "20m",
    services: [
        (
            name: "web",
            instances: 2,
            workers: 32,
            service_time: LogNormal(median: "5ms", p99: "30ms"),
            calls: [(to: "api", timeout: "1s", retries: 1)],
        ),
        (
            name: "api",
            instances: 3,
            workers: 16,
            restart_time: "15s",
            service_time: LogNormal(median: "10ms", p99: "60ms"),
        ),
    ],
    traffic: [(name: "users", to: "web", rate: 100.0)],
    faults: [
        // The bad release: a fifth of requests fail once it is out.
        (name: "api v2 bug", kind: Deploy(version: "v2", error_ratio: 0.2), target: "api", start: At("3m")),
    ],
    slos: [
        (name: "web-availability", service: "web", objective: 99.9, window: "30d",
         runbook: "Check the API's deploy history; roll back a recent release first."),
    ],
    // The ground truth: what scoring compares the response against.
    incident: (
        briefing: "You are on call for the web shop's API. A release is rolling out this afternoon.",
        difficulty: Easy,
        severity: Sev2,
        root_cause: ["api v2 bug"],
        red_herrings: [(action: "RollingRestart", target: "api")],
        par_mitigate: "8m",
        // What users got is judged between doing nothing and this response.
        reference: "{name}.actions.ron",
    ),
    chat: (
        messages: [
            (from: "Release bot", text: "api v2 is rolling out.", when: AfterFault("api v2 bug", "5s")),
        ],
    ),
    // Self-tests: a reference solution, doing nothing, and a plausible wrong approach that
    // must rank below the reference.
    tests: [
        (name: "reference", script: "{name}.actions.ron",
         expect: (resolved: true, min_score: 85.0, met: ["rollback_first", "verify"])),
        (name: "doing nothing", expect: (resolved: false, max_score: 15.0)),
        (name: "restart instead of rolling back", script: "{name}.restart.actions.ron",
         expect: (below: ["reference"], max_score: 50.0, failed: ["rollback_first"])),
    ],
)
"#;

/// The reference solution that goes with the starter scenario.
pub fn starter_reference() -> &'static str {
    r#"// The reference solution: acknowledge, look, declare, roll back first, tell people,
// verify the recovery, resolve, write the postmortem.
[
    (at: "6m", do: Acknowledge(alert: "web-availability")),
    (at: "6m05s", do: Look(Slo("web-availability"))),
    (at: "6m10s", do: Look(Deploys)),
    (at: "6m15s", do: TakeRole(IncidentCommander)),
    (at: "6m20s", do: Declare(severity: Sev2)),
    (at: "6m25s", do: Hypothesis(fault: "Deploy", target: "api")),
    (at: "6m30s", do: Apply(Rollback(service: "api"))),
    (at: "7m", do: Update(audience: External, conditions: "Some page loads fail.",
        actions: "Rolling back the API release.", needs: "Nothing.")),
    (at: "15m", do: Update(audience: External, conditions: "Back to normal.",
        actions: "Rolled back; watching.", needs: "Nothing.")),
    (at: "15m30s", do: Resolve),
    (at: "20m", do: Postmortem((
        title: "API errors after the v2 release", authors: ["on-call"],
        summary: "A fifth of API requests failed for a few minutes after v2 shipped.",
        impact: "Failed page loads for about 5 minutes.", root_causes: "A bug in API v2.",
        trigger: "The v2 rollout.", resolution: "Rolled back to v1.",
        detection: "The web availability SLO paged.",
        action_items: [(item: "Canary API releases", type: Prevent, owner: "api team", priority: P1)],
        went_well: "Quick rollback.", went_wrong: "No canary.", got_lucky: "Low traffic.",
    ))),
]
"#
}

/// The wrong approach that goes with the starter scenario.
pub fn starter_wrong() -> &'static str {
    r#"// A plausible wrong approach: restarting keeps the bad version running.
[
    (at: "6m", do: Acknowledge(alert: "web-availability")),
    (at: "7m", do: Apply(RollingRestart(service: "api"))),
    (at: "12m", do: Resolve),
]
"#
}
