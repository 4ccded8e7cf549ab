//! More `berth compose` tests against a private berthd: project isolation, `down -v`
//! cleanup (with a `build:` service and an external volume), the attached `up` and `run`,
//! and `config` (interpolation, invalid files with key paths and docker compose's exits).

use std::path::Path;
use std::process::{Command, Stdio};

use crate::compose::{eventually, fetch, names, served, Stack, CLIENT, WEB};
use crate::daemon_client::Daemon;
use crate::Run;

#[test]
fn compose_projects_are_isolated() {
    berth_testutil::require_root!();
    let d = Daemon::start();
    d.load_image();
    let a = Stack::new(&d, "pa", &format!("services:\n{WEB}{CLIENT}"));
    a.ok(&["up", "-d"]);
    let b_guard = Stack {
        d: &d,
        dir: tempfile::tempdir().expect("tempdir"),
        name: "pb".into(),
    };
    std::fs::copy(a.file(), b_guard.file()).expect("copy");
    b_guard.ok(&["up", "-d"]);
    let a_web = d.ok(&["inspect", "-f", "{{.Id}}", "pa-web-1"]);
    eventually("`web` in pa is pa's web", || {
        served(fetch(&a, "pa", "web"), &a_web.trim()[..12])
    });
    let b_web = d.ok(&["inspect", "-f", "{{.Id}}", "pb-web-1"]);
    let b_short = &b_web.trim()[..12];
    eventually("`web` in pb is pb's web", || {
        served(fetch(&b_guard, "pb", "web"), b_short)
    });
    let r = fetch(&a, "pa", "pb-web-1");
    assert!(
        !r.stdout.contains(b_short),
        "pa reached pb's web by name: {r:?}"
    );
    let b_ip = d.ok(&[
        "inspect",
        "-f",
        "{{.NetworkSettings.Networks.pb_default.IPAddress}}",
        "pb-web-1",
    ]);
    assert!(
        b_ip.trim().starts_with("172."),
        "pb-web-1's address: {b_ip:?}"
    );
    let r = fetch(&a, "pa", b_ip.trim());
    assert!(
        !r.stdout.contains(b_short),
        "pa reached pb's web by address: {r:?}"
    );
    assert_eq!(a.ok(&["ps", "-q"]).lines().count(), 2);
}

#[test]
fn compose_down_v_removes_containers_networks_and_volumes() {
    berth_testutil::require_root!();
    let d = Daemon::start();
    d.load_image();
    d.ok(&["volume", "create", "keep"]);
    let yaml = format!(
        "services:\n{WEB}    volumes: [\"data:/data\", \"keep:/keep\"]\n  tool:\n    build: ./tool\n    command: [\"busybox\", \"sleep\", \"300\"]\n    stop_grace_period: 1s\nvolumes:\n  data: {{}}\n  keep:\n    external: true\n"
    );
    let s = Stack::new(&d, "dn", &yaml);
    let tool = s.dir.path().join("tool");
    std::fs::create_dir(&tool).expect("mkdir");
    std::fs::write(
        tool.join("Dockerfile"),
        "FROM bench/load:latest\nRUN echo built > /built\n",
    )
    .expect("Dockerfile");
    let up = s.run(&["up", "-d"]);
    assert!(up.ok, "{up:?}\n{}", d.log());
    assert_eq!(
        s.ok(&["exec", "-T", "tool", "cat", "/built"]),
        "built\n",
        "the service runs its built image dn-tool"
    );
    assert!(d
        .ok(&["volume", "ls", "-q"])
        .lines()
        .any(|v| v == "dn_data"));
    let nets = || d.ok(&["network", "ls", "--format", "{{.Name}}"]);
    assert!(nets().lines().any(|n| n == "dn_default"), "{}", nets());
    assert_eq!(
        d.ok(&[
            "volume",
            "inspect",
            "-f",
            "{{index .Labels \"com.docker.compose.project\"}}",
            "dn_data"
        ]),
        "dn\n"
    );

    let down = s.run(&["down", "-v", "-t", "1", "--rmi", "local"]);
    assert!(down.ok, "{down:?}");
    assert!(s.ids().is_empty(), "containers left: {:?}", s.ids());
    assert!(!nets().lines().any(|n| n == "dn_default"), "{}", nets());
    let vols = d.ok(&["volume", "ls", "-q"]);
    assert!(!vols.lines().any(|v| v == "dn_data"), "{vols}");
    assert!(
        vols.lines().any(|v| v == "keep"),
        "external volume kept: {vols}"
    );
    assert!(
        !d.berth(&["inspect", "dn-tool"]).ok,
        "--rmi local removed dn-tool"
    );
}

