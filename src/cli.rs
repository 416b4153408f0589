//! The `firedrill` command line: run scenarios headless and validate scenario files.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};

use crate::incident::debrief::Timeline;
use crate::incident::journal::{Header, Journal};
use crate::incident::{Entry, load_script_file};
use crate::openmetrics::{self, Exporter, Snapshot};
use crate::report::{self, Report};
use crate::scenario::{Loaded, Scenario, Seconds, Severity, load_file, load_str, parse_duration};
use crate::sim::Simulation;
use crate::sim::topology::Topology;

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
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Open the game window on a scenario (or, without one, on the scenario picker).
    #[cfg(feature = "gui")]
    Play {
        /// The scenario file (.ron).
        scenario: Option<PathBuf>,
        /// Override the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Simulated seconds per real second at the start: 0 (paused), 1, 5, 20 or 60.
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// Your name in the journal.
        #[arg(long, default_value = crate::incident::SOLO_PLAYER)]
        name: String,
        #[command(flatten)]
        shot: ScreenshotArgs,
        /// Where journals and history go (default: $FIREDRILL_DATA_DIR, else the user data folder).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Play for this long in real time, print frame-time statistics and quit.
        #[arg(long, value_parser = duration_arg, value_name = "DURATION", requires = "scenario")]
        measure: Option<f64>,
        /// Serve the fleet's metrics for Prometheus at http://ADDR/metrics (OpenMetrics text),
        /// e.g. 127.0.0.1:9464. Off by default.
        #[arg(long, value_name = "ADDR")]
        metrics_addr: Option<String>,
        /// Resume the session this journal recorded (after a crash), paused where it stopped.
        #[arg(long, value_name = "JOURNAL", conflicts_with = "scenario")]
        resume: Option<PathBuf>,
    },
    /// Host a game day: run the one authoritative simulation of SCENARIO in the window, and let
    /// players join it from other machines with the session code.
    #[cfg(feature = "gui")]
    Host {
        /// The scenario file (.ron).
        #[arg(required_unless_present = "resume")]
        scenario: Option<PathBuf>,
        /// Resume the session this journal recorded (after a crash), paused where it stopped.
        #[arg(long, value_name = "JOURNAL", conflicts_with = "scenario")]
        resume: Option<PathBuf>,
        /// Where players connect (UDP). Loopback unless told otherwise: 0.0.0.0:7777 opens
        /// the table to the network.
        #[arg(long, default_value = "127.0.0.1:7777", value_name = "ADDR")]
        bind: String,
        /// The code players must give to join (default: a random one, shown in the window).
        #[arg(long)]
        code: Option<String>,
        /// Your name in the journal.
        #[arg(long, default_value = "host")]
        name: String,
        /// Run the drill as its game master: see the ground truth, inject faults, speak for
        /// stakeholders, give hints (each costs the team 5% of the score), pause, end the shift.
        #[arg(long, conflicts_with = "resume")]
        game_master: bool,
        /// Override the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Where journals and history go (default: $FIREDRILL_DATA_DIR, else the user data folder).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Serve the fleet's metrics for Prometheus at http://ADDR/metrics.
        #[arg(long, value_name = "ADDR")]
        metrics_addr: Option<String>,
        #[command(flatten)]
        shot: ScreenshotArgs,
    },
    /// Join a hosted game day: the same control room, kept in step with the host's.
    #[cfg(feature = "gui")]
    Join {
        /// The host's address, as it printed it (e.g. 192.168.1.20:7777).
        addr: String,
        /// The session code the host shows.
        #[arg(long)]
        code: String,
        /// Your name at the table and in the journal.
        #[arg(long)]
        name: String,
        /// The role to take: ic (incident commander), ops, comms or observer.
        #[arg(long, value_enum)]
        role: Option<RoleArg>,
        /// Save a PNG of the window once seated (and quit with --exit).
        #[arg(long, value_name = "FILE.png")]
        screenshot: Option<PathBuf>,
        #[arg(long)]
        exit: bool,
    },
    /// Run a scenario headless, as fast as the machine allows, and print a summary.
    /// (Faults come from the scenario; the responders' commands from an action script.)
    Run {
        /// The scenario file (.ron).
        scenario: PathBuf,
        /// Override the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Override the scenario's duration: "90s", "10m", "2h" or seconds.
        #[arg(long, value_parser = duration_arg)]
        duration: Option<f64>,
        /// Write the JSON report (summaries and per-minute series) to this file.
        #[arg(long, value_name = "FILE.json")]
        report: Option<PathBuf>,
        /// Apply the remediations of this action script at their times.
        #[arg(long, value_name = "ACTIONS.ron")]
        script: Option<PathBuf>,
        /// Print the last N lines of each service's log after the summary.
        #[arg(long, value_name = "N", default_value_t = 0)]
        logs: usize,
        /// Print the N slowest sampled traces (1% of user requests are traced).
        #[arg(long, value_name = "N", default_value_t = 0)]
        traces: usize,
        /// Write the postmortem draft (Markdown, Google's template) to this file.
        #[arg(long, value_name = "FILE.md")]
        postmortem: Option<PathBuf>,
        /// Append every command to this journal as it is applied (replay it with `replay`).
        #[arg(long, value_name = "FILE.jsonl")]
        journal: Option<PathBuf>,
        /// Do not record the session in the history database.
        #[arg(long)]
        no_history: bool,
        /// Where the history lives (default: $FIREDRILL_DATA_DIR, else the user data folder).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        #[command(flatten)]
        observability: ObservabilityArgs,
    },
    /// Re-run a session from its journal, headless: the same report, byte for byte.
    Replay {
        /// The journal a session wrote (`run --journal`, or the game's journals folder).
        journal: PathBuf,
        #[arg(long, value_name = "FILE.json")]
        report: Option<PathBuf>,
        #[arg(long, value_name = "FILE.md")]
        postmortem: Option<PathBuf>,
    },
    /// List the finished sessions, of one scenario or all, with their scores.
    History {
        /// Only this scenario (its name, as in the scenario file).
        #[arg(long)]
        scenario: Option<String>,
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// List every fault kind, command and remediation, with an example of each.
    Catalog,
    /// Estimate what a remediation would cost each SLO's budget: the scenario is run twice,
    /// with and without it, and the budgets compared over the horizon.
    Estimate {
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
    },
    /// Run the self-tests of scenario files (folders are searched; default `scenarios`);
    /// exit 1 if any fails.
    Test { paths: Vec<PathBuf> },
    /// Write a commented starter scenario NAME.ron with its reference solution and a wrong
    /// approach, ready to edit, validate, play and test.
    New {
        name: String,
        /// The folder to write to.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Check scenario files or folders of them; exit 1 if any is invalid.
    Validate {
        /// Files or folders (folders are searched for .ron files).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
}

fn duration_arg(text: &str) -> Result<f64, String> {
    let seconds = parse_duration(text)?;
    if seconds > 0.0 && seconds.is_finite() {
        Ok(seconds)
    } else {
        Err(format!("the duration must be positive (got {text})"))
    }
}

/// Exit codes: 0 success, 1 an invalid scenario, 2 a usage error.
const INVALID: u8 = 1;
const USAGE: u8 = 2;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(command) = cli.command else {
        return play_or_explain(None);
    };
    match command {
        #[cfg(feature = "gui")]
        Command::Play {
            scenario,
            seed,
            speed,
            name,
            shot,
            data_dir,
            measure,
            metrics_addr,
            resume,
        } => play(crate::ui::PlayOptions {
            scenario,
            seed,
            speed,
            player: name,
            screenshot: shot.screenshot,
            after: shot.after.unwrap_or(0.0),
            exit: shot.exit,
            data_dir: crate::history::data_dir(data_dir.as_deref()),
            measure,
            metrics_addr,
            resume,
            ..Default::default()
        }),
        #[cfg(feature = "gui")]
        Command::Host {
            scenario,
            resume,
            bind,
            code,
            name,
            game_master,
            seed,
            data_dir,
            metrics_addr,
            shot,
        } => {
            let code = code.unwrap_or_else(session_code);
            if let Err(error) = crate::net::protocol::check_name("session code", &code)
                .and(crate::net::protocol::check_name("name", &name))
            {
                eprintln!("firedrill: {error}");
                return ExitCode::from(USAGE);
            }
            play(crate::ui::PlayOptions {
                scenario,
                resume,
                seed,
                speed: 1.0,
                player: name,
                data_dir: crate::history::data_dir(data_dir.as_deref()),
                metrics_addr,
                screenshot: shot.screenshot,
                after: shot.after.unwrap_or(0.0),
                exit: shot.exit,
                table: crate::ui::TableOptions::Host { bind, code },
                game_master,
                ..Default::default()
            })
        }
        #[cfg(feature = "gui")]
        Command::Join {
            addr,
            code,
            name,
            role,
            screenshot,
            exit,
        } => {
            let checked = crate::net::protocol::check_name("name", &name)
                .and(crate::net::protocol::check_name("session code", &code))
                .and_then(|()| crate::net::link::resolve(&addr));
            let addr = match checked {
                Ok(addr) => addr,
                Err(error) => {
                    eprintln!("firedrill: {error}");
                    return ExitCode::from(USAGE);
                }
            };
            play(crate::ui::PlayOptions {
                speed: 1.0,
                player: name,
                table: crate::ui::TableOptions::Join {
                    addr,
                    code,
                    role: role.map(Into::into),
                },
                screenshot,
                exit,
                ..Default::default()
            })
        }
        Command::Run {
            scenario,
            seed,
            duration,
            report,
            script,
            logs,
            traces,
            postmortem,
            journal,
            no_history,
            data_dir,
            observability,
        } => run(
            &scenario,
            RunOptions {
                seed,
                duration,
                script: script.as_deref(),
                outputs: Outputs {
                    report: report.as_deref(),
                    postmortem: postmortem.as_deref(),
                    logs,
                    traces,
                    journal: journal.as_deref(),
                    history: if no_history {
                        None
                    } else {
                        crate::history::data_dir(data_dir.as_deref())
                    },
                    observability,
                },
            },
        ),
        Command::Replay {
            journal,
            report,
            postmortem,
        } => replay(
            &journal,
            Outputs {
                report: report.as_deref(),
                postmortem: postmortem.as_deref(),
                logs: 0,
                traces: 0,
                journal: None,
                history: None,
                observability: ObservabilityArgs::default(),
            },
        ),
        Command::History { scenario, data_dir } => {
            history(scenario.as_deref(), data_dir.as_deref())
        }
        Command::Validate { paths } => validate(&paths),
        Command::Test { paths } => test(&paths),
        Command::New { name, dir } => new(&name, &dir),
        Command::Catalog => {
            print!("{}", catalog());
            ExitCode::SUCCESS
        }
        Command::Estimate {
            scenario,
            action,
            at,
            horizon,
            script,
        } => estimate(&scenario, &action, (at, horizon), script.as_deref()),
    }
}

/// The game window, when this build has one.
#[cfg(feature = "gui")]
fn play_or_explain(scenario: Option<PathBuf>) -> ExitCode {
    play(crate::ui::PlayOptions {
        scenario,
        speed: 1.0,
        player: crate::incident::SOLO_PLAYER.to_string(),
        data_dir: crate::history::data_dir(None),
        ..Default::default()
    })
}

#[cfg(not(feature = "gui"))]
fn play_or_explain(_: Option<PathBuf>) -> ExitCode {
    eprintln!(
        "firedrill: this build has no game window (built without the `gui` feature); try `firedrill --help`"
    );
    ExitCode::from(USAGE)
}

#[cfg(feature = "gui")]
fn play(options: crate::ui::PlayOptions) -> ExitCode {
    if let Some(path) = &options.scenario
        && !path.is_file()
    {
        eprintln!("firedrill: {}: no such scenario file", path.display());
        return ExitCode::from(USAGE);
    }
    match crate::ui::run(options) {
        bevy::app::AppExit::Success => ExitCode::SUCCESS,
        bevy::app::AppExit::Error(_) => ExitCode::from(INVALID),
    }
}

struct RunOptions<'a> {
    seed: Option<u64>,
    duration: Option<f64>,
    script: Option<&'a Path>,
    outputs: Outputs<'a>,
}

