//! The one error type of this crate.
//!
//! Why so much detail in each variant: a cgroup write that fails tells the kernel's side of the
//! story in a single errno, and "EINVAL" alone sends an operator hunting. Every variant keeps the
//! file it touched, the value it wrote and the errno, and its message adds the likely cause and
//! the fix, so that the error printed by a CLI is enough to act on.

use std::io;
use std::path::{Path, PathBuf};

use berth_types::ErrorKind;
use nix::errno::Errno;

/// What went wrong while managing a cgroup.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// Writing a value to a control file failed.
    #[error("{hint}: writing {}={value:?} in {} failed with {}", file_name(.path), parent(.path), errno_text(.source))]
    Write {
        /// The control file.
        path: PathBuf,
        /// The value written.
        value: String,
        /// The I/O error, errno included.
        source: io::Error,
        /// The likely cause and the fix.
        hint: String,
    },
    /// Reading a control file failed.
    #[error("reading {} failed with {}{}", .path.display(), errno_text(.source), missing_hint(.source))]
    Read {
        /// The file read.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// A control file held something this crate cannot parse.
    #[error("cannot parse {}: {why} (content {content:?}); the kernel's format may have changed", .path.display())]
    Parse {
        /// The file read.
        path: PathBuf,
        /// What was read (possibly truncated).
        content: String,
        /// What was expected.
        why: String,
    },
    /// Creating or removing a cgroup directory, or listing one, failed.
    #[error("{op} {} failed with {}: {hint}", .path.display(), errno_text(.source))]
    Dir {
        /// `mkdir`, `rmdir` or `read_dir`.
        op: &'static str,
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
        /// The likely cause and the fix.
        hint: &'static str,
    },
    /// A value was requested for a controller that this host does not provide.
    #[error("{what} needs the {controller} cgroup controller, which is {where_}: mount or enable it, or drop the setting")]
    ControllerMissing {
        /// The controller, e.g. `memory`.
        controller: String,
        /// The setting that needs it, e.g. `memory limit`.
        what: String,
        /// Where it was looked for (e.g. "not mounted as a cgroup v1 hierarchy").
        where_: String,
    },
    /// The setting or operation is not available on this host or in this cgroup version.
    #[error("{0}")]
    Unsupported(String),
    /// The caller asked for something malformed or out of range.
    #[error("{0}")]
    InvalidArgument(String),
    /// The kernel did not reach the requested state in time.
    #[error("{what} in {} did not complete within {waited_ms} ms; a process may be stuck in an uninterruptible sleep (state D): retry, or check /proc/<pid>/stack", .path.display())]
    Timeout {
        /// What was waited for, e.g. "freezing".
        what: &'static str,
        /// The cgroup directory.
        path: PathBuf,
        /// How long we waited.
        waited_ms: u64,
    },
    /// No cgroup filesystem was found where one was expected.
    #[error("no cgroup filesystem at {}: {why}", .path.display())]
    NoCgroupFs {
        /// The path examined.
        path: PathBuf,
        /// What was found instead.
        why: String,
    },
    /// Sending a signal to a process of the cgroup failed.
    #[error("sending signal {signal} to pid {pid} failed with {errno:?} ({})", .errno.desc())]
    Signal {
        /// The target.
        pid: i32,
        /// The signal number.
        signal: i32,
        /// The errno.
        errno: Errno,
    },
    /// A `bpf(2)` call for the device filter failed.
    #[error("bpf({op}) for the device filter of {} failed with {errno:?} ({}){}", .path.display(), .errno.desc(), log_suffix(.log))]
    Bpf {
        /// The bpf command, e.g. `BPF_PROG_LOAD`.
        op: &'static str,
        /// The cgroup directory.
        path: PathBuf,
        /// The errno.
        errno: Errno,
        /// The verifier log, when there is one.
        log: String,
    },
}

