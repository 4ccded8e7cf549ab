//! Health checks through the docker CLI: `--health-cmd` from starting to unhealthy to
//! healthy, `docker ps`'s column and `health=` filter, a probe that times out, none with
//! `--no-healthcheck`, the `health_status` events, berth's opt-in restart of an unhealthy
//! container, and the state across a `kill -9` of berthd.

use std::time::{Duration, Instant};

use berth_testutil::require_root;
use serde_json::Value;

use crate::daemon::{loaded, Daemon};
use crate::events::{events_between, stamp};

const IMAGE: &str = "bench/load:latest";

fn inspect(d: &Daemon, name: &str, format: &str) -> String {
    d.docker_ok(&["inspect", "-f", format, name])
        .trim()
        .to_string()
}

fn health(d: &Daemon, name: &str) -> String {
    inspect(
        d,
        name,
        "{{.State.Health.Status}} {{.State.Health.FailingStreak}}",
    )
}

fn eventually(what: &str, d: &Daemon, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\n{}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn run(d: &Daemon, name: &str, flags: &[&str]) -> String {
    let mut args = vec!["run", "-d", "--name", name, "--stop-timeout", "1"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&[IMAGE, "/bin/busybox", "sleep", "1000"]);
    d.docker_ok(&args).trim().to_string()
}

fn log_of(d: &Daemon, name: &str) -> Vec<Value> {
    let text = inspect(d, name, "{{json .State.Health.Log}}");
    serde_json::from_str::<Vec<Value>>(&text).expect("Health.Log is a JSON list")
}

#[test]
fn health_goes_starting_unhealthy_healthy_and_survives_a_daemon_crash() {
    require_root!();
    let mut d = loaded();
    let t0 = stamp();
    let check = [
        "--health-cmd",
        "test -e /tmp/ok",
        "--health-interval",
        "200ms",
        "--health-retries",
        "2",
    ];
    let started = Instant::now();
    let id = run(&d, "h1", &check);
    // Two failures take at least two intervals: before that it must read `starting`.
    let first = health(&d, "h1");
    let young = started.elapsed() < Duration::from_millis(400);
    assert!(first.starts_with("starting") || !young, "{first}");
    eventually("unhealthy", &d, || {
        health(&d, "h1").starts_with("unhealthy")
    });
    let streak: u32 = health(&d, "h1").split(' ').nth(1).unwrap().parse().unwrap();
    assert!(streak >= 2, "{streak}");
    let log = log_of(&d, "h1");
    assert!(!log.is_empty() && log.len() <= 5, "{log:?}");
    assert!(log.iter().all(|r| r["ExitCode"] == 1), "{log:?}");
    let status = d.docker_ok(&["ps", "--filter", "name=h1", "--format", "{{.Status}}"]);
    assert!(status.contains("(unhealthy)"), "{status}");
    let hits = d.docker_ok(&["ps", "-q", "--no-trunc", "--filter", "health=unhealthy"]);
    assert_eq!(hits.trim(), id);

    d.docker_ok(&["exec", "h1", "/bin/busybox", "touch", "/tmp/ok"]);
    eventually("healthy", &d, || health(&d, "h1") == "healthy 0");
    let status = d.docker_ok(&["ps", "--filter", "name=h1", "--format", "{{.Status}}"]);
    assert!(status.contains("(healthy)"), "{status}");
    assert!(d
        .docker_ok(&["ps", "-q", "--filter", "health=unhealthy"])
        .trim()
        .is_empty());
    assert!(!d
        .docker_ok(&["ps", "-q", "--filter", "health=healthy"])
        .trim()
        .is_empty());
    let t1 = stamp();
    let events = events_between(
        &d,
        &t0,
        &t1,
        &["--filter", "event=health_status", "--format", "{{.Action}}"],
    );
    assert_eq!(
        events,
        ["health_status: unhealthy", "health_status: healthy"]
    );

    // berthd killed: the state is on disk, and the monitor goes on after the restart.
    let before = log_of(&d, "h1");
    d.kill9();
    d.restart();
    assert_eq!(health(&d, "h1"), "healthy 0");
    assert!(log_of(&d, "h1").len() >= before.len().min(5));
    let last = |l: &[Value]| l.last().map(|r| r["Start"].clone());
    eventually("probes after the restart", &d, || {
        last(&log_of(&d, "h1")) != last(&before)
    });
    assert_eq!(health(&d, "h1"), "healthy 0");
    d.docker_ok(&["rm", "-f", "h1"]);
}

#[test]
fn timeouts_fail_none_disables_and_the_label_restarts() {
    require_root!();
    let d = loaded();
    run(
        &d,
        "slow",
        &[
            "--health-cmd",
            "/bin/busybox sleep 5",
            "--health-timeout",
            "300ms",
            "--health-interval",
            "200ms",
            "--health-retries",
            "1",
        ],
    );
    run(&d, "plain", &[]);
    run(&d, "off", &["--no-healthcheck"]);
    run(
        &d,
        "flaky",
        &[
            "--label",
            "berth.restart-on-unhealthy=true",
            "--health-cmd",
            "exit 1",
            "--health-interval",
            "200ms",
            "--health-retries",
            "1",
        ],
    );
    eventually("timed-out probe counted", &d, || {
        health(&d, "slow").starts_with("unhealthy")
    });
    let log = log_of(&d, "slow");
    assert_eq!(log[0]["ExitCode"], -1, "{log:?}");
    assert!(
        log[0]["Output"]
            .as_str()
            .unwrap()
            .contains("exceeded timeout"),
        "{log:?}"
    );
    for name in ["plain", "off"] {
        assert_eq!(inspect(&d, name, "{{json .State.Health}}"), "null");
    }
    let none = d.docker_ok(&["ps", "--filter", "health=none", "--format", "{{.Names}}"]);
    let mut none: Vec<&str> = none.lines().collect();
    none.sort();
    assert_eq!(none, ["off", "plain"]);

    eventually("restart of the unhealthy container", &d, || {
        inspect(&d, "flaky", "{{.RestartCount}}")
            .parse::<u32>()
            .unwrap_or(0)
            >= 1
    });
    eventually("running again", &d, || {
        inspect(&d, "flaky", "{{.State.Status}}") == "running"
    });
    d.docker_ok(&["rm", "-f", "slow", "plain", "off", "flaky"]);
}
