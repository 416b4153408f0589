//! What a responder can do to the fleet, as scripts, journals and the window name it, and
//! the catalog that lists every remediation for players and authors.

use serde::{Deserialize, Serialize};

use crate::scenario::{Backoff, Edge, Seconds, ServiceSpec};

use super::{PROVISION_TIME, WARM_TIME};

/// The least time the remediation named `action` takes to act on `service` once applied
/// (the drain before each restart is left out: it can be instant). `rolls_out` says whether
/// a rollback would roll a deploy out again (a config push or a flag is undone at once).
pub fn least_time_to_act(action: &str, service: Option<&ServiceSpec>, rolls_out: bool) -> f64 {
    let restart = service.map_or(0.0, |s| s.restart_time.get());
    let instances = service.map_or(1, |s| s.instances) as f64;
    match action {
        "RestartInstance" | "RestartAll" => restart,
        "RollingRestart" | "RollForward" => instances * restart,
        "Rollback" if rolls_out => instances * restart,
        "ScaleOut" => PROVISION_TIME,
        "WarmCache" => WARM_TIME,
        _ => 0.0,
    }
}

/// Something a responder can do to the fleet. Targets are named as in the scenario.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub enum Remediation {
    /// Drain one instance, restart it, and let it come back cold.
    RestartInstance {
        service: String,
        instance: u32,
    },
    /// Restart the instances one after another: capacity dips by one while it runs.
    RollingRestart {
        service: String,
    },
    /// Restart every instance at once: fast, and the service is down meanwhile.
    RestartAll {
        service: String,
    },
    /// Admit at most `max_rps` requests per second to the service; refuse the rest at once.
    ShedLoad {
        service: String,
        max_rps: f64,
    },
    StopShedding {
        service: String,
    },
    /// Pre-fill a cache from its backing store over a minute.
    WarmCache {
        service: String,
    },
    /// Resize the pool (workers) of every instance of a service: a database's connections.
    SetPool {
        service: String,
        size: u32,
    },
    /// Hold the circuit breaker on a call edge open: calls fail fast instead of waiting.
    OpenCircuit {
        from: String,
        to: String,
    },
    CloseCircuit {
        from: String,
        to: String,
    },
    /// Return to the version that ran before the service's last deploy or config push:
    /// a deploy is rolled back instance by instance, a config push at once.
    Rollback {
        service: String,
    },
    /// Turn a feature flag off, ending what its code path was doing.
    DisableFlag {
        service: String,
        flag: String,
    },
    /// Fix name resolution on a call edge.
    FixDns {
        from: String,
        to: String,
    },
    /// Rotate logs on every instance, freeing the disk they filled.
    FreeDisk {
        service: String,
    },
    /// Install a new certificate, before or after the old one expires.
    RotateCertificate {
        service: String,
    },
    /// Deploy a fixed version, rolled out like any deploy.
    RollForward {
        service: String,
        version: String,
    },
    /// Take one instance out of rotation without restarting it (keep it for evidence).
    EjectInstance {
        service: String,
        instance: u32,
    },
    RestoreInstance {
        service: String,
        instance: u32,
    },
    /// Shift traffic away from a zone: balancers send it nothing.
    DrainZone {
        zone: String,
    },
    RestoreZone {
        zone: String,
    },
    /// Rebuild a database's replicas from a fresh snapshot: their lag goes, and so does a
    /// replication-lag fault.
    ResyncReplicas {
        service: String,
    },
    /// Stop a queue's deliveries (its consumers): the backlog grows until resumed.
    PauseConsumers {
        queue: String,
    },
    ResumeConsumers {
        queue: String,
    },
    /// Provision `count` more instances: they boot, then join once their probes pass.
    ScaleOut {
        service: String,
        count: u32,
    },
    /// Drain and remove `count` instances (the newest first); at least one stays.
    ScaleIn {
        service: String,
        count: u32,
    },
    /// Make a database replica the primary: it takes the writes from now on, and the
    /// writes it had not replicated yet are lost.
    PromoteReplica {
        service: String,
        instance: u32,
    },
    /// Turn a service's autoscaler off: the instance count stays where it is until a
    /// responder changes it.
    DisableAutoscaler {
        service: String,
    },
    EnableAutoscaler {
        service: String,
    },
    /// Change a caller's timeout, retries or backoff on one edge.
    TuneCalls {
        from: String,
        to: String,
        #[serde(default)]
        timeout: Option<Seconds>,
        #[serde(default)]
        retries: Option<u32>,
        #[serde(default)]
        backoff: Option<Backoff>,
        /// Whether retries after a 429 wait out its `Retry-After` (left out of what is
        /// written when unset, so older journals and reports read the same).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        honour_retry_after: Option<bool>,
    },
}

