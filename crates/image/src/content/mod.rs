//! A content-addressed blob store on the local file system, safe against crashes.
//!
//! Layout under the root passed to [`ContentStore::open`]:
//!
//! ```text
//! blobs/sha256/<hex>   committed blobs, named by the digest of their content
//! blobs/sha512/<hex>
//! ingest/<pid>-<n>-<nanos>.tmp   blobs being written
//! ```
//!
//! Invariant: a file under `blobs/` always hashes to its name. Writers stream into a temp file
//! in `ingest/` (same file system, so the final `rename` is atomic), hash while writing, check
//! size and digest, `fsync` the file, `rename` it into place and `fsync` the directory. A crash
//! at any point leaves either no blob or the complete one; what it leaves in `ingest/` is
//! removed by the next [`ContentStore::open`]. A live writer holds an exclusive `flock` on its
//! temp file, so reopening the store while another writer is busy does not pull its file away;
//! the kernel drops the lock when a writer dies, even by `SIGKILL`.
//!
//! Two writers of the same content race harmlessly: both verify, the first `rename` wins and the
//! second finds the blob present and discards its temp file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::digest::{Algorithm, Digest, Hasher};
use crate::error::ImageError;

type Result<T> = std::result::Result<T, ImageError>;

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The name prefix of resumable downloads in `ingest/`.
const PARTIAL_PREFIX: &str = "partial-";

/// The blob store rooted at one directory. Cheap to clone; holds no open files.
#[derive(Debug, Clone)]
pub struct ContentStore {
    root: PathBuf,
}

