//! SLOs: error budgets and multi-window, multi-burn-rate alerts as the Google SRE workbook
//! defines them (table 5-8), computed from the simulated request counts.
//!
//! The math is plain functions ([`burn_rate`], [`alert_rows`], [`budget_consumed`]); a
//! [`SloTracker`] keeps one-second good/total counts for the longest alert window and
//! evaluates the alert rows every second.

use std::collections::VecDeque;

use bevy::prelude::*;
use serde::Serialize;

use crate::scenario::{Metric, Seconds, Sli, SloSpec, ThresholdSpec};
use crate::sim::histogram::Histogram;
use crate::sim::metrics::{ServiceMetrics, ServiceRow, ServiceTally, Tallies};
use crate::sim::{Fleet, SimClock, SimSet};

/// Burn rate: the observed error ratio over the budget ratio. 1 spends exactly the budget
/// over the SLO period.
pub fn burn_rate(bad: f64, total: f64, objective: f64) -> f64 {
    if total <= 0.0 {
        return 0.0;
    }
    (bad / total) / (1.0 - objective)
}

/// Seconds until the budget left is gone at a constant `burn`.
pub fn time_to_exhaustion(budget_left: f64, burn: f64, period: f64) -> Option<f64> {
    (burn > 0.0).then(|| budget_left.max(0.0) * period / burn)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Severity {
    Page,
    Ticket,
}

impl From<crate::scenario::AlertSeverity> for Severity {
    fn from(severity: crate::scenario::AlertSeverity) -> Self {
        match severity {
            crate::scenario::AlertSeverity::Page => Self::Page,
            crate::scenario::AlertSeverity::Ticket => Self::Ticket,
        }
    }
}

/// One row of the alerting table: both windows must burn faster than `factor`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct AlertRow {
    pub severity: Severity,
    pub long_s: f64,
    pub short_s: f64,
    pub factor: f64,
}

/// The workbook's table 5-8 for an SLO `period` (`scenario::workbook_rows`), as rows to
/// evaluate.
pub fn alert_rows(period: f64) -> Vec<AlertRow> {
    crate::scenario::workbook_rows(period)
        .into_iter()
        .map(|row| AlertRow {
            severity: row.severity.into(),
            long_s: row.long.get(),
            short_s: row.short.get(),
            factor: row.factor,
        })
        .collect()
}

/// An alert of one row, from when it fired to when it cleared.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alert {
    pub severity: Severity,
    /// The windows and factor of the row that fired, e.g. "1h/5m x14.4".
    pub row: String,
    /// The SLO's runbook: what the responder should do.
    pub runbook: String,
    /// The row's long window: the shorter, the faster the alert.
    #[serde(skip)]
    pub long_s: f64,
    pub fired_s: f64,
    pub cleared_s: Option<f64>,
}

/// Good and total events of one second.
#[derive(Clone, Copy, Debug, Default)]
struct Second {
    good: u64,
    total: u64,
}

/// One SLO followed over a run.
#[derive(Clone, Debug)]
pub struct SloTracker {
    pub spec: SloSpec,
    pub service: usize,
    objective: f64,
    period: f64,
    rows: Vec<AlertRow>,
    /// Running totals after each second, a ring one longer than the longest window: any
    /// window's counts are a difference of two entries.
    seconds: Vec<Second>,
    /// Seconds recorded so far.
    elapsed: u64,
    open: Second,
    pub bad: u64,
    pub total: u64,
    firing: Vec<Option<usize>>,
    pub alerts: Vec<Alert>,
    /// Burn rates over every alert window at the end of each minute.
    pub minutes: Vec<BurnRow>,
    /// Pages sent to the on-call: opened by a page alert, closed when no page row fires.
    pub pager: Pager,
}

/// The pages of one alert source: one open at a time; it escalates when it goes
/// unacknowledged past the timeout and is resolved when the source stops paging.
#[derive(Clone, Debug, Default)]
pub struct Pager {
    pub pages: Vec<Page>,
    timeout: f64,
}

impl Pager {
    pub fn new(escalation_timeout: f64) -> Self {
        Self {
            pages: Vec::new(),
            timeout: escalation_timeout,
        }
    }

