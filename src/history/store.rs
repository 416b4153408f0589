//! Where the history is kept: an SQLite file in the data folder (the default), or a
//! PostgreSQL database a cohort shares (`--history-url postgres://...`). Both hold the same
//! tables, created or migrated on first use, and run the same statements.

use std::path::{Path, PathBuf};

use super::{Assignment, Judged, Session};

/// Where a history is: a file, or a PostgreSQL server's address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    File(PathBuf),
    Url(String),
}

impl Location {
    /// The address given (`--history-url`, else `$FIREDRILL_HISTORY_URL`), else the file in
    /// the data folder; None without either.
    pub fn choose(url: Option<&str>, data_dir: Option<&Path>) -> Option<Location> {
        url.filter(|u| !u.is_empty())
            .map(|u| Location::Url(u.to_string()))
            .or_else(|| data_dir.map(|dir| Location::File(super::database(dir))))
    }

    /// How messages name it: the file's path, or the server without its user and password
    /// (in a URL, or a `key=value` connection string).
    pub fn describe(&self) -> String {
        match self {
            Location::File(path) => path.display().to_string(),
            Location::Url(url) => match (url.split_once("://"), url.rsplit_once('@')) {
                (Some((scheme, _)), Some((_, place))) => format!("{scheme}://{place}"),
                (Some(_), None) => url.clone(),
                (None, _) => url
                    .split_whitespace()
                    .map(|pair| match pair.split_once('=') {
                        Some(("password", _)) => "password=***",
                        _ => pair,
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
            },
        }
    }

    /// A file that does not exist yet holds no history (reading it should not create it).
    pub fn is_empty_file(&self) -> bool {
        matches!(self, Location::File(path) if !path.is_file())
    }
}

/// A value bound to or read from a statement, the same for both databases.
#[derive(Clone, Debug, PartialEq)]
enum Value {
    Text(Option<String>),
    Real(Option<f64>),
    Int(i64),
    Bool(bool),
}

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Real,
    Int,
    Bool,
}

impl Value {
    fn text(self) -> String {
        match self {
            Value::Text(t) => t.unwrap_or_default(),
            other => unreachable!("a text column read as {other:?}"),
        }
    }
    fn optional_text(self) -> Option<String> {
        match self {
            Value::Text(t) => t,
            other => unreachable!("a text column read as {other:?}"),
        }
    }
    fn real(self) -> Option<f64> {
        match self {
            Value::Real(r) => r,
            other => unreachable!("a real column read as {other:?}"),
        }
    }
    fn int(self) -> i64 {
        match self {
            Value::Int(i) => i,
            other => unreachable!("an integer column read as {other:?}"),
        }
    }
    fn bool(self) -> bool {
        match self {
            Value::Bool(b) => b,
            other => unreachable!("a boolean column read as {other:?}"),
        }
    }
}

fn text(s: &str) -> Value {
    Value::Text(Some(s.to_string()))
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Value::Text(t) => t.to_sql(),
            Value::Real(r) => r.to_sql(),
            Value::Int(i) => i.to_sql(),
            Value::Bool(b) => b.to_sql(),
        }
    }
}

#[cfg(feature = "postgres")]
impl postgres::types::ToSql for Value {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Text(t) => t.to_sql(ty, out),
            Value::Real(r) => r.to_sql(ty, out),
            Value::Int(i) => i.to_sql(ty, out),
            Value::Bool(b) => b.to_sql(ty, out),
        }
    }

    fn accepts(ty: &postgres::types::Type) -> bool {
        <String as postgres::types::ToSql>::accepts(ty)
            || <f64 as postgres::types::ToSql>::accepts(ty)
            || <i64 as postgres::types::ToSql>::accepts(ty)
            || <bool as postgres::types::ToSql>::accepts(ty)
    }

    postgres::types::to_sql_checked!();
}

enum Store {
    Sqlite(rusqlite::Connection),
    #[cfg(feature = "postgres")]
    Postgres(postgres::Client),
}

/// The history database.
pub struct History {
    store: Store,
}

// The statements both databases run. Parameters are `$n`, which SQLite numbers in order.
const INSERT_SESSION: &str = "INSERT INTO sessions (finished_at, scenario, scenario_hash, seed, players, points, max, resolved, budget_spent, journal, time_to_acknowledge_s, time_to_mitigate_s)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id";
const INSERT_CRITERION: &str =
    "INSERT INTO criteria (session, position, criterion, points, max) VALUES ($1, $2, $3, $4, $5)";
