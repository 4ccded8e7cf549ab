//! Bind mounts (`Binds` entries, `src:dst[:opts]`), mount-destination checks and tmpfs size
//! formatting.

use std::path::PathBuf;

use super::OptionsError;

/// A bind mount, parsed from `Binds` or `Mounts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindMount {
    /// The absolute host path.
    pub source: PathBuf,
    /// The absolute path in the container.
    pub destination: String,
    /// Mount read-only.
    pub read_only: bool,
    /// The propagation, `rprivate` unless asked.
    pub propagation: String,
}

const PROPAGATIONS: [&str; 6] = [
    "rprivate", "private", "rshared", "shared", "rslave", "slave",
];

/// Parses a `Binds` entry, `src:dst[:opts]` with `opts` a comma list of at most one of each:
/// `ro`/`rw`, `z`/`Z` (SELinux relabel: accepted and ignored, berth has no SELinux), a
/// propagation, and `consistent`/`cached`/`delegated` (macOS, ignored as on Linux Docker).
/// Named volumes (a source that is not an absolute path) are refused: berth has none yet.
pub fn parse_bind(spec: &str) -> Result<BindMount, OptionsError> {
    let err = |reason: &str| OptionsError::Bind {
        spec: spec.to_owned(),
        reason: reason.to_owned(),
    };
    let parts: Vec<&str> = spec.split(':').collect();
    let (src, dst, mode) = match parts.as_slice() {
        [s, d] => (*s, *d, ""),
        [s, d, m] => (*s, *d, *m),
        _ => return Err(err("expected src:dst[:options]")),
    };
    if src.is_empty() || dst.is_empty() {
        return Err(err("expected src:dst[:options]"));
    }
    if !src.starts_with('/') {
        return Err(err(
            "the source is not an absolute host path and named volumes are not supported yet: \
             give an absolute path",
        ));
    }
    check_destination(dst).map_err(|r| err(&r))?;
    let mut read_only = None;
    let mut label = None;
    let mut propagation = None;
    let mut consistency = None;
    for m in mode.split(',').filter(|m| !m.is_empty()) {
        let slot = match m {
            "ro" | "rw" => &mut read_only,
            "z" | "Z" => &mut label,
            "consistent" | "cached" | "delegated" => &mut consistency,
            p if PROPAGATIONS.contains(&p) => &mut propagation,
            _ => {
                return Err(err(&format!(
                    "invalid mode {m:?}: use ro, rw, z, Z or a propagation (rprivate, private, \
                     rshared, shared, rslave, slave)"
                )))
            }
        };
        if slot.replace(m).is_some() {
            return Err(err(&format!(
                "invalid mode {mode:?}: conflicting or repeated options"
            )));
        }
    }
    Ok(BindMount {
        source: PathBuf::from(src),
        destination: dst.to_owned(),
        read_only: read_only == Some("ro"),
        propagation: propagation.unwrap_or("rprivate").to_owned(),
    })
}

/// A mount destination must be absolute and not `/`.
pub(crate) fn check_destination(dst: &str) -> Result<(), String> {
    if !dst.starts_with('/') {
        return Err(format!(
            "invalid mount path: {dst:?} mount path must be absolute"
        ));
    }
    if dst.trim_end_matches('/').is_empty() {
        return Err("invalid specification: destination can't be '/'".to_owned());
    }
    Ok(())
}

/// Formats a tmpfs size as Docker's `ConvertTmpfsOptions` does (`64m`, `1g`, `1000`).
pub(crate) fn tmpfs_size(bytes: i64) -> String {
    const K: i64 = 1024;
    match bytes {
        b if b % (K * K * K) == 0 => format!("{}g", b / (K * K * K)),
        b if b % (K * K) == 0 => format!("{}m", b / (K * K)),
        b if b % K == 0 => format!("{}k", b / K),
        b => b.to_string(),
    }
}
