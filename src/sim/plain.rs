//! The same tick as the ECS systems, over plain vectors: the baseline that measures what the
//! ECS costs (see `benches/sim_throughput.rs`), and a second implementation whose results
//! must match the ECS run bit for bit. It runs the fleet without faults.

use super::conditions::Conditions;
use super::events::Events;
use super::instance::InstanceState;
use super::metrics::{ServiceMetrics, SourceMetrics, Tallies};
use super::source::SourceState;
use super::step::{self, Tick};
use super::topology::Topology;

pub struct PlainFleet {
    pub topology: Topology,
    pub instances: Vec<InstanceState>,
    pub sources: Vec<SourceState>,
    pub service_metrics: Vec<ServiceMetrics>,
    pub source_metrics: Vec<SourceMetrics>,
    conditions: Conditions,
    events: Events,
    tallies: Tallies,
    cursors: Vec<usize>,
    tick: u64,
}

impl PlainFleet {
    pub fn new(topology: Topology) -> Self {
        Self {
            instances: (0..topology.total_instances)
                .map(|g| step::new_instance(&topology, g))
                .collect(),
            sources: (0..topology.sources.len())
                .map(|i| step::new_source(&topology, i))
                .collect(),
            service_metrics: topology
                .services
                .iter()
                .map(|s| ServiceMetrics::new(s.cores))
                .collect(),
            source_metrics: topology
                .sources
                .iter()
                .map(|_| SourceMetrics::default())
                .collect(),
            conditions: Conditions::normal(&topology),
            events: Events::new(topology.tick),
            tallies: Tallies {
                services: vec![Default::default(); topology.services.len()],
                sources: vec![Default::default(); topology.sources.len()],
                logs: super::logs::Logs::new(topology.services.len()),
                traces: Default::default(),
                gauges: Vec::new(),
            },
            cursors: vec![0; topology.services.len()],
            tick: 0,
            topology,
        }
    }

    /// One tick, in the order of [`super::SimSet`].
    pub fn step(&mut self) {
        let tick = Tick {
            index: self.tick,
            t0: self.tick as f64 * self.topology.tick,
            t1: (self.tick + 1) as f64 * self.topology.tick,
        };
        let (t, c) = (&self.topology, &self.conditions);
        step::generate_traffic(
            t,
            c,
            &mut self.sources,
            &mut self.events,
            &mut self.tallies,
            tick,
        );
        step::run_health_checks(t, c, &mut self.instances, &mut self.tallies.logs, tick);
        step::run_events(
            (t, c),
            &mut self.instances,
            &mut self.sources,
            &mut self.cursors,
            &mut self.events,
            &mut self.tallies,
            tick,
        );
        step::end_tick(
            t,
            c,
            &mut self.instances,
            &mut self.events,
            &mut self.tallies,
            tick,
        );
        for (s, metrics) in self.service_metrics.iter_mut().enumerate() {
            step::record_service(metrics, &mut self.tallies, s, tick);
        }
        for (i, metrics) in self.source_metrics.iter_mut().enumerate() {
            step::record_source(metrics, &mut self.tallies, i, tick);
        }
        self.tick += 1;
    }

    pub fn run_ticks(&mut self, ticks: u64) {
        for _ in 0..ticks {
            self.step();
        }
    }
}
