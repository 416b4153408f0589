//! One service instance: a FIFO queue in front of `c` workers, jobs that hold a worker while
//! they wait on downstream calls, health, memory and CPU. Plain data and event handlers,
//! driven by the ECS systems and by the plain-loop benchmark alike.
//!
//! A request starts the instant a worker is free, runs for a sampled service time (so the
//! mean service time is exact at any tick length), then answers, fails, or calls its
//! dependencies one after another. The caller holds its worker for the whole exchange,
//! which is how latency and errors of dependencies add up in their callers.

use std::collections::VecDeque;

use bevy::prelude::Component;
use rand::rngs::ChaCha8Rng;

use crate::scenario::ServiceKind;

use super::conditions::{Conditions, ServiceConditions};
use super::events::{
    Call, Completion, Event, Events, Failure, Outcome, Refusal, ReplyTo, SharedResource, Slab,
    is_write,
};
use super::logs::{Cause, Down, Level, LogEvent};
use super::metrics::Tallies;
use super::random::{Stream, uniform};
use super::retry::{RetryState, backoff_delay};
use super::step::Tick;
use super::topology::{RetryPolicy, ServiceModel, Topology};
use super::traces::{Handler, Span, TraceContext};

/// A request that holds a worker while it waits on a downstream call.
#[derive(Clone, Debug)]
struct Job {
    reply: ReplyTo,
    arrival: f64,
    edge: usize,
    calls_left: u32,
    attempt: u32,
    /// Sequence number of the outstanding call; answers to older calls are ignored.
    seq: u32,
    previous_backoff: f64,
    /// A cache miss stores the value once its fill succeeds.
    fills_cache: bool,
    /// The request's trace and this job's span in it, when sampled.
    trace: TraceContext,
    key: u32,
    span: u32,
    began: f64,
}

#[derive(Clone, Component, Debug)]
pub struct InstanceState {
    /// Whether this slot holds an instance at all (scaling provisions and removes them).
    pub provisioned: bool,
    pub up: bool,
    pub down_until: f64,
    /// Whether the load balancer sends it traffic (health checks decide).
    pub in_rotation: bool,
    pub failed_probes: u32,
    pub passed_probes: u32,
    pub restarts: u32,
    /// When the instance last came up.
    pub up_since: f64,
    /// The entry of its service's version history it runs.
    pub version: usize,
    /// Memory lost to a leak, freed only by a restart.
    pub leaked_mb: f64,
    /// The instance's local disk, filled by its logs.
    pub disk_used_mb: f64,
    /// How far this replica is behind its primary, seconds (databases' instances but the first).
    pub replica_lag_s: f64,
    /// Bumped on every crash, so work the dead process had scheduled is dropped.
    incarnation: u32,
    queue: VecDeque<Call>,
    /// Requests this instance serves at once (a database's pool); remediations may change it.
    pub workers: u32,
    busy_workers: u32,
    /// Out of rotation on purpose, finishing its work before a restart.
    pub draining: bool,
    /// Held out of rotation by a responder until restored.
    pub ejected: bool,
    /// Admission control: tokens of the per-instance rate limit, and when they were counted.
    /// Admission control (`ShedLoad`) and the service's quota, each a token bucket.
    shed_bucket: TokenBucket,
    quota_bucket: TokenBucket,
    jobs: Slab<Job>,
    next_seq: u32,
    retry: Vec<RetryState>,
    /// Keys this cache instance holds.
    pub cached_keys: u32,
    /// The instance's cores, shared by the requests in their CPU phase.
    cores: Shared,
    /// Requests in their CPU phase at full speed while the cores are not saturated: their
    /// next step is already scheduled, and is undone if the cores saturate before they are done
    /// (then they join `cores`). This spares a wake-up per request on a CPU with room.
    free_runs: Vec<FreeRun>,
    /// The CPU the requests in `free_runs` used is charged up to here.
    charged_until: f64,
    next_ticket: u32,
    /// Completions undone when their request's cores saturated, by ticket.
    voided: Vec<u32>,
    /// Threads of a CPU hog competing for the cores.
    hog_threads: f64,
    /// CPU-seconds used since the last tick was charged.
    cpu_used: f64,
    noise_lines: u32,
    /// Requests sharing a contended resource (`slowdown_per_request`) in their waiting phase.
    contention: Shared,
    pub memory_mb: f64,
    pub rng: Stream,
}

/// Everything an instance's handlers may write besides its own state.
pub struct Effects<'a> {
    pub events: &'a mut Events,
    pub tallies: &'a mut Tallies,
}

/// Which instance is acting, in which fleet, under which conditions.
#[derive(Clone, Copy)]
pub struct Me<'a> {
    pub topology: &'a Topology,
    pub conditions: &'a Conditions,
    pub service: usize,
    pub global: u32,
}

impl Me<'_> {
    fn model(&self) -> &ServiceModel {
        &self.topology.services[self.service]
    }

    fn bent(&self) -> &ServiceConditions {
        &self.conditions.services[self.service]
    }
}

impl InstanceState {
    pub fn new(service: &ServiceModel, rng: Stream) -> Self {
        Self {
            provisioned: true,
            up: true,
            down_until: 0.0,
            in_rotation: true,
            failed_probes: 0,
            passed_probes: 0,
            restarts: 0,
            up_since: 0.0,
            version: 0,
            leaked_mb: 0.0,
            disk_used_mb: service.disk_used_mb + service.disk_logs_mb,
            replica_lag_s: 0.0,
            incarnation: 0,
            queue: VecDeque::new(),
            workers: service.workers,
            busy_workers: 0,
            draining: false,
            ejected: false,
            shed_bucket: TokenBucket::default(),
            quota_bucket: TokenBucket::default(),
            jobs: Slab::default(),
            next_seq: 0,
            retry: service
                .edges
                .iter()
                .map(|e| RetryState::new(&e.policy))
                .collect(),
            cached_keys: cache_keys_per_instance(service),
            cores: Shared::default(),
            free_runs: Vec::new(),
            charged_until: 0.0,
            next_ticket: 0,
            voided: Vec::new(),
            hog_threads: 0.0,
            cpu_used: 0.0,
            noise_lines: 0,
            contention: Shared::default(),
            memory_mb: service.base_mb,
            rng,
        }
    }

