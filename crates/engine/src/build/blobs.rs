//! The content store of manifest contexts (`<data-root>/build/blobs/<hex>`): the files of
//! earlier contexts by sha256, so `berth build` sends only what changed (see
//! `berth_build::manifest`). A build receives new blobs into its own tmpfs (fast, and the
//! build reads them from there) and a thread copies them into the store beside the build.
//!
//! Why trust a blob by its name: a blob is written only here, from a received entry whose
//! bytes were hashed while written and renamed into place only when the hash matched, so a
//! name is a proof of content. A client may reference any blob the daemon holds; that grants
//! nothing, since the API socket is root's already. Blobs unused for a week are swept at the
//! end of each manifest build, and `builder prune` removes them all.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use berth_build::manifest::{
    is_sha256_digest, ContextManifest, CONTEXT_BLOB_DIR, CONTEXT_MANIFEST_NAME,
};
use sha2::{Digest as _, Sha256};

use crate::{Engine, EngineError, Result};

/// The largest manifest accepted (about a million entries).
const MAX_MANIFEST: u64 = 256 << 20;
/// How long an unused blob is kept.
const KEEP_UNUSED: Duration = Duration::from_secs(7 * 24 * 3600);

impl Engine {
    pub(super) fn blob_dir(&self) -> PathBuf {
        self.config.data_root.join("build/blobs")
    }

    pub(super) fn blob_path(&self, digest: &str) -> PathBuf {
        blob_in(&self.blob_dir(), digest)
    }

    /// Of `digests`, those the content store lacks (`POST /build/blobs/missing`).
    pub fn missing_context_blobs(&self, digests: &[String]) -> Result<Vec<String>> {
        let mut missing = Vec::new();
        for d in digests {
            if !is_sha256_digest(d) {
                return Err(EngineError::InvalidArgument(format!(
                    "invalid content digest {d:?}: expected sha256:<64 hex digits>"
                )));
            }
            if !self.blob_path(d).is_file() {
                missing.push(d.clone());
            }
        }
        Ok(missing)
    }

    /// Reads a manifest context's tar: the manifest first, then `blobs/<hex>` entries, each
    /// checked against its name as it is written into `incoming` (the build's own tmpfs:
    /// [`persist_blobs`] moves them to the store beside the build). Every file of the
    /// manifest must then be in `incoming` or in the store. Returns the manifest and the
    /// digests received.
    pub(super) fn receive_manifest_context(
        &self,
        tar: impl Read,
        incoming: &Path,
    ) -> Result<(ContextManifest, Vec<String>)> {
        let bad = |m: String| EngineError::InvalidArgument(format!("the build context: {m}"));
        let dir = self.blob_dir();
        std::fs::create_dir_all(&dir).map_err(|e| EngineError::io("creating", &dir, e))?;
        std::fs::create_dir_all(incoming).map_err(|e| EngineError::io("creating", incoming, e))?;
        let mut ar = tar::Archive::new(tar);
        let mut entries = ar.entries().map_err(|e| bad(e.to_string()))?;
        let first = entries
            .next()
            .ok_or_else(|| bad(format!("empty: {CONTEXT_MANIFEST_NAME} must come first")))?
            .map_err(|e| bad(e.to_string()))?;
        if first.path_bytes().as_ref() != CONTEXT_MANIFEST_NAME.as_bytes() {
            return Err(bad(format!(
                "{CONTEXT_MANIFEST_NAME} must be the first entry"
            )));
        }
        let mut text = Vec::new();
        first
            .take(MAX_MANIFEST)
            .read_to_end(&mut text)
            .map_err(|e| bad(e.to_string()))?;
        let manifest: ContextManifest = serde_json::from_slice(&text)
            .map_err(|e| bad(format!("{CONTEXT_MANIFEST_NAME}: {e}")))?;
        manifest.validate().map_err(|e| bad(e.to_string()))?;
        let mut received = std::collections::HashSet::new();
        for e in entries {
            let mut e = e.map_err(|e| bad(e.to_string()))?;
            let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
            let digest = name
                .strip_prefix(CONTEXT_BLOB_DIR)
                .map(|h| format!("sha256:{h}"))
                .filter(|d| is_sha256_digest(d))
                .ok_or_else(|| {
                    bad(format!(
                        "unexpected entry {name:?}: only blobs/<hex> may follow the manifest"
                    ))
                })?;
            store_blob(incoming, &digest, &mut e)?;
            received.insert(digest);
        }
        let now = std::fs::FileTimes::new().set_modified(SystemTime::now());
        for d in manifest.digests() {
            if received.contains(&d) {
                continue;
            }
            let p = self.blob_path(&d);
            match std::fs::File::options().write(true).open(&p) {
                Ok(f) => {
                    let _ = f.set_times(now);
                }
                Err(_) => {
                    return Err(EngineError::NotFound(format!(
                        "the build context's content {d} is neither sent nor held by the \
                         daemon (pruned meanwhile?): send the build again"
                    )))
                }
            }
        }
        Ok((manifest, received.into_iter().collect()))
    }

