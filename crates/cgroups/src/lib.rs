//! cgroup management for berth: create a container's cgroup, apply OCI resource limits, move
//! processes in, freeze, kill, report usage, remove.
//!
//! Why a crate of its own: cgroups are one kernel subsystem with two incompatible interfaces
//! (v1: a tree per controller; v2: one tree), three host layouts (legacy, hybrid, unified) and
//! many small rules about write order and units. The runtime should say "limit memory to 64
//! MiB" once; this crate knows which file, which unit and which order, on whatever the host is.
//!
//! Shape (after youki's libcgroups): a [`CgroupManager`] trait, a [`V1Manager`] (used for legacy
//! *and* hybrid hosts), a [`V2Manager`], and [`AnyCgroupManager`] picking one after
//! [`detect_setup`]. Managers take every root path as a parameter, so the unit tests run them
//! against scratch directories that imitate cgroupfs; `tests/it` runs them against the kernel.
//!
//! Every manager turns resources into a list of planned writes before writing, so the mapping
//! and its order are testable without a kernel. Errors carry the file, the value and the errno,
//! and say how to fix the problem (see [`CgroupError`]).
//!
//! Not implemented: the systemd cgroup driver (`slice:prefix:name` paths are refused with
//! [`berth_types::ErrorKind::NotImplemented`]).

#![warn(missing_docs)]

mod convert;
mod detect;
mod devices;
mod error;
mod files;
mod stats;
mod v1;
mod v2;

use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;

pub use convert::{blkio_weight_to_io_weight, shares_to_weight};
pub use detect::{
    detect_setup, detect_setup_at, hierarchies, parse_mountinfo, CgroupSetup, Hierarchy,
    HierarchyKind, OwnCgroups, DEFAULT_ROOT,
};
pub use error::CgroupError;
pub use stats::{CpuStats, IoDeviceStats, IoStats, MemoryStats, PidsStats, Stats};
pub use v1::V1Manager;
pub use v2::{attached_device_programs, V2Manager};

/// What the runtime does with a container's cgroup, whatever the cgroup version.
pub trait CgroupManager {
    /// Creates the cgroup (`mkdir -p` in every hierarchy). v1: empty `cpuset.cpus`/`mems` are
    /// copied from the parent. v2: every controller available to the ancestors is enabled in
    /// their `cgroup.subtree_control`.
    fn create(&self) -> Result<(), CgroupError>;
    /// Applies OCI resource limits. A setting for a controller that is absent is an error
    /// naming it; controllers with no setting are not touched.
    fn apply(&self, r: &LinuxResources) -> Result<(), CgroupError>;
    /// Moves a process (all its threads) into the cgroup, in every hierarchy.
    fn add_task(&self, pid: i32) -> Result<(), CgroupError>;
    /// Freezes every process in the cgroup and waits until the kernel reports it frozen.
    fn freeze(&self) -> Result<(), CgroupError>;
    /// Thaws the cgroup and waits until the kernel reports it thawed.
    fn thaw(&self) -> Result<(), CgroupError>;
    /// The processes in the cgroup and in the cgroups below it, sorted.
    fn pids(&self) -> Result<Vec<i32>, CgroupError>;
    /// Current usage and limits; figures of absent controllers are left at zero.
    fn stats(&self) -> Result<Stats, CgroupError>;
    /// How many processes of the cgroup the OOM killer has killed.
    fn oom_kill_count(&self) -> Result<u64, CgroupError>;
    /// Sends `signal` to every process of the cgroup (v2 with SIGKILL: `cgroup.kill`).
    fn kill_all(&self, signal: i32) -> Result<(), CgroupError>;
    /// Removes the cgroup (and any below it) in every hierarchy; missing ones are fine. Fails
    /// with EBUSY if processes remain after a short wait.
    fn remove(&self) -> Result<(), CgroupError>;
    /// The cgroup path from the hierarchy roots, e.g. `/berth/abc`.
    fn path(&self) -> &Path;
}

/// The manager suited to the host, chosen at run time.
#[derive(Debug, Clone)]
pub enum AnyCgroupManager {
    /// Legacy and hybrid hosts.
    V1(V1Manager),
    /// Unified hosts.
    V2(V2Manager),
}

impl AnyCgroupManager {
    /// The hierarchies this manager writes to (what a container's `cgroup` mount shows), so
    /// callers need not parse mountinfo a second time.
    pub fn hierarchies(&self) -> Vec<Hierarchy> {
        match self {
            AnyCgroupManager::V1(m) => m.dirs().map(|(h, _)| h.clone()).collect(),
            AnyCgroupManager::V2(m) => vec![Hierarchy {
                mountpoint: m.mount().to_path_buf(),
                kind: HierarchyKind::V2,
            }],
        }
    }

