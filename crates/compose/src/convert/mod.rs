//! From the merged YAML tree to the typed model.
//!
//! Each converter knows the keys it accepts: unknown keys are warnings naming the full key
//! path, `x-*` keys are silently allowed, keys of the Compose Specification that berth does
//! not support yet are warnings saying so, and wrong types are errors with the key path.

mod parts;
mod ports;
mod service;
mod top;
mod volumes;

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml::{Mapping, Value};

use crate::error::{ComposeError, Result};

pub(crate) use service::convert_service;
pub(crate) use top::{check_top_keys, convert_file_objects, convert_networks, convert_volumes};

/// What converters need besides the value.
pub(crate) struct Ctx<'a> {
    /// File named in errors (the last file that defined the service).
    pub file: &'a Path,
    /// Project directory relative paths are resolved against.
    pub dir: &'a Path,
    /// Variable lookup (for `KEY` alone in `environment`).
    pub env: &'a BTreeMap<String, String>,
    /// Collected warnings.
    pub warnings: &'a mut Vec<String>,
}

impl Ctx<'_> {
    pub fn err(&self, path: &str, message: impl Into<String>) -> ComposeError {
        ComposeError::invalid(self.file, path, message)
    }

    pub fn type_err(&self, path: &str, want: &str, got: &Value) -> ComposeError {
        self.err(path, format!("must be {want}, got {}", kind(got)))
    }

    /// Warns about keys not in `known` (nor `x-*`); `unsupported` keys get their own warning.
    pub fn check_keys(&mut self, map: &Mapping, path: &str, known: &[&str], unsupported: &[&str]) {
        for k in map.keys() {
            let k = key_str(k);
            if k.starts_with("x-") || known.contains(&k.as_str()) {
                continue;
            }
            let what = if unsupported.contains(&k.as_str()) {
                "not supported by berth yet, ignored"
            } else {
                "unknown key, ignored"
            };
            let p = join(path, &k);
            self.warnings
                .push(format!("{}: {p}: {what}", self.file.display()));
        }
    }

    pub fn home(&self) -> Option<&str> {
        self.env.get("HOME").map(String::as_str)
    }
}

/// `path.key`, or `key` at the root.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// A mapping key as a string.
pub fn key_str(k: &Value) -> String {
    scalar_string(k).unwrap_or_else(|| format!("{k:?}"))
}

/// A scalar (string, number, boolean) as a string.
pub fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// "a mapping", "a list", ... for type errors.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// The value as a mapping, or a type error.
pub(crate) fn mapping<'v>(ctx: &Ctx, v: &'v Value, path: &str) -> Result<&'v Mapping> {
    v.as_mapping()
        .ok_or_else(|| ctx.type_err(path, "a mapping", v))
}

/// The value as a list, or a type error.
pub(crate) fn list<'v>(ctx: &Ctx, v: &'v Value, path: &str) -> Result<&'v [Value]> {
    match v {
        Value::Sequence(s) => Ok(s),
        _ => Err(ctx.type_err(path, "a list", v)),
    }
}

/// A scalar as a string, or a type error.
pub(crate) fn string(ctx: &Ctx, v: &Value, path: &str) -> Result<String> {
    scalar_string(v).ok_or_else(|| ctx.type_err(path, "a string", v))
}

/// `map[key]` as a string, when present and not null.
pub(crate) fn opt_string(ctx: &Ctx, m: &Mapping, key: &str, path: &str) -> Result<Option<String>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => string(ctx, v, &join(path, key)).map(Some),
    }
}

/// A boolean (or "true"/"false" string after interpolation).
pub(crate) fn boolean(ctx: &Ctx, v: &Value, path: &str) -> Result<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Ok(true),
            "false" | "no" | "off" | "0" | "" => Ok(false),
            _ => Err(ctx.err(path, format!("must be true or false, got {s:?}"))),
        },
        _ => Err(ctx.type_err(path, "a boolean", v)),
    }
}

/// `map[key]` as a boolean, false when absent.
pub(crate) fn flag(ctx: &Ctx, m: &Mapping, key: &str, path: &str) -> Result<bool> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(v) => boolean(ctx, v, &join(path, key)),
    }
}

/// A number parsed from a number or a string (`T: FromStr`).
pub(crate) fn number<T: std::str::FromStr>(ctx: &Ctx, v: &Value, path: &str) -> Result<T> {
    let s = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_string(),
        _ => return Err(ctx.type_err(path, "a number", v)),
    };
    s.parse()
        .map_err(|_| ctx.err(path, format!("must be a number, got {s:?}")))
}

/// `map[key]` as a number, when present.
pub(crate) fn opt_number<T: std::str::FromStr>(
    ctx: &Ctx,
    m: &Mapping,
    key: &str,
    path: &str,
) -> Result<Option<T>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => number(ctx, v, &join(path, key)).map(Some),
    }
}

/// `map[key]` as a duration.
pub(crate) fn opt_duration(
    ctx: &Ctx,
    m: &Mapping,
    key: &str,
    path: &str,
) -> Result<Option<std::time::Duration>> {
    let p = join(path, key);
    match opt_string(ctx, m, key, path)? {
        None => Ok(None),
        Some(s) => crate::units::parse_duration(&s)
            .map(Some)
            .map_err(|e| ctx.err(&p, e)),
    }
}

