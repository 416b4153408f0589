//! The game window: a scenario picker, the briefing, the control room and the debrief, in
//! Bevy with bevy_egui. The simulation advances in `FixedUpdate`, one scenario tick per fixed
//! step, with the player's speed as the virtual clock's relative speed: the frame rate does
//! not change what happens, only how smoothly it is shown.
//!
//! Every command the player issues goes through the same command model as scripts and
//! replays, and is appended to the session's journal before it is applied.

pub mod game_master;
pub mod hot_reload;
pub mod library;
pub mod model;
pub mod panels;
pub mod screens;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured, save_to_disk};
use bevy_egui::{EguiContexts, EguiPlugin, EguiPrimaryContextPass, egui};

use crate::incident::journal::Header;
use crate::incident::{Command, Entry, View};
use crate::net::Link;
use crate::scenario::Seconds;
use crate::scoring::postmortem_markdown;
use crate::session::{Finished, Overrides, Resumed, Session};
use library::library;
use model::{ControlRoom, Dashboard, Range};
use panels::{ActionForm, IncidentForm, LogFilter};
use screens::{DebriefAction, DebriefView, LibraryEntry, PostmortemForm};

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
    /// Where journals and the history go (None: nowhere).
    pub data_dir: Option<PathBuf>,
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

/// Which screen is up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    Title,
    Briefing,
    Playing,
    Debrief,
}

/// The control room's tabs in the lower panel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    Logs,
    Traces,
    Deploys,
    Commands,
}

