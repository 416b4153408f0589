//! Scoring by SRE practice: a pure function of the scenario's ground truth and the
//! session's timeline. Each criterion of the rubric (sre-reference.md) gives points out of
//! a maximum and a sentence that explains the judgement with the timeline's facts and the
//! practice behind it. Authors reweight or disable criteria by id in `incident.weights`.

pub mod competency;
mod content;
pub mod lint;
pub mod measured;
mod postmortem;

pub use postmortem::postmortem_markdown;

use serde::Serialize;

use crate::incident::debrief::Timeline;
use crate::incident::{Command, Priority, Role, Task, View, clock};
use crate::remediation::Remediation;
use crate::scenario::{ActionPattern, Edge, FaultKind, FaultSpec, IncidentSpec, Scenario, Seconds};
use measured::{ChangeEffect, Effect, Measured, Outcomes, Spend};

/// Points a criterion is worth at weight 1.
pub const POINTS: f64 = 10.0;
/// What a game master's hint costs, as a share of the maximum score.
pub const HINT_COST: f64 = 0.05;
/// The highest score, in percent, of a response none of whose changes helped users when
/// there was something to save: process alone does not pass.
pub const NEVER_MITIGATED_CAP: f64 = 40.0;

/// How a criterion came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Verdict {
    Met,
    Partly,
    Failed,
    /// The situation did not call for it: it counts neither way.
    NotApplicable,
    /// Points taken off the total (hints).
    Penalty,
}

/// One line of the score.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Criterion {
    pub id: &'static str,
    pub title: &'static str,
    pub points: f64,
    pub max: f64,
    pub verdict: Verdict,
    /// The judgement, with the timeline's facts.
    pub why: String,
    /// The practice it follows.
    pub practice: &'static str,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Score {
    pub points: f64,
    pub max: f64,
    pub percent: f64,
    /// The incident was prevented: a fix before any user was hurt or anything paged.
    pub prevented: bool,
    pub criteria: Vec<Criterion>,
    /// What each of the responders' changes measurably did, in order.
    pub effects: Vec<ChangeEffect>,
    /// What users got, against doing nothing and the reference (None: not measured).
    pub outcomes: Option<Outcomes>,
}

impl Score {
    /// What the summary, the debrief and the postmortem add to the score line, if anything.
    pub fn outcome(&self) -> Option<&'static str> {
        self.prevented.then_some("prevented: no user was hurt")
    }

    pub fn criterion(&self, id: &str) -> Option<&Criterion> {
        self.criteria.iter().find(|c| c.id == id)
    }
}

/// A judgement: the share of the points earned (None: not applicable) and why.
struct Judgement {
    share: Option<f64>,
    why: String,
}

fn judged(share: f64, why: impl Into<String>) -> Judgement {
    Judgement {
        share: Some(share.clamp(0.0, 1.0)),
        why: why.into(),
    }
}

fn not_applicable(why: impl Into<String>) -> Judgement {
    Judgement {
        share: None,
        why: why.into(),
    }
}

const NEVER_MITIGATED_TITLE: &str = "Nothing you changed helped users";
const HINTS_TITLE: &str = "Hints";
const ESTIMATES_TITLE: &str = "Estimates";

/// The title of a criterion (or penalty line) by its id, for records that keep only the id.
pub fn criterion_title(id: &str) -> &str {
    match id {
        "never_mitigated" => NEVER_MITIGATED_TITLE,
        "hints" => HINTS_TITLE,
        "estimates" => ESTIMATES_TITLE,
        _ => CRITERIA
            .iter()
            .find(|(known, _, _)| *known == id)
            .map_or(id, |(_, title, _)| title),
    }
}

/// Every criterion: id, title, practice, and its rule.
type Rule = fn(&Facts) -> Judgement;
pub const CRITERIA: &[(&str, &str, &str)] = &[
    (
        "acknowledge",
        "Acknowledge the page",
        "Acknowledge within 5 minutes: PagerDuty escalates an unacknowledged page after 5.",
    ),
    (
        "declare",
        "Declare and classify",
        "Declare when users are hurt; if unsure of the severity, pick the higher; do not litigate it mid-incident.",
    ),
    (
        "roles",
        "Roles",
        "Name an incident commander, who coordinates and does not change the system.",
    ),
    (
        "mitigate_first",
        "Mitigation first",
        "Stop the bleeding, restore service, preserve the evidence; root-cause later.",
    ),
    (
        "rollback_first",
        "Roll back first",
        "When a change is the suspect, roll it back first and diagnose afterwards.",
    ),
    (
        "time_to_mitigate",
        "Time to mitigate",
        "Restore service within the scenario's par time from the first page.",
    ),
    (
        "budget",
        "What users got",
        "Users' experience is the measure: the error budget spent and the requests that failed, from doing nothing (none) to the reference response (full). Worth as much as every other criterion together.",
    ),
    (
        "no_harm",
        "No harmful or red-herring changes",
        "Change only what the evidence points at; every change can make it worse.",
    ),
    (
        "delegation",
        "Delegation",
        "Tasks go to a named person with a time box.",
    ),
    (
        "communication",
        "Communication",
        "First update within 5 min of declaring, then at least every 20 min, as CAN reports (conditions, actions, needs).",
    ),
    (
        "evidence",
        "Evidence before destruction",
        "Read the logs or take a dump before restarting what holds the evidence.",
    ),
    (
        "verify",
        "Verify before closing",
        "Resolve only once the SLI is back within objective and the page has cleared.",
    ),
    (
        "symptom_first",
        "Symptom-first diagnosis",
        "Look at symptoms (SLOs, RED) before causes (USE), and do not chase distractions.",
    ),
    (
        "hypothesis",
        "Root-cause hypothesis",
        "Name the root cause from the evidence.",
    ),
    (
        "postmortem",
        "Postmortem",
        "Write a blameless postmortem with owned, typed action items; a P0 item when over 20% of the budget burned.",
    ),
    (
        "budget_policy",
        "Error budget policy",
        "No risky changes during a change freeze, except P0 fixes.",
    ),
    (
        "handoff",
        "Shift handoff",
        "Hand over in writing when the shift changes: what is going on, what was done, what is left for the next person.",
    ),
];

