//! The name side of the store: image records (one file per image id) and the reference table.
//!
//! Layout under `<store>/images/`:
//!
//! ```text
//! records/<config-hex>.json   ImageRecord: the manifest descriptor, when added, when last used
//! refs.json                   {"docker.io/library/busybox:latest": "sha256:<config digest>", …}
//! ```
//!
//! Why an image id is the config digest: that is Docker's image id (`docker images` shows its
//! first 12 hex digits), it is stable across registries and archive formats, and the config
//! names every layer by diff id, so the id pins the filesystem content.
//!
//! Why one small JSON table for references: a host holds hundreds of tags, not millions, and a
//! single file replaced atomically (temp, fsync, rename) makes every tag/untag all-or-nothing
//! without a database. Writers serialise on `refs.lock`.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::fsutil::{self, Lock, LockMode};
use crate::digest::{Algorithm, Digest};
use crate::error::ImageError;
use crate::model::Descriptor;

type Result<T> = std::result::Result<T, ImageError>;

/// What the store keeps about one image besides its blobs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// The image id: the digest of its config blob.
    pub id: Digest,
    /// The manifest this image was stored with (in the content store).
    pub target: Descriptor,
    /// When the image entered this store (seconds since the epoch).
    pub added: i64,
    /// When a container was last made from it, or it was last tagged or loaded.
    pub last_used: i64,
}

/// The records and references of one store.
#[derive(Debug, Clone)]
pub(crate) struct Records {
    root: PathBuf,
}

/// The reference table: normalised reference → image id.
pub(crate) type RefTable = BTreeMap<String, Digest>;

impl Records {
    pub(crate) fn open(root: PathBuf) -> Result<Self> {
        let records = root.join("records");
        fs::create_dir_all(&records).map_err(|e| ImageError::io("creating", &records, e))?;
        fsutil::sweep_atomic_temps(&root)?;
        fsutil::sweep_atomic_temps(&records)?;
        Ok(Records { root })
    }

    fn record_path(&self, id: &Digest) -> PathBuf {
        self.root.join("records").join(format!("{}.json", id.hex()))
    }

    pub(crate) fn get(&self, id: &Digest) -> Result<Option<ImageRecord>> {
        let p = self.record_path(id);
        match fs::read(&p) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| ImageError::Metadata {
                        path: p,
                        reason: e.to_string(),
                    })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ImageError::io("reading", p, e)),
        }
    }

    pub(crate) fn put(&self, record: &ImageRecord) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(record).map_err(|e| ImageError::Metadata {
            path: self.record_path(&record.id),
            reason: e.to_string(),
        })?;
        fsutil::write_atomic(&self.record_path(&record.id), &bytes)
    }

    pub(crate) fn delete(&self, id: &Digest) -> Result<()> {
        fsutil::remove_file(&self.record_path(id))
    }

    /// Every image id with a record.
    pub(crate) fn ids(&self) -> Result<Vec<Digest>> {
        let mut out = Vec::new();
        for p in fsutil::read_dir_paths(&self.root.join("records"))? {
            let Some(stem) = p
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".json"))
            else {
                continue;
            };
            if let Ok(d) = Digest::new(Algorithm::Sha256, stem) {
                out.push(d);
            }
        }
        Ok(out)
    }

    fn refs_path(&self) -> PathBuf {
        self.root.join("refs.json")
    }

    /// Reads the reference table (empty when none was written yet).
    pub(crate) fn refs(&self) -> Result<RefTable> {
        let p = self.refs_path();
        match fs::read(&p) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| ImageError::Metadata {
                path: p,
                reason: e.to_string(),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(RefTable::new()),
            Err(e) => Err(ImageError::io("reading", p, e)),
        }
    }

    /// Runs `change` on the reference table under the writers' lock and stores the result.
    pub(crate) fn update_refs<T>(
        &self,
        change: impl FnOnce(&mut RefTable) -> Result<T>,
    ) -> Result<T> {
        let _lock = Lock::acquire(&self.root.join("refs.lock"), LockMode::Exclusive)?;
        let mut table = self.refs()?;
        let before = table.clone();
        let out = change(&mut table)?;
        if table != before {
            let bytes = serde_json::to_vec_pretty(&table).map_err(|e| ImageError::Metadata {
                path: self.refs_path(),
                reason: e.to_string(),
            })?;
            fsutil::write_atomic(&self.refs_path(), &bytes)?;
        }
        Ok(out)
    }
}
