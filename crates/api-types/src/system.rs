//! System endpoints' bodies: `/version`, `/info`, `/system/df`, `/auth`, and the error body.

use serde::{Deserialize, Serialize};

use crate::ImageSummary;

/// The body of every error response: `{"message":"No such image: x:latest"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// What went wrong, for a person.
    pub message: String,
}

/// `errorDetail` of a JSON stream line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// What went wrong.
    pub message: String,
}

/// One entry of `Components` in `/version`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ComponentVersion {
    /// `Engine`.
    pub name: String,
    /// The component's version.
    pub version: String,
    /// Free-form details (`ApiVersion`, `Os`, …), as strings.
    pub details: std::collections::BTreeMap<String, String>,
}

/// `GET /version`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Version {
    /// `{"Name": "berth"}`.
    pub platform: serde_json::Value,
    /// The server's parts.
    pub components: Vec<ComponentVersion>,
    /// berthd's version.
    pub version: String,
    /// The API version served (see [`crate::API_VERSION`]).
    pub api_version: String,
    /// The oldest API version accepted.
    #[serde(rename = "MinAPIVersion")]
    pub min_api_version: String,
    /// Source revision (empty when unknown).
    pub git_commit: String,
    /// Docker reports its Go version; berth reports `rust`.
    pub go_version: String,
    /// `linux`.
    pub os: String,
    /// `amd64`, `arm64`, …
    pub arch: String,
    /// The running kernel's release.
    pub kernel_version: String,
    /// Empty: not recorded.
    pub build_time: String,
}

/// `GET /info`: a truthful subset of Docker's fields; the rest are Go zero values on the
/// client side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Info {
    /// A stable id of this daemon (derived from its data root).
    #[serde(rename = "ID")]
    pub id: String,
    /// Containers (none yet).
    pub containers: u64,
    /// Running containers.
    pub containers_running: u64,
    /// Paused containers.
    pub containers_paused: u64,
    /// Stopped containers.
    pub containers_stopped: u64,
    /// Images in the store.
    pub images: u64,
    /// `overlay`.
    pub driver: String,
    /// `[[k, v], …]` driver status lines.
    pub driver_status: Vec<[String; 2]>,
    /// `PRETTY_NAME` of `/etc/os-release`.
    pub operating_system: String,
    /// `linux`.
    #[serde(rename = "OSType")]
    pub os_type: String,
    /// `x86_64`, `aarch64`, … (uname's machine, as Docker reports).
    pub architecture: String,
    /// CPUs available.
    #[serde(rename = "NCPU")]
    pub ncpu: u64,
    /// Bytes of memory.
    pub mem_total: u64,
    /// The data root.
    pub docker_root_dir: String,
    /// berthd's version.
    pub server_version: String,
    /// The running kernel's release.
    pub kernel_version: String,
    /// `1` or `2`.
    pub cgroup_version: String,
    /// `cgroupfs`.
    pub cgroup_driver: String,
    /// The host name.
    pub name: String,
    /// `{"LocalNodeState":"inactive"}`.
    pub swarm: serde_json::Value,
    /// Insecure registries and mirrors.
    pub registry_config: serde_json::Value,
    /// Always `https://index.docker.io/v1/`.
    pub index_server_address: String,
    /// `false`.
    pub experimental_build: bool,
    /// Warnings for `docker info` to print.
    pub warnings: Vec<String>,
}

/// `GET /system/df`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DiskUsageResponse {
    /// Bytes of all unpacked layers.
    pub layers_size: u64,
    /// The images, with `SharedSize` and `Containers` filled.
    pub images: Vec<ImageSummary>,
    /// Empty: no containers yet.
    pub containers: Vec<serde_json::Value>,
    /// Empty: no volumes yet.
    pub volumes: Vec<serde_json::Value>,
    /// Empty: no builder yet.
    pub build_cache: Vec<serde_json::Value>,
}

/// `POST /auth` body and the decoded `X-Registry-Auth` header.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthConfig {
    /// User name.
    #[serde(default)]
    pub username: String,
    /// Password or token.
    #[serde(default)]
    pub password: String,
    /// The registry (`https://index.docker.io/v1/` or `host:port`).
    #[serde(default, rename = "serveraddress")]
    pub server_address: String,
}

/// `POST /auth` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuthResponse {
    /// `Login Succeeded`.
    pub status: String,
    /// Empty: berth issues no identity tokens.
    pub identity_token: String,
}
