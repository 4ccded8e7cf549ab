//! `pull`: a reference's image from a registry into the store.
//!
//! Manifest (an index picks the platform), then the config, then the layers the store lacks,
//! `max_parallel` at a time; each layer is streamed through download, digest check and unpack
//! in one pass and resumes from what an earlier attempt left (see `berth_image`'s `fetch`).
//! Layers are committed base first once all have arrived, each diff id checked against the
//! config; the image record and its tags come last, so a pull killed at any point leaves no
//! half image, only resumable partial downloads.

use std::io::Read;

use berth_image::model::{media_type, ImageConfig, ManifestOrIndex, Platform};
use berth_image::{chain_ids, Digest, FetchedLayer, ImageStore, Reference};

use super::{bounded, short, ProgressEvent};
use crate::{RegistryClient, RegistryError, Result};

/// How to pull.
#[derive(Debug, Clone)]
pub struct PullOptions {
    /// The platform to pick from an index (default: this host's).
    pub platform: Option<Platform>,
    /// Layers downloaded at once (Docker's default is 3).
    pub max_parallel: usize,
    /// Keep each compressed layer blob besides its unpacked snapshot, so a push sends the
    /// registry's exact bytes back (containerd's model; every byte is written twice). Off by
    /// default, as Docker: the snapshot's tar-split gives the uncompressed layer back.
    pub keep_compressed: bool,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions {
            platform: None,
            max_parallel: 3,
            keep_compressed: false,
        }
    }
}

/// What a pull did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullReport {
    /// The image id.
    pub id: Digest,
    /// The digest the reference resolved to (the index's for a multi-platform image): Docker's
    /// `Digest:` line.
    pub digest: Digest,
    /// Whether the image was already here under this reference (`Image is up to date`).
    pub up_to_date: bool,
    /// The reference, normalised.
    pub reference: Reference,
}

