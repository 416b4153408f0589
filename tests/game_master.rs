//! The game master's commands on the real simulation: an injected fault is the same fault a
//! scenario would have started at that moment; only the game master directs the drill;
//! hints cost what the rubric says; ending the shift ends it for every simulation that
//! replays the commands.

mod common;

use common::entry;

use firedrill::incident::{Command, Entry, Role, load_script_file};
use firedrill::remediation::Remediation;
use firedrill::scenario::{FaultKind, Seconds};
use firedrill::scoring::{HINT_COST, Verdict};
use firedrill::session::Simulation;
use firedrill::session::load_file;

/// A healthy API; `FAULTS` is replaced by the faults of the variant under test.
const API: &str = r#"(name: "api", seed: 11, duration: "20m",
    services: [(name: "api", instances: 2, workers: 32, restart_time: "5s",
                service_time: Constant(value: "5ms"))],
    traffic: [(name: "users", to: "api", rate: 100.0)],
    faults: [FAULTS],
    slos: [(name: "api", service: "api", objective: 99.9)],
)"#;

fn api(faults: &str) -> Simulation {
    common::simulation("api.ron", &API.replace("FAULTS", faults))
}

fn errors(ratio: f64) -> Command {
    Command::Inject {
        kind: FaultKind::Errors { ratio },
        target: "api".into(),
        duration: Some(Seconds(180.0)),
        name: None,
    }
}

fn refusals(sim: &Simulation) -> Vec<(String, String)> {
    sim.incident()
        .records
        .iter()
        .filter_map(|r| Some((r.command.label().to_string(), r.refused.clone()?)))
        .collect()
}

#[test]
fn an_injected_fault_is_the_fault_a_scenario_would_have_started_then() {
    let mut authored = api(
        r#"(name: "Errors on api", kind: Errors(ratio: 0.5), target: "api", start: At("2m"), duration: "3m")"#,
    );
    let mut injected = api("");
    injected.issue(entry(0.0, "mentor", Command::TakeRole(Role::GameMaster)));
    injected.issue(entry(120.0, "mentor", errors(0.5)));
    authored.run_until(600.0);
    injected.run_until(600.0);
    assert!(refusals(&injected).is_empty(), "{:?}", refusals(&injected));
    let fault = |sim: &Simulation| {
        let f = &sim.faults().faults[0];
        (f.name.clone(), f.started_at, f.ended_at)
    };
    assert_eq!(fault(&injected), fault(&authored));
    assert_eq!(fault(&injected).1, Some(120.0));
    assert_eq!(fault(&injected).2, Some(300.0));
    // Every request, error and budget bit the same: the injection is not an approximation.
    assert_eq!(common::seconds(&injected, 0), common::seconds(&authored, 0));
    assert_eq!(
        injected.slos()[0].budget_left().to_bits(),
        authored.slos()[0].budget_left().to_bits()
    );
    assert!(
        !injected.slos()[0].pager.pages.is_empty(),
        "half the requests failing for 3 minutes pages at 99.9% (in about 104 s)"
    );
}

#[test]
fn only_the_game_master_directs_the_drill_and_only_that() {
    let mut sim = api("");
    sim.issue(entry(1.0, "alice", errors(0.2)));
    sim.issue(entry(2.0, "mentor", Command::TakeRole(Role::GameMaster)));
    sim.issue(entry(3.0, "bob", Command::TakeRole(Role::GameMaster)));
    sim.issue(entry(4.0, "mentor", Command::TakeRole(Role::Ops)));
    sim.issue(entry(
        5.0,
        "mentor",
        Command::Apply(Remediation::RollingRestart {
            service: "api".into(),
        }),
    ));
    sim.issue(entry(
        6.0,
        "mentor",
        Command::Look(firedrill::incident::View::Deploys),
    ));
    // Checked as a scenario's fault is, with the field named and nothing half-applied.
    sim.issue(entry(7.0, "mentor", errors(1.5)));
    sim.issue(entry(
        8.0,
        "mentor",
        Command::Inject {
            kind: FaultKind::Crash { instances: 1 },
            target: "apu".into(),
            duration: None,
            name: None,
        },
    ));
    sim.issue(entry(
        9.0,
        "mentor",
        Command::Say {
            from: " ".into(),
            text: "hello".into(),
        },
    ));
    sim.run_until(10.0);
    let expected = [
        (
            "Inject",
            "only the game master does that (`firedrill host --game-master`, or TakeRole(GameMaster) in a script)",
        ),
        ("TakeRole", "mentor is already the game master"),
        (
            "TakeRole",
            "the game master keeps the seat for the whole session",
        ),
        (
            "Apply",
            "the game master runs the drill; the responders act in it",
        ),
        (
            "Inject",
            "Inject.kind.ratio: ratio is a ratio between 0 and 1 (got 1.5); write 0.1 for 10%",
        ),
        (
            "Inject",
            "Inject.target: unknown service \"apu\" (did you mean \"api\"?)",
        ),
        ("Say", "a message needs who it is from (\"VP Engineering\")"),
    ];
    let got = refusals(&sim);
    assert_eq!(
        got.iter()
            .map(|(l, r)| (l.as_str(), r.as_str()))
            .collect::<Vec<_>>(),
        expected
    );
    assert!(sim.faults().faults.is_empty(), "no refused fault was added");
    assert!(sim.remediations().applied.is_empty());
    assert_eq!(sim.incident().roles.get("mentor"), Some(&Role::GameMaster));
}

