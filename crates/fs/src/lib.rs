//! Extraction of OCI image layers into directories that become overlayfs layers, safe against
//! hostile archives.
//!
//! Why a crate of its own: a layer tarball comes from a registry, i.e. from anyone. A naive
//! extractor that joins entry names onto the destination path can be made to write anywhere on
//! the host (`../../etc/cron.d/x`, or a symlink `evil -> /` followed by `evil/etc/...`). This
//! crate is the one place where archive names touch the filesystem, so the rules live here once.
//!
//! Invariants:
//! - Every path is resolved *inside* `dest`: the parent directory of each entry is opened with
//!   `openat2(dest, parent, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`, so `..` and symlinks
//!   (absolute or relative, created by earlier entries) are clamped to `dest`. The final
//!   component is then created relative to that directory fd with `O_NOFOLLOW`-style calls.
//! - Entry names are normalised lexically first; a name that is absolute (leading `/`) or whose
//!   `..` components climb above the root is refused with [`FsError::HostileEntry`], as Docker
//!   refuses `../`. Absolute names are refused too rather than silently re-rooted.
//! - Symlinks are created verbatim (their targets may point anywhere: they are just data), but
//!   nothing is ever written *through* them out of `dest`. Hardlink targets are resolved in-root.
//! - Character and block devices are created only with [`UnpackOptions::allow_devices`]; fifos
//!   always are.
//! - OCI whiteouts are converted to the overlayfs format: `.wh.<name>` becomes a 0:0 character
//!   device `<name>`, `.wh..wh..opq` sets `trusted.overlay.opaque=y` on its directory.
//! - Malformed or truncated input is an error, never a panic. File content is streamed, and
//!   the decompressed stream is read to its end (so a bad trailing gzip checksum is caught).
//! - Sparse files stay sparse: aligned all-zero 4 KiB blocks of file content (GNU sparse holes,
//!   or zeros stored verbatim) are skipped, not written, and the length is set with
//!   `ftruncate`; the file reads back byte-identical.
//!
//! [`unpack_layer_observed`] shows a caller every byte of the *uncompressed* stream, once and
//! in order, during the same pass (for the layer's DiffID); [`observe_decompressed`] does only
//! that, without extracting.
//!
//! Extraction is synchronous and single-threaded; `dest` must not be modified concurrently.
//!
//! The reverse direction lives here too, so the layer format has one owner: [`pack_layer`]
//! turns a container's overlayfs upper dir into an OCI layer tar, deterministically (the same
//! tree always gives the same bytes, hence the same digest) and converting overlay whiteouts
//! back to OCI ones. See the `pack` module docs.

#![warn(missing_docs)]

mod atomic;
mod error;
mod ops;
mod pack;
mod sparse;
mod split;
mod sys;
mod unpack;

use std::io::{self, Read};
use std::path::Path;

pub use atomic::{atomic_temp_name, write_atomic};
pub use error::FsError;
pub use pack::{pack_layer, PackOptions};
pub use split::rebuild_layer;
pub use sys::open_in_root;

/// How to treat entries whose effect depends on privilege.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnpackOptions {
    /// Create character and block device nodes. When false they are refused with
    /// [`FsError::HostileEntry`] (whiteouts and fifos are unaffected).
    pub allow_devices: bool,
    /// Apply the uid/gid recorded in the archive (needs `CAP_CHOWN`, normally true as root).
    pub preserve_ownership: bool,
}

impl Default for UnpackOptions {
    /// Safe defaults for root: ownership preserved, device nodes refused.
    fn default() -> Self {
        UnpackOptions {
            allow_devices: false,
            preserve_ownership: true,
        }
    }
}

/// What an extraction did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnpackStats {
    /// Archive entries processed (every kind, whiteouts included).
    pub entries: u64,
    /// Bytes of regular-file content, holes included (the sum of the files' lengths).
    pub bytes: u64,
    /// Whiteouts converted (`.wh.<name>` and opaque markers).
    pub whiteouts: u64,
}

/// The compression of a layer stream, detected from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// `1f 8b`.
    Gzip,
    /// `28 b5 2f fd`.
    Zstd,
    /// Anything else: read as a plain tar.
    None,
}

