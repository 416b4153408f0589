//! Remediations: what a responder does to the fleet, each acting through the simulation's
//! mechanisms with the delay and side effects it has in production. A restart drains an
//! instance, kills it and brings it back cold; shedding refuses load at the door; a circuit
//! breaker fails calls fast. Wrong moves hurt as they would: restarting a leaking service
//! only delays its next OOM, restarting everything at once takes the service down.
//!
//! Action scripts (`firedrill run SCENARIO --script actions.ron`) schedule remediations at
//! simulated times, so every fault and remediation pair can be tested headless.

use std::collections::VecDeque;

use bevy::prelude::*;
use serde::{Deserialize, Serialize};

use crate::faults::{FaultTimeline, Target};
use crate::scenario::{Backoff, FaultKind, Seconds, ServiceSpec};
use crate::sim::conditions::Conditions;
use crate::sim::conditions::{ChangeKind, Version};
use crate::sim::instance::{Effects, Me};
use crate::sim::metrics::Tallies;
use crate::sim::step::{InstanceStore, Tick};
use crate::sim::topology::{RetryPolicy, Topology};
use crate::sim::{Fleet, InstanceOf, SimClock, SimSet, events::Events, instance::InstanceState};

pub(super) fn plugin(app: &mut App) {
    app.add_systems(
        FixedUpdate,
        apply_remediations
            .in_set(SimSet::Remediations)
            .run_if(resource_exists::<Remediations>),
    );
}

/// How long a restarting instance may take to finish its requests before it is killed.
pub const DRAIN_TIMEOUT: f64 = 10.0;
/// How long a paged expert takes to arrive.
pub const EXPERT_DELAY: f64 = 300.0;
/// How long a new instance takes to boot before its first probe.
pub const PROVISION_TIME: f64 = 60.0;
/// How long warming a cache takes, from empty to full.
pub const WARM_TIME: f64 = 60.0;

/// The least time the remediation named `action` takes to act on `service` once applied
/// (the drain before each restart is left out: it can be instant). `rolls_out` says whether
/// a rollback would roll a deploy out again (a config push or a flag is undone at once).
pub fn least_time_to_act(action: &str, service: Option<&ServiceSpec>, rolls_out: bool) -> f64 {
    let restart = service.map_or(0.0, |s| s.restart_time.get());
    let instances = service.map_or(1, |s| s.instances) as f64;
    match action {
        "RestartInstance" | "RestartAll" => restart,
        "RollingRestart" | "RollForward" => instances * restart,
        "Rollback" if rolls_out => instances * restart,
        "ScaleOut" => PROVISION_TIME,
        "WarmCache" => WARM_TIME,
        _ => 0.0,
    }
}

/// Something a responder can do to the fleet. Targets are named as in the scenario.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub enum Remediation {
    /// Drain one instance, restart it, and let it come back cold.
    RestartInstance {
        service: String,
        instance: u32,
    },
    /// Restart the instances one after another: capacity dips by one while it runs.
    RollingRestart {
        service: String,
    },
    /// Restart every instance at once: fast, and the service is down meanwhile.
    RestartAll {
        service: String,
    },
    /// Admit at most `max_rps` requests per second to the service; refuse the rest at once.
    ShedLoad {
        service: String,
        max_rps: f64,
    },
    StopShedding {
        service: String,
    },
    /// Pre-fill a cache from its backing store over a minute.
    WarmCache {
        service: String,
    },
    /// Resize the pool (workers) of every instance of a service: a database's connections.
    SetPool {
        service: String,
        size: u32,
    },
    /// Hold the circuit breaker on a call edge open: calls fail fast instead of waiting.
    OpenCircuit {
        from: String,
        to: String,
    },
    CloseCircuit {
        from: String,
        to: String,
    },
    /// Return to the version that ran before the service's last deploy or config push:
    /// a deploy is rolled back instance by instance, a config push at once.
    Rollback {
        service: String,
    },
    /// Turn a feature flag off, ending what its code path was doing.
    DisableFlag {
        service: String,
        flag: String,
    },
    /// Fix name resolution on a call edge.
    FixDns {
        from: String,
        to: String,
    },
    /// Rotate logs on every instance, freeing the disk they filled.
    FreeDisk {
        service: String,
    },
    /// Install a new certificate, before or after the old one expires.
    RotateCertificate {
        service: String,
    },
    /// Deploy a fixed version, rolled out like any deploy.
    RollForward {
        service: String,
        version: String,
    },
    /// Take one instance out of rotation without restarting it (keep it for evidence).
    EjectInstance {
        service: String,
        instance: u32,
    },
    RestoreInstance {
        service: String,
        instance: u32,
    },
    /// Shift traffic away from a zone: balancers send it nothing.
    DrainZone {
        zone: String,
    },
    RestoreZone {
        zone: String,
    },
    /// Rebuild a database's replicas from a fresh snapshot: their lag goes, and so does a
    /// replication-lag fault.
    ResyncReplicas {
        service: String,
    },
    /// Stop a queue's deliveries (its consumers): the backlog grows until resumed.
    PauseConsumers {
        queue: String,
    },
    ResumeConsumers {
        queue: String,
    },
    /// Provision `count` more instances: they boot, then join once their probes pass.
    ScaleOut {
        service: String,
        count: u32,
    },
    /// Drain and remove `count` instances (the newest first); at least one stays.
    ScaleIn {
        service: String,
        count: u32,
    },
    /// Change a caller's timeout, retries or backoff on one edge.
    TuneCalls {
        from: String,
        to: String,
        #[serde(default)]
        timeout: Option<Seconds>,
        #[serde(default)]
        retries: Option<u32>,
        #[serde(default)]
        backoff: Option<Backoff>,
    },
}

