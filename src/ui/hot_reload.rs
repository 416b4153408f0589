//! Hot reload of the scenario being played, through Bevy's asset server: the played file is
//! loaded as a [`ScenarioAsset`] from a watched asset source; an edit that loads restarts the
//! run on the new version, one that does not shows its located errors while the last good
//! version keeps running.

use std::path::{Path, PathBuf};

use bevy::asset::{AssetLoadError, AssetLoadFailedEvent, AssetPath};
use bevy::prelude::*;

use super::Game;
use crate::net::Link;
use crate::scenario::LoadError;
use crate::session::{ScenarioAsset, scenario_assets, watched_source};

/// The asset sources scenarios are read from: a name and the folder it stands for.
#[derive(Resource, Clone, Debug, Default)]
pub struct ScenarioSources(pub Vec<(String, PathBuf)>);

impl ScenarioSources {
    /// The scenarios folder, and the folder of a scenario played from elsewhere.
    pub fn new(scenarios: &Path, played: Option<&Path>) -> Self {
        let mut sources = vec![("scenarios".to_string(), absolute(scenarios))];
        if let Some(dir) = played.and_then(Path::parent) {
            let dir = absolute(dir);
            if sources.iter().all(|(_, known)| *known != dir) {
                sources.push(("played".to_string(), dir));
            }
        }
        Self(sources)
    }

    /// The asset path of the scenario file at `path`, when a source holds it.
    fn asset_path(&self, path: &Path) -> Option<AssetPath<'static>> {
        let path = absolute(path);
        let (name, _) = self.0.iter().find(|(_, dir)| path.parent() == Some(dir))?;
        let file = path.file_name()?.to_str()?;
        Some(AssetPath::from(format!("{name}://{file}")))
    }

    /// Registers the sources (before the asset plugin is added).
    pub fn register(&self, app: &mut App) {
        for (name, dir) in &self.0 {
            app.register_asset_source(name.clone(), watched_source(dir.clone()));
        }
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Hot reload for an app whose `Game` plays scenarios read from `ScenarioSources` (already
/// registered, with the asset plugin watching for changes).
pub fn plugin(app: &mut App) {
    let sources = app
        .world()
        .get_resource::<ScenarioSources>()
        .cloned()
        .unwrap_or_default();
    scenario_assets(app, sources.0);
    app.init_resource::<Watched>()
        .add_systems(Update, (watch_played, apply_edits).chain());
}

/// The played scenario's asset, held so the server keeps it (and reloads it) while it plays.
#[derive(Resource, Default)]
struct Watched {
    path: Option<PathBuf>,
    handle: Option<Handle<ScenarioAsset>>,
}

/// Loads the scenario being played as an asset when the game starts another one.
fn watch_played(
    game: NonSend<Game>,
    sources: Res<ScenarioSources>,
    server: Res<AssetServer>,
    mut watched: ResMut<Watched>,
) {
    // At a shared table the scenario is the host's, fixed for the session.
    let path = match game.link {
        Link::Solo => game.scenario_path.clone(),
        _ => None,
    };
    if path != watched.path {
        watched.handle = path
            .as_deref()
            .and_then(|p| sources.asset_path(p))
            .map(|asset| server.load(asset));
        watched.path = path;
    }
}

/// Restarts the run on an edited scenario, or shows why the edit does not load.
fn apply_edits(
    mut game: NonSendMut<Game>,
    watched: Res<Watched>,
    assets: Res<Assets<ScenarioAsset>>,
    mut edits: MessageReader<AssetEvent<ScenarioAsset>>,
    mut failures: MessageReader<AssetLoadFailedEvent<ScenarioAsset>>,
) {
    let Some(handle) = &watched.handle else {
        edits.clear();
        failures.clear();
        return;
    };
    for failure in failures.read().filter(|f| f.id == handle.id()) {
        game.reload_error = Some(located(&failure.error));
    }
    for edit in edits.read() {
        if edit.is_modified(handle)
            && let Some(asset) = assets.get(handle)
        {
            game.reload(&asset.file, &asset.text);
        }
    }
}

/// The loader's located diagnostics, without the asset server's wrapping.
fn located(error: &AssetLoadError) -> String {
    match error {
        AssetLoadError::AssetLoaderError(failed) => failed
            .error()
            .downcast_ref::<LoadError>()
            .map_or_else(|| failed.to_string(), ToString::to_string),
        other => other.to_string(),
    }
}
