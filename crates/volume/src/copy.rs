//! Docker's copy-up: the first container that mounts an empty volume over a directory of its
//! image sees that directory's content in the volume (`docker run -v data:/etc/app image`
//! starts with the image's `/etc/app`).
//!
//! Why fd-relative everything: the source is a container's root file system, built from
//! image layers anyone may have written. Its directory at the mount point is opened with
//! `berth_fs::open_in_root`, so `..` and symlinks stay inside the rootfs; below it every entry
//! is opened relative to its parent's fd with `O_NOFOLLOW`, and symlinks are copied as
//! symlinks (their targets are data, never followed). The destination is created the same way
//! (`mkdirat`, `openat(O_CREAT|O_EXCL|O_NOFOLLOW)`, `symlinkat`), so a link planted in the
//! volume cannot redirect a write either.
//!
//! Modes (with setuid/setgid/sticky), owners and modification times are kept; sockets are
//! skipped (they are meaningless copied); hard links become separate files.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::dir::Dir;
use nix::fcntl::{openat, readlinkat, AtFlags, OFlag};
use nix::sys::stat::{fchmod, fstat, fstatat, futimens, mkdirat, mknodat, Mode, SFlag};
use nix::sys::time::TimeSpec;
use nix::unistd::{fchown, fchownat, symlinkat, Gid, Uid};

/// Deeper trees than this are refused rather than risking the daemon's stack.
const MAX_DEPTH: usize = 256;

fn errno(e: nix::Error) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

/// Copies the directory `path` of the root file system `rootfs` into `dest` (an existing,
/// empty directory), and gives `dest` that directory's owner and mode. Returns `false`, and
/// copies nothing, when `path` is not a directory in `rootfs`.
pub fn copy_up(rootfs: &Path, path: &str, dest: &Path) -> io::Result<bool> {
    let root = File::open(rootfs)?;
    let flags = libc::O_RDONLY | libc::O_DIRECTORY;
    let src = match berth_fs::open_in_root(root.as_fd(), Path::new(path), flags) {
        Ok(fd) => fd,
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR)) => {
            return Ok(false)
        }
        Err(e) => return Err(e),
    };
    let dst = openat(
        nix::fcntl::AT_FDCWD,
        dest,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(errno)?;
    copy_dir(&src, &dst, 0)?;
    copy_attrs(&src, &dst)?;
    Ok(true)
}

/// Owner, mode (after the owner: chown clears setuid) and times of `src` onto `dst`.
fn copy_attrs(src: &OwnedFd, dst: &OwnedFd) -> io::Result<()> {
    let st = fstat(src).map_err(errno)?;
    fchown(
        dst,
        Some(Uid::from_raw(st.st_uid)),
        Some(Gid::from_raw(st.st_gid)),
    )
    .map_err(errno)?;
    fchmod(dst, Mode::from_bits_truncate(st.st_mode & 0o7777)).map_err(errno)?;
    let atime = TimeSpec::new(st.st_atime, st.st_atime_nsec);
    let mtime = TimeSpec::new(st.st_mtime, st.st_mtime_nsec);
    futimens(dst, &atime, &mtime).map_err(errno)
}

fn copy_dir(src: &OwnedFd, dst: &OwnedFd, depth: usize) -> io::Result<()> {
    if depth > MAX_DEPTH {
        return Err(io::Error::other(format!(
            "the directory tree is deeper than {MAX_DEPTH} levels"
        )));
    }
    let mut dir = Dir::from_fd(nix::unistd::dup(src).map_err(errno)?).map_err(errno)?;
    let names: Vec<Vec<u8>> = dir
        .iter()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_bytes().to_vec())
        .filter(|n| n.as_slice() != b"." && n.as_slice() != b"..")
        .collect();
    for name in names {
        copy_entry(src, dst, OsStr::from_bytes(&name), depth).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("copying {}: {e}", String::from_utf8_lossy(&name)),
            )
        })?;
    }
    Ok(())
}

fn copy_entry(src: &OwnedFd, dst: &OwnedFd, name: &OsStr, depth: usize) -> io::Result<()> {
    let st = fstatat(src, name, AtFlags::AT_SYMLINK_NOFOLLOW).map_err(errno)?;
    let kind = SFlag::from_bits_truncate(st.st_mode & libc::S_IFMT);
    let perm = Mode::from_bits_truncate(st.st_mode & 0o7777);
    let (uid, gid) = (Uid::from_raw(st.st_uid), Gid::from_raw(st.st_gid));
    let nofollow = OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    match kind {
        SFlag::S_IFDIR => {
            mkdirat(dst, name, Mode::from_bits_truncate(0o700)).map_err(errno)?;
            let s = openat(
                src,
                name,
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | nofollow,
                Mode::empty(),
            )
            .map_err(errno)?;
            let d = openat(
                dst,
                name,
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | nofollow,
                Mode::empty(),
            )
            .map_err(errno)?;
            copy_dir(&s, &d, depth + 1)?;
            copy_attrs(&s, &d)
        }
        SFlag::S_IFREG => {
            let s = openat(src, name, OFlag::O_RDONLY | nofollow, Mode::empty()).map_err(errno)?;
            let create = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | nofollow;
            let d = openat(dst, name, create, Mode::from_bits_truncate(0o600)).map_err(errno)?;
            let (mut sf, mut df) = (File::from(s), File::from(d));
            io::copy(&mut sf, &mut df)?;
            copy_attrs(&OwnedFd::from(sf), &OwnedFd::from(df))
        }
        SFlag::S_IFLNK => {
            let target = readlinkat(src, name).map_err(errno)?;
            symlinkat(target.as_os_str(), dst, name).map_err(errno)?;
            fchownat(
                dst,
                name,
                Some(uid),
                Some(gid),
                AtFlags::AT_SYMLINK_NOFOLLOW,
            )
            .map_err(errno)
        }
        SFlag::S_IFIFO | SFlag::S_IFCHR | SFlag::S_IFBLK => {
            // A 0:0 character device is an overlay whiteout: a deleted file, not content.
            if kind == SFlag::S_IFCHR && st.st_rdev == 0 {
                return Ok(());
            }
            mknodat(dst, name, kind, perm, st.st_rdev).map_err(errno)?;
            fchownat(
                dst,
                name,
                Some(uid),
                Some(gid),
                AtFlags::AT_SYMLINK_NOFOLLOW,
            )
            .map_err(errno)?;
            nix::sys::stat::fchmodat(
                dst,
                name,
                perm,
                nix::sys::stat::FchmodatFlags::FollowSymlink,
            )
            .map_err(errno)
        }
        _ => Ok(()),
    }
}

/// Whether the directory `dir` has no entries (a missing directory counts as empty).
pub fn is_empty_dir(dir: &Path) -> io::Result<bool> {
    match std::fs::read_dir(dir) {
        Ok(mut it) => Ok(it.next().is_none()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(e),
    }
}
