//! One tick of the fleet, written once over storage traits: the ECS systems run it on
//! queries, the plain-loop benchmark on vectors, so the two differ only in storage.

use super::awake::{Awake, GaugeView};
use super::balancer::{self, Backend};
use super::conditions::Conditions;
use super::events::{Event, Events, Outcome, ReplyTo};
use super::instance::{self, InstanceState, Me};
use super::logs::{Level, LogEvent, Logs};
use super::metrics::{Gauges, ServiceMetrics, SourceMetrics, Tallies};
use super::random::{self, uniform};
use super::source::{self, SourceState};
use super::topology::{ServiceModel, Topology};
use crate::scenario::ServiceKind;

/// Where instance state lives, with which instances are awake.
pub trait InstanceStore {
    /// An instance to act on or change: it is woken, so the end of the tick looks at it.
    fn instance(&mut self, global: u32) -> &mut InstanceState;
    /// An instance to read only: an asleep one stays asleep.
    fn peek(&mut self, global: u32) -> &InstanceState;
    fn awake(&mut self) -> &mut Awake;
}

/// Where traffic-source state lives.
pub trait SourceStore {
    fn source(&mut self, index: usize) -> &mut SourceState;
}

/// Instances in a vector: the plain loop's store.
pub struct PlainInstances {
    pub states: Vec<InstanceState>,
    pub awake: Awake,
}

impl InstanceStore for PlainInstances {
    fn instance(&mut self, global: u32) -> &mut InstanceState {
        self.awake.wake(global);
        &mut self.states[global as usize]
    }

    fn peek(&mut self, global: u32) -> &InstanceState {
        &self.states[global as usize]
    }

    fn awake(&mut self) -> &mut Awake {
        &mut self.awake
    }
}

impl SourceStore for Vec<SourceState> {
    fn source(&mut self, index: usize) -> &mut SourceState {
        &mut self[index]
    }
}

/// The fresh state of instance slot `global`, with its own random stream; slots beyond the
/// service's starting instances are empty.
pub fn new_instance(topology: &Topology, global: u32) -> InstanceState {
    let service = &topology.services[topology.service_of(global)];
    let rng = random::stream(topology.seed, random::STREAM_INSTANCE + u64::from(global));
    let mut state = InstanceState::new(service, rng);
    if global - service.first_instance >= service.instances {
        state.vacate();
    }
    state
}

/// The fresh state of traffic source `index`, with its own random stream.
pub fn new_source(topology: &Topology, index: usize) -> SourceState {
    let rng = random::stream(topology.seed, random::STREAM_SOURCE + index as u64);
    SourceState::new(&topology.sources[index], rng)
}

/// The tick `[t0, t1)` with its index.
#[derive(Clone, Copy, Debug)]
pub struct Tick {
    pub index: u64,
    pub t0: f64,
    pub t1: f64,
}

impl Tick {
    /// Whether the tick closes a second of simulated time: SLOs, alerts and the incident
    /// look at the world once a second.
    pub fn closes_second(&self) -> bool {
        // Times are never negative, so truncation is the floor, and far cheaper: without
        // SSE4.1 `f64::floor` is a library call, and this runs several times a tick.
        (self.t1 + 1e-9) as u64 > (self.t0 + 1e-9) as u64
    }
}

/// Every source sends its first tries for the tick.
pub fn generate_traffic(
    topology: &Topology,
    conditions: &Conditions,
    sources: &mut impl SourceStore,
    events: &mut Events,
    tallies: &mut Tallies,
    tick: Tick,
) {
    for (i, model) in topology.sources.iter().enumerate() {
        let me = source::Me {
            model,
            index: i as u32,
            rate_factor: conditions.sources[i].rate_factor,
            tls_expired: conditions.services[model.to].tls_expired,
        };
        let mut fx = source::Effects {
            events,
            tally: &mut tallies.sources[i],
            entry_timeouts: &mut tallies.services[model.to].timeouts,
            traces: &mut tallies.traces,
        };
        sources.source(i).generate(me, tick.t0, tick.t1, &mut fx);
    }
}