    /// What pages now, at `now`: the alerts holding the source's page open (none: it does
    /// not page).
    pub fn update(&mut self, holding: Vec<String>, now: f64) {
        let paging = !holding.is_empty();
        match self.pages.last_mut() {
            Some(page) if page.is_open() => {
                if !paging {
                    page.resolved_s = Some(now);
                    return;
                }
                if page.acknowledged_s.is_none()
                    && page.escalated_s.is_none()
                    && now >= page.opened_s + self.timeout
                {
                    page.escalated_s = Some(now);
                }
                page.held_by = holding;
            }
            _ if paging => self.pages.push(Page {
                opened_s: now,
                acknowledged_s: None,
                escalated_s: None,
                resolved_s: None,
                grouped: false,
                held_by: holding,
            }),
            _ => {}
        }
    }

    /// Acknowledges a page that opened at `now` as part of an incident the responders
    /// already hold (a pager groups the pages of one incident); false when none did.
    pub fn join_group(&mut self, now: f64) -> bool {
        match self.pages.last_mut() {
            Some(page)
                if page.is_open()
                    && page.acknowledged_s.is_none()
                    && page.opened_s > now - 1.0 - 1e-9 =>
            {
                page.acknowledged_s = Some(page.opened_s);
                page.grouped = true;
                true
            }
            _ => false,
        }
    }

    /// The open page has been acknowledged.
    pub fn is_held(&self) -> bool {
        self.pages
            .last()
            .is_some_and(|p| p.is_open() && p.acknowledged_s.is_some())
    }

    /// The on-call acknowledges the open page; false when there is none to acknowledge.
    pub fn acknowledge(&mut self, now: f64) -> bool {
        match self.pages.last_mut() {
            Some(page) if page.is_open() && page.acknowledged_s.is_none() => {
                page.acknowledged_s = Some(now);
                true
            }
            _ => false,
        }
    }

    /// A page is out and nobody has acknowledged it yet.
    pub fn is_ringing(&self) -> bool {
        self.pages
            .last()
            .is_some_and(|p| p.is_open() && p.acknowledged_s.is_none())
    }

    /// A page is out (acknowledged or not).
    pub fn is_open(&self) -> bool {
        self.pages.last().is_some_and(Page::is_open)
    }
}

/// A page: when it went out, was acknowledged, escalated (not acknowledged in time) and
/// resolved (no page alert firing any more).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Page {
    pub opened_s: f64,
    pub acknowledged_s: Option<f64>,
    pub escalated_s: Option<f64>,
    pub resolved_s: Option<f64>,
    /// It opened while the responders already held the incident, and joined it: the
    /// group's acknowledgement covers it.
    pub grouped: bool,
    /// The alerts holding it open, at its last second (inhibited ones included): a burn-rate
    /// row ("6h/30m x6") or a threshold rule.
    pub held_by: Vec<String>,
}

impl Page {
    pub fn is_open(&self) -> bool {
        self.resolved_s.is_none()
    }
}

/// Burn rates at the end of a minute.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BurnRow {
    pub t: f64,
    pub burn_5m: f64,
    pub burn_30m: f64,
    pub burn_1h: f64,
    pub burn_6h: f64,
    pub burn_1d: f64,
    pub burn_3d: f64,
    /// Share of the period's budget left.
    pub budget_left: f64,
    /// Bad events the budget still allows, at the run's traffic.
    pub bad_events_left: f64,
    /// When the budget runs out at the last hour's burn rate (null: it does not).
    pub exhausted_in_s: Option<f64>,
}

impl SloTracker {
    pub fn new(spec: SloSpec, service: usize, escalation_timeout: f64) -> Self {
        let period = spec.window.get();
        let rows = match &spec.alerting {
            Some(custom) => custom
                .iter()
                .map(|r| AlertRow {
                    severity: r.severity.into(),
                    long_s: r.long.get(),
                    short_s: r.short.get(),
                    factor: r.factor,
                })
                .collect(),
            None => alert_rows(period),
        };
        let longest = rows.iter().map(|r| r.long_s).fold(0.0, f64::max) as usize;
        Self {
            objective: spec.objective / 100.0,
            period,
            firing: vec![None; rows.len()],
            rows,
            seconds: vec![Second::default(); longest + 1],
            elapsed: 0,
            open: Second::default(),
            bad: 0,
            total: 0,
            alerts: Vec::new(),
            minutes: Vec::new(),
            pager: Pager::new(escalation_timeout),
            spec,
            service,
        }
    }

    /// Counts one tick's requests: `good` of `total` met the SLI.
    pub fn count(&mut self, good: u64, total: u64) {
        self.open.good += good;
        self.open.total += total;
    }

