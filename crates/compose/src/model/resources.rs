//! Top-level networks, volumes, secrets and configs.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::is_false;

/// A top-level network.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Network {
    /// The engine-side name (`PROJECT_KEY` unless `name:` or `external`).
    pub name: String,
    /// Driver (`bridge` by default on the engine side).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// Driver options.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: BTreeMap<String, String>,
    /// No outside connectivity.
    #[serde(skip_serializing_if = "is_false")]
    pub internal: bool,
    /// Standalone containers may attach.
    #[serde(skip_serializing_if = "is_false")]
    pub attachable: bool,
    /// IPv6 enabled.
    #[serde(skip_serializing_if = "is_false")]
    pub enable_ipv6: bool,
    /// Labels.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Managed outside the project: never created or removed.
    #[serde(skip_serializing_if = "is_false")]
    pub external: bool,
    /// IP address management.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipam: Option<Ipam>,
}

/// IPAM settings of a network.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Ipam {
    /// IPAM driver.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// Address pools.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub config: Vec<IpamPool>,
}

/// One IPAM pool.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IpamPool {
    /// Subnet in CIDR form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    /// Gateway address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// Range to allocate container addresses from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_range: Option<String>,
}

/// A top-level named volume.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Volume {
    /// The engine-side name (`PROJECT_KEY` unless `name:` or `external`).
    pub name: String,
    /// Driver (`local` by default on the engine side).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// Driver options.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: BTreeMap<String, String>,
    /// Labels.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Managed outside the project.
    #[serde(skip_serializing_if = "is_false")]
    pub external: bool,
}

/// A top-level secret or config: from a file, an environment variable, inline content, or
/// external.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FileObject {
    /// Engine-side name, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Source file (absolute).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// Source environment variable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Inline content (configs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// The value of the `environment` variable when the project was loaded (never rendered).
    #[serde(skip)]
    pub environment_value: Option<String>,
    /// Managed outside the project.
    #[serde(skip_serializing_if = "is_false")]
    pub external: bool,
}
