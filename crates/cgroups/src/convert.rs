//! Conversions and checks of OCI values that v1 and v2 share.
//!
//! Why here: the OCI spec speaks cgroup v1 (shares, blkio weight, memory+swap); v2 needs the
//! same intent in other units. The formulas are the ones runc and crun use, so a container gets
//! the same share of the machine whichever runtime starts it.

use std::collections::HashMap;

use oci_spec::runtime::LinuxRdma;

use crate::CgroupError;

/// v1 `cpu.shares` (2..=262144) to v2 `cpu.weight` (1..=10000).
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    1 + (shares.clamp(2, 262_144) - 2) * 9999 / 262_142
}

/// v1 `blkio.weight` (10..=1000) to v2 `io.weight` (1..=10000).
pub fn blkio_weight_to_io_weight(weight: u16) -> u64 {
    if weight == 0 {
        return 0;
    }
    1 + (u64::from(weight).clamp(10, 1000) - 10) * 9999 / 990
}

/// `pids.max` text: zero or negative means no limit.
pub(crate) fn pids_max(limit: i64) -> String {
    if limit > 0 {
        limit.to_string()
    } else {
        "max".to_string()
    }
}

/// Refuses hugepage sizes that could not be part of a file name (`2MB`, `1GB` are fine).
pub(crate) fn check_page_size(size: &str) -> Result<(), CgroupError> {
    if size.is_empty() || !size.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(CgroupError::InvalidArgument(format!(
            "hugepage size {size:?} is invalid: use the kernel's spelling, e.g. \"2MB\" or \"1GB\""
        )));
    }
    Ok(())
}

/// `rdma.max` lines, one per device, sorted by device; devices with no limit are skipped.
pub(crate) fn rdma_lines(rdma: &HashMap<String, LinuxRdma>) -> Vec<String> {
    let mut devices: Vec<_> = rdma.iter().collect();
    devices.sort_by(|a, b| a.0.cmp(b.0));
    devices
        .into_iter()
        .filter_map(|(dev, l)| {
            let mut parts = vec![dev.clone()];
            if let Some(h) = l.hca_handles() {
                parts.push(format!("hca_handle={h}"));
            }
            if let Some(o) = l.hca_objects() {
                parts.push(format!("hca_object={o}"));
            }
            (parts.len() > 1).then(|| parts.join(" "))
        })
        .collect()
}

/// OCI memory limit and memory+swap limit, with 0 meaning "not set", checked.
///
/// Returns `(limit, swap)` where both are `None` (unset), `Some(-1)` (unlimited) or positive.
pub(crate) fn memory_limits(
    limit: Option<i64>,
    swap: Option<i64>,
) -> Result<(Option<i64>, Option<i64>), CgroupError> {
    let limit = limit.filter(|&l| l != 0);
    let swap = swap.filter(|&s| s != 0);
    for (what, v) in [("memory limit", limit), ("memory+swap limit", swap)] {
        if let Some(v) = v.filter(|&v| v < -1) {
            return Err(CgroupError::InvalidArgument(format!(
                "{what} {v} is negative: use a byte count, or -1 for no limit"
            )));
        }
    }
    if let (Some(l), Some(s)) = (limit, swap) {
        if s != -1 && (l == -1 || s < l) {
            return Err(CgroupError::InvalidArgument(format!(
                "memory+swap limit {s} is below the memory limit {}: OCI linux.resources.memory.swap \
                 counts memory plus swap, so it must be at least the memory limit (or -1)",
                if l == -1 { "(unlimited)".to_string() } else { l.to_string() }
            )));
        }
    }
    Ok((limit, swap))
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxRdmaBuilder;

    #[test]
    fn shares_to_weight_matches_runc() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(shares_to_weight(0), 0);
    }

    #[test]
    fn blkio_weight_to_io_weight_matches_runc() {
        assert_eq!(blkio_weight_to_io_weight(10), 1);
        assert_eq!(blkio_weight_to_io_weight(500), 1 + 490 * 9999 / 990);
        assert_eq!(blkio_weight_to_io_weight(1000), 10_000);
    }

    #[test]
    fn pids_and_page_sizes() {
        assert_eq!(pids_max(-1), "max");
        assert_eq!(pids_max(0), "max");
        assert_eq!(pids_max(32), "32");
        assert!(check_page_size("2MB").is_ok());
        assert!(check_page_size("../x").is_err());
        assert!(check_page_size("").is_err());
    }

    #[test]
    fn rdma() {
        let mut m = HashMap::new();
        m.insert(
            "mlx5_1".to_string(),
            LinuxRdmaBuilder::default()
                .hca_objects(10u32)
                .build()
                .unwrap(),
        );
        m.insert(
            "mlx5_0".to_string(),
            LinuxRdmaBuilder::default()
                .hca_handles(2u32)
                .hca_objects(3u32)
                .build()
                .unwrap(),
        );
        m.insert(
            "none".to_string(),
            LinuxRdmaBuilder::default().build().unwrap(),
        );
        assert_eq!(
            rdma_lines(&m),
            vec!["mlx5_0 hca_handle=2 hca_object=3", "mlx5_1 hca_object=10"]
        );
    }

    #[test]
    fn memory_limit_checks() {
        assert_eq!(memory_limits(Some(0), Some(0)).unwrap(), (None, None));
        assert_eq!(
            memory_limits(Some(100), Some(200)).unwrap(),
            (Some(100), Some(200))
        );
        assert_eq!(
            memory_limits(Some(100), Some(-1)).unwrap(),
            (Some(100), Some(-1))
        );
        assert!(memory_limits(Some(200), Some(100)).is_err());
        assert!(memory_limits(Some(-1), Some(100)).is_err());
        assert!(memory_limits(Some(-2), None).is_err());
    }
}
