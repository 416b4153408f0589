//! The control room's panels through egui's accessibility tree (egui_kittest): what a
//! click on a widget issues, on view models read off a real simulation.
#![cfg(feature = "gui")]

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use firedrill::incident::Command;
use firedrill::remediation::Remediation;
use firedrill::session::Simulation;
use firedrill::session::load_file;
use firedrill::ui::model::{ControlRoom, Dashboard, Health, Range};
use firedrill::ui::panels::{self, ActionForm, IncidentForm};

/// The shop incident ten minutes in: the checkout deploy is failing and has paged.
fn room() -> ControlRoom {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/shop-incident.ron");
    let scenario = load_file(&path).unwrap().scenario;
    let mut sim = Simulation::new(&scenario);
    sim.run_until(600.0);
    ControlRoom::of(&scenario, &sim)
}

#[test]
fn the_view_model_shows_the_failing_service_and_its_ringing_page() {
    let room = room();
    let checkout = &room.services[room.service("checkout").unwrap()];
    assert_eq!(checkout.health, Health::Failing, "{checkout:?}");
    assert!(checkout.error_ratio > 0.15, "{checkout:?}");
    let gateway = &room.services[room.service("gateway").unwrap()];
    assert_eq!(gateway.depth, 0);
    assert!(checkout.depth > gateway.depth);
    assert_eq!(room.pages.len(), 1);
    let page = &room.pages[0];
    assert_eq!(page.alert, "checkout-availability");
    assert!(!page.acknowledged);
    // Paged between 9m and 10m with a 5-minute escalation timeout: what is left at 10m.
    assert!((540.0..600.0).contains(&page.opened_s), "{page:?}");
    assert_eq!(page.escalates_in_s, Some(page.opened_s + 300.0 - 600.0));
}

#[test]
fn acknowledging_from_the_pager_issues_the_acknowledge_command() {
    let room = room();
    let mut harness = Harness::new_ui_state(
        |ui, issued: &mut Option<Command>| {
            if let Some(command) = panels::pager(ui, &room.pages, room.now_s) {
                *issued = Some(command);
            }
        },
        None,
    );
    harness
        .get_by_label("Acknowledge checkout-availability")
        .click();
    harness.run();
    assert_eq!(
        harness.state(),
        &Some(Command::Acknowledge {
            alert: "checkout-availability".into()
        })
    );
}

#[test]
fn the_dashboard_shows_rates_over_the_last_minute_as_alert_rules_read_them() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/shop-incident.ron");
    let scenario = load_file(&path).unwrap().scenario;
    let mut sim = Simulation::new(&scenario);
    sim.run_until(600.0);
    let checkout = scenario.service_index("checkout").unwrap();
    let seconds = Dashboard::of(&scenario, &sim, checkout, Range::FiveMinutes);
    let rates = Dashboard::of(&scenario, &sim, checkout, Range::FiveMinutesRates);
    assert_eq!(seconds.rps.len(), rates.rps.len());
    // The last point's rate is the mean of the minute's per-second rates; its error ratio
    // is the minute's failed answers over all of them, which per-second points cannot show.
    let last_minute = &seconds.rps[seconds.rps.len() - 60..];
    let mean = last_minute.iter().map(|p| p[1]).sum::<f64>() / 60.0;
    let rate = rates.rps.last().unwrap()[1];
    assert!((rate - mean).abs() < 1e-9, "{rate} vs {mean}");
    let rows = sim.service_metrics(checkout).seconds.rows();
    let minute: Vec<_> = rows.iter().skip(rows.len() - 60).collect();
    let failed: u64 = minute
        .iter()
        .map(|r| r.server_errors + r.rejected + r.timeouts)
        .sum();
    let answered: u64 = minute.iter().map(|r| r.outcomes()).sum();
    let ratio = rates.error_ratio.last().unwrap()[1];
    assert!((ratio - failed as f64 / answered as f64).abs() < 1e-12);
    assert!(ratio > 0.05, "the failing release shows: {ratio}");
}

struct Actions {
    form: ActionForm,
    issued: Vec<Command>,
}

