//! Traffic sources: open-loop clients that send first tries as a Poisson process whose rate
//! follows the scenario (base, diurnal curve, spikes, noise), and retry as their policy says.

use std::collections::VecDeque;

use bevy::prelude::Component;

use super::events::{Call, Event, Events, Failure, Outcome, Refusal, ReplyTo, Slab};
use super::metrics::SourceTally;
use super::random::{Stream, exponential, standard_normal};
use super::retry::{RetryState, backoff_delay};
use super::topology::SourceModel;
use super::traces::{Handler, SAMPLE_RATIO, Span, TraceContext, Traces};

/// Correlation time of the rate noise: the wobble is slow, like real traffic.
const NOISE_SECONDS: f64 = 30.0;

#[derive(Clone, Debug)]
struct Request {
    first_sent: f64,
    attempt: u32,
    seq: u32,
    /// Sent at least once. Until then a first try waits for its time in the tick, and no
    /// stale answer to its slot (from an earlier request there) may reach it.
    in_flight: bool,
    previous_backoff: f64,
    /// The user's span and its trace, when the request is sampled.
    trace: TraceContext,
    key: u32,
}

/// Which source is acting, and how faults bend its rate.
#[derive(Clone, Copy)]
pub struct Me<'a> {
    pub model: &'a SourceModel,
    pub index: u32,
    pub rate_factor: f64,
    /// The entry service's certificate has expired: handshakes fail.
    pub tls_expired: bool,
}

/// What a source's handlers may write besides its own state.
pub struct Effects<'a> {
    pub events: &'a mut Events,
    pub tally: &'a mut SourceTally,
    /// The entry service's count of calls whose callers gave up: users are callers too.
    pub entry_timeouts: &'a mut u64,
    pub traces: &'a mut Traces,
}

#[derive(Clone, Component, Debug)]
pub struct SourceState {
    requests: Slab<Request>,
    next_seq: u32,
    retry: RetryState,
    /// Standardised noise, an AR(1) process with unit variance.
    noise: f64,
    /// The offered first-try rate in the last tick.
    pub rate: f64,
    /// First tries sent so far.
    sent: u64,
    /// The tick's first tries not sent yet, earliest first. One `Event::Emit` at a time
    /// stands for them, so the event heap holds one entry per source, not a tick's arrivals.
    unsent: VecDeque<(f64, u32)>,
    pub rng: Stream,
}

impl SourceState {
    pub fn new(model: &SourceModel, rng: Stream) -> Self {
        Self {
            requests: Slab::default(),
            next_seq: 0,
            retry: RetryState::new(&model.policy),
            noise: 0.0,
            rate: model.rate,
            sent: 0,
            unsent: VecDeque::new(),
            rng,
        }
    }

    /// Sends the first tries of the tick `[t0, t1)`.
    pub fn generate(&mut self, me: Me, t0: f64, t1: f64, fx: &mut Effects) {
        let model = me.model;
        let dt = t1 - t0;
        if model.noise > 0.0 {
            let keep = libm::exp(-dt / NOISE_SECONDS);
            self.noise =
                self.noise * keep + libm::sqrt(1.0 - keep * keep) * standard_normal(&mut self.rng);
        }
        self.rate = model.rate_at(t0) * me.rate_factor * (1.0 + model.noise * self.noise).max(0.0);
        if self.rate <= 0.0 {
            return;
        }
        // A Poisson process with the rate held over the tick; memorylessness lets each tick
        // start afresh, so rate changes take effect exactly at tick boundaries.
        let mean_gap = 1.0 / self.rate;
        let waiting = !self.unsent.is_empty();
        let mut t = t0 + exponential(&mut self.rng, mean_gap);
        while t < t1 {
            fx.tally.first_tries += 1;
            self.sent += 1;
            // Sampling hashes the request's number instead of drawing from the source's
            // stream: observing the fleet must not change what it does.
            let key = (mix(me.index, self.sent) >> 32) as u32;
            let trace = if sampled(me.index, self.sent) {
                TraceContext {
                    trace: fx.traces.next_id(),
                    parent: fx.traces.next_id(),
                }
            } else {
                TraceContext::default()
            };
            let slot = self.requests.insert(Request {
                first_sent: t,
                attempt: 0,
                seq: 0,
                in_flight: false,
                previous_backoff: 0.0,
                trace,
                key,
            });
            self.unsent.push_back((t, slot));
            t += exponential(&mut self.rng, mean_gap);
        }
        if !waiting && let Some(&(first, _)) = self.unsent.front() {
            fx.events.schedule(first, Event::Emit { source: me.index });
        }
    }

