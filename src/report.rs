//! The JSON report of a headless run: per-service and per-source summaries and per-minute
//! series. It holds simulated figures only, so the same scenario and seed give the same
//! bytes (the format is documented in `docs/report-format.md`).

use serde::Serialize;

use crate::faults::FaultRecord;
use crate::incident::debrief::Timeline;
use crate::incident::stakeholders::Message;
use crate::incident::{Entry, Lifecycle, Postmortem, Record, Task};
use crate::remediation::{Applied, Hint};
use crate::scoring::Score;
use crate::session::{Finished, Session, Simulation};
use crate::sim::conditions::Version;
use crate::sim::metrics::{ServiceRow, ServiceTotals, SourceRow, SourceTally};
use crate::slo::{SloReport, ThresholdReport};

/// Version of the report layout.
pub const REPORT_FORMAT: u32 = 1;

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub report_format: u32,
    pub scenario: String,
    pub seed: u64,
    pub tick_s: f64,
    pub duration_s: f64,
    pub services: Vec<ServiceReport>,
    pub traffic: Vec<TrafficReport>,
    /// Every fault of the scenario: when it started and ended (null: never / still active).
    pub faults: Vec<FaultRecord>,
    /// Remediations applied, in order.
    pub remediations: Vec<Applied>,
    /// Deploys, config pushes and rollbacks, by service.
    pub changes: Vec<ChangeRecord>,
    /// What paged experts said.
    pub hints: Vec<Hint>,
    /// Each SLO: budget at start and end, bad events, burn rates per minute, alerts.
    pub slos: Vec<SloReport>,
    /// Each threshold alert: when it fired and cleared, and its pages.
    pub alerts: Vec<ThresholdReport>,
    /// The responders' side: commands, lifecycle, chat, postmortem.
    pub incident: IncidentReport,
    /// The score by SRE practice (null when the scenario has no ground truth).
    pub score: Option<Score>,
}

#[derive(Clone, Debug, Serialize)]
pub struct IncidentReport {
    pub lifecycle: Lifecycle,
    /// Every command, applied or refused, with who issued it.
    pub commands: Vec<Record>,
    pub tasks: Vec<Task>,
    pub chat: Vec<Message>,
    pub postmortem: Option<Postmortem>,
    /// The budget estimates asked for, with their answers.
    pub estimates: Vec<crate::incident::Estimate>,
    /// The runbooks' steps, followed (and when) or not; left out when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub runbooks: Vec<crate::incident::runbook::RunbookProgress>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ChangeRecord {
    pub service: String,
    #[serde(flatten)]
    pub version: Version,
}

