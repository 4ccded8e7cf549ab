//! Linux capabilities of the container process: the bounding set, the effective, permitted
//! and inheritable sets, and the ambient set.
//!
//! Why it is done this way:
//! - Everything here acts on the *calling thread* (capset(2) with pid 0, prctl(2)). It is meant
//!   for the forked, single-threaded container child between fork and execve, where the thread
//!   is the process. Nothing here takes a lock or starts a thread.
//! - Order matters and is runc's: [`drop_bounding`] while still root with CAP_SETPCAP, then
//!   [`keep_caps_across_setuid`] before setresuid to a non-zero uid (otherwise the kernel clears
//!   the permitted set at the uid change), then [`apply_sets`] after the uid change.
//! - A set missing from the spec is the empty set, as in runc: a container never inherits the
//!   runtime's own capabilities by accident.
//! - The spec may name capabilities the running kernel does not know (CAP_BPF on a 5.4 kernel).
//!   Like runc we skip those with a warning instead of failing, because the same config.json
//!   must start on older hosts. The kernel's last capability comes from
//!   `/proc/sys/kernel/cap_last_cap`, or from probing PR_CAPBSET_READ when /proc is not mounted.
//! - capset(2) is called raw (version 3, two 32-bit words per set) rather than through a crate:
//!   it is one system call and the layout is fixed ABI.
//!
//! Functions return warnings as values; this module never prints.

/// The 14 capabilities Docker grants a container by default (moby `oci/caps.DefaultCapabilities`),
/// in its order.
pub const DOCKER_DEFAULTS: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

use std::collections::{BTreeMap, HashSet};

use berth_types::ErrorKind;
use nix::errno::Errno;
use oci_spec::runtime::{Capability, LinuxCapabilities};

/// Every capability oci-spec knows, indexed by its kernel number (linux/capability.h).
const TABLE: [(Capability, &str); 41] = [
    (Capability::Chown, "CAP_CHOWN"),
    (Capability::DacOverride, "CAP_DAC_OVERRIDE"),
    (Capability::DacReadSearch, "CAP_DAC_READ_SEARCH"),
    (Capability::Fowner, "CAP_FOWNER"),
    (Capability::Fsetid, "CAP_FSETID"),
    (Capability::Kill, "CAP_KILL"),
    (Capability::Setgid, "CAP_SETGID"),
    (Capability::Setuid, "CAP_SETUID"),
    (Capability::Setpcap, "CAP_SETPCAP"),
    (Capability::LinuxImmutable, "CAP_LINUX_IMMUTABLE"),
    (Capability::NetBindService, "CAP_NET_BIND_SERVICE"),
    (Capability::NetBroadcast, "CAP_NET_BROADCAST"),
    (Capability::NetAdmin, "CAP_NET_ADMIN"),
    (Capability::NetRaw, "CAP_NET_RAW"),
    (Capability::IpcLock, "CAP_IPC_LOCK"),
    (Capability::IpcOwner, "CAP_IPC_OWNER"),
    (Capability::SysModule, "CAP_SYS_MODULE"),
    (Capability::SysRawio, "CAP_SYS_RAWIO"),
    (Capability::SysChroot, "CAP_SYS_CHROOT"),
    (Capability::SysPtrace, "CAP_SYS_PTRACE"),
    (Capability::SysPacct, "CAP_SYS_PACCT"),
    (Capability::SysAdmin, "CAP_SYS_ADMIN"),
    (Capability::SysBoot, "CAP_SYS_BOOT"),
    (Capability::SysNice, "CAP_SYS_NICE"),
    (Capability::SysResource, "CAP_SYS_RESOURCE"),
    (Capability::SysTime, "CAP_SYS_TIME"),
    (Capability::SysTtyConfig, "CAP_SYS_TTY_CONFIG"),
    (Capability::Mknod, "CAP_MKNOD"),
    (Capability::Lease, "CAP_LEASE"),
    (Capability::AuditWrite, "CAP_AUDIT_WRITE"),
    (Capability::AuditControl, "CAP_AUDIT_CONTROL"),
    (Capability::Setfcap, "CAP_SETFCAP"),
    (Capability::MacOverride, "CAP_MAC_OVERRIDE"),
    (Capability::MacAdmin, "CAP_MAC_ADMIN"),
    (Capability::Syslog, "CAP_SYSLOG"),
    (Capability::WakeAlarm, "CAP_WAKE_ALARM"),
    (Capability::BlockSuspend, "CAP_BLOCK_SUSPEND"),
    (Capability::AuditRead, "CAP_AUDIT_READ"),
    (Capability::Perfmon, "CAP_PERFMON"),
    (Capability::Bpf, "CAP_BPF"),
    (Capability::CheckpointRestore, "CAP_CHECKPOINT_RESTORE"),
];

