//! Remediations: what a responder does to the fleet, each acting through the simulation's
//! mechanisms with the delay and side effects it has in production. A restart drains an
//! instance, kills it and brings it back cold; shedding refuses load at the door; a circuit
//! breaker fails calls fast. Wrong moves hurt as they would: restarting a leaking service
//! only delays its next OOM, restarting everything at once takes the service down.
//!
//! The vocabulary (what players and scripts name) is in `vocabulary`, its resolution
//! against the fleet in `resolve`, and the execution here.

mod resolve;
mod vocabulary;

use std::collections::VecDeque;

use bevy::prelude::*;
use serde::Serialize;

pub use resolve::Op;
pub use vocabulary::{CATALOG, CatalogEntry, Remediation, least_time_to_act};

use crate::faults::{Fault, FaultTimeline, Target};
use crate::scenario::{FaultKind, Seconds};
use crate::sim::autoscale::Autoscaler;
use crate::sim::awake::Awake;
use crate::sim::conditions::Conditions;
use crate::sim::conditions::{ChangeKind, Version};
use crate::sim::instance::{Effects, Me};
use crate::sim::logs::{Level, LogEvent};
use crate::sim::metrics::Tallies;
use crate::sim::restarts::Restarts;
use crate::sim::step::{InstanceStore, Tick};
use crate::sim::topology::{RetryPolicy, Topology};
use crate::sim::{Fleet, InstanceStates, SimClock, SimSet, events::Events};

pub(super) fn plugin(app: &mut App) {
    app.add_systems(FixedUpdate, bend_conditions.in_set(SimSet::Conditions));
}

/// How long a paged expert takes to arrive.
pub const EXPERT_DELAY: f64 = 300.0;
/// How long a new instance takes to boot before its first probe.
pub const PROVISION_TIME: f64 = 60.0;
/// How long warming a cache takes, from empty to full.
pub const WARM_TIME: f64 = 60.0;

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

/// What an expert on `service` finds: the faults that touch it and are active or left
/// something behind that still bends it, or that it is not where the trouble is.
fn expert_finding(
    topology: &Topology,
    faults: &FaultTimeline,
    (conditions, instances): (&Conditions, &mut impl InstanceStore),
    service: usize,
) -> String {
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
        .filter(|f| touches(f.target))
        .filter_map(|f| {
            let since = Seconds(f.started_at?);
            match lasting_effect(f, topology, conditions, instances) {
                Some(effect) => Some(format!("{} (since {since}): {effect}", f.name)),
                None if f.is_active() => Some(format!("{} (since {since})", f.name)),
                None => None,
            }
        })
        .collect();
    if found.is_empty() {
        format!("nothing is wrong with {name} itself: look at what it depends on")
    } else {
        format!("on {name} I see: {}", found.join("; "))
    }
}

/// Undoing a change ends the faults it caused: `undone` picks the change faults being undone.
fn end_faults_caused_by(faults: &mut FaultTimeline, now: f64, undone: impl Fn(&Fault) -> bool) {
    let causes: Vec<String> = faults
        .faults
        .iter()
        .filter(|f| f.kind.is_change() && undone(f))
        .map(|f| f.name.clone())
        .collect();
    faults.end_where(now, |f| {
        f.caused_by
            .as_ref()
            .is_some_and(|cause| causes.contains(cause))
    });
}

/// Makes `replica` the primary of database `service`: writes go to it from now on, and
/// what it had not replicated is lost (logged).
fn promote(
    conditions: &mut Conditions,
    instances: &mut impl InstanceStore,
    fx: &mut Effects,
    (service, replica): (usize, u32),
    now: f64,
) {
    let state = instances.instance(replica);
    let lost_s = std::mem::take(&mut state.replica_lag_s);
    conditions.primaries[service] = Some(replica);
    let level = if lost_s > 0.0 {
        Level::Warn
    } else {
        Level::Info
    };
    fx.tallies
        .logs
        .log(service, replica, now, level, LogEvent::Promoted { lost_s });
}