impl Remediation {
    /// A change rather than a mitigation: new code or less capacity, which the error budget
    /// policy freezes once a budget is exhausted. Rolling back, restarting, shedding and the
    /// like stop the bleeding and stay allowed.
    pub fn is_change(&self) -> bool {
        matches!(self, Self::RollForward { .. } | Self::ScaleIn { .. })
    }

    /// The remediation as an action script writes it.
    pub fn to_ron(&self) -> String {
        ron::to_string(self).expect("remediations serialize")
    }

    /// Kills processes and with them the evidence they hold (memory, local logs): take a
    /// heap dump or read the logs first.
    pub fn is_destructive(&self) -> bool {
        matches!(
            self,
            Self::RestartInstance { .. }
                | Self::RollingRestart { .. }
                | Self::RestartAll { .. }
                | Self::ScaleIn { .. }
        )
    }

    /// What it acts on, as a scenario names it: a service, a call edge `"web->checkout"`,
    /// a zone or a queue.
    pub fn target(&self) -> String {
        match self {
            Self::RestartInstance { service, .. }
            | Self::RollingRestart { service }
            | Self::RestartAll { service }
            | Self::ShedLoad { service, .. }
            | Self::StopShedding { service }
            | Self::WarmCache { service }
            | Self::SetPool { service, .. }
            | Self::Rollback { service }
            | Self::DisableFlag { service, .. }
            | Self::FreeDisk { service }
            | Self::RotateCertificate { service }
            | Self::RollForward { service, .. }
            | Self::EjectInstance { service, .. }
            | Self::RestoreInstance { service, .. }
            | Self::ResyncReplicas { service }
            | Self::ScaleOut { service, .. }
            | Self::ScaleIn { service, .. } => service.clone(),
            Self::OpenCircuit { from, to }
            | Self::CloseCircuit { from, to }
            | Self::FixDns { from, to }
            | Self::TuneCalls { from, to, .. } => format!("{from}->{to}"),
            Self::DrainZone { zone } | Self::RestoreZone { zone } => zone.clone(),
            Self::PauseConsumers { queue } | Self::ResumeConsumers { queue } => queue.clone(),
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Self::RestartInstance { .. } => "RestartInstance",
            Self::RollingRestart { .. } => "RollingRestart",
            Self::RestartAll { .. } => "RestartAll",
            Self::ShedLoad { .. } => "ShedLoad",
            Self::StopShedding { .. } => "StopShedding",
            Self::WarmCache { .. } => "WarmCache",
            Self::SetPool { .. } => "SetPool",
            Self::OpenCircuit { .. } => "OpenCircuit",
            Self::CloseCircuit { .. } => "CloseCircuit",
            Self::Rollback { .. } => "Rollback",
            Self::DisableFlag { .. } => "DisableFlag",
            Self::FixDns { .. } => "FixDns",
            Self::FreeDisk { .. } => "FreeDisk",
            Self::RotateCertificate { .. } => "RotateCertificate",
            Self::RollForward { .. } => "RollForward",
            Self::EjectInstance { .. } => "EjectInstance",
            Self::RestoreInstance { .. } => "RestoreInstance",
            Self::DrainZone { .. } => "DrainZone",
            Self::RestoreZone { .. } => "RestoreZone",
            Self::ResyncReplicas { .. } => "ResyncReplicas",
            Self::PauseConsumers { .. } => "PauseConsumers",
            Self::ResumeConsumers { .. } => "ResumeConsumers",
            Self::ScaleOut { .. } => "ScaleOut",
            Self::ScaleIn { .. } => "ScaleIn",
            Self::TuneCalls { .. } => "TuneCalls",
        }
    }
}

/// A remediation with its targets resolved to indices.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    Restart {
        service: usize,
        instances: Vec<u32>,
        one_at_a_time: bool,
    },
    ScaleOut {
        service: usize,
        count: u32,
    },
    RollForward {
        service: usize,
        version: String,
    },
    Eject {
        instance: u32,
        ejected: bool,
    },
    Zone {
        zone: usize,
        drained: bool,
    },
    Consumers {
        queue: usize,
        paused: bool,
    },
    Resync {
        service: usize,
    },
    ScaleIn {
        service: usize,
        count: u32,
    },
    Rollback {
        service: usize,
    },
    DisableFlag {
        service: usize,
        flag: String,
    },
    FixDns {
        from: usize,
        edge: usize,
    },
    FreeDisk {
        service: usize,
    },
    RotateCertificate {
        service: usize,
    },
    Shed {
        service: usize,
        max_rps: Option<f64>,
    },
    WarmCache {
        service: usize,
    },
    SetPool {
        service: usize,
        size: u32,
    },
    Circuit {
        from: usize,
        edge: usize,
        open: bool,
    },
    Tune {
        from: usize,
        edge: usize,
        timeout: Option<f64>,
        retries: Option<u32>,
        backoff: Option<Backoff>,
    },
}

