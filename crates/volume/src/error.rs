//! The crate's one error type, with Docker's words where the CLI shows them.

use berth_types::ErrorKind;

/// Everything a volume operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    /// No volume has this name (Docker's words).
    #[error("get {0}: no such volume")]
    NotFound(String),
    /// The name breaks Docker's rule (Docker's words).
    #[error("create {0}: \"{0}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path")]
    InvalidName(String),
    /// A driver option, driver or value is not accepted.
    #[error("{0}")]
    InvalidArgument(String),
    /// The name exists with another driver or other options.
    #[error("{0}")]
    Conflict(String),
    /// Containers use the volume (Docker's words: `volume is in use - [ids]`).
    #[error("remove {name}: volume is in use - [{}]", ids.join(", "))]
    InUse {
        /// The volume.
        name: String,
        /// The containers that mount it.
        ids: Vec<String>,
    },
    /// Mounting or unmounting the driver's file system failed.
    #[error("{what} volume {name}: {reason}")]
    Mount {
        /// `mounting` or `unmounting`.
        what: &'static str,
        /// The volume.
        name: String,
        /// The kernel's answer and the options tried.
        reason: String,
    },
    /// A file of the volume could not be read or written.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path.
        path: std::path::PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

impl VolumeError {
    /// The class of the failure (for the API's status code).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::InvalidName(_) | Self::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Self::Conflict(_) | Self::InUse { .. } => ErrorKind::Conflict,
            Self::Mount { .. } | Self::Io { .. } => ErrorKind::Internal,
        }
    }

    pub(crate) fn io(what: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        VolumeError::Io {
            what,
            path: path.to_path_buf(),
            source,
        }
    }
}
