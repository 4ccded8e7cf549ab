//! Container root filesystems: many overlays over one image's shared layers, and whiteouts.

use std::os::unix::fs::FileTypeExt;
use std::os::unix::fs::MetadataExt;

use berth_image::ImageStore;
use berth_testutil::{mounts_containing, require_root};

use crate::common::{
    count, docker_archive, du, load_bytes, load_file, make_archive, tar_of, temp_store, Entry, Img,
    Unmount,
};

fn assert_no_mounts(store: &ImageStore) {
    let root = store.root().to_str().expect("utf-8").to_string();
    assert_eq!(
        mounts_containing(&root),
        Vec::<String>::new(),
        "mounts left"
    );
}

#[test]
fn hundred_containers_share_one_image() {
    require_root!();
    let (tmp, store) = temp_store();
    let archive = make_archive(tmp.path(), "a.tar", 8, 2);
    let before_load = du(store.root());
    load_file(&store, &archive);
    let id = store.resolve("bench/load:latest").expect("resolve");
    let before = du(store.root());
    let image_size = before - before_load;
    assert!(
        image_size > 6 << 20,
        "an 8 MiB image (layers kept once, as tar-split), got {image_size}"
    );
    let expected_data = std::fs::metadata(
        store
            .snapshots()
            .layer_fs(&store.get(&id).expect("get").chain_ids()[1])
            .join("data/l1/a/f0.bin"),
    )
    .expect("data file")
    .len();

    let mut guard = Unmount {
        store: &store,
        keys: Vec::new(),
    };
    for i in 0..100 {
        let key = format!("c{i}");
        let r = store.create_rootfs(&key, &id).expect("create_rootfs");
        assert_eq!(r.lowers.len(), 3, "one lower dir per layer");
        let merged = store.mount_rootfs(&key).expect("mount_rootfs");
        guard.keys.push(key.clone());
        assert_eq!(merged, r.merged);
        std::fs::write(merged.join("tmp/mine"), format!("container {i}")).expect("write");
    }
    assert_eq!(store.rootfs_users().expect("users").len(), 100);
    for (i, key) in guard.keys.iter().enumerate() {
        let merged = store.rootfs(key).expect("rootfs").merged;
        let bb = std::fs::metadata(merged.join("bin/busybox")).expect("busybox visible");
        assert!(bb.len() > 100_000);
        let data = std::fs::metadata(merged.join("data/l1/a/f0.bin")).expect("data visible");
        assert_eq!(data.len(), expected_data);
        assert!(merged.join("data/l2").is_dir());
        // Its own file, and only its own.
        assert_eq!(
            std::fs::read_to_string(merged.join("tmp/mine")).expect("own file"),
            format!("container {i}")
        );
        let upper = store.rootfs(key).expect("rootfs").upper;
        assert_eq!(
            std::fs::read_to_string(upper.join("tmp/mine")).expect("in upper"),
            format!("container {i}")
        );
    }
    let after = du(store.root());
    let growth = after.saturating_sub(before);
    assert!(
        growth < image_size,
        "100 containers grew the store by {growth} bytes; the image is {image_size} (du -x \
         does not cross the overlay mounts)"
    );

    for key in std::mem::take(&mut guard.keys) {
        store.remove_rootfs(&key).expect("remove_rootfs");
    }
    assert_no_mounts(&store);
    assert!(store.rootfs_users().expect("users").is_empty());
    assert_eq!(count(&store.root().join("snapshots/rw")), 0);
    assert!(
        du(store.root()) <= before + 64 * 1024,
        "the containers' space came back"
    );
}

#[test]
fn deleting_a_lower_file_is_private_to_the_container() {
    require_root!();
    let (tmp, store) = temp_store();
    let archive = make_archive(tmp.path(), "a.tar", 8, 2);
    load_file(&store, &archive);
    let id = store.resolve("bench/load:latest").expect("resolve");
    let mut guard = Unmount {
        store: &store,
        keys: Vec::new(),
    };
    let mut merged = Vec::new();
    for key in ["one", "two"] {
        store.create_rootfs(key, &id).expect("create_rootfs");
        merged.push(store.mount_rootfs(key).expect("mount"));
        guard.keys.push(key.into());
    }
    std::fs::remove_file(merged[0].join("etc/passwd")).expect("rm passwd");
    std::fs::remove_dir_all(merged[0].join("data/l2")).expect("rm -r data/l2");
    assert!(!merged[0].join("etc/passwd").exists());
    assert!(!merged[0].join("data/l2").exists());
    assert!(
        merged[1].join("etc/passwd").is_file(),
        "still there in the other"
    );
    assert!(merged[1].join("data/l2").is_dir());
    // The image's layer is untouched; the deletion is an overlay whiteout in the upper dir.
    let chains = store.get(&id).expect("get").chain_ids();
    assert!(store
        .snapshots()
        .layer_fs(&chains[0])
        .join("etc/passwd")
        .is_file());
    let wh = std::fs::symlink_metadata(
        store
            .rootfs("one")
            .expect("rootfs")
            .upper
            .join("etc/passwd"),
    )
    .expect("whiteout in upper");
    assert!(
        wh.file_type().is_char_device() && wh.rdev() == 0,
        "a 0:0 whiteout"
    );
    // A new container sees the file again.
    store.create_rootfs("three", &id).expect("create_rootfs");
    let m3 = store.mount_rootfs("three").expect("mount");
    guard.keys.push("three".into());
    assert!(m3.join("etc/passwd").is_file());
    for key in std::mem::take(&mut guard.keys) {
        store.remove_rootfs(&key).expect("remove_rootfs");
    }
    assert_no_mounts(&store);
}

#[test]
fn image_whiteouts_hide_lower_layer_files() {
    require_root!();
    let (_tmp, store) = temp_store();
    let base = tar_of(&[
        Entry::Dir("d"),
        Entry::File("d/keep", b"keep"),
        Entry::File("d/gone", b"gone"),
        Entry::Dir("old"),
        Entry::File("old/x", b"x"),
    ]);
    let top = tar_of(&[
        Entry::Dir("d"),
        Entry::File("d/.wh.gone", b""),
        Entry::Dir("old"),
        Entry::File("old/.wh..wh..opq", b""),
        Entry::File("old/new", b"new"),
    ]);
    let img = Img::new(vec![base, top], &["x/wh:1"]);
    load_bytes(&store, &docker_archive(std::slice::from_ref(&img))).expect("load");
    let mut guard = Unmount {
        store: &store,
        keys: Vec::new(),
    };
    store.create_rootfs("w", &img.id()).expect("create_rootfs");
    let m = store.mount_rootfs("w").expect("mount");
    guard.keys.push("w".into());
    assert_eq!(std::fs::read(m.join("d/keep")).expect("keep"), b"keep");
    assert!(!m.join("d/gone").exists(), "file whiteout");
    assert!(
        !m.join("old/x").exists(),
        "opaque dir hides the lower content"
    );
    assert_eq!(std::fs::read(m.join("old/new")).expect("new"), b"new");
    store.remove_rootfs("w").expect("remove_rootfs");
    guard.keys.clear();
    assert_no_mounts(&store);
}
