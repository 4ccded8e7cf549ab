//! Tars and walks of trees inside a container's root, by directory fd, never by path.
//!
//! Why not `berth_fs::pack_layer`: that packs a trusted overlay upper dir by host path (and
//! turns whiteouts into OCI ones); `docker cp` and `docker export` read a tree that a running
//! container can change under us, swapping a directory for a symlink to `/` at any moment. So
//! every step here is `openat(dirfd, name, O_NOFOLLOW)` or `fstatat(…, AT_SYMLINK_NOFOLLOW)`
//! relative to a directory fd that was itself resolved inside the root: no path is resolved
//! twice and nothing outside the root can be reached. Entries are named `<prefix>/<rest>` as
//! Docker's `TarResourceRebase` names them; ids are numeric; hardlinks stay hardlinks; device
//! nodes and fifos become headers (never opened); sockets are skipped (tar cannot hold them);
//! xattrs are not copied.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use nix::dir::Dir;
use nix::fcntl::{openat, readlinkat, AtFlags, OFlag};
use nix::sys::stat::{fstat, fstatat, FileStat, Mode, SFlag};
use tar::{Builder, EntryType, Header};

/// The file type bits of a stat.
pub(crate) fn kind(st: &FileStat) -> SFlag {
    SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits())
}

/// `name` in `dir`, not following a final symlink.
pub(crate) fn lstat_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<FileStat> {
    Ok(fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW)?)
}

/// Opens directory `name` in `dir` without following a symlink.
pub(crate) fn open_dir_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<OwnedFd> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    Ok(openat(dir, name, flags, Mode::empty())?)
}

/// The names in an open directory (`.` and `..` left out), sorted by bytes.
pub(crate) fn list_dir(dir: BorrowedFd<'_>) -> io::Result<Vec<OsString>> {
    let own = dir.try_clone_to_owned()?;
    // A dup shares the offset: start from the top whatever read the fd before.
    nix::unistd::lseek(&own, 0, nix::unistd::Whence::SeekSet)?;
    let mut d = Dir::from_fd(own)?;
    let mut names: Vec<OsString> = d
        .iter()
        .filter_map(|e| e.ok())
        .map(|e| OsStr::from_bytes(e.file_name().to_bytes()).to_owned())
        .filter(|n| n != "." && n != "..")
        .collect();
    names.sort();
    Ok(names)
}

/// A tar being written from directory fds.
pub(crate) struct TarWalker<W: Write> {
    builder: Builder<W>,
    /// (dev, ino) of files with several links → the archive name of the first one seen.
    links: HashMap<(u64, u64), String>,
}

fn join(prefix: &str, name: &OsStr) -> String {
    let name = name.to_string_lossy();
    if prefix.is_empty() {
        name.into_owned()
    } else {
        format!("{}/{name}", prefix.trim_end_matches('/'))
    }
}

impl<W: Write> TarWalker<W> {
    /// A walker writing to `out`.
    pub(crate) fn new(out: W) -> Self {
        let mut builder = Builder::new(out);
        builder.follow_symlinks(false);
        TarWalker {
            builder,
            links: HashMap::new(),
        }
    }

    fn header(st: &FileStat, kind: EntryType) -> Header {
        let mut h = Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(st.st_mode & 0o7777);
        h.set_uid(u64::from(st.st_uid));
        h.set_gid(u64::from(st.st_gid));
        h.set_mtime(u64::try_from(st.st_mtime).unwrap_or(0));
        h.set_size(0);
        h
    }

    /// Appends an entry named `name` byte for byte (the `tar` crate's path setters normalise,
    /// turning Docker's `./x` into `x` and rewriting symlink targets), with GNU long-name and
    /// long-link records when a name or target exceeds the header's 100 bytes.
    fn append(
        &mut self,
        h: &mut Header,
        name: &str,
        link: Option<&[u8]>,
        data: impl Read,
    ) -> io::Result<()> {
        let long = |b: &mut Builder<W>, kind: EntryType, value: &[u8]| {
            let mut l = Header::new_gnu();
            l.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
            l.set_entry_type(kind);
            l.set_mode(0o644);
            l.set_size(value.len() as u64 + 1);
            l.set_cksum();
            b.append(&l, [value, b"\0"].concat().as_slice())
        };
        let old = h.as_old_mut();
        if name.len() > old.name.len() {
            long(&mut self.builder, EntryType::GNULongName, name.as_bytes())?;
        }
        let n = name.len().min(old.name.len());
        old.name = [0; 100];
        old.name[..n].copy_from_slice(&name.as_bytes()[..n]);
        if let Some(target) = link {
            if target.len() > old.linkname.len() {
                long(&mut self.builder, EntryType::GNULongLink, target)?;
            }
            let n = target.len().min(old.linkname.len());
            old.linkname = [0; 100];
            old.linkname[..n].copy_from_slice(&target[..n]);
        }
        h.set_cksum();
        self.builder.append(h, data)
    }

