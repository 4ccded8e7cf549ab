//! The Docker Engine API's JSON shapes, and nothing else.
//!
//! Why a crate of its own: the server (`berth-api`) and, later, the client side (`berth-client`,
//! the CLI, compose) must agree on the wire format without the client linking the engine. So
//! these are plain serde structs with Docker's exact field names (`Id`, `RepoTags`,
//! `progressDetail`, …); engine types are converted to them by hand in `berth-api`.
//!
//! Invariant: no dependency beyond serde — no tokio, no hyper, no berth library.

#![warn(missing_docs)]

mod container;
mod exec;
mod image;
mod system;
mod volume;

pub use container::{
    ContainerCreateResponse, ContainerInspect, ContainerState, ContainerSummary,
    ContainerWaitResponse, WaitExitError,
};
pub use exec::{ExecCreateRequest, ExecInspect, ExecProcessConfig, ExecStartRequest};
pub use image::{
    HistoryResponseItem, ImageDeleteResponseItem, ImageInspect, ImageSummary, ImagesPruneResponse,
    JsonMessage, ProgressDetail,
};
pub use system::{
    AuthConfig, AuthResponse, ComponentVersion, DiskUsageResponse, ErrorDetail, ErrorResponse,
    Info, Version,
};
pub use volume::{
    Volume, VolumeCreateRequest, VolumeListResponse, VolumeUsageData, VolumesPruneResponse,
};

/// The API version berthd advertises in `/version` and the `Api-Version` header; clients
/// negotiate down to it.
pub const API_VERSION: &str = "1.43";
/// The oldest API version berthd accepts in a `/v1.NN/` path prefix.
pub const MIN_API_VERSION: &str = "1.24";
/// The newest API version accepted in a path prefix. Above [`API_VERSION`] the responses are
/// 1.43's (the fields berthd serves did not change shape up to 1.50); above this, requests are
/// refused as "too new".
pub const MAX_ACCEPTED_API_VERSION: &str = "1.50";

/// Parses `1.NN` into `(1, NN)` for ordering; `None` when malformed.
pub fn parse_api_version(v: &str) -> Option<(u32, u32)> {
    let (major, minor) = v.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order() {
        let min = parse_api_version(MIN_API_VERSION);
        let adv = parse_api_version(API_VERSION);
        let max = parse_api_version(MAX_ACCEPTED_API_VERSION);
        assert!(min < adv && adv < max);
        assert_eq!(parse_api_version("9.99"), Some((9, 99)));
        assert_eq!(parse_api_version("x"), None);
    }
}
