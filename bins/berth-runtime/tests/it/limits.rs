//! cgroup limits are enforced and reported by the runtime itself (`events --stats`), not
//! inferred from wall time.

use berth_testutil::require_root;
use serde_json::json;

use crate::harness::{sh, stderr, stdout, Rt};

/// Runs the bundle in the foreground with `--keep`, then returns its output and the runtime's
/// `events --stats` report taken after the exit, before deleting it.
fn run_then_stats(
    b: &berth_testutil::Bundle,
    prefix: &str,
) -> (std::process::Output, serde_json::Value) {
    let rt = Rt::berth();
    let guard = rt.guard(prefix);
    let id = guard.id.clone();
    let out = rt
        .cmd()
        .args(["run", "--keep", "--bundle"])
        .arg(b.path())
        .arg(&id)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&rt.ok(&["events", "--stats", &id])).unwrap();
    assert_eq!(v["type"], "stats");
    rt.ok(&["delete", "--force", &id]);
    (out, v["data"].clone())
}

#[test]
fn memory_limit_oom_kills_and_is_reported() {
    require_root!();
    let mut b = sh("a=$(head -c 200000000 /dev/zero | tr '\\0' x); echo survived");
    b.edit(|c| c["linux"]["resources"]["memory"] = json!({"limit": 32 << 20}));
    let (out, s) = run_then_stats(&b, "oom");
    assert!(
        s["memory"]["oomKills"].as_u64().unwrap() >= 1,
        "OOM kill reported: {s}; run said {:?} {}",
        out.status,
        stderr(&out)
    );
    assert_eq!(
        s["memory"]["usage"]["limit"].as_u64(),
        Some(32 << 20),
        "{s}"
    );
    assert!(
        !stdout(&out).contains("survived") || out.status.code() != Some(0),
        "the hog did not get its memory"
    );
}

#[test]
fn pids_limit_makes_fork_fail() {
    require_root!();
    let mut b = sh("for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 2 & done 2>&1; wait");
    b.edit(|c| c["linux"]["resources"]["pids"] = json!({"limit": 6}));
    let out = Rt::berth().run(&b, &berth_testutil::unique("pids"));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(all.contains("fork"), "fork must fail beyond 6 pids: {all}");
}

#[test]
fn cpu_quota_throttles_and_cpuset_pins() {
    require_root!();
    let mut b = sh("grep Cpus_allowed_list /proc/self/status; i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done");
    b.edit(|c| {
        c["linux"]["resources"]["cpu"] =
            json!({"quota": 5000, "period": 100000, "cpus": "0", "shares": 512})
    });
    let (out, s) = run_then_stats(&b, "cpu");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Cpus_allowed_list:\t0\n"),
        "cpuset pins to cpu 0: {}",
        stdout(&out)
    );
    let throttled = s["cpu"]["throttling"]["throttledPeriods"].as_u64().unwrap();
    assert!(
        throttled > 0,
        "a busy loop under a 5% quota is throttled: {s}"
    );
    assert!(s["cpu"]["usage"]["total"].as_u64().unwrap() > 0);
}

#[test]
fn rlimit_above_hard_is_refused_with_a_reason() {
    require_root!();
    let mut b = sh("true");
    b.edit(|c| {
        c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 4096, "hard": 1024}])
    });
    let rt = Rt::berth();
    let out = rt.run(&b, &berth_testutil::unique("rlim"));
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("soft limit 4096 is above the hard limit 1024"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(rt.root.path()).unwrap().count(),
        0,
        "nothing left behind"
    );
}

#[test]
fn host_wide_sysctls_are_refused_before_anything_is_created() {
    require_root!();
    let mut b = sh("true");
    b.edit(|c| c["linux"]["sysctl"] = json!({"vm.overcommit_memory": "1"}));
    let rt = Rt::berth();
    let out = rt.run(&b, &berth_testutil::unique("sysctl"));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not namespaced"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_dir(rt.root.path()).unwrap().count(),
        0,
        "nothing left behind"
    );
}
