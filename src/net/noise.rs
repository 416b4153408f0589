//! Traffic the host cannot use, counted and reported at a bounded rate. Netcode drops every
//! datagram it cannot authenticate (a stranger without the session code, a forged or damaged
//! packet) and logs an ERROR line for each; the host drops a seated player's message that does
//! not decode. A flood of either must not flood the log, so netcode's lines are kept out of it
//! and counted, and the host logs the counts at most once every [`REPORT_EVERY_S`].

use std::sync::atomic::{AtomicU64, Ordering};

use bevy::log::tracing_subscriber::filter::FilterFn;
use bevy::log::tracing_subscriber::layer::Context;
use bevy::log::tracing_subscriber::{Layer, fmt};
use bevy::log::{BoxedFmtLayer, BoxedLayer, LogPlugin};
use bevy::prelude::App;
use bevy::utils::default;

/// Datagrams netcode's server dropped with an ERROR line, since the process started.
static NETCODE_DROPS: AtomicU64 = AtomicU64::new(0);
/// Messages from seated players that did not decode, since the process started.
static MALFORMED_MESSAGES: AtomicU64 = AtomicU64::new(0);

/// The shortest time between two reports, real seconds.
pub const REPORT_EVERY_S: f64 = 10.0;

/// Whether a log event is netcode's line for a datagram its server dropped. Its server logs
/// at ERROR only when it drops a packet it cannot process, or cannot encode its own (which
/// does not happen with the sizes we send).
fn is_netcode_drop(meta: &bevy::log::tracing::Metadata<'_>) -> bool {
    *meta.level() == bevy::log::Level::ERROR && meta.target() == "renetcode::server"
}

/// Counts netcode's dropped datagrams, from their log lines (netcode reports them nowhere
/// else).
struct CountNetcodeDrops;

impl<S: bevy::log::tracing::Subscriber> Layer<S> for CountNetcodeDrops {
    fn on_event(&self, _: &bevy::log::tracing::Event<'_>, _: Context<'_, S>) {
        NETCODE_DROPS.fetch_add(1, Ordering::Relaxed);
    }
}

fn counting_layer() -> BoxedLayer {
    Box::new(CountNetcodeDrops.with_filter(FilterFn::new(is_netcode_drop)))
}

/// Bevy's log, less netcode's line per dropped datagram (counted instead).
fn log_without_netcode_drops(_: &mut App) -> Option<BoxedFmtLayer> {
    Some(Box::new(
        fmt::Layer::default()
            .with_writer(std::io::stderr)
            .with_filter(FilterFn::new(|meta| !is_netcode_drop(meta))),
    ))
}

/// The window's log: Bevy's, with netcode's dropped datagrams counted rather than logged one
/// line each.
pub fn log_plugin() -> LogPlugin {
    LogPlugin {
        custom_layer: |_| Some(counting_layer()),
        fmt_layer: log_without_netcode_drops,
        ..default()
    }
}

/// A seated player's message did not decode.
pub fn count_malformed_message() {
    MALFORMED_MESSAGES.fetch_add(1, Ordering::Relaxed);
}

/// Datagrams netcode dropped and messages that did not decode, so far in this process.
pub fn counts() -> Noise {
    Noise {
        netcode_drops: NETCODE_DROPS.load(Ordering::Relaxed),
        malformed_messages: MALFORMED_MESSAGES.load(Ordering::Relaxed),
    }
}

/// Counts of traffic the host could not use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Noise {
    pub netcode_drops: u64,
    pub malformed_messages: u64,
}

/// What the host has reported so far, so that each report covers what came since the last.
#[derive(Debug)]
pub struct NoiseReports {
    reported: Noise,
    last_at: f64,
}

impl NoiseReports {
    /// Starts from the counts at `now` (real seconds): what came before is not this host's.
    pub fn new(counts: Noise, now: f64) -> Self {
        Self {
            reported: counts,
            last_at: now,
        }
    }

    /// The line to log at `now`, if anything came since the last report and that report is
    /// at least [`REPORT_EVERY_S`] old.
    pub fn report(&mut self, counts: Noise, now: f64) -> Option<String> {
        if counts == self.reported || now < self.last_at + REPORT_EVERY_S {
            return None;
        }
        let drops = counts.netcode_drops - self.reported.netcode_drops;
        let malformed = counts.malformed_messages - self.reported.malformed_messages;
        let since = now - self.last_at;
        self.reported = counts;
        self.last_at = now;
        Some(format!(
            "in the last {since:.0} s the host dropped {} it could not authenticate (sent \
             without the session code, or damaged) and {} it could not read",
            counted(drops, "datagram"),
            counted(malformed, "player message"),
        ))
    }
}

fn counted(n: u64, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use bevy::log::tracing_subscriber::layer::SubscriberExt;
    use bevy::log::tracing_subscriber::{Registry, fmt::MakeWriter};

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    #[test]
    fn netcode_drops_are_counted_and_kept_out_of_the_log() {
        let log = Captured::default();
        let subscriber = Registry::default().with(counting_layer()).with(
            fmt::Layer::default()
                .with_writer(log.clone())
                .with_filter(FilterFn::new(|meta| !is_netcode_drop(meta))),
        );
        let before = counts().netcode_drops;
        bevy::log::tracing::subscriber::with_default(subscriber, || {
            for _ in 0..1000 {
                bevy::log::error!(target: "renetcode::server", "Failed to process packet: x");
            }
            bevy::log::error!(target: "renet_netcode::server", "Failed to send packet");
            bevy::log::warn!(target: "renetcode::server", "a warning stays");
        });
        let lines = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
        assert_eq!(lines.lines().count(), 2, "{lines}");
        assert!(!lines.contains("Failed to process packet"));
        // Other tests may log netcode drops through the same counter on their own threads;
        // none does here, but count at least ours.
        assert!(counts().netcode_drops - before >= 1000);
    }

    #[test]
    fn reports_come_at_most_every_ten_seconds_and_cover_what_came_since() {
        let noise = |netcode_drops, malformed_messages| Noise {
            netcode_drops,
            malformed_messages,
        };
        let mut reports = NoiseReports::new(noise(7, 1), 100.0);
        // Nothing new: no report, however long it has been.
        assert_eq!(reports.report(noise(7, 1), 500.0), None);
        let line = reports.report(noise(10_007, 3), 505.0).unwrap();
        assert!(line.contains("405 s"), "{line}");
        assert!(line.contains("10000 datagrams") && line.contains("2 player messages"));
        // A flood in the ten seconds after a report waits for them to pass.
        assert_eq!(reports.report(noise(20_007, 3), 510.0), None);
        assert_eq!(reports.report(noise(20_008, 3), 514.9), None);
        let line = reports.report(noise(20_008, 3), 515.0).unwrap();
        assert!(
            line.contains("10 s") && line.contains("10001 datagrams"),
            "{line}"
        );
        assert!(line.contains("0 player messages"), "{line}");
        let line = reports.report(noise(20_009, 3), 600.0).unwrap();
        assert!(line.contains("1 datagram "), "{line}");
    }
}
