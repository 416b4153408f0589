//! Metrics per service and per traffic source: what one tick tallies, and bounded rings of
//! per-second and per-minute rows (memory does not grow with the length of a run).

use std::collections::VecDeque;

use bevy::prelude::*;
use serde::Serialize;

use super::histogram::Histogram;
use super::logs::Logs;
use super::traces::Traces;

/// Per-second rows kept for live dashboards.
pub const SECOND_ROWS: usize = 300;
/// Per-minute rows kept: six hours.
pub const MINUTE_ROWS: usize = 360;

/// What a service did during one tick, written by its instances' turns.
#[derive(Clone, Debug, Default)]
pub struct ServiceTally {
    pub arrivals: u64,
    pub ok: u64,
    pub server_errors: u64,
    pub rejected: u64,
    /// Calls to this service whose callers gave up waiting.
    pub timeouts: u64,
    /// Retries sent to this service.
    pub retries: u64,
    pub cpu_seconds: f64,
    /// Every answer's latency, failures included.
    pub latency: Histogram,
    /// The successful answers' latency: what a latency SLI counts as good below its threshold.
    pub ok_latency: Histogram,
}

impl ServiceTally {
    /// Adds `other`'s counts, leaving the latency histogram alone.
    fn absorb_counts(&mut self, other: &ServiceTally) {
        self.arrivals += other.arrivals;
        self.ok += other.ok;
        self.server_errors += other.server_errors;
        self.rejected += other.rejected;
        self.timeouts += other.timeouts;
        self.retries += other.retries;
        self.cpu_seconds += other.cpu_seconds;
    }

    fn absorb(&mut self, other: &ServiceTally) {
        self.absorb_counts(other);
        if other.latency.total() > 0 {
            self.latency.merge(&other.latency);
        }
        if other.ok_latency.total() > 0 {
            self.ok_latency.merge(&other.ok_latency);
        }
    }

    pub fn errors(&self) -> u64 {
        self.server_errors + self.rejected + self.timeouts
    }

    /// Failed outcomes over all outcomes, as the SLIs count them.
    pub fn error_ratio(&self) -> f64 {
        error_ratio(self.ok, self.errors())
    }

    /// Zeroes the counts, keeping the histograms' allocations (tallies reset every tick).
    /// Every field is named, so a new one cannot be forgotten.
    pub fn reset(&mut self) {
        let Self {
            arrivals,
            ok,
            server_errors,
            rejected,
            timeouts,
            retries,
            cpu_seconds,
            latency,
            ok_latency,
        } = self;
        for count in [arrivals, ok, server_errors, rejected, timeouts, retries] {
            *count = 0;
        }
        *cpu_seconds = 0.0;
        latency.clear();
        ok_latency.clear();
    }
}

/// What a traffic source's users experienced during one tick.
#[derive(Clone, Debug, Default)]
pub struct SourceTally {
    pub first_tries: u64,
    pub retries: u64,
    pub ok: u64,
    pub timeouts: u64,
    pub server_errors: u64,
    pub rejected: u64,
    /// End to end, from the first try to the success, retries included.
    pub latency: Histogram,
}

/// What happened this tick, and the fleet's running log.
#[derive(Resource, Clone, Debug, Default)]
pub struct Tallies {
    pub services: Vec<ServiceTally>,
    pub sources: Vec<SourceTally>,
    pub logs: Logs,
    pub traces: Traces,
    /// Each service's gauges at the end of the tick (`step::end_tick`).
    pub gauges: Vec<Gauges>,
}

/// A bounded ring of rows, oldest dropped first; `produced` counts every row ever pushed.
#[derive(Clone, Debug)]
pub struct Ring<T> {
    rows: VecDeque<T>,
    capacity: usize,
    produced: u64,
}

impl<T> Ring<T> {
    pub fn new(capacity: usize) -> Self {
        Self {
            rows: VecDeque::with_capacity(capacity),
            capacity,
            produced: 0,
        }
    }

    pub fn push(&mut self, row: T) {
        if self.rows.len() == self.capacity {
            self.rows.pop_front();
        }
        self.rows.push_back(row);
        self.produced += 1;
    }

    pub fn rows(&self) -> &VecDeque<T> {
        &self.rows
    }

    pub fn last(&self) -> Option<&T> {
        self.rows.back()
    }

    pub fn produced(&self) -> u64 {
        self.produced
    }
}