impl Op {
    /// Resolves `remediation` against the fleet, or says what is wrong with it.
    pub fn resolve(remediation: &Remediation, topology: &Topology) -> Result<Self, String> {
        let service = |name: &str| {
            topology.service_index(name).ok_or_else(|| {
                let names: Vec<&str> = topology.services.iter().map(|s| s.name.as_str()).collect();
                match crate::scenario::closest(name, &names) {
                    Some(close) => {
                        format!("unknown service \"{name}\" (did you mean \"{close}\"?)")
                    }
                    None => format!("unknown service \"{name}\""),
                }
            })
        };
        let edge = |from: &str, to: &str| -> Result<(usize, usize), String> {
            let (a, b) = (service(from)?, service(to)?);
            topology.services[a]
                .edges
                .iter()
                .position(|e| e.to == b)
                .map(|k| (a, k))
                .ok_or_else(|| format!("\"{from}\" does not call \"{to}\""))
        };
        let all = |s: usize| {
            let m = &topology.services[s];
            m.members().collect::<Vec<u32>>()
        };
        Ok(match remediation {
            Remediation::RestartInstance {
                service: name,
                instance,
            } => {
                let s = service(name)?;
                let m = &topology.services[s];
                if *instance >= m.slots {
                    return Err(format!(
                        "\"{name}\" has {} instances (0 to {}): there is no instance {instance}",
                        m.slots,
                        m.slots - 1
                    ));
                }
                Op::Restart {
                    service: s,
                    instances: vec![m.first_instance + instance],
                    one_at_a_time: true,
                }
            }
            Remediation::RollingRestart { service: name } => {
                let s = service(name)?;
                Op::Restart {
                    service: s,
                    instances: all(s),
                    one_at_a_time: true,
                }
            }
            Remediation::RestartAll { service: name } => {
                let s = service(name)?;
                Op::Restart {
                    service: s,
                    instances: all(s),
                    one_at_a_time: false,
                }
            }
            Remediation::ShedLoad {
                service: name,
                max_rps,
            } => {
                if !(*max_rps > 0.0 && max_rps.is_finite()) {
                    return Err(format!("max_rps must be above 0 (got {max_rps})"));
                }
                Op::Shed {
                    service: service(name)?,
                    max_rps: Some(*max_rps),
                }
            }
            Remediation::Rollback { service: name } => Op::Rollback {
                service: service(name)?,
            },
            Remediation::DisableFlag {
                service: name,
                flag,
            } => Op::DisableFlag {
                service: service(name)?,
                flag: flag.clone(),
            },
            Remediation::RollForward {
                service: name,
                version,
            } => {
                if version.trim().is_empty() {
                    return Err("a roll forward needs a version name".to_string());
                }
                Op::RollForward {
                    service: service(name)?,
                    version: version.clone(),
                }
            }
            Remediation::EjectInstance {
                service: name,
                instance,
            }
            | Remediation::RestoreInstance {
                service: name,
                instance,
            } => {
                let m = &topology.services[service(name)?];
                if *instance >= m.slots {
                    return Err(format!(
                        "\"{name}\" has {} instances (0 to {}): there is no instance {instance}",
                        m.slots,
                        m.slots - 1
                    ));
                }
                Op::Eject {
                    instance: m.first_instance + instance,
                    ejected: matches!(remediation, Remediation::EjectInstance { .. }),
                }
            }
            Remediation::ResyncReplicas { service: name } => {
                let s = service(name)?;
                if !matches!(
                    topology.services[s].kind,
                    crate::scenario::ServiceKind::Database { .. }
                ) {
                    return Err(format!("\"{name}\" is not a Database"));
                }
                Op::Resync { service: s }
            }
            Remediation::PauseConsumers { queue } | Remediation::ResumeConsumers { queue } => {
                let s = service(queue)?;
                if topology.services[s].kind != crate::scenario::ServiceKind::Queue {
                    return Err(format!("\"{queue}\" is not a Queue"));
                }
                Op::Consumers {
                    queue: s,
                    paused: matches!(remediation, Remediation::PauseConsumers { .. }),
                }
            }
            Remediation::DrainZone { zone } | Remediation::RestoreZone { zone } => {
                let index = topology
                    .zones
                    .iter()
                    .position(|z| z == zone)
                    .ok_or_else(|| {
                        format!(
                            "unknown zone \"{zone}\" (zones: {})",
                            topology.zones.join(", ")
                        )
                    })?;
                Op::Zone {
                    zone: index,
                    drained: matches!(remediation, Remediation::DrainZone { .. }),
                }
            }
            Remediation::ScaleOut {
                service: name,
                count,
            } => {
                let s = service(name)?;
                let m = &topology.services[s];
                if *count == 0 || *count > m.slots - m.instances {
                    return Err(format!(
                        "\"{name}\" can grow by at most {} instances (max_instances is {}); asked for {count}",
                        m.slots - m.instances,
                        m.slots
                    ));
                }
                Op::ScaleOut {
                    service: s,
                    count: *count,
                }
            }
            Remediation::ScaleIn {
                service: name,
                count,
            } => {
                if *count == 0 {
                    return Err("scaling in by 0 does nothing".to_string());
                }
                Op::ScaleIn {
                    service: service(name)?,
                    count: *count,
                }
            }
            Remediation::FreeDisk { service: name } => Op::FreeDisk {
                service: service(name)?,
            },
            Remediation::RotateCertificate { service: name } => Op::RotateCertificate {
                service: service(name)?,
            },
            Remediation::FixDns { from, to } => {
                let (from, edge) = edge(from, to)?;
                Op::FixDns { from, edge }
            }
            Remediation::StopShedding { service: name } => Op::Shed {
                service: service(name)?,
                max_rps: None,
            },
            Remediation::WarmCache { service: name } => {
                let s = service(name)?;
                if !matches!(
                    topology.services[s].kind,
                    crate::scenario::ServiceKind::Cache { .. }
                ) {
                    return Err(format!("\"{name}\" is not a Cache"));
                }
                Op::WarmCache { service: s }
            }
            Remediation::SetPool {
                service: name,
                size,
            } => {
                if *size == 0 {
                    return Err("a pool of 0 serves nothing; use at least 1".to_string());
                }
                Op::SetPool {
                    service: service(name)?,
                    size: *size,
                }
            }
            Remediation::OpenCircuit { from, to } | Remediation::CloseCircuit { from, to } => {
                let (from, edge) = edge(from, to)?;
                let open = matches!(remediation, Remediation::OpenCircuit { .. });
                Op::Circuit { from, edge, open }
            }
            Remediation::TuneCalls {
                from,
                to,
                timeout,
                retries,
                backoff,
            } => {
                if timeout.is_some_and(|t| t.get() <= 0.0) {
                    return Err("timeout must be greater than zero".to_string());
                }
                let (from, edge) = edge(from, to)?;
                Op::Tune {
                    from,
                    edge,
                    timeout: timeout.map(Seconds::get),
                    retries: *retries,
                    backoff: *backoff,
                }
            }
        })
    }
}

