//! What keeps a Dockerfile build's images alive: build leases while it runs, the build cache
//! index after it ends.
//!
//! Why this is needed: every step of a build (Docker's legacy builder) becomes an *untagged*
//! image, and untagged images are what `image prune` and the automatic policy
//! ([`super::GcPolicy`]) delete first. Docker spares its intermediate images because they have
//! children; berth does not track parents, so it keeps them explicitly:
//!
//! - **While a build runs**, a [`BuildLease`] protects every image the build made. The lease
//!   is a file `builds/<name>.json` (the ids) beside `builds/<name>.lock`, held with an
//!   exclusive `flock` for the lease's life: a builder that dies loses its lease with its
//!   process, and the stale files are swept by the next reader. Images made through
//!   [`BuildLease::store`] are added to the lease *before* their record is written, so no
//!   prune running concurrently can ever see them unprotected. Unlike [`super::Lease`] (the
//!   shared `gc.lock`), a build lease does not hold garbage collection off: `rmi`, `prune`
//!   and the automatic policy keep running during a long build, they only skip these images.
//! - **After the build**, the builder marks the images its cache maps step keys to with
//!   [`ImageStore::keep_as_cache`] (or [`BuildLease::keep_as_cache`] for all of them): their
//!   ids go into `build-cache.json` in the data root.
//!
//! The rule: an image in a live build lease or in the build cache index is a root for
//! `image prune` (with or without `all`) and for the automatic policy — neither deletes it.
//! An explicit `rmi` still does (the index then holds a stale id, which is ignored and dropped
//! at the next write). `docker builder prune` (and `system prune`) calls
//! [`ImageStore::clear_build_cache`] first; the images then are ordinary dangling images that
//! the following `prune` removes. Only images are protected: their blobs and layers are kept
//! by the usual marking from image records.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::fsutil::{self, Lock, LockMode};
use super::ImageStore;
use crate::digest::Digest;
use crate::error::ImageError;

type Result<T> = std::result::Result<T, ImageError>;

/// The file listing the build cache's image ids, in the data root.
const CACHE_FILE: &str = "build-cache.json";
/// Serialises read-modify-write of [`CACHE_FILE`].
const CACHE_LOCK: &str = "build-cache.lock";
/// The directory of live build leases, in the data root.
const BUILDS_DIR: &str = "builds";

/// The state of one build lease, shared by the store handle bound to it.
#[derive(Debug)]
pub(crate) struct BuildState {
    json: PathBuf,
    lock_path: PathBuf,
    _lock: Lock,
    ids: Mutex<BTreeSet<Digest>>,
}

impl BuildState {
    /// Adds `id` to the lease and writes the lease file (before the image's record is).
    pub(crate) fn protect(&self, id: &Digest) -> Result<()> {
        let mut ids = self.ids.lock().unwrap_or_else(|p| p.into_inner());
        if ids.insert(id.clone()) {
            fsutil::write_atomic(&self.json, &ids_json(&ids, &self.json)?)?;
        }
        Ok(())
    }
}

impl Drop for BuildState {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.json);
        let _ = std::fs::remove_file(&self.lock_path);
    }
}

