//! What a container is, on disk: `<root>/<id>/state.json`, written atomically.
//!
//! The status is never stored as truth: only facts are (the init pid and its start time, whether
//! the exec fifo still exists, the freezer state), and [`Status`] is derived from them each time,
//! so a crash of the runtime between two steps can never leave a lie on disk.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Result, RuntimeError};

/// The OCI lifecycle states (plus `Paused`, as runc reports it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Init exists and waits on the exec fifo for `start`.
    Created,
    /// The user process runs.
    Running,
    /// The container's cgroup is frozen.
    Paused,
    /// Init has exited.
    Stopped,
}

impl Status {
    /// The word runc and the OCI spec use.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// What is persisted for a container. Field names of the OCI part follow the OCI state schema.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    /// OCI version of the bundle's config.
    pub oci_version: String,
    /// Container id.
    pub id: String,
    /// Pid of the container's init, in the runtime's pid namespace.
    pub pid: i32,
    /// Absolute path of the bundle.
    pub bundle: PathBuf,
    /// Annotations copied from config.json.
    #[serde(default)]
    pub annotations: std::collections::HashMap<String, String>,
    /// Start time of init (field 22 of /proc/<pid>/stat), to tell it from a reused pid.
    pub init_start_time: u64,
    /// The cgroup path the container lives in (relative to hierarchy roots).
    pub cgroup_path: PathBuf,
    /// Creation time, RFC 3339 seconds since epoch.
    pub created: u64,
    /// Absolute path of the rootfs.
    pub rootfs: PathBuf,
    /// The uid/gid maps if the container has a user namespace (exec needs them).
    #[serde(default)]
    pub has_user_ns: bool,
}

/// The directory holding one container's files.
pub fn container_dir(root: &Path, id: &str) -> PathBuf {
    root.join(id)
}

/// The fifo init blocks on until `start`.
pub fn exec_fifo(dir: &Path) -> PathBuf {
    dir.join("exec.fifo")
}

impl State {
    /// Reads the state of `id` under `root`.
    pub fn load(root: &Path, id: &str) -> Result<State> {
        let path = container_dir(root, id).join("state.json");
        let data = match fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(RuntimeError::NotFound(id.to_string()))
            }
            Err(e) => return Err(RuntimeError::io("read", path, e)),
        };
        serde_json::from_slice(&data).map_err(|e| RuntimeError::Spec {
            path,
            msg: format!("corrupt state file: {e}; delete the container with --force"),
        })
    }

    /// Writes the state atomically: temp file, then rename, so a reader (or a kill -9 of the
    /// writer) never sees half a file. No fsync: the state root is runtime state (runc's
    /// /run/runc, ours /run/berth-runtime, a tmpfs) that does not outlive a reboot anyway, and
    /// an fsync on a disk-backed root costs milliseconds on every create.
    pub fn save(&self, root: &Path) -> Result<()> {
        let dir = container_dir(root, &self.id);
        let path = dir.join("state.json");
        let tmp = dir.join(".state.json.tmp");
        let data = serde_json::to_vec(self).map_err(|e| RuntimeError::Invalid(e.to_string()))?;
        let mut f = fs::File::create(&tmp).map_err(|e| RuntimeError::io("create", &tmp, e))?;
        f.write_all(&data)
            .map_err(|e| RuntimeError::io("write", &tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| RuntimeError::io("rename into", &path, e))
    }

    /// Derives the current status from the facts on the host.
    pub fn status(&self, root: &Path) -> Status {
        if !self.init_alive() {
            return Status::Stopped;
        }
        if exec_fifo(&container_dir(root, &self.id)).exists() {
            return Status::Created;
        }
        if frozen(self.pid) {
            return Status::Paused;
        }
        Status::Running
    }

    /// Whether the recorded init still runs (and is not a zombie or a reused pid).
    pub fn init_alive(&self) -> bool {
        match proc_stat(self.pid) {
            Some((state, start)) => start == self.init_start_time && state != 'Z' && state != 'X',
            None => false,
        }
    }

    /// The OCI state document (`runc state` output).
    pub fn to_oci_json(&self, root: &Path) -> serde_json::Value {
        let status = self.status(root);
        serde_json::json!({
            "ociVersion": self.oci_version,
            "id": self.id,
            "pid": if status == Status::Stopped { 0 } else { self.pid },
            "status": status.as_str(),
            "bundle": self.bundle,
            "rootfs": self.rootfs,
            "created": rfc3339_utc(self.created),
            "annotations": self.annotations,
        })
    }
}

/// Process state letter and start time (clock ticks since boot) from /proc/<pid>/stat.
pub(crate) fn proc_stat(pid: i32) -> Option<(char, u64)> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: split after the last ')'.
    let rest = &s[s.rfind(')')? + 2..];
    let mut fields = rest.split(' ');
    let state = fields.next()?.chars().next()?;
    // rest starts at field 3; start time is field 22, i.e. 19 more.
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}

fn frozen(pid: i32) -> bool {
    // A frozen task sleeps in the freezer: /proc/<pid>/status does not tell us portably, so ask
    // the cgroup. v1: freezer.state of the task's freezer cgroup; v2: cgroup.freeze.
    let Ok(cg) = fs::read_to_string(format!("/proc/{pid}/cgroup")) else {
        return false;
    };
    for line in cg.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, ctrls, path) = match (parts.next(), parts.next(), parts.next()) {
            (Some(a), Some(b), Some(c)) => (a, b, c),
            _ => continue,
        };
        if ctrls.split(',').any(|c| c == "freezer") {
            let f = format!("/sys/fs/cgroup/freezer{path}/freezer.state");
            return fs::read_to_string(f)
                .map(|s| s.trim() == "FROZEN")
                .unwrap_or(false);
        }
        if ctrls.is_empty() {
            for base in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"] {
                let f = format!("{base}{path}/cgroup.freeze");
                if let Ok(s) = fs::read_to_string(&f) {
                    if s.trim() == "1" {
                        return true;
                    }
                }
            }
        }
    }
    false
}

/// Seconds since the epoch as RFC 3339 UTC (`2026-11-23T16:30:00Z`).
pub fn rfc3339_utc(secs: u64) -> String {
    berth_types::time::format_rfc3339(i64::try_from(secs).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc(1_795_451_400), "2026-11-23T16:30:00Z");
    }

    #[test]
    fn proc_stat_reads_self() {
        let me = std::process::id() as i32;
        let (state, start) = proc_stat(me).expect("own stat");
        assert!(state == 'R' || state == 'S', "state {state}");
        assert!(start > 0);
        assert_eq!(proc_stat(me).unwrap().1, start, "start time is stable");
    }
}