/// What a fault that fired once (or is over) left behind and still bends, if anything: the
/// release it shipped still running, the instances it crashed still down, the cache it
/// emptied still cold, the backlog a burst of load left that outlives it.
fn lasting_effect(
    fault: &Fault,
    topology: &Topology,
    conditions: &Conditions,
    instances: &mut impl InstanceStore,
) -> Option<String> {
    let at = fault.started_at?;
    if let (Target::Source(i), Some(ended)) = (fault.target, fault.ended_at) {
        return backlog_downstream(topology, topology.sources[i].to, instances).map(
            |(service, queued, workers)| {
                format!(
                    "it ended at {}, but {service} is still backed up: {queued} requests wait for {workers} workers",
                    Seconds(ended)
                )
            },
        );
    }
    let Target::Service(s) = fault.target else {
        return None;
    };
    let model = &topology.services[s];
    match fault.kind {
        FaultKind::Deploy { .. } | FaultKind::ConfigPush { .. } => {
            // The version the change made, pushed the moment it fired.
            let (index, version) =
                conditions.versions[s]
                    .iter()
                    .enumerate()
                    .rev()
                    .find(|(_, v)| {
                        (v.at_s - at).abs() < 1e-9
                            && matches!(v.change, ChangeKind::Deploy | ChangeKind::Config)
                    })?;
            let live: Vec<u32> = model
                .members()
                .filter(|&g| instances.instance(g).provisioned)
                .collect();
            let running = live
                .iter()
                .filter(|&&g| instances.instance(g).version == index)
                .count();
            (running > 0).then(|| {
                format!(
                    "{running} of {} instances still run {}, changed at {}",
                    live.len(),
                    version.name,
                    Seconds(at)
                )
            })
        }
        FaultKind::Crash { .. } => {
            let down: Vec<u32> = model
                .members()
                .filter(|&g| {
                    let state = instances.instance(g);
                    state.provisioned && !state.up
                })
                .collect();
            if down.is_empty() {
                return None;
            }
            let primary = conditions.primaries[s];
            let writes = match primary {
                Some(p) if down.contains(&p) => format!(
                    "; the primary {}-{} is among them, so every write is refused until a replica is promoted",
                    model.name,
                    p - model.first_instance
                ),
                _ => String::new(),
            };
            Some(format!(
                "{} of {} instances are still down after the crash at {}{writes}",
                down.len(),
                model
                    .members()
                    .filter(|&g| instances.instance(g).provisioned)
                    .count(),
                Seconds(at)
            ))
        }
        FaultKind::CacheFlush => {
            let (cached, capacity) = model.members().fold((0u64, 0u64), |(cached, capacity), g| {
                let state = instances.instance(g);
                (
                    cached + u64::from(state.cached_keys),
                    capacity + u64::from(state.cache_capacity(model)),
                )
            });
            let warm = cached as f64 / capacity.max(1) as f64;
            (capacity > 0 && warm < COLD_CACHE).then(|| {
                format!(
                    "the cache is still cold after the flush at {}: {:.0}% of it is warm",
                    Seconds(at),
                    warm * 100.0
                )
            })
        }
        _ => None,
    }
}

/// The most backed-up service at or below `service` in the call graph, if any holds more
/// requests waiting than it has workers: its name, the requests waiting and the workers.
fn backlog_downstream(
    topology: &Topology,
    service: usize,
    instances: &mut impl InstanceStore,
) -> Option<(String, usize, u32)> {
    let mut seen = vec![false; topology.services.len()];
    let mut next = vec![service];
    let mut worst: Option<(String, usize, u32)> = None;
    while let Some(s) = next.pop() {
        if std::mem::replace(&mut seen[s], true) {
            continue;
        }
        let model = &topology.services[s];
        next.extend(model.edges.iter().map(|edge| edge.to));
        let (queued, workers) = model.members().fold((0, 0), |(queued, workers), g| {
            let state = instances.instance(g);
            if state.provisioned && state.up {
                (queued + state.queue_len(), workers + state.workers)
            } else {
                (queued, workers)
            }
        });
        if queued > workers as usize && worst.as_ref().is_none_or(|w| queued > w.1) {
            worst = Some((model.name.clone(), queued, workers));
        }
    }
    worst
}