impl Remediation {
    /// A change rather than a mitigation: new code or less capacity, which the error budget
    /// policy freezes once a budget is exhausted. Rolling back, restarting, shedding and the
    /// like stop the bleeding and stay allowed.
    pub fn is_change(&self) -> bool {
        matches!(self, Self::RollForward { .. } | Self::ScaleIn { .. })
    }

    /// Whether it fits a pattern: same name, and the same target if the pattern names one
    /// (a service pattern also matches its instances and the edges it calls).
    pub fn fits(&self, pattern: &crate::scenario::ActionPattern) -> bool {
        pattern.action == self.label()
            && pattern.target.as_ref().is_none_or(|t| {
                let target = self.target();
                &target == t || Edge::caller_or_self(&target) == t
            })
    }

    /// The remediation as an action script writes it.
    pub fn to_ron(&self) -> String {
        ron::to_string(self).expect("remediations serialize")
    }

    /// Kills processes and with them the evidence they hold (memory, local logs): take a
    /// heap dump or read the logs first.
    pub fn is_destructive(&self) -> bool {
        matches!(
            self,
            Self::RestartInstance { .. }
                | Self::RollingRestart { .. }
                | Self::RestartAll { .. }
                | Self::ScaleIn { .. }
        )
    }

    /// What it acts on, as a scenario names it: a service, a call edge `"web->checkout"`,
    /// a zone or a queue.
    pub fn target(&self) -> String {
        match self {
            Self::RestartInstance { service, .. }
            | Self::RollingRestart { service }
            | Self::RestartAll { service }
            | Self::ShedLoad { service, .. }
            | Self::StopShedding { service }
            | Self::WarmCache { service }
            | Self::SetPool { service, .. }
            | Self::Rollback { service }
            | Self::DisableFlag { service, .. }
            | Self::FreeDisk { service }
            | Self::RotateCertificate { service }
            | Self::RollForward { service, .. }
            | Self::EjectInstance { service, .. }
            | Self::RestoreInstance { service, .. }
            | Self::PromoteReplica { service, .. }
            | Self::ResyncReplicas { service }
            | Self::ScaleOut { service, .. }
            | Self::ScaleIn { service, .. }
            | Self::DisableAutoscaler { service }
            | Self::EnableAutoscaler { service } => service.clone(),
            Self::OpenCircuit { from, to }
            | Self::CloseCircuit { from, to }
            | Self::FixDns { from, to }
            | Self::TuneCalls { from, to, .. } => Edge { from, to }.to_string(),
            Self::DrainZone { zone } | Self::RestoreZone { zone } => zone.clone(),
            Self::PauseConsumers { queue } | Self::ResumeConsumers { queue } => queue.clone(),
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Self::RestartInstance { .. } => "RestartInstance",
            Self::RollingRestart { .. } => "RollingRestart",
            Self::RestartAll { .. } => "RestartAll",
            Self::ShedLoad { .. } => "ShedLoad",
            Self::StopShedding { .. } => "StopShedding",
            Self::WarmCache { .. } => "WarmCache",
            Self::SetPool { .. } => "SetPool",
            Self::OpenCircuit { .. } => "OpenCircuit",
            Self::CloseCircuit { .. } => "CloseCircuit",
            Self::Rollback { .. } => "Rollback",
            Self::DisableFlag { .. } => "DisableFlag",
            Self::FixDns { .. } => "FixDns",
            Self::FreeDisk { .. } => "FreeDisk",
            Self::RotateCertificate { .. } => "RotateCertificate",
            Self::RollForward { .. } => "RollForward",
            Self::EjectInstance { .. } => "EjectInstance",
            Self::RestoreInstance { .. } => "RestoreInstance",
            Self::DrainZone { .. } => "DrainZone",
            Self::RestoreZone { .. } => "RestoreZone",
            Self::ResyncReplicas { .. } => "ResyncReplicas",
            Self::PauseConsumers { .. } => "PauseConsumers",
            Self::ResumeConsumers { .. } => "ResumeConsumers",
            Self::ScaleOut { .. } => "ScaleOut",
            Self::ScaleIn { .. } => "ScaleIn",
            Self::PromoteReplica { .. } => "PromoteReplica",
            Self::DisableAutoscaler { .. } => "DisableAutoscaler",
            Self::EnableAutoscaler { .. } => "EnableAutoscaler",
            Self::TuneCalls { .. } => "TuneCalls",
        }
    }
}

