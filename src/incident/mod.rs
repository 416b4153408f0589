//! The incident game: commands from the responders, the incident's lifecycle (pages,
//! declaration, mitigation detected from the SLIs, resolution and false closes), the
//! stakeholders' chat, and the journal that lets a session be replayed.
//!
//! Commands are applied at the start of a tick, before faults and remediations, so a
//! command issued at simulated time `t` acts at the first tick starting at or after `t`,
//! whether it came from the window, a script, a replayed journal or the network.

mod command;
pub mod debrief;
pub mod journal;
pub mod runbook;
mod script;
pub mod stakeholders;

use std::collections::{BTreeMap, VecDeque};

use bevy::prelude::*;
use serde::Serialize;

use crate::faults::FaultTimeline;
use crate::remediation::{Op, Remediation, Remediations};
use crate::scenario::{ChatSpec, IncidentSeverity, IncidentSpec, Seconds};
use crate::sim::topology::Topology;
use crate::sim::{Fleet, SimClock, SimSet};
use crate::slo::{Pager, SloTracker, Slos, ThresholdAlerts, ThresholdTracker};

pub use command::{
    ActionItem, ActionItemKind, Audience, CATALOG, Command, Entry, Postmortem, Priority, Record,
    Role, SOLO_PLAYER, View,
};
pub use script::{load_script, load_script_file, parse_script};
use stakeholders::{ChatContext, Message, Stakeholders};

pub(super) fn plugin(app: &mut App) {
    app.add_systems(
        FixedUpdate,
        (
            // Conditions that read one or two resources spare the systems' fetching of seven
            // on the many ticks with nothing to do.
            apply_commands.run_if(commands_due).in_set(SimSet::Commands),
            track_incident.run_if(second_ends).in_set(SimSet::Incident),
        ),
    );
}

/// The SLI window that decides impact and mitigation: the short window of the fastest
/// page, as the rubric defines `t_mitigated`.
pub const SHORT_WINDOW: f64 = 300.0;
/// How often vital signs are sampled for scoring.
pub const VITALS_EVERY: f64 = 10.0;
/// How long a resolved incident may keep burning (or paging) before it reopens.
pub const REOPEN_AFTER: f64 = 60.0;

/// Timestamps of the incident, as the rubric names them.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Lifecycle {
    /// The SLI first breached its objective (any SLO's 5-minute burn rate above 1).
    pub impact_s: Option<f64>,
    pub declared_s: Option<f64>,
    /// Every declaration and change of severity.
    pub severities: Vec<SeverityChange>,
    /// When the responders said the bleeding had stopped.
    pub claimed_mitigated_s: Option<f64>,
    /// The SLIs are back in SLO over a full short window starting here.
    pub mitigated_s: Option<f64>,
    /// The SLI breached again after mitigation, before resolution.
    pub relapses_s: Vec<f64>,
    pub resolved_s: Option<f64>,
    /// Resolutions while still burning or paging.
    pub false_closes: Vec<FalseClose>,
    pub reopened_s: Vec<f64>,
    pub postmortem_s: Option<f64>,
    /// The game master ended the shift.
    pub ended_s: Option<f64>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SeverityChange {
    pub at_s: f64,
    pub severity: IncidentSeverity,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FalseClose {
    pub at_s: f64,
    pub reason: String,
}

/// Where the incident stands, for the window's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Phase {
    /// Nothing is wrong, as far as anyone knows.
    Quiet,
    /// A page is out.
    Paged,
    /// Declared and being worked.
    Declared,
    /// The SLIs are back within objective; not yet resolved.
    Mitigated,
    Resolved,
}

impl Lifecycle {
    pub fn severity(&self) -> Option<IncidentSeverity> {
        self.severities.last().map(|c| c.severity)
    }

    /// Whether there is an incident at all: something paged, breached or was declared.
    pub fn has_incident(&self, paged: bool) -> bool {
        paged || self.impact_s.is_some() || self.declared_s.is_some()
    }

    pub fn phase(&self, paging: bool) -> Phase {
        if self.resolved_s.is_some() {
            Phase::Resolved
        } else if self.mitigated_s.is_some() {
            Phase::Mitigated
        } else if self.declared_s.is_some() {
            Phase::Declared
        } else if paging {
            Phase::Paged
        } else {
            Phase::Quiet
        }
    }
}

