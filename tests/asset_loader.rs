//! The scenario asset loader, through Bevy's asset server: the game loads (and will
//! hot-reload) scenarios this way, with the same checks as the CLI.

use bevy::asset::{AssetPlugin, LoadState};
use bevy::prelude::*;
use firedrill::session::ScenarioAsset;

fn app() -> App {
    let mut app = App::new();
    app.add_plugins((
        MinimalPlugins,
        AssetPlugin {
            file_path: env!("CARGO_MANIFEST_DIR").to_string(),
            ..default()
        },
        firedrill::session::plugin,
    ));
    app
}

fn wait(app: &mut App, handle: &Handle<ScenarioAsset>) -> LoadState {
    for _ in 0..2_000 {
        app.update();
        let state = app.world().resource::<AssetServer>().load_state(handle);
        if matches!(state, LoadState::Loaded | LoadState::Failed(_)) {
            return state;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    panic!("the asset never finished loading");
}

#[test]
fn loads_a_valid_scenario() {
    let mut app = app();
    let handle: Handle<ScenarioAsset> = app
        .world()
        .resource::<AssetServer>()
        .load("scenarios/shop.ron");
    assert!(matches!(wait(&mut app, &handle), LoadState::Loaded));
    let assets = app.world().resource::<Assets<ScenarioAsset>>();
    let scenario = &assets.get(&handle).unwrap().loaded.scenario;
    assert_eq!(scenario.name, "shop");
    assert_eq!(scenario.services.len(), 14);
}

#[test]
fn reports_located_errors_for_an_invalid_scenario() {
    let mut app = app();
    let handle: Handle<ScenarioAsset> = app
        .world()
        .resource::<AssetServer>()
        .load("tests/bad/unknown-service.ron");
    match wait(&mut app, &handle) {
        LoadState::Failed(error) => {
            let text = error.to_string();
            assert!(
                text.contains("tests/bad/unknown-service.ron:8:26: services[0].calls[0].to: unknown service \"paymnt\""),
                "{text}"
            );
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert!(app.world().resource::<Assets<ScenarioAsset>>().is_empty());
}