#[derive(Clone, Debug, Serialize)]
pub struct ServiceReport {
    pub name: String,
    pub kind: String,
    /// Instances at the start, and the most scaling may provision.
    pub instances: u32,
    pub max_instances: u32,
    pub workers: u32,
    pub summary: ServiceSummary,
    pub minutes: Vec<ServiceRow>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ServiceSummary {
    pub requests: u64,
    pub rps: f64,
    pub ok: u64,
    pub server_errors: u64,
    pub rejected: u64,
    pub timeouts: u64,
    /// (server errors + rejected + timeouts) / (ok + those): failed outcomes over all
    /// outcomes, as the SLIs count them.
    pub error_ratio: f64,
    pub retries: u64,
    pub mean_s: Option<f64>,
    #[serde(serialize_with = "crate::sim::histogram::serialize_quantile")]
    pub p50_s: Option<f64>,
    #[serde(serialize_with = "crate::sim::histogram::serialize_quantile")]
    pub p90_s: Option<f64>,
    #[serde(serialize_with = "crate::sim::histogram::serialize_quantile")]
    pub p99_s: Option<f64>,
    pub cpu_mean: f64,
    pub cpu_peak: f64,
    pub memory_peak_mb: f64,
    pub queue_mean: f64,
    pub queue_peak: f64,
    pub in_flight_mean: f64,
    pub healthy_min: u32,
}

#[derive(Clone, Debug, Serialize)]
pub struct TrafficReport {
    pub name: String,
    pub to: String,
    pub summary: TrafficSummary,
    pub minutes: Vec<SourceRow>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TrafficSummary {
    pub first_tries: u64,
    pub offered_rps: f64,
    pub retries: u64,
    pub ok: u64,
    pub failed: u64,
    pub timeouts: u64,
    pub server_errors: u64,
    pub rejected: u64,
    /// Successes per first try: the share of users' requests that eventually worked.
    pub goodput: f64,
    #[serde(serialize_with = "crate::sim::histogram::serialize_quantile")]
    pub p50_s: Option<f64>,
    #[serde(serialize_with = "crate::sim::histogram::serialize_quantile")]
    pub p99_s: Option<f64>,
}

/// A finished headless run: the report, how much work it took, and the tail of each
/// service's log (for the terminal).
pub struct Run {
    pub report: Report,
    /// What scoring and the debrief read.
    pub timeline: Timeline,
    pub events: u64,
    pub logs: Vec<Vec<String>>,
    /// The slowest sampled traces, rendered.
    pub traces: Vec<String>,
    /// The finished session (its journal, its header).
    pub session: Session,
    /// Wall-clock seconds scoring took (the what-if runs of each change, doing nothing and
    /// the reference): for the terminal, never for the report.
    pub scoring_wall_s: f64,
}

/// Runs `session` to its end headless, playing `script`, calling `observe` with the
/// simulation every `every` simulated seconds (at most a minute); keeps the last
/// `log_lines` lines of each service's log and the `slowest_traces` slowest traces.
pub fn run(
    mut session: Session,
    script: &[Entry],
    (log_lines, slowest_traces): (usize, usize),
    (every, mut observe): (f64, impl FnMut(&Simulation)),
) -> Run {
    session.play_script(script);
    let topology = session.sim.topology().clone();
    let mut service_minutes: Vec<Vec<ServiceRow>> = vec![Vec::new(); topology.services.len()];
    let mut source_minutes: Vec<Vec<SourceRow>> = vec![Vec::new(); topology.sources.len()];
    let mut collect = |sim: &Simulation| {
        for (s, rows) in service_minutes.iter_mut().enumerate() {
            let ring = &sim.service_metrics(s).minutes;
            take_new(rows, ring.rows().iter(), ring.produced());
        }
        for (i, rows) in source_minutes.iter_mut().enumerate() {
            let ring = &sim.source_metrics(i).minutes;
            take_new(rows, ring.rows().iter(), ring.produced());
        }
    };
    // Chunks of at most one simulated minute keep every minute row even when the run
    // outlasts the metric rings; `observe` sees the simulation after each.
    let end = topology.duration;
    let step = every.clamp(topology.tick, 60.0);
    let mut now = 0.0;
    while now < end && !session.sim.ended_early() {
        now = (now + step).min(end);
        session.run_until(now);
        collect(&session.sim);
        if now < end && !session.sim.ended_early() {
            observe(&session.sim);
        }
    }
    let scoring = std::time::Instant::now();
    let Finished { timeline, score } = session.finish();
    let scoring_wall_s = scoring.elapsed().as_secs_f64();
    collect(&session.sim);
    observe(&session.sim);
    let sim = &session.sim;
    let incident = sim.incident();

    let seconds = sim.clock().now();
    let services = topology
        .services
        .iter()
        .enumerate()
        .map(|(s, model)| ServiceReport {
            name: model.name.clone(),
            kind: model.kind.label().to_string(),
            instances: model.instances,
            max_instances: model.slots,
            workers: model.workers,
            summary: service_summary(&sim.service_metrics(s).totals, seconds),
            minutes: std::mem::take(&mut service_minutes[s]),
        })
        .collect();
    let traffic = topology
        .sources
        .iter()
        .enumerate()
        .map(|(i, model)| TrafficReport {
            name: model.name.clone(),
            to: topology.services[model.to].name.clone(),
            summary: traffic_summary(&sim.source_metrics(i).totals, seconds),
            minutes: std::mem::take(&mut source_minutes[i]),
        })
        .collect();
    Run {
        scoring_wall_s,
        events: sim.events_handled(),
        logs: (0..topology.services.len())
            .map(|s| sim.log_lines(s, log_lines))
            .collect(),
        traces: sim.slowest_traces(slowest_traces),
        report: Report {
            report_format: REPORT_FORMAT,
            scenario: topology.name.clone(),
            seed: topology.seed,
            tick_s: topology.tick,
            duration_s: seconds,
            services,
            traffic,
            faults: sim.faults().records(),
            remediations: sim.remediations().applied.clone(),
            hints: sim.remediations().hints.clone(),
            slos: sim
                .slos()
                .iter()
                .map(|slo| slo.report(&topology.services[slo.service].name))
                .collect(),
            alerts: sim
                .threshold_alerts()
                .iter()
                .map(|a| a.report(&topology.services[a.service].name))
                .collect(),
            changes: sim
                .conditions()
                .versions
                .iter()
                .enumerate()
                .flat_map(|(s, history)| history.iter().skip(1).map(move |v| (s, v.clone())))
                .map(|(s, version)| ChangeRecord {
                    service: topology.services[s].name.clone(),
                    version,
                })
                .collect(),
            incident: IncidentReport {
                lifecycle: incident.lifecycle.clone(),
                commands: incident.records.clone(),
                tasks: incident.tasks.clone(),
                chat: timeline.chat.clone(),
                postmortem: incident.postmortem.clone(),
                estimates: timeline.estimates.clone(),
                runbooks: timeline.runbooks.clone(),
            },
            score,
        },
        timeline,
        session,
    }
}

/// Appends the rows of a ring that `rows` has not seen yet (the ring holds the newest).
fn take_new<'a, T: Clone + 'a>(
    rows: &mut Vec<T>,
    ring: impl DoubleEndedIterator<Item = &'a T> + ExactSizeIterator,
    produced: u64,
) {
    let missing = (produced as usize)
        .saturating_sub(rows.len())
        .min(ring.len());
    let new: Vec<T> = ring.rev().take(missing).cloned().collect();
    rows.extend(new.into_iter().rev());
}

fn service_summary(t: &ServiceTotals, seconds: f64) -> ServiceSummary {
    let c = &t.counts;
    let ticks = t.ticks.max(1) as f64;
    ServiceSummary {
        requests: c.arrivals,
        rps: c.arrivals as f64 / seconds.max(f64::MIN_POSITIVE),
        ok: c.ok,
        server_errors: c.server_errors,
        rejected: c.rejected,
        timeouts: c.timeouts,
        error_ratio: c.error_ratio(),
        retries: c.retries,
        mean_s: c.latency.mean(),
        p50_s: c.latency.quantile(0.5),
        p90_s: c.latency.quantile(0.9),
        p99_s: c.latency.quantile(0.99),
        cpu_mean: if t.core_seconds > 0.0 {
            c.cpu_seconds / t.core_seconds
        } else {
            0.0
        },
        cpu_peak: t.cpu_peak,
        memory_peak_mb: t.memory_peak_mb,
        queue_mean: t.queue_sum / ticks,
        queue_peak: t.queue_peak,
        in_flight_mean: t.in_flight_sum / ticks,
        healthy_min: t.healthy_min.unwrap_or(0),
    }
}

fn traffic_summary(t: &SourceTally, seconds: f64) -> TrafficSummary {
    TrafficSummary {
        first_tries: t.first_tries,
        offered_rps: t.first_tries as f64 / seconds.max(f64::MIN_POSITIVE),
        retries: t.retries,
        ok: t.ok,
        failed: t.failed(),
        timeouts: t.timeouts,
        server_errors: t.server_errors,
        rejected: t.rejected,
        goodput: ratio(t.ok, t.first_tries),
        p50_s: t.latency.quantile(0.5),
        p99_s: t.latency.quantile(0.99),
    }
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

impl Report {
    pub fn to_json(&self) -> String {
        let mut json = serde_json::to_string_pretty(self).expect("reports serialize");
        json.push('\n');
        json
    }
}
