//! Each remediation's effect and its side effects, through the simulation; and action
//! scripts, checked like scenario files.

use firedrill::incident::{Command, Entry, SOLO_PLAYER, load_script};
use firedrill::remediation::Remediation;
use firedrill::scenario::Seconds;
use firedrill::session::load_str;
mod common;

use common::seconds as rows;
use firedrill::session::Simulation;
use firedrill::sim::metrics::ServiceRow;

fn sim(body: &str) -> Simulation {
    let text = format!("(name: \"remedy\", seed: 3, duration: \"30m\", {body})");
    common::simulation("remedy.ron", &text)
}

fn window(rows: &[ServiceRow], from: f64, to: f64) -> impl Iterator<Item = &ServiceRow> {
    rows.iter().filter(move |r| r.t >= from && r.t < to)
}

fn rps(rows: &[ServiceRow], from: f64, to: f64) -> f64 {
    window(rows, from, to).map(|r| r.requests).sum::<u64>() as f64 / (to - from)
}

fn error_ratio(rows: &[ServiceRow], from: f64, to: f64) -> f64 {
    let (bad, all) = window(rows, from, to).fold((0, 0), |(b, a), r| {
        (
            b + r.server_errors + r.rejected + r.timeouts,
            a + r.requests,
        )
    });
    bad as f64 / all as f64
}

fn restart(service: &str) -> Remediation {
    Remediation::RollingRestart {
        service: service.to_string(),
    }
}

#[test]
fn a_rolling_restart_dips_capacity_by_one_and_restarts_every_instance_once() {
    let mut sim = sim(
        r#"services: [(name: "web", instances: 3, restart_time: "10s")],
           traffic: [(to: "web", rate: 30.0)]"#,
    );
    sim.schedule(20.0, restart("web"));
    sim.run_until(120.0);
    let healthy: Vec<u32> = rows(&sim, 0).iter().map(|r| r.healthy).collect();
    assert_eq!(
        *healthy.iter().min().unwrap(),
        2,
        "never more than one down"
    );
    assert!(healthy[21..50].contains(&2));
    assert_eq!(*healthy.last().unwrap(), 3);
    assert!((0..3).all(|g| sim.instance(g).restarts == 1));
    assert!(
        error_ratio(&rows(&sim, 0), 0.0, 120.0) < 0.01,
        "drained, so nearly nothing fails"
    );
}

#[test]
fn restarting_everything_at_once_takes_the_service_down() {
    let mut sim = sim(
        r#"services: [(name: "web", instances: 3, restart_time: "10s")],
           traffic: [(to: "web", rate: 30.0)]"#,
    );
    sim.schedule(
        20.0,
        Remediation::RestartAll {
            service: "web".into(),
        },
    );
    sim.run_until(60.0);
    let rows = rows(&sim, 0);
    assert_eq!(window(&rows, 20.0, 35.0).map(|r| r.healthy).min(), Some(0));
    assert!(
        error_ratio(&rows, 21.0, 30.0) > 0.9,
        "every request is refused while all are down"
    );
}

#[test]
fn restarting_a_leaking_service_only_delays_the_next_oom() {
    let mut sim = sim(
        r#"services: [(name: "web", memory: (base_mb: 200.0, per_request_mb: 0.0, limit_mb: 1000.0), restart_time: "5s")],
           traffic: [(to: "web", rate: 20.0)],
           faults: [(kind: MemoryLeak(per_request_mb: 0.5), target: "web", start: At("0s"))]"#,
    );
    // 10 MB/s of leak: OOM at about 80 s; a restart at 60 s frees the memory...
    sim.schedule(
        60.0,
        Remediation::RestartInstance {
            service: "web".into(),
            instance: 0,
        },
    );
    sim.run_until(100.0);
    assert_eq!(sim.instance(0).restarts, 1, "the restart, and no OOM yet");
    // ...and the leak fills it again.
    sim.run_until(200.0);
    assert_eq!(
        sim.instance(0).restarts,
        2,
        "OOM-killed 80 s after the restart"
    );
}

#[test]
fn shedding_load_keeps_the_admitted_requests_fast() {
    let body = r#"services: [(name: "api", instances: 2, workers: 4, service_time: Exponential(mean: "40ms"))],
           traffic: [(to: "api", rate: 120.0, timeout: "1h")]"#;
    // 120 req/s against 2 x 4 / 40 ms = 200 req/s: fine. Surge to 300: overload.
    let surge =
        r#", faults: [(kind: TrafficSurge(multiplier: 2.5), target: "api#0", start: At("30s"))]"#;
    let mut overloaded = sim(&format!("{body}{surge}"));
    let mut shedding = sim(&format!("{body}{surge}"));
    shedding.schedule(
        40.0,
        Remediation::ShedLoad {
            service: "api".into(),
            max_rps: 150.0,
        },
    );
    for sim in [&mut overloaded, &mut shedding] {
        sim.run_until(120.0);
    }
    let (over, shed) = (rows(&overloaded, 0), rows(&shedding, 0));
    let p50 =
        |rows: &[ServiceRow]| window(rows, 90.0, 120.0).filter_map(|r| r.p50).sum::<f64>() / 30.0;
    assert!(
        p50(&over) > 5.0,
        "without shedding the queue grows without end: p50 {}",
        p50(&over)
    );
    assert!(
        p50(&shed) < 0.2,
        "admitted requests stay fast: p50 {}",
        p50(&shed)
    );
    let admitted = window(&shed, 90.0, 120.0).map(|r| r.ok).sum::<u64>() as f64 / 30.0;
    let refused = window(&shed, 90.0, 120.0).map(|r| r.rejected).sum::<u64>() as f64 / 30.0;
    assert!(
        (admitted - 150.0).abs() < 10.0,
        "goodput plateaus at the limit: {admitted}"
    );
    assert!(
        (refused - 150.0).abs() < 20.0,
        "the excess is refused: {refused}"
    );
}

