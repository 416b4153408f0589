//! Third-party plugins, one file each, so upgrading or replacing one touches one file.
//! (Team play's bevy_replicon and renet are set up in `net::link`, their only user.)

mod egui;

use bevy::prelude::*;

pub(super) fn plugin(app: &mut App) {
    app.add_plugins(egui::plugin);
}