    /// Closes the second ending at `now`, then evaluates the alerts.
    pub fn close_second(&mut self, now: f64) {
        let second = std::mem::take(&mut self.open);
        self.bad += second.total - second.good;
        self.total += second.total;
        self.elapsed += 1;
        let slot = (self.elapsed as usize) % self.seconds.len();
        self.seconds[slot] = Second {
            good: self.total - self.bad,
            total: self.total,
        };
        for (k, row) in self.rows.iter().enumerate() {
            let long = self.burn(row.long_s);
            let short = self.burn(row.short_s);
            let enough_traffic = self.rate(row.short_s) >= self.spec.min_rps;
            match self.firing[k] {
                None if long > row.factor && short > row.factor && enough_traffic => {
                    self.firing[k] = Some(self.alerts.len());
                    self.alerts.push(Alert {
                        severity: row.severity,
                        row: format!(
                            "{}/{} x{}",
                            Seconds(row.long_s),
                            Seconds(row.short_s),
                            (row.factor * 100.0).round() / 100.0
                        ),
                        runbook: self.spec.runbook.clone(),
                        long_s: row.long_s,
                        fired_s: now,
                        cleared_s: None,
                    });
                }
                // It clears when the short window falls back: minutes, not the long window's hours.
                Some(alert) if short <= row.factor => {
                    self.alerts[alert].cleared_s = Some(now);
                    self.firing[k] = None;
                }
                _ => {}
            }
        }
        self.update_pages(now);
        if self.elapsed.is_multiple_of(60) {
            let burn_1h = self.burn(3600.0);
            let budget_left = self.budget_left();
            self.minutes.push(BurnRow {
                t: now,
                burn_5m: self.burn(300.0),
                burn_30m: self.burn(1800.0),
                burn_1h,
                burn_6h: self.burn(21_600.0),
                burn_1d: self.burn(86_400.0),
                burn_3d: self.burn(259_200.0),
                budget_left,
                bad_events_left: budget_left.max(0.0) * self.budget_events(),
                exhausted_in_s: time_to_exhaustion(budget_left, burn_1h, self.period),
            });
        }
    }

    /// Good and total events of the last `window` seconds of the run, and how many seconds
    /// of the window the run covers.
    fn window(&self, window: f64) -> (u64, u64, usize) {
        let n = (window as u64)
            .min(self.elapsed)
            .min(self.seconds.len() as u64 - 1) as usize;
        let len = self.seconds.len();
        let newer = self.seconds[self.elapsed as usize % len];
        let older = self.seconds[(self.elapsed as usize - n) % len];
        (newer.good - older.good, newer.total - older.total, n)
    }

    /// Events per second over the last `window` seconds of the run.
    fn rate(&self, window: f64) -> f64 {
        match self.window(window) {
            (_, _, 0) => 0.0,
            (_, total, n) => total as f64 / n as f64,
        }
    }

    /// Opens, escalates and resolves this SLO's pages.
    fn update_pages(&mut self, now: f64) {
        let holding: Vec<String> = self
            .rows
            .iter()
            .zip(&self.firing)
            .filter(|(row, _)| row.severity == Severity::Page)
            .filter_map(|(_, firing)| firing.map(|alert| self.alerts[alert].row.clone()))
            .collect();
        self.pager.update(holding, now);
    }

    /// Burn rate over the last `window` seconds. The fleet ran before the scenario began:
    /// the part of a window older than the run counts as healthy traffic at the run's mean
    /// rate (the budget it already spent is `budget_spent`), so long windows are not judged
    /// on the few minutes simulated so far.
    pub fn burn(&self, window: f64) -> f64 {
        let (good, total, n) = self.window(window);
        let before_run = (window - n as f64).max(0.0);
        let mean_rate = if self.elapsed > 0 {
            self.total as f64 / self.elapsed as f64
        } else {
            0.0
        };
        let all = total as f64 + before_run * mean_rate;
        burn_rate((total - good) as f64, all, self.objective)
    }

    /// Share of the period's budget left: what the scenario started with, less what the
    /// run's bad events spent. The period's traffic is taken at the run's mean rate.
    pub fn budget_left(&self) -> f64 {
        let start = 1.0 - self.spec.budget_spent;
        let budget_events = self.budget_events();
        if budget_events == 0.0 {
            return start;
        }
        start - self.bad as f64 / budget_events
    }

