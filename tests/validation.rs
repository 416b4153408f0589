//! Bad scenario files: each names the errors it must produce (`// expect:` lines, with file,
//! line, column and field), and nothing in the corpus, nor random damage to a good file,
//! may panic or load half-way.

use std::path::Path;

use firedrill::scenario::Severity;
use firedrill::session::load_str;

/// The fuzz targets' checks (`fuzz/`), run here over their corpus.
#[path = "../fuzz/bodies.rs"]
mod fuzz;

fn corpus() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/bad exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).expect("utf-8 file"))
        })
        .collect()
}

#[test]
fn every_bad_file_reports_its_expected_errors() {
    let corpus = corpus();
    assert!(corpus.len() >= 15, "the corpus is missing files");
    for (name, text) in corpus {
        let expected: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("// expect: "))
            .collect();
        assert!(!expected.is_empty(), "{name} has no `// expect:` line");
        let error = match load_str(&name, &text) {
            Ok(_) => panic!("{name} loaded, but it is invalid"),
            Err(error) => error,
        };
        let got: Vec<String> = error
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| d.to_string())
            .collect();
        for want in &expected {
            assert!(
                got.iter().any(|g| g.starts_with(want)),
                "{name}: expected\n  {want}\ngot\n  {}",
                got.join("\n  ")
            );
        }
    }
}

#[test]
fn shipped_scenarios_and_their_scripts_are_valid_without_warnings() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        if name.ends_with(".actions.ron") {
            // A script is checked against the scenario named before its first dot.
            let stem = name.split('.').next().unwrap();
            let scenario = std::fs::read_to_string(dir.join(format!("{stem}.ron"))).unwrap();
            let scenario = load_str(stem, &scenario).unwrap().scenario;
            firedrill::incident::load_script(&name, &text, &scenario)
                .unwrap_or_else(|e| panic!("{e}"));
            continue;
        }
        let loaded = load_str(&name, &text).unwrap_or_else(|e| panic!("{e}"));
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    }
}

/// A tiny deterministic generator, so the damage is the same on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % below.max(1)
    }
}

#[test]
fn damaged_files_never_panic() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/shop.ron"))
            .unwrap();
    let pieces = [
        "(", ")", "[", "]", ",", ":", "\"", "-1", "0", "1e309", "name", "r#\"", "/*", "Gamma(",
        "\n",
    ];
    let mut rng = Lcg(99);
    for _ in 0..400 {
        let mut chars: Vec<char> = text.chars().collect();
        for _ in 0..1 + rng.next(4) {
            let at = rng.next(chars.len());
            match rng.next(3) {
                0 => {
                    chars.remove(at);
                }
                1 => {
                    let piece = pieces[rng.next(pieces.len())];
                    for (i, c) in piece.chars().enumerate() {
                        chars.insert(at + i, c);
                    }
                }
                _ => chars.truncate(at),
            }
        }
        let damaged: String = chars.into_iter().collect();
        if let Err(error) = load_str("damaged.ron", &damaged) {
            assert!(!error.diagnostics.is_empty());
            for d in &error.diagnostics {
                assert!(d.to_string().starts_with("damaged.ron"), "{d}");
            }
        }
    }
}

#[test]
fn a_par_shorter_than_the_mitigation_takes_is_flagged() {
    // Rolling back three instances that restart in 40 s takes two minutes at least.
    let scenario = |par: &str| {
        format!(
            r#"(name: "par", services: [(name: "api", instances: 3, restart_time: "40s")],
                traffic: [(to: "api", rate: 10.0)],
                faults: [(name: "bad", kind: Deploy(version: "v2", error_ratio: 0.5), target: "api", start: At("1m"))],
                slos: [(name: "api", service: "api", objective: 99.9)],
                incident: (root_cause: ["bad"], par_mitigate: "{par}"))"#
        )
    };
    let short = load_str("par.ron", &scenario("90s")).unwrap();
    let warning = short
        .warnings
        .iter()
        .map(|w| w.to_string())
        .find(|w| w.contains("incident.par_mitigate"))
        .expect("a warning on par_mitigate");
    assert!(
        warning.contains(
            "par 1m30s is shorter than the fastest mitigation takes to act (Rollback(api): 2m)"
        ),
        "{warning}"
    );
    assert!(
        load_str("par.ron", &scenario("5m"))
            .unwrap()
            .warnings
            .is_empty()
    );
    // A config push is undone at once: any par will do.
    let config = scenario("90s").replace(
        r#"Deploy(version: "v2", error_ratio: 0.5)"#,
        r#"ConfigPush(change: "c", error_ratio: 0.5)"#,
    );
    assert!(load_str("par.ron", &config).unwrap().warnings.is_empty());
}

