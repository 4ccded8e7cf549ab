//! `docker build` (the real CLI, legacy builder API: `DOCKER_BUILDKIT=0`) against berthd:
//! a multi-stage Dockerfile with the common instructions, the cache by meaning (a comment or
//! whitespace edit rebuilds nothing, one changed file rebuilds from the step that copies it),
//! `.dockerignore`, reproducible ids with SOURCE_DATE_EPOCH, errors with line and column, and
//! a hostile context that cannot read the host.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Output};

use berth_testutil::require_root;

use crate::daemon::{loaded, Daemon, DOCKER};

const DOCKERFILE: &str = r#"# syntax is Docker's; comments and blank lines do not matter

FROM bench/load:latest AS base
ARG GREETING=hi
ENV APP=/app \
    MODE=test
WORKDIR $APP
COPY a.txt sub/ ./
RUN echo "$GREETING from $MODE" > greeting && busybox ls /app > listing
EXPOSE 8080/tcp
USER 1000:1000
LABEL team=build
HEALTHCHECK --interval=5s CMD ["busybox", "true"]
CMD ["busybox", "cat", "/app/greeting"]

FROM scratch
COPY --from=base /app /app
COPY --from=base /bin/busybox /bin/busybox
ENTRYPOINT ["/bin/busybox"]
CMD ["cat", "/app/greeting"]
"#;

fn build(d: &Daemon, dir: &Path, args: &[&str]) -> Output {
    Command::new(DOCKER)
        .arg("-H")
        .arg(format!("unix://{}", d.sock.display()))
        .arg("build")
        .args(args)
        .arg(dir)
        .env("DOCKER_BUILDKIT", "0")
        .env("DOCKER_CONFIG", d.dir.path().join("docker-config"))
        .output()
        .expect("docker build runs")
}

fn build_ok(d: &Daemon, dir: &Path, args: &[&str]) -> String {
    let out = build(d, dir, args);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "docker build {args:?} failed:\n{text}\n{}\nberthd log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        d.log()
    );
    text
}

fn context() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path();
    std::fs::write(p.join("Dockerfile"), DOCKERFILE).expect("Dockerfile");
    std::fs::write(p.join("a.txt"), "a\n").expect("a.txt");
    std::fs::create_dir(p.join("sub")).expect("sub");
    std::fs::write(p.join("sub/b.txt"), "b\n").expect("b.txt");
    std::fs::write(p.join("sub/secret.key"), "no\n").expect("secret");
    std::fs::write(p.join(".dockerignore"), "**/*.key\n").expect(".dockerignore");
    dir
}

fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

