//! `berth-shim start`: daemonize, then hand over to the server.
//!
//! Double fork + setsid so the shim is nobody's child but init's (or a subreaper's) and can
//! never regain a controlling terminal; its spawner (berthd) may die at any time after. The
//! spawner's process waits on a readiness pipe: the daemon writes `ok <pid>` once the
//! container is started and the socket listens, or `err <message>`; EOF means it died.

use std::fs;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sys::wait::waitpid;
use nix::unistd::{fork, ForkResult};

use crate::ShimOptions;

/// Runs `berth-shim start`; returns the process exit code for the caller's `main`.
///
/// Must be called while the process is single-threaded (it forks and the daemon clones).
pub fn start(mut opts: ShimOptions) -> i32 {
    match prepare(&mut opts) {
        Ok(()) => {}
        Err(e) => {
            eprintln!("berth-shim: {e}");
            return 1;
        }
    }
    let (rd, wr) = match nix::unistd::pipe2(OFlag::O_CLOEXEC) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("berth-shim: pipe: {e}");
            return 1;
        }
    };
    // SAFETY: single-threaded (see above); the child goes on running ordinary Rust code.
    match unsafe { fork() } {
        Err(e) => {
            eprintln!("berth-shim: fork: {e}");
            1
        }
        Ok(ForkResult::Parent { child }) => {
            drop(wr);
            let _ = waitpid(child, None);
            let mut msg = String::new();
            let _ = fs::File::from(rd).read_to_string(&mut msg);
            let msg = msg.trim();
            if let Some(pid) = msg.strip_prefix("ok ") {
                println!("{pid}");
                0
            } else if let Some(err) = msg.strip_prefix("err ") {
                eprintln!("berth-shim: {err}");
                1
            } else {
                eprintln!("berth-shim: the shim exited before the container was started");
                1
            }
        }
        Ok(ForkResult::Child) => {
            drop(rd);
            let code = daemon_child(opts, wr);
            // SAFETY: _exit skips the parent's atexit handlers and stdio buffers, as a forked
            // child must.
            unsafe { libc::_exit(code) }
        }
    }
}

/// Absolute paths (the daemon runs in `/`) and the state dir.
fn prepare(opts: &mut ShimOptions) -> io::Result<()> {
    fs::create_dir_all(&opts.state_dir)?;
    fs::create_dir_all(&opts.runtime_root)?;
    opts.state_dir = fs::canonicalize(&opts.state_dir)?;
    opts.runtime_root = fs::canonicalize(&opts.runtime_root)?;
    opts.bundle = fs::canonicalize(&opts.bundle)
        .map_err(|e| io::Error::new(e.kind(), format!("bundle {}: {e}", opts.bundle.display())))?;
    Ok(())
}

fn daemon_child(opts: ShimOptions, ready: OwnedFd) -> i32 {
    if let Err(e) = nix::unistd::setsid() {
        return report(ready, Err(format!("setsid: {e}")));
    }
    // SAFETY: still single-threaded.
    match unsafe { fork() } {
        Err(e) => report(ready, Err(format!("fork: {e}"))),
        Ok(ForkResult::Parent { .. }) => 0,
        Ok(ForkResult::Child) => {
            if let Err(e) = detach(&ready) {
                return report(ready, Err(format!("detach: {e}")));
            }
            crate::server::run(opts, ready)
        }
    }
}

/// cwd `/`, stdio on /dev/null, every other fd but `keep` closed.
fn detach(keep: &OwnedFd) -> io::Result<()> {
    nix::unistd::chdir(Path::new("/"))?;
    let null = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    nix::unistd::dup2_stdin(&null)?;
    nix::unistd::dup2_stdout(&null)?;
    nix::unistd::dup2_stderr(&null)?;
    drop(null);
    let k = keep.as_raw_fd() as libc::c_uint;
    close_range(3, k.saturating_sub(1));
    close_range(k + 1, libc::c_uint::MAX);
    Ok(())
}

fn close_range(first: libc::c_uint, last: libc::c_uint) {
    if first > last {
        return;
    }
    // SAFETY: close_range with integer arguments; fds owned by Rust objects are not touched
    // afterwards (only `keep` and stdio survive, and the caller owns nothing else).
    unsafe { libc::syscall(libc::SYS_close_range, first, last, 0 as libc::c_uint) };
}

/// Writes the readiness message and returns the exit code that goes with it.
pub(crate) fn report(ready: OwnedFd, r: Result<i32, String>) -> i32 {
    let mut f = fs::File::from(ready);
    match r {
        Ok(pid) => {
            let _ = writeln!(f, "ok {pid}");
            0
        }
        Err(e) => {
            let _ = writeln!(f, "err {}", e.replace('\n', " "));
            1
        }
    }
}
