//! The scenario library: where the game finds its scenarios, and the picker's entries.

use std::path::{Path, PathBuf};

use super::screens::picker::LibraryEntry;
use crate::session::load_str;

/// The folder of scenarios the picker shows and the window watches: the one the flag names,
/// else `scenarios/` in the working directory, next to the executable, or in the source
/// tree the game was built from (so `cargo run` finds it from any folder).
pub fn scenarios_dir(flag: Option<&Path>) -> PathBuf {
    if let Some(dir) = flag {
        return dir.to_path_buf();
    }
    let beside_exe = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("scenarios")));
    let candidates = [Some(PathBuf::from("scenarios")), beside_exe]
        .into_iter()
        .flatten()
        .chain([Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")]);
    candidates
        .into_iter()
        .find(|dir| dir.is_dir())
        .unwrap_or_else(|| PathBuf::from("scenarios"))
}

/// The folder of assets the window loads at run time (`assets/`), found as the scenarios are.
pub fn assets_dir() -> PathBuf {
    let beside_exe = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("assets")));
    [Some(PathBuf::from("assets")), beside_exe]
        .into_iter()
        .flatten()
        .chain([Path::new(env!("CARGO_MANIFEST_DIR")).join("assets")])
        .find(|dir| dir.is_dir())
        .unwrap_or_else(|| PathBuf::from("assets"))
}

/// The scenarios in `dir` for the picker (action scripts left out), each with what `player`
/// has done on it according to the history in `data_dir` (none without one, or if it cannot
/// be read: the picker works without a history).
pub fn library(dir: &Path, data_dir: Option<&Path>, player: &str) -> Vec<LibraryEntry> {
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
    let mut entries: Vec<LibraryEntry> = paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            match load_str(&path.display().to_string(), &text) {
                Ok(loaded) => LibraryEntry {
                    name: loaded.scenario.name.clone(),
                    description: loaded
                        .scenario
                        .incident
                        .as_ref()
                        .map(|i| i.briefing.clone())
                        .filter(|b| !b.is_empty())
                        .unwrap_or(loaded.scenario.description.clone()),
                    difficulty: loaded.scenario.incident.as_ref().map(|i| i.difficulty),
                    duration_s: loaded.scenario.duration.get(),
                    error: None,
                    progress: Default::default(),
                    path,
                },
                Err(error) => LibraryEntry {
                    name: path.display().to_string(),
                    description: String::new(),
                    difficulty: None,
                    duration_s: 0.0,
                    error: Some(error.to_string()),
                    progress: Default::default(),
                    path,
                },
            }
        })
        .collect();
    let sessions = data_dir
        .and_then(|dir| crate::history::History::open(&crate::history::database(dir)).ok())
        .and_then(|history| history.sessions(None).ok())
        .unwrap_or_default();
    let progress = crate::history::progress_of(&sessions, player);
    for entry in &mut entries {
        if let Some(p) = progress.get(&entry.name) {
            entry.progress = p.clone();
        }
    }
    // The tutorial first, then by difficulty; sandboxes without scoring last.
    entries.sort_by_key(|e| (e.difficulty.is_none(), e.difficulty));
    entries
}
