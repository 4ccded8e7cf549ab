//! Removal, garbage collection, prune, disk usage against the real `du`, and the LRU policy.

use berth_image::{
    chain_ids, Digest, GcPolicy, ImageError, ImageStore, LabelFilter, PruneOptions, RemoveEvent,
};
use berth_testutil::require_root;

use crate::common::{
    count, data_layer, docker_archive, du, layer_kept, load_bytes, load_file, make_archive, tar_of,
    temp_store, Entry, Img, Unmount,
};

fn blobs_dir(store: &ImageStore) -> std::path::PathBuf {
    store.root().join("content/blobs/sha256")
}

fn layers_dir(store: &ImageStore) -> std::path::PathBuf {
    store.root().join("snapshots/layers")
}

/// The ids of the store's images, sorted.
fn ids(store: &ImageStore) -> Vec<Digest> {
    sorted(
        store
            .list()
            .expect("list")
            .iter()
            .map(|i| i.id().clone())
            .collect(),
    )
}

fn sorted(mut v: Vec<Digest>) -> Vec<Digest> {
    v.sort();
    v
}

fn assert_store_empty(store: &ImageStore) {
    assert!(store.list().expect("list").is_empty());
    assert_eq!(count(&blobs_dir(store)), 0, "content blobs dir is empty");
    assert_eq!(count(&layers_dir(store)), 0, "snapshots/layers is empty");
}

#[test]
fn rmi_keeps_shared_layers_until_the_last_image_goes() {
    require_root!();
    let (_tmp, store) = temp_store();
    let base = tar_of(&[Entry::Dir("etc"), Entry::File("etc/base", b"base layer")]);
    let one_top = tar_of(&[Entry::File("one", b"first image")]);
    let two_top = tar_of(&[Entry::File("two", b"second image")]);
    let one = Img::new(vec![base.clone(), one_top.clone()], &["x/one:1"]);
    let two = Img::new(vec![base.clone(), two_top.clone()], &["x/two:1"]);
    load_bytes(&store, &docker_archive(&[one.clone(), two.clone()])).expect("load");
    assert_eq!(store.list().expect("list").len(), 2);
    let chains_one = chain_ids(&[Digest::of(&base), Digest::of(&one_top)]);
    let chains_two = chain_ids(&[Digest::of(&base), Digest::of(&two_top)]);
    assert_eq!(chains_one[0], chains_two[0], "the base is one snapshot");
    assert_eq!(count(&layers_dir(&store)), 3);

    let events = store.remove("x/one:1", false).expect("rmi one");
    assert!(
        events.contains(&RemoveEvent::Untagged("x/one:1".into())),
        "{events:?}"
    );
    assert!(
        events.contains(&RemoveEvent::Deleted(one.id())),
        "{events:?}"
    );
    assert!(
        events.contains(&RemoveEvent::Deleted(chains_one[1].clone())),
        "{events:?}"
    );
    assert!(
        !events.contains(&RemoveEvent::Deleted(chains_one[0].clone())),
        "{events:?}"
    );
    assert!(matches!(
        store.resolve("x/one:1"),
        Err(ImageError::ImageNotFound { .. })
    ));
    // The other image is whole: its files, blobs and layers.
    let base_fs = store.snapshots().layer_fs(&chains_two[0]);
    assert_eq!(
        std::fs::read(base_fs.join("etc/base")).expect("base"),
        b"base layer"
    );
    let top_fs = store.snapshots().layer_fs(&chains_two[1]);
    assert_eq!(
        std::fs::read(top_fs.join("two")).expect("two"),
        b"second image"
    );
    assert!(!store.snapshots().exists(&chains_one[1]));
    assert!(!layers_dir(&store).join(chains_one[1].hex()).exists());
    for d in [Digest::of(&base), Digest::of(&two_top), two.id()] {
        assert!(layer_kept(&store, &d), "{d} kept");
    }
    for d in [Digest::of(&one_top), one.id()] {
        assert!(!layer_kept(&store, &d), "{d} removed");
    }
    let img = store.get(&two.id()).expect("get two");
    assert!(
        store.content().exists(&img.record.target.digest),
        "manifest kept"
    );
    assert_eq!(
        store.content().verify_all().expect("verify"),
        Vec::<Digest>::new()
    );

    store.remove("x/two:1", false).expect("rmi two");
    assert_store_empty(&store);
}

