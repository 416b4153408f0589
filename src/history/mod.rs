//! Progress across sessions: every finished session's result in an SQLite database in the
//! user's data directory, so a trainee and a mentor can follow the scores per scenario.
//!
//! The database is a convenience: when it is missing, unwritable or corrupt, the session
//! says so and goes on; its journal is written separately and never depends on it.

mod library;
mod profile;
mod store;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use library::{Library, LibraryEntry, library};
pub use profile::{
    Candidate, PASS_PERCENT, Profile, ProfileSession, Recommendation, Why, competency_shares,
    profile, recommend,
};
pub use store::{History, Location};

use crate::scoring::competency::Competency;

/// The environment variable that moves the data directory.
pub const DATA_DIR_ENV: &str = "FIREDRILL_DATA_DIR";
/// The environment variable that sends the history to a shared PostgreSQL database.
pub const HISTORY_URL_ENV: &str = "FIREDRILL_HISTORY_URL";

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
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
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
    /// How long the first page waited for its acknowledgement.
    pub time_to_acknowledge_s: Option<f64>,
    /// From the alarm to the SLIs back within objective.
    pub time_to_mitigate_s: Option<f64>,
    /// Every line of the score, in order (none when unscored).
    pub criteria: Vec<Judged>,
}

/// One line of a recorded score.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Judged {
    /// The criterion's id (`scoring::CRITERIA`), or a penalty line's.
    pub criterion: String,
    pub points: f64,
    pub max: f64,
}

impl Judged {
    /// It could earn points and did not earn them all.
    pub fn missed(&self) -> bool {
        self.max > 0.0 && self.points < self.max - 0.05
    }
}

/// A scenario a mentor assigned to a trainee.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Assignment {
    pub player: String,
    pub scenario: String,
    /// The mentor.
    pub by: String,
    /// When, RFC 3339.
    pub at: String,
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
    /// Each competency's share of its points over every scored session, in percent (those
    /// no session judged are left out), as the trainee's profile shows them.
    pub competencies: BTreeMap<Competency, f64>,
    /// Mean time to acknowledge the first page, and to mitigate, over the scored sessions
    /// that did.
    pub mean_time_to_acknowledge_s: Option<f64>,
    pub mean_time_to_mitigate_s: Option<f64>,
    pub last_finished_at: String,
}

/// Whether `player` played in `session` (a team session counts for each of its players).
fn played_by(session: &Session, player: &str) -> bool {
    session.players.split(',').any(|p| p == player)
}

/// The mean of what there is, None when there is nothing.
fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0usize), |(sum, n), v| (sum + v, n + 1));
    (n > 0).then(|| sum / n as f64)
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
            let theirs: Vec<&Session> = sessions.iter().filter(|s| played_by(s, name)).collect();
            // Competencies and response times as the trainee's own profile shows them.
            let profile = profile(sessions, name);
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
                mean_percent: mean(percents.iter().copied()),
                best_percent: percents.iter().copied().reduce(f64::max),
                last_percent: percents.last().copied(),
                mean_budget_spent: theirs.iter().map(|s| s.budget_spent).sum::<f64>()
                    / count as f64,
                competencies: profile.competencies,
                mean_time_to_acknowledge_s: profile.mean_time_to_acknowledge_s,
                mean_time_to_mitigate_s: profile.mean_time_to_mitigate_s,
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
    /// Resolved at least once with at least [`PASS_PERCENT`]: the ladder's step is climbed.
    pub cleared: bool,
    /// The criteria missed (not all points earned), with how many sessions missed each,
    /// most often first.
    pub missed: Vec<(String, usize)>,
    /// Each competency's share in the latest scored session, in percent.
    pub last_competencies: BTreeMap<Competency, f64>,
}

impl Progress {
    /// The criteria most often missed, by title: "Communication (3x), Postmortem (1x)".
    pub fn most_missed(&self, how_many: usize) -> Vec<String> {
        self.missed
            .iter()
            .take(how_many)
            .map(|(id, n)| format!("{} ({n}x)", crate::scoring::criterion_title(id)))
            .collect()
    }
}

