//! Image config + create options → OCI runtime spec, as moby's `daemon/oci_linux.go` and its
//! config merge (`daemon/commit.go: merge`, `container.CreateDaemonEnvironment`) do it.
//!
//! Why the spec is assembled as `config.json`-shaped JSON and then deserialised into
//! [`Spec`]: the JSON shape *is* the contract (it is what runc reads and what `docker inspect`
//! users compare against), it keeps Docker's list orders (capabilities, mounts, env) readable
//! in one place, and the final `from_value` checks every field against oci-spec's types, so a
//! typo cannot reach the runtime (the tests build specs for every branch).
//!
//! The only I/O is [`resolve_user`]: reading `/etc/passwd` and `/etc/group` of the container's
//! root through `berth_fs::open_in_root`, so a hostile image's symlinks cannot make the daemon
//! read a host file.
//!
//! - `process`: `process.args`/`env`/`cwd` (the entrypoint/cmd and env merges) and
//!   [`resolve_user`].
//! - `mounts`: Docker's default mounts and the user's binds, `--mount`s and tmpfs.
//! - `linux`: `linux.resources` (devices, memory, cpu, pids) and the masked/read-only paths.

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;

use berth_image::ImageConfig;
use berth_runtime::oci_spec::runtime::Spec;
use berth_runtime::seccomp::{from_docker_profile, SeccompError};
use berth_types::ErrorKind;
use serde_json::{json, Value};

use super::options::{
    capabilities, ipc_kind, log_limits, network_kind, parse_security_opts, pid_kind, rlimit,
    validate_ipc_sysctl, validate_resources, validate_sysctl, CreateOptions, IpcKind, NetworkKind,
    OptionsError, PidKind, SeccompChoice,
};

mod linux;
mod mounts;
mod process;

pub use linux::{MASKED_PATHS, READONLY_PATHS};
pub use process::{resolve_user, ResolvedUser, DEFAULT_PATH};

use linux::resources;
pub(crate) use linux::resources as resources_json;
use mounts::mounts;
pub use mounts::ETC_FILES;
use process::{command, environment};

/// Where Docker puts the init binary in the container.
pub const INIT_PATH: &str = "/sbin/docker-init";

/// What the caller knows about the container that the options do not say.
#[derive(Debug, Clone, Default)]
pub struct SpecContext {
    /// The container's root file system (the overlay mount point).
    pub rootfs: PathBuf,
    /// The container id; its first 12 characters are the hostname when the options give
    /// none. (With `NetworkMode` host Docker uses the host's name: the caller puts it in
    /// `CreateOptions::hostname` at create time, as dockerd does.)
    pub container_id: String,
    /// The daemon's default seccomp profile (Docker's JSON format); `None` = unconfined.
    pub seccomp_profile: Option<Vec<u8>>,
    /// The cgroup path (`/berth/<id>` or `system.slice:berth:<id>`).
    pub cgroups_path: String,
    /// The host architecture (`amd64`, `x86_64`, `std::env::consts::ARCH`).
    pub arch: String,
    /// The host runs cgroup v2: Docker then gives containers a private cgroup namespace.
    pub cgroup_v2: bool,
    /// The host path of the init binary bind-mounted at `/sbin/docker-init` for `Init`.
    pub init_binary: Option<PathBuf>,
    /// The network namespace to join (a bind-mounted nsfs file the engine sets up before each
    /// start); `None` gives the container a new, empty one. Ignored for `host`.
    pub netns_path: Option<PathBuf>,
    /// The directory holding the container's generated `hostname`, `hosts` and `resolv.conf`,
    /// bind-mounted over `/etc/…` as Docker does (unless the user mounts those paths).
    pub etc_dir: Option<PathBuf>,
    /// For `PidMode` `container:X`: X's pid namespace (`/proc/<X's pid>/ns/pid`; the engine
    /// writes it again at each start, since X's pid changes when X restarts).
    pub pidns_path: Option<PathBuf>,
    /// For `IpcMode` `container:X`: X's IPC namespace, as `pidns_path`.
    pub ipcns_path: Option<PathBuf>,
    /// For `IpcMode` `shareable` and `container:X`: the host directory (a tmpfs the engine
    /// mounts for the shareable container) bind-mounted at `/dev/shm`.
    pub shm_path: Option<PathBuf>,
}