#[test]
fn image_used_by_a_rootfs_needs_force_and_keeps_its_layers() {
    require_root!();
    let (_tmp, store) = temp_store();
    let img = Img::new(vec![tar_of(&[Entry::File("f", b"in use")])], &["x/used:1"]);
    load_bytes(&store, &docker_archive(std::slice::from_ref(&img))).expect("load");
    let id = img.id();
    let chain = store.get(&id).expect("get").chain_ids()[0].clone();
    let rootfs = store.create_rootfs("c1", &id).expect("create_rootfs");
    assert_eq!(rootfs.image, id);
    assert_eq!(
        store.rootfs_users().expect("users"),
        [("c1".to_string(), id.clone())]
    );

    let again = store
        .create_rootfs("c1", &id)
        .expect_err("the key is taken");
    assert!(matches!(again, ImageError::Conflict { .. }), "{again:?}");
    let bad = store
        .create_rootfs("../c2", &id)
        .expect_err("a key with a slash");
    assert!(matches!(bad, ImageError::InvalidKey { .. }), "{bad:?}");
    let err = store.remove("x/used:1", false).expect_err("in use");
    assert!(matches!(err, ImageError::Conflict { .. }), "{err:?}");
    assert!(err.to_string().contains("c1"), "names the container: {err}");
    assert_eq!(store.resolve("x/used:1").expect("still tagged"), id);

    let events = store.remove("x/used:1", true).expect("forced");
    assert_eq!(events, [RemoveEvent::Untagged("x/used:1".into())]);
    let kept = store.get(&id).expect("record kept");
    assert!(kept.is_dangling());
    // Neither gc nor prune touches what a container uses.
    store.gc().expect("gc");
    store
        .prune(&PruneOptions {
            all: true,
            ..PruneOptions::default()
        })
        .expect("prune");
    assert!(store.snapshots().exists(&chain));
    assert!(store.content().exists(&id));
    assert_eq!(
        std::fs::read(store.snapshots().layer_fs(&chain).join("f")).expect("f"),
        b"in use"
    );

    store.remove_rootfs("c1").expect("remove_rootfs");
    assert!(store.rootfs_users().expect("users").is_empty());
    let report = store
        .prune(&PruneOptions::default())
        .expect("prune dangling");
    assert!(
        report.events.contains(&RemoveEvent::Deleted(id.clone())),
        "{report:?}"
    );
    assert!(report.space_reclaimed > 0);
    assert_store_empty(&store);
}

#[test]
fn prune_dangling_or_all_with_label_filters() {
    require_root!();
    let (_tmp, store) = temp_store();
    let mk = |seed: u8, tags: &[&str], env: Option<&str>| {
        let img = Img::new(vec![data_layer("d", seed, 4096)], tags);
        match env {
            Some(e) => img.label("env", e),
            None => img,
        }
    };
    let dangling_dev = mk(1, &[], Some("dev"));
    let dangling_prod = mk(2, &[], Some("prod"));
    let tagged_dev = mk(3, &["x/dev:1"], Some("dev"));
    let tagged_plain = mk(4, &["x/plain:1"], None);
    let all = [
        dangling_dev.clone(),
        dangling_prod.clone(),
        tagged_dev.clone(),
        tagged_plain.clone(),
    ];
    let report = load_bytes(&store, &docker_archive(&all)).expect("load");
    assert_eq!(report.images.len(), 4);
    assert_eq!(store.list().expect("list").len(), 4);
    // until= before their creation (2024-01-01): nothing qualifies.
    let r = store
        .prune(&PruneOptions {
            all: true,
            until: Some(1_600_000_000),
            ..PruneOptions::default()
        })
        .expect("prune until");
    assert!(r.events.is_empty(), "{r:?}");
    assert_eq!(store.list().expect("list").len(), 4);

    // Dangling only, label env=dev: only the dangling dev image.
    let r = store
        .prune(&PruneOptions {
            labels: vec![LabelFilter::parse("env=dev", false)],
            ..PruneOptions::default()
        })
        .expect("prune");
    assert!(
        r.events.contains(&RemoveEvent::Deleted(dangling_dev.id())),
        "{r:?}"
    );
    assert_eq!(
        ids(&store),
        sorted(vec![dangling_prod.id(), tagged_dev.id(), tagged_plain.id()])
    );
    assert!(!layer_kept(&store, &Digest::of(&dangling_dev.layers[0])));

    // All, label!=env=prod: the tagged ones (dev and unlabelled), not the prod one.
    let r = store
        .prune(&PruneOptions {
            all: true,
            labels: vec![LabelFilter::parse("env=prod", true)],
            ..PruneOptions::default()
        })
        .expect("prune -a");
    assert!(
        r.events.contains(&RemoveEvent::Untagged("x/dev:1".into())),
        "{r:?}"
    );
    assert_eq!(ids(&store), [dangling_prod.id()]);

    // Dangling only, no filter: the prod one; then nothing is left.
    store.prune(&PruneOptions::default()).expect("prune");
    assert_store_empty(&store);
}

