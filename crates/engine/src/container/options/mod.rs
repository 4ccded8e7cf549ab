//! `CreateOptions`: the part of Docker's `ContainerConfig` + `HostConfig` berth accepts, with
//! Docker's JSON field names, and the parsers/validators for its string-typed fields.
//!
//! Why the Docker names: the API deserialises the body of `POST /containers/create` straight
//! into [`CreateOptions`]; keys berth does not know are ignored, as Docker ignores unknown keys.
//! Why `null` reads as empty for lists and maps: Go encodes nil slices and maps as `null`. The
//! exceptions are `Entrypoint` and `Cmd`, where `null` (not given) and `[]` (given, empty) mean
//! different things to Docker's merge with the image config.
//!
//! Every validation message names the bad value and, where Docker has one, uses Docker's words.
//!
//! - `binds`: [`parse_bind`] and the mount-destination and tmpfs-size helpers; `mounts`:
//!   `--mount`'s shapes ([`MountSpec`]).
//! - `resources`: [`validate_resources`] and the memory/CPU constants.
//! - `security`: [`capabilities`], [`parse_security_opts`], [`rlimit`], [`validate_sysctl`].
//! - `network`: [`network_kind`] and [`parse_extra_hosts`].

use std::collections::BTreeMap;

use berth_image::HealthConfig;
use serde::{Deserialize, Deserializer, Serialize};

mod binds;
mod logging;
mod mounts;
mod namespaces;
mod network;
mod resources;
mod security;

pub(crate) use binds::{check_destination, tmpfs_size};
pub use binds::{parse_bind, BindMount};
pub use logging::{log_limits, LogConfig, LogLimits, JSON_FILE};
pub use mounts::{BindOptions, DriverConfig, MountSpec, TmpfsOptions, VolumeOptions};
pub use namespaces::{ipc_kind, pid_kind, validate_ipc_sysctl, IpcKind, PidKind, DEFAULT_IPC_MODE};
pub use network::{network_kind, parse_extra_hosts, NetworkKind};
pub use resources::{validate_resources, CPU_PERIOD, DEFAULT_SHM_SIZE, MIN_MEMORY};
pub use security::{
    capabilities, parse_security_opts, rlimit, validate_sysctl, SeccompChoice, SecurityOptions,
    ALL_CAPABILITIES, DEFAULT_CAPABILITIES,
};

/// A failure to accept the create options; the message names the value and the fix.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OptionsError {
    /// A `Binds` entry is malformed.
    #[error("invalid bind mount spec {spec:?}: {reason}")]
    Bind {
        /// The entry as given.
        spec: String,
        /// What is wrong and what is expected.
        reason: String,
    },
    /// A `Mounts` or `Tmpfs` entry is malformed.
    #[error("invalid mount config for type {kind:?}: {reason}")]
    Mount {
        /// `bind`, `volume` or `tmpfs`.
        kind: String,
        /// What is wrong and what is expected.
        reason: String,
    },
    /// A resource value is out of range (Docker's own wording).
    #[error("{0}")]
    Resource(String),
    /// A capability name is not one the kernel has.
    #[error(
        "unknown capability: {0:?}: use a name from capabilities(7), with or without CAP_, or ALL"
    )]
    Capability(String),
    /// A `SecurityOpt` entry is not understood.
    #[error("invalid --security-opt {0:?}: use seccomp=unconfined, seccomp=<profile JSON>, no-new-privileges[:true|false], apparmor=<profile> or label=<option>")]
    SecurityOpt(String),
    /// An `Ulimits` entry is invalid.
    #[error("invalid ulimit {name:?}: {reason}")]
    Ulimit {
        /// The name as given.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A sysctl is not namespaced (so would change the host) or not allowed here.
    #[error("sysctl {name:?} is not allowed: {reason}")]
    Sysctl {
        /// The key.
        name: String,
        /// Why, and what is allowed.
        reason: String,
    },
    /// An `ExtraHosts` entry is malformed.
    #[error("bad format for add-host: {0:?}: expected host:ip (or host=ip)")]
    ExtraHost(String),
    /// `LogConfig` names another driver or an option it cannot take.
    #[error("{0}")]
    LogConfig(String),
    /// `NetworkMode` names a mode berth does not implement.
    #[error("invalid network mode {0:?}: use default, bridge, none, host, container:<name|id> or a network's name")]
    NetworkMode(String),
    /// `PidMode` is not one Docker knows.
    #[error("invalid PID mode {0:?}: use host or container:<name|id> (or leave it empty for a private pid namespace)")]
    PidMode(String),
    /// `IpcMode` is not one Docker knows.
    #[error("invalid IPC mode {0:?}: use private, none, shareable, host or container:<name|id>")]
    IpcMode(String),
}

