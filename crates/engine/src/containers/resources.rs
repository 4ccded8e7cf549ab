//! `docker update` and `docker stats`: a container's cgroup limits and figures.
//!
//! Why limits go to three places: the live cgroup (through the runtime, when the container
//! runs), the record's options (inspect shows them) and the bundle's spec (the next start
//! applies them).

use std::fs;

use berth_runtime::cgroups::Stats;
use serde::Deserialize;

use super::ops::{conflict, runtime_err};
use super::record::{self, ContainerRecord};
use crate::container::options::{validate_resources, HostConfig, RestartPolicy};
use crate::container::spec::resources_json;
use crate::{Engine, EngineError, Result};

/// The body of `POST /containers/{id}/update` (Docker's `UpdateConfig`): zero (or absent)
/// leaves a value as it is.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
#[allow(missing_docs)]
pub struct UpdateOptions {
    pub memory: i64,
    pub memory_swap: i64,
    pub memory_reservation: i64,
    pub cpu_shares: i64,
    pub cpu_period: i64,
    pub cpu_quota: i64,
    #[serde(rename = "NanoCpus")]
    pub nano_cpus: i64,
    #[serde(deserialize_with = "null_string")]
    pub cpuset_cpus: String,
    #[serde(deserialize_with = "null_string")]
    pub cpuset_mems: String,
    pub pids_limit: Option<i64>,
    pub blkio_weight: u16,
    pub restart_policy: Option<RestartPolicy>,
}

fn null_string<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// One reading of a running container's cgroup, with the host figures Docker's `stats`
/// JSON carries beside it.
#[derive(Debug, Clone)]
pub struct StatsSample {
    /// When it was read, RFC 3339 with nanoseconds.
    pub read: String,
    /// The cgroup's figures.
    pub stats: Stats,
    /// The host's CPU time, all CPUs, in nanoseconds (`/proc/stat`).
    pub system_cpu_usage: u64,
    /// CPUs online.
    pub online_cpus: u32,
    /// The host's memory in bytes (Docker's limit when the container has none).
    pub host_memory: u64,
}

impl Engine {
    /// Changes a container's limits (`docker update`): live through the runtime when it runs,
    /// and in its record and spec for inspect and the next start. Returns Docker's warnings.
    pub fn update_container(&self, name_or_id: &str, u: &UpdateOptions) -> Result<Vec<String>> {
        let rec = self.find_container(name_or_id)?;
        let mut hc = rec.options.host_config.clone();
        merge_update(&mut hc, u, rec.auto_remove)?;
        validate_resources(&hc).map_err(|e| EngineError::InvalidArgument(e.to_string()))?;
        let mut opts = rec.options.clone();
        opts.host_config = hc;
        let resources = resources_json(&opts);
        let dir = self.container_dir(&rec.id);
        let spec_path = dir.join("bundle").join("config.json");
        let mut spec: serde_json::Value = fs::read(&spec_path)
            .ok()
            .and_then(|d| serde_json::from_slice(&d).ok())
            .ok_or_else(|| {
                EngineError::Internal(format!("reading the spec {}", spec_path.display()))
            })?;
        if self.container_status(&rec).is_running() {
            let mut live = resources.clone();
            if let Some(m) = live.as_object_mut() {
                m.remove("devices");
            }
            let live: berth_runtime::oci_spec::runtime::LinuxResources =
                serde_json::from_value(live)
                    .map_err(|e| EngineError::Internal(format!("encoding the limits: {e}")))?;
            self.runtime().update(&rec.id, &live).map_err(|e| {
                EngineError::Internal(format!("Cannot update container {}: {e}", rec.id))
            })?;
        }
        if let Some(linux) = spec.get_mut("linux").and_then(|l| l.as_object_mut()) {
            linux.insert("resources".into(), resources);
        }
        let data = serde_json::to_vec_pretty(&spec)
            .map_err(|e| EngineError::Internal(format!("encoding the OCI spec: {e}")))?;
        record::write_atomic(&spec_path, &data)
            .map_err(|e| EngineError::io("writing", &spec_path, e))?;
        let rec = ContainerRecord {
            options: opts,
            ..rec
        };
        record::save(&dir, &rec).map_err(|e| EngineError::io("writing the record in", &dir, e))?;
        Ok(Vec::new())
    }

    /// One reading of the container's cgroup; `None` when it does not run.
    pub fn container_stats(
        &self,
        name_or_id: &str,
    ) -> Result<(ContainerRecord, Option<StatsSample>)> {
        let rec = self.find_container(name_or_id)?;
        if !self.container_status(&rec).is_running() {
            return Ok((rec, None));
        }
        let stats = match self.runtime().stats(&rec.id) {
            Ok(s) => s,
            // It exited between the two looks.
            Err(_) if !self.container_status(&rec).is_running() => return Ok((rec, None)),
            Err(e) => return Err(runtime_err("reading the statistics of", &rec.id, e)),
        };
        let sample = StatsSample {
            read: berth_shim::time::now(),
            stats,
            system_cpu_usage: system_cpu_usage(),
            online_cpus: std::thread::available_parallelism()
                .map_or(1, |n| u32::try_from(n.get()).unwrap_or(1)),
            host_memory: host_memory(),
        };
        Ok((rec, Some(sample)))
    }
}

