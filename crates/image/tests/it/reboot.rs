//! Layers are not synced at commit; after a reboot, layers written unsynced in the previous
//! boot are rebuilt and checked against their diff id before use: kept if intact, removed if
//! the power cut damaged them. The reboot is simulated by marking a layer with another boot id.

use berth_image::{ImageStore, SnapshotMeta};
use berth_testutil::require_root;

use crate::common::{load_file, make_archive, temp_store};

fn set_boot(store: &ImageStore, chain: &berth_image::Digest, boot: Option<&str>) {
    let path = store
        .snapshots()
        .layer_fs(chain)
        .with_file_name("meta.json");
    let mut meta: SnapshotMeta = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    meta.unsynced_boot = boot.map(str::to_string);
    std::fs::write(&path, serde_json::to_vec(&meta).unwrap()).unwrap();
}

#[test]
fn layers_from_an_earlier_boot_are_verified_on_open() {
    require_root!();
    let (tmp, store) = temp_store();
    let archive = make_archive(tmp.path(), "a.tar", 4, 1);
    load_file(&store, &archive);
    let id = store.resolve("bench/load:latest").unwrap();
    let chains = store.get(&id).unwrap().chain_ids();
    let top = chains.last().unwrap().clone();
    // Written in this boot: marked, and left alone by a reopen.
    let meta = store.snapshots().meta(&top).unwrap();
    let this_boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    assert_eq!(meta.unsynced_boot.as_deref(), Some(this_boot.trim()));

    // "After a reboot", intact: verified, the mark is cleared, the layer stays.
    set_boot(&store, &top, Some("an-earlier-boot"));
    let store = ImageStore::open(store.root()).unwrap();
    assert!(store.snapshots().exists(&top));
    assert_eq!(store.snapshots().meta(&top).unwrap().unsynced_boot, None);
    assert!(store.fsck(false).unwrap().is_clean());

    // "After a power cut" that lost data of a file: the layer is removed, fsck says so.
    set_boot(&store, &top, Some("an-earlier-boot"));
    let data = store.snapshots().layer_fs(&top).join("data/l1/a");
    let victim = std::fs::read_dir(&data)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::File::create(&victim).unwrap().set_len(0).unwrap();
    let store = ImageStore::open(store.root()).unwrap();
    assert!(
        !store.snapshots().exists(&top),
        "a damaged layer is not kept"
    );
    let report = store.fsck(false).unwrap();
    assert_eq!(report.incomplete_images.len(), 1, "{report:?}");
    // Loading the image again repairs it.
    load_file(&store, &archive);
    assert!(store.fsck(false).unwrap().is_clean());
}