const STAMPEDE: &str = r#"
    services: [
        (name: "cache", kind: Cache(hit_ratio: 0.95, keys: 20000), workers: 256,
         calls: [(to: "db", timeout: "300ms")]),
        (name: "db", kind: Database(pool: 4), service_time: Exponential(mean: "20ms")),
    ],
    traffic: [(to: "cache", rate: 300.0, timeout: "5s")],
    faults: [(kind: CacheFlush, target: "cache", start: At("60s"))]"#;

#[test]
fn a_stampede_does_not_recover_alone_and_does_once_the_cache_is_warmed() {
    // Warm: 15 misses/s on 4 x 50/s of database. Cold: 300/s; the database falls behind,
    // its answers come later than the fill timeout, almost no fill lands, and the cache stays
    // cold (a second stable state).
    let mut alone = sim(STAMPEDE);
    let mut warmed = sim(STAMPEDE);
    warmed.schedule(
        180.0,
        Remediation::WarmCache {
            service: "cache".into(),
        },
    );
    alone.run_until(60.0);
    assert!(error_ratio(&rows(&alone, 0), 20.0, 60.0) < 0.01);
    alone.run_until(200.0);
    assert!(
        error_ratio(&rows(&alone, 0), 120.0, 180.0) > 0.3,
        "the flush hurts"
    );
    alone.run_until(420.0);
    assert!(
        error_ratio(&rows(&alone, 0), 360.0, 420.0) > 0.3,
        "and it stays down on its own"
    );
    warmed.run_until(420.0);
    assert!(
        error_ratio(&rows(&warmed, 0), 330.0, 420.0) < 0.01,
        "warming the cache ends it"
    );
}

#[test]
fn raising_the_pool_relieves_slow_query_exhaustion() {
    let body = r#"services: [
            (name: "api", instances: 2, workers: 64, calls: [(to: "db", timeout: "1s")]),
            (name: "db", kind: Database(pool: 4), service_time: Exponential(mean: "20ms"), cpu: (cores: 16.0)),
        ],
        traffic: [(to: "api", rate: 100.0)],
        faults: [(kind: SlowQueries(factor: 5.0), target: "db", start: At("30s"))]"#;
    let mut left = sim(body);
    let mut raised = sim(body);
    raised.schedule(
        60.0,
        Remediation::SetPool {
            service: "db".into(),
            size: 24,
        },
    );
    for sim in [&mut left, &mut raised] {
        sim.run_until(180.0);
    }
    assert!(error_ratio(&rows(&left, 0), 120.0, 180.0) > 0.5);
    assert!(error_ratio(&rows(&raised, 0), 120.0, 180.0) < 0.01);
}

#[test]
fn an_open_circuit_fails_fast_instead_of_waiting_on_a_dead_dependency() {
    let body = r#"services: [
            (name: "web", workers: 64, service_time: Constant(value: "5ms"),
             calls: [(to: "recs", timeout: "2s", optional: true)]),
            (name: "recs"),
        ],
        traffic: [(to: "web", rate: 20.0)],
        faults: [(kind: Partition, target: "web->recs", start: At("0s"))]"#;
    let mut waiting = sim(body);
    let mut open = sim(body);
    open.schedule(
        30.0,
        Remediation::OpenCircuit {
            from: "web".into(),
            to: "recs".into(),
        },
    );
    for sim in [&mut waiting, &mut open] {
        sim.run_until(90.0);
    }
    let p50 = |sim: &Simulation| {
        window(&rows(sim, 0), 60.0, 90.0)
            .filter_map(|r| r.p50)
            .sum::<f64>()
            / 30.0
    };
    assert!(
        (p50(&waiting) - 2.005).abs() < 0.1,
        "each request waits out the timeout"
    );
    assert!(p50(&open) < 0.01, "degraded, but fast");
}

#[test]
fn tuning_retries_away_ends_a_retry_amplified_overload() {
    let body = r#"services: [
            (name: "web", workers: 256, service_time: Constant(value: "1ms"),
             calls: [(to: "api", timeout: "1s", retries: 4, backoff: Immediate)]),
            (name: "api", workers: 8, service_time: Constant(value: "50ms")),
        ],
        traffic: [(to: "web", rate: 100.0, timeout: "1h")],
        faults: [(kind: Errors(ratio: 0.5), target: "api", start: At("0s"))]"#;
    let mut storm = sim(body);
    storm.schedule(
        60.0,
        Remediation::TuneCalls {
            from: "web".into(),
            to: "api".into(),
            timeout: None,
            retries: Some(0),
            backoff: None,
            honour_retry_after: None,
        },
    );
    storm.run_until(60.0);
    // 1.94 tries per request on average overload the api (160/s), its calls time out and
    // are retried too: the load feeds itself.
    assert!(
        rps(&rows(&storm, 1), 30.0, 60.0) > 200.0,
        "retries amplify the load"
    );
    // Once tuned, the backlog drains and one try per request remains.
    storm.run_until(300.0);
    assert!((rps(&rows(&storm, 1), 240.0, 300.0) - 100.0).abs() < 8.0);
}

