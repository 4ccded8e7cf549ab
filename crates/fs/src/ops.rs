//! Filesystem primitives that never leave the layer root: lexical name checks, in-root parent
//! resolution (creating missing parents the way Docker does), replacement of existing entries
//! and metadata application relative to a directory fd.

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{Mode, SFlag};
use nix::sys::time::TimeSpec;
use nix::unistd::{Gid, Uid, UnlinkatFlags};

use crate::{sys, FsError};

/// Splits a raw entry name into components, dropping `.` and empty parts and applying `..`
/// lexically. Refuses names that are empty, absolute, contain NUL or climb above the root.
pub(crate) fn normalize(raw: &[u8]) -> Result<Vec<OsString>, &'static str> {
    if raw.is_empty() {
        return Err("empty entry name");
    }
    if raw.contains(&0) {
        return Err("entry name contains a NUL byte");
    }
    if raw[0] == b'/' {
        return Err("absolute entry name; layer entries must be relative to the layer root");
    }
    let mut out: Vec<OsString> = Vec::new();
    for part in raw.split(|b| *b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                if out.pop().is_none() {
                    return Err("`..` climbs above the layer root");
                }
            }
            p => out.push(OsStr::from_bytes(p).to_owned()),
        }
    }
    Ok(out)
}

fn to_path(comps: &[OsString]) -> PathBuf {
    if comps.is_empty() {
        PathBuf::from(".")
    } else {
        comps.iter().collect()
    }
}

fn openat2_err(name: &str, e: io::Error) -> FsError {
    if e.raw_os_error() == Some(libc::ENOSYS) {
        FsError::NoOpenat2
    } else {
        FsError::io(name, "openat2 (in-root) of parent directory", e)
    }
}

/// Opens the directory `comps` in-root without creating anything.
pub(crate) fn open_existing(
    root: BorrowedFd<'_>,
    comps: &[OsString],
    name: &str,
) -> Result<OwnedFd, FsError> {
    sys::open_dir_in_root(root, &to_path(comps)).map_err(|e| openat2_err(name, e))
}

/// Opens the directory `comps` in-root, creating missing components with mode 0755.
pub(crate) fn open_parent(
    root: BorrowedFd<'_>,
    comps: &[OsString],
    name: &str,
) -> Result<OwnedFd, FsError> {
    match sys::open_dir_in_root(root, &to_path(comps)) {
        Ok(fd) => return Ok(fd),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
        Err(e) => return Err(openat2_err(name, e)),
    }
    let mut cur = sys::open_dir_in_root(root, Path::new(".")).map_err(|e| openat2_err(name, e))?;
    let mut prefix = PathBuf::new();
    for comp in comps {
        prefix.push(comp);
        cur = match sys::open_dir_in_root(root, &prefix) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                nix::sys::stat::mkdirat(&cur, comp.as_os_str(), Mode::from_bits_truncate(0o755))
                    .map_err(|e| FsError::io(name, "mkdirat of implicit parent", e))?;
                sys::open_dir_in_root(root, &prefix).map_err(|e| openat2_err(name, e))?
            }
            Err(e) => return Err(openat2_err(name, e)),
        };
    }
    Ok(cur)
}

