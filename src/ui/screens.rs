//! The screens around the control room: the scenario picker, the briefing and the debrief.
//! Plain functions of their data, like the panels.

use bevy_egui::egui::{self, RichText, Ui};

use super::panels::{AMBER, GREEN, MUTED, RED, clock_hms, span};
use crate::incident::{ActionItem, ActionItemKind, Postmortem, Priority};
use crate::scenario::{Difficulty, Scenario};
use crate::scoring::{Score, Verdict};

/// A scenario in the picker.
#[derive(Clone, Debug, PartialEq)]
pub struct LibraryEntry {
    pub path: std::path::PathBuf,
    pub name: String,
    pub description: String,
    pub difficulty: Option<Difficulty>,
    pub duration_s: f64,
    /// Why it does not load, if it does not.
    pub error: Option<String>,
}

/// The scenario picker; returns the entry chosen.
pub fn title(ui: &mut Ui, library: &[LibraryEntry]) -> Option<usize> {
    let mut chosen = None;
    ui.vertical_centered(|ui| {
        ui.add_space(24.0);
        ui.label(RichText::new("firedrill").size(40.0).strong().color(AMBER));
        ui.label(RichText::new("incident response training: the pager is yours").color(MUTED));
        ui.add_space(16.0);
    });
    egui::ScrollArea::vertical().show(ui, |ui| {
        for (i, entry) in library.iter().enumerate() {
            egui::Frame::group(ui.style()).show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.horizontal(|ui| {
                    ui.label(RichText::new(&entry.name).size(18.0).strong());
                    if let Some(d) = entry.difficulty {
                        ui.label(RichText::new(format!("{d:?}")).color(match d {
                            Difficulty::Tutorial | Difficulty::Easy => GREEN,
                            Difficulty::Medium => AMBER,
                            Difficulty::Hard => RED,
                        }));
                    } else {
                        ui.label(RichText::new("sandbox (no scoring)").color(MUTED));
                    }
                    ui.label(
                        RichText::new(format!("{} shift", span(entry.duration_s))).color(MUTED),
                    );
                    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                        let play = ui.add_enabled(
                            entry.error.is_none(),
                            egui::Button::new(RichText::new("Play").strong()),
                        );
                        if play.clicked() {
                            chosen = Some(i);
                        }
                    });
                });
                ui.label(&entry.description);
                if let Some(error) = &entry.error {
                    ui.label(RichText::new(error).color(RED).monospace().small());
                }
            });
        }
    });
    chosen
}

/// The briefing before the shift starts; true when the player starts.
pub fn briefing(ui: &mut Ui, scenario: &Scenario) -> bool {
    let mut start = false;
    ui.vertical_centered(|ui| {
        ui.add_space(40.0);
        ui.label(RichText::new(&scenario.name).size(30.0).strong());
        ui.add_space(12.0);
        let briefing = scenario
            .incident
            .as_ref()
            .map(|i| i.briefing.clone())
            .filter(|b| !b.is_empty())
            .unwrap_or_else(|| scenario.description.clone());
        ui.label(RichText::new(briefing).size(16.0));
        ui.add_space(12.0);
        ui.label(RichText::new(format!(
            "{} services, {} SLO(s), a {} shift. You are on call: acknowledge pages, look before you act, \
             mitigate first, keep stakeholders informed, verify before you resolve.",
            scenario.services.len(),
            scenario.slos.len(),
            clock_hms(scenario.duration.get())
        )).color(MUTED));
        ui.add_space(24.0);
        if ui.button(RichText::new("Start the shift").size(20.0).strong()).clicked() {
            start = true;
        }
    });
    start
}

/// What the debrief shows.
#[derive(Clone, Debug, PartialEq)]
pub struct DebriefView {
    pub score: Option<Score>,
    pub events: Vec<(f64, String)>,
    pub budget_spent: f64,
    pub postmortem_markdown: String,
    /// Where the postmortem was saved, once it was.
    pub saved: Option<String>,
}

/// The postmortem being written, with the action item being added.
#[derive(Clone, Debug, PartialEq)]
pub struct PostmortemForm {
    pub postmortem: Postmortem,
    pub item: String,
    pub owner: String,
    pub kind: ActionItemKind,
    pub priority: Priority,
}

impl Default for PostmortemForm {
    fn default() -> Self {
        Self {
            postmortem: Postmortem::default(),
            item: String::new(),
            owner: String::new(),
            kind: ActionItemKind::Prevent,
            priority: Priority::P1,
        }
    }
}

/// What the player asked for on the debrief screen.
#[derive(Clone, Debug, PartialEq)]
pub enum DebriefAction {
    Submit(Box<Postmortem>),
    Save,
    Back,
}

