//! Scenarios as Bevy assets: the game loads the scenario it plays through the asset server,
//! from a registered asset source for the scenarios folder that a small polling watcher
//! keeps an eye on, so an edited file is reloaded with the same checks as the CLI.
//!
//! Why polling and not Bevy's `file_watcher`: that feature turns on the multi-threaded task
//! executor for the whole engine (and a notify stack), a rebuild of every Bevy crate for one
//! folder of small files; a stat of each file twice a second costs nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use bevy::asset::io::file::FileAssetReader;
use bevy::asset::io::{AssetSourceBuilder, AssetSourceEvent, AssetWatcher, Reader};
use bevy::asset::{AssetLoader, LoadContext};
use bevy::prelude::*;

use crate::scenario::{LoadError, Loaded};

/// How often the watcher looks at the scenario files.
const POLL: Duration = Duration::from_millis(500);

/// Scenarios as assets, loaded from the sources in `roots` (an asset source name and the
/// folder it reads), so diagnostics name the real file.
pub fn scenario_assets(app: &mut App, roots: Vec<(String, PathBuf)>) {
    app.init_asset::<ScenarioAsset>()
        .register_asset_loader(ScenarioLoader { roots });
}

/// A validated scenario loaded through Bevy's asset server, with the text it was read from.
#[derive(Asset, TypePath, Debug)]
pub struct ScenarioAsset {
    pub loaded: Loaded,
    /// The file, as diagnostics name it.
    pub file: String,
    pub text: String,
}

/// Loads `.ron` scenario files with the same checks as [`super::load_str`] (the game's
/// checks included).
#[derive(Default, TypePath)]
pub struct ScenarioLoader {
    roots: Vec<(String, PathBuf)>,
}

impl ScenarioLoader {
    /// The file an asset path stands for: under its source's folder when it has one.
    fn file_name(&self, load_context: &LoadContext<'_>) -> String {
        let asset = load_context.path();
        let source = asset.source().as_str();
        match self
            .roots
            .iter()
            .find(|(name, _)| Some(name.as_str()) == source)
        {
            Some((_, root)) => root.join(asset.path()).display().to_string(),
            None => asset.to_string(),
        }
    }
}

impl AssetLoader for ScenarioLoader {
    type Asset = ScenarioAsset;
    type Settings = ();
    type Error = LoadError;

    async fn load(
        &self,
        reader: &mut dyn Reader,
        _settings: &(),
        load_context: &mut LoadContext<'_>,
    ) -> Result<ScenarioAsset, LoadError> {
        let file = self.file_name(load_context);
        let mut bytes = Vec::new();
        if let Err(error) = reader.read_to_end(&mut bytes).await {
            return Err(LoadError::file(&file, &error.to_string()));
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| LoadError::file(&file, "the file is not valid UTF-8 text"))?;
        let loaded = super::load_str(&file, &text)?;
        Ok(ScenarioAsset { loaded, file, text })
    }

    fn extensions(&self) -> &[&str] {
        &["ron"]
    }
}

/// An asset source reading the files under `dir`, watched for changes by polling.
pub fn watched_source(dir: PathBuf) -> AssetSourceBuilder {
    let root = dir.clone();
    AssetSourceBuilder::new(move || Box::new(FileAssetReader::new(&root)))
        .with_watcher(move |sender| Some(Box::new(PollingWatcher::start(dir.clone(), sender)) as _))
}

/// Tells the asset server which files changed, from a thread that compares their
/// modification times and sizes twice a second. Stops when dropped.
struct PollingWatcher {
    stop: Arc<AtomicBool>,
}

impl AssetWatcher for PollingWatcher {}

impl Drop for PollingWatcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl PollingWatcher {
    fn start(dir: PathBuf, sender: async_channel::Sender<AssetSourceEvent>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let watch = move || {
            let mut seen = stamps(&dir);
            while !stopped.load(Ordering::Relaxed) {
                std::thread::sleep(POLL);
                let now = stamps(&dir);
                for (path, stamp) in &now {
                    let event = match seen.get(path) {
                        Some(before) if before == stamp => continue,
                        Some(_) => AssetSourceEvent::ModifiedAsset(path.clone()),
                        None => AssetSourceEvent::AddedAsset(path.clone()),
                    };
                    if sender.send_blocking(event).is_err() {
                        return; // the asset server is gone
                    }
                }
                seen = now;
            }
        };
        if let Err(error) = std::thread::Builder::new()
            .name("scenario watcher".into())
            .spawn(watch)
        {
            eprintln!("firedrill: files are not watched for changes: {error}");
        }
        Self { stop }
    }
}

/// How deep the watcher looks into subfolders (`assets/icons/..`).
const DEPTH: usize = 3;

/// Each file under `dir` (relative to it, a few folders deep) with its modification time and
/// size.
fn stamps(dir: &Path) -> BTreeMap<PathBuf, (Option<SystemTime>, u64)> {
    let mut stamps = BTreeMap::new();
    let mut folders = vec![(PathBuf::new(), 0)];
    while let Some((folder, depth)) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(dir.join(&folder)) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            let relative = folder.join(entry.file_name());
            if meta.is_dir() {
                if depth < DEPTH {
                    folders.push((relative, depth + 1));
                }
            } else {
                stamps.insert(relative, (meta.modified().ok(), meta.len()));
            }
        }
    }
    stamps
}
