//! `--pid` and `--ipc` (Docker's `HostConfig.PidMode` and `IpcMode`) against a private
//! berthd with real containers: which processes and which IPC namespace and `/dev/shm` a
//! container sees, Docker's errors, and inspect's values.

use crate::daemon_client::Daemon;

const IMAGE: &str = "bench/load:latest";

/// The test process's own namespace of `kind` (`pid:[4026531836]`); berthd runs in the same
/// pid and IPC namespaces (only its network namespace is private).
fn own_ns(kind: &str) -> String {
    std::fs::read_link(format!("/proc/self/ns/{kind}"))
        .expect("readlink")
        .to_string_lossy()
        .into_owned()
}

/// `inspect -f '{{.HostConfig.PidMode}}|{{.HostConfig.IpcMode}}' NAME`.
fn modes(d: &Daemon, name: &str) -> String {
    let f = "{{.HostConfig.PidMode}}|{{.HostConfig.IpcMode}}";
    d.ok(&["inspect", "-f", f, name]).trim_end().to_string()
}

/// Runs a detached `sleep` named `name` with extra flags.
fn sleeper(d: &Daemon, name: &str, flags: &[&str]) {
    let mut args = vec!["run", "-d", "--name", name];
    args.extend_from_slice(flags);
    args.extend_from_slice(&[IMAGE, "busybox", "sleep", "300"]);
    d.ok(&args);
}

/// The failure of `berth ARGS`, asserting its stderr contains `text`.
fn fails_with(d: &Daemon, args: &[&str], text: &str) {
    let r = d.berth(args);
    assert!(!r.ok, "berth {args:?} should fail: {r:?}");
    assert!(r.stderr.contains(text), "berth {args:?}: {r:?}");
}

#[test]
fn pid_modes() {
    berth_testutil::require_root!();
    let d = Daemon::start();
    d.load_image();

    // Default: its own pid namespace, the command is pid 1.
    let out = d.ok(&[
        "run",
        "--rm",
        IMAGE,
        "sh",
        "-c",
        "echo $$; readlink /proc/self/ns/pid",
    ]);
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("1"), "{out}");
    assert_ne!(lines.next(), Some(own_ns("pid").as_str()), "{out}");

    // host: the host's pid namespace and its pid 1.
    let out = d.ok(&[
        "run",
        "--rm",
        "--pid",
        "host",
        IMAGE,
        "sh",
        "-c",
        "echo $$; readlink /proc/self/ns/pid; tr '\\0' ' ' < /proc/1/cmdline",
    ]);
    let mut lines = out.lines();
    assert_ne!(lines.next(), Some("1"), "{out}");
    assert_eq!(lines.next(), Some(own_ns("pid").as_str()), "{out}");
    let host_init = std::fs::read("/proc/1/cmdline").expect("/proc/1/cmdline");
    let host_init = String::from_utf8_lossy(&host_init).replace('\0', " ");
    assert_eq!(
        lines.next().map(str::trim_end),
        Some(host_init.trim_end()),
        "{out}"
    );

    // container:A: A's namespace; A's sleep is pid 1 there.
    sleeper(&d, "pa", &[]);
    let a_ns = d.ok(&["exec", "pa", "sh", "-c", "readlink /proc/self/ns/pid"]);
    let out = d.ok(&[
        "run",
        "--name",
        "pb",
        "--pid",
        "container:pa",
        IMAGE,
        "sh",
        "-c",
        "readlink /proc/self/ns/pid; tr '\\0' ' ' < /proc/1/cmdline; echo",
    ]);
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some(a_ns.trim_end()), "{out}");
    assert_eq!(
        lines.next().map(str::trim_end),
        Some("busybox sleep 300"),
        "{out}"
    );
    assert_eq!(modes(&d, "pa"), "|private");
    assert_eq!(modes(&d, "pb"), "container:pa|private");

    // The target must exist at create and run at start (Docker's words).
    fails_with(
        &d,
        &["create", "--pid", "container:nosuch", IMAGE],
        "No such container: nosuch",
    );
    d.ok(&["stop", "-t", "1", "pa"]);
    fails_with(
        &d,
        &["start", "pb"],
        "cannot join PID of a non running container",
    );
    fails_with(
        &d,
        &["create", "--pid", "private", IMAGE],
        "invalid PID mode \"private\": use host or container:<name|id>",
    );
}

