//! Traffic sources: open-loop clients that send first tries as a Poisson process whose rate
//! follows the scenario (base, diurnal curve, spikes, noise), and retry as their policy says.

use bevy::prelude::Component;
use rand::rngs::ChaCha8Rng;

use super::instance::Tick;
use super::messages::{Call, Failure, Mailboxes, Outcome, ReplyTo, Response, Slab};
use super::metrics::SourceTally;
use super::random::{exponential, standard_normal};
use super::retry::{RetryState, backoff_delay};
use super::topology::SourceModel;

/// Correlation time of the rate noise: the wobble is slow, like real traffic.
const NOISE_SECONDS: f64 = 30.0;

#[derive(Clone, Debug)]
struct Request {
    first_sent: f64,
    attempt: u32,
    seq: u32,
    deadline: f64,
    sent_tick: u64,
    previous_backoff: f64,
}

#[derive(Component, Debug)]
pub struct SourceState {
    requests: Slab<Request>,
    next_seq: u32,
    retry: RetryState,
    /// Standardised noise, an AR(1) process with unit variance.
    noise: f64,
    /// The offered first-try rate in the last tick.
    pub rate: f64,
    pub rng: ChaCha8Rng,
}

impl SourceState {
    pub fn new(model: &SourceModel, rng: ChaCha8Rng) -> Self {
        Self {
            requests: Slab::default(),
            next_seq: 0,
            retry: RetryState::new(&model.policy),
            noise: 0.0,
            rate: model.rate,
            rng,
        }
    }

    /// Requests still waiting for an answer or a retry.
    pub fn outstanding(&self) -> usize {
        self.requests.len()
    }

    /// The source's turn: read replies, time out requests, then send this tick's first tries.
    pub fn step(
        &mut self,
        model: &SourceModel,
        index: u32,
        tick: Tick,
        replies: &mut Vec<Response>,
        mail: &mut Mailboxes,
        tally: &mut SourceTally,
    ) {
        replies.sort_by(|a, b| a.time.total_cmp(&b.time).then(a.seq.cmp(&b.seq)));
        for response in replies.drain(..) {
            let Some(request) = self.requests.get_mut(response.slot) else {
                continue;
            };
            if request.seq != response.seq {
                continue;
            }
            let deadline = request.deadline;
            if response.time > deadline {
                self.failed(model, index, response.slot, Failure::Timeout, deadline, tick, mail, tally);
            } else if response.outcome == Outcome::Ok {
                let request = self.requests.remove(response.slot).expect("live request");
                self.retry.on_success(&model.policy);
                tally.ok += 1;
                tally.latency.observe(response.time - request.first_sent);
            } else {
                let failure = if response.outcome == Outcome::Rejected {
                    Failure::Rejected
                } else {
                    Failure::ServerError
                };
                self.failed(model, index, response.slot, failure, response.time, tick, mail, tally);
            }
        }
        let expired: Vec<(u32, f64)> = self
            .requests
            .slots()
            .filter(|(_, r)| r.deadline < tick.t0 && r.sent_tick < tick.index)
            .map(|(slot, r)| (slot, r.deadline))
            .collect();
        for (slot, deadline) in expired {
            self.failed(model, index, slot, Failure::Timeout, deadline, tick, mail, tally);
        }

        let dt = tick.t1 - tick.t0;
        if model.noise > 0.0 {
            let keep = (-dt / NOISE_SECONDS).exp();
            self.noise = self.noise * keep + (1.0 - keep * keep).sqrt() * standard_normal(&mut self.rng);
        }
        self.rate = model.rate_at(tick.t0) * (1.0 + model.noise * self.noise).max(0.0);
        if self.rate <= 0.0 {
            return;
        }
        // A Poisson process with the rate held over the tick; memorylessness lets each tick
        // start afresh, so rate changes take effect exactly at tick boundaries.
        let mean_gap = 1.0 / self.rate;
        let mut t = tick.t0 + exponential(&mut self.rng, mean_gap);
        while t < tick.t1 {
            tally.first_tries += 1;
            let slot = self.requests.insert(Request {
                first_sent: t,
                attempt: 0,
                seq: 0,
                deadline: f64::INFINITY,
                sent_tick: tick.index,
                previous_backoff: 0.0,
            });
            self.send(model, index, slot, t, tick, mail);
            t += exponential(&mut self.rng, mean_gap);
        }
    }

    fn send(&mut self, model: &SourceModel, index: u32, slot: u32, at: f64, tick: Tick, mail: &mut Mailboxes) {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        let request = self.requests.get_mut(slot).expect("live request");
        request.seq = seq;
        request.deadline = at + model.policy.timeout;
        request.sent_tick = tick.index;
        mail.send(
            model.to,
            Call {
                arrival: at,
                reply: ReplyTo::Source {
                    source: index,
                    slot,
                    seq,
                },
            },
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn failed(
        &mut self,
        model: &SourceModel,
        index: u32,
        slot: u32,
        failure: Failure,
        now: f64,
        tick: Tick,
        mail: &mut Mailboxes,
        tally: &mut SourceTally,
    ) {
        let request = self.requests.get_mut(slot).expect("live request");
        let attempt = request.attempt + 1;
        if self.retry.allow(&model.policy, attempt) {
            let delay = backoff_delay(model.policy.backoff, attempt, request.previous_backoff, &mut self.rng);
            request.attempt = attempt;
            request.previous_backoff = delay;
            tally.retries += 1;
            self.send(model, index, slot, now + delay, tick, mail);
        } else {
            self.requests.remove(slot);
            match failure {
                Failure::Timeout => tally.timeouts += 1,
                Failure::ServerError => tally.server_errors += 1,
                Failure::Rejected => tally.rejected += 1,
            }
        }
    }
}
