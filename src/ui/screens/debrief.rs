//! The debrief: the end of the shift (scored, drafted and recorded once, on entering), the
//! score with its explanations, the timeline, the budget, and the postmortem form.

use std::path::PathBuf;

use bevy::prelude::*;
use bevy_egui::egui::{self, RichText, Ui};
use bevy_egui::{EguiContexts, EguiPrimaryContextPass};

use super::{Screen, root};
use crate::incident::debrief::{Mark, MarkKind, SloCurve};
use crate::incident::{ActionItem, ActionItemKind, Command, Postmortem, Priority};
use crate::scenario::FacilitatorNotes;
use crate::scoring::measured::Effect;
use crate::scoring::{Score, Verdict};
use crate::ui::panels::{AMBER, BLUE, GREEN, MUTED, RED, clock_hms};
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
    /// The chart's marks: faults, pages and commands.
    pub marks: Vec<Mark>,
    /// Each SLO's SLI and budget over the shift.
    pub curves: Vec<SloCurve>,
    /// Each SLO's objective in percent, in the curves' order.
    pub objectives: Vec<f64>,
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
    incident_chart(ui, view);
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
                egui::Frame::group(ui.style()).show(ui, |ui| {
                    ui.set_width(ui.available_width());
                    crate::ui::markdown::show(ui, &view.postmortem_markdown);
                });
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

const SLO_COLORS: [egui::Color32; 4] = [
    BLUE,
    GREEN,
    egui::Color32::from_rgb(0xb4, 0x8e, 0xf0),
    egui::Color32::from_rgb(0x4c, 0xc9, 0xc9),
];

/// The incident as a picture: each SLI and each budget over the shift, with the faults
/// (revealed now), the pages and every command marked, hover for what each was; beside it,
/// what users got against doing nothing and the reference response, same seed.
fn incident_chart(ui: &mut Ui, view: &DebriefView) {
    if view.curves.is_empty() {
        return;
    }
    let comparison = view.score.as_ref().and_then(|s| s.outcomes.as_ref());
    let width = ui.available_width();
    let chart_width = if comparison.is_some() {
        width * 0.72
    } else {
        width
    };
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            ui.set_width(chart_width);
            ui.horizontal(|ui| {
                ui.label(RichText::new("The incident").strong());
                for (label, color) in [
                    ("| fault (revealed)", RED),
                    ("| page", AMBER),
                    ("| command", MUTED),
                ] {
                    ui.label(RichText::new(label).small().color(color));
                }
                ui.label(
                    RichText::new("hover a dot on the top edge for what happened")
                        .small()
                        .italics()
                        .color(MUTED),
                );
            });
            let marks = &view.marks;
            let series = |which: fn(&SloCurve) -> &Vec<[f64; 2]>| {
                view.curves
                    .iter()
                    .zip(SLO_COLORS.iter().cycle())
                    .map(|(curve, color)| (curve.name.as_str(), which(curve).as_slice(), *color))
                    .collect::<Vec<_>>()
            };
            let objective = view.objectives.iter().copied().fold(100.0, f64::min);
            let low = view
                .curves
                .iter()
                .flat_map(|c| c.sli.iter().map(|p| p[1]))
                .fold(objective, f64::min);
            timeline_plot(
                ui,
                "SLI: good requests over the last minute (%)",
                &series(|c| &c.sli),
                marks,
                (low.max(0.0), 100.0),
                Some(objective),
                chart_width,
            );
            let lowest = view
                .curves
                .iter()
                .flat_map(|c| c.budget_left.iter().map(|p| p[1]))
                .fold(0.0, f64::min);
            timeline_plot(
                ui,
                "Error budget left (%)",
                &series(|c| &c.budget_left),
                marks,
                (lowest, 100.0),
                None,
                chart_width,
            );
        });
        if let Some(outcomes) = comparison {
            ui.vertical(|ui| {
                ui.label(RichText::new("What users got, same seed").strong());
                let runs = [
                    ("doing nothing", &outcomes.nothing, RED),
                    ("your response", &outcomes.yours, AMBER),
                    (outcomes.reference_is.as_str(), &outcomes.reference, GREEN),
                ];
                let bars: Vec<egui_plot::Bar> = runs
                    .iter()
                    .enumerate()
                    .map(|(i, (name, spend, color))| {
                        egui_plot::Bar::new(i as f64, 100.0 * spend.budget(&outcomes.budget_events))
                            .name(format!("{name}: {} bad requests", spend.total()))
                            .fill(*color)
                            .width(0.6)
                    })
                    .collect();
                let names: Vec<String> = runs.iter().map(|(n, _, _)| n.to_string()).collect();
                egui_plot::Plot::new("debrief comparison")
                    .height(236.0)
                    .width(ui.available_width())
                    .allow_drag(false)
                    .allow_zoom(false)
                    .allow_scroll(false)
                    .include_y(0.0)
                    .x_axis_formatter(move |mark, _| {
                        let i = mark.value.round();
                        if (mark.value - i).abs() < 0.01 && i >= 0.0 {
                            names.get(i as usize).cloned().unwrap_or_default()
                        } else {
                            String::new()
                        }
                    })
                    .y_axis_label("error budget spent (%)")
                    .show(ui, |plot| {
                        plot.bar_chart(egui_plot::BarChart::new("runs", bars));
                    });
            });
        }
    });
}

