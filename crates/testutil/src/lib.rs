//! Fixtures for berth's tests: root checks, busybox bundles, unique names, leak checks, and
//! privately run peers (containerd, dockerd, podman) in [`peers`].
//!
//! A dev-dependency only. Images are built here from Debian's static busybox, never pulled
//! (nothing in berth's tests reaches beyond this machine).

#![warn(missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

pub use tempfile;

pub mod netns;
pub mod peers;
pub mod registry;

/// Returns early from a test that needs root when not root; panics instead when `CI=true`, so
/// CI can never go green by skipping.
#[macro_export]
macro_rules! require_root {
    () => {
        if !$crate::is_root() {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("this test needs root and CI=true: run the tests as root");
            }
            eprintln!("skipped: this test needs root");
            return;
        }
    };
}

/// Whether the effective uid is 0.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A name unique to this process and call: `<prefix>-<pid>-<n>`, for container ids, cgroups, bridges.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Where Debian's busybox-static puts the binary.
pub const BUSYBOX: &str = "/bin/busybox";

/// Builds a minimal rootfs: a copy of static busybox with its applet links, /etc/passwd and
/// /etc/group, and the empty directories a container expects.
pub fn busybox_rootfs(dir: &Path) -> std::io::Result<()> {
    for d in [
        "bin", "etc", "proc", "sys", "dev", "tmp", "root", "sbin", "usr/bin",
    ] {
        std::fs::create_dir_all(dir.join(d))?;
    }
    std::fs::copy(BUSYBOX, dir.join("bin/busybox")).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("copy {BUSYBOX}: {e} (install Debian's busybox-static)"),
        )
    })?;
    let list = std::process::Command::new(BUSYBOX).arg("--list").output()?;
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet != "busybox" {
            let _ = std::os::unix::fs::symlink("busybox", dir.join("bin").join(applet));
        }
    }
    std::fs::write(
        dir.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
    )?;
    std::fs::write(dir.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n")?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.join("tmp"), std::fs::Permissions::from_mode(0o1777))?;
    Ok(())
}

/// An OCI bundle in a temp dir: busybox rootfs plus a config.json that starts as `runc spec`'s
/// default (non-terminal) and is edited as JSON by the test.
#[derive(Debug)]
pub struct Bundle {
    dir: tempfile::TempDir,
    /// The config, written by [`Bundle::write`].
    pub config: serde_json::Value,
}

impl Bundle {
    /// A bundle running `args`.
    pub fn new(args: &[&str]) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("berth-bundle-")
            .tempdir()
            .expect("temp dir");
        // Traversable by the unprivileged ids of a user-namespaced container.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod bundle");
        busybox_rootfs(&dir.path().join("rootfs")).expect("busybox rootfs");
        let mut b = Bundle {
            dir,
            config: default_config(),
        };
        b.config["process"]["args"] = serde_json::json!(args);
        b.write();
        b
    }

    /// The bundle directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The rootfs directory.
    pub fn rootfs(&self) -> PathBuf {
        self.dir.path().join("rootfs")
    }

    /// Writes config.json from [`Bundle::config`].
    pub fn write(&mut self) {
        let data = serde_json::to_vec_pretty(&self.config).expect("config json");
        std::fs::write(self.dir.path().join("config.json"), data).expect("write config.json");
    }

    /// Edits the config and writes it.
    pub fn edit(&mut self, f: impl FnOnce(&mut serde_json::Value)) -> &mut Self {
        f(&mut self.config);
        self.write();
        self
    }
}

/// `runc spec`'s default config, with terminal off and the cgroup namespace on.
pub fn default_config() -> serde_json::Value {
    let caps = serde_json::json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    serde_json::json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "berth",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ],
        "linux": {
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
        }
    })
}

/// Removes the cgroup directory `name` (a top-level parent such as `docker` or `default` that a
/// peer's containers were placed under) from every hierarchy, if it is empty. Call it only for a
/// name that did not exist before the test ([`cgroup_parent_exists`]).
pub fn remove_cgroup_parent(name: &str) {
    // Children first (podman nests `conmon` below its parent); a cgroup with processes stays.
    fn remove_tree(dir: &Path) {
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    remove_tree(&e.path());
                }
            }
        }
        let _ = std::fs::remove_dir(dir);
    }
    let Ok(rd) = std::fs::read_dir("/sys/fs/cgroup") else {
        return;
    };
    for h in rd.flatten() {
        let dir = h.path().join(name);
        if dir.is_dir() {
            remove_tree(&dir);
        }
    }
    remove_tree(&Path::new("/sys/fs/cgroup").join(name));
}

/// Whether a top-level cgroup `name` exists in any hierarchy.
pub fn cgroup_parent_exists(name: &str) -> bool {
    let Ok(rd) = std::fs::read_dir("/sys/fs/cgroup") else {
        return false;
    };
    rd.flatten().any(|h| h.path().join(name).is_dir())
        || Path::new("/sys/fs/cgroup")
            .join(name)
            .join("cgroup.procs")
            .exists()
}

/// Mount points under `needle` in the host's mount table: a test ends by asserting this is empty.
pub fn mounts_containing(needle: &str) -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| m.contains(needle))
        .map(str::to_string)
        .collect()
}

/// Turns the image store's automatic collection off for a test's data root (before berth or
/// berthd first opens it), unless a policy is already there.
///
/// The default policy keeps 10 % of the file system free by evicting dangling images and the
/// build cache. The temp dirs of tests share the host's disk, so on a disk more than 90 % full
/// that policy would evict the very images and cache entries a test is checking: a test's
/// outcome must not depend on how full the machine's disk is. Tests of the policy itself set
/// theirs explicitly (`berth system gc`).
pub fn pin_gc_policy(data_root: &Path) {
    std::fs::create_dir_all(data_root).expect("create the data root");
    let file = data_root.join("gc-policy.json");
    if !file.exists() {
        std::fs::write(&file, r#"{"min_free_percent":0}"#).expect("write gc-policy.json");
    }
}
