//! SLOs against the workbook's numbers: multi-window, multi-burn-rate alerts on a simulated
//! service, hand-computed.

use firedrill::remediation::Remediation;
use firedrill::scenario::Severity as Level;
use firedrill::session::Simulation;
use firedrill::session::load_str;
use firedrill::slo::Severity;

/// One service at 100 requests/s with a 99.9% / 30 d SLO, clean for the first hour so every
/// page window is full, then an error fault.
fn run(errors: &str, seconds: f64) -> Simulation {
    let text = format!(
        r#"(name: "slo", seed: 1, duration: "3h",
            services: [(name: "api", workers: 64, service_time: Constant(value: "5ms"))],
            traffic: [(to: "api", rate: 100.0)],
            faults: [{errors}],
            slos: [(name: "api-availability", service: "api", objective: 99.9, window: "30d")])"#
    );
    let mut sim = Simulation::new(
        &load_str("slo.ron", &text)
            .unwrap_or_else(|e| panic!("{e}"))
            .scenario,
    );
    sim.run_until(seconds);
    sim
}

fn first_page(sim: &Simulation) -> (f64, Option<f64>, String) {
    let alert = sim.slos()[0]
        .alerts
        .iter()
        .find(|a| a.severity == Severity::Page)
        .expect("a page fired");
    (alert.fired_s, alert.cleared_s, alert.row.clone())
}

#[test]
fn a_total_outage_pages_after_52_seconds_and_clears_5_minutes_after_it_ends() {
    // 1h window: t / 3600 > 14.4 x 0.1% once t > 51.8 s; the 5m window is past it in 4.3 s.
    let sim = run(
        r#"(kind: Errors(ratio: 1.0), target: "api", start: At("1h"), duration: "10m")"#,
        4800.0,
    );
    let (fired, cleared, row) = first_page(&sim);
    assert_eq!(row, "1h/5m x14.4");
    assert!(
        (51.0..=54.0).contains(&(fired - 3600.0)),
        "fired {} s in",
        fired - 3600.0
    );
    // Cleared when the 5m window falls back: (300 - s) / 300 <= 1.44% once s >= 295.7 s.
    let after = cleared.expect("cleared") - 4200.0;
    assert!(
        (294.0..=298.0).contains(&after),
        "cleared {after} s after the errors stopped, not an hour"
    );
}

#[test]
fn fifteen_percent_errors_page_after_about_5_8_minutes() {
    // 1h window: 0.15 t / 3600 > 1.44% once t > 345.6 s.
    let sim = run(
        r#"(kind: Errors(ratio: 0.15), target: "api", start: At("1h"))"#,
        4200.0,
    );
    let (fired, _, _) = first_page(&sim);
    let t = fired - 3600.0;
    assert!(
        (335.0..=356.0).contains(&t),
        "paged {t} s in (5.8 min expected)"
    );
}

#[test]
fn the_budget_spent_is_counted_in_bad_events() {
    let sim = run(
        r#"(kind: Errors(ratio: 1.0), target: "api", start: At("1h"), duration: "60s")"#,
        7200.0,
    );
    let slo = &sim.slos()[0];
    // About 6000 bad events of a 30-day budget of 0.1% x 100/s x 30 d = 259,200.
    assert!((5800..=6200).contains(&slo.bad), "{}", slo.bad);
    let spent = 1.0 - slo.budget_left();
    assert!((spent - slo.bad as f64 / 259_200.0).abs() < 1e-3, "{spent}");
}

#[test]
fn a_ninety_percent_slo_gets_the_page_can_never_fire_warning() {
    let text = r#"(name: "loose", services: [(name: "api")], traffic: [(to: "api", rate: 10.0)],
        slos: [(name: "loose", service: "api", objective: 90.0)])"#;
    let loaded = load_str("loose.ron", text).unwrap();
    let warnings: Vec<String> = loaded
        .warnings
        .iter()
        .filter(|w| w.severity == Level::Warning)
        .map(|w| w.to_string())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("slos[0].objective: the 1h page can never fire")),
        "{warnings:?}"
    );
    let tight = r#"(name: "tight", services: [(name: "api")], traffic: [(to: "api", rate: 0.001)],
        slos: [(name: "tight", service: "api", objective: 99.99999)])"#;
    let warnings = warnings_of("tight.ron", tight);
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("spends the whole budget in")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("traffic too low for the objective")),
        "{warnings:?}"
    );
}

