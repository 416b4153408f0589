//! The six competencies of on-call practice, each the sum of the criteria that judge it: what
//! a trainee's profile and a cohort's record show, and what the picker recommends practising.

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Competency {
    Detection,
    Triage,
    Mitigation,
    Diagnosis,
    Communication,
    Learning,
}

impl Competency {
    pub const ALL: [Competency; 6] = [
        Competency::Detection,
        Competency::Triage,
        Competency::Mitigation,
        Competency::Diagnosis,
        Competency::Communication,
        Competency::Learning,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Competency::Detection => "detection and acknowledgement",
            Competency::Triage => "triage and declaration",
            Competency::Mitigation => "mitigation",
            Competency::Diagnosis => "diagnosis and evidence",
            Competency::Communication => "communication",
            Competency::Learning => "learning and postmortem",
        }
    }

    /// The competency a criterion of [`super::CRITERIA`] judges; None for the penalty lines
    /// (hints, estimates, a response that never helped), which judge no one practice.
    pub fn of(criterion: &str) -> Option<Competency> {
        Some(match criterion {
            "acknowledge" => Competency::Detection,
            "declare" | "roles" | "delegation" => Competency::Triage,
            "mitigate_first" | "rollback_first" | "time_to_mitigate" | "budget" | "no_harm"
            | "verify" | "budget_policy" => Competency::Mitigation,
            "evidence" | "symptom_first" | "hypothesis" => Competency::Diagnosis,
            "communication" | "handoff" => Competency::Communication,
            "postmortem" => Competency::Learning,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_criterion_judges_one_competency_and_every_competency_is_judged() {
        for (id, _, _) in super::super::CRITERIA {
            assert!(Competency::of(id).is_some(), "{id} has no competency");
        }
        for competency in Competency::ALL {
            assert!(
                super::super::CRITERIA
                    .iter()
                    .any(|(id, _, _)| Competency::of(id) == Some(competency)),
                "{competency:?} is judged by no criterion"
            );
        }
        assert_eq!(Competency::of("hints"), None);
    }
}
