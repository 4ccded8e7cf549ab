//! docker-compose 1.29 (Debian's `docker-compose`, the Python one built on docker-py, installed
//! by `.ci/run`) against berthd: it only speaks the Engine API, so every call it makes must be
//! answered as Docker would. A two-service project (a web server with a published port and a
//! named volume, a client that depends on it, a user network) goes through `up -d`, `ps`,
//! `logs`, `exec -T`, `run --rm -T`, `stop`, `start` and `down -v`.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use berth_testutil::require_root;

use crate::daemon::{loaded, Daemon};
use crate::network::{get_hostname, inspect, nc_get, net, until, IMAGE};

const PROJECT: &str = "legacy";
const PORT: u16 = 18080;

fn compose_file() -> String {
    format!(
        r#"version: "3.8"
services:
  web:
    image: {IMAGE}
    command: ["busybox", "httpd", "-f", "-p", "80", "-h", "/etc"]
    ports: ["{PORT}:80"]
    networks: [front]
    volumes: ["data:/data"]
    stop_grace_period: 1s
  client:
    image: {IMAGE}
    command: ["busybox", "sh", "-c", "echo client-ready; exec busybox sleep 3600"]
    depends_on: [web]
    networks: [front]
    stop_grace_period: 1s
networks:
  front: {{}}
volumes:
  data: {{}}
"#
    )
}

/// The docker-compose binary: CI installs it, so a missing one fails the test.
fn compose_bin() -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join("docker-compose"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "docker-compose is not installed: `apt-get install docker-compose` \
                 (Debian's 1.29; .ci/run installs it)"
            )
        })
}

struct Compose<'a> {
    d: &'a Daemon,
    bin: PathBuf,
    file: PathBuf,
}

impl Compose<'_> {
    /// `docker-compose -f FILE -p PROJECT ARGS…` against the daemon, killed after 120 s.
    fn run(&self, args: &[&str]) -> Output {
        Command::new("timeout")
            .arg("120")
            .arg(&self.bin)
            .arg("-f")
            .arg(&self.file)
            .args(["-p", PROJECT])
            .args(args)
            .current_dir(self.file.parent().expect("project dir"))
            .env("DOCKER_HOST", format!("unix://{}", self.d.sock.display()))
            .env("COMPOSE_INTERACTIVE_NO_CLI", "1")
            .env_remove("DOCKER_API_VERSION")
            .env_remove("DOCKER_TLS_VERIFY")
            .env_remove("COMPOSE_PROJECT_NAME")
            .env_remove("COMPOSE_FILE")
            .stdin(Stdio::null())
            .output()
            .expect("docker-compose runs")
    }

    /// Like [`Compose::run`], requiring success; stdout and stderr together.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "docker-compose {args:?} failed ({}):\n{text}\nberthd log:\n{}",
            out.status,
            self.d.log()
        );
        text
    }
}

/// `docker ps -a` of the project: "name state" lines, sorted.
fn project_containers(d: &Daemon) -> Vec<String> {
    let label = format!("label=com.docker.compose.project={PROJECT}");
    let out = d.docker_ok(&[
        "ps",
        "-a",
        "--filter",
        &label,
        "--format",
        "{{.Names}} {{.State}}",
    ]);
    let mut v: Vec<String> = out.lines().map(str::to_string).collect();
    v.sort();
    v
}

fn published(d: &Daemon) -> Option<String> {
    get_hostname(net(d), SocketAddr::from((Ipv4Addr::LOCALHOST, PORT)))
}

