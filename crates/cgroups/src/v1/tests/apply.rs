//! Resources to v1 files: values, conversions and the order of writes.

use std::fs;

use berth_types::ErrorKind;

use super::*;
use crate::files::Write;

#[test]
fn apply_maps_every_resource_to_its_file() {
    let (_root, m) = fake(CONTROLLERS);
    m.apply(&res(r#"{
        "memory": {"limit": 67108864, "reservation": 33554432, "swap": 134217728,
                   "swappiness": 10, "disableOOMKiller": true, "kernel": 1},
        "cpu": {"shares": 512, "quota": 50000, "period": 200000, "realtimeRuntime": 1000,
                "realtimePeriod": 500000, "cpus": "1", "mems": "0"},
        "pids": {"limit": 42},
        "blockIO": {"weight": 300,
                    "weightDevice": [{"major": 8, "minor": 0, "weight": 200}],
                    "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
                    "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 100}]},
        "devices": [{"allow": false, "access": "rwm"},
                    {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"}]
    }"#))
        .unwrap();
    assert_eq!(file(&m, "memory", "memory.limit_in_bytes"), "67108864");
    assert_eq!(
        file(&m, "memory", "memory.memsw.limit_in_bytes"),
        "134217728"
    );
    assert_eq!(file(&m, "memory", "memory.soft_limit_in_bytes"), "33554432");
    assert_eq!(file(&m, "memory", "memory.swappiness"), "10");
    assert_eq!(file(&m, "memory", "memory.oom_control"), "1");
    assert_eq!(file(&m, "cpu", "cpu.shares"), "512");
    assert_eq!(file(&m, "cpu", "cpu.cfs_quota_us"), "50000");
    assert_eq!(file(&m, "cpu", "cpu.cfs_period_us"), "200000");
    assert_eq!(file(&m, "cpu", "cpu.rt_runtime_us"), "1000");
    assert_eq!(file(&m, "cpu", "cpu.rt_period_us"), "500000");
    assert_eq!(file(&m, "cpuset", "cpuset.cpus"), "1");
    assert_eq!(file(&m, "cpuset", "cpuset.mems"), "0");
    assert_eq!(file(&m, "pids", "pids.max"), "42");
    // No blkio.weight on this host: the BFQ files take the weights.
    assert_eq!(file(&m, "blkio", "blkio.bfq.weight"), "300");
    assert_eq!(file(&m, "blkio", "blkio.bfq.weight_device"), "8:0 200");
    assert_eq!(
        file(&m, "blkio", "blkio.throttle.read_bps_device"),
        "8:0 1048576"
    );
    assert_eq!(
        file(&m, "blkio", "blkio.throttle.write_iops_device"),
        "8:16 100"
    );
    assert_eq!(
        file(&m, "blkio", "blkio.throttle.write_bps_device"),
        "",
        "not requested"
    );
    assert_eq!(file(&m, "devices", "devices.deny"), "a *:* rwm");
    assert_eq!(file(&m, "devices", "devices.allow"), "c 1:3 rw");
}

#[test]
fn plan_order_period_before_quota_and_devices_in_spec_order() {
    let (_root, m) = fake(CONTROLLERS);
    let plan = m
        .plan(&res(r#"{
            "cpu": {"quota": -1, "period": 100000},
            "devices": [{"allow": false, "access": "rwm"},
                        {"allow": true, "type": "c", "major": 136, "access": "rwm"},
                        {"allow": false, "type": "b", "major": 8, "minor": 0, "access": "m"}]
        }"#))
        .unwrap();
    let expected = vec![
        Write::new("devices", "devices.deny", "a *:* rwm"),
        Write::new("devices", "devices.allow", "c 136:* rwm"),
        Write::new("devices", "devices.deny", "b 8:0 m"),
        Write::new("cpu", "cpu.cfs_period_us", "100000"),
        Write::new("cpu", "cpu.cfs_quota_us", "-1"),
    ];
    assert_eq!(plan, expected);
}

#[test]
fn memsw_order_depends_on_the_direction_of_the_change() {
    let (_root, m) = fake(&["memory"]);
    let limit_file = m.dir("memory").unwrap().join("memory.limit_in_bytes");
    let r = res(r#"{"memory": {"limit": 100000000, "swap": 200000000}}"#);
    let limit = Write::new("memory", "memory.limit_in_bytes", 100000000);
    let memsw = Write::new("memory", "memory.memsw.limit_in_bytes", 200000000);

    // Lowering from unlimited: the limit must drop first, or memsw would go below it.
    assert_eq!(m.plan(&r).unwrap(), vec![limit.clone(), memsw.clone()]);
    // Raising from 50 MB: memsw must rise first, or the new limit would exceed the old memsw.
    fs::write(&limit_file, "50000000\n").unwrap();
    assert_eq!(m.plan(&r).unwrap(), vec![memsw, limit]);
    // Unlimited swap always goes first.
    let r = res(r#"{"memory": {"limit": 100000000, "swap": -1}}"#);
    assert_eq!(m.plan(&r).unwrap()[0].file, "memory.memsw.limit_in_bytes");
}

#[test]
fn lifting_the_memory_limit_lifts_memsw() {
    let (_root, m) = fake(&["memory"]);
    let plan = m.plan(&res(r#"{"memory": {"limit": -1}}"#)).unwrap();
    assert_eq!(
        plan,
        vec![
            Write::new("memory", "memory.memsw.limit_in_bytes", -1),
            Write::new("memory", "memory.limit_in_bytes", -1),
        ]
    );
}

#[test]
fn swap_without_swap_accounting() {
    let (_root, m) = fake(&["memory"]);
    fs::remove_file(m.dir("memory").unwrap().join("memory.memsw.limit_in_bytes")).unwrap();
    let e = m
        .apply(&res(r#"{"memory": {"limit": 1000000, "swap": 2000000}}"#))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotImplemented);
    assert!(e.to_string().contains("swap accounting is off"), "{e}");
    assert_eq!(
        file(&m, "memory", "memory.limit_in_bytes"),
        UNLIMITED,
        "nothing written"
    );
    // Unlimited swap asks for nothing that needs accounting.
    m.apply(&res(r#"{"memory": {"limit": 1000000, "swap": -1}}"#))
        .unwrap();
    assert_eq!(file(&m, "memory", "memory.limit_in_bytes"), "1000000");
}

#[test]
fn invalid_memory_values() {
    let (_root, m) = fake(&["memory"]);
    let e = m
        .apply(&res(r#"{"memory": {"limit": 2000000, "swap": 1000000}}"#))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let e = m
        .apply(&res(r#"{"memory": {"swappiness": 101}}"#))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn blkio_weight_prefers_cfq_file() {
    let (_root, m) = fake(&["blkio"]);
    write_files(
        m.dir("blkio").unwrap(),
        &[("blkio.weight", "500\n"), ("blkio.weight_device", "")],
    );
    m.apply(&res(
        r#"{"blockIO": {"weight": 700, "weightDevice": [{"major": 8, "minor": 0, "weight": 20}]}}"#,
    ))
    .unwrap();
    assert_eq!(file(&m, "blkio", "blkio.weight"), "700");
    assert_eq!(file(&m, "blkio", "blkio.weight_device"), "8:0 20");
    assert_eq!(file(&m, "blkio", "blkio.bfq.weight"), "100\n");
}

#[test]
fn missing_controller_is_named_only_when_needed() {
    let (_root, m) = fake(&["memory", "pids"]);
    let e = m
        .apply(&res(
            r#"{"hugepageLimits": [{"pageSize": "2MB", "limit": 1048576}]}"#,
        ))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotImplemented);
    assert!(e.to_string().contains("hugetlb cgroup controller"), "{e}");
    let e = m.apply(&res(r#"{"cpu": {"shares": 100}}"#)).unwrap_err();
    assert!(
        matches!(&e, CgroupError::ControllerMissing { controller, .. } if controller == "cpu"),
        "{e}"
    );
    // Settings for mounted controllers only: fine.
    m.apply(&res(
        r#"{"pids": {"limit": -1}, "memory": {"reservation": 1000}}"#,
    ))
    .unwrap();
    assert_eq!(file(&m, "pids", "pids.max"), "max");
}

#[test]
fn hugetlb_and_network() {
    let (root, _) = fake(&[]);
    let mut hs = Vec::new();
    for (c, files) in [
        ("hugetlb", vec![("hugetlb.2MB.limit_in_bytes", UNLIMITED)]),
        ("net_cls", vec![("net_cls.classid", "0\n")]),
        ("net_prio", vec![("net_prio.ifpriomap", "")]),
    ] {
        write_files(&root.path().join(c).join("berth/x"), &files);
        hs.push(Hierarchy::v1(root.path().join(c), &[c]));
    }
    let m = V1Manager::with_hierarchies(hs, Path::new("/berth/x"));
    m.apply(&res(r#"{"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
                     "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 5}]}}"#))
        .unwrap();
    assert_eq!(file(&m, "hugetlb", "hugetlb.2MB.limit_in_bytes"), "4194304");
    assert_eq!(file(&m, "net_cls", "net_cls.classid"), "1048577");
    assert_eq!(file(&m, "net_prio", "net_prio.ifpriomap"), "eth0 5");
    let e = m
        .apply(&res(
            r#"{"hugepageLimits": [{"pageSize": "../2MB", "limit": 1}]}"#,
        ))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn unified_is_refused_on_v1() {
    let (_root, m) = fake(&["memory"]);
    let e = m
        .apply(&res(r#"{"unified": {"memory.high": "1000"}}"#))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotImplemented);
}

#[test]
fn apply_before_create_says_so() {
    let (root, _) = fake(&["pids", "memory"]);
    let hs = vec![
        Hierarchy::v1(root.path().join("pids"), &["pids"]),
        Hierarchy::v1(root.path().join("memory"), &["memory"]),
    ];
    let m = V1Manager::with_hierarchies(hs, Path::new("/not/created"));
    let e = m.apply(&res(r#"{"pids": {"limit": 5}}"#)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.to_string().contains("the cgroup does not exist"), "{e}");
    let e = m
        .apply(&res(r#"{"memory": {"limit": 5000000}}"#))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
}
