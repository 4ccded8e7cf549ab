//! Seccomp: the OCI `linux.seccomp` profile becomes a libseccomp filter, loaded in the
//! container child just before execve.
//!
//! Why it is done this way:
//! - [`compile`] runs in the parent, before the clone, so a bad profile fails `create` with a
//!   clear message and the child only has [`Compiled::load`] left to do. The child is
//!   single-threaded and may allocate; libseccomp only allocates while generating the BPF.
//! - The filter is loaded as late as possible, so that the runtime's own setup system calls are
//!   not filtered. With `no_new_privileges` it loads right before execve; without it the kernel
//!   demands CAP_SYS_ADMIN to load a filter, so it loads before the capabilities are dropped
//!   (runc's order; see process.rs). The filter itself never sets no_new_privs
//!   (`ScmpFilterAttr::CtlNnp` is off): that is decided by `process.noNewPrivileges` alone.
//! - Unknown system call names are skipped, not refused (runc and libseccomp-golang do the
//!   same): profiles such as Docker's list calls of every architecture and every kernel
//!   version, and one profile must work everywhere. Unknown *architectures*, actions or
//!   operators are errors: guessing there would weaken the filter silently.
//! - A rule whose action equals the default action is skipped (libseccomp refuses it, runc
//!   skips it); it would not change the verdict.
//! - libseccomp allows one comparison per argument in a rule. When a rule compares the same
//!   argument twice, each comparison becomes a rule of its own, as runc does (the comparisons
//!   are then OR-ed instead of AND-ed; that is the de-facto meaning profiles are written for).
//! - SCMP_ACT_NOTIFY (a seccomp agent at `listenerPath`) is not supported yet and is refused.
//!
//! [`from_docker_profile`] turns a Docker/Podman seccomp profile (`archMap`, per-rule
//! `includes`/`excludes`) into an OCI [`LinuxSeccomp`] the way dockerd does before it writes
//! config.json.
//!
//! This module never prints: warnings are returned as values ([`Compiled::warnings`]).

use std::ffi::CStr;

use berth_types::ErrorKind;
use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag,
    LinuxSeccompOperator, LinuxSyscall,
};
use serde::Deserialize;

/// libseccomp's own error type.
type LibError = libseccomp::error::SeccompError;

/// A system call has at most six arguments.
const MAX_ARGS: usize = 6;

/// What can go wrong while compiling, loading or converting a seccomp profile. Messages name
/// the field at fault and, where there is one, the fix.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    /// An architecture name is not known.
    #[error("{field}: unknown architecture {name:?}: use an SCMP_ARCH_* name such as SCMP_ARCH_X86_64, or a machine name such as x86_64 or aarch64")]
    UnknownArch {
        /// Where the name came from.
        field: String,
        /// The name.
        name: String,
    },
    /// The installed libseccomp cannot filter for this architecture.
    #[error("{field}: architecture {arch} is not supported by the installed libseccomp: remove it from the profile or upgrade libseccomp ({source})")]
    UnsupportedArch {
        /// Where the architecture came from.
        field: String,
        /// The architecture.
        arch: String,
        /// libseccomp's error.
        source: LibError,
    },
    /// SCMP_ACT_NOTIFY was asked for.
    #[error("{field}: seccomp notify (listenerPath) is not supported yet: use another action than SCMP_ACT_NOTIFY")]
    NotifyUnsupported {
        /// The action field.
        field: String,
    },
    /// errnoRet on an action that returns no errno.
    #[error("{field}: errnoRet is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not {action}: remove it or change the action")]
    ErrnoRetNotAllowed {
        /// The errnoRet field.
        field: String,
        /// The action it came with.
        action: String,
    },
    /// errnoRet does not fit the 16 bits seccomp has for it.
    #[error("{field}: {value} is out of range: seccomp return values are 0..=65535 (an errno is at most 4095)")]
    ErrnoRetRange {
        /// The errnoRet field.
        field: String,
        /// The value.
        value: u32,
    },
    /// An argument comparison is malformed.
    #[error("{field}: {msg}")]
    BadArgument {
        /// The args field.
        field: String,
        /// What is wrong.
        msg: String,
    },
    /// A filter flag could not be set.
    #[error("{field}: {flag} is not supported by the installed libseccomp or kernel: remove the flag ({source})")]
    Flag {
        /// The flags field.
        field: String,
        /// The flag.
        flag: String,
        /// libseccomp's error.
        source: LibError,
    },
    /// libseccomp refused to build the filter.
    #[error("{what}: {source}")]
    Build {
        /// What we were doing, naming the field.
        what: String,
        /// libseccomp's error.
        source: LibError,
    },
    /// The kernel refused the filter.
    #[error(
        "loading the seccomp filter: {source}: without no_new_privileges this needs CAP_SYS_ADMIN"
    )]
    Load {
        /// libseccomp's error.
        source: LibError,
    },
    /// A Docker profile is not valid JSON or has fields of the wrong type or value.
    #[error("seccomp profile: {source}")]
    ProfileJson {
        /// The parser's error, with line and column.
        source: serde_json::Error,
    },
    /// A Docker profile is well-formed JSON but not a valid profile.
    #[error("seccomp profile: {0}")]
    Profile(String),
}

