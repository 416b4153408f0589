//! A headless simulation: the engine's plugins in their own `App`, advanced tick by tick as
//! fast as the machine allows. Every front end and every what-if run plays through it.

use bevy::prelude::*;

use crate::faults::FaultTimeline;
use crate::incident::debrief::{AlertFact, PageFact, Timeline};
use crate::incident::{self, Entry, Incident};
use crate::remediation::{Remediation, Remediations};
use crate::scenario::{Scenario, Seconds};
use crate::sim::awake::Awake;
use crate::sim::conditions::Conditions;
use crate::sim::events::Events;
use crate::sim::instance::InstanceState;
use crate::sim::metrics::{ServiceMetrics, SourceMetrics, Tallies};
use crate::sim::restarts::Restarts;
use crate::sim::source::SourceState;
use crate::sim::topology::Topology;
use crate::sim::{Balancers, Fleet, SimClock, logs, spawn_fleet, traces};
use crate::slo::{self, Alert, Page};

/// A headless simulation: the fleet in its own `App`, advanced tick by tick as fast as the
/// machine allows. The window, scripts, replays, network players and what-if runs all play
/// through one.
pub struct Simulation {
    app: App,
}

/// A running simulation's whole state, copied: a what-if run that shares the session's past
/// starts from one instead of replaying that past. It holds no ECS world, so it can go to
/// another thread; every stream carries on from where it stood.
#[derive(Clone, Debug)]
pub struct Snapshot {
    topology: Topology,
    clock: SimClock,
    events: Events,
    awake: Awake,
    conditions: Conditions,
    balancers: Balancers,
    restarts: Restarts,
    tallies: Tallies,
    faults: FaultTimeline,
    remediations: Remediations,
    alerting: (slo::Slos, slo::ThresholdAlerts),
    incident: Incident,
    services: Vec<ServiceMetrics>,
    instances: Vec<InstanceState>,
    sources: Vec<(SourceState, SourceMetrics)>,
}

impl Snapshot {
    /// Takes back one pending command equal to `entry`, as if it had never been issued;
    /// whether there was one.
    pub fn withdraw(&mut self, entry: &Entry) -> bool {
        self.incident.withdraw(entry)
    }
}

/// The engine's plugins, floor by floor: the fleet, the mechanisms on it, the game's rules.
/// The one list every simulation is built from.
pub fn engine(app: &mut App) {
    app.add_plugins((
        crate::sim::plugin,
        crate::remediation::plugin,
        crate::slo::plugin,
        crate::incident::plugin,
    ));
}

impl Simulation {
    /// Builds the simulation of a validated scenario.
    pub fn new(scenario: &Scenario) -> Self {
        let topology = Topology::compile(scenario);
        let faults = FaultTimeline::compile(scenario, &topology);
        let alerting = (
            slo::Slos::compile(scenario),
            slo::ThresholdAlerts::compile(scenario),
        );
        let mut sim = Self::build(topology, faults, alerting);
        let mut incident = Incident::new(scenario.incident.clone(), &scenario.chat);
        incident.runbooks = scenario.runbooks.clone();
        sim.app.insert_resource(incident);
        sim
    }

    pub fn from_topology(topology: Topology) -> Self {
        Self::build(topology, FaultTimeline::default(), Default::default())
    }

    fn build(
        topology: Topology,
        faults: FaultTimeline,
        (slos, thresholds): (slo::Slos, slo::ThresholdAlerts),
    ) -> Self {
        let mut app = App::new();
        app.add_plugins(engine);
        app.insert_resource(slos);
        app.insert_resource(thresholds);
        app.insert_resource(Remediations::new(&topology));
        app.insert_resource(Incident::new(None, &Default::default()));
        spawn_fleet(app.world_mut(), topology);
        app.insert_resource(faults);
        Self { app }
    }

    /// The whole state as it stands, to carry on from elsewhere (`Simulation::resume`).
    pub fn snapshot(&self) -> Snapshot {
        let world = self.app.world();
        let fleet = world.resource::<Fleet>();
        let component = |entity: &Entity| world.entity(*entity);
        Snapshot {
            topology: (*fleet.topology).clone(),
            clock: *world.resource::<SimClock>(),
            events: world.resource::<Events>().clone(),
            awake: world.resource::<Awake>().clone(),
            conditions: world.resource::<Conditions>().clone(),
            balancers: world.resource::<Balancers>().clone(),
            restarts: world.resource::<Restarts>().clone(),
            tallies: world.resource::<Tallies>().clone(),
            faults: world.resource::<FaultTimeline>().clone(),
            remediations: world.resource::<Remediations>().clone(),
            alerting: (
                world.resource::<slo::Slos>().clone(),
                world.resource::<slo::ThresholdAlerts>().clone(),
            ),
            incident: world.resource::<Incident>().clone(),
            services: fleet
                .services
                .iter()
                .map(|e| {
                    component(e)
                        .get::<ServiceMetrics>()
                        .expect("service")
                        .clone()
                })
                .collect(),
            instances: fleet
                .instances
                .iter()
                .map(|e| {
                    component(e)
                        .get::<InstanceState>()
                        .expect("instance")
                        .clone()
                })
                .collect(),
            sources: fleet
                .sources
                .iter()
                .map(|e| {
                    let source = component(e);
                    (
                        source.get::<SourceState>().expect("source").clone(),
                        source.get::<SourceMetrics>().expect("source").clone(),
                    )
                })
                .collect(),
        }
    }