/// The game: its screen, the session and the panels' state. Not `Send` (the simulation
/// holds its own Bevy `App`), so it lives in the main thread's world.
pub struct Game {
    pub screen: Screen,
    pub options: PlayOptions,
    pub library: Vec<LibraryEntry>,
    /// The folder the picker lists.
    pub scenarios: PathBuf,
    /// The scenario being played.
    pub session: Option<Session>,
    /// The scenario file the session plays, for hot reload (none for a joined or resumed one).
    scenario_path: Option<PathBuf>,
    /// The debrief of the finished shift.
    pub debrief: Option<DebriefView>,
    pub speed: f64,
    /// Validation errors of the scenario file being edited; the last good version runs.
    pub reload_error: Option<String>,
    /// A message for the player (journal or history trouble).
    pub notice: Option<String>,
    selected: Option<usize>,
    range: Range,
    tab: Tab,
    log_filter: LogFilter,
    action_form: ActionForm,
    incident_form: IncidentForm,
    postmortem_form: PostmortemForm,
    game_master_form: game_master::GameMasterForm,
    screenshot_frames: Option<u32>,
    estimate: panels::Estimate,
    estimate_answer: Option<std::sync::mpsc::Receiver<Vec<crate::session::CostEstimate>>>,
    frame_times: Vec<f64>,
    exporter: Option<crate::openmetrics::Exporter>,
    /// Alone, hosting a table, or playing at one.
    pub link: crate::net::Link,
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
    // Asset sources are read when the asset plugin starts: register them first.
    sources.register(&mut app);
    app.insert_resource(sources);
    app.add_plugins(
        DefaultPlugins
            .set(WindowPlugin {
                primary_window: Some(Window {
                    title: "firedrill".to_string(),
                    resolution: (1600, 1000).into(),
                    ..default()
                }),
                ..default()
            })
            .set(AssetPlugin {
                file_path: library::assets_dir().display().to_string(),
                watch_for_changes_override: Some(true),
                ..default()
            }),
    )
    .add_plugins((EguiPlugin::default(), hot_reload::plugin))
    .insert_resource(ClearColor(Color::srgb(0.07, 0.08, 0.1)))
    .insert_non_send(game)
    .add_systems(Startup, setup)
    .add_systems(FixedUpdate, step_simulation)
    .add_systems(Update, (pace, take_screenshot, measure))
    .add_systems(EguiPrimaryContextPass, draw);
    if !matches!(
        app.world().non_send::<Game>().options.table,
        TableOptions::Solo
    ) {
        app.add_plugins(crate::net::link::plugin::<Game>)
            .add_systems(Startup, open_table);
    }
    app.run()
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

fn setup(mut commands: Commands, mut time: ResMut<Time<Virtual>>) {
    // egui draws anti-aliased shapes itself: multisampling would only cost frame time.
    commands.spawn((Camera2d, Msaa::Off));
    // A slow frame at 60x still catches up instead of dropping simulated time.
    time.set_max_delta(Duration::from_secs(2));
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
            screen: Screen::Title,
            library: library(&scenarios),
            scenarios,
            speed: options.speed,
            options,
            session: None,
            scenario_path: None,
            debrief: None,
            reload_error: None,
            notice: None,
            selected: None,
            range: Range::FiveMinutes,
            tab: Tab::Logs,
            log_filter: LogFilter::default(),
            action_form: ActionForm::default(),
            incident_form: IncidentForm::default(),
            postmortem_form: PostmortemForm::default(),
            game_master_form: game_master::GameMasterForm::default(),
            screenshot_frames: None,
            estimate: panels::Estimate::None,
            estimate_answer: None,
            frame_times: Vec::new(),
            exporter,
            link: crate::net::Link::Solo,
        };
        if let Some(journal) = game.options.resume.clone() {
            game.resume(&journal)?;
        } else if let Some(path) = game.options.scenario.clone() {
            game.start(&path)?;
            game.screen = if game.options.measure.is_some() {
                Screen::Playing
            } else {
                Screen::Briefing
            };
        }
        if game.options.screenshot.is_some() {
            game.screenshot_frames = Some(0);
            if let Some(session) = &mut game.session {
                // Catch up to the moment to capture, as fast as the machine allows.
                session.sim.run_until(game.options.after);
                game.screen = Screen::Playing;
                // Open what a responder would: the paged service's dashboard and its log.
                if let Some(slo) = session.sim.slos().first() {
                    game.selected = Some(slo.service);
                    game.log_filter.service = Some(slo.service);
                }
                if session.sim.clock().now() + 1e-9 >= session.scenario.duration.get() {
                    game.finish();
                }
            }
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
        let screen = self.screen;
        match self.begin(&path, file, text) {
            Ok(()) => {
                self.screen = if screen == Screen::Debrief {
                    Screen::Playing
                } else {
                    screen
                };
                self.notice = Some(format!("{file} changed: the run restarted"));
            }
            Err(error) => self.reload_error = Some(error),
        }
    }

    /// Opens a service's dashboard, as clicking it on the map does.
    pub fn select_service(&mut self, name: &str) {
        self.selected = self
            .session
            .as_ref()
            .and_then(|s| s.sim.topology().service_index(name));
    }

