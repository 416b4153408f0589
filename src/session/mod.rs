//! A game being played, above the engine: load a scenario with the game's checks, start a
//! session (or resume one from its journal, or join a host's), issue commands under one
//! journaling policy, run it, and finish it into the timeline and the score. The CLI, the
//! window, team play and every what-if run go through here, so they share one path.

mod asset;
mod estimate;
mod measure;
pub mod parallel;
mod simulation;

use std::collections::VecDeque;
use std::path::Path;

pub use crate::incident::CostEstimate;
pub use asset::{ScenarioAsset, ScenarioLoader, scenario_assets, watched_source};
pub use estimate::{estimate, estimate_from_now};
pub use measure::Baselines;
pub use simulation::{Simulation, Snapshot, engine};

use crate::history;
use crate::incident::debrief::Timeline;
use crate::incident::journal::{self, Header, Journal};
use crate::incident::{Command, Entry};
use crate::scenario::{LoadError, Loaded, Scenario, Seconds};
use crate::scoring::Score;
use crate::scoring::measured::Measured;

/// Scenarios as assets, for an app that loads them through Bevy's asset server from its
/// default source.
pub fn plugin(app: &mut bevy::prelude::App) {
    scenario_assets(app, Vec::new());
}

/// Parses and validates a scenario to play: the scenario floor's checks and the game's
/// (`scoring::lint`). `file` names it in diagnostics.
pub fn load_str(file: &str, text: &str) -> Result<Loaded, LoadError> {
    crate::scenario::load_str_with(file, text, crate::scoring::lint::check)
}

/// Reads and loads the scenario to play at `path`.
pub fn load_file(path: &Path) -> Result<Loaded, LoadError> {
    crate::scenario::load_file_with(path, crate::scoring::lint::check)
}

/// What a session starts from besides the scenario's own settings.
#[derive(Clone, Copy, Debug, Default)]
pub struct Overrides {
    pub seed: Option<u64>,
    /// Simulated seconds; at least one tick (the front ends check it).
    pub duration: Option<f64>,
}

/// A session resumed from its journal.
pub struct Resumed {
    pub session: Session,
    /// The time of the last command recorded (the session is run up to it).
    pub last_s: f64,
    /// What was wrong with the journal, when it was cut short.
    pub damage: Option<String>,
}

/// A finished session: what scoring and the debrief read.
pub struct Finished {
    pub timeline: Timeline,
    pub score: Option<Score>,
}

/// A scenario being played: the simulation, the journal it writes, and every command issued.
pub struct Session {
    pub scenario: Scenario,
    pub sim: Simulation,
    header: Header,
    journal: Option<Journal>,
    /// Why the journal stopped being written, until a front end takes it to tell the player.
    journal_error: Option<std::io::Error>,
    /// Every command issued into the simulation, in order: what a joining player replays and
    /// what a resumed session starts from.
    issued: Vec<Entry>,
    /// Commands of a script not yet due: issued when the run reaches their time.
    script: VecDeque<Entry>,
    /// Doing nothing and the reference response, once run (or given by the caller).
    baselines: Option<Baselines>,
    /// The last measurement, with the commands (postmortems left out) and end it was for.
    measured: Option<(Vec<Entry>, f64, Measured)>,
}

impl Session {
    /// A session on scenario `text` (named `file`), with `overrides` applied. Also returns the
    /// load's warnings.
    pub fn start(
        file: &str,
        text: &str,
        overrides: Overrides,
    ) -> Result<(Self, Vec<crate::scenario::Diagnostic>), LoadError> {
        let Loaded {
            mut scenario,
            warnings,
        } = load_str(file, text)?;
        if let Some(seed) = overrides.seed {
            scenario.seed = seed;
        }
        if let Some(duration) = overrides.duration {
            scenario.duration = Seconds(duration);
        }
        let header = Header::new(file, text, scenario.seed, scenario.duration.get());
        Ok((Self::new(scenario, header), warnings))
    }

    /// A session on the scenario a journal's header (or a host's welcome) carries, with its
    /// seed and duration.
    pub fn from_header(header: Header) -> Result<Self, LoadError> {
        let mut scenario = load_str(&header.scenario_file, &header.scenario)?.scenario;
        scenario.seed = header.seed;
        scenario.duration = Seconds(header.duration_s);
        Ok(Self::new(scenario, header))
    }

    /// A session on a scenario already loaded, for tests and what-if runs. It has no text to
    /// journal, so it keeps no journal.
    pub fn of(scenario: Scenario) -> Self {
        let header = Header::new(&scenario.name, "", scenario.seed, scenario.duration.get());
        Self::new(scenario, header)
    }

