//! The fleet simulation: services, instances and traffic sources as ECS entities, advanced
//! one fixed tick at a time by a chain of systems.

pub mod balancer;
pub mod conditions;
pub mod events;
pub mod histogram;
pub mod instance;
pub mod logs;
pub mod metrics;
pub mod plain;
pub mod random;
pub mod retry;
pub mod source;
pub mod step;
pub mod topology;
pub mod traces;

use std::sync::Arc;

use bevy::ecs::schedule::{LogLevel, ScheduleBuildSettings};
use bevy::prelude::*;

use crate::scenario::Scenario;

use conditions::Conditions;
use events::Events;
use instance::InstanceState;
use metrics::{ServiceMetrics, SourceMetrics, Tallies};
use source::SourceState;
use step::{InstanceStore, SourceStore, Tick};
use topology::Topology;

/// The order of one tick.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SimSet {
    /// The responders' commands due this tick are applied.
    Commands,
    /// Faults start, end, and bend the conditions of the tick.
    Faults,
    /// Remediations due start, running ones move on, and those in force bend the conditions.
    Remediations,
    /// Traffic sources send this tick's first tries.
    Traffic,
    /// Restarts are due and health checks move instances in and out of rotation.
    Health,
    /// The tick's events, in time order: arrivals, completions, replies, timeouts; then
    /// CPU, memory and OOM kills.
    Serve,
    /// SLOs count the tick's good and bad events and evaluate their alerts.
    Slos,
    /// The incident follows the SLIs: impact, mitigation, stakeholders' messages.
    Incident,
    /// Tallies and gauges become metric rows.
    Metrics,
    /// The clock moves to the next tick.
    Clock,
}

pub(super) fn plugin(app: &mut App) {
    app.configure_sets(
        FixedUpdate,
        (
            SimSet::Commands,
            SimSet::Faults,
            SimSet::Remediations,
            SimSet::Traffic,
            SimSet::Health,
            SimSet::Serve,
            SimSet::Slos,
            SimSet::Incident,
            SimSet::Metrics,
            SimSet::Clock,
        )
            .chain()
            .run_if(resource_exists::<Fleet>),
    )
    .add_systems(
        FixedUpdate,
        (
            generate_traffic.in_set(SimSet::Traffic),
            health_checks.in_set(SimSet::Health),
            serve.in_set(SimSet::Serve),
            record_metrics.in_set(SimSet::Metrics),
            advance_clock.in_set(SimSet::Clock),
        ),
    )
    .edit_schedule(FixedUpdate, |schedule| {
        // Unordered systems touching the same data would make runs differ: refuse them.
        schedule.set_build_settings(ScheduleBuildSettings {
            ambiguity_detection: LogLevel::Error,
            ..default()
        });
    });
}

/// The running fleet: its compiled topology and the entities standing for it.
#[derive(Resource, Clone)]
pub struct Fleet {
    pub topology: Arc<Topology>,
    pub services: Vec<Entity>,
    /// Instance entities by global instance index.
    pub instances: Vec<Entity>,
    pub sources: Vec<Entity>,
}

/// Simulated time, as a tick count (no floating drift) and the tick length.
#[derive(Resource, Clone, Copy, Debug)]
pub struct SimClock {
    pub tick: u64,
    pub dt: f64,
}

impl SimClock {
    pub fn now(&self) -> f64 {
        self.tick as f64 * self.dt
    }

    pub fn current(&self) -> Tick {
        Tick {
            index: self.tick,
            t0: self.tick as f64 * self.dt,
            t1: (self.tick + 1) as f64 * self.dt,
        }
    }
}

/// The balancers' positions, by service, for round-robin and least-connections ties.
#[derive(Resource, Clone, Debug, Default)]
pub struct Balancers(pub Vec<usize>);

#[derive(Component, Clone, Copy, Debug)]
pub struct ServiceId(pub usize);

#[derive(Component, Clone, Copy, Debug)]
pub struct InstanceOf {
    pub service: usize,
    /// Index within its service.
    pub index: u32,
    /// Index across the fleet.
    pub global: u32,
}

#[derive(Component, Clone, Copy, Debug)]
pub struct SourceId(pub usize);

/// Spawns the fleet of `topology` into `world`, replacing any fleet already there.
pub fn spawn_fleet(world: &mut World, topology: Topology) {
    despawn_fleet(world);
    let mut services = Vec::new();
    let mut instances = Vec::new();
    for (i, service) in topology.services.iter().enumerate() {
        services.push(
            world
                .spawn((
                    Name::new(service.name.clone()),
                    ServiceId(i),
                    ServiceMetrics::new(service.cores),
                ))
                .id(),
        );
        for global in service.members() {
            let k = global - service.first_instance;
            instances.push(
                world
                    .spawn((
                        Name::new(format!("{}-{k}", service.name)),
                        InstanceOf {
                            service: i,
                            index: k,
                            global,
                        },
                        step::new_instance(&topology, global),
                    ))
                    .id(),
            );
        }
    }
    let sources = topology
        .sources
        .iter()
        .enumerate()
        .map(|(i, model)| {
            world
                .spawn((
                    Name::new(model.name.clone()),
                    SourceId(i),
                    step::new_source(&topology, i),
                    SourceMetrics::default(),
                ))
                .id()
        })
        .collect();
    world.insert_resource(Events::new(topology.tick));
    world.insert_resource(Conditions::normal(&topology));
    world.insert_resource(Balancers(vec![0; topology.services.len()]));
    world.insert_resource(Tallies {
        services: vec![Default::default(); topology.services.len()],
        sources: vec![Default::default(); topology.sources.len()],
        logs: logs::Logs::new(topology.services.len()),
        traces: traces::Traces::default(),
    });
    world.insert_resource(SimClock {
        tick: 0,
        dt: topology.tick,
    });
    world.insert_resource(Fleet {
        topology: Arc::new(topology),
        services,
        instances,
        sources,
    });
}