/// `_LINUX_CAPABILITY_VERSION_3`: 64-bit sets passed as two 32-bit words.
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// What can go wrong while setting capabilities. Every variant keeps the errno.
#[derive(Debug, thiserror::Error)]
pub enum CapsError {
    /// Neither /proc/sys/kernel/cap_last_cap nor PR_CAPBSET_READ told us the last capability.
    #[error("cannot find the kernel's last capability: /proc/sys/kernel/cap_last_cap: {read}; PR_CAPBSET_READ: {errno}")]
    LastCap {
        /// Why reading the file failed.
        read: String,
        /// What probing returned.
        errno: Errno,
    },
    /// prctl(PR_CAPBSET_DROP) failed.
    #[error(
        "dropping {cap} from the bounding set: {errno}: this needs CAP_SETPCAP in the runtime"
    )]
    DropBounding {
        /// The capability.
        cap: &'static str,
        /// The errno.
        errno: Errno,
    },
    /// prctl(PR_SET_KEEPCAPS) failed.
    #[error("prctl(PR_SET_KEEPCAPS, 1): {errno}")]
    KeepCaps {
        /// The errno.
        errno: Errno,
    },
    /// capset(2) refused the effective, permitted and inheritable sets.
    #[error("capset (effective {effective:#x}, permitted {permitted:#x}, inheritable {inheritable:#x}): {errno}: effective must be within permitted, permitted can only shrink, and inheritable must stay within permitted plus the bounding set")]
    Capset {
        /// Effective mask asked for.
        effective: u64,
        /// Permitted mask asked for.
        permitted: u64,
        /// Inheritable mask asked for.
        inheritable: u64,
        /// The errno.
        errno: Errno,
    },
    /// prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL) failed.
    #[error("clearing the ambient capability set: {errno}")]
    AmbientClear {
        /// The errno.
        errno: Errno,
    },
    /// prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE) failed.
    #[error("raising ambient capability {cap}: {errno}: an ambient capability must also be in process.capabilities.permitted and .inheritable")]
    AmbientRaise {
        /// The capability.
        cap: &'static str,
        /// The errno.
        errno: Errno,
    },
}

impl CapsError {
    /// The class of this failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            CapsError::Capset {
                errno: Errno::EPERM,
                ..
            }
            | CapsError::AmbientRaise { .. } => ErrorKind::InvalidArgument,
            _ => ErrorKind::Internal,
        }
    }
}

/// The kernel number of `cap` (CAP_CHOWN = 0 … CAP_CHECKPOINT_RESTORE = 40).
pub fn number(cap: Capability) -> u32 {
    // The table is indexed by number and covers every variant (checked by a test), so the
    // fallback is never taken.
    let index = TABLE.iter().position(|(c, _)| *c == cap);
    index
        .and_then(|i| u32::try_from(i).ok())
        .unwrap_or(u32::MAX)
}

/// The kernel name of `cap`, e.g. `"CAP_SYS_ADMIN"`.
pub fn name(cap: Capability) -> &'static str {
    TABLE
        .iter()
        .find(|(c, _)| *c == cap)
        .map_or("CAP_UNKNOWN", |(_, n)| n)
}

/// The capability with kernel number `n`, if oci-spec knows it.
pub fn by_number(n: u32) -> Option<Capability> {
    TABLE.get(usize::try_from(n).ok()?).map(|(c, _)| *c)
}

/// The capability named `s`: `"CAP_SYS_ADMIN"` or `"SYS_ADMIN"`, any case.
pub fn by_name(s: &str) -> Option<Capability> {
    let upper = s.to_ascii_uppercase();
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    TABLE.iter().find(|(_, n)| *n == full).map(|(c, _)| *c)
}

