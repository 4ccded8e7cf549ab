//! Named and anonymous volumes through berthd with the docker CLI: create, ls, inspect, rm,
//! prune; data shared between containers; copy-up from the image; in-use refusals; `rm -v`;
//! a tmpfs volume.

use std::time::{Duration, Instant};

use berth_testutil::{mounts_containing, require_root};

use crate::daemon::{bench_archive, Daemon};

const IMAGE: &str = "bench/load:latest";

/// The daemon, and on drop a lazy unmount of anything left under its volumes (a failed
/// assertion must not leave a tmpfs on the host).
struct Env {
    d: Daemon,
}

impl Drop for Env {
    fn drop(&mut self) {
        let root = self.d.data_root().join("volumes");
        for m in mounts_containing(root.to_str().unwrap_or("/nonexistent")) {
            let Ok(c) = std::ffi::CString::new(m) else {
                continue;
            };
            // SAFETY: `c` is a NUL-terminated path that outlives the call.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
    }
}

fn env(load: bool) -> Env {
    let d = Daemon::start();
    if load {
        let archive = bench_archive(d.dir.path());
        d.docker_ok(&["load", "-i", archive.to_str().expect("utf-8 path")]);
    }
    Env { d }
}

fn lines(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(str::to_string).collect();
    v.sort();
    v
}

/// `docker run -d OPTS IMAGE /bin/busybox CMD…`, waits for exit 0, returns the logs and
/// removes the container (not its volumes).
fn run(d: &Daemon, opts: &str, cmd: &[&str]) -> String {
    let mut all = vec!["run", "-d"];
    all.extend(opts.split_whitespace());
    all.extend([IMAGE, "/bin/busybox"]);
    all.extend_from_slice(cmd);
    let id = d.docker_ok(&all).trim().to_string();
    let logs = || d.docker_ok(&["logs", &id]);
    assert_eq!(d.docker_ok(&["wait", &id]).trim(), "0", "{}", logs());
    let out = logs();
    d.docker_ok(&["rm", &id]);
    out
}

#[test]
fn volume_create_ls_inspect_rm_and_prune() {
    require_root!();
    let e = env(false);
    let d = &e.d;
    assert_eq!(d.docker_ok(&["volume", "create", "data"]).trim(), "data");
    assert_eq!(d.docker_ok(&["volume", "create", "data"]).trim(), "data");
    d.docker_ok(&["volume", "create", "--label", "team=a", "lab1"]);
    let anon = d.docker_ok(&["volume", "create"]).trim().to_string();
    assert_eq!(anon.len(), 64, "{anon}");
    let ls = d.docker_ok(&["volume", "ls", "--format", "{{.Driver}} {{.Name}}"]);
    let want = lines(&format!("local data\nlocal lab1\nlocal {anon}\n"));
    assert_eq!(lines(&ls), want);
    let ls = d.docker_ok(&["volume", "ls", "-q", "--filter", "label=team=a"]);
    assert_eq!(ls.trim(), "lab1");
    let ls = d.docker_ok(&["volume", "ls", "-q", "--filter", "name=dat"]);
    assert_eq!(ls.trim(), "data");
    let ls = d.docker_ok(&["volume", "ls", "-q", "--filter", "dangling=true"]);
    assert_eq!(lines(&ls).len(), 3);

    let mp = d.data_root().join("volumes/data/_data");
    let f = "{{.Name}} {{.Driver}} {{.Mountpoint}} {{.Scope}} {{.Labels}}";
    let got = d.docker_ok(&["volume", "inspect", "data", "--format", f]);
    assert_eq!(
        got.trim(),
        format!("data local {} local map[]", mp.display())
    );
    assert!(mp.is_dir());
    let json = d.docker_ok(&["volume", "inspect", "lab1"]);
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v[0]["Labels"]["team"], "a");
    assert!(
        v[0]["CreatedAt"].as_str().is_some_and(|c| c.ends_with('Z')),
        "{v}"
    );