#[test]
fn a_file_that_is_not_utf8_is_located_at_its_first_bad_byte() {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("latin1.ron");
    std::fs::write(&path, b"(\n    name: \"caf\xe9\",\n)\n").unwrap();
    let error = firedrill::session::load_file(&path).unwrap_err();
    let message = error.diagnostics[0].to_string();
    assert!(
        message.contains("latin1.ron:2:15: the file is not valid UTF-8 text: byte 0xe9"),
        "{message}"
    );
}

#[test]
fn what_validate_accepts_runs_in_bounded_memory() {
    // Far-future events: a heavy-tailed service whose slowest requests take hours, and a
    // fault that delays answers by most of a year. Both once aborted allocating a calendar
    // slot per tick up to their farthest event.
    for (name, service, fault) in [
        (
            "heavy tail",
            r#"service_time: LogNormal(median: "4ms", p99: "1m")"#,
            "",
        ),
        (
            "a long delay",
            "",
            r#"faults: [(kind: Latency(extra: "300d"), target: "web", start: At("10s"))],"#,
        ),
    ] {
        let text = format!(
            r#"(name: "{name}", duration: "2m",
                services: [(name: "web", workers: 64, {service})],
                traffic: [(to: "web", rate: 200.0)], {fault})"#
        );
        let loaded = load_str("far.ron", &text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut sim = firedrill::session::Simulation::new(&loaded.scenario);
        sim.run_until(120.0);
        assert!(sim.events_handled() > 0, "{name}");
    }
}

/// Replaces the `n`th number or quoted duration of `text` with `with`.
fn replace_value(text: &str, n: usize, with: &str) -> String {
    let bytes = text.as_bytes();
    let mut seen = 0;
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let end = if bytes[i] == b'"' {
            // A quoted value that starts with a digit: a duration.
            let close = text[i + 1..]
                .find('"')
                .map_or(bytes.len(), |c| i + 1 + c + 1);
            if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
                close
            } else {
                i = close;
                continue;
            }
        } else if bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric()) {
            let mut j = i;
            while j < bytes.len() && (bytes[j].is_ascii_digit() || bytes[j] == b'.') {
                j += 1;
            }
            j
        } else {
            i += 1;
            continue;
        };
        if seen == n {
            return format!("{}{with}{}", &text[..start], &text[end..]);
        }
        seen += 1;
        i = end.max(start + 1);
    }
    text.to_string()
}

#[test]
fn hostile_values_are_refused_or_run_without_panicking() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/small.ron"))
            .unwrap();
    let hostile = [
        "0",
        "-5",
        "1e308",
        "4294967295",
        "1e-9",
        "\"inf\"",
        "\"NaN\"",
        "\"1e400\"",
        "\"0s\"",
        "\"365d\"",
        "\"1us\"",
        "99999",
        "0.0000001",
    ];
    let mut rng = Lcg(2026);
    let mut ran = 0;
    for _ in 0..150 {
        let mut damaged = text.clone();
        for _ in 0..1 + rng.next(3) {
            damaged = replace_value(&damaged, rng.next(60), hostile[rng.next(hostile.len())]);
        }
        let Ok(loaded) = load_str("hostile.ron", &damaged) else {
            continue;
        };
        // What loads must run: a few seconds of it, within bounded memory.
        let mut scenario = loaded.scenario;
        scenario.duration = firedrill::scenario::Seconds(3.0_f64.max(scenario.tick.get()));
        let mut sim = firedrill::session::Simulation::new(&scenario);
        sim.run_until(scenario.duration.get());
        ran += 1;
    }
    assert!(
        ran > 10,
        "too few damaged scenarios loaded to exercise the engine ({ran})"
    );
}

