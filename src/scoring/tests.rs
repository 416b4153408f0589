//! Every criterion on hand-written timelines: fully met, partly met and failed, with the
//! points the rubric gives and the facts the explanation must cite.

use super::*;
use crate::faults::FaultRecord;
use crate::incident::debrief::PageFact;
use crate::incident::{
    ActionItem, ActionItemKind, Audience, FalseClose, Lifecycle, Postmortem, Record,
    SeverityChange, Task, Vitals,
};
use crate::remediation::Applied;
use crate::scenario::{IncidentSeverity, Seconds, load_str};

const SCENARIO: &str = r#"(name: "t", duration: "30m",
    services: [(name: "checkout"), (name: "recs")],
    traffic: [(to: "checkout", rate: 10.0)],
    faults: [
        (name: "bad deploy", kind: Deploy(version: "v2", error_ratio: 0.2), target: "checkout", start: At("1m")),
        (name: "gc", kind: GcPauses(interval: "20s", pause: "400ms"), target: "recs", start: At("1m")),
    ],
    slos: [(name: "checkout", service: "checkout", objective: 99.9)],
    incident: (severity: Sev2, root_cause: ["bad deploy"], distractions: ["gc"],
        red_herrings: [(action: "RestartAll", target: "recs"), (action: "RollingRestart", target: "recs")],
        par_mitigate: "8m"),
)"#;

fn scenario() -> Scenario {
    load_str("t.ron", SCENARIO).unwrap().scenario
}

/// The page goes out at 100 s; the SLI breached at 90 s and is back in objective from
/// 400 s; the budget drains 0.01% a second while burning.
fn timeline() -> Timeline {
    let burning = |t: f64| (90.0..400.0).contains(&t);
    Timeline {
        end_s: 1800.0,
        lifecycle: Lifecycle {
            impact_s: Some(90.0),
            mitigated_s: Some(400.0),
            ..Default::default()
        },
        records: Vec::new(),
        pages: vec![PageFact {
            alert: "checkout".into(),
            service: "checkout".into(),
            opened_s: 100.0,
            acknowledged_s: None,
            escalated_s: None,
            resolved_s: Some(700.0),
            grouped: false,
            held_by: vec!["1h/5m x14.4".into()],
        }],
        alerts: Vec::new(),
        faults: vec![FaultRecord {
            name: "bad deploy".into(),
            kind: "Deploy".into(),
            started_s: Some(60.0),
            ended_s: None,
        }],
        tasks: Vec::new(),
        chat: Vec::new(),
        postmortem: None,
        estimates: Vec::new(),
        applied: Vec::new(),
        slos: vec!["checkout".into()],
        vitals: (0..=180)
            .map(|k| {
                let t = f64::from(k) * 10.0;
                let burn = if burning(t) { 20.0 } else { 0.2 };
                Vitals {
                    t,
                    burn_1m: vec![burn],
                    burn_5m: vec![burn],
                    budget_left: vec![0.5 - 0.0001 * (t.clamp(90.0, 400.0) - 90.0)],
                }
            })
            .collect(),
        runbooks: Vec::new(),
    }
}

fn by(who: &str, at: f64, command: Command) -> Record {
    Record {
        at_s: at,
        by: who.into(),
        command,
        refused: None,
    }
}

fn you(at: f64, command: Command) -> Record {
    by("on-call", at, command)
}

fn apply(at: f64, remediation: Remediation) -> Record {
    you(at, Command::Apply(remediation))
}

fn rollback() -> Remediation {
    Remediation::Rollback {
        service: "checkout".into(),
    }
}

fn restart_recs() -> Remediation {
    Remediation::RestartAll {
        service: "recs".into(),
    }
}

