//! Which steps of a scenario's runbooks the responders followed, and when: a step is
//! followed by the first accepted command that does what it says (a look at what it names,
//! or the remediation it prescribes).

use serde::Serialize;

use super::{Command, Record, View};
use crate::scenario::{RunbookSpec, RunbookStep};

/// One runbook as the responders worked through it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RunbookProgress {
    pub alert: String,
    pub title: String,
    pub steps: Vec<StepProgress>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StepProgress {
    pub text: String,
    /// When a command first did what the step says; none if nobody did (or the step says
    /// nothing a command can do).
    pub followed_s: Option<f64>,
    /// Whether a command can follow it at all.
    pub checkable: bool,
}

/// The progress through each runbook, given the commands issued so far.
pub fn progress(runbooks: &[RunbookSpec], records: &[Record]) -> Vec<RunbookProgress> {
    runbooks
        .iter()
        .map(|runbook| RunbookProgress {
            alert: runbook.alert.clone(),
            title: runbook.title.clone(),
            steps: runbook
                .steps
                .iter()
                .map(|step| StepProgress {
                    text: step.text.clone(),
                    followed_s: records
                        .iter()
                        .filter(|r| r.accepted())
                        .find(|r| follows(step, &r.command))
                        .map(|r| r.at_s),
                    checkable: step.look.is_some() || step.apply.is_some(),
                })
                .collect(),
        })
        .collect()
}

/// Whether `command` does what `step` says.
fn follows(step: &RunbookStep, command: &Command) -> bool {
    match command {
        Command::Look(view) => step
            .look
            .as_deref()
            .is_some_and(|what| looks_at(view, what)),
        Command::Apply(remediation) => step
            .apply
            .as_ref()
            .is_some_and(|pattern| remediation.fits(pattern)),
        _ => false,
    }
}

fn looks_at(view: &View, what: &str) -> bool {
    match view {
        View::Slo(name)
        | View::Red(name)
        | View::Saturation(name)
        | View::Logs(name)
        | View::Traces(name) => name == what,
        View::Deploys => what == "Deploys",
        View::ServiceMap => what == "ServiceMap",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remediation::Remediation;
    use crate::scenario::ActionPattern;

    fn record(at_s: f64, command: Command, refused: bool) -> Record {
        Record {
            at_s,
            by: "on-call".to_string(),
            command,
            refused: refused.then(|| "no".to_string()),
        }
    }

    #[test]
    fn a_step_is_followed_by_the_first_accepted_command_that_does_it() {
        let runbook = RunbookSpec {
            alert: "web-availability".into(),
            title: "Orders down".into(),
            updated: String::new(),
            steps: vec![
                RunbookStep {
                    text: "Read the orders log".into(),
                    link: None,
                    look: Some("orders".into()),
                    apply: None,
                },
                RunbookStep {
                    text: "Restart the database".into(),
                    link: None,
                    look: None,
                    apply: Some(ActionPattern {
                        action: "RestartAll".into(),
                        target: Some("orders-db".into()),
                    }),
                },
                RunbookStep {
                    text: "Tell the team".into(),
                    link: Some("https://chat.example/incidents".into()),
                    look: None,
                    apply: None,
                },
            ],
        };
        let restart = |service: &str| {
            Command::Apply(Remediation::RestartAll {
                service: service.into(),
            })
        };
        let records = [
            record(10.0, Command::Look(View::Red("web".into())), false),
            record(20.0, Command::Look(View::Logs("orders".into())), true),
            record(
                30.0,
                Command::Look(View::Saturation("orders".into())),
                false,
            ),
            record(40.0, restart("orders"), false),
            record(50.0, restart("orders-db"), false),
            record(60.0, Command::Look(View::Logs("orders".into())), false),
        ];
        let steps = &progress(&[runbook], &records)[0].steps;
        // The refused look does not count; the first accepted one does.
        assert_eq!(steps[0].followed_s, Some(30.0));
        // Restarting another service is not the step.
        assert_eq!(steps[1].followed_s, Some(50.0));
        assert_eq!(steps[2].followed_s, None);
        assert!(!steps[2].checkable);
    }
}