impl SeccompError {
    /// The class of this failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            SeccompError::NotifyUnsupported { .. }
            | SeccompError::UnsupportedArch { .. }
            | SeccompError::Flag { .. } => ErrorKind::NotImplemented,
            SeccompError::Build { .. } | SeccompError::Load { .. } => ErrorKind::Internal,
            _ => ErrorKind::InvalidArgument,
        }
    }
}

/// A seccomp filter ready to load, built by [`compile`].
#[derive(Debug)]
pub struct Compiled {
    ctx: ScmpFilterContext,
    warnings: Vec<String>,
    rules: usize,
}

impl Compiled {
    /// Loads the filter into the calling thread (the single-threaded container child).
    ///
    /// Without no_new_privs set, the kernel requires CAP_SYS_ADMIN for this.
    pub fn load(&self) -> Result<(), SeccompError> {
        self.ctx
            .load()
            .map_err(|source| SeccompError::Load { source })
    }

    /// Things the profile asked for that were ignored, one sentence each.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// How many libseccomp rules were added (rules equal to the default action and unknown
    /// system calls are not counted; a rule split per argument counts once per part).
    pub fn rules(&self) -> usize {
        self.rules
    }
}

/// Builds a libseccomp filter from an OCI `linux.seccomp` profile. See the module docs for
/// what is skipped and what is refused.
pub fn compile(spec: &LinuxSeccomp) -> Result<Compiled, SeccompError> {
    let mut warnings = Vec::new();
    let default = action(
        spec.default_action(),
        spec.default_errno_ret(),
        "linux.seccomp.defaultAction",
        "linux.seccomp.defaultErrnoRet",
    )?;
    let mut ctx = ScmpFilterContext::new(default).map_err(build("create the seccomp filter"))?;
    ctx.set_ctl_nnp(false)
        .map_err(build("turn off no_new_privs in the seccomp filter"))?;

    for (i, arch) in spec.architectures().iter().flatten().enumerate() {
        let field = format!("linux.seccomp.architectures[{i}]");
        ctx.add_arch(scmp_arch(*arch))
            .map_err(|source| SeccompError::UnsupportedArch {
                field,
                arch: arch_name(*arch),
                source,
            })?;
    }

    for (i, flag) in spec.flags().iter().flatten().enumerate() {
        let field = format!("linux.seccomp.flags[{i}]");
        let flag_error = |source| SeccompError::Flag {
            field: field.clone(),
            flag: flag.to_string(),
            source,
        };
        match flag {
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => {
                ctx.set_ctl_log(true).map_err(flag_error)?;
            }
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => {
                ctx.set_ctl_ssb(true).map_err(flag_error)?;
            }
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => {
                // The child is single-threaded, so there are no other threads to synchronise;
                // set it when possible, as asked, and say so when not.
                if let Err(e) = ctx.set_ctl_tsync(true) {
                    warnings.push(format!("{field}: SECCOMP_FILTER_FLAG_TSYNC ignored ({e}); the container process is single-threaded when the filter loads"));
                }
            }
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => {
                warnings.push(format!("{field}: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV ignored: it only applies to seccomp notify, which berth does not support"));
            }
        }
    }
    if spec.listener_path().is_some() {
        warnings.push("linux.seccomp.listenerPath ignored: no rule uses SCMP_ACT_NOTIFY".into());
    }

    let mut rules = 0;
    for (i, rule) in spec.syscalls().iter().flatten().enumerate() {
        let field = format!("linux.seccomp.syscalls[{i}]");
        let act = action(
            rule.action(),
            rule.errno_ret(),
            &format!("{field}.action"),
            &format!("{field}.errnoRet"),
        )?;
        let groups = comparisons(
            rule.args().as_deref().unwrap_or(&[]),
            &format!("{field}.args"),
        )?;
        if act == default {
            continue;
        }
        for name in rule.names() {
            // Unknown on every architecture libseccomp knows: skipped (see the module docs).
            let Ok(syscall) = ScmpSyscall::from_name(name) else {
                continue;
            };
            for conds in &groups {
                ctx.add_rule_conditional(act, syscall, conds)
                    .map_err(build(format!("{field}: add the rule for {name}")))?;
                rules += 1;
            }
        }
    }
    Ok(Compiled {
        ctx,
        warnings,
        rules,
    })
}

fn build(what: impl Into<String>) -> impl FnOnce(LibError) -> SeccompError {
    let what = what.into();
    move |source| SeccompError::Build { what, source }
}

/// The libseccomp action for an OCI action and errnoRet.
fn action(
    a: LinuxSeccompAction,
    errno_ret: Option<u32>,
    field: &str,
    errno_field: &str,
) -> Result<ScmpAction, SeccompError> {
    let ret = || -> Result<u16, SeccompError> {
        match errno_ret {
            None => Ok(u16::try_from(libc::EPERM).unwrap_or(1)),
            Some(v) => u16::try_from(v).map_err(|_| SeccompError::ErrnoRetRange {
                field: errno_field.into(),
                value: v,
            }),
        }
    };
    if errno_ret.is_some()
        && !matches!(
            a,
            LinuxSeccompAction::ScmpActErrno | LinuxSeccompAction::ScmpActTrace
        )
    {
        return Err(SeccompError::ErrnoRetNotAllowed {
            field: errno_field.into(),
            action: a.to_string(),
        });
    }
    Ok(match a {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            ScmpAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActErrno => ScmpAction::Errno(i32::from(ret()?)),
        LinuxSeccompAction::ScmpActTrace => ScmpAction::Trace(ret()?),
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
        LinuxSeccompAction::ScmpActNotify => {
            return Err(SeccompError::NotifyUnsupported {
                field: field.into(),
            });
        }
    })
}

