//! `firedrill history`: the finished sessions, with their scores.

use std::path::{Path, PathBuf};

use super::{CliError, CliResult};
use crate::history::{History, Location, Trainee};
use crate::scoring::competency::Competency;

/// The history the flags name: the address, else the data folder's file.
pub fn location(url: Option<&str>, data_dir: Option<&Path>) -> Result<Location, CliError> {
    Location::choose(url, crate::history::data_dir(data_dir).as_deref()).ok_or_else(|| {
        CliError::usage(format!(
            "firedrill: no data folder: set {} or pass --data-dir (or --history-url)",
            crate::history::DATA_DIR_ENV
        ))
    })
}

#[derive(clap::Args, Debug)]
pub struct HistoryArgs {
    /// Only this scenario (its name, as in the scenario file).
    #[arg(long)]
    scenario: Option<String>,
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Read the PostgreSQL history a cohort shares instead (postgres://user:password@host/db).
    #[arg(long, env = crate::history::HISTORY_URL_ENV, value_name = "URL")]
    history_url: Option<String>,
    /// How to print the sessions: a table to read, or CSV or JSON to export (a spreadsheet,
    /// a training programme's records).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// One line per trainee instead of per session: sessions, scenarios, resolved, mean, best
    /// and latest score, each competency, and the mean times to acknowledge and to mitigate
    /// (a team session counts for each player in it).
    #[arg(long)]
    by_trainee: bool,
}

#[derive(clap::Args, Debug)]
pub struct AssignArgs {
    /// The trainee, by the name they play under (`--name`).
    #[arg(required_unless_present = "list")]
    trainee: Option<String>,
    /// The scenarios, by name (as in the scenario file).
    #[arg(required_unless_present = "list")]
    scenarios: Vec<String>,
    /// The mentor assigning them.
    #[arg(long, default_value = "mentor")]
    by: String,
    /// Take the assignments back instead.
    #[arg(long, conflicts_with = "list")]
    remove: bool,
    /// List the assignments (of TRAINEE, or everyone's).
    #[arg(long)]
    list: bool,
    /// The folder of scenarios the names are checked against (default `scenarios`).
    #[arg(long, value_name = "DIR")]
    scenarios_dir: Option<PathBuf>,
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[arg(long, env = crate::history::HISTORY_URL_ENV, value_name = "URL")]
    history_url: Option<String>,
}

pub fn exec_assign(args: AssignArgs) -> CliResult {
    let location = location(args.history_url.as_deref(), args.data_dir.as_deref())?;
    let fail = |error: String| CliError::invalid(format!("firedrill: {error}"));
    if args.list {
        let assignments = if location.is_empty_file() {
            Vec::new()
        } else {
            History::at(&location)
                .and_then(|mut h| h.assignments(args.trainee.as_deref()))
                .map_err(fail)?
        };
        for a in &assignments {
            println!(
                "{:<20} {:<24} by {:<16} {}",
                a.player, a.scenario, a.by, a.at
            );
        }
        println!(
            "{} assignment(s) in {}",
            assignments.len(),
            location.describe()
        );
        return Ok(());
    }
    let trainee = args.trainee.unwrap_or_default();
    crate::net::protocol::check_name("trainee", &trainee)
        .and(crate::net::protocol::check_name("mentor", &args.by))
        .map_err(|error| CliError::usage(format!("firedrill: {error}")))?;
    let dir = args
        .scenarios_dir
        .unwrap_or_else(|| PathBuf::from("scenarios"));
    let known: Vec<String> = crate::history::library(&dir, None, &trainee)
        .entries
        .into_iter()
        .filter(|e| e.error.is_none() && e.difficulty.is_some())
        .map(|e| e.name)
        .collect();
    if !args.remove {
        let names: Vec<&str> = known.iter().map(String::as_str).collect();
        if let Some(unknown) = args.scenarios.iter().find(|s| !names.contains(&s.as_str())) {
            return Err(CliError::usage(format!(
                "firedrill: no scored scenario named \"{unknown}\" in {}{}",
                dir.display(),
                crate::scenario::did_you_mean(unknown, &names)
                    .unwrap_or_else(|| " (see `firedrill library`, or pass --scenarios-dir)".into())
            )));
        }
    }
    let mut history = History::at(&location).map_err(fail)?;
    for scenario in &args.scenarios {
        if args.remove {
            let removed = history.unassign(&trainee, scenario).map_err(fail)?;
            println!(
                "{}",
                if removed {
                    format!("{scenario}: no longer assigned to {trainee}")
                } else {
                    format!("{scenario}: was not assigned to {trainee}")
                }
            );
        } else {
            history
                .assign(&crate::history::Assignment {
                    player: trainee.clone(),
                    scenario: scenario.clone(),
                    by: args.by.clone(),
                    at: crate::history::now_rfc3339(),
                })
                .map_err(fail)?;
            println!("{scenario}: assigned to {trainee} by {}", args.by);
        }
    }
    Ok(())
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
        history_url,
        format,
        by_trainee,
    } = args;
    let location = location(history_url.as_deref(), data_dir.as_deref())?;
    let sessions = if location.is_empty_file() {
        Vec::new()
    } else {
        History::at(&location)
            .and_then(|mut h| h.sessions(scenario.as_deref()))
            .map_err(|error| CliError::invalid(format!("firedrill: {error}")))?
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
        Format::Table if location.is_empty_file() => {
            println!("no sessions yet ({} does not exist)", location.describe());
        }
        Format::Table => print_table(&sessions, &location.describe()),
        Format::Csv => print!("{}", csv(&sessions)),
        Format::Json => println!("{}", json(&sessions)),
    }
    Ok(())
}

