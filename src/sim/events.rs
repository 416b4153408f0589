//! What happens in the fleet, as timestamped events in one queue.
//!
//! Within a tick, events are handled in time order across the whole fleet, so a caller
//! learns of a reply at the instant it is sent and latency is exact far below the tick. The
//! tick only paces the world around the events: traffic generation, health checks, metrics.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

use bevy::prelude::Resource;

use super::traces::TraceContext;

/// A request on its way to a service.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Call {
    /// When it reached the service.
    pub arrival: f64,
    pub reply: ReplyTo,
    pub trace: TraceContext,
    /// The user request's key, carried along every hop (a hot key fails every time).
    pub key: u32,
    /// It writes: it goes to the callee's primary.
    pub write: bool,
}

/// Whether the call of request `key` on an edge where `writes` of calls write is a write:
/// decided by the key, so a request's retries write too, with no random draw.
pub fn is_write(key: u32, writes: f64) -> bool {
    // Mixed so that writes and hot keys (the lowest keys) are independent.
    let mixed = key.wrapping_mul(0x9E37_79B9).rotate_left(13);
    writes > 0.0 && f64::from(mixed) < writes * f64::from(u32::MAX)
}

/// Where an answer goes: a calling instance's job, or a traffic source's request.
/// `seq` tells a current call from an abandoned one that reused the slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyTo {
    Instance {
        instance: u32,
        slot: u32,
        seq: u32,
    },
    Source {
        source: u32,
        slot: u32,
        seq: u32,
    },
    /// A queue's delivery: nobody waits for the answer.
    Nobody,
}

/// Why a call was refused without being served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The instance is down: connection refused.
    Down,
    /// The instance's queue is full: 503.
    QueueFull,
    /// Admission control shed it: 429.
    Shed,
    /// Over the callee's quota: 429 with `Retry-After`.
    RateLimited,
    /// The callee's certificate has expired: the handshake fails.
    Tls,
    /// The callee's name does not resolve.
    Dns,
    /// The caller's circuit breaker is open: the call was never sent.
    CircuitOpen,
}

/// How a call ended, from the callee's side (timeouts are the caller's decision).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    ServerError,
    /// Refused without being served.
    Rejected(Refusal),
}

/// Why a caller saw a call fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    Timeout,
    ServerError,
    Rejected(Refusal),
}

impl From<Outcome> for Failure {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Rejected(why) => Self::Rejected(why),
            _ => Self::ServerError,
        }
    }
}

/// A request whose own work ends without downstream calls.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Completion {
    /// The instance's incarnation when the work began: a crash voids it.
    pub incarnation: u32,
    /// Tells this completion apart from others of the instance, so one can be undone.
    pub ticket: u32,
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
    /// A traffic source sends its next first try of the tick.
    Emit { source: u32 },
    /// The next request sharing one of an instance's resources may be done; `generation`
    /// voids wake-ups that later arrivals or departures have moved.
    Shared {
        instance: u32,
        resource: SharedResource,
        generation: u32,
    },
}

/// The shared resources a request's own work can progress on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SharedResource {
    /// The instance's cores, in the request's CPU phase.
    Cores,
    /// A contended resource (`slowdown_per_request`), in its waiting phase.
    Contended,
}

/// An event (or a timeout's answer) with when it is due, as it waits in a bucket or the far
/// heap.
#[derive(Clone, Copy, Debug)]
struct Scheduled<T> {
    time: f64,
    /// Ties in time keep the order events were scheduled in: runs are reproducible.
    order: u64,
    what: T,
}

impl<T> PartialEq for Scheduled<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<T> Eq for Scheduled<T> {}

impl<T> PartialOrd for Scheduled<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Scheduled<T> {
    /// Reversed, so the max-heap pops the earliest event.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .time
            .total_cmp(&self.time)
            .then(other.order.cmp(&self.order))
    }
}

/// The events of one later tick. Timeouts, one per call and most of them moot by their
/// tick (the call was answered), wait apart in 32 bytes each rather than as 72-byte events.
#[derive(Clone, Debug, Default)]
struct Bucket {
    events: Vec<Scheduled<Event>>,
    timeouts: Vec<Scheduled<ReplyTo>>,
    /// How many timeouts the last sweep of answered ones left (blocks only).
    kept: usize,
}

