//! create → start → state → kill → delete, exec, pause/resume, hooks and exit codes, with the
//! statuses and errors runc's callers rely on.

use std::time::Duration;

use berth_testutil::require_root;
use serde_json::json;

use crate::harness::{sh, stderr, stdout, wait_status, Rt};

#[test]
fn create_start_kill_delete() {
    require_root!();
    let b = sh("sleep 30");
    let rt = Rt::berth();
    let guard = rt.guard("life");
    let id = guard.id.clone();
    let pid_file = b.path().join("pid");
    rt.ok(&[
        "create",
        "--bundle",
        b.path().to_str().unwrap(),
        "--pid-file",
        pid_file.to_str().unwrap(),
        &id,
    ]);
    let st = rt.state(&id);
    assert_eq!(st["status"], "created");
    assert_eq!(st["id"], id.as_str());
    let pid = st["pid"].as_i64().unwrap();
    assert_eq!(std::fs::read_to_string(&pid_file).unwrap(), pid.to_string());
    assert_eq!(
        st["bundle"],
        b.path().canonicalize().unwrap().to_str().unwrap()
    );
    // Before start the user program has not run: init is still berth-runtime.
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    assert_ne!(comm.trim(), "sleep");

    rt.ok(&["start", &id]);
    wait_status(&rt, &id, "running");
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    assert_eq!(comm.trim(), "sleep");
    let (ok, err) = rt.try_cmd(&["start", &id]);
    assert!(!ok && err.contains("cannot start"), "{err}");

    let (ok, err) = rt.try_cmd(&["delete", &id]);
    assert!(
        !ok && err.contains("running"),
        "delete of a running container is refused: {err}"
    );

    rt.ok(&["kill", &id, "KILL"]);
    wait_status(&rt, &id, "stopped");
    rt.ok(&["delete", &id]);
    let (ok, err) = rt.try_cmd(&["state", &id]);
    assert!(!ok && err.contains("does not exist"), "{err}");
    assert!(
        !crate::harness::v1_dir("pids", b.config["linux"]["cgroupsPath"].as_str().unwrap())
            .exists(),
        "cgroup removed"
    );
}

#[test]
fn create_fails_early_on_a_missing_program_and_leaves_nothing() {
    require_root!();
    let b = sh("true");
    let mut b = b;
    b.edit(|c| c["process"]["args"] = json!(["no-such-program"]));
    let rt = Rt::berth();
    let guard = rt.guard("missing");
    let id = guard.id.clone();
    let (ok, err) = rt.try_cmd(&["create", "--bundle", b.path().to_str().unwrap(), &id]);
    assert!(!ok);
    assert!(err.contains("executable file not found"), "{err}");
    assert_eq!(std::fs::read_dir(rt.root.path()).unwrap().count(), 0);
    assert!(
        !crate::harness::v1_dir("memory", b.config["linux"]["cgroupsPath"].as_str().unwrap())
            .exists(),
        "cgroup cleaned up"
    );
}

#[test]
fn duplicate_ids_and_bad_ids_are_refused() {
    require_root!();
    let b = sh("sleep 10");
    let rt = Rt::berth();
    let guard = rt.guard("dup");
    let id = guard.id.clone();
    rt.ok(&["create", "--bundle", b.path().to_str().unwrap(), &id]);
    let (ok, err) = rt.try_cmd(&["create", "--bundle", b.path().to_str().unwrap(), &id]);
    assert!(!ok && err.contains("already exists"), "{err}");
    rt.ok(&["delete", "--force", &id]);
    let (ok, err) = rt.try_cmd(&["create", "--bundle", b.path().to_str().unwrap(), "../evil"]);
    assert!(!ok && err.contains("contains '/'"), "{err}");
}

#[test]
fn run_returns_the_exit_code() {
    require_root!();
    let out = Rt::berth().run(
        &sh("echo out; echo err >&2; exit 42"),
        &berth_testutil::unique("exit"),
    );
    assert_eq!(out.status.code(), Some(42));
    assert_eq!(stdout(&out), "out\n");
    assert_eq!(stderr(&out), "err\n");
}