/// The highest capability number the running kernel knows.
///
/// Reads `/proc/sys/kernel/cap_last_cap`; when that is not readable (no /proc yet in the
/// container's mount namespace) probes PR_CAPBSET_READ, which fails with EINVAL past the end.
pub fn last_cap() -> Result<u32, CapsError> {
    let read = match std::fs::read_to_string("/proc/sys/kernel/cap_last_cap") {
        Ok(s) => match s.trim().parse::<u32>() {
            Ok(n) => return Ok(n),
            Err(e) => format!("{:?}: {e}", s.trim()),
        },
        Err(e) => e.to_string(),
    };
    let mut last = None;
    for n in 0..64u32 {
        match bounding_has(n) {
            Ok(_) => last = Some(n),
            Err(errno) => {
                return last.ok_or(CapsError::LastCap { read, errno });
            }
        }
    }
    last.ok_or(CapsError::LastCap {
        read,
        errno: Errno::EINVAL,
    })
}

/// Whether capability `n` is in the calling thread's bounding set.
fn bounding_has(n: u32) -> Result<bool, Errno> {
    // SAFETY: prctl(PR_CAPBSET_READ) takes integer arguments only and touches no memory.
    let r = unsafe { libc::prctl(libc::PR_CAPBSET_READ, libc::c_ulong::from(n), 0, 0, 0) };
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(r == 1)
    }
}

/// Drops from the calling thread's bounding set every capability (up to the kernel's last)
/// that is not in `caps.bounding`. A missing bounding set drops everything.
///
/// Needs CAP_SETPCAP, so call it before changing uid. Returns warnings for capabilities the
/// running kernel does not know (they are skipped).
pub fn drop_bounding(caps: &LinuxCapabilities) -> Result<Vec<String>, CapsError> {
    let last = last_cap()?;
    let mut skipped = BTreeMap::new();
    let keep = mask_of(caps.bounding().as_ref(), "bounding", last, &mut skipped);
    for n in 0..=last.min(63) {
        if keep & (1u64 << n) != 0 {
            continue;
        }
        // Already gone (e.g. we run in a restricted parent): dropping again would need
        // CAP_SETPCAP for nothing.
        if let Ok(false) = bounding_has(n) {
            continue;
        }
        // SAFETY: prctl(PR_CAPBSET_DROP) takes integer arguments only and touches no memory.
        if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(n), 0, 0, 0) } != 0 {
            return Err(CapsError::DropBounding {
                cap: number_name(n),
                errno: Errno::last(),
            });
        }
    }
    Ok(skipped_warnings(&skipped, last))
}

/// Keeps the permitted set across the next setresuid from uid 0 to a non-zero uid
/// (prctl PR_SET_KEEPCAPS). The kernel clears the flag again at execve.
pub fn keep_caps_across_setuid() -> Result<(), CapsError> {
    // SAFETY: prctl(PR_SET_KEEPCAPS) takes integer arguments only and touches no memory.
    if unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1 as libc::c_ulong, 0, 0, 0) } != 0 {
        return Err(CapsError::KeepCaps {
            errno: Errno::last(),
        });
    }
    Ok(())
}

/// `struct __user_cap_header_struct`.
#[repr(C)]
struct CapUserHeader {
    version: u32,
    pid: libc::c_int,
}

