//! `push`: an image of the store to a registry.
//!
//! Blobs first, the manifest last (a registry refuses a manifest whose blobs it lacks, and a
//! reader must never see a tag whose layers are missing). For each blob: already there (HEAD)
//! → skipped; known to the store under another repository of the same registry → mounted
//! (no bytes sent); otherwise uploaded, `max_parallel` at a time. Layers the store keeps as
//! tar-split are rebuilt as they are sent, verified against their digest.

use berth_image::{Descriptor, Digest, ImageStore, Reference};

use super::{bounded, short, ProgressEvent};
use crate::{RegistryClient, RegistryError, Result};

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushReport {
    /// The manifest digest the registry stored.
    pub digest: Digest,
    /// The manifest's size (Docker prints `size: N`).
    pub size: u64,
    /// Blobs sent, mounted and skipped.
    pub uploaded: usize,
    /// Blobs mounted from another repository.
    pub mounted: usize,
    /// Blobs the registry already had.
    pub skipped: usize,
}

/// Pushes the image `reference` names in `store` to the registry and repository it names.
pub fn push(
    client: &RegistryClient,
    store: &ImageStore,
    reference: &Reference,
    max_parallel: usize,
    progress: &(dyn Fn(ProgressEvent) + Sync),
) -> Result<PushReport> {
    if reference.digest().is_some() {
        return Err(RegistryError::InvalidArgument(
            "push a tag (name:tag), not a digest".into(),
        ));
    }
    let id = store.resolve(&reference.normalized())?;
    let image = store.get(&id)?;
    progress(ProgressEvent::status(format!(
        "The push refers to repository [{}]",
        reference.name()
    )));
    // Pulled compressed layers are handed out uncompressed (see berth_image's export).
    let exported = store.export_manifest(&image)?;
    let mut blobs: Vec<Descriptor> = exported.manifest.layers.clone();
    blobs.push(exported.manifest.config.clone());
    // Other repositories of the same registry that hold this image's blobs: mount sources.
    let sources: Vec<Reference> = store
        .list()?
        .iter()
        .flat_map(|i| i.tags.iter().chain(i.digests.iter()).cloned())
        .filter(|r| r.domain() == reference.domain() && r.path() != reference.path())
        .collect();
    let hows = bounded(&blobs, max_parallel, |blob| {
        push_blob(client, store, reference, blob, &sources, progress)
    })?;
    let count = |want: How| hows.iter().filter(|h| **h == want).count();
    let digest = client.put_manifest(reference, &exported.media_type, &exported.bytes)?;
    let size = exported.bytes.len() as u64;
    progress(ProgressEvent::status(format!(
        "{}: digest: {digest} size: {size}",
        reference.tag().unwrap_or("latest")
    )));
    Ok(PushReport {
        digest,
        size,
        uploaded: count(How::Uploaded),
        mounted: count(How::Mounted),
        skipped: count(How::Skipped),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum How {
    Uploaded,
    Mounted,
    Skipped,
}

fn push_blob(
    client: &RegistryClient,
    store: &ImageStore,
    reference: &Reference,
    blob: &Descriptor,
    sources: &[Reference],
    progress: &(dyn Fn(ProgressEvent) + Sync),
) -> Result<How> {
    let id = short(&blob.digest);
    if client.blob_exists(reference, &blob.digest)?.is_some() {
        progress(ProgressEvent::layer(&id, "Layer already exists"));
        return Ok(How::Skipped);
    }
    for from in sources {
        if client
            .blob_exists(from, &blob.digest)
            .ok()
            .flatten()
            .is_some()
            && client.mount_blob(reference, &blob.digest, from)?
        {
            progress(ProgressEvent::layer(
                &id,
                &format!("Mounted from {}", from.familiar_name()),
            ));
            return Ok(How::Mounted);
        }
    }
    progress(ProgressEvent::layer(&id, "Preparing"));
    let reader = store.layer_reader(blob)?;
    // Uploads above 64 MiB go in 16 MiB chunks, so a registry behind a proxy with a body
    // limit still takes them.
    let chunk = (blob.size > 64 << 20).then_some(16 << 20);
    client.upload_blob(reference, &blob.digest, blob.size, reader, chunk)?;
    progress(ProgressEvent::layer(&id, "Pushed"));
    Ok(How::Uploaded)
}
