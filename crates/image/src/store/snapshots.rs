//! Unpacked layers keyed by chain id, and the copy-on-write directories of containers.
//!
//! Layout under `<store>/snapshots/`:
//!
//! ```text
//! layers/<chain-hex>/fs          one layer's files (overlay format: whiteouts are 0:0 devices)
//! layers/<chain-hex>/meta.json   {chain_id, diff_id, parent, size}
//! rw/<key>/{upper,work,merged}   a container's writable layer and its overlay mount point
//! rw/<key>/image                 the image id the container was made from (a GC root)
//! tmp/<name>/ + tmp/<name>.lock  unpacks in progress
//! empty/                         the lower dir of an image without layers
//! ```
//!
//! Why one directory per layer, not per image: a layer shared by ten images is unpacked once
//! and overlayfs stacks the directories (`lowerdir=top:…:base`), so 100 containers of one image
//! cost 100 small upper dirs, not 100 copies.
//!
//! Why the chain id, not the diff id, names a snapshot: the same diff on top of different
//! parents is a different filesystem state; the chain id (a hash over the diff ids from the
//! base up) names the state. The directory itself holds only the layer's own diff.
//!
//! Crash safety: a layer is unpacked into `tmp/`, its diff id verified against the stream
//! and the directory renamed into `layers/`: a snapshot under `layers/` is complete as far as
//! any process can see (`kill -9` at any point leaves it whole or absent). A writer holds an
//! `flock` on `tmp/<name>.lock`; [`Snapshots::open`] removes temp dirs whose lock is free
//! (their writer died).
//!
//! Power loss: the files are *not* synced at commit (a `syncfs` per pull costs about a third
//! of its time, and Docker's and containerd's snapshotters do not sync either). Instead the
//! snapshot's meta records the boot it was written in (`unsynced_boot`). When the store is
//! opened in a later boot, every snapshot still marked is rebuilt through its tar-split and
//! checked against its diff id before anything can use it: intact → the mark is cleared;
//! damaged (data the power cut lost) → the snapshot is removed, and `fsck` reports the image
//! as incomplete until it is pulled or loaded again. Durability by verification rather than
//! by a synchronous flush.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::fsutil::{self, Lock, LockMode};
use crate::digest::{Algorithm, Digest, Hasher};
use crate::error::ImageError;

type Result<T> = std::result::Result<T, ImageError>;

/// What is recorded beside an unpacked layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotMeta {
    /// The chain id naming this snapshot.
    pub chain_id: Digest,
    /// The digest of the layer's uncompressed tar.
    pub diff_id: Digest,
    /// The chain id of the layer below, if any.
    pub parent: Option<Digest>,
    /// Bytes of file content unpacked.
    pub size: u64,
    /// Length of the uncompressed tar (what a rebuild from the tar-split gives), when known.
    #[serde(default)]
    pub tar_size: Option<u64>,
    /// The boot (kernel `boot_id`) this snapshot was written in without a sync; checked and
    /// cleared by the first open in a later boot (see the module docs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsynced_boot: Option<String>,
}