/// What the engine would measure, as these tests decide: rolling back checkout helps, a
/// scale-in hurts, any other change does nothing; users got the reference's outcome once a
/// change helped, else doing nothing's.
fn measured(timeline: &Timeline) -> Measured {
    let game_masters = timeline.game_masters();
    let spend = |bad: u64| Spend {
        requests: vec![bad],
    };
    let budget_events = [100_000.0];
    let effects: Vec<ChangeEffect> = timeline
        .records
        .iter()
        .filter(|r| !game_masters.contains(&r.by.as_str()))
        .filter_map(|r| r.remediation().map(|m| (r.at_s, m)))
        .map(|(at, m)| {
            let (with, without) = match m {
                Remediation::Rollback { service } if service == "checkout" => (1_000, 6_000),
                Remediation::ScaleIn { .. } => (6_000, 1_000),
                _ => (1_000, 1_000),
            };
            ChangeEffect::measure(at, short(m), &spend(with), &spend(without), &budget_events)
        })
        .collect();
    let helped = effects.iter().any(|e| e.effect == Effect::Helpful);
    Measured {
        outcomes: Some(Outcomes {
            yours: spend(if helped { 1_000 } else { 10_000 }),
            nothing: spend(10_000),
            reference: spend(1_000),
            reference_is: "the reference response".into(),
            budget_events: budget_events.to_vec(),
        }),
        effects,
    }
}

fn scored(scenario: &Scenario, timeline: &Timeline) -> Option<Score> {
    score(scenario, timeline, measured(timeline))
}

fn judge(id: &str, timeline: &Timeline) -> Criterion {
    scored(&scenario(), timeline)
        .unwrap()
        .criterion(id)
        .unwrap_or_else(|| panic!("no criterion {id}"))
        .clone()
}

/// Asserts the points and that the explanation says `cites`.
fn expect(id: &str, timeline: &Timeline, points: f64, cites: &str) {
    let c = judge(id, timeline);
    assert!(
        (c.points - points).abs() < 1e-9,
        "{id}: {} points, expected {points}: {}",
        c.points,
        c.why
    );
    assert!(
        c.why.contains(cites),
        "{id}: \"{}\" should cite \"{cites}\"",
        c.why
    );
    let verdict = match points {
        p if p >= POINTS => Verdict::Met,
        p if p <= 0.0 => Verdict::Failed,
        _ => Verdict::Partly,
    };
    assert_eq!(c.verdict, verdict, "{id}: {}", c.why);
}

fn with(records: Vec<Record>) -> Timeline {
    let mut t = timeline();
    t.records = records;
    t
}

#[test]
fn acknowledge_within_five_minutes() {
    let mut t = timeline();
    t.pages[0].acknowledged_s = Some(160.0);
    expect("acknowledge", &t, 10.0, "1m after it went out");
    t.pages[0].acknowledged_s = Some(500.0);
    expect("acknowledge", &t, 5.0, "waited 6m40s");
    t.pages[0].acknowledged_s = None;
    t.pages[0].escalated_s = Some(400.0);
    expect(
        "acknowledge",
        &t,
        0.0,
        "never acknowledged and escalated at 6m40s",
    );
    t.pages.clear();
    assert_eq!(judge("acknowledge", &t).verdict, Verdict::NotApplicable);
}

fn declared(changes: &[(f64, IncidentSeverity)]) -> Timeline {
    let mut t = timeline();
    t.lifecycle.declared_s = changes.first().map(|c| c.0);
    t.lifecycle.severities = changes
        .iter()
        .map(|&(at_s, severity)| SeverityChange { at_s, severity })
        .collect();
    t
}

#[test]
fn declare_at_the_true_severity_without_downgrading() {
    use IncidentSeverity::*;
    expect(
        "declare",
        &declared(&[(130.0, Sev1)]),
        10.0,
        "SEV-1 30s after the page",
    );
    expect(
        "declare",
        &declared(&[(130.0, Sev3)]),
        5.0,
        "below its true severity SEV-2",
    );
    expect(
        "declare",
        &declared(&[(130.0, Sev2), (200.0, Sev3)]),
        5.0,
        "downgraded",
    );
    expect("declare", &declared(&[]), 0.0, "never declared");
}

