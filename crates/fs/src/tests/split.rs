//! Tar-split: unpack a plain layer keeping only its skeleton, rebuild the exact bytes.

use std::fs;
use std::io::Read;
use std::path::Path;

use super::{root_opts, Tb};
use crate::{rebuild_layer, unpack_layer_split};

/// Unpacks `tar` with a skeleton into a fresh dir and returns the rebuilt stream, after
/// checking that the skeleton is much smaller than the files it leaves out.
fn round_trip(tar: &[u8]) -> (Vec<u8>, tempfile::TempDir) {
    let t = tempfile::tempdir().expect("tempdir");
    let (tree, stash) = (t.path().join("fs"), t.path().join("stash"));
    fs::create_dir(&tree).unwrap();
    fs::create_dir(&stash).unwrap();
    let mut seen = Vec::new();
    let (_, skeleton) = unpack_layer_split(tar, &tree, &stash, &root_opts(), &mut |b| {
        seen.extend_from_slice(b)
    })
    .expect("unpack");
    assert_eq!(seen, tar, "the observer sees the stream");
    let mut rebuilt = Vec::new();
    rebuild_layer(&skeleton, &tree, &stash)
        .expect("rebuild")
        .read_to_end(&mut rebuilt)
        .expect("read rebuilt");
    (rebuilt, t)
}

fn data(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[test]
fn plain_layers_rebuild_byte_for_byte() {
    let big = data(3_000_000, 1);
    let mut tb = Tb::new();
    tb.dir("d/")
        .file("d/a", b"hello")
        .file("d/big", &big)
        .file("d/empty", b"")
        .symlink("d/l", "a")
        .hardlink("d/h", "d/a")
        .pax(&[
            ("SCHILY.xattr.user.k", b"v"),
            ("path", b"d/a-very-long-name-".repeat(12).as_slice()),
        ])
        .file("ignored-by-pax", b"long name content")
        .file("./dot/../x", b"normalised name");
    let mut tar = tb.finish();
    // GNU tar pads to a 10 KiB record: trailing zeros belong to the stream too.
    tar.resize(tar.len().next_multiple_of(10_240), 0);
    let (rebuilt, t) = round_trip(&tar);
    assert_eq!(rebuilt.len(), tar.len());
    assert!(rebuilt == tar, "rebuilt stream differs");
    let skeleton_files: u64 = fs::read_dir(t.path().join("stash")).unwrap().count() as u64;
    assert_eq!(skeleton_files, 0, "nothing replaced, nothing stashed");
}

#[test]
fn replaced_files_are_stashed_and_still_rebuild() {
    let first = data(100_000, 2);
    let second = data(50_000, 3);
    let inside = data(70_000, 4);
    let mut tb = Tb::new();
    tb.file("same", &first)
        .file("same", &second) // the same name twice: the first content must survive
        .dir("dir/")
        .file("dir/inner", &inside)
        .symlink("dir", "elsewhere") // a directory holding data replaced by a symlink
        .file("gone", b"whited out in its own layer")
        .file(".wh.gone", b"")
        .dir("real/")
        .symlink("link", "real")
        .file("link/through", b"written through a symlinked parent")
        .file("real/through", b"replaces it by its real path");
    let tar = tb.finish();
    let (rebuilt, t) = round_trip(&tar);
    assert!(rebuilt == tar, "rebuilt stream differs");
    assert_eq!(fs::read(t.path().join("fs/same")).unwrap(), second);
    let stashed = fs::read_dir(t.path().join("stash")).unwrap().count();
    assert_eq!(
        stashed, 4,
        "same, dir/inner, gone and link/through were stashed"
    );
}

#[test]
fn a_modified_tree_is_detected_not_rebuilt_silently() {
    let tar = Tb::new().file("f", &data(10_000, 5)).finish();
    let t = tempfile::tempdir().unwrap();
    let (tree, stash) = (t.path().join("fs"), t.path().join("stash"));
    fs::create_dir(&tree).unwrap();
    fs::create_dir(&stash).unwrap();
    let (_, sk) =
        unpack_layer_split(tar.as_slice(), &tree, &stash, &root_opts(), &mut |_| {}).unwrap();
    fs::write(tree.join("f"), b"shorter").unwrap();
    let mut out = Vec::new();
    let err = rebuild_layer(&sk, &tree, &stash)
        .unwrap()
        .read_to_end(&mut out)
        .unwrap_err();
    assert!(err.to_string().contains("shrank"), "{err}");
    fs::remove_file(tree.join("f")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", tree.join("f")).unwrap();
    let err = rebuild_layer(&sk, &tree, &stash)
        .unwrap()
        .read_to_end(&mut out)
        .unwrap_err();
    assert!(
        err.to_string().contains('f'),
        "a symlink is not followed out: {err}"
    );
    assert!(rebuild_layer(b"garbage", &tree, &stash).is_err());
}

#[test]
fn compressed_streams_split_their_uncompressed_tar() {
    let tar = Tb::new().file("f", &data(300_000, 9)).finish();
    let gz = super::observe::gzip(&tar);
    let t = tempfile::tempdir().unwrap();
    let (tree, stash) = (t.path().join("fs"), t.path().join("stash"));
    fs::create_dir(&tree).unwrap();
    fs::create_dir(&stash).unwrap();
    let (_, sk) =
        unpack_layer_split(gz.as_slice(), &tree, &stash, &root_opts(), &mut |_| {}).unwrap();
    let mut rebuilt = Vec::new();
    rebuild_layer(&sk, &tree, &stash)
        .unwrap()
        .read_to_end(&mut rebuilt)
        .unwrap();
    assert!(
        rebuilt == tar,
        "the rebuild is the uncompressed tar (the diff id's bytes)"
    );
    assert!(
        sk.len() < 4096,
        "the skeleton leaves the content out: {}",
        sk.len()
    );
}

#[test]
fn gnu_tar_output_with_sparse_files_rebuilds() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("src");
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(src.join("sub/plain"), data(123_457, 6)).unwrap();
    let f = fs::File::create(src.join("sparse")).unwrap();
    f.set_len(8 << 20).unwrap();
    std::os::unix::fs::FileExt::write_at(&f, b"middle", 4 << 20).unwrap();
    let tar_path = t.path().join("l.tar");
    let st = std::process::Command::new("tar")
        .args(["--sparse", "--format=gnu", "-C"])
        .arg(&src)
        .arg("-cf")
        .arg(&tar_path)
        .arg(".")
        .status()
        .unwrap();
    assert!(st.success());
    let tar = fs::read(Path::new(&tar_path)).unwrap();
    let (rebuilt, _t2) = round_trip(&tar);
    assert!(rebuilt == tar, "GNU tar stream differs after rebuild");
}
