//! Faults: the scenario's timeline of things that break, resolved at the start of the run
//! and applied tick by tick. Each fault acts through a mechanism of the simulation — it bends
//! the [`Conditions`] the instances and calls read, or kills and flushes instances — so its
//! symptoms, side effects and recovery emerge from the model.

use bevy::prelude::*;
use serde::Serialize;

use std::sync::Arc;

use crate::scenario::{
    Condition, Edge, FaultKind, FaultSpec, FaultStart, Scenario, Severity, TargetKind,
};
use crate::sim::conditions::{ChangeKind, Conditions, Version};
use crate::sim::instance::{Effects, Me};
use crate::sim::metrics::ServiceRow;
use crate::sim::random::{self, uniform};
use crate::sim::step::{InstanceStore, Tick};
use crate::sim::topology::Topology;

/// What a fault is aimed at, resolved to indices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Service(usize),
    /// A caller and the index of the call in its `calls`.
    Edge(usize, usize),
    Source(usize),
    Zone(usize),
}

/// One fault of the timeline and what has become of it.
#[derive(Clone, Debug)]
pub struct Fault {
    pub name: String,
    pub kind: FaultKind,
    pub target: Target,
    start: Start,
    pub duration: Option<f64>,
    pub started_at: Option<f64>,
    pub ended_at: Option<f64>,
    /// The change whose undoing ends it, by name.
    pub caused_by: Option<String>,
}

#[derive(Clone, Debug)]
enum Start {
    At(f64),
    When(Condition, usize),
}

impl Fault {
    pub fn is_active(&self) -> bool {
        self.started_at.is_some() && self.ended_at.is_none()
    }
}

/// The scenario's faults, in file order, then those the game master injected.
#[derive(Resource, Clone, Debug, Default)]
pub struct FaultTimeline {
    pub faults: Vec<Fault>,
    /// What injected faults are checked against.
    scenario: Option<Arc<Scenario>>,
}

impl FaultTimeline {
    /// Resolves a validated scenario's faults: targets to indices, random start times drawn
    /// from the scenario's seed (one stream per fault, so adding a fault moves no other).
    pub fn compile(scenario: &Scenario, topology: &Topology) -> Self {
        let faults = scenario
            .faults
            .iter()
            .enumerate()
            .map(|(i, spec)| Fault::compile(i, spec, topology))
            .collect();
        Self {
            faults,
            scenario: Some(Arc::new(scenario.clone())),
        }
    }

    /// Adds a fault to the running timeline (the game master's injection), checked against
    /// the scenario as its own faults are; a refused fault changes nothing.
    pub fn inject(&mut self, spec: &FaultSpec, topology: &Topology) -> Result<(), String> {
        let scenario = self
            .scenario
            .as_deref()
            .ok_or("this simulation has no scenario to check an injected fault against")?;
        let problems = crate::scenario::check_extra_fault(scenario, "Inject", spec);
        if let Some(problem) = problems.iter().find(|p| p.severity == Severity::Error) {
            return Err(format!("{}: {}", problem.path, problem.message));
        }
        let fault = Fault::compile(self.faults.len(), spec, topology);
        self.faults.push(fault);
        Ok(())
    }

