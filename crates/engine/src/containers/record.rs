//! The on-disk container record, `<data-root>/containers/<id>/config.json`, and the names and
//! ids Docker gives containers.
//!
//! Why a file per container and no index: a container is created and removed far less often
//! than it is looked up, and a directory scan of a few hundred small files is fast enough;
//! each record is replaced atomically (temp, fsync, rename, fsync of the directory), so
//! whatever `kill -9` interrupts, a reader sees the old record or the new one.
//!
//! The record holds facts only (what was asked for, what the spec made of it, when it was
//! started); whether the container runs is derived from its shim (see `super::status`).

use std::fs;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::container::CreateOptions;

/// File name of the record inside the container's directory.
pub const RECORD_FILE: &str = "config.json";

/// What berthd remembers about one container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerRecord {
    /// 64 lower-case hex digits.
    pub id: String,
    /// The name without Docker's leading `/`.
    pub name: String,
    /// The image id (`sha256:…`).
    pub image_id: String,
    /// The create options as the client sent them (`Image` is the reference as given).
    pub options: CreateOptions,
    /// The process the spec runs: `args[0]`.
    pub path: String,
    /// The rest of the spec's args.
    pub args: Vec<String>,
    /// The spec's environment (image env merged with the options').
    pub env: Vec<String>,
    /// The spec's hostname.
    pub hostname: String,
    /// The image's labels overridden by the options'.
    pub labels: std::collections::BTreeMap<String, String>,
    /// The stop signal (options', then image's, then `SIGTERM`).
    pub stop_signal: String,
    /// When it was created, RFC 3339 with nanoseconds.
    pub created: String,
    /// When it was last started; `None` until the first start.
    pub started_at: Option<String>,
    /// `HostConfig.AutoRemove` (`docker run --rm`): removed once it exits.
    #[serde(default)]
    pub auto_remove: bool,
    /// The resolved volumes and binds (inspect's `Mounts`); what marks a volume in use.
    #[serde(default)]
    pub mounts: Vec<crate::MountPoint>,
    /// Restarts by policy since the user's last start (inspect's `RestartCount`).
    #[serde(default)]
    pub restart_count: u32,
    /// The user stopped or killed it: no restart by policy until the user starts it again.
    #[serde(default)]
    pub manually_stopped: bool,
    /// The networks it is on, by name; their live part while it runs.
    #[serde(default)]
    pub networks: std::collections::BTreeMap<String, crate::networks::Endpoint>,
    /// The host ports it holds while it runs.
    #[serde(default)]
    pub ports: Vec<crate::networks::PublishedPort>,
}

pub use berth_fs::write_atomic;

/// Saves `rec` into `dir` (the container's directory).
pub fn save(dir: &Path, rec: &ContainerRecord) -> io::Result<()> {
    let data = serde_json::to_vec_pretty(rec).map_err(io::Error::other)?;
    write_atomic(&dir.join(RECORD_FILE), &data)
}

/// Loads the record in `dir`.
pub fn load(dir: &Path) -> io::Result<ContainerRecord> {
    let data = fs::read(dir.join(RECORD_FILE))?;
    serde_json::from_slice(&data).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// A new container id: 32 random bytes from `/dev/urandom` as hex (Docker's format).
pub fn new_id() -> io::Result<String> {
    berth_types::random_id()
}

/// Docker's `[a-zA-Z0-9][a-zA-Z0-9_.-]+` for container names (a leading `/` is allowed).
pub fn valid_name(name: &str) -> bool {
    berth_types::valid_object_name(name)
}

const ADJECTIVES: &[&str] = &[
    "admiring",
    "brave",
    "clever",
    "dreamy",
    "eager",
    "focused",
    "gallant",
    "happy",
    "jolly",
    "keen",
    "loving",
    "modest",
    "nifty",
    "optimistic",
    "peaceful",
    "quirky",
    "relaxed",
    "serene",
    "tender",
    "upbeat",
    "vibrant",
    "wizardly",
    "xenodochial",
    "youthful",
    "zealous",
];

const SURNAMES: &[&str] = &[
    "albattani",
    "babbage",
    "curie",
    "darwin",
    "euclid",
    "fermat",
    "goldberg",
    "hopper",
    "johnson",
    "kepler",
    "lovelace",
    "meitner",
    "noether",
    "pasteur",
    "ritchie",
    "shannon",
    "thompson",
    "turing",
    "wozniak",
    "yalow",
];

/// A Docker-like `adjective_surname` name; `seed` picks it (the caller retries on a clash).
pub fn generated_name(seed: &[u8]) -> String {
    let n = seed.iter().fold(0u64, |acc, &b| {
        acc.wrapping_mul(31).wrapping_add(u64::from(b))
    });
    let a = ADJECTIVES[(n % ADJECTIVES.len() as u64) as usize];
    let s = SURNAMES[((n / ADJECTIVES.len() as u64) % SURNAMES.len() as u64) as usize];
    format!("{a}_{s}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids() {
        assert!(valid_name("c1") && valid_name("a.b_c-d"));
        assert!(!valid_name("c") && !valid_name("-x") && !valid_name("a b") && !valid_name(""));
        let id = new_id().unwrap();
        assert_eq!(id.len(), 64);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(valid_name(&generated_name(id.as_bytes())));
    }

    #[test]
    fn record_round_trip() {
        let d = tempfile::tempdir().unwrap();
        let rec = ContainerRecord {
            auto_remove: false,
            id: "a".repeat(64),
            name: "c1".into(),
            image_id: "sha256:00".into(),
            options: CreateOptions::default(),
            path: "/bin/sh".into(),
            args: vec!["-c".into()],
            env: vec![],
            hostname: "aaaa".into(),
            labels: Default::default(),
            stop_signal: "SIGTERM".into(),
            created: "2024-01-01T00:00:00Z".into(),
            started_at: None,
            mounts: Vec::new(),
            restart_count: 2,
            manually_stopped: true,
            networks: Default::default(),
            ports: Vec::new(),
        };
        save(d.path(), &rec).unwrap();
        assert_eq!(load(d.path()).unwrap(), rec);
    }
}
