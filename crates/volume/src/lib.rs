//! Docker's `local` volume driver: named and anonymous volumes under `<data-root>/volumes/`.
//!
//! On disk, as Docker lays it out (DESIGN.md): `volumes/<name>/_data` holds the data (what a
//! container's bind mount shows) and `volumes/<name>/volume.json` the metadata (name, driver,
//! labels, driver options, creation time, whether it is anonymous, whether copy-up filled it).
//!
//! Crash safety, and why it is this simple: `volume.json` is written last, atomically
//! (`berth_fs::write_atomic`), and removed first. So a crash during create or remove leaves a
//! directory without `volume.json`: such a half-made volume is invisible to [`VolumeStore::list`]
//! and [`VolumeStore::get`], and a later create of the same name sweeps it before starting
//! over. Nothing else needs recovering: there is no index to keep in step.
//!
//! What uses a volume is not recorded here: the engine derives it from the container records
//! on disk, so it cannot drift from them. Options `type`/`device`/`o` are mounted on `_data`
//! when a container first needs the volume and stay mounted until it is removed ([`mount`]).
//! Copy-up of an image's directory into a new volume is [`copy::copy_up`].

#![warn(missing_docs)]

pub mod copy;
mod error;
pub mod mount;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

pub use copy::copy_up;
pub use error::VolumeError;

/// `Result` with [`VolumeError`].
pub type Result<T> = std::result::Result<T, VolumeError>;

/// The only driver.
pub const LOCAL_DRIVER: &str = "local";
/// The metadata file in a volume's directory.
pub const META_FILE: &str = "volume.json";
/// The data directory in a volume's directory.
pub const DATA_DIR: &str = "_data";

/// One volume's metadata, `volume.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volume {
    /// The name (64 hex digits for an anonymous volume).
    pub name: String,
    /// Always [`LOCAL_DRIVER`].
    pub driver: String,
    /// User labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Driver options (`type`, `device`, `o`).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// When it was created, RFC 3339.
    pub created_at: String,
    /// Made for a container without a name (`-v /data`, image `VOLUME`).
    #[serde(default)]
    pub anonymous: bool,
    /// A container's start already copied image content into it (or found it non-empty):
    /// copy-up never happens again, even if it is emptied later.
    #[serde(default)]
    pub populated: bool,
}

/// What to create.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateRequest {
    /// The name; `None` or empty makes an anonymous volume with a random name.
    pub name: Option<String>,
    /// The driver; empty means `local`.
    pub driver: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Driver options.
    pub options: BTreeMap<String, String>,
}

/// Docker's `[a-zA-Z0-9][a-zA-Z0-9_.-]+` for volume names.
pub fn valid_name(name: &str) -> bool {
    berth_types::valid_object_name(name)
}

/// 32 random bytes as hex: an anonymous volume's name.
pub fn random_name() -> Result<String> {
    berth_types::random_id().map_err(|e| VolumeError::io("reading", Path::new("/dev/urandom"), e))
}

/// The current UTC time as RFC 3339 with seconds (Docker's `CreatedAt`).
pub fn now_rfc3339() -> String {
    berth_types::time::now_secs()
}

/// The volumes under one directory. Create, remove, mount and populate are serialised by an
/// internal lock; share one store per data root.
#[derive(Debug)]
pub struct VolumeStore {
    root: PathBuf,
    lock: Mutex<()>,
}

