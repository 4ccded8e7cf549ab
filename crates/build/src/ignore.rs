//! `.dockerignore`: which files of the build context are not sent, with Docker's semantics
//! (moby/patternmatcher and its `ignorefile` reader).
//!
//! Reading the file: a line starting with `#` (in the first column) is a comment; other lines
//! are trimmed; `!` makes an exception (re-include); each pattern is cleaned like Go's
//! `filepath.Clean` (`./a/../b` is `b`) and loses a leading `/` (patterns are relative to the
//! context root).
//!
//! Matching: `*` is any run of characters but `/`, `?` one character but `/`, `[a-z]` / `[^a]`
//! a class, `\` escapes; `**` is any number of directories, zero included (`**/a`, `a/**/b`,
//! `a/**`). A pattern that matches a directory matches everything below it. Patterns are
//! read in order and the last one that matches a path decides: excluded unless it is an
//! exception.
//!
//! Docker sends the Dockerfile and `.dockerignore` even when a pattern excludes them (the
//! builder needs the one, the CLI reads the other); they are then not visible to `COPY`/`ADD`.
//! This module only answers what the patterns say; the caller adds those two back.

use crate::BuildError;

/// A parsed `.dockerignore`.
#[derive(Debug, Clone, Default)]
pub struct DockerIgnore {
    patterns: Vec<Pattern>,
}

/// One pattern, cleaned.
#[derive(Debug, Clone)]
struct Pattern {
    text: String,
    exception: bool,
    tokens: Vec<Tok>,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Lit(char),
    /// `*`: any run without `/`.
    Star,
    /// `?`: one character but `/`.
    Any,
    /// `[...]`: (negated, ranges).
    Class(bool, Vec<(char, char)>),
    /// `**` before more pattern: empty, or anything ending in `/`.
    DirStar,
    /// `**` at the end: anything.
    TailStar,
}

impl DockerIgnore {
    /// Parses the text of a `.dockerignore` file.
    pub fn parse(text: &str) -> Result<Self, BuildError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut patterns = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if line.starts_with('#') {
                continue;
            }
            if let Some(p) = Pattern::new(line).map_err(|message| BuildError::Syntax {
                file: ".dockerignore".to_string(),
                line: n + 1,
                column: 1,
                message,
            })? {
                patterns.push(p);
            }
        }
        Ok(DockerIgnore { patterns })
    }

    /// Builds the matcher from patterns as written in the file (comments not allowed).
    pub fn from_patterns<S: AsRef<str>>(patterns: &[S]) -> Result<Self, BuildError> {
        let lines: Vec<&str> = patterns.iter().map(AsRef::as_ref).collect();
        Self::parse(&lines.join("\n"))
    }

    /// The cleaned patterns, exceptions with their `!`, in order.
    pub fn patterns(&self) -> Vec<String> {
        let bang = |p: &Pattern| if p.exception { "!" } else { "" };
        self.patterns
            .iter()
            .map(|p| format!("{}{}", bang(p), p.text))
            .collect()
    }

    /// Whether `path` (relative to the context root, `/`-separated) is left out of the context.
    pub fn is_excluded(&self, path: &str) -> bool {
        let path = clean(path.trim_start_matches('/'));
        let chars: Vec<char> = path.chars().collect();
        let parents: Vec<usize> = chars
            .iter()
            .enumerate()
            .filter(|(_, c)| **c == '/')
            .map(|(i, _)| i)
            .collect();
        let mut excluded = false;
        for p in &self.patterns {
            if p.exception != excluded {
                continue; // cannot change the answer
            }
            let hit = matches(&p.tokens, &chars)
                || parents.iter().any(|&i| matches(&p.tokens, &chars[..i]));
            if hit {
                excluded = !p.exception;
            }
        }
        excluded
    }

    /// Whether a walk of the context may skip directory `dir` without looking inside: it is
    /// excluded and no exception could match anything below it.
    pub fn can_skip_dir(&self, dir: &str) -> bool {
        if !self.is_excluded(dir) {
            return false;
        }
        let below: Vec<char> = format!("{}/", clean(dir.trim_start_matches('/')))
            .chars()
            .collect();
        !self
            .patterns
            .iter()
            .any(|p| p.exception && could_match_below(&p.tokens, &below))
    }
}

