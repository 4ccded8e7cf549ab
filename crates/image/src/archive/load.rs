//! `load`: a docker-archive (what `docker save` writes, old and new style) or an OCI image
//! layout (tarred, or a directory as skopeo's `oci:` writes it) into the store.

use std::collections::HashMap;
use std::fs;
use std::io::{self, BufReader, Read};
use std::path::{Component, Path};

use serde::Deserialize;

use super::ingest::{Compression, Ingested};
use crate::digest::Digest;
use crate::error::ImageError;
use crate::model::{self, media_type, Descriptor, ImageConfig, Index, ManifestOrIndex, Platform};
use crate::reference::Reference;
use crate::store::ImageStore;

type Result<T> = std::result::Result<T, ImageError>;

/// What a load added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Each image loaded: its id and the references now pointing at it.
    pub images: Vec<(Digest, Vec<Reference>)>,
}

impl LoadReport {
    /// Docker's output lines: `Loaded image: busybox:latest` per reference, or
    /// `Loaded image ID: sha256:…` for an image without one.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (id, refs) in &self.images {
            if refs.is_empty() {
                out.push(format!("Loaded image ID: {id}"));
            }
            out.extend(
                refs.iter()
                    .map(|r| format!("Loaded image: {}", r.familiar())),
            );
        }
        out
    }
}

/// One `manifest.json` entry of a docker-archive.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// The files of an archive: small metadata in memory, everything else ingested as blobs.
#[derive(Debug, Default)]
struct Files {
    meta: HashMap<String, Vec<u8>>,
    blobs: HashMap<String, Ingested>,
    links: HashMap<String, String>,
    /// Files that looked like plain layers but did not unpack, with the reason.
    failed: HashMap<String, String>,
}

const META_FILES: [&str; 4] = ["manifest.json", "repositories", "index.json", "oci-layout"];

/// The per-layer metadata files of Docker's v1 layout, which `manifest.json` made obsolete.
fn is_legacy_v1(name: &str) -> bool {
    name.split_once('/')
        .is_some_and(|(_, f)| f == "json" || f == "VERSION")
}

/// `a/./b/../c` → `a/c`; `None` if it climbs out of the archive.
fn clean(name: &str) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for c in Path::new(name).components() {
        match c {
            Component::Normal(p) => parts.push(p.to_str()?.to_string()),
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::CurDir | Component::RootDir => {}
            Component::Prefix(_) => return None,
        }
    }
    Some(parts.join("/"))
}

/// The digest an OCI layout path claims (`blobs/sha256/<hex>`).
fn claimed_digest(path: &str) -> Option<Digest> {
    let rest = path.strip_prefix("blobs/")?;
    let (alg, hex) = rest.split_once('/')?;
    format!("{alg}:{hex}").parse().ok()
}

impl Files {
    fn resolve(&self, name: &str) -> Result<Option<&Ingested>> {
        let Some(mut name) = clean(name) else {
            return Ok(None);
        };
        for _ in 0..16 {
            if let Some(b) = self.blobs.get(&name) {
                return Ok(Some(b));
            }
            if let Some(reason) = self.failed.get(&name) {
                return Err(ImageError::BadArchive {
                    reason: format!("layer {name}: {reason}"),
                });
            }
            match self.links.get(&name) {
                Some(next) => name = next.clone(),
                None => return Ok(None),
            }
        }
        Ok(None)
    }

    fn take_unpacked(&mut self, name: &str) -> Option<(crate::store::PendingSnapshot, Digest)> {
        let mut name = clean(name)?;
        for _ in 0..16 {
            if self.blobs.contains_key(&name) {
                return self.blobs.get_mut(&name)?.unpacked.take();
            }
            name = self.links.get(&name)?.clone();
        }
        None
    }
}

impl ImageStore {
    /// Loads a docker-archive or OCI layout tar (plain, gzip or zstd), as `docker load` does,
    /// then applies the automatic collection policy (sparing what was loaded).
    pub fn load(&self, reader: impl Read) -> Result<LoadReport> {
        let report = self.load_leased(reader)?;
        self.after_load(&report)?;
        Ok(report)
    }

    fn after_load(&self, report: &LoadReport) -> Result<()> {
        let added: Vec<Digest> = report.images.iter().map(|(d, _)| d.clone()).collect();
        self.auto_gc(&added).map(drop)
    }