const RULES: &[Rule] = &[
    acknowledge,
    declare,
    roles,
    mitigate_first,
    rollback_first,
    time_to_mitigate,
    budget,
    no_harm,
    delegation,
    communication,
    evidence,
    verify,
    symptom_first,
    hypothesis,
    postmortem,
    budget_policy,
    handoff,
];

/// Scores a session; None when the scenario has no ground truth to score against.
/// `measured` is what the engine measured of it (`session::measure`): each change's effect
/// and what users got against doing nothing and the reference.
pub fn score(scenario: &Scenario, timeline: &Timeline, measured: Measured) -> Option<Score> {
    let truth = scenario.incident.as_ref()?;
    let facts = Facts::new(scenario, truth, timeline, &measured);
    let mut judged = Vec::new();
    for ((id, title, practice), rule) in CRITERIA.iter().zip(RULES) {
        let weight = truth.weights.get(*id).copied().unwrap_or(1.0);
        // A shift without a handoff has nothing to judge it on: left out, as weight 0 is.
        if weight <= 0.0 || (*id == "handoff" && truth.handoff.is_none()) {
            continue;
        }
        judged.push((*id, *title, *practice, weight, rule(&facts)));
    }
    // What users got is worth as much as all the practice together (at weight 1).
    let practice_max: f64 = judged
        .iter()
        .filter(|(id, _, _, _, j)| *id != "budget" && j.share.is_some())
        .map(|(_, _, _, weight, _)| POINTS * weight)
        .sum();
    let mut criteria: Vec<Criterion> = judged
        .into_iter()
        .map(|(id, title, practice, weight, Judgement { share, why })| {
            let max = match (share, id) {
                (None, _) => 0.0,
                (Some(_), "budget") => weight * practice_max.max(POINTS),
                (Some(_), _) => POINTS * weight,
            };
            let share = share.unwrap_or(0.0);
            Criterion {
                id,
                title,
                points: round1(share * max),
                max,
                verdict: match () {
                    _ if max == 0.0 => Verdict::NotApplicable,
                    _ if share >= 0.999 => Verdict::Met,
                    _ if share <= 0.001 => Verdict::Failed,
                    _ => Verdict::Partly,
                },
                why,
                practice,
            }
        })
        .collect();
    let max = criteria.iter().map(|c| c.max).sum::<f64>();
    if let Some(penalty) = hint_penalty(timeline, max) {
        criteria.push(penalty);
    }
    if let Some(penalty) = estimate_penalty(timeline, truth, max) {
        criteria.push(penalty);
    }
    let earned = criteria.iter().map(|c| c.points).sum::<f64>().max(0.0);
    if let Some(cap) = never_mitigated(&facts, earned, max) {
        criteria.push(cap);
    }
    let points = round1(criteria.iter().map(|c| c.points).sum::<f64>().max(0.0));
    Some(Score {
        points,
        max,
        prevented: facts.prevented,
        percent: if max > 0.0 {
            round1(points / max * 100.0)
        } else {
            100.0
        },
        criteria,
        effects: measured.effects,
        outcomes: measured.outcomes,
    })
}

/// Process cannot pass a response that never helped users: when doing nothing hurt them
/// and no change of the responders measurably helped, the score stops at
/// [`NEVER_MITIGATED_CAP`].
fn never_mitigated(f: &Facts, earned: f64, max: f64) -> Option<Criterion> {
    let measured = f.outcomes?;
    let cap = NEVER_MITIGATED_CAP / 100.0 * max;
    if !measured.at_stake()
        || f.prevented
        || f.helped().is_some()
        || measured.response_effect() == Effect::Helpful
        || earned <= cap
    {
        return None;
    }
    Some(Criterion {
        id: "never_mitigated",
        title: NEVER_MITIGATED_TITLE,
        points: -round1(earned - cap),
        max: 0.0,
        verdict: Verdict::Penalty,
        why: format!(
            "Users were hurt and none of your changes measurably helped them: the practice around an incident cannot pass a response that never stopped the bleeding (capped at {NEVER_MITIGATED_CAP:.0}%)."
        ),
        practice: "Stop the bleeding: process serves mitigation, it does not replace it.",
    })
}

/// Hints cost [`HINT_COST`] of the maximum each: an answer given is not one found.
fn hint_penalty(timeline: &Timeline, max: f64) -> Option<Criterion> {
    let hints = timeline.hints();
    if hints.is_empty() {
        return None;
    }
    let when: Vec<String> = hints.iter().map(|(t, _)| clock(*t)).collect();
    Some(Criterion {
        id: "hints",
        title: HINTS_TITLE,
        points: -round1(hints.len() as f64 * HINT_COST * max),
        max: 0.0,
        verdict: Verdict::Penalty,
        why: format!(
            "The game master gave {} hint(s) (at {}), each {:.0}% of the maximum.",
            hints.len(),
            when.join(", "),
            HINT_COST * 100.0
        ),
        practice: "Work from the evidence: at 3 a.m. nobody whispers the answer.",
    })
}

