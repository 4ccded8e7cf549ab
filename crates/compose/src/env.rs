//! `.env` and `env_file` parsing with docker compose's rules.
//!
//! - `KEY=VAL`, `export KEY=VAL`, blank lines and `#` comment lines;
//! - `'single'` quotes are literal (may span lines);
//! - `"double"` quotes understand `\n`, `\r`, `\t`, `\"`, `\\`, `\$` and interpolate `$VAR`;
//! - unquoted values are trimmed, lose an inline ` #comment` and are interpolated;
//! - `KEY` alone takes the value from the lookup (environment) if present, else is skipped.
//!
//! Interpolation inside the file sees the variables defined above it first, then the lookup.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{ComposeError, Result};
use crate::interpolate::{interpolate, InterpolateError, Lookup};

/// Parses an env file's content into ordered `(key, value)` pairs (later duplicates win when
/// collected into a map). `file` only names the file in errors.
pub fn parse_env(content: &str, file: &Path, lookup: Lookup<'_>) -> Result<Vec<(String, String)>> {
    let lines: Vec<&str> = content.lines().collect();
    let mut out: Vec<(String, String)> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let lineno = i + 1;
        let err = |message: String| ComposeError::EnvFile {
            file: file.to_path_buf(),
            line: lineno,
            message,
        };
        let line = lines[i].trim_start_matches('\u{feff}').trim();
        i += 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line
            .strip_prefix("export ")
            .map(str::trim_start)
            .unwrap_or(line);
        let Some((key, raw)) = line.split_once('=') else {
            check_key(line).map_err(err)?;
            if let Some(v) = lookup(line) {
                out.push((line.to_string(), v));
            }
            continue;
        };
        let key = key.trim_end();
        check_key(key).map_err(err)?;
        let raw = raw.trim_start();
        let known: BTreeMap<String, String> = out.iter().cloned().collect();
        let look = |k: &str| known.get(k).cloned().or_else(|| lookup(k));
        let expand = |s: &str| -> std::result::Result<String, String> {
            interpolate(s, &look, &mut Vec::new()).map_err(|e| match e {
                InterpolateError::Required { var, message } => {
                    format!("required variable {var:?} is missing a value: {message}")
                }
                InterpolateError::Syntax(m) => m,
            })
        };
        let value = if let Some(q @ ('\'' | '"')) = raw.chars().next() {
            let mut body = raw[1..].to_string();
            let close = loop {
                if let Some(pos) = find_close(&body, q) {
                    break pos;
                }
                if i >= lines.len() {
                    return Err(err(format!(
                        "unterminated {q} quote; close the value with {q}"
                    )));
                }
                body.push('\n');
                body.push_str(lines[i]);
                i += 1;
            };
            let tail = body[close + 1..].trim();
            if !tail.is_empty() && !tail.starts_with('#') {
                return Err(err(format!(
                    "unexpected {tail:?} after the closing quote; put comments after \" #\""
                )));
            }
            let inner = &body[..close];
            if q == '\'' {
                inner.to_string()
            } else {
                expand(&unescape(inner)).map_err(err)?
            }
        } else {
            let v = match raw.find(" #").or_else(|| raw.find("\t#")) {
                Some(p) => &raw[..p],
                None => raw,
            };
            expand(v.trim_end()).map_err(err)?
        };
        out.push((key.to_string(), value));
    }
    Ok(out)
}

fn check_key(key: &str) -> std::result::Result<(), String> {
    if key.is_empty()
        || key
            .chars()
            .any(|c| c.is_whitespace() || c == '\'' || c == '"')
    {
        return Err(format!(
            "invalid variable name {key:?}; write KEY=VALUE (no spaces in KEY)"
        ));
    }
    Ok(())
}

/// Position of the closing quote, skipping backslash escapes in double quotes.
fn find_close(s: &str, q: char) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' && q == '"' {
            escaped = true;
        } else if c == q {
            return Some(i);
        }
    }
    None
}

/// Handles `\n`, `\r`, `\t`, `\"`, `\\`; `\$` becomes `$$` so interpolation keeps a literal `$`.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('$') => out.push_str("$$"),
            Some(o @ ('"' | '\\')) => out.push(o),
            Some(o) => {
                out.push('\\');
                out.push(o);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Collects pairs into a map, later keys winning.
pub fn to_map(pairs: Vec<(String, String)>) -> BTreeMap<String, String> {
    pairs.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<BTreeMap<String, String>> {
        let lookup = |k: &str| (k == "FROM_ENV").then(|| "env".to_string());
        parse_env(s, Path::new(".env"), &lookup).map(to_map)
    }

    #[test]
    fn rules() {
        let m = parse(
            "# c\n\nA=1\nexport B = two  # comment\nC='lit $A \\n'\nD=\"x\\n\\\"$A\\\" \\$A\"\n\
             E=a#b\nFROM_ENV\nMISSING\nF=${A}-${NOPE:-d}\nG=\nH=\"multi\nline\"\n",
        )
        .unwrap();
        assert_eq!(m["A"], "1");
        assert_eq!(m["B"], "two");
        assert_eq!(m["C"], "lit $A \\n");
        assert_eq!(m["D"], "x\n\"1\" $A");
        assert_eq!(m["E"], "a#b");
        assert_eq!(m["FROM_ENV"], "env");
        assert!(!m.contains_key("MISSING"));
        assert_eq!(m["F"], "1-d");
        assert_eq!(m["G"], "");
        assert_eq!(m["H"], "multi\nline");
    }

    #[test]
    fn errors_name_line() {
        let e = parse("A=1\nB=\"open\n").unwrap_err().to_string();
        assert!(e.starts_with(".env:2: unterminated"), "{e}");
        let e = parse("A=1\n\nBAD KEY=1\n").unwrap_err().to_string();
        assert!(e.starts_with(".env:3: invalid variable name"), "{e}");
        let e = parse("A='x' y\n").unwrap_err().to_string();
        assert!(e.contains(":1: unexpected"), "{e}");
    }
}
