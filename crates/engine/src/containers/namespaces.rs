//! `PidMode` and `IpcMode` in the engine: the `container:` targets, the shareable
//! `/dev/shm`, and the namespace paths written into the spec at each start.
//!
//! Why the spec is patched at start: a `container:X` mode joins X's namespaces through
//! `/proc/<X's pid>/ns/…`, and X's pid is only known (and only stable) while X runs, so the
//! path in `config.json` is rewritten just before every start (create writes a path that
//! cannot open, `/proc/0/…`, when X is not running).
//!
//! Why a host-side tmpfs for `shareable`: a private `/dev/shm` is mounted by the runtime
//! inside the container's own mount namespace, where no other container can bind it from.
//! As moby does, a shareable container's `/dev/shm` is a tmpfs the engine mounts at
//! `<data-root>/containers/<id>/shm` before the start (kept until the container is removed),
//! which joiners bind-mount too.

use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use serde_json::Value;

use super::record::{self, ContainerRecord};
use super::ContainerStatus;
use crate::container::options::{
    ipc_kind, pid_kind, CreateOptions, IpcKind, PidKind, DEFAULT_IPC_MODE, DEFAULT_SHM_SIZE,
};
use crate::container::{SpecContext, SpecError};
use crate::{Engine, EngineError, Result};

/// How many `container:` hops are followed to find a joined container's `/dev/shm`.
const MAX_HOPS: usize = 8;

impl Engine {
    /// Create-time checks of `PidMode` and `IpcMode` (Docker's values; a `container:`
    /// target must exist), and Docker's recorded default `IpcMode` (`private`).
    pub(crate) fn check_namespace_modes(&self, opts: &mut CreateOptions) -> Result<()> {
        let hc = &mut opts.host_config;
        if let PidKind::Container(t) = pid_kind(&hc.pid_mode).map_err(SpecError::from)? {
            self.find_container(&t)?;
        }
        if let IpcKind::Container(t) = ipc_kind(&hc.ipc_mode).map_err(SpecError::from)? {
            self.find_container(&t)?;
        }
        if hc.ipc_mode.is_empty() {
            hc.ipc_mode = DEFAULT_IPC_MODE.into();
        }
        Ok(())
    }

    /// The spec context's namespace paths and `/dev/shm` source for container `id`
    /// created with `opts` (the other fields are left default).
    pub(crate) fn namespace_context(&self, opts: &CreateOptions, id: &str) -> Result<SpecContext> {
        let hc = &opts.host_config;
        let mut ctx = SpecContext::default();
        if let PidKind::Container(t) = pid_kind(&hc.pid_mode).map_err(SpecError::from)? {
            ctx.pidns_path = Some(self.ns_path(&self.find_container(&t)?, "pid"));
        }
        match ipc_kind(&hc.ipc_mode).map_err(SpecError::from)? {
            IpcKind::Container(t) => {
                let target = self.find_container(&t)?;
                ctx.ipcns_path = Some(self.ns_path(&target, "ipc"));
                ctx.shm_path = Some(
                    self.shm_source(&target, 0)
                        .unwrap_or_else(|| self.shm_dir(&target.id)),
                );
            }
            IpcKind::Shareable => ctx.shm_path = Some(self.shm_dir(id)),
            _ => {}
        }
        Ok(ctx)
    }

    /// Before a start: the `container:` targets must run (Docker's words otherwise), a
    /// shareable container's `/dev/shm` is mounted, and the joined namespaces' paths in
    /// `config.json` are brought up to date.
    pub(crate) fn prepare_namespaces(&self, rec: &ContainerRecord) -> Result<()> {
        let hc = &rec.options.host_config;
        let mut joins: Vec<(&str, PathBuf)> = Vec::new();
        if let PidKind::Container(t) = pid_kind(&hc.pid_mode).map_err(SpecError::from)? {
            let target = self.find_container(&t)?;
            if !self.container_status(&target).is_running() {
                return Err(EngineError::FailedPrecondition(format!(
                    "cannot join PID of a non running container: {}",
                    target.id
                )));
            }
            joins.push(("pid", self.ns_path(&target, "pid")));
        }
        match ipc_kind(&hc.ipc_mode).map_err(SpecError::from)? {
            IpcKind::Container(t) => {
                let target = self.find_container(&t)?;
                if !self.container_status(&target).is_running() {
                    return Err(EngineError::FailedPrecondition(format!(
                        "container {} is not running",
                        target.id
                    )));
                }
                if self.shm_source(&target, 0).is_none() {
                    return Err(EngineError::InvalidArgument(format!(
                        "container {t}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)"
                    )));
                }
                joins.push(("ipc", self.ns_path(&target, "ipc")));
            }
            IpcKind::Shareable => self.mount_shm(&rec.id, hc.shm_size)?,
            _ => {}
        }
        if !joins.is_empty() {
            self.set_namespace_paths(&rec.id, &joins)?;
        }
        Ok(())
    }