    /// Starts and ends faults at the start of `tick`, fires the one-shot ones, and rewrites
    /// `conditions` from the faults now active. Returns the deploys to roll out.
    pub fn advance(
        &mut self,
        topology: &Topology,
        conditions: &mut Conditions,
        instances: &mut impl InstanceStore,
        last_second: impl Fn(usize) -> Option<ServiceRow>,
        fx: &mut Effects,
        tick: Tick,
    ) -> Vec<Rollout> {
        let now = tick.t0;
        let mut rollouts = Vec::new();
        conditions.clear_bends();
        for fault in &mut self.faults {
            // A fault a remediation defused before it started (ended, never started) stays so.
            let waiting = fault.started_at.is_none() && fault.ended_at.is_none();
            if waiting
                && let (FaultKind::CertExpiry, Target::Service(s), Start::At(at)) =
                    (&fault.kind, fault.target, &fault.start)
            {
                // The time bomb's countdown is visible before it goes off.
                conditions.cert_expires_at[s] = Some(*at);
            }
            if waiting && fault.due(now, &last_second) {
                fault.started_at = Some(now);
                if fault.kind.is_one_shot() {
                    rollouts.extend(fire_once(fault, topology, conditions, instances, fx, now));
                    fault.ended_at = Some(now);
                }
            }
            if let (Some(start), Some(duration), None) =
                (fault.started_at, fault.duration, fault.ended_at)
                && now >= start + duration
            {
                fault.ended_at = Some(now);
            }
            if fault.is_active() {
                bend(fault, conditions);
            }
        }
        rollouts
    }

    /// Ends, at `now`, the faults `cures` says a remediation has fixed — active ones, and
    /// ones not started yet (a time bomb defused); how many.
    pub fn end_where(&mut self, now: f64, cures: impl Fn(&Fault) -> bool) -> usize {
        let mut ended = 0;
        for fault in &mut self.faults {
            if fault.ended_at.is_none() && cures(fault) {
                fault.ended_at = Some(now);
                ended += 1;
            }
        }
        ended
    }
}

/// A new version to roll out by restarting a service's instances one by one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rollout {
    pub service: usize,
    pub version: usize,
}

impl Fault {
    /// Resolves the `i`th fault of a validated timeline.
    fn compile(i: usize, spec: &FaultSpec, topology: &Topology) -> Self {
        let service = |name: &str| {
            topology
                .service_index(name)
                .expect("validated faults only name known services")
        };
        let target = match spec.kind.target_kind() {
            TargetKind::Service => Target::Service(service(&spec.target)),
            TargetKind::Edge => {
                let edge = Edge::parse(&spec.target).expect("validated edge");
                let (from, to) = (service(edge.from), service(edge.to));
                let edge = topology.services[from]
                    .edges
                    .iter()
                    .position(|e| e.to == to)
                    .expect("validated edge");
                Target::Edge(from, edge)
            }
            TargetKind::Zone => Target::Zone(
                topology
                    .zones
                    .iter()
                    .position(|z| *z == spec.target)
                    .expect("validated zone"),
            ),
            TargetKind::Traffic => Target::Source(
                topology
                    .sources
                    .iter()
                    .position(|s| s.name == spec.target)
                    .expect("validated traffic entry"),
            ),
        };
        let start = match &spec.start {
            FaultStart::At(at) => Start::At(at.get()),
            FaultStart::Between(low, high) => {
                let mut rng = random::stream(topology.seed, random::STREAM_FAULT + i as u64);
                Start::At(low.get() + uniform(&mut rng) * (high.get() - low.get()))
            }
            FaultStart::When(condition) => {
                Start::When(condition.clone(), service(condition.service()))
            }
        };
        Self {
            name: spec
                .name
                .clone()
                .unwrap_or_else(|| format!("{} on {}", spec.kind.label(), spec.target)),
            kind: spec.kind.clone(),
            target,
            start,
            duration: spec.duration.map(|d| d.get()),
            started_at: None,
            ended_at: None,
            caused_by: spec.caused_by.clone(),
        }
    }

    fn due(&self, now: f64, last_second: &impl Fn(usize) -> Option<ServiceRow>) -> bool {
        match &self.start {
            Start::At(at) => now >= *at,
            Start::When(condition, service) => {
                let Some(row) = last_second(*service) else {
                    return false;
                };
                match condition {
                    Condition::P99Above { seconds, .. } => {
                        row.p99.is_some_and(|p| p > seconds.get())
                    }
                    Condition::ErrorRatioAbove { ratio, .. } => {
                        row.outcomes() > 0 && row.error_ratio() > *ratio
                    }
                    Condition::RpsAbove { rps, .. } => row.requests as f64 > *rps,
                }
            }
        }
    }
}

