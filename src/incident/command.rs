//! The one command model: everything a responder can do, whether it comes from the
//! window, an action script, a journal being replayed or a player across the network.

use serde::{Deserialize, Serialize};

use crate::remediation::{Op, Remediation};
use crate::scenario::{Edge, FaultKind, FaultSpec, FaultStart, IncidentSeverity, Seconds};
use crate::sim::topology::Topology;

/// The name a command is issued under when nobody says who: the one player on call.
pub const SOLO_PLAYER: &str = "on-call";

/// Something a responder does.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub enum Command {
    /// Acknowledge the open page of an SLO or threshold alert, by its name: it then does
    /// not escalate.
    Acknowledge {
        alert: String,
    },
    /// Open a view. Looking changes nothing but is evidence: diagnosis is judged on it.
    Look(View),
    /// Declare an incident, or change its severity.
    Declare {
        severity: IncidentSeverity,
    },
    /// The issuing player takes a role.
    TakeRole(Role),
    /// Give a task to a person with a time box.
    Assign {
        task: String,
        owner: String,
        time_box: Seconds,
    },
    /// A status update as a CAN report: conditions, actions, needs.
    Update {
        audience: Audience,
        conditions: String,
        #[serde(default)]
        actions: String,
        #[serde(default)]
        needs: String,
    },
    /// Change the fleet.
    Apply(Remediation),
    /// Ask what a remediation would cost each SLO's budget over the next 5 minutes, with it
    /// and without it. Modelled from what is known now: faults that have not started are
    /// unknown to it, and it draws its own random numbers. The scenario may limit estimates
    /// or charge for them (`incident.estimates`).
    Estimate(Remediation),
    /// State what the root cause is: a fault kind (as `firedrill catalog` names them) and
    /// what it hits (a service, an edge `"web->checkout"`, a zone or a traffic source).
    Hypothesis {
        fault: String,
        target: String,
        #[serde(default)]
        note: String,
    },
    /// Page the expert on a service: they arrive after 5 minutes and say what they find.
    Escalate {
        service: String,
    },
    /// The responders believe the bleeding has stopped.
    Mitigated,
    /// Close the incident.
    Resolve,
    /// Write (or rewrite) the postmortem.
    Postmortem(Postmortem),
    /// Hand the shift over: a note for the next on-call, saying what is going on, what was
    /// done, and what is left for them.
    Handoff {
        note: String,
    },
    /// The game master breaks something now: a fault from the catalog (`firedrill
    /// catalog`), aimed and checked as a scenario's faults are; it lasts `duration`, or
    /// until a remediation ends it.
    Inject {
        kind: FaultKind,
        target: String,
        #[serde(default)]
        duration: Option<Seconds>,
        /// The name the debrief gives it (default: "Crash on web").
        #[serde(default)]
        name: Option<String>,
    },
    /// The game master speaks for a stakeholder in the chat.
    Say {
        from: String,
        text: String,
    },
    /// The game master gives the responders a hint in the chat; every hint costs score.
    Hint {
        text: String,
    },
    /// The game master stops the clock to talk the team through something.
    Pause,
    Resume,
    /// The game master ends the shift for everyone: the debrief follows.
    EndShift,
}

/// The views of the control room.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub enum View {
    /// The call graph coloured by health.
    ServiceMap,
    /// An SLO: its SLI, budget and burn rates.
    Slo(String),
    /// A service's RED row: rate, errors, duration.
    Red(String),
    /// A service's USE row: CPU, memory, queue, pool, disk.
    Saturation(String),
    Logs(String),
    Traces(String),
    /// The fleet's deploys and config pushes.
    Deploys,
}

impl View {
    /// Symptom views (what users feel) come before cause views (what resources do).
    pub fn is_symptom(&self) -> bool {
        matches!(self, Self::ServiceMap | Self::Slo(_) | Self::Red(_))
    }

    /// The service it looks at, if it looks at one.
    pub fn service(&self) -> Option<&str> {
        match self {
            Self::Red(s) | Self::Saturation(s) | Self::Logs(s) | Self::Traces(s) => Some(s),
            _ => None,
        }
    }

    /// Reading logs or traces keeps the evidence a restart destroys.
    pub fn preserves_evidence(&self) -> bool {
        matches!(self, Self::Logs(_) | Self::Traces(_))
    }
}

