//! The game window: a scenario picker, the briefing, the control room and the debrief, in
//! Bevy with bevy_egui. The simulation advances in `FixedUpdate`, one scenario tick per fixed
//! step, with the player's speed as the virtual clock's relative speed: the frame rate does
//! not change what happens, only how smoothly it is shown.
//!
//! The game's state is the non-send `Game` (its session, link and options); the panels'
//! state is the `Desk`; which screen is up is the `Screen` state, read off the game. Every
//! command the player issues goes through the session, journaled before it is applied.

pub mod dev_tools;
pub mod game_master;
pub mod hot_reload;
pub mod library;
pub mod markdown;
pub mod model;
pub mod pager_sound;
pub mod panels;
pub mod screens;
mod third_party;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use bevy::prelude::*;

use crate::history::{Library, library};
use crate::incident::journal::Header;
use crate::incident::{Command, Entry};
use crate::net::Link;
use crate::scoring::postmortem_markdown;
use crate::session::{Finished, Overrides, Resumed, Session};
use model::Range;
use panels::{ActionForm, IncidentForm, LogFilter};
pub use screens::Screen;
use screens::control_room::Tab;
use screens::debrief::{DebriefView, PostmortemForm};

/// How the game was started.
#[derive(Clone, Debug, Default)]
pub struct PlayOptions {
    /// Start this scenario (else the picker shows the scenarios folder).
    pub scenario: Option<PathBuf>,
    /// The scenarios folder (else found as [`library::scenarios_dir`] says).
    pub scenarios: Option<PathBuf>,
    pub seed: Option<u64>,
    /// Simulated seconds per real second at the start.
    pub speed: f64,
    pub player: String,
    /// Take a screenshot of the control room once the simulation reaches `after`.
    pub screenshot: Option<PathBuf>,
    pub after: f64,
    /// Quit once the screenshot is saved.
    pub exit: bool,
    /// Where journals go (None: nowhere).
    pub data_dir: Option<PathBuf>,
    /// Where the history is kept (None: nowhere).
    pub history: Option<crate::history::Location>,
    /// Play for this many real seconds, then print frame-time statistics and quit.
    pub measure: Option<f64>,
    /// Serve the fleet's metrics for Prometheus at this address.
    pub metrics_addr: Option<String>,
    /// Play alone, host a table, or join one.
    pub table: TableOptions,
    /// Resume the session this journal recorded instead of starting one.
    pub resume: Option<PathBuf>,
    /// The player runs the drill as its game master.
    pub game_master: bool,
    /// The picker shows the player's profile rather than the scenarios.
    pub profile: bool,
    /// No sound: the audio plugin is left out altogether.
    pub mute: bool,
}

/// Where the game is played: alone, as the host of a table, or at a host's table.
#[derive(Clone, Debug, Default)]
pub enum TableOptions {
    #[default]
    Solo,
    Host {
        bind: String,
        code: String,
    },
    Join {
        addr: std::net::SocketAddr,
        code: String,
        role: Option<crate::incident::Role>,
    },
}

/// The game: the session being played, the table it is played at, and what the player
/// started it with. Not `Send` (the simulation holds its own Bevy `App`), so it lives in the
/// main thread's world.
pub struct Game {
    pub options: PlayOptions,
    /// The picker's scenarios with the player's record on each.
    pub library: Library,
    /// The folder the picker lists.
    pub scenarios: PathBuf,
    /// The scenario being played.
    pub session: Option<Session>,
    /// How many sessions this game started: the desk starts afresh with each.
    sessions_started: u64,
    /// The pager's sound is switched off (the toggle beside the pager).
    pub muted: bool,
    /// The player has left the briefing.
    briefed: bool,
    /// The scenario file the session plays, for hot reload (none for a joined or resumed one).
    scenario_path: Option<PathBuf>,
    /// The debrief of the finished shift.
    pub debrief: Option<DebriefView>,
    pub speed: f64,
    /// Validation errors of the scenario file being edited; the last good version runs.
    pub reload_error: Option<String>,
    /// A message for the player (journal or history trouble).
    pub notice: Option<String>,
    exporter: Option<crate::openmetrics::Exporter>,
    /// Alone, hosting a table, or playing at one.
    pub link: crate::net::Link,
}

