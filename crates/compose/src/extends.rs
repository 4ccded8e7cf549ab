//! `extends`: a service starts from another one (same file, or `file:` + `service:`) and the
//! merge rules of [`crate::merge`] apply. Relative paths of a service taken from another file
//! are made absolute against that file's directory. Cycles are an error naming the chain.

use std::path::{Path, PathBuf};

use serde_yaml::{Mapping, Value};

use crate::convert::{key_str, kind};
use crate::error::{ComposeError, Result};
use crate::merge::merge_service;
use crate::paths::{absolutize, is_path, is_remote};

/// Loads another (interpolated) file tree, given its absolute path.
pub type LoadTree<'a> = &'a mut dyn FnMut(&Path) -> Result<Value>;

/// Resolves `extends` in every service of `doc` (the tree of `file`), in place.
pub fn resolve_extends(doc: &mut Value, file: &Path, load: LoadTree<'_>) -> Result<()> {
    let Some(Value::Mapping(services)) = doc.get("services").cloned() else {
        return Ok(());
    };
    let mut resolved = Mapping::new();
    for (name, _) in &services {
        let mut stack = Vec::new();
        let svc = resolve_one(file, &services, &key_str(name), &mut stack, load)?;
        resolved.insert(name.clone(), svc);
    }
    doc["services"] = Value::Mapping(resolved);
    Ok(())
}

fn resolve_one(
    file: &Path,
    services: &Mapping,
    name: &str,
    stack: &mut Vec<(PathBuf, String)>,
    load: LoadTree<'_>,
) -> Result<Value> {
    let path = format!("services.{name}.extends");
    let svc = services.get(name).cloned().unwrap_or(Value::Null);
    let Some(ext) = svc.get("extends").cloned() else {
        return Ok(svc);
    };
    let here = (file.to_path_buf(), name.to_string());
    if let Some(pos) = stack.iter().position(|s| *s == here) {
        let mut chain: Vec<String> = stack[pos..].iter().map(|(_, s)| s.clone()).collect();
        chain.push(name.to_string());
        return Err(ComposeError::ExtendsCycle {
            file: stack[0].0.clone(),
            service: stack[0].1.clone(),
            chain: chain.join(" -> "),
        });
    }
    let (base_name, other) = match &ext {
        Value::String(s) => (s.clone(), None),
        Value::Mapping(m) => {
            let s = m.get("service").and_then(Value::as_str).ok_or_else(|| {
                ComposeError::invalid(
                    file,
                    &path,
                    "missing \"service\": name the service to extend",
                )
            })?;
            let f = m.get("file").and_then(Value::as_str);
            (
                s.to_string(),
                f.map(|f| absolutize(file.parent().unwrap_or(Path::new("/")), f, None)),
            )
        }
        other => {
            return Err(ComposeError::invalid(
                file,
                &path,
                format!("must be a string or a mapping, got {}", kind(other)),
            ))
        }
    };
    stack.push(here);
    let base = match &other {
        Some(other_file) => {
            let tree = load(other_file)?;
            let other_services = match tree.get("services") {
                Some(Value::Mapping(m)) => m.clone(),
                _ => Mapping::new(),
            };
            if !other_services.contains_key(base_name.as_str()) {
                return Err(missing(file, &path, &base_name, other_file));
            }
            let base = resolve_one(other_file, &other_services, &base_name, stack, load)?;
            rebase(base, other_file.parent().unwrap_or(Path::new("/")))
        }
        None => {
            if !services.contains_key(base_name.as_str()) {
                return Err(missing(file, &path, &base_name, file));
            }
            resolve_one(file, services, &base_name, stack, load)?
        }
    };
    stack.pop();
    let mut svc = svc;
    if let Value::Mapping(m) = &mut svc {
        m.remove("extends");
    }
    Ok(merge_service(&base, &svc))
}

fn missing(file: &Path, path: &str, name: &str, in_file: &Path) -> ComposeError {
    ComposeError::invalid(
        file,
        path,
        format!(
            "cannot extend service {name:?}: not found in {}",
            in_file.display()
        ),
    )
}

/// Makes the relative paths of a service from another file absolute against `dir`.
fn rebase(mut svc: Value, dir: &Path) -> Value {
    let abs = |s: &str| absolutize(dir, s, None).display().to_string();
    let Value::Mapping(m) = &mut svc else {
        return svc;
    };
    match m.get_mut("build") {
        Some(Value::String(s)) if !is_remote(s) => *s = abs(s),
        Some(Value::Mapping(b)) => {
            if let Some(Value::String(s)) = b.get_mut("context") {
                if !is_remote(s) {
                    *s = abs(s);
                }
            }
        }
        _ => {}
    }
    match m.get_mut("env_file") {
        Some(Value::String(s)) => *s = abs(s),
        Some(Value::Sequence(items)) => {
            for item in items {
                match item {
                    Value::String(s) => *s = abs(s),
                    Value::Mapping(e) => {
                        if let Some(Value::String(s)) = e.get_mut("path") {
                            *s = abs(s);
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
    if let Some(Value::Sequence(vols)) = m.get_mut("volumes") {
        for v in vols {
            match v {
                Value::String(s) if s.starts_with('.') && s.contains(':') => {
                    let (src, rest) = s.split_once(':').unwrap_or((s, ""));
                    *s = format!("{}:{rest}", abs(src));
                }
                Value::Mapping(l) => {
                    if let Some(Value::String(s)) = l.get_mut("source") {
                        if s.starts_with('.') && is_path(s) {
                            *s = abs(s);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    svc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn y(s: &str) -> Value {
        serde_yaml::from_str(s).unwrap()
    }

    fn no_files(p: &Path) -> Result<Value> {
        Err(ComposeError::invalid(p, "", "unexpected read"))
    }

    #[test]
    fn same_file_and_other_file() {
        let mut doc = y("services:\n  a: {image: x, ports: ['1:1'], build: ./b}\n  \
                         b: {extends: a, ports: ['2:2']}\n  \
                         c: {extends: {file: sub/o.yaml, service: o}, image: z}\n");
        let mut load = |p: &Path| -> Result<Value> {
            assert_eq!(p, Path::new("/p/sub/o.yaml"));
            Ok(y(
                "services: {o: {image: o, build: ./ctx, volumes: ['./d:/d', 'v:/v']}}",
            ))
        };
        resolve_extends(&mut doc, Path::new("/p/compose.yaml"), &mut load).unwrap();
        let s = &doc["services"];
        assert_eq!(s["b"]["ports"], y("['1:1', '2:2']"));
        assert_eq!(
            s["b"]["build"],
            y("./b"),
            "same file: paths are left relative"
        );
        assert!(s["b"].get("extends").is_none());
        assert_eq!(s["c"]["image"], y("z"));
        assert_eq!(s["c"]["build"], y("/p/sub/ctx"));
        assert_eq!(s["c"]["volumes"], y("['/p/sub/d:/d', 'v:/v']"));
    }

    #[test]
    fn cycle_and_bad_type() {
        let mut doc = y("services: {a: {extends: a}}");
        let e = resolve_extends(&mut doc, Path::new("/p/c.yaml"), &mut no_files).unwrap_err();
        assert!(e.to_string().contains("extends cycle: a -> a"), "{e}");
        let mut doc = y("services: {a: {extends: [x]}}");
        let e = resolve_extends(&mut doc, Path::new("/p/c.yaml"), &mut no_files).unwrap_err();
        assert_eq!(
            e.to_string(),
            "/p/c.yaml: services.a.extends: must be a string or a mapping, got a list"
        );
    }
}
