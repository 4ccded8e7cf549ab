//! The manager this host gets from detection (v1 on a hybrid host like ours).

use std::path::Path;

use berth_cgroups::{AnyCgroupManager, CgroupManager};
use berth_types::ErrorKind;

use crate::{
    proc_cgroup, proc_state, read, res, root_or_skip, unique_path, wait_for, Cleanup, Gated,
};

fn manager() -> Option<Cleanup<AnyCgroupManager>> {
    if !root_or_skip() {
        return None;
    }
    let path = unique_path();
    let m = AnyCgroupManager::for_container(Some(&path), "it").unwrap();
    assert_eq!(m.path(), path);
    m.create().unwrap();
    Some(Cleanup(m))
}

/// A control file of the host's cgroup, by controller (v1) or directly (v2).
fn file(m: &AnyCgroupManager, controller: &str, v1_name: &str, v2_name: &str) -> String {
    match m {
        AnyCgroupManager::V1(m) => read(m.dir(controller).expect(controller), v1_name),
        AnyCgroupManager::V2(m) => read(m.dir(), v2_name),
    }
}

#[test]
fn limits_reach_the_kernel() {
    let Some(c) = manager() else { return };
    let m = &c.0;
    m.apply(&res(r#"{
        "memory": {"limit": 67108864, "swap": 134217728, "reservation": 33554432},
        "pids": {"limit": 50},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"}
    }"#))
        .unwrap();
    assert_eq!(file(m, "pids", "pids.max", "pids.max"), "50");
    assert_eq!(file(m, "cpuset", "cpuset.cpus", "cpuset.cpus"), "0");
    match m {
        AnyCgroupManager::V1(_) => {
            assert_eq!(file(m, "memory", "memory.limit_in_bytes", ""), "67108864");
            assert_eq!(
                file(m, "memory", "memory.memsw.limit_in_bytes", ""),
                "134217728"
            );
            assert_eq!(
                file(m, "memory", "memory.soft_limit_in_bytes", ""),
                "33554432"
            );
            assert_eq!(file(m, "cpu", "cpu.shares", ""), "512");
            assert_eq!(file(m, "cpu", "cpu.cfs_quota_us", ""), "50000");
            assert_eq!(file(m, "cpu", "cpu.cfs_period_us", ""), "100000");
        }
        AnyCgroupManager::V2(_) => {
            assert_eq!(file(m, "", "", "memory.max"), "67108864");
            assert_eq!(file(m, "", "", "memory.swap.max"), "67108864");
            assert_eq!(file(m, "", "", "cpu.weight"), "20");
            assert_eq!(file(m, "", "", "cpu.max"), "50000 100000");
        }
    }
    // Lowering both, then raising both: the kernel refuses a memsw below the limit at any
    // moment, so this only passes if the writes are ordered right.
    m.apply(&res(r#"{"memory": {"limit": 33554432, "swap": 33554432}}"#))
        .unwrap();
    m.apply(&res(
        r#"{"memory": {"limit": 268435456, "swap": 536870912}}"#,
    ))
    .unwrap();
    m.apply(&res(r#"{"memory": {"limit": -1}}"#)).unwrap();
    let unlimited = file(m, "memory", "memory.limit_in_bytes", "memory.max");
    assert!(
        unlimited == "max" || unlimited.parse::<u64>().unwrap() > 1 << 60,
        "{unlimited}"
    );
}

#[test]
fn tasks_move_freeze_thaw_and_die() {
    let Some(c) = manager() else { return };
    let m = &c.0;
    let mut child = Gated::spawn("sleep 30");
    let pid = child.pid();
    m.add_task(pid).unwrap();
    child.release();
    let name = m.path().to_str().unwrap().to_string();
    let cg = proc_cgroup(pid);
    match m {
        AnyCgroupManager::V1(_) => {
            assert!(
                cg.lines().any(|l| l.ends_with(&format!(":memory:{name}"))),
                "{cg}"
            );
            assert!(
                cg.lines().any(|l| l.ends_with(&format!(":pids:{name}"))),
                "{cg}"
            );
        }
        AnyCgroupManager::V2(_) => assert!(cg.contains(&format!("0::{name}")), "{cg}"),
    }
    assert!(m.pids().unwrap().contains(&pid));

    m.freeze().unwrap();
    if let AnyCgroupManager::V1(_) = m {
        assert_eq!(file(m, "freezer", "freezer.state", ""), "FROZEN");
        // v1 freezer tasks sleep uninterruptibly.
        let state = proc_state(pid);
        assert!(matches!(state, 'D' | 'T'), "state {state}");
    } else {
        assert!(file(m, "", "", "cgroup.events").contains("frozen 1"));
    }
    m.thaw().unwrap();
    wait_for(5, "the child to sleep again", || proc_state(pid) == 'S');

    m.kill_all(libc::SIGKILL).unwrap();
    let out = child.wait();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(libc::SIGKILL));
    wait_for(5, "the cgroup to empty", || m.pids().unwrap().is_empty());
    m.remove().unwrap();
    if let AnyCgroupManager::V1(v1) = m {
        for (_, dir) in v1.dirs() {
            assert!(!dir.exists(), "{} left behind", dir.display());
        }
    }
    m.remove().unwrap(); // removing again is fine
}

#[test]
fn stats_see_a_child_allocate_and_small_limits_are_explained() {
    let Some(c) = manager() else { return };
    let m = &c.0;
    let mut child = Gated::spawn(r#"x=$(head -c 16m /dev/zero | tr '\0' a); sleep 30"#);
    m.add_task(child.pid()).unwrap();
    child.release();
    wait_for(20, "16 MiB of usage", || {
        m.stats().unwrap().memory.usage > 8 << 20
    });
    let s = m.stats().unwrap();
    assert!(s.cpu.usage_total > 0, "{s:?}");
    assert!(s.pids.current >= 1, "{s:?}");
    if let AnyCgroupManager::V1(_) = m {
        assert!(s.memory.max_usage.unwrap() >= s.memory.usage, "{s:?}");
        assert!(s.cpu.usage_user + s.cpu.usage_system > 0, "{s:?}");
        assert_eq!(s.memory.limit, None);

        // Nothing to swap to and 16 MiB in use: the kernel refuses a 4 KiB limit.
        let e = m.apply(&res(r#"{"memory": {"limit": 4096}}"#)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
        let text = e.to_string();
        assert!(text.contains("memory.limit_in_bytes=\"4096\""), "{text}");
        assert!(text.contains("raise the limit"), "{text}");
    }
}

#[test]
fn pids_limit_makes_fork_fail() {
    let Some(c) = manager() else { return };
    let m = &c.0;
    m.apply(&res(r#"{"pids": {"limit": 4}}"#)).unwrap();
    assert_eq!(m.stats().unwrap().pids.limit, Some(4));
    let mut child =
        Gated::spawn("for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait; echo all-forked");
    m.add_task(child.pid()).unwrap();
    child.release();
    let out = child.wait();
    let stderr = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(stderr.contains("fork"), "stderr: {stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("all-forked"));
}

#[test]
fn oom_kills_are_counted() {
    let Some(c) = manager() else { return };
    let m = &c.0;
    m.apply(&res(r#"{"memory": {"limit": 33554432, "swap": 33554432}}"#))
        .unwrap();
    assert_eq!(m.oom_kill_count().unwrap(), 0);
    let mut child = Gated::spawn(r#"x=$(head -c 96m /dev/zero | tr '\0' a); echo survived"#);
    m.add_task(child.pid()).unwrap();
    child.release();
    let _ = child.wait();
    wait_for(5, "an OOM kill", || m.oom_kill_count().unwrap() >= 1);
}

#[test]
fn kill_all_reaches_every_process() {
    let Some(c) = manager() else { return };
    let m = &c.0;
    let mut child = Gated::spawn("sleep 30 & sleep 30 & wait");
    m.add_task(child.pid()).unwrap();
    child.release();
    wait_for(5, "three processes", || m.pids().unwrap().len() == 3);
    m.kill_all(libc::SIGKILL).unwrap();
    let _ = child.wait();
    wait_for(5, "the cgroup to empty", || m.pids().unwrap().is_empty());
    m.remove().unwrap();
}

#[test]
fn absent_controller_settings_are_refused_on_this_host() {
    let Some(c) = manager() else { return };
    let m = &c.0;
    if let AnyCgroupManager::V1(v1) = m {
        if v1.dir("hugetlb").is_none() {
            let e = m
                .apply(&res(
                    r#"{"hugepageLimits": [{"pageSize": "2MB", "limit": 2097152}]}"#,
                ))
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::NotImplemented);
            assert!(e.to_string().contains("hugetlb"), "{e}");
        }
        let e = m
            .apply(&res(r#"{"unified": {"memory.high": "1"}}"#))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotImplemented);
    }
    let e =
        AnyCgroupManager::for_container(Some(Path::new("system.slice:berth:x")), "x").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotImplemented);
}
