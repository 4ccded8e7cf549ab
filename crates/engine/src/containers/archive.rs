//! `docker cp` (stat, read and write a path in a container) and `docker export`.
//!
//! Why this is careful: the container's files belong to whoever controls the container. A
//! symlink `/etc/evil -> /../../../etc/shadow` inside it must name the *container's*
//! `/etc/shadow`, never the host's. So no container path is ever joined onto a host path:
//! - the container's `/` is one directory fd ([`Root`]); every lookup below it goes through
//!   `berth_fs::open_in_root` (`RESOLVE_IN_ROOT`: `..` and symlinks clamped to the root,
//!   magic links refused), then `*at` calls with `O_NOFOLLOW` on the fds it returned
//!   (`tarwalk`);
//! - writes go through `berth_fs::unpack_layer` into a destination fd resolved the same way:
//!   `../` names and absolute names are refused, links never lead a write out, device nodes
//!   are refused (a filter in front of it also refuses overlay whiteout names `.wh.*`, applies
//!   `noOverwriteDirNonDir` and `copyUIDGID`).
//!
//! Which root: a running container is read through `/proc/<pid>/root` (checked to be its
//! overlay), i.e. exactly as it sees its files, volumes and binds included. A stopped one has
//! its overlay mounted for the call if it is not (and unmounted after, unless it was started
//! meanwhile); its directory volumes and binds are found by the longest mount destination
//! that prefixes the path (lexically, as a stopped container has no mounts; a symlink in the
//! rootfs that points into a volume resolves to the rootfs's empty mount point, and file
//! binds are not mapped). `docker export` reads the overlay alone, as Docker's does.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use berth_fs::open_in_root;
use nix::sys::stat::{fstat, FileStat, SFlag};

use super::ContainerStatus;
use crate::{ContainerRecord, Engine, EngineError, Result};
use tarwalk::{kind, lstat_at, TarWalker};

mod diff;
mod put;
mod stat;
mod tarwalk;

pub use diff::{Change, ChangeKind, CommitOptions};
pub use put::ExtractOptions;
use stat::path_of;
pub use stat::{go_file_mode, PathStat};

/// Cleans `path` as Go's `filepath.Join("/", path)` does (`..` lexically, never above `/`);
/// also says whether it ended in `/` or `/.` (then a final symlink is followed, as Docker
/// does).
pub(crate) fn clean(path: &str) -> (String, bool) {
    let follow = path.len() > 1 && (path.ends_with('/') || path.ends_with("/."));
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    (format!("/{}", parts.join("/")), follow)
}

/// A container's `/`, open.
pub(crate) struct Root<'e> {
    engine: &'e Engine,
    rec: ContainerRecord,
    fd: OwnedFd,
    /// The fd is `/proc/<pid>/root`: mounts are in it.
    live: bool,
    /// The overlay was mounted for this call.
    unmount: bool,
}

impl Drop for Root<'_> {
    fn drop(&mut self) {
        if self.unmount && !self.engine.container_status(&self.rec).is_running() {
            let _ = self.engine.store.unmount_rootfs(&self.rec.id);
        }
    }
}

fn open_dir(p: &Path) -> io::Result<OwnedFd> {
    Ok(File::open(p)?.into())
}

fn not_found(path: &str, name: &str) -> EngineError {
    EngineError::NotFound(format!(
        "Could not find the file {path} in container {name}"
    ))
}

/// Maps an I/O failure on container path `path` to Docker's answers.
pub(crate) fn path_err(e: io::Error, path: &str, name: &str) -> EngineError {
    match e.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::ENOTDIR) => not_found(path, name),
        _ => EngineError::io("accessing in the container", Path::new(path), e),
    }
}

