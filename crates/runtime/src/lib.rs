//! berth's OCI runtime library: an OCI bundle (config.json + rootfs) becomes an isolated process.
//!
//! Used in-process by berth's per-container shim (no exec of a separate runtime binary on the
//! hot path) and by `berth-runtime`, the runc-compatible command line that containerd, dockerd
//! and podman can drive.
//!
//! Entry point: [`Runtime`] (create, start, run, exec, kill, delete, pause, resume, state).
//!
//! Architecture invariants:
//! - Synchronous and fork-safe: no async runtime, no threads. The functions that clone
//!   ([`Runtime::create`], [`Runtime::run`], [`Runtime::exec`]) must be called from a
//!   single-threaded process.
//! - One clone per container: the child is created inside its new namespaces and becomes pid 1.
//! - Paths inside the rootfs are resolved with `openat2(RESOLVE_IN_ROOT)` and mounted through
//!   fds: a hostile rootfs cannot make us touch the host.
//! - Nothing the runtime holds reaches the user process: every fd ≥ 3 (beyond
//!   `preserve_fds`) is close-on-exec before `execve`.
//! - Status is derived, never stored (see [`state`]).

#![warn(missing_docs)]

pub mod caps;
mod container;
mod error;
mod hooks;
mod mounts;
mod process;
mod rootfs;
pub mod seccomp;
mod signals;
pub mod state;
mod sync;
mod sys;
mod sysctl;
pub mod tty;
pub mod wait;

pub use berth_cgroups as cgroups;
pub use container::{load_spec, CreateOptions, Created, Running, Runtime};
pub use error::{Result, RuntimeError};
pub use oci_spec;
pub use signals::parse_signal;
pub use state::{State, Status};
pub use sysctl::IPC_SYSCTLS;
