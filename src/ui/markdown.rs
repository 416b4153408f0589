//! The postmortem draft as a formatted page: a small renderer of the Markdown subset the
//! draft is written in (headings, paragraphs, bullet and numbered lists, tables, and
//! **bold**, _italic_ and `code` inside a line). Anything else shows as plain text.

use bevy_egui::egui::{self, Color32, RichText, Ui};

/// A block of the page.
#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    Heading(u8, String),
    Paragraph(String),
    /// A list item: its marker ("•" or "3.") and text.
    Item(String, String),
    /// A table's header cells, then its rows.
    Table(Vec<String>, Vec<Vec<String>>),
}

/// A run of text inside a line.
#[derive(Clone, Debug, PartialEq)]
pub enum Span {
    Plain(String),
    Bold(String),
    Italic(String),
    Code(String),
}

/// The blocks of `text`, in order.
pub fn blocks(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut lines = text.lines().peekable();
    let mut paragraph: Vec<&str> = Vec::new();
    let flush = |paragraph: &mut Vec<&str>, blocks: &mut Vec<Block>| {
        if !paragraph.is_empty() {
            blocks.push(Block::Paragraph(paragraph.join(" ")));
            paragraph.clear();
        }
    };
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            flush(&mut paragraph, &mut blocks);
            continue;
        }
        let level = trimmed.chars().take_while(|c| *c == '#').count();
        if (1..=6).contains(&level) && trimmed[level..].starts_with(' ') {
            flush(&mut paragraph, &mut blocks);
            blocks.push(Block::Heading(
                level as u8,
                trimmed[level..].trim().to_string(),
            ));
        } else if let Some(item) = trimmed.strip_prefix("- ").or(trimmed.strip_prefix("* ")) {
            flush(&mut paragraph, &mut blocks);
            blocks.push(Block::Item("•".to_string(), item.to_string()));
        } else if let Some((number, item)) = trimmed.split_once(". ")
            && !number.is_empty()
            && number.chars().all(|c| c.is_ascii_digit())
        {
            flush(&mut paragraph, &mut blocks);
            blocks.push(Block::Item(format!("{number}."), item.to_string()));
        } else if trimmed.starts_with('|') {
            flush(&mut paragraph, &mut blocks);
            let header = cells(trimmed);
            let mut rows = Vec::new();
            while let Some(next) = lines.peek().map(|l| l.trim()) {
                if !next.starts_with('|') {
                    break;
                }
                lines.next();
                let row = cells(next);
                // The separator line under the header.
                if !row
                    .iter()
                    .all(|c| !c.is_empty() && c.chars().all(|ch| "-:".contains(ch)))
                {
                    rows.push(row);
                }
            }
            blocks.push(Block::Table(header, rows));
        } else {
            paragraph.push(trimmed);
        }
    }
    flush(&mut paragraph, &mut blocks);
    blocks
}

/// The text between `marker` at the start of `rest` and its next `marker`, and what follows.
fn closed<'a>(marker: &str, rest: &'a str) -> Option<(String, &'a str)> {
    let inner = rest.strip_prefix(marker)?;
    let end = inner.find(marker)?;
    (end > 0).then(|| (inner[..end].to_string(), &inner[end + marker.len()..]))
}

fn cells(line: &str) -> Vec<String> {
    line.trim_matches('|')
        .split('|')
        .map(|c| c.trim().to_string())
        .collect()
}

/// The runs of one line: `**bold**`, `_italic_` (at word edges) and `` `code` ``.
pub fn spans(text: &str) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut plain = String::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let at_word_start = plain.chars().last().is_none_or(|p| !p.is_alphanumeric());
        let found = if rest.starts_with("**") {
            closed("**", rest).map(|(t, r)| (Span::Bold(t), r))
        } else if c == '`' {
            closed("`", rest).map(|(t, r)| (Span::Code(t), r))
        } else if c == '_' && at_word_start {
            closed("_", rest).map(|(t, r)| (Span::Italic(t), r))
        } else {
            None
        };
        match found {
            Some((span, after)) => {
                if !plain.is_empty() {
                    spans.push(Span::Plain(std::mem::take(&mut plain)));
                }
                spans.push(span);
                rest = after;
            }
            None => {
                plain.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    if !plain.is_empty() {
        spans.push(Span::Plain(plain));
    }
    spans
}

/// Draws `text` as a formatted page.
pub fn show(ui: &mut Ui, text: &str) {
    for (i, block) in blocks(text).iter().enumerate() {
        match block {
            Block::Heading(level, title) => {
                ui.add_space(if *level == 1 { 4.0 } else { 8.0 });
                let size = match level {
                    1 => 22.0,
                    2 => 17.0,
                    _ => 14.5,
                };
                ui.label(RichText::new(title).size(size).strong());
            }
            Block::Paragraph(text) => {
                ui.horizontal_wrapped(|ui| line(ui, text));
            }
            Block::Item(marker, text) => {
                ui.horizontal_wrapped(|ui| {
                    ui.add_space(8.0);
                    ui.label(marker);
                    line(ui, text);
                });
            }
            Block::Table(header, rows) => {
                egui::Grid::new(("markdown table", i))
                    .striped(true)
                    .spacing([14.0, 3.0])
                    .show(ui, |ui| {
                        for cell in header {
                            ui.label(RichText::new(cell).strong());
                        }
                        ui.end_row();
                        for row in rows {
                            for cell in row {
                                ui.horizontal_wrapped(|ui| line(ui, cell));
                            }
                            ui.end_row();
                        }
                    });
            }
        }
    }
}

fn line(ui: &mut Ui, text: &str) {
    ui.spacing_mut().item_spacing.x = 0.0;
    for span in spans(text) {
        match span {
            Span::Plain(t) => ui.label(t),
            Span::Bold(t) => ui.label(RichText::new(t).strong()),
            Span::Italic(t) => ui.label(RichText::new(t).italics().color(Color32::GRAY)),
            Span::Code(t) => ui.label(RichText::new(t).code()),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_postmortem_subset_parses_into_blocks() {
        let text = "# Postmortem: x\n\n- **Date:** today\n\n## Summary\n\nOne line\nand its rest.\n\n\
                    | item | owner |\n|---|---|\n| Canary | api team |\n\n1. Why? _to write_\n";
        assert_eq!(
            blocks(text),
            [
                Block::Heading(1, "Postmortem: x".into()),
                Block::Item("•".into(), "**Date:** today".into()),
                Block::Heading(2, "Summary".into()),
                Block::Paragraph("One line and its rest.".into()),
                Block::Table(
                    vec!["item".into(), "owner".into()],
                    vec![vec!["Canary".into(), "api team".into()]]
                ),
                Block::Item("1.".into(), "Why? _to write_".into()),
            ]
        );
    }

    #[test]
    fn inline_marks_are_found_and_stray_ones_stay_text() {
        assert_eq!(
            spans("**Date:** scenario `tutorial`, _seed_ 1"),
            [
                Span::Bold("Date:".into()),
                Span::Plain(" scenario ".into()),
                Span::Code("tutorial".into()),
                Span::Plain(", ".into()),
                Span::Italic("seed".into()),
                Span::Plain(" 1".into()),
            ]
        );
        // An underscore inside a word, and a mark never closed, are plain text.
        assert_eq!(
            spans("snake_case and **open"),
            [Span::Plain("snake_case and **open".into())]
        );
    }
}
