//! Seeded, portable randomness: ChaCha8 streams per entity and the distributions the model
//! draws. The exponential and the normal are drawn by Marsaglia and Tsang's ziggurat: one
//! 64-bit draw, a multiply and a compare about 99% of the time, instead of a logarithm (and a
//! cosine) per draw. Its tables and rare slow paths use `libm`, never the platform's maths
//! library, so every platform draws the same bits.

use std::ops::{Deref, DerefMut};
use std::sync::LazyLock;

use rand::rngs::ChaCha8Rng;
use rand::{Rng, RngExt, SeedableRng};

use crate::scenario::{ServiceTime, lognormal_sigma};

/// Independent stream families, so adding a source never shifts an instance's draws.
pub const STREAM_INSTANCE: u64 = 0;
pub const STREAM_SOURCE: u64 = 1 << 40;
pub const STREAM_FAULT: u64 = 2 << 40;

/// The generator for entity `id` of a run seeded with `seed`.
pub fn stream(seed: u64, id: u64) -> Stream {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(id);
    Stream(rng)
}

/// An entity's generator, which a snapshot of the run copies to carry on from where it
/// stands. (ChaCha8 is not `Clone`, so that a stream is not duplicated by accident.)
#[derive(Debug)]
pub struct Stream(ChaCha8Rng);

impl Clone for Stream {
    fn clone(&self) -> Self {
        Self(ChaCha8Rng::deserialize_state(&self.0.serialize_state()))
    }
}

impl Deref for Stream {
    type Target = ChaCha8Rng;

    fn deref(&self) -> &ChaCha8Rng {
        &self.0
    }
}

impl DerefMut for Stream {
    fn deref_mut(&mut self) -> &mut ChaCha8Rng {
        &mut self.0
    }
}

/// Uniform in [0, 1).
pub fn uniform(rng: &mut ChaCha8Rng) -> f64 {
    rng.random::<f64>()
}

/// Exponential with the given mean.
pub fn exponential(rng: &mut ChaCha8Rng, mean: f64) -> f64 {
    mean * EXPONENTIAL.draw(rng)
}

/// Standard normal.
pub fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    NORMAL.draw(rng)
}

/// e^x to within a few units in the last place, for the lognormal's draws: a table of
/// 2^(j/64) and a degree-5 polynomial, with no division and no branch in the common case
/// (`libm::exp` divides). Only IEEE basic operations, so it is the same on every platform.
pub fn exp(x: f64) -> f64 {
    if !(-700.0..=700.0).contains(&x) {
        // Overflow, underflow to subnormals, infinities and NaN.
        return libm::exp(x);
    }
    const STEPS: f64 = 64.0;
    // Adding 1.5 * 2^52 rounds to the nearest integer (ties to even) and leaves it in the
    // low bits: k = round(x * 64 / ln 2).
    const ROUNDER: f64 = 6_755_399_441_055_744.0;
    // ln 2 / 64 in two parts; the first has trailing zeros so k times it is exact.
    const LN2_HI: f64 = 6.931_471_803_691_238e-1 / STEPS;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10 / STEPS;
    let shifted = x * (STEPS / std::f64::consts::LN_2) + ROUNDER;
    let k = shifted.to_bits() as i64 as i32;
    let kf = shifted - ROUNDER;
    // x = k ln2 / 64 + r with |r| <= ln 2 / 128, where the Taylor series to r^5 is exact to
    // 3.5e-17.
    let r = (x - kf * LN2_HI) - kf * LN2_LO;
    let p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0)))));
    let scale = f64::from_bits(((1023 + i64::from(k >> 6)) as u64) << 52);
    EXP2_SIXTY_FOURTHS[(k & 63) as usize] * p * scale
}

/// 2^(j/64) for j in 0..64.
static EXP2_SIXTY_FOURTHS: LazyLock<[f64; 64]> =
    LazyLock::new(|| std::array::from_fn(|j| libm::exp2(j as f64 / 64.0)));