#[test]
fn disk_usage_matches_du_and_prune_all_returns_the_space() {
    require_root!();
    let (tmp, store) = temp_store();
    let empty = ImageStore::open(tmp.path().join("empty")).expect("open");
    let empty_du = du(empty.root());
    let archive = make_archive(tmp.path(), "a.tar", 8, 2);
    load_file(&store, &archive);
    let id = store.resolve("bench/load").expect("resolve");
    let mut guard = Unmount {
        store: &store,
        keys: vec![],
    };
    store.create_rootfs("c1", &id).expect("create_rootfs");
    let merged = store.mount_rootfs("c1").expect("mount");
    guard.keys.push("c1".into());
    std::fs::write(merged.join("written"), vec![7u8; 100_000]).expect("write");

    let usage = store.disk_usage().expect("disk_usage");
    let real = du(store.root());
    assert_eq!(
        usage.total_bytes, real,
        "disk_usage().total_bytes vs du -sB1 -x"
    );
    assert_eq!(
        usage.images_bytes
            + usage.unreferenced_bytes
            + usage.containers_bytes
            + usage.metadata_bytes,
        usage.total_bytes,
        "the categories add up: {usage:?}"
    );
    assert_eq!(usage.containers, 1);
    assert!(usage.containers_bytes >= 100_000, "{usage:?}");
    assert!(
        usage.images_bytes > 8 << 20,
        "layers of 8 MiB (plain layers are kept once, as tar-split): {usage:?}"
    );
    assert_eq!(
        usage.images_reclaimable, 0,
        "its container uses the only image"
    );
    assert_eq!(usage.unreferenced_bytes, 0);
    assert_eq!(usage.images.len(), 1);
    assert_eq!(usage.images[0].containers, 1);

    store.remove_rootfs("c1").expect("remove_rootfs");
    let usage = store.disk_usage().expect("disk_usage");
    assert_eq!(usage.total_bytes, du(store.root()));
    assert_eq!(usage.images_reclaimable, usage.images_bytes);

    let r = store
        .prune(&PruneOptions {
            all: true,
            ..PruneOptions::default()
        })
        .expect("prune -a");
    let after = du(store.root());
    assert!(
        after <= empty_du + 64 * 1024,
        "after prune -a the store takes {after} bytes, an empty one {empty_du}"
    );
    assert!(
        r.space_reclaimed >= real - after - 200_000,
        "{r:?} (du {real} → {after})"
    );
    assert_store_empty(&store);
    drop(guard);
}

#[test]
fn enforce_evicts_least_recently_used_unused_images_first() {
    require_root!();
    let (_tmp, store) = temp_store();
    const MIB: usize = 1 << 20;
    // Creation dates opposite to use order, so evicting by age would pick the wrong one.
    let mk = |seed: u8, tag: &[&str], created: &str| {
        let mut img = Img::new(vec![data_layer("d", seed, MIB)], tag);
        img.created = created.into();
        img
    };
    let a = mk(1, &["x/a:1"], "2024-03-01T00:00:00Z");
    let b = mk(2, &["x/b:1"], "2024-02-01T00:00:00Z");
    let c = mk(3, &["x/c:1"], "2024-01-01T00:00:00Z");
    load_bytes(&store, &docker_archive(&[a.clone(), b.clone(), c.clone()])).expect("load");
    for img in [&a, &b, &c] {
        std::thread::sleep(std::time::Duration::from_millis(1100));
        store.touch(&img.id()).expect("touch");
    }
    let size = du(store.root());

    // Under the limit: nothing happens.
    let r = store
        .enforce(&limit(size + MIB as u64, true))
        .expect("enforce");
    assert!(r.events.is_empty());
    // Tagged images are kept without include_tagged.
    let r = store.enforce(&limit(0, false)).expect("enforce");
    assert!(r.events.is_empty(), "{r:?}");
    assert_eq!(ids(&store).len(), 3);

    // One image's worth (its 1 MiB layer, kept once as tar-split) over: the least recently
    // used (a) goes.
    let r = store
        .enforce(&limit(size - MIB as u64, true))
        .expect("enforce");
    assert!(r.events.contains(&RemoveEvent::Deleted(a.id())), "{r:?}");
    assert_eq!(ids(&store), sorted(vec![b.id(), c.id()]));
    assert!(du(store.root()) <= size - MIB as u64);
    assert!(r.space_reclaimed >= MIB as u64, "{r:?}");

    // A dangling image goes before tagged ones, even when just used; a used one never goes.
    let d = mk(4, &[], "2024-04-01T00:00:00Z");
    load_bytes(&store, &docker_archive(std::slice::from_ref(&d))).expect("load d");
    store.create_rootfs("keep-b", &b.id()).expect("rootfs on b");
    let size = du(store.root());
    store
        .enforce(&limit(size - MIB as u64, true))
        .expect("enforce");
    assert_eq!(
        ids(&store),
        sorted(vec![b.id(), c.id()]),
        "dangling d first"
    );
    store.enforce(&limit(0, true)).expect("enforce");
    assert_eq!(ids(&store), [b.id()], "b is used by a container");
    store.remove_rootfs("keep-b").expect("remove_rootfs");
    store.enforce(&limit(0, true)).expect("enforce");
    assert_store_empty(&store);
}

/// A size policy without the free-space rule (which depends on the host's disk).
fn limit(max_bytes: u64, include_tagged: bool) -> GcPolicy {
    GcPolicy {
        max_bytes,
        min_free_percent: 0,
        include_tagged,
    }
}
