//! Progress across sessions: every finished session's result in an SQLite database in the
//! user's data directory, so a trainee and a mentor can follow the scores per scenario.
//!
//! The database is a convenience: when it is missing, unwritable or corrupt, the session
//! says so and goes on; its journal is written separately and never depends on it.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, params};

/// The environment variable that moves the data directory.
pub const DATA_DIR_ENV: &str = "FIREDRILL_DATA_DIR";

/// Where firedrill keeps its history and journals: `$FIREDRILL_DATA_DIR`, else the
/// platform's user data directory (`$XDG_DATA_HOME/firedrill`,
/// `~/.local/share/firedrill`, `%APPDATA%\firedrill`).
pub fn data_dir(flag: Option<&Path>) -> Option<PathBuf> {
    if let Some(dir) = flag {
        return Some(dir.to_path_buf());
    }
    let env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env(DATA_DIR_ENV)
        .or_else(|| env("XDG_DATA_HOME").map(|d| d.join("firedrill")))
        .or_else(|| env("APPDATA").map(|d| d.join("firedrill")))
        .or_else(|| env("HOME").map(|d| d.join(".local/share/firedrill")))
}

/// One finished session.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Session {
    /// Wall-clock time the session finished, RFC 3339 (history only, never in reports).
    pub finished_at: String,
    pub scenario: String,
    pub scenario_hash: String,
    pub seed: u64,
    pub players: String,
    pub points: Option<f64>,
    pub max: Option<f64>,
    pub resolved: bool,
    /// Share of the error budget the incident burned, 0..1.
    pub budget_spent: f64,
    pub journal: Option<String>,
}

/// One trainee's sessions summed up: what a training lead follows across a cohort. A team
/// session counts for each player in it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Trainee {
    pub name: String,
    pub sessions: usize,
    /// Distinct scenarios played.
    pub scenarios: usize,
    /// Sessions that ended with the incident resolved.
    pub resolved: usize,
    /// Scores in percent, over the scored sessions: the mean, the best and the latest.
    pub mean_percent: Option<f64>,
    pub best_percent: Option<f64>,
    pub last_percent: Option<f64>,
    /// Mean share of the error budget the incidents burned.
    pub mean_budget_spent: f64,
    pub last_finished_at: String,
}

/// The trainees of `sessions` (in the order they finished), by name.
pub fn by_trainee(sessions: &[Session]) -> Vec<Trainee> {
    let mut names: Vec<&str> = sessions
        .iter()
        .flat_map(|s| s.players.split(','))
        .filter(|name| !name.is_empty())
        .collect();
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            let theirs: Vec<&Session> = sessions
                .iter()
                .filter(|s| s.players.split(',').any(|p| p == name))
                .collect();
            let percents: Vec<f64> = theirs.iter().filter_map(|s| s.percent()).collect();
            let mut scenarios: Vec<&str> = theirs.iter().map(|s| s.scenario.as_str()).collect();
            scenarios.sort_unstable();
            scenarios.dedup();
            let count = theirs.len();
            Trainee {
                name: name.to_string(),
                sessions: count,
                scenarios: scenarios.len(),
                resolved: theirs.iter().filter(|s| s.resolved).count(),
                mean_percent: (!percents.is_empty())
                    .then(|| percents.iter().sum::<f64>() / percents.len() as f64),
                best_percent: percents.iter().copied().reduce(f64::max),
                last_percent: percents.last().copied(),
                mean_budget_spent: theirs.iter().map(|s| s.budget_spent).sum::<f64>()
                    / count as f64,
                last_finished_at: theirs
                    .last()
                    .map_or(String::new(), |s| s.finished_at.clone()),
            }
        })
        .collect()
}

/// One player's record on one scenario, for the scenario picker.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Progress {
    pub sessions: usize,
    pub resolved: usize,
    /// Scores in percent, over the scored sessions: the best and the latest.
    pub best_percent: Option<f64>,
    pub last_percent: Option<f64>,
}

/// What `player` has done on each scenario (by name), from `sessions` in the order they
/// finished; a team session counts for each of its players.
pub fn progress_of(
    sessions: &[Session],
    player: &str,
) -> std::collections::BTreeMap<String, Progress> {
    let mut by_scenario = std::collections::BTreeMap::<String, Progress>::new();
    for session in sessions
        .iter()
        .filter(|s| s.players.split(',').any(|p| p == player))
    {
        let progress = by_scenario.entry(session.scenario.clone()).or_default();
        progress.sessions += 1;
        progress.resolved += usize::from(session.resolved);
        if let Some(percent) = session.percent() {
            progress.best_percent = Some(progress.best_percent.map_or(percent, |b| b.max(percent)));
            progress.last_percent = Some(percent);
        }
    }
    by_scenario
}

/// The history database.
pub struct History {
    connection: Connection,
}

