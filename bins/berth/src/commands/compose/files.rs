//! `secrets` and `configs` outside swarm, as docker compose serves them — secrets at
//! `/run/secrets/<target or name>`, configs at `/<target or name>` (a relative target is put
//! under those directories):
//! - `file:` sources become read-only bind mounts of the file (uid, gid and mode are the
//!   file's own; a warning says so when they are given);
//! - `environment:` and `content:` sources are written into the container after create and
//!   before start (`PUT /containers/{id}/archive`, one tar entry each, mode 0444 unless
//!   `mode` says otherwise, owned by `uid`/`gid`, default 0): the value never touches the
//!   host's disk.
//!
//! Why refuse `external:` objects and unset variables before anything is created: an external
//! object lives in swarm's store, which berth does not have; failing up front names the key
//! and leaves no half-created project.

use anyhow::{anyhow, bail, Result};
use berth_client::Client;
use berth_compose::{FileObject, FileRef, Project, Service};
use serde_json::{json, Value};

use crate::commands::daemon;

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
                if def.external {
                    bail!(
                        "{at}: {key} {:?} is external (swarm's store), which berth does not \
                         have; use a `file:`, `environment:` or `content:` source",
                        r.source
                    );
                }
                if let (Some(var), None) = (&def.environment, &def.environment_value) {
                    bail!(
                        "{at}: {key} {:?} comes from the environment variable {var}, which is \
                         not set; export it or put it in the project's .env file",
                        r.source
                    );
                }
                ids(r).map_err(|e| anyhow!("{at}: {e}"))?;
                if def.file.is_some() && (r.uid.is_some() || r.gid.is_some() || r.mode.is_some()) {
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

/// `uid`, `gid` (default 0) and `mode` (default 0444) of a written reference.
fn ids(r: &FileRef) -> Result<(u64, u64, u32)> {
    let num = |what: &str, v: &Option<String>| -> Result<u64> {
        v.as_deref().map_or(Ok(0), |s| {
            s.parse()
                .map_err(|_| anyhow!("{what} {s:?} is not a number; use a numeric id"))
        })
    };
    let mode = r.mode.unwrap_or(0o444);
    Ok((num("uid", &r.uid)?, num("gid", &r.gid)?, mode))
}

/// The tar of `s`'s `environment:` and `content:` secrets and configs (after [`check`]);
/// `None` when it has none.
fn archive(p: &Project, s: &Service) -> Result<Option<Vec<u8>>> {
    let mut b = tar::Builder::new(Vec::new());
    let mut any = false;
    for (key, refs, secret) in kinds(s) {
        for r in refs {
            let Some(def) = definition(p, key, &r.source) else {
                continue;
            };
            let Some(value) = def.environment_value.as_ref().or(def.content.as_ref()) else {
                continue;
            };
            let (uid, gid, mode) = ids(r)?;
            let mut h = tar::Header::new_gnu();
            h.set_size(value.len() as u64);
            h.set_mode(mode);
            h.set_uid(uid);
            h.set_gid(gid);
            h.set_entry_type(tar::EntryType::Regular);
            let path = target(r, secret);
            b.append_data(&mut h, path.trim_start_matches('/'), value.as_bytes())?;
            any = true;
        }
    }
    Ok(any.then(|| b.into_inner()).transpose()?)
}

/// Writes `s`'s `environment:` and `content:` secrets and configs into the created (not yet
/// started) container `id`.
pub fn inject(c: &Client, id: &str, p: &Project, s: &Service) -> Result<()> {
    if let Some(tar) = archive(p, s)? {
        c.put_archive(id, "/", tar).map_err(daemon)?;
    }
    Ok(())
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
