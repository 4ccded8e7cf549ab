//! The exit record, `<state-dir>/exit.json`: what berthd reads when the shim is gone (the
//! shim exits once it has recorded the exit), so it is written atomically (temp, fsync,
//! rename, fsync of the directory) and survives `kill -9` of anything at any instant.

use std::fs;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// File name of the exit record inside the state dir.
pub const EXIT_FILE: &str = "exit.json";

/// How the container's init ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitInfo {
    /// The exit status, or 128 + signal for a signal death (as Docker reports it).
    pub exit_code: i32,
    /// The signal that killed the init, if one did.
    pub signal: Option<i32>,
    /// When the shim reaped it, RFC 3339 in UTC.
    pub finished_at: String,
}

impl ExitInfo {
    /// From a `waitpid` status: `code` for a normal exit, `signal` for a signal death.
    pub fn new(code: Option<i32>, signal: Option<i32>) -> Self {
        ExitInfo {
            exit_code: match signal {
                Some(s) => 128 + s,
                None => code.unwrap_or(0),
            },
            signal,
            finished_at: crate::time::now(),
        }
    }
}

pub use berth_fs::write_atomic;

/// Writes the exit record.
pub fn write_exit(state_dir: &Path, info: &ExitInfo) -> io::Result<()> {
    let data = serde_json::to_vec(info).map_err(io::Error::other)?;
    write_atomic(&state_dir.join(EXIT_FILE), &data)
}

/// Reads the exit record, `None` when the container has not exited (or never ran).
pub fn read_exit(state_dir: &Path) -> io::Result<Option<ExitInfo>> {
    match fs::read(state_dir.join(EXIT_FILE)) {
        Ok(d) => serde_json::from_slice(&d)
            .map(Some)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(read_exit(d.path()).unwrap(), None);
        let e = ExitInfo::new(None, Some(15));
        assert_eq!(e.exit_code, 143);
        write_exit(d.path(), &e).unwrap();
        assert_eq!(read_exit(d.path()).unwrap(), Some(e));
    }
}
