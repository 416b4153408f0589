//! Where the game finds its scenarios and assets (the picker's entries are
//! [`crate::history::library`]).

use std::path::{Path, PathBuf};

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