/// Incident roles (PagerDuty, Google IMAG).
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Coordinates and decides; does not change the system.
    IncidentCommander,
    /// The only one changing the system.
    Ops,
    /// Writes the status updates.
    Comms,
    /// Watches.
    Observer,
    /// Runs the drill: sees the ground truth, injects faults, speaks for stakeholders,
    /// gives hints, pauses and ends the shift. Not a responder: never scored.
    GameMaster,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum Audience {
    Internal,
    External,
}

/// The Google SRE book's postmortem template (appendix D), as the responders write it.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Postmortem {
    pub title: String,
    pub authors: Vec<String>,
    pub summary: String,
    pub impact: String,
    pub root_causes: String,
    pub trigger: String,
    pub resolution: String,
    pub detection: String,
    pub action_items: Vec<ActionItem>,
    pub went_well: String,
    pub went_wrong: String,
    pub got_lucky: String,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ActionItem {
    pub item: String,
    #[serde(rename = "type")]
    pub kind: ActionItemKind,
    pub owner: String,
    pub priority: Priority,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum ActionItemKind {
    /// Reduce the impact next time (a faster rollback, a circuit breaker).
    Mitigate,
    /// Stop it happening again (fix the bug, automate the renewal).
    Prevent,
    /// See it sooner (an alert, a dashboard).
    Detect,
    /// Restore what the incident damaged (data, capacity).
    Repair,
    /// Change how people work (a runbook, a review, a rota).
    Process,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    P0,
    P1,
    P2,
}

impl Command {
    /// A short name for tables and the timeline.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Acknowledge { .. } => "Acknowledge",
            Self::Look(_) => "Look",
            Self::Declare { .. } => "Declare",
            Self::TakeRole(_) => "TakeRole",
            Self::Assign { .. } => "Assign",
            Self::Update { .. } => "Update",
            Self::Apply(_) => "Apply",
            Self::Estimate(_) => "Estimate",
            Self::Hypothesis { .. } => "Hypothesis",
            Self::Escalate { .. } => "Escalate",
            Self::Mitigated => "Mitigated",
            Self::Resolve => "Resolve",
            Self::Postmortem(_) => "Postmortem",
            Self::Handoff { .. } => "Handoff",
            Self::Inject { .. } => "Inject",
            Self::Say { .. } => "Say",
            Self::Hint { .. } => "Hint",
            Self::Pause => "Pause",
            Self::Resume => "Resume",
            Self::EndShift => "EndShift",
        }
    }

    /// The fault an `Inject` starts, as a scenario would write it starting at `at`.
    pub fn injected_fault(&self, at: f64) -> Option<FaultSpec> {
        match self {
            Self::Inject {
                kind,
                target,
                duration,
                name,
            } => Some(FaultSpec {
                name: name.clone(),
                kind: kind.clone(),
                target: target.clone(),
                start: FaultStart::At(Seconds(at)),
                duration: *duration,
                caused_by: None,
            }),
            _ => None,
        }
    }

    /// The game master's commands: they run the drill rather than respond to it.
    pub fn directs_the_drill(&self) -> bool {
        matches!(
            self,
            Self::Inject { .. }
                | Self::Say { .. }
                | Self::Hint { .. }
                | Self::Pause
                | Self::Resume
                | Self::EndShift
        )
    }

    /// The command as an action script writes it.
    pub fn to_ron(&self) -> String {
        ron::to_string(self).expect("commands serialize")
    }

    /// Checks the command against the fleet (names, ranges); whether it makes sense at the
    /// moment it is issued is checked when it is applied.
    pub fn check(&self, topology: &Topology) -> Result<(), String> {
        let service = |name: &str| known_service(topology, name);
        match self {
            Self::Acknowledge { alert } => {
                if topology.slos.iter().any(|s| s == alert) {
                    Ok(())
                } else {
                    Err(unknown("SLO or alert", alert, &topology.slos))
                }
            }
            Self::Look(view) => match view {
                View::Slo(name) if !topology.slos.contains(name) => {
                    Err(unknown("SLO or alert", name, &topology.slos))
                }
                _ => view.service().map_or(Ok(()), service),
            },
            Self::Assign {
                task,
                owner,
                time_box,
            } => {
                if task.trim().is_empty() {
                    Err("a task needs a description".to_string())
                } else if owner.trim().is_empty() {
                    Err("a task needs an owner: tasks are assigned to a person".to_string())
                } else if time_box.get() <= 0.0 {
                    Err("a task needs a time box above 0 (\"15m\")".to_string())
                } else {
                    Ok(())
                }
            }
            Self::Update { conditions, .. } if conditions.trim().is_empty() => {
                Err("a status update needs its conditions: what users see right now".to_string())
            }
            Self::Apply(remediation) | Self::Estimate(remediation) => {
                Op::resolve(remediation, topology).map(|_| ())
            }
            Self::Hypothesis { fault, target, .. } => {
                let kinds: Vec<&str> = crate::faults::CATALOG.iter().map(|e| e.name).collect();
                if !kinds.contains(&fault.as_str()) {
                    return Err(match crate::scenario::closest(fault, &kinds) {
                        Some(close) => {
                            format!("unknown fault kind \"{fault}\" (did you mean \"{close}\"?)")
                        }
                        None => format!(
                            "unknown fault kind \"{fault}\" (`firedrill catalog` lists them)"
                        ),
                    });
                }
                if topology_names(topology).iter().any(|n| n == target)
                    || Edge::parse(target)
                        .is_some_and(|edge| service(edge.from).is_ok() && service(edge.to).is_ok())
                {
                    Ok(())
                } else {
                    Err(unknown(
                        "service, edge, zone or traffic source",
                        target,
                        &topology_names(topology),
                    ))
                }
            }
            Self::Escalate { service: name } => service(name),
            Self::Postmortem(pm) => pm
                .action_items
                .iter()
                .position(|a| a.item.trim().is_empty() || a.owner.trim().is_empty())
                .map_or(Ok(()), |i| {
                    Err(format!(
                        "action item {i} needs a description and an owner (blameless, but owned)"
                    ))
                }),
            Self::Say { from, text } => {
                if from.trim().is_empty() {
                    Err("a message needs who it is from (\"VP Engineering\")".to_string())
                } else if text.trim().is_empty() {
                    Err("a message needs its text".to_string())
                } else {
                    Ok(())
                }
            }
            Self::Hint { text } if text.trim().is_empty() => {
                Err("a hint needs its text".to_string())
            }
            Self::Handoff { note } if note.trim().is_empty() => Err(
                "a handoff needs a note for the next on-call: what is going on, what was done, what is left"
                    .to_string(),
            ),
            // Aimed and checked against the scenario when applied, as its faults are.
            Self::Inject { .. }
            | Self::Hint { .. }
            | Self::Pause
            | Self::Resume
            | Self::EndShift
            | Self::Update { .. }
            | Self::Declare { .. }
            | Self::TakeRole(_)
            | Self::Mitigated
            | Self::Handoff { .. }
            | Self::Resolve => Ok(()),
        }
    }
}

