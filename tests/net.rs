//! A game day in one process, over loopback UDP: a host and two players. The host enforces
//! roles, a player who leaves keeps their seat and role and catches up on rejoining, garbage
//! sent to the host's port is shrugged off, and every player's simulation matches the host's
//! bit for bit.
#![cfg(feature = "gui")]

use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy::state::app::StatesPlugin;
use bevy_replicon_renet::RenetClient;
use firedrill::incident::{Command, Role};
use firedrill::net::Link;
use firedrill::net::link::{host, join, plugin};
use firedrill::remediation::Remediation;
use firedrill::ui::{Game, PlayOptions, Screen};

const CODE: &str = "TEST42";

fn table(options: PlayOptions) -> App {
    let mut app = App::new();
    app.add_plugins((MinimalPlugins, StatesPlugin))
        .insert_non_send(Game::new(options).expect("the game starts"))
        .add_plugins(plugin::<Game>);
    // What `App::run` does before the first frame: plugins finish setting up (replicon sizes
    // its channels here).
    app.finish();
    app.cleanup();
    app
}

fn hosting() -> (App, SocketAddr) {
    let scenario = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/cert-expiry.ron");
    let mut app = table(PlayOptions {
        scenario: Some(scenario),
        player: "gm".into(),
        speed: 1.0,
        ..Default::default()
    });
    let addr = host::<Game>(app.world_mut(), "127.0.0.1:0", CODE.into()).expect("binds loopback");
    (app, addr)
}

fn player(addr: SocketAddr, code: &str, name: &str, role: Option<Role>) -> App {
    let mut app = table(PlayOptions {
        player: name.into(),
        speed: 1.0,
        ..Default::default()
    });
    join::<Game>(app.world_mut(), addr, (code.into(), name.into(), role)).expect("connects");
    app
}

fn game(app: &App) -> &Game {
    app.world().non_send::<Game>()
}

fn game_mut(app: &mut App) -> Mut<'_, Game> {
    app.world_mut().non_send_mut::<Game>()
}

fn now(app: &App) -> f64 {
    game(app)
        .session
        .as_ref()
        .map_or(-1.0, |s| s.sim.clock().now())
}

