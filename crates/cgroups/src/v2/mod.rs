//! The cgroup v2 manager, used on unified hosts (and directly on a hybrid host's cgroup2 mount).
//!
//! Why it differs from v1 beyond file names: v2 is a single tree in which a controller is only
//! usable in a cgroup if every ancestor lists it in `cgroup.subtree_control`, and processes may
//! only live in leaves. So `create` enables controllers down the path, and a missing controller
//! is reported with the ancestor's view of it. Device rules are not files in v2 but an eBPF
//! program attached to the cgroup (see `bpf`).

mod bpf;
mod resources;

use std::path::{Path, PathBuf};
use std::time::Duration;

use oci_spec::runtime::LinuxResources;

use crate::files::{self, join_cgroup, read_optional, read_string, read_u64, write_file};
use crate::stats::{self, IoStats, MemoryStats, PidsStats, Stats};
use crate::{CgroupError, CgroupManager};

pub use bpf::attached_device_programs;

/// How long freezing may take before it is reported as stuck.
const FREEZE_TIMEOUT: Duration = Duration::from_secs(5);

/// Manages one cgroup in a cgroup v2 hierarchy.
#[derive(Debug, Clone)]
pub struct V2Manager {
    mount: PathBuf,
    path: PathBuf,
    dir: PathBuf,
}

impl V2Manager {
    /// The cgroup2 mount this manager works under.
    pub fn mount(&self) -> &Path {
        &self.mount
    }

    /// A manager for the cgroup `path` (from the hierarchy root) of the cgroup2 mount `mount`.
    pub fn with_root(mount: &Path, path: &Path) -> Self {
        Self {
            mount: mount.to_path_buf(),
            path: path.to_path_buf(),
            dir: join_cgroup(mount, path),
        }
    }

    /// The cgroup's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The controllers usable in the cgroup (its `cgroup.controllers`).
    pub fn controllers(&self) -> Result<Vec<String>, CgroupError> {
        let text = read_string(&self.dir.join("cgroup.controllers"))?;
        Ok(text.split_whitespace().map(str::to_string).collect())
    }

    /// Errors unless `controller` is usable in the cgroup; `cgroup` (core files) always is.
    fn require(&self, controller: &str, what: &str) -> Result<(), CgroupError> {
        if controller == "cgroup" {
            return Ok(());
        }
        let available = self.controllers()?;
        if available.iter().any(|c| c == controller) {
            return Ok(());
        }
        Err(CgroupError::ControllerMissing {
            controller: controller.to_string(),
            what: what.to_string(),
            where_: format!(
                "not enabled for {} (its cgroup.controllers lists {:?}; the parent's \
                 cgroup.subtree_control must include it)",
                self.dir.display(),
                available.join(" ")
            ),
        })
    }

    /// The ancestors of the cgroup, from the mount root down to its parent.
    fn ancestors(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = self
            .dir
            .ancestors()
            .skip(1)
            .take_while(|a| a.starts_with(&self.mount))
            .map(Path::to_path_buf)
            .collect();
        out.reverse();
        out
    }

    /// Enables in `dir`'s `cgroup.subtree_control` every controller it has that is not enabled
    /// yet. One write for all first; if the kernel refuses one, each alone, keeping the ones
    /// it accepts (a controller that cannot be enabled is reported later, by `apply`, if and
    /// only if a setting needs it).
    fn enable_controllers(dir: &Path) -> Result<(), CgroupError> {
        let (Some(available), Some(enabled)) = (
            read_optional(&dir.join("cgroup.controllers"))?,
            read_optional(&dir.join("cgroup.subtree_control"))?,
        ) else {
            return Ok(());
        };
        let enabled: Vec<&str> = enabled.split_whitespace().collect();
        let missing: Vec<String> = available
            .split_whitespace()
            .filter(|c| !enabled.contains(c))
            .map(|c| format!("+{c}"))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let file = dir.join("cgroup.subtree_control");
        if write_file(&file, &missing.join(" ")).is_err() {
            for m in &missing {
                let _ = write_file(&file, m);
            }
        }
        Ok(())
    }

    fn events(&self) -> Result<std::collections::BTreeMap<String, u64>, CgroupError> {
        Ok(stats::parse_flat_keyed(&read_string(
            &self.dir.join("cgroup.events"),
        )?))
    }

