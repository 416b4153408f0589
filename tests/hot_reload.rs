//! Editing the scenario being played, through the asset server as the window does: a valid
//! edit restarts the run on the new version, an invalid one keeps the last good version
//! running and shows the located errors.
#![cfg(feature = "gui")]

use std::path::Path;
use std::time::{Duration, SystemTime};

use bevy::asset::AssetPlugin;
use bevy::prelude::*;
use firedrill::session::ScenarioAsset;
use firedrill::ui::hot_reload::{ScenarioSources, plugin};
use firedrill::ui::{Game, PlayOptions};

const SCENARIO: &str = r#"(name: "reload", duration: "10m",
    services: [(name: "api", instances: 2)],
    traffic: [(to: "api", rate: 20.0)])"#;

/// Writes `text` and moves the file's modification time on, as an editor's save does.
fn save(path: &Path, text: &str, age: u64) {
    std::fs::write(path, text).unwrap();
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() + Duration::from_secs(age))
        .unwrap();
}

/// The window's asset setup, headless: the scenarios folder as a watched source.
fn app(dir: &Path, game: Game) -> App {
    let sources = ScenarioSources::new(dir, game.options.scenario.as_deref());
    let mut app = App::new();
    sources.register(&mut app);
    app.insert_resource(sources);
    app.add_plugins((
        MinimalPlugins,
        AssetPlugin {
            file_path: dir.display().to_string(),
            watch_for_changes_override: Some(true),
            ..default()
        },
        plugin,
    ))
    .insert_non_send(game);
    app
}

/// Updates the app until `done` holds (the watcher polls twice a second).
fn until(app: &mut App, done: impl Fn(&mut App) -> bool) {
    for _ in 0..1_000 {
        app.update();
        if done(app) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the edit was never noticed");
}

fn game(app: &mut App) -> Mut<'_, Game> {
    app.world_mut().non_send_mut::<Game>()
}

#[test]
fn editing_the_scenario_restarts_the_run_or_shows_its_errors() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hot-reload");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("reload.ron");
    save(&path, SCENARIO, 0);
    let started = Game::new(PlayOptions {
        scenario: Some(path.clone()),
        scenarios: Some(dir.clone()),
        speed: 1.0,
        player: "author".into(),
        ..Default::default()
    })
    .unwrap();
    let mut app = app(&dir, started);
    let now = |app: &mut App| game(app).session.as_ref().unwrap().sim.clock().now();
    // The played scenario is an asset once the server has loaded it.
    until(&mut app, |app| {
        !app.world().resource::<Assets<ScenarioAsset>>().is_empty()
    });
    game(&mut app).session.as_mut().unwrap().sim.run_until(60.0);
    for _ in 0..60 {
        app.update();
    }
    assert_eq!(now(&mut app), 60.0, "nothing changed: the run goes on");

    // A typo: the run goes on, and the window shows where the error is.
    save(&path, &SCENARIO.replace("(to: \"api\"", "(to: \"apo\""), 10);
    until(&mut app, |app| game(app).reload_error.is_some());
    assert_eq!(now(&mut app), 60.0);
    let error = game(&mut app)
        .reload_error
        .clone()
        .expect("the error is shown");
    assert!(
        error.contains(
            "reload.ron:3:20: traffic[0].to: unknown service \"apo\" (did you mean \"api\"?)"
        ),
        "{error}"
    );

    // Fixed, with another rate: the run restarts on the new version.
    save(&path, &SCENARIO.replace("20.0", "40.0"), 20);
    until(&mut app, |app| game(app).reload_error.is_none());
    let restarted = game(&mut app);
    let session = restarted.session.as_ref().unwrap();
    assert_eq!(session.sim.clock().now(), 0.0);
    assert_eq!(session.scenario.traffic[0].rate, 40.0);
}
