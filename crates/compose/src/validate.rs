//! Cross-references: depends_on, networks, named volumes, secrets and configs must exist.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{ComposeError, Result};
use crate::model::{MountType, Project, Service};

fn file_of<'a>(origins: &'a BTreeMap<String, PathBuf>, first: &'a Path, svc: &str) -> &'a Path {
    origins.get(svc).map_or(first, PathBuf::as_path)
}

/// Checks references that do not depend on profiles (all services are still enabled).
pub(crate) fn check_references(
    p: &Project,
    origins: &BTreeMap<String, PathBuf>,
    first: &Path,
) -> Result<()> {
    for (name, s) in &p.services {
        let err = |path: String, msg: String| {
            ComposeError::invalid(file_of(origins, first, name), path, msg)
        };
        for dep in s.depends_on.keys() {
            if !p.services.contains_key(dep) {
                return Err(err(
                    format!("services.{name}.depends_on"),
                    format!("service \"{name}\" depends on undefined service \"{dep}\"; define it or fix the name"),
                ));
            }
        }
        for (key, what, mode) in crate::order::namespace_modes(s) {
            if let Some(other) = mode.strip_prefix("service:") {
                if !p.services.contains_key(other) {
                    return Err(err(
                        format!("services.{name}.{key}"),
                        format!(
                            "service \"{name}\" uses the {what} of undefined service \"{other}\""
                        ),
                    ));
                }
            }
        }
        if s.network_mode.is_some() && !s.networks.is_empty() {
            return Err(err(
                format!("services.{name}"),
                "network_mode and networks are mutually exclusive; keep one".into(),
            ));
        }
        for (i, m) in s.volumes.iter().enumerate() {
            if m.kind != MountType::Volume {
                continue;
            }
            if let Some(src) = &m.source {
                if !p.volumes.contains_key(src) {
                    return Err(err(
                        format!("services.{name}.volumes[{i}]"),
                        format!("named volume \"{src}\" is not declared under the top-level volumes key"),
                    ));
                }
            }
        }
        for (what, refs, defs) in [
            ("secrets", &s.secrets, &p.secrets),
            ("configs", &s.configs, &p.configs),
        ] {
            for (i, r) in refs.iter().enumerate() {
                if !defs.contains_key(&r.source) {
                    return Err(err(
                        format!("services.{name}.{what}[{i}]"),
                        format!(
                            "\"{}\" is not declared under the top-level {what} key",
                            r.source
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Enabled services must not require disabled ones; optional dependencies are dropped.
pub(crate) fn check_disabled_dependencies(
    p: &mut Project,
    origins: &BTreeMap<String, PathBuf>,
    first: &Path,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let disabled = p.disabled_services.clone();
    for (name, s) in p.services.iter_mut() {
        let mut drop = Vec::new();
        for (dep, d) in &s.depends_on {
            let Some(off) = disabled.get(dep) else {
                continue;
            };
            let file = file_of(origins, first, name);
            let msg = format!(
                "service \"{name}\" depends on service \"{dep}\", which is disabled by its profiles {:?}; \
                 activate one with --profile",
                off.profiles
            );
            if d.required {
                return Err(ComposeError::invalid(
                    file,
                    format!("services.{name}.depends_on"),
                    msg,
                ));
            }
            warnings.push(format!(
                "{}: services.{name}.depends_on: {msg}; ignored (required: false)",
                file.display()
            ));
            drop.push(dep.clone());
        }
        for d in drop {
            s.depends_on.remove(&d);
        }
    }
    Ok(())
}

/// Every network a service joins must be declared.
pub(crate) fn check_networks(
    p: &Project,
    origins: &BTreeMap<String, PathBuf>,
    first: &Path,
) -> Result<()> {
    let all = p.services.iter().chain(p.disabled_services.iter());
    for (name, s) in all {
        if let Some(n) = undeclared(p, s) {
            return Err(ComposeError::invalid(
                file_of(origins, first, name),
                format!("services.{name}.networks.{n}"),
                format!("network \"{n}\" is not declared under the top-level networks key"),
            ));
        }
    }
    Ok(())
}

fn undeclared<'a>(p: &Project, s: &'a Service) -> Option<&'a str> {
    s.networks
        .keys()
        .find(|n| !p.networks.contains_key(*n))
        .map(String::as_str)
}