/// Pulls `reference` into `store`, reporting progress as Docker's pull stream does.
pub fn pull(
    client: &RegistryClient,
    store: &ImageStore,
    reference: &Reference,
    opts: &PullOptions,
    progress: &(dyn Fn(ProgressEvent) + Sync),
) -> Result<PullReport> {
    let _lease = store.lease()?;
    let before = store.resolve(&reference.normalized()).ok();
    let (bytes, mt, digest) = client.get_manifest(reference, &[])?;
    let repo_digest = digest.clone();
    let (manifest_bytes, manifest) = match ManifestOrIndex::parse(&bytes, Some(&mt))? {
        ManifestOrIndex::Manifest(m) => (bytes, m),
        ManifestOrIndex::Index(index) => {
            let wanted = opts.platform.clone().unwrap_or_else(Platform::host);
            let chosen = index.select(&wanted).ok_or_else(|| {
                RegistryError::InvalidArgument(format!(
                    "no matching manifest for {wanted} in the manifest list entries of {}; \
                 available: {}",
                    reference.familiar(),
                    index
                        .manifests
                        .iter()
                        .filter_map(|m| m.platform.as_ref().map(ToString::to_string))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
            store.content().put(&bytes)?;
            let by_digest = with_digest(reference, &chosen.digest)?;
            let (mbytes, mmt, _) = client.get_manifest(&by_digest, &[])?;
            match ManifestOrIndex::parse(&mbytes, Some(&mmt))? {
                ManifestOrIndex::Manifest(m) => (mbytes, m),
                ManifestOrIndex::Index(_) => {
                    return Err(RegistryError::InvalidArgument(format!(
                        "{} is an index inside an index; berth reads one level",
                        chosen.digest
                    )))
                }
            }
        }
    };
    if reference.digest().is_none() {
        progress(ProgressEvent::status(format!(
            "{}: Pulling from {}",
            reference.tag().unwrap_or("latest"),
            reference.path()
        )));
    }
    // The config: small, fetched whole and verified.
    if !store.content().exists(&manifest.config.digest) {
        let mut buf = Vec::new();
        client
            .get_blob(reference, &manifest.config.digest, 0)?
            .take(64 << 20)
            .read_to_end(&mut buf)
            .map_err(|source| RegistryError::Io {
                what: format!("reading config {}", manifest.config.digest),
                source,
            })?;
        let got = Digest::of(&buf);
        if got != manifest.config.digest {
            return Err(berth_image::ImageError::DigestMismatch {
                expected: manifest.config.digest.clone(),
                actual: got,
            }
            .into());
        }
        store.content().put(&buf)?;
    }
    let config = ImageConfig::parse(&store.content().read(&manifest.config.digest)?)?;
    let chains = chain_ids(&config.rootfs.diff_ids);
    if chains.len() != manifest.layers.len() {
        return Err(RegistryError::InvalidArgument(format!(
            "the manifest lists {} layers but the config has {} diff ids",
            manifest.layers.len(),
            chains.len()
        )));
    }
    // Which layers to fetch.
    let mut todo = Vec::new();
    for (i, layer) in manifest.layers.iter().enumerate() {
        let id = short(&layer.digest);
        if media_type::is_foreign_layer(&layer.media_type) && layer.urls.is_some() {
            return Err(RegistryError::InvalidArgument(format!(
                "layer {} is a foreign (non-distributable) layer; berth does not fetch from \
                 its URLs",
                layer.digest
            )));
        }
        if store.snapshots().exists(&chains[i]) || store.has_layer(layer)? {
            progress(ProgressEvent::layer(&id, "Already exists"));
        } else {
            progress(ProgressEvent::layer(&id, "Pulling fs layer"));
            todo.push(i);
        }
    }
    let fetched = fetch_all(
        client,
        store,
        reference,
        &manifest.layers,
        &todo,
        opts,
        progress,
    )?;
    // Base first: each layer on top of its parent, diff ids checked.
    for (i, f) in fetched {
        if let Some(f) = f {
            let parent = i.checked_sub(1).map(|p| &chains[p]);
            f.commit(&config.rootfs.diff_ids[i], &chains[i], parent)?;
        }
        progress(ProgressEvent::layer(
            &short(&manifest.layers[i].digest),
            "Pull complete",
        ));
    }
    let mut refs = vec![with_digest(reference, &repo_digest)?];
    if reference.digest().is_none() {
        refs.push(reference.clone());
    }
    let id = store.add_image(&manifest_bytes, &refs)?;
    progress(ProgressEvent::status(format!("Digest: {repo_digest}")));
    let up_to_date = before.as_ref() == Some(&id);
    progress(ProgressEvent::status(if up_to_date {
        format!("Status: Image is up to date for {}", reference.familiar())
    } else {
        format!(
            "Status: Downloaded newer image for {}",
            reference.familiar()
        )
    }));
    Ok(PullReport {
        id,
        digest: repo_digest,
        up_to_date,
        reference: reference.clone(),
    })
}

/// `name@digest` of the repository `r` names.
fn with_digest(r: &Reference, d: &Digest) -> Result<Reference> {
    Ok(Reference::parse(&format!("{}@{d}", r.name()))?)
}

type Fetched = Vec<(usize, Option<FetchedLayer>)>;

/// Downloads the layers `todo` (indexes into `layers`), `max_parallel` at a time.
fn fetch_all(
    client: &RegistryClient,
    store: &ImageStore,
    reference: &Reference,
    layers: &[berth_image::Descriptor],
    todo: &[usize],
    opts: &PullOptions,
    progress: &(dyn Fn(ProgressEvent) + Sync),
) -> Result<Fetched> {
    bounded(todo, opts.max_parallel, |&i| {
        let layer = &layers[i];
        let id = short(&layer.digest);
        let total = layer.size;
        let mut last_report = 0u64;
        let mut report = |n: u64| {
            // About every 512 KiB, and at the end.
            if n == total || n >= last_report + (512 << 10) {
                last_report = n;
                progress(ProgressEvent::bytes(&id, "Downloading", n, total));
            }
        };
        let mut open = |offset: u64| -> std::io::Result<(Box<dyn Read + Send>, u64)> {
            let s = client
                .get_blob(reference, &layer.digest, offset)
                .map_err(std::io::Error::other)?;
            let start = s.offset();
            Ok((Box::new(s), start))
        };
        let f = store.fetch_layer(layer, opts.keep_compressed, &mut open, &mut report)?;
        progress(ProgressEvent::layer(&id, "Download complete"));
        Ok((i, f))
    })
}