/// The player's desk: what the panels hold between frames (the dashboard open, the forms
/// being filled). A new session gets a clean desk.
#[derive(Resource)]
pub struct Desk {
    /// The session the desk belongs to (`Game::sessions_started`).
    session: u64,
    pub selected: Option<usize>,
    pub range: Range,
    pub tab: Tab,
    pub log_filter: LogFilter,
    pub action_form: ActionForm,
    pub incident_form: IncidentForm,
    pub postmortem_form: PostmortemForm,
    pub game_master_form: game_master::GameMasterForm,
}

impl Default for Desk {
    fn default() -> Self {
        Self {
            session: 0,
            selected: None,
            range: Range::FiveMinutes,
            tab: Tab::Logs,
            log_filter: LogFilter::default(),
            action_form: ActionForm::default(),
            incident_form: IncidentForm::default(),
            postmortem_form: PostmortemForm::default(),
            game_master_form: game_master::GameMasterForm::default(),
        }
    }
}

impl Desk {
    /// Clears the desk when the game has started another session since.
    pub fn follow(&mut self, game: &Game) {
        if self.session != game.sessions_started {
            *self = Self {
                session: game.sessions_started,
                ..Self::default()
            };
        }
    }

    /// Opens a service's dashboard and its log, as clicking it on the map does.
    pub fn select_service(&mut self, game: &Game, name: &str) {
        self.follow(game);
        self.selected = game
            .session
            .as_ref()
            .and_then(|s| s.sim.topology().service_index(name));
        self.log_filter.service = self.selected;
    }
}

/// The window's systems: the screens, hot reload, the dev tools, and the shift's clock.
pub fn plugin(app: &mut App) {
    app.init_resource::<Desk>()
        .add_plugins((screens::plugin, hot_reload::plugin, dev_tools::plugin))
        .add_systems(Startup, setup)
        .add_systems(
            FixedUpdate,
            step_simulation.run_if(in_state(Screen::Playing)),
        )
        .add_systems(Update, pace);
}

/// Opens the window and runs the game until it is closed.
pub fn run(options: PlayOptions) -> AppExit {
    // winit panics without a display; say what is missing instead, before a journal is made.
    if cfg!(target_os = "linux")
        && std::env::var_os("DISPLAY").is_none()
        && std::env::var_os("WAYLAND_DISPLAY").is_none()
    {
        eprintln!(
            "firedrill: no display (neither DISPLAY nor WAYLAND_DISPLAY is set): the game window needs one; without a screen, run it under `xvfb-run`, or play headless with `firedrill run --script`"
        );
        return AppExit::error();
    }
    let game = match Game::new(options) {
        Ok(game) => game,
        Err(error) => {
            eprintln!("{error}");
            return AppExit::error();
        }
    };
    let sources =
        hot_reload::ScenarioSources::new(&game.scenarios, game.options.scenario.as_deref());
    let mut app = App::new();
    // Asset sources are read when the asset plugin starts: register them first. The
    // default one is `assets/`, watched like the scenarios.
    sources.register(&mut app);
    app.register_asset_source(
        bevy::asset::io::AssetSourceId::Default,
        crate::session::watched_source(library::assets_dir()),
    );
    app.insert_resource(sources);
    let mute = game.options.mute;
    app.add_plugins(
        default_plugins(mute)
            .set(WindowPlugin {
                primary_window: Some(Window {
                    title: "firedrill".to_string(),
                    resolution: (1600, 1000).into(),
                    ..default()
                }),
                ..default()
            })
            .set(AssetPlugin {
                watch_for_changes_override: Some(true),
                ..default()
            })
            .set(crate::net::noise::log_plugin()),
    )
    .insert_non_send(game)
    .add_plugins((third_party::plugin, plugin));
    if !mute {
        app.add_plugins(pager_sound::plugin);
    }
    if !matches!(
        app.world().non_send::<Game>().options.table,
        TableOptions::Solo
    ) {
        app.add_plugins(crate::net::link::plugin::<Game>)
            .add_systems(Startup, open_table);
    }
    app.run()
}

