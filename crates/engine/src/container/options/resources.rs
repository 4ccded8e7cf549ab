//! Memory and CPU limits: Docker's resource constants and its validation of the
//! `HostConfig` resource fields.

use super::{HostConfig, OptionsError};

/// The smallest memory limit or reservation Docker accepts (6 MiB).
pub const MIN_MEMORY: i64 = 6 * 1024 * 1024;
/// The CFS period Docker uses for `--cpus` (100 ms).
pub const CPU_PERIOD: i64 = 100_000;
/// `/dev/shm`'s size when `ShmSize` is 0 (64 MiB), as Docker.
pub const DEFAULT_SHM_SIZE: i64 = 64 * 1024 * 1024;

/// Docker's checks of the resource fields (`verifyPlatformContainerResources`), with its words.
pub fn validate_resources(hc: &HostConfig) -> Result<(), OptionsError> {
    let bad = |m: String| Err(OptionsError::Resource(m));
    if hc.memory < 0 {
        return bad(format!(
            "invalid memory limit {}: must be positive",
            hc.memory
        ));
    }
    if hc.memory != 0 && hc.memory < MIN_MEMORY {
        return bad("Minimum memory limit allowed is 6MB".into());
    }
    if hc.memory > 0 && hc.memory_swap > 0 && hc.memory_swap < hc.memory {
        return bad(
            "Minimum memoryswap limit should be larger than memory limit, see usage".into(),
        );
    }
    if hc.memory == 0 && hc.memory_swap > 0 {
        return bad(
            "You should always set the Memory limit when using Memoryswap limit, see usage".into(),
        );
    }
    if hc.memory_swap < -1 {
        return bad(format!(
            "invalid memory swap limit {}: use -1 for unlimited",
            hc.memory_swap
        ));
    }
    if hc.memory_reservation < 0 {
        return bad(format!(
            "invalid memory reservation {}: must be positive",
            hc.memory_reservation
        ));
    }
    if hc.memory > 0 && hc.memory_reservation > 0 && hc.memory < hc.memory_reservation {
        return bad(
            "Minimum memory limit can not be less than memory reservation limit, see usage".into(),
        );
    }
    if hc.memory_reservation > 0 && hc.memory_reservation < MIN_MEMORY {
        return bad("Minimum memory reservation allowed is 6MB".into());
    }
    if hc.nano_cpus > 0 && hc.cpu_period > 0 {
        return bad("Conflicting options: Nano CPUs and CPU Period cannot both be set".into());
    }
    if hc.nano_cpus > 0 && hc.cpu_quota > 0 {
        return bad("Conflicting options: Nano CPUs and CPU Quota cannot both be set".into());
    }
    if hc.nano_cpus < 0 {
        return bad(format!(
            "--cpus {} is negative: give a number of CPUs of at least 0.01",
            hc.nano_cpus as f64 / 1e9
        ));
    }
    // The kernel's smallest CFS quota is 1 ms, i.e. 0.01 CPU over the 100 ms period.
    if hc.nano_cpus > 0 && hc.nano_cpus < 10_000_000 {
        return bad(format!(
            "--cpus {} is below the minimum 0.01",
            hc.nano_cpus as f64 / 1e9
        ));
    }
    if hc.cpu_period != 0 && !(1000..=1_000_000).contains(&hc.cpu_period) {
        return bad(
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"
                .into(),
        );
    }
    if hc.cpu_quota > 0 && hc.cpu_quota < 1000 {
        return bad("CPU cfs quota can not be less than 1ms (i.e. 1000)".into());
    }
    if hc.cpu_shares < 0 {
        return bad(format!(
            "invalid CPU shares {}: must be positive",
            hc.cpu_shares
        ));
    }
    for (what, list) in [("cpus", &hc.cpuset_cpus), ("mems", &hc.cpuset_mems)] {
        if !list.is_empty() && !valid_cpu_list(list) {
            return bad(format!(
                "Invalid value {list} for cpuset {what}: use a list like 0-3,5"
            ));
        }
    }
    if !(-1000..=1000).contains(&hc.oom_score_adj) {
        return bad(format!(
            "Invalid value {}, range for oom score adj is [-1000, 1000]",
            hc.oom_score_adj
        ));
    }
    if hc.shm_size < 0 {
        return bad("SHM size can not be less than 0".into());
    }
    Ok(())
}

/// `0-3,5,7-8`: comma-separated numbers and ascending ranges.
fn valid_cpu_list(s: &str) -> bool {
    s.split(',').all(|part| {
        let mut ends = part.splitn(2, '-');
        let lo = ends.next().and_then(|x| x.parse::<u32>().ok());
        match (lo, ends.next()) {
            (Some(_), None) => true,
            (Some(lo), Some(hi)) => hi.parse::<u32>().is_ok_and(|hi| hi >= lo),
            _ => false,
        }
    })
}