    /// Requests waiting for a worker.
    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }

    /// Requests holding a worker.
    pub fn busy(&self) -> usize {
        self.busy_workers as usize
    }

    /// Nothing queued, nothing in service: safe to restart.
    pub fn is_idle(&self) -> bool {
        self.busy_workers == 0 && self.queue.is_empty()
    }

    /// Whether the load balancer may send it new calls.
    pub fn takes_traffic(&self) -> bool {
        self.up && self.in_rotation && !self.draining && !self.ejected
    }

    /// Changes the instance's concurrency (a pool resize). Work beyond a smaller pool
    /// finishes; only then do the slots go.
    pub fn set_workers(&mut self, me: Me, workers: u32, now: f64, fx: &mut Effects) {
        self.workers = workers;
        self.serve(me, now, fx);
    }

    /// How long the oldest queued request has waited at `now`.
    pub fn queue_age(&self, now: f64) -> f64 {
        self.queue
            .front()
            .map_or(0.0, |c| (now - c.arrival).max(0.0))
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

    /// A call reaches this instance: refused when down or when the queue is full.
    pub fn on_arrival(&mut self, me: Me, call: Call, now: f64, fx: &mut Effects) {
        let service = me.model();
        let tally = &mut fx.tallies.services[me.service];
        tally.arrivals += 1;
        let refusal = if !self.up {
            Some(Refusal::Down)
        } else if (me.bent().quota)
            .is_some_and(|(rps, debt)| !self.quota_bucket.take(rps, now, debt))
        {
            Some(Refusal::RateLimited)
        } else if (me.bent().admit_rps).is_some_and(|rps| !self.shed_bucket.take(rps, now, false)) {
            Some(Refusal::Shed)
        } else if self.busy_workers >= self.workers && self.queue.len() >= service.queue_limit {
            Some(Refusal::QueueFull)
        } else {
            None
        };
        if let Some(why) = refusal {
            tally.rejected += 1;
            fx.events.reply(call.reply, now, Outcome::Rejected(why));
            trace_span(me, &call, now, now, Outcome::Rejected(why), fx);
            return;
        }
        let call = if service.kind == ServiceKind::Queue {
            // Enqueued: the producer is answered now; the delivery answers nobody.
            self.respond(me.service, call.reply, call.arrival, now, Outcome::Ok, fx);
            Call {
                reply: ReplyTo::Nobody,
                ..call
            }
        } else {
            call
        };
        if self.queue.is_empty() && self.busy_workers < self.workers {
            // Straight to a free worker, as `serve` would take it, without touching the
            // queue's memory (cold in a large fleet).
            self.busy_workers += 1;
            self.begin(me, call, now, fx);
        } else {
            self.queue.push_back(call);
            self.serve(me, now, fx);
        }
    }

    /// A request's own work is done: answer and take the next one.
    pub fn on_complete(&mut self, me: Me, work: Completion, now: f64, fx: &mut Effects) {
        if work.incarnation != self.incarnation {
            return; // the process that did this work has died
        }
        if let Some(k) = self.voided.iter().position(|&t| t == work.ticket) {
            self.voided.swap_remove(k);
            return; // undone: the request's cores saturated, it finishes later
        }
        self.respond(me.service, work.reply, work.arrival, now, work.outcome, fx);
        self.busy_workers -= 1;
        self.serve(me, now, fx);
    }

    /// An answer to one of this instance's downstream calls.
    pub fn on_reply(
        &mut self,
        me: Me,
        slot: u32,
        seq: u32,
        outcome: Outcome,
        now: f64,
        fx: &mut Effects,
    ) {
        if !self.is_waiting(slot, seq) {
            return; // the call timed out already: the callee's work was abandoned
        }
        match outcome {
            Outcome::Ok => self.call_succeeded(me, slot, now, fx),
            failed => self.call_failed(me, slot, failed.into(), now, fx),
        }
    }

    /// Requests on a shared resource may be done: move on those that are, then plan the
    /// next wake-up.
    pub fn on_shared(
        &mut self,
        me: Me,
        resource: SharedResource,
        generation: u32,
        now: f64,
        fx: &mut Effects,
    ) {
        match resource {
            SharedResource::Cores if generation == self.cores.generation => {
                self.advance_cores(me, now);
                self.advance_contention(me, now);
                for (pending, wait) in self.cores.take_done() {
                    self.after_cpu(me, pending, wait, now, fx);
                }
                self.plan_cores(me, now, fx);
                self.plan_contention(me, now, fx);
            }
            SharedResource::Contended if generation == self.contention.generation => {
                self.advance_contention(me, now);
                for (pending, _) in self.contention.take_done() {
                    self.settle(me, pending, now, fx);
                }
                self.plan_contention(me, now, fx);
            }
            _ => {} // a wake-up that later arrivals or departures have moved
        }
    }

    /// A request's own work is over at `now`: answer, or go on to its downstream calls.
    fn settle(&mut self, me: Me, pending: Pending, now: f64, fx: &mut Effects) {
        match pending {
            Pending::Complete {
                completion,
                trace,
                began,
            } => {
                trace_completion(me, &completion, trace, began, now, fx);
                self.on_complete(me, completion, now, fx);
            }
            Pending::Continue { slot } => self.proceed(me, slot, now, fx),
        }
    }

    /// A request's CPU phase is over at `now`; `wait` seconds of waiting (I/O, locks,
    /// injected latency) remain, on the contended resource if the service has one.
    fn after_cpu(&mut self, me: Me, pending: Pending, wait: f64, now: f64, fx: &mut Effects) {
        if me.model().slowdown_per_request > 0.0 && wait > 0.0 {
            self.advance_contention(me, now);
            self.contention.push(wait, 0.0, pending);
            self.plan_contention(me, now, fx);
            return;
        }
        if wait <= 0.0 {
            self.settle(me, pending, now, fx);
            return;
        }
        let end = now + wait;
        match pending {
            Pending::Complete {
                completion,
                trace,
                began,
            } => {
                trace_completion(me, &completion, trace, began, end, fx);
                fx.events.schedule(
                    end,
                    Event::Complete {
                        instance: me.global,
                        work: completion,
                    },
                );
            }
            Pending::Continue { slot } => self.proceed(me, slot, end, fx),
        }
    }

    /// How many times slower than alone each CPU-phase request runs: limited processor
    /// sharing, each of the runnable threads (requests and a hog's) gets min(1, cores / n).
    fn cpu_factor(&self, me: Me) -> f64 {
        let runnable = self.cores.len() as f64 + self.hog_threads;
        (runnable / me.model().cores).max(1.0)
    }

    /// Brings the cores' progress to `now`, charging the CPU-seconds used on the way.
    fn advance_cores(&mut self, me: Me, now: f64) {
        let runnable = self.cores.len() as f64 + self.hog_threads;
        let progress = self.cores.advance(now, self.cpu_factor(me));
        self.cpu_used += runnable * progress;
    }

    fn plan_cores(&mut self, me: Me, now: f64, fx: &mut Effects) {
        let factor = self.cpu_factor(me);
        self.cores
            .plan(SharedResource::Cores, me.global, now, factor, fx);
    }

    /// How many times slower than alone each waiting request on a contended resource runs:
    /// a request of mean length takes `slowdown_per_request` longer per other request in
    /// its own work (on CPU or waiting).
    fn contention_factor(&self, me: Me) -> f64 {
        let service = me.model();
        let mean_wait = service.mean_service_time * (1.0 - service.cpu_share);
        if mean_wait <= 0.0 {
            return 1.0;
        }
        let in_service = self.cores.len() + self.contention.len();
        1.0 + service.slowdown_per_request * in_service as f64 / mean_wait
    }

    /// Brings the contended resource's progress to `now` (before the count in service moves).
    fn advance_contention(&mut self, me: Me, now: f64) {
        if me.model().slowdown_per_request > 0.0 {
            let factor = self.contention_factor(me);
            self.contention.advance(now, factor);
        }
    }

    /// Plans the contended resource's next wake-up (after the count in service moved).
    fn plan_contention(&mut self, me: Me, now: f64, fx: &mut Effects) {
        if me.model().slowdown_per_request > 0.0 {
            let factor = self.contention_factor(me);
            self.contention
                .plan(SharedResource::Contended, me.global, now, factor, fx);
        }
    }

    /// The deadline of one of this instance's downstream calls has passed.
    pub fn on_timeout(&mut self, me: Me, slot: u32, seq: u32, now: f64, fx: &mut Effects) {
        if self.is_waiting(slot, seq) {
            self.call_failed(me, slot, Failure::Timeout, now, fx);
        }
    }

    /// End of a tick: charge the CPU used, account memory, and OOM-kill above the limit.
    /// `routine_line_due`: its staggered routine log line is due (logged if it is up).
    /// Returns whether the instance is settled now: the next end of a tick would change
    /// nothing unless something changes it first.
    pub fn end_tick(
        &mut self,
        me: Me,
        tick: Tick,
        routine_line_due: bool,
        fx: &mut Effects,
    ) -> bool {
        // A healthy service is not silent: a routine line now and then, staggered.
        if self.up && routine_line_due {
            let which = self.next_noise_line(0) as u8;
            fx.tallies.logs.log(
                me.service,
                me.global,
                tick.t0,
                Level::Info,
                LogEvent::Routine { which },
            );
        }
        if self.settled(me) {
            return true;
        }
        let (t0, t1) = (tick.t0, tick.t1);
        let service = me.model();
        let bent = me.bent();
        let dt = t1 - t0;
        let replica = me.global != me.conditions.primary(me.service, service.first_instance);
        if replica && bent.replication_lag_rate > 0.0 {
            self.replica_lag_s += bent.replication_lag_rate * dt;
        } else {
            // Caught up at one second per second once the cause is gone.
            self.replica_lag_s = (self.replica_lag_s - dt).max(0.0);
        }
        if self.up && bent.log_storm {
            for k in 0..NOISE_PER_TICK {
                let which = (self.next_noise_line(k)) as u8;
                fx.tallies.logs.log(
                    me.service,
                    me.global,
                    t0 + dt * f64::from(k) / f64::from(NOISE_PER_TICK),
                    Level::Warn,
                    LogEvent::Noise { which },
                );
            }
        }
        if self.up {
            self.leaked_mb += bent.leak_mb_per_second * dt;
            self.disk_used_mb =
                (self.disk_used_mb + bent.disk_mb_per_second * dt).min(service.disk_size_mb);
        }
        self.advance_cores(me, t1);
        self.charge_free_runs(t1);
        fx.tallies.services[me.service].cpu_seconds += self.cpu_used;
        self.cpu_used = 0.0;
        // A hog starting or stopping changes every request's pace from here on.
        let hog = if self.up { bent.cpu_hog_cores } else { 0.0 };
        if hog != self.hog_threads {
            self.share_cores(me, t1, fx);
            self.hog_threads = hog;
            self.plan_cores(me, t1, fx);
        }
        let held = (self.queue.len() + self.busy()) as f64;
        self.memory_mb = service.base_mb + service.per_request_mb * held + self.leaked_mb;
        let oom = service.limit_mb.is_some_and(|limit| self.memory_mb > limit);
        let crash_loop = bent
            .crash_after
            .is_some_and(|after| t1 - self.up_since >= after);
        let zone_lost = me.conditions.zones_down[me.topology.zone_of(me.global)];
        if self.up && (oom || crash_loop || zone_lost) {
            let why = if zone_lost {
                Down::ZoneLost
            } else if oom {
                Down::OutOfMemory {
                    used_mb: self.memory_mb,
                    limit_mb: service.limit_mb.unwrap_or(0.0),
                }
            } else {
                Down::CrashLoop
            };
            self.kill(me, t1, why, fx);
        }
        self.settled(me)
    }

    /// Whether the end of a tick would change nothing here: no work in hand or charged, no
    /// condition of its service that acts between events (a leak, a full disk, a hog,
    /// replication lag, a crash loop, a log storm), memory as it was, nothing to kill it.
    /// Most instances of a large fleet are settled at most ticks, and cost only this check.
    fn settled(&self, me: Me) -> bool {
        let service = me.model();
        let calm = me.bent().is_calm();
        let at_rest = self.busy_workers == 0
            && self.queue.is_empty()
            && self.cores.len() == 0
            && self.free_runs.is_empty()
            && self.cpu_used == 0.0
            && self.hog_threads == 0.0
            && self.replica_lag_s == 0.0
            && self.disk_used_mb <= service.disk_size_mb;
        let memory = service.base_mb + service.per_request_mb * 0.0 + self.leaked_mb;
        let doomed = self.up
            && (service.limit_mb.is_some_and(|limit| memory > limit)
                || me.conditions.zones_down[me.topology.zone_of(me.global)]);
        calm && at_rest && self.memory_mb.to_bits() == memory.to_bits() && !doomed
    }

    /// An empty slot: no instance, no traffic, until `provision`.
    pub fn vacate(&mut self) {
        self.provisioned = false;
        self.up = false;
        self.in_rotation = false;
        self.down_until = f64::INFINITY;
    }

    /// Puts a new instance in the slot, running `version`: it boots for `boot` seconds, then
    /// joins the rotation once its probes pass.
    pub fn provision(&mut self, service: &ServiceModel, version: usize, now: f64, boot: f64) {
        self.provisioned = true;
        self.up = false;
        self.in_rotation = false;
        self.failed_probes = 0;
        self.passed_probes = 0;
        self.down_until = now + boot;
        self.version = version;
        self.cached_keys = 0;
        self.leaked_mb = 0.0;
        self.disk_used_mb = service.disk_used_mb;
    }

    /// Starts the instance again once its restart time has passed (not in a lost zone);
    /// whether it started.
    pub fn start_if_due(&mut self, now: f64, zone_down: bool) -> bool {
        let due = self.provisioned && !self.up && now >= self.down_until && !zone_down;
        if due {
            self.up = true;
            self.up_since = now;
        }
        due
    }

    /// Kills the instance at `now` (OOM or crash): every request it holds fails, and it
    /// comes back cold after the service's restart time.
    pub fn kill(&mut self, me: Me, now: f64, why: Down, fx: &mut Effects) {
        let service = me.model();
        let level = if matches!(why, Down::Restart) {
            Level::Info
        } else {
            Level::Error
        };
        fx.tallies.logs.log(
            me.service,
            me.global,
            now,
            level,
            LogEvent::InstanceDown { why },
        );
        let queued: Vec<Call> = self.queue.drain(..).collect();
        for call in queued {
            self.respond(
                me.service,
                call.reply,
                call.arrival,
                now,
                Outcome::ServerError,
                fx,
            );
        }
        let jobs: Vec<(ReplyTo, f64)> = self.jobs.values().map(|j| (j.reply, j.arrival)).collect();
        for (reply, arrival) in jobs {
            self.respond(me.service, reply, arrival, now, Outcome::ServerError, fx);
        }
        // Requests in their own work end with the process; their completions are void.
        // Their callers find out by timing out, as with a real crash.
        self.advance_cores(me, now);
        self.charge_free_runs(now);
        self.free_runs.clear();
        self.voided.clear();
        self.incarnation += 1;
        self.jobs.clear();
        self.cores.clear();
        self.contention.clear();
        self.busy_workers = 0;
        self.draining = false;
        self.up = false;
        self.down_until = now + service.restart_time;
        self.restarts += 1;
        self.cached_keys = 0;
        self.leaked_mb = 0.0;
        self.memory_mb = service.base_mb;
    }

    /// Keys a cache instance can hold.
    pub fn cache_capacity(&self, service: &ServiceModel) -> u32 {
        cache_keys_per_instance(service)
    }

    /// Stores `keys` more keys in a cache instance (a cache warm-up), up to its capacity.
    pub fn warm_cache(&mut self, service: &ServiceModel, keys: u32) {
        self.cached_keys = (self.cached_keys + keys).min(cache_keys_per_instance(service));
    }

    /// Which noise line to log: varied without drawing from the simulation's stream.
    fn next_noise_line(&mut self, k: u32) -> u32 {
        self.noise_lines = self.noise_lines.wrapping_add(1);
        self.noise_lines.wrapping_mul(2_654_435_761) >> 28 ^ k
    }

    /// Drops every key this cache instance holds.
    pub fn flush_cache(&mut self) {
        self.cached_keys = 0;
    }

    /// Whether call `seq` from `slot` is still waiting for its answer.
    pub fn is_waiting(&self, slot: u32, seq: u32) -> bool {
        self.jobs.get(slot).is_some_and(|job| job.seq == seq)
    }

    /// Hands free workers to queued requests, oldest first.
    fn serve(&mut self, me: Me, now: f64, fx: &mut Effects) {
        while self.busy_workers < self.workers {
            let Some(call) = self.queue.pop_front() else {
                break;
            };
            self.busy_workers += 1;
            self.begin(me, call, now, fx);
        }
    }

    /// A request gets a worker at `now`: its own work ends at `end`, then it fails,
    /// answers, or starts its downstream calls.
    fn begin(&mut self, me: Me, call: Call, now: f64, fx: &mut Effects) {
        let service = me.model();
        let bent = me.bent();
        let version = &me.conditions.versions[me.service][self.version];
        let compute = service.service_time.sample(&mut self.rng)
            * bent.latency_factor
            * version.latency_factor;
        // Injected latency is waiting (a lock, a slow disk), not CPU.
        let cpu = compute * service.cpu_share;
        let mut wait = compute - cpu + bent.extra_latency;
        if let Some((interval, pause)) = bent.gc {
            // Stop-the-world pauses stall the request wherever they fall in its own work.
            wait += gc_stall(now, now + compute + bent.extra_latency, interval, pause);
        }
        self.leaked_mb += bent.leak_mb_per_request + version.leak_mb_per_request;
        self.disk_used_mb =
            (self.disk_used_mb + bent.disk_mb_per_request).min(service.disk_size_mb);
        let disk_full = self.disk_used_mb >= service.disk_size_mb;
        let (skewed, skew_ratio) = bent.clock_skew;
        let skew_fails = me.global - service.first_instance < skewed
            && skew_ratio > 0.0
            && uniform(&mut self.rng) < skew_ratio;
        // Independent causes of failure, each named in the log: the version's bug first,
        // then the everyday and injected errors, P(fail) = 1 - (1 - own)(1 - injected).
        let version_fails =
            version.error_ratio > 0.0 && uniform(&mut self.rng) < version.error_ratio;
        let error_ratio = 1.0 - (1.0 - service.error_ratio) * (1.0 - bent.extra_error_ratio);
        let hot_key = f64::from(call.key) < bent.hot_key_ratio * f64::from(u32::MAX);
        let (tolerance, fresh_reads) = bent.stale_reads;
        let stale = self.replica_lag_s > tolerance
            && fresh_reads > 0.0
            && uniform(&mut self.rng) < fresh_reads;
        let cause = if disk_full {
            Some(Cause::DiskFull)
        } else if hot_key {
            Some(Cause::HotKey(call.key))
        } else if stale {
            Some(Cause::StaleRead)
        } else if skew_fails {
            Some(Cause::ClockSkew)
        } else if version_fails {
            Some(Cause::Version(self.version))
        } else if error_ratio > 0.0 && uniform(&mut self.rng) < error_ratio {
            Some(Cause::Internal)
        } else {
            None
        };
        let finished = if let Some(cause) = cause {
            fx.tallies.logs.log(
                me.service,
                me.global,
                now,
                Level::Error,
                LogEvent::RequestFailed {
                    request: call.key,
                    cause,
                },
            );
            Some(Outcome::ServerError)
        } else if (matches!(service.kind, ServiceKind::Cache { .. })
            && uniform(&mut self.rng) < self.hit_probability(service))
            || service.edges.is_empty()
        {
            // A cache hit, or a leaf service: answered from its own work.
            Some(Outcome::Ok)
        } else {
            None
        };
        if let Some(outcome) = finished {
            let completion = Completion {
                incarnation: self.incarnation,
                ticket: self.fresh_ticket(),
                arrival: call.arrival,
                reply: call.reply,
                outcome,
            };
            let pending = Pending::Complete {
                completion,
                trace: call.trace,
                began: now,
            };
            self.own_work(me, cpu, wait, pending, now, fx);
            return;
        }
        let calls_left = draw_calls(service.edges[0].per_request, &mut self.rng);
        let seq = self.fresh_seq();
        let slot = self.jobs.insert(Job {
            reply: call.reply,
            arrival: call.arrival,
            edge: 0,
            calls_left,
            attempt: 0,
            // A number no call was sent with: a late answer to the slot's last job cannot
            // reach this one while it is still in its own work.
            seq,
            previous_backoff: 0.0,
            fills_cache: matches!(service.kind, ServiceKind::Cache { .. }),
            trace: call.trace,
            key: call.key,
            span: if call.trace.is_traced() {
                fx.tallies.traces.next_id()
            } else {
                0
            },
            began: now,
        });
        self.own_work(me, cpu, wait, Pending::Continue { slot }, now, fx);
    }

    /// Starts a request's own work: `cpu` seconds of CPU on the shared cores, then `wait`.
    fn own_work(
        &mut self,
        me: Me,
        cpu: f64,
        wait: f64,
        pending: Pending,
        now: f64,
        fx: &mut Effects,
    ) {
        if cpu > 0.0 && self.may_run_free(me, pending, now) {
            self.run_free(me, cpu, wait, pending, now, fx);
        } else if cpu > 0.0 {
            self.charge_free_runs(now);
            if !self.cores_have_room(me) {
                self.share_cores(me, now, fx);
            }
            self.advance_cores(me, now);
            self.advance_contention(me, now);
            self.cores.push(cpu, wait, pending);
            self.plan_cores(me, now, fx);
            self.plan_contention(me, now, fx);
        } else {
            self.after_cpu(me, pending, wait, now, fx);
        }
    }

    fn fresh_ticket(&mut self) -> u32 {
        self.next_ticket = self.next_ticket.wrapping_add(1);
        self.next_ticket
    }

    /// Whether a request starting its CPU phase at `now` can run at full speed with its next
    /// step scheduled at once: one more runnable thread still fits on the cores, its waiting
    /// is not paced by a contended resource, it is not traced (a span is written when it
    /// starts), and its next step is a completion or one call.
    fn may_run_free(&mut self, me: Me, pending: Pending, now: f64) -> bool {
        if me.model().slowdown_per_request > 0.0 {
            return false;
        }
        self.charge_free_runs(now);
        self.cores_have_room(me)
            && match pending {
                Pending::Complete { trace, .. } => !trace.is_traced(),
                Pending::Continue { slot } => self
                    .jobs
                    .get_mut(slot)
                    .is_some_and(|job| !job.trace.is_traced() && job.calls_left > 0),
            }
    }

    /// Runs a request's CPU phase at full speed and schedules what follows it now: its
    /// completion, or its first call, at `now + cpu + wait`.
    fn run_free(
        &mut self,
        me: Me,
        cpu: f64,
        wait: f64,
        pending: Pending,
        now: f64,
        fx: &mut Effects,
    ) {
        let end = now + cpu + wait;
        let undo = match pending {
            Pending::Complete { completion, .. } => {
                fx.events.schedule(
                    end,
                    Event::Complete {
                        instance: me.global,
                        work: completion,
                    },
                );
                Undo::Completion(completion.ticket)
            }
            Pending::Continue { slot } => {
                let left = self.send(me, slot, end, fx);
                let seq = self.jobs.get_mut(slot).expect("live job").seq;
                Undo::Call { seq, left }
            }
        };
        self.free_runs.push(FreeRun {
            start: now,
            cpu_end: now + cpu,
            wait,
            pending,
            undo,
        });
    }

    /// Charges the CPU the full-speed requests used up to `now`, and lets go of those whose
    /// CPU phase is over.
    fn charge_free_runs(&mut self, now: f64) {
        if self.free_runs.is_empty() {
            self.charged_until = self.charged_until.max(now);
            return;
        }
        let from = self.charged_until;
        // One pass that charges each run and keeps those still running, in order, without
        // a branch on which: whether a run has ended is a coin toss the CPU mispredicts.
        let mut kept = 0;
        for k in 0..self.free_runs.len() {
            let run = self.free_runs[k];
            self.cpu_used += (run.cpu_end.min(now) - run.start.max(from)).max(0.0);
            self.free_runs[kept] = run;
            kept += usize::from(run.cpu_end > now);
        }
        self.free_runs.truncate(kept);
        self.charged_until = self.charged_until.max(now);
    }

    /// Whether one more runnable thread fits on the cores beside those at full speed, those
    /// sharing them and a hog's (charge the full-speed ones first): then every one of them
    /// still runs at full speed. Requests sharing the cores below saturation run at full
    /// speed too, so requests may run free beside them: a traced request (which always
    /// shares) does not hold back the ones after it.
    fn cores_have_room(&self, me: Me) -> bool {
        let runnable = (self.free_runs.len() + self.cores.len()) as f64 + 1.0 + self.hog_threads;
        runnable <= me.model().cores
    }

    /// The cores are about to be shared (one more request than they hold, or a hog): the
    /// requests running at full speed join them for the rest of their CPU phase, and the
    /// next steps scheduled for them are undone.
    fn share_cores(&mut self, me: Me, now: f64, fx: &mut Effects) {
        self.charge_free_runs(now);
        if self.free_runs.is_empty() {
            return;
        }
        // Contended services never run at full speed: only the cores' progress moves here.
        self.advance_cores(me, now);
        for run in std::mem::take(&mut self.free_runs) {
            let pending = match (run.pending, run.undo) {
                (
                    Pending::Complete {
                        mut completion,
                        trace,
                        began,
                    },
                    Undo::Completion(ticket),
                ) => {
                    self.voided.push(ticket);
                    completion.ticket = self.fresh_ticket();
                    Pending::Complete {
                        completion,
                        trace,
                        began,
                    }
                }
                (Pending::Continue { slot }, Undo::Call { seq, left }) => {
                    if left {
                        fx.events.recall(ReplyTo::Instance {
                            instance: me.global,
                            slot,
                            seq,
                        });
                    }
                    // Its answer, refusal or deadline, if any comes, is for a call never sent.
                    let fresh = self.fresh_seq();
                    if let Some(job) = self.jobs.get_mut(slot) {
                        job.seq = fresh;
                    }
                    Pending::Continue { slot }
                }
                (pending, _) => pending,
            };
            self.cores.push(run.cpu_end - now, run.wait, pending);
        }
        self.plan_cores(me, now, fx);
    }

    fn fresh_seq(&mut self) -> u32 {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        seq
    }

    /// Moves a job on at `at`: its next call, or its answer when no call is left.
    fn proceed(&mut self, me: Me, slot: u32, at: f64, fx: &mut Effects) {
        let edges = &me.model().edges;
        let job = self.jobs.get_mut(slot).expect("live job");
        while job.calls_left == 0 {
            job.edge += 1;
            if job.edge == edges.len() {
                self.finish(me, slot, at, Outcome::Ok, fx);
                return;
            }
            job.calls_left = draw_calls(edges[job.edge].per_request, &mut self.rng);
        }
        self.send(me, slot, at, fx);
    }

    /// Sends the job's next call at `at`; whether it leaves (it is not refused or lost).
    fn send(&mut self, me: Me, slot: u32, at: f64, fx: &mut Effects) -> bool {
        let seq = self.fresh_seq();
        let job = self.jobs.get_mut(slot).expect("live job");
        let edge = &me.model().edges[job.edge];
        let bent = me.conditions.edges[me.service][job.edge];
        job.seq = seq;
        let reply = ReplyTo::Instance {
            instance: me.global,
            slot,
            seq,
        };
        let timeout = bent.policy.map_or(edge.policy.timeout, |p| p.timeout);
        fx.events
            .schedule(at + timeout, Event::Timeout { to: reply });
        let refusal = if bent.circuit_open {
            Some(Refusal::CircuitOpen)
        } else if bent.unresolvable {
            Some(Refusal::Dns)
        } else if me.conditions.services[edge.to].tls_expired {
            Some(Refusal::Tls)
        } else {
            None
        };
        if let Some(why) = refusal {
            fx.events.reply(reply, at, Outcome::Rejected(why));
            false
        } else if bent.loss_ratio == 0.0 || uniform(&mut self.rng) >= bent.loss_ratio {
            let arrival = at + bent.extra_latency;
            let trace = TraceContext {
                trace: job.trace.trace,
                parent: job.span,
            };
            fx.events.send(
                edge.to,
                Call {
                    arrival,
                    reply,
                    trace,
                    key: job.key,
                    write: is_write(job.key, edge.writes),
                },
            );
            true
        } else {
            false // a lost call never arrives: its caller finds out at the deadline
        }
    }

    fn call_succeeded(&mut self, me: Me, slot: u32, now: f64, fx: &mut Effects) {
        let service = me.model();
        let job = self.jobs.get_mut(slot).expect("live job");
        self.retry[job.edge].on_success(&policy(me, job.edge));
        job.calls_left -= 1;
        job.attempt = 0;
        if job.fills_cache && self.cached_keys < cache_keys_per_instance(service) {
            self.cached_keys += 1;
        }
        job.fills_cache = false;
        self.proceed(me, slot, now, fx);
    }

    fn call_failed(&mut self, me: Me, slot: u32, failure: Failure, now: f64, fx: &mut Effects) {
        let service = me.model();
        let job = self.jobs.get_mut(slot).expect("live job");
        let edge = &service.edges[job.edge];
        let policy = policy(me, job.edge);
        if failure == Failure::Timeout {
            fx.tallies.services[edge.to].timeouts += 1;
        }
        let attempt = job.attempt + 1;
        let callee = edge.to as u32;
        let request = job.key;
        if self.retry[job.edge].allow(&policy, attempt) {
            fx.tallies.logs.log(
                me.service,
                me.global,
                now,
                Level::Warn,
                LogEvent::Retrying {
                    request,
                    callee,
                    attempt,
                    failure,
                },
            );
            let mut delay =
                backoff_delay(policy.backoff, attempt, job.previous_backoff, &mut self.rng);
            if let (Failure::Rejected(Refusal::RateLimited), true, Some(limit)) = (
                failure,
                policy.honour_retry_after,
                me.topology.services[edge.to].rate_limit,
            ) {
                delay = delay.max(limit.retry_after.get());
            }
            job.attempt = attempt;
            job.previous_backoff = delay;
            fx.tallies.services[edge.to].retries += 1;
            self.send(me, slot, now + delay, fx);
        } else if edge.optional {
            fx.tallies.logs.log(
                me.service,
                me.global,
                now,
                Level::Warn,
                LogEvent::CallFailed {
                    request,
                    callee,
                    failure,
                    attempts: attempt,
                },
            );
            job.calls_left = 0;
            job.attempt = 0;
            self.proceed(me, slot, now, fx);
        } else {
            fx.tallies.logs.log(
                me.service,
                me.global,
                now,
                Level::Error,
                LogEvent::CallFailed {
                    request,
                    callee,
                    failure,
                    attempts: attempt,
                },
            );
            self.finish(me, slot, now, Outcome::ServerError, fx);
        }
    }

    /// A job is over: answer its caller and free its worker.
    fn finish(&mut self, me: Me, slot: u32, now: f64, outcome: Outcome, fx: &mut Effects) {
        let job = self.jobs.remove(slot).expect("live job");
        if job.trace.is_traced() {
            fx.tallies.traces.record(Span {
                trace: job.trace.trace,
                id: job.span,
                parent: job.trace.parent,
                handler: Handler::Instance(me.global),
                start: job.arrival,
                began: job.began,
                end: now,
                outcome,
            });
        }
        self.respond(me.service, job.reply, job.arrival, now, outcome, fx);
        self.busy_workers -= 1;
        self.serve(me, now, fx);
    }

    fn respond(
        &mut self,
        service: usize,
        reply: ReplyTo,
        arrival: f64,
        now: f64,
        outcome: Outcome,
        fx: &mut Effects,
    ) {
        if reply == ReplyTo::Nobody {
            return; // a queue's delivery was counted when it was enqueued
        }
        let tally = &mut fx.tallies.services[service];
        tally.latency.observe(now - arrival);
        match outcome {
            Outcome::Ok => {
                tally.ok += 1;
                tally.ok_latency.observe(now - arrival);
            }
            Outcome::ServerError => tally.server_errors += 1,
            Outcome::Rejected(_) => tally.rejected += 1,
        }
        fx.events.reply(reply, now, outcome);
    }
}