/// Vital signs of every SLO, sampled every [`VITALS_EVERY`] seconds: what scoring uses to
/// judge whether an action helped or hurt and how much budget the incident cost.
#[derive(Clone, Debug, PartialEq)]
pub struct Vitals {
    pub t: f64,
    /// Per SLO, in scenario order.
    pub burn_1m: Vec<f64>,
    pub burn_5m: Vec<f64>,
    pub budget_left: Vec<f64>,
}

impl Vitals {
    pub fn worst_burn_1m(&self) -> f64 {
        self.burn_1m.iter().copied().fold(0.0, f64::max)
    }

    pub fn worst_burn_5m(&self) -> f64 {
        self.burn_5m.iter().copied().fold(0.0, f64::max)
    }

    /// SLOs burning faster than their budget allows.
    pub fn burning(&self) -> usize {
        self.burn_1m.iter().filter(|b| **b > 1.0).count()
    }
}

/// An estimate a responder asked for: what `action` would cost each SLO over the next
/// [`ESTIMATE_HORIZON`] seconds with it and without it, once the session layer answers.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Estimate {
    pub at_s: f64,
    pub by: String,
    pub action: Remediation,
    /// Per SLO; None until answered.
    pub costs: Option<Vec<CostEstimate>>,
}

/// How far ahead an estimate looks.
pub const ESTIMATE_HORIZON: f64 = 300.0;

impl Estimate {
    /// "Rollback(service:"checkout") at 9m55s, next 5m: checkout-availability 0.30% with it,
    /// 2.10% without".
    pub fn describe(&self) -> String {
        let head = format!(
            "{} asked at {} what {} would cost over the next {}",
            self.by,
            clock(self.at_s),
            self.action.to_ron(),
            clock(ESTIMATE_HORIZON)
        );
        match &self.costs {
            None => format!("{head}: not answered yet"),
            Some(costs) => format!(
                "{head}: {}",
                costs
                    .iter()
                    .map(|c| format!(
                        "{} {:.2}% of the budget with it, {:.2}% without",
                        c.slo,
                        c.with_action * 100.0,
                        c.without_action * 100.0
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        }
    }
}

/// What one SLO's budget would lose over a horizon, with and without an action.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CostEstimate {
    pub slo: String,
    /// Share of the period's budget spent over the horizon if the action is taken.
    pub with_action: f64,
    pub without_action: f64,
}

/// A task given to a person with a time box.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Task {
    pub at_s: f64,
    pub task: String,
    pub owner: String,
    pub time_box_s: f64,
    pub assigned_by: String,
}

/// The incident as the responders work it.
#[derive(Resource, Clone, Debug)]
pub struct Incident {
    pub truth: Option<IncidentSpec>,
    pending: VecDeque<Entry>,
    /// Every command applied (or refused), in order.
    pub records: Vec<Record>,
    pub lifecycle: Lifecycle,
    pub roles: BTreeMap<String, Role>,
    pub tasks: Vec<Task>,
    pub postmortem: Option<Postmortem>,
    pub chat: Vec<Message>,
    pub vitals: Vec<Vitals>,
    /// The estimates asked for; the session layer answers them.
    /// The team's runbooks, whose steps the timeline marks followed or not.
    pub runbooks: Vec<crate::scenario::RunbookSpec>,
    pub estimates: Vec<Estimate>,
    stakeholders: Stakeholders,
    last_update_s: Option<f64>,
    hints_seen: usize,
    /// The game master has stopped the clock.
    paused: bool,
    /// Since when a resolved incident has kept burning or a threshold alert paging.
    unsettled_since: Option<f64>,
    /// The worst 5-minute burn rate at the last second.
    burn_5m: f64,
}

impl Incident {
    pub fn new(truth: Option<IncidentSpec>, chat: &ChatSpec) -> Self {
        Self {
            truth,
            pending: VecDeque::new(),
            records: Vec::new(),
            lifecycle: Lifecycle::default(),
            roles: BTreeMap::new(),
            tasks: Vec::new(),
            postmortem: None,
            chat: Vec::new(),
            vitals: Vec::new(),
            estimates: Vec::new(),
            runbooks: Vec::new(),
            stakeholders: Stakeholders::new(chat),
            last_update_s: None,
            hints_seen: 0,
            paused: false,
            unsettled_since: None,
            burn_5m: 0.0,
        }
    }

