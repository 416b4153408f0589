//! How faults and remediations currently bend the fleet's mechanisms. The simulation reads
//! these on its hot paths; the `SimSet::Conditions` system rewrites them every tick.

use bevy::prelude::Resource;
use serde::Serialize;

use super::topology::{RetryPolicy, Topology};

/// Conditions on one service's instances.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ServiceConditions {
    /// Multiplies each request's own work.
    pub latency_factor: f64,
    /// Added to each request's own work, in seconds.
    pub extra_latency: f64,
    /// Probability of a server error on top of the service's own error ratio.
    pub extra_error_ratio: f64,
    pub leak_mb_per_request: f64,
    pub leak_mb_per_second: f64,
    /// Cores of each instance taken by something other than requests.
    pub cpu_hog_cores: f64,
    /// Instances die this long after they come up.
    pub crash_after: Option<f64>,
    /// Admission control: requests per second each instance accepts; the rest are refused.
    pub admit_rps: Option<f64>,
    /// Each instance's share of the service's quota (calls a second), and whether refused
    /// calls count against it.
    pub quota: Option<(f64, bool)>,
    /// Readiness probes of the first this many instances fail whatever their state.
    pub probe_fails: u32,
    /// Probability that a probe fails at random.
    pub probe_flap_ratio: f64,
    /// Stop-the-world pauses: (interval, pause), in seconds.
    pub gc: Option<(f64, f64)>,
    pub disk_mb_per_request: f64,
    pub disk_mb_per_second: f64,
    /// The certificate has expired: every call to the service fails its handshake.
    pub tls_expired: bool,
    /// The first `.0` instances have skewed clocks and fail `.1` of their requests.
    pub clock_skew: (u32, f64),
    /// Share of request keys that fail every time (a hot or broken key).
    pub hot_key_ratio: f64,
    /// The service's metrics are not reported.
    pub metrics_missing: bool,
    /// Replicas fall behind by this many seconds per second.
    pub replication_lag_rate: f64,
    /// (tolerance seconds, share of requests needing fresh data) for stale replicas.
    pub stale_reads: (f64, f64),
    /// The service logs noise.
    pub log_storm: bool,
}

impl Default for ServiceConditions {
    fn default() -> Self {
        Self {
            latency_factor: 1.0,
            extra_latency: 0.0,
            extra_error_ratio: 0.0,
            leak_mb_per_request: 0.0,
            leak_mb_per_second: 0.0,
            cpu_hog_cores: 0.0,
            crash_after: None,
            admit_rps: None,
            quota: None,
            probe_fails: 0,
            probe_flap_ratio: 0.0,
            gc: None,
            disk_mb_per_request: 0.0,
            disk_mb_per_second: 0.0,
            tls_expired: false,
            clock_skew: (0, 0.0),
            hot_key_ratio: 0.0,
            metrics_missing: false,
            replication_lag_rate: 0.0,
            stale_reads: (0.0, 0.0),
            log_storm: false,
        }
    }
}

impl ServiceConditions {
    /// Whether nothing here acts on the instances between events (a leak, a filling disk, a
    /// hog, replication lag, a crash loop, a log storm).
    pub fn is_calm(&self) -> bool {
        self.leak_mb_per_second == 0.0
            && self.disk_mb_per_second == 0.0
            && self.cpu_hog_cores == 0.0
            && self.replication_lag_rate == 0.0
            && self.crash_after.is_none()
            && !self.log_storm
    }
}

/// Conditions on one call edge, caller to callee.
#[derive(Clone, Copy, Debug, Default)]
pub struct EdgeConditions {
    /// Added to the time a call takes to reach the callee.
    pub extra_latency: f64,
    /// Share of calls lost on the way (1.0: a partition).
    pub loss_ratio: f64,
    /// The callee's name does not resolve: calls fail at once.
    pub unresolvable: bool,
    /// A circuit breaker held open: calls fail fast without being sent.
    pub circuit_open: bool,
    /// The caller's timeout and retries, when tuned away from the scenario's.
    pub policy: Option<RetryPolicy>,
}

/// Conditions on one traffic entry.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SourceConditions {
    pub rate_factor: f64,
}

impl Default for SourceConditions {
    fn default() -> Self {
        Self { rate_factor: 1.0 }
    }
}

/// What changed a service's running version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ChangeKind {
    /// The version the run starts with.
    Initial,
    /// New code, rolled out by restarting instances one by one.
    Deploy,
    /// A configuration push, applied to every instance at once.
    Config,
    /// Back to the version before the last change.
    Rollback,
}

/// One entry of a service's version history, with what the version does differently.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Version {
    pub name: String,
    pub at_s: f64,
    pub change: ChangeKind,
    pub error_ratio: f64,
    pub latency_factor: f64,
    pub leak_mb_per_request: f64,
    /// The version that ran before this change (a rollback returns to it).
    #[serde(skip)]
    pub previous: usize,
}

impl Version {
    fn initial() -> Self {
        Self {
            name: "v1".to_string(),
            at_s: 0.0,
            change: ChangeKind::Initial,
            error_ratio: 0.0,
            latency_factor: 1.0,
            leak_mb_per_request: 0.0,
            previous: 0,
        }
    }
}

#[derive(Resource, Clone, Debug)]
pub struct Conditions {
    pub services: Vec<ServiceConditions>,
    /// By calling service, then by the index of the call in its `calls`.
    pub edges: Vec<Vec<EdgeConditions>>,
    pub sources: Vec<SourceConditions>,
    /// Each service's version history, oldest first; instances run one of these.
    pub versions: Vec<Vec<Version>>,
    /// Zones whose instances are lost.
    pub zones_down: Vec<bool>,
    /// Zones the balancers send nothing to (traffic shifted away by a responder).
    pub zones_drained: Vec<bool>,
    /// When each service's certificate expires, if a fault has it expire.
    pub cert_expires_at: Vec<Option<f64>>,
    /// Each database's primary (global instance index), for those with a failover: it
    /// takes the writes; the others are replicas.
    pub primaries: Vec<Option<u32>>,
}

impl Conditions {
    /// Nothing bent: the fleet as the scenario describes it.
    pub fn normal(topology: &Topology) -> Self {
        Self {
            services: vec![ServiceConditions::default(); topology.services.len()],
            edges: topology
                .services
                .iter()
                .map(|s| vec![EdgeConditions::default(); s.edges.len()])
                .collect(),
            sources: vec![SourceConditions::default(); topology.sources.len()],
            versions: vec![vec![Version::initial()]; topology.services.len()],
            zones_down: vec![false; topology.zones.len()],
            zones_drained: vec![false; topology.zones.len()],
            cert_expires_at: vec![None; topology.services.len()],
            primaries: topology
                .services
                .iter()
                .map(|s| s.failover.map(|_| s.first_instance))
                .collect(),
        }
    }

    /// The instance of `service` that replicates from nobody: its primary, or its first.
    pub fn primary(&self, service: usize, first_instance: u32) -> u32 {
        self.primaries[service].unwrap_or(first_instance)
    }

    /// Straightens what faults and remediations bend each tick; the version history stays.
    pub fn clear_bends(&mut self) {
        self.services.fill(ServiceConditions::default());
        for edges in &mut self.edges {
            edges.fill(EdgeConditions::default());
        }
        self.sources.fill(SourceConditions::default());
        self.zones_down.fill(false);
        self.zones_drained.fill(false);
        self.cert_expires_at.fill(None);
    }
}
