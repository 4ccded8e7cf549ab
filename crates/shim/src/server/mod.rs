//! The shim's body once daemonized: create and start the container with its stdio on pipes,
//! then one `poll(2)` loop until the init has exited and everything is recorded.
//!
//! The runtime's child inherits the caller's fds 0/1/2, so the pipe ends are dup'ed onto
//! them just for `create` and /dev/null is put back right after: the shim must hold no write
//! end, or the pipes would never reach EOF. The init is the shim's own child (the runtime
//! clones without CLONE_PARENT), so plain `waitpid` reaps it. SIGCHLD is blocked only after
//! `create` (a blocked mask would be inherited) and read from a signalfd; a `waitpid` right
//! after catches an exit that came first.

use std::fs;
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::{Duration, Instant};

use berth_runtime::{CreateOptions, Runtime};
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::daemon::report;
use crate::exit::{self, ExitInfo};
use crate::log::{log_path, JsonLog, LineSplitter};
use crate::stdio::Plumbing;
use crate::ShimOptions;

mod control;

use control::send;

/// How long the pipes may stay open after the init exited (a leftover process holding them).
const DRAIN_LIMIT: Duration = Duration::from_secs(2);

struct Pipe {
    fd: fs::File,
    lines: LineSplitter,
}

struct Client {
    stream: UnixStream,
    buf: Vec<u8>,
    waiting: bool,
    /// After a `stdin` request: its bytes go to the container's stdin.
    feeds_stdin: bool,
    done: bool,
}

struct Shim {
    rt: Runtime,
    id: String,
    state_dir: std::path::PathBuf,
    pid: i32,
    log: JsonLog,
    pipes: [Option<Pipe>; 2],
    /// A terminal: each read is logged as it comes, not split into lines.
    raw: bool,
    /// Where `stdin` clients' bytes go (`None` without `OpenStdin`, or once closed).
    stdin: Option<fs::File>,
    /// Close the container's stdin when its feeding client leaves (`StdinOnce`).
    stdin_once: bool,
    /// Bytes read from a `stdin` client not yet written to `stdin`.
    pending: Vec<u8>,
    /// `stdin` is closed once `pending` is written.
    closing_stdin: bool,
    /// The pty master, for `resize`.
    master: Option<OwnedFd>,
    listener: UnixListener,
    clients: Vec<Client>,
    sigfd: SignalFd,
    reaped: Option<(ExitInfo, Instant)>,
    recorded: Option<ExitInfo>,
}

/// Runs the shim; returns its exit code. `ready` gets the readiness message.
pub(crate) fn run(opts: ShimOptions, ready: OwnedFd) -> i32 {
    let mut shim = match setup(&opts) {
        Ok(s) => s,
        Err(e) => return report(ready, Err(e)),
    };
    report(ready, Ok(shim.pid));
    shim.serve();
    0
}

fn setup(opts: &ShimOptions) -> Result<Shim, String> {
    let spec = berth_runtime::load_spec(&opts.bundle).map_err(|e| e.to_string())?;
    let tty = spec
        .process()
        .as_ref()
        .and_then(|p| p.terminal())
        .unwrap_or(false);
    // A record of an earlier run in this state dir would answer `wait` for this one.
    let _ = fs::remove_file(opts.state_dir.join(exit::EXIT_FILE));
    let log = JsonLog::open(
        log_path(&opts.state_dir, &opts.id),
        opts.log_max_size,
        opts.log_max_files,
    )
    .map_err(|e| format!("open log: {e}"))?;
    let sys = |what: &str, e: nix::Error| format!("{what}: {e}");
    let plumbing = Plumbing::new(&opts.state_dir, tty, opts.stdin)?;
    let rt = Runtime::new(&opts.runtime_root);
    let created = rt.create(&CreateOptions {
        id: opts.id.clone(),
        bundle: opts.bundle.clone(),
        console_socket: plumbing.console_socket(),
        ..Default::default()
    });
    // Give back our stdio before anything else: we must hold no child end.
    let io = plumbing.finish(created.is_ok());
    let created = created.map_err(|e| format!("create: {e}"))?;
    let pid = created.pid;
    let io = match io {
        Ok(io) => io,
        Err(e) => {
            let _ = rt.delete(&opts.id, true);
            let _ = waitpid(Pid::from_raw(pid), None);
            return Err(e);
        }
    };
    let fail = |msg: String| {
        let _ = rt.delete(&opts.id, true);
        let _ = waitpid(Pid::from_raw(pid), None);
        msg
    };
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGCHLD);
    mask.thread_block()
        .map_err(|e| fail(sys("block SIGCHLD", e)))?;
    let sigfd = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(|e| fail(sys("signalfd", e)))?;
    let sock = opts.state_dir.join(crate::SOCKET_FILE);
    let _ = fs::remove_file(&sock);
    let listener = crate::socket_path(&sock)
        .and_then(|(_dir, p)| UnixListener::bind(p))
        .map_err(|e| fail(format!("bind socket {}: {e}", sock.display())))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| fail(format!("socket: {e}")))?;
    let write_pid = |name: &str, p: u32| {
        exit::write_atomic(&opts.state_dir.join(name), p.to_string().as_bytes())
    };
    write_pid(crate::SHIM_PID_FILE, std::process::id())
        .and_then(|_| write_pid(crate::INIT_PID_FILE, pid as u32))
        .map_err(|e| fail(format!("write pid files: {e}")))?;
    rt.start(&opts.id)
        .map_err(|e| fail(format!("start: {e}")))?;
    let nonblocking = |fd: OwnedFd| {
        let _ = nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_SETFL(OFlag::O_NONBLOCK));
        fs::File::from(fd)
    };
    let pipe = |fd: Option<OwnedFd>, stream| {
        fd.map(|fd| Pipe {
            fd: nonblocking(fd),
            lines: LineSplitter::new(stream),
        })
    };
    let mut shim = Shim {
        rt,
        id: opts.id.clone(),
        state_dir: opts.state_dir.clone(),
        pid,
        log,
        pipes: [pipe(io.out, "stdout"), pipe(io.err, "stderr")],
        raw: tty,
        stdin: io.stdin.map(nonblocking),
        stdin_once: opts.stdin_once,
        pending: Vec::new(),
        closing_stdin: false,
        master: io.master,
        listener,
        clients: Vec::new(),
        sigfd,
        reaped: None,
        recorded: None,
    };
    shim.reap();
    Ok(shim)
}