const SELECT_SESSIONS: &str = "SELECT id, finished_at, scenario, scenario_hash, seed, players, points, max, resolved, budget_spent, journal, time_to_acknowledge_s, time_to_mitigate_s
     FROM sessions WHERE CAST($1 AS TEXT) IS NULL OR scenario = $1 ORDER BY id";
const SESSION_COLUMNS: &[Kind] = &[
    Kind::Int,
    Kind::Text,
    Kind::Text,
    Kind::Text,
    Kind::Int,
    Kind::Text,
    Kind::Real,
    Kind::Real,
    Kind::Bool,
    Kind::Real,
    Kind::Text,
    Kind::Real,
    Kind::Real,
];
const SELECT_CRITERIA: &str = "SELECT session, criterion, points, max FROM criteria
     WHERE session IN (SELECT id FROM sessions WHERE CAST($1 AS TEXT) IS NULL OR scenario = $1)
     ORDER BY session, position";
const ASSIGN: &str = "INSERT INTO assignments (player, scenario, assigned_by, assigned_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (player, scenario) DO UPDATE SET assigned_by = excluded.assigned_by, assigned_at = excluded.assigned_at";
const UNASSIGN: &str = "DELETE FROM assignments WHERE player = $1 AND scenario = $2";
const SELECT_ASSIGNMENTS: &str =
    "SELECT player, scenario, assigned_by, assigned_at FROM assignments
     WHERE CAST($1 AS TEXT) IS NULL OR player = $1 ORDER BY assigned_at, player, scenario";

/// The column types each database spells its own way.
struct Types {
    id: &'static str,
    int: &'static str,
    real: &'static str,
    bool: &'static str,
}

const SQLITE: Types = Types {
    id: "INTEGER PRIMARY KEY",
    int: "INTEGER",
    real: "REAL",
    bool: "INTEGER",
};

#[cfg(feature = "postgres")]
const POSTGRES: Types = Types {
    id: "BIGSERIAL PRIMARY KEY",
    int: "BIGINT",
    real: "DOUBLE PRECISION",
    bool: "BOOLEAN",
};

/// Columns added to `sessions` since the first schema, all of the `real` type: an older
/// history gains them on first use.
const ADDED_SESSION_COLUMNS: &[&str] = &["time_to_acknowledge_s", "time_to_mitigate_s"];

/// The tables of the first schema and those added since, in `types`.
fn schema(types: &Types) -> String {
    let Types {
        id,
        int,
        real,
        bool,
    } = types;
    format!(
        "CREATE TABLE IF NOT EXISTS sessions (
            id {id},
            finished_at TEXT NOT NULL,
            scenario TEXT NOT NULL,
            scenario_hash TEXT NOT NULL,
            seed {int} NOT NULL,
            players TEXT NOT NULL,
            points {real},
            max {real},
            resolved {bool} NOT NULL,
            budget_spent {real} NOT NULL,
            journal TEXT
        );
        CREATE INDEX IF NOT EXISTS sessions_by_scenario ON sessions (scenario, id);
        CREATE TABLE IF NOT EXISTS criteria (
            session {int} NOT NULL REFERENCES sessions (id),
            position {int} NOT NULL,
            criterion TEXT NOT NULL,
            points {real} NOT NULL,
            max {real} NOT NULL
        );
        CREATE INDEX IF NOT EXISTS criteria_by_session ON criteria (session, position);
        CREATE TABLE IF NOT EXISTS assignments (
            player TEXT NOT NULL,
            scenario TEXT NOT NULL,
            assigned_by TEXT NOT NULL,
            assigned_at TEXT NOT NULL,
            PRIMARY KEY (player, scenario)
        );"
    )
}

/// How long to wait for a PostgreSQL server that does not answer, unless the address says.
#[cfg(feature = "postgres")]
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

impl History {
    /// Opens the history at `location`, creating or migrating its tables.
    pub fn at(location: &Location) -> Result<Self, String> {
        match location {
            Location::File(path) => Self::open(path),
            Location::Url(url) => Self::connect(url),
        }
    }

