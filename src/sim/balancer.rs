//! Load balancing and health checks: which instance gets each call, and which instances are
//! in rotation.

use crate::scenario::LoadBalancer;

/// What the balancer knows of one instance when it assigns calls.
#[derive(Clone, Copy, Debug)]
pub struct Backend {
    /// An instance exists in this slot.
    pub provisioned: bool,
    pub in_rotation: bool,
    /// Requests queued or in service: the "connections" of least-connections.
    pub load: usize,
}

/// Picks the instance, of `n`, that gets the next call; `backend(k)` describes instance `k`.
///
/// Only instances in rotation are candidates; when none is, the balancer fails open and
/// uses them all (as Envoy does below its panic threshold) rather than dropping traffic.
#[inline]
pub fn pick(
    policy: LoadBalancer,
    cursor: &mut usize,
    n: usize,
    mut backend: impl FnMut(usize) -> Backend,
) -> usize {
    let start = *cursor % n;
    let order = (0..n).map(|offset| (start + offset) % n);
    // One pass looks for the instance in rotation and, failing open, for any provisioned
    // one: the first is the pick whenever some instance is in rotation.
    let chosen = match policy {
        LoadBalancer::RoundRobin => {
            let mut open = None;
            let mut in_rotation = None;
            for k in order {
                let b = backend(k);
                if b.provisioned && b.in_rotation {
                    in_rotation = Some(k);
                    break;
                }
                if b.provisioned && open.is_none() {
                    open = Some(k);
                }
            }
            in_rotation.or(open).unwrap_or(start)
        }
        LoadBalancer::LeastConnections => {
            // Ties go round-robin from the cursor so equal backends share the load.
            let mut best: Option<(usize, usize)> = None;
            let mut best_open: Option<(usize, usize)> = None;
            for k in order {
                let b = backend(k);
                if !b.provisioned {
                    continue;
                }
                if b.in_rotation && best.is_none_or(|(_, load)| b.load < load) {
                    best = Some((k, b.load));
                }
                if best_open.is_none_or(|(_, load)| b.load < load) {
                    best_open = Some((k, b.load));
                }
            }
            best.or(best_open).map_or(start, |(k, _)| k)
        }
    };
    *cursor = chosen + 1;
    chosen
}

/// Health-check state change from one probe: out of rotation after `unhealthy` failures in a
/// row, back in after `healthy` passes in a row.
pub fn probe(
    in_rotation: &mut bool,
    failed_in_row: &mut u32,
    passed_in_row: &mut u32,
    passed: bool,
    unhealthy: u32,
    healthy: u32,
) {
    if passed {
        *failed_in_row = 0;
        *passed_in_row += 1;
        if !*in_rotation && *passed_in_row >= healthy {
            *in_rotation = true;
        }
    } else {
        *passed_in_row = 0;
        *failed_in_row += 1;
        if *in_rotation && *failed_in_row >= unhealthy {
            *in_rotation = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backends(spec: &[(bool, usize)]) -> Vec<Backend> {
        spec.iter()
            .map(|&(in_rotation, load)| Backend {
                provisioned: true,
                in_rotation,
                load,
            })
            .collect()
    }

    fn picks(policy: LoadBalancer, backends: &mut [Backend], calls: usize) -> Vec<usize> {
        let mut cursor = 0;
        (0..calls)
            .map(|_| {
                let k = pick(policy, &mut cursor, backends.len(), |k| backends[k]);
                backends[k].load += 1;
                k
            })
            .collect()
    }

    #[test]
    fn round_robin_skips_instances_out_of_rotation() {
        let mut b = backends(&[(true, 0), (false, 0), (true, 0)]);
        assert_eq!(picks(LoadBalancer::RoundRobin, &mut b, 4), vec![0, 2, 0, 2]);
    }

    #[test]
    fn fails_open_when_nothing_is_healthy() {
        let mut b = backends(&[(false, 0), (false, 0)]);
        assert_eq!(picks(LoadBalancer::RoundRobin, &mut b, 3), vec![0, 1, 0]);
    }

    #[test]
    fn least_connections_fills_the_idle_instance_first() {
        let mut b = backends(&[(true, 3), (true, 0), (true, 1)]);
        assert_eq!(
            picks(LoadBalancer::LeastConnections, &mut b, 4),
            vec![1, 2, 1, 2]
        );
        assert_eq!(b.iter().map(|b| b.load).collect::<Vec<_>>(), vec![3, 2, 3]);
    }

    #[test]
    fn probes_need_thresholds_in_a_row() {
        let (mut inr, mut f, mut p) = (true, 0, 0);
        for passed in [false, false, true, false, false] {
            probe(&mut inr, &mut f, &mut p, passed, 3, 2);
        }
        assert!(inr, "never three failures in a row");
        probe(&mut inr, &mut f, &mut p, false, 3, 2);
        assert!(!inr);
        probe(&mut inr, &mut f, &mut p, true, 3, 2);
        assert!(!inr);
        probe(&mut inr, &mut f, &mut p, true, 3, 2);
        assert!(inr);
    }
}