/// Why no spec could be built; the message names the value and the fix.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// An option is invalid.
    #[error(transparent)]
    Options(#[from] OptionsError),
    /// Neither the options nor the image give a command (Docker's words).
    #[error("No command specified")]
    NoCommand,
    /// The working directory is relative (Docker's words).
    #[error("the working directory '{0}' is invalid, it needs to be an absolute path")]
    WorkingDir(String),
    /// A user name is not in the container's `/etc/passwd` (Docker's words).
    #[error("unable to find user {0}: no matching entries in passwd file")]
    UnknownUser(String),
    /// A group name is not in the container's `/etc/group` (Docker's words).
    #[error("unable to find group {0}: no matching entries in group file")]
    UnknownGroup(String),
    /// The container's user database could not be read.
    #[error("reading {path} in the container's root file system {rootfs}: {source}")]
    UserDb {
        /// `/etc/passwd` or `/etc/group`.
        path: String,
        /// The rootfs.
        rootfs: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// Two mounts share a destination (Docker's words).
    #[error("Duplicate mount point: {0}")]
    DuplicateMount(String),
    /// `Init` was asked for but the daemon has no init binary.
    #[error("--init was requested but no init binary is configured: install docker-init (tini) and configure its path, or drop --init")]
    NoInitBinary,
    /// The seccomp profile could not be converted.
    #[error(transparent)]
    Seccomp(#[from] SeccompError),
    /// The assembled spec does not fit the OCI types (a bug in this module).
    #[error("building the OCI spec: {0}")]
    Internal(String),
}

impl SpecError {
    /// The class of this failure (for the API's status code).
    pub fn kind(&self) -> ErrorKind {
        match self {
            SpecError::UserDb { .. } | SpecError::Internal(_) => ErrorKind::Internal,
            SpecError::Seccomp(e) => e.kind(),
            _ => ErrorKind::InvalidArgument,
        }
    }
}

/// Builds the OCI spec for a container of `image` created with `opts`.
pub fn build(
    image: &ImageConfig,
    opts: &CreateOptions,
    ctx: &SpecContext,
) -> Result<Spec, SpecError> {
    let hc = &opts.host_config;
    let empty = Default::default();
    let ic = image.config.as_ref().unwrap_or(&empty);
    validate_resources(hc)?;
    log_limits(&hc.log_config)?;
    let net = network_kind(&hc.network_mode)?;
    let pid = pid_kind(&hc.pid_mode)?;
    let ipc = ipc_kind(&hc.ipc_mode)?;
    let security = parse_security_opts(&hc.security_opt)?;

    let args = command(ic.entrypoint.as_deref(), ic.cmd.as_deref(), opts)?;
    let hostname = if opts.hostname.is_empty() {
        ctx.container_id.chars().take(12).collect()
    } else {
        opts.hostname.clone()
    };
    let env = environment(ic.env.as_deref().unwrap_or_default(), opts, &hostname);
    let cwd = if !opts.working_dir.is_empty() {
        if !opts.working_dir.starts_with('/') {
            return Err(SpecError::WorkingDir(opts.working_dir.clone()));
        }
        opts.working_dir.clone()
    } else {
        ic.working_dir
            .clone()
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| "/".into())
    };
    let user_spec = if opts.user.is_empty() {
        ic.user.clone().unwrap_or_default()
    } else {
        opts.user.clone()
    };
    let user = resolve_user(&ctx.rootfs, &user_spec, &hc.group_add)?;

    let caps = capabilities(hc)?;
    let mut rlimits = Vec::new();
    for u in &hc.ulimits {
        let (kind, soft, hard) = rlimit(u)?;
        rlimits.push(json!({"type": kind, "soft": soft, "hard": hard}));
    }
    for name in hc.sysctls.keys() {
        validate_sysctl(name, !net.own_namespace())?;
        validate_ipc_sysctl(name, &ipc)?;
    }

    let init = hc.init == Some(true);
    let args = if init {
        if ctx.init_binary.is_none() {
            return Err(SpecError::NoInitBinary);
        }
        [INIT_PATH.to_owned(), "--".to_owned()]
            .into_iter()
            .chain(args)
            .collect()
    } else {
        args
    };

    let mut process = json!({
        "terminal": opts.tty,
        "user": user,
        "args": args,
        "env": env,
        "cwd": cwd,
        "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
        "oomScoreAdj": hc.oom_score_adj,
    });
    if !rlimits.is_empty() {
        process["rlimits"] = Value::Array(rlimits);
    }
    if security.no_new_privileges {
        process["noNewPrivileges"] = json!(true);
    }

    let mounts = mounts(opts, ctx, init, &ipc)?;

    let mut namespaces = vec![json!({"type": "mount"})];
    match (&net, &ctx.netns_path) {
        (NetworkKind::Host, _) => {}
        (_, Some(path)) => namespaces.push(json!({"type": "network", "path": path})),
        (NetworkKind::Container(c), None) => {
            // Never a fresh namespace (and never the host's) in place of the one asked for.
            return Err(SpecError::Internal(format!(
                "no network namespace given for container:{c}"
            )));
        }
        (_, None) => namespaces.push(json!({"type": "network"})),
    }
    namespaces.push(json!({"type": "uts"}));
    let joined = |kind: &str, target: &str, path: &Option<PathBuf>| match path {
        Some(p) => Ok(json!({"type": kind, "path": p})),
        // Never a fresh namespace (nor the host's) in place of the container's asked for.
        None => Err(SpecError::Internal(format!(
            "no {kind} namespace given for container:{target}"
        ))),
    };
    match &pid {
        PidKind::Host => {}
        PidKind::Private => namespaces.push(json!({"type": "pid"})),
        PidKind::Container(c) => namespaces.push(joined("pid", c, &ctx.pidns_path)?),
    }
    match &ipc {
        IpcKind::Host => {}
        IpcKind::Container(c) => namespaces.push(joined("ipc", c, &ctx.ipcns_path)?),
        _ => namespaces.push(json!({"type": "ipc"})),
    }
    if ctx.cgroup_v2 {
        namespaces.push(json!({"type": "cgroup"}));
    }

    let mut linux = json!({
        "namespaces": namespaces,
        "resources": resources(opts),
        "cgroupsPath": ctx.cgroups_path,
    });
    if !hc.privileged {
        linux["maskedPaths"] = json!(MASKED_PATHS);
        linux["readonlyPaths"] = json!(READONLY_PATHS);
    }
    if !hc.sysctls.is_empty() {
        linux["sysctl"] = json!(hc.sysctls);
    }
    let profile: Option<&[u8]> = match &security.seccomp {
        _ if hc.privileged => None,
        SeccompChoice::Unconfined => None,
        SeccompChoice::Profile(json) => Some(json.as_bytes()),
        SeccompChoice::Default => ctx.seccomp_profile.as_deref(),
    };
    if let Some(profile) = profile {
        let seccomp = from_docker_profile(profile, &caps, &ctx.arch)?;
        linux["seccomp"] =
            serde_json::to_value(seccomp).map_err(|e| SpecError::Internal(e.to_string()))?;
    }

    let mut spec = json!({
        "ociVersion": "1.2.0",
        "root": {"path": ctx.rootfs, "readonly": hc.readonly_rootfs},
        "hostname": hostname,
        "mounts": mounts,
        "process": process,
        "linux": linux,
    });
    if !opts.domainname.is_empty() {
        spec["domainname"] = json!(opts.domainname);
    }
    serde_json::from_value(spec).map_err(|e| SpecError::Internal(e.to_string()))
}

/// Labels are not part of the spec; kept here so the caller has one place for the merge:
/// the image's labels overridden by the options' (Docker's `merge`).
pub fn merged_labels(image: &ImageConfig, opts: &CreateOptions) -> BTreeMap<String, String> {
    let mut labels = image
        .config
        .as_ref()
        .and_then(|c| c.labels.clone())
        .unwrap_or_default();
    labels.extend(opts.labels.clone());
    labels
}
