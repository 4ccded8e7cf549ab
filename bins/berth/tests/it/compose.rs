//! `berth compose` against a private berthd: service discovery by name, depends_on
//! health ordering, idempotent `up` and scaling (the rest is in `compose_more`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::daemon_client::Daemon;
use crate::Run;

pub(crate) const WEB: &str = r#"  web:
    image: bench/load:latest
    command: ["sh", "-c", "busybox mkdir -p /www && echo $$HOSTNAME > /www/index.html && exec busybox httpd -f -p 80 -h /www"]
    stop_grace_period: 1s
"#;

pub(crate) const CLIENT: &str = r#"  client:
    image: bench/load:latest
    command: ["sh", "-c", "echo client-up; exec busybox sleep 300"]
    stop_grace_period: 1s
    depends_on: [web]
"#;

/// A compose project in a temp directory; `down -v` on drop.
pub(crate) struct Stack<'a> {
    pub(crate) d: &'a Daemon,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) name: String,
}

impl<'a> Stack<'a> {
    pub(crate) fn new(d: &'a Daemon, name: &str, yaml: &str) -> Stack<'a> {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("compose.yaml"), yaml).expect("compose.yaml");
        Stack {
            d,
            dir,
            name: name.to_string(),
        }
    }

    pub(crate) fn file(&self) -> PathBuf {
        self.dir.path().join("compose.yaml")
    }

    pub(crate) fn write(&self, yaml: &str) {
        std::fs::write(self.file(), yaml).expect("compose.yaml");
    }

    pub(crate) fn run_as(&self, project: &str, args: &[&str]) -> Run {
        let f = self.file();
        let mut all = vec!["compose", "-f", f.to_str().expect("utf-8"), "-p", project];
        all.extend_from_slice(args);
        self.d
            .berth_cmd(&all)
            .current_dir(self.dir.path())
            .output()
            .expect("berth runs")
            .into()
    }

    pub(crate) fn run(&self, args: &[&str]) -> Run {
        self.run_as(&self.name, args)
    }

    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert!(
            r.ok,
            "compose {args:?} failed: {r:?}\nberthd log:\n{}",
            self.d.log()
        );
        r.stdout
    }

    /// The ids of the project's containers by name (`ps -a`, via the API's labels).
    pub(crate) fn ids(&self) -> Vec<(String, String)> {
        let filter = format!("label=com.docker.compose.project={}", self.name);
        let out = self.d.ok(&[
            "ps",
            "-a",
            "--no-trunc",
            "--filter",
            &filter,
            "--format",
            "{{.Names}} {{.ID}}",
        ]);
        let mut v: Vec<(String, String)> = out
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(n, i)| (n.to_string(), i.to_string()))
            .collect();
        v.sort();
        v
    }
}

impl Drop for Stack<'_> {
    fn drop(&mut self) {
        let _ = self.run(&["down", "-v", "-t", "1", "--remove-orphans"]);
    }
}

pub(crate) fn names(ids: &[(String, String)]) -> Vec<&str> {
    ids.iter().map(|(n, _)| n.as_str()).collect()
}

