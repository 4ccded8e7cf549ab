//! Parts of a service: ports, mounts, dependencies, deploy, networks, ulimits, secret refs.

use std::collections::BTreeMap;

use serde::Serialize;

use super::is_false;

/// A published port (long syntax).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Port {
    /// Container port.
    pub target: u16,
    /// Host port or range (`8080`, `8000-8010`); `None` = ephemeral.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// Host address to bind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: String,
    /// `ingress` or `host`.
    pub mode: String,
}

/// Mount type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MountType {
    /// Host path.
    Bind,
    /// Named or anonymous volume.
    Volume,
    /// tmpfs.
    Tmpfs,
}

/// A mount (long syntax).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mount {
    /// Type.
    #[serde(rename = "type")]
    pub kind: MountType,
    /// Absolute host path (bind), volume key (volume), none for anonymous volumes and tmpfs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Path in the container.
    pub target: String,
    /// Read-only.
    #[serde(skip_serializing_if = "is_false")]
    pub read_only: bool,
    /// Bind options.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<MountBind>,
    /// Volume options.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume: Option<MountVolume>,
    /// tmpfs options.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmpfs: Option<MountTmpfs>,
    /// `cached`, `delegated`, `consistent` (kept, no effect on Linux).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consistency: Option<String>,
}

/// Bind mount options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MountBind {
    /// Create the host directory when missing (implied by the short syntax).
    #[serde(skip_serializing_if = "is_false")]
    pub create_host_path: bool,
    /// Propagation (`rprivate`, `shared`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub propagation: Option<String>,
    /// SELinux relabel: `z` or `Z`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selinux: Option<String>,
}

/// Volume mount options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MountVolume {
    /// Do not copy the image's content into an empty volume.
    #[serde(skip_serializing_if = "is_false")]
    pub nocopy: bool,
    /// Mount a sub-path of the volume.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subpath: Option<String>,
}

/// tmpfs mount options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MountTmpfs {
    /// Size in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// File mode (written as an octal string).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser_octal")]
    pub mode: Option<u32>,
}

fn ser_octal<S: serde::Serializer>(m: &Option<u32>, s: S) -> Result<S::Ok, S::Error> {
    match m {
        Some(m) => s.serialize_str(&format!("0{m:o}")),
        None => s.serialize_none(),
    }
}

/// When a dependency counts as ready.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// Started.
    #[default]
    ServiceStarted,
    /// Healthy.
    ServiceHealthy,
    /// Exited with status 0.
    ServiceCompletedSuccessfully,
}

/// A `depends_on` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dependency {
    /// Readiness condition.
    pub condition: Condition,
    /// Restart this service when the dependency is updated.
    pub restart: bool,
    /// Fail when the dependency is missing (else warn).
    pub required: bool,
}

impl Default for Dependency {
    fn default() -> Self {
        Dependency {
            condition: Condition::ServiceStarted,
            restart: false,
            required: true,
        }
    }
}

/// Deploy settings (the subset that matters to a single engine).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Deploy {
    /// Replica count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u64>,
    /// Resources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// Service labels.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// `update_config`: only `order` is used (how `up` replaces a changed container).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_config: Option<UpdateConfig>,
}

/// `deploy.update_config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpdateConfig {
    /// `start-first` (the new container serves before the old one stops; berth's default
    /// outside swarm) or `stop-first` (Docker's recreate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
}

/// Limits and reservations.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Resources {
    /// Hard limits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<ResourceSpec>,
    /// Reservations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reservations: Option<ResourceSpec>,
}

/// CPU, memory and pids amounts.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ResourceSpec {
    /// CPUs (fractional).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpus: Option<f64>,
    /// Memory in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<u64>,
    /// Maximum number of processes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids: Option<u64>,
}

/// A service's attachment to a network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServiceNetwork {
    /// Extra DNS names on this network.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Fixed IPv4 address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv4_address: Option<String>,
    /// Fixed IPv6 address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv6_address: Option<String>,
    /// Connection order (higher first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
}

/// A ulimit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Ulimit {
    /// Soft limit.
    pub soft: i64,
    /// Hard limit.
    pub hard: i64,
}

/// A service's reference to a secret or config.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FileRef {
    /// Top-level key of the secret/config.
    pub source: String,
    /// Path (or name) in the container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Owner uid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Owner gid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gid: Option<String>,
    /// File mode (written as an octal string).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser_octal")]
    pub mode: Option<u32>,
}
