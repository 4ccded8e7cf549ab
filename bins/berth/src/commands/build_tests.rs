//! The context tar (`.dockerignore`, symlinks, the Dockerfile always sent) and the flags.

use super::*;
use crate::commands::build_context::{is_archive, lone_dockerfile, prepare, Prepared, Sendable};

/// The tar `berth build` would send to a daemon without manifest contexts.
fn context_tar(dir: &Path, ignore: &DockerIgnore, always: Option<&str>) -> anyhow::Result<Vec<u8>> {
    Prepared::walk(dir, ignore, always)?.to_tar()
}

fn tar_of(s: Sendable) -> Vec<u8> {
    match s {
        Sendable::Archive(v) => v,
        Sendable::Entries(p) => p.to_tar().unwrap(),
    }
}
use berth_build::DockerIgnore;
use clap::Parser;
use std::io::Read;
use std::os::unix::fs::symlink;
use std::path::Path;

#[derive(Debug, Parser)]
struct T {
    #[command(flatten)]
    b: Build,
}

fn parse(args: &[&str]) -> Build {
    T::try_parse_from(std::iter::once("t").chain(args.iter().copied()))
        .unwrap()
        .b
}

/// (name, kind, link target) of every entry.
fn entries(tar: &[u8]) -> Vec<(String, tar::EntryType, Option<String>)> {
    let mut ar = tar::Archive::new(tar);
    ar.entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let h = e.header();
            assert_eq!((h.uid().unwrap(), h.gid().unwrap()), (0, 0));
            let link = e
                .link_name()
                .unwrap()
                .map(|l| l.to_string_lossy().into_owned());
            let name = e.path().unwrap().to_string_lossy().into_owned();
            (name, h.entry_type(), link)
        })
        .collect()
}

fn names(tar: &[u8]) -> Vec<String> {
    entries(tar).into_iter().map(|e| e.0).collect()
}

fn file(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn ctx() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    file(&d.path().join("Dockerfile"), "FROM scratch\n");
    file(&d.path().join("a.txt"), "a");
    file(&d.path().join("logs/x.log"), "x");
    file(&d.path().join("logs/keep.log"), "k");
    file(&d.path().join("target/debug/big"), "b");
    d
}

#[test]
fn build_context_applies_dockerignore_and_keeps_build_files() {
    let d = ctx();
    let text = "Dockerfile\n.dockerignore\ntarget\nlogs/*.log\n!logs/keep.log\n";
    file(&d.path().join(".dockerignore"), text);
    let ig = DockerIgnore::parse(text).unwrap();
    let tar = context_tar(d.path(), &ig, Some("Dockerfile")).unwrap();
    assert_eq!(
        names(&tar),
        [
            ".dockerignore",
            "Dockerfile",
            "a.txt",
            "logs/",
            "logs/keep.log"
        ]
    );
}

#[test]
fn build_context_sends_a_dockerfile_inside_an_excluded_dir() {
    let d = ctx();
    file(&d.path().join("docker/app.Dockerfile"), "FROM scratch\n");
    let ig = DockerIgnore::parse("docker\ntarget\nlogs\n").unwrap();
    let tar = context_tar(d.path(), &ig, Some("docker/app.Dockerfile")).unwrap();
    assert_eq!(
        names(&tar),
        ["Dockerfile", "a.txt", "docker/app.Dockerfile"]
    );
}

#[test]
fn build_context_keeps_symlinks_as_symlinks() {
    let d = ctx();
    symlink("/etc/passwd", d.path().join("pw")).unwrap();
    symlink("logs", d.path().join("l")).unwrap();
    let tar = context_tar(d.path(), &DockerIgnore::default(), Some("Dockerfile")).unwrap();
    let e = entries(&tar);
    let pw = e.iter().find(|e| e.0 == "pw").unwrap();
    assert_eq!(
        (pw.1, pw.2.as_deref()),
        (tar::EntryType::Symlink, Some("/etc/passwd"))
    );
    let l = e.iter().find(|e| e.0 == "l").unwrap();
    assert_eq!(
        (l.1, l.2.as_deref()),
        (tar::EntryType::Symlink, Some("logs"))
    );
    assert!(
        !names(&tar).iter().any(|n| n.starts_with("l/")),
        "not followed"
    );
    assert!(names(&tar).contains(&"target/debug/big".to_string()));
}