/// A restart in progress: instances still to restart, and the one(s) being restarted.
#[derive(Clone, Debug)]
struct Restart {
    service: usize,
    waiting: VecDeque<u32>,
    /// Instances draining, with the time they are killed at the latest.
    draining: Vec<(u32, f64)>,
    /// Instances killed, waiting to come back.
    restarting: Vec<u32>,
    one_at_a_time: bool,
    /// The version instances come back on, for a deploy or a rollback.
    to_version: Option<usize>,
    /// The instances are removed instead of coming back (scaling in).
    remove: bool,
}

/// A cache warm-up in progress.
#[derive(Clone, Debug)]
struct Warming {
    service: usize,
    until: f64,
}

/// What a paged expert said when they arrived.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Hint {
    pub at_s: f64,
    /// The service the expert knows.
    pub expert: String,
    pub text: String,
}

/// What an expert on `service` finds: the active faults that touch it, or that it is not
/// where the trouble is.
fn expert_finding(topology: &Topology, faults: &FaultTimeline, service: usize) -> String {
    let name = &topology.services[service].name;
    let touches = |target: Target| match target {
        Target::Service(s) => s == service,
        Target::Edge(from, edge) => {
            from == service || topology.services[from].edges[edge].to == service
        }
        Target::Zone(_) => true,
        Target::Source(i) => topology.sources[i].to == service,
    };
    let found: Vec<String> = faults
        .faults
        .iter()
        .filter(|f| f.is_active() && touches(f.target))
        .map(|f| {
            format!(
                "{} (since {})",
                f.name,
                Seconds(f.started_at.unwrap_or_default())
            )
        })
        .collect();
    if found.is_empty() {
        format!("nothing is wrong with {name} itself: look at what it depends on")
    } else {
        format!("on {name} I see: {}", found.join("; "))
    }
}

/// A remediation applied, for reports and the debrief.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Applied {
    pub at_s: f64,
    /// The remediation as an action script writes it.
    pub action: String,
    /// A non-emergency change made while an error budget was exhausted: the error budget
    /// policy's change freeze forbids it.
    pub violates_freeze: bool,
}

/// Remediations scheduled, running and in force.
#[derive(Resource, Clone, Debug)]
pub struct Remediations {
    pending: VecDeque<(f64, Remediation)>,
    restarts: Vec<Restart>,
    warmings: Vec<Warming>,
    shed: Vec<Option<f64>>,
    zones_drained: Vec<bool>,
    /// Deliveries at a time each paused queue instance had, to resume with.
    paused: Vec<Option<Vec<u32>>>,
    /// Experts on their way: when they arrive, and the service they know.
    experts: Vec<(f64, usize)>,
    /// What the experts said.
    pub hints: Vec<Hint>,
    /// An error budget is exhausted: the change freeze of the error budget policy applies.
    pub freeze: bool,
    circuits: Vec<Vec<bool>>,
    policies: Vec<Vec<Option<RetryPolicy>>>,
    pub applied: Vec<Applied>,
}

