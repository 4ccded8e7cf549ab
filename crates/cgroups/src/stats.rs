//! Resource usage of a cgroup, in one shape for v1 and v2.
//!
//! Why one shape: `docker stats` and `runc events` report the same numbers whatever the host's
//! cgroup version, so the conversion (v2's microseconds to nanoseconds, v1's "unlimited" as a
//! huge page-rounded number, v1's per-operation blkio lines) happens here, once. The parsers
//! take file text and are tested on samples of real kernel output.

use std::collections::BTreeMap;

/// Everything [`crate::CgroupManager::stats`] reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Memory usage and limits.
    pub memory: MemoryStats,
    /// CPU time and throttling.
    pub cpu: CpuStats,
    /// Process counts.
    pub pids: PidsStats,
    /// Block I/O.
    pub io: IoStats,
}

/// Memory figures, in bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryStats {
    /// Current usage (v1 `memory.usage_in_bytes`, v2 `memory.current`).
    pub usage: u64,
    /// Peak usage (v1 `memory.max_usage_in_bytes`, v2 `memory.peak` on kernels that have it).
    pub max_usage: Option<u64>,
    /// The limit; `None` when unlimited.
    pub limit: Option<u64>,
    /// Page cache (v1 `total_cache`, v2 `file`).
    pub cache: u64,
    /// Anonymous memory (v1 `total_rss`, v2 `anon`).
    pub rss: u64,
    /// Swap in use; `None` when swap accounting is off.
    pub swap: Option<u64>,
    /// Every numeric line of `memory.stat`, as the kernel names it.
    pub stat: BTreeMap<String, u64>,
}

/// CPU figures; times in nanoseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuStats {
    /// Total CPU time used.
    pub usage_total: u64,
    /// Time in user mode.
    pub usage_user: u64,
    /// Time in kernel mode.
    pub usage_system: u64,
    /// Time per CPU (v1 only; empty on v2).
    pub per_cpu: Vec<u64>,
    /// CFS periods elapsed with a quota in force.
    pub nr_periods: u64,
    /// Periods in which the cgroup was throttled.
    pub nr_throttled: u64,
    /// Total time throttled.
    pub throttled_time: u64,
}

/// Process counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PidsStats {
    /// Tasks in the cgroup (v1 and v2 count threads).
    pub current: u64,
    /// The limit; `None` when unlimited.
    pub limit: Option<u64>,
}

/// Block I/O totals and per-device figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IoStats {
    /// Bytes read, all devices.
    pub read_bytes: u64,
    /// Bytes written, all devices.
    pub write_bytes: u64,
    /// Read operations, all devices.
    pub read_ops: u64,
    /// Write operations, all devices.
    pub write_ops: u64,
    /// Per device, sorted by major:minor.
    pub devices: Vec<IoDeviceStats>,
}

/// Block I/O of one device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IoDeviceStats {
    /// Device major number.
    pub major: u64,
    /// Device minor number.
    pub minor: u64,
    /// Bytes read.
    pub read_bytes: u64,
    /// Bytes written.
    pub write_bytes: u64,
    /// Read operations.
    pub read_ops: u64,
    /// Write operations.
    pub write_ops: u64,
}

impl IoStats {
    fn device(&mut self, major: u64, minor: u64) -> &mut IoDeviceStats {
        let idx = match self
            .devices
            .binary_search_by_key(&(major, minor), |d| (d.major, d.minor))
        {
            Ok(i) => i,
            Err(i) => {
                self.devices.insert(
                    i,
                    IoDeviceStats {
                        major,
                        minor,
                        ..Default::default()
                    },
                );
                i
            }
        };
        &mut self.devices[idx]
    }

    fn sum(&mut self) {
        self.read_bytes = self.devices.iter().map(|d| d.read_bytes).sum();
        self.write_bytes = self.devices.iter().map(|d| d.write_bytes).sum();
        self.read_ops = self.devices.iter().map(|d| d.read_ops).sum();
        self.write_ops = self.devices.iter().map(|d| d.write_ops).sum();
    }

