//! From text to logical lines: parser directives, comments, line continuations and heredoc
//! bodies, following BuildKit's Dockerfile parser.
//!
//! Rules (Docker's, kept here so the parser never sees physical lines):
//! - Directives (`# escape=``, `# syntax=...`, `# check=...`) count only at the very top; the
//!   first line that is not a known directive (an unknown one, any comment, an empty line, an
//!   instruction) ends them. A directive given twice is an error.
//! - A line whose first non-blank character is `#` is a comment, also in the middle of a
//!   continued instruction (Docker drops it there). `#` later in a line is not a comment.
//! - A line ending in the escape character (trailing blanks allowed) continues on the next
//!   line; the escape character is removed and the lines are joined as they are (the next
//!   line keeps its leading blanks). Empty lines inside a continuation are skipped.
//! - `RUN`, `COPY` and `ADD` (shell form) may name heredocs (`<<EOF`, `<<-EOF`, `<<"EOF"`);
//!   their bodies follow the instruction's last line, one after another, each up to a line
//!   that is exactly the delimiter (after tab stripping for `<<-`).

use crate::ast::{Directives, Heredoc, Location};
use crate::BuildError;

/// One instruction's text after joining, with a map back to the file for error positions.
#[derive(Debug, Clone)]
pub(crate) struct LogicalLine {
    /// The joined text, starting at the keyword.
    pub text: String,
    /// (byte offset in `text`, line, column of that byte) for each joined piece.
    segments: Vec<(usize, usize, usize)>,
    /// The heredocs named on the line, each with the byte offset of its `<<` in `text`.
    pub heredocs: Vec<(Heredoc, usize)>,
}

impl LogicalLine {
    /// The file position of byte `offset` of `text`.
    pub fn pos(&self, offset: usize) -> Location {
        let idx = self
            .segments
            .partition_point(|s| s.0 <= offset)
            .saturating_sub(1);
        let (start, line, column) = self.segments[idx];
        let end = offset.min(self.text.len()).max(start);
        Location {
            line,
            column: column + self.text[start..end].chars().count(),
        }
    }
}

/// The result of lexing a file.
#[derive(Debug)]
pub(crate) struct Lexed {
    pub directives: Directives,
    pub lines: Vec<LogicalLine>,
}

/// A syntax error at a place.
pub(crate) fn err(file: &str, at: Location, message: impl Into<String>) -> BuildError {
    BuildError::Syntax {
        file: file.to_string(),
        line: at.line,
        column: at.column,
        message: message.into(),
    }
}

/// Splits `text` into directives and logical lines.
pub(crate) fn lex(file: &str, text: &str) -> Result<Lexed, BuildError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let mut directives = Directives::default();
    let mut i = 0;
    let mut seen: Vec<String> = Vec::new();
    while i < lines.len() {
        let Some((name, value)) = parse_directive(lines[i]) else {
            break;
        };
        let at = Location {
            line: i + 1,
            column: 1,
        };
        if !matches!(name.as_str(), "escape" | "syntax" | "check") {
            break; // an unknown directive is a comment and ends the directives
        }
        if seen.contains(&name) {
            return Err(err(
                file,
                at,
                format!("only one {name} parser directive can be used"),
            ));
        }
        match name.as_str() {
            "escape" => {
                directives.escape = match value.as_str() {
                    "\\" => '\\',
                    "`" => '`',
                    _ => {
                        return Err(err(
                            file,
                            at,
                            format!("invalid escape token '{value}' does not match ` or \\"),
                        ))
                    }
                }
            }
            "syntax" => directives.syntax = Some(value),
            _ => directives.check = Some(value),
        }
        seen.push(name);
        i += 1;
    }
    let escape = directives.escape;
    let mut out = Vec::new();
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            i += 1;
            continue;
        }
        let column = line[..line.len() - trimmed.len()].chars().count() + 1;
        let mut logical = LogicalLine {
            text: String::new(),
            segments: Vec::new(),
            heredocs: vec![],
        };
        let (piece, mut more) = strip_continuation(trimmed, escape);
        logical.segments.push((0, i + 1, column));
        logical.text.push_str(piece);
        i += 1;
        while more && i < lines.len() {
            let next = lines[i];
            let t = next.trim_start();
            if t.is_empty() || t.starts_with('#') {
                i += 1;
                continue;
            }
            let (piece, again) = strip_continuation(next, escape);
            logical.segments.push((logical.text.len(), i + 1, 1));
            logical.text.push_str(piece);
            more = again;
            i += 1;
        }
        let keyword = logical
            .text
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        if matches!(keyword.as_str(), "RUN" | "COPY" | "ADD") {
            for (mut doc, offset) in find_heredocs(&logical.text, escape) {
                let mut closed = false;
                while i < lines.len() {
                    let body = lines[i];
                    i += 1;
                    let body = if doc.chomp {
                        body.trim_start_matches('\t')
                    } else {
                        body
                    };
                    if body == doc.name {
                        closed = true;
                        break;
                    }
                    doc.content.push_str(body);
                    doc.content.push('\n');
                }
                if !closed {
                    let msg = format!(
                        "unterminated heredoc: no line `{}` ends the heredoc started here \
                         (add a line that is exactly `{}`)",
                        doc.name, doc.name
                    );
                    return Err(err(file, logical.pos(offset), msg));
                }
                logical.heredocs.push((doc, offset));
            }
        }
        out.push(logical);
    }
    Ok(Lexed {
        directives,
        lines: out,
    })
}