    /// Queues a command; it is applied at the first tick starting at or after its time
    /// (ties in the order issued).
    pub fn issue(&mut self, entry: Entry) {
        let index = self
            .pending
            .partition_point(|e| e.at.get() <= entry.at.get());
        self.pending.insert(index, entry);
    }

    /// Takes back one pending command equal to `entry`; whether there was one.
    pub fn withdraw(&mut self, entry: &Entry) -> bool {
        match self.pending.iter().position(|e| e == entry) {
            Some(k) => {
                self.pending.remove(k);
                true
            }
            None => false,
        }
    }

    /// Commands issued but not applied yet.
    pub fn pending(&self) -> impl Iterator<Item = &Entry> {
        self.pending.iter()
    }

    /// Whether a command is due at `now`.
    pub fn command_due(&self, now: f64) -> bool {
        self.pending.front().is_some_and(|e| e.is_due(now))
    }

    /// Applies the commands due at `now`.
    pub fn apply_due(&mut self, now: f64, world: &mut Responders) {
        while self.command_due(now) {
            let entry = self.pending.pop_front().expect("peeked");
            let refused = self.apply(&entry, now, world).err();
            self.records.push(Record {
                at_s: now,
                by: entry.by,
                command: entry.command,
                refused,
            });
        }
    }

