//! image prune and system df.

use crate::{cells, check_table, short, Store};

#[test]
fn prune_all_reclaims_the_space() {
    berth_testutil::require_root!();
    let s = Store::new();
    s.ok(&["images"]); // creates the empty store
    let empty = s.du();
    s.load_bench();
    s.import(&s.busybox_tar(), &["my/bb:1"]);
    let full = s.du();
    assert!(full > empty + 4_000_000, "4 MB loaded: {empty} -> {full}");
    let out = s.ok(&["image", "prune", "-a", "-f"]);
    let last = out.lines().last().unwrap_or_default();
    assert!(last.starts_with("Total reclaimed space: "), "{out}");
    assert!(last.ends_with("MB"), "megabytes reclaimed: {out}");
    assert!(out.starts_with("Deleted Images:\n"), "{out}");
    assert!(out.contains("untagged: bench/load:latest\n"), "{out}");
    assert!(out.contains("untagged: my/bb:1\n"), "{out}");
    assert_eq!(s.ok(&["images", "-q"]), "");
    let after = s.du();
    assert!(
        after <= empty + 64 * 1024,
        "the store should shrink back near empty: empty {empty}, full {full}, after {after}"
    );
    // Nothing left: a second prune reclaims nothing.
    assert_eq!(
        s.ok(&["image", "prune", "-a", "-f"]),
        "Total reclaimed space: 0B\n"
    );
}

#[test]
fn prune_without_all_keeps_tagged_images() {
    berth_testutil::require_root!();
    let s = Store::new();
    let bench = s.load_bench();
    let tar = s.busybox_tar();
    let dangling = s.import(&tar, &["-m", "one", "my/bb:1"]);
    let kept = s.import(&tar, &["-m", "two", "my/bb:1"]);
    let out = s.ok(&["image", "prune", "-f"]);
    assert!(out.contains(&format!("deleted: {dangling}\n")), "{out}");
    assert!(!out.contains("untagged:"), "{out}");
    assert!(out
        .lines()
        .last()
        .unwrap_or_default()
        .starts_with("Total reclaimed space: "));
    let mut left: Vec<String> = s
        .ok(&["images", "-q"])
        .lines()
        .map(str::to_string)
        .collect();
    left.sort();
    let mut want = vec![short(&bench), short(&kept)];
    want.sort();
    assert_eq!(left, want);
}

#[test]
fn prune_label_filter_picks_only_matching() {
    berth_testutil::require_root!();
    let s = Store::new();
    let tar = s.busybox_tar();
    let gone = s.import(&tar, &["-c", "LABEL tier=tmp", "tmp:1"]);
    let kept = s.import(&tar, &["-c", "LABEL tier=keep", "keep:1"]);
    let out = s.ok(&["image", "prune", "-a", "-f", "--filter", "label=tier=tmp"]);
    assert!(out.contains(&format!("deleted: {gone}")), "{out}");
    assert_eq!(s.ok(&["images", "-q"]), format!("{}\n", short(&kept)));
    let r = s.fail(&["image", "prune", "-f", "--filter", "bogus=1"]);
    assert!(r.stderr.contains("bogus"), "{r:?}");
}

#[test]
fn system_df_counts_the_loaded_image() {
    berth_testutil::require_root!();
    let s = Store::new();
    let id = s.load_bench();
    let out = s.ok(&["system", "df"]);
    let header = out.lines().next().unwrap_or_default();
    assert_eq!(
        cells(header),
        ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
    );
    let table: String = out
        .lines()
        .take_while(|l| !l.starts_with("Total under"))
        .map(|l| format!("{l}\n"))
        .collect();
    let rows = check_table(&table, &["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]);
    let images = rows
        .iter()
        .find(|r| r[0] == "Images")
        .expect("an Images row");
    assert_eq!(images[1], "1", "{out}");
    assert_eq!(images[2], "0", "{out}");
    assert!(images[3].ends_with("MB"), "{out}");
    assert!(images[4].ends_with("(100%)"), "nothing uses it: {out}");
    assert!(rows.iter().any(|r| r[0] == "Containers"), "{out}");

    let v = s.ok(&["system", "df", "-v"]);
    assert!(v.starts_with(&out), "-v adds to the summary:\n{v}");
    let detail = v
        .lines()
        .skip_while(|l| !l.starts_with("IMAGE ID"))
        .collect::<Vec<_>>();
    assert_eq!(
        cells(detail.first().copied().unwrap_or_default()),
        [
            "IMAGE ID",
            "REPOSITORY:TAG",
            "SIZE",
            "SHARED SIZE",
            "UNIQUE SIZE",
            "CONTAINERS"
        ],
        "{v}"
    );
    assert_eq!(detail.len(), 2, "one image listed:\n{v}");
    let row = cells(detail[1]);
    assert_eq!(row[0], short(&id));
    assert_eq!(row[1], "bench/load:latest");
    assert_eq!(row[5], "0");
}

#[test]
fn system_df_on_an_empty_store() {
    berth_testutil::require_root!();
    let s = Store::new();
    let out = s.ok(&["system", "df"]);
    let images = out
        .lines()
        .map(cells)
        .find(|r| r[0] == "Images")
        .expect("Images row");
    assert_eq!(images[1..4], ["0", "0", "0B"], "{out}");
}