/// `map[key]` as a size in bytes (number = bytes).
pub(crate) fn opt_size(ctx: &Ctx, m: &Mapping, key: &str, path: &str) -> Result<Option<u64>> {
    let p = join(path, key);
    match opt_string(ctx, m, key, path)? {
        None => Ok(None),
        Some(s) => crate::units::parse_size(&s)
            .map(Some)
            .map_err(|e| ctx.err(&p, e)),
    }
}

/// A list of scalars; a single string is accepted as a one-item list when `lenient`.
pub(crate) fn strings(ctx: &Ctx, v: &Value, path: &str, lenient: bool) -> Result<Vec<String>> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::String(s) if lenient => Ok(vec![s.clone()]),
        Value::Sequence(items) => items
            .iter()
            .enumerate()
            .map(|(i, x)| string(ctx, x, &format!("{path}[{i}]")))
            .collect(),
        _ => Err(ctx.type_err(path, "a list", v)),
    }
}

/// `map[key]` as a list of strings.
pub(crate) fn opt_strings(
    ctx: &Ctx,
    m: &Mapping,
    key: &str,
    path: &str,
    lenient: bool,
) -> Result<Vec<String>> {
    match m.get(key) {
        None => Ok(Vec::new()),
        Some(v) => strings(ctx, v, &join(path, key), lenient),
    }
}

/// A mapping or a `K=V` list (with `sep`) as a map; `K` alone or a null value is `None`.
pub(crate) fn dict(
    ctx: &Ctx,
    v: &Value,
    path: &str,
    sep: &[char],
) -> Result<BTreeMap<String, Option<String>>> {
    let mut out = BTreeMap::new();
    match v {
        Value::Null => {}
        Value::Mapping(m) => {
            for (k, v) in m {
                let key = key_str(k);
                let val = match v {
                    Value::Null => None,
                    v => Some(string(ctx, v, &join(path, &key))?),
                };
                out.insert(key, val);
            }
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter().enumerate() {
                let s = string(ctx, item, &format!("{path}[{i}]"))?;
                match s.split_once(sep) {
                    Some((k, v)) => out.insert(k.to_string(), Some(v.to_string())),
                    None => out.insert(s, None),
                };
            }
        }
        _ => return Err(ctx.type_err(path, "a mapping or a list", v)),
    }
    Ok(out)
}

/// Like [`dict`] but every key must have a value (labels, extra_hosts, ...): `K` alone is "".
pub(crate) fn string_dict(
    ctx: &Ctx,
    m: &Mapping,
    key: &str,
    path: &str,
    sep: &[char],
) -> Result<BTreeMap<String, String>> {
    let Some(v) = m.get(key) else {
        return Ok(BTreeMap::new());
    };
    Ok(dict(ctx, v, &join(path, key), sep)?
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect())
}

/// `map[key]` as an octal file mode (`0440`, `"0440"`, `440`).
pub(crate) fn opt_octal(ctx: &Ctx, m: &Mapping, key: &str, path: &str) -> Result<Option<u32>> {
    let p = join(path, key);
    match opt_string(ctx, m, key, path)? {
        None => Ok(None),
        Some(s) => u32::from_str_radix(s.trim_start_matches("0o"), 8)
            .map(Some)
            .map_err(|_| ctx.err(&p, format!("invalid mode {s:?}; use octal like \"0440\""))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        let env = BTreeMap::new();
        let mut w = Vec::new();
        let ctx = Ctx {
            file: Path::new("/f.yaml"),
            dir: Path::new("/"),
            env: &env,
            warnings: &mut w,
        };
        let v: Value = serde_yaml::from_str("[A=1, B, C==x]").unwrap();
        let d = dict(&ctx, &v, "p", &['=']).unwrap();
        assert_eq!(d["A"].as_deref(), Some("1"));
        assert_eq!(d["B"], None);
        assert_eq!(d["C"].as_deref(), Some("=x"));
        let n: u16 = number(&ctx, &Value::from("42"), "p").unwrap();
        assert_eq!(n, 42);
        let e = number::<u16>(&ctx, &Value::from("70000"), "a.b").unwrap_err();
        assert_eq!(
            e.to_string(),
            "/f.yaml: a.b: must be a number, got \"70000\""
        );
        assert!(boolean(&ctx, &Value::from("yes"), "p").unwrap());
        assert_eq!(strings(&ctx, &Value::from("x"), "p", true).unwrap(), ["x"]);
        assert!(strings(&ctx, &Value::from("x"), "p", false).is_err());
    }

    #[test]
    fn unknown_and_unsupported_keys() {
        let env = BTreeMap::new();
        let mut w = Vec::new();
        let mut ctx = Ctx {
            file: Path::new("/f.yaml"),
            dir: Path::new("/"),
            env: &env,
            warnings: &mut w,
        };
        let m: Mapping = serde_yaml::from_str("{a: 1, x-b: 2, c: 3, d: 4}").unwrap();
        ctx.check_keys(&m, "s.t", &["a"], &["d"]);
        assert_eq!(
            w,
            [
                "/f.yaml: s.t.c: unknown key, ignored",
                "/f.yaml: s.t.d: not supported by berth yet, ignored"
            ]
        );
    }
}
