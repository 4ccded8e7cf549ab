//! `commit`: a container's writes (its overlay upper dir) become a new layer on top of its
//! image, deletions included, and the result runs as an image of its own.

use berth_image::{ContainerConfig, ImageStore, NewImage, Reference};
use berth_testutil::require_root;

use crate::common::{load_file, make_archive, temp_store, Unmount};

#[test]
fn commit_turns_a_containers_changes_into_a_layer() {
    require_root!();
    let (tmp, store) = temp_store();
    load_file(&store, &make_archive(tmp.path(), "a.tar", 4, 1));
    let base = store.resolve("bench/load:latest").expect("resolve");
    let mut guard = Unmount {
        store: &store,
        keys: vec!["c1".into()],
    };
    store.create_rootfs("c1", &base).expect("create");
    let merged = store.mount_rootfs("c1").expect("mount");
    std::fs::create_dir_all(merged.join("app")).unwrap();
    std::fs::write(merged.join("app/hello.txt"), b"committed").unwrap();
    std::fs::remove_file(merged.join("etc/passwd")).unwrap();
    store.unmount_rootfs("c1").expect("unmount");

    let new = NewImage {
        config: ContainerConfig {
            cmd: Some(vec!["/bin/sh".into()]),
            ..ContainerConfig::default()
        },
        comment: Some("my change".into()),
        author: Some("tester".into()),
        created_by: Some("berth commit c1".into()),
        created: 1_700_000_000,
        tag: Some(Reference::parse("mine/app:1").unwrap()),
    };
    let id = store.commit_rootfs("c1", &new).expect("commit");
    let img = store.get(&id).unwrap();
    let parent = store.get(&base).unwrap();
    assert_eq!(img.manifest.layers.len(), parent.manifest.layers.len() + 1);
    assert_eq!(img.config.history.len(), parent.config.history.len() + 1);
    assert_eq!(
        img.config.history.last().unwrap().comment.as_deref(),
        Some("my change")
    );
    assert_eq!(img.config.author.as_deref(), Some("tester"));
    assert_eq!(img.tags[0].familiar(), "mine/app:1");

    // The new image's rootfs: the file is there, the deleted one is gone, the rest remains.
    store.create_rootfs("c2", &id).expect("create from commit");
    guard.keys.push("c2".into());
    let m2 = store.mount_rootfs("c2").expect("mount");
    assert_eq!(
        std::fs::read(m2.join("app/hello.txt")).unwrap(),
        b"committed"
    );
    assert!(
        !m2.join("etc/passwd").exists(),
        "the deletion became an OCI whiteout"
    );
    assert!(m2.join("bin/busybox").is_file());
    drop(guard);

    // The same changes committed twice give the same layer (deterministic packing).
    let again = store.commit_rootfs("c1", &new).expect("commit again");
    let layers = |s: &ImageStore, id| s.get(id).unwrap().manifest.layers;
    assert_eq!(layers(&store, &again).last(), layers(&store, &id).last());
    for k in ["c1", "c2"] {
        store.remove_rootfs(k).expect("remove");
    }
}