/// `null` (Go's nil) reads as the default value.
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Docker's `StrSlice`: `null` (not given), a bare string (one element) or a list.
fn str_slice<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => None,
        Some(OneOrMany::One(s)) => Some(vec![s]),
        Some(OneOrMany::Many(v)) => Some(v),
    })
}

/// The body of `POST /containers/create`: Docker's `ContainerConfig` with `HostConfig` nested.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateOptions {
    /// The container's hostname; empty means the first 12 hex digits of its id.
    #[serde(deserialize_with = "null_default")]
    pub hostname: String,
    /// The NIS domain name.
    #[serde(deserialize_with = "null_default")]
    pub domainname: String,
    /// `user`, `uid`, `user:group`, `uid:gid`; empty means the image's.
    #[serde(deserialize_with = "null_default")]
    pub user: String,
    /// `KEY=value` entries overriding the image's by key; a bare `KEY` removes it.
    #[serde(deserialize_with = "null_default")]
    pub env: Vec<String>,
    /// The command; `None` or empty means the image's (unless the entrypoint is overridden).
    #[serde(deserialize_with = "str_slice")]
    pub cmd: Option<Vec<String>>,
    /// The entrypoint: `None` keeps the image's, `[]` clears it, `[""]` (the CLI's
    /// `--entrypoint ""`) clears it and the image's command.
    #[serde(deserialize_with = "str_slice")]
    pub entrypoint: Option<Vec<String>>,
    /// The working directory; empty means the image's, then `/`.
    #[serde(deserialize_with = "null_default")]
    pub working_dir: String,
    /// The client attaches stdin (kept as sent: dockerpty attaches what inspect says).
    pub attach_stdin: bool,
    /// The client attaches stdout.
    pub attach_stdout: bool,
    /// The client attaches stderr.
    pub attach_stderr: bool,
    /// Allocate a terminal.
    pub tty: bool,
    /// Keep stdin open.
    pub open_stdin: bool,
    /// Close stdin after the first attach ends.
    pub stdin_once: bool,
    /// The container's labels.
    #[serde(deserialize_with = "null_default")]
    pub labels: BTreeMap<String, String>,
    /// The stop signal (`SIGTERM`, `15`); empty means the image's, then SIGTERM.
    #[serde(deserialize_with = "null_default")]
    pub stop_signal: String,
    /// Seconds between the stop signal and SIGKILL.
    pub stop_timeout: Option<i64>,
    /// The image reference as given.
    #[serde(deserialize_with = "null_default")]
    pub image: String,
    /// The health check (overrides the image's).
    pub healthcheck: Option<HealthConfig>,
    /// Docker's `HostConfig`.
    #[serde(deserialize_with = "null_default")]
    pub host_config: HostConfig,
    /// Destinations that get an anonymous volume (`docker run -v /data`): `{"/data": {}}`.
    #[serde(deserialize_with = "null_default")]
    pub volumes: BTreeMap<String, serde_json::Value>,
    /// Ports the container listens on (`--expose`, `-p`): `{"80/tcp": {}}`.
    #[serde(deserialize_with = "null_default")]
    pub exposed_ports: BTreeMap<String, serde_json::Value>,
    /// The networks to connect at create and their settings (aliases, `--ip`).
    #[serde(deserialize_with = "null_default")]
    pub networking_config: NetworkingConfig,
}

/// Docker's `nat.PortBinding`: one host address and port for a container port.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PortBinding {
    /// The host address; empty means every address.
    #[serde(deserialize_with = "null_default")]
    pub host_ip: String,
    /// The host port or range; empty means a random port.
    #[serde(deserialize_with = "null_default")]
    pub host_port: String,
}

/// Docker's `NetworkingConfig`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkingConfig {
    /// Network name or id → the endpoint's settings.
    #[serde(deserialize_with = "null_default")]
    pub endpoints_config: BTreeMap<String, EndpointConfig>,
}

/// The part of Docker's `EndpointSettings` a client may set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EndpointConfig {
    /// Static addresses (`--ip`).
    #[serde(rename = "IPAMConfig")]
    pub ipam_config: Option<EndpointIpam>,
    /// Extra DNS names on this network (`--network-alias`).
    #[serde(deserialize_with = "null_default")]
    pub aliases: Vec<String>,
}

/// Docker's `EndpointIPAMConfig`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EndpointIpam {
    /// The IPv4 address asked for.
    #[serde(rename = "IPv4Address", deserialize_with = "null_default")]
    pub ipv4_address: String,
}

