//! Daemon logs on stderr in dockerd's logfmt style:
//! `time="2026-01-01T00:00:00Z" level=info msg="API listen on /run/berth/berth.sock"`.

use std::sync::atomic::{AtomicU8, Ordering};

static LEVEL: AtomicU8 = AtomicU8::new(1);

/// Severity, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug = 0,
    Info = 1,
    Warn = 2,
    Error = 3,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warning",
            Level::Error => "error",
        }
    }
}

/// Sets the threshold from a `--log-level` word (already validated).
pub fn set_level(word: &str) {
    let l = match word {
        "debug" => Level::Debug,
        "info" => Level::Info,
        "warn" => Level::Warn,
        _ => Level::Error,
    };
    LEVEL.store(l as u8, Ordering::Relaxed);
}

/// Writes one line when `level` passes the threshold.
pub fn log(level: Level, msg: &str) {
    if (level as u8) < LEVEL.load(Ordering::Relaxed) {
        return;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
    eprintln!(
        "time=\"{}\" level={} msg={:?}",
        berth_engine::time::format_rfc3339(now),
        level.name(),
        msg
    );
}

pub fn info(msg: &str) {
    log(Level::Info, msg);
}

pub fn debug(msg: &str) {
    log(Level::Debug, msg);
}
