//! The OCI/Docker image model: media types, platforms, descriptors, manifests, indexes and
//! image configs, as serde types whose JSON names match the specs.
//!
//! Why a pure data layer with no I/O: the registry client, the archive importers and the store
//! all read the same documents; parsing and platform selection here are testable against the
//! spec's examples without a network or a disk. Digests of these documents are always taken
//! from the bytes as received, never from a re-serialisation, so serde's key order does not
//! matter for identity.
//!
//! - [`media_type`]: the media type strings and predicates (`is_manifest`, `is_layer`, ...).
//! - [`Platform`]: `os/arch[/variant]`, with containerd's normalisation and matching.
//! - [`Descriptor`], [`Manifest`], [`Index`], [`ManifestOrIndex`]: what a registry serves by
//!   reference; [`Index::select`] picks the manifest for a platform as `docker pull` does.
//! - [`ImageConfig`] and its parts, and [`chain_ids`].

mod config;
mod manifest;
pub mod media_type;
mod platform;

#[cfg(test)]
mod tests;

pub use config::{chain_ids, ContainerConfig, HealthConfig, History, ImageConfig, RootFs};
pub use manifest::{Descriptor, Index, Manifest, ManifestOrIndex};
pub use platform::Platform;
