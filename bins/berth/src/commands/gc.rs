//! `berth system gc`: shows or sets the store's automatic collection policy and applies it
//! now. Beyond Docker, which has no such policy: its users fill disks with `<none>` images.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use berth_image::{GcPolicy, ImageStore, RemoveEvent};
use clap::Args;

use crate::format::human_size;

#[derive(Debug, Args)]
pub struct Fsck {
    /// Remove what is corrupt or dangling (images that lose a layer must be pulled again).
    #[arg(long)]
    repair: bool,
}

/// `berth system fsck`: checks every blob and unpacked layer against its digest.
pub fn fsck(root: &Path, a: &Fsck) -> Result<ExitCode> {
    let store = ImageStore::open(root)?;
    let r = store.fsck(a.repair)?;
    println!("Checked {} blobs and {} layers", r.blobs, r.layers);
    for d in &r.corrupt_blobs {
        println!("corrupt blob: {d}");
    }
    for (c, why) in &r.corrupt_layers {
        println!("corrupt layer: {c}: {why}");
    }
    for (id, what) in &r.incomplete_images {
        println!("incomplete image: {id}: missing {what}");
    }
    for n in &r.dangling_refs {
        println!("dangling reference: {n}");
    }
    if r.is_clean() {
        println!("No problems found");
        return Ok(ExitCode::SUCCESS);
    }
    if a.repair {
        println!("Repaired: corrupt objects and dangling references removed");
    }
    Ok(ExitCode::from(1))
}

#[derive(Debug, Args)]
pub struct Gc {
    /// Keep the store under this size (e.g. 20GB, 512MB; "none" for no limit).
    #[arg(long)]
    max_size: Option<String>,
    /// Keep this percentage of the file system free (0 to disable).
    #[arg(long)]
    min_free: Option<u8>,
    /// Also evict tagged images no container uses (least recently used first).
    #[arg(long)]
    include_tagged: Option<bool>,
    /// Turn automatic collection off.
    #[arg(long, conflicts_with_all = ["max_size", "min_free", "include_tagged"])]
    off: bool,
}

/// `20GB`, `512MB`, `1.5GiB`, `1000` (bytes): decimal and binary units as Docker reads them.
fn parse_size(text: &str) -> Result<u64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .with_context(|| format!("invalid size {text:?}"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => bail!("invalid size {text:?}: use a number with B, kB, MB, GB, TB or KiB…TiB"),
    };
    Ok((n * mult) as u64)
}

pub fn run(root: &Path, a: &Gc) -> Result<ExitCode> {
    let store = ImageStore::open(root)?;
    let mut policy = store.policy()?;
    if a.off {
        policy = GcPolicy::off();
    }
    if let Some(s) = &a.max_size {
        policy.max_bytes = if s == "none" {
            u64::MAX
        } else {
            parse_size(s)?
        };
    }
    if let Some(p) = a.min_free {
        if p > 99 {
            bail!("--min-free {p}: give a percentage below 100");
        }
        policy.min_free_percent = p;
    }
    if let Some(t) = a.include_tagged {
        policy.include_tagged = t;
    }
    store.set_policy(&policy)?;
    let limit = if policy.max_bytes == u64::MAX {
        "none".to_string()
    } else {
        human_size(policy.max_bytes)
    };
    println!(
        "Policy: max size {limit}, keep {}% free, evict {}",
        policy.min_free_percent,
        if policy.include_tagged {
            "dangling, then tagged images"
        } else {
            "dangling images"
        }
    );
    let report = store.enforce(&policy)?;
    for e in &report.events {
        match e {
            RemoveEvent::Untagged(r) => println!("untagged: {r}"),
            RemoveEvent::Deleted(d) => println!("deleted: {d}"),
        }
    }
    println!(
        "Total reclaimed space: {}",
        human_size(report.space_reclaimed)
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes() {
        assert_eq!(super::parse_size("20GB").unwrap(), 20_000_000_000);
        assert_eq!(super::parse_size("1.5GiB").unwrap(), 1_610_612_736);
        assert_eq!(super::parse_size("512mb").unwrap(), 512_000_000);
        assert_eq!(super::parse_size("1000").unwrap(), 1000);
        assert!(super::parse_size("lots").is_err());
        assert!(super::parse_size("5XB").is_err());
    }
}
