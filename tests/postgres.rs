//! A cohort's shared history in a real PostgreSQL server that the test starts on loopback:
//! two "laptops" (two data folders) record into one server, `history --by-trainee` lists
//! both trainees, and a server that is gone loses nothing of a session's journal.
//!
//! Needs Debian's `postgresql` (initdb, postgres); skipped without it, except under CI.
#![cfg(feature = "postgres")]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The folder holding initdb and postgres: on the PATH, or Debian's versioned folder.
fn postgres_bin() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).find(|dir| dir.join("initdb").is_file()));
    on_path.or_else(|| {
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|bin| bin.join("initdb").is_file())
            .collect();
        versions.sort();
        versions.pop()
    })
}

/// A throwaway PostgreSQL server on a free loopback port, trusting local connections.
struct Server {
    data: PathBuf,
    port: u16,
    process: Child,
}

impl Server {
    fn start(bin: &Path) -> Server {
        let data = std::env::temp_dir().join(format!("firedrill-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&data);
        std::fs::create_dir_all(&data).unwrap();
        // PostgreSQL refuses to run as root: as root, run it as the `postgres` user.
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        if root {
            assert!(
                Command::new("chown")
                    .args(["postgres:postgres"])
                    .arg(&data)
                    .status()
                    .unwrap()
                    .success()
            );
        }
        let as_server = |program: &str| {
            let mut command = if root {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(bin.join(program));
                c
            } else {
                Command::new(bin.join(program))
            };
            command.stdout(Stdio::null()).stderr(Stdio::null());
            command
        };
        let cluster = data.join("cluster");
        let initdb = as_server("initdb")
            .args(["--auth=trust", "--username=firedrill", "--no-sync", "-D"])
            .arg(&cluster)
            .status()
            .unwrap();
        assert!(initdb.success(), "initdb failed");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let process = as_server("postgres")
            .arg("-D")
            .arg(&cluster)
            .args(["-p", &port.to_string(), "-k"])
            .arg(&data)
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .spawn()
            .unwrap();
        let server = Server {
            data,
            port,
            process,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while firedrill::history::History::connect(&server.url()).is_err() {
            assert!(Instant::now() < deadline, "the server did not start");
            std::thread::sleep(Duration::from_millis(200));
        }
        server
    }

    fn url(&self) -> String {
        format!(
            "postgres://firedrill@127.0.0.1:{}/postgres?connect_timeout=5",
            self.port
        )
    }

    /// Kills the server at once (SIGKILL to the postmaster), as a crash would.
    fn kill(&mut self) {
        let pid = std::fs::read_to_string(self.data.join("cluster/postmaster.pid"))
            .ok()
            .and_then(|text| text.lines().next().map(str::to_string));
        if let Some(pid) = pid {
            let _ = Command::new("kill").args(["-9", &pid]).status();
        }
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

fn firedrill(args: &[&str], url: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("FIREDRILL_HISTORY_URL", url)
        .output()
        .expect("the binary runs")
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("postgres")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The tutorial's reference script, played by `trainee`.
fn script_of(trainee: &str, dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/tutorial.actions.ron"
    ))
    .unwrap();
    let path = dir.join(format!("{trainee}.actions.ron"));
    std::fs::write(
        &path,
        text.replace("(at:", &format!("(by: \"{trainee}\", at:")),
    )
    .unwrap();
    path
}

#[test]
fn two_laptops_share_one_history_and_a_dead_server_loses_nothing() {
    let Some(bin) = postgres_bin() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "PostgreSQL is not installed; .ci/run installs it"
        );
        eprintln!("skipped: PostgreSQL (initdb, postgres) is not installed");
        return;
    };
    let mut server = Server::start(&bin);
    let url = server.url();
    let dir = scratch("cohort");
    for (trainee, laptop) in [("ana", "laptop-a"), ("bo", "laptop-b")] {
        let data = dir.join(laptop);
        let script = script_of(trainee, &dir);
        let out = firedrill(
            &[
                "run",
                "scenarios/tutorial.ron",
                "--script",
                script.to_str().unwrap(),
                "--data-dir",
                data.to_str().unwrap(),
            ],
            &url,
        );
        assert!(out.status.success(), "{out:?}");
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("not recorded"),
            "{out:?}"
        );
        // The shared history, not the laptop's own file.
        assert!(!firedrill::history::database(&data).exists());
    }
    let out = firedrill(&["history", "--by-trainee", "--format", "json"], &url);
    assert!(out.status.success(), "{out:?}");
    let trainees: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = trainees
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ana", "bo"]);
    for trainee in trainees.as_array().unwrap() {
        assert_eq!(trainee["sessions"], 1);
        assert!(
            trainee["best_percent"].as_f64().unwrap() >= 90.0,
            "{trainee}"
        );
        assert!(trainee["competencies"]["detection"].as_f64().unwrap() > 0.0);
    }
    // Assignments live in the shared history too.
    let out = firedrill(&["assign", "bo", "hot-key", "--by", "mia"], &url);
    assert!(out.status.success(), "{out:?}");
    let out = firedrill(&["assign", "--list"], &url);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("bo                   hot-key"),
        "{out:?}"
    );

    // The server dies mid-session: a run paced at 100x real time (12 s for the tutorial's
    // 20 minutes) loses its server once its journal holds the first command. It still
    // finishes, says the history was not recorded, and its journal replays to the same report.
    let data = dir.join("laptop-a");
    let (journal, report) = (dir.join("after.jsonl"), dir.join("after.json"));
    let script = script_of("ana", &dir);
    let session = Command::new(env!("CARGO_BIN_EXE_firedrill"))
        .args([
            "run",
            "scenarios/tutorial.ron",
            "--speed",
            "100",
            "--script",
        ])
        .arg(&script)
        .arg("--data-dir")
        .arg(&data)
        .arg("--journal")
        .arg(&journal)
        .arg("--report")
        .arg(&report)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("FIREDRILL_HISTORY_URL", &url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_to_string(&journal).map_or(0, |j| j.lines().count()) < 2 {
        assert!(Instant::now() < deadline, "the journal got no command");
        std::thread::sleep(Duration::from_millis(50));
    }
    server.kill();
    let out = session.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("history not recorded"), "{stderr}");
    assert!(
        !stderr.contains("firedrill@"),
        "no address with its user: {stderr}"
    );
    let commands = std::fs::read_to_string(&script)
        .unwrap()
        .matches("(by:")
        .count();
    let journaled = std::fs::read_to_string(&journal).unwrap().lines().count();
    assert_eq!(journaled, 1 + commands, "the header and every command");
    let replayed = dir.join("replayed.json");
    let out = firedrill(
        &[
            "replay",
            journal.to_str().unwrap(),
            "--report",
            replayed.to_str().unwrap(),
        ],
        &url,
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        std::fs::read(&report).unwrap(),
        std::fs::read(&replayed).unwrap()
    );
    let out = firedrill(&["history"], &url);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("postgres://127.0.0.1"),
        "the error names the server: {out:?}"
    );
}
