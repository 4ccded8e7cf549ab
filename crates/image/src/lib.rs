//! The image store of berth: image references, digests and the content-addressed blob store.
//!
//! Why content addressing: every layer, config and manifest of an OCI image is named by the
//! hash of its bytes. Storing blobs under that name gives deduplication between images for free,
//! makes "do we have it?" a file lookup, and lets every read be checked against its name, so a
//! flipped bit on disk or a lying registry is caught instead of unpacked.
//!
//! Why temp file + fsync + rename: a pull can be killed at any moment (daemon crash, OOM,
//! power loss). Writing into `ingest/`, verifying the digest, `fsync`ing the file, renaming it
//! into `blobs/` and `fsync`ing the directory means a blob is either absent or complete and
//! correct; the next [`ContentStore::open`] sweeps what a dead writer left in `ingest/`.
//!
//! What is here: [`Reference`] (Docker-compatible parsing and normalisation), [`Digest`] and
//! [`Hasher`], [`ContentStore`] with its [`BlobWriter`], and the image model in [`model`]:
//! media types, [`Platform`] matching, [`Manifest`], [`Index`] (with platform selection),
//! [`ImageConfig`] and [`chain_ids`]. What is not here yet: layer unpacking, snapshots,
//! docker-archive/OCI-layout import and export, the name → manifest index, and garbage
//! collection of unreferenced blobs.
//!
//! Everything is synchronous, prints nothing and reads no environment; the store root is always
//! passed in.

#![warn(missing_docs)]

mod archive;
pub mod changes;
mod content;
mod digest;
mod error;
pub mod model;
mod reference;
mod store;
/// RFC 3339 times (the workspace's one implementation, in berth-types).
pub use berth_types::time;

pub use archive::{BuildHistory, LoadReport, NewImage};
pub use content::{BlobWriter, ContentStore};
pub use digest::{Algorithm, Digest, Hasher};
pub use error::ImageError;
pub use model::{
    chain_ids, ContainerConfig, Descriptor, HealthConfig, History, ImageConfig, Index, Manifest,
    ManifestOrIndex, Platform, RootFs,
};
pub use reference::{
    not_found_name, Reference, DEFAULT_DOMAIN, DEFAULT_TAG, LEGACY_DEFAULT_DOMAIN,
    NAME_TOTAL_LENGTH_MAX, OFFICIAL_REPO_PREFIX,
};
pub use store::{
    short_id, BuildLease, ContainerRootfs, DiskUsage, ExportedManifest, FetchedLayer, FsckReport,
    GcPolicy, GcReport, Image, ImageRecord, ImageStore, ImageUsage, LabelFilter, Lease, OpenAt,
    PendingSnapshot, PruneOptions, PruneReport, RemoveEvent, SnapshotMeta, Snapshots,
};