/// The debrief: score with its explanations, the timeline, the budget, the postmortem form
/// and its Markdown draft.
pub fn debrief(
    ui: &mut Ui,
    view: &DebriefView,
    form: &mut PostmortemForm,
) -> Option<DebriefAction> {
    let mut action = None;
    ui.horizontal(|ui| {
        ui.heading("Debrief");
        if let Some(score) = &view.score {
            ui.label(
                RichText::new(format!(
                    "score {:.1} of {:.0} ({:.0}%)",
                    score.points, score.max, score.percent
                ))
                .size(20.0)
                .strong()
                .color(AMBER),
            );
        }
        ui.label(format!(
            "error budget spent by the incident: {:.1}%",
            view.budget_spent * 100.0
        ));
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui.button("Back to scenarios").clicked() {
                action = Some(DebriefAction::Back);
            }
        });
    });
    ui.columns(2, |columns| {
        let ui = &mut columns[0];
        egui::ScrollArea::vertical()
            .id_salt("criteria")
            .max_height(ui.available_height() * 0.55)
            .show(ui, |ui| {
                if let Some(score) = &view.score {
                    for c in &score.criteria {
                        let (mark, color) = match c.verdict {
                            Verdict::Met => ("met", GREEN),
                            Verdict::Partly => ("partly", AMBER),
                            Verdict::Failed => ("failed", RED),
                            Verdict::NotApplicable => ("n/a", MUTED),
                            Verdict::Penalty => ("penalty", RED),
                        };
                        ui.horizontal_wrapped(|ui| {
                            ui.label(RichText::new(mark).strong().color(color));
                            ui.label(
                                RichText::new(format!("{} {:.1}/{:.0}", c.title, c.points, c.max))
                                    .strong(),
                            );
                        });
                        ui.label(&c.why);
                        ui.label(RichText::new(c.practice).small().italics().color(MUTED));
                        ui.add_space(4.0);
                    }
                } else {
                    ui.label("This scenario has no ground truth: nothing to score.");
                }
            });
        ui.separator();
        ui.label(RichText::new("Timeline").strong());
        egui::ScrollArea::vertical()
            .id_salt("timeline")
            .show(ui, |ui| {
                for (t, line) in &view.events {
                    ui.label(
                        RichText::new(format!("{} {line}", clock_hms(*t)))
                            .monospace()
                            .small(),
                    );
                }
            });
        let ui = &mut columns[1];
        ui.label(RichText::new("Postmortem").strong());
        let pm = &mut form.postmortem;
        egui::Grid::new("postmortem").num_columns(2).show(ui, |ui| {
            for (label, field) in [
                ("title", &mut pm.title),
                ("summary", &mut pm.summary),
                ("impact", &mut pm.impact),
                ("root causes", &mut pm.root_causes),
                ("trigger", &mut pm.trigger),
                ("resolution", &mut pm.resolution),
                ("detection", &mut pm.detection),
                ("went well", &mut pm.went_well),
                ("went wrong", &mut pm.went_wrong),
                ("got lucky", &mut pm.got_lucky),
            ] {
                ui.label(label);
                ui.add(egui::TextEdit::singleline(field).desired_width(f32::INFINITY));
                ui.end_row();
            }
        });
        for item in &pm.action_items {
            ui.label(format!(
                "{:?} {:?}: {} ({})",
                item.priority, item.kind, item.item, item.owner
            ));
        }
        ui.horizontal(|ui| {
            ui.add(
                egui::TextEdit::singleline(&mut form.item)
                    .hint_text("action item")
                    .desired_width(200.0),
            );
            ui.add(
                egui::TextEdit::singleline(&mut form.owner)
                    .hint_text("owner")
                    .desired_width(90.0),
            );
            ui.selectable_value(&mut form.kind, ActionItemKind::Mitigate, "mitigate");
            ui.selectable_value(&mut form.kind, ActionItemKind::Prevent, "prevent");
            for p in [Priority::P0, Priority::P1, Priority::P2] {
                ui.selectable_value(&mut form.priority, p, format!("{p:?}"));
            }
            let complete = !form.item.trim().is_empty() && !form.owner.trim().is_empty();
            if ui.add_enabled(complete, egui::Button::new("Add")).clicked() {
                form.postmortem.action_items.push(ActionItem {
                    item: std::mem::take(&mut form.item),
                    kind: form.kind,
                    owner: std::mem::take(&mut form.owner),
                    priority: form.priority,
                });
            }
        });
        ui.horizontal(|ui| {
            if ui.button("Submit postmortem").clicked() {
                action = Some(DebriefAction::Submit(Box::new(form.postmortem.clone())));
            }
            if ui.button("Save as Markdown").clicked() {
                action = Some(DebriefAction::Save);
            }
            if let Some(path) = &view.saved {
                ui.label(RichText::new(format!("saved to {path}")).color(GREEN));
            }
        });
        egui::ScrollArea::vertical()
            .id_salt("markdown")
            .show(ui, |ui| {
                ui.label(RichText::new(&view.postmortem_markdown).monospace().small());
            });
    });
    action
}
