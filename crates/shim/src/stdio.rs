//! The container's stdio as the shim sets it up and holds it.
//!
//! - Without a terminal: stdout and stderr are pipes whose read ends the shim keeps; with
//!   `OpenStdin`, stdin is a pipe whose write end the shim keeps (fed by `stdin` clients of
//!   the control socket), else `/dev/null`. The runtime's child inherits fds 0/1/2, so the
//!   child ends are dup'ed onto them just for `create`, and `/dev/null` is put back right
//!   after: the shim must hold no child end, or the pipes would never reach EOF.
//! - With a terminal: the runtime creates the pty inside the container and sends its master
//!   over runc's `--console-socket` protocol to a socket the shim listens on (the runtime
//!   connects before it clones, so the master is waiting in the socket when `create`
//!   returns). The master is then the container's output (one stream, `stdout`), its input,
//!   and what `resize` sets the window size of.

use std::fs;
use std::io::IoSliceMut;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};

/// File name of the console socket inside the state dir (gone once the master is received).
const CONSOLE_SOCKET: &str = "console.sock";

/// What the shim holds once the container is created.
#[derive(Debug, Default)]
pub(crate) struct Stdio {
    /// The container's stdout (the pty master's output with a terminal).
    pub out: Option<OwnedFd>,
    /// The container's stderr (none with a terminal).
    pub err: Option<OwnedFd>,
    /// Where the container's input goes (`None` without `OpenStdin`).
    pub stdin: Option<OwnedFd>,
    /// The pty master, for `resize`.
    pub master: Option<OwnedFd>,
}

/// The plumbing between "before create" and "after create".
#[derive(Debug)]
pub(crate) enum Plumbing {
    /// Pipes; the child ends are on fds 0/1/2 until [`Plumbing::finish`].
    Pipes {
        out_r: OwnedFd,
        err_r: OwnedFd,
        in_w: Option<OwnedFd>,
        null: fs::File,
    },
    /// A terminal: the listener the runtime sends the master to.
    Tty {
        listener: UnixListener,
        path: PathBuf,
        /// The path the runtime connects to (short enough for `sun_path`), and the handle
        /// on the directory it goes through.
        short: (Option<fs::File>, PathBuf),
        stdin: bool,
    },
}

fn sys(what: &str, e: nix::Error) -> String {
    format!("{what}: {e}")
}

impl Plumbing {
    /// Sets up stdio for a container with or without a terminal and stdin.
    pub fn new(state_dir: &Path, tty: bool, stdin: bool) -> Result<Plumbing, String> {
        if tty {
            let path = state_dir.join(CONSOLE_SOCKET);
            let _ = fs::remove_file(&path);
            let (dir, short) = crate::socket_path(&path)
                .map_err(|e| format!("open the state dir of the console socket: {e}"))?;
            let listener =
                UnixListener::bind(&short).map_err(|e| format!("bind the console socket: {e}"))?;
            return Ok(Plumbing::Tty {
                listener,
                path,
                short: (dir, short),
                stdin,
            });
        }
        let (out_r, out_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| sys("pipe", e))?;
        let (err_r, err_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| sys("pipe", e))?;
        let null = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")
            .map_err(|e| format!("open /dev/null: {e}"))?;
        nix::unistd::dup2_stdout(&out_w).map_err(|e| sys("dup2", e))?;
        nix::unistd::dup2_stderr(&err_w).map_err(|e| sys("dup2", e))?;
        let in_w = if stdin {
            let (in_r, in_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| sys("pipe", e))?;
            nix::unistd::dup2_stdin(&in_r).map_err(|e| sys("dup2", e))?;
            Some(in_w)
        } else {
            None
        };
        Ok(Plumbing::Pipes {
            out_r,
            err_r,
            in_w,
            null,
        })
    }

    /// The console socket to pass to `create`, with a terminal.
    pub fn console_socket(&self) -> Option<PathBuf> {
        match self {
            Plumbing::Tty { short, .. } => Some(short.1.clone()),
            Plumbing::Pipes { .. } => None,
        }
    }

    /// After `create` (whether it worked or not): gives back fds 0/1/2, or receives the pty
    /// master; returns what the shim holds.
    pub fn finish(self, created: bool) -> Result<Stdio, String> {
        match self {
            Plumbing::Pipes {
                out_r,
                err_r,
                in_w,
                null,
            } => {
                let _ = nix::unistd::dup2_stdin(&null);
                let _ = nix::unistd::dup2_stdout(&null);
                let _ = nix::unistd::dup2_stderr(&null);
                Ok(Stdio {
                    out: Some(out_r),
                    err: Some(err_r),
                    stdin: in_w,
                    master: None,
                })
            }
            Plumbing::Tty {
                listener,
                path,
                stdin,
                ..
            } => {
                let _ = fs::remove_file(&path);
                if !created {
                    return Ok(Stdio::default());
                }
                let master = receive_master(&listener)?;
                let dup = |fd: &OwnedFd| fd.try_clone().map_err(|e| format!("dup the pty: {e}"));
                Ok(Stdio {
                    out: Some(dup(&master)?),
                    err: None,
                    stdin: if stdin { Some(dup(&master)?) } else { None },
                    master: Some(master),
                })
            }
        }
    }
}

/// Accepts the runtime's connection and takes the fd it sent.
fn receive_master(listener: &UnixListener) -> Result<OwnedFd, String> {
    let (conn, _) = listener
        .accept()
        .map_err(|e| format!("accept on the console socket: {e}"))?;
    let mut buf = [0u8; 64];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(|e| sys("receive the pty master", e))?;
    for c in msg
        .cmsgs()
        .map_err(|e| sys("read the control message", e))?
    {
        if let ControlMessageOwned::ScmRights(fds) = c {
            if let Some(&fd) = fds.first() {
                // SAFETY: the kernel just installed this fd in our table; we own it.
                return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
    }
    Err("the runtime sent no pty master on the console socket".into())
}

/// Sets the terminal's window size.
pub(crate) fn resize(master: &OwnedFd, rows: u16, cols: u16) -> Result<(), String> {
    use std::os::fd::AsFd;
    berth_runtime::tty::set_window_size(master.as_fd(), rows, cols)
        .map_err(|e| format!("resize: {e}"))
}
