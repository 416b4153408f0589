//! The `firedrill` command line, laid out as cargo lays out its commands: a file per command
//! (or family) with its arguments and an `exec` that returns a result; one error type
//! carries the exit code, so no command writes its own exit.

mod authoring;
mod catalog;
mod estimate;
mod history;
mod library;
#[cfg(feature = "gui")]
mod play;
mod run;
mod summary;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::scenario::parse_duration;

pub use catalog::catalog;
pub use summary::summary_table;

#[derive(Parser, Debug)]
#[command(
    name = "firedrill",
    version,
    about = "An incident simulation game engine for SRE training",
    long_about = "firedrill simulates a fleet of services from a RON scenario file: queues, \
                  timeouts, retries, health checks, caches and databases, deterministic for a seed."
)]
pub struct Cli {
    /// Without a command, the game opens on its scenario picker.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// How many threads independent runs may use: what-if runs, estimates, self-tests
    /// (default: one per core). Each run is single-threaded and deterministic: the results
    /// are the same for any N.
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Open the game window on a scenario (or, without one, on the scenario picker).
    #[cfg(feature = "gui")]
    Play(play::PlayArgs),
    /// Host a game day: run the one authoritative simulation of SCENARIO in the window, and let
    /// players join it from other machines with the session code.
    #[cfg(feature = "gui")]
    Host(play::HostArgs),
    /// Join a hosted game day: the same control room, kept in step with the host's.
    #[cfg(feature = "gui")]
    Join(play::JoinArgs),
    /// Run a scenario headless, as fast as the machine allows, and print a summary.
    /// (Faults come from the scenario; the responders' commands from an action script.)
    Run(run::RunArgs),
    /// Re-run a session from its journal, headless: the same report, byte for byte.
    Replay(run::ReplayArgs),
    /// List the finished sessions, of one scenario or all, with their scores.
    History(history::HistoryArgs),
    /// Assign scenarios to a trainee (a mentor's list): the trainee's picker marks them and
    /// recommends them first until they are cleared. --list shows the assignments.
    Assign(history::AssignArgs),
    /// List every fault kind, command and remediation, with an example of each.
    Catalog,
    /// List the scored scenarios of a folder with what each teaches (--notes: the
    /// facilitator's notes; --markdown: docs/scenarios.md).
    Library(library::LibraryArgs),
    /// Estimate what a remediation would cost each SLO's budget: the scenario is run twice,
    /// with and without it, and the budgets compared over the horizon.
    Estimate(estimate::EstimateArgs),
    /// Run the self-tests of scenario files (folders are searched; default `scenarios`);
    /// exit 1 if any fails.
    Test(authoring::TestArgs),
    /// Write a commented starter scenario NAME.ron with its reference solution and a wrong
    /// approach, ready to edit, validate, play and test.
    New(authoring::NewArgs),
    /// Check scenario files or folders of them; exit 1 if any is invalid.
    Validate(authoring::ValidateArgs),
}

/// Exit codes: 0 success, 1 an invalid scenario (or a failed check), 2 a usage error.
const INVALID: u8 = 1;
const USAGE: u8 = 2;

/// Why a command failed: what to tell the user, and the exit code.
#[derive(Debug)]
pub struct CliError {
    code: u8,
    /// Printed on stderr; empty when the command has already said what failed.
    message: String,
}

impl CliError {
    /// Bad input: an invalid scenario, script or journal, or a file that cannot be written.
    fn invalid(message: impl std::fmt::Display) -> Self {
        Self {
            code: INVALID,
            message: message.to_string(),
        }
    }

    /// The command line itself is wrong: a missing file, a bad flag value.
    fn usage(message: impl std::fmt::Display) -> Self {
        Self {
            code: USAGE,
            message: message.to_string(),
        }
    }

    /// A check failed and the command has printed why (validate, test).
    fn failed() -> Self {
        Self::invalid("")
    }
}

/// A scenario, script or journal that does not load: its own located diagnostics.
impl From<crate::scenario::LoadError> for CliError {
    fn from(error: crate::scenario::LoadError) -> Self {
        Self::invalid(error)
    }
}

type CliResult = Result<(), CliError>;

pub fn main() -> ExitCode {
    quiet_when_the_reader_leaves();
    let cli = Cli::parse();
    if let Some(jobs) = cli.jobs {
        crate::session::parallel::set_jobs(usize::from(jobs));
    }
    let result = match cli.command {
        None => play_or_explain(),
        #[cfg(feature = "gui")]
        Some(Command::Play(args)) => play::exec_play(args),
        #[cfg(feature = "gui")]
        Some(Command::Host(args)) => play::exec_host(args),
        #[cfg(feature = "gui")]
        Some(Command::Join(args)) => play::exec_join(args),
        Some(Command::Run(args)) => run::exec_run(args),
        Some(Command::Replay(args)) => run::exec_replay(args),
        Some(Command::History(args)) => history::exec(args),
        Some(Command::Assign(args)) => history::exec_assign(args),
        Some(Command::Catalog) => {
            print!("{}", catalog());
            Ok(())
        }
        Some(Command::Library(args)) => library::exec(args),
        Some(Command::Estimate(args)) => estimate::exec(args),
        Some(Command::Test(args)) => authoring::exec_test(args),
        Some(Command::New(args)) => authoring::exec_new(args),
        Some(Command::Validate(args)) => authoring::exec_validate(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError { code, message }) => {
            if !message.is_empty() {
                eprintln!("{message}");
            }
            ExitCode::from(code)
        }
    }
}

/// `firedrill history --format csv | head` must not end in a panic: when whoever reads the
/// output goes away, stop quietly as Unix tools do (exit 141, as if killed by SIGPIPE).
/// Journals are written through as each command is applied, so nothing is lost.
fn quiet_when_the_reader_leaves() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        report(info);
    }));
}

/// The game window, when this build has one.
#[cfg(feature = "gui")]
fn play_or_explain() -> CliResult {
    play::open(crate::ui::PlayOptions {
        speed: 1.0,
        player: play::player_name(None),
        data_dir: crate::history::data_dir(None),
        history: crate::history::Location::choose(
            std::env::var(crate::history::HISTORY_URL_ENV)
                .ok()
                .as_deref(),
            crate::history::data_dir(None).as_deref(),
        ),
        ..Default::default()
    })
}

#[cfg(not(feature = "gui"))]
fn play_or_explain() -> CliResult {
    Err(CliError::usage(
        "firedrill: this build has no game window (built without the `gui` feature); try `firedrill --help`",
    ))
}

/// A positive duration: "90s", "10m", "2h" or seconds.
fn duration_arg(text: &str) -> Result<f64, String> {
    let seconds = parse_duration(text)?;
    if seconds > 0.0 && seconds <= crate::scenario::MAX_DURATION_S {
        Ok(seconds)
    } else {
        Err(format!(
            "the duration must be positive and at most {} (got {text})",
            crate::scenario::Seconds(crate::scenario::MAX_DURATION_S)
        ))
    }
}

/// A scenario file named on the command line must exist.
fn existing_scenario(path: &Path) -> CliResult {
    if path.is_file() {
        Ok(())
    } else {
        Err(CliError::usage(format!(
            "firedrill: {}: no such scenario file",
            path.display()
        )))
    }
}

/// Writes through a temporary file and a rename, so a crash never leaves half a report.
fn write_atomically(path: &Path, text: &str) -> CliResult {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|error| {
            CliError::invalid(format!(
                "firedrill: cannot write {}: {error}",
                path.display()
            ))
        })
}
