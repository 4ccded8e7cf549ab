//! OCI `linux.resources` to cgroup v1 file writes.
//!
//! Why a plan: the mapping is a list of `(controller, file, value)` in a significant order
//! (period before quota, memory+swap before or after memory depending on the direction of the
//! change, device rules in spec order). Building the list apart from writing it lets unit tests
//! check the order, which the final file contents cannot show.

use std::path::Path;

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxResources};

use super::V1Manager;
use crate::convert::{self, check_page_size, pids_max};
use crate::devices;
use crate::files::{read_i64, Write};
use crate::CgroupError;

const MEMSW: &str = "memory.memsw.limit_in_bytes";
const LIMIT: &str = "memory.limit_in_bytes";

impl V1Manager {
    /// Whether `file` exists in `controller`'s cgroup directory; errors when the controller is
    /// not mounted or the cgroup was not created.
    fn has_file(&self, controller: &str, file: &str, what: &str) -> Result<bool, CgroupError> {
        let dir = self.require(controller, what)?;
        check_created(dir)?;
        Ok(dir.join(file).exists())
    }

    /// The writes that apply `r`, in order.
    pub(crate) fn plan(&self, r: &LinuxResources) -> Result<Vec<Write>, CgroupError> {
        let mut w = Vec::new();
        if let Some(cpu) = r.cpu() {
            Write::cpuset(cpu, &mut w);
        }
        if let Some(devs) = r.devices() {
            for rule in devices::rules(devs)? {
                w.push(Write::new("devices", rule.v1_file(), rule.v1_string()));
            }
        }
        if let Some(m) = r.memory() {
            self.plan_memory(m, &mut w)?;
        }
        if let Some(cpu) = r.cpu() {
            plan_cpu(cpu, &mut w);
        }
        if let Some(p) = r.pids() {
            w.push(Write::new("pids", "pids.max", pids_max(p.limit())));
        }
        if let Some(b) = r.block_io() {
            self.plan_blkio(b, &mut w)?;
        }
        for l in r.hugepage_limits().iter().flatten() {
            check_page_size(l.page_size())?;
            let file = format!("hugetlb.{}.limit_in_bytes", l.page_size());
            w.push(Write::new("hugetlb", file, l.limit()));
        }
        if let Some(n) = r.network() {
            if let Some(id) = n.class_id() {
                w.push(Write::new("net_cls", "net_cls.classid", id));
            }
            for p in n.priorities().iter().flatten() {
                let value = format!("{} {}", p.name(), p.priority());
                w.push(Write::new("net_prio", "net_prio.ifpriomap", value));
            }
        }
        if let Some(rdma) = r.rdma() {
            for line in convert::rdma_lines(rdma) {
                w.push(Write::new("rdma", "rdma.max", line));
            }
        }
        if r.unified().as_ref().is_some_and(|u| !u.is_empty()) {
            return Err(CgroupError::Unsupported(
                "linux.resources.unified sets cgroup v2 files, but this host's controllers are \
                 cgroup v1 hierarchies: express the settings with the v1 fields instead"
                    .to_string(),
            ));
        }
        Ok(w)
    }

    fn plan_memory(&self, m: &LinuxMemory, w: &mut Vec<Write>) -> Result<(), CgroupError> {
        let (limit, mut swap) = convert::memory_limits(m.limit(), m.swap())?;
        if limit.is_some() || swap.is_some() {
            let memsw = self.has_file("memory", MEMSW, "a memory limit")?;
            // Lifting the memory limit needs memory+swap lifted too, or the kernel refuses.
            if memsw && limit == Some(-1) && swap.is_none() {
                swap = Some(-1);
            }
            match swap {
                Some(-1) if !memsw => swap = None, // nothing to lift without swap accounting
                Some(s) if !memsw => {
                    return Err(CgroupError::Unsupported(format!(
                        "a memory+swap limit ({s}) was requested but {MEMSW} does not exist: swap \
                         accounting is off in this kernel (boot with swapaccount=1) — drop \
                         linux.resources.memory.swap"
                    )))
                }
                _ => {}
            }
            match (limit, swap) {
                (Some(l), Some(s)) => {
                    // The kernel keeps memsw >= limit at every step: raise memsw first when the
                    // new memsw is above the current limit, otherwise lower the limit first.
                    let dir = self.require("memory", "a memory limit")?;
                    let current = read_i64(&dir.join(LIMIT))?;
                    if s == -1 || current < s {
                        w.push(Write::new("memory", MEMSW, s));
                        w.push(Write::new("memory", LIMIT, l));
                    } else {
                        w.push(Write::new("memory", LIMIT, l));
                        w.push(Write::new("memory", MEMSW, s));
                    }
                }
                (Some(l), None) => w.push(Write::new("memory", LIMIT, l)),
                (None, Some(s)) => w.push(Write::new("memory", MEMSW, s)),
                (None, None) => {}
            }
        }
        if let Some(r) = m.reservation().filter(|&r| r != 0) {
            w.push(Write::new("memory", "memory.soft_limit_in_bytes", r));
        }
        if let Some(s) = m.swappiness() {
            if s > 100 {
                return Err(CgroupError::InvalidArgument(format!(
                    "memory swappiness {s} is out of range: use 0..=100"
                )));
            }
            w.push(Write::new("memory", "memory.swappiness", s));
        }
        if let Some(disable) = m.disable_oom_killer() {
            w.push(Write::new(
                "memory",
                "memory.oom_control",
                u8::from(disable),
            ));
        }
        if let Some(h) = m.use_hierarchy() {
            w.push(Write::new("memory", "memory.use_hierarchy", u8::from(h)));
        }
        // kernel and kernelTCP are deprecated and ignored, as runc does.
        Ok(())
    }

