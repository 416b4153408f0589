//! Semantic checks on a parsed scenario: every problem is collected, none stops the others.

use std::collections::HashMap;

use super::duration::Seconds;

use super::format::{
    AlertRowSpec, AlertSeverity, AutoscaleSpec, Backoff, FaultKind, FaultSpec, FaultStart,
    IncidentSpec, MessageTrigger, RetryBudget, Scenario, ServiceKind, ServiceSpec, ServiceTime,
    Sli, SloSpec, TargetKind,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// One finding, addressed by field path (`services[3].calls[0].to`).
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    pub severity: Severity,
    pub path: String,
    pub message: String,
}

impl Problem {
    pub fn error(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            path: path.into(),
            message: message.into(),
        }
    }

    pub fn warning(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            path: path.into(),
            message: message.into(),
        }
    }
}

struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem::error(path, message));
    }

    fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem::warning(path, message));
    }

    fn positive(&mut self, path: String, what: &str, value: f64) {
        if !value.is_finite() || value <= 0.0 {
            self.error(
                path,
                format!("{what} must be greater than zero (got {value})"),
            );
        }
    }

    fn non_negative(&mut self, path: String, what: &str, value: f64) {
        if !value.is_finite() || value < 0.0 {
            self.error(path, format!("{what} cannot be negative (got {value})"));
        }
    }

    /// Something that grows per request and per minute: neither negative, not both zero.
    fn growth(&mut self, path: &str, what: &str, per_request_mb: f64, per_minute_mb: f64) {
        self.non_negative(
            format!("{path}.per_request_mb"),
            "per_request_mb",
            per_request_mb,
        );
        self.non_negative(
            format!("{path}.per_minute_mb"),
            "per_minute_mb",
            per_minute_mb,
        );
        if per_request_mb == 0.0 && per_minute_mb == 0.0 {
            self.error(
                path,
                format!("{what} needs per_request_mb or per_minute_mb above 0"),
            );
        }
    }

    fn ratio(&mut self, path: String, what: &str, value: f64) {
        if !(0.0..=1.0).contains(&value) {
            self.error(
                path,
                format!("{what} is a ratio between 0 and 1 (got {value}); write 0.1 for 10%"),
            );
        }
    }
}

/// The longest run: a week of simulated time.
pub const MAX_DURATION_S: f64 = 7.0 * 86_400.0;
/// The finest tick the engine runs.
pub const MIN_TICK_S: f64 = 0.001;
/// The most ticks a run may take (a week at 100 ms is 6 million).
pub const MAX_TICKS: f64 = 10_000_000.0;
/// The most instances a service may have, `max_instances` included.
pub const MAX_INSTANCES: u32 = 10_000;
/// The most instances a fleet may have, at its largest.
pub const MAX_FLEET_INSTANCES: u64 = 100_000;
/// The most user requests per second a fleet may be offered at its base rates.
pub const MAX_OFFERED_RPS: f64 = 100_000.0;
/// The longest window a threshold rule may read its rate over.
pub const MAX_ALERT_WINDOW_S: f64 = 600.0;
/// The most a spike or a surge may multiply traffic.
pub const MAX_MULTIPLIER: f64 = 100.0;
/// User requests a laptop simulates per wall-clock second, about (the shop: 400 a simulated
/// second at about 1,200x real time): what the slow-run warning divides by.
const REQUESTS_PER_WALL_SECOND: f64 = 500_000.0;