#[test]
fn build_dockerfile_outside_the_context_gets_a_generated_name() {
    let d = ctx();
    file(&d.path().join(".dockerignore"), "target");
    let out = tempfile::tempdir().unwrap();
    file(&out.path().join("Other"), "FROM other\n");
    let a = parse(&[
        "-f",
        out.path().join("Other").to_str().unwrap(),
        d.path().to_str().unwrap(),
    ]);
    let (ctx, name) = prepare(&a).unwrap();
    let tar = tar_of(ctx);
    assert!(
        name.starts_with(".dockerfile.") && name.len() == 32,
        "{name}"
    );
    let mut ar = tar::Archive::new(&tar[..]);
    let mut seen = BTreeMap::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let mut s = String::new();
        e.read_to_string(&mut s).unwrap();
        seen.insert(e.path().unwrap().to_string_lossy().into_owned(), s);
    }
    assert_eq!(seen[&name], "FROM other\n");
    assert_eq!(seen[".dockerignore"], format!("target\n{name}\n"));
    assert!(!seen.contains_key("target/debug/big"));
}

#[test]
fn build_prepare_finds_the_dockerfile_relative_to_the_context() {
    let d = ctx();
    file(&d.path().join("sub/Dockerfile.dev"), "FROM scratch\n");
    let a = parse(&[d.path().to_str().unwrap()]);
    assert_eq!(prepare(&a).unwrap().1, "Dockerfile");
    let f = d.path().join("sub/Dockerfile.dev");
    let a = parse(&["-f", f.to_str().unwrap(), d.path().to_str().unwrap()]);
    assert_eq!(prepare(&a).unwrap().1, "sub/Dockerfile.dev");
    fs::remove_file(d.path().join("Dockerfile")).unwrap();
    let e = prepare(&parse(&[d.path().to_str().unwrap()])).unwrap_err();
    assert!(e.to_string().contains("no such file or directory"), "{e}");
    let e = prepare(&parse(&["/nonexistent-ctx"])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "unable to prepare context: path \"/nonexistent-ctx\" not found"
    );
}

#[test]
fn build_flags_parse_like_docker() {
    let a = parse(&[
        "-t",
        "x",
        "--tag",
        "y:1",
        "-f",
        "D",
        "--build-arg",
        "A=1",
        "--build-arg",
        "HOME",
        "--label",
        "l=v",
        "--target",
        "s",
        "--no-cache",
        "-q",
        "--network",
        "host",
        "--iidfile",
        "/tmp/i",
        ".",
    ]);
    assert_eq!(a.tags, ["x", "y:1"]);
    assert_eq!(a.file.as_deref(), Some("D"));
    assert!(a.no_cache && a.quiet && !a.pull);
    assert_eq!(a.iidfile.as_deref(), Some(Path::new("/tmp/i")));
    assert_eq!(a.context, ".");
    let q = query(&a, "D").unwrap();
    assert!(q.starts_with("dockerfile=D&t=x&t=y%3A1&buildargs="), "{q}");
    assert!(
        q.contains("&target=s&nocache=1&q=1&networkmode=host"),
        "{q}"
    );
    assert!(
        T::try_parse_from(["t", "-t", "x"]).is_err(),
        "the context is required"
    );
}

#[test]
fn build_args_take_bare_keys_from_the_environment() {
    let env = |k: &str| (k == "SET").then(|| "from-env".to_string());
    let args: Vec<String> = ["A=1", "B=", "SET", "UNSET", "C=x=y"]
        .map(String::from)
        .to_vec();
    let m = build_args(&args, env).unwrap();
    assert_eq!(
        serde_json::to_string(&m).unwrap(),
        r#"{"A":"1","B":"","C":"x=y","SET":"from-env","UNSET":null}"#
    );
    assert!(build_args(&["=1".to_string()], env).is_err());
    let l = labels(&["a=1".to_string(), "b".to_string()]).unwrap();
    assert_eq!(serde_json::to_string(&l).unwrap(), r#"{"a":"1","b":""}"#);
    assert!(labels(&["=x".to_string()]).is_err());
}

#[test]
fn build_context_size_is_docker_human_size() {
    assert_eq!(human_size4(512), "512B");
    assert_eq!(human_size4(2048), "2.048kB");
    assert_eq!(human_size4(10240), "10.24kB");
    assert_eq!(human_size4(1_000_000), "1MB");
    assert_eq!(human_size4(123_456_789), "123.5MB");
}

#[test]
fn build_stdin_archive_detection() {
    let d = ctx();
    let tar = context_tar(d.path(), &DockerIgnore::default(), None).unwrap();
    assert!(is_archive(&tar));
    assert!(is_archive(b"\x1f\x8b\x08rest"));
    assert!(!is_archive(b"FROM scratch\n"));
    assert_eq!(
        names(&lone_dockerfile(b"FROM scratch\n").to_tar().unwrap()),
        ["Dockerfile"]
    );
}