/// A token bucket holding one second's worth (at least one token), refilled at `rps`.
#[derive(Clone, Copy, Debug, Default)]
struct TokenBucket {
    tokens: f64,
    counted_at: f64,
}

impl TokenBucket {
    /// Takes a token if there is one. With `debt`, a refused call costs one anyway, down
    /// to one second's worth owed: a limiter that counts every attempt.
    fn take(&mut self, rps: f64, now: f64, debt: bool) -> bool {
        let full = rps.max(1.0);
        self.tokens = (self.tokens + (now - self.counted_at) * rps).min(full);
        self.counted_at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            if debt {
                self.tokens = (self.tokens - 1.0).max(-full);
            }
            false
        }
    }
}

/// The caller's retry policy on its edge `edge`: the scenario's, unless tuned.
fn policy(me: Me, edge: usize) -> RetryPolicy {
    let scenario = me.model().edges[edge].policy;
    me.conditions.edges[me.service][edge]
        .policy
        .unwrap_or(scenario)
}

/// Time a request started at `start` and due at `end` loses to stop-the-world pauses of
/// `pause` every `interval`: the rest of a pause it starts in, and every pause it spans.
fn gc_stall(start: f64, end: f64, interval: f64, pause: f64) -> f64 {
    let phase = start % interval;
    let wait = if phase < pause { pause - phase } else { 0.0 };
    let next_pause = start - phase + interval;
    let spanned = if end + wait > next_pause {
        ((end + wait - next_pause) / interval).floor() + 1.0
    } else {
        0.0
    };
    wait + spanned * pause
}