/// A service over one period (a second or a minute).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServiceRow {
    /// Start of the period, in simulated seconds.
    pub t: f64,
    pub requests: u64,
    pub ok: u64,
    pub server_errors: u64,
    pub rejected: u64,
    pub timeouts: u64,
    pub retries: u64,
    #[serde(serialize_with = "super::histogram::serialize_quantile")]
    pub p50: Option<f64>,
    #[serde(serialize_with = "super::histogram::serialize_quantile")]
    pub p90: Option<f64>,
    #[serde(serialize_with = "super::histogram::serialize_quantile")]
    pub p99: Option<f64>,
    /// Share of the service's CPU cores in use, 0..1.
    pub cpu: f64,
    /// Mean memory of one instance, MB.
    pub memory_mb: f64,
    /// Memory of the fullest instance at any tick of the period, MB.
    pub memory_max_mb: f64,
    /// Mean requests waiting for a worker, all instances.
    pub queue: f64,
    /// Mean requests holding a worker, all instances.
    pub in_flight: f64,
    /// Fewest instances up and in rotation at any tick of the period.
    pub healthy: u32,
    /// The fullest instance disk at any tick of the period, 0..1.
    pub disk_used_ratio: f64,
    /// Validity left on the service's certificate at the end of the period, when a fault has
    /// it expire (negative: expired that long ago).
    pub cert_expires_in_s: Option<f64>,
    /// Age of the oldest request waiting for a worker at any tick of the period, seconds:
    /// for a queue, its consumers' lag.
    pub queue_age_s: f64,
    /// How far the furthest replica was behind its primary, seconds (databases).
    pub replication_lag_s: f64,
    /// False when the service did not report its metrics for part of the period: a
    /// dashboard shows a gap (the figures here are the truth, for the debrief).
    pub reported: bool,
}

impl ServiceRow {
    /// Answers of the period, good or bad.
    pub fn outcomes(&self) -> u64 {
        self.ok + self.server_errors + self.rejected + self.timeouts
    }

    /// Failed outcomes over all outcomes: the one error ratio the SLIs, dashboards, threshold
    /// alerts and fault triggers share.
    pub fn error_ratio(&self) -> f64 {
        error_ratio(self.ok, self.server_errors + self.rejected + self.timeouts)
    }
}

/// Failed over all outcomes. Outcomes rather than arrivals: a call its caller gave up on
/// counts as a timeout, and the work the server still finishes counts once more, so
/// dividing by arrivals could pass 100%.
pub fn error_ratio(ok: u64, failed: u64) -> f64 {
    if ok + failed == 0 {
        0.0
    } else {
        failed as f64 / (ok + failed) as f64
    }
}

/// A traffic source over one period.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SourceRow {
    pub t: f64,
    pub first_tries: u64,
    pub retries: u64,
    pub ok: u64,
    pub timeouts: u64,
    pub server_errors: u64,
    pub rejected: u64,
    #[serde(serialize_with = "super::histogram::serialize_quantile")]
    pub p50: Option<f64>,
    #[serde(serialize_with = "super::histogram::serialize_quantile")]
    pub p99: Option<f64>,
}

/// Gauges read off the instances at the end of a tick.
#[derive(Clone, Copy, Debug, Default)]
pub struct Gauges {
    /// Mean over instances.
    pub memory_mb: f64,
    /// The fullest instance.
    pub memory_max_mb: f64,
    /// Instances provisioned (the service's capacity in instances).
    pub provisioned: u32,
    /// The fullest disk, 0..1.
    pub disk_used_ratio: f64,
    pub cert_expires_in_s: Option<f64>,
    /// The service reported its metrics this tick.
    pub reported: bool,
    /// The oldest queued request, seconds.
    pub queue_age_s: f64,
    pub replication_lag_s: f64,
    pub queue: f64,
    pub in_flight: f64,
    pub healthy: u32,
}

#[derive(Clone, Debug, Default)]
struct ServiceWindow {
    start: f64,
    ticks: u32,
    counts: ServiceTally,
    gauges: Gauges,
    healthy_min: Option<u32>,
    /// CPU-seconds the provisioned instances could have used.
    core_seconds: f64,
    unreported_ticks: u32,
}

impl ServiceWindow {
    fn add_gauges(&mut self, gauges: Gauges, core_seconds: f64) {
        self.ticks += 1;
        self.core_seconds += core_seconds;
        self.unreported_ticks += u32::from(!gauges.reported);
        self.gauges.memory_mb += gauges.memory_mb;
        self.gauges.memory_max_mb = self.gauges.memory_max_mb.max(gauges.memory_max_mb);
        self.gauges.disk_used_ratio = self.gauges.disk_used_ratio.max(gauges.disk_used_ratio);
        self.gauges.queue_age_s = self.gauges.queue_age_s.max(gauges.queue_age_s);
        self.gauges.replication_lag_s = self.gauges.replication_lag_s.max(gauges.replication_lag_s);
        self.gauges.cert_expires_in_s = gauges.cert_expires_in_s;
        self.gauges.queue += gauges.queue;
        self.gauges.in_flight += gauges.in_flight;
        self.healthy_min = Some(
            self.healthy_min
                .map_or(gauges.healthy, |h| h.min(gauges.healthy)),
        );
    }

