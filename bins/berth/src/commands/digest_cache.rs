//! What `berth build` remembers of a context's file digests between builds:
//! `$XDG_CACHE_HOME/berth/build-digests/<hash of the context's path>.json` (else
//! `~/.cache/…`), each file's digest beside the stat fields that change whenever its content
//! does.
//!
//! Why trust a remembered digest: it is used only when the device, inode, size, mtime and
//! ctime (nanoseconds) are all unchanged, and a write always moves ctime, which no user call
//! can set back. A file changed within the clock's granularity of the moment it was hashed
//! could still look unchanged, so (as git does with its index) a file whose mtime or ctime
//! is less than two seconds old at hashing time is never remembered. Losing or corrupting the
//! file costs one full hashing, nothing else.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The stat fields a digest is valid for, and the digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Known {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    digest: String,
}

impl Known {
    fn of(meta: &fs::Metadata, digest: String) -> Known {
        Known {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
            digest,
        }
    }
}

/// The remembered digests of one context directory.
#[derive(Debug, Default)]
pub struct DigestCache {
    file: Option<PathBuf>,
    known: HashMap<String, Known>,
    dirty: bool,
}

impl DigestCache {
    /// The cache of context directory `dir` (empty when there is none or it is unreadable).
    pub fn load(dir: &Path) -> DigestCache {
        use sha2::{Digest as _, Sha256};
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")));
        let Some(base) = base else {
            return DigestCache::default();
        };
        let key = format!("{:x}", Sha256::digest(dir.as_os_str().as_encoded_bytes()));
        let file = base
            .join("berth/build-digests")
            .join(format!("{}.json", &key[..32]));
        let known = fs::read(&file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        DigestCache {
            file: Some(file),
            known,
            dirty: false,
        }
    }

    /// The remembered digest of `name`, if `meta` shows the file unchanged.
    pub fn get(&self, name: &str, meta: &fs::Metadata) -> Option<&str> {
        let k = self.known.get(name)?;
        (*k == Known::of(meta, k.digest.clone())).then_some(k.digest.as_str())
    }

    /// Remembers `digest` for `name` as `meta` describes it, unless the file is too recent
    /// to be trusted later.
    pub fn put(&mut self, name: &str, meta: &fs::Metadata, digest: &str) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        if meta.mtime() > now - 2 || meta.ctime() > now - 2 {
            self.known.remove(name);
            return;
        }
        let k = Known::of(meta, digest.to_string());
        if self.known.get(name) != Some(&k) {
            self.known.insert(name.to_string(), k);
            self.dirty = true;
        }
    }

    /// Keeps only `names` (the files of this build), then writes the cache if it changed.
    pub fn save(mut self, names: &[&str]) {
        let before = self.known.len();
        let keep: std::collections::HashSet<&str> = names.iter().copied().collect();
        self.known.retain(|n, _| keep.contains(n.as_str()));
        let Some(file) = self.file.take() else {
            return;
        };
        if !self.dirty && self.known.len() == before {
            return;
        }
        let Ok(bytes) = serde_json::to_vec(&self.known) else {
            return;
        };
        if let Some(dir) = file.parent() {
            let _ = fs::create_dir_all(dir);
        }
        let tmp = file.with_extension(format!("tmp{}", std::process::id()));
        if fs::write(&tmp, bytes).is_ok() && fs::rename(&tmp, &file).is_err() {
            let _ = fs::remove_file(&tmp);
        }
    }
}
