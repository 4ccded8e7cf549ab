//! DESIGN.md's process model under fire: `kill -9 berthd` while 20 containers run loses no
//! container, no log line and no exit code, and the restarted daemon manages them all.

use std::time::Duration;

use berth_testutil::{mounts_containing, require_root};

use crate::daemon::{bench_archive, Daemon};

const IMAGE: &str = "bench/load:latest";
const COUNTERS: usize = 16;
const ENDERS: usize = 4;

/// The numbers a counter container printed, which must be 0, 1, 2, … without a gap.
fn assert_continuous(d: &Daemon, name: &str) -> u64 {
    let logs = d.docker_ok(&["logs", name]);
    let nums: Vec<u64> = logs
        .lines()
        .map(|l| {
            l.parse()
                .unwrap_or_else(|_| panic!("{name}: bad line {l:?}"))
        })
        .collect();
    assert!(!nums.is_empty(), "{name}: no log lines");
    for (i, n) in nums.iter().enumerate() {
        assert_eq!(*n, i as u64, "{name}: gap in the log at line {i}");
    }
    *nums.last().expect("not empty")
}

#[test]
fn kill_9_berthd_loses_no_container_log_line_or_exit_code() {
    require_root!();
    let mut d = Daemon::start();
    let archive = bench_archive(d.dir.path());
    d.docker_ok(&["load", "-i", archive.to_str().expect("utf-8 path")]);
    let counter = "i=0; while true; do echo $i; i=$((i+1)); sleep 0.05; done";
    for n in 0..COUNTERS {
        let name = format!("c{n}");
        d.docker_ok(&[
            "run",
            "-d",
            "--name",
            &name,
            IMAGE,
            "/bin/busybox",
            "sh",
            "-c",
            counter,
        ]);
    }
    for n in 0..ENDERS {
        let name = format!("e{n}");
        let script = "sleep 2; echo bye; exit 3";
        d.docker_ok(&[
            "run",
            "-d",
            "--name",
            &name,
            IMAGE,
            "/bin/busybox",
            "sh",
            "-c",
            script,
        ]);
    }
    assert_eq!(
        d.docker_ok(&["ps", "-q"]).lines().count(),
        COUNTERS + ENDERS
    );

    d.kill9();
    // The enders exit while no daemon runs; the counters keep writing.
    std::thread::sleep(Duration::from_secs(3));
    d.restart();

    assert_eq!(d.docker_ok(&["ps", "-q"]).lines().count(), COUNTERS);
    for n in 0..COUNTERS {
        let name = format!("c{n}");
        assert_eq!(
            d.docker_ok(&["inspect", "-f", "{{.State.Status}}", &name])
                .trim(),
            "running"
        );
        let before = assert_continuous(&d, &name);
        // Still logging after the restart, still without a gap.
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            assert_continuous(&d, &name) > before,
            "{name} stopped logging"
        );
    }
    for n in 0..ENDERS {
        let name = format!("e{n}");
        let state = d.docker_ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}}",
            &name,
        ]);
        assert_eq!(state.trim(), "exited 3", "{name}");
        assert_eq!(d.docker_ok(&["logs", &name]), "bye\n");
        assert_eq!(d.docker_ok(&["wait", &name]).trim(), "3");
    }
    // Stop and remove work on containers started by the previous daemon.
    d.docker_ok(&["stop", "-t", "1", "c0"]);
    assert_eq!(
        d.docker_ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}}",
            "c0"
        ])
        .trim(),
        "exited 137"
    );
    let all = d.docker_ok(&["ps", "-aq"]);
    let mut args = vec!["rm", "-f"];
    args.extend(all.lines());
    d.docker_ok(&args);
    assert!(d.docker_ok(&["ps", "-aq"]).trim().is_empty());
    let root = d.data_root();
    assert!(mounts_containing(root.to_str().expect("utf-8")).is_empty());
}