/// What a contended request does once its own work is done.
#[derive(Clone, Copy, Debug)]
enum Pending {
    Complete {
        completion: Completion,
        trace: TraceContext,
        began: f64,
    },
    Continue {
        slot: u32,
    },
}

#[derive(Clone, Copy, Debug)]
struct Sharing {
    /// Virtual time at which its work here is done.
    finish: f64,
    order: u64,
    /// Seconds of waiting still to do afterwards.
    then_wait: f64,
    pending: Pending,
}

impl PartialEq for Sharing {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for Sharing {}

impl PartialOrd for Sharing {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Sharing {
    /// Reversed, so the max-heap pops the earliest finish.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other
            .finish
            .total_cmp(&self.finish)
            .then(other.order.cmp(&self.order))
    }
}

/// Requests progressing together on a shared resource, each at 1 / factor of its pace alone,
/// where the factor depends on how many share it (processor sharing). Tracked in virtual
/// time, so each arrival or departure costs one heap operation, and a wake-up is scheduled
/// again only when the next finish moves.
#[derive(Clone, Debug, Default)]
struct Shared {
    virtual_now: f64,
    updated_at: f64,
    running: std::collections::BinaryHeap<Sharing>,
    order: u64,
    generation: u32,
    /// When the pending wake-up is due, if one is.
    planned: Option<f64>,
}

impl Shared {
    fn len(&self) -> usize {
        self.running.len()
    }