/// What `player` has done on each scenario (by name), from `sessions` in the order they
/// finished; a team session counts for each of its players.
pub fn progress_of(sessions: &[Session], player: &str) -> BTreeMap<String, Progress> {
    let mut by_scenario = BTreeMap::<String, Progress>::new();
    for session in sessions.iter().filter(|s| played_by(s, player)) {
        let progress = by_scenario.entry(session.scenario.clone()).or_default();
        progress.sessions += 1;
        progress.resolved += usize::from(session.resolved);
        if let Some(percent) = session.percent() {
            progress.best_percent = Some(progress.best_percent.map_or(percent, |b| b.max(percent)));
            progress.last_percent = Some(percent);
            progress.cleared |= session.resolved && percent >= PASS_PERCENT;
            progress.last_competencies = competency_shares(&session.criteria);
        }
        for judged in session.criteria.iter().filter(|j| j.missed()) {
            match progress
                .missed
                .iter_mut()
                .find(|(id, _)| *id == judged.criterion)
            {
                Some((_, n)) => *n += 1,
                None => progress.missed.push((judged.criterion.clone(), 1)),
            }
        }
    }
    for progress in by_scenario.values_mut() {
        // Most often first; a tie keeps the order the score lists them in.
        progress.missed.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    }
    by_scenario
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
            time_to_acknowledge_s: timeline.time_to_acknowledge(),
            time_to_mitigate_s: timeline.time_to_mitigate(),
            criteria: score.map_or_else(Vec::new, |s| {
                s.criteria
                    .iter()
                    .map(|c| Judged {
                        criterion: c.id.to_string(),
                        points: c.points,
                        max: c.max,
                    })
                    .collect()
            }),
        }
    }
}

/// Records `session` in the history at `location`.
pub fn record(location: &Location, session: &Session) -> Result<(), String> {
    History::at(location).and_then(|mut h| h.record(session))
}

/// Every session and assignment at `location`; an empty history when the file does not
/// exist yet.
pub fn read(
    location: &Location,
    player: Option<&str>,
) -> Result<(Vec<Session>, Vec<Assignment>), String> {
    if location.is_empty_file() {
        return Ok((Vec::new(), Vec::new()));
    }
    let mut history = History::at(location)?;
    Ok((history.sessions(None)?, history.assignments(player)?))
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
            ..Default::default()
        }
    }

    pub(super) fn judged(criterion: &str, points: f64, max: f64) -> Judged {
        Judged {
            criterion: criterion.into(),
            points,
            max,
        }
    }

    #[test]
    fn progress_counts_a_players_sessions_best_and_latest_score_per_scenario() {
        let mut sessions = [
            played("tutorial", "ana", Some(100.0), false),
            played("tutorial", "ana,bo", Some(180.0), true),
            played("tutorial", "ana", Some(150.0), true),
            played("tutorial", "bo", Some(200.0), true),
            played("sandbox", "ana", None, false),
        ];
        sessions[0].criteria = vec![
            judged("acknowledge", 0.0, 10.0),
            judged("communication", 5.0, 10.0),
            judged("hints", -4.0, 0.0),
        ];
        sessions[1].criteria = vec![
            judged("acknowledge", 10.0, 10.0),
            judged("communication", 2.0, 10.0),
        ];
        sessions[2].criteria = vec![
            judged("acknowledge", 10.0, 10.0),
            judged("communication", 10.0, 10.0),
            judged("postmortem", 2.5, 10.0),
            // Not applicable: nothing to miss.
            judged("handoff", 0.0, 0.0),
        ];
        let ana = progress_of(&sessions, "ana");
        let communication_and_learning = BTreeMap::from([
            (Competency::Detection, 100.0),
            (Competency::Communication, 100.0),
            (Competency::Learning, 25.0),
        ]);
        assert_eq!(
            ana["tutorial"],
            Progress {
                sessions: 3,
                resolved: 2,
                best_percent: Some(90.0),
                last_percent: Some(75.0),
                // 90% resolved is over the pass mark.
                cleared: true,
                missed: vec![
                    ("communication".into(), 2),
                    ("acknowledge".into(), 1),
                    ("postmortem".into(), 1)
                ],
                last_competencies: communication_and_learning,
            }
        );
        assert_eq!(
            ana["tutorial"].most_missed(2),
            ["Communication (2x)", "Acknowledge the page (1x)"]
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
