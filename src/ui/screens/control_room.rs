//! The control room: the live incident. Header, pager and SLOs on the left, the map and
//! dashboards in the middle, actions and incident controls on the right, chat and logs below.

use bevy::prelude::*;
use bevy_egui::egui;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass};

use super::{Screen, root, table_line};
use crate::incident::{Command, View};
use crate::net::Link;
use crate::ui::model::{ControlRoom, Dashboard};
use crate::ui::{Desk, Game, game_master, panels};

pub(super) fn plugin(app: &mut App) {
    app.add_systems(
        EguiPrimaryContextPass,
        draw.run_if(in_state(Screen::Playing)),
    );
}

/// The control room's tabs in the lower panel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    Logs,
    Traces,
    Deploys,
    Commands,
}

fn draw(mut contexts: EguiContexts, mut game: NonSendMut<Game>, mut desk: ResMut<Desk>) -> Result {
    let mut root = root(contexts.ctx_mut()?);
    control_room(&mut root, &mut game, &mut desk);
    Ok(())
}

/// The live incident: header, pager and SLOs on the left, the map and dashboards in the
/// middle, actions and incident controls on the right, chat and logs below.
pub fn control_room(root: &mut egui::Ui, game: &mut Game, desk: &mut Desk) {
    desk.follow(game);
    let Some(session) = &game.session else {
        return;
    };
    let room = ControlRoom::of(&session.scenario, &session.sim);
    let mut issued: Vec<Command> = Vec::new();
    let table = table_line(game);
    let directing = session.sim.incident().roles.get(&game.options.player)
        == Some(&crate::incident::Role::GameMaster);
    egui::Panel::top("header").show(root, |ui| {
        let speed = if matches!(game.link, Link::Player(_)) {
            Err(game.speed)
        } else {
            Ok(&mut game.speed)
        };
        panels::top_bar(ui, &room, speed);
        if let Some((text, color)) = table {
            ui.label(egui::RichText::new(text).color(color));
        }
        if let Some(error) = &game.reload_error {
            ui.label(
                egui::RichText::new(format!(
                    "scenario file has errors; the last good version keeps running:\n{error}"
                ))
                .color(panels::RED)
                .monospace()
                .small(),
            );
        }
        if let Some(notice) = &game.notice {
            ui.label(egui::RichText::new(notice).color(panels::AMBER).small());
        }
    });
    egui::Panel::left("left")
        .default_size(330.0)
        .show(root, |ui| {
            ui.horizontal(|ui| {
                ui.heading("Pager");
                sound_toggle(ui, game.options.mute, &mut game.muted);
            });
            issued.extend(panels::pager(ui, &room.pages, room.now_s));
            ui.separator();
            ui.heading("SLOs");
            egui::ScrollArea::vertical().id_salt("slos").show(ui, |ui| {
                issued.extend(panels::slo_panel(ui, &room.slos));
            });
        });
    egui::Panel::right("right")
        .default_size(340.0)
        .show(root, |ui| {
            egui::ScrollArea::vertical()
                .id_salt("right-scroll")
                .show(ui, |ui| {
                    if directing {
                        ui.heading("Game master");
                        issued.extend(game_master::panel(
                            ui,
                            &mut desk.game_master_form,
                            &session.scenario,
                            (&session.sim, session.issued(), &game.options.player),
                        ));
                        return;
                    }
                    ui.heading("Act");
                    issued.extend(panels::actions(ui, &mut desk.action_form, &room));
                    let incident = session.sim.incident();
                    let mine = incident
                        .estimates
                        .iter()
                        .rev()
                        .find(|e| e.by == game.options.player);
                    let left = incident
                        .truth
                        .as_ref()
                        .and_then(|t| t.estimates.limit)
                        .map(|limit| (limit as usize).saturating_sub(incident.estimates.len()));
                    if let Some(remediation) = panels::estimate(ui, &desk.action_form, mine, left) {
                        issued.push(Command::Estimate(remediation));
                    }
                    ui.separator();
                    ui.heading("Incident");
                    issued.extend(panels::incident_controls(
                        ui,
                        &mut desk.incident_form,
                        &room,
                    ));
                });
        });
    egui::Panel::bottom("bottom")
        .default_size(260.0)
        .min_size(200.0)
        .resizable(true)
        .show(root, |ui| {
            ui.set_min_height(ui.available_height());
            ui.columns(2, |columns| {
                columns[0].heading("Chat");
                panels::chat(&mut columns[0], &room.chat);
                let ui = &mut columns[1];
                ui.horizontal(|ui| {
                    for (tab, label) in [
                        (Tab::Logs, "Logs"),
                        (Tab::Traces, "Traces"),
                        (Tab::Deploys, "Deploys"),
                        (Tab::Commands, "Commands"),
                    ] {
                        if ui.selectable_label(desk.tab == tab, label).clicked() {
                            desk.tab = tab;
                            if tab == Tab::Deploys {
                                issued.push(Command::Look(View::Deploys));
                            }
                        }
                    }
                });
                let names: Vec<String> = room.services.iter().map(|s| s.name.clone()).collect();
                match desk.tab {
                    Tab::Logs => {
                        let lines = desk
                            .log_filter
                            .service
                            .map(|s| session.sim.log_lines(s, 200))
                            .unwrap_or_default();
                        issued.extend(panels::logs(ui, &names, &lines, &mut desk.log_filter));
                    }
                    Tab::Traces => {
                        egui::ScrollArea::vertical()
                            .id_salt("traces")
                            .show(ui, |ui| {
                                for trace in session.sim.slowest_traces(3) {
                                    ui.label(egui::RichText::new(trace).monospace().small());
                                }
                            });
                    }
                    Tab::Deploys => panels::deploy_history(ui, &room.deploys),
                    Tab::Commands => panels::command_log(ui, &room.records, directing),
                }
            });
        });
    egui::CentralPanel::default().show(root, |ui| {
        ui.heading("Service map");
        issued.extend(panels::service_map(ui, &room, &mut desk.selected));
        ui.separator();
        match desk.selected {
            Some(s) => {
                let dashboard = Dashboard::of(&session.scenario, &session.sim, s, desk.range);
                issued.extend(panels::dashboard(
                    ui,
                    &room.services[s].name,
                    &dashboard,
                    &mut desk.range,
                ));
            }
            None => {
                ui.label(
                    egui::RichText::new("Click a service to open its dashboard.")
                        .color(panels::MUTED),
                );
            }
        }
    });
    for command in issued {
        if let Command::Look(View::Logs(service)) = &command {
            desk.log_filter.service = room.service(service);
            desk.tab = Tab::Logs;
        }
        if let Command::Look(View::Traces(_)) = &command {
            desk.tab = Tab::Traces;
        }
        match command {
            Command::EndShift => {
                game.end_shift();
                return;
            }
            Command::Pause => {
                if game.speed > 0.0 {
                    desk.game_master_form.resume_speed = game.speed;
                }
                game.speed = 0.0;
            }
            Command::Resume => game.speed = desk.game_master_form.resume_speed,
            _ => {}
        }
        game.issue(command);
    }
    // Picking a speed while paused for discussion ends the pause, on the record too.
    if directing && game.speed > 0.0 && game_master::talking(game.issued(), &game.options.player) {
        game.issue(Command::Resume);
    }
}

/// The pager's sound, on or off; off for good with `--mute`.
fn sound_toggle(ui: &mut egui::Ui, mute: bool, muted: &mut bool) {
    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
        if mute {
            ui.add_enabled(false, egui::Button::new("sound off (--mute)"));
        } else {
            let label = if *muted { "sound: off" } else { "sound: on" };
            if ui
                .button(label)
                .on_hover_text("The pager chirps when a page opens and when one escalates")
                .clicked()
            {
                *muted = !*muted;
            }
        }
    });
}
