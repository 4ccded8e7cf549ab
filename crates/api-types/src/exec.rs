//! `docker exec`: `POST /containers/{id}/exec`, `POST /exec/{id}/start`, `GET /exec/{id}/json`.

use serde::{Deserialize, Serialize};

/// The body of `POST /containers/{id}/exec`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExecCreateRequest {
    /// Attach the process's stdin.
    pub attach_stdin: bool,
    /// Attach its stdout.
    pub attach_stdout: bool,
    /// Attach its stderr.
    pub attach_stderr: bool,
    /// Allocate a terminal.
    pub tty: bool,
    /// `[height, width]` of the terminal.
    pub console_size: Option<Vec<u32>>,
    /// Key sequence for detaching.
    pub detach_keys: Option<String>,
    /// Extra `KEY=value` entries.
    pub env: Option<Vec<String>>,
    /// The command.
    pub cmd: Option<Vec<String>>,
    /// Every capability.
    pub privileged: bool,
    /// `user[:group]`.
    pub user: Option<String>,
    /// The working directory.
    pub working_dir: Option<String>,
}

/// The body of `POST /exec/{id}/start`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExecStartRequest {
    /// Start and return at once, output discarded.
    pub detach: bool,
    /// Whether the exec has a terminal (informational; the create request decides).
    pub tty: bool,
    /// `[height, width]` of the terminal.
    pub console_size: Option<Vec<u32>>,
}

/// `ProcessConfig` of an exec inspect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecProcessConfig {
    /// `Cmd[1..]`.
    pub arguments: Vec<String>,
    /// `Cmd[0]`.
    pub entrypoint: String,
    /// Every capability.
    pub privileged: bool,
    /// A terminal.
    pub tty: bool,
    /// The user.
    pub user: String,
}

/// `GET /exec/{id}/json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecInspect {
    /// Always false (Docker's field).
    pub can_remove: bool,
    /// The container's id.
    #[serde(rename = "ContainerID")]
    pub container_id: String,
    /// Key sequence for detaching.
    pub detach_keys: String,
    /// The exit code once ended, else null.
    pub exit_code: Option<i32>,
    /// The exec id.
    #[serde(rename = "ID")]
    pub id: String,
    /// Stderr attached.
    pub open_stderr: bool,
    /// Stdin attached.
    pub open_stdin: bool,
    /// Stdout attached.
    pub open_stdout: bool,
    /// What runs.
    pub process_config: ExecProcessConfig,
    /// Whether it runs.
    pub running: bool,
    /// Its pid on the host (0 before start).
    pub pid: i32,
}
