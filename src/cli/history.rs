//! `firedrill history`: the finished sessions, with their scores.

use std::path::PathBuf;

use super::{CliError, CliResult};

#[derive(clap::Args, Debug)]
pub struct HistoryArgs {
    /// Only this scenario (its name, as in the scenario file).
    #[arg(long)]
    scenario: Option<String>,
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

pub fn exec(args: HistoryArgs) -> CliResult {
    let HistoryArgs { scenario, data_dir } = args;
    let (scenario, data_dir) = (scenario.as_deref(), data_dir.as_deref());
    let Some(dir) = crate::history::data_dir(data_dir) else {
        return Err(CliError::usage(format!(
            "firedrill: no data folder: set {} or pass --data-dir",
            crate::history::DATA_DIR_ENV
        )));
    };
    let path = crate::history::database(&dir);
    if !path.is_file() {
        println!("no sessions yet ({} does not exist)", path.display());
        return Ok(());
    }
    let sessions = crate::history::History::open(&path)
        .and_then(|h| h.sessions(scenario))
        .map_err(|error| CliError::invalid(format!("firedrill: {error}")))?;
    println!(
        "{:<20}  {:<24} {:>6} {:>12} {:>8} {:>7}  players",
        "finished (UTC)", "scenario", "seed", "score", "resolved", "budget"
    );
    for s in &sessions {
        let score = match (s.points, s.max) {
            (Some(p), Some(m)) if m > 0.0 => format!("{p:.0}/{m:.0} {:>3.0}%", p / m * 100.0),
            _ => "-".to_string(),
        };
        println!(
            "{:<20}  {:<24} {:>6} {:>12} {:>8} {:>6.1}%  {}",
            s.finished_at,
            s.scenario,
            s.seed,
            score,
            if s.resolved { "yes" } else { "no" },
            s.budget_spent * 100.0,
            s.players
        );
    }
    println!("{} session(s) in {}", sessions.len(), path.display());
    Ok(())
}
