//! The image store: blobs, unpacked layers, image records and tags under one data root.
//!
//! Layout under the root given to [`ImageStore::open`] (Docker's `/var/lib/docker/image` +
//! `overlay2`, in one place):
//!
//! ```text
//! content/     the content-addressed blobs (manifests, configs, layer tars): ContentStore
//! snapshots/   layers unpacked by chain id, containers' rw dirs: Snapshots
//! images/      image records and the reference table: records.rs
//! gc.lock      held shared by every multi-step writer, exclusively by garbage collection
//! builds/      live build leases; build-cache.json: the build cache index (buildcache.rs)
//! ```
//!
//! Invariant: garbage collection only removes what no image record and no container rootfs
//! reaches, and runs with `gc.lock` held exclusively, so a load or commit in progress (which
//! holds it shared from its first blob to its record) never loses a blob it just wrote. An image
//! used by a container keeps its record (it may lose its tags): a container's lower layers can
//! never be collected.

mod buildcache;
mod export;
mod fetch;
mod fsck;
mod fsutil;
mod gc;
mod records;
mod rootfs;
mod snapshots;
mod usage;

use std::path::{Path, PathBuf};

pub use buildcache::BuildLease;
pub use export::ExportedManifest;
pub use fetch::{FetchedLayer, OpenAt};
pub use fsck::FsckReport;
pub use gc::{GcPolicy, GcReport, LabelFilter, PruneOptions, PruneReport};
pub use records::ImageRecord;
pub use rootfs::ContainerRootfs;
pub use snapshots::{PendingSnapshot, SnapshotMeta, Snapshots};
pub use usage::{DiskUsage, ImageUsage};

pub(crate) use fsutil::read_dir_paths;
use fsutil::{Lock, LockMode};
use records::Records;

use crate::content::ContentStore;
use crate::digest::Digest;
use crate::error::ImageError;
use crate::model::{chain_ids, media_type, Descriptor, ImageConfig, Manifest, ManifestOrIndex};
use crate::reference::Reference;

type Result<T> = std::result::Result<T, ImageError>;

/// One image as the CLI and API show it.
#[derive(Debug, Clone)]
pub struct Image {
    /// What the store recorded.
    pub record: ImageRecord,
    /// The manifest it was stored with.
    pub manifest: Manifest,
    /// Its config.
    pub config: ImageConfig,
    /// Normalised tagged references pointing at it (`docker.io/library/busybox:latest`).
    pub tags: Vec<Reference>,
    /// Normalised digested references (`docker.io/library/busybox@sha256:…`).
    pub digests: Vec<Reference>,
}

impl Image {
    /// The image id (the config digest).
    pub fn id(&self) -> &Digest {
        &self.record.id
    }

    /// Chain ids of its layers, base first.
    pub fn chain_ids(&self) -> Vec<Digest> {
        chain_ids(&self.config.rootfs.diff_ids)
    }

    /// Whether no tag points at it (Docker's "dangling", shown as `<none>:<none>`).
    pub fn is_dangling(&self) -> bool {
        self.tags.is_empty()
    }

    /// The creation time from its config, as seconds since the epoch (0 when absent or not
    /// RFC 3339).
    pub fn created_unix(&self) -> i64 {
        self.config
            .created
            .as_deref()
            .and_then(crate::time::parse_rfc3339)
            .unwrap_or(0)
    }
}

/// What removing an image did, in Docker's words (`Untagged: …`, `Deleted: …`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoveEvent {
    /// A reference was removed.
    Untagged(String),
    /// An image record or an unpacked layer was deleted.
    Deleted(Digest),
}

/// Blobs, snapshots, records and tags under one root.
#[derive(Debug, Clone)]
pub struct ImageStore {
    root: PathBuf,
    content: ContentStore,
    snapshots: Snapshots,
    records: Records,
    /// The build lease this handle records its build images in ([`BuildLease::store`]).
    build: Option<std::sync::Arc<buildcache::BuildState>>,
}

/// Held by a multi-step writer: while it lives, garbage collection waits.
#[derive(Debug)]
pub struct Lease {
    _lock: Lock,
}