    fn new(scenario: Scenario, header: Header) -> Self {
        Self {
            sim: Simulation::new(&scenario),
            scenario,
            header,
            journal: None,
            journal_error: None,
            issued: Vec::new(),
            script: VecDeque::new(),
            baselines: None,
            measured: None,
        }
    }

    /// Names the file the scenario was read from: its reference script is found next to it.
    pub fn with_scenario_path(mut self, path: &Path) -> Self {
        self.header.scenario_file = path.display().to_string();
        self
    }

    /// Gives the session runs of doing nothing and of the reference already made for its
    /// scenario (self-tests share them); they are used if they hold for its end.
    pub fn with_baselines(mut self, baselines: Baselines) -> Self {
        self.baselines = Some(baselines);
        self
    }

    /// The baselines the last [`Session::finish`] used.
    pub fn baselines(&self) -> Option<&Baselines> {
        self.baselines.as_ref()
    }

    /// The scenario's reference response, read next to the scenario file; or why there is
    /// none.
    pub fn reference(&self) -> Result<Vec<Entry>, String> {
        let Some(file) = self
            .scenario
            .incident
            .as_ref()
            .and_then(|truth| truth.reference.as_ref())
        else {
            return Err("the scenario names no reference script".to_string());
        };
        let dir = Path::new(&self.header.scenario_file)
            .parent()
            .unwrap_or(Path::new("."));
        crate::incident::load_script_file(&dir.join(file), &self.scenario)
            .map_err(|error| format!("its reference script does not load: {error}"))
    }

    /// The session a journal recorded, every command in it issued, run to the last of them.
    pub fn resume(path: &Path) -> Result<Resumed, String> {
        let recorded = journal::read(path)?;
        let mut session = Self::from_header(recorded.header).map_err(|error| {
            format!(
                "{}: the journal's scenario no longer loads:\n{error}",
                path.display()
            )
        })?;
        let entries: Vec<Entry> = recorded.lines.iter().map(journal::Line::entry).collect();
        let last_s = entries.last().map_or(0.0, |e| e.at.get());
        for entry in entries {
            session.issue(entry);
        }
        session.run_until(last_s.min(session.scenario.duration.get()));
        Ok(Resumed {
            session,
            last_s,
            damage: recorded.damage,
        })
    }

    /// A player's copy of a host's session: the host's scenario, seed and duration (in
    /// `header`), and the commands issued so far (a player keeps no journal: the host's is
    /// the record).
    pub fn join(header: Header, issued: &[Entry]) -> Result<Self, LoadError> {
        let mut session = Self::from_header(header)?;
        for entry in issued {
            session.issue(entry.clone());
        }
        Ok(session)
    }

    /// Journals the session from now on into a new journal at `path`, starting with the
    /// commands already issued.
    pub fn keep_journal(&mut self, path: &Path) -> std::io::Result<()> {
        if self.header.scenario.is_empty() {
            return Err(std::io::Error::other(
                "this session was started from a parsed scenario: there is no text to journal",
            ));
        }
        let mut journal = Journal::create(path, &self.header)?;
        for entry in &self.issued {
            journal.append(entry.at.get(), &entry.by, &entry.command)?;
        }
        self.journal = Some(journal);
        Ok(())
    }

    /// Issues a command: journaled first, then into the simulation, applied at the first tick
    /// starting at or after its time. A journal that cannot be written is dropped and its
    /// error kept for [`Session::take_journal_error`]; the command still applies.
    pub fn issue(&mut self, entry: Entry) {
        if let Some(journal) = &mut self.journal
            && let Err(error) = journal.append(entry.at.get(), &entry.by, &entry.command)
        {
            self.journal = None;
            self.journal_error = Some(error);
        }
        self.issued.push(entry.clone());
        self.sim.issue(entry);
    }

    /// Issues `command` now in `by`'s name.
    pub fn issue_now(&mut self, by: &str, command: Command) {
        let at = Seconds(self.sim.clock().now());
        self.issue(Entry {
            at,
            by: by.to_string(),
            command,
        });
    }

    /// Plays `entries` (a script or a replayed journal): each is issued when the run reaches
    /// its time, as a player at the keyboard would.
    pub fn play_script(&mut self, entries: &[Entry]) {
        self.script.extend(entries.iter().cloned());
        self.script
            .make_contiguous()
            .sort_by(|a, b| a.at.get().total_cmp(&b.at.get()));
    }