#[test]
fn an_exhausted_budget_freezes_changes_but_not_mitigations() {
    let text = r#"(name: "freeze", seed: 1, duration: "30m",
        services: [(name: "api", workers: 64, service_time: Constant(value: "5ms"))],
        traffic: [(to: "api", rate: 100.0)],
        faults: [(kind: Errors(ratio: 1.0), target: "api", start: At("1m"), duration: "2m")],
        slos: [(name: "api", service: "api", objective: 99.9, budget_spent: 0.99)])"#;
    let mut sim = Simulation::new(&load_str("freeze.ron", text).unwrap().scenario);
    sim.schedule(
        30.0,
        Remediation::RollForward {
            service: "api".into(),
            version: "v2".into(),
        },
    );
    sim.schedule(
        300.0,
        Remediation::RollForward {
            service: "api".into(),
            version: "v3".into(),
        },
    );
    sim.schedule(
        300.0,
        Remediation::RollingRestart {
            service: "api".into(),
        },
    );
    sim.run_until(400.0);
    // 1% of a 30-day budget at 100/s is 2,592 bad events: two minutes of outage spend it all.
    assert!(sim.slos()[0].budget_left() < 0.0);
    let flags: Vec<bool> = sim
        .remediations()
        .applied
        .iter()
        .map(|a| a.violates_freeze)
        .collect();
    assert_eq!(
        flags,
        vec![false, true, false],
        "only the change after exhaustion is flagged"
    );
}

#[test]
fn an_actions_budget_estimate_matches_what_it_then_costs() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/shop-incident.ron");
    let scenario = firedrill::session::load_file(&path).unwrap().scenario;
    let rollback = Remediation::Rollback {
        service: "checkout".into(),
    };
    let estimate = firedrill::session::estimate(&scenario, &[], &rollback, (540.0, 300.0));
    let checkout = &estimate[0];
    assert!(
        checkout.with_action < checkout.without_action / 2.0,
        "{checkout:?}"
    );
    // Now really take it, in the same seeded run.
    let mut sim = Simulation::new(&scenario);
    sim.schedule(540.0, rollback);
    sim.run_until(540.0);
    let before = sim.slos()[0].bad;
    sim.run_until(840.0);
    let slo = &sim.slos()[0];
    let actual = (slo.bad - before) as f64 / slo.budget_events();
    assert!(
        (checkout.with_action - actual).abs() <= 0.2 * actual,
        "estimated {} vs actual {actual}",
        checkout.with_action
    );
}

#[test]
fn an_unacknowledged_page_escalates_at_the_timeout_and_an_acknowledged_one_does_not() {
    let text = r#"(name: "pages", seed: 1, duration: "1h", escalation_timeout: "5m",
        services: [(name: "api", workers: 64, service_time: Constant(value: "5ms"))],
        traffic: [(to: "api", rate: 100.0)],
        faults: [(kind: Errors(ratio: 1.0), target: "api", start: At("10m"), duration: "10m")],
        slos: [(name: "api", service: "api", objective: 99.9)])"#;
    let scenario = load_str("pages.ron", text).unwrap().scenario;
    let mut ignored = Simulation::new(&scenario);
    let mut answered = Simulation::new(&scenario);
    answered.issue(acknowledge(660.0, "api"));
    // The 6h/30m row keeps paging until its 30-minute window is clean: 30 min after the end.
    for sim in [&mut ignored, &mut answered] {
        sim.run_until(3300.0);
    }
    let page = |sim: &Simulation| sim.slos()[0].pager.pages[0].clone();
    let opened = page(&ignored).opened_s;
    assert!(
        (650.0..656.0).contains(&opened),
        "paged 52 s into the outage: {opened}"
    );
    assert_eq!(
        page(&ignored).escalated_s,
        Some(opened + 300.0),
        "escalated at the timeout"
    );
    assert_eq!(page(&answered).acknowledged_s, Some(660.0));
    assert_eq!(page(&answered).escalated_s, None);
    assert!(
        page(&answered).resolved_s.is_some(),
        "resolved once no page row fires"
    );
}

