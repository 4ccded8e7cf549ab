//! Peer programs (containerd, dockerd, podman, …) run privately by a test: finding them, a
//! daemon guard that undoes what the daemon left behind, and a private dockerd.
//!
//! Every peer gets its own temp directory, sockets and state roots; nothing here touches the
//! host's daemons, network or firewall.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where peers are looked for, in order.
const BIN_DIRS: [&str; 3] = ["/usr/bin", "/usr/sbin", "/usr/local/bin"];

fn find(bin: &str) -> Option<PathBuf> {
    BIN_DIRS
        .iter()
        .map(|d| Path::new(d).join(bin))
        .find(|p| p.exists())
}

/// Finds an installed peer program. When it is missing the test should return (skip): this
/// prints why, and panics instead when `CI=true`, since CI installs every peer.
pub fn need(bin: &str) -> Option<PathBuf> {
    let found = find(bin);
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{bin} is not installed: CI must install it"
        );
        eprintln!("skipped: {bin} is not installed");
    }
    found
}

/// Runs `cmd` with `input` on its stdin and its stdout and stderr captured.
pub fn output_with_stdin(cmd: &mut Command, input: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input).expect("write stdin");
    }
    child.wait_with_output().expect("wait")
}

/// Runs `cmd` with stdin from /dev/null: (success, stdout, stderr).
pub fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.stdin(Stdio::null()).output().expect("spawn command");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A busybox rootfs (see [`crate::busybox_rootfs`]) at `dir/rootfs`, packed into
/// `dir/rootfs.tar`, for `docker import` / `podman import`. Returns the tar's path.
pub fn busybox_tar(dir: &Path) -> PathBuf {
    let rootfs = dir.join("rootfs");
    crate::busybox_rootfs(&rootfs).expect("busybox rootfs");
    let tar = dir.join("rootfs.tar");
    let st = Command::new("tar")
        .arg("-C")
        .arg(&rootfs)
        .args(["-c", "-f"])
        .arg(&tar)
        .arg(".")
        .status()
        .expect("spawn tar");
    assert!(st.success(), "tar of the busybox rootfs");
    tar
}

/// A daemon process owned by a test. On drop it is stopped (SIGTERM, then SIGKILL after 20 s),
/// whatever it left mounted under its directory is unmounted, its directory is removed, and so
/// is the top-level cgroup its containers went under, when the test created it.
#[derive(Debug)]
pub struct Daemon {
    child: Child,
    dir: tempfile::TempDir,
    cgroup_parent: Option<&'static str>,
}

impl Daemon {
    /// Takes ownership of `child`, running with its state in `dir`. `cgroup_parent` is the
    /// top-level cgroup to remove at the end: pass it only when it did not exist before the
    /// daemon started ([`crate::cgroup_parent_exists`]). A daemon that logs should write to
    /// `dir/daemon.log`: [`Daemon::wait_for`] shows it when the daemon dies.
    pub fn new(child: Child, dir: tempfile::TempDir, cgroup_parent: Option<&'static str>) -> Self {
        Daemon {
            child,
            dir,
            cgroup_parent,
        }
    }

