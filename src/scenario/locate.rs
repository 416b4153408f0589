//! Maps a field path such as `services[3].calls[0].to` to its line and column in RON text,
//! so semantic errors can point at the offending value like syntax errors do.
//!
//! Serde loses source positions once a file is deserialized; this small scanner walks
//! the same text again and records where every value starts.

use std::collections::HashMap;

/// A 1-based line and column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub col: usize,
}

/// Where each value of a RON document starts, by field path.
pub struct Locator {
    positions: HashMap<String, Position>,
}

impl Locator {
    pub fn new(text: &str) -> Self {
        let mut scanner = Scanner {
            chars: text.chars().collect(),
            at: 0,
            line: 1,
            col: 1,
            positions: HashMap::new(),
        };
        scanner.value(String::new(), 0);
        Self {
            positions: scanner.positions,
        }
    }

    /// The position of `path`, or of its closest enclosing value that exists in the text
    /// (a missing field points at the struct that lacks it).
    pub fn find(&self, path: &str) -> Option<Position> {
        let mut path = path;
        loop {
            if let Some(position) = self.positions.get(path) {
                return Some(*position);
            }
            let cut = path.rfind(['.', '['])?;
            path = &path[..cut];
        }
    }

    /// The path of the innermost value that starts at or before `at`: the field a value
    /// error there belongs to. `None` before the first field.
    pub fn path_at(&self, at: Position) -> Option<&str> {
        self.positions
            .iter()
            .filter(|(path, p)| !path.is_empty() && (p.line, p.col) <= (at.line, at.col))
            .max_by_key(|(path, p)| (p.line, p.col, path.len()))
            .map(|(path, _)| path.as_str())
    }
}

struct Scanner {
    chars: Vec<char>,
    at: usize,
    line: usize,
    col: usize,
    positions: HashMap<String, Position>,
}

const MAX_DEPTH: usize = 128;

impl Scanner {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.at + offset).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn position(&self) -> Position {
        Position {
            line: self.line,
            col: self.col,
        }
    }

    fn skip_trivia(&mut self) {
        loop {
            match (self.peek(), self.peek_at(1)) {
                (Some(c), _) if c.is_whitespace() => {
                    self.bump();
                }
                (Some('/'), Some('/')) => {
                    while let Some(c) = self.bump() {
                        if c == '\n' {
                            break;
                        }
                    }
                }
                (Some('/'), Some('*')) => {
                    self.bump();
                    self.bump();
                    let mut depth = 1;
                    while depth > 0 {
                        match (self.bump(), self.peek()) {
                            (None, _) => return,
                            (Some('*'), Some('/')) => {
                                self.bump();
                                depth -= 1;
                            }
                            (Some('/'), Some('*')) => {
                                self.bump();
                                depth += 1;
                            }
                            _ => {}
                        }
                    }
                }
                _ => return,
            }
        }
    }

    fn identifier(&mut self) -> String {
        let mut ident = String::new();
        while let Some(c) = self.peek() {
            if c.is_alphanumeric() || c == '_' || c == '#' {
                ident.push(c);
                self.bump();
            } else {
                break;
            }
        }
        ident
    }

    fn value(&mut self, path: String, depth: usize) {
        self.skip_trivia();
        if depth > MAX_DEPTH {
            return;
        }
        let here = self.position();
        self.positions.entry(path.clone()).or_insert(here);
        match self.peek() {
            Some('"') => self.string(),
            Some('\'') => {
                self.bump();
                while let Some(c) = self.bump() {
                    match c {
                        '\\' => {
                            self.bump();
                        }
                        '\'' => break,
                        _ => {}
                    }
                }
            }
            Some('(') => self.parens(&path, depth),
            Some('[') => self.list(&path, depth),
            Some('{') => self.map(&path, depth),
            Some(c) if c == 'r' && matches!(self.peek_at(1), Some('"' | '#')) => self.raw_string(),
            Some(c) if c.is_alphabetic() || c == '_' => {
                self.identifier();
                self.skip_trivia();
                if self.peek() == Some('(') {
                    self.parens(&path, depth);
                }
            }
            Some(_) => {
                // Numbers and anything unexpected: consume up to a delimiter.
                while let Some(c) = self.peek() {
                    if matches!(c, ',' | ')' | ']' | '}') || c.is_whitespace() {
                        break;
                    }
                    self.bump();
                }
            }
            None => {}
        }
    }

    fn string(&mut self) {
        self.bump();
        while let Some(c) = self.bump() {
            match c {
                '\\' => {
                    self.bump();
                }
                '"' => break,
                _ => {}
            }
        }
    }

    fn raw_string(&mut self) {
        self.bump();
        let mut hashes = 0;
        while self.peek() == Some('#') {
            self.bump();
            hashes += 1;
        }
        self.bump();
        'outer: while let Some(c) = self.bump() {
            if c == '"' {
                for i in 0..hashes {
                    if self.peek_at(i) != Some('#') {
                        continue 'outer;
                    }
                }
                for _ in 0..hashes {
                    self.bump();
                }
                break;
            }
        }
    }

    /// `( field: value, ... )` or a tuple `( value, ... )`.
    fn parens(&mut self, path: &str, depth: usize) {
        self.bump();
        loop {
            self.skip_trivia();
            match self.peek() {
                None => return,
                Some(')') => {
                    self.bump();
                    return;
                }
                Some(',') => {
                    self.bump();
                    continue;
                }
                _ => {}
            }
            let start = self.at;
            let (line, col) = (self.line, self.col);
            let ident = self.identifier();
            self.skip_trivia();
            if !ident.is_empty() && self.peek() == Some(':') {
                self.bump();
                let field = ident.trim_start_matches("r#");
                self.value(join_field(path, field), depth + 1);
            } else {
                // Not a named field: rewind and read a positional value.
                self.at = start;
                self.line = line;
                self.col = col;
                // `Some(x)` and newtype wrappers keep their parent's path.
                self.value(path.to_string(), depth + 1);
            }
            self.skip_trivia();
            if self.peek() == Some(',') {
                self.bump();
            } else if self.peek() != Some(')') && self.peek().is_some() {
                // Unexpected token; step over it so scanning always progresses.
                self.bump();
            }
        }
    }

    fn list(&mut self, path: &str, depth: usize) {
        self.bump();
        let mut index = 0;
        loop {
            self.skip_trivia();
            match self.peek() {
                None => return,
                Some(']') => {
                    self.bump();
                    return;
                }
                Some(',') => {
                    self.bump();
                    continue;
                }
                _ => {}
            }
            let before = self.at;
            self.value(format!("{path}[{index}]"), depth + 1);
            index += 1;
            if self.at == before {
                self.bump();
            }
        }
    }

    fn map(&mut self, path: &str, depth: usize) {
        self.bump();
        loop {
            self.skip_trivia();
            match self.peek() {
                None => return,
                Some('}') => {
                    self.bump();
                    return;
                }
                Some(',' | ':') => {
                    self.bump();
                    continue;
                }
                _ => {}
            }
            let before = self.at;
            // Keys are recorded by their text when they are plain strings.
            let key_start = self.at;
            self.value(format!("{path}{{}}"), depth + 1);
            let key: String = self.chars[key_start..self.at]
                .iter()
                .collect::<String>()
                .trim()
                .trim_matches('"')
                .to_string();
            self.skip_trivia();
            if self.peek() == Some(':') {
                self.bump();
                self.value(join_field(path, &key), depth + 1);
            }
            if self.at == before {
                self.bump();
            }
        }
    }
}