/// One line of `firedrill catalog`: a remediation as an action script writes it.
pub struct CatalogEntry {
    pub name: &'static str,
    /// A complete action-script line.
    pub example: &'static str,
    /// How long it takes to act.
    pub delay: &'static str,
    pub description: &'static str,
}

/// Every remediation, for responders and script authors (`firedrill catalog`).
pub const CATALOG: &[CatalogEntry] = &[
    CatalogEntry {
        name: "RestartInstance",
        example: r#"(at: "6m", do: Apply(RestartInstance(service: "web", instance: 0)))"#,
        delay: "drain (up to 10 s) + restart_time",
        description: "drains, kills and restarts one instance; it comes back cold and frees leaked memory",
    },
    CatalogEntry {
        name: "RollingRestart",
        example: r#"(at: "6m", do: Apply(RollingRestart(service: "web")))"#,
        delay: "instances x (drain + restart_time)",
        description: "restarts instances one after another: capacity down by one while it runs, caches go cold",
    },
    CatalogEntry {
        name: "RestartAll",
        example: r#"(at: "6m", do: Apply(RestartAll(service: "web")))"#,
        delay: "drain + restart_time",
        description: "restarts every instance at once: the service is down meanwhile (risky)",
    },
    CatalogEntry {
        name: "ShedLoad",
        example: r#"(at: "6m", do: Apply(ShedLoad(service: "gateway", max_rps: 300.0)))"#,
        delay: "immediate",
        description: "admission control: admits max_rps per second, refuses the rest at once; admitted requests stay fast",
    },
    CatalogEntry {
        name: "StopShedding",
        example: r#"(at: "20m", do: Apply(StopShedding(service: "gateway")))"#,
        delay: "immediate",
        description: "lifts the admission limit",
    },
    CatalogEntry {
        name: "WarmCache",
        example: r#"(at: "6m", do: Apply(WarmCache(service: "product-cache")))"#,
        delay: "60 s to full",
        description: "pre-fills a cache out of band, ending a stampede the backing store cannot refill",
    },
    CatalogEntry {
        name: "SetPool",
        example: r#"(at: "6m", do: Apply(SetPool(service: "orders-db", size: 40)))"#,
        delay: "immediate",
        description: "resizes each instance's pool (workers); more connections also mean more load on what is behind",
    },
    CatalogEntry {
        name: "OpenCircuit",
        example: r#"(at: "6m", do: Apply(OpenCircuit(from: "web", to: "recommendations")))"#,
        delay: "immediate",
        description: "calls on the edge fail fast instead of waiting out timeouts; graceful if the call is optional",
    },
    CatalogEntry {
        name: "CloseCircuit",
        example: r#"(at: "20m", do: Apply(CloseCircuit(from: "web", to: "recommendations")))"#,
        delay: "immediate",
        description: "lets calls through the edge again",
    },
    CatalogEntry {
        name: "Rollback",
        example: r#"(at: "6m", do: Apply(Rollback(service: "checkout")))"#,
        delay: "deploy: instances x (drain + restart_time); config: immediate",
        description: "returns to the version before the last deploy or config push (a restart would keep the bad one)",
    },
    CatalogEntry {
        name: "DisableFlag",
        example: r#"(at: "6m", do: Apply(DisableFlag(service: "web", flag: "new-pricing")))"#,
        delay: "immediate",
        description: "turns a feature flag off, ending what its code path does",
    },
    CatalogEntry {
        name: "FixDns",
        example: r#"(at: "6m", do: Apply(FixDns(from: "checkout", to: "payment")))"#,
        delay: "immediate",
        description: "restores name resolution on a call edge",
    },
    CatalogEntry {
        name: "FreeDisk",
        example: r#"(at: "6m", do: Apply(FreeDisk(service: "api")))"#,
        delay: "immediate",
        description: "rotates logs on every instance; the disk fills again if the cause remains",
    },
    CatalogEntry {
        name: "RotateCertificate",
        example: r#"(at: "6m", do: Apply(RotateCertificate(service: "payment")))"#,
        delay: "immediate",
        description: "installs a new certificate: ends an expiry, or defuses one that has not happened yet",
    },
    CatalogEntry {
        name: "RollForward",
        example: r#"(at: "6m", do: Apply(RollForward(service: "checkout", version: "v2.4.1")))"#,
        delay: "instances x (drain + restart_time)",
        description: "deploys a fixed version, rolled out like any deploy (slower than a rollback when the fix is not ready)",
    },
    CatalogEntry {
        name: "EjectInstance",
        example: r#"(at: "6m", do: Apply(EjectInstance(service: "web", instance: 2)))"#,
        delay: "immediate",
        description: "takes one instance out of rotation without restarting it: traffic moves, evidence stays",
    },
    CatalogEntry {
        name: "RestoreInstance",
        example: r#"(at: "20m", do: Apply(RestoreInstance(service: "web", instance: 2)))"#,
        delay: "immediate",
        description: "puts an ejected instance back in rotation",
    },
    CatalogEntry {
        name: "DrainZone",
        example: r#"(at: "6m", do: Apply(DrainZone(zone: "b")))"#,
        delay: "immediate",
        description: "shifts traffic away from a zone: its instances get nothing, the others take the load",
    },
    CatalogEntry {
        name: "RestoreZone",
        example: r#"(at: "20m", do: Apply(RestoreZone(zone: "b")))"#,
        delay: "immediate",
        description: "sends traffic to a drained zone again",
    },
    CatalogEntry {
        name: "ResyncReplicas",
        example: r#"(at: "6m", do: Apply(ResyncReplicas(service: "orders-db")))"#,
        delay: "immediate",
        description: "rebuilds a database's replicas from a fresh snapshot: their lag and a replication-lag fault end",
    },
    CatalogEntry {
        name: "PauseConsumers",
        example: r#"(at: "6m", do: Apply(PauseConsumers(queue: "emails")))"#,
        delay: "immediate",
        description: "stops a queue's deliveries (to protect a struggling consumer); the backlog grows",
    },
    CatalogEntry {
        name: "ResumeConsumers",
        example: r#"(at: "20m", do: Apply(ResumeConsumers(queue: "emails")))"#,
        delay: "immediate",
        description: "resumes deliveries; SetPool on a queue scales its consumers",
    },
    CatalogEntry {
        name: "ScaleOut",
        example: r#"(at: "6m", do: Apply(ScaleOut(service: "web", count: 2)))"#,
        delay: "60 s to boot + passing probes",
        description: "provisions instances (up to max_instances); no help until they boot, none if the bottleneck is behind",
    },
    CatalogEntry {
        name: "ScaleIn",
        example: r#"(at: "30m", do: Apply(ScaleIn(service: "web", count: 2)))"#,
        delay: "drain",
        description: "drains and removes the newest instances; at least one stays",
    },
    CatalogEntry {
        name: "PromoteReplica",
        example: r#"(at: "6m", do: Apply(PromoteReplica(service: "orders-db", instance: 1)))"#,
        delay: "immediate",
        description: "makes a database replica the primary (writes go to it); what it had not replicated is lost",
    },
    CatalogEntry {
        name: "DisableAutoscaler",
        example: r#"(at: "6m", do: Apply(DisableAutoscaler(service: "web")))"#,
        delay: "immediate",
        description: "turns the service's autoscaler off: the instance count stays until changed by hand",
    },
    CatalogEntry {
        name: "EnableAutoscaler",
        example: r#"(at: "20m", do: Apply(EnableAutoscaler(service: "web")))"#,
        delay: "next sync (15 s)",
        description: "turns it back on, with no memory of its old recommendations",
    },
    CatalogEntry {
        name: "TuneCalls",
        example: r#"(at: "6m", do: Apply(TuneCalls(from: "web", to: "api", retries: 0, timeout: "500ms")))"#,
        delay: "immediate",
        description: "changes a caller's timeout, retries, backoff or honour_retry_after on one edge (e.g. stop a retry storm)",
    },
];
