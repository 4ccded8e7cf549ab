//! The one error type of this crate.
//!
//! Why each variant carries the input, the digest or the path: an image pull that fails with
//! "digest mismatch" alone cannot be acted on. The message names what was expected, what was
//! found and, where there is one, the fix, so the error printed by a CLI is enough to act on.

use std::io;
use std::path::PathBuf;

use berth_types::ErrorKind;

use crate::digest::Digest;

/// What went wrong while parsing a reference or digest, or while using the content store.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// An image reference could not be parsed.
    #[error("invalid reference {input:?}: {reason}")]
    InvalidReference {
        /// The text given.
        input: String,
        /// The problem and, where there is one, the fix.
        reason: String,
    },
    /// A digest string could not be parsed.
    #[error("invalid digest {input:?}: {reason}")]
    InvalidDigest {
        /// The text given.
        input: String,
        /// The problem and the expected form.
        reason: String,
    },
    /// Written content does not hash to the digest the caller expected.
    #[error(
        "digest mismatch: expected {expected}, content hashes to {actual}; \
         the source sent different bytes than announced, nothing was stored"
    )]
    DigestMismatch {
        /// The digest the caller announced.
        expected: Digest,
        /// The digest of the bytes actually written.
        actual: Digest,
    },
    /// Written content does not have the size the caller expected.
    #[error(
        "size mismatch: expected {expected} bytes, got {actual} bytes; \
         the transfer was truncated or padded, nothing was stored"
    )]
    SizeMismatch {
        /// The size the caller announced.
        expected: u64,
        /// The number of bytes written.
        actual: u64,
    },
    /// The expected digest uses another algorithm than the writer hashes with.
    #[error(
        "expected digest {expected} uses {}, but the writer hashes with {writer}; \
         create the writer with writer_for({})",
        .expected.algorithm(), .expected.algorithm()
    )]
    AlgorithmMismatch {
        /// The digest the caller announced.
        expected: Digest,
        /// The algorithm of the writer.
        writer: crate::digest::Algorithm,
    },
    /// No blob with this digest is in the store.
    #[error("blob {digest} not found in the content store")]
    BlobNotFound {
        /// The digest asked for.
        digest: Digest,
    },
    /// A stored blob no longer hashes to its name: the disk or someone else changed it.
    #[error(
        "blob {digest} is corrupt: {} now hashes to {actual}; delete it and fetch it again",
        .path.display()
    )]
    Corrupt {
        /// The digest the blob is stored under.
        digest: Digest,
        /// The digest of its current content.
        actual: Digest,
        /// The blob's file.
        path: PathBuf,
    },
    /// A file system operation on the store failed.
    #[error("{op} {} failed: {source}", .path.display())]
    Io {
        /// What was being done ("creating", "renaming", ...).
        op: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The I/O error, errno included.
        source: io::Error,
    },
}

impl ImageError {
    /// The class of the failure, for mapping to HTTP statuses and exit codes.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidReference { .. }
            | Self::InvalidDigest { .. }
            | Self::DigestMismatch { .. }
            | Self::SizeMismatch { .. }
            | Self::AlgorithmMismatch { .. } => ErrorKind::InvalidArgument,
            Self::BlobNotFound { .. } => ErrorKind::NotFound,
            Self::Corrupt { .. } => ErrorKind::Internal,
            Self::Io { source, .. } => match source.kind() {
                io::ErrorKind::NotFound => ErrorKind::NotFound,
                io::ErrorKind::PermissionDenied => ErrorKind::Unavailable,
                _ => ErrorKind::Internal,
            },
        }
    }

    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