/// Estimates cost what the scenario says each costs (`incident.estimates.cost`), as a share
/// of the maximum: a forecast bought is not one read from the dashboards.
fn estimate_penalty(timeline: &Timeline, truth: &IncidentSpec, max: f64) -> Option<Criterion> {
    let cost = truth.estimates.cost;
    let asked = timeline.estimates.len();
    if asked == 0 || cost <= 0.0 {
        return None;
    }
    let when: Vec<String> = timeline.estimates.iter().map(|e| clock(e.at_s)).collect();
    Some(Criterion {
        id: "estimates",
        title: ESTIMATES_TITLE,
        points: -round1(asked as f64 * cost * max),
        max: 0.0,
        verdict: Verdict::Penalty,
        why: format!(
            "You asked for {asked} budget estimate(s) (at {}), each {:.0}% of the maximum in this scenario.",
            when.join(", "),
            cost * 100.0
        ),
        practice: "Read the burn rate and the dashboards first; a forecast is a tool, not a substitute.",
    })
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// The ground truth and the timeline, with what several rules need worked out once.
struct Facts<'a> {
    truth: &'a IncidentSpec,
    timeline: &'a Timeline,
    root: Vec<&'a FaultSpec>,
    /// Services where only distractions happen: not a root cause's target, and not where an
    /// SLO measures what users feel (looking at a symptom is never a distraction).
    distracting_services: Vec<&'a str>,
    mitigations: Vec<ActionPattern>,
    /// Accepted changes to the fleet: time, who, what.
    changes: Vec<(f64, &'a str, &'a Remediation)>,
    /// What each change measurably did, in the order of `changes` (None: not measured).
    effects: Vec<Option<&'a ChangeEffect>>,
    /// What users got against doing nothing and the reference.
    outcomes: Option<&'a Outcomes>,
    /// Accepted views: time and what.
    looks: Vec<(f64, &'a View)>,
    players: Vec<&'a str>,
    /// The fleet's service names: what an update names when it names what is affected.
    services: Vec<&'a str>,
    /// The people the scenario puts in the chat, who can take a task as players can.
    npcs: Vec<&'a str>,
    /// The first page, or else the impact: when the clock of the response starts.
    alarm_s: Option<f64>,
    /// What started it, for the explanations: "the page" or "the impact".
    alarm: &'static str,
    /// An incident was coming and a fix came first: no user was hurt, nothing paged.
    prevented: bool,
}

impl<'a> Facts<'a> {
    fn new(
        scenario: &'a Scenario,
        truth: &'a IncidentSpec,
        timeline: &'a Timeline,
        measured: &'a Measured,
    ) -> Self {
        let fault = |name: &String| {
            scenario
                .faults
                .iter()
                .find(|f| f.name.as_ref() == Some(name))
        };
        let root: Vec<&FaultSpec> = truth.root_cause.iter().filter_map(fault).collect();
        let mitigations = mitigations(scenario, truth);
        // The game master runs the drill: what they do is not the responders' practice.
        let game_masters = timeline.game_masters();
        let accepted = timeline
            .records
            .iter()
            .filter(move |r| r.accepted() && !game_masters.contains(&r.by.as_str()));
        let changes: Vec<(f64, &str, &Remediation)> = accepted
            .clone()
            .filter_map(|r| r.remediation().map(|m| (r.at_s, r.by.as_str(), m)))
            .collect();
        let effects: Vec<Option<&ChangeEffect>> = (0..changes.len())
            .map(|k| measured.effects.get(k))
            .collect();
        let looks = accepted
            .clone()
            .filter_map(|r| match &r.command {
                Command::Look(view) => Some((r.at_s, view)),
                _ => None,
            })
            .collect();
        let relevant = |service: &str| {
            root.iter().any(|f| service_of(&f.target) == service)
                || scenario.slos.iter().any(|slo| slo.service == service)
        };
        let distracting_services = truth
            .distractions
            .iter()
            .filter_map(fault)
            .map(|f| service_of(&f.target))
            .filter(|s| !relevant(s))
            .collect();
        let prevented = truth.declare
            && timeline.lifecycle.impact_s.is_none()
            && timeline.pages.is_empty()
            && effects
                .iter()
                .any(|e| e.is_some_and(|e| e.effect == Effect::Helpful));
        let mut players: Vec<&str> = accepted.map(|r| r.by.as_str()).collect();
        players.sort_unstable();
        players.dedup();
        Self {
            truth,
            timeline,
            distracting_services,
            root,
            mitigations,
            changes,
            effects,
            outcomes: measured.outcomes.as_ref(),
            looks,
            players,
            services: scenario.services.iter().map(|s| s.name.as_str()).collect(),
            npcs: scenario
                .chat
                .messages
                .iter()
                .map(|m| m.from.as_str())
                .collect(),
            alarm_s: timeline
                .first_page()
                .map(|p| p.opened_s)
                .or(timeline.lifecycle.impact_s),
            alarm: if timeline.first_page().is_some() {
                "the page"
            } else {
                "the impact"
            },
            prevented,
        }
    }

    /// What change `k` measurably did; unmeasured counts as nothing.
    fn effect(&self, k: usize) -> Effect {
        self.effects[k].map_or(Effect::Neutral, |e| e.effect)
    }

    /// The first change that measurably helped users, by index.
    fn helped(&self) -> Option<usize> {
        (0..self.changes.len()).find(|k| self.effect(*k) == Effect::Helpful)
    }

    /// A change and what it did, for the explanations.
    fn told(&self, k: usize) -> String {
        match self.effects[k] {
            Some(effect) => effect.describe(&self.timeline.slos),
            None => {
                let (t, _, r) = self.changes[k];
                format!("{} at {} (not measured)", short(r), clock(t))
            }
        }
    }

    /// Whether doing nothing would have hurt users (unmeasured: assumed so).
    fn at_stake(&self) -> bool {
        self.outcomes.is_none_or(Outcomes::at_stake)
    }

    /// "(Rollback(checkout) would have worked)", from the scenario's list, for the
    /// explanations only: what is judged is what changes did.
    fn would_have_worked(&self) -> String {
        if self.mitigations.is_empty() {
            String::new()
        } else {
            format!(" ({} would have worked)", patterns(&self.mitigations))
        }
    }

    fn is_red_herring(&self, remediation: &Remediation) -> bool {
        self.truth.red_herrings.iter().any(|p| remediation.fits(p))
    }

    /// A change caused it, and undoing the change is possible.
    fn change_caused_it(&self) -> bool {
        self.root.iter().any(|f| f.kind.is_change())
    }

    fn undoes_the_change(&self, remediation: &Remediation) -> bool {
        self.root.iter().any(|f| {
            let target = service_of(&f.target);
            match remediation {
                Remediation::Rollback { service } => service == target,
                Remediation::DisableFlag { service, .. } => {
                    service == target && matches!(f.kind, FaultKind::FeatureFlag { .. })
                }
                _ => false,
            }
        })
    }

    fn since_alarm(&self, t: f64) -> String {
        match self.alarm_s {
            Some(alarm) if t >= alarm => format!("{} after {}", clock(t - alarm), self.alarm),
            Some(alarm) => format!("{} before {}", clock(alarm - t), self.alarm),
            None => format!("at {}", clock(t)),
        }
    }
}

/// A fault's target as a service: the caller of an edge `"a->b"`.
fn service_of(target: &str) -> &str {
    Edge::caller_or_self(target)
}

/// What stops a root cause by its kind, when the author did not list the mitigations.
/// The remediations that stop the bleeding: the author's list, or else what each root
/// cause's kind calls for.
pub fn mitigations(scenario: &Scenario, truth: &IncidentSpec) -> Vec<ActionPattern> {
    if !truth.mitigations.is_empty() {
        return truth.mitigations.clone();
    }
    truth
        .root_cause
        .iter()
        .filter_map(|name| {
            scenario
                .faults
                .iter()
                .find(|f| f.name.as_ref() == Some(name))
        })
        .flat_map(default_mitigations)
        .collect()
}

fn default_mitigations(fault: &FaultSpec) -> Vec<ActionPattern> {
    let on = |action: &str, target: &str| ActionPattern {
        action: action.to_string(),
        target: Some(target.to_string()),
    };
    let any = |action: &str| ActionPattern {
        action: action.to_string(),
        target: None,
    };
    let t = fault.target.as_str();
    match fault.kind {
        FaultKind::Deploy { .. } | FaultKind::ConfigPush { .. } | FaultKind::CrashLoop { .. } => {
            vec![on("Rollback", t), on("RollForward", t)]
        }
        FaultKind::FeatureFlag { .. } => vec![on("DisableFlag", t), on("Rollback", t)],
        FaultKind::DnsFailure => vec![on("FixDns", t)],
        FaultKind::CertExpiry => vec![on("RotateCertificate", t)],
        FaultKind::DiskFill { .. } => vec![on("FreeDisk", t)],
        FaultKind::ReplicationLag { .. } => vec![on("ResyncReplicas", t)],
        FaultKind::CacheFlush => vec![on("WarmCache", t), any("ShedLoad")],
        FaultKind::MemoryLeak { .. } => vec![
            on("RollingRestart", t),
            on("RestartInstance", t),
            on("Rollback", t),
        ],
        FaultKind::TrafficSurge { .. } => vec![any("ShedLoad"), any("ScaleOut")],
        FaultKind::ZoneLoss | FaultKind::Partition => vec![any("DrainZone")],
        FaultKind::Crash { .. } => vec![on("ScaleOut", t), on("RestartInstance", t)],
        FaultKind::SlowQueries { .. } => {
            vec![on("SetPool", t), any("ShedLoad"), any("OpenCircuit")]
        }
        FaultKind::CpuHog { .. }
        | FaultKind::Latency { .. }
        | FaultKind::Errors { .. }
        | FaultKind::NetworkLatency { .. }
        | FaultKind::PacketLoss { .. }
        | FaultKind::ReadinessFailure { .. }
        | FaultKind::FlappingHealthChecks { .. }
        | FaultKind::GcPauses { .. }
        | FaultKind::ClockSkew { .. }
        | FaultKind::IoLatency { .. }
        | FaultKind::HotKey { .. }
        | FaultKind::MissingMetrics
        | FaultKind::AlertStorm
        | FaultKind::ConsumerLag { .. } => Vec::new(),
    }
}

fn acknowledge(f: &Facts) -> Judgement {
    let pages = &f.timeline.pages;
    if pages.is_empty() {
        return not_applicable("No page went out.");
    }
    let mut total = 0.0;
    let mut worst: Option<String> = None;
    for page in pages {
        let share = match page.acknowledged_s {
            Some(t) if t - page.opened_s <= 300.0 => 1.0,
            Some(t) if t - page.opened_s <= 600.0 => 0.5,
            _ => 0.0,
        };
        total += share;
        if share < 1.0 && worst.is_none() {
            worst = Some(match page.acknowledged_s {
                Some(t) => format!(
                    "the {} page waited {} for an acknowledgement",
                    page.alert,
                    clock(t - page.opened_s)
                ),
                None => format!(
                    "the {} page at {} was never acknowledged{}",
                    page.alert,
                    clock(page.opened_s),
                    page.escalated_s
                        .map(|e| format!(" and escalated at {}", clock(e)))
                        .unwrap_or_default()
                ),
            });
        }
    }
    let share = total / pages.len() as f64;
    let grouped = pages.iter().filter(|p| p.grouped).count();
    let joined = if grouped > 0 {
        format!(
            " {grouped} later page(s) joined the incident you already held, covered by that acknowledgement."
        )
    } else {
        String::new()
    };
    let why = match worst {
        None => {
            let first = &pages[0];
            format!(
                "You acknowledged the page {} after it went out; within 5 minutes is the practice.",
                clock(first.acknowledged_s.unwrap_or(first.opened_s) - first.opened_s)
            )
        }
        Some(w) => format!(
            "Of {} page(s), {w}: acknowledge within 5 minutes, or the page escalates and wakes the next person.",
            pages.len()
        ),
    };
    judged(share, format!("{why}{joined}"))
}

fn declare(f: &Facts) -> Judgement {
    let l = &f.timeline.lifecycle;
    let truth = f.truth;
    if f.prevented {
        return judged(
            1.0,
            "Prevented: you fixed it before any user was hurt, so there was no incident to declare.",
        );
    }
    let Some(first) = l.severities.first() else {
        return if truth.declare {
            judged(
                0.0,
                format!(
                    "You never declared an incident; this one called for a {} declaration.",
                    truth.severity
                ),
            )
        } else {
            judged(
                1.0,
                "Nothing here called for an incident, and you did not declare one.",
            )
        };
    };
    if !truth.declare {
        return judged(
            0.5,
            format!(
                "You declared a {} incident at {}, but nothing users felt called for one: a declaration pulls people in.",
                first.severity,
                clock(first.at_s)
            ),
        );
    }
    let mut share: f64 = 1.0;
    let mut notes = vec![format!(
        "You declared {} {}",
        first.severity,
        f.since_alarm(first.at_s)
    )];
    if first.severity.rank() > truth.severity.rank() {
        share -= 0.5;
        notes.push(format!(
            "below its true severity {} (if unsure, pick the higher)",
            truth.severity
        ));
    } else if truth.severity.rank() - first.severity.rank() >= 2 {
        // A notch high is the safe side of "if unsure, pick the higher"; two notches pull in
        // people and executives the incident does not need.
        share -= 0.25;
        notes.push(format!(
            "two or more levels above its true severity {}: a declaration that high pulls in people the incident does not need",
            truth.severity
        ));
    }
    let downgrades = l
        .severities
        .windows(2)
        .filter(|w| w[1].severity.rank() > w[0].severity.rank())
        .filter(|w| l.mitigated_s.is_none_or(|m| w[1].at_s < m))
        .count();
    if downgrades > 0 {
        share -= 0.5;
        notes.push(
            "and downgraded it while still mitigating (do not litigate severity mid-incident)"
                .to_string(),
        );
    }
    judged(share, format!("{}.", notes.join(", ")))
}

fn roles(f: &Facts) -> Judgement {
    if (!f.truth.declare || f.prevented) && f.timeline.lifecycle.declared_s.is_none() {
        return not_applicable("No incident, so no incident roles.");
    }
    let records = &f.timeline.records;
    let commanders: Vec<&str> = records
        .iter()
        .filter(|r| r.accepted() && r.command == Command::TakeRole(Role::IncidentCommander))
        .map(|r| r.by.as_str())
        .collect();
    let Some(ic) = commanders.last() else {
        return judged(
            0.0,
            "Nobody took incident command: someone must coordinate, decide and keep the others informed.",
        );
    };
    if f.players.len() < 2 {
        return judged(
            1.0,
            format!(
                "{ic} took incident command. Playing alone, you hold every role; in a team the commander would leave the changes to ops."
            ),
        );
    }
    let ic_changes = f
        .changes
        .iter()
        .filter(|(_, by, _)| commanders.contains(by))
        .count();
    if ic_changes > 0 {
        judged(
            0.5,
            format!(
                "{ic} was incident commander and made {ic_changes} change(s) to the system: the commander coordinates; ops changes the system."
            ),
        )
    } else {
        judged(
            1.0,
            format!("{ic} took incident command and left the changes to others."),
        )
    }
}

fn mitigate_first(f: &Facts) -> Judgement {
    if f.root.is_empty() {
        return not_applicable("There was nothing to mitigate.");
    }
    if !f.at_stake() {
        return not_applicable(
            "Doing nothing would have hurt no user within the shift: there was no bleeding to stop.",
        );
    }
    let would = f.would_have_worked();
    let Some((t, _, _)) = f.changes.first() else {
        return judged(
            0.0,
            format!("You changed nothing: users kept failing{would}."),
        );
    };
    match f.helped() {
        Some(0) => {
            let burning = f
                .timeline
                .vitals_at(*t)
                .is_some_and(|v| v.worst_burn_5m() > 1.0);
            let when = if burning {
                "while the budget was burning"
            } else {
                "before the budget started burning"
            };
            judged(
                1.0,
                format!(
                    "Your first change, {} {when}, measurably helped users: {}.",
                    f.since_alarm(*t),
                    f.told(0)
                ),
            )
        }
        Some(k) => judged(
            0.4,
            format!(
                "Your first change did not help users ({}); the first that did came {}: {}. Stop the bleeding first.",
                f.told(0),
                if f.changes[k].0 > *t {
                    format!("{} later", clock(f.changes[k].0 - t))
                } else {
                    "with it".to_string()
                },
                f.told(k)
            ),
        ),
        None if f
            .outcomes
            .is_some_and(|o| o.response_effect() == Effect::Helpful) =>
        {
            judged(
                0.7,
                format!(
                    "No one of your {} change(s) made a measurable difference alone, but together they helped users (first: {}): fix with one change you can tell worked.",
                    f.changes.len(),
                    f.told(0)
                ),
            )
        }
        None => judged(
            0.0,
            format!(
                "None of your {} change(s) measurably helped users (first: {}){would}.",
                f.changes.len(),
                f.told(0)
            ),
        ),
    }
}

fn rollback_first(f: &Facts) -> Judgement {
    if !f.change_caused_it() {
        return not_applicable("No change caused this incident.");
    }
    let rollback = f
        .changes
        .iter()
        .position(|(_, _, r)| f.undoes_the_change(r));
    match rollback {
        Some(0) => {
            let (t, _, r) = f.changes[0];
            judged(
                1.0,
                format!(
                    "You rolled back ({}) {}; rolling back first is the practice when a change is the suspect.",
                    short(r),
                    f.since_alarm(t)
                ),
            )
        }
        Some(k) => {
            let (t, _, _) = f.changes[k];
            judged(
                0.5,
                format!(
                    "You rolled back {}, after {k} other change(s); when a change is the suspect, roll it back first and diagnose afterwards.",
                    f.since_alarm(t)
                ),
            )
        }
        None => judged(
            0.0,
            "A change caused this incident and you never rolled it back: rolling back first is the practice when a change is the suspect.",
        ),
    }
}

fn time_to_mitigate(f: &Facts) -> Judgement {
    let l = &f.timeline.lifecycle;
    let (Some(alarm), Some(_)) = (f.alarm_s, l.impact_s) else {
        return not_applicable("Users were never hurt.");
    };
    let par = f.truth.par_mitigate.get();
    let Some(mitigated) = l.mitigated_s else {
        return judged(
            0.0,
            format!(
                "The SLIs never came back within objective (par: {} from {}).",
                clock(par),
                f.alarm
            ),
        );
    };
    let took = (mitigated - alarm).max(0.0);
    let share = if took <= par {
        1.0
    } else {
        1.0 - (took - par) / (2.0 * par)
    };
    judged(
        share,
        format!(
            "Service was restored {} after {}; par is {}{}.",
            clock(took),
            f.alarm,
            clock(par),
            if took <= par {
                ""
            } else {
                " (no credit past three times par)"
            }
        ),
    )
}

fn budget(f: &Facts) -> Judgement {
    let Some(o) = f.outcomes else {
        return not_applicable(
            "What users got was not measured: this timeline was scored without its simulation.",
        );
    };
    let said = |spend: &Spend| {
        format!(
            "{:.2}% of the budget, {} bad requests",
            spend.budget(&o.budget_events) * 100.0,
            measured::thousands(spend.total())
        )
    };
    if !o.at_stake() && o.response_effect() != Effect::Harmful {
        return not_applicable(format!(
            "Nothing was at stake for users: doing nothing spent {}, and neither did you make it worse ({}).",
            said(&o.nothing),
            said(&o.yours)
        ));
    }
    let share = o.share();
    judged(
        share,
        format!(
            "Users got {}; doing nothing, {}; {}, {}: {:.0}% of the way from doing nothing to the reference.",
            said(&o.yours),
            said(&o.nothing),
            o.reference_is,
            said(&o.reference),
            share * 100.0
        ),
    )
}

fn no_harm(f: &Facts) -> Judgement {
    let quiet = f.root.is_empty();
    // A harmful change counts 1; a red herring or an uncalled-for change that did not
    // help counts half: a change without evidence is a risk even when it is lucky.
    let mut harm = 0.0;
    let mut bad: Vec<String> = Vec::new();
    for (k, (_, _, r)) in f.changes.iter().enumerate() {
        match f.effect(k) {
            Effect::Harmful => {
                harm += 1.0;
                bad.push(f.told(k));
            }
            Effect::Helpful => {}
            // Nothing needed changing: every change was a risk taken for nothing.
            Effect::Neutral if quiet => {
                harm += 1.0;
                bad.push(format!("{} (nothing needed changing)", f.told(k)));
            }
            Effect::Neutral if f.is_red_herring(r) => {
                harm += 0.5;
                bad.push(format!("{} (a red herring)", f.told(k)));
            }
            Effect::Neutral => {}
        }
    }
    let share = 1.0 - 0.5 * harm;
    if bad.is_empty() {
        judged(
            share,
            if f.changes.is_empty() {
                "You made no change that did harm.".to_string()
            } else {
                format!(
                    "None of your {} change(s) measurably hurt users or chased a red herring.",
                    f.changes.len()
                )
            },
        )
    } else {
        judged(
            share,
            format!(
                "Harmful or unsanctioned: {}. Change only what the evidence points at.",
                bad.join("; ")
            ),
        )
    }
}

/// The handoff note, judged for what the next on-call needs: what is going on (a service,
/// an SLO or the budget named), what was done (the changes made, by target or kind, or that
/// none was), and what is left (a next step). Written within 15 minutes before the change of
/// shift, or up to 5 after; later counts half.
fn handoff(f: &Facts) -> Judgement {
    let Some(at) = f.truth.handoff.map(|t| t.get()) else {
        return not_applicable("The shift has no handoff.");
    };
    let note = f.timeline.records.iter().find_map(|r| match &r.command {
        Command::Handoff { note } if r.accepted() && r.at_s >= at - 900.0 => Some((r.at_s, note)),
        _ => None,
    });
    let Some((written, note)) = note else {
        return judged(
            0.0,
            format!(
                "The shift changed hands at {} and you left no handoff note: the next on-call starts blind.",
                Seconds(at)
            ),
        );
    };
    let done_before: Vec<&Remediation> = f
        .changes
        .iter()
        .filter(|(t, _, _)| *t <= written)
        .map(|(_, _, r)| *r)
        .collect();
    let missing = content::handoff_gaps(note, &f.services, &f.timeline.slos, &done_before);
    let covered = 3 - missing.len();
    let late = written > at + 300.0;
    let share = covered as f64 / 3.0 * if late { 0.5 } else { 1.0 };
    let when = if late {
        format!("late, {} after the change of shift", Seconds(written - at))
    } else {
        format!("at {}", Seconds(written))
    };
    let why = if missing.is_empty() {
        format!(
            "Your handoff, written {when}, says what is going on, what was done and what is left."
        )
    } else {
        format!(
            "Your handoff, written {when}, does not say {}.",
            missing.join(", nor ")
        )
    };
    judged(share, why)
}

fn delegation(f: &Facts) -> Judgement {
    // A task counts when its owner is at the table (or someone the scenario puts there).
    let (tasks, strangers): (Vec<&Task>, Vec<&Task>) =
        f.timeline.tasks.iter().partition(|t| {
            f.players.contains(&t.owner.as_str()) || f.npcs.contains(&t.owner.as_str())
        });
    let nobody = match strangers.first() {
        Some(task) => format!(
            " (\"{}\" went to {}, who is not at the table)",
            task.task, task.owner
        ),
        None => String::new(),
    };
    if f.players.len() < 2 && tasks.is_empty() {
        return not_applicable(format!(
            "Playing alone, there was nobody to delegate to{nobody}."
        ));
    }
    let ic = f
        .timeline
        .records
        .iter()
        .rev()
        .find(|r| r.accepted() && r.command == Command::TakeRole(Role::IncidentCommander))
        .map(|r| r.by.as_str());
    let others: Vec<&str> = f
        .players
        .iter()
        .copied()
        .filter(|p| Some(*p) != ic)
        .collect();
    if others.is_empty() {
        return judged(
            if tasks.is_empty() { 0.0 } else { 1.0 },
            format!(
                "{} task(s) assigned with owners and time boxes{nobody}.",
                tasks.len()
            ),
        );
    }
    let tasked = others
        .iter()
        .filter(|p| tasks.iter().any(|t| t.owner == **p))
        .count();
    judged(
        tasked as f64 / others.len() as f64,
        format!(
            "{tasked} of {} responder(s) besides the commander got a task with a time box{nobody}; tasks go to a named person with a time box.",
            others.len()
        ),
    )
}

fn communication(f: &Facts) -> Judgement {
    let l = &f.timeline.lifecycle;
    let Some(start) = l
        .declared_s
        .or(if f.truth.declare { f.alarm_s } else { None })
    else {
        return not_applicable("No incident to communicate about.");
    };
    // Each external update, with what its content lacks. One that says nothing is no update:
    // it neither starts nor keeps the cadence.
    let updates: Vec<(f64, Option<String>)> = f
        .timeline
        .records
        .iter()
        .filter(|r| r.accepted())
        .filter_map(|r| match &r.command {
            Command::Update {
                audience: crate::incident::Audience::External,
                conditions,
                actions,
                needs,
            } => Some((
                r.at_s,
                content::update_problem((conditions, actions, needs), &f.services),
            )),
            _ => None,
        })
        .collect();
    let lacking = match updates.iter().find_map(|u| u.1.as_ref()) {
        Some(problem) => format!(" ({problem})"),
        None => String::new(),
    };
    let Some(&(first, _)) = updates.iter().find(|u| u.1.is_none()) else {
        return judged(
            0.0,
            format!(
                "You posted no external status update that said anything{lacking}: stakeholders heard nothing. The first is due within 5 minutes of declaring, then every 20."
            ),
        );
    };
    let first_on_time = first - start <= 300.0;
    let end = l.resolved_s.unwrap_or(f.timeline.end_s).min(start + 7200.0);
    let mut times: Vec<f64> = updates
        .iter()
        .filter(|u| u.1.is_none())
        .map(|u| u.0)
        .filter(|t| *t <= end)
        .collect();
    times.push(end);
    let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    let late = gaps.iter().filter(|g| **g > 1200.0).count();
    let cadence = if gaps.is_empty() {
        1.0
    } else {
        1.0 - late as f64 / gaps.len() as f64
    };
    let can = updates.iter().filter(|u| u.1.is_none()).count() as f64 / updates.len() as f64;
    let share = 0.4 * f64::from(u8::from(first_on_time)) + 0.4 * cadence + 0.2 * can;
    judged(
        share,
        format!(
            "First external update {} after declaring ({}); {} of {} gap(s) over 20 minutes; {:.0}% of updates said what users see, of which service or function, and what is being done{lacking}.",
            clock(first - start),
            if first_on_time {
                "on time"
            } else {
                "due within 5 minutes"
            },
            late,
            gaps.len(),
            can * 100.0
        ),
    )
}

fn evidence(f: &Facts) -> Judgement {
    let destructive: Vec<&(f64, &str, &Remediation)> =
        f.changes.iter().filter(|c| c.2.is_destructive()).collect();
    if destructive.is_empty() {
        return not_applicable("You destroyed no evidence: no restarts.");
    }
    let preserved = destructive
        .iter()
        .filter(|(t, _, r)| {
            let service = r.target();
            f.looks.iter().any(|(at, v)| {
                at <= t && v.preserves_evidence() && v.service() == Some(service.as_str())
            }) || f.changes.iter().any(|(at, _, c)| {
                at <= t
                    && matches!(c, Remediation::EjectInstance { service: s, .. } if *s == service)
            })
        })
        .count();
    let (t, _, r) = destructive[0];
    judged(
        preserved as f64 / destructive.len() as f64,
        format!(
            "{preserved} of {} restart(s) came after reading the logs or traces of what they killed (first: {} at {}). Preserve the evidence, without delaying mitigation.",
            destructive.len(),
            short(r),
            clock(*t)
        ),
    )
}

fn verify(f: &Facts) -> Judgement {
    let l = &f.timeline.lifecycle;
    if (!f.truth.declare || f.prevented) && l.declared_s.is_none() && l.impact_s.is_none() {
        return not_applicable(if f.prevented {
            "Prevented: nothing broke, so there was nothing to close."
        } else {
            "There was no incident to close."
        });
    }
    let falses = l.false_closes.len();
    match (l.resolved_s, falses) {
        (Some(t), 0) => judged(
            1.0,
            format!(
                "You resolved at {} with the SLIs back within objective and no page open.",
                clock(t)
            ),
        ),
        (Some(t), n) => judged(
            0.5,
            format!(
                "You closed too early {n} time(s) ({}) before resolving for good at {}.",
                l.false_closes[0].reason,
                clock(t)
            ),
        ),
        (None, 0) => judged(0.0, "The incident was never resolved."),
        (None, _) => judged(
            0.0,
            format!(
                "You resolved while {}, and the incident reopened: verify before closing.",
                l.false_closes[0].reason
            ),
        ),
    }
}

fn symptom_first(f: &Facts) -> Judgement {
    let Some((_, first)) = f.looks.first() else {
        return judged(
            0.0,
            "You looked at no dashboard, log or trace: act on evidence.",
        );
    };
    let distracted = f
        .looks
        .iter()
        .filter(|(_, v)| {
            v.service()
                .is_some_and(|s| f.distracting_services.contains(&s))
        })
        .count();
    let ratio = distracted as f64 / f.looks.len() as f64;
    // Before users are hurt there is no symptom yet: reading the resource's trend (the disk
    // filling, the certificate's countdown) is how an incident is seen coming.
    let ahead = f.prevented && !first.is_symptom();
    let mut share = if first.is_symptom() || ahead {
        0.6
    } else {
        0.0
    };
    share += if ratio <= 0.25 {
        0.4
    } else if ratio <= 0.5 {
        0.2
    } else {
        0.0
    };
    judged(
        share,
        format!(
            "Your first look was {} ({}); {distracted} of {} look(s) went to distractions.",
            ron::to_string(first).unwrap_or_default(),
            if first.is_symptom() {
                "a symptom: good"
            } else if ahead {
                "a cause, read ahead of any symptom: that is how it was prevented"
            } else {
                "a cause: start from what users feel (SLOs, RED)"
            },
            f.looks.len()
        ),
    )
}

fn hypothesis(f: &Facts) -> Judgement {
    if f.root.is_empty() {
        return not_applicable("There was no root cause to find.");
    }
    let stated: Vec<(f64, &str, &str)> = f
        .timeline
        .records
        .iter()
        .filter(|r| r.accepted())
        .filter_map(|r| match &r.command {
            Command::Hypothesis { fault, target, .. } => {
                Some((r.at_s, fault.as_str(), target.as_str()))
            }
            _ => None,
        })
        .collect();
    // A cause: a fault kind on a target. Two faults of one kind on one target (a burst and
    // its re-run) are one cause to name.
    type Cause<'c> = (&'c str, &'c str);
    let mut causes: Vec<Cause> = Vec::new();
    for r in &f.root {
        let cause = (r.kind.label(), r.target.as_str());
        if !causes.contains(&cause) {
            causes.push(cause);
        }
    }
    let names = |cause: &Cause, fault: &str, target: &str| {
        cause.0 == fault
            && (cause.1 == target
                || Edge::parse(cause.1)
                    .is_some_and(|edge| edge.from == target || edge.to == target))
    };
    let label = |list: &[&Cause]| {
        list.iter()
            .map(|(kind, target)| format!("{kind} on {target}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (found, missed): (Vec<&Cause>, Vec<&Cause>) = causes.iter().partition(|cause| {
        stated
            .iter()
            .any(|(_, fault, target)| names(cause, fault, target))
    });
    let wrong = stated
        .iter()
        .filter(|(_, fault, target)| !causes.iter().any(|c| names(c, fault, target)))
        .count();
    let truth = label(&causes.iter().collect::<Vec<_>>());
    if stated.is_empty() {
        return judged(
            0.0,
            format!("You stated no hypothesis; the root cause was {truth}."),
        );
    }
    if found.is_empty() {
        return judged(
            0.0,
            format!("Your hypotheses missed; the root cause was {truth}."),
        );
    }
    let first_right = stated
        .iter()
        .position(|(_, fault, target)| causes.iter().any(|c| names(c, fault, target)));
    match (missed.is_empty(), wrong) {
        (true, 0) if causes.len() == 1 => judged(
            1.0,
            format!(
                "Your hypothesis at {} was right: {truth}.",
                clock(stated[first_right.unwrap_or(0)].0)
            ),
        ),
        (true, 0) => judged(
            1.0,
            format!("Your hypotheses named every root cause: {truth}."),
        ),
        (true, k) => judged(
            0.6,
            format!("You got to the root cause ({truth}) after {k} wrong hypothesis(es)."),
        ),
        (false, k) => judged(
            (if k == 0 { 0.6 } else { 0.4 }) * found.len() as f64 / causes.len() as f64,
            format!(
                "You named {} of {} root causes ({}) and missed {}: a second cause can hide behind the first.",
                found.len(),
                causes.len(),
                label(&found),
                label(&missed)
            ),
        ),
    }
}

fn postmortem(f: &Facts) -> Judgement {
    let l = &f.timeline.lifecycle;
    let near_miss = f.prevented || !f.truth.declare;
    if near_miss && l.declared_s.is_none() && f.timeline.postmortem.is_none() {
        return not_applicable(if f.prevented {
            "Prevented: a near miss needs no postmortem (a near-miss review is welcome)."
        } else {
            "No incident, no postmortem."
        });
    }
    let Some(pm) = &f.timeline.postmortem else {
        return judged(
            0.0,
            "You wrote no postmortem: skipping it is an anti-pattern, and the lessons are lost.",
        );
    };
    let fields = [
        ("title", !pm.title.trim().is_empty()),
        ("summary", !pm.summary.trim().is_empty()),
        ("impact", !pm.impact.trim().is_empty()),
        ("root causes", !pm.root_causes.trim().is_empty()),
        ("trigger", !pm.trigger.trim().is_empty()),
        ("resolution", !pm.resolution.trim().is_empty()),
        ("detection", !pm.detection.trim().is_empty()),
        ("action items", !pm.action_items.is_empty()),
        ("what went well", !pm.went_well.trim().is_empty()),
        ("what went wrong", !pm.went_wrong.trim().is_empty()),
        ("where we got lucky", !pm.got_lucky.trim().is_empty()),
    ];
    let missing: Vec<&str> = fields
        .iter()
        .filter(|(_, ok)| !ok)
        .map(|(n, _)| *n)
        .collect();
    let mut share = 1.0 - missing.len() as f64 / fields.len() as f64;
    let mut notes = vec![if missing.is_empty() {
        "Every field of the template is filled".to_string()
    } else {
        format!("Missing: {}", missing.join(", "))
    }];
    let text = [
        &pm.summary,
        &pm.impact,
        &pm.root_causes,
        &pm.trigger,
        &pm.resolution,
        &pm.detection,
        &pm.went_well,
        &pm.went_wrong,
        &pm.got_lucky,
    ]
    .map(|s| s.trim())
    .join("\n");
    // The people at the table and the authors; the solo player's seat name is no person.
    let people: Vec<&str> = f
        .players
        .iter()
        .copied()
        .chain(pm.authors.iter().map(String::as_str))
        .filter(|p| *p != crate::incident::SOLO_PLAYER)
        .collect();
    if let Some(blame) = content::blame(&text, &people) {
        share -= 0.25;
        notes.push(format!("it is not blameless {blame}"));
    }
    let spent = f.timeline.incident_budget_spent();
    if let Some(wrong) = content::wrong_budget_figure(&text, spent) {
        share -= 0.25;
        notes.push(format!("a number is wrong: {wrong}"));
    }
    if spent > 0.2 && !pm.action_items.iter().any(|a| a.priority == Priority::P0) {
        share -= 0.25;
        notes.push(format!(
            "{:.0}% of the budget burned and no P0 action item",
            spent * 100.0
        ));
    }
    judged(share, format!("{}.", notes.join("; ")))
}

fn budget_policy(f: &Facts) -> Judgement {
    let frozen = f
        .timeline
        .vitals
        .iter()
        .any(|v| v.budget_left.iter().any(|b| *b <= 0.0));
    let violations: Vec<String> = f
        .timeline
        .applied
        .iter()
        .filter(|a| a.violates_freeze)
        .map(|a| format!("{} at {}", a.action, clock(a.at_s)))
        .collect();
    if !frozen && violations.is_empty() {
        return not_applicable("No error budget ran out: no change freeze.");
    }
    let share = match violations.len() {
        0 => {
            return judged(
                1.0,
                "A budget ran out and you made no risky change during the freeze.",
            );
        }
        1 => 0.5,
        _ => 0.0,
    };
    judged(
        share,
        format!(
            "During the change freeze you made: {}. Only P0 fixes belong in a freeze.",
            violations.join("; ")
        ),
    )
}

#[cfg(test)]
mod tests;

/// A change as the debrief names it: "Rollback(checkout)".
pub fn short(r: &Remediation) -> String {
    format!("{}({})", r.label(), r.target())
}

/// Remediation patterns for people: "Rollback(checkout) or ShedLoad".
pub fn patterns(list: &[ActionPattern]) -> String {
    list.iter()
        .map(|p| match &p.target {
            Some(t) => format!("{}({t})", p.action),
            None => p.action.clone(),
        })
        .collect::<Vec<_>>()
        .join(" or ")
}