#[test]
fn scripts_are_checked_against_the_fleet_with_located_errors() {
    let loaded = load_str("s.ron", r#"(name: "s", services: [(name: "web", instances: 2, calls: [(to: "db")]), (name: "db")], traffic: [(to: "web", rate: 1.0)])"#).unwrap();
    let scenario = loaded.scenario;
    let good = r#"[
        (at: "1m", do: Apply(RollingRestart(service: "web"))),
        (at: "2m", do: Apply(OpenCircuit(from: "web", to: "db"))),
    ]"#;
    assert_eq!(load_script("a.ron", good, &scenario).unwrap().len(), 2);
    let bad = r#"[
        (at: "1m", do: Apply(RollingRestart(service: "wbe"))),
        (at: "2m", do: Apply(RestartInstance(service: "web", instance: 5))),
        (at: "3m", do: Apply(OpenCircuit(from: "db", to: "web"))),
        (at: "1h", do: Apply(WarmCache(service: "web"))),
    ]"#;
    let errors: Vec<String> = load_script("a.ron", bad, &scenario)
        .unwrap_err()
        .diagnostics
        .iter()
        .map(|d| d.to_string())
        .collect();
    assert_eq!(
        errors,
        vec![
            "a.ron:2:24: [0].do: unknown service \"wbe\" (did you mean \"web\"?)",
            "a.ron:3:24: [1].do: \"web\" has 2 instances (0 to 1): there is no instance 5",
            "a.ron:4:24: [2].do: \"db\" does not call \"web\"",
            "a.ron:5:14: [3].at: 1h is after the end of the run (10m)",
            "a.ron:5:24: [3].do: \"web\" is not a Cache",
        ]
    );
    let syntax = load_script(
        "a.ron",
        "[(at: \"1m\", do: Apply(Reboot(service: \"web\")))]",
        &scenario,
    )
    .unwrap_err();
    assert!(
        syntax
            .to_string()
            .starts_with("a.ron:1:23: Unexpected variant named `Reboot`")
            && syntax
                .to_string()
                .ends_with("(check the spelling against docs/actions.md)"),
        "{syntax}"
    );
    let wrong_type = load_script(
        "a.ron",
        "[(at: \"1m\", do: Apply(ScaleOut(service: \"web\", count: \"two\")))]",
        &scenario,
    )
    .unwrap_err();
    assert_eq!(
        wrong_type.to_string(),
        "a.ron:1:55: [0].do.count: Expected integer"
    );
}

const DEPLOYED: &str = r#"services: [(name: "checkout", instances: 4, restart_time: "10s", workers: 16,
        service_time: Constant(value: "10ms"))],
    traffic: [(to: "checkout", rate: 80.0)]"#;

#[test]
fn a_bad_deploy_rolls_out_instance_by_instance_and_a_rollback_undoes_it() {
    let mut sim = sim(&format!(
        r#"{DEPLOYED}, faults: [(kind: Deploy(version: "v2", error_ratio: 0.4), target: "checkout", start: At("60s"))]"#
    ));
    sim.run_until(60.0);
    assert!(error_ratio(&rows(&sim, 0), 30.0, 60.0) < 0.001);
    // Four instances, each drained (about a tick) and down for 10 s, one after another.
    sim.run_until(75.0);
    let partial = error_ratio(&rows(&sim, 0), 72.0, 75.0);
    assert!(
        partial > 0.05 && partial < 0.25,
        "one instance on v2 of four: {partial}"
    );
    sim.run_until(130.0);
    assert!(
        (error_ratio(&rows(&sim, 0), 110.0, 130.0) - 0.4).abs() < 0.06,
        "all on v2"
    );
    // Restarting does not help: the instances come back on the same bad version.
    sim.schedule(
        130.0,
        Remediation::RollingRestart {
            service: "checkout".into(),
        },
    );
    sim.run_until(200.0);
    assert!((error_ratio(&rows(&sim, 0), 180.0, 200.0) - 0.4).abs() < 0.06);
    sim.schedule(
        200.0,
        Remediation::Rollback {
            service: "checkout".into(),
        },
    );
    sim.run_until(260.0);
    assert!(
        error_ratio(&rows(&sim, 0), 250.0, 260.0) < 0.001,
        "rolled back"
    );
    let history: Vec<(String, f64)> = sim.conditions().versions[0]
        .iter()
        .map(|v| (format!("{:?} {}", v.change, v.name), v.at_s))
        .collect();
    assert_eq!(
        history,
        vec![
            ("Initial v1".into(), 0.0),
            ("Deploy v2".into(), 60.0),
            ("Rollback v1".into(), 200.0)
        ]
    );
}

#[test]
fn a_config_push_acts_at_once_and_its_rollback_too() {
    let mut sim = sim(&format!(
        r#"{DEPLOYED}, faults: [(kind: ConfigPush(change: "timeouts", latency_factor: 30.0), target: "checkout", start: At("60s"))]"#
    ));
    sim.schedule(
        120.0,
        Remediation::Rollback {
            service: "checkout".into(),
        },
    );
    sim.run_until(180.0);
    let p50 = |from: f64, to: f64| {
        let picked: Vec<f64> = window(&rows(&sim, 0), from, to)
            .filter_map(|r| r.p50)
            .collect();
        picked.iter().sum::<f64>() / picked.len() as f64
    };
    assert!((p50(30.0, 60.0) - 0.010).abs() < 0.002);
    assert!(
        p50(62.0, 118.0) > 0.25,
        "30x slower on every instance at once: {}",
        p50(62.0, 118.0)
    );
    assert!(
        (p50(125.0, 180.0) - 0.010).abs() < 0.002,
        "reverted at once"
    );
    assert!(
        sim.instance(0).restarts == 0,
        "no restart for a config change"
    );
}

