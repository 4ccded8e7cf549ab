//! A shim under test: its own state dir and runtime root, killed and removed on drop.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use berth_shim::{ShimClient, SpawnOptions};
use berth_testutil::{tempfile, unique, Bundle};

pub const BIN: &str = env!("CARGO_BIN_EXE_berth-shim");

#[derive(Debug)]
pub struct TestShim {
    pub id: String,
    /// Kept until the shim is gone (its rootfs is the container's).
    pub _bundle: Bundle,
    pub state: tempfile::TempDir,
    pub root: tempfile::TempDir,
    pub pid: i32,
}

impl TestShim {
    /// Options for the shim of `bundle` (not yet spawned).
    pub fn prepare(bundle: Bundle) -> (String, Bundle, tempfile::TempDir, tempfile::TempDir) {
        let id = unique("shim");
        let state = tempfile::tempdir().expect("state dir");
        let root = tempfile::tempdir().expect("runtime root");
        (id, bundle, state, root)
    }

    pub fn spawn_with(bundle: Bundle, max_size: Option<u64>, max_files: Option<u32>) -> Self {
        Self::spawn_full(bundle, max_size, max_files, (false, false))
    }

    /// With `stdin` = (`OpenStdin`, `StdinOnce`).
    pub fn spawn_full(
        bundle: Bundle,
        max_size: Option<u64>,
        max_files: Option<u32>,
        stdin: (bool, bool),
    ) -> Self {
        let (id, bundle, state, root) = Self::prepare(bundle);
        let pid = berth_shim::spawn(
            Path::new(BIN),
            &SpawnOptions {
                id: &id,
                bundle: bundle.path(),
                state_dir: state.path(),
                runtime_root: root.path(),
                log_max_size: max_size,
                log_max_files: max_files,
                stdin: stdin.0,
                stdin_once: stdin.1,
            },
        )
        .expect("spawn shim");
        TestShim {
            id,
            _bundle: bundle,
            state,
            root,
            pid,
        }
    }

    pub fn spawn(args: &[&str]) -> Self {
        Self::spawn_with(Bundle::new(args), None, None)
    }

    pub fn client(&self) -> ShimClient {
        ShimClient::connect(self.state.path()).expect("connect to shim")
    }

    pub fn log(&self) -> PathBuf {
        berth_shim::log::log_path(self.state.path(), &self.id)
    }

    /// The log's entries as JSON.
    pub fn entries(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.log())
            .expect("read log")
            .lines()
            .map(|l| serde_json::from_str(l).expect("log line is JSON"))
            .collect()
    }

    /// The `log` fields of one stream, concatenated.
    pub fn text(&self, stream: &str) -> String {
        self.entries()
            .iter()
            .filter(|e| e["stream"] == stream)
            .map(|e| e["log"].as_str().unwrap().to_string())
            .collect()
    }

    pub fn shim_pid(&self) -> i32 {
        std::fs::read_to_string(self.state.path().join(berth_shim::SHIM_PID_FILE))
            .expect("shim.pid")
            .trim()
            .parse()
            .expect("pid")
    }
}

/// Whether `pid` exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => {
            let state = s.rsplit(')').next().unwrap_or("").trim_start();
            !state.starts_with('Z') && !state.starts_with('X')
        }
        Err(_) => false,
    }
}

/// Polls `f` for up to 10 s.
pub fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for TestShim {
    fn drop(&mut self) {
        if let Ok(c) = ShimClient::connect(self.state.path()) {
            let _ = c.kill(libc::SIGKILL);
            let _ = c.wait();
        }
        // The shim removes its socket last, after deleting the container: wait for it to go.
        let sock = self.state.path().join(berth_shim::SOCKET_FILE);
        let deadline = Instant::now() + Duration::from_secs(5);
        while sock.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