/// Folds an active fault into the conditions.
fn bend(fault: &Fault, conditions: &mut Conditions) {
    match (fault.target, &fault.kind) {
        (Target::Service(s), kind) => {
            let c = &mut conditions.services[s];
            match kind {
                FaultKind::CrashLoop { uptime } => {
                    c.crash_after =
                        Some(c.crash_after.map_or(uptime.get(), |a| a.min(uptime.get())));
                }
                FaultKind::MemoryLeak {
                    per_request_mb,
                    per_minute_mb,
                } => {
                    c.leak_mb_per_request += per_request_mb;
                    c.leak_mb_per_second += per_minute_mb / 60.0;
                }
                FaultKind::CpuHog { cores } => c.cpu_hog_cores += cores,
                FaultKind::Latency { extra }
                | FaultKind::IoLatency { extra }
                | FaultKind::ConsumerLag { extra } => c.extra_latency += extra.get(),
                FaultKind::HotKey { ratio } => {
                    c.hot_key_ratio = 1.0 - (1.0 - c.hot_key_ratio) * (1.0 - ratio)
                }
                FaultKind::MissingMetrics => c.metrics_missing = true,
                FaultKind::AlertStorm => c.log_storm = true,
                FaultKind::ReplicationLag {
                    per_second,
                    tolerance,
                    fresh_reads,
                } => {
                    c.replication_lag_rate += per_second;
                    c.stale_reads = (tolerance.get(), *fresh_reads);
                }
                FaultKind::SlowQueries { factor } => c.latency_factor *= factor,
                FaultKind::Errors { ratio } => {
                    c.extra_error_ratio = 1.0 - (1.0 - c.extra_error_ratio) * (1.0 - ratio);
                }
                FaultKind::FeatureFlag {
                    error_ratio,
                    extra_latency,
                    ..
                } => {
                    c.extra_error_ratio = 1.0 - (1.0 - c.extra_error_ratio) * (1.0 - error_ratio);
                    c.extra_latency += extra_latency.get();
                }
                FaultKind::ReadinessFailure { instances } => {
                    c.probe_fails = c.probe_fails.max(*instances)
                }
                FaultKind::FlappingHealthChecks { ratio } => {
                    c.probe_flap_ratio = 1.0 - (1.0 - c.probe_flap_ratio) * (1.0 - ratio);
                }
                FaultKind::GcPauses { interval, pause } => {
                    c.gc = Some((interval.get(), pause.get()))
                }
                FaultKind::DiskFill {
                    per_request_mb,
                    per_minute_mb,
                } => {
                    c.disk_mb_per_request += per_request_mb;
                    c.disk_mb_per_second += per_minute_mb / 60.0;
                }
                FaultKind::CertExpiry => {
                    c.tls_expired = true;
                    conditions.cert_expires_at[s] = fault.started_at;
                }
                FaultKind::ClockSkew {
                    instances,
                    error_ratio,
                } => c.clock_skew = (*instances, *error_ratio),
                _ => {}
            }
        }
        (Target::Edge(from, edge), kind) => {
            let c = &mut conditions.edges[from][edge];
            match kind {
                FaultKind::NetworkLatency { extra } => c.extra_latency += extra.get(),
                FaultKind::PacketLoss { ratio } => {
                    c.loss_ratio = 1.0 - (1.0 - c.loss_ratio) * (1.0 - ratio);
                }
                FaultKind::Partition => c.loss_ratio = 1.0,
                FaultKind::DnsFailure => c.unresolvable = true,
                _ => {}
            }
        }
        (Target::Source(i), FaultKind::TrafficSurge { multiplier }) => {
            conditions.sources[i].rate_factor *= multiplier;
        }
        (Target::Zone(z), _) => conditions.zones_down[z] = true,
        (Target::Source(_), _) => {}
    }
}

