//! Replacing a small file so that a reader, or the file after a crash, holds the old content
//! or the new one, never a part: a temp file in the same directory (a unique name, so
//! concurrent writers do not share one), fsync, rename over the target, fsync of the directory.
//! The one implementation for records, state and exit files across berth.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The temp name [`write_atomic`] uses for a file in `dir`: `.<pid>-<n>.tmp`, so that a
/// sweeper can tell whose writer died.
pub fn atomic_temp_name() -> String {
    format!(
        ".{}-{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Replaces `path` with `data` atomically and durably; see the module docs.
pub fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let temp = dir.join(atomic_temp_name());
    let write = || -> io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        f.write_all(data)?;
        f.sync_all()?;
        fs::rename(&temp, path)
    };
    if let Err(e) = write() {
        let _ = fs::remove_file(&temp);
        return Err(e);
    }
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_and_leaves_no_temp() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("f.json");
        super::write_atomic(&p, b"one").unwrap();
        super::write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1);
        assert!(super::write_atomic(&t.path().join("no/such/dir/f"), b"x").is_err());
    }
}
