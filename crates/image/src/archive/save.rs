//! `save`: images into a tar that is both a docker-archive and an OCI layout (see mod docs),
//! or into an OCI layout directory.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;

use serde_json::json;

use crate::digest::Digest;
use crate::error::ImageError;
use crate::model::{media_type, Descriptor};
use crate::reference::Reference;
use crate::store::{Image, ImageStore};

type Result<T> = std::result::Result<T, ImageError>;

/// Where the files of a layout go: a tar stream or a directory.
trait Sink {
    fn file(&mut self, path: &str, size: u64, content: &mut dyn Read) -> Result<()>;
}

struct TarSink<W: Write> {
    builder: tar::Builder<W>,
}

impl<W: Write> Sink for TarSink<W> {
    fn file(&mut self, path: &str, size: u64, content: &mut dyn Read) -> Result<()> {
        let mut h = tar::Header::new_ustar();
        h.set_size(size);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_entry_type(tar::EntryType::Regular);
        self.builder
            .append_data(&mut h, path, content)
            .map_err(|e| ImageError::io("writing the archive entry", path, e))
    }
}

struct DirSink<'a> {
    root: &'a Path,
}

impl Sink for DirSink<'_> {
    fn file(&mut self, path: &str, _size: u64, content: &mut dyn Read) -> Result<()> {
        let p = self.root.join(path);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).map_err(|e| ImageError::io("creating", parent, e))?;
        }
        let mut f = fs::File::create(&p).map_err(|e| ImageError::io("creating", &p, e))?;
        io::copy(content, &mut f).map_err(|e| ImageError::io("writing", &p, e))?;
        Ok(())
    }
}

fn blob_path(d: &Digest) -> String {
    format!("blobs/{}/{}", d.algorithm(), d.hex())
}

impl ImageStore {
    /// Writes the images named by `names` (references or ids) to `out` as a tar readable by
    /// `docker load`, `podman load` and skopeo (`docker-archive:` and `oci-archive:`).
    pub fn save(&self, names: &[&str], out: impl Write) -> Result<()> {
        let mut sink = TarSink {
            builder: tar::Builder::new(out),
        };
        self.write_layout(names, &mut sink, true)?;
        sink.builder
            .into_inner()
            .and_then(|mut w| w.flush())
            .map_err(|e| ImageError::io("finishing", "the archive", e))
    }

    /// Writes the images as an OCI image layout directory (skopeo's `oci:DIR`), creating it.
    pub fn save_oci_dir(&self, names: &[&str], dir: &Path) -> Result<()> {
        fs::create_dir_all(dir).map_err(|e| ImageError::io("creating", dir, e))?;
        self.write_layout(names, &mut DirSink { root: dir }, false)
    }

    fn write_layout(&self, names: &[&str], sink: &mut dyn Sink, docker: bool) -> Result<()> {
        // Which image, under which of the names asked for (a name or an id: all its tags).
        let mut images: Vec<(Image, Vec<Reference>)> = Vec::new();
        for name in names {
            let id = self.resolve(name)?;
            let image = self.get(&id)?;
            // A reference names itself; an id stands for all the image's tags (as docker save).
            let tags = match Reference::parse(name) {
                Ok(r) if image.tags.iter().any(|t| t.normalized() == r.normalized()) => vec![r],
                _ => image.tags.clone(),
            };
            match images.iter_mut().find(|(i, _)| i.id() == image.id()) {
                Some((_, t)) => t.extend(tags),
                None => images.push((image, tags)),
            }
        }
        let mut written = BTreeSet::new();
        // Each blob once; `bytes` when the caller has them (a rewritten manifest).
        let mut put = |sink: &mut dyn Sink, d: &Descriptor, bytes: Option<&[u8]>| -> Result<()> {
            if !written.insert(d.digest.clone()) {
                return Ok(());
            }
            match bytes {
                Some(mut b) => sink.file(&blob_path(&d.digest), d.size, &mut b),
                None => {
                    let mut r = self.layer_reader(d)?;
                    sink.file(&blob_path(&d.digest), d.size, &mut r)
                }
            }
        };
        let mut index = Vec::new();
        let mut docker_manifest = Vec::new();
        let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for (image, tags) in &images {
            let exported = self.export_manifest(image)?;
            let m = &exported.manifest;
            put(sink, &m.config, None)?;
            for l in &m.layers {
                put(sink, l, None)?;
            }
            let base = Descriptor::new(
                &exported.media_type,
                exported.digest.clone(),
                exported.bytes.len() as u64,
            );
            put(sink, &base, Some(&exported.bytes))?;
            if tags.is_empty() {
                index.push(base.clone());
            }
            for t in tags {
                let mut d = base.clone();
                let mut ann = BTreeMap::new();
                ann.insert("io.containerd.image.name".to_string(), t.normalized());
                if let Some(tag) = t.tag() {
                    ann.insert(
                        "org.opencontainers.image.ref.name".to_string(),
                        tag.to_string(),
                    );
                    let top = m
                        .layers
                        .last()
                        .map(|l| l.digest.hex().to_string())
                        .unwrap_or_default();
                    repositories
                        .entry(t.familiar_name())
                        .or_default()
                        .insert(tag.to_string(), top);
                }
                d.annotations = Some(ann);
                index.push(d);
            }
            docker_manifest.push(json!({
                "Config": blob_path(&m.config.digest),
                "RepoTags": tags.iter().map(|t| t.familiar()).collect::<Vec<_>>(),
                "Layers": m.layers.iter().map(|l| blob_path(&l.digest)).collect::<Vec<_>>(),
            }));
        }
        let small = |sink: &mut dyn Sink, path: &str, bytes: Vec<u8>| {
            sink.file(path, bytes.len() as u64, &mut bytes.as_slice())
        };
        let index = json!({
            "schemaVersion": 2,
            "mediaType": media_type::OCI_INDEX,
            "manifests": index,
        });
        small(sink, "index.json", index.to_string().into_bytes())?;
        small(
            sink,
            "oci-layout",
            br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
        )?;
        if docker {
            small(
                sink,
                "manifest.json",
                serde_json::Value::from(docker_manifest)
                    .to_string()
                    .into_bytes(),
            )?;
            small(
                sink,
                "repositories",
                serde_json::to_vec(&repositories).unwrap_or_default(),
            )?;
        }
        Ok(())
    }
}
