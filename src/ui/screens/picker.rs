//! The scenario picker: the library of scenarios, each with its difficulty, length,
//! briefing and the player's record on it, what to play next, and the player's profile
//! (competencies and trends over sessions); a player joining someone's table waits here.

use bevy::prelude::*;
use bevy_egui::egui::{self, Color32, RichText, Ui};
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, EguiTextureHandle};
use egui_plot::{Legend, Line, Plot};

use super::{Screen, root, table_line};
use crate::history::{Library, Profile, Progress};
use crate::net::Link;
use crate::scenario::Difficulty;
use crate::scoring::competency::Competency;
use crate::ui::Game;
use crate::ui::panels::{AMBER, BLUE, GREEN, MUTED, RED, span};

pub(super) fn plugin(app: &mut App) {
    app.add_systems(Startup, load_emblem).add_systems(
        EguiPrimaryContextPass,
        draw.run_if(in_state(Screen::Picker)),
    );
}

/// The game's emblem on the picker, from `assets/icons/firedrill.png`.
#[derive(Resource)]
struct Emblem(egui::TextureId);

fn load_emblem(mut commands: Commands, server: Res<AssetServer>, mut contexts: EguiContexts) {
    let image = server.load("icons/firedrill.png");
    commands.insert_resource(Emblem(contexts.add_image(EguiTextureHandle::Strong(image))));
}

fn draw(
    mut contexts: EguiContexts,
    mut game: NonSendMut<Game>,
    emblem: Option<Res<Emblem>>,
) -> Result {
    let mut root = root(contexts.ctx_mut()?);
    let game = &mut *game;
    egui::CentralPanel::default().show(&mut root, |ui| {
        if matches!(game.link, Link::Player(_)) {
            ui.vertical_centered(|ui| {
                ui.add_space(120.0);
                if let Some((text, color)) = table_line(game) {
                    ui.label(egui::RichText::new(text).size(20.0).color(color));
                }
            });
            return;
        }
        let player = game.options.player.clone();
        if let Some(i) = picker(
            ui,
            &game.library,
            &player,
            &mut game.options.profile,
            emblem.map(|e| e.0),
        ) {
            let path = game.library.entries[i].path.clone();
            if let Err(error) = game.start(&path) {
                game.notice = Some(error);
            }
        }
        if let Some(notice) = &game.notice {
            ui.label(egui::RichText::new(notice).color(RED));
        }
    });
    Ok(())
}

/// The scenario picker (or, with `showing_profile`, the player's profile); returns the
/// entry chosen.
pub fn picker(
    ui: &mut Ui,
    library: &Library,
    player: &str,
    showing_profile: &mut bool,
    emblem: Option<egui::TextureId>,
) -> Option<usize> {
    let mut chosen = None;
    ui.vertical_centered(|ui| {
        ui.add_space(12.0);
        if let Some(emblem) = emblem {
            ui.add(egui::Image::new((emblem, egui::vec2(56.0, 56.0))));
        }
        ui.label(RichText::new("firedrill").size(40.0).strong().color(AMBER));
        ui.label(RichText::new("incident response training: the pager is yours").color(MUTED));
        ui.add_space(8.0);
    });
    ui.horizontal(|ui| {
        ui.selectable_value(
            showing_profile,
            false,
            RichText::new("Scenarios").size(16.0),
        );
        ui.selectable_value(
            showing_profile,
            true,
            RichText::new(format!("Profile of {player}")).size(16.0),
        );
        if let Some(trouble) = &library.trouble {
            ui.label(RichText::new(format!("history unavailable: {trouble}")).color(RED));
        }
    });
    ui.separator();
    if *showing_profile {
        egui::ScrollArea::vertical().show(ui, |ui| profile(ui, &library.profile));
        return None;
    }
    if let Some(next) = &library.recommendation
        && let Some(i) = library.entries.iter().position(|e| e.name == next.scenario)
    {
        egui::Frame::group(ui.style())
            .stroke(egui::Stroke::new(1.5, AMBER))
            .show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.horizontal(|ui| {
                    ui.label(RichText::new("Next:").strong().color(AMBER));
                    ui.label(RichText::new(&next.scenario).size(16.0).strong());
                    ui.label(RichText::new(next.reason()).color(MUTED));
                    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                        if ui.button(RichText::new("Play next").strong()).clicked() {
                            chosen = Some(i);
                        }
                    });
                });
            });
    }
    egui::ScrollArea::vertical().show(ui, |ui| {
        for (i, entry) in library.entries.iter().enumerate() {
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
                    if let Some(mentor) = &entry.assigned_by {
                        ui.label(
                            RichText::new(format!("assigned by {mentor}"))
                                .strong()
                                .color(AMBER),
                        );
                    }
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
                let played = entry.progress.sessions > 0;
                ui.horizontal_wrapped(|ui| {
                    ui.label(RichText::new(progress_line(&entry.progress)).small().color(
                        if entry.progress.cleared {
                            GREEN
                        } else if played {
                            AMBER
                        } else {
                            MUTED
                        },
                    ));
                    let missed = entry.progress.most_missed(3);
                    if !missed.is_empty() {
                        ui.label(
                            RichText::new(format!("· most often missed: {}", missed.join(", ")))
                                .small()
                                .color(MUTED),
                        );
                    }
                });
                if let Some(error) = &entry.error {
                    ui.label(RichText::new(error).color(RED).monospace().small());
                }
            });
        }
    });
    chosen
}