#[test]
fn an_incident_commander_who_does_not_touch_the_system() {
    let ic = Command::TakeRole(Role::IncidentCommander);
    expect(
        "roles",
        &with(vec![you(120.0, ic.clone())]),
        10.0,
        "Playing alone",
    );
    let team = with(vec![
        by("alice", 120.0, ic.clone()),
        by("bob", 130.0, Command::TakeRole(Role::Ops)),
        by("alice", 200.0, Command::Apply(rollback())),
    ]);
    expect(
        "roles",
        &team,
        5.0,
        "alice was incident commander and made 1 change",
    );
    let good_team = with(vec![
        by("alice", 120.0, ic),
        by("bob", 200.0, Command::Apply(rollback())),
    ]);
    expect("roles", &good_team, 10.0, "left the changes to others");
    expect("roles", &with(vec![]), 0.0, "Nobody took incident command");
}

#[test]
fn the_first_change_stops_the_bleeding() {
    expect(
        "mitigate_first",
        &with(vec![apply(200.0, rollback())]),
        10.0,
        "Your first change, 1m40s after the page while the budget was burning, measurably helped users: Rollback(checkout) at 3m20s: saved 5.0% of checkout's budget, 5,000 bad requests",
    );
    let late = with(vec![apply(200.0, restart_recs()), apply(440.0, rollback())]);
    expect("mitigate_first", &late, 4.0, "came 4m later");
    expect(
        "mitigate_first",
        &with(vec![apply(200.0, restart_recs())]),
        0.0,
        "None of your 1 change(s) measurably helped users (first: RestartAll(recs) at 3m20s: no measurable effect on users) (Rollback(checkout) or RollForward(checkout) would have worked)",
    );
    expect("mitigate_first", &with(vec![]), 0.0, "You changed nothing");
}

#[test]
fn mitigation_is_judged_by_measured_effect_not_by_the_list() {
    // A change the author never listed that measurably helped earns the credit...
    let mut t = with(vec![apply(
        200.0,
        Remediation::ScaleOut {
            service: "checkout".into(),
            count: 2,
        },
    )]);
    let mut m = measured(&t);
    m.effects[0] = ChangeEffect::measure(
        200.0,
        "ScaleOut(checkout)".into(),
        &Spend {
            requests: vec![2_000],
        },
        &Spend {
            requests: vec![7_000],
        },
        &[100_000.0],
    );
    let c = score(&scenario(), &t, m).unwrap();
    assert_eq!(c.criterion("mitigate_first").unwrap().points, 10.0);
    // ...and a listed one that changed nothing earns none.
    t = with(vec![apply(200.0, rollback())]);
    let mut m = measured(&t);
    m.effects[0] = ChangeEffect::measure(
        200.0,
        "Rollback(checkout)".into(),
        &Spend {
            requests: vec![7_000],
        },
        &Spend {
            requests: vec![7_000],
        },
        &[100_000.0],
    );
    m.outcomes.as_mut().unwrap().yours = Spend {
        requests: vec![10_000],
    };
    let c = score(&scenario(), &t, m).unwrap();
    assert_eq!(c.criterion("mitigate_first").unwrap().points, 0.0);
}

#[test]
fn process_alone_cannot_pass_a_response_that_never_helped() {
    // Everything but a change that helps: acknowledged, declared, led, updated.
    let records = vec![
        you(
            120.0,
            Command::Acknowledge {
                alert: "checkout".into(),
            },
        ),
        you(130.0, Command::Look(View::Slo("checkout".into()))),
        you(140.0, Command::TakeRole(Role::IncidentCommander)),
        you(
            150.0,
            Command::Declare {
                severity: IncidentSeverity::Sev2,
            },
        ),
        apply(160.0, restart_recs()),
        update(200.0, true),
        you(1700.0, Command::Resolve),
        you(1750.0, Command::Postmortem(complete_postmortem())),
    ];
    let mut t = with(records);
    t.pages[0].acknowledged_s = Some(120.0);
    t.lifecycle.declared_s = Some(150.0);
    t.lifecycle.severities = declared(&[(150.0, IncidentSeverity::Sev2)])
        .lifecycle
        .severities;
    t.lifecycle.resolved_s = Some(1700.0);
    t.postmortem = Some(complete_postmortem());
    // An author who weighs the outcome lightly still cannot let process pass it.
    let mut light = scenario();
    light
        .incident
        .as_mut()
        .unwrap()
        .weights
        .insert("budget".into(), 0.2);
    let theatre = scored(&light, &t).unwrap();
    assert!(
        (theatre.percent - NEVER_MITIGATED_CAP).abs() < 0.2,
        "{}: {:#?}",
        theatre.percent,
        theatre.criteria
    );
    // The fix alone, no process at all, is a better response.
    let cowboy = scored(&light, &with(vec![apply(200.0, rollback())])).unwrap();
    assert!(
        cowboy.percent > theatre.percent,
        "{} vs {}",
        cowboy.percent,
        theatre.percent
    );
    assert!(cowboy.criterion("never_mitigated").is_none());
}

