//! `berth system gc`: the automatic collection policy, shown, set and applied.

use berth_testutil::require_root;

use crate::Store;

#[test]
fn system_gc_sets_the_policy_and_evicts_dangling_images_over_the_limit() {
    require_root!();
    let s = Store::new();
    let tar = s.busybox_tar();
    // Defaults: 10 % free kept, dangling images only.
    let out = s.ok(&["system", "gc"]);
    assert!(
        out.starts_with("Policy: max size none, keep 10% free, evict dangling images\n"),
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
