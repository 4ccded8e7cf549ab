//! `PUT /containers/{id}/archive`: a tar from the client extracted into a container directory.
//!
//! Why a filter in front of `berth_fs::unpack_layer`: the extractor is the one safe writer
//! (names resolved inside the destination fd, `../` and absolute names refused, device nodes
//! refused), but it reads layers, where `.wh.*` names are overlay whiteouts; here they would
//! delete files, so they are refused. The filter also applies Docker's per-request rules:
//! `noOverwriteDirNonDir` (a directory must not replace a non-directory or the reverse) and
//! `copyUIDGID` (entries owned by the container's user). It re-writes the stream into a pipe
//! that the extractor reads on a scoped thread; the filter's error, if any, is the answer.

use std::io::{self, BufWriter, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use berth_fs::{open_in_root, UnpackOptions};
use nix::sys::stat::SFlag;
use tar::EntryType;

use super::tarwalk::{kind, lstat_at};
use super::{clean, path_err, Root};
use crate::{ContainerRecord, Engine, EngineError, Result};

/// `PUT /containers/{id}/archive` options.
#[derive(Debug, Clone, Default)]
pub struct ExtractOptions {
    /// `noOverwriteDirNonDir`: refuse to replace a directory with a non-directory (and the
    /// reverse).
    pub no_overwrite_dir_non_dir: bool,
    /// `copyUIDGID` (`docker cp -a`): entries take the container user's uid and gid.
    pub copy_uid_gid: bool,
}

fn bad(msg: String) -> EngineError {
    EngineError::InvalidArgument(msg)
}

pub(super) fn extract(
    engine: &Engine,
    root: &Root<'_>,
    rec: &ContainerRecord,
    name: &str,
    path: &str,
    tar: impl Read + Send,
    opts: &ExtractOptions,
) -> Result<()> {
    let (abs, _) = clean(path);
    let (fd, rel, writable) = root.locate(&abs).map_err(|e| path_err(e, path, name))?;
    let dest = open_in_root(
        fd.as_fd(),
        Path::new(&rel),
        libc::O_RDONLY | libc::O_DIRECTORY,
    )
    .map_err(|e| match e.raw_os_error() {
        Some(libc::ENOTDIR) if abs != "/" => bad("extraction point is not a directory".into()),
        _ => path_err(e, path, name),
    })?;
    if !writable {
        return Err(bad(if rel.len() == abs.len() {
            "container rootfs is marked read-only".into()
        } else {
            "mounted volume is marked read-only".into()
        }));
    }
    let owner = if opts.copy_uid_gid {
        Some(container_user(engine, root, rec)?)
    } else {
        None
    };
    let (rx, tx) = nix::unistd::pipe()
        .map_err(|e| EngineError::io("creating", Path::new("pipe"), e.into()))?;
    let dest_path = format!("/proc/self/fd/{}", dest.as_raw_fd());
    let unpack_opts = UnpackOptions {
        allow_devices: false,
        preserve_ownership: true,
    };
    let (filtered, unpacked) = std::thread::scope(|s| {
        let h = s.spawn(|| {
            berth_fs::unpack_layer(std::fs::File::from(rx), Path::new(&dest_path), &unpack_opts)
        });
        let filtered = filter(tar, std::fs::File::from(tx), dest.as_fd(), opts, owner);
        (filtered, h.join())
    });
    let unpack_err = match unpacked {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some(match e.kind() {
            berth_types::ErrorKind::InvalidArgument => bad(e.to_string()),
            _ => EngineError::Internal(format!("extracting into {path}: {e}")),
        }),
        Err(_) => Some(EngineError::Internal(
            "the extraction thread panicked".into(),
        )),
    };
    match (filtered, unpack_err) {
        // The filter only saw the extractor stop reading: its reason is the answer.
        (Err(EngineError::Internal(_)), Some(u)) | (Ok(()), Some(u)) => Err(u),
        (Err(f), _) => Err(f),
        (Ok(()), None) => Ok(()),
    }
}

/// The uid and gid of the container's user, looked up in its own `/etc/passwd`.
fn container_user(engine: &Engine, root: &Root<'_>, rec: &ContainerRecord) -> Result<(u32, u32)> {
    let mut user = rec.options.user.clone();
    if user.is_empty() {
        let image = engine.store.get(&rec.image_id.parse()?)?;
        user = image.config.config.and_then(|c| c.user).unwrap_or_default();
    }
    let rootfs = format!("/proc/self/fd/{}", root.fd().as_raw_fd());
    let u = crate::container::spec::resolve_user(Path::new(&rootfs), &user, &[])?;
    Ok((u.uid, u.gid))
}

fn io_bad(e: io::Error) -> EngineError {
    bad(format!("reading the archive: {e}"))
}

/// Copies the client's tar to `out` entry by entry, enforcing the module's rules.
fn filter(
    input: impl Read,
    out: std::fs::File,
    dest: BorrowedFd<'_>,
    opts: &ExtractOptions,
    owner: Option<(u32, u32)>,
) -> Result<()> {
    let mut archive = tar::Archive::new(input);
    let mut b = tar::Builder::new(BufWriter::new(out));
    let broken = |e: io::Error| EngineError::Internal(format!("extracting: {e}"));
    for entry in archive.entries().map_err(io_bad)? {
        let mut entry = entry.map_err(io_bad)?;
        let p = entry.path().map_err(io_bad)?.into_owned();
        let shown = p.display().to_string();
        if p.file_name()
            .is_some_and(|n| n.as_bytes().starts_with(b".wh."))
        {
            return Err(bad(format!(
                "{shown}: names starting with .wh. are overlay whiteouts and cannot be copied \
                 into a container"
            )));
        }
        let mut h = entry.header().clone();
        if let Some((u, g)) = owner {
            h.set_uid(u64::from(u));
            h.set_gid(u64::from(g));
        }
        let t = h.entry_type();
        if opts.no_overwrite_dir_non_dir {
            check_overwrite(dest, &p, t == EntryType::Directory)?;
        }
        match t {
            EntryType::Symlink | EntryType::Link => {
                let target = entry
                    .link_name()
                    .map_err(io_bad)?
                    .ok_or_else(|| bad(format!("{shown}: a link without a target")))?
                    .into_owned();
                b.append_link(&mut h, &p, target)
            }
            _ => b.append_data(&mut h, &p, &mut entry),
        }
        .map_err(|e| match e.kind() {
            io::ErrorKind::BrokenPipe => broken(e),
            _ => bad(format!("{shown}: {e}")),
        })?;
    }
    b.into_inner().and_then(|mut w| w.flush()).map_err(broken)
}

/// Docker's `noOverwriteDirNonDir`, against what `dest` holds now.
fn check_overwrite(dest: BorrowedFd<'_>, p: &Path, new_is_dir: bool) -> Result<()> {
    let (Some(parent), Some(base)) = (p.parent(), p.file_name()) else {
        return Ok(());
    };
    let Ok(dir) = open_in_root(dest, parent, libc::O_PATH | libc::O_DIRECTORY) else {
        return Ok(());
    };
    let Ok(st) = lstat_at(dir.as_fd(), base) else {
        return Ok(());
    };
    let is_dir = kind(&st) == SFlag::S_IFDIR;
    let shown = p.display();
    if is_dir && !new_is_dir {
        return Err(bad(format!(
            "cannot overwrite directory \"/{shown}\" with non-directory \"{shown}\""
        )));
    }
    if !is_dir && new_is_dir {
        return Err(bad(format!(
            "cannot overwrite non-directory \"/{shown}\" with directory \"{shown}\""
        )));
    }
    Ok(())
}
