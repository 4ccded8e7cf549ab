//! Docker's variable substitution (moby's shell lexer, `ProcessWord`/`ProcessWords`).
//!
//! Why a lexer of our own and not the shell: Docker substitutes variables itself for the
//! instructions that configure the image (`ADD COPY ENV EXPOSE FROM LABEL STOPSIGNAL USER
//! VOLUME WORKDIR`, `ARG` defaults and `RUN --mount` options), with rules that differ from
//! sh in small ways, while `RUN`, `CMD`, `ENTRYPOINT`, `SHELL` and `HEALTHCHECK` are left for
//! the shell in the container. `ONBUILD` triggers are not expanded when declared: they run,
//! and expand, in the child image's build.
//!
//! The rules: `$name` and `${name}` (an unset name is empty); `${n:-w}` w if n is unset or
//! empty, `${n-w}` w if unset; `${n:+w}` w if n is set and not empty, `${n+w}` w if set;
//! `${n:?m}` / `${n?m}` fail with `n: m`. The word `w` is itself expanded. Outside quotes the
//! escape character takes the next character literally (`\$a` is `$a`); in double quotes it
//! only escapes `"`, `$` and itself; single quotes take everything literally. Quotes are
//! removed. For multi-word instructions ([`expand_words`]), blanks outside quotes split words
//! and so do blanks inside the value of an unquoted variable.

use std::collections::{BTreeMap, HashMap};

use crate::BuildError;

mod instruction;

pub use instruction::{expand_from, expand_instruction, global_arg_values};

/// A source of variable values: the build args and `ENV`s in effect.
pub trait Vars {
    /// The value of `name`, or `None` if it is not set.
    fn var(&self, name: &str) -> Option<&str>;
}

impl Vars for BTreeMap<String, String> {
    fn var(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

impl Vars for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

impl Vars for [(&str, &str)] {
    fn var(&self, name: &str) -> Option<&str> {
        self.iter().rev().find(|(k, _)| *k == name).map(|(_, v)| *v)
    }
}

/// Expands one word (quotes removed, no splitting).
pub fn expand_word(
    word: &str,
    vars: &(impl Vars + ?Sized),
    escape: char,
) -> Result<String, BuildError> {
    let mut lexer = Lexer::new(word, vars, escape, true);
    Ok(lexer.process(None)?.0)
}

/// Expands and splits into words, as Docker does for `EXPOSE` and the like.
pub fn expand_words(
    word: &str,
    vars: &(impl Vars + ?Sized),
    escape: char,
) -> Result<Vec<String>, BuildError> {
    let mut lexer = Lexer::new(word, vars, escape, true);
    Ok(lexer.process(None)?.1.finish())
}

/// Expands a heredoc body: only `$` substitutions (and the escape character before `$` or
/// itself) are special; quotes are part of the file's content.
pub fn expand_heredoc(
    content: &str,
    vars: &(impl Vars + ?Sized),
    escape: char,
) -> Result<String, BuildError> {
    let mut lexer = Lexer::new(content, vars, escape, false);
    Ok(lexer.process(None)?.0)
}

/// Words being built: blanks end a word unless they came from quotes or escapes.
#[derive(Default)]
struct Words {
    words: Vec<String>,
    current: String,
    in_word: bool,
}

impl Words {
    fn add_char(&mut self, c: char) {
        if c.is_whitespace() {
            if self.in_word {
                self.words.push(std::mem::take(&mut self.current));
                self.in_word = false;
            }
        } else {
            self.add_raw_char(c);
        }
    }
    fn add_raw_char(&mut self, c: char) {
        self.current.push(c);
        self.in_word = true;
    }
    fn add_string(&mut self, s: &str) {
        s.chars().for_each(|c| self.add_char(c));
    }
    fn add_raw_string(&mut self, s: &str) {
        self.current.push_str(s);
        self.in_word = true;
    }
    fn finish(mut self) -> Vec<String> {
        if self.in_word {
            self.words.push(self.current);
        }
        self.words
    }
}

struct Lexer<'a, V: Vars + ?Sized> {
    chars: Vec<char>,
    pos: usize,
    vars: &'a V,
    escape: char,
    quotes: bool,
}

fn fail(message: impl Into<String>) -> BuildError {
    BuildError::Expand(message.into())
}

impl<'a, V: Vars + ?Sized> Lexer<'a, V> {
    fn new(text: &str, vars: &'a V, escape: char, quotes: bool) -> Self {
        Lexer {
            chars: text.chars().collect(),
            pos: 0,
            vars,
            escape,
            quotes,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        self.pos += usize::from(c.is_some());
        c
    }

    /// Processes up to `stop` (consumed) or the end; says whether `stop` was found.
    fn process(&mut self, stop: Option<char>) -> Result<(String, Words, bool), BuildError> {
        let mut out = String::new();
        let mut words = Words::default();
        while let Some(c) = self.peek() {
            if Some(c) == stop {
                self.pos += 1;
                return Ok((out, words, true));
            }
            match c {
                '\'' if self.quotes => {
                    let s = self.single_quoted()?;
                    out.push_str(&s);
                    words.add_raw_string(&s);
                }
                '"' if self.quotes => {
                    let s = self.double_quoted()?;
                    out.push_str(&s);
                    words.add_raw_string(&s);
                }
                '$' => {
                    let s = self.dollar()?;
                    out.push_str(&s);
                    words.add_string(&s);
                }
                c if c == self.escape => {
                    self.pos += 1;
                    match self.peek() {
                        Some(n) if self.quotes || n == '$' || n == self.escape => {
                            self.pos += 1;
                            out.push(n);
                            words.add_raw_char(n);
                        }
                        Some(_) => {
                            out.push(c);
                            words.add_raw_char(c);
                        }
                        None => {}
                    }
                }
                c => {
                    self.pos += 1;
                    out.push(c);
                    words.add_char(c);
                }
            }
        }
        Ok((out, words, false))
    }

    fn single_quoted(&mut self) -> Result<String, BuildError> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.next() {
                None => {
                    return Err(fail(
                        "unexpected end of statement while looking for matching single-quote",
                    ))
                }
                Some('\'') => return Ok(out),
                Some(c) => out.push(c),
            }
        }
    }

