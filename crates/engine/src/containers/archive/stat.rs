//! `HEAD /containers/{id}/archive`: one path's stat in Docker's shape.
//!
//! Why its own file: the shape is the CLI's contract. `docker cp` decides from it whether the
//! source is a directory, a file or a symlink (`mode` is Go's `os.FileMode`, whose type bits
//! differ from Unix's `st_mode`), and follows `linkTarget` with `-L`: so a symlink's target is
//! resolved inside the container root, as the container would see it, never on the host.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::{Path, PathBuf};

use berth_fs::open_in_root;
use nix::sys::stat::{FileStat, SFlag};
use serde::Serialize;

use super::tarwalk::kind;
use super::{clean, find, path_err, split, Root};
use crate::{Engine, Result};

/// Docker's `X-Docker-Container-Path-Stat`: one path in a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathStat {
    /// The last element of the path as asked (`/` for the root).
    pub name: String,
    /// `st_size`.
    pub size: i64,
    /// Go's `os.FileMode`: permission bits plus type and setuid/setgid/sticky flags.
    pub mode: u32,
    /// The modification time, RFC 3339 with nanoseconds.
    pub mtime: String,
    /// For a symlink: the absolute container path it resolves to.
    #[serde(rename = "linkTarget")]
    pub link_target: String,
}

/// Go's `os.FileMode` of a stat.
pub fn go_file_mode(st_mode: u32) -> u32 {
    const DIR: u32 = 1 << 31;
    const SYMLINK: u32 = 1 << 27;
    const DEVICE: u32 = 1 << 26;
    const PIPE: u32 = 1 << 25;
    const SOCKET: u32 = 1 << 24;
    const SETUID: u32 = 1 << 23;
    const SETGID: u32 = 1 << 22;
    const CHAR: u32 = 1 << 21;
    const STICKY: u32 = 1 << 20;
    let mut m = st_mode & 0o777;
    m |= match SFlag::from_bits_truncate(st_mode & SFlag::S_IFMT.bits()) {
        SFlag::S_IFDIR => DIR,
        SFlag::S_IFLNK => SYMLINK,
        SFlag::S_IFBLK => DEVICE,
        SFlag::S_IFCHR => DEVICE | CHAR,
        SFlag::S_IFIFO => PIPE,
        SFlag::S_IFSOCK => SOCKET,
        _ => 0,
    };
    for (bit, flag) in [(0o4000, SETUID), (0o2000, SETGID), (0o1000, STICKY)] {
        if st_mode & bit != 0 {
            m |= flag;
        }
    }
    m
}

/// The absolute container path of an fd opened below `root` (`None` if it cannot be told).
pub(super) fn path_of(root: BorrowedFd<'_>, fd: BorrowedFd<'_>) -> Option<String> {
    let link = |f: BorrowedFd<'_>| std::fs::read_link(format!("/proc/self/fd/{}", f.as_raw_fd()));
    let (r, p): (PathBuf, PathBuf) = (link(root).ok()?, link(fd).ok()?);
    let rel = p.strip_prefix(&r).ok()?;
    Some(format!("/{}", rel.display()))
}

fn rfc3339_nano(st: &FileStat) -> String {
    let t = std::time::UNIX_EPOCH
        + std::time::Duration::new(
            u64::try_from(st.st_mtime).unwrap_or(0),
            u32::try_from(st.st_mtime_nsec).unwrap_or(0),
        );
    berth_shim::time::rfc3339_nano(t)
}

impl Engine {
    /// `HEAD /containers/{id}/archive`: the stat of `path` in the container (a final symlink
    /// is not followed unless the path ends in `/` or `/.`).
    pub fn container_stat_path(&self, name_or_id: &str, path: &str) -> Result<PathStat> {
        let rec = self.find_container(name_or_id)?;
        let root = self.open_root(&rec, true)?;
        stat_in(&root, path, name_or_id)
    }
}

fn stat_in(root: &Root<'_>, path: &str, name: &str) -> Result<PathStat> {
    let (abs, follow) = clean(path);
    let (fd, rel, _) = root.locate(&abs).map_err(|e| path_err(e, path, name))?;
    let f = find(fd.as_fd(), &rel, follow).map_err(|e| path_err(e, path, name))?;
    let link_target = if kind(&f.st) == SFlag::S_IFLNK {
        // The container path it resolves to: below the located root, under the mount
        // destination that root stands for.
        let prefix = abs[..abs.len() - rel.len()].trim_end_matches('/');
        match open_in_root(fd.as_fd(), Path::new(&rel), libc::O_PATH)
            .ok()
            .and_then(|t| path_of(fd.as_fd(), t.as_fd()))
        {
            Some(r) if prefix.is_empty() => r,
            Some(r) => format!("{prefix}{}", r.trim_end_matches('/')),
            None => nix::fcntl::readlinkat(f.dir.as_fd(), f.base.as_deref().unwrap_or("."))
                .map(|t| t.to_string_lossy().into_owned())
                .unwrap_or_default(),
        }
    } else {
        String::new()
    };
    Ok(PathStat {
        name: split(&abs).1.unwrap_or("/").to_string(),
        size: f.st.st_size,
        mode: go_file_mode(f.st.st_mode),
        mtime: rfc3339_nano(&f.st),
        link_target,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_modes() {
        assert_eq!(go_file_mode(0o40755), (1 << 31) | 0o755);
        assert_eq!(go_file_mode(0o120777), (1 << 27) | 0o777);
        assert_eq!(go_file_mode(0o104755), (1 << 23) | 0o755);
        assert_eq!(go_file_mode(0o20666), (1 << 26) | (1 << 21) | 0o666);
        assert_eq!(go_file_mode(0o41777), (1 << 31) | (1 << 20) | 0o777);
    }
}
