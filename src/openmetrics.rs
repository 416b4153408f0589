//! The simulated fleet's metrics in the OpenMetrics text format, under the names and labels
//! real exporters use (`http_requests_total{service,code}`, `http_request_duration_seconds`,
//! `process_resident_memory_bytes`...), so a team's own Prometheus, Grafana dashboards and
//! Alertmanager rules can watch a session: live from `--metrics-addr`, or backfilled from
//! `--export-openmetrics`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::scenario::{Scenario, Sli};
use crate::session::Simulation;

/// The run's t = 0 in exported timestamps: 2026-01-01T00:00:00Z. A fixed date keeps exports
/// of the same run byte-identical.
pub const EPOCH_S: f64 = 1_767_225_600.0;

/// How far back an export reaches before the run: the longest paging window (6h/30m). The
/// fleet ran before the scenario began, so the built-in alerts count that time as healthy
/// traffic; the export writes it out so Prometheus's windows see the same history.
pub const HISTORY_S: f64 = 6.0 * 3600.0;

/// Upper bounds of the latency buckets, seconds, as Prometheus client libraries default them;
/// each latency SLO's threshold is added for its service so its SLI can be read off a bucket.
const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Status codes by outcome: a failure of the service's own, a refusal, a caller that gave up.
const CODES: [&str; 4] = ["200", "500", "503", "504"];

/// Every series at one moment of a run.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// Simulated seconds since the run began.
    pub t: f64,
    /// A moment before the run, written out for an export: request counters only.
    history: bool,
    services: Vec<ServicePoint>,
    slos: Vec<SloPoint>,
}

impl ServicePoint {
    fn mean_latency(&self) -> f64 {
        let answered = self.buckets.last().map_or(0, |b| b.1);
        if answered == 0 {
            0.0
        } else {
            self.latency_sum / answered as f64
        }
    }
}

#[derive(Clone, Debug)]
struct ServicePoint {
    name: String,
    /// By [`CODES`].
    requests: [u64; 4],
    retries: u64,
    cpu_seconds: f64,
    /// The successful answers' latency: cumulative `(le, count)`, `+Inf` last, then the sum
    /// of their latencies.
    buckets: Vec<(f64, u64)>,
    latency_sum: f64,
    queue: f64,
    in_rotation: u32,
    instances: Vec<InstancePoint>,
}

#[derive(Clone, Debug)]
struct InstancePoint {
    name: String,
    memory_bytes: f64,
    disk_used_bytes: f64,
    up: bool,
}

#[derive(Clone, Debug)]
struct SloPoint {
    name: String,
    service: String,
    sli: &'static str,
    /// A latency SLI's threshold, as the `le` of the bucket that counts its good events.
    threshold: Option<f64>,
    objective: f64,
    period_s: f64,
    budget_left: f64,
}

impl Snapshot {
    /// Reads every series off the simulation as it stands.
    pub fn of(sim: &Simulation, scenario: &Scenario) -> Self {
        let topology = sim.topology();
        let services = topology
            .services
            .iter()
            .enumerate()
            .map(|(s, model)| {
                let metrics = sim.service_metrics(s);
                let so_far = metrics.so_far();
                let mut bounds: Vec<f64> = LATENCY_BUCKETS.to_vec();
                for slo in &scenario.slos {
                    if let Sli::Latency { threshold } = slo.sli
                        && slo.service == model.name
                    {
                        bounds.push(threshold.get());
                    }
                }
                bounds.sort_by(f64::total_cmp);
                bounds.dedup();
                let answered = &so_far.ok_latency;
                let total = answered.total();
                let mut buckets: Vec<(f64, u64)> = bounds
                    .iter()
                    .map(|&le| (le, answered.count_le(le)))
                    .collect();
                buckets.push((f64::INFINITY, total));
                let instances: Vec<InstancePoint> = model
                    .members()
                    .map(|g| (g, sim.instance(g)))
                    .filter(|(_, i)| i.provisioned)
                    .map(|(g, i)| InstancePoint {
                        name: format!("{}-{}", model.name, g - model.first_instance),
                        memory_bytes: i.memory_mb * 1024.0 * 1024.0,
                        disk_used_bytes: i.disk_used_mb * 1024.0 * 1024.0,
                        up: i.up,
                    })
                    .collect();
                let last = metrics.seconds.rows().back();
                ServicePoint {
                    name: model.name.clone(),
                    requests: [
                        so_far.ok,
                        so_far.server_errors,
                        so_far.rejected,
                        so_far.timeouts,
                    ],
                    retries: so_far.retries,
                    cpu_seconds: so_far.cpu_seconds,
                    latency_sum: answered.mean().unwrap_or(0.0) * total as f64,
                    buckets,
                    queue: last.map_or(0.0, |r| r.queue),
                    in_rotation: last.map_or(model.instances, |r| r.healthy),
                    instances,
                }
            })
            .collect();
        let slos = sim
            .slos()
            .iter()
            .map(|tracker| SloPoint {
                name: tracker.spec.name.clone(),
                service: tracker.spec.service.clone(),
                sli: match tracker.spec.sli {
                    Sli::Availability => "availability",
                    Sli::Latency { .. } => "latency",
                },
                threshold: match tracker.spec.sli {
                    Sli::Availability => None,
                    Sli::Latency { threshold } => Some(threshold.get()),
                },
                objective: tracker.spec.objective / 100.0,
                period_s: tracker.spec.window.get(),
                budget_left: tracker.budget_left(),
            })
            .collect();
        Self {
            t: sim.clock().now(),
            history: false,
            services,
            slos,
        }
    }

