//! A trainee's profile (competencies over sessions, time to acknowledge and to mitigate) and
//! what to play next: the assigned scenarios, then the ladder tutorial -> easy -> medium ->
//! hard, then the scenario where the weakest competency fared worst.

use std::collections::BTreeMap;

use super::{Assignment, Judged, Progress, Session, mean, played_by};
use crate::scenario::Difficulty;
use crate::scoring::competency::Competency;

/// A scenario is cleared (its step of the ladder climbed) when resolved with this score.
pub const PASS_PERCENT: f64 = 70.0;

/// Each competency's share of the points its criteria could earn, in percent; competencies
/// no criterion judged are left out. Penalty lines judge no competency.
pub fn competency_shares<'a>(
    criteria: impl IntoIterator<Item = &'a Judged>,
) -> BTreeMap<Competency, f64> {
    let mut sums = BTreeMap::<Competency, (f64, f64)>::new();
    for judged in criteria {
        if let Some(competency) = Competency::of(&judged.criterion)
            && judged.max > 0.0
        {
            let (points, max) = sums.entry(competency).or_default();
            *points += judged.points.clamp(0.0, judged.max);
            *max += judged.max;
        }
    }
    sums.into_iter()
        .map(|(competency, (points, max))| (competency, points / max * 100.0))
        .collect()
}

/// One scored session in a trainee's profile.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ProfileSession {
    pub finished_at: String,
    pub scenario: String,
    pub percent: f64,
    pub competencies: BTreeMap<Competency, f64>,
    pub time_to_acknowledge_s: Option<f64>,
    pub time_to_mitigate_s: Option<f64>,
}

/// A trainee's record: every scored session in order, and the competencies over them all.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Profile {
    pub player: String,
    pub sessions: Vec<ProfileSession>,
    /// Each competency's share of its points over every session, in percent.
    pub competencies: BTreeMap<Competency, f64>,
    pub mean_time_to_acknowledge_s: Option<f64>,
    pub mean_time_to_mitigate_s: Option<f64>,
}

impl Profile {
    /// The competency with the lowest share, if any was judged (ties: the earlier one).
    pub fn weakest(&self) -> Option<(Competency, f64)> {
        self.competencies
            .iter()
            .map(|(c, share)| (*c, *share))
            .reduce(|weakest, next| if next.1 < weakest.1 { next } else { weakest })
    }
}

/// The profile of `player` from `sessions` in the order they finished.
pub fn profile(sessions: &[Session], player: &str) -> Profile {
    let scored: Vec<&Session> = sessions
        .iter()
        .filter(|s| played_by(s, player) && s.percent().is_some())
        .collect();
    Profile {
        player: player.to_string(),
        sessions: scored
            .iter()
            .map(|s| ProfileSession {
                finished_at: s.finished_at.clone(),
                scenario: s.scenario.clone(),
                percent: s.percent().unwrap_or(0.0),
                competencies: competency_shares(&s.criteria),
                time_to_acknowledge_s: s.time_to_acknowledge_s,
                time_to_mitigate_s: s.time_to_mitigate_s,
            })
            .collect(),
        competencies: competency_shares(scored.iter().flat_map(|s| &s.criteria)),
        mean_time_to_acknowledge_s: mean(scored.iter().filter_map(|s| s.time_to_acknowledge_s)),
        mean_time_to_mitigate_s: mean(scored.iter().filter_map(|s| s.time_to_mitigate_s)),
    }
}

/// A scored scenario that can be recommended.
#[derive(Clone, Debug)]
pub struct Candidate<'a> {
    pub name: &'a str,
    pub difficulty: Difficulty,
}