/// Every error and warning in `scenario`, in file order.
pub fn check(scenario: &Scenario) -> Vec<Problem> {
    let mut c = Checker {
        problems: Vec::new(),
    };
    if scenario.format != super::format::FORMAT_VERSION {
        c.error(
            "format",
            format!(
                "unsupported scenario format {} (this firedrill reads format {})",
                scenario.format,
                super::format::FORMAT_VERSION
            ),
        );
    }
    if scenario.name.trim().is_empty() {
        c.error("name", "the scenario needs a name");
    }
    let tick = scenario.tick.get();
    let duration = scenario.duration.get();
    if !(MIN_TICK_S..=1.0).contains(&tick) {
        c.error(
            "tick",
            format!(
                "tick must be from 1ms to 1s (got {}); 100ms is the usual choice",
                scenario.tick
            ),
        );
    } else if duration < tick {
        c.error(
            "duration",
            format!("duration {} is shorter than one tick", scenario.duration),
        );
    } else if duration > MAX_DURATION_S {
        c.error(
            "duration",
            format!(
                "duration {} is beyond the longest run, {}",
                scenario.duration,
                Seconds(MAX_DURATION_S)
            ),
        );
    } else if duration / tick > MAX_TICKS {
        c.error(
            "tick",
            format!(
                "{} at a tick of {} is {:.0} ticks, more than the {MAX_TICKS:.0} a run may take: use a coarser tick",
                scenario.duration,
                scenario.tick,
                duration / tick
            ),
        );
    }
    check_size(&mut c, scenario);
    if scenario.services.is_empty() {
        c.error("services", "the fleet needs at least one service");
    }
    c.positive(
        "escalation_timeout".to_string(),
        "escalation_timeout",
        scenario.escalation_timeout.get(),
    );
    if scenario.zones.is_empty() {
        c.error("zones", "the fleet needs at least one zone");
    }
    let mut zones = std::collections::HashSet::new();
    for (i, zone) in scenario.zones.iter().enumerate() {
        if !zones.insert(zone.as_str()) {
            c.error(format!("zones[{i}]"), format!("duplicate zone \"{zone}\""));
        }
    }

    let mut index_of: HashMap<&str, usize> = HashMap::new();
    for (i, service) in scenario.services.iter().enumerate() {
        let path = format!("services[{i}].name");
        if service.name.trim().is_empty() {
            c.error(path, "a service needs a name");
        } else if let Some(first) = index_of.insert(service.name.as_str(), i) {
            c.error(
                path,
                format!(
                    "duplicate service name \"{}\" (also services[{first}]); names must be unique",
                    service.name
                ),
            );
            index_of.insert(service.name.as_str(), first);
        }
    }
    let names: Vec<&str> = scenario.services.iter().map(|s| s.name.as_str()).collect();

    for (i, service) in scenario.services.iter().enumerate() {
        check_service(&mut c, i, service, &index_of, &names);
        if let Some(hpa) = &service.autoscale {
            let path = format!("services[{i}].autoscale");
            check_autoscale(&mut c, &path, hpa, service, scenario.tick.get());
        }
        if let Some(failover) = &service.failover {
            let path = format!("services[{i}].failover");
            if !matches!(service.kind, ServiceKind::Database { .. }) || service.instances < 2 {
                c.error(
                    path.clone(),
                    "a failover promotes a replica: it needs a Database with at least 2 instances (instance 0 the primary)",
                );
            }
            c.non_negative(
                format!("{path}.detection"),
                "detection",
                failover.detection.get(),
            );
            c.non_negative(
                format!("{path}.promotion"),
                "promotion",
                failover.promotion.get(),
            );
        }
        for (k, call) in service.calls.iter().enumerate() {
            let path = format!("services[{i}].calls[{k}].writes");
            c.ratio(path.clone(), "writes", call.writes);
            let callee = scenario.services.iter().find(|s| s.name == call.to);
            if call.writes > 0.0 && callee.is_some_and(|s| s.failover.is_none()) {
                c.error(
                    path,
                    format!(
                        "writes go to a primary, and \"{}\" has none: give it a failover section, or leave writes out",
                        call.to
                    ),
                );
            }
        }
        if let Some(limit) = &service.rate_limit {
            let path = format!("services[{i}].rate_limit");
            c.positive(format!("{path}.rps"), "rps", limit.rps);
            c.non_negative(
                format!("{path}.retry_after"),
                "retry_after",
                limit.retry_after.get(),
            );
        }
    }
    check_cores(&mut c, scenario);
    for (i, traffic) in scenario.traffic.iter().enumerate() {
        let path = format!("traffic[{i}]");
        resolve(&mut c, format!("{path}.to"), &traffic.to, &index_of, &names);
        c.non_negative(format!("{path}.rate"), "rate", traffic.rate);
        c.non_negative(format!("{path}.noise"), "noise", traffic.noise);
        c.positive(format!("{path}.timeout"), "timeout", traffic.timeout.get());
        check_backoff(&mut c, &format!("{path}.backoff"), traffic.backoff);
        check_budget(
            &mut c,
            &format!("{path}.retry_budget"),
            traffic.retry_budget,
        );
        if let Some(diurnal) = traffic.diurnal {
            let d = format!("{path}.diurnal");
            c.ratio(format!("{d}.amplitude"), "amplitude", diurnal.amplitude);
            c.positive(format!("{d}.period"), "period", diurnal.period.get());
        }
        for (k, spike) in traffic.spikes.iter().enumerate() {
            let s = format!("{path}.spikes[{k}]");
            c.non_negative(format!("{s}.at"), "spike start", spike.at.get());
            c.positive(
                format!("{s}.duration"),
                "spike duration",
                spike.duration.get(),
            );
            c.non_negative(
                format!("{s}.multiplier"),
                "spike multiplier",
                spike.multiplier,
            );
            if spike.at.get() >= scenario.duration.get() {
                c.warn(
                    format!("{s}.at"),
                    format!(
                        "spike at {} starts after the run ends ({})",
                        spike.at, scenario.duration
                    ),
                );
            }
        }
    }
    if scenario.traffic.is_empty() {
        c.warn(
            "traffic",
            "no traffic: nothing will reach the fleet; add (to: \"<entry service>\", rate: 50.0)",
        );
    }

    for (i, fault) in scenario.faults.iter().enumerate() {
        check_fault(
            &mut c,
            &format!("faults[{i}]"),
            fault,
            scenario,
            (&index_of, &names),
        );
    }

    for (i, slo) in scenario.slos.iter().enumerate() {
        check_slo(&mut c, i, slo, scenario, &index_of, &names);
    }
    for (i, alert) in scenario.alerts.iter().enumerate() {
        let path = format!("alerts[{i}]");
        resolve(
            &mut c,
            format!("{path}.service"),
            &alert.service,
            &index_of,
            &names,
        );
        c.non_negative(format!("{path}.for"), "for", alert.hold.get());
        let window = alert.window.get();
        if !(1.0..=MAX_ALERT_WINDOW_S).contains(&window) {
            c.error(
                format!("{path}.window"),
                format!(
                    "window must be from 1s to {} (got {}); \"1m\" is the usual rate window",
                    Seconds(MAX_ALERT_WINDOW_S),
                    alert.window
                ),
            );
        }
        c.non_negative(format!("{path}.min_rps"), "min_rps", alert.min_rps);
        if !alert.above.is_finite() {
            c.error(format!("{path}.above"), "the threshold must be a number");
        }
    }
    // Pages are acknowledged by name: SLOs and alerts share one namespace.
    let mut alert_names = std::collections::HashSet::new();
    let named = scenario
        .slos
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("slos[{i}].name"), s.name.as_str()))
        .chain(
            scenario
                .alerts
                .iter()
                .enumerate()
                .map(|(i, a)| (format!("alerts[{i}].name"), a.name.as_str())),
        );
    for (path, name) in named {
        if !alert_names.insert(name) {
            c.error(
                path,
                format!(
                    "\"{name}\" is already the name of an SLO or alert: pages are acknowledged by name, so names must be unique"
                ),
            );
        }
    }

    if let Some(incident) = &scenario.incident {
        check_incident(&mut c, incident, scenario);
    }
    check_chat(&mut c, scenario);
    check_tests(&mut c, scenario);
    check_cycles(&mut c, scenario, &index_of);
    check_reachability(&mut c, scenario, &index_of);
    c.problems
}

