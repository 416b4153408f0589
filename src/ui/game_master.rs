//! The game master's panel: the ground truth the responders cannot see, and the controls
//! that direct the drill. Everything it does is a [`Command`], journaled like the rest.

use bevy_egui::egui::{self, RichText, Ui};

use super::panels::{AMBER, GREEN, MUTED, RED, clock_hms, pick};
use crate::faults::{CATALOG, CatalogEntry, Fault};
use crate::incident::{Command, Entry};
use crate::scenario::{FaultKind, Scenario, Seconds, parse_duration, ron_options};
use crate::session::Simulation;

/// What the game master is typing.
pub struct GameMasterForm {
    pub kind: String,
    /// The fault kind with its parameters, as a scenario writes it: `Crash(instances: 1)`.
    pub params: String,
    pub target: String,
    /// How long the fault lasts ("5m"); empty: until a remediation ends it.
    pub duration: String,
    pub from: String,
    pub message: String,
    pub hint: String,
    /// The speed to go back to when the pause for discussion ends.
    pub resume_speed: f64,
    /// Ending the shift waits for a second click.
    pub ending: bool,
    pub error: Option<String>,
}

impl Default for GameMasterForm {
    fn default() -> Self {
        let mut form = Self {
            kind: String::new(),
            params: String::new(),
            target: String::new(),
            duration: String::new(),
            from: "VP Engineering".to_string(),
            message: String::new(),
            hint: String::new(),
            resume_speed: 1.0,
            ending: false,
            error: None,
        };
        form.choose(&CATALOG[0]);
        form
    }
}

impl GameMasterForm {
    fn choose(&mut self, entry: &CatalogEntry) {
        self.kind = entry.name.to_string();
        self.params = example_kind(entry).to_string();
        self.target.clear();
        self.error = None;
    }

    /// The injection the form describes, or what is wrong with it.
    pub fn injection(&self) -> Result<Command, String> {
        let kind: FaultKind = ron_options()
            .from_str(self.params.trim())
            .map_err(|e| format!("fault kind: {}", e.code))?;
        if self.target.trim().is_empty() {
            return Err("choose a target".to_string());
        }
        let duration = match self.duration.trim() {
            "" => None,
            text => Some(Seconds(parse_duration(text)?)),
        };
        Ok(Command::Inject {
            kind,
            target: self.target.trim().to_string(),
            duration,
            name: None,
        })
    }
}

/// The kind part of a catalog example: `Crash(instances: 2)`.
fn example_kind(entry: &CatalogEntry) -> &'static str {
    entry
        .example
        .split_once("kind: ")
        .and_then(|(_, rest)| rest.split_once(", target:"))
        .map_or(entry.name, |(kind, _)| kind)
}

/// A fault as the game master follows it.
fn status(fault: &Fault) -> (String, egui::Color32) {
    match (fault.started_at, fault.ended_at) {
        (None, None) => ("waiting".to_string(), MUTED),
        (None, Some(t)) => (format!("defused at {}", clock_hms(t)), GREEN),
        (Some(t), None) => (format!("active since {}", clock_hms(t)), RED),
        (Some(a), Some(b)) if a == b => (format!("fired at {}", clock_hms(a)), AMBER),
        (Some(_), Some(b)) => (format!("ended at {}", clock_hms(b)), GREEN),
    }
}

/// Whether the game master `by` has paused the shift to talk: the last of their pauses and
/// resumes was a pause (read off the session's commands, so a resumed session knows too).
pub fn talking(issued: &[Entry], by: &str) -> bool {
    issued
        .iter()
        .rev()
        .filter(|e| e.by == by)
        .find_map(|e| match e.command {
            Command::Pause => Some(true),
            Command::Resume => Some(false),
            _ => None,
        })
        .unwrap_or(false)
}

/// The ground truth and the drill's controls; the command the game master gave, if any.
/// The mentor's notes: objectives, what to watch for, questions for the debrief.
fn facilitator_notes(ui: &mut Ui, notes: &crate::scenario::FacilitatorNotes) {
    if notes.is_empty() {
        return;
    }
    egui::CollapsingHeader::new("Facilitator's notes")
        .default_open(true)
        .show(ui, |ui| {
            for (title, items) in [
                ("Objectives", &notes.objectives),
                ("Watch for", &notes.watch_for),
                ("Ask at the debrief", &notes.questions),
            ] {
                if items.is_empty() {
                    continue;
                }
                ui.label(RichText::new(title).small().strong());
                for item in items {
                    ui.label(RichText::new(format!("• {item}")).small());
                }
            }
            crate::ui::panels::drawn_from(ui, &notes.precedent);
        });
}

