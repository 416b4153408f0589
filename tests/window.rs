//! The real window under Xvfb with the lavapipe Vulkan driver: the game plays the shop
//! incident until its page has fired, saves a screenshot of the control room and quits; the
//! picture must have the window's size, not be blank, and show the pager's alarm red and
//! the dark dashboard around it. With `--mute`, Bevy's audio plugin is not even added.
#![cfg(feature = "gui")]

use std::path::Path;
use std::process::Command;

fn has(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn the_control_room_renders_under_xvfb() {
    if !has("xvfb-run") {
        // CI installs xvfb (see .ci/run) and sets CI, so there this test always runs.
        assert!(
            std::env::var_os("CI").is_none(),
            "xvfb-run is missing: install the packages xvfb and mesa-vulkan-drivers"
        );
        eprintln!("skipped: xvfb-run is not installed (apt install xvfb mesa-vulkan-drivers)");
        return;
    }
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("window");
    std::fs::create_dir_all(&out_dir).unwrap();
    let png = out_dir.join("control-room.png");
    let _ = std::fs::remove_file(&png);
    let output = Command::new("xvfb-run")
        .args(["-a", "-s", "-screen 0 1600x1000x24"])
        .arg(env!("CARGO_BIN_EXE_firedrill"))
        .args([
            "play",
            "scenarios/shop-incident.ron",
            "--after",
            "10m",
            "--exit",
        ])
        .arg("--screenshot")
        .arg(&png)
        .arg("--data-dir")
        .arg(out_dir.join("data"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("WGPU_BACKEND", "vulkan")
        .output()
        .expect("xvfb-run starts");
    assert!(
        output.status.success() && png.is_file(),
        "the game did not save its screenshot: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((info.width, info.height), (1600, 1000));
    let channels = info.line_size / info.width as usize;
    let pixel = |x: u32, y: u32| {
        let i = y as usize * info.line_size + x as usize * channels;
        (pixels[i], pixels[i + 1], pixels[i + 2])
    };
    let mut distinct = std::collections::HashSet::new();
    let (mut red, mut dark) = (0, 0);
    for y in (0..info.height).step_by(4) {
        for x in (0..info.width).step_by(4) {
            let (r, g, b) = pixel(x, y);
            distinct.insert((r / 16, g / 16, b / 16));
            if r > 110 && g < 80 && b < 80 {
                red += 1;
            }
            if r < 50 && g < 50 && b < 50 {
                dark += 1;
            }
        }
    }
    let samples = (info.width / 4 * info.height / 4) as usize;
    assert!(
        distinct.len() > 40,
        "a blank or flat picture: {} colours",
        distinct.len()
    );
    assert!(red > 200, "no pager alarm red: {red} red samples");
    assert!(
        dark > samples / 3,
        "the dark theme is missing: {dark} of {samples}"
    );
    // The left panel (pager, SLOs) and the centre (map, dashboard) are drawn differently.
    let column = |x0: u32| {
        (0..info.height)
            .step_by(8)
            .map(|y| pixel(x0, y))
            .collect::<Vec<_>>()
    };
    assert_ne!(column(100), column(800));
    // The page fired, so the pager sounded: where the machine has no sound card (Xvfb in
    // CI), that is a warning in the log and the game played on.
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !Path::new("/dev/snd").exists() {
        assert!(stderr.contains("No audio device found"), "{stderr}");
    }
}

#[test]
fn mute_leaves_the_audio_plugin_out() {
    use bevy::audio::AudioPlugin;
    assert!(firedrill::ui::default_plugins(false).enabled::<AudioPlugin>());
    assert!(!firedrill::ui::default_plugins(true).enabled::<AudioPlugin>());
}
