//! Authoring: `test` runs scenarios' self-tests, `new` writes a starter scenario, `validate`
//! checks scenario files and action scripts.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::{CliError, CliResult, write_atomically};
use crate::scenario::Severity;
use crate::session::load_file;

#[derive(clap::Args, Debug)]
pub struct TestArgs {
    paths: Vec<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct NewArgs {
    name: String,
    /// The folder to write to.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct ValidateArgs {
    /// Files or folders (folders are searched for .ron files).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

pub fn exec_test(args: TestArgs) -> CliResult {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from("scenarios")]
    } else {
        args.paths
    };
    let files = crate::authoring::scenario_files(&paths);
    if files.is_empty() {
        return Err(CliError::usage(format!(
            "firedrill: no scenario files in {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    println!(
        "{:<22} {:<44} {:>6} {:>8} {:>7}  result",
        "scenario", "test", "score", "resolved", "budget"
    );
    let started = Instant::now();
    let (mut passed, mut failed, mut untested) = (0, 0, 0);
    for (file, outcomes) in files.iter().zip(crate::authoring::run_all(&files)) {
        match outcomes {
            Err(error) => {
                println!("{:<22} FAILED: {error}", file.display());
                failed += 1;
            }
            Ok(outcomes) if outcomes.is_empty() => {
                println!("{:<22} (no tests)", file.display());
                untested += 1;
            }
            Ok(outcomes) => {
                for o in outcomes {
                    println!(
                        "{:<22} {:<44} {:>6} {:>8} {:>7}  {}",
                        o.scenario,
                        column(&o.test, 44),
                        o.percent.map_or("-".to_string(), |p| format!("{p:.0}%")),
                        if o.resolved { "yes" } else { "no" },
                        o.budget_left
                            .map_or("-".to_string(), |b| format!("{:.1}%", b * 100.0)),
                        if o.passed() {
                            "ok".to_string()
                        } else {
                            format!("FAILED: {}", o.failures.join("; "))
                        }
                    );
                    if o.passed() {
                        passed += 1;
                    } else {
                        failed += 1;
                    }
                }
            }
        }
    }
    // The wall clock goes to stderr: what stdout says is the same on every run.
    eprintln!(
        "ran in {:.1}s on up to {} threads (--jobs)",
        started.elapsed().as_secs_f64(),
        crate::session::parallel::jobs()
    );
    println!("{passed} passed, {failed} failed, {untested} scenario(s) without tests");
    if failed > 0 {
        Err(CliError::failed())
    } else {
        Ok(())
    }
}

pub fn exec_new(args: NewArgs) -> CliResult {
    let NewArgs { name, dir } = args;
    let (name, dir) = (name.as_str(), dir.as_path());
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(CliError::usage(format!(
            "firedrill: a scenario name is letters, digits, '-' and '_' (got \"{name}\")"
        )));
    }
    let files = [
        (
            dir.join(format!("{name}.ron")),
            crate::authoring::starter(name),
        ),
        (
            dir.join(format!("{name}.actions.ron")),
            crate::authoring::starter_reference().to_string(),
        ),
        (
            dir.join(format!("{name}.restart.actions.ron")),
            crate::authoring::starter_wrong().to_string(),
        ),
    ];
    if let Some((existing, _)) = files.iter().find(|(path, _)| path.exists()) {
        return Err(CliError::usage(format!(
            "firedrill: {} exists already: nothing written",
            existing.display()
        )));
    }
    for (path, text) in &files {
        std::fs::create_dir_all(dir).map_err(|error| {
            CliError::invalid(format!(
                "firedrill: cannot write {}: {error}",
                path.display()
            ))
        })?;
        write_atomically(path, text)?;
        println!("wrote {}", path.display());
    }
    println!(
        "next: firedrill validate {0}; firedrill test {0}; firedrill play {0}",
        files[0].0.display()
    );
    Ok(())
}

pub fn exec_validate(args: ValidateArgs) -> CliResult {
    let mut files = Vec::new();
    for path in &args.paths {
        if path.is_dir() {
            collect_ron_files(path, &mut files);
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(CliError::usage(format!(
                "firedrill: {}: no such file or directory",
                path.display()
            )));
        }
    }
    if files.is_empty() {
        return Err(CliError::usage("firedrill: no .ron files found"));
    }
    let mut invalid = 0;
    for file in &files {
        if is_action_script(file) {
            invalid += u32::from(!check_script_syntax(file));
            continue;
        }
        match load_file(file) {
            Ok(loaded) => {
                let warnings = loaded
                    .warnings
                    .iter()
                    .filter(|w| w.severity == Severity::Warning)
                    .count();
                for warning in &loaded.warnings {
                    println!("{warning}");
                }
                let note = if warnings > 0 {
                    format!(", {warnings} warning(s)")
                } else {
                    String::new()
                };
                println!(
                    "ok: {} ({} services{note})",
                    file.display(),
                    loaded.scenario.services.len()
                );
            }
            Err(error) => {
                invalid += 1;
                println!("{error}");
            }
        }
    }
    if invalid > 0 {
        println!("{invalid} of {} scenario file(s) invalid", files.len());
        Err(CliError::failed())
    } else {
        Ok(())
    }
}

/// Action scripts are named `*.actions.ron` so they can sit beside scenarios.
fn is_action_script(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(".actions.ron"))
}

/// Checks an action script's syntax; its targets need a scenario (`run --script`).
fn check_script_syntax(path: &Path) -> bool {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => {
            println!("{}: cannot read the script: {error}", path.display());
            return false;
        }
    };
    match crate::incident::parse_script(&path.display().to_string(), &text) {
        Ok(actions) => {
            println!(
                "ok: {} (action script, {} actions; its targets are checked by `firedrill run SCENARIO --script {}`)",
                path.display(),
                actions.len(),
                path.display()
            );
            true
        }
        Err(error) => {
            println!("{error}");
            false
        }
    }
}

fn collect_ron_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            collect_ron_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "ron") {
            files.push(path);
        }
    }
}

/// Fits `text` in a table column, cutting with an ellipsis.
fn column(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let cut: String = text.chars().take(width - 1).collect();
        format!("{cut}…")
    }
}
