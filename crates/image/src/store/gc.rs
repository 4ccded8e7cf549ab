//! Garbage collection, `image prune` and the automatic size policy.
//!
//! Mark and sweep: the roots are the image records (tagged or dangling) and the container
//! rootfs holds; from each image its manifest, config and layer blobs and the snapshots of its
//! chain are marked; every other blob and snapshot is removed. Removal runs with `gc.lock`
//! held exclusively (writers hold it shared), so an image being loaded is never half-collected.
//!
//! Build images (a live [`super::BuildLease`] or the build cache index, see `buildcache.rs`)
//! are roots for `prune` and the automatic policy: neither deletes them.
//!
//! Why bytes freed are measured, not estimated: users report `system prune -a` "freeing" space
//! that `du` never sees again. The report counts the blocks of what was actually unlinked.

use std::collections::BTreeSet;

use super::fsutil::{Lock, LockMode};
use super::usage::du;
use super::{Image, ImageStore, RemoveEvent};
use crate::digest::Digest;
use crate::error::ImageError;
use crate::model::ManifestOrIndex;

type Result<T> = std::result::Result<T, ImageError>;

/// What a sweep removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Blobs deleted from the content store.
    pub blobs_removed: Vec<Digest>,
    /// Unpacked layers deleted (by chain id).
    pub snapshots_removed: Vec<Digest>,
    /// Disk blocks released, in bytes.
    pub bytes_freed: u64,
}

/// A `label=` / `label!=` filter of `image prune` and `images`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelFilter {
    /// The label key.
    pub key: String,
    /// The value to match; `None` matches any value.
    pub value: Option<String>,
    /// `label!=…`: the filter matches images *without* this label (value).
    pub negate: bool,
}

impl LabelFilter {
    /// Parses `key`, `key=value` (and `!=` when `negate`).
    pub fn parse(text: &str, negate: bool) -> LabelFilter {
        match text.split_once('=') {
            Some((k, v)) => LabelFilter {
                key: k.to_string(),
                value: Some(v.to_string()),
                negate,
            },
            None => LabelFilter {
                key: text.to_string(),
                value: None,
                negate,
            },
        }
    }

    /// Whether `image` passes this filter.
    pub fn matches(&self, image: &Image) -> bool {
        let labels = image.config.config.as_ref().and_then(|c| c.labels.as_ref());
        let has = labels
            .and_then(|l| l.get(&self.key))
            .is_some_and(|v| self.value.as_ref().is_none_or(|want| want == v));
        has != self.negate
    }
}

/// What `image prune` removes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneOptions {
    /// `-a`: every image no container uses, not only dangling ones.
    pub all: bool,
    /// `until=`: only images created before this time (seconds since the epoch).
    pub until: Option<i64>,
    /// `label=` filters, all of which must match.
    pub labels: Vec<LabelFilter>,
}

/// What a prune did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Docker's `ImagesDeleted` list, in order.
    pub events: Vec<RemoveEvent>,
    /// Bytes returned to the file system.
    pub space_reclaimed: u64,
}

/// The automatic collection policy, applied after every load, import and commit: while the
/// store is larger than `max_bytes`, or the file system holding it has less than
/// `min_free_percent` free, images no container uses are removed, least recently used first —
/// dangling ones, and tagged ones too with `include_tagged` (as the kubelet's image GC does).
/// Images of a live build are never evicted; the build cache's are evicted last.
///
/// On by default ([`GcPolicy::default`]: keep 10 % of the file system free by evicting
/// dangling images), so a host that builds and loads all day does not fill its disk with
/// `<none>` images; stored as `gc-policy.json` in the data root ([`ImageStore::set_policy`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct GcPolicy {
    /// The size the store should stay under, counted as `du` counts it (`u64::MAX`: no limit).
    pub max_bytes: u64,
    /// The free space to keep on the store's file system, in percent (0: no limit).
    pub min_free_percent: u8,
    /// Also evict tagged images.
    pub include_tagged: bool,
}

impl Default for GcPolicy {
    fn default() -> Self {
        GcPolicy {
            max_bytes: u64::MAX,
            min_free_percent: 10,
            include_tagged: false,
        }
    }
}

