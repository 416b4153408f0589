//! One service instance: a FIFO queue in front of `c` workers, jobs that wait on downstream
//! calls, health, memory and CPU. Plain data and functions, driven by the ECS systems and by
//! the plain-loop benchmark alike.
//!
//! Service is exact at any tick: each request's start is `max(arrival, earliest free
//! worker)` and it holds its worker for a sampled service time, so a worker freed mid-tick
//! takes the next request at that instant (the multi-server Lindley recursion). The tick only
//! decides when messages are processed.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use bevy::prelude::Component;
use rand::rngs::ChaCha8Rng;

use crate::scenario::ServiceKind;

use super::messages::{Call, Failure, Mailboxes, Outcome, ReplyTo, Response, Slab};
use super::metrics::ServiceTally;
use super::random::uniform;
use super::retry::{RetryState, backoff_delay};
use super::topology::{ServiceModel, Topology};

/// A simulated instant with a total order, for the worker heap.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Instant(f64);

impl Eq for Instant {}

impl PartialOrd for Instant {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Instant {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Workers are idle (free since before this tick), busy until a known time, or held by a
/// job that waits on a downstream call (free time not yet known).
#[derive(Clone, Debug, Default)]
struct Workers {
    idle: u32,
    busy_until: BinaryHeap<Reverse<Instant>>,
}

/// A request that holds a worker while it waits on a downstream call.
#[derive(Clone, Debug)]
struct Job {
    reply: ReplyTo,
    arrival: f64,
    edge: usize,
    calls_left: u32,
    attempt: u32,
    /// Sequence number of the outstanding call; replies to older calls are stale.
    seq: u32,
    deadline: f64,
    sent_tick: u64,
    previous_backoff: f64,
    /// A cache miss stores the value once its fill succeeds.
    fills_cache: bool,
}

#[derive(Component, Debug)]
pub struct InstanceState {
    pub up: bool,
    pub down_until: f64,
    /// Whether the load balancer sends it traffic (health checks decide).
    pub in_rotation: bool,
    pub failed_probes: u32,
    pub passed_probes: u32,
    pub restarts: u32,
    queue: VecDeque<Call>,
    workers: Workers,
    jobs: Slab<Job>,
    next_seq: u32,
    retry: Vec<RetryState>,
    /// Keys this cache instance holds.
    pub cached_keys: u32,
    /// Smoothed CPU demand in cores' worth of time (1.0 = all cores busy).
    pub cpu_demand: f64,
    pub memory_mb: f64,
    pub rng: ChaCha8Rng,
}

/// The tick being processed.
#[derive(Clone, Copy, Debug)]
pub struct Tick {
    pub index: u64,
    pub t0: f64,
    pub t1: f64,
}

/// Everything one instance's turn may write besides its own state.
pub struct Effects<'a> {
    pub mail: &'a mut Mailboxes,
    pub tallies: &'a mut [ServiceTally],
}

impl InstanceState {
    pub fn new(service: &ServiceModel, rng: ChaCha8Rng) -> Self {
        Self {
            up: true,
            down_until: 0.0,
            in_rotation: true,
            failed_probes: 0,
            passed_probes: 0,
            restarts: 0,
            queue: VecDeque::new(),
            workers: Workers {
                idle: service.workers,
                busy_until: BinaryHeap::new(),
            },
            jobs: Slab::default(),
            next_seq: 0,
            retry: service
                .edges
                .iter()
                .map(|e| RetryState::new(&e.policy))
                .collect(),
            cached_keys: cache_keys_per_instance(service),
            cpu_demand: 0.0,
            memory_mb: service.base_mb,
            rng,
        }
    }

    /// Requests waiting for a worker.
    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }

    /// Requests holding a worker (after the tick's turn: busy past the tick's end).
    pub fn busy(&self) -> usize {
        self.workers.busy_until.len() + self.jobs.len()
    }

    /// How long the oldest queued request has waited at `now`.
    pub fn queue_age(&self, now: f64) -> f64 {
        self.queue.front().map_or(0.0, |c| (now - c.arrival).max(0.0))
    }