/// Faults that happen once: crashes, cache flushes, deploys and configuration pushes.
fn fire_once(
    fault: &Fault,
    topology: &Topology,
    conditions: &mut Conditions,
    instances: &mut impl InstanceStore,
    fx: &mut Effects,
    now: f64,
) -> Option<Rollout> {
    let Target::Service(s) = fault.target else {
        return None;
    };
    let model = &topology.services[s];
    let members = model.members();
    match fault.kind {
        FaultKind::Crash { instances: count } => {
            let mut left = count;
            for global in members {
                let state = instances.instance(global);
                if left == 0 {
                    break;
                }
                if state.up {
                    let me = Me {
                        topology,
                        conditions,
                        service: s,
                        global,
                    };
                    state.kill(me, now, crate::sim::logs::Down::Killed, fx);
                    left -= 1;
                }
            }
        }
        FaultKind::CacheFlush => {
            for global in members {
                instances.instance(global).flush_cache();
            }
        }
        FaultKind::Deploy {
            ref version,
            error_ratio,
            latency_factor,
            leak_mb_per_request,
        } => {
            let history = &mut conditions.versions[s];
            history.push(Version {
                name: version.clone(),
                at_s: now,
                change: ChangeKind::Deploy,
                error_ratio,
                latency_factor,
                leak_mb_per_request,
                previous: history.len() - 1,
            });
            return Some(Rollout {
                service: s,
                version: history.len() - 1,
            });
        }
        FaultKind::ConfigPush {
            ref change,
            error_ratio,
            latency_factor,
        } => {
            // A config change bends the code that runs: its effects add to the current version's.
            let history = &mut conditions.versions[s];
            let current = history
                .last()
                .expect("a history starts with the initial version")
                .clone();
            history.push(Version {
                name: format!("{} + {change}", current.name),
                at_s: now,
                change: ChangeKind::Config,
                error_ratio: 1.0 - (1.0 - current.error_ratio) * (1.0 - error_ratio),
                latency_factor: current.latency_factor * latency_factor,
                leak_mb_per_request: current.leak_mb_per_request,
                previous: history.len() - 1,
            });
            let version = history.len() - 1;
            for global in members {
                instances.instance(global).version = version;
            }
        }
        _ => {}
    }
    None
}

/// A fault's story, for reports.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FaultRecord {
    pub name: String,
    pub kind: String,
    pub started_s: Option<f64>,
    pub ended_s: Option<f64>,
}

impl FaultTimeline {
    pub fn records(&self) -> Vec<FaultRecord> {
        self.faults
            .iter()
            .map(|f| FaultRecord {
                name: f.name.clone(),
                kind: f.kind.label().to_string(),
                started_s: f.started_at,
                ended_s: f.ended_at,
            })
            .collect()
    }
}

/// One line of `firedrill catalog`: a fault kind as a scenario author writes it.
pub struct CatalogEntry {
    pub name: &'static str,
    pub target: &'static str,
    /// A complete `faults` entry, as it goes into a scenario.
    pub example: &'static str,
    pub description: &'static str,
}