impl Bucket {
    fn len(&self) -> usize {
        self.events.len() + self.timeouts.len()
    }
}

impl Bucket {
    /// Files an event in the bucket (a timeout in its compact form).
    fn push(&mut self, scheduled: Scheduled<Event>) {
        match scheduled.what {
            Event::Timeout { to } => self.timeouts.push(Scheduled {
                time: scheduled.time,
                order: scheduled.order,
                what: to,
            }),
            _ => self.events.push(scheduled),
        }
    }
}

/// How many ticks ahead events wait in per-tick buckets, and how many ticks a block of the
/// next level spans.
const BUCKETED_TICKS: u64 = 4096;
/// How many blocks of [`BUCKETED_TICKS`] ticks ahead events wait in per-block buckets (about
/// 19 days of 100 ms ticks); farther ones wait in one heap, so a far-future event (a timeout
/// of a year) allocates nothing per tick or block.
const BLOCKS: u64 = 4096;
/// The fewest timeouts a block gathers before a sweep of the answered ones.
const SWEEP_MIN: usize = 1024;

/// The fleet's pending events, earliest first.
///
/// Only events due in the open tick sit in the heap; later ones (timeouts, delayed retries,
/// long requests) wait in per-tick buckets up to [`BUCKETED_TICKS`] ahead, then in buckets
/// of a block of ticks each up to [`BLOCKS`] blocks ahead, and in a far heap beyond (a
/// two-level timer wheel). A block's events move to the per-tick buckets when the block
/// comes within their reach, and an event joins the heap when its tick opens. Each event is
/// filed a bounded number of times, the heap stays small, and the order of events is the
/// same as with one big heap. An event at a time that is not finite never comes due.
#[derive(Clone, Resource, Debug)]
pub struct Events {
    /// Events at the very instant being handled (a reply, the call it sets off): they are
    /// next in time order, so they skip the heap.
    now_queue: VecDeque<Event>,
    now: f64,
    heap: TickHeap,
    /// `later[k]` holds the events of tick `open_tick + 1 + k`.
    later: VecDeque<Bucket>,
    /// `blocks[k]` holds the events of the ticks of block `first_block() + k`, block `b`
    /// being ticks `b * BUCKETED_TICKS ..= b * BUCKETED_TICKS + BUCKETED_TICKS - 1`.
    blocks: VecDeque<Bucket>,
    /// Buckets emptied when their tick opened, kept for ticks to come: their memory is
    /// warm, and no tick allocates.
    spare: Vec<Bucket>,
    /// The block an event was last filed in (`u64::MAX`: none yet).
    last_block: u64,
    /// Events beyond the blocks, earliest first.
    far: BinaryHeap<Scheduled<Event>>,
    open_tick: u64,
    /// The earliest time after the open tick (`end_of_tick`): an event before it is due.
    open_tick_end: f64,
    dt: f64,
    next_order: u64,
    handled: u64,
    /// Calls recalled before they were due to arrive, by the answer they would have asked for.
    recalled: Vec<ReplyTo>,
}

impl Events {
    pub fn new(dt: f64) -> Self {
        let mut events = Self {
            now_queue: VecDeque::new(),
            now: f64::NEG_INFINITY,
            heap: TickHeap::default(),
            later: VecDeque::new(),
            blocks: VecDeque::new(),
            last_block: u64::MAX,
            spare: Vec::new(),
            far: BinaryHeap::new(),
            open_tick: 0,
            open_tick_end: 0.0,
            dt,
            next_order: 0,
            handled: 0,
            recalled: Vec::new(),
        };
        events.open_tick_end = events.end_of_tick(0);
        events
    }