impl Remediations {
    pub fn new(topology: &Topology) -> Self {
        Self {
            pending: VecDeque::new(),
            restarts: Vec::new(),
            warmings: Vec::new(),
            shed: vec![None; topology.services.len()],
            zones_drained: vec![false; topology.zones.len()],
            paused: vec![None; topology.services.len()],
            experts: Vec::new(),
            hints: Vec::new(),
            freeze: false,
            circuits: topology
                .services
                .iter()
                .map(|s| vec![false; s.edges.len()])
                .collect(),
            policies: topology
                .services
                .iter()
                .map(|s| vec![None; s.edges.len()])
                .collect(),
            applied: Vec::new(),
        }
    }

    /// Sends an expert on `service`, who arrives after [`EXPERT_DELAY`] and says what they find.
    pub fn page_expert(&mut self, service: usize, now: f64) {
        self.experts.push((now + EXPERT_DELAY, service));
    }

    /// Schedules `remediation` at simulated time `at` (kept in time order, ties in order given).
    pub fn schedule(&mut self, at: f64, remediation: Remediation) {
        let index = self.pending.partition_point(|(t, _)| *t <= at);
        self.pending.insert(index, (at, remediation));
    }

    /// Starts what is due at the start of `tick`, moves running remediations on, and folds
    /// those in force into `conditions` (after the faults have written theirs).
    pub fn advance(
        &mut self,
        topology: &Topology,
        conditions: &mut Conditions,
        faults: &mut FaultTimeline,
        instances: &mut impl InstanceStore,
        fx: &mut Effects,
        tick: Tick,
    ) {
        let now = tick.t0;
        while self.pending.front().is_some_and(|(at, _)| *at <= now) {
            let (_, remediation) = self.pending.pop_front().expect("peeked");
            // Scripts are checked when loaded; a command that no longer fits is skipped.
            if let Ok(op) = Op::resolve(&remediation, topology) {
                self.start(op, topology, (conditions, faults), instances, fx, now);
                self.applied.push(Applied {
                    at_s: now,
                    action: remediation.to_ron(),
                    violates_freeze: self.freeze && remediation.is_change(),
                });
            }
        }
        self.progress_restarts(topology, conditions, instances, fx, now);
        let (arrived, waiting): (Vec<_>, Vec<_>) =
            self.experts.iter().partition(|(at, _)| *at <= now);
        self.experts = waiting;
        for (_, service) in arrived {
            self.hints.push(Hint {
                at_s: now,
                expert: topology.services[service].name.clone(),
                text: expert_finding(topology, faults, service),
            });
        }
        self.progress_warmings(topology, instances, tick);
        for (s, limit) in self.shed.iter().enumerate() {
            if let Some(rps) = limit {
                let m = &topology.services[s];
                let live = m
                    .members()
                    .filter(|&g| instances.instance(g).provisioned)
                    .count()
                    .max(1);
                conditions.services[s].admit_rps = Some(rps / live as f64);
            }
        }
        for (zone, drained) in self.zones_drained.iter().enumerate() {
            conditions.zones_drained[zone] |= drained;
        }
        for (s, edges) in conditions.edges.iter_mut().enumerate() {
            for (k, edge) in edges.iter_mut().enumerate() {
                edge.circuit_open |= self.circuits[s][k];
                if let Some(policy) = self.policies[s][k] {
                    edge.policy = Some(policy);
                }
            }
        }
    }

    /// Rolls version `version` of `service` out, restarting its instances one by one.
    pub fn roll_out(&mut self, topology: &Topology, service: usize, version: usize) {
        let m = &topology.services[service];
        self.restarts.push(Restart {
            service,
            waiting: m.members().collect(),
            draining: Vec::new(),
            restarting: Vec::new(),
            one_at_a_time: true,
            to_version: Some(version),
            remove: false,
        });
    }

    /// Cancels the rollouts of `service` still under way (a newer one replaces them).
    fn cancel_rollouts(&mut self, service: usize, instances: &mut impl InstanceStore) {
        for rollout in &self.restarts {
            if rollout.service == service && rollout.to_version.is_some() {
                for &(global, _) in &rollout.draining {
                    instances.instance(global).draining = false;
                }
            }
        }
        self.restarts
            .retain(|r| !(r.service == service && r.to_version.is_some()));
    }