impl Compression {
    /// Detects the compression from the first bytes of a stream (4 are enough).
    pub fn detect(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

fn detect(head: &[u8]) -> Compression {
    Compression::detect(head)
}

/// Extracts a layer archive into `dest`, an existing directory.
///
/// Detects gzip (`1f 8b`), zstd (`28 b5 2f fd`) or plain tar from the first bytes and streams.
/// See the crate docs for the safety rules. On error, `dest` may hold a partial extraction;
/// the caller discards it. The same as [`unpack_layer_observed`] with an observer that
/// ignores the bytes (the stream is still read to its end, so trailing garbage or a bad gzip
/// checksum is an error).
pub fn unpack_layer(
    reader: impl Read,
    dest: &Path,
    opts: &UnpackOptions,
) -> Result<UnpackStats, FsError> {
    unpack_layer_observed(reader, dest, opts, &mut |_| {})
}

/// Extracts like [`unpack_layer`] and shows `observer` the *uncompressed* stream in the same
/// pass, e.g. to compute the layer's DiffID (the sha256 of the uncompressed tar) while
/// unpacking.
///
/// The observer sees every decompressed byte exactly once, in order, in chunks of any size
/// (possibly empty): the tar headers and content, the end-of-archive zero blocks and anything
/// after them, because the stream is drained to its end once the tar entries end. On error,
/// it has seen a prefix of the stream and its result must be discarded with `dest`.
pub fn unpack_layer_observed(
    reader: impl Read,
    dest: &Path,
    opts: &UnpackOptions,
    observer: &mut dyn FnMut(&[u8]),
) -> Result<UnpackStats, FsError> {
    with_decompressed(reader, |dec| {
        let mut stream = Observed::new(dec, observer);
        let stats = unpack::unpack_tar(&mut stream, dest, opts)?;
        drain(&mut stream, &mut vec![0u8; 64 * 1024])?;
        Ok(stats)
    })
}

/// Extracts like [`unpack_layer_observed`] and also returns the tar-split skeleton of the
/// *uncompressed* tar: with `dest` and `stash` (an existing empty directory beside `dest`,
/// where files that later entries replace are kept), [`rebuild_layer`] gives back that exact
/// stream, whose digest is the layer's diff id. For a plain tar that is the layer blob itself;
/// for a compressed one, the blob's content before compression. See the `split` module.
pub fn unpack_layer_split(
    reader: impl Read,
    dest: &Path,
    stash: &Path,
    opts: &UnpackOptions,
    observer: &mut dyn FnMut(&[u8]),
) -> Result<(UnpackStats, Vec<u8>), FsError> {
    let stash_fd = nix::fcntl::open(
        stash,
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| FsError::OpenDest {
        path: stash.to_owned(),
        source: e.into(),
    })?;
    with_decompressed(reader, |dec| {
        let state = std::rc::Rc::new(std::cell::RefCell::new(split::SplitState::default()));
        let mut splitter = split::Splitter {
            inner: Observed::new(dec, observer),
            state: state.clone(),
        };
        let stats =
            unpack::unpack_tar_split(&mut splitter, dest, opts, Some((state.clone(), stash_fd)))?;
        drain(&mut splitter, &mut vec![0u8; 64 * 1024])?;
        let skeleton = state.borrow_mut().finish();
        Ok((stats, skeleton))
    })
}

/// Decompresses a layer blob (gzip, zstd or plain, detected as by [`unpack_layer`]) to its end
/// without extracting anything, feeding every uncompressed byte to `observer` in order.
/// Returns the uncompressed length.
///
/// For computing the DiffID of a compressed blob, e.g. one already in a content store. Nothing
/// is parsed as tar, so this accepts any stream that decompresses.
pub fn observe_decompressed(
    reader: impl Read,
    observer: &mut dyn FnMut(&[u8]),
) -> Result<u64, FsError> {
    with_decompressed(reader, |dec| {
        let mut stream = Observed::new(dec, observer);
        drain(&mut stream, &mut vec![0u8; sparse::COPY_BUF])?;
        Ok(stream.total)
    })
}

/// Detects the compression of `reader` from its first bytes and runs `f` on the decompressed
/// stream. Gzip is decoded member after member (a blob may be several concatenated members, as
/// Go's `compress/gzip` accepts), zstd frame after frame.
fn with_decompressed<T>(
    mut reader: impl Read,
    f: impl FnOnce(&mut dyn Read) -> Result<T, FsError>,
) -> Result<T, FsError> {
    let mut head = [0u8; 4];
    let mut filled = 0;
    while filled < head.len() {
        match reader.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => return Err(FsError::Archive { name: None, source }),
        }
    }
    let stream = io::Cursor::new(head).take(filled as u64).chain(reader);
    match detect(&head[..filled]) {
        Compression::Gzip => f(&mut flate2::read::MultiGzDecoder::new(stream)),
        Compression::Zstd => {
            let mut dec = zstd::stream::read::Decoder::new(stream)
                .map_err(|source| FsError::Archive { name: None, source })?;
            f(&mut dec)
        }
        // The decoders buffer their input; a plain stream gets a buffer so that tar's 512-byte
        // header reads are not one syscall each on an unbuffered file.
        Compression::None => f(&mut io::BufReader::with_capacity(64 * 1024, stream)),
    }
}

/// A reader that shows every byte it returns to an observer and counts them.
struct Observed<'a, 'o> {
    inner: &'a mut dyn Read,
    observer: &'o mut dyn FnMut(&[u8]),
    total: u64,
}

impl<'a, 'o> Observed<'a, 'o> {
    fn new(inner: &'a mut dyn Read, observer: &'o mut dyn FnMut(&[u8])) -> Self {
        Observed {
            inner,
            observer,
            total: 0,
        }
    }
}

impl Read for Observed<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        (self.observer)(&buf[..n]);
        self.total += n as u64;
        Ok(n)
    }
}

/// Reads `stream` to its end, discarding the bytes (an [`Observed`] still sees them).
fn drain(stream: &mut impl Read, buf: &mut [u8]) -> Result<(), FsError> {
    loop {
        match stream.read(buf) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => return Err(FsError::Archive { name: None, source }),
        }
    }
}

#[cfg(test)]
mod tests;
