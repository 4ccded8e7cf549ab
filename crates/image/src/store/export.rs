//! The manifest an image is handed out with (save, push).
//!
//! A pulled compressed layer is kept as its unpacked tree plus tar-split, not as the
//! compressed blob (keeping both writes every byte twice; Docker keeps neither blob). Such a
//! layer is handed out as its *uncompressed* tar — digest = diff id, rebuilt from the
//! snapshot — so the manifest is rewritten (as OCI) for those layers. The image id (the config
//! digest) does not change; the manifest digest does, as it does with `docker push`.

use super::{Image, ImageStore};
use crate::digest::Digest;
use crate::error::ImageError;
use crate::model::{media_type, Descriptor, Manifest};

type Result<T> = std::result::Result<T, ImageError>;

/// A manifest ready to be written out, with the bytes its digest is of.
#[derive(Debug, Clone)]
pub struct ExportedManifest {
    /// The manifest.
    pub manifest: Manifest,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Their digest.
    pub digest: Digest,
    /// Its media type.
    pub media_type: String,
    /// Whether it differs from the stored manifest.
    pub rewritten: bool,
}

impl ImageStore {
    /// The manifest to hand out for `image`; see the module docs. Every layer of the result
    /// can be read with [`ImageStore::layer_reader`].
    pub fn export_manifest(&self, image: &Image) -> Result<ExportedManifest> {
        let chains = image.chain_ids();
        let mut layers = Vec::with_capacity(image.manifest.layers.len());
        let mut rewritten = false;
        for (i, layer) in image.manifest.layers.iter().enumerate() {
            if self.content.exists(&layer.digest)
                || self.snapshots.find_split(&layer.digest)?.is_some()
            {
                layers.push(layer.clone());
                continue;
            }
            let (Some(chain), Some(diff)) = (chains.get(i), image.config.rootfs.diff_ids.get(i))
            else {
                return Err(ImageError::BlobNotFound {
                    digest: layer.digest.clone(),
                });
            };
            let meta = self.snapshots.meta(chain)?;
            match (meta.tar_size, self.snapshots.rebuild(chain)?) {
                (Some(size), Some(_)) if &meta.diff_id == diff => {
                    layers.push(Descriptor::new(media_type::OCI_LAYER, diff.clone(), size));
                    rewritten = true;
                }
                _ => {
                    return Err(ImageError::BlobNotFound {
                        digest: layer.digest.clone(),
                    })
                }
            }
        }
        if !rewritten {
            let bytes = self.content.read(&image.record.target.digest)?;
            return Ok(ExportedManifest {
                manifest: image.manifest.clone(),
                bytes,
                digest: image.record.target.digest.clone(),
                media_type: image.record.target.media_type.clone(),
                rewritten,
            });
        }
        let mut config = image.manifest.config.clone();
        config.media_type = media_type::OCI_CONFIG.to_string();
        let mut manifest = Manifest::oci(config, layers);
        manifest.annotations = image.manifest.annotations.clone();
        let bytes = manifest.to_json();
        Ok(ExportedManifest {
            digest: Digest::of(&bytes),
            manifest,
            bytes,
            media_type: media_type::OCI_MANIFEST.to_string(),
            rewritten,
        })
    }
}
