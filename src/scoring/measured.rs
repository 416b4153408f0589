//! What the engine measured because it is deterministic: what each change did to users (the
//! same session without it) and what doing nothing and the reference response got. The
//! session layer runs those simulations; the rules here classify and compare their results,
//! so scoring stays a pure function of numbers it is given.

use serde::Serialize;

use crate::incident::clock;

/// The smallest share of a budget worth calling an effect: below it, a change is neutral.
pub const MATERIAL_BUDGET: f64 = 0.0005;
/// How far above chance a difference in bad requests must be: this many standard deviations
/// of a Poisson count of the two runs' bad requests together.
pub const SIGNIFICANT_SIGMAS: f64 = 3.0;
/// The span of budget an outcome is judged over when doing nothing would cost less than it
/// more than the reference: a quiet shift still penalises a change that burns budget.
pub const OUTCOME_FLOOR: f64 = 0.005;

/// What users got over a whole run, per SLO in scenario order.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Spend {
    /// Bad requests (failed, or slower than a latency SLO's threshold).
    pub requests: Vec<u64>,
}

impl Spend {
    pub fn total(&self) -> u64 {
        self.requests.iter().sum()
    }

    /// The shares of their budgets these requests spent, summed over SLOs: spending 2% of
    /// two budgets costs more than 2% of one.
    pub fn budget(&self, budget_events: &[f64]) -> f64 {
        self.requests
            .iter()
            .zip(budget_events)
            .map(|(bad, events)| *bad as f64 / events.max(1.0))
            .sum()
    }
}

/// A change's measured effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Effect {
    /// Users got measurably fewer bad requests with it than without it.
    Helpful,
    /// No difference beyond chance, or too small to matter.
    Neutral,
    /// Users got measurably more bad requests with it.
    Harmful,
}

/// What one change did: the session with it against the same session without it, from the
/// moment it applied to the end of the shift.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChangeEffect {
    pub at_s: f64,
    /// The change as the debrief names it: "Rollback(checkout)".
    pub change: String,
    /// Per SLO: bad requests it saved (negative: it caused them).
    pub saved_requests: Vec<i64>,
    /// Per SLO: share of the budget it saved (negative: it cost).
    pub saved_budget: Vec<f64>,
    pub effect: Effect,
}

impl ChangeEffect {
    /// Compares the run `with` the change against the run `without` it. `budget_events` is
    /// each SLO's budget in requests (the session's).
    pub fn measure(
        at_s: f64,
        change: String,
        with: &Spend,
        without: &Spend,
        budget_events: &[f64],
    ) -> Self {
        let saved_requests: Vec<i64> = without
            .requests
            .iter()
            .zip(&with.requests)
            .map(|(w, c)| *w as i64 - *c as i64)
            .collect();
        let saved_budget: Vec<f64> = saved_requests
            .iter()
            .zip(budget_events)
            .map(|(saved, events)| *saved as f64 / events.max(1.0))
            .collect();
        let effect = classify(
            saved_requests.iter().sum(),
            saved_budget.iter().sum(),
            with.total() + without.total(),
        );
        Self {
            at_s,
            change,
            saved_requests,
            saved_budget,
            effect,
        }
    }

    /// "Rollback(checkout) at 9m: saved 2.5% of checkout-availability's budget, 4,200 bad
    /// requests" (the SLOs it changed most, up to two).
    pub fn describe(&self, slos: &[String]) -> String {
        let verb = match self.effect {
            Effect::Helpful => "saved",
            Effect::Harmful => "cost",
            Effect::Neutral => {
                return format!(
                    "{} at {}: no measurable effect on users",
                    self.change,
                    clock(self.at_s)
                );
            }
        };
        let sign = if self.effect == Effect::Helpful {
            1.0
        } else {
            -1.0
        };
        let mut moved: Vec<(usize, f64)> = self
            .saved_budget
            .iter()
            .enumerate()
            .map(|(i, b)| (i, b * sign))
            .filter(|(_, b)| *b * 100.0 >= 0.05)
            .collect();
        moved.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let parts: Vec<String> = moved
            .iter()
            .take(2)
            .map(|(i, b)| {
                format!(
                    "{:.1}% of {}'s budget, {} bad requests",
                    b * 100.0,
                    slos.get(*i).map_or("an SLO", String::as_str),
                    thousands((self.saved_requests[*i] as f64 * sign) as u64)
                )
            })
            .collect();
        format!(
            "{} at {}: {verb} {}",
            self.change,
            clock(self.at_s),
            if parts.is_empty() {
                "a little".to_string()
            } else {
                parts.join(" and ")
            }
        )
    }
}

/// A difference in bad requests is an effect when it is beyond chance (a Poisson count's
/// spread over both runs' bad requests) and it matters (at least [`MATERIAL_BUDGET`]).
pub fn classify(saved_requests: i64, saved_budget: f64, bad_in_both_runs: u64) -> Effect {
    let chance = SIGNIFICANT_SIGMAS * (bad_in_both_runs as f64).sqrt();
    if (saved_requests.unsigned_abs() as f64) <= chance || saved_budget.abs() < MATERIAL_BUDGET {
        Effect::Neutral
    } else if saved_requests > 0 {
        Effect::Helpful
    } else {
        Effect::Harmful
    }
}

/// Where the outcome is judged from: the session's spend, and two runs of the same seed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Outcomes {
    pub yours: Spend,
    pub nothing: Spend,
    pub reference: Spend,
    /// What the reference is: "the reference response", or a par response when the scenario
    /// names no reference script (and why).
    pub reference_is: String,
    /// Each SLO's budget in requests, to turn requests into shares.
    pub budget_events: Vec<f64>,
}

