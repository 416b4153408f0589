//! Tools for looking at the window without sitting at it: `--screenshot FILE --after T
//! --exit` saves a PNG of the moment and quits, `--measure D` prints frame-time statistics.

use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured, save_to_disk};

use super::{Desk, Game, Screen};
use crate::net::Link;

/// What the dev tools keep between frames.
#[derive(Resource, Default)]
pub struct DevTools {
    /// Frames since the window opened, while a screenshot is pending.
    pub screenshot_frames: Option<u32>,
    /// Real frame times while measuring, seconds.
    frame_times: Vec<f64>,
}

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<DevTools>()
        .add_systems(Startup, prepare_screenshot)
        .add_systems(Update, (take_screenshot, measure));
}

/// Opens what a responder would for the screenshot: the paged service's dashboard and log.
fn prepare_screenshot(game: NonSend<Game>, mut tools: ResMut<DevTools>, mut desk: ResMut<Desk>) {
    if game.options.screenshot.is_none() {
        return;
    }
    tools.screenshot_frames = Some(0);
    let paged = game
        .session
        .as_ref()
        .and_then(|session| session.sim.slos().first())
        .map(|slo| slo.spec.service.clone());
    if let Some(service) = paged {
        desk.select_service(&game, &service);
    }
}

/// With `--measure`, records real frame times while playing and reports them at the end.
fn measure(
    game: NonSend<Game>,
    mut tools: ResMut<DevTools>,
    time: Res<Time<Real>>,
    mut exits: MessageWriter<AppExit>,
) {
    let Some(seconds) = game.options.measure else {
        return;
    };
    if game.screen() != Screen::Playing {
        return;
    }
    tools.frame_times.push(time.delta_secs_f64());
    let measured: f64 = tools.frame_times.iter().sum();
    if measured >= seconds {
        let mut times = tools.frame_times.clone();
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
fn take_screenshot(game: NonSend<Game>, mut tools: ResMut<DevTools>, mut commands: Commands) {
    let Some(frames) = tools.screenshot_frames else {
        return;
    };
    // A player's control room appears once the host has seated them.
    if matches!(&game.link, Link::Player(p) if !p.joined) {
        return;
    }
    tools.screenshot_frames = Some(frames + 1);
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