/// Names a fault by its `name`, or says which names there are.
fn fault_named(c: &mut Checker, path: String, name: &str, scenario: &Scenario) {
    let names: Vec<&str> = scenario
        .faults
        .iter()
        .filter_map(|f| f.name.as_deref())
        .collect();
    if !names.contains(&name) {
        let hint = match closest(name, &names) {
            Some(close) => format!(" (did you mean \"{close}\"?)"),
            None if names.is_empty() => " (give the fault a `name` to refer to it)".to_string(),
            None => format!(" (named faults: {})", names.join(", ")),
        };
        c.error(path, format!("no fault is named \"{name}\"{hint}"));
    }
}

/// The ground truth must point at things that exist, and scoring must be able to use it.
fn check_incident(c: &mut Checker, incident: &IncidentSpec, scenario: &Scenario) {
    for (i, name) in incident.root_cause.iter().enumerate() {
        fault_named(c, format!("incident.root_cause[{i}]"), name, scenario);
    }
    for (i, name) in incident.distractions.iter().enumerate() {
        fault_named(c, format!("incident.distractions[{i}]"), name, scenario);
        if incident.root_cause.contains(name) {
            c.error(
                format!("incident.distractions[{i}]"),
                format!("\"{name}\" is the root cause; it cannot also be a distraction"),
            );
        }
    }
    if incident.declare && incident.root_cause.is_empty() {
        c.warn(
            "incident.root_cause",
            "no root cause named: the mitigation, rollback and hypothesis criteria have nothing to judge",
        );
    }
    c.positive(
        "incident.par_mitigate".to_string(),
        "par_mitigate",
        incident.par_mitigate.get(),
    );
    let cost = incident.estimates.cost;
    if !(0.0..=1.0).contains(&cost) {
        c.error(
            "incident.estimates.cost",
            format!("an estimate's cost is a share of the maximum score, from 0 to 1 (got {cost})"),
        );
    }
    for weight in incident.weights.values() {
        c.non_negative("incident.weights".to_string(), "a weight", *weight);
    }
    if incident.declare && scenario.slos.is_empty() {
        c.warn(
            "incident",
            "no SLOs: nothing pages, and impact, mitigation and budget cannot be measured",
        );
    }
}

/// The fleet and its load within what a laptop can simulate, and a word when a run will be
/// long.
fn check_size(c: &mut Checker, scenario: &Scenario) {
    let mut fleet: u64 = 0;
    for (i, service) in scenario.services.iter().enumerate() {
        let largest = service.max_instances.unwrap_or(0).max(service.instances);
        if largest > MAX_INSTANCES {
            let field = if service.max_instances.is_some_and(|m| m > MAX_INSTANCES) {
                "max_instances"
            } else {
                "instances"
            };
            c.error(
                format!("services[{i}].{field}"),
                format!("{largest} instances is more than a service may have ({MAX_INSTANCES})"),
            );
        }
        fleet += u64::from(largest);
    }
    if fleet > MAX_FLEET_INSTANCES {
        c.error(
            "services",
            format!(
                "the fleet can grow to {fleet} instances, more than a run may simulate ({MAX_FLEET_INSTANCES})"
            ),
        );
    }
    let offered: f64 = scenario.traffic.iter().map(|t| t.rate).sum();
    for (i, traffic) in scenario.traffic.iter().enumerate() {
        if traffic.rate > MAX_OFFERED_RPS {
            c.error(
                format!("traffic[{i}].rate"),
                format!(
                    "{} requests/s is more than a fleet may be offered ({MAX_OFFERED_RPS:.0}/s)",
                    traffic.rate
                ),
            );
        }
        for (k, spike) in traffic.spikes.iter().enumerate() {
            if spike.multiplier > MAX_MULTIPLIER {
                c.error(
                    format!("traffic[{i}].spikes[{k}].multiplier"),
                    format!(
                        "a spike multiplies traffic by at most {MAX_MULTIPLIER} (got {})",
                        spike.multiplier
                    ),
                );
            }
        }
    }
    if offered.is_finite() && offered > MAX_OFFERED_RPS {
        c.error(
            "traffic",
            format!(
                "the sources offer {offered:.0} requests/s together, more than a fleet may be offered ({MAX_OFFERED_RPS:.0}/s)"
            ),
        );
    }
    let wall = offered * scenario.duration.get() / REQUESTS_PER_WALL_SECOND;
    if wall.is_finite() && wall > 600.0 {
        c.warn(
            "duration",
            format!(
                "about {:.0} million user requests over {}: expect the run to take about {} on a laptop",
                offered * scenario.duration.get() / 1e6,
                scenario.duration,
                Seconds((wall / 60.0).round() * 60.0)
            ),
        );
    }
}