impl History {
    /// Opens (creating if needed) the history at `path`.
    pub fn open(path: &Path) -> Result<Self, String> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("{}: cannot create the folder: {e}", dir.display()))?;
        }
        let fail = |e: rusqlite::Error| format!("{}: {e}", path.display());
        let connection = Connection::open(path).map_err(fail)?;
        connection
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS sessions (
                    id INTEGER PRIMARY KEY,
                    finished_at TEXT NOT NULL,
                    scenario TEXT NOT NULL,
                    scenario_hash TEXT NOT NULL,
                    seed INTEGER NOT NULL,
                    players TEXT NOT NULL,
                    points REAL,
                    max REAL,
                    resolved INTEGER NOT NULL,
                    budget_spent REAL NOT NULL,
                    journal TEXT
                );
                CREATE INDEX IF NOT EXISTS sessions_by_scenario ON sessions (scenario, id);",
            )
            .map_err(fail)?;
        Ok(Self { connection })
    }

    pub fn record(&self, session: &Session) -> Result<(), String> {
        self.connection
            .execute(
                "INSERT INTO sessions (finished_at, scenario, scenario_hash, seed, players, points, max, resolved, budget_spent, journal)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    session.finished_at,
                    session.scenario,
                    session.scenario_hash,
                    session.seed as i64,
                    session.players,
                    session.points,
                    session.max,
                    session.resolved,
                    session.budget_spent,
                    session.journal,
                ],
            )
            .map(|_| ())
            .map_err(|e| format!("cannot record the session: {e}"))
    }

    /// Sessions in the order they finished, of one scenario or all.
    pub fn sessions(&self, scenario: Option<&str>) -> Result<Vec<Session>, String> {
        let mut statement = self
            .connection
            .prepare(
                "SELECT finished_at, scenario, scenario_hash, seed, players, points, max, resolved, budget_spent, journal
                 FROM sessions WHERE ?1 IS NULL OR scenario = ?1 ORDER BY id",
            )
            .map_err(|e| format!("cannot read the history: {e}"))?;
        let rows = statement
            .query_map(params![scenario], |row| {
                Ok(Session {
                    finished_at: row.get(0)?,
                    scenario: row.get(1)?,
                    scenario_hash: row.get(2)?,
                    seed: row.get::<_, i64>(3)? as u64,
                    players: row.get(4)?,
                    points: row.get(5)?,
                    max: row.get(6)?,
                    resolved: row.get(7)?,
                    budget_spent: row.get(8)?,
                    journal: row.get(9)?,
                })
            })
            .map_err(|e| format!("cannot read the history: {e}"))?;
        rows.collect::<Result<_, _>>()
            .map_err(|e| format!("cannot read the history: {e}"))
    }
}

impl Session {
    /// The score as a share of the maximum, in percent, when the session was scored.
    pub fn percent(&self) -> Option<f64> {
        match (self.points, self.max) {
            (Some(points), Some(max)) if max > 0.0 => Some(points / max * 100.0),
            _ => None,
        }
    }

    /// A session that has just finished, as its timeline and score tell it.
    pub fn finished(
        header: &crate::incident::journal::Header,
        scenario: &str,
        timeline: &crate::incident::debrief::Timeline,
        score: Option<&crate::scoring::Score>,
        journal: Option<&Path>,
    ) -> Self {
        Self {
            finished_at: now_rfc3339(),
            scenario: scenario.to_string(),
            scenario_hash: header.scenario_hash.clone(),
            seed: header.seed,
            players: timeline.players().join(","),
            points: score.map(|s| s.points),
            max: score.map(|s| s.max),
            resolved: timeline.lifecycle.resolved_s.is_some(),
            budget_spent: timeline.incident_budget_spent(),
            journal: journal.map(|p| p.display().to_string()),
        }
    }
}

/// Records `session` in the history of `data_dir`.
pub fn record(data_dir: &Path, session: &Session) -> Result<(), String> {
    History::open(&database(data_dir)).and_then(|h| h.record(session))
}

/// The history file inside a data directory.
pub fn database(data_dir: &Path) -> PathBuf {
    data_dir.join("history.sqlite3")
}

/// Now, in UTC, as RFC 3339 (from the system clock, without a date library).
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn played(scenario: &str, players: &str, points: Option<f64>, resolved: bool) -> Session {
        Session {
            finished_at: String::new(),
            scenario: scenario.into(),
            scenario_hash: String::new(),
            seed: 1,
            players: players.into(),
            points,
            max: points.map(|_| 200.0),
            resolved,
            budget_spent: 0.0,
            journal: None,
        }
    }

    #[test]
    fn progress_counts_a_players_sessions_best_and_latest_score_per_scenario() {
        let sessions = [
            played("tutorial", "ana", Some(100.0), false),
            played("tutorial", "ana,bo", Some(180.0), true),
            played("tutorial", "ana", Some(150.0), true),
            played("tutorial", "bo", Some(200.0), true),
            played("sandbox", "ana", None, false),
        ];
        let ana = progress_of(&sessions, "ana");
        assert_eq!(
            ana["tutorial"],
            Progress {
                sessions: 3,
                resolved: 2,
                best_percent: Some(90.0),
                last_percent: Some(75.0),
            }
        );
        // A session without a score counts as played, with no score to show.
        assert_eq!(ana["sandbox"].sessions, 1);
        assert_eq!(ana["sandbox"].best_percent, None);
        assert!(progress_of(&sessions, "cy").is_empty());
    }

    #[test]
    fn dates_from_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        // 2000-02-29 (a leap day of a century leap year) is day 11,016.
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_783), (2026, 11, 26));
    }
}