    /// The daemon's private directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Polls `ready` every 100 ms for up to 60 s; panics with `dir/daemon.log` if the daemon
    /// exits meanwhile, or when the time is up.
    pub fn wait_for(&mut self, what: &str, mut ready: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !ready() {
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!("{what} exited with {st}: {}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "{what} did not become ready in 60 s: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("daemon.log")).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // SAFETY: signalling our own child, not yet reaped (its pid cannot have been reused).
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Anything the daemon left mounted under its directory is ours to undo, deepest first.
        if let Some(dir) = self.dir.path().to_str() {
            for m in crate::mounts_containing(dir).iter().rev() {
                let _ = nix::mount::umount2(m.as_str(), nix::mount::MntFlags::MNT_DETACH);
            }
        }
        if let Some(name) = self.cgroup_parent {
            crate::remove_cgroup_parent(name);
        }
    }
}

/// A private dockerd: its own data-root, exec-root, pidfile and socket in a temp directory, no
/// bridge and no iptables (it must not touch the host's network or firewall), or, with
/// [`Dockerd::start_in`], both on inside a test's private network namespace. Stopped and
/// cleaned up on drop, as [`Daemon`]. Needs root, dockerd and containerd: check with
/// [`need`] first.
#[derive(Debug)]
pub struct Dockerd {
    daemon: Daemon,
    sock: PathBuf,
}

impl Dockerd {
    /// Starts dockerd with `extra_args` (e.g. `--add-runtime name=path`) and waits up to 60 s
    /// for `docker version` to answer. Panics with the daemon's log if it exits first.
    pub fn start(extra_args: &[&str]) -> Dockerd {
        Self::launch(
            None,
            &["--iptables=false", "--ip6tables=false", "--bridge=none"],
            extra_args,
        )
    }

    /// Like [`Dockerd::start`], but inside `net` and with dockerd's own networking on: its
    /// default bridge `docker0` and its iptables rules (made in `net`, never on the host), for
    /// tests of another daemon beside it. IPv6 rules stay off. Pass `--bip` in `extra_args` to
    /// keep docker0 off 172.17.0.0/16.
    pub fn start_in(net: &crate::netns::TestNet, extra_args: &[&str]) -> Dockerd {
        Self::launch(Some(net), &["--ip6tables=false"], extra_args)
    }

    fn launch(
        net: Option<&crate::netns::TestNet>,
        network_args: &[&str],
        extra_args: &[&str],
    ) -> Dockerd {
        let dockerd = find("dockerd").expect("dockerd is not installed: check need(\"dockerd\")");
        let dir = tempfile::Builder::new()
            .prefix("berth-dockerd-")
            .tempdir()
            .expect("temp dir");
        let d = dir.path();
        let sock = d.join("docker.sock");
        let log = std::fs::File::create(d.join("daemon.log")).expect("create daemon.log");
        // Containers go under /docker in each hierarchy; ours to remove if we create it.
        let cgroup_parent = (!crate::cgroup_parent_exists("docker")).then_some("docker");
        let mut cmd = Command::new(dockerd);
        if let Some(net) = net {
            net.enter(&mut cmd);
        }
        let child = cmd
            .arg("--data-root")
            .arg(d.join("data"))
            .arg("--exec-root")
            .arg(d.join("exec"))
            .arg("--pidfile")
            .arg(d.join("dockerd.pid"))
            .arg("-H")
            .arg(format!("unix://{}", sock.display()))
            .args(network_args)
            .args(extra_args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log)
            .spawn()
            .expect("spawn dockerd");
        let mut me = Dockerd {
            daemon: Daemon::new(child, dir, cgroup_parent),
            sock,
        };
        let mut probe = me.docker();
        probe
            .arg("version")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        me.daemon
            .wait_for("dockerd", || probe.status().is_ok_and(|s| s.success()));
        me
    }

    /// The docker CLI (/usr/local/bin/docker, else `docker` from PATH) talking to this daemon.
    pub fn docker(&self) -> Command {
        let cli = Path::new("/usr/local/bin/docker");
        let mut c = Command::new(if cli.exists() {
            cli
        } else {
            Path::new("docker")
        });
        c.arg("-H").arg(format!("unix://{}", self.sock.display()));
        c
    }

    /// The daemon's private directory (state under `data/` and `exec/`; free for a test's files).
    pub fn dir(&self) -> &Path {
        self.daemon.dir()
    }

    /// The daemon's API socket.
    pub fn socket(&self) -> &Path {
        &self.sock
    }

    /// What dockerd logged so far (for assertion messages).
    pub fn log(&self) -> String {
        self.daemon.log()
    }
}
