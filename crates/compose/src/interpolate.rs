//! Variable interpolation with the Compose rules (`$VAR`, `${VAR:-default}`, `$$`, ...).
//!
//! Applied to every string scalar of a file (never to keys) before merging and `extends`, so
//! `docker compose` and berth agree on which value each field ends up with.

use std::path::Path;

use serde_yaml::Value;

use crate::error::{ComposeError, Result};

/// Why interpolating one string failed (without location; see [`interpolate_value`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterpolateError {
    /// `${VAR:?msg}` or `${VAR?msg}` with the variable unset (or empty for `:?`).
    Required {
        /// The variable.
        var: String,
        /// The (interpolated) message.
        message: String,
    },
    /// Malformed template.
    Syntax(String),
}

/// Where variables come from: a function from name to value.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Interpolates one string. Unset variables without default become "" and push a warning.
pub fn interpolate(
    s: &str,
    lookup: Lookup<'_>,
    warnings: &mut Vec<String>,
) -> std::result::Result<String, InterpolateError> {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(off) = s[i..].find('$') {
        out.push_str(&s[i..i + off]);
        i += off;
        let rest = &s[i + 1..];
        if rest.starts_with('$') {
            out.push('$');
            i += 2;
        } else if rest.starts_with('{') {
            let end = matching_brace(s, i + 2)?;
            out.push_str(&braced(&s[i + 2..end], s, lookup, warnings)?);
            i = end + 1;
        } else if rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            out.push_str(&plain(&rest[..len], lookup, warnings));
            i += 1 + len;
        } else {
            return Err(InterpolateError::Syntax(format!(
                "invalid interpolation format for {s:?}: \"$\" must start a variable \
                 ($VAR or ${{VAR}}); write \"$$\" for a literal \"$\""
            )));
        }
    }
    out.push_str(&s[i..]);
    Ok(out)
}

fn matching_brace(s: &str, start: usize) -> std::result::Result<usize, InterpolateError> {
    let b = s.as_bytes();
    let mut depth = 1;
    let mut i = start;
    while i < b.len() {
        if b[i] == b'$' && b.get(i + 1) == Some(&b'{') {
            depth += 1;
            i += 2;
            continue;
        }
        if b[i] == b'}' {
            depth -= 1;
            if depth == 0 {
                return Ok(i);
            }
        }
        i += 1;
    }
    Err(InterpolateError::Syntax(format!(
        "invalid interpolation format for {s:?}: missing closing \"}}\""
    )))
}

fn plain(name: &str, lookup: Lookup<'_>, warnings: &mut Vec<String>) -> String {
    match lookup(name) {
        Some(v) => v,
        None => {
            warnings.push(format!(
                "The \"{name}\" variable is not set. Defaulting to a blank string."
            ));
            String::new()
        }
    }
}

fn braced(
    inner: &str,
    whole: &str,
    lookup: Lookup<'_>,
    warnings: &mut Vec<String>,
) -> std::result::Result<String, InterpolateError> {
    let len = inner
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(inner.len());
    let (name, rest) = inner.split_at(len);
    let bad = || {
        InterpolateError::Syntax(format!(
            "invalid interpolation format for {whole:?}: \"${{{inner}}}\"; use ${{VAR}}, \
             ${{VAR:-default}}, ${{VAR-default}}, ${{VAR:?error}}, ${{VAR?error}}, \
             ${{VAR:+alt}} or ${{VAR+alt}}"
        ))
    };
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(bad());
    }
    if rest.is_empty() {
        return Ok(plain(name, lookup, warnings));
    }
    let ops = [":-", ":?", ":+", "-", "?", "+"];
    let op = ops
        .iter()
        .find(|op| rest.starts_with(**op))
        .ok_or_else(bad)?;
    let arg = &rest[op.len()..];
    let val = lookup(name);
    let set = val.is_some();
    let nonempty = val.as_deref().is_some_and(|v| !v.is_empty());
    let mut expand = |a: &str| interpolate(a, lookup, warnings);
    let required = |message: String| InterpolateError::Required {
        var: name.to_string(),
        message,
    };
    Ok(match *op {
        ":-" if nonempty => val.unwrap_or_default(),
        ":-" => expand(arg)?,
        "-" if set => val.unwrap_or_default(),
        "-" => expand(arg)?,
        ":?" if nonempty => val.unwrap_or_default(),
        "?" if set => val.unwrap_or_default(),
        ":?" | "?" => return Err(required(expand(arg)?)),
        ":+" if nonempty => expand(arg)?,
        "+" if set => expand(arg)?,
        _ => String::new(),
    })
}

