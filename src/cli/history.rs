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
    /// How to print the sessions: a table to read, or CSV or JSON to export (a spreadsheet,
    /// a training programme's records).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Table,
    Csv,
    Json,
}

pub fn exec(args: HistoryArgs) -> CliResult {
    let HistoryArgs {
        scenario,
        data_dir,
        format,
    } = args;
    let (scenario, data_dir) = (scenario.as_deref(), data_dir.as_deref());
    let Some(dir) = crate::history::data_dir(data_dir) else {
        return Err(CliError::usage(format!(
            "firedrill: no data folder: set {} or pass --data-dir",
            crate::history::DATA_DIR_ENV
        )));
    };
    let path = crate::history::database(&dir);
    let sessions = if path.is_file() {
        crate::history::History::open(&path)
            .and_then(|h| h.sessions(scenario))
            .map_err(|error| CliError::invalid(format!("firedrill: {error}")))?
    } else {
        Vec::new()
    };
    match format {
        Format::Table if !path.is_file() => {
            println!("no sessions yet ({} does not exist)", path.display());
        }
        Format::Table => print_table(&sessions, &path),
        Format::Csv => print!("{}", csv(&sessions)),
        Format::Json => println!("{}", json(&sessions)),
    }
    Ok(())
}

fn print_table(sessions: &[crate::history::Session], path: &std::path::Path) {
    println!(
        "{:<20}  {:<24} {:>6} {:>12} {:>8} {:>7}  players",
        "finished (UTC)", "scenario", "seed", "score", "resolved", "budget"
    );
    for s in sessions {
        let score = match (s.points, s.max, s.percent()) {
            (Some(p), Some(m), Some(percent)) => format!("{p:.0}/{m:.0} {percent:>3.0}%"),
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
}

/// The sessions as CSV (RFC 4180), a header line first; an empty cell where a session has no
/// score or journal.
fn csv(sessions: &[crate::history::Session]) -> String {
    let field = |text: &str| {
        if text.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text.to_string()
        }
    };
    let number = |value: Option<f64>| value.map_or(String::new(), |v| v.to_string());
    let mut out = String::from(
        "finished_at,scenario,scenario_hash,seed,players,points,max,percent,resolved,budget_spent,journal\r\n",
    );
    for s in sessions {
        let row = [
            field(&s.finished_at),
            field(&s.scenario),
            field(&s.scenario_hash),
            s.seed.to_string(),
            field(&s.players),
            number(s.points),
            number(s.max),
            number(s.percent()),
            s.resolved.to_string(),
            s.budget_spent.to_string(),
            field(s.journal.as_deref().unwrap_or("")),
        ];
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}

/// The sessions as a JSON array, one object per session with its percent beside its points.
fn json(sessions: &[crate::history::Session]) -> String {
    #[derive(serde::Serialize)]
    struct Row<'a> {
        #[serde(flatten)]
        session: &'a crate::history::Session,
        percent: Option<f64>,
    }
    let rows: Vec<Row> = sessions
        .iter()
        .map(|session| Row {
            session,
            percent: session.percent(),
        })
        .collect();
    serde_json::to_string_pretty(&rows).expect("sessions serialize")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Session;

    fn session(players: &str, points: Option<f64>) -> Session {
        Session {
            finished_at: "2026-11-29T10:00:00Z".into(),
            scenario: "shop-incident".into(),
            scenario_hash: "fnv1a64:00".into(),
            seed: 7,
            players: players.into(),
            points,
            max: Some(120.0),
            resolved: true,
            budget_spent: 0.25,
            journal: None,
        }
    }

    #[test]
    fn csv_quotes_what_needs_quoting_and_leaves_unscored_cells_empty() {
        let text = csv(&[
            session("ana, bo", Some(90.0)),
            session("the \"ops\" one", None),
        ]);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].starts_with("finished_at,scenario,"));
        assert_eq!(
            lines[1],
            "2026-11-29T10:00:00Z,shop-incident,fnv1a64:00,7,\"ana, bo\",90,120,75,true,0.25,"
        );
        assert_eq!(
            lines[2],
            "2026-11-29T10:00:00Z,shop-incident,fnv1a64:00,7,\"the \"\"ops\"\" one\",,120,,true,0.25,"
        );
        assert_eq!(lines[3], "");
    }

    #[test]
    fn json_carries_every_field_and_the_percent() {
        let value: serde_json::Value =
            serde_json::from_str(&json(&[session("ana", Some(90.0))])).unwrap();
        let row = &value[0];
        assert_eq!(row["players"], "ana");
        assert_eq!(row["points"], 90.0);
        assert_eq!(row["percent"], 75.0);
        assert_eq!(row["journal"], serde_json::Value::Null);
        assert_eq!(row["budget_spent"], 0.25);
    }
}
