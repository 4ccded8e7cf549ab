//! `berth build` against a private berthd: the legacy builder's output, a tagged image that
//! runs, `.dockerignore` applied client side, the cache on a second build, `-q` and
//! `--iidfile`, and a failing `RUN` as exit 1 with the daemon's message on stderr.

use std::path::Path;

use crate::daemon_client::Daemon;
use crate::Run;

const DOCKERFILE: &str = "FROM bench/load:latest
COPY . /ctx/
RUN busybox echo hi > /f
CMD [\"sh\", \"-c\", \"cat /ctx/msg.txt /f\"]
";

fn build_in(d: &Daemon, dir: &Path, args: &[&str]) -> Run {
    d.berth_cmd(args)
        .current_dir(dir)
        .output()
        .expect("berth runs")
        .into()
}

#[test]
fn build_tags_runs_and_uses_the_cache() {
    berth_testutil::require_root!();
    let d = Daemon::start();
    d.load_image();
    let ctx = tempfile::tempdir().expect("tempdir");
    let dir = ctx.path();
    std::fs::write(dir.join("Dockerfile"), DOCKERFILE).expect("Dockerfile");
    std::fs::write(dir.join("msg.txt"), "from the context\n").expect("msg");
    std::fs::write(dir.join("secret.txt"), "not sent\n").expect("secret");
    std::fs::write(dir.join(".dockerignore"), "secret.txt\n").expect(".dockerignore");

    let r = build_in(&d, dir, &["build", "-t", "x", "."]);
    assert!(r.ok, "build failed: {r:?}\nberthd log:\n{}", d.log());
    let out = &r.stdout;
    assert!(
        out.starts_with("Sending build context to Docker daemon  "),
        "{out}"
    );
    assert!(
        out.contains("\nStep 1/4 : FROM bench/load:latest\n"),
        "{out}"
    );
    assert!(
        out.contains("\nStep 3/4 : RUN busybox echo hi > /f\n"),
        "{out}"
    );
    assert!(out.contains("\nSuccessfully built "), "{out}");
    assert!(out.ends_with("Successfully tagged x:latest\n"), "{out}");

    assert_eq!(
        d.ok(&["run", "--rm", "x"]),
        "from the context\nhi\n",
        "the image runs its CMD"
    );
    let ls = d.ok(&["run", "--rm", "x", "ls", "-a", "/ctx"]);
    assert!(ls.contains("msg.txt"), "{ls}");
    assert!(!ls.contains("secret.txt"), ".dockerignore applied: {ls}");

    // Second build: every step from the cache, same id.
    let id = d.ok(&["inspect", "-f", "{{.Id}}", "x"]);
    let r = build_in(&d, dir, &["build", "-t", "x", "."]);
    assert!(r.ok, "second build failed: {r:?}");
    assert!(r.stdout.contains(" ---> Using cache\n"), "{}", r.stdout);
    assert_eq!(d.ok(&["inspect", "-f", "{{.Id}}", "x"]), id);
    docker_parity(&d, dir, &r.stdout);

    // -q prints the id only; --iidfile gets it without a newline.
    let iid = dir.join("iid");
    let iid_s = iid.to_str().expect("utf-8");
    let r = build_in(&d, dir, &["build", "-q", "--iidfile", iid_s, "."]);
    assert!(r.ok, "build -q failed: {r:?}");
    assert_eq!(r.stdout, id, "-q prints only the id");
    assert_eq!(
        std::fs::read_to_string(&iid).expect("iidfile"),
        id.trim_end()
    );

    // A failing RUN: the daemon's message on stderr, exit 1.
    let bad = dir.join("bad");
    std::fs::create_dir(&bad).expect("mkdir");
    std::fs::write(
        bad.join("Dockerfile"),
        "FROM bench/load:latest\nRUN exit 3\n",
    )
    .expect("Dockerfile");
    let r = build_in(&d, &bad, &["build", "."]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stderr.contains("returned a non-zero code: 3"), "{r:?}");
}

/// The real docker CLI's legacy build of the same (cached) context prints the same lines;
/// only the context size may differ (docker's tar headers are PAX, berth's GNU).
fn docker_parity(d: &Daemon, dir: &Path, berth_out: &str) {
    let docker = Path::new("/usr/local/bin/docker");
    if !docker.exists() {
        return;
    }
    let out = std::process::Command::new(docker)
        .arg("-H")
        .arg(d.host())
        .args(["build", "-t", "x", "."])
        .env("DOCKER_BUILDKIT", "0")
        .env("DOCKER_CONFIG", dir.join("docker-config"))
        .env_remove("DOCKER_HOST")
        .current_dir(dir)
        .output()
        .expect("docker runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "docker build: {out:?}");
    let body = |s: &str| {
        s.split_once("\r\r\n")
            .map(|(a, b)| (a.len(), b.to_string()))
    };
    let (d_first, d_rest) = body(&stdout).expect("docker's first line ends in \\r\\r\\n");
    let (b_first, b_rest) = body(berth_out).expect("berth's first line ends in \\r\\r\\n");
    assert_eq!(d_rest, b_rest, "docker:\n{stdout}\nberth:\n{berth_out}");
    assert_eq!(d_first, b_first, "docker:\n{stdout}\nberth:\n{berth_out}");
}