#[test]
fn docker_compose_1_29_drives_a_project() {
    require_root!();
    let d = loaded();
    let dir = d.dir.path().join("project");
    std::fs::create_dir_all(&dir).expect("project dir");
    let file = dir.join("docker-compose.yml");
    std::fs::write(&file, compose_file()).expect("compose file");
    let c = Compose {
        d: &d,
        bin: compose_bin(),
        file,
    };

    // up -d: network, volume, then web before client (depends_on), 1.29's names.
    let up = c.ok(&["up", "-d"]);
    assert!(
        up.contains(&format!("Creating network \"{PROJECT}_front\"")),
        "{up}"
    );
    assert!(
        up.contains(&format!("Creating volume \"{PROJECT}_data\"")),
        "{up}"
    );
    let (web_at, client_at) = (
        up.find("Creating legacy_web_1 ... done"),
        up.find("Creating legacy_client_1 ... done"),
    );
    assert!(
        matches!((web_at, client_at), (Some(w), Some(c)) if w < c),
        "{up}"
    );
    assert_eq!(
        project_containers(&d),
        ["legacy_client_1 running", "legacy_web_1 running"]
    );
    let web_host = inspect(&d, "legacy_web_1", "{{.Config.Hostname}}");
    // A second up finds the project as it is (config hashes in the labels).
    let again = c.ok(&["up", "-d"]);
    assert!(again.contains("legacy_web_1 is up-to-date"), "{again}");

    // ps, logs.
    let ps = c.ok(&["ps"]);
    for want in [
        "legacy_web_1",
        "legacy_client_1",
        "Up",
        "0.0.0.0:18080->80/tcp",
    ] {
        assert!(ps.contains(want), "{want} in:\n{ps}");
    }
    let logs = until("client's output in logs", 10, || {
        let l = c.ok(&["logs", "--no-color", "client"]);
        l.contains("client_1  | client-ready").then_some(l)
    });
    assert!(logs.contains("Attaching to legacy_client_1"), "{logs}");

    // The published port answers in the daemon's namespace; the client reaches web by its
    // service name on the project's network.
    let body = until("published port", 10, || published(&d));
    assert_eq!(body, web_host);
    let by_name = until("web by service name", 10, || {
        let o = c.ok(&["exec", "-T", "client", "sh", "-c", &nc_get("web")]);
        (o.trim() == web_host).then_some(o)
    });
    assert_eq!(by_name.trim(), web_host);
    // exec -T: exit codes and stderr come back.
    let failing = c.run(&["exec", "-T", "web", "sh", "-c", "echo oops >&2; exit 3"]);
    assert_eq!(failing.status.code(), Some(3));
    // (dockerpty demuxes both streams of a non-tty exec onto its stdout.)
    assert!(String::from_utf8_lossy(&failing.stdout).contains("oops"));
    c.ok(&["exec", "-T", "web", "sh", "-c", "echo kept > /data/f"]);

    // run --rm -T: the one-off container's output (dockerpty attaches the streams inspect's
    // Config.Attach* name), promptly, and nothing left behind.
    let t = Instant::now();
    let run = c.ok(&["run", "--rm", "-T", "client", "busybox", "echo", "one-off"]);
    assert!(run.contains("one-off"), "{run}");
    assert!(
        t.elapsed() < Duration::from_secs(30),
        "run took {:?}",
        t.elapsed()
    );
    assert_eq!(
        project_containers(&d).len(),
        2,
        "{:?}",
        project_containers(&d)
    );

    // stop, start: the same containers, the volume's content kept, the port back.
    let stopped = c.ok(&["stop"]);
    assert!(stopped.contains("Stopping legacy_web_1"), "{stopped}");
    assert_eq!(
        project_containers(&d),
        ["legacy_client_1 exited", "legacy_web_1 exited"]
    );
    assert!(published(&d).is_none(), "port answers while stopped");
    c.ok(&["start"]);
    assert_eq!(
        project_containers(&d),
        ["legacy_client_1 running", "legacy_web_1 running"]
    );
    assert_eq!(
        until("published port after start", 10, || published(&d)),
        web_host
    );
    let kept = c.ok(&["exec", "-T", "web", "cat", "/data/f"]);
    assert_eq!(kept.trim(), "kept");

    // up --force-recreate: new containers (compose reads the image's ContainerConfig to carry
    // volumes over), the named volume's content still there.
    let old_id = inspect(&d, "legacy_web_1", "{{.Id}}");
    let recreated = c.ok(&["up", "-d", "--force-recreate"]);
    assert!(recreated.contains("Recreating legacy_web_1"), "{recreated}");
    assert_ne!(inspect(&d, "legacy_web_1", "{{.Id}}"), old_id);
    assert_eq!(
        project_containers(&d),
        ["legacy_client_1 running", "legacy_web_1 running"]
    );
    let kept = c.ok(&["exec", "-T", "web", "cat", "/data/f"]);
    assert_eq!(kept.trim(), "kept");

    // down -v: no container, network or volume of the project is left.
    let down = c.ok(&["down", "-v"]);
    assert!(down.contains("Removing network legacy_front"), "{down}");
    assert!(
        project_containers(&d).is_empty(),
        "{:?}",
        project_containers(&d)
    );
    let networks = d.docker_ok(&["network", "ls", "--format", "{{.Name}}"]);
    assert!(!networks.contains("legacy"), "{networks}");
    let volumes = d.docker_ok(&["volume", "ls", "--format", "{{.Name}}"]);
    assert!(!volumes.contains("legacy"), "{volumes}");
    assert!(published(&d).is_none(), "port answers after down");
}

/// `Config.AttachStdin/Stdout/Stderr` are kept as the client sent them (Docker's behaviour;
/// dockerpty reads them to know which streams to attach).
#[test]
fn create_keeps_the_attach_flags() {
    require_root!();
    let d = loaded();
    let body = format!(
        r#"{{"Image":"{IMAGE}","Cmd":["true"],"AttachStdin":false,"AttachStdout":true,"AttachStderr":true}}"#
    );
    let (status, created) = d.request_with_body("POST", "/v1.43/containers/create?name=att", &body);
    assert_eq!(status, 201, "{created}");
    let flags = "{{.Config.AttachStdin}} {{.Config.AttachStdout}} {{.Config.AttachStderr}}";
    assert_eq!(inspect(&d, "att", flags), "false true true");
    // The docker CLI: `create` attaches stdout and stderr, `run -d` nothing, `-i` stdin too.
    d.docker_ok(&["create", "--name", "cli", "-i", IMAGE, "true"]);
    assert_eq!(inspect(&d, "cli", flags), "true true true");
    d.docker_ok(&["run", "-d", "--name", "bg", IMAGE, "true"]);
    assert_eq!(inspect(&d, "bg", flags), "false false false");
    // Kept across a daemon restart (stored with the container).
    let mut d = d;
    d.stop();
    d.restart();
    assert_eq!(inspect(&d, "att", flags), "false true true");
}
