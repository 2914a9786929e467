//! Problems found in a scenario, collected rather than thrown, and rendered so a person can act.
//!
//! Reading and planning a scenario never stop at the first mistake: every stage pushes what it
//! finds into [`Diagnostics`], and the caller decides whether anything may run. Each problem is
//! rendered the way compilers do, `FILE:LINE:COLUMN: error: message`, followed by the offending
//! line, a caret under the spot, and a hint when one is known ("did you mean `ratio`?").

use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A 1-based line and column in a source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    pub fn new(line: usize, column: usize) -> Self {
        Position { line, column }
    }
}

/// A file as read, kept so that diagnostics can quote the offending line.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: Arc<str>,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<Arc<str>>) -> Self {
        SourceFile {
            path: path.into(),
            text: text.into(),
        }
    }

    fn line(&self, number: usize) -> Option<&str> {
        self.text.lines().nth(number.checked_sub(1)?)
    }
}

/// One problem: where it is, what is wrong, and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub position: Option<Position>,
    pub message: String,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(file: &Path, position: Option<Position>, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_path_buf(),
            position,
            message: message.into(),
            help: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// Every problem found so far, in the order they were found, with the sources they point into.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
    sources: Vec<SourceFile>,
}

impl Diagnostics {
    pub fn new() -> Self {
        Diagnostics::default()
    }

    /// Remembers a file's text so that problems in it can quote their line.
    pub fn add_source(&mut self, source: SourceFile) {
        if !self.sources.iter().any(|known| known.path == source.path) {
            self.sources.push(source);
        }
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    /// Records a problem at `position` in `file`.
    pub fn error(&mut self, file: &Path, position: Option<Position>, message: impl Into<String>) {
        self.push(Diagnostic::new(file, position, message));
    }

    /// Moves every problem and source of `other` into this collection.
    pub fn extend(&mut self, other: Diagnostics) {
        for source in other.sources {
            self.add_source(source);
        }
        self.items.extend(other.items);
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    /// Sorts problems by file and position, so output follows the file from top to bottom.
    pub fn sort(&mut self) {
        self.items
            .sort_by(|a, b| (&a.file, a.position).cmp(&(&b.file, b.position)));
    }

    /// Renders every problem with its source line and caret, one block per problem.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for item in &self.items {
            let source = self.sources.iter().find(|source| source.path == item.file);
            render_one(&mut out, item, source);
        }
        out
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

impl std::error::Error for Diagnostics {}

fn render_one(out: &mut String, item: &Diagnostic, source: Option<&SourceFile>) {
    let file = item.file.display();
    match item.position {
        Some(at) => {
            let _ = writeln!(
                out,
                "{file}:{}:{}: error: {}",
                at.line, at.column, item.message
            );
        }
        None => {
            let _ = writeln!(out, "{file}: error: {}", item.message);
        }
    }

    // The offending line, with a caret under the token the position points at.
    if let (Some(at), Some(line)) = (item.position, source.and_then(|s| item_line(s, item))) {
        let number = at.line.to_string();
        let gutter = " ".repeat(number.len());
        let indent: String = line
            .chars()
            .take(at.column.saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let width = token_width(line, at.column);
        let _ = writeln!(out, "{gutter} |");
        let _ = writeln!(out, "{number} | {line}");
        let _ = writeln!(out, "{gutter} | {indent}{}", "^".repeat(width));
    }

    if let Some(help) = &item.help {
        let _ = writeln!(out, "  = help: {help}");
    }
}

fn item_line<'a>(source: &'a SourceFile, item: &Diagnostic) -> Option<&'a str> {
    source.line(item.position?.line)
}

/// How many characters the token starting at `column` spans: a quoted string to its closing
/// quote, otherwise up to the next YAML delimiter.
fn token_width(line: &str, column: usize) -> usize {
    let rest: Vec<char> = line.chars().skip(column.saturating_sub(1)).collect();
    let Some(&first) = rest.first() else {
        return 1;
    };
    let width = if first == '"' || first == '\'' {
        rest.iter()
            .skip(1)
            .position(|&c| c == first)
            .map_or(rest.len(), |end| end + 2)
    } else {
        let end = rest
            .iter()
            .position(|&c| matches!(c, ':' | ',' | '}' | ']' | '#'))
            .unwrap_or(rest.len());
        rest[..end]
            .iter()
            .collect::<String>()
            .trim_end()
            .chars()
            .count()
    };
    width.max(1)
}

/// The closest of `candidates` to `word`, if one is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (strsim::jaro_winkler(word, candidate), candidate))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

/// A hint for an unknown name: the likely intended one, or the list of valid ones.
pub fn suggestion<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str> + Clone) -> String {
    match did_you_mean(word, candidates.clone()) {
        Some(close) => format!("did you mean `{close}`?"),
        None => {
            let names: Vec<String> = candidates.into_iter().map(|c| format!("`{c}`")).collect();
            if names.is_empty() {
                "nothing is declared here yet".to_string()
            } else {
                format!("expected one of {}", names.join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_position_line_caret_and_help() {
        let path = Path::new("s.yaml");
        let mut diagnostics = Diagnostics::new();
        diagnostics.add_source(SourceFile::new(path, "name: x\nfunnel:\n  - ratoi: 0.3\n"));
        diagnostics.push(
            Diagnostic::new(path, Some(Position::new(3, 5)), "unknown key `ratoi`")
                .with_help("did you mean `ratio`?"),
        );

        let text = diagnostics.render();

        assert_eq!(
            text,
            "s.yaml:3:5: error: unknown key `ratoi`\n  |\n3 |   - ratoi: 0.3\n  |     ^^^^^\n  \
             = help: did you mean `ratio`?\n"
        );
    }

    #[test]
    fn quoted_tokens_are_underlined_to_their_closing_quote() {
        assert_eq!(token_width("  start: \"2026-11-27\"", 10), 12);
        assert_eq!(token_width("rate: 300 # note", 7), 3);
    }

    #[test]
    fn suggestions_prefer_close_names_and_otherwise_list_the_choices() {
        assert_eq!(
            did_you_mean("ratoi", ["ratio", "delay", "topic"]),
            Some("ratio")
        );
        assert_eq!(did_you_mean("zzz", ["ratio", "delay"]), None);
        assert_eq!(suggestion("zzz", ["a", "b"]), "expected one of `a`, `b`");
    }
}
