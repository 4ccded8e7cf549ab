//! Container management through berthd with the docker CLI: pause/unpause, rename, top,
//! update, restart, prune, ps filters and stats.

use std::time::Duration;

use berth_testutil::require_root;

use crate::daemon::{loaded, Daemon};

const IMAGE: &str = "bench/load:latest";

fn inspect(d: &Daemon, name: &str, format: &str) -> String {
    d.docker_ok(&["inspect", name, "--format", format])
        .trim()
        .to_string()
}

fn run_sleeper(d: &Daemon, name: &str, extra: &[&str]) -> String {
    let mut args = vec!["run", "-d", "--name", name];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[IMAGE, "/bin/busybox", "sleep", "1000"]);
    d.docker_ok(&args).trim().to_string()
}

fn stderr_of(d: &Daemon, args: &[&str]) -> String {
    let out = d.docker(args);
    assert!(!out.status.success(), "docker {args:?} succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn log_lines(d: &Daemon, name: &str) -> usize {
    d.docker_ok(&["logs", name]).lines().count()
}

#[test]
fn pause_freezes_and_stop_ends_a_paused_container() {
    require_root!();
    let d = loaded();
    let script = "i=0; while true; do i=$((i+1)); echo $i; sleep 0.1; done";
    let id = d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "p1",
        IMAGE,
        "/bin/busybox",
        "sh",
        "-c",
        script,
    ]);
    let id = id.trim().to_string();
    std::thread::sleep(Duration::from_millis(500));
    d.docker_ok(&["pause", "p1"]);
    assert_eq!(
        inspect(
            &d,
            "p1",
            "{{.State.Status}} {{.State.Paused}} {{.State.Running}}"
        ),
        "paused true true"
    );
    let ps = d.docker_ok(&["ps", "--format", "{{.Names}}|{{.Status}}|{{.State}}"]);
    assert!(
        ps.trim().starts_with("p1|Up ") && ps.contains("(Paused)|paused"),
        "{ps}"
    );
    let frozen = log_lines(&d, "p1");
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(log_lines(&d, "p1"), frozen, "the log grew while paused");
    let err = stderr_of(&d, &["pause", "p1"]);
    assert!(
        err.contains(&format!("Container {id} is already paused")),
        "{err}"
    );
    let listed = d.docker_ok(&["ps", "-q", "--filter", "status=paused"]);
    assert_eq!(listed.trim(), &id[..12]);

    d.docker_ok(&["unpause", "p1"]);
    assert_eq!(inspect(&d, "p1", "{{.State.Status}}"), "running");
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        log_lines(&d, "p1") > frozen,
        "the log did not grow after unpause"
    );
    let err = stderr_of(&d, &["unpause", "p1"]);
    assert!(
        err.contains(&format!("Container {id} is not paused")),
        "{err}"
    );

    d.docker_ok(&["pause", "p1"]);
    d.docker_ok(&["stop", "-t", "1", "p1"]);
    assert_eq!(inspect(&d, "p1", "{{.State.Status}}"), "exited");
    let err = stderr_of(&d, &["pause", "p1"]);
    assert!(
        err.contains(&format!("Container {id} is not running")),
        "{err}"
    );

    // rm -f of a paused container.
    d.docker_ok(&["start", "p1"]);
    d.docker_ok(&["pause", "p1"]);
    d.docker_ok(&["rm", "-f", "p1"]);
    assert!(d.docker_ok(&["ps", "-aq"]).trim().is_empty());
}

#[test]
fn rename_then_look_up_by_the_new_name() {
    require_root!();
    let d = loaded();
    let id = d.docker_ok(&["create", "--name", "old", IMAGE, "/bin/busybox", "true"]);
    let id = id.trim().to_string();
    d.docker_ok(&["create", "--name", "other", IMAGE, "/bin/busybox", "true"]);
    d.docker_ok(&["rename", "old", "new"]);
    assert_eq!(
        inspect(&d, "new", "{{.Id}} {{.Name}}"),
        format!("{id} /new")
    );
    let err = stderr_of(&d, &["inspect", "old"]);
    assert!(err.contains("No such"), "{err}");
    let err = stderr_of(&d, &["rename", "new", "other"]);
    assert!(err.contains("is already in use by container"), "{err}");
    let (status, _) = d.request("POST", "/containers/new/rename?name=other");
    assert_eq!(status, 409);
    let (status, body) = d.request("POST", "/containers/new/rename?name=-bad");
    assert_eq!(status, 400, "{body}");
    d.docker_ok(&["rm", "new", "other"]);
}

