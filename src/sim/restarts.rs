//! Restarts and rollouts: instances drained, killed and brought back one by one or all at
//! once, on a new version or not at all. Deploy faults roll versions out through it and
//! remediations restart, roll back and scale in through it, so both share one mechanism.

use std::collections::VecDeque;

use bevy::prelude::*;

use super::conditions::Conditions;
use super::instance::{Effects, Me};
use super::step::InstanceStore;
use super::topology::Topology;

/// How long a restarting instance may take to finish its requests before it is killed.
pub const DRAIN_TIMEOUT: f64 = 10.0;

/// A restart in progress: instances still to restart, and the one(s) being restarted.
#[derive(Clone, Debug)]
struct Restart {
    service: usize,
    waiting: VecDeque<u32>,
    /// Instances draining, with the time they are killed at the latest.
    draining: Vec<(u32, f64)>,
    /// Instances killed, waiting to come back.
    restarting: Vec<u32>,
    one_at_a_time: bool,
    /// The version instances come back on, for a deploy or a rollback.
    to_version: Option<usize>,
    /// The instances are removed instead of coming back (scaling in).
    remove: bool,
}

/// The restarts under way across the fleet, in the order they were started.
#[derive(Resource, Clone, Debug, Default)]
pub struct Restarts(Vec<Restart>);

impl Restarts {
    /// Rolls version `version` of `service` out, restarting its instances one by one.
    pub fn roll_out(&mut self, topology: &Topology, service: usize, version: usize) {
        self.0.push(Restart {
            service,
            waiting: topology.services[service].members().collect(),
            draining: Vec::new(),
            restarting: Vec::new(),
            one_at_a_time: true,
            to_version: Some(version),
            remove: false,
        });
    }

    /// Restarts `members` of `service` on the version they run, one at a time or all at once.
    pub fn restart(&mut self, service: usize, members: Vec<u32>, one_at_a_time: bool) {
        self.0.push(Restart {
            service,
            waiting: members.into(),
            draining: Vec::new(),
            restarting: Vec::new(),
            one_at_a_time,
            to_version: None,
            remove: false,
        });
    }

    /// Drains and removes `leaving` (scaling in), all at once.
    pub fn remove(&mut self, service: usize, leaving: Vec<u32>) {
        self.0.push(Restart {
            service,
            waiting: leaving.into(),
            draining: Vec::new(),
            restarting: Vec::new(),
            one_at_a_time: false,
            to_version: None,
            remove: true,
        });
    }

    /// Cancels the rollouts of `service` still under way (a newer one replaces them).
    pub fn cancel_rollouts(&mut self, service: usize, instances: &mut impl InstanceStore) {
        for rollout in &self.0 {
            if rollout.service == service && rollout.to_version.is_some() {
                for &(global, _) in &rollout.draining {
                    instances.instance(global).draining = false;
                }
            }
        }
        self.0
            .retain(|r| !(r.service == service && r.to_version.is_some()));
    }

    /// Moves every restart on: drains the next instances, kills the drained ones, and
    /// forgets restarts whose instances are all back.
    pub fn progress(
        &mut self,
        topology: &Topology,
        conditions: &Conditions,
        instances: &mut impl InstanceStore,
        fx: &mut Effects,
        now: f64,
    ) {
        for restart in &mut self.0 {
            // Empty slots have nothing to restart; they only learn the version to run.
            restart.waiting.retain(|&g| {
                let state = instances.instance(g);
                if !state.provisioned
                    && let Some(version) = restart.to_version
                {
                    state.version = version;
                }
                state.provisioned
            });
            restart.restarting.retain(|&g| {
                let state = instances.instance(g);
                state.provisioned && !state.up
            });
            let idle = restart.draining.is_empty() && restart.restarting.is_empty();
            if !restart.one_at_a_time || idle {
                let take = if restart.one_at_a_time {
                    1
                } else {
                    restart.waiting.len()
                };
                for global in restart.waiting.drain(..take.min(restart.waiting.len())) {
                    instances.instance(global).draining = true;
                    restart.draining.push((global, now + DRAIN_TIMEOUT));
                }
            }
            let mut still_draining = Vec::new();
            for (global, deadline) in restart.draining.drain(..) {
                let state = instances.instance(global);
                if state.is_idle() || now >= deadline || !state.up {
                    let me = Me {
                        topology,
                        conditions,
                        service: topology.service_of(global),
                        global,
                    };
                    if state.up {
                        state.kill(me, now, super::logs::Down::Restart, fx);
                    }
                    if let Some(version) = restart.to_version {
                        state.version = version;
                    }
                    state.draining = false;
                    if restart.remove {
                        state.vacate();
                    } else {
                        restart.restarting.push(global);
                    }
                } else {
                    still_draining.push((global, deadline));
                }
            }
            restart.draining = still_draining;
        }
        self.0.retain(|r| {
            !(r.waiting.is_empty() && r.draining.is_empty() && r.restarting.is_empty())
        });
    }
}