/// The subset of Docker's `HostConfig` berth accepts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HostConfig {
    /// `src:dst[:opts]` bind mounts (see [`parse_bind`]).
    #[serde(deserialize_with = "null_default")]
    pub binds: Vec<String>,
    /// Structured mounts (`--mount`).
    #[serde(deserialize_with = "null_default")]
    pub mounts: Vec<MountSpec>,
    /// tmpfs mounts: destination → options (`"size=64m,noexec"`).
    #[serde(deserialize_with = "null_default")]
    pub tmpfs: BTreeMap<String, String>,
    /// Memory limit in bytes; 0 is unlimited.
    pub memory: i64,
    /// Memory + swap limit in bytes; -1 unlimited, 0 means twice `Memory`.
    pub memory_swap: i64,
    /// Memory soft limit in bytes.
    pub memory_reservation: i64,
    /// CPUs in units of 10⁻⁹ (`--cpus 1.5` is 1500000000).
    #[serde(rename = "NanoCpus")]
    pub nano_cpus: i64,
    /// Relative CPU weight (cgroup v1 shares).
    pub cpu_shares: i64,
    /// CFS period in µs.
    pub cpu_period: i64,
    /// CFS quota in µs.
    pub cpu_quota: i64,
    /// CPUs allowed (`0-3,5`).
    #[serde(deserialize_with = "null_default")]
    pub cpuset_cpus: String,
    /// Memory nodes allowed.
    #[serde(deserialize_with = "null_default")]
    pub cpuset_mems: String,
    /// Max processes; `None`, 0 or -1 is unlimited.
    pub pids_limit: Option<i64>,
    /// Resource limits.
    #[serde(deserialize_with = "null_default")]
    pub ulimits: Vec<Ulimit>,
    /// Mount the root file system read-only.
    pub readonly_rootfs: bool,
    /// Capabilities to add (`NET_ADMIN`, `CAP_NET_ADMIN`, `ALL`).
    #[serde(deserialize_with = "null_default")]
    pub cap_add: Vec<String>,
    /// Capabilities to drop.
    #[serde(deserialize_with = "null_default")]
    pub cap_drop: Vec<String>,
    /// All capabilities, all devices, no seccomp, no masked paths.
    pub privileged: bool,
    /// `seccomp=…`, `no-new-privileges`, `apparmor=…`, `label=…`.
    #[serde(deserialize_with = "null_default")]
    pub security_opt: Vec<String>,
    /// Run an init as pid 1.
    pub init: Option<bool>,
    /// `host:ip` entries for `/etc/hosts`.
    #[serde(deserialize_with = "null_default")]
    pub extra_hosts: Vec<String>,
    /// `/dev/shm`'s size in bytes; 0 means 64 MiB.
    pub shm_size: i64,
    /// The OOM killer's score adjustment, -1000..=1000.
    pub oom_score_adj: i64,
    /// Namespaced sysctls.
    #[serde(deserialize_with = "null_default")]
    pub sysctls: BTreeMap<String, String>,
    /// Supplementary groups (names or gids).
    #[serde(deserialize_with = "null_default")]
    pub group_add: Vec<String>,
    /// `default`, `bridge`, `none`, `host`, `container:<name|id>` or a network's name.
    #[serde(deserialize_with = "null_default")]
    pub network_mode: String,
    /// `""` (a private pid namespace), `host` or `container:<name|id>`.
    #[serde(deserialize_with = "null_default")]
    pub pid_mode: String,
    /// `private` (also `""`), `none`, `shareable`, `host` or `container:<name|id>`.
    #[serde(deserialize_with = "null_default")]
    pub ipc_mode: String,
    /// Published ports: `"80/tcp"` → host bindings (`-p`).
    #[serde(deserialize_with = "null_default")]
    pub port_bindings: BTreeMap<String, Vec<PortBinding>>,
    /// Publish every exposed port on a random host port (`-P`).
    pub publish_all_ports: bool,
    /// DNS servers for the container (`--dns`).
    #[serde(deserialize_with = "null_default")]
    pub dns: Vec<String>,
    /// DNS search domains (`--dns-search`).
    #[serde(deserialize_with = "null_default")]
    pub dns_search: Vec<String>,
    /// resolv.conf options (`--dns-option`).
    #[serde(deserialize_with = "null_default")]
    pub dns_options: Vec<String>,
    /// Block I/O weight, 10 to 1000; 0 leaves the kernel's default.
    pub blkio_weight: u16,
    /// The log driver and its options (`--log-driver`, `--log-opt`).
    #[serde(deserialize_with = "null_default")]
    pub log_config: LogConfig,
    /// What to do when the container exits (kept and shown; not acted on yet).
    #[serde(deserialize_with = "null_default")]
    pub restart_policy: RestartPolicy,
}

/// Docker's `RestartPolicy`: `no`, `always`, `unless-stopped`, `on-failure`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RestartPolicy {
    /// The policy's name; empty means `no`.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// For `on-failure`: how many restarts at most (0: no limit).
    pub maximum_retry_count: i64,
}

/// One `--ulimit`, Docker's `units.Ulimit`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Ulimit {
    /// `nofile`, `nproc`, `core`, ...
    pub name: String,
    /// The soft limit; -1 is unlimited.
    pub soft: i64,
    /// The hard limit; -1 is unlimited.
    pub hard: i64,
}
