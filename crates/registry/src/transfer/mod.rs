//! Moving images between a registry and the store: [`pull`] and [`push`], with progress
//! events that carry what Docker's JSON progress stream carries (`id`, `status`,
//! `progressDetail`), so the CLI can draw bars and the API can forward them unchanged.

mod pull;
mod push;

pub use pull::{pull, PullOptions, PullReport};
pub use push::{push, PushReport};

use berth_image::Digest;

/// One line of progress, as Docker emits them during pull and push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressEvent {
    /// The layer (12 hex digits of its digest), or `None` for a whole-operation line.
    pub id: Option<String>,
    /// `Pulling fs layer`, `Downloading`, `Pull complete`, `Pushed`, `Digest: …`, …
    pub status: String,
    /// Bytes done, for `Downloading` / `Pushing`.
    pub current: Option<u64>,
    /// Bytes in all.
    pub total: Option<u64>,
}

impl ProgressEvent {
    /// A line without a layer.
    pub fn status(s: String) -> Self {
        ProgressEvent {
            id: None,
            status: s,
            current: None,
            total: None,
        }
    }

    /// A layer's new status.
    pub fn layer(id: &str, status: &str) -> Self {
        ProgressEvent {
            id: Some(id.to_string()),
            status: status.to_string(),
            current: None,
            total: None,
        }
    }

    /// A layer's byte progress.
    pub fn bytes(id: &str, status: &str, current: u64, total: u64) -> Self {
        ProgressEvent {
            id: Some(id.to_string()),
            status: status.to_string(),
            current: Some(current),
            total: Some(total),
        }
    }
}

/// The 12 hex digits Docker shows for a layer.
pub(crate) fn short(d: &Digest) -> String {
    d.hex().chars().take(12).collect()
}
