//! Containers' lifecycle: create, start, wait, kill, stop, remove, list, inspect, logs, exec.
//!
//! Why this shape (DESIGN.md's process model): berthd never clones a container itself. `start`
//! spawns a `berth-shim` per container, which creates and starts it through the runtime, owns
//! its stdio (Docker's json-file log) and records its exit in `exit.json`. So berthd can stop
//! or crash while containers run; everything here is derived again from disk and the shim's
//! socket on every call.
//!
//! On disk:
//! - `<data-root>/containers/<id>/config.json`: the record (`record`), replaced atomically;
//! - `<data-root>/containers/<id>/bundle/config.json`: the OCI spec, `root.path` = the overlay
//!   mount point of the image store's rootfs for this id;
//! - `<exec-root>/shims/<id>/`: the shim's state dir (socket, pid files, log, `exit.json`);
//! - `<exec-root>/runtime/`: the runtime's state root, shared by all shims.
//!
//! The status is one enum, [`ContainerStatus`]; Docker's words and booleans are made from it
//! at the API edge. Lookups follow Docker's order: full id, then name, then unique id prefix.

pub mod archive;
mod attach;
mod exec;
mod filters;
pub mod health;
mod lifecycle;
mod logs;
mod logtail;
mod namespaces;
mod ops;
mod probe;
pub mod record;
mod resources;
mod restart;
mod wait;

use std::fs;
use std::path::PathBuf;

use berth_image::ContainerRootfs;
use berth_shim::ShimClient;

pub(crate) use exec::ExecTable;
pub use exec::{ExecConfig, ExecIo, ExecState, ExecView};
pub use filters::{ContainerFilters, ContainerPruneReport};
pub use health::{Health, HealthCheck, HealthResult};
pub use lifecycle::StopOutcome;
pub(crate) use logs::{FailedStarts, Followers};
pub use logs::{FollowGuard, LogLine, LogOptions, LogStream};
pub use ops::TopView;
pub use record::ContainerRecord;
pub use resources::{StatsSample, UpdateOptions};
pub use restart::Policy as RestartPolicyKind;
pub(crate) use restart::Supervisor;
pub(crate) use wait::RemovedExits;

use crate::{Engine, EngineError, Result};

/// How long a container may read as [`ContainerStatus::Dead`] right after its start was
/// recorded (the shim is being spawned) before waiters and followers believe it.
pub(crate) const START_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// Where a container is in its life, derived from its shim and exit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerStatus {
    /// Created, never started.
    Created,
    /// Its shim runs and the init has not been recorded as exited.
    Running {
        /// The init's pid on the host.
        pid: i32,
        /// Its cgroup is frozen (`docker pause`), as the runtime sees it now.
        paused: bool,
    },
    /// The init exited and the shim recorded it.
    Exited {
        /// The exit code (128 + signal for a signal death).
        code: i32,
        /// When, RFC 3339.
        finished_at: String,
    },
    /// Started, but neither a shim nor an exit record is left (the shim was killed, or the
    /// host rebooted and the exec root was cleared).
    Dead,
}

impl ContainerStatus {
    /// Whether the container's process runs.
    pub fn is_running(&self) -> bool {
        matches!(self, ContainerStatus::Running { .. })
    }
}

/// A container as list and inspect show it.
#[derive(Debug, Clone)]
pub struct ContainerView {
    /// The record.
    pub record: ContainerRecord,
    /// Its status now.
    pub status: ContainerStatus,
    /// Its root file system's directories (`None` if the store has no rootfs for it).
    pub rootfs: Option<ContainerRootfs>,
    /// Waiting out its backoff before a restart by policy (Docker's `restarting`).
    pub restarting: bool,
    /// Its health-check state (`None`: no check, or never started with one).
    pub health: Option<Health>,
    /// For a running port-group member, whether it gets the group's traffic when newest
    /// (see `networks::groups`); `None` otherwise.
    pub ready: Option<bool>,
}

impl Engine {
    pub(crate) fn containers_dir(&self) -> PathBuf {
        self.config.data_root.join("containers")
    }

    pub(crate) fn container_dir(&self, id: &str) -> PathBuf {
        self.containers_dir().join(id)
    }

