//! Containers' wire shapes: create and wait answers, `ContainerSummary` (`/containers/json`)
//! and the subset of `ContainerJSON` (`/containers/{id}/json`) berthd fills.
//!
//! Why `HostConfig` and `Config` are plain JSON values: they echo what the client sent (merged
//! with the image for `Config`), and the options type lives in the engine.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `POST /containers/create`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerCreateResponse {
    /// The new container's id.
    pub id: String,
    /// Warnings (none today).
    pub warnings: Vec<String>,
}

/// The `Error` of a wait answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WaitExitError {
    /// What went wrong.
    pub message: String,
}

/// `POST /containers/{id}/wait`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerWaitResponse {
    /// The exit code.
    pub status_code: i64,
    /// Set when waiting failed.
    pub error: Option<WaitExitError>,
}

/// One row of `GET /containers/json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerSummary {
    /// The id.
    pub id: String,
    /// `["/name"]`.
    pub names: Vec<String>,
    /// The image as given at create.
    pub image: String,
    /// The image id.
    #[serde(rename = "ImageID")]
    pub image_id: String,
    /// The command line, space-joined.
    pub command: String,
    /// Creation time, seconds since the epoch.
    pub created: i64,
    /// `created`, `running`, `exited`, `dead`.
    pub state: String,
    /// `Up 3 seconds`, `Exited (3) 2 seconds ago`, `Created`.
    pub status: String,
    /// Published and exposed ports.
    pub ports: Vec<serde_json::Value>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Mounts (none reported yet).
    pub mounts: Vec<serde_json::Value>,
    /// `{"NetworkMode": …}`.
    pub host_config: serde_json::Value,
    /// `{"Networks": {}}`.
    pub network_settings: serde_json::Value,
}

/// `State` of an inspect answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerState {
    /// `created`, `running`, `exited`, `dead`.
    pub status: String,
    /// Docker's derived booleans.
    pub running: bool,
    /// Always false (pause is not implemented).
    pub paused: bool,
    /// Always false (no restart policies yet).
    pub restarting: bool,
    /// Whether the OOM killer ended it (not tracked yet: false).
    #[serde(rename = "OOMKilled")]
    pub oom_killed: bool,
    /// Whether it is dead.
    pub dead: bool,
    /// The init's pid while running, else 0.
    pub pid: i64,
    /// The exit code once exited.
    pub exit_code: i64,
    /// An error starting it.
    pub error: String,
    /// RFC 3339; `0001-01-01T00:00:00Z` when never started.
    pub started_at: String,
    /// RFC 3339; `0001-01-01T00:00:00Z` while not exited.
    pub finished_at: String,
}

/// The subset of `GET /containers/{id}/json` berthd answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerInspect {
    /// The id.
    pub id: String,
    /// Creation time, RFC 3339.
    pub created: String,
    /// The executable.
    pub path: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// The state.
    pub state: ContainerState,
    /// The image id.
    pub image: String,
    /// `/name`.
    pub name: String,
    /// Always 0.
    pub restart_count: i64,
    /// `overlay`.
    pub driver: String,
    /// `linux`.
    pub platform: String,
    /// The host config as created.
    pub host_config: serde_json::Value,
    /// The config, merged with the image's.
    pub config: serde_json::Value,
    /// `{"Name":"overlay","Data":{…}}`.
    pub graph_driver: serde_json::Value,
    /// Mounts (none reported yet).
    pub mounts: Vec<serde_json::Value>,
    /// `{"Networks": {}}`.
    pub network_settings: serde_json::Value,
}
