//! `docker cp` both ways, `export`, `diff` and `commit` through berthd with the
//! docker CLI — and that a hostile container cannot make `cp` read or write a host file.

use std::path::Path;
use std::process::Command;

use berth_testutil::{mounts_containing, require_root};

use crate::daemon::{bench_archive, Daemon};

pub(crate) const IMAGE: &str = "bench/load:latest";

pub(crate) fn loaded() -> Daemon {
    let d = Daemon::start();
    let archive = bench_archive(d.dir.path());
    d.docker_ok(&["load", "-i", archive.to_str().expect("utf-8 path")]);
    d
}

fn sh(d: &Daemon, c: &str, script: &str) -> String {
    d.docker_ok(&["exec", c, "/bin/busybox", "sh", "-c", script])
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

pub(crate) fn mounts(d: &Daemon) -> Vec<String> {
    mounts_containing(s(&d.data_root()))
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn cp_out_and_in_of_running_stopped_and_created_containers() {
    require_root!();
    let d = loaded();
    let tmp = d.dir.path().join("cp");
    std::fs::create_dir_all(tmp.join("indir/sub")).unwrap();
    std::fs::write(tmp.join("in.txt"), "into the container\n").unwrap();
    std::fs::write(tmp.join("indir/sub/deep.txt"), "deep\n").unwrap();
    d.docker_ok(&["volume", "create", "cpvol"]);
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "cc",
        "-v",
        "cpvol:/vol",
        IMAGE,
        "/bin/busybox",
        "sleep",
        "1000",
    ]);
    let bb = "/bin/busybox";
    sh(&d, "cc", &format!("{bb} mkdir -p /data/sub && echo hello > /data/f && echo g > /data/sub/g && {bb} chown 7:8 /data/f"));
    // A name over tar's 100 bytes and a relative link whose `./` must survive.
    let long = "n".repeat(150);
    sh(
        &d,
        "cc",
        &format!("{bb} touch /data/sub/{long} && {bb} ln -s ./f /data/rel"),
    );

    for state in ["running", "stopped"] {
        let out = tmp.join(state);
        std::fs::create_dir_all(&out).unwrap();
        d.docker_ok(&["cp", "cc:/data/f", s(&out.join("f"))]);
        assert_eq!(read(&out.join("f")), "hello\n");
        d.docker_ok(&["cp", "cc:/data", s(&out.join("d"))]);
        assert_eq!(read(&out.join("d/sub/g")), "g\n");
        d.docker_ok(&["cp", "cc:/data/.", s(&out.join("dot"))]);
        assert_eq!(read(&out.join("dot/sub/g")), "g\n");
        assert!(out.join("d/sub").join(&long).is_file(), "long name lost");
        // -L follows a link by the `linkTarget` of the stat header: a container path.
        d.docker_ok(&["cp", "-L", "cc:/bin/sh", s(&out.join("sh"))]);
        let size = std::fs::metadata(out.join("sh")).unwrap().len();
        assert_eq!(size, std::fs::metadata("/bin/busybox").unwrap().len());
        let rel = std::fs::read_link(out.join("d/rel")).unwrap();
        assert_eq!(rel, Path::new("./f"));
        d.docker_ok(&["cp", "-a", "cc:/data", s(&out.join("a"))]);
        assert_eq!(read(&out.join("a/f")), "hello\n");
        // In: a file, a directory, and into the volume.
        d.docker_ok(&[
            "cp",
            s(&tmp.join("in.txt")),
            &format!("cc:/tmp/{state}.txt"),
        ]);
        d.docker_ok(&["cp", s(&tmp.join("indir")), &format!("cc:/tmp/{state}-dir")]);
        d.docker_ok(&["cp", s(&tmp.join("in.txt")), "cc:/vol/"]);
        let err = d.docker(&["cp", "cc:/nope", s(&out.join("x"))]);
        assert!(!err.status.success());
        assert!(
            String::from_utf8_lossy(&err.stderr)
                .contains("Could not find the file /nope in container cc"),
            "{}",
            String::from_utf8_lossy(&err.stderr)
        );
        if state == "running" {
            d.docker_ok(&["stop", "-t", "1", "cc"]);
        }
    }
    let vol = d.docker_ok(&["volume", "inspect", "cpvol", "--format", "{{.Mountpoint}}"]);
    assert_eq!(
        read(&Path::new(vol.trim()).join("in.txt")),
        "into the container\n"
    );
    let before = mounts(&d);
    d.docker_ok(&["start", "cc"]);
    let got = sh(&d, "cc", "cat /tmp/running.txt /tmp/stopped.txt /tmp/running-dir/sub/deep.txt /tmp/stopped-dir/sub/deep.txt /vol/in.txt");
    assert_eq!(
        got.lines()
            .filter(|l| l.contains("into the container"))
            .count(),
        3,
        "{got}"
    );
    assert_eq!(got.lines().filter(|l| *l == "deep").count(), 2, "{got}");
    d.docker_ok(&["stop", "-t", "1", "cc"]);
    assert_eq!(
        mounts(&d).len(),
        before.len(),
        "cp on a stopped container left a mount"
    );

    // A container that never ran has no mount before or after.
    d.docker_ok(&["create", "--name", "fresh", IMAGE]);
    d.docker_ok(&["rm", "-f", "cc"]);
    assert!(mounts(&d).is_empty(), "{:?}", mounts(&d));
    d.docker_ok(&["cp", s(&tmp.join("in.txt")), "fresh:/etc/"]);
    d.docker_ok(&["cp", "fresh:/etc/in.txt", s(&tmp.join("back.txt"))]);
    assert_eq!(read(&tmp.join("back.txt")), "into the container\n");
    assert!(mounts(&d).is_empty(), "{:?}", mounts(&d));
    // The stat header, raw.
    let (code, _) = d.request("HEAD", "/containers/fresh/archive?path=/etc/passwd");
    assert_eq!(code, 200);
    let (code, body) = d.request("GET", "/containers/fresh/archive?path=/no/such");
    assert_eq!(code, 404);
    assert!(
        body.contains("Could not find the file /no/such in container fresh"),
        "{body}"
    );
    d.docker_ok(&["rm", "-f", "fresh"]);
    // `cp -a`: entries take the container user's ids.
    d.docker_ok(&["create", "--name", "owned", "--user", "7:8", IMAGE]);
    d.docker_ok(&["cp", "-a", s(&tmp.join("in.txt")), "owned:/tmp/"]);
    let upper = d.docker_ok(&[
        "inspect",
        "owned",
        "--format",
        "{{.GraphDriver.Data.UpperDir}}",
    ]);
    let meta = std::fs::metadata(Path::new(upper.trim()).join("tmp/in.txt")).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!((meta.uid(), meta.gid()), (7, 8));
    d.docker_ok(&["rm", "-f", "owned"]);
    assert!(mounts(&d).is_empty(), "{:?}", mounts(&d));
}