#[test]
fn ipc_modes() {
    berth_testutil::require_root!();
    let d = Daemon::start();
    d.load_image();
    let ns = "readlink /proc/self/ns/ipc";

    // Default (private): its own namespace and /dev/shm.
    let out = d.ok(&["run", "--rm", IMAGE, "sh", "-c", ns]);
    assert_ne!(out.trim_end(), own_ns("ipc"));

    // host: the host's namespace, and the host's /dev/shm.
    let marker = format!("berth-ipc-test-{}", std::process::id());
    std::fs::write(format!("/dev/shm/{marker}"), "from the host").expect("write /dev/shm");
    let out = d.ok(&[
        "run",
        "--rm",
        "--ipc",
        "host",
        IMAGE,
        "sh",
        "-c",
        &format!("{ns}; cat /dev/shm/{marker}"),
    ]);
    let _ = std::fs::remove_file(format!("/dev/shm/{marker}"));
    assert_eq!(out, format!("{}\nfrom the host", own_ns("ipc")));

    // none: a namespace of its own and no /dev/shm.
    let out = d.ok(&[
        "run",
        "--rm",
        "--ipc",
        "none",
        IMAGE,
        "sh",
        "-c",
        "test -d /dev/shm && echo shm || echo no-shm",
    ]);
    assert_eq!(out, "no-shm\n");

    // container:A (A shareable): A's namespace and A's /dev/shm.
    sleeper(&d, "ia", &["--ipc", "shareable"]);
    let a_ns = d.ok(&[
        "exec",
        "ia",
        "sh",
        "-c",
        &format!("{ns}; echo shared > /dev/shm/x"),
    ]);
    assert_ne!(a_ns.trim_end(), own_ns("ipc"));
    let out = d.ok(&[
        "run",
        "--name",
        "ib",
        "--ipc",
        "container:ia",
        IMAGE,
        "sh",
        "-c",
        &format!("{ns}; cat /dev/shm/x; echo back > /dev/shm/y"),
    ]);
    assert_eq!(out, format!("{a_ns}shared\n"));
    assert_eq!(
        d.ok(&["exec", "ia", "sh", "-c", "cat /dev/shm/y"]),
        "back\n"
    );
    assert_eq!(modes(&d, "ia"), "|shareable");
    assert_eq!(modes(&d, "ib"), "|container:ia");

    // A private container's IPC cannot be joined (Docker's words).
    sleeper(&d, "ic", &[]);
    assert_eq!(modes(&d, "ic"), "|private");
    fails_with(
        &d,
        &["run", "--rm", "--ipc", "container:ic", IMAGE, "true"],
        "non-shareable IPC (hint: use IpcMode:shareable for the donor container)",
    );
    fails_with(
        &d,
        &["create", "--ipc", "container:nosuch", IMAGE],
        "No such container: nosuch",
    );
    fails_with(
        &d,
        &["create", "--ipc", "shared", IMAGE],
        "invalid IPC mode \"shared\": use private, none, shareable, host or container:<name|id>",
    );

    // The shareable container's /dev/shm tmpfs on the host goes with it.
    let id = d.ok(&["inspect", "-f", "{{.Id}}", "ia"]);
    let shm = d.data_root().join("containers").join(id.trim()).join("shm");
    let mounted = || {
        let info = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
        info.contains(&format!(" {} ", shm.display()))
    };
    assert!(mounted(), "{} is not mounted", shm.display());
    d.ok(&["rm", "-f", "ib", "ia"]);
    assert!(!mounted(), "{} is still mounted", shm.display());
}
