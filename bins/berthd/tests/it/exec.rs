//! Hijacked connections with the docker CLI: foreground `docker run` and `start -a` (attach),
//! and `docker exec` (create, start, inspect for the exit code) with env, workdir, user,
//! stdin, a terminal, detach and Docker's 126/127 codes.

use std::time::{Duration, Instant};

use berth_testutil::require_root;

use crate::daemon::{bench_archive, loaded, Daemon};

const IMAGE: &str = "bench/load:latest";

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn foreground_run_streams_both_streams_and_exits_with_the_code() {
    require_root!();
    let d = loaded();
    let script = "echo out; echo err >&2; sleep 0.2; echo late; exit 7";
    let out = d.docker(&[
        "run",
        "--name",
        "fg",
        IMAGE,
        "/bin/busybox",
        "sh",
        "-c",
        script,
    ]);
    assert_eq!(out.status.code(), Some(7), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "out\nlate\n");
    assert_eq!(text(&out.stderr), "err\n");

    // `start -a` attaches before the start: the second run's output only, and its code.
    let out = d.docker(&["start", "-a", "fg"]);
    assert_eq!(out.status.code(), Some(7), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "out\nlate\n");

    // `--rm`: the output, then the container is gone.
    let out = d.docker(&["run", "--rm", IMAGE, "/bin/busybox", "echo", "hi"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hi\n");
    assert_eq!(d.docker_ok(&["ps", "-aq"]).lines().count(), 1);
    d.docker_ok(&["rm", "fg"]);
}

#[test]
fn exec_runs_in_the_container_with_dockers_overrides() {
    require_root!();
    let d = loaded();
    let id = d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "ex",
        "-e",
        "A=1",
        "-w",
        "/",
        IMAGE,
        "/bin/busybox",
        "sleep",
        "1000",
    ]);
    let id = id.trim();

    let out = d.docker_ok(&[
        "exec",
        "ex",
        "/bin/busybox",
        "sh",
        "-c",
        "echo $A; pwd; id -u",
    ]);
    assert_eq!(out, "1\n/\n0\n");
    let out = d.docker_ok(&[
        "exec",
        "-e",
        "A=2",
        "-w",
        "/tmp",
        "-u",
        "1000:1000",
        "ex",
        "/bin/busybox",
        "sh",
        "-c",
        "echo $A; pwd; id -u; id -g",
    ]);
    assert_eq!(out, "2\n/tmp\n1000\n1000\n");

    // Both streams, and the exit code comes back through exec inspect.
    let out = d.docker(&[
        "exec",
        "ex",
        "/bin/busybox",
        "sh",
        "-c",
        "echo o; echo e >&2; exit 5",
    ]);
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(
        (text(&out.stdout), text(&out.stderr)),
        ("o\n".into(), "e\n".into())
    );

    // stdin, closed by the client's half-close.
    let input = d.dir.path().join("stdin.txt");
    std::fs::write(&input, "hello\nworld\n").expect("write stdin");
    let out = d.docker_with_stdin(
        &["exec", "-i", "ex", "/bin/busybox", "wc", "-l"],
        Some(&input),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "2");

    // A terminal: the process sees a pty.
    let out = d.docker_ok(&["exec", "-t", "ex", "/bin/busybox", "tty"]);
    assert!(out.starts_with("/dev/pts/"), "{out:?}");

    // The exec runs in the container: same pid namespace (its pid 1 is the sleep).
    let out = d.docker_ok(&["exec", "ex", "/bin/busybox", "cat", "/proc/1/cmdline"]);
    assert_eq!(out.replace('\0', " ").trim(), "/bin/busybox sleep 1000");

    // Docker's codes: 127 not found, 126 not executable.
    let out = d.docker(&["exec", "ex", "/nope"]);
    assert_eq!(out.status.code(), Some(127), "{}", text(&out.stderr));
    let out = d.docker(&["exec", "ex", "/etc/passwd"]);
    assert_eq!(out.status.code(), Some(126), "{}", text(&out.stderr));

    // Detached: returns at once, the process runs on.
    d.docker_ok(&[
        "exec",
        "-d",
        "ex",
        "/bin/busybox",
        "sh",
        "-c",
        "sleep 0.3; touch /tmp/done",
    ]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !d
        .docker(&["exec", "ex", "/bin/busybox", "test", "-e", "/tmp/done"])
        .status
        .success()
    {
        assert!(Instant::now() < deadline, "the detached exec never ran");
        std::thread::sleep(Duration::from_millis(100));
    }

    // Not running: refused with Docker's status.
    d.docker_ok(&["kill", "ex"]);
    d.docker_ok(&["wait", "ex"]);
    let out = d.docker(&["exec", "ex", "/bin/busybox", "true"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("is not running"),
        "{}",
        text(&out.stderr)
    );
    let (status, body) = d.request("GET", "/exec/0123456789/json");
    assert_eq!(status, 404, "{body}");
    d.docker_ok(&["rm", id]);
}

#[test]
fn run_with_stdin_and_a_terminal() {
    require_root!();
    let d = loaded();
    // -i: the client's stdin reaches the container, its end closes the container's stdin.
    let input = d.dir.path().join("stdin.txt");
    std::fs::write(&input, "hello\nworld\n").expect("write stdin");
    let out = d.docker_with_stdin(
        &["run", "-i", "--rm", IMAGE, "/bin/busybox", "wc", "-l"],
        Some(&input),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "2");

    // -t: the process has a terminal; its exit code comes back.
    let out = d.docker(&[
        "run",
        "--rm",
        "-t",
        IMAGE,
        "/bin/busybox",
        "sh",
        "-c",
        "tty; exit 4",
    ]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("/dev/pts/"),
        "{}",
        text(&out.stdout)
    );

    // -it under a terminal (util-linux `script` gives the CLI one): typed input is read by
    // the container and echoed by its terminal.
    let cmd = format!(
        "printf 'abc\\n' | script -qec \"{} -H unix://{} run -it --rm {IMAGE} /bin/busybox sh -c \
         'read x; echo got \\$x; exit 3'; echo inner=\\$?\" /dev/null",
        crate::daemon::DOCKER,
        d.sock.display()
    );
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(&cmd)
        .env("DOCKER_CONFIG", d.dir.path().join("docker-config"))
        .output()
        .expect("sh runs");
    let shown = text(&out.stdout);
    assert!(shown.contains("got abc"), "{shown}\n{}", text(&out.stderr));
    assert!(shown.contains("inner=3"), "{shown}");

    // The terminal's size follows `resize`.
    d.docker_ok(&[
        "run",
        "-d",
        "-t",
        "--name",
        "tty",
        IMAGE,
        "/bin/busybox",
        "sleep",
        "1000",
    ]);
    let (status, body) = d.request("POST", "/containers/tty/resize?h=40&w=100");
    assert_eq!(status, 200, "{body}");
    let size = d.docker_ok(&[
        "exec",
        "tty",
        "/bin/busybox",
        "stty",
        "-F",
        "/dev/pts/0",
        "size",
    ]);
    assert_eq!(size.trim(), "40 100");
    // An exec's own terminal follows `POST /exec/{id}/resize` too.
    let (status, body) = d.request_with_body(
        "POST",
        "/containers/tty/exec",
        r#"{"Cmd":["/bin/busybox","cat"],"Tty":true,"AttachStdin":true,"AttachStdout":true}"#,
    );
    assert_eq!(status, 201, "{body}");
    let exec_id = serde_json::from_str::<serde_json::Value>(&body).expect("json")["Id"]
        .as_str()
        .expect("Id")
        .to_string();
    let (status, body) = d.request_with_body(
        "POST",
        &format!("/exec/{exec_id}/start"),
        r#"{"Detach":true}"#,
    );
    assert_eq!(status, 200, "{body}");
    // Its pid (from exec inspect) is a host pid: its stdin is the exec's terminal.
    let mut pid = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    while pid == 0 {
        assert!(Instant::now() < deadline, "the exec never ran");
        let (_, body) = d.request("GET", &format!("/exec/{exec_id}/json"));
        pid = serde_json::from_str::<serde_json::Value>(&body).expect("json")["Pid"]
            .as_i64()
            .unwrap_or(0);
        std::thread::sleep(Duration::from_millis(20));
    }
    let (status, body) = d.request("POST", &format!("/exec/{exec_id}/resize?h=33&w=77"));
    assert_eq!(status, 200, "{body}");
    let size = std::process::Command::new("/bin/busybox")
        .args(["stty", "-F", &format!("/proc/{pid}/fd/0"), "size"])
        .output()
        .expect("busybox stty");
    assert_eq!(text(&size.stdout).trim(), "33 77", "{}", text(&size.stderr));
    d.docker_ok(&["rm", "-f", "tty"]);
    assert!(d.docker_ok(&["ps", "-aq"]).trim().is_empty());
}

#[test]
fn deep_exec_roots_and_failed_starts() {
    require_root!();
    // Socket paths under this root are longer than sun_path's 108 bytes.
    let dir = tempfile::Builder::new()
        .prefix("berth-a-rather-long-directory-name-to-push-socket-paths-over-the-limit-")
        .tempdir()
        .expect("tempdir");
    let d = Daemon::start_with(dir, &[]);
    let archive = bench_archive(d.dir.path());
    d.docker_ok(&["load", "-i", archive.to_str().expect("utf-8 path")]);
    let id = d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "deep",
        IMAGE,
        "/bin/busybox",
        "sleep",
        "1000",
    ]);
    let sock = d
        .dir
        .path()
        .join("run/shims")
        .join(id.trim())
        .join("shim.sock");
    assert!(sock.as_os_str().len() > 108, "{}", sock.display());
    assert_eq!(
        d.docker_ok(&["inspect", "-f", "{{.State.Status}}", "deep"])
            .trim(),
        "running"
    );
    assert_eq!(
        d.docker_ok(&["exec", "deep", "/bin/busybox", "echo", "in"]),
        "in\n"
    );
    let out = d.docker(&["run", "--rm", "-t", IMAGE, "/bin/busybox", "tty"]);
    assert!(
        text(&out.stdout).starts_with("/dev/pts/"),
        "{}",
        text(&out.stderr)
    );
    d.docker_ok(&["rm", "-f", "deep"]);

    // A start that fails ends the attach of a foreground run instead of leaving it waiting.
    d.docker_ok(&[
        "volume",
        "create",
        "--opt",
        "type=nosuchfs",
        "--opt",
        "device=none",
        "bad",
    ]);
    let started = Instant::now();
    let out = std::process::Command::new("timeout")
        .args(["30", crate::daemon::DOCKER, "-H"])
        .arg(format!("unix://{}", d.sock.display()))
        .args(["run", "-v", "bad:/x", IMAGE, "/bin/busybox", "true"])
        .env("DOCKER_CONFIG", d.dir.path().join("docker-config"))
        .output()
        .expect("timeout runs");
    assert_ne!(
        out.status.code(),
        Some(124),
        "docker run hung after a failed start"
    );
    assert!(!out.status.success());
    assert!(started.elapsed() < Duration::from_secs(20));
    let all = d.docker_ok(&["ps", "-aq"]);
    let mut args = vec!["rm", "-f"];
    args.extend(all.lines());
    if args.len() > 2 {
        d.docker_ok(&args);
    }
}