    pub(crate) fn shim_dir(&self, id: &str) -> PathBuf {
        self.config.exec_root.join("shims").join(id)
    }

    pub(crate) fn runtime_root(&self) -> PathBuf {
        self.config.exec_root.join("runtime")
    }

    /// Every record on disk (unreadable ones are skipped: a crash mid-create leaves a
    /// directory without a record, which `remove` of its id still cleans).
    pub(crate) fn records(&self) -> Result<Vec<ContainerRecord>> {
        let dir = self.containers_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(EngineError::io("reading", &dir, e)),
        };
        let mut out = Vec::new();
        for e in entries.flatten() {
            if let Ok(rec) = record::load(&e.path()) {
                out.push(rec);
            }
        }
        Ok(out)
    }

    /// Finds a container by full id, name (with or without `/`), or unique id prefix.
    pub fn find_container(&self, name_or_id: &str) -> Result<ContainerRecord> {
        let not_found = || EngineError::NoSuchContainer {
            name: name_or_id.to_string(),
        };
        if name_or_id.is_empty() {
            return Err(not_found());
        }
        let all = self.records()?;
        if let Some(r) = all.iter().find(|r| r.id == name_or_id) {
            return Ok(r.clone());
        }
        let name = name_or_id.strip_prefix('/').unwrap_or(name_or_id);
        if let Some(r) = all.iter().find(|r| r.name == name) {
            return Ok(r.clone());
        }
        let mut hits = all.iter().filter(|r| r.id.starts_with(name_or_id));
        match (hits.next(), hits.next()) {
            (Some(r), None) => Ok(r.clone()),
            (Some(_), Some(_)) => Err(EngineError::InvalidArgument(format!(
                "multiple IDs found with provided prefix: {name_or_id}; give more of the id"
            ))),
            _ => Err(not_found()),
        }
    }

    /// The status of `rec`, from its exit record and shim.
    pub fn container_status(&self, rec: &ContainerRecord) -> ContainerStatus {
        let dir = self.shim_dir(&rec.id);
        let exited = || {
            berth_shim::read_exit(&dir)
                .ok()
                .flatten()
                .map(|e| ContainerStatus::Exited {
                    code: e.exit_code,
                    finished_at: e.finished_at,
                })
        };
        if rec.started_at.is_none() {
            return ContainerStatus::Created;
        }
        if let Some(s) = exited() {
            return s;
        }
        match ShimClient::connect(&dir).and_then(|c| c.state()) {
            Ok(st) => ContainerStatus::Running {
                pid: st.pid,
                paused: self.frozen(&rec.id),
            },
            // The shim may have recorded the exit and gone between the two looks.
            Err(_) => exited().unwrap_or(ContainerStatus::Dead),
        }
    }

    /// The status of `rec`, waiting out a start under way (which reads as
    /// [`ContainerStatus::Dead`] for up to [`START_GRACE`]).
    pub(crate) fn settled_status(&self, rec: &ContainerRecord) -> ContainerStatus {
        let deadline = std::time::Instant::now() + START_GRACE;
        loop {
            let s = self.container_status(rec);
            if s != ContainerStatus::Dead || std::time::Instant::now() > deadline {
                return s;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// One container with its status.
    pub fn container(&self, name_or_id: &str) -> Result<ContainerView> {
        let record = self.find_container(name_or_id)?;
        Ok(self.container_view(record))
    }

    fn container_view(&self, record: ContainerRecord) -> ContainerView {
        let status = self.container_status(&record);
        let rootfs = self.store.rootfs(&record.id).ok();
        let health = self.container_health(&record.id);
        let restarting =
            !status.is_running() && !record.manually_stopped && self.is_restarting(&record.id);
        ContainerView {
            ready: self.member_ready(&record.id),
            health,
            restarting,
            record,
            status,
            rootfs,
        }
    }

    /// Containers, newest first; only running ones unless `all`.
    pub fn containers(&self, all: bool) -> Result<Vec<ContainerView>> {
        let mut out: Vec<ContainerView> = self
            .records()?
            .into_iter()
            .map(|r| self.container_view(r))
            .filter(|v| all || v.status.is_running())
            .collect();
        out.sort_by(|a, b| b.record.created.cmp(&a.record.created));
        Ok(out)
    }
}