/// A ranking names other self-tests of the scenario.
fn check_tests(c: &mut Checker, scenario: &Scenario) {
    for (i, test) in scenario.tests.iter().enumerate() {
        for (field, names) in [("above", &test.expect.above), ("below", &test.expect.below)] {
            for (k, name) in names.iter().enumerate() {
                if name == &test.name || !scenario.tests.iter().any(|t| &t.name == name) {
                    c.error(
                        format!("tests[{i}].expect.{field}[{k}]"),
                        format!(
                            "no other self-test is named \"{name}\"; the names are: {}",
                            scenario
                                .tests
                                .iter()
                                .map(|t| format!("\"{}\"", t.name))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                }
            }
        }
    }
}

fn check_chat(c: &mut Checker, scenario: &Scenario) {
    for (i, message) in scenario.chat.messages.iter().enumerate() {
        let path = format!("chat.messages[{i}].when");
        match &message.when {
            MessageTrigger::At(t) | MessageTrigger::AfterPage(t) => {
                c.non_negative(path, "the time", t.get());
            }
            MessageTrigger::AfterFault(name, delay) => {
                fault_named(c, path.clone(), name, scenario);
                c.non_negative(path, "the delay", delay.get());
            }
            MessageTrigger::NoUpdateFor(silence) => c.positive(path, "the silence", silence.get()),
            MessageTrigger::BudgetBelow(share) => c.ratio(path, "the budget share", *share),
        }
        if message.text.trim().is_empty() {
            c.error(format!("chat.messages[{i}].text"), "a message needs text");
        }
    }
}

fn check_service(
    c: &mut Checker,
    i: usize,
    service: &ServiceSpec,
    index_of: &HashMap<&str, usize>,
    names: &[&str],
) {
    let path = format!("services[{i}]");
    if service.instances == 0 {
        c.error(
            format!("{path}.instances"),
            "zero instances gives zero capacity; use at least 1",
        );
    }
    if let Some(max) = service.max_instances
        && max < service.instances
    {
        c.error(
            format!("{path}.max_instances"),
            format!(
                "max_instances {max} is below instances {}: scaling could only shrink below the start",
                service.instances
            ),
        );
    }
    match service.kind {
        ServiceKind::Database { pool } => {
            if pool == 0 {
                c.error(
                    format!("{path}.kind.pool"),
                    "a connection pool of 0 gives zero capacity; use at least 1",
                );
            }
            if service.workers.is_some() {
                c.error(
                    format!("{path}.workers"),
                    "a Database's concurrency is its pool: remove `workers` and set kind: Database(pool: N)",
                );
            }
        }
        ServiceKind::Cache { hit_ratio, keys } => {
            c.ratio(format!("{path}.kind.hit_ratio"), "hit_ratio", hit_ratio);
            if keys == 0 {
                c.error(
                    format!("{path}.kind.keys"),
                    "a cache needs at least one key",
                );
            }
            if service.calls.is_empty() {
                c.error(
                    format!("{path}.calls"),
                    "a Cache needs a fill path for misses: add calls: [(to: \"<backing store>\")]",
                );
            }
        }
        ServiceKind::External => {
            if !service.calls.is_empty() {
                c.error(
                    format!("{path}.calls"),
                    "an External dependency is outside the fleet and cannot call services; remove its calls",
                );
            }
        }
        ServiceKind::Queue => {
            if service.calls.is_empty() {
                c.error(
                    format!("{path}.calls"),
                    "a Queue delivers to its consumers: add calls: [(to: \"<consumer>\")]",
                );
            }
        }
        ServiceKind::Service => {}
    }
    if service.workers == Some(0) {
        c.error(
            format!("{path}.workers"),
            "zero workers gives zero capacity; use at least 1",
        );
    }
    check_service_time(c, &format!("{path}.service_time"), service.service_time);
    c.non_negative(
        format!("{path}.slowdown_per_request"),
        "slowdown_per_request",
        service.slowdown_per_request.get(),
    );
    c.ratio(
        format!("{path}.error_ratio"),
        "error_ratio",
        service.error_ratio,
    );
    if let Some(cores) = service.cpu.cores {
        c.positive(format!("{path}.cpu.cores"), "cores", cores);
    }
    c.ratio(
        format!("{path}.cpu.cpu_share"),
        "cpu_share",
        service.cpu.cpu_share,
    );
    c.non_negative(
        format!("{path}.memory.base_mb"),
        "base_mb",
        service.memory.base_mb,
    );
    c.non_negative(
        format!("{path}.memory.per_request_mb"),
        "per_request_mb",
        service.memory.per_request_mb,
    );
    if let Some(limit) = service.memory.limit_mb
        && limit <= service.memory.base_mb
    {
        c.error(
            format!("{path}.memory.limit_mb"),
            format!(
                "limit_mb {limit} is not above base_mb {}: every instance would be OOM-killed at start",
                service.memory.base_mb
            ),
        );
    }
    c.positive(
        format!("{path}.disk.size_mb"),
        "size_mb",
        service.disk.size_mb,
    );
    if !(0.0..service.disk.size_mb).contains(&service.disk.used_mb) {
        c.error(
            format!("{path}.disk.used_mb"),
            format!(
                "used_mb {} must be at least 0 and below size_mb {}",
                service.disk.used_mb, service.disk.size_mb
            ),
        );
    } else if service.disk.logs_mb < 0.0
        || service.disk.used_mb + service.disk.logs_mb > service.disk.size_mb
    {
        c.error(
            format!("{path}.disk.logs_mb"),
            format!(
                "logs_mb {} must be at least 0 and fit beside used_mb {} in size_mb {}",
                service.disk.logs_mb, service.disk.used_mb, service.disk.size_mb
            ),
        );
    }
    c.non_negative(
        format!("{path}.restart_time"),
        "restart_time",
        service.restart_time.get(),
    );
    let hc = service.health_check;
    c.positive(
        format!("{path}.health_check.interval"),
        "interval",
        hc.interval.get(),
    );
    c.positive(
        format!("{path}.health_check.timeout"),
        "timeout",
        hc.timeout.get(),
    );
    for (field, value) in [
        ("unhealthy_threshold", hc.unhealthy_threshold),
        ("healthy_threshold", hc.healthy_threshold),
    ] {
        if value == 0 {
            c.error(
                format!("{path}.health_check.{field}"),
                format!("{field} must be at least 1"),
            );
        }
    }
    for (k, call) in service.calls.iter().enumerate() {
        let cp = format!("{path}.calls[{k}]");
        if let Some(target) = resolve(c, format!("{cp}.to"), &call.to, index_of, names)
            && target == i
        {
            c.error(
                format!("{cp}.to"),
                format!("service \"{}\" calls itself", service.name),
            );
        }
        c.non_negative(format!("{cp}.per_request"), "per_request", call.per_request);
        c.positive(format!("{cp}.timeout"), "timeout", call.timeout.get());
        check_backoff(c, &format!("{cp}.backoff"), call.backoff);
        check_budget(c, &format!("{cp}.retry_budget"), call.retry_budget);
    }
}

/// The problems of one more fault for a valid scenario (a fault the game master injects),
/// with paths starting at `path`.
pub fn check_extra_fault(scenario: &Scenario, path: &str, fault: &FaultSpec) -> Vec<Problem> {
    let mut c = Checker {
        problems: Vec::new(),
    };
    let index_of: HashMap<&str, usize> = scenario
        .services
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    let names: Vec<&str> = scenario.services.iter().map(|s| s.name.as_str()).collect();
    check_fault(&mut c, path, fault, scenario, (&index_of, &names));
    c.problems
}

/// A fault's cause must be a change to the service it hits, so that undoing the change can
/// end it.
fn check_cause(c: &mut Checker, path: String, fault: &FaultSpec, cause: &str, scenario: &Scenario) {
    fault_named(c, path.clone(), cause, scenario);
    let Some(change) = scenario
        .faults
        .iter()
        .find(|f| f.name.as_deref() == Some(cause))
    else {
        return;
    };
    let undoable = change.kind.is_change() && change.kind.target_kind() == TargetKind::Service;
    if !undoable || change.target != fault.target || fault.kind.target_kind() != TargetKind::Service
    {
        c.error(
            path,
            format!(
                "\"{cause}\" is not a Deploy, ConfigPush or FeatureFlag on \"{}\": a fault is caused by a change to the service it hits, and ends when that change is undone",
                fault.target
            ),
        );
    } else if std::ptr::eq(change, fault) {
        c.error(path, format!("\"{cause}\" cannot be its own cause"));
    }
}

/// An autoscaler must have room to work in, a target it can reach, and a pace the
/// simulation can keep.
fn check_autoscale(
    c: &mut Checker,
    path: &str,
    hpa: &AutoscaleSpec,
    service: &ServiceSpec,
    tick: f64,
) {
    let slots = service
        .max_instances
        .unwrap_or(service.instances)
        .max(service.instances);
    if hpa.min == 0 {
        c.error(
            format!("{path}.min"),
            "an autoscaler keeps at least 1 instance; use min: 1 or more",
        );
    }
    if hpa.max < hpa.min {
        c.error(
            format!("{path}.max"),
            format!("max {} is below min {}", hpa.max, hpa.min),
        );
    } else if hpa.max > slots {
        c.error(
            format!("{path}.max"),
            format!(
                "max {} is above the service's max_instances {slots}: raise max_instances to {}",
                hpa.max, hpa.max
            ),
        );
    }
    if !(hpa.target_cpu > 0.0 && hpa.target_cpu <= 1.0) {
        c.error(
            format!("{path}.target_cpu"),
            format!(
                "target_cpu is a share of the cores above 0 and at most 1 (got {}); write 0.6 for 60%",
                hpa.target_cpu
            ),
        );
    }
    // NaN included: a sync that is not at least one tick is refused.
    if hpa.sync.get().partial_cmp(&tick).is_none_or(|o| o.is_lt()) {
        c.error(
            format!("{path}.sync"),
            format!("sync must be at least one tick ({tick} s)"),
        );
    }
    c.non_negative(
        format!("{path}.scale_down_window"),
        "scale_down_window",
        hpa.scale_down_window.get(),
    );
    if !(0.0..1.0).contains(&hpa.tolerance) {
        c.error(
            format!("{path}.tolerance"),
            format!(
                "tolerance is a share of the target from 0 up to 1 (got {}); Kubernetes uses 0.1",
                hpa.tolerance
            ),
        );
    }
}

fn check_fault(
    c: &mut Checker,
    path: &str,
    fault: &FaultSpec,
    scenario: &Scenario,
    (index_of, names): (&HashMap<&str, usize>, &[&str]),
) {
    let target = format!("{path}.target");
    let kind = format!("{path}.kind");
    let mut service = None;
    match fault.kind.target_kind() {
        TargetKind::Service => {
            service = resolve(c, target, &fault.target, index_of, names);
        }
        TargetKind::Edge => match super::Edge::parse(&fault.target) {
            Some(super::Edge { from, to }) => {
                let a = resolve(c, target.clone(), from, index_of, names);
                let b = resolve(c, target.clone(), to, index_of, names);
                if let (Some(a), Some(_)) = (a, b)
                    && !scenario.services[a].calls.iter().any(|call| call.to == to)
                {
                    c.error(
                        target,
                        format!("\"{from}\" does not call \"{to}\": a {} fault needs an existing call edge", fault.kind.label()),
                    );
                }
            }
            None => c.error(
                target,
                format!(
                    "a {} fault targets a call edge: write \"caller->callee\", e.g. \"checkout->payment\"",
                    fault.kind.label()
                ),
            ),
        },
        TargetKind::Zone => {
            if !scenario.zones.contains(&fault.target) {
                let known: Vec<&str> = scenario.zones.iter().map(String::as_str).collect();
                c.error(
                    target,
                    format!("unknown zone \"{}\" (zones: {})", fault.target, known.join(", ")),
                );
            }
        }
        TargetKind::Traffic => {
            let sources: Vec<String> = scenario
                .traffic
                .iter()
                .enumerate()
                .map(|(k, t)| t.name.clone().unwrap_or_else(|| format!("{}#{k}", t.to)))
                .collect();
            if !sources.contains(&fault.target) {
                let known: Vec<&str> = sources.iter().map(String::as_str).collect();
                let hint = closest(&fault.target, &known)
                    .map(|n| format!(" (did you mean \"{n}\"?)"))
                    .unwrap_or_else(|| format!(" (traffic entries: {})", known.join(", ")));
                c.error(target, format!("unknown traffic entry \"{}\"{hint}", fault.target));
            }
        }
    }
    if let Some(cause) = &fault.caused_by {
        check_cause(c, format!("{path}.caused_by"), fault, cause, scenario);
    }
    match &fault.kind {
        FaultKind::Crash { instances } => {
            if *instances == 0 {
                c.error(
                    format!("{kind}.instances"),
                    "a crash needs at least one instance",
                );
            }
        }
        FaultKind::CrashLoop { uptime } => {
            c.positive(format!("{kind}.uptime"), "uptime", uptime.get())
        }
        FaultKind::MemoryLeak {
            per_request_mb,
            per_minute_mb,
        } => {
            c.growth(&kind, "a memory leak", *per_request_mb, *per_minute_mb);
            if let Some(s) = service
                && scenario.services[s].memory.limit_mb.is_none()
            {
                c.warn(
                    kind,
                    format!(
                        "service \"{}\" has no memory.limit_mb, so the leak never ends in an OOM kill",
                        scenario.services[s].name
                    ),
                );
            }
        }
        FaultKind::CpuHog { cores } => c.positive(format!("{kind}.cores"), "cores", *cores),
        FaultKind::ReplicationLag {
            per_second,
            tolerance,
            fresh_reads,
        } => {
            c.positive(format!("{kind}.per_second"), "per_second", *per_second);
            c.non_negative(format!("{kind}.tolerance"), "tolerance", tolerance.get());
            c.ratio(format!("{kind}.fresh_reads"), "fresh_reads", *fresh_reads);
            if let Some(s) = service {
                let db = &scenario.services[s];
                if !matches!(db.kind, ServiceKind::Database { .. }) || db.instances < 2 {
                    c.error(
                        format!("{path}.target"),
                        format!(
                            "\"{}\" is not a Database with replicas: replication lag needs a Database of 2 or more instances (the first is the primary)",
                            fault.target
                        ),
                    );
                }
            }
        }
        FaultKind::ConsumerLag { extra } => {
            c.positive(format!("{kind}.extra"), "extra", extra.get());
            if let Some(s) = service
                && scenario.services[s].kind != ServiceKind::Queue
            {
                c.error(
                    format!("{path}.target"),
                    format!(
                        "\"{}\" is not a Queue: only a queue's consumers can lag",
                        fault.target
                    ),
                );
            }
        }
        FaultKind::Latency { extra }
        | FaultKind::NetworkLatency { extra }
        | FaultKind::IoLatency { extra } => {
            c.positive(format!("{kind}.extra"), "extra", extra.get())
        }
        FaultKind::SlowQueries { factor } => {
            c.positive(format!("{kind}.factor"), "factor", *factor)
        }
        FaultKind::Errors { ratio }
        | FaultKind::PacketLoss { ratio }
        | FaultKind::HotKey { ratio } => c.ratio(format!("{kind}.ratio"), "ratio", *ratio),
        FaultKind::TrafficSurge { multiplier } => {
            c.non_negative(format!("{kind}.multiplier"), "multiplier", *multiplier);
            if *multiplier > MAX_MULTIPLIER {
                c.error(
                    format!("{kind}.multiplier"),
                    format!(
                        "a surge multiplies traffic by at most {MAX_MULTIPLIER} (got {multiplier})"
                    ),
                );
            }
        }
        FaultKind::CacheFlush => {
            if let Some(s) = service
                && !matches!(scenario.services[s].kind, ServiceKind::Cache { .. })
            {
                c.error(
                    format!("{path}.target"),
                    format!(
                        "\"{}\" is not a Cache: only a cache can be flushed",
                        fault.target
                    ),
                );
            }
        }
        FaultKind::Deploy {
            version,
            error_ratio,
            latency_factor,
            leak_mb_per_request,
        } => {
            if version.trim().is_empty() {
                c.error(format!("{kind}.version"), "a deploy needs a version name");
            }
            c.ratio(format!("{kind}.error_ratio"), "error_ratio", *error_ratio);
            c.positive(
                format!("{kind}.latency_factor"),
                "latency_factor",
                *latency_factor,
            );
            c.non_negative(
                format!("{kind}.leak_mb_per_request"),
                "leak_mb_per_request",
                *leak_mb_per_request,
            );
        }
        FaultKind::ConfigPush {
            error_ratio,
            latency_factor,
            ..
        } => {
            c.ratio(format!("{kind}.error_ratio"), "error_ratio", *error_ratio);
            c.positive(
                format!("{kind}.latency_factor"),
                "latency_factor",
                *latency_factor,
            );
        }
        FaultKind::FeatureFlag {
            error_ratio,
            extra_latency,
            ..
        } => {
            c.ratio(format!("{kind}.error_ratio"), "error_ratio", *error_ratio);
            c.non_negative(
                format!("{kind}.extra_latency"),
                "extra_latency",
                extra_latency.get(),
            );
        }
        FaultKind::FlappingHealthChecks { ratio } => {
            c.ratio(format!("{kind}.ratio"), "ratio", *ratio)
        }
        FaultKind::GcPauses { interval, pause } => {
            c.positive(format!("{kind}.interval"), "interval", interval.get());
            c.positive(format!("{kind}.pause"), "pause", pause.get());
            if pause.get() >= interval.get() {
                c.error(
                    format!("{kind}.pause"),
                    "a pause as long as its interval never ends",
                );
            }
        }
        FaultKind::DiskFill {
            per_request_mb,
            per_minute_mb,
        } => {
            c.growth(&kind, "a disk fill", *per_request_mb, *per_minute_mb);
        }
        FaultKind::ClockSkew {
            instances,
            error_ratio,
        } => {
            c.ratio(format!("{kind}.error_ratio"), "error_ratio", *error_ratio);
            if *instances == 0 {
                c.error(
                    format!("{kind}.instances"),
                    "clock skew needs at least one instance",
                );
            }
        }
        FaultKind::Partition
        | FaultKind::DnsFailure
        | FaultKind::ZoneLoss
        | FaultKind::CertExpiry
        | FaultKind::MissingMetrics
        | FaultKind::AlertStorm => {}
        FaultKind::ReadinessFailure { instances } => {
            if *instances == 0 {
                c.error(
                    format!("{kind}.instances"),
                    "a readiness failure needs at least one instance",
                );
            }
        }
    }
    let start = format!("{path}.start");
    let end = scenario.duration.get();
    match &fault.start {
        FaultStart::At(at) => {
            c.non_negative(start.clone(), "start", at.get());
            if at.get() >= end {
                c.warn(
                    start,
                    format!(
                        "the fault starts at {at}, after the run ends ({})",
                        scenario.duration
                    ),
                );
            }
        }
        FaultStart::Between(low, high) => {
            c.non_negative(start.clone(), "start", low.get());
            if high.get() < low.get() {
                c.error(
                    start,
                    format!("Between({low}, {high}): the range ends before it starts"),
                );
            } else if low.get() >= end {
                c.warn(
                    start,
                    format!(
                        "the fault starts after the run ends ({})",
                        scenario.duration
                    ),
                );
            }
        }
        FaultStart::When(condition) => {
            resolve(c, start, condition.service(), index_of, names);
        }
    }
    if let Some(duration) = fault.duration {
        let path = format!("{path}.duration");
        if fault.kind.is_one_shot() {
            c.warn(
                path,
                format!(
                    "a {} happens once: its duration means nothing",
                    fault.kind.label()
                ),
            );
        } else {
            c.positive(path, "duration", duration.get());
        }
    }
}

fn check_slo(
    c: &mut Checker,
    i: usize,
    slo: &SloSpec,
    scenario: &Scenario,
    index_of: &HashMap<&str, usize>,
    names: &[&str],
) {
    let path = format!("slos[{i}]");
    let service = resolve(c, format!("{path}.service"), &slo.service, index_of, names);
    if !(slo.objective > 0.0 && slo.objective < 100.0) {
        c.error(
            format!("{path}.objective"),
            format!(
                "objective is a percentage below 100 (got {}); write 99.9 for three nines",
                slo.objective
            ),
        );
        return;
    }
    c.positive(format!("{path}.window"), "window", slo.window.get());
    if !(0.0..1.0).contains(&slo.budget_spent) {
        c.error(
            format!("{path}.budget_spent"),
            format!(
                "budget_spent is the share already gone, from 0 up to 1 (got {})",
                slo.budget_spent
            ),
        );
    }
    if let Sli::Latency { threshold } = slo.sli {
        c.positive(
            format!("{path}.sli.threshold"),
            "threshold",
            threshold.get(),
        );
    }
    c.non_negative(format!("{path}.min_rps"), "min_rps", slo.min_rps);
    for (k, row) in slo.alerting.iter().flatten().enumerate() {
        let r = format!("{path}.alerting[{k}]");
        c.positive(format!("{r}.factor"), "factor", row.factor);
        c.positive(format!("{r}.short"), "short", row.short.get());
        if row.long.get() < row.short.get() {
            c.error(
                format!("{r}.long"),
                format!(
                    "the long window ({}) is shorter than the short one ({})",
                    row.long, row.short
                ),
            );
        }
    }
    let budget = 1.0 - slo.objective / 100.0;
    let period = slo.window.get();
    check_pages(c, &path, slo, budget);
    if period * budget < 60.0 {
        c.warn(
            format!("{path}.objective"),
            format!(
                "a total outage spends the whole budget in {}: nobody can respond that fast",
                Seconds(period * budget)
            ),
        );
    }
    if let Some(s) = service {
        let rate: f64 = scenario
            .traffic
            .iter()
            .filter(|t| t.to == scenario.services[s].name)
            .map(|t| t.rate)
            .sum();
        if rate > 0.0 && rate * 3600.0 * budget < 1.0 {
            c.warn(
                format!("{path}.service"),
                format!(
                    "traffic too low for the objective: at {rate} requests/s one failure is a burn of {:.0} over an hour",
                    1.0 / (rate * 3600.0 * budget)
                ),
            );
        }
    }
}

/// Every page row in force must be able to fire: a row needs an error ratio above its factor
/// times the budget over both windows, so under a total outage from a clean history it fires
/// once the long window's average crosses it, after factor x budget x long.
fn check_pages(c: &mut Checker, path: &str, slo: &SloSpec, budget: f64) {
    let custom = slo.alerting.is_some();
    let pages: Vec<(usize, AlertRowSpec)> = slo
        .rows()
        .into_iter()
        .enumerate()
        .filter(|(_, row)| row.severity == AlertSeverity::Page)
        .collect();
    let fastest = pages
        .iter()
        .filter(|(_, row)| row.factor * budget < 1.0)
        .map(|(_, row)| (row.factor * budget * row.long.get(), row))
        .min_by(|a, b| a.0.total_cmp(&b.0));
    let then = match fastest {
        Some((after, row)) => format!(
            "no page before {} of total outage (the {}/{} row)",
            span(after),
            row.long,
            row.short
        ),
        None => "no page at all, even for a total outage".to_string(),
    };
    for (k, row) in &pages {
        let needed = row.factor * budget;
        if needed >= 1.0 {
            c.warn(
                if custom {
                    format!("{path}.alerting[{k}].factor")
                } else {
                    format!("{path}.objective")
                },
                format!(
                    "the {} page can never fire: it needs an error ratio above {:.0}% (burn {:.1} x budget {:.1}%); {then}; loosen the alerting or tighten the objective",
                    row.long,
                    needed * 100.0,
                    row.factor,
                    budget * 100.0
                ),
            );
        }
    }
}

/// A span of time as a responder reads it: "52s", "21m36s", "2h05m".
fn span(seconds: f64) -> String {
    let s = seconds.round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

/// Warns where the written cores cannot keep every worker on CPU: past that many busy
/// workers, requests share the cores and slow down, which no one reading `workers` expects.
fn check_cores(c: &mut Checker, scenario: &Scenario) {
    for (i, (service, needed)) in scenario
        .services
        .iter()
        .zip(scenario.cores_needed())
        .enumerate()
    {
        let Some(cores) = service.cpu.cores else {
            continue;
        };
        if !(cores.is_finite() && cores > 0.0 && needed.is_finite()) || needed <= cores * 1.001 {
            continue;
        }
        let workers = service.effective_workers();
        let cpu_per_request = service.service_time.mean() * service.cpu.cpu_share;
        c.warn(
            format!("services[{i}].cpu.cores"),
            format!(
                "{workers} busy workers need about {needed:.1} cores ({:.0}% of their own work is CPU), but an instance has {cores}: past {:.0} busy workers requests share the cores and each slows down, and an instance serves at most {:.0} requests a second; give it cpu: (cores: {}) or fewer workers",
                service.cpu.cpu_share * 100.0,
                f64::from(workers) * cores / needed,
                cores / cpu_per_request,
                needed.ceil(),
            ),
        );
    }
}

fn check_service_time(c: &mut Checker, path: &str, time: ServiceTime) {
    match time {
        ServiceTime::Exponential { mean } => c.positive(format!("{path}.mean"), "mean", mean.get()),
        ServiceTime::Constant { value } => {
            c.positive(format!("{path}.value"), "value", value.get())
        }
        ServiceTime::LogNormal { median, p99 } => {
            c.positive(format!("{path}.median"), "median", median.get());
            if p99.get() <= median.get() {
                c.error(
                    format!("{path}.p99"),
                    format!("p99 ({p99}) must be above the median ({median})"),
                );
            }
        }
    }
}

fn check_backoff(c: &mut Checker, path: &str, backoff: Backoff) {
    if let Backoff::Exponential { base, cap, .. } = backoff {
        c.positive(format!("{path}.base"), "backoff base", base.get());
        if cap.get() < base.get() {
            c.error(
                format!("{path}.cap"),
                format!("backoff cap ({cap}) is below its base ({base})"),
            );
        }
    }
}

fn check_budget(c: &mut Checker, path: &str, budget: Option<RetryBudget>) {
    if let Some(budget) = budget {
        if !(budget.ratio > 0.0 && budget.ratio <= 1.0) {
            c.error(
                format!("{path}.ratio"),
                format!(
                    "retry budget ratio must be in (0, 1] (got {}); 0.1 allows one retry per ten successes",
                    budget.ratio
                ),
            );
        }
        if budget.max_tokens.is_nan() || budget.max_tokens < 1.0 {
            c.error(
                format!("{path}.max_tokens"),
                "max_tokens must be at least 1 so that one retry can ever be paid for",
            );
        }
    }
}

fn resolve(
    c: &mut Checker,
    path: String,
    name: &str,
    index_of: &HashMap<&str, usize>,
    names: &[&str],
) -> Option<usize> {
    if let Some(&i) = index_of.get(name) {
        return Some(i);
    }
    let hint = match closest(name, names) {
        Some(close) => format!(" (did you mean \"{close}\"?)"),
        None => format!(" (known services: {})", names.join(", ")),
    };
    c.error(path, format!("unknown service \"{name}\"{hint}"));
    None
}

/// ` (did you mean "web"?)` when a known name is plausibly what `name` meant to say.
pub fn did_you_mean(name: &str, names: &[&str]) -> Option<String> {
    closest(name, names).map(|close| format!(" (did you mean \"{close}\"?)"))
}

/// The known name nearest to `name`, if it is plausibly a typo of it.
pub fn closest<'a>(name: &str, names: &[&'a str]) -> Option<&'a str> {
    names
        .iter()
        .map(|candidate| (edit_distance(name, candidate), *candidate))
        .filter(|(distance, candidate)| *distance <= (candidate.len().max(name.len()) / 3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Edit distance counting a swap of two neighbours as one edit (optimal string alignment):
/// "wbe" is one typo away from "web".
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

fn edges<'a>(
    scenario: &'a Scenario,
    index_of: &'a HashMap<&str, usize>,
) -> impl Iterator<Item = (usize, usize, usize)> + 'a {
    scenario
        .services
        .iter()
        .enumerate()
        .flat_map(move |(i, s)| {
            s.calls
                .iter()
                .enumerate()
                .filter_map(move |(k, call)| index_of.get(call.to.as_str()).map(|&to| (i, k, to)))
        })
}

fn check_cycles(c: &mut Checker, scenario: &Scenario, index_of: &HashMap<&str, usize>) {
    let n = scenario.services.len();
    let mut out: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    for (from, k, to) in edges(scenario, index_of) {
        if from != to {
            out[from].push((k, to));
        }
    }
    // Iterative DFS with colours; report each cycle once, at the call that closes it.
    let mut colour = vec![0u8; n];
    for root in 0..n {
        if colour[root] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        colour[root] = 1;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&(k, to)) = out[node].get(*next) {
                *next += 1;
                match colour[to] {
                    0 => {
                        colour[to] = 1;
                        stack.push((to, 0));
                    }
                    1 => {
                        let start = stack.iter().position(|&(s, _)| s == to).unwrap_or(0);
                        let mut cycle: Vec<&str> = stack[start..]
                            .iter()
                            .map(|&(s, _)| scenario.services[s].name.as_str())
                            .collect();
                        cycle.push(scenario.services[to].name.as_str());
                        c.error(
                            format!("services[{node}].calls[{k}].to"),
                            format!(
                                "call cycle {}: the call graph must be acyclic",
                                cycle.join(" -> ")
                            ),
                        );
                    }
                    _ => {}
                }
            } else {
                colour[node] = 2;
                stack.pop();
            }
        }
    }
}