/// Retries `f` for up to 20 s until it returns `Ok`; the last error is in the panic.
pub(crate) fn eventually<T>(what: &str, mut f: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match f() {
            Ok(v) => return v,
            Err(e) => assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; last: {e}"
            ),
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `GET /` from the `client` service of `project` to `host` with busybox nc (busybox wget
/// of this image crashes on unresolvable names); the last line of the answer (the body).
pub(crate) fn fetch(s: &Stack, project: &str, host: &str) -> Run {
    let script = format!(
        "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 2 {host} 80 | busybox tail -n 1"
    );
    s.run_as(project, &["exec", "-T", "client", "sh", "-c", &script])
}

/// The body `fetch` got, when it is the expected one.
pub(crate) fn served(r: Run, want: &str) -> Result<(), String> {
    if r.ok && r.stdout.trim() == want {
        Ok(())
    } else {
        Err(format!("{r:?}"))
    }
}

#[test]
fn compose_services_reach_each_other_by_name() {
    berth_testutil::require_root!();
    let d = Daemon::start();
    d.load_image();
    let s = Stack::new(&d, "cn", &format!("services:\n{WEB}{CLIENT}"));
    let up = s.run(&["up", "-d"]);
    assert!(up.ok, "{up:?}\n{}", d.log());
    assert!(up.stderr.contains(" Network cn_default  Created"), "{up:?}");
    assert!(up.stderr.contains(" Container cn-web-1  Started"), "{up:?}");
    let web_id = d.ok(&["inspect", "-f", "{{.Id}}", "cn-web-1"]);
    let short = &web_id.trim()[..12];
    eventually("web answering by name", || {
        served(fetch(&s, "cn", "web"), short)
    });
    // The container name resolves too.
    served(fetch(&s, "cn", "cn-web-1"), short).expect("by container name");

    let ps = s.ok(&["ps"]);
    let rows = crate::check_table(
        &ps,
        &[
            "NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS",
        ],
    );
    assert_eq!(rows.len(), 2, "{ps}");
    assert_eq!(
        (rows[0][0].as_str(), rows[0][3].as_str()),
        ("cn-client-1", "client")
    );
    assert_eq!(
        (rows[1][0].as_str(), rows[1][3].as_str()),
        ("cn-web-1", "web")
    );
    assert!(rows.iter().all(|r| r[5].starts_with("Up ")), "{ps}");
    let labels = d.ok(&[
        "inspect",
        "-f",
        "{{index .Config.Labels \"com.docker.compose.project\"}} {{index .Config.Labels \"com.docker.compose.service\"}} {{index .Config.Labels \"com.docker.compose.container-number\"}} {{index .Config.Labels \"com.docker.compose.oneoff\"}}",
        "cn-web-1",
    ]);
    assert_eq!(labels, "cn web 1 False\n");
    let logs = eventually("client logs", || {
        let out = s.ok(&["logs", "--no-color", "client"]);
        if out.contains("client-up") {
            Ok(out)
        } else {
            Err(out)
        }
    });
    assert_eq!(logs, "client-1  | client-up\n");
    let ls = s.ok(&["ls"]);
    assert!(
        ls.lines()
            .any(|l| crate::collapse(l).starts_with("cn running(2)")),
        "{ls}"
    );
    assert_eq!(s.ok(&["ps", "--services"]), "client\nweb\n");
}

/// Seconds (with the fraction) of an RFC 3339 time, counted from the start of its month.
fn secs(t: &str) -> f64 {
    let t = t.trim();
    let day: f64 = t[8..10].parse().expect("day");
    let h: f64 = t[11..13].parse().expect("hour");
    let m: f64 = t[14..16].parse().expect("minute");
    let s: f64 = t[17..].trim_end_matches('Z').parse().expect("seconds");
    ((day * 24.0 + h) * 60.0 + m) * 60.0 + s
}

#[test]
fn compose_depends_on_service_healthy_orders_the_start() {
    berth_testutil::require_root!();
    let d = Daemon::start();
    d.load_image();
    let yaml = r#"services:
  db:
    image: bench/load:latest
    command: ["sh", "-c", "busybox sleep 2; busybox touch /tmp/ready; exec busybox sleep 300"]
    stop_grace_period: 1s
    healthcheck:
      test: ["CMD-SHELL", "test -f /tmp/ready"]
      interval: 300ms
      retries: 50
  app:
    image: bench/load:latest
    command: ["busybox", "sleep", "300"]
    stop_grace_period: 1s
    depends_on:
      db:
        condition: service_healthy
"#;
    let s = Stack::new(&d, "hc", yaml);
    let up = s.run(&["up", "-d"]);
    assert!(up.ok, "{up:?}\n{}", d.log());
    assert!(up.stderr.contains(" Container hc-db-1  Healthy"), "{up:?}");
    let started = |n: &str| secs(&d.ok(&["inspect", "-f", "{{.State.StartedAt}}", n]));
    let (db, app) = (started("hc-db-1"), started("hc-app-1"));
    assert!(
        app - db >= 1.9,
        "app started {:.2}s after db; it must wait for db to be healthy (≥2s)",
        app - db
    );
    assert_eq!(
        d.ok(&["inspect", "-f", "{{.State.Health.Status}}", "hc-db-1"]),
        "healthy\n"
    );
    // A dependency that turns unhealthy fails `up` with a clear message (stop-first: the
    // default rolling update would keep the healthy db and fail on the new one itself, see
    // compose_rolling).
    s.write(
        &yaml
            .replace("test -f /tmp/ready", "exit 1")
            .replace("retries: 50", "retries: 1"),
    );
    let r = s.run(&["up", "-d", "--strategy", "recreate"]);
    assert!(!r.ok, "{r:?}");
    assert!(r.stderr.contains("hc-db-1 is unhealthy"), "{r:?}");
}

#[test]
fn compose_up_is_idempotent_and_recreates_only_changed_services() {
    berth_testutil::require_root!();
    let d = Daemon::start();
    d.load_image();
    let yaml = format!("services:\n{WEB}    environment:\n      A: \"1\"\n{CLIENT}");
    let s = Stack::new(&d, "id", &yaml);
    s.ok(&["up", "-d"]);
    let first = s.ids();
    assert_eq!(names(&first), ["id-client-1", "id-web-1"]);
    let again = s.run(&["up", "-d"]);
    assert!(again.ok, "{again:?}");
    assert!(
        again.stderr.contains(" Container id-web-1  Running"),
        "{again:?}"
    );
    assert_eq!(s.ids(), first, "a second up leaves the containers alone");

    s.write(&yaml.replace("A: \"1\"", "A: \"2\""));
    let r = s.run(&["up", "-d"]);
    assert!(r.ok, "{r:?}");
    assert!(r.stderr.contains(" Container id-web-1  Recreated"), "{r:?}");
    let second = s.ids();
    assert_eq!(second[0], first[0], "client is unchanged");
    assert_ne!(second[1].1, first[1].1, "web is recreated");
    let env = d.ok(&["inspect", "-f", "{{json .Config.Env}}", "id-web-1"]);
    assert!(env.contains("\"A=2\""), "{env}");
}

#[test]
fn compose_scale_adds_and_removes_replicas() {
    berth_testutil::require_root!();
    let d = Daemon::start();
    d.load_image();
    let s = Stack::new(&d, "sc", &format!("services:\n{WEB}"));
    s.ok(&["up", "-d", "--scale", "web=3"]);
    let three = s.ids();
    assert_eq!(names(&three), ["sc-web-1", "sc-web-2", "sc-web-3"]);
    s.ok(&["up", "-d", "--scale", "web=1"]);
    let one = s.ids();
    assert_eq!(names(&one), ["sc-web-1"]);
    assert_eq!(one[0], three[0], "replica 1 is kept");
}
