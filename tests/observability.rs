//! The team's own tools against the simulated fleet: a real Prometheus scrapes the exporter
//! during a real-time run and counts what the report counts; the shipped alert rules, run by
//! Prometheus's own `promtool test rules` over a seeded run's exported series, fire when the
//! game's built-in burn-rate page does, within one evaluation interval.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use firedrill::openmetrics::{HISTORY_S, Snapshot, render_run};
use firedrill::scenario::Sli;
use firedrill::session::load_file;

/// Prometheus's evaluation interval in the rule tests, and the export's step.
const INTERVAL: f64 = 15.0;

fn has(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether `program` is here; CI installs Prometheus (see .ci/run) and sets CI, so there a
/// missing one fails the test instead of skipping it.
fn available(program: &str) -> bool {
    if has(program) {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{program} is missing: install the Debian package prometheus"
    );
    eprintln!("skipped: {program} is not installed (apt install prometheus)");
    false
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The seeded run's export and the time its built-in 1h/5m page fired, per SLO.
fn export_run(scenario: &str) -> (String, Vec<(String, String, f64)>) {
    let scenario = load_file(&root().join("scenarios").join(scenario))
        .unwrap()
        .scenario;
    let mut points = Vec::new();
    let run = firedrill::report::run(
        firedrill::session::Session::of(scenario.clone()),
        &[],
        (0, 0),
        (INTERVAL, |sim: &firedrill::session::Simulation| {
            points.push(Snapshot::of(sim, &scenario))
        }),
    );
    let fired: Vec<(String, String, f64)> = run
        .report
        .slos
        .iter()
        .filter_map(|slo| {
            let fast = slo.alerts.iter().find(|a| a.row == "1h/5m x14.4")?;
            // The alert's labels beyond the SLO's name: its SLI, and a latency SLI's bucket.
            let spec = scenario.slos.iter().find(|s| s.name == slo.name)?;
            let labels = match spec.sli {
                Sli::Availability => format!("service: {}, sli: availability", slo.service),
                // The threshold's `le` joins the burn rate, not the alert.
                Sli::Latency { .. } => format!("service: {}, sli: latency", slo.service),
            };
            Some((slo.name.clone(), labels, fast.fired_s))
        })
        .collect();
    (render_run(&points, INTERVAL), fired)
}

/// The export's series that the rules read, as promtool input: one value per interval from
/// the first exported timestamp, `_` where the series has no sample.
fn input_series(export: &str) -> (String, f64) {
    let wanted = [
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "firedrill_slo_objective_ratio",
        "firedrill_slo_period_seconds",
    ];
    // Only the buckets a latency SLO reads (the others cost promtool time, not coverage).
    let thresholds: Vec<&str> = export
        .lines()
        .filter(|l| l.starts_with("firedrill_slo_objective_ratio{"))
        .filter_map(|l| l.split(",le=").nth(1)?.split('}').next())
        .collect();
    let mut series: BTreeMap<String, BTreeMap<i64, String>> = BTreeMap::new();
    let mut first: Option<f64> = None;
    for line in export.lines().filter(|l| !l.starts_with('#')) {
        let mut parts = line.rsplitn(3, ' ');
        let (Some(ts), Some(value), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
            panic!("malformed line {line}");
        };
        let ts: f64 = ts.parse().unwrap();
        let start = *first.get_or_insert(ts);
        if !wanted.iter().any(|w| name.starts_with(&format!("{w}{{")))
            || (name.starts_with("http_request_duration_seconds_bucket{")
                && !thresholds.iter().any(|t| name.contains(&format!("le={t}"))))
        {
            continue;
        }
        let step = ((ts - start) / INTERVAL).round() as i64;
        series
            .entry(name.to_string())
            .or_default()
            .insert(step, value.to_string());
    }
    let last = series
        .values()
        .filter_map(|points| points.keys().last().copied())
        .max()
        .unwrap();
    let mut yaml = String::new();
    for (name, points) in &series {
        let values: Vec<&str> = (0..=last)
            .map(|k| points.get(&k).map_or("_", String::as_str))
            .collect();
        yaml.push_str(&format!(
            "      - series: '{name}'\n        values: '{}'\n",
            values.join(" ")
        ));
    }
    (yaml, first.unwrap())
}

fn duration(seconds: f64) -> String {
    format!("{}s", seconds.round() as i64)
}

#[test]
fn the_shipped_alert_rules_page_when_the_built_in_alert_does() {
    if !available("promtool") {
        return;
    }
    let dir = scratch("alert-rules");
    let rules = root().join("docs/observability/alerts.yml");
    let check = Command::new("promtool")
        .args(["check", "rules"])
        .arg(&rules)
        .output()
        .unwrap();
    assert!(check.status.success(), "{check:?}");
    let mut tested = 0;
    // cache-stampede pages on its latency SLO as well as on its availability one.
    for scenario in [
        "cert-expiry.ron",
        "retry-storm.ron",
        "dns-failure.ron",
        "cache-stampede.ron",
    ] {
        let (export, fired) = export_run(scenario);
        assert!(
            !fired.is_empty(),
            "{scenario}: the built-in page never fired"
        );
        let (input, _) = input_series(&export);
        // Run time t is HISTORY_S after the series start. Each SLO's alert is quiet one
        // interval before its built-in page and firing one interval after; at each of those
        // moments, the SLOs that paged earlier are firing too (pages here do not clear).
        let firing_at = |at: f64| HISTORY_S + (at / INTERVAL).ceil() * INTERVAL + INTERVAL;
        let quiet_at =
            |at: f64| HISTORY_S + ((at / INTERVAL).floor() * INTERVAL - INTERVAL).max(0.0);
        let mut tests = String::new();
        for (_, _, at) in &fired {
            for eval in [quiet_at(*at), firing_at(*at)] {
                let expected: String = fired
                    .iter()
                    .filter(|(_, _, other)| firing_at(*other) <= eval)
                    .map(|(slo, labels, _)| format!(
                        "\n          - exp_labels: {{severity: page, window: 1h/5m, slo: {slo}, {labels}}}\n            exp_annotations: {{summary: \"{slo} is burning its error budget fast (2% in an hour)\"}}"
                    ))
                    .collect();
                let expected = if expected.is_empty() {
                    " []".to_string()
                } else {
                    expected
                };
                tests.push_str(&format!(
                    "      - eval_time: {}\n        alertname: ErrorBudgetBurnFast\n        exp_alerts:{expected}\n",
                    duration(eval)
                ));
            }
        }
        let test_file = dir.join(scenario.replace(".ron", ".test.yml"));
        std::fs::write(
            &test_file,
            format!(
                "rule_files:\n  - {}\nevaluation_interval: {}\ntests:\n  - interval: {}\n    input_series:\n{input}    alert_rule_test:\n{tests}",
                rules.display(),
                duration(INTERVAL),
                duration(INTERVAL)
            ),
        )
        .unwrap();
        let out = Command::new("promtool")
            .args(["test", "rules"])
            .arg(&test_file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{scenario}: built-in pages at {fired:?}\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        tested += fired.len();
    }
    assert!(tested >= 5);
}

#[test]
fn the_export_backfills_into_prometheus() {
    if !available("promtool") {
        return;
    }
    let dir = scratch("backfill");
    let (export, _) = export_run("cert-expiry.ron");
    let file = dir.join("run.om");
    std::fs::write(&file, &export).unwrap();
    let out = Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&file)
        .arg(dir.join("data"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("NUM SAMPLES"));
}

/// A free loopback port (bound and released: another process could take it meanwhile,
/// which only makes the test fail loudly).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn http_get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_string())
}

/// Kills the child when the test ends, passed or not.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_real_prometheus_scrapes_the_counts_the_report_gives() {
    if !available("prometheus") {
        return;
    }
    let dir = scratch("prometheus");
    let (exporter, web) = (free_port(), free_port());
    std::fs::write(
        dir.join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: firedrill\n    static_configs:\n      - targets: ['127.0.0.1:{exporter}']\n"
        ),
    )
    .unwrap();
    let _prometheus = Killed(
        Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{web}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let report = dir.join("report.json");
    let _run = Killed(
        Command::new(env!("CARGO_BIN_EXE_firedrill"))
            .args(["run", "scenarios/cert-expiry.ron", "--duration", "20s"])
            .args(["--speed", "1", "--hold", "--no-history"])
            .arg(format!("--metrics-addr=127.0.0.1:{exporter}"))
            .arg("--report")
            .arg(&report)
            .current_dir(root())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // The report is written when the run ends; the exporter then holds the final counts.
    let started = Instant::now();
    while !report.is_file() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the run never ended"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let want: BTreeMap<String, u64> = report["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let m = &s["summary"];
            let answered = ["ok", "server_errors", "rejected", "timeouts"]
                .iter()
                .map(|k| m[k].as_u64().unwrap())
                .sum();
            (s["name"].as_str().unwrap().to_string(), answered)
        })
        .collect();
    assert!(want.values().all(|&n| n > 0), "{want:?}");
    let mut got = BTreeMap::new();
    while started.elapsed() < Duration::from_secs(60) {
        if let Some(body) = http_get(
            web,
            "/api/v1/query?query=sum%20by%20(service)%20(http_requests_total)",
        ) {
            let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
            got = answer["data"]["result"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| {
                    let service = r["metric"]["service"].as_str().unwrap().to_string();
                    let value: f64 = r["value"][1].as_str().unwrap().parse().unwrap();
                    (service, value as u64)
                })
                .collect();
            if got == want {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("Prometheus never showed the report's counts:\n want {want:?}\n got  {got:?}");
}

#[test]
fn every_query_of_the_grafana_dashboard_is_valid_promql() {
    if !available("promtool") {
        return;
    }
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("docs/observability/grafana-dashboard.json")).unwrap(),
    )
    .unwrap();
    let exprs: Vec<String> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
        .map(|t| t["expr"].as_str().unwrap().to_string())
        .collect();
    assert!(exprs.len() >= 10, "{exprs:?}");
    // promtool parses each as a recording rule's expression.
    let rules: String = exprs
        .iter()
        .enumerate()
        .map(|(k, e)| {
            format!(
                "      - record: dashboard:query{k}\n        expr: '{}'\n",
                e.replace('\'', "''")
            )
        })
        .collect();
    let dir = scratch("dashboard");
    let file = dir.join("queries.yml");
    std::fs::write(
        &file,
        format!("groups:\n  - name: dashboard\n    rules:\n{rules}"),
    )
    .unwrap();
    let out = Command::new("promtool")
        .args(["check", "rules"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The exporter serves every metric the dashboard reads.
    let (export, _) = export_run("cert-expiry.ron");
    for metric in [
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "firedrill_queue_requests",
        "firedrill_instances_in_rotation",
        "firedrill_retries_total",
        "firedrill_disk_used_bytes",
        "firedrill_slo_error_budget_remaining_ratio",
    ] {
        assert!(
            exprs.iter().any(|e| e.contains(metric)),
            "the dashboard does not show {metric}"
        );
        assert!(
            export.contains(&format!("\n{metric}{{")),
            "{metric} not exported"
        );
    }
}