    fn start(
        &mut self,
        op: Op,
        topology: &Topology,
        (conditions, faults): (&mut Conditions, &mut FaultTimeline),
        instances: &mut impl InstanceStore,
        fx: &mut Effects,
        now: f64,
    ) {
        match op {
            Op::Rollback { service } => {
                let history = &mut conditions.versions[service];
                let latest = history
                    .last()
                    .expect("a history starts with the initial version")
                    .clone();
                if latest.change == ChangeKind::Initial {
                    return; // nothing was changed: nothing to roll back
                }
                let target = history[latest.previous].clone();
                history.push(Version {
                    change: ChangeKind::Rollback,
                    at_s: now,
                    ..target
                });
                let version = history.len() - 1;
                if latest.change == ChangeKind::Config {
                    let m = &topology.services[service];
                    for global in m.members() {
                        instances.instance(global).version = version;
                    }
                } else {
                    self.cancel_rollouts(service, instances);
                    self.roll_out(topology, service, version);
                }
            }
            Op::DisableFlag { service, flag } => {
                faults.end_where(now, |f| {
                    f.target == Target::Service(service)
                        && matches!(&f.kind, FaultKind::FeatureFlag { flag: name, .. } if *name == flag)
                });
            }
            Op::RollForward { service, version } => {
                let history = &mut conditions.versions[service];
                history.push(Version {
                    name: version,
                    at_s: now,
                    change: ChangeKind::Deploy,
                    error_ratio: 0.0,
                    latency_factor: 1.0,
                    leak_mb_per_request: 0.0,
                    previous: history.len() - 1,
                });
                let version = history.len() - 1;
                self.cancel_rollouts(service, instances);
                self.roll_out(topology, service, version);
            }
            Op::Eject { instance, ejected } => instances.instance(instance).ejected = ejected,
            Op::Zone { zone, drained } => self.zones_drained[zone] = drained,
            Op::Resync { service } => {
                faults.end_where(now, |f| {
                    f.target == Target::Service(service)
                        && matches!(f.kind, FaultKind::ReplicationLag { .. })
                });
                for global in topology.services[service].members() {
                    instances.instance(global).replica_lag_s = 0.0;
                }
            }
            Op::Consumers { queue, paused } => {
                let m = &topology.services[queue];
                if paused && self.paused[queue].is_none() {
                    let before = m.members().map(|g| instances.instance(g).workers).collect();
                    self.paused[queue] = Some(before);
                    for global in m.members() {
                        let me = Me {
                            topology,
                            conditions,
                            service: queue,
                            global,
                        };
                        instances.instance(global).set_workers(me, 0, now, fx);
                    }
                } else if let (false, Some(before)) = (paused, self.paused[queue].take()) {
                    for (global, workers) in m.members().zip(before) {
                        let me = Me {
                            topology,
                            conditions,
                            service: queue,
                            global,
                        };
                        instances.instance(global).set_workers(me, workers, now, fx);
                    }
                }
            }
            Op::ScaleOut { service, count } => {
                let m = &topology.services[service];
                let latest = conditions.versions[service].len() - 1;
                let empty: Vec<u32> = m
                    .members()
                    .filter(|&g| !instances.instance(g).provisioned)
                    .take(count as usize)
                    .collect();
                for global in empty {
                    instances
                        .instance(global)
                        .provision(m, latest, now, PROVISION_TIME);
                }
            }
            Op::ScaleIn { service, count } => {
                let m = &topology.services[service];
                let mut live: Vec<u32> = m
                    .members()
                    .filter(|&g| {
                        instances.instance(g).provisioned && !instances.instance(g).draining
                    })
                    .collect();
                let keep = live.len().saturating_sub(count as usize).max(1);
                let leaving = live.split_off(keep);
                self.restarts.push(Restart {
                    service,
                    waiting: leaving.into_iter().rev().collect(),
                    draining: Vec::new(),
                    restarting: Vec::new(),
                    one_at_a_time: false,
                    to_version: None,
                    remove: true,
                });
            }
            Op::FreeDisk { service } => {
                let m = &topology.services[service];
                for global in m.members() {
                    crate::sim::instance::rotate_logs(instances.instance(global), m);
                }
            }
            Op::RotateCertificate { service } => {
                faults.end_where(now, |f| {
                    f.target == Target::Service(service) && matches!(f.kind, FaultKind::CertExpiry)
                });
            }
            Op::FixDns { from, edge } => {
                faults.end_where(now, |f| {
                    f.target == Target::Edge(from, edge) && matches!(f.kind, FaultKind::DnsFailure)
                });
            }
            Op::Restart {
                service,
                instances: members,
                one_at_a_time,
            } => {
                self.restarts.push(Restart {
                    service,
                    waiting: members.into(),
                    draining: Vec::new(),
                    restarting: Vec::new(),
                    one_at_a_time,
                    to_version: None,
                    remove: false,
                });
            }
            Op::Shed { service, max_rps } => self.shed[service] = max_rps,
            Op::WarmCache { service } => self.warmings.push(Warming {
                service,
                until: now + WARM_TIME,
            }),
            Op::SetPool { service, size } => {
                let m = &topology.services[service];
                for global in m.members() {
                    let me = Me {
                        topology,
                        conditions,
                        service,
                        global,
                    };
                    instances.instance(global).set_workers(me, size, now, fx);
                }
            }
            Op::Circuit { from, edge, open } => self.circuits[from][edge] = open,
            Op::Tune {
                from,
                edge,
                timeout,
                retries,
                backoff,
            } => {
                let current =
                    self.policies[from][edge].unwrap_or(topology.services[from].edges[edge].policy);
                self.policies[from][edge] = Some(RetryPolicy {
                    timeout: timeout.unwrap_or(current.timeout),
                    retries: retries.unwrap_or(current.retries),
                    backoff: backoff.unwrap_or(current.backoff),
                    budget: current.budget,
                });
            }
        }
    }