#[test]
fn docker_build_multi_stage_cache_ignore_and_reproducible() {
    require_root!();
    let d = loaded();
    let ctx = context();
    let out = build_ok(&d, ctx.path(), &["-t", "app:1", "-t", "app:2"]);
    assert!(
        out.contains("Step 1/16 : FROM bench/load:latest AS base"),
        "{out}"
    );
    assert!(out.contains("Successfully tagged app:1"), "{out}");
    assert_eq!(count(&out, "Using cache"), 0, "{out}");
    // The result runs and carries what the Dockerfile said.
    let run = d.docker_ok(&["run", "--rm", "app:1"]);
    assert_eq!(run, "hi from test\n");
    let listing = d.docker_ok(&["run", "--rm", "app:2", "cat", "/app/listing"]);
    assert_eq!(
        listing, "a.txt\nb.txt\ngreeting\nlisting\n",
        "the .key file must be ignored"
    );
    let base_cfg = |f: &str| {
        d.docker_ok(&["inspect", "--format", f, "app:1"])
            .trim()
            .to_string()
    };
    assert_eq!(
        base_cfg("{{json .Config.Entrypoint}}"),
        r#"["/bin/busybox"]"#
    );
    assert!(
        base_cfg("{{index .Config.Labels \"org.berth.build.dockerfile\"}}")
            .contains("FROM scratch")
    );

    // Again: every step from the cache, the same image.
    let id1 = base_cfg("{{.Id}}");
    let again = build_ok(&d, ctx.path(), &["-t", "app:1"]);
    assert_eq!(count(&again, "Using cache"), 13, "{again}");
    assert_eq!(base_cfg("{{.Id}}"), id1);

    // Comments, blank lines and re-wrapped lines change no step.
    let edited = DOCKERFILE
        .replace(
            "ENV APP=/app \\\n    MODE=test",
            "# same meaning\nENV    APP=/app   MODE=test",
        )
        .replace("\nFROM scratch", "\n# a new comment\n\n\nfrom   scratch");
    std::fs::write(ctx.path().join("Dockerfile"), edited).expect("edit");
    let out = build_ok(&d, ctx.path(), &["-t", "app:1"]);
    assert_eq!(count(&out, "Using cache"), 13, "{out}");
    assert!(
        !out.contains("Running in"),
        "a RUN was executed again:\n{out}"
    );

    // One copied file changed: the steps before its COPY come from the cache, the rest not.
    std::fs::write(ctx.path().join("sub/b.txt"), "B\n").expect("change");
    let out = build_ok(&d, ctx.path(), &["-t", "app:1"]);
    assert_eq!(
        count(&out, "Using cache"),
        2,
        "ENV and WORKDIR cached only:\n{out}"
    );
    assert!(out.contains("Running in"), "{out}");

    // SOURCE_DATE_EPOCH: two builds without the cache give the same image id.
    let q = ["-q", "--no-cache", "--build-arg", "SOURCE_DATE_EPOCH=0"];
    let a = build_ok(&d, ctx.path(), &q);
    let b = build_ok(&d, ctx.path(), &q);
    assert!(a.trim().starts_with("sha256:"), "{a}");
    assert_eq!(a.trim(), b.trim(), "not reproducible");
    // The build args that are not secrets are recorded.
    let args = d.docker_ok(&[
        "inspect",
        "--format",
        "{{index .Config.Labels \"org.berth.build.args\"}}",
        a.trim(),
    ]);
    assert!(args.contains("SOURCE_DATE_EPOCH"), "{args}");

    // --target stops at a stage.
    build_ok(&d, ctx.path(), &["--target", "base", "-t", "app:base"]);
    assert_eq!(d.docker_ok(&["run", "--rm", "app:base"]), "hi from test\n");
}

#[test]
fn build_errors_name_the_line_and_the_failing_command() {
    require_root!();
    let d = loaded();
    let ctx = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        ctx.path().join("Dockerfile"),
        "FROM bench/load:latest\nRUN true\nFORM x\n",
    )
    .expect("write");
    let out = build(&d, ctx.path(), &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Dockerfile:3:1") && err.contains("did you mean FROM"),
        "{err}"
    );
    std::fs::write(
        ctx.path().join("Dockerfile"),
        "FROM bench/load:latest\nRUN busybox false\n",
    )
    .expect("write");
    let out = build(&d, ctx.path(), &[]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success());
    assert!(text.contains("returned a non-zero code: 1"), "{text}");
    // Nothing of the failed step is left running.
    assert_eq!(d.docker_ok(&["ps", "-aq"]), "");
}

/// A context tar whose entries try to leave the context or point outside it.
fn hostile_context(dir: &Path) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |name: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_path(name).expect("path");
        h.set_cksum();
        b.append(&h, data).expect("append");
    };
    add(
        "Dockerfile",
        b"FROM bench/load:latest\nCOPY etc/hostname /stolen\nCOPY escape.txt /\n",
    );
    add("escape.txt", b"inside\n");
    let mut link = tar::Header::new_gnu();
    link.set_entry_type(tar::EntryType::Symlink);
    link.set_uid(0);
    link.set_gid(0);
    link.set_mtime(0);
    link.set_mode(0o777);
    link.set_size(0);
    link.set_path("etc").expect("path");
    link.set_link_name("/etc").expect("link");
    link.set_cksum();
    b.append(&link, std::io::empty()).expect("symlink");
    let _ = dir;
    b.into_inner().expect("tar")
}

