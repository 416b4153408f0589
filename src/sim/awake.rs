//! Which instances the per-tick work must look at. A large fleet is mostly idle between its
//! events, and an idle instance should cost nothing per tick: the end of a tick and the
//! health checks visit only instances that were changed since the last end of a tick, that
//! were not settled then, or that are due a probe or a routine log line; the gauges of the
//! others are read off what they were when last visited.

use bevy::prelude::Resource;

use super::instance::InstanceState;

/// What an instance adds to its service's gauges, as of the end of a tick.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GaugeView {
    pub provisioned: bool,
    pub takes_traffic: bool,
    pub memory_mb: f64,
    pub disk_used_mb: f64,
    pub queue: usize,
    pub queue_age_s: f64,
    pub replication_lag_s: f64,
    pub in_flight: usize,
}

impl GaugeView {
    pub fn of(state: &InstanceState, now: f64) -> Self {
        Self {
            provisioned: state.provisioned,
            takes_traffic: state.takes_traffic(),
            memory_mb: state.memory_mb,
            disk_used_mb: state.disk_used_mb,
            queue: state.queue_len(),
            queue_age_s: state.queue_age(now),
            replication_lag_s: state.replica_lag_s,
            in_flight: state.busy(),
        }
    }
}

/// The instances to visit, by global index, and the gauges of those asleep.
///
/// Every change to an instance goes through [`super::step::InstanceStore::instance`], which
/// wakes it; reads that change nothing go through `peek` and leave it asleep.
#[derive(Resource, Clone, Debug)]
pub struct Awake {
    awake: Vec<bool>,
    /// Each asleep instance's gauges, as of its last visit: settled, so nothing in them
    /// moves until it is woken.
    asleep_gauges: Vec<GaugeView>,
}

impl Awake {
    /// A fleet of `total` instances, all awake: the first tick looks at every one.
    pub fn new(total: u32) -> Self {
        Self {
            awake: vec![true; total as usize],
            asleep_gauges: vec![GaugeView::default(); total as usize],
        }
    }

    pub fn wake(&mut self, global: u32) {
        self.awake[global as usize] = true;
    }

    pub fn is_awake(&self, global: u32) -> bool {
        self.awake[global as usize]
    }

    /// After a visit at the end of a tick: the instance sleeps if `settled` (its next end of
    /// a tick would change nothing unless something wakes it), with `gauges` as they stand.
    pub fn visited(&mut self, global: u32, settled: bool, gauges: GaugeView) {
        self.awake[global as usize] = !settled;
        self.asleep_gauges[global as usize] = gauges;
    }

    /// The gauges of an asleep instance, as of its last visit.
    pub fn asleep_gauges(&self, global: u32) -> GaugeView {
        self.asleep_gauges[global as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_start_awake_and_sleep_only_when_settled() {
        let mut awake = Awake::new(3);
        assert!((0..3).all(|g| awake.is_awake(g)));
        let gauges = GaugeView {
            provisioned: true,
            memory_mb: 512.0,
            ..GaugeView::default()
        };
        awake.visited(0, true, gauges);
        awake.visited(1, false, gauges);
        assert!(!awake.is_awake(0));
        assert!(awake.is_awake(1));
        assert_eq!(awake.asleep_gauges(0), gauges);
        awake.wake(0);
        assert!(awake.is_awake(0));
    }
}
