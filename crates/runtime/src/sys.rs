//! The raw system calls nix does not wrap (or wraps in a way we cannot use), fenced in one module.
//!
//! Everything else in the crate calls nix; only here do we call `libc::syscall` directly.

use std::os::fd::{OwnedFd, RawFd};
use std::path::Path;

use nix::errno::Errno;

use crate::error::{Result, RuntimeError};

/// `clone(2)` with no new stack: like `fork()`, but with namespace flags, so the child is born
/// inside its new namespaces (pid 1 of a new PID namespace) without an intermediate process.
///
/// Returns 0 in the child and the child's pid in the parent.
///
/// # Safety
/// The caller must be single-threaded (as after any fork) and the child must only do work that
/// is safe after fork in that situation, ending in `execve` or `_exit`.
pub(crate) unsafe fn clone_fork(flags: libc::c_int) -> Result<libc::pid_t> {
    // SAFETY: a null child stack makes the kernel reuse the caller's stack pointer in the
    // child's copy of the address space (no CLONE_VM), exactly like fork(); the remaining
    // pointer arguments are unused for these flags.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (flags | libc::SIGCHLD) as libc::c_ulong,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_int>(),
            std::ptr::null_mut::<libc::c_int>(),
            0 as libc::c_ulong,
        )
    };
    if ret < 0 {
        return Err(RuntimeError::sys(
            format!("clone with flags {flags:#x}"),
            Errno::last(),
        ));
    }
    Ok(ret as libc::pid_t)
}

/// [`clone_fork`] for a child that will sit in a container's namespaces while it still runs
/// the runtime's code: the caller is made non-dumpable first, so the child is born that way
/// (the flag lives in the copied mm). A non-dumpable process's `/proc/<pid>/exe` cannot be
/// opened by a process without CAP_SYS_PTRACE over it, so a container cannot reach the
/// runtime binary through it (CVE-2019-5736 class). `execve` of the user's program makes the
/// process dumpable again, as any process.
///
/// # Safety
/// As [`clone_fork`].
pub(crate) unsafe fn clone_fork_undumpable(flags: libc::c_int) -> Result<libc::pid_t> {
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
        return Err(RuntimeError::sys(
            "make the runtime non-dumpable",
            Errno::last(),
        ));
    }
    // SAFETY: forwarded from the caller.
    unsafe { clone_fork(flags) }
}

/// Opens `path` relative to `root` with `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`:
/// symlinks and `..` are resolved as if `root` were `/`, so nothing outside it can be reached.
/// (The resolution itself is `berth_fs::open_in_root`, shared with layer unpacking.)
pub(crate) fn open_in_root(root: RawFd, path: &Path, flags: libc::c_int) -> nix::Result<OwnedFd> {
    // SAFETY: callers pass a directory fd they hold open for the duration of the call.
    let root = unsafe { std::os::fd::BorrowedFd::borrow_raw(root) };
    berth_fs::open_in_root(root, path, flags)
        .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
}

/// Marks every fd from `first` upward close-on-exec, so nothing the runtime holds leaks into the
/// container (CVE-2024-21626 class). Falls back to walking /proc/self/fd on old kernels.
pub(crate) fn cloexec_from(first: RawFd) -> Result<()> {
    // SAFETY: close_range only changes fd flags; the arguments are plain integers.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first as libc::c_uint,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if ret == 0 {
        return Ok(());
    }
    let dir = std::fs::read_dir("/proc/self/fd")
        .map_err(|e| RuntimeError::io("list", "/proc/self/fd", e))?;
    for entry in dir.flatten() {
        if let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<RawFd>().ok())
        {
            if fd >= first {
                // SAFETY: setting FD_CLOEXEC on an fd we may or may not own is harmless; an
                // fd that was just closed (the read_dir one) yields EBADF, which we ignore.
                unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
            }
        }
    }
    Ok(())
}

/// The path under which the kernel lets us name an open fd as a mount source or target.
pub(crate) fn fd_path(fd: RawFd) -> String {
    format!("/proc/self/fd/{fd}")
}
