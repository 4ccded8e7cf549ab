//! Image operations over the store: the filters and views `docker images`, `inspect` and
//! `history` need, and the write paths (tag, remove, prune, load, save, import).
//!
//! Sizes are the unpacked size of an image's layers (what Docker shows); filters follow
//! Docker's `images` filters (`dangling`, `label`, `reference` globs, `before`, `since`).

use std::io::{Read, Write};
use std::path::PathBuf;

use berth_image::{
    changes, ContainerConfig, Digest, Image, LabelFilter, LoadReport, NewImage, PruneOptions,
    PruneReport, Reference, RemoveEvent,
};

use crate::{Engine, EngineError, Result};

/// An image with its computed size.
#[derive(Debug, Clone)]
pub struct ImageView {
    /// The stored image.
    pub image: Image,
    /// Bytes of its unpacked layers.
    pub size: u64,
}

/// `docker images` filters; empty means "everything".
#[derive(Debug, Clone, Default)]
pub struct ImageFilters {
    /// `dangling=true|false`.
    pub dangling: Option<bool>,
    /// `label=key[=value]`, all must match.
    pub labels: Vec<String>,
    /// `reference=glob`, any must match a tag.
    pub references: Vec<String>,
    /// `before=image`: created strictly before it.
    pub before: Option<String>,
    /// `since=image`: created strictly after it.
    pub since: Option<String>,
}

/// One history entry, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    /// The image id on the top entry, `None` below it.
    pub id: Option<Digest>,
    /// Seconds since the epoch.
    pub created: i64,
    /// The instruction.
    pub created_by: String,
    /// Familiar tags, on the top entry.
    pub tags: Vec<String>,
    /// Bytes the layer adds.
    pub size: u64,
    /// Comment.
    pub comment: String,
}

/// What `docker import` asks for.
#[derive(Debug, Clone, Default)]
pub struct ImportRequest {
    /// `repo[:tag]` to tag the result with.
    pub reference: Option<String>,
    /// Dockerfile instructions (`CMD ["sh"]`, `ENV A=b`).
    pub changes: Vec<String>,
    /// The commit message.
    pub message: Option<String>,
    /// Creation time (seconds since the epoch).
    pub created: i64,
}

/// Docker's glob for `reference=`: `*` within a path component, `?` one character.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match (pattern.first(), text.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob(&pattern[1..], text)
                || (!text.is_empty() && text[0] != b'/' && glob(pattern, &text[1..]))
        }
        (Some(b'?'), Some(c)) if *c != b'/' => glob(&pattern[1..], &text[1..]),
        (Some(a), Some(b)) if a == b => glob(&pattern[1..], &text[1..]),
        _ => false,
    }
}

impl Engine {
    fn view(&self, image: Image) -> ImageView {
        let size = image
            .chain_ids()
            .iter()
            .filter_map(|c| self.store.snapshots().meta(c).ok())
            .map(|m| m.size)
            .sum();
        ImageView { image, size }
    }

    fn lookup(&self, name: &str) -> Result<Image> {
        self.store
            .resolve(name)
            .and_then(|id| self.store.get(&id))
            .map_err(|e| EngineError::from_lookup(name, e))
    }

    /// The images matching `filters`, newest first.
    pub fn images(&self, filters: &ImageFilters) -> Result<Vec<ImageView>> {
        let created_of = |name: &str| self.lookup(name).map(|i| i.created_unix());
        let before = filters.before.as_deref().map(created_of).transpose()?;
        let since = filters.since.as_deref().map(created_of).transpose()?;
        let labels: Vec<LabelFilter> = filters
            .labels
            .iter()
            .map(|l| LabelFilter::parse(l, false))
            .collect();
        let mut out = Vec::new();
        for mut img in self.store.list()? {
            let t = img.created_unix();
            if filters.dangling.is_some_and(|d| img.is_dangling() != d)
                || !labels.iter().all(|l| l.matches(&img))
                || before.is_some_and(|b| t >= b)
                || since.is_some_and(|s| t <= s)
            {
                continue;
            }
            if !filters.references.is_empty() {
                // As Docker: only the matching tags are shown, and an image without one is
                // left out.
                img.tags.retain(|r| {
                    let name = r.familiar_name();
                    let full = r.familiar();
                    filters.references.iter().any(|p| {
                        glob(p.as_bytes(), full.as_bytes()) || glob(p.as_bytes(), name.as_bytes())
                    })
                });
                if img.tags.is_empty() {
                    continue;
                }
            }
            out.push(self.view(img));
        }
        Ok(out)
    }