fn known_service(topology: &Topology, name: &str) -> Result<(), String> {
    if topology.service_index(name).is_some() {
        return Ok(());
    }
    let names: Vec<String> = topology.services.iter().map(|s| s.name.clone()).collect();
    Err(unknown("service", name, &names))
}

/// Services, zones and traffic sources: what a hypothesis may point at.
fn topology_names(topology: &Topology) -> Vec<String> {
    topology
        .services
        .iter()
        .map(|s| s.name.clone())
        .chain(topology.zones.iter().cloned())
        .chain(topology.sources.iter().map(|s| s.name.clone()))
        .collect()
}

fn unknown(what: &str, name: &str, known: &[String]) -> String {
    let names: Vec<&str> = known.iter().map(String::as_str).collect();
    match crate::scenario::closest(name, &names) {
        Some(close) => format!("unknown {what} \"{name}\" (did you mean \"{close}\"?)"),
        None => format!("unknown {what} \"{name}\" (known: {})", names.join(", ")),
    }
}

/// A command with who issued it and when: a line of an action script, of a journal, or a
/// message from a networked player.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub at: Seconds,
    #[serde(default = "solo")]
    pub by: String,
    #[serde(rename = "do")]
    pub command: Command,
}

impl Entry {
    /// Whether the command is due at `now`: it applies in the first tick starting at or
    /// after its time (a hair of float error allowed).
    pub fn is_due(&self, now: f64) -> bool {
        self.at.get() <= now + 1e-9
    }
}

fn solo() -> String {
    SOLO_PLAYER.to_string()
}