/// Bevy's plugins for the window; with `mute`, without audio at all (no device is opened).
pub fn default_plugins(mute: bool) -> bevy::app::PluginGroupBuilder {
    let plugins = DefaultPlugins.build();
    if mute {
        plugins.disable::<bevy::audio::AudioPlugin>()
    } else {
        plugins
    }
}

/// Hosts or joins the table the command line asked for, once the plugins are set up.
fn open_table(world: &mut World) {
    let table = world.non_send::<Game>().options.table.clone();
    let opened = match table {
        TableOptions::Solo => Ok(()),
        TableOptions::Host { bind, code } => crate::net::link::host::<Game>(world, &bind, code.clone())
            .map(|addr| {
                eprintln!(
                    "hosting at {addr}, session code {code}: players join with `firedrill join {addr} --code {code} --name NAME [--role ops]`"
                );
            }),
        TableOptions::Join { addr, code, role } => {
            let name = world.non_send::<Game>().options.player.clone();
            crate::net::link::join::<Game>(world, addr, (code, name, role))
        }
    };
    if let Err(error) = opened {
        eprintln!("firedrill: {error}");
        world.write_message(AppExit::error());
    }
}

impl Game {
    /// The game as `options` start it: on the picker, or on the given scenario's briefing
    /// (or, to take a screenshot, already at the moment to capture).
    pub fn new(options: PlayOptions) -> Result<Self, String> {
        let exporter = match &options.metrics_addr {
            None => None,
            Some(addr) => {
                let exporter = crate::openmetrics::Exporter::serve(addr)
                    .map_err(|e| format!("firedrill: --metrics-addr: {e}"))?;
                eprintln!("serving metrics at http://{}/metrics", exporter.addr);
                Some(exporter)
            }
        };
        let scenarios = library::scenarios_dir(options.scenarios.as_deref());
        let mut game = Game {
            library: library(&scenarios, options.history.as_ref(), &options.player),
            scenarios,
            speed: options.speed,
            muted: options.mute,
            options,
            session: None,
            scenario_path: None,
            debrief: None,
            sessions_started: 0,
            briefed: false,
            reload_error: None,
            notice: None,
            exporter,
            link: crate::net::Link::Solo,
        };
        if let Some(journal) = game.options.resume.clone() {
            game.resume(&journal)?;
        } else if let Some(path) = game.options.scenario.clone() {
            game.start(&path)?;
            // Measuring frame times or capturing a moment skips the briefing.
            game.briefed = game.options.measure.is_some() || game.options.screenshot.is_some();
        }
        if game.options.screenshot.is_some()
            && let Some(session) = &mut game.session
        {
            // Catch up to the moment to capture, as fast as the machine allows.
            session.run_until(game.options.after);
        }
        Ok(game)
    }

    /// Restarts the session on a new version of its scenario file (`text`, named `file`),
    /// on the screen it was on (the debrief goes back to the shift); the errors are shown
    /// instead when it does not load, and the last good version keeps running.
    pub fn reload(&mut self, file: &str, text: &str) {
        let Some(path) = self.scenario_path.clone() else {
            return;
        };
        match self.begin(&path, file, text) {
            Ok(()) => self.notice = Some(format!("{file} changed: the run restarted")),
            Err(error) => self.reload_error = Some(error),
        }
    }

    /// The screen the game is on, read off its state: no session, the picker; a session not
    /// yet started, its briefing; a shift over (or debriefed), the debrief; else the shift.
    pub fn screen(&self) -> Screen {
        match &self.session {
            None => Screen::Picker,
            Some(session) if self.debrief.is_some() || session.shift_over() => Screen::Debrief,
            Some(_) if self.briefed => Screen::Playing,
            Some(_) => Screen::Briefing,
        }
    }

