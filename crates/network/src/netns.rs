//! Persistent named network namespaces, made the way `ip netns add` makes them.
//!
//! Why a file: a container's network namespace must outlive any one process (berthd restarts,
//! the container's init may not exist yet when the veth is wired), so it is kept alive by a
//! bind mount of its nsfs inode onto a file, `<dir>/<name>`, and named by that path.
//!
//! Creation, as iproute2's `netns_add`:
//! 1. `<dir>` is made a mount point (bound onto itself) and marked `MS_SHARED`. Being its own
//!    mount point lets it have its own propagation without touching its parent's (`/` is
//!    private on our hosts); being shared makes mount namespaces copied from ours later (with
//!    propagation unchanged) peers of it: namespaces created afterwards appear in them too, and
//!    our unmounts propagate to them, as with `/run/netns`.
//! 2. `<dir>/<name>` is created empty; a helper thread `unshare(CLONE_NEWNET)`s and bind-mounts
//!    `/proc/thread-self/ns/net` onto it, then exits. The thread, not the caller, changes
//!    namespace: the caller's threads stay where they were.
//!
//! Deletion is `umount2(MNT_DETACH)` + `unlink`. The unlink also detaches the copies of the
//! mount that other mount namespaces hold (Linux ≥ 3.18 does that for an unlinked mount point),
//! even where propagation did not reach them (checked on 6.18). The kernel destroys the namespace (and the
//! veth ends inside it, which takes their host peers with them) once nothing else holds it: no
//! open [`NetNs`] file, no netlink socket opened in it, no process inside. Destruction runs
//! asynchronously in the kernel, a few milliseconds later.
//!
//! Running code inside a namespace ([`NetNs::run`], [`run_in_fd`]) happens on a dedicated,
//! short-lived thread that `setns`es and then ends, so no thread of the caller is ever left in
//! the wrong namespace, even if the closure panics. Sockets opened there stay bound to the
//! namespace after the thread ends (see [`crate::netlink::Netlink::new_in`]).

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{setns, unshare, CloneFlags};
use nix::sys::statfs::{fstatfs, NSFS_MAGIC};

use crate::netlink::{errno_error, with_op};

/// A named, persistent network namespace: the nsfs file `<dir>/<name>`, held open.
#[derive(Debug)]
pub struct NetNs {
    path: PathBuf,
    file: File,
}

impl NetNs {
    /// Creates the namespace `name` under `dir` (e.g. `/run/berth/netns`), creating `dir` and
    /// making it a shared mount point if it is not one yet. `AlreadyExists` if the file exists.
    pub fn create(dir: &Path, name: &str) -> io::Result<NetNs> {
        let op = format!("creating network namespace {name} in {}", dir.display());
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{op}: invalid name {name:?}: use a file name without '/'"),
            ));
        }
        prepare_dir(dir).map_err(|e| with_op(&op, e))?;
        let path = dir.join(name);
        OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o0)
            .open(&path)
            .map_err(|e| with_op(&op, e))?;
        let bound = std::thread::scope(|s| {
            s.spawn(|| -> nix::Result<()> {
                unshare(CloneFlags::CLONE_NEWNET)?;
                mount(
                    Some("/proc/thread-self/ns/net"),
                    &path,
                    None::<&str>,
                    MsFlags::MS_BIND,
                    None::<&str>,
                )
            })
            .join()
        });
        let bound = match bound {
            Ok(r) => r.map_err(|e| errno_error(&op, e as i32)),
            Err(_) => Err(io::Error::other(format!("{op}: helper thread panicked"))),
        };
        if let Err(e) = bound {
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        match NetNs::open(&path) {
            Ok(ns) => Ok(ns),
            Err(e) => {
                let _ = remove_path(&path);
                Err(with_op(&op, e))
            }
        }
    }

    /// Opens an existing namespace file; `InvalidInput` if `path` is not an nsfs file (for
    /// example a file left behind whose mount is gone).
    pub fn open(path: &Path) -> io::Result<NetNs> {
        let op = format!("opening network namespace {}", path.display());
        let file = File::open(path).map_err(|e| with_op(&op, e))?;
        let fs = fstatfs(&file).map_err(|e| errno_error(&op, e as i32))?;
        if fs.filesystem_type() != NSFS_MAGIC {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{op}: not a namespace file (no nsfs mounted on it)"),
            ));
        }
        Ok(NetNs {
            path: path.to_path_buf(),
            file,
        })
    }

    /// The namespace file's path, e.g. for `nsenter --net=PATH` or an OCI spec's
    /// `linux.namespaces[].path`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open namespace file (for `setns`, `IFLA_NET_NS_FD`).
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Runs `f` inside this namespace on a dedicated thread and returns its result.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> io::Result<T> {
        run_in_fd(self.file.as_fd(), f)
    }

    /// Closes and deletes this namespace (see [`delete`]).
    pub fn delete(self) -> io::Result<()> {
        let NetNs { path, file } = self;
        drop(file);
        delete_path(&path)
    }
}

