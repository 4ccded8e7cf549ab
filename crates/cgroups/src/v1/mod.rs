//! The cgroup v1 manager, used on legacy and hybrid hosts.
//!
//! Why one directory per hierarchy: in v1 each controller (or group of controllers) is its own
//! tree, mounted separately, and a process is placed in each tree independently. Which
//! controllers share a tree differs between hosts (ours mounts `cpu` and `cpuacct` apart), so
//! the manager never assumes a mountpoint: it looks up the hierarchy holding a controller each
//! time it needs one.

mod resources;

use std::path::{Path, PathBuf};
use std::time::Duration;

use oci_spec::runtime::LinuxResources;

use crate::detect::{Hierarchy, HierarchyKind};
use crate::files::{self, join_cgroup, read_optional, read_string, read_u64, write_file};
use crate::stats::{self, CpuStats, IoStats, MemoryStats, PidsStats, Stats};
use crate::{CgroupError, CgroupManager};

/// How long freezing may take before it is reported as stuck.
const FREEZE_TIMEOUT: Duration = Duration::from_secs(5);

/// Manages one cgroup across all v1 hierarchies.
#[derive(Debug, Clone)]
pub struct V1Manager {
    path: PathBuf,
    dirs: Vec<(Hierarchy, PathBuf)>,
}

impl V1Manager {
    /// A manager for the cgroup `path` (from each hierarchy's root) in the given hierarchies.
    ///
    /// v2 entries are ignored, so the output of [`crate::hierarchies`] can be passed as is.
    pub fn with_hierarchies(hierarchies: Vec<Hierarchy>, path: &Path) -> Self {
        let dirs = hierarchies
            .into_iter()
            .filter(|h| matches!(h.kind, HierarchyKind::V1 { .. }))
            .map(|h| {
                let dir = join_cgroup(&h.mountpoint, path);
                (h, dir)
            })
            .collect();
        Self {
            path: path.to_path_buf(),
            dirs,
        }
    }