/// Restarts instances whose restart time is over, and probes those due a health check
/// (spread over the interval so instances are not checked in lockstep).
pub fn run_health_checks(
    topology: &Topology,
    conditions: &Conditions,
    instances: &mut impl InstanceStore,
    logs: &mut Logs,
    tick: Tick,
) {
    for (s, service) in topology.services.iter().enumerate() {
        let bent = &conditions.services[s];
        let mut probes = Stagger::new(tick, service.first_instance, service.hc_interval_ticks);
        for global in service.members() {
            let probe_due = probes.next_due();
            // An asleep instance is up or not provisioned (a down one stays awake): nothing
            // to start, and nothing to do unless its probe is due.
            if !probe_due && !instances.awake().is_awake(global)
                || !instances.peek(global).provisioned
            {
                continue;
            }
            let state = instances.instance(global);
            let zone_down = conditions.zones_down[topology.zone_of(global)];
            if state.start_if_due(tick.t0, zone_down) {
                let event = LogEvent::InstanceUp {
                    version: state.version,
                };
                logs.log(s, global, tick.t0, Level::Info, event);
            }
            if !probe_due {
                continue;
            }
            let flapped =
                bent.probe_flap_ratio > 0.0 && uniform(&mut state.rng) < bent.probe_flap_ratio;
            // A broker answers its probe whatever its backlog: waiting messages are its job.
            let answers_in_time = service.kind == ServiceKind::Queue
                || state.queue_age(tick.t0) <= service.hc_timeout;
            let passed = state.up
                && answers_in_time
                && global - service.first_instance >= bent.probe_fails
                && !flapped;
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
}

/// Which of a service's instances, taken in order, are due a chore staggered over `every`
/// ticks at this tick: instance `global` is when `(tick + global) % every == 0`. Counted
/// along the instances, without a division for each.
struct Stagger {
    phase: u64,
    every: u64,
}

impl Stagger {
    fn new(tick: Tick, first_instance: u32, every: u64) -> Self {
        Self {
            phase: (tick.index + u64::from(first_instance)) % every,
            every,
        }
    }

    /// Whether the next instance is due.
    fn next_due(&mut self) -> bool {
        let due = self.phase == 0;
        self.phase += 1;
        if self.phase == self.every {
            self.phase = 0;
        }
        due
    }
}

/// Handles every event before the tick's end, in time order across the fleet.
pub fn run_events(
    (topology, conditions): (&Topology, &Conditions),
    instances: &mut impl InstanceStore,
    sources: &mut impl SourceStore,
    cursors: &mut [usize],
    events: &mut Events,
    tallies: &mut Tallies,
    tick: Tick,
) {
    events.open(tick.index, |to| match to {
        ReplyTo::Instance {
            instance,
            slot,
            seq,
        } => instances.peek(instance).is_waiting(slot, seq),
        ReplyTo::Source { source, slot, seq } => {
            sources.source(source as usize).is_waiting(slot, seq)
        }
        ReplyTo::Nobody => false,
    });
    // Events at the instant being handled (the arrival an emit sends, the answer a
    // completion sends) are dispatched from a site of their own (`handle` is inlined twice):
    // there the kind that comes next follows from the one before, which the CPU's predictor
    // learns, where the calendar's next event is anyone's guess (the shop and the M/M/1 run
    // 2-3% faster for it).
    loop {
        while let Some(event) = events.pop_now() {
            let now = events.now();
            handle(
                (topology, conditions),
                (instances, sources, cursors),
                (events, tallies),
                now,
                event,
            );
        }
        let Some((now, event)) = events.pop_before(tick.t1) else {
            break;
        };
        handle(
            (topology, conditions),
            (instances, sources, cursors),
            (events, tallies),
            now,
            event,
        );
    }
}

/// Handles one event at `now`.
#[inline(always)]
fn handle(
    (topology, conditions): (&Topology, &Conditions),
    (instances, sources, cursors): (&mut impl InstanceStore, &mut impl SourceStore, &mut [usize]),
    (events, tallies): (&mut Events, &mut Tallies),
    now: f64,
    event: Event,
) {
    match event {
        Event::Arrive { service, call } => {
            if events.take_recalled(call.reply) {
                return;
            }
            let s = service as usize;
            let model = &topology.services[s];
            let first = model.first_instance;
            let primary = conditions.primaries[s].filter(|_| call.write);
            let k = if let Some(primary) = primary {
                (primary - first) as usize
            } else {
                balancer::pick(
                    model.load_balancer,
                    &mut cursors[s],
                    model.slots as usize,
                    |k| {
                        let global = first + k as u32;
                        let state = instances.peek(global);
                        Backend {
                            provisioned: state.provisioned,
                            in_rotation: state.takes_traffic()
                                && !conditions.zones_drained[topology.zone_of(global)],
                            load: state.queue_len() + state.busy(),
                        }
                    },
                )
            };
            let global = first + k as u32;
            let me = Me {
                topology,
                conditions,
                service: s,
                global,
            };
            let mut fx = instance::Effects {
                events,
                tallies: &mut *tallies,
            };
            instances
                .instance(global)
                .on_arrival(me, call, now, &mut fx);
        }
        Event::Complete { instance, work } => {
            let (me, mut fx) = instance_context(topology, conditions, instance, events, tallies);
            instances
                .instance(instance)
                .on_complete(me, work, now, &mut fx);
        }
        // A timeout is the answer nobody sent.
        Event::Reply { to, outcome } => {
            let reached = (topology, conditions);
            answer(
                reached,
                to,
                Some(outcome),
                now,
                instances,
                sources,
                (events, tallies),
            );
        }
        Event::Timeout { to } => {
            let reached = (topology, conditions);
            answer(
                reached,
                to,
                None,
                now,
                instances,
                sources,
                (events, tallies),
            );
        }
        Event::Emit { source } => {
            let (me, mut fx) = source_context(topology, conditions, source, events, tallies);
            sources.source(source as usize).emit(me, &mut fx);
        }
        Event::Shared {
            instance,
            resource,
            generation,
        } => {
            let (me, mut fx) = instance_context(topology, conditions, instance, events, tallies);
            instances
                .instance(instance)
                .on_shared(me, resource, generation, now, &mut fx);
        }
    }
}

/// Delivers an answer (`None`: the deadline passed first) to the caller that waits for it.
fn answer(
    (topology, conditions): (&Topology, &Conditions),
    to: ReplyTo,
    outcome: Option<Outcome>,
    now: f64,
    instances: &mut impl InstanceStore,
    sources: &mut impl SourceStore,
    (events, tallies): (&mut Events, &mut Tallies),
) {
    match to {
        ReplyTo::Instance {
            instance,
            slot,
            seq,
        } => {
            let (me, mut fx) = instance_context(topology, conditions, instance, events, tallies);
            let state = instances.instance(instance);
            match outcome {
                Some(outcome) => state.on_reply(me, slot, seq, outcome, now, &mut fx),
                None => state.on_timeout(me, slot, seq, now, &mut fx),
            }
        }
        ReplyTo::Source { source, slot, seq } => {
            let (me, mut fx) = source_context(topology, conditions, source, events, tallies);
            let state = sources.source(source as usize);
            match outcome {
                Some(outcome) => state.on_reply(me, slot, seq, outcome, now, &mut fx),
                None => state.on_timeout(me, slot, seq, now, &mut fx),
            }
        }
        ReplyTo::Nobody => {}
    }
}

fn instance_context<'a>(
    topology: &'a Topology,
    conditions: &'a Conditions,
    instance: u32,
    events: &'a mut Events,
    tallies: &'a mut Tallies,
) -> (Me<'a>, instance::Effects<'a>) {
    (
        Me {
            topology,
            conditions,
            service: topology.service_of(instance),
            global: instance,
        },
        instance::Effects {
            events,
            tallies: &mut *tallies,
        },
    )
}

fn source_context<'a>(
    topology: &'a Topology,
    conditions: &'a Conditions,
    source: u32,
    events: &'a mut Events,
    tallies: &'a mut Tallies,
) -> (source::Me<'a>, source::Effects<'a>) {
    (
        source::Me {
            model: &topology.sources[source as usize],
            index: source,
            rate_factor: conditions.sources[source as usize].rate_factor,
            tls_expired: conditions.services[topology.sources[source as usize].to].tls_expired,
        },
        source::Effects {
            events,
            tally: &mut tallies.sources[source as usize],
            entry_timeouts: &mut tallies.services[topology.sources[source as usize].to].timeouts,
            traces: &mut tallies.traces,
        },
    )
}

