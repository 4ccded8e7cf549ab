//! Choosing and placing the manager from what detection found.

use berth_types::ErrorKind;

use super::*;

fn v1_host() -> Vec<Hierarchy> {
    vec![
        Hierarchy::v1("/sys/fs/cgroup/cpu", &["cpu"]),
        Hierarchy::v1("/sys/fs/cgroup/memory", &["memory"]),
        Hierarchy {
            mountpoint: "/sys/fs/cgroup/unified".into(),
            kind: HierarchyKind::V2,
        },
    ]
}

fn v2_host() -> Vec<Hierarchy> {
    vec![Hierarchy {
        mountpoint: "/sys/fs/cgroup".into(),
        kind: HierarchyKind::V2,
    }]
}

fn v1(m: AnyCgroupManager) -> V1Manager {
    match m {
        AnyCgroupManager::V1(m) => m,
        AnyCgroupManager::V2(_) => panic!("expected the v1 manager"),
    }
}

#[test]
fn default_path_and_hybrid_uses_v1() {
    let own = OwnCgroups::default();
    let m =
        v1(AnyCgroupManager::resolve(CgroupSetup::Hybrid, v1_host(), &own, None, "abc").unwrap());
    assert_eq!(m.path(), Path::new("/berth/abc"));
    assert_eq!(
        m.dir("memory").unwrap(),
        Path::new("/sys/fs/cgroup/memory/berth/abc")
    );
    assert_eq!(
        m.dirs().count(),
        2,
        "the cgroup2 mount of a hybrid host is not used"
    );
    let m = AnyCgroupManager::resolve(
        CgroupSetup::Legacy,
        v1_host(),
        &own,
        Some(Path::new("")),
        "abc",
    )
    .unwrap();
    assert_eq!(
        m.path(),
        Path::new("/berth/abc"),
        "empty cgroupsPath means unset"
    );
}

#[test]
fn absolute_and_relative_paths_on_v1() {
    let own = OwnCgroups::parse("4:memory:/process_api/xyz\n1:cpu:/\n0::/\n").unwrap();
    let abs = Some(Path::new("/custom/c1"));
    let m = v1(AnyCgroupManager::resolve(CgroupSetup::Legacy, v1_host(), &own, abs, "c1").unwrap());
    assert_eq!(
        m.dir("memory").unwrap(),
        Path::new("/sys/fs/cgroup/memory/custom/c1")
    );
    let rel = Some(Path::new("sub/c1"));
    let m = v1(AnyCgroupManager::resolve(CgroupSetup::Legacy, v1_host(), &own, rel, "c1").unwrap());
    assert_eq!(
        m.dir("memory").unwrap(),
        Path::new("/sys/fs/cgroup/memory/process_api/xyz/sub/c1")
    );
    assert_eq!(
        m.dir("cpu").unwrap(),
        Path::new("/sys/fs/cgroup/cpu/sub/c1")
    );
    assert_eq!(
        m.path(),
        Path::new("/sub/c1"),
        "resolved in the first hierarchy (cpu)"
    );
}

#[test]
fn paths_on_v2() {
    let own = OwnCgroups::parse("0::/user.slice/me\n").unwrap();
    let m = AnyCgroupManager::resolve(CgroupSetup::Unified, v2_host(), &own, None, "abc").unwrap();
    let AnyCgroupManager::V2(m) = m else {
        panic!("expected v2")
    };
    assert_eq!(m.dir(), Path::new("/sys/fs/cgroup/berth/abc"));
    let m = AnyCgroupManager::resolve(
        CgroupSetup::Unified,
        v2_host(),
        &own,
        Some(Path::new("c")),
        "abc",
    )
    .unwrap();
    assert_eq!(m.path(), Path::new("/user.slice/me/c"));
    let e = AnyCgroupManager::resolve(
        CgroupSetup::Unified,
        v1_host()[..2].to_vec(),
        &own,
        None,
        "abc",
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotImplemented);
}

#[test]
fn refused_paths() {
    let own = OwnCgroups::default();
    let r = |p: Option<&str>, id: &str| {
        AnyCgroupManager::resolve(CgroupSetup::Legacy, v1_host(), &own, p.map(Path::new), id)
            .unwrap_err()
    };
    let e = r(Some("system.slice:berth:abc"), "abc");
    assert_eq!(e.kind(), ErrorKind::NotImplemented);
    assert!(e.to_string().contains("systemd"), "{e}");
    assert_eq!(
        r(Some("/berth/../../etc"), "abc").kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(r(None, "../x").kind(), ErrorKind::InvalidArgument);
    assert_eq!(
        AnyCgroupManager::resolve(CgroupSetup::Legacy, v2_host(), &own, None, "abc")
            .unwrap_err()
            .kind(),
        ErrorKind::NotImplemented
    );
}

#[test]
fn real_host_detection_agrees_with_mountinfo() {
    // Whatever this host is, the layout and the mount table must tell the same story.
    let Ok(setup) = detect_setup() else { return };
    let hs = hierarchies().unwrap();
    let has_v1 = hs
        .iter()
        .any(|h| matches!(h.kind, HierarchyKind::V1 { .. }));
    let has_v2 = hs.iter().any(|h| h.kind == HierarchyKind::V2);
    match setup {
        CgroupSetup::Unified => assert!(has_v2),
        CgroupSetup::Hybrid => assert!(has_v1 && has_v2),
        CgroupSetup::Legacy => assert!(has_v1),
    }
}