/// This boot's id (`/proc/sys/kernel/random/boot_id`), or an empty string if unreadable.
fn boot_id() -> String {
    fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// The tar-split skeleton of a layer unpacked from a plain tar (see `berth_fs::rebuild_layer`).
const TAR_SPLIT: &str = "tar-split";

/// The snapshot directories of one store.
#[derive(Debug, Clone)]
pub struct Snapshots {
    root: PathBuf,
}

impl Snapshots {
    /// Opens (creating) `root` and sweeps unpacks whose writer died.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let s = Snapshots { root: root.into() };
        for d in ["layers", "rw", "tmp", "empty"] {
            let p = s.root.join(d);
            fs::create_dir_all(&p).map_err(|e| ImageError::io("creating", &p, e))?;
        }
        s.sweep_tmp()?;
        s.verify_after_reboot()?;
        Ok(s)
    }

    /// Checks the snapshots written unsynced in an earlier boot; see the module docs.
    fn verify_after_reboot(&self) -> Result<()> {
        let now = boot_id();
        for chain in self.list()? {
            let Ok(mut meta) = self.meta(&chain) else {
                continue;
            };
            match &meta.unsynced_boot {
                Some(b) if *b != now => {}
                _ => continue,
            }
            let intact = match self.rebuild(&chain) {
                Ok(Some(mut r)) => std::io::copy(&mut r, &mut std::io::sink()).is_ok(),
                _ => false,
            };
            if intact {
                meta.unsynced_boot = None;
                let bytes = serde_json::to_vec(&meta).map_err(|e| ImageError::Metadata {
                    path: self.layer_dir(&chain),
                    reason: e.to_string(),
                })?;
                fsutil::write_atomic(&self.layer_dir(&chain).join("meta.json"), &bytes)?;
            } else {
                self.remove(&chain)?;
            }
        }
        Ok(())
    }

    /// The directory of this store's snapshots.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn sweep_tmp(&self) -> Result<()> {
        for p in fsutil::read_dir_paths(&self.root.join("tmp"))? {
            if p.extension().is_some_and(|e| e == "lock") {
                // A lock without its directory: its writer died before creating it, or while
                // dropping it. Removed while held, so no writer can be holding it
                // (`Lock::acquire` re-checks that its file is still the one named).
                if !p.with_extension("").exists() {
                    if let Some(_held) = Lock::try_acquire(&p, LockMode::Exclusive)? {
                        if !p.with_extension("").exists() {
                            fsutil::remove_file(&p)?;
                        }
                    }
                }
                continue;
            }
            let lock = p.with_extension("lock");
            // A free lock (or none) means the writer is gone.
            if let Some(_held) = Lock::try_acquire(&lock, LockMode::Exclusive)? {
                fsutil::remove_tree(&p)?;
                fsutil::remove_file(&lock)?;
            } else if !lock.exists() {
                fsutil::remove_tree(&p)?;
            }
        }
        Ok(())
    }

    pub(crate) fn layer_dir(&self, chain_id: &Digest) -> PathBuf {
        self.root.join("layers").join(chain_id.hex())
    }

    /// The directory holding the files of the layer `chain_id` (an overlay lower dir).
    pub fn layer_fs(&self, chain_id: &Digest) -> PathBuf {
        self.layer_dir(chain_id).join("fs")
    }

    /// Whether the layer `chain_id` is unpacked.
    pub fn exists(&self, chain_id: &Digest) -> bool {
        self.layer_dir(chain_id).join("meta.json").is_file()
    }

    /// The metadata of an unpacked layer.
    pub fn meta(&self, chain_id: &Digest) -> Result<SnapshotMeta> {
        let p = self.layer_dir(chain_id).join("meta.json");
        let bytes = fs::read(&p).map_err(|e| ImageError::io("reading", &p, e))?;
        serde_json::from_slice(&bytes).map_err(|e| ImageError::Metadata {
            path: p,
            reason: e.to_string(),
        })
    }

    /// The chain ids of every unpacked layer.
    pub fn list(&self) -> Result<Vec<Digest>> {
        let mut out = Vec::new();
        for p in fsutil::read_dir_paths(&self.root.join("layers"))? {
            let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if let Ok(d) = Digest::new(Algorithm::Sha256, name) {
                out.push(d);
            }
        }
        Ok(out)
    }

    /// Removes an unpacked layer. The caller (GC) has checked that nothing uses it.
    pub fn remove(&self, chain_id: &Digest) -> Result<()> {
        let dir = self.layer_dir(chain_id);
        // Rename first so that a crash mid-removal never leaves a half layer under its name.
        let doomed = self
            .root
            .join("tmp")
            .join(format!("rm-{}", fsutil::unique_name()));
        match fs::rename(&dir, &doomed) {
            Ok(()) => fsutil::remove_tree(&doomed),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(ImageError::io("removing", dir, e)),
        }
    }

    /// Starts an unpack into a private temp directory.
    pub fn begin(&self) -> Result<PendingSnapshot> {
        let name = fsutil::unique_name();
        let tmp = self.root.join("tmp");
        let lock = Lock::acquire(&tmp.join(format!("{name}.lock")), LockMode::Exclusive)?;
        let dir = tmp.join(&name);
        for sub in ["fs", "stash"] {
            let p = dir.join(sub);
            fs::create_dir_all(&p).map_err(|e| ImageError::io("creating", &p, e))?;
        }
        Ok(PendingSnapshot {
            dir: Some(dir),
            lock_path: tmp.join(format!("{name}.lock")),
            _lock: lock,
            layers: self.root.join("layers"),
            diff_id: None,
            size: 0,
            tar_size: 0,
            skeleton: None,
        })
    }

    /// Unpacks `layer` (gzip, zstd or plain tar) as the snapshot `chain_id`, verifying that the
    /// uncompressed stream hashes to `diff_id`. A no-op if it is already unpacked.
    pub fn unpack(
        &self,
        layer: impl Read,
        diff_id: &Digest,
        chain_id: &Digest,
        parent: Option<&Digest>,
    ) -> Result<()> {
        if self.exists(chain_id) {
            return Ok(());
        }
        let mut pending = self.begin()?;
        let got = pending.unpack(layer)?;
        if &got != diff_id {
            return Err(ImageError::DiffIdMismatch {
                expected: diff_id.clone(),
                actual: got,
            });
        }
        pending.commit(chain_id, parent)
    }

    /// The exact bytes of the plain layer tar `chain_id` was unpacked from, rebuilt from its
    /// tree and tar-split skeleton and checked against its diff id as they are read (a
    /// mismatch is a read error at the end). `None` when it has no skeleton.
    pub fn rebuild(&self, chain_id: &Digest) -> Result<Option<VerifiedReader>> {
        let dir = self.layer_dir(chain_id);
        let skeleton = match fs::read(dir.join(TAR_SPLIT)) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ImageError::io("reading", dir.join(TAR_SPLIT), e)),
        };
        let meta = self.meta(chain_id)?;
        let reader = berth_fs::rebuild_layer(&skeleton, &dir.join("fs"), &dir.join("stash"))
            .map_err(|source| ImageError::Unpack {
                layer: Some(meta.diff_id.clone()),
                source,
            })?;
        Ok(Some(VerifiedReader::new(Box::new(reader), meta.diff_id)))
    }

    /// A snapshot unpacked from the plain layer `diff_id` that can rebuild it, if any.
    pub fn find_split(&self, diff_id: &Digest) -> Result<Option<Digest>> {
        for chain in self.list()? {
            if self.layer_dir(&chain).join(TAR_SPLIT).is_file()
                && self.meta(&chain).is_ok_and(|m| &m.diff_id == diff_id)
            {
                return Ok(Some(chain));
            }
        }
        Ok(None)
    }

    /// The lower dir to use for an image without layers.
    pub fn empty_dir(&self) -> PathBuf {
        self.root.join("empty")
    }

    pub(crate) fn rw_root(&self) -> PathBuf {
        self.root.join("rw")
    }
}

