//! `berth-shim exec`: one process run in a running container, in the foreground.
//!
//! Why a process of its own and not berthd: the runtime clones, which needs a single-threaded
//! caller, and berthd is a multi-threaded server. berthd spawns `berth-shim exec` with its
//! stdio on pipes; this process joins the container through [`Runtime::exec`], waits for the
//! exec'd process (its own child: the runtime clones without `CLONE_PARENT`) and exits with
//! its status, 128 + signal for a signal death, as Docker reports it.
//!
//! - Without a terminal the exec'd process inherits this process's stdio: nothing is copied.
//! - With a terminal (`process.terminal`), the runtime hands back the pty master and this
//!   process relays: its stdin to the pty, the pty to its stdout, until the pty hangs up.
//! - A process that cannot be started ends this one with Docker's codes: 127 when the
//!   executable is not found, 126 otherwise, after the runtime's message on stderr.
//!
//! The exec'd process's pid goes to the pid file (for `docker exec` inspect's `Pid`).

use std::fs;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

use berth_runtime::oci_spec::runtime::Process;
use berth_runtime::Runtime;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;

/// Exit code when the executable is not found (Docker's 127).
pub const EXEC_NOT_FOUND: i32 = 127;
/// Exit code when the process cannot be started for another reason (Docker's 126).
pub const EXEC_FAILED: i32 = 126;

/// Runs `process` (an OCI `process` object, JSON) in container `id` of the runtime state
/// root `runtime_root`; returns the exit code for this process to end with.
pub fn exec(runtime_root: &Path, id: &str, process_file: &Path, pid_file: &Path) -> i32 {
    let process: Process = match fs::read(process_file)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
    {
        Ok(p) => p,
        Err(e) => {
            eprintln!("berth-shim exec: reading {}: {e}", process_file.display());
            return EXEC_FAILED;
        }
    };
    let rt = Runtime::new(runtime_root);
    let running = match rt.exec(id, &process, None, Some(pid_file), 0) {
        Ok(r) => r,
        Err(e) => {
            let msg = e.to_string();
            eprintln!("OCI runtime exec failed: {msg}");
            return failure_code(&msg);
        }
    };
    if let Some(pty) = running.pty {
        relay(pty);
    }
    wait(running.pid)
}

/// Docker's code for a process that could not be started, from the runtime's message.
fn failure_code(msg: &str) -> i32 {
    let lower = msg.to_ascii_lowercase();
    if lower.contains("not found") || lower.contains("no such file") {
        EXEC_NOT_FOUND
    } else {
        EXEC_FAILED
    }
}

fn wait(pid: i32) -> i32 {
    loop {
        match waitpid(Pid::from_raw(pid), None) {
            Ok(WaitStatus::Exited(_, code)) => return code,
            Ok(WaitStatus::Signaled(_, sig, _)) => return 128 + sig as i32,
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => {
                eprintln!("berth-shim exec: waiting for {pid}: {e}");
                return EXEC_FAILED;
            }
        }
    }
}

/// Copies stdin to the pty and the pty to stdout until the pty hangs up (every process
/// holding its other side has exited).
fn relay(pty: OwnedFd) {
    let mut master = fs::File::from(pty);
    let stdin = io::stdin();
    let mut stdout = io::stdout();
    let mut stdin_open = true;
    let mut buf = [0u8; 16 * 1024];
    loop {
        let mut fds = vec![PollFd::new(master.as_fd(), PollFlags::POLLIN)];
        if stdin_open {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return,
        }
        let pty_ready = fds[0].any().unwrap_or(false);
        let stdin_ready = stdin_open && fds.get(1).and_then(|f| f.any()).unwrap_or(false);
        drop(fds);
        if pty_ready {
            // EIO once the last process holding the slave side is gone.
            match master.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if stdout
                        .write_all(&buf[..n])
                        .and_then(|_| stdout.flush())
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
        if stdin_ready {
            // SAFETY: fd 0 stays open for the life of this process; read into our buffer.
            let n = unsafe {
                libc::read(
                    stdin.as_fd().as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                )
            };
            if n <= 0 {
                stdin_open = false;
            } else if master.write_all(&buf[..n as usize]).is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_codes_for_start_failures() {
        assert_eq!(
            failure_code("exec: \"nope\": executable file not found in $PATH"),
            EXEC_NOT_FOUND
        );
        assert_eq!(
            failure_code("execve /x: No such file or directory"),
            EXEC_NOT_FOUND
        );
        assert_eq!(
            failure_code("execve /etc/passwd: Permission denied"),
            EXEC_FAILED
        );
    }
}
