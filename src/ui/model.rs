//! View models: what the panels show, read off a running simulation once a frame. Panels
//! are plain functions of these, so they can be tested without the simulation or a window.

use crate::incident::stakeholders::Message;
use crate::incident::{Phase, Record, Role};
use crate::remediation::Hint;
use crate::scenario::{IncidentSeverity, Scenario, Sli};
use crate::session::Simulation;
use crate::sim::metrics::{self, ServiceRow};

/// How a service looks on the map and in lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    Ok,
    /// Some errors, slow, or instances out of rotation.
    Degraded,
    /// Failing or above its latency objective.
    Failing,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ServiceView {
    pub name: String,
    pub kind: &'static str,
    pub instances: u32,
    pub health: Health,
    /// Over the last 10 seconds.
    pub rps: f64,
    pub error_ratio: f64,
    pub p99: Option<f64>,
    pub healthy: u32,
    /// Services it calls, by index.
    pub calls: Vec<usize>,
    /// Distance from the traffic's entry points, for the map's layout.
    pub depth: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SloView {
    pub name: String,
    pub service: String,
    pub objective: f64,
    /// Good events of the last 5 minutes, 0..1.
    pub sli_5m: f64,
    pub budget_left: f64,
    pub burn_5m: f64,
    pub burn_1h: f64,
    pub burn_6h: f64,
    pub exhausted_in_s: Option<f64>,
    /// The alert row firing now ("1h/5m x14.4"), if any.
    pub firing: Option<String>,
    pub latency_threshold: Option<f64>,
}

/// A page as the pager shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct PageView {
    pub alert: String,
    pub opened_s: f64,
    pub acknowledged: bool,
    /// Seconds until it escalates (negative: escalated that long ago).
    pub escalates_in_s: Option<f64>,
    pub runbook: String,
    /// The team's runbook for the alert, with each step followed or not.
    pub steps: Option<RunbookView>,
}

