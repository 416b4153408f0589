//! The fleet compiled from a validated scenario: names resolved to indices, services in
//! the order one tick must process them (callers before callees).

use crate::scenario::{
    Backoff, Diurnal, LoadBalancer, RetryBudget, Scenario, ServiceKind, Spike, TrafficSpec,
};

use super::random::Sampler;

/// How a client (a traffic source or a calling service) waits, gives up and retries.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub timeout: f64,
    pub retries: u32,
    pub backoff: Backoff,
    pub budget: Option<RetryBudget>,
    /// A retry after a 429 waits at least the callee's `Retry-After`.
    pub honour_retry_after: bool,
}

#[derive(Clone, Debug)]
pub struct Edge {
    pub to: usize,
    pub per_request: f64,
    pub optional: bool,
    /// Share of calls that write (to the callee's primary).
    pub writes: f64,
    pub policy: RetryPolicy,
}

#[derive(Clone, Debug)]
pub struct ServiceModel {
    pub name: String,
    pub kind: ServiceKind,
    /// Instances provisioned when the run starts.
    pub instances: u32,
    /// Instance slots: the most `ScaleOut` can provision.
    pub slots: u32,
    /// How it replaces a lost primary, if it is a database with one.
    pub failover: Option<crate::scenario::FailoverSpec>,
    /// The quota its callers share, if it has one.
    pub rate_limit: Option<crate::scenario::RateLimitSpec>,
    /// Its horizontal autoscaler, if it has one.
    pub autoscale: Option<crate::scenario::AutoscaleSpec>,
    /// Global index of this service's first instance slot.
    pub first_instance: u32,
    pub workers: u32,
    pub service_time: Sampler,
    pub mean_service_time: f64,
    pub slowdown_per_request: f64,
    pub error_ratio: f64,
    pub queue_limit: usize,
    pub cores: f64,
    pub cpu_share: f64,
    pub base_mb: f64,
    pub per_request_mb: f64,
    pub limit_mb: Option<f64>,
    pub disk_size_mb: f64,
    /// What the disk holds besides logs: what rotating the logs leaves.
    pub disk_used_mb: f64,
    /// Logs on the disk when the run starts.
    pub disk_logs_mb: f64,
    pub restart_time: f64,
    pub load_balancer: LoadBalancer,
    pub hc_interval_ticks: u64,
    pub hc_timeout: f64,
    pub unhealthy_threshold: u32,
    pub healthy_threshold: u32,
    pub edges: Vec<Edge>,
    /// The thresholds of the latency SLOs on this service: its successful answers are
    /// counted exactly against each.
    pub latency_thresholds: Vec<f64>,
}

impl ServiceModel {
    /// Global indices of the service's instance slots, provisioned or not.
    pub fn members(&self) -> std::ops::Range<u32> {
        self.first_instance..self.first_instance + self.slots
    }
}

#[derive(Clone, Debug)]
pub struct SourceModel {
    pub name: String,
    pub to: usize,
    pub rate: f64,
    pub diurnal: Option<Diurnal>,
    pub spikes: Vec<Spike>,
    pub noise: f64,
    pub policy: RetryPolicy,
}

impl SourceModel {
    /// Offered first-try rate at time `t`, before noise.
    pub fn rate_at(&self, t: f64) -> f64 {
        let mut rate = self.rate;
        if let Some(d) = self.diurnal {
            let phase = (d.start.get() + t - d.peak.get()) / d.period.get();
            rate *= 1.0 + d.amplitude * libm::cos(std::f64::consts::TAU * phase);
        }
        for spike in &self.spikes {
            if t >= spike.at.get() && t < spike.at.get() + spike.duration.get() {
                rate *= spike.multiplier;
            }
        }
        rate.max(0.0)
    }
}

#[derive(Clone, Debug)]
pub struct Topology {
    pub name: String,
    pub seed: u64,
    pub tick: f64,
    pub duration: f64,
    pub services: Vec<ServiceModel>,
    /// Services in processing order: every caller before its callees.
    pub order: Vec<usize>,
    pub sources: Vec<SourceModel>,
    pub total_instances: u32,
    /// The service of each instance, by global instance index.
    pub instance_service: Vec<u32>,
    /// The zone of each instance, by global instance index.
    pub instance_zone: Vec<u16>,
    pub zones: Vec<String>,
    /// The names of the scenario's SLOs and threshold alerts (pages are acknowledged by name).
    pub slos: Vec<String>,
}

impl Topology {
    /// The position of the service called `name`, if there is one.
    pub fn service_index(&self, name: &str) -> Option<usize> {
        self.services.iter().position(|s| s.name == name)
    }