    /// Opens tick `tick`: its bucketed events join the heap, except timeouts for which
    /// `still_waiting` says the call was answered already (most calls are, long before their
    /// deadline; dropping them here keeps them out of the heap).
    pub fn open(&mut self, tick: u64, mut still_waiting: impl FnMut(ReplyTo) -> bool) {
        if self.open_tick < tick {
            self.open_tick_end = self.end_of_tick(tick);
        }
        while self.open_tick < tick {
            self.open_tick += 1;
            if let Some(bucket) = self.later.pop_front() {
                self.unload(bucket, &mut still_waiting, Self::push_due);
            }
            // The next block's ticks are now all within the per-tick buckets' reach: its
            // events move there.
            if (self.open_tick + 1).is_multiple_of(BUCKETED_TICKS)
                && let Some(block) = self.blocks.pop_front()
            {
                self.unload(block, &mut still_waiting, Self::bucket);
            }
        }
        // The block being filled gathers the timeouts of every call made for a while (an
        // hour's timeouts, say), and most are answered long before: sweeping those out as it
        // fills keeps it small. Each sweep waits for twice what the last one kept, so a
        // timeout is looked at a few times at most.
        let first_block = self.first_block();
        if let Some(k) = self.last_block.checked_sub(first_block)
            && let Some(block) = self.blocks.get_mut(k as usize)
            && block.timeouts.len() >= 2 * block.kept + SWEEP_MIN
        {
            block.timeouts.retain(|timeout| still_waiting(timeout.what));
            block.kept = block.timeouts.len();
        }
        // Far events now within the blocks' reach move into them.
        while let Some(next) = self.far.peek()
            && self.tick_of(next.time) <= self.open_tick + BUCKETED_TICKS * BLOCKS
        {
            let scheduled = self.far.pop().expect("peeked");
            self.bucket(scheduled);
        }
    }

    /// Hands a bucket's events to `file`, less the timeouts of calls answered already, and
    /// keeps the emptied bucket for reuse.
    fn unload(
        &mut self,
        mut bucket: Bucket,
        still_waiting: &mut impl FnMut(ReplyTo) -> bool,
        mut file: impl FnMut(&mut Self, Scheduled<Event>),
    ) {
        for scheduled in bucket.events.drain(..) {
            file(self, scheduled);
        }
        for Scheduled { time, order, what } in bucket.timeouts.drain(..) {
            if still_waiting(what) {
                let to = Event::Timeout { to: what };
                file(
                    self,
                    Scheduled {
                        time,
                        order,
                        what: to,
                    },
                );
            }
        }
        bucket.kept = 0;
        self.spare.push(bucket);
    }

    /// The first block whose events still wait in `blocks`: the one after the block that
    /// holds tick `open_tick + 1`.
    fn first_block(&self) -> u64 {
        (self.open_tick + 1) / BUCKETED_TICKS + 1
    }

    /// The tick an event falls in; a time that is not finite falls in none.
    fn tick_of(&self, time: f64) -> u64 {
        if time.is_finite() {
            // Simulated times are never negative, so truncation is the floor.
            (time / self.dt) as u64
        } else {
            u64::MAX
        }
    }

    /// The earliest time that `tick_of` puts after tick `tick`, so that every time from zero
    /// up to it falls in `tick` or before. Found from `(tick + 1) * dt` by stepping over the
    /// floats on which the division rounds the other way (one or two); zero, which lets no
    /// time through, if that takes more than a few steps.
    fn end_of_tick(&self, tick: u64) -> f64 {
        let after = |time: f64| self.tick_of(time) > tick;
        let mut end = tick.saturating_add(1) as f64 * self.dt;
        for _ in 0..8 {
            if !after(end) {
                end = end.next_up();
            } else if after(end.next_down()) {
                end = end.next_down();
            } else {
                return end;
            }
        }
        0.0
    }

    /// Files an event: the open tick's heap, a tick's bucket, a block's, or the far heap.
    fn bucket(&mut self, scheduled: Scheduled<Event>) {
        // Most events fall in the open tick: a comparison finds them, not a division.
        if (0.0..self.open_tick_end).contains(&scheduled.time) {
            self.push_due(scheduled);
            return;
        }
        let tick = self.tick_of(scheduled.time);
        if tick <= self.open_tick {
            self.push_due(scheduled);
        } else if tick - self.open_tick <= BUCKETED_TICKS {
            let k = tick - self.open_tick - 1;
            bucket_at(&mut self.later, &mut self.spare, k).push(scheduled);
        } else {
            // Beyond the per-tick buckets, so in a block that has not moved to them yet.
            let block = tick / BUCKETED_TICKS;
            let k = block - self.first_block();
            if k < BLOCKS {
                self.last_block = block;
                bucket_at(&mut self.blocks, &mut self.spare, k).push(scheduled);
            } else {
                self.far.push(scheduled);
            }
        }
    }

