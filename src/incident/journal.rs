//! The session journal: the scenario, the seed and every command, appended as the session
//! goes and flushed to disk at each command, so a crash or a kill loses nothing the
//! responders did. One JSON object per line; the first line is the header and carries the
//! scenario's full text, so a journal replays even after the scenario file has changed.
//!
//! A journal cut short (a crash mid-write) or damaged replays up to its last complete entry.
//! It proves its integrity: the header's hash must match the scenario text it carries, and
//! each entry carries a running checksum over the header and every entry before it, so an
//! edited, flipped, dropped or reordered entry stops the replay there with a located message.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Command, Entry};
use crate::scenario::Seconds;

/// Version of the journal layout: 2 added the entries' running checksum.
pub const JOURNAL_FORMAT: u32 = 2;
/// The layout before checksums, still read (without the check).
const JOURNAL_FORMAT_UNCHECKED: u32 = 1;

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
    /// FNV-1a 64 of the fields above but the text (whose own hash is among them): an edited
    /// seed, duration or name is caught like an edited scenario. Absent in format 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sum: Option<String>,
}

impl Header {
    pub fn new(scenario_file: &str, scenario_text: &str, seed: u64, duration_s: f64) -> Self {
        let mut header = Self {
            firedrill_journal: JOURNAL_FORMAT,
            scenario_file: scenario_file.to_string(),
            scenario_hash: scenario_hash(scenario_text),
            seed,
            duration_s,
            scenario: scenario_text.to_string(),
            sum: None,
        };
        header.sum = Some(header.checksum());
        header
    }

    /// The checksum of the header's fields.
    fn checksum(&self) -> String {
        let fields = serde_json::to_string(&(
            self.firedrill_journal,
            &self.scenario_file,
            &self.scenario_hash,
            self.seed,
            self.duration_s,
        ))
        .expect("headers serialize");
        fnv1a64(&fields)
    }
}

/// One command as journaled: its sequence number, the simulated time it was applied at,
/// who issued it, the command, and the running checksum.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Line {
    pub seq: u64,
    pub at_s: f64,
    pub by: String,
    #[serde(rename = "do")]
    pub command: Command,
    /// FNV-1a 64 of the previous entry's sum (the header's hash for the first) and this
    /// entry's fields; absent in format 1 journals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sum: Option<String>,
}

impl Line {
    /// The running checksum of this entry after `previous`.
    fn checksum(&self, previous: &str) -> String {
        let fields = serde_json::to_string(&(self.seq, self.at_s, &self.by, &self.command))
            .expect("entries serialize");
        fnv1a64(&format!("{previous}\n{fields}"))
    }
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
    fnv1a64(text)
}

fn fnv1a64(text: &str) -> String {
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
    /// The last entry's checksum (the header's hash before the first).
    sum: String,
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
            sum: header.scenario_hash.clone(),
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
        let mut line = Line {
            seq: self.written + 1,
            at_s,
            by: by.to_string(),
            command: command.clone(),
            sum: None,
        };
        let sum = line.checksum(&self.sum);
        line.sum = Some(sum.clone());
        self.write_line(&serde_json::to_string(&line).expect("commands serialize"))?;
        self.written += 1;
        self.sum = sum;
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
    parse(&name.to_string(), &bytes)
}

/// Reads a journal's bytes, named `name` in messages, as [`read`] does.
pub fn parse(name: &str, bytes: &[u8]) -> Result<Recorded, String> {
    let text = String::from_utf8_lossy(bytes);
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
    let checked = match header.firedrill_journal {
        JOURNAL_FORMAT => true,
        JOURNAL_FORMAT_UNCHECKED => false,
        other => {
            return Err(format!(
                "{name}:1: journal format {other} (this firedrill reads formats {JOURNAL_FORMAT_UNCHECKED} and {JOURNAL_FORMAT})"
            ));
        }
    };
    if scenario_hash(&header.scenario) != header.scenario_hash {
        return Err(format!(
            "{name}:1: the scenario text does not match its hash {} (the journal was edited): refusing to replay another scenario",
            header.scenario_hash
        ));
    }
    if !header.duration_s.is_finite()
        || header.duration_s <= 0.0
        || header.duration_s > crate::scenario::MAX_DURATION_S
    {
        return Err(format!(
            "{name}:1: duration_s {} is not a run's length (more than 0, at most {})",
            header.duration_s,
            Seconds(crate::scenario::MAX_DURATION_S)
        ));
    }
    if checked && header.sum.as_deref() != Some(&header.checksum()) {
        return Err(format!(
            "{name}:1: the header does not match its checksum (its seed, duration or scenario name was edited): refusing to replay another session"
        ));
    }
    let mut lines: Vec<Line> = Vec::new();
    let mut damage = None;
    let mut sum = header.scenario_hash.clone();
    while let Some((number, line, complete)) = next_line() {
        if !complete {
            damage = Some(format!(
                "{name}:{number}: the last entry is incomplete (the session stopped while writing it)"
            ));
            break;
        }
        match serde_json::from_str::<Line>(line) {
            Ok(entry) if entry.seq != lines.len() as u64 + 1 => {
                damage = Some(format!(
                    "{name}:{number}: entry {} is out of sequence (expected {})",
                    entry.seq,
                    lines.len() + 1
                ));
                break;
            }
            Ok(entry) if checked && entry.sum.as_deref() != Some(&entry.checksum(&sum)) => {
                damage = Some(format!(
                    "{name}:{number}: entry {} does not match its checksum (the entry, or one before it, was altered)",
                    entry.seq
                ));
                break;
            }
            Ok(entry)
                if !entry.at_s.is_finite()
                    || entry.at_s < lines.last().map_or(0.0, |l: &Line| l.at_s)
                    || entry.at_s > header.duration_s =>
            {
                damage = Some(format!(
                    "{name}:{number}: entry {} is at {}s, out of time order or outside the run (0 to {}s)",
                    entry.seq, entry.at_s, header.duration_s
                ));
                break;
            }
            Ok(entry) => {
                if let Some(next) = &entry.sum {
                    sum = next.clone();
                }
                lines.push(entry);
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
