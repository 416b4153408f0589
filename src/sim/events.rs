//! What happens in the fleet, as timestamped events in one queue.
//!
//! Within a tick, events are handled in time order across the whole fleet, so a caller
//! learns of a reply at the instant it is sent and latency is exact far below the tick. The
//! tick only paces the world around the events: traffic generation, health checks, metrics.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use bevy::prelude::Resource;

/// A request on its way to a service.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Call {
    /// When it reached the service.
    pub arrival: f64,
    pub reply: ReplyTo,
}

/// Where an answer goes: a calling instance's job, or a traffic source's request.
/// `seq` tells a current call from an abandoned one that reused the slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyTo {
    Instance { instance: u32, slot: u32, seq: u32 },
    Source { source: u32, slot: u32, seq: u32 },
}

/// How a call ended, from the callee's side (timeouts are the caller's decision).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    ServerError,
    /// Refused without being served: queue full or instance down.
    Rejected,
}

/// Why a caller saw a call fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    Timeout,
    ServerError,
    Rejected,
}

impl From<Outcome> for Failure {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Rejected => Self::Rejected,
            _ => Self::ServerError,
        }
    }
}

/// A request whose own work ends without downstream calls.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Completion {
    /// The instance's incarnation when the work began: a crash voids it.
    pub incarnation: u32,
    pub arrival: f64,
    pub reply: ReplyTo,
    pub outcome: Outcome,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Event {
    /// A call reaches a service; its load balancer picks an instance.
    Arrive { service: u32, call: Call },
    /// An instance finishes a request's own work.
    Complete { instance: u32, work: Completion },
    /// An answer reaches its caller.
    Reply { to: ReplyTo, outcome: Outcome },
    /// A caller's deadline for a call passes.
    Timeout { to: ReplyTo },
}

#[derive(Clone, Copy, Debug)]
struct Scheduled {
    time: f64,
    /// Ties in time keep the order events were scheduled in: runs are reproducible.
    order: u64,
    event: Event,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Scheduled {}

impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scheduled {
    /// Reversed, so the max-heap pops the earliest event.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .time
            .total_cmp(&self.time)
            .then(other.order.cmp(&self.order))
    }
}

/// The fleet's pending events, earliest first.
#[derive(Resource, Debug, Default)]
pub struct Events {
    heap: BinaryHeap<Scheduled>,
    next_order: u64,
}

impl Events {
    pub fn schedule(&mut self, time: f64, event: Event) {
        let order = self.next_order;
        self.next_order += 1;
        self.heap.push(Scheduled { time, order, event });
    }

    /// The earliest event strictly before `until`, if any.
    pub fn pop_before(&mut self, until: f64) -> Option<(f64, Event)> {
        if self.heap.peek()?.time < until {
            self.heap.pop().map(|s| (s.time, s.event))
        } else {
            None
        }
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    pub fn send(&mut self, service: usize, call: Call) {
        self.schedule(
            call.arrival,
            Event::Arrive {
                service: service as u32,
                call,
            },
        );
    }

    pub fn reply(&mut self, to: ReplyTo, time: f64, outcome: Outcome) {
        self.schedule(time, Event::Reply { to, outcome });
    }
}

/// A slab of values addressed by slot, reusing freed slots.
#[derive(Clone, Debug)]
pub struct Slab<T> {
    items: Vec<Option<T>>,
    free: Vec<u32>,
    len: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Slab<T> {
    pub fn insert(&mut self, value: T) -> u32 {
        self.len += 1;
        if let Some(slot) = self.free.pop() {
            self.items[slot as usize] = Some(value);
            slot
        } else {
            self.items.push(Some(value));
            (self.items.len() - 1) as u32
        }
    }

    pub fn get_mut(&mut self, slot: u32) -> Option<&mut T> {
        self.items.get_mut(slot as usize)?.as_mut()
    }

    pub fn remove(&mut self, slot: u32) -> Option<T> {
        let value = self.items.get_mut(slot as usize)?.take()?;
        self.free.push(slot);
        self.len -= 1;
        Some(value)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Occupied slots in slot order.
    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.items.iter().flatten()
    }

    pub fn clear(&mut self) {
        self.items.clear();
        self.free.clear();
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_and_ties_in_scheduling_order() {
        let mut events = Events::default();
        let reply = |slot| Event::Timeout {
            to: ReplyTo::Source {
                source: 0,
                slot,
                seq: 0,
            },
        };
        events.schedule(2.0, reply(0));
        events.schedule(1.0, reply(1));
        events.schedule(1.0, reply(2));
        events.schedule(5.0, reply(3));
        let mut popped = Vec::new();
        while let Some((t, e)) = events.pop_before(3.0) {
            popped.push((t, e));
        }
        assert_eq!(popped, vec![(1.0, reply(1)), (1.0, reply(2)), (2.0, reply(0))]);
        assert_eq!(events.len(), 1);
    }
}