    /// The manager for a container on this host.
    ///
    /// `cgroups_path` is the OCI `linux.cgroupsPath`: absolute means from the hierarchy roots;
    /// relative means below this process's own cgroup (per `/proc/self/cgroup`, per hierarchy
    /// on v1); `None` or empty means `/berth/<container_id>`. The systemd form
    /// `slice:prefix:name` is refused as not implemented.
    pub fn for_container(
        cgroups_path: Option<&Path>,
        container_id: &str,
    ) -> Result<Self, CgroupError> {
        let setup = detect_setup()?;
        let own = match cgroups_path {
            Some(p) if p.is_relative() && !p.as_os_str().is_empty() => OwnCgroups::of_self()?,
            _ => OwnCgroups::default(),
        };
        Self::resolve(setup, hierarchies()?, &own, cgroups_path, container_id)
    }

    /// [`Self::for_container`] from what it detects: the layout, the mounted hierarchies and
    /// this process's own cgroups.
    pub fn resolve(
        setup: CgroupSetup,
        hierarchies: Vec<Hierarchy>,
        own: &OwnCgroups,
        cgroups_path: Option<&Path>,
        container_id: &str,
    ) -> Result<Self, CgroupError> {
        let path = match cgroups_path.filter(|p| !p.as_os_str().is_empty()) {
            Some(p) => p.to_path_buf(),
            None => {
                berth_types::validate_container_id(container_id)
                    .map_err(|e| CgroupError::InvalidArgument(e.to_string()))?;
                PathBuf::from("/berth").join(container_id)
            }
        };
        let text = path.to_string_lossy();
        if !text.starts_with('/') && text.matches(':').count() == 2 {
            return Err(CgroupError::Unsupported(format!(
                "cgroupsPath {text:?} is in the systemd form slice:prefix:name, which needs the \
                 systemd cgroup driver; berth only has the cgroupfs driver: give a path such as \
                 /berth/{container_id}"
            )));
        }
        files::check_cgroup_path(&path)?;
        let relative = path.is_relative();
        match setup {
            CgroupSetup::Unified => {
                let mount = hierarchies
                    .iter()
                    .find(|h| h.kind == HierarchyKind::V2)
                    .map(|h| h.mountpoint.clone())
                    .ok_or_else(|| CgroupError::NoCgroupFs {
                        path: PathBuf::from(DEFAULT_ROOT),
                        why: "the host is cgroup v2 but mountinfo lists no cgroup2 mount".into(),
                    })?;
                let path = if relative {
                    own.v2
                        .clone()
                        .unwrap_or_else(|| PathBuf::from("/"))
                        .join(&path)
                } else {
                    path
                };
                Ok(Self::V2(V2Manager::with_root(&mount, &path)))
            }
            CgroupSetup::Legacy | CgroupSetup::Hybrid => {
                let v1: Vec<Hierarchy> = hierarchies
                    .into_iter()
                    .filter(|h| h.kind != HierarchyKind::V2)
                    .collect();
                if v1.is_empty() {
                    return Err(CgroupError::NoCgroupFs {
                        path: PathBuf::from(DEFAULT_ROOT),
                        why: "mountinfo lists no cgroup v1 hierarchy".into(),
                    });
                }
                if !relative {
                    return Ok(Self::V1(V1Manager::with_hierarchies(v1, &path)));
                }
                let mut resolved_path = None;
                let dirs = v1
                    .into_iter()
                    .map(|h| {
                        let controllers = match &h.kind {
                            HierarchyKind::V1 { controllers } => controllers.as_slice(),
                            HierarchyKind::V2 => &[],
                        };
                        let base = own.v1_path(controllers).unwrap_or(Path::new("/"));
                        let full = base.join(&path);
                        let dir = files::join_cgroup(&h.mountpoint, &full);
                        resolved_path.get_or_insert(full);
                        (h, dir)
                    })
                    .collect();
                let resolved = resolved_path.unwrap_or(path);
                Ok(Self::V1(V1Manager::with_dirs(dirs, &resolved)))
            }
        }
    }
}

macro_rules! dispatch {
    ($self:ident, $m:ident => $e:expr) => {
        match $self {
            AnyCgroupManager::V1($m) => $e,
            AnyCgroupManager::V2($m) => $e,
        }
    };
}

impl CgroupManager for AnyCgroupManager {
    fn create(&self) -> Result<(), CgroupError> {
        dispatch!(self, m => m.create())
    }
    fn apply(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        dispatch!(self, m => m.apply(r))
    }
    fn add_task(&self, pid: i32) -> Result<(), CgroupError> {
        dispatch!(self, m => m.add_task(pid))
    }
    fn freeze(&self) -> Result<(), CgroupError> {
        dispatch!(self, m => m.freeze())
    }
    fn thaw(&self) -> Result<(), CgroupError> {
        dispatch!(self, m => m.thaw())
    }
    fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        dispatch!(self, m => m.pids())
    }
    fn stats(&self) -> Result<Stats, CgroupError> {
        dispatch!(self, m => m.stats())
    }
    fn oom_kill_count(&self) -> Result<u64, CgroupError> {
        dispatch!(self, m => m.oom_kill_count())
    }
    fn kill_all(&self, signal: i32) -> Result<(), CgroupError> {
        dispatch!(self, m => m.kill_all(signal))
    }
    fn remove(&self) -> Result<(), CgroupError> {
        dispatch!(self, m => m.remove())
    }
    fn path(&self) -> &Path {
        dispatch!(self, m => m.path())
    }
}

#[cfg(test)]
mod tests;