#[test]
fn a_crash_loop_set_off_by_a_config_ends_when_the_config_is_rolled_back_and_only_then() {
    let mut sim = sim(
        r#"services: [(name: "api", instances: 2, restart_time: "10s")],
           traffic: [(to: "api", rate: 20.0)],
           faults: [
               (name: "bad config", kind: ConfigPush(change: "r2"), target: "api", start: At("60s")),
               (kind: CrashLoop(uptime: "5s"), target: "api", start: At("60s"), caused_by: Some("bad config")),
           ]"#,
    );
    // A restart is no cure: the instances come back to the same config and exit again.
    sim.schedule(90.0, restart("api"));
    sim.schedule(
        150.0,
        Remediation::Rollback {
            service: "api".into(),
        },
    );
    sim.run_until(150.0);
    let looping = sim.instance(0).restarts;
    sim.run_until(240.0);
    let api = rows(&sim, 0);
    // Up 10 s of every 15 s at best (10 s restart, 5 s up), so half the time or more
    // nothing serves: most requests fail while the loop runs.
    assert!(
        error_ratio(&api, 61.0, 150.0) > 0.3,
        "{}",
        error_ratio(&api, 61.0, 150.0)
    );
    assert!(looping >= 5, "a crash every restart: {looping}");
    let ended: Vec<Option<f64>> = sim.faults().faults.iter().map(|f| f.ended_at).collect();
    assert_eq!(ended[1], Some(150.0), "the rollback ends the loop");
    // Back within one restart time, then up for good.
    assert!(error_ratio(&api, 170.0, 240.0) < 0.001);
    assert!(
        sim.instance(0).restarts <= looping + 1,
        "at most the restart already under way"
    );
}

#[test]
fn disabling_a_flag_ends_the_faults_it_caused_and_a_rollback_of_another_service_does_not() {
    let mut sim = sim(r#"services: [(name: "web", instances: 4, workers: 32)],
           traffic: [(to: "web", rate: 40.0)],
           faults: [
               (name: "new-search", kind: FeatureFlag(flag: "new-search"), target: "web", start: At("10s")),
               (kind: ReadinessFailure(instances: 2), target: "web", start: At("10s"), caused_by: Some("new-search")),
               (kind: Errors(ratio: 0.2), target: "web", start: At("10s")),
           ]"#);
    sim.schedule(
        60.0,
        Remediation::DisableFlag {
            service: "web".into(),
            flag: "new-search".into(),
        },
    );
    sim.run_until(59.0);
    let in_rotation = |sim: &Simulation| rows(sim, 0).last().unwrap().healthy;
    assert_eq!(in_rotation(&sim), 2, "two instances fail their probes");
    sim.run_until(120.0);
    assert_eq!(in_rotation(&sim), 4, "back once the flag is off");
    let ended: Vec<Option<f64>> = sim.faults().faults.iter().map(|f| f.ended_at).collect();
    assert_eq!(
        ended,
        vec![Some(60.0), Some(60.0), None],
        "the unrelated fault stays"
    );
}

#[test]
fn disabling_the_flag_and_fixing_dns_end_their_faults() {
    let mut sim = sim(
        r#"services: [(name: "web", workers: 32, calls: [(to: "search", timeout: "500ms")]), (name: "search")],
           traffic: [(to: "web", rate: 20.0)],
           faults: [
               (kind: FeatureFlag(flag: "new-checkout", error_ratio: 0.5), target: "web", start: At("10s")),
               (kind: DnsFailure, target: "web->search", start: At("70s")),
           ]"#,
    );
    sim.schedule(
        40.0,
        Remediation::DisableFlag {
            service: "web".into(),
            flag: "new-checkout".into(),
        },
    );
    sim.schedule(
        100.0,
        Remediation::FixDns {
            from: "web".into(),
            to: "search".into(),
        },
    );
    sim.run_until(130.0);
    let web = rows(&sim, 0);
    assert!((error_ratio(&web, 15.0, 40.0) - 0.5).abs() < 0.1);
    assert!(error_ratio(&web, 45.0, 70.0) < 0.001, "flag off");
    assert!(
        error_ratio(&web, 75.0, 100.0) > 0.99,
        "name does not resolve"
    );
    assert!(error_ratio(&web, 105.0, 130.0) < 0.001, "DNS fixed");
    let ended: Vec<Option<f64>> = sim.faults().faults.iter().map(|f| f.ended_at).collect();
    assert_eq!(ended, vec![Some(40.0), Some(100.0)]);
}

#[test]
fn scaling_out_helps_only_once_the_new_instances_have_booted() {
    let body = r#"services: [(name: "api", instances: 2, max_instances: 6, workers: 4,
            service_time: Exponential(mean: "40ms"), health_check: (interval: "2s"))],
        traffic: [(to: "api", rate: 260.0, timeout: "2s")]"#;
    // 260 req/s on 2 x 100/s: overloaded. Two more instances make it 65%.
    let mut sim = sim(body);
    sim.schedule(
        30.0,
        Remediation::ScaleOut {
            service: "api".into(),
            count: 2,
        },
    );
    sim.run_until(200.0);
    let api = rows(&sim, 0);
    assert!(
        error_ratio(&api, 40.0, 85.0) > 0.2,
        "still overloaded while they boot"
    );
    let joined = api.iter().find(|r| r.healthy == 4).map(|r| r.t).unwrap();
    assert!(
        (90.0..110.0).contains(&joined),
        "60 s of boot, then two passing probes: {joined}"
    );
    assert!(
        error_ratio(&api, 150.0, 200.0) < 0.01,
        "four instances carry it"
    );
    sim.schedule(
        200.0,
        Remediation::ScaleIn {
            service: "api".into(),
            count: 2,
        },
    );
    sim.run_until(260.0);
    let api = rows(&sim, 0);
    let provisioned: Vec<bool> = (0..6).map(|g| sim.instance(g).provisioned).collect();
    assert_eq!(
        provisioned,
        vec![true, true, false, false, false, false],
        "the newest go first"
    );
    assert!(
        error_ratio(&api, 230.0, 260.0) > 0.2,
        "scaled in too far: overloaded again"
    );
}

