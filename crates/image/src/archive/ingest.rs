//! One pass over a layer stream: stored as a blob and unpacked at the same time.
//!
//! Why speculative: in a docker-archive the layer tars come before `manifest.json`, so which
//! file is a layer (and which chain it belongs to) is known only at the end. Every file that
//! starts like a tar, gzip or zstd stream is unpacked into a pending snapshot while it is
//! copied into the content store; once the manifest is read the pending snapshots become the
//! image's chain (their diff ids verified against the config), and any left over are dropped.
//! Reading the archive once instead of twice is most of the difference with `docker load`.

use std::io::{self, Read, Write};

use crate::content::BlobWriter;
use crate::digest::Digest;
use crate::error::ImageError;
use crate::model::media_type;
use crate::store::{ImageStore, PendingSnapshot};

type Result<T> = std::result::Result<T, ImageError>;

pub(crate) use berth_fs::Compression;

/// The OCI layer media type for a layer blob with this compression.
pub(crate) fn layer_media_type(c: Compression) -> &'static str {
    match c {
        Compression::Gzip => media_type::OCI_LAYER_GZIP,
        Compression::Zstd => media_type::OCI_LAYER_ZSTD,
        Compression::None => media_type::OCI_LAYER,
    }
}

fn looks_like_layer(head: &[u8]) -> bool {
    Compression::detect(head) != Compression::None
        || (head.len() >= 262 && &head[257..262] == b"ustar")
}

/// A file of an archive after ingestion.
#[derive(Debug)]
pub(crate) struct Ingested {
    /// Its blob in the content store.
    pub(crate) digest: Digest,
    pub(crate) size: u64,
    pub(crate) compression: Compression,
    /// The layer unpacked from it, with its diff id, if it looked like a layer and unpacked.
    pub(crate) unpacked: Option<(PendingSnapshot, Digest)>,
}

/// Reads up to `n` bytes (fewer only at end of stream).
pub(crate) fn read_head(r: &mut impl Read, n: usize) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(n);
    r.by_ref().take(n as u64).read_to_end(&mut head)?;
    Ok(head)
}

/// Counts what passes.
struct Counted<R> {
    inner: R,
    n: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n += n as u64;
        Ok(n)
    }
}

/// Copies everything read from `inner` into `blob` as well.
struct Tee<'a, R> {
    inner: R,
    blob: &'a mut BlobWriter,
    error: Option<io::Error>,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Err(e) = self.blob.write_all(&buf[..n]) {
            // Keep the write error: the unpacker would otherwise report it as a tar error.
            let msg = e.to_string();
            self.error = Some(e);
            return Err(io::Error::other(msg));
        }
        Ok(n)
    }
}

impl ImageStore {
    /// Stores `reader` as a blob and, if it looks like a layer, unpacks it in the same pass.
    /// `expected` (a digest the source claims, e.g. an OCI layout's file name) is verified.
    pub(crate) fn ingest(
        &self,
        mut reader: impl Read,
        expected: Option<&Digest>,
    ) -> Result<Ingested> {
        let head = read_head(&mut reader, 512).map_err(|e| ImageError::BadArchive {
            reason: format!("reading a file of the archive: {e}"),
        })?;
        let compression = Compression::detect(&head);
        let mut stream = io::Cursor::new(head.clone()).chain(reader);
        if compression == Compression::None && looks_like_layer(&head) {
            return self.ingest_plain_layer(stream, expected);
        }
        let mut blob = self.content().writer()?;
        let mut unpacked = None;
        if looks_like_layer(&head) {
            let mut pending = self.snapshots().begin()?;
            let mut tee = Tee {
                inner: &mut stream,
                blob: &mut blob,
                error: None,
            };
            let result = pending.unpack(&mut tee);
            if let Some(e) = tee.error.take() {
                return Err(ImageError::io(
                    "writing",
                    tee.blob.temp_path().to_path_buf(),
                    e,
                ));
            }
            match result {
                Ok(diff_id) => unpacked = Some((pending, diff_id)),
                // Not a layer after all (or a broken one: unpacking it again from the blob,
                // if the manifest says it is a layer, reports the error then).
                Err(_) => drop(pending),
            }
            io::copy(&mut tee, &mut io::sink()).map_err(|e| ImageError::BadArchive {
                reason: format!("reading a file of the archive: {e}"),
            })?;
        } else {
            io::copy(&mut stream, &mut blob).map_err(|e| ImageError::BadArchive {
                reason: format!("reading a file of the archive: {e}"),
            })?;
        }
        let size = blob.size();
        let digest = blob
            .commit(expected, None)
            .map_err(|e| match (e, expected) {
                (ImageError::DigestMismatch { expected, actual }, Some(_)) => {
                    ImageError::BadArchive {
                        reason: format!(
                    "blob {expected} does not match its name: its content hashes to {actual}; \
                     the archive is corrupt"
                ),
                    }
                }
                (e, _) => e,
            })?;
        Ok(Ingested {
            digest,
            size,
            compression,
            unpacked,
        })
    }

    /// A plain layer tar: unpacked with a tar-split skeleton and *not* written as a blob (the
    /// snapshot rebuilds its exact bytes), so its content is written to disk once. Its blob
    /// digest is its diff id. An unpack failure is an error (there is no blob to fall back on).
    fn ingest_plain_layer(&self, stream: impl Read, expected: Option<&Digest>) -> Result<Ingested> {
        let mut pending = self.snapshots().begin()?;
        let mut counted = Counted {
            inner: stream,
            n: 0,
        };
        let diff_id = pending.unpack(&mut counted)?;
        io::copy(&mut counted, &mut io::sink()).map_err(|e| ImageError::BadArchive {
            reason: format!("reading a file of the archive: {e}"),
        })?;
        if let Some(want) = expected {
            if want != &diff_id {
                return Err(ImageError::BadArchive {
                    reason: format!(
                        "blob {want} does not match its name: its content hashes to {diff_id}; \
                         the archive is corrupt"
                    ),
                });
            }
        }
        Ok(Ingested {
            digest: diff_id.clone(),
            size: counted.n,
            compression: Compression::None,
            unpacked: Some((pending, diff_id)),
        })
    }
}