    /// Opens (creating if needed) the SQLite history at `path`.
    pub fn open(path: &Path) -> Result<Self, String> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("{}: cannot create the folder: {e}", dir.display()))?;
        }
        let fail = |e: rusqlite::Error| format!("{}: {e}", path.display());
        let connection = rusqlite::Connection::open(path).map_err(fail)?;
        connection.execute_batch(&schema(&SQLITE)).map_err(fail)?;
        let present: Vec<String> = connection
            .prepare("SELECT name FROM pragma_table_info('sessions')")
            .and_then(|mut s| s.query_map([], |row| row.get(0))?.collect())
            .map_err(fail)?;
        for column in ADDED_SESSION_COLUMNS {
            if !present.iter().any(|p| p == column) {
                connection
                    .execute_batch(&format!(
                        "ALTER TABLE sessions ADD COLUMN {column} {}",
                        SQLITE.real
                    ))
                    .map_err(fail)?;
            }
        }
        Ok(Self {
            store: Store::Sqlite(connection),
        })
    }

    /// Connects to the PostgreSQL history at `url`, creating or migrating its tables (under
    /// a lock, so two laptops starting at once do not race).
    #[cfg(feature = "postgres")]
    pub fn connect(url: &str) -> Result<Self, String> {
        let place = Location::Url(url.to_string()).describe();
        let fail = |e: postgres::Error| format!("{place}: {}", with_causes(&e));
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e| format!("{place}: not a PostgreSQL address ({e})"))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let mut client = config.connect(postgres::NoTls).map_err(fail)?;
        let mut migration = client.transaction().map_err(fail)?;
        // Any fixed key: firedrill's own schema lock.
        migration
            .batch_execute("SELECT pg_advisory_xact_lock(7261)")
            .map_err(fail)?;
        migration.batch_execute(&schema(&POSTGRES)).map_err(fail)?;
        for column in ADDED_SESSION_COLUMNS {
            migration
                .batch_execute(&format!(
                    "ALTER TABLE sessions ADD COLUMN IF NOT EXISTS {column} {}",
                    POSTGRES.real
                ))
                .map_err(fail)?;
        }
        migration.commit().map_err(fail)?;
        Ok(Self {
            store: Store::Postgres(client),
        })
    }

    #[cfg(not(feature = "postgres"))]
    pub fn connect(url: &str) -> Result<Self, String> {
        Err(format!(
            "{}: this build has no PostgreSQL support (build with the `postgres` feature)",
            Location::Url(url.to_string()).describe()
        ))
    }

    /// Records a finished session and its criteria, all or nothing.
    pub fn record(&mut self, session: &Session) -> Result<(), String> {
        let fail = |e: String| format!("cannot record the session: {e}");
        self.batch("BEGIN").map_err(fail)?;
        let written = self.insert(session);
        let ended = match &written {
            Ok(()) => self.batch("COMMIT"),
            Err(_) => self.batch("ROLLBACK"),
        };
        written.and(ended).map_err(fail)
    }

    fn insert(&mut self, s: &Session) -> Result<(), String> {
        let rows = self.query(
            INSERT_SESSION,
            &[
                text(&s.finished_at),
                text(&s.scenario),
                text(&s.scenario_hash),
                Value::Int(s.seed as i64),
                text(&s.players),
                Value::Real(s.points),
                Value::Real(s.max),
                Value::Bool(s.resolved),
                Value::Real(Some(s.budget_spent)),
                Value::Text(s.journal.clone()),
                Value::Real(s.time_to_acknowledge_s),
                Value::Real(s.time_to_mitigate_s),
            ],
            &[Kind::Int],
        )?;
        let id = rows
            .into_iter()
            .next()
            .and_then(|row| row.into_iter().next())
            .ok_or("the database returned no id")?;
        for (position, judged) in s.criteria.iter().enumerate() {
            self.execute(
                INSERT_CRITERION,
                &[
                    id.clone(),
                    Value::Int(position as i64),
                    text(&judged.criterion),
                    Value::Real(Some(judged.points)),
                    Value::Real(Some(judged.max)),
                ],
            )?;
        }
        Ok(())
    }

    /// Sessions in the order they finished, of one scenario or all, with their criteria.
    pub fn sessions(&mut self, scenario: Option<&str>) -> Result<Vec<Session>, String> {
        let fail = |e: String| format!("cannot read the history: {e}");
        let filter = [Value::Text(scenario.map(str::to_string))];
        let rows = self
            .query(SELECT_SESSIONS, &filter, SESSION_COLUMNS)
            .map_err(fail)?;
        let criteria = self
            .query(
                SELECT_CRITERIA,
                &filter,
                &[Kind::Int, Kind::Text, Kind::Real, Kind::Real],
            )
            .map_err(fail)?;
        let mut by_session = std::collections::BTreeMap::<i64, Vec<Judged>>::new();
        for row in criteria {
            let mut v = row.into_iter();
            by_session
                .entry(v.next().expect("session").int())
                .or_default()
                .push(Judged {
                    criterion: v.next().expect("criterion").text(),
                    points: v.next().expect("points").real().unwrap_or(0.0),
                    max: v.next().expect("max").real().unwrap_or(0.0),
                });
        }
        let sessions = rows
            .into_iter()
            .map(|row| {
                let mut v = row.into_iter();
                let id = v.next().expect("id").int();
                Session {
                    finished_at: v.next().expect("finished_at").text(),
                    scenario: v.next().expect("scenario").text(),
                    scenario_hash: v.next().expect("scenario_hash").text(),
                    seed: v.next().expect("seed").int() as u64,
                    players: v.next().expect("players").text(),
                    points: v.next().expect("points").real(),
                    max: v.next().expect("max").real(),
                    resolved: v.next().expect("resolved").bool(),
                    budget_spent: v.next().expect("budget_spent").real().unwrap_or(0.0),
                    journal: v.next().expect("journal").optional_text(),
                    time_to_acknowledge_s: v.next().expect("time_to_acknowledge_s").real(),
                    time_to_mitigate_s: v.next().expect("time_to_mitigate_s").real(),
                    criteria: by_session.remove(&id).unwrap_or_default(),
                }
            })
            .collect();
        Ok(sessions)
    }

    /// Marks `assignment.scenario` as assigned to `assignment.player` (again: the latest
    /// mentor and time stand).
    pub fn assign(&mut self, assignment: &Assignment) -> Result<(), String> {
        self.execute(
            ASSIGN,
            &[
                text(&assignment.player),
                text(&assignment.scenario),
                text(&assignment.by),
                text(&assignment.at),
            ],
        )
        .map_err(|e| format!("cannot record the assignment: {e}"))
    }

    /// Takes an assignment back; false when there was none.
    pub fn unassign(&mut self, player: &str, scenario: &str) -> Result<bool, String> {
        self.execute_count(UNASSIGN, &[text(player), text(scenario)])
            .map(|n| n > 0)
            .map_err(|e| format!("cannot remove the assignment: {e}"))
    }

    /// The assignments of one player or all, oldest first.
    pub fn assignments(&mut self, player: Option<&str>) -> Result<Vec<Assignment>, String> {
        let rows = self
            .query(
                SELECT_ASSIGNMENTS,
                &[Value::Text(player.map(str::to_string))],
                &[Kind::Text; 4],
            )
            .map_err(|e| format!("cannot read the assignments: {e}"))?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let mut v = row.into_iter().map(Value::text);
                Assignment {
                    player: v.next().expect("player"),
                    scenario: v.next().expect("scenario"),
                    by: v.next().expect("assigned_by"),
                    at: v.next().expect("assigned_at"),
                }
            })
            .collect())
    }

    fn batch(&mut self, sql: &str) -> Result<(), String> {
        match &mut self.store {
            Store::Sqlite(c) => c.execute_batch(sql).map_err(|e| e.to_string()),
            #[cfg(feature = "postgres")]
            Store::Postgres(c) => c.batch_execute(sql).map_err(|e| with_causes(&e)),
        }
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<(), String> {
        self.execute_count(sql, params).map(|_| ())
    }

    fn execute_count(&mut self, sql: &str, params: &[Value]) -> Result<u64, String> {
        match &mut self.store {
            Store::Sqlite(c) => c
                .execute(sql, rusqlite::params_from_iter(params))
                .map(|n| n as u64)
                .map_err(|e| e.to_string()),
            #[cfg(feature = "postgres")]
            Store::Postgres(c) => c
                .execute(sql, &postgres_params(params))
                .map_err(|e| with_causes(&e)),
        }
    }

    fn query(
        &mut self,
        sql: &str,
        params: &[Value],
        columns: &[Kind],
    ) -> Result<Vec<Vec<Value>>, String> {
        match &mut self.store {
            Store::Sqlite(c) => {
                let mut statement = c.prepare(sql).map_err(|e| e.to_string())?;
                let rows = statement
                    .query_map(rusqlite::params_from_iter(params), |row| {
                        columns
                            .iter()
                            .enumerate()
                            .map(|(i, kind)| {
                                Ok(match kind {
                                    Kind::Text => Value::Text(row.get(i)?),
                                    Kind::Real => Value::Real(row.get(i)?),
                                    Kind::Int => Value::Int(row.get(i)?),
                                    Kind::Bool => Value::Bool(row.get(i)?),
                                })
                            })
                            .collect::<rusqlite::Result<Vec<Value>>>()
                    })
                    .map_err(|e| e.to_string())?;
                rows.collect::<Result<_, _>>().map_err(|e| e.to_string())
            }
            #[cfg(feature = "postgres")]
            Store::Postgres(c) => {
                let rows = c
                    .query(sql, &postgres_params(params))
                    .map_err(|e| with_causes(&e))?;
                rows.iter()
                    .map(|row| {
                        columns
                            .iter()
                            .enumerate()
                            .map(|(i, kind)| {
                                Ok(match kind {
                                    Kind::Text => Value::Text(row.try_get(i)?),
                                    Kind::Real => Value::Real(row.try_get(i)?),
                                    Kind::Int => Value::Int(row.try_get(i)?),
                                    Kind::Bool => Value::Bool(row.try_get(i)?),
                                })
                            })
                            .collect::<Result<Vec<Value>, postgres::Error>>()
                            .map_err(|e| with_causes(&e))
                    })
                    .collect()
            }
        }
    }
}