/// One chart of the incident: `series` over the shift, the marks as vertical lines with a
/// dot each on the top edge that hover explains, and an objective line if given.
fn timeline_plot(
    ui: &mut Ui,
    title: &str,
    series: &[(&str, &[[f64; 2]], egui::Color32)],
    marks: &[Mark],
    (low, high): (f64, f64),
    objective: Option<f64>,
    width: f32,
) {
    ui.label(RichText::new(title).small());
    egui_plot::Plot::new(title)
        .height(110.0)
        .width(width)
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .include_y(low)
        .include_y(high)
        .legend(egui_plot::Legend::default().position(egui_plot::Corner::RightBottom))
        .x_axis_formatter(|mark, _| clock_hms(mark.value))
        .label_formatter(move |hover| match hover {
            // The dots on the top edge carry no name (the legend keeps to the SLOs): the
            // mark nearest in time says what it was.
            egui_plot::HoverPosition::NearDataPoint {
                plot_name: "",
                position,
                ..
            } => marks
                .iter()
                .min_by(|a, b| {
                    (a.t - position.x)
                        .abs()
                        .total_cmp(&(b.t - position.x).abs())
                })
                .map(|mark| format!("T+{} {}", clock_hms(mark.t), mark.text)),
            egui_plot::HoverPosition::NearDataPoint {
                plot_name,
                position,
                ..
            } => Some(format!(
                "{plot_name}\nT+{}: {:.2}%",
                clock_hms(position.x),
                position.y
            )),
            egui_plot::HoverPosition::Elsewhere { .. } => None,
        })
        .show(ui, |plot| {
            for (name, points, color) in series {
                plot.line(egui_plot::Line::new(*name, points.to_vec()).color(*color));
            }
            if let Some(objective) = objective {
                plot.hline(
                    egui_plot::HLine::new("objective", objective)
                        .color(RED)
                        .style(egui_plot::LineStyle::dashed_loose()),
                );
            }
            for mark in marks {
                let color = mark_color(mark.kind);
                plot.vline(
                    egui_plot::VLine::new("", mark.t)
                        .color(color.gamma_multiply(0.45))
                        .width(1.0),
                );
                plot.points(
                    egui_plot::Points::new("", vec![[mark.t, high]])
                        .color(color)
                        .radius(3.0),
                );
            }
        });
}

fn mark_color(kind: MarkKind) -> egui::Color32 {
    match kind {
        MarkKind::Fault => RED,
        MarkKind::Page => AMBER,
        MarkKind::Command => MUTED,
    }
}