/// The comparison sets of one rule: one set when every argument is compared at most once,
/// otherwise one set per comparison (see the module docs).
fn comparisons(
    args: &[LinuxSeccompArg],
    field: &str,
) -> Result<Vec<Vec<ScmpArgCompare>>, SeccompError> {
    let mut seen = [0usize; MAX_ARGS];
    let mut conds = Vec::with_capacity(args.len());
    for (j, arg) in args.iter().enumerate() {
        let index = arg.index();
        if index >= MAX_ARGS {
            return Err(SeccompError::BadArgument {
                field: format!("{field}[{j}].index"),
                msg: format!("{index} is out of range: system call arguments are numbered 0 to 5"),
            });
        }
        seen[index] += 1;
        let op = match arg.op() {
            LinuxSeccompOperator::ScmpCmpNe => ScmpCompareOp::NotEqual,
            LinuxSeccompOperator::ScmpCmpLt => ScmpCompareOp::Less,
            LinuxSeccompOperator::ScmpCmpLe => ScmpCompareOp::LessOrEqual,
            LinuxSeccompOperator::ScmpCmpEq => ScmpCompareOp::Equal,
            LinuxSeccompOperator::ScmpCmpGe => ScmpCompareOp::GreaterEqual,
            LinuxSeccompOperator::ScmpCmpGt => ScmpCompareOp::Greater,
            // value is the mask, valueTwo the value the masked argument must equal.
            LinuxSeccompOperator::ScmpCmpMaskedEq => ScmpCompareOp::MaskedEqual(arg.value()),
        };
        let datum = match arg.op() {
            LinuxSeccompOperator::ScmpCmpMaskedEq => arg.value_two().unwrap_or(0),
            _ => arg.value(),
        };
        // index < 6 was checked above, so the fallback is never taken.
        conds.push(ScmpArgCompare::new(
            u32::try_from(index).unwrap_or(u32::MAX),
            op,
            datum,
        ));
    }
    if seen.iter().any(|n| *n > 1) {
        Ok(conds.into_iter().map(|c| vec![c]).collect())
    } else {
        Ok(vec![conds])
    }
}

fn scmp_arch(arch: Arch) -> ScmpArch {
    match arch {
        Arch::ScmpArchNative => ScmpArch::Native,
        Arch::ScmpArchX86 => ScmpArch::X86,
        Arch::ScmpArchX86_64 => ScmpArch::X8664,
        Arch::ScmpArchX32 => ScmpArch::X32,
        Arch::ScmpArchArm => ScmpArch::Arm,
        Arch::ScmpArchAarch64 => ScmpArch::Aarch64,
        Arch::ScmpArchMips => ScmpArch::Mips,
        Arch::ScmpArchMips64 => ScmpArch::Mips64,
        Arch::ScmpArchMips64n32 => ScmpArch::Mips64N32,
        Arch::ScmpArchMipsel => ScmpArch::Mipsel,
        Arch::ScmpArchMipsel64 => ScmpArch::Mipsel64,
        Arch::ScmpArchMipsel64n32 => ScmpArch::Mipsel64N32,
        Arch::ScmpArchPpc => ScmpArch::Ppc,
        Arch::ScmpArchPpc64 => ScmpArch::Ppc64,
        Arch::ScmpArchPpc64le => ScmpArch::Ppc64Le,
        Arch::ScmpArchS390 => ScmpArch::S390,
        Arch::ScmpArchS390x => ScmpArch::S390X,
        Arch::ScmpArchParisc => ScmpArch::Parisc,
        Arch::ScmpArchParisc64 => ScmpArch::Parisc64,
        Arch::ScmpArchRiscv64 => ScmpArch::Riscv64,
        Arch::ScmpArchLoongarch64 => ScmpArch::Loongarch64,
        Arch::ScmpArchM68k => ScmpArch::M68k,
        Arch::ScmpArchSh => ScmpArch::Sh,
        Arch::ScmpArchSheb => ScmpArch::Sheb,
    }
}

/// The SCMP_ARCH_* spelling of `arch`.
fn arch_name(arch: Arch) -> String {
    serde_json::to_value(arch)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{arch:?}"))
}

