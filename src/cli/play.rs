//! The game window's commands: play alone, host a game day, join one.

use std::path::PathBuf;

use super::{CliError, CliResult, duration_arg, existing_scenario};
use crate::ui::{PlayOptions, TableOptions};

#[derive(clap::Args, Debug)]
pub struct PlayArgs {
    /// The scenario file (.ron).
    scenario: Option<PathBuf>,
    /// The folder of scenarios the picker lists (default: `scenarios/` in the working
    /// directory, beside the executable, or in the source tree it was built from).
    #[arg(long, value_name = "DIR")]
    scenarios: Option<PathBuf>,
    /// Override the scenario's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Simulated seconds per real second at the start: 0 (paused), 1, 5, 20 or 60.
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Your name in the journal and the history, which keeps your progress under it
    /// (default: your login name; `on-call` for root or when there is none).
    #[arg(long)]
    name: Option<String>,
    #[command(flatten)]
    shot: ScreenshotArgs,
    /// Where journals and history go (default: $FIREDRILL_DATA_DIR, else the user data folder).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Keep the history in a PostgreSQL database a cohort shares
    /// (postgres://user:password@host/database) instead of the data folder.
    #[arg(long, env = crate::history::HISTORY_URL_ENV, value_name = "URL")]
    history_url: Option<String>,
    /// Play for this long in real time, print frame-time statistics and quit.
    #[arg(long, value_parser = duration_arg, value_name = "DURATION", requires = "scenario")]
    measure: Option<f64>,
    /// Serve the fleet's metrics for Prometheus at http://ADDR/metrics (OpenMetrics text),
    /// e.g. 127.0.0.1:9464. Off by default.
    #[arg(long, value_name = "ADDR")]
    metrics_addr: Option<String>,
    /// Resume the session this journal recorded (after a crash), paused where it stopped.
    #[arg(long, value_name = "JOURNAL", conflicts_with = "scenario")]
    resume: Option<PathBuf>,
    /// Open on your profile (competencies and trends over your sessions) instead of the
    /// scenarios.
    #[arg(long, conflicts_with_all = ["scenario", "resume"])]
    profile: bool,
    /// No sound: the pager stays silent and no audio device is opened.
    #[arg(long)]
    mute: bool,
}

#[derive(clap::Args, Debug)]
pub struct HostArgs {
    /// The scenario file (.ron).
    #[arg(required_unless_present = "resume")]
    scenario: Option<PathBuf>,
    /// Resume the session this journal recorded (after a crash), paused where it stopped.
    #[arg(long, value_name = "JOURNAL", conflicts_with = "scenario")]
    resume: Option<PathBuf>,
    /// Where players connect (UDP). Loopback unless told otherwise: 0.0.0.0:7777 opens
    /// the table to the network.
    #[arg(long, default_value = "127.0.0.1:7777", value_name = "ADDR")]
    bind: String,
    /// The code players must give to join (default: a random one, shown in the window).
    #[arg(long)]
    code: Option<String>,
    /// Your name in the journal.
    #[arg(long, default_value = "host")]
    name: String,
    /// Run the drill as its game master: see the ground truth, inject faults, speak for
    /// stakeholders, give hints (each costs the team 5% of the score), pause, end the shift.
    #[arg(long, conflicts_with = "resume")]
    game_master: bool,
    /// Override the scenario's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Where journals and history go (default: $FIREDRILL_DATA_DIR, else the user data folder).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Keep the history in a PostgreSQL database a cohort shares
    /// (postgres://user:password@host/database) instead of the data folder.
    #[arg(long, env = crate::history::HISTORY_URL_ENV, value_name = "URL")]
    history_url: Option<String>,
    /// Serve the fleet's metrics for Prometheus at http://ADDR/metrics.
    #[arg(long, value_name = "ADDR")]
    metrics_addr: Option<String>,
    #[command(flatten)]
    shot: ScreenshotArgs,
    /// No sound: the pager stays silent and no audio device is opened.
    #[arg(long)]
    mute: bool,
}

#[derive(clap::Args, Debug)]
pub struct JoinArgs {
    /// The host's address, as it printed it (e.g. 192.168.1.20:7777).
    addr: String,
    /// The session code the host shows.
    #[arg(long)]
    code: String,
    /// Your name at the table and in the journal.
    #[arg(long)]
    name: String,
    /// The role to take: ic (incident commander), ops, comms or observer.
    #[arg(long, value_enum)]
    role: Option<RoleArg>,
    /// Save a PNG of the window once seated (and quit with --exit).
    #[arg(long, value_name = "FILE.png")]
    screenshot: Option<PathBuf>,
    #[arg(long)]
    exit: bool,
    /// No sound: the pager stays silent and no audio device is opened.
    #[arg(long)]
    mute: bool,
}

