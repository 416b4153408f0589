//! Loading a scenario from text or a file: parse, validate, and report every problem at once.

use std::fmt;
use std::path::Path;

use ron::extensions::Extensions;

use super::format::Scenario;
use super::locate::{Locator, Position};
use super::validate::{self, Severity};

/// One problem, located in its file: `path:line:col: field: message`.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: String,
    pub position: Option<Position>,
    /// The field path, for semantic problems.
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(p) = self.position {
            write!(f, ":{}:{}", p.line, p.col)?;
        }
        write!(f, ": ")?;
        if self.severity == Severity::Warning {
            write!(f, "warning: ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        write!(f, "{}", self.message)
    }
}

/// Why a scenario could not be loaded: every error found, never only the first.
#[derive(Clone, Debug)]
pub struct LoadError {
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

impl LoadError {
    /// A problem with the file as a whole (unreadable, not text), not with a place in it.
    pub fn file(file: &str, message: &str) -> Self {
        Self {
            diagnostics: vec![Diagnostic {
                severity: Severity::Error,
                file: file.to_string(),
                position: None,
                field: None,
                message: message.to_string(),
            }],
        }
    }
}

/// A scenario that parsed and passed validation, with any warnings.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub scenario: Scenario,
    pub warnings: Vec<Diagnostic>,
}

/// The RON options scenario files are read with: `Some(..)` may be left out.
pub fn ron_options() -> ron::Options {
    ron::Options::default().with_default_extension(Extensions::IMPLICIT_SOME)
}

/// Checks a layer above adds to the scenario floor's own (the game's rules on the ground
/// truth): the scenario floor cannot know them.
pub type Lint = fn(&Scenario) -> Vec<validate::Problem>;

/// Parses and validates scenario `text` with the format and fleet checks; `file` names it in
/// diagnostics. A scenario to play is loaded with `session::load_str`, which adds the
/// game's checks.
pub fn load_str(file: &str, text: &str) -> Result<Loaded, LoadError> {
    load_str_with(file, text, |_| Vec::new())
}

/// Parses and validates scenario `text` with the scenario floor's checks and `lint`'s.
pub fn load_str_with(file: &str, text: &str, lint: Lint) -> Result<Loaded, LoadError> {
    let scenario: Scenario = match ron_options().from_str(text) {
        Ok(scenario) => scenario,
        Err(error) => return Err(syntax_error(file, text, &error, "docs/scenario-format.md")),
    };
    let mut problems = validate::check(&scenario);
    problems.extend(lint(&scenario));
    let locator = Locator::new(text);
    let mut diagnostics: Vec<Diagnostic> = problems
        .into_iter()
        .map(|p| Diagnostic {
            severity: p.severity,
            file: file.to_string(),
            position: locator.find(&p.path),
            field: Some(p.path),
            message: p.message,
        })
        .collect();
    diagnostics.sort_by_key(|d| {
        (
            d.severity,
            d.position.map(|p| (p.line, p.col)).unwrap_or((0, 0)),
        )
    });
    if diagnostics.iter().any(|d| d.severity == Severity::Error) {
        return Err(LoadError { diagnostics });
    }
    Ok(Loaded {
        scenario,
        warnings: diagnostics,
    })
}

/// Reports a RON file that did not parse (or whose values have the wrong type) in `file`.
/// `reference` is the document that lists the valid names, for spelling hints.
pub fn syntax_error(
    file: &str,
    text: &str,
    error: &ron::error::SpannedError,
    reference: &str,
) -> LoadError {
    let mut position = Position {
        line: error.span.start.line,
        col: error.span.start.col,
    };
    // A value of the wrong type does not say whose value it is; the locator does.
    let mut field = None;
    if is_value_error(&error.code) {
        position = skip_whitespace(text, position);
        field = Locator::new(text).path_at(position).map(str::to_string);
    }
    LoadError {
        diagnostics: vec![Diagnostic {
            severity: Severity::Error,
            file: file.to_string(),
            position: Some(position),
            field,
            message: syntax_message(&error.code, reference),
        }],
    }
}

/// Reads and loads the scenario at `path` (the scenario floor's checks only).
pub fn load_file(path: &Path) -> Result<Loaded, LoadError> {
    load_file_with(path, |_| Vec::new())
}

/// Reads and loads the scenario at `path` with the scenario floor's checks and `lint`'s.
pub fn load_file_with(path: &Path, lint: Lint) -> Result<Loaded, LoadError> {
    let file = path.display().to_string();
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => load_str_with(&file, &text, lint),
            Err(error) => Err(not_utf8(&file, error.as_bytes(), error.utf8_error())),
        },
        Err(error) => Err(LoadError::file(
            &file,
            &format!("cannot read the file: {error}"),
        )),
    }
}

/// A file that is not UTF-8, located at its first bad byte.
fn not_utf8(file: &str, bytes: &[u8], error: std::str::Utf8Error) -> LoadError {
    let valid = std::str::from_utf8(&bytes[..error.valid_up_to()]).unwrap_or_default();
    let line = valid.matches('\n').count() + 1;
    let col = valid.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    LoadError {
        diagnostics: vec![Diagnostic {
            severity: Severity::Error,
            file: file.to_string(),
            position: Some(Position { line, col }),
            field: None,
            message: format!(
                "the file is not valid UTF-8 text: byte 0x{:02x} at offset {} (save it as UTF-8)",
                bytes[error.valid_up_to()],
                error.valid_up_to()
            ),
        }],
    }
}

/// The first non-blank character at or after `at`: ron may point at the blank between a
/// field's colon and its value.
fn skip_whitespace(text: &str, at: Position) -> Position {
    let mut col = at.col;
    for (index, line) in text.lines().enumerate().skip(at.line - 1) {
        let start = if index == at.line - 1 { at.col - 1 } else { 0 };
        if let Some(offset) = line.chars().skip(start).position(|c| !c.is_whitespace()) {
            return Position {
                line: index + 1,
                col: start + offset + 1,
            };
        }
        col = 1;
    }
    Position { col, ..at }
}

/// Errors about a value that parsed but has the wrong type or range.
fn is_value_error(code: &ron::Error) -> bool {
    matches!(
        code,
        ron::Error::IntegerOutOfBounds
            | ron::Error::InvalidValueForType { .. }
            | ron::Error::ExpectedInteger
            | ron::Error::ExpectedFloat
            | ron::Error::ExpectedString
            | ron::Error::ExpectedBoolean
            // A value the format refuses (a duration out of range, say).
            | ron::Error::Message(_)
    )
}

/// RON's messages, with a hint where the usual fix is obvious.
fn syntax_message(code: &ron::Error, reference: &str) -> String {
    let text = code.to_string();
    match code {
        ron::Error::NoSuchStructField { .. } | ron::Error::NoSuchEnumVariant { .. } => {
            format!("{text} (check the spelling against {reference})")
        }
        ron::Error::MissingStructField { .. } => {
            format!("{text}: this field has no default and must be given")
        }
        _ => text,
    }
}
