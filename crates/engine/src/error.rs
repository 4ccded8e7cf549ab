//! The engine's one error type: what the libraries under it reported, plus the engine's own
//! refusals, each with the [`ErrorKind`] the API maps to a status.

use berth_image::ImageError;
use berth_registry::RegistryError;
use berth_types::ErrorKind;

/// Everything an engine call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No image has this name or id; `name` is as Docker prints it (`nope:latest`).
    #[error("No such image: {name}")]
    NoSuchImage {
        /// The name, with the default tag added to a bare reference.
        name: String,
    },
    /// The caller's input is malformed (a filter, a change line, a platform).
    #[error("{0}")]
    InvalidArgument(String),
    /// No container has this name, id or id prefix.
    #[error("No such container: {name}")]
    NoSuchContainer {
        /// The name or id as given.
        name: String,
    },
    /// Something other than a container or image is missing (Docker's words).
    #[error("{0}")]
    NotFound(String),
    /// No exec instance has this id.
    #[error("No such exec instance: {id}")]
    NoSuchExec {
        /// The id as given.
        id: String,
    },
    /// A name is taken (Docker's words, with the fix).
    #[error("{0}")]
    Conflict(String),
    /// The container's state forbids the operation (Docker's words, with the fix).
    #[error("{0}")]
    FailedPrecondition(String),
    /// The operation is never allowed on this object (Docker's 403).
    #[error("{0}")]
    Forbidden(String),
    /// The create options cannot become an OCI spec.
    #[error(transparent)]
    Spec(#[from] crate::container::SpecError),
    /// A container file could not be read or written.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done (`reading`, `creating`).
        what: &'static str,
        /// The path.
        path: std::path::PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The container's shim failed or could not be reached; the message carries its words.
    #[error("{0}")]
    Shim(String),
    /// A bug or an unexpected failure.
    #[error("{0}")]
    Internal(String),
    /// The image store failed.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// A volume operation failed.
    #[error(transparent)]
    Volume(#[from] berth_volume::VolumeError),
    /// The registry client failed.
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

impl EngineError {
    /// The class of the failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::NoSuchImage { .. } => ErrorKind::NotFound,
            Self::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Self::NoSuchContainer { .. } | Self::NoSuchExec { .. } | Self::NotFound(_) => {
                ErrorKind::NotFound
            }
            Self::Conflict(_) => ErrorKind::Conflict,
            Self::FailedPrecondition(_) => ErrorKind::FailedPrecondition,
            Self::Forbidden(_) => ErrorKind::Forbidden,
            Self::Spec(e) => e.kind(),
            Self::Io { .. } | Self::Shim(_) | Self::Internal(_) => ErrorKind::Internal,
            Self::Image(e) => e.kind(),
            Self::Registry(e) => e.kind(),
            Self::Volume(e) => e.kind(),
        }
    }

    /// An I/O failure on `path`.
    pub(crate) fn io(what: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        EngineError::Io {
            what,
            path: path.to_path_buf(),
            source,
        }
    }

    /// Turns the store's "not found" for `name` into Docker's `No such image: …`.
    pub(crate) fn from_lookup(name: &str, e: ImageError) -> EngineError {
        match e {
            ImageError::ImageNotFound { .. } => EngineError::NoSuchImage {
                name: berth_image::not_found_name(name),
            },
            other => other.into(),
        }
    }
}
