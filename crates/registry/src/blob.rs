//! [`BlobStream`]: a blob body being downloaded, and what the caller needs to resume it.

use std::io::{self, Read};

/// A blob download in progress. Reading yields the blob's bytes from [`BlobStream::offset`].
///
/// The stream does not verify the digest: the caller hashes what it stores (the content
/// store verifies on commit), and a resumed download can only be verified as a whole.
pub struct BlobStream {
    pub(crate) reader: Box<dyn Read + Send + Sync + 'static>,
    pub(crate) offset: u64,
    pub(crate) total: Option<u64>,
}

impl std::fmt::Debug for BlobStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobStream")
            .field("offset", &self.offset)
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

impl BlobStream {
    /// Where the bytes of this stream start in the blob. When a download was asked from an
    /// offset > 0 and this is 0, the registry ignored the `Range` request (answered 200): the
    /// stream holds the whole blob and the caller must restart its copy from the beginning.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Whether the registry honoured the requested offset.
    pub fn resumed(&self, requested: u64) -> bool {
        self.offset == requested
    }

    /// The blob's total size, from `Content-Range` or `Content-Length`, when the registry
    /// said.
    pub fn total_size(&self) -> Option<u64> {
        self.total
    }

    /// The number of bytes this stream will yield, when known.
    pub fn remaining(&self) -> Option<u64> {
        self.total.map(|t| t.saturating_sub(self.offset))
    }
}

impl Read for BlobStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(buf)
    }
}

/// Parses `bytes <start>-<end>/<total|*>` into `(start, total)`.
pub(crate) fn parse_content_range(v: &str) -> Option<(u64, Option<u64>)> {
    let rest = v.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let (start, _end) = range.split_once('-')?;
    let start = start.trim().parse().ok()?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    Some((start, total))
}

/// A reader that must yield exactly `size` bytes: it fails instead of ending early, and
/// records whether it did, so the upload can report the caller's mistake rather than a
/// transport error.
pub(crate) struct ExactReader<R> {
    pub(crate) inner: R,
    pub(crate) remaining: u64,
    pub(crate) short: bool,
}

impl<R: Read> Read for ExactReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            self.short = true;
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the blob reader ended before the declared size",
            ));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range() {
        assert_eq!(parse_content_range("bytes 5-9/10"), Some((5, Some(10))));
        assert_eq!(parse_content_range("bytes 0-0/*"), Some((0, None)));
        assert_eq!(parse_content_range("items 0-1/2"), None);
        assert_eq!(parse_content_range("bytes x-1/2"), None);
    }

    #[test]
    fn exact_reader() {
        let mut r = ExactReader {
            inner: &b"abcdef"[..],
            remaining: 4,
            short: false,
        };
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"abcd");
        let mut r = ExactReader {
            inner: &b"ab"[..],
            remaining: 4,
            short: false,
        };
        assert!(r.read_to_end(&mut Vec::new()).is_err());
        assert!(r.short);
    }
}
