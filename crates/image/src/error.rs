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
    /// A platform string could not be parsed.
    #[error("invalid platform {input:?}: {reason}")]
    InvalidPlatform {
        /// The text given.
        input: String,
        /// The problem and the expected form.
        reason: String,
    },
    /// A manifest or index is not valid JSON of the shape its media type promises.
    #[error("invalid image manifest: {reason}")]
    InvalidManifest {
        /// The problem, naming the field or media type involved.
        reason: String,
    },
    /// The registry or archive served a Docker schema 1 manifest.
    #[error(
        "the image uses a Docker schema 1 manifest ({media_type}), which is deprecated and not \
         supported; re-push the image with a current Docker or OCI client to convert it to \
         schema 2 or OCI"
    )]
    ManifestSchema1 {
        /// The schema 1 media type, or "schemaVersion 1" when only the body said so.
        media_type: String,
    },
    /// An image config blob is not a valid OCI/Docker image config.
    #[error("invalid image config: {reason}")]
    InvalidConfig {
        /// The problem, naming the field involved.
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
    /// A record or table of the store could not be read or written as JSON.
    #[error("store metadata {} is unreadable: {reason}; remove it and reload the image", .path.display())]
    Metadata {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A layer could not be unpacked.
    #[error("unpacking layer{}: {source}", .layer.as_ref().map(|l| format!(" {l}")).unwrap_or_default())]
    Unpack {
        /// The layer blob, when known.
        layer: Option<Digest>,
        /// What the extractor refused or failed at.
        source: berth_fs::FsError,
    },
    /// A layer's uncompressed content does not match the diff id its image config names.
    #[error(
        "layer content hashes to {actual} but the image config says {expected};          the image is corrupt, fetch it again"
    )]
    DiffIdMismatch {
        /// The diff id in the config.
        expected: Digest,
        /// The digest of the uncompressed stream.
        actual: Digest,
    },
    /// An image's manifest and config do not fit together.
    #[error("invalid image: {reason}")]
    BadImage {
        /// What does not fit.
        reason: String,
    },
    /// No image matches the name or id.
    #[error("No such image: {reference}")]
    ImageNotFound {
        /// What was asked for.
        reference: String,
    },
    /// A short id matches several images.
    #[error("image id prefix {prefix:?} matches {matches} images; give more digits")]
    AmbiguousId {
        /// The prefix given.
        prefix: String,
        /// How many images it matches.
        matches: usize,
    },
    /// The operation conflicts with the store's state (an image in use, several tags).
    #[error("conflict: {reason}")]
    Conflict {
        /// Docker's wording of the conflict and what to do.
        reason: String,
    },
    /// An image archive (docker-archive, OCI layout) is malformed.
    #[error("invalid image archive: {reason}")]
    BadArchive {
        /// What is wrong.
        reason: String,
    },
    /// A container rootfs key is not a valid name.
    #[error("invalid rootfs key {key:?}: use 1-128 letters, digits, '_', '-' or '.'")]
    InvalidKey {
        /// The key given.
        key: String,
    },
    /// Mounting or unmounting a container rootfs failed.
    #[error("{}: {reason}", .path.display())]
    Mount {
        /// The mount point.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// A `--change` instruction of import/commit is not one Docker accepts there.
    #[error("invalid --change {line:?}: {reason}")]
    InvalidChange {
        /// The instruction given.
        line: String,
        /// What is wrong.
        reason: String,
    },
    /// A downloaded blob is not what its descriptor says; it was discarded.
    #[error(
        "blob {digest} failed verification: received {size} bytes (expected {expected_size}) \
         hashing to {actual}; it was discarded, pull again (if it persists, the registry \
         serves corrupt data)"
    )]
    BlobVerification {
        /// The digest the manifest names.
        digest: Digest,
        /// The digest of what arrived.
        actual: Digest,
        /// Bytes received.
        size: u64,
        /// Bytes the manifest announced.
        expected_size: u64,
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
            | Self::AlgorithmMismatch { .. }
            | Self::InvalidPlatform { .. }
            | Self::InvalidManifest { .. }
            | Self::InvalidConfig { .. } => ErrorKind::InvalidArgument,
            Self::ManifestSchema1 { .. } => ErrorKind::NotImplemented,
            Self::BlobNotFound { .. } | Self::ImageNotFound { .. } => ErrorKind::NotFound,
            Self::DiffIdMismatch { .. }
            | Self::BadImage { .. }
            | Self::BadArchive { .. }
            | Self::AmbiguousId { .. }
            | Self::InvalidKey { .. }
            | Self::InvalidChange { .. } => ErrorKind::InvalidArgument,
            Self::BlobVerification { .. } => ErrorKind::Unavailable,
            Self::Unpack { source, .. } => source.kind(),
            Self::Conflict { .. } => ErrorKind::Conflict,
            Self::Metadata { .. } | Self::Mount { .. } => ErrorKind::Internal,
            Self::Corrupt { .. } => ErrorKind::Internal,
            Self::Io { source, .. } => match source.kind() {
                io::ErrorKind::NotFound => ErrorKind::NotFound,
                io::ErrorKind::PermissionDenied => ErrorKind::Unavailable,
                _ => ErrorKind::Internal,
            },
        }
    }

    /// Names the layer blob in an unpack error that did not name it yet.
    pub(crate) fn for_layer(self, layer: &Digest) -> Self {
        match self {
            Self::Unpack {
                layer: None,
                source,
            } => Self::Unpack {
                layer: Some(layer.clone()),
                source,
            },
            e => e,
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
