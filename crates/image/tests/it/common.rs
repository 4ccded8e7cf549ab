//! Shared fixtures: archives from bench/make-archive.sh, small archives built in memory (with
//! the `tar` crate, so hostile ones can be crafted too), the real `du`, mount cleanup.

use std::path::{Path, PathBuf};
use std::process::Command;

use berth_image::{Digest, ImageStore};
use berth_testutil::peers::run;
use serde_json::json;

/// Runs bench/make-archive.sh: a 20.10-style docker-archive tagged bench/load:latest, a busybox
/// layer followed by `layers` layers of random data (`size_mb` MiB in all).
pub fn make_archive(dir: &Path, name: &str, size_mb: u32, layers: u32) -> PathBuf {
    let out = dir.join(name);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/make-archive.sh");
    let (ok, _, err) = run(Command::new("bash")
        .arg(script)
        .arg(&out)
        .arg(size_mb.to_string())
        .arg(layers.to_string()));
    assert!(ok, "make-archive.sh failed: {err}");
    out
}

/// `du -sB1 -x PATH` as the real du counts it.
pub fn du(path: &Path) -> u64 {
    let (ok, out, err) = run(Command::new("du").arg("-sB1").arg("-x").arg(path));
    assert!(ok, "du {}: {err}", path.display());
    out.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("du output {out:?}"))
}

/// A temp dir with a store at `<tmp>/store` (so `<tmp>` is "outside the store root").
pub fn temp_store() -> (tempfile::TempDir, ImageStore) {
    let tmp = tempfile::Builder::new()
        .prefix("berth-image-it-")
        .tempdir()
        .expect("tempdir");
    let store = ImageStore::open(tmp.path().join("store")).expect("open store");
    // The default policy depends on this host's free space; tests set theirs explicitly.
    store
        .set_policy(&berth_image::GcPolicy::off())
        .expect("policy");
    (tmp, store)
}

/// Loads the archive file at `path`.
pub fn load_file(store: &ImageStore, path: &Path) -> berth_image::LoadReport {
    let f = std::fs::File::open(path).expect("open archive");
    store.load(f).expect("load")
}

/// One entry of a crafted tar. Names are written raw: `..` and absolute names pass through.
#[derive(Debug, Clone)]
pub enum Entry<'a> {
    File(&'a str, &'a [u8]),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
}

/// A tar of `entries`, written without the `tar` crate's path checks.
pub fn tar_of(entries: &[Entry<'_>]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_ustar();
        h.set_mtime(1_704_067_200);
        h.set_uid(0);
        h.set_gid(0);
        let (name, data): (&str, &[u8]) = match e {
            Entry::File(n, d) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o644);
                (n, d)
            }
            Entry::Dir(n) => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                (n, &[])
            }
            Entry::Symlink(n, target) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_mode(0o777);
                h.set_link_name(target).expect("link name");
                (n, &[])
            }
        };
        assert!(
            name.len() < 100,
            "crafted names must fit the ustar name field"
        );
        let slot = &mut h.as_old_mut().name;
        slot.fill(0);
        slot[..name.len()].copy_from_slice(name.as_bytes());
        h.set_size(data.len() as u64);
        h.set_cksum();
        b.append(&h, data).expect("append");
    }
    b.into_inner().expect("finish tar")
}

/// An image to put into a crafted docker-archive.
#[derive(Debug, Clone, Default)]
pub struct Img {
    /// Uncompressed layer tars, base first.
    pub layers: Vec<Vec<u8>>,
    pub labels: Vec<(String, String)>,
    pub tags: Vec<String>,
    pub created: String,
}

impl Img {
    pub fn new(layers: Vec<Vec<u8>>, tags: &[&str]) -> Img {
        Img {
            layers,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            created: "2024-01-01T00:00:00Z".into(),
            ..Img::default()
        }
    }

    pub fn label(mut self, k: &str, v: &str) -> Img {
        self.labels.push((k.into(), v.into()));
        self
    }

    /// The config blob; its digest is the image id.
    pub fn config(&self) -> Vec<u8> {
        let diff_ids: Vec<String> = self
            .layers
            .iter()
            .map(|l| Digest::of(l).to_string())
            .collect();
        let labels: serde_json::Map<String, serde_json::Value> = self
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        serde_json::to_vec(&json!({
            "architecture": "amd64",
            "os": "linux",
            "created": self.created,
            "config": {"Cmd": ["/bin/sh"], "Labels": labels},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }))
        .expect("config json")
    }

    pub fn id(&self) -> Digest {
        Digest::of(&self.config())
    }
}

fn blob_name(d: &Digest) -> String {
    format!("blobs/sha256/{}", d.hex())
}

/// A docker-archive (Docker 25 style: blobs under `blobs/sha256/`) holding `images`.
pub fn docker_archive(images: &[Img]) -> Vec<u8> {
    let mut blobs: Vec<(String, Vec<u8>)> = Vec::new();
    let mut manifest = Vec::new();
    for img in images {
        let config = img.config();
        let cfg_name = blob_name(&Digest::of(&config));
        let mut layer_names = Vec::new();
        for l in &img.layers {
            let n = blob_name(&Digest::of(l));
            if !blobs.iter().any(|(b, _)| *b == n) {
                blobs.push((n.clone(), l.clone()));
            }
            layer_names.push(n);
        }
        blobs.push((cfg_name.clone(), config));
        manifest.push(json!({"Config": cfg_name, "RepoTags": img.tags, "Layers": layer_names}));
    }
    let manifest = serde_json::to_vec(&manifest).expect("manifest json");
    let mut entries: Vec<Entry<'_>> = blobs
        .iter()
        .map(|(n, d)| Entry::File(n.as_str(), d.as_slice()))
        .collect();
    entries.push(Entry::File("manifest.json", &manifest));
    tar_of(&entries)
}

/// A layer with one file of `size` bytes of a pattern seeded by `seed` (distinct layers).
pub fn data_layer(name: &str, seed: u8, size: usize) -> Vec<u8> {
    let mut x = u32::from(seed).wrapping_mul(2_654_435_761).wrapping_add(1);
    let data: Vec<u8> = (0..size)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (x >> 16) as u8
        })
        .collect();
    tar_of(&[Entry::File(name, &data)])
}

/// Loads a crafted archive.
pub fn load_bytes(
    store: &ImageStore,
    bytes: &[u8],
) -> Result<berth_image::LoadReport, berth_image::ImageError> {
    store.load(std::io::Cursor::new(bytes))
}

/// Every path under `dir` (not following symlinks), relative.
pub fn tree(dir: &Path) -> Vec<PathBuf> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            out.push(p.strip_prefix(base).unwrap_or(&p).to_path_buf());
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                walk(base, &p, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Number of entries directly in `dir` (0 when it is missing).
pub fn count(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |rd| rd.count())
}

/// Unmounts the listed rootfs keys on drop (also when a test panics), before the temp dir goes.
#[derive(Debug)]
pub struct Unmount<'a> {
    pub store: &'a ImageStore,
    pub keys: Vec<String>,
}

impl Drop for Unmount<'_> {
    fn drop(&mut self) {
        for k in &self.keys {
            let _ = self.store.unmount_rootfs(k);
        }
    }
}

/// Whether the store can still give a layer's bytes: a blob, or (plain layers are kept as
/// tar-split) an unpacked snapshot that rebuilds it.
pub fn layer_kept(store: &berth_image::ImageStore, digest: &berth_image::Digest) -> bool {
    store.content().exists(digest)
        || store
            .snapshots()
            .find_split(digest)
            .expect("find")
            .is_some()
}