    /// Carries out one command, or says why not. A refused command changes nothing.
    fn apply(&mut self, entry: &Entry, now: f64, world: &mut Responders) -> Result<(), String> {
        let Responders {
            topology,
            slos,
            thresholds,
            remediations,
            faults,
        } = world;
        if self.lifecycle.ended_s.is_some() {
            return Err("the shift has ended".to_string());
        }
        // A remediation is resolved to its operation once, here, and scheduled as such.
        let op = match &entry.command {
            Command::Apply(remediation) => Some(Op::resolve(remediation, topology)?),
            command => {
                command.check(topology)?;
                None
            }
        };
        permits(self.roles.get(&entry.by).copied(), &entry.command)?;
        let incident = self
            .lifecycle
            .has_incident(any_page_ever(&slos.0, &thresholds.0));
        let lifecycle = &mut self.lifecycle;
        match &entry.command {
            Command::Acknowledge { alert } => {
                let acknowledged = slos
                    .0
                    .iter_mut()
                    .filter(|s| &s.spec.name == alert)
                    .map(|s| s.pager.acknowledge(now))
                    .chain(
                        thresholds
                            .0
                            .iter_mut()
                            .filter(|a| &a.spec.name == alert)
                            .map(|a| a.pager.acknowledge(now)),
                    )
                    .fold(false, |a, b| a | b);
                if !acknowledged {
                    return Err(format!(
                        "no page of \"{alert}\" is waiting to be acknowledged"
                    ));
                }
                // One incident, one page group: the acknowledgement covers every page
                // ringing with it.
                for pager in pagers(slos, thresholds) {
                    pager.acknowledge(now);
                }
            }
            Command::Declare { severity } => {
                if lifecycle.resolved_s.is_some() {
                    return Err("the incident is resolved; a new page reopens it".to_string());
                }
                if lifecycle.severity() == Some(*severity) {
                    return Err(format!("the incident is already declared at {severity}"));
                }
                lifecycle.declared_s.get_or_insert(now);
                lifecycle.severities.push(SeverityChange {
                    at_s: now,
                    severity: *severity,
                });
            }
            Command::TakeRole(role) => {
                let master = self.roles.iter().find(|(_, r)| **r == Role::GameMaster);
                if let (Role::GameMaster, Some((master, _))) = (role, master) {
                    return Err(format!("{master} is already the game master"));
                }
                if *role == Role::IncidentCommander {
                    // One commander at a time: taking command is a handover.
                    self.roles.retain(|_, r| *r != Role::IncidentCommander);
                }
                self.roles.insert(entry.by.clone(), *role);
            }
            Command::Assign {
                task,
                owner,
                time_box,
            } => self.tasks.push(Task {
                at_s: now,
                task: task.clone(),
                owner: owner.clone(),
                time_box_s: time_box.get(),
                assigned_by: entry.by.clone(),
            }),
            Command::Update { .. } => self.last_update_s = Some(now),
            Command::Apply(remediation) => {
                let op = op.expect("an applied remediation was resolved above");
                remediations.schedule(now, remediation.clone(), op);
            }
            Command::Escalate { service } => {
                let index = topology.service_index(service).expect("checked");
                remediations.page_expert(index, now);
            }
            Command::Mitigated => {
                if !incident || lifecycle.resolved_s.is_some() {
                    return Err("there is no open incident to mark mitigated".to_string());
                }
                lifecycle.claimed_mitigated_s = Some(now);
            }
            Command::Resolve => {
                if !incident {
                    return Err(
                        "there is no incident to resolve: nothing paged, breached or was declared"
                            .to_string(),
                    );
                }
                if lifecycle.resolved_s.is_some() {
                    return Err("the incident is already resolved".to_string());
                }
                lifecycle.resolved_s = Some(now);
                let reason = if self.burn_5m >= 1.0 {
                    Some(format!(
                        "the SLI was still out of its objective (5-minute burn rate {:.1})",
                        self.burn_5m
                    ))
                } else if threshold_page_open(&thresholds.0) {
                    Some("a page was still open".to_string())
                } else {
                    None
                };
                if let Some(reason) = reason {
                    lifecycle
                        .false_closes
                        .push(FalseClose { at_s: now, reason });
                }
            }
            // Judged at the debrief, for what it tells the next on-call.
            Command::Handoff { .. } => {}
            // Without an incident, a postmortem is a near-miss review: as welcome.
            Command::Postmortem(postmortem) => {
                lifecycle.postmortem_s = Some(now);
                self.postmortem = Some(postmortem.clone());
            }
            Command::Inject { .. } => {
                let fault = entry.command.injected_fault(now).expect("an injection");
                faults.inject(&fault, topology)?;
            }
            Command::Say { from, text } => self.chat.push(Message {
                at_s: now,
                from: from.clone(),
                text: text.clone(),
                kind: crate::scenario::MessageKind::Info,
            }),
            Command::Estimate(action) => {
                let limit = self.truth.as_ref().and_then(|t| t.estimates.limit);
                match limit {
                    Some(0) => {
                        return Err(
                            "this scenario allows no estimates: decide from the evidence"
                                .to_string(),
                        );
                    }
                    Some(limit) if self.estimates.len() >= limit as usize => {
                        return Err(format!("no estimates left: this scenario allows {limit}"));
                    }
                    _ => {}
                }
                self.estimates.push(Estimate {
                    at_s: now,
                    by: entry.by.clone(),
                    action: action.clone(),
                    costs: None,
                });
            }
            Command::Hint { text } => self.chat.push(Message {
                at_s: now,
                from: "game master (hint)".to_string(),
                text: text.clone(),
                kind: crate::scenario::MessageKind::Info,
            }),
            Command::Pause | Command::Resume => {
                let pause = entry.command == Command::Pause;
                if self.paused == pause {
                    return Err(format!(
                        "the shift is already {}",
                        if pause { "paused" } else { "running" }
                    ));
                }
                self.paused = pause;
            }
            Command::EndShift => {
                lifecycle.ended_s = Some(now);
                self.paused = false;
            }
            Command::Look(_) | Command::Hypothesis { .. } => {}
        }
        Ok(())
    }

    /// Follows the SLIs at the end of each second: impact, mitigation, relapses, reopening,
    /// vital signs and the stakeholders' messages.
    /// A pager groups the pages of one incident: a page that opens while the responders
    /// hold the incident (a page of it acknowledged and open, an acknowledged page earlier in
    /// it, or a declaration, and it is not resolved) joins it, acknowledged with the rest.
    fn group_pages(&mut self, now: f64, slos: &mut Slos, thresholds: &mut ThresholdAlerts) {
        let open = self.lifecycle.resolved_s.is_none();
        let held = pagers(slos, thresholds).any(|p| p.is_held())
            || (open
                && (self.lifecycle.declared_s.is_some()
                    || (self.lifecycle.impact_s.is_some()
                        && pagers(slos, thresholds)
                            .any(|p| p.pages.iter().any(|page| page.acknowledged_s.is_some())))));
        if held {
            for pager in pagers(slos, thresholds) {
                pager.join_group(now);
            }
        }
    }