/// Whether `name` in `dir` exists and is a directory (not following a final symlink).
pub(crate) fn is_dir_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<Option<bool>> {
    match nix::sys::stat::fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some(st.st_mode & libc::S_IFMT == libc::S_IFDIR)),
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Removes `name` in `dir` and, if it is a directory, everything below it. Never follows
/// symlinks; a missing entry is not an error.
pub(crate) fn remove_all(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    if name.is_empty() || name == "." || name == ".." || name.as_bytes().contains(&b'/') {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    match nix::unistd::unlinkat(dir, name, UnlinkatFlags::NoRemoveDir) {
        Ok(()) | Err(Errno::ENOENT) => return Ok(()),
        Err(Errno::EISDIR) => {}
        Err(e) => return Err(e.into()),
    }
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let sub = nix::fcntl::openat(dir, name, flags, Mode::empty())?;
    let mut listing = nix::dir::Dir::from_fd(sub.try_clone()?)?;
    let children: Vec<OsString> = listing
        .iter()
        .filter_map(Result::ok)
        .map(|e| OsStr::from_bytes(e.file_name().to_bytes()).to_owned())
        .filter(|n| n != "." && n != "..")
        .collect();
    drop(listing);
    for child in children {
        remove_all(sub.as_fd(), &child)?;
    }
    nix::unistd::unlinkat(dir, name, UnlinkatFlags::RemoveDir)?;
    Ok(())
}

/// Makes room for a new entry `name` in `dir`: removes whatever is there, except that an
/// existing directory is kept when `keep_dir` is set. Returns whether a directory was kept.
pub(crate) fn clear(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    keep_dir: bool,
    entry: &str,
) -> Result<bool, FsError> {
    match is_dir_at(dir, name).map_err(|e| FsError::io(entry, "fstatat of existing entry", e))? {
        None => Ok(false),
        Some(true) if keep_dir => Ok(true),
        Some(_) => remove_all(dir, name)
            .map(|()| false)
            .map_err(|e| FsError::io(entry, "removing existing entry", e)),
    }
}

/// The metadata of one entry, as recorded in the archive.
#[derive(Debug, Clone)]
pub(crate) struct Meta {
    pub(crate) mode: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) mtime: i64,
    pub(crate) xattrs: Vec<(CString, Vec<u8>)>,
}

/// Applies ownership, xattrs, mode and mtime to `name` in `dir`, in that order (chown clears
/// setuid bits, so mode comes after it). Symlinks get no mode; directories get mode and mtime
/// later, through [`apply_late`].
pub(crate) fn apply_meta(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    meta: &Meta,
    preserve_ownership: bool,
    kind: MetaKind,
    entry: &str,
) -> Result<(), FsError> {
    if preserve_ownership {
        nix::unistd::fchownat(
            dir,
            name,
            Some(Uid::from_raw(meta.uid)),
            Some(Gid::from_raw(meta.gid)),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .map_err(|e| FsError::io(entry, "fchownat", e))?;
    }
    for (attr, value) in &meta.xattrs {
        sys::lset_xattr_at(dir, Path::new(name), attr, value)
            .map_err(|e| FsError::io(entry, "lsetxattr", e))?;
    }
    match kind {
        MetaKind::Symlink => set_mtime(dir, name, meta.mtime, entry),
        MetaKind::Dir => Ok(()),
        MetaKind::Other => apply_late(dir, name, meta.mode, meta.mtime, entry),
    }
}

/// Which parts of [`apply_meta`] apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MetaKind {
    /// No mode; mtime now.
    Symlink,
    /// Mode and mtime deferred until the directory's contents are written.
    Dir,
    /// Mode and mtime now.
    Other,
}

/// Sets mode (with setuid/setgid/sticky) and mtime on a non-symlink `name` in `dir`.
pub(crate) fn apply_late(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    mode: u32,
    mtime: i64,
    entry: &str,
) -> Result<(), FsError> {
    // The entry was created by this extraction and is not a symlink, so following is moot;
    // fchmodat cannot take AT_SYMLINK_NOFOLLOW portably.
    nix::sys::stat::fchmodat(
        dir,
        name,
        Mode::from_bits_truncate(mode & 0o7777),
        nix::sys::stat::FchmodatFlags::FollowSymlink,
    )
    .map_err(|e| FsError::io(entry, "fchmodat", e))?;
    set_mtime(dir, name, mtime, entry)
}

fn set_mtime(dir: BorrowedFd<'_>, name: &OsStr, mtime: i64, entry: &str) -> Result<(), FsError> {
    let ts = TimeSpec::new(mtime, 0);
    nix::sys::stat::utimensat(
        dir,
        name,
        &ts,
        &ts,
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    )
    .map_err(|e| FsError::io(entry, "utimensat", e))
}

/// Creates a device node or fifo `name` in `dir`.
pub(crate) fn mknod(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    kind: SFlag,
    major: u32,
    minor: u32,
    entry: &str,
) -> Result<(), FsError> {
    let dev = nix::sys::stat::makedev(u64::from(major), u64::from(minor));
    nix::sys::stat::mknodat(dir, name, kind, Mode::from_bits_truncate(0o600), dev)
        .map_err(|e| FsError::io(entry, "mknodat", e))
}