/// Every fault kind, for authors (`firedrill catalog`) and for the docs.
pub const CATALOG: &[CatalogEntry] = &[
    CatalogEntry {
        name: "Crash",
        target: "service",
        example: r#"(kind: Crash(instances: 2), target: "web", start: At("5m"))"#,
        description: "instances die at once (in flight requests fail) and come back cold after restart_time",
    },
    CatalogEntry {
        name: "CrashLoop",
        target: "service",
        example: r#"(kind: CrashLoop(uptime: "5s"), target: "web", start: At("5m"), duration: "10m")"#,
        description: "every instance that comes up dies again after `uptime`: healthy count stuck low, restarts climbing",
    },
    CatalogEntry {
        name: "MemoryLeak",
        target: "service",
        example: r#"(kind: MemoryLeak(per_request_mb: 0.2, per_minute_mb: 5.0), target: "web", start: At("2m"))"#,
        description: "memory that only a restart frees; rises in a line you can extrapolate, then OOM kills at memory.limit_mb",
    },
    CatalogEntry {
        name: "CpuHog",
        target: "service",
        example: r#"(kind: CpuHog(cores: 1.5), target: "web", start: At("5m"))"#,
        description: "a runaway process with `cores` busy threads competes for the cores: requests get a smaller share of them, slow down, and CPU saturates",
    },
    CatalogEntry {
        name: "Latency",
        target: "service",
        example: r#"(kind: Latency(extra: "300ms"), target: "catalog", start: At("5m"))"#,
        description: "every request takes longer (a slow endpoint): workers stay busy longer, queues and callers' latency grow",
    },
    CatalogEntry {
        name: "SlowQueries",
        target: "service (a Database)",
        example: r#"(kind: SlowQueries(factor: 5.0), target: "orders-db", start: At("5m"))"#,
        description: "work takes `factor` times as long: pool slots are held, queries wait for a connection, callers time out",
    },
    CatalogEntry {
        name: "Errors",
        target: "service",
        example: r#"(kind: Errors(ratio: 0.2), target: "payment", start: At("5m"), duration: "10m")"#,
        description: "a share of requests fail with a server error; callers fail or retry",
    },
    CatalogEntry {
        name: "NetworkLatency",
        target: "edge caller->callee",
        example: r#"(kind: NetworkLatency(extra: "200ms"), target: "web->catalog", start: At("5m"))"#,
        description: "calls take longer to arrive: the caller is slow while the callee's own latency looks fine",
    },
    CatalogEntry {
        name: "PacketLoss",
        target: "edge caller->callee",
        example: r#"(kind: PacketLoss(ratio: 0.1), target: "web->catalog", start: At("5m"))"#,
        description: "a share of calls are lost: the caller times out on them, the callee never sees them",
    },
    CatalogEntry {
        name: "Partition",
        target: "edge caller->callee",
        example: r#"(kind: Partition, target: "checkout->payment", start: At("5m"), duration: "3m")"#,
        description: "no call gets through: every call waits out its timeout, holding the caller's workers",
    },
    CatalogEntry {
        name: "DnsFailure",
        target: "edge caller->callee",
        example: r#"(kind: DnsFailure, target: "checkout->payment", start: At("5m"))"#,
        description: "the callee's name does not resolve: calls fail at once, the callee sees no traffic",
    },
    CatalogEntry {
        name: "CacheFlush",
        target: "service (a Cache)",
        example: r#"(kind: CacheFlush, target: "product-cache", start: At("5m"))"#,
        description: "the cache loses every key: misses go to the backing store, which may be too slow for fills to land",
    },
    CatalogEntry {
        name: "TrafficSurge",
        target: "traffic entry",
        example: r#"(kind: TrafficSurge(multiplier: 3.0), target: "shoppers", start: At("5m"), duration: "10m")"#,
        description: "the entry's first tries multiply (a campaign, a bot, a homepage flood)",
    },
    CatalogEntry {
        name: "Deploy",
        target: "service",
        example: r#"(kind: Deploy(version: "v2.4.0", error_ratio: 0.15, latency_factor: 1.5), target: "checkout", start: At("5m"))"#,
        description: "a new version rolled out by restarting instances one by one; errors grow as it spreads. No fields but version: a good deploy",
    },
    CatalogEntry {
        name: "ConfigPush",
        target: "service",
        example: r#"(kind: ConfigPush(change: "pool-timeout=50ms", error_ratio: 0.3), target: "api", start: At("5m"))"#,
        description: "a configuration change applied to every instance at once, on top of the running version",
    },
    CatalogEntry {
        name: "FeatureFlag",
        target: "service",
        example: r#"(kind: FeatureFlag(flag: "new-pricing", error_ratio: 0.2, extra_latency: "100ms"), target: "web", start: At("5m"))"#,
        description: "a flag turned on whose code path fails or is slow, until the flag is disabled",
    },
    CatalogEntry {
        name: "IoLatency",
        target: "service",
        example: r#"(kind: IoLatency(extra: "150ms"), target: "orders-db", start: At("5m"))"#,
        description: "disk I/O slows down: latency rises while CPU stays flat (waiting, not working)",
    },
    CatalogEntry {
        name: "HotKey",
        target: "service",
        example: r#"(kind: HotKey(ratio: 0.05), target: "catalog", start: At("5m"))"#,
        description: "one key fails every request that touches it, on every retry: retries multiply load and fix nothing",
    },
    CatalogEntry {
        name: "MissingMetrics",
        target: "service",
        example: r#"(kind: MissingMetrics, target: "payment", start: At("5m"), duration: "10m")"#,
        description: "the service stops reporting metrics: dashboards show a gap while it keeps working (or failing)",
    },
    CatalogEntry {
        name: "ConsumerLag",
        target: "service (a Queue)",
        example: r#"(kind: ConsumerLag(extra: "200ms"), target: "emails", start: At("5m"))"#,
        description: "the queue's consumers slow down: the backlog and its age grow while producers see nothing",
    },
    CatalogEntry {
        name: "ReplicationLag",
        target: "service (a Database with replicas)",
        example: r#"(kind: ReplicationLag(per_second: 0.2, tolerance: "10s", fresh_reads: 0.2), target: "orders-db", start: At("5m"))"#,
        description: "replicas fall behind in a line you can extrapolate; past the tolerance, reads needing fresh data fail on them",
    },
    CatalogEntry {
        name: "AlertStorm",
        target: "service",
        example: r#"(kind: AlertStorm, target: "web", start: At("5m"), duration: "15m")"#,
        description: "a flood of plausible, irrelevant warnings buries the lines that matter",
    },
    CatalogEntry {
        name: "ZoneLoss",
        target: "zone",
        example: r#"(kind: ZoneLoss, target: "a", start: At("5m"), duration: "20m")"#,
        description: "every instance in the zone dies and cannot restart; survivors take the load (n/(n-k)) and may cascade",
    },
    CatalogEntry {
        name: "ReadinessFailure",
        target: "service",
        example: r#"(kind: ReadinessFailure(instances: 2), target: "web", start: At("5m"))"#,
        description: "probes of working instances fail: the balancer ejects them and the others take their load",
    },
    CatalogEntry {
        name: "FlappingHealthChecks",
        target: "service",
        example: r#"(kind: FlappingHealthChecks(ratio: 0.3), target: "web", start: At("5m"))"#,
        description: "probes fail at random: instances flap in and out of rotation, the healthy count jitters",
    },
    CatalogEntry {
        name: "GcPauses",
        target: "service",
        example: r#"(kind: GcPauses(interval: "10s", pause: "800ms"), target: "api", start: At("5m"))"#,
        description: "stop-the-world pauses: the tail (p99) stretches while the median barely moves",
    },
    CatalogEntry {
        name: "DiskFill",
        target: "service",
        example: r#"(kind: DiskFill(per_request_mb: 0.5), target: "api", start: At("2m"))"#,
        description: "logs fill the disk in a line you can extrapolate; at 100% every request that writes fails",
    },
    CatalogEntry {
        name: "CertExpiry",
        target: "service",
        example: r#"(kind: CertExpiry, target: "payment", start: At("20m"))"#,
        description: "a time bomb: the remaining validity counts down on the dashboard; at expiry every call to the service fails",
    },
    CatalogEntry {
        name: "ClockSkew",
        target: "service",
        example: r#"(kind: ClockSkew(instances: 1, error_ratio: 0.8), target: "auth", start: At("5m"))"#,
        description: "instances with drifting clocks fail token checks: errors concentrated on those instances",
    },
];
