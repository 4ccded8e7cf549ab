//! Layers arriving from a registry: downloaded, stored, verified and unpacked in one pass, and
//! resumable.
//!
//! The store knows nothing of HTTP: the caller passes `open(offset)`, which returns the blob's
//! bytes from `offset` (and the offset the source actually starts at: a server that ignores
//! `Range` starts at 0). The bytes are appended to `ingest/partial-<digest>` as they arrive and
//! fed, after whatever an earlier attempt left in that file, to the unpacker and the hasher.
//! So a pull killed at any point resumes where it stopped (re-reading the local part), a
//! connection dropped mid-stream is reopened at the current offset, and nothing is visible in
//! the store until the whole blob hashed to its digest: then the partial file is renamed into
//! `blobs/` and the unpacked layer waits, pending, for its chain to be committed. A blob that
//! does not verify is deleted with its unpack, and the error names it.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;

use super::{ImageStore, PendingSnapshot};
use crate::digest::{Digest, Hasher};
use crate::error::ImageError;
use crate::model::Descriptor;

type Result<T> = std::result::Result<T, ImageError>;

/// A source of a blob's bytes from an offset: the stream and the offset it really starts at.
pub type OpenAt<'a> = dyn FnMut(u64) -> io::Result<(Box<dyn Read + Send>, u64)> + 'a;

/// A layer downloaded and unpacked, waiting for [`FetchedLayer::commit`].
#[derive(Debug)]
pub struct FetchedLayer {
    /// The blob's digest (now in the content store).
    pub digest: Digest,
    /// The digest of its uncompressed tar.
    pub diff_id: Digest,
    /// Bytes taken from an earlier, interrupted attempt.
    pub resumed_from: u64,
    pending: PendingSnapshot,
}

impl FetchedLayer {
    /// Makes the unpacked layer the snapshot `chain_id` (on top of `parent`), after checking
    /// its diff id against the one the image config names.
    pub fn commit(
        self,
        expected_diff_id: &Digest,
        chain_id: &Digest,
        parent: Option<&Digest>,
    ) -> Result<()> {
        if &self.diff_id != expected_diff_id {
            return Err(ImageError::DiffIdMismatch {
                expected: expected_diff_id.clone(),
                actual: self.diff_id,
            });
        }
        self.pending.commit(chain_id, parent)
    }
}

/// Reads the network stream, reopening it at the current offset when it fails (3 times, with
/// a growing pause), and appends what it reads to the partial file.
struct Network<'a, 'o> {
    open: &'o mut OpenAt<'a>,
    stream: Option<Box<dyn Read + Send>>,
    offset: u64,
    partial: File,
    retries_left: u32,
}

impl Network<'_, '_> {
    fn reopen(&mut self) -> io::Result<()> {
        let (mut s, start) = (self.open)(self.offset)?;
        if start > self.offset {
            return Err(io::Error::other(format!(
                "the source resumed at byte {start}, past the {} bytes already read",
                self.offset
            )));
        }
        // A source that ignored the range: skip what we already have.
        io::copy(&mut (&mut s).take(self.offset - start), &mut io::sink())?;
        self.stream = Some(s);
        Ok(())
    }
}

impl Read for Network<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.stream.is_none() {
                self.reopen()?;
            }
            let Some(s) = self.stream.as_mut() else {
                return Ok(0);
            };
            match s.read(buf) {
                Ok(n) => {
                    self.partial.write_all(&buf[..n])?;
                    self.offset += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if self.retries_left > 0 => {
                    self.retries_left -= 1;
                    let pause = 200 * 4u64.pow(2 - self.retries_left.min(2));
                    std::thread::sleep(std::time::Duration::from_millis(pause));
                    self.stream = None;
                    let _ = e;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Hashes, counts and reports what passes.
struct Progress<'p, R> {
    inner: R,
    hasher: Hasher,
    total: u64,
    report: &'p mut dyn FnMut(u64),
}

impl<R: Read> Read for Progress<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.total += n as u64;
        (self.report)(self.total);
        Ok(n)
    }
}

impl ImageStore {
    /// Downloads the layer `desc` through `open`, resuming an earlier partial download, and
    /// unpacks it in the same pass; see the module docs. `progress` gets the bytes done so far.
    /// With `keep_blob` the verified blob goes into the content store; without, it is dropped
    /// once unpacked (the snapshot's tar-split rebuilds its uncompressed tar; see
    /// [`ImageStore::export_manifest`]) and, never synced, mostly never reaches the disk.
    /// Returns `None` if the blob is already in the store (another puller finished it first).
    pub fn fetch_layer(
        &self,
        desc: &Descriptor,
        keep_blob: bool,
        open: &mut OpenAt<'_>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Option<FetchedLayer>> {
        let digest = &desc.digest;
        if self.content.exists(digest) {
            return Ok(None);
        }
        let path = self.content.partial_path(digest);
        let partial = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|e| ImageError::io("opening", &path, e))?;
        lock(&partial).map_err(|e| ImageError::io("locking", &path, e))?;
        if self.content.exists(digest) {
            let _ = std::fs::remove_file(&path);
            return Ok(None);
        }
        let mut have = partial
            .metadata()
            .map_err(|e| ImageError::io("inspecting", &path, e))?
            .len();
        if have > desc.size {
            partial
                .set_len(0)
                .map_err(|e| ImageError::io("truncating", &path, e))?;
            have = 0;
        }
        let local = File::open(&path).map_err(|e| ImageError::io("opening", &path, e))?;
        let writer = partial
            .try_clone()
            .map_err(|e| ImageError::io("opening", &path, e))?;
        let network = Network {
            open,
            stream: None,
            offset: have,
            partial: writer,
            retries_left: 3,
        };
        let mut reader = Progress {
            inner: local.take(have).chain(network),
            hasher: Hasher::new(digest.algorithm()),
            total: 0,
            report: progress,
        };
        let mut pending = self.snapshots.begin()?;
        let unpacked = pending.unpack(&mut reader);
        // Whatever happened, the partial file keeps the bytes that arrived (for a resume)
        // unless they are proven wrong below.
        let diff_id = match unpacked {
            Ok(d) => d,
            Err(e) => {
                // Complete but wrong bytes: the registry's fault, say which blob and drop it.
                // Complete and right: the blob does not unpack, drop it too. Incomplete: the
                // network's fault, keep the bytes for the next attempt.
                let _ = io::copy(&mut reader, &mut io::sink());
                if reader.total >= desc.size {
                    let _ = std::fs::remove_file(&path);
                    let actual = reader.hasher.clone().finish();
                    if &actual != digest || reader.total != desc.size {
                        return Err(ImageError::BlobVerification {
                            digest: digest.clone(),
                            actual,
                            size: reader.total,
                            expected_size: desc.size,
                        });
                    }
                }
                return Err(e.for_layer(digest));
            }
        };
        let actual = reader.hasher.clone().finish();
        if reader.total != desc.size || &actual != digest {
            let _ = std::fs::remove_file(&path);
            return Err(ImageError::BlobVerification {
                digest: digest.clone(),
                actual,
                size: reader.total,
                expected_size: desc.size,
            });
        }
        drop(reader);
        if keep_blob {
            self.content.adopt(&path, digest)?;
        } else {
            let _ = std::fs::remove_file(&path);
        }
        Ok(Some(FetchedLayer {
            digest: digest.clone(),
            diff_id,
            resumed_from: have,
            pending,
        }))
    }
}

fn lock(f: &File) -> io::Result<()> {
    loop {
        // SAFETY: flock only reads the descriptor, which `f` keeps open.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}
