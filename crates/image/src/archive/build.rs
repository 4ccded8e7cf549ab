//! The image-store side of a Dockerfile build: each step's result recorded as an image.
//!
//! Why one image per step: Docker's legacy builder does the same, and its build cache maps a
//! step's key (parent image + instruction) to the image that step made; the next build reuses
//! the image instead of running the step again. So every primitive here takes a parent image
//! (or `None` for `FROM scratch`) and returns a new, *untagged* image id; the builder tags the
//! last one with [`ImageStore::tag`] when the build succeeds.
//!
//! - [`ImageStore::derive_config`]: steps that change only the config (`ENV`, `LABEL`, `CMD`,
//!   `WORKDIR`, ...): the parent's layers, a new container config, one `empty_layer` history
//!   entry.
//! - [`ImageStore::append_layer`]: `COPY`/`ADD`: a layer tar the builder wrote, stored and
//!   unpacked in one pass as `import` does it, as the snapshot of its chain on top of the
//!   parent's.
//! - [`ImageStore::commit_rootfs_with`]: `RUN`: the build container's upper dir packed as a
//!   layer, as `commit` does it, but with the build's config and history and mtimes clamped to
//!   `SOURCE_DATE_EPOCH`.
//!
//! Reproducibility: the same inputs with the same `created` times give the same image ids.
//! The config is serialised from structs and `BTreeMap`s (fixed key order), carries nothing
//! but what is passed in and the parent's platform (no daemon version, container id or host
//! name, unlike Docker's), and the layer tars are deterministic (`pack_layer` sorts entries
//! and clamps mtimes; a tar passed in is stored byte for byte).
//!
//! Garbage collection: untagged images are what `prune` and the automatic policy delete
//! first. A builder takes a [`crate::BuildLease`] for the whole build and calls these through
//! [`crate::BuildLease::store`], which protects each image before it is recorded; at the end
//! it keeps the cache images with [`ImageStore::keep_as_cache`] (see `store/buildcache.rs`).

use std::io::Read;

use crate::digest::Digest;
use crate::error::ImageError;
use crate::model::{self, media_type, ContainerConfig, Descriptor, History, ImageConfig, Platform};
use crate::store::{Image, ImageStore};
use crate::time::format_rfc3339;

type Result<T> = std::result::Result<T, ImageError>;

/// The history entry of one build step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildHistory {
    /// The step, as Docker shows it (`/bin/sh -c #(nop)  ENV A=b`, `RUN /bin/sh -c make`).
    pub created_by: String,
    /// When the step ran, in seconds since the epoch; also the new image's `created`. A
    /// fixed value (`SOURCE_DATE_EPOCH`) makes the image id reproducible.
    pub created: i64,
    /// The history comment.
    pub comment: Option<String>,
}

impl ImageStore {
    /// A config-only step (`ENV`, `LABEL`, `CMD`, ...): a new image with `parent`'s layers
    /// (none for `FROM scratch`) and `config`, and `history` appended as an `empty_layer`
    /// entry. Untagged.
    pub fn derive_config(
        &self,
        parent: Option<&Digest>,
        config: ContainerConfig,
        history: BuildHistory,
    ) -> Result<Digest> {
        let id = {
            let _lease = self.lease()?;
            let parent = parent.map(|p| self.get(p)).transpose()?;
            let image = child_config(parent.as_ref(), config, &history, None);
            let layers = parent.map(|p| p.manifest.layers).unwrap_or_default();
            self.store_built(&image, layers)?
        };
        self.auto_gc(std::slice::from_ref(&id))?;
        Ok(id)
    }

    /// A `COPY`/`ADD` step: `tar` (an uncompressed layer tar; gzip and zstd are accepted too)
    /// becomes a layer on top of `parent`'s (none for `FROM scratch`), stored and unpacked in
    /// one pass as `import` does it; `config` and `history` as in
    /// [`ImageStore::derive_config`], the history entry not empty. Untagged.
    pub fn append_layer(
        &self,
        parent: Option<&Digest>,
        tar: impl Read,
        config: ContainerConfig,
        history: BuildHistory,
    ) -> Result<Digest> {
        let id = self.append_layer_leased(parent, tar, config, history)?;
        self.auto_gc(std::slice::from_ref(&id))?;
        Ok(id)
    }