/// Below this share of its keys a cache is cold: most reads go to what it protects.
const COLD_CACHE: f64 = 0.5;

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
    pending: VecDeque<(f64, Remediation, Op)>,
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
    /// Each service's autoscaler, if it has one: automation that acts as a responder would.
    autoscalers: Vec<Option<Autoscaler>>,
    /// Since when each database with a failover has had its primary down.
    primary_down_since: Vec<Option<f64>>,
    pub applied: Vec<Applied>,
}

impl Remediations {
    pub fn new(topology: &Topology) -> Self {
        Self {
            pending: VecDeque::new(),
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
            autoscalers: topology
                .services
                .iter()
                .map(|s| s.autoscale.map(Autoscaler::new))
                .collect(),
            primary_down_since: vec![None; topology.services.len()],
            applied: Vec::new(),
        }
    }

    /// Each autoscaler due for a sync decides, and scales as `ScaleOut` and `ScaleIn` would;
    /// what it did goes to the service's log.
    fn autoscale(
        &mut self,
        topology: &Topology,
        engine: (&mut Conditions, &mut FaultTimeline, &mut Restarts),
        instances: &mut impl InstanceStore,
        utilization: impl Fn(usize, f64) -> f64,
        fx: &mut Effects,
        now: f64,
    ) {
        let (conditions, faults, restarts) = engine;
        for s in 0..self.autoscalers.len() {
            let Some(hpa) = self.autoscalers[s].as_mut().filter(|h| h.due(now)) else {
                continue;
            };
            let m = &topology.services[s];
            let current = m
                .members()
                .filter(|&g| {
                    let state = instances.instance(g);
                    state.provisioned && !state.draining
                })
                .count() as u32;
            let used = utilization(s, hpa.spec.sync.get());
            let wanted = hpa.sync(now, current, used);
            let op = match wanted.cmp(&current) {
                std::cmp::Ordering::Greater => Op::ScaleOut {
                    service: s,
                    count: wanted - current,
                },
                std::cmp::Ordering::Less => Op::ScaleIn {
                    service: s,
                    count: current - wanted,
                },
                std::cmp::Ordering::Equal => continue,
            };
            let event = LogEvent::Autoscaled {
                from: current,
                to: wanted,
                utilization: used,
            };
            fx.tallies
                .logs
                .log(s, m.first_instance, now, Level::Info, event);
            self.start(
                op,
                topology,
                (conditions, faults, restarts),
                instances,
                fx,
                now,
            );
        }
    }

