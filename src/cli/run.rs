//! Headless sessions: `run` plays a scenario (with an action script) to its end as fast as
//! the machine allows, `replay` re-runs a journal; both print the summary and write what
//! was asked.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::summary::{count, summary_table};
use super::{CliError, CliResult, duration_arg, existing_scenario, write_atomically};
use crate::incident::{Entry, load_script_file};
use crate::openmetrics::{self, Exporter, Snapshot};
use crate::report;
use crate::scenario::Seconds;
use crate::session::{Overrides, Session, Simulation};

#[derive(clap::Args, Debug)]
pub struct RunArgs {
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
    /// Record the session in a PostgreSQL history a cohort shares instead
    /// (postgres://user:password@host/database).
    #[arg(long, env = crate::history::HISTORY_URL_ENV, value_name = "URL")]
    history_url: Option<String>,
    #[command(flatten)]
    observability: ObservabilityArgs,
}

#[derive(clap::Args, Debug)]
pub struct ReplayArgs {
    /// The journal a session wrote (`run --journal`, or the game's journals folder).
    journal: PathBuf,
    #[arg(long, value_name = "FILE.json")]
    report: Option<PathBuf>,
    #[arg(long, value_name = "FILE.md")]
    postmortem: Option<PathBuf>,
}

/// The team's own tools watching a headless run: a Prometheus scrape endpoint, an OpenMetrics
/// file of the whole run, and real-time pacing so the dashboards move as the incident does.
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
    /// The history that records the session.
    history: Option<crate::history::Location>,
    observability: ObservabilityArgs,
}

pub fn exec_run(args: RunArgs) -> CliResult {
    let RunArgs {
        scenario: path,
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
        history_url,
        observability,
    } = args;
    existing_scenario(&path)?;
    let file = path.display().to_string();
    let text = std::fs::read_to_string(&path).map_err(|error| {
        CliError::invalid(format!(
            "firedrill: {file}: cannot read the scenario: {error}"
        ))
    })?;
    let (session, warnings) = Session::start(&file, &text, Overrides { seed, duration })?;
    for warning in &warnings {
        eprintln!("{warning}");
    }
    let scenario = &session.scenario;
    if let Some(duration) = duration
        && duration < scenario.tick.get()
    {
        return Err(CliError::usage(format!(
            "firedrill: --duration {} is shorter than one tick ({})",
            Seconds(duration),
            scenario.tick
        )));
    }
    let script = match script {
        None => Vec::new(),
        Some(script) if !script.is_file() => {
            return Err(CliError::usage(format!(
                "firedrill: {}: no such script file",
                script.display()
            )));
        }
        Some(script) => load_script_file(&script, scenario)?,
    };
    let outputs = Outputs {
        report: report.as_deref(),
        postmortem: postmortem.as_deref(),
        logs,
        traces,
        journal: journal.as_deref(),
        history: if no_history {
            None
        } else {
            crate::history::Location::choose(
                history_url.as_deref(),
                crate::history::data_dir(data_dir.as_deref()).as_deref(),
            )
        },
        observability,
    };
    execute(session, &script, outputs)
}

pub fn exec_replay(args: ReplayArgs) -> CliResult {
    let ReplayArgs {
        journal: path,
        report,
        postmortem,
    } = args;
    let recorded = crate::incident::journal::read(&path)
        .map_err(|error| CliError::invalid(format!("firedrill: {error}")))?;
    let session = Session::from_header(recorded.header).map_err(|error| {
        CliError::invalid(format!(
            "firedrill: {}: the journal's scenario no longer loads:\n{error}",
            path.display()
        ))
    })?;
    let entries: Vec<Entry> = recorded.lines.iter().map(|l| l.entry()).collect();
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
    let outputs = Outputs {
        report: report.as_deref(),
        postmortem: postmortem.as_deref(),
        logs: 0,
        traces: 0,
        journal: None,
        history: None,
        observability: ObservabilityArgs::default(),
    };
    execute(session, &entries, outputs)
}

/// Runs a session to its end and writes what it produced.
fn execute(mut session: Session, script: &[Entry], outputs: Outputs) -> CliResult {
    if let Some(path) = outputs.journal {
        session.keep_journal(path).map_err(|error| {
            CliError::invalid(format!(
                "firedrill: cannot write the journal {}: {error}",
                path.display()
            ))
        })?;
    }
    let scenario = session.scenario.clone();
    let show_progress = std::io::stderr().is_terminal();
    let watch = &outputs.observability;
    if let Some(speed) = watch.speed
        && !(speed > 0.0 && speed.is_finite())
    {
        return Err(CliError::usage(format!(
            "firedrill: --speed {speed}: give a positive factor (1 is real time)"
        )));
    }
    if watch.export_openmetrics.is_some() && watch.export_interval < scenario.tick.get() {
        return Err(CliError::usage(format!(
            "firedrill: --export-interval {} is shorter than one tick ({})",
            Seconds(watch.export_interval),
            scenario.tick
        )));
    }
    let exporter = match watch.metrics_addr.as_deref().map(Exporter::serve) {
        None => None,
        Some(Ok(exporter)) => {
            eprintln!("serving metrics at http://{}/metrics", exporter.addr);
            Some(exporter)
        }
        Some(Err(error)) => {
            return Err(CliError::usage(format!(
                "firedrill: --metrics-addr: {error}"
            )));
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
    let scenario = &scenario;
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
        events,
        logs: log_tails,
        traces: slowest,
        mut session,
        scoring_wall_s,
    } = report::run(
        session,
        script,
        (outputs.logs, outputs.traces),
        (every, observe),
    );
    let wall = started.elapsed().as_secs_f64() - scoring_wall_s;
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
    let journal_error = session.take_journal_error();
    if journal_error.is_none()
        && let Some(path) = session.journal_path()
    {
        println!(
            "journal written to {} ({} commands)",
            path.display(),
            session.journaled()
        );
    }
    if let Some(out) = outputs.report {
        write_atomically(out, &report.to_json())?;
        println!("report written to {}", out.display());
    }
    if let Some(out) = &watch.export_openmetrics {
        write_atomically(
            out,
            &openmetrics::render_run(&points, watch.export_interval),
        )?;
        println!("OpenMetrics series written to {}", out.display());
    }
    if let Some(out) = outputs.postmortem {
        let markdown =
            crate::scoring::postmortem_markdown(scenario, &timeline, report.score.as_ref());
        write_atomically(out, &markdown)?;
        println!("postmortem draft written to {}", out.display());
    }
    if let Some(location) = &outputs.history {
        let finished = crate::session::Finished {
            timeline,
            score: report.score.clone(),
        };
        if let Err(error) = session.record_history(location, &finished) {
            eprintln!(
                "firedrill: history not recorded ({error}); the session's journal and report are unaffected"
            );
        }
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
    if report.score.is_some() {
        eprintln!(
            "scored in {scoring_wall_s:.2}s wall clock (what-if runs: without each change, doing nothing, the reference)"
        );
    }
    if let Some(exporter) = exporter.filter(|_| watch.hold) {
        eprintln!(
            "the run is over; still serving its final metrics at http://{}/metrics (Ctrl-C to stop)",
            exporter.addr
        );
        loop {
            std::thread::park();
        }
    }
    match journal_error {
        Some(error) => Err(CliError::invalid(format!(
            "firedrill: the journal stopped being written: {error}"
        ))),
        None => Ok(()),
    }
}