    /// The same fleet before the run: counters grown at `rates` successful requests per
    /// second (by service) up to this snapshot's start, nothing failed. Gauges are left out.
    fn history(&self, at: f64, rates: &[f64]) -> Self {
        let services = self
            .services
            .iter()
            .zip(rates)
            .map(|(s, rate)| {
                // Healthy: every answer a success, and within every latency threshold.
                let answered = (rate * (at + HISTORY_S)).round() as u64;
                ServicePoint {
                    requests: [answered, 0, 0, 0],
                    buckets: s.buckets.iter().map(|&(le, _)| (le, answered)).collect(),
                    latency_sum: answered as f64 * s.mean_latency(),
                    ..s.clone()
                }
            })
            .collect();
        Self {
            t: at,
            history: true,
            services,
            slos: Vec::new(),
        }
    }
}

/// A metric family: its name, type and help, and how to write its samples from a snapshot.
struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    write: fn(&mut Lines, &Snapshot),
}

/// Sample lines of one family, keyed by series so each series' points stay together.
#[derive(Default)]
struct Lines {
    /// `(series key, line)` in the order written.
    lines: Vec<(String, String)>,
    timestamp: Option<f64>,
}

impl Lines {
    fn sample(&mut self, series: &str, labels: &str, value: f64) {
        let mut line = format!("{series}{{{labels}}} {}", number(value));
        if let Some(t) = self.timestamp {
            let _ = write!(line, " {:.3}", EPOCH_S + t);
        }
        self.lines.push((format!("{series}{{{labels}}}"), line));
    }
}