    fn progress_restarts(
        &mut self,
        topology: &Topology,
        conditions: &Conditions,
        instances: &mut impl InstanceStore,
        fx: &mut Effects,
        now: f64,
    ) {
        for restart in &mut self.restarts {
            // Empty slots have nothing to restart; they only learn the version to run.
            restart.waiting.retain(|&g| {
                let state = instances.instance(g);
                if !state.provisioned
                    && let Some(version) = restart.to_version
                {
                    state.version = version;
                }
                state.provisioned
            });
            restart.restarting.retain(|&g| {
                let state = instances.instance(g);
                state.provisioned && !state.up
            });
            let idle = restart.draining.is_empty() && restart.restarting.is_empty();
            if !restart.one_at_a_time || idle {
                let take = if restart.one_at_a_time {
                    1
                } else {
                    restart.waiting.len()
                };
                for global in restart.waiting.drain(..take.min(restart.waiting.len())) {
                    instances.instance(global).draining = true;
                    restart.draining.push((global, now + DRAIN_TIMEOUT));
                }
            }
            let mut still_draining = Vec::new();
            for (global, deadline) in restart.draining.drain(..) {
                let state = instances.instance(global);
                if state.is_idle() || now >= deadline || !state.up {
                    let me = Me {
                        topology,
                        conditions,
                        service: topology.service_of(global),
                        global,
                    };
                    if state.up {
                        state.kill(me, now, crate::sim::logs::Down::Restart, fx);
                    }
                    if let Some(version) = restart.to_version {
                        state.version = version;
                    }
                    state.draining = false;
                    if restart.remove {
                        state.vacate();
                    } else {
                        restart.restarting.push(global);
                    }
                } else {
                    still_draining.push((global, deadline));
                }
            }
            restart.draining = still_draining;
        }
        self.restarts.retain(|r| {
            !(r.waiting.is_empty() && r.draining.is_empty() && r.restarting.is_empty())
        });
    }

    fn progress_warmings(
        &mut self,
        topology: &Topology,
        instances: &mut impl InstanceStore,
        tick: Tick,
    ) {
        for warming in &self.warmings {
            let m = &topology.services[warming.service];
            for global in m.members() {
                let state = instances.instance(global);
                let per_tick = (f64::from(state.cache_capacity(m)) * (tick.t1 - tick.t0)
                    / WARM_TIME)
                    .ceil() as u32;
                if state.up {
                    state.warm_cache(m, per_tick);
                }
            }
        }
        self.warmings.retain(|w| tick.t1 < w.until);
    }
}

#[allow(clippy::too_many_arguments)] // a system's parameters are its data access
fn apply_remediations(
    fleet: Res<Fleet>,
    clock: Res<SimClock>,
    mut remediations: ResMut<Remediations>,
    mut conditions: ResMut<Conditions>,
    mut events: ResMut<Events>,
    mut tallies: ResMut<Tallies>,
    mut instances: Query<(&InstanceOf, &mut InstanceState)>,
    mut faults: ResMut<FaultTimeline>,
    slos: Option<Res<crate::slo::Slos>>,
) {
    remediations.freeze = slos.is_some_and(|s| s.0.iter().any(|slo| slo.budget_left() <= 0.0));
    let mut store =
        crate::sim::InstanceQuery::gather(fleet.topology.total_instances, &mut instances);
    let mut fx = Effects {
        events: &mut events,
        tallies: &mut tallies,
    };
    remediations.advance(
        &fleet.topology,
        &mut conditions,
        &mut faults,
        &mut store,
        &mut fx,
        clock.current(),
    );
}

/// One line of `firedrill catalog`: a remediation as an action script writes it.
pub struct CatalogEntry {
    pub name: &'static str,
    /// A complete action-script line.
    pub example: &'static str,
    /// How long it takes to act.
    pub delay: &'static str,
    pub description: &'static str,
}