#[test]
fn compose_up_attached_and_run() {
    berth_testutil::require_root!();
    let d = Daemon::start();
    d.load_image();
    let yaml = "services:\n  job:\n    image: bench/load:latest\n    command: [\"sh\", \"-c\", \"echo one; echo two >&2\"]\n";
    let s = Stack::new(&d, "at", yaml);
    // Attached: the logs, prefixed, until every container has exited.
    let up = s.run(&["up"]);
    assert!(up.ok, "{up:?}");
    assert!(up.stdout.contains("job-1  | one\n"), "{up:?}");
    assert!(up.stdout.contains("job-1  | two\n"), "{up:?}");
    assert!(up.stdout.contains("at-job-1 exited with code 0"), "{up:?}");
    // run: a one-off container with the command overridden, removed with --rm.
    let r = s.run(&[
        "run",
        "--rm",
        "-T",
        "-e",
        "X=42",
        "job",
        "sh",
        "-c",
        "echo x=$X; exit 3",
    ]);
    assert_eq!((r.code, r.stdout.as_str()), (Some(3), "x=42\n"), "{r:?}");
    assert_eq!(names(&s.ids()), ["at-job-1"], "the run container is gone");
}

fn compose_offline(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut c = Command::new(env!("CARGO_BIN_EXE_berth"));
    c.arg("-H")
        .arg(format!("unix://{}/none.sock", dir.display()))
        .arg("compose")
        .args(args)
        .current_dir(dir)
        .env_remove("COMPOSE_FILE")
        .env_remove("COMPOSE_PROJECT_NAME")
        .stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("berth runs").into()
}

#[test]
fn compose_config_interpolates_and_reports_invalid_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path();
    std::fs::write(
        p.join("compose.yaml"),
        "name: cfg\nservices:\n  web:\n    image: \"bench/load:${TAG:-latest}\"\n    ports: [\"${PORT}:80\"]\n    volumes: [\"data:/d\"]\nvolumes:\n  data: {}\n",
    )
    .expect("write");
    let r = compose_offline(p, &["config"], &[("PORT", "8080")]);
    assert!(r.ok, "{r:?}");
    assert!(
        r.stdout.contains("image: bench/load:latest"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("published: '8080'") || r.stdout.contains("published: \"8080\""),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("name: cfg_data"), "{}", r.stdout);
    assert_eq!(
        compose_offline(p, &["config", "--services"], &[("PORT", "1")]).stdout,
        "web\n"
    );
    assert_eq!(
        compose_offline(p, &["config", "--volumes"], &[("PORT", "1")]).stdout,
        "data\n"
    );
    let q = compose_offline(p, &["config", "-q"], &[("PORT", "1")]);
    assert!(q.ok && q.stdout.is_empty(), "{q:?}");

    std::fs::write(
        p.join("bad.yaml"),
        "services:\n  web:\n    image: x\n    restart: sometimes\n",
    )
    .expect("write");
    let r = compose_offline(p, &["-f", "bad.yaml", "config"], &[]);
    assert_eq!(r.code, Some(15), "{r:?}");
    assert!(r.stderr.contains("services.web.restart"), "{r:?}");
    let empty = tempfile::tempdir().expect("tempdir");
    let r = compose_offline(empty.path(), &["config"], &[]);
    assert_eq!(r.code, Some(14), "{r:?}");
    assert!(r.stderr.contains("no configuration file provided"), "{r:?}");
}

#[test]
fn compose_abort_on_container_exit_stops_the_rest_and_returns_the_exit_code() {
    berth_testutil::require_root!();
    let d = Daemon::start();
    d.load_image();
    let yaml = format!(
        "services:\n{WEB}  job:\n    image: bench/load:latest\n    command: [\"sh\", \"-c\", \"busybox sleep 1; echo job-done; exit 3\"]\n"
    );
    let s = Stack::new(&d, "ab", &yaml);
    for flags in [
        &["--abort-on-container-exit"][..],
        &["--exit-code-from", "job"],
        &["--abort-on-container-failure"],
    ] {
        let mut args = vec!["up"];
        args.extend_from_slice(flags);
        let r = s.run(&args);
        assert_eq!(r.code, Some(3), "{flags:?}: {r:?}");
        assert!(r.stdout.contains("job-done"), "{flags:?}: {r:?}");
        assert!(r.stderr.contains("Aborting on container exit..."), "{r:?}");
        let web = d.ok(&["inspect", "-f", "{{.State.Running}}", "ab-web-1"]);
        assert_eq!(web.trim(), "false", "{flags:?}: web must be stopped");
    }
    // The exit code of the named service, not of the one that ended first.
    let r = s.run(&["up", "--exit-code-from", "web"]);
    assert_ne!(r.code, Some(3), "{r:?}");
    let r = s.run(&["up", "-d", "--abort-on-container-exit"]);
    assert!(
        !r.ok && r.stderr.contains("cannot be combined with -d"),
        "{r:?}"
    );
    let r = s.run(&["up", "--exit-code-from", "nope"]);
    assert!(!r.ok && r.stderr.contains("no such service: nope"), "{r:?}");
}

