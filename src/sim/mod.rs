//! The fleet simulation: services, instances and traffic sources as ECS entities, advanced
//! one fixed tick at a time by a chain of systems.

pub mod autoscale;
pub mod awake;
pub mod balancer;
pub mod conditions;
pub mod events;
pub mod histogram;
pub mod instance;
pub mod logs;
pub mod metrics;
pub mod plain;
pub mod random;
pub mod restarts;
pub mod retry;
pub mod source;
pub mod step;
pub mod topology;
pub mod traces;

use std::sync::Arc;

use bevy::ecs::schedule::{LogLevel, ScheduleBuildSettings};
use bevy::prelude::*;

use awake::Awake;
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
    /// Faults start, end, and bend the conditions of the tick; then remediations due start,
    /// running ones move on, and those in force bend the conditions.
    Conditions,
    /// Traffic sources send this tick's first tries; restarts are due and health checks
    /// move instances in and out of rotation; then the tick's events, in time order:
    /// arrivals, completions, replies, timeouts; then CPU, memory, OOM kills and the gauges.
    /// One system, so the fleet is gathered once a tick and its data fetched once.
    Serve,
    /// SLOs count the tick's good and bad events and evaluate their alerts.
    Slos,
    /// The incident follows the SLIs: impact, mitigation, stakeholders' messages.
    Incident,
    /// Tallies and gauges become metric rows, and the clock moves to the next tick.
    Metrics,
}

pub(super) fn plugin(app: &mut App) {
    // The engine's schedule runs only in a `Simulation`'s own app, which holds every
    // resource its systems read from the start: no condition on a resource existing.
    app.configure_sets(
        FixedUpdate,
        (
            SimSet::Commands,
            SimSet::Conditions,
            SimSet::Serve,
            SimSet::Slos,
            SimSet::Incident,
            SimSet::Metrics,
        )
            .chain(),
    )
    .add_systems(
        FixedUpdate,
        (
            serve.in_set(SimSet::Serve),
            close_tick.in_set(SimSet::Metrics),
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
    world.insert_resource(Awake::new(topology.total_instances));
    world.insert_resource(Conditions::normal(&topology));
    world.insert_resource(Balancers(vec![0; topology.services.len()]));
    world.insert_resource(restarts::Restarts::default());
    world.insert_resource(Tallies {
        services: topology
            .services
            .iter()
            .map(|m| metrics::ServiceTally {
                ok_latency: histogram::Histogram::with_exact(&m.latency_thresholds),
                ..Default::default()
            })
            .collect(),
        sources: vec![Default::default(); topology.sources.len()],
        logs: logs::Logs::new(topology.services.len()),
        traces: traces::Traces::default(),
        gauges: Vec::new(),
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

/// The instances' state, as a system asks for it.
pub(crate) type InstanceStates<'w, 's> =
    Query<'w, 's, (&'static InstanceOf, &'static mut InstanceState)>;

/// Instance state borrowed from the ECS for one system run, by global instance index:
/// gathered once, on first use (a system with nothing to do this tick gathers nothing), so
/// the per-event lookups are plain indexing.
pub(crate) struct InstanceQuery<'a, 'w, 's> {
    query: Option<&'a mut InstanceStates<'w, 's>>,
    total: u32,
    by_global: Vec<Option<&'a mut InstanceState>>,
    awake: &'a mut Awake,
}

impl<'a, 'w, 's> InstanceQuery<'a, 'w, 's> {
    pub(crate) fn gather(
        total: u32,
        query: &'a mut InstanceStates<'w, 's>,
        awake: &'a mut Awake,
    ) -> Self {
        Self {
            query: Some(query),
            total,
            by_global: Vec::new(),
            awake,
        }
    }

    fn by_global(&mut self) -> &mut [Option<&'a mut InstanceState>] {
        if self.query.is_some() {
            self.fill();
        }
        &mut self.by_global
    }

    /// The gathering itself, apart so that every lookup after it stays a plain index.
    #[cold]
    fn fill(&mut self) {
        if let Some(query) = self.query.take() {
            self.by_global = (0..self.total).map(|_| None).collect();
            for (of, state) in query.iter_mut() {
                self.by_global[of.global as usize] = Some(state.into_inner());
            }
        }
    }
}

impl InstanceStore for InstanceQuery<'_, '_, '_> {
    fn instance(&mut self, global: u32) -> &mut InstanceState {
        self.awake.wake(global);
        self.by_global()[global as usize]
            .as_deref_mut()
            .expect("every instance has an entity")
    }

    fn peek(&mut self, global: u32) -> &InstanceState {
        self.by_global()[global as usize]
            .as_deref()
            .expect("every instance has an entity")
    }

    fn awake(&mut self) -> &mut Awake {
        self.awake
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

#[allow(clippy::too_many_arguments)] // a system's parameters are its data access
fn serve(
    fleet: Res<Fleet>,
    clock: Res<SimClock>,
    conditions: Res<Conditions>,
    mut events: ResMut<Events>,
    mut tallies: ResMut<Tallies>,
    mut balancers: ResMut<Balancers>,
    (mut instances, mut awake): (InstanceStates, ResMut<Awake>),
    mut sources: Query<(&SourceId, &mut SourceState)>,
) {
    let tick = clock.current();
    let mut source_store = SourceQuery::gather(fleet.sources.len(), &mut sources);
    step::generate_traffic(
        &fleet.topology,
        &conditions,
        &mut source_store,
        &mut events,
        &mut tallies,
        tick,
    );
    let mut instance_store =
        InstanceQuery::gather(fleet.topology.total_instances, &mut instances, &mut awake);
    step::run_health_checks(
        &fleet.topology,
        &conditions,
        &mut instance_store,
        &mut tallies.logs,
        tick,
    );
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

/// The tick's tallies become metric rows, then the clock moves on.
fn close_tick(
    fleet: Res<Fleet>,
    mut clock: ResMut<SimClock>,
    mut tallies: ResMut<Tallies>,
    mut services: Query<&mut ServiceMetrics>,
    mut sources: Query<&mut SourceMetrics>,
) {
    let tick = clock.current();
    for (s, &entity) in fleet.services.iter().enumerate() {
        let mut metrics = services.get_mut(entity).expect("service entity");
        step::record_service(&mut metrics, &mut tallies, s, tick);
    }
    for (i, &entity) in fleet.sources.iter().enumerate() {
        let mut metrics = sources.get_mut(entity).expect("source entity");
        step::record_source(&mut metrics, &mut tallies, i, tick);
    }
    clock.tick += 1;
}
