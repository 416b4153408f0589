//! The game's checks on a scenario's ground truth: what only the remediation catalog and
//! the scoring rules can tell (a mitigation that names no remediation, a par no responder
//! can meet, a weight on no criterion). The scenario floor checks the format and the fleet;
//! `session::load_str` runs both.

use crate::remediation::{CATALOG, least_time_to_act};
use crate::scenario::{
    ActionPattern, Edge, FaultKind, IncidentSpec, Problem, Scenario, Seconds, closest, did_you_mean,
};

/// Every problem the game's rules find in `scenario`'s incident, none stopping the others.
pub fn check(scenario: &Scenario) -> Vec<Problem> {
    let mut problems = Vec::new();
    check_runbooks(&mut problems, scenario);
    let Some(incident) = &scenario.incident else {
        return problems;
    };
    check_patterns(&mut problems, incident, scenario);
    if let Some((least, how)) = fastest_mitigation(incident, scenario)
        && incident.par_mitigate.get() < least
    {
        problems.push(Problem::warning(
            "incident.par_mitigate",
            format!(
                "par {} is shorter than the fastest mitigation takes to act ({how}: {}): no responder can meet it; allow at least that plus time to diagnose",
                incident.par_mitigate,
                Seconds::new(least)
            ),
        ));
    }
    let ids: Vec<&str> = super::CRITERIA.iter().map(|c| c.0).collect();
    for id in incident.weights.keys() {
        if !ids.contains(&id.as_str()) {
            let hint = closest(id, &ids)
                .map(|close| format!("did you mean \"{close}\"?"))
                .unwrap_or_else(|| format!("criteria: {}", ids.join(", ")));
            problems.push(Problem::error(
                "incident.weights",
                format!("unknown criterion \"{id}\" ({hint})"),
            ));
        }
    }
    problems
}

/// A runbook is for an SLO or alert that exists; its steps look at things that exist and
/// prescribe remediations of the catalog.
fn check_runbooks(problems: &mut Vec<Problem>, scenario: &Scenario) {
    let alerts: Vec<&str> = scenario
        .slos
        .iter()
        .map(|s| s.name.as_str())
        .chain(scenario.alerts.iter().map(|a| a.name.as_str()))
        .collect();
    let lookable: Vec<&str> = scenario
        .services
        .iter()
        .map(|s| s.name.as_str())
        .chain(scenario.slos.iter().map(|s| s.name.as_str()))
        .chain(["Deploys", "ServiceMap"])
        .collect();
    for (i, runbook) in scenario.runbooks.iter().enumerate() {
        let path = format!("runbooks[{i}]");
        if !alerts.contains(&runbook.alert.as_str()) {
            let hint = did_you_mean(&runbook.alert, &alerts)
                .unwrap_or_else(|| format!(" (SLOs and alerts: {})", alerts.join(", ")));
            problems.push(Problem::error(
                format!("{path}.alert"),
                format!("no SLO or alert is named \"{}\"{hint}", runbook.alert),
            ));
        }
        for (k, step) in runbook.steps.iter().enumerate() {
            if let Some(look) = &step.look
                && !lookable.contains(&look.as_str())
            {
                let hint = did_you_mean(look, &lookable).unwrap_or_default();
                problems.push(Problem::error(
                    format!("{path}.steps[{k}].look"),
                    format!("\"{look}\" is no service, SLO, \"Deploys\" or \"ServiceMap\"{hint}"),
                ));
            }
        }
        let prescribed = runbook.steps.iter().enumerate().filter_map(|(k, step)| {
            let pattern = step.apply.as_ref()?;
            Some((format!("{path}.steps[{k}].apply"), pattern))
        });
        check_pattern_list(problems, prescribed, scenario);
    }
}

/// Mitigations and red herrings must name a remediation of the catalog and a target that
/// exists.
fn check_patterns(problems: &mut Vec<Problem>, incident: &IncidentSpec, scenario: &Scenario) {
    for (list, patterns) in [
        ("mitigations", &incident.mitigations),
        ("red_herrings", &incident.red_herrings),
    ] {
        let paths = patterns
            .iter()
            .enumerate()
            .map(|(i, pattern)| (format!("incident.{list}[{i}]"), pattern));
        check_pattern_list(problems, paths, scenario);
    }
}

/// Each pattern, with its path, names a remediation of the catalog and a target that exists.
fn check_pattern_list<'a>(
    problems: &mut Vec<Problem>,
    patterns: impl IntoIterator<Item = (String, &'a ActionPattern)>,
    scenario: &Scenario,
) {
    let actions: Vec<&str> = CATALOG.iter().map(|r| r.name).collect();
    let targets: Vec<String> = scenario
        .services
        .iter()
        .map(|s| s.name.clone())
        .chain(scenario.zones.iter().cloned())
        .chain(scenario.services.iter().flat_map(|s| {
            s.calls.iter().map(move |call| {
                Edge {
                    from: &s.name,
                    to: &call.to,
                }
                .to_string()
            })
        }))
        .collect();
    let target_names: Vec<&str> = targets.iter().map(String::as_str).collect();
    for (path, pattern) in patterns {
        if !actions.contains(&pattern.action.as_str()) {
            let hint = did_you_mean(&pattern.action, &actions)
                .unwrap_or_else(|| " (`firedrill catalog` lists them)".to_string());
            problems.push(Problem::error(
                format!("{path}.action"),
                format!("unknown remediation \"{}\"{hint}", pattern.action),
            ));
        }
        if let Some(target) = &pattern.target
            && !target_names.contains(&target.as_str())
        {
            let hint = did_you_mean(target, &target_names).unwrap_or_default();
            problems.push(Problem::error(
                format!("{path}.target"),
                format!("\"{target}\" is no service, zone or call edge{hint}"),
            ));
        }
    }
}

/// The mitigation that acts soonest once applied, and how long it takes.
fn fastest_mitigation(incident: &IncidentSpec, scenario: &Scenario) -> Option<(f64, String)> {
    super::mitigations(scenario, incident)
        .iter()
        .map(|pattern| {
            let target = pattern.target.as_deref();
            let service_name = target.map(Edge::caller_or_self);
            let service = service_name.and_then(|n| scenario.services.iter().find(|s| s.name == n));
            let rolls_out = scenario.faults.iter().any(|f| {
                service_name == Some(f.target.as_str())
                    && matches!(f.kind, FaultKind::Deploy { .. })
                    && f.name
                        .as_ref()
                        .is_some_and(|n| incident.root_cause.contains(n))
            });
            let least = least_time_to_act(&pattern.action, service, rolls_out);
            let how = match target {
                Some(t) => format!("{}({t})", pattern.action),
                None => pattern.action.clone(),
            };
            (least, how)
        })
        .min_by(|a, b| a.0.total_cmp(&b.0))
}
