//! The container lifecycle through berthd with the docker CLI: create, start, wait, logs,
//! ps, inspect, stop, kill, rm — and that `rm` leaves no mount, shim or directory behind.

use std::time::{Duration, Instant};

use berth_testutil::{mounts_containing, require_root};

use crate::daemon::{loaded, Daemon};

const IMAGE: &str = "bench/load:latest";

/// Processes whose command line mentions `id` (the shim is started with `--id <id>`).
fn processes_mentioning(id: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains(id) {
            out.push(cmd);
        }
    }
    out
}

/// After `rm`: nothing of container `id` is left.
fn assert_gone(d: &Daemon, id: &str) {
    let root = d.data_root();
    assert!(
        mounts_containing(root.to_str().expect("utf-8")).is_empty(),
        "mounts left: {:?}",
        mounts_containing(root.to_str().expect("utf-8"))
    );
    assert!(
        !root.join("containers").join(id).exists(),
        "container dir left"
    );
    assert!(
        !d.dir.path().join("run/shims").join(id).exists(),
        "shim dir left"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while !processes_mentioning(id).is_empty() {
        assert!(
            Instant::now() < deadline,
            "processes left: {:?}",
            processes_mentioning(id)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn inspect(d: &Daemon, name: &str, format: &str) -> String {
    d.docker_ok(&["inspect", name, "--format", format])
        .trim()
        .to_string()
}

#[test]
fn create_start_wait_logs_ps_inspect_rm() {
    require_root!();
    let d = loaded();
    let script = "echo out; echo err >&2; exit 3";
    let id = d.docker_ok(&[
        "create",
        "--name",
        "c1",
        IMAGE,
        "/bin/busybox",
        "sh",
        "-c",
        script,
    ]);
    let id = id.trim().to_string();
    assert!(
        id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    let ps = d.docker_ok(&["ps", "-a", "--format", "{{.Names}}|{{.Status}}"]);
    assert_eq!(ps.trim(), "c1|Created");

    let again = d.docker(&["create", "--name", "c1", IMAGE, "/bin/busybox", "true"]);
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    let want = format!(
        "Conflict. The container name \"/c1\" is already in use by container \"{id}\". You \
         have to remove (or rename) that container to be able to reuse that name."
    );
    assert!(err.contains(&want), "{err}");

    assert_eq!(d.docker_ok(&["start", "c1"]).trim(), "c1");
    assert_eq!(d.docker_ok(&["wait", "c1"]).trim(), "3");
    let logs = d.docker(&["logs", "c1"]);
    assert!(
        logs.status.success(),
        "{}",
        String::from_utf8_lossy(&logs.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&logs.stdout), "out\n");
    assert_eq!(String::from_utf8_lossy(&logs.stderr), "err\n");
    let tail = d.docker(&["logs", "--tail", "1", &id[..12]]);
    assert_eq!(String::from_utf8_lossy(&tail.stdout), "");
    assert_eq!(String::from_utf8_lossy(&tail.stderr), "err\n");

    let ps = d.docker_ok(&[
        "ps",
        "-a",
        "--format",
        "{{.Names}}|{{.Status}}|{{.Command}}",
    ]);
    assert!(ps.starts_with("c1|Exited (3) "), "{ps}");
    assert!(ps.contains("|\"/bin/busybox sh"), "{ps}");
    assert!(d.docker_ok(&["ps", "-q"]).trim().is_empty());
    assert_eq!(inspect(&d, "c1", "{{.State.ExitCode}}"), "3");
    assert_eq!(
        inspect(&d, "c1", "{{.State.Status}} {{.Name}} {{.Id}}"),
        format!("exited /c1 {id}")
    );

    assert_eq!(d.docker_ok(&["rm", "c1"]).trim(), "c1");
    assert_gone(&d, &id);
    assert!(d.docker_ok(&["ps", "-aq"]).trim().is_empty());
}

#[test]
fn run_detached_stop_and_force_remove() {
    require_root!();
    let d = loaded();
    let id = d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "c2",
        IMAGE,
        "/bin/busybox",
        "sleep",
        "100",
    ]);
    let id = id.trim().to_string();
    assert_eq!(id.len(), 64, "{id}");
    let ps = d.docker_ok(&["ps", "--format", "{{.Names}}|{{.Status}}|{{.State}}"]);
    assert!(ps.starts_with("c2|Up "), "{ps}");
    assert!(ps.trim().ends_with("|running"), "{ps}");
    let pid: i32 = inspect(&d, "c2", "{{.State.Pid}}").parse().expect("a pid");
    assert!(pid > 0 && std::path::Path::new(&format!("/proc/{pid}")).exists());

    let started = Instant::now();
    assert_eq!(d.docker_ok(&["stop", "-t", "1", "c2"]).trim(), "c2");
    assert!(started.elapsed() < Duration::from_secs(8));
    let code = inspect(&d, "c2", "{{.State.ExitCode}}");
    assert!(code == "137" || code == "143", "{code}");
    assert!(d.docker_ok(&["ps", "-q"]).trim().is_empty());

    // Started again, a running container is refused by rm and removed by rm -f.
    assert_eq!(d.docker_ok(&["start", "c2"]).trim(), "c2");
    assert_eq!(inspect(&d, "c2", "{{.State.Running}}"), "true");
    let out = d.docker(&["rm", "c2"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("You cannot remove a running container {id}. Stop the container before attempting removal or force remove")),
        "{err}"
    );
    assert_eq!(d.docker_ok(&["rm", "-f", "c2"]).trim(), "c2");
    assert_gone(&d, &id);
}

#[test]
fn kill_with_a_signal_and_generated_names() {
    require_root!();
    let d = loaded();
    // pid 1 ignores signals it has no handler for, so the shell traps the one sent.
    let script = "trap 'exit 7' USR1; while true; do sleep 0.1; done";
    let id = d.docker_ok(&["run", "-d", IMAGE, "/bin/busybox", "sh", "-c", script]);
    let id = id.trim().to_string();
    let name = inspect(&d, &id, "{{.Name}}");
    let (adj, surname) = name[1..].split_once('_').expect("adjective_surname");
    assert!(!adj.is_empty() && !surname.is_empty(), "{name}");
    d.docker_ok(&["kill", "--signal", "USR1", &id[..8]]);
    assert_eq!(d.docker_ok(&["wait", &id]).trim(), "7");
    let out = d.docker(&["kill", &id]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not running"), "{err}");
    d.docker_ok(&["rm", &id]);
    assert_gone(&d, &id);
}

#[test]
fn unknown_containers_are_docker_errors() {
    require_root!();
    let d = Daemon::start();
    let out = d.docker(&["start", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("No such container: nope"), "{err}");
    let (status, body) = d.request("POST", "/containers/nope/wait");
    assert_eq!(status, 404, "{body}");
    let (status, body) = d.request("DELETE", "/containers/nope");
    assert_eq!(
        (status, body.trim()),
        (404, r#"{"message":"No such container: nope"}"#)
    );
}

#[test]
fn containers_get_dockers_seccomp_profile_and_capabilities_by_default() {
    require_root!();
    let d = loaded();
    let id = d
        .docker_ok(&[
            "run",
            "-d",
            IMAGE,
            "/bin/busybox",
            "sh",
            "-c",
            "grep -E '^(Seccomp|CapEff|NoNewPrivs):' /proc/self/status",
        ])
        .trim()
        .to_string();
    assert_eq!(d.docker_ok(&["wait", &id]).trim(), "0");
    let logs = d.docker_ok(&["logs", &id]);
    // Mode 2 = a seccomp filter is installed (Docker's default profile).
    assert!(logs.contains("Seccomp:\t2"), "{logs}");
    // Docker's 14 default capabilities: 0x00000000a80425fb.
    assert!(logs.contains("CapEff:\t00000000a80425fb"), "{logs}");
    d.docker_ok(&["rm", &id]);
    assert_gone(&d, &id);
}

#[test]
fn run_detached_rm_removes_the_container_after_it_exits() {
    require_root!();
    let d = loaded();
    let id = d.docker_ok(&["run", "-d", "--rm", IMAGE, "/bin/busybox", "true"]);
    let id = id.trim().to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !d.docker_ok(&["ps", "-aq"]).trim().is_empty() {
        assert!(Instant::now() < deadline, "auto-remove did not happen");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_gone(&d, &id);
}

#[test]
fn logs_follow_ends_when_the_container_exits() {
    require_root!();
    let d = loaded();
    let script = "for i in 1 2 3; do echo line$i; sleep 1; done";
    let id = d.docker_ok(&["run", "-d", IMAGE, "/bin/busybox", "sh", "-c", script]);
    let id = id.trim().to_string();
    let started = Instant::now();
    let out = d.docker(&["logs", "-f", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "line1\nline2\nline3\n"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(inspect(&d, &id, "{{.State.Status}}"), "exited");
    // `wait --condition` kinds through the API: next-exit on an exited container waits for a
    // start, an unknown condition is refused.
    let (status, _) = d.request("POST", &format!("/containers/{id}/wait?condition=bogus"));
    assert_eq!(status, 400);
    d.docker_ok(&["rm", &id]);
    assert_gone(&d, &id);
}