    /// One image by name, id or id prefix.
    pub fn image(&self, name: &str) -> Result<ImageView> {
        let img = self.lookup(name)?;
        Ok(self.view(img))
    }

    /// The unpacked layer directories of an image, top first (overlay's `lowerdir` order).
    pub fn layer_dirs(&self, image: &Image) -> Vec<PathBuf> {
        image
            .chain_ids()
            .iter()
            .rev()
            .map(|d| self.store.snapshots().layer_fs(d))
            .collect()
    }

    /// `docker history`.
    pub fn history(&self, name: &str) -> Result<Vec<HistoryEntry>> {
        let img = self.lookup(name)?;
        let chains = img.chain_ids();
        let mut layer = 0;
        let n = img.config.history.len();
        let mut out = Vec::with_capacity(n);
        for (i, h) in img.config.history.iter().enumerate() {
            let size = if h.empty_layer == Some(true) {
                0
            } else {
                let s = chains
                    .get(layer)
                    .and_then(|c| self.store.snapshots().meta(c).ok())
                    .map_or(0, |m| m.size);
                layer += 1;
                s
            };
            let top = i + 1 == n;
            out.push(HistoryEntry {
                id: top.then(|| img.id().clone()),
                created: h
                    .created
                    .as_deref()
                    .and_then(berth_image::time::parse_rfc3339)
                    .unwrap_or(0),
                created_by: h.created_by.clone().unwrap_or_default(),
                tags: if top {
                    img.tags.iter().map(Reference::familiar).collect()
                } else {
                    Vec::new()
                },
                size,
                comment: h.comment.clone().unwrap_or_default(),
            });
        }
        out.reverse();
        Ok(out)
    }

    /// `docker tag SOURCE REPO[:TAG]`.
    pub fn tag(&self, source: &str, repo: &str, tag: Option<&str>) -> Result<()> {
        let target = match tag.filter(|t| !t.is_empty()) {
            Some(t) => format!("{repo}:{t}"),
            None => repo.to_string(),
        };
        let target = Reference::parse(&target)?;
        self.store
            .tag(source, &target)
            .map_err(|e| EngineError::from_lookup(source, e))?;
        self.emit_image_named(source, "tag", &target.to_string());
        Ok(())
    }

    /// `docker rmi`.
    pub fn remove(&self, name: &str, force: bool) -> Result<Vec<RemoveEvent>> {
        self.store
            .remove(name, force)
            .map_err(|e| EngineError::from_lookup(name, e))
            .inspect(|events| self.emit_removals(events))
    }

    /// `docker image prune`.
    pub fn prune(&self, opts: &PruneOptions) -> Result<PruneReport> {
        Ok(self.store.prune(opts)?)
    }

    /// `docker load`: a docker-archive or OCI layout tar.
    pub fn load(&self, archive: impl Read) -> Result<LoadReport> {
        Ok(self.store.load(archive)?).inspect(|r| self.emit_loaded(r))
    }

    /// `docker save`: writes one tar holding `names`.
    pub fn save(&self, names: &[&str], out: impl Write) -> Result<()> {
        for n in names {
            self.lookup(n)?;
        }
        self.store.save(names, out)?;
        for n in names {
            self.emit_image_named(n, "save", n);
        }
        Ok(())
    }

    /// `docker import`: a root file system tar becomes a one-layer image.
    pub fn import(&self, tar: impl Read, req: &ImportRequest) -> Result<Digest> {
        let mut config = ContainerConfig::default();
        for c in &req.changes {
            changes::apply_change(&mut config, c)?;
        }
        let new = NewImage {
            config,
            comment: req.message.clone(),
            author: None,
            created_by: None,
            created: req.created,
            tag: req.reference.as_deref().map(Reference::parse).transpose()?,
        };
        let id = self.store.import(tar, &new)?;
        self.emit_image(&id.to_string(), "import", &id.to_string());
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs_like_docker() {
        assert!(glob(b"bench/*", b"bench/load"));
        assert!(!glob(b"*", b"bench/load"));
        assert!(glob(b"b?nch/load:*", b"bench/load:latest"));
    }
}