/// `# name = value` at the top of the file, name lower-cased.
fn parse_directive(line: &str) -> Option<(String, String)> {
    let rest = line.trim_start().strip_prefix('#')?.trim_start();
    let name_len = rest
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(rest.len());
    let (name, rest) = rest.split_at(name_len);
    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let value = rest.trim_start().strip_prefix('=')?.trim();
    if value.is_empty() {
        return None;
    }
    Some((name.to_ascii_lowercase(), value.to_string()))
}

/// Removes a trailing escape character (and blanks after it); says whether one was there.
fn strip_continuation(line: &str, escape: char) -> (&str, bool) {
    let t = line.trim_end_matches([' ', '\t']);
    match t.strip_suffix(escape) {
        Some(rest) => (rest, true),
        None => (line, false),
    }
}

/// The words of a shell line as written (quotes kept), each with its byte offset.
pub(crate) fn raw_words(text: &str, escape: char) -> Vec<(usize, &str)> {
    let mut words = Vec::new();
    let mut start: Option<usize> = None;
    let mut quote: Option<char> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if quote.is_none() && c.is_whitespace() {
            if let Some(s) = start.take() {
                words.push((s, &text[s..i]));
            }
            continue;
        }
        start.get_or_insert(i);
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), c) | (None, c) if c == escape => {
                chars.next();
            }
            (None, '"' | '\'') => quote = Some(c),
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push((s, &text[s..]));
    }
    words
}

/// Heredoc markers in a shell-form line (not in quotes), in order.
fn find_heredocs(text: &str, escape: char) -> Vec<(Heredoc, usize)> {
    let first_arg = text
        .split_whitespace()
        .skip(1)
        .find(|w| !w.starts_with("--"));
    if first_arg.is_some_and(|w| w.starts_with('[')) {
        return Vec::new(); // exec form
    }
    let mut found = Vec::new();
    for (offset, word) in raw_words(text, escape) {
        let digits = word
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(word.len());
        let Some(rest) = word[digits..].strip_prefix("<<") else {
            continue;
        };
        let (chomp, rest) = match rest.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let (name, quoted) = match rest.chars().next() {
            Some(q @ ('"' | '\'')) => match rest[1..].find(q) {
                Some(end) => (&rest[1..1 + end], true),
                None => continue,
            },
            _ => {
                let end = rest
                    .find(|c: char| c.is_whitespace() || "<>|&;()\"'`".contains(c))
                    .unwrap_or(rest.len());
                (&rest[..end], false)
            }
        };
        if name.is_empty() {
            continue;
        }
        let fd = if digits > 0 {
            word[..digits].parse().ok()
        } else {
            None
        };
        let doc = Heredoc {
            name: name.to_string(),
            content: String::new(),
            chomp,
            quoted,
            fd,
        };
        found.push((doc, offset + digits));
    }
    found
}
