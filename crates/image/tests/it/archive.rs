//! `load` and `save` of docker-archives and OCI layouts, including hostile archives.

use std::io::Write;

use berth_image::{Digest, ImageError, ImageStore};
use berth_testutil::require_root;

use crate::common::{
    count, docker_archive, layer_kept, load_bytes, load_file, make_archive, tar_of, temp_store,
    tree, Entry, Img,
};

/// Checks the bench/load:latest image of make_archive(…, 2 layers): listed, tagged, and its
/// layers unpacked with the files the script put there.
fn check_bench_image(store: &ImageStore) -> Digest {
    let images = store.list().expect("list");
    assert_eq!(images.len(), 1, "one image after load: {images:?}");
    let img = &images[0];
    let tags: Vec<String> = img.tags.iter().map(|t| t.familiar()).collect();
    assert_eq!(tags, ["bench/load:latest"]);
    assert_eq!(
        store.resolve("bench/load:latest").expect("resolve"),
        *img.id()
    );
    let chains = img.chain_ids();
    assert_eq!(chains.len(), 3, "busybox + 2 data layers");
    for c in &chains {
        assert!(store.snapshots().exists(c), "layer {c} unpacked");
    }
    let base = store.snapshots().layer_fs(&chains[0]);
    let bb = std::fs::metadata(base.join("bin/busybox")).expect("busybox in the base layer");
    assert!(bb.len() > 100_000, "busybox is the real binary");
    assert_eq!(
        std::fs::read_link(base.join("bin/sh")).expect("sh link"),
        std::path::Path::new("busybox")
    );
    for (i, c) in chains[1..].iter().enumerate() {
        let dir = store
            .snapshots()
            .layer_fs(c)
            .join(format!("data/l{}", i + 1));
        let bytes: u64 = tree(&dir)
            .iter()
            .filter_map(|p| std::fs::metadata(dir.join(p)).ok())
            .filter(|m| m.is_file())
            .map(|m| m.len())
            .sum();
        assert_eq!(bytes, 4 << 20, "layer {} holds its 4 MiB of data", i + 1);
    }
    img.id().clone()
}

#[test]
fn load_make_archive_then_reload_is_idempotent() {
    require_root!();
    let (tmp, store) = temp_store();
    let archive = make_archive(tmp.path(), "a.tar", 8, 2);
    let report = load_file(&store, &archive);
    assert_eq!(report.lines(), ["Loaded image: bench/load:latest"]);
    let id = check_bench_image(&store);
    assert_eq!(report.images[0].0, id);
    let blobs = store.content().list().expect("blobs");
    let layers = store.snapshots().list().expect("layers");
    // Plain layers are not stored as blobs: their snapshots rebuild them (tar-split).
    assert_eq!(blobs.len(), 2, "config and manifest only: {blobs:?}");
    let img = store.get(&id).expect("get");
    for l in &img.manifest.layers {
        assert!(
            layer_kept(&store, &l.digest),
            "layer {} rebuildable",
            l.digest
        );
    }

    let again = load_file(&store, &archive);
    assert_eq!(again.images[0].0, id);
    assert_eq!(check_bench_image(&store), id);
    assert_eq!(store.content().list().expect("blobs"), blobs);
    assert_eq!(store.snapshots().list().expect("layers"), layers);
    assert_eq!(
        count(&store.root().join("snapshots/tmp")),
        0,
        "no leftover unpacks"
    );
}

#[test]
fn save_then_load_into_another_store_keeps_the_id() {
    require_root!();
    let (tmp, store) = temp_store();
    let archive = make_archive(tmp.path(), "a.tar", 8, 2);
    load_file(&store, &archive);
    let id = check_bench_image(&store);
    let original = store.get(&id).expect("get");

    let saved = tmp.path().join("saved.tar");
    store
        .save(
            &["bench/load:latest"],
            std::fs::File::create(&saved).expect("create"),
        )
        .expect("save");
    let second = ImageStore::open(tmp.path().join("second")).expect("open");
    let report = load_file(&second, &saved);
    assert_eq!(report.images.len(), 1);
    assert_eq!(report.images[0].0, id, "same image id after save → load");
    assert_eq!(check_bench_image(&second), id);
    let copy = second.get(&id).expect("get");
    let digests = |m: &berth_image::Manifest| -> Vec<Digest> {
        m.layers.iter().map(|l| l.digest.clone()).collect()
    };
    assert_eq!(digests(&copy.manifest), digests(&original.manifest));
    assert_eq!(
        second.content().verify_all().expect("verify"),
        Vec::<Digest>::new()
    );
}

