//! `berth` as a client of berthd: a private berthd per test (built by cargo beside this
//! test's `berth`, with `berth-shim`), the busybox bench image loaded through the API, then
//! docker's verbs through `berth -H unix://…`, compared line for line with the real docker
//! CLI against the same daemon where the output is deterministic.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{make_archive, Run};

const DOCKER: &str = "/usr/local/bin/docker";
const IMAGE: &str = "bench/load:latest";

/// berthd and berth-shim, built once per test process beside `berth`.
fn daemon_binaries() -> (PathBuf, PathBuf) {
    static BUILT: std::sync::OnceLock<(PathBuf, PathBuf)> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let berth = Path::new(env!("CARGO_BIN_EXE_berth"));
            let profile_dir = berth.parent().expect("berth has a directory");
            let target = profile_dir.parent().expect("target dir");
            let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
            cmd.args(["build", "--quiet", "-p", "berthd", "-p", "berth-shim-cli"])
                .arg("--target-dir")
                .arg(target)
                .current_dir(env!("CARGO_MANIFEST_DIR"));
            if profile_dir.file_name().is_some_and(|n| n == "release") {
                cmd.arg("--release");
            }
            let st = cmd.status().expect("cargo runs");
            assert!(
                st.success(),
                "cargo build -p berthd -p berth-shim-cli failed"
            );
            (profile_dir.join("berthd"), profile_dir.join("berth-shim"))
        })
        .clone()
}

/// A private berthd; SIGTERM on drop.
#[derive(Debug)]
pub(crate) struct Daemon {
    child: Child,
    dir: tempfile::TempDir,
    sock: PathBuf,
    /// berthd's private network namespace (its bridge and firewall table are its own);
    /// dropped after berthd.
    pub(crate) net: berth_testutil::netns::TestNet,
}

impl Daemon {
    pub(crate) fn start() -> Daemon {
        Daemon::start_with(&[])
    }

