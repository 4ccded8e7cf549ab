//! The shim's contract: exit record, json log, control socket, survival, rotation, no fd leak.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use berth_testutil::{require_root, Bundle};

use crate::harness::{alive, eventually, TestShim, BIN};

fn valid_time(t: &str) -> bool {
    // 2024-05-01T12:00:00[.nnn]Z
    let b = t.as_bytes();
    t.len() >= 20
        && t.ends_with('Z')
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && t[..4].parse::<u32>().is_ok_and(|y| y >= 2020)
}

#[test]
fn exit_code_and_json_log() {
    require_root!();
    let s = TestShim::spawn(&["sh", "-c", "echo out; echo err >&2; exit 3"]);
    assert!(s.pid > 0);
    // The shim may be gone already: wait_exit reads exit.json then.
    let info = berth_shim::wait_exit(s.state.path()).expect("wait");
    assert_eq!(info.exit_code, 3);
    assert_eq!(info.signal, None);
    assert!(valid_time(&info.finished_at), "{}", info.finished_at);
    let on_disk = berth_shim::read_exit(s.state.path()).unwrap().unwrap();
    assert_eq!(on_disk, info);
    let entries = s.entries();
    assert_eq!(entries.len(), 2, "{entries:?}");
    for e in &entries {
        assert!(valid_time(e["time"].as_str().unwrap()), "{e}");
    }
    assert_eq!(s.text("stdout"), "out\n");
    assert_eq!(s.text("stderr"), "err\n");
    // The shim is gone and the runtime state deleted.
    eventually("the shim to exit", || {
        !s.state.path().join("shim.sock").exists()
    });
    assert!(!s.root.path().join(&s.id).exists());
}

#[test]
fn state_and_kill() {
    require_root!();
    // Without a pid namespace: as pid 1, sleep would ignore SIGTERM (no handler), as under Docker.
    let mut b = Bundle::new(&["sleep", "100"]);
    b.edit(|c| {
        let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
        ns.retain(|n| n["type"] != "pid");
    });
    let s = TestShim::spawn_with(b, None, None);
    let c = s.client();
    let st = c.state().unwrap();
    assert_eq!(st.pid, s.pid);
    assert_eq!(st.status, "running");
    assert_eq!(st.exit_code, None);
    let init: i32 = std::fs::read_to_string(s.state.path().join("init.pid"))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(init, s.pid);
    // By name through the raw protocol, as an operator would.
    let mut sock =
        std::os::unix::net::UnixStream::connect(s.state.path().join("shim.sock")).unwrap();
    std::io::Write::write_all(&mut sock, b"kill TERM\n").unwrap();
    let mut reply = String::new();
    BufReader::new(sock).read_line(&mut reply).unwrap();
    assert!(reply.contains("\"ok\":true"), "{reply}");
    let info = c.wait().unwrap();
    assert_eq!(info.exit_code, 143);
    assert_eq!(info.signal, Some(libc::SIGTERM));
}