#[test]
fn scaling_the_stateless_tier_does_not_fix_a_database_bottleneck() {
    let body = r#"services: [
            (name: "web", instances: 2, max_instances: 8, workers: 32, calls: [(to: "db", timeout: "1s")]),
            (name: "db", kind: Database(pool: 4), service_time: Exponential(mean: "50ms")),
        ],
        traffic: [(to: "web", rate: 100.0)]"#;
    // The database serves 80 queries/s: web is not the bottleneck.
    let mut left = sim(body);
    let mut scaled = sim(body);
    scaled.schedule(
        30.0,
        Remediation::ScaleOut {
            service: "web".into(),
            count: 6,
        },
    );
    for sim in [&mut left, &mut scaled] {
        sim.run_until(240.0);
    }
    let goodput = |sim: &Simulation| {
        let rows: Vec<_> = sim
            .source_metrics(0)
            .seconds
            .rows()
            .iter()
            .filter(|r| r.t >= 180.0)
            .cloned()
            .collect();
        rows.iter().map(|r| r.ok).sum::<u64>() as f64
            / rows.iter().map(|r| r.first_tries).sum::<u64>() as f64
    };
    let (before, after) = (goodput(&left), goodput(&scaled));
    assert!(before < 0.9, "the database limits goodput: {before}");
    assert!(after <= before * 1.05, "no better: {before} -> {after}");
}

#[test]
fn rolling_forward_with_a_fix_replaces_a_bad_deploy() {
    let mut sim = sim(&format!(
        r#"{DEPLOYED}, faults: [(kind: Deploy(version: "v2", error_ratio: 0.4), target: "checkout", start: At("10s"))]"#
    ));
    sim.schedule(
        80.0,
        Remediation::RollForward {
            service: "checkout".into(),
            version: "v2.0.1".into(),
        },
    );
    sim.run_until(160.0);
    assert!((error_ratio(&rows(&sim, 0), 60.0, 80.0) - 0.4).abs() < 0.07);
    assert!(
        error_ratio(&rows(&sim, 0), 140.0, 160.0) < 0.001,
        "v2.0.1 everywhere"
    );
    let names: Vec<&str> = sim.conditions().versions[0]
        .iter()
        .map(|v| v.name.as_str())
        .collect();
    assert_eq!(names, vec!["v1", "v2", "v2.0.1"]);
}

#[test]
fn an_ejected_instance_keeps_running_without_traffic_until_restored() {
    let mut sim =
        sim(r#"services: [(name: "web", instances: 3)], traffic: [(to: "web", rate: 30.0)]"#);
    sim.schedule(
        10.0,
        Remediation::EjectInstance {
            service: "web".into(),
            instance: 1,
        },
    );
    sim.schedule(
        40.0,
        Remediation::RestoreInstance {
            service: "web".into(),
            instance: 1,
        },
    );
    sim.run_until(60.0);
    let healthy: Vec<u32> = rows(&sim, 0).iter().map(|r| r.healthy).collect();
    assert_eq!(healthy[20..35].iter().max(), Some(&2));
    assert_eq!(healthy[45..].iter().min(), Some(&3));
    assert!(
        sim.instance(1).up && sim.instance(1).restarts == 0,
        "kept, not restarted"
    );
}

#[test]
fn draining_a_zone_shifts_its_traffic_to_the_others() {
    let text = r#"(name: "zones", seed: 1, duration: "5m", zones: ["a", "b"],
        services: [(name: "web", instances: 4, workers: 64, service_time: Constant(value: "5ms"))],
        traffic: [(to: "web", rate: 40.0)])"#;
    let mut sim = common::simulation("zones.ron", text);
    sim.schedule(10.0, Remediation::DrainZone { zone: "b".into() });
    sim.run_until(60.0);
    assert_eq!(
        rows(&sim, 0).last().unwrap().healthy,
        2,
        "instances 1 and 3 are in zone b"
    );
    assert!(
        error_ratio(&rows(&sim, 0), 12.0, 60.0) < 0.001,
        "zone a carries the load"
    );
}