impl Outcomes {
    /// How far the session got from doing nothing to the reference, 0 to 1: the mean of the
    /// budget's and the bad requests' progress. Continuous; at or past the reference is 1.
    pub fn share(&self) -> f64 {
        let budget = |s: &Spend| s.budget(&self.budget_events);
        let by_budget = progress(
            budget(&self.yours),
            budget(&self.nothing),
            budget(&self.reference),
            OUTCOME_FLOOR,
        );
        // The same floor in requests: its share of the tightest budget.
        let tightest = self
            .budget_events
            .iter()
            .copied()
            .filter(|events| *events >= 1.0)
            .fold(f64::INFINITY, f64::min);
        let floor = OUTCOME_FLOOR * if tightest.is_finite() { tightest } else { 1.0 };
        let by_requests = progress(
            self.yours.total() as f64,
            self.nothing.total() as f64,
            self.reference.total() as f64,
            floor,
        );
        (by_budget + by_requests) / 2.0
    }

    /// What the response as a whole did against doing nothing: changes that each made no
    /// difference alone (two fixes for one problem) can together.
    pub fn response_effect(&self) -> Effect {
        let (yours, nothing) = (self.yours.total(), self.nothing.total());
        classify(
            nothing as i64 - yours as i64,
            self.nothing.budget(&self.budget_events) - self.yours.budget(&self.budget_events),
            yours + nothing,
        )
    }

    /// Whether doing nothing would have hurt users at all: something to mitigate.
    pub fn at_stake(&self) -> bool {
        self.nothing.budget(&self.budget_events) - self.reference.budget(&self.budget_events)
            >= MATERIAL_BUDGET
    }
}

/// 1 at or below `best`, 0 at `worst` or beyond, linear between; the span is at least
/// `floor`.
fn progress(value: f64, worst: f64, best: f64, floor: f64) -> f64 {
    let span = (worst - best).max(floor);
    (1.0 - (value - best) / span).clamp(0.0, 1.0)
}

/// Everything measured for a session; empty for a timeline scored without its simulation.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Measured {
    /// One per accepted change of the responders, in the timeline's order.
    pub effects: Vec<ChangeEffect>,
    pub outcomes: Option<Outcomes>,
}

/// 4200 as "4,200".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_difference_within_chance_is_neutral() {
        // 10,000 bad requests in both runs: chance is 3 x 100 = 300.
        assert_eq!(classify(250, 0.01, 10_000), Effect::Neutral);
        assert_eq!(classify(400, 0.01, 10_000), Effect::Helpful);
        assert_eq!(classify(-400, -0.01, 10_000), Effect::Harmful);
    }

    #[test]
    fn an_immaterial_difference_is_neutral() {
        assert_eq!(classify(50, 0.0004, 0), Effect::Neutral);
        assert_eq!(classify(50, 0.0006, 0), Effect::Helpful);
    }

    #[test]
    fn an_identical_run_is_no_effect() {
        let spend = Spend {
            requests: vec![1200, 30],
        };
        let e = ChangeEffect::measure(
            60.0,
            "TuneCalls(web->api)".into(),
            &spend,
            &spend,
            &[1e4, 1e4],
        );
        assert_eq!(e.effect, Effect::Neutral);
        assert_eq!(e.saved_requests, vec![0, 0]);
        assert!(e.describe(&[]).contains("no measurable effect"));
    }

    #[test]
    fn a_change_names_what_it_saved() {
        let with = Spend {
            requests: vec![1000, 0],
        };
        let without = Spend {
            requests: vec![5200, 0],
        };
        let e = ChangeEffect::measure(
            540.0,
            "Rollback(checkout)".into(),
            &with,
            &without,
            &[168_000.0, 1e4],
        );
        assert_eq!(e.effect, Effect::Helpful);
        assert_eq!(
            e.describe(&["checkout-availability".into(), "latency".into()]),
            "Rollback(checkout) at 9m: saved 2.5% of checkout-availability's budget, 4,200 bad requests"
        );
    }

    #[test]
    fn the_outcome_is_progress_from_nothing_to_the_reference() {
        let spend = |n| Spend { requests: vec![n] };
        let outcomes = |yours| Outcomes {
            yours: spend(yours),
            nothing: spend(10_000),
            reference: spend(2_000),
            reference_is: "the reference response".into(),
            budget_events: vec![100_000.0],
        };
        assert_eq!(outcomes(10_000).share(), 0.0);
        assert_eq!(outcomes(20_000).share(), 0.0);
        assert_eq!(outcomes(2_000).share(), 1.0);
        assert_eq!(outcomes(1_000).share(), 1.0);
        assert!((outcomes(6_000).share() - 0.5).abs() < 1e-9);
        // Continuous: a request more is a little less.
        assert!(outcomes(6_001).share() < outcomes(6_000).share());
    }

    #[test]
    fn a_quiet_shift_still_costs_a_change_that_burns() {
        let spend = |n| Spend { requests: vec![n] };
        let outcomes = |yours| Outcomes {
            yours: spend(yours),
            nothing: spend(0),
            reference: spend(0),
            reference_is: "the reference response".into(),
            budget_events: vec![100_000.0],
        };
        assert_eq!(outcomes(0).share(), 1.0);
        // 250 bad requests: 0.25% of the budget, half the floor.
        assert!((outcomes(250).share() - 0.5).abs() < 1e-9);
        assert!(!outcomes(0).at_stake());
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(4200), "4,200");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
