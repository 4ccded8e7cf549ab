//! Host facts for `/info` and `/version`, and disk usage for `system df`.
//!
//! Facts are read from the kernel's interfaces (`/proc`, `statfs` of `/sys/fs/cgroup`,
//! uname's host name) each time they are asked for: they are cheap and may change.

use std::path::Path;

use berth_image::model::Platform;
use berth_image::DiskUsage;
use sha2::{Digest as _, Sha256};

use crate::{Engine, ImageFilters, ImageView, Result};

/// What `/info` and `/version` report about the host and the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostInfo {
    /// A stable id of this daemon: derived from its data root.
    pub id: String,
    /// Images in the store.
    pub images: u64,
    /// `PRETTY_NAME` of `/etc/os-release`.
    pub operating_system: String,
    /// The kernel release.
    pub kernel_version: String,
    /// uname's machine (`x86_64`).
    pub machine: String,
    /// The OCI architecture (`amd64`).
    pub architecture: String,
    /// CPUs available to the daemon.
    pub ncpu: u64,
    /// Bytes of memory.
    pub mem_total: u64,
    /// `1` or `2`: whether `/sys/fs/cgroup` is a cgroup2 mount.
    pub cgroup_version: String,
    /// The host name.
    pub hostname: String,
    /// The data root.
    pub data_root: String,
}

/// Disk usage with the images it counts.
#[derive(Debug, Clone)]
pub struct UsageView {
    /// What the store measured.
    pub usage: DiskUsage,
    /// Every image.
    pub images: Vec<ImageView>,
}

fn read_trim(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn os_pretty_name() -> String {
    let text = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_else(|| "Linux".into())
}

fn mem_total() -> u64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn cgroup_version() -> String {
    let v2 = nix::sys::statfs::statfs("/sys/fs/cgroup")
        .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC);
    if v2 { "2" } else { "1" }.into()
}

fn daemon_id(root: &Path) -> String {
    let h = Sha256::digest(root.as_os_str().as_encoded_bytes());
    h.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

impl Engine {
    /// Host and daemon facts.
    pub fn host_info(&self) -> Result<HostInfo> {
        let root = &self.config.data_root;
        Ok(HostInfo {
            id: daemon_id(root),
            images: self.store.list()?.len() as u64,
            operating_system: os_pretty_name(),
            kernel_version: read_trim("/proc/sys/kernel/osrelease"),
            machine: std::env::consts::ARCH.to_string(),
            architecture: Platform::host().architecture,
            ncpu: std::thread::available_parallelism().map_or(1, |n| n.get() as u64),
            mem_total: mem_total(),
            cgroup_version: cgroup_version(),
            hostname: nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
                .unwrap_or_default(),
            data_root: root.display().to_string(),
        })
    }

    /// `docker system df`.
    pub fn disk_usage(&self) -> Result<UsageView> {
        Ok(UsageView {
            usage: self.store.disk_usage()?,
            images: self.images(&ImageFilters::default())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_facts_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let e = Engine::open(crate::EngineConfig::new(dir.path())).unwrap();
        let i = e.host_info().unwrap();
        assert!(i.ncpu >= 1);
        assert!(i.mem_total > 0);
        assert!(i.cgroup_version == "1" || i.cgroup_version == "2");
        assert_eq!(i.id.len(), 32);
    }
}
