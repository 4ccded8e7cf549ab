//! The one error type of this crate.
//!
//! Why every variant carries the entry name: a layer with thousands of entries that fails with
//! "permission denied" alone cannot be acted on. The message names the entry as it appears in
//! the archive and the operation that failed, so the error printed by a CLI is enough to act on.

use std::io;
use std::path::PathBuf;

use berth_types::ErrorKind;

/// What went wrong while extracting or packing a layer.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    /// The destination directory could not be opened.
    #[error("cannot open layer directory {path}: {source}")]
    OpenDest {
        /// The destination given by the caller.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// An entry tries to leave the layer root or create something the options forbid.
    #[error("refused archive entry {name:?}: {reason}; nothing was written for it")]
    HostileEntry {
        /// The entry name as it appears in the archive.
        name: String,
        /// Why it was refused.
        reason: String,
    },
    /// The archive stream is malformed, truncated or fails to decompress.
    #[error("malformed layer archive{}: {source}", entry_suffix(.name))]
    Archive {
        /// The entry being read when the stream failed, if one was.
        name: Option<String>,
        /// The underlying read or decode error.
        source: io::Error,
    },
    /// An entry type berth does not extract.
    #[error("archive entry {name:?} has unsupported type {kind}")]
    Unsupported {
        /// The entry name as it appears in the archive.
        name: String,
        /// The tar type flag, printed.
        kind: String,
    },
    /// A filesystem operation for an entry failed.
    #[error("extracting {name:?}: {op} failed: {source}")]
    Io {
        /// The entry name as it appears in the archive.
        name: String,
        /// The operation that failed (e.g. "mkdirat", "write").
        op: &'static str,
        /// The underlying error, errno kept.
        source: io::Error,
    },
    /// Packing a directory into a layer failed at `path` (a file under the packed directory,
    /// or the directory itself).
    #[error("packing {path}: {op} failed: {source}")]
    Pack {
        /// The host path being read when it failed.
        path: PathBuf,
        /// The operation that failed (e.g. "lstat", "writing tar entry").
        op: &'static str,
        /// The underlying error, errno kept.
        source: io::Error,
    },
    /// The kernel lacks `openat2(2)` (Linux 5.6+), which safe extraction relies on.
    #[error("openat2 is not available on this kernel (needs Linux 5.6+); refusing to extract without in-root path resolution")]
    NoOpenat2,
}

fn entry_suffix(name: &Option<String>) -> String {
    match name {
        Some(n) => format!(" at entry {n:?}"),
        None => String::new(),
    }
}

impl FsError {
    /// The class of this failure, for mapping to an HTTP status or exit code.
    pub fn kind(&self) -> ErrorKind {
        match self {
            FsError::OpenDest { source, .. } | FsError::Pack { source, .. }
                if source.kind() == io::ErrorKind::NotFound =>
            {
                ErrorKind::NotFound
            }
            FsError::OpenDest { .. } | FsError::Io { .. } | FsError::Pack { .. } => {
                ErrorKind::Internal
            }
            FsError::HostileEntry { .. } | FsError::Archive { .. } => ErrorKind::InvalidArgument,
            FsError::Unsupported { .. } | FsError::NoOpenat2 => ErrorKind::NotImplemented,
        }
    }

    pub(crate) fn io(name: &str, op: &'static str, source: impl Into<io::Error>) -> Self {
        FsError::Io {
            name: name.to_owned(),
            op,
            source: source.into(),
        }
    }

    pub(crate) fn pack(path: &std::path::Path, op: &'static str, source: io::Error) -> Self {
        FsError::Pack {
            path: path.to_owned(),
            op,
            source,
        }
    }

    pub(crate) fn hostile(name: &str, reason: impl Into<String>) -> Self {
        FsError::HostileEntry {
            name: name.to_owned(),
            reason: reason.into(),
        }
    }
}