impl ImageStore {
    /// Opens (creating) the store at `root`, sweeping what dead writers left behind.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root).map_err(|e| ImageError::io("creating", &root, e))?;
        Ok(ImageStore {
            content: ContentStore::open(root.join("content"))?,
            snapshots: Snapshots::open(root.join("snapshots"))?,
            records: Records::open(root.join("images"))?,
            root,
            build: None,
        })
    }

    /// The data root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The blob store.
    pub fn content(&self) -> &ContentStore {
        &self.content
    }

    /// The unpacked layers.
    pub fn snapshots(&self) -> &Snapshots {
        &self.snapshots
    }

    /// Keeps garbage collection away until dropped. Take it before writing the first blob of
    /// an image and drop it after [`ImageStore::add_image`].
    pub fn lease(&self) -> Result<Lease> {
        Ok(Lease {
            _lock: Lock::acquire(&self.root.join("gc.lock"), LockMode::Shared)?,
        })
    }

    /// Records the image whose manifest is `manifest_bytes` (stored here) and whose config
    /// and layers are in the content store or already unpacked; unpacks missing layers,
    /// verifying each diff id; points `tags` at it. Returns the image id.
    pub fn add_image(&self, manifest_bytes: &[u8], tags: &[Reference]) -> Result<Digest> {
        let _lease = self.lease()?;
        let manifest = match ManifestOrIndex::parse(manifest_bytes, None)? {
            ManifestOrIndex::Manifest(m) => m,
            ManifestOrIndex::Index(_) => {
                return Err(ImageError::BadImage {
                    reason: "an index was given where an image manifest was expected; \
                             select a platform first"
                        .into(),
                })
            }
        };
        let manifest_digest = self.content.put(manifest_bytes)?;
        let config_bytes = self.content.read(&manifest.config.digest)?;
        let config = ImageConfig::parse(&config_bytes)?;
        let diff_ids = &config.rootfs.diff_ids;
        if diff_ids.len() != manifest.layers.len() {
            return Err(ImageError::BadImage {
                reason: format!(
                    "the manifest lists {} layers but the config's rootfs has {} diff ids",
                    manifest.layers.len(),
                    diff_ids.len()
                ),
            });
        }
        let chains = chain_ids(diff_ids);
        for (i, layer) in manifest.layers.iter().enumerate() {
            if self.snapshots.exists(&chains[i]) {
                continue;
            }
            let blob = self.layer_reader(layer)?;
            let parent = i.checked_sub(1).map(|p| &chains[p]);
            self.snapshots
                .unpack(
                    std::io::BufReader::with_capacity(1 << 20, blob),
                    &diff_ids[i],
                    &chains[i],
                    parent,
                )
                .map_err(|e| e.for_layer(&layer.digest))?;
        }
        let id = manifest.config.digest.clone();
        let now = fsutil::now_unix();
        let added = self.records.get(&id)?.map_or(now, |r| r.added);
        let mt = manifest
            .media_type
            .clone()
            .unwrap_or_else(|| media_type::OCI_MANIFEST.to_string());
        self.records.put(&ImageRecord {
            id: id.clone(),
            target: Descriptor {
                media_type: mt,
                digest: manifest_digest,
                size: manifest_bytes.len() as u64,
                urls: None,
                annotations: None,
                platform: None,
                artifact_type: None,
            },
            added,
            last_used: now,
        })?;
        self.records.update_refs(|t| {
            for tag in tags {
                t.insert(tag.normalized(), id.clone());
            }
            Ok(())
        })?;
        Ok(id)
    }

    /// The bytes of a layer blob: from the content store, or rebuilt from an unpacked snapshot
    /// of the plain tar it is (tar-split; verified against the digest as it is read).
    pub fn layer_reader(&self, layer: &Descriptor) -> Result<Box<dyn std::io::Read + Send>> {
        match self.content.open_blob(&layer.digest) {
            Ok(f) => Ok(Box::new(f)),
            Err(ImageError::BlobNotFound { digest }) => {
                let rebuilt = match self.snapshots.find_split(&digest)? {
                    Some(chain) => self.snapshots.rebuild(&chain)?,
                    None => None,
                };
                match rebuilt {
                    Some(r) => Ok(Box::new(r)),
                    None => Err(ImageError::BlobNotFound { digest }),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// The size in bytes of a layer blob (stored or rebuildable), as its descriptor says.
    pub fn has_layer(&self, layer: &Descriptor) -> Result<bool> {
        Ok(self.content.exists(&layer.digest)
            || self.snapshots.find_split(&layer.digest)?.is_some())
    }

    /// Finds an image the way `docker` does: a full id (`sha256:…`), a reference
    /// (`busybox`, `busybox:1.36`, `name@sha256:…`), or an unambiguous id prefix.
    pub fn resolve(&self, name_or_id: &str) -> Result<Digest> {
        let not_found = || ImageError::ImageNotFound {
            reference: name_or_id.to_string(),
        };
        if let Ok(d) = name_or_id.parse::<Digest>() {
            return match self.records.get(&d)? {
                Some(_) => Ok(d),
                None => Err(not_found()),
            };
        }
        let refs = self.records.refs()?;
        if let Ok(r) = Reference::parse(name_or_id) {
            if let Some(id) = refs.get(&r.normalized()) {
                return Ok(id.clone());
            }
        }
        let is_hex = !name_or_id.is_empty()
            && name_or_id.len() <= 64
            && name_or_id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if is_hex {
            let found: Vec<Digest> = self
                .records
                .ids()?
                .into_iter()
                .filter(|d| d.hex().starts_with(name_or_id))
                .collect();
            match found.len() {
                0 => {}
                1 => return Ok(found.into_iter().next().unwrap_or_else(|| unreachable!())),
                n => {
                    return Err(ImageError::AmbiguousId {
                        prefix: name_or_id.to_string(),
                        matches: n,
                    })
                }
            }
        }
        Err(not_found())
    }

    /// The image with this id.
    pub fn get(&self, id: &Digest) -> Result<Image> {
        let refs = self.records.refs()?;
        self.load_image(id, &refs)
    }

    fn load_image(&self, id: &Digest, refs: &records::RefTable) -> Result<Image> {
        let record = self
            .records
            .get(id)?
            .ok_or_else(|| ImageError::ImageNotFound {
                reference: id.to_string(),
            })?;
        let manifest =
            match ManifestOrIndex::parse(&self.content.read(&record.target.digest)?, None)? {
                ManifestOrIndex::Manifest(m) => m,
                ManifestOrIndex::Index(_) => {
                    return Err(ImageError::Metadata {
                        path: self.root.join("images"),
                        reason: format!("record {id} points at an index"),
                    })
                }
            };
        let config = ImageConfig::parse(&self.content.read(id)?)?;
        let mut tags = Vec::new();
        let mut digests = Vec::new();
        for (name, target) in refs {
            if target != id {
                continue;
            }
            if let Ok(r) = Reference::parse(name) {
                if r.digest().is_some() {
                    digests.push(r);
                } else {
                    tags.push(r);
                }
            }
        }
        Ok(Image {
            record,
            manifest,
            config,
            tags,
            digests,
        })
    }

    /// Every image, newest first (by config creation time, then id).
    pub fn list(&self) -> Result<Vec<Image>> {
        let refs = self.records.refs()?;
        let mut out = Vec::new();
        for id in self.records.ids()? {
            out.push(self.load_image(&id, &refs)?);
        }
        out.sort_by(|a, b| {
            b.created_unix()
                .cmp(&a.created_unix())
                .then_with(|| a.id().cmp(b.id()))
        });
        Ok(out)
    }

    /// Points `target` at the image `source` names (`docker tag`).
    pub fn tag(&self, source: &str, target: &Reference) -> Result<Digest> {
        let id = self.resolve(source)?;
        if target.digest().is_some() {
            return Err(ImageError::InvalidReference {
                input: target.to_string(),
                reason: "a tag cannot contain a digest; use name:tag".into(),
            });
        }
        self.records.update_refs(|t| {
            t.insert(target.normalized(), id.clone());
            Ok(())
        })?;
        self.touch(&id)?;
        Ok(id)
    }

    /// Records that the image was just used (for least-recently-used collection).
    pub fn touch(&self, id: &Digest) -> Result<()> {
        if let Some(mut r) = self.records.get(id)? {
            r.last_used = fsutil::now_unix();
            self.records.put(&r)?;
        }
        Ok(())
    }

    /// Removes an image or one of its references, as `docker rmi` does.
    ///
    /// A reference with other references beside it is only untagged. Otherwise the image is
    /// deleted with its unused layers and blobs, unless a container uses it: then this is a
    /// conflict, and with `force` the references go but the image stays (dangling) until its
    /// last container is removed. An id whose image has several references needs `force`.
    pub fn remove(&self, name_or_id: &str, force: bool) -> Result<Vec<RemoveEvent>> {
        let id = self.resolve(name_or_id)?;
        let by_ref = Reference::parse(name_or_id)
            .ok()
            .map(|r| r.normalized())
            .filter(|n| self.records.refs().is_ok_and(|t| t.get(n) == Some(&id)));
        let image = self.get(&id)?;
        let users = self.rootfs_users_of(&id)?;
        let mut events = Vec::new();
        if let Some(name) = &by_ref {
            let other_tags = image
                .tags
                .iter()
                .filter(|t| t.normalized() != *name)
                .count();
            if other_tags > 0 {
                self.records.update_refs(|t| {
                    t.remove(name);
                    Ok(())
                })?;
                events.push(RemoveEvent::Untagged(familiar(name)));
                return Ok(events);
            }
        } else if image.tags.len() > 1 && !force {
            return Err(ImageError::Conflict {
                reason: format!(
                    "unable to delete {} (must be forced) - image is referenced in multiple \
                     repositories",
                    short_id(&id)
                ),
            });
        }
        if !users.is_empty() && !force {
            return Err(ImageError::Conflict {
                reason: format!(
                    "unable to delete {} (must be forced) - image is being used by container {}",
                    by_ref.as_deref().map_or_else(|| short_id(&id), familiar),
                    users.join(", ")
                ),
            });
        }
        if users.is_empty() {
            events.extend(self.delete_image(&id)?);
            events.extend(self.collect()?);
        } else {
            events.extend(self.untag_all(&id)?);
        }
        Ok(events)
    }
}

/// `docker.io/library/busybox:latest` → `busybox:latest`, as Docker prints references.
fn familiar(normalized: &str) -> String {
    Reference::parse(normalized).map_or_else(|_| normalized.to_string(), |r| r.familiar())
}

/// The 12-hex-digit short form of an image id.
pub fn short_id(id: &Digest) -> String {
    id.hex().chars().take(12).collect()
}