    /// A private berthd with `extra` flags.
    pub(crate) fn start_with(extra: &[&str]) -> Daemon {
        let (berthd, shim) = daemon_binaries();
        let dir = tempfile::Builder::new()
            .prefix("bc")
            .tempdir()
            .expect("tempdir");
        let sock = dir.path().join("run/berth.sock");
        berth_testutil::pin_gc_policy(&dir.path().join("data"));
        let log = std::fs::File::create(dir.path().join("berthd.log")).expect("log");
        let net = berth_testutil::netns::TestNet::new();
        let mut cmd = Command::new(berthd);
        net.enter(&mut cmd);
        let child = cmd
            .arg("-H")
            .arg(format!("unix://{}", sock.display()))
            .arg("--data-root")
            .arg(dir.path().join("data"))
            .arg("--exec-root")
            .arg(dir.path().join("run"))
            .arg("--pidfile")
            .arg(dir.path().join("run/berthd.pid"))
            .arg("--shim-binary")
            .arg(shim)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("berthd starts");
        let d = Daemon {
            child,
            dir,
            sock,
            net,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while UnixStream::connect(&d.sock).is_err() {
            assert!(
                Instant::now() < deadline,
                "berthd did not listen: {}",
                d.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        d
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("berthd.log")).unwrap_or_default()
    }

    pub(crate) fn host(&self) -> String {
        format!("unix://{}", self.sock.display())
    }

    pub(crate) fn berth_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_berth"));
        c.arg("-H").arg(self.host()).args(args).stdin(Stdio::null());
        // The client's own cache (build digests) stays in the test's directory.
        c.env("XDG_CACHE_HOME", self.dir.path().join("cache"));
        c
    }

    /// berthd's `--data-root`.
    pub(crate) fn data_root(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The client's cache directory (`XDG_CACHE_HOME` of [`Daemon::berth_cmd`]).
    pub(crate) fn cache_dir(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    /// `POST path` with `body` on a connection of its own; the status and the whole answer.
    pub(crate) fn post_raw(&self, path: &str, content_type: &str, body: &[u8]) -> (u16, String) {
        use std::io::Read;
        let mut s = UnixStream::connect(&self.sock).expect("connect to berthd");
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: berth\r\nContent-Type: {content_type}\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).expect("send head");
        s.write_all(body).expect("send body");
        let mut answer = String::new();
        s.read_to_string(&mut answer).expect("read the answer");
        let status = answer
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        (status, answer)
    }

    pub(crate) fn berth(&self, args: &[&str]) -> Run {
        self.berth_cmd(args).output().expect("berth runs").into()
    }

    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let r = self.berth(args);
        assert!(
            r.ok,
            "berth {args:?} failed: {r:?}\nberthd log:\n{}",
            self.log()
        );
        r.stdout
    }

    pub(crate) fn docker(&self, args: &[&str]) -> String {
        self.docker_env(&[], args)
    }

    /// The docker CLI with `envs` set, asserting success; returns stdout.
    pub(crate) fn docker_env(&self, envs: &[(&str, &str)], args: &[&str]) -> String {
        let out = Command::new(DOCKER)
            .envs(envs.iter().copied())
            .arg("-H")
            .arg(self.host())
            .args(args)
            .env("DOCKER_CONFIG", self.dir.path().join("docker-config"))
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_API_VERSION")
            .stdin(Stdio::null())
            .output()
            .expect("docker runs");
        assert!(out.status.success(), "docker {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Loads bench/load:latest through the API.
    pub(crate) fn load_image(&self) {
        let a = make_archive(&self.dir.path().join("bench.tar"));
        let out = self.ok(&["load", "-i", a.to_str().expect("utf-8")]);
        assert_eq!(out, "Loaded image: bench/load:latest\n");
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // Containers outlive berthd (live restore): remove them first, also after a failed
        // assertion, so no shim, mount or cgroup is left behind.
        let ids = self.berth(&["ps", "-a", "-q", "--no-trunc"]).stdout;
        for id in ids.split_whitespace() {
            let _ = self.berth(&["rm", "-f", id]);
        }
        let pid = i32::try_from(self.child.id()).expect("pid");
        // SAFETY: signalling our own child.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(15);
        while matches!(self.child.try_wait(), Ok(None)) {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.wait();
    }
}

#[test]
fn container_lifecycle_over_the_api() {
    berth_testutil::require_root!();
    let d = Daemon::start();
    d.load_image();
    let name = berth_testutil::unique("web");
    let script = "echo started; echo oops >&2; while true; do sleep 1; done";
    let id = d.ok(&[
        "run", "-d", "--name", &name, "-e", "A=1", IMAGE, "sh", "-c", script,
    ]);
    let id = id.trim().to_string();
    assert_eq!(id.len(), 64, "run -d prints the full id: {id:?}");

    let table = d.ok(&["ps"]);
    let mut lines = table.lines();
    assert_eq!(
        crate::cells(lines.next().expect("header")),
        [
            "CONTAINER ID",
            "IMAGE",
            "COMMAND",
            "CREATED",
            "STATUS",
            "PORTS",
            "NAMES"
        ]
    );
    let rows: Vec<Vec<String>> = lines.map(crate::cells).collect();
    assert_eq!(rows.len(), 1, "{table}");
    assert_eq!(rows[0][0], id[..12]);
    assert_eq!(rows[0][1], IMAGE);
    assert_eq!(rows[0][2], "\"sh -c echo started;…\"");
    assert_eq!(rows[0].last().unwrap(), &name);
    assert!(rows[0][4].starts_with("Up "), "{table}");
    assert_eq!(d.ok(&["ps", "--format", "{{.Names}}"]), format!("{name}\n"));
    assert_eq!(d.ok(&["ps", "-q"]), format!("{}\n", &id[..12]));

    // Logs: stdout and stderr demultiplexed to the right streams.
    let deadline = Instant::now() + Duration::from_secs(10);
    let logs = loop {
        let r = d.berth(&["logs", &name]);
        if r.stdout.contains("started") || Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        (logs.stdout.as_str(), logs.stderr.as_str()),
        ("started\n", "oops\n")
    );

    // exec: output, environment, exit code.
    let r = d.berth(&["exec", &name, "sh", "-c", "echo in-$A; exit 4"]);
    assert_eq!((r.code, r.stdout.as_str()), (Some(4), "in-1\n"), "{r:?}");
    assert_eq!(
        d.ok(&["inspect", "-f", "{{.State.Status}}", &name]),
        "running\n"
    );
    assert_eq!(
        d.ok(&["inspect", "-f", "{{.State.Running}} {{.Name}}", &id[..12]]),
        format!("true /{name}\n")
    );

    assert_eq!(d.ok(&["stop", "-t", "1", &name]), format!("{name}\n"));
    assert_eq!(
        d.ok(&["inspect", "-f", "{{.State.Status}}", &name]),
        "exited\n"
    );
    assert_eq!(d.ok(&["ps", "-q"]), "");
    assert_eq!(d.ok(&["rm", &name]), format!("{name}\n"));
    let r = d.berth(&["rm", &name]);
    assert_eq!(r.code, Some(1));
    assert!(
        r.stderr
            .starts_with("Error response from daemon: No such container"),
        "{r:?}"
    );
    assert_eq!(d.ok(&["ps", "-a", "-q"]), "");
}

#[test]
fn run_exit_codes_stdin_volumes_and_docker_parity() {
    berth_testutil::require_root!();
    let d = Daemon::start();
    d.load_image();

    let r = d.berth(&["run", "--rm", IMAGE, "sh", "-c", "echo out; exit 3"]);
    assert_eq!((r.code, r.stdout.as_str()), (Some(3), "out\n"), "{r:?}");

    let mut child = d
        .berth_cmd(&["run", "-i", "--rm", IMAGE, "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("berth run -i");
    child.stdin.take().unwrap().write_all(b"hi\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\n");
    assert_eq!(d.ok(&["ps", "-a", "-q"]), "", "--rm removed both");

    let r = d.berth(&["run", "--rm", "no/such-image-here:1", "true"]);
    assert_eq!(r.code, Some(125), "{r:?}");

    // Volumes.
    let v1 = berth_testutil::unique("vol");
    assert_eq!(d.ok(&["volume", "create", &v1]), format!("{v1}\n"));
    assert_eq!(d.ok(&["volume", "create", "--label", "k=v", "v2"]), "v2\n");
    let ls = d.ok(&["volume", "ls"]);
    let rows = crate::check_table(&ls, &["DRIVER", "VOLUME NAME"]);
    assert_eq!(rows.len(), 2, "{ls}");
    assert_eq!(
        d.ok(&["volume", "ls", "-q"]),
        d.docker(&["volume", "ls", "-q"])
    );
    assert_eq!(
        d.ok(&["volume", "inspect", "-f", "{{.Name}} {{.Labels}}", "v2"]),
        "v2 map[k:v]\n"
    );

    // Parity with the docker CLI on stable output: created containers.
    d.ok(&["create", "--name", "pa", "-l", "x=y", IMAGE, "true"]);
    d.ok(&[
        "create",
        "--name",
        "pb",
        IMAGE,
        "sh",
        "-c",
        "echo a long command line here",
    ]);
    for args in [
        &["ps", "-a", "--format", "{{.Names}} {{.Status}}"][..],
        &[
            "ps",
            "-a",
            "--format",
            "table {{.Names}}\t{{.Command}}\t{{.Status}}",
        ][..],
        &["ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Command}}"][..],
        &["ps", "-a", "--filter", "name=pa", "--format", "{{.Names}}"][..],
        &[
            "inspect",
            "-f",
            "{{.State.Status}} {{.Config.Labels}} {{index .Config.Labels \"x\"}}",
            "pa",
        ][..],
        &["inspect", "-f", "{{json .Config.Cmd}} {{.Id}}", "pb"][..],
        &["inspect", "pa"][..],
        &["images"][..],
        &["volume", "ls"][..],
    ] {
        assert_eq!(
            d.ok(args),
            d.docker(args),
            "berth and docker differ on {args:?}"
        );
    }
    assert_eq!(d.ok(&["rm", "pa", "pb"]), "pa\npb\n");
    assert_eq!(d.ok(&["volume", "rm", &v1, "v2"]), format!("{v1}\nv2\n"));
    assert_eq!(d.ok(&["volume", "ls", "-q"]), "");
}

#[test]
fn a_missing_daemon_says_how_to_start_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let host = format!("unix://{}/nope.sock", dir.path().display());
    let run = |args: &[&str]| -> Run {
        Command::new(env!("CARGO_BIN_EXE_berth"))
            .arg("-H")
            .arg(&host)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("berth runs")
            .into()
    };
    let r = run(&["ps"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stderr.contains("Is berthd running?"), "{r:?}");
    assert!(
        r.stderr.contains("sudo berthd") && r.stderr.contains("BERTH_HOST"),
        "{r:?}"
    );
    assert!(r.stderr.contains(&host), "{r:?}");
    let r = run(&["run", "--rm", IMAGE, "true"]);
    assert_eq!(r.code, Some(125), "{r:?}");
    assert!(r.stderr.contains("Is berthd running?"), "{r:?}");
    // BERTH_HOST is read when -H is absent.
    let r: Run = Command::new(env!("CARGO_BIN_EXE_berth"))
        .arg("volume")
        .arg("ls")
        .env("BERTH_HOST", &host)
        .stdin(Stdio::null())
        .output()
        .expect("berth runs")
        .into();
    assert!(r.code == Some(1) && r.stderr.contains(&host), "{r:?}");
}
