//! `HostConfig.LogConfig`: the log driver and its options (`--log-driver`, `--log-opt`).
//!
//! berth writes Docker's json-file format through the container's shim. Unlike Docker, the
//! log is capped by default (10 MiB × 3 files, the shim's defaults): Docker's unbounded
//! default is how users end up with 80-96 GB log files. `max-size` (Docker's `RAMInBytes`:
//! `k`, `m`, `g` are powers of 1024; `-1` is unbounded) and `max-file` change the cap.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{null_default, OptionsError};

/// The log driver berth has.
pub const JSON_FILE: &str = "json-file";

/// Docker's `LogConfig`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct LogConfig {
    /// The driver; empty means the daemon's default, `json-file`.
    #[serde(rename = "Type", deserialize_with = "null_default")]
    pub driver: String,
    /// Driver options (`max-size`, `max-file`, …).
    #[serde(deserialize_with = "null_default")]
    pub config: BTreeMap<String, String>,
}

/// What the shim is told: the rotation size (0: never rotate) and the files kept; `None`
/// for the shim's defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogLimits {
    /// Rotate at this many bytes.
    pub max_size: Option<u64>,
    /// Files kept, the live one included.
    pub max_files: Option<u32>,
}

/// Checks `c` and returns the limits it asks for.
pub fn log_limits(c: &LogConfig) -> Result<LogLimits, OptionsError> {
    let bad = OptionsError::LogConfig;
    if !c.driver.is_empty() && c.driver != JSON_FILE {
        return Err(bad(format!(
            "log driver {:?} is not supported: berth writes json-file logs; drop \
             --log-driver or use json-file",
            c.driver
        )));
    }
    let mut out = LogLimits::default();
    for (k, v) in &c.config {
        match k.as_str() {
            "max-size" => {
                out.max_size = Some(if v == "-1" {
                    0
                } else {
                    ram_in_bytes(v).ok_or_else(|| {
                        bad(format!(
                            "invalid log-opt max-size={v:?}: give a size like 10m, 512k or 1g"
                        ))
                    })?
                })
            }
            "max-file" => {
                let n: u32 = v.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    bad(format!(
                        "invalid log-opt max-file={v:?}: give a number, at least 1"
                    ))
                })?;
                out.max_files = Some(n);
            }
            // Accepted and without effect here, as in Docker's json-file driver.
            "compress" | "labels" | "labels-regex" | "env" | "env-regex" | "tag" | "mode"
            | "max-buffer-size" => {}
            other => {
                return Err(bad(format!(
                    "unknown log opt {other:?} for the json-file log driver: use max-size or \
                     max-file"
                )))
            }
        }
    }
    if out.max_files.is_some_and(|n| n > 1) && out.max_size == Some(0) {
        return Err(bad(
            "max-file needs max-size: set a size to rotate at".into()
        ));
    }
    Ok(out)
}

/// Docker's `units.RAMInBytes`: a number with an optional `b`, `k`, `m`, `g`, `t`, `p`
/// (powers of 1024, `kb`/`kib` spellings too).
fn ram_in_bytes(s: &str) -> Option<u64> {
    let s = s.trim().to_ascii_lowercase();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    let shift = match unit.trim_end_matches("ib").trim_end_matches('b') {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        "p" => 50,
        _ => return None,
    };
    let v = n * (1u64 << shift) as f64;
    (v.is_finite() && v >= 1.0).then_some(v as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(driver: &str, opts: &[(&str, &str)]) -> LogConfig {
        LogConfig {
            driver: driver.into(),
            config: opts
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn sizes_and_files() {
        assert_eq!(ram_in_bytes("10m"), Some(10 << 20));
        assert_eq!(ram_in_bytes("512k"), Some(512 << 10));
        assert_eq!(ram_in_bytes("1.5g"), Some(3 << 29));
        assert_eq!(ram_in_bytes("100"), Some(100));
        assert_eq!(ram_in_bytes("2MiB"), Some(2 << 20));
        assert_eq!(ram_in_bytes("ten"), None);
        assert_eq!(log_limits(&cfg("", &[])).unwrap(), LogLimits::default());
        let l = log_limits(&cfg(JSON_FILE, &[("max-size", "1m"), ("max-file", "5")])).unwrap();
        assert_eq!((l.max_size, l.max_files), (Some(1 << 20), Some(5)));
        assert_eq!(
            log_limits(&cfg("", &[("max-size", "-1")]))
                .unwrap()
                .max_size,
            Some(0)
        );
    }

    #[test]
    fn refusals_name_the_fix() {
        let e = log_limits(&cfg("syslog", &[])).unwrap_err().to_string();
        assert!(e.contains("syslog") && e.contains("json-file"), "{e}");
        let e = log_limits(&cfg("", &[("max-size", "huge")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("max-size"), "{e}");
        let e = log_limits(&cfg("", &[("max-file", "0")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("max-file"), "{e}");
        assert!(log_limits(&cfg("", &[("bogus", "1")])).is_err());
    }
}
