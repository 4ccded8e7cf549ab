//! The typed, resolved model of a Compose project.
//!
//! Values are already interpolated, merged and normalized: one form per field (long syntax),
//! absolute paths, durations and sizes parsed. Field names follow the Compose Specification,
//! so serializing the model gives valid Compose YAML (see [`crate::render`]).

mod resources;
mod service;
mod service_parts;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

pub use resources::{FileObject, Ipam, IpamPool, Network, Volume};
pub use service::{Build, Healthcheck, Restart, Service};
pub use service_parts::{
    Condition, Dependency, Deploy, FileRef, Mount, MountBind, MountTmpfs, MountType, MountVolume,
    Port, ResourceSpec, Resources, ServiceNetwork, Ulimit, UpdateConfig,
};

/// A loaded project.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Project {
    /// The project name (normalized, valid).
    pub name: String,
    /// The project directory (absolute); relative paths were resolved against it.
    #[serde(skip)]
    pub working_dir: PathBuf,
    /// Active services by name.
    pub services: BTreeMap<String, Service>,
    /// Services disabled by their `profiles` (kept so they can be named explicitly).
    #[serde(skip)]
    pub disabled_services: BTreeMap<String, Service>,
    /// Top-level networks (including the implicit `default` when used).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub networks: BTreeMap<String, Network>,
    /// Top-level named volumes.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub volumes: BTreeMap<String, Volume>,
    /// Top-level secrets.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, FileObject>,
    /// Top-level configs.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub configs: BTreeMap<String, FileObject>,
}

pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

pub(crate) fn ser_duration<S: serde::Serializer>(
    d: &Option<std::time::Duration>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&crate::units::format_duration(*d)),
        None => s.serialize_none(),
    }
}
