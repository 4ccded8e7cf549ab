//! `ADD archive.tar /dir/`: a local tar (plain or gzip) is unpacked at the destination, as
//! Docker does; its entries are re-rooted under the destination in the step's layer.
//!
//! Why re-rooting entries is safe: names are cleaned here (`..` and absolute names refused
//! with the archive's name), and the layer itself is then unpacked by the hardened
//! extractor, which refuses anything that would leave the root.

use std::io::{Read, Seek, SeekFrom};

use crate::{EngineError, Result};

/// The archive in `f`, decompressed, if `f` holds a tar (plain or gzip); `None` otherwise
/// (the file is then copied as is).
pub(super) fn open_archive(mut f: std::fs::File) -> Result<Option<Box<dyn Read>>> {
    let io = |e| EngineError::io("reading", std::path::Path::new("ADD source"), e);
    let mut head = [0u8; 512];
    let n = read_full(&mut f, &mut head).map_err(io)?;
    f.seek(SeekFrom::Start(0)).map_err(io)?;
    if n >= 2 && head[0] == 0x1f && head[1] == 0x8b {
        let mut gz = flate2::read::GzDecoder::new(f);
        let mut inner = [0u8; 512];
        let m = read_full(&mut gz, &mut inner).unwrap_or(0);
        if m == 512 && &inner[257..262] == b"ustar" {
            return Ok(Some(Box::new(
                std::io::Cursor::new(inner.to_vec()).chain(gz),
            )));
        }
        return Ok(None);
    }
    if n == 512 && &head[257..262] == b"ustar" {
        return Ok(Some(Box::new(f)));
    }
    Ok(None)
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Appends every entry of `archive` to `out`, its name put under `dir` (absolute).
pub(super) fn append_unpacked<W: std::io::Write>(
    out: &mut tar::Builder<W>,
    archive: Box<dyn Read>,
    dir: &str,
) -> Result<()> {
    let bad = |what: String| EngineError::InvalidArgument(format!("ADD: {what}"));
    let prefix = dir.trim_matches('/');
    let join = |p: &std::path::Path| -> Result<String> {
        let clean = berth_build::ignore::clean(&p.to_string_lossy());
        if clean.starts_with("..") || p.is_absolute() && clean == "." {
            return Err(bad(format!("entry {} leaves the destination", p.display())));
        }
        let clean = clean.trim_start_matches('/').to_string();
        Ok(if prefix.is_empty() {
            clean
        } else {
            format!("{prefix}/{clean}")
        })
    };
    let mut ar = tar::Archive::new(archive);
    for entry in ar
        .entries()
        .map_err(|e| bad(format!("reading the archive: {e}")))?
    {
        let mut entry = entry.map_err(|e| bad(format!("reading the archive: {e}")))?;
        let name = join(
            &entry
                .path()
                .map_err(|e| bad(format!("bad entry name: {e}")))?,
        )?;
        let mut h = entry.header().clone();
        if h.entry_type() == tar::EntryType::Link {
            if let Ok(Some(target)) = entry.link_name() {
                let t = join(&target)?;
                out.append_link(&mut h, &name, t)
                    .map_err(|e| bad(format!("writing the layer: {e}")))?;
                continue;
            }
        }
        out.append_data(&mut h, &name, &mut entry)
            .map_err(|e| bad(format!("writing the layer: {e}")))?;
    }
    Ok(())
}
