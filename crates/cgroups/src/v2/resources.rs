//! OCI `linux.resources` to cgroup v2 file writes.
//!
//! Why conversions: the OCI fields are v1's vocabulary. Shares become `cpu.weight`, blkio
//! weights become `io.weight`, memory+swap becomes swap alone (`memory.swap.max`), "no limit"
//! becomes `max`. Settings with no v2 counterpart (realtime CPU, swappiness, OOM-killer off,
//! net_cls/net_prio) are refused with an explanation rather than silently dropped.

use std::collections::BTreeMap;

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxResources};

use super::V2Manager;
use crate::convert::{
    self, blkio_weight_to_io_weight, check_page_size, pids_max, shares_to_weight,
};
use crate::files::Write;
use crate::CgroupError;

/// `max` for "no limit" (negative values), the number otherwise.
fn limit_or_max(v: i64) -> String {
    if v < 0 {
        "max".to_string()
    } else {
        v.to_string()
    }
}

fn unsupported(what: &str) -> CgroupError {
    CgroupError::Unsupported(format!(
        "{what} has no cgroup v2 equivalent on this host: drop the setting"
    ))
}

impl V2Manager {
    /// Whether `file` exists in the cgroup; errors when `controller` is not enabled for it.
    fn has_file(&self, controller: &str, file: &str, what: &str) -> Result<bool, CgroupError> {
        self.require(controller, what)?;
        Ok(self.dir.join(file).exists())
    }

    /// The writes that apply `r` (device rules excepted), in order.
    pub(crate) fn plan(&self, r: &LinuxResources) -> Result<Vec<Write>, CgroupError> {
        let mut w = Vec::new();
        if let Some(cpu) = r.cpu() {
            Write::cpuset(cpu, &mut w);
        }
        if let Some(m) = r.memory() {
            self.plan_memory(m, &mut w)?;
        }
        if let Some(cpu) = r.cpu() {
            plan_cpu(cpu, &mut w)?;
        }
        if let Some(p) = r.pids() {
            w.push(Write::new("pids", "pids.max", pids_max(p.limit())));
        }
        if let Some(b) = r.block_io() {
            self.plan_io(b, &mut w)?;
        }
        for l in r.hugepage_limits().iter().flatten() {
            check_page_size(l.page_size())?;
            let file = format!("hugetlb.{}.max", l.page_size());
            w.push(Write::new("hugetlb", file, limit_or_max(l.limit())));
        }
        if let Some(n) = r.network() {
            if n.class_id().is_some() || n.priorities().as_ref().is_some_and(|p| !p.is_empty()) {
                return Err(unsupported("linux.resources.network (net_cls/net_prio)"));
            }
        }
        if let Some(rdma) = r.rdma() {
            for line in convert::rdma_lines(rdma) {
                w.push(Write::new("rdma", "rdma.max", line));
            }
        }
        if let Some(unified) = r.unified() {
            // Sorted, so the order of writes does not depend on hashing.
            let sorted: BTreeMap<_, _> = unified.iter().collect();
            for (key, value) in sorted {
                let controller = check_unified_key(key)?;
                w.push(Write::new(controller, key.as_str(), value));
            }
        }
        Ok(w)
    }

    fn plan_memory(&self, m: &LinuxMemory, w: &mut Vec<Write>) -> Result<(), CgroupError> {
        let (limit, swap) = convert::memory_limits(m.limit(), m.swap())?;
        let swap_max = match (limit, swap) {
            (_, Some(-1)) | (Some(-1), None) => Some("max".to_string()),
            (Some(l), Some(s)) => Some((s - l).to_string()),
            (None, Some(s)) => {
                return Err(CgroupError::InvalidArgument(format!(
                    "a memory+swap limit ({s}) without a memory limit cannot be expressed in cgroup \
                     v2, where memory.swap.max = swap - memory: set linux.resources.memory.limit too"
                )))
            }
            (_, None) => None,
        };
        if let Some(l) = limit {
            w.push(Write::new("memory", "memory.max", limit_or_max(l)));
        }
        if let Some(v) = swap_max {
            if self.has_file("memory", "memory.swap.max", "a swap limit")? {
                w.push(Write::new("memory", "memory.swap.max", v));
            } else if v != "max" {
                return Err(CgroupError::Unsupported(format!(
                    "a swap limit was requested but memory.swap.max does not exist in {}: swap \
                     accounting is off in this kernel (boot with swapaccount=1) — drop \
                     linux.resources.memory.swap",
                    self.dir.display()
                )));
            }
        }
        if let Some(r) = m.reservation().filter(|&r| r != 0) {
            w.push(Write::new("memory", "memory.low", limit_or_max(r)));
        }
        if m.swappiness().is_some() {
            return Err(unsupported("linux.resources.memory.swappiness"));
        }
        if m.disable_oom_killer() == Some(true) {
            return Err(unsupported("linux.resources.memory.disableOOMKiller"));
        }
        Ok(())
    }

