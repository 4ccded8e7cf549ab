//! berth's extension of `POST /build`: a context sent as a manifest plus only the file
//! contents the daemon does not hold yet.
//!
//! Why: the legacy builder's API sends the whole context as a tar on every build, so a
//! rebuild of an unchanged 20 MB context spends most of its time moving bytes the daemon
//! already has (BuildKit avoids it with a file-sync session). `berth build` instead asks
//! `POST /build/blobs/missing` which content digests are missing, then posts to
//! `/build?contextformat=berth-manifest-v1` a tar holding `manifest.json` (every entry's
//! path, kind, mode, mtime, size and content digest) followed by `blobs/<hex>` entries for the
//! missing contents only. A daemon without the extension answers 404 to the first call and
//! the client sends a plain tar: Docker clients never see any of this.

use serde::{Deserialize, Serialize};

/// The `contextformat` query value of a manifest context.
pub const CONTEXT_MANIFEST_FORMAT: &str = "berth-manifest-v1";
/// The name of the manifest, the first entry of a manifest context's tar.
pub const CONTEXT_MANIFEST_NAME: &str = "manifest.json";
/// The directory of content entries in a manifest context's tar (`blobs/<hex>`).
pub const CONTEXT_BLOB_DIR: &str = "blobs/";

/// A build context described entry by entry, contents by digest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextManifest {
    /// The entries in tar order (a directory before what it holds).
    pub entries: Vec<ContextEntry>,
}

/// The kind of a context entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContextEntryKind {
    /// A regular file: `size` bytes whose sha256 is `digest`.
    File,
    /// A directory.
    Dir,
    /// A symbolic link to `target`.
    Symlink,
}

/// One entry of a [`ContextManifest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextEntry {
    /// The path relative to the context's root, `/`-separated.
    pub path: String,
    /// File, directory or symlink.
    pub kind: ContextEntryKind,
    /// The permission bits (`0o7777` at most).
    pub mode: u32,
    /// The modification time, in seconds since the epoch.
    pub mtime: u64,
    /// A file's size in bytes.
    #[serde(default)]
    pub size: u64,
    /// A file's content digest, `sha256:<hex>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// A symlink's target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

impl ContextManifest {
    /// The distinct content digests of the manifest's files, sorted.
    pub fn digests(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .entries
            .iter()
            .filter_map(|e| e.digest.clone())
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

/// What a [`ContextManifest`] cannot hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid context manifest: entry {path:?}: {reason}")]
pub struct ManifestError {
    /// The entry's path as given.
    pub path: String,
    /// What is wrong with it.
    pub reason: String,
}

/// Whether `s` is `sha256:` and 64 lowercase hex digits.
pub fn is_sha256_digest(s: &str) -> bool {
    s.strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

impl ContextManifest {
    /// Checks every entry: a relative path of normal components, permission bits only, a
    /// digest for each file, a target for each symlink.
    pub fn validate(&self) -> Result<(), ManifestError> {
        for e in &self.entries {
            let bad = |reason: &str| ManifestError {
                path: e.path.clone(),
                reason: reason.to_string(),
            };
            let path = e.path.trim_end_matches('/');
            if path.is_empty()
                || path.starts_with('/')
                || path.contains('\0')
                || path
                    .split('/')
                    .any(|c| c.is_empty() || c == "." || c == "..")
            {
                return Err(bad(
                    "the path must be relative, without `.`, `..` or empty components",
                ));
            }
            if e.mode & !0o7777 != 0 {
                return Err(bad("the mode has bits beyond 0o7777"));
            }
            match e.kind {
                ContextEntryKind::File if !e.digest.as_deref().is_some_and(is_sha256_digest) => {
                    return Err(bad("a file needs a sha256:<64 hex> digest"));
                }
                ContextEntryKind::Symlink if e.target.as_deref().is_none_or(str::is_empty) => {
                    return Err(bad("a symlink needs a target"));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The context's skeleton as a tar: directories and symlinks as they are, every file
    /// empty (its content is fetched by digest when a step needs it). Call after
    /// [`ContextManifest::validate`].
    pub fn skeleton_tar(&self) -> std::io::Result<Vec<u8>> {
        let mut b = tar::Builder::new(Vec::new());
        for e in &self.entries {
            let mut h = tar::Header::new_gnu();
            h.set_mode(e.mode);
            h.set_mtime(e.mtime);
            h.set_uid(0);
            h.set_gid(0);
            h.set_size(0);
            let path = e.path.trim_end_matches('/');
            match e.kind {
                ContextEntryKind::File => {
                    h.set_entry_type(tar::EntryType::Regular);
                    b.append_data(&mut h, path, std::io::empty())?;
                }
                ContextEntryKind::Dir => {
                    h.set_entry_type(tar::EntryType::Directory);
                    b.append_data(&mut h, path, std::io::empty())?;
                }
                ContextEntryKind::Symlink => {
                    h.set_entry_type(tar::EntryType::Symlink);
                    b.append_link(&mut h, path, e.target.as_deref().unwrap_or_default())?;
                }
            }
        }
        b.into_inner()
    }
}
