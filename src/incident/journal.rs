//! The session journal: the scenario, the seed and every command, appended as the session
//! goes and flushed to disk at each command, so a crash or a kill loses nothing the
//! responders did. One JSON object per line; the first line is the header and carries the
//! scenario's full text, so a journal replays even after the scenario file has changed.
//!
//! A journal cut short (a crash mid-write) or damaged replays up to its last complete entry.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Command, Entry};
use crate::scenario::Seconds;

/// Version of the journal layout.
pub const JOURNAL_FORMAT: u32 = 1;

/// The first line of a journal.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub firedrill_journal: u32,
    /// The scenario file as it was named when the session started.
    pub scenario_file: String,
    /// FNV-1a 64 of the scenario text, to tell versions of a scenario apart.
    pub scenario_hash: String,
    pub seed: u64,
    pub duration_s: f64,
    /// The scenario's full text.
    pub scenario: String,
}

impl Header {
    pub fn new(scenario_file: &str, scenario_text: &str, seed: u64, duration_s: f64) -> Self {
        Self {
            firedrill_journal: JOURNAL_FORMAT,
            scenario_file: scenario_file.to_string(),
            scenario_hash: scenario_hash(scenario_text),
            seed,
            duration_s,
            scenario: scenario_text.to_string(),
        }
    }
}

/// One command as journaled: its sequence number, the simulated time it was applied at,
/// who issued it, and the command.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Line {
    pub seq: u64,
    pub at_s: f64,
    pub by: String,
    #[serde(rename = "do")]
    pub command: Command,
}

impl Line {
    pub fn entry(&self) -> Entry {
        Entry {
            at: Seconds(self.at_s),
            by: self.by.clone(),
            command: self.command.clone(),
        }
    }
}

/// FNV-1a, 64 bits: stable across platforms and versions, unlike the standard hasher.
pub fn scenario_hash(text: &str) -> String {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("fnv1a64:{hash:016x}")
}

/// A journal being written.
pub struct Journal {
    file: File,
    path: PathBuf,
    written: u64,
}

impl Journal {
    /// Creates the journal at `path` (replacing any file there) and writes its header.
    pub fn create(path: &Path, header: &Header) -> std::io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut journal = Self {
            file: File::create(path)?,
            path: path.to_path_buf(),
            written: 0,
        };
        journal.write_line(&serde_json::to_string(header).expect("headers serialize"))?;
        Ok(journal)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Commands written so far.
    pub fn len(&self) -> u64 {
        self.written
    }

    pub fn is_empty(&self) -> bool {
        self.written == 0
    }

    /// Appends a command and makes it durable before returning.
    pub fn append(&mut self, at_s: f64, by: &str, command: &Command) -> std::io::Result<()> {
        let line = Line {
            seq: self.written + 1,
            at_s,
            by: by.to_string(),
            command: command.clone(),
        };
        self.write_line(&serde_json::to_string(&line).expect("commands serialize"))?;
        self.written += 1;
        Ok(())
    }

    fn write_line(&mut self, line: &str) -> std::io::Result<()> {
        // One write per line: a crash leaves whole lines and at most one partial last line.
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        self.file.write_all(&bytes)?;
        self.file.flush()?;
        self.file.sync_data()
    }
}

/// A journal read back: its header, its complete entries, and what stopped the reading
/// early, if anything did.
#[derive(Clone, Debug, PartialEq)]
pub struct Recorded {
    pub header: Header,
    pub lines: Vec<Line>,
    /// Why the entries stop before the end of the file (null: the journal is whole).
    pub damage: Option<String>,
}

/// Reads the journal at `path`. Only an unreadable file or header is an error; a damaged
/// entry ends the entries there and is reported in `damage`.
pub fn read(path: &Path) -> Result<Recorded, String> {
    let name = path.display();
    let bytes = std::fs::read(path).map_err(|e| format!("{name}: cannot read the journal: {e}"))?;
    let text = String::from_utf8_lossy(&bytes);
    let mut rest = text.as_ref();
    let mut number = 0;
    let mut next_line = || -> Option<(usize, &str, bool)> {
        if rest.is_empty() {
            return None;
        }
        number += 1;
        Some(match rest.split_once('\n') {
            Some((line, tail)) => {
                rest = tail;
                (number, line, true)
            }
            None => {
                let line = rest;
                rest = "";
                (number, line, false)
            }
        })
    };
    let header: Header = match next_line() {
        Some((_, line, true)) => serde_json::from_str(line)
            .map_err(|e| format!("{name}:1: not a firedrill journal header ({e})"))?,
        _ => return Err(format!("{name}: the journal has no complete header line")),
    };
    if header.firedrill_journal != JOURNAL_FORMAT {
        return Err(format!(
            "{name}:1: journal format {} (this firedrill reads format {JOURNAL_FORMAT})",
            header.firedrill_journal
        ));
    }
    let mut lines: Vec<Line> = Vec::new();
    let mut damage = None;
    while let Some((number, line, complete)) = next_line() {
        if !complete {
            damage = Some(format!(
                "{name}:{number}: the last entry is incomplete (the session stopped while writing it)"
            ));
            break;
        }
        match serde_json::from_str::<Line>(line) {
            Ok(entry) if entry.seq == lines.len() as u64 + 1 && entry.at_s.is_finite() => {
                lines.push(entry)
            }
            Ok(entry) => {
                damage = Some(format!(
                    "{name}:{number}: entry {} is out of sequence (expected {})",
                    entry.seq,
                    lines.len() + 1
                ));
                break;
            }
            Err(e) => {
                damage = Some(format!("{name}:{number}: damaged entry ({e})"));
                break;
            }
        }
    }
    Ok(Recorded {
        header,
        lines,
        damage,
    })
}
