//! `berth compose` secrets and configs: file sources as read-only bind mounts where docker
//! compose puts them; environment and content sources written into the container before it
//! starts; an unset variable refused before anything is created.

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
fn compose_serves_secrets_and_configs_from_files_environment_and_content() {
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

    // A secret from an unset variable is refused up front, naming the key; nothing is
    // created.
    let yaml = "services:\n  app:\n    image: bench/load:latest\n    command: [busybox, sleep, '3600']\n    secrets: [tok]\n    configs: [{source: motd, target: /etc/motd, mode: '0440', uid: '1000'}]\nsecrets:\n  tok: {environment: BERTH_TEST_TOKEN}\nconfigs:\n  motd: {content: hello}\n";
    let other = Stack::new(&d, "envsecret", yaml);
    let r = other.run(&["up", "-d"]);
    assert!(!r.ok, "{r:?}");
    assert!(
        r.stderr.contains("services.app.secrets[0]")
            && r.stderr.contains("BERTH_TEST_TOKEN, which is not set"),
        "{r:?}"
    );
    assert!(other.ids().is_empty(), "nothing was created");

    // With the variable (from the project's .env): written into the container before it
    // starts, with docker compose's mode and the owner asked for; nothing on the host.
    std::fs::write(other.dir.path().join(".env"), "BERTH_TEST_TOKEN=s3cret\n").expect(".env");
    other.ok(&["up", "-d"]);
    let sh = |cmd: &str| other.ok(&["exec", "-T", "app", "busybox", "sh", "-c", cmd]);
    assert_eq!(sh("cat /run/secrets/tok"), "s3cret");
    assert_eq!(sh("cat /etc/motd"), "hello");
    assert_eq!(
        sh("busybox stat -c '%a %u' /run/secrets/tok /etc/motd"),
        "444 0\n440 1000\n"
    );
}
