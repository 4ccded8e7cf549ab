//! Zero-downtime `compose up`: a changed service is replaced start-first while a request
//! loop runs against its published port on 127.0.0.1 (inside berthd's private network
//! namespace), and a new version that never becomes ready is rolled back.
//!
//! Every new version waits 2 s before its server listens, so a switch that came before the
//! new container was ready would show as failed requests; the `--strategy recreate` run shows
//! that the loop does see downtime when there is some.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::compose::{eventually, Stack};
use crate::daemon_client::Daemon;

const PORT: u16 = 8080;

/// The stack: `web` serves `version` on PORT after `delay` seconds; with `health`, a health
/// check against its own server; `extra` is more service keys.
fn stack(version: &str, delay: u32, health: bool, extra: &str) -> String {
    let check = if health {
        "    healthcheck:\n      test: [\"CMD-SHELL\", \"busybox wget -q -O /dev/null http://127.0.0.1:80/\"]\n      interval: 1s\n      timeout: 1s\n      retries: 2\n"
    } else {
        ""
    };
    format!(
        r#"services:
  web:
    image: bench/load:latest
    command: ["sh", "-c", "echo starting {version}; busybox sleep {delay}; busybox mkdir -p /www && echo {version} > /www/index.html && exec busybox httpd -f -p 80 -h /www"]
    ports: ["{PORT}:80"]
    stop_grace_period: 1s
{check}{extra}"#
    )
}

/// One `GET /` to 127.0.0.1:PORT: the body, or why it failed.
fn get(addr: SocketAddr) -> Result<String, String> {
    let mut s =
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(3)))
        .map_err(|e| e.to_string())?;
    s.write_all(b"GET / HTTP/1.0\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).map_err(|e| e.to_string())?;
    match raw.split_once("\r\n\r\n") {
        Some((head, body)) if head.starts_with("HTTP/1.") && head[8..].starts_with(" 200") => {
            Ok(body.trim().to_string())
        }
        _ => Err(format!("bad answer {raw:?}")),
    }
}

/// What the request loop saw.
#[derive(Debug, Default)]
struct Seen {
    ok: Vec<String>,
    failed: Vec<String>,
}

