//! berth-runtime driven by the programs that drive runc in production: containerd (through
//! `ctr run --runc-binary`, i.e. containerd-shim-runc-v2), dockerd (`--add-runtime`) and podman
//! (`--runtime`, through conmon), all Debian's, each with its own sockets and directories.

use std::process::{Command, Stdio};

use berth_testutil::peers::{busybox_tar, need, run, Daemon, Dockerd};
use berth_testutil::require_root;

fn berth_bin() -> &'static str {
    env!("CARGO_BIN_EXE_berth-runtime")
}

#[test]
fn containerd_runs_and_execs_through_berth_runtime() {
    require_root!();
    let (Some(containerd), Some(ctr)) = (need("containerd"), need("ctr")) else {
        return;
    };
    let dir = tempfile::Builder::new()
        .prefix("berth-containerd-")
        .tempdir()
        .unwrap();
    let d = dir.path();
    let sock = d.join("containerd.sock");
    std::fs::write(d.join("config.toml"), format!(
        "version = 2\nroot = \"{0}/root\"\nstate = \"{0}/state\"\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n  address = \"{1}\"\n[ttrpc]\n  address = \"{1}.ttrpc\"\n",
        d.display(), sock.display())).unwrap();
    let log = std::fs::File::create(d.join("daemon.log")).unwrap();
    let child = Command::new(containerd)
        .arg("-c")
        .arg(d.join("config.toml"))
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let rootfs = d.join("rootfs");
    berth_testutil::busybox_rootfs(&rootfs).unwrap();
    // containerd places containers under /<namespace>/<id>: "default" here.
    let cgroup_parent = (!berth_testutil::cgroup_parent_exists("default")).then_some("default");
    let mut daemon = Daemon::new(child, dir, cgroup_parent);
    let ctr_cmd = || {
        let mut c = Command::new(&ctr);
        c.arg("-a").arg(&sock);
        c
    };
    daemon.wait_for("containerd", || {
        ctr_cmd()
            .arg("version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });

    let (ok, out, err) = run(ctr_cmd()
        .args(["run", "--rm", "--runc-binary", berth_bin(), "--rootfs"])
        .arg(&rootfs)
        .args([
            "fg",
            "sh",
            "-c",
            "echo pid=$$; grep -c . /proc/self/mountinfo >/dev/null && echo mounts-ok",
        ]));
    assert!(ok, "ctr run: {err}");
    assert_eq!(out, "pid=1\nmounts-ok\n");

    let (ok, _, err) = run(ctr_cmd()
        .args(["run", "-d", "--runc-binary", berth_bin(), "--rootfs"])
        .arg(&rootfs)
        .args(["bg", "sleep", "60"]));
    assert!(ok, "ctr run -d: {err}");
    let (ok, out, err) = run(ctr_cmd().args([
        "task",
        "exec",
        "--exec-id",
        "e1",
        "bg",
        "sh",
        "-c",
        "cat /proc/1/cmdline | tr '\\0' ' '",
    ]));
    assert!(ok, "ctr task exec: {err}");
    assert_eq!(out.trim(), "sleep 60", "exec sees the container's pid 1");
    let (ok, _, err) = run(ctr_cmd().args(["task", "pause", "bg"]));
    assert!(ok, "pause: {err}");
    let (_, out, _) = run(ctr_cmd().args(["task", "ls"]));
    assert!(out.contains("PAUSED"), "{out}");
    let (ok, _, err) = run(ctr_cmd().args(["task", "resume", "bg"]));
    assert!(ok, "resume: {err}");
    let (ok, _, err) = run(ctr_cmd().args(["task", "kill", "-s", "KILL", "bg"]));
    assert!(ok, "kill: {err}");
    daemon.wait_for("task exit", || {
        run(ctr_cmd().args(["task", "ls"])).1.contains("STOPPED")
    });
    let (ok, _, err) = run(ctr_cmd().args(["task", "rm", "bg"]));
    assert!(ok, "task rm: {err}");
    let (ok, _, err) = run(ctr_cmd().args(["container", "rm", "bg"]));
    assert!(ok, "container rm: {err}");
}

#[test]
fn dockerd_runs_containers_with_berth_runtime() {
    require_root!();
    let (Some(_), Some(_)) = (need("dockerd"), need("containerd")) else {
        return;
    };
    // Its own socket and directories; no bridge and no iptables.
    let dockerd = Dockerd::start(&["--add-runtime", &format!("berth={}", berth_bin())]);
    let docker = || dockerd.docker();

    // An image made here from the busybox rootfs: `docker import` of a tar.
    let image_tar = busybox_tar(dockerd.dir());
    let (ok, _, err) = run(docker().arg("import").arg(&image_tar).arg("bb:1"));
    assert!(ok, "docker import: {err}");

    let (ok, out, err) = run(docker().args([
        "run",
        "--rm",
        "--runtime",
        "berth",
        "--network",
        "none",
        "bb:1",
        "sh",
        "-c",
        "echo pid=$$; grep -E '^Seccomp:' /proc/self/status",
    ]));
    assert!(ok, "docker run --runtime berth: {err}");
    assert_eq!(
        out, "pid=1\nSeccomp:\t2\n",
        "Docker's default seccomp profile is applied by berth-runtime"
    );

    let (ok, out, err) = run(docker().args([
        "run",
        "--rm",
        "-t",
        "--runtime",
        "berth",
        "--network",
        "none",
        "bb:1",
        "tty",
    ]));
    assert!(ok, "docker run -t: {err}");
    assert!(
        out.starts_with("/dev/pts/0"),
        "a pty through the console socket: {out}"
    );

    let (_, _, _) = run(docker().args([
        "run",
        "-d",
        "--name",
        "s1",
        "--runtime",
        "berth",
        "--network",
        "none",
        "bb:1",
        "sleep",
        "60",
    ]));
    let (ok, out, err) = run(docker().args(["exec", "s1", "sh", "-c", "echo exec-ok"]));
    assert!(ok && out == "exec-ok\n", "docker exec: {err}");
    // docker update → containerd → `berth-runtime update --resources -`.
    let (ok, _, err) =
        run(docker().args(["update", "--memory", "48m", "--memory-swap", "48m", "s1"]));
    assert!(ok, "docker update: {err}");
    let (ok, out, err) = run(docker().args([
        "exec",
        "s1",
        "cat",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ]));
    assert!(
        ok && out.trim() == (48u64 << 20).to_string(),
        "the new limit is in force: {out} {err}"
    );
    let (ok, _, err) = run(docker().args(["stop", "-t", "1", "s1"]));
    assert!(ok, "docker stop: {err}");
    let (ok, out, _) = run(docker().args(["inspect", "-f", "{{.State.ExitCode}}", "s1"]));
    assert!(
        ok && out.trim() == "137",
        "stopped by SIGKILL after the timeout (sleep ignores TERM as pid 1): {out}"
    );
    let _ = run(docker().args(["rm", "-f", "s1"]));

    let out = docker()
        .args([
            "run",
            "--rm",
            "--runtime",
            "berth",
            "--network",
            "none",
            "--memory",
            "32m",
            "bb:1",
            "sh",
            "-c",
            "a=$(head -c 100000000 /dev/zero | tr '\\0' x)",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(137),
        "the memory limit OOM-kills: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn podman_runs_and_execs_through_berth_runtime() {
    require_root!();
    let Some(podman) = need("podman") else { return };
    let dir = tempfile::Builder::new()
        .prefix("berth-podman-")
        .tempdir()
        .unwrap();
    let d = dir.path().to_path_buf();
    let podman_cmd = || {
        let mut c = Command::new(&podman);
        c.arg("--root")
            .arg(d.join("root"))
            .arg("--runroot")
            .arg(d.join("run"))
            .args(["--cgroup-manager", "cgroupfs", "--events-backend", "file"])
            .arg("--runtime")
            .arg(berth_bin());
        c
    };
    // podman asks for RLIMIT_NOFILE and RLIMIT_NPROC of 1048576; a host whose root lacks
    // CAP_SYS_RESOURCE (this sandbox) cannot grant more than the hard limits conmon inherits,
    // with any runtime (runc fails the same way, with a vaguer message): ask for modest ones.
    let common = [
        "--ulimit",
        "nofile=1024:1024",
        "--ulimit",
        "nproc=8192:8192",
        "--network",
        "none",
    ];
    let image_tar = busybox_tar(&d);
    let cgroup_parent =
        (!berth_testutil::cgroup_parent_exists("libpod_parent")).then_some("libpod_parent");
    // podman is not a daemon: the guard holds a placeholder process and, when the test ends,
    // undoes what podman left mounted under its directory and the cgroup parent it made.
    let placeholder = Command::new("sleep").arg("3600").spawn().unwrap();
    let _cleanup = Daemon::new(placeholder, dir, cgroup_parent);
    let (ok, _, err) = run(podman_cmd().arg("import").arg(&image_tar).arg("bb:1"));
    assert!(ok, "podman import: {err}");

    let (ok, out, err) = run(podman_cmd().args(["run", "--rm"]).args(common).args([
        "bb:1",
        "sh",
        "-c",
        "echo pid=$$; grep -E '^Seccomp:' /proc/self/status",
    ]));
    assert!(ok, "podman run: {err}");
    assert_eq!(out, "pid=1\nSeccomp:\t2\n");
    let (ok, _, err) = run(podman_cmd()
        .args(["run", "-d", "--name", "p1"])
        .args(common)
        .args(["bb:1", "sleep", "60"]));
    assert!(ok, "podman run -d: {err}");
    let (ok, out, err) = run(podman_cmd().args([
        "exec",
        "p1",
        "sh",
        "-c",
        "cat /proc/1/cmdline | tr '\\0' ' '",
    ]));
    assert!(ok, "podman exec: {err}");
    assert_eq!(out.trim(), "sleep 60");
    let (ok, out, err) = run(podman_cmd().args(["exec", "-t", "p1", "tty"]));
    assert!(
        ok && out.starts_with("/dev/pts/"),
        "podman exec -t: {out} {err}"
    );
    let (ok, _, err) = run(podman_cmd().args(["rm", "-f", "-t", "0", "p1"]));
    assert!(ok, "podman rm -f: {err}");
}
