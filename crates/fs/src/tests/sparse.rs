//! Sparse files stay sparse: a real GNU sparse entry (made by GNU tar) and zero blocks stored
//! verbatim both come out as holes, and every file reads back byte-identical.

use std::fs::{self, File};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::process::Command;

use sha2::{Digest, Sha256};

use super::observe::{gzip, hex};
use super::{root_opts, unpack, Tb};
use crate::unpack_layer_observed;

const MIB: u64 = 1 << 20;

/// Offsets and contents of the data in the 64 MiB sparse file; everything else is a hole.
const PIECES: [(u64, &[u8]); 3] = [
    (0, b"head"),
    (10 * MIB, b"middle of the file"),
    (64 * MIB - 4, b"tail"),
];

fn make_sparse_source(path: &Path) {
    let f = File::create(path).expect("create");
    f.set_len(64 * MIB).expect("set_len");
    for (off, data) in PIECES {
        f.write_all_at(data, off).expect("write");
    }
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn gnu_sparse_entry_is_extracted_sparse() {
    let t = tempfile::tempdir().expect("tempdir");
    let src = t.path().join("src");
    let dest = t.path().join("dest");
    fs::create_dir(&src).expect("src");
    fs::create_dir(&dest).expect("dest");
    make_sparse_source(&src.join("sparse"));
    let archive = t.path().join("layer.tar");
    run(Command::new("tar")
        .args(["--sparse", "--format=gnu", "-cf"])
        .arg(&archive)
        .arg("-C")
        .arg(&src)
        .arg("sparse"));
    let tar = fs::read(&archive).expect("read archive");
    // One GNU sparse entry (type `S`), and the archive holds the data, not the holes.
    assert_eq!(tar[156], b'S', "GNU tar did not write a sparse entry");
    assert!(tar.len() < MIB as usize, "archive is {} bytes", tar.len());

    // Extract through gzip with a DiffID observer, checked against sha256sum of the tar.
    let mut hasher = Sha256::new();
    let stats = unpack_layer_observed(&gzip(&tar)[..], &dest, &root_opts(), &mut |b| {
        hasher.update(b)
    })
    .expect("unpack");
    assert_eq!((stats.entries, stats.bytes), (1, 64 * MIB));
    let sum = run(Command::new("sha256sum").arg(&archive));
    let sum = String::from_utf8(sum).expect("utf8");
    assert_eq!(
        Some(hex(&hasher.finalize()).as_str()),
        sum.split(' ').next()
    );

    let out = dest.join("sparse");
    let m = fs::metadata(&out).expect("stat");
    assert_eq!(m.len(), 64 * MIB);
    assert!(
        m.blocks() * 512 < MIB,
        "holes were written densely: {} bytes allocated",
        m.blocks() * 512
    );
    let f = File::open(&out).expect("open");
    for (off, data) in PIECES {
        let mut got = vec![0u8; data.len()];
        f.read_exact_at(&mut got, off).expect("read");
        assert_eq!(got, data, "at {off}");
    }
    assert!(fs::read(&out).expect("out") == fs::read(src.join("sparse")).expect("src"));
}

#[test]
fn zero_blocks_in_dense_files_round_trip() {
    const B: usize = 4096;
    const BUF: usize = crate::sparse::COPY_BUF;
    let pattern = |len: usize| -> Vec<u8> { (0..len).map(|i| (i % 253) as u8 + 1).collect() };
    // A zero block in the middle, unaligned zero runs, a zero tail (a trailing hole sized by
    // ftruncate), all-zero files shorter and longer than a block, and zero runs straddling the
    // copy-buffer boundary.
    let mut middle = pattern(3 * B + 100);
    middle[B..2 * B].fill(0);
    let mut unaligned = pattern(3 * B);
    unaligned[B / 2..B / 2 + B].fill(0);
    let mut tail = pattern(2 * B + 10);
    tail[B..].fill(0);
    let mut straddle = pattern(2 * BUF + 3 * B + 7);
    straddle[BUF - 2 * B..BUF + 2 * B].fill(0);
    straddle[2 * BUF..].fill(0);
    let files: [(&str, Vec<u8>); 7] = [
        ("middle", middle),
        ("unaligned", unaligned),
        ("tail", tail),
        ("zeros-short", vec![0; 100]),
        ("zeros-long", vec![0; 5 * B + 1]),
        ("straddle", straddle),
        ("empty", Vec::new()),
    ];
    let mut tb = Tb::new();
    for (name, data) in &files {
        tb.file(name, data);
    }
    let t = tempfile::tempdir().expect("tempdir");
    let stats = unpack(&tb.finish(), t.path(), &root_opts()).expect("unpack");
    let total: usize = files.iter().map(|(_, d)| d.len()).sum();
    assert_eq!(stats.bytes, total as u64);
    for (name, data) in &files {
        let got = fs::read(t.path().join(name)).expect(name);
        assert!(
            got == *data,
            "{name}: {} bytes, want {}",
            got.len(),
            data.len()
        );
    }
    let m = fs::metadata(t.path().join("zeros-long")).expect("stat");
    assert_eq!((m.len(), m.blocks()), (5 * B as u64 + 1, 0));
}