    /// The player leaves the briefing: the shift starts.
    pub fn begin_shift(&mut self) {
        self.briefed = true;
    }

    /// Leaves the debrief for the picker, the library read again.
    pub fn back_to_the_picker(&mut self) {
        self.session = None;
        self.debrief = None;
        self.library = library(
            &self.scenarios,
            self.options.history.as_ref(),
            &self.options.player,
        );
    }

    /// Loads the scenario at `path` and starts a session on it, with a fresh journal.
    pub fn start(&mut self, path: &Path) -> Result<(), String> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("firedrill: {file}: cannot read the scenario: {e}"))?;
        self.begin(path, &file, &text)?;
        self.briefed = false;
        Ok(())
    }

    /// Starts a session on scenario `text`, read from `path` (named `file` in diagnostics).
    fn begin(&mut self, path: &Path, file: &str, text: &str) -> Result<(), String> {
        let overrides = Overrides {
            seed: self.options.seed,
            duration: None,
        };
        let (mut session, _) = Session::start(file, text, overrides).map_err(|e| e.to_string())?;
        self.keep_journal(&mut session);
        self.session = Some(session);
        self.sessions_started += 1;
        self.scenario_path = Some(path.to_path_buf());
        self.debrief = None;
        self.reload_error = None;
        if self.options.game_master {
            self.issue(Command::TakeRole(crate::incident::Role::GameMaster));
        }
        Ok(())
    }

    /// Journals `session` into a fresh journal in the data folder (none without one, or
    /// when it cannot be written: the player is told).
    fn keep_journal(&mut self, session: &mut Session) {
        let Some(dir) = self.options.data_dir.as_ref() else {
            return;
        };
        let stamp = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let path = dir
            .join("journals")
            .join(format!("{}-{stamp}.jsonl", session.scenario.name));
        match session.keep_journal(&path) {
            Ok(()) => eprintln!("journal: {}", path.display()),
            Err(error) => {
                self.notice = Some(format!("no journal ({error}): commands are not saved"));
            }
        }
    }

    /// Resumes a session from its journal (after a crash, or to carry on another day): the
    /// scenario it holds, every command in it, and the simulation run to the last of them,
    /// paused. The new journal starts with the old one's commands.
    pub fn resume(&mut self, path: &Path) -> Result<(), String> {
        let Resumed {
            mut session,
            last_s,
            damage,
        } = Session::resume(path).map_err(|e| format!("firedrill: {e}"))?;
        self.keep_journal(&mut session);
        let commands = session.issued().len();
        self.notice = Some(match &damage {
            Some(damage) => format!(
                "resumed at T+{} from {commands} command(s); {damage}",
                panels::clock_hms(last_s),
            ),
            None => format!(
                "resumed at T+{} from {commands} command(s), paused",
                panels::clock_hms(last_s),
            ),
        });
        self.session = Some(session);
        self.sessions_started += 1;
        self.scenario_path = None;
        self.debrief = None;
        self.speed = 0.0;
        self.briefed = true;
        Ok(())
    }

    /// Issues a command now in the player's name, journaled before it is applied; a player
    /// at someone else's table sends it to the host instead, which issues it for everyone.
    pub fn issue(&mut self, command: Command) {
        if let Link::Player(playing) = &mut self.link {
            playing.send(command);
            return;
        }
        let by = self.options.player.clone();
        self.issue_as(&by, command);
    }

    /// Issues a command now in `by`'s name: the journal first, then the simulation, and, at
    /// a hosted table, every player.
    pub fn issue_as(&mut self, by: &str, command: Command) {
        let Some(session) = &mut self.session else {
            return;
        };
        session.issue_now(by, command);
        if let Some(error) = session.take_journal_error() {
            self.notice = Some(format!("the journal stopped being written: {error}"));
        }
    }

    /// The commands issued into the session so far.
    pub fn issued(&self) -> &[Entry] {
        self.session.as_ref().map_or(&[], |s| s.issued())
    }

    /// The simulated clock and the speed it runs at (0 while the shift is not being played:
    /// on the briefing or the debrief).
    pub fn clock(&self) -> (f64, f64) {
        let now = self.session.as_ref().map_or(0.0, |s| s.sim.clock().now());
        let running = self.screen() == Screen::Playing;
        (now, if running { self.speed } else { 0.0 })
    }

    /// What a player joining this hosted table as `seat` needs to catch up.
    pub fn welcome(&self, seat: &str) -> Option<crate::net::protocol::Welcome> {
        let (Some(session), Link::Host(_)) = (&self.session, &self.link) else {
            return None;
        };
        let (now, speed) = self.clock();
        let header = session.header();
        Some(crate::net::protocol::Welcome {
            seat: seat.to_string(),
            role: session.sim.incident().roles.get(seat).copied(),
            scenario_file: header.scenario_file.clone(),
            scenario: header.scenario.clone(),
            seed: header.seed,
            duration_s: header.duration_s,
            entries: session.issued().to_vec(),
            now,
            speed,
        })
    }

    /// Starts the host's session from its welcome and replays what was issued so far.
    pub fn begin_remote(&mut self, welcome: &crate::net::protocol::Welcome) {
        let header = Header::new(
            &welcome.scenario_file,
            &welcome.scenario,
            welcome.seed,
            welcome.duration_s,
        );
        let session = match Session::join(header, &welcome.entries) {
            Ok(session) => session,
            Err(error) => {
                self.notice = Some(format!("the host's scenario does not load here: {error}"));
                return;
            }
        };
        self.session = Some(session);
        self.sessions_started += 1;
        self.scenario_path = None;
        self.debrief = None;
        self.options.player = welcome.seat.clone();
        self.speed = welcome.speed;
        self.briefed = true;
        if let Link::Player(playing) = &mut self.link {
            playing.joined = true;
            playing.trouble = None;
            playing.host_now = welcome.now;
            playing.host_speed = welcome.speed;
        }
        self.catch_up();
    }

    /// A command the host issued, applied here at the same tick.
    pub fn apply_remote(&mut self, entry: Entry) {
        if let Some(session) = &mut self.session {
            session.issue(entry);
        }
    }

    /// Runs a player's simulation up to the host's clock (never past it); the debrief
    /// follows the host's end of the shift.
    pub fn catch_up(&mut self) {
        let Link::Player(playing) = &mut self.link else {
            return;
        };
        self.speed = playing.host_speed;
        let host_now = playing.host_now;
        let Some(session) = &mut self.session else {
            return;
        };
        let end = session.scenario.duration.get();
        let tick = session.scenario.tick.get();
        // Whole ticks only: the host's clock is always at a tick boundary; the debrief
        // follows the host's end of the shift.
        while session.sim.clock().now() + tick <= host_now.min(end) + 1e-9
            && !session.sim.ended_early()
        {
            session.run_tick();
        }
    }

    /// The game master ends the shift for everyone: the command lands in the next tick (as
    /// it does for the players and in a replay), then the debrief.
    pub fn end_shift(&mut self) {
        self.issue(Command::EndShift);
        if let Some(session) = &mut self.session {
            session.run_tick();
        }
    }

    /// Ends the shift: applies what is due, scores, drafts the postmortem, records history
    /// (once: a postmortem submitted from the debrief finishes it again).
    pub fn finish(&mut self) {
        let Some(session) = &mut self.session else {
            return;
        };
        let finished = session.finish();
        if self.debrief.is_none()
            && let Some(location) = &self.options.history
            && let Err(error) = session.record_history(location, &finished)
        {
            self.notice = Some(format!("history not recorded: {error}"));
        }
        let Finished { timeline, score } = finished;
        let saved = self.debrief.as_ref().and_then(|d| d.saved.clone());
        self.debrief = Some(DebriefView {
            postmortem_markdown: postmortem_markdown(&session.scenario, &timeline, score.as_ref()),
            score,
            slos: timeline.slos.clone(),
            events: timeline.events(),
            marks: timeline.marks(),
            curves: timeline.curves(
                &session
                    .scenario
                    .slos
                    .iter()
                    .map(|slo| slo.objective / 100.0)
                    .collect::<Vec<_>>(),
            ),
            objectives: session
                .scenario
                .slos
                .iter()
                .map(|slo| slo.objective)
                .collect(),
            budget_spent: timeline.incident_budget_spent(),
            saved,
            notes: session
                .scenario
                .incident
                .as_ref()
                .map(|incident| incident.notes.clone())
                .unwrap_or_default(),
        });
    }
}