/// A command as it was applied: when, by whom, and whether it was refused and why.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Record {
    pub at_s: f64,
    pub by: String,
    pub command: Command,
    /// Why the command was refused (null: it was carried out).
    pub refused: Option<String>,
}

impl Record {
    pub fn accepted(&self) -> bool {
        self.refused.is_none()
    }

    /// The remediation, if this is an accepted change to the fleet.
    pub fn remediation(&self) -> Option<&Remediation> {
        match &self.command {
            Command::Apply(r) if self.accepted() => Some(r),
            _ => None,
        }
    }
}

/// Every command with an action-script line, for `firedrill catalog`.
pub const CATALOG: &[(&str, &str)] = &[
    (
        r#"(at: "9m20s", do: Acknowledge(alert: "checkout-availability"))"#,
        "acknowledge the open page of an SLO or alert; unacknowledged pages escalate",
    ),
    (
        r#"(at: "9m25s", do: Look(Red("checkout")))"#,
        "open a view: ServiceMap, Slo(name), Red(service), Saturation(service), Logs(service), Traces(service), Deploys",
    ),
    (
        r#"(at: "9m45s", do: Declare(severity: Sev2))"#,
        "declare the incident (Sev1 worst .. Sev4) or change its severity",
    ),
    (
        r#"(at: "9m40s", by: "alice", do: TakeRole(IncidentCommander))"#,
        "take a role: IncidentCommander, Ops, Comms, Observer (or GameMaster, to run the drill)",
    ),
    (
        r#"(at: "10m", by: "alice", do: Assign(task: "check the deploy diff", owner: "bob", time_box: "15m"))"#,
        "give a task to a person with a time box",
    ),
    (
        r#"(at: "10m30s", do: Update(audience: External, conditions: "Checkouts fail", actions: "Rolling back", needs: "Nothing"))"#,
        "post a status update as a CAN report (Internal or External)",
    ),
    (
        r#"(at: "10m", do: Apply(Rollback(service: "checkout")))"#,
        "apply a remediation (listed below)",
    ),
    (
        r#"(at: "9m55s", do: Estimate(Rollback(service: "checkout")))"#,
        "ask what a remediation would cost each SLO over the next 5 minutes, modelled from what is known now (the scenario may limit or charge for estimates)",
    ),
    (
        r#"(at: "9m50s", do: Hypothesis(fault: "Deploy", target: "checkout"))"#,
        "state the suspected root cause: a fault kind and what it hits",
    ),
    (
        r#"(at: "11m", do: Escalate(service: "payment"))"#,
        "page the expert on a service: they arrive after 5 min and say what they find",
    ),
    (
        r#"(at: "16m", do: Mitigated)"#,
        "say the bleeding has stopped",
    ),
    (
        r#"(at: "17m", do: Resolve)"#,
        "close the incident (while burning or paging: a false close, and it reopens)",
    ),
    (
        r#"(at: "20m", do: Postmortem((title: "Checkout errors after v2.4.0", summary: "...")))"#,
        "write the postmortem in the Google template's fields (see docs/actions.md)",
    ),
    (
        r#"(at: "25m", do: Handoff(note: "checkout SLO at 40% budget; rolled back v2.4.0; next: watch the error ratio"))"#,
        "hand the shift over: what is going on, what was done, what is left (scored when the scenario has a handoff)",
    ),
    (
        r#"(at: "0s", by: "mentor", do: TakeRole(GameMaster))"#,
        "game master: take the seat that runs the drill (one per session; the commands below need it)",
    ),
    (
        r#"(at: "12m", by: "mentor", do: Inject(kind: Crash(instances: 1), target: "web", duration: "5m"))"#,
        "game master: inject a catalog fault now (kind and target as in a scenario's faults)",
    ),
    (
        r#"(at: "13m", by: "mentor", do: Say(from: "VP Engineering", text: "Is checkout down?"))"#,
        "game master: speak for a stakeholder in the chat",
    ),
    (
        r#"(at: "15m", by: "mentor", do: Hint(text: "What changed just before the page?"))"#,
        "game master: give a hint in the chat; each hint costs 5% of the score",
    ),
    (
        r#"(at: "16m", by: "mentor", do: Pause)"#,
        "game master: stop the clock to talk (Resume starts it again)",
    ),
    (
        r#"(at: "30m", by: "mentor", do: EndShift)"#,
        "game master: end the shift for everyone; the debrief follows",
    ),
];