fn number(value: f64) -> String {
    if value == f64::INFINITY {
        "+Inf".to_string()
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

fn le(bound: f64) -> String {
    if bound.is_infinite() {
        "+Inf".to_string()
    } else {
        // Always with a decimal point ("1.0"), as Prometheus 3 normalizes `le` on ingestion.
        format!("{bound:?}")
    }
}

const FAMILIES: &[Family] = &[
    Family {
        name: "http_requests",
        kind: "counter",
        help: "Requests answered, by service and status code (504: the caller gave up).",
        write: |out, s| {
            for service in &s.services {
                for (code, count) in CODES.iter().zip(service.requests) {
                    out.sample(
                        "http_requests_total",
                        &format!("service=\"{}\",code=\"{code}\"", service.name),
                        count as f64,
                    );
                }
            }
        },
    },
    Family {
        name: "http_request_duration_seconds",
        kind: "histogram",
        help: "Latency of the requests each service answered successfully (2xx).",
        write: |out, s| {
            for service in &s.services {
                let name = &service.name;
                for &(bound, count) in &service.buckets {
                    out.sample(
                        "http_request_duration_seconds_bucket",
                        &format!("service=\"{name}\",le=\"{}\"", le(bound)),
                        count as f64,
                    );
                }
                let total = service.buckets.last().map_or(0, |b| b.1);
                out.sample(
                    "http_request_duration_seconds_count",
                    &format!("service=\"{name}\""),
                    total as f64,
                );
                out.sample(
                    "http_request_duration_seconds_sum",
                    &format!("service=\"{name}\""),
                    service.latency_sum,
                );
            }
        },
    },
    Family {
        name: "firedrill_retries",
        kind: "counter",
        help: "Retries sent to each service by its callers.",
        write: |out, s| per_service(out, s, "firedrill_retries_total", |p| p.retries as f64),
    },
    Family {
        name: "process_cpu_seconds",
        kind: "counter",
        help: "CPU time the service's instances spent.",
        write: |out, s| per_service(out, s, "process_cpu_seconds_total", |p| p.cpu_seconds),
    },
    Family {
        name: "process_resident_memory_bytes",
        kind: "gauge",
        help: "Memory of each instance.",
        write: |out, s| per_instance(out, s, "process_resident_memory_bytes", |i| i.memory_bytes),
    },
    Family {
        name: "firedrill_disk_used_bytes",
        kind: "gauge",
        help: "Local disk used on each instance.",
        write: |out, s| per_instance(out, s, "firedrill_disk_used_bytes", |i| i.disk_used_bytes),
    },
    Family {
        name: "firedrill_instance_up",
        kind: "gauge",
        help: "1 when the instance is running, 0 while it is down or restarting.",
        write: |out, s| {
            per_instance(out, s, "firedrill_instance_up", |i| {
                f64::from(u8::from(i.up))
            })
        },
    },
    Family {
        name: "firedrill_instances_in_rotation",
        kind: "gauge",
        help: "Instances the load balancer sends traffic to.",
        write: |out, s| {
            per_service(out, s, "firedrill_instances_in_rotation", |p| {
                f64::from(p.in_rotation)
            })
        },
    },
    Family {
        name: "firedrill_queue_requests",
        kind: "gauge",
        help: "Requests waiting for a worker (a database: for a connection), all instances.",
        write: |out, s| per_service(out, s, "firedrill_queue_requests", |p| p.queue),
    },
    Family {
        name: "firedrill_slo_objective_ratio",
        kind: "gauge",
        help: "Each SLO's objective: the share of good events it promises.",
        write: |out, s| per_slo(out, s, "firedrill_slo_objective_ratio", |slo| slo.objective),
    },
    Family {
        name: "firedrill_slo_period_seconds",
        kind: "gauge",
        help: "Each SLO's period (its error budget's window).",
        write: |out, s| per_slo(out, s, "firedrill_slo_period_seconds", |slo| slo.period_s),
    },
    Family {
        name: "firedrill_slo_error_budget_remaining_ratio",
        kind: "gauge",
        help: "Share of each SLO's error budget left, as the game counts it.",
        write: |out, s| {
            per_slo(
                out,
                s,
                "firedrill_slo_error_budget_remaining_ratio",
                |slo| slo.budget_left,
            )
        },
    },
];

/// One sample per service (none for the history before the run).
fn per_service(out: &mut Lines, s: &Snapshot, series: &str, value: fn(&ServicePoint) -> f64) {
    for service in s.services.iter().filter(|_| !s.history) {
        let labels = format!("service=\"{}\"", service.name);
        out.sample(series, &labels, value(service));
    }
}

/// One sample per provisioned instance.
fn per_instance(out: &mut Lines, s: &Snapshot, series: &str, value: fn(&InstancePoint) -> f64) {
    for service in s.services.iter().filter(|_| !s.history) {
        for i in &service.instances {
            let labels = format!("service=\"{}\",instance=\"{}\"", service.name, i.name);
            out.sample(series, &labels, value(i));
        }
    }
}

/// One sample per SLO.
fn per_slo(out: &mut Lines, s: &Snapshot, series: &str, value: fn(&SloPoint) -> f64) {
    for slo in &s.slos {
        out.sample(series, &slo_labels(slo), value(slo));
    }
}

/// A latency SLO's series carry the `le` of its threshold's bucket, for rules to join on.
fn slo_labels(slo: &SloPoint) -> String {
    let le_label = slo
        .threshold
        .map_or(String::new(), |t| format!(",le=\"{}\"", le(t)));
    format!(
        "slo=\"{}\",service=\"{}\",sli=\"{}\"{le_label}",
        slo.name, slo.service, slo.sli
    )
}

/// What a scrape returns: every family at this moment, without timestamps (Prometheus
/// stamps a scrape itself).
pub fn render(snapshot: &Snapshot) -> String {
    render_all(std::slice::from_ref(snapshot), false)
}

/// A whole run as one OpenMetrics file, every sample timestamped, for `promtool tsdb
/// create-blocks-from openmetrics`. The series start [`HISTORY_S`] before the run with the
/// counters of a healthy fleet at the run's mean rate of answered requests.
pub fn render_run(snapshots: &[Snapshot], step: f64) -> String {
    let Some(last) = snapshots.last() else {
        return "# EOF\n".to_string();
    };
    let rates: Vec<f64> = last
        .services
        .iter()
        .map(|s| s.requests.iter().sum::<u64>() as f64 / last.t.max(1.0))
        .collect();
    let steps = (HISTORY_S / step).round() as i64;
    let mut all: Vec<Snapshot> = (0..=steps)
        .map(|k| last.history(-HISTORY_S + k as f64 * step, &rates))
        .collect();
    // The run's counters continue the history's.
    for snapshot in snapshots {
        let mut shifted = snapshot.clone();
        for ((service, rate), end) in shifted.services.iter_mut().zip(&rates).zip(&last.services) {
            let before = (rate * HISTORY_S).round() as u64;
            service.requests[0] += before;
            for bucket in &mut service.buckets {
                bucket.1 += before;
            }
            service.latency_sum += before as f64 * end.mean_latency();
        }
        all.push(shifted);
    }
    render_all(&all, true)
}

fn render_all(snapshots: &[Snapshot], timestamps: bool) -> String {
    let mut out = String::new();
    for family in FAMILIES {
        let _ = writeln!(out, "# TYPE {} {}", family.name, family.kind);
        let _ = writeln!(out, "# HELP {} {}", family.name, family.help);
        let mut lines = Lines::default();
        for snapshot in snapshots {
            lines.timestamp = timestamps.then_some(snapshot.t);
            (family.write)(&mut lines, snapshot);
        }
        // Points of one series together, in time order; series in first-seen order. For a
        // histogram, one labelset's buckets, count and sum at each time form one point.
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut grouped: Vec<Vec<&str>> = Vec::new();
        for (key, line) in &lines.lines {
            let next = grouped.len();
            let at = *index.entry(point_key(key)).or_insert(next);
            if at == next {
                grouped.push(Vec::new());
            }
            grouped[at].push(line);
        }
        for group in grouped {
            for line in group {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out.push_str("# EOF\n");
    out
}

/// The labelset a sample's point belongs to: a histogram's `_bucket`, `_count` and `_sum`
/// samples of one service share it.
fn point_key(series: &str) -> String {
    let (name, labels) = series.split_once('{').unwrap_or((series, ""));
    let base = name
        .strip_suffix("_bucket")
        .or_else(|| name.strip_suffix("_count"))
        .or_else(|| name.strip_suffix("_sum"))
        .unwrap_or(name);
    let labels: Vec<&str> = labels
        .trim_end_matches('}')
        .split(',')
        .filter(|l| !l.starts_with("le="))
        .collect();
    format!("{base}{{{}}}", labels.join(","))
}

/// Connections served at once; more are closed at once, so a flood cannot queue scrapes
/// behind it.
const MAX_CONNECTIONS: usize = 256;
/// How long a client has to send its whole request: a client trickling bytes is cut off.
const REQUEST_DEADLINE: Duration = Duration::from_secs(2);
/// A request line and headers beyond this are not a scrape.
const MAX_REQUEST_BYTES: usize = 16 * 1024;

/// Serves the latest rendering at `GET /metrics` from a background thread. Each connection
/// gets its own thread (at most [`MAX_CONNECTIONS`]) and [`REQUEST_DEADLINE`] for its whole
/// request, so no client, slow or idle, can hold up another's scrape.
pub struct Exporter {
    text: Arc<Mutex<String>>,
    pub addr: SocketAddr,
}

impl Exporter {
    /// Binds `addr` and starts answering scrapes; the error says what could not be bound.
    pub fn serve(addr: &str) -> Result<Self, String> {
        let listener =
            TcpListener::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let text = Arc::new(Mutex::new("# EOF\n".to_string()));
        let shared = Arc::clone(&text);
        let active = Arc::new(AtomicUsize::new(0));
        std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || {
                for stream in listener.incoming().flatten() {
                    if active.fetch_add(1, Ordering::AcqRel) >= MAX_CONNECTIONS {
                        active.fetch_sub(1, Ordering::AcqRel);
                        drop(stream);
                        continue;
                    }
                    let (text, done) = (Arc::clone(&shared), Arc::clone(&active));
                    let spawned = std::thread::Builder::new()
                        .name("metrics-connection".into())
                        .spawn(move || {
                            let body = text.lock().map(|t| t.clone()).unwrap_or_default();
                            let _ = answer(stream, &body);
                            done.fetch_sub(1, Ordering::AcqRel);
                        });
                    if spawned.is_err() {
                        active.fetch_sub(1, Ordering::AcqRel);
                    }
                }
            })
            .map_err(|e| e.to_string())?;
        Ok(Self { text, addr })
    }

    /// Replaces what the next scrape returns.
    pub fn publish(&self, text: String) {
        if let Ok(mut current) = self.text.lock() {
            *current = text;
        }
    }
}

/// Reads a request's line and headers within [`REQUEST_DEADLINE`] and
/// [`MAX_REQUEST_BYTES`]; None when the client did not send them in time.
fn read_request(stream: &mut TcpStream) -> Option<String> {
    let deadline = std::time::Instant::now() + REQUEST_DEADLINE;
    let mut request = Vec::new();
    let mut chunk = [0_u8; 1024];
    loop {
        let left = deadline.checked_duration_since(std::time::Instant::now())?;
        stream
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .ok()?;
        let read = stream.read(&mut chunk).ok()?;
        if read == 0 {
            break;
        }
        request.extend_from_slice(&chunk[..read]);
        if request.windows(4).any(|w| w == b"\r\n\r\n")
            || request.windows(2).any(|w| w == b"\n\n")
            || request.len() >= MAX_REQUEST_BYTES
        {
            break;
        }
    }
    Some(String::from_utf8_lossy(&request).into_owned())
}

fn answer(mut stream: TcpStream, body: &str) -> std::io::Result<()> {
    stream.set_write_timeout(Some(REQUEST_DEADLINE))?;
    let Some(request) = read_request(&mut stream) else {
        return Ok(());
    };
    let request_line = request.lines().next().unwrap_or("");
    let path = request_line.split_whitespace().nth(1).unwrap_or("");
    if request_line.starts_with("GET ") && (path == "/metrics" || path.starts_with("/metrics?")) {
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/openmetrics-text; version=1.0.0; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    } else {
        let text = "firedrill serves its metrics at /metrics\n";
        write!(
            stream,
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
            text.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(addr: SocketAddr, request: &[u8]) -> String {
        let mut stream = TcpStream::connect(addr).unwrap();
        // The server may stop reading and close first (a flood): that is its right.
        let _ = stream.write_all(request);
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response);
        response
    }

    #[test]
    fn scrapes_are_answered_and_hostile_requests_do_not_stop_them() {
        let exporter = Exporter::serve("127.0.0.1:0").unwrap();
        exporter.publish("# TYPE up gauge\nup 1\n# EOF\n".into());
        // A megabyte without a line end, then a request for another path: turned away.
        get(exporter.addr, &vec![b'x'; 1 << 20]);
        assert!(get(exporter.addr, b"GET / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
        let scrape = get(exporter.addr, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(scrape.starts_with("HTTP/1.1 200"), "{scrape}");
        assert!(scrape.contains("application/openmetrics-text"));
        assert!(scrape.ends_with("up 1\n# EOF\n"), "{scrape}");
    }

    #[test]
    fn slow_and_idle_clients_cannot_stall_a_scrape() {
        let exporter = Exporter::serve("127.0.0.1:0").unwrap();
        exporter.publish("# TYPE up gauge\nup 1\n# EOF\n".into());
        // A hundred idle connections and twenty that trickle a byte at a time.
        let idle: Vec<TcpStream> = (0..100)
            .map(|_| TcpStream::connect(exporter.addr).unwrap())
            .collect();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let trickling: Vec<_> = (0..20)
            .map(|_| {
                let (addr, stop) = (exporter.addr, Arc::clone(&stop));
                std::thread::spawn(move || {
                    let mut stream = TcpStream::connect(addr).unwrap();
                    for byte in b"GET /metrics HTTP/1.1\r\n".iter().cycle() {
                        if stop.load(Ordering::Relaxed) || stream.write_all(&[*byte]).is_err() {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(100));
                    }
                })
            })
            .collect();
        // Meanwhile, every scrape is answered, each within a second.
        for _ in 0..5 {
            let mut stream = TcpStream::connect(exporter.addr).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(1)))
                .unwrap();
            stream
                .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            let mut response = String::new();
            stream.read_to_string(&mut response).unwrap();
            assert!(response.ends_with("up 1\n# EOF\n"), "{response}");
            std::thread::sleep(Duration::from_millis(300));
        }
        stop.store(true, Ordering::Relaxed);
        for t in trickling {
            t.join().unwrap();
        }
        drop(idle);
    }
}