    /// A simulation in the state of `snapshot`: run on, it does exactly what the one the
    /// snapshot was taken of would.
    pub fn resume(snapshot: &Snapshot) -> Self {
        let Snapshot {
            topology,
            clock,
            events,
            awake,
            conditions,
            balancers,
            restarts,
            tallies,
            faults,
            remediations,
            alerting,
            incident,
            services,
            instances,
            sources,
        } = snapshot.clone();
        let mut sim = Self::build(topology, faults, alerting);
        let world = sim.app.world_mut();
        world.insert_resource(clock);
        world.insert_resource(events);
        world.insert_resource(awake);
        world.insert_resource(conditions);
        world.insert_resource(balancers);
        world.insert_resource(restarts);
        world.insert_resource(tallies);
        world.insert_resource(remediations);
        world.insert_resource(incident);
        let fleet = world.resource::<Fleet>().clone();
        for (entity, metrics) in fleet.services.iter().zip(services) {
            world.entity_mut(*entity).insert(metrics);
        }
        for (entity, state) in fleet.instances.iter().zip(instances) {
            world.entity_mut(*entity).insert(state);
        }
        for (entity, (state, metrics)) in fleet.sources.iter().zip(sources) {
            world.entity_mut(*entity).insert((state, metrics));
        }
        sim
    }

    /// Issues a command; it is applied at the first tick starting at or after its time.
    pub fn issue(&mut self, entry: Entry) {
        self.app.world_mut().resource_mut::<Incident>().issue(entry);
    }

    /// Issues a remediation at simulated time `at`, by the solo player.
    pub fn schedule(&mut self, at: f64, remediation: Remediation) {
        self.issue(Entry {
            at: Seconds(at),
            by: incident::SOLO_PLAYER.to_string(),
            command: incident::Command::Apply(remediation),
        });
    }

    /// Applies the commands due now without running a tick: those written after the last
    /// tick of a run (the resolution, the postmortem).
    pub fn apply_due_commands(&mut self) {
        use bevy::ecs::system::RunSystemOnce;
        self.app
            .world_mut()
            .run_system_once(incident::apply_commands)
            .expect("the incident systems' resources exist");
    }

    /// The incident: commands applied, lifecycle, chat.
    pub fn incident(&self) -> &Incident {
        self.app.world().resource::<Incident>()
    }

