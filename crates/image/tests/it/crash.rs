//! A load killed with SIGKILL at different moments leaves a store that reopens clean: every
//! blob hashes to its name, an image is either whole or absent, no temp unpack survives, and
//! the next load works.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use berth_image::{Digest, ImageStore};
use berth_testutil::require_root;

use crate::common::{count, layer_kept, load_file, make_archive};

const ENV: &str = "BERTH_CRASH_LOAD";
const CHILD: &str = "crash::crash_load_child";

/// Not a test on its own: the body of the child process [`killed_load_leaves_a_clean_store`]
/// starts (it re-executes this binary with `BERTH_CRASH_LOAD=<archive>:<root>`). Without the
/// variable it returns at once.
#[test]
fn crash_load_child() {
    let Ok(spec) = std::env::var(ENV) else {
        return;
    };
    let (archive, root) = spec
        .split_once(':')
        .expect("BERTH_CRASH_LOAD=<archive>:<root>");
    let store = ImageStore::open(root).expect("open");
    let report = store
        .load(std::fs::File::open(archive).expect("open archive"))
        .expect("load");
    eprintln!("child: {:?}", report.lines());
}

/// Checks the invariants of a store after a crash; returns whether the image is present.
fn check_after_crash(root: &Path) -> bool {
    let store = ImageStore::open(root).expect("reopen after the crash");
    assert_eq!(
        store.content().verify_all().expect("verify_all"),
        Vec::<Digest>::new(),
        "every blob hashes to its name"
    );
    let tmp = root.join("snapshots/tmp");
    let left: Vec<_> = std::fs::read_dir(&tmp)
        .expect("snapshots/tmp")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "snapshots/tmp after reopen: {left:?}");
    assert_eq!(
        count(&root.join("content/ingest")),
        0,
        "content/ingest after reopen"
    );
    let images = store.list().expect("list");
    match images.as_slice() {
        [] => {
            assert!(
                store.resolve("bench/load:latest").is_err(),
                "a tag without its image"
            );
            false
        }
        [img] => {
            assert_eq!(img.chain_ids().len(), 5, "busybox + 4 layers");
            for c in img.chain_ids() {
                assert!(store.snapshots().exists(&c), "layer {c} of a listed image");
                store.snapshots().meta(&c).expect("layer meta");
            }
            for l in &img.manifest.layers {
                assert!(layer_kept(&store, &l.digest), "layer {}", l.digest);
            }
            assert!(store.content().exists(img.id()));
            // A crash between the record and the tag may leave it untagged, never mis-tagged.
            let tags: Vec<String> = img.tags.iter().map(|t| t.familiar()).collect();
            assert!(tags.is_empty() || tags == ["bench/load:latest"], "{tags:?}");
            true
        }
        more => panic!("one archive gave {} images", more.len()),
    }
}