/// Every remediation, for responders and script authors (`firedrill catalog`).
pub const CATALOG: &[CatalogEntry] = &[
    CatalogEntry {
        name: "RestartInstance",
        example: r#"(at: "6m", do: Apply(RestartInstance(service: "web", instance: 0)))"#,
        delay: "drain (up to 10 s) + restart_time",
        description: "drains, kills and restarts one instance; it comes back cold and frees leaked memory",
    },
    CatalogEntry {
        name: "RollingRestart",
        example: r#"(at: "6m", do: Apply(RollingRestart(service: "web")))"#,
        delay: "instances x (drain + restart_time)",
        description: "restarts instances one after another: capacity down by one while it runs, caches go cold",
    },
    CatalogEntry {
        name: "RestartAll",
        example: r#"(at: "6m", do: Apply(RestartAll(service: "web")))"#,
        delay: "drain + restart_time",
        description: "restarts every instance at once: the service is down meanwhile (risky)",
    },
    CatalogEntry {
        name: "ShedLoad",
        example: r#"(at: "6m", do: Apply(ShedLoad(service: "gateway", max_rps: 300.0)))"#,
        delay: "immediate",
        description: "admission control: admits max_rps per second, refuses the rest at once; admitted requests stay fast",
    },
    CatalogEntry {
        name: "StopShedding",
        example: r#"(at: "20m", do: Apply(StopShedding(service: "gateway")))"#,
        delay: "immediate",
        description: "lifts the admission limit",
    },
    CatalogEntry {
        name: "WarmCache",
        example: r#"(at: "6m", do: Apply(WarmCache(service: "product-cache")))"#,
        delay: "60 s to full",
        description: "pre-fills a cache out of band, ending a stampede the backing store cannot refill",
    },
    CatalogEntry {
        name: "SetPool",
        example: r#"(at: "6m", do: Apply(SetPool(service: "orders-db", size: 40)))"#,
        delay: "immediate",
        description: "resizes each instance's pool (workers); more connections also mean more load on what is behind",
    },
    CatalogEntry {
        name: "OpenCircuit",
        example: r#"(at: "6m", do: Apply(OpenCircuit(from: "web", to: "recommendations")))"#,
        delay: "immediate",
        description: "calls on the edge fail fast instead of waiting out timeouts; graceful if the call is optional",
    },
    CatalogEntry {
        name: "CloseCircuit",
        example: r#"(at: "20m", do: Apply(CloseCircuit(from: "web", to: "recommendations")))"#,
        delay: "immediate",
        description: "lets calls through the edge again",
    },
    CatalogEntry {
        name: "Rollback",
        example: r#"(at: "6m", do: Apply(Rollback(service: "checkout")))"#,
        delay: "deploy: instances x (drain + restart_time); config: immediate",
        description: "returns to the version before the last deploy or config push (a restart would keep the bad one)",
    },
    CatalogEntry {
        name: "DisableFlag",
        example: r#"(at: "6m", do: Apply(DisableFlag(service: "web", flag: "new-pricing")))"#,
        delay: "immediate",
        description: "turns a feature flag off, ending what its code path does",
    },
    CatalogEntry {
        name: "FixDns",
        example: r#"(at: "6m", do: Apply(FixDns(from: "checkout", to: "payment")))"#,
        delay: "immediate",
        description: "restores name resolution on a call edge",
    },
    CatalogEntry {
        name: "FreeDisk",
        example: r#"(at: "6m", do: Apply(FreeDisk(service: "api")))"#,
        delay: "immediate",
        description: "rotates logs on every instance; the disk fills again if the cause remains",
    },
    CatalogEntry {
        name: "RotateCertificate",
        example: r#"(at: "6m", do: Apply(RotateCertificate(service: "payment")))"#,
        delay: "immediate",
        description: "installs a new certificate: ends an expiry, or defuses one that has not happened yet",
    },
    CatalogEntry {
        name: "RollForward",
        example: r#"(at: "6m", do: Apply(RollForward(service: "checkout", version: "v2.4.1")))"#,
        delay: "instances x (drain + restart_time)",
        description: "deploys a fixed version, rolled out like any deploy (slower than a rollback when the fix is not ready)",
    },
    CatalogEntry {
        name: "EjectInstance",
        example: r#"(at: "6m", do: Apply(EjectInstance(service: "web", instance: 2)))"#,
        delay: "immediate",
        description: "takes one instance out of rotation without restarting it: traffic moves, evidence stays",
    },
    CatalogEntry {
        name: "RestoreInstance",
        example: r#"(at: "20m", do: Apply(RestoreInstance(service: "web", instance: 2)))"#,
        delay: "immediate",
        description: "puts an ejected instance back in rotation",
    },
    CatalogEntry {
        name: "DrainZone",
        example: r#"(at: "6m", do: Apply(DrainZone(zone: "b")))"#,
        delay: "immediate",
        description: "shifts traffic away from a zone: its instances get nothing, the others take the load",
    },
    CatalogEntry {
        name: "RestoreZone",
        example: r#"(at: "20m", do: Apply(RestoreZone(zone: "b")))"#,
        delay: "immediate",
        description: "sends traffic to a drained zone again",
    },
    CatalogEntry {
        name: "ResyncReplicas",
        example: r#"(at: "6m", do: Apply(ResyncReplicas(service: "orders-db")))"#,
        delay: "immediate",
        description: "rebuilds a database's replicas from a fresh snapshot: their lag and a replication-lag fault end",
    },
    CatalogEntry {
        name: "PauseConsumers",
        example: r#"(at: "6m", do: Apply(PauseConsumers(queue: "emails")))"#,
        delay: "immediate",
        description: "stops a queue's deliveries (to protect a struggling consumer); the backlog grows",
    },
    CatalogEntry {
        name: "ResumeConsumers",
        example: r#"(at: "20m", do: Apply(ResumeConsumers(queue: "emails")))"#,
        delay: "immediate",
        description: "resumes deliveries; SetPool on a queue scales its consumers",
    },
    CatalogEntry {
        name: "ScaleOut",
        example: r#"(at: "6m", do: Apply(ScaleOut(service: "web", count: 2)))"#,
        delay: "60 s to boot + passing probes",
        description: "provisions instances (up to max_instances); no help until they boot, none if the bottleneck is behind",
    },
    CatalogEntry {
        name: "ScaleIn",
        example: r#"(at: "30m", do: Apply(ScaleIn(service: "web", count: 2)))"#,
        delay: "drain",
        description: "drains and removes the newest instances; at least one stays",
    },
    CatalogEntry {
        name: "TuneCalls",
        example: r#"(at: "6m", do: Apply(TuneCalls(from: "web", to: "api", retries: 0, timeout: "500ms")))"#,
        delay: "immediate",
        description: "changes a caller's timeout, retries or backoff on one edge (e.g. stop a retry storm)",
    },
];
