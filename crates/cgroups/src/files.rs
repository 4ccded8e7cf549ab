//! Reading and writing cgroupfs files, shared by the v1 and v2 managers.
//!
//! Why a module: cgroupfs has rules a plain file does not — a control file must never be
//! created (a missing file means a missing controller, and creating it in a scratch directory
//! would hide that), each value must go in one `write(2)`, and `rmdir` of a cgroup can fail with
//! EBUSY for a moment after its last process exits. Those rules live here, once.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::CgroupError;

/// One planned write: `value` into `file` of `controller`'s cgroup directory.
///
/// Managers turn OCI resources into a list of these first and execute it second, so that the
/// mapping (and its order) can be checked without a kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Write {
    /// The controller that owns the file (`cgroup` for core files on v2).
    pub controller: String,
    /// The file name, e.g. `memory.limit_in_bytes`.
    pub file: String,
    /// The exact bytes to write.
    pub value: String,
}

impl Write {
    /// `cpuset.cpus` and `cpuset.mems`: the same files with the same values on v1 and v2.
    pub(crate) fn cpuset(cpu: &oci_spec::runtime::LinuxCpu, w: &mut Vec<Write>) {
        for (file, value) in [("cpuset.cpus", cpu.cpus()), ("cpuset.mems", cpu.mems())] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                w.push(Write::new("cpuset", file, v));
            }
        }
    }

    pub(crate) fn new(controller: &str, file: impl Into<String>, value: impl ToString) -> Self {
        Self {
            controller: controller.to_string(),
            file: file.into(),
            value: value.to_string(),
        }
    }
}

/// Writes `value` to an existing file in one `write(2)`; never creates the file.
pub(crate) fn write_file(path: &Path, value: &str) -> Result<(), CgroupError> {
    let result = fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .and_then(|mut f| f.write_all(value.as_bytes()));
    result.map_err(|e| CgroupError::write(path, value, e))
}

/// Reads a whole file as text.
pub(crate) fn read_string(path: &Path) -> Result<String, CgroupError> {
    fs::read_to_string(path).map_err(|e| CgroupError::read(path, e))
}

/// Reads a file holding one unsigned number; `max` (v2's "no limit") is `None`.
pub(crate) fn read_u64_or_max(path: &Path) -> Result<Option<u64>, CgroupError> {
    let text = read_string(path)?;
    let t = text.trim();
    if t == "max" {
        return Ok(None);
    }
    t.parse()
        .map(Some)
        .map_err(|_| CgroupError::parse(path, &text, "expected a number or \"max\""))
}

/// Reads a file holding one unsigned number.
pub(crate) fn read_u64(path: &Path) -> Result<u64, CgroupError> {
    read_u64_or_max(path)?.ok_or_else(|| CgroupError::parse(path, "max", "expected a number"))
}

/// Reads a file holding one signed number (v1 limits may read `-1`).
pub(crate) fn read_i64(path: &Path) -> Result<i64, CgroupError> {
    let text = read_string(path)?;
    text.trim()
        .parse()
        .map_err(|_| CgroupError::parse(path, &text, "expected a number"))
}

/// Reads a file if it exists; `None` when it does not.
pub(crate) fn read_optional(path: &Path) -> Result<Option<String>, CgroupError> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CgroupError::read(path, e)),
    }
}

/// `mkdir -p`, returning the directories it created, outermost first.
pub(crate) fn create_dir_all(dir: &Path) -> Result<Vec<PathBuf>, CgroupError> {
    let mut missing = Vec::new();
    let mut cur = Some(dir);
    while let Some(d) = cur {
        if d.is_dir() {
            break;
        }
        missing.push(d.to_path_buf());
        cur = d.parent();
    }
    missing.reverse();
    for d in &missing {
        match fs::create_dir(d) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(CgroupError::Dir {
                    op: "mkdir",
                    path: d.clone(),
                    source: e,
                    hint: "is the hierarchy mounted read-write and are we root?",
                })
            }
        }
    }
    Ok(missing)
}

/// Removes a cgroup and every cgroup below it, innermost first.
///
/// A missing directory is success. EBUSY (processes still exiting) is retried for about a
/// second before it is reported.
pub(crate) fn remove_cgroup(dir: &Path) -> Result<(), CgroupError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(CgroupError::Dir {
                op: "read_dir",
                path: dir.to_path_buf(),
                source: e,
                hint: "cannot list the cgroup's children",
            })
        }
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_cgroup(&entry.path())?;
        }
    }
    let deadline = Instant::now() + Duration::from_millis(1000);
    let mut delay = Duration::from_millis(5);
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_millis(100));
            }
            Err(e) => {
                let hint = if e.raw_os_error() == Some(libc::EBUSY) {
                    "the cgroup still has processes: kill them (kill_all) and wait for them to exit"
                } else {
                    "removing the cgroup directory failed"
                };
                return Err(CgroupError::Dir {
                    op: "rmdir",
                    path: dir.to_path_buf(),
                    source: e,
                    hint,
                });
            }
        }
    }
}

/// Parses the pids of a `cgroup.procs` file.
pub(crate) fn parse_pids(path: &Path, text: &str) -> Result<Vec<i32>, CgroupError> {
    text.split_whitespace()
        .map(|t| {
            t.parse()
                .map_err(|_| CgroupError::parse(path, text, "expected one pid per line"))
        })
        .collect()
}