    fn merge(&mut self, other: &ServiceWindow) {
        self.counts.absorb(&other.counts);
        self.ticks += other.ticks;
        self.core_seconds += other.core_seconds;
        self.unreported_ticks += other.unreported_ticks;
        self.gauges.memory_mb += other.gauges.memory_mb;
        self.gauges.memory_max_mb = self.gauges.memory_max_mb.max(other.gauges.memory_max_mb);
        self.gauges.disk_used_ratio = self
            .gauges
            .disk_used_ratio
            .max(other.gauges.disk_used_ratio);
        self.gauges.cert_expires_in_s = other.gauges.cert_expires_in_s;
        self.gauges.queue_age_s = self.gauges.queue_age_s.max(other.gauges.queue_age_s);
        self.gauges.replication_lag_s = self
            .gauges
            .replication_lag_s
            .max(other.gauges.replication_lag_s);
        self.gauges.queue += other.gauges.queue;
        self.gauges.in_flight += other.gauges.in_flight;
        if let Some(h) = other.healthy_min {
            self.healthy_min = Some(self.healthy_min.map_or(h, |m| m.min(h)));
        }
    }

    fn row(&self) -> ServiceRow {
        let capacity_core_seconds = self.core_seconds;
        let ticks = f64::from(self.ticks.max(1));
        let h = &self.counts.latency;
        ServiceRow {
            t: self.start,
            requests: self.counts.arrivals,
            ok: self.counts.ok,
            server_errors: self.counts.server_errors,
            rejected: self.counts.rejected,
            timeouts: self.counts.timeouts,
            retries: self.counts.retries,
            p50: h.quantile(0.5),
            p90: h.quantile(0.9),
            p99: h.quantile(0.99),
            cpu: if capacity_core_seconds > 0.0 {
                self.counts.cpu_seconds / capacity_core_seconds
            } else {
                0.0
            },
            memory_mb: self.gauges.memory_mb / ticks,
            memory_max_mb: self.gauges.memory_max_mb,
            queue: self.gauges.queue / ticks,
            in_flight: self.gauges.in_flight / ticks,
            healthy: self.healthy_min.unwrap_or(0),
            disk_used_ratio: self.gauges.disk_used_ratio,
            cert_expires_in_s: self.gauges.cert_expires_in_s,
            reported: self.unreported_ticks == 0,
            queue_age_s: self.gauges.queue_age_s,
            replication_lag_s: self.gauges.replication_lag_s,
        }
    }

    fn reset(&mut self, start: f64) {
        self.start = start;
        self.ticks = 0;
        self.core_seconds = 0.0;
        self.unreported_ticks = 0;
        self.counts.reset();
        self.gauges = Gauges::default();
        self.healthy_min = None;
    }
}

/// Whole-run figures for a service, for summaries.
#[derive(Clone, Debug, Default)]
pub struct ServiceTotals {
    pub counts: ServiceTally,
    pub cpu_peak: f64,
    pub memory_peak_mb: f64,
    pub queue_peak: f64,
    /// Sums over ticks of the end-of-tick gauges, for time averages.
    pub in_flight_sum: f64,
    pub queue_sum: f64,
    pub healthy_min: Option<u32>,
    pub ticks: u64,
    /// CPU-seconds the provisioned instances could have used over the run.
    pub core_seconds: f64,
}

#[derive(Component, Clone, Debug)]
pub struct ServiceMetrics {
    pub seconds: Ring<ServiceRow>,
    pub minutes: Ring<ServiceRow>,
    pub totals: ServiceTotals,
    second: ServiceWindow,
    minute: ServiceWindow,
    /// The latency histogram of the last whole second (the one `seconds.last()` sums up).
    last_second_latency: Histogram,
    /// Cores of one instance, for CPU utilisation.
    cores_per_instance: f64,
}

impl ServiceMetrics {
    pub fn new(cores_per_instance: f64) -> Self {
        Self {
            seconds: Ring::new(SECOND_ROWS),
            minutes: Ring::new(MINUTE_ROWS),
            totals: ServiceTotals::default(),
            second: ServiceWindow::default(),
            minute: ServiceWindow::default(),
            last_second_latency: Histogram::default(),
            cores_per_instance,
        }
    }

