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
//! - Malformed or truncated input is an error, never a panic. File content is streamed.
//!
//! Extraction is synchronous and single-threaded; `dest` must not be modified concurrently.
//!
//! The reverse direction lives here too, so the layer format has one owner: [`pack_layer`]
//! turns a container's overlayfs upper dir into an OCI layer tar, deterministically (the same
//! tree always gives the same bytes, hence the same digest) and converting overlay whiteouts
//! back to OCI ones. See the `pack` module docs.

#![warn(missing_docs)]

mod error;
mod ops;
mod pack;
mod sys;
mod unpack;

use std::io::{self, Read};
use std::path::Path;

pub use error::FsError;
pub use pack::{pack_layer, PackOptions};
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
    /// Bytes of regular-file content written.
    pub bytes: u64,
    /// Whiteouts converted (`.wh.<name>` and opaque markers).
    pub whiteouts: u64,
}

/// The compression of a layer stream, detected from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    Gzip,
    Zstd,
    None,
}

fn detect(head: &[u8]) -> Compression {
    if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

/// Extracts a layer archive into `dest`, an existing directory.
///
/// Detects gzip (`1f 8b`), zstd (`28 b5 2f fd`) or plain tar from the first bytes and streams.
/// See the crate docs for the safety rules. On error, `dest` may hold a partial extraction;
/// the caller discards it.
pub fn unpack_layer(
    mut reader: impl Read,
    dest: &Path,
    opts: &UnpackOptions,
) -> Result<UnpackStats, FsError> {
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
        Compression::Gzip => unpack::unpack_tar(flate2::read::GzDecoder::new(stream), dest, opts),
        Compression::Zstd => {
            let dec = zstd::stream::read::Decoder::new(stream)
                .map_err(|source| FsError::Archive { name: None, source })?;
            unpack::unpack_tar(dec, dest, opts)
        }
        Compression::None => unpack::unpack_tar(stream, dest, opts),
    }
}

#[cfg(test)]
mod tests;