/// An error with what caused it ("error connecting to server: Connection refused"): the
/// PostgreSQL client's own message leaves the cause to its source.
#[cfg(feature = "postgres")]
fn with_causes(error: &postgres::Error) -> String {
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(inner) = cause {
        let said = inner.to_string();
        if !text.contains(&said) {
            text.push_str(&format!(": {said}"));
        }
        cause = inner.source();
    }
    text
}

#[cfg(feature = "postgres")]
fn postgres_params(params: &[Value]) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
    params
        .iter()
        .map(|p| p as &(dyn postgres::types::ToSql + Sync))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_server_without_its_password() {
        let url = |u: &str| Location::Url(u.into()).describe();
        assert_eq!(
            url("postgres://ana:secret@db.example:5432/firedrill"),
            "postgres://db.example:5432/firedrill"
        );
        assert_eq!(
            url("postgres://db.example/firedrill"),
            "postgres://db.example/firedrill"
        );
        assert_eq!(
            url("host=db.example user=ana password=secret dbname=firedrill"),
            "host=db.example user=ana password=*** dbname=firedrill"
        );
    }

    #[test]
    fn a_history_of_the_first_schema_is_migrated_and_keeps_its_sessions() {
        let dir = std::env::temp_dir().join(format!("firedrill-migrate-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("history.sqlite3");
        // The schema before criteria and response times were kept.
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch(
                "CREATE TABLE sessions (id INTEGER PRIMARY KEY, finished_at TEXT NOT NULL,
                    scenario TEXT NOT NULL, scenario_hash TEXT NOT NULL, seed INTEGER NOT NULL,
                    players TEXT NOT NULL, points REAL, max REAL, resolved INTEGER NOT NULL,
                    budget_spent REAL NOT NULL, journal TEXT);
                 INSERT INTO sessions VALUES (1, '2026-11-01T09:00:00Z', 'tutorial', 'h', 7,
                    'ana', 50.0, 100.0, 1, 0.25, NULL);",
            )
            .unwrap();
        let mut history = History::open(&path).unwrap();
        let new = Session {
            scenario: "tutorial".into(),
            players: "ana".into(),
            points: Some(80.0),
            max: Some(100.0),
            time_to_acknowledge_s: Some(12.0),
            criteria: vec![
                Judged {
                    criterion: "acknowledge".into(),
                    points: 10.0,
                    max: 10.0,
                },
                Judged {
                    criterion: "hints".into(),
                    points: -5.0,
                    max: 0.0,
                },
            ],
            ..Default::default()
        };
        history.record(&new).unwrap();
        // Opening again migrates nothing twice.
        let sessions = History::open(&path).unwrap().sessions(None).unwrap();
        assert_eq!(sessions.len(), 2);
        assert_eq!(sessions[0].percent(), Some(50.0));
        assert_eq!(sessions[0].time_to_acknowledge_s, None);
        assert!(sessions[0].criteria.is_empty());
        assert_eq!(sessions[1], new);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