    /// Every answer's latency over the last whole second.
    pub fn last_second_latency(&self) -> &Histogram {
        &self.last_second_latency
    }

    /// Folds one tick's tally and end-of-tick gauges in; closes the second and the minute
    /// when the tick ends on their boundary.
    pub fn record(&mut self, tally: &ServiceTally, gauges: Gauges, tick_end: f64, dt: f64) {
        self.second.counts.absorb(tally);
        let core_seconds = self.cores_per_instance * f64::from(gauges.provisioned) * dt;
        self.second.add_gauges(gauges, core_seconds);
        let t = &mut self.totals;
        t.ticks += 1;
        t.core_seconds += core_seconds;
        t.memory_peak_mb = t.memory_peak_mb.max(gauges.memory_max_mb);
        t.queue_peak = t.queue_peak.max(gauges.queue);
        t.in_flight_sum += gauges.in_flight;
        t.queue_sum += gauges.queue;
        t.healthy_min = Some(
            t.healthy_min
                .map_or(gauges.healthy, |h| h.min(gauges.healthy)),
        );

        if crosses(tick_end, dt, 1.0) {
            let row = self.second.row();
            self.totals.cpu_peak = self.totals.cpu_peak.max(row.cpu);
            self.seconds.push(row);
            self.minute.merge(&self.second);
            // Kept for rules that read a quantile over a window; the old one is reused.
            std::mem::swap(
                &mut self.last_second_latency,
                &mut self.second.counts.latency,
            );
            self.second.reset(tick_end);
        }
        if crosses(tick_end, dt, 60.0) {
            self.minutes.push(self.minute.row());
            self.totals.counts.absorb(&self.minute.counts);
            self.minute.reset(tick_end);
        }
    }

    /// Everything counted since the run began, up to the last tick: the closed minutes plus
    /// the open minute and second (what a Prometheus counter shows at any moment).
    pub fn so_far(&self) -> ServiceTally {
        let mut all = self.totals.counts.clone();
        all.absorb(&self.minute.counts);
        all.absorb(&self.second.counts);
        all
    }

    /// Closes the open second and minute at the end of a run so nothing is left uncounted.
    pub fn flush(&mut self, now: f64) {
        if self.second.ticks > 0 {
            self.seconds.push(self.second.row());
            self.minute.merge(&self.second);
            self.second.reset(now);
        }
        if self.minute.ticks > 0 {
            self.minutes.push(self.minute.row());
            self.totals.counts.absorb(&self.minute.counts);
            self.minute.reset(now);
        }
    }
}

#[derive(Clone, Debug, Default)]
struct SourceWindow {
    start: f64,
    ticks: u32,
    counts: SourceTally,
}

impl SourceWindow {
    fn add(&mut self, tally: &SourceTally, ticks: u32) {
        self.ticks += ticks;
        self.counts.absorb(tally);
    }

    fn row(&self) -> SourceRow {
        let c = &self.counts;
        SourceRow {
            t: self.start,
            first_tries: c.first_tries,
            retries: c.retries,
            ok: c.ok,
            timeouts: c.timeouts,
            server_errors: c.server_errors,
            rejected: c.rejected,
            p50: c.latency.quantile(0.5),
            p99: c.latency.quantile(0.99),
        }
    }

    fn reset(&mut self, start: f64) {
        self.start = start;
        self.ticks = 0;
        self.counts.reset();
    }
}

#[derive(Component, Clone, Debug)]
pub struct SourceMetrics {
    pub seconds: Ring<SourceRow>,
    pub minutes: Ring<SourceRow>,
    pub totals: SourceTally,
    second: SourceWindow,
    minute: SourceWindow,
}

impl Default for SourceMetrics {
    fn default() -> Self {
        Self {
            seconds: Ring::new(SECOND_ROWS),
            minutes: Ring::new(MINUTE_ROWS),
            totals: SourceTally::default(),
            second: SourceWindow::default(),
            minute: SourceWindow::default(),
        }
    }
}

impl SourceMetrics {
    pub fn record(&mut self, tally: &SourceTally, tick_end: f64, dt: f64) {
        self.second.add(tally, 1);
        if crosses(tick_end, dt, 1.0) {
            self.close_second(tick_end);
        }
        if crosses(tick_end, dt, 60.0) {
            self.close_minute(tick_end);
        }
    }

    pub fn flush(&mut self, now: f64) {
        if self.second.ticks > 0 {
            self.close_second(now);
        }
        if self.minute.ticks > 0 {
            self.close_minute(now);
        }
    }

