//! berthd's side of the shim: spawn it, talk to its control socket, read its exit record.
//!
//! The protocol is one connection per request: the client writes one line (`state`,
//! `kill <SIGNAL>`, `wait`) and reads one line of JSON. Keeping no connection open means
//! berthd has nothing to re-establish after a restart: it just connects again.

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use crate::exit::{self, ExitInfo};

/// What `state` answers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ShimState {
    /// The init pid (in the shim's pid namespace).
    pub pid: i32,
    /// `running` or `exited`.
    pub status: String,
    /// The exit code once exited.
    pub exit_code: Option<i32>,
}

/// A handle on a running shim's control socket.
#[derive(Debug, Clone)]
pub struct ShimClient {
    state_dir: PathBuf,
}

impl ShimClient {
    /// Connects to the shim of `state_dir` (checks that it answers connections).
    pub fn connect(state_dir: impl Into<PathBuf>) -> io::Result<Self> {
        let c = ShimClient {
            state_dir: state_dir.into(),
        };
        c.stream()?;
        Ok(c)
    }

    fn stream(&self) -> io::Result<UnixStream> {
        let (_dir, path) = crate::socket_path(&self.state_dir.join(crate::SOCKET_FILE))?;
        UnixStream::connect(path)
    }

    fn request(&self, line: &str) -> io::Result<serde_json::Value> {
        let mut s = self.stream()?;
        s.write_all(format!("{line}\n").as_bytes())?;
        let mut reply = String::new();
        BufReader::new(s).read_line(&mut reply)?;
        if reply.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the shim closed the connection without answering",
            ));
        }
        let v: serde_json::Value = serde_json::from_str(&reply)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        if let Some(err) = v.get("error").and_then(|e| e.as_str()) {
            return Err(io::Error::other(err.to_string()));
        }
        Ok(v)
    }

    /// The container's pid and status.
    pub fn state(&self) -> io::Result<ShimState> {
        serde_json::from_value(self.request("state")?)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// Sends signal number `sig` to the container's init.
    pub fn kill(&self, sig: i32) -> io::Result<()> {
        self.request(&format!("kill {sig}")).map(drop)
    }

    /// A connection whose bytes the shim writes to the container's stdin; shutting down
    /// its write side (or dropping it) ends the feed, which closes the stdin of a
    /// `StdinOnce` container. An error when the container's stdin is not open.
    pub fn open_stdin(&self) -> io::Result<UnixStream> {
        let mut s = self.stream()?;
        s.write_all(b"stdin\n")?;
        let mut reply = Vec::new();
        let mut byte = [0u8; 1];
        while reply.len() < 4096 {
            match io::Read::read(&mut s, &mut byte)? {
                0 => break,
                _ if byte[0] == b'\n' => break,
                _ => reply.push(byte[0]),
            }
        }
        let v: serde_json::Value = serde_json::from_slice(&reply)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        if let Some(err) = v.get("error").and_then(|e| e.as_str()) {
            return Err(io::Error::other(err.to_string()));
        }
        Ok(s)
    }

    /// Sets the container's terminal size.
    pub fn resize(&self, rows: u16, cols: u16) -> io::Result<()> {
        self.request(&format!("resize {rows} {cols}")).map(drop)
    }

    /// Blocks until the init has exited and its exit is recorded. If the shim goes away
    /// meanwhile (it exits right after recording), the record is read from disk.
    pub fn wait(&self) -> io::Result<ExitInfo> {
        match self.request("wait") {
            Ok(v) => {
                serde_json::from_value(v).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
            }
            Err(e) => match exit::read_exit(&self.state_dir)? {
                Some(info) => Ok(info),
                None => Err(e),
            },
        }
    }
}

/// A `wait` request left open, for a caller that polls: see [`ShimClient::exit_watch`].
#[derive(Debug)]
pub struct ExitWatch {
    stream: UnixStream,
}

impl ExitWatch {
    /// Waits up to `timeout` for the exit to be recorded (or the shim to go); returns
    /// whether it happened.
    pub fn wait_timeout(&self, timeout: std::time::Duration) -> io::Result<bool> {
        use std::os::fd::AsFd;
        let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [nix::poll::PollFd::new(
            self.stream.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        match nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(ms)) {
            Ok(n) => Ok(n > 0),
            Err(nix::errno::Errno::EINTR) => Ok(false),
            Err(e) => Err(io::Error::from(e)),
        }
    }
}

impl ShimClient {
    /// Sends `wait` and returns at once: the connection becomes readable when the exit is
    /// recorded (the shim answers) or the shim is gone. For loops that have other work
    /// between looks (following a log) and must not sleep past the exit.
    pub fn exit_watch(&self) -> io::Result<ExitWatch> {
        let mut stream = self.stream()?;
        stream.write_all(b"wait\n")?;
        Ok(ExitWatch { stream })
    }
}

/// Waits for the container of `state_dir` to exit, whether its shim still runs or has
/// already recorded the exit and gone (a short-lived container's shim may be gone before the
/// caller gets to connect).
pub fn wait_exit(state_dir: impl Into<PathBuf>) -> io::Result<ExitInfo> {
    ShimClient {
        state_dir: state_dir.into(),
    }
    .wait()
}

/// What [`spawn`] passes to `berth-shim start`.
#[derive(Debug, Clone)]
pub struct SpawnOptions<'a> {
    /// The container id.
    pub id: &'a str,
    /// The OCI bundle.
    pub bundle: &'a Path,
    /// The shim's state dir.
    pub state_dir: &'a Path,
    /// The runtime's state root.
    pub runtime_root: &'a Path,
    /// Log rotation size (None: the shim's default).
    pub log_max_size: Option<u64>,
    /// Log files kept (None: the shim's default).
    pub log_max_files: Option<u32>,
    /// Keep the container's stdin open (`OpenStdin`).
    pub stdin: bool,
    /// Close it when the first attached client leaves (`StdinOnce`).
    pub stdin_once: bool,
}

/// Runs `<binary> start …` and returns the init pid once the container is started; the shim
/// itself has daemonized and outlives the caller. An error carries the shim's message.
pub fn spawn(binary: &Path, opts: &SpawnOptions<'_>) -> io::Result<i32> {
    let mut cmd = Command::new(binary);
    cmd.arg("start")
        .arg("--id")
        .arg(opts.id)
        .arg("--bundle")
        .arg(opts.bundle)
        .arg("--state-dir")
        .arg(opts.state_dir)
        .arg("--runtime-root")
        .arg(opts.runtime_root);
    if let Some(n) = opts.log_max_size {
        cmd.arg("--log-max-size").arg(n.to_string());
    }
    if let Some(n) = opts.log_max_files {
        cmd.arg("--log-max-files").arg(n.to_string());
    }
    if opts.stdin {
        cmd.arg("--stdin");
    }
    if opts.stdin_once {
        cmd.arg("--stdin-once");
    }
    let out = cmd.output()?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(io::Error::other(format!("berth-shim start: {msg}")));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim().parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("berth-shim start printed {text:?}, not a pid"),
        )
    })
}