#[test]
fn messages_hints_and_pauses_are_in_the_chat_and_the_record() {
    let mut sim = api("");
    sim.issue(entry(0.0, "mentor", Command::TakeRole(Role::GameMaster)));
    sim.issue(entry(
        30.0,
        "mentor",
        Command::Say {
            from: "VP Engineering".into(),
            text: "Are we down?".into(),
        },
    ));
    sim.issue(entry(
        40.0,
        "mentor",
        Command::Hint {
            text: "Look at the deploys".into(),
        },
    ));
    sim.issue(entry(50.0, "mentor", Command::Pause));
    sim.issue(entry(50.0, "mentor", Command::Pause));
    sim.issue(entry(50.0, "mentor", Command::Resume));
    sim.run_until(60.0);
    let chat: Vec<(f64, &str, &str)> = sim
        .incident()
        .chat
        .iter()
        .map(|m| (m.at_s, m.from.as_str(), m.text.as_str()))
        .collect();
    assert!(chat.contains(&(30.0, "VP Engineering", "Are we down?")));
    assert!(chat.contains(&(40.0, "game master (hint)", "Look at the deploys")));
    assert_eq!(
        refusals(&sim),
        [(
            "Pause".to_string(),
            "the shift is already paused".to_string()
        )]
    );
    let timeline = sim.timeline();
    assert_eq!(timeline.hints(), [(40.0, "Look at the deploys")]);
    assert_eq!(timeline.game_masters(), ["mentor"]);
    assert!(
        timeline.players().is_empty(),
        "the game master is no player"
    );
}

#[test]
fn each_hint_costs_its_share_of_the_maximum_and_the_game_master_is_not_scored() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let scenario = load_file(&root.join("shop-incident.ron")).unwrap().scenario;
    let expert = load_script_file(&root.join("shop-incident.actions.ron"), &scenario).unwrap();
    let run = |extra: &[Entry]| {
        let mut script = expert.clone();
        script.extend_from_slice(extra);
        common::run(&scenario, &script).report.score.unwrap()
    };
    let alone = run(&[]);
    let hint = |at: f64| {
        entry(
            at,
            "mentor",
            Command::Hint {
                text: "What changed?".into(),
            },
        )
    };
    let directed = run(&[
        entry(0.0, "mentor", Command::TakeRole(Role::GameMaster)),
        // The game master's own looks are not the responders' diagnosis.
        entry(
            60.0,
            "mentor",
            Command::Look(firedrill::incident::View::Saturation(
                "recommendations".into(),
            )),
        ),
        hint(600.0),
        hint(620.0),
    ]);
    assert_eq!(directed.max, alone.max);
    let penalty = directed.criterion("hints").unwrap();
    assert_eq!(penalty.verdict, Verdict::Penalty);
    let cost = (2.0 * HINT_COST * alone.max * 10.0).round() / 10.0;
    assert_eq!(penalty.points, -cost);
    assert!(
        penalty.why.contains("2 hint(s) (at 10m, 10m20s)"),
        "{}",
        penalty.why
    );
    assert!(
        (directed.points - (alone.points - cost)).abs() < 0.051,
        "{} vs {} - {cost}",
        directed.points,
        alone.points
    );
    // Everything else is judged as if the game master were not there.
    let without_hints: Vec<_> = directed
        .criteria
        .iter()
        .filter(|c| c.id != "hints")
        .cloned()
        .collect();
    assert_eq!(without_hints, alone.criteria);
    assert!(alone.criterion("hints").is_none());
}

#[test]
fn ending_the_shift_stops_every_replay_at_the_same_tick() {
    let scenario = firedrill::session::load_str(
        "api.ron",
        &API.replace(
            "FAULTS",
            r#"(kind: Errors(ratio: 0.2), target: "api", start: At("2m"))"#,
        ),
    )
    .unwrap()
    .scenario;
    let script = [
        entry(0.0, "mentor", Command::TakeRole(Role::GameMaster)),
        entry(300.0, "mentor", Command::EndShift),
        entry(400.0, "alice", Command::Resolve),
    ];
    let first = common::run(&scenario, &script);
    // The tick that starts at 5m applies the command and runs; none after it.
    assert_eq!(first.timeline.lifecycle.ended_s, Some(300.0));
    assert!((first.timeline.end_s - 300.1).abs() < 1e-9);
    // What was due after the end never happened.
    let last = first.timeline.records.last().unwrap();
    assert_eq!((last.command.label(), last.accepted()), ("EndShift", true));
    // A simulation stepped tick by tick (the window, a player at a table) ends there too.
    let mut stepped = Simulation::new(&scenario);
    for e in &script {
        stepped.issue(e.clone());
    }
    stepped.run_until(1200.0);
    assert!(stepped.ended_early());
    assert!((stepped.clock().now() - 300.1).abs() < 1e-9);
    let again = common::run(&scenario, &script);
    assert_eq!(
        serde_json::to_string(&again.report).unwrap(),
        serde_json::to_string(&first.report).unwrap()
    );
}

#[test]
fn a_drill_script_with_a_bad_injection_is_refused_on_load_with_located_errors() {
    let scenario = firedrill::session::load_str("api.ron", &API.replace("FAULTS", ""))
        .unwrap()
        .scenario;
    let script = r#"[
    (at: "0s", by: "mentor", do: TakeRole(GameMaster)),
    (at: "1m", by: "mentor", do: Inject(kind: Errors(ratio: 1.5), target: "apu")),
]"#;
    let errors: Vec<String> = firedrill::incident::load_script("drill.ron", script, &scenario)
        .unwrap_err()
        .diagnostics
        .iter()
        .map(ToString::to_string)
        .collect();
    // Checked as a scenario's fault is, pointing at the value at fault; nothing runs.
    assert_eq!(
        errors,
        [
            "drill.ron:3:75: [1].do.target: unknown service \"apu\" (did you mean \"api\"?)",
            "drill.ron:3:61: [1].do.kind.ratio: ratio is a ratio between 0 and 1 (got 1.5); write 0.1 for 10%",
        ]
    );
}