impl AsFd for NetNs {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

/// Deletes the namespace `<dir>/<name>`: unmounts and unlinks its file. A missing file is
/// fine (deletion is idempotent, so cleanup after a crash can call it blindly).
pub fn delete(dir: &Path, name: &str) -> io::Result<()> {
    delete_path(&dir.join(name))
}

fn delete_path(path: &Path) -> io::Result<()> {
    let op = format!("deleting network namespace {}", path.display());
    remove_path(path).map_err(|e| with_op(&op, e))
}

fn remove_path(path: &Path) -> io::Result<()> {
    match umount2(path, MntFlags::MNT_DETACH) {
        // EINVAL: not a mount point (already unmounted); ENOENT: no file.
        Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => {}
        Err(e) => return Err(io::Error::from_raw_os_error(e as i32)),
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        r => r,
    }
}

/// Undoes what [`NetNs::create`] did to `dir` itself: unmounts the self bind mount, if `dir`
/// holds no namespace file any more. For tests and for a daemon that shuts its state root
/// down; `ip netns` never does this for `/run/netns`.
pub fn release_dir(dir: &Path) -> io::Result<()> {
    let op = format!("releasing network namespace directory {}", dir.display());
    if std::fs::read_dir(dir)
        .map_err(|e| with_op(&op, e))?
        .next()
        .is_some()
    {
        return Err(io::Error::new(
            io::ErrorKind::DirectoryNotEmpty,
            format!("{op}: it still holds namespace files; delete them first"),
        ));
    }
    match umount2(dir, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) => Ok(()),
        Err(e) => Err(errno_error(&op, e as i32)),
    }
}

/// Runs `f` on a dedicated thread inside the network namespace `netns` (an open nsfs file).
/// The thread ends with `f`, so it never has to find its way back.
pub fn run_in_fd<T: Send>(netns: BorrowedFd<'_>, f: impl FnOnce() -> T + Send) -> io::Result<T> {
    std::thread::scope(|s| {
        s.spawn(move || {
            setns(netns, CloneFlags::CLONE_NEWNET)
                .map_err(|e| errno_error("entering network namespace", e as i32))?;
            Ok(f())
        })
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Makes `dir` exist and be a shared mount point, as iproute2 does for `/run/netns`.
fn prepare_dir(dir: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir)?;
    let make_shared = || {
        mount(
            None::<&str>,
            dir,
            Some("none"),
            MsFlags::MS_SHARED | MsFlags::MS_REC,
            None::<&str>,
        )
    };
    match make_shared() {
        Ok(()) => return Ok(()),
        Err(nix::errno::Errno::EINVAL) => {}
        Err(e) => return Err(io::Error::from_raw_os_error(e as i32)),
    }
    // Not a mount point yet: bind it onto itself, then mark it shared.
    mount(
        Some(dir),
        dir,
        Some("none"),
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| io::Error::from_raw_os_error(e as i32))?;
    make_shared().map_err(|e| io::Error::from_raw_os_error(e as i32))
}
