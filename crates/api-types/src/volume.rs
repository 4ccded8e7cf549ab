//! Volumes' wire shapes: `Volume`, the list, create and prune bodies.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Docker's `Volume`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Volume {
    /// The name.
    pub name: String,
    /// `local`.
    pub driver: String,
    /// `<data-root>/volumes/<name>/_data`.
    pub mountpoint: String,
    /// RFC 3339.
    pub created_at: String,
    /// User labels.
    pub labels: BTreeMap<String, String>,
    /// `local`.
    pub scope: String,
    /// Driver options.
    pub options: BTreeMap<String, String>,
    /// Size and users; only when asked (`/system/df`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub usage_data: Option<VolumeUsageData>,
}

/// `UsageData` of a volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeUsageData {
    /// Bytes of its data (-1 when not measured).
    pub size: i64,
    /// Containers that use it.
    pub ref_count: i64,
}

/// `GET /volumes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeListResponse {
    /// The volumes.
    pub volumes: Vec<Volume>,
    /// Always empty.
    pub warnings: Vec<String>,
}

/// `POST /volumes/create` body (Go's nil maps are `null`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VolumeCreateRequest {
    /// The name; empty for a random one.
    pub name: Option<String>,
    /// The driver; empty for `local`.
    pub driver: Option<String>,
    /// Driver options.
    pub driver_opts: Option<BTreeMap<String, String>>,
    /// Labels.
    pub labels: Option<BTreeMap<String, String>>,
}

/// `POST /volumes/prune`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumesPruneResponse {
    /// Names of the removed volumes.
    pub volumes_deleted: Vec<String>,
    /// Bytes freed.
    pub space_reclaimed: u64,
}
