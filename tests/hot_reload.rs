//! Editing the scenario being played: a valid edit restarts the run on the new version, an
//! invalid one keeps the last good version running and shows the located errors.
#![cfg(feature = "gui")]

use std::time::{Duration, SystemTime};

use firedrill::ui::{Game, PlayOptions};

const SCENARIO: &str = r#"(name: "reload", duration: "10m",
    services: [(name: "api", instances: 2)],
    traffic: [(to: "api", rate: 20.0)])"#;

/// Writes `text` and moves the file's modification time on, as an editor's save does.
fn save(path: &std::path::Path, text: &str, age: u64) {
    std::fs::write(path, text).unwrap();
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() + Duration::from_secs(age))
        .unwrap();
}

#[test]
fn editing_the_scenario_restarts_the_run_or_shows_its_errors() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("hot-reload");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("reload.ron");
    save(&path, SCENARIO, 0);
    let mut game = Game::new(PlayOptions {
        scenario: Some(path.clone()),
        speed: 1.0,
        player: "author".into(),
        ..Default::default()
    })
    .unwrap();
    let now = |game: &Game| game.session.as_ref().unwrap().sim.clock().now();
    game.session.as_mut().unwrap().sim.run_until(60.0);
    game.check_reload();
    assert_eq!(now(&game), 60.0, "nothing changed: the run goes on");

    // A typo: the run goes on, and the window shows where the error is.
    save(&path, &SCENARIO.replace("(to: \"api\"", "(to: \"apo\""), 10);
    game.check_reload();
    assert_eq!(now(&game), 60.0);
    let error = game.reload_error.clone().expect("the error is shown");
    assert!(
        error.contains(
            "reload.ron:3:20: traffic[0].to: unknown service \"apo\" (did you mean \"api\"?)"
        ),
        "{error}"
    );

    // Fixed, with another rate: the run restarts on the new version.
    save(&path, &SCENARIO.replace("20.0", "40.0"), 20);
    game.check_reload();
    assert!(game.reload_error.is_none());
    let session = game.session.as_ref().unwrap();
    assert_eq!(session.sim.clock().now(), 0.0);
    assert_eq!(session.scenario.traffic[0].rate, 40.0);
}