    let (status, body) = d.request("GET", "/volumes/nope");
    assert_eq!(
        (status, body.trim()),
        (404, r#"{"message":"get nope: no such volume"}"#)
    );
    let out = d.docker(&["volume", "rm", "nope"]);
    assert!(!out.status.success());
    let out = d.docker(&["volume", "create", "bad!name"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("includes invalid characters"), "{err}");

    // API ≥ 1.42: prune takes only anonymous volumes unless --all.
    d.docker_ok(&["volume", "prune", "-f"]);
    let ls = d.docker_ok(&["volume", "ls", "-q"]);
    assert_eq!(lines(&ls), lines("data\nlab1\n"));
    std::fs::write(d.data_root().join("volumes/lab1/_data/f"), "12345").expect("write");
    let out = d.docker_ok(&["volume", "prune", "-f", "--all", "--filter", "label=team=a"]);
    assert!(
        out.contains("lab1") && out.contains("Total reclaimed space: 5B"),
        "{out}"
    );
    assert_eq!(d.docker_ok(&["volume", "ls", "-q"]).trim(), "data");
    d.docker_ok(&["volume", "prune", "-f", "--all"]);
    assert!(d.docker_ok(&["volume", "ls", "-q"]).trim().is_empty());
    assert!(!d.data_root().join("volumes/data").exists());
}

#[test]
fn data_is_shared_between_containers_and_copied_up_from_the_image() {
    require_root!();
    let e = env(true);
    let d = &e.d;
    // The image has /data/l1/a/f0.bin: the new volume is filled with it.
    let out = run(
        d,
        "-v data:/data",
        &["sh", "-c", "echo hi > /data/f; ls /data/l1/a"],
    );
    assert_eq!(out.trim(), "f0.bin");
    let out = run(d, "-v data:/data", &["cat", "/data/f"]);
    assert_eq!(out.trim(), "hi");
    let mp = d.data_root().join("volumes/data/_data");
    assert_eq!(
        std::fs::read_to_string(mp.join("f")).expect("f").trim(),
        "hi"
    );
    let want = std::fs::metadata(mp.join("l1/a/f0.bin"))
        .expect("copied")
        .len();
    assert_eq!(want, 4 << 20);
    // Copied once: removed data is not copied back.
    std::fs::remove_dir_all(mp.join("l1")).expect("rm");
    let out = run(d, "-v data:/data", &["ls", "/data"]);
    assert_eq!(out.trim(), "f");
    // nocopy, and a destination the image does not have.
    let out = run(d, "-v nc:/data:nocopy", &["ls", "-A", "/data"]);
    assert_eq!(out.trim(), "");
    let out = run(
        d,
        "--mount type=volume,src=fresh,dst=/fresh",
        &["sh", "-c", "echo x > /fresh/y; cat /fresh/y"],
    );
    assert_eq!(out.trim(), "x");
    // Read-only.
    let id = d.docker_ok(&[
        "run",
        "-d",
        "-v",
        "data:/data:ro",
        IMAGE,
        "/bin/busybox",
        "sh",
        "-c",
        "echo no > /data/g",
    ]);
    let id = id.trim();
    assert_ne!(d.docker_ok(&["wait", id]).trim(), "0");
    d.docker_ok(&["rm", id]);
    assert_eq!(
        lines(&d.docker_ok(&["volume", "ls", "-q"])),
        lines("data\nfresh\nnc\n")
    );
    d.docker_ok(&["volume", "rm", "data", "fresh", "nc"]);
    assert!(mounts_containing(d.data_root().to_str().expect("utf-8")).is_empty());
}

#[test]
fn used_volumes_are_not_removed_and_rm_v_takes_anonymous_ones_only() {
    require_root!();
    let e = env(true);
    let d = &e.d;
    d.docker_ok(&[
        "create",
        "--name",
        "c1",
        "-v",
        "keep:/keep",
        "-v",
        "/anon",
        IMAGE,
        "/bin/busybox",
        "true",
    ]);
    d.docker_ok(&["start", "c1"]);
    assert_eq!(d.docker_ok(&["wait", "c1"]).trim(), "0");
    let id = d
        .docker_ok(&["inspect", "c1", "--format", "{{.Id}}"])
        .trim()
        .to_string();
    let out = d.docker(&["volume", "rm", "keep"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("volume is in use") && err.contains(&id),
        "{err}"
    );
    let (status, _) = d.request("DELETE", "/volumes/keep");
    assert_eq!(status, 409);

    let mounts = d.docker_ok(&["inspect", "c1", "--format", "{{json .Mounts}}"]);
    let mounts: serde_json::Value = serde_json::from_str(&mounts).expect("json");
    let mounts = mounts.as_array().expect("array");
    assert_eq!(mounts.len(), 2, "{mounts:?}");
    let keep = mounts.iter().find(|m| m["Name"] == "keep").expect("keep");
    let src = d.data_root().join("volumes/keep/_data");
    assert_eq!(keep["Type"], "volume");
    assert_eq!(keep["Source"], src.to_str().expect("utf-8"));
    assert_eq!(
        (&keep["Destination"], &keep["Driver"], &keep["RW"]),
        (&"/keep".into(), &"local".into(), &true.into())
    );
    let anon = mounts
        .iter()
        .find(|m| m["Destination"] == "/anon")
        .expect("anon");
    let anon_name = anon["Name"].as_str().expect("name").to_string();
    assert_eq!(anon_name.len(), 64);
    let ls = d.docker_ok(&["volume", "ls", "-q"]);
    assert_eq!(lines(&ls), lines(&format!("keep\n{anon_name}\n")));
    let dangling = d.docker_ok(&["volume", "ls", "-q", "--filter", "dangling=true"]);
    assert!(dangling.trim().is_empty(), "{dangling}");
    let df = d.docker_ok(&[
        "system",
        "df",
        "--format",
        "{{.Type}}|{{.TotalCount}}|{{.Active}}",
    ]);
    assert!(df.contains("Local Volumes|2|2"), "{df}");

    d.docker_ok(&["rm", "-v", "c1"]);
    assert_eq!(d.docker_ok(&["volume", "ls", "-q"]).trim(), "keep");
    d.docker_ok(&["volume", "rm", "keep"]);

    // `docker run --rm -v /data`: the anonymous volume goes with the container.
    let id = d.docker_ok(&[
        "run",
        "-d",
        "--rm",
        "-v",
        "/data",
        IMAGE,
        "/bin/busybox",
        "ls",
        "/data/l1/a",
    ]);
    let id = id.trim().to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !d.docker_ok(&["ps", "-aq"]).trim().is_empty() {
        assert!(Instant::now() < deadline, "auto-remove did not happen");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!id.is_empty());
    assert!(d.docker_ok(&["volume", "ls", "-q"]).trim().is_empty());
}

#[test]
fn a_tmpfs_volume_is_mounted_for_containers_and_unmounted_on_rm() {
    require_root!();
    let e = env(true);
    let d = &e.d;
    d.docker_ok(&[
        "volume",
        "create",
        "--opt",
        "type=tmpfs",
        "--opt",
        "device=tmpfs",
        "--opt",
        "o=size=10m",
        "fast",
    ]);
    let mp = d.data_root().join("volumes/fast/_data");
    let mp = mp.to_str().expect("utf-8");
    assert!(mounts_containing(mp).is_empty(), "mounted before any use");
    let out = run(
        d,
        "-v fast:/fast",
        &["sh", "-c", "echo t > /fast/t; cat /proc/mounts"],
    );
    let line = out
        .lines()
        .find(|l| l.contains(" /fast "))
        .unwrap_or_default()
        .to_string();
    assert!(
        line.starts_with("tmpfs /fast tmpfs") && line.contains("size=10240k"),
        "{out}"
    );
    assert_eq!(mounts_containing(mp).len(), 1);
    let out = run(d, "-v fast:/fast", &["cat", "/fast/t"]);
    assert_eq!(out.trim(), "t");
    assert_eq!(mounts_containing(mp).len(), 1, "mounted once");
    let v = d.docker_ok(&["volume", "inspect", "fast", "--format", "{{json .Options}}"]);
    assert_eq!(
        v.trim(),
        r#"{"device":"tmpfs","o":"size=10m","type":"tmpfs"}"#
    );
    d.docker_ok(&["volume", "rm", "fast"]);
    assert!(mounts_containing(d.data_root().to_str().expect("utf-8")).is_empty());
    assert!(!d.data_root().join("volumes/fast").exists());
}

#[test]
fn an_image_volume_gets_an_anonymous_volume_with_the_images_content() {
    require_root!();
    let e = env(false);
    let d = &e.d;
    let tree = d.dir.path().join("tree");
    std::fs::create_dir_all(tree.join("bin")).expect("mkdir");
    std::fs::create_dir_all(tree.join("seed/sub")).expect("mkdir");
    std::fs::copy("/bin/busybox", tree.join("bin/busybox")).expect("busybox");
    std::fs::write(tree.join("seed/hello"), "hello\n").expect("write");
    std::os::unix::fs::symlink("hello", tree.join("seed/link")).expect("symlink");
    let tar = d.dir.path().join("seed.tar");
    let st = std::process::Command::new("tar")
        .args([
            "-C".as_ref(),
            tree.as_os_str(),
            "-cf".as_ref(),
            tar.as_os_str(),
            ".".as_ref(),
        ])
        .status()
        .expect("tar runs");
    assert!(st.success());
    let tar = tar.to_str().expect("utf-8");
    d.docker_ok(&["import", "--change", "VOLUME /seed", tar, "seeded:1"]);
    let id = d.docker_ok(&["run", "-d", "seeded:1", "/bin/busybox", "cat", "/seed/link"]);
    let id = id.trim();
    assert_eq!(d.docker_ok(&["wait", id]).trim(), "0");
    assert_eq!(d.docker_ok(&["logs", id]), "hello\n");
    let f = "{{range .Mounts}}{{.Type}} {{.Destination}} {{.Name}}{{end}}";
    let m = d.docker_ok(&["inspect", id, "--format", f]);
    let (kind_dst, name) = m.trim().rsplit_once(' ').expect("a mount");
    assert_eq!(kind_dst, "volume /seed");
    let data = d.data_root().join("volumes").join(name).join("_data");
    let link = std::fs::read_link(data.join("link")).expect("a symlink");
    assert_eq!(link, std::path::Path::new("hello"));
    assert!(data.join("sub").is_dir());
    d.docker_ok(&["rm", "-v", id]);
    assert!(d.docker_ok(&["volume", "ls", "-q"]).trim().is_empty());
}