    fn load_leased(&self, reader: impl Read) -> Result<LoadReport> {
        let _lease = self.lease()?;
        let mut reader = BufReader::with_capacity(1 << 20, reader);
        let head = super::ingest::read_head(&mut reader, 6).map_err(bad)?;
        let stream = io::Cursor::new(head.clone()).chain(reader);
        if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) || head.starts_with(b"BZh") {
            return Err(ImageError::BadArchive {
                reason: "xz and bzip2 archives are not read; decompress first (xz -d / bunzip2) \
                         or use gzip or zstd"
                    .into(),
            });
        }
        let files = match Compression::detect(&head) {
            Compression::Gzip => self.read_tar(flate2::read::MultiGzDecoder::new(stream))?,
            Compression::Zstd => {
                self.read_tar(zstd::stream::read::Decoder::new(stream).map_err(bad)?)?
            }
            Compression::None => self.read_tar(stream)?,
        };
        self.finish_load(files, None)
    }

    /// Loads an OCI image layout directory (skopeo's `oci:DIR`). Images whose index entry
    /// carries only a tag (`org.opencontainers.image.ref.name: latest`) are named `repo:tag`
    /// when `repo` is given, and left untagged otherwise.
    pub fn load_oci_dir(&self, dir: &Path, repo: Option<&str>) -> Result<LoadReport> {
        let report = self.load_oci_dir_leased(dir, repo)?;
        self.after_load(&report)?;
        Ok(report)
    }

    fn load_oci_dir_leased(&self, dir: &Path, repo: Option<&str>) -> Result<LoadReport> {
        let _lease = self.lease()?;
        let mut files = Files::default();
        for name in ["index.json", "oci-layout"] {
            let p = dir.join(name);
            if let Ok(bytes) = fs::read(&p) {
                files.meta.insert(name.to_string(), bytes);
            }
        }
        let blobs = dir.join("blobs");
        for alg_dir in crate::store::read_dir_paths(&blobs)? {
            for p in crate::store::read_dir_paths(&alg_dir)? {
                let rel = p
                    .strip_prefix(dir)
                    .unwrap_or(&p)
                    .to_string_lossy()
                    .into_owned();
                let expected = claimed_digest(&rel);
                let f = fs::File::open(&p).map_err(|e| ImageError::io("opening", &p, e))?;
                let ing = self.ingest(BufReader::with_capacity(1 << 20, f), expected.as_ref())?;
                files.blobs.insert(rel, ing);
            }
        }
        self.finish_load(files, repo)
    }

    fn read_tar(&self, reader: impl Read) -> Result<Files> {
        let mut files = Files::default();
        let mut archive = tar::Archive::new(reader);
        for entry in archive.entries().map_err(bad)? {
            let mut entry = entry.map_err(bad)?;
            let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let Some(name) = clean(&raw) else {
                return Err(ImageError::BadArchive {
                    reason: format!("entry {raw:?} points outside the archive"),
                });
            };
            let kind = entry.header().entry_type();
            if kind.is_file() {
                if is_legacy_v1(&name) {
                    // `<id>/json` and `<id>/VERSION` of the v1 format: nothing reads them.
                    continue;
                }
                if META_FILES.contains(&name.as_str()) {
                    let mut bytes = Vec::new();
                    entry.read_to_end(&mut bytes).map_err(bad)?;
                    files.meta.insert(name, bytes);
                } else {
                    let expected = claimed_digest(&name);
                    match self.ingest(&mut entry, expected.as_ref()) {
                        Ok(ing) => {
                            files.blobs.insert(name, ing);
                        }
                        // A tar that does not unpack: an error if the manifest names it.
                        Err(e @ ImageError::Unpack { .. }) => {
                            files.failed.insert(name, e.to_string());
                        }
                        Err(e) => return Err(e),
                    }
                }
            } else if kind.is_symlink() || kind.is_hard_link() {
                let target = entry
                    .link_name_bytes()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                let joined = if kind.is_symlink() {
                    let parent = Path::new(&name).parent().unwrap_or(Path::new(""));
                    parent.join(&target).to_string_lossy().into_owned()
                } else {
                    target
                };
                if let Some(t) = clean(&joined) {
                    files.links.insert(name, t);
                }
            }
        }
        Ok(files)
    }

    fn finish_load(&self, mut files: Files, repo: Option<&str>) -> Result<LoadReport> {
        let mut report = LoadReport::default();
        if let Some(bytes) = files.meta.get("manifest.json").cloned() {
            let entries: Vec<DockerEntry> =
                serde_json::from_slice(&bytes).map_err(|e| ImageError::BadArchive {
                    reason: format!("manifest.json: {e}"),
                })?;
            for e in entries {
                report.images.push(self.load_docker_entry(&mut files, &e)?);
            }
        } else if let Some(bytes) = files.meta.get("index.json").cloned() {
            let index: Index =
                serde_json::from_slice(&bytes).map_err(|e| ImageError::BadArchive {
                    reason: format!("index.json: {e}"),
                })?;
            for desc in &index.manifests {
                report
                    .images
                    .push(self.load_oci_entry(&mut files, desc, repo)?);
            }
        } else {
            return Err(ImageError::BadArchive {
                reason: "neither manifest.json (docker-archive) nor index.json (OCI layout) \
                         found; is this an image archive made by `docker save` or skopeo?"
                    .into(),
            });
        }
        Ok(report)
    }

    fn load_docker_entry(
        &self,
        files: &mut Files,
        e: &DockerEntry,
    ) -> Result<(Digest, Vec<Reference>)> {
        let missing = |what: &str, name: &str| ImageError::BadArchive {
            reason: format!("{what} {name:?} named in manifest.json is not in the archive"),
        };
        let config = files
            .resolve(&e.config)?
            .ok_or_else(|| missing("config", &e.config))?;
        let config_desc =
            Descriptor::new(media_type::OCI_CONFIG, config.digest.clone(), config.size);
        let mut layers = Vec::new();
        for l in &e.layers {
            let ing = files.resolve(l)?.ok_or_else(|| missing("layer", l))?;
            layers.push(Descriptor::new(
                super::ingest::layer_media_type(ing.compression),
                ing.digest.clone(),
                ing.size,
            ));
        }
        let names: Vec<&str> = e.layers.iter().map(String::as_str).collect();
        self.commit_unpacked(files, &config_desc.digest, &names)?;
        let manifest = model::Manifest::oci(config_desc, layers);
        let mut tags = Vec::new();
        for t in e.repo_tags.iter().flatten() {
            tags.push(Reference::parse(t)?);
        }
        let id = self.add_image(&manifest.to_json(), &tags)?;
        Ok((id, tags))
    }

    /// Turns the pending snapshots of `layer_files` into the image's chain, checking each
    /// diff id against the config; the rest is unpacked later from the blobs by `add_image`.
    fn commit_unpacked(
        &self,
        files: &mut Files,
        config: &Digest,
        layer_files: &[&str],
    ) -> Result<()> {
        let config = ImageConfig::parse(&self.content().read(config)?)?;
        let chains = model::chain_ids(&config.rootfs.diff_ids);
        for (i, name) in layer_files.iter().enumerate() {
            let (Some(chain), Some(diff)) = (chains.get(i), config.rootfs.diff_ids.get(i)) else {
                break;
            };
            if let Some((pending, got)) = files.take_unpacked(name) {
                if &got != diff {
                    return Err(ImageError::DiffIdMismatch {
                        expected: diff.clone(),
                        actual: got,
                    });
                }
                if !self.snapshots().exists(chain) {
                    pending.commit(chain, i.checked_sub(1).map(|p| &chains[p]))?;
                }
            }
        }
        Ok(())
    }

    fn load_oci_entry(
        &self,
        files: &mut Files,
        desc: &Descriptor,
        repo: Option<&str>,
    ) -> Result<(Digest, Vec<Reference>)> {
        let mut desc = desc.clone();
        let mut bytes = self.content().read(&desc.digest)?;
        if let ManifestOrIndex::Index(idx) = ManifestOrIndex::parse(&bytes, Some(&desc.media_type))?
        {
            let host = Platform::host();
            let chosen = idx.select(&host).ok_or_else(|| ImageError::BadArchive {
                reason: format!("the archive's index has no image for {host}"),
            })?;
            let annotations = desc.annotations.clone();
            desc = chosen.clone();
            desc.annotations = annotations;
            bytes = self.content().read(&desc.digest)?;
        }
        let ManifestOrIndex::Manifest(m) = ManifestOrIndex::parse(&bytes, Some(&desc.media_type))?
        else {
            return Err(ImageError::BadArchive {
                reason: format!("{} is a nested index; only one level is read", desc.digest),
            });
        };
        let names: Vec<String> = m
            .layers
            .iter()
            .map(|l| format!("blobs/{}/{}", l.digest.algorithm(), l.digest.hex()))
            .collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        self.commit_unpacked(files, &m.config.digest, &names)?;
        let mut tags = Vec::new();
        let ann = desc.annotations.clone().unwrap_or_default();
        let full = ann.get("io.containerd.image.name").cloned();
        let short = ann.get("org.opencontainers.image.ref.name").cloned();
        let name = match (full, short, repo) {
            (Some(full), _, _) => Some(full),
            (None, Some(s), Some(repo)) if !s.contains(['/', ':']) => Some(format!("{repo}:{s}")),
            (None, Some(s), _) if s.contains(['/', ':']) => Some(s),
            (None, None, Some(repo)) => Some(repo.to_string()),
            _ => None,
        };
        if let Some(n) = name {
            tags.push(Reference::parse(&n)?);
        }
        let id = self.add_image(&bytes, &tags)?;
        Ok((id, tags))
    }
}

fn bad(e: io::Error) -> ImageError {
    ImageError::BadArchive {
        reason: format!("reading the archive: {e}"),
    }
}