#[test]
fn paused_consumers_build_a_backlog_that_drains_when_resumed_and_scaled() {
    let mut sim = sim(r#"services: [
            (name: "orders", workers: 32, service_time: Constant(value: "2ms"), calls: [(to: "emails")]),
            (name: "emails", kind: Queue, workers: 2, service_time: Constant(value: "1ms"),
             calls: [(to: "mailer", timeout: "30s")]),
            (name: "mailer", workers: 64, service_time: Constant(value: "20ms")),
        ],
        traffic: [(to: "orders", rate: 40.0)]"#);
    sim.schedule(
        20.0,
        Remediation::PauseConsumers {
            queue: "emails".into(),
        },
    );
    sim.schedule(
        80.0,
        Remediation::ResumeConsumers {
            queue: "emails".into(),
        },
    );
    sim.schedule(
        80.0,
        Remediation::SetPool {
            service: "emails".into(),
            size: 8,
        },
    );
    sim.run_until(79.0);
    let backlog = rows(&sim, 1).last().unwrap().queue;
    assert!(
        (backlog - 40.0 * 59.0).abs() < 250.0,
        "a minute of messages waits: {backlog}"
    );
    assert_eq!(
        rows(&sim, 0).last().unwrap().server_errors,
        0,
        "producers never noticed"
    );
    assert!(
        rows(&sim, 1).iter().all(|r| r.healthy == 1),
        "a broker with a backlog still answers its probes"
    );
    sim.run_until(120.0);
    assert!(
        rows(&sim, 1).last().unwrap().queue < 5.0,
        "8 deliveries at a time drain it"
    );
}

#[test]
fn a_paged_expert_arrives_later_and_names_what_they_find() {
    let mut sim = sim(
        r#"services: [(name: "web", calls: [(to: "payment", timeout: "2s")]), (name: "payment", kind: External)],
           traffic: [(to: "web", rate: 5.0)],
           faults: [(kind: Partition, target: "web->payment", start: At("60s"))]"#,
    );
    let escalate = |at: f64, service: &str| Entry {
        at: Seconds(at),
        by: SOLO_PLAYER.into(),
        command: Command::Escalate {
            service: service.into(),
        },
    };
    sim.issue(escalate(30.0, "payment"));
    sim.issue(escalate(120.0, "web"));
    sim.run_until(500.0);
    let hints: Vec<(f64, String)> = sim
        .remediations()
        .hints
        .iter()
        .map(|h| (h.at_s, h.text.clone()))
        .collect();
    assert_eq!(hints.len(), 2);
    assert_eq!(hints[0].0, 330.0, "five minutes after the page");
    assert!(
        hints[0].1.contains("Partition on web->payment (since 1m)"),
        "{hints:?}"
    );
    assert_eq!(hints[1].0, 420.0);
}

#[test]
fn restarting_all_caches_during_a_stampede_deepens_it() {
    // The database keeps up with a cold cache (300/s against 400/s), so it refills slowly.
    let body = r#"services: [
            (name: "cache", kind: Cache(hit_ratio: 0.9, keys: 60000), instances: 2, restart_time: "10s",
             calls: [(to: "db", timeout: "500ms")]),
            (name: "db", kind: Database(pool: 8), service_time: Exponential(mean: "20ms")),
        ],
        traffic: [(to: "cache", rate: 300.0)],
        faults: [(kind: CacheFlush, target: "cache", start: At("30s"))]"#;
    let mut left = sim(body);
    let mut restarted = sim(body);
    restarted.schedule(
        90.0,
        Remediation::RestartAll {
            service: "cache".into(),
        },
    );
    for sim in [&mut left, &mut restarted] {
        sim.run_until(180.0);
    }
    let db_load = |sim: &Simulation| rps(&rows(sim, 1), 110.0, 180.0);
    let errors = |sim: &Simulation| error_ratio(&rows(sim, 0), 90.0, 180.0);
    assert!(
        errors(&restarted) > errors(&left) + 0.05,
        "{} vs {}",
        errors(&restarted),
        errors(&left)
    );
    assert!(
        db_load(&restarted) > db_load(&left) * 1.2,
        "colder again: more misses reach the database"
    );
}

#[test]
fn shedding_and_circuits_can_be_lifted() {
    let mut sim = sim(
        r#"services: [(name: "web", workers: 64, service_time: Constant(value: "5ms"), calls: [(to: "recs", optional: true)]), (name: "recs")],
           traffic: [(to: "web", rate: 40.0)]"#,
    );
    sim.schedule(
        10.0,
        Remediation::ShedLoad {
            service: "web".into(),
            max_rps: 10.0,
        },
    );
    sim.schedule(
        10.0,
        Remediation::OpenCircuit {
            from: "web".into(),
            to: "recs".into(),
        },
    );
    sim.schedule(
        40.0,
        Remediation::StopShedding {
            service: "web".into(),
        },
    );
    sim.schedule(
        40.0,
        Remediation::CloseCircuit {
            from: "web".into(),
            to: "recs".into(),
        },
    );
    sim.run_until(70.0);
    let (web, recs) = (rows(&sim, 0), rows(&sim, 1));
    assert!(error_ratio(&web, 15.0, 40.0) > 0.6, "three in four refused");
    assert_eq!(
        rps(&recs, 15.0, 40.0),
        0.0,
        "circuit open: recs sees nothing"
    );
    assert!(error_ratio(&web, 45.0, 70.0) < 0.001);
    assert!(
        (rps(&recs, 45.0, 70.0) - 40.0).abs() < 6.0,
        "calls flow again"
    );
}

/// Instances provisioned and not leaving: what an autoscaler counts as current.
fn provisioned(sim: &Simulation, service_slots: std::ops::Range<u32>) -> usize {
    service_slots
        .filter(|&g| sim.instance(g).provisioned && !sim.instance(g).draining)
        .count()
}