fn check_reachability(c: &mut Checker, scenario: &Scenario, index_of: &HashMap<&str, usize>) {
    let n = scenario.services.len();
    let mut reached = vec![false; n];
    let mut frontier: Vec<usize> = scenario
        .traffic
        .iter()
        .filter_map(|t| index_of.get(t.to.as_str()).copied())
        .collect();
    if frontier.is_empty() {
        return;
    }
    let all_edges: Vec<(usize, usize, usize)> = edges(scenario, index_of).collect();
    while let Some(node) = frontier.pop() {
        if std::mem::replace(&mut reached[node], true) {
            continue;
        }
        frontier.extend(
            all_edges
                .iter()
                .filter(|(from, _, _)| *from == node)
                .map(|&(_, _, to)| to),
        );
    }
    for (i, service) in scenario.services.iter().enumerate() {
        // A duplicate name is reported already; calling it unreachable would only confuse.
        let duplicate = index_of.get(service.name.as_str()) != Some(&i);
        if !reached[i] && !duplicate {
            c.warn(
                format!("services[{i}]"),
                format!(
                    "service \"{}\" is unreachable: no traffic or call leads to it",
                    service.name
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names() {
        let names = ["payment", "frontend", "db"];
        assert_eq!(closest("paymnt", &names), Some("payment"));
        assert_eq!(closest("frontnd", &names), Some("frontend"));
        assert_eq!(closest("zzzzzzzz", &names), None);
        assert_eq!(
            closest("wbe", &names),
            None,
            "two-letter names are not guessed at"
        );
        assert_eq!(closest("wbe", &["web", "api"]), Some("web"));
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("ab", "ba"), 1);
    }
}
