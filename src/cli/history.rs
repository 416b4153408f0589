//! `firedrill history`: the finished sessions, with their scores.

use std::path::PathBuf;

use super::{CliError, CliResult};
use crate::history::Trainee;

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
    /// One line per trainee instead of per session: sessions, scenarios, resolved, mean, best
    /// and latest score (a team session counts for each player in it).
    #[arg(long)]
    by_trainee: bool,
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
        by_trainee,
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
    if by_trainee {
        let trainees = crate::history::by_trainee(&sessions);
        match format {
            Format::Table => print_trainees(&trainees),
            Format::Csv => print!("{}", trainees_csv(&trainees)),
            Format::Json => println!(
                "{}",
                serde_json::to_string_pretty(&trainees).expect("trainees serialize")
            ),
        }
        return Ok(());
    }
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

fn percent(value: Option<f64>) -> String {
    value.map_or("-".to_string(), |p| format!("{p:.0}%"))
}

fn print_trainees(trainees: &[Trainee]) {
    println!(
        "{:<20} {:>8} {:>9} {:>8} {:>6} {:>6} {:>6} {:>7}  last played (UTC)",
        "trainee", "sessions", "scenarios", "resolved", "mean", "best", "latest", "budget"
    );
    for t in trainees {
        println!(
            "{:<20} {:>8} {:>9} {:>8} {:>6} {:>6} {:>6} {:>6.1}%  {}",
            t.name,
            t.sessions,
            t.scenarios,
            t.resolved,
            percent(t.mean_percent),
            percent(t.best_percent),
            percent(t.last_percent),
            t.mean_budget_spent * 100.0,
            t.last_finished_at
        );
    }
    println!("{} trainee(s)", trainees.len());
}

fn trainees_csv(trainees: &[Trainee]) -> String {
    let number = |value: Option<f64>| value.map_or(String::new(), |v| v.to_string());
    csv_table(
        &[
            "trainee",
            "sessions",
            "scenarios",
            "resolved",
            "mean_percent",
            "best_percent",
            "last_percent",
            "mean_budget_spent",
            "last_finished_at",
        ],
        trainees.iter().map(|t| {
            vec![
                t.name.clone(),
                t.sessions.to_string(),
                t.scenarios.to_string(),
                t.resolved.to_string(),
                number(t.mean_percent),
                number(t.best_percent),
                number(t.last_percent),
                t.mean_budget_spent.to_string(),
                t.last_finished_at.clone(),
            ]
        }),
    )
}

/// Rows as CSV (RFC 4180): a header line, fields quoted where they hold a comma, a quote or
/// a line break, lines ended by CRLF.
fn csv_table(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let field = |text: &str| {
        if text.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text.to_string()
        }
    };
    let mut out = header.join(",") + "\r\n";
    for row in rows {
        let fields: Vec<String> = row.iter().map(|f| field(f)).collect();
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
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

/// The sessions as CSV, an empty cell where a session has no score or journal.
fn csv(sessions: &[crate::history::Session]) -> String {
    let number = |value: Option<f64>| value.map_or(String::new(), |v| v.to_string());
    csv_table(
        &[
            "finished_at",
            "scenario",
            "scenario_hash",
            "seed",
            "players",
            "points",
            "max",
            "percent",
            "resolved",
            "budget_spent",
            "journal",
        ],
        sessions.iter().map(|s| {
            vec![
                s.finished_at.clone(),
                s.scenario.clone(),
                s.scenario_hash.clone(),
                s.seed.to_string(),
                s.players.clone(),
                number(s.points),
                number(s.max),
                number(s.percent()),
                s.resolved.to_string(),
                s.budget_spent.to_string(),
                s.journal.clone().unwrap_or_default(),
            ]
        }),
    )
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
    fn trainees_sum_up_their_own_sessions_and_team_sessions_count_for_each() {
        let mut sessions = vec![
            session("ana", Some(60.0)),
            session("ana,bo", Some(90.0)),
            session("", Some(12.0)),
            session("bo", None),
        ];
        sessions[3].scenario = "tutorial".into();
        sessions[3].resolved = false;
        let trainees = crate::history::by_trainee(&sessions);
        let names: Vec<&str> = trainees.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            ["ana", "bo"],
            "a session without players is nobody's"
        );
        let (ana, bo) = (&trainees[0], &trainees[1]);
        assert_eq!((ana.sessions, ana.scenarios, ana.resolved), (2, 1, 2));
        assert_eq!(ana.mean_percent, Some(62.5));
        assert_eq!(ana.best_percent, Some(75.0));
        assert_eq!(ana.last_percent, Some(75.0));
        assert_eq!((bo.sessions, bo.scenarios, bo.resolved), (2, 2, 1));
        // An unscored session counts as played, not as a score.
        assert_eq!(bo.mean_percent, Some(75.0));
        assert_eq!(bo.last_percent, Some(75.0));
        let text = trainees_csv(&trainees);
        assert!(text.starts_with("trainee,sessions,"), "{text}");
        assert_eq!(text.lines().count(), 3, "{text}");
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