    /// Loads the scenario at `path` and starts a session on it, with a fresh journal.
    pub fn start(&mut self, path: &Path) -> Result<(), String> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("firedrill: {file}: cannot read the scenario: {e}"))?;
        self.begin(path, &file, &text)
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
        self.scenario_path = Some(path.to_path_buf());
        self.debrief = None;
        self.reload_error = None;
        self.selected = None;
        self.action_form = ActionForm::default();
        self.postmortem_form = PostmortemForm::default();
        self.game_master_form = game_master::GameMasterForm::default();
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
        self.scenario_path = None;
        self.debrief = None;
        self.speed = 0.0;
        self.screen = Screen::Playing;
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
        let running = self.screen == Screen::Playing;
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
        self.scenario_path = None;
        self.debrief = None;
        self.options.player = welcome.seat.clone();
        self.speed = welcome.speed;
        self.screen = Screen::Playing;
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
        // Whole ticks only: the host's clock is always at a tick boundary.
        while session.sim.clock().now() + tick <= host_now.min(end) + 1e-9
            && !session.sim.ended_early()
        {
            session.sim.run_ticks(1);
        }
        if self.screen == Screen::Playing && session.shift_over() {
            self.finish();
        }
    }

    /// The game master ends the shift for everyone: the command lands in the next tick (as
    /// it does for the players and in a replay), then the debrief.
    pub fn end_shift(&mut self) {
        self.issue(Command::EndShift);
        if let Some(session) = &mut self.session {
            session.sim.run_ticks(1);
            if session.shift_over() {
                self.finish();
            }
        }
    }

    /// Ends the shift: applies what is due, scores, drafts the postmortem, records history
    /// (once: a postmortem submitted from the debrief finishes it again).
    fn finish(&mut self) {
        let Some(session) = &mut self.session else {
            return;
        };
        let finished = session.finish();
        if self.debrief.is_none()
            && let Some(dir) = &self.options.data_dir
            && let Err(error) = session.record_history(dir, &finished)
        {
            self.notice = Some(format!("history not recorded: {error}"));
        }
        let Finished { timeline, score } = finished;
        let saved = self.debrief.as_ref().and_then(|d| d.saved.clone());
        self.debrief = Some(DebriefView {
            postmortem_markdown: postmortem_markdown(&session.scenario, &timeline, score.as_ref()),
            score,
            events: timeline.events(),
            budget_spent: timeline.incident_budget_spent(),
            saved,
        });
        self.screen = Screen::Debrief;
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
    if game.screen != Screen::Playing || matches!(game.link, Link::Player(_)) {
        return;
    }
    let Some(session) = &mut game.session else {
        return;
    };
    if session.shift_over() {
        game.finish();
        return;
    }
    let before = session.sim.clock().now();
    session.sim.run_ticks(1);
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
fn pace(game: NonSend<Game>, mut fixed: ResMut<Time<Fixed>>, mut virt: ResMut<Time<Virtual>>) {
    if let Some(session) = &game.session {
        let tick = session.scenario.tick.get();
        if (fixed.timestep().as_secs_f64() - tick).abs() > 1e-9 {
            fixed.set_timestep_seconds(tick);
        }
    }
    let paused =
        game.speed <= 0.0 || game.screen != Screen::Playing || game.screenshot_frames.is_some();
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

/// With `--measure`, records real frame times while playing and reports them at the end.
fn measure(mut game: NonSendMut<Game>, time: Res<Time<Real>>, mut exits: MessageWriter<AppExit>) {
    let Some(seconds) = game.options.measure else {
        return;
    };
    if game.screen != Screen::Playing {
        return;
    }
    game.frame_times.push(time.delta_secs_f64());
    let measured: f64 = game.frame_times.iter().sum();
    if measured >= seconds {
        let mut times = game.frame_times.clone();
        times.sort_by(f64::total_cmp);
        let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize] * 1000.0;
        let simulated = game.session.as_ref().map_or(0.0, |s| s.sim.clock().now());
        eprintln!(
            "{} frames in {:.1}s at {}x: frame time mean {:.1} ms, p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms; simulated {}",
            times.len(),
            measured,
            game.speed,
            measured / times.len() as f64 * 1000.0,
            at(0.5),
            at(0.95),
            at(1.0),
            crate::scenario::Seconds(simulated.round())
        );
        exits.write(AppExit::Success);
    }
}

/// Saves the requested screenshot a few frames after the catch-up, then quits if asked.
fn take_screenshot(mut game: NonSendMut<Game>, mut commands: Commands) {
    let Some(frames) = game.screenshot_frames else {
        return;
    };
    // A player's control room appears once the host has seated them.
    if matches!(&game.link, Link::Player(p) if !p.joined) {
        return;
    }
    game.screenshot_frames = Some(frames + 1);
    // A few frames for egui to lay out and the plots to size themselves.
    if frames == 8
        && let Some(path) = game.options.screenshot.clone()
    {
        let exit = game.options.exit;
        commands
            .spawn(Screenshot::primary_window())
            .observe(save_to_disk(path))
            .observe(
                move |_: On<ScreenshotCaptured>, mut exits: MessageWriter<AppExit>| {
                    if exit {
                        exits.write(AppExit::Success);
                    }
                },
            );
    }
}

fn draw(mut contexts: EguiContexts, mut game: NonSendMut<Game>) -> Result {
    let ctx = contexts.ctx_mut()?;
    ctx.set_visuals(egui::Visuals::dark());
    let mut root = egui::Ui::new(
        ctx.clone(),
        "firedrill".into(),
        egui::UiBuilder::new()
            .layer_id(egui::LayerId::background())
            .max_rect(ctx.viewport_rect()),
    );
    game.draw(&mut root);
    Ok(())
}

impl Game {
    /// Draws the current screen into the window's root `Ui` and carries out what the player
    /// clicked.
    pub fn draw(&mut self, root: &mut egui::Ui) {
        let game = self;
        match game.screen {
            Screen::Title if matches!(game.link, Link::Player(_)) => {
                egui::CentralPanel::default().show(root, |ui| {
                    ui.vertical_centered(|ui| {
                        ui.add_space(120.0);
                        if let Some((text, color)) = table_line(game) {
                            ui.label(egui::RichText::new(text).size(20.0).color(color));
                        }
                    });
                });
            }
            Screen::Title => {
                egui::CentralPanel::default().show(root, |ui| {
                    if let Some(i) = screens::title(ui, &game.library) {
                        let path = game.library[i].path.clone();
                        match game.start(&path) {
                            Ok(()) => game.screen = Screen::Briefing,
                            Err(error) => game.notice = Some(error),
                        }
                    }
                    if let Some(notice) = &game.notice {
                        ui.label(egui::RichText::new(notice).color(panels::RED));
                    }
                });
            }
            Screen::Briefing => {
                egui::CentralPanel::default().show(root, |ui| {
                    if let Some(session) = &game.session
                        && screens::briefing(ui, &session.scenario)
                    {
                        game.screen = Screen::Playing;
                    }
                });
            }
            Screen::Playing => control_room(root, game),
            Screen::Debrief => {
                let mut action = None;
                egui::CentralPanel::default().show(root, |ui| {
                    if let Some(view) = &game.debrief {
                        action = screens::debrief(ui, view, &mut game.postmortem_form);
                    }
                });
                match action {
                    Some(DebriefAction::Submit(postmortem)) => {
                        game.issue(Command::Postmortem(*postmortem));
                        game.finish();
                    }
                    Some(DebriefAction::Save) => save_postmortem(game),
                    Some(DebriefAction::Back) => {
                        game.session = None;
                        game.library = library(&game.scenarios);
                        game.screen = Screen::Title;
                    }
                    None => {}
                }
            }
        }
    }
}

/// Who is at the table, for the header: the host's address and code, or the player's seat.
fn table_line(game: &Game) -> Option<(String, egui::Color32)> {
    let roles = |name: &str| {
        game.session
            .as_ref()
            .and_then(|s| s.sim.incident().roles.get(name).copied())
            .map_or(String::new(), |role| format!(" ({role:?})"))
    };
    match &game.link {
        Link::Solo => None,
        Link::Host(hosting) => {
            let players: Vec<String> = hosting
                .present()
                .iter()
                .map(|name| format!("{name}{}", roles(name)))
                .collect();
            Some((
                format!(
                    "hosting at {} · session code {} · you are {}{} · players: {}",
                    hosting.addr,
                    hosting.code,
                    game.options.player,
                    roles(&game.options.player),
                    if players.is_empty() {
                        "none yet".to_string()
                    } else {
                        players.join(", ")
                    }
                ),
                panels::GREEN,
            ))
        }
        Link::Player(playing) => Some(match &playing.trouble {
            Some(trouble) => (trouble.clone(), panels::RED),
            None if playing.joined => (
                format!(
                    "at the table of {} as {}{}",
                    playing.host,
                    playing.name,
                    roles(&playing.name)
                ),
                panels::GREEN,
            ),
            None => (
                format!("joining {} as {}...", playing.host, playing.name),
                panels::AMBER,
            ),
        }),
    }
}

fn save_postmortem(game: &mut Game) {
    let (Some(session), Some(view)) = (&game.session, &mut game.debrief) else {
        return;
    };
    let path = PathBuf::from(format!("postmortem-{}.md", session.scenario.name));
    match std::fs::write(&path, &view.postmortem_markdown) {
        Ok(()) => view.saved = Some(path.display().to_string()),
        Err(error) => game.notice = Some(format!("cannot write {}: {error}", path.display())),
    }
}

/// The live incident: header, pager and SLOs on the left, the map and dashboards in the
/// middle, actions and incident controls on the right, chat and logs below.
fn control_room(root: &mut egui::Ui, game: &mut Game) {
    let Some(session) = &game.session else {
        return;
    };
    let room = ControlRoom::of(&session.scenario, &session.sim);
    let mut issued: Vec<Command> = Vec::new();
    let mut estimate_asked = None;
    if let Some(answer) = &game.estimate_answer
        && let Ok(costs) = answer.try_recv()
        && let panels::Estimate::Running(what) = &game.estimate
    {
        game.estimate = panels::Estimate::Done(what.clone(), costs);
        game.estimate_answer = None;
    }
    let table = table_line(game);
    let directing = session.sim.incident().roles.get(&game.options.player)
        == Some(&crate::incident::Role::GameMaster);
    egui::Panel::top("header").show(root, |ui| {
        let speed = if matches!(game.link, Link::Player(_)) {
            Err(game.speed)
        } else {
            Ok(&mut game.speed)
        };
        panels::top_bar(ui, &room, speed);
        if let Some((text, color)) = table {
            ui.label(egui::RichText::new(text).color(color));
        }
        if let Some(error) = &game.reload_error {
            ui.label(
                egui::RichText::new(format!(
                    "scenario file has errors; the last good version keeps running:\n{error}"
                ))
                .color(panels::RED)
                .monospace()
                .small(),
            );
        }
        if let Some(notice) = &game.notice {
            ui.label(egui::RichText::new(notice).color(panels::AMBER).small());
        }
    });
    egui::Panel::left("left")
        .default_size(330.0)
        .show(root, |ui| {
            ui.heading("Pager");
            issued.extend(panels::pager(ui, &room.pages, room.now_s));
            ui.separator();
            ui.heading("SLOs");
            egui::ScrollArea::vertical().id_salt("slos").show(ui, |ui| {
                issued.extend(panels::slo_panel(ui, &room.slos));
            });
        });
    egui::Panel::right("right")
        .default_size(340.0)
        .show(root, |ui| {
            egui::ScrollArea::vertical()
                .id_salt("right-scroll")
                .show(ui, |ui| {
                    if directing {
                        ui.heading("Game master");
                        issued.extend(game_master::panel(
                            ui,
                            &mut game.game_master_form,
                            &session.scenario,
                            (&session.sim, session.issued(), &game.options.player),
                        ));
                        return;
                    }
                    ui.heading("Act");
                    issued.extend(panels::actions(ui, &mut game.action_form, &room));
                    if let Some(remediation) =
                        panels::estimate(ui, &game.action_form, &game.estimate)
                    {
                        estimate_asked = Some(remediation);
                    }
                    ui.separator();
                    ui.heading("Incident");
                    issued.extend(panels::incident_controls(
                        ui,
                        &mut game.incident_form,
                        &room,
                    ));
                });
        });
    egui::Panel::bottom("bottom")
        .default_size(260.0)
        .min_size(200.0)
        .resizable(true)
        .show(root, |ui| {
            ui.set_min_height(ui.available_height());
            ui.columns(2, |columns| {
                columns[0].heading("Chat");
                panels::chat(&mut columns[0], &room.chat);
                let ui = &mut columns[1];
                ui.horizontal(|ui| {
                    for (tab, label) in [
                        (Tab::Logs, "Logs"),
                        (Tab::Traces, "Traces"),
                        (Tab::Deploys, "Deploys"),
                        (Tab::Commands, "Commands"),
                    ] {
                        if ui.selectable_label(game.tab == tab, label).clicked() {
                            game.tab = tab;
                            if tab == Tab::Deploys {
                                issued.push(Command::Look(View::Deploys));
                            }
                        }
                    }
                });
                let names: Vec<String> = room.services.iter().map(|s| s.name.clone()).collect();
                match game.tab {
                    Tab::Logs => {
                        let lines = game
                            .log_filter
                            .service
                            .map(|s| session.sim.log_lines(s, 200))
                            .unwrap_or_default();
                        issued.extend(panels::logs(ui, &names, &lines, &mut game.log_filter));
                    }
                    Tab::Traces => {
                        egui::ScrollArea::vertical()
                            .id_salt("traces")
                            .show(ui, |ui| {
                                for trace in session.sim.slowest_traces(3) {
                                    ui.label(egui::RichText::new(trace).monospace().small());
                                }
                            });
                    }
                    Tab::Deploys => panels::deploy_history(ui, &room.deploys),
                    Tab::Commands => panels::command_log(ui, &room.records, directing),
                }
            });
        });
    egui::CentralPanel::default().show(root, |ui| {
        ui.heading("Service map");
        issued.extend(panels::service_map(ui, &room, &mut game.selected));
        ui.separator();
        match game.selected {
            Some(s) => {
                let dashboard = Dashboard::of(&session.scenario, &session.sim, s, game.range);
                issued.extend(panels::dashboard(
                    ui,
                    &room.services[s].name,
                    &dashboard,
                    &mut game.range,
                ));
            }
            None => {
                ui.label(
                    egui::RichText::new("Click a service to open its dashboard.")
                        .color(panels::MUTED),
                );
            }
        }
    });
    if let Some(remediation) = estimate_asked {
        // Two runs of the simulation from the start: off the frame, on a thread.
        let scenario = session.scenario.clone();
        let taken: Vec<Entry> = session
            .sim
            .incident()
            .records
            .iter()
            .map(|r| Entry {
                at: Seconds(r.at_s),
                by: r.by.clone(),
                command: r.command.clone(),
            })
            .collect();
        let at = session.sim.clock().now();
        let (send, receive) = std::sync::mpsc::channel();
        game.estimate = panels::Estimate::Running(remediation.to_ron());
        std::thread::spawn(move || {
            let _ = send.send(crate::session::estimate(
                &scenario,
                &taken,
                &remediation,
                (at, 300.0),
            ));
        });
        game.estimate_answer = Some(receive);
    }
    for command in issued {
        if let Command::Look(View::Logs(service)) = &command {
            game.log_filter.service = room.service(service);
            game.tab = Tab::Logs;
        }
        if let Command::Look(View::Traces(_)) = &command {
            game.tab = Tab::Traces;
        }
        match command {
            Command::EndShift => {
                game.end_shift();
                return;
            }
            Command::Pause => {
                if game.speed > 0.0 {
                    game.game_master_form.resume_speed = game.speed;
                }
                game.speed = 0.0;
            }
            Command::Resume => game.speed = game.game_master_form.resume_speed,
            _ => {}
        }
        game.issue(command);
    }
    // Picking a speed while paused for discussion ends the pause, on the record too.
    if directing && game.speed > 0.0 && game_master::talking(game.issued(), &game.options.player) {
        game.issue(Command::Resume);
    }
}
