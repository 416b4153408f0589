//! The `firedrill` binary as a user runs it: exit codes, located errors, and byte-identical
//! reports for the same scenario and seed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn firedrill(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        // Sessions recorded by the tests stay out of the user's own history.
        .env("FIREDRILL_DATA_DIR", scratch("data"))
        .env_remove("FIREDRILL_HISTORY_URL")
        .output()
        .expect("the binary runs")
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn validate_accepts_the_shipped_scenarios() {
    let out = firedrill(&["validate", "scenarios"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("ok: scenarios/shop.ron (14 services)"),
        "{stdout}"
    );
}

#[test]
fn validate_locates_errors_and_exits_1() {
    let out = firedrill(&[
        "validate",
        "scenarios/small.ron",
        "tests/bad/unknown-service.ron",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("tests/bad/unknown-service.ron:8:26: services[0].calls[0].to: unknown service \"paymnt\" (did you mean \"payment\"?)"),
        "{stdout}"
    );
    let out = firedrill(&["validate", "tests/bad/syntax-missing-comma.ron"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .starts_with("tests/bad/syntax-missing-comma.ron:6:9: ")
    );
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(firedrill(&["validate"]).status.code(), Some(2));
    assert_eq!(
        firedrill(&["validate", "no/such/file.ron"]).status.code(),
        Some(2)
    );
    assert_eq!(
        firedrill(&["run", "scenarios/small.ron", "--seed", "x"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        firedrill(&["run", "scenarios/small.ron", "--duration", "fast"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(firedrill(&["frobnicate"]).status.code(), Some(2));
}

#[test]
fn run_refuses_an_invalid_scenario_with_exit_1() {
    let out = firedrill(&["run", "tests/bad/cycle.ron"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("call cycle a -> b -> c -> a"));
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let (a, b, c) = (scratch("a.json"), scratch("b.json"), scratch("c.json"));
    for (path, seed) in [(&a, "7"), (&b, "7"), (&c, "8")] {
        let out = firedrill(&[
            "run",
            "scenarios/shop.ron",
            "--seed",
            seed,
            "--duration",
            "3m",
            "--report",
            path.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("gateway"),
            "the summary table lists services: {stdout}"
        );
    }
    let (a, b, c) = (
        std::fs::read(a).unwrap(),
        std::fs::read(b).unwrap(),
        std::fs::read(c).unwrap(),
    );
    assert_eq!(
        a, b,
        "same scenario and seed must give byte-identical reports"
    );
    assert_ne!(a, c, "another seed must give another run");
    let report: serde_json::Value = serde_json::from_slice(&a).unwrap();
    assert_eq!(report["seed"], 7);
    assert_eq!(report["duration_s"], 180.0);
    assert_eq!(report["services"].as_array().unwrap().len(), 14);
    assert_eq!(
        report["services"][0]["minutes"].as_array().unwrap().len(),
        3
    );
    assert!(
        !String::from_utf8_lossy(&a).contains("wall"),
        "no wall-clock figure in the report"
    );
}

#[test]
fn a_script_applies_remediations_and_the_summary_tells_the_story() {
    let report = scratch("partition.json");
    let out = firedrill(&[
        "run",
        "tests/data/recs-partition.ron",
        "--script",
        "tests/data/open-circuit.actions.ron",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("5m: OpenCircuit(from:\"web\",to:\"recommendations\")"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Partition on web->recommendations: from 3m to the end"),
        "{stdout}"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report).unwrap()).unwrap();
    let minutes = report["services"][0]["minutes"].as_array().unwrap();
    let p50 = |m: usize| minutes[m]["p50"].as_f64().unwrap();
    assert!(p50(4) > 1.9, "waiting out 2 s timeouts: {}", p50(4));
    assert!(p50(6) < 0.05, "failing fast: {}", p50(6));
    assert_eq!(report["remediations"][0]["at_s"], 300.0);
}

#[test]
fn a_bad_script_is_refused_with_located_errors() {
    let bad = scratch("bad-script.ron");
    std::fs::write(
        &bad,
        "[(at: \"5m\", do: Apply(OpenCircuit(from: \"web\", to: \"recs\")))]",
    )
    .unwrap();
    let out = firedrill(&[
        "run",
        "tests/data/recs-partition.ron",
        "--script",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad-script.ron:1:17: [0].do: unknown service \"recs\""),
        "{stderr}"
    );
}

#[test]
fn the_catalog_lists_faults_and_remediations() {
    let out = firedrill(&["catalog"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for name in [
        "MemoryLeak",
        "Partition",
        "CacheFlush",
        "RollingRestart",
        "ShedLoad",
        "TuneCalls",
    ] {
        assert!(stdout.contains(name), "{name} missing");
    }
}

#[test]
fn validate_recognises_action_scripts_beside_scenarios() {
    let out = firedrill(&["validate", "tests/data"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("ok: tests/data/open-circuit.actions.ron (action script, 1 actions;"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ok: tests/data/recs-partition.ron (2 services)"),
        "{stdout}"
    );
}

#[test]
fn the_shipped_incident_is_ended_by_its_rollback_script() {
    let (left, fixed) = (
        scratch("incident-left.json"),
        scratch("incident-fixed.json"),
    );
    let scenario = "scenarios/shop-incident.ron";
    let out = firedrill(&["run", scenario, "--report", left.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let script = "scenarios/shop-incident.actions.ron";
    let out = firedrill(&[
        "run",
        scenario,
        "--script",
        script,
        "--report",
        fixed.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let checkout_errors = |path: &PathBuf, minute: usize| {
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let checkout = report["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "checkout")
            .unwrap()
            .clone();
        let row = &checkout["minutes"][minute];
        row["server_errors"].as_f64().unwrap() / row["requests"].as_f64().unwrap()
    };
    assert!(checkout_errors(&left, 3) < 0.02, "fine before the deploy");
    assert!(
        checkout_errors(&left, 15) > 0.15,
        "the bad version fails checkouts"
    );
    assert!(checkout_errors(&fixed, 15) < 0.02, "rolled back by then");
    let page = |path: &PathBuf| {
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        report["slos"][0]["alerts"][0].clone()
    };
    assert_eq!(page(&left)["row"], "1h/5m x14.4");
    assert!(
        page(&left)["cleared_s"].is_null(),
        "left alone, the page never clears"
    );
    assert!(
        page(&fixed)["cleared_s"].as_f64().unwrap() < 1000.0,
        "the rollback clears it"
    );
}

#[test]
fn estimate_compares_an_action_with_doing_nothing() {
    let out = firedrill(&[
        "estimate",
        "scenarios/shop-incident.ron",
        "--at",
        "9m",
        "--action",
        r#"Rollback(service: "checkout")"#,
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("checkout-availability: "), "{stdout}");
    assert!(stdout.contains("% of the budget with it, "), "{stdout}");
    let bad = firedrill(&[
        "estimate",
        "scenarios/shop-incident.ron",
        "--at",
        "9m",
        "--action",
        "Reboot",
    ]);
    assert_eq!(bad.status.code(), Some(2));
}

/// Runs the bad response to shop-incident (short, so the test is quick) with a journal.
fn journaled_run(journal: &Path, report: &Path, data: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args([
            "run",
            "scenarios/shop-incident.ron",
            "--script",
            "scenarios/shop-incident.actions.ron",
            "--journal",
            journal.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("FIREDRILL_DATA_DIR", data)
        .output()
        .expect("the binary runs")
}

#[test]
fn a_journal_replays_to_the_same_report_byte_for_byte() {
    let (journal, original, replayed, pm) = (
        scratch("replay.jsonl"),
        scratch("replay-original.json"),
        scratch("replay-replayed.json"),
        scratch("replay.md"),
    );
    let out = journaled_run(&journal, &original, &scratch("replay-data"));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let lines = std::fs::read_to_string(&journal).unwrap();
    assert_eq!(lines.lines().count(), 1 + 14, "a header and every command");
    let out = firedrill(&[
        "replay",
        journal.to_str().unwrap(),
        "--report",
        replayed.to_str().unwrap(),
        "--postmortem",
        pm.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        std::fs::read(&original).unwrap(),
        std::fs::read(&replayed).unwrap(),
        "the replay's report differs from the session's"
    );
    let markdown = std::fs::read_to_string(&pm).unwrap();
    assert!(markdown.starts_with("# Postmortem: Checkout failures after the v2.4.0 release"));
}

#[test]
fn a_truncated_journal_replays_to_its_last_complete_entry() {
    let (journal, report) = (scratch("cut.jsonl"), scratch("cut-original.json"));
    let out = journaled_run(&journal, &report, &scratch("cut-data"));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // A crash in the middle of writing the 8th command (the rollback, at 10m).
    let text = std::fs::read_to_string(&journal).unwrap();
    let keep: Vec<&str> = text.lines().take(8).collect();
    let eighth = text.lines().nth(8).unwrap();
    assert!(eighth.contains("Rollback"), "{eighth}");
    let cut = format!("{}\n{}", keep.join("\n"), &eighth[..eighth.len() / 2]);
    std::fs::write(&journal, cut).unwrap();
    let replayed = scratch("cut-replayed.json");
    let out = firedrill(&[
        "replay",
        journal.to_str().unwrap(),
        "--report",
        replayed.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("replaying the first 7 command(s) only")
            && stderr.contains("cut.jsonl:9: the last entry is incomplete"),
        "{stderr}"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&replayed).unwrap()).unwrap();
    assert_eq!(report["incident"]["commands"].as_array().unwrap().len(), 7);
    assert!(
        report["remediations"].as_array().unwrap().is_empty(),
        "the rollback was lost"
    );
    // Damage in the middle stops there too; a file that is no journal is refused.
    std::fs::write(
        &journal,
        format!("{}\nnot json\n{}\n", keep.join("\n"), eighth),
    )
    .unwrap();
    let out = firedrill(&["replay", journal.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cut.jsonl:9: damaged entry"));
    std::fs::write(&journal, "hello\n").unwrap();
    let out = firedrill(&["replay", journal.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("cut.jsonl:1: not a firedrill journal header")
    );
}

#[test]
fn history_lists_finished_sessions_and_survives_a_corrupt_database() {
    let data = scratch("history-data");
    let _ = std::fs::remove_dir_all(&data);
    for name in ["h1", "h2"] {
        let out = journaled_run(
            &scratch(&format!("{name}.jsonl")),
            &scratch(&format!("{name}.json")),
            &data,
        );
        assert_eq!(out.status.code(), Some(0), "{out:?}");
    }
    let list = |scenario: &str| {
        Command::new(env!("CARGO_BIN_EXE_firedrill"))
            .args(["history", "--scenario", scenario])
            .env("FIREDRILL_DATA_DIR", &data)
            .output()
            .unwrap()
    };
    let out = list("shop-incident");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(stdout.contains("2 session(s)"), "{stdout}");
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.contains("shop-incident"))
            .count(),
        2,
        "{stdout}"
    );
    assert!(stdout.contains("yes"), "resolved: {stdout}");
    assert!(String::from_utf8_lossy(&list("other").stdout).contains("0 session(s)"));
    // Exported for a spreadsheet or a training programme's records: the same two sessions.
    let export = |format: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_firedrill"))
            .args(["history", "--format", format])
            .env("FIREDRILL_DATA_DIR", &data)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let csv = export("csv");
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 3, "{csv}");
    assert!(
        rows[1..].iter().all(|r| r.contains(",shop-incident,")),
        "{csv}"
    );
    let json: serde_json::Value = serde_json::from_str(&export("json")).unwrap();
    assert_eq!(json.as_array().map(Vec::len), Some(2), "{json}");
    assert_eq!(json[0]["scenario"], "shop-incident");
    assert!(
        json[0]["percent"]
            .as_f64()
            .is_some_and(|p| (0.0..=100.0).contains(&p))
    );
    // A cohort's view: one row per trainee, both sessions counted for each of their players.
    let out = Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args(["history", "--by-trainee", "--format", "json"])
        .env("FIREDRILL_DATA_DIR", &data)
        .output()
        .unwrap();
    let trainees: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let players: std::collections::BTreeSet<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["players"].as_str().unwrap().split(','))
        .filter(|p| !p.is_empty())
        .collect();
    assert!(!players.is_empty(), "{json}");
    assert_eq!(
        trainees.as_array().map(Vec::len),
        Some(players.len()),
        "{trainees}"
    );
    assert!(
        trainees
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["sessions"] == 2),
        "{trainees}"
    );
    // A corrupt database is reported; the session, its report and journal are not lost.
    std::fs::write(data.join("history.sqlite3"), "this is not a database").unwrap();
    let journal = scratch("h3.jsonl");
    let out = journaled_run(&journal, &scratch("h3.json"), &data);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("history not recorded"),
        "{out:?}"
    );
    assert_eq!(
        std::fs::read_to_string(&journal).unwrap().lines().count(),
        15
    );
    assert_eq!(list("shop-incident").status.code(), Some(1));
}

/// The window's commands refuse bad input before opening anything: no panic, no journal.
#[cfg(feature = "gui")]
#[test]
fn window_commands_explain_what_is_wrong_instead_of_panicking() {
    let data = Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-display");
    let _ = std::fs::remove_dir_all(&data);
    let out = Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args(["play", "scenarios/tutorial.ron", "--data-dir"])
        .arg(&data)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no display"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!data.join("journals").exists(), "no journal is left behind");

    for (args, says) in [
        (
            ["join", "127.0.0.1:7777", "--code", "a/b", "--name", "ana"],
            "the session code may not contain '/'",
        ),
        (
            [
                "join",
                "no-such-host.invalid:7777",
                "--code",
                "K7Q2XP",
                "--name",
                "ana",
            ],
            "cannot resolve the host address no-such-host.invalid:7777",
        ),
    ] {
        let out = firedrill(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
    }
}

#[test]
fn a_drill_script_directs_the_session_headless() {
    let out = firedrill(&[
        "run",
        "scenarios/tutorial.ron",
        "--no-history",
        "--script",
        "tests/data/tutorial.drill.actions.ron",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    for line in [
        "  web-1 dies: at 8m\n",
        "\nthe game master ended the shift at 12m\n",
        "  9m mentor: Apply(RestartAll(service:\"web\")): the game master runs the drill; the responders act in it\n",
        "  minus  -12.0     Hints                              The game master gave 1 hint(s) (at 6m), each 5% of the maximum.\n",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
    }
    // Resolving after the end never happened.
    assert!(
        stdout.contains("The incident was never resolved."),
        "{stdout}"
    );
}

#[cfg(feature = "gui")]
#[test]
fn play_refuses_a_scenarios_folder_that_does_not_exist() {
    let out = firedrill(&["play", "--scenarios", "no/such/folder"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("firedrill: --scenarios no/such/folder: no such folder"),
        "{out:?}"
    );
}

#[test]
fn a_prevented_incident_says_so_in_the_summary() {
    let out = firedrill(&[
        "run",
        "scenarios/cert-expiry.ron",
        "--script",
        "scenarios/cert-expiry.proactive.actions.ron",
        "--no-history",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("(100%): prevented: no user was hurt"),
        "{stdout}"
    );
}

/// A journal of the shop incident's reference response, to damage.
fn journal_lines(name: &str) -> Vec<String> {
    let journal = scratch(name);
    let out = journaled_run(
        &journal,
        &scratch("integrity.json"),
        &scratch("integrity-data"),
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn replay_lines(name: &str, lines: &[String]) -> Output {
    let path = scratch(name);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    firedrill(&["replay", path.to_str().unwrap()])
}

#[test]
fn a_journal_with_an_edited_scenario_is_refused() {
    let mut lines = journal_lines("edited.jsonl");
    let mut header: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    let text = header["scenario"]
        .as_str()
        .unwrap()
        .replace("error_ratio: 0.25", "error_ratio: 0.01");
    header["scenario"] = text.into();
    lines[0] = header.to_string();
    let out = replay_lines("edited.jsonl", &lines);
    assert_ne!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("edited.jsonl:1: the scenario text does not match its hash"),
        "{stderr}"
    );
}

#[test]
fn a_journal_with_an_absurd_header_is_refused() {
    for duration in ["1e300", "-1", "0"] {
        let mut lines = journal_lines("absurd.jsonl");
        let mut header: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        header["duration_s"] = serde_json::from_str(duration).unwrap();
        lines[0] = header.to_string();
        let out = replay_lines("absurd.jsonl", &lines);
        assert_ne!(out.status.code(), Some(0), "{duration}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("is not a run's length"),
            "{duration}: {stderr}"
        );
    }
}

#[test]
fn a_flipped_bit_or_an_entry_back_in_time_stops_the_replay_there() {
    let lines = journal_lines("flipped.jsonl");
    // The rollback is the 8th entry: a bit flipped in its target.
    let mut flipped = lines.clone();
    assert!(flipped[8].contains("\"checkout\""), "{}", flipped[8]);
    flipped[8] = flipped[8].replacen("\"checkout\"", "\"checkous\"", 1);
    let out = replay_lines("flipped.jsonl", &flipped);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("replaying the first 7 command(s) only")
            && stderr.contains("flipped.jsonl:9: entry 8 does not match its checksum"),
        "{stderr}"
    );
    // An entry moved back in time, its checksum recomputed as a forger would not know to:
    // the checksum catches it first; the time order is checked as well.
    let mut back = lines.clone();
    back[8] = back[8].replacen("\"at_s\":600.0", "\"at_s\":1.0", 1);
    let out = replay_lines("back.jsonl", &back);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("back.jsonl:9: entry 8"), "{stderr}");
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
    let out = firedrill(&[
        "run",
        "scenarios/tutorial.ron",
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

#[test]
fn a_reader_that_goes_away_ends_the_output_quietly() {
    use std::io::{BufRead, BufReader};
    // Far more than a pipe holds: the writer is still writing when the reader leaves.
    let mut child = Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args([
            "run",
            "scenarios/shop.ron",
            "--duration",
            "5m",
            "--no-history",
        ])
        .args(["--logs", "5000"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(!first.is_empty());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(141), "{stderr}");
}
