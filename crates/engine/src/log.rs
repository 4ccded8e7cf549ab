//! The daemon's log on stderr in dockerd's logfmt style:
//! `time="2026-01-01T00:00:00Z" level=info msg="API listen on /run/berth/berth.sock"`.
//! In the engine so that work no request waits for (restart policies, health checks) can
//! report too; berthd sets the level.

use std::sync::atomic::{AtomicU8, Ordering};

static LEVEL: AtomicU8 = AtomicU8::new(1);

/// Severity, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Every request.
    Debug = 0,
    /// Start, stop, listening.
    Info = 1,
    /// Failures no client saw.
    Warn = 2,
    /// Failed requests.
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
        crate::time::format_rfc3339(now),
        level.name(),
        msg
    );
}

/// An informational line.
pub fn info(msg: &str) {
    log(Level::Info, msg);
}

/// A debug line.
pub fn debug(msg: &str) {
    log(Level::Debug, msg);
}

/// A warning: something failed that no client is waiting for (a restart by policy).
pub fn warn(msg: &str) {
    log(Level::Warn, msg);
}