/// `struct __user_cap_data_struct`; version 3 takes two of them (low and high 32 bits).
#[repr(C)]
#[derive(Clone, Copy)]
struct CapUserData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Sets the calling thread's effective, permitted and inheritable sets with capset(2), then
/// replaces the ambient set with `caps.ambient`. Missing sets are empty.
///
/// Call it after the uid change (see [`keep_caps_across_setuid`]). The kernel only lets a
/// capability be ambient if it is also permitted and inheritable; like runc (whose own
/// `runc spec` asks for ambient caps without inheritable ones), others are skipped with a
/// warning naming them. Also returns warnings for capabilities the running kernel does not
/// know (they are skipped).
pub fn apply_sets(caps: &LinuxCapabilities) -> Result<Vec<String>, CapsError> {
    let last = last_cap()?;
    let mut skipped = BTreeMap::new();
    let effective = mask_of(caps.effective().as_ref(), "effective", last, &mut skipped);
    let permitted = mask_of(caps.permitted().as_ref(), "permitted", last, &mut skipped);
    let inheritable = mask_of(
        caps.inheritable().as_ref(),
        "inheritable",
        last,
        &mut skipped,
    );
    let ambient = mask_of(caps.ambient().as_ref(), "ambient", last, &mut skipped);

    let mut header = CapUserHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    // Low and high 32 bits; the truncation is the point.
    let words = |m: u64| [(m & 0xffff_ffff) as u32, (m >> 32) as u32];
    let (e, p, i) = (words(effective), words(permitted), words(inheritable));
    let data = [
        CapUserData {
            effective: e[0],
            permitted: p[0],
            inheritable: i[0],
        },
        CapUserData {
            effective: e[1],
            permitted: p[1],
            inheritable: i[1],
        },
    ];
    // SAFETY: `header` and `data` are valid, properly laid out (#[repr(C)]) and live for the
    // call; version 3 makes the kernel read exactly two data structs. pid 0 = calling thread.
    let r = unsafe {
        libc::syscall(
            libc::SYS_capset,
            &mut header as *mut CapUserHeader,
            data.as_ptr(),
        )
    };
    if r != 0 {
        return Err(CapsError::Capset {
            effective,
            permitted,
            inheritable,
            errno: Errno::last(),
        });
    }

    let mut warnings = skipped_warnings(&skipped, last);
    // SAFETY: prctl(PR_CAP_AMBIENT) takes integer arguments only and touches no memory.
    let r = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if r != 0 {
        let errno = Errno::last();
        // Kernels before 4.3 have no ambient set: nothing to clear, only a request to refuse.
        if errno == Errno::EINVAL && ambient == 0 {
            warnings.push("the kernel has no ambient capabilities (before Linux 4.3)".into());
            return Ok(warnings);
        }
        return Err(CapsError::AmbientClear { errno });
    }
    for n in 0..=last.min(63) {
        if ambient & (1u64 << n) == 0 {
            continue;
        }
        if (permitted & inheritable) & (1u64 << n) == 0 {
            warnings.push(format!(
                "ambient capability {} ignored: it must also be in process.capabilities.permitted and .inheritable",
                number_name(n)
            ));
            continue;
        }
        // SAFETY: prctl(PR_CAP_AMBIENT) takes integer arguments only and touches no memory.
        let r = unsafe {
            libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
                libc::c_ulong::from(n),
                0 as libc::c_ulong,
                0 as libc::c_ulong,
            )
        };
        if r != 0 {
            return Err(CapsError::AmbientRaise {
                cap: number_name(n),
                errno: Errno::last(),
            });
        }
    }
    Ok(warnings)
}

/// The mask of `set` (missing = empty); capabilities past `last` are recorded in `skipped`.
fn mask_of(
    set: Option<&HashSet<Capability>>,
    set_name: &'static str,
    last: u32,
    skipped: &mut BTreeMap<u32, Vec<&'static str>>,
) -> u64 {
    let mut mask = 0u64;
    for cap in set.into_iter().flatten() {
        let n = number(*cap);
        if n > last || n > 63 {
            let sets = skipped.entry(n).or_default();
            sets.push(set_name);
            sets.sort_unstable();
            continue;
        }
        mask |= 1u64 << n;
    }
    mask
}

/// One warning per skipped capability, listing the sets it was in.
fn skipped_warnings(skipped: &BTreeMap<u32, Vec<&'static str>>, last: u32) -> Vec<String> {
    skipped
        .iter()
        .map(|(n, sets)| {
            format!(
                "{} (number {n}) in process.capabilities {} is not known to the running kernel (cap_last_cap is {last}): skipped",
                number_name(*n),
                sets.join(", ")
            )
        })
        .collect()
}