impl VolumeStore {
    /// A store over `root` (`<data-root>/volumes`), created if missing.
    pub fn open(root: impl Into<PathBuf>) -> Result<VolumeStore> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(|e| VolumeError::io("creating", &root, e))?;
        Ok(VolumeStore {
            root,
            lock: Mutex::new(()),
        })
    }

    fn guard(&self) -> std::sync::MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The store's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `<root>/<name>/_data`: what containers mount.
    pub fn mountpoint(&self, name: &str) -> PathBuf {
        self.root.join(name).join(DATA_DIR)
    }

    fn meta_path(&self, name: &str) -> PathBuf {
        self.root.join(name).join(META_FILE)
    }

    fn save(&self, v: &Volume) -> Result<()> {
        let path = self.meta_path(&v.name);
        let data = serde_json::to_vec_pretty(v)
            .map_err(|e| VolumeError::io("encoding", &path, std::io::Error::other(e)))?;
        berth_fs::write_atomic(&path, &data).map_err(|e| VolumeError::io("writing", &path, e))
    }

    /// The volume `name`.
    pub fn get(&self, name: &str) -> Result<Volume> {
        if !valid_name(name) {
            return Err(VolumeError::NotFound(name.to_owned()));
        }
        let path = self.meta_path(name);
        let data = match fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(VolumeError::NotFound(name.to_owned()))
            }
            Err(e) => return Err(VolumeError::io("reading", &path, e)),
        };
        serde_json::from_slice(&data).map_err(|e| {
            VolumeError::io(
                "reading",
                &path,
                std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            )
        })
    }

    /// Every complete volume, by name.
    pub fn list(&self) -> Result<Vec<Volume>> {
        let entries = match fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(VolumeError::io("reading", &self.root, e)),
        };
        let mut out: Vec<Volume> = entries
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .filter_map(|n| self.get(&n).ok())
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Creates a volume, or returns the existing one of that name (Docker's idempotent create;
    /// other driver options for an existing name are a conflict). The flag says whether it
    /// was made now.
    pub fn create(&self, req: CreateRequest) -> Result<(Volume, bool)> {
        let driver = if req.driver.is_empty() {
            LOCAL_DRIVER
        } else {
            req.driver.as_str()
        };
        if driver != LOCAL_DRIVER {
            return Err(VolumeError::InvalidArgument(format!(
                "error looking up volume plugin {driver}: plugin \"{driver}\" not found: \
                 berth has only the local driver"
            )));
        }
        mount::validate_options(&req.options)?;
        let _g = self.guard();
        let (name, anonymous) = match req.name.filter(|n| !n.is_empty()) {
            Some(n) if !valid_name(&n) => return Err(VolumeError::InvalidName(n)),
            Some(n) => (n, false),
            None => (random_name()?, true),
        };
        match self.get(&name) {
            Ok(v) if !req.options.is_empty() && v.options != req.options => {
                return Err(VolumeError::Conflict(format!(
                    "create {name}: volume {name} already exists with different driver \
                     options: remove it first or use another name"
                )))
            }
            Ok(v) => return Ok((v, false)),
            Err(VolumeError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        let dir = self.root.join(&name);
        // A directory without volume.json is a create or remove a crash cut short.
        self.sweep(&name, &dir)?;
        let data = dir.join(DATA_DIR);
        fs::create_dir_all(&data).map_err(|e| VolumeError::io("creating", &data, e))?;
        let v = Volume {
            name,
            driver: LOCAL_DRIVER.to_owned(),
            labels: req.labels,
            options: req.options,
            created_at: now_rfc3339(),
            anonymous,
            populated: false,
        };
        if let Err(e) = self.save(&v) {
            let _ = fs::remove_dir_all(&dir);
            return Err(e);
        }
        Ok((v, true))
    }

    fn sweep(&self, name: &str, dir: &Path) -> Result<()> {
        if !dir.exists() {
            return Ok(());
        }
        mount::unmount_all(name, &dir.join(DATA_DIR))?;
        fs::remove_dir_all(dir).map_err(|e| VolumeError::io("removing", dir, e))
    }

    /// Removes the volume: unmounts its options' file system, then deletes its metadata
    /// (first: an interrupted remove leaves a half-made volume) and its data.
    pub fn remove(&self, name: &str) -> Result<()> {
        self.get(name)?;
        let _g = self.guard();
        let data = self.mountpoint(name);
        mount::unmount_all(name, &data)?;
        let meta = self.meta_path(name);
        fs::remove_file(&meta).map_err(|e| VolumeError::io("removing", &meta, e))?;
        self.sweep(name, &self.root.join(name))
    }

    /// Mounts the volume's driver options on `_data` unless already mounted; returns the
    /// mount point. Volumes without options are plain directories.
    pub fn ensure_mounted(&self, name: &str) -> Result<PathBuf> {
        let v = self.get(name)?;
        let data = self.mountpoint(name);
        if mount::needs_mount(&v.options) {
            let _g = self.guard();
            if !mount::is_mounted(&data) {
                mount::mount_options(name, &v.options, &data)?;
            }
        }
        Ok(data)
    }

    /// Copy-up for a container start: if the volume was never populated and is empty, copies
    /// directory `path` of `rootfs` into it. Marks it populated either way, unless it was
    /// empty and the image had nothing there. Returns whether anything was copied.
    pub fn populate(&self, name: &str, rootfs: &Path, path: &str) -> Result<bool> {
        let _g = self.guard();
        let mut v = self.get(name)?;
        if v.populated {
            return Ok(false);
        }
        let data = self.mountpoint(name);
        let empty = copy::is_empty_dir(&data).map_err(|e| VolumeError::io("reading", &data, e))?;
        let copied = if empty {
            copy::copy_up(rootfs, path, &data)
                .map_err(|e| VolumeError::io("copying image content into", &data, e))?
        } else {
            false
        };
        if copied || !empty {
            v.populated = true;
            self.save(&v)?;
        }
        Ok(copied)
    }

    /// Bytes used by the volume's data (`du`-like: allocated blocks, each inode once).
    pub fn size(&self, name: &str) -> u64 {
        use std::os::unix::fs::MetadataExt;
        let mut seen = std::collections::HashSet::new();
        let mut total = 0u64;
        let mut stack = vec![self.mountpoint(name)];
        while let Some(p) = stack.pop() {
            let Ok(rd) = fs::read_dir(&p) else { continue };
            for e in rd.flatten() {
                let Ok(md) = e.path().symlink_metadata() else {
                    continue;
                };
                if md.is_dir() {
                    stack.push(e.path());
                } else if seen.insert((md.dev(), md.ino())) {
                    total += md.size();
                }
            }
        }
        total
    }
}

#[cfg(test)]
mod tests;