/// Interpolates every string scalar of a YAML tree in place; keys are left alone.
/// Errors carry `file` and the key path of the string.
pub fn interpolate_value(
    value: &mut Value,
    file: &Path,
    lookup: Lookup<'_>,
    warnings: &mut Vec<String>,
) -> Result<()> {
    walk(value, "", file, lookup, warnings)
}

fn walk(
    value: &mut Value,
    path: &str,
    file: &Path,
    lookup: Lookup<'_>,
    warnings: &mut Vec<String>,
) -> Result<()> {
    match value {
        Value::String(s) => match interpolate(s, lookup, warnings) {
            Ok(v) => *s = v,
            Err(InterpolateError::Required { var, message }) => {
                return Err(ComposeError::RequiredVariable {
                    file: file.to_path_buf(),
                    path: path.to_string(),
                    var,
                    message,
                })
            }
            Err(InterpolateError::Syntax(m)) => return Err(ComposeError::invalid(file, path, m)),
        },
        Value::Sequence(seq) => {
            for (i, v) in seq.iter_mut().enumerate() {
                walk(v, &format!("{path}[{i}]"), file, lookup, warnings)?;
            }
        }
        Value::Mapping(map) => {
            for (k, v) in map.iter_mut() {
                let key = crate::convert::key_str(k);
                let p = if path.is_empty() {
                    key
                } else {
                    format!("{path}.{key}")
                };
                walk(v, &p, file, lookup, warnings)?;
            }
        }
        Value::Tagged(t) => walk(&mut t.value, path, file, lookup, warnings)?,
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(s: &str) -> (std::result::Result<String, InterpolateError>, Vec<String>) {
        let lookup = |k: &str| match k {
            "SET" => Some("v".to_string()),
            "EMPTY" => Some(String::new()),
            "B" => Some("bee".to_string()),
            _ => None,
        };
        let mut w = Vec::new();
        let r = interpolate(s, &lookup, &mut w);
        (r, w)
    }

    fn ok(s: &str) -> String {
        run(s).0.unwrap()
    }

    #[test]
    fn operators() {
        assert_eq!(ok("$SET/${SET}"), "v/v");
        assert_eq!(ok("${EMPTY:-d}|${EMPTY-d}|${UNSET-d}"), "d||d");
        assert_eq!(ok("${EMPTY:+a}|${EMPTY+a}|${UNSET+a}|${SET:+a}"), "|a||a");
        assert_eq!(ok("${UNSET:-${B}}"), "bee");
        assert_eq!(ok("${UNSET:-${UNSET2:-deep}}x"), "deepx");
        assert_eq!(ok("a$$b $${SET}"), "a$b ${SET}");
        assert_eq!(ok("é$SET.ü"), "év.ü");
        assert_eq!(ok("${SET?x}${EMPTY?x}"), "v");
    }

    #[test]
    fn unset_warns() {
        let (r, w) = run("x${NOPE}y");
        assert_eq!(r.unwrap(), "xy");
        assert_eq!(
            w,
            vec!["The \"NOPE\" variable is not set. Defaulting to a blank string."]
        );
        // A default that is not used is not expanded, so it does not warn.
        assert!(run("${SET:-$NOPE}").1.is_empty());
    }

    #[test]
    fn errors() {
        let e = run("${EMPTY:?need it}").0.unwrap_err();
        assert_eq!(
            e,
            InterpolateError::Required {
                var: "EMPTY".into(),
                message: "need it".into()
            }
        );
        assert!(run("${UNSET?m}").0.is_err());
        assert!(matches!(run("a $ b").0, Err(InterpolateError::Syntax(_))));
        assert!(matches!(run("${A").0, Err(InterpolateError::Syntax(_))));
        assert!(matches!(run("${A:x}").0, Err(InterpolateError::Syntax(_))));
        assert!(matches!(run("${}").0, Err(InterpolateError::Syntax(_))));
    }
}