    /// From v1 `blkio.throttle.io_service_bytes*` and `blkio.throttle.io_serviced*` text.
    pub fn from_v1(service_bytes: &str, serviced: &str) -> Self {
        let mut io = Self::default();
        for (text, bytes) in [(service_bytes, true), (serviced, false)] {
            for line in text.lines() {
                let f: Vec<&str> = line.split_whitespace().collect();
                let [dev, op, value] = f[..] else { continue };
                let (Some((major, minor)), Ok(value)) = (parse_dev(dev), value.parse::<u64>())
                else {
                    continue;
                };
                let d = io.device(major, minor);
                match (op, bytes) {
                    ("Read", true) => d.read_bytes = value,
                    ("Write", true) => d.write_bytes = value,
                    ("Read", false) => d.read_ops = value,
                    ("Write", false) => d.write_ops = value,
                    _ => {}
                }
            }
        }
        io.sum();
        io
    }

    /// From v2 `io.stat` text (`8:0 rbytes=… wbytes=… rios=… wios=… …`).
    pub fn from_v2(io_stat: &str) -> Self {
        let mut io = Self::default();
        for line in io_stat.lines() {
            let mut f = line.split_whitespace();
            let Some((major, minor)) = f.next().and_then(parse_dev) else {
                continue;
            };
            let d = io.device(major, minor);
            for kv in f {
                let Some((k, v)) = kv.split_once('=') else {
                    continue;
                };
                let Ok(v) = v.parse::<u64>() else { continue };
                match k {
                    "rbytes" => d.read_bytes = v,
                    "wbytes" => d.write_bytes = v,
                    "rios" => d.read_ops = v,
                    "wios" => d.write_ops = v,
                    _ => {}
                }
            }
        }
        io.sum();
        io
    }
}