impl Shim {
    fn serve(&mut self) {
        while self.recorded.is_none() {
            self.poll_once();
            if let Some((_, at)) = &self.reaped {
                if self.pipes.iter().all(Option::is_none) || at.elapsed() >= DRAIN_LIMIT {
                    self.finish();
                }
            }
        }
        let _ = self.rt.delete(&self.id, true);
        let _ = fs::remove_file(self.state_dir.join(crate::SOCKET_FILE));
    }

    fn poll_once(&mut self) {
        let timeout = match &self.reaped {
            Some((_, at)) => {
                let left = DRAIN_LIMIT.saturating_sub(at.elapsed()).as_millis() as u16;
                PollTimeout::from(left.max(1))
            }
            None => PollTimeout::NONE,
        };
        // `kinds[i]` says what `fds[i]` is.
        let mut fds: Vec<PollFd<'_>> = Vec::with_capacity(4 + self.clients.len());
        let mut kinds = Vec::with_capacity(4 + self.clients.len());
        for (i, p) in self.pipes.iter().enumerate() {
            if let Some(p) = p {
                fds.push(PollFd::new(p.fd.as_fd(), PollFlags::POLLIN));
                kinds.push(Ev::Pipe(i));
            }
        }
        fds.push(PollFd::new(self.sigfd.as_fd(), PollFlags::POLLIN));
        kinds.push(Ev::Sig);
        fds.push(PollFd::new(self.listener.as_fd(), PollFlags::POLLIN));
        kinds.push(Ev::Listen);
        for (i, c) in self.clients.iter().enumerate() {
            // A stdin feeder is read only when what it sent before has been written.
            let held_back = c.feeds_stdin && !self.pending.is_empty();
            if !c.waiting && !held_back {
                fds.push(PollFd::new(c.stream.as_fd(), PollFlags::POLLIN));
                kinds.push(Ev::Client(i));
            }
        }
        if let (Some(f), false) = (&self.stdin, self.pending.is_empty()) {
            fds.push(PollFd::new(f.as_fd(), PollFlags::POLLOUT));
            kinds.push(Ev::StdinWritable);
        }
        if poll(&mut fds, timeout).is_err() {
            return;
        }
        let ready: Vec<Ev> = fds
            .iter()
            .zip(kinds)
            .filter(|(f, _)| f.revents().is_some_and(|r| !r.is_empty()))
            .map(|(_, k)| k)
            .collect();
        drop(fds);
        for ev in ready {
            match ev {
                Ev::Pipe(i) => self.read_pipe(i),
                Ev::Sig => {
                    while let Ok(Some(_)) = self.sigfd.read_signal() {}
                    self.reap();
                }
                Ev::Listen => self.accept(),
                Ev::Client(i) => self.read_client(i),
                Ev::StdinWritable => self.write_stdin(),
            }
        }
        self.clients.retain(|c| !c.done);
    }

    fn read_pipe(&mut self, i: usize) {
        let Some(p) = self.pipes[i].as_mut() else {
            return;
        };
        let mut buf = [0u8; 32 * 1024];
        loop {
            match p.fd.read(&mut buf) {
                Ok(0) => {
                    let _ = p.lines.flush(&mut self.log);
                    self.pipes[i] = None;
                    return;
                }
                Ok(n) => {
                    let _ = p.lines.feed(&buf[..n], &mut self.log);
                    if self.raw {
                        // A terminal's prompt has no newline: log it as it comes.
                        let _ = p.lines.flush(&mut self.log);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => {
                    let _ = p.lines.flush(&mut self.log);
                    self.pipes[i] = None;
                    return;
                }
            }
        }
    }

    /// Reaps every exited child; notes the init's exit.
    fn reap(&mut self) {
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(p, code)) if p.as_raw() == self.pid => {
                    self.reaped = Some((ExitInfo::new(Some(code), None), Instant::now()));
                }
                Ok(WaitStatus::Signaled(p, sig, _)) if p.as_raw() == self.pid => {
                    self.reaped = Some((ExitInfo::new(None, Some(sig as i32)), Instant::now()));
                }
                Ok(WaitStatus::StillAlive) | Err(_) => return,
                Ok(_) => {}
            }
        }
    }

    /// Logs drained (or given up on): record the exit, answer the waiters.
    fn finish(&mut self) {
        for p in self.pipes.iter_mut().flatten() {
            let _ = p.lines.flush(&mut self.log);
        }
        self.pipes = [None, None];
        let Some((info, _)) = self.reaped.clone() else {
            return;
        };
        let _ = exit::write_exit(&self.state_dir, &info);
        let reply = serde_json::to_string(&info).unwrap_or_default();
        for c in self.clients.iter_mut().filter(|c| c.waiting) {
            send(c, &reply);
        }
        self.recorded = Some(info);
    }
}

enum Ev {
    Pipe(usize),
    Sig,
    Listen,
    Client(usize),
    StdinWritable,
}
