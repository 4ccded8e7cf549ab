//! Error reporting in runc's shape: text on stderr, and in `--log` (text or one JSON object a line).

use std::io::Write;
use std::path::PathBuf;

pub(crate) struct Logger {
    path: Option<PathBuf>,
    json: bool,
}

impl Logger {
    pub(crate) fn new(path: Option<PathBuf>, format: String) -> Self {
        Logger {
            path,
            json: format == "json",
        }
    }

    pub(crate) fn error(&self, msg: &str) {
        eprintln!("berth-runtime: {msg}");
        let Some(p) = &self.path else { return };
        let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
        else {
            return;
        };
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let time = berth_runtime::state::rfc3339_utc(secs);
        let line = if self.json {
            serde_json::json!({"level": "error", "msg": msg, "time": time}).to_string()
        } else {
            format!("time=\"{time}\" level=error msg={msg:?}")
        };
        let _ = writeln!(f, "{line}");
    }
}
