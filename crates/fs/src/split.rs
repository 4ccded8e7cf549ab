//! Tar-split: a plain layer tar is kept as its unpacked tree plus a small *skeleton* (every
//! byte of the stream except regular files' content), from which the exact original bytes are
//! rebuilt on demand.
//!
//! Why: a store that keeps both the layer tar (to save or push it unchanged, digest intact)
//! and its unpacked tree writes every byte twice. Docker's overlay2 (with tar-split) and
//! containers/storage keep only the tree and the skeleton; so does berth for uncompressed
//! layers, which halves the disk writes of `load`. Compressed layers keep their blob: their
//! bytes cannot be rebuilt from the tree.
//!
//! How: a [`Splitter`] sits on the uncompressed stream and records what it reads. When the
//! extractor meets a regular file it registers the file's data range; those bytes are left out
//! of the skeleton and a reference to the file is recorded instead. Read-ahead is handled by
//! keeping unclassified bytes pending until the next range is known.
//!
//! A later entry of the same layer may replace a file whose content the skeleton refers to
//! (the same name twice, a directory replaced, a whiteout). Before that happens the file is
//! hard-linked into a *stash* directory beside the tree and the reference re-pointed, so the
//! content stays. The rebuild reads regular files only through `openat2(RESOLVE_IN_ROOT)`,
//! checks each length, and the caller verifies the digest of the result.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;
use std::rc::Rc;

use crate::error::FsError;

/// Where the content of a skipped file range lives.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    /// `<tree>/<path>`.
    Tree(String),
    /// `<stash>/<n>`.
    Stash(u64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Record {
    Raw(Vec<u8>),
    File { len: u64, source: Source },
}

/// The state shared between the [`Splitter`] (which sees bytes) and the extractor (which knows
/// what they are).
#[derive(Debug, Default)]
pub(crate) struct SplitState {
    pending: Vec<u8>,
    pending_start: u64,
    pos: u64,
    holes: VecDeque<(u64, u64)>,
    records: Vec<Record>,
    /// Tree paths whose content a record refers to → record index.
    live: BTreeMap<String, usize>,
    stashed: u64,
}

impl SplitState {
    fn push_raw(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if let Some(Record::Raw(v)) = self.records.last_mut() {
            v.extend_from_slice(bytes);
        } else {
            self.records.push(Record::Raw(bytes.to_vec()));
        }
    }

    /// Classifies pending bytes as far as the registered holes allow.
    fn settle(&mut self) {
        while let Some(&(start, len)) = self.holes.front() {
            if self.pending_start < start {
                let k = (start.min(self.pos) - self.pending_start) as usize;
                let raw: Vec<u8> = self.pending.drain(..k).collect();
                self.push_raw(&raw);
                self.pending_start += k as u64;
                if self.pending_start < start {
                    return;
                }
            }
            let end = start + len;
            let d = (end.min(self.pos) - self.pending_start) as usize;
            self.pending.drain(..d);
            self.pending_start += d as u64;
            if self.pending_start < end {
                return;
            }
            self.holes.pop_front();
        }
    }

    /// The extractor found a regular file `path` whose content is `len` bytes at `start`.
    pub(crate) fn file(&mut self, path: String, start: u64, len: u64) {
        self.holes.push_back((start, len));
        self.settle();
        self.records.push(Record::File {
            len,
            source: Source::Tree(path.clone()),
        });
        self.live.insert(path, self.records.len() - 1);
    }

    /// The extractor is about to replace or remove `path` (and everything under it): files
    /// the skeleton refers to there are first hard-linked into the stash.
    /// With `recursive` false (a directory entry, which keeps an existing directory) only
    /// `path` itself is concerned.
    pub(crate) fn before_replace(
        &mut self,
        path: &str,
        recursive: bool,
        root: BorrowedFd<'_>,
        stash: BorrowedFd<'_>,
    ) -> Result<(), FsError> {
        let under = if recursive {
            format!("{path}/")
        } else {
            "\0never".to_string()
        };
        let doomed: Vec<String> = self
            .live
            .range(path.to_string()..)
            .take_while(|(p, _)| *p == path || p.starts_with(&under))
            .map(|(p, _)| p.clone())
            .collect();
        for p in doomed {
            let Some(idx) = self.live.remove(&p) else {
                continue;
            };
            let n = self.stashed;
            self.stashed += 1;
            let src =
                crate::sys::open_in_root(root, Path::new(&p), libc::O_RDONLY | libc::O_NOFOLLOW)
                    .map_err(|e| FsError::io(&p, "opening for the tar-split stash", e))?;
            crate::sys::link_into(src.as_fd(), stash, &n.to_string())
                .map_err(|e| FsError::io(&p, "linking into the tar-split stash", e))?;
            if let Some(Record::File { source, .. }) = self.records.get_mut(idx) {
                *source = Source::Stash(n);
            }
        }
        Ok(())
    }

    /// Ends the stream: the rest is raw. Returns the encoded skeleton.
    pub(crate) fn finish(&mut self) -> Vec<u8> {
        self.settle();
        let rest = std::mem::take(&mut self.pending);
        self.push_raw(&rest);
        encode(&self.records)
    }
}

/// A reader that feeds what it reads into a [`SplitState`].
pub(crate) struct Splitter<R> {
    pub(crate) inner: R,
    pub(crate) state: Rc<RefCell<SplitState>>,
}

impl<R: Read> Read for Splitter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut s = self.state.borrow_mut();
        s.pending.extend_from_slice(&buf[..n]);
        s.pos += n as u64;
        s.settle();
        Ok(n)
    }
}