pub fn panel(
    ui: &mut Ui,
    form: &mut GameMasterForm,
    scenario: &Scenario,
    (sim, issued, me): (&Simulation, &[Entry], &str),
) -> Option<Command> {
    let mut command = None;
    ui.label(RichText::new("Ground truth (only you see this)").strong());
    if let Some(truth) = &scenario.incident {
        facilitator_notes(ui, &truth.notes);
        ui.label(format!("root cause: {}", truth.root_cause.join(", ")));
        let fixes = crate::scoring::mitigations(scenario, truth);
        if !fixes.is_empty() {
            ui.label(
                RichText::new(format!("fixed by: {}", crate::scoring::patterns(&fixes))).small(),
            );
        }
    }
    for (i, fault) in sim.faults().faults.iter().enumerate() {
        let (state, color) = status(fault);
        let truth = scenario.incident.as_ref();
        let role = if i >= scenario.faults.len() {
            "injected"
        } else if truth.is_some_and(|t| t.root_cause.contains(&fault.name)) {
            "root cause"
        } else if truth.is_some_and(|t| t.distractions.contains(&fault.name)) {
            "distraction"
        } else {
            "scenario"
        };
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(&fault.name).small());
            ui.label(RichText::new(format!("({role})")).small().color(MUTED));
            ui.label(RichText::new(state).small().color(color));
        });
    }
    ui.separator();

    ui.label(RichText::new("Inject a fault").strong());
    egui::ComboBox::from_id_salt("gm-kind")
        .selected_text(&form.kind)
        .show_ui(ui, |ui| {
            for entry in CATALOG {
                if ui
                    .selectable_label(form.kind == entry.name, entry.name)
                    .clicked()
                {
                    form.choose(entry);
                }
            }
        });
    let entry = CATALOG.iter().find(|e| e.name == form.kind);
    if let Some(entry) = entry {
        ui.label(RichText::new(entry.description).small().color(MUTED));
    }
    ui.add(egui::TextEdit::singleline(&mut form.params).font(egui::TextStyle::Monospace));
    let topology = sim.topology();
    let targets: Vec<String> = match entry.map_or("service", |e| e.target) {
        "edge" => topology
            .services
            .iter()
            .flat_map(|s| {
                s.edges.iter().map(move |e| {
                    crate::scenario::Edge {
                        from: &s.name,
                        to: &topology.services[e.to].name,
                    }
                    .to_string()
                })
            })
            .collect(),
        "zone" => topology.zones.clone(),
        "traffic" => topology.sources.iter().map(|s| s.name.clone()).collect(),
        _ => topology.services.iter().map(|s| s.name.clone()).collect(),
    };
    ui.horizontal(|ui| {
        let combo = egui::ComboBox::from_id_salt("gm-target");
        pick(ui, combo, "target", &mut form.target, targets);
        ui.add(
            egui::TextEdit::singleline(&mut form.duration)
                .hint_text("for (blank: until fixed)")
                .desired_width(110.0),
        );
    });
    if ui.button("Inject now").clicked() {
        match form.injection() {
            Ok(inject) => {
                form.error = None;
                command = Some(inject);
            }
            Err(error) => form.error = Some(error),
        }
    }
    if let Some(error) = &form.error {
        ui.label(RichText::new(error).small().color(RED));
    }
    ui.separator();

    ui.label(RichText::new("Speak for a stakeholder").strong());
    ui.add(egui::TextEdit::singleline(&mut form.from).hint_text("from"));
    ui.add(egui::TextEdit::singleline(&mut form.message).hint_text("message"));
    let speakable = !form.from.trim().is_empty() && !form.message.trim().is_empty();
    if ui
        .add_enabled(speakable, egui::Button::new("Send message"))
        .clicked()
    {
        command = Some(Command::Say {
            from: form.from.trim().to_string(),
            text: std::mem::take(&mut form.message),
        });
    }
    ui.separator();

    ui.label(RichText::new("Hint").strong());
    ui.add(egui::TextEdit::singleline(&mut form.hint).hint_text("a nudge, not the answer"));
    let cost = format!(
        "Give hint (costs {:.0}% of the score)",
        crate::scoring::HINT_COST * 100.0
    );
    if ui
        .add_enabled(!form.hint.trim().is_empty(), egui::Button::new(cost))
        .clicked()
    {
        command = Some(Command::Hint {
            text: std::mem::take(&mut form.hint),
        });
    }
    ui.separator();

    ui.horizontal(|ui| {
        let pause = if talking(issued, me) {
            "Resume"
        } else {
            "Pause to talk"
        };
        if ui.button(pause).clicked() {
            command = Some(if talking(issued, me) {
                Command::Resume
            } else {
                Command::Pause
            });
        }
        let end = if form.ending {
            RichText::new("Confirm: end for everyone").color(RED)
        } else {
            RichText::new("End the shift")
        };
        if ui.button(end).clicked() {
            if form.ending {
                command = Some(Command::EndShift);
            }
            form.ending = !form.ending;
        }
    });
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalog_example_fills_the_form_with_a_kind_that_parses() {
        for entry in CATALOG {
            let mut form = GameMasterForm::default();
            form.choose(entry);
            form.target = "web".to_string();
            match form.injection() {
                Ok(Command::Inject { kind, .. }) => assert_eq!(kind.label(), entry.name),
                other => panic!("{}: {other:?}", entry.name),
            }
        }
    }

    #[test]
    fn the_pause_for_talk_is_the_game_masters_last_pause_or_resume() {
        let entry = |by: &str, command| Entry {
            at: Seconds(60.0),
            by: by.to_string(),
            command,
        };
        let mut issued = vec![entry("mentor", Command::Pause)];
        assert!(talking(&issued, "mentor"));
        // Somebody else's (refused) resume does not end it.
        issued.push(entry("ana", Command::Resume));
        assert!(talking(&issued, "mentor"));
        issued.push(entry("mentor", Command::Resume));
        assert!(!talking(&issued, "mentor"));
        assert!(!talking(&[entry("ana", Command::Pause)], "mentor"));
    }

    #[test]
    fn a_bad_form_says_what_is_wrong() {
        let mut form = GameMasterForm {
            params: "Crash(instances: )".to_string(),
            ..Default::default()
        };
        assert!(form.injection().unwrap_err().starts_with("fault kind:"));
        form.params = "Crash(instances: 1)".to_string();
        assert_eq!(form.injection().unwrap_err(), "choose a target");
        form.target = "web".to_string();
        form.duration = "5 minutes".to_string();
        assert!(form.injection().is_err());
        form.duration = "5m".to_string();
        assert_eq!(
            form.injection().unwrap(),
            Command::Inject {
                kind: FaultKind::Crash { instances: 1 },
                target: "web".to_string(),
                duration: Some(Seconds(300.0)),
                name: None,
            }
        );
    }
}
