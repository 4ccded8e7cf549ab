//! Packing a directory (a container's overlayfs upper dir, i.e. its diff) into an OCI layer
//! tar: the reverse of [`crate::unpack_layer`], used to commit a container as an image layer.
//!
//! Why deterministic: a layer is addressed by the digest of its bytes. If packing the same tree
//! twice gave different bytes, every commit would make a new layer, nothing would deduplicate
//! and builds could not be reproduced. So whatever varies between runs or hosts without changing
//! the tree stays out of the output: directory order (entries are sorted by name bytes), user
//! and group names (ids are numeric only), atime/ctime, inode numbers and link counts. With
//! [`PackOptions::source_date_epoch`], mtimes are clamped as `SOURCE_DATE_EPOCH` asks.
//!
//! Format: GNU headers throughout, GNU long-name (`L`) and long-link (`K`) records for names
//! and targets over 100 bytes, PAX `SCHILY.xattr.<name>` records for xattrs. Names and link
//! targets are copied into the header byte for byte: the `tar` crate's path setters normalise
//! (dropping a directory's trailing `/`, or `./` and `//` in a symlink target), which would
//! change what a symlink means.
//!
//! Overlay → OCI: a 0:0 character device `x` is overlayfs' whiteout and becomes an empty file
//! `.wh.x`; a directory with `trusted.overlay.opaque=y` is followed by an empty `.wh..wh..opq`
//! inside it; `trusted.overlay.*` xattrs are never emitted. Sockets cannot be represented in a
//! tar and are skipped, as Docker does. The root directory itself gets no entry.
//!
//! The tree must not change while it is packed (the container is stopped or frozen); a file
//! that shrinks meanwhile is an error rather than a corrupt archive.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::{self, File, Metadata};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use tar::{EntryType, Header};

use crate::{sys, FsError};

const OPAQUE: &[u8] = b".wh..wh..opq";
const WH_PREFIX: &[u8] = b".wh.";
const OVERLAY_XATTR: &[u8] = b"trusted.overlay.";
const PAX_XATTR: &str = "SCHILY.xattr.";

/// PAX records (`SCHILY.xattr.<name>`, value), sorted by key.
type PaxXattrs = Vec<(String, Vec<u8>)>;

/// How to pack a layer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackOptions {
    /// When set, every entry's mtime is clamped to at most this many seconds since the epoch
    /// (the `SOURCE_DATE_EPOCH` convention), so a rebuilt tree packs to the same bytes.
    pub source_date_epoch: Option<i64>,
}

/// Writes the layer tar (uncompressed) of `dir` to `out`; returns the entries written
/// (whiteouts and opaque markers included, PAX and long-name records not).
///
/// Symlinks are never followed; hardlinked files become one file entry and hardlink entries to
/// its first path. See the module docs for the format. On error, `out` holds a partial archive.
pub fn pack_layer(dir: &Path, out: impl Write, opts: &PackOptions) -> Result<u64, FsError> {
    let meta = fs::symlink_metadata(dir).map_err(|e| FsError::pack(dir, "lstat", e))?;
    if !meta.is_dir() {
        let e = io::Error::from_raw_os_error(libc::ENOTDIR);
        return Err(FsError::pack(dir, "opening the directory to pack", e));
    }
    let mut packer = Packer {
        builder: tar::Builder::new(out),
        opts,
        links: HashMap::new(),
        entries: 0,
    };
    packer.walk(dir, &[])?;
    packer
        .builder
        .into_inner()
        .map_err(|e| FsError::pack(dir, "finishing the tar", e))?;
    Ok(packer.entries)
}

struct Packer<'a, W: Write> {
    builder: tar::Builder<W>,
    opts: &'a PackOptions,
    /// (dev, inode) → archive name of the first path written, for hardlinks.
    links: HashMap<(u64, u64), Vec<u8>>,
    entries: u64,
}

