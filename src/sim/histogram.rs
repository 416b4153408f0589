//! Latency histograms with cumulative `le` buckets, read the way Prometheus'
//! `histogram_quantile` reads them.

/// The first bucket's upper bound, in seconds.
const FIRST_BOUND: f64 = 0.001;
/// Linear sub-buckets per doubling (log-linear, as HdrHistogram): bounds 6% to 12% apart.
const PER_OCTAVE: usize = 8;
/// Doublings above the first bound: 1 ms up to about 4.4 minutes.
const OCTAVES: usize = 18;
/// Finite buckets: the first (up to 1 ms), then the octaves.
pub const FINITE_BUCKETS: usize = 1 + OCTAVES * PER_OCTAVE;

/// Upper bound (`le`) of finite bucket `k`, in seconds.
pub fn bucket_bound(k: usize) -> f64 {
    if k == 0 {
        return FIRST_BOUND;
    }
    let (octave, step) = ((k - 1) / PER_OCTAVE, (k - 1) % PER_OCTAVE);
    FIRST_BOUND * (1u64 << octave) as f64 * (1.0 + (step + 1) as f64 / PER_OCTAVE as f64)
}

/// The bucket holding `seconds`, read off the float's exponent and top mantissa bits
/// (no logarithm: this runs once per simulated request).
fn bucket_of(seconds: f64) -> usize {
    let x = seconds / FIRST_BOUND;
    if x.is_nan() || x <= 1.0 {
        return 0;
    }
    let bits = x.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as usize - 1023;
    let mantissa = bits & ((1u64 << 52) - 1);
    let slot = if mantissa == 0 {
        // Exactly a power of two: the last bucket of the octave below.
        exponent * PER_OCTAVE
    } else {
        1 + exponent * PER_OCTAVE + ((mantissa - 1) >> (52 - PER_OCTAVE.trailing_zeros())) as usize
    };
    slot.min(FINITE_BUCKETS)
}

/// Counts of observations per bucket; the last slot is `+Inf`. Bounds that must be read
/// exactly (a latency SLO's threshold, which rarely falls on a bucket bound) are counted on
/// their own, so `count_le` at them is exact.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    counts: Box<[u64]>,
    /// Exact bounds and the observations at or below each.
    exact: Vec<(f64, u64)>,
    /// The buckets observed so far, `touched.0 ..= touched.1` (empty: `(len, 0)`). Latencies
    /// crowd into a few buckets, and tallies are merged and cleared every tick: only this
    /// range needs the work.
    touched: (usize, usize),
    total: u64,
    sum: f64,
}

const UNTOUCHED: (usize, usize) = (FINITE_BUCKETS + 1, 0);

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: vec![0; FINITE_BUCKETS + 1].into_boxed_slice(),
            exact: Vec::new(),
            touched: UNTOUCHED,
            total: 0,
            sum: 0.0,
        }
    }
}

impl Histogram {
    /// A histogram that also counts exactly at or below each of `bounds`.
    pub fn with_exact(bounds: &[f64]) -> Self {
        Self {
            exact: bounds.iter().map(|&b| (b, 0)).collect(),
            ..Self::default()
        }
    }

    pub fn observe(&mut self, seconds: f64) {
        for (bound, count) in &mut self.exact {
            if seconds <= *bound {
                *count += 1;
            }
        }
        let k = bucket_of(seconds);
        self.counts[k] += 1;
        self.touched = (self.touched.0.min(k), self.touched.1.max(k));
        self.total += 1;
        self.sum += seconds;
    }

    pub fn merge(&mut self, other: &Histogram) {
        if self.exact.is_empty() && !other.exact.is_empty() {
            self.exact = other.exact.iter().map(|&(b, _)| (b, 0)).collect();
        }
        for ((_, mine), (_, theirs)) in self.exact.iter_mut().zip(&other.exact) {
            *mine += theirs;
        }
        let (lo, hi) = other.touched;
        if lo > hi {
            return;
        }
        for (a, b) in self.counts[lo..=hi].iter_mut().zip(&other.counts[lo..=hi]) {
            *a += b;
        }
        self.touched = (self.touched.0.min(lo), self.touched.1.max(hi));
        self.total += other.total;
        self.sum += other.sum;
    }

