//! Restart policies through the docker CLI: on-failure with a retry limit, always until the
//! user stops it, the daemon-start rule for always/unless-stopped, and the --rm conflict.

use std::time::{Duration, Instant};

use berth_testutil::require_root;

use crate::daemon::{bench_archive, Daemon};

const IMAGE: &str = "bench/load:latest";

fn state(d: &Daemon, name: &str) -> String {
    d.docker_ok(&["inspect", "-f", "{{.State.Status}} {{.RestartCount}}", name])
        .trim()
        .to_string()
}

/// Polls until `f` holds (10 s at most).
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn restart_policies_follow_dockers_rules() {
    require_root!();
    let mut d = Daemon::start();
    let archive = bench_archive(d.dir.path());
    d.docker_ok(&["load", "-i", archive.to_str().expect("utf-8 path")]);
    let sh = |name: &str, policy: &str, script: &str| {
        d.docker_ok(&[
            "run",
            "-d",
            "--name",
            name,
            "--restart",
            policy,
            IMAGE,
            "/bin/busybox",
            "sh",
            "-c",
            script,
        ]);
    };

    // on-failure:2: two restarts after failures, then it stays exited; every run logged.
    sh("fail", "on-failure:2", "echo run; exit 3");
    eventually("two restarts", || state(&d, "fail") == "exited 2");
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(state(&d, "fail"), "exited 2");
    assert_eq!(d.docker_ok(&["logs", "fail"]), "run\nrun\nrun\n");
    assert_eq!(
        d.docker_ok(&["inspect", "-f", "{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}} {{.State.ExitCode}}", "fail"]).trim(),
        "on-failure 2 3"
    );

    // on-failure after success: no restart.
    sh("ok", "on-failure", "exit 0");
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(state(&d, "ok"), "exited 0");

    // always: restarts after a clean exit, with a growing backoff, until the user stops it.
    sh("always", "always", "sleep 0.1");
    eventually("three restarts", || {
        let s = state(&d, "always");
        s.split(' ')
            .nth(1)
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0)
            >= 3
    });
    // During a backoff the container reads as Docker's `restarting`.
    eventually("restarting shown during a backoff", || {
        let f = "{{.State.Status}} {{.State.Restarting}}";
        d.docker_ok(&["inspect", "-f", f, "always"]).trim() == "restarting true"
    });
    d.docker_ok(&["stop", "-t", "1", "always"]);
    let stopped = state(&d, "always");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(state(&d, "always"), stopped, "restarted after docker stop");
    assert!(stopped.starts_with("exited"), "{stopped}");

    // A user's start clears the count.
    sh("unless", "unless-stopped", "sleep 1000");
    d.docker_ok(&["stop", "-t", "0", "unless"]);

    // Daemon start: `always` comes back even after a user's stop, `unless-stopped` does not.
    d.kill9();
    d.restart();
    eventually("always restarted at daemon start", || {
        state(&d, "always").starts_with("running")
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        state(&d, "unless").starts_with("exited"),
        "{}",
        state(&d, "unless")
    );
    assert!(state(&d, "fail").starts_with("exited"));

    // AutoRemove with a policy (the CLI refuses it itself; the API too), nothing created.
    let before = d.docker_ok(&["ps", "-aq"]).lines().count();
    let body = format!(
        r#"{{"Image":"{IMAGE}","Cmd":["/bin/busybox","true"],"HostConfig":{{"AutoRemove":true,"RestartPolicy":{{"Name":"always"}}}}}}"#
    );
    let (status, answer) = d.request_with_body("POST", "/containers/create", &body);
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("restart policy"), "{answer}");
    assert_eq!(d.docker_ok(&["ps", "-aq"]).lines().count(), before);
    let out = d.docker(&["create", "--restart", "sometimes", IMAGE]);
    assert!(!out.status.success());

    let all = d.docker_ok(&["ps", "-aq"]);
    let mut args = vec!["rm", "-f"];
    args.extend(all.lines());
    d.docker_ok(&args);
    assert!(d.docker_ok(&["ps", "-aq"]).trim().is_empty());
}
