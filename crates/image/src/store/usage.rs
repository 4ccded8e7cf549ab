//! `system df`: where every byte under the data root goes.
//!
//! Sizes are allocated blocks (`st_blocks × 512`), hard links counted once, mount points not
//! crossed (a mounted container rootfs would otherwise count its image again), exactly as
//! `du -sB1 -x` counts. The categories add up to the total: nothing is left out.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::ImageStore;
use crate::digest::Digest;
use crate::error::ImageError;

type Result<T> = std::result::Result<T, ImageError>;

/// A measured object of the store.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Obj {
    Blob(Digest),
    Layer(Digest),
}

/// One image's share of the disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageUsage {
    /// The image id.
    pub id: Digest,
    /// Its references, familiar form.
    pub tags: Vec<String>,
    /// Bytes of its blobs and unpacked layers.
    pub size: u64,
    /// Of `size`, bytes also used by another image.
    pub shared_size: u64,
    /// Containers made from it.
    pub containers: u64,
}

/// `system df` for the image store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiskUsage {
    /// Per image.
    pub images: Vec<ImageUsage>,
    /// Bytes of blobs and layers reachable from images.
    pub images_bytes: u64,
    /// Of those, bytes no container's image needs (what `image prune -a` would return).
    pub images_reclaimable: u64,
    /// Container writable layers (upper + work dirs).
    pub containers_bytes: u64,
    /// Number of container rootfs.
    pub containers: u64,
    /// Blobs and layers no image reaches (what `gc` returns).
    pub unreferenced_bytes: u64,
    /// Records, reference table, locks, directories themselves, temp files.
    pub metadata_bytes: u64,
    /// Everything under the data root; the sum of the categories above.
    pub total_bytes: u64,
}

/// Allocated bytes under `path` (one file or a tree), not crossing mounts, links once.
pub(crate) fn du(path: &Path) -> u64 {
    let mut seen = HashSet::new();
    let Ok(meta) = fs::symlink_metadata(path) else {
        return 0;
    };
    walk(path, &meta, meta.dev(), &mut seen)
}

fn walk(path: &Path, meta: &fs::Metadata, dev: u64, seen: &mut HashSet<(u64, u64)>) -> u64 {
    if meta.dev() != dev {
        return 0;
    }
    let mut total = 0;
    if meta.nlink() <= 1 || seen.insert((meta.dev(), meta.ino())) {
        total += meta.blocks() * 512;
    }
    if meta.is_dir() {
        if let Ok(rd) = fs::read_dir(path) {
            for entry in rd.flatten() {
                let p = entry.path();
                if let Ok(m) = fs::symlink_metadata(&p) {
                    total += walk(&p, &m, dev, seen);
                }
            }
        }
    }
    total
}

impl ImageStore {
    /// Measures the data root by category; see the module docs.
    pub fn disk_usage(&self) -> Result<DiskUsage> {
        let total = du(&self.root);
        let images = self.list()?;
        let users = self.rootfs_users()?;
        let mut per_image_containers: BTreeMap<Digest, u64> = BTreeMap::new();
        for (_, d) in &users {
            *per_image_containers.entry(d.clone()).or_default() += 1;
        }
        // Every blob and unpacked layer measured once; then which images use which.
        let mut measured: BTreeMap<Obj, u64> = BTreeMap::new();
        for d in self.content.list()? {
            let size = du(&self.content.blob_path(&d));
            measured.insert(Obj::Blob(d), size);
        }
        for c in self.snapshots.list()? {
            let size = du(&self.snapshots.layer_dir(&c));
            measured.insert(Obj::Layer(c), size);
        }
        let all_objects: u64 = measured.values().sum();
        // Objects images reference; a referenced blob that is not stored (a layer kept as
        // tar-split) counts 0.
        let mut object_size: BTreeMap<Obj, u64> = BTreeMap::new();
        let mut object_users: BTreeMap<Obj, BTreeSet<Digest>> = BTreeMap::new();
        for img in &images {
            let mut objects = vec![
                Obj::Blob(img.record.target.digest.clone()),
                Obj::Blob(img.id().clone()),
            ];
            objects.extend(
                img.manifest
                    .layers
                    .iter()
                    .map(|l| Obj::Blob(l.digest.clone())),
            );
            objects.extend(img.chain_ids().into_iter().map(Obj::Layer));
            for o in objects {
                let size = measured.get(&o).copied().unwrap_or(0);
                object_size.insert(o.clone(), size);
                object_users.entry(o).or_default().insert(img.id().clone());
            }
        }
        let mut out = DiskUsage {
            total_bytes: total,
            containers: users.len() as u64,
            ..DiskUsage::default()
        };
        let in_use: BTreeSet<&Digest> = users.iter().map(|(_, d)| d).collect();
        for (o, size) in &object_size {
            out.images_bytes += size;
            if !object_users[o].iter().any(|d| in_use.contains(d)) {
                out.images_reclaimable += size;
            }
        }
        for img in &images {
            let mut size = 0;
            let mut shared = 0;
            for (o, users_of) in &object_users {
                if users_of.contains(img.id()) {
                    size += object_size[o];
                    if users_of.len() > 1 {
                        shared += object_size[o];
                    }
                }
            }
            out.images.push(ImageUsage {
                id: img.id().clone(),
                tags: img.tags.iter().map(|t| t.familiar()).collect(),
                size,
                shared_size: shared,
                containers: per_image_containers.get(img.id()).copied().unwrap_or(0),
            });
        }
        for (key, _) in &users {
            let dir = self.snapshots.rw_root().join(key);
            out.containers_bytes += du(&dir.join("upper")) + du(&dir.join("work"));
        }
        out.unreferenced_bytes = all_objects.saturating_sub(out.images_bytes);
        out.metadata_bytes = total
            .saturating_sub(all_objects)
            .saturating_sub(out.containers_bytes);
        Ok(out)
    }
}
