//! A prepared context as berthd's manifest context (`berth_build::manifest`).
//!
//! Why: the legacy API moves the whole context on every build; berthd keeps contents by
//! digest, so the client hashes each changed file (on both cores; unchanged ones are known
//! from `digest_cache.rs`), asks which digests the
//! daemon lacks, and sends the manifest plus only those: an unchanged 20 MB context costs a
//! few kB on the socket and the daemon reads nothing it already has.

use std::collections::BTreeMap;
use std::fs;
use std::io;

use anyhow::{anyhow, Context as _, Result};
use berth_build::manifest::{
    ContextEntry, ContextEntryKind, ContextManifest, CONTEXT_BLOB_DIR, CONTEXT_MANIFEST_NAME,
};
use berth_client::Client;

use super::build_context::{file_header, Data, Item, Prepared};
use super::daemon;
use super::digest_cache::DigestCache;

/// The manifest of `ctx` (every file hashed, on both cores) and, by digest, the entry
/// holding each content.
pub fn manifest(ctx: &Prepared) -> Result<(ContextManifest, BTreeMap<String, usize>)> {
    use sha2::{Digest as _, Sha256};
    let cache = ctx
        .dir
        .as_deref()
        .map(DigestCache::load)
        .unwrap_or_default();
    // A file's digest: remembered when its stat fields are unchanged, else hashed (and the
    // stat fields it was hashed under, to remember it).
    let hash = |it: &Item| -> Result<(Option<String>, Option<fs::Metadata>)> {
        let mut h = Sha256::new();
        let mut meta = None;
        match &it.data {
            Data::File(p) => {
                let mut f =
                    fs::File::open(p).with_context(|| format!("reading {}", p.display()))?;
                let m = f.metadata()?;
                if let Some(d) = cache.get(&it.name, &m) {
                    return Ok((Some(d.to_string()), None));
                }
                io::copy(&mut f, &mut h).with_context(|| format!("reading {}", p.display()))?;
                meta = Some(m);
            }
            Data::Bytes(v) => h.update(v),
            Data::Empty | Data::Link(_) => return Ok((None, None)),
        }
        Ok((Some(format!("sha256:{:x}", h.finalize())), meta))
    };
    let half = ctx.items.len().div_ceil(2);
    let (a, b) = ctx.items.split_at(half);
    let (da, db) = std::thread::scope(|s| {
        let other = s.spawn(|| b.iter().map(hash).collect::<Result<Vec<_>>>());
        let mine = a.iter().map(hash).collect::<Result<Vec<_>>>();
        (
            mine,
            other
                .join()
                .unwrap_or_else(|_| Err(anyhow!("hashing the context failed"))),
        )
    });
    let hashed: Vec<_> = da?.into_iter().chain(db?).collect();
    let mut cache = cache;
    for (it, (digest, meta)) in ctx.items.iter().zip(&hashed) {
        if let (Some(d), Some(m)) = (digest, meta) {
            cache.put(&it.name, m, d);
        }
    }
    let names: Vec<&str> = ctx
        .items
        .iter()
        .filter(|it| matches!(it.data, Data::File(_)))
        .map(|it| it.name.as_str())
        .collect();
    cache.save(&names);
    let digests = hashed.into_iter().map(|(d, _)| d);
    let mut entries = Vec::with_capacity(ctx.items.len());
    let mut where_ = BTreeMap::new();
    for (i, (it, digest)) in ctx.items.iter().zip(digests).enumerate() {
        let h = &it.header;
        let kind = match &it.data {
            Data::Link(_) => ContextEntryKind::Symlink,
            _ if h.entry_type() == tar::EntryType::Directory => ContextEntryKind::Dir,
            Data::File(_) | Data::Bytes(_) => ContextEntryKind::File,
            Data::Empty => continue,
        };
        if let Some(d) = &digest {
            where_.entry(d.clone()).or_insert(i);
        }
        entries.push(ContextEntry {
            path: it.name.clone(),
            kind,
            mode: h.mode().unwrap_or(0o644) & 0o7777,
            mtime: h.mtime().unwrap_or(0),
            size: if digest.is_some() {
                h.size().unwrap_or(0)
            } else {
                0
            },
            digest,
            target: match &it.data {
                Data::Link(t) => Some(t.to_string_lossy().into_owned()),
                _ => None,
            },
        });
    }
    Ok((ContextManifest { entries }, where_))
}

/// The context as berthd's manifest context (`berth_build::manifest`): the manifest plus the
/// contents the daemon lacks. `None` when the daemon does not offer it (dockerd): the plain
/// tar is sent then.
pub fn manifest_context(c: &Client, ctx: &Prepared) -> Result<Option<Vec<u8>>> {
    let (manifest, contents) = manifest(ctx)?;
    let digests = serde_json::to_value(manifest.digests())?;
    let missing: Vec<String> = match c.post("/build/blobs/missing", Some(&digests)) {
        Ok(m) => m,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(daemon(e)),
    };
    let mut b = tar::Builder::new(Vec::new());
    let text = serde_json::to_vec(&manifest)?;
    b.append_data(
        &mut file_header(text.len()),
        CONTEXT_MANIFEST_NAME,
        &text[..],
    )?;
    for d in &missing {
        let it = contents
            .get(d)
            .and_then(|i| ctx.items.get(*i))
            .ok_or_else(|| anyhow!("the daemon asked for {d}, which is not in the context"))?;
        let name = format!("{CONTEXT_BLOB_DIR}{}", d.trim_start_matches("sha256:"));
        let mut h = file_header(0);
        h.set_size(it.header.size().unwrap_or(0));
        match &it.data {
            Data::File(p) => b.append_data(&mut h, name, fs::File::open(p)?)?,
            Data::Bytes(v) => b.append_data(&mut h, name, &v[..])?,
            Data::Empty | Data::Link(_) => {}
        }
    }
    Ok(Some(b.into_inner()?))
}
