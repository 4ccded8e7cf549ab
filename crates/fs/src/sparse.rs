//! Writing regular-file content so that zeros cost no disk: aligned all-zero blocks are skipped
//! (left as holes) instead of written, and the final length is set with `ftruncate`.
//!
//! Why here and not in the tar crate: a GNU sparse entry (`S`) is expanded by `tar` into a plain
//! byte stream with the holes filled by zeros, and a layer built without `--sparse` carries its
//! zeros verbatim. Detecting zero blocks on the way out handles both, so a 10 GiB sparse database
//! file in an image does not become 10 GiB on the host.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;

/// The hole granularity: a page, and the block size of the common Linux filesystems. Only
/// zero blocks aligned to file offsets that are multiples of this are skipped.
pub(crate) const HOLE_BLOCK: usize = 4096;

/// The copy buffer for file content and stream draining. Large, so decompression and the
/// syscalls run on big chunks; allocated once per extraction, not per file.
pub(crate) const COPY_BUF: usize = 256 * 1024;

/// Why a copy stopped.
#[derive(Debug)]
pub(crate) enum CopyError {
    /// Reading the source (the archive) failed.
    Read(io::Error),
    /// Writing the file failed; the operation is named.
    Write(&'static str, io::Error),
}

/// Copies `src` to the start of `file` (new and empty), leaving aligned zero blocks as holes,
/// then sets the file's length to the number of bytes copied. Returns that number.
///
/// `buf` must be non-empty and a multiple of [`HOLE_BLOCK`] long: it is filled completely
/// before each write (short reads are retried), so every chunk starts at an aligned offset.
pub(crate) fn copy_sparse(
    src: &mut impl Read,
    file: &File,
    buf: &mut [u8],
) -> Result<u64, CopyError> {
    debug_assert!(!buf.is_empty() && buf.len().is_multiple_of(HOLE_BLOCK));
    let mut pos: u64 = 0;
    loop {
        let n = fill(src, buf).map_err(CopyError::Read)?;
        if n == 0 {
            break;
        }
        write_chunk(file, &buf[..n], pos).map_err(|e| CopyError::Write("pwrite", e))?;
        pos += n as u64;
        if n < buf.len() {
            break;
        }
    }
    // A file ending in a hole has had nothing written at its end: the length comes from here.
    file.set_len(pos)
        .map_err(|e| CopyError::Write("ftruncate", e))?;
    Ok(pos)
}

/// Reads until `buf` is full or `src` is at EOF; returns the bytes read.
fn fill(src: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match src.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Writes the non-zero blocks of `data`, which belongs at file offset `off` (a multiple of
/// [`HOLE_BLOCK`]). Consecutive data blocks go out in one `pwrite`; zero blocks are skipped.
/// A short trailing block counts as a block: if it is all zeros, the final `ftruncate` covers it.
fn write_chunk(file: &File, data: &[u8], off: u64) -> io::Result<()> {
    let mut blocks = data.chunks(HOLE_BLOCK).map(is_zero).peekable();
    let mut at = 0;
    while let Some(zero) = blocks.next() {
        let start = at;
        at = (at + HOLE_BLOCK).min(data.len());
        while blocks.next_if_eq(&zero).is_some() {
            at = (at + HOLE_BLOCK).min(data.len());
        }
        if !zero {
            file.write_all_at(&data[start..at], off + start as u64)?;
        }
    }
    Ok(())
}

/// Whether `block` is all zeros. Checks 64-byte slices with an OR-fold (which vectorises) and
/// stops at the first non-zero slice, so data blocks are rejected after a few bytes.
fn is_zero(block: &[u8]) -> bool {
    block
        .chunks(64)
        .all(|c| c.iter().fold(0u8, |acc, b| acc | b) == 0)
}

#[cfg(test)]
mod tests {
    use super::is_zero;

    #[test]
    fn zero_detection() {
        assert!(is_zero(&[]));
        assert!(is_zero(&[0; 4096]));
        for i in [0, 63, 64, 4095] {
            let mut b = [0u8; 4096];
            b[i] = 1;
            assert!(!is_zero(&b), "{i}");
        }
    }
}
