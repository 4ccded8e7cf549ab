//! `berth system gc`: the automatic collection policy, shown, set and applied.

use berth_testutil::require_root;

use crate::Store;

#[test]
fn system_gc_sets_the_policy_and_evicts_dangling_images_over_the_limit() {
    require_root!();
    let s = Store::new();
    let tar = s.busybox_tar();
    // Defaults (the harness pins a policy; without one the defaults apply): 10 % free kept,
    // dangling images only.
    std::fs::remove_file(s.root().join("gc-policy.json")).expect("unpin the policy");
    let out = s.ok(&["system", "gc"]);
    assert!(
        out.starts_with("Policy: max size none, keep 10% free, evict dangling images\n"),
        "{out}"
    );
    // No free-space limit, so what follows does not depend on how full the host's disk is.
    let out = s.ok(&["system", "gc", "--min-free", "0"]);
    assert!(
        out.starts_with("Policy: max size none, keep 0% free"),
        "{out}"
    );
    // Two imports under one tag: the first becomes dangling.
    let old = s.import(&tar, &["my/bb:1"]);
    s.import(&tar, &["-m", "second", "my/bb:1"]);
    let kept = s.import(&tar, &["-m", "third", "other/bb:1"]);
    assert!(s.ok(&["images", "-q", "--no-trunc"]).contains(&old));
    // A 1 kB cap: the dangling image goes, tagged ones stay (not --include-tagged).
    let out = s.ok(&["system", "gc", "--max-size", "1kB", "--min-free", "0"]);
    assert!(out.contains(&format!("deleted: {old}")), "{out}");
    let ids = s.ok(&["images", "-q", "--no-trunc"]);
    assert!(!ids.contains(&old) && ids.contains(&kept), "{ids}");
    // The policy persists and applies after later imports too; --off stops it.
    let out = s.ok(&["system", "gc", "--off"]);
    assert!(
        out.starts_with("Policy: max size none, keep 0% free"),
        "{out}"
    );
    let r = s.run(&["system", "gc", "--max-size", "lots"]);
    assert!(!r.ok && r.stderr.contains("invalid size"), "{r:?}");
}

#[test]
fn system_fsck_reports_a_clean_store_and_a_tampered_one() {
    require_root!();
    let s = Store::new();
    s.load_bench();
    let out = s.ok(&["system", "fsck"]);
    assert!(out.ends_with("No problems found\n"), "{out}");
    // Damage one unpacked file of the image.
    let layers = s.root().join("snapshots/layers");
    let layer = std::fs::read_dir(&layers)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let busybox = layer.join("fs/bin/busybox");
    if busybox.exists() {
        std::fs::write(&busybox, b"not busybox").unwrap();
    } else {
        let data = std::fs::read_dir(layer.join("fs/data/l1/a"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        std::fs::write(data.path(), b"x").unwrap();
    }
    let r = s.run(&["system", "fsck"]);
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stdout.contains("corrupt layer: sha256:"), "{r:?}");
}
