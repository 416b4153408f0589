//! Scenarios tested like code: every shipped scenario with ground truth carries a reference
//! solution, doing nothing and a wrong approach, and all its self-tests pass; the starter
//! that `firedrill new` writes passes its own.

use std::path::{Path, PathBuf};

use firedrill::authoring::{run_all, run_tests, scenario_files};
use firedrill::session::Simulation;
use firedrill::session::load_file;

#[test]
fn every_shipped_scenario_passes_its_self_tests() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let files = scenario_files(&[dir]);
    for (file, outcomes) in files.iter().zip(run_all(&files)) {
        let scenario = load_file(file).unwrap().scenario;
        let outcomes = outcomes.unwrap_or_else(|e| panic!("{e}"));
        if scenario.incident.is_some() {
            assert!(
                outcomes.len() >= 3,
                "{}: a reference, doing nothing and a wrong approach",
                file.display()
            );
            assert!(
                scenario.tests.iter().any(|t| t.script.is_none()),
                "{}: no test of doing nothing",
                file.display()
            );
        }
        for outcome in outcomes {
            assert!(
                outcome.passed(),
                "{} / {}: {:?}",
                outcome.scenario,
                outcome.test,
                outcome.failures
            );
        }
    }
}

/// Without its faults, every scored scenario's fleet meets its SLOs the whole run: the
/// incident is the faults' doing, not a fleet that was failing before anything broke.
#[test]
fn every_scored_scenario_is_healthy_without_its_faults() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    for file in scenario_files(&[dir]) {
        let mut scenario = load_file(&file).unwrap().scenario;
        if scenario.incident.is_none() {
            continue;
        }
        scenario.faults.clear();
        let mut sim = Simulation::new(&scenario);
        sim.run_until(scenario.duration.get());
        for slo in sim.slos() {
            let name = &slo.spec.name;
            let report = slo.report(name);
            let worst = report.burn.iter().map(|b| b.burn_5m).fold(0.0, f64::max);
            assert!(
                worst < 1.0,
                "{}: {name} burns {worst:.2}x without faults",
                file.display()
            );
            assert!(report.pages.is_empty(), "{}: {name} paged", file.display());
        }
        for alert in sim.threshold_alerts() {
            assert!(
                alert.pager.pages.is_empty(),
                "{}: {} paged without faults",
                file.display(),
                alert.spec.name
            );
        }
    }
}

#[test]
fn the_starter_scenario_passes_its_own_tests_and_failures_are_reported() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("starter");
    let _ = std::fs::remove_dir_all(&dir);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args(["new", "drill", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let file = dir.join("drill.ron");
    let loaded = load_file(&file).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let outcomes = run_tests(&file).unwrap();
    assert_eq!(outcomes.len(), 3);
    assert!(outcomes.iter().all(|o| o.passed()), "{outcomes:?}");
    assert!(
        outcomes[0].percent.unwrap() > outcomes[2].percent.unwrap() + 40.0,
        "{outcomes:?}"
    );
    // Writing over it is refused.
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args(["new", "drill", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    // An expectation that does not hold fails the test, and `firedrill test` exits 1.
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("max_score: 15.0", "min_score: 90.0")).unwrap();
    let outcomes = run_tests(&file).unwrap();
    assert_eq!(outcomes[1].failures.len(), 1, "{outcomes:?}");
    assert!(
        outcomes[1].failures[0].starts_with("score 4% below 90%"),
        "{:?}",
        outcomes[1].failures
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .arg("test")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAILED: score 4% below 90%"));
}

/// Self-tests run on every core print exactly what they print on one thread.
#[test]
fn self_tests_print_the_same_on_one_thread_and_on_many() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let test = |jobs: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_firedrill"))
            .args(["test", "--jobs", jobs])
            .args(["tutorial.ron", "cert-expiry.ron", "dns-failure.ron"].map(|f| dir.join(f)))
            .output()
            .unwrap()
    };
    let (one, many) = (test("1"), test("4"));
    assert!(one.status.success() && many.status.success());
    let printed = String::from_utf8_lossy(&one.stdout);
    assert!(printed.contains(" 0 failed"), "{printed}");
    assert_eq!(printed, String::from_utf8_lossy(&many.stdout));
}

/// The library covers what a mentor needs: at least 27 scored scenarios, every fault kind
/// used by one of them, and each with its facilitator's notes and its routes tested.
#[test]
fn the_library_covers_every_fault_kind_with_notes_and_tested_routes() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut kinds_used = std::collections::BTreeSet::new();
    let mut scored = 0;
    for file in scenario_files(&[dir]) {
        let scenario = load_file(&file).unwrap().scenario;
        let Some(incident) = &scenario.incident else {
            continue;
        };
        scored += 1;
        kinds_used.extend(scenario.faults.iter().map(|f| f.kind.label()));
        let notes = &incident.notes;
        let name = file.display();
        assert!(!notes.class.is_empty(), "{name}: notes.class");
        assert!(!notes.precedent.is_empty(), "{name}: notes.precedent");
        assert!(!notes.objectives.is_empty(), "{name}: notes.objectives");
        assert!(!notes.questions.is_empty(), "{name}: notes.questions");
        // A reference, another good route and at least two wrong ones, besides doing nothing.
        assert!(incident.reference.is_some(), "{name}: no reference");
        let scripted = scenario.tests.iter().filter(|t| t.script.is_some()).count();
        assert!(scripted >= 4, "{name}: {scripted} scripted routes");
    }
    assert!(scored >= 27, "only {scored} scored scenarios");
    let missing: Vec<&str> = firedrill::faults::CATALOG
        .iter()
        .map(|entry| entry.name)
        .filter(|kind| !kinds_used.contains(kind))
        .collect();
    assert!(
        missing.is_empty(),
        "fault kinds no scored scenario uses: {missing:?}"
    );
}

/// docs/scenarios.md is what `firedrill library --markdown` prints for the shipped library.
#[test]
fn the_library_document_is_up_to_date() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args(["library", "--markdown"])
        .arg(root.join("scenarios"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = std::fs::read_to_string(root.join("docs/scenarios.md")).unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout) == written,
        "docs/scenarios.md is stale: run `firedrill library --markdown > docs/scenarios.md`"
    );
}