#[test]
fn roll_back_first_when_a_deploy_is_the_suspect() {
    expect(
        "rollback_first",
        &with(vec![apply(280.0, rollback())]),
        10.0,
        "You rolled back (Rollback(checkout)) 3m after the page",
    );
    let second = with(vec![apply(200.0, restart_recs()), apply(280.0, rollback())]);
    expect("rollback_first", &second, 5.0, "after 1 other change(s)");
    let never = with(vec![apply(
        200.0,
        Remediation::RollingRestart {
            service: "checkout".into(),
        },
    )]);
    expect("rollback_first", &never, 0.0, "never rolled it back");
}

#[test]
fn time_to_mitigate_against_par() {
    let mut t = timeline();
    expect(
        "time_to_mitigate",
        &t,
        10.0,
        "restored 5m after the page; par is 8m",
    );
    // 16 min: par plus half of the two pars past it that still earn credit.
    t.lifecycle.mitigated_s = Some(100.0 + 960.0);
    expect("time_to_mitigate", &t, 5.0, "16m after the page");
    t.lifecycle.mitigated_s = None;
    expect("time_to_mitigate", &t, 0.0, "never came back");
    // Nothing paged: the clock starts at the impact (90 s), and the text says so.
    t.pages.clear();
    t.lifecycle.mitigated_s = Some(400.0);
    expect(
        "time_to_mitigate",
        &t,
        10.0,
        "restored 5m10s after the impact; par is 8m",
    );
}

/// The incident's budget drained by `share` between the impact and the recovery.
fn spending(share: f64) -> Timeline {
    let mut t = timeline();
    for v in &mut t.vitals {
        let progress = ((v.t - 90.0) / 310.0).clamp(0.0, 1.0);
        v.budget_left = vec![0.5 - share * progress];
    }
    t
}

#[test]
fn what_users_got_is_the_largest_share_and_continuous() {
    let t = with(vec![apply(200.0, rollback())]);
    let with_yours = |bad: u64| {
        let mut m = measured(&t);
        m.outcomes.as_mut().unwrap().yours = Spend {
            requests: vec![bad],
        };
        score(&scenario(), &t, m).unwrap()
    };
    let best = with_yours(1_000);
    let c = best.criterion("budget").unwrap();
    // Worth as much as every other applicable criterion together.
    let others: f64 = best
        .criteria
        .iter()
        .filter(|c| c.id != "budget")
        .map(|c| c.max)
        .sum();
    assert_eq!(c.max, others);
    assert_eq!(c.points, c.max);
    assert!(c.why.contains("Users got 1.00% of the budget, 1,000 bad requests; doing nothing, 10.00% of the budget, 10,000 bad requests; the reference response, 1.00% of the budget, 1,000 bad requests: 100%"), "{}", c.why);
    // Halfway from doing nothing to the reference is half the points; no cliffs.
    let half = with_yours(5_500);
    let h = half.criterion("budget").unwrap();
    assert!((h.points - c.max / 2.0).abs() < 0.1, "{}", h.points);
    assert!(with_yours(5_501).criterion("budget").unwrap().points <= h.points);
    assert_eq!(with_yours(20_000).criterion("budget").unwrap().points, 0.0);
}

