//! firedrill: an incident simulation game engine for SRE training.
//!
//! A Bevy ECS simulates a fleet of services from a RON scenario; faults, SLOs, the
//! incident process and the game window build on this simulation.

pub mod authoring;
pub mod cli;
pub mod faults;
pub mod history;
pub mod incident;
pub mod net;
pub mod openmetrics;
pub mod remediation;
pub mod report;
pub mod scenario;
pub mod scoring;
pub mod sim;
pub mod slo;
#[cfg(feature = "gui")]
pub mod ui;

use bevy::prelude::*;

/// The engine without a window: scenario assets and the fleet simulation.
pub fn engine_plugin(app: &mut App) {
    app.add_plugins((
        scenario::plugin,
        sim::plugin,
        faults::plugin,
        remediation::plugin,
        slo::plugin,
        incident::plugin,
    ));
}
