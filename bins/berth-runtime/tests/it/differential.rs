//! The same bundles run by berth-runtime and by runc (Debian's, the reference implementation):
//! exit code and everything the process prints about itself must match. A difference is a bug
//! unless this file says why berth is right.
//!
//! The table is printed (run with `--nocapture` to see it) and summarised in docs/RUNTIME.md.

use berth_testutil::{require_root, Bundle};
use serde_json::{json, Value};

use crate::harness::{stdout, Rt};

type Edit = fn(&mut Value);

/// Cases where berth-runtime deliberately differs from Debian's runc 1.1.5, and why.
const EXPLAINED: &[(&str, &str)] = &[
    ("hostname+domainname", "runc 1.1.5 ignores the spec's `domainname`; berth sets it (OCI runtime spec 1.0.2+, checked in isolation.rs)"),
    ("mounts", "runc 1.1.5 leaves the tmpfs at /sys/fs/cgroup writable although the mount says `ro`; berth honours `ro` there as on every mount (Docker on cgroup v1 shows it read-only too); all other mounts are identical"),
];

/// (name, script, config edit). Scripts print only what must be identical.
fn cases() -> Vec<(&'static str, &'static str, Edit)> {
    vec![
        ("hostname+domainname", "cat /proc/sys/kernel/hostname /proc/sys/kernel/domainname", |c| { c["hostname"] = "h1".into(); c["domainname"] = "example.test".into(); }),
        ("uid/gid/groups", "id", |c| c["process"]["user"] = json!({"uid": 1000, "gid": 1000, "additionalGids": [10, 20]})),
        ("umask", "umask", |c| c["process"]["user"]["umask"] = 0o027.into()),
        ("cwd+env", "pwd; echo $FOO; env | grep -c =", |c| { c["process"]["cwd"] = "/tmp".into(); c["process"]["env"].as_array_mut().unwrap().push("FOO=bar baz".into()); }),
        ("rlimits", "ulimit -n; ulimit -Hn; ulimit -c", |c| c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456}, {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}])),
        ("capabilities", "grep -E '^Cap' /proc/self/status", |c| {
            let caps = json!(["CAP_CHOWN", "CAP_NET_RAW", "CAP_SETUID"]);
            c["process"]["capabilities"] = json!({"bounding": caps, "effective": caps, "permitted": caps, "inheritable": ["CAP_CHOWN"], "ambient": ["CAP_CHOWN"]});
        }),
        ("capabilities non-root", "grep -E '^Cap' /proc/self/status", |c| {
            let caps = json!(["CAP_CHOWN", "CAP_NET_BIND_SERVICE"]);
            c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
            c["process"]["capabilities"] = json!({"bounding": caps, "effective": caps, "permitted": caps, "inheritable": caps, "ambient": ["CAP_NET_BIND_SERVICE"]});
        }),
        ("ambient without inheritable (runc spec)", "grep -E '^Cap' /proc/self/status", |c| {
            let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
            c["process"]["capabilities"] = json!({"bounding": caps, "effective": caps, "permitted": caps, "ambient": caps});
        }),
        ("no_new_privileges off", "grep NoNewPrivs /proc/self/status", |c| c["process"]["noNewPrivileges"] = false.into()),
        ("seccomp errno", "grep -E 'Seccomp:' /proc/self/status; mkdir /tmp/x 2>&1; echo $?", |c| {
            c["root"]["readonly"] = false.into();
            c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]});
        }),
        ("read-only root", "touch /x 2>&1; echo $?", |_| {}),
        ("writable root", "touch /x 2>&1; echo $?", |c| c["root"]["readonly"] = false.into()),
        ("mounts", "cat /proc/self/mountinfo | awk '{print $5, $6, $9}' | sort", |_| {}),
        ("devices", "ls -l /dev | awk '{print $1, $5, $6, $NF}' | sort", |_| {}),
        ("sysctl", "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax", |c| c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1", "kernel.msgmax": "12345"})),
        ("oom_score_adj", "cat /proc/self/oom_score_adj", |c| c["process"]["oomScoreAdj"] = 500.into()),
        ("masked paths", "wc -c < /proc/kcore; ls /sys/firmware | wc -l; cat /proc/timer_list | wc -c", |_| {}),
        ("cgroup view", "cat /proc/self/cgroup | cut -d: -f2- | sort", |_| {}),
        ("memory+pids limits inside", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.shares", |c| c["linux"]["resources"] = json!({"devices": [{"allow": false, "access": "rwm"}], "memory": {"limit": 67108864}, "pids": {"limit": 100}, "cpu": {"shares": 512}})),
        ("cpuset", "grep -E 'Cpus_allowed_list' /proc/self/status", |c| c["linux"]["resources"]["cpu"] = json!({"cpus": "0"})),
        ("user namespace", "id; cat /proc/self/uid_map /proc/self/gid_map", |c| {
            c["linux"]["namespaces"].as_array_mut().unwrap().push(json!({"type": "user"}));
            c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 300000, "size": 65536}]);
            c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 300000, "size": 65536}]);
        }),
        ("user namespace + oom_score_adj", "id -u; cat /proc/self/oom_score_adj", |c| {
            c["linux"]["namespaces"].as_array_mut().unwrap().push(json!({"type": "user"}));
            c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 310000, "size": 65536}]);
            c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 310000, "size": 65536}]);
            c["process"]["oomScoreAdj"] = 300.into();
        }),
        ("exit code", "exit 7", |_| {}),
        ("join network namespace by path", "readlink /proc/self/ns/net; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort", |c| {
            let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
            ns.retain(|n| n["type"] != "network");
            ns.push(json!({"type": "network", "path": format!("/proc/{}/ns/net", shared_netns_holder())}));
        }),
        ("rootfs propagation", "awk '$5 == \"/\" {print $7}' /proc/self/mountinfo", |c| c["linux"]["rootfsPropagation"] = "private".into()),
        ("extra device", "ls -l /dev/fuse | awk '{print $1, $5, $6}'", |c| {
            c["linux"]["devices"] = json!([{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438, "uid": 0, "gid": 0}]);
            c["linux"]["resources"]["devices"] = json!([{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rwm"}]);
        }),
        ("fds", "ls /proc/self/fd", |_| {}),
        ("tmpfs options", "grep ' /dev/shm ' /proc/self/mountinfo | awk '{print $6, $NF}'", |_| {}),
        ("bind ro", "cat /data/f; touch /data/g 2>&1; echo $?", |c| {
            let d = std::env::temp_dir().join(berth_testutil::unique("bind-src"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("f"), "content\n").unwrap();
            c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/data", "type": "bind", "source": d, "options": ["rbind", "ro"]}));
        }),
    ]
}

/// A process holding a network namespace (with a dummy link) that both runtimes join by path.
static NETNS_HOLDER: std::sync::Mutex<Option<std::process::Child>> = std::sync::Mutex::new(None);

fn shared_netns_holder() -> u32 {
    let mut holder = NETNS_HOLDER.lock().unwrap();
    holder
        .get_or_insert_with(|| {
            let child = std::process::Command::new("unshare")
                .args([
                    "--net",
                    "sh",
                    "-c",
                    "ip link add d0 type dummy 2>/dev/null || true; exec sleep 120",
                ])
                .spawn()
                .expect("unshare --net");
            std::thread::sleep(std::time::Duration::from_millis(200));
            child
        })
        .id()
}

fn stop_netns_holder() {
    if let Some(mut c) = NETNS_HOLDER.lock().unwrap().take() {
        let _ = c.kill();
        let _ = c.wait();
    }
}

#[test]
fn berth_runtime_matches_runc() {
    require_root!();
    let Some(runc) = Rt::runc() else {
        eprintln!("skipped: runc is not installed");
        return;
    };
    let berth = Rt::berth();
    let mut table = vec![
        "| case | berth-runtime | runc | same |".to_string(),
        "|---|---|---|---|".to_string(),
    ];
    let mut diffs = Vec::new();
    for (name, script, edit) in cases() {
        let mut results = Vec::new();
        for rt in [&berth, &runc] {
            let mut b = Bundle::new(&["sh", "-c", script]);
            let cg = format!("/{}", berth_testutil::unique("berth-test"));
            b.edit(|c| {
                c["linux"]["cgroupsPath"] = cg.into();
                edit(c);
            });
            let out = rt.run(&b, &berth_testutil::unique("diff"));
            results.push((
                out.status.code(),
                stdout(&out),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ));
        }
        let same = results[0].0 == results[1].0 && results[0].1 == results[1].1;
        let explained = EXPLAINED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, why)| *why);
        let short = |r: &(Option<i32>, String, String)| {
            format!("exit {:?}, {} lines", r.0, r.1.lines().count())
        };
        let verdict = match (same, explained) {
            (true, _) => "yes".to_string(),
            (false, Some(why)) => format!("differs, explained: {why}"),
            (false, None) => "NO".to_string(),
        };
        table.push(format!(
            "| {name} | {} | {} | {verdict} |",
            short(&results[0]),
            short(&results[1])
        ));
        if !same && explained.is_none() {
            diffs.push(format!(
                "{name}:\n--- berth-runtime ({:?})\n{}{}\n--- runc ({:?})\n{}{}",
                results[0].0, results[0].1, results[0].2, results[1].0, results[1].1, results[1].2
            ));
        }
    }
    stop_netns_holder();
    println!("{}", table.join("\n"));
    assert!(
        diffs.is_empty(),
        "berth-runtime and runc differ:\n{}",
        diffs.join("\n")
    );
}
