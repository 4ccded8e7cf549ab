//! The build cache: a step's key → the image its execution produced.
//!
//! Why files of their own (`<data-root>/build/cache/<key>`, one image id each, written
//! atomically) rather than labels on images: a lookup is one `open`, an entry is valid only
//! while its image exists (so the image GC decides what the cache can still hand back), and
//! `--no-cache` simply skips the lookup while still recording the new results.

use std::path::PathBuf;

use crate::Engine;

impl Engine {
    fn cache_path(&self, key: &str) -> PathBuf {
        self.config.data_root.join("build/cache").join(key)
    }

    /// The image recorded for `key`, if it still exists.
    pub(super) fn cache_get(&self, key: &str) -> Option<String> {
        let id = std::fs::read_to_string(self.cache_path(key)).ok()?;
        let id = id.trim().to_string();
        self.store.resolve(&id).ok().map(|d| d.to_string())
    }

    /// Records that `key` produced `id` (failures only cost a future cache miss).
    pub(super) fn cache_put(&self, key: &str, id: &str) {
        let path = self.cache_path(key);
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = berth_fs::write_atomic(&path, id.as_bytes());
    }
}

/// What `docker builder prune` removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildCachePruneReport {
    /// The cache's image ids that were deleted.
    pub deleted: Vec<String>,
    /// Bytes returned to the file system.
    pub space_reclaimed: u64,
}

impl Engine {
    /// `docker builder prune`: forgets every cache entry, removes the cache's images that
    /// nothing else holds (a tag, a container, another image built on them stay) and the
    /// content store of manifest contexts.
    pub fn prune_build_cache(&self) -> crate::Result<BuildCachePruneReport> {
        let ids = self.store.clear_build_cache()?;
        let dir = self.config.data_root.join("build/cache");
        let _ = std::fs::remove_dir_all(&dir);
        let before = self.store.disk_usage().map(|u| u.images_bytes).unwrap_or(0);
        let mut deleted = Vec::new();
        // Newest first: a step's image before the parent it was built on.
        for id in ids.iter().rev() {
            let id = id.to_string();
            let tagged = self
                .store
                .get(&id.parse()?)
                .is_ok_and(|i| !i.tags.is_empty());
            if tagged {
                continue;
            }
            if self.store.remove(&id, false).is_ok() {
                deleted.push(id);
            }
        }
        let after = self.store.disk_usage().map(|u| u.images_bytes).unwrap_or(0);
        Ok(BuildCachePruneReport {
            deleted,
            space_reclaimed: before.saturating_sub(after) + self.clear_blobs(),
        })
    }
}