/// The layers of a ziggurat: 256 strips of equal area `v` under a decreasing density `f`
/// on `[0, ∞)` (unnormalised, `f(0) = 1`), the base strip carrying the tail beyond `r`.
struct Ziggurat {
    /// `x[i]` is the right edge of strip `i`'s box; `x[0] = v / f(r)` is the base strip's
    /// width as if its tail were a box, `x[1] = r`, and `x[256] = 0`.
    x: [f64; 257],
    /// `f[i] = f(x[i])`.
    f: [f64; 257],
    density: fn(f64) -> f64,
    /// Draws from the density beyond `r`, the base strip's tail.
    tail: fn(&mut ChaCha8Rng) -> f64,
    /// Whether the density is mirrored about 0 (a random sign).
    symmetric: bool,
}

// Where the exponential's and the normal's 256-strip ziggurats (Marsaglia and Tsang, 2000)
// start their tails, and each strip's area.
const EXPONENTIAL_R: f64 = 7.697_117_470_131_05;
const EXPONENTIAL_V: f64 = 3.949_659_822_581_557e-3;
const NORMAL_R: f64 = 3.654_152_885_361_009;
const NORMAL_V: f64 = 4.928_673_233_99e-3;

static EXPONENTIAL: LazyLock<Ziggurat> = LazyLock::new(|| {
    Ziggurat::new(
        EXPONENTIAL_R,
        EXPONENTIAL_V,
        |x| libm::exp(-x),
        |y| -libm::log(y),
        // Memoryless: beyond r, r plus an exponential (by inversion).
        |rng| EXPONENTIAL_R - libm::log(1.0 - uniform(rng)),
        false,
    )
});

static NORMAL: LazyLock<Ziggurat> = LazyLock::new(|| {
    Ziggurat::new(
        NORMAL_R,
        NORMAL_V,
        |x| libm::exp(-0.5 * x * x),
        |y| libm::sqrt(-2.0 * libm::log(y)),
        // Beyond r, by Marsaglia's method (1964).
        |rng| loop {
            let x = -libm::log(1.0 - uniform(rng)) / NORMAL_R;
            let y = -libm::log(1.0 - uniform(rng));
            if 2.0 * y > x * x {
                return NORMAL_R + x;
            }
        },
        true,
    )
});

impl Ziggurat {
    /// The strips under `density` (given with its inverse), from the base edge `r`, each of
    /// area `v`.
    fn new(
        r: f64,
        v: f64,
        density: fn(f64) -> f64,
        density_inverse: fn(f64) -> f64,
        tail: fn(&mut ChaCha8Rng) -> f64,
        symmetric: bool,
    ) -> Self {
        let mut x = [0.0; 257];
        x[0] = v / density(r);
        x[1] = r;
        for i in 2..256 {
            // Strip i-1 spans heights f(x[i-1]) to f(x[i]) with area v = x[i-1] * height.
            x[i] = density_inverse(density(x[i - 1]) + v / x[i - 1]);
        }
        let f = x.map(density);
        Self {
            x,
            f,
            density,
            tail,
            symmetric,
        }
    }

    fn draw(&self, rng: &mut ChaCha8Rng) -> f64 {
        loop {
            let bits = rng.next_u64();
            let strip = (bits & 0xff) as usize;
            let negative = self.symmetric && bits & 0x100 != 0;
            // The top 53 bits, uniform in [0, 1), independent of the strip and the sign.
            let u = (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
            let x = u * self.x[strip];
            let sign = if negative { -1.0 } else { 1.0 };
            if x < self.x[strip + 1] {
                // Inside the box below the next strip: under the curve for sure.
                return sign * x;
            }
            if strip == 0 {
                return sign * (self.tail)(rng);
            }
            // The wedge between the curve and the box: accept under the curve.
            let y = self.f[strip] + uniform(rng) * (self.f[strip + 1] - self.f[strip]);
            if y < (self.density)(x) {
                return sign * x;
            }
        }
    }
}

/// A service-time distribution with its parameters precomputed.
#[derive(Clone, Copy, Debug)]
pub enum Sampler {
    Exponential { mean: f64 },
    LogNormal { mu: f64, sigma: f64 },
    Constant { value: f64 },
}

impl Sampler {
    pub fn new(time: ServiceTime) -> Self {
        match time {
            ServiceTime::Exponential { mean } => Self::Exponential { mean: mean.get() },
            ServiceTime::Constant { value } => Self::Constant { value: value.get() },
            ServiceTime::LogNormal { median, p99 } => Self::LogNormal {
                mu: libm::log(median.get()),
                sigma: lognormal_sigma(median.get(), p99.get()),
            },
        }
    }