#[test]
fn custom_rows_runbooks_and_the_traffic_guard() {
    let body = |min_rps: f64| {
        format!(
            r#"(name: "custom", seed: 1, duration: "1h",
            services: [(name: "api", workers: 64, service_time: Constant(value: "5ms"))],
            traffic: [(to: "api", rate: 2.0)],
            faults: [(kind: Errors(ratio: 1.0), target: "api", start: At("10m"), duration: "5m")],
            slos: [(name: "api", service: "api", objective: 99.0, min_rps: {min_rps},
                    runbook: "Check the api deploys first.",
                    alerting: [(severity: Page, long: "10m", short: "1m", factor: 10.0)])])"#
        )
    };
    let mut guarded = Simulation::new(&load_str("custom.ron", &body(5.0)).unwrap().scenario);
    let mut open = Simulation::new(&load_str("custom.ron", &body(0.0)).unwrap().scenario);
    for sim in [&mut guarded, &mut open] {
        sim.run_until(1200.0);
    }
    assert!(
        guarded.slos()[0].alerts.is_empty(),
        "2 requests/s is under the 5/s guard"
    );
    let alert = &open.slos()[0].alerts[0];
    assert_eq!(alert.row, "10m/1m x10");
    assert_eq!(alert.runbook, "Check the api deploys first.");
    // 10m window: t / 600 > 10 x 1% once t > 60 s (give or take Poisson noise at 2/s).
    assert!(
        (40.0..=80.0).contains(&(alert.fired_s - 600.0)),
        "{}",
        alert.fired_s
    );
}

#[test]
fn the_faster_page_inhibits_the_slower_one() {
    let sim = run(
        r#"(kind: Errors(ratio: 1.0), target: "api", start: At("1h"), duration: "20m")"#,
        6000.0,
    );
    let report = sim.slos()[0].report("api");
    let rows: Vec<&str> = report.alerts.iter().map(|a| a.row.as_str()).collect();
    assert_eq!(
        rows,
        vec!["1h/5m x14.4"],
        "the 6h/30m page fired while 1h/5m was firing"
    );
    assert!(
        sim.slos()[0].alerts.len() > 1,
        "it did fire, and was inhibited"
    );
}

#[test]
fn threshold_alerts_wait_for_their_duration_and_page_like_any_other() {
    let text = r#"(name: "disk", seed: 1, duration: "30m",
        services: [(name: "api", disk: (size_mb: 10000.0, used_mb: 8000.0))],
        traffic: [(to: "api", rate: 10.0)],
        faults: [(kind: DiskFill(per_request_mb: 1.0), target: "api", start: At("0s")),
                 (kind: MissingMetrics, target: "api", start: At("0s"), duration: "2m")],
        alerts: [
            (name: "disk-full-soon", service: "api", metric: DiskUsed, above: 0.9, for: "2m",
             severity: Page, runbook: "Rotate the logs, then find who writes them."),
            (name: "disk-noted", service: "api", metric: DiskUsed, above: 0.85, for: "30s"),
        ])"#;
    let scenario = load_str("disk.ron", text)
        .unwrap_or_else(|e| panic!("{e}"))
        .scenario;
    let mut sim = Simulation::new(&scenario);
    sim.issue(acknowledge(600.0, "disk-full-soon"));
    sim.run_until(900.0);
    let alerts = sim.threshold_alerts();
    // 10 MB/s fills 2,000 MB of headroom in 200 s: 85% at 50 s, 90% at 100 s. The metrics
    // are missing for the first two minutes, so nothing can fire before 120 s.
    let noted = &alerts[1].alerts[0];
    assert!(
        (150.0..=153.0).contains(&noted.fired_s),
        "ticket {}",
        noted.fired_s
    );
    let page = &alerts[0].alerts[0];
    assert!(
        (240.0..=243.0).contains(&page.fired_s),
        "page {}",
        page.fired_s
    );
    assert_eq!(page.runbook, "Rotate the logs, then find who writes them.");
    let pager = &alerts[0].pager.pages[0];
    assert_eq!(
        pager.escalated_s,
        Some(pager.opened_s + 300.0),
        "nobody acknowledged in 5 min"
    );
    assert_eq!(pager.acknowledged_s, Some(600.0));
    assert!(alerts[1].pager.pages.is_empty(), "tickets do not page");
}

