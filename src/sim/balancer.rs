//! Load balancing and health checks: which instance gets each call, and which instances are
//! in rotation.

use crate::scenario::LoadBalancer;

/// What the balancer knows of one instance when it assigns calls.
#[derive(Clone, Copy, Debug)]
pub struct Backend {
    pub in_rotation: bool,
    /// Requests queued or in service: the "connections" of least-connections.
    pub load: usize,
}

/// Picks an instance for each of `calls` calls, pushing indices into `out`.
///
/// Only instances in rotation are candidates; when none is, the balancer fails open and
/// uses them all (as Envoy does below its panic threshold) rather than dropping traffic.
pub fn assign(
    policy: LoadBalancer,
    cursor: &mut usize,
    backends: &mut [Backend],
    calls: usize,
    out: &mut Vec<u32>,
) {
    out.clear();
    let n = backends.len();
    if n == 0 {
        return;
    }
    let fail_open = !backends.iter().any(|b| b.in_rotation);
    let candidate = |b: &Backend| fail_open || b.in_rotation;
    for _ in 0..calls {
        let pick = match policy {
            LoadBalancer::RoundRobin => {
                let mut k = *cursor % n;
                while !candidate(&backends[k]) {
                    k = (k + 1) % n;
                }
                *cursor = k + 1;
                k
            }
            LoadBalancer::LeastConnections => {
                // Ties go round-robin from the cursor so equal backends share the load.
                let start = *cursor % n;
                let mut best: Option<usize> = None;
                for offset in 0..n {
                    let k = (start + offset) % n;
                    if candidate(&backends[k])
                        && best.is_none_or(|b| backends[k].load < backends[b].load)
                    {
                        best = Some(k);
                    }
                }
                let k = best.expect("at least one candidate");
                *cursor = k + 1;
                k
            }
        };
        backends[pick].load += 1;
        out.push(pick as u32);
    }
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
            .map(|&(in_rotation, load)| Backend { in_rotation, load })
            .collect()
    }

    #[test]
    fn round_robin_skips_instances_out_of_rotation() {
        let mut b = backends(&[(true, 0), (false, 0), (true, 0)]);
        let (mut cursor, mut out) = (0, Vec::new());
        assign(LoadBalancer::RoundRobin, &mut cursor, &mut b, 4, &mut out);
        assert_eq!(out, vec![0, 2, 0, 2]);
    }

    #[test]
    fn fails_open_when_nothing_is_healthy() {
        let mut b = backends(&[(false, 0), (false, 0)]);
        let (mut cursor, mut out) = (0, Vec::new());
        assign(LoadBalancer::RoundRobin, &mut cursor, &mut b, 3, &mut out);
        assert_eq!(out, vec![0, 1, 0]);
    }

    #[test]
    fn least_connections_fills_the_idle_instance_first() {
        let mut b = backends(&[(true, 3), (true, 0), (true, 1)]);
        let (mut cursor, mut out) = (0, Vec::new());
        assign(LoadBalancer::LeastConnections, &mut cursor, &mut b, 4, &mut out);
        assert_eq!(out, vec![1, 2, 1, 2]);
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