impl crate::net::link::Table for Game {
    fn link_and_issued(&mut self) -> (&mut Link, &[Entry]) {
        let issued = self.session.as_ref().map_or(&[][..], |s| s.issued());
        (&mut self.link, issued)
    }

    fn player(&self) -> &str {
        &self.options.player
    }

    fn issue_as(&mut self, by: &str, command: Command) {
        Game::issue_as(self, by, command);
    }

    fn welcome(&self, seat: &str) -> Option<crate::net::protocol::Welcome> {
        Game::welcome(self, seat)
    }

    fn issued_count(&self) -> usize {
        self.issued().len()
    }

    fn tell(&mut self, notice: String) {
        self.notice = Some(notice);
    }

    fn clock(&self) -> (f64, f64) {
        Game::clock(self)
    }

    fn begin_remote(&mut self, welcome: &crate::net::protocol::Welcome) {
        Game::begin_remote(self, welcome);
    }

    fn apply_remote(&mut self, entry: Entry) {
        Game::apply_remote(self, entry);
    }

    fn catch_up(&mut self) {
        Game::catch_up(self);
    }
}

/// One scenario tick per fixed step, while playing (a player at someone else's table
/// follows the host's clock instead).
fn step_simulation(mut game: NonSendMut<Game>) {
    if matches!(game.link, Link::Player(_)) {
        return;
    }
    let Some(session) = &mut game.session else {
        return;
    };
    if session.shift_over() {
        return;
    }
    let before = session.sim.clock().now();
    session.run_tick();
    // Scrapes see the fleet as of the last whole simulated second.
    let Game {
        session: Some(session),
        exporter: Some(exporter),
        ..
    } = &*game
    else {
        return;
    };
    if session.sim.clock().now().floor() > before.floor() {
        let snapshot = crate::openmetrics::Snapshot::of(&session.sim, &session.scenario);
        exporter.publish(crate::openmetrics::render(&snapshot));
    }
}