/// "played 3 times, resolved 2, best 92%, last 85%", or "not played yet".
fn progress_line(progress: &Progress) -> String {
    if progress.sessions == 0 {
        return "not played yet".to_string();
    }
    let times = if progress.sessions == 1 {
        "once".to_string()
    } else {
        format!("{} times", progress.sessions)
    };
    let mut line = format!("played {times}, resolved {}", progress.resolved);
    if let (Some(best), Some(last)) = (progress.best_percent, progress.last_percent) {
        line.push_str(&format!(", best {best:.0}%, last {last:.0}%"));
    }
    if progress.cleared {
        line.push_str(" · cleared");
    }
    line
}

const COMPETENCY_COLORS: [Color32; 6] = [
    BLUE,
    AMBER,
    GREEN,
    Color32::from_rgb(0xb4, 0x8e, 0xf0),
    Color32::from_rgb(0x4c, 0xc9, 0xc9),
    Color32::from_rgb(0xf0, 0x7a, 0xb4),
];

/// The trainee's profile: each competency over all sessions, then plotted per session, then
/// the time to acknowledge and to mitigate per session.
fn profile(ui: &mut Ui, profile: &Profile) {
    if profile.sessions.is_empty() {
        ui.label(
            RichText::new("No scored session yet: play a scenario to start your profile.")
                .color(MUTED),
        );
        return;
    }
    let minutes = |s: Option<f64>| s.map_or("-".to_string(), |s| format!("{:.1} min", s / 60.0));
    ui.label(format!(
        "{} scored session(s) · mean time to acknowledge {} · mean time to mitigate {}",
        profile.sessions.len(),
        minutes(profile.mean_time_to_acknowledge_s),
        minutes(profile.mean_time_to_mitigate_s),
    ));
    ui.add_space(6.0);
    let weakest = profile.weakest().map(|(c, _)| c);
    egui::Grid::new("competencies")
        .num_columns(3)
        .spacing([12.0, 6.0])
        .show(ui, |ui| {
            for (competency, color) in Competency::ALL.iter().zip(COMPETENCY_COLORS) {
                let title = competency.title();
                ui.label(RichText::new(title).color(color));
                match profile.competencies.get(competency) {
                    Some(share) => {
                        ui.add(
                            egui::ProgressBar::new((*share / 100.0) as f32)
                                .desired_width(320.0)
                                .fill(color.gamma_multiply(0.7))
                                .text(format!("{share:.0}%")),
                        );
                        ui.label(if weakest == Some(*competency) {
                            RichText::new("weakest: practise it next").color(AMBER)
                        } else {
                            RichText::new("")
                        });
                    }
                    None => {
                        ui.label(RichText::new("not judged yet").color(MUTED));
                        ui.label("");
                    }
                }
                ui.end_row();
            }
        });
    ui.add_space(8.0);
    let width = (ui.available_width() / 2.0 - 12.0).max(200.0);
    let session_of = |x: f64| {
        let i = x.round() as usize;
        profile
            .sessions
            .get(i.saturating_sub(1))
            .filter(|_| i >= 1 && (x - i as f64).abs() < 0.01)
            .map_or(String::new(), |s| format!("#{i} {}", s.scenario))
    };
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            ui.set_width(width);
            ui.label(RichText::new("Competencies per session (%)").strong());
            Plot::new("competencies over sessions")
                .height(260.0)
                .width(width)
                .legend(Legend::default().position(egui_plot::Corner::LeftBottom))
                .allow_drag(false)
                .allow_zoom(false)
                .allow_scroll(false)
                .include_y(0.0)
                .include_y(100.0)
                .x_axis_formatter(move |mark, _| format!("#{:.0}", mark.value))
                .label_formatter(move |hover| match hover {
                    egui_plot::HoverPosition::NearDataPoint {
                        plot_name,
                        position,
                        ..
                    } => Some(format!(
                        "{plot_name}\n{}: {:.0}%",
                        session_of(position.x),
                        position.y
                    )),
                    egui_plot::HoverPosition::Elsewhere { .. } => None,
                })
                .show(ui, |plot| {
                    for (competency, color) in Competency::ALL.iter().zip(COMPETENCY_COLORS) {
                        let points: Vec<[f64; 2]> =
                            per_session(profile, |s| s.competencies.get(competency).copied());
                        if !points.is_empty() {
                            plot.line(Line::new(competency.title(), points).color(color));
                        }
                    }
                    let scores = per_session(profile, |s| Some(s.percent));
                    plot.line(
                        Line::new("score", scores)
                            .color(Color32::WHITE)
                            .style(egui_plot::LineStyle::dashed_loose()),
                    );
                });
        });
        ui.vertical(|ui| {
            ui.set_width(width);
            ui.label(RichText::new("Minutes to acknowledge and to mitigate").strong());
            Plot::new("response times over sessions")
                .height(260.0)
                .width(width)
                .legend(Legend::default())
                .allow_drag(false)
                .allow_zoom(false)
                .allow_scroll(false)
                .include_y(0.0)
                .x_axis_formatter(|mark, _| format!("#{:.0}", mark.value))
                .show(ui, |plot| {
                    let acknowledge =
                        per_session(profile, |s| s.time_to_acknowledge_s.map(|t| t / 60.0));
                    let mitigate = per_session(profile, |s| s.time_to_mitigate_s.map(|t| t / 60.0));
                    plot.line(Line::new("time to acknowledge", acknowledge).color(BLUE));
                    plot.line(Line::new("time to mitigate", mitigate).color(GREEN));
                });
        });
    });
    ui.add_space(8.0);
    ui.label(RichText::new("Sessions").strong());
    egui::Grid::new("profile sessions")
        .striped(true)
        .num_columns(6)
        .spacing([16.0, 2.0])
        .show(ui, |ui| {
            for heading in [
                "#",
                "finished (UTC)",
                "scenario",
                "score",
                "acknowledged in",
                "mitigated in",
            ] {
                ui.label(RichText::new(heading).color(MUTED));
            }
            ui.end_row();
            for (i, s) in profile.sessions.iter().enumerate().rev() {
                ui.label(format!("#{}", i + 1));
                ui.label(&s.finished_at);
                ui.label(&s.scenario);
                ui.label(format!("{:.0}%", s.percent));
                ui.label(minutes(s.time_to_acknowledge_s));
                ui.label(minutes(s.time_to_mitigate_s));
                ui.end_row();
            }
        });
}

/// One point per scored session that has the value, at x = the session's number (from 1).
fn per_session(
    profile: &Profile,
    value: impl Fn(&crate::history::ProfileSession) -> Option<f64>,
) -> Vec<[f64; 2]> {
    profile
        .sessions
        .iter()
        .enumerate()
        .filter_map(|(i, s)| Some([(i + 1) as f64, value(s)?]))
        .collect()
}