/// Removes the running fleet, if any.
pub fn despawn_fleet(world: &mut World) {
    if let Some(fleet) = world.remove_resource::<Fleet>() {
        for entity in fleet
            .services
            .iter()
            .chain(&fleet.instances)
            .chain(&fleet.sources)
        {
            world.despawn(*entity);
        }
    }
}

/// Instance state borrowed from the ECS for one system run, by global instance index
/// (gathered once, so the per-event lookups are plain indexing).
pub(crate) struct InstanceQuery<'a>(Vec<Option<&'a mut InstanceState>>);

impl<'a> InstanceQuery<'a> {
    pub(crate) fn gather(
        total: u32,
        query: &'a mut Query<(&InstanceOf, &mut InstanceState)>,
    ) -> Self {
        let mut by_global: Vec<Option<&'a mut InstanceState>> = (0..total).map(|_| None).collect();
        for (of, state) in query.iter_mut() {
            by_global[of.global as usize] = Some(state.into_inner());
        }
        Self(by_global)
    }
}

impl InstanceStore for InstanceQuery<'_> {
    fn instance(&mut self, global: u32) -> &mut InstanceState {
        self.0[global as usize]
            .as_deref_mut()
            .expect("every instance has an entity")
    }
}

/// Source state borrowed from the ECS for one system run, by source index.
struct SourceQuery<'a>(Vec<Option<&'a mut SourceState>>);

impl<'a> SourceQuery<'a> {
    fn gather(total: usize, query: &'a mut Query<(&SourceId, &mut SourceState)>) -> Self {
        let mut by_index: Vec<Option<&'a mut SourceState>> = (0..total).map(|_| None).collect();
        for (id, state) in query.iter_mut() {
            by_index[id.0] = Some(state.into_inner());
        }
        Self(by_index)
    }
}

impl SourceStore for SourceQuery<'_> {
    fn source(&mut self, index: usize) -> &mut SourceState {
        self.0[index]
            .as_deref_mut()
            .expect("every source has an entity")
    }
}

fn generate_traffic(
    fleet: Res<Fleet>,
    clock: Res<SimClock>,
    conditions: Res<Conditions>,
    mut events: ResMut<Events>,
    mut tallies: ResMut<Tallies>,
    mut sources: Query<(&SourceId, &mut SourceState)>,
) {
    let mut store = SourceQuery::gather(fleet.sources.len(), &mut sources);
    step::generate_traffic(
        &fleet.topology,
        &conditions,
        &mut store,
        &mut events,
        &mut tallies,
        clock.current(),
    );
}

fn health_checks(
    fleet: Res<Fleet>,
    clock: Res<SimClock>,
    conditions: Res<Conditions>,
    mut tallies: ResMut<Tallies>,
    mut instances: Query<(&InstanceOf, &mut InstanceState)>,
) {
    let mut store = InstanceQuery::gather(fleet.topology.total_instances, &mut instances);
    step::run_health_checks(
        &fleet.topology,
        &conditions,
        &mut store,
        &mut tallies.logs,
        clock.current(),
    );
}

#[allow(clippy::too_many_arguments)] // a system's parameters are its data access
fn serve(
    fleet: Res<Fleet>,
    clock: Res<SimClock>,
    conditions: Res<Conditions>,
    mut events: ResMut<Events>,
    mut tallies: ResMut<Tallies>,
    mut balancers: ResMut<Balancers>,
    mut instances: Query<(&InstanceOf, &mut InstanceState)>,
    mut sources: Query<(&SourceId, &mut SourceState)>,
) {
    let tick = clock.current();
    let mut instance_store = InstanceQuery::gather(fleet.topology.total_instances, &mut instances);
    let mut source_store = SourceQuery::gather(fleet.sources.len(), &mut sources);
    step::run_events(
        (&fleet.topology, &conditions),
        &mut instance_store,
        &mut source_store,
        &mut balancers.0,
        &mut events,
        &mut tallies,
        tick,
    );
    step::end_tick(
        &fleet.topology,
        &conditions,
        &mut instance_store,
        &mut events,
        &mut tallies,
        tick,
    );
}

