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
    /// The image store failed.
    #[error(transparent)]
    Image(#[from] ImageError),
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
            Self::Image(e) => e.kind(),
            Self::Registry(e) => e.kind(),
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