/// Everything the control room shows in one frame.
/// A runbook as the pager shows it: its title, its age, and each step (text, link,
/// whether it was followed).
#[derive(Clone, Debug, PartialEq)]
pub struct RunbookView {
    pub title: String,
    pub updated: String,
    pub steps: Vec<(String, Option<String>, bool)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ControlRoom {
    pub scenario: String,
    pub now_s: f64,
    pub duration_s: f64,
    pub phase: Phase,
    pub severity: Option<IncidentSeverity>,
    pub services: Vec<ServiceView>,
    pub slos: Vec<SloView>,
    pub pages: Vec<PageView>,
    pub chat: Vec<Message>,
    pub hints: Vec<Hint>,
    pub records: Vec<Record>,
    pub roles: Vec<(String, Role)>,
    pub zones: Vec<String>,
    /// Deploys, config pushes and rollbacks: time, service, version.
    pub deploys: Vec<(f64, String, String)>,
    /// What each severity means in the scenario's organisation, SEV-1 first.
    pub severity_meanings: Vec<(IncidentSeverity, String)>,
    /// When the shift changes hands, if the scenario has a handoff.
    pub handoff_s: Option<f64>,
}

impl ControlRoom {
    pub fn of(scenario: &Scenario, sim: &Simulation) -> Self {
        let topology = sim.topology();
        let now = sim.clock().now();
        let mut services: Vec<ServiceView> = topology
            .services
            .iter()
            .enumerate()
            .map(|(s, model)| {
                let rows: Vec<&ServiceRow> = sim
                    .service_metrics(s)
                    .seconds
                    .rows()
                    .iter()
                    .rev()
                    .take(10)
                    .collect();
                let requests: u64 = rows.iter().map(|r| r.requests).sum();
                let ok: u64 = rows.iter().map(|r| r.ok).sum();
                let failed: u64 = rows
                    .iter()
                    .map(|r| r.server_errors + r.rejected + r.timeouts)
                    .sum();
                let error_ratio = metrics::error_ratio(ok, failed);
                let p99 = rows.first().and_then(|r| r.p99);
                let healthy = rows.first().map_or(model.instances, |r| r.healthy);
                let slow = scenario.slos.iter().any(|slo| {
                    slo.service == model.name
                        && matches!(slo.sli, Sli::Latency { threshold } if p99.is_some_and(|p| p > threshold.get()))
                });
                let health = if error_ratio > 0.05 || slow || healthy == 0 {
                    Health::Failing
                } else if error_ratio > 0.005 || healthy < model.instances {
                    Health::Degraded
                } else {
                    Health::Ok
                };
                ServiceView {
                    name: model.name.clone(),
                    kind: model.kind.label(),
                    instances: model.instances,
                    health,
                    rps: requests as f64 / rows.len().max(1) as f64,
                    error_ratio,
                    p99,
                    healthy,
                    calls: model.edges.iter().map(|e| e.to).collect(),
                    depth: usize::MAX,
                }
            })
            .collect();
        layer(&mut services, topology.sources.iter().map(|s| s.to));
        let slos = sim
            .slos()
            .iter()
            .map(|slo| {
                let burn_5m = slo.burn(300.0);
                let firing = slo
                    .alerts
                    .iter()
                    .rev()
                    .find(|a| a.cleared_s.is_none())
                    .map(|a| a.row.clone());
                SloView {
                    name: slo.spec.name.clone(),
                    service: slo.spec.service.clone(),
                    objective: slo.spec.objective,
                    sli_5m: 1.0 - burn_5m * (1.0 - slo.spec.objective / 100.0),
                    budget_left: slo.budget_left(),
                    burn_5m,
                    burn_1h: slo.burn(3600.0),
                    burn_6h: slo.burn(21_600.0),
                    exhausted_in_s: crate::slo::time_to_exhaustion(
                        slo.budget_left(),
                        slo.burn(3600.0),
                        slo.spec.window.get(),
                    ),
                    firing,
                    latency_threshold: match slo.spec.sli {
                        Sli::Latency { threshold } => Some(threshold.get()),
                        Sli::Availability => None,
                    },
                }
            })
            .collect();
        let timeout = scenario.escalation_timeout.get();
        let progress =
            crate::incident::runbook::progress(&scenario.runbooks, &sim.incident().records);
        let steps_of = |alert: &str| {
            let (spec, done) = scenario
                .runbooks
                .iter()
                .zip(&progress)
                .find(|(spec, _)| spec.alert == alert)?;
            Some(RunbookView {
                title: spec.title.clone(),
                updated: spec.updated.clone(),
                steps: spec
                    .steps
                    .iter()
                    .zip(&done.steps)
                    .map(|(step, p)| (step.text.clone(), step.link.clone(), p.followed_s.is_some()))
                    .collect(),
            })
        };
        let page_of = |alert: &str, runbook: &str, page: &crate::slo::Page| PageView {
            alert: alert.to_string(),
            opened_s: page.opened_s,
            acknowledged: page.acknowledged_s.is_some(),
            escalates_in_s: page
                .acknowledged_s
                .is_none()
                .then_some(page.opened_s + timeout - now),
            runbook: runbook.to_string(),
            steps: steps_of(alert),
        };
        let mut pages: Vec<PageView> = sim
            .slos()
            .iter()
            .flat_map(|slo| {
                slo.pager
                    .pages
                    .iter()
                    .filter(|p| p.is_open())
                    .map(|p| page_of(&slo.spec.name, &slo.spec.runbook, p))
            })
            .chain(sim.threshold_alerts().iter().flat_map(|alert| {
                alert
                    .pager
                    .pages
                    .iter()
                    .filter(|p| p.is_open())
                    .map(|p| page_of(&alert.spec.name, &alert.spec.runbook, p))
            }))
            .collect();
        pages.sort_by(|a, b| a.opened_s.total_cmp(&b.opened_s));
        let incident = sim.incident();
        let deploys = sim
            .conditions()
            .versions
            .iter()
            .enumerate()
            .flat_map(|(s, history)| {
                history
                    .iter()
                    .skip(1)
                    .map(move |v| (v.at_s, topology.services[s].name.clone(), v.name.clone()))
            })
            .collect();
        Self {
            scenario: scenario.name.clone(),
            now_s: now,
            duration_s: scenario.duration.get(),
            phase: incident.phase(sim.slos(), sim.threshold_alerts()),
            severity: incident.lifecycle.severity(),
            services,
            slos,
            pages,
            chat: incident.chat.clone(),
            hints: sim.remediations().hints.clone(),
            records: incident.records.clone(),
            roles: incident
                .roles
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
            zones: topology.zones.clone(),
            deploys,
            handoff_s: scenario
                .incident
                .as_ref()
                .and_then(|i| i.handoff)
                .map(|t| t.get()),
            severity_meanings: IncidentSeverity::ALL
                .into_iter()
                .map(|severity| {
                    let meaning = scenario
                        .incident
                        .as_ref()
                        .map_or(severity.generic_meaning(), |incident| {
                            incident.severity_meaning(severity)
                        });
                    (severity, meaning.to_string())
                })
                .collect(),
        }
    }

