//! Action scripts: a RON list of timed commands, checked against the scenario with
//! located errors, like scenario files.

use crate::scenario::{
    Diagnostic, LoadError, Locator, Scenario, Seconds, Severity, check_extra_fault, ron_options,
    syntax_error,
};
use crate::sim::topology::Topology;

use super::Entry;

/// Parses a script without a fleet to check it against: its syntax and the commands'
/// fields only.
pub fn parse_script(file: &str, text: &str) -> Result<Vec<Entry>, LoadError> {
    ron_options()
        .from_str(text)
        .map_err(|error| syntax_error(file, text, &error, "docs/actions.md"))
}

/// Parses a script and checks every command against the scenario's fleet (an injected
/// fault as the scenario's own faults are); all problems are reported.
pub fn load_script(file: &str, text: &str, scenario: &Scenario) -> Result<Vec<Entry>, LoadError> {
    let actions = parse_script(file, text)?;
    let topology = &Topology::compile(scenario);
    let locator = Locator::new(text);
    let mut diagnostics = Vec::new();
    let mut problem = |path: String, message: String| {
        diagnostics.push(Diagnostic {
            severity: Severity::Error,
            file: file.to_string(),
            position: locator.find(&path),
            field: Some(path),
            message,
        });
    };
    for (i, action) in actions.iter().enumerate() {
        if action.at.get().is_nan() || action.at.get() < 0.0 {
            problem(
                format!("[{i}].at"),
                format!("the time cannot be negative (got {})", action.at),
            );
        }
        if action.at.get() > topology.duration {
            problem(
                format!("[{i}].at"),
                format!(
                    "{} is after the end of the run ({})",
                    action.at,
                    Seconds(topology.duration)
                ),
            );
        }
        if action.by.trim().is_empty() {
            problem(
                format!("[{i}].by"),
                "the player's name cannot be empty".to_string(),
            );
        }
        if let Err(message) = action.command.check(topology) {
            problem(format!("[{i}].do"), message);
        }
        if let Some(fault) = action.command.injected_fault(action.at.get()) {
            check_extra_fault(scenario, &format!("[{i}].do"), &fault)
                .into_iter()
                .filter(|p| p.severity == Severity::Error)
                .for_each(|p| problem(p.path, p.message));
        }
    }
    if diagnostics.is_empty() {
        Ok(actions)
    } else {
        Err(LoadError { diagnostics })
    }
}

/// Reads and checks the script at `path`.
pub fn load_script_file(
    path: &std::path::Path,
    scenario: &Scenario,
) -> Result<Vec<Entry>, LoadError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|error| LoadError::file(&file, &format!("cannot read the script: {error}")))?;
    load_script(&file, &text, scenario)
}