/// CPU, memory and OOM kills at the end of the tick, and each service's gauges read off its
/// instances as they stand then (into `tallies.gauges`): one pass over the fleet.
pub fn end_tick(
    topology: &Topology,
    conditions: &Conditions,
    instances: &mut impl InstanceStore,
    events: &mut Events,
    tallies: &mut Tallies,
    tick: Tick,
) {
    let mut gauges = std::mem::take(&mut tallies.gauges);
    gauges.clear();
    // A zone going down kills its instances at the end of the tick, asleep or not.
    let zone_down = conditions.zones_down.iter().any(|&down| down);
    for (s, model) in topology.services.iter().enumerate() {
        // A condition acting between events (a leak, a hog) moves every instance.
        let restless = zone_down || !conditions.services[s].is_calm();
        let mut routine_lines = Stagger::new(tick, model.first_instance, instance::ROUTINE_TICKS);
        let mut service = Gauges {
            cert_expires_in_s: conditions.cert_expires_at[s].map(|at| at - tick.t1),
            reported: !conditions.services[s].metrics_missing,
            ..Gauges::default()
        };
        // A plain loop, not an iterator handed to a helper: over 10,000 instances a tick the
        // compiler's choice to call the iterator's steps rather than inline them cost 7%.
        for global in model.members() {
            let routine_line_due = routine_lines.next_due();
            let visit = restless || routine_line_due || instances.awake().is_awake(global);
            let view = if visit {
                let (me, mut fx) = instance_context(topology, conditions, global, events, tallies);
                let state = instances.instance(global);
                let settled = state.end_tick(me, tick, routine_line_due, &mut fx);
                // A down instance stays awake: the health checks start it when it is due.
                let sleeps = settled && (state.up || !state.provisioned);
                let view = GaugeView::of(state, tick.t1);
                instances.awake().visited(global, sleeps, view);
                view
            } else {
                instances.awake().asleep_gauges(global)
            };
            if view.provisioned {
                let zone_drained = conditions.zones_drained[topology.zone_of(global)];
                count_instance(&mut service, view, model, zone_drained);
            }
        }
        service.memory_mb /= f64::from(service.provisioned.max(1));
        gauges.push(service);
    }
    tallies.gauges = gauges;
}