impl GcPolicy {
    /// No automatic collection.
    pub fn off() -> Self {
        GcPolicy {
            max_bytes: u64::MAX,
            min_free_percent: 0,
            include_tagged: false,
        }
    }
}

/// Free space of the file system holding `path`, in percent of its size.
fn free_percent(path: &std::path::Path) -> u64 {
    match nix::sys::statvfs::statvfs(path) {
        Ok(v) if v.blocks() > 0 => v.blocks_available() * 100 / v.blocks(),
        _ => 100,
    }
}

impl ImageStore {
    /// The automatic collection policy of this store (the default when none was set).
    pub fn policy(&self) -> Result<GcPolicy> {
        let p = self.root.join("gc-policy.json");
        match std::fs::read(&p) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| ImageError::Metadata {
                path: p,
                reason: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(GcPolicy::default()),
            Err(e) => Err(ImageError::io("reading", p, e)),
        }
    }

    /// Sets the automatic collection policy (kept in `gc-policy.json`).
    pub fn set_policy(&self, policy: &GcPolicy) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(policy).map_err(|e| ImageError::Metadata {
            path: self.root.join("gc-policy.json"),
            reason: e.to_string(),
        })?;
        super::fsutil::write_atomic(&self.root.join("gc-policy.json"), &bytes)
    }

    /// Applies the store's policy after `added` came in (they are never evicted by it). Called
    /// by load, import and commit once their lease is released.
    pub(crate) fn auto_gc(&self, added: &[Digest]) -> Result<PruneReport> {
        let policy = self.policy()?;
        self.enforce_keeping(&policy, added)
    }

    /// Removes every blob and unpacked layer that no image and no container reaches.
    pub fn gc(&self) -> Result<GcReport> {
        let _x = Lock::acquire(&self.root.join("gc.lock"), LockMode::Exclusive)?;
        self.sweep()
    }

    /// The sweep; the caller holds `gc.lock` exclusively.
    pub(crate) fn sweep(&self) -> Result<GcReport> {
        let (blobs, chains) = self.marked()?;
        self.content.clean_partials()?;
        let mut report = GcReport::default();
        for d in self.content.list()? {
            if !blobs.contains(&d) {
                report.bytes_freed += du(&self.content.blob_path(&d));
                self.content.delete(&d)?;
                report.blobs_removed.push(d);
            }
        }
        for c in self.snapshots.list()? {
            if !chains.contains(&c) {
                report.bytes_freed += du(&self.snapshots.layer_dir(&c));
                self.snapshots.remove(&c)?;
                report.snapshots_removed.push(c);
            }
        }
        Ok(report)
    }

    /// The blobs and chain ids reachable from image records and from references by digest
    /// (the index a multi-platform image was pulled through).
    pub(crate) fn marked(&self) -> Result<(BTreeSet<Digest>, BTreeSet<Digest>)> {
        let mut blobs = BTreeSet::new();
        let mut chains = BTreeSet::new();
        for id in self.records.ids()? {
            let Some(record) = self.records.get(&id)? else {
                continue;
            };
            blobs.insert(record.target.digest.clone());
            blobs.insert(id.clone());
            let Ok(bytes) = self.content.read(&record.target.digest) else {
                continue;
            };
            if let Ok(ManifestOrIndex::Manifest(m)) = ManifestOrIndex::parse(&bytes, None) {
                blobs.extend(m.layers.iter().map(|l| l.digest.clone()));
            }
            if let Ok(config) = crate::model::ImageConfig::parse(&self.content.read(&id)?) {
                chains.extend(crate::model::chain_ids(&config.rootfs.diff_ids));
            }
        }
        for (name, _) in self.records.refs()? {
            if let Some(d) = crate::Reference::parse(&name)
                .ok()
                .and_then(|r| r.digest().cloned())
            {
                blobs.insert(d);
            }
        }
        Ok((blobs, chains))
    }

    /// `docker image prune`: deletes dangling images (or with `all` every image no container
    /// uses) that pass the filters, then collects their blobs and layers. Images of a live
    /// build and of the build cache are kept (see [`ImageStore::clear_build_cache`]).
    pub fn prune(&self, opts: &PruneOptions) -> Result<PruneReport> {
        let in_use: BTreeSet<Digest> = self.rootfs_users()?.into_iter().map(|(_, d)| d).collect();
        let mut report = PruneReport::default();
        let before = du(&self.root);
        let images = self.list()?;
        // After listing: a build protects an image before recording it.
        let build = self.build_roots()?;
        for image in images {
            if in_use.contains(image.id()) || build.contains(image.id()) {
                continue;
            }
            if !opts.all && !image.is_dangling() {
                continue;
            }
            if opts.until.is_some_and(|t| image.created_unix() >= t) {
                continue;
            }
            if !opts.labels.iter().all(|f| f.matches(&image)) {
                continue;
            }
            report.events.extend(self.delete_image(image.id())?);
        }
        report.events.extend(self.collect()?);
        report.space_reclaimed = before.saturating_sub(du(&self.root));
        Ok(report)
    }

    /// Untags and deletes one image record (no container may use it; the caller checked).
    pub(crate) fn delete_image(&self, id: &Digest) -> Result<Vec<RemoveEvent>> {
        let mut events = self.untag_all(id)?;
        let _x = Lock::acquire(&self.root.join("gc.lock"), LockMode::Exclusive)?;
        self.records.delete(id)?;
        events.push(RemoveEvent::Deleted(id.clone()));
        Ok(events)
    }

    /// Removes every reference to `id`; Docker's `Untagged:` events.
    pub(crate) fn untag_all(&self, id: &Digest) -> Result<Vec<RemoveEvent>> {
        let names = self.records.update_refs(|t| {
            let names: Vec<String> = t
                .iter()
                .filter(|(_, v)| *v == id)
                .map(|(k, _)| k.clone())
                .collect();
            for n in &names {
                t.remove(n);
            }
            Ok(names)
        })?;
        Ok(names
            .iter()
            .map(|n| RemoveEvent::Untagged(super::familiar(n)))
            .collect())
    }

    /// Collects under the exclusive lock; the deleted layers as Docker's `Deleted:` events.
    pub(crate) fn collect(&self) -> Result<Vec<RemoveEvent>> {
        let _x = Lock::acquire(&self.root.join("gc.lock"), LockMode::Exclusive)?;
        let swept = self.sweep()?;
        Ok(swept
            .snapshots_removed
            .into_iter()
            .map(RemoveEvent::Deleted)
            .collect())
    }

    /// Applies `policy` now; see [`GcPolicy`]. Returns what was removed.
    pub fn enforce(&self, policy: &GcPolicy) -> Result<PruneReport> {
        self.enforce_keeping(policy, &[])
    }

    /// [`ImageStore::enforce`], never evicting `keep` (the images just added).
    pub(crate) fn enforce_keeping(
        &self,
        policy: &GcPolicy,
        keep: &[Digest],
    ) -> Result<PruneReport> {
        let over = |store: &ImageStore| {
            (policy.max_bytes != u64::MAX && du(&store.root) > policy.max_bytes)
                || free_percent(&store.root) < u64::from(policy.min_free_percent)
        };
        let mut report = PruneReport::default();
        if !over(self) {
            return Ok(report);
        }
        let before = du(&self.root);
        let in_use: BTreeSet<Digest> = self.rootfs_users()?.into_iter().map(|(_, d)| d).collect();
        let mut candidates: Vec<Image> = self
            .list()?
            .into_iter()
            .filter(|i| !in_use.contains(i.id()) && !keep.contains(i.id()))
            .filter(|i| policy.include_tagged || i.is_dangling())
            .collect();
        // After listing: a build protects an image before recording it. Images of a build
        // under way are never evicted; the build cache is, but after every other candidate
        // (the cache is what makes the next build fast; space matters more).
        let live = self.lease_roots()?;
        candidates.retain(|i| !live.contains(i.id()));
        let cache = self.cache_ids()?;
        // Not cache first, dangling first, then least recently used.
        candidates.sort_by_key(|i| (cache.contains(i.id()), !i.is_dangling(), i.record.last_used));
        for image in candidates {
            if !over(self) {
                break;
            }
            report.events.extend(self.delete_image(image.id())?);
            report.events.extend(self.collect()?);
        }
        report.space_reclaimed = before.saturating_sub(du(&self.root));
        Ok(report)
    }
}