    /// Cache hit probability right now: the configured ratio scaled by how warm the cache is.
    pub fn hit_probability(&self, service: &ServiceModel) -> f64 {
        match service.kind {
            ServiceKind::Cache { hit_ratio, .. } => {
                let capacity = cache_keys_per_instance(service).max(1);
                hit_ratio * f64::from(self.cached_keys) / f64::from(capacity)
            }
            _ => 0.0,
        }
    }

    /// Accepts the calls the load balancer assigned this tick: refuses them when the
    /// instance is down or its queue is full.
    pub fn accept(
        &mut self,
        service: &ServiceModel,
        service_index: usize,
        calls: &[Call],
        fx: &mut Effects,
    ) {
        let tally = &mut fx.tallies[service_index];
        for call in calls {
            tally.arrivals += 1;
            if !self.up || self.queue.len() >= service.queue_limit {
                tally.rejected += 1;
                fx.mail.reply(call.reply, call.arrival, Outcome::Rejected);
            } else {
                self.queue.push_back(*call);
            }
        }
    }

    /// The instance's turn in a tick: read replies, time out calls, serve the queue,
    /// then account CPU and memory (an instance over its memory limit is OOM-killed).
    pub fn step(
        &mut self,
        topology: &Topology,
        service_index: usize,
        global: u32,
        tick: Tick,
        replies: &mut Vec<Response>,
        fx: &mut Effects,
    ) {
        let service = &topology.services[service_index];
        if !self.up && tick.t0 >= self.down_until {
            self.up = true;
        }
        replies.sort_by(|a, b| a.time.total_cmp(&b.time).then(a.seq.cmp(&b.seq)));
        for response in replies.drain(..) {
            let Some(job) = self.jobs.get_mut(response.slot) else {
                continue;
            };
            if job.seq != response.seq {
                continue; // the caller gave up on this call already: abandoned work
            }
            let deadline = job.deadline;
            if response.time > deadline {
                self.call_failed(topology, service_index, global, response.slot, Failure::Timeout, deadline, tick, fx);
            } else if response.outcome == Outcome::Ok {
                self.call_succeeded(topology, service_index, global, response.slot, response.time, tick, fx);
            } else {
                let failure = match response.outcome {
                    Outcome::Rejected => Failure::Rejected,
                    _ => Failure::ServerError,
                };
                self.call_failed(topology, service_index, global, response.slot, failure, response.time, tick, fx);
            }
        }
        // Calls whose deadline passed before this tick and that no reply answered.
        let expired: Vec<(u32, f64)> = self
            .jobs
            .slots()
            .filter(|(_, job)| job.deadline < tick.t0 && job.sent_tick < tick.index)
            .map(|(slot, job)| (slot, job.deadline))
            .collect();
        for (slot, deadline) in expired {
            self.call_failed(topology, service_index, global, slot, Failure::Timeout, deadline, tick, fx);
        }

        let mut cpu_seconds = 0.0;
        let slowdown = self.cpu_demand.max(1.0);
        while let Some(head) = self.queue.front() {
            let free = if self.workers.idle > 0 {
                f64::NEG_INFINITY
            } else if let Some(Reverse(Instant(t))) = self.workers.busy_until.peek() {
                *t
            } else {
                break; // every worker waits on a downstream call
            };
            let start = head.arrival.max(free);
            if start >= tick.t1 {
                break;
            }
            let call = self.queue.pop_front().expect("peeked");
            if self.workers.idle > 0 {
                self.workers.idle -= 1;
            } else {
                self.workers.busy_until.pop();
            }
            let in_service = self.busy() as f64;
            let work = service.service_time.sample(&mut self.rng);
            cpu_seconds += work * service.cpu_share;
            let end = start + work * slowdown + service.slowdown_per_request * in_service;
            self.begin(topology, service_index, global, call, end, tick, fx);
        }
        // Workers free before the tick's end are simply idle from here on.
        while let Some(Reverse(Instant(t))) = self.workers.busy_until.peek() {
            if *t > tick.t1 {
                break;
            }
            self.workers.busy_until.pop();
            self.workers.idle += 1;
        }

        let dt = tick.t1 - tick.t0;
        let demand = cpu_seconds / (service.cores * dt);
        self.cpu_demand += (demand - self.cpu_demand) * (dt / CPU_SMOOTHING_SECONDS).min(1.0);
        fx.tallies[service_index].cpu_seconds += cpu_seconds;
        let held = (self.queue.len() + self.busy()) as f64;
        self.memory_mb = service.base_mb + service.per_request_mb * held;
        if let Some(limit) = service.limit_mb
            && self.up
            && self.memory_mb > limit
        {
            self.kill(service, service_index, tick.t1, fx);
        }
    }