    /// Sends the earliest first try of the tick, due now, and stands for the next.
    pub fn emit(&mut self, me: Me, fx: &mut Effects) {
        let Some((at, slot)) = self.unsent.pop_front() else {
            return;
        };
        self.send(me, slot, at, fx.events);
        if let Some(&(next, _)) = self.unsent.front() {
            fx.events.schedule(next, Event::Emit { source: me.index });
        }
    }

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
            return;
        }
        if outcome == Outcome::Ok {
            let request = self.requests.remove(slot).expect("live request");
            self.retry.on_success(&me.model.policy);
            fx.tally.ok += 1;
            fx.tally.latency.observe(now - request.first_sent);
            record_user_span(me, &request, now, Outcome::Ok, fx);
        } else {
            self.failed(me, slot, outcome.into(), now, fx);
        }
    }

    pub fn on_timeout(&mut self, me: Me, slot: u32, seq: u32, now: f64, fx: &mut Effects) {
        if self.is_waiting(slot, seq) {
            self.failed(me, slot, Failure::Timeout, now, fx);
        }
    }

    /// Whether call `seq` from `slot` is still waiting for its answer.
    pub fn is_waiting(&mut self, slot: u32, seq: u32) -> bool {
        self.requests
            .get_mut(slot)
            .is_some_and(|r| r.in_flight && r.seq == seq)
    }

    fn send(&mut self, me: Me, slot: u32, at: f64, events: &mut Events) {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        let request = self.requests.get_mut(slot).expect("live request");
        request.seq = seq;
        request.in_flight = true;
        let (trace, key) = (request.trace, request.key);
        let reply = ReplyTo::Source {
            source: me.index,
            slot,
            seq,
        };
        if me.tls_expired {
            events.reply(reply, at, Outcome::Rejected(Refusal::Tls));
        } else {
            events.send(
                me.model.to,
                Call {
                    arrival: at,
                    reply,
                    trace,
                    key,
                    write: false,
                },
            );
        }
        events.schedule(at + me.model.policy.timeout, Event::Timeout { to: reply });
    }

    fn failed(&mut self, me: Me, slot: u32, failure: Failure, now: f64, fx: &mut Effects) {
        let policy = &me.model.policy;
        let request = self.requests.get_mut(slot).expect("live request");
        if failure == Failure::Timeout {
            *fx.entry_timeouts += 1;
        }
        let attempt = request.attempt + 1;
        if self.retry.allow(policy, attempt) {
            let delay = backoff_delay(
                policy.backoff,
                attempt,
                request.previous_backoff,
                &mut self.rng,
            );
            request.attempt = attempt;
            request.previous_backoff = delay;
            fx.tally.retries += 1;
            self.send(me, slot, now + delay, fx.events);
        } else {
            let request = self.requests.remove(slot).expect("live request");
            let outcome = match failure {
                Failure::Rejected(why) => Outcome::Rejected(why),
                _ => Outcome::ServerError,
            };
            record_user_span(me, &request, now, outcome, fx);
            match failure {
                Failure::Timeout => fx.tally.timeouts += 1,
                Failure::ServerError => fx.tally.server_errors += 1,
                Failure::Rejected(_) => fx.tally.rejected += 1,
            }
        }
    }
}

/// The user's view of a sampled request: the root of its trace.
fn record_user_span(me: Me, request: &Request, now: f64, outcome: Outcome, fx: &mut Effects) {
    if request.trace.is_traced() {
        fx.traces.record(Span {
            trace: request.trace.trace,
            id: request.trace.parent,
            parent: 0,
            handler: Handler::Client(me.index),
            start: request.first_sent,
            began: request.first_sent,
            end: now,
            outcome,
        });
    }
}

/// Whether request `n` of source `index` is traced: its hash below the sample ratio.
fn sampled(index: u32, n: u64) -> bool {
    (mix(index, n) as f64) < SAMPLE_RATIO * u64::MAX as f64
}

/// A SplitMix64 hash of request `n` of source `index`: its trace sampling and its key,
/// without touching the source's random stream.
fn mix(index: u32, n: u64) -> u64 {
    let mut z = (u64::from(index) << 48 ^ n).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