/// A layer being unpacked into `tmp/`; removed on drop unless committed.
#[derive(Debug)]
pub struct PendingSnapshot {
    dir: Option<PathBuf>,
    lock_path: PathBuf,
    _lock: Lock,
    layers: PathBuf,
    diff_id: Option<Digest>,
    size: u64,
    tar_size: u64,
    skeleton: Option<Vec<u8>>,
}

impl PendingSnapshot {
    /// The directory receiving the files.
    pub fn fs_dir(&self) -> PathBuf {
        self.dir.as_deref().unwrap_or(Path::new("")).join("fs")
    }

    /// Unpacks a layer stream and returns its diff id (the digest of the uncompressed tar),
    /// computed in the same pass. It also keeps the tar-split skeleton of the uncompressed
    /// tar, so the snapshot alone can give those bytes back ([`Snapshots::rebuild`]).
    pub fn unpack(&mut self, layer: impl Read) -> Result<Digest> {
        let mut hasher = Hasher::new(Algorithm::Sha256);
        let mut tar_size = 0u64;
        let opts = berth_fs::UnpackOptions {
            allow_devices: true,
            preserve_ownership: true,
        };
        let dir = self.dir.clone().unwrap_or_default();
        let (stats, skeleton) = berth_fs::unpack_layer_split(
            layer,
            &dir.join("fs"),
            &dir.join("stash"),
            &opts,
            &mut |b| {
                hasher.update(b);
                tar_size += b.len() as u64;
            },
        )
        .map_err(|source| ImageError::Unpack {
            layer: None,
            source,
        })?;
        self.skeleton = Some(skeleton);
        self.tar_size = tar_size;
        let d = hasher.finish();
        self.diff_id = Some(d.clone());
        self.size = stats.bytes;
        Ok(d)
    }