impl CgroupError {
    /// The class of the failure, for mapping to HTTP statuses and exit codes.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Write { source, .. } => match source.raw_os_error().map(Errno::from_raw) {
                Some(Errno::ENOENT | Errno::ESRCH) => ErrorKind::NotFound,
                Some(Errno::EINVAL | Errno::EBUSY | Errno::ERANGE | Errno::ENOSPC) => {
                    ErrorKind::InvalidArgument
                }
                Some(Errno::EOPNOTSUPP) => ErrorKind::NotImplemented,
                Some(Errno::EPERM | Errno::EACCES | Errno::EROFS) => ErrorKind::Unavailable,
                _ => ErrorKind::Internal,
            },
            Self::Read { source, .. } | Self::Dir { source, .. } => {
                if source.kind() == io::ErrorKind::NotFound {
                    ErrorKind::NotFound
                } else {
                    ErrorKind::Internal
                }
            }
            Self::Parse { .. } => ErrorKind::Internal,
            Self::ControllerMissing { .. } | Self::Unsupported(_) | Self::NoCgroupFs { .. } => {
                ErrorKind::NotImplemented
            }
            Self::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Self::Timeout { .. } => ErrorKind::Unavailable,
            Self::Signal { errno, .. } => match errno {
                Errno::ESRCH => ErrorKind::NotFound,
                _ => ErrorKind::Internal,
            },
            Self::Bpf { errno, .. } => match errno {
                Errno::EINVAL | Errno::E2BIG => ErrorKind::InvalidArgument,
                Errno::EPERM => ErrorKind::Unavailable,
                _ => ErrorKind::Internal,
            },
        }
    }

    /// The errno behind the failure, when the kernel gave one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Self::Write { source, .. } | Self::Read { source, .. } | Self::Dir { source, .. } => {
                source.raw_os_error()
            }
            Self::Signal { errno, .. } | Self::Bpf { errno, .. } => Some(*errno as i32),
            _ => None,
        }
    }

    /// A write error with a hint derived from the file, the value and the errno.
    pub(crate) fn write(path: &Path, value: &str, source: io::Error) -> Self {
        let hint = write_hint(path, value, source.raw_os_error().map(Errno::from_raw));
        Self::Write {
            path: path.to_path_buf(),
            value: value.to_string(),
            source,
            hint,
        }
    }

    pub(crate) fn read(path: &Path, source: io::Error) -> Self {
        Self::Read {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn parse(path: &Path, content: &str, why: impl Into<String>) -> Self {
        let mut content = content.to_string();
        if content.len() > 200 {
            let mut end = 200;
            while !content.is_char_boundary(end) {
                end -= 1;
            }
            content.truncate(end);
        }
        Self::Parse {
            path: path.to_path_buf(),
            content,
            why: why.into(),
        }
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn parent(path: &Path) -> String {
    path.parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

fn errno_text(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => {
            let errno = Errno::from_raw(code);
            format!("{errno:?} ({})", errno.desc())
        }
        None => e.to_string(),
    }
}

fn missing_hint(e: &io::Error) -> &'static str {
    if e.kind() == io::ErrorKind::NotFound {
        ": the cgroup or its controller file does not exist (was the cgroup created, is the controller enabled?)"
    } else {
        ""
    }
}

fn log_suffix(log: &str) -> String {
    if log.is_empty() {
        String::new()
    } else {
        format!("; verifier log:\n{log}")
    }
}

/// The likely cause of a failed write, from what was written where and the errno.
fn write_hint(path: &Path, value: &str, errno: Option<Errno>) -> String {
    let name = file_name(path);
    let name = name.as_str();
    match (name, errno) {
        (_, Some(Errno::ENOENT)) => {
            if path.parent().is_some_and(|d| !d.exists()) {
                "the cgroup does not exist: create it before writing to it".to_string()
            } else {
                format!("this kernel does not provide {name} (controller not enabled or feature compiled out): drop the setting")
            }
        }
        (_, Some(Errno::EACCES | Errno::EPERM | Errno::EROFS)) => {
            "permission denied: run as root, or delegate the cgroup to this user".to_string()
        }
        (
            "memory.limit_in_bytes" | "memory.max" | "memory.memsw.limit_in_bytes",
            Some(Errno::EBUSY | Errno::EINVAL),
        ) => format!(
            "memory limit {value} is below the current usage or the kernel's minimum, or breaks \
             memory.memsw.limit_in_bytes >= memory.limit_in_bytes: raise the limit"
        ),
        ("cpuset.cpus" | "cpuset.mems", Some(Errno::EINVAL | Errno::ENOSPC)) => format!(
            "{value:?} is not a subset of the parent cgroup's {name}, or names an offline CPU or \
             node: use a value inside the parent's set"
        ),
        ("cgroup.procs" | "tasks", Some(Errno::ESRCH)) => {
            format!("process {value} does not exist (it may have exited already)")
        }
        ("cgroup.procs", Some(Errno::ENOSPC)) => {
            "the cgroup's cpuset.cpus or cpuset.mems is empty: set them before adding tasks"
                .to_string()
        }
        ("cgroup.procs", Some(Errno::EOPNOTSUPP | Errno::EBUSY)) => {
            "cgroup v2 forbids processes in a cgroup whose children have controllers enabled \
             (no internal processes): put the process in a leaf cgroup"
                .to_string()
        }
        ("cgroup.subtree_control", Some(Errno::EBUSY)) => {
            "the cgroup has processes of its own, so controllers cannot be enabled for its \
             children (no internal processes): move the processes to a leaf cgroup"
                .to_string()
        }
        ("cgroup.subtree_control", Some(Errno::EINVAL)) => {
            "the controller is not available in this cgroup's parent".to_string()
        }
        (n, Some(Errno::EINVAL)) if n.starts_with("cpu.") => format!(
            "the kernel refused CPU setting {value:?}: quota/period must be 1000..=1000000 µs, \
             shares 2..=262144, weight 1..=10000, and realtime runtime must fit the parent's"
        ),
        (_, Some(Errno::EINVAL | Errno::ERANGE)) => {
            format!("the kernel refused {value:?} for {name}: check the value's range and format")
        }
        (_, Some(Errno::EBUSY)) => {
            format!("{name} is busy: the value conflicts with current usage")
        }
        _ => format!("setting {name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_error_names_file_value_errno_and_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("memory.limit_in_bytes");
        let e = CgroupError::write(&path, "4096", io::Error::from_raw_os_error(libc::EBUSY));
        let text = e.to_string();
        assert!(text.starts_with("memory limit 4096 is below"), "{text}");
        assert!(
            text.contains("writing memory.limit_in_bytes=\"4096\" in "),
            "{text}"
        );
        assert!(text.contains("EBUSY"), "{text}");
        assert_eq!(e.errno(), Some(libc::EBUSY));
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn missing_cgroup_is_not_found() {
        let path = Path::new("/nonexistent-berth/x/cgroup.procs");
        let e = CgroupError::write(path, "12", io::Error::from_raw_os_error(libc::ENOENT));
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.to_string().contains("the cgroup does not exist"), "{e}");
    }

    #[test]
    fn kinds_of_non_io_errors() {
        assert_eq!(
            CgroupError::Unsupported("x".into()).kind(),
            ErrorKind::NotImplemented
        );
        assert_eq!(
            CgroupError::InvalidArgument("x".into()).kind(),
            ErrorKind::InvalidArgument
        );
        let e = CgroupError::ControllerMissing {
            controller: "hugetlb".into(),
            what: "hugepage limit".into(),
            where_: "not mounted".into(),
        };
        assert_eq!(e.kind(), ErrorKind::NotImplemented);
        assert!(e.to_string().contains("hugetlb"));
    }
}