impl<W: Write> Packer<'_, W> {
    /// Packs the children of `dir`, whose archive name is `prefix` (empty, or ending in `/`).
    fn walk(&mut self, dir: &Path, prefix: &[u8]) -> Result<(), FsError> {
        let mut names: Vec<OsString> = fs::read_dir(dir)
            .and_then(|it| it.map(|e| e.map(|e| e.file_name())).collect())
            .map_err(|e| FsError::pack(dir, "reading directory", e))?;
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        for name in names {
            self.entry(&dir.join(&name), prefix, name.as_bytes())?;
        }
        Ok(())
    }

    fn entry(&mut self, path: &Path, prefix: &[u8], name: &[u8]) -> Result<(), FsError> {
        let st = fs::symlink_metadata(path).map_err(|e| FsError::pack(path, "lstat", e))?;
        let ft = st.file_type();
        let full = [prefix, name].concat();
        let mut h = self.header(&st);

        if ft.is_char_device() && st.rdev() == 0 {
            h.set_mode(st.mode() & 0o777);
            h.set_entry_type(EntryType::Regular);
            let wh = [prefix, WH_PREFIX, name].concat();
            return self.append(path, &mut h, &wh, None, &[], io::empty());
        }
        if ft.is_socket() {
            return Ok(());
        }
        if !ft.is_dir() && st.nlink() > 1 {
            if let Some(first) = self.links.get(&(st.dev(), st.ino())).cloned() {
                h.set_entry_type(EntryType::Link);
                return self.append(path, &mut h, &full, Some(&first), &[], io::empty());
            }
            self.links.insert((st.dev(), st.ino()), full.clone());
        }

        let (xattrs, opaque) = xattrs(path)?;
        if ft.is_dir() {
            h.set_entry_type(EntryType::Directory);
            let dir_name = [&full[..], b"/"].concat();
            self.append(path, &mut h, &dir_name, None, &xattrs, io::empty())?;
            if opaque {
                let mut oh = self.header(&st);
                oh.set_mode(st.mode() & 0o777);
                oh.set_entry_type(EntryType::Regular);
                let marker = [&dir_name[..], OPAQUE].concat();
                self.append(path, &mut oh, &marker, None, &[], io::empty())?;
            }
            return self.walk(path, &dir_name);
        }
        if ft.is_symlink() {
            let target = fs::read_link(path).map_err(|e| FsError::pack(path, "readlink", e))?;
            h.set_entry_type(EntryType::Symlink);
            let target = target.as_os_str().as_bytes();
            return self.append(path, &mut h, &full, Some(target), &xattrs, io::empty());
        }
        if ft.is_file() {
            let file = fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(path)
                .map_err(|e| FsError::pack(path, "open", e))?;
            h.set_entry_type(EntryType::Regular);
            h.set_size(st.len());
            let content = Exact {
                file,
                left: st.len(),
            };
            return self.append(path, &mut h, &full, None, &xattrs, content);
        }
        let kind = if ft.is_fifo() {
            EntryType::Fifo
        } else if ft.is_char_device() {
            EntryType::Char
        } else {
            EntryType::Block
        };
        h.set_entry_type(kind);
        if kind != EntryType::Fifo {
            let dev_err = |e| FsError::pack(path, "setting device numbers", e);
            let major = u32::try_from(nix::sys::stat::major(st.rdev())).unwrap_or(u32::MAX);
            let minor = u32::try_from(nix::sys::stat::minor(st.rdev())).unwrap_or(u32::MAX);
            h.set_device_major(major).map_err(dev_err)?;
            h.set_device_minor(minor).map_err(dev_err)?;
        }
        self.append(path, &mut h, &full, None, &xattrs, io::empty())
    }

    /// A GNU header with the metadata every entry kind shares; size 0, no atime/ctime.
    fn header(&self, st: &Metadata) -> Header {
        let mut h = Header::new_gnu();
        h.set_mode(st.mode() & 0o7777);
        h.set_uid(u64::from(st.uid()));
        h.set_gid(u64::from(st.gid()));
        let mtime = match self.opts.source_date_epoch {
            Some(t) => st.mtime().min(t),
            None => st.mtime(),
        };
        h.set_mtime(u64::try_from(mtime).unwrap_or(0));
        h.set_size(0);
        h
    }

    /// Writes the PAX xattr record, long-name records, the header with `name` and `link`
    /// copied in verbatim, and `data`.
    fn append(
        &mut self,
        path: &Path,
        h: &mut Header,
        name: &[u8],
        link: Option<&[u8]>,
        xattrs: &[(String, Vec<u8>)],
        data: impl Read,
    ) -> Result<(), FsError> {
        let err = |e| FsError::pack(path, "writing tar entry", e);
        if !xattrs.is_empty() {
            let records = xattrs.iter().map(|(k, v)| (k.as_str(), v.as_slice()));
            self.builder.append_pax_extensions(records).map_err(err)?;
        }
        long_field(&mut self.builder, b'L', name, &mut h.as_old_mut().name).map_err(err)?;
        if let Some(link) = link {
            let field = &mut h.as_old_mut().linkname;
            long_field(&mut self.builder, b'K', link, field).map_err(err)?;
        }
        h.set_cksum();
        self.builder.append(h, data).map_err(err)?;
        self.entries += 1;
        Ok(())
    }
}

/// Copies `value` into a 100-byte header field; if it does not fit, first writes the GNU
/// `././@LongLink` record of type `kind` (`L` for names, `K` for link targets) holding it,
/// and keeps a truncated copy in the field for readers that ignore the record.
fn long_field<W: Write>(
    builder: &mut tar::Builder<W>,
    kind: u8,
    value: &[u8],
    field: &mut [u8; 100],
) -> io::Result<()> {
    field.fill(0);
    if value.len() <= field.len() {
        field[..value.len()].copy_from_slice(value);
        return Ok(());
    }
    let mut h = Header::new_gnu();
    let tag = b"././@LongLink";
    h.as_old_mut().name[..tag.len()].copy_from_slice(tag);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_size(value.len() as u64 + 1);
    h.set_entry_type(EntryType::new(kind));
    h.set_cksum();
    builder.append(&h, value.chain(&[0u8][..]))?;
    field.copy_from_slice(&value[..100]);
    Ok(())
}

/// The xattrs of `path` to record, as sorted PAX keys, and whether it is overlay-opaque.
fn xattrs(path: &Path) -> Result<(PaxXattrs, bool), FsError> {
    let all = sys::llist_xattrs(path).map_err(|e| FsError::pack(path, "reading xattrs", e))?;
    let mut opaque = false;
    let mut out = Vec::new();
    for (name, value) in all {
        if name.starts_with(OVERLAY_XATTR) {
            opaque |= name == b"trusted.overlay.opaque" && value == b"y";
            continue;
        }
        let name = String::from_utf8(name).map_err(|_| {
            let e = io::Error::new(io::ErrorKind::InvalidData, "xattr name is not UTF-8");
            FsError::pack(path, "reading xattrs", e)
        })?;
        out.push((format!("{PAX_XATTR}{name}"), value));
    }
    out.sort();
    Ok((out, opaque))
}

/// File content of exactly the size in the header: growth is cut off, shrinking is an error
/// (either would otherwise desynchronise the archive).
struct Exact {
    file: File,
    left: u64,
}

impl Read for Exact {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let max = usize::try_from(self.left)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = self.file.read(&mut buf[..max])?;
        if n == 0 && max > 0 {
            let msg = "file shrank while being packed";
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, msg));
        }
        self.left -= n as u64;
        Ok(n)
    }
}
