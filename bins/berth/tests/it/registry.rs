//! `pull`, `push`, `login`, `logout` against a private registry on 127.0.0.1, and the pull
//! output compared with the real docker CLI pulling the same image.

use std::process::Command;

use berth_testutil::peers::{need, output_with_stdin, Dockerd};
use berth_testutil::registry::Registry;
use berth_testutil::require_root;

use crate::Store;

fn registry_ready() -> bool {
    if std::path::Path::new(berth_testutil::registry::REGISTRY_BIN).exists() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "docker-registry is not installed: CI must install it"
    );
    false
}

/// `berth` with its Docker config dir (credentials) in the store's temp dir.
fn with_config(store: &Store, args: &[&str]) -> Command {
    let mut c = store.cmd(args);
    c.env("DOCKER_CONFIG", store.dir().join("docker-config"));
    c
}

#[test]
fn push_and_pull_print_what_docker_prints() {
    require_root!();
    if !registry_ready() {
        return;
    }
    let reg = Registry::anonymous();
    let name = format!("{}/cli/bb:1", reg.addr);
    let a = Store::new();
    let tar = a.busybox_tar();
    a.import(&tar, &[&name]);
    let out = a.ok(&["push", &name]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        format!("The push refers to repository [{}/cli/bb]", reg.addr)
    );
    assert!(lines.iter().any(|l| l.ends_with(": Pushed")), "{out}");
    let last = lines.last().unwrap();
    assert!(
        last.starts_with("1: digest: sha256:") && last.contains(" size: "),
        "{out}"
    );

    let b = Store::new();
    let out = b.ok(&["pull", &name]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1: Pulling from cli/bb");
    assert!(
        lines.iter().any(|l| l.ends_with(": Pull complete")),
        "{out}"
    );
    let n = lines.len();
    assert!(lines[n - 3].starts_with("Digest: sha256:"), "{out}");
    assert_eq!(
        lines[n - 2],
        format!("Status: Downloaded newer image for {name}")
    );
    assert_eq!(lines[n - 1], name);
    assert_eq!(b.id(&name), a.id(&name), "the same image on both sides");
    // Pulled again: up to date.
    let again = b.ok(&["pull", "-q", &name]);
    assert_eq!(again.trim(), name);

    // The docker CLI pulling the same image prints the same non-layer lines.
    if need("dockerd").is_none() {
        return;
    }
    let d = Dockerd::start(&[]);
    let out = d.docker().args(["pull", &name]).output().unwrap();
    assert!(
        out.status.success(),
        "docker pull: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docker = String::from_utf8_lossy(&out.stdout).into_owned();
    let keep = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| {
                !l.contains(": ")
                    || l.starts_with("Digest:")
                    || l.starts_with("Status:")
                    || l.starts_with("1: ")
            })
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        keep(
            &b.ok(&["pull", &name])
                .replace("Image is up to date", "Downloaded newer image")
        ),
        keep(&docker),
        "berth vs docker pull output"
    );
}

#[test]
fn login_stores_docker_credentials_and_logout_removes_them() {
    require_root!();
    if !registry_ready() {
        return;
    }
    let reg = Registry::htpasswd("ann", "s3cret");
    let name = format!("{}/private/bb:1", reg.addr);
    let a = Store::new();
    let tar = a.busybox_tar();
    a.import(&tar, &[&name]);

    // Anonymous push: refused with the fix in the message.
    let out = with_config(&a, &["push", &name]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("berth login {}", reg.addr)), "{err}");

    let login = |pass: &str| {
        let mut c = with_config(&a, &["login", "-u", "ann", "--password-stdin", &reg.addr]);
        output_with_stdin(&mut c, format!("{pass}\n").as_bytes())
    };
    let bad = login("wrong");
    assert!(!bad.status.success(), "a wrong password is refused");
    let good = login("s3cret");
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&good.stdout).trim(),
        "Login Succeeded"
    );
    let config = std::fs::read_to_string(a.dir().join("docker-config/config.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&config).unwrap();
    assert!(
        v["auths"][&reg.addr]["auth"].is_string(),
        "docker's auths format: {config}"
    );

    let out = with_config(&a, &["push", &name]).output().unwrap();
    assert!(
        out.status.success(),
        "push with the stored login: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = with_config(&a, &["logout", &reg.addr]).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("Removing login credentials for {}", reg.addr)
    );
    let out = with_config(&a, &["push", &name]).output().unwrap();
    assert!(!out.status.success(), "logged out: refused again");
}

#[test]
fn pull_all_tags_fetches_every_tag_of_the_repository() {
    require_root!();
    if !registry_ready() {
        return;
    }
    let reg = Registry::anonymous();
    let a = Store::new();
    let tar = a.busybox_tar();
    let one = format!("{}/multi/bb:one", reg.addr);
    let two = format!("{}/multi/bb:two", reg.addr);
    a.import(&tar, &[&one]);
    a.ok(&["tag", &one, &two]);
    a.ok(&["push", "-q", &one]);
    a.ok(&["push", "-q", &two]);
    let b = Store::new();
    let repo = format!("{}/multi/bb", reg.addr);
    let out = b.ok(&["pull", "-q", "-a", &repo]);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [one.as_str(), two.as_str()]
    );
    assert_eq!(b.id(&one), b.id(&two));
    let r = b.fail(&["pull", "-a", &one]);
    assert!(
        r.stderr.contains("tag can't be used with --all-tags/-a"),
        "{r:?}"
    );
}