#[test]
fn a_damaged_journal_never_panics_and_replays_only_a_true_prefix() {
    use firedrill::incident::journal::{Header, Journal, read};
    use firedrill::incident::{Command, View};
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join("fuzzed.jsonl");
    let scenario = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/tutorial.ron"),
    )
    .unwrap();
    let mut journal =
        Journal::create(&path, &Header::new("tutorial.ron", &scenario, 1, 720.0)).unwrap();
    let commands = [
        Command::Acknowledge {
            alert: "web-availability".into(),
        },
        Command::Look(View::Deploys),
        Command::Resolve,
    ];
    for (i, command) in commands.iter().enumerate() {
        journal
            .append(60.0 * (i + 1) as f64, "on-call", command)
            .unwrap();
    }
    let whole = read(&path).unwrap();
    assert_eq!(whole.lines.len(), 3);
    assert!(whole.damage.is_none());
    let bytes = std::fs::read(&path).unwrap();
    // The seed edited: another session, refused.
    let text = String::from_utf8(bytes.clone()).unwrap();
    std::fs::write(&path, text.replacen("\"seed\":1,", "\"seed\":2,", 1)).unwrap();
    let refused = read(&path).unwrap_err();
    assert!(
        refused.contains("the header does not match its checksum"),
        "{refused}"
    );
    let mut rng = Lcg(7);
    for _ in 0..300 {
        let mut damaged = bytes.clone();
        for _ in 0..1 + rng.next(3) {
            let at = rng.next(damaged.len());
            damaged[at] ^= 1 << rng.next(8);
        }
        std::fs::write(&path, &damaged).unwrap();
        // Refused, or the entries read are the journal's own, in order, up to the damage.
        if let Ok(recorded) = read(&path) {
            assert_eq!(recorded.header, whole.header);
            assert_eq!(recorded.lines[..], whole.lines[..recorded.lines.len()]);
        }
    }
}

/// Every file in `dirs` (relative to the repository), sorted: a fuzz target's corpus. Of
/// `fuzz/corpus`, only the committed seeds: the rest is a fuzzer's working set.
fn files_in(dirs: &[&str]) -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = dirs
        .iter()
        .filter_map(|dir| std::fs::read_dir(root.join(dir)).ok())
        .flatten()
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.is_file())
        .filter(|p| {
            !p.starts_with(root.join("fuzz/corpus"))
                || p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("seed-"))
        })
        .collect();
    files.sort();
    files
}

/// A fuzz target: its name, its check, and the folders its corpus starts from.
type Target = (&'static str, fn(&[u8]), &'static [&'static str]);

#[test]
fn the_fuzz_corpus_keeps_every_promise() {
    let runs: [Target; 4] = [
        (
            "scenario",
            fuzz::scenario,
            &["scenarios", "tests/bad", "fuzz/corpus/scenario"],
        ),
        (
            "simulate",
            fuzz::simulate,
            &["scenarios", "tests/bad", "fuzz/corpus/simulate"],
        ),
        ("journal", fuzz::journal, &["fuzz/corpus/journal"]),
        ("protocol", fuzz::protocol, &["fuzz/corpus/protocol"]),
    ];
    for (target, check, dirs) in runs {
        let files = files_in(dirs);
        assert!(files.len() >= 2, "{target}: no corpus");
        for file in files {
            let data = std::fs::read(&file).unwrap();
            if std::panic::catch_unwind(|| check(&data)).is_err() {
                panic!("fuzz target {target} fails on {}", file.display());
            }
        }
    }
}