    fn set_frozen(&self, frozen: bool) -> Result<(), CgroupError> {
        let file = self.dir.join("cgroup.freeze");
        if !file.exists() && self.dir.is_dir() {
            return Err(CgroupError::Unsupported(format!(
                "{} does not exist: the cgroup v2 freezer needs Linux 5.2 and is not available in \
                 the root cgroup",
                file.display()
            )));
        }
        write_file(&file, if frozen { "1" } else { "0" })?;
        let want = u64::from(frozen);
        if files::wait_until(FREEZE_TIMEOUT, |_| {
            Ok(self.events()?.get("frozen") == Some(&want))
        })? {
            return Ok(());
        }
        if frozen {
            let _ = write_file(&file, "0");
        }
        Err(CgroupError::Timeout {
            what: if frozen { "freezing" } else { "thawing" },
            path: self.dir.clone(),
            waited_ms: FREEZE_TIMEOUT.as_millis() as u64,
        })
    }
}

impl CgroupManager for V2Manager {
    fn create(&self) -> Result<(), CgroupError> {
        if !self.mount.is_dir() {
            return Err(CgroupError::NoCgroupFs {
                path: self.mount.clone(),
                why: "the cgroup2 mountpoint does not exist".to_string(),
            });
        }
        files::create_dir_all(&self.dir)?;
        for dir in self.ancestors() {
            Self::enable_controllers(&dir)?;
        }
        Ok(())
    }

    fn apply(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        let plan = self.plan(r)?;
        for w in &plan {
            self.require(&w.controller, &w.file)?;
        }
        for w in plan {
            write_file(&self.dir.join(&w.file), &w.value)?;
        }
        if let Some(devs) = r.devices().as_ref().filter(|d| !d.is_empty()) {
            let rules = crate::devices::rules(devs)?;
            bpf::apply_device_rules(&self.dir, &rules)?;
        }
        Ok(())
    }

    fn add_task(&self, pid: i32) -> Result<(), CgroupError> {
        if pid < 0 {
            return Err(CgroupError::InvalidArgument(format!(
                "pid {pid} is negative"
            )));
        }
        write_file(&self.dir.join("cgroup.procs"), &pid.to_string())
    }

    fn freeze(&self) -> Result<(), CgroupError> {
        self.set_frozen(true)
    }

    fn thaw(&self) -> Result<(), CgroupError> {
        self.set_frozen(false)
    }

    fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        files::pids_recursive(&self.dir)
    }

    fn stats(&self) -> Result<Stats, CgroupError> {
        let d = &self.dir;
        let mut s = Stats::default();
        if let Some(text) = read_optional(&d.join("memory.current"))? {
            let usage = text.trim().parse().map_err(|_| {
                CgroupError::parse(&d.join("memory.current"), &text, "expected a number")
            })?;
            let mut m = MemoryStats {
                usage,
                limit: files::read_u64_or_max(&d.join("memory.max"))?,
                ..Default::default()
            };
            m.max_usage =
                read_optional(&d.join("memory.peak"))?.and_then(|t| t.trim().parse().ok());
            m.swap =
                read_optional(&d.join("memory.swap.current"))?.and_then(|t| t.trim().parse().ok());
            m.add_memory_stat(&read_string(&d.join("memory.stat"))?, true);
            s.memory = m;
        }
        if let Some(text) = read_optional(&d.join("cpu.stat"))? {
            s.cpu.add_cpu_stat(&text, true);
        }
        if d.join("pids.current").exists() {
            s.pids = PidsStats {
                current: read_u64(&d.join("pids.current"))?,
                limit: files::read_u64_or_max(&d.join("pids.max"))?,
            };
        }
        if let Some(text) = read_optional(&d.join("io.stat"))? {
            s.io = IoStats::from_v2(&text);
        }
        Ok(s)
    }

    fn oom_kill_count(&self) -> Result<u64, CgroupError> {
        self.require("memory", "counting OOM kills")?;
        let path = self.dir.join("memory.events");
        Ok(stats::parse_flat_keyed(&read_string(&path)?)
            .get("oom_kill")
            .copied()
            .unwrap_or(0))
    }

    fn kill_all(&self, signal: i32) -> Result<(), CgroupError> {
        let kill_file = self.dir.join("cgroup.kill");
        if signal == libc::SIGKILL && kill_file.exists() {
            return write_file(&kill_file, "1");
        }
        files::signal_pids(&self.pids()?, signal)
    }

    fn remove(&self) -> Result<(), CgroupError> {
        files::remove_cgroup(&self.dir)
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests;
