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
//! [`Hasher`], and [`ContentStore`] with its [`BlobWriter`]. What is not here yet: manifests and
//! indexes, image configs, layer unpacking, snapshots, docker-archive/OCI-layout import and
//! export, the name → manifest index, and garbage collection of unreferenced blobs.
//!
//! Everything is synchronous, prints nothing and reads no environment; the store root is always
//! passed in.

#![warn(missing_docs)]

mod content;
mod digest;
mod error;
mod reference;

pub use content::{BlobWriter, ContentStore};
pub use digest::{Algorithm, Digest, Hasher};
pub use error::ImageError;
pub use reference::{
    Reference, DEFAULT_DOMAIN, DEFAULT_TAG, LEGACY_DEFAULT_DOMAIN, NAME_TOTAL_LENGTH_MAX,
    OFFICIAL_REPO_PREFIX,
};