fn action_panel(form: ActionForm) -> Harness<'static, Actions> {
    let room = room();
    Harness::new_ui_state(
        move |ui, state: &mut Actions| {
            if let Some(command) = panels::actions(ui, &mut state.form, &room) {
                state.issued.push(command);
            }
        },
        Actions {
            form,
            issued: Vec::new(),
        },
    )
}

#[test]
fn the_action_panel_refuses_a_remediation_without_a_target() {
    let mut harness = action_panel(ActionForm::default());
    harness.get_by_label("Apply").click();
    harness.run();
    assert!(harness.state().issued.is_empty());
    harness.get_by_label("Rollback needs a target: choose one first");
    // With a target, the same click applies it.
    harness.state_mut().form.target = "checkout".into();
    harness.run();
    harness.get_by_label("Apply").click();
    harness.run();
    assert_eq!(
        harness.state().issued,
        vec![Command::Apply(Remediation::Rollback {
            service: "checkout".into()
        })]
    );
}

#[test]
fn a_destructive_remediation_waits_for_confirmation() {
    let mut harness = action_panel(ActionForm {
        action: "RestartAll".into(),
        target: "recommendations".into(),
        ..ActionForm::default()
    });
    harness.get_by_label("Destructive: kills processes and the evidence they hold.");
    harness.get_by_label("Apply").click();
    harness.run();
    assert!(harness.state().issued.is_empty(), "one click is not enough");
    harness.get_by_label("Confirm: apply").click();
    harness.run();
    assert_eq!(
        harness.state().issued,
        vec![Command::Apply(Remediation::RestartAll {
            service: "recommendations".into()
        })]
    );
}

#[test]
fn incident_controls_post_a_can_update_and_resolve() {
    let room = room();
    let mut harness = Harness::new_ui_state(
        move |ui, state: &mut (IncidentForm, Vec<Command>)| {
            if let Some(command) = panels::incident_controls(ui, &mut state.0, &room) {
                state.1.push(command);
            }
        },
        (IncidentForm::default(), Vec::new()),
    );
    // An update needs its conditions.
    harness.get_by_label("Post update").click();
    harness.run();
    assert!(harness.state().1.is_empty());
    harness.state_mut().0.conditions = "Checkouts fail for a quarter of users".into();
    harness.run();
    harness.get_by_label("Post update").click();
    harness.run();
    harness.get_by_label("Resolve").click();
    harness.run();
    let issued = &harness.state().1;
    assert!(
        matches!(&issued[0], Command::Update { conditions, .. } if conditions.starts_with("Checkouts fail"))
    );
    assert_eq!(issued[1], Command::Resolve);
}

struct Directing {
    form: firedrill::ui::game_master::GameMasterForm,
    issued: Vec<Command>,
}

#[test]
fn the_game_master_panel_shows_the_truth_and_issues_the_drills_commands() {
    use firedrill::ui::game_master::{GameMasterForm, panel};
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/shop-incident.ron");
    let scenario = load_file(&path).unwrap().scenario;
    let mut sim = Simulation::new(&scenario);
    sim.run_until(600.0);
    let mut harness = Harness::new_ui_state(
        move |ui, state: &mut Directing| {
            if let Some(command) = panel(ui, &mut state.form, &scenario, (&sim, &[], "mentor")) {
                state.issued.push(command);
            }
        },
        Directing {
            form: GameMasterForm {
                params: "Errors(ratio: 0.3)".into(),
                target: "payment".into(),
                duration: "2m".into(),
                hint: "What changed before the page?".into(),
                ..Default::default()
            },
            issued: Vec::new(),
        },
    );
    harness.get_by_label("root cause: checkout v2.4.0 bug");
    harness.get_by_label("fired at 00:05:00");
    harness.get_by_label("(distraction)");
    harness.get_by_label("Inject now").click();
    harness.run();
    harness
        .get_by_label("Give hint (costs 5% of the score)")
        .click();
    harness.run();
    // Ending the shift for everyone takes a second click.
    harness.get_by_label("End the shift").click();
    harness.run();
    assert_eq!(harness.state().issued.len(), 2);
    harness.get_by_label("Confirm: end for everyone").click();
    harness.run();
    assert_eq!(
        harness.state().issued,
        [
            Command::Inject {
                kind: firedrill::scenario::FaultKind::Errors { ratio: 0.3 },
                target: "payment".into(),
                duration: Some(firedrill::scenario::Seconds(120.0)),
                name: None,
            },
            Command::Hint {
                text: "What changed before the page?".into()
            },
            Command::EndShift,
        ]
    );
}