#[test]
fn top_shows_the_containers_process() {
    require_root!();
    let d = loaded();
    run_sleeper(&d, "t1", &[]);
    let top = d.docker_ok(&["top", "t1"]);
    let mut lines = top.lines();
    let header = lines.next().unwrap_or("");
    assert!(header.contains("PID") && header.contains("CMD"), "{top}");
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 1, "{top}");
    assert!(rows[0].contains("sleep 1000"), "{top}");
    let top = d.docker_ok(&["top", "t1", "-o", "pid,comm"]);
    assert!(top.contains("busybox"), "{top}");
    d.docker_ok(&["stop", "-t", "0", "t1"]);
    let err = stderr_of(&d, &["top", "t1"]);
    assert!(err.contains("is not running"), "{err}");
    d.docker_ok(&["rm", "t1"]);
}

#[test]
fn update_changes_the_live_cgroup_and_the_record() {
    require_root!();
    let d = loaded();
    let id = run_sleeper(&d, "u1", &[]);
    d.docker_ok(&[
        "update",
        "--memory",
        "64m",
        "--restart",
        "on-failure:3",
        "u1",
    ]);
    assert_eq!(inspect(&d, "u1", "{{.HostConfig.Memory}}"), "67108864");
    assert_eq!(
        inspect(
            &d,
            "u1",
            "{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}"
        ),
        "on-failure:3"
    );
    let limit = format!("/sys/fs/cgroup/memory/berth/{id}/memory.limit_in_bytes");
    if std::path::Path::new(&limit).exists() {
        let v = std::fs::read_to_string(&limit).expect("limit");
        assert_eq!(v.trim(), "67108864");
    }
    // The next start applies the record's limit.
    d.docker_ok(&["restart", "-t", "0", "u1"]);
    if std::path::Path::new(&limit).exists() {
        let v = std::fs::read_to_string(&limit).expect("limit");
        assert_eq!(v.trim(), "67108864");
    }
    let err = stderr_of(
        &d,
        &["update", "--cpus", "0.5", "--cpu-quota", "50000", "u1"],
    );
    assert!(err.contains("Conflicting options"), "{err}");
    d.docker_ok(&["rm", "-f", "u1"]);
}

#[test]
fn restart_changes_started_at_and_keeps_the_id() {
    require_root!();
    let d = loaded();
    let id = run_sleeper(&d, "r1", &[]);
    let before = inspect(&d, "r1", "{{.State.StartedAt}}");
    std::thread::sleep(Duration::from_millis(20));
    d.docker_ok(&["restart", "-t", "1", "r1"]);
    let after = inspect(&d, "r1", "{{.Id}} {{.State.Running}} {{.State.StartedAt}}");
    assert!(after.starts_with(&format!("{id} true ")), "{after}");
    assert_ne!(after.rsplit(' ').next(), Some(before.as_str()));
    // An exited container is started.
    d.docker_ok(&["stop", "-t", "0", "r1"]);
    d.docker_ok(&["restart", "r1"]);
    assert_eq!(inspect(&d, "r1", "{{.State.Status}}"), "running");
    d.docker_ok(&["rm", "-f", "r1"]);
}

