//! A private berthd per test, and the docker CLI pointed at it.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use berth_testutil::netns::TestNet;

/// The docker CLI the tests drive.
pub const DOCKER: &str = "/usr/local/bin/docker";

/// A running berthd; stopped with SIGTERM (then SIGKILL) on drop.
#[derive(Debug)]
pub struct Daemon {
    child: Child,
    pub dir: tempfile::TempDir,
    pub sock: PathBuf,
    pub pidfile: PathBuf,
    /// Flags added to every start (see [`Daemon::start_with`]).
    extra: Vec<String>,
    /// The private network namespace berthd runs in (`None`: the host's, see
    /// [`Daemon::start_on_host`]). Declared last: dropped after berthd is stopped.
    pub net: Option<std::sync::Arc<berth_testutil::netns::TestNet>>,
}

/// `berth-shim` beside the berthd under test, built once per test process: cargo builds
/// only the binaries of the package under test, and containers need the shim.
pub fn shim_binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let berthd = Path::new(env!("CARGO_BIN_EXE_berthd"));
            let profile_dir = berthd.parent().expect("berthd has a directory");
            let target = profile_dir.parent().expect("target dir");
            let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
            cmd.args(["build", "--quiet", "-p", "berth-shim-cli", "--target-dir"])
                .arg(target)
                .current_dir(env!("CARGO_MANIFEST_DIR"));
            if profile_dir.file_name().is_some_and(|n| n == "release") {
                cmd.arg("--release");
            }
            let st = cmd.status().expect("cargo runs");
            assert!(st.success(), "cargo build -p berth-shim-cli failed");
            let shim = profile_dir.join("berth-shim");
            assert!(shim.is_file(), "{} missing after the build", shim.display());
            shim
        })
        .clone()
}

impl Daemon {
    pub fn start() -> Daemon {
        Self::start_with(tempfile::tempdir().expect("tempdir"), &[])
    }

    /// Like [`Daemon::start`] in `dir`, with `extra` flags after the usual ones (kept for
    /// [`Daemon::restart`]).
    pub fn start_with(dir: tempfile::TempDir, extra: &[&str]) -> Daemon {
        Self::launch(dir, extra, Some(Arc::new(TestNet::new())))
    }

    /// Like [`Daemon::start_with`] in the given namespace (shared with another daemon).
    pub fn start_in(net: Arc<TestNet>, dir: tempfile::TempDir, extra: &[&str]) -> Daemon {
        Self::launch(dir, extra, Some(net))
    }

    /// Like [`Daemon::start_with`] but in the host's network namespace (for TCP listeners
    /// the test connects to), with no default bridge and no firewall table, so nothing of
    /// the host's network changes.
    pub fn start_on_host(dir: tempfile::TempDir, extra: &[&str]) -> Daemon {
        let mut all = vec!["-b", "none", "--iptables=false"];
        all.extend_from_slice(extra);
        Self::launch(dir, &all, None)
    }

