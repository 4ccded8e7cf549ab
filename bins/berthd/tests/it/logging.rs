//! json-file logs: capped by default and by `--log-opt max-size/max-file`, rotated files read
//! back in order by `docker logs`, other drivers refused with the fix named; and the
//! daemon's `--default-ulimit`s under the container's own; `--init` with the daemon's init.

use berth_testutil::require_root;

use crate::daemon::{bench_archive, Daemon};

const IMAGE: &str = "bench/load:latest";

#[test]
fn log_opts_rotate_and_logs_reads_across_files() {
    require_root!();
    let d = Daemon::start();
    let archive = bench_archive(d.dir.path());
    d.docker_ok(&["load", "-i", archive.to_str().expect("utf-8 path")]);
    let id = d.docker_ok(&[
        "run",
        "-d",
        "--log-opt",
        "max-size=4k",
        "--log-opt",
        "max-file=3",
        IMAGE,
        "/bin/busybox",
        "seq",
        "1",
        "3000",
    ]);
    let id = id.trim();
    assert_eq!(d.docker_ok(&["wait", id]).trim(), "0");
    let shim_dir = d.dir.path().join("run/shims").join(id);
    let live = shim_dir.join(format!("{id}-json.log"));
    let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    // Three files at most, none much over the cap (a rotation happens after a line).
    assert!(live.exists());
    assert!(shim_dir.join(format!("{id}-json.log.2")).exists());
    assert!(!shim_dir.join(format!("{id}-json.log.3")).exists());
    for n in ["", ".1", ".2"] {
        let p = shim_dir.join(format!("{id}-json.log{n}"));
        assert!(
            size(&p) <= 4096 + 200,
            "{} is {} bytes",
            p.display(),
            size(&p)
        );
    }
    // What is left reads back in order and ends with the last line.
    let logs = d.docker_ok(&["logs", id]);
    let nums: Vec<u32> = logs.lines().map(|l| l.parse().expect("a number")).collect();
    assert_eq!(nums.last(), Some(&3000));
    assert!(nums.len() < 3000, "nothing was rotated away");
    assert!(nums.windows(2).all(|w| w[1] == w[0] + 1), "out of order");
    assert_eq!(
        d.docker_ok(&[
            "inspect",
            "-f",
            "{{.HostConfig.LogConfig.Type}} {{index .HostConfig.LogConfig.Config \"max-size\"}}",
            id
        ])
        .trim(),
        "json-file 4k"
    );
    d.docker_ok(&["rm", id]);

    // Another driver: refused at create, Docker's 125 from `docker run`, the fix named.
    let out = d.docker(&[
        "run",
        "--log-driver",
        "syslog",
        IMAGE,
        "/bin/busybox",
        "true",
    ]);
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("syslog") && err.contains("json-file"), "{err}");
    assert!(d.docker_ok(&["ps", "-aq"]).trim().is_empty());
}

#[test]
fn default_ulimits_apply_under_the_containers_own() {
    require_root!();
    let d = Daemon::start_with(
        tempfile::tempdir().expect("tempdir"),
        &[
            "--default-ulimit",
            "nofile=1234:2345",
            "--default-ulimit",
            "nproc=500",
        ],
    );
    let archive = bench_archive(d.dir.path());
    d.docker_ok(&["load", "-i", archive.to_str().expect("utf-8 path")]);
    let show = "ulimit -n; ulimit -Hn; ulimit -u";
    let out = d.docker_ok(&["run", "--rm", IMAGE, "/bin/busybox", "sh", "-c", show]);
    assert_eq!(out, "1234\n2345\n500\n");
    // The container's own value wins by name; inspect shows only what the user gave.
    let id = d.docker_ok(&[
        "run",
        "-d",
        "--ulimit",
        "nofile=100:200",
        IMAGE,
        "/bin/busybox",
        "sh",
        "-c",
        show,
    ]);
    let id = id.trim();
    assert_eq!(d.docker_ok(&["wait", id]).trim(), "0");
    assert_eq!(d.docker_ok(&["logs", id]), "100\n200\n500\n");
    let shown = d.docker_ok(&["inspect", "-f", "{{json .HostConfig.Ulimits}}", id]);
    assert!(
        shown.contains("nofile") && !shown.contains("nproc"),
        "{shown}"
    );
    d.docker_ok(&["rm", id]);
}

#[test]
fn init_runs_as_pid_1_and_passes_the_exit_code_on() {
    require_root!();
    let d = Daemon::start();
    let archive = bench_archive(d.dir.path());
    d.docker_ok(&["load", "-i", archive.to_str().expect("utf-8 path")]);
    // The daemon's init (docker-init, Debian's tini-static) is pid 1; the command its child.
    let script = "cat /proc/1/comm; echo $$; exit 3";
    let out = d.docker(&[
        "run",
        "--rm",
        "--init",
        IMAGE,
        "/bin/busybox",
        "sh",
        "-c",
        script,
    ]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains("init"), "{text}");
    assert_ne!(lines[1], "1", "{text}");
}