#[test]
fn prune_removes_stopped_containers_only() {
    require_root!();
    let d = loaded();
    let done = d.docker_ok(&["run", "-d", "--name", "done", IMAGE, "/bin/busybox", "true"]);
    let done = done.trim().to_string();
    assert_eq!(d.docker_ok(&["wait", "done"]).trim(), "0");
    d.docker_ok(&[
        "create",
        "--name",
        "kept",
        "--label",
        "keep=1",
        IMAGE,
        "/bin/busybox",
        "true",
    ]);
    run_sleeper(&d, "live", &[]);
    let out = d.docker_ok(&["container", "prune", "-f", "--filter", "label!=keep"]);
    assert!(out.contains(&done), "{out}");
    let names = d.docker_ok(&["ps", "-a", "--format", "{{.Names}}"]);
    let mut names: Vec<&str> = names.lines().collect();
    names.sort();
    assert_eq!(names, ["kept", "live"]);
    let (status, body) = d.request("POST", "/containers/prune");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        v["ContainersDeleted"].as_array().map(Vec::len),
        Some(1),
        "{body}"
    );
    assert!(v["SpaceReclaimed"].is_u64(), "{body}");
    assert_eq!(
        d.docker_ok(&["ps", "-a", "--format", "{{.Names}}"]).trim(),
        "live"
    );
    d.docker_ok(&["rm", "-f", "live"]);
}

#[test]
fn ps_filters() {
    require_root!();
    let d = loaded();
    let sh = |name: &str, label: &str, script: &str| {
        let args = [
            "run",
            "-d",
            "--name",
            name,
            "--label",
            label,
            IMAGE,
            "/bin/busybox",
            "sh",
            "-c",
            script,
        ];
        d.docker_ok(&args).trim().to_string()
    };
    let gone = sh("gone", "tier=a", "exit 3");
    assert_eq!(d.docker_ok(&["wait", "gone"]).trim(), "3");
    let up = sh("up", "tier=b", "sleep 1000");
    let ps = |filter: &str| {
        let out = d.docker_ok(&["ps", "-a", "--no-trunc", "-q", "--filter", filter]);
        out.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    assert_eq!(ps("status=exited"), gone);
    assert_eq!(ps("status=running"), up);
    assert_eq!(ps("exited=3"), gone);
    assert!(ps("exited=0").is_empty());
    assert_eq!(ps("label=tier=b"), up);
    assert_eq!(ps("label=tier").split(' ').count(), 2);
    assert_eq!(ps("name=gon"), gone);
    assert_eq!(ps("name=^up$"), up);
    assert_eq!(ps(&format!("id={}", &up[..10])), up);
    assert_eq!(ps(&format!("ancestor={IMAGE}")).split(' ').count(), 2);
    assert!(ps("ancestor=busybox:nope").is_empty());
    assert_eq!(ps("before=up"), gone);
    assert_eq!(ps("since=gone"), up);
    // Without -a, a status filter still lists stopped containers (as Docker does).
    let out = d.docker_ok(&["ps", "-q", "--no-trunc", "--filter", "status=exited"]);
    assert_eq!(out.trim(), gone);
    let out = d.docker_ok(&["ps", "-a", "-q", "--no-trunc", "-n", "1"]);
    assert_eq!(out.trim(), up);
    let err = stderr_of(&d, &["ps", "--filter", "color=red"]);
    assert!(err.contains("invalid filter 'color'"), "{err}");
    let (status, body) = d.request(
        "GET",
        "/containers/json?filters=%7B%22status%22%3A%5B%22nap%22%5D%7D",
    );
    assert_eq!(status, 400, "{body}");
    d.docker_ok(&["rm", "-f", "gone", "up"]);
}

#[test]
fn stats_no_stream_prints_a_row() {
    require_root!();
    let d = loaded();
    let id = run_sleeper(&d, "s1", &[]);
    let out = d.docker_ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}}|{{.ID}}|{{.PIDs}}|{{.MemUsage}}",
        "s1",
    ]);
    let row = out.trim();
    assert!(row.starts_with(&format!("s1|{}|1|", &id[..12])), "{row}");
    let (status, body) = d.request("GET", "/containers/s1/stats?stream=false");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert!(
        v["cpu_stats"]["cpu_usage"]["total_usage"]
            .as_u64()
            .is_some(),
        "{body}"
    );
    assert!(
        v["precpu_stats"]["system_cpu_usage"].as_u64().is_some(),
        "{body}"
    );
    assert!(
        v["memory_stats"]["usage"].as_u64().unwrap_or(0) > 0,
        "{body}"
    );
    assert_eq!(v["pids_stats"]["current"], 1, "{body}");
    assert_eq!(v["name"], "/s1");
    d.docker_ok(&["rm", "-f", "s1"]);
}