#[test]
fn compose_pid_and_ipc_join_another_service() {
    berth_testutil::require_root!();
    let d = Daemon::start();
    d.load_image();
    let svc = |name: &str, extra: &str| {
        format!(
            "  {name}:\n    image: bench/load:latest\n    command: [\"busybox\", \"sleep\", \"300\"]\n    stop_grace_period: 1s\n{extra}"
        )
    };
    let yaml = format!(
        "services:\n{}{}",
        svc("a", "    ipc: shareable\n"),
        svc(
            "b",
            "    pid: \"service:a\"\n    ipc: \"service:a\"\n    depends_on: [a]\n"
        ),
    );
    let s = Stack::new(&d, "ns", &yaml);
    s.ok(&["up", "-d"]);
    let a_id = d.ok(&["inspect", "-f", "{{.Id}}", "ns-a-1"]);
    let f = "{{.HostConfig.PidMode}}|{{.HostConfig.IpcMode}}";
    assert_eq!(
        d.ok(&["inspect", "-f", f, "ns-b-1"]).trim_end(),
        format!("container:{0}|container:{0}", a_id.trim())
    );
    let ns = "readlink /proc/self/ns/pid; readlink /proc/self/ns/ipc";
    let a_ns = d.ok(&["exec", "ns-a-1", "sh", "-c", ns]);
    assert_eq!(d.ok(&["exec", "ns-b-1", "sh", "-c", ns]), a_ns);
    s.ok(&["down"]);
}

#[test]
fn compose_up_restarts_dependents_with_restart_true_when_a_dependency_is_updated() {
    berth_testutil::require_root!();
    let d = Daemon::start();
    d.load_image();
    let svc = |name: &str, deps: &str| {
        format!("  {name}:\n    image: bench/load:latest\n    command: [\"busybox\", \"sleep\", \"300\"]\n    stop_signal: SIGKILL\n{deps}")
    };
    let yaml = |db_cmd: &str| {
        format!(
            "services:\n  db:\n    image: bench/load:latest\n    command: [\"busybox\", \"sleep\", \"{db_cmd}\"]\n    stop_signal: SIGKILL\n{}{}",
            svc("app", "    depends_on:\n      db:\n        condition: service_started\n        restart: true\n"),
            svc("side", "    depends_on: [db]\n"),
        )
    };
    let s = Stack::new(&d, "rs", &yaml("300"));
    s.ok(&["up", "-d"]);
    let started = |n: &str| d.ok(&["inspect", "-f", "{{.Id}} {{.State.StartedAt}}", n]);
    let (app, side) = (started("rs-app-1"), started("rs-side-1"));
    s.write(&yaml("301"));
    let r = s.run(&["up", "-d"]);
    assert!(r.ok, "{r:?}");
    assert!(r.stderr.contains("Container rs-app-1  Restarting"), "{r:?}");
    let (app2, side2) = (started("rs-app-1"), started("rs-side-1"));
    let id = |s: &str| s.split(' ').next().unwrap_or_default().to_string();
    assert_eq!(id(&app2), id(&app), "app restarted, not recreated");
    assert_ne!(app2, app, "app restarted after db was updated");
    assert_eq!(side2, side, "side has no restart: true");
    // Nothing changed: nothing restarts.
    let r = s.run(&["up", "-d"]);
    assert!(r.ok && !r.stderr.contains("Restarting"), "{r:?}");
    // `restart db` restarts app after it too (restart: true), not side.
    let r = s.run(&["restart", "db"]);
    assert!(r.ok, "{r:?}");
    let order: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains("Restarting"))
        .collect();
    assert_eq!(order.len(), 2, "{r:?}");
    assert!(
        order[0].contains("rs-db-1") && order[1].contains("rs-app-1"),
        "{r:?}"
    );
    assert_eq!(started("rs-side-1"), side2, "side has no restart: true");
}