#[test]
fn red_herrings_and_changes_that_made_it_worse() {
    expect(
        "no_harm",
        &with(vec![apply(200.0, rollback())]),
        10.0,
        "None of your 1 change(s)",
    );
    expect(
        "no_harm",
        &with(vec![apply(200.0, restart_recs()), apply(300.0, rollback())]),
        7.5,
        "RestartAll(recs) at 3m20s: no measurable effect on users (a red herring)",
    );
    // A change that measurably cost users counts in full.
    let worse = with(vec![
        apply(
            500.0,
            Remediation::ScaleIn {
                service: "checkout".into(),
                count: 1,
            },
        ),
        apply(200.0, restart_recs()),
    ]);
    expect(
        "no_harm",
        &worse,
        2.5,
        "ScaleIn(checkout) at 8m20s: cost 5.0% of checkout's budget, 5,000 bad requests",
    );
}

#[test]
fn delegation_to_named_people_with_time_boxes() {
    let task = |owner: &str| Task {
        at_s: 150.0,
        task: "check the deploy".into(),
        owner: owner.into(),
        time_box_s: 600.0,
        assigned_by: "alice".into(),
    };
    let ic = Command::TakeRole(Role::IncidentCommander);
    let look = Command::Look(View::Deploys);
    let mut t = with(vec![
        by("alice", 100.0, ic),
        by("bob", 110.0, look.clone()),
        by("carol", 120.0, look),
    ]);
    t.tasks = vec![task("bob"), task("carol")];
    expect("delegation", &t, 10.0, "2 of 2 responder(s)");
    t.tasks = vec![task("bob")];
    expect("delegation", &t, 5.0, "1 of 2");
    t.tasks.clear();
    expect("delegation", &t, 0.0, "0 of 2");
    assert_eq!(
        judge("delegation", &timeline()).verdict,
        Verdict::NotApplicable
    );
}

fn update(at: f64, can: bool) -> Record {
    you(
        at,
        Command::Update {
            audience: Audience::External,
            conditions: "Checkout fails for a quarter of users".into(),
            actions: if can {
                "Rolling back".into()
            } else {
                String::new()
            },
            needs: if can { "Nothing".into() } else { String::new() },
        },
    )
}

#[test]
fn communication_on_cadence_as_can_reports() {
    let mut t = with(vec![update(200.0, true), update(1300.0, true)]);
    t.lifecycle.declared_s = Some(100.0);
    t.lifecycle.resolved_s = Some(1500.0);
    expect(
        "communication",
        &t,
        10.0,
        "First external update 1m40s after declaring (on time); 0 of 2 gap(s)",
    );
    // Late first update, a gap of 25 min, and one update without actions and needs.
    t.records = vec![
        update(500.0, true),
        update(1800.0, true),
        update(2000.0, false),
    ];
    t.lifecycle.resolved_s = Some(2100.0);
    t.end_s = 2400.0;
    expect(
        "communication",
        &t,
        3.3, // 0.4 × 0 + 0.4 × 5 + 0.2 × 10 × 2/3, to a tenth
        "1 of 2 gap(s) over 20 minutes; 67% of updates",
    );
    // An update that says nothing keeps no cadence: the one that said something was late
    // and followed by silence.
    t.records = vec![update(500.0, true), update(2000.0, false)];
    expect("communication", &t, 0.2 * 5.0, "50% of updates said");
    t.records.clear();
    expect("communication", &t, 0.0, "no external status update");
}

#[test]
fn evidence_before_restarting() {
    let logs = you(150.0, Command::Look(View::Logs("recs".into())));
    expect(
        "evidence",
        &with(vec![logs.clone(), apply(200.0, restart_recs())]),
        10.0,
        "1 of 1 restart(s)",
    );
    let checkout = Remediation::RollingRestart {
        service: "checkout".into(),
    };
    expect(
        "evidence",
        &with(vec![
            logs,
            apply(200.0, restart_recs()),
            apply(250.0, checkout),
        ]),
        5.0,
        "1 of 2",
    );
    expect(
        "evidence",
        &with(vec![apply(200.0, restart_recs())]),
        0.0,
        "0 of 1",
    );
    assert_eq!(
        judge("evidence", &timeline()).verdict,
        Verdict::NotApplicable
    );
}