/// Adds a provisioned instance's gauges to its service's.
fn count_instance(gauges: &mut Gauges, view: GaugeView, model: &ServiceModel, zone_drained: bool) {
    gauges.provisioned += 1;
    gauges.memory_mb += view.memory_mb;
    gauges.memory_max_mb = gauges.memory_max_mb.max(view.memory_mb);
    gauges.disk_used_ratio = gauges
        .disk_used_ratio
        .max(view.disk_used_mb / model.disk_size_mb);
    gauges.queue += view.queue as f64;
    gauges.queue_age_s = gauges.queue_age_s.max(view.queue_age_s);
    gauges.replication_lag_s = gauges.replication_lag_s.max(view.replication_lag_s);
    gauges.in_flight += view.in_flight as f64;
    gauges.healthy += u32::from(view.takes_traffic && !zone_drained);
}

/// Folds service `s`'s tick tally and gauges into its metrics, and clears the tally.
pub fn record_service(metrics: &mut ServiceMetrics, tallies: &mut Tallies, s: usize, tick: Tick) {
    let tally = &mut tallies.services[s];
    metrics.record(tally, tallies.gauges[s], tick.t1, tick.t1 - tick.t0);
    tally.reset();
}

/// Folds source `i`'s tick tally into its metrics, and clears the tally.
pub fn record_source(metrics: &mut SourceMetrics, tallies: &mut Tallies, i: usize, tick: Tick) {
    let tally = &mut tallies.sources[i];
    metrics.record(tally, tick.t1, tick.t1 - tick.t0);
    tally.reset();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stagger_counts_the_instances_the_division_picks() {
        for every in [1, 2, 7, 50, 150] {
            for index in [0, 1, 49, 150, 151, 10_007] {
                let tick = Tick {
                    index,
                    t0: 0.0,
                    t1: 0.1,
                };
                for first in [0, 3, 149, 1_000] {
                    let mut stagger = Stagger::new(tick, first, every);
                    for global in first..first + 400 {
                        let due = (index + u64::from(global)).is_multiple_of(every);
                        assert_eq!(stagger.next_due(), due, "{every} {index} {global}");
                    }
                }
            }
        }
    }
}
