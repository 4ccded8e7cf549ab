//! berth-shim: the per-container monitor process, and berthd's client for it.
//!
//! Why a shim: berthd must be able to crash, restart or be upgraded while containers keep
//! running (live restore). So each container's init is the child of a tiny, long-lived process
//! that owns what must not die with berthd: the container's stdout/stderr pipes or its pty
//! master (written to a Docker json-file log), its stdin's write end (`docker run -i`), the
//! reaping of the init (its exit code goes to `exit.json`), and a control socket (`shim.sock`)
//! berthd reconnects to (`state`, `kill`, `wait`, `resize`, and `stdin`, whose connection then
//! carries the client's input; see `stdio` and `server::control`).
//!
//! Invariants:
//! - Single-threaded and synchronous: one `poll(2)` loop over the pipes, the listening socket,
//!   the clients and a signalfd for SIGCHLD. No async runtime (the shim must stay small), and
//!   [`berth_runtime::Runtime::create`] clones, which needs a single-threaded caller.
//! - The shim is daemonized (double fork, setsid, stdio on /dev/null, cwd `/`, every inherited
//!   fd closed): nothing of its spawner reaches it, nothing of it reaches the container.
//! - `exit.json` is written atomically after the logs are drained, so a reader that sees it
//!   also sees every log line; then the runtime state is deleted and the shim exits.
//!
//! Files in the state dir: `shim.pid`, `init.pid`, `shim.sock`, `<id>-json.log[.N]`,
//! `exit.json`.
//!
//! `berth-shim exec` ([`exec`]) runs one `docker exec` process in the foreground.
//!
//! Modules: [`client`] (berthd's side: [`ShimClient`], [`spawn`], [`wait_exit`], [`read_exit`]), `daemon`
//! and `server` (the shim itself, entered through [`start`]), [`log`] (json-file with
//! rotation), [`exit`] (the exit record), [`time`] (RFC 3339).

#![warn(missing_docs)]

pub mod client;
mod daemon;
pub mod exec;
pub mod exit;
pub mod log;
mod server;
mod stdio;
pub mod time;

pub use client::{spawn, wait_exit, ExitWatch, ShimClient, ShimState, SpawnOptions};
pub use daemon::start;
pub use exit::{read_exit, ExitInfo};

use std::path::PathBuf;

/// A path for a unix socket at `path` that fits `sun_path` (108 bytes): `path` itself when
/// short enough, else `/proc/self/fd/<fd>/<name>` through the returned handle on its
/// directory, which must stay open while the path is used. Why: the state dir holds a
/// 64-hex container id under the exec root, so a deep exec root makes `shim.sock` too long
/// to bind or connect to.
pub fn socket_path(path: &std::path::Path) -> std::io::Result<(Option<std::fs::File>, PathBuf)> {
    use std::os::fd::AsRawFd;
    const SUN_PATH_MAX: usize = 107;
    if path.as_os_str().len() <= SUN_PATH_MAX {
        return Ok((None, path.to_path_buf()));
    }
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok((None, path.to_path_buf()));
    };
    let d = std::fs::File::open(dir)?;
    let short = PathBuf::from(format!("/proc/self/fd/{}", d.as_raw_fd())).join(name);
    Ok((Some(d), short))
}

/// File name of the control socket inside the state dir.
pub const SOCKET_FILE: &str = "shim.sock";
/// File name of the shim's pid inside the state dir.
pub const SHIM_PID_FILE: &str = "shim.pid";
/// File name of the init's pid inside the state dir.
pub const INIT_PID_FILE: &str = "init.pid";

/// What `berth-shim start` is given.
#[derive(Debug, Clone)]
pub struct ShimOptions {
    /// The container id.
    pub id: String,
    /// The OCI bundle.
    pub bundle: PathBuf,
    /// Where the shim keeps its files (pid files, socket, log, exit record).
    pub state_dir: PathBuf,
    /// The runtime's state root (runc's `--root`).
    pub runtime_root: PathBuf,
    /// Log rotation size in bytes (0: never rotate).
    pub log_max_size: u64,
    /// Log files kept, the live one included.
    pub log_max_files: u32,
    /// Keep the container's stdin open for `stdin` clients (`OpenStdin`).
    pub stdin: bool,
    /// Close it when the first feeding client leaves (`StdinOnce`).
    pub stdin_once: bool,
}