    /// Removes blobs unused for a week (and leftovers of interrupted writes).
    pub(super) fn sweep_blobs(&self) {
        let Ok(rd) = std::fs::read_dir(self.blob_dir()) else {
            return;
        };
        let now = SystemTime::now();
        for e in rd.flatten() {
            let stale = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .is_some_and(|age| age > KEEP_UNUSED);
            if stale {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }

    /// Removes every blob (`builder prune`); returns the bytes freed.
    pub(super) fn clear_blobs(&self) -> u64 {
        let mut freed = 0;
        if let Ok(rd) = std::fs::read_dir(self.blob_dir()) {
            for e in rd.flatten() {
                let len = e.metadata().map_or(0, |m| m.len());
                if std::fs::remove_file(e.path()).is_ok() {
                    freed += len;
                }
            }
        }
        freed
    }
}

/// The path of `digest`'s blob in directory `dir`.
pub(super) fn blob_in(dir: &Path, digest: &str) -> PathBuf {
    dir.join(digest.strip_prefix("sha256:").unwrap_or(digest))
}

/// Writes one blob into `dir`, hashing it on the way; it is kept only when its hash is
/// `digest`.
fn store_blob(dir: &Path, digest: &str, data: &mut impl Read) -> Result<()> {
    let dest = blob_in(dir, digest);
    let tmp = dir.join(format!(".tmp-{}", berth_fs::atomic_temp_name()));
    let io = |e| EngineError::io("writing", &tmp, e);
    let mut f = std::fs::File::create_new(&tmp).map_err(io)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 << 10];
    let result = (|| {
        loop {
            let n = data.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            f.write_all(&buf[..n])?;
        }
        Ok::<_, std::io::Error>(())
    })();
    let got = format!("sha256:{:x}", h.finalize());
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    if got != digest {
        let _ = std::fs::remove_file(&tmp);
        return Err(EngineError::InvalidArgument(format!(
            "the build context: blob {digest} holds content whose digest is {got}"
        )));
    }
    std::fs::rename(&tmp, &dest).map_err(|e| EngineError::io("renaming", &tmp, e))
}

/// Copies the blobs a build received (verified, in its tmpfs) into the store `store`, each
/// through a temporary name so a blob there is always whole. Runs beside the build: writing
/// a few hundred files to a disk file system costs tens of milliseconds a context.
pub(super) fn persist_blobs(incoming: PathBuf, store: PathBuf, digests: Vec<String>) {
    for d in digests {
        let dest = blob_in(&store, &d);
        if dest.exists() {
            continue;
        }
        let tmp = store.join(format!(".tmp-{}", berth_fs::atomic_temp_name()));
        if std::fs::copy(blob_in(&incoming, &d), &tmp).is_ok() {
            if std::fs::rename(&tmp, &dest).is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
        } else {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}