fn percent(value: Option<f64>) -> String {
    value.map_or("-".to_string(), |p| format!("{p:.0}%"))
}

/// The competencies' short names, as table columns.
const COMPETENCY_COLUMNS: [(&str, Competency); 6] = [
    ("detect", Competency::Detection),
    ("triage", Competency::Triage),
    ("mitig", Competency::Mitigation),
    ("diagn", Competency::Diagnosis),
    ("comms", Competency::Communication),
    ("learn", Competency::Learning),
];

fn minutes(seconds: Option<f64>) -> String {
    seconds.map_or("-".to_string(), |s| format!("{:.1}m", s / 60.0))
}

fn print_trainees(trainees: &[Trainee]) {
    let competencies: Vec<String> = COMPETENCY_COLUMNS
        .iter()
        .map(|(short, _)| format!("{short:>6}"))
        .collect();
    println!(
        "{:<20} {:>8} {:>9} {:>8} {:>6} {:>6} {:>6} {:>7} {} {:>6} {:>6}  last played (UTC)",
        "trainee",
        "sessions",
        "scenarios",
        "resolved",
        "mean",
        "best",
        "latest",
        "budget",
        competencies.join(" "),
        "tta",
        "ttm"
    );
    for t in trainees {
        let competencies: Vec<String> = COMPETENCY_COLUMNS
            .iter()
            .map(|(_, c)| format!("{:>6}", percent(t.competencies.get(c).copied())))
            .collect();
        println!(
            "{:<20} {:>8} {:>9} {:>8} {:>6} {:>6} {:>6} {:>6.1}% {} {:>6} {:>6}  {}",
            t.name,
            t.sessions,
            t.scenarios,
            t.resolved,
            percent(t.mean_percent),
            percent(t.best_percent),
            percent(t.last_percent),
            t.mean_budget_spent * 100.0,
            competencies.join(" "),
            minutes(t.mean_time_to_acknowledge_s),
            minutes(t.mean_time_to_mitigate_s),
            t.last_finished_at
        );
    }
    println!(
        "{} trainee(s); competencies in percent of their points: {}; tta, ttm = mean time to acknowledge, to mitigate",
        trainees.len(),
        COMPETENCY_COLUMNS
            .iter()
            .map(|(short, c)| format!("{short} = {}", c.title()))
            .collect::<Vec<_>>()
            .join(", ")
    );
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
            "detection_percent",
            "triage_percent",
            "mitigation_percent",
            "diagnosis_percent",
            "communication_percent",
            "learning_percent",
            "mean_time_to_acknowledge_s",
            "mean_time_to_mitigate_s",
            "last_finished_at",
        ],
        trainees.iter().map(|t| {
            let mut row = vec![
                t.name.clone(),
                t.sessions.to_string(),
                t.scenarios.to_string(),
                t.resolved.to_string(),
                number(t.mean_percent),
                number(t.best_percent),
                number(t.last_percent),
                t.mean_budget_spent.to_string(),
            ];
            row.extend(
                Competency::ALL
                    .iter()
                    .map(|c| number(t.competencies.get(c).copied())),
            );
            row.extend([
                number(t.mean_time_to_acknowledge_s),
                number(t.mean_time_to_mitigate_s),
                t.last_finished_at.clone(),
            ]);
            row
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

fn print_table(sessions: &[crate::history::Session], place: &str) {
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
    println!("{} session(s) in {place}", sessions.len());
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
            "time_to_acknowledge_s",
            "time_to_mitigate_s",
            "missed",
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
                number(s.time_to_acknowledge_s),
                number(s.time_to_mitigate_s),
                s.criteria
                    .iter()
                    .filter(|j| j.missed())
                    .map(|j| j.criterion.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
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
            ..Default::default()
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
            "2026-11-29T10:00:00Z,shop-incident,fnv1a64:00,7,\"ana, bo\",90,120,75,true,0.25,,,,"
        );
        assert_eq!(
            lines[2],
            "2026-11-29T10:00:00Z,shop-incident,fnv1a64:00,7,\"the \"\"ops\"\" one\",,120,,true,0.25,,,,"
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
