//! `--mount`: Docker's `mount.Mount` and its option shapes, with Docker's JSON names.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::null_default;

/// One `--mount`, Docker's `mount.Mount`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct MountSpec {
    /// `bind`, `volume` or `tmpfs`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// The host path (bind) or volume name.
    #[serde(deserialize_with = "null_default")]
    pub source: String,
    /// The path in the container.
    #[serde(deserialize_with = "null_default")]
    pub target: String,
    /// Mount read-only.
    pub read_only: bool,
    /// Bind options.
    pub bind_options: Option<BindOptions>,
    /// tmpfs options.
    pub tmpfs_options: Option<TmpfsOptions>,
    /// Volume options (type `volume`).
    pub volume_options: Option<VolumeOptions>,
}

/// Docker's `mount.VolumeOptions`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VolumeOptions {
    /// Do not copy the image's content into a new volume.
    pub no_copy: bool,
    /// Labels for a volume created by this mount.
    #[serde(deserialize_with = "null_default")]
    pub labels: BTreeMap<String, String>,
    /// The driver and its options for a volume created by this mount.
    pub driver_config: Option<DriverConfig>,
}

/// Docker's `mount.Driver`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DriverConfig {
    /// The driver (`local`).
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// Its options.
    #[serde(deserialize_with = "null_default")]
    pub options: BTreeMap<String, String>,
}

/// Docker's `mount.BindOptions` (the part berth uses).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct BindOptions {
    /// `rprivate` (default), `private`, `rshared`, `shared`, `rslave`, `slave`.
    #[serde(deserialize_with = "null_default")]
    pub propagation: String,
}

/// Docker's `mount.TmpfsOptions`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TmpfsOptions {
    /// Size in bytes; 0 is the kernel's default (half of RAM).
    pub size_bytes: i64,
    /// The root directory's mode (`0o1777` is the kernel's default).
    pub mode: u32,
}
