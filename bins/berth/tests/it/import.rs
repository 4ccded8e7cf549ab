//! import (with --change and --message), inspect and history.

use std::process::Stdio;

use crate::{cells, short, Store};

fn inspect(s: &Store, name: &str) -> serde_json::Value {
    let v: serde_json::Value =
        serde_json::from_str(&s.ok(&["inspect", name])).expect("inspect prints JSON");
    let arr = v.as_array().expect("a JSON array");
    assert_eq!(arr.len(), 1);
    arr[0].clone()
}

#[test]
fn import_with_changes_and_message() {
    berth_testutil::require_root!();
    let s = Store::new();
    let tar = s.busybox_tar();
    let id = s.import(
        &tar,
        &[
            "-c",
            r#"CMD ["/bin/sh"]"#,
            "-c",
            "ENV A=1",
            "-m",
            "hello",
            "my/bb:1",
        ],
    );
    assert_eq!(s.id("my/bb:1"), id);
    let v = inspect(&s, "my/bb:1");
    assert_eq!(v["Id"], id.as_str());
    assert_eq!(v["RepoTags"], serde_json::json!(["my/bb:1"]));
    assert_eq!(v["Config"]["Cmd"], serde_json::json!(["/bin/sh"]));
    let env: Vec<String> = serde_json::from_value(v["Config"]["Env"].clone()).expect("Env");
    assert!(env.iter().any(|e| e == "A=1"), "Env {env:?}");
    assert_eq!(v["Os"], "linux");
    assert!(!v["Architecture"].as_str().unwrap_or_default().is_empty());
    assert_eq!(v["RootFS"]["Type"], "layers");
    assert_eq!(v["RootFS"]["Layers"].as_array().map(Vec::len), Some(1));
    assert!(
        v["Size"].as_u64().unwrap_or(0) > 1_000_000,
        "busybox is over 1 MB: {v}"
    );
    assert!(v["Created"].as_str().is_some_and(|c| c.starts_with("20")));
    assert!(v.get("Metadata").is_some());
    assert_eq!(
        s.ok(&["inspect", "-f", "{{.Config.Cmd}}", "my/bb:1"]),
        "[\"/bin/sh\"]\n"
    );

    let out = s.ok(&["history", "my/bb:1"]);
    let mut lines = out.lines();
    assert_eq!(
        cells(lines.next().unwrap_or_default()),
        ["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"]
    );
    let row = lines.next().unwrap_or_default();
    assert!(row.starts_with(&short(&id)), "{out}");
    assert!(row.trim_end().ends_with("hello"), "{out}");
    assert_eq!(lines.next(), None, "one history entry: {out}");
    assert_eq!(
        s.ok(&["history", "-q", "my/bb:1"]),
        format!("{}\n", short(&id))
    );
    assert!(s.ok(&["history", "--no-trunc", "my/bb:1"]).contains(&id));
}

#[test]
fn import_from_stdin() {
    berth_testutil::require_root!();
    let s = Store::new();
    let tar = s.busybox_tar();
    let out = s
        .cmd(&["import", "-", "from/stdin"])
        .stdin(Stdio::from(std::fs::File::open(&tar).expect("open tar")))
        .output()
        .expect("spawn berth");
    assert!(out.status.success(), "{out:?}");
    let id = String::from_utf8_lossy(&out.stdout).trim_end().to_string();
    crate::assert_full_id(&id);
    assert_eq!(s.id("from/stdin:latest"), id);
    // The same tar from a file makes the same layer.
    let v = inspect(&s, "from/stdin");
    let id2 = s.import(&tar, &["from/file"]);
    assert_eq!(inspect(&s, "from/file")["RootFS"], v["RootFS"]);
    assert_eq!(s.id("from/file"), id2);
}

#[test]
fn import_without_a_reference_is_dangling() {
    berth_testutil::require_root!();
    let s = Store::new();
    let id = s.import(&s.busybox_tar(), &[]);
    assert_eq!(
        s.ok(&["images", "--format", "{{.Repository}} {{.Tag}} {{.ID}}"]),
        format!("<none> <none> {}\n", short(&id))
    );
    assert_eq!(inspect(&s, &id)["RepoTags"], serde_json::json!([]));
}

#[test]
fn import_rejects_a_change_it_cannot_apply() {
    berth_testutil::require_root!();
    let s = Store::new();
    let tar = s.busybox_tar();
    let r = s.fail(&[
        "import",
        tar.to_str().unwrap_or_default(),
        "-c",
        "RUN x",
        "bad/run",
    ]);
    assert!(r.stderr.contains("RUN"), "{r:?}");
    assert_eq!(r.stdout, "");
    assert_eq!(s.ok(&["images", "-q"]), "", "nothing imported");
}

#[test]
fn inspect_unknown_fails_but_prints_the_known() {
    berth_testutil::require_root!();
    let s = Store::new();
    let id = s.import(&s.busybox_tar(), &["known"]);
    let r = s.fail(&["inspect", "-f", "{{.Id}}", "known", "unknown"]);
    assert_eq!(r.stdout, format!("{id}\n"));
    assert!(r.stderr.contains("No such image: unknown"), "{r:?}");
}