#[test]
fn exec_joins_the_container() {
    require_root!();
    let b = sh("echo inside > /dev/shm/mark; sleep 30");
    let rt = Rt::berth();
    let guard = rt.guard("exec");
    let id = guard.id.clone();
    rt.run_detached(&b, &id);
    std::thread::sleep(Duration::from_millis(100));
    let out = rt
        .cmd()
        .args([
            "exec",
            "-e",
            "FOO=bar",
            &id,
            "sh",
            "-c",
            "hostname; cat /dev/shm/mark; echo $FOO; echo $$; ls /proc | grep -c '^[0-9]'; exit 3",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "exit code of the exec'd process: {}",
        stderr(&out)
    );
    let text = stdout(&out);
    let l: Vec<&str> = text.lines().collect();
    assert_eq!(
        &l[..3],
        ["berth", "inside", "bar"],
        "same uts, same mounts, env added: {text}"
    );
    assert_ne!(l[3], "1");
    assert!(
        l[4].parse::<u32>().unwrap() <= 4,
        "same pid namespace: {text}"
    );
    let ps: Vec<i32> = serde_json::from_str(&rt.ok(&["ps", "--format", "json", &id])).unwrap();
    assert_eq!(ps.len(), 1, "only init remains: {ps:?}");

    rt.ok(&["pause", &id]);
    assert_eq!(rt.state(&id)["status"], "paused");
    let (ok, err) = rt.try_cmd(&["exec", &id, "true"]);
    assert!(!ok && err.contains("paused"), "{err}");
    rt.ok(&["resume", &id]);
    assert_eq!(rt.state(&id)["status"], "running");
    rt.ok(&["delete", "--force", &id]);
}

#[test]
fn hooks_run_with_the_state_on_stdin() {
    require_root!();
    let mut b = sh("true");
    let out_dir = tempfile::tempdir().unwrap();
    let pre = out_dir.path().join("prestart.json");
    let post = out_dir.path().join("poststop.json");
    b.edit(|c| c["hooks"] = json!({
        "prestart": [{"path": "/bin/sh", "args": ["sh", "-c", format!("cat > {}", pre.display())]}],
        "poststop": [{"path": "/bin/sh", "args": ["sh", "-c", format!("cat > {}", post.display())]}]
    }));
    let rt = Rt::berth();
    let guard = rt.guard("hooks");
    let id = guard.id.clone();
    let out = rt.run(&b, &id);
    assert!(out.status.success(), "{}", stderr(&out));
    let st: serde_json::Value = serde_json::from_slice(&std::fs::read(&pre).unwrap()).unwrap();
    assert_eq!(st["id"], id.as_str());
    assert!(
        st["pid"].as_i64().unwrap() > 0,
        "prestart sees the init pid: {st}"
    );
    let st: serde_json::Value = serde_json::from_slice(&std::fs::read(&post).unwrap()).unwrap();
    assert_eq!(st["id"], id.as_str());
}

#[test]
fn a_failing_prestart_hook_fails_create() {
    require_root!();
    let mut b = sh("true");
    b.edit(|c| c["hooks"] = json!({"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", "echo nope >&2; exit 3"]}]}));
    let rt = Rt::berth();
    let (ok, err) = rt.try_cmd(&[
        "create",
        "--bundle",
        b.path().to_str().unwrap(),
        &berth_testutil::unique("badhook"),
    ]);
    assert!(!ok);
    assert!(
        err.contains("prestart hook") && err.contains("nope"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(rt.root.path()).unwrap().count(), 0);
}

#[test]
fn update_changes_limits_of_a_running_container() {
    require_root!();
    let b = sh("sleep 30");
    let rt = Rt::berth();
    let guard = rt.guard("update");
    let id = guard.id.clone();
    rt.run_detached(&b, &id);
    rt.ok(&[
        "update",
        "--memory",
        "50331648",
        "--pids-limit",
        "17",
        "--cpu-quota",
        "20000",
        "--cpu-period",
        "100000",
        &id,
    ]);
    let stats: serde_json::Value =
        serde_json::from_str(&rt.ok(&["events", "--stats", &id])).unwrap();
    assert_eq!(
        stats["data"]["memory"]["usage"]["limit"], 50331648,
        "{stats}"
    );
    assert_eq!(stats["data"]["pids"]["limit"], 17, "{stats}");
    let cg = b.config["linux"]["cgroupsPath"].as_str().unwrap();
    let quota = std::fs::read_to_string(crate::harness::v1_dir("cpu", cg).join("cpu.cfs_quota_us"))
        .unwrap();
    assert_eq!(quota.trim(), "20000");
    // A device list from containerd (`update --resources -`) keeps the default devices usable.
    let res =
        serde_json::json!({"devices": [{"allow": false, "access": "rwm"}], "pids": {"limit": 18}});
    let f = b.path().join("res.json");
    std::fs::write(&f, res.to_string()).unwrap();
    rt.ok(&["update", "--resources", f.to_str().unwrap(), &id]);
    let out = rt
        .cmd()
        .args([
            "exec",
            &id,
            "sh",
            "-c",
            "echo ok > /dev/null && echo null-works",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "null-works\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (ok, err) = rt.try_cmd(&["update", "--memory", "4096", &id]);
    assert!(
        !ok && err.contains("memory"),
        "a limit below usage is refused with a reason: {err}"
    );
}