#[test]
fn verify_before_closing() {
    let mut t = timeline();
    t.lifecycle.resolved_s = Some(800.0);
    expect("verify", &t, 10.0, "You resolved at 13m20s");
    t.lifecycle.false_closes = vec![FalseClose {
        at_s: 300.0,
        reason: "a page was still open".into(),
    }];
    expect(
        "verify",
        &t,
        5.0,
        "too early 1 time(s) (a page was still open)",
    );
    t.lifecycle.resolved_s = None;
    expect("verify", &t, 0.0, "the incident reopened");
    t.lifecycle.false_closes.clear();
    expect("verify", &t, 0.0, "never resolved");
}

#[test]
fn symptoms_first_and_no_chasing_distractions() {
    let look = |at: f64, view: View| you(at, Command::Look(view));
    let good = with(vec![
        look(110.0, View::Slo("checkout".into())),
        look(120.0, View::Red("checkout".into())),
    ]);
    expect(
        "symptom_first",
        &good,
        10.0,
        "Slo(\"checkout\") (a symptom: good); 0 of 2",
    );
    let cause_first = with(vec![look(110.0, View::Saturation("checkout".into()))]);
    expect("symptom_first", &cause_first, 4.0, "a cause");
    let distracted = with(vec![
        look(110.0, View::Saturation("recs".into())),
        look(120.0, View::Logs("recs".into())),
    ]);
    expect(
        "symptom_first",
        &distracted,
        0.0,
        "2 of 2 look(s) went to distractions",
    );
}

fn guess(at: f64, fault: &str, target: &str) -> Record {
    you(
        at,
        Command::Hypothesis {
            fault: fault.into(),
            target: target.into(),
            note: String::new(),
        },
    )
}

#[test]
fn the_root_cause_hypothesis() {
    expect(
        "hypothesis",
        &with(vec![guess(200.0, "Deploy", "checkout")]),
        10.0,
        "right: Deploy on checkout",
    );
    let second = with(vec![
        guess(150.0, "GcPauses", "recs"),
        guess(200.0, "Deploy", "checkout"),
    ]);
    expect("hypothesis", &second, 6.0, "after 1 wrong");
    expect(
        "hypothesis",
        &with(vec![guess(150.0, "GcPauses", "recs")]),
        0.0,
        "missed; the root cause was Deploy on checkout",
    );
}

#[test]
fn every_root_cause_must_be_named_when_there_are_two() {
    let two = load_str(
        "t.ron",
        &SCENARIO.replace(
            r#"root_cause: ["bad deploy"], distractions: ["gc"],"#,
            r#"root_cause: ["bad deploy", "gc"],"#,
        ),
    )
    .unwrap()
    .scenario;
    let judge_two = |records: Vec<Record>| {
        scored(&two, &with(records))
            .unwrap()
            .criterion("hypothesis")
            .unwrap()
            .clone()
    };
    let one = judge_two(vec![guess(200.0, "Deploy", "checkout")]);
    assert!(
        (one.points - 3.0).abs() < 1e-9,
        "{}: {}",
        one.points,
        one.why
    );
    assert!(
        one.why
            .contains("named 1 of 2 root causes (Deploy on checkout) and missed GcPauses on recs"),
        "{}",
        one.why
    );
    let both = judge_two(vec![
        guess(200.0, "Deploy", "checkout"),
        guess(300.0, "GcPauses", "recs"),
    ]);
    assert!((both.points - 10.0).abs() < 1e-9, "{}", both.why);
    assert!(both.why.contains("every root cause"), "{}", both.why);
}