    /// A database whose primary has been down for its detection and promotion times
    /// promotes the replica least behind, if it fails over on its own.
    fn fail_over(
        &mut self,
        topology: &Topology,
        conditions: &mut Conditions,
        instances: &mut impl InstanceStore,
        fx: &mut Effects,
        now: f64,
    ) {
        for (s, m) in topology.services.iter().enumerate() {
            let Some(spec) = m.failover else { continue };
            let primary = conditions.primary(s, m.first_instance);
            if instances.instance(primary).up {
                self.primary_down_since[s] = None;
                continue;
            }
            let since = *self.primary_down_since[s].get_or_insert(now);
            if !spec.automatic || now - since < spec.detection.get() + spec.promotion.get() - 1e-9 {
                continue;
            }
            let least_behind = m
                .members()
                .filter(|&g| g != primary)
                .filter_map(|g| {
                    let state = instances.instance(g);
                    state.up.then_some((state.replica_lag_s, g))
                })
                .min_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, g)| g);
            if let Some(replica) = least_behind {
                promote(conditions, instances, fx, (s, replica), now);
                self.primary_down_since[s] = None;
            }
        }
    }

    /// Sends an expert on `service`, who arrives after [`EXPERT_DELAY`] and says what they find.
    pub fn page_expert(&mut self, service: usize, now: f64) {
        self.experts.push((now + EXPERT_DELAY, service));
    }

    /// Schedules `remediation`, resolved to `op`, at simulated time `at` (kept in time
    /// order, ties in order given).
    pub fn schedule(&mut self, at: f64, remediation: Remediation, op: Op) {
        let index = self.pending.partition_point(|(t, _, _)| *t <= at);
        self.pending.insert(index, (at, remediation, op));
    }

    /// Starts what is due at the start of `tick`, moves running remediations on, lets the
    /// autoscalers decide (`utilization(service, seconds)` is the mean CPU share of its
    /// instances over the last seconds), and folds those in force into `conditions` (after
    /// the faults have written theirs).
    #[allow(clippy::too_many_arguments)] // the engine's state, borrowed apart
    pub fn advance(
        &mut self,
        topology: &Topology,
        (conditions, faults, restarts): (&mut Conditions, &mut FaultTimeline, &mut Restarts),
        instances: &mut impl InstanceStore,
        utilization: impl Fn(usize, f64) -> f64,
        fx: &mut Effects,
        tick: Tick,
    ) {
        let now = tick.t0;
        while self.pending.front().is_some_and(|(at, _, _)| *at <= now) {
            let (_, remediation, op) = self.pending.pop_front().expect("peeked");
            self.start(
                op,
                topology,
                (conditions, faults, restarts),
                instances,
                fx,
                now,
            );
            self.applied.push(Applied {
                at_s: now,
                action: remediation.to_ron(),
                violates_freeze: self.freeze && remediation.is_change(),
            });
        }
        self.autoscale(
            topology,
            (conditions, faults, restarts),
            instances,
            utilization,
            fx,
            now,
        );
        self.fail_over(topology, conditions, instances, fx, now);
        restarts.progress(topology, conditions, instances, fx, now);
        let (arrived, waiting): (Vec<_>, Vec<_>) =
            self.experts.iter().partition(|(at, _)| *at <= now);
        self.experts = waiting;
        for (_, service) in arrived {
            self.hints.push(Hint {
                at_s: now,
                expert: topology.services[service].name.clone(),
                text: expert_finding(topology, faults, (conditions, instances), service),
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
        for (s, m) in topology.services.iter().enumerate() {
            if let Some(limit) = m.rate_limit {
                let live = m
                    .members()
                    .filter(|&g| instances.instance(g).provisioned)
                    .count()
                    .max(1);
                conditions.services[s].quota =
                    Some((limit.rps / live as f64, limit.counts_refused));
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

    fn start(
        &mut self,
        op: Op,
        topology: &Topology,
        (conditions, faults, restarts): (&mut Conditions, &mut FaultTimeline, &mut Restarts),
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
                if matches!(latest.change, ChangeKind::Deploy | ChangeKind::Config) {
                    // The changes made to the service at that moment are the ones undone.
                    end_faults_caused_by(faults, now, |f| {
                        f.target == Target::Service(service)
                            && !matches!(f.kind, FaultKind::FeatureFlag { .. })
                            && f.started_at
                                .is_some_and(|at| (at - latest.at_s).abs() < 1e-9)
                    });
                }
                let history = &mut conditions.versions[service];
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
                    restarts.cancel_rollouts(service, instances);
                    restarts.roll_out(topology, service, version);
                }
            }
            Op::DisableFlag { service, flag } => {
                let is_the_flag = |f: &Fault| {
                    f.target == Target::Service(service)
                        && matches!(&f.kind, FaultKind::FeatureFlag { flag: name, .. } if *name == flag)
                };
                end_faults_caused_by(faults, now, |f| is_the_flag(f) && f.ended_at.is_none());
                faults.end_where(now, is_the_flag);
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
                restarts.cancel_rollouts(service, instances);
                restarts.roll_out(topology, service, version);
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
                restarts.remove(service, leaving.into_iter().rev().collect());
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
                restarts.restart(service, members, one_at_a_time);
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
            Op::Promote { service, instance } => {
                let primary =
                    conditions.primary(service, topology.services[service].first_instance);
                if instance != primary && instances.instance(instance).up {
                    promote(conditions, instances, fx, (service, instance), now);
                    self.primary_down_since[service] = None;
                }
            }
            Op::Autoscaler { service, enabled } => {
                if let Some(hpa) = self.autoscalers[service].as_mut() {
                    hpa.set_enabled(enabled, now);
                }
            }
            Op::Tune {
                from,
                edge,
                timeout,
                retries,
                backoff,
                honour_retry_after,
            } => {
                let current =
                    self.policies[from][edge].unwrap_or(topology.services[from].edges[edge].policy);
                self.policies[from][edge] = Some(RetryPolicy {
                    timeout: timeout.unwrap_or(current.timeout),
                    retries: retries.unwrap_or(current.retries),
                    backoff: backoff.unwrap_or(current.backoff),
                    budget: current.budget,
                    honour_retry_after: honour_retry_after.unwrap_or(current.honour_retry_after),
                });
            }
        }
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

/// The tick's conditions, rebuilt: faults start, end and bend them, then remediations due
/// start, running ones move on, and those in force bend them. One system rather than one
/// each, because both read and write the same data and a system's fetch of each resource
/// costs about 85 instructions a tick in Bevy 0.19, which a quiet tick notices.
#[allow(clippy::too_many_arguments)] // a system's parameters are its data access
fn bend_conditions(
    fleet: Res<Fleet>,
    clock: Res<SimClock>,
    (mut faults, mut remediations): (ResMut<FaultTimeline>, ResMut<Remediations>),
    mut conditions: ResMut<Conditions>,
    mut events: ResMut<Events>,
    mut tallies: ResMut<Tallies>,
    (mut instances, mut awake): (InstanceStates, ResMut<Awake>),
    mut restarts: ResMut<Restarts>,
    metrics: Query<&crate::sim::metrics::ServiceMetrics>,
    slos: Option<Res<crate::slo::Slos>>,
) {
    let tick = clock.current();
    let mut store = crate::sim::InstanceQuery::gather(
        fleet.topology.total_instances,
        &mut instances,
        &mut awake,
    );
    let mut fx = Effects {
        events: &mut events,
        tallies: &mut tallies,
    };
    let last_second = |s: usize| {
        metrics
            .get(fleet.services[s])
            .ok()
            .and_then(|m| m.seconds.last().cloned())
    };
    let rollouts = faults.advance(
        &fleet.topology,
        &mut conditions,
        &mut store,
        last_second,
        &mut fx,
        tick,
    );
    for rollout in rollouts {
        restarts.roll_out(&fleet.topology, rollout.service, rollout.version);
    }
    remediations.freeze = slos.is_some_and(|s| s.0.iter().any(|slo| slo.budget_left() <= 0.0));
    // Mean CPU share over the last `window` seconds of the service's rows.
    let utilization = |s: usize, window: f64| {
        let Ok(m) = metrics.get(fleet.services[s]) else {
            return 0.0;
        };
        let rows = m.seconds.rows();
        let take = (window.ceil() as usize).clamp(1, rows.len().max(1));
        let recent = rows.iter().rev().take(take);
        let (sum, n) = recent.fold((0.0, 0), |(sum, n), r| (sum + r.cpu, n + 1));
        if n == 0 { 0.0 } else { sum / f64::from(n) }
    };
    remediations.advance(
        &fleet.topology,
        (&mut conditions, &mut faults, &mut restarts),
        &mut store,
        utilization,
        &mut fx,
        tick,
    );
}
