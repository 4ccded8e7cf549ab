//! The raw system calls this crate needs that `nix` does not wrap: `openat2(2)` and the xattr
//! setters. Fenced here so every `unsafe` in the crate is in one short file.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Opens `path` as a directory, resolved as if `root` were `/` (see [`open_in_root`]).
pub(crate) fn open_dir_in_root(root: BorrowedFd<'_>, path: &Path) -> io::Result<OwnedFd> {
    open_in_root(root, path, libc::O_RDONLY | libc::O_DIRECTORY)
}

/// Opens `path` with `flags` (O_CLOEXEC is added), resolved as if `root` were `/`: `..` and
/// symlinks (absolute or relative) can never leave `root`, and `/proc` magic links are refused.
/// A leading `/` is allowed and means `root`; an empty path is `root` itself.
///
/// This is the one place berth resolves a path inside a root it does not trust (a layer being
/// unpacked, a container's rootfs being mounted).
pub fn open_in_root(root: BorrowedFd<'_>, path: &Path, flags: libc::c_int) -> io::Result<OwnedFd> {
    let rel = path.strip_prefix("/").unwrap_or(path);
    let rel = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    };
    let c_path = std::ffi::CString::new(rel.as_os_str().as_bytes())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: `open_how` is a plain C struct of integers; all-zero is its documented default
    // (no flags, no mode, no resolve restrictions). It is `#[non_exhaustive]`, hence zeroed().
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    how.resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
    // SAFETY: `root` is a live fd for the duration of the call, `c_path` is a NUL-terminated
    // string that outlives the call, and `how` points to a properly sized `open_how` whose size
    // we pass; the kernel only reads these.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            root.as_raw_fd(),
            c_path.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = i32::try_from(ret).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: openat2 succeeded, so `fd` is a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Gives the open file `src` the new name `name` in `dir` (a hard link to an fd, so no path
/// of the source is resolved again): `linkat(fd, "", dir, name, AT_EMPTY_PATH)`, falling back
/// to the `/proc/self/fd` link when the caller lacks CAP_DAC_READ_SEARCH.
pub(crate) fn link_into(src: BorrowedFd<'_>, dir: BorrowedFd<'_>, name: &str) -> io::Result<()> {
    let c_name =
        std::ffi::CString::new(name).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: both fds are live for the call; the paths are NUL-terminated and outlive it.
    let rc = unsafe {
        libc::linkat(
            src.as_raw_fd(),
            c"".as_ptr(),
            dir.as_raw_fd(),
            c_name.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let proc_path = std::ffi::CString::new(format!("/proc/self/fd/{}", src.as_raw_fd()))
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: as above.
    let rc = unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            proc_path.as_ptr(),
            dir.as_raw_fd(),
            c_name.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The path of an open directory relative to the open directory `root` (both resolved by the
/// kernel, symlinks already followed), from `/proc/self/fd`.
pub(crate) fn path_below(root: BorrowedFd<'_>, dir: BorrowedFd<'_>) -> io::Result<String> {
    let link = |fd: BorrowedFd<'_>| std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()));
    let (r, d) = (link(root)?, link(dir)?);
    let rel = d
        .strip_prefix(&r)
        .map_err(|_| io::Error::other("directory is outside the layer root"))?;
    Ok(rel.to_string_lossy().into_owned())
}

/// Sets an extended attribute on an open file or directory.
pub(crate) fn fset_xattr(fd: BorrowedFd<'_>, name: &CStr, value: &[u8]) -> io::Result<()> {
    // SAFETY: `fd` is live, `name` is NUL-terminated, and `value` is valid for `value.len()`
    // bytes; the kernel only reads them.
    let ret = unsafe {
        libc::fsetxattr(
            fd.as_raw_fd(),
            name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sets an extended attribute on `name` inside directory `dir` without following a final
/// symlink, for entries that cannot be opened (symlinks, devices, fifos).
///
/// Goes through `/proc/self/fd/<dir>/<name>`: the magic link pins the already in-root-resolved
/// directory, and `lsetxattr` does not follow the final component.
pub(crate) fn lset_xattr_at(
    dir: BorrowedFd<'_>,
    name: &Path,
    attr: &CStr,
    value: &[u8],
) -> io::Result<()> {
    let mut full = format!("/proc/self/fd/{}/", dir.as_raw_fd()).into_bytes();
    full.extend_from_slice(name.as_os_str().as_bytes());
    let c_path =
        std::ffi::CString::new(full).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: both strings are NUL-terminated and outlive the call; `value` is valid for
    // `value.len()` bytes; the kernel only reads them.
    let ret = unsafe {
        libc::lsetxattr(
            c_path.as_ptr(),
            attr.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Lists the extended attributes of `path` as (name, value) pairs, without following a final
/// symlink. A filesystem without xattr support yields an empty list.
pub(crate) fn llist_xattrs(path: &Path) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let names = read_sized(|buf, len| {
        // SAFETY: `c_path` is NUL-terminated and outlives the call; `buf` is null with `len` 0
        // (a size query) or writable for `len` bytes.
        unsafe { libc::llistxattr(c_path.as_ptr(), buf.cast(), len) }
    });
    let names = match names {
        Ok(n) => n,
        Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for name in names.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let c_name =
            std::ffi::CString::new(name).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        let value = read_sized(|buf, len| {
            // SAFETY: both strings are NUL-terminated and outlive the call; `buf` is null with
            // `len` 0 (a size query) or writable for `len` bytes.
            unsafe { libc::lgetxattr(c_path.as_ptr(), c_name.as_ptr(), buf.cast(), len) }
        });
        match value {
            Ok(v) => out.push((name.to_vec(), v)),
            // Removed between listing and reading.
            Err(e) if e.raw_os_error() == Some(libc::ENODATA) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Runs a `*xattr` call that fills a buffer: first asks for the size, then reads, retrying if
/// the value grew in between (`ERANGE`).
fn read_sized(mut call: impl FnMut(*mut u8, usize) -> libc::ssize_t) -> io::Result<Vec<u8>> {
    loop {
        let size = call(std::ptr::null_mut(), 0);
        let size = usize::try_from(size).map_err(|_| io::Error::last_os_error())?;
        if size == 0 {
            return Ok(Vec::new());
        }
        let mut buf = vec![0u8; size];
        let got = call(buf.as_mut_ptr(), buf.len());
        match usize::try_from(got) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            Err(_) => {
                let e = io::Error::last_os_error();
                if e.raw_os_error() != Some(libc::ERANGE) {
                    return Err(e);
                }
            }
        }
    }
}
