//! The extraction loop: one archive entry at a time, each created relative to a parent
//! directory fd that was resolved inside the layer root.

use std::cell::RefCell;
use std::ffi::{CString, OsStr, OsString};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::rc::Rc;

use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{Mode, SFlag};
use tar::EntryType;

use crate::ops::{self, Meta, MetaKind};
use crate::sparse::{self, CopyError};
use crate::split::SplitState;
use crate::{sys, FsError, UnpackOptions, UnpackStats};

const OPAQUE: &str = ".wh..wh..opq";
const WH_PREFIX: &str = ".wh.";

/// A directory whose mode and mtime are applied after all entries, so that writing its
/// contents neither fails on a read-only mode nor bumps its mtime.
#[derive(Debug)]
struct LateDir {
    comps: Vec<OsString>,
    name: String,
    mode: u32,
    mtime: i64,
}

#[derive(Debug)]
struct Extractor<'a> {
    root: OwnedFd,
    opts: &'a UnpackOptions,
    stats: UnpackStats,
    dirs: Vec<LateDir>,
    /// The file-content copy buffer, reused for every entry.
    buf: Vec<u8>,
    /// When keeping a tar-split skeleton: its state and the stash directory.
    split: Option<(Rc<RefCell<SplitState>>, OwnedFd)>,
}

pub(crate) fn unpack_tar(
    reader: impl Read,
    dest: &Path,
    opts: &UnpackOptions,
) -> Result<UnpackStats, FsError> {
    unpack_tar_split(reader, dest, opts, None)
}

/// [`unpack_tar`], reporting regular files' data ranges to a tar-split state (whose
/// [`crate::split::Splitter`] must be the reader) and stashing replaced files in `stash`.
pub(crate) fn unpack_tar_split(
    reader: impl Read,
    dest: &Path,
    opts: &UnpackOptions,
    split: Option<(Rc<RefCell<SplitState>>, OwnedFd)>,
) -> Result<UnpackStats, FsError> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let root = nix::fcntl::open(dest, flags, Mode::empty()).map_err(|e| FsError::OpenDest {
        path: dest.to_owned(),
        source: e.into(),
    })?;
    let mut ex = Extractor {
        root,
        opts,
        stats: UnpackStats::default(),
        dirs: Vec::new(),
        buf: vec![0u8; sparse::COPY_BUF],
        split,
    };
    let mut archive = tar::Archive::new(reader);
    let entries = archive
        .entries()
        .map_err(|source| FsError::Archive { name: None, source })?;
    for entry in entries {
        let entry = entry.map_err(|source| FsError::Archive { name: None, source })?;
        ex.entry(entry)?;
    }
    ex.finish()?;
    Ok(ex.stats)
}

/// `dir/last` as a path below the layer root with every symlink resolved, so that the
/// tar-split skeleton names each file by the one path that reaches it.
fn canonical(
    root: BorrowedFd<'_>,
    dir: BorrowedFd<'_>,
    last: &OsStr,
    name: &str,
) -> Result<String, FsError> {
    let below =
        sys::path_below(root, dir).map_err(|e| FsError::io(name, "resolving its directory", e))?;
    let last = last.to_string_lossy();
    Ok(if below.is_empty() {
        last.into_owned()
    } else {
        format!("{below}/{last}")
    })
}

fn archive_err(name: &str) -> impl FnOnce(io::Error) -> FsError + '_ {
    move |source| FsError::Archive {
        name: Some(name.to_owned()),
        source,
    }
}

fn split_last(comps: &[OsString]) -> Option<(&[OsString], &OsStr)> {
    comps
        .split_last()
        .map(|(last, parent)| (parent, last.as_os_str()))
}

