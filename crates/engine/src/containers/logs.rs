//! `docker logs`: the shim's json-file log read back, rotated files first (oldest to newest),
//! so the lines come out in the order the container wrote them.
//!
//! Why read the files and not ask the shim: the log outlives the shim (an exited container's
//! shim is gone) and the format is Docker's, one JSON object per line.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;

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

impl Engine {
    /// The container's log lines.
    pub fn container_logs(&self, name_or_id: &str, opts: LogOptions) -> Result<Vec<LogLine>> {
        let rec = self.find_container(name_or_id)?;
        let live = berth_shim::log::log_path(&self.shim_dir(&rec.id), &rec.id);
        let mut files: Vec<PathBuf> = (1..)
            .map(|n| {
                let mut p = live.clone().into_os_string();
                p.push(format!(".{n}"));
                PathBuf::from(p)
            })
            .take_while(|p| p.exists())
            .collect();
        files.reverse();
        files.push(live);
        let mut out = Vec::new();
        for path in files {
            let f = match fs::File::open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(EngineError::io("opening", &path, e)),
            };
            for line in BufReader::new(f).lines() {
                let line = line.map_err(|e| EngineError::io("reading", &path, e))?;
                let Ok(e) = serde_json::from_str::<Entry>(&line) else {
                    continue;
                };
                let stream = match e.stream.as_str() {
                    "stdout" if opts.stdout => LogStream::Stdout,
                    "stderr" if opts.stderr => LogStream::Stderr,
                    _ => continue,
                };
                out.push(LogLine {
                    stream,
                    time: e.time,
                    text: e.log,
                });
            }
        }
        if let Some(n) = opts.tail {
            let skip = out.len().saturating_sub(n);
            out.drain(..skip);
        }
        Ok(out)
    }
}