impl Pattern {
    /// `Ok(None)` for a blank line.
    fn new(line: &str) -> Result<Option<Pattern>, String> {
        let mut text = line.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let exception = text.starts_with('!');
        if exception {
            text = text[1..].trim();
            if text.is_empty() {
                return Err("illegal exclusion pattern: \"!\" (write !<pattern>)".to_string());
            }
        }
        let mut cleaned = clean(text);
        if cleaned.len() > 1 && cleaned.starts_with('/') {
            cleaned.remove(0);
        }
        let tokens = compile(&cleaned)?;
        Ok(Some(Pattern {
            text: cleaned,
            exception,
            tokens,
        }))
    }
}

/// Go's `path.Clean`.
pub fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for comp in path.split('/') {
        match comp {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            c => parts.push(c),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

fn compile(pattern: &str) -> Result<Vec<Tok>, String> {
    let mut toks = Vec::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                if chars.peek() == Some(&'/') {
                    chars.next();
                }
                toks.push(if chars.peek().is_none() {
                    Tok::TailStar
                } else {
                    Tok::DirStar
                });
            }
            '*' => toks.push(Tok::Star),
            '?' => toks.push(Tok::Any),
            '\\' => toks.push(Tok::Lit(chars.next().unwrap_or('\\'))),
            '[' => {
                let negated = chars.next_if(|c| *c == '^' || *c == '!').is_some();
                let mut ranges = Vec::new();
                loop {
                    let lo = match chars.next() {
                        None => {
                            return Err(format!(
                                "syntax error in pattern {pattern:?}: unclosed '['"
                            ))
                        }
                        Some(']') if !ranges.is_empty() => break,
                        Some('\\') => chars.next().unwrap_or('\\'),
                        Some(c) => c,
                    };
                    let hi = if chars.next_if_eq(&'-').is_some() {
                        match chars.next() {
                            Some('\\') => chars.next().unwrap_or('\\'),
                            Some(c) => c,
                            None => {
                                return Err(format!(
                                    "syntax error in pattern {pattern:?}: unclosed '['"
                                ))
                            }
                        }
                    } else {
                        lo
                    };
                    ranges.push((lo, hi));
                }
                toks.push(Tok::Class(negated, ranges));
            }
            c => toks.push(Tok::Lit(c)),
        }
    }
    Ok(toks)
}

fn one(tok: &Tok, c: char) -> bool {
    match tok {
        Tok::Lit(l) => *l == c,
        Tok::Any => c != '/',
        Tok::Class(neg, ranges) => {
            c != '/' && ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *neg
        }
        _ => false,
    }
}

/// Whether the tokens match all of `s`.
fn matches(toks: &[Tok], s: &[char]) -> bool {
    let Some((tok, rest)) = toks.split_first() else {
        return s.is_empty();
    };
    match tok {
        Tok::TailStar => true,
        Tok::Star => {
            let run = s.iter().position(|c| *c == '/').unwrap_or(s.len());
            (0..=run).any(|k| matches(rest, &s[k..]))
        }
        Tok::DirStar => {
            matches(rest, s)
                || s.iter()
                    .enumerate()
                    .any(|(i, c)| *c == '/' && matches(rest, &s[i + 1..]))
        }
        _ => s.first().is_some_and(|c| one(tok, *c)) && matches(rest, &s[1..]),
    }
}

/// Whether the tokens could match some path that starts with `s` (which ends in `/`).
fn could_match_below(toks: &[Tok], s: &[char]) -> bool {
    if s.is_empty() {
        return true;
    }
    let Some((tok, rest)) = toks.split_first() else {
        return false;
    };
    match tok {
        Tok::TailStar | Tok::DirStar => true,
        Tok::Star => {
            let run = s.iter().position(|c| *c == '/').unwrap_or(s.len());
            (0..=run).any(|k| could_match_below(rest, &s[k..]))
        }
        _ => one(tok, s[0]) && could_match_below(rest, &s[1..]),
    }
}