#[test]
fn survives_its_spawner() {
    require_root!();
    let (id, bundle, state, root) = TestShim::prepare(Bundle::new(&["sleep", "100"]));
    let script = r#""$0" start --id "$1" --bundle "$2" --state-dir "$3" --runtime-root "$4"; exec sleep 100"#;
    let mut helper = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(BIN)
        .arg(&id)
        .arg(bundle.path())
        .arg(state.path())
        .arg(root.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(helper.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let pid: i32 = line.trim().parse().expect("init pid printed");
    let s = TestShim {
        id,
        _bundle: bundle,
        state,
        root,
        pid,
    };
    helper.kill().unwrap();
    helper.wait().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(alive(pid), "the container died with the spawner");
    assert!(alive(s.shim_pid()), "the shim died with the spawner");
    assert_eq!(s.client().state().unwrap().status, "running");
    // Daemonized: stdio on /dev/null (not the spawner's pipe), cwd /, a handful of fds.
    let shim = s.shim_pid();
    for fd in 0..3 {
        let target = std::fs::read_link(format!("/proc/{shim}/fd/{fd}")).unwrap();
        assert_eq!(target, std::path::Path::new("/dev/null"), "fd {fd}");
    }
    let status = std::fs::read_to_string(format!("/proc/{shim}/status")).unwrap();
    // The ≤ 2 MiB budget is for what a shim costs of its own: private (anonymous) pages.
    // Shared file-backed pages (the binary, libc, libseccomp) are counted once per host.
    let anon_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("RssAnon in /proc/pid/status");
    assert!(anon_kb <= 2048, "the shim's private memory is {anon_kb} kB");
    let cwd = std::fs::read_link(format!("/proc/{shim}/cwd")).unwrap();
    assert_eq!(cwd, std::path::Path::new("/"));
    let fds: Vec<_> = std::fs::read_dir(format!("/proc/{shim}/fd"))
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_link(e.path()).unwrap_or_default())
        .collect();
    // Only its own: the two log pipes' read ends, the log, the signalfd, sockets (the
    // listener and clients in flight). Nothing of the spawner (its stdout pipe above all).
    let state = std::fs::canonicalize(s.state.path()).unwrap();
    let pipes = fds
        .iter()
        .filter(|t| t.to_string_lossy().starts_with("pipe:"))
        .count();
    assert_eq!(pipes, 2, "{fds:?}");
    for t in &fds {
        let t2 = t.to_string_lossy();
        assert!(
            t == std::path::Path::new("/dev/null")
                || t.starts_with(&state)
                || t2.starts_with("pipe:")
                || t2.starts_with("socket:")
                || t2 == "anon_inode:[signalfd]",
            "the shim holds {t:?}: {fds:?}"
        );
    }
}

#[test]
fn log_rotation_keeps_max_files() {
    require_root!();
    let s = TestShim::spawn_with(
        Bundle::new(&[
            "sh",
            "-c",
            "i=0; while [ $i -lt 200 ]; do echo line-$i; i=$((i+1)); done",
        ]),
        Some(1000),
        Some(3),
    );
    assert_eq!(berth_shim::wait_exit(s.state.path()).unwrap().exit_code, 0);
    let log = s.log().into_os_string().into_string().unwrap();
    for f in [log.clone(), format!("{log}.1"), format!("{log}.2")] {
        let len = std::fs::metadata(&f)
            .unwrap_or_else(|_| panic!("{f} missing"))
            .len();
        assert!(len <= 1000, "{f} is {len} bytes");
    }
    assert!(!std::path::Path::new(&format!("{log}.3")).exists());
    // The newest lines are in the live file.
    assert!(s.text("stdout").ends_with("line-199\n"));
}

#[test]
fn no_fd_leaks_into_the_container() {
    require_root!();
    let s = TestShim::spawn(&["ls", "/proc/self/fd"]);
    assert_eq!(berth_shim::wait_exit(s.state.path()).unwrap().exit_code, 0);
    let fds: Vec<String> = s.text("stdout").lines().map(str::to_string).collect();
    assert!(fds.iter().any(|f| f == "2"), "{fds:?}");
    for f in &fds {
        assert!(
            ["0", "1", "2", "3"].contains(&f.as_str()),
            "leaked fd {f}: {fds:?}"
        );
    }
}

#[test]
fn stdin_clients_feed_the_container_and_stdin_once_closes_it() {
    require_root!();
    let shim = TestShim::spawn_full(
        Bundle::new(&["sh", "-c", "cat; echo done"]),
        None,
        None,
        (true, true),
    );
    let mut input = shim.client().open_stdin().expect("open stdin");
    input.write_all(b"hello\n").expect("write");
    // The feeder's end closes the container's stdin (StdinOnce): cat ends.
    input.shutdown(std::net::Shutdown::Write).expect("shutdown");
    let exit = shim.client().wait().expect("wait");
    assert_eq!(exit.exit_code, 0);
    assert_eq!(shim.text("stdout"), "hello\ndone\n");
}

#[test]
fn stdin_is_refused_without_open_stdin() {
    require_root!();
    let shim = TestShim::spawn(&["sleep", "100"]);
    let err = shim.client().open_stdin().unwrap_err().to_string();
    assert!(err.contains("-i"), "{err}");
}

#[test]
fn terminal_output_is_logged_as_it_comes_and_takes_input_and_resize() {
    require_root!();
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "printf 'prompt> '; read x; stty size; echo got $x",
    ]);
    b.edit(|c| c["process"]["terminal"] = serde_json::json!(true));
    let shim = TestShim::spawn_full(b, None, None, (true, false));
    // A prompt without a newline reaches the log before any input.
    eventually("the prompt in the log", || {
        shim.log().exists() && shim.text("stdout").contains("prompt> ")
    });
    shim.client().resize(40, 100).expect("resize");
    let mut input = shim.client().open_stdin().expect("open stdin");
    input.write_all(b"abc\n").expect("write");
    let exit = shim.client().wait().expect("wait");
    assert_eq!(exit.exit_code, 0);
    let out = shim.text("stdout");
    // The terminal echoes the input, then the process's own lines (CRLF on a tty).
    assert!(out.contains("40 100\r\n"), "{out:?}");
    assert!(out.contains("got abc\r\n"), "{out:?}");
    assert!(shim.text("stderr").is_empty());
}
