//! The fleet simulation: services, instances and traffic sources as ECS entities, advanced
//! one fixed tick at a time by a chain of systems.

pub mod balancer;
pub mod histogram;
pub mod instance;
pub mod messages;
pub mod metrics;
pub mod random;
pub mod retry;
pub mod source;
pub mod topology;

use std::sync::Arc;

use bevy::ecs::schedule::{LogLevel, ScheduleBuildSettings};
use bevy::prelude::*;

use crate::scenario::Scenario;

use balancer::Backend;
use instance::{Effects, InstanceState, Tick};
use messages::{Call, Mailboxes};
use metrics::{Gauges, ServiceMetrics, SourceMetrics, Tallies};
use source::SourceState;
use topology::Topology;

/// The order of one tick. Later issues slot faults and remediations in before `Serve`.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SimSet {
    /// Traffic sources read replies and send this tick's requests.
    Traffic,
    /// Health checks move instances in and out of rotation.
    Health,
    /// Services, callers before callees, balance and serve their calls.
    Serve,
    /// Tallies and gauges become metric rows.
    Metrics,
    /// The clock moves to the next tick.
    Clock,
}

pub(super) fn plugin(app: &mut App) {
    app.configure_sets(
        FixedUpdate,
        (
            SimSet::Traffic,
            SimSet::Health,
            SimSet::Serve,
            SimSet::Metrics,
            SimSet::Clock,
        )
            .chain()
            .run_if(resource_exists::<Fleet>),
    )
    .add_systems(
        FixedUpdate,
        (
            drive_traffic.in_set(SimSet::Traffic),
            run_health_checks.in_set(SimSet::Health),
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

#[derive(Resource, Default)]
pub struct Mail(pub Mailboxes);

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

/// The balancer's position for round-robin and least-connections tie-breaking.
#[derive(Component, Clone, Copy, Debug, Default)]
pub struct BalancerCursor(pub usize);

/// Spawns the fleet of `topology` into `world`, replacing any fleet already there.
pub fn spawn_fleet(world: &mut World, topology: Topology) {
    despawn_fleet(world);
    let seed = topology.seed;
    let mut services = Vec::new();
    let mut instances = Vec::new();
    for (i, service) in topology.services.iter().enumerate() {
        services.push(
            world
                .spawn((
                    Name::new(service.name.clone()),
                    ServiceId(i),
                    BalancerCursor::default(),
                    ServiceMetrics::new(service.cores, service.instances),
                ))
                .id(),
        );
        for k in 0..service.instances {
            let global = service.first_instance + k;
            let rng = random::stream(seed, random::STREAM_INSTANCE + u64::from(global));
            instances.push(
                world
                    .spawn((
                        Name::new(format!("{}-{k}", service.name)),
                        InstanceOf {
                            service: i,
                            index: k,
                            global,
                        },
                        InstanceState::new(service, rng),
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
            let rng = random::stream(seed, random::STREAM_SOURCE + i as u64);
            world
                .spawn((
                    Name::new(model.name.clone()),
                    SourceId(i),
                    SourceState::new(model, rng),
                    SourceMetrics::default(),
                ))
                .id()
        })
        .collect();
    world.insert_resource(Mail(Mailboxes::new(
        topology.services.len(),
        topology.total_instances as usize,
        topology.sources.len(),
    )));
    world.insert_resource(Tallies {
        services: vec![Default::default(); topology.services.len()],
        sources: vec![Default::default(); topology.sources.len()],
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

fn drive_traffic(
    fleet: Res<Fleet>,
    clock: Res<SimClock>,
    mut mail: ResMut<Mail>,
    mut tallies: ResMut<Tallies>,
    mut sources: Query<&mut SourceState>,
) {
    let tick = clock.current();
    let mail = &mut mail.0;
    for (i, &entity) in fleet.sources.iter().enumerate() {
        let Ok(mut source) = sources.get_mut(entity) else {
            continue;
        };
        let mut replies = std::mem::take(&mut mail.source_replies[i]);
        source.step(
            &fleet.topology.sources[i],
            i as u32,
            tick,
            &mut replies,
            mail,
            &mut tallies.sources[i],
        );
        mail.source_replies[i] = replies;
    }
}

fn run_health_checks(
    fleet: Res<Fleet>,
    clock: Res<SimClock>,
    mut instances: Query<(&InstanceOf, &mut InstanceState)>,
) {
    let tick = clock.current();
    for &entity in &fleet.instances {
        let Ok((of, mut state)) = instances.get_mut(entity) else {
            continue;
        };
        let service = &fleet.topology.services[of.service];
        // Probes are spread over the interval so instances are not checked in lockstep.
        if (tick.index + u64::from(of.global)) % service.hc_interval_ticks != 0 {
            continue;
        }
        let passed = state.up && state.queue_age(tick.t0) <= service.hc_timeout;
        let state = &mut *state;
        balancer::probe(
            &mut state.in_rotation,
            &mut state.failed_probes,
            &mut state.passed_probes,
            passed,
            service.unhealthy_threshold,
            service.healthy_threshold,
        );
    }
}

/// Reused buffers, so a tick allocates nothing in steady state.
#[derive(Default)]
struct ServeScratch {
    arrivals: Vec<Call>,
    backends: Vec<Backend>,
    picks: Vec<u32>,
    per_instance: Vec<Vec<Call>>,
}

fn serve(
    fleet: Res<Fleet>,
    clock: Res<SimClock>,
    mut mail: ResMut<Mail>,
    mut tallies: ResMut<Tallies>,
    mut cursors: Query<&mut BalancerCursor>,
    mut instances: Query<&mut InstanceState>,
    mut scratch: Local<ServeScratch>,
) {
    let tick = clock.current();
    let topology = &*fleet.topology;
    let scratch = &mut *scratch;
    let mut fx = Effects {
        mail: &mut mail.0,
        tallies: &mut tallies.services,
    };
    for &s in &topology.order {
        let service = &topology.services[s];
        let first = service.first_instance as usize;
        let members = &fleet.instances[first..first + service.instances as usize];
        fx.mail.take_arrivals(s, tick.t1, &mut scratch.arrivals);

        scratch.backends.clear();
        for &entity in members {
            let state = instances.get(entity).expect("instance entity");
            scratch.backends.push(Backend {
                in_rotation: state.in_rotation,
                load: state.queue_len() + state.busy(),
            });
        }
        let mut cursor = cursors.get_mut(fleet.services[s]).expect("service entity");
        balancer::assign(
            service.load_balancer,
            &mut cursor.0,
            &mut scratch.backends,
            scratch.arrivals.len(),
            &mut scratch.picks,
        );
        scratch.per_instance.resize_with(members.len(), Vec::new);
        for (call, &pick) in scratch.arrivals.iter().zip(&scratch.picks) {
            scratch.per_instance[pick as usize].push(*call);
        }

        for (k, &entity) in members.iter().enumerate() {
            let mut state = instances.get_mut(entity).expect("instance entity");
            let global = (first + k) as u32;
            state.accept(service, s, &scratch.per_instance[k], &mut fx);
            scratch.per_instance[k].clear();
            let mut replies = std::mem::take(&mut fx.mail.instance_replies[global as usize]);
            state.step(topology, s, global, tick, &mut replies, &mut fx);
            fx.mail.instance_replies[global as usize] = replies;
        }
    }
}

fn record_metrics(
    fleet: Res<Fleet>,
    clock: Res<SimClock>,
    mut tallies: ResMut<Tallies>,
    instances: Query<&InstanceState>,
    mut services: Query<&mut ServiceMetrics>,
    mut sources: Query<&mut SourceMetrics>,
) {
    let tick = clock.current();
    let topology = &*fleet.topology;
    for (s, service) in topology.services.iter().enumerate() {
        let first = service.first_instance as usize;
        let mut gauges = Gauges::default();
        for &entity in &fleet.instances[first..first + service.instances as usize] {
            let state = instances.get(entity).expect("instance entity");
            gauges.memory_mb += state.memory_mb;
            gauges.queue += state.queue_len() as f64;
            gauges.in_flight += state.busy() as f64;
            gauges.healthy += u32::from(state.up && state.in_rotation);
        }
        gauges.memory_mb /= f64::from(service.instances.max(1));
        let mut metrics = services.get_mut(fleet.services[s]).expect("service entity");
        let tally = &mut tallies.services[s];
        metrics.record(tally, gauges, tick.t1, clock.dt);
        reset_tally(tally);
    }
    for (i, &entity) in fleet.sources.iter().enumerate() {
        let mut metrics = sources.get_mut(entity).expect("source entity");
        let tally = &mut tallies.sources[i];
        metrics.record(tally, tick.t1, clock.dt);
        let mut latency = std::mem::take(&mut tally.latency);
        latency.clear();
        *tally = metrics::SourceTally {
            latency,
            ..Default::default()
        };
    }
}

fn reset_tally(tally: &mut metrics::ServiceTally) {
    let mut latency = std::mem::take(&mut tally.latency);
    latency.clear();
    *tally = metrics::ServiceTally {
        latency,
        ..Default::default()
    };
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
        Self::from_topology(Topology::compile(scenario))
    }

    pub fn from_topology(topology: Topology) -> Self {
        let mut app = App::new();
        app.add_plugins(plugin);
        spawn_fleet(app.world_mut(), topology);
        Self { app }
    }

    /// Advances `ticks` ticks.
    pub fn run_ticks(&mut self, ticks: u64) {
        for _ in 0..ticks {
            self.app.world_mut().run_schedule(FixedUpdate);
        }
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
            metrics.flush(clock.now(), clock.dt);
        }
        let mut sources = world.query::<&mut SourceMetrics>();
        for mut metrics in sources.iter_mut(world) {
            metrics.flush(clock.now());
        }
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

    pub fn source(&self, source: usize) -> &SourceState {
        let entity = self.fleet().sources[source];
        self.app
            .world()
            .get::<SourceState>(entity)
            .expect("source entity")
    }

    pub fn world_mut(&mut self) -> &mut World {
        self.app.world_mut()
    }
}