    /// Adds `name` of directory `dir` (whose lstat is `st`) as `arch` and, for a directory,
    /// everything below it.
    pub(crate) fn add(
        &mut self,
        dir: BorrowedFd<'_>,
        name: &OsStr,
        st: &FileStat,
        arch: &str,
    ) -> io::Result<()> {
        let t = kind(st);
        if t == SFlag::S_IFDIR {
            let fd = open_dir_at(dir, name)?;
            return self.add_dir(fd.as_fd(), st, arch);
        }
        if t != SFlag::S_IFSOCK && st.st_nlink > 1 {
            let key = (st.st_dev, st.st_ino);
            if let Some(first) = self.links.get(&key).cloned() {
                let mut h = Self::header(st, EntryType::Link);
                return self.append(&mut h, arch, Some(first.as_bytes()), io::empty());
            }
            self.links.insert(key, arch.to_string());
        }
        match t {
            SFlag::S_IFREG => {
                let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK;
                let fd = openat(dir, name, flags | OFlag::O_CLOEXEC, Mode::empty())?;
                let now = fstat(&fd)?;
                if kind(&now) != SFlag::S_IFREG {
                    return Err(io::Error::other(format!("{arch} changed while being read")));
                }
                let mut h = Self::header(&now, EntryType::Regular);
                let size = u64::try_from(now.st_size).unwrap_or(0);
                h.set_size(size);
                let mut data = File::from(fd).take(size);
                let mut counted = Exact {
                    inner: &mut data,
                    left: size,
                };
                self.append(&mut h, arch, None, &mut counted)
            }
            SFlag::S_IFLNK => {
                let target = readlinkat(dir, name)?;
                let mut h = Self::header(st, EntryType::Symlink);
                self.append(&mut h, arch, Some(target.as_bytes()), io::empty())
            }
            SFlag::S_IFCHR | SFlag::S_IFBLK | SFlag::S_IFIFO => {
                let et = match t {
                    SFlag::S_IFCHR => EntryType::Char,
                    SFlag::S_IFBLK => EntryType::Block,
                    _ => EntryType::Fifo,
                };
                let mut h = Self::header(st, et);
                if t != SFlag::S_IFIFO {
                    h.set_device_major(libc::major(st.st_rdev))?;
                    h.set_device_minor(libc::minor(st.st_rdev))?;
                }
                self.append(&mut h, arch, None, io::empty())
            }
            _ => Ok(()),
        }
    }

    /// Adds the open directory `dir` (whose stat is `st`) as `arch` and everything below it
    /// (`./`, `./x` for `dir/.`, as Docker names them). It gets no entry of its own when
    /// `arch` is empty (`docker export` has none for `/`).
    pub(crate) fn add_dir(
        &mut self,
        dir: BorrowedFd<'_>,
        st: &FileStat,
        arch: &str,
    ) -> io::Result<()> {
        if !arch.is_empty() {
            let mut h = Self::header(st, EntryType::Directory);
            self.append(&mut h, &format!("{arch}/"), None, io::empty())?;
        }
        for name in list_dir(dir)? {
            let st = match lstat_at(dir, &name) {
                Ok(s) => s,
                // Removed since the listing.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            self.add(dir, &name, &st, &join(arch, &name))?;
        }
        Ok(())
    }

    /// Ends the archive.
    pub(crate) fn finish(self) -> io::Result<W> {
        self.builder.into_inner()
    }
}

/// A reader that must yield exactly `left` bytes: a file that shrank while being read is an
/// error, not a short tar entry.
struct Exact<'a, R: Read> {
    inner: &'a mut R,
    left: u64,
}

impl<R: Read> Read for Exact<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "a file shrank while being archived",
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}