    fn plan_blkio(&self, b: &LinuxBlockIo, w: &mut Vec<Write>) -> Result<(), CgroupError> {
        let needs_weight = b.weight().is_some_and(|v| v != 0)
            || b.weight_device()
                .iter()
                .flatten()
                .any(|d| d.weight().is_some());
        let (weight_file, weight_device_file) =
            if !needs_weight || self.has_file("blkio", "blkio.weight", "a block I/O weight")? {
                ("blkio.weight", "blkio.weight_device")
            } else if self.has_file("blkio", "blkio.bfq.weight", "a block I/O weight")? {
                ("blkio.bfq.weight", "blkio.bfq.weight_device")
            } else {
                return Err(CgroupError::Unsupported(
                    "a block I/O weight was requested, but neither blkio.weight (CFQ) nor \
                 blkio.bfq.weight (BFQ) exists: use the bfq I/O scheduler, or drop the weight"
                        .to_string(),
                ));
            };
        if let Some(v) = b.weight().filter(|&v| v != 0) {
            w.push(Write::new("blkio", weight_file, v));
        }
        if let Some(v) = b.leaf_weight().filter(|&v| v != 0) {
            w.push(Write::new("blkio", "blkio.leaf_weight", v));
        }
        for d in b.weight_device().iter().flatten() {
            if let Some(v) = d.weight() {
                let value = format!("{}:{} {v}", d.major(), d.minor());
                w.push(Write::new("blkio", weight_device_file, value));
            }
            if let Some(v) = d.leaf_weight() {
                let value = format!("{}:{} {v}", d.major(), d.minor());
                w.push(Write::new("blkio", "blkio.leaf_weight_device", value));
            }
        }
        let throttles = [
            (
                "blkio.throttle.read_bps_device",
                b.throttle_read_bps_device(),
            ),
            (
                "blkio.throttle.write_bps_device",
                b.throttle_write_bps_device(),
            ),
            (
                "blkio.throttle.read_iops_device",
                b.throttle_read_iops_device(),
            ),
            (
                "blkio.throttle.write_iops_device",
                b.throttle_write_iops_device(),
            ),
        ];
        for (file, devs) in throttles {
            for d in devs.iter().flatten() {
                w.push(Write::new(
                    "blkio",
                    file,
                    format!("{}:{} {}", d.major(), d.minor(), d.rate()),
                ));
            }
        }
        Ok(())
    }
}

fn plan_cpu(cpu: &LinuxCpu, w: &mut Vec<Write>) {
    if let Some(s) = cpu.shares().filter(|&s| s != 0) {
        w.push(Write::new("cpu", "cpu.shares", s));
    }
    // The kernel checks quota against the period in force: set the period first.
    if let Some(p) = cpu.period().filter(|&p| p != 0) {
        w.push(Write::new("cpu", "cpu.cfs_period_us", p));
    }
    if let Some(q) = cpu.quota().filter(|&q| q != 0) {
        w.push(Write::new("cpu", "cpu.cfs_quota_us", q.max(-1)));
    }
    if let Some(b) = cpu.burst() {
        w.push(Write::new("cpu", "cpu.cfs_burst_us", b));
    }
    if let Some(p) = cpu.realtime_period().filter(|&p| p != 0) {
        w.push(Write::new("cpu", "cpu.rt_period_us", p));
    }
    if let Some(r) = cpu.realtime_runtime().filter(|&r| r != 0) {
        w.push(Write::new("cpu", "cpu.rt_runtime_us", r));
    }
    if let Some(i) = cpu.idle() {
        w.push(Write::new("cpu", "cpu.idle", i));
    }
}

/// Refuses to plan against a cgroup that was not created: probing its files would then report
/// every optional file as missing.
fn check_created(dir: &Path) -> Result<(), CgroupError> {
    if dir.is_dir() {
        return Ok(());
    }
    Err(CgroupError::read(
        dir,
        std::io::Error::from_raw_os_error(libc::ENOENT),
    ))
}