/// Updates every app until `done` holds (or fails after 10 s of real time).
fn pump(apps: &mut [&mut App], what: &str, done: impl Fn(&[&mut App]) -> bool) {
    let started = Instant::now();
    while !done(apps) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        for app in apps.iter_mut() {
            app.update();
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn joined(app: &App) -> bool {
    matches!(&game(app).link, Link::Player(p) if p.joined)
}

fn role(app: &App, name: &str) -> Option<Role> {
    game(app)
        .session
        .as_ref()
        .and_then(|s| s.sim.incident().roles.get(name).copied())
}

/// The host's simulation moves on; players follow its clock.
fn advance(host: &mut App, to: f64) {
    game_mut(host).session.as_mut().unwrap().sim.run_until(to);
}

fn last_record(app: &App, by: &str) -> Option<(bool, String)> {
    game(app).session.as_ref().and_then(|s| {
        s.sim
            .incident()
            .records
            .iter()
            .rev()
            .find(|r| r.by == by)
            .map(|r| (r.accepted(), format!("{:?}", r.command)))
    })
}

#[test]
fn a_host_and_two_players_play_one_incident() {
    let (mut host_app, addr) = hosting();
    let mut ops = player(addr, CODE, "ana", Some(Role::Ops));
    let mut watcher = player(addr, CODE, "bob", Some(Role::Observer));
    pump(
        &mut [&mut host_app, &mut ops, &mut watcher],
        "both players to be seated",
        |apps| joined(apps[1]) && joined(apps[2]),
    );
    // The certificate expires at 4m; the players follow the host's clock. (Commands, the
    // roles taken on joining among them, apply at the host's next tick.)
    advance(&mut host_app, 300.0);
    assert_eq!(role(&host_app, "ana"), Some(Role::Ops));
    assert_eq!(role(&host_app, "bob"), Some(Role::Observer));
    pump(
        &mut [&mut host_app, &mut ops, &mut watcher],
        "the players to catch up",
        |apps| now(apps[1]) == 300.0 && now(apps[2]) == 300.0,
    );
    assert_eq!(role(&ops, "ana"), Some(Role::Ops), "roles replicate too");

    // Ops rotates the certificate: the host's simulation changes.
    let rotate = Command::Apply(Remediation::RotateCertificate {
        service: "payment".into(),
    });
    game_mut(&mut ops).issue(rotate.clone());
    // An observer may not change the system: the host refuses, and records why.
    game_mut(&mut watcher).issue(Command::Apply(Remediation::RestartAll {
        service: "payment".into(),
    }));
    pump(
        &mut [&mut host_app, &mut ops, &mut watcher],
        "the host to receive both commands",
        |apps| game(apps[0]).issued().len() >= 4,
    );
    advance(&mut host_app, 301.0);
    let (accepted, what) = last_record(&host_app, "ana").unwrap();
    assert!(accepted && what.contains("RotateCertificate"), "{what}");
    let refused = game(&host_app)
        .session
        .as_ref()
        .unwrap()
        .sim
        .incident()
        .records
        .iter()
        .find(|r| r.by == "bob" && !r.accepted())
        .expect("the observer's restart is refused");
    assert!(
        format!("{refused:?}").contains("observers watch"),
        "{refused:?}"
    );
    let applied = &game(&host_app)
        .session
        .as_ref()
        .unwrap()
        .sim
        .remediations()
        .applied;
    assert_eq!(applied.len(), 1, "only ops' rotation changed the fleet");
    assert!(applied[0].action.contains("RotateCertificate"));

    // Ana's laptop drops off; her seat and role wait for her.
    ops.world_mut().resource_mut::<RenetClient>().disconnect();
    for _ in 0..5 {
        ops.update();
    }
    drop(ops);
    pump(
        &mut [&mut host_app, &mut watcher],
        "the host to notice ana left",
        |apps| matches!(&game(apps[0]).link, Link::Host(h) if h.present() == ["bob"]),
    );
    advance(&mut host_app, 420.0);
    // She rejoins without asking for a role, catches up, and is ops again.
    let mut back = player(addr, CODE, "ana", None);
    pump(
        &mut [&mut host_app, &mut back, &mut watcher],
        "ana to rejoin and catch up",
        |apps| joined(apps[1]) && now(apps[1]) == 420.0 && now(apps[2]) == 420.0,
    );
    assert_eq!(role(&back, "ana"), Some(Role::Ops));
    let (accepted, what) = last_record(&back, "ana").unwrap();
    assert!(accepted && what.contains("RotateCertificate"), "{what}");

    // Garbage on the host's port: ignored, and the table goes on.
    let noise = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    for len in [0usize, 1, 17, 300, 1100, 1400] {
        let packet: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        noise.send_to(&packet, addr).unwrap();
    }
    // A wrong code mints a connect token the host cannot open: it is never answered.
    let mut stranger = player(addr, "WRONG1", "eve", Some(Role::Ops));
    let started = Instant::now();
    while !matches!(&game(&stranger).link, Link::Player(p) if p.trouble.is_some()) {
        // Netcode gives up on a host that does not answer after its 15-second timeout.
        assert!(
            started.elapsed() < Duration::from_secs(25),
            "the stranger still waits"
        );
        for app in [&mut host_app, &mut back, &mut watcher, &mut stranger] {
            app.update();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    if let Link::Player(p) = &game(&stranger).link {
        assert!(
            p.trouble.as_deref().unwrap().contains("session code"),
            "{:?}",
            p.trouble
        );
        assert!(!p.joined);
    }
    assert!(role(&host_app, "eve").is_none());

    // Lockstep: the players' simulations are the host's, bit for bit.
    advance(&mut host_app, 600.0);
    pump(
        &mut [&mut host_app, &mut back, &mut watcher],
        "everyone at 10 minutes",
        |apps| now(apps[1]) == 600.0 && now(apps[2]) == 600.0,
    );
    let fingerprint = |app: &App| {
        let sim = &game(app).session.as_ref().unwrap().sim;
        (
            sim.slos()
                .iter()
                .map(|s| s.budget_left().to_bits())
                .collect::<Vec<_>>(),
            sim.events_handled(),
            sim.incident().records.len(),
        )
    };
    assert_eq!(fingerprint(&host_app), fingerprint(&back));
    assert_eq!(fingerprint(&host_app), fingerprint(&watcher));
}

fn sim(game: &mut Game) -> &mut firedrill::session::Simulation {
    &mut game.session.as_mut().unwrap().sim
}

#[test]
fn a_crashed_host_resumes_from_its_journal() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("resume");
    let _ = std::fs::remove_dir_all(&dir);
    let scenario = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/cert-expiry.ron");
    let options = PlayOptions {
        scenario: Some(scenario),
        player: "gm".into(),
        speed: 1.0,
        data_dir: Some(dir.clone()),
        ..Default::default()
    };
    let mut before = Game::new(options.clone()).unwrap();
    sim(&mut before).run_until(250.0);
    before.issue(Command::TakeRole(Role::IncidentCommander));
    sim(&mut before).run_until(310.0);
    before.issue(Command::Apply(Remediation::RotateCertificate {
        service: "payment".into(),
    }));
    sim(&mut before).run_until(330.0);
    // The host dies here; its journal is all that is left.
    let journal = std::fs::read_dir(dir.join("journals"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut after = Game::new(PlayOptions {
        scenario: None,
        resume: Some(journal),
        ..options
    })
    .unwrap();
    assert_eq!(after.speed, 0.0, "resumed paused");
    assert_eq!(after.issued(), before.issued());
    assert_eq!(sim(&mut after).clock().now(), 310.0, "at the last command");
    // Carried on, it is the session that would have been.
    sim(&mut before).run_until(600.0);
    sim(&mut after).run_until(600.0);
    let fingerprint = |game: &mut Game| {
        let sim = &game.session.as_ref().unwrap().sim;
        (
            sim.slos()[0].budget_left().to_bits(),
            sim.events_handled(),
            format!("{:?}", sim.incident().records),
        )
    };
    assert_eq!(fingerprint(&mut before), fingerprint(&mut after));
}

#[test]
fn joining_a_table_nobody_hosts_says_so() {
    // A port nobody listens on.
    let addr = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut lost = player(addr, CODE, "ana", None);
    let started = Instant::now();
    let trouble = loop {
        lost.update();
        if let Link::Player(p) = &game(&lost).link
            && let Some(trouble) = &p.trouble
        {
            break trouble.clone();
        }
        // Netcode gives up on a silent host after 5 seconds.
        assert!(started.elapsed() < Duration::from_secs(20), "still waiting");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(trouble.contains("no answer from"), "{trouble}");
}

#[test]
fn the_game_master_directs_the_table_from_the_host() {
    let scenario = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/cert-expiry.ron");
    let mut host_app = table(PlayOptions {
        scenario: Some(scenario),
        player: "mentor".into(),
        speed: 1.0,
        game_master: true,
        ..Default::default()
    });
    let addr =
        host::<Game>(host_app.world_mut(), "127.0.0.1:0", CODE.into()).expect("binds loopback");
    let mut ops = player(addr, CODE, "ana", Some(Role::Ops));
    // Nobody at the table takes the game master's seat, by joining or by asking.
    let mut usurper = player(addr, CODE, "eve", Some(Role::GameMaster));
    pump(
        &mut [&mut host_app, &mut ops, &mut usurper],
        "ana seated and eve turned away",
        |apps| {
            joined(apps[1]) && matches!(&game(apps[2]).link, Link::Player(p) if p.trouble.is_some())
        },
    );
    if let Link::Player(p) = &game(&usurper).link {
        let trouble = p.trouble.as_deref().unwrap();
        assert!(
            trouble.contains("firedrill host --game-master"),
            "{trouble}"
        );
    }
    drop(usurper);
    game_mut(&mut ops).issue(Command::TakeRole(Role::GameMaster));
    pump(
        &mut [&mut host_app, &mut ops],
        "the host to hear ana",
        |apps| game(apps[0]).notice.is_some(),
    );
    let notice = game(&host_app).notice.clone().unwrap();
    assert!(
        notice.starts_with("ana asked for the game master's seat"),
        "{notice}"
    );
    advance(&mut host_app, 60.0);
    assert_eq!(role(&host_app, "mentor"), Some(Role::GameMaster));
    assert_eq!(role(&host_app, "ana"), Some(Role::Ops));

    // The game master breaks the web tier at 1m and nudges the team.
    let inject = Command::Inject {
        kind: firedrill::scenario::FaultKind::Errors { ratio: 0.3 },
        target: "web".into(),
        duration: None,
        name: Some("surprise".into()),
    };
    game_mut(&mut host_app).issue(inject);
    game_mut(&mut host_app).issue(Command::Hint {
        text: "Watch web".into(),
    });
    advance(&mut host_app, 120.0);
    pump(
        &mut [&mut host_app, &mut ops],
        "ana to catch up to 2m",
        |apps| now(apps[1]) == 120.0,
    );
    for app in [&host_app, &ops] {
        let sim = &game(app).session.as_ref().unwrap().sim;
        let surprise = sim.faults().faults.iter().find(|f| f.name == "surprise");
        assert_eq!(surprise.and_then(|f| f.started_at), Some(60.0));
        assert!(
            sim.incident()
                .chat
                .iter()
                .any(|m| m.from == "game master (hint)" && m.text == "Watch web")
        );
    }

    // The game master ends the shift: everyone's debrief follows, at the same tick.
    game_mut(&mut host_app).end_shift();
    assert_eq!(game(&host_app).screen(), Screen::Debrief);
    pump(&mut [&mut host_app, &mut ops], "ana's debrief", |apps| {
        game(apps[1]).screen() == Screen::Debrief
    });
    let fingerprint = |app: &App| {
        let sim = &game(app).session.as_ref().unwrap().sim;
        (
            sim.clock().now(),
            sim.slos()[0].budget_left().to_bits(),
            sim.events_handled(),
            format!("{:?}", sim.incident().records),
        )
    };
    assert_eq!(fingerprint(&host_app), fingerprint(&ops));
    assert!((fingerprint(&ops).0 - 120.1).abs() < 1e-9);
}

/// Connections the host holds.
fn connections(host: &mut App) -> usize {
    host.world_mut()
        .query::<&bevy_replicon::prelude::ConnectedClient>()
        .iter(host.world())
        .count()
}

#[test]
fn without_the_code_nobody_takes_a_slot_and_players_with_it_are_seated() {
    let (mut host_app, addr) = hosting();
    // Sixteen strangers without the code, as many as the table has seats, keep trying.
    let mut strangers: Vec<App> = (0..16)
        .map(|i| player(addr, "GUESS1", &format!("mallory{i}"), None))
        .collect();
    let mut ana = player(addr, CODE, "ana", Some(Role::Ops));
    let started = Instant::now();
    let mut most = 0;
    while !joined(&ana) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the player with the code was not seated"
        );
        host_app.update();
        ana.update();
        for stranger in &mut strangers {
            stranger.update();
        }
        most = most.max(connections(&mut host_app));
        std::thread::sleep(Duration::from_millis(5));
    }
    // Only the player with the code ever held a connection.
    assert_eq!(most, 1, "a stranger took a slot");
    assert!(strangers.iter().all(|s| !joined(s)));
}

#[test]
fn a_connection_that_never_asks_for_a_seat_is_dropped_within_seconds() {
    let (mut host_app, addr) = hosting();
    // It holds the code, so netcode lets it in, but it never asks for a seat.
    let mut idle = player(addr, CODE, "idle", None);
    game_mut(&mut idle).link = Link::Solo;
    let started = Instant::now();
    let mut connected_at = None;
    let held_for = loop {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the idle connection was never dropped"
        );
        host_app.update();
        idle.update();
        match (connections(&mut host_app), connected_at) {
            (1, None) => connected_at = Some(Instant::now()),
            (0, Some(at)) => break at.elapsed(),
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    // Five seconds to ask, by the host's clock; a loaded machine may take longer to notice.
    assert!(
        held_for >= Duration::from_secs(4) && held_for < Duration::from_secs(10),
        "held for {held_for:?}"
    );
    // The slot is free again for a player who asks.
    let mut ana = player(addr, CODE, "ana", Some(Role::Ops));
    pump(&mut [&mut host_app, &mut ana], "ana's seat", |apps| {
        joined(apps[1])
    });
}
