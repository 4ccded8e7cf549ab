//! The v2 manager against a scratch tree imitating a cgroup2 mount: the root and `/berth`
//! list controllers, and the leaf `/berth/x` has the control files of the enabled ones.

use std::fs;

use berth_types::ErrorKind;
use tempfile::TempDir;

use super::*;
use crate::files::Write;

const ALL: &str = "cpuset cpu io memory hugetlb pids rdma misc\n";

fn write_files(dir: &Path, files: &[(&str, &str)]) {
    fs::create_dir_all(dir).unwrap();
    for (name, content) in files {
        fs::write(dir.join(name), content).unwrap();
    }
}

fn leaf_files() -> Vec<(&'static str, &'static str)> {
    vec![
        ("cgroup.controllers", ALL),
        ("cgroup.subtree_control", "\n"),
        ("cgroup.procs", ""),
        ("cgroup.events", "populated 0\nfrozen 0\n"),
        ("cgroup.freeze", "0\n"),
        ("cgroup.kill", ""),
        ("memory.max", "max\n"),
        ("memory.low", "0\n"),
        ("memory.high", "max\n"),
        ("memory.swap.max", "max\n"),
        ("memory.current", "3145728\n"),
        ("memory.peak", "4194304\n"),
        ("memory.swap.current", "8192\n"),
        ("memory.stat", "anon 1048576\nfile 2097152\nkernel 4096\n"),
        ("memory.events", "low 0\nhigh 0\nmax 7\noom 2\noom_kill 2\noom_group_kill 0\n"),
        ("cpu.weight", "100\n"),
        ("cpu.max", "max 100000\n"),
        ("cpu.max.burst", "0\n"),
        ("cpu.idle", "0\n"),
        ("cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 9\nnr_throttled 2\nthrottled_usec 30\n"),
        ("cpuset.cpus", "\n"),
        ("cpuset.mems", "\n"),
        ("pids.max", "max\n"),
        ("pids.current", "4\n"),
        ("io.weight", "default 100\n"),
        ("io.max", ""),
        ("io.stat", "8:0 rbytes=4096 wbytes=1024 rios=4 wios=1 dbytes=0 dios=0\n"),
        ("hugetlb.2MB.max", "max\n"),
        ("rdma.max", ""),
    ]
}

fn fake() -> (TempDir, V2Manager) {
    let root = tempfile::tempdir().unwrap();
    for dir in ["", "berth"] {
        write_files(
            &root.path().join(dir),
            &[
                ("cgroup.controllers", ALL),
                ("cgroup.subtree_control", "\n"),
                ("cgroup.procs", ""),
            ],
        );
    }
    write_files(&root.path().join("berth/x"), &leaf_files());
    let m = V2Manager::with_root(root.path(), Path::new("/berth/x"));
    (root, m)
}

fn res(json: &str) -> LinuxResources {
    serde_json::from_str(json).unwrap()
}

fn file(m: &V2Manager, name: &str) -> String {
    fs::read_to_string(m.dir().join(name)).unwrap()
}

#[test]
fn create_enables_controllers_in_every_ancestor() {
    let (root, m) = fake();
    // The root already has two enabled: only the others are added there.
    fs::write(root.path().join("cgroup.subtree_control"), "cpu memory\n").unwrap();
    m.create().unwrap();
    assert_eq!(
        fs::read_to_string(root.path().join("cgroup.subtree_control")).unwrap(),
        "+cpuset +io +hugetlb +pids +rdma +misc"
    );
    assert_eq!(
        fs::read_to_string(root.path().join("berth/cgroup.subtree_control")).unwrap(),
        "+cpuset +cpu +io +memory +hugetlb +pids +rdma +misc"
    );
    assert_eq!(
        file(&m, "cgroup.subtree_control"),
        "\n",
        "the leaf keeps its processes"
    );
}

#[test]
fn create_with_nothing_to_enable_writes_nothing() {
    let (root, m) = fake();
    fs::write(root.path().join("cgroup.controllers"), "hugetlb\n").unwrap();
    fs::write(root.path().join("cgroup.subtree_control"), "hugetlb\n").unwrap();
    m.create().unwrap();
    assert_eq!(
        fs::read_to_string(root.path().join("cgroup.subtree_control")).unwrap(),
        "hugetlb\n"
    );
}