    /// A manager whose cgroup directory is given per hierarchy (needed when the cgroup path
    /// was relative to a process's own cgroup, which may differ between hierarchies).
    ///
    /// `path` is what [`CgroupManager::path`] reports.
    pub fn with_dirs(dirs: Vec<(Hierarchy, PathBuf)>, path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            dirs,
        }
    }

    /// Each hierarchy and the cgroup's directory in it.
    pub fn dirs(&self) -> impl Iterator<Item = (&Hierarchy, &Path)> {
        self.dirs.iter().map(|(h, d)| (h, d.as_path()))
    }

    /// The cgroup's directory in the hierarchy holding `controller`, if that is mounted.
    pub fn dir(&self, controller: &str) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|(h, _)| h.has_controller(controller))
            .map(|(_, d)| d.as_path())
    }

    /// Like [`Self::dir`], with an error naming the setting that needed the controller.
    fn require(&self, controller: &str, what: &str) -> Result<&Path, CgroupError> {
        self.dir(controller)
            .ok_or_else(|| CgroupError::ControllerMissing {
                controller: controller.to_string(),
                what: what.to_string(),
                where_: "not mounted as a cgroup v1 hierarchy (see /proc/self/mountinfo)"
                    .to_string(),
            })
    }

    fn freezer_state(&self, dir: &Path) -> Result<String, CgroupError> {
        Ok(read_string(&dir.join("freezer.state"))?.trim().to_string())
    }

    /// Fills in an empty `cpuset.cpus`/`cpuset.mems` from the parent, for every level from the
    /// hierarchy root down to `dir`: a v1 cpuset with empty sets refuses tasks (ENOSPC).
    fn fill_cpusets(mount: &Path, dir: &Path) -> Result<(), CgroupError> {
        let Ok(rel) = dir.strip_prefix(mount) else {
            return Ok(());
        };
        let mut parent = mount.to_path_buf();
        for comp in rel.components() {
            let child = parent.join(comp);
            for file in ["cpuset.cpus", "cpuset.mems"] {
                let current = read_string(&child.join(file))?;
                if current.trim().is_empty() {
                    let from_parent = read_string(&parent.join(file))?;
                    write_file(&child.join(file), from_parent.trim())?;
                }
            }
            parent = child;
        }
        Ok(())
    }

    /// The hierarchy whose `cgroup.procs` lists the cgroup's processes.
    fn procs_dir(&self) -> Result<&Path, CgroupError> {
        ["freezer", "pids", "memory", "devices", "cpu"]
            .iter()
            .find_map(|c| self.dir(c))
            .or_else(|| self.dirs.first().map(|(_, d)| d.as_path()))
            .ok_or_else(|| CgroupError::NoCgroupFs {
                path: self.path.clone(),
                why: "no cgroup v1 hierarchy is mounted".to_string(),
            })
    }

    fn memory_stats(dir: &Path) -> Result<MemoryStats, CgroupError> {
        let mut m = MemoryStats {
            usage: read_u64(&dir.join("memory.usage_in_bytes"))?,
            limit: stats::v1_limit(read_u64(&dir.join("memory.limit_in_bytes"))?),
            ..Default::default()
        };
        if let Some(t) = read_optional(&dir.join("memory.max_usage_in_bytes"))? {
            m.max_usage = t.trim().parse().ok();
        }
        if let Some(t) = read_optional(&dir.join("memory.memsw.usage_in_bytes"))? {
            m.swap = t
                .trim()
                .parse::<u64>()
                .ok()
                .map(|sw| sw.saturating_sub(m.usage));
        }
        m.add_memory_stat(&read_string(&dir.join("memory.stat"))?, false);
        Ok(m)
    }

    fn cpuacct_stats(dir: &Path, cpu: &mut CpuStats) -> Result<(), CgroupError> {
        cpu.usage_total = read_u64(&dir.join("cpuacct.usage"))?;
        let user = read_optional(&dir.join("cpuacct.usage_user"))?;
        let sys = read_optional(&dir.join("cpuacct.usage_sys"))?;
        if let (Some(user), Some(sys)) = (user, sys) {
            cpu.usage_user = user.trim().parse().unwrap_or(0);
            cpu.usage_system = sys.trim().parse().unwrap_or(0);
        } else if let Some(text) = read_optional(&dir.join("cpuacct.stat"))? {
            // Older kernels: clock ticks only.
            let ticks = stats::parse_flat_keyed(&text);
            let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
                .ok()
                .flatten()
                .filter(|&hz| hz > 0)
                .unwrap_or(100) as u64;
            let ns = |k: &str| ticks.get(k).copied().unwrap_or(0) * (1_000_000_000 / hz);
            cpu.usage_user = ns("user");
            cpu.usage_system = ns("system");
        }
        if let Some(text) = read_optional(&dir.join("cpuacct.usage_percpu"))? {
            cpu.per_cpu = stats::parse_list(&text);
        }
        Ok(())
    }

    fn io_stats(dir: &Path) -> Result<IoStats, CgroupError> {
        let pick = |name: &str| -> Result<String, CgroupError> {
            match read_optional(&dir.join(format!("{name}_recursive")))? {
                Some(t) => Ok(t),
                None => Ok(read_optional(&dir.join(name))?.unwrap_or_default()),
            }
        };
        Ok(IoStats::from_v1(
            &pick("blkio.throttle.io_service_bytes")?,
            &pick("blkio.throttle.io_serviced")?,
        ))
    }
}

impl CgroupManager for V1Manager {
    fn create(&self) -> Result<(), CgroupError> {
        for (h, dir) in &self.dirs {
            if !h.mountpoint.is_dir() {
                return Err(CgroupError::NoCgroupFs {
                    path: h.mountpoint.clone(),
                    why: "the hierarchy's mountpoint is gone".to_string(),
                });
            }
            files::create_dir_all(dir)?;
            if h.has_controller("cpuset") {
                Self::fill_cpusets(&h.mountpoint, dir)?;
            }
        }
        Ok(())
    }

    fn apply(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        for w in self.plan(r)? {
            let dir = self.require(&w.controller, &w.file)?;
            write_file(&dir.join(&w.file), &w.value)?;
        }
        Ok(())
    }

