//! Containers' root filesystems: an overlay of the image's unpacked layers (read-only lower
//! dirs, shared by every container of the image) under a per-container upper dir.
//!
//! The `image` file in a container's rw dir is what keeps the image's record, and so its
//! layers, from garbage collection while the container exists.

use std::fs;
use std::path::PathBuf;

use nix::mount::{mount, umount2, MntFlags, MsFlags};

use super::{fsutil, ImageStore};
use crate::digest::Digest;
use crate::error::ImageError;

type Result<T> = std::result::Result<T, ImageError>;

/// The directories of one container's root filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRootfs {
    /// The caller's key (the container id).
    pub key: String,
    /// The image the container was made from.
    pub image: Digest,
    /// The container's writes (overlay upperdir): what `commit` and `diff` read.
    pub upper: PathBuf,
    /// Overlay's work dir.
    pub work: PathBuf,
    /// Where the overlay is mounted: the OCI bundle's `root.path`.
    pub merged: PathBuf,
    /// The image's layer dirs, top first (overlay's `lowerdir` order).
    pub lowers: Vec<PathBuf>,
}

fn check_key(key: &str) -> Result<()> {
    let ok = !key.is_empty()
        && key.len() <= 128
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        && !key.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(ImageError::InvalidKey {
            key: key.to_string(),
        })
    }
}

impl ImageStore {
    fn rw_dir(&self, key: &str) -> PathBuf {
        self.snapshots.rw_root().join(key)
    }

    /// Creates the writable layer of container `key` on top of image `image` (an id). Nothing
    /// is mounted yet: see [`ImageStore::mount_rootfs`].
    pub fn create_rootfs(&self, key: &str, image: &Digest) -> Result<ContainerRootfs> {
        check_key(key)?;
        let _lease = self.lease()?;
        let img = self.get(image)?;
        let dir = self.rw_dir(key);
        if dir.exists() {
            return Err(ImageError::Conflict {
                reason: format!("a root filesystem for {key} already exists"),
            });
        }
        for d in ["upper", "work", "merged"] {
            let p = dir.join(d);
            fs::create_dir_all(&p).map_err(|e| ImageError::io("creating", &p, e))?;
        }
        fsutil::write_atomic(&dir.join("image"), image.to_string().as_bytes())?;
        self.touch(img.id())?;
        self.rootfs(key)
    }

    /// The rootfs of container `key`.
    pub fn rootfs(&self, key: &str) -> Result<ContainerRootfs> {
        check_key(key)?;
        let dir = self.rw_dir(key);
        let image_file = dir.join("image");
        let text = fs::read_to_string(&image_file)
            .map_err(|e| ImageError::io("reading", &image_file, e))?;
        let image: Digest = text.trim().parse()?;
        let img = self.get(&image)?;
        let mut lowers: Vec<PathBuf> = img
            .chain_ids()
            .iter()
            .map(|c| self.snapshots.layer_fs(c))
            .collect();
        lowers.reverse();
        if lowers.is_empty() {
            lowers.push(self.snapshots.empty_dir());
        }
        Ok(ContainerRootfs {
            key: key.to_string(),
            image,
            upper: dir.join("upper"),
            work: dir.join("work"),
            merged: dir.join("merged"),
            lowers,
        })
    }

    /// Mounts container `key`'s overlay on its `merged` dir and returns that path.
    pub fn mount_rootfs(&self, key: &str) -> Result<PathBuf> {
        let r = self.rootfs(key)?;
        let lower = r
            .lowers
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(":");
        let opts = format!(
            "lowerdir={lower},upperdir={},workdir={}",
            r.upper.display(),
            r.work.display()
        );
        // The mount(2) data argument is one page.
        if opts.len() >= 4096 {
            return Err(ImageError::Mount {
                path: r.merged,
                reason: format!(
                    "{} layers make an overlay option string of {} bytes, over the kernel's \
                     limit of 4095; squash the image into fewer layers",
                    r.lowers.len(),
                    opts.len()
                ),
            });
        }
        mount(
            Some("overlay"),
            &r.merged,
            Some("overlay"),
            MsFlags::empty(),
            Some(opts.as_str()),
        )
        .map_err(|e| ImageError::Mount {
            path: r.merged.clone(),
            reason: format!("overlay mount failed: {e}"),
        })?;
        Ok(r.merged)
    }

    /// Unmounts container `key`'s overlay if mounted.
    pub fn unmount_rootfs(&self, key: &str) -> Result<()> {
        check_key(key)?;
        let merged = self.rw_dir(key).join("merged");
        match umount2(&merged, MntFlags::MNT_DETACH) {
            Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => Ok(()),
            Err(e) => Err(ImageError::Mount {
                path: merged,
                reason: format!("unmount failed: {e}"),
            }),
        }
    }

    /// Unmounts and deletes container `key`'s writable layer; its image becomes collectable.
    pub fn remove_rootfs(&self, key: &str) -> Result<()> {
        self.unmount_rootfs(key)?;
        let dir = self.rw_dir(key);
        // Drop the GC root last, so a crash mid-way leaves a complete hold or none.
        for d in ["merged", "upper", "work"] {
            fsutil::remove_tree(&dir.join(d))?;
        }
        fsutil::remove_tree(&dir)
    }

    /// Every container rootfs: (key, image id).
    pub fn rootfs_users(&self) -> Result<Vec<(String, Digest)>> {
        let mut out = Vec::new();
        for p in fsutil::read_dir_paths(&self.snapshots.rw_root())? {
            let Some(key) = p.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
                continue;
            };
            let Ok(text) = fs::read_to_string(p.join("image")) else {
                continue;
            };
            if let Ok(d) = text.trim().parse::<Digest>() {
                out.push((key, d));
            }
        }
        Ok(out)
    }

    pub(crate) fn rootfs_users_of(&self, image: &Digest) -> Result<Vec<String>> {
        Ok(self
            .rootfs_users()?
            .into_iter()
            .filter(|(_, d)| d == image)
            .map(|(k, _)| k)
            .collect())
    }
}