    /// The incident, to answer what the session layer answers (estimates).
    pub fn incident_mut(&mut self) -> Mut<'_, Incident> {
        self.app.world_mut().resource_mut::<Incident>()
    }

    /// Remediations scheduled, running and applied.
    pub fn remediations(&self) -> &Remediations {
        self.app.world().resource::<Remediations>()
    }

    /// The run's SLOs: budgets, burn rates and alerts.
    pub fn slos(&self) -> &[slo::SloTracker] {
        &self.app.world().resource::<slo::Slos>().0
    }

    /// The run's threshold alerts.
    pub fn threshold_alerts(&self) -> &[slo::ThresholdTracker] {
        &self.app.world().resource::<slo::ThresholdAlerts>().0
    }

    /// The fault timeline: which faults started and ended when.
    pub fn faults(&self) -> &FaultTimeline {
        self.app.world().resource::<FaultTimeline>()
    }

    /// The conditions faults impose right now.
    pub fn conditions(&self) -> &Conditions {
        self.app.world().resource::<Conditions>()
    }

    /// Advances `ticks` ticks, or until the game master ends the shift.
    pub fn run_ticks(&mut self, ticks: u64) {
        // The schedule is taken out of the world once for all the ticks, not once a tick.
        self.app
            .world_mut()
            .schedule_scope(FixedUpdate, |world, schedule| {
                for _ in 0..ticks {
                    if world.resource::<Incident>().lifecycle.ended_s.is_some() {
                        break;
                    }
                    schedule.run(world);
                }
            });
    }

    /// Whether the game master ended the shift before its time.
    pub fn ended_early(&self) -> bool {
        self.incident().lifecycle.ended_s.is_some()
    }

    /// Advances until simulated time reaches `seconds` (whole ticks).
    pub fn run_until(&mut self, seconds: f64) {
        let clock = self.clock();
        let target = (seconds / clock.dt - 1e-9).ceil().max(0.0) as u64;
        self.run_ticks(target.saturating_sub(clock.tick));
    }

    /// Closes the open metric periods so every tick run so far is in the totals.
    pub fn flush_metrics(&mut self) {
        let clock = self.clock();
        let world = self.app.world_mut();
        let mut services = world.query::<&mut ServiceMetrics>();
        for mut metrics in services.iter_mut(world) {
            metrics.flush(clock.now());
        }
        let mut sources = world.query::<&mut SourceMetrics>();
        for mut metrics in sources.iter_mut(world) {
            metrics.flush(clock.now());
        }
    }

    /// The last log lines of `service`, rendered, oldest first.
    pub fn log_lines(&self, service: usize, last: usize) -> Vec<String> {
        let tallies = self.app.world().resource::<Tallies>();
        let versions: Vec<String> = self.conditions().versions[service]
            .iter()
            .map(|v| v.name.clone())
            .collect();
        let mut entries: Vec<&logs::LogEntry> = tallies.logs.entries(service).collect();
        entries.sort_by(|a, b| a.t.total_cmp(&b.t));
        let skip = entries.len().saturating_sub(last);
        entries[skip..]
            .iter()
            .map(|entry| {
                logs::Line {
                    entry,
                    topology: self.topology(),
                    versions: &versions,
                }
                .to_string()
            })
            .collect()
    }

    /// The recent sampled traces.
    pub fn traces(&self) -> &traces::Traces {
        &self.app.world().resource::<Tallies>().traces
    }

    /// The `count` slowest sampled user requests still kept, slowest first, as trees.
    pub fn slowest_traces(&self, count: usize) -> Vec<String> {
        let traces = self.traces();
        let mut roots: Vec<&traces::Span> = traces.roots().collect();
        roots.sort_by(|a, b| {
            (b.end - b.start)
                .total_cmp(&(a.end - a.start))
                .then(a.trace.cmp(&b.trace))
        });
        roots
            .iter()
            .take(count)
            .map(|root| traces::render(&traces.trace(root.trace), self.topology()))
            .collect()
    }

    /// Events handled so far (arrivals, completions, replies, timeouts).
    pub fn events_handled(&self) -> u64 {
        self.app.world().resource::<Events>().handled()
    }

    pub fn clock(&self) -> SimClock {
        *self.app.world().resource::<SimClock>()
    }

    pub fn fleet(&self) -> &Fleet {
        self.app.world().resource::<Fleet>()
    }

    pub fn topology(&self) -> &Topology {
        &self.fleet().topology
    }

    pub fn service_metrics(&self, service: usize) -> &ServiceMetrics {
        let entity = self.fleet().services[service];
        self.app
            .world()
            .get::<ServiceMetrics>(entity)
            .expect("service entity")
    }

    pub fn source_metrics(&self, source: usize) -> &SourceMetrics {
        let entity = self.fleet().sources[source];
        self.app
            .world()
            .get::<SourceMetrics>(entity)
            .expect("source entity")
    }

    pub fn instance(&self, global: u32) -> &InstanceState {
        let entity = self.fleet().instances[global as usize];
        self.app
            .world()
            .get::<InstanceState>(entity)
            .expect("instance entity")
    }

    /// The timeline of the session so far: what scoring and the debrief read.
    pub fn timeline(&self) -> Timeline {
        let sim = self;
        let incident: &Incident = sim.incident();
        let mut pages = Vec::new();
        let mut alerts = Vec::new();
        let mut gather =
            |name: &str, service: &str, their_pages: &[Page], their_alerts: &[Alert]| {
                pages.extend(their_pages.iter().map(|p| PageFact {
                    alert: name.to_string(),
                    service: service.to_string(),
                    opened_s: p.opened_s,
                    acknowledged_s: p.acknowledged_s,
                    escalated_s: p.escalated_s,
                    resolved_s: p.resolved_s,
                    grouped: p.grouped,
                    held_by: p.held_by.clone(),
                }));
                alerts.extend(their_alerts.iter().map(|a| AlertFact {
                    alert: name.to_string(),
                    severity: format!("{:?}", a.severity),
                    row: a.row.clone(),
                    fired_s: a.fired_s,
                    cleared_s: a.cleared_s,
                }));
            };
        for slo in sim.slos() {
            // The report's alerts: those a faster one inhibited are left out.
            let report = slo.report(&slo.spec.service);
            gather(
                &slo.spec.name,
                &slo.spec.service,
                &report.pages,
                &report.alerts,
            );
        }
        for rule in sim.threshold_alerts() {
            gather(
                &rule.spec.name,
                &rule.spec.service,
                &rule.pager.pages,
                &rule.alerts,
            );
        }
        pages.sort_by(|a, b| a.opened_s.total_cmp(&b.opened_s));
        alerts.sort_by(|a, b| a.fired_s.total_cmp(&b.fired_s));
        let mut chat = incident.chat.clone();
        chat.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
        Timeline {
            end_s: sim.clock().now(),
            lifecycle: incident.lifecycle.clone(),
            records: incident.records.clone(),
            pages,
            alerts,
            faults: sim.faults().records(),
            tasks: incident.tasks.clone(),
            chat,
            postmortem: incident.postmortem.clone(),
            estimates: incident.estimates.clone(),
            applied: sim.remediations().applied.clone(),
            slos: sim.slos().iter().map(|s| s.spec.name.clone()).collect(),
            vitals: incident.vitals.clone(),
            runbooks: crate::incident::runbook::progress(&incident.runbooks, &incident.records),
        }
    }
}