    fn issue_script_until(&mut self, seconds: f64) {
        while self.script.front().is_some_and(|e| e.is_due(seconds)) {
            let entry = self.script.pop_front().expect("peeked");
            self.issue(entry);
        }
    }

    /// Advances until simulated time reaches `seconds` (whole ticks), issuing the script's
    /// commands as they fall due.
    pub fn run_until(&mut self, seconds: f64) {
        self.issue_script_until(seconds);
        self.sim.run_until(seconds);
        self.answer_estimates();
    }

    /// Advances one tick, issuing the script's commands due in it.
    pub fn run_tick(&mut self) {
        let clock = self.sim.clock();
        self.issue_script_until(clock.now() + clock.dt * 0.5);
        self.sim.run_ticks(1);
        self.answer_estimates();
    }

    /// Answers the estimates the incident accepted and nobody has answered yet, from what was
    /// known when each was asked (`estimate_from_now`). A replay asks and answers the same.
    fn answer_estimates(&mut self) {
        let unanswered: Vec<(usize, f64, crate::remediation::Remediation)> = self
            .sim
            .incident()
            .estimates
            .iter()
            .enumerate()
            .filter(|(_, e)| e.costs.is_none())
            .map(|(i, e)| (i, e.at_s, e.action.clone()))
            .collect();
        if unanswered.is_empty() {
            return;
        }
        let faults = self.sim.faults().records();
        for (i, at, action) in unanswered {
            let costs = estimate_from_now(
                &self.scenario,
                &faults,
                &self.issued,
                &action,
                (at, crate::incident::ESTIMATE_HORIZON),
            );
            self.sim.incident_mut().estimates[i].costs = Some(costs);
        }
    }

    /// The shift has run its time, or the game master ended it.
    pub fn shift_over(&self) -> bool {
        self.sim.clock().now() + 1e-9 >= self.scenario.duration.get() || self.sim.ended_early()
    }

    /// Ends the session: the commands written for the very end (the resolution, the
    /// postmortem) are applied, the metrics closed, and the timeline scored.
    pub fn finish(&mut self) -> Finished {
        self.issue_script_until(self.sim.clock().now());
        self.sim.apply_due_commands();
        self.answer_estimates();
        self.sim.flush_metrics();
        let timeline = self.sim.timeline();
        let measured = if self.scenario.incident.is_some() {
            self.measure(&timeline)
        } else {
            Measured::default()
        };
        let score = crate::scoring::score(&self.scenario, &timeline, measured);
        Finished { timeline, score }
    }

    /// What the engine measures of the session (`session::measure`), made once per set of
    /// commands: finishing again after a postmortem, which changes nothing users get, reuses it.
    fn measure(&mut self, timeline: &Timeline) -> Measured {
        let key: Vec<Entry> = self
            .issued
            .iter()
            .filter(|e| !matches!(e.command, Command::Postmortem(_)))
            .cloned()
            .collect();
        let end_s = self.sim.clock().now();
        if let Some((measured_key, measured_end, measured)) = &self.measured
            && *measured_key == key
            && *measured_end == end_s
        {
            return measured.clone();
        }
        let reference = self.reference();
        let (measured, baselines) = measure::measure(
            &self.scenario,
            &self.sim,
            &self.issued,
            timeline,
            reference.as_deref().map_err(Clone::clone),
            self.baselines.as_ref(),
        );
        self.baselines = Some(baselines);
        self.measured = Some((key, end_s, measured.clone()));
        measured
    }

    /// Records a finished session in the history at `location`.
    pub fn record_history(
        &self,
        location: &history::Location,
        finished: &Finished,
    ) -> Result<(), String> {
        let record = history::Session::finished(
            &self.header,
            &self.scenario.name,
            &finished.timeline,
            finished.score.as_ref(),
            self.journal_path(),
        );
        history::record(location, &record)
    }

    /// Why the journal stopped being written, once.
    pub fn take_journal_error(&mut self) -> Option<std::io::Error> {
        self.journal_error.take()
    }

    pub fn journal_path(&self) -> Option<&Path> {
        self.journal.as_ref().map(Journal::path)
    }

    /// Commands written to the journal so far.
    pub fn journaled(&self) -> u64 {
        self.journal.as_ref().map_or(0, Journal::len)
    }

    /// The journal's header: the scenario text, seed and duration this session runs.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Every command issued so far, in order.
    pub fn issued(&self) -> &[Entry] {
        &self.issued
    }
}
