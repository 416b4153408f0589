//! The debrief: the incident's timeline (faults, alerts, pages, commands, updates,
//! recoveries) gathered from a finished simulation, and the postmortem draft in Markdown
//! following the Google SRE book's template, pre-filled from that timeline and from the
//! responders' own postmortem.

use std::fmt::Write;

use serde::Serialize;

use super::stakeholders::Message;
use super::{Command, Incident, Lifecycle, Postmortem, Record, Role, Task, Vitals, clock};
use crate::faults::FaultRecord;
use crate::remediation::{Applied, Remediation};
use crate::scenario::Scenario;
use crate::sim::Simulation;
use crate::slo::{Alert, Page};

/// A page as the debrief tells it: which alert, and what happened to it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PageFact {
    pub alert: String,
    pub service: String,
    pub opened_s: f64,
    pub acknowledged_s: Option<f64>,
    pub escalated_s: Option<f64>,
    pub resolved_s: Option<f64>,
}

/// An alert firing, from an SLO or a threshold rule.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AlertFact {
    pub alert: String,
    pub severity: String,
    /// The SLO row that fired ("1h/5m x14.4"), or the threshold rule.
    pub row: String,
    pub fired_s: f64,
    pub cleared_s: Option<f64>,
}

/// Everything that happened in a session that scoring and the debrief look at.
#[derive(Clone, Debug, Serialize)]
pub struct Timeline {
    pub end_s: f64,
    pub lifecycle: Lifecycle,
    pub records: Vec<Record>,
    pub pages: Vec<PageFact>,
    pub alerts: Vec<AlertFact>,
    pub faults: Vec<FaultRecord>,
    pub tasks: Vec<Task>,
    pub chat: Vec<Message>,
    pub postmortem: Option<Postmortem>,
    /// Remediations as they took effect, with the change freeze flag.
    pub applied: Vec<Applied>,
    /// SLO names, in the order of the vitals' columns.
    pub slos: Vec<String>,
    #[serde(skip)]
    pub vitals: Vec<Vitals>,
}

impl Timeline {
    /// Gathers the timeline of a simulation that has run.
    pub fn of(sim: &Simulation) -> Self {
        let incident: &Incident = sim.incident();
        let mut pages = Vec::new();
        let mut alerts = Vec::new();
        let mut gather =
            |name: &str, service: &str, their_pages: &[Page], their_alerts: &[Alert]| {
                pages.extend(their_pages.iter().map(|p| PageFact {
                    alert: name.to_string(),
                    service: service.to_string(),
                    opened_s: p.opened_s,
                    acknowledged_s: p.acknowledged_s,
                    escalated_s: p.escalated_s,
                    resolved_s: p.resolved_s,
                }));
                alerts.extend(their_alerts.iter().map(|a| AlertFact {
                    alert: name.to_string(),
                    severity: format!("{:?}", a.severity),
                    row: a.row.clone(),
                    fired_s: a.fired_s,
                    cleared_s: a.cleared_s,
                }));
            };
        for slo in sim.slos() {
            // The report's alerts: those a faster one inhibited are left out.
            let report = slo.report(&slo.spec.service);
            gather(
                &slo.spec.name,
                &slo.spec.service,
                &report.pages,
                &report.alerts,
            );
        }
        for rule in sim.threshold_alerts() {
            gather(
                &rule.spec.name,
                &rule.spec.service,
                &rule.pager.pages,
                &rule.alerts,
            );
        }
        pages.sort_by(|a, b| a.opened_s.total_cmp(&b.opened_s));
        alerts.sort_by(|a, b| a.fired_s.total_cmp(&b.fired_s));
        let mut chat = incident.chat.clone();
        chat.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
        Self {
            end_s: sim.clock().now(),
            lifecycle: incident.lifecycle.clone(),
            records: incident.records.clone(),
            pages,
            alerts,
            faults: sim.faults().records(),
            tasks: incident.tasks.clone(),
            chat,
            postmortem: incident.postmortem.clone(),
            applied: sim.remediations().applied.clone(),
            slos: sim.slos().iter().map(|s| s.spec.name.clone()).collect(),
            vitals: incident.vitals.clone(),
        }
    }

