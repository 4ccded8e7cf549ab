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

/// Runs `work` on every item, at most `workers` at a time on scoped threads, and returns the
/// results in the items' order. The first error stops the others from taking new items and
/// is returned.
pub(crate) fn bounded<T: Sync, R: Send>(
    items: &[T],
    workers: usize,
    work: impl Fn(&T) -> crate::Result<R> + Sync,
) -> crate::Result<Vec<R>> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<(usize, R)>> = Mutex::new(Vec::with_capacity(items.len()));
    let first_error: Mutex<Option<crate::RegistryError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..workers.clamp(1, 16).min(items.len().max(1)) {
            scope.spawn(|| loop {
                if first_error.lock().map(|e| e.is_some()).unwrap_or(true) {
                    return;
                }
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(k) else {
                    return;
                };
                match work(item) {
                    Ok(r) => {
                        if let Ok(mut d) = done.lock() {
                            d.push((k, r));
                        }
                    }
                    Err(e) => {
                        if let Ok(mut slot) = first_error.lock() {
                            slot.get_or_insert(e);
                        }
                        return;
                    }
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().ok().flatten() {
        return Err(e);
    }
    let mut out = done.into_inner().unwrap_or_default();
    out.sort_by_key(|(k, _)| *k);
    Ok(out.into_iter().map(|(_, r)| r).collect())
}

/// The 12 hex digits Docker shows for a layer.
pub(crate) fn short(d: &Digest) -> String {
    d.hex().chars().take(12).collect()
}