#[test]
fn hostile_symlinks_and_archives_cannot_reach_the_host() {
    require_root!();
    let d = loaded();
    let host = d.dir.path().join("hostside");
    std::fs::create_dir_all(&host).unwrap();
    let canary = host.join("canary");
    std::fs::write(&canary, "host secret\n").unwrap();
    // A file the container also has at the same path: links must find the container's copy.
    std::fs::write(host.join("canary2"), "host secret 2\n").unwrap();
    let payload = d.dir.path().join("payload");
    std::fs::write(&payload, "PWNED\n").unwrap();
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "hh",
        IMAGE,
        "/bin/busybox",
        "sleep",
        "1000",
    ]);
    let bb = "/bin/busybox";
    sh(&d, "hh", &format!(
        "{bb} ln -s /../../../../../../..{c} /etc/evil && {bb} ln -s ../../../../../../..{h} /etc/evildir \
         && {bb} ln -s / /etc/rootlink && {bb} mkdir -p {h} && echo container canary > {h}/canary2 \
         && {bb} ln -s /../../../../../../..{h}/canary2 /etc/evil2",
        c = canary.display(),
        h = host.display()
    ));
    let out = d.dir.path().join("stolen");
    for state in ["running", "stopped"] {
        // Reading through the links finds the container's files (there are none), never the
        // host's.
        let _ = d.docker(&["cp", "-L", "hh:/etc/evil", s(&out)]);
        let _ = d.docker(&["cp", "hh:/etc/evildir/.", s(&out)]);
        let _ = d.docker(&["cp", "hh:/etc/evildir/canary", s(&out)]);
        let _ = d.docker(&[
            "cp",
            "hh:/etc/rootlink/../../../../..",
            s(&d.dir.path().join("stolen-root")),
        ]);
        for p in [out.clone(), out.join("canary")] {
            if let Ok(text) = std::fs::read_to_string(&p) {
                assert!(
                    !text.contains("host secret"),
                    "{state}: read the host canary"
                );
            }
        }
        // Until a write below made the container its own file at that path, a followed link
        // out of the root is simply not found.
        let (code, body) = d.request("GET", "/containers/hh/archive?path=/etc/evil/");
        assert!(
            !body.contains("host secret"),
            "{state}: read the host canary"
        );
        if state == "running" {
            assert_eq!(code, 404, "a followed link out of the root is not found");
        }
        let got = d.dir.path().join(format!("got-{state}"));
        d.docker_ok(&["cp", "-L", "hh:/etc/evil2", s(&got)]);
        assert_eq!(read(&got), "container canary\n", "{state}");
        d.docker_ok(&["cp", s(&payload), "hh:/etc/evildir/"]);
        let back = d.dir.path().join(format!("back-{state}"));
        d.docker_ok(&["cp", &format!("hh:{}/payload", host.display()), s(&back)]);
        assert_eq!(
            read(&back),
            "PWNED\n",
            "{state}: the write landed in the container"
        );
        // Writing through them lands inside the container, or fails.
        let _ = d.docker(&["cp", s(&payload), "hh:/etc/evil"]);
        let _ = d.docker(&["cp", s(&payload), "hh:/etc/evildir/"]);
        let _ = d.docker(&["cp", s(&payload), "hh:/etc/evildir/canary"]);
        assert_eq!(
            read(&canary),
            "host secret\n",
            "{state}: the canary was written"
        );
        let names: Vec<_> = std::fs::read_dir(&host)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(
            names.len(),
            2,
            "{state}: a file appeared on the host: {names:?}"
        );
        // Hostile archives: `../` names and device nodes are refused.
        let evil = d.dir.path().join("evil.tar");
        let st = Command::new("tar")
            .args([
                "-cPf",
                s(&evil),
                "--transform",
                &format!("s|^.*payload$|../../../../../..{}/escaped|", host.display()),
            ])
            .arg(&payload)
            .status()
            .unwrap();
        assert!(st.success());
        let r = d.docker_with_stdin(&["cp", "-", "hh:/tmp"], Some(&evil));
        assert!(!r.status.success(), "{state}: a ../ archive was accepted");
        let devdir = d.dir.path().join("dev");
        std::fs::create_dir_all(&devdir).unwrap();
        let _ = std::fs::remove_file(devdir.join("null2"));
        assert!(Command::new("mknod")
            .arg(devdir.join("null2"))
            .args(["cc", "1", "3"])
            .status()
            .unwrap()
            .success());
        let devtar = d.dir.path().join("dev.tar");
        assert!(Command::new("tar")
            .args(["-cf", s(&devtar), "-C", s(&devdir), "null2"])
            .status()
            .unwrap()
            .success());
        let r = d.docker_with_stdin(&["cp", "-", "hh:/tmp"], Some(&devtar));
        assert!(!r.status.success(), "{state}: a device node was accepted");
        let err = String::from_utf8_lossy(&r.stderr);
        assert!(
            !err.contains("broken pipe"),
            "{state}: the extractor's reason is lost: {err}"
        );
        assert!(!host.join("escaped").exists(), "{state}: ../ escaped");
        assert_eq!(read(&canary), "host secret\n");
        assert_eq!(read(&host.join("canary2")), "host secret 2\n");
        if state == "running" {
            d.docker_ok(&["stop", "-t", "1", "hh"]);
        }
    }
    d.docker_ok(&["rm", "-f", "hh"]);
    assert!(mounts(&d).is_empty(), "{:?}", mounts(&d));
}

