//! A remediation resolved against the fleet: names become indices, and what does not fit
//! the fleet is refused with the reason.

use crate::scenario::{Backoff, Seconds};
use crate::sim::topology::Topology;

use super::Remediation;

/// A remediation with its targets resolved to indices.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    Restart {
        service: usize,
        instances: Vec<u32>,
        one_at_a_time: bool,
    },
    ScaleOut {
        service: usize,
        count: u32,
    },
    RollForward {
        service: usize,
        version: String,
    },
    Eject {
        instance: u32,
        ejected: bool,
    },
    Zone {
        zone: usize,
        drained: bool,
    },
    Consumers {
        queue: usize,
        paused: bool,
    },
    Resync {
        service: usize,
    },
    ScaleIn {
        service: usize,
        count: u32,
    },
    Rollback {
        service: usize,
    },
    DisableFlag {
        service: usize,
        flag: String,
    },
    FixDns {
        from: usize,
        edge: usize,
    },
    FreeDisk {
        service: usize,
    },
    RotateCertificate {
        service: usize,
    },
    Shed {
        service: usize,
        max_rps: Option<f64>,
    },
    WarmCache {
        service: usize,
    },
    SetPool {
        service: usize,
        size: u32,
    },
    Circuit {
        from: usize,
        edge: usize,
        open: bool,
    },
    Autoscaler {
        service: usize,
        enabled: bool,
    },
    Promote {
        service: usize,
        instance: u32,
    },
    Tune {
        from: usize,
        edge: usize,
        timeout: Option<f64>,
        retries: Option<u32>,
        backoff: Option<Backoff>,
        honour_retry_after: Option<bool>,
    },
}

