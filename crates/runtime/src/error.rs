//! The runtime's one error type.
//!
//! Every variant says what failed, on which path or value, and keeps the errno; the message is
//! what a user reads, so it names the fix where there is one (crun's "keep the errno, add the
//! sentence").

use std::path::PathBuf;

use berth_types::ErrorKind;

/// Anything that can go wrong while creating, starting or managing a container.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The container id is not acceptable.
    #[error(transparent)]
    Id(#[from] berth_types::IdError),
    /// No container of that id under the state root.
    #[error("container {0:?} does not exist")]
    NotFound(String),
    /// A container of that id already exists.
    #[error("container {0:?} already exists: delete it first or choose another id")]
    Exists(String),
    /// The operation is not valid in the container's current state.
    #[error("container {id:?} is {status}: cannot {op}")]
    BadState {
        /// Container id.
        id: String,
        /// Its current status word.
        status: &'static str,
        /// The refused operation.
        op: &'static str,
    },
    /// config.json is missing, unreadable or not valid OCI.
    #[error("bundle {path}: {msg}")]
    Spec {
        /// The file or bundle at fault.
        path: PathBuf,
        /// What is wrong with it.
        msg: String,
    },
    /// A value in the spec is invalid or cannot be honoured; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// Something the spec asks for is not supported by berth or this host.
    #[error("{0}")]
    Unsupported(String),
    /// A system call failed.
    #[error("{what}: {errno}")]
    Sys {
        /// What we were doing, with the path or value involved.
        what: String,
        /// The errno the kernel returned.
        errno: nix::errno::Errno,
    },
    /// A file operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What we were doing.
        what: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The container's init reported a failure during setup.
    #[error("container init failed: {0}")]
    Init(String),
    /// A cgroup operation failed.
    #[error(transparent)]
    Cgroup(#[from] berth_cgroups::CgroupError),
    /// Building or loading the seccomp filter failed.
    #[error(transparent)]
    Seccomp(#[from] crate::seccomp::SeccompError),
    /// Setting capabilities failed.
    #[error(transparent)]
    Caps(#[from] crate::caps::CapsError),
    /// A lifecycle hook failed.
    #[error("{kind} hook {path}: {msg}")]
    Hook {
        /// Which hook list (prestart, poststart, …).
        kind: &'static str,
        /// The hook's program.
        path: PathBuf,
        /// What went wrong.
        msg: String,
    },
}

impl RuntimeError {
    /// The class of this failure, for callers that map errors to exit codes or HTTP statuses.
    pub fn kind(&self) -> ErrorKind {
        match self {
            RuntimeError::Id(_) | RuntimeError::Invalid(_) | RuntimeError::Spec { .. } => {
                ErrorKind::InvalidArgument
            }
            RuntimeError::NotFound(_) => ErrorKind::NotFound,
            RuntimeError::Exists(_) => ErrorKind::Conflict,
            RuntimeError::BadState { .. } => ErrorKind::FailedPrecondition,
            RuntimeError::Unsupported(_) => ErrorKind::NotImplemented,
            RuntimeError::Cgroup(e) => e.kind(),
            RuntimeError::Seccomp(e) => e.kind(),
            RuntimeError::Caps(e) => e.kind(),
            _ => ErrorKind::Internal,
        }
    }

    pub(crate) fn sys(what: impl Into<String>, errno: nix::errno::Errno) -> Self {
        RuntimeError::Sys {
            what: what.into(),
            errno,
        }
    }

    pub(crate) fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        RuntimeError::Io {
            what,
            path: path.into(),
            source,
        }
    }
}

/// Shorthand used throughout the crate.
pub type Result<T> = std::result::Result<T, RuntimeError>;