    fn add_task(&self, pid: i32) -> Result<(), CgroupError> {
        if pid < 0 {
            return Err(CgroupError::InvalidArgument(format!(
                "pid {pid} is negative"
            )));
        }
        for (_, dir) in &self.dirs {
            write_file(&dir.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    fn freeze(&self) -> Result<(), CgroupError> {
        let dir = self.require("freezer", "freezing")?;
        let state = dir.join("freezer.state");
        write_file(&state, "FROZEN")?;
        let done = files::wait_until(FREEZE_TIMEOUT, |attempt| {
            if self.freezer_state(dir)? == "FROZEN" {
                return Ok(true);
            }
            // A task racing with the freezer can leave the cgroup FREEZING; a thaw and a new
            // freeze request gets it unstuck.
            if attempt % 100 == 99 {
                write_file(&state, "THAWED")?;
                write_file(&state, "FROZEN")?;
            }
            Ok(false)
        })?;
        if done {
            return Ok(());
        }
        // Leave the cgroup usable rather than half-frozen.
        let _ = write_file(&state, "THAWED");
        let waited_ms = FREEZE_TIMEOUT.as_millis() as u64;
        Err(CgroupError::Timeout {
            what: "freezing",
            path: dir.to_path_buf(),
            waited_ms,
        })
    }

    fn thaw(&self) -> Result<(), CgroupError> {
        let dir = self.require("freezer", "thawing")?;
        write_file(&dir.join("freezer.state"), "THAWED")?;
        let done = files::wait_until(FREEZE_TIMEOUT, |_| Ok(self.freezer_state(dir)? == "THAWED"))?;
        if done {
            return Ok(());
        }
        let waited_ms = FREEZE_TIMEOUT.as_millis() as u64;
        Err(CgroupError::Timeout {
            what: "thawing",
            path: dir.to_path_buf(),
            waited_ms,
        })
    }

    fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        files::pids_recursive(self.procs_dir()?)
    }

    fn stats(&self) -> Result<Stats, CgroupError> {
        let mut s = Stats::default();
        if let Some(dir) = self.dir("memory") {
            s.memory = Self::memory_stats(dir)?;
        }
        if let Some(dir) = self.dir("cpuacct") {
            Self::cpuacct_stats(dir, &mut s.cpu)?;
        }
        if let Some(dir) = self.dir("cpu") {
            if let Some(text) = read_optional(&dir.join("cpu.stat"))? {
                s.cpu.add_cpu_stat(&text, false);
            }
        }
        if let Some(dir) = self.dir("pids") {
            s.pids = PidsStats {
                current: read_u64(&dir.join("pids.current"))?,
                limit: files::read_u64_or_max(&dir.join("pids.max"))?,
            };
        }
        if let Some(dir) = self.dir("blkio") {
            s.io = Self::io_stats(dir)?;
        }
        Ok(s)
    }

    fn oom_kill_count(&self) -> Result<u64, CgroupError> {
        let dir = self.require("memory", "counting OOM kills")?;
        let path = dir.join("memory.oom_control");
        let text = read_string(&path)?;
        stats::parse_flat_keyed(&text)
            .get("oom_kill")
            .copied()
            .ok_or_else(|| {
                CgroupError::Unsupported(format!(
                    "{} has no oom_kill line (kernel older than 4.13): OOM kills cannot be counted",
                    path.display()
                ))
            })
    }

    fn kill_all(&self, signal: i32) -> Result<(), CgroupError> {
        // Freezing first stops processes from forking new ones between listing and killing.
        let freezer = self.dir("freezer");
        let was_frozen = match freezer {
            Some(dir) => self.freezer_state(dir)? == "FROZEN",
            None => false,
        };
        let froze = freezer.is_some() && !was_frozen && self.freeze().is_ok();
        let result = self
            .pids()
            .and_then(|pids| files::signal_pids(&pids, signal));
        // Frozen v1 tasks do not die until thawed; otherwise restore the state we found.
        if froze || (was_frozen && signal == libc::SIGKILL) {
            self.thaw()?;
        }
        result
    }

    fn remove(&self) -> Result<(), CgroupError> {
        let mut first_err = None;
        for (_, dir) in &self.dirs {
            if let Err(e) = files::remove_cgroup(dir) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests;
