//! Seeded, portable randomness: ChaCha8 streams per entity and the distributions the model
//! draws, computed with `libm` so every platform draws the same bits.

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

use crate::scenario::{ServiceTime, lognormal_sigma};

/// Independent stream families, so adding a source never shifts an instance's draws.
pub const STREAM_INSTANCE: u64 = 0;
pub const STREAM_SOURCE: u64 = 1 << 40;
pub const STREAM_FAULT: u64 = 2 << 40;

/// The generator for entity `id` of a run seeded with `seed`.
pub fn stream(seed: u64, id: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(id);
    rng
}

/// Uniform in [0, 1).
pub fn uniform(rng: &mut ChaCha8Rng) -> f64 {
    rng.random::<f64>()
}

/// Exponential with the given mean.
pub fn exponential(rng: &mut ChaCha8Rng, mean: f64) -> f64 {
    -mean * libm::log(1.0 - uniform(rng))
}

/// Standard normal, by Box-Muller (portable: no platform-specific float paths).
pub fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = 1.0 - uniform(rng);
    let u2 = uniform(rng);
    libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(std::f64::consts::TAU * u2)
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
            Self::LogNormal { mu, sigma } => libm::exp(mu + sigma * standard_normal(rng)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Seconds;

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
