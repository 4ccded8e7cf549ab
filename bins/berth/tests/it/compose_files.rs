//! `berth compose` file-based secrets and configs: read-only bind mounts where docker compose
//! puts them, and sources berth cannot serve refused before anything is created.

use crate::compose::Stack;
use crate::daemon_client::Daemon;

const STACK: &str = r#"services:
  app:
    image: bench/load:latest
    command: ["busybox", "sleep", "3600"]
    secrets: [db_pw, {source: api_key, target: key}]
    configs: [{source: app_conf, target: /etc/app.conf}]
secrets:
  db_pw: {file: ./db_pw.txt}
  api_key: {file: ./api.txt}
configs:
  app_conf: {file: ./app.conf}
"#;

#[test]
fn compose_mounts_file_secrets_and_configs_read_only() {
    berth_testutil::require_root!();
    let d = Daemon::start();
    d.load_image();
    let s = Stack::new(&d, "files", STACK);
    for (f, text) in [
        ("db_pw.txt", "hunter2\n"),
        ("api.txt", "k-123\n"),
        ("app.conf", "x=1\n"),
    ] {
        std::fs::write(s.dir.path().join(f), text).expect("write");
    }
    s.ok(&["up", "-d"]);
    let cat = |path: &str| s.ok(&["exec", "-T", "app", "busybox", "cat", path]);
    assert_eq!(cat("/run/secrets/db_pw"), "hunter2\n");
    assert_eq!(cat("/run/secrets/key"), "k-123\n");
    assert_eq!(cat("/etc/app.conf"), "x=1\n");
    let w = s.run(&[
        "exec",
        "-T",
        "app",
        "busybox",
        "sh",
        "-c",
        "echo no > /run/secrets/db_pw",
    ]);
    assert!(!w.ok, "a secret is read-only: {w:?}");
    assert_eq!(
        std::fs::read_to_string(s.dir.path().join("db_pw.txt")).unwrap(),
        "hunter2\n"
    );

    // An environment-sourced secret is refused up front, naming the key; nothing is created.
    let other = Stack::new(
        &d,
        "envsecret",
        "services:\n  app:\n    image: bench/load:latest\n    secrets: [tok]\nsecrets:\n  tok: {environment: TOKEN}\n",
    );
    let r = other.run(&["up", "-d"]);
    assert!(!r.ok, "{r:?}");
    assert!(
        r.stderr.contains("services.app.secrets[0]") && r.stderr.contains("not file-based"),
        "{r:?}"
    );
    assert!(other.ids().is_empty(), "nothing was created");
}
