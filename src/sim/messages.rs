//! What travels between clients and services within and across ticks.
//!
//! Every message carries its exact simulated time, so latency is resolved far below the
//! tick: a tick only bounds when a message is *processed*, never when it happened.

/// A request on its way to a service.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Call {
    /// When it reaches the service (may lie in the future for a delayed retry).
    pub arrival: f64,
    pub reply: ReplyTo,
}

/// Where a response goes: a calling instance's job, or a traffic source's request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyTo {
    Instance { instance: u32, slot: u32, seq: u32 },
    Source { source: u32, slot: u32, seq: u32 },
}

/// How a call ended, from the callee's side (timeouts are decided by the caller).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    ServerError,
    /// Refused without being served: queue full or instance down.
    Rejected,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Response {
    pub time: f64,
    pub slot: u32,
    pub seq: u32,
    pub outcome: Outcome,
}

/// Why a caller saw a call fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    Timeout,
    ServerError,
    Rejected,
}

/// Mail in transit. Calls wait in their service's inbox until their arrival time falls in
/// the tick being processed; responses are read by their caller on its next turn.
#[derive(Clone, Debug, Default)]
pub struct Mailboxes {
    pub inbox: Vec<Vec<Call>>,
    pub instance_replies: Vec<Vec<Response>>,
    pub source_replies: Vec<Vec<Response>>,
}

impl Mailboxes {
    pub fn new(services: usize, instances: usize, sources: usize) -> Self {
        Self {
            inbox: vec![Vec::new(); services],
            instance_replies: vec![Vec::new(); instances],
            source_replies: vec![Vec::new(); sources],
        }
    }

    pub fn send(&mut self, service: usize, call: Call) {
        self.inbox[service].push(call);
    }

    pub fn reply(&mut self, to: ReplyTo, time: f64, outcome: Outcome) {
        match to {
            ReplyTo::Instance {
                instance,
                slot,
                seq,
            } => self.instance_replies[instance as usize].push(Response {
                time,
                slot,
                seq,
                outcome,
            }),
            ReplyTo::Source { source, slot, seq } => {
                self.source_replies[source as usize].push(Response {
                    time,
                    slot,
                    seq,
                    outcome,
                })
            }
        }
    }

    /// Takes the calls of `service` that arrive before `until`, in arrival order; later
    /// ones stay in the inbox.
    pub fn take_arrivals(&mut self, service: usize, until: f64, into: &mut Vec<Call>) {
        let inbox = &mut self.inbox[service];
        into.clear();
        inbox.retain(|call| {
            if call.arrival < until {
                into.push(*call);
                false
            } else {
                true
            }
        });
        into.sort_by(|a, b| a.arrival.total_cmp(&b.arrival));
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
    pub fn slots(&self) -> impl Iterator<Item = (u32, &T)> {
        self.items
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.as_ref().map(|v| (i as u32, v)))
    }

    pub fn clear(&mut self) {
        self.items.clear();
        self.free.clear();
        self.len = 0;
    }
}