    /// The first page of the session.
    pub fn first_page(&self) -> Option<&PageFact> {
        self.pages.first()
    }

    /// The vital signs at `t` (the last sample at or before it).
    pub fn vitals_at(&self, t: f64) -> Option<&Vitals> {
        let i = self.vitals.partition_point(|v| v.t <= t + 1e-9);
        self.vitals.get(i.checked_sub(1)?)
    }

    /// The session's events in time order, one line each, for the debrief.
    pub fn events(&self) -> Vec<(f64, String)> {
        let mut events: Vec<(f64, String)> = Vec::new();
        for fault in &self.faults {
            if let Some(t) = fault.started_s {
                events.push((t, format!("fault starts: {} ({})", fault.name, fault.kind)));
            }
            // A one-shot fault (a deploy, a crash) ends as it starts: its effects stay.
            if let Some(t) = fault.ended_s.filter(|t| Some(*t) != fault.started_s) {
                events.push((t, format!("fault ends: {}", fault.name)));
            }
        }
        let l = &self.lifecycle;
        if let Some(t) = l.impact_s {
            events.push((t, "impact: an SLI breaches its objective".to_string()));
        }
        for alert in &self.alerts {
            events.push((
                alert.fired_s,
                format!(
                    "{} alert fires: {} {}",
                    alert.severity, alert.alert, alert.row
                ),
            ));
        }
        for page in &self.pages {
            events.push((page.opened_s, format!("page: {}", page.alert)));
            if let Some(t) = page.escalated_s {
                events.push((
                    t,
                    format!("page escalated (unacknowledged): {}", page.alert),
                ));
            }
            if let Some(t) = page.resolved_s {
                events.push((t, format!("page clears: {}", page.alert)));
            }
        }
        for record in &self.records {
            let what = describe(&record.command);
            let line = match &record.refused {
                None => format!("{}: {what}", record.by),
                Some(why) => format!("{}: {what} (refused: {why})", record.by),
            };
            events.push((record.at_s, line));
        }
        for message in &self.chat {
            events.push((
                message.at_s,
                format!("chat, {}: {}", message.from, message.text),
            ));
        }
        if let Some(t) = l.mitigated_s {
            events.push((
                t,
                "mitigated: the SLIs are back within objective".to_string(),
            ));
        }
        for t in &l.relapses_s {
            events.push((*t, "relapse: an SLI breaches again".to_string()));
        }
        for close in &l.false_closes {
            events.push((close.at_s, format!("false close: {}", close.reason)));
        }
        for t in &l.reopened_s {
            events.push((*t, "incident reopened".to_string()));
        }
        // Stable: same-time events keep the order they were gathered in.
        events.sort_by(|a, b| a.0.total_cmp(&b.0));
        events
    }

    /// The share of budget the incident burned: from impact to resolution (or the end), the
    /// worst SLO; 0 when nothing breached.
    pub fn incident_budget_spent(&self) -> f64 {
        let l = &self.lifecycle;
        l.impact_s.map_or(0.0, |from| {
            self.budget_spent(from, l.resolved_s.unwrap_or(self.end_s))
        })
    }

    /// Every responder who issued a command, in name order (the game master runs the drill
    /// and is not one of them).
    pub fn players(&self) -> Vec<&str> {
        let game_masters = self.game_masters();
        let mut players: Vec<&str> = self
            .records
            .iter()
            .map(|r| r.by.as_str())
            .filter(|by| !game_masters.contains(by))
            .collect();
        players.sort_unstable();
        players.dedup();
        players
    }

    /// Who took the game master's seat.
    pub fn game_masters(&self) -> Vec<&str> {
        self.records
            .iter()
            .filter(|r| r.accepted() && r.command == Command::TakeRole(Role::GameMaster))
            .map(|r| r.by.as_str())
            .collect()
    }

