//! What one frame of the control room costs the CPU, rendering aside: at 60x and 60 frames a
//! second, ten scenario ticks of the shop incident, the view models read off the simulation,
//! and every panel laid out and tessellated by egui at 1600x1000 — without a GPU.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bevy_egui::egui;
use criterion::{Criterion, criterion_group, criterion_main};
use firedrill::ui::screens::control_room::control_room;
use firedrill::ui::{Desk, Game, PlayOptions};

fn game() -> (Game, Desk) {
    let scenario = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/shop-incident.ron");
    let mut game = Game::new(PlayOptions {
        scenario: Some(scenario),
        speed: 60.0,
        player: "bench".into(),
        ..Default::default()
    })
    .expect("the shop incident loads");
    game.begin_shift();
    // Ten minutes in: the page is ringing and the dashboards are full.
    game.session.as_mut().unwrap().sim.run_until(600.0);
    let mut desk = Desk::default();
    desk.select_service(&game, "checkout");
    (game, desk)
}

fn frame(ctx: &egui::Context, (game, desk): &mut (Game, Desk)) {
    game.session.as_mut().unwrap().sim.run_ticks(10);
    let input = egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(1600.0, 1000.0),
        )),
        ..Default::default()
    };
    let output = ctx.run_ui(input, |ui| control_room(ui, game, desk));
    std::hint::black_box(ctx.tessellate(output.shapes, output.pixels_per_point));
}

fn control_room_frame(c: &mut Criterion) {
    c.bench_function("control room frame at 60x (shop incident)", |b| {
        b.iter_custom(|iterations| {
            let ctx = egui::Context::default();
            let mut game = game();
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                if game.0.session.as_ref().unwrap().sim.clock().now() > 1100.0 {
                    game = self::game();
                }
                let start = Instant::now();
                frame(&ctx, &mut game);
                total += start.elapsed();
            }
            total
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = control_room_frame
}
criterion_main!(benches);