impl Op {
    /// Resolves `remediation` against the fleet, or says what is wrong with it.
    pub fn resolve(remediation: &Remediation, topology: &Topology) -> Result<Self, String> {
        let service = |name: &str| {
            topology.service_index(name).ok_or_else(|| {
                let names: Vec<&str> = topology.services.iter().map(|s| s.name.as_str()).collect();
                match crate::scenario::closest(name, &names) {
                    Some(close) => {
                        format!("unknown service \"{name}\" (did you mean \"{close}\"?)")
                    }
                    None => format!("unknown service \"{name}\""),
                }
            })
        };
        let edge = |from: &str, to: &str| -> Result<(usize, usize), String> {
            let (a, b) = (service(from)?, service(to)?);
            topology.services[a]
                .edges
                .iter()
                .position(|e| e.to == b)
                .map(|k| (a, k))
                .ok_or_else(|| format!("\"{from}\" does not call \"{to}\""))
        };
        let all = |s: usize| {
            let m = &topology.services[s];
            m.members().collect::<Vec<u32>>()
        };
        Ok(match remediation {
            Remediation::RestartInstance {
                service: name,
                instance,
            } => {
                let s = service(name)?;
                let m = &topology.services[s];
                if *instance >= m.slots {
                    return Err(format!(
                        "\"{name}\" has {} instances (0 to {}): there is no instance {instance}",
                        m.slots,
                        m.slots - 1
                    ));
                }
                Op::Restart {
                    service: s,
                    instances: vec![m.first_instance + instance],
                    one_at_a_time: true,
                }
            }
            Remediation::RollingRestart { service: name } => {
                let s = service(name)?;
                Op::Restart {
                    service: s,
                    instances: all(s),
                    one_at_a_time: true,
                }
            }
            Remediation::RestartAll { service: name } => {
                let s = service(name)?;
                Op::Restart {
                    service: s,
                    instances: all(s),
                    one_at_a_time: false,
                }
            }
            Remediation::ShedLoad {
                service: name,
                max_rps,
            } => {
                if !(*max_rps > 0.0 && max_rps.is_finite()) {
                    return Err(format!("max_rps must be above 0 (got {max_rps})"));
                }
                Op::Shed {
                    service: service(name)?,
                    max_rps: Some(*max_rps),
                }
            }
            Remediation::Rollback { service: name } => Op::Rollback {
                service: service(name)?,
            },
            Remediation::DisableFlag {
                service: name,
                flag,
            } => Op::DisableFlag {
                service: service(name)?,
                flag: flag.clone(),
            },
            Remediation::RollForward {
                service: name,
                version,
            } => {
                if version.trim().is_empty() {
                    return Err("a roll forward needs a version name".to_string());
                }
                Op::RollForward {
                    service: service(name)?,
                    version: version.clone(),
                }
            }
            Remediation::EjectInstance {
                service: name,
                instance,
            }
            | Remediation::RestoreInstance {
                service: name,
                instance,
            } => {
                let m = &topology.services[service(name)?];
                if *instance >= m.slots {
                    return Err(format!(
                        "\"{name}\" has {} instances (0 to {}): there is no instance {instance}",
                        m.slots,
                        m.slots - 1
                    ));
                }
                Op::Eject {
                    instance: m.first_instance + instance,
                    ejected: matches!(remediation, Remediation::EjectInstance { .. }),
                }
            }
            Remediation::PromoteReplica {
                service: name,
                instance,
            } => {
                let s = service(name)?;
                let m = &topology.services[s];
                if m.failover.is_none() {
                    return Err(format!(
                        "\"{name}\" has no primary to replace: only a Database with a failover section has replicas to promote"
                    ));
                }
                if *instance >= m.slots {
                    return Err(format!(
                        "\"{name}\" has {} instances (0 to {}): there is no instance {instance}",
                        m.slots,
                        m.slots - 1
                    ));
                }
                Op::Promote {
                    service: s,
                    instance: m.first_instance + instance,
                }
            }
            Remediation::ResyncReplicas { service: name } => {
                let s = service(name)?;
                if !matches!(
                    topology.services[s].kind,
                    crate::scenario::ServiceKind::Database { .. }
                ) {
                    return Err(format!("\"{name}\" is not a Database"));
                }
                Op::Resync { service: s }
            }
            Remediation::PauseConsumers { queue } | Remediation::ResumeConsumers { queue } => {
                let s = service(queue)?;
                if topology.services[s].kind != crate::scenario::ServiceKind::Queue {
                    return Err(format!("\"{queue}\" is not a Queue"));
                }
                Op::Consumers {
                    queue: s,
                    paused: matches!(remediation, Remediation::PauseConsumers { .. }),
                }
            }
            Remediation::DrainZone { zone } | Remediation::RestoreZone { zone } => {
                let index = topology
                    .zones
                    .iter()
                    .position(|z| z == zone)
                    .ok_or_else(|| {
                        format!(
                            "unknown zone \"{zone}\" (zones: {})",
                            topology.zones.join(", ")
                        )
                    })?;
                Op::Zone {
                    zone: index,
                    drained: matches!(remediation, Remediation::DrainZone { .. }),
                }
            }
            Remediation::ScaleOut {
                service: name,
                count,
            } => {
                let s = service(name)?;
                let m = &topology.services[s];
                if *count == 0 || *count > m.slots - m.instances {
                    return Err(format!(
                        "\"{name}\" can grow by at most {} instances (max_instances is {}); asked for {count}",
                        m.slots - m.instances,
                        m.slots
                    ));
                }
                Op::ScaleOut {
                    service: s,
                    count: *count,
                }
            }
            Remediation::ScaleIn {
                service: name,
                count,
            } => {
                if *count == 0 {
                    return Err("scaling in by 0 does nothing".to_string());
                }
                Op::ScaleIn {
                    service: service(name)?,
                    count: *count,
                }
            }
            Remediation::FreeDisk { service: name } => Op::FreeDisk {
                service: service(name)?,
            },
            Remediation::RotateCertificate { service: name } => Op::RotateCertificate {
                service: service(name)?,
            },
            Remediation::FixDns { from, to } => {
                let (from, edge) = edge(from, to)?;
                Op::FixDns { from, edge }
            }
            Remediation::StopShedding { service: name } => Op::Shed {
                service: service(name)?,
                max_rps: None,
            },
            Remediation::WarmCache { service: name } => {
                let s = service(name)?;
                if !matches!(
                    topology.services[s].kind,
                    crate::scenario::ServiceKind::Cache { .. }
                ) {
                    return Err(format!("\"{name}\" is not a Cache"));
                }
                Op::WarmCache { service: s }
            }
            Remediation::SetPool {
                service: name,
                size,
            } => {
                if *size == 0 {
                    return Err("a pool of 0 serves nothing; use at least 1".to_string());
                }
                Op::SetPool {
                    service: service(name)?,
                    size: *size,
                }
            }
            Remediation::OpenCircuit { from, to } | Remediation::CloseCircuit { from, to } => {
                let (from, edge) = edge(from, to)?;
                let open = matches!(remediation, Remediation::OpenCircuit { .. });
                Op::Circuit { from, edge, open }
            }
            Remediation::DisableAutoscaler { service: name }
            | Remediation::EnableAutoscaler { service: name } => {
                let s = service(name)?;
                if topology.services[s].autoscale.is_none() {
                    return Err(format!("\"{name}\" has no autoscaler"));
                }
                Op::Autoscaler {
                    service: s,
                    enabled: matches!(remediation, Remediation::EnableAutoscaler { .. }),
                }
            }
            Remediation::TuneCalls {
                from,
                to,
                timeout,
                retries,
                backoff,
                honour_retry_after,
            } => {
                if timeout.is_some_and(|t| t.get() <= 0.0) {
                    return Err("timeout must be greater than zero".to_string());
                }
                let (from, edge) = edge(from, to)?;
                Op::Tune {
                    from,
                    edge,
                    timeout: timeout.map(Seconds::get),
                    retries: *retries,
                    backoff: *backoff,
                    honour_retry_after: *honour_retry_after,
                }
            }
        })
    }
}