    /// Takes a request off the queue: its own work ends at `end`, then it fails, answers,
    /// or starts its downstream calls.
    #[allow(clippy::too_many_arguments)]
    fn begin(
        &mut self,
        topology: &Topology,
        service_index: usize,
        global: u32,
        call: Call,
        end: f64,
        tick: Tick,
        fx: &mut Effects,
    ) {
        let service = &topology.services[service_index];
        if service.error_ratio > 0.0 && uniform(&mut self.rng) < service.error_ratio {
            self.respond(service_index, call.reply, call.arrival, end, Outcome::ServerError, fx);
            self.release_worker(end);
            return;
        }
        let mut fills_cache = false;
        if let ServiceKind::Cache { .. } = service.kind {
            if uniform(&mut self.rng) < self.hit_probability(service) {
                self.respond(service_index, call.reply, call.arrival, end, Outcome::Ok, fx);
                self.release_worker(end);
                return;
            }
            fills_cache = true;
        }
        if service.edges.is_empty() {
            self.respond(service_index, call.reply, call.arrival, end, Outcome::Ok, fx);
            self.release_worker(end);
            return;
        }
        let calls_left = draw_calls(service.edges[0].per_request, &mut self.rng);
        let slot = self.jobs.insert(Job {
            reply: call.reply,
            arrival: call.arrival,
            edge: 0,
            calls_left,
            attempt: 0,
            seq: 0,
            deadline: f64::INFINITY,
            sent_tick: tick.index,
            previous_backoff: 0.0,
            fills_cache,
        });
        self.proceed(topology, service_index, global, slot, end, tick, fx);
    }

    /// Moves a job on at `now`: the next call, or its answer when no call is left.
    #[allow(clippy::too_many_arguments)]
    fn proceed(
        &mut self,
        topology: &Topology,
        service_index: usize,
        global: u32,
        slot: u32,
        now: f64,
        tick: Tick,
        fx: &mut Effects,
    ) {
        let edges = &topology.services[service_index].edges;
        let job = self.jobs.get_mut(slot).expect("live job");
        while job.calls_left == 0 {
            job.edge += 1;
            if job.edge == edges.len() {
                self.finish(service_index, slot, now, Outcome::Ok, fx);
                return;
            }
            job.calls_left = draw_calls(edges[job.edge].per_request, &mut self.rng);
        }
        self.send(topology, service_index, global, slot, now, tick, fx);
    }