fn encode(records: &[Record]) -> Vec<u8> {
    let mut out = b"berth-tar-split-1\n".to_vec();
    for r in records {
        match r {
            Record::Raw(v) => {
                out.push(b'R');
                out.extend_from_slice(&(v.len() as u64).to_le_bytes());
                out.extend_from_slice(v);
            }
            Record::File { len, source } => {
                let (tag, name) = match source {
                    Source::Tree(p) => (b'T', p.clone()),
                    Source::Stash(n) => (b'S', n.to_string()),
                };
                out.push(tag);
                out.extend_from_slice(&len.to_le_bytes());
                out.extend_from_slice(&(name.len() as u64).to_le_bytes());
                out.extend_from_slice(name.as_bytes());
            }
        }
    }
    out
}

fn decode(mut b: &[u8]) -> Result<Vec<Record>, String> {
    b = b
        .strip_prefix(b"berth-tar-split-1\n".as_slice())
        .ok_or("not a berth tar-split skeleton")?;
    let take = |b: &mut &[u8], n: usize| -> Result<Vec<u8>, String> {
        if b.len() < n {
            return Err("truncated skeleton".into());
        }
        let (h, t) = b.split_at(n);
        *b = t;
        Ok(h.to_vec())
    };
    let u64_of = |b: &mut &[u8]| -> Result<u64, String> {
        let v = take(b, 8)?;
        Ok(u64::from_le_bytes(v.try_into().map_err(|_| "bad length")?))
    };
    let mut out = Vec::new();
    while let Some((&tag, rest)) = b.split_first() {
        b = rest;
        match tag {
            b'R' => {
                let n = u64_of(&mut b)? as usize;
                if b.len() < n {
                    return Err("truncated skeleton".into());
                }
                let (h, t) = b.split_at(n);
                b = t;
                out.push(Record::Raw(h.to_vec()));
            }
            b'T' | b'S' => {
                let len = u64_of(&mut b)?;
                let n = u64_of(&mut b)? as usize;
                if b.len() < n {
                    return Err("truncated skeleton".into());
                }
                let (h, t) = b.split_at(n);
                b = t;
                let name = String::from_utf8(h.to_vec()).map_err(|_| "bad name")?;
                let source = if tag == b'T' {
                    Source::Tree(name)
                } else {
                    Source::Stash(name.parse().map_err(|_| "bad stash index")?)
                };
                out.push(Record::File { len, source });
            }
            _ => return Err(format!("unknown record tag {tag}")),
        }
    }
    Ok(out)
}

/// The original layer tar, rebuilt from `skeleton`, the unpacked `tree` and its `stash`.
///
/// Regular files are opened inside `tree` with `RESOLVE_IN_ROOT`; a file shorter or longer
/// than recorded is an error. The caller checks the digest of what it reads.
pub fn rebuild_layer(
    skeleton: &[u8],
    tree: &Path,
    stash: &Path,
) -> Result<impl Read + Send, FsError> {
    let records = decode(skeleton).map_err(|r| FsError::Archive {
        name: None,
        source: io::Error::new(io::ErrorKind::InvalidData, r),
    })?;
    let tree_dir = File::open(tree).map_err(|source| FsError::OpenDest {
        path: tree.to_owned(),
        source,
    })?;
    Ok(Rebuild {
        records: records.into(),
        tree: tree_dir,
        stash: stash.to_owned(),
        current: None,
    })
}

struct Rebuild {
    records: VecDeque<Record>,
    tree: File,
    stash: std::path::PathBuf,
    /// The piece being read, the bytes it has left, and its name for errors.
    current: Option<(Box<dyn Read + Send>, u64, String)>,
}

impl Read for Rebuild {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some((r, left, name)) = self.current.as_mut() {
                if *left == 0 {
                    let mut probe = [0u8; 1];
                    if r.read(&mut probe)? != 0 {
                        return Err(io::Error::other(format!(
                            "{name} grew since it was unpacked"
                        )));
                    }
                    self.current = None;
                    continue;
                }
                let want = buf.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
                let n = r.read(&mut buf[..want])?;
                if n == 0 {
                    return Err(io::Error::other(format!(
                        "{name} shrank since it was unpacked"
                    )));
                }
                *left -= n as u64;
                return Ok(n);
            }
            match self.records.pop_front() {
                None => return Ok(0),
                Some(Record::Raw(v)) => {
                    let len = v.len() as u64;
                    self.current = Some((Box::new(io::Cursor::new(v)), len, "skeleton".into()));
                }
                Some(Record::File { len, source }) => {
                    let (file, name) = match source {
                        Source::Tree(p) => {
                            let fd = crate::sys::open_in_root(
                                self.tree.as_fd(),
                                Path::new(&p),
                                libc::O_RDONLY | libc::O_NOFOLLOW,
                            )
                            .map_err(|e| io::Error::new(e.kind(), format!("{p}: {e}")))?;
                            (File::from(fd), p)
                        }
                        Source::Stash(n) => {
                            let p = self.stash.join(n.to_string());
                            (File::open(&p)?, p.display().to_string())
                        }
                    };
                    let reader = io::BufReader::with_capacity(1 << 20, file);
                    self.current = Some((Box::new(reader), len, name));
                }
            }
        }
    }
}
