//! Docker's json-file log driver: one `{"log":…,"stream":…,"time":…}` object per line, in
//! `<state-dir>/<id>-json.log`, so `docker logs` semantics (and tools reading Docker's files)
//! carry over. Rotation renames `.log` → `.log.1` → `.log.2` … and keeps at most `max_files`
//! files in all; it is on by default (10 MiB × 3), unlike Docker, so a chatty container
//! cannot fill the disk.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

/// Default size at which the log rotates.
pub const DEFAULT_MAX_SIZE: u64 = 10 * 1024 * 1024;
/// Default number of files kept (the live one included).
pub const DEFAULT_MAX_FILES: u32 = 3;
/// A line longer than this is written in parts, as Docker does (16 KiB).
const MAX_LINE: usize = 16 * 1024;

/// The log file name of container `id`.
pub fn log_path(state_dir: &Path, id: &str) -> PathBuf {
    state_dir.join(format!("{id}-json.log"))
}

#[derive(Serialize)]
struct Entry<'a> {
    log: &'a str,
    stream: &'a str,
    time: &'a str,
}

/// An append-only json-file log with size rotation.
#[derive(Debug)]
pub struct JsonLog {
    path: PathBuf,
    file: File,
    size: u64,
    max_size: u64,
    max_files: u32,
}

impl JsonLog {
    /// Opens (appending to) the log at `path`. `max_size` 0 means no rotation.
    pub fn open(path: PathBuf, max_size: u64, max_files: u32) -> io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let size = file.metadata()?.len();
        Ok(JsonLog {
            path,
            file,
            size,
            max_size,
            max_files: max_files.max(1),
        })
    }

    /// Appends one entry for `line` (which carries its own `\n` unless it is a partial line).
    pub fn write_line(&mut self, stream: &str, line: &[u8]) -> io::Result<()> {
        let text = String::from_utf8_lossy(line);
        let time = crate::time::now();
        let mut data = serde_json::to_vec(&Entry {
            log: &text,
            stream,
            time: &time,
        })
        .map_err(io::Error::other)?;
        data.push(b'\n');
        if self.max_size > 0 && self.size > 0 && self.size + data.len() as u64 > self.max_size {
            self.rotate()?;
        }
        self.file.write_all(&data)?;
        self.size += data.len() as u64;
        Ok(())
    }

    fn rotated(&self, n: u32) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(format!(".{n}"));
        p.into()
    }

    fn rotate(&mut self) -> io::Result<()> {
        if self.max_files > 1 {
            let _ = fs::remove_file(self.rotated(self.max_files - 1));
            for n in (1..self.max_files - 1).rev() {
                let _ = fs::rename(self.rotated(n), self.rotated(n + 1));
            }
            fs::rename(&self.path, self.rotated(1))?;
            self.file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
        } else {
            self.file.set_len(0)?;
        }
        self.size = 0;
        Ok(())
    }
}

/// Splits a byte stream into lines for one stream of the log, keeping partial lines.
#[derive(Debug)]
pub struct LineSplitter {
    /// "stdout" or "stderr".
    pub stream: &'static str,
    buf: Vec<u8>,
}

impl LineSplitter {
    /// A splitter for `stream`.
    pub fn new(stream: &'static str) -> Self {
        LineSplitter {
            stream,
            buf: Vec::new(),
        }
    }

    /// Feeds bytes; writes every complete line (and over-long parts) to `log`.
    pub fn feed(&mut self, data: &[u8], log: &mut JsonLog) -> io::Result<()> {
        self.buf.extend_from_slice(data);
        let mut start = 0;
        while let Some(i) = self.buf[start..].iter().position(|&b| b == b'\n') {
            let end = start + i + 1;
            log.write_line(self.stream, &self.buf[start..end])?;
            start = end;
        }
        while self.buf.len() - start >= MAX_LINE {
            log.write_line(self.stream, &self.buf[start..start + MAX_LINE])?;
            start += MAX_LINE;
        }
        self.buf.drain(..start);
        Ok(())
    }

    /// Writes what is left (a last line without `\n`).
    pub fn flush(&mut self, log: &mut JsonLog) -> io::Result<()> {
        if !self.buf.is_empty() {
            log.write_line(self.stream, &self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_rotates() {
        let d = tempfile::tempdir().unwrap();
        let p = log_path(d.path(), "c");
        let mut log = JsonLog::open(p.clone(), 300, 3).unwrap();
        let mut s = LineSplitter::new("stdout");
        s.feed(b"hel", &mut log).unwrap();
        s.feed(b"lo\nwor", &mut log).unwrap();
        s.flush(&mut log).unwrap();
        let text = fs::read_to_string(&p).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["log"], "hello\n");
        assert_eq!(lines[1]["log"], "wor");
        assert_eq!(lines[1]["stream"], "stdout");
        for _ in 0..50 {
            s.feed(b"0123456789012345678901234567890123456789\n", &mut log)
                .unwrap();
        }
        assert!(log.rotated(1).exists() && log.rotated(2).exists());
        assert!(!log.rotated(3).exists());
        assert!(fs::metadata(&p).unwrap().len() <= 300);
    }
}
