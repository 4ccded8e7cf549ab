//! `images --filter`: dangling, label, reference, before, since.

use crate::{short, Store};

/// `images -q --filter F…`, one id a line, sorted.
fn ids(s: &Store, filters: &[&str]) -> Vec<String> {
    let mut args = vec!["images", "-q"];
    for f in filters {
        args.extend(["--filter", f]);
    }
    let mut v: Vec<String> = s.ok(&args).lines().map(str::to_string).collect();
    v.sort();
    v
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn dangling_lists_only_untagged_images() {
    berth_testutil::require_root!();
    let s = Store::new();
    let tar = s.busybox_tar();
    let old = s.import(&tar, &["-m", "first", "my/bb:1"]);
    // A new image under the same name leaves the first one without a tag.
    let new = s.import(&tar, &["-m", "second", "my/bb:1"]);
    assert_ne!(old, new);
    assert_eq!(ids(&s, &["dangling=true"]), [short(&old)]);
    assert_eq!(ids(&s, &["dangling=false"]), [short(&new)]);
    assert_eq!(
        s.ok(&[
            "images",
            "-f",
            "dangling=true",
            "--format",
            "{{.Repository}}:{{.Tag}}"
        ]),
        "<none>:<none>\n"
    );
}

#[test]
fn label_filter() {
    berth_testutil::require_root!();
    let s = Store::new();
    let tar = s.busybox_tar();
    let lab = s.import(&tar, &["-c", "LABEL a=b", "lab:1"]);
    let plain = s.import(&tar, &["-c", "LABEL a=c", "plain:1"]);
    assert_eq!(ids(&s, &["label=a=b"]), [short(&lab)]);
    assert_eq!(ids(&s, &["label=a=c"]), [short(&plain)]);
    assert_eq!(
        ids(&s, &["label=a"]),
        sorted(vec![short(&lab), short(&plain)])
    );
    assert!(ids(&s, &["label=zzz"]).is_empty());
    let v: serde_json::Value =
        serde_json::from_str(&s.ok(&["inspect", "lab:1"])).expect("inspect json");
    assert_eq!(v[0]["Config"]["Labels"]["a"], "b");
}

#[test]
fn reference_before_and_since() {
    berth_testutil::require_root!();
    let s = Store::new();
    // bench/load was created on 2024-01-01; the import is created now.
    let bench = s.load_bench();
    let bb = s.import(&s.busybox_tar(), &["my/bb:1"]);
    assert_eq!(ids(&s, &["reference=bench/*"]), [short(&bench)]);
    assert_eq!(ids(&s, &["reference=my/bb:1"]), [short(&bb)]);
    assert_eq!(
        ids(&s, &["reference=*/*"]),
        sorted(vec![short(&bench), short(&bb)])
    );
    assert!(ids(&s, &["reference=nothing*"]).is_empty());
    assert_eq!(ids(&s, &["before=my/bb:1"]), [short(&bench)]);
    assert_eq!(ids(&s, &["since=bench/load"]), [short(&bb)]);
    assert!(ids(&s, &["since=my/bb:1"]).is_empty());
    // Filters combine.
    assert!(ids(&s, &["reference=bench/*", "since=bench/load"]).is_empty());
}

#[test]
fn unknown_filter_is_an_error() {
    berth_testutil::require_root!();
    let s = Store::new();
    let r = s.fail(&["images", "-f", "colour=red"]);
    assert!(r.stderr.contains("colour"), "{r:?}");
}
