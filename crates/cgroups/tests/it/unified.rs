//! The v2 manager on the host's cgroup2 mount: on a hybrid host that is `/sys/fs/cgroup/unified`,
//! which usually offers only hugetlb, so this checks the core v2 files, hugetlb if present,
//! `cgroup.kill` and the eBPF device filter (which needs no controller).

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;

use berth_cgroups::{
    attached_device_programs, hierarchies, CgroupManager, HierarchyKind, V2Manager,
};

use crate::{proc_cgroup, read, res, root_or_skip, unique_path, wait_for, Cleanup, Gated};

fn v2_mount() -> Option<PathBuf> {
    let mount = hierarchies()
        .unwrap()
        .into_iter()
        .find(|h| h.kind == HierarchyKind::V2);
    if mount.is_none() {
        println!("skipped: no cgroup2 mount in /proc/self/mountinfo");
    }
    mount.map(|h| h.mountpoint)
}

fn manager() -> Option<Cleanup<V2Manager>> {
    if !root_or_skip() {
        return None;
    }
    let mount = v2_mount()?;
    let m = V2Manager::with_root(&mount, &unique_path());
    m.create().unwrap();
    Some(Cleanup(m))
}

#[test]
fn v2_lifecycle_with_hugetlb_and_cgroup_kill() {
    let Some(c) = manager() else { return };
    let m = &c.0;
    let mount = m.dir().parent().unwrap();
    if read(mount, "cgroup.controllers")
        .split_whitespace()
        .any(|c| c == "hugetlb")
    {
        let leaf: Vec<String> = m.controllers().unwrap();
        assert!(
            leaf.iter().any(|c| c == "hugetlb"),
            "create enabled hugetlb: {leaf:?}"
        );
    }

    let mut child = Gated::spawn("exec sleep 30");
    let pid = child.pid();
    m.add_task(pid).unwrap();
    child.release();
    let name = m.path().to_str().unwrap().to_string();
    assert!(
        proc_cgroup(pid).contains(&format!("0::{name}\n")),
        "{}",
        proc_cgroup(pid)
    );
    wait_for(5, "populated 1", || {
        read(m.dir(), "cgroup.events").contains("populated 1")
    });
    assert_eq!(m.pids().unwrap(), vec![pid]);

    let huge = m.dir().join("hugetlb.2MB.max");
    if huge.exists() {
        m.apply(&res(
            r#"{"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}"#,
        ))
        .unwrap();
        assert_eq!(read(m.dir(), "hugetlb.2MB.max"), "4194304");
        m.apply(&res(
            r#"{"hugepageLimits": [{"pageSize": "2MB", "limit": -1}]}"#,
        ))
        .unwrap();
        assert_eq!(read(m.dir(), "hugetlb.2MB.max"), "max");
    } else {
        println!("hugetlb part skipped: {} does not exist", huge.display());
    }

    m.freeze().unwrap();
    assert!(read(m.dir(), "cgroup.events").contains("frozen 1"));
    m.thaw().unwrap();
    assert!(read(m.dir(), "cgroup.events").contains("frozen 0"));

    m.kill_all(libc::SIGKILL).unwrap();
    let out = child.wait();
    assert_eq!(out.status.signal(), Some(libc::SIGKILL));
    wait_for(5, "populated 0", || {
        read(m.dir(), "cgroup.events").contains("populated 0")
    });
    m.remove().unwrap();
    assert!(!m.dir().exists());
}

#[test]
fn v2_device_filter_is_enforced() {
    let Some(c) = manager() else { return };
    let m = &c.0;
    m.apply(&res(r#"{"devices": [{"allow": true, "access": "rwm"}]}"#))
        .unwrap();
    assert_eq!(attached_device_programs(m.dir()).unwrap(), 1);
    // Deny writing /dev/null (c 1:3); the second apply replaces the first program.
    m.apply(&res(r#"{"devices": [
        {"allow": true, "access": "rwm"},
        {"allow": false, "type": "c", "major": 1, "minor": 3, "access": "w"}
    ]}"#))
        .unwrap();
    assert_eq!(attached_device_programs(m.dir()).unwrap(), 1);

    let mut child = Gated::spawn(
        "if echo x > /dev/null; then echo null-write-ok; else echo null-write-denied; fi; \
         if head -c 1 /dev/null; then echo null-read-ok; fi; \
         if head -c 1 /dev/zero > /dev/zero; then echo zero-ok; fi",
    );
    m.add_task(child.pid()).unwrap();
    child.release();
    let out = child.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("null-write-denied"),
        "stdout {stdout} stderr {stderr}"
    );
    assert!(
        stdout.contains("null-read-ok"),
        "stdout {stdout} stderr {stderr}"
    );
    assert!(
        stdout.contains("zero-ok"),
        "stdout {stdout} stderr {stderr}"
    );
    assert!(stderr.contains("Operation not permitted"), "{stderr}");
}
