//! `import` (a rootfs tarball becomes a one-layer image) and `commit` (a container's upper dir
//! becomes a layer on top of its image), with Docker's `--change` instructions.

use std::io::Read;

use crate::digest::Digest;
use crate::error::ImageError;
use crate::model::{self, media_type, ContainerConfig, Descriptor, History, ImageConfig, Platform};
use crate::reference::Reference;
use crate::store::ImageStore;
use crate::time::format_rfc3339;

type Result<T> = std::result::Result<T, ImageError>;

/// What `import` and `commit` record besides the layer.
#[derive(Debug, Clone, Default)]
pub struct NewImage {
    /// The container config (after `--change` instructions were applied).
    pub config: ContainerConfig,
    /// `-m`: the history comment.
    pub comment: Option<String>,
    /// `-a`: the author.
    pub author: Option<String>,
    /// The history's `created_by`.
    pub created_by: Option<String>,
    /// The creation time (seconds since the epoch); `SOURCE_DATE_EPOCH` style reproducibility
    /// when the caller passes a fixed value.
    pub created: i64,
    /// The tag to point at the result.
    pub tag: Option<Reference>,
}

impl ImageStore {
    /// `docker import`: `tar` (plain, gzip or zstd) becomes the single layer of a new image.
    pub fn import(&self, tar: impl Read, new: &NewImage) -> Result<Digest> {
        let id = self.import_leased(tar, new)?;
        self.auto_gc(std::slice::from_ref(&id))?;
        Ok(id)
    }

    fn import_leased(&self, tar: impl Read, new: &NewImage) -> Result<Digest> {
        let _lease = self.lease()?;
        let ing = self.ingest(tar, None)?;
        let Some((pending, diff_id)) = ing.unpacked else {
            return Err(ImageError::BadArchive {
                reason: "the input is not a tar archive (plain, gzip or zstd)".into(),
            });
        };
        if !self.snapshots().exists(&diff_id) {
            pending.commit(&diff_id, None)?;
        }
        let layer = Descriptor::new(
            super::ingest::layer_media_type(ing.compression),
            ing.digest,
            ing.size,
        );
        let platform = Platform::host();
        let config = ImageConfig {
            created: Some(format_rfc3339(new.created)),
            author: new.author.clone(),
            architecture: platform.architecture,
            os: platform.os,
            variant: platform.variant,
            config: Some(new.config.clone()),
            rootfs: model::RootFs {
                type_: "layers".into(),
                diff_ids: vec![diff_id],
            },
            history: vec![History {
                created: Some(format_rfc3339(new.created)),
                created_by: new.created_by.clone(),
                author: new.author.clone(),
                comment: Some(
                    new.comment
                        .clone()
                        .unwrap_or_else(|| "Imported from -".into()),
                ),
                empty_layer: None,
            }],
            ..ImageConfig::default()
        };
        self.store_image(&config, vec![layer], new.tag.as_ref())
    }

    /// Stores `config` and a manifest of `layers` (blobs already here), then records the
    /// image: the common end of import, commit and build.
    pub fn store_image(
        &self,
        config: &ImageConfig,
        layers: Vec<Descriptor>,
        tag: Option<&Reference>,
    ) -> Result<Digest> {
        let bytes = config.to_json();
        let digest = self.content().put(&bytes)?;
        let manifest = model::Manifest::oci(
            Descriptor::new(media_type::OCI_CONFIG, digest, bytes.len() as u64),
            layers,
        );
        let tags: Vec<Reference> = tag.into_iter().cloned().collect();
        self.add_image(&manifest.to_json(), &tags)
    }
}

impl ImageStore {
    /// `docker commit`: container `key`'s upper dir becomes a new layer on top of its image.
    /// `new.config` is the container config to record (the caller merges the container's
    /// settings and `--change`s); the layer is packed deterministically.
    pub fn commit_rootfs(&self, key: &str, new: &NewImage) -> Result<Digest> {
        let id = self.commit_leased(key, new)?;
        self.auto_gc(std::slice::from_ref(&id))?;
        Ok(id)
    }

    fn commit_leased(&self, key: &str, new: &NewImage) -> Result<Digest> {
        let _lease = self.lease()?;
        let rootfs = self.rootfs(key)?;
        let parent = self.get(&rootfs.image)?;
        let (digest, size) = self.pack_upper(&rootfs.upper, None)?;
        let mut config = parent.config.clone();
        let created = format_rfc3339(new.created);
        config.created = Some(created.clone());
        config.author = new.author.clone();
        config.config = Some(new.config.clone());
        config.rootfs.diff_ids.push(digest.clone());
        config.history.push(History {
            created: Some(created),
            created_by: new.created_by.clone(),
            author: new.author.clone(),
            comment: new.comment.clone(),
            empty_layer: None,
        });
        let mut layers = parent.manifest.layers.clone();
        layers.push(Descriptor::new(media_type::OCI_LAYER, digest, size));
        self.store_image(&config, layers, new.tag.as_ref())
    }

    /// Packs a container's upper dir deterministically (mtimes clamped to
    /// `source_date_epoch` when given) into an uncompressed layer blob; returns its digest
    /// (which is also its diff id) and size. The caller holds a lease.
    pub(crate) fn pack_upper(
        &self,
        upper: &std::path::Path,
        source_date_epoch: Option<i64>,
    ) -> Result<(Digest, u64)> {
        let mut blob = self.content().writer()?;
        let opts = berth_fs::PackOptions { source_date_epoch };
        berth_fs::pack_layer(upper, &mut blob, &opts).map_err(|source| ImageError::Unpack {
            layer: None,
            source,
        })?;
        let size = blob.size();
        // Uncompressed: the blob's digest is the diff id.
        let digest = blob.commit(None, None)?;
        Ok((digest, size))
    }
}
