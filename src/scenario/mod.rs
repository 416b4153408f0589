//! Scenario files: the RON format, loading with located diagnostics, and a Bevy asset
//! loader so the game can hot-reload the file it is playing.

mod duration;
mod format;
mod load;
mod locate;
mod validate;

use bevy::asset::io::Reader;
use bevy::asset::{AssetLoader, LoadContext};
use bevy::prelude::*;

pub use duration::{Seconds, parse_duration};
pub use format::*;
pub use load::{Diagnostic, LoadError, Loaded, load_file, load_str, ron_options, syntax_error};
pub use locate::{Locator, Position};
pub use validate::{Problem, Severity, check, check_extra_fault, closest};

pub(super) fn plugin(app: &mut App) {
    app.init_asset::<ScenarioAsset>()
        .register_asset_loader(ScenarioLoader);
}

/// A validated scenario loaded through Bevy's asset server.
#[derive(Asset, TypePath, Debug)]
pub struct ScenarioAsset {
    pub loaded: Loaded,
}

/// Loads `.ron` scenario files with the same checks as [`load_str`].
#[derive(Default, TypePath)]
pub struct ScenarioLoader;

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
        let file = load_context.path().to_string();
        let mut bytes = Vec::new();
        if let Err(error) = reader.read_to_end(&mut bytes).await {
            return Err(LoadError::file(&file, &error.to_string()));
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| LoadError::file(&file, "the file is not valid UTF-8 text"))?;
        load_str(&file, &text).map(|loaded| ScenarioAsset { loaded })
    }

    fn extensions(&self) -> &[&str] {
        &["ron"]
    }
}
