//! save, and load of what save wrote.

use std::process::Stdio;

use crate::Store;

#[test]
fn save_then_load_elsewhere_keeps_the_id() {
    berth_testutil::require_root!();
    let a = Store::new();
    let id = a.load_bench();
    let out = a.dir().join("saved.tar");
    assert_eq!(
        a.ok(&["save", "-o", out.to_str().unwrap_or_default(), "bench/load"]),
        ""
    );
    assert!(out.is_file());
    assert!(!a.dir().join("saved.berth-partial").exists());

    let b = Store::new();
    assert_eq!(
        b.ok(&["load", "-i", out.to_str().unwrap_or_default()]),
        "Loaded image: bench/load:latest\n"
    );
    assert_eq!(b.id("bench/load"), id);
}

#[test]
fn save_to_stdout_and_load_from_stdin() {
    berth_testutil::require_root!();
    let a = Store::new();
    let id = a.load_bench();
    let out = a.dir().join("piped.tar");
    let st = a
        .cmd(&["save", "bench/load:latest"])
        .stdout(Stdio::from(std::fs::File::create(&out).expect("create")))
        .status()
        .expect("spawn berth");
    assert!(st.success());
    let b = Store::new();
    let r = b
        .cmd(&["load"])
        .stdin(Stdio::from(std::fs::File::open(&out).expect("open")))
        .output()
        .expect("spawn berth");
    assert!(r.status.success(), "{r:?}");
    assert_eq!(
        String::from_utf8_lossy(&r.stdout),
        "Loaded image: bench/load:latest\n"
    );
    assert_eq!(b.id("bench/load"), id);
}

#[test]
fn save_of_an_unknown_image_leaves_no_file() {
    berth_testutil::require_root!();
    let s = Store::new();
    s.load_bench();
    let out = s.dir().join("out.tar");
    let r = s.fail(&[
        "save",
        "-o",
        out.to_str().unwrap_or_default(),
        "bench/load",
        "nope",
    ]);
    assert!(r.stderr.contains("nope"), "{r:?}");
    assert!(
        !out.exists(),
        "a failed save must not leave {}",
        out.display()
    );
    assert!(
        !s.dir().join("out.berth-partial").exists(),
        "nor its temp file"
    );
}
