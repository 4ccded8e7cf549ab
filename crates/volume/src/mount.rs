//! The local driver's mount options, `type`, `device` and `o`, as `docker volume create
//! --opt type=tmpfs --opt device=tmpfs --opt o=size=100m` gives them: the volume's `_data` is
//! `mount -t TYPE -o O DEVICE` (`o=bind` with `type=none` binds a host directory).
//!
//! Why mountinfo rather than a flag on disk: whether `_data` is mounted is a fact of the
//! kernel, lost on reboot and kept over a daemon restart; `/proc/self/mountinfo` is the one
//! source that is right in both cases, so "mount when first needed" is "mount unless
//! mountinfo lists `_data`".

use std::collections::BTreeMap;
use std::path::Path;

use nix::mount::{mount, umount2, MntFlags, MsFlags};

use crate::VolumeError;

/// The option keys the local driver accepts.
pub const OPTION_KEYS: [&str; 3] = ["type", "device", "o"];

/// Checks driver options: only [`OPTION_KEYS`], and `type` and `device` together.
pub fn validate_options(opts: &BTreeMap<String, String>) -> Result<(), VolumeError> {
    if let Some(k) = opts.keys().find(|k| !OPTION_KEYS.contains(&k.as_str())) {
        return Err(VolumeError::InvalidArgument(format!(
            "invalid option key: {k:?}: the local driver accepts type, device and o"
        )));
    }
    let has = |k: &str| opts.get(k).is_some_and(|v| !v.is_empty());
    if has("o") || has("type") || has("device") {
        for k in ["type", "device"] {
            if !has(k) {
                return Err(VolumeError::InvalidArgument(format!(
                    "missing required option: {k:?}: give --opt type=… and --opt device=… \
                     (type=none with o=bind for a host directory)"
                )));
            }
        }
    }
    Ok(())
}

/// Whether the options ask for a mount.
pub fn needs_mount(opts: &BTreeMap<String, String>) -> bool {
    opts.get("type").is_some_and(|v| !v.is_empty())
}

/// Splits `o` into mount flags and the file system's data string, as `mount(8)` does.
pub fn parse_o(o: &str) -> (MsFlags, String) {
    let mut flags = MsFlags::empty();
    let mut data = Vec::new();
    for opt in o.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let f = match opt {
            "bind" => MsFlags::MS_BIND,
            "rbind" => MsFlags::MS_BIND | MsFlags::MS_REC,
            "ro" => MsFlags::MS_RDONLY,
            "rw" => MsFlags::empty(),
            "nosuid" => MsFlags::MS_NOSUID,
            "nodev" => MsFlags::MS_NODEV,
            "noexec" => MsFlags::MS_NOEXEC,
            "noatime" => MsFlags::MS_NOATIME,
            "nodiratime" => MsFlags::MS_NODIRATIME,
            "relatime" => MsFlags::MS_RELATIME,
            "strictatime" => MsFlags::MS_STRICTATIME,
            "sync" => MsFlags::MS_SYNCHRONOUS,
            "dirsync" => MsFlags::MS_DIRSYNC,
            "mand" => MsFlags::MS_MANDLOCK,
            "defaults" | "suid" | "dev" | "exec" | "async" | "atime" => MsFlags::empty(),
            other => {
                data.push(other.to_owned());
                continue;
            }
        };
        flags |= f;
    }
    (flags, data.join(","))
}

/// Mounts the options' file system on `target`.
pub fn mount_options(
    name: &str,
    opts: &BTreeMap<String, String>,
    target: &Path,
) -> Result<(), VolumeError> {
    let fstype = opts.get("type").map(String::as_str).unwrap_or("");
    let device = opts.get("device").map(String::as_str).unwrap_or("");
    let (flags, data) = parse_o(opts.get("o").map(String::as_str).unwrap_or(""));
    let data = (!data.is_empty()).then_some(data.as_str());
    mount(Some(device), target, Some(fstype), flags, data).map_err(|e| VolumeError::Mount {
        what: "mounting",
        name: name.to_owned(),
        reason: format!(
            "mount -t {fstype} -o {data:?} {device} {}: {e}",
            target.display()
        ),
    })?;
    if flags.contains(MsFlags::MS_BIND) && flags.contains(MsFlags::MS_RDONLY) {
        // A bind mount ignores MS_RDONLY until remounted.
        let ro = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
        if let Err(e) = mount(None::<&str>, target, None::<&str>, ro, None::<&str>) {
            let _ = umount2(target, MntFlags::MNT_DETACH);
            return Err(VolumeError::Mount {
                what: "mounting",
                name: name.to_owned(),
                reason: format!("making the bind mount read-only: {e}"),
            });
        }
    }
    Ok(())
}

/// Unmounts everything mounted on `target` (mounts may be stacked).
pub fn unmount_all(name: &str, target: &Path) -> Result<(), VolumeError> {
    for _ in 0..32 {
        if !is_mounted(target) {
            return Ok(());
        }
        umount2(target, MntFlags::MNT_DETACH).map_err(|e| VolumeError::Mount {
            what: "unmounting",
            name: name.to_owned(),
            reason: format!("umount {}: {e}", target.display()),
        })?;
    }
    Err(VolumeError::Mount {
        what: "unmounting",
        name: name.to_owned(),
        reason: format!("{} is still mounted after 32 unmounts", target.display()),
    })
}

/// Whether `/proc/self/mountinfo` lists a mount on `path`.
pub fn is_mounted(path: &Path) -> bool {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let want = path.to_string_lossy();
    text.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .any(|p| unescape(p) == want)
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        let (f, d) = parse_o("size=100m,uid=1000,noexec,ro");
        assert_eq!(f, MsFlags::MS_NOEXEC | MsFlags::MS_RDONLY);
        assert_eq!(d, "size=100m,uid=1000");
        assert_eq!(parse_o("bind").0, MsFlags::MS_BIND);
        let m = |kv: &[(&str, &str)]| {
            kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>()
        };
        assert!(validate_options(&m(&[("type", "tmpfs"), ("device", "tmpfs")])).is_ok());
        assert!(validate_options(&m(&[])).is_ok());
        assert!(validate_options(&m(&[("type", "tmpfs")])).is_err());
        assert!(validate_options(&m(&[("size", "1")])).is_err());
        assert!(needs_mount(&m(&[("type", "tmpfs"), ("device", "tmpfs")])));
        assert_eq!(unescape("/a\\040b"), "/a b");
        assert!(is_mounted(Path::new("/proc")));
        assert!(!is_mounted(Path::new("/proc/nonexistent")));
    }
}