    /// The hints the game master gave: when, and what.
    pub fn hints(&self) -> Vec<(f64, &str)> {
        self.records
            .iter()
            .filter(|r| r.accepted())
            .filter_map(|r| match &r.command {
                Command::Hint { text } => Some((r.at_s, text.as_str())),
                _ => None,
            })
            .collect()
    }

    /// The share of each SLO's budget spent from `from` to `to`, the largest.
    pub fn budget_spent(&self, from: f64, to: f64) -> f64 {
        let (Some(a), Some(b)) = (
            self.vitals_at(from).or(self.vitals.first()),
            self.vitals_at(to),
        ) else {
            return 0.0;
        };
        a.budget_left
            .iter()
            .zip(&b.budget_left)
            .map(|(before, after)| before - after)
            .fold(0.0, f64::max)
    }
}

/// A command in words, for the timeline.
pub fn describe(command: &Command) -> String {
    match command {
        Command::Acknowledge { alert } => format!("acknowledges the page of {alert}"),
        Command::Look(view) => format!("looks at {}", ron::to_string(view).unwrap_or_default()),
        Command::Declare { severity } => format!("declares a {severity} incident"),
        Command::TakeRole(role) => format!("takes the role {role:?}"),
        Command::Assign {
            task,
            owner,
            time_box,
        } => format!("assigns \"{task}\" to {owner} ({time_box})"),
        Command::Update {
            audience,
            conditions,
            ..
        } => format!("posts a {audience:?} update: {conditions}"),
        Command::Apply(remediation) => format!("applies {}", remediation.to_ron()),
        Command::Hypothesis { fault, target, .. } => {
            format!("suspects {fault} on {target}")
        }
        Command::Escalate { service } => format!("pages the {service} expert"),
        Command::Mitigated => "says the incident is mitigated".to_string(),
        Command::Resolve => "resolves the incident".to_string(),
        Command::Postmortem(pm) => format!("writes the postmortem \"{}\"", pm.title),
        Command::Inject {
            kind,
            target,
            duration,
            ..
        } => format!(
            "injects {} on {target}{}",
            ron::to_string(kind).unwrap_or_default(),
            duration.map_or(String::new(), |d| format!(" for {d}"))
        ),
        Command::Say { from, text } => format!("speaks as {from}: \"{text}\""),
        Command::Hint { text } => format!("gives a hint: \"{text}\""),
        Command::Pause => "pauses the shift".to_string(),
        Command::Resume => "resumes the shift".to_string(),
        Command::EndShift => "ends the shift".to_string(),
    }
}