    /// Puts an event of the open tick in the heap.
    fn push_due(&mut self, Scheduled { time, order, what }: Scheduled<Event>) {
        self.heap.push(time, order, what);
    }

    pub fn schedule(&mut self, time: f64, event: Event) {
        if time == self.now {
            self.now_queue.push_back(event);
            return;
        }
        let order = self.next_order;
        self.next_order += 1;
        self.bucket(Scheduled {
            time,
            order,
            what: event,
        });
    }

    /// The next event at the instant being handled, if any.
    pub fn pop_now(&mut self) -> Option<Event> {
        let event = self.now_queue.pop_front()?;
        self.handled += 1;
        Some(event)
    }

    /// The instant being handled.
    pub fn now(&self) -> f64 {
        self.now
    }

    /// The earliest event strictly before `until`, if any.
    pub fn pop_before(&mut self, until: f64) -> Option<(f64, Event)> {
        if let Some(event) = self.pop_now() {
            return Some((self.now, event));
        }
        let (time, event) = self.heap.pop_before(until)?;
        self.now = time;
        // A source's turn to send is bookkeeping: the arrival it sends is the event.
        if !matches!(event, Event::Emit { .. }) {
            self.handled += 1;
        }
        Some((time, event))
    }

    /// Events of the model (arrivals, completions, answers, timeouts, wake-ups) handled
    /// since the start of the run.
    pub fn handled(&self) -> u64 {
        self.handled
    }

