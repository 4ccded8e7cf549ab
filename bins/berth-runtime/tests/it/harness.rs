//! Running a runtime binary (berth-runtime or runc) on a bundle, with a private state root.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use berth_testutil::Bundle;

/// One runtime binary with its own state root.
pub struct Rt {
    pub bin: PathBuf,
    pub name: &'static str,
    pub root: tempfile::TempDir,
}

impl Rt {
    pub fn berth() -> Rt {
        Rt {
            bin: PathBuf::from(env!("CARGO_BIN_EXE_berth-runtime")),
            name: "berth-runtime",
            root: tempfile::Builder::new()
                .prefix("berth-rt-root-")
                .tempdir()
                .unwrap(),
        }
    }

    /// runc from Debian, if installed. In CI it must be (CI installs it).
    pub fn runc() -> Option<Rt> {
        let bin = ["/usr/sbin/runc", "/usr/bin/runc"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists());
        if bin.is_none() && std::env::var("CI").as_deref() == Ok("true") {
            panic!(
                "runc is not installed: CI must apt-get install runc for the differential tests"
            );
        }
        Some(Rt {
            bin: bin?,
            name: "runc",
            root: tempfile::Builder::new()
                .prefix("berth-runc-root-")
                .tempdir()
                .unwrap(),
        })
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg("--root").arg(self.root.path());
        c
    }

    /// Runs a command that must succeed; output goes through files, not pipes, because a
    /// container started by `create` or `run -d` inherits them and would hold pipes open.
    pub fn ok(&self, args: &[&str]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let (o, e) = (dir.path().join("out"), dir.path().join("err"));
        let status = self
            .cmd()
            .args(args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&o).unwrap())
            .stderr(std::fs::File::create(&e).unwrap())
            .status()
            .unwrap();
        let err = std::fs::read_to_string(&e).unwrap();
        assert!(status.success(), "{} {args:?} failed: {err}", self.name);
        std::fs::read_to_string(&o).unwrap()
    }

    /// Like [`Rt::ok`] but returns (success, stderr) instead of asserting.
    pub fn try_cmd(&self, args: &[&str]) -> (bool, String) {
        let dir = tempfile::tempdir().unwrap();
        let e = dir.path().join("err");
        let status = self
            .cmd()
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&e).unwrap())
            .status()
            .unwrap();
        (status.success(), std::fs::read_to_string(&e).unwrap())
    }

    /// `run` in the foreground, capturing output.
    pub fn run(&self, bundle: &Bundle, id: &str) -> Output {
        self.cmd()
            .args(["run", "--bundle"])
            .arg(bundle.path())
            .arg(id)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// `run --detach`, then waits until the container reports running.
    pub fn run_detached(&self, bundle: &Bundle, id: &str) {
        self.ok(&[
            "run",
            "--detach",
            "--bundle",
            bundle.path().to_str().unwrap(),
            id,
        ]);
        wait_status(self, id, "running");
    }

    pub fn state(&self, id: &str) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["state", id])).unwrap()
    }
}

/// Deletes the container (with --force) when dropped, so a failing test leaves no process,
/// cgroup or state behind.
pub struct Cleanup<'a> {
    pub rt: &'a Rt,
    pub id: String,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let _ = self
            .rt
            .cmd()
            .args(["delete", "--force", &self.id])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Rt {
    /// A fresh container id that is force-deleted when the guard drops.
    pub fn guard(&self, prefix: &str) -> Cleanup<'_> {
        Cleanup {
            rt: self,
            id: berth_testutil::unique(prefix),
        }
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A bundle running `sh -c script`, with a cgroup path unique to the test.
pub fn sh(script: &str) -> Bundle {
    let mut b = Bundle::new(&["sh", "-c", script]);
    let cg = format!("/{}", berth_testutil::unique("berth-test"));
    b.edit(|c| c["linux"]["cgroupsPath"] = cg.into());
    b
}

/// Asserts the run succeeded and returns its stdout.
pub fn run_ok(rt: &Rt, b: &Bundle) -> String {
    let id = berth_testutil::unique("ctr");
    let out = rt.run(b, &id);
    assert!(
        out.status.success(),
        "{} run failed ({:?}): stdout {:?} stderr {:?}",
        rt.name,
        out.status,
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

/// The v1 cgroup directory of a hierarchy for a cgroup path (hybrid/v1 hosts).
pub fn v1_dir(controller: &str, cgroup_path: &str) -> PathBuf {
    Path::new("/sys/fs/cgroup")
        .join(controller)
        .join(cgroup_path.trim_start_matches('/'))
}

/// Waits (up to 10 s) until `id` reports status `want`.
pub fn wait_status(rt: &Rt, id: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let st = rt.state(id);
        if st["status"] == want {
            return;
        }
        assert!(Instant::now() < deadline, "{id} never became {want}: {st}");
        std::thread::sleep(Duration::from_millis(10));
    }
}