    /// Unmounts a shareable container's `/dev/shm` (before its directory is removed).
    pub(crate) fn release_shm(&self, id: &str) {
        let _ = umount2(&self.shm_dir(id), MntFlags::MNT_DETACH);
    }

    fn shm_dir(&self, id: &str) -> PathBuf {
        self.container_dir(id).join("shm")
    }

    /// `/proc/<pid>/ns/<kind>` of a running container; `/proc/0/…` (never openable) if it
    /// does not run, for a spec that start rewrites.
    fn ns_path(&self, rec: &ContainerRecord, kind: &str) -> PathBuf {
        let pid = match self.container_status(rec) {
            ContainerStatus::Running { pid, .. } => pid,
            _ => 0,
        };
        PathBuf::from(format!("/proc/{pid}/ns/{kind}"))
    }

    /// The host directory that is `rec`'s `/dev/shm`, if others may share it (Docker's
    /// `ShmPath`): its own for `shareable`, the host's for `host`, its target's for
    /// `container:`; `None` for `private` and `none`.
    fn shm_source(&self, rec: &ContainerRecord, hops: usize) -> Option<PathBuf> {
        match ipc_kind(&rec.options.host_config.ipc_mode).ok()? {
            IpcKind::Shareable => Some(self.shm_dir(&rec.id)),
            IpcKind::Host => Some(PathBuf::from("/dev/shm")),
            IpcKind::Container(t) if hops < MAX_HOPS => {
                self.shm_source(&self.find_container(&t).ok()?, hops + 1)
            }
            _ => None,
        }
    }

    /// Mounts the shareable `/dev/shm` tmpfs unless it is mounted already (a restart).
    fn mount_shm(&self, id: &str, size: i64) -> Result<()> {
        let dir = self.shm_dir(id);
        std::fs::create_dir_all(&dir).map_err(|e| EngineError::io("creating", &dir, e))?;
        if is_mount_point(&dir) {
            return Ok(());
        }
        let size = if size == 0 { DEFAULT_SHM_SIZE } else { size };
        let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
        mount(
            Some("shm"),
            &dir,
            Some("tmpfs"),
            flags,
            Some(format!("mode=1777,size={size}").as_str()),
        )
        .map_err(|e| EngineError::io("mounting /dev/shm's tmpfs on", &dir, e.into()))
    }

    /// Sets the `path` of the joined namespaces of `kind` in the container's `config.json`.
    fn set_namespace_paths(&self, id: &str, joins: &[(&str, PathBuf)]) -> Result<()> {
        let path = self.container_dir(id).join("bundle/config.json");
        let data = std::fs::read(&path).map_err(|e| EngineError::io("reading", &path, e))?;
        let mut spec: Value = serde_json::from_slice(&data)
            .map_err(|e| EngineError::Internal(format!("reading {}: {e}", path.display())))?;
        patch_namespaces(&mut spec, joins);
        let data = serde_json::to_vec_pretty(&spec)
            .map_err(|e| EngineError::Internal(format!("encoding the OCI spec: {e}")))?;
        record::write_atomic(&path, &data).map_err(|e| EngineError::io("writing", &path, e))
    }
}

/// Replaces the path of each namespace of a joined kind (only entries with a path: the
/// ones the spec builder made for `container:` modes).
pub(crate) fn patch_namespaces(spec: &mut Value, joins: &[(&str, PathBuf)]) {
    let Some(list) = spec["linux"]["namespaces"].as_array_mut() else {
        return;
    };
    for ns in list {
        if let Some((_, p)) = joins.iter().find(|(k, _)| ns["type"] == *k) {
            if ns.get("path").is_some() {
                ns["path"] = Value::String(p.to_string_lossy().into_owned());
            }
        }
    }
}

/// Whether `dir` is a mount point (its device differs from its parent's).
fn is_mount_point(dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let parent = dir.parent().unwrap_or(Path::new("/"));
    match (std::fs::metadata(dir), std::fs::metadata(parent)) {
        (Ok(a), Ok(b)) => a.dev() != b.dev(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patches_only_joined_namespaces() {
        let mut spec = json!({"linux": {"namespaces": [
            {"type": "mount"}, {"type": "pid", "path": "/proc/0/ns/pid"}, {"type": "ipc"},
        ]}});
        patch_namespaces(
            &mut spec,
            &[
                ("pid", "/proc/42/ns/pid".into()),
                ("ipc", "/proc/42/ns/ipc".into()),
            ],
        );
        assert_eq!(
            spec["linux"]["namespaces"],
            json!([{"type": "mount"}, {"type": "pid", "path": "/proc/42/ns/pid"}, {"type": "ipc"}])
        );
    }
}
