//! Push and pull through berthd against a private registry on 127.0.0.1.

use berth_testutil::registry::Registry;
use berth_testutil::require_root;

use crate::daemon::{bench_archive, Daemon};

#[test]
fn push_rmi_pull_round_trip() {
    require_root!();
    let reg = Registry::anonymous();
    // The registry listens on the host's loopback: berthd must share the host's namespace.
    let d = Daemon::start_on_host(tempfile::tempdir().expect("tempdir"), &[]);
    let archive = bench_archive(d.dir.path());
    d.docker_ok(&["load", "-i", archive.to_str().expect("utf-8 path")]);
    let target = format!("{}/x:1", reg.addr);
    d.docker_ok(&["tag", "bench/load", &target]);
    let id = d.docker_ok(&["image", "inspect", "--format", "{{.Id}}", &target]);

    let out = d.docker_ok(&["push", &target]);
    assert!(
        out.contains(&format!("The push refers to repository [{}/x]", reg.addr)),
        "{out}"
    );
    assert!(out.contains("1: digest: sha256:"), "{out}");

    d.docker_ok(&["rmi", &target, "bench/load"]);
    assert!(d.docker_ok(&["images", "-q"]).trim().is_empty());

    let out = d.docker_ok(&["pull", &target]);
    assert!(out.contains("1: Pulling from x"), "{out}");
    assert!(out.contains("Pull complete"), "{out}");
    assert!(
        out.contains(&format!("Status: Downloaded newer image for {target}")),
        "{out}"
    );
    assert_eq!(out.lines().last(), Some(target.as_str()), "{out}");
    let again = d.docker_ok(&["image", "inspect", "--format", "{{.Id}}", &target]);
    assert_eq!(id, again);

    let missing = d.docker(&["pull", &format!("{}/nope:1", reg.addr)]);
    assert_eq!(missing.status.code(), Some(1));
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(
        err.contains("Error response from daemon: manifest for") && err.contains("not found"),
        "{err}"
    );
}

#[test]
fn login_and_authenticated_push_pull() {
    require_root!();
    let reg = Registry::htpasswd("alice", "s3cret");
    // The registry listens on the host's loopback: berthd must share the host's namespace.
    let d = Daemon::start_on_host(tempfile::tempdir().expect("tempdir"), &[]);
    let archive = bench_archive(d.dir.path());
    d.docker_ok(&["load", "-i", archive.to_str().expect("utf-8 path")]);
    let target = format!("{}/private/x:1", reg.addr);
    d.docker_ok(&["tag", "bench/load", &target]);

    // Without credentials the registry refuses, and the error reaches the CLI.
    let denied = d.docker(&["push", &target]);
    assert!(!denied.status.success(), "push without login succeeded");

    let bad = d.docker(&["login", "-u", "alice", "-p", "wrong", &reg.addr]);
    assert!(!bad.status.success());
    let out = d.docker_ok(&["login", "-u", "alice", "-p", "s3cret", &reg.addr]);
    assert!(out.contains("Login Succeeded"), "{out}");

    // The CLI now sends X-Registry-Auth with each request.
    let out = d.docker_ok(&["push", &target]);
    assert!(out.contains("1: digest: sha256:"), "{out}");
    d.docker_ok(&["rmi", &target]);
    let out = d.docker_ok(&["pull", &target]);
    assert!(
        out.contains("Pull complete") || out.contains("Already exists"),
        "{out}"
    );

    // `docker pull -a` (no tag) pulls every tag of the repository.
    d.docker_ok(&["rmi", &target]);
    let out = d.docker_ok(&["pull", "-a", &format!("{}/private/x", reg.addr)]);
    assert!(out.contains("1: Pulling from private/x"), "{out}");
    d.docker_ok(&["image", "inspect", &target]);
}

#[test]
fn build_pulls_a_missing_base_image_from_the_registry() {
    require_root!();
    let reg = Registry::anonymous();
    // The registry listens on the host's loopback: berthd must share the host's namespace.
    let d = Daemon::start_on_host(tempfile::tempdir().expect("tempdir"), &[]);
    let archive = bench_archive(d.dir.path());
    d.docker_ok(&["load", "-i", archive.to_str().expect("utf-8 path")]);
    let base = format!("{}/base:1", reg.addr);
    d.docker_ok(&["tag", "bench/load", &base]);
    d.docker_ok(&["push", &base]);
    d.docker_ok(&["rmi", &base, "bench/load"]);
    let ctx = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        ctx.path().join("Dockerfile"),
        format!("FROM {base}\nRUN echo built > /f\n"),
    )
    .expect("Dockerfile");
    let out = std::process::Command::new("/usr/local/bin/docker")
        .args(["-H", &format!("unix://{}", d.sock.display())])
        .args(["build", "-t", "pulled", ctx.path().to_str().unwrap()])
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .expect("docker build");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        text.contains(&format!("Status: Downloaded newer image for {base}")),
        "{text}"
    );
    assert_eq!(
        d.docker_ok(&["run", "--rm", "pulled", "cat", "/f"]),
        "built\n"
    );
    // A base that is nowhere: the error names the image and the way out.
    std::fs::write(
        ctx.path().join("Dockerfile"),
        format!("FROM {}/nope:1\n", reg.addr),
    )
    .expect("Dockerfile");
    let out = std::process::Command::new("/usr/local/bin/docker")
        .args(["-H", &format!("unix://{}", d.sock.display())])
        .args(["build", ctx.path().to_str().unwrap()])
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .expect("docker build");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{out:?}");
    assert!(
        err.contains("pulling the base image") && err.contains("nope:1"),
        "{err}"
    );
}