fn spawn_child(exe: &Path, archive: &Path, root: &Path) -> std::process::Child {
    Command::new(exe)
        .args(["--exact", CHILD, "--nocapture"])
        .env(ENV, format!("{}:{}", archive.display(), root.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the loading child")
}

#[test]
fn killed_load_leaves_a_clean_store() {
    require_root!();
    let tmp = tempfile::Builder::new()
        .prefix("berth-image-crash-")
        .tempdir()
        .expect("tempdir");
    let archive = make_archive(tmp.path(), "big.tar", 64, 4);
    let exe = std::env::current_exe().expect("current_exe");

    // How long a whole load takes in a child (this build, this disk): the kills are spread
    // over that time.
    let timing_root = tmp.path().join("timing");
    let started = Instant::now();
    let status = spawn_child(&exe, &archive, &timing_root)
        .wait()
        .expect("wait");
    let full = started.elapsed();
    assert!(
        status.success(),
        "an uninterrupted load in the child: {status}"
    );
    assert!(
        check_after_crash(&timing_root),
        "a finished load left its image"
    );
    let reference_id = ImageStore::open(&timing_root)
        .expect("open")
        .resolve("bench/load:latest")
        .expect("resolve");
    std::fs::remove_dir_all(&timing_root).expect("remove");

    // Kill after 2%, 10%, … of that time, all into one root (each crash on top of the last).
    let root = tmp.path().join("store");
    let mut outcomes = Vec::new();
    let mut mid_load_kills = 0;
    for pct in [2u32, 10, 30, 50, 70, 90, 97, 130] {
        let mut child = spawn_child(&exe, &archive, &root);
        std::thread::sleep(full * pct / 100);
        let finished = child.try_wait().expect("try_wait").is_some();
        child.kill().expect("SIGKILL"); // std's kill is SIGKILL
        let status = child.wait().expect("wait");
        // Written objects: blobs, and layers (plain layers are kept as snapshots only).
        let blobs =
            count(&root.join("content/blobs/sha256")) + count(&root.join("snapshots/layers"));
        let present = check_after_crash(&root);
        if finished {
            assert!(status.success(), "the child's load failed: {status}");
            assert!(present, "a finished load left its image");
        } else if blobs > 0 && !present {
            mid_load_kills += 1;
        }
        outcomes.push(format!(
            "{pct}% of {full:?}: {}, {blobs} blobs and layers, image {}",
            if finished { "finished" } else { "killed" },
            if present { "present" } else { "absent" }
        ));
    }
    eprintln!("crash outcomes:\n  {}", outcomes.join("\n  "));
    assert!(
        mid_load_kills > 0,
        "at least one load was killed after writing objects and before its image: {outcomes:?}"
    );

    // The next load into the crashed store works and gives the whole image.
    let store = ImageStore::open(&root).expect("reopen");
    let report = load_file(&store, &archive);
    assert_eq!(report.lines(), ["Loaded image: bench/load:latest"]);
    assert!(check_after_crash(&root));
    assert_eq!(report.images[0].0, reference_id);
    // Nothing from the crashed attempts is left once collected: exactly the image's objects.
    store.gc().expect("gc");
    let img = store.get(&reference_id).expect("get");
    // Config and manifest; the plain layers live as tar-split snapshots, not blobs.
    assert_eq!(store.content().list().expect("blobs").len(), 2);
    assert_eq!(
        store.snapshots().list().expect("layers").len(),
        img.chain_ids().len()
    );
}

#[test]
fn reopen_sweeps_dead_writers_but_not_live_ones() {
    require_root!();
    let (_tmp, store) = crate::common::temp_store();
    let root = store.root().to_path_buf();
    let tmp = root.join("snapshots/tmp");
    // What a writer killed at various points leaves: an unpack dir with its (free) lock, an
    // unpack dir without a lock, a lock without a dir (killed between the two), a blob temp.
    std::fs::create_dir_all(tmp.join("999999-1/fs/etc")).expect("mkdir");
    std::fs::write(tmp.join("999999-1/fs/etc/file"), b"x").expect("write");
    std::fs::write(tmp.join("999999-1.lock"), b"").expect("write");
    std::fs::create_dir_all(tmp.join("rm-999999-2/fs")).expect("mkdir");
    std::fs::write(tmp.join("999999-3.lock"), b"").expect("write");
    std::fs::write(root.join("content/ingest/999999-4"), b"partial").expect("write");
    // A live unpack in this process, which a reopen must not touch.
    let live = store.snapshots().begin().expect("begin");
    std::fs::write(live.fs_dir().join("f"), b"live").expect("write");

    let reopened = ImageStore::open(&root).expect("reopen");
    let mut left: Vec<String> = std::fs::read_dir(&tmp)
        .expect("tmp")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    let live_name = live
        .fs_dir()
        .parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .expect("live name");
    assert_eq!(left, [live_name.clone(), format!("{live_name}.lock")]);
    assert_eq!(
        std::fs::read(live.fs_dir().join("f")).expect("live file"),
        b"live"
    );
    assert_eq!(count(&root.join("content/ingest")), 0);
    drop(live);
    ImageStore::open(&root).expect("reopen");
    assert_eq!(count(&tmp), 0, "a dropped unpack leaves nothing");
    drop(reopened);
}

#[test]
fn gc_during_a_load_never_takes_its_blobs() {
    require_root!();
    let (tmp, store) = crate::common::temp_store();
    let archive = make_archive(tmp.path(), "mid.tar", 24, 3);
    let done = std::sync::atomic::AtomicBool::new(false);
    let (report, sweeps) = std::thread::scope(|s| {
        let collector = s.spawn(|| {
            let mut sweeps = 0u32;
            let mut removed = 0usize;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let r = store.gc().expect("gc");
                removed += r.blobs_removed.len() + r.snapshots_removed.len();
                sweeps += 1;
            }
            assert_eq!(
                removed, 0,
                "gc found nothing to remove while the only load ran"
            );
            sweeps
        });
        let report = load_file(&store, &archive);
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        (report, collector.join().expect("collector"))
    });
    assert!(sweeps > 0);
    let id = report.images[0].0.clone();
    store.gc().expect("gc");
    let img = store.get(&id).expect("the image survived concurrent gc");
    for c in img.chain_ids() {
        assert!(store.snapshots().exists(&c));
    }
    for l in &img.manifest.layers {
        assert!(layer_kept(&store, &l.digest));
    }
    assert_eq!(
        store.content().verify_all().expect("verify"),
        Vec::<Digest>::new()
    );
}