/// Matches the fixed step to the scenario's tick and the virtual clock to the chosen speed.
fn pace(
    game: NonSend<Game>,
    tools: Res<dev_tools::DevTools>,
    mut fixed: ResMut<Time<Fixed>>,
    mut virt: ResMut<Time<Virtual>>,
) {
    if let Some(session) = &game.session {
        let tick = session.scenario.tick.get();
        if (fixed.timestep().as_secs_f64() - tick).abs() > 1e-9 {
            fixed.set_timestep_seconds(tick);
        }
    }
    let paused =
        game.speed <= 0.0 || game.screen() != Screen::Playing || tools.screenshot_frames.is_some();
    if paused && !virt.is_paused() {
        virt.pause();
    } else if !paused {
        if virt.is_paused() {
            virt.unpause();
        }
        if (virt.relative_speed_f64() - game.speed).abs() > 1e-9 {
            virt.set_relative_speed_f64(game.speed);
        }
    }
}

fn setup(mut commands: Commands, mut time: ResMut<Time<Virtual>>) {
    // egui draws anti-aliased shapes itself: multisampling would only cost frame time.
    commands.spawn((Camera2d, Msaa::Off));
    // A slow frame at 60x still catches up instead of dropping simulated time.
    time.set_max_delta(Duration::from_secs(2));
}
