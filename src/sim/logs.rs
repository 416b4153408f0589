//! The fleet's logs: evidence a responder reads. Entries are structured (no text is built on
//! the hot path) and name the real cause of a failure the way real logs do; they are rendered
//! as text when read. Each service keeps a bounded ring, and a per-second budget per service
//! keeps an error storm from flooding it (the overflow is counted, as log shippers do).

use std::fmt;

use super::events::{Failure, Refusal};
use super::metrics::Ring;
use super::topology::Topology;

/// Entries kept per service.
pub const LOG_LINES: usize = 2_000;
/// Entries a service may log per simulated second before the rest are only counted.
pub const LINES_PER_SECOND: u32 = 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Info,
    Warn,
    Error,
}

/// Why a request failed on the instance itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// The service's everyday error ratio or an injected error.
    Internal,
    /// A bug in the version it runs (index in the service's version history).
    Version(usize),
    DiskFull,
    ClockSkew,
    /// A replica answered with data older than the request needed.
    StaleRead,
    /// The request touches a broken key: it fails every time.
    HotKey(u32),
}

/// Why an instance went down.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Down {
    OutOfMemory { used_mb: f64, limit_mb: f64 },
    CrashLoop,
    ZoneLost,
    Killed,
    Restart,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LogEvent {
    /// A call failed for good (after `attempts` tries).
    CallFailed {
        request: u32,
        callee: u32,
        failure: Failure,
        attempts: u32,
    },
    Retrying {
        request: u32,
        callee: u32,
        attempt: u32,
        failure: Failure,
    },
    RequestFailed {
        request: u32,
        cause: Cause,
    },
    /// What a healthy service logs anyway.
    Routine {
        which: u8,
    },
    InstanceDown {
        why: Down,
    },
    InstanceUp {
        version: usize,
    },
    /// The overflow of the per-second budget: `count` entries were not kept.
    Suppressed {
        count: u32,
    },
    /// Plausible, alarming and irrelevant (an alert storm).
    Noise {
        which: u8,
    },
    /// A replica became the primary; `lost_s`: how far behind it was, in writes lost.
    Promoted {
        lost_s: f64,
    },
    /// The service's autoscaler changed its instance count.
    Autoscaled {
        from: u32,
        to: u32,
        utilization: f64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LogEntry {
    pub t: f64,
    /// Global index of the instance that logged it.
    pub instance: u32,
    pub level: Level,
    pub event: LogEvent,
}

/// Every service's recent log.
#[derive(Clone, Debug, Default)]
pub struct Logs {
    services: Vec<Ring<LogEntry>>,
    second: Vec<u64>,
    spent: Vec<u32>,
    suppressed: Vec<u32>,
}

impl Logs {
    pub fn new(services: usize) -> Self {
        Self {
            services: (0..services).map(|_| Ring::new(LOG_LINES)).collect(),
            second: vec![0; services],
            spent: vec![0; services],
            suppressed: vec![0; services],
        }
    }

    /// Logs `event` for `service`, within its per-second budget.
    pub fn log(&mut self, service: usize, instance: u32, t: f64, level: Level, event: LogEvent) {
        // Entries may carry a time a little ahead (a failure logged when its work ends):
        // the budget's second only moves forward.
        let second = (t as u64).max(self.second[service]);
        if second != self.second[service] {
            if self.suppressed[service] > 0 {
                let count = std::mem::take(&mut self.suppressed[service]);
                self.services[service].push(LogEntry {
                    t: self.second[service] as f64 + 0.999,
                    instance,
                    level: Level::Warn,
                    event: LogEvent::Suppressed { count },
                });
            }
            self.second[service] = second;
            self.spent[service] = 0;
        }
        if self.spent[service] >= LINES_PER_SECOND {
            self.suppressed[service] += 1;
            return;
        }
        self.spent[service] += 1;
        self.services[service].push(LogEntry {
            t,
            instance,
            level,
            event,
        });
    }

    /// The service's kept entries, oldest first.
    pub fn entries(&self, service: usize) -> impl Iterator<Item = &LogEntry> {
        self.services[service].rows().iter()
    }
}

/// A log entry rendered as a line of text, with the names it refers to.
pub struct Line<'a> {
    pub entry: &'a LogEntry,
    pub topology: &'a Topology,
    pub versions: &'a [String],
}

impl fmt::Display for Line<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = self.entry;
        let t = self.topology;
        let service = &t.services[t.service_of(e.instance)];
        let level = match e.level {
            Level::Info => "INFO ",
            Level::Warn => "WARN ",
            Level::Error => "ERROR",
        };
        let total = e.t.max(0.0);
        let (h, m, s) = (
            (total / 3600.0) as u64,
            (total / 60.0) as u64 % 60,
            total % 60.0,
        );
        write!(
            f,
            "{h:02}:{m:02}:{s:06.3} {level} {}-{} ",
            service.name,
            e.instance - service.first_instance
        )?;
        let callee = |c: u32| t.services[c as usize].name.as_str();
        let why = |failure: Failure, callee: &str| match failure {
            Failure::Timeout => format!("timed out waiting for {callee}"),
            Failure::ServerError => format!("{callee} answered 500 Internal Server Error"),
            Failure::Rejected(why) => match why {
                Refusal::Down => format!("connection refused: {callee} is down"),
                Refusal::QueueFull => {
                    format!("{callee} answered 503 Service Unavailable (queue full)")
                }
                Refusal::Shed => format!("{callee} answered 429 Too Many Requests (load shed)"),
                Refusal::RateLimited => {
                    format!(
                        "{callee} answered 429 Too Many Requests (rate limit exceeded, Retry-After)"
                    )
                }
                Refusal::Tls => {
                    format!("TLS handshake with {callee} failed: certificate has expired")
                }
                Refusal::Dns => format!("cannot resolve {callee}: no such host"),
                Refusal::CircuitOpen => format!("circuit breaker to {callee} is open"),
            },
        };
        match e.event {
            LogEvent::CallFailed {
                request,
                callee: c,
                failure,
                attempts,
            } => {
                // A failed optional call degrades the answer; any other fails the request.
                let outcome = if e.level == Level::Error {
                    "request failed"
                } else {
                    "answering without it"
                };
                write!(
                    f,
                    "req={request:08x} call to {} failed after {attempts} attempt(s), {outcome}: {}",
                    callee(c),
                    why(failure, callee(c))
                )
            }
            LogEvent::Retrying {
                request,
                callee: c,
                attempt,
                failure,
            } => write!(
                f,
                "req={request:08x} retry {attempt} of call to {}: {}",
                callee(c),
                why(failure, callee(c))
            ),
            LogEvent::RequestFailed { request, cause } => {
                write!(f, "req={request:08x} ")?;
                match cause {
                    Cause::Internal => write!(f, "request failed: internal error"),
                    Cause::Version(v) => write!(
                        f,
                        "request failed: unhandled exception in {} (version {})",
                        service.name,
                        self.versions.get(v).map_or("?", String::as_str)
                    ),
                    Cause::DiskFull => {
                        write!(
                            f,
                            "request failed: write /var/log/app.log: no space left on device"
                        )
                    }
                    Cause::HotKey(key) => write!(
                        f,
                        "request failed: key {key:08x}: partition unavailable (retrying will not help)"
                    ),
                    Cause::StaleRead => write!(
                        f,
                        "request failed: read from replica returned stale data (replication lag)"
                    ),
                    Cause::ClockSkew => write!(
                        f,
                        "request failed: token rejected: issued in the future (clock skew)"
                    ),
                }
            }
            LogEvent::Routine { which } => f.write_str(match which % 4 {
                0 => "served requests normally over the last minute",
                1 => "refreshed configuration from the config service",
                2 => "GC pause 6ms",
                _ => "rotated access log",
            }),
            LogEvent::InstanceDown { why } => match why {
                Down::OutOfMemory { used_mb, limit_mb } => write!(
                    f,
                    "killed: out of memory ({used_mb:.0} MB used, limit {limit_mb:.0} MB)"
                ),
                Down::CrashLoop => write!(f, "process exited with code 137 right after start"),
                Down::ZoneLost => write!(f, "lost contact: availability zone unreachable"),
                Down::Killed => write!(f, "process killed"),
                Down::Restart => write!(f, "shutting down for a restart"),
            },
            LogEvent::InstanceUp { version } => write!(
                f,
                "started, version {}",
                self.versions.get(version).map_or("?", String::as_str)
            ),
            LogEvent::Promoted { lost_s } if lost_s > 0.0 => write!(
                f,
                "promoted to primary: it was {lost_s:.1} s behind, and the writes of those seconds are lost"
            ),
            LogEvent::Promoted { .. } => f.write_str("promoted to primary, fully caught up"),
            LogEvent::Autoscaled {
                from,
                to,
                utilization,
            } => write!(
                f,
                "autoscaler: {from} -> {to} instances (CPU {:.0}% of cores)",
                utilization * 100.0
            ),
            LogEvent::Noise { which } => f.write_str(match which % 4 {
                0 => "health check latency 180ms above threshold 150ms",
                1 => "deprecated configuration key cache.ttl_seconds in use",
                2 => "connection pool at 80% of its size",
                _ => "GC overhead 9% over the last minute",
            }),
            LogEvent::Suppressed { count } => {
                write!(
                    f,
                    "{count} more log lines this second were dropped (rate limit)"
                )
            }
        }
    }
}