/// The postmortem draft in Markdown: the Google template, the responders' own fields
/// where they wrote them, facts from the timeline elsewhere (marked as drafts to review).
pub fn postmortem_markdown(
    scenario: &Scenario,
    timeline: &Timeline,
    score: Option<&crate::scoring::Score>,
) -> String {
    let own = timeline.postmortem.clone().unwrap_or_default();
    let or_draft = |text: &str, draft: String| {
        if text.trim().is_empty() {
            format!("_Draft from the timeline, to review:_ {draft}")
        } else {
            text.trim().to_string()
        }
    };
    let l = &timeline.lifecycle;
    let first_page = timeline.first_page();
    let mut md = String::new();
    let title = if own.title.trim().is_empty() {
        format!("Incident in {}", scenario.name)
    } else {
        own.title.trim().to_string()
    };
    let _ = writeln!(md, "# Postmortem: {title}\n");
    let _ = writeln!(
        md,
        "- **Date:** simulated session of scenario `{}`, seed {}",
        scenario.name, scenario.seed
    );
    let authors = if own.authors.is_empty() {
        timeline.players().join(", ")
    } else {
        own.authors.join(", ")
    };
    let _ = writeln!(md, "- **Authors:** {authors}");
    let status = if l.resolved_s.is_some() {
        "resolved; action items open"
    } else {
        "unresolved at the end of the session"
    };
    let _ = writeln!(md, "- **Status:** {status}");
    if let Some(severity) = l.severity() {
        let _ = writeln!(md, "- **Severity:** {severity}");
    }
    let spent = timeline.incident_budget_spent();
    let impact_draft = match (l.impact_s, l.mitigated_s) {
        (Some(from), Some(to)) => format!(
            "SLIs out of objective from {} to {}; {:.1}% of the error budget spent.",
            clock(from),
            clock(to),
            spent * 100.0
        ),
        (Some(from), None) => format!(
            "SLIs out of objective from {} and not back by the end ({}); {:.1}% of the error budget spent.",
            clock(from),
            clock(timeline.end_s),
            spent * 100.0
        ),
        _ => "No SLI left its objective.".to_string(),
    };
    let root_draft = scenario
        .incident
        .as_ref()
        .map(|truth| truth.root_cause.join(", "))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "not established".to_string());
    let resolution_draft = timeline
        .records
        .iter()
        .filter_map(Record::remediation)
        .map(Remediation::to_ron)
        .collect::<Vec<_>>()
        .join("; ");
    let detection_draft = match first_page {
        Some(page) => format!(
            "paged by {} at {}{}",
            page.alert,
            clock(page.opened_s),
            page.acknowledged_s
                .map(|t| format!(", acknowledged at {}", clock(t)))
                .unwrap_or_else(|| ", never acknowledged".to_string())
        ),
        None => "no page fired".to_string(),
    };
    let sections = [
        ("Summary", or_draft(&own.summary, impact_draft.clone())),
        ("Impact", or_draft(&own.impact, impact_draft)),
        ("Root causes", or_draft(&own.root_causes, root_draft)),
        ("Trigger", or_draft(&own.trigger, "_unknown_".to_string())),
        (
            "Resolution",
            or_draft(
                &own.resolution,
                if resolution_draft.is_empty() {
                    "no remediation was applied".to_string()
                } else {
                    resolution_draft
                },
            ),
        ),
        ("Detection", or_draft(&own.detection, detection_draft)),
    ];
    for (heading, text) in sections {
        let _ = writeln!(md, "\n## {heading}\n\n{text}");
    }
    let _ = writeln!(md, "\n## Action items\n");
    let _ = writeln!(
        md,
        "| action item | type | owner | priority |\n|---|---|---|---|"
    );
    for item in &own.action_items {
        let _ = writeln!(
            md,
            "| {} | {:?} | {} | {:?} |",
            item.item, item.kind, item.owner, item.priority
        );
    }
    if own.action_items.is_empty() {
        let _ = writeln!(md, "| _none written yet_ | | | |");
    }
    if spent > 0.2 {
        let _ = writeln!(
            md,
            "\nThis incident spent {:.0}% of an error budget: the error budget policy requires at least one P0 action item.",
            spent * 100.0
        );
    }
    let _ = writeln!(md, "\n## Lessons learned\n");
    let _ = writeln!(md, "### What went well\n\n{}\n", blank(&own.went_well));
    let _ = writeln!(md, "### What went wrong\n\n{}\n", blank(&own.went_wrong));
    let _ = writeln!(md, "### Where we got lucky\n\n{}", blank(&own.got_lucky));
    let _ = writeln!(md, "\n## Timeline\n");
    for (t, line) in timeline.events() {
        let _ = writeln!(md, "- **{}** {line}", clock(t));
    }
    if let Some(score) = score {
        let _ = writeln!(
            md,
            "\n## Response score: {:.0} of {:.0} ({:.0}%)\n",
            score.points, score.max, score.percent
        );
        for c in &score.criteria {
            let points = match c.verdict {
                crate::scoring::Verdict::Penalty => format!("{:.1}", c.points),
                _ => format!("{:.1}/{:.0}", c.points, c.max),
            };
            let _ = writeln!(md, "- **{}** ({points}): {}", c.title, c.why);
        }
    }
    md
}

fn blank(text: &str) -> String {
    if text.trim().is_empty() {
        "_to write_".to_string()
    } else {
        text.trim().to_string()
    }
}
