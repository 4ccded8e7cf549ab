//! Small durable-file helpers shared by the store's modules: atomic replace, locks, syncfs.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::ImageError;

type Result<T> = std::result::Result<T, ImageError>;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A name unique within this store's directories: `<pid>-<n>`.
pub(crate) fn unique_name() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Replaces `path` with `bytes` atomically and durably (`berth_fs::write_atomic`).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    berth_fs::write_atomic(path, bytes).map_err(|e| ImageError::io("writing", path, e))
}

/// Removes the temp files of [`write_atomic`] (`.<pid>-<n>.tmp`) in `dir` whose writer
/// process is gone (killed between create and rename).
pub(crate) fn sweep_atomic_temps(dir: &Path) -> Result<()> {
    for p in read_dir_paths(dir)? {
        let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(pid) = name
            .strip_prefix('.')
            .and_then(|n| n.strip_suffix(".tmp"))
            .and_then(|n| n.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            remove_file(&p)?;
        }
    }
    Ok(())
}

/// Removes a file, treating "already gone" as success.
pub(crate) fn remove_file(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(ImageError::io("removing", path, e)),
        _ => Ok(()),
    }
}

/// Removes a directory tree (symlinks inside are removed, never followed), "gone" is success.
pub(crate) fn remove_tree(path: &Path) -> Result<()> {
    match fs::remove_dir_all(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(ImageError::io("removing", path, e)),
        _ => Ok(()),
    }
}

pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| ImageError::io("syncing directory", dir, e))
}

/// How a [`Lock`] is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockMode {
    Shared,
    Exclusive,
}

/// An advisory `flock` on a file, released on drop (and by the kernel if the process dies).
#[derive(Debug)]
pub(crate) struct Lock {
    _file: File,
}

impl Lock {
    /// Blocks until the lock on `path` (created if missing) is held in `mode`.
    ///
    /// A sweeper may unlink a free lock file between our open and our flock; the lock is only
    /// returned once `path` still names the file we locked (else it is opened again).
    pub(crate) fn acquire(path: &Path, mode: LockMode) -> Result<Lock> {
        use std::os::unix::fs::MetadataExt;
        let op = match mode {
            LockMode::Shared => libc::LOCK_SH,
            LockMode::Exclusive => libc::LOCK_EX,
        };
        loop {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)
                .map_err(|e| ImageError::io("opening lock", path, e))?;
            // SAFETY: flock only reads the descriptor, which `file` keeps open.
            if unsafe { libc::flock(file.as_raw_fd(), op) } != 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(ImageError::io("locking", path, e));
            }
            let held = file
                .metadata()
                .map_err(|e| ImageError::io("checking lock", path, e))?;
            match fs::metadata(path) {
                Ok(m) if m.dev() == held.dev() && m.ino() == held.ino() => {
                    return Ok(Lock { _file: file })
                }
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(ImageError::io("checking lock", path, e)),
            }
        }
    }

    /// Takes the lock only if nobody holds a conflicting one.
    pub(crate) fn try_acquire(path: &Path, mode: LockMode) -> Result<Option<Lock>> {
        let file = match OpenOptions::new().read(true).open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ImageError::io("opening lock", path, e)),
        };
        let op = match mode {
            LockMode::Shared => libc::LOCK_SH,
            LockMode::Exclusive => libc::LOCK_EX,
        } | libc::LOCK_NB;
        // SAFETY: as above.
        if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
            Ok(Some(Lock { _file: file }))
        } else {
            Ok(None)
        }
    }
}

/// Seconds since the epoch, now.
pub(crate) fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `dir/<name>` for every entry of `dir` (empty when `dir` does not exist).
pub(crate) fn read_dir_paths(dir: &Path) -> Result<Vec<PathBuf>> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(ImageError::io("reading directory", dir, e)),
    };
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| ImageError::io("reading directory", dir, e))?;
        out.push(entry.path());
    }
    out.sort();
    Ok(out)
}