#[test]
fn a_threshold_rule_reads_its_rate_over_a_window_as_prometheus_does() {
    // 100 requests a second, 4% of them failing from 2m. A rule on the error ratio above 2%
    // for 1m: over a 1m window the ratio is 4% x (seconds since 2m) / 60, so it passes 2% at
    // 2m30s and fires a minute later, at 3m30s. (The crossing is a binomial count: 120
    // errors of 6,000 expected at 2m30s, give or take 11, which is 2.7 s; 8 s is 3 sigma.)
    // Read second by second instead, the ratio is under 2% one second in four, so the same
    // rule never holds for a minute.
    let rule = |window: &str| {
        format!(
            r#"(name: "errors", seed: 4, duration: "12m",
            services: [(name: "api", workers: 64, service_time: Constant(value: "5ms"))],
            traffic: [(to: "api", rate: 100.0)],
            faults: [(kind: Errors(ratio: 0.04), target: "api", start: At("2m"))],
            alerts: [(name: "api-errors", service: "api", metric: ErrorRatio, above: 0.02,
                      for: "1m", window: "{window}", severity: Page)])"#
        )
    };
    let fired = |window: &str| {
        let scenario = load_str("errors.ron", &rule(window))
            .unwrap_or_else(|e| panic!("{e}"))
            .scenario;
        let mut sim = Simulation::new(&scenario);
        sim.run_until(720.0);
        sim.threshold_alerts()[0]
            .alerts
            .iter()
            .map(|a| a.fired_s)
            .collect::<Vec<f64>>()
    };
    let windowed = fired("1m");
    assert_eq!(windowed.len(), 1, "fires once and holds: {windowed:?}");
    assert!(
        (windowed[0] - 210.0).abs() <= 8.0,
        "fired at {}, expected 3m30s",
        windowed[0]
    );
    assert_eq!(fired("1s"), Vec::<f64>::new());
}

fn acknowledge(at: f64, alert: &str) -> firedrill::incident::Entry {
    firedrill::incident::Entry {
        at: firedrill::scenario::Seconds(at),
        by: firedrill::incident::SOLO_PLAYER.into(),
        command: firedrill::incident::Command::Acknowledge {
            alert: alert.into(),
        },
    }
}

/// The load's warnings of scenario `text`, as a user reads them.
fn warnings_of(file: &str, text: &str) -> Vec<String> {
    load_str(file, text)
        .unwrap()
        .warnings
        .iter()
        .map(|w| w.to_string())
        .collect()
}