    /// Compiles a scenario that passed validation (names resolve, the graph is acyclic).
    pub fn compile(scenario: &Scenario) -> Self {
        let index = |name: &str| {
            scenario
                .service_index(name)
                .expect("validated scenarios only name known services")
        };
        let tick = scenario.tick.get();
        let mut first_instance = 0;
        let cores = scenario.cores();
        let services: Vec<ServiceModel> = scenario
            .services
            .iter()
            .zip(cores)
            .map(|(s, cores)| {
                let model = ServiceModel {
                    name: s.name.clone(),
                    kind: s.kind,
                    instances: s.instances,
                    slots: s.max_instances.unwrap_or(s.instances).max(s.instances),
                    autoscale: s.autoscale,
                    rate_limit: s.rate_limit,
                    failover: s.failover,
                    first_instance,
                    workers: s.effective_workers(),
                    service_time: Sampler::new(s.service_time),
                    mean_service_time: s.service_time.mean(),
                    slowdown_per_request: s.slowdown_per_request.get(),
                    error_ratio: s.error_ratio,
                    queue_limit: s.queue_limit.map_or(usize::MAX, |q| q as usize),
                    cores,
                    // A third party's CPU is not ours to see or to saturate.
                    cpu_share: if s.kind == ServiceKind::External {
                        0.0
                    } else {
                        s.cpu.cpu_share
                    },
                    base_mb: s.memory.base_mb,
                    per_request_mb: s.memory.per_request_mb,
                    limit_mb: s.memory.limit_mb,
                    disk_size_mb: s.disk.size_mb,
                    disk_used_mb: s.disk.used_mb,
                    disk_logs_mb: s.disk.logs_mb,
                    restart_time: s.restart_time.get(),
                    load_balancer: s.load_balancer,
                    hc_interval_ticks: ((s.health_check.interval.get() / tick).round() as u64)
                        .max(1),
                    hc_timeout: s.health_check.timeout.get(),
                    unhealthy_threshold: s.health_check.unhealthy_threshold,
                    healthy_threshold: s.health_check.healthy_threshold,
                    edges: s
                        .calls
                        .iter()
                        .map(|c| Edge {
                            to: index(&c.to),
                            per_request: c.per_request,
                            optional: c.optional,
                            writes: c.writes,
                            policy: RetryPolicy {
                                timeout: c.timeout.get(),
                                retries: c.retries,
                                backoff: c.backoff,
                                budget: c.retry_budget,
                                honour_retry_after: c.honour_retry_after,
                            },
                        })
                        .collect(),
                    latency_thresholds: scenario
                        .slos
                        .iter()
                        .filter(|slo| slo.service == s.name)
                        .filter_map(|slo| match slo.sli {
                            crate::scenario::Sli::Latency { threshold } => Some(threshold.get()),
                            crate::scenario::Sli::Availability => None,
                        })
                        .collect(),
                };
                first_instance += model.slots;
                model
            })
            .collect();
        let order = topological_order(&services);
        let sources = scenario
            .traffic
            .iter()
            .enumerate()
            .map(|(i, t)| source_model(i, t, index(&t.to)))
            .collect();
        let instance_service = services
            .iter()
            .enumerate()
            .flat_map(|(i, s)| std::iter::repeat_n(i as u32, s.slots as usize))
            .collect();
        let zones = scenario.zones.len().max(1);
        let instance_zone = services
            .iter()
            .flat_map(|s| (0..s.slots).map(move |k| (k as usize % zones) as u16))
            .collect();
        Self {
            instance_service,
            instance_zone,
            zones: scenario.zones.clone(),
            slos: scenario
                .slos
                .iter()
                .map(|s| s.name.clone())
                .chain(scenario.alerts.iter().map(|a| a.name.clone()))
                .collect(),
            name: scenario.name.clone(),
            seed: scenario.seed,
            tick,
            duration: scenario.duration.get(),
            services,
            order,
            sources,
            total_instances: first_instance,
        }
    }

    pub fn ticks(&self) -> u64 {
        (self.duration / self.tick).round() as u64
    }

    /// The zone of an instance: instance k of a service runs in zone k mod zones.
    pub fn zone_of(&self, instance: u32) -> usize {
        usize::from(self.instance_zone[instance as usize])
    }

    /// The service an instance (by global index) belongs to.
    pub fn service_of(&self, instance: u32) -> usize {
        self.instance_service[instance as usize] as usize
    }
}

fn source_model(i: usize, t: &TrafficSpec, to: usize) -> SourceModel {
    SourceModel {
        name: t.name.clone().unwrap_or_else(|| format!("{}#{i}", t.to)),
        to,
        rate: t.rate,
        diurnal: t.diurnal,
        spikes: t.spikes.clone(),
        noise: t.noise,
        policy: RetryPolicy {
            timeout: t.timeout.get(),
            retries: t.retries,
            backoff: t.backoff,
            budget: t.retry_budget,
            honour_retry_after: true,
        },
    }
}

/// Kahn's algorithm, taking the lowest index first so the order is stable.
fn topological_order(services: &[ServiceModel]) -> Vec<usize> {
    let n = services.len();
    let mut incoming = vec![0usize; n];
    for s in services {
        for e in &s.edges {
            incoming[e.to] += 1;
        }
    }
    let mut ready: std::collections::BTreeSet<usize> =
        (0..n).filter(|&i| incoming[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for e in &services[i].edges {
            incoming[e.to] -= 1;
            if incoming[e.to] == 0 {
                ready.insert(e.to);
            }
        }
    }
    order
}