impl Engine {
    /// Opens the `/` of container `rec`: its live view when it runs and `live` is asked for,
    /// else its overlay (mounted for the call when it is not).
    pub(crate) fn open_root(&self, rec: &ContainerRecord, live: bool) -> Result<Root<'_>> {
        let rootfs = self.store.rootfs(&rec.id)?;
        let merged_meta = std::fs::metadata(&rootfs.merged);
        let parent_dev = rootfs
            .merged
            .parent()
            .and_then(|p| std::fs::metadata(p).ok())
            .map(|m| m.dev());
        let mounted = matches!(&merged_meta, Ok(m) if Some(m.dev()) != parent_dev);
        if let (true, true, ContainerStatus::Running { pid, .. }) =
            (live, mounted, self.container_status(rec))
        {
            // The pid may have been reused since: only the container's overlay is accepted.
            if let (Ok(fd), Ok(m)) = (
                open_dir(Path::new(&format!("/proc/{pid}/root"))),
                &merged_meta,
            ) {
                if fstat(&fd).is_ok_and(|s| s.st_dev == m.dev() && s.st_ino == m.ino()) {
                    return Ok(Root {
                        engine: self,
                        rec: rec.clone(),
                        fd,
                        live: true,
                        unmount: false,
                    });
                }
            }
        }
        if !mounted {
            self.store.mount_rootfs(&rec.id)?;
        }
        let root = Root {
            engine: self,
            rec: rec.clone(),
            fd: open_dir(&rootfs.merged)
                .map_err(|e| EngineError::io("opening", &rootfs.merged, e))?,
            live: false,
            unmount: !mounted,
        };
        Ok(root)
    }
}

impl Root<'_> {
    /// Where container path `abs` (cleaned) lives: the directory fd to resolve in, the path
    /// below it, and whether it may be written.
    pub(crate) fn locate(&self, abs: &str) -> io::Result<(OwnedFd, String, bool)> {
        let rootfs_rw = !self.rec.options.host_config.readonly_rootfs;
        if !self.live {
            let hit = self
                .rec
                .mounts
                .iter()
                .filter(|m| {
                    let d = m.destination.trim_end_matches('/');
                    abs == d || abs.starts_with(&format!("{d}/"))
                })
                .filter(|m| Path::new(&m.source).is_dir())
                .max_by_key(|m| m.destination.trim_end_matches('/').len());
            if let Some(m) = hit {
                let rest = &abs[m.destination.trim_end_matches('/').len()..];
                return Ok((open_dir(Path::new(&m.source))?, rest.to_string(), m.rw));
            }
        }
        // A live root: the kernel knows which mounts are read-only.
        Ok((
            self.fd.try_clone()?,
            abs.to_string(),
            rootfs_rw || self.live,
        ))
    }

    /// The fd of the container's `/`.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Splits `rel` into its parent and last element (`None` for the root).
fn split(rel: &str) -> (&str, Option<&str>) {
    let t = rel.trim_end_matches('/');
    match t.rsplit_once('/') {
        Some((p, b)) if !b.is_empty() => (if p.is_empty() { "/" } else { p }, Some(b)),
        _ if t.is_empty() => ("/", None),
        _ => ("/", Some(t)),
    }
}

/// A resolved path: the directory that holds it (or the thing itself, for a root or a
/// followed path), its last element, and its lstat.
pub(crate) struct Found {
    pub dir: OwnedFd,
    pub base: Option<String>,
    pub st: FileStat,
}

/// Resolves `rel` below `root`; a final symlink is followed only with `follow`.
pub(crate) fn find(root: BorrowedFd<'_>, rel: &str, follow: bool) -> io::Result<Found> {
    let (parent, base) = split(rel);
    match base {
        Some(b) if !follow => {
            let dir = open_in_root(root, Path::new(parent), libc::O_PATH | libc::O_DIRECTORY)?;
            let st = lstat_at(dir.as_fd(), b.as_ref())?;
            Ok(Found {
                dir,
                base: Some(b.to_string()),
                st,
            })
        }
        _ => {
            let fd = open_in_root(root, Path::new(rel), libc::O_PATH)?;
            let st = fstat(&fd)?;
            Ok(Found {
                dir: fd,
                base: None,
                st,
            })
        }
    }
}