    pub fn clear(&mut self) {
        for (_, count) in &mut self.exact {
            *count = 0;
        }
        let (lo, hi) = self.touched;
        if lo <= hi {
            self.counts[lo..=hi].fill(0);
        }
        self.touched = UNTOUCHED;
        self.total = 0;
        self.sum = 0.0;
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    pub fn mean(&self) -> Option<f64> {
        (self.total > 0).then(|| self.sum / self.total as f64)
    }

    /// Observations at or below `seconds`: exact at an exact bound, else counted from whole
    /// buckets (as a `le` series would).
    pub fn count_le(&self, seconds: f64) -> u64 {
        if let Some(&(_, count)) = self.exact.iter().find(|(b, _)| *b == seconds) {
            return count;
        }
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
                let le = if k < FINITE_BUCKETS {
                    bucket_bound(k)
                } else {
                    f64::INFINITY
                };
                (le, running)
            })
            .collect()
    }

    /// The `q` quantile, as `histogram_quantile` reads it, except where it falls in the open
    /// top bucket: then it is beyond every bound and reads `f64::INFINITY` (shown "> 262s"),
    /// not the highest bound, which would be a made-up figure.
    /// Read off the counts where they stand, without building the cumulative series (this
    /// runs for every service's p50, p90 and p99 every simulated second).
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.total;
        if total == 0 || q.is_nan() {
            return None;
        }
        if q < 0.0 {
            return Some(f64::NEG_INFINITY);
        }
        let rank = q * total as f64;
        let top = self.counts[FINITE_BUCKETS];
        if q > 1.0 || ((total - top) as f64) < rank {
            return Some(f64::INFINITY);
        }
        // The first bucket whose cumulative count reaches the rank, then linear inside it,
        // exactly as `histogram_quantile`.
        let mut below = 0;
        for (k, &count) in self.counts[..FINITE_BUCKETS].iter().enumerate() {
            let at = below + count;
            if at as f64 >= rank {
                let lower = if k == 0 { 0.0 } else { bucket_bound(k - 1) };
                let upper = bucket_bound(k);
                let in_bucket = count as f64;
                if in_bucket == 0.0 {
                    return Some(upper);
                }
                return Some(lower + (upper - lower) * (rank - below as f64) / in_bucket);
            }
            below = at;
        }
        // The finite buckets always reach the rank (it is at most their total).
        Some(f64::INFINITY)
    }
}

/// The highest finite bucket bound, in seconds: latencies above it are only known to be
/// above it.
pub fn top_bound() -> f64 {
    bucket_bound(FINITE_BUCKETS - 1)
}

/// A latency for people: "4.2ms", "1.25s", or "> 262s" beyond the top bucket.
pub fn describe_latency(seconds: f64) -> String {
    if seconds.is_infinite() {
        format!("> {:.0}s", top_bound())
    } else if seconds < 1.0 {
        format!("{:.1}ms", seconds * 1000.0)
    } else {
        format!("{seconds:.2}s")
    }
}

