//! `docker logs`: the shim's json-file log read back, rotated files first (oldest to newest),
//! so the lines come out in the order the container wrote them.
//!
//! Follow mode keeps reading the live file as it grows (polled every 50 ms) until the
//! container is no longer running; the shim writes `exit.json` only after the log is drained,
//! so one more read after seeing the exit gets every line. A rotation is noticed by the live
//! path naming another inode: the old file is drained, then the new one is followed.
//!
//! Why read the files and not ask the shim: the log outlives the shim (an exited container's
//! shim is gone) and the format is Docker's, one JSON object per line.

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::{Engine, EngineError, Result};

/// Which stream a line was written to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    /// The container's stdout.
    Stdout,
    /// The container's stderr.
    Stderr,
}

/// What `logs` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogOptions {
    /// Include stdout lines.
    pub stdout: bool,
    /// Include stderr lines.
    pub stderr: bool,
    /// Only the last `n` lines (of the selected streams).
    pub tail: Option<usize>,
    /// Only lines logged at or after this instant (ns since the epoch): `docker logs
    /// --since`, and an attach's "from now on".
    pub since: Option<i128>,
}

/// One log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Its stream.
    pub stream: LogStream,
    /// When the shim read it, RFC 3339 with nanoseconds.
    pub time: String,
    /// The bytes, with their `\n` unless a partial line.
    pub text: String,
}

#[derive(Deserialize)]
struct Entry {
    log: String,
    stream: String,
    time: String,
}

/// How often follow mode looks for new lines.
const FOLLOW_POLL: Duration = Duration::from_millis(50);

pub(super) fn parse_line(line: &[u8], opts: &LogOptions) -> Option<LogLine> {
    let e = serde_json::from_slice::<Entry>(line).ok()?;
    if let Some(since) = opts.since {
        if crate::time::rfc3339_nanos(&e.time).is_some_and(|t| t < since) {
            return None;
        }
    }
    let stream = match e.stream.as_str() {
        "stdout" if opts.stdout => LogStream::Stdout,
        "stderr" if opts.stderr => LogStream::Stderr,
        _ => return None,
    };
    Some(LogLine {
        stream,
        time: e.time,
        text: e.log,
    })
}

/// The live log file being followed, and the bytes of a line not yet complete.
struct Tail {
    file: Option<(fs::File, u64)>,
    partial: Vec<u8>,
}