/// A role as the command line names it.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum RoleArg {
    Ic,
    Ops,
    Comms,
    Observer,
}

impl From<RoleArg> for crate::incident::Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Ic => Self::IncidentCommander,
            RoleArg::Ops => Self::Ops,
            RoleArg::Comms => Self::Comms,
            RoleArg::Observer => Self::Observer,
        }
    }
}

/// A code for a hosted session: six letters and digits that cannot be mistaken for each
/// other, from the operating system's randomness.
#[cfg(feature = "gui")]
fn session_code() -> String {
    use std::io::Read;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 6];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .is_err()
    {
        // No urandom: the clock's nanoseconds, mixed.
        let mut x = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
            ^ u64::from(std::process::id()).rotate_left(32);
        for b in &mut bytes {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
    }
    bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// The team's own tools watching a headless run: a Prometheus scrape endpoint, an OpenMetrics
/// file of the whole run, and real-time pacing so the dashboards move as the incident does.
/// Looking at the window without sitting in front of it (under Xvfb, in CI).
#[cfg(feature = "gui")]
#[derive(clap::Args, Debug)]
pub struct ScreenshotArgs {
    /// Save a PNG of the window once the simulation reaches --after (the picker without a
    /// scenario; the debrief when --after reaches the end).
    #[arg(long, value_name = "FILE.png")]
    screenshot: Option<PathBuf>,
    /// When to take the screenshot, in simulated time (the run catches up at full speed).
    #[arg(long, value_parser = duration_arg)]
    after: Option<f64>,
    /// Quit once the screenshot is saved.
    #[arg(long)]
    exit: bool,
}

#[derive(clap::Args, Clone, Debug, Default)]
pub struct ObservabilityArgs {
    /// Serve the fleet's metrics for Prometheus at http://ADDR/metrics (OpenMetrics text),
    /// e.g. 127.0.0.1:9464. Off by default.
    #[arg(long, value_name = "ADDR")]
    metrics_addr: Option<String>,
    /// Write the run's series, timestamped, to this OpenMetrics file (backfill it with
    /// `promtool tsdb create-blocks-from openmetrics FILE DIR`).
    #[arg(long, value_name = "FILE")]
    export_openmetrics: Option<PathBuf>,
    /// Time between the exported points, simulated.
    #[arg(long, value_parser = duration_arg, default_value = "15s", value_name = "DURATION")]
    export_interval: f64,
    /// Pace the run at this many simulated seconds per real second (1: real time) instead of
    /// as fast as the machine allows.
    #[arg(long, value_name = "FACTOR")]
    speed: Option<f64>,
    /// With --metrics-addr: keep serving the final metrics after the run until interrupted.
    #[arg(long, requires = "metrics_addr")]
    hold: bool,
}

/// What a finished session writes, besides the summary on stdout.
struct Outputs<'a> {
    report: Option<&'a Path>,
    postmortem: Option<&'a Path>,
    logs: usize,
    traces: usize,
    journal: Option<&'a Path>,
    /// The data directory whose history records the session.
    history: Option<PathBuf>,
    observability: ObservabilityArgs,
}

