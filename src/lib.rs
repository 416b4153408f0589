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
pub mod session;
pub mod sim;
pub mod slo;
#[cfg(feature = "gui")]
pub mod ui;
