//! The container sees only itself: pid 1, its own hostname, no host processes, only `lo`, no
//! host mounts, and its user-namespace mapping from both sides.

use berth_testutil::require_root;

use crate::harness::{run_ok, sh, Rt};

#[test]
fn pid_hostname_net_and_mounts_are_private() {
    require_root!();
    let mut b = sh("echo pid=$$; hostname; cat /proc/sys/kernel/domainname; ls /proc | grep -c '^[0-9]'; cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '; cat /proc/self/mountinfo");
    b.edit(|c| c["domainname"] = "example.test".into());
    let out = run_ok(&Rt::berth(), &b);
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("pid=1"), "init is pid 1: {out}");
    assert_eq!(lines.next(), Some("berth"), "hostname from config: {out}");
    assert_eq!(
        lines.next(),
        Some("example.test"),
        "domainname from config: {out}"
    );
    let nprocs: u32 = lines.next().unwrap().trim().parse().unwrap();
    assert!(
        nprocs <= 3,
        "only the container's processes are visible, saw {nprocs}: {out}"
    );
    assert_eq!(lines.next(), Some("lo"), "a new net ns has only lo: {out}");
    let rest: Vec<&str> = lines.collect();
    let mountinfo = rest.join("\n");
    assert!(
        !mountinfo.contains("/work"),
        "host mounts must be invisible: {mountinfo}"
    );
    // The rootfs is read-only ("readonly": true in the config).
    let root_line = rest
        .iter()
        .find(|l| l.split(' ').nth(4) == Some("/"))
        .expect("root mount");
    assert!(
        root_line
            .split(' ')
            .nth(5)
            .unwrap()
            .split(',')
            .any(|o| o == "ro"),
        "root is read-only: {root_line}"
    );
}

#[test]
fn user_namespace_maps_ids_both_ways() {
    require_root!();
    let mut b = sh(
        "id -u; id -g; cat /proc/self/uid_map; touch /tmp/owned && stat -c %u /tmp/owned; sleep 2",
    );
    b.edit(|c| {
        c["linux"]["namespaces"].as_array_mut().unwrap().push(serde_json::json!({"type": "user"}));
        c["linux"]["uidMappings"] = serde_json::json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
        c["linux"]["gidMappings"] = serde_json::json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
        c["root"]["readonly"] = false.into();
        c["mounts"].as_array_mut().unwrap().push(serde_json::json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]}));
    });
    let rt = Rt::berth();
    let id = berth_testutil::unique("userns");
    let child = rt
        .cmd()
        .args(["run", "--bundle"])
        .arg(b.path())
        .arg(&id)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Seen from outside, while it sleeps: the init runs as host uid 200000.
    let mut outside = None;
    for _ in 0..200 {
        std::thread::sleep(std::time::Duration::from_millis(10));
        if let Ok(st) = rt.cmd().args(["state", &id]).output() {
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&st.stdout) {
                if let Some(pid) = v["pid"].as_i64().filter(|p| *p > 0) {
                    if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
                        outside = status
                            .lines()
                            .find(|l| l.starts_with("Uid:"))
                            .map(str::to_string);
                        if outside.as_deref().is_some_and(|l| l.contains("200000")) {
                            break;
                        }
                    }
                }
            }
        }
    }
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "0", "root inside: {text}");
    assert_eq!(lines[1], "0");
    let map: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(map, ["0", "200000", "65536"], "uid_map inside: {text}");
    assert_eq!(
        lines[3], "0",
        "a file made by root inside is owned by root inside"
    );
    let outside = outside.expect("saw the init from outside");
    assert!(
        outside.split_whitespace().skip(1).all(|u| u == "200000"),
        "outside, init runs as 200000: {outside}"
    );
}