fn number_name(n: u32) -> &'static str {
    by_number(n).map_or("CAP_UNKNOWN", name)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Runs `f` in a forked child and returns its exit code (128 + signal if killed).
    ///
    /// `f` must not panic: it reports failures as distinct exit codes.
    pub(crate) fn in_child(f: impl FnOnce() -> i32) -> i32 {
        // SAFETY: the child runs only `f`, which uses no lock another test thread could hold
        // at the fork (glibc resets malloc's locks in the child), and then `_exit`s.
        match unsafe { libc::fork() } {
            -1 => panic!("fork: {}", std::io::Error::last_os_error()),
            0 => {
                let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(101);
                // SAFETY: _exit ends the child without running the harness's destructors.
                unsafe { libc::_exit(code) }
            }
            pid => {
                let mut status = 0;
                loop {
                    // SAFETY: `status` is a valid out pointer; `pid` is our child.
                    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
                    if r == pid {
                        break;
                    }
                    assert_eq!(Errno::last(), Errno::EINTR, "waitpid");
                }
                if libc::WIFEXITED(status) {
                    libc::WEXITSTATUS(status)
                } else {
                    128 + libc::WTERMSIG(status)
                }
            }
        }
    }

    /// Skips the test unless root (panics under CI=true), like `berth_testutil::require_root!`.
    pub(crate) fn is_root_or_skip() -> bool {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            return true;
        }
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "this test needs root and CI=true: run the tests as root"
        );
        eprintln!("skipped: this test needs root");
        false
    }

    /// The `Cap*` masks of /proc/self/status, in the order Inh, Prm, Eff, Bnd, Amb.
    fn status_masks() -> Option<[u64; 5]> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let mut out = [u64::MAX; 5];
        for (i, key) in ["CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"]
            .iter()
            .enumerate()
        {
            let line = status.lines().find(|l| l.starts_with(key))?;
            out[i] = u64::from_str_radix(line[key.len()..].trim(), 16).ok()?;
        }
        Some(out)
    }

    fn set(caps: &[Capability]) -> Option<HashSet<Capability>> {
        Some(caps.iter().copied().collect())
    }

    #[test]
    fn table_numbers_and_names() {
        assert_eq!(number(Capability::Chown), 0);
        assert_eq!(number(Capability::NetBindService), 10);
        assert_eq!(number(Capability::SysAdmin), 21);
        assert_eq!(number(Capability::Bpf), 39);
        assert_eq!(number(Capability::CheckpointRestore), 40);
        assert_eq!(name(Capability::SysAdmin), "CAP_SYS_ADMIN");
        assert_eq!(by_number(39), Some(Capability::Bpf));
        assert_eq!(by_number(41), None);
        assert_eq!(by_name("sys_admin"), Some(Capability::SysAdmin));
        assert_eq!(by_name("CAP_NET_RAW"), Some(Capability::NetRaw));
        assert_eq!(by_name("CAP_NOPE"), None);
        for (i, (cap, n)) in TABLE.iter().enumerate() {
            assert_eq!(number(*cap) as usize, i, "{n}");
            assert_eq!(by_name(n), Some(*cap));
            // oci-spec serializes a capability under its kernel name.
            assert_eq!(serde_json::to_string(cap).ok(), Some(format!("\"{n}\"")));
        }
        let distinct: HashSet<_> = TABLE.iter().map(|(c, _)| *c).collect();
        assert_eq!(distinct.len(), TABLE.len());
    }

    #[test]
    fn unknown_to_kernel_is_skipped_with_one_warning() {
        let mut skipped = BTreeMap::new();
        let caps = set(&[
            Capability::Chown,
            Capability::Bpf,
            Capability::CheckpointRestore,
        ]);
        let m = mask_of(caps.as_ref(), "effective", 38, &mut skipped);
        mask_of(caps.as_ref(), "permitted", 38, &mut skipped);
        assert_eq!(m, 1);
        let w = skipped_warnings(&skipped, 38);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[0].starts_with("CAP_BPF (number 39) in process.capabilities effective, permitted"),
            "{w:?}"
        );
    }

    #[test]
    fn last_cap_matches_the_kernel() {
        let last = last_cap().expect("last_cap");
        assert!(last >= 36, "{last}");
        assert!(bounding_has(last).is_ok());
        assert_eq!(bounding_has(last + 1), Err(Errno::EINVAL));
    }

    #[test]
    fn sets_are_applied_exactly() {
        if !is_root_or_skip() {
            return;
        }
        let two = set(&[Capability::Chown, Capability::NetBindService]);
        let spec = LinuxCapabilities::default()
            .set_bounding(two.clone())
            .set_effective(two.clone())
            .set_permitted(two)
            .set_inheritable(None)
            .set_ambient(None)
            .clone();
        let code = in_child(|| {
            // A new UTS namespace, so that a broken test cannot rename the host.
            // SAFETY: unshare takes flags only.
            if unsafe { libc::unshare(libc::CLONE_NEWUTS) } != 0 {
                return 2;
            }
            if drop_bounding(&spec).is_err() {
                return 3;
            }
            if apply_sets(&spec).is_err() {
                return 4;
            }
            let want = 1u64 | 1 << 10;
            match status_masks() {
                Some([0, p, e, b, 0]) if p == want && e == want && b == want => {}
                Some(_) => return 5,
                None => return 6,
            }
            // CAP_SYS_ADMIN is gone.
            // SAFETY: the name pointer and length describe a valid buffer.
            if unsafe { libc::sethostname(b"berth".as_ptr().cast(), 5) } == 0 {
                return 7;
            }
            if Errno::last() != Errno::EPERM {
                return 8;
            }
            0
        });
        assert_eq!(code, 0, "child failed at step {code}");
    }

    #[test]
    fn ambient_is_raised() {
        if !is_root_or_skip() {
            return;
        }
        let one = set(&[Capability::NetBindService]);
        let spec = LinuxCapabilities::default()
            .set_bounding(one.clone())
            .set_effective(one.clone())
            .set_permitted(one.clone())
            .set_inheritable(one.clone())
            .set_ambient(one)
            .clone();
        let code = in_child(|| {
            if drop_bounding(&spec).is_err() {
                return 2;
            }
            if apply_sets(&spec).is_err() {
                return 3;
            }
            match status_masks() {
                Some(m) if m == [1 << 10; 5] => 0,
                Some(_) => 4,
                None => 5,
            }
        });
        assert_eq!(code, 0, "child failed at step {code}");
    }

    #[test]
    fn ambient_outside_inheritable_is_skipped_with_a_warning_naming_it() {
        if !is_root_or_skip() {
            return;
        }
        let one = set(&[Capability::NetBindService]);
        let spec = LinuxCapabilities::default()
            .set_bounding(one.clone())
            .set_effective(one.clone())
            .set_permitted(one.clone())
            .set_inheritable(None)
            .set_ambient(one)
            .clone();
        let code = in_child(|| match apply_sets(&spec) {
            Ok(w) if w.iter().any(|w| w.contains("CAP_NET_BIND_SERVICE")) => {
                // Nothing ambient, the rest applied.
                let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
                if status.contains("CapAmb:\t0000000000000000")
                    && status.contains("CapEff:\t0000000000000400")
                {
                    0
                } else {
                    4
                }
            }
            Ok(_) => 3,
            Err(_) => 2,
        });
        assert_eq!(code, 0, "child failed at step {code}");
    }

    #[test]
    fn keep_caps_survives_setuid() {
        if !is_root_or_skip() {
            return;
        }
        let one = set(&[Capability::NetBindService]);
        let spec = LinuxCapabilities::default()
            .set_bounding(one.clone())
            .set_effective(one.clone())
            .set_permitted(one)
            .set_inheritable(None)
            .set_ambient(None)
            .clone();
        let code = in_child(|| {
            if drop_bounding(&spec).is_err() {
                return 2;
            }
            if keep_caps_across_setuid().is_err() {
                return 3;
            }
            // SAFETY: setresuid takes integers only.
            if unsafe { libc::setresuid(1000, 1000, 1000) } != 0 {
                return 4;
            }
            if apply_sets(&spec).is_err() {
                return 5;
            }
            match status_masks() {
                Some([0, p, e, b, 0]) if p == 1 << 10 && e == 1 << 10 && b == 1 << 10 => 0,
                Some(_) => 6,
                None => 7,
            }
        });
        assert_eq!(code, 0, "child failed at step {code}");
    }

    #[test]
    fn empty_spec_clears_everything() {
        if !is_root_or_skip() {
            return;
        }
        let spec = LinuxCapabilities::default()
            .set_bounding(None)
            .set_effective(None)
            .set_permitted(None)
            .set_inheritable(None)
            .set_ambient(None)
            .clone();
        let code = in_child(|| {
            if drop_bounding(&spec).is_err() {
                return 2;
            }
            if apply_sets(&spec).is_err() {
                return 3;
            }
            match status_masks() {
                Some(m) if m == [0; 5] => 0,
                Some(_) => 4,
                None => 5,
            }
        });
        assert_eq!(code, 0, "child failed at step {code}");
    }
}