    /// Makes the unpacked layer durable and visible as `chain_id`. If another writer committed
    /// the same chain first, this copy is discarded.
    pub fn commit(mut self, chain_id: &Digest, parent: Option<&Digest>) -> Result<()> {
        let Some(diff_id) = self.diff_id.clone() else {
            return Err(ImageError::Metadata {
                path: self.fs_dir(),
                reason: "commit before unpack".into(),
            });
        };
        let dir = self.dir.clone().unwrap_or_default();
        let meta = SnapshotMeta {
            chain_id: chain_id.clone(),
            diff_id,
            parent: parent.cloned(),
            size: self.size,
            tar_size: Some(self.tar_size),
            unsynced_boot: Some(boot_id()),
        };
        let meta_bytes = serde_json::to_vec(&meta).map_err(|e| ImageError::Metadata {
            path: dir.clone(),
            reason: e.to_string(),
        })?;
        if let Some(sk) = &self.skeleton {
            fsutil::write_atomic(&dir.join(TAR_SPLIT), sk)?;
        }
        fsutil::write_atomic(&dir.join("meta.json"), &meta_bytes)?;
        let target = self.layers.join(chain_id.hex());
        match fs::rename(&dir, &target) {
            Ok(()) => {
                self.dir = None;
                fsutil::sync_dir(&self.layers)
            }
            // Someone else unpacked the same state first: theirs is as good as ours.
            Err(e) if target.join("meta.json").is_file() => {
                let _ = e;
                Ok(())
            }
            Err(e) => Err(ImageError::io("renaming into place", dir, e)),
        }
    }
}

impl Drop for PendingSnapshot {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            let _ = fs::remove_dir_all(dir);
        }
        let _ = fs::remove_file(&self.lock_path);
    }
}

/// A reader that hashes what passes and fails at the end if it is not `expected`.
pub struct VerifiedReader {
    inner: Box<dyn Read + Send>,
    hasher: Option<Hasher>,
    expected: Digest,
}

impl std::fmt::Debug for VerifiedReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedReader")
            .field("expected", &self.expected)
            .finish_non_exhaustive()
    }
}

impl VerifiedReader {
    /// Checks `inner` against `expected`.
    pub fn new(inner: Box<dyn Read + Send>, expected: Digest) -> Self {
        VerifiedReader {
            inner,
            hasher: Some(Hasher::new(expected.algorithm())),
            expected,
        }
    }
}

impl Read for VerifiedReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            if let Some(h) = self.hasher.as_mut() {
                h.update(&buf[..n]);
            }
        } else if !buf.is_empty() {
            if let Some(h) = self.hasher.take() {
                let got = h.finish();
                if got != self.expected {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!(
                            "layer {} rebuilt from its snapshot hashes to {got}: the unpacked \
                             files were changed; remove the image and load or pull it again",
                            self.expected
                        ),
                    ));
                }
            }
        }
        Ok(n)
    }
}
