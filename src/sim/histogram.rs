//! Latency histograms with cumulative `le` buckets, read the way Prometheus'
//! `histogram_quantile` reads them.

use std::sync::LazyLock;

/// Buckets per doubling: bounds grow by 2^(1/6) ≈ 12%, so interpolation error stays small.
const PER_OCTAVE: f64 = 6.0;
/// The first bucket's upper bound, in seconds.
const FIRST_BOUND: f64 = 0.001;
/// Finite buckets: 1 ms to about 5 minutes.
pub const FINITE_BUCKETS: usize = 110;

/// Upper bound (`le`) of finite bucket `k`, in seconds.
pub fn bucket_bound(k: usize) -> f64 {
    BOUNDS[k]
}

static BOUNDS: LazyLock<[f64; FINITE_BUCKETS]> =
    LazyLock::new(|| std::array::from_fn(|k| FIRST_BOUND * libm::exp2(k as f64 / PER_OCTAVE)));

/// Counts of observations per bucket; the last slot is `+Inf`.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    counts: Box<[u64]>,
    total: u64,
    sum: f64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: vec![0; FINITE_BUCKETS + 1].into_boxed_slice(),
            total: 0,
            sum: 0.0,
        }
    }
}

impl Histogram {
    pub fn observe(&mut self, seconds: f64) {
        let slot = if seconds <= FIRST_BOUND {
            0
        } else {
            let k = libm::ceil(PER_OCTAVE * libm::log2(seconds / FIRST_BOUND)) as usize;
            // Guard against the rounding of log2 placing a value one bucket off.
            let k = if k < FINITE_BUCKETS && seconds > bucket_bound(k) {
                k + 1
            } else if k > 0 && seconds <= bucket_bound(k - 1) {
                k - 1
            } else {
                k
            };
            k.min(FINITE_BUCKETS)
        };
        self.counts[slot] += 1;
        self.total += 1;
        self.sum += seconds;
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += b;
        }
        self.total += other.total;
        self.sum += other.sum;
    }

    pub fn clear(&mut self) {
        self.counts.fill(0);
        self.total = 0;
        self.sum = 0.0;
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    pub fn mean(&self) -> Option<f64> {
        (self.total > 0).then(|| self.sum / self.total as f64)
    }

    /// Observations at or below `seconds`, counted from whole buckets (as a `le` series would).
    pub fn count_le(&self, seconds: f64) -> u64 {
        (0..FINITE_BUCKETS)
            .take_while(|&k| bucket_bound(k) <= seconds * (1.0 + 1e-12))
            .map(|k| self.counts[k])
            .sum()
    }

    /// The cumulative `(le, count)` series, `+Inf` last.
    pub fn cumulative(&self) -> Vec<(f64, u64)> {
        let mut running = 0;
        self.counts
            .iter()
            .enumerate()
            .map(|(k, &count)| {
                running += count;
                let le = if k < FINITE_BUCKETS { bucket_bound(k) } else { f64::INFINITY };
                (le, running)
            })
            .collect()
    }

    pub fn quantile(&self, q: f64) -> Option<f64> {
        histogram_quantile(q, &self.cumulative())
    }
}

/// Prometheus' `histogram_quantile` over cumulative `(le, count)` buckets ending in `+Inf`:
/// find the bucket where the cumulative count reaches `q * total` and interpolate linearly
/// inside it; in the `+Inf` bucket, answer the highest finite bound; no observations, no value.
pub fn histogram_quantile(q: f64, buckets: &[(f64, u64)]) -> Option<f64> {
    let &(_, total) = buckets.last()?;
    if total == 0 || q.is_nan() {
        return None;
    }
    if q < 0.0 {
        return Some(f64::NEG_INFINITY);
    }
    if q > 1.0 {
        return Some(f64::INFINITY);
    }
    let rank = q * total as f64;
    let k = buckets.iter().position(|&(_, c)| c as f64 >= rank)?;
    if buckets[k].0.is_infinite() {
        return Some(if k == 0 { 0.0 } else { buckets[k - 1].0 });
    }
    let (lower, below) = if k == 0 { (0.0, 0) } else { buckets[k - 1] };
    let (upper, at) = buckets[k];
    let in_bucket = (at - below) as f64;
    if in_bucket == 0.0 {
        return Some(upper);
    }
    Some(lower + (upper - lower) * (rank - below as f64) / in_bucket)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_prometheus_interpolation() {
        // Buckets le=0.1: 10, le=0.2: 30, le=+Inf: 40 (hand-computed).
        let buckets = [(0.1, 10), (0.2, 30), (f64::INFINITY, 40)];
        // rank 20 falls in (0.1, 0.2]: 0.1 + 0.1 * (20 - 10) / 20 = 0.15.
        assert!((histogram_quantile(0.5, &buckets).unwrap() - 0.15).abs() < 1e-12);
        // rank 5 in the first bucket, interpolated from 0: 0.05.
        assert!((histogram_quantile(0.125, &buckets).unwrap() - 0.05).abs() < 1e-12);
        // rank 39.6 is in +Inf: the highest finite bound.
        assert_eq!(histogram_quantile(0.99, &buckets), Some(0.2));
        assert_eq!(histogram_quantile(0.5, &[(0.1, 0), (f64::INFINITY, 0)]), None);
    }

    #[test]
    fn buckets_hold_their_values() {
        let mut h = Histogram::default();
        for &v in &[0.0005, 0.001, 0.0011, 0.05, 1.0, 250.0, 1e6] {
            h.observe(v);
        }
        let cumulative = h.cumulative();
        assert_eq!(cumulative.last().unwrap().1, 7);
        assert_eq!(h.count_le(0.001), 2);
        assert_eq!(h.count_le(1e5), 6);
        for k in 1..FINITE_BUCKETS {
            let mut one = Histogram::default();
            let bound = bucket_bound(k);
            one.observe(bound);
            assert_eq!(one.count_le(bound), 1, "bound {bound} in its own bucket");
            one.observe(bound * 1.0001);
            assert_eq!(one.count_le(bound), 1);
        }
    }

    #[test]
    fn quantiles_of_uniform_data_are_close() {
        let mut h = Histogram::default();
        for i in 1..=10_000 {
            h.observe(i as f64 / 10_000.0);
        }
        for q in [0.5, 0.9, 0.99] {
            // The top bucket reaches past the data's end, so its interpolation overshoots a little.
            let got = h.quantile(q).unwrap();
            assert!((got / q - 1.0).abs() < 0.025, "q{q}: {got}");
        }
    }
}