/// Runs `during` while a loop (one request every 10 ms, from berthd's namespace) hits the
/// published port; returns `during`'s result and what the loop saw.
fn under_load<T>(d: &Daemon, during: impl FnOnce() -> T) -> (T, Seen) {
    let stop = AtomicBool::new(false);
    let addr: SocketAddr = ([127, 0, 0, 1], PORT).into();
    std::thread::scope(|s| {
        let looper = s.spawn(|| {
            d.net.run(|| {
                let mut seen = Seen::default();
                while !stop.load(Ordering::Relaxed) {
                    match get(addr) {
                        Ok(b) => seen.ok.push(b),
                        Err(e) => seen.failed.push(e),
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                seen
            })
        });
        let out = during();
        // A moment more on the final state.
        std::thread::sleep(Duration::from_millis(500));
        stop.store(true, Ordering::Relaxed);
        (out, looper.join().expect("the loop thread"))
    })
}

fn serving(d: &Daemon, want: &str) {
    let addr: SocketAddr = ([127, 0, 0, 1], PORT).into();
    eventually(&format!("{want} on 127.0.0.1:{PORT}"), || {
        match d.net.run(|| get(addr)) {
            Ok(b) if b == want => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });
}

/// The project's containers: (name, id).
fn containers(s: &Stack) -> Vec<(String, String)> {
    s.ids()
}

#[test]
fn compose_rolling_update_serves_every_request_and_rolls_back_a_bad_version() {
    berth_testutil::require_root!();
    let d = Daemon::start();
    d.load_image();
    let s = Stack::new(&d, "roll", &stack("v1", 0, true, ""));
    s.ok(&["up", "-d", "--wait"]);
    serving(&d, "v1");
    let before = containers(&s);
    assert_eq!(before.len(), 1, "{before:?}");

    // v2: changed command, starts listening 2 s late; traffic moves only once it is healthy.
    s.write(&stack("v2", 2, true, ""));
    let (up, seen) = under_load(&d, || s.run(&["up", "-d"]));
    assert!(up.ok, "up failed: {up:?}\nberthd log:\n{}", d.log());
    assert!(seen.failed.is_empty(), "failed requests: {:?}", seen.failed);
    assert!(seen.ok.iter().any(|b| b == "v1"), "never saw v1: {seen:?}");
    assert_eq!(seen.ok.last().map(String::as_str), Some("v2"));
    // Once v2 answered, v1 never came back (the switch is one-way).
    let first_v2 = seen.ok.iter().position(|b| b == "v2").expect("saw v2");
    assert!(seen.ok[first_v2..].iter().all(|b| b == "v2"), "{seen:?}");
    let after = containers(&s);
    assert_eq!(after.len(), 1, "old container left: {after:?}");
    assert_eq!(after[0].0, before[0].0, "the new container has the name");
    assert_ne!(after[0].1, before[0].1, "recreated");
    assert!(
        up.stderr.contains("Ready"),
        "events name the switch: {}",
        up.stderr
    );

    // v3 never becomes healthy (its server listens on another port): `up` fails with its
    // logs, v2 keeps serving without a failed request, and v3's container is gone.
    let bad = stack("v3", 0, true, "").replace("-p 80 ", "-p 81 ");
    s.write(&bad);
    let (up, seen) = under_load(&d, || s.run(&["up", "-d"]));
    assert!(!up.ok, "a bad version must fail up: {up:?}");
    assert!(
        up.stderr.contains("did not become ready") && up.stderr.contains("it is unhealthy"),
        "{}",
        up.stderr
    );
    assert!(
        up.stderr.contains("starting v3"),
        "the new container's logs: {}",
        up.stderr
    );
    assert!(seen.failed.is_empty(), "failed requests: {:?}", seen.failed);
    assert!(seen.ok.iter().all(|b| b == "v2"), "{seen:?}");
    assert_eq!(
        containers(&s),
        after,
        "the old container is back under its name"
    );
    serving(&d, "v2");
}

#[test]
fn compose_rolling_update_without_healthcheck_waits_for_the_port() {
    berth_testutil::require_root!();
    let d = Daemon::start();
    d.load_image();
    let s = Stack::new(&d, "probe", &stack("v1", 0, false, ""));
    s.ok(&["up", "-d"]);
    serving(&d, "v1");
    let id = containers(&s)[0].1.clone();
    // The probe runs every 50 ms: a moment after the port first answered, inspect says so.
    eventually("State.Ready", || {
        match d
            .ok(&["inspect", "-f", "{{json .State.Ready}}", &id])
            .trim()
        {
            "true" => Ok(()),
            other => Err(other.to_string()),
        }
    });

    // No health check: berthd probes the published TCP port and switches once it answers.
    s.write(&stack("v2", 2, false, ""));
    let (up, seen) = under_load(&d, || s.run(&["up", "-d"]));
    assert!(up.ok, "up failed: {up:?}\nberthd log:\n{}", d.log());
    assert!(seen.failed.is_empty(), "failed requests: {:?}", seen.failed);
    assert_eq!(seen.ok.last().map(String::as_str), Some("v2"));
    assert!(seen.ok.iter().any(|b| b == "v1"), "{seen:?}");

    // The control: docker compose's stop-first recreate, same change: the loop sees the
    // service down while v3 starts.
    s.write(&stack("v3", 2, false, ""));
    let started = Instant::now();
    let (up, seen) = under_load(&d, || s.run(&["up", "-d", "--strategy", "recreate"]));
    assert!(up.ok, "{up:?}");
    assert!(
        !seen.failed.is_empty(),
        "stop-first must show downtime ({:?}): {seen:?}",
        started.elapsed()
    );
    serving(&d, "v3");
}

/// Two replicas answering `<version>-<hostname>` on one published port.
fn replicas(version: &str, delay: u32) -> String {
    format!(
        r#"services:
  web:
    image: bench/load:latest
    command: ["sh", "-c", "busybox sleep {delay}; busybox mkdir -p /www && echo {version}-$$HOSTNAME > /www/index.html && exec busybox httpd -f -p 80 -h /www"]
    ports: ["{PORT}:80"]
    stop_grace_period: 1s
    deploy:
      replicas: 2
    healthcheck:
      test: ["CMD-SHELL", "busybox wget -q -O /dev/null http://127.0.0.1:80/"]
      interval: 1s
      timeout: 1s
      retries: 2
"#
    )
}

#[test]
fn compose_replicas_share_one_published_port_and_update_without_downtime() {
    berth_testutil::require_root!();
    let d = Daemon::start();
    d.load_image();
    let s = Stack::new(&d, "reps", &replicas("v1", 0));
    s.ok(&["up", "-d", "--wait"]);
    let addr: SocketAddr = ([127, 0, 0, 1], PORT).into();
    let bodies: std::collections::BTreeSet<String> = (0..20)
        .map(|_| d.net.run(|| get(addr)).expect("a replica answers"))
        .collect();
    assert_eq!(
        bodies.len(),
        2,
        "both replicas serve the one port: {bodies:?}"
    );
    assert!(bodies.iter().all(|b| b.starts_with("v1-")), "{bodies:?}");

    s.write(&replicas("v2", 2));
    let (up, seen) = under_load(&d, || s.run(&["up", "-d"]));
    assert!(up.ok, "up failed: {up:?}\nberthd log:\n{}", d.log());
    assert!(seen.failed.is_empty(), "failed requests: {:?}", seen.failed);
    let first_v2 = seen
        .ok
        .iter()
        .position(|b| b.starts_with("v2-"))
        .expect("saw v2");
    assert!(
        seen.ok[first_v2..].iter().all(|b| b.starts_with("v2-")),
        "the switch to the new revision is atomic: {seen:?}"
    );
    let bodies: std::collections::BTreeSet<String> = (0..20)
        .map(|_| d.net.run(|| get(addr)).expect("a replica answers"))
        .collect();
    assert_eq!(bodies.len(), 2, "both new replicas serve: {bodies:?}");
    assert_eq!(containers(&s).len(), 2, "{:?}", containers(&s));
}
