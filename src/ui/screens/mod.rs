//! The window's screens, one file and plugin each: the picker, the briefing, the control
//! room and the debrief. `Screen` is a Bevy state that follows the game (no session, a
//! briefing, a shift, its end), so the end of a shift is one `OnEnter(Screen::Debrief)`.

pub mod briefing;
pub mod control_room;
pub mod debrief;
pub mod picker;

use bevy::prelude::*;
use bevy_egui::egui;

use super::{Game, panels};
use crate::net::Link;

/// Which screen is up.
#[derive(States, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Screen {
    #[default]
    Picker,
    Briefing,
    Playing,
    Debrief,
}

pub(super) fn plugin(app: &mut App) {
    app.init_state::<Screen>()
        .add_systems(Update, follow_the_game)
        .add_plugins((
            picker::plugin,
            briefing::plugin,
            control_room::plugin,
            debrief::plugin,
        ));
}

/// Moves to the screen the game is on.
fn follow_the_game(
    game: NonSend<Game>,
    screen: Res<State<Screen>>,
    mut next: ResMut<NextState<Screen>>,
) {
    let wanted = game.screen();
    if *screen.get() != wanted {
        next.set(wanted);
    }
}

/// The window's whole area as an egui `Ui`, in the dark theme.
fn root(ctx: &mut egui::Context) -> egui::Ui {
    ctx.set_visuals(egui::Visuals::dark());
    egui::Ui::new(
        ctx.clone(),
        "firedrill".into(),
        egui::UiBuilder::new()
            .layer_id(egui::LayerId::background())
            .max_rect(ctx.viewport_rect()),
    )
}

/// Who is at the table, for the header: the host's address and code, or the player's seat.
fn table_line(game: &Game) -> Option<(String, egui::Color32)> {
    let roles = |name: &str| {
        game.session
            .as_ref()
            .and_then(|s| s.sim.incident().roles.get(name).copied())
            .map_or(String::new(), |role| format!(" ({role:?})"))
    };
    match &game.link {
        Link::Solo => None,
        Link::Host(hosting) => {
            let players: Vec<String> = hosting
                .present()
                .iter()
                .map(|name| format!("{name}{}", roles(name)))
                .collect();
            Some((
                format!(
                    "hosting at {} · session code {} · you are {}{} · players: {}",
                    hosting.addr,
                    hosting.code,
                    game.options.player,
                    roles(&game.options.player),
                    if players.is_empty() {
                        "none yet".to_string()
                    } else {
                        players.join(", ")
                    }
                ),
                panels::GREEN,
            ))
        }
        Link::Player(playing) => Some(match &playing.trouble {
            Some(trouble) => (trouble.clone(), panels::RED),
            None if playing.joined => (
                format!(
                    "at the table of {} as {}{}",
                    playing.host,
                    playing.name,
                    roles(&playing.name)
                ),
                panels::GREEN,
            ),
            None => (
                format!("joining {} as {}...", playing.host, playing.name),
                panels::AMBER,
            ),
        }),
    }
}
