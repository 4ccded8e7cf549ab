//! `fsck`: every blob hashes to its name, every unpacked layer rebuilds to its diff id; what
//! does not is found, and removed on repair.

use berth_testutil::require_root;

use crate::common::{load_file, temp_store};

#[test]
fn fsck_finds_tampered_layers_and_blobs_and_repairs() {
    require_root!();
    let (tmp, store) = temp_store();
    load_file(
        &store,
        &crate::common::make_archive(tmp.path(), "a.tar", 4, 1),
    );
    let id = store.resolve("bench/load:latest").unwrap();
    assert!(store.fsck(false).unwrap().is_clean());
    // One file of the top layer changed behind the store's back, and the config blob flipped.
    let img = store.get(&id).unwrap();
    let top = store.snapshots().layer_fs(img.chain_ids().last().unwrap());
    let victim = std::fs::read_dir(top.join("data/l1/a"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(&victim, b"tampered").unwrap();
    let manifest = store.content().blob_path(&img.record.target.digest);
    std::fs::write(&manifest, b"{}").unwrap();
    let report = store.fsck(false).unwrap();
    assert_eq!(
        report.corrupt_blobs,
        vec![img.record.target.digest.clone()],
        "{report:?}"
    );
    assert_eq!(report.corrupt_layers.len(), 1, "{report:?}");
    assert!(
        report.corrupt_layers[0].1.contains("changed")
            || report.corrupt_layers[0].1.contains("shrank"),
        "{report:?}"
    );
    let repaired = store.fsck(true).unwrap();
    assert_eq!(
        repaired.incomplete_images.len(),
        1,
        "the image lost a layer: {repaired:?}"
    );
    assert!(!store.snapshots().exists(&report.corrupt_layers[0].0));
    assert!(!manifest.exists(), "the corrupt blob was removed");
    assert!(store.fsck(false).unwrap().corrupt_blobs.is_empty());
}