/// Why a scenario is recommended.
#[derive(Clone, Debug, PartialEq)]
pub enum Why {
    /// A mentor assigned it and it is not cleared yet.
    Assigned { by: String },
    /// The first step of the ladder not climbed yet.
    Ladder(Difficulty),
    /// Every step is climbed: practise the weakest competency where it fared worst.
    Weakest(Competency, f64),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Recommendation {
    pub scenario: String,
    pub why: Why,
}

impl Recommendation {
    /// One line for the picker.
    pub fn reason(&self) -> String {
        match &self.why {
            Why::Assigned { by } => format!("assigned to you by {by}"),
            Why::Ladder(level) => format!(
                "the next step of the ladder: clear a {} scenario (resolved, at least {PASS_PERCENT:.0}%)",
                format!("{level:?}").to_lowercase()
            ),
            Why::Weakest(competency, share) => format!(
                "your weakest competency is {} ({share:.0}%), and it fared worst here",
                competency.title()
            ),
        }
    }
}

/// What `player` should play next, from the scored scenarios in the picker's order, their
/// progress on each, their profile and their assignments: an assigned scenario not cleared
/// yet; else the ladder's first step not climbed (a scenario not played yet, else the one
/// with the lowest best score); else the scenario where the weakest competency fared worst.
pub fn recommend(
    candidates: &[Candidate],
    progress: &BTreeMap<String, Progress>,
    profile: &Profile,
    assignments: &[Assignment],
) -> Option<Recommendation> {
    let progress_of = |name: &str| progress.get(name).cloned().unwrap_or_default();
    let offered = |name: &str| candidates.iter().any(|c| c.name == name);
    if let Some(assigned) = assignments.iter().find(|a| {
        a.player == profile.player && offered(&a.scenario) && !progress_of(&a.scenario).cleared
    }) {
        return Some(Recommendation {
            scenario: assigned.scenario.clone(),
            why: Why::Assigned {
                by: assigned.by.clone(),
            },
        });
    }
    let ladder = [
        Difficulty::Tutorial,
        Difficulty::Easy,
        Difficulty::Medium,
        Difficulty::Hard,
    ];
    for level in ladder {
        let step: Vec<&Candidate> = candidates
            .iter()
            .filter(|c| c.difficulty == level)
            .collect();
        if step.is_empty() || step.iter().any(|c| progress_of(c.name).cleared) {
            continue;
        }
        let next = step
            .iter()
            .min_by(|a, b| {
                let best = |c: &Candidate| {
                    let p = progress_of(c.name);
                    (p.sessions > 0, p.best_percent.unwrap_or(0.0))
                };
                let (a, b) = (best(a), best(b));
                a.0.cmp(&b.0).then(a.1.total_cmp(&b.1))
            })
            .expect("the step has scenarios");
        return Some(Recommendation {
            scenario: next.name.to_string(),
            why: Why::Ladder(level),
        });
    }
    let (weakest, share) = profile.weakest()?;
    candidates
        .iter()
        .filter_map(|c| {
            let fared = *progress_of(c.name).last_competencies.get(&weakest)?;
            Some((c.name, fared))
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(name, _)| Recommendation {
            scenario: name.to_string(),
            why: Why::Weakest(weakest, share),
        })
}

#[cfg(test)]
mod tests {
    use super::super::tests::judged;
    use super::*;

    #[test]
    fn competencies_sum_their_criteria_and_leave_penalties_and_unjudged_out() {
        let shares = competency_shares(&[
            judged("declare", 10.0, 10.0),
            judged("roles", 0.0, 10.0),
            judged("delegation", 5.0, 20.0),
            judged("hints", -12.0, 0.0),
            judged("handoff", 0.0, 0.0),
        ]);
        // Triage: (10 + 0 + 5) / (10 + 10 + 20).
        assert_eq!(shares, BTreeMap::from([(Competency::Triage, 37.5)]));
    }

    fn record(cleared: bool, best: Option<f64>, weakest_share: Option<f64>) -> Progress {
        Progress {
            sessions: usize::from(best.is_some()),
            best_percent: best,
            cleared,
            last_competencies: weakest_share
                .map(|s| BTreeMap::from([(Competency::Communication, s)]))
                .unwrap_or_default(),
            ..Default::default()
        }
    }

    #[test]
    fn the_recommendation_follows_assignments_then_the_ladder_then_the_weakest_competency() {
        let candidates = [
            Candidate {
                name: "tutorial",
                difficulty: Difficulty::Tutorial,
            },
            Candidate {
                name: "leak",
                difficulty: Difficulty::Easy,
            },
            Candidate {
                name: "cache",
                difficulty: Difficulty::Easy,
            },
            Candidate {
                name: "storm",
                difficulty: Difficulty::Hard,
            },
        ];
        let profile = Profile {
            player: "ana".into(),
            competencies: BTreeMap::from([
                (Competency::Communication, 40.0),
                (Competency::Mitigation, 80.0),
            ]),
            ..Default::default()
        };
        let mut progress = BTreeMap::from([
            ("tutorial".to_string(), record(true, Some(95.0), Some(90.0))),
            ("leak".to_string(), record(false, Some(50.0), Some(20.0))),
        ]);
        let next = |progress: &BTreeMap<String, Progress>, assignments: &[Assignment]| {
            recommend(&candidates, progress, &profile, assignments).map(|r| (r.scenario, r.why))
        };
        // The tutorial is cleared; easy is not: the easy one not played yet comes first.
        assert_eq!(
            next(&progress, &[]),
            Some(("cache".into(), Why::Ladder(Difficulty::Easy)))
        );
        // An assignment comes before the ladder, for its own player only, until cleared.
        let assigned = |player: &str, scenario: &str| Assignment {
            player: player.into(),
            scenario: scenario.into(),
            by: "mentor".into(),
            at: String::new(),
        };
        assert_eq!(
            next(
                &progress,
                &[assigned("bo", "storm"), assigned("ana", "storm")]
            ),
            Some((
                "storm".into(),
                Why::Assigned {
                    by: "mentor".into()
                }
            ))
        );
        assert_eq!(
            next(&progress, &[assigned("ana", "tutorial")]).map(|(s, _)| s),
            Some("cache".into()),
            "an assignment already cleared is done"
        );
        // Easy played on both: the lower best score is the one to try again.
        progress.insert("cache".into(), record(false, Some(65.0), Some(70.0)));
        assert_eq!(
            next(&progress, &[]),
            Some(("leak".into(), Why::Ladder(Difficulty::Easy)))
        );
        // Every step cleared (medium has no scenario here): the weakest competency,
        // communication at 40%, fared worst on leak.
        progress.get_mut("leak").unwrap().cleared = true;
        progress.insert("storm".into(), record(true, Some(80.0), Some(60.0)));
        assert_eq!(
            next(&progress, &[]),
            Some(("leak".into(), Why::Weakest(Competency::Communication, 40.0)))
        );
    }

    #[test]
    fn a_profile_keeps_the_players_scored_sessions_in_order_with_their_trends() {
        let session = |players: &str, points: Option<f64>, tta: Option<f64>| Session {
            scenario: "tutorial".into(),
            players: players.into(),
            points,
            max: points.map(|_| 100.0),
            time_to_acknowledge_s: tta,
            time_to_mitigate_s: tta.map(|t| t * 10.0),
            criteria: vec![judged("acknowledge", points.unwrap_or(0.0) / 10.0, 10.0)],
            ..Default::default()
        };
        let sessions = [
            session("ana", Some(40.0), Some(300.0)),
            session("bo", Some(99.0), Some(1.0)),
            session("ana", None, None),
            session("ana,bo", Some(80.0), Some(60.0)),
        ];
        let ana = profile(&sessions, "ana");
        let percents: Vec<f64> = ana.sessions.iter().map(|s| s.percent).collect();
        assert_eq!(percents, [40.0, 80.0], "scored sessions only, in order");
        assert_eq!(ana.sessions[0].competencies[&Competency::Detection], 40.0);
        // (4 + 8) / (10 + 10).
        assert_eq!(ana.competencies[&Competency::Detection], 60.0);
        assert_eq!(ana.mean_time_to_acknowledge_s, Some(180.0));
        assert_eq!(ana.mean_time_to_mitigate_s, Some(1800.0));
        assert_eq!(ana.weakest(), Some((Competency::Detection, 60.0)));
    }
}