    #[allow(clippy::too_many_arguments)]
    fn send(
        &mut self,
        topology: &Topology,
        service_index: usize,
        global: u32,
        slot: u32,
        at: f64,
        tick: Tick,
        fx: &mut Effects,
    ) {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        let job = self.jobs.get_mut(slot).expect("live job");
        let edge = &topology.services[service_index].edges[job.edge];
        job.seq = seq;
        job.deadline = at + edge.policy.timeout;
        job.sent_tick = tick.index;
        fx.mail.send(
            edge.to,
            Call {
                arrival: at,
                reply: ReplyTo::Instance {
                    instance: global,
                    slot,
                    seq,
                },
            },
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn call_succeeded(
        &mut self,
        topology: &Topology,
        service_index: usize,
        global: u32,
        slot: u32,
        now: f64,
        tick: Tick,
        fx: &mut Effects,
    ) {
        let service = &topology.services[service_index];
        let job = self.jobs.get_mut(slot).expect("live job");
        self.retry[job.edge].on_success(&service.edges[job.edge].policy);
        job.calls_left -= 1;
        job.attempt = 0;
        if job.fills_cache && self.cached_keys < cache_keys_per_instance(service) {
            self.cached_keys += 1;
        }
        job.fills_cache = false;
        self.proceed(topology, service_index, global, slot, now, tick, fx);
    }

    #[allow(clippy::too_many_arguments)]
    fn call_failed(
        &mut self,
        topology: &Topology,
        service_index: usize,
        global: u32,
        slot: u32,
        failure: Failure,
        now: f64,
        tick: Tick,
        fx: &mut Effects,
    ) {
        let service = &topology.services[service_index];
        let job = self.jobs.get_mut(slot).expect("live job");
        let edge = &service.edges[job.edge];
        if failure == Failure::Timeout {
            fx.tallies[edge.to].timeouts += 1;
        }
        let attempt = job.attempt + 1;
        if self.retry[job.edge].allow(&edge.policy, attempt) {
            let delay = backoff_delay(edge.policy.backoff, attempt, job.previous_backoff, &mut self.rng);
            job.attempt = attempt;
            job.previous_backoff = delay;
            fx.tallies[edge.to].retries += 1;
            self.send(topology, service_index, global, slot, now + delay, tick, fx);
        } else if edge.optional {
            job.calls_left = 0;
            job.attempt = 0;
            self.proceed(topology, service_index, global, slot, now, tick, fx);
        } else {
            self.finish(service_index, slot, now, Outcome::ServerError, fx);
        }
    }

    fn finish(&mut self, service_index: usize, slot: u32, now: f64, outcome: Outcome, fx: &mut Effects) {
        let job = self.jobs.remove(slot).expect("live job");
        self.respond(service_index, job.reply, job.arrival, now, outcome, fx);
        self.release_worker(now);
    }

    fn respond(
        &mut self,
        service_index: usize,
        reply: ReplyTo,
        arrival: f64,
        now: f64,
        outcome: Outcome,
        fx: &mut Effects,
    ) {
        let tally = &mut fx.tallies[service_index];
        tally.latency.observe(now - arrival);
        match outcome {
            Outcome::Ok => tally.ok += 1,
            Outcome::ServerError => tally.server_errors += 1,
            Outcome::Rejected => tally.rejected += 1,
        }
        fx.mail.reply(reply, now, outcome);
    }

    fn release_worker(&mut self, at: f64) {
        self.workers.busy_until.push(Reverse(Instant(at)));
    }

    /// Kills the instance at `now` (OOM or crash): every request it holds fails, and it
    /// comes back cold after the service's restart time.
    pub fn kill(&mut self, service: &ServiceModel, service_index: usize, now: f64, fx: &mut Effects) {
        let queued: Vec<Call> = self.queue.drain(..).collect();
        for call in queued {
            self.respond(service_index, call.reply, call.arrival, now, Outcome::ServerError, fx);
        }
        let jobs: Vec<(ReplyTo, f64)> = self.jobs.slots().map(|(_, j)| (j.reply, j.arrival)).collect();
        for (reply, arrival) in jobs {
            self.respond(service_index, reply, arrival, now, Outcome::ServerError, fx);
        }
        self.jobs.clear();
        self.workers = Workers {
            idle: service.workers,
            busy_until: BinaryHeap::new(),
        };
        self.up = false;
        self.down_until = now + service.restart_time;
        self.restarts += 1;
        self.cached_keys = 0;
        self.cpu_demand = 0.0;
        self.memory_mb = service.base_mb;
    }
}

/// Seconds over which CPU demand is smoothed before it slows requests down.
const CPU_SMOOTHING_SECONDS: f64 = 1.0;

fn cache_keys_per_instance(service: &ServiceModel) -> u32 {
    match service.kind {
        ServiceKind::Cache { keys, .. } => keys.div_ceil(service.instances.max(1)),
        _ => 0,
    }
}

/// Calls made for one request: the integer part always, the fraction at random.
pub fn draw_calls(per_request: f64, rng: &mut ChaCha8Rng) -> u32 {
    let whole = per_request.floor();
    let extra = u32::from(uniform(rng) < per_request - whole);
    whole as u32 + extra
}