    /// Brings progress to `now` at the pace `factor` held since the last change; the
    /// progress each request made, in seconds of its own work.
    fn advance(&mut self, now: f64, factor: f64) -> f64 {
        let progress = if now > self.updated_at {
            (now - self.updated_at) / factor
        } else {
            0.0
        };
        // Virtual time only orders the requests sharing: with none, it starts again. So an
        // idle instance's clock is the same however often it was brought up to date, and
        // ticks may skip it.
        if self.running.is_empty() {
            self.virtual_now = 0.0;
        } else {
            self.virtual_now += progress;
        }
        self.updated_at = self.updated_at.max(now);
        progress
    }

    /// Adds a request with `work` seconds to do here (call `advance` first).
    fn push(&mut self, work: f64, then_wait: f64, pending: Pending) {
        self.order += 1;
        self.running.push(Sharing {
            finish: self.virtual_now + work,
            order: self.order,
            then_wait,
            pending,
        });
    }

    /// Removes the requests whose work here is done (call `advance` first), with the waiting
    /// each still has to do.
    fn take_done(&mut self) -> Vec<(Pending, f64)> {
        self.planned = None;
        let mut done = Vec::new();
        while let Some(next) = self.running.peek() {
            if next.finish > self.virtual_now + 1e-9 {
                break;
            }
            let next = self.running.pop().expect("peeked");
            done.push((next.pending, next.then_wait));
        }
        done
    }