#[test]
fn gzip_compressed_archive_loads() {
    require_root!();
    let (tmp, store) = temp_store();
    let archive = make_archive(tmp.path(), "a.tar", 8, 2);
    let gz = tmp.path().join("a.tar.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).expect("create"),
        flate2::Compression::fast(),
    );
    enc.write_all(&std::fs::read(&archive).expect("read"))
        .expect("gzip");
    enc.finish().expect("finish gzip");
    let report = load_file(&store, &gz);
    assert_eq!(report.lines(), ["Loaded image: bench/load:latest"]);
    let id = check_bench_image(&store);
    // The same image as the plain archive gives.
    let plain = ImageStore::open(tmp.path().join("plain")).expect("open");
    load_file(&plain, &archive);
    assert_eq!(check_bench_image(&plain), id);
    // And zstd.
    let zst = tmp.path().join("a.tar.zst");
    let bytes = zstd::encode_all(std::fs::File::open(&archive).expect("open"), 3).expect("zstd");
    std::fs::write(&zst, bytes).expect("write");
    let zstore = ImageStore::open(tmp.path().join("zstd")).expect("open");
    assert_eq!(load_file(&zstore, &zst).images[0].0, id);
    assert_eq!(check_bench_image(&zstore), id);
}

/// Nothing outside `<tmp>/store` changed: the temp dir holds only the store (and what the test
/// put there itself).
fn assert_nothing_outside(tmp: &std::path::Path, allowed: &[&str]) {
    for e in std::fs::read_dir(tmp).expect("read tmp").flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        assert!(
            name == "store" || allowed.contains(&name.as_str()),
            "{name} was written outside the store root"
        );
    }
}

#[test]
fn archive_entry_climbing_out_is_refused() {
    require_root!();
    let (tmp, store) = temp_store();
    let mut bytes = tar_of(&[Entry::File("../evil", b"pwned")]);
    // Followed by a valid image, so a loader that skipped the entry would succeed.
    let valid = docker_archive(&[Img::new(
        vec![tar_of(&[Entry::File("hello", b"hi")])],
        &["x/valid:1"],
    )]);
    bytes.truncate(512 + 512); // header + one data block, drop the end-of-archive blocks
    bytes.extend_from_slice(&valid);
    let err = load_bytes(&store, &bytes).expect_err("../evil must be refused");
    assert!(matches!(err, ImageError::BadArchive { .. }), "{err:?}");
    assert!(
        err.to_string().contains("../evil"),
        "error names the entry: {err}"
    );
    assert!(!tmp.path().join("evil").exists());
    assert_nothing_outside(tmp.path(), &[]);
    assert!(store.list().expect("list").is_empty());
    assert!(!tree(store.root())
        .iter()
        .any(|p| p.file_name().is_some_and(|n| n == "evil")));
}

#[test]
fn layer_with_dotdot_entry_stays_inside() {
    require_root!();
    let (tmp, store) = temp_store();
    let marker = format!("berth-escape-{}", std::process::id());
    let deep = format!("../../../../../../../../../../tmp/{marker}");
    let layer = tar_of(&[
        Entry::File("ok", b"fine"),
        Entry::File("../../etc/x-berth-test", b"evil"),
        Entry::File(&deep, b"evil"),
    ]);
    let img = Img::new(vec![layer], &["x/dotdot:1"]);
    let result = load_bytes(&store, &docker_archive(&[img]));
    eprintln!("load of a layer with ../ entries: {result:?}");
    assert!(!std::path::Path::new("/etc/x-berth-test").exists());
    assert!(!std::path::Path::new("/tmp").join(&marker).exists());
    assert_nothing_outside(tmp.path(), &[]);
    match result {
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.contains("..") || msg.contains("x-berth-test"),
                "the error names the entry: {msg}"
            );
            assert!(store.list().expect("list").is_empty(), "no image on error");
        }
        Ok(_) => {
            // Kept inside: whatever was written is under the layer's own directory.
            let img = &store.list().expect("list")[0];
            let fs = store.snapshots().layer_fs(&img.chain_ids()[0]);
            assert_eq!(std::fs::read(fs.join("ok")).expect("ok"), b"fine");
        }
    }
}