    fn plan_io(&self, b: &LinuxBlockIo, w: &mut Vec<Write>) -> Result<(), CgroupError> {
        if b.leaf_weight().is_some_and(|v| v != 0)
            || b.weight_device()
                .iter()
                .flatten()
                .any(|d| d.leaf_weight().is_some())
        {
            return Err(unsupported("a block I/O leaf weight"));
        }
        let needs_weight = b.weight().is_some_and(|v| v != 0)
            || b.weight_device()
                .iter()
                .flatten()
                .any(|d| d.weight().is_some());
        // io.weight (io.cost) takes 1..=10000; BFQ's io.bfq.weight takes v1's 10..=1000 as is.
        let (file, convert): (&str, fn(u16) -> u64) =
            if !needs_weight || self.has_file("io", "io.weight", "a block I/O weight")? {
                ("io.weight", blkio_weight_to_io_weight)
            } else if self.has_file("io", "io.bfq.weight", "a block I/O weight")? {
                ("io.bfq.weight", u64::from)
            } else {
                return Err(CgroupError::Unsupported(
                "a block I/O weight was requested, but neither io.weight nor io.bfq.weight exists \
                 in the cgroup: enable the io.cost or bfq scheduler, or drop the weight"
                    .to_string(),
            ));
            };
        if let Some(v) = b.weight().filter(|&v| v != 0) {
            w.push(Write::new("io", file, convert(v)));
        }
        for d in b.weight_device().iter().flatten() {
            if let Some(v) = d.weight() {
                w.push(Write::new(
                    "io",
                    file,
                    format!("{}:{} {}", d.major(), d.minor(), convert(v)),
                ));
            }
        }
        // io.max: one line per device with every limit given for it; 0 means no limit.
        let mut max: BTreeMap<(i64, i64), Vec<String>> = BTreeMap::new();
        let throttles = [
            ("rbps", b.throttle_read_bps_device()),
            ("wbps", b.throttle_write_bps_device()),
            ("riops", b.throttle_read_iops_device()),
            ("wiops", b.throttle_write_iops_device()),
        ];
        for (key, devs) in throttles {
            for d in devs.iter().flatten() {
                let rate = if d.rate() == 0 {
                    "max".to_string()
                } else {
                    d.rate().to_string()
                };
                max.entry((d.major(), d.minor()))
                    .or_default()
                    .push(format!("{key}={rate}"));
            }
        }
        for ((major, minor), limits) in max {
            w.push(Write::new(
                "io",
                "io.max",
                format!("{major}:{minor} {}", limits.join(" ")),
            ));
        }
        Ok(())
    }
}

fn plan_cpu(cpu: &LinuxCpu, w: &mut Vec<Write>) -> Result<(), CgroupError> {
    if let Some(s) = cpu.shares().filter(|&s| s != 0) {
        w.push(Write::new("cpu", "cpu.weight", shares_to_weight(s)));
    }
    let quota = cpu.quota().filter(|&q| q != 0);
    let period = cpu.period().filter(|&p| p != 0);
    if quota.is_some() || period.is_some() {
        let mut value = match quota {
            Some(q) if q > 0 => q.to_string(),
            _ => "max".to_string(),
        };
        if let Some(p) = period {
            value = format!("{value} {p}");
        }
        w.push(Write::new("cpu", "cpu.max", value));
    }
    if let Some(b) = cpu.burst() {
        w.push(Write::new("cpu", "cpu.max.burst", b));
    }
    if let Some(i) = cpu.idle() {
        w.push(Write::new("cpu", "cpu.idle", i));
    }
    if cpu.realtime_runtime().is_some_and(|v| v != 0)
        || cpu.realtime_period().is_some_and(|v| v != 0)
    {
        return Err(unsupported(
            "realtime CPU scheduling (linux.resources.cpu.realtime*)",
        ));
    }
    Ok(())
}

/// Checks a `linux.resources.unified` key and returns the controller that owns it.
///
/// A key names a file in the cgroup directory (`memory.high`); anything that could reach
/// another directory is refused.
pub(crate) fn check_unified_key(key: &str) -> Result<&str, CgroupError> {
    let bad = |why: &str| {
        CgroupError::InvalidArgument(format!(
            "linux.resources.unified key {key:?} {why}: keys must be cgroup file names such as \"memory.high\""
        ))
    };
    if key.contains('/') || key.contains("..") || key.contains('\0') {
        return Err(bad("could name a file outside the cgroup"));
    }
    match key.split_once('.') {
        Some((controller, rest)) if !controller.is_empty() && !rest.is_empty() => Ok(controller),
        _ => Err(bad("is not of the form <controller>.<file>")),
    }
}