fn record_metrics(
    fleet: Res<Fleet>,
    clock: Res<SimClock>,
    conditions: Res<Conditions>,
    mut tallies: ResMut<Tallies>,
    mut instances: Query<(&InstanceOf, &mut InstanceState)>,
    mut services: Query<&mut ServiceMetrics>,
    mut sources: Query<&mut SourceMetrics>,
) {
    let tick = clock.current();
    let mut store = InstanceQuery::gather(fleet.topology.total_instances, &mut instances);
    for (s, &entity) in fleet.services.iter().enumerate() {
        let gauges = step::gauges(&fleet.topology, &conditions, s, &mut store, tick);
        let mut metrics = services.get_mut(entity).expect("service entity");
        step::record_service(&mut metrics, &mut tallies, s, gauges, tick);
    }
    for (i, &entity) in fleet.sources.iter().enumerate() {
        let mut metrics = sources.get_mut(entity).expect("source entity");
        step::record_source(&mut metrics, &mut tallies, i, tick);
    }
}

fn advance_clock(mut clock: ResMut<SimClock>) {
    clock.tick += 1;
}

/// A headless simulation: the fleet in its own `App`, advanced tick by tick as fast as the
/// machine allows. The window runs the same plugin in `FixedUpdate` instead.
pub struct Simulation {
    app: App,
}

impl Simulation {
    /// Builds the simulation of a validated scenario.
    pub fn new(scenario: &Scenario) -> Self {
        let topology = Topology::compile(scenario);
        let faults = crate::faults::FaultTimeline::compile(scenario, &topology);
        let alerting = (
            crate::slo::Slos::compile(scenario),
            crate::slo::ThresholdAlerts::compile(scenario),
        );
        let mut sim = Self::build(topology, faults, alerting);
        sim.app.insert_resource(crate::incident::Incident::new(
            scenario.incident.clone(),
            &scenario.chat,
        ));
        sim
    }

    pub fn from_topology(topology: Topology) -> Self {
        Self::build(
            topology,
            crate::faults::FaultTimeline::default(),
            Default::default(),
        )
    }

    fn build(
        topology: Topology,
        faults: crate::faults::FaultTimeline,
        (slos, thresholds): (crate::slo::Slos, crate::slo::ThresholdAlerts),
    ) -> Self {
        let mut app = App::new();
        app.add_plugins((
            plugin,
            crate::faults::plugin,
            crate::remediation::plugin,
            crate::slo::plugin,
            crate::incident::plugin,
        ));
        app.insert_resource(slos);
        app.insert_resource(thresholds);
        app.insert_resource(crate::remediation::Remediations::new(&topology));
        app.insert_resource(crate::incident::Incident::new(None, &Default::default()));
        spawn_fleet(app.world_mut(), topology);
        app.insert_resource(faults);
        Self { app }
    }

    /// Issues a command; it is applied at the first tick starting at or after its time.
    pub fn issue(&mut self, entry: crate::incident::Entry) {
        self.app
            .world_mut()
            .resource_mut::<crate::incident::Incident>()
            .issue(entry);
    }

    /// Issues a remediation at simulated time `at`, by the solo player.
    pub fn schedule(&mut self, at: f64, remediation: crate::remediation::Remediation) {
        self.issue(crate::incident::Entry {
            at: crate::scenario::Seconds(at),
            by: crate::incident::SOLO_PLAYER.to_string(),
            command: crate::incident::Command::Apply(remediation),
        });
    }

    /// Applies the commands due now without running a tick: those written after the last
    /// tick of a run (the resolution, the postmortem).
    pub fn apply_due_commands(&mut self) {
        use bevy::ecs::system::RunSystemOnce;
        self.app
            .world_mut()
            .run_system_once(crate::incident::apply_commands)
            .expect("the incident systems' resources exist");
    }

    /// The incident: commands applied, lifecycle, chat.
    pub fn incident(&self) -> &crate::incident::Incident {
        self.app.world().resource::<crate::incident::Incident>()
    }

    /// Remediations scheduled, running and applied.
    pub fn remediations(&self) -> &crate::remediation::Remediations {
        self.app
            .world()
            .resource::<crate::remediation::Remediations>()
    }

    /// The run's SLOs: budgets, burn rates and alerts.
    pub fn slos(&self) -> &[crate::slo::SloTracker] {
        &self.app.world().resource::<crate::slo::Slos>().0
    }

    /// The run's threshold alerts.
    pub fn threshold_alerts(&self) -> &[crate::slo::ThresholdTracker] {
        &self.app.world().resource::<crate::slo::ThresholdAlerts>().0
    }

    /// The fault timeline: which faults started and ended when.
    pub fn faults(&self) -> &crate::faults::FaultTimeline {
        self.app.world().resource::<crate::faults::FaultTimeline>()
    }

    /// The conditions faults impose right now.
    pub fn conditions(&self) -> &Conditions {
        self.app.world().resource::<Conditions>()
    }

    /// Advances `ticks` ticks, or until the game master ends the shift.
    pub fn run_ticks(&mut self, ticks: u64) {
        for _ in 0..ticks {
            if self.ended_early() {
                break;
            }
            self.app.world_mut().run_schedule(FixedUpdate);
        }
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
}