fn ids_json(ids: &BTreeSet<Digest>, path: &std::path::Path) -> Result<Vec<u8>> {
    serde_json::to_vec(ids).map_err(|e| ImageError::Metadata {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

fn read_ids(path: &std::path::Path) -> Result<BTreeSet<Digest>> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| ImageError::Metadata {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeSet::new()),
        Err(e) => Err(ImageError::io("reading", path, e)),
    }
}

/// Held by a builder for the whole build: the images it made survive `prune` and the
/// automatic policy until it is dropped (see the module docs). Dropping it ends the
/// protection; call [`BuildLease::keep_as_cache`] (or [`ImageStore::keep_as_cache`] for the
/// ones to keep) first.
#[derive(Debug)]
pub struct BuildLease {
    store: ImageStore,
    state: Arc<BuildState>,
}

impl BuildLease {
    /// A handle on the same store whose build primitives (`derive_config`, `append_layer`,
    /// `commit_rootfs_with`) add each new image to this lease before recording it. Use it for
    /// every step of the build. Clones of it share the lease: the protection ends when the
    /// lease and every such clone are dropped.
    pub fn store(&self) -> &ImageStore {
        &self.store
    }

    /// Protects `id` too (an image made through another handle, or a cache hit reused).
    pub fn protect(&self, id: &Digest) -> Result<()> {
        self.state.protect(id)
    }

    /// The images this lease protects.
    pub fn ids(&self) -> Vec<Digest> {
        let ids = self.state.ids.lock().unwrap_or_else(|p| p.into_inner());
        ids.iter().cloned().collect()
    }

    /// Ends the build keeping every image it protected as build cache; returns them.
    pub fn keep_as_cache(self) -> Result<Vec<Digest>> {
        let ids = self.ids();
        self.store.keep_as_cache(&ids)?;
        Ok(ids)
    }
}

impl ImageStore {
    /// Starts a build: see [`BuildLease`].
    pub fn build_lease(&self) -> Result<BuildLease> {
        let dir = self.root.join(BUILDS_DIR);
        std::fs::create_dir_all(&dir).map_err(|e| ImageError::io("creating", &dir, e))?;
        let name = fsutil::unique_name();
        let lock_path = dir.join(format!("{name}.lock"));
        let lock = Lock::acquire(&lock_path, LockMode::Exclusive)?;
        let json = dir.join(format!("{name}.json"));
        // A dead process with the same pid may have left one.
        let _ = std::fs::remove_file(&json);
        let state = Arc::new(BuildState {
            json,
            lock_path,
            _lock: lock,
            ids: Mutex::new(BTreeSet::new()),
        });
        let mut store = self.clone();
        store.build = Some(Arc::clone(&state));
        Ok(BuildLease { store, state })
    }

    /// Adds `ids` to the build cache index (`build-cache.json`): they are kept by `prune` and
    /// the automatic policy until [`ImageStore::clear_build_cache`]. Ids with no image record
    /// are dropped from the index.
    pub fn keep_as_cache(&self, ids: &[Digest]) -> Result<()> {
        self.update_cache(|set| set.extend(ids.iter().cloned()))
            .map(|_| ())
    }

    /// The build cache index (ids whose image still exists).
    pub fn build_cache(&self) -> Result<Vec<Digest>> {
        let set = read_ids(&self.root.join(CACHE_FILE))?;
        let mut out = Vec::new();
        for id in set {
            if self.records.get(&id)?.is_some() {
                out.push(id);
            }
        }
        Ok(out)
    }

    /// Empties the build cache index (`docker builder prune`); returns the ids it held whose
    /// images exist. They become ordinary (dangling) images for the next `prune`.
    pub fn clear_build_cache(&self) -> Result<Vec<Digest>> {
        let mut existing = Vec::new();
        self.update_cache(|set| {
            existing = std::mem::take(set).into_iter().collect();
        })?;
        let mut out = Vec::new();
        for id in existing {
            if self.records.get(&id)?.is_some() {
                out.push(id);
            }
        }
        Ok(out)
    }

    fn update_cache(&self, f: impl FnOnce(&mut BTreeSet<Digest>)) -> Result<()> {
        let _l = Lock::acquire(&self.root.join(CACHE_LOCK), LockMode::Exclusive)?;
        let path = self.root.join(CACHE_FILE);
        let mut set = read_ids(&path)?;
        f(&mut set);
        let mut kept = BTreeSet::new();
        for id in set {
            if self.records.get(&id)?.is_some() {
                kept.insert(id);
            }
        }
        fsutil::write_atomic(&path, &ids_json(&kept, &path)?)
    }

    /// The images `prune` and the automatic policy must not delete: the build cache index
    /// and every live build lease. Read it *after* listing the candidates (a build records its
    /// lease before its image, so every image listed is already here). Sweeps dead leases.
    pub(crate) fn build_roots(&self) -> Result<BTreeSet<Digest>> {
        let mut roots = self.cache_ids()?;
        roots.extend(self.lease_roots()?);
        Ok(roots)
    }

    /// The build cache index's ids (a GC root for `prune`; the automatic policy evicts them
    /// last, see `enforce_keeping`).
    pub(crate) fn cache_ids(&self) -> Result<BTreeSet<Digest>> {
        read_ids(&self.root.join(CACHE_FILE))
    }

    /// The images of live build leases: nothing may delete them. Sweeps dead leases.
    pub(crate) fn lease_roots(&self) -> Result<BTreeSet<Digest>> {
        let mut roots = BTreeSet::new();
        let dir = self.root.join(BUILDS_DIR);
        if !dir.is_dir() {
            return Ok(roots);
        }
        for p in fsutil::read_dir_paths(&dir)? {
            if p.extension().is_some_and(|e| e == "json") && !p.with_extension("lock").exists() {
                // Its builder died between removing the two (a lease writes its lock first).
                let _ = std::fs::remove_file(&p);
                continue;
            }
            if p.extension().is_none_or(|e| e != "lock") {
                continue;
            }
            let json = p.with_extension("json");
            // A free lock: its builder is gone (removed while we hold it, so nobody else
            // can be taking it: `Lock::acquire` re-checks the file it locked).
            if let Some(_dead) = Lock::try_acquire(&p, LockMode::Exclusive)? {
                let _ = std::fs::remove_file(&json);
                let _ = std::fs::remove_file(&p);
                continue;
            }
            if p.exists() {
                roots.extend(read_ids(&json)?);
            }
        }
        Ok(roots)
    }

    /// Protects `id` in this handle's build lease, if it has one (before recording it).
    pub(crate) fn protect_for_build(&self, id: &Digest) -> Result<()> {
        match &self.build {
            Some(b) => b.protect(id),
            None => Ok(()),
        }
    }
}