#[test]
fn every_page_row_in_force_is_checked_and_the_lint_says_when_the_next_pages() {
    // A custom page row that a 99% SLO can never trip, beside one that can.
    let text = r#"(name: "rows", services: [(name: "api")], traffic: [(to: "api", rate: 10.0)],
        slos: [(name: "rows", service: "api", objective: 99.0, alerting: [
            (severity: Page, long: "1h", short: "5m", factor: 150.0),
            (severity: Page, long: "6h", short: "30m", factor: 6.0),
        ])])"#;
    let warnings = warnings_of("rows.ron", text);
    assert!(
        warnings.iter().any(|w| w.contains(
            "slos[0].alerting[0].factor: the 1h page can never fire: it needs an error ratio above 150% (burn 150.0 x budget 1.0%); no page before 21m36s of total outage (the 6h/30m row)"
        )),
        "{warnings:?}"
    );
    // No page row that can fire at all.
    let silent = text.replace("factor: 6.0", "factor: 200.0");
    let warnings = warnings_of("rows.ron", &silent);
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("no page at all, even for a total outage")),
        "{warnings:?}"
    );
}

/// Two SLOs on one path page for one incident; a second outage comes back half an hour later,
/// the incident still unresolved.
const TWO_PAGES: &str = r#"(name: "two pages", duration: "70m", seed: 3,
    services: [
        (name: "web", instances: 2, workers: 32, service_time: LogNormal(median: "5ms", p99: "30ms"),
         calls: [(to: "api", timeout: "1s")]),
        (name: "api", instances: 2, workers: 16, service_time: LogNormal(median: "10ms", p99: "60ms")),
    ],
    traffic: [(name: "users", to: "web", rate: 100.0)],
    faults: [
        (name: "api errors", kind: Errors(ratio: 0.5), target: "api", start: At("2m"), duration: "4m"),
        (name: "api errors again", kind: Errors(ratio: 0.5), target: "api", start: At("50m"), duration: "4m"),
    ],
    slos: [
        (name: "web-availability", service: "web", objective: 99.9),
        (name: "api-availability", service: "api", objective: 99.9),
    ],
    incident: (root_cause: ["api errors"]),
)"#;

fn two_pages(acknowledging: bool) -> firedrill::incident::debrief::Timeline {
    let loaded = load_str("two-pages.ron", TWO_PAGES).unwrap();
    let mut sim = Simulation::new(&loaded.scenario);
    sim.run_until(120.0);
    // Acknowledge the first page that rings, as soon as it rings.
    let mut acknowledged = false;
    while sim.clock().now() < loaded.scenario.duration.get() {
        sim.run_until(sim.clock().now() + 1.0);
        if acknowledging
            && !acknowledged
            && let Some(page) = sim.timeline().pages.first()
        {
            sim.issue(acknowledge(sim.clock().now(), &page.alert));
            acknowledged = true;
        }
    }
    sim.timeline()
}

#[test]
fn the_pages_of_one_incident_are_one_group_under_one_acknowledgement() {
    let held = two_pages(true);
    // Both SLOs paged in each outage: four pages, one acknowledgement.
    assert_eq!(held.pages.len(), 4, "{:#?}", held.pages);
    let acknowledged = held
        .records
        .iter()
        .filter(|r| matches!(r.command, firedrill::incident::Command::Acknowledge { .. }))
        .count();
    assert_eq!(acknowledged, 1);
    for page in &held.pages {
        assert!(page.acknowledged_s.is_some(), "{page:?}");
        assert!(page.escalated_s.is_none(), "{page:?}");
        // What held it open is named, a burn-rate row of the workbook.
        assert!(page.held_by.iter().any(|row| row.contains("/")), "{page:?}");
    }
    // The pages of the second outage joined the incident still held, at once.
    let later: Vec<_> = held.pages.iter().filter(|p| p.opened_s > 2400.0).collect();
    assert_eq!(later.len(), 2);
    assert!(
        later
            .iter()
            .all(|p| p.grouped && p.acknowledged_s == Some(p.opened_s))
    );
    assert!(held.events().iter().any(|(_, line)| {
        line.contains("(joined the incident already held: acknowledged with it)")
    }));
    // Nobody holding the incident: nothing joins, every page rings and escalates.
    let alone = two_pages(false);
    assert_eq!(alone.pages.len(), 4);
    assert!(
        alone
            .pages
            .iter()
            .all(|p| !p.grouped && p.acknowledged_s.is_none() && p.escalated_s.is_some())
    );
}
