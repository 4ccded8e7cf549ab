//! Tests of the content store, including a writer killed mid-blob.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use berth_types::ErrorKind;

use super::*;

fn pattern(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x.to_le_bytes()[0]
        })
        .collect()
}

fn ingest_entries(store: &ContentStore) -> Vec<(PathBuf, u64)> {
    fs::read_dir(store.ingest_dir())
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.path(), e.metadata().map_or(0, |m| m.len()))
        })
        .collect()
}

fn assert_empty(store: &ContentStore) {
    assert_eq!(store.list().unwrap(), Vec::<Digest>::new());
    assert_eq!(ingest_entries(store), Vec::new());
}

#[test]
fn open_creates_layout() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("content");
    let store = ContentStore::open(&root).unwrap();
    assert_eq!(store.root(), root);
    for sub in ["blobs/sha256", "blobs/sha512", "ingest"] {
        assert!(root.join(sub).is_dir(), "{sub}");
    }
    assert_empty(&store);
}

#[test]
fn round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let store = ContentStore::open(dir.path()).unwrap();
    let data = pattern(200_000);
    let d = store.put(&data).unwrap();
    assert_eq!(d, Digest::of(&data));
    assert!(store.exists(&d));
    assert_eq!(store.read(&d).unwrap(), data);
    assert_eq!(store.size(&d).unwrap(), 200_000);
    let mut via_file = Vec::new();
    store
        .open_blob(&d)
        .unwrap()
        .read_to_end(&mut via_file)
        .unwrap();
    assert_eq!(via_file, data);
    assert_eq!(store.put(&data).unwrap(), d, "second put is a no-op");
    assert_eq!(store.list().unwrap(), vec![d.clone()]);
    assert_eq!(store.verify_all().unwrap(), Vec::<Digest>::new());
    assert_eq!(ingest_entries(&store), Vec::new());

    store.delete(&d).unwrap();
    assert!(!store.exists(&d));
    for err in [
        store.delete(&d).unwrap_err(),
        store.open_blob(&d).unwrap_err(),
        store.read(&d).unwrap_err(),
        store.size(&d).unwrap_err(),
    ] {
        assert!(matches!(err, ImageError::BlobNotFound { .. }), "{err}");
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(err.to_string().contains(&d.to_string()));
    }
}

#[test]
fn streaming_writer_with_expectations_and_sha512() {
    let dir = tempfile::tempdir().unwrap();
    let store = ContentStore::open(dir.path()).unwrap();
    let data = pattern(100_000);
    for alg in Algorithm::ALL {
        let want = Digest::of_with(alg, &data);
        let mut w = store.writer_for(alg).unwrap();
        assert_eq!(w.algorithm(), alg);
        for chunk in data.chunks(7_000) {
            w.write_all(chunk).unwrap();
        }
        w.flush().unwrap();
        assert_eq!(w.size(), data.len() as u64);
        let got = w.commit(Some(&want), Some(data.len() as u64)).unwrap();
        assert_eq!(got, want);
        assert_eq!(store.read(&got).unwrap(), data);
    }
    assert_eq!(store.list().unwrap().len(), 2);
    assert_eq!(ingest_entries(&store), Vec::new());
}

#[test]
fn digest_mismatch_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = ContentStore::open(dir.path()).unwrap();
    let expected = Digest::of(b"what the registry announced");
    let mut w = store.writer().unwrap();
    w.write_all(b"what it sent").unwrap();
    let temp = w.temp_path().to_path_buf();
    assert!(temp.is_file());
    let err = w.commit(Some(&expected), None).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ImageError::DigestMismatch { .. }), "{msg}");
    assert!(msg.contains(&expected.to_string()), "{msg}");
    assert!(
        msg.contains(&Digest::of(b"what it sent").to_string()),
        "{msg}"
    );
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(!temp.exists());
    assert_empty(&store);
}

#[test]
fn size_mismatch_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = ContentStore::open(dir.path()).unwrap();
    let mut w = store.writer().unwrap();
    w.write_all(b"12345").unwrap();
    let d = Digest::of(b"12345");
    let err = w.commit(Some(&d), Some(6)).unwrap_err();
    assert!(
        matches!(
            err,
            ImageError::SizeMismatch {
                expected: 6,
                actual: 5
            }
        ),
        "{err}"
    );
    assert_empty(&store);
}

#[test]
fn algorithm_mismatch_and_drop_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = ContentStore::open(dir.path()).unwrap();
    let mut w = store.writer().unwrap();
    w.write_all(b"x").unwrap();
    let err = w
        .commit(Some(&Digest::of_with(Algorithm::Sha512, b"x")), None)
        .unwrap_err();
    assert!(err.to_string().contains("writer_for(sha512)"), "{err}");
    let mut w = store.writer().unwrap();
    w.write_all(b"abandoned").unwrap();
    drop(w);
    assert_empty(&store);
}