    pub fn service(&self, name: &str) -> Option<usize> {
        self.services.iter().position(|s| s.name == name)
    }
}

/// Sets each service's depth: its distance in calls from the traffic's entry points
/// (services nothing reaches go last).
pub fn layer(services: &mut [ServiceView], entries: impl Iterator<Item = usize>) {
    let mut frontier: Vec<usize> = entries.collect();
    for &s in &frontier {
        services[s].depth = 0;
    }
    while let Some(s) = frontier.pop() {
        let depth = services[s].depth + 1;
        for callee in services[s].calls.clone() {
            if services[callee].depth == usize::MAX || services[callee].depth < depth {
                // Longest path: a service sits below everything that calls it (no cycles).
                services[callee].depth = depth;
                frontier.push(callee);
            }
        }
    }
    let deepest = services
        .iter()
        .filter(|s| s.depth != usize::MAX)
        .map(|s| s.depth)
        .max()
        .unwrap_or(0);
    for s in services.iter_mut().filter(|s| s.depth == usize::MAX) {
        s.depth = deepest + 1;
    }
}

/// One series of a service's dashboard: (time, value) points.
pub type Series = Vec<[f64; 2]>;

/// A service's golden signals over a time range, for its dashboard.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dashboard {
    pub rps: Series,
    pub error_ratio: Series,
    pub p50: Series,
    pub p90: Series,
    pub p99: Series,
    pub cpu: Series,
    pub memory_mb: Series,
    pub queue: Series,
    pub healthy: Series,
    pub disk: Series,
    /// Where the service's deploys and rollbacks happened.
    pub deploys: Vec<(f64, String)>,
    pub memory_limit_mb: Option<f64>,
    pub latency_threshold: Option<f64>,
}

/// The time range a dashboard shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Range {
    /// The last five minutes, second by second.
    FiveMinutes,
    /// The last five minutes, each second showing its traffic, errors and CPU over the
    /// minute before it, as a `rate(...[1m])` panel does (latency stays per second).
    FiveMinutesRates,
    /// The whole run, minute by minute.
    Run,
}

impl Dashboard {
    pub fn of(scenario: &Scenario, sim: &Simulation, service: usize, range: Range) -> Self {
        let metrics = sim.service_metrics(service);
        let (rows, span, window) = match range {
            Range::FiveMinutes => (metrics.seconds.rows(), 1.0, 1),
            Range::FiveMinutesRates => (metrics.seconds.rows(), 1.0, 60),
            Range::Run => (metrics.minutes.rows(), 60.0, 1),
        };
        let reported: Vec<&ServiceRow> = rows.iter().filter(|r| r.reported).collect();
        let mut d = Dashboard::default();
        for (i, r) in reported.iter().enumerate() {
            let t = r.t;
            let recent = &reported[(i + 1).saturating_sub(window)..=i];
            let seconds = span * recent.len() as f64;
            let requests: u64 = recent.iter().map(|r| r.requests).sum();
            let ok: u64 = recent.iter().map(|r| r.ok).sum();
            let failed: u64 = recent
                .iter()
                .map(|r| r.server_errors + r.rejected + r.timeouts)
                .sum();
            d.rps.push([t, requests as f64 / seconds]);
            d.error_ratio.push([t, metrics::error_ratio(ok, failed)]);
            for (series, value) in [
                (&mut d.p50, r.p50),
                (&mut d.p90, r.p90),
                (&mut d.p99, r.p99),
            ] {
                // Beyond the top bucket: drawn at its bound, the most that is known.
                if let Some(v) = value {
                    series.push([t, v.min(crate::sim::histogram::top_bound())]);
                }
            }
            d.cpu.push([
                t,
                recent.iter().map(|r| r.cpu).sum::<f64>() / recent.len() as f64,
            ]);
            d.memory_mb.push([t, r.memory_max_mb]);
            d.queue.push([t, r.queue]);
            d.healthy.push([t, f64::from(r.healthy)]);
            d.disk.push([t, r.disk_used_ratio]);
        }
        let name = &sim.topology().services[service].name;
        d.deploys = sim.conditions().versions[service]
            .iter()
            .skip(1)
            .map(|v| (v.at_s, v.name.clone()))
            .collect();
        let spec = scenario.services.iter().find(|s| &s.name == name);
        d.memory_limit_mb = spec.and_then(|s| s.memory.limit_mb);
        d.latency_threshold = scenario.slos.iter().find_map(|slo| match slo.sli {
            Sli::Latency { threshold } if &slo.service == name => Some(threshold.get()),
            _ => None,
        });
        d
    }
}