fn run(path: &Path, options: RunOptions) -> ExitCode {
    let RunOptions {
        seed,
        duration,
        script: script_path,
        outputs,
    } = options;
    if !path.is_file() {
        eprintln!("firedrill: {}: no such scenario file", path.display());
        return ExitCode::from(USAGE);
    }
    let file = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("firedrill: {file}: cannot read the scenario: {error}");
            return ExitCode::from(INVALID);
        }
    };
    let Loaded {
        mut scenario,
        warnings,
    } = match load_str(&file, &text) {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(INVALID);
        }
    };
    for warning in &warnings {
        eprintln!("{warning}");
    }
    if let Some(seed) = seed {
        scenario.seed = seed;
    }
    if let Some(duration) = duration {
        if duration < scenario.tick.get() {
            eprintln!(
                "firedrill: --duration {} is shorter than one tick ({})",
                Seconds(duration),
                scenario.tick
            );
            return ExitCode::from(USAGE);
        }
        scenario.duration = Seconds(duration);
    }

    let script = match script_path {
        None => Vec::new(),
        Some(script) if !script.is_file() => {
            eprintln!("firedrill: {}: no such script file", script.display());
            return ExitCode::from(USAGE);
        }
        Some(script) => match load_script_file(script, &scenario) {
            Ok(actions) => actions,
            Err(error) => {
                eprintln!("{error}");
                return ExitCode::from(INVALID);
            }
        },
    };
    let header = Header::new(&file, &text, scenario.seed, scenario.duration.get());
    execute(&scenario, &header, &script, outputs)
}