    /// Bad events the whole period's budget allows, at the run's mean traffic.
    pub fn budget_events(&self) -> f64 {
        if self.elapsed == 0 {
            return 0.0;
        }
        let rate = self.total as f64 / self.elapsed as f64;
        rate * self.period * (1.0 - self.objective)
    }

    pub fn sli(&self) -> Sli {
        self.spec.sli
    }
}

/// An SLO's story over a run, for the JSON report.
#[derive(Clone, Debug, Serialize)]
pub struct SloReport {
    pub name: String,
    pub service: String,
    pub objective: f64,
    pub window: String,
    pub budget_start: f64,
    pub budget_end: f64,
    pub bad_events: u64,
    pub total_events: u64,
    pub burn: Vec<BurnRow>,
    /// Pages first; a page firing inhibits the tickets of the same SLO.
    pub alerts: Vec<Alert>,
    /// Pages to the on-call, with acknowledgement and escalation.
    pub pages: Vec<Page>,
}

impl SloTracker {
    pub fn report(&self, service: &str) -> SloReport {
        // A faster alert inhibits a slower one: an alert raised while a faster one (a page
        // for a ticket, a shorter long window otherwise) already fires is not sent again.
        let speed = |a: &Alert| (a.severity == Severity::Ticket, a.long_s);
        let inhibited = |a: &Alert| {
            self.alerts.iter().any(|b| {
                speed(b) < speed(a)
                    && b.fired_s <= a.fired_s
                    && b.cleared_s.is_none_or(|c| c > a.fired_s)
            })
        };
        SloReport {
            name: self.spec.name.clone(),
            service: service.to_string(),
            objective: self.spec.objective,
            window: self.spec.window.to_string(),
            budget_start: 1.0 - self.spec.budget_spent,
            budget_end: self.budget_left(),
            bad_events: self.bad,
            total_events: self.total,
            burn: self.minutes.clone(),
            alerts: self
                .alerts
                .iter()
                .filter(|a| !inhibited(a))
                .cloned()
                .collect(),
            pages: self.pager.pages.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: f64 = 86_400.0;

    #[test]
    fn a_latency_sli_counts_fast_successes_only() {
        let mut tally = ServiceTally::default();
        // Two successes: one fast, one slow; three failures, all fast.
        for seconds in [0.05, 2.0] {
            tally.ok += 1;
            tally.latency.observe(seconds);
            tally.ok_latency.observe(seconds);
        }
        for _ in 0..3 {
            tally.server_errors += 1;
            tally.latency.observe(0.001);
        }
        let threshold = Sli::Latency {
            threshold: crate::scenario::Seconds(1.0),
        };
        assert_eq!(good_and_total(threshold, &tally), (1, 5));
        assert_eq!(good_and_total(Sli::Availability, &tally), (2, 5));
    }

    #[test]
    fn burn_rates_and_budgets_by_hand() {
        // 1% errors against a 99.9% objective burns the budget ten times too fast.
        assert!((burn_rate(10.0, 1000.0, 0.999) - 10.0).abs() < 1e-9);
        assert_eq!(burn_rate(0.0, 0.0, 0.999), 0.0);
        // sre-reference: at 99.9%/30d, 1000x empties the budget in 43 minutes; 10x in 3 days.
        assert!((time_to_exhaustion(1.0, 1000.0, 30.0 * DAY).unwrap() / 60.0 - 43.2).abs() < 0.01);
        assert!((time_to_exhaustion(1.0, 10.0, 30.0 * DAY).unwrap() / DAY - 3.0).abs() < 1e-9);
        assert_eq!(time_to_exhaustion(1.0, 0.0, 30.0 * DAY), None);
    }

    #[test]
    fn table_5_8_factors() {
        let factors: Vec<f64> = alert_rows(30.0 * DAY).iter().map(|r| r.factor).collect();
        for (got, want) in factors.iter().zip([14.4, 6.0, 3.0, 1.0]) {
            assert!((got - want).abs() < 1e-9, "{factors:?}");
        }
        // Scaled for 28 days: the 1h page is 13.44.
        assert!((alert_rows(28.0 * DAY)[0].factor - 13.44).abs() < 1e-9);
    }
}

/// The run's SLOs, in scenario order.
#[derive(Resource, Clone, Debug, Default)]
pub struct Slos(pub Vec<SloTracker>);

impl Slos {
    /// Trackers for a validated scenario's SLOs.
    pub fn compile(scenario: &crate::scenario::Scenario) -> Self {
        Self(
            scenario
                .slos
                .iter()
                .map(|spec| {
                    let service = scenario
                        .service_index(&spec.service)
                        .expect("validated scenarios only name known services");
                    SloTracker::new(spec.clone(), service, scenario.escalation_timeout.get())
                })
                .collect(),
        )
    }
}

pub(super) fn plugin(app: &mut App) {
    app.add_systems(FixedUpdate, watch_slos.in_set(SimSet::Slos));
}

/// Good and total events of a service's tick, by the SLI: a request is bad when it failed,
/// was refused or its caller gave up; for a latency SLI, also when it succeeded slower than
/// the threshold (read off the successful answers' histogram, as a Prometheus `le` series
/// is).
pub fn good_and_total(sli: Sli, tally: &ServiceTally) -> (u64, u64) {
    let total = tally.ok + tally.errors();
    let good = match sli {
        Sli::Availability => tally.ok,
        Sli::Latency { threshold } => tally.ok_latency.count_le(threshold.get()),
    };
    (good, total)
}

/// Threshold alerts read the last reported second, then SLOs count the tick: one system, so
/// the tick's data is fetched once.
fn watch_slos(
    clock: Res<SimClock>,
    fleet: Res<Fleet>,
    tallies: Res<Tallies>,
    metrics: Query<&ServiceMetrics>,
    (mut slos, mut alerts): (ResMut<Slos>, ResMut<ThresholdAlerts>),
) {
    let tick = clock.current();
    let second_ends = tick.closes_second();
    if second_ends {
        evaluate_thresholds(&fleet, &metrics, &mut alerts, tick.t1.round());
    }
    for slo in &mut slos.0 {
        let (good, total) = good_and_total(slo.sli(), &tallies.services[slo.service]);
        slo.count(good, total);
        if second_ends {
            slo.close_second(tick.t1.round());
        }
    }
}

/// One reported second of a service, as a threshold rule's window keeps it.
#[derive(Clone, Debug)]
struct Sample {
    t: f64,
    requests: u64,
    outcomes: u64,
    errors: u64,
    cpu: f64,
    /// Kept only for a rule on the p99.
    latency: Option<Histogram>,
}

/// A threshold alert followed over a run.
#[derive(Clone, Debug)]
pub struct ThresholdTracker {
    pub spec: ThresholdSpec,
    pub service: usize,
    /// The reported seconds of the last `window`, oldest first.
    samples: VecDeque<Sample>,
    pending_since: Option<f64>,
    firing: Option<usize>,
    pub alerts: Vec<Alert>,
    pub pager: Pager,
}

impl ThresholdTracker {
    pub fn new(spec: ThresholdSpec, service: usize, escalation_timeout: f64) -> Self {
        Self {
            spec,
            service,
            samples: VecDeque::new(),
            pending_since: None,
            firing: None,
            alerts: Vec::new(),
            pager: Pager::new(escalation_timeout),
        }
    }

    /// Takes in the service's last second (`row`, and `latency`, its answers' histogram)
    /// and reads the rule over its window: fires once the condition has held for `for`,
    /// clears when it stops. A metric the service did not report cannot fire anything.
    pub fn evaluate(&mut self, row: &ServiceRow, latency: &Histogram, now: f64) {
        let window = self.spec.window.get();
        if row.reported {
            self.samples.push_back(Sample {
                t: row.t,
                requests: row.requests,
                outcomes: row.outcomes(),
                errors: row.server_errors + row.rejected + row.timeouts,
                cpu: row.cpu,
                latency: (self.spec.metric == Metric::P99).then(|| latency.clone()),
            });
        }
        while self
            .samples
            .front()
            .is_some_and(|s| s.t < now - window - 1e-9)
        {
            self.samples.pop_front();
        }
        let holds = row.reported
            && self.rate() >= self.spec.min_rps
            && self.value(row).is_some_and(|v| v > self.spec.above);
        if holds {
            let since = *self.pending_since.get_or_insert(now);
            if self.firing.is_none() && now - since >= self.spec.hold.get() {
                self.firing = Some(self.alerts.len());
                self.alerts.push(Alert {
                    severity: self.spec.severity.into(),
                    row: self.describe(),
                    runbook: self.spec.runbook.clone(),
                    long_s: 0.0,
                    fired_s: now,
                    cleared_s: None,
                });
            }
        } else {
            self.pending_since = None;
            if let Some(alert) = self.firing.take() {
                self.alerts[alert].cleared_s = Some(now);
            }
        }
        let holding = match self.firing {
            Some(alert) if Severity::from(self.spec.severity) == Severity::Page => {
                vec![self.alerts[alert].row.clone()]
            }
            _ => Vec::new(),
        };
        self.pager.update(holding, now);
    }
}

impl ThresholdTracker {
    /// The rule as an alert shows it: "ErrorRatio over 1m > 0.05 for 2m".
    fn describe(&self) -> String {
        let spec = &self.spec;
        let over = if windowed(spec.metric) {
            format!(" over {}", spec.window)
        } else {
            String::new()
        };
        format!("{:?}{over} > {} for {}", spec.metric, spec.above, spec.hold)
    }

    /// Requests per second over the window's reported seconds.
    fn rate(&self) -> f64 {
        let requests: u64 = self.samples.iter().map(|s| s.requests).sum();
        requests as f64 / self.samples.len().max(1) as f64
    }

    /// The rule's metric: over the window for rates and quantiles, else the last second's.
    fn value(&self, row: &ServiceRow) -> Option<f64> {
        let samples = &self.samples;
        match self.spec.metric {
            Metric::ErrorRatio => {
                let outcomes: u64 = samples.iter().map(|s| s.outcomes).sum();
                let errors: u64 = samples.iter().map(|s| s.errors).sum();
                (outcomes > 0).then(|| errors as f64 / outcomes as f64)
            }
            Metric::P99 => {
                let mut all = Histogram::default();
                for latency in samples.iter().filter_map(|s| s.latency.as_ref()) {
                    all.merge(latency);
                }
                all.quantile(0.99)
            }
            Metric::Cpu => (!samples.is_empty())
                .then(|| samples.iter().map(|s| s.cpu).sum::<f64>() / samples.len() as f64),
            gauge => metric(gauge, row),
        }
    }
}

/// Whether a rule on `metric` reads it over its window (rates, ratios, quantiles, CPU
/// seconds) rather than at its last sample (gauges).
fn windowed(metric: Metric) -> bool {
    matches!(metric, Metric::ErrorRatio | Metric::P99 | Metric::Cpu)
}

/// The value of `metric` in a service's row; none when there was nothing to measure.
pub fn metric(metric: Metric, row: &ServiceRow) -> Option<f64> {
    match metric {
        // No answer at all is no ratio: the rule neither fires nor clears on it.
        Metric::ErrorRatio => (row.outcomes() > 0).then(|| row.error_ratio()),
        Metric::P99 => row.p99,
        Metric::Cpu => Some(row.cpu),
        Metric::MemoryMb => Some(row.memory_max_mb),
        Metric::DiskUsed => Some(row.disk_used_ratio),
        Metric::Queue => Some(row.queue),
        Metric::QueueAge => Some(row.queue_age_s),
        Metric::ReplicationLag => Some(row.replication_lag_s),
    }
}

/// The run's threshold alerts, in scenario order.
#[derive(Resource, Clone, Debug, Default)]
pub struct ThresholdAlerts(pub Vec<ThresholdTracker>);

impl ThresholdAlerts {
    pub fn compile(scenario: &crate::scenario::Scenario) -> Self {
        Self(
            scenario
                .alerts
                .iter()
                .map(|spec| {
                    let service = scenario
                        .service_index(&spec.service)
                        .expect("validated scenarios only name known services");
                    ThresholdTracker::new(spec.clone(), service, scenario.escalation_timeout.get())
                })
                .collect(),
        )
    }
}

/// A threshold alert's story over a run, for the JSON report.
#[derive(Clone, Debug, Serialize)]
pub struct ThresholdReport {
    pub name: String,
    pub service: String,
    pub alerts: Vec<Alert>,
    pub pages: Vec<Page>,
}

impl ThresholdTracker {
    pub fn report(&self, service: &str) -> ThresholdReport {
        ThresholdReport {
            name: self.spec.name.clone(),
            service: service.to_string(),
            alerts: self.alerts.clone(),
            pages: self.pager.pages.clone(),
        }
    }
}

/// Each threshold rule looks at the second that ended at `now`.
fn evaluate_thresholds(
    fleet: &Fleet,
    metrics: &Query<&ServiceMetrics>,
    alerts: &mut ThresholdAlerts,
    now: f64,
) {
    for alert in &mut alerts.0 {
        let Ok(metrics) = metrics.get(fleet.services[alert.service]) else {
            continue;
        };
        if let Some(row) = metrics.seconds.last() {
            alert.evaluate(row, metrics.last_second_latency(), now);
        }
    }
}