#[test]
fn export_diff_and_commit() {
    require_root!();
    let d = loaded();
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "ee",
        IMAGE,
        "/bin/busybox",
        "sleep",
        "1000",
    ]);
    let bb = "/bin/busybox";
    sh(
        &d,
        "ee",
        &format!("echo x > /tmp/new && echo more >> /etc/passwd && {bb} rm /bin/ls"),
    );
    let diff = d.docker_ok(&["diff", "ee"]);
    for line in [
        "A /tmp/new",
        "C /etc/passwd",
        "D /bin/ls",
        "C /bin",
        "C /tmp",
    ] {
        assert!(
            diff.lines().any(|l| l == line),
            "{line} missing from:\n{diff}"
        );
    }
    let tar = d.dir.path().join("export.tar");
    d.docker_ok(&["export", "-o", s(&tar), "ee"]);
    let list = Command::new("tar").arg("tf").arg(&tar).output().unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    for name in ["bin/busybox", "etc/passwd", "tmp/new"] {
        assert!(
            list.lines().any(|l| l.trim_end_matches('/') == name),
            "{name} missing:\n{list}"
        );
    }
    assert!(
        !list.lines().any(|l| l == "bin/ls"),
        "a deleted file was exported"
    );
    let id = d.docker_ok(&[
        "commit",
        "-c",
        r#"CMD ["/bin/busybox","echo","hi"]"#,
        "ee",
        "img:1",
    ]);
    assert!(id.trim().starts_with("sha256:"), "{id}");
    assert_eq!(d.docker_ok(&["run", "--rm", "img:1"]), "hi\n");
    // The layer holds the container's file (read back through a container of the image).
    d.docker_ok(&["create", "--name", "fromimg", "img:1"]);
    let new = d.dir.path().join("new");
    d.docker_ok(&["cp", "fromimg:/tmp/new", s(&new)]);
    assert_eq!(read(&new), "x\n");
    d.docker_ok(&["rm", "fromimg"]);
    // The container kept running (commit pauses and unpauses it).
    let st = d.docker_ok(&["inspect", "ee", "--format", "{{.State.Status}}"]);
    assert_eq!(st.trim(), "running");
    d.docker_ok(&["rm", "-f", "ee"]);
    assert!(mounts(&d).is_empty(), "{:?}", mounts(&d));
}