fn join_field(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"// a comment with ( and [
(
    name: "demo",
    services: [
        (name: "a", calls: [(to: "b")]),
        (
            name: "b",
            kind: Database(pool: 0),
            /* block ) comment */ service_time: LogNormal(median: "1ms", p99: "2ms"),
        ),
    ],
    traffic: [(to: "a", rate: Some(-1.0))],
)
"#;

    #[test]
    fn names_the_value_a_position_falls_in() {
        let locator = Locator::new(TEXT);
        let inside_pool = Position { line: 8, col: 35 };
        assert_eq!(locator.path_at(inside_pool), Some("services[1].kind.pool"));
        assert_eq!(locator.path_at(Position { line: 1, col: 3 }), None);
    }

    #[test]
    fn finds_nested_fields() {
        let locator = Locator::new(TEXT);
        assert_eq!(locator.find("name"), Some(Position { line: 3, col: 11 }));
        assert_eq!(
            locator.find("services[0].calls[0].to"),
            Some(Position { line: 5, col: 34 })
        );
        assert_eq!(
            locator.find("services[1].kind.pool"),
            Some(Position { line: 8, col: 34 })
        );
        assert_eq!(
            locator.find("services[1].service_time.p99"),
            Some(Position { line: 9, col: 79 })
        );
        assert_eq!(
            locator.find("traffic[0].rate"),
            Some(Position { line: 12, col: 31 })
        );
    }

    #[test]
    fn missing_field_points_at_its_parent() {
        let locator = Locator::new(TEXT);
        assert_eq!(
            locator.find("services[1].instances"),
            locator.find("services[1]")
        );
    }

    #[test]
    fn survives_garbage() {
        for text in [
            "(((",
            "[1, 2",
            "(a: \"unterminated",
            "r#\"x",
            "/* open",
            ")]}",
        ] {
            let _ = Locator::new(text).find("a");
        }
    }
}
