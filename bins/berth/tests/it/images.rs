//! load, images (ls), tag and rmi.

use crate::{check_table, docker_header, short, Store, IMAGES_HEADER};

#[test]
fn empty_store_prints_dockers_exact_header() {
    berth_testutil::require_root!();
    let s = Store::new();
    // Docker's tabwriter pads every column but the last to at least 10.
    assert_eq!(
        s.ok(&["images"]),
        "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n"
    );
    assert_eq!(s.ok(&["images", "-q"]), "");
}

#[test]
fn load_then_images_shows_one_aligned_row_with_the_short_id() {
    berth_testutil::require_root!();
    let s = Store::new();
    let id = s.load_bench();
    let out = s.ok(&["images"]);
    let rows = check_table(&out, &IMAGES_HEADER);
    assert_eq!(rows.len(), 1, "{out}");
    let r = &rows[0];
    assert_eq!(r.len(), 5, "{out}");
    assert_eq!(
        &r[..3],
        ["bench/load".to_string(), "latest".to_string(), short(&id)]
    );
    assert_eq!(r[2].len(), 12);
    assert!(r[3].ends_with(" ago"), "CREATED {:?}", r[3]);
    assert!(r[4].ends_with("MB"), "SIZE {:?}", r[4]);
    let header = out.lines().next().unwrap_or_default();
    assert_eq!(header, docker_header(&IMAGES_HEADER, &rows));
    // `image ls` is the same verb.
    assert_eq!(s.ok(&["image", "ls"]), out);
}

#[test]
fn load_quiet_prints_nothing() {
    berth_testutil::require_root!();
    let s = Store::new();
    let a = s.archive("a.tar");
    assert_eq!(
        s.ok(&["load", "-q", "-i", a.to_str().unwrap_or_default()]),
        ""
    );
    assert_eq!(
        s.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]),
        "bench/load:latest\n"
    );
}

#[test]
fn quiet_no_trunc_and_format() {
    berth_testutil::require_root!();
    let s = Store::new();
    let id = s.load_bench();
    s.ok(&["tag", "bench/load", "other/name:v2"]);
    // One id even though two rows name it.
    assert_eq!(s.ok(&["images", "-q"]), format!("{}\n", short(&id)));
    assert_eq!(s.ok(&["images", "-q", "--no-trunc"]), format!("{id}\n"));
    let out = s.ok(&["images", "--no-trunc"]);
    let rows = check_table(&out, &IMAGES_HEADER);
    assert_eq!(rows.len(), 2, "{out}");
    assert!(rows.iter().all(|r| r[2] == id), "{out}");
    let mut names: Vec<String> = s
        .ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .lines()
        .map(str::to_string)
        .collect();
    names.sort();
    assert_eq!(names, ["bench/load:latest", "other/name:v2"]);
    assert_eq!(
        s.ok(&["images", "--format", "{{.ID}}\\t{{.Tag}}", "other/name"]),
        format!("{}\tv2\n", short(&id))
    );
}

#[test]
fn tag_shows_both_tags_with_the_same_id() {
    berth_testutil::require_root!();
    let s = Store::new();
    let id = s.load_bench();
    assert_eq!(s.ok(&["tag", "bench/load:latest", "bench/load:two"]), "");
    let out = s.ok(&["images", "bench/load"]);
    let rows = check_table(&out, &IMAGES_HEADER);
    let mut tags: Vec<&str> = rows.iter().map(|r| r[1].as_str()).collect();
    tags.sort_unstable();
    assert_eq!(tags, ["latest", "two"], "{out}");
    assert!(rows
        .iter()
        .all(|r| r[0] == "bench/load" && r[2] == short(&id)));
    // REPO:TAG narrows to one row.
    let one = check_table(&s.ok(&["images", "bench/load:two"]), &IMAGES_HEADER);
    assert_eq!(one.len(), 1);
    assert_eq!(one[0][1], "two");
    assert_eq!(s.id("bench/load:two"), id);
    let inspect: serde_json::Value =
        serde_json::from_str(&s.ok(&["inspect", "bench/load"])).expect("inspect json");
    let mut tags: Vec<String> =
        serde_json::from_value(inspect[0]["RepoTags"].clone()).expect("tags");
    tags.sort();
    assert_eq!(tags, ["bench/load:latest", "bench/load:two"]);
}

#[test]
fn rmi_untags_then_deletes() {
    berth_testutil::require_root!();
    let s = Store::new();
    let id = s.load_bench();
    s.ok(&["tag", "bench/load", "x/y:z"]);
    assert_eq!(s.ok(&["rmi", "x/y:z"]), "Untagged: x/y:z\n");
    assert_eq!(s.id("bench/load"), id, "the image stays");
    let out = s.ok(&["rmi", "bench/load"]);
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("Untagged: bench/load:latest"));
    let deleted: Vec<&str> = lines.collect();
    assert_eq!(
        deleted.first().copied(),
        Some(format!("Deleted: {id}").as_str()),
        "{out}"
    );
    for l in &deleted {
        let d = l
            .strip_prefix("Deleted: ")
            .unwrap_or_else(|| panic!("{l:?}"));
        crate::assert_full_id(d);
    }
    assert_eq!(s.ok(&["images", "-q"]), "");
    assert_eq!(s.ok(&["images"]).lines().count(), 1);
}

#[test]
fn rmi_unknown_is_dockers_no_such_image() {
    berth_testutil::require_root!();
    let s = Store::new();
    let r = s.fail(&["rmi", "nope"]);
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr.contains("No such image: nope:latest"),
        "stderr: {:?}",
        r.stderr
    );
    // One failure does not stop the others, and still exits 1.
    s.load_bench();
    let r = s.fail(&["rmi", "nope:1", "bench/load"]);
    assert!(r.stderr.contains("No such image: nope:1"), "{r:?}");
    assert!(
        r.stdout.starts_with("Untagged: bench/load:latest\n"),
        "{r:?}"
    );
}

#[test]
fn rmi_by_id_with_two_tags_needs_force() {
    berth_testutil::require_root!();
    let s = Store::new();
    let id = s.load_bench();
    s.ok(&["tag", "bench/load", "bench/load:b"]);
    let r = s.fail(&["rmi", &short(&id)]);
    assert!(r.stderr.contains("must be forced"), "{r:?}");
    assert_eq!(s.ok(&["images", "-q"]), format!("{}\n", short(&id)));
    let out = s.ok(&["rmi", "-f", &short(&id)]);
    let mut untagged: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("Untagged: "))
        .collect();
    untagged.sort_unstable();
    assert_eq!(
        untagged,
        ["Untagged: bench/load:b", "Untagged: bench/load:latest"],
        "{out}"
    );
    assert!(out.contains(&format!("Deleted: {id}\n")), "{out}");
    assert_eq!(s.ok(&["images", "-q"]), "");
}