/// Looking at the window without sitting in front of it (under Xvfb, in CI).
#[derive(clap::Args, Debug)]
pub struct ScreenshotArgs {
    /// Save a PNG of the window once the simulation reaches --after (the picker without a
    /// scenario; the debrief when --after reaches the end).
    #[arg(long, value_name = "FILE.png")]
    screenshot: Option<PathBuf>,
    /// When to take the screenshot, in simulated time (the run catches up at full speed).
    #[arg(long, value_parser = duration_arg)]
    after: Option<f64>,
    /// Quit once the screenshot is saved.
    #[arg(long)]
    exit: bool,
}

/// A role as the command line names it.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum RoleArg {
    Ic,
    Ops,
    Comms,
    Observer,
}

impl From<RoleArg> for crate::incident::Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Ic => Self::IncidentCommander,
            RoleArg::Ops => Self::Ops,
            RoleArg::Comms => Self::Comms,
            RoleArg::Observer => Self::Observer,
        }
    }
}

pub fn exec_play(args: PlayArgs) -> CliResult {
    let PlayArgs {
        scenario,
        scenarios,
        seed,
        speed,
        name,
        shot,
        data_dir,
        history_url,
        measure,
        metrics_addr,
        resume,
        profile,
        mute,
    } = args;
    let name = player_name(name);
    crate::net::protocol::check_name("name", &name)
        .map_err(|error| CliError::usage(format!("firedrill: {error}")))?;
    if let Some(dir) = scenarios.as_deref().filter(|dir| !dir.is_dir()) {
        return Err(CliError::usage(format!(
            "firedrill: --scenarios {}: no such folder",
            dir.display()
        )));
    }
    open(PlayOptions {
        scenario,
        scenarios,
        seed,
        speed,
        player: name,
        screenshot: shot.screenshot,
        after: shot.after.unwrap_or(0.0),
        exit: shot.exit,
        history: history(history_url.as_deref(), data_dir.as_deref()),
        data_dir: crate::history::data_dir(data_dir.as_deref()),
        measure,
        metrics_addr,
        resume,
        profile,
        mute,
        ..Default::default()
    })
}

pub fn exec_host(args: HostArgs) -> CliResult {
    let HostArgs {
        scenario,
        resume,
        bind,
        code,
        name,
        game_master,
        seed,
        data_dir,
        history_url,
        metrics_addr,
        shot,
        mute,
    } = args;
    let code = code.unwrap_or_else(session_code);
    crate::net::protocol::check_name("session code", &code)
        .and(crate::net::protocol::check_name("name", &name))
        .map_err(|error| CliError::usage(format!("firedrill: {error}")))?;
    open(PlayOptions {
        scenario,
        resume,
        seed,
        speed: 1.0,
        player: name,
        history: history(history_url.as_deref(), data_dir.as_deref()),
        data_dir: crate::history::data_dir(data_dir.as_deref()),
        metrics_addr,
        screenshot: shot.screenshot,
        after: shot.after.unwrap_or(0.0),
        exit: shot.exit,
        table: TableOptions::Host { bind, code },
        game_master,
        mute,
        ..Default::default()
    })
}

pub fn exec_join(args: JoinArgs) -> CliResult {
    let JoinArgs {
        addr,
        code,
        name,
        role,
        screenshot,
        exit,
        mute,
    } = args;
    let addr = crate::net::protocol::check_name("name", &name)
        .and(crate::net::protocol::check_name("session code", &code))
        .and_then(|()| crate::net::link::resolve(&addr))
        .map_err(|error| CliError::usage(format!("firedrill: {error}")))?;
    open(PlayOptions {
        speed: 1.0,
        player: name,
        table: TableOptions::Join {
            addr,
            code,
            role: role.map(Into::into),
        },
        screenshot,
        exit,
        mute,
        ..Default::default()
    })
}

/// The solo player's name: the one given, else the login name (`$USER`, `$USERNAME`), else
/// `on-call`. root is no trainee: its sessions stay `on-call`'s.
pub fn player_name(flag: Option<String>) -> String {
    flag.or_else(|| {
        ["USER", "USERNAME"]
            .iter()
            .filter_map(|var| std::env::var(var).ok())
            .find(|name| name != "root" && crate::net::protocol::check_name("name", name).is_ok())
    })
    .unwrap_or_else(|| crate::incident::SOLO_PLAYER.to_string())
}

/// Where the window keeps the history: the address given, else the data folder's file.
fn history(
    url: Option<&str>,
    data_dir: Option<&std::path::Path>,
) -> Option<crate::history::Location> {
    crate::history::Location::choose(url, crate::history::data_dir(data_dir).as_deref())
}

/// Opens the window and plays until it is closed.
pub fn open(options: PlayOptions) -> CliResult {
    if let Some(path) = &options.scenario {
        existing_scenario(path)?;
    }
    match crate::ui::run(options) {
        bevy::app::AppExit::Success => Ok(()),
        // The window has said what went wrong.
        bevy::app::AppExit::Error(_) => Err(CliError::failed()),
    }
}

/// other, from the operating system's randomness.
fn session_code() -> String {
    use std::io::Read;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 6];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .is_err()
    {
        // No urandom: the clock's nanoseconds, mixed.
        let mut x = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
            ^ u64::from(std::process::id()).rotate_left(32);
        for b in &mut bytes {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
    }
    bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}