#[test]
fn the_autoscaler_settles_where_the_hpa_formula_says_and_scales_in_only_after_its_window() {
    // 12 requests a second of 100 ms of pure CPU: 1.2 cores of work, one core per instance.
    // At a 50% target the HPA's fixed point is ceil(1.2 / 0.5) = 3 instances; it gets there in
    // one sync: 2 instances at 60% want ceil(2 × 0.6 / 0.5) = 3.
    let mut sim = sim(
        r#"services: [(name: "api", instances: 2, max_instances: 10, workers: 32,
               service_time: Constant(value: "100ms"), cpu: (cores: 1.0, cpu_share: 1.0),
               autoscale: (min: 2, max: 10, target_cpu: 0.5))],
           traffic: [(name: "users", to: "api", rate: 12.0)],
           faults: [(kind: TrafficSurge(multiplier: 0.25), target: "users", start: At("300s"))]"#,
    );
    sim.run_until(14.0);
    assert_eq!(provisioned(&sim, 0..10), 2, "no sync before 15 s");
    sim.run_until(16.0);
    assert_eq!(provisioned(&sim, 0..10), 3, "ceil(2 × 0.6 / 0.5)");
    sim.run_until(299.0);
    assert_eq!(
        provisioned(&sim, 0..10),
        3,
        "3 at 40% is within reach of the target: it stays"
    );
    // Load falls to 0.3 cores: 3 instances at 10% want ceil(3 × 0.2) = 1, held at min 2,
    // but only once the 3-instance recommendations have left the 5-minute window.
    sim.run_until(590.0);
    assert_eq!(
        provisioned(&sim, 0..10),
        3,
        "held by the stabilisation window"
    );
    sim.run_until(640.0);
    assert_eq!(
        provisioned(&sim, 0..10),
        2,
        "down to min once the window has passed"
    );
    let log = sim.log_lines(0, 1000).join("\n");
    assert!(log.contains("autoscaler: 2 -> 3 instances"), "{log}");
    assert!(log.contains("autoscaler: 3 -> 2 instances"), "{log}");
}

#[test]
fn a_disabled_autoscaler_leaves_the_count_to_the_responders_and_an_enabled_one_undoes_them() {
    let body = r#"services: [(name: "api", instances: 2, max_instances: 10, workers: 32,
               service_time: Constant(value: "100ms"), cpu: (cores: 1.0, cpu_share: 1.0),
               autoscale: (min: 2, max: 10, target_cpu: 0.5, scale_down_window: "0s"))],
           traffic: [(to: "api", rate: 2.0)]"#;
    let scale_out = Remediation::ScaleOut {
        service: "api".into(),
        count: 4,
    };
    // With the autoscaler on, an idle service scaled out by hand is scaled back in.
    let mut fighting = sim(body);
    fighting.schedule(100.0, scale_out.clone());
    fighting.run_until(200.0);
    assert_eq!(provisioned(&fighting, 0..10), 2, "the automation undid it");
    // Turned off first, the hand-made count stays.
    let mut pinned = sim(body);
    pinned.schedule(
        90.0,
        Remediation::DisableAutoscaler {
            service: "api".into(),
        },
    );
    pinned.schedule(100.0, scale_out);
    pinned.run_until(200.0);
    assert_eq!(provisioned(&pinned, 0..10), 6);
}

#[test]
fn a_rate_limit_admits_its_quota_and_answers_the_rest_429_at_once() {
    // 300 calls a second against a 100/s quota: a token bucket admits 100 a second (plus
    // one second's worth at the start), whatever the callers do.
    let mut sim = sim(r#"services: [
               (name: "shop", workers: 512, service_time: Constant(value: "1ms"),
                calls: [(to: "tax", timeout: "2s")]),
               (name: "tax", kind: External, instances: 2, service_time: Constant(value: "10ms"),
                rate_limit: (rps: 100.0)),
           ],
           traffic: [(to: "shop", rate: 300.0)]"#);
    sim.run_until(120.0);
    let tax = rows(&sim, 1);
    let (ok, rejected) =
        window(&tax, 20.0, 120.0).fold((0, 0), |(ok, rej), r| (ok + r.ok, rej + r.rejected));
    let admitted = ok as f64 / 100.0;
    assert!((admitted - 100.0).abs() < 3.0, "admitted {admitted}/s");
    let refused = rejected as f64 / 100.0;
    assert!((refused - 200.0).abs() < 10.0, "refused {refused}/s");
    let log = sim.log_lines(0, 50).join("\n");
    assert!(
        log.contains("429 Too Many Requests (rate limit exceeded"),
        "{log}"
    );
}