#[test]
fn a_hostile_context_cannot_read_the_host() {
    require_root!();
    let d = loaded();
    let dir = tempfile::tempdir().expect("tempdir");
    let body = hostile_context(dir.path());
    let mut s = UnixStream::connect(&d.sock).expect("connect");
    write!(
        s,
        "POST /build?t=hostile HTTP/1.1\r\nHost: berth\r\nConnection: close\r\nContent-Type: application/x-tar\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .expect("head");
    s.write_all(&body).expect("body");
    let mut raw = String::new();
    let _ = s.read_to_string(&mut raw);
    // The symlink resolves inside the context, where there is no etc/hostname.
    assert!(raw.contains("file not found"), "{raw}");
    assert!(!raw.contains("Successfully built"), "{raw}");
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    assert!(
        host.trim().is_empty() || !raw.contains(host.trim()),
        "host data in the answer: {raw}"
    );
}

#[test]
fn add_unpacks_local_archives_and_builder_prune_clears_the_cache() {
    require_root!();
    let d = loaded();
    let ctx = tempfile::tempdir().expect("tempdir");
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(6);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_path("pkg/data.txt").expect("path");
    h.set_cksum();
    b.append(&h, &b"inside"[..]).expect("append");
    std::fs::write(ctx.path().join("pkg.tar"), b.into_inner().expect("tar")).expect("pkg.tar");
    std::fs::write(
        ctx.path().join("Dockerfile"),
        "FROM bench/load:latest\nADD pkg.tar /opt/\nCOPY pkg.tar /raw/\nCMD [\"busybox\", \"cat\", \"/opt/pkg/data.txt\"]\n",
    )
    .expect("Dockerfile");
    build_ok(&d, ctx.path(), &["-t", "added"]);
    assert_eq!(d.docker_ok(&["run", "--rm", "added"]), "inside");
    let raw = d.docker_ok(&["run", "--rm", "added", "busybox", "ls", "/raw"]);
    assert_eq!(raw, "pkg.tar\n", "COPY keeps the archive as is");
    // The cache survives an image prune, and goes with a builder prune.
    d.docker_ok(&["image", "prune", "-f"]);
    let again = build_ok(&d, ctx.path(), &["-t", "added"]);
    assert_eq!(count(&again, "Using cache"), 3, "{again}");
    let pruned = Command::new(DOCKER)
        .arg("-H")
        .arg(format!("unix://{}", d.sock.display()))
        .args(["builder", "prune", "-f"])
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .expect("docker builder prune");
    assert!(pruned.status.success(), "{pruned:?}");
    let cold = build_ok(&d, ctx.path(), &["-t", "added"]);
    assert_eq!(count(&cold, "Using cache"), 0, "{cold}");
}

#[test]
fn independent_stages_are_built_and_combined() {
    require_root!();
    let d = loaded();
    let ctx = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        ctx.path().join("Dockerfile"),
        "FROM bench/load:latest AS one\nRUN busybox echo one > /one\n\
         FROM bench/load:latest AS two\nRUN busybox echo two > /two\n\
         FROM bench/load:latest AS unused\nRUN busybox false\n\
         FROM bench/load:latest\nCOPY --from=one /one /\nCOPY --from=two /two /\n\
         CMD [\"busybox\", \"cat\", \"/one\", \"/two\"]\n",
    )
    .expect("Dockerfile");
    let out = build_ok(&d, ctx.path(), &["-t", "both"]);
    // The unused stage (whose RUN would fail) is not built; the log reads in file order.
    assert!(!out.contains("busybox false"), "{out}");
    let one = out.find("RUN busybox echo one").expect("stage one");
    let two = out.find("RUN busybox echo two").expect("stage two");
    assert!(one < two, "{out}");
    assert_eq!(d.docker_ok(&["run", "--rm", "both"]), "one\ntwo\n");
}

#[test]
fn copy_globs_match_in_every_path_component() {
    require_root!();
    let d = loaded();
    let ctx = tempfile::tempdir().expect("tempdir");
    for (p, text) in [
        ("a/x.txt", "x"),
        ("b/y.txt", "y"),
        ("b/skip.bin", "no"),
        ("c.txt", "not in a directory"),
    ] {
        let f = ctx.path().join(p);
        std::fs::create_dir_all(f.parent().expect("parent")).expect("mkdir");
        std::fs::write(f, text).expect("write");
    }
    std::fs::write(
        ctx.path().join("Dockerfile"),
        "FROM bench/load:latest\nCOPY */*.txt /g/\nCOPY [ab]/?.txt /h/\n",
    )
    .expect("Dockerfile");
    build_ok(&d, ctx.path(), &["-t", "globbed"]);
    let ls = d.docker_ok(&["run", "--rm", "globbed", "busybox", "ls", "/g", "/h"]);
    assert_eq!(ls, "/g:\nx.txt\ny.txt\n\n/h:\nx.txt\ny.txt\n");
    // A pattern that matches nothing is Docker's error.
    std::fs::write(
        ctx.path().join("Dockerfile"),
        "FROM bench/load:latest\nCOPY */*.md /g/\n",
    )
    .expect("Dockerfile");
    let out = build(&d, ctx.path(), &["-t", "none"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("file not found in build context"),
        "{err}"
    );
}