    pub fn sample(self, rng: &mut ChaCha8Rng) -> f64 {
        match self {
            Self::Exponential { mean } => exponential(rng, mean),
            Self::Constant { value } => value,
            Self::LogNormal { mu, sigma } => exp(mu + sigma * standard_normal(rng)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Seconds;

    /// A copied stream draws what the original would next, wherever in a block it stood.
    #[test]
    fn a_copied_stream_carries_on_where_the_original_stood() {
        for words in [0, 1, 7, 16, 63, 64, 65, 1_001] {
            let mut original = stream(5, 9);
            for _ in 0..words {
                original.next_u32();
            }
            let mut copy = original.clone();
            let next: Vec<u64> = (0..300).map(|_| original.next_u64()).collect();
            let copied: Vec<u64> = (0..300).map(|_| copy.next_u64()).collect();
            assert_eq!(next, copied, "after {words} words");
        }
    }

    fn moments(sampler: Sampler, n: usize) -> (f64, Vec<f64>) {
        let mut rng = stream(11, 3);
        let mut xs: Vec<f64> = (0..n).map(|_| sampler.sample(&mut rng)).collect();
        xs.sort_by(f64::total_cmp);
        (xs.iter().sum::<f64>() / n as f64, xs)
    }

    #[test]
    fn exponential_mean() {
        let (mean, _) = moments(
            Sampler::new(ServiceTime::Exponential {
                mean: Seconds(0.02),
            }),
            200_000,
        );
        assert!((mean / 0.02 - 1.0).abs() < 0.01, "{mean}");
    }

    #[test]
    fn lognormal_matches_median_and_p99() {
        let time = ServiceTime::LogNormal {
            median: Seconds(0.02),
            p99: Seconds(0.2),
        };
        let (mean, xs) = moments(Sampler::new(time), 200_000);
        let median = xs[xs.len() / 2];
        let p99 = xs[xs.len() * 99 / 100];
        assert!((median / 0.02 - 1.0).abs() < 0.02, "{median}");
        assert!((p99 / 0.2 - 1.0).abs() < 0.05, "{p99}");
        assert!(
            (mean / time.mean() - 1.0).abs() < 0.03,
            "{mean} vs {}",
            time.mean()
        );
    }

    /// The Kolmogorov-Smirnov distance between `n` draws and the distribution `cdf`.
    fn ks_distance(mut draw: impl FnMut(&mut ChaCha8Rng) -> f64, cdf: fn(f64) -> f64) -> f64 {
        let n = 400_000;
        let mut rng = stream(5, 9);
        let mut xs: Vec<f64> = (0..n).map(|_| draw(&mut rng)).collect();
        xs.sort_by(f64::total_cmp);
        xs.iter()
            .enumerate()
            .map(|(k, &x)| {
                let c = cdf(x);
                (c - k as f64 / n as f64).max((k + 1) as f64 / n as f64 - c)
            })
            .fold(0.0, f64::max)
    }

    /// The 0.1% critical value of the Kolmogorov-Smirnov distance for 400,000 draws,
    /// 1.95 / sqrt(n): a correct sampler fails this one run in a thousand seeds, and a wrong
    /// strip (1/256 of the mass misplaced) fails it every time.
    const KS_CRITICAL: f64 = 1.95 / 632.455_532_033_675_9;

    #[test]
    fn the_ziggurats_strips_each_hold_the_same_area() {
        for (zig, v) in [(&*EXPONENTIAL, EXPONENTIAL_V), (&*NORMAL, NORMAL_V)] {
            assert_eq!(zig.x[256], 0.0);
            for i in 1..256 {
                let area = zig.x[i] * (zig.f[i + 1] - zig.f[i]);
                assert!((area / v - 1.0).abs() < 1e-6, "strip {i}: {area} vs {v}");
            }
        }
    }

    /// Pearson's chi-square of 4,000,000 draws of `|draw|` counted in each strip's inner and
    /// outer half and the tail: 513 bins, whose expected counts come from `cdf`. The wedges
    /// (the rare slow path) sit in the outer halves, so a wrong wedge test shows here.
    fn chi_square_by_strip(
        zig: &Ziggurat,
        draw: fn(&mut ChaCha8Rng) -> f64,
        cdf: fn(f64) -> f64,
    ) -> f64 {
        let mut edges: Vec<f64> = (1..=256)
            .rev()
            .flat_map(|i| [zig.x[i], 0.5 * (zig.x[i] + zig.x[i - 1].min(zig.x[1]))])
            .collect();
        edges.push(zig.x[1]);
        edges.dedup();
        let n = 4_000_000;
        let mut counts = vec![0u64; edges.len()];
        let mut rng = stream(8, 2);
        for _ in 0..n {
            let x = draw(&mut rng).abs();
            counts[edges.partition_point(|&e| e <= x) - 1] += 1;
        }
        counts
            .iter()
            .enumerate()
            .map(|(k, &count)| {
                let upper = edges.get(k + 1).map_or(1.0, |&e| cdf(e));
                let expected = n as f64 * (upper - cdf(edges[k]));
                (count as f64 - expected).powi(2) / expected
            })
            .sum()
    }

    /// The 0.1% critical value of chi-square with 512 degrees of freedom.
    const CHI_SQUARE_CRITICAL: f64 = 620.0;

    #[test]
    fn every_strip_and_wedge_holds_its_mass() {
        let exponential = chi_square_by_strip(
            &EXPONENTIAL,
            |rng| exponential(rng, 1.0),
            |x| 1.0 - libm::exp(-x),
        );
        assert!(
            exponential < CHI_SQUARE_CRITICAL,
            "exponential: {exponential}"
        );
        let normal = chi_square_by_strip(&NORMAL, standard_normal, |x| {
            libm::erf(x / std::f64::consts::SQRT_2)
        });
        assert!(normal < CHI_SQUARE_CRITICAL, "normal: {normal}");
    }

    #[test]
    fn exponential_draws_follow_the_exponential_distribution() {
        let d = ks_distance(|rng| exponential(rng, 2.0), |x| 1.0 - libm::exp(-x / 2.0));
        assert!(d < KS_CRITICAL, "KS distance {d} against {KS_CRITICAL}");
    }

    #[test]
    fn normal_draws_follow_the_normal_distribution() {
        let d = ks_distance(standard_normal, |x| {
            0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
        });
        assert!(d < KS_CRITICAL, "KS distance {d} against {KS_CRITICAL}");
        // The tails beyond r, drawn by their own method, hold their share of the mass.
        let mut rng = stream(3, 4);
        let n = 2_000_000;
        let beyond = (0..n)
            .filter(|_| standard_normal(&mut rng).abs() > NORMAL_R)
            .count() as f64;
        let expected = n as f64 * libm::erfc(NORMAL_R / std::f64::consts::SQRT_2);
        assert!(
            (beyond - expected).abs() < 4.0 * expected.sqrt(),
            "{beyond} beyond r, expected {expected}"
        );
    }

    #[test]
    fn exp_agrees_with_libm_within_a_few_ulp() {
        let mut rng = stream(2, 7);
        let mut worst: f64 = 0.0;
        let edges = [
            -700.0, -699.99, -1e-300, 0.0, 1e-300, 1e-10, 0.5, 699.99, 700.0,
        ];
        let wide: Vec<f64> = (0..1_000_000)
            .map(|_| 1400.0 * uniform(&mut rng) - 700.0)
            .collect();
        let narrow: Vec<f64> = (0..100_000)
            .map(|_| 8.0 * uniform(&mut rng) - 4.0)
            .collect();
        for x in wide.into_iter().chain(narrow).chain(edges) {
            let (ours, theirs) = (exp(x), libm::exp(x));
            worst = worst.max(((ours - theirs) / theirs).abs());
        }
        assert!(worst < 5.0 * f64::EPSILON, "worst relative error {worst}");
        assert_eq!(exp(0.0), 1.0);
        for x in [-800.0, 710.0, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(exp(x), libm::exp(x));
        }
        assert!(exp(f64::NAN).is_nan());
    }

    #[test]
    fn streams_differ_and_repeat() {
        let a: Vec<f64> = (0..4)
            .map({
                let mut r = stream(1, 0);
                move |_| uniform(&mut r)
            })
            .collect();
        let b: Vec<f64> = (0..4)
            .map({
                let mut r = stream(1, 0);
                move |_| uniform(&mut r)
            })
            .collect();
        let c: Vec<f64> = (0..4)
            .map({
                let mut r = stream(1, 1);
                move |_| uniform(&mut r)
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