fn parse_dev(s: &str) -> Option<(u64, u64)> {
    let (major, minor) = s.split_once(':')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// Parses "key value" lines (`memory.stat`, `cpu.stat`, `memory.events`, `memory.oom_control`);
/// lines whose value is not a number are skipped.
pub fn parse_flat_keyed(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.trim().split_once(' ')?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

/// Parses a space-separated list of numbers (`cpuacct.usage_percpu`).
pub fn parse_list(text: &str) -> Vec<u64> {
    text.split_whitespace()
        .filter_map(|t| t.parse().ok())
        .collect()
}

/// A v1 limit as read from a file: v1 reports "unlimited" as `PAGE_COUNTER_MAX` pages, a number
/// just below `i64::MAX`.
pub fn v1_limit(value: u64) -> Option<u64> {
    (value < 0x7FFF_FFFF_0000_0000).then_some(value)
}

impl CpuStats {
    /// Adds `cpu.stat` figures; with `v2`, its microsecond keys (usage too) are read.
    pub(crate) fn add_cpu_stat(&mut self, text: &str, v2: bool) {
        let m = parse_flat_keyed(text);
        let get = |k: &str| m.get(k).copied().unwrap_or(0);
        self.nr_periods = get("nr_periods");
        self.nr_throttled = get("nr_throttled");
        if v2 {
            self.usage_total = get("usage_usec") * 1000;
            self.usage_user = get("user_usec") * 1000;
            self.usage_system = get("system_usec") * 1000;
            self.throttled_time = get("throttled_usec") * 1000;
        } else {
            self.throttled_time = get("throttled_time");
        }
    }
}

impl MemoryStats {
    /// Fills `stat`, `cache` and `rss` from `memory.stat` text.
    pub(crate) fn add_memory_stat(&mut self, text: &str, v2: bool) {
        self.stat = parse_flat_keyed(text);
        let get = |k: &str| self.stat.get(k).copied();
        if v2 {
            self.cache = get("file").unwrap_or(0);
            self.rss = get("anon").unwrap_or(0);
        } else {
            self.cache = get("total_cache").or_else(|| get("cache")).unwrap_or(0);
            self.rss = get("total_rss").or_else(|| get("rss")).unwrap_or(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blkio_v1() {
        let bytes = "\
8:0 Read 4096
8:0 Write 8192
8:0 Sync 12288
8:0 Async 0
8:0 Discard 0
8:0 Total 12288
253:1 Read 100
253:1 Write 0
Total 12388
";
        let ops = "8:0 Read 1\n8:0 Write 2\n253:1 Read 3\nTotal 6\n";
        let io = IoStats::from_v1(bytes, ops);
        assert_eq!(
            (io.read_bytes, io.write_bytes, io.read_ops, io.write_ops),
            (4196, 8192, 4, 2)
        );
        assert_eq!(io.devices.len(), 2);
        assert_eq!(
            io.devices[1],
            IoDeviceStats {
                major: 253,
                minor: 1,
                read_bytes: 100,
                read_ops: 3,
                ..Default::default()
            }
        );
        assert_eq!(
            IoStats::from_v1("Total 0\n", "Total 0\n"),
            IoStats::default()
        );
    }

    #[test]
    fn io_stat_v2() {
        let text = "\
8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0
8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0
";
        let io = IoStats::from_v2(text);
        assert_eq!(io.read_bytes, 1459210);
        assert_eq!(io.write_bytes, 314773524);
        assert_eq!((io.read_ops, io.write_ops), (193, 355));
        assert_eq!((io.devices[0].major, io.devices[0].minor), (8, 0));
    }

    #[test]
    fn memory_stat_v1_prefers_hierarchical_totals() {
        let mut m = MemoryStats::default();
        m.add_memory_stat(
            "cache 10\nrss 20\ntotal_cache 110\ntotal_rss 120\nswap 0\n",
            false,
        );
        assert_eq!((m.cache, m.rss), (110, 120));
        assert_eq!(m.stat["swap"], 0);
        m.add_memory_stat("cache 10\nrss 20\n", false);
        assert_eq!((m.cache, m.rss), (10, 20));
    }

    #[test]
    fn memory_stat_v2() {
        let mut m = MemoryStats::default();
        m.add_memory_stat("anon 4096\nfile 8192\nkernel 100\n", true);
        assert_eq!((m.cache, m.rss), (8192, 4096));
        assert_eq!(m.stat.len(), 3);
    }

    #[test]
    fn cpu_stat_v1_and_v2() {
        let mut c = CpuStats::default();
        c.add_cpu_stat(
            "nr_periods 10\nnr_throttled 3\nthrottled_time 123456\n",
            false,
        );
        assert_eq!(
            (c.nr_periods, c.nr_throttled, c.throttled_time),
            (10, 3, 123456)
        );
        let mut c = CpuStats::default();
        c.add_cpu_stat(
            "usage_usec 5000\nuser_usec 3000\nsystem_usec 2000\nnr_periods 4\nnr_throttled 1\nthrottled_usec 7\n",
            true,
        );
        assert_eq!(
            (c.usage_total, c.usage_user, c.usage_system),
            (5_000_000, 3_000_000, 2_000_000)
        );
        assert_eq!(
            (c.nr_periods, c.nr_throttled, c.throttled_time),
            (4, 1, 7000)
        );
    }

    #[test]
    fn oom_control_and_events() {
        let oc = parse_flat_keyed("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
        assert_eq!(oc["oom_kill"], 2);
        let ev = parse_flat_keyed("low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\noom_group_kill 0\n");
        assert_eq!((ev["max"], ev["oom_kill"]), (5, 1));
    }

    #[test]
    fn limits_and_lists() {
        assert_eq!(v1_limit(9223372036854771712), None);
        assert_eq!(v1_limit(1 << 30), Some(1 << 30));
        assert_eq!(parse_list("100 200 \n"), vec![100, 200]);
    }
}
