//! Reading a COPY source without ever leaving its root: metadata, symlink targets and
//! directory listings all go through `open_in_root`, so a symlink in the context or in a
//! stage's image resolves inside it; plus the globs of a source's path.

use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use super::copy::{Entry, Source};
use crate::{EngineError, Result};

pub(super) fn excluded(src: &Source, rel: &str) -> bool {
    src.ignore.as_ref().is_some_and(|i| i.is_excluded(rel))
}

pub(super) fn open_in(src: &Source, rel: &Path) -> Result<std::fs::File> {
    use std::os::fd::AsFd;
    berth_fs::open_in_root(src.fd.as_fd(), rel, libc::O_RDONLY | libc::O_CLOEXEC)
        .map(std::fs::File::from)
        .map_err(|e| EngineError::io("opening", rel, e))
}

/// A regular file's content and size; a manifest context's file is read from the content
/// store.
pub(super) fn content_in(src: &Source, e: &Entry) -> Result<(std::fs::File, u64)> {
    let f = open_in(src, &e.src)?;
    match &src.content {
        Some(c) => c
            .open(f)
            .map_err(|er| EngineError::io("reading", &e.src, er)),
        None => Ok((f, e.meta.len())),
    }
}

/// A regular file's `sha256:` digest and size; a manifest context's are known without reading.
pub(super) fn digest_in(src: &Source, e: &Entry) -> Result<(String, u64)> {
    use sha2::{Digest as _, Sha256};
    if let Some(known) = src.content.as_ref().and_then(|c| c.lookup(&e.meta)) {
        return Ok(known.clone());
    }
    let (mut f, size) = content_in(src, e)?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(|er| EngineError::io("reading", &e.src, er))?;
    Ok((format!("sha256:{:x}", h.finalize()), size))
}

/// `rel`'s own metadata (a symlink is not followed), every component resolved inside the
/// source's root.
pub(super) fn meta_in(src: &Source, rel: &str) -> Result<std::fs::Metadata> {
    use std::os::fd::AsFd;
    let flags = libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    let f = berth_fs::open_in_root(src.fd.as_fd(), Path::new(rel), flags)
        .map(std::fs::File::from)
        .map_err(|e| EngineError::io("reading", Path::new(rel), e))?;
    f.metadata()
        .map_err(|e| EngineError::io("reading", Path::new(rel), e))
}

/// A symlink's target, read without leaving the source's root.
pub(super) fn link_in(src: &Source, rel: &Path) -> Result<PathBuf> {
    use std::os::fd::{AsFd, AsRawFd};
    let flags = libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    let f = berth_fs::open_in_root(src.fd.as_fd(), rel, flags)
        .map_err(|e| EngineError::io("reading", rel, e))?;
    let mut buf = vec![0u8; 4096];
    // SAFETY: `f` is an open O_PATH fd of a symlink; an empty path makes readlinkat read that
    // link; `buf` is valid for `buf.len()` bytes.
    let n = unsafe {
        libc::readlinkat(
            f.as_raw_fd(),
            c"".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        return Err(EngineError::io(
            "reading",
            rel,
            std::io::Error::last_os_error(),
        ));
    }
    buf.truncate(n as usize);
    Ok(PathBuf::from(std::ffi::OsString::from_vec(buf)))
}

/// The names in directory `rel`, sorted, the directory opened inside the source's root.
pub(super) fn list_in(src: &Source, rel: &str) -> Result<Vec<String>> {
    use std::os::fd::{AsFd, AsRawFd};
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
    let dir = berth_fs::open_in_root(src.fd.as_fd(), Path::new(rel), flags)
        .map_err(|e| EngineError::io("reading", Path::new(rel), e))?;
    let path = format!("/proc/self/fd/{}", dir.as_raw_fd());
    let mut names: Vec<String> = std::fs::read_dir(&path)
        .map_err(|e| EngineError::io("reading", Path::new(rel), e))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

/// Everything under directory `rel` (not following links), destined below `dest`.
pub(super) fn walk(src: &Source, rel: &str, dest: &str, out: &mut Vec<Entry>) -> Result<()> {
    let meta = meta_in(src, rel)?;
    out.push(Entry {
        src: rel.into(),
        dest: if dest.is_empty() {
            "/".into()
        } else {
            dest.to_string()
        },
        meta,
    });
    let names = list_in(src, rel)?;
    for n in names {
        let child = if rel == "." || rel.is_empty() {
            n.clone()
        } else {
            format!("{rel}/{n}")
        };
        if excluded(src, &child) && src.ignore.as_ref().is_some_and(|i| i.can_skip_dir(&child)) {
            continue;
        }
        let m = meta_in(src, &child)?;
        let d = format!("{dest}/{n}");
        if m.is_dir() {
            walk(src, &child, &d, out)?;
        } else if !excluded(src, &child) {
            out.push(Entry {
                src: child.into(),
                dest: d,
                meta: m,
            });
        }
    }
    Ok(())
}

/// `rel` with `*`, `?` and `[…]` matched component by component against the directories'
/// names (Go's `filepath.Match` per component, as Docker's COPY does), sorted; a plain path
/// is returned as is when it exists.
pub(super) fn expand_glob(src: &Source, rel: &str) -> Result<Vec<String>> {
    let has_glob = |s: &str| s.contains(['*', '?', '[']);
    if !has_glob(rel) {
        return Ok(if meta_in(src, rel).is_ok() {
            vec![rel.to_string()]
        } else {
            vec![]
        });
    }
    let join = |dir: &str, name: &str| {
        if dir.is_empty() {
            name.to_string()
        } else {
            format!("{dir}/{name}")
        }
    };
    let parts: Vec<&str> = rel
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    let mut found = vec![String::new()];
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let mut next = Vec::new();
        for dir in &found {
            if has_glob(part) {
                let re = glob_regex(part)?;
                let listed =
                    list_in(src, if dir.is_empty() { "." } else { dir }).unwrap_or_default();
                for n in listed.iter().filter(|n| re.is_match(n)) {
                    let p = join(dir, n);
                    // A match in the middle must be a directory to hold what follows.
                    if last || meta_in(src, &p).is_ok_and(|m| m.is_dir() || m.is_symlink()) {
                        next.push(p);
                    }
                }
            } else {
                let p = join(dir, part);
                if meta_in(src, &p).is_ok() {
                    next.push(p);
                }
            }
        }
        found = next;
    }
    found.sort();
    Ok(found)
}

pub(super) fn glob_regex(pat: &str) -> Result<regex::Regex> {
    let mut re = String::from("^");
    let mut chars = pat.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '[' => {
                re.push('[');
                if chars.peek() == Some(&'^') || chars.peek() == Some(&'!') {
                    chars.next();
                    re.push('^');
                }
                for d in chars.by_ref() {
                    if d == ']' {
                        break;
                    }
                    if d == '\\' || d == '[' {
                        re.push('\\');
                    }
                    re.push(d);
                }
                re.push(']');
            }
            other => re.push_str(&regex::escape(&other.to_string())),
        }
    }
    re.push('$');
    regex::Regex::new(&re)
        .map_err(|e| EngineError::InvalidArgument(format!("bad pattern {pat:?}: {e}")))
}