#[test]
fn apply_maps_and_converts() {
    let (_root, m) = fake();
    m.apply(&res(r#"{
        "memory": {"limit": 100000000, "reservation": 50000000, "swap": 300000000},
        "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
        "pids": {"limit": 0},
        "blockIO": {"weight": 500,
                    "weightDevice": [{"major": 8, "minor": 0, "weight": 1000}],
                    "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1000}],
                    "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 0}],
                    "throttleReadIOPSDevice": [{"major": 8, "minor": 0, "rate": 10}],
                    "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 20}]},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 2097152}],
        "rdma": {"mlx5_0": {"hcaHandles": 3}},
        "unified": {"memory.high": "90000000"}
    }"#))
        .unwrap();
    assert_eq!(file(&m, "memory.max"), "100000000");
    assert_eq!(file(&m, "memory.low"), "50000000");
    assert_eq!(
        file(&m, "memory.swap.max"),
        "200000000",
        "swap = memory+swap - memory"
    );
    assert_eq!(file(&m, "memory.high"), "90000000");
    assert_eq!(
        file(&m, "cpu.weight"),
        "39",
        "1 + (1024 - 2) * 9999 / 262142"
    );
    assert_eq!(file(&m, "cpu.max"), "50000 100000");
    assert_eq!(file(&m, "cpuset.cpus"), "0");
    assert_eq!(file(&m, "pids.max"), "max");
    assert_eq!(
        file(&m, "io.weight"),
        "8:0 10000",
        "the last io.weight write is the device's"
    );
    assert_eq!(file(&m, "io.max"), "8:16 wiops=20");
    assert_eq!(file(&m, "hugetlb.2MB.max"), "2097152");
    assert_eq!(file(&m, "rdma.max"), "mlx5_0 hca_handle=3");
}

#[test]
fn plan_of_io_groups_limits_per_device() {
    let (_root, m) = fake();
    let plan = m
        .plan(&res(r#"{"blockIO": {"weight": 500,
            "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1000}],
            "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 0}],
            "throttleReadIOPSDevice": [{"major": 8, "minor": 0, "rate": 10}],
            "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 20}]}}"#))
        .unwrap();
    assert_eq!(
        plan,
        vec![
            Write::new("io", "io.weight", 4950),
            Write::new("io", "io.max", "8:0 rbps=1000 wbps=max riops=10"),
            Write::new("io", "io.max", "8:16 wiops=20"),
        ]
    );
}

#[test]
fn unlimited_values_become_max() {
    let (_root, m) = fake();
    fs::write(m.dir().join("memory.swap.max"), "0\n").unwrap();
    m.apply(&res(
        r#"{"memory": {"limit": -1}, "cpu": {"quota": -1}, "pids": {"limit": -1},
                     "hugepageLimits": [{"pageSize": "2MB", "limit": -1}]}"#,
    ))
    .unwrap();
    assert_eq!(file(&m, "memory.max"), "max");
    assert_eq!(
        file(&m, "memory.swap.max"),
        "max",
        "lifting memory lifts swap"
    );
    assert_eq!(file(&m, "cpu.max"), "max");
    assert_eq!(file(&m, "pids.max"), "max");
    assert_eq!(file(&m, "hugetlb.2MB.max"), "max");
    m.apply(&res(
        r#"{"memory": {"limit": 1000000, "swap": -1}, "cpu": {"quota": -1, "period": 50000}}"#,
    ))
    .unwrap();
    assert_eq!(file(&m, "memory.swap.max"), "max");
    assert_eq!(file(&m, "cpu.max"), "max 50000");
}

#[test]
fn swap_rules() {
    let (_root, m) = fake();
    let e = m
        .apply(&res(r#"{"memory": {"swap": 1000000}}"#))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.to_string().contains("swap - memory"), "{e}");
    fs::remove_file(m.dir().join("memory.swap.max")).unwrap();
    let e = m
        .apply(&res(r#"{"memory": {"limit": 1000000, "swap": 2000000}}"#))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotImplemented);
    assert!(e.to_string().contains("swap accounting is off"), "{e}");
    m.apply(&res(r#"{"memory": {"limit": 1000000, "swap": -1}}"#))
        .unwrap();
    assert_eq!(file(&m, "memory.max"), "1000000");
}

#[test]
fn bfq_weight_is_written_unconverted() {
    let (_root, m) = fake();
    fs::remove_file(m.dir().join("io.weight")).unwrap();
    fs::write(m.dir().join("io.bfq.weight"), "default 100\n").unwrap();
    m.apply(&res(r#"{"blockIO": {"weight": 500}}"#)).unwrap();
    assert_eq!(file(&m, "io.bfq.weight"), "500");
    fs::remove_file(m.dir().join("io.bfq.weight")).unwrap();
    let e = m
        .apply(&res(r#"{"blockIO": {"weight": 500}}"#))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotImplemented);
}

#[test]
fn missing_controller_fails_before_any_write() {
    let (_root, m) = fake();
    fs::write(m.dir().join("cgroup.controllers"), "hugetlb\n").unwrap();
    let e = m
        .apply(&res(
            r#"{"pids": {"limit": 10}, "memory": {"limit": 10000000}}"#,
        ))
        .unwrap_err();
    assert!(
        matches!(&e, CgroupError::ControllerMissing { controller, .. } if controller == "memory"),
        "{e}"
    );
    assert!(
        e.to_string().contains("hugetlb"),
        "lists what is available: {e}"
    );
    assert_eq!(file(&m, "pids.max"), "max\n", "nothing was written");
    // Only hugetlb asked for: fine.
    m.apply(&res(
        r#"{"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}"#,
    ))
    .unwrap();
    assert_eq!(file(&m, "hugetlb.2MB.max"), "4194304");
}

#[test]
fn settings_without_v2_equivalent_are_refused() {
    let (_root, m) = fake();
    for json in [
        r#"{"cpu": {"realtimeRuntime": 1000}}"#,
        r#"{"memory": {"swappiness": 10}}"#,
        r#"{"memory": {"disableOOMKiller": true}}"#,
        r#"{"network": {"classID": 1}}"#,
        r#"{"blockIO": {"leafWeight": 100}}"#,
    ] {
        let e = m.apply(&res(json)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotImplemented, "{json}: {e}");
    }
    m.apply(&res(r#"{"memory": {"disableOOMKiller": false}}"#))
        .unwrap();
}

#[test]
fn unified_keys_are_validated() {
    let (_root, m) = fake();
    for key in [
        "../memory.max",
        "memory/../../x",
        "memory",
        ".max",
        "memory.",
    ] {
        let json = format!(r#"{{"unified": {{"{key}": "1"}}}}"#);
        let e = m.apply(&res(&json)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{key}");
    }
    let e = m
        .apply(&res(r#"{"unified": {"foo.bar": "1"}}"#))
        .unwrap_err();
    assert!(
        matches!(&e, CgroupError::ControllerMissing { controller, .. } if controller == "foo"),
        "{e}"
    );
    m.apply(&res(
        r#"{"unified": {"cgroup.freeze": "0", "pids.max": "7"}}"#,
    ))
    .unwrap();
    assert_eq!(file(&m, "pids.max"), "7");
}

#[test]
fn freeze_and_thaw_follow_cgroup_events() {
    let (_root, m) = fake();
    fs::write(m.dir().join("cgroup.events"), "populated 1\nfrozen 1\n").unwrap();
    m.freeze().unwrap();
    assert_eq!(file(&m, "cgroup.freeze"), "1");
    fs::write(m.dir().join("cgroup.events"), "populated 1\nfrozen 0\n").unwrap();
    m.thaw().unwrap();
    assert_eq!(file(&m, "cgroup.freeze"), "0");
    fs::remove_file(m.dir().join("cgroup.freeze")).unwrap();
    assert_eq!(m.freeze().unwrap_err().kind(), ErrorKind::NotImplemented);
}

#[test]
fn stats_from_sample_files() {
    let (_root, m) = fake();
    let s = m.stats().unwrap();
    assert_eq!(s.memory.usage, 3145728);
    assert_eq!(s.memory.max_usage, Some(4194304));
    assert_eq!(s.memory.limit, None);
    assert_eq!(
        (s.memory.cache, s.memory.rss, s.memory.swap),
        (2097152, 1048576, Some(8192))
    );
    assert_eq!(
        (s.cpu.usage_total, s.cpu.usage_user, s.cpu.usage_system),
        (1_500_000, 1_000_000, 500_000)
    );
    assert_eq!(
        (s.cpu.nr_periods, s.cpu.nr_throttled, s.cpu.throttled_time),
        (9, 2, 30_000)
    );
    assert_eq!(
        s.pids,
        PidsStats {
            current: 4,
            limit: None
        }
    );
    assert_eq!(
        (
            s.io.read_bytes,
            s.io.write_bytes,
            s.io.read_ops,
            s.io.write_ops
        ),
        (4096, 1024, 4, 1)
    );
    // Without the memory controller's files, memory figures stay zero.
    fs::remove_file(m.dir().join("memory.current")).unwrap();
    assert_eq!(m.stats().unwrap().memory, MemoryStats::default());
}

#[test]
fn oom_kill_count_reads_memory_events() {
    let (_root, m) = fake();
    assert_eq!(m.oom_kill_count().unwrap(), 2);
}

#[test]
fn kill_all_uses_cgroup_kill_for_sigkill() {
    let (_root, m) = fake();
    m.kill_all(libc::SIGKILL).unwrap();
    assert_eq!(file(&m, "cgroup.kill"), "1");
    // Other signals go to each process; a vanished pid is fine.
    let me = std::process::id();
    fs::write(m.dir().join("cgroup.procs"), format!("{me}\n2147483646\n")).unwrap();
    m.kill_all(libc::SIGCONT).unwrap();
}

#[test]
fn add_task_and_pids() {
    let (_root, m) = fake();
    m.add_task(77).unwrap();
    assert_eq!(file(&m, "cgroup.procs"), "77");
    write_files(&m.dir().join("inner"), &[("cgroup.procs", "78\n")]);
    assert_eq!(m.pids().unwrap(), vec![77, 78]);
}
