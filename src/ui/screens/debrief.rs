//! The debrief: the end of the shift (scored, drafted and recorded once, on entering), the
//! score with its explanations, the timeline, the budget, and the postmortem form.

use std::path::PathBuf;

use bevy::prelude::*;
use bevy_egui::egui::{self, RichText, Ui};
use bevy_egui::{EguiContexts, EguiPrimaryContextPass};

use super::{Screen, root};
use crate::incident::{ActionItem, ActionItemKind, Command, Postmortem, Priority};
use crate::scenario::FacilitatorNotes;
use crate::scoring::measured::Effect;
use crate::scoring::{Score, Verdict};
use crate::ui::panels::{AMBER, GREEN, MUTED, RED, clock_hms};
use crate::ui::{Desk, Game};

pub(super) fn plugin(app: &mut App) {
    app.add_systems(OnEnter(Screen::Debrief), end_the_shift)
        .add_systems(
            EguiPrimaryContextPass,
            draw.run_if(in_state(Screen::Debrief)),
        );
}

/// The shift is over: score it, draft the postmortem, record it in the history.
fn end_the_shift(mut game: NonSendMut<Game>) {
    game.finish();
}

fn draw(mut contexts: EguiContexts, mut game: NonSendMut<Game>, mut desk: ResMut<Desk>) -> Result {
    let mut root = root(contexts.ctx_mut()?);
    let game = &mut *game;
    let mut action = None;
    egui::CentralPanel::default().show(&mut root, |ui| {
        if let Some(view) = &game.debrief {
            action = debrief(ui, view, &mut desk.postmortem_form);
        }
    });
    match action {
        Some(DebriefAction::Submit(postmortem)) => {
            game.issue(Command::Postmortem(*postmortem));
            game.finish();
        }
        Some(DebriefAction::Save) => save_postmortem(game),
        Some(DebriefAction::Back) => game.back_to_the_picker(),
        None => {}
    }
    Ok(())
}

/// Saves the postmortem draft beside where the game was started.
fn save_postmortem(game: &mut Game) {
    let (Some(session), Some(view)) = (&game.session, &mut game.debrief) else {
        return;
    };
    let path = PathBuf::from(format!("postmortem-{}.md", session.scenario.name));
    match std::fs::write(&path, &view.postmortem_markdown) {
        Ok(()) => view.saved = Some(path.display().to_string()),
        Err(error) => game.notice = Some(format!("cannot write {}: {error}", path.display())),
    }
}

/// What the debrief shows.
#[derive(Clone, Debug, PartialEq)]
pub struct DebriefView {
    pub score: Option<Score>,
    /// SLO names, in the order of the score's per-SLO figures.
    pub slos: Vec<String>,
    pub events: Vec<(f64, String)>,
    pub budget_spent: f64,
    pub postmortem_markdown: String,
    /// Where the postmortem was saved, once it was.
    pub saved: Option<String>,
    /// The facilitator's notes: what the scenario teaches and what to ask.
    pub notes: FacilitatorNotes,
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
            if let Some(outcome) = score.outcome() {
                ui.label(RichText::new(outcome).size(20.0).strong().color(GREEN));
            }
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
                    if !score.effects.is_empty() {
                        ui.label(RichText::new("What each change did").strong());
                        ui.label(
                            RichText::new("The same session without it, to the end of the shift.")
                                .small()
                                .italics()
                                .color(MUTED),
                        );
                        for effect in &score.effects {
                            let color = match effect.effect {
                                Effect::Helpful => GREEN,
                                Effect::Neutral => MUTED,
                                Effect::Harmful => RED,
                            };
                            ui.label(RichText::new(effect.describe(&view.slos)).color(color));
                        }
                        ui.add_space(6.0);
                    }
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
        notes_for_the_debrief(ui, &view.notes);
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
            for (kind, label) in [
                (ActionItemKind::Mitigate, "mitigate"),
                (ActionItemKind::Prevent, "prevent"),
                (ActionItemKind::Detect, "detect"),
                (ActionItemKind::Repair, "repair"),
                (ActionItemKind::Process, "process"),
            ] {
                ui.selectable_value(&mut form.kind, kind, label);
            }
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

/// What the scenario teaches and the questions to talk through, above the postmortem.
fn notes_for_the_debrief(ui: &mut Ui, notes: &FacilitatorNotes) {
    if notes.is_empty() {
        return;
    }
    egui::CollapsingHeader::new(RichText::new("What this drill teaches").strong())
        .default_open(true)
        .show(ui, |ui| {
            crate::ui::panels::drawn_from(ui, &notes.precedent);
            for objective in &notes.objectives {
                ui.label(format!("• {objective}"));
            }
            if !notes.questions.is_empty() {
                ui.label(RichText::new("Talk it through").strong());
                for question in &notes.questions {
                    ui.label(RichText::new(format!("? {question}")).color(AMBER));
                }
            }
        });
    ui.separator();
}
