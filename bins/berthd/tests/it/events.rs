//! `docker events` against berthd: the ring replayed between `--since` and `--until` (the
//! order and `exitCode` of create/start/die/destroy), a live subscriber, filters by
//! container name and type, volume events.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use berth_testutil::require_root;

use crate::daemon::{bench_archive, Daemon, DOCKER};

const IMAGE: &str = "bench/load:latest";

/// Now as the CLI's `secs.nanos` timestamp.
pub fn stamp() -> String {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
    format!("{}.{:09}", d.as_secs(), d.subsec_nanos())
}

/// `docker events` between two stamps with a format and filters: its lines.
pub fn events_between(d: &Daemon, since: &str, until: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["events", "--since", since, "--until", until];
    args.extend_from_slice(extra);
    d.docker_ok(&args).lines().map(str::to_string).collect()
}

#[test]
fn events_replay_in_order_and_stream_live() {
    require_root!();
    let d = Daemon::start();
    let archive = bench_archive(d.dir.path());
    d.docker_ok(&["load", "-i", archive.to_str().expect("utf-8 path")]);
    let t0 = stamp();

    // A live subscriber for `die`, started before the container runs.
    let mut live = Command::new(DOCKER)
        .arg("-H")
        .arg(format!("unix://{}", d.sock.display()))
        .args(["events", "--filter", "event=die", "--format"])
        .arg("{{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}")
        .env("DOCKER_CONFIG", d.dir.path().join("docker-config"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("docker events runs");
    let (tx, rx) = mpsc::channel();
    let out = live.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    std::thread::sleep(Duration::from_millis(500));

    d.docker_ok(&[
        "create",
        "--name",
        "ev1",
        "--label",
        "tier=front",
        IMAGE,
        "/bin/busybox",
        "sh",
        "-c",
        "exit 3",
    ]);
    d.docker_ok(&["start", "ev1"]);
    assert_eq!(d.docker_ok(&["wait", "ev1"]).trim(), "3");
    let got = rx.recv_timeout(Duration::from_secs(20));
    let _ = live.kill();
    let _ = live.wait();
    assert_eq!(got.expect("the live subscriber saw a die"), "ev1 3");
    d.docker_ok(&["rm", "ev1"]);
    d.docker_ok(&["create", "--name", "other", IMAGE]);
    d.docker_ok(&["volume", "create", "vol1"]);
    d.docker_ok(&["volume", "rm", "vol1"]);
    std::thread::sleep(Duration::from_millis(100));
    let t1 = stamp();

    let fmt = ["--format", "{{.Type}} {{.Action}}"];
    let by_name = [&fmt[..], &["--filter", "container=ev1"]].concat();
    assert_eq!(
        events_between(&d, &t0, &t1, &by_name),
        [
            "container create",
            "container start",
            "container die",
            "container destroy"
        ]
    );
    let die = [
        "--filter",
        "event=die",
        "--format",
        "{{.Actor.Attributes.exitCode}} {{.Actor.Attributes.tier}} {{.From}}",
    ];
    assert_eq!(
        events_between(&d, &t0, &t1, &die),
        [format!("3 front {IMAGE}")]
    );
    let volumes = [&fmt[..], &["--filter", "type=volume"]].concat();
    assert_eq!(
        events_between(&d, &t0, &t1, &volumes),
        ["volume create", "volume destroy"]
    );
    // Everything: the other container's create is there, after ev1's destroy.
    let all = events_between(
        &d,
        &t0,
        &t1,
        &[
            "--format",
            "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}",
        ],
    );
    let pos = |s: &str| all.iter().position(|l| l == s);
    assert!(
        pos("container destroy ev1") < pos("container create other"),
        "{all:?}"
    );
    // An `until` in the past ends the stream after the replay; nothing before `since`.
    let t2 = stamp();
    assert!(events_between(&d, &t1, &t2, &[]).is_empty());
    d.docker_ok(&["rm", "other"]);
}