    fn track(
        &mut self,
        now: f64,
        slos: &mut Slos,
        thresholds: &mut ThresholdAlerts,
        faults: &FaultTimeline,
        hints: &[crate::remediation::Hint],
    ) {
        self.group_pages(now, slos, thresholds);
        let burn_5m: Vec<f64> = slos.0.iter().map(|s| s.burn(SHORT_WINDOW)).collect();
        self.burn_5m = burn_5m.iter().copied().fold(0.0, f64::max);
        // An SLO's page stays open while its long windows remember the outage (up to 30
        // minutes for the 6h/30m row); its 5-minute burn says whether users still hurt. A
        // threshold alert measures the present.
        let alarming = threshold_page_open(&thresholds.0);
        let lifecycle = &mut self.lifecycle;
        let breached = self.burn_5m > 1.0;
        if lifecycle.impact_s.is_none() {
            if breached {
                lifecycle.impact_s = Some(now);
            }
        } else if lifecycle.resolved_s.is_none() {
            match lifecycle.mitigated_s {
                None if !breached => {
                    let start = lifecycle.impact_s.unwrap_or(now).max(now - SHORT_WINDOW);
                    lifecycle.mitigated_s = Some(start);
                }
                Some(_) if breached => {
                    lifecycle.mitigated_s = None;
                    lifecycle.relapses_s.push(now);
                }
                _ => {}
            }
        }
        if lifecycle.resolved_s.is_some() {
            if breached || alarming {
                let since = *self.unsettled_since.get_or_insert(now);
                if now - since >= REOPEN_AFTER {
                    lifecycle.resolved_s = None;
                    lifecycle.reopened_s.push(now);
                    if breached {
                        lifecycle.mitigated_s = None;
                    }
                    self.unsettled_since = None;
                }
            } else {
                self.unsettled_since = None;
            }
        }
        if (now / VITALS_EVERY).fract().abs() < 1e-9 {
            self.vitals.push(Vitals {
                t: now,
                burn_1m: slos.0.iter().map(|s| s.burn(60.0)).collect(),
                burn_5m,
                budget_left: slos.0.iter().map(|s| s.budget_left()).collect(),
            });
        }
        for hint in &hints[self.hints_seen..] {
            self.chat.push(Message {
                at_s: hint.at_s,
                from: format!("{} expert", hint.expert),
                text: hint.text.clone(),
                kind: crate::scenario::MessageKind::Info,
            });
        }
        self.hints_seen = hints.len();
        let first_page = slos
            .0
            .iter()
            .filter_map(|s| {
                s.pager
                    .pages
                    .first()
                    .map(|p| (p.opened_s, s.spec.service.clone()))
            })
            .chain(thresholds.0.iter().filter_map(|a| {
                a.pager
                    .pages
                    .first()
                    .map(|p| (p.opened_s, a.spec.service.clone()))
            }))
            .min_by(|a, b| a.0.total_cmp(&b.0));
        let context = ChatContext {
            now,
            first_page,
            declared_s: self.lifecycle.declared_s,
            last_update_s: self.last_update_s,
            open: self.lifecycle.resolved_s.is_none(),
            budget_left: slos
                .0
                .iter()
                .map(|s| s.budget_left())
                .fold(f64::INFINITY, f64::min),
            faults,
        };
        self.chat.extend(self.stakeholders.due(&context));
    }

    /// Where the incident stands, given the SLOs' and threshold alerts' pagers now.
    pub fn phase(&self, slos: &[SloTracker], thresholds: &[ThresholdTracker]) -> Phase {
        self.lifecycle.phase(any_page_open(slos, thresholds))
    }
}

/// What commands act on besides the incident itself.
pub struct Responders<'a> {
    pub topology: &'a Topology,
    pub slos: &'a mut Slos,
    pub thresholds: &'a mut ThresholdAlerts,
    pub remediations: &'a mut Remediations,
    pub faults: &'a mut FaultTimeline,
}

