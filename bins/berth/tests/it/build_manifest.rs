//! Manifest contexts (`berth build` → berthd): only contents the daemon lacks are sent, the
//! cache keys are those of the plain tar the docker CLI sends, the client's digest cache
//! never hides a changed file, and hostile manifests or blobs are refused without touching
//! the store or the host.

use std::path::Path;
use std::time::Duration;

use crate::daemon_client::Daemon;

const DOCKERFILE: &str = "FROM bench/load:latest
COPY data/ /data/
COPY link/a.txt /via-link.txt
COPY app.txt /
RUN cat /app.txt /data/a.txt > /out
CMD [\"cat\", \"/out\"]
";

fn blobs(d: &Daemon) -> usize {
    std::fs::read_dir(d.data_root().join("build/blobs")).map_or(0, |r| r.count())
}

fn cached(out: &str) -> usize {
    out.matches("Using cache").count()
}

fn build(d: &Daemon, dir: &Path) -> String {
    let dir = dir.to_str().expect("utf-8");
    d.ok(&["build", "--progress", "plain", "-t", "m:1", dir])
}

#[test]
fn only_new_contents_cross_and_the_cache_is_shared_with_the_docker_cli() {
    berth_testutil::require_root!();
    let d = Daemon::start();
    d.load_image();
    let ctx = tempfile::tempdir().expect("tempdir");
    let dir = ctx.path();
    std::fs::create_dir(dir.join("data")).expect("data");
    std::fs::write(dir.join("Dockerfile"), DOCKERFILE).expect("Dockerfile");
    std::fs::write(dir.join("data/a.txt"), "a\n").expect("a");
    std::fs::write(dir.join("data/b.txt"), "b\n").expect("b");
    std::fs::write(dir.join("data/same.txt"), "a\n").expect("same");
    std::os::unix::fs::symlink("data", dir.join("link")).expect("link");
    std::fs::write(dir.join("app.txt"), "app 1\n").expect("app");

    let out = build(&d, dir);
    assert_eq!(d.ok(&["run", "--rm", "m:1"]), "app 1\na\n");
    assert_eq!(d.ok(&["run", "--rm", "m:1", "cat", "/via-link.txt"]), "a\n");
    // Dockerfile, a (= same), b, app: one blob per distinct content.
    assert_eq!(blobs(&d), 4, "{out}");

    // Nothing changed: every step from the cache, no new blob.
    let out = build(&d, dir);
    assert_eq!(cached(&out), 5, "{out}");
    assert_eq!(blobs(&d), 4);

    // The docker CLI's plain tar gives the same cache keys.
    let out = d.docker_env(
        &[("DOCKER_BUILDKIT", "0")],
        &["build", "-t", "m:1", dir.to_str().unwrap()],
    );
    assert_eq!(cached(&out), 5, "{out}");

    // One file changed: its COPY and what follows run again; one new blob.
    std::fs::write(dir.join("app.txt"), "app 2\n").expect("app");
    let out = build(&d, dir);
    assert_eq!(
        cached(&out),
        2,
        "ENV-less steps before COPY app.txt:\n{out}"
    );
    assert_eq!(blobs(&d), 5);
    assert_eq!(d.ok(&["run", "--rm", "m:1"]), "app 2\na\n");

    // builder prune empties the content store too.
    d.ok(&["builder", "prune", "-f"]);
    assert_eq!(blobs(&d), 0);
    let out = build(&d, dir);
    assert_eq!(cached(&out), 0, "{out}");
    assert_eq!(blobs(&d), 4);
}

#[test]
fn the_digest_cache_never_hides_a_changed_file() {
    berth_testutil::require_root!();
    let d = Daemon::start();
    d.load_image();
    let ctx = tempfile::tempdir().expect("tempdir");
    let dir = ctx.path();
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM bench/load:latest\nCOPY f.txt /\n",
    )
    .unwrap();
    std::fs::write(dir.join("f.txt"), "one\n").unwrap();
    // Files younger than two seconds are not remembered (their timestamps could still tick
    // within the clock's granularity): let them age.
    std::thread::sleep(Duration::from_millis(2100));
    build(&d, dir);
    let caches: Vec<_> = std::fs::read_dir(d.cache_dir().join("berth/build-digests"))
        .expect("the digest cache exists")
        .flatten()
        .collect();
    assert_eq!(caches.len(), 1);
    let text = std::fs::read_to_string(caches[0].path()).unwrap();
    assert!(
        text.contains("\"f.txt\"") && text.contains("sha256:"),
        "{text}"
    );

    // Same size, and the mtime put back: only ctime tells the change.
    let f = dir.join("f.txt");
    let mtime = std::fs::metadata(&f).unwrap().modified().unwrap();
    std::fs::write(&f, "two\n").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&f)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let out = build(&d, dir);
    assert_eq!(cached(&out), 0, "{out}");
    assert_eq!(d.ok(&["run", "--rm", "m:1", "cat", "/f.txt"]), "two\n");
}

