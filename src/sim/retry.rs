//! The client-side rules shared by traffic sources and calling services: backoff with
//! jitter, and the retry budget (token bucket).

use rand::rngs::ChaCha8Rng;

use crate::scenario::{Backoff, Jitter};

use super::random::uniform;
use super::topology::RetryPolicy;

/// Delay before retry number `attempt` (1 for the first retry).
/// `previous` is the last delay, used by decorrelated jitter.
pub fn backoff_delay(backoff: Backoff, attempt: u32, previous: f64, rng: &mut ChaCha8Rng) -> f64 {
    match backoff {
        Backoff::Immediate => 0.0,
        Backoff::Exponential { base, cap, jitter } => {
            let (base, cap) = (base.get(), cap.get());
            let expo = (base * 2f64.powi(attempt.saturating_sub(1).min(62) as i32)).min(cap);
            match jitter {
                Jitter::None => expo,
                Jitter::Full => uniform(rng) * expo,
                Jitter::Equal => expo / 2.0 + uniform(rng) * expo / 2.0,
                Jitter::Decorrelated => {
                    let high = (3.0 * previous.max(base)).max(base);
                    (base + uniform(rng) * (high - base)).min(cap)
                }
            }
        }
    }
}

/// Per-client retry state: the token bucket and the last backoff.
#[derive(Clone, Copy, Debug)]
pub struct RetryState {
    pub tokens: f64,
}

impl RetryState {
    pub fn new(policy: &RetryPolicy) -> Self {
        Self {
            tokens: policy.budget.map_or(0.0, |b| b.max_tokens),
        }
    }

    /// A success deposits `ratio` tokens, up to the bucket's size.
    pub fn on_success(&mut self, policy: &RetryPolicy) {
        if let Some(budget) = policy.budget {
            self.tokens = (self.tokens + budget.ratio).min(budget.max_tokens);
        }
    }

    /// Whether retry number `attempt` may be sent; spends a token when a budget applies.
    pub fn allow(&mut self, policy: &RetryPolicy, attempt: u32) -> bool {
        if attempt > policy.retries {
            return false;
        }
        match policy.budget {
            None => true,
            // A tenth deposited ten times is 0.999..., not 1: allow for the rounding.
            Some(_) if self.tokens >= 1.0 - 1e-9 => {
                self.tokens -= 1.0;
                true
            }
            Some(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{RetryBudget, Seconds};
    use crate::sim::random::stream;

    fn expo(jitter: Jitter) -> Backoff {
        Backoff::Exponential {
            base: Seconds(0.1),
            cap: Seconds(1.0),
            jitter,
        }
    }

    #[test]
    fn exponential_doubles_up_to_the_cap() {
        let mut rng = stream(1, 1);
        let delays: Vec<f64> = (1..=6)
            .map(|n| backoff_delay(expo(Jitter::None), n, 0.0, &mut rng))
            .collect();
        assert_eq!(delays, vec![0.1, 0.2, 0.4, 0.8, 1.0, 1.0]);
    }

    #[test]
    fn jitter_stays_in_its_range() {
        let mut rng = stream(1, 2);
        for n in 1..8 {
            let cap = (0.1 * 2f64.powi(n as i32 - 1)).min(1.0);
            let full = backoff_delay(expo(Jitter::Full), n, 0.0, &mut rng);
            assert!((0.0..=cap).contains(&full));
            let equal = backoff_delay(expo(Jitter::Equal), n, 0.0, &mut rng);
            assert!((cap / 2.0..=cap).contains(&equal));
            let prev = 0.3;
            let dec = backoff_delay(expo(Jitter::Decorrelated), n, prev, &mut rng);
            assert!((0.1..=0.9f64.min(1.0)).contains(&dec));
        }
    }

    #[test]
    fn budget_allows_one_retry_per_ten_successes() {
        let policy = RetryPolicy {
            honour_retry_after: true,
            timeout: 1.0,
            retries: 3,
            backoff: Backoff::Immediate,
            budget: Some(RetryBudget {
                ratio: 0.1,
                max_tokens: 2.0,
            }),
        };
        let mut state = RetryState::new(&policy);
        assert!(state.allow(&policy, 1));
        assert!(state.allow(&policy, 1));
        assert!(!state.allow(&policy, 1), "bucket empty");
        for _ in 0..10 {
            state.on_success(&policy);
        }
        assert!(state.allow(&policy, 1));
        assert!(!state.allow(&policy, 4), "beyond the retry count");
    }
}