/// What a role allows. Nobody who has not taken a role is held back (a trainee alone
/// holds every role); observers only watch, comms does not touch the system, and ops does
/// not speak for the incident. The commander may change the system, and is scored for it.
/// The game master's commands need the game master, who only runs the drill.
pub fn permits(role: Option<Role>, command: &Command) -> Result<(), String> {
    let watching = matches!(command, Command::Look(_));
    let directing = command.directs_the_drill();
    match (role, command) {
        (Some(Role::GameMaster), Command::TakeRole(_)) => {
            Err("the game master keeps the seat for the whole session".to_string())
        }
        (Some(Role::GameMaster), _) if !watching && !directing => Err(
            "the game master runs the drill; the responders act in it".to_string(),
        ),
        (Some(Role::GameMaster), _) => Ok(()),
        (_, _) if directing => Err(
            "only the game master does that (`firedrill host --game-master`, or TakeRole(GameMaster) in a script)"
                .to_string(),
        ),
        (Some(Role::Observer), Command::TakeRole(_)) => Ok(()),
        (Some(Role::Observer), _) if !watching => {
            Err("observers watch: take another role to act".to_string())
        }
        (Some(Role::Comms), Command::Apply(_)) => {
            Err("comms does not change the system: ask ops".to_string())
        }
        (Some(Role::Ops), Command::Update { .. }) => {
            Err("ops does not post status updates: comms does".to_string())
        }
        _ => Ok(()),
    }
}

/// Every pager of the run: the SLOs' and the threshold alerts'.
fn pagers<'a>(
    slos: &'a mut Slos,
    thresholds: &'a mut ThresholdAlerts,
) -> impl Iterator<Item = &'a mut Pager> {
    slos.0
        .iter_mut()
        .map(|s| &mut s.pager)
        .chain(thresholds.0.iter_mut().map(|a| &mut a.pager))
}

fn any_page_open(slos: &[SloTracker], thresholds: &[ThresholdTracker]) -> bool {
    slos.iter().any(|s| s.pager.is_open()) || thresholds.iter().any(|a| a.pager.is_open())
}

fn threshold_page_open(thresholds: &[ThresholdTracker]) -> bool {
    thresholds.iter().any(|a| a.pager.is_open())
}

fn any_page_ever(slos: &[SloTracker], thresholds: &[ThresholdTracker]) -> bool {
    slos.iter().any(|s| !s.pager.pages.is_empty())
        || thresholds.iter().any(|a| !a.pager.pages.is_empty())
}

fn commands_due(clock: Res<SimClock>, incident: Res<Incident>) -> bool {
    incident.command_due(clock.now())
}

fn second_ends(clock: Res<SimClock>) -> bool {
    clock.current().closes_second()
}

pub(crate) fn apply_commands(
    clock: Res<SimClock>,
    fleet: Res<Fleet>,
    mut incident: ResMut<Incident>,
    mut slos: ResMut<Slos>,
    mut thresholds: ResMut<ThresholdAlerts>,
    mut remediations: ResMut<Remediations>,
    mut faults: ResMut<FaultTimeline>,
) {
    let now = clock.now();
    incident.apply_due(
        now,
        &mut Responders {
            topology: &fleet.topology,
            slos: &mut slos,
            thresholds: &mut thresholds,
            remediations: &mut remediations,
            faults: &mut faults,
        },
    );
}

/// The incident follows the SLIs, once a second (`second_ends`).
fn track_incident(
    clock: Res<SimClock>,
    mut incident: ResMut<Incident>,
    mut slos: ResMut<Slos>,
    mut thresholds: ResMut<ThresholdAlerts>,
    faults: Res<FaultTimeline>,
    remediations: Res<Remediations>,
) {
    let tick = clock.current();
    incident.track(
        tick.t1.round(),
        &mut slos,
        &mut thresholds,
        &faults,
        &remediations.hints,
    );
}

/// Formats a simulated time for messages: "9m12s".
pub fn clock(seconds: f64) -> String {
    Seconds(seconds.round()).to_string()
}