#[test]
fn a_player_sees_who_paused_the_table() {
    let shows = |room: ControlRoom, text: &str| {
        let harness = Harness::new_ui(move |ui| panels::top_bar(ui, &room, Err(0.0)));
        harness.query_by_label(text).is_some()
    };
    let mut room = room();
    assert!(shows(room.clone(), "paused by the host"));
    room.roles
        .push(("mentor".into(), firedrill::incident::Role::GameMaster));
    assert!(shows(room, "paused by the game master"));
}

#[test]
fn the_action_form_builds_every_remediation_of_the_catalog() {
    for entry in firedrill::remediation::CATALOG {
        let edge = entry.example.contains("from:");
        let form = ActionForm {
            action: entry.name.to_string(),
            target: if edge { "web->api" } else { "web" }.to_string(),
            ..ActionForm::default()
        };
        let remediation = form
            .remediation()
            .unwrap_or_else(|e| panic!("{}: {e}", entry.name));
        assert_eq!(remediation.label(), entry.name);
        let expected = if edge { "web->api" } else { "web" };
        assert_eq!(remediation.target(), expected, "{}", entry.name);
    }
    let unknown = ActionForm {
        action: "Reboot".into(),
        target: "web".into(),
        ..ActionForm::default()
    };
    assert!(
        unknown
            .remediation()
            .unwrap_err()
            .contains("unknown remediation Reboot")
    );
}

/// A trainee's picker: tutorial cleared, hot-key assigned by a mentor.
fn library() -> firedrill::history::Library {
    use firedrill::history::{Library, LibraryEntry, Profile, Progress, Recommendation, Why};
    use firedrill::scenario::Difficulty;
    let entry =
        |name: &str, difficulty, progress: Progress, assigned_by: Option<&str>| LibraryEntry {
            path: format!("scenarios/{name}.ron").into(),
            name: name.into(),
            description: format!("the {name} briefing"),
            difficulty: Some(difficulty),
            duration_s: 1200.0,
            error: None,
            progress,
            assigned_by: assigned_by.map(Into::into),
        };
    let tutorial = Progress {
        sessions: 3,
        resolved: 2,
        best_percent: Some(96.0),
        last_percent: Some(88.0),
        cleared: true,
        missed: vec![("communication".into(), 2), ("verify".into(), 1)],
        ..Default::default()
    };
    Library {
        entries: vec![
            entry("tutorial", Difficulty::Tutorial, tutorial, None),
            entry(
                "hot-key",
                Difficulty::Hard,
                Progress::default(),
                Some("mia"),
            ),
        ],
        recommendation: Some(Recommendation {
            scenario: "hot-key".into(),
            why: Why::Assigned { by: "mia".into() },
        }),
        profile: Profile {
            player: "ana".into(),
            ..Default::default()
        },
        trouble: None,
    }
}

#[test]
fn the_picker_shows_the_record_and_plays_the_recommendation() {
    use firedrill::ui::screens::picker::picker;
    let library = library();
    let mut harness = Harness::new_ui_state(
        |ui, (chosen, showing_profile): &mut (Option<usize>, bool)| {
            if let Some(i) = picker(ui, &library, "ana", showing_profile, None) {
                *chosen = Some(i);
            }
        },
        (None, false),
    );
    harness.get_by_label("assigned to you by mia");
    harness.get_by_label("assigned by mia");
    harness.get_by_label("played 3 times, resolved 2, best 96%, last 88% · cleared");
    harness.get_by_label("· most often missed: Communication (2x), Verify before closing (1x)");
    harness.get_by_label("not played yet");
    harness.get_by_label("Play next").click();
    harness.run();
    assert_eq!(harness.state().0, Some(1), "hot-key is the second entry");
    // The profile tab, before any scored session.
    harness.get_by_label("Profile of ana").click();
    harness.run();
    assert!(harness.state().1);
    harness.get_by_label("No scored session yet: play a scenario to start your profile.");
}