impl ContentStore {
    /// Opens (creating if needed) the store at `root` and removes temp files left in `ingest/`
    /// by writers that died.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let store = Self { root: root.into() };
        for alg in Algorithm::ALL {
            let dir = store.alg_dir(alg);
            fs::create_dir_all(&dir).map_err(|e| ImageError::io("creating", dir, e))?;
        }
        let ingest = store.ingest_dir();
        fs::create_dir_all(&ingest).map_err(|e| ImageError::io("creating", &ingest, e))?;
        store.clean_ingest()?;
        Ok(store)
    }

    /// The root directory of the store.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A writer for a new blob, hashed with SHA-256.
    pub fn writer(&self) -> Result<BlobWriter> {
        self.writer_for(Algorithm::Sha256)
    }

    /// A writer for a new blob, hashed with `algorithm`.
    pub fn writer_for(&self, algorithm: Algorithm) -> Result<BlobWriter> {
        let (file, path) = self.create_locked_temp()?;
        Ok(BlobWriter {
            file: Some(file),
            temp: Some(path),
            hasher: Some(Hasher::new(algorithm)),
            size: 0,
            blob_dir: self.alg_dir(algorithm),
        })
    }

    /// Creates a fresh temp file in `ingest/` and locks it.
    ///
    /// A concurrent [`ContentStore::open`] may sweep the file between its creation and the lock
    /// (or hold its probe lock at that moment); then the path no longer names our file, or the
    /// lock fails, and we try again under a new name.
    fn create_locked_temp(&self) -> Result<(File, PathBuf)> {
        const ATTEMPTS: usize = 8;
        let mut last = None;
        for _ in 0..ATTEMPTS {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = self
                .ingest_dir()
                .join(format!("{}-{n}-{nanos}.tmp", std::process::id()));
            let file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .map_err(|e| ImageError::io("creating", &path, e))?;
            match try_lock_exclusive(&file) {
                Ok(()) if same_file(&file, &path) => return Ok((file, path)),
                Ok(()) => last = Some(io::Error::other("swept by a concurrent open")),
                Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => last = Some(e),
                Err(e) => {
                    let _ = fs::remove_file(&path);
                    return Err(ImageError::io("locking", path, e));
                }
            }
        }
        let e = last.unwrap_or_else(|| io::Error::other("no attempt made"));
        Err(ImageError::io(
            "creating a temp file in",
            self.ingest_dir(),
            e,
        ))
    }

    /// Stores `bytes` and returns their SHA-256 digest; a no-op if the blob is already present.
    pub fn put(&self, bytes: &[u8]) -> Result<Digest> {
        let digest = Digest::of(bytes);
        if self.exists(&digest) {
            return Ok(digest);
        }
        let mut w = self.writer()?;
        w.write_all(bytes)
            .map_err(|e| ImageError::io("writing", w.temp_path(), e))?;
        w.commit(Some(&digest), Some(bytes.len() as u64))
    }

    /// Whether a blob with this digest is stored.
    pub fn exists(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    /// The path of the blob file. The file may not exist; never write to it.
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.alg_dir(digest.algorithm()).join(digest.hex())
    }

    /// Opens a blob for reading. The content is not verified; use [`ContentStore::read`] or
    /// hash while reading where that matters.
    pub fn open_blob(&self, digest: &Digest) -> Result<File> {
        let path = self.blob_path(digest);
        File::open(&path).map_err(|e| self.not_found_or(digest, "opening", path, e))
    }

    /// Reads a whole blob and checks that it still hashes to its digest.
    pub fn read(&self, digest: &Digest) -> Result<Vec<u8>> {
        let path = self.blob_path(digest);
        let bytes = fs::read(&path).map_err(|e| self.not_found_or(digest, "reading", &path, e))?;
        let actual = Digest::of_with(digest.algorithm(), &bytes);
        if &actual != digest {
            return Err(ImageError::Corrupt {
                digest: digest.clone(),
                actual,
                path,
            });
        }
        Ok(bytes)
    }

    /// The size in bytes of a stored blob.
    pub fn size(&self, digest: &Digest) -> Result<u64> {
        let path = self.blob_path(digest);
        fs::metadata(&path)
            .map(|m| m.len())
            .map_err(|e| self.not_found_or(digest, "inspecting", path, e))
    }

    /// Removes a blob. Deleting a blob that is not there is a `BlobNotFound` error.
    pub fn delete(&self, digest: &Digest) -> Result<()> {
        let path = self.blob_path(digest);
        fs::remove_file(&path).map_err(|e| self.not_found_or(digest, "removing", &path, e))?;
        sync_dir(&self.alg_dir(digest.algorithm()))
    }

    /// Every stored blob, sorted. Files whose names are not valid digests are ignored.
    pub fn list(&self) -> Result<Vec<Digest>> {
        let mut out = Vec::new();
        for alg in Algorithm::ALL {
            let dir = self.alg_dir(alg);
            let entries = fs::read_dir(&dir).map_err(|e| ImageError::io("listing", &dir, e))?;
            for entry in entries {
                let entry = entry.map_err(|e| ImageError::io("listing", &dir, e))?;
                if let Some(name) = entry.file_name().to_str() {
                    if let Ok(d) = Digest::new(alg, name) {
                        out.push(d);
                    }
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Re-hashes every stored blob and returns those whose content no longer matches their
    /// name. Blobs removed while this runs are skipped.
    pub fn verify_all(&self) -> Result<Vec<Digest>> {
        let mut corrupt = Vec::new();
        for digest in self.list()? {
            let path = self.blob_path(&digest);
            let mut file = match File::open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(ImageError::io("opening", path, e)),
            };
            let mut hasher = Hasher::new(digest.algorithm());
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match file.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(ImageError::io("reading", path, e)),
                };
                hasher.update(&buf[..n]);
            }
            if hasher.finish() != digest {
                corrupt.push(digest);
            }
        }
        Ok(corrupt)
    }

    /// Where a resumable download of `digest` keeps its bytes: `ingest/partial-<alg>-<hex>`.
    /// Unlike writers' temp files it survives [`ContentStore::open`] (the next pull resumes
    /// from it); the store's garbage collection removes it.
    pub fn partial_path(&self, digest: &Digest) -> PathBuf {
        self.ingest_dir().join(format!(
            "{PARTIAL_PREFIX}{}-{}",
            digest.algorithm(),
            digest.hex()
        ))
    }

    /// Moves `path` (a file in `ingest/` whose content the caller has verified to hash to
    /// `digest`) into the store: fsync, rename, fsync of the directory.
    pub fn adopt(&self, path: &Path, digest: &Digest) -> Result<()> {
        File::open(path)
            .and_then(|f| f.sync_all())
            .map_err(|e| ImageError::io("syncing", path, e))?;
        let dir = self.alg_dir(digest.algorithm());
        fs::rename(path, dir.join(digest.hex()))
            .map_err(|e| ImageError::io("renaming into place", path, e))?;
        sync_dir(&dir)
    }

    /// Removes partial downloads no live puller holds locked.
    pub fn clean_partials(&self) -> Result<()> {
        let dir = self.ingest_dir();
        for entry in fs::read_dir(&dir).map_err(|e| ImageError::io("listing", &dir, e))? {
            let entry = entry.map_err(|e| ImageError::io("listing", &dir, e))?;
            let is_partial = entry
                .file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(PARTIAL_PREFIX));
            if !is_partial {
                continue;
            }
            if let Ok(f) = File::open(entry.path()) {
                if try_lock_exclusive(&f).is_ok() {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        Ok(())
    }

    fn alg_dir(&self, alg: Algorithm) -> PathBuf {
        self.root.join("blobs").join(alg.as_str())
    }

    fn ingest_dir(&self) -> PathBuf {
        self.root.join("ingest")
    }

    /// Removes every file in `ingest/` that no live writer holds locked.
    fn clean_ingest(&self) -> Result<()> {
        let dir = self.ingest_dir();
        let entries = fs::read_dir(&dir).map_err(|e| ImageError::io("listing", &dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| ImageError::io("listing", &dir, e))?;
            let path = entry.path();
            if entry
                .file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(PARTIAL_PREFIX))
            {
                // A pull's partial download: kept for the next pull to resume.
                continue;
            }
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            let removed = if is_dir {
                fs::remove_dir_all(&path)
            } else {
                match File::open(&path) {
                    // Locked: a live writer owns it. Our probe lock, if taken, goes with `f`.
                    Ok(f) if try_lock_exclusive(&f).is_err() => continue,
                    Ok(_) => fs::remove_file(&path),
                    Err(e) => Err(e),
                }
            };
            match removed {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(ImageError::io("removing leftover", path, e)),
            }
        }
        Ok(())
    }

    fn not_found_or(
        &self,
        digest: &Digest,
        op: &'static str,
        path: impl Into<PathBuf>,
        e: io::Error,
    ) -> ImageError {
        if e.kind() == io::ErrorKind::NotFound {
            ImageError::BlobNotFound {
                digest: digest.clone(),
            }
        } else {
            ImageError::io(op, path, e)
        }
    }
}

/// A blob being written: hashes and counts what goes through [`Write`], and becomes visible in
/// the store only on a successful [`BlobWriter::commit`]. Dropped without commit, it removes its
/// temp file.
#[derive(Debug)]
pub struct BlobWriter {
    // Options so that `commit` can take them out of a type that implements Drop.
    file: Option<File>,
    temp: Option<PathBuf>,
    hasher: Option<Hasher>,
    size: u64,
    blob_dir: PathBuf,
}

impl BlobWriter {
    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The algorithm this writer hashes with.
    pub fn algorithm(&self) -> Algorithm {
        self.hasher
            .as_ref()
            .map_or(Algorithm::Sha256, Hasher::algorithm)
    }

    /// The temp file in `ingest/` (for error messages and tests).
    pub fn temp_path(&self) -> &Path {
        self.temp.as_deref().unwrap_or(Path::new(""))
    }

    /// Verifies the content against `expected` and `expected_size` (when given), makes it
    /// durable and moves it into the store. On any error nothing is stored and the temp file is
    /// removed. If the blob is already present (another writer won), the temp file is discarded
    /// and the digest returned.
    pub fn commit(
        mut self,
        expected: Option<&Digest>,
        expected_size: Option<u64>,
    ) -> Result<Digest> {
        let algorithm = self.algorithm();
        if let Some(expected) = expected {
            if expected.algorithm() != algorithm {
                return Err(ImageError::AlgorithmMismatch {
                    expected: expected.clone(),
                    writer: algorithm,
                });
            }
        }
        if let Some(expected) = expected_size {
            if expected != self.size {
                return Err(ImageError::SizeMismatch {
                    expected,
                    actual: self.size,
                });
            }
        }
        let actual = self
            .hasher
            .take()
            .unwrap_or_else(|| Hasher::new(algorithm))
            .finish();
        if let Some(expected) = expected {
            if expected != &actual {
                return Err(ImageError::DigestMismatch {
                    expected: expected.clone(),
                    actual,
                });
            }
        }
        let temp = self.temp_path().to_path_buf();
        if let Some(file) = self.file.as_ref() {
            file.sync_all()
                .map_err(|e| ImageError::io("syncing", &temp, e))?;
        }
        let target = self.blob_dir.join(actual.hex());
        if target.is_file() {
            // Another writer committed the same content first; Drop removes our temp file.
            return Ok(actual);
        }
        // Close before renaming; the lock goes with the file, which is fine: after the rename
        // the path no longer names our file.
        drop(self.file.take());
        fs::rename(&temp, &target).map_err(|e| ImageError::io("renaming into place", &temp, e))?;
        self.temp = None;
        sync_dir(&self.blob_dir)?;
        Ok(actual)
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("blob writer already finished"))?;
        let n = file.write(buf)?;
        if let Some(h) = self.hasher.as_mut() {
            h.update(&buf[..n]);
        }
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        drop(self.file.take());
        if let Some(temp) = self.temp.take() {
            // Best effort: a leftover is removed by the next `ContentStore::open`.
            let _ = fs::remove_file(temp);
        }
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| ImageError::io("syncing directory", dir, e))
}

/// Whether `path` still names the open `file` (same device and inode).
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

fn try_lock_exclusive(file: &File) -> io::Result<()> {
    // SAFETY: flock only reads the descriptor number, which `file` keeps open for the call.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests;