fn replay(path: &Path, outputs: Outputs) -> ExitCode {
    let recorded = match crate::incident::journal::read(path) {
        Ok(recorded) => recorded,
        Err(error) => {
            eprintln!("firedrill: {error}");
            return ExitCode::from(INVALID);
        }
    };
    let header = recorded.header;
    let mut scenario = match load_str(&header.scenario_file, &header.scenario) {
        Ok(loaded) => loaded.scenario,
        Err(error) => {
            eprintln!(
                "firedrill: {}: the journal's scenario no longer loads:\n{error}",
                path.display()
            );
            return ExitCode::from(INVALID);
        }
    };
    scenario.seed = header.seed;
    scenario.duration = Seconds(header.duration_s);
    let entries: Vec<_> = recorded.lines.iter().map(|l| l.entry()).collect();
    match &recorded.damage {
        Some(damage) => eprintln!(
            "firedrill: replaying the first {} command(s) only: {damage}",
            entries.len()
        ),
        None => eprintln!(
            "replaying {} command(s) from {}",
            entries.len(),
            path.display()
        ),
    }
    execute(&scenario, &header, &entries, outputs)
}

/// Runs a session to its end and writes what it produced.
fn execute(scenario: &Scenario, header: &Header, script: &[Entry], outputs: Outputs) -> ExitCode {
    let mut journal = match outputs.journal {
        None => None,
        Some(path) => match Journal::create(path, header) {
            Ok(journal) => Some(journal),
            Err(error) => {
                eprintln!(
                    "firedrill: cannot write the journal {}: {error}",
                    path.display()
                );
                return ExitCode::from(INVALID);
            }
        },
    };
    let show_progress = std::io::stderr().is_terminal();
    let watch = &outputs.observability;
    if let Some(speed) = watch.speed
        && !(speed > 0.0 && speed.is_finite())
    {
        eprintln!("firedrill: --speed {speed}: give a positive factor (1 is real time)");
        return ExitCode::from(USAGE);
    }
    if watch.export_openmetrics.is_some() && watch.export_interval < scenario.tick.get() {
        eprintln!(
            "firedrill: --export-interval {} is shorter than one tick ({})",
            Seconds(watch.export_interval),
            scenario.tick
        );
        return ExitCode::from(USAGE);
    }
    let exporter = match watch.metrics_addr.as_deref().map(Exporter::serve) {
        None => None,
        Some(Ok(exporter)) => {
            eprintln!("serving metrics at http://{}/metrics", exporter.addr);
            Some(exporter)
        }
        Some(Err(error)) => {
            eprintln!("firedrill: --metrics-addr: {error}");
            return ExitCode::from(USAGE);
        }
    };
    let mut points: Vec<Snapshot> = Vec::new();
    let every = if watch.speed.is_some() || exporter.is_some() {
        1.0
    } else if watch.export_openmetrics.is_some() {
        watch.export_interval
    } else {
        60.0
    };
    let started = Instant::now();
    let total = scenario.duration.get();
    let observe = |sim: &Simulation| {
        let now = sim.clock().now();
        if show_progress {
            eprint!("\r  simulated {} of {}", Seconds(now), Seconds(total));
            let _ = std::io::stderr().flush();
        }
        let on_step = (now / watch.export_interval).fract().abs() < 1e-9 || now >= total;
        let exporting = watch.export_openmetrics.is_some() && on_step;
        if exporting || exporter.is_some() {
            let snapshot = Snapshot::of(sim, scenario);
            if let Some(exporter) = &exporter {
                exporter.publish(openmetrics::render(&snapshot));
            }
            if exporting {
                points.push(snapshot);
            }
        }
        if let Some(speed) = watch.speed {
            let due = std::time::Duration::from_secs_f64(now / speed);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
    };
    let report::Run {
        report,
        timeline,
        journal_error,
        events,
        logs: log_tails,
        traces: slowest,
    } = report::run(
        scenario,
        script,
        (outputs.logs, outputs.traces),
        journal.as_mut(),
        (every, observe),
    );
    let wall = started.elapsed().as_secs_f64();
    if show_progress {
        eprint!("\r\x1b[2K");
    }

    print!("{}", summary_table(&report));
    for (rank, trace) in slowest.iter().enumerate() {
        println!("\nslowest trace #{}\n{trace}", rank + 1);
    }
    for (service, lines) in report.services.iter().zip(&log_tails) {
        if !lines.is_empty() {
            println!("\nlog of {} (last {})", service.name, lines.len());
            for line in lines {
                println!("  {line}");
            }
        }
    }
    let mut status = ExitCode::SUCCESS;
    if let Some(error) = journal_error {
        eprintln!("firedrill: the journal stopped being written: {error}");
        status = ExitCode::from(INVALID);
    } else if let Some(journal) = &journal {
        println!(
            "journal written to {} ({} commands)",
            journal.path().display(),
            journal.len()
        );
    }
    if let Some(out) = outputs.report {
        if let Err(error) = write_atomically(out, &report.to_json()) {
            eprintln!("firedrill: cannot write {}: {error}", out.display());
            return ExitCode::from(INVALID);
        }
        println!("report written to {}", out.display());
    }
    if let Some(out) = &watch.export_openmetrics {
        let text = openmetrics::render_run(&points, watch.export_interval);
        if let Err(error) = write_atomically(out, &text) {
            eprintln!("firedrill: cannot write {}: {error}", out.display());
            return ExitCode::from(INVALID);
        }
        println!("OpenMetrics series written to {}", out.display());
    }
    if let Some(out) = outputs.postmortem {
        let markdown = crate::incident::debrief::postmortem_markdown(
            scenario,
            &timeline,
            report.score.as_ref(),
        );
        if let Err(error) = write_atomically(out, &markdown) {
            eprintln!("firedrill: cannot write {}: {error}", out.display());
            return ExitCode::from(INVALID);
        }
        println!("postmortem draft written to {}", out.display());
    }
    if let Some(dir) = &outputs.history {
        record_history(
            dir,
            header,
            &report,
            &timeline,
            journal.as_ref().map(|j| j.path()),
        );
    }
    // Wall-clock figures belong to this terminal, never to the report.
    eprintln!(
        "simulated {} in {:.2}s wall clock ({:.0}x real time, {} events, {:.0} ns/event)",
        Seconds(report.duration_s),
        wall,
        report.duration_s / wall.max(1e-9),
        count(events),
        wall * 1e9 / events.max(1) as f64,
    );
    if let Some(exporter) = exporter.filter(|_| watch.hold) {
        eprintln!(
            "the run is over; still serving its final metrics at http://{}/metrics (Ctrl-C to stop)",
            exporter.addr
        );
        loop {
            std::thread::park();
        }
    }
    status
}

/// Records a finished session; a history that cannot be written is reported, not fatal.
fn record_history(
    dir: &Path,
    header: &Header,
    report: &Report,
    timeline: &Timeline,
    journal: Option<&Path>,
) {
    let session = crate::history::Session::finished(
        header,
        &report.scenario,
        timeline,
        report.score.as_ref(),
        journal,
    );
    if let Err(error) = crate::history::record(dir, &session) {
        eprintln!(
            "firedrill: history not recorded ({error}); the session's journal and report are unaffected"
        );
    }
}

fn history(scenario: Option<&str>, data_dir: Option<&Path>) -> ExitCode {
    let Some(dir) = crate::history::data_dir(data_dir) else {
        eprintln!(
            "firedrill: no data folder: set {} or pass --data-dir",
            crate::history::DATA_DIR_ENV
        );
        return ExitCode::from(USAGE);
    };
    let path = crate::history::database(&dir);
    if !path.is_file() {
        println!("no sessions yet ({} does not exist)", path.display());
        return ExitCode::SUCCESS;
    }
    let sessions = match crate::history::History::open(&path).and_then(|h| h.sessions(scenario)) {
        Ok(sessions) => sessions,
        Err(error) => {
            eprintln!("firedrill: {error}");
            return ExitCode::from(INVALID);
        }
    };
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
    ExitCode::SUCCESS
}

fn test(paths: &[PathBuf]) -> ExitCode {
    let paths = if paths.is_empty() {
        vec![PathBuf::from("scenarios")]
    } else {
        paths.to_vec()
    };
    let files = crate::authoring::scenario_files(&paths);
    if files.is_empty() {
        eprintln!(
            "firedrill: no scenario files in {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        return ExitCode::from(USAGE);
    }
    println!(
        "{:<22} {:<44} {:>6} {:>8} {:>7} {:>7}  result",
        "scenario", "test", "score", "resolved", "budget", "time"
    );
    let (mut passed, mut failed, mut untested) = (0, 0, 0);
    for file in &files {
        let started = Instant::now();
        match crate::authoring::run_tests(file) {
            Err(error) => {
                println!("{:<22} FAILED: {error}", file.display());
                failed += 1;
            }
            Ok(outcomes) if outcomes.is_empty() => {
                println!("{:<22} (no tests)", file.display());
                untested += 1;
            }
            Ok(outcomes) => {
                let each = started.elapsed().as_secs_f64() / outcomes.len() as f64;
                for o in outcomes {
                    println!(
                        "{:<22} {:<44} {:>6} {:>8} {:>7} {:>6.1}s  {}",
                        o.scenario,
                        column(&o.test, 44),
                        o.percent.map_or("-".to_string(), |p| format!("{p:.0}%")),
                        if o.resolved { "yes" } else { "no" },
                        o.budget_left
                            .map_or("-".to_string(), |b| format!("{:.1}%", b * 100.0)),
                        each,
                        if o.passed() {
                            "ok".to_string()
                        } else {
                            format!("FAILED: {}", o.failures.join("; "))
                        }
                    );
                    if o.passed() {
                        passed += 1;
                    } else {
                        failed += 1;
                    }
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed, {untested} scenario(s) without tests");
    if failed > 0 {
        ExitCode::from(INVALID)
    } else {
        ExitCode::SUCCESS
    }
}

fn new(name: &str, dir: &Path) -> ExitCode {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        eprintln!("firedrill: a scenario name is letters, digits, '-' and '_' (got \"{name}\")");
        return ExitCode::from(USAGE);
    }
    let files = [
        (
            dir.join(format!("{name}.ron")),
            crate::authoring::starter(name),
        ),
        (
            dir.join(format!("{name}.actions.ron")),
            crate::authoring::starter_reference().to_string(),
        ),
        (
            dir.join(format!("{name}.restart.actions.ron")),
            crate::authoring::starter_wrong().to_string(),
        ),
    ];
    if let Some((existing, _)) = files.iter().find(|(path, _)| path.exists()) {
        eprintln!(
            "firedrill: {} exists already: nothing written",
            existing.display()
        );
        return ExitCode::from(USAGE);
    }
    for (path, text) in &files {
        if let Err(error) = std::fs::create_dir_all(dir).and_then(|()| write_atomically(path, text))
        {
            eprintln!("firedrill: cannot write {}: {error}", path.display());
            return ExitCode::from(INVALID);
        }
        println!("wrote {}", path.display());
    }
    println!(
        "next: firedrill validate {0}; firedrill test {0}; firedrill play {0}",
        files[0].0.display()
    );
    ExitCode::SUCCESS
}

fn estimate(
    path: &Path,
    action: &str,
    (at, horizon): (f64, f64),
    script: Option<&Path>,
) -> ExitCode {
    if !path.is_file() {
        eprintln!("firedrill: {}: no such scenario file", path.display());
        return ExitCode::from(USAGE);
    }
    let scenario = match load_file(path) {
        Ok(loaded) => loaded.scenario,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(INVALID);
        }
    };
    let topology = Topology::compile(&scenario);
    let taken = match script {
        Some(script) => match load_script_file(script, &scenario) {
            Ok(actions) => actions,
            Err(error) => {
                eprintln!("{error}");
                return ExitCode::from(INVALID);
            }
        },
        None => Vec::new(),
    };
    let candidate: crate::remediation::Remediation =
        match crate::scenario::ron_options().from_str(action) {
            Ok(remediation) => remediation,
            Err(error) => {
                eprintln!(
                    "{}",
                    crate::scenario::syntax_error("--action", action, &error, "docs/actions.md")
                );
                return ExitCode::from(USAGE);
            }
        };
    if let Err(message) = crate::remediation::Op::resolve(&candidate, &topology) {
        eprintln!("firedrill: --action: {message}");
        return ExitCode::from(USAGE);
    }
    if scenario.slos.is_empty() {
        eprintln!(
            "firedrill: {}: the scenario has no SLOs to spend",
            path.display()
        );
        return ExitCode::from(INVALID);
    }
    println!(
        "{} at {}, over the next {}:",
        action,
        Seconds(at),
        Seconds(horizon)
    );
    for cost in crate::slo::estimate(&scenario, &taken, &candidate, (at, horizon)) {
        println!(
            "  {}: {:.2}% of the budget with it, {:.2}% without",
            cost.slo,
            cost.with_action * 100.0,
            cost.without_action * 100.0
        );
    }
    ExitCode::SUCCESS
}

/// Writes through a temporary file and a rename, so a crash never leaves half a report.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// The per-service and per-source summary printed after a run.
pub fn summary_table(report: &Report) -> String {
    let mut out = String::new();
    let width = report
        .services
        .iter()
        .map(|s| s.name.len())
        .chain(report.traffic.iter().map(|t| t.name.len()))
        .max()
        .unwrap_or(7)
        .max(7);
    out.push_str(&format!(
        "{} (seed {}, {} simulated)\n\n",
        report.scenario,
        report.seed,
        Seconds(report.duration_s)
    ));
    out.push_str(&format!(
        "{:<width$}  {:<8} {:>4} {:>9} {:>7} {:>9} {:>9} {:>5} {:>8} {:>7}\n",
        "service", "kind", "inst", "rps", "err%", "p50", "p99", "cpu", "maxqueue", "healthy"
    ));
    for s in &report.services {
        let m = &s.summary;
        out.push_str(&format!(
            "{:<width$}  {:<8} {:>4} {:>9.1} {:>6.2}% {:>9} {:>9} {:>5} {:>8.0} {:>7}\n",
            s.name,
            s.kind,
            s.instances,
            m.rps,
            m.error_ratio * 100.0,
            latency(m.p50_s),
            latency(m.p99_s),
            if s.kind == "External" {
                "-".to_string()
            } else {
                format!("{:.0}%", m.cpu_mean * 100.0)
            },
            m.queue_peak,
            format!("{}/{}", m.healthy_min, s.instances),
        ));
    }
    if !report.traffic.is_empty() {
        out.push_str(&format!(
            "\n{:<width$}  {:<12} {:>9} {:>8} {:>9} {:>9} {:>8}\n",
            "traffic", "to", "offered", "goodput", "p50", "p99", "retries"
        ));
        for t in &report.traffic {
            let m = &t.summary;
            out.push_str(&format!(
                "{:<width$}  {:<12} {:>9.1} {:>7.2}% {:>9} {:>9} {:>8}\n",
                t.name,
                t.to,
                m.offered_rps,
                m.goodput * 100.0,
                latency(m.p50_s),
                latency(m.p99_s),
                m.retries,
            ));
        }
    }
    if !report.remediations.is_empty() {
        out.push_str("\nremediations\n");
        for r in &report.remediations {
            let policy = if r.violates_freeze {
                "  <- change during a budget freeze (error budget policy)"
            } else {
                ""
            };
            out.push_str(&format!("  {}: {}{policy}\n", Seconds(r.at_s), r.action));
        }
    }
    for slo in &report.slos {
        out.push_str(&format!(
            "\nSLO {} ({} {}% over {}): budget {:.1}% -> {:.1}%, {} bad of {} events\n",
            slo.name,
            slo.service,
            slo.objective,
            slo.window,
            slo.budget_start * 100.0,
            slo.budget_end * 100.0,
            slo.bad_events,
            slo.total_events
        ));
        for page in &slo.pages {
            let mut story = format!("  page at {}", Seconds(page.opened_s));
            if let Some(t) = page.acknowledged_s {
                story.push_str(&format!(", acknowledged at {}", Seconds(t)));
            }
            if let Some(t) = page.escalated_s {
                story.push_str(&format!(", ESCALATED at {} (not acknowledged)", Seconds(t)));
            }
            if let Some(t) = page.resolved_s {
                story.push_str(&format!(", resolved at {}", Seconds(t)));
            }
            out.push_str(&format!("{story}\n"));
        }
        for alert in &slo.alerts {
            let cleared = alert.cleared_s.map_or("still firing".to_string(), |c| {
                format!("cleared at {}", Seconds(c))
            });
            out.push_str(&format!(
                "  {:?} {} fired at {}, {cleared}\n",
                alert.severity,
                alert.row,
                Seconds(alert.fired_s)
            ));
        }
    }
    for hint in &report.hints {
        out.push_str(&format!(
            "\nexpert on {} ({}): {}\n",
            hint.expert,
            Seconds(hint.at_s),
            hint.text
        ));
    }
    if !report.faults.is_empty() {
        out.push_str("\nfaults\n");
        for f in &report.faults {
            let when = match (f.started_s, f.ended_s) {
                (None, _) => "never started".to_string(),
                (Some(s), None) => format!("from {} to the end", Seconds(s)),
                (Some(s), Some(e)) if s == e => format!("at {}", Seconds(s)),
                (Some(s), Some(e)) => format!("from {} to {}", Seconds(s), Seconds(e)),
            };
            out.push_str(&format!("  {}: {when}\n", f.name));
        }
    }
    let refused: Vec<_> = report
        .incident
        .commands
        .iter()
        .filter_map(|r| r.refused.as_ref().map(|why| (r, why)))
        .collect();
    if let Some(t) = report.incident.lifecycle.ended_s {
        out.push_str(&format!(
            "\nthe game master ended the shift at {}\n",
            Seconds(t)
        ));
    }
    if !refused.is_empty() {
        out.push_str("\nrefused commands\n");
        for (record, why) in refused {
            out.push_str(&format!(
                "  {} {}: {}: {why}\n",
                Seconds(record.at_s),
                record.by,
                record.command.to_ron()
            ));
        }
    }
    if let Some(score) = &report.score {
        out.push_str(&format!(
            "\nscore {:.1} of {:.0} ({:.0}%)\n",
            score.points, score.max, score.percent
        ));
        for c in &score.criteria {
            let verdict = match c.verdict {
                crate::scoring::Verdict::Met => "met",
                crate::scoring::Verdict::Partly => "partly",
                crate::scoring::Verdict::Failed => "FAILED",
                crate::scoring::Verdict::NotApplicable => "n/a",
                crate::scoring::Verdict::Penalty => "minus",
            };
            let points = if c.verdict == crate::scoring::Verdict::Penalty {
                format!("{:>4.1}    ", c.points)
            } else if c.max > 0.0 {
                format!("{:>4.1}/{:<3.0}", c.points, c.max)
            } else {
                "    -   ".to_string()
            };
            out.push_str(&format!(
                "  {verdict:<6} {points} {:<34} {}\n",
                c.title, c.why
            ));
        }
    }
    out.push_str("\nrps and err% over the whole run; p50/p99 from the latency histogram; cpu is the mean share of cores (not seen for external services); maxqueue is the longest queue; healthy is the fewest instances in rotation.\n");
    out
}

/// Fault kinds and remediations, as `firedrill catalog` prints them.
pub fn catalog() -> String {
    let mut out = String::from(
        "FAULTS (scenario `faults: [...]`; start: At(t) | Between(t1, t2) | When(P99Above(..) | ErrorRatioAbove(..) | RpsAbove(..)); duration optional)\n",
    );
    for f in crate::faults::CATALOG {
        out.push_str(&format!(
            "\n  {}  [target: {}]\n    {}\n    {}\n",
            f.name, f.target, f.description, f.example
        ));
    }
    out.push_str("\nCOMMANDS (action scripts: firedrill run SCENARIO --script ACTIONS.ron, a list of these lines; by: \"name\" is optional)\n");
    for (example, description) in crate::incident::CATALOG {
        out.push_str(&format!("\n  {description}\n    {example}\n"));
    }
    out.push_str("\nREMEDIATIONS (the commands' Apply(...))\n");
    for r in crate::remediation::CATALOG {
        out.push_str(&format!(
            "\n  {}  [takes effect: {}]\n    {}\n    {}\n",
            r.name, r.delay, r.description, r.example
        ));
    }
    out
}

fn count(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.1}k", n as f64 / 1e3),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

fn latency(seconds: Option<f64>) -> String {
    match seconds {
        None => "-".to_string(),
        Some(s) if s < 1.0 => format!("{:.1}ms", s * 1000.0),
        Some(s) => format!("{s:.2}s"),
    }
}

fn validate(paths: &[PathBuf]) -> ExitCode {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            collect_ron_files(path, &mut files);
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            eprintln!("firedrill: {}: no such file or directory", path.display());
            return ExitCode::from(USAGE);
        }
    }
    if files.is_empty() {
        eprintln!("firedrill: no .ron files found");
        return ExitCode::from(USAGE);
    }
    let mut invalid = 0;
    for file in &files {
        if is_action_script(file) {
            invalid += u32::from(!check_script_syntax(file));
            continue;
        }
        match load_file(file) {
            Ok(loaded) => {
                let warnings = loaded
                    .warnings
                    .iter()
                    .filter(|w| w.severity == Severity::Warning)
                    .count();
                for warning in &loaded.warnings {
                    println!("{warning}");
                }
                let note = if warnings > 0 {
                    format!(", {warnings} warning(s)")
                } else {
                    String::new()
                };
                println!(
                    "ok: {} ({} services{note})",
                    file.display(),
                    loaded.scenario.services.len()
                );
            }
            Err(error) => {
                invalid += 1;
                println!("{error}");
            }
        }
    }
    if invalid > 0 {
        println!("{invalid} of {} scenario file(s) invalid", files.len());
        ExitCode::from(INVALID)
    } else {
        ExitCode::SUCCESS
    }
}

/// Action scripts are named `*.actions.ron` so they can sit beside scenarios.
fn is_action_script(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(".actions.ron"))
}

/// Checks an action script's syntax; its targets need a scenario (`run --script`).
fn check_script_syntax(path: &Path) -> bool {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => {
            println!("{}: cannot read the script: {error}", path.display());
            return false;
        }
    };
    match crate::incident::parse_script(&path.display().to_string(), &text) {
        Ok(actions) => {
            println!(
                "ok: {} (action script, {} actions; its targets are checked by `firedrill run SCENARIO --script {}`)",
                path.display(),
                actions.len(),
                path.display()
            );
            true
        }
        Err(error) => {
            println!("{error}");
            false
        }
    }
}

fn collect_ron_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            collect_ron_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "ron") {
            files.push(path);
        }
    }
}

/// Fits `text` in a table column, cutting with an ellipsis.
fn column(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let cut: String = text.chars().take(width - 1).collect();
        format!("{cut}…")
    }
}