    fn double_quoted(&mut self) -> Result<String, BuildError> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => {
                    return Err(fail(
                        "unexpected end of statement while looking for matching double-quote",
                    ))
                }
                Some('"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('$') => out.push_str(&self.dollar()?),
                Some(c) => {
                    self.pos += 1;
                    if c == self.escape {
                        if let Some(n @ ('"' | '$')) = self.peek() {
                            self.pos += 1;
                            out.push(n);
                            continue;
                        }
                        if self.peek() == Some(self.escape) {
                            self.pos += 1;
                        }
                    }
                    out.push(c);
                }
            }
        }
    }

    /// After `$`: a name, `{...}`, or a lone `$`.
    fn dollar(&mut self) -> Result<String, BuildError> {
        self.pos += 1;
        match self.peek() {
            Some('{') => self.pos += 1,
            Some(c) if c.is_alphanumeric() || c == '_' || is_special(c) => {
                let name = self.name();
                return Ok(self.vars.var(&name).unwrap_or_default().to_string());
            }
            _ => return Ok("$".to_string()),
        }
        let name = self.name();
        if name.is_empty() {
            return Err(fail(
                "bad substitution: ${} names no variable (write ${name})",
            ));
        }
        let value = self.vars.var(&name).map(str::to_string);
        let (colon, op) = match self.next() {
            Some('}') => return Ok(value.unwrap_or_default()),
            Some(':') => (true, self.next()),
            Some(c @ ('-' | '+' | '?')) => (false, Some(c)),
            Some(c) => {
                return Err(fail(format!(
                    "unsupported modifier ({c}) in substitution ${{{name}{c}...}}"
                )))
            }
            None => return Err(fail(format!("missing '}}' in ${{{name}"))),
        };
        let op = match op {
            Some(op @ ('-' | '+' | '?')) => op,
            Some(c) => {
                return Err(fail(format!(
                    "unsupported modifier (:{c}) in substitution ${{{name}:{c}...}}"
                )))
            }
            None => return Err(fail(format!("missing '}}' in ${{{name}:"))),
        };
        let (word, _, found) = self.process(Some('}'))?;
        if !found {
            return Err(fail(format!(
                "missing '}}' in ${{{name}{}{op}",
                if colon { ":" } else { "" }
            )));
        }
        // "set" for the colon forms means set and not empty.
        let set = match &value {
            Some(v) => !(colon && v.is_empty()),
            None => false,
        };
        Ok(match op {
            '-' if set => value.unwrap_or_default(),
            '-' => word,
            '+' if set => word,
            '+' => String::new(),
            _ if set => value.unwrap_or_default(),
            _ => {
                let message = if !word.is_empty() {
                    word
                } else if colon {
                    "is not allowed to be unset or empty".to_string()
                } else {
                    "is not allowed to be unset".to_string()
                };
                return Err(fail(format!("{name}: {message}")));
            }
        })
    }

    /// A variable name: letters, digits and `_`; a leading digit reads digits only; a special
    /// parameter (`$@`, `$#`...) is one character.
    fn name(&mut self) -> String {
        let mut name = String::new();
        match self.peek() {
            Some(c) if c.is_ascii_digit() => {
                while let Some(d) = self.peek().filter(char::is_ascii_digit) {
                    name.push(d);
                    self.pos += 1;
                }
                return name;
            }
            Some(c) if is_special(c) => {
                self.pos += 1;
                return c.to_string();
            }
            _ => {}
        }
        while let Some(c) = self.peek().filter(|c| c.is_alphanumeric() || *c == '_') {
            name.push(c);
            self.pos += 1;
        }
        name
    }
}

fn is_special(c: char) -> bool {
    matches!(c, '@' | '*' | '#' | '?' | '-' | '$' | '!')
}
