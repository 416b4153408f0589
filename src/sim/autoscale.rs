//! A horizontal pod autoscaler, as Kubernetes' HPA decides: every sync period it compares
//! the mean CPU utilisation of a service's instances with its target and asks for
//! `ceil(current × utilisation / target)` instances, leaves them alone within a tolerance,
//! adds at most the default scale-up policy allows (the larger of 100% and 4 instances per
//! period), and scales down only to the highest recommendation of the stabilisation window
//! (5 minutes by default), so a dip does not shed capacity a spike will need.

use std::collections::VecDeque;

use crate::scenario::AutoscaleSpec;

/// The replica count the HPA's formula asks for: `ceil(current × utilisation / target)`,
/// or `current` while the ratio is within `tolerance` of 1.
pub fn desired_replicas(current: u32, utilization: f64, target: f64, tolerance: f64) -> u32 {
    let ratio = utilization / target;
    if !ratio.is_finite() || (ratio - 1.0).abs() <= tolerance {
        return current;
    }
    // The product is a replica count: far below u32::MAX for any fleet validation accepts.
    (f64::from(current) * ratio).ceil().max(0.0) as u32
}

/// The most instances one scale-up may reach from `current`: the HPA's default policy
/// allows the larger of doubling and adding 4 pods per period.
pub fn scale_up_limit(current: u32) -> u32 {
    current.saturating_add(current.max(4))
}

/// One service's autoscaler: its settings, whether it is on, and its recent recommendations.
#[derive(Clone, Debug)]
pub struct Autoscaler {
    pub spec: AutoscaleSpec,
    pub enabled: bool,
    next_sync: f64,
    /// Recommendations (time, replicas) within the scale-down stabilisation window.
    recommendations: VecDeque<(f64, u32)>,
}

impl Autoscaler {
    pub fn new(spec: AutoscaleSpec) -> Self {
        Self {
            next_sync: spec.sync.get(),
            spec,
            enabled: true,
            recommendations: VecDeque::new(),
        }
    }

    /// Whether a sync is due at `now`.
    pub fn due(&self, now: f64) -> bool {
        self.enabled && now + 1e-9 >= self.next_sync
    }

    /// Turns it on or off; turned back on, it starts afresh (no memory of old recommendations).
    pub fn set_enabled(&mut self, enabled: bool, now: f64) {
        if enabled && !self.enabled {
            self.recommendations.clear();
            self.next_sync = now + self.spec.sync.get();
        }
        self.enabled = enabled;
    }

    /// A sync at `now` with `current` instances at mean `utilization` of their cores: the
    /// instance count it decides on.
    pub fn sync(&mut self, now: f64, current: u32, utilization: f64) -> u32 {
        let spec = &self.spec;
        self.next_sync = now + spec.sync.get();
        let desired = desired_replicas(current, utilization, spec.target_cpu, spec.tolerance)
            .clamp(spec.min, spec.max);
        self.recommendations.push_back((now, desired));
        let window = spec.scale_down_window.get();
        while self
            .recommendations
            .front()
            .is_some_and(|&(at, _)| now - at > window + 1e-9)
        {
            self.recommendations.pop_front();
        }
        if desired > current {
            desired.min(scale_up_limit(current))
        } else {
            let highest = self
                .recommendations
                .iter()
                .map(|&(_, r)| r)
                .max()
                .unwrap_or(desired);
            highest.min(current).max(spec.min)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Seconds;

    fn spec() -> AutoscaleSpec {
        AutoscaleSpec {
            min: 2,
            max: 20,
            target_cpu: 0.6,
            sync: Seconds::new(15.0),
            scale_down_window: Seconds::new(300.0),
            tolerance: 0.1,
        }
    }

    #[test]
    fn the_formula_is_the_hpa_s() {
        // Kubernetes' documented example: 1 replica at 200m against a 100m target wants 2.
        assert_eq!(desired_replicas(1, 2.0, 1.0, 0.1), 2);
        // 4 instances at 90% against 60%: ceil(4 × 1.5) = 6.
        assert_eq!(desired_replicas(4, 0.9, 0.6, 0.1), 6);
        // 10 instances at 25% against 60%: ceil(10 × 0.4167) = 5.
        assert_eq!(desired_replicas(10, 0.25, 0.6, 0.1), 5);
        // Within the 10% tolerance, nothing moves: 0.65 / 0.6 = 1.083.
        assert_eq!(desired_replicas(7, 0.65, 0.6, 0.1), 7);
        assert_eq!(desired_replicas(7, 0.67, 0.6, 0.1), 8);
    }

    #[test]
    fn scale_up_adds_at_most_the_larger_of_double_and_four() {
        assert_eq!(scale_up_limit(2), 6);
        assert_eq!(scale_up_limit(10), 20);
        let mut hpa = Autoscaler::new(spec());
        // 2 instances saturated at 100% want ceil(2 × 1.667) = 4: within the limit.
        assert_eq!(hpa.sync(15.0, 2, 1.0), 4);
        // 3 instances at 100% of a 10% target want 30, clamped to max 20, limited to 3 + 4.
        let mut eager = Autoscaler::new(AutoscaleSpec {
            target_cpu: 0.1,
            ..spec()
        });
        assert_eq!(eager.sync(15.0, 3, 1.0), 7);
    }

    #[test]
    fn scale_down_waits_out_the_stabilisation_window() {
        let mut hpa = Autoscaler::new(spec());
        // Busy at 60% with 8 instances, then load drops to a quarter.
        assert_eq!(hpa.sync(15.0, 8, 0.6), 8);
        let mut replicas = 8;
        let mut t = 15.0;
        while t < 15.0 + 300.0 {
            t += 15.0;
            replicas = hpa.sync(t, replicas, 0.15);
            assert_eq!(
                replicas, 8,
                "held at {t}: the busy recommendation is in the window"
            );
        }
        // The busy recommendation has left the window: down to ceil(8 × 0.25) = 2.
        t += 15.0;
        assert_eq!(hpa.sync(t, replicas, 0.15), 2);
        // Never below min.
        assert_eq!(hpa.sync(t + 15.0, 2, 0.0), 2);
    }

    #[test]
    fn turned_off_it_never_syncs_and_turned_on_it_starts_afresh() {
        let mut hpa = Autoscaler::new(spec());
        assert!(hpa.due(15.0));
        hpa.set_enabled(false, 20.0);
        assert!(!hpa.due(1000.0));
        hpa.set_enabled(true, 1000.0);
        assert!(!hpa.due(1010.0));
        assert!(hpa.due(1015.0));
        // No old recommendation holds a scale-down.
        assert_eq!(hpa.sync(1015.0, 8, 0.15), 2);
    }
}