    fn launch(dir: tempfile::TempDir, extra: &[&str], net: Option<Arc<TestNet>>) -> Daemon {
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let sock = dir.path().join("run/berth.sock");
        let pidfile = dir.path().join("run/berthd.pid");
        let config = dir.path().join("daemon.json");
        std::fs::write(&config, r#"{"log-level":"debug"}"#).expect("write daemon.json");
        berth_testutil::pin_gc_policy(&dir.path().join("data"));
        let child = Self::spawn(dir.path(), &sock, &pidfile, &extra, net.as_ref());
        let d = Daemon {
            child,
            dir,
            sock,
            pidfile,
            extra,
            net,
        };
        d.await_socket();
        d
    }

    fn spawn(
        dir: &Path,
        sock: &Path,
        pidfile: &Path,
        extra: &[String],
        net: Option<&Arc<TestNet>>,
    ) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("berthd.log"))
            .expect("log file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_berthd"));
        if let Some(net) = net {
            net.enter(&mut cmd);
        }
        cmd.arg("-H")
            .arg(format!("unix://{}", sock.display()))
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("run"))
            .arg("--pidfile")
            .arg(pidfile)
            .arg("--config-file")
            .arg(dir.join("daemon.json"))
            .arg("--shim-binary")
            .arg(shim_binary())
            .args(extra)
            .stdin(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("berthd starts")
    }

    fn await_socket(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while UnixStream::connect(&self.sock).is_err() {
            assert!(
                Instant::now() < deadline,
                "berthd did not listen; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `kill -9` berthd (nothing of it runs afterwards).
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts berthd again on the same roots (after [`Daemon::kill9`] or [`Daemon::stop`]).
    pub fn restart(&mut self) {
        self.child = Self::spawn(
            self.dir.path(),
            &self.sock,
            &self.pidfile,
            &self.extra,
            self.net.as_ref(),
        );
        self.await_socket();
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("berthd.log")).unwrap_or_default()
    }

    pub fn data_root(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("pid fits")
    }

    /// Runs the docker CLI against this daemon.
    pub fn docker(&self, args: &[&str]) -> Output {
        self.docker_with_stdin(args, None)
    }

    pub fn docker_with_stdin(&self, args: &[&str], stdin: Option<&Path>) -> Output {
        let mut c = Command::new(DOCKER);
        c.arg("-H")
            .arg(format!("unix://{}", self.sock.display()))
            .args(args)
            .env("DOCKER_CONFIG", self.dir.path().join("docker-config"))
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_API_VERSION");
        if let Some(p) = stdin {
            c.stdin(std::fs::File::open(p).expect("stdin file"));
        } else {
            c.stdin(Stdio::null());
        }
        c.output().expect("docker CLI runs")
    }

    /// Runs docker, requires success, returns stdout.
    pub fn docker_ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(
            out.status.success(),
            "docker {args:?} failed: {}\nberthd log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A raw HTTP/1.1 request; returns the status and the body.
    pub fn request(&self, method: &str, path: &str) -> (u16, String) {
        self.request_with_body(method, path, "")
    }

    /// A raw HTTP/1.1 request with a JSON body; returns the status and the body.
    pub fn request_with_body(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        let mut s = UnixStream::connect(&self.sock).expect("connect");
        let head = if body.is_empty() {
            String::new()
        } else {
            format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            )
        };
        // A server that refuses a body stops reading it: a failed send is not the test's
        // failure; what was answered (if anything) is read below.
        let _ = write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: berth\r\nConnection: close\r\n{head}\r\n{body}"
        );
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw);
        let text = String::from_utf8_lossy(&raw).into_owned();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        (status, body.to_string())
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        // SAFETY: signalling our own child process.
        unsafe { libc::kill(self.pid(), libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(st) = self.child.try_wait().expect("wait") {
                return st;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return self.child.wait().expect("wait");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            // A test that failed half-way leaves containers: none may outlive the test (with
            // their mounts, namespaces and cgroups).
            let ids = self.docker(&["ps", "-aq"]);
            let ids = String::from_utf8_lossy(&ids.stdout).to_string();
            let ids: Vec<&str> = ids.split_whitespace().collect();
            if !ids.is_empty() {
                let mut args = vec!["rm", "-f", "-v"];
                args.extend(ids);
                let _ = self.docker(&args);
            }
            self.stop();
        }
    }
}

/// `bench/make-archive.sh OUT 4 1`: a docker-archive tagged `bench/load:latest`.
pub fn bench_archive(dir: &Path) -> PathBuf {
    let out = dir.join("bench.tar");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/make-archive.sh");
    let st = Command::new("bash")
        .arg(script)
        .arg(&out)
        .args(["4", "1"])
        .stdout(Stdio::null())
        .status()
        .expect("make-archive.sh runs");
    assert!(st.success(), "make-archive.sh failed");
    out
}

/// Docker's `HumanSizeWithPrecision(size, 3)`: decimal units, 3 significant digits.
pub fn human_size(size: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut v = size as f64;
    let mut i = 0;
    while v >= 1000.0 && i + 1 < units.len() {
        v /= 1000.0;
        i += 1;
    }
    let int_digits = if v >= 100.0 {
        3
    } else if v >= 10.0 {
        2
    } else {
        1
    };
    let s = format!("{:.*}", 3usize.saturating_sub(int_digits), v);
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    format!("{s}{}", units[i])
}

/// A private berthd with the bench image (`bench/load:latest`) loaded.
pub fn loaded() -> Daemon {
    let d = Daemon::start();
    let archive = bench_archive(d.dir.path());
    d.docker_ok(&["load", "-i", archive.to_str().expect("utf-8 path")]);
    d
}
