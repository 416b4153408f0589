//! A trainee's progress as the picker and the profile show it, from sessions played headless
//! into a fixed data folder: the scores, missed criteria, recommendation and competencies
//! must be what the sessions' own reports say.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use firedrill::history::{Location, Why, database, library};
use firedrill::scenario::Difficulty;
use firedrill::scoring::competency::Competency;

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("progress")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Plays `script` on the tutorial headless as `firedrill run` does, recording the history in
/// `data`; returns the session's report.
fn play(data: &Path, script: &str, report: &Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args([
            "run",
            "scenarios/tutorial.ron",
            "--script",
            script,
            "--report",
        ])
        .arg(report)
        .arg("--data-dir")
        .arg(data)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("FIREDRILL_HISTORY_URL")
        .output()
        .expect("the binary runs");
    assert!(out.status.success(), "{out:?}");
    serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn three_sessions_make_the_pickers_record_recommendation_and_profile() {
    let dir = scratch("three");
    let data = dir.join("data");
    let scripts = [
        "scenarios/tutorial.cowboy.actions.ron",
        "scenarios/tutorial.theatre.actions.ron",
        "scenarios/tutorial.actions.ron",
    ];
    let reports: Vec<serde_json::Value> = scripts
        .iter()
        .enumerate()
        .map(|(i, script)| play(&data, script, &dir.join(format!("{i}.json"))))
        .collect();

    // What the reports say, computed here from their criteria.
    let percents: Vec<f64> = reports
        .iter()
        .map(|r| {
            r["score"]["points"].as_f64().unwrap() / r["score"]["max"].as_f64().unwrap() * 100.0
        })
        .collect();
    let resolved: Vec<bool> = reports
        .iter()
        .map(|r| !r["incident"]["lifecycle"]["resolved_s"].is_null())
        .collect();
    let mut missed = BTreeMap::<String, usize>::new();
    let mut sums = BTreeMap::<Competency, (f64, f64)>::new();
    for report in &reports {
        for c in report["score"]["criteria"].as_array().unwrap() {
            let (id, points, max) = (
                c["id"].as_str().unwrap(),
                c["points"].as_f64().unwrap(),
                c["max"].as_f64().unwrap(),
            );
            if max > 0.0 && points < max {
                *missed.entry(id.to_string()).or_default() += 1;
            }
            if let Some(competency) = Competency::of(id)
                && max > 0.0
            {
                let sum = sums.entry(competency).or_default();
                sum.0 += points;
                sum.1 += max;
            }
        }
    }
    assert!(
        percents[0] < 70.0 && percents[1] < 70.0 && percents[2] >= 90.0 && resolved[2],
        "the wrong routes score low and the reference high: {percents:?}"
    );

    let view = library(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios")),
        Some(&Location::File(database(&data))),
        "on-call",
    );
    assert_eq!(view.trouble, None);
    let tutorial = view.entries.iter().find(|e| e.name == "tutorial").unwrap();
    let progress = &tutorial.progress;
    assert_eq!(progress.sessions, 3);
    assert_eq!(progress.resolved, resolved.iter().filter(|r| **r).count());
    assert!(close(
        progress.best_percent.unwrap(),
        percents.iter().copied().fold(0.0, f64::max)
    ));
    assert!(close(progress.last_percent.unwrap(), percents[2]));
    assert!(progress.cleared, "resolved at {:.0}%", percents[2]);
    let counted: BTreeMap<String, usize> = progress.missed.iter().cloned().collect();
    assert_eq!(counted, missed);
    assert!(
        progress.missed.windows(2).all(|w| w[0].1 >= w[1].1),
        "most often missed first: {:?}",
        progress.missed
    );
    // Nobody else's record, and nothing on scenarios not played.
    assert!(
        view.entries
            .iter()
            .filter(|e| e.name != "tutorial")
            .all(|e| e.progress.sessions == 0)
    );

    // The tutorial is cleared: the next step of the ladder is an easy scenario not played.
    let next = view.recommendation.as_ref().expect("a recommendation");
    assert_eq!(next.why, Why::Ladder(Difficulty::Easy));
    let entry = view
        .entries
        .iter()
        .find(|e| e.name == next.scenario)
        .unwrap();
    assert_eq!(entry.difficulty, Some(Difficulty::Easy));
    assert_eq!(entry.progress.sessions, 0);

    // The profile: the three sessions in order, and each competency over all of them.
    let profile = &view.profile;
    let shown: Vec<f64> = profile.sessions.iter().map(|s| s.percent).collect();
    assert!(
        shown.iter().zip(&percents).all(|(a, b)| close(*a, *b)),
        "{shown:?} {percents:?}"
    );
    assert_eq!(profile.competencies.len(), sums.len());
    for (competency, (points, max)) in &sums {
        assert!(
            close(profile.competencies[competency], points / max * 100.0),
            "{competency:?}: {} against {}",
            profile.competencies[competency],
            points / max * 100.0
        );
    }
    let acknowledged: Vec<f64> = profile
        .sessions
        .iter()
        .filter_map(|s| s.time_to_acknowledge_s)
        .collect();
    assert!(!acknowledged.is_empty());
    assert!(close(
        profile.mean_time_to_acknowledge_s.unwrap(),
        acknowledged.iter().sum::<f64>() / acknowledged.len() as f64
    ));
    // The reference acknowledged its page within the 5 minutes the rubric asks.
    assert!(profile.sessions[2].time_to_acknowledge_s.unwrap() <= 300.0);

    // A mentor's assignment comes first, until cleared; another trainee sees none of it.
    let assign = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_firedrill"))
            .arg("assign")
            .args(args)
            .arg("--data-dir")
            .arg(&data)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("FIREDRILL_HISTORY_URL")
            .output()
            .expect("the binary runs")
    };
    let out = assign(&["on-call", "hot-key", "--by", "mia"]);
    assert!(out.status.success(), "{out:?}");
    let out = assign(&["on-call", "hot-kee"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("did you mean \"hot-key\""),
        "{out:?}"
    );
    let location = Location::File(database(&data));
    let scenarios = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios"));
    let view = library(scenarios, Some(&location), "on-call");
    let next = view.recommendation.unwrap();
    assert_eq!(
        (next.scenario.as_str(), next.why),
        ("hot-key", Why::Assigned { by: "mia".into() })
    );
    let hot_key = view.entries.iter().find(|e| e.name == "hot-key").unwrap();
    assert_eq!(hot_key.assigned_by.as_deref(), Some("mia"));
    let other = library(scenarios, Some(&location), "ana");
    assert_eq!(
        other.recommendation.unwrap().why,
        Why::Ladder(Difficulty::Tutorial)
    );
    assert!(assign(&["on-call", "hot-key", "--remove"]).status.success());
    let view = library(scenarios, Some(&location), "on-call");
    assert_eq!(
        view.recommendation.unwrap().why,
        Why::Ladder(Difficulty::Easy)
    );
}
