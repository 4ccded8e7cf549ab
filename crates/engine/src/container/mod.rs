//! Containers: what `docker create` turns into an OCI runtime spec.
//!
//! Why a pure translation first: Docker's behaviour is mostly in how it merges the image
//! config with the create options and which defaults it adds (`daemon/oci_linux.go`); keeping
//! that in one function of plain data, [`build`], lets every rule be unit-tested without root,
//! and the lifecycle code (next) only has to write the result to `config.json`.
//!
//! - [`options`]: [`CreateOptions`], the body of `POST /containers/create` with Docker's JSON
//!   names, and the parsers and validators of its string-typed fields.
//! - [`spec`]: [`build`] and [`resolve_user`] (the only I/O: the rootfs's `/etc/passwd` and
//!   `/etc/group`, read through `berth_fs::open_in_root`).

pub mod options;
pub mod spec;

#[cfg(test)]
mod tests;

pub use options::{CreateOptions, HostConfig, MountSpec, OptionsError, TmpfsOptions, Ulimit};
pub use spec::{build, resolve_user, ResolvedUser, SpecContext, SpecError};
