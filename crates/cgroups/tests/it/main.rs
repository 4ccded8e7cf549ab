//! Kernel-real tests: the managers against this host's cgroups.
//!
//! They need root. Without it each test prints "skipped: needs root" and passes, except under
//! `CI=true`, where a skip would hide a broken setup, so it fails instead. Every test uses its
//! own cgroup (`berth-test-<pid>-<n>`) and removes it, killed processes first, even on failure.

mod host;
mod unified;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use berth_cgroups::CgroupManager;

/// False (after printing why) when the test cannot run here.
pub fn root_or_skip() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("kernel cgroup tests need root, and CI=true forbids skipping them");
    }
    println!("skipped: needs root");
    false
}

/// A cgroup path unique to this test process and call.
pub fn unique_path() -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    PathBuf::from(format!(
        "/berth-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Resources from OCI JSON.
pub fn res(json: &str) -> oci_spec::runtime::LinuxResources {
    serde_json::from_str(json).expect("resources JSON")
}

/// Kills what is left in the cgroup and removes it when dropped.
#[derive(Debug)]
pub struct Cleanup<M: CgroupManager>(pub M);

impl<M: CgroupManager> Drop for Cleanup<M> {
    fn drop(&mut self) {
        let _ = self.0.kill_all(libc::SIGKILL);
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.0.pids().is_ok_and(|p| !p.is_empty()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        if let Err(e) = self.0.remove() {
            eprintln!("cleanup of {} failed: {e}", self.0.path().display());
        }
    }
}

/// A `sh -c` child that waits for a line on stdin before running its script, so that it can
/// be moved into a cgroup first.
#[derive(Debug)]
pub struct Gated {
    child: Option<Child>,
}

impl Gated {
    pub fn spawn(script: &str) -> Self {
        let child = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("read _gate; {script}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn /bin/sh");
        Self { child: Some(child) }
    }

    fn child(&mut self) -> &mut Child {
        self.child.as_mut().expect("child already waited for")
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().expect("child already waited for").id() as i32
    }

    pub fn release(&mut self) {
        self.child()
            .stdin
            .take()
            .unwrap()
            .write_all(b"go\n")
            .unwrap();
    }

    pub fn wait(mut self) -> Output {
        self.child.take().unwrap().wait_with_output().unwrap()
    }
}

impl Drop for Gated {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The `/proc/<pid>/cgroup` text.
pub fn proc_cgroup(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap()
}

/// The one-letter state from `/proc/<pid>/status`.
pub fn proc_state(pid: i32) -> char {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("State:")).unwrap();
    line["State:".len()..].trim().chars().next().unwrap()
}

/// Polls until `f` is true or panics after `secs` seconds with `what`.
pub fn wait_for(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A control file's content, trimmed.
pub fn read(dir: &Path, file: &str) -> String {
    let path = dir.join(file);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .to_string()
}