    /// Pending events, in the open tick and later.
    pub fn len(&self) -> usize {
        self.now_queue.len()
            + self.heap.len()
            + self.later.iter().map(Bucket::len).sum::<usize>()
            + self.blocks.iter().map(Bucket::len).sum::<usize>()
            + self.far.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes back a call sent ahead of time that must not arrive after all (its caller's
    /// cores saturated before it was due to leave); it is dropped when it would arrive.
    pub fn recall(&mut self, reply: ReplyTo) {
        self.recalled.push(reply);
    }

    /// Whether the call answering to `reply` was recalled (once: the entry is used up).
    pub fn take_recalled(&mut self, reply: ReplyTo) -> bool {
        if self.recalled.is_empty() {
            return false;
        }
        match self.recalled.iter().position(|r| *r == reply) {
            Some(k) => {
                self.recalled.swap_remove(k);
                true
            }
            None => false,
        }
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
        if to != ReplyTo::Nobody {
            self.schedule(time, Event::Reply { to, outcome });
        }
    }
}

/// The open tick's events, earliest first. A tick holds a few dozen at once: they are kept
/// as a sorted array, latest first, so the earliest is taken off the end and an event is
/// placed by moving up the entries due before it (an insertion sort's step). Past
/// [`TickHeap::SORTED_MAX`] entries (a large fleet's tick) moving them would cost more than
/// a heap does: the array, reversed, is a 4-ary min-heap (a sorted array is one), and stays
/// one until it empties; one that held far more stays a heap for the next tick, which will
/// too. Half as deep as a binary heap; each entry is 24 bytes, its event waiting in a slab
/// beside, and an entry in hand is held while its place is found rather than written and
/// read back.
#[derive(Clone, Debug, Default)]
struct TickHeap {
    entries: Vec<HeapEntry>,
    /// The entries' events, by `HeapEntry::slot`: apart, so that placing an entry moves 24
    /// bytes rather than a 64-byte entry with its event.
    events: Vec<Event>,
    /// Slots of `events` whose entry has been taken.
    free: Vec<u32>,
    /// The entries are a heap (earliest first), not a sorted array (latest first).
    heap: bool,
    /// The most entries the heap has held since it last emptied.
    peak: usize,
}

#[derive(Clone, Copy, Debug)]
struct HeapEntry {
    /// The time as an integer that sorts as it does: `time_key`.
    time: u64,
    order: u64,
    slot: u32,
}

// Placing an entry moves this much: the point of keeping events apart.
const _: () = assert!(size_of::<HeapEntry>() == 24);

impl HeapEntry {
    /// (time, order) as one integer that sorts as they do.
    fn key(&self) -> u128 {
        (u128::from(self.time) << 64) | u128::from(self.order)
    }
}

/// A time as an integer in `f64::total_cmp`'s order.
fn time_key(time: f64) -> u64 {
    let bits = time.to_bits();
    // total_cmp's map to a signed integer, then offset to unsigned.
    (bits ^ (((bits as i64 >> 63) as u64) >> 1)) ^ (1 << 63)
}

/// The time of a `time_key` (the map is its own inverse).
fn key_time(key: u64) -> f64 {
    let signed = key ^ (1 << 63);
    f64::from_bits(signed ^ (((signed as i64 >> 63) as u64) >> 1))
}

impl TickHeap {
    const ARITY: usize = 4;
    /// The most entries kept sorted: beyond, a heap's few levels beat moving entries.
    const SORTED_MAX: usize = 128;
    /// A heap that held more than this stays one when it empties: sorting the first
    /// [`Self::SORTED_MAX`] of the next tick again would move thousands of entries a tick.
    const HEAP_AFTER: usize = 4 * Self::SORTED_MAX;

    fn len(&self) -> usize {
        self.entries.len()
    }

    fn push(&mut self, time: f64, order: u64, event: Event) {
        let slot = match self.free.pop() {
            Some(slot) => {
                self.events[slot as usize] = event;
                slot
            }
            None => {
                self.events.push(event);
                (self.events.len() - 1) as u32
            }
        };
        let entry = HeapEntry {
            time: time_key(time),
            order,
            slot,
        };
        let key = entry.key();
        if !self.heap {
            if self.entries.len() < Self::SORTED_MAX {
                // The entries due before it move up one, from the earliest: one
                // mispredicted branch where it stops, rather than a search and a move.
                let mut hole = self.entries.len();
                self.entries.push(entry);
                while hole > 0 && self.entries[hole - 1].key() < key {
                    self.entries[hole] = self.entries[hole - 1];
                    hole -= 1;
                }
                self.entries[hole] = entry;
                return;
            }
            self.entries.reverse();
            self.heap = true;
        }
        let mut hole = self.entries.len();
        self.entries.push(entry);
        self.peak = self.peak.max(self.entries.len());
        while hole > 0 {
            let parent = (hole - 1) / Self::ARITY;
            if self.entries[parent].key() <= key {
                break;
            }
            self.entries[hole] = self.entries[parent];
            hole = parent;
        }
        self.entries[hole] = entry;
    }

    /// The earliest event, with its time, if it is due strictly before `until`.
    fn pop_before(&mut self, until: f64) -> Option<(f64, Event)> {
        let until = time_key(until);
        let first = if !self.heap {
            let last = self.entries.last()?;
            if last.time >= until {
                return None;
            }
            self.entries.pop().expect("not empty")
        } else {
            let first = *self.entries.first()?;
            if first.time >= until {
                return None;
            }
            self.sift_last_down();
            first
        };
        let event = self.events[first.slot as usize];
        if self.entries.is_empty() {
            // Every slot is free again: start from the first.
            self.events.clear();
            self.free.clear();
        } else {
            self.free.push(first.slot);
        }
        Some((key_time(first.time), event))
    }

    /// Takes the root out of the heap: the last entry sinks from the root to its place.
    fn sift_last_down(&mut self) {
        let last = self.entries.pop().expect("not empty");
        let len = self.entries.len();
        if len == 0 {
            self.heap = self.peak > Self::HEAP_AFTER;
            self.peak = 0;
            return;
        }
        let key = last.key();
        let entries = &mut self.entries[..];
        let mut hole = 0;
        loop {
            let first_child = hole * Self::ARITY + 1;
            if first_child >= len {
                break;
            }
            let children = &entries[first_child..(first_child + Self::ARITY).min(len)];
            let mut least = 0;
            for (k, child) in children.iter().enumerate().skip(1) {
                if child.key() < children[least].key() {
                    least = k;
                }
            }
            if children[least].key() >= key {
                break;
            }
            entries[hole] = children[least];
            hole = first_child + least;
        }
        entries[hole] = last;
    }
}

/// Bucket `k` of `buckets`, adding buckets (spare ones first) up to it.
fn bucket_at<'a>(
    buckets: &'a mut VecDeque<Bucket>,
    spare: &mut Vec<Bucket>,
    k: u64,
) -> &'a mut Bucket {
    let k = k as usize;
    if buckets.len() <= k {
        buckets.resize_with(k + 1, || spare.pop().unwrap_or_default());
    }
    &mut buckets[k]
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