#[test]
fn concurrent_writers_of_same_content() {
    const WRITERS: usize = 4;
    let dir = tempfile::tempdir().unwrap();
    let store = ContentStore::open(dir.path()).unwrap();
    let data = Arc::new(pattern(1 << 20));
    let want = Digest::of(&data);
    let barrier = Arc::new(Barrier::new(WRITERS));
    let handles: Vec<_> = (0..WRITERS)
        .map(|_| {
            let (store, data, want, barrier) =
                (store.clone(), data.clone(), want.clone(), barrier.clone());
            thread::spawn(move || {
                let mut w = store.writer().unwrap();
                for chunk in data.chunks(32 * 1024) {
                    w.write_all(chunk).unwrap();
                }
                barrier.wait();
                w.commit(Some(&want), Some(data.len() as u64))
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap().unwrap(), want);
    }
    assert_eq!(store.list().unwrap(), vec![want.clone()]);
    assert_eq!(store.read(&want).unwrap(), *data);
    assert_eq!(ingest_entries(&store), Vec::new());
}

#[test]
fn reopen_cleans_ingest_but_spares_live_writers() {
    let dir = tempfile::tempdir().unwrap();
    let store = ContentStore::open(dir.path()).unwrap();
    fs::write(store.ingest_dir().join("1-0-0.tmp"), b"leftover").unwrap();
    fs::create_dir(store.ingest_dir().join("junk-dir")).unwrap();
    fs::write(store.ingest_dir().join("junk-dir/f"), b"x").unwrap();

    let mut live = store.writer().unwrap();
    live.write_all(b"still writing").unwrap();
    let live_temp = live.temp_path().to_path_buf();

    let store = ContentStore::open(dir.path()).unwrap();
    let left: Vec<_> = ingest_entries(&store).into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        left,
        vec![live_temp],
        "only the live writer's file survives"
    );

    let d = live.commit(None, None).unwrap();
    assert_eq!(store.read(&d).unwrap(), b"still writing");
    assert_eq!(ingest_entries(&store), Vec::new());
}

#[test]
fn corruption_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let store = ContentStore::open(dir.path()).unwrap();
    let good = store.put(b"good blob").unwrap();
    let bad = store.put(b"soon to rot").unwrap();
    fs::write(store.blob_path(&bad), b"soon to rOt").unwrap();

    let err = store.read(&bad).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ImageError::Corrupt { .. }), "{msg}");
    assert!(msg.contains(&bad.to_string()), "{msg}");
    assert!(
        msg.contains(&Digest::of(b"soon to rOt").to_string()),
        "{msg}"
    );
    assert_eq!(store.read(&good).unwrap(), b"good blob");
    assert_eq!(store.verify_all().unwrap(), vec![bad.clone()]);

    store.delete(&bad).unwrap();
    assert_eq!(store.put(b"soon to rot").unwrap(), bad);
    assert_eq!(store.verify_all().unwrap(), Vec::<Digest>::new());
}

#[test]
fn list_ignores_foreign_names() {
    let dir = tempfile::tempdir().unwrap();
    let store = ContentStore::open(dir.path()).unwrap();
    let d = store.put(b"x").unwrap();
    fs::write(store.alg_dir(Algorithm::Sha256).join("not-a-digest"), b"").unwrap();
    assert_eq!(store.list().unwrap(), vec![d]);
}

/// Fault injection: a writer process is SIGKILLed mid-blob. Nothing may appear under
/// `blobs/`, the next open sweeps the leftover and the same content then commits cleanly.
#[test]
fn killed_writer_leaves_no_blob() {
    const CHUNK: usize = 64 * 1024;
    const KILL_AFTER: u64 = 1 << 20;
    let dir = tempfile::tempdir().unwrap();
    let store = ContentStore::open(dir.path()).unwrap();
    let data = pattern(16 << 20);
    let digest = Digest::of(&data);

    // SAFETY: the child only does file I/O through the store and sleeps, then leaves with
    // `_exit`; it never returns into the test harness or runs its atexit handlers.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", io::Error::last_os_error());
    if pid == 0 {
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let mut w = store.writer().unwrap();
            for chunk in data.chunks(CHUNK) {
                w.write_all(chunk).unwrap();
                thread::sleep(Duration::from_millis(10));
            }
            // Never commits: reaching here means the parent failed to kill us in time.
            std::mem::forget(w);
        }));
        let code = if outcome.is_ok() { 3 } else { 2 };
        // SAFETY: `_exit` ends the child without unwinding or running destructors.
        unsafe { libc::_exit(code) };
    }

    let deadline = Instant::now() + Duration::from_secs(30);
    let leftover = loop {
        let entries = ingest_entries(&store);
        if let Some((path, _)) = entries.iter().find(|(_, len)| *len >= KILL_AFTER) {
            break path.clone();
        }
        assert!(
            Instant::now() < deadline,
            "child never wrote {KILL_AFTER} bytes"
        );
        thread::sleep(Duration::from_millis(2));
    };
    // SAFETY: plain syscalls on the pid of our own child, which we have not reaped yet.
    let status = unsafe {
        assert_eq!(libc::kill(pid, libc::SIGKILL), 0);
        let mut status = 0;
        assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
        status
    };
    assert!(
        libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGKILL,
        "child was not killed mid-write (status {status:#x})"
    );

    assert_eq!(
        store.list().unwrap(),
        Vec::<Digest>::new(),
        "no blob visible"
    );
    assert!(!store.exists(&digest));
    let size = fs::metadata(&leftover).unwrap().len();
    assert!(
        size >= KILL_AFTER && size < data.len() as u64,
        "partial temp: {size}"
    );

    let store = ContentStore::open(dir.path()).unwrap();
    assert_eq!(ingest_entries(&store), Vec::new(), "leftover swept on open");

    let mut w = store.writer().unwrap();
    w.write_all(&data).unwrap();
    assert_eq!(
        w.commit(Some(&digest), Some(data.len() as u64)).unwrap(),
        digest
    );
    assert_eq!(store.read(&digest).unwrap(), data);
    assert_eq!(store.verify_all().unwrap(), Vec::<Digest>::new());
    assert_eq!(ingest_entries(&store), Vec::new());
}
