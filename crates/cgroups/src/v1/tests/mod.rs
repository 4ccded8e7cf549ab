//! The v1 manager against scratch directories laid out like this host's hierarchies (cpu and
//! cpuacct mounted apart). A plain directory has no control files, so each test writes them
//! with the kernel's default content first.

use std::fs;

use berth_types::ErrorKind;
use tempfile::TempDir;

use super::*;

const UNLIMITED: &str = "9223372036854771712\n";

fn write_files(dir: &Path, files: &[(&str, &str)]) {
    fs::create_dir_all(dir).unwrap();
    for (name, content) in files {
        fs::write(dir.join(name), content).unwrap();
    }
}

fn read(path: PathBuf) -> String {
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Default control files of a fresh cgroup, per controller.
fn defaults(controller: &str) -> Vec<(&'static str, &'static str)> {
    let mut f = vec![("cgroup.procs", "")];
    f.extend(match controller {
        "cpu" => vec![
            ("cpu.shares", "1024\n"),
            ("cpu.cfs_period_us", "100000\n"),
            ("cpu.cfs_quota_us", "-1\n"),
            ("cpu.cfs_burst_us", "0\n"),
            ("cpu.rt_period_us", "1000000\n"),
            ("cpu.rt_runtime_us", "0\n"),
            ("cpu.idle", "0\n"),
            (
                "cpu.stat",
                "nr_periods 12\nnr_throttled 4\nthrottled_time 987654\n",
            ),
        ],
        "cpuacct" => vec![
            ("cpuacct.usage", "5000000\n"),
            ("cpuacct.usage_user", "3000000\n"),
            ("cpuacct.usage_sys", "2000000\n"),
            ("cpuacct.usage_percpu", "4000000 1000000 \n"),
        ],
        "cpuset" => vec![("cpuset.cpus", "\n"), ("cpuset.mems", "\n")],
        "memory" => vec![
            ("memory.limit_in_bytes", UNLIMITED),
            ("memory.soft_limit_in_bytes", UNLIMITED),
            ("memory.memsw.limit_in_bytes", UNLIMITED),
            ("memory.swappiness", "60\n"),
            (
                "memory.oom_control",
                "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
            ),
            ("memory.use_hierarchy", "1\n"),
            ("memory.usage_in_bytes", "1048576\n"),
            ("memory.max_usage_in_bytes", "2097152\n"),
            ("memory.memsw.usage_in_bytes", "1114112\n"),
            (
                "memory.stat",
                "cache 100\nrss 200\ntotal_cache 4096\ntotal_rss 8192\n",
            ),
        ],
        "devices" => vec![("devices.allow", ""), ("devices.deny", "")],
        "freezer" => vec![("freezer.state", "THAWED\n")],
        "blkio" => vec![
            ("blkio.bfq.weight", "100\n"),
            ("blkio.bfq.weight_device", ""),
            ("blkio.throttle.read_bps_device", ""),
            ("blkio.throttle.write_bps_device", ""),
            ("blkio.throttle.read_iops_device", ""),
            ("blkio.throttle.write_iops_device", ""),
            (
                "blkio.throttle.io_service_bytes_recursive",
                "8:0 Read 4096\n8:0 Write 512\nTotal 4608\n",
            ),
            (
                "blkio.throttle.io_serviced_recursive",
                "8:0 Read 2\n8:0 Write 1\nTotal 3\n",
            ),
        ],
        "pids" => vec![("pids.max", "max\n"), ("pids.current", "3\n")],
        _ => vec![],
    });
    f
}

const CONTROLLERS: &[&str] = &[
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "blkio",
    "pids",
    "name=systemd",
];

/// Hierarchies for `controllers` under a scratch root, with the cgroup `/berth/x` and its
/// parent already populated; the root cpuset has CPUs 0-1 and node 0.
fn fake(controllers: &[&str]) -> (TempDir, V1Manager) {
    let root = tempfile::tempdir().unwrap();
    let mut hierarchies = Vec::new();
    for c in controllers {
        let mount = root.path().join(c.trim_start_matches("name="));
        for level in ["", "berth", "berth/x"] {
            write_files(&mount.join(level), &defaults(c));
        }
        if *c == "cpuset" {
            write_files(&mount, &[("cpuset.cpus", "0-1\n"), ("cpuset.mems", "0\n")]);
        }
        hierarchies.push(Hierarchy::v1(mount, &[c]));
    }
    let m = V1Manager::with_hierarchies(hierarchies, Path::new("/berth/x"));
    (root, m)
}

fn res(json: &str) -> LinuxResources {
    serde_json::from_str(json).unwrap()
}

fn file(m: &V1Manager, controller: &str, name: &str) -> String {
    read(m.dir(controller).unwrap().join(name))
}

#[test]
fn dirs_follow_the_hierarchies() {
    let (root, m) = fake(CONTROLLERS);
    assert_eq!(
        m.dir("cpuacct").unwrap(),
        root.path().join("cpuacct/berth/x")
    );
    assert_eq!(
        m.dir("name=systemd").unwrap(),
        root.path().join("systemd/berth/x")
    );
    assert_eq!(m.dir("hugetlb"), None);
    assert_eq!(m.path(), Path::new("/berth/x"));
}

mod apply;

#[test]
fn create_copies_cpuset_from_parent() {
    let (_root, m) = fake(&["cpuset"]);
    let parent = m.dir("cpuset").unwrap().parent().unwrap().to_path_buf();
    m.create().unwrap();
    assert_eq!(read(parent.join("cpuset.cpus")), "0-1");
    assert_eq!(file(&m, "cpuset", "cpuset.cpus"), "0-1");
    assert_eq!(file(&m, "cpuset", "cpuset.mems"), "0");
    // A set that is already filled in is kept.
    fs::write(m.dir("cpuset").unwrap().join("cpuset.cpus"), "1\n").unwrap();
    m.create().unwrap();
    assert_eq!(file(&m, "cpuset", "cpuset.cpus"), "1\n");
}

#[test]
fn create_makes_missing_directories() {
    let (root, _) = fake(&["pids"]);
    let m = V1Manager::with_hierarchies(
        vec![Hierarchy::v1(root.path().join("pids"), &["pids"])],
        Path::new("/a/b"),
    );
    m.create().unwrap();
    assert!(root.path().join("pids/a/b").is_dir());
    let gone = V1Manager::with_hierarchies(
        vec![Hierarchy::v1(root.path().join("gone"), &["pids"])],
        Path::new("/a"),
    );
    assert!(matches!(gone.create(), Err(CgroupError::NoCgroupFs { .. })));
}

#[test]
fn add_task_writes_every_hierarchy() {
    let (_root, m) = fake(CONTROLLERS);
    m.add_task(4242).unwrap();
    for (_, dir) in m.dirs() {
        assert_eq!(read(dir.join("cgroup.procs")), "4242", "{}", dir.display());
    }
    assert_eq!(
        m.add_task(-3).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
}

#[test]
fn freeze_and_thaw_write_the_freezer() {
    let (_root, m) = fake(&["freezer"]);
    m.freeze().unwrap();
    assert_eq!(file(&m, "freezer", "freezer.state"), "FROZEN");
    m.thaw().unwrap();
    assert_eq!(file(&m, "freezer", "freezer.state"), "THAWED");
    let (_root, no_freezer) = fake(&["memory"]);
    assert_eq!(
        no_freezer.freeze().unwrap_err().kind(),
        ErrorKind::NotImplemented
    );
}

#[test]
fn stats_from_sample_files() {
    let (_root, m) = fake(CONTROLLERS);
    fs::write(
        m.dir("memory").unwrap().join("memory.limit_in_bytes"),
        "67108864\n",
    )
    .unwrap();
    let s = m.stats().unwrap();
    assert_eq!(s.memory.usage, 1048576);
    assert_eq!(s.memory.max_usage, Some(2097152));
    assert_eq!(s.memory.limit, Some(67108864));
    assert_eq!((s.memory.cache, s.memory.rss), (4096, 8192));
    assert_eq!(s.memory.swap, Some(65536));
    assert_eq!(
        (s.cpu.usage_total, s.cpu.usage_user, s.cpu.usage_system),
        (5000000, 3000000, 2000000)
    );
    assert_eq!(s.cpu.per_cpu, vec![4000000, 1000000]);
    assert_eq!(
        (s.cpu.nr_periods, s.cpu.nr_throttled, s.cpu.throttled_time),
        (12, 4, 987654)
    );
    assert_eq!(
        s.pids,
        PidsStats {
            current: 3,
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
        (4096, 512, 2, 1)
    );
}

#[test]
fn stats_fall_back_to_cpuacct_stat_ticks() {
    let (_root, m) = fake(&["cpuacct"]);
    let dir = m.dir("cpuacct").unwrap();
    fs::remove_file(dir.join("cpuacct.usage_user")).unwrap();
    fs::write(dir.join("cpuacct.stat"), "user 3\nsystem 1\n").unwrap();
    let s = m.stats().unwrap();
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .unwrap()
        .unwrap() as u64;
    assert_eq!(s.cpu.usage_user, 3 * (1_000_000_000 / hz));
    assert_eq!(s.cpu.usage_system, 1_000_000_000 / hz);
    assert_eq!(
        s.memory,
        MemoryStats::default(),
        "no memory hierarchy, no figures"
    );
}

#[test]
fn oom_kill_count_reads_oom_control() {
    let (_root, m) = fake(&["memory"]);
    assert_eq!(m.oom_kill_count().unwrap(), 3);
    fs::write(
        m.dir("memory").unwrap().join("memory.oom_control"),
        "oom_kill_disable 0\n",
    )
    .unwrap();
    assert_eq!(
        m.oom_kill_count().unwrap_err().kind(),
        ErrorKind::NotImplemented
    );
}

#[test]
fn pids_are_read_recursively_from_the_freezer() {
    let (_root, m) = fake(&["memory", "freezer"]);
    let dir = m.dir("freezer").unwrap();
    fs::write(dir.join("cgroup.procs"), "10\n11\n").unwrap();
    write_files(&dir.join("sub"), &[("cgroup.procs", "12\n")]);
    fs::write(m.dir("memory").unwrap().join("cgroup.procs"), "99\n").unwrap();
    assert_eq!(m.pids().unwrap(), vec![10, 11, 12]);
}

#[test]
fn kill_all_signals_and_restores_the_freezer() {
    let (_root, m) = fake(&["freezer"]);
    let me = std::process::id().to_string();
    fs::write(
        m.dir("freezer").unwrap().join("cgroup.procs"),
        format!("{me}\n2147483646\n"),
    )
    .unwrap();
    // SIGCONT to ourselves is harmless; the vanished pid is skipped.
    m.kill_all(libc::SIGCONT).unwrap();
    assert_eq!(file(&m, "freezer", "freezer.state"), "THAWED");
    // A frozen cgroup stays frozen for a signal other than SIGKILL.
    fs::write(m.dir("freezer").unwrap().join("freezer.state"), "FROZEN\n").unwrap();
    m.kill_all(libc::SIGCONT).unwrap();
    assert_eq!(file(&m, "freezer", "freezer.state"), "FROZEN\n");
    assert_eq!(
        m.kill_all(1000).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
}

#[test]
fn remove_of_a_missing_cgroup_is_fine() {
    let (root, _) = fake(&["pids"]);
    let m = V1Manager::with_hierarchies(
        vec![Hierarchy::v1(root.path().join("pids"), &["pids"])],
        Path::new("/never"),
    );
    m.remove().unwrap();
    let empty = V1Manager::with_hierarchies(
        vec![Hierarchy::v1(root.path().join("pids"), &["pids"])],
        Path::new("/e/f"),
    );
    empty.create().unwrap();
    empty.remove().unwrap();
    assert!(!root.path().join("pids/e/f").exists());
}