    fn close_second(&mut self, now: f64) {
        self.seconds.push(self.second.row());
        let (counts, ticks) = (&self.second.counts, self.second.ticks);
        self.minute.add(counts, ticks);
        self.second.reset(now);
    }

    fn close_minute(&mut self, now: f64) {
        self.minutes.push(self.minute.row());
        self.totals.absorb(&self.minute.counts);
        self.minute.reset(now);
    }
}

/// Whether a tick ending at `tick_end` closes a period of `period` seconds.
fn crosses(tick_end: f64, dt: f64, period: f64) -> bool {
    // Both are positive (a tick ends at `dt` or later), so truncation is the floor.
    (tick_end / period + 1e-9) as u64 > ((tick_end - dt) / period + 1e-9) as u64
}

impl SourceTally {
    fn absorb(&mut self, other: &SourceTally) {
        self.first_tries += other.first_tries;
        self.retries += other.retries;
        self.ok += other.ok;
        self.timeouts += other.timeouts;
        self.server_errors += other.server_errors;
        self.rejected += other.rejected;
        if other.latency.total() > 0 {
            self.latency.merge(&other.latency);
        }
    }

    pub fn failed(&self) -> u64 {
        self.timeouts + self.server_errors + self.rejected
    }

    /// Zeroes the counts, keeping the histogram's allocation (tallies reset every tick).
    /// Every field is named, so a new one cannot be forgotten.
    pub fn reset(&mut self) {
        let Self {
            first_tries,
            retries,
            ok,
            timeouts,
            server_errors,
            rejected,
            latency,
        } = self;
        for count in [first_tries, retries, ok, timeouts, server_errors, rejected] {
            *count = 0;
        }
        latency.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reset_tally_is_a_new_one() {
        let mut service = ServiceTally {
            arrivals: 3,
            ok: 2,
            server_errors: 1,
            rejected: 1,
            timeouts: 1,
            retries: 4,
            cpu_seconds: 0.5,
            ..Default::default()
        };
        service.latency.observe(0.2);
        service.ok_latency.observe(0.2);
        service.reset();
        assert_eq!(
            format!("{service:?}"),
            format!("{:?}", ServiceTally::default())
        );
        let mut source = SourceTally {
            first_tries: 2,
            retries: 1,
            ok: 1,
            timeouts: 1,
            server_errors: 1,
            rejected: 1,
            ..Default::default()
        };
        source.latency.observe(3.0);
        source.reset();
        assert_eq!(
            format!("{source:?}"),
            format!("{:?}", SourceTally::default())
        );
    }

    #[test]
    fn ring_is_bounded() {
        let mut ring = Ring::new(3);
        for i in 0..10 {
            ring.push(i);
        }
        assert_eq!(
            ring.rows().iter().copied().collect::<Vec<_>>(),
            vec![7, 8, 9]
        );
        assert_eq!(ring.produced(), 10);
    }

    #[test]
    fn periods_close_on_their_boundaries() {
        let dt = 0.1;
        let closes: Vec<u64> = (1..=30u64)
            .filter(|&k| crosses(k as f64 * dt, dt, 1.0))
            .collect();
        assert_eq!(closes, vec![10, 20, 30]);
        let dt = 0.25;
        assert_eq!(
            (1..=480u64)
                .filter(|&k| crosses(k as f64 * dt, dt, 60.0))
                .count(),
            2
        );
    }

    #[test]
    fn service_rows_count_every_request_once() {
        let mut metrics = ServiceMetrics::new(2.0);
        let dt = 0.1;
        let mut tally = ServiceTally {
            arrivals: 3,
            ok: 2,
            server_errors: 1,
            cpu_seconds: 0.05,
            ..Default::default()
        };
        tally.latency.observe(0.01);
        for k in 1..=1205u64 {
            metrics.record(
                &tally,
                Gauges {
                    provisioned: 1,
                    ..Gauges::default()
                },
                k as f64 * dt,
                dt,
            );
        }
        metrics.flush(120.5);
        assert_eq!(metrics.totals.counts.arrivals, 3 * 1205);
        assert_eq!(metrics.totals.counts.latency.total(), 1205);
        assert_eq!(metrics.minutes.produced(), 3);
        let row = metrics.minutes.rows()[0].clone();
        assert_eq!(row.requests, 3 * 600);
        // 0.05 CPU-seconds per 0.1 s tick on 2 cores: 25% utilisation.
        assert!((row.cpu - 0.25).abs() < 1e-9);
    }
}
