//! File-based `secrets` and `configs`: each reference becomes a read-only bind mount of the
//! file the top-level definition names, as docker compose does outside swarm — secrets at
//! `/run/secrets/<target or name>`, configs at `/<target or name>` (a relative target is
//! put under those directories).
//!
//! Why refuse the other sources before anything is created: `environment:` and `content:`
//! sources and `external:` objects need the engine to write or hold the data (swarm's
//! secret store, or a copy into the container after create), which berth does not do yet;
//! failing up front names the key and leaves no half-created project.

use anyhow::{bail, Result};
use berth_compose::{FileObject, FileRef, Project, Service};
use serde_json::{json, Value};

/// Where a secret (`secret: true`) or config reference lands in the container.
fn target(r: &FileRef, secret: bool) -> String {
    let t = r.target.clone().unwrap_or_else(|| r.source.clone());
    match (t.starts_with('/'), secret) {
        (true, _) => t,
        (false, true) => format!("/run/secrets/{t}"),
        (false, false) => format!("/{t}"),
    }
}

fn kinds(s: &Service) -> [(&'static str, &[FileRef], bool); 2] {
    [
        ("secrets", &s.secrets, true),
        ("configs", &s.configs, false),
    ]
}

fn definition<'a>(p: &'a Project, key: &str, name: &str) -> Option<&'a FileObject> {
    match key {
        "secrets" => p.secrets.get(name),
        _ => p.configs.get(name),
    }
}

/// Refuses references berth cannot serve yet, naming the key path.
pub fn check(p: &Project) -> Result<()> {
    for (svc, s) in &p.services {
        for (key, refs, _) in kinds(s) {
            for (i, r) in refs.iter().enumerate() {
                let at = format!("services.{svc}.{key}[{i}]");
                let Some(def) = definition(p, key, &r.source) else {
                    bail!(
                        "{at}: {key} {:?} is not defined under the top-level {key} key",
                        r.source
                    );
                };
                if def.file.is_none() {
                    bail!(
                        "{at}: {key} {:?} is not file-based (environment, content or external): \
                         berth mounts only `file:` {key} yet; put the value in a file",
                        r.source
                    );
                }
                if r.uid.is_some() || r.gid.is_some() || r.mode.is_some() {
                    eprintln!(
                        "WARN[0000] {at}: uid, gid and mode are not applied to a file-based \
                         {key} (it is bind-mounted as the file is)"
                    );
                }
            }
        }
    }
    Ok(())
}

/// The read-only bind mounts of `s`'s file-based secrets and configs (after [`check`]).
pub fn mounts(p: &Project, s: &Service) -> Vec<Value> {
    let mut out = Vec::new();
    for (key, refs, secret) in kinds(s) {
        for r in refs {
            if let Some(file) = definition(p, key, &r.source).and_then(|d| d.file.as_ref()) {
                out.push(
                    json!({"Type": "bind", "Source": file, "Target": target(r, secret),
                    "ReadOnly": true}),
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_follow_docker_compose() {
        let r = |t: Option<&str>| FileRef {
            source: "db_pw".into(),
            target: t.map(str::to_string),
            uid: None,
            gid: None,
            mode: None,
        };
        assert_eq!(target(&r(None), true), "/run/secrets/db_pw");
        assert_eq!(target(&r(Some("pw")), true), "/run/secrets/pw");
        assert_eq!(target(&r(Some("/etc/pw")), true), "/etc/pw");
        assert_eq!(target(&r(None), false), "/db_pw");
        assert_eq!(target(&r(Some("etc/app.conf")), false), "/etc/app.conf");
    }
}