impl Tail {
    fn open(path: &Path) -> Result<Option<(fs::File, u64)>> {
        match fs::File::open(path) {
            Ok(f) => {
                let ino = f
                    .metadata()
                    .map_err(|e| EngineError::io("reading", path, e))?
                    .ino();
                Ok(Some((f, ino)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(EngineError::io("opening", path, e)),
        }
    }

    /// Reads what was appended since the last call, following a rotation.
    fn read_new(&mut self, path: &Path, opts: &LogOptions, out: &mut Vec<LogLine>) -> Result<()> {
        loop {
            let Some((f, ino)) = self.file.as_mut() else {
                self.file = Self::open(path)?;
                if self.file.is_none() {
                    return Ok(());
                }
                continue;
            };
            let mut buf = Vec::new();
            f.read_to_end(&mut buf)
                .map_err(|e| EngineError::io("reading", path, e))?;
            self.partial.extend_from_slice(&buf);
            while let Some(n) = self.partial.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.partial.drain(..=n).collect();
                out.extend(parse_line(&line[..n], opts));
            }
            let rotated = fs::metadata(path).is_ok_and(|m| m.ino() != *ino);
            if !rotated {
                return Ok(());
            }
            // The file we read is now `.1`; what is left of it was just drained.
            self.partial.clear();
            self.file = None;
        }
    }
}

/// Failed starts per container (in memory): a follow waiting for a start ends when one fails.
pub(crate) type FailedStarts = std::sync::Mutex<std::collections::HashMap<String, u64>>;

/// Followers per container, so an `AutoRemove` waits for them (see `wait.rs`).
pub(crate) type Followers =
    std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>;

/// Counts one follower of a container for as long as it lives ([`Engine::follow_guard`]).
#[derive(Debug)]
pub struct FollowGuard {
    table: Followers,
    id: String,
}

impl Drop for FollowGuard {
    fn drop(&mut self) {
        let mut t = self.table.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = t.get_mut(&self.id) {
            *n -= 1;
            if *n == 0 {
                t.remove(&self.id);
            }
        }
    }
}

impl Engine {
    /// Counts a reader of container `id`'s output until the guard is dropped: an
    /// `AutoRemove` waits for such readers before deleting the log. Taken by `attach` when
    /// the request arrives, before the container may even start.
    pub fn follow_guard(&self, id: &str) -> FollowGuard {
        let mut t = self.followers.lock().unwrap_or_else(|p| p.into_inner());
        *t.entry(id.to_string()).or_insert(0) += 1;
        FollowGuard {
            table: self.followers.clone(),
            id: id.to_string(),
        }
    }

    /// Notes a failed start of `id`, which ends the follows waiting for it.
    pub(crate) fn note_failed_start(&self, id: &str) {
        let mut t = self.failed_starts.lock().unwrap_or_else(|p| p.into_inner());
        *t.entry(id.to_string()).or_insert(0) += 1;
    }

    fn failed_starts_of(&self, id: &str) -> u64 {
        let t = self.failed_starts.lock().unwrap_or_else(|p| p.into_inner());
        t.get(id).copied().unwrap_or(0)
    }

    /// How many clients follow the container's log now (attach, `logs -f`).
    pub(crate) fn followers_of(&self, id: &str) -> usize {
        let t = self.followers.lock().unwrap_or_else(|p| p.into_inner());
        t.get(id).copied().unwrap_or(0)
    }

    /// Follows the container's log: `sink` gets the lines already there (the last
    /// `opts.tail` of them), then each batch of new ones — possibly empty, about every
    /// 50 ms, so the caller can notice its client left and answer with an error — until the
    /// container is no longer running and the log is drained. With `until_started`, a
    /// container that is not running is waited for until it is started again (an attach
    /// before `start`, as `docker run` and `docker start -a` do) instead of ending at once.
    /// An error from `sink` ends the follow quietly (the client went away).
    pub fn follow_container_logs(
        &self,
        name_or_id: &str,
        opts: LogOptions,
        until_started: bool,
        mut sink: impl FnMut(&[LogLine]) -> std::io::Result<()>,
    ) -> Result<()> {
        let mut rec = self.find_container(name_or_id)?;
        let _following = self.follow_guard(&rec.id);
        let attached_at = rec.started_at.clone();
        let failed_before = self.failed_starts_of(&rec.id);
        let mut dead_since = std::time::Instant::now();
        let live = berth_shim::log::log_path(&self.shim_dir(&rec.id), &rec.id);
        let mut first = Vec::new();
        for path in rotated_files(&live).into_iter().rev() {
            // A rotated file last written before `since` holds nothing wanted.
            if opts
                .since
                .is_some_and(|s| modified_nanos(&path).is_some_and(|m| m < s))
            {
                continue;
            }
            read_whole(&path, &opts, &mut first)?;
        }
        let mut tail = Tail {
            file: None,
            partial: Vec::new(),
        };
        tail.read_new(&live, &opts, &mut first)?;
        if let Some(n) = opts.tail {
            let skip = first.len().saturating_sub(n);
            first.drain(..skip);
        }
        if sink(&first).is_err() {
            return Ok(());
        }
        // The run being watched for its exit, and the watch.
        let mut watching: Option<String> = None;
        let mut watch: Option<berth_shim::ExitWatch> = None;
        loop {
            let done = match self.find_container(&rec.id) {
                Ok(r) => {
                    rec = r;
                    let restarted = rec.started_at != attached_at;
                    let status = self.container_status(&rec);
                    if status != super::ContainerStatus::Dead {
                        dead_since = std::time::Instant::now();
                    }
                    match status {
                        super::ContainerStatus::Running { .. } => {
                            if watching != rec.started_at {
                                watch = berth_shim::ShimClient::connect(self.shim_dir(&rec.id))
                                    .and_then(|c| c.exit_watch())
                                    .ok();
                                watching = rec.started_at.clone();
                            }
                            false
                        }
                        // Between the start's record and its shim's first answer the
                        // container reads as dead: give the spawn time before ending.
                        super::ContainerStatus::Dead if until_started && restarted => {
                            dead_since.elapsed() > super::START_GRACE
                        }
                        // The start this attach waits for failed.
                        _ if until_started && self.failed_starts_of(&rec.id) != failed_before => {
                            true
                        }
                        _ => !until_started || restarted,
                    }
                }
                Err(EngineError::NoSuchContainer { .. }) => true,
                Err(e) => return Err(e),
            };
            let mut lines = Vec::new();
            tail.read_new(&live, &opts, &mut lines)?;
            if sink(&lines).is_err() || done {
                return Ok(());
            }
            // Wakes at the exit rather than up to a poll later (`docker run` ends sooner).
            match &watch {
                Some(w) if w.wait_timeout(FOLLOW_POLL).unwrap_or(true) => watch = None,
                Some(_) => {}
                None => std::thread::sleep(FOLLOW_POLL),
            }
        }
    }

    /// The container's log lines.
    pub fn container_logs(&self, name_or_id: &str, opts: LogOptions) -> Result<Vec<LogLine>> {
        let rec = self.find_container(name_or_id)?;
        let live = berth_shim::log::log_path(&self.shim_dir(&rec.id), &rec.id);
        let mut files = rotated_files(&live);
        let mut out = Vec::new();
        if let (Some(n), None) = (opts.tail, opts.since) {
            // From the end: the newest file first, older ones only if it held too few.
            let mut left = n;
            for path in std::iter::once(&live).chain(files.iter()) {
                if left == 0 {
                    break;
                }
                left -= super::logtail::last_lines(path, &opts, left, &mut out)?;
            }
            return Ok(out);
        }
        files.reverse();
        files.push(live);
        for path in files {
            read_whole(&path, &opts, &mut out)?;
        }
        if let Some(n) = opts.tail {
            let skip = out.len().saturating_sub(n);
            out.drain(..skip);
        }
        Ok(out)
    }
}

fn modified_nanos(path: &Path) -> Option<i128> {
    let m = fs::metadata(path).ok()?.modified().ok()?;
    let d = m.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(d.as_nanos() as i128)
}

/// `<live>.1`, `<live>.2`, … that exist, newest first.
fn rotated_files(live: &Path) -> Vec<PathBuf> {
    (1..)
        .map(|n| {
            let mut p = live.to_path_buf().into_os_string();
            p.push(format!(".{n}"));
            PathBuf::from(p)
        })
        .take_while(|p| p.exists())
        .collect()
}

/// Every selected line of one file (none if it is gone).
fn read_whole(path: &Path, opts: &LogOptions, out: &mut Vec<LogLine>) -> Result<()> {
    let f = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(EngineError::io("opening", path, e)),
    };
    for line in BufReader::new(f).split(b'\n') {
        let line = line.map_err(|e| EngineError::io("reading", path, e))?;
        out.extend(parse_line(&line, opts));
    }
    Ok(())
}