#[test]
fn looking_at_a_measured_service_is_never_a_distraction() {
    // The GC distraction runs on checkout itself, where the SLO measures users' pain.
    let shared = load_str(
        "t.ron",
        &SCENARIO.replace(r#"target: "recs", start"#, r#"target: "checkout", start"#),
    )
    .unwrap()
    .scenario;
    let looks = with(vec![you(
        110.0,
        Command::Look(View::Red("checkout".into())),
    )]);
    let c = scored(&shared, &looks)
        .unwrap()
        .criterion("symptom_first")
        .unwrap()
        .clone();
    assert!(
        c.why.contains("0 of 1 look(s) went to distractions"),
        "{}",
        c.why
    );
}

fn complete_postmortem() -> Postmortem {
    Postmortem {
        title: "Checkout errors after v2".into(),
        authors: vec!["on-call".into()],
        summary: "A fifth of checkouts failed for five minutes.".into(),
        impact: "20% of checkouts failed".into(),
        root_causes: "A bug in v2".into(),
        trigger: "The v2 rollout".into(),
        resolution: "Rolled back".into(),
        detection: "The SLO paged".into(),
        action_items: vec![ActionItem {
            item: "Canary releases".into(),
            kind: ActionItemKind::Prevent,
            owner: "checkout team".into(),
            priority: Priority::P1,
        }],
        went_well: "Fast rollback".into(),
        went_wrong: "No canary".into(),
        got_lucky: "Low traffic".into(),
    }
}

#[test]
fn a_complete_blameless_postmortem() {
    let mut t = declared(&[(130.0, IncidentSeverity::Sev2)]);
    t.postmortem = Some(complete_postmortem());
    expect(
        "postmortem",
        &t,
        10.0,
        "Every field of the template is filled",
    );
    let mut blaming = complete_postmortem();
    blaming.root_causes = "Bob was careless with the release".into();
    blaming.got_lucky.clear();
    t.postmortem = Some(blaming);
    let c = judge("postmortem", &t);
    assert_eq!(c.verdict, Verdict::Partly, "{}", c.why);
    assert!(
        (c.points - 10.0 * (10.0 / 11.0 - 0.25)).abs() < 0.051,
        "{}",
        c.points
    );
    assert!(
        c.why.contains("Missing: where we got lucky")
            && c.why.contains("not blameless (\"careless\")"),
        "{}",
        c.why
    );
    // Over 20% of the budget burned calls for a P0 item.
    let mut expensive = spending(0.25);
    expensive.lifecycle.declared_s = Some(130.0);
    expensive.postmortem = Some(complete_postmortem());
    expect(
        "postmortem",
        &expensive,
        7.5,
        "25% of the budget burned and no P0 action item",
    );
    t.postmortem = None;
    expect("postmortem", &t, 0.0, "You wrote no postmortem");
}

#[test]
fn no_risky_changes_during_a_freeze() {
    let mut t = timeline();
    assert_eq!(judge("budget_policy", &t).verdict, Verdict::NotApplicable);
    for v in &mut t.vitals {
        v.budget_left = vec![-0.1];
    }
    expect(
        "budget_policy",
        &t,
        10.0,
        "no risky change during the freeze",
    );
    let violation = |at_s: f64| Applied {
        at_s,
        action: "ScaleIn(service:\"checkout\",count:1)".into(),
        violates_freeze: true,
    };
    t.applied = vec![violation(300.0)];
    expect("budget_policy", &t, 5.0, "ScaleIn");
    t.applied.push(violation(400.0));
    expect("budget_policy", &t, 0.0, "Only P0 fixes belong in a freeze");
}

#[test]
fn authors_reweight_and_disable_criteria() {
    let mut scenario = scenario();
    let truth = scenario.incident.as_mut().unwrap();
    truth.weights.insert("acknowledge".into(), 3.0);
    truth.weights.insert("postmortem".into(), 0.0);
    let mut t = timeline();
    t.pages[0].acknowledged_s = Some(120.0);
    let score = scored(&scenario, &t).unwrap();
    let ack = score.criterion("acknowledge").unwrap();
    assert_eq!((ack.points, ack.max), (30.0, 30.0));
    assert!(score.criterion("postmortem").is_none());
    let sum: f64 = score.criteria.iter().map(|c| c.points).sum();
    assert!((score.points - sum).abs() < 1e-9);
}

#[test]
fn a_scenario_without_ground_truth_is_not_scored() {
    let mut scenario = scenario();
    scenario.incident = None;
    assert!(scored(&scenario, &timeline()).is_none());
}

#[test]
fn declaring_far_above_the_true_severity_costs_less_than_below() {
    let minor = load_str(
        "t.ron",
        &SCENARIO.replace("severity: Sev2", "severity: Sev3"),
    )
    .unwrap()
    .scenario;
    let declare = |t: &Timeline| {
        scored(&minor, t)
            .unwrap()
            .criterion("declare")
            .unwrap()
            .clone()
    };
    // A notch high is the safe side of "if unsure, pick the higher".
    assert_eq!(
        declare(&declared(&[(130.0, IncidentSeverity::Sev2)])).points,
        10.0
    );
    let sev1 = declare(&declared(&[(130.0, IncidentSeverity::Sev1)]));
    assert_eq!(sev1.points, 7.5, "{}", sev1.why);
    assert!(
        sev1.why
            .contains("two or more levels above its true severity SEV-3")
    );
    // Below the true severity costs more (5 of 10, in the test above).
    expect(
        "declare",
        &declared(&[(130.0, IncidentSeverity::Sev3)]),
        5.0,
        "below its true severity",
    );
}

#[test]
fn a_task_for_someone_not_at_the_table_is_no_delegation() {
    let task = Task {
        at_s: 150.0,
        task: "check the deploy".into(),
        owner: "zed".into(),
        time_box_s: 600.0,
        assigned_by: "on-call".into(),
    };
    let mut t = timeline();
    t.tasks = vec![task];
    let c = judge("delegation", &t);
    assert_eq!(c.verdict, Verdict::NotApplicable, "{}", c.why);
    assert!(
        c.why
            .contains("\"check the deploy\" went to zed, who is not at the table"),
        "{}",
        c.why
    );
}

#[test]
fn updates_that_say_nothing_and_wrong_postmortem_figures_are_quoted() {
    let mut t = with(vec![you(
        200.0,
        Command::Update {
            audience: Audience::External,
            conditions: "x".into(),
            actions: "x".into(),
            needs: "x".into(),
        },
    )]);
    t.lifecycle.declared_s = Some(100.0);
    expect(
        "communication",
        &t,
        0.0,
        "no external status update that said anything (\"x\" does not say what users see)",
    );
    let mut wrong = complete_postmortem();
    wrong.impact = "20% of checkouts failed; 8% of the error budget.".into();
    let mut t = declared(&[(130.0, IncidentSeverity::Sev2)]);
    t.postmortem = Some(wrong);
    let c = judge("postmortem", &t);
    assert!(
        c.why.contains("a number is wrong: \"8% of the error budget\" says 8% of the budget; the incident spent 3.1%"),
        "{}",
        c.why
    );
    assert!((c.points - 7.5).abs() < 1e-9, "{}", c.points);
}

#[test]
fn a_handoff_is_judged_only_when_the_shift_changes_hands_and_for_what_it_says() {
    let t = timeline();
    assert!(
        scored(&scenario(), &t)
            .unwrap()
            .criterion("handoff")
            .is_none(),
        "no handoff in the scenario: left out"
    );
    let mut scenario = scenario();
    scenario.incident.as_mut().unwrap().handoff = Some(Seconds(1200.0));
    let judge = |t: &Timeline| {
        scored(&scenario, t)
            .unwrap()
            .criterion("handoff")
            .unwrap()
            .clone()
    };
    let c = judge(&t);
    assert_eq!(c.points, 0.0);
    assert!(c.why.contains("no handoff note"), "{}", c.why);
    let note = |at: f64, text: &str| you(at, Command::Handoff { note: text.into() });
    // The timeline rolled checkout back at 300 s.
    let mut t = timeline();
    t.records.push(apply(300.0, rollback()));
    t.records.push(note(
        1150.0,
        "checkout SLO recovering; rolled back checkout; next: watch the errors",
    ));
    let c = judge(&t);
    assert_eq!((c.points, c.verdict), (10.0, Verdict::Met), "{}", c.why);
    // A third per thing left out; written late, half.
    let mut thin = timeline();
    thin.records.push(apply(300.0, rollback()));
    thin.records
        .push(note(1150.0, "checkout was bad, rolled it back"));
    let c = judge(&thin);
    assert!((c.points - 6.7).abs() < 0.05, "{}: {}", c.points, c.why);
    assert!(c.why.contains("what is left"), "{}", c.why);
    let mut late = timeline();
    late.records.push(apply(300.0, rollback()));
    late.records.push(note(
        1600.0,
        "checkout SLO recovering; rolled back checkout; next: watch the errors",
    ));
    let c = judge(&late);
    assert_eq!(c.points, 5.0, "{}", c.why);
    assert!(c.why.contains("late"), "{}", c.why);
}
