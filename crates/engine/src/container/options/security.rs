//! Capabilities (`CapAdd`/`CapDrop`/`Privileged`), `SecurityOpt` (seccomp,
//! no-new-privileges, AppArmor, labels), ulimits and sysctls.

use super::{HostConfig, OptionsError, Ulimit};

/// Every capability the kernel has (as of Linux 6.x), Docker's `GetAllCapabilities`.
pub const ALL_CAPABILITIES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The 14 capabilities Docker grants by default (`oci/caps.DefaultCapabilities`), in its order.
pub use berth_runtime::caps::DOCKER_DEFAULTS as DEFAULT_CAPABILITIES;

/// Upper-cases, adds `CAP_`, keeps `ALL`, refuses unknown names (Docker's
/// `normalizeLegacyCapabilities`).
fn normalize_caps(list: &[String]) -> Result<Vec<String>, OptionsError> {
    let mut out = Vec::new();
    for c in list {
        let up = c.trim().to_uppercase();
        let name = if up == "ALL" || up.starts_with("CAP_") {
            up
        } else {
            format!("CAP_{up}")
        };
        if name != "ALL" && !ALL_CAPABILITIES.contains(&name.as_str()) {
            return Err(OptionsError::Capability(c.clone()));
        }
        if !out.contains(&name) {
            out.push(name);
        }
    }
    Ok(out)
}

/// The capability set, Docker's `TweakCapabilities`: privileged → all; `CapAdd` `ALL` → all
/// but `CapDrop`; `CapDrop` `ALL` → only `CapAdd`; else the defaults minus drops plus adds.
pub fn capabilities(hc: &HostConfig) -> Result<Vec<String>, OptionsError> {
    let all = || ALL_CAPABILITIES.iter().map(|c| c.to_string());
    if hc.privileged {
        return Ok(all().collect());
    }
    let add = normalize_caps(&hc.cap_add)?;
    let drop = normalize_caps(&hc.cap_drop)?;
    let has_all = |l: &[String]| l.iter().any(|c| c == "ALL");
    if has_all(&add) {
        return Ok(all().filter(|c| !drop.contains(c)).collect());
    }
    if has_all(&drop) {
        return Ok(add);
    }
    let mut caps: Vec<String> = DEFAULT_CAPABILITIES
        .iter()
        .map(|c| c.to_string())
        .filter(|c| !drop.contains(c))
        .collect();
    for c in add {
        if !caps.contains(&c) {
            caps.push(c);
        }
    }
    Ok(caps)
}

/// What `SecurityOpt` asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityOptions {
    /// `no-new-privileges[:true|false]` / `no-new-privileges=…`.
    pub no_new_privileges: bool,
    /// The seccomp choice.
    pub seccomp: SeccompChoice,
    /// `apparmor=<profile>` (recorded; berth does not load AppArmor profiles).
    pub apparmor: Option<String>,
    /// `label=…` options (recorded; berth has no SELinux support).
    pub labels: Vec<String>,
}

/// The seccomp profile a container runs with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SeccompChoice {
    /// The daemon's default profile (the one in the spec context).
    #[default]
    Default,
    /// `seccomp=unconfined`.
    Unconfined,
    /// `seccomp=<JSON>`: the CLI reads the file and sends its content inline.
    Profile(String),
}

/// Parses `SecurityOpt` as Docker's `parseSecurityOpt` does (`=` or the legacy `:` separator).
pub fn parse_security_opts(opts: &[String]) -> Result<SecurityOptions, OptionsError> {
    let mut out = SecurityOptions::default();
    for opt in opts {
        if opt == "no-new-privileges" {
            out.no_new_privileges = true;
            continue;
        }
        if opt == "disable" {
            out.labels.push("disable".into());
            continue;
        }
        // Docker: split at the first `=` if there is one, else at the first (legacy) `:`.
        let Some((key, value)) = opt.split_once('=').or_else(|| opt.split_once(':')) else {
            return Err(OptionsError::SecurityOpt(opt.clone()));
        };
        match key {
            "no-new-privileges" => {
                out.no_new_privileges = match value {
                    "true" | "1" | "t" | "T" | "TRUE" | "True" => true,
                    "false" | "0" | "f" | "F" | "FALSE" | "False" => false,
                    _ => return Err(OptionsError::SecurityOpt(opt.clone())),
                }
            }
            "seccomp" if value == "unconfined" => out.seccomp = SeccompChoice::Unconfined,
            "seccomp" if value == "builtin" || value.is_empty() => {
                out.seccomp = SeccompChoice::Default
            }
            "seccomp" => out.seccomp = SeccompChoice::Profile(value.to_owned()),
            "apparmor" => out.apparmor = Some(value.to_owned()),
            "label" => out.labels.push(value.to_owned()),
            _ => return Err(OptionsError::SecurityOpt(opt.clone())),
        }
    }
    Ok(out)
}

/// The ulimit names Docker knows (`go-units`), each with its `RLIMIT_` suffix.
const ULIMITS: [&str; 15] = [
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

/// Checks an ulimit and returns `(RLIMIT_NAME, soft, hard)`; -1 (unlimited) becomes
/// `u64::MAX` as Go's `uint64(-1)` does.
pub fn rlimit(u: &Ulimit) -> Result<(String, u64, u64), OptionsError> {
    let name = u.name.to_lowercase();
    let err = |reason: String| OptionsError::Ulimit {
        name: u.name.clone(),
        reason,
    };
    if !ULIMITS.contains(&name.as_str()) {
        return Err(err(format!(
            "unknown name: use one of {}",
            ULIMITS.join(", ")
        )));
    }
    let conv = |v: i64| -> Result<u64, OptionsError> {
        match v {
            -1 => Ok(u64::MAX),
            v if v >= 0 => Ok(v as u64),
            v => Err(err(format!("{v} is negative: use -1 for unlimited"))),
        }
    };
    let (soft, hard) = (conv(u.soft)?, conv(u.hard)?);
    if soft > hard {
        return Err(err(format!(
            "ulimit soft limit must be less than or equal to hard limit: {} > {}",
            u.soft, u.hard
        )));
    }
    Ok((format!("RLIMIT_{}", name.to_uppercase()), soft, hard))
}

/// Docker's `ValidateSysctl`: only namespaced sysctls; `net.*` not with the host's network.
pub fn validate_sysctl(name: &str, host_network: bool) -> Result<(), OptionsError> {
    use berth_runtime::IPC_SYSCTLS as IPC;
    let err = |reason: &str| {
        Err(OptionsError::Sysctl {
            name: name.to_owned(),
            reason: reason.to_owned(),
        })
    };
    if name.starts_with("net.") {
        if host_network {
            return err("the container shares the host's network namespace, so it would change the host: drop it or use another network mode");
        }
        return Ok(());
    }
    if IPC.contains(&name) || name.starts_with("fs.mqueue.") {
        return Ok(());
    }
    err("only namespaced sysctls are allowed (net.*, fs.mqueue.*, and the kernel IPC ones such as kernel.shmmax)")
}