/// An SCMP_ARCH_* name as an OCI [`Arch`].
fn parse_arch(name: &str, field: String) -> Result<Arch, SeccompError> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).map_err(|_| {
        SeccompError::UnknownArch {
            field,
            name: name.to_owned(),
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Docker / Podman profiles.

/// A Docker seccomp profile (moby `profiles/seccomp`, containers/common `seccomp.json`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerProfile {
    default_action: Option<LinuxSeccompAction>,
    default_errno_ret: Option<u32>,
    default_errno: Option<String>,
    architectures: Option<Vec<String>>,
    arch_map: Option<Vec<DockerArchMap>>,
    flags: Option<Vec<LinuxSeccompFilterFlag>>,
    listener_path: Option<std::path::PathBuf>,
    listener_metadata: Option<String>,
    syscalls: Option<Vec<DockerSyscall>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerArchMap {
    architecture: String,
    sub_architectures: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerSyscall {
    name: Option<String>,
    names: Option<Vec<String>>,
    action: LinuxSeccompAction,
    errno_ret: Option<u32>,
    errno: Option<String>,
    args: Option<Vec<LinuxSeccompArg>>,
    includes: Option<DockerFilter>,
    excludes: Option<DockerFilter>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerFilter {
    caps: Option<Vec<String>>,
    arches: Option<Vec<String>>,
    min_kernel: Option<String>,
}

/// Converts a Docker/Podman seccomp profile to the OCI `linux.seccomp` for one container, as
/// dockerd does.
///
/// - `caps` is the container's bounding set (`"CAP_SYS_ADMIN"` or `"SYS_ADMIN"`).
/// - `arch` is the host: a Go name (`amd64`, `arm64`, …) or a machine name (`x86_64`,
///   `aarch64`, `std::env::consts::ARCH`). The `archMap` entry of that architecture gives
///   `architectures` (on x86_64: x86_64, x86 and x32).
/// - A rule is kept when its `includes` all hold (every cap in `caps`, the Go arch among
///   `arches`, the running kernel at least `minKernel`) and its `excludes` do not (any cap in
///   `caps`, the arch among `arches`, or the kernel at least `minKernel`).
/// - `errno` names (`"ENOSYS"`) are used when `errnoRet` is absent.
pub fn from_docker_profile(
    json: &[u8],
    caps: &[String],
    arch: &str,
) -> Result<LinuxSeccomp, SeccompError> {
    let profile: DockerProfile =
        serde_json::from_slice(json).map_err(|source| SeccompError::ProfileJson { source })?;
    let Some(host) = HostArch::new(arch) else {
        return Err(SeccompError::UnknownArch {
            field: "arch".into(),
            name: arch.into(),
        });
    };
    let Some(default_action) = profile.default_action else {
        return Err(SeccompError::Profile("defaultAction is missing: a profile without one means unconfined, which is asked for by passing no profile".into()));
    };
    let caps: Vec<String> = caps.iter().map(|c| cap_key(c)).collect();
    let mut kernel = None;

    let mut architectures = Vec::new();
    if let (Some(a), Some(m)) = (&profile.architectures, &profile.arch_map) {
        if !a.is_empty() && !m.is_empty() {
            return Err(SeccompError::Profile(
                "both architectures and archMap are set: use only one".into(),
            ));
        }
    }
    for (i, name) in profile.architectures.iter().flatten().enumerate() {
        architectures.push(parse_arch(name, format!("architectures[{i}]"))?);
    }
    for (i, entry) in profile.arch_map.iter().flatten().enumerate() {
        if entry.architecture != host.scmp {
            continue;
        }
        architectures.push(parse_arch(
            &entry.architecture,
            format!("archMap[{i}].architecture"),
        )?);
        for (j, sub) in entry.sub_architectures.iter().flatten().enumerate() {
            architectures.push(parse_arch(
                sub,
                format!("archMap[{i}].subArchitectures[{j}]"),
            )?);
        }
    }

    let mut syscalls = Vec::new();
    for (i, call) in profile.syscalls.into_iter().flatten().enumerate() {
        let field = format!("syscalls[{i}]");
        let mut names = call.names.unwrap_or_default();
        if let Some(name) = call.name.filter(|n| !n.is_empty()) {
            if !names.is_empty() {
                return Err(SeccompError::Profile(format!(
                    "{field}: both name and names are set: use only names"
                )));
            }
            names.push(name);
        }
        if let Some(ex) = &call.excludes {
            if ex.arches.iter().flatten().any(|a| *a == host.go)
                || ex.caps.iter().flatten().any(|c| caps.contains(&cap_key(c)))
            {
                continue;
            }
            if let Some(min) = &ex.min_kernel {
                if kernel_at_least(min, &format!("{field}.excludes.minKernel"), &mut kernel)? {
                    continue;
                }
            }
        }
        if let Some(inc) = &call.includes {
            if let Some(arches) = &inc.arches {
                if !arches.is_empty() && !arches.iter().any(|a| *a == host.go) {
                    continue;
                }
            }
            if !inc
                .caps
                .iter()
                .flatten()
                .all(|c| caps.contains(&cap_key(c)))
            {
                continue;
            }
            if let Some(min) = &inc.min_kernel {
                if !kernel_at_least(min, &format!("{field}.includes.minKernel"), &mut kernel)? {
                    continue;
                }
            }
        }
        let errno_ret = match (call.errno_ret, &call.errno) {
            (Some(n), _) => Some(n),
            (None, Some(name)) if !name.is_empty() => {
                Some(errno_number(name, &format!("{field}.errno"))?)
            }
            _ => None,
        };
        let mut out = LinuxSyscall::default();
        out.set_names(names);
        out.set_action(call.action);
        out.set_errno_ret(errno_ret);
        out.set_args(call.args.filter(|a| !a.is_empty()));
        syscalls.push(out);
    }

    let default_errno_ret = match (profile.default_errno_ret, &profile.default_errno) {
        (Some(n), _) => Some(n),
        (None, Some(name)) if !name.is_empty() => Some(errno_number(name, "defaultErrno")?),
        _ => None,
    };
    let mut out = LinuxSeccomp::default();
    out.set_default_action(default_action);
    out.set_default_errno_ret(default_errno_ret);
    out.set_architectures((!architectures.is_empty()).then_some(architectures));
    out.set_flags(profile.flags.filter(|f| !f.is_empty()));
    out.set_listener_path(profile.listener_path);
    out.set_listener_metadata(profile.listener_metadata);
    out.set_syscalls(Some(syscalls));
    Ok(out)
}

/// The host architecture under the two spellings a Docker profile uses.
struct HostArch {
    /// Go's GOARCH, used by `includes.arches` / `excludes.arches`.
    go: &'static str,
    /// The SCMP_ARCH_* name, used by `archMap`.
    scmp: &'static str,
}

impl HostArch {
    fn new(arch: &str) -> Option<HostArch> {
        let (go, scmp) = match arch {
            "amd64" | "x86_64" => ("amd64", "SCMP_ARCH_X86_64"),
            "386" | "x86" | "i386" | "i686" => ("386", "SCMP_ARCH_X86"),
            "arm64" | "aarch64" => ("arm64", "SCMP_ARCH_AARCH64"),
            "arm" | "armv7l" | "armv6l" => ("arm", "SCMP_ARCH_ARM"),
            "ppc64le" | "powerpc64le" => ("ppc64le", "SCMP_ARCH_PPC64LE"),
            // Rust's ARCH does not tell the byte order; the build target does.
            "powerpc64" if cfg!(target_endian = "little") => ("ppc64le", "SCMP_ARCH_PPC64LE"),
            "ppc64" | "powerpc64" => ("ppc64", "SCMP_ARCH_PPC64"),
            "s390x" => ("s390x", "SCMP_ARCH_S390X"),
            "riscv64" => ("riscv64", "SCMP_ARCH_RISCV64"),
            "loong64" | "loongarch64" => ("loong64", "SCMP_ARCH_LOONGARCH64"),
            "mips64le" | "mips64el" => ("mips64le", "SCMP_ARCH_MIPSEL64"),
            "mips64" => ("mips64", "SCMP_ARCH_MIPS64"),
            "mipsle" | "mipsel" => ("mipsle", "SCMP_ARCH_MIPSEL"),
            "mips" => ("mips", "SCMP_ARCH_MIPS"),
            _ => return None,
        };
        Some(HostArch { go, scmp })
    }
}

/// A capability name compared the way the profile means it: upper case, with the CAP_ prefix.
fn cap_key(c: &str) -> String {
    let upper = c.trim().to_ascii_uppercase();
    if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    }
}

/// Parses "major.minor[.…]" into (major, minor).
fn parse_kernel_version(s: &str) -> Option<(u32, u32)> {
    let mut parts = s.trim().splitn(3, '.');
    let major = parts.next()?.parse().ok()?;
    let minor_part = parts.next()?;
    let digits = minor_part
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(minor_part.len());
    let minor = minor_part[..digits].parse().ok()?;
    Some((major, minor))
}

/// Whether the running kernel is at least `min` ("4.8"); the kernel version is read once.
fn kernel_at_least(
    min: &str,
    field: &str,
    kernel: &mut Option<(u32, u32)>,
) -> Result<bool, SeccompError> {
    let Some(want) = parse_kernel_version(min) else {
        return Err(SeccompError::Profile(format!(
            "{field}: {min:?} is not a kernel version: write it as major.minor, e.g. \"4.8\""
        )));
    };
    let have = match *kernel {
        Some(v) => v,
        None => {
            let v = running_kernel()?;
            *kernel = Some(v);
            v
        }
    };
    Ok(have >= want)
}

fn running_kernel() -> Result<(u32, u32), SeccompError> {
    // SAFETY: utsname is plain old data; all-zero bytes are a valid value.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `uts` is a valid, writable utsname.
    if unsafe { libc::uname(&mut uts) } != 0 {
        return Err(SeccompError::Profile(format!(
            "minKernel: uname: {}",
            std::io::Error::last_os_error()
        )));
    }
    // SAFETY: uname NUL-terminates release, which lives in `uts` for this borrow.
    let release = unsafe { CStr::from_ptr(uts.release.as_ptr()) }.to_string_lossy();
    parse_kernel_version(&release).ok_or_else(|| {
        SeccompError::Profile(format!(
            "minKernel: cannot read the running kernel's version from {release:?}"
        ))
    })
}

/// The number of an errno name such as "EPERM" (the names seccomp profiles use).
fn errno_number(name: &str, field: &str) -> Result<u32, SeccompError> {
    let n = match name {
        "EPERM" => libc::EPERM,
        "ENOENT" => libc::ENOENT,
        "ESRCH" => libc::ESRCH,
        "EINTR" => libc::EINTR,
        "EIO" => libc::EIO,
        "ENXIO" => libc::ENXIO,
        "E2BIG" => libc::E2BIG,
        "ENOEXEC" => libc::ENOEXEC,
        "EBADF" => libc::EBADF,
        "ECHILD" => libc::ECHILD,
        "EAGAIN" => libc::EAGAIN,
        "ENOMEM" => libc::ENOMEM,
        "EACCES" => libc::EACCES,
        "EFAULT" => libc::EFAULT,
        "EBUSY" => libc::EBUSY,
        "EEXIST" => libc::EEXIST,
        "EXDEV" => libc::EXDEV,
        "ENODEV" => libc::ENODEV,
        "ENOTDIR" => libc::ENOTDIR,
        "EISDIR" => libc::EISDIR,
        "EINVAL" => libc::EINVAL,
        "ENFILE" => libc::ENFILE,
        "EMFILE" => libc::EMFILE,
        "ENOTTY" => libc::ENOTTY,
        "EFBIG" => libc::EFBIG,
        "ENOSPC" => libc::ENOSPC,
        "ESPIPE" => libc::ESPIPE,
        "EROFS" => libc::EROFS,
        "EMLINK" => libc::EMLINK,
        "EPIPE" => libc::EPIPE,
        "ERANGE" => libc::ERANGE,
        "ENOSYS" => libc::ENOSYS,
        "ENOTSUP" | "EOPNOTSUPP" => libc::EOPNOTSUPP,
        "EAFNOSUPPORT" => libc::EAFNOSUPPORT,
        "EPROTONOSUPPORT" => libc::EPROTONOSUPPORT,
        _ => {
            return Err(SeccompError::Profile(format!(
                "{field}: unknown errno name {name:?}: give the number in errnoRet instead"
            )));
        }
    };
    Ok(n.unsigned_abs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::tests::{in_child, is_root_or_skip};

    const PROFILE: &str = "/usr/share/containers/seccomp.json";

    fn profile_bytes() -> Vec<u8> {
        std::fs::read(PROFILE).unwrap_or_else(|e| {
            panic!("{PROFILE}: {e}: install the Debian package golang-github-containers-common (it comes with skopeo; CI installs it)")
        })
    }

    fn spec(json: serde_json::Value) -> LinuxSeccomp {
        serde_json::from_value(json).expect("valid OCI seccomp JSON")
    }

    /// The errno of the last failed call, or 0.
    fn errno_of(r: libc::c_long) -> i32 {
        if r == -1 {
            std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(250)
        } else {
            0
        }
    }

    /// Loads `c` in a child, runs `f` there and returns what `f` returns (or 200+ on failure).
    fn with_filter(c: &Compiled, f: impl FnOnce() -> i32) -> i32 {
        in_child(|| match c.load() {
            Ok(()) => f(),
            Err(_) => 200,
        })
    }

    fn getcwd() -> i32 {
        let mut buf = [0u8; 256];
        // SAFETY: the buffer and its length are valid.
        errno_of(unsafe { libc::syscall(libc::SYS_getcwd, buf.as_mut_ptr(), buf.len()) })
    }

    fn personality(p: libc::c_ulong) -> i32 {
        // SAFETY: personality takes an integer; the values used here are harmless in a child.
        errno_of(unsafe { libc::syscall(libc::SYS_personality, p) })
    }

    use crate::caps::DOCKER_DEFAULTS as DOCKER_CAPS;

    fn allowed(s: &LinuxSeccomp) -> usize {
        s.syscalls()
            .iter()
            .flatten()
            .filter(|c| c.action() == LinuxSeccompAction::ScmpActAllow)
            .count()
    }

    #[test]
    fn docker_profile_converts_and_compiles() {
        let json = profile_bytes();
        let caps: Vec<String> = DOCKER_CAPS.iter().map(|s| s.to_string()).collect();
        let plain = from_docker_profile(&json, &caps, "x86_64").expect("convert");
        assert_eq!(plain.default_action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(plain.default_errno_ret(), Some(38));
        assert_eq!(
            plain.architectures().as_deref(),
            Some(&[Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32][..])
        );
        let names = |s: &LinuxSeccomp, action| -> Vec<String> {
            s.syscalls()
                .iter()
                .flatten()
                .filter(|c| c.action() == action)
                .flat_map(|c| c.names().clone())
                .collect()
        };
        let allow = names(&plain, LinuxSeccompAction::ScmpActAllow);
        assert!(
            allow.iter().any(|n| n == "arch_prctl"),
            "amd64-only rule kept"
        );
        assert!(
            !allow.iter().any(|n| n == "sync_file_range2"),
            "ppc64le-only rule dropped"
        );
        assert!(!allow.iter().any(|n| n == "bpf"), "bpf needs CAP_SYS_ADMIN");
        assert!(names(&plain, LinuxSeccompAction::ScmpActErrno)
            .iter()
            .any(|n| n == "bpf"));

        let mut admin_caps = caps.clone();
        admin_caps.push("CAP_SYS_ADMIN".into());
        let admin = from_docker_profile(&json, &admin_caps, "amd64").expect("convert");
        assert!(
            allowed(&admin) > allowed(&plain),
            "{} vs {}",
            allowed(&admin),
            allowed(&plain)
        );
        assert!(names(&admin, LinuxSeccompAction::ScmpActAllow)
            .iter()
            .any(|n| n == "bpf"));

        let arm = from_docker_profile(&json, &caps, "aarch64").expect("convert");
        assert_eq!(
            arm.architectures().as_deref(),
            Some(&[Arch::ScmpArchAarch64, Arch::ScmpArchArm][..])
        );
        assert!(names(&arm, LinuxSeccompAction::ScmpActAllow)
            .iter()
            .any(|n| n == "arm_fadvise64_64"));

        for s in [&plain, &admin, &arm] {
            let c = compile(s).expect("compile");
            assert!(c.rules() > 300, "{} rules", c.rules());
            assert!(c.warnings().is_empty(), "{:?}", c.warnings());
        }
    }

    #[test]
    fn docker_profile_loads_in_the_kernel() {
        if !is_root_or_skip() {
            return;
        }
        let caps: Vec<String> = DOCKER_CAPS.iter().map(|s| s.to_string()).collect();
        let spec =
            from_docker_profile(&profile_bytes(), &caps, std::env::consts::ARCH).expect("convert");
        let c = compile(&spec).expect("compile");
        let code = with_filter(&c, || {
            if getcwd() != 0 {
                return 10;
            }
            // acct needs CAP_SYS_PACCT, not in the caps: the excludes rule returns EPERM.
            // SAFETY: acct(NULL) is refused by the filter before the kernel looks at it.
            let r = errno_of(unsafe {
                libc::syscall(libc::SYS_acct, std::ptr::null::<libc::c_char>())
            });
            if r != libc::EPERM {
                return 11;
            }
            // add_key is not in the profile: the default action answers ENOSYS.
            // SAFETY: the filter answers before the kernel reads the (null) arguments.
            let r = errno_of(unsafe { libc::syscall(libc::SYS_add_key, 0, 0, 0, 0, 0) });
            if r != libc::ENOSYS {
                return 12;
            }
            0
        });
        assert_eq!(code, 0, "child failed at step {code}");
    }

    #[test]
    fn errno_rule_in_the_kernel() {
        if !is_root_or_skip() {
            return;
        }
        let eperm = compile(&spec(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO"}]
        })))
        .expect("compile");
        assert_eq!(eperm.rules(), 1);
        assert_eq!(with_filter(&eperm, getcwd), libc::EPERM);

        let enosys = compile(&spec(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]
        })))
        .expect("compile");
        assert_eq!(with_filter(&enosys, getcwd), 38);
    }

    #[test]
    fn argument_filter_in_the_kernel() {
        if !is_root_or_skip() {
            return;
        }
        // personality is refused unless arg0 == 0.
        let c = compile(&spec(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ERRNO",
                          "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_NE"}]}]
        })))
        .expect("compile");
        let code = with_filter(&c, || match (personality(0), personality(8)) {
            (0, e) if e == libc::EPERM => 0,
            (0, _) => 10,
            _ => 11,
        });
        assert_eq!(code, 0, "child failed at step {code}");
    }

    #[test]
    fn same_argument_twice_becomes_two_rules() {
        let c = compile(&spec(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ERRNO",
                          "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                                   {"index": 0, "value": 100, "op": "SCMP_CMP_GT"}]}]
        })))
        .expect("compile");
        assert_eq!(c.rules(), 2);
        // Different arguments stay one rule (AND).
        let c = compile(&spec(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["socket"], "action": "SCMP_ACT_ERRNO",
                          "args": [{"index": 0, "value": 16, "op": "SCMP_CMP_EQ"},
                                   {"index": 2, "value": 9, "op": "SCMP_CMP_EQ"},
                                   {"index": 1, "value": 255, "valueTwo": 3, "op": "SCMP_CMP_MASKED_EQ"}]}]
        })))
        .expect("compile");
        assert_eq!(c.rules(), 1);
        if !is_root_or_skip() {
            return;
        }
        let c = compile(&spec(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ERRNO",
                          "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                                   {"index": 0, "value": 0x1000, "op": "SCMP_CMP_GT"}]}]
        })))
        .expect("compile");
        let code = with_filter(&c, || {
            match (personality(0), personality(8), personality(0x2000)) {
                (0, 1, 1) => 0,
                _ => 10,
            }
        });
        assert_eq!(code, 0);
    }

    #[test]
    fn skipped_rules() {
        // Same action as the default, and an unknown system call: both skipped, no error.
        let c = compile(&spec(serde_json::json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO"},
                         {"names": ["no_such_syscall_berth"], "action": "SCMP_ACT_ALLOW"},
                         {"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]
        })))
        .expect("compile");
        assert_eq!(c.rules(), 1);
        let c = compile(&spec(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
            "listenerPath": "/run/agent.sock"
        })))
        .expect("compile");
        assert_eq!(c.warnings().len(), 2, "{:?}", c.warnings());
    }

    #[test]
    fn errors_name_the_field() {
        let err = |json| compile(&spec(json)).expect_err("must fail");
        let e = err(serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_NOTIFY"}]}));
        assert!(matches!(e, SeccompError::NotifyUnsupported { .. }));
        assert_eq!(e.kind(), ErrorKind::NotImplemented);
        assert!(
            e.to_string()
                .contains("seccomp notify (listenerPath) is not supported yet"),
            "{e}"
        );
        assert!(
            e.to_string()
                .starts_with("linux.seccomp.syscalls[0].action"),
            "{e}"
        );

        let e = err(serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 1}));
        assert!(
            e.to_string()
                .starts_with("linux.seccomp.defaultErrnoRet: errnoRet is only valid"),
            "{e}"
        );
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);

        let e = err(serde_json::json!({"defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ALLOW", "errnoRet": 1}]}));
        assert!(
            e.to_string()
                .starts_with("linux.seccomp.syscalls[0].errnoRet"),
            "{e}"
        );

        let e = err(serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": 70000}]}));
        assert!(
            matches!(e, SeccompError::ErrnoRetRange { value: 70000, .. }),
            "{e}"
        );

        let e = err(serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO",
                          "args": [{"index": 6, "value": 0, "op": "SCMP_CMP_EQ"}]}]}));
        assert!(
            e.to_string()
                .starts_with("linux.seccomp.syscalls[0].args[0].index: 6 is out of range"),
            "{e}"
        );

        // Bad operators and unknown architectures are refused by the OCI parser already.
        assert!(serde_json::from_value::<LinuxSeccomp>(
            serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO",
                          "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_ALMOST"}]}]})
        )
        .is_err());
        assert!(serde_json::from_value::<LinuxSeccomp>(
            serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_Z80"]})
        )
        .is_err());
    }

    #[test]
    fn docker_profile_errors() {
        let conv = |json: &str, arch| from_docker_profile(json.as_bytes(), &[], arch);
        let e = conv("{", "x86_64").expect_err("bad json");
        assert!(matches!(e, SeccompError::ProfileJson { .. }), "{e}");
        let e = conv(r#"{"defaultAction": "SCMP_ACT_MAYBE"}"#, "x86_64").expect_err("bad action");
        assert!(e.to_string().contains("SCMP_ACT_MAYBE"), "{e}");
        let e = conv(r#"{"defaultAction": "SCMP_ACT_ALLOW"}"#, "z80").expect_err("bad arch");
        assert!(matches!(e, SeccompError::UnknownArch { .. }), "{e}");
        let e = conv(r#"{"defaultAction": "SCMP_ACT_ALLOW", "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_Z80"]}]}"#, "x86_64")
            .expect_err("bad sub arch");
        assert!(
            e.to_string().starts_with(
                "archMap[0].subArchitectures[0]: unknown architecture \"SCMP_ARCH_Z80\""
            ),
            "{e}"
        );
        // Entries of other architectures are not looked at.
        conv(r#"{"defaultAction": "SCMP_ACT_ALLOW", "archMap": [{"architecture": "SCMP_ARCH_Z80"}]}"#, "x86_64").expect("foreign entry ignored");
        let e = conv(r#"{"syscalls": []}"#, "x86_64").expect_err("no default");
        assert!(e.to_string().contains("defaultAction is missing"), "{e}");
        let e = conv(r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"name": "a", "names": ["b"], "action": "SCMP_ACT_ERRNO"}]}"#, "x86_64")
            .expect_err("name and names");
        assert!(
            e.to_string().contains("syscalls[0]: both name and names"),
            "{e}"
        );
        let e = conv(r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["b"], "action": "SCMP_ACT_ERRNO", "errno": "EWHATEVER"}]}"#, "x86_64")
            .expect_err("errno name");
        assert!(
            e.to_string()
                .contains("syscalls[0].errno: unknown errno name"),
            "{e}"
        );
        let e = conv(r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["b"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "four"}}]}"#, "x86_64")
            .expect_err("min kernel");
        assert!(
            e.to_string().contains("syscalls[0].includes.minKernel"),
            "{e}"
        );
    }

    #[test]
    fn docker_profile_min_kernel_and_errno_names() {
        let json = r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrno": "ENOSYS", "syscalls": [
            {"names": ["old"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "2.6"}},
            {"names": ["future"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "999.0"}},
            {"names": ["gone"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "3.0"}},
            {"names": ["e"], "action": "SCMP_ACT_ERRNO", "errno": "EPERM"}]}"#;
        let s = from_docker_profile(json.as_bytes(), &[], "x86_64").expect("convert");
        assert_eq!(s.default_errno_ret(), Some(38));
        let names: Vec<&str> = s
            .syscalls()
            .iter()
            .flatten()
            .flat_map(|c| c.names())
            .map(String::as_str)
            .collect();
        assert_eq!(names, ["old", "e"]);
        assert_eq!(
            s.syscalls().as_ref().and_then(|c| c[1].errno_ret()),
            Some(1)
        );
        assert_eq!(parse_kernel_version("6.18.44-fc-v782"), Some((6, 18)));
        assert_eq!(parse_kernel_version("5.10"), Some((5, 10)));
        assert_eq!(parse_kernel_version("5"), None);
    }
}
