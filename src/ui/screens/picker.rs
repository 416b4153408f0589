//! The scenario picker: the library of scenarios, each with its difficulty, length and
//! briefing; a player joining someone's table waits here to be seated.

use bevy::prelude::*;
use bevy_egui::egui::{self, RichText, Ui};
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, EguiTextureHandle};

use super::{Screen, root, table_line};
use crate::net::Link;
use crate::scenario::Difficulty;
use crate::ui::Game;
use crate::ui::panels::{AMBER, GREEN, MUTED, RED, span};

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
        if let Some(i) = picker(ui, &game.library, emblem.map(|e| e.0)) {
            let path = game.library[i].path.clone();
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
    /// What the player has done on it so far, from the history.
    pub progress: crate::history::Progress,
}

/// The scenario picker; returns the entry chosen.
pub fn picker(
    ui: &mut Ui,
    library: &[LibraryEntry],
    emblem: Option<egui::TextureId>,
) -> Option<usize> {
    let mut chosen = None;
    ui.vertical_centered(|ui| {
        ui.add_space(16.0);
        if let Some(emblem) = emblem {
            ui.add(egui::Image::new((emblem, egui::vec2(56.0, 56.0))));
        }
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
                let played = entry.progress.sessions > 0;
                ui.label(
                    RichText::new(progress_line(&entry.progress))
                        .small()
                        .color(if played { GREEN } else { MUTED }),
                );
                if let Some(error) = &entry.error {
                    ui.label(RichText::new(error).color(RED).monospace().small());
                }
            });
        }
    });
    chosen
}

/// "played 3 times, resolved 2, best 92%, last 85%", or "not played yet".
fn progress_line(progress: &crate::history::Progress) -> String {
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
    line
}