#[test]
fn layer_with_symlink_escape_stays_inside() {
    require_root!();
    let (tmp, store) = temp_store();
    let outside = tmp.path().join("outside");
    std::fs::create_dir(&outside).expect("mkdir");
    let target = outside.to_str().expect("utf-8").to_string();
    let through_rel = format!("rel{target}/pwned");
    let file_target = format!("{target}/file");
    let cases: Vec<(&str, Vec<Entry<'_>>)> = vec![
        (
            "abs",
            vec![
                Entry::Symlink("abs", &target),
                Entry::File("abs/pwned", b"evil"),
            ],
        ),
        (
            "rel",
            vec![
                Entry::Symlink("rel", "../../../../../../../../.."),
                Entry::File(&through_rel, b"evil"),
            ],
        ),
        (
            "link",
            vec![
                Entry::Symlink("link", &file_target),
                Entry::File("link", b"evil"),
            ],
        ),
    ];
    for (i, (name, entries)) in cases.into_iter().enumerate() {
        let tag = format!("x/symlink:{i}");
        let img = Img::new(vec![tar_of(&entries)], &[tag.as_str()]);
        let result = load_bytes(&store, &docker_archive(&[img]));
        eprintln!("load of a layer with an escaping symlink {name}: {result:?}");
        assert_eq!(
            count(&outside),
            0,
            "nothing written through the symlink {name}: {result:?}"
        );
        assert_nothing_outside(tmp.path(), &["outside"]);
        match &result {
            Err(e) => {
                let msg = e.to_string();
                assert!(msg.contains(name), "error names the entry {name}: {msg}");
                assert!(store.resolve(&tag).is_err(), "no image on error");
            }
            Ok(r) => {
                // Kept inside: the entry landed in the layer itself.
                let chain = store.get(&r.images[0].0).expect("get").chain_ids()[0].clone();
                let fs = store.snapshots().layer_fs(&chain);
                assert!(
                    std::fs::symlink_metadata(fs.join(name)).is_ok(),
                    "{name} in the layer"
                );
                let landed = match name {
                    "rel" => fs.join(target.trim_start_matches('/')).join("pwned"),
                    _ => fs.join(name),
                };
                assert_eq!(std::fs::read(&landed).expect("the entry, inside"), b"evil");
            }
        }
    }
}

#[test]
fn blob_not_matching_its_name_is_refused() {
    require_root!();
    let (_tmp, store) = temp_store();
    let layer = tar_of(&[Entry::File("hello", b"hi")]);
    let img = Img::new(vec![layer.clone()], &["x/corrupt:1"]);
    let good = docker_archive(std::slice::from_ref(&img));
    // Same archive, but the layer blob's content is changed (same length) under its name.
    let mut tampered_layer = layer.clone();
    let at = tampered_layer
        .windows(2)
        .position(|w| w == b"hi")
        .expect("content in the tar");
    tampered_layer[at] = b'H';
    let name = format!("blobs/sha256/{}", Digest::of(&layer).hex());
    let config = img.config();
    let cfg_name = format!("blobs/sha256/{}", img.id().hex());
    let manifest = serde_json::to_vec(&serde_json::json!([
        {"Config": cfg_name, "RepoTags": ["x/corrupt:1"], "Layers": [name]}
    ]))
    .expect("json");
    let bad = tar_of(&[
        Entry::File(&name, &tampered_layer),
        Entry::File(&cfg_name, &config),
        Entry::File("manifest.json", &manifest),
    ]);
    let err = load_bytes(&store, &bad).expect_err("a blob not matching its name");
    assert!(matches!(err, ImageError::BadArchive { .. }), "{err:?}");
    assert!(err.to_string().contains(Digest::of(&layer).hex()), "{err}");
    assert!(
        store.list().expect("list").is_empty(),
        "no image after a bad archive"
    );
    assert!(!layer_kept(&store, &Digest::of(&tampered_layer)));
    // The untampered archive loads into the same store.
    let report = load_bytes(&store, &good).expect("good archive");
    assert_eq!(report.images[0].0, img.id());
}

#[test]
fn repeated_and_empty_layers_get_one_snapshot_per_position() {
    require_root!();
    let (_tmp, store) = temp_store();
    let a = tar_of(&[Entry::File("a", b"a")]);
    let empty = tar_of(&[]);
    let b = tar_of(&[Entry::File("b", b"b")]);
    let img = Img::new(
        vec![a.clone(), empty.clone(), empty.clone(), b.clone()],
        &["x/dups:1"],
    );
    let report = load_bytes(&store, &docker_archive(std::slice::from_ref(&img))).expect("load");
    assert_eq!(report.images[0].0, img.id());
    let got = store.get(&img.id()).expect("get");
    assert_eq!(got.manifest.layers.len(), 4);
    let chains = got.chain_ids();
    assert_eq!(chains.len(), 4);
    for c in &chains {
        assert!(store.snapshots().exists(c), "{c}");
    }
    assert_eq!(store.snapshots().list().expect("list").len(), 4);
    let top = store.snapshots().layer_fs(&chains[3]);
    assert_eq!(std::fs::read(top.join("b")).expect("b"), b"b");
    assert_eq!(
        store
            .snapshots()
            .meta(&chains[2])
            .expect("meta")
            .parent
            .as_ref(),
        Some(&chains[1])
    );
}
