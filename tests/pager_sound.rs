//! The pager's sounds are ours: synthesised here, bit for bit, into `assets/sounds/`. The
//! test fails when a file differs from what this code makes; to change a sound, change the
//! code and run it once with `FIREDRILL_WRITE_SOUNDS=1` to write the files.

use std::f64::consts::TAU;

const RATE: u32 = 22_050;

/// A tone of `hz` for `seconds`, with 6 ms fades so it does not click.
fn tone(hz: f64, seconds: f64, volume: f64) -> Vec<f64> {
    let n = (seconds * f64::from(RATE)).round() as usize;
    let fade = (0.006 * f64::from(RATE)) as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(RATE);
            let edge = i.min(n - 1 - i);
            let envelope = if edge < fade {
                edge as f64 / fade as f64
            } else {
                1.0
            };
            // libm: the same bits on every platform.
            volume * envelope * libm::sin(TAU * hz * t)
        })
        .collect()
}

fn silence(seconds: f64) -> Vec<f64> {
    vec![0.0; (seconds * f64::from(RATE)).round() as usize]
}

/// A page: the classic two-tone pager chirp, twice (G5 then C6).
fn page() -> Vec<f64> {
    let mut samples = Vec::new();
    for _ in 0..2 {
        samples.extend(tone(783.99, 0.11, 0.5));
        samples.extend(tone(1046.50, 0.11, 0.5));
        samples.extend(silence(0.08));
    }
    samples
}

/// An escalation: faster, higher and louder, four times.
fn escalation() -> Vec<f64> {
    let mut samples = Vec::new();
    for _ in 0..4 {
        samples.extend(tone(1318.51, 0.07, 0.7));
        samples.extend(silence(0.04));
        samples.extend(tone(1567.98, 0.07, 0.7));
        samples.extend(silence(0.06));
    }
    samples
}

/// 16-bit mono PCM in a RIFF/WAVE file.
fn wav(samples: &[f64]) -> Vec<u8> {
    let data_len = (samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + samples.len() * 2);
    out.extend(b"RIFF");
    out.extend((36 + data_len).to_le_bytes());
    out.extend(b"WAVEfmt ");
    out.extend(16u32.to_le_bytes());
    out.extend(1u16.to_le_bytes()); // PCM
    out.extend(1u16.to_le_bytes()); // mono
    out.extend(RATE.to_le_bytes());
    out.extend((RATE * 2).to_le_bytes()); // bytes per second
    out.extend(2u16.to_le_bytes()); // bytes per frame
    out.extend(16u16.to_le_bytes()); // bits per sample
    out.extend(b"data");
    out.extend(data_len.to_le_bytes());
    for s in samples {
        out.extend(((s.clamp(-1.0, 1.0) * 32_767.0).round() as i16).to_le_bytes());
    }
    out
}

#[test]
fn the_pager_sounds_are_the_ones_this_code_synthesises() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sounds");
    for (name, samples) in [("page.wav", page()), ("escalation.wav", escalation())] {
        let bytes = wav(&samples);
        let path = dir.join(name);
        if std::env::var_os("FIREDRILL_WRITE_SOUNDS").is_some() {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        }
        let shipped = std::fs::read(&path).unwrap_or_default();
        assert!(
            shipped == bytes,
            "{} differs from what tests/pager_sound.rs synthesises: run it with FIREDRILL_WRITE_SOUNDS=1",
            path.display()
        );
        // A sound of its own length: about 0.6 s, well under a second, never silent.
        let seconds = samples.len() as f64 / f64::from(RATE);
        assert!((0.4..1.2).contains(&seconds), "{name}: {seconds} s");
        assert!(samples.iter().any(|s| s.abs() > 0.4), "{name} is silent");
    }
}