#[test]
fn after_a_burst_immediate_retries_lock_a_counting_limiter_until_the_retries_stop() {
    // 80 calls a second against a 100/s quota that counts refused calls, with a 10-second
    // burst to 160/s; three immediate retries that ignore Retry-After.
    let mut sim = sim(r#"services: [
               (name: "shop", workers: 4096, service_time: Constant(value: "1ms"),
                calls: [(to: "tax", timeout: "5s", retries: 3, backoff: Immediate, honour_retry_after: false)]),
               (name: "tax", kind: External, service_time: Constant(value: "10ms"),
                rate_limit: (rps: 100.0, retry_after: "2s", counts_refused: true)),
           ],
           traffic: [(to: "shop", rate: 80.0, spikes: [(at: "20s", duration: "10s", multiplier: 2.0)])]"#);
    sim.schedule(
        90.0,
        Remediation::TuneCalls {
            from: "shop".into(),
            to: "tax".into(),
            timeout: None,
            retries: Some(0),
            backoff: None,
            honour_retry_after: None,
        },
    );
    sim.run_until(150.0);
    let tax = rows(&sim, 1);
    let admitted =
        |from: f64, to: f64| window(&tax, from, to).map(|r| r.ok).sum::<u64>() as f64 / (to - from);
    assert!(
        (admitted(5.0, 20.0) - 80.0).abs() < 5.0,
        "all admitted before the burst"
    );
    // Every request makes four attempts at once, every attempt counts: 320 a second keep
    // the limiter in debt long after the burst (a metastable failure).
    assert!(
        admitted(50.0, 90.0) < 10.0,
        "locked out: {}/s",
        admitted(50.0, 90.0)
    );
    // One attempt per request is below the quota: the limiter climbs out of debt.
    assert!(
        (admitted(100.0, 150.0) - 80.0).abs() < 5.0,
        "{}/s",
        admitted(100.0, 150.0)
    );
}

#[test]
fn retries_that_honour_retry_after_turn_a_burst_s_refusals_into_late_successes() {
    // A 4-second burst to 160/s against a 100/s quota that does not count refusals.
    let failed = |honour: bool| {
        let mut sim = sim(&format!(
            r#"services: [
               (name: "shop", workers: 4096, service_time: Constant(value: "1ms"),
                calls: [(to: "tax", timeout: "10s", retries: 3, backoff: Immediate, honour_retry_after: {honour})]),
               (name: "tax", kind: External, service_time: Constant(value: "10ms"),
                rate_limit: (rps: 100.0, retry_after: "2s")),
           ],
           traffic: [(to: "shop", rate: 80.0, spikes: [(at: "20s", duration: "4s", multiplier: 2.0)])]"#
        ));
        sim.run_until(90.0);
        let shop = rows(&sim, 0);
        window(&shop, 0.0, 90.0)
            .map(|r| r.server_errors)
            .sum::<u64>()
    };
    // Four immediate attempts land in the same empty bucket: the 240 calls over the quota,
    // less the full bucket's 100 at the start of the burst, fail.
    let ignoring = failed(false);
    assert!(ignoring.abs_diff(140) < 20, "{ignoring} failed");
    // Spaced 2 s apart, the retries land after the burst, when the bucket has room.
    let honouring = failed(true);
    assert!(
        honouring * 4 < ignoring,
        "{honouring} failed against {ignoring}"
    );
}

const REPLICATED: &str = r#"services: [
        (name: "orders", workers: 64, service_time: Constant(value: "2ms"),
         calls: [(to: "orders-db", timeout: "500ms", writes: 0.4)]),
        (name: "orders-db", kind: Database(pool: 16), instances: 3, restart_time: "10m",
         service_time: Constant(value: "5ms"), FAILOVER),
    ],
    traffic: [(to: "orders", rate: 50.0)]"#;

#[test]
fn a_lost_primary_fails_the_writes_until_the_failover_timeline_has_run() {
    // Detection 20 s, promotion 25 s: writes fail from the crash at 60 s to 105 s.
    let mut sim = sim(&format!(
        "{}, faults: [(kind: Crash(instances: 1), target: \"orders-db\", start: At(\"60s\"))]",
        REPLICATED.replace(
            "FAILOVER",
            r#"failover: (detection: "20s", promotion: "25s")"#
        )
    ));
    sim.run_until(160.0);
    let orders = rows(&sim, 0);
    assert!(error_ratio(&orders, 10.0, 60.0) < 0.001);
    // Writes, 40% of calls, fail; reads go on from the replicas.
    let outage = error_ratio(&orders, 61.0, 104.0);
    assert!((outage - 0.4).abs() < 0.06, "{outage}");
    assert!(
        error_ratio(&orders, 106.0, 160.0) < 0.001,
        "the new primary takes the writes"
    );
    let log = sim.log_lines(1, 1000).join("\n");
    assert!(
        log.contains("00:01:45.000") && log.contains("promoted to primary, fully caught up"),
        "{log}"
    );
}

#[test]
fn a_manual_failover_waits_for_the_responder_and_a_lagging_replica_loses_its_lag() {
    let mut sim = sim(&format!(
        "{}, faults: [
            (kind: ReplicationLag(per_second: 0.5), target: \"orders-db\", start: At(\"0s\")),
            (kind: Crash(instances: 1), target: \"orders-db\", start: At(\"60s\")),
        ]",
        REPLICATED.replace("FAILOVER", "failover: (automatic: false)")
    ));
    sim.schedule(
        180.0,
        Remediation::PromoteReplica {
            service: "orders-db".into(),
            instance: 2,
        },
    );
    sim.run_until(240.0);
    let orders = rows(&sim, 0);
    let waiting = error_ratio(&orders, 61.0, 179.0);
    assert!(waiting > 0.35, "no automatic failover: {waiting}");
    // Writes work again; what remains is the other replica's stale reads (it still lags:
    // a fifth of the reads it gets need fresh data), about 0.6 × 0.5 × 0.2 = 6%.
    let after = error_ratio(&orders, 181.0, 240.0);
    assert!((after - 0.06).abs() < 0.03, "{after}");
    // The replica fell 0.5 s behind every second for 180 s: 90 s of writes are lost.
    let log = sim.log_lines(1, 1000).join("\n");
    assert!(log.contains("it was 90.0 s behind"), "{log}");
}