impl Extractor<'_> {
    fn entry<R: Read>(&mut self, mut entry: tar::Entry<'_, R>) -> Result<(), FsError> {
        let kind = entry.header().entry_type();
        if matches!(kind, EntryType::XGlobalHeader | EntryType::XHeader) {
            return Ok(());
        }
        self.stats.entries += 1;
        let raw = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&raw).into_owned();
        let comps = ops::normalize(&raw).map_err(|r| FsError::hostile(&name, r))?;
        if let Some((_, last)) = split_last(&comps) {
            if last.as_bytes().starts_with(WH_PREFIX.as_bytes()) {
                return self.whiteout(&name, &comps);
            }
        }
        let meta = read_meta(&mut entry, &name)?;
        let Some((parent_comps, last)) = split_last(&comps) else {
            if kind == EntryType::Directory {
                self.dirs.push(LateDir {
                    comps,
                    name,
                    mode: meta.mode,
                    mtime: meta.mtime,
                });
                return Ok(());
            }
            return Err(FsError::hostile(
                &name,
                "a non-directory entry names the layer root",
            ));
        };
        if matches!(kind, EntryType::Char | EntryType::Block) && !self.opts.allow_devices {
            return Err(FsError::hostile(&name, "device node not allowed"));
        }
        let parent = ops::open_parent(self.root.as_fd(), parent_comps, &name)?;
        let dir = parent.as_fd();
        if let Some((state, stash)) = &self.split {
            let canon = canonical(self.root.as_fd(), dir, last, &name)?;
            let mut st = state.borrow_mut();
            st.before_replace(
                &canon,
                kind != EntryType::Directory,
                self.root.as_fd(),
                stash.as_fd(),
            )?;
            if matches!(kind, EntryType::Regular | EntryType::Continuous) && entry.size() > 0 {
                st.file(canon, entry.raw_file_position(), entry.size());
            }
        }
        let meta_kind = match kind {
            EntryType::Directory => {
                if !ops::clear(dir, last, true, &name)? {
                    nix::sys::stat::mkdirat(dir, last, Mode::from_bits_truncate(0o700))
                        .map_err(|e| FsError::io(&name, "mkdirat", e))?;
                }
                let late = LateDir {
                    comps: comps.clone(),
                    name: name.clone(),
                    mode: meta.mode,
                    mtime: meta.mtime,
                };
                self.dirs.push(late);
                MetaKind::Dir
            }
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                ops::clear(dir, last, false, &name)?;
                self.write_file(&mut entry, dir, last, &name)?;
                MetaKind::Other
            }
            EntryType::Symlink => {
                let target = link_name(&entry, &name)?;
                ops::clear(dir, last, false, &name)?;
                nix::unistd::symlinkat(OsStr::from_bytes(&target), dir, last)
                    .map_err(|e| FsError::io(&name, "symlinkat", e))?;
                MetaKind::Symlink
            }
            EntryType::Link => {
                let target = link_name(&entry, &name)?;
                let tcomps = ops::normalize(&target)
                    .map_err(|r| FsError::hostile(&name, format!("hardlink target: {r}")))?;
                let Some((tparent_comps, tlast)) = split_last(&tcomps) else {
                    return Err(FsError::hostile(&name, "hardlink target is the layer root"));
                };
                let tparent = ops::open_existing(self.root.as_fd(), tparent_comps, &name)?;
                ops::clear(dir, last, false, &name)?;
                nix::unistd::linkat(tparent.as_fd(), tlast, dir, last, AtFlags::empty())
                    .map_err(|e| FsError::io(&name, "linkat", e))?;
                return Ok(());
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                let (sflag, major, minor) = match kind {
                    EntryType::Char => (
                        SFlag::S_IFCHR,
                        dev_num(&entry, &name, true)?,
                        dev_num(&entry, &name, false)?,
                    ),
                    EntryType::Block => (
                        SFlag::S_IFBLK,
                        dev_num(&entry, &name, true)?,
                        dev_num(&entry, &name, false)?,
                    ),
                    _ => (SFlag::S_IFIFO, 0, 0),
                };
                ops::clear(dir, last, false, &name)?;
                ops::mknod(dir, last, sflag, major, minor, &name)?;
                MetaKind::Other
            }
            other => {
                return Err(FsError::Unsupported {
                    name,
                    kind: format!("{other:?}"),
                });
            }
        };
        ops::apply_meta(
            dir,
            last,
            &meta,
            self.opts.preserve_ownership,
            meta_kind,
            &name,
        )
    }

    /// Streams regular-file content; aligned zero blocks become holes (see [`sparse`]).
    fn write_file<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        dir: std::os::fd::BorrowedFd<'_>,
        last: &OsStr,
        name: &str,
    ) -> Result<(), FsError> {
        let flags =
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fd = nix::fcntl::openat(dir, last, flags, Mode::from_bits_truncate(0o600))
            .map_err(|e| FsError::io(name, "openat(O_CREAT|O_EXCL|O_NOFOLLOW)", e))?;
        let file = File::from(fd);
        let expected = entry.size();
        let written = sparse::copy_sparse(entry, &file, &mut self.buf).map_err(|e| match e {
            CopyError::Read(e) => archive_err(name)(e),
            CopyError::Write(op, e) => FsError::io(name, op, e),
        })?;
        if written < expected {
            let msg = format!("file content truncated: {written} of {expected} bytes");
            return Err(archive_err(name)(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                msg,
            )));
        }
        self.stats.bytes += written;
        Ok(())
    }

    fn whiteout(&mut self, name: &str, comps: &[OsString]) -> Result<(), FsError> {
        let Some((parent_comps, last)) = split_last(comps) else {
            return Ok(());
        };
        let parent = ops::open_parent(self.root.as_fd(), parent_comps, name)?;
        if last == OPAQUE {
            let attr = c"trusted.overlay.opaque";
            sys::fset_xattr(parent.as_fd(), attr, b"y")
                .map_err(|e| FsError::io(name, "fsetxattr trusted.overlay.opaque", e))?;
            self.stats.whiteouts += 1;
            return Ok(());
        }
        let target = &last.as_bytes()[WH_PREFIX.len()..];
        if target.starts_with(WH_PREFIX.as_bytes()) {
            // Other `.wh..wh.` names are aufs metadata (e.g. `.wh..wh.plnk`); Docker skips them.
            return Ok(());
        }
        if target.is_empty() || target == b"." || target == b".." {
            return Err(FsError::hostile(name, "whiteout names no entry"));
        }
        let target = OsStr::from_bytes(target);
        if let Some((state, stash)) = &self.split {
            let canon = canonical(self.root.as_fd(), parent.as_fd(), target, name)?;
            state
                .borrow_mut()
                .before_replace(&canon, true, self.root.as_fd(), stash.as_fd())?;
        }
        ops::remove_all(parent.as_fd(), target)
            .map_err(|e| FsError::io(name, "removing whited-out entry", e))?;
        ops::mknod(parent.as_fd(), target, SFlag::S_IFCHR, 0, 0, name)?;
        self.stats.whiteouts += 1;
        Ok(())
    }

    /// Applies directory modes and mtimes, deepest last-written first.
    fn finish(&mut self) -> Result<(), FsError> {
        for d in self.dirs.iter().rev() {
            let (parent, last) = match split_last(&d.comps) {
                Some((p, l)) => match ops::open_existing(self.root.as_fd(), p, &d.name) {
                    Ok(fd) => (fd, l),
                    // Removed by a later whiteout or replacement.
                    Err(FsError::Io { source, .. })
                        if source.raw_os_error() == Some(libc::ENOENT) =>
                    {
                        continue
                    }
                    Err(e) => return Err(e),
                },
                None => (
                    ops::open_existing(self.root.as_fd(), &[], &d.name)?,
                    OsStr::new("."),
                ),
            };
            let is_dir = ops::is_dir_at(parent.as_fd(), last)
                .map_err(|e| FsError::io(&d.name, "fstatat", e))?;
            if is_dir == Some(true) {
                ops::apply_late(parent.as_fd(), last, d.mode, d.mtime, &d.name)?;
            }
        }
        Ok(())
    }
}