/// Serializes a latency quantile for JSON: a number of seconds, or the string "> 262.144"
/// beyond the top bucket (JSON has no infinity, and null would read as "no answers").
pub fn serialize_quantile<S: serde::Serializer>(
    value: &Option<f64>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) if v.is_infinite() => serializer.serialize_str(&format!("> {}", top_bound())),
        Some(v) => serializer.serialize_some(v),
        None => serializer.serialize_none(),
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

    /// What `quantile` must answer: Prometheus' reading of the cumulative series, and beyond
    /// every bound when the quantile falls in the open top bucket.
    fn quantile_by_the_series(histogram: &Histogram, q: f64) -> Option<f64> {
        let buckets = histogram.cumulative();
        let beyond = (0.0..=1.0).contains(&q)
            && (buckets[buckets.len() - 2].1 as f64) < q * histogram.total as f64;
        if beyond {
            return Some(f64::INFINITY);
        }
        histogram_quantile(q, &buckets)
    }

    #[test]
    fn quantiles_read_off_the_counts_equal_the_series_reading() {
        let mut state = 7u64;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let quantiles = [
            0.0,
            1e-9,
            0.25,
            0.5,
            0.9,
            0.99,
            0.999,
            1.0,
            -0.5,
            1.5,
            f64::NAN,
        ];
        for case in 0..200 {
            let mut histogram = Histogram::default();
            for _ in 0..case * 3 {
                // Log-uniform from 0.1 ms to 20 minutes: every bucket, the open top one too.
                histogram.observe(1e-4 * 1.2e7_f64.powf(next()));
            }
            for q in quantiles {
                let (read, expected) =
                    (histogram.quantile(q), quantile_by_the_series(&histogram, q));
                assert_eq!(
                    read.map(f64::to_bits),
                    expected.map(f64::to_bits),
                    "case {case}, q {q}: {read:?} against {expected:?}"
                );
            }
        }
    }

    #[test]
    fn a_threshold_between_bounds_is_counted_exactly() {
        // 1 s lies between the bounds 0.96 s and 1.024 s: read off buckets, a 980 ms answer
        // would count as slower than 1 s.
        let mut plain = Histogram::default();
        let mut exact = Histogram::with_exact(&[1.0]);
        for seconds in [0.5, 0.98, 1.0, 1.01] {
            plain.observe(seconds);
            exact.observe(seconds);
        }
        assert_eq!(plain.count_le(1.0), 1);
        assert_eq!(exact.count_le(1.0), 3);
        // Merged into totals and cleared every tick, the exact count follows.
        let mut totals = Histogram::default();
        totals.merge(&exact);
        totals.merge(&exact);
        assert_eq!(totals.count_le(1.0), 6);
        exact.clear();
        assert_eq!(exact.count_le(1.0), 0);
        assert_eq!(exact.cumulative(), Histogram::default().cumulative());
    }

    #[test]
    fn merging_and_clearing_the_touched_range_is_merging_and_clearing_everything() {
        let (early, late) = ([0.0005, 0.002, 0.003], [0.2, 1.5, 400.0, 0.0021]);
        let (mut a, mut b, mut all) = (
            Histogram::default(),
            Histogram::default(),
            Histogram::default(),
        );
        early.iter().for_each(|&x| a.observe(x));
        late.iter().for_each(|&x| b.observe(x));
        early.iter().chain(&late).for_each(|&x| all.observe(x));
        let mut merged = Histogram::default();
        merged.merge(&b);
        merged.merge(&Histogram::default());
        merged.merge(&a);
        assert_eq!(merged.cumulative(), all.cumulative());
        assert_eq!(merged.total(), 7);
        // A cleared histogram is as good as new, and reused, counts from zero.
        merged.clear();
        assert_eq!(merged, Histogram::default());
        merged.observe(0.2);
        assert_eq!(merged.count_le(0.25), 1);
        assert_eq!(merged.total(), 1);
    }

    #[test]
    fn a_quantile_in_the_open_top_bucket_is_beyond_the_top_bound() {
        let mut h = Histogram::default();
        for _ in 0..98 {
            h.observe(0.01);
        }
        h.observe(300.0);
        h.observe(1e6);
        // 2 of 100 beyond 262 s: the p99 is only known to be above it.
        assert_eq!(h.quantile(0.99), Some(f64::INFINITY));
        assert_eq!(describe_latency(h.quantile(0.99).unwrap()), "> 262s");
        assert!(h.quantile(0.98).unwrap() <= 0.0105);
        // Prometheus' reading of the same buckets answers the highest finite bound.
        assert_eq!(histogram_quantile(0.99, &h.cumulative()), Some(top_bound()));
        assert!((top_bound() - 262.144).abs() < 1e-9);
    }

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
        assert_eq!(
            histogram_quantile(0.5, &[(0.1, 0), (f64::INFINITY, 0)]),
            None
        );
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
            let bound = bucket_bound(k);
            assert!(bound > bucket_bound(k - 1));
            assert_eq!(bucket_of(bound), k, "bound {bound} is in its own bucket");
            assert_eq!(bucket_of(bound * 1.000_001), k + 1, "just above {bound}");
            assert_eq!(bucket_of(bound * 0.999_999), k, "just below {bound}");
        }
        assert_eq!(bucket_of(1e9), FINITE_BUCKETS);
        assert_eq!(bucket_of(0.0), 0);
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
