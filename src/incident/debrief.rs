//! The debrief's facts: the incident's timeline (faults, alerts, pages, commands, updates,
//! recoveries) of a finished session, as scoring and the postmortem draft read it.

use serde::Serialize;

use super::stakeholders::Message;
use super::{Command, Estimate, Lifecycle, Postmortem, Record, Role, Task, Vitals};
use crate::faults::FaultRecord;
use crate::remediation::Applied;

/// A page as the debrief tells it: which alert, and what happened to it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PageFact {
    pub alert: String,
    pub service: String,
    pub opened_s: f64,
    pub acknowledged_s: Option<f64>,
    pub escalated_s: Option<f64>,
    pub resolved_s: Option<f64>,
    /// It joined an incident the responders already held: the group's acknowledgement
    /// covered it.
    pub grouped: bool,
    /// The alerts holding it open at its last second, inhibited ones included.
    pub held_by: Vec<String>,
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

/// What a mark on the debrief's chart stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkKind {
    /// A fault starting (the ground truth, revealed at the debrief).
    Fault,
    /// A page opening or escalating.
    Page,
    /// A responder's command.
    Command,
}

/// One mark on the debrief's chart: when, what, and the line its hover shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Mark {
    pub t: f64,
    pub kind: MarkKind,
    pub text: String,
}

/// One SLO over the shift, for the debrief's chart: its SLI (share of good requests over
/// the last minute) and the share of its error budget left, both in percent.
#[derive(Clone, Debug, PartialEq)]
pub struct SloCurve {
    pub name: String,
    pub sli: Vec<[f64; 2]>,
    pub budget_left: Vec<[f64; 2]>,
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
    /// The estimates asked for, with their answers.
    pub estimates: Vec<Estimate>,
    /// Remediations as they took effect, with the change freeze flag.
    pub applied: Vec<Applied>,
    /// SLO names, in the order of the vitals' columns.
    pub slos: Vec<String>,
    #[serde(skip)]
    pub vitals: Vec<Vitals>,
    /// The runbooks' steps, followed or not (left out of reports when there are none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub runbooks: Vec<super::runbook::RunbookProgress>,
}

impl Timeline {
    /// The first page of the session.
    pub fn first_page(&self) -> Option<&PageFact> {
        self.pages.first()
    }

    /// How long the first page waited for its acknowledgement (None: it never got one).
    pub fn time_to_acknowledge(&self) -> Option<f64> {
        let page = self.first_page()?;
        Some(page.acknowledged_s? - page.opened_s)
    }

    /// From the alarm (the first page, else the first breach) to the SLIs back within
    /// objective (None: never hurt, or never mitigated).
    pub fn time_to_mitigate(&self) -> Option<f64> {
        let alarm = self
            .first_page()
            .map(|p| p.opened_s)
            .or(self.lifecycle.impact_s)?;
        Some((self.lifecycle.mitigated_s? - alarm).max(0.0))
    }

    /// The chart's marks in time order: faults starting, pages opening and escalating, and
    /// every command a responder issued (refused ones say so).
    pub fn marks(&self) -> Vec<Mark> {
        let mark = |t: f64, kind: MarkKind, text: String| Mark { t, kind, text };
        let mut marks: Vec<Mark> = self
            .faults
            .iter()
            .filter_map(|f| {
                let text = format!("fault starts: {} ({})", f.name, f.kind);
                Some(mark(f.started_s?, MarkKind::Fault, text))
            })
            .chain(self.pages.iter().flat_map(|p| {
                let opened = mark(p.opened_s, MarkKind::Page, format!("page: {}", p.alert));
                let escalated = p
                    .escalated_s
                    .map(|t| mark(t, MarkKind::Page, format!("page escalated: {}", p.alert)));
                std::iter::once(opened).chain(escalated)
            }))
            .chain(self.records.iter().map(|r| {
                let refused = if r.refused.is_some() {
                    " (refused)"
                } else {
                    ""
                };
                let text = format!("{}: {}{refused}", r.by, describe(&r.command));
                mark(r.at_s, MarkKind::Command, text)
            }))
            .collect();
        // Stable: same-time marks keep the order above.
        marks.sort_by(|a, b| a.t.total_cmp(&b.t));
        marks
    }

    /// Each SLO's curves from the vital signs; `objectives` are the SLOs' targets (0.999),
    /// in the timeline's SLO order. A burn rate is the error ratio over the budget's share,
    /// so the SLI is 1 - burn x (1 - objective).
    pub fn curves(&self, objectives: &[f64]) -> Vec<SloCurve> {
        self.slos
            .iter()
            .zip(objectives)
            .enumerate()
            .map(|(i, (name, objective))| SloCurve {
                name: name.clone(),
                sli: self
                    .vitals
                    .iter()
                    .map(|v| {
                        let errors = (v.burn_1m[i] * (1.0 - objective)).clamp(0.0, 1.0);
                        [v.t, 100.0 * (1.0 - errors)]
                    })
                    .collect(),
                budget_left: self
                    .vitals
                    .iter()
                    .map(|v| [v.t, 100.0 * v.budget_left[i]])
                    .collect(),
            })
            .collect()
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
            let joined = if page.grouped {
                " (joined the incident already held: acknowledged with it)"
            } else {
                ""
            };
            events.push((page.opened_s, format!("page: {}{joined}", page.alert)));
            if let Some(t) = page.escalated_s {
                events.push((
                    t,
                    format!("page escalated (unacknowledged): {}", page.alert),
                ));
            }
            match page.resolved_s {
                Some(t) => events.push((
                    t,
                    format!(
                        "page clears: {} (held open until then by {})",
                        page.alert,
                        page.held_by.join(", ")
                    ),
                )),
                None => events.push((
                    self.end_s,
                    format!(
                        "page still open at the end: {}, held by {}",
                        page.alert,
                        page.held_by.join(", ")
                    ),
                )),
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
        for estimate in &self.estimates {
            events.push((estimate.at_s, format!("estimate: {}", estimate.describe())));
        }
        for runbook in &self.runbooks {
            for (n, step) in runbook
                .steps
                .iter()
                .enumerate()
                .filter(|(_, s)| s.checkable)
            {
                let (t, done) = match step.followed_s {
                    Some(t) => (t, "followed"),
                    None => (self.end_s, "not followed"),
                };
                events.push((
                    t,
                    format!(
                        "runbook \"{}\" step {}: {done}: {}",
                        runbook.title,
                        n + 1,
                        step.text
                    ),
                ));
            }
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
        Command::Estimate(remediation) => {
            format!("asks what {} would cost", remediation.to_ron())
        }
        Command::Hypothesis { fault, target, .. } => {
            format!("suspects {fault} on {target}")
        }
        Command::Escalate { service } => format!("pages the {service} expert"),
        Command::Mitigated => "says the incident is mitigated".to_string(),
        Command::Resolve => "resolves the incident".to_string(),
        Command::Postmortem(pm) => format!("writes the postmortem \"{}\"", pm.title),
        Command::Handoff { note } => format!("hands the shift over: \"{note}\""),
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
