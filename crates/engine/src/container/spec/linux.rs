//! `linux`: the masked and read-only paths and `linux.resources` (devices, memory, cpu, pids).

use serde_json::{json, Value};

use crate::container::options::{CreateOptions, CPU_PERIOD};

/// moby's default masked paths (`oci.DefaultLinuxSpec`).
pub const MASKED_PATHS: [&str; 11] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];
/// moby's default read-only paths.
pub const READONLY_PATHS: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// `linux.resources`: devices (default deny + Docker's defaults, or all when privileged),
/// memory, cpu, pids.
pub(crate) fn resources(opts: &CreateOptions) -> Value {
    let hc = &opts.host_config;
    let devices = if hc.privileged {
        json!([{"allow": true, "access": "rwm"}])
    } else {
        let dev = |allow: bool, major: i64, minor: i64| json!({"allow": allow, "type": "c", "major": major, "minor": minor, "access": "rwm"});
        json!([
            {"allow": false, "access": "rwm"},
            dev(true, 1, 5),   // /dev/zero
            dev(true, 1, 3),   // /dev/null
            dev(true, 1, 9),   // /dev/urandom
            dev(true, 1, 8),   // /dev/random
            dev(true, 5, 0),   // /dev/tty
            dev(true, 5, 1),   // /dev/console
            dev(false, 10, 229), // /dev/net/tun
        ])
    };
    let mut res = json!({"devices": devices});

    let mut memory = serde_json::Map::new();
    if hc.memory > 0 {
        memory.insert("limit".into(), json!(hc.memory));
    }
    if hc.memory_reservation > 0 {
        memory.insert("reservation".into(), json!(hc.memory_reservation));
    }
    // Docker's adaptContainerSettings: swap defaults to twice the memory limit.
    let swap = match (hc.memory, hc.memory_swap) {
        (m, 0) if m > 0 => m * 2,
        (_, s) => s,
    };
    if swap != 0 {
        memory.insert("swap".into(), json!(swap));
    }
    if !memory.is_empty() {
        res["memory"] = Value::Object(memory);
    }

    let mut cpu = serde_json::Map::new();
    if hc.cpu_shares != 0 {
        cpu.insert("shares".into(), json!(hc.cpu_shares));
    }
    if !hc.cpuset_cpus.is_empty() {
        cpu.insert("cpus".into(), json!(hc.cpuset_cpus));
    }
    if !hc.cpuset_mems.is_empty() {
        cpu.insert("mems".into(), json!(hc.cpuset_mems));
    }
    if hc.nano_cpus > 0 {
        cpu.insert("period".into(), json!(CPU_PERIOD));
        cpu.insert(
            "quota".into(),
            json!(hc.nano_cpus * CPU_PERIOD / 1_000_000_000),
        );
    }
    if hc.cpu_period != 0 {
        cpu.insert("period".into(), json!(hc.cpu_period));
    }
    if hc.cpu_quota != 0 {
        cpu.insert("quota".into(), json!(hc.cpu_quota));
    }
    if !cpu.is_empty() {
        res["cpu"] = Value::Object(cpu);
    }
    if let Some(p) = hc.pids_limit {
        // Docker: 0 and negative mean unlimited, which runc spells -1.
        res["pids"] = json!({"limit": if p <= 0 { -1 } else { p }});
    }
    if hc.blkio_weight > 0 {
        res["blockIO"] = json!({"weight": hc.blkio_weight});
    }
    res
}