fn link_name<R: Read>(entry: &tar::Entry<'_, R>, name: &str) -> Result<Vec<u8>, FsError> {
    match entry.link_name_bytes() {
        Some(t) if !t.is_empty() && !t.contains(&0) => Ok(t.into_owned()),
        _ => Err(FsError::hostile(
            name,
            "link entry without a valid link target",
        )),
    }
}

fn dev_num<R: Read>(entry: &tar::Entry<'_, R>, name: &str, major: bool) -> Result<u32, FsError> {
    let h = entry.header();
    let v = if major {
        h.device_major()
    } else {
        h.device_minor()
    };
    Ok(v.map_err(archive_err(name))?.unwrap_or(0))
}

fn read_meta<R: Read>(entry: &mut tar::Entry<'_, R>, name: &str) -> Result<Meta, FsError> {
    let h = entry.header();
    let mode = h.mode().map_err(archive_err(name))?;
    let mut uid = h.uid().map_err(archive_err(name))?;
    let mut gid = h.gid().map_err(archive_err(name))?;
    let mut mtime = h.mtime().map_err(archive_err(name))?;
    let mut xattrs = Vec::new();
    if let Some(pax) = entry.pax_extensions().map_err(archive_err(name))? {
        for ext in pax {
            let ext = ext.map_err(archive_err(name))?;
            let Ok(key) = ext.key() else { continue };
            let num = || {
                std::str::from_utf8(ext.value_bytes())
                    .ok()
                    .and_then(|v| v.split('.').next()?.parse::<u64>().ok())
            };
            if let Some(attr) = key.strip_prefix("SCHILY.xattr.") {
                let attr = CString::new(attr)
                    .map_err(|_| FsError::hostile(name, "xattr name contains NUL"))?;
                xattrs.push((attr, ext.value_bytes().to_vec()));
            } else if key == "uid" {
                uid = num().unwrap_or(uid);
            } else if key == "gid" {
                gid = num().unwrap_or(gid);
            } else if key == "mtime" {
                mtime = num().unwrap_or(mtime);
            }
        }
    }
    let id = |v: u64| {
        u32::try_from(v).map_err(|_| FsError::hostile(name, format!("uid/gid {v} out of range")))
    };
    Ok(Meta {
        mode,
        uid: id(uid)?,
        gid: id(gid)?,
        mtime: i64::try_from(mtime).unwrap_or(i64::MAX),
        xattrs,
    })
}
