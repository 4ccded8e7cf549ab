//! Waiting for a foreground container: forward signals, proxy a pty, return Docker-style status.
//!
//! Signals are blocked before the clone and collected with `sigtimedwait`, so none is lost
//! between the clone and the wait and no async handler runs in the runtime.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::Duration;

use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::error::{Result, RuntimeError};

/// The signals a foreground `run`/`exec` passes on to the container (as runc does).
const FORWARDED: [Signal; 8] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
    Signal::SIGCONT,
];

/// Blocks the forwarded signals and SIGCHLD in the calling thread; call before `run`/`exec`.
pub fn block_signals() -> Result<SigSet> {
    let mut set = SigSet::empty();
    for s in FORWARDED {
        set.add(s);
    }
    set.add(Signal::SIGCHLD);
    let mut old = SigSet::empty();
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut old))
        .map_err(|e| RuntimeError::sys("block signals", e))?;
    Ok(old)
}

/// Exit code of a wait status the way shells and Docker report it: the code, or 128 + signal.
pub fn exit_code(st: WaitStatus) -> Option<i32> {
    match st {
        WaitStatus::Exited(_, c) => Some(c),
        WaitStatus::Signaled(_, s, _) => Some(128 + s as i32),
        _ => None,
    }
}

/// Waits for `pid` (our child), forwarding signals to it and proxying `pty` to our stdio.
///
/// The signals are blocked here too (a no-op if [`block_signals`] already did it) before the
/// first check for an exit, so SIGCHLD cannot slip between the check and the wait; the
/// caller's mask is restored on return.
pub fn wait_forwarding(pid: i32, pty: Option<OwnedFd>) -> Result<i32> {
    let old = block_signals()?;
    let res = wait_blocked(pid, pty);
    let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
    res
}

fn wait_blocked(pid: i32, pty: Option<OwnedFd>) -> Result<i32> {
    let child = Pid::from_raw(pid);
    let mut set = SigSet::empty();
    for s in FORWARDED {
        set.add(s);
    }
    set.add(Signal::SIGCHLD);
    let mut proxy = pty.map(Proxy::new);
    loop {
        match waitpid(child, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => {}
            Ok(st) => {
                if let Some(c) = exit_code(st) {
                    if let Some(p) = proxy.as_mut() {
                        p.drain();
                    }
                    return Ok(c);
                }
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(RuntimeError::sys(format!("wait for {pid}"), e)),
        }
        if let Some(p) = proxy.as_mut() {
            p.pump(Duration::from_millis(20));
            if let Some(sig) = pending(&set, Duration::ZERO) {
                forward(child, sig, p.master.as_raw_fd());
            }
        } else if let Some(sig) = pending(&set, Duration::from_millis(200)) {
            forward(child, sig, -1);
        }
    }
}

fn forward(child: Pid, sig: Signal, master: i32) {
    match sig {
        Signal::SIGCHLD => {}
        Signal::SIGWINCH if master >= 0 => {
            let mut ws: libc::winsize = libc::winsize {
                ws_row: 0,
                ws_col: 0,
                ws_xpixel: 0,
                ws_ypixel: 0,
            };
            // SAFETY: TIOCGWINSZ/TIOCSWINSZ read and write a winsize we own.
            unsafe {
                if libc::ioctl(0, libc::TIOCGWINSZ, &mut ws) == 0 {
                    libc::ioctl(master, libc::TIOCSWINSZ, &ws);
                }
            }
        }
        s => {
            let _ = nix::sys::signal::kill(child, s);
        }
    }
}

fn pending(set: &SigSet, timeout: Duration) -> Option<Signal> {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: `set` is a valid sigset; we ask for no siginfo; `ts` outlives the call.
    let n = unsafe { libc::sigtimedwait(set.as_ref(), std::ptr::null_mut(), &ts) };
    if n > 0 {
        Signal::try_from(n).ok()
    } else {
        None
    }
}

/// Copies stdin → pty master and master → stdout, with the local terminal in raw mode.
struct Proxy {
    master: OwnedFd,
    saved: Option<nix::sys::termios::Termios>,
    stdin_open: bool,
}

impl Proxy {
    fn new(master: OwnedFd) -> Self {
        let saved = nix::sys::termios::tcgetattr(std::io::stdin()).ok();
        if let Some(t) = &saved {
            let mut raw = t.clone();
            nix::sys::termios::cfmakeraw(&mut raw);
            let _ = nix::sys::termios::tcsetattr(
                std::io::stdin(),
                nix::sys::termios::SetArg::TCSANOW,
                &raw,
            );
        }
        Proxy {
            master,
            saved,
            stdin_open: true,
        }
    }

    fn pump(&mut self, timeout: Duration) {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        let stdin = std::io::stdin();
        let mut fds = vec![PollFd::new(self.master.as_fd(), PollFlags::POLLIN)];
        if self.stdin_open {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
        if poll(&mut fds, PollTimeout::from(ms)).unwrap_or(0) <= 0 {
            return;
        }
        let master_ready = fds[0].revents().is_some_and(|r| !r.is_empty());
        let stdin_ready = fds
            .get(1)
            .and_then(|f| f.revents())
            .is_some_and(|r| !r.is_empty());
        let mut buf = [0u8; 8192];
        if master_ready {
            if let Ok(n) = nix::unistd::read(&self.master, &mut buf) {
                if n > 0 {
                    let _ = nix::unistd::write(std::io::stdout(), &buf[..n]);
                }
            }
        }
        if stdin_ready {
            match nix::unistd::read(std::io::stdin(), &mut buf) {
                Ok(0) | Err(_) => self.stdin_open = false,
                Ok(n) => {
                    let _ = nix::unistd::write(&self.master, &buf[..n]);
                }
            }
        }
    }

    fn drain(&mut self) {
        let _ = nix::fcntl::fcntl(
            &self.master,
            nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
        );
        let mut buf = [0u8; 8192];
        while let Ok(n) = nix::unistd::read(&self.master, &mut buf) {
            if n == 0 {
                break;
            }
            let _ = nix::unistd::write(std::io::stdout(), &buf[..n]);
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            let _ = nix::sys::termios::tcsetattr(
                std::io::stdin(),
                nix::sys::termios::SetArg::TCSANOW,
                t,
            );
        }
    }
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("master", &self.master)
            .finish()
    }
}