/// A manifest context's tar: `manifest` then `blobs` (name, content).
fn manifest_tar(manifest: &str, blobs: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |name: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, data).expect("append");
    };
    add("manifest.json", manifest.as_bytes());
    for (n, data) in blobs {
        add(n, data);
    }
    b.into_inner().expect("tar")
}

fn sha256(data: &[u8]) -> String {
    use sha2::{Digest as _, Sha256};
    format!("{:x}", Sha256::digest(data))
}

#[test]
fn hostile_manifests_and_blobs_are_refused() {
    berth_testutil::require_root!();
    let d = Daemon::start();
    let post = |body: &[u8]| {
        d.post_raw(
            "/build?t=h:1&contextformat=berth-manifest-v1",
            "application/x-tar",
            body,
        )
        .1
    };
    let df = b"FROM scratch\nCOPY x /x\n";
    let df_hex = sha256(df);
    let file = |path: &str, hex: &str, size: usize| {
        format!(
            r#"{{"path":"{path}","kind":"file","mode":420,"mtime":0,"size":{size},"digest":"sha256:{hex}"}}"#
        )
    };

    // A path leaving the context.
    let m = format!(
        r#"{{"entries":[{}]}}"#,
        file("../escape", &df_hex, df.len())
    );
    let out = post(&manifest_tar(&m, &[]));
    assert!(
        out.contains("invalid context manifest: entry \\\"../escape\\\""),
        "{out}"
    );

    // A blob whose content is not its name: refused, and not kept.
    let wrong = "0".repeat(64);
    let m = format!(
        r#"{{"entries":[{}]}}"#,
        file("Dockerfile", &wrong, df.len())
    );
    let out = post(&manifest_tar(&m, &[(&format!("blobs/{wrong}"), df)]));
    assert!(
        out.contains("holds content whose digest is sha256:"),
        "{out}"
    );
    assert!(!d.data_root().join("build/blobs").join(&wrong).exists());

    // A content neither sent nor held.
    let m = format!(
        r#"{{"entries":[{}]}}"#,
        file("Dockerfile", &df_hex, df.len())
    );
    let out = post(&manifest_tar(&m, &[]));
    assert!(
        out.contains("is neither sent nor held by the daemon"),
        "{out}"
    );

    // A Dockerfile that is a symlink to a host file resolves inside the context.
    let m = r#"{"entries":[{"path":"Dockerfile","kind":"symlink","mode":511,"mtime":0,"target":"/etc/passwd"}]}"#;
    let out = post(&manifest_tar(m, &[]));
    assert!(out.contains("Cannot locate specified Dockerfile"), "{out}");
    assert!(!out.contains("root:x:0:0"), "{out}");

    // Only blobs may follow the manifest, and digests are checked by the missing call.
    let m = format!(
        r#"{{"entries":[{}]}}"#,
        file("Dockerfile", &df_hex, df.len())
    );
    let out = post(&manifest_tar(&m, &[("etc/passwd", b"x")]));
    assert!(
        out.contains("only blobs/<hex> may follow the manifest"),
        "{out}"
    );
    let (status, out) = d.post_raw(
        "/build/blobs/missing",
        "application/json",
        br#"["sha256:../x"]"#,
    );
    assert_eq!(status, 400, "{out}");

    // Nothing was built, and a well-formed manifest context still works afterwards.
    let m = format!(
        r#"{{"entries":[{},{}]}}"#,
        file("Dockerfile", &df_hex, df.len()),
        file("x", &sha256(b"x\n"), 2)
    );
    let out = post(&manifest_tar(
        &m,
        &[
            (&format!("blobs/{df_hex}"), df),
            (&format!("blobs/{}", sha256(b"x\n")), b"x\n"),
        ],
    ));
    assert!(out.contains("Successfully tagged h:1"), "{out}");
    let (status, out) = d.post_raw(
        "/build/blobs/missing",
        "application/json",
        format!(r#"["sha256:{df_hex}","sha256:{wrong}"]"#).as_bytes(),
    );
    assert_eq!(status, 200, "{out}");
    assert!(out.contains(&wrong) && !out.contains(&df_hex), "{out}");
}