/// The pids in `dir`'s `cgroup.procs` and in every cgroup below it.
pub(crate) fn pids_recursive(dir: &Path) -> Result<Vec<i32>, CgroupError> {
    let mut pids = Vec::new();
    collect_pids(dir, &mut pids)?;
    pids.sort_unstable();
    pids.dedup();
    Ok(pids)
}

fn collect_pids(dir: &Path, out: &mut Vec<i32>) -> Result<(), CgroupError> {
    let procs = dir.join("cgroup.procs");
    out.extend(parse_pids(&procs, &read_string(&procs)?)?);
    let entries = fs::read_dir(dir).map_err(|e| CgroupError::Dir {
        op: "read_dir",
        path: dir.to_path_buf(),
        source: e,
        hint: "cannot list the cgroup's children",
    })?;
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            collect_pids(&entry.path(), out)?;
        }
    }
    Ok(())
}

/// Sends `signal` to every pid; a pid that is already gone is not an error.
pub(crate) fn signal_pids(pids: &[i32], signal: i32) -> Result<(), CgroupError> {
    let sig = Signal::try_from(signal).map_err(|_| {
        CgroupError::InvalidArgument(format!("{signal} is not a valid signal number"))
    })?;
    for &pid in pids {
        match kill(Pid::from_raw(pid), sig) {
            Ok(()) | Err(Errno::ESRCH) => {}
            Err(errno) => return Err(CgroupError::Signal { pid, signal, errno }),
        }
    }
    Ok(())
}

/// Polls `check` until it returns true or `timeout` passes; true when it succeeded.
pub(crate) fn wait_until(
    timeout: Duration,
    mut check: impl FnMut(u32) -> Result<bool, CgroupError>,
) -> Result<bool, CgroupError> {
    let deadline = Instant::now() + timeout;
    let mut delay = Duration::from_micros(100);
    let mut attempt = 0;
    loop {
        if check(attempt)? {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(10));
        attempt += 1;
    }
}

/// The directory of the cgroup `path` (absolute from the hierarchy root) under `mount`.
/// Only normal components are used, so `..` cannot climb out of the mount.
pub(crate) fn join_cgroup(mount: &Path, path: &Path) -> PathBuf {
    use std::path::Component;
    let mut dir = mount.to_path_buf();
    dir.extend(
        path.components()
            .filter(|c| matches!(c, Component::Normal(_))),
    );
    dir
}

/// Refuses cgroup paths that could escape the hierarchy (`..`).
pub(crate) fn check_cgroup_path(path: &Path) -> Result<(), CgroupError> {
    use std::path::Component;
    if path.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(CgroupError::InvalidArgument(format!(
            "cgroup path {} contains \"..\": give a path inside the cgroup hierarchy",
            path.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_never_creates_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_file(&dir.path().join("memory.max"), "1").unwrap_err();
        assert_eq!(err.errno(), Some(libc::ENOENT));
        assert!(!dir.path().join("memory.max").exists());
    }

    #[test]
    fn write_replaces_content() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pids.max");
        fs::write(&f, "max\n").unwrap();
        write_file(&f, "12").unwrap();
        assert_eq!(fs::read_to_string(&f).unwrap(), "12");
        assert_eq!(read_u64_or_max(&f).unwrap(), Some(12));
        fs::write(&f, "max\n").unwrap();
        assert_eq!(read_u64_or_max(&f).unwrap(), None);
    }

    #[test]
    fn create_and_remove_nested() {
        let dir = tempfile::tempdir().unwrap();
        let leaf = dir.path().join("a/b/c");
        let made = create_dir_all(&leaf).unwrap();
        assert_eq!(
            made,
            vec![dir.path().join("a"), dir.path().join("a/b"), leaf.clone()]
        );
        assert!(create_dir_all(&leaf).unwrap().is_empty());
        fs::create_dir(leaf.join("child")).unwrap();
        remove_cgroup(&dir.path().join("a/b")).unwrap();
        assert!(!dir.path().join("a/b").exists());
        assert!(dir.path().join("a").exists());
        remove_cgroup(&dir.path().join("a/b")).unwrap();
    }

    #[test]
    fn pids_of_a_tree() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("cgroup.procs"), "3\n1\n").unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        fs::write(dir.path().join("sub/cgroup.procs"), "2\n3\n").unwrap();
        assert_eq!(pids_recursive(dir.path()).unwrap(), vec![1, 2, 3]);
        fs::write(dir.path().join("cgroup.procs"), "x\n").unwrap();
        assert!(matches!(
            pids_recursive(dir.path()),
            Err(CgroupError::Parse { .. })
        ));
    }

    #[test]
    fn cgroup_paths() {
        assert_eq!(
            join_cgroup(Path::new("/m"), Path::new("/berth/a")),
            Path::new("/m/berth/a")
        );
        assert_eq!(
            join_cgroup(Path::new("/m"), Path::new("/")),
            Path::new("/m")
        );
        assert!(check_cgroup_path(Path::new("/berth/../x")).is_err());
        assert!(check_cgroup_path(Path::new("/berth/x")).is_ok());
    }
}
