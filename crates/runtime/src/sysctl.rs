//! Which sysctls a container may set: only those the kernel namespaces, and only when the
//! container has the namespace that owns them (runc's rule). Anything else would change the
//! host for everyone, so it is refused before the container is created.

use crate::error::{Result, RuntimeError};

/// The namespaces a container has (new or joined), as far as sysctls care.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Owned {
    pub ipc: bool,
    pub net: bool,
    pub uts: bool,
}

/// IPC_SYSCTLS sysctls the kernel keeps per IPC_SYSCTLS namespace.
pub const IPC_SYSCTLS: [&str; 8] = [
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// Checks one sysctl key against the container's namespaces.
pub(crate) fn check(key: &str, owned: Owned) -> Result<()> {
    let bad =
        key.is_empty() || key.contains('/') || key.split('.').any(|c| c.is_empty() || c == "..");
    if bad {
        return Err(RuntimeError::Invalid(format!(
            "sysctl {key:?} is not a valid key: use dotted names like net.ipv4.ip_forward"
        )));
    }
    let needs = if IPC_SYSCTLS.contains(&key) || key.starts_with("fs.mqueue.") {
        ("ipc", owned.ipc)
    } else if key.starts_with("net.") {
        ("network", owned.net)
    } else if key == "kernel.hostname" || key == "kernel.domainname" {
        ("uts", owned.uts)
    } else {
        return Err(RuntimeError::Invalid(format!(
            "sysctl {key:?} is not namespaced: setting it would change the whole host; remove it from linux.sysctl"
        )));
    };
    if !needs.1 {
        return Err(RuntimeError::Invalid(format!(
            "sysctl {key:?} needs its own {} namespace: add it to linux.namespaces or remove the sysctl",
            needs.0
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: Owned = Owned {
        ipc: true,
        net: true,
        uts: true,
    };

    #[test]
    fn namespaced_sysctls_pass_with_their_namespace() {
        for k in [
            "net.ipv4.ip_forward",
            "kernel.msgmax",
            "fs.mqueue.msg_max",
            "kernel.shm_rmid_forced",
            "kernel.domainname",
        ] {
            assert!(check(k, ALL).is_ok(), "{k}");
        }
    }

    #[test]
    fn host_wide_or_unowned_sysctls_are_refused_with_a_reason() {
        let e = check("vm.overcommit_memory", ALL).unwrap_err().to_string();
        assert!(e.contains("not namespaced"), "{e}");
        let e = check("net.ipv4.ip_forward", Owned { net: false, ..ALL })
            .unwrap_err()
            .to_string();
        assert!(e.contains("network namespace"), "{e}");
        let e = check("kernel.sem", Owned { ipc: false, ..ALL })
            .unwrap_err()
            .to_string();
        assert!(e.contains("ipc namespace"), "{e}");
    }

    #[test]
    fn path_like_keys_are_refused() {
        for k in ["", "net/ipv4", "net..ipv4", "net.ipv4..", "..", "net.../x"] {
            assert!(
                check(k, ALL)
                    .unwrap_err()
                    .to_string()
                    .contains("not a valid key"),
                "{k:?}"
            );
        }
    }
}