    pub fn get(&self, slot: u32) -> Option<&T> {
        self.items.get(slot as usize)?.as_ref()
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
    use crate::sim::random::uniform;

    impl Event {
        fn reply_to(self) -> Option<ReplyTo> {
            match self {
                Event::Timeout { to } => Some(to),
                _ => None,
            }
        }
    }

    /// A caller's deadline, told apart by its slot.
    fn timeout(slot: u32) -> Event {
        Event::Timeout {
            to: ReplyTo::Source {
                source: 0,
                slot,
                seq: 0,
            },
        }
    }

    #[test]
    fn earliest_first_and_ties_in_scheduling_order() {
        let mut events = Events::new(10.0);
        events.schedule(2.0, timeout(0));
        events.schedule(1.0, timeout(1));
        events.schedule(1.0, timeout(2));
        events.schedule(5.0, timeout(3));
        let mut popped = Vec::new();
        while let Some((t, e)) = events.pop_before(3.0) {
            popped.push((t, e));
        }
        assert_eq!(
            popped,
            vec![(1.0, timeout(1)), (1.0, timeout(2)), (2.0, timeout(0))]
        );
        assert_eq!(events.len(), 1);
    }

    #[test]
    fn later_ticks_wait_in_buckets_and_keep_their_order() {
        let mut events = Events::new(0.1);
        events.schedule(0.35, timeout(0));
        events.schedule(0.05, timeout(1));
        events.schedule(0.31, timeout(2));
        events.schedule(0.31, timeout(3));
        assert_eq!(events.len(), 4);
        assert_eq!(events.pop_before(0.1), Some((0.05, timeout(1))));
        assert_eq!(events.pop_before(0.3), None, "tick 3 is not open yet");
        events.open(3, |_| true);
        let mut popped = Vec::new();
        while let Some(e) = events.pop_before(0.4) {
            popped.push(e);
        }
        assert_eq!(
            popped,
            vec![(0.31, timeout(2)), (0.31, timeout(3)), (0.35, timeout(0))]
        );
        assert!(events.is_empty());
    }

    #[test]
    fn far_future_events_allocate_nothing_per_tick_and_keep_their_order() {
        let mut events = Events::new(0.1);
        // A day, a year and never: no bucket per tick up to them.
        events.schedule(86_400.0, timeout(0));
        events.schedule(1e300, timeout(1));
        events.schedule(f64::INFINITY, timeout(2));
        events.schedule(f64::NAN, timeout(3));
        events.schedule(86_400.0, timeout(4));
        events.schedule(0.25, timeout(5));
        assert!(events.later.len() <= 3, "{} buckets", events.later.len());
        let day_blocks = 864_000 / BUCKETED_TICKS as usize;
        assert!(
            events.blocks.len() <= day_blocks,
            "{} blocks",
            events.blocks.len()
        );
        assert_eq!(events.len(), 6);
        // A day later, the day's events come due in scheduling order; the rest never do.
        events.open(2, |_| true);
        assert_eq!(events.pop_before(0.3), Some((0.25, timeout(5))));
        events.open(864_000, |_| true);
        let mut popped = Vec::new();
        while let Some(e) = events.pop_before(86_400.1) {
            popped.push(e);
        }
        assert_eq!(popped, vec![(86_400.0, timeout(0)), (86_400.0, timeout(4))]);
        assert_eq!(events.len(), 3);
        assert!(events.later.len() <= BUCKETED_TICKS as usize);
    }

    /// The shortcut that files an event in the open tick by comparison must agree with the
    /// division on every float, including those where `(tick + 1) * dt` rounds the wrong way.
    #[test]
    fn a_tick_ends_exactly_where_the_division_says() {
        let mut tried = 0;
        for dt in [0.1, 0.05, 0.01, 1.0 / 3.0, 0.25, 0.001, 7.3, 1e-4] {
            let events = Events::new(dt);
            let ticks = (0..2_000).chain([123_456, 9_999_999, 86_400_000, 1 << 40]);
            for tick in ticks {
                let end = events.end_of_tick(tick);
                assert!(end > 0.0, "no shortcut for tick {tick} at dt {dt}");
                assert!(events.tick_of(end) > tick, "{end} is not after tick {tick}");
                assert!(
                    events.tick_of(end.next_down()) <= tick,
                    "{} is in tick {tick} at dt {dt}, but the shortcut misses it",
                    end.next_down()
                );
                tried += 1;
            }
        }
        assert!(tried > 16_000);
    }

    /// Events filed by the shortcut and by the division come out in the same order.
    #[test]
    fn events_near_a_tick_boundary_are_due_in_the_right_tick() {
        let dt = 0.1;
        let mut events = Events::new(dt);
        events.open(3, |_| true);
        let end = events.end_of_tick(3);
        let around = [end.next_down(), end, end.next_up(), 0.3, 0.4f64.next_down()];
        for (k, &time) in around.iter().enumerate() {
            events.schedule(time, timeout(k as u32));
        }
        let mut due = Vec::new();
        while let Some((time, _)) = events.pop_before(f64::INFINITY) {
            due.push(time);
        }
        let mut expected: Vec<f64> = around
            .iter()
            .copied()
            .filter(|&t| events.tick_of(t) <= 3)
            .collect();
        expected.sort_by(f64::total_cmp);
        assert_eq!(due, expected);
        assert!(
            due.len() < around.len(),
            "the later ones wait for their tick"
        );
    }

    #[test]
    fn heap_keys_sort_as_time_then_order() {
        let times = [
            0.0,
            -0.0,
            1e-300,
            0.1,
            0.1 + 1e-17,
            1.0,
            1e300,
            f64::INFINITY,
        ];
        for &a in &times {
            for &b in &times {
                for (oa, ob) in [(1, 2), (2, 1), (5, 5)] {
                    let expected = a.total_cmp(&b).then(oa.cmp(&ob));
                    let key = |time, order| {
                        let entry = HeapEntry {
                            time: time_key(time),
                            order,
                            slot: 3,
                        };
                        entry.key()
                    };
                    assert_eq!(key(a, oa).cmp(&key(b, ob)), expected, "{a} {b}");
                }
                assert_eq!(key_time(time_key(a)).to_bits(), a.to_bits());
            }
        }
    }

    /// The open tick's events pop in (time, order), whatever the order of pushes and pops,
    /// kept sorted or as a heap.
    #[test]
    fn the_tick_heap_pops_earliest_first() {
        // A few at a time: always sorted.
        let (pushed, largest, back_to_sorted) = push_and_pop_at_random(6.0);
        assert!(pushed > 4_000);
        assert!(largest < TickHeap::SORTED_MAX, "{largest} waiting at once");
        assert_eq!(back_to_sorted, 0);
        // A few hundred: a heap past `SORTED_MAX`, sorted again once it empties.
        let (_, largest, back_to_sorted) = push_and_pop_at_random(60.0);
        assert!(largest > TickHeap::SORTED_MAX, "at most {largest} waiting");
        assert!(
            back_to_sorted > 100,
            "{back_to_sorted} times back to sorted"
        );
        // Thousands: a heap that stays one, tick after tick.
        let (_, largest, back_to_sorted) = push_and_pop_at_random(400.0);
        assert!(largest > TickHeap::HEAP_AFTER, "at most {largest} waiting");
        assert_eq!(back_to_sorted, 0);
    }

    /// Pushes up to `burst` events a round and pops those due (every tenth round, all of
    /// them), checking each against a sorted list; how many were pushed, the most that
    /// waited at once, and how many times a heap emptied back into a sorted array.
    fn push_and_pop_at_random(burst: f64) -> (u64, usize, u32) {
        let mut rng = crate::sim::random::stream(5, 2);
        let mut heap = TickHeap::default();
        let mut pending = Vec::new();
        let mut order = 0;
        let mut largest = 0;
        let mut back_to_sorted = 0;
        for round in 0..2_000 {
            for _ in 0..(uniform(&mut rng) * burst) as usize {
                // Few distinct times, so ties are common.
                let time = (uniform(&mut rng) * 50.0).floor() / 10.0 + f64::from(round) / 10.0;
                heap.push(
                    time,
                    order,
                    Event::Emit {
                        source: order as u32,
                    },
                );
                pending.push((time, order));
                order += 1;
            }
            largest = largest.max(heap.len());
            pending.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let until = if round % 10 == 9 {
                f64::INFINITY
            } else {
                f64::from(round) / 10.0 + 0.25
            };
            let was_heap = heap.heap;
            while let Some((time, event)) = heap.pop_before(until) {
                let (t, o) = pending.remove(0);
                assert_eq!((time, event), (t, Event::Emit { source: o as u32 }));
            }
            back_to_sorted += u32::from(was_heap && !heap.heap);
            assert!(pending.first().is_none_or(|&(t, _)| t >= until));
            assert_eq!(heap.len(), pending.len());
        }
        (order, largest, back_to_sorted)
    }

    /// An hour's timeouts of calls answered at once do not pile up: the block they wait in
    /// is swept as it fills, and a call still waiting keeps its timeout.
    #[test]
    fn answered_timeouts_far_ahead_are_swept_out_of_their_block() {
        let dt = 0.1;
        let mut events = Events::new(dt);
        let mut slot = 0;
        for tick in 0..2_000u64 {
            events.open(tick, |to| to == timeout(0).reply_to().expect("a timeout"));
            for _ in 0..50 {
                // Slot 0 is never answered; every other call is.
                events.schedule(tick as f64 * dt + 3_600.0, timeout(slot));
                slot += 1;
            }
        }
        assert!(events.len() < 3 * SWEEP_MIN, "{} pending", events.len());
        events.open(2_000 + 36_000, |to| {
            to == timeout(0).reply_to().expect("a timeout")
        });
        assert_eq!(events.pop_before(3_600.1), Some((3_600.0, timeout(0))));
        assert_eq!(events.pop_before(3_800.0), None);
    }

    /// Events spread over many blocks, with ties in time, opened tick by tick, come out in
    /// the order of one big heap, (time, order of scheduling); answered timeouts are dropped.
    #[test]
    fn events_over_many_blocks_come_due_in_time_then_scheduling_order() {
        let dt = 0.1;
        let mut events = Events::new(dt);
        let mut rng = crate::sim::random::stream(3, 1);
        let mut expected = Vec::new();
        let mut answered = std::collections::BTreeSet::new();
        let mut scheduled = 0u32;
        let mut popped = Vec::new();
        // Twenty blocks of ticks, with events scheduled as time goes by, some 2,000 ticks
        // ahead, some a block or more, some at times shared with earlier ones.
        let horizon = 20 * BUCKETED_TICKS;
        for tick in 0..horizon {
            events.open(tick, |to| match to {
                ReplyTo::Source { slot, .. } => !answered.contains(&slot),
                _ => true,
            });
            while let Some(e) = events.pop_before((tick + 1) as f64 * dt) {
                popped.push(e);
            }
            if tick % 97 == 0 && tick + 6 * BUCKETED_TICKS < horizon {
                for _ in 0..5 {
                    let ahead = (uniform(&mut rng) * 5.0 * BUCKETED_TICKS as f64) as u64 + 1;
                    let time = ((tick + ahead) as f64 + 0.5) * dt;
                    // Ties: every other event is on a whole second, shared with others.
                    let time = if scheduled.is_multiple_of(2) {
                        time
                    } else {
                        time.ceil()
                    };
                    let slot = scheduled;
                    scheduled += 1;
                    events.schedule(time, timeout(slot));
                    if uniform(&mut rng) < 0.3 {
                        answered.insert(slot);
                    } else {
                        expected.push((time, slot));
                    }
                }
            }
        }
        // Stable: ties keep scheduling order, which is slot order.
        expected.sort_by(|a, b| a.0.total_cmp(&b.0));
        let expected: Vec<(f64, Event)> = expected
            .into_iter()
            .map(|(time, slot)| (time, timeout(slot)))
            .collect();
        assert!(expected.len() > 1000, "{}", expected.len());
        assert_eq!(popped, expected);
        assert!(events.is_empty());
    }
}
