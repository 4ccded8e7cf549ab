//! Parsing OCI mount options into mount(2) flags, propagation flags and the data string.
//!
//! Kept pure (no system calls) so the table can be unit-tested without root.

use nix::mount::MsFlags;

/// A mount entry's options, split the way mount(2) wants them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MountOptions {
    /// Flags for the mount call itself (and the read-only remount of binds).
    pub flags: MsFlags,
    /// Flags that were explicitly cleared (`rw`, `dev`, …); they matter for bind remounts.
    pub cleared: MsFlags,
    /// Propagation changes to apply after mounting, in order.
    pub propagation: Vec<MsFlags>,
    /// Whether this is a bind mount, and a recursive one.
    pub bind: Option<Recursive>,
    /// Everything mount(2) does not know as a flag, joined with commas (e.g. `mode=755`).
    pub data: String,
}

/// Whether a bind mount includes the submounts of its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Recursive {
    /// `bind`
    No,
    /// `rbind`
    Yes,
}

pub(crate) fn parse(options: &[String]) -> MountOptions {
    let mut out = MountOptions {
        flags: MsFlags::empty(),
        cleared: MsFlags::empty(),
        propagation: Vec::new(),
        bind: None,
        data: String::new(),
    };
    let mut data: Vec<&str> = Vec::new();
    for opt in options {
        let (set, clear) = match opt.as_str() {
            "ro" => (MsFlags::MS_RDONLY, MsFlags::empty()),
            "rw" => (MsFlags::empty(), MsFlags::MS_RDONLY),
            "nosuid" => (MsFlags::MS_NOSUID, MsFlags::empty()),
            "suid" => (MsFlags::empty(), MsFlags::MS_NOSUID),
            "nodev" => (MsFlags::MS_NODEV, MsFlags::empty()),
            "dev" => (MsFlags::empty(), MsFlags::MS_NODEV),
            "noexec" => (MsFlags::MS_NOEXEC, MsFlags::empty()),
            "exec" => (MsFlags::empty(), MsFlags::MS_NOEXEC),
            "sync" => (MsFlags::MS_SYNCHRONOUS, MsFlags::empty()),
            "async" => (MsFlags::empty(), MsFlags::MS_SYNCHRONOUS),
            "dirsync" => (MsFlags::MS_DIRSYNC, MsFlags::empty()),
            "remount" => (MsFlags::MS_REMOUNT, MsFlags::empty()),
            "mand" => (MsFlags::MS_MANDLOCK, MsFlags::empty()),
            "nomand" => (MsFlags::empty(), MsFlags::MS_MANDLOCK),
            "atime" => (MsFlags::empty(), MsFlags::MS_NOATIME),
            "noatime" => (MsFlags::MS_NOATIME, MsFlags::empty()),
            "diratime" => (MsFlags::empty(), MsFlags::MS_NODIRATIME),
            "nodiratime" => (MsFlags::MS_NODIRATIME, MsFlags::empty()),
            "relatime" => (MsFlags::MS_RELATIME, MsFlags::empty()),
            "norelatime" => (MsFlags::empty(), MsFlags::MS_RELATIME),
            "strictatime" => (MsFlags::MS_STRICTATIME, MsFlags::empty()),
            "nostrictatime" => (MsFlags::empty(), MsFlags::MS_STRICTATIME),
            "bind" => {
                out.bind.get_or_insert(Recursive::No);
                continue;
            }
            "rbind" => {
                out.bind = Some(Recursive::Yes);
                continue;
            }
            other => {
                if let Some(p) = propagation(other) {
                    out.propagation.push(p);
                } else {
                    data.push(other);
                }
                continue;
            }
        };
        out.flags |= set;
        out.flags &= !clear;
        out.cleared |= clear;
        out.cleared &= !set;
    }
    out.data = data.join(",");
    out
}

/// The propagation flags named by an option, if it is one.
pub(crate) fn propagation(opt: &str) -> Option<MsFlags> {
    Some(match opt {
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn docker_default_mounts_parse() {
        let o = parse(&s(&["nosuid", "strictatime", "mode=755", "size=65536k"]));
        assert_eq!(o.flags, MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME);
        assert_eq!(o.data, "mode=755,size=65536k");
        assert_eq!(o.bind, None);

        let o = parse(&s(&[
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620",
            "gid=5",
        ]));
        assert_eq!(o.flags, MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC);
        assert_eq!(o.data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
    }

    #[test]
    fn bind_and_propagation() {
        let o = parse(&s(&["rbind", "ro", "rprivate"]));
        assert_eq!(o.bind, Some(Recursive::Yes));
        assert_eq!(o.flags, MsFlags::MS_RDONLY);
        assert_eq!(o.propagation, vec![MsFlags::MS_PRIVATE | MsFlags::MS_REC]);
        assert!(o.data.is_empty());
    }

    #[test]
    fn later_option_wins() {
        let o = parse(&s(&["ro", "rw"]));
        assert!(!o.flags.contains(MsFlags::MS_RDONLY));
        assert!(o.cleared.contains(MsFlags::MS_RDONLY));
        let o = parse(&s(&["rw", "ro"]));
        assert!(o.flags.contains(MsFlags::MS_RDONLY));
        assert!(!o.cleared.contains(MsFlags::MS_RDONLY));
    }
}
