//! The same tick as the ECS systems, over plain vectors: the baseline that measures what the
//! ECS costs (see `benches/sim_throughput.rs`), and a second implementation whose results
//! must match the ECS run bit for bit. It runs the fleet without faults.

use super::awake::Awake;
use super::conditions::Conditions;
use super::events::Events;
use super::metrics::{ServiceMetrics, SourceMetrics, Tallies};
use super::source::SourceState;
use super::step::{self, PlainInstances, Tick};
use super::topology::Topology;

pub struct PlainFleet {
    pub topology: Topology,
    pub instances: PlainInstances,
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
            instances: PlainInstances {
                states: (0..topology.total_instances)
                    .map(|g| step::new_instance(&topology, g))
                    .collect(),
                awake: Awake::new(topology.total_instances),
            },
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::load_str;

    /// Most instances of a quiet fleet sleep through the end of a tick, and the run is the
    /// one that looks at every instance every tick, bit for bit: gauges, CPU, every row.
    #[test]
    fn asleep_instances_are_not_visited_and_the_run_is_unchanged() {
        let text = r#"(name: "quiet", seed: 3, duration: "1m",
            services: [
                (name: "front", instances: 4, workers: 4,
                 service_time: LogNormal(median: "5ms", p99: "40ms"),
                 memory: (base_mb: 256.0, per_request_mb: 4.0, limit_mb: 4096.0),
                 calls: [(to: "back", timeout: "2s", retries: 1)]),
                // Requests that span ticks with no event: their CPU is charged tick by tick.
                (name: "back", instances: 40, workers: 2,
                 service_time: Exponential(mean: "300ms"),
                 memory: (base_mb: 128.0, per_request_mb: 8.0)),
            ],
            traffic: [(to: "front", rate: 40.0)])"#;
        let topology = Topology::compile(&load_str("quiet.ron", text).expect("valid").scenario);
        let total = topology.total_instances;
        let mut lazy = PlainFleet::new(topology.clone());
        let mut eager = PlainFleet::new(topology);
        let (mut asleep, mut queued) = (0, 0);
        for _ in 0..1200 {
            (0..total).for_each(|g| eager.instances.awake.wake(g));
            eager.step();
            lazy.step();
            for (s, gauges) in lazy.tallies.gauges.iter().enumerate() {
                let looked_at_all = eager.tallies.gauges[s];
                assert_eq!(format!("{gauges:?}"), format!("{looked_at_all:?}"));
                queued += usize::from(gauges.queue_age_s > 0.0);
            }
            asleep += (0..total)
                .filter(|&g| !lazy.instances.awake.is_awake(g))
                .count();
        }
        for (lazy, eager) in lazy.service_metrics.iter().zip(&eager.service_metrics) {
            assert_eq!(lazy.seconds.rows(), eager.seconds.rows());
        }
        assert!(queued > 10, "requests queued at some ticks: {queued}");
        let visited = 1.0 - asleep as f64 / f64::from(1200 * total);
        // Requests hold about a third of the instances at any tick; the rest sleep.
        assert!(visited < 0.5, "{:.0}% visited", visited * 100.0);
    }
}