impl Engine {
    /// `GET /containers/{id}/archive`: a tar of `path` (a directory with everything below
    /// it), its entries named from the path's last element, written to `out`.
    pub fn container_archive(&self, name_or_id: &str, path: &str, out: impl Write) -> Result<()> {
        let rec = self.find_container(name_or_id)?;
        let root = self.open_root(&rec, true)?;
        let (abs, follow) = clean(path);
        let (fd, rel, _) = root
            .locate(&abs)
            .map_err(|e| path_err(e, path, name_or_id))?;
        let f = find(fd.as_fd(), &rel, follow).map_err(|e| path_err(e, path, name_or_id))?;
        // Docker names entries from `filepath.Base` of the path as asked: `.` for `dir/.`.
        let arch = if path.ends_with("/.") {
            ".".to_string()
        } else {
            split(&abs).1.unwrap_or(".").to_string()
        };
        let mut w = TarWalker::new(out);
        let io_err = |e| EngineError::io("archiving", Path::new(path), e);
        match &f.base {
            Some(b) => w.add(f.dir.as_fd(), b.as_ref(), &f.st, &arch),
            None if kind(&f.st) == SFlag::S_IFDIR => {
                let dir = open_in_root(
                    f.dir.as_fd(),
                    Path::new("."),
                    libc::O_RDONLY | libc::O_DIRECTORY,
                )
                .map_err(io_err)?;
                w.add_dir(dir.as_fd(), &f.st, &arch)
            }
            // A followed path to a non-directory: archive it from its parent, unfollowed.
            None => {
                let real = path_of(fd.as_fd(), f.dir.as_fd())
                    .ok_or_else(|| path_err(io::ErrorKind::NotFound.into(), path, name_or_id))?;
                let g = find(fd.as_fd(), &real, false).map_err(io_err)?;
                let base = g.base.unwrap_or_default();
                w.add(g.dir.as_fd(), base.as_ref(), &g.st, &arch)
            }
        }
        .and_then(|()| w.finish().map(drop))
        .map_err(io_err)
    }

    /// `GET /containers/{id}/export`: a tar of the container's root file system (its overlay,
    /// without volumes, as Docker's), entries named without a leading `/` or `./`.
    pub fn export_container(&self, name_or_id: &str, out: impl Write) -> Result<()> {
        let rec = self.find_container(name_or_id)?;
        let root = self.open_root(&rec, false)?;
        let st =
            fstat(root.fd()).map_err(|e| EngineError::io("exporting", Path::new("/"), e.into()))?;
        let mut w = TarWalker::new(out);
        w.add_dir(root.fd(), &st, "")
            .and_then(|()| w.finish().map(drop))
            .map_err(|e| EngineError::io("exporting", Path::new("/"), e))
    }

    /// `PUT /containers/{id}/archive`: extracts `tar` into the directory `path`.
    pub fn container_extract(
        &self,
        name_or_id: &str,
        path: &str,
        tar: impl Read + Send,
        opts: &ExtractOptions,
    ) -> Result<()> {
        let rec = self.find_container(name_or_id)?;
        let root = self.open_root(&rec, true)?;
        put::extract(self, &root, &rec, name_or_id, path, tar, opts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleaning_and_splitting() {
        assert_eq!(clean("/a/../../b/./c/"), ("/b/c".into(), true));
        assert_eq!(clean("x/."), ("/x".into(), true));
        assert_eq!(clean("/"), ("/".into(), false));
        assert_eq!(clean("../../etc"), ("/etc".into(), false));
        assert_eq!(split("/etc/passwd"), ("/etc", Some("passwd")));
        assert_eq!(split("/etc"), ("/", Some("etc")));
        assert_eq!(split("/"), ("/", None));
    }

    /// Links out of the root resolve inside it: nothing of the host is found or archived.
    #[test]
    fn hostile_links_stay_in_the_root() {
        let host = tempfile::tempdir().unwrap();
        std::fs::write(host.path().join("canary"), "host secret").unwrap();
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("etc")).unwrap();
        let canary = format!("/../../../..{}/canary", host.path().display());
        std::os::unix::fs::symlink(&canary, root.path().join("etc/evil")).unwrap();
        std::os::unix::fs::symlink(host.path(), root.path().join("etc/evildir")).unwrap();
        let fd = open_dir(root.path()).unwrap();
        let missing = |p: &str, follow: bool| {
            let e = find(fd.as_fd(), p, follow).err().expect(p);
            assert_eq!(e.raw_os_error(), Some(libc::ENOENT), "{p}");
        };
        missing("/etc/evil", true);
        missing("/etc/evildir/canary", false);
        missing("/etc/evildir/../../../canary", false);
        let link = find(fd.as_fd(), "/etc/evil", false).unwrap();
        assert_eq!(kind(&link.st), SFlag::S_IFLNK);
        let etc = find(fd.as_fd(), "/etc", false).unwrap();
        let mut tar = Vec::new();
        let mut w = TarWalker::new(&mut tar);
        w.add(etc.dir.as_fd(), "etc".as_ref(), &etc.st, "etc")
            .unwrap();
        w.finish().unwrap();
        let text = String::from_utf8_lossy(&tar);
        assert!(text.contains("etc/evil") && !text.contains("host secret"));
    }
}