    fn append_layer_leased(
        &self,
        parent: Option<&Digest>,
        tar: impl Read,
        config: ContainerConfig,
        history: BuildHistory,
    ) -> Result<Digest> {
        let _lease = self.lease()?;
        let parent = parent.map(|p| self.get(p)).transpose()?;
        let ing = self.ingest(tar, None)?;
        let Some((pending, diff_id)) = ing.unpacked else {
            return Err(ImageError::BadArchive {
                reason: "the layer of a build step is not a tar archive (plain, gzip or zstd)"
                    .into(),
            });
        };
        let image = child_config(parent.as_ref(), config, &history, Some(diff_id));
        let chains = model::chain_ids(&image.rootfs.diff_ids);
        let (chain, below) = match chains.as_slice() {
            [.., below, top] => (top, Some(below)),
            [top] => (top, None),
            [] => unreachable!("a layer was just appended"),
        };
        if !self.snapshots().exists(chain) {
            pending.commit(chain, below)?;
        }
        let mut layers = parent.map(|p| p.manifest.layers).unwrap_or_default();
        layers.push(Descriptor::new(
            super::ingest::layer_media_type(ing.compression),
            ing.digest,
            ing.size,
        ));
        self.store_built(&image, layers)
    }

    /// A `RUN` step: container `key`'s upper dir (the build container, made from `parent`)
    /// becomes a layer on top of `parent`'s, packed deterministically with mtimes clamped to
    /// `source_date_epoch` when given. Unlike [`ImageStore::commit_rootfs`], the image gets
    /// the build's `config` and `history`, not the container's. Untagged.
    pub fn commit_rootfs_with(
        &self,
        key: &str,
        parent: &Digest,
        config: ContainerConfig,
        history: BuildHistory,
        source_date_epoch: Option<i64>,
    ) -> Result<Digest> {
        let id = {
            let _lease = self.lease()?;
            let rootfs = self.rootfs(key)?;
            if &rootfs.image != parent {
                return Err(ImageError::Conflict {
                    reason: format!(
                        "the root filesystem {key} was made from image {}, not from {parent}; \
                         its changes are not a layer on top of {parent}",
                        rootfs.image
                    ),
                });
            }
            let parent = self.get(parent)?;
            let (digest, size) = self.pack_upper(&rootfs.upper, source_date_epoch)?;
            let image = child_config(Some(&parent), config, &history, Some(digest.clone()));
            let mut layers = parent.manifest.layers;
            layers.push(Descriptor::new(media_type::OCI_LAYER, digest, size));
            self.store_built(&image, layers)?
        };
        self.auto_gc(std::slice::from_ref(&id))?;
        Ok(id)
    }

    /// Records a build image, protecting it in this handle's build lease first.
    fn store_built(&self, config: &ImageConfig, layers: Vec<Descriptor>) -> Result<Digest> {
        self.protect_for_build(&Digest::of(&config.to_json()))?;
        self.store_image(config, layers, None)
    }
}

/// The config of a step's image: the parent's platform, rootfs and history (the host's
/// platform and nothing for scratch), `config`, and one history entry; with `layer`, that
/// diff id appended, else the entry is an `empty_layer` one. Nothing else is inherited (as
/// Docker's `NewChildImage`): no author, comment or Docker-specific keys.
fn child_config(
    parent: Option<&Image>,
    config: ContainerConfig,
    history: &BuildHistory,
    layer: Option<Digest>,
) -> ImageConfig {
    let created = format_rfc3339(history.created);
    let mut image = match parent {
        Some(p) => ImageConfig {
            architecture: p.config.architecture.clone(),
            os: p.config.os.clone(),
            os_version: p.config.os_version.clone(),
            os_features: p.config.os_features.clone(),
            variant: p.config.variant.clone(),
            rootfs: p.config.rootfs.clone(),
            history: p.config.history.clone(),
            ..ImageConfig::default()
        },
        None => {
            let platform = Platform::host();
            ImageConfig {
                architecture: platform.architecture,
                os: platform.os,
                variant: platform.variant,
                rootfs: model::RootFs {
                    type_: "layers".into(),
                    diff_ids: Vec::new(),
                },
                ..ImageConfig::default()
            }
        }
    };
    image.created = Some(created.clone());
    image.config = Some(config);
    let empty_layer = layer.is_none().then_some(true);
    image.rootfs.diff_ids.extend(layer);
    image.history.push(History {
        created: Some(created),
        created_by: Some(history.created_by.clone()),
        author: None,
        comment: history.comment.clone(),
        empty_layer,
    });
    image
}