    /// Schedules a wake-up for the next request to finish at the pace `factor`, voiding the
    /// pending one, unless that one is already due then.
    fn plan(
        &mut self,
        resource: SharedResource,
        instance: u32,
        now: f64,
        factor: f64,
        fx: &mut Effects,
    ) {
        let Some(next) = self.running.peek() else {
            self.planned = None;
            return;
        };
        let at = now + (next.finish - self.virtual_now).max(0.0) * factor;
        if self
            .planned
            .is_some_and(|planned| (planned - at).abs() <= 1e-9)
        {
            return;
        }
        self.generation = self.generation.wrapping_add(1);
        self.planned = Some(at);
        fx.events.schedule(
            at,
            Event::Shared {
                instance,
                resource,
                generation: self.generation,
            },
        );
    }

    /// A crash: the work in progress is lost.
    fn clear(&mut self) {
        self.running.clear();
        self.planned = None;
        self.generation = self.generation.wrapping_add(1);
    }
}

/// A request in its CPU phase at full speed, its next step already scheduled.
#[derive(Clone, Copy, Debug)]
struct FreeRun {
    start: f64,
    cpu_end: f64,
    /// Seconds of waiting after the CPU phase.
    wait: f64,
    pending: Pending,
    undo: Undo,
}

/// How to take back the step scheduled for a request running at full speed.
#[derive(Clone, Copy, Debug)]
enum Undo {
    Completion(u32),
    /// The call sent ahead of time (`left`: it was not refused or lost on the way).
    Call {
        seq: u32,
        left: bool,
    },
}

/// Records the span of a sampled request whose own work, begun at `began`, answers it at `end`.
fn trace_completion(
    me: Me,
    completion: &Completion,
    trace: TraceContext,
    began: f64,
    end: f64,
    fx: &mut Effects,
) {
    if trace.is_traced() {
        let call = Call {
            arrival: completion.arrival,
            reply: completion.reply,
            trace,
            key: 0,
            write: false,
        };
        trace_span(me, &call, began, end, completion.outcome, fx);
    }
}

/// Records the span of a sampled request answered without downstream calls.
fn trace_span(me: Me, call: &Call, began: f64, end: f64, outcome: Outcome, fx: &mut Effects) {
    if call.trace.is_traced() {
        let id = fx.tallies.traces.next_id();
        fx.tallies.traces.record(Span {
            trace: call.trace.trace,
            id,
            parent: call.trace.parent,
            handler: Handler::Instance(me.global),
            start: call.arrival,
            began,
            end,
            outcome,
        });
    }
}

/// Frees the logs that filled a disk, back to where the run started.
pub fn rotate_logs(state: &mut InstanceState, service: &ServiceModel) {
    state.disk_used_mb = service.disk_used_mb;
}

/// Ticks between an instance's routine log lines, staggered over the instances.
pub const ROUTINE_TICKS: u64 = 150;

/// Noise lines an instance logs per tick during an alert storm.
const NOISE_PER_TICK: u32 = 3;

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
