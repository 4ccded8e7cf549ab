//! state, list, ps, features, events: read-only views, printed as runc prints them.

use anyhow::{bail, Result};
use berth_runtime::Runtime;

pub(crate) fn state(rt: &Runtime, id: &str) -> Result<i32> {
    let st = rt.state(id)?;
    println!(
        "{}",
        serde_json::to_string_pretty(&st.to_oci_json(rt.root()))?
    );
    Ok(0)
}

pub(crate) fn list(rt: &Runtime, format: &str, quiet: bool) -> Result<i32> {
    let all = rt.list()?;
    if quiet {
        for s in &all {
            println!("{}", s.id);
        }
        return Ok(0);
    }
    match format {
        "json" => {
            let v: Vec<_> = all.iter().map(|s| s.to_oci_json(rt.root())).collect();
            println!("{}", serde_json::to_string(&v)?);
        }
        "table" => {
            println!(
                "{:<20} {:<8} {:<10} {:<40} CREATED",
                "ID", "PID", "STATUS", "BUNDLE"
            );
            for s in &all {
                let j = s.to_oci_json(rt.root());
                println!(
                    "{:<20} {:<8} {:<10} {:<40} {}",
                    s.id,
                    j["pid"],
                    j["status"].as_str().unwrap_or(""),
                    s.bundle.display(),
                    j["created"].as_str().unwrap_or("")
                );
            }
        }
        f => bail!("unknown format {f:?}: use table or json"),
    }
    Ok(0)
}

pub(crate) fn ps(rt: &Runtime, id: &str, format: &str, ps_args: &[String]) -> Result<i32> {
    let pids = rt.pids(id)?;
    match format {
        "json" => println!("{}", serde_json::to_string(&pids)?),
        "table" => {
            let args: Vec<String> = if ps_args.is_empty() {
                vec!["-ef".into()]
            } else {
                ps_args.to_vec()
            };
            let out = std::process::Command::new("ps").args(&args).output()?;
            let text = String::from_utf8_lossy(&out.stdout);
            let mut lines = text.lines();
            let Some(header) = lines.next() else {
                bail!("ps printed nothing")
            };
            let pid_col = header
                .split_whitespace()
                .position(|h| h == "PID")
                .ok_or_else(|| anyhow::anyhow!("ps output has no PID column"))?;
            println!("{header}");
            for l in lines {
                if let Some(p) = l
                    .split_whitespace()
                    .nth(pid_col)
                    .and_then(|p| p.parse::<i32>().ok())
                {
                    if pids.contains(&p) {
                        println!("{l}");
                    }
                }
            }
        }
        f => bail!("unknown format {f:?}: use table or json"),
    }
    Ok(0)
}

pub(crate) fn features() -> Result<i32> {
    let doc = serde_json::json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": "1.2.0",
        "hooks": ["prestart", "createRuntime", "poststart", "poststop"],
        "mountOptions": ["ro","rw","nosuid","suid","nodev","dev","noexec","exec","sync","async","dirsync","remount","mand","nomand","atime","noatime","diratime","nodiratime","relatime","norelatime","strictatime","nostrictatime","bind","rbind","private","rprivate","shared","rshared","slave","rslave","unbindable","runbindable"],
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "user", "uts"],
            "capabilities": (0..64).filter_map(berth_runtime::caps::by_number).map(berth_runtime::caps::name).collect::<Vec<_>>(),
            "cgroup": {"v1": true, "v2": true, "systemd": false, "systemdUser": false},
            "seccomp": {"enabled": true, "actions": ["SCMP_ACT_ALLOW","SCMP_ACT_ERRNO","SCMP_ACT_KILL","SCMP_ACT_KILL_PROCESS","SCMP_ACT_KILL_THREAD","SCMP_ACT_LOG","SCMP_ACT_TRACE","SCMP_ACT_TRAP"],
                "operators": ["SCMP_CMP_EQ","SCMP_CMP_GE","SCMP_CMP_GT","SCMP_CMP_LE","SCMP_CMP_LT","SCMP_CMP_MASKED_EQ","SCMP_CMP_NE"]},
            "apparmor": {"enabled": false},
            "selinux": {"enabled": false},
        },
        "annotations": {"org.opencontainers.runc.version": "berth-runtime", "io.github.berth.version": env!("CARGO_PKG_VERSION")},
    });
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(0)
}

pub(crate) fn events(rt: &Runtime, id: &str, stats: bool) -> Result<i32> {
    if !stats {
        bail!("only `events --stats` is supported: it prints one statistics snapshot");
    }
    let s = rt.stats(id)?;
    let oom = rt.oom_kills(id)?;
    // runc's `events --stats` shape (types.Stats), plus berth's memory.oomKills.
    let doc = serde_json::json!({
        "type": "stats",
        "id": id,
        "data": {
            "cpu": {
                "usage": {"total": s.cpu.usage_total, "percpu": s.cpu.per_cpu, "kernel": s.cpu.usage_system, "user": s.cpu.usage_user},
                "throttling": {"periods": s.cpu.nr_periods, "throttledPeriods": s.cpu.nr_throttled, "throttledTime": s.cpu.throttled_time},
            },
            "memory": {
                "cache": s.memory.cache,
                "usage": {"usage": s.memory.usage, "max": s.memory.max_usage, "limit": s.memory.limit},
                "swap": {"usage": s.memory.swap},
                "raw": s.memory.stat,
                "oomKills": oom,
            },
            "pids": {"current": s.pids.current, "limit": s.pids.limit},
            "blkio": {
                "ioServiceBytesRecursive": [{"op": "Read", "value": s.io.read_bytes}, {"op": "Write", "value": s.io.write_bytes}],
                "ioServicedRecursive": [{"op": "Read", "value": s.io.read_ops}, {"op": "Write", "value": s.io.write_ops}],
            },
        },
    });
    println!("{doc}");
    Ok(0)
}
