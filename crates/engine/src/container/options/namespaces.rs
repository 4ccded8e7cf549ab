//! `PidMode` and `IpcMode`: which pid and IPC namespaces a container gets.
//!
//! Parsed apart from the spec builder because the engine needs the same answer at create
//! (validation, the `container:` target must exist), at start (the target must run; its
//! namespaces are joined by its current pid) and in the spec (namespaces, `/dev/shm`).

use super::OptionsError;

/// The pid namespace a `PidMode` asks for (Docker's `container.PidMode`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PidKind {
    /// A new pid namespace (an empty `PidMode`).
    Private,
    /// The host's pid namespace: the container sees every process.
    Host,
    /// Another container's pid namespace (`container:<name or id>`).
    Container(String),
}

/// Parses `PidMode`: empty, `host` or `container:<name|id>`, as Docker's `PidMode.Valid`.
pub fn pid_kind(mode: &str) -> Result<PidKind, OptionsError> {
    match mode {
        "" => Ok(PidKind::Private),
        "host" => Ok(PidKind::Host),
        m => match m.strip_prefix("container:") {
            Some(c) if !c.is_empty() => Ok(PidKind::Container(c.to_owned())),
            _ => Err(OptionsError::PidMode(m.to_owned())),
        },
    }
}

/// The IPC namespace and `/dev/shm` an `IpcMode` asks for (Docker's `container.IpcMode`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpcKind {
    /// A new IPC namespace and a private `/dev/shm` (`private` or empty).
    Private,
    /// A new IPC namespace and no `/dev/shm` at all.
    None,
    /// A new IPC namespace whose `/dev/shm` lives on the host, so others may join it.
    Shareable,
    /// The host's IPC namespace and `/dev/shm`.
    Host,
    /// Another (shareable) container's IPC namespace and `/dev/shm`.
    Container(String),
}

impl IpcKind {
    /// Whether the container gets an IPC namespace of its own.
    pub fn own_namespace(&self) -> bool {
        !matches!(self, IpcKind::Host | IpcKind::Container(_))
    }
}

/// What Docker 28 records (and inspect shows) for an empty `IpcMode`: the daemon's
/// default, `private`.
pub const DEFAULT_IPC_MODE: &str = "private";

/// Parses `IpcMode`: empty (= `private`), `private`, `none`, `shareable`, `host` or
/// `container:<name|id>`, as Docker's `IpcMode.Valid`.
pub fn ipc_kind(mode: &str) -> Result<IpcKind, OptionsError> {
    match mode {
        "" | "private" => Ok(IpcKind::Private),
        "none" => Ok(IpcKind::None),
        "shareable" => Ok(IpcKind::Shareable),
        "host" => Ok(IpcKind::Host),
        m => match m.strip_prefix("container:") {
            Some(c) if !c.is_empty() => Ok(IpcKind::Container(c.to_owned())),
            _ => Err(OptionsError::IpcMode(m.to_owned())),
        },
    }
}

/// Docker refuses the IPC sysctls (`kernel.shm*`, `kernel.msg*`, `kernel.sem`,
/// `fs.mqueue.*`) for a container that does not own its IPC namespace: they would change
/// the host's or the other container's.
pub fn validate_ipc_sysctl(name: &str, ipc: &IpcKind) -> Result<(), OptionsError> {
    let is_ipc = berth_runtime::IPC_SYSCTLS.contains(&name) || name.starts_with("fs.mqueue.");
    if is_ipc && !ipc.own_namespace() {
        return Err(OptionsError::Sysctl {
            name: name.to_owned(),
            reason: "the container shares another IPC namespace (IpcMode host or container:…), \
                     so it would change that one: drop it or use a private IPC mode"
                .to_owned(),
        });
    }
    Ok(())
}
