//! Layout detection and mountinfo parsing on sample text.

use super::*;

/// The cgroup lines of this project's build host: cpu and cpuacct are separate hierarchies.
const HOST: &str = "\
24 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

#[test]
fn mountinfo_of_this_host() {
    let h = parse_mountinfo(HOST).unwrap();
    assert_eq!(h.len(), 10);
    assert_eq!(h[0], Hierarchy::v1("/sys/fs/cgroup/cpu", &["cpu"]));
    assert_eq!(h[1], Hierarchy::v1("/sys/fs/cgroup/cpuacct", &["cpuacct"]));
    assert_eq!(
        h[8],
        Hierarchy::v1("/sys/fs/cgroup/systemd", &["name=systemd"])
    );
    assert_eq!(
        h[9],
        Hierarchy {
            mountpoint: "/sys/fs/cgroup/unified".into(),
            kind: HierarchyKind::V2
        }
    );
    assert!(h[3].has_controller("memory"));
    assert!(!h[3].has_controller("cpu"));
}

#[test]
fn mountinfo_of_a_typical_distribution() {
    let text = "\
30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:10 - cgroup cgroup rw,xattr,cpu,cpuacct
31 25 0:27 / /sys/fs/cgroup/net\\040cls rw,nosuid shared:11 - cgroup cgroup rw,net_cls,net_prio
32 25 0:28 / /sys/fs/cgroup/systemd rw shared:9 - cgroup cgroup rw,xattr,release_agent=/lib/systemd/x,name=systemd
50 40 0:26 /docker/abc /mnt/cpu rw - cgroup cgroup rw,xattr,cpu,cpuacct
";
    let h = parse_mountinfo(text).unwrap();
    assert_eq!(h.len(), 3, "{h:?}");
    assert_eq!(
        h[0],
        Hierarchy::v1("/sys/fs/cgroup/cpu,cpuacct", &["cpu", "cpuacct"])
    );
    assert_eq!(
        h[1],
        Hierarchy::v1("/sys/fs/cgroup/net cls", &["net_cls", "net_prio"])
    );
    assert_eq!(
        h[2],
        Hierarchy::v1("/sys/fs/cgroup/systemd", &["name=systemd"])
    );
}

#[test]
fn mountinfo_prefers_a_mount_of_the_hierarchy_root() {
    let text = "\
50 40 0:26 /docker/abc /mnt/cpu rw - cgroup cgroup rw,cpu
51 40 0:26 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu
60 40 0:30 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate
";
    let h = parse_mountinfo(text).unwrap();
    assert_eq!(h[0].mountpoint, Path::new("/sys/fs/cgroup/cpu"));
    assert_eq!(
        h[1],
        Hierarchy {
            mountpoint: "/sys/fs/cgroup".into(),
            kind: HierarchyKind::V2
        }
    );
}

#[test]
fn mountinfo_garbage_is_an_error() {
    assert!(parse_mountinfo("not a mountinfo line").is_err());
}

#[test]
fn setup_decision() {
    let root = Path::new("/sys/fs/cgroup");
    let d = |r, u| decide_setup(root, r, u);
    assert_eq!(d(FsKind::Cgroup2, None).unwrap(), CgroupSetup::Unified);
    assert_eq!(
        d(FsKind::Tmpfs, Some(FsKind::Cgroup2)).unwrap(),
        CgroupSetup::Hybrid
    );
    assert_eq!(d(FsKind::Tmpfs, None).unwrap(), CgroupSetup::Legacy);
    assert_eq!(
        d(FsKind::Tmpfs, Some(FsKind::Tmpfs)).unwrap(),
        CgroupSetup::Legacy
    );
    assert_eq!(d(FsKind::Cgroup1, None).unwrap(), CgroupSetup::Legacy);
    let e = d(FsKind::Other(0xEF53), None).unwrap_err();
    assert_eq!(e.kind(), berth_types::ErrorKind::NotImplemented);
    assert!(e.to_string().contains("0xef53"), "{e}");
}

#[test]
fn setup_of_a_plain_directory_is_an_error_or_legacy() {
    // A scratch directory is not a cgroup filesystem: ext4 etc. is refused; a tmpfs /tmp
    // reads as an (empty) legacy layout.
    let dir = tempfile::tempdir().unwrap();
    match detect_setup_at(dir.path()) {
        Ok(setup) => assert_eq!(setup, CgroupSetup::Legacy),
        Err(e) => assert!(matches!(e, CgroupError::NoCgroupFs { .. }), "{e}"),
    }
}

#[test]
fn own_cgroups() {
    let text = "\
9:name=systemd:/user.slice
4:memory:/process_api/2cde
2:cpu,cpuacct:/a
0::/unified/x
";
    let own = OwnCgroups::parse(text).unwrap();
    assert_eq!(own.v1["memory"], Path::new("/process_api/2cde"));
    assert_eq!(own.v1["cpuacct"], Path::new("/a"));
    assert_eq!(own.v1["name=systemd"], Path::new("/user.slice"));
    assert_eq!(own.v2.as_deref(), Some(Path::new("/unified/x")));
    assert_eq!(own.v1_path(&["cpu".to_string()]), Some(Path::new("/a")));
    assert_eq!(own.v1_path(&["pids".to_string()]), None);
    assert!(OwnCgroups::parse("garbage").is_err());
}
