//! The picker's view of a scenario folder for one player: each scenario with their record
//! on it (best and last score, the criteria most often missed, a mentor's assignment), what
//! to play next and why, and their profile. Built without a window, so tests read it.

use std::path::{Path, PathBuf};

use super::{Candidate, Location, Profile, Progress, Recommendation};
use crate::scenario::Difficulty;

/// A scenario in the picker.
#[derive(Clone, Debug, PartialEq)]
pub struct LibraryEntry {
    pub path: PathBuf,
    pub name: String,
    pub description: String,
    pub difficulty: Option<Difficulty>,
    pub duration_s: f64,
    /// Why it does not load, if it does not.
    pub error: Option<String>,
    /// What the player has done on it so far, from the history.
    pub progress: Progress,
    /// The mentor who assigned it to the player, if one did.
    pub assigned_by: Option<String>,
}

/// A scenario folder as one player sees it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Library {
    /// The tutorial first, then by difficulty; sandboxes without scoring last.
    pub entries: Vec<LibraryEntry>,
    pub recommendation: Option<Recommendation>,
    pub profile: Profile,
    /// Why the history could not be read, if it could not (the picker works without it).
    pub trouble: Option<String>,
}

/// The scenarios in `dir` (action scripts left out), each with what `player` has done on it
/// according to the history at `history`.
pub fn library(dir: &Path, history: Option<&Location>, player: &str) -> Library {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.extension().is_some_and(|e| e == "ron")
                        && !p.to_string_lossy().ends_with(".actions.ron")
                })
                .collect()
        })
        .unwrap_or_default();
    paths.sort();
    let mut entries: Vec<LibraryEntry> = paths.into_iter().map(entry).collect();
    entries.sort_by_key(|e| (e.difficulty.is_none(), e.difficulty));
    let (sessions, assignments, trouble) = match history.map(|h| super::read(h, Some(player))) {
        None => Default::default(),
        Some(Ok((sessions, assignments))) => (sessions, assignments, None),
        Some(Err(error)) => (Vec::new(), Vec::new(), Some(error)),
    };
    let progress = super::progress_of(&sessions, player);
    for entry in &mut entries {
        if let Some(p) = progress.get(&entry.name) {
            entry.progress = p.clone();
        }
        entry.assigned_by = assignments
            .iter()
            .find(|a| a.scenario == entry.name)
            .map(|a| a.by.clone());
    }
    let profile = super::profile(&sessions, player);
    let candidates: Vec<Candidate> = entries
        .iter()
        .filter(|e| e.error.is_none())
        .filter_map(|e| {
            Some(Candidate {
                name: &e.name,
                difficulty: e.difficulty?,
            })
        })
        .collect();
    let recommendation = super::recommend(&candidates, &progress, &profile, &assignments);
    Library {
        entries,
        recommendation,
        profile,
        trouble,
    }
}

fn entry(path: PathBuf) -> LibraryEntry {
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    // Loaded as a session loads it (with the scoring lint), without the session module,
    // which records into this one.
    let file = path.display().to_string();
    match crate::scenario::load_str_with(&file, &text, crate::scoring::lint::check) {
        Ok(loaded) => {
            let scenario = loaded.scenario;
            LibraryEntry {
                description: scenario
                    .incident
                    .as_ref()
                    .map(|i| i.briefing.clone())
                    .filter(|b| !b.is_empty())
                    .unwrap_or(scenario.description.clone()),
                difficulty: scenario.incident.as_ref().map(|i| i.difficulty),
                duration_s: scenario.duration.get(),
                name: scenario.name,
                error: None,
                progress: Progress::default(),
                assigned_by: None,
                path,
            }
        }
        Err(error) => LibraryEntry {
            name: path.display().to_string(),
            description: String::new(),
            difficulty: None,
            duration_s: 0.0,
            error: Some(error.to_string()),
            progress: Progress::default(),
            assigned_by: None,
            path,
        },
    }
}
