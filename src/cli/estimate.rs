//! `firedrill estimate`: what a remediation would cost each SLO's budget, before anyone
//! commits to it.

use std::path::PathBuf;

use super::{CliError, CliResult, duration_arg, existing_scenario};
use crate::incident::load_script_file;
use crate::remediation::{Op, Remediation};
use crate::scenario::Seconds;
use crate::session::load_file;
use crate::sim::topology::Topology;

#[derive(clap::Args, Debug)]
pub struct EstimateArgs {
    /// The scenario file (.ron).
    scenario: PathBuf,
    /// The remediation, as in an action script: 'Rollback(service: "checkout")'.
    #[arg(long)]
    action: String,
    /// When it would be applied: "9m".
    #[arg(long, value_parser = duration_arg)]
    at: f64,
    /// How far ahead to compare.
    #[arg(long, value_parser = duration_arg, default_value = "5m")]
    horizon: f64,
    /// Remediations already taken (an action script).
    #[arg(long, value_name = "ACTIONS.ron")]
    script: Option<PathBuf>,
}

pub fn exec(args: EstimateArgs) -> CliResult {
    let EstimateArgs {
        scenario: path,
        action,
        at,
        horizon,
        script,
    } = args;
    existing_scenario(&path)?;
    let scenario = load_file(&path)?.scenario;
    let topology = Topology::compile(&scenario);
    let taken = match script {
        Some(script) => load_script_file(&script, &scenario)?,
        None => Vec::new(),
    };
    let candidate: Remediation =
        crate::scenario::ron_options()
            .from_str(&action)
            .map_err(|error| {
                CliError::usage(crate::scenario::syntax_error(
                    "--action",
                    &action,
                    &error,
                    "docs/actions.md",
                ))
            })?;
    Op::resolve(&candidate, &topology)
        .map_err(|message| CliError::usage(format!("firedrill: --action: {message}")))?;
    if scenario.slos.is_empty() {
        return Err(CliError::invalid(format!(
            "firedrill: {}: the scenario has no SLOs to spend",
            path.display()
        )));
    }
    println!(
        "{} at {}, over the next {}:",
        action,
        Seconds(at),
        Seconds(horizon)
    );
    for cost in crate::session::estimate(&scenario, &taken, &candidate, (at, horizon)) {
        println!(
            "  {}: {:.2}% of the budget with it, {:.2}% without",
            cost.slo,
            cost.with_action * 100.0,
            cost.without_action * 100.0
        );
    }
    Ok(())
}
