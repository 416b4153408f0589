//! Scenario files: the RON format, and loading with located diagnostics.

mod duration;
mod edge;
mod format;
mod load;
mod locate;
mod validate;

pub use duration::MAX_TIME_S;
pub use duration::{Seconds, parse_duration};
pub use edge::Edge;
pub use format::*;
pub use load::{
    Diagnostic, Lint, LoadError, Loaded, load_file, load_file_with, load_str, load_str_with,
    ron_options, syntax_error,
};
pub use locate::{Locator, Position};
pub use validate::{
    MAX_DURATION_S, MAX_FLEET_INSTANCES, MAX_INSTANCES, MAX_MULTIPLIER, MAX_OFFERED_RPS, MAX_TICKS,
    MIN_TICK_S, Problem, Severity, check, check_extra_fault, closest, did_you_mean,
};