/// Docker's `container.UpdateContainer`: non-zero fields replace the container's.
fn merge_update(hc: &mut HostConfig, u: &UpdateOptions, auto_remove: bool) -> Result<()> {
    let c = |m: &str| Err(conflict(format!("Conflicting options: {m}")));
    if u.nano_cpus > 0 && hc.cpu_period > 0 {
        return c("Nano CPUs cannot be updated as CPU Period has already been set");
    }
    if u.nano_cpus > 0 && hc.cpu_quota > 0 {
        return c("Nano CPUs cannot be updated as CPU Quota has already been set");
    }
    if u.cpu_period > 0 && hc.nano_cpus > 0 {
        return c("CPU Period cannot be updated as NanoCPUs has already been set");
    }
    if u.cpu_quota > 0 && hc.nano_cpus > 0 {
        return c("CPU Quota cannot be updated as NanoCPUs has already been set");
    }
    if u.blkio_weight != 0 {
        hc.blkio_weight = u.blkio_weight;
    }
    for (new, old) in [
        (u.cpu_shares, &mut hc.cpu_shares),
        (u.nano_cpus, &mut hc.nano_cpus),
        (u.cpu_period, &mut hc.cpu_period),
        (u.cpu_quota, &mut hc.cpu_quota),
        (u.memory_reservation, &mut hc.memory_reservation),
    ] {
        if new != 0 {
            *old = new;
        }
    }
    if !u.cpuset_cpus.is_empty() {
        hc.cpuset_cpus = u.cpuset_cpus.clone();
    }
    if !u.cpuset_mems.is_empty() {
        hc.cpuset_mems = u.cpuset_mems.clone();
    }
    if u.memory != 0 {
        if hc.memory_swap > 0 && u.memory > hc.memory_swap && u.memory_swap == 0 {
            return Err(conflict(
                "Memory limit should be smaller than already set memoryswap limit, update the \
                 memoryswap at the same time"
                    .into(),
            ));
        }
        hc.memory = u.memory;
    }
    if u.memory_swap != 0 {
        hc.memory_swap = u.memory_swap;
    }
    if u.pids_limit.is_some() {
        hc.pids_limit = u.pids_limit;
    }
    if let Some(p) = u.restart_policy.as_ref().filter(|p| !p.name.is_empty()) {
        if !matches!(
            p.name.as_str(),
            "no" | "always" | "unless-stopped" | "on-failure"
        ) {
            return Err(EngineError::InvalidArgument(format!(
                "invalid restart policy: unknown policy '{}'; use one of 'no', 'always', \
                 'on-failure' or 'unless-stopped'",
                p.name
            )));
        }
        if p.maximum_retry_count != 0 && p.name != "on-failure" {
            return Err(EngineError::InvalidArgument(
                "invalid restart policy: maximum retry count can only be used with 'on-failure'"
                    .into(),
            ));
        }
        if auto_remove && p.name != "no" {
            return Err(conflict(
                "Restart policy cannot be updated because AutoRemove is enabled for the container"
                    .into(),
            ));
        }
        hc.restart_policy = p.clone();
    }
    Ok(())
}

/// The host's CPU time (user to softirq, as Docker sums it) in nanoseconds.
fn system_cpu_usage() -> u64 {
    let stat = fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: u64 = stat
        .lines()
        .find(|l| l.starts_with("cpu "))
        .map(|l| {
            l.split_whitespace()
                .skip(1)
                .take(7)
                .filter_map(|v| v.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    // USER_HZ is 100 on every Linux architecture berth runs on.
    ticks * (1_000_000_000 / 100)
}

fn host_memory() -> u64 {
    fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_merge_like_docker() {
        let mut hc = HostConfig {
            memory: 64 << 20,
            memory_swap: 128 << 20,
            ..HostConfig::default()
        };
        let u = UpdateOptions {
            memory: 256 << 20,
            ..UpdateOptions::default()
        };
        assert!(merge_update(&mut hc, &u, false).is_err());
        let u = UpdateOptions {
            memory: 256 << 20,
            memory_swap: -1,
            cpu_shares: 512,
            pids_limit: Some(50),
            ..UpdateOptions::default()
        };
        merge_update(&mut hc, &u, false).unwrap();
        assert_eq!(
            (hc.memory, hc.memory_swap, hc.cpu_shares),
            (256 << 20, -1, 512)
        );
        assert_eq!(hc.pids_limit, Some(50));
        let u: UpdateOptions =
            serde_json::from_str(r#"{"RestartPolicy":{"Name":"always"},"CpusetCpus":null}"#)
                .unwrap();
        assert!(merge_update(&mut hc.clone(), &u, true).is_err());
        merge_update(&mut hc, &u, false).unwrap();
        assert_eq!(hc.restart_policy.name, "always");
    }
}
